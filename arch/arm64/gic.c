/* gic.c (arm64) — the in-kernel interrupt controller: a GICv3 distributor
 * and one redistributor per vCPU (KVM_DEV_TYPE_ARM_VGIC_V3), and an ITS
 * (KVM_DEV_TYPE_ARM_VGIC_ITS) that turns PCI MSIs, which carry their
 * device's requester id, into LPIs. All of it is emulated by KVM; vmm only
 * places it (arch/arm64/layout.h, the device tree says the same) and
 * initialises it once the vCPUs exist. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/arm64/arch_vm.h"
#include "arch/arm64/layout.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static int create_device(struct vm *vm, uint32_t type, const char *what)
{
	struct kvm_create_device d = { .type = type };

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &d) < 0) {
		pr_err("KVM_CREATE_DEVICE %s: %s", what, strerror(errno));
		return -1;
	}
	return (int)d.fd;
}

static int set_attr(int fd, uint32_t group, uint64_t attr, void *val, const char *what)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val,
	};

	if (ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0) {
		pr_err("%s: %s", what, strerror(errno));
		return -1;
	}
	return 0;
}

int arm64_gic__create(struct vm *vm)
{
	struct arch_vm *a = vm->arch;
	uint64_t dist = ARM64_GIC_DIST_BASE, redist = ARM64_GIC_REDIST_BASE;
	uint64_t its = ARM64_GIC_ITS_BASE;

	a->gic_fd = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_V3,
				  "GICv3 (this host's KVM has no GICv3 emulation)");
	if (a->gic_fd < 0)
		return -1;
	if (set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist,
		     "GICv3 distributor address") < 0 ||
	    set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist,
		     "GICv3 redistributor address") < 0)
		return -1;
	/* MSIs need the ITS: KVM routes an MSI that carries its device id
	 * there. (KVM_CAP_MSI_DEVID says so only once an ITS exists, so it
	 * cannot be asked first.) Without one, PCI devices fall back to INTx. */
	a->its_fd = create_device(vm, KVM_DEV_TYPE_ARM_VGIC_ITS, "GICv3 ITS");
	if (a->its_fd < 0) {
		pr_warn("no GICv3 ITS: PCI devices use INTx, not MSI-X");
		return 0;
	}
	return set_attr(a->its_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &its,
			"GICv3 ITS address");
}

int arm64_gic__init(struct vm *vm)
{
	struct arch_vm *a = vm->arch;
	uint32_t nr_irqs = ARM64_GIC_NR_IRQS;

	if (set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs,
		     "GICv3 number of interrupts") < 0 ||
	    set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
		     "GICv3 initialisation") < 0)
		return -1;
	if (a->its_fd >= 0 &&
	    set_attr(a->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL,
		     "GICv3 ITS initialisation") < 0)
		return -1;
	return 0;
}

void arm64_gic__destroy(struct arch_vm *a)
{
	if (a->its_fd >= 0)
		close(a->its_fd);
	if (a->gic_fd >= 0)
		close(a->gic_fd);
	a->its_fd = a->gic_fd = -1;
}
