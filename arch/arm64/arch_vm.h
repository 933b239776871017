/* arch_vm.h — arm64 state of one VM (struct vm's 'arch'). */
#ifndef ARM64_ARCH_VM_H
#define ARM64_ARCH_VM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/arm64/image.h"
#include "vmm/devreg.h"

struct uart8250;
struct pl031;
struct pl061;
struct vcpu;
struct vm;

struct arch_vm {
	struct uart8250 *uart;
	struct pl031 *rtc;
	struct pl061 *gpio;         /* line 3: the power button */
	/* The UART, the RTC, the GPIO controller and the PCI host, as the device tree describes them
	 * (filled by arch__devices_init). */
	struct devreg devs;
	int gic_fd;                 /* KVM_DEV_TYPE_ARM_VGIC_V3; -1: none */
	int its_fd;                 /* KVM_DEV_TYPE_ARM_VGIC_ITS; -1: none */
	/* KVM_ARM_PREFERRED_TARGET, read once for all vCPUs. */
	struct kvm_vcpu_init target;
	bool have_target;
	/* Between arch__prepare() and arch__load_kernel(): the files, the
	 * kernel already decompressed and its header checked. */
	struct arm64_image image;
	uint8_t *kernel_img, *initrd;
	size_t kernel_len, initrd_len;
};

/* gic.c: the in-kernel GICv3 and its ITS. create: after the VM exists,
 * before any vCPU (addresses only); init: once every vCPU exists (KVM
 * sizes the redistributors by them), before any runs. */
int arm64_gic__create(struct vm *vm);
int arm64_gic__init(struct vm *vm);
void arm64_gic__destroy(struct arch_vm *a);

/* cpu.c: point the boot vCPU at the kernel: PC = entry, X0 = the device
 * tree, X1..X3 = 0, as the boot protocol asks. */
int arm64_cpu__set_boot_regs(struct vcpu *v, uint64_t pc, uint64_t fdt);

#endif
