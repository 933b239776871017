/* vcpu.h — one thread per vCPU running KVM_RUN and dispatching exits. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "vmm/kvm_stats.h"

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	atomic_int started;
	atomic_int tid;            /* kernel thread id, for CPU time (0: not yet) */
	/* Exit counters: written by this vCPU thread only (relaxed stores,
	 * no locked instruction), read by anyone with vcpu__stat(). */
	uint64_t exits_io, exits_mmio, exits_hlt, exits_other, exits_total;
	struct kvm_stats kstats;   /* the kernel's count of all VM exits */
};

/* One writer per counter: a plain load and a relaxed store, which on x86
 * is an ordinary mov, yet never a data race for concurrent readers. */
static inline void vcpu__count(uint64_t *c)
{
	__atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

static inline uint64_t vcpu__stat(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

struct vcpu *vcpu__create(struct vm *vm, int id);
void vcpu__destroy(struct vcpu *v);
int vcpu__start(struct vcpu *v);
/* Make a running vCPU leave KVM_RUN soon (signal + immediate_exit). */
void vcpu__kick(struct vcpu *v);
void vcpu__join(struct vcpu *v);
/* Print registers for a fatal error (one block, on stderr). */
void vcpu__dump(struct vcpu *v);

/* The signal used to kick vCPU threads out of KVM_RUN. */
int vcpu__setup_signals(void);

#endif
