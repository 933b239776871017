/* fuzz_kernel.c — libFuzzer target for the x86 kernel loader
 * (arch/x86/boot.c, bootparams.c): the input is the kernel file given to
 * --kernel, or copied out of a guest's /boot by direct boot. It is
 * parsed (bzImage setup header or ELF64 program headers) as
 * arch__prepare() does, loaded into guest RAM as arch__load_kernel()
 * does, an initrd of several sizes is placed, and the zero page built.
 *
 * Guest RAM is three malloc()ed regions, so ASan sees any write past
 * one: [0, 112M) (a Debian kernel's init_size needs ~80M) and
 * [112M, 128M) back to back (a range straddling them must be refused)
 * and [4G, 4G + 16M) above the 32-bit hole; pages are only touched
 * where a kernel is loaded. Besides
 * crashes it checks bootparams.h's promises for the initrd: page
 * aligned, above the kernel's end and below its initrd_addr_max, in RAM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/bootparams.h"
#include "arch/x86/layout.h"
#include "tests/fuzz/fuzz_util.h"
#include "vmm/log.h"
#include "vmm/memory.h"

#define MiB (1ULL << 20)

static struct guest_mem mem;
static struct boot_params *bp;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct mem_region r[3] = {
		{ .gpa = 0, .size = 112 * MiB },
		{ .gpa = 112 * MiB, .size = 16 * MiB },
		{ .gpa = 4ULL << 30, .size = 16 * MiB },
	};

	log__verbosity = LOG_ERR;   /* "command line longer than the kernel's limit" */
	for (int i = 0; i < 3; i++) {
		r[i].hva = malloc(r[i].size);
		if (!r[i].hva)
			abort();
	}
	bp = malloc(sizeof(*bp));
	if (!bp || guest_mem__init_from(&mem, r, 3) < 0)
		abort();
	return 0;
}

static void place_initrd(const struct x86_kernel *k, uint64_t size)
{
	uint64_t gpa, max = k->hdr.initrd_addr_max ? k->hdr.initrd_addr_max : 0x37ffffffULL;
	char err[256];

	if (x86_bootparams__place_initrd(&mem, k, size, &gpa, err, sizeof(err)) < 0)
		return;
	FUZZ_CHECK(gpa % 4096 == 0, "initrd at 0x%llx", (unsigned long long)gpa);
	FUZZ_CHECK(gpa >= X86_KERNEL_ADDR && gpa >= k->load_end,
		   "initrd at 0x%llx below the kernel's end 0x%llx", (unsigned long long)gpa,
		   (unsigned long long)k->load_end);
	FUZZ_CHECK(gpa + size - 1 <= max, "initrd ends above initrd_addr_max");
	FUZZ_CHECK(guest_mem__contains(&mem, gpa, size), "initrd outside RAM");
	x86_bootparams__build(bp, k, &mem, X86_CMDLINE, 100, gpa, size);
	FUZZ_CHECK(bp->e820_entries <= E820_MAX_ENTRIES_ZEROPAGE, "%u e820 entries",
		   bp->e820_entries);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t initrd[] = { 1, 4096, MiB + 1, 7 * MiB, 20 * MiB, 1ULL << 32 };
	struct x86_kernel k;
	char err[256];

	if (x86_boot__parse(data, size, &k, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0], "failure without a reason");
		return 0;
	}
	FUZZ_CHECK(k.format == X86_KERNEL_BZIMAGE || k.format == X86_KERNEL_ELF, "format %d",
		   k.format);
	if (k.format == X86_KERNEL_BZIMAGE)
		FUZZ_CHECK(k.pm_offset < size && k.pm_size == size - k.pm_offset,
			   "protected-mode part outside the file");
	else
		FUZZ_CHECK(k.nr_segments > 0 && k.nr_segments <= X86_ELF_MAX_SEGMENTS,
			   "%d segments", k.nr_segments);
	if (x86_boot__load(&mem, data, size, &k, err, sizeof(err)) < 0)
		return 0;
	FUZZ_CHECK(guest_mem__contains(&mem, k.entry, 1) || k.format == X86_KERNEL_BZIMAGE,
		   "ELF entry 0x%llx not in RAM", (unsigned long long)k.entry);
	x86_bootparams__build(bp, &k, &mem, X86_CMDLINE, 100, 0, 0);
	for (size_t i = 0; i < sizeof(initrd) / sizeof(initrd[0]); i++)
		place_initrd(&k, initrd[i]);
	return 0;
}
