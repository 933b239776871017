/* test_bootparams.c — the zero page (arch/x86/bootparams.c): e820 maps
 * for small, medium and >3 GiB guests, initrd placement, and the fields
 * x86_bootparams__build() fills in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/bootparams.h"
#include "arch/x86/layout.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define RAM 1
#define RES 2

static char err[256];

/* Guest RAM laid out as vmm does it (mmap'd, MAP_NORESERVE, never
 * touched by these tests except for the pages build() does not use). */
static void mem(struct guest_mem *m, uint64_t size)
{
	assert_int_equal(guest_mem__init(m, size, &(struct mem_layout){ 0, X86_MMIO_HOLE_START,
								      X86_MMIO_HOLE_END }), 0);
}

static void expect_entry(const struct boot_e820_entry *e, uint64_t addr,
			 uint64_t size, uint32_t type)
{
	if (e->addr != addr || e->size != size || e->type != type)
		fail_msg("e820 entry [0x%llx +0x%llx type %u], expected [0x%llx +0x%llx type %u]",
			 (unsigned long long)e->addr, (unsigned long long)e->size, e->type,
			 (unsigned long long)addr, (unsigned long long)size, type);
}

/* Sorted, non-overlapping, and covering exactly the guest RAM minus
 * [EBDA, 1 MiB). */
static void check_consistent(const struct guest_mem *m, const struct boot_e820_entry *e, int n)
{
	uint64_t ram = 0;

	for (int i = 0; i < n; i++) {
		assert_true(e[i].size > 0);
		if (i > 0)
			assert_true(e[i].addr >= e[i - 1].addr + e[i - 1].size);
		if (e[i].type == RAM) {
			assert_true(guest_mem__contains(m, e[i].addr, e[i].size));
			ram += e[i].size;
		}
	}
	assert_int_equal(ram, m->ram_size - (X86_KERNEL_ADDR - X86_EBDA_START));
}

/* The PCI ECAM window, reserved so Linux's early MMCONFIG check takes it. */
static void expect_ecam(const struct boot_e820_entry *e)
{
	expect_entry(e, X86_PCI_ECAM_BASE, X86_PCI_ECAM_END - X86_PCI_ECAM_BASE, RES);
}

static void check_low(const struct boot_e820_entry *e)
{
	expect_entry(&e[0], 0, X86_EBDA_START, RAM);
	expect_entry(&e[1], X86_EBDA_START, X86_BASE_MEM_END - X86_EBDA_START, RES);
	/* [0xe0000, 1 MiB): the ACPI tables (RSDP at 0xe0000) and the MP
	 * table (0xf0000) are both inside the reservation. */
	expect_entry(&e[2], 0xe0000, 0x20000, RES);
	assert_true(X86_ACPI_START >= e[2].addr && X86_ACPI_END <= X86_MPTABLE_START);
	assert_true(X86_MPTABLE_START >= X86_ACPI_END &&
		    X86_BIOS_END <= e[2].addr + e[2].size);
}

static void test_e820_small(void **state)
{
	struct guest_mem m;
	struct boot_e820_entry e[16];
	int n;

	mem(&m, 64 * MIB);
	n = x86_bootparams__e820(&m, e, 16);
	assert_int_equal(n, 5);
	check_low(e);
	expect_entry(&e[3], X86_KERNEL_ADDR, 63 * MIB, RAM);
	expect_ecam(&e[4]);
	check_consistent(&m, e, n);
	guest_mem__destroy(&m);

	mem(&m, GIB);
	n = x86_bootparams__e820(&m, e, 16);
	assert_int_equal(n, 5);
	check_low(e);
	expect_entry(&e[3], X86_KERNEL_ADDR, GIB - MIB, RAM);
	expect_ecam(&e[4]);
	check_consistent(&m, e, n);
	guest_mem__destroy(&m);
}

static void test_e820_hole(void **state)
{
	struct guest_mem m;
	struct boot_e820_entry e[16];
	int n;

	/* 4 GiB: 3 GiB below the hole, 1 GiB from 4 GiB. */
	mem(&m, 4 * GIB);
	assert_int_equal(m.nr, 2);
	n = x86_bootparams__e820(&m, e, 16);
	assert_int_equal(n, 6);
	check_low(e);
	expect_entry(&e[3], X86_KERNEL_ADDR, X86_MMIO_HOLE_START - X86_KERNEL_ADDR, RAM);
	expect_ecam(&e[4]);
	expect_entry(&e[5], X86_MMIO_HOLE_END, GIB, RAM);
	check_consistent(&m, e, n);
	/* Nothing in the MMIO hole but the ECAM reservation. */
	for (int i = 0; i < n; i++)
		assert_true(e[i].addr + e[i].size <= X86_MMIO_HOLE_START ||
			    e[i].addr >= X86_MMIO_HOLE_END || e[i].type == RES);

	/* A short table is filled as far as it goes. */
	memset(e, 0, sizeof(e));
	assert_int_equal(x86_bootparams__e820(&m, e, 2), 2);
	expect_entry(&e[0], 0, X86_EBDA_START, RAM);
	expect_entry(&e[1], X86_EBDA_START, X86_BASE_MEM_END - X86_EBDA_START, RES);
	expect_entry(&e[2], 0, 0, 0);
	assert_int_equal(x86_bootparams__e820(&m, e, 0), 0);
	guest_mem__destroy(&m);
}

static struct x86_kernel kernel(uint64_t load_end, uint32_t initrd_addr_max)
{
	struct x86_kernel k;

	memset(&k, 0, sizeof(k));
	k.format = X86_KERNEL_BZIMAGE;
	k.load_addr = X86_KERNEL_ADDR;
	k.entry = X86_KERNEL_ADDR + 0x200;
	k.load_end = load_end;
	k.hdr.initrd_addr_max = initrd_addr_max;
	return k;
}

/* gpa is page aligned, above the kernel, below limit, and as high as it
 * can be (one page higher would cross limit). */
static void check_placed(const struct guest_mem *m, const struct x86_kernel *k,
			 uint64_t gpa, uint64_t size, uint64_t limit)
{
	assert_int_equal(gpa & 0xfff, 0);
	assert_true(gpa >= k->load_end);
	assert_true(gpa + size <= limit);
	assert_true(gpa + 0x1000 + size > limit);
	assert_true(guest_mem__contains(m, gpa, size));
}

static void test_initrd_placement(void **state)
{
	struct guest_mem m;
	struct x86_kernel k = kernel(0x1000000 + 0x3f98001, 0x7fffffff);
	uint64_t gpa, size = 10 * MIB + 123;

	/* 128 MiB: top of RAM. */
	mem(&m, 128 * MIB);
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, size, &gpa, err, sizeof(err)), 0);
	check_placed(&m, &k, gpa, size, 128 * MIB);
	/* Exactly the room between the (page-aligned) kernel end and RAM end. */
	size = 128 * MIB - 0x4f99000;
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, size, &gpa, err, sizeof(err)), 0);
	assert_int_equal(gpa, 0x4f99000);
	/* One byte more does not fit. */
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, size + 1, &gpa, err, sizeof(err)), -1);
	/* 200 MiB into 128 MiB. */
	err[0] = 0;
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, 200 * MIB, &gpa, err, sizeof(err)), -1);
	if (!strstr(err, "initrd of 200 MiB does not fit"))
		fail_msg("unexpected error: %s", err);
	assert_null(strchr(err, '\n'));
	/* A kernel that fills RAM leaves nothing. */
	k.load_end = 130 * MIB;
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, 4096, &gpa, err, sizeof(err)), -1);
	/* No initrd. */
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, 0, &gpa, err, sizeof(err)), 0);
	assert_int_equal(gpa, 0);
	/* A kernel ending below 1 MiB still keeps the initrd above 1 MiB. */
	k.load_end = 0x8000;
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, 127 * MIB, &gpa, err, sizeof(err)), 0);
	assert_int_equal(gpa, MIB);
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, 127 * MIB + 1, &gpa, err, sizeof(err)), -1);
	guest_mem__destroy(&m);
}

static void test_initrd_addr_max(void **state)
{
	struct guest_mem m;
	struct x86_kernel k = kernel(0x2000000, 0x7fffffff);
	uint64_t gpa, size = 30 * MIB + 5;

	/* 4 GiB guest: RAM goes to 3 GiB, the kernel allows up to 2 GiB. */
	mem(&m, 4 * GIB);
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, size, &gpa, err, sizeof(err)), 0);
	check_placed(&m, &k, gpa, size, 0x80000000ULL);
	/* A kernel allowing all of 32-bit space: RAM end (3 GiB) limits. */
	k.hdr.initrd_addr_max = 0xffffffff;
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, size, &gpa, err, sizeof(err)), 0);
	check_placed(&m, &k, gpa, size, X86_MMIO_HOLE_START);
	/* Old-style limit. */
	k.hdr.initrd_addr_max = 0x37ffffff;
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, size, &gpa, err, sizeof(err)), 0);
	check_placed(&m, &k, gpa, size, 0x38000000ULL);
	/* 0 means the pre-2.03 default, 0x37ffffff. */
	k.hdr.initrd_addr_max = 0;
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, size, &gpa, err, sizeof(err)), 0);
	check_placed(&m, &k, gpa, size, 0x38000000ULL);
	/* Limit below the kernel end: does not fit. */
	k.hdr.initrd_addr_max = 0x1ffffff;
	assert_int_equal(x86_bootparams__place_initrd(&m, &k, 4096, &gpa, err, sizeof(err)), -1);
	guest_mem__destroy(&m);
}

static void test_build(void **state)
{
	struct guest_mem m;
	struct x86_kernel k = kernel(0x5000000, 0x7fffffff);
	struct boot_params *bp = malloc(sizeof(*bp));
	struct boot_e820_entry e[E820_MAX_ENTRIES_ZEROPAGE];
	const uint8_t *raw = (const uint8_t *)bp;

	assert_non_null(bp);
	memset(bp, 0xa5, sizeof(*bp));
	k.hdr.setup_sects = 27;
	k.hdr.boot_flag = 0xaa55;
	k.hdr.header = 0x53726448;
	k.hdr.version = 0x20f;
	k.hdr.loadflags = LOADED_HIGH;
	k.hdr.init_size = 0x3f98000;
	k.hdr.kernel_alignment = 0x200000;
	k.hdr.xloadflags = XLF_KERNEL_64;
	k.hdr.cmdline_size = 0x7ff;
	k.hdr.type_of_loader = 0;
	k.hdr.pref_address = 0x1000000;
	mem(&m, 4 * GIB);

	x86_bootparams__build(bp, &k, &m, X86_CMDLINE, 100, 0x7e000000, 0x123456);
	assert_int_equal(bp->hdr.setup_sects, 27);
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_int_equal(bp->hdr.header, 0x53726448);
	assert_int_equal(bp->hdr.version, 0x20f);
	assert_int_equal(bp->hdr.init_size, 0x3f98000);
	assert_int_equal(bp->hdr.kernel_alignment, 0x200000);
	assert_int_equal(bp->hdr.pref_address, 0x1000000);
	assert_int_equal(bp->hdr.xloadflags, XLF_KERNEL_64);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	assert_int_equal(bp->hdr.heap_end_ptr, 0xfe00);
	assert_int_equal(bp->hdr.vid_mode, 0xffff);
	assert_int_equal(bp->hdr.cmd_line_ptr, X86_CMDLINE);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0x7e000000);
	assert_int_equal(bp->hdr.ramdisk_size, 0x123456);
	assert_int_equal(bp->ext_ramdisk_image, 0);
	assert_int_equal(bp->ext_ramdisk_size, 0);
	assert_int_equal(bp->e820_entries, x86_bootparams__e820(&m, e, E820_MAX_ENTRIES_ZEROPAGE));
	assert_int_equal(bp->e820_entries, 6);
	assert_memory_equal(bp->e820_table, e, 6 * sizeof(e[0]));
	/* Everything else is zero: screen_info, the sentinel, ACPI RSDP, ... */
	for (size_t i = 0; i < offsetof(struct boot_params, hdr); i++)
		if (i != offsetof(struct boot_params, e820_entries) &&
		    (i < offsetof(struct boot_params, ext_ramdisk_image) ||
		     i >= offsetof(struct boot_params, ext_cmd_line_ptr) + 4) && raw[i])
			fail_msg("zero page byte 0x%zx is 0x%x", i, raw[i]);
	for (size_t i = offsetof(struct boot_params, e820_table) + 6 * sizeof(e[0]);
	     i < sizeof(*bp); i++)
		if (raw[i])
			fail_msg("zero page byte 0x%zx is 0x%x", i, raw[i]);

	/* Pointers above 4 GiB use the ext_* high halves. */
	x86_bootparams__build(bp, &k, &m, 0x100020000ULL, 10, 0x123400000ULL, 0x100000001ULL);
	assert_int_equal(bp->hdr.cmd_line_ptr, 0x00020000);
	assert_int_equal(bp->ext_cmd_line_ptr, 1);
	assert_int_equal(bp->hdr.ramdisk_image, 0x23400000);
	assert_int_equal(bp->ext_ramdisk_image, 1);
	assert_int_equal(bp->hdr.ramdisk_size, 1);
	assert_int_equal(bp->ext_ramdisk_size, 1);

	/* No initrd: the fields stay zero. */
	x86_bootparams__build(bp, &k, &m, X86_CMDLINE, 10, 0, 0);
	assert_int_equal(bp->hdr.ramdisk_image, 0);
	assert_int_equal(bp->hdr.ramdisk_size, 0);
	guest_mem__destroy(&m);
	free(bp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_small),
		cmocka_unit_test(test_e820_hole),
		cmocka_unit_test(test_initrd_placement),
		cmocka_unit_test(test_initrd_addr_max),
		cmocka_unit_test(test_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
