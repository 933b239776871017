/* vcpu.c — one thread per vCPU: KVM_RUN, then dispatch the exit.
 *
 * Port I/O and MMIO exits go to the buses; reset, shutdown and errors end
 * the VM through vm__request_exit(). To stop a vCPU, vcpu__kick() sets
 * kvm_run.immediate_exit and signals the thread, so a vCPU about to enter
 * KVM_RUN returns at once and one inside it is interrupted (-EINTR).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/arch.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
	(void)sig;  /* only there to interrupt KVM_RUN */
}

int vcpu__setup_signals(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0) {
		pr_err("sigaction: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct vcpu *vcpu__create(struct vm *vm, int id)
{
	struct vcpu *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0) {
		pr_err("KVM_CREATE_VCPU %d: %s", id, strerror(errno));
		free(v);
		return NULL;
	}
	v->run = mmap(NULL, (size_t)vm->vcpu_mmap_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		pr_err("mmap of vCPU %d state: %s", id, strerror(errno));
		close(v->fd);
		free(v);
		return NULL;
	}
	if (kvm_stats__open(&v->kstats, v->fd) < 0)
		pr_debug("vCPU %d: no KVM binary stats (kernel older than 5.14?)", id);
	return v;
}

void vcpu__destroy(struct vcpu *v)
{
	if (!v)
		return;
	kvm_stats__close(&v->kstats);
	if (v->run)
		munmap(v->run, (size_t)v->vm->vcpu_mmap_size);
	close(v->fd);
	free(v);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t size = run->io.size, count = run->io.count;
	uint64_t off = run->io.data_offset;
	uint8_t *data = (uint8_t *)run + off;

	/* KVM fills these, but never trust a length into our own mapping. */
	if (size == 0 || size > 4 || count == 0 ||
	    off + (uint64_t)size * count > (uint64_t)v->vm->vcpu_mmap_size)
		return;
	vcpu__count(&v->exits_io);
	for (uint32_t i = 0; i < count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			bus__write(&v->vm->pio, run->io.port, data, size);
		else
			bus__read(&v->vm->pio, run->io.port, data, size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	vcpu__count(&v->exits_mmio);
	if (run->mmio.is_write)
		bus__write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		bus__read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	default: return "other";
	}
}

/* Returns false when this vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct vm *vm = v->vm;

	vcpu__count(&v->exits_total);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; vmm always has one. */
		vcpu__count(&v->exits_hlt);
		vm__request_exit(vm, 0, "guest halted (vCPU %d)", v->id);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm__request_exit(vm, 0, "guest powered off");
			return false;
		case KVM_SYSTEM_EVENT_RESET:
			vm__request_exit(vm, 0, "guest reboot");
			return false;
		default:
			vm__request_exit(vm, 1, "guest system event %u", run->system_event.type);
			return false;
		}
	case KVM_EXIT_FAIL_ENTRY:
		vcpu__dump(v);
		vm__request_exit(vm, 1, "KVM exit FAIL_ENTRY on vCPU %d (hardware reason 0x%llx)",
				 v->id, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu__dump(v);
		vm__request_exit(vm, 1, "KVM exit INTERNAL_ERROR on vCPU %d (suberror %u)",
				 v->id, run->internal.suberror);
		return false;
	default:
		vcpu__count(&v->exits_other);
		if (arch__handle_exit(v) == 0)
			return true;
		if (!atomic_load(&vm->exiting)) {
			vcpu__dump(v);
			vm__request_exit(vm, 1, "unexpected KVM exit %u (%s) on vCPU %d",
					 run->exit_reason, exit_name(run->exit_reason), v->id);
		}
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char err[256], name[16];
	sigset_t set;

	atomic_store(&v->tid, (int)gettid());
	/* Named from inside: once vmm dropped root (--user) it is not
	 * dumpable, its /proc/self/task/N/comm is root's and only
	 * PR_SET_NAME on itself works. */
	snprintf(name, sizeof(name), "vmm-vcpu%d", v->id);
	pthread_setname_np(pthread_self(), name);
	/* Before the first KVM_RUN: the guest never meets an unfiltered
	 * vCPU thread. */
	if (seccomp__install(SECCOMP_VCPU, err, sizeof(err)) < 0) {
		vm__request_exit(vm, 1, "vCPU %d: %s", v->id, err);
		return NULL;
	}
	/* Only the kick signal may interrupt this thread. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!atomic_load(&vm->exiting)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			vcpu__dump(v);
			vm__request_exit(vm, 1, "KVM_RUN on vCPU %d failed: %s", v->id, strerror(errno));
			break;
		}
		if (!handle_exit(v))
			break;
	}
	return NULL;
}

int vcpu__start(struct vcpu *v)
{
	int err = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (err) {
		pr_err("cannot start vCPU %d: %s", v->id, strerror(err));
		return -1;
	}
	atomic_store(&v->started, 1);
	return 0;
}

void vcpu__kick(struct vcpu *v)
{
	if (!v)
		return;
	v->run->immediate_exit = 1;
	if (atomic_load(&v->started))
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu__join(struct vcpu *v)
{
	if (atomic_load(&v->started)) {
		vcpu__kick(v);
		pthread_join(v->thread, NULL);
		atomic_store(&v->started, 0);
	}
}

void vcpu__dump(struct vcpu *v)
{
	arch__vcpu_dump(v);
}
