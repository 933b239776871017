/* guest_runner.c — run a flat real-mode test guest on the vmm core.
 *
 *   guest_runner GUEST.bin
 *
 * Builds a VM exactly as `vmm run` does (memory, irqchip, PIT, UART,
 * i8042, RTC, marker port) but, instead of a kernel, copies GUEST.bin to
 * 0x1000 and starts vCPU 0 in real mode there with %ebx = 0xc0ffee42.
 * The guest's UART output goes to stdout; the exit status is vmm's. */
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define GUEST_LOAD 0x1000
#define GUEST_EBX  0xc0ffee42

static int start_real_mode(struct vcpu *v)
{
	struct kvm_sregs s;
	struct kvm_regs r = { .rflags = 2, .rip = GUEST_LOAD, .rbx = GUEST_EBX, .rsp = 0x8000 };

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	s.cs.selector = 0;
	s.cs.base = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0 || ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct vm_config cfg = {
		.name = "guest-runner", .mem_bytes = 64 * MiB, .nr_cpus = 1,
		.boot_markers = true, .no_console = true,
	};
	struct vm vm;
	uint8_t *img;
	size_t len;
	int status;

	if (argc != 2) {
		fprintf(stderr, "usage: guest_runner GUEST.bin\n");
		return 2;
	}
	if (util__read_file(argv[1], &img, &len, 512 * KiB) < 0) {
		pr_err("cannot read guest '%s'", argv[1]);
		return 2;
	}
	if (vm__init(&vm, &cfg) < 0) {
		vm__destroy(&vm);
		free(img);
		return 1;
	}
	if (guest_mem__write(&vm.mem, GUEST_LOAD, img, len) < 0 ||
	    start_real_mode(vm.vcpu[0]) < 0) {
		pr_err("cannot load the guest");
		vm__destroy(&vm);
		free(img);
		return 1;
	}
	free(img);
	status = vm__run(&vm);
	vm__destroy(&vm);
	return status;
}
