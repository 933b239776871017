/* test_x86_boot.c — kernel image parsing and loading (arch/x86/boot.c):
 * synthetic bzImage and ELF64 images built in memory, every rejection
 * path, truncated and bit-flipped images under ASan, and the real
 * /boot/vmlinuz-* when the machine has one. */
#include <elf.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"

#define RAM_SIZE    (32u << 20)
#define BZ_SECTS    4
#define BZ_PM_OFF   ((BZ_SECTS + 1) * 512)
#define BZ_PM_SIZE  4096
#define BZ_LEN      (BZ_PM_OFF + BZ_PM_SIZE)
#define BZ_INIT     0x300000u
#define ELF_LEN     0x2200
#define KMAP        0xffffffff80000000ULL

static char err[256];

/* A bzImage with protocol 2.15, relocatable, 2 MiB alignment, preferred
 * address 16 MiB; the protected-mode part is a byte pattern. */
static uint8_t *make_bzimage(void)
{
	uint8_t *img = calloc(1, BZ_LEN);
	struct setup_header h = {
		.setup_sects = BZ_SECTS, .boot_flag = 0xaa55, .jump = 0x6aeb,
		.header = 0x53726448, .version = 0x20f, .loadflags = LOADED_HIGH,
		.initrd_addr_max = 0x7fffffff, .kernel_alignment = 0x200000,
		.relocatable_kernel = 1, .xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
		.cmdline_size = 0x7ff, .pref_address = 0x1000000, .init_size = BZ_INIT,
	};

	assert_non_null(img);
	memcpy(img + 0x1f1, &h, sizeof(h));
	for (int i = 0; i < BZ_PM_SIZE; i++)
		img[BZ_PM_OFF + i] = (uint8_t)(i * 7 + 3);
	return img;
}

static struct setup_header *bz_hdr(uint8_t *img)
{
	return (struct setup_header *)(img + 0x1f1);
}

/* An ELF64 vmlinux: a PT_NOTE, then text at 16 MiB (0x800 bytes from file)
 * and data+bss at 18 MiB (0x100 bytes from file, 0x3000 in memory). */
static uint8_t *make_elf(void)
{
	uint8_t *img = calloc(1, ELF_LEN);
	Elf64_Ehdr eh = {
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_entry = KMAP + 0x1000040, .e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 3,
	};
	Elf64_Phdr ph[3] = {
		{ .p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = 0x10, .p_memsz = 0x10 },
		{ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = KMAP + 0x1000000,
		  .p_paddr = 0x1000000, .p_filesz = 0x800, .p_memsz = 0x800 },
		{ .p_type = PT_LOAD, .p_offset = 0x2000, .p_vaddr = KMAP + 0x1200000,
		  .p_paddr = 0x1200000, .p_filesz = 0x100, .p_memsz = 0x3000 },
	};

	assert_non_null(img);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), ph, sizeof(ph));
	for (int i = 0x1000; i < 0x1800; i++)
		img[i] = (uint8_t)(i ^ 0x5a);
	for (int i = 0x2000; i < 0x2100; i++)
		img[i] = (uint8_t)(i * 3 + 1);
	return img;
}

static Elf64_Ehdr *elf_eh(uint8_t *img) { return (Elf64_Ehdr *)img; }
static Elf64_Phdr *elf_ph(uint8_t *img, int i) { return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i; }

/* Guest RAM [0, size) over a malloc'd buffer pre-filled with 0xcc so that
 * zero-filling is visible. */
static uint8_t *make_mem(struct guest_mem *m, size_t size)
{
	uint8_t *ram = malloc(size);
	struct mem_region r = { .gpa = 0, .size = size };

	assert_non_null(ram);
	memset(ram, 0xcc, size);
	r.hva = ram;
	assert_int_equal(guest_mem__init_from(m, &r, 1), 0);
	return ram;
}

/* Expect parse to fail with a message containing 'what'. */
static void expect_reject(const uint8_t *img, size_t len, const char *what)
{
	struct x86_kernel k;

	err[0] = 0;
	assert_int_equal(x86_boot__parse(img, len, &k, err, sizeof(err)), -1);
	if (!strstr(err, what))
		fail_msg("error \"%s\" does not mention \"%s\"", err, what);
	assert_null(strchr(err, '\n'));
}

static void test_bzimage_parse_load(void **state)
{
	uint8_t *img = make_bzimage(), *ram;
	struct x86_kernel k;
	struct guest_mem m;

	assert_int_equal(x86_boot__parse(img, BZ_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(k.format, X86_KERNEL_BZIMAGE);
	assert_int_equal(k.hdr.version, 0x20f);
	assert_int_equal(k.hdr.init_size, BZ_INIT);
	assert_int_equal(k.hdr.setup_sects, BZ_SECTS);
	assert_memory_equal(&k.hdr, img + 0x1f1, sizeof(k.hdr));
	assert_int_equal(k.pm_offset, BZ_PM_OFF);
	assert_int_equal(k.pm_size, BZ_PM_SIZE);
	assert_int_equal(k.load_addr, X86_KERNEL_ADDR);
	assert_int_equal(k.entry, X86_KERNEL_ADDR + 0x200);
	/* Relocatable: runs at max(align_up(1 MiB, 2 MiB), pref 16 MiB). */
	assert_int_equal(k.load_end, 0x1000000 + BZ_INIT);

	ram = make_mem(&m, RAM_SIZE);
	assert_int_equal(x86_boot__load(&m, img, BZ_LEN, &k, err, sizeof(err)), 0);
	assert_memory_equal(ram + X86_KERNEL_ADDR, img + BZ_PM_OFF, BZ_PM_SIZE);
	assert_int_equal(ram[X86_KERNEL_ADDR - 1], 0xcc);
	assert_int_equal(ram[X86_KERNEL_ADDR + BZ_PM_SIZE], 0xcc);
	free(ram);
	free(img);
}

static void test_bzimage_variants(void **state)
{
	uint8_t *img = make_bzimage();
	struct x86_kernel k;

	/* setup_sects 0 means 4. */
	bz_hdr(img)->setup_sects = 0;
	assert_int_equal(x86_boot__parse(img, BZ_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(k.pm_offset, 5 * 512);
	/* Not relocatable and no preferred address: init_size from 1 MiB. */
	bz_hdr(img)->relocatable_kernel = 0;
	bz_hdr(img)->pref_address = 0;
	assert_int_equal(x86_boot__parse(img, BZ_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(k.load_end, X86_KERNEL_ADDR + BZ_INIT);
	/* init_size smaller than the image: the image itself counts. */
	bz_hdr(img)->init_size = 16;
	assert_int_equal(x86_boot__parse(img, BZ_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(k.load_end, X86_KERNEL_ADDR + BZ_PM_SIZE);
	/* Protocol 2.06 (no init_size): four times the image. */
	bz_hdr(img)->version = 0x206;
	assert_int_equal(x86_boot__parse(img, BZ_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(k.load_end, X86_KERNEL_ADDR + 4 * BZ_PM_SIZE);
	free(img);
}

static void test_bzimage_rejects(void **state)
{
	uint8_t *img = make_bzimage(), garbage[100];

	expect_reject(NULL, 0, "empty");
	expect_reject(img, 0, "empty");
	for (int i = 0; i < 100; i++)
		garbage[i] = (uint8_t)(i * 37 + 11);
	expect_reject(garbage, sizeof(garbage), "no HdrS or ELF magic");

	bz_hdr(img)->header = 0x53726449;
	expect_reject(img, BZ_LEN, "no HdrS or ELF magic");
	bz_hdr(img)->header = 0x53726448;

	bz_hdr(img)->boot_flag = 0x55aa;
	expect_reject(img, BZ_LEN, "boot flag");
	bz_hdr(img)->boot_flag = 0xaa55;

	bz_hdr(img)->version = 0x205;
	expect_reject(img, BZ_LEN, "2.05 too old");
	bz_hdr(img)->version = 0x20f;

	bz_hdr(img)->setup_sects = 200;
	expect_reject(img, BZ_LEN, "setup sectors");
	bz_hdr(img)->setup_sects = BZ_LEN / 512 - 1;   /* pm part starts exactly at EOF */
	expect_reject(img, BZ_LEN, "setup sectors");
	bz_hdr(img)->setup_sects = BZ_SECTS;

	bz_hdr(img)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	expect_reject(img, BZ_LEN, "XLF_KERNEL_64");
	bz_hdr(img)->xloadflags = XLF_KERNEL_64;

	/* pm part too short to hold the 64-bit entry. */
	expect_reject(img, BZ_PM_OFF + 0x100, "64-bit entry");

	/* A jump claiming a header shorter than protocol 2.06's. */
	bz_hdr(img)->jump = 0x10eb;
	expect_reject(img, BZ_LEN, "too short");
	bz_hdr(img)->jump = 0x6aeb;

	/* pref_address near 2^64: runtime start + init_size overflows. */
	bz_hdr(img)->pref_address = ~0ULL - 0x1000;
	expect_reject(img, BZ_LEN, "out of range");
	bz_hdr(img)->pref_address = 0x1000000;
	bz_hdr(img)->kernel_alignment = 0x80000000;
	bz_hdr(img)->pref_address = 0;
	bz_hdr(img)->init_size = 0xffffffff;
	{
		struct x86_kernel k;   /* 2 GiB + 4 GiB: large but no overflow */
		assert_int_equal(x86_boot__parse(img, BZ_LEN, &k, err, sizeof(err)), 0);
		assert_int_equal(k.load_end, 0x80000000ULL + 0xffffffffULL);
	}
	free(img);
}

static void test_elf_parse_load(void **state)
{
	uint8_t *img = make_elf(), *ram;
	struct x86_kernel k;
	struct guest_mem m;

	assert_int_equal(x86_boot__parse(img, ELF_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(k.format, X86_KERNEL_ELF);
	assert_int_equal(k.nr_segments, 2);
	assert_int_equal(k.entry, 0x1000040);
	assert_int_equal(k.load_addr, 0x1000000);
	assert_int_equal(k.load_end, 0x1203000);
	assert_int_equal(k.seg[1].paddr, 0x1200000);
	assert_int_equal(k.seg[1].offset, 0x2000);
	assert_int_equal(k.seg[1].filesz, 0x100);
	assert_int_equal(k.seg[1].memsz, 0x3000);
	/* Synthesised header. */
	assert_int_equal(k.hdr.boot_flag, 0xaa55);
	assert_int_equal(k.hdr.header, 0x53726448);
	assert_int_equal(k.hdr.version, 0x20f);
	assert_int_equal(k.hdr.type_of_loader, 0xff);
	assert_int_equal(k.hdr.initrd_addr_max, 0x7fffffff);
	assert_int_equal(k.hdr.kernel_alignment, 0x1000000);
	assert_int_equal(k.hdr.cmdline_size, X86_CMDLINE_MAX - 1);
	assert_int_equal(k.hdr.xloadflags & XLF_KERNEL_64, XLF_KERNEL_64);

	ram = make_mem(&m, RAM_SIZE);
	assert_int_equal(x86_boot__load(&m, img, ELF_LEN, &k, err, sizeof(err)), 0);
	assert_memory_equal(ram + 0x1000000, img + 0x1000, 0x800);
	assert_int_equal(ram[0x1000800], 0xcc);
	assert_memory_equal(ram + 0x1200000, img + 0x2000, 0x100);
	for (int i = 0x100; i < 0x3000; i++)
		if (ram[0x1200000 + i] != 0)
			fail_msg("bss byte 0x%x not zero-filled", i);
	assert_int_equal(ram[0x1203000], 0xcc);
	/* An entry below the kernel map is taken as physical. */
	elf_eh(img)->e_entry = 0x1200010;
	assert_int_equal(x86_boot__parse(img, ELF_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(k.entry, 0x1200010);
	free(ram);
	free(img);
}

static void test_elf_rejects(void **state)
{
	uint8_t *img = make_elf();
	Elf64_Ehdr *eh = elf_eh(img);
	Elf64_Phdr *p1 = elf_ph(img, 1), *p2 = elf_ph(img, 2);

	expect_reject(img, 10, "truncated");
	expect_reject(img, sizeof(Elf64_Ehdr) - 1, "truncated");
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	expect_reject(img, ELF_LEN, "not 64-bit");
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_machine = EM_386;
	expect_reject(img, ELF_LEN, "not x86-64");
	eh->e_machine = EM_X86_64;
	eh->e_type = ET_DYN;
	expect_reject(img, ELF_LEN, "ET_EXEC");
	eh->e_type = ET_EXEC;

	eh->e_phoff = ELF_LEN;
	expect_reject(img, ELF_LEN, "program headers");
	eh->e_phoff = ~0ULL - 8;   /* phoff + size overflows */
	expect_reject(img, ELF_LEN, "program headers");
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_phnum = 0;
	expect_reject(img, ELF_LEN, "no usable program headers");
	eh->e_phnum = 3;
	eh->e_phentsize = 16;
	expect_reject(img, ELF_LEN, "no usable program headers");
	eh->e_phentsize = sizeof(Elf64_Phdr);
	expect_reject(img, sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr), "program headers");

	p2->p_offset = ELF_LEN - 0x80;
	expect_reject(img, ELF_LEN, "outside the");
	p2->p_offset = ~0ULL - 0x10;   /* offset + filesz overflows */
	expect_reject(img, ELF_LEN, "outside the");
	p2->p_offset = 0x2000;
	p2->p_filesz = 0x4000;
	expect_reject(img, ELF_LEN, "exceeds memory size");
	p2->p_filesz = 0x100;
	p2->p_paddr = ~0ULL - 0x100;   /* paddr + memsz overflows */
	expect_reject(img, ELF_LEN, "overflows");
	p2->p_paddr = 0x7000;          /* on top of the zero page */
	expect_reject(img, ELF_LEN, "below 1 MiB");
	p2->p_paddr = 0x1200000;

	eh->e_entry = KMAP + 0x1000800;  /* one past the text's file bytes */
	expect_reject(img, ELF_LEN, "outside every loaded segment");
	eh->e_entry = KMAP + 0x1200200;  /* in the bss: nothing loaded there */
	expect_reject(img, ELF_LEN, "outside every loaded segment");
	eh->e_entry = 0x40;
	expect_reject(img, ELF_LEN, "outside every loaded segment");
	eh->e_entry = KMAP + 0x1000040;

	p1->p_type = PT_NULL;
	p2->p_type = PT_NOTE;
	expect_reject(img, ELF_LEN, "no loadable");
	free(img);
}

static void test_too_big_for_ram(void **state)
{
	uint8_t *bz = make_bzimage(), *elf = make_elf(), *ram;
	struct x86_kernel k;
	struct guest_mem m;

	ram = make_mem(&m, 16u << 20);
	/* bzImage: decompresses at 16 MiB + init_size. */
	assert_int_equal(x86_boot__parse(bz, BZ_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(x86_boot__load(&m, bz, BZ_LEN, &k, err, sizeof(err)), -1);
	assert_string_equal(err, "kernel needs memory up to 0x1300000 but guest RAM ends at 0x1000000");
	/* ELF: segments at 16 MiB and above. */
	assert_int_equal(x86_boot__parse(elf, ELF_LEN, &k, err, sizeof(err)), 0);
	assert_int_equal(x86_boot__load(&m, elf, ELF_LEN, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kernel needs memory up to 0x1203000"));
	/* Nothing was written. */
	for (size_t i = 0; i < (16u << 20); i += 4096)
		assert_int_equal(ram[i], 0xcc);
	free(ram);
	free(bz);
	free(elf);
}

/* Parse (and, where it succeeds, load) every prefix of an image, each in
 * an exactly-sized heap copy so ASan catches any read past the end. */
static void parse_prefixes(const uint8_t *img, size_t len, struct guest_mem *m)
{
	for (size_t n = 0; n <= len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct x86_kernel k;
		int rc;

		memcpy(copy, img, n);
		err[0] = 0;
		rc = x86_boot__parse(copy, n, &k, err, sizeof(err));
		if (rc == 0) {
			assert_true(k.entry >= k.load_addr && k.entry < k.load_end);
			assert_int_equal(x86_boot__load(m, copy, n, &k, err, sizeof(err)), 0);
		} else {
			assert_int_equal(rc, -1);
			assert_true(err[0] != 0);
		}
		free(copy);
	}
}

static void test_truncated_prefixes(void **state)
{
	uint8_t *bz = make_bzimage(), *elf = make_elf(), *ram;
	struct guest_mem m;

	ram = make_mem(&m, RAM_SIZE);
	parse_prefixes(bz, BZ_LEN, &m);
	parse_prefixes(elf, ELF_LEN, &m);
	free(ram);
	free(bz);
	free(elf);
}

/* Random byte corruption of the headers (fixed seed): clean success or
 * clean failure, never an out-of-bounds access. */
static void test_corrupted_headers(void **state)
{
	uint8_t *bz = make_bzimage(), *elf = make_elf(), *ram, *img;
	struct guest_mem m;
	uint32_t seed = 12345;

	ram = make_mem(&m, RAM_SIZE);
	for (int iter = 0; iter < 4000; iter++) {
		bool is_elf = iter & 1;
		size_t len = is_elf ? ELF_LEN : BZ_LEN;
		size_t lo = is_elf ? 0 : 0x1f1, span = is_elf ? 0x100 : 0x80;
		struct x86_kernel k;

		img = malloc(len);
		memcpy(img, is_elf ? elf : bz, len);
		for (int f = 0; f < 4; f++) {
			seed = seed * 1103515245 + 12345;
			img[lo + (seed >> 8) % span] = (uint8_t)(seed >> 24);
		}
		if (x86_boot__parse(img, len, &k, err, sizeof(err)) == 0) {
			assert_true(k.entry >= k.load_addr && k.entry < k.load_end);
			x86_boot__load(&m, img, len, &k, err, sizeof(err));
		}
		free(img);
	}
	free(ram);
	free(bz);
	free(elf);
}

static void test_real_vmlinuz(void **state)
{
	glob_t g;
	FILE *f;
	uint8_t *img;
	long len;
	struct x86_kernel k;

	if (glob("/boot/vmlinuz-*", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
		globfree(&g);
		skip();
	}
	f = fopen(g.gl_pathv[0], "rb");
	if (!f) {
		globfree(&g);
		skip();   /* present but unreadable (not root) */
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	img = malloc(len);
	assert_non_null(img);
	assert_int_equal(fread(img, 1, len, f), (size_t)len);
	fclose(f);

	if (x86_boot__parse(img, len, &k, err, sizeof(err)) != 0)
		fail_msg("%s: %s", g.gl_pathv[0], err);
	assert_int_equal(k.format, X86_KERNEL_BZIMAGE);
	assert_true(k.hdr.version >= 0x20f);
	assert_int_equal(k.entry, X86_KERNEL_ADDR + 0x200);
	assert_int_equal(k.pm_offset + k.pm_size, (size_t)len);
	assert_true(k.load_end >= k.load_addr + k.hdr.init_size);
	assert_true(k.hdr.xloadflags & XLF_KERNEL_64);
	{
		struct guest_mem m;
		uint8_t *ram = make_mem(&m, 128u << 20);

		assert_int_equal(x86_boot__load(&m, img, len, &k, err, sizeof(err)), 0);
		assert_memory_equal(ram + X86_KERNEL_ADDR, img + k.pm_offset, k.pm_size);
		free(ram);
	}
	free(img);
	globfree(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_parse_load),
		cmocka_unit_test(test_bzimage_variants),
		cmocka_unit_test(test_bzimage_rejects),
		cmocka_unit_test(test_elf_parse_load),
		cmocka_unit_test(test_elf_rejects),
		cmocka_unit_test(test_too_big_for_ram),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_corrupted_headers),
		cmocka_unit_test(test_real_vmlinuz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
