/* kvm_stats.h — the kernel's own per-vCPU counters (KVM_GET_STATS_FD):
 * every VM exit KVM handled, including the ones that never reach vmm
 * (ioeventfd doorbells, HLT, interrupt windows). */
#ifndef VMM_KVM_STATS_H
#define VMM_KVM_STATS_H

#include <stdint.h>

enum kvm_stat_id {
	KVM_STAT_EXITS,        /* all VM exits */
	KVM_STAT_IO_EXITS,     /* port I/O exits to userspace */
	KVM_STAT_MMIO_EXITS,   /* MMIO exits to userspace */
	KVM_STAT_HALT_EXITS,
	KVM_STAT_IRQ_EXITS,    /* external interrupts */
	KVM_STAT_IRQ_WINDOW_EXITS,
	KVM_STAT_SIGNAL_EXITS,
	KVM_STAT_NR,
};

struct kvm_stats {
	int fd;                        /* -1: not supported by this kernel */
	uint32_t offset[KVM_STAT_NR];  /* file offset of each value; 0: absent */
};

extern const char *const kvm_stats__name[KVM_STAT_NR];

/* Open the binary stats of a vCPU (or VM) fd and find the counters. */
int kvm_stats__open(struct kvm_stats *s, int kvm_object_fd);
/* Read the counters (absent ones read 0). */
void kvm_stats__read(const struct kvm_stats *s, uint64_t val[KVM_STAT_NR]);
void kvm_stats__close(struct kvm_stats *s);
/* Every non-zero counter KVM keeps for this object (exits by reason,
 * window exits, emulated instructions, ...) as "name=value ...", for
 * diagnosing a guest that makes no progress. -1 if unsupported. */
int kvm_stats__dump(const struct kvm_stats *s, char *out, size_t outlen);
/* The formatting part of kvm_stats__dump on a buffer (unit-testable). */
int kvm_stats__format_all(const void *buf, size_t len, char *out, size_t outlen);

/* Parse a stats header + descriptor block already read into memory (the
 * unit-testable part). Returns 0 or -1 if the layout is malformed. */
int kvm_stats__parse(struct kvm_stats *s, const void *buf, size_t len);

#endif
