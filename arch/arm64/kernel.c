/* kernel.c (arm64) — read and check the kernel Image (gzip-compressed or
 * not) and the initrd before KVM is touched; once the vCPUs exist, copy
 * them into RAM, write the device tree after them, initialise the GIC and
 * point vCPU 0 at the kernel with X0 = the device tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/arch_vm.h"
#include "arch/arm64/fdt.h"
#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "vmm/arch.h"
#include "vmm/bootfiles.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define KERNEL_FILE_MAX (512 * MiB)

int arch__prepare(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct arch_vm *a;
	char err[256];

	a = vm->arch = calloc(1, sizeof(*vm->arch));
	if (!a)
		return -1;
	a->gic_fd = a->its_fd = -1;
	if (!cfg->kernel)
		return 0;
	if (bootfiles__read("kernel", cfg->kernel, KERNEL_FILE_MAX, &a->kernel_img, &a->kernel_len) < 0)
		return -1;
	/* Debian's arm64 vmlinuz is a plain Image, Ubuntu's is gzipped,
	 * Fedora's an EFI zboot image (gzip or zstd inside). */
	if (arm64_image__is_gzip(a->kernel_img, a->kernel_len) ||
	    arm64_image__is_zboot(a->kernel_img, a->kernel_len)) {
		uint8_t *raw;
		size_t raw_len;
		int r = arm64_image__is_gzip(a->kernel_img, a->kernel_len) ?
			arm64_image__gunzip(a->kernel_img, a->kernel_len, ARM64_IMAGE_MAX_SIZE,
					    &raw, &raw_len, err, sizeof(err)) :
			arm64_image__unzboot(a->kernel_img, a->kernel_len, ARM64_IMAGE_MAX_SIZE,
					     &raw, &raw_len, err, sizeof(err));

		if (r < 0) {
			pr_err("kernel '%s': %s", cfg->kernel, err);
			return -1;
		}
		free(a->kernel_img);
		a->kernel_img = raw;
		a->kernel_len = raw_len;
	}
	if (arm64_image__parse(a->kernel_img, a->kernel_len, &a->image, err, sizeof(err)) < 0) {
		pr_err("kernel '%s': %s", cfg->kernel, err);
		return -1;
	}
	return bootfiles__read_initrd(cfg, &a->initrd, &a->initrd_len);
}

int arch__load_kernel(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct arch_vm *a = vm->arch;
	struct arm64_boot_layout l;
	struct arm64_fdt_config fc;
	void *fdt;
	char err[256];
	int ret = -1;

	if (arm64_image__place(&a->image, vm->mem.region[0].gpa, vm->mem.region[0].size,
			       a->initrd_len, &l, err, sizeof(err)) < 0) {
		pr_err("kernel '%s': %s", cfg->kernel, err);
		goto out;
	}
	if (guest_mem__write(&vm->mem, l.kernel, a->kernel_img, a->kernel_len) < 0 ||
	    (a->initrd && guest_mem__write(&vm->mem, l.initrd, a->initrd, a->initrd_len) < 0)) {
		pr_err("kernel or initrd does not fit in guest RAM");
		goto out;
	}
	fc = (struct arm64_fdt_config){
		.ram_base = vm->mem.region[0].gpa, .ram_size = vm->mem.region[0].size,
		.nr_cpus = (unsigned)vm->nr_vcpus,
		.gic_dist_base = ARM64_GIC_DIST_BASE, .gic_dist_size = ARM64_GIC_DIST_SIZE,
		.gic_redist_base = ARM64_GIC_REDIST_BASE,
		.gic_redist_size = ARM64_GIC_REDIST_SIZE * (uint64_t)vm->nr_vcpus,
		.its_base = ARM64_GIC_ITS_BASE, .its_size = a->its_fd >= 0 ? ARM64_GIC_ITS_SIZE : 0,
		.timer_ppi = { ARM64_PPI_TIMER_SEC, ARM64_PPI_TIMER_PHYS, ARM64_PPI_TIMER_VIRT,
			       ARM64_PPI_TIMER_HYP },
		.devs = &a->devs,
		.pci_intx_spi = ARM64_SPI_PCI_INTX,
		.power_button_line = ARM64_GPIO_POWER_LINE,
		.bootargs = cfg->params,
		.initrd_start = l.initrd,
		.initrd_end = a->initrd ? l.initrd + a->initrd_len : l.initrd,
	};
	fdt = guest_mem__ptr(&vm->mem, l.fdt, ARM64_FDT_MAX_SIZE);
	if (!fdt || arm64_fdt__build(fdt, ARM64_FDT_MAX_SIZE, &fc, err, sizeof(err)) < 0) {
		pr_err("%s", fdt ? err : "no RAM for the device tree");
		goto out;
	}
	if (arm64_gic__init(vm) < 0 || arm64_cpu__set_boot_regs(vm->vcpu[0], l.kernel, l.fdt) < 0)
		goto out;
	pr_debug("kernel at 0x%llx (%zu bytes, image_size %llu), initrd at 0x%llx (%zu bytes), device tree at 0x%llx",
		 (unsigned long long)l.kernel, a->kernel_len, (unsigned long long)a->image.image_size,
		 (unsigned long long)l.initrd, a->initrd_len, (unsigned long long)l.fdt);
	ret = 0;
out:
	/* The images are in guest memory now (or the VM is failing). */
	free(a->kernel_img);
	free(a->initrd);
	a->kernel_img = a->initrd = NULL;
	return ret;
}
