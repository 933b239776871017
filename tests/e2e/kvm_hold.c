/* kvm_hold.c — keep one idle KVM VM (with one vCPU) alive in the nested
 * test host for the whole session.
 *
 * Why: creating the first VM (and destroying the last one) flips static
 * keys in the L1 kernel (KVM's preempt notifiers, the LAPIC
 * "software-disabled" key), and each flip live-patches kernel text with
 * int3 breakpoints (text_poke_bp). Under QEMU's multi-threaded TCG that
 * patching occasionally leaves an L1 CPU looping on a stale int3 forever
 * (seen as a frozen L1 about once in 20-60 L2 boots; NMI backtrace:
 * asm_exc_int3 at __schedule, the preempt-notifier site). Holding one VM
 * keeps those keys enabled, so starting and stopping test VMs patches
 * nothing. The vCPU never runs: no CPU time is used.
 *
 *   kvm_hold &      # runs until killed
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm, vcpu;

	if (kvm < 0) {
		perror("kvm_hold: /dev/kvm");
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		perror("kvm_hold: KVM_CREATE_VM/IRQCHIP");
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);  /* its LAPIC stays sw-disabled */
	if (vcpu < 0) {
		perror("kvm_hold: KVM_CREATE_VCPU");
		return 1;
	}
	printf("kvm_hold: holding one idle VM\n");
	fflush(stdout);
	for (;;)
		pause();
}
