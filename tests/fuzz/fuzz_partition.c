/* fuzz_partition.c — libFuzzer target for vmm/boot/partition.c: the input
 * is a disk image (raw, or sparse as fuzz_image.h describes) whose MBR,
 * extended-partition chain or GPT (primary, backup, 512- or 4096-byte
 * sectors) is scanned the way direct boot does. Besides crashes it
 * checks what partition.h promises: every partition lies inside the
 * disk, indexes are unique and ascending, names and types terminated.
 *
 * A mutated GPT almost never keeps its CRC32s right, which would keep
 * the fuzzer at the checksum checks; so for inputs of odd length the
 * target recomputes both headers' and entry arrays' CRCs first (even
 * lengths keep them as they are: the bad-CRC and backup paths). Seed
 * mode also writes a 4096-byte-sector GPT, which sfdisk cannot make on
 * a file. */
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "devices/block/disk.h"
#include "vmm/boot/partition.h"
#include "tests/fuzz/fuzz_image.h"
#include "tests/fuzz/fuzz_util.h"

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Make the GPT header at 'lba' (and its entry array) self-consistent. */
static void gpt_fix_one(uint8_t *img, uint64_t len, unsigned ss, uint64_t lba)
{
	uint8_t *h;
	uint64_t ent, bytes;
	uint32_t hsz;

	if (lba > len / ss - 1 || memcmp(img + lba * ss, "EFI PART", 8))
		return;
	h = img + lba * ss;
	hsz = (uint32_t)fuzz_image__le(h + 12, 4);
	ent = fuzz_image__le(h + 72, 8);
	bytes = fuzz_image__le(h + 80, 4) * fuzz_image__le(h + 84, 4);
	if (ent < len / ss && bytes <= len - ent * ss)
		put_le(h + 88, crc32(0, img + ent * ss, (uInt)bytes), 4);
	if (hsz < 92 || hsz > ss)
		return;
	put_le(h + 16, 0, 4);
	put_le(h + 16, crc32(0, h, hsz), 4);
}

static void gpt_fix(uint8_t *img, uint64_t len)
{
	for (unsigned ss = 512; ss <= 4096; ss *= 8) {
		if (len < 2 * ss || memcmp(img + ss, "EFI PART", 8))
			continue;
		gpt_fix_one(img, len, ss, fuzz_image__le(img + ss + 32, 8));   /* backup */
		gpt_fix_one(img, len, ss, 1);
	}
}

static void check(const struct disk *d, const struct partition_table *t)
{
	FUZZ_CHECK(t->count <= PARTITION_MAX, "%zu partitions", t->count);
	FUZZ_CHECK(t->sector_size == 512 || t->sector_size == 4096, "sector size %u",
		   t->sector_size);
	FUZZ_CHECK(memchr(t->notes, 0, sizeof(t->notes)), "notes not terminated");
	for (size_t i = 0; i < t->count; i++) {
		const struct partition *p = &t->parts[i];

		FUZZ_CHECK(p->offset <= d->size && p->size <= d->size - p->offset,
			   "partition %u at %llu, %llu bytes, outside the %llu-byte disk",
			   p->index, (unsigned long long)p->offset,
			   (unsigned long long)p->size, (unsigned long long)d->size);
		FUZZ_CHECK(memchr(p->type, 0, sizeof(p->type)) && memchr(p->name, 0, sizeof(p->name)),
			   "partition %u: type or name not terminated", p->index);
		FUZZ_CHECK(t->scheme != PARTITION_NONE || p->index == 0,
			   "no table but partition %u", p->index);
		if (i)
			FUZZ_CHECK(t->parts[i - 1].index < p->index, "index %u after %u",
				   p->index, t->parts[i - 1].index);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct disk *d = fuzz_image__disk(data, size);
	struct partition_table t;
	char err[256], guid[37];

	if (!d)
		return 0;
	/* disk__open_mem() keeps the buffer it was given as priv */
	FUZZ_CHECK(!strcmp(d->format, "memory"), "not a memory disk");
	if (size % 2)
		gpt_fix(d->priv, d->size);
	if (partition__scan(d, &t, err, sizeof(err)) == 0) {
		check(d, &t);
		partition__free(&t);
	} else {
		FUZZ_CHECK(err[0], "failure without a reason");
	}
	if (size >= 16) {
		partition__guid_text(data, guid);
		FUZZ_CHECK(strlen(guid) == 36, "GUID text of %zu characters", strlen(guid));
	}
	disk__close(d);
	return 0;
}

/* A 4096-byte-sector GPT on a 32-sector disk (one odd byte of padding
 * so the target keeps its CRCs right under mutation). */
static void write_seeds(const char *dir)
{
	static struct fuzz_out o;
	static uint8_t img[32 * 4096 + 1];
	const unsigned ss = 4096, last = 31;
	uint8_t *h = img + ss, *e = img + 2 * ss;
	static const uint8_t linux_fs[16] = {
		0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
		0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4,
	};

	img[446 + 4] = 0xee;                        /* protective MBR */
	put_le(img + 446 + 8, 1, 4);
	put_le(img + 446 + 12, last, 4);
	img[510] = 0x55;
	img[511] = 0xaa;
	memcpy(h, "EFI PART", 8);
	put_le(h + 8, 0x10000, 4);
	put_le(h + 12, 92, 4);
	put_le(h + 24, 1, 8);                       /* this header */
	put_le(h + 32, last, 8);                    /* the backup */
	put_le(h + 40, 6, 8);                       /* first, last usable */
	put_le(h + 48, last - 5, 8);
	memset(h + 56, 0x42, 16);                   /* disk GUID */
	put_le(h + 72, 2, 8);                       /* entries at LBA 2 */
	put_le(h + 80, 128, 4);
	put_le(h + 84, 128, 4);
	memcpy(e, linux_fs, 16);
	memset(e + 16, 0x17, 16);
	put_le(e + 32, 6, 8);
	put_le(e + 40, 20, 8);
	memcpy(e + 56, "r\0o\0o\0t\0", 8);
	/* the backup: its entries at LBA last - 4, header at 'last' */
	memcpy(img + (last - 4) * ss, e, 4 * ss > 128 * 128 ? 128 * 128 : 4 * ss);
	memcpy(img + last * ss, h, 92);
	put_le(img + last * ss + 24, last, 8);
	put_le(img + last * ss + 32, 1, 8);
	put_le(img + last * ss + 72, last - 4, 8);
	gpt_fix(img, sizeof(img) - 1);
	fout_bytes(&o, img, sizeof(img));
	fout_save(&o, dir, "gpt4k");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz__seed_mode(write_seeds);
	return 0;
}
