/* kernel.c (x86) — put a Linux kernel, its initrd and command line into
 * guest memory with everything the 64-bit boot protocol expects: zero
 * page, identity-mapped page tables, boot GDT, the MP table and the ACPI
 * tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/arch_vm.h"
#include "arch/x86/boot.h"
#include "arch/x86/bootparams.h"
#include "arch/x86/layout.h"
#include "arch/x86/mptable.h"
#include "vmm/arch.h"
#include "vmm/bootfiles.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define KERNEL_MAX_SIZE (512 * MiB)

#define PTE_P   (1ULL << 0)
#define PTE_RW  (1ULL << 1)
#define PTE_PS  (1ULL << 7)

/* PML4[0] -> PDPT; PDPT[0..3] -> 4 page directories of 2 MiB pages: the
 * first 4 GiB mapped 1:1, which covers the kernel, zero page, command
 * line and initrd wherever they are placed below 4 GiB. */
static int write_page_tables(struct guest_mem *m)
{
	uint64_t *pml4 = guest_mem__ptr(m, X86_PML4, 4096);
	uint64_t *pdpt = guest_mem__ptr(m, X86_PDPT, 4096);
	uint64_t *pd = guest_mem__ptr(m, X86_PD, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -1;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT | PTE_P | PTE_RW;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (X86_PD + (uint64_t)i * 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	return 0;
}

/* null, null, __BOOT_CS (64-bit code), __BOOT_DS, TSS (for TR). */
static int write_gdt(struct guest_mem *m)
{
	static const uint64_t gdt[] = {
		0,
		0,
		0x00af9b000000ffffULL,
		0x00cf93000000ffffULL,
		0x00808b000000ffffULL,
	};

	return guest_mem__write(m, X86_GDT_ADDR, gdt, sizeof(gdt));
}

static int load_cmdline(struct vm *vm, const struct x86_kernel *k, uint32_t *len)
{
	const char *params = vm->cfg->params ? vm->cfg->params : "";
	size_t n = strlen(params);
	uint32_t max = k->hdr.cmdline_size ? k->hdr.cmdline_size : 255;

	if (max > X86_CMDLINE_MAX - 1)
		max = X86_CMDLINE_MAX - 1;
	if (n > max) {
		pr_err("kernel command line is %zu bytes, the kernel accepts at most %u", n, max);
		return -1;
	}
	*len = (uint32_t)n;
	return guest_mem__write(&vm->mem, X86_CMDLINE, params, n + 1);
}

int arch__prepare(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct arch_vm *a;
	char err[256];

	a = vm->arch = calloc(1, sizeof(*vm->arch));
	if (!a)
		return -1;
	if (!cfg->kernel)
		return 0;
	if (bootfiles__read("kernel", cfg->kernel, KERNEL_MAX_SIZE, &a->kernel_img, &a->kernel_len) < 0)
		return -1;
	if (x86_boot__parse(a->kernel_img, a->kernel_len, &a->kernel, err, sizeof(err)) < 0) {
		pr_err("kernel '%s': %s", cfg->kernel, err);
		return -1;
	}
	return bootfiles__read_initrd(cfg, &a->initrd, &a->initrd_len);
}

/* RSDP at X86_ACPI_START, where boot_params.acpi_rsdp_addr points and
 * where a guest scanning 0xe0000-0xfffff would find it too. */
static int write_acpi_tables(struct vm *vm)
{
	const struct acpi_config acpi = {
		.nr_cpus = vm->cfg->nr_cpus,
		.lapic_addr = X86_LAPIC_ADDR,
		.ioapic_addr = X86_IOAPIC_ADDR,
		/* The PM block, i8042, RTC and PCI host arch/x86/vm.c made. */
		.devs = &vm->arch->devs,
	};
	const uint64_t len = X86_ACPI_END - X86_ACPI_START;

	if (acpi__write_tables(guest_mem__ptr(&vm->mem, X86_ACPI_START, len), len,
			       X86_ACPI_START, &acpi) < 0) {
		pr_err("cannot build the ACPI tables for %d vCPUs", vm->cfg->nr_cpus);
		return -1;
	}
	return 0;
}

int arch__load_kernel(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct arch_vm *a = vm->arch;
	const struct x86_kernel *k = &a->kernel;
	struct boot_params *bp;
	uint64_t initrd_gpa = 0;
	uint32_t cmdline_len;
	char err[256];
	int ret = -1, n;

	if (x86_boot__load(&vm->mem, a->kernel_img, a->kernel_len, k, err, sizeof(err)) < 0) {
		pr_err("kernel '%s': %s", cfg->kernel, err);
		goto out;
	}
	if (a->initrd) {
		if (x86_bootparams__place_initrd(&vm->mem, k, a->initrd_len, &initrd_gpa,
						 err, sizeof(err)) < 0) {
			pr_err("initrd '%s': %s", cfg->initrd, err);
			goto out;
		}
		if (guest_mem__write(&vm->mem, initrd_gpa, a->initrd, a->initrd_len) < 0) {
			pr_err("initrd '%s' does not fit in guest RAM", cfg->initrd);
			goto out;
		}
	}
	if (load_cmdline(vm, k, &cmdline_len) < 0)
		goto out;

	bp = guest_mem__ptr(&vm->mem, X86_ZERO_PAGE, sizeof(*bp));
	if (!bp || write_page_tables(&vm->mem) < 0 || write_gdt(&vm->mem) < 0) {
		pr_err("guest RAM too small for the boot structures");
		goto out;
	}
	x86_bootparams__build(bp, k, &vm->mem, X86_CMDLINE, cmdline_len, initrd_gpa, a->initrd_len);

	n = mptable__write(guest_mem__ptr(&vm->mem, X86_MPTABLE_START,
					  X86_BIOS_END - X86_MPTABLE_START),
			   X86_BIOS_END - X86_MPTABLE_START, X86_MPTABLE_START, cfg->nr_cpus,
			   X86_IOAPIC_ADDR, X86_LAPIC_ADDR, &a->devs);
	if (n < 0) {
		pr_err("cannot build the MP table for %d vCPUs", cfg->nr_cpus);
		goto out;
	}
	if (write_acpi_tables(vm) < 0)
		goto out;
	bp->acpi_rsdp_addr = X86_ACPI_START;
	a->entry = k->entry;
	if (x86_cpu__set_boot_regs(vm->vcpu[0]) < 0)
		goto out;
	pr_debug("kernel: %s, entry 0x%llx, initrd at 0x%llx (%zu bytes), command line \"%s\"",
		 k->format == X86_KERNEL_BZIMAGE ? "bzImage" : "ELF",
		 (unsigned long long)k->entry, (unsigned long long)initrd_gpa, a->initrd_len,
		 cfg->params ? cfg->params : "");
	ret = 0;
out:
	/* The images are in guest memory now (or the VM is failing). */
	free(a->kernel_img);
	free(a->initrd);
	a->kernel_img = a->initrd = NULL;
	return ret;
}
