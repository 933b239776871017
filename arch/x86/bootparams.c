/* bootparams.c — the zero page (struct boot_params) for the 64-bit boot
 * protocol: the kernel's setup header, the e820 memory map, the command
 * line pointer and where the initrd goes. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/util.h"
#include "arch/x86/bootparams.h"
#include "arch/x86/layout.h"
#include "vmm/log.h"

#define E820_TYPE_RAM       1
#define E820_TYPE_RESERVED  2
#define PAGE_SIZE_4K        ((uint64_t)0x1000)
#define MIB                 ((uint64_t)1 << 20)
#define HEAP_END_PTR        0xfe00  /* setup heap end, relative to the real-mode code */
#define DEFAULT_INITRD_MAX  0x37ffffffULL  /* boot.rst: when initrd_addr_max is 0 */

#define fail util__fail

static uint64_t mib_round_up(uint64_t bytes)
{
	return bytes / MIB + (bytes % MIB != 0);
}

static int e820_add(struct boot_e820_entry *e, int n, int max,
		    uint64_t addr, uint64_t size, uint32_t type)
{
	if (size == 0 || n >= max)
		return n;
	e[n].addr = addr;
	e[n].size = size;
	e[n].type = type;
	return n + 1;
}

/*
 * RAM below the EBDA and from 1 MiB up is usable; [EBDA, 640 KiB) and the
 * BIOS area [896 KiB, 1 MiB) (where the ACPI and MP tables live) are
 * reserved; the hole [640 KiB, 896 KiB) is simply absent. Low pieces of
 * every region come first, then the reservations, then everything from
 * 1 MiB up, so the table is sorted when the regions are. The PCI ECAM
 * window in the MMIO hole is reserved too, between RAM below the hole and
 * RAM above 4 GiB: Linux's early MMCONFIG check accepts only a window it
 * finds reserved in e820 (the DSDT's PNP0C02 serves its later check).
 */
int x86_bootparams__e820(const struct guest_mem *m, struct boot_e820_entry *e, int max)
{
	int n = 0;

	for (int i = 0; i < m->nr; i++) {
		const struct mem_region *r = &m->region[i];
		uint64_t end = r->gpa + r->size;

		if (r->gpa < X86_EBDA_START)
			n = e820_add(e, n, max, r->gpa,
				     (end < X86_EBDA_START ? end : X86_EBDA_START) - r->gpa,
				     E820_TYPE_RAM);
	}
	n = e820_add(e, n, max, X86_EBDA_START, X86_BASE_MEM_END - X86_EBDA_START,
		     E820_TYPE_RESERVED);
	n = e820_add(e, n, max, X86_BIOS_START, X86_BIOS_END - X86_BIOS_START,
		     E820_TYPE_RESERVED);
	bool ecam_done = false;

	for (int i = 0; i < m->nr; i++) {
		const struct mem_region *r = &m->region[i];
		uint64_t end = r->gpa + r->size;
		uint64_t start = r->gpa > X86_KERNEL_ADDR ? r->gpa : X86_KERNEL_ADDR;

		if (!ecam_done && start >= X86_PCI_ECAM_END) {
			n = e820_add(e, n, max, X86_PCI_ECAM_BASE,
				     X86_PCI_ECAM_END - X86_PCI_ECAM_BASE, E820_TYPE_RESERVED);
			ecam_done = true;
		}
		if (end > start)
			n = e820_add(e, n, max, start, end - start, E820_TYPE_RAM);
	}
	if (!ecam_done)
		n = e820_add(e, n, max, X86_PCI_ECAM_BASE,
			     X86_PCI_ECAM_END - X86_PCI_ECAM_BASE, E820_TYPE_RESERVED);
	return n;
}

int x86_bootparams__place_initrd(const struct guest_mem *m, const struct x86_kernel *k,
				 uint64_t initrd_size, uint64_t *gpa,
				 char *err, size_t errlen)
{
	uint64_t limit, floor, low_end, addr;

	*gpa = 0;
	if (initrd_size == 0)
		return 0;

	/* initrd_addr_max is the highest address the last byte may occupy. */
	limit = k->hdr.initrd_addr_max ? (uint64_t)k->hdr.initrd_addr_max + 1 :
					 DEFAULT_INITRD_MAX + 1;
	low_end = guest_mem__low_end(m);
	if (low_end < limit)
		limit = low_end;

	/* Above the kernel (which includes its decompression area), and in
	 * any case above everything vmm puts below 1 MiB. */
	floor = k->load_end > X86_KERNEL_ADDR ? k->load_end : X86_KERNEL_ADDR;
	if (floor > UINT64_MAX - (PAGE_SIZE_4K - 1))
		return fail(err, errlen, "kernel end 0x%" PRIx64 " leaves no room for an initrd", floor);
	floor = (floor + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);

	if (limit <= floor || limit - floor < initrd_size)
		return fail(err, errlen,
			    "initrd of %" PRIu64 " MiB does not fit below 0x%" PRIx64
			    " (%" PRIu64 " MiB free above the kernel, which ends at 0x%" PRIx64 ")",
			    mib_round_up(initrd_size), limit,
			    limit > floor ? (limit - floor) / MIB : 0, k->load_end);

	addr = (limit - initrd_size) & ~(PAGE_SIZE_4K - 1);
	if (!guest_mem__contains(m, addr, initrd_size))
		return fail(err, errlen,
			    "initrd of %" PRIu64 " MiB at 0x%" PRIx64 " would straddle a gap in guest RAM",
			    mib_round_up(initrd_size), addr);
	*gpa = addr;
	return 0;
}

void x86_bootparams__build(struct boot_params *bp, const struct x86_kernel *k,
			   const struct guest_mem *m,
			   uint64_t cmdline_gpa, uint32_t cmdline_len,
			   uint64_t initrd_gpa, uint64_t initrd_size)
{
	memset(bp, 0, sizeof(*bp));
	bp->hdr = k->hdr;

	bp->hdr.type_of_loader = 0xff;   /* undefined loader id */
	bp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = HEAP_END_PTR;
	bp->hdr.vid_mode = 0xffff;       /* "normal" */

	if (cmdline_len > k->hdr.cmdline_size)
		pr_warn("command line of %u bytes is longer than the kernel's limit of %u; "
			"the kernel will truncate it", cmdline_len, k->hdr.cmdline_size);
	bp->hdr.cmd_line_ptr = (uint32_t)cmdline_gpa;
	bp->ext_cmd_line_ptr = (uint32_t)(cmdline_gpa >> 32);

	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);

	bp->e820_entries = (uint8_t)x86_bootparams__e820(m, bp->e820_table,
							 E820_MAX_ENTRIES_ZEROPAGE);
}
