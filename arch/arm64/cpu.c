/* cpu.c (arm64) — vCPU set-up with KVM_ARM_VCPU_INIT, the boot vCPU's
 * entry registers, and the register dump of a failing vCPU.
 *
 * Every vCPU gets PSCI 0.2: KVM then answers the guest's PSCI calls (HVC)
 * itself: CPU_ON starts a secondary at the address the kernel gives,
 * SYSTEM_OFF and SYSTEM_RESET come back to vmm as KVM_EXIT_SYSTEM_EVENT
 * (vmm/vcpu.c ends the VM with status 0). Secondaries are created powered
 * off, so only vCPU 0 runs the kernel's entry. */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arm64/arch_vm.h"
#include "vmm/arch.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CORE_REG(name) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			KVM_REG_ARM_CORE_REG(name))

/* PSTATE at entry: EL1h with D, A, I and F masked (booting.rst); the
 * PSR_* names come from the UAPI's asm/ptrace.h. */

static int set_reg(struct vcpu *v, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&val };

	if (ioctl(v->fd, KVM_SET_ONE_REG, &r) < 0) {
		pr_err("vCPU %d: KVM_SET_ONE_REG 0x%llx: %s", v->id, (unsigned long long)id,
		       strerror(errno));
		return -1;
	}
	return 0;
}

static int get_reg(struct vcpu *v, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)val };

	return ioctl(v->fd, KVM_GET_ONE_REG, &r);
}

int arch__vcpu_init(struct vcpu *v)
{
	struct arch_vm *a = v->vm->arch;
	struct kvm_vcpu_init init;

	/* The host CPU's own target (any of its kinds would do for KVM, but
	 * it refuses anything but the preferred one on most hosts). */
	if (!a->have_target) {
		if (ioctl(v->vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &a->target) < 0) {
			pr_err("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
			return -1;
		}
		a->have_target = true;
	}
	init = a->target;
	memset(init.features, 0, sizeof(init.features));
	init.features[0] = 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (v->id != 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		pr_err("vCPU %d: KVM_ARM_VCPU_INIT (target %u, PSCI 0.2): %s", v->id, init.target,
		       strerror(errno));
		return -1;
	}
	return 0;
}

int arm64_cpu__set_boot_regs(struct vcpu *v, uint64_t pc, uint64_t fdt)
{
	if (set_reg(v, CORE_REG(regs.pstate),
		    PSR_MODE_EL1h | PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT) < 0 ||
	    set_reg(v, CORE_REG(regs.regs[0]), fdt) < 0 ||
	    set_reg(v, CORE_REG(regs.regs[1]), 0) < 0 ||
	    set_reg(v, CORE_REG(regs.regs[2]), 0) < 0 ||
	    set_reg(v, CORE_REG(regs.regs[3]), 0) < 0 ||
	    set_reg(v, CORE_REG(regs.pc), pc) < 0)
		return -1;
	return 0;
}

/* Nothing arm64-specific comes back to vmm today: PSCI is KVM's, MMIO and
 * system events are the generic loop's. */
int arch__handle_exit(struct vcpu *v)
{
	return -1;
}

void arch__vcpu_dump(struct vcpu *v)
{
	static const struct { const char *name; uint64_t id; } regs[] = {
		{ "pc", CORE_REG(regs.pc) },
		{ "pstate", CORE_REG(regs.pstate) },
		{ "sp_el0", CORE_REG(regs.sp) },
		{ "sp_el1", CORE_REG(sp_el1) },
		{ "elr_el1", CORE_REG(elr_el1) },
	};
	char line[1024];
	int n = 0;

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		uint64_t val;

		if (get_reg(v, regs[i].id, &val) == 0)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%016llx", regs[i].name,
				      (unsigned long long)val);
	}
	for (int i = 0; i < 31 && n < (int)sizeof(line) - 32; i++) {
		uint64_t val;

		if (get_reg(v, CORE_REG(regs.regs[i]), &val) == 0)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " x%d=%llx", i,
				      (unsigned long long)val);
	}
	pr_err("vCPU %d:%s", v->id, n ? line : " registers unreadable");
}
