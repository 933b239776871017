/* cpu.c (x86) — vCPU state: CPUID, MSRs, LAPIC local interrupts, FPU, and
 * the boot CPU's registers for the Linux 64-bit boot protocol. */
#include <asm/kvm_para.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/arch_vm.h"
#include "arch/x86/layout.h"
#include "vmm/arch.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CPUID_MAX_ENTRIES 256

#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID_1_ECX_HYPERVISOR (1U << 31)

#define MSR_IA32_SYSENTER_CS   0x174
#define MSR_IA32_SYSENTER_ESP  0x175
#define MSR_IA32_SYSENTER_EIP  0x176
#define MSR_IA32_MISC_ENABLE   0x1a0
#define MSR_MTRR_DEF_TYPE      0x2ff
#define MSR_STAR               0xc0000081
#define MSR_LSTAR              0xc0000082
#define MSR_CSTAR              0xc0000083
#define MSR_SYSCALL_MASK       0xc0000084
#define MSR_KERNEL_GS_BASE     0xc0000102

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE            (1ULL << 11)
#define MTRR_TYPE_WRBACK       6ULL

/* LAPIC register offsets and delivery modes (for LINT0/LINT1). */
#define APIC_LVT0              0x350
#define APIC_LVT1              0x360
#define APIC_MODE_NMI          0x4
#define APIC_MODE_EXTINT       0x7

#define X86_CR0_PE  (1ULL << 0)
#define X86_CR0_ET  (1ULL << 4)
#define X86_CR0_PG  (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define EFER_LME    (1ULL << 8)
#define EFER_LMA    (1ULL << 10)

static int setup_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *c;
	bool tsc_deadline;
	int err = -1;

	/* KVM emulates the TSC-deadline LAPIC timer but does not list it in
	 * KVM_GET_SUPPORTED_CPUID; it is a capability instead. With it the
	 * guest needs no LAPIC timer calibration against the PIT. */
	tsc_deadline = ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));
	if (!c)
		return -1;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(v->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* Tell the guest it runs on a hypervisor, so it looks
			 * for the KVM leaves (kvmclock, PV EOI, ...). */
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			/* Initial APIC id in EBX[31:24]. */
			e->ebx = (e->ebx & 0x00ffffffU) | ((uint32_t)v->id << 24);
			break;
		case 0xb:
		case 0x1f:
			/* x2APIC id of this vCPU. */
			e->edx = (uint32_t)v->id;
			break;
		case KVM_CPUID_SIGNATURE:
			/* "KVMKVMKVM\0\0\0" and the highest KVM leaf. */
			e->eax = KVM_CPUID_FEATURES;
			e->ebx = 0x4b4d564b;
			e->ecx = 0x564b4d56;
			e->edx = 0x4d;
			break;
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0) {
		pr_err("KVM_SET_CPUID2 on vCPU %d: %s", v->id, strerror(errno));
		goto out;
	}
	err = 0;
out:
	free(c);
	return err;
}

static int setup_msrs(struct vcpu *v)
{
	static const struct { uint32_t index; uint64_t data; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WRBACK },
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(init)];
	} m;
	int n;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = ARRAY_SIZE(init);
	for (size_t i = 0; i < ARRAY_SIZE(init); i++) {
		m.e[i].index = init[i].index;
		m.e[i].data = init[i].data;
	}
	n = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (n != (int)ARRAY_SIZE(init)) {
		pr_err("KVM_SET_MSRS on vCPU %d: set %d of %zu (%s)", v->id, n,
		       ARRAY_SIZE(init), n < 0 ? strerror(errno) : "MSR refused");
		return -1;
	}
	return 0;
}

static void lapic_set_lvt(struct kvm_lapic_state *s, int reg, uint32_t mode)
{
	uint32_t *r = (uint32_t *)(void *)(s->regs + reg);

	*r = (*r & ~0x700U) | (mode << 8);
}

/* What a PC BIOS does: LINT0 = ExtINT (the 8259 PIC), LINT1 = NMI. */
static int setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state s;

	if (ioctl(v->fd, KVM_GET_LAPIC, &s) < 0) {
		pr_err("KVM_GET_LAPIC on vCPU %d: %s", v->id, strerror(errno));
		return -1;
	}
	lapic_set_lvt(&s, APIC_LVT0, APIC_MODE_EXTINT);
	lapic_set_lvt(&s, APIC_LVT1, APIC_MODE_NMI);
	if (ioctl(v->fd, KVM_SET_LAPIC, &s) < 0) {
		pr_err("KVM_SET_LAPIC on vCPU %d: %s", v->id, strerror(errno));
		return -1;
	}
	return 0;
}

static int setup_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
		pr_err("KVM_SET_FPU on vCPU %d: %s", v->id, strerror(errno));
		return -1;
	}
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, int code64)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = code64 ? 0 : 1, .s = 1,
		.l = (uint8_t)code64, .g = 1,
	};
}

/* Long mode, paging on with the identity map written by
 * arch__load_kernel, CS = __BOOT_CS (0x10), data = __BOOT_DS (0x18),
 * %rsi = the zero page, %rip = the 64-bit entry. */
int x86_cpu__set_boot_regs(struct vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rflags = 2,
		.rip = v->vm->arch->entry,
		.rsi = X86_ZERO_PAGE,
		.rsp = X86_ZERO_PAGE,  /* the kernel sets up its own stack */
	};

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		pr_err("KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	flat_segment(&sregs.cs, 0x10, 0xb, 1);
	flat_segment(&sregs.ds, 0x18, 0x3, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .base = 0, .limit = 0xfffff, .selector = 0x20,
					  .type = 0xb, .present = 1, .g = 0 };
	sregs.gdt.base = X86_GDT_ADDR;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = X86_IDT_ADDR;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	sregs.cr3 = X86_PML4;
	sregs.cr4 = X86_CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0) {
		pr_err("KVM_SET_SREGS: %s", strerror(errno));
		return -1;
	}
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
		pr_err("KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int arch__vcpu_init(struct vcpu *v)
{
	/* The boot vCPU's entry registers come later, with the kernel
	 * (arch__load_kernel); application processors wait for INIT/SIPI
	 * from it in the in-kernel LAPIC. */
	return setup_cpuid(v) < 0 || setup_msrs(v) < 0 || setup_lapic(v) < 0 ||
	       setup_fpu(v) < 0 ? -1 : 0;
}

/* KVM_EXIT_SHUTDOWN is x86's triple fault: the CPU resets, which for vmm
 * ends the VM as a reboot would. */
int arch__handle_exit(struct vcpu *v)
{
	if (v->run->exit_reason != KVM_EXIT_SHUTDOWN)
		return -1;
	if (v->vm->cfg->verbose)  /* where it died, for whoever debugs it */
		vcpu__dump(v);
	vm__request_exit(v->vm, 0, "guest reset (triple fault on vCPU %d)", v->id);
	return -1;
}

/* The bytes at the vCPU's instruction pointer (translated through its own
 * page tables by KVM, read only inside guest RAM and the same page) and
 * any exception KVM holds pending or injected: what a vCPU that makes no
 * progress keeps executing. */
static void dump_insn_and_events(struct vcpu *v, uint64_t linear)
{
	struct kvm_translation t = { .linear_address = linear };
	struct kvm_vcpu_events ev;
	char hex[16 * 3 + 1] = "";
	const uint8_t *p;
	uint64_t n;

	if (ioctl(v->fd, KVM_TRANSLATE, &t) == 0 && t.valid) {
		n = 16;
		if ((t.physical_address & 0xfff) + n > 0x1000)
			n = 0x1000 - (t.physical_address & 0xfff);
		p = guest_mem__ptr(&v->vm->mem, t.physical_address, n);
		for (uint64_t i = 0; p && i < n; i++)
			snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", p[i]);
		pr_err(" code at %llx (gpa %llx): %s", (unsigned long long)linear,
		       (unsigned long long)t.physical_address, p ? hex : "(not guest RAM)");
	} else {
		pr_err(" code at %llx: not mapped", (unsigned long long)linear);
	}
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) == 0)
		pr_err(" exception: injected %u pending %u nr %u error %u (has %u); nmi pending %u; "
		       "interrupt injected %u nr %u",
		       ev.exception.injected, ev.exception.pending, ev.exception.nr,
		       ev.exception.error_code, ev.exception.has_error_code, ev.nmi.pending,
		       ev.interrupt.injected, ev.interrupt.nr);
}

void arch__vcpu_dump(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		pr_err("vCPU %d: cannot read registers: %s", v->id, strerror(errno));
		return;
	}
	pr_err("vCPU %d registers:", v->id);
	pr_err(" rip %016llx rsp %016llx rflags %016llx",
	       r.rip, r.rsp, r.rflags);
	pr_err(" rax %016llx rbx %016llx rcx %016llx rdx %016llx",
	       r.rax, r.rbx, r.rcx, r.rdx);
	pr_err(" rsi %016llx rdi %016llx rbp %016llx r8  %016llx",
	       r.rsi, r.rdi, r.rbp, r.r8);
	pr_err(" cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx efer %llx",
	       s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
	pr_err(" cs %04x base %llx l%u db%u  ss %04x  ds %04x",
	       s.cs.selector, s.cs.base, s.cs.l, s.cs.db, s.ss.selector, s.ds.selector);
	dump_insn_and_events(v, s.cs.base + r.rip);
	/* A page-table root outside guest RAM is state no guest can have
	 * loaded and run with: it was put there under the guest. Seen only
	 * under nested TCG (docs/running.md, "Nested TCG flakes"); the e2e
	 * harness looks for this line. */
	if ((s.cr0 & X86_CR0_PG) && !guest_mem__contains(&v->vm->mem, s.cr3 & ~0xfffULL, 4096))
		pr_err(" cr3 %llx is not guest RAM: this vCPU's state was replaced under the guest",
		       s.cr3);
}
