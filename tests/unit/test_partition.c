/* test_partition.c — MBR/GPT parsing (vmm/boot/partition.c) on disk
 * images built byte by byte in memory: primaries and logicals, a
 * looping and an endless extended chain, entries beyond the disk, GPT
 * header and entry-array CRC failures (backup header used, or an error
 * when both are bad), and random corruption under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "devices/block/disk.h"
#include "vmm/boot/partition.h"

#define SECTOR 512
#define DISK_SECTORS 4096           /* 2 MiB */
#define GPT_ENTRIES 128

static char err[512];

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static void mbr_entry(uint8_t *sec, int slot, uint8_t type, uint32_t lba, uint32_t count)
{
	uint8_t *e = sec + 446 + 16 * slot;

	e[0] = 0;
	e[4] = type;
	put32(e + 8, lba);
	put32(e + 12, count);
	sec[510] = 0x55;
	sec[511] = 0xaa;
}

/* Scan a copy of img (the disk takes the copy over). */
static int scan(const uint8_t *img, size_t size, struct partition_table *t)
{
	uint8_t *copy = malloc(size);
	struct disk *d;
	int r;

	assert_non_null(copy);
	memcpy(copy, img, size);
	d = disk__open_mem("test.img", copy, size);
	assert_non_null(d);
	err[0] = '\0';
	r = partition__scan(d, t, err, sizeof(err));
	disk__close(d);
	return r;
}

static void test_no_table(void **state)
{
	uint8_t *img = calloc(DISK_SECTORS, SECTOR);
	struct partition_table t;

	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	assert_int_equal(t.scheme, PARTITION_NONE);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.parts[0].index, 0);
	assert_int_equal(t.parts[0].offset, 0);
	assert_int_equal(t.parts[0].size, DISK_SECTORS * SECTOR);
	partition__free(&t);
	/* 55 AA with garbage boot flags (a FAT boot sector) is no table. */
	img[510] = 0x55;
	img[511] = 0xaa;
	img[446] = 0x33;
	img[446 + 4] = 0x83;
	put32(img + 446 + 12, 10);
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	assert_int_equal(t.scheme, PARTITION_NONE);
	partition__free(&t);
	/* A disk too small for a table. */
	assert_int_equal(scan(img, 700, &t), 0);
	assert_int_equal(t.scheme, PARTITION_NONE);
	assert_int_equal(t.parts[0].size, 700);
	partition__free(&t);
	free(img);
}

static void test_mbr_logical(void **state)
{
	uint8_t *img = calloc(DISK_SECTORS, SECTOR);
	struct partition_table t;

	mbr_entry(img, 0, 0x83, 2048, 512);
	mbr_entry(img, 1, 0x05, 2560, 1024);      /* extended: 2560..3583 */
	mbr_entry(img, 3, 0x0c, 3584, 512);
	/* EBR 1 at 2560: logical at +8 (16 sectors), next EBR at ext+100. */
	mbr_entry(img + 2560 * SECTOR, 0, 0x83, 8, 16);
	mbr_entry(img + 2560 * SECTOR, 1, 0x05, 100, 200);
	/* EBR 2 at 2660: logical at +4 (50 sectors), end of chain. */
	mbr_entry(img + 2660 * SECTOR, 0, 0x82, 4, 50);
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	assert_int_equal(t.scheme, PARTITION_MBR);
	assert_int_equal(t.count, 4);
	assert_int_equal(t.parts[0].index, 1);
	assert_int_equal(t.parts[0].offset, 2048 * SECTOR);
	assert_int_equal(t.parts[0].size, 512 * SECTOR);
	assert_string_equal(t.parts[0].type, "0x83");
	assert_int_equal(t.parts[1].index, 5);
	assert_true(t.parts[1].logical);
	assert_int_equal(t.parts[1].offset, (2560 + 8) * SECTOR);
	assert_int_equal(t.parts[1].size, 16 * SECTOR);
	assert_int_equal(t.parts[2].index, 6);
	assert_int_equal(t.parts[2].offset, (2660 + 4) * SECTOR);
	assert_int_equal(t.parts[2].mbr_type, 0x82);
	assert_int_equal(t.parts[3].index, 4);
	assert_string_equal(t.parts[3].type, "0x0c");
	assert_string_equal(t.notes, "");
	partition__free(&t);
	free(img);
}

static void test_mbr_beyond_end(void **state)
{
	uint8_t *img = calloc(DISK_SECTORS, SECTOR);
	struct partition_table t;

	mbr_entry(img, 0, 0x83, 2048, 2048);              /* exactly to the end: fine */
	mbr_entry(img, 1, 0x83, 4000, 97);                /* one sector too many */
	mbr_entry(img, 2, 0x83, 0xfffffff0u, 0x100);      /* far beyond, would wrap 32 bits */
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	assert_int_equal(t.count, 1);
	assert_int_equal(t.parts[0].index, 1);
	assert_non_null(strstr(t.notes, "partition 2"));
	assert_non_null(strstr(t.notes, "partition 3"));
	assert_non_null(strstr(t.notes, "beyond the end"));
	partition__free(&t);
	free(img);
}

static void test_mbr_chain_loops(void **state)
{
	uint8_t *img = calloc(DISK_SECTORS, SECTOR);
	struct partition_table t;

	mbr_entry(img, 0, 0x0f, 100, 3000);
	/* EBR at 100 -> EBR at 300 -> back to EBR at 100. */
	mbr_entry(img + 100 * SECTOR, 0, 0x83, 2, 10);
	mbr_entry(img + 100 * SECTOR, 1, 0x05, 200, 50);
	mbr_entry(img + 300 * SECTOR, 0, 0x83, 2, 10);
	mbr_entry(img + 300 * SECTOR, 1, 0x05, 0, 50);
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	assert_int_equal(t.count, 2);
	assert_int_equal(t.parts[0].index, 5);
	assert_int_equal(t.parts[1].index, 6);
	assert_non_null(strstr(t.notes, "loops"));
	partition__free(&t);

	/* A chain longer than the limit: every EBR points to the next one. */
	memset(img, 0, DISK_SECTORS * SECTOR);
	mbr_entry(img, 0, 0x05, 1, DISK_SECTORS - 1);
	for (uint32_t i = 0; i < 1000; i++) {
		uint8_t *ebr = img + (1 + 2 * i) * SECTOR;

		mbr_entry(ebr, 0, 0x83, 1, 1);
		mbr_entry(ebr, 1, 0x05, 2 * (i + 1), 2);
	}
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	assert_int_equal(t.count, 128);
	assert_non_null(strstr(t.notes, "more than 128 logical"));
	partition__free(&t);

	/* Next EBR outside the extended partition; a logical partition
	 * reaching past it. */
	memset(img, 0, DISK_SECTORS * SECTOR);
	mbr_entry(img, 0, 0x05, 100, 100);
	mbr_entry(img + 100 * SECTOR, 0, 0x83, 1, 500);
	mbr_entry(img + 100 * SECTOR, 1, 0x05, 3000, 10);
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	assert_int_equal(t.count, 0);
	assert_non_null(strstr(t.notes, "outside the extended partition"));
	partition__free(&t);
	free(img);
}

/* ---- GPT ---------------------------------------------------------- */

static const uint8_t guid_bios[16] = { 0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e,
				       0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49 };
static const uint8_t guid_linux[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
					0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 };

static void gpt_entry(uint8_t *array, int slot, const uint8_t *type, uint64_t first,
		      uint64_t last, const char *name)
{
	uint8_t *e = array + 128 * slot;

	memcpy(e, type, 16);
	memset(e + 16, slot + 1, 16);
	put64(e + 32, first);
	put64(e + 40, last);
	for (int i = 0; name[i] && i < 36; i++)
		put16(e + 56 + 2 * i, (uint8_t)name[i]);
}

static void gpt_header(uint8_t *img, uint64_t my, uint64_t alt, uint64_t entries_lba,
		       uint32_t array_crc)
{
	uint8_t *h = img + my * SECTOR;

	memset(h, 0, SECTOR);
	memcpy(h, "EFI PART", 8);
	put32(h + 8, 0x10000);
	put32(h + 12, 92);
	put64(h + 24, my);
	put64(h + 32, alt);
	put64(h + 40, 34);
	put64(h + 48, DISK_SECTORS - 34);
	memset(h + 56, 0xab, 16);
	put64(h + 72, entries_lba);
	put32(h + 80, GPT_ENTRIES);
	put32(h + 84, 128);
	put32(h + 88, array_crc);
	put32(h + 16, (uint32_t)crc32(0, h, 92));
}

/* Protective MBR, entry arrays at LBA 2 and last-32, headers at 1 and
 * last, all from 'array'. */
static void gpt_write(uint8_t *img, const uint8_t *array)
{
	uint32_t crc = (uint32_t)crc32(0, array, GPT_ENTRIES * 128);

	mbr_entry(img, 0, 0xee, 1, DISK_SECTORS - 1);
	memcpy(img + 2 * SECTOR, array, GPT_ENTRIES * 128);
	memcpy(img + (DISK_SECTORS - 33) * SECTOR, array, GPT_ENTRIES * 128);
	gpt_header(img, 1, DISK_SECTORS - 1, 2, crc);
	gpt_header(img, DISK_SECTORS - 1, 1, DISK_SECTORS - 33, crc);
}

static uint8_t *gpt_disk(void)
{
	uint8_t *img = calloc(DISK_SECTORS, SECTOR);
	uint8_t array[GPT_ENTRIES * 128] = { 0 };

	assert_non_null(img);
	gpt_entry(array, 0, guid_bios, 34, 2047, "BIOS boot");
	gpt_entry(array, 2, guid_linux, 2048, 3071, "boot");
	gpt_entry(array, 3, guid_linux, 3072, DISK_SECTORS - 34, "root");
	/* a non-ASCII name: "é" as UTF-16 */
	put16(array + 3 * 128 + 56 + 8, 0xe9);
	gpt_write(img, array);
	return img;
}

static void check_gpt_parts(const struct partition_table *t)
{
	assert_int_equal(t->scheme, PARTITION_GPT);
	assert_int_equal(t->count, 3);
	assert_int_equal(t->parts[0].index, 1);
	assert_string_equal(t->parts[0].type, GPT_TYPE_BIOS_BOOT);
	assert_string_equal(t->parts[0].name, "BIOS boot");
	assert_int_equal(t->parts[0].offset, 34 * SECTOR);
	assert_int_equal(t->parts[0].size, (2047 - 34 + 1) * SECTOR);
	assert_int_equal(t->parts[1].index, 3);
	assert_string_equal(t->parts[1].type, GPT_TYPE_LINUX_FS);
	assert_string_equal(t->parts[1].name, "boot");
	assert_int_equal(t->parts[1].offset, 2048 * SECTOR);
	assert_int_equal(t->parts[1].size, 1024 * SECTOR);
	assert_int_equal(t->parts[2].index, 4);
	assert_string_equal(t->parts[2].name, "root\xc3\xa9");
}

static void test_gpt(void **state)
{
	uint8_t *img = gpt_disk();
	struct partition_table t;

	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	check_gpt_parts(&t);
	assert_false(t.gpt_backup_used);
	assert_string_equal(t.notes, "");
	partition__free(&t);
	free(img);
}

static void test_gpt_backup(void **state)
{
	uint8_t *img = gpt_disk();
	struct partition_table t;

	/* A flipped bit in the primary header: its CRC fails. */
	img[SECTOR + 40] ^= 1;
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	check_gpt_parts(&t);
	assert_true(t.gpt_backup_used);
	assert_non_null(strstr(t.notes, "header CRC mismatch"));
	assert_non_null(strstr(t.notes, "backup header at LBA 4095"));
	partition__free(&t);
	img[SECTOR + 40] ^= 1;

	/* A flipped bit in the primary entry array: its CRC fails. */
	img[2 * SECTOR + 200] ^= 0x10;
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	check_gpt_parts(&t);
	assert_true(t.gpt_backup_used);
	assert_non_null(strstr(t.notes, "entry array CRC mismatch"));
	partition__free(&t);

	/* Both bad: an error, nothing half-read. */
	img[(DISK_SECTORS - 1) * SECTOR + 48] ^= 1;
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), -1);
	assert_non_null(strstr(err, "corrupt GPT"));
	assert_non_null(strstr(err, "test.img"));
	assert_null(t.parts);
	assert_int_equal(t.count, 0);
	free(img);

	/* Primary header wiped entirely (no signature), backup intact. */
	img = gpt_disk();
	memset(img + SECTOR, 0, SECTOR);
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	check_gpt_parts(&t);
	assert_true(t.gpt_backup_used);
	partition__free(&t);
	/* ... and the disk cut short, so the backup is gone too. */
	assert_int_equal(scan(img, (DISK_SECTORS - 8) * SECTOR, &t), -1);
	assert_non_null(strstr(err, "corrupt GPT"));
	free(img);
}

static void test_gpt_bad_entries(void **state)
{
	uint8_t *img = calloc(DISK_SECTORS, SECTOR);
	uint8_t array[GPT_ENTRIES * 128] = { 0 };
	struct partition_table t;

	gpt_entry(array, 0, guid_linux, 2048, 3000, "ok");
	gpt_entry(array, 1, guid_linux, 3000, DISK_SECTORS + 100, "beyond");
	gpt_entry(array, 2, guid_linux, 3000, 2048, "inverted");
	gpt_entry(array, 3, guid_linux, 10, 20, "in the header area");
	gpt_entry(array, 4, guid_linux, UINT64_MAX - 1, UINT64_MAX, "wraps");
	gpt_write(img, array);
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), 0);
	assert_int_equal(t.count, 1);
	assert_string_equal(t.parts[0].name, "ok");
	assert_non_null(strstr(t.notes, "partition 2 (LBA 3000-4196) lies beyond the end"));
	assert_non_null(strstr(t.notes, "partition 3 (LBA 3000-2048) ends before it starts"));
	assert_non_null(strstr(t.notes, "partition 4 (LBA 10-20) lies outside the usable area"));
	assert_non_null(strstr(t.notes, "partition 5"));
	partition__free(&t);

	/* Headers claiming an absurd entry array or usable area. */
	gpt_header(img, 1, DISK_SECTORS - 1, 2, 0);
	put32(img + SECTOR + 80, 0x40000000);
	put32(img + SECTOR + 16, 0);
	put32(img + SECTOR + 16, (uint32_t)crc32(0, img + SECTOR, 92));
	gpt_header(img, DISK_SECTORS - 1, 1, DISK_SECTORS - 33, 0);
	put64(img + (DISK_SECTORS - 1) * SECTOR + 48, DISK_SECTORS + 5);
	put32(img + (DISK_SECTORS - 1) * SECTOR + 16, 0);
	put32(img + (DISK_SECTORS - 1) * SECTOR + 16,
	      (uint32_t)crc32(0, img + (DISK_SECTORS - 1) * SECTOR, 92));
	assert_int_equal(scan(img, DISK_SECTORS * SECTOR, &t), -1);
	assert_non_null(strstr(err, "entry array of 1073741824 entries"));
	assert_non_null(strstr(err, "usable area"));
	free(img);
}

static void test_guid_text(void **state)
{
	char buf[37];

	partition__guid_text(guid_bios, buf);
	assert_string_equal(buf, "21686148-6449-6E6F-744E-656564454649");
	partition__guid_text(guid_linux, buf);
	assert_string_equal(buf, GPT_TYPE_LINUX_FS);
}

/* Random corruption of the table areas: never a crash or an out-of-
 * bounds access (ASan), and whatever is returned lies inside the disk. */
static void test_random_corruption(void **state)
{
	uint8_t *good = gpt_disk(), *img = malloc(DISK_SECTORS * SECTOR);
	unsigned seed = 12345;

	assert_non_null(img);
	for (int round = 0; round < 400; round++) {
		struct partition_table t;

		memcpy(img, good, DISK_SECTORS * SECTOR);
		if (round % 2) {                      /* an MBR with an extended chain */
			memset(img, 0, 34 * SECTOR);
			mbr_entry(img, 1, 0x05, 4, 100);
			mbr_entry(img + 4 * SECTOR, 0, 0x83, 1, 2);
			mbr_entry(img + 4 * SECTOR, 1, 0x05, 5, 5);
		}
		for (int k = 0; k < 1 + round % 8; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t off = (seed >> 8) % (10 * SECTOR);
			img[off] ^= (uint8_t)(1u << (seed % 8));
		}
		if (scan(img, DISK_SECTORS * SECTOR, &t) == 0) {
			for (size_t i = 0; i < t.count; i++) {
				assert_true(t.parts[i].offset + t.parts[i].size <= DISK_SECTORS * SECTOR);
				assert_true(t.parts[i].size > 0);
			}
			partition__free(&t);
		} else {
			assert_true(strlen(err) > 0);
		}
	}
	free(img);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_table),
		cmocka_unit_test(test_mbr_logical),
		cmocka_unit_test(test_mbr_beyond_end),
		cmocka_unit_test(test_mbr_chain_loops),
		cmocka_unit_test(test_gpt),
		cmocka_unit_test(test_gpt_backup),
		cmocka_unit_test(test_gpt_bad_entries),
		cmocka_unit_test(test_guid_text),
		cmocka_unit_test(test_random_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
