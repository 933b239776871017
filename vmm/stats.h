/* stats.h — a point-in-time snapshot of a running VM's counters (what
 * `vmm list` and `vmm stat` show), its JSON form on the control socket,
 * a parser for that JSON on the client side, the human-readable views, and
 * the /proc helpers for the CPU time of vmm's threads and of vhost's
 * kernel worker.
 *
 * The JSON is one object, keys in a fixed order, nesting at most four deep:
 *   {"name":"demo","pid":123,"state":"running","vcpus":2,
 *    "mem_bytes":536870912,"uptime_s":12.345,
 *    "io_thread":{"tid":125,"cpu_s":0.012},
 *    "vcpu":[{"id":0,"tid":126,"cpu_s":1.5,
 *             "kvm_exits":{"exits":..,"io":..,"mmio":..,"halt":..,"irq":..,
 *                          "irq_window":..,"signal":..},
 *             "user_exits":{"io":..,"mmio":..,"hlt":..,"other":..,"total":..}}],
 *    "nic":[{"index":0,"tap":"tap0","datapath":"vhost-net",
 *            "rx_packets":..,"rx_bytes":..,"rx_filtered":..,"rx_dropped":..,
 *            "tx_packets":..,"tx_bytes":..,"tx_dropped":..,
 *            "kicks":{"rx":..,"tx":..,"ctrl":..},
 *            "interrupts":{"rx":..,"tx":..,"ctrl":..},
 *            "vhost_thread":{"tid":..,"cpu_s":..}}]}
 * Counters are unsigned 64-bit integers; CPU times are seconds with three
 * decimals; a tid of 0 means "no such thread".
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "vmm/cli.h"
#include "vmm/kvm_stats.h"
#include "virtio/net.h"

#define STATS_NAME_MAX   64            /* same bound as --name */
#define STATS_TAP_MAX    16            /* IFNAMSIZ */
#define STATS_MAX_VCPUS  VMM_MAX_CPUS
#define STATS_MAX_NICS   VMM_MAX_NICS
/* Enough for STATS_MAX_VCPUS vCPUs and STATS_MAX_NICS NICs with every
 * counter at its largest value. */
#define STATS_JSON_MAX   (64 * 1024)

struct vcpu_snapshot {
	int tid;                          /* 0: thread not started */
	double cpu_s;                     /* user + system time of the thread */
	uint64_t kvm[KVM_STAT_NR];        /* kvm_stats__read() */
	uint64_t exits_io, exits_mmio, exits_hlt, exits_other, exits_total;
};

struct nic_snapshot {
	int index;                        /* ethN */
	char tap[STATS_TAP_MAX];
	bool vhost;                       /* datapath: vhost-net, else userspace */
	struct net_dev_stats net;         /* net_dev__stats() */
	int vhost_tid;                    /* vhost worker thread; 0 when none */
	double vhost_cpu_s;
};

struct vm_snapshot {
	char name[STATS_NAME_MAX + 1];
	int pid;
	char state[16];                   /* "running", "stopping" */
	int nr_vcpus;
	uint64_t mem_bytes;
	double uptime_s;
	int io_tid;
	double io_cpu_s;
	struct vcpu_snapshot vcpu[STATS_MAX_VCPUS];
	int nr_nics;
	struct nic_snapshot nic[STATS_MAX_NICS];
};

struct vm;

/* Fill *out from a live VM, from any thread (vm.c; the control socket
 * calls it on the I/O thread). Cheap: it only reads counters that are
 * kept anyway and a few /proc files. */
void vm__snapshot(struct vm *vm, struct vm_snapshot *out);

/* The JSON keys of the kvm_stats counters, in enum kvm_stat_id order. */
extern const char *const stats__kvm_key[KVM_STAT_NR];

const char *stats__datapath(const struct nic_snapshot *n);  /* "vhost-net" / "userspace" */

/* The JSON object above, without a trailing newline, NUL-terminated.
 * Returns its length, or -1 if it does not fit in 'len' bytes. */
int stats__json(const struct vm_snapshot *s, char *buf, size_t len);

/* Parse what stats__json wrote (unknown keys are ignored, missing ones
 * stay 0). Returns 0, or -1 for anything that is not such an object:
 * malformed JSON, nesting deeper than 8, vCPU/NIC arrays too long, strings
 * too long for their field. */
int stats__from_json(const char *json, struct vm_snapshot *out);

/* `vmm stat NAME`: several lines. */
void stats__print_human(FILE *f, const struct vm_snapshot *s);
/* `vmm list`: a header line, then one line per VM. */
void stats__print_list_header(FILE *f);
void stats__print_list_row(FILE *f, const struct vm_snapshot *s);

/* CPU time (user + system) of thread 'tid' (of any process: vCPU and I/O
 * threads, or vhost's worker), from /proc/TID/task/TID/stat; -1 if it
 * cannot be read. */
double stats__thread_cpu_s(pid_t tid);
/* The vhost worker threads serving devices owned by thread 'owner' (the
 * one that did VHOST_SET_OWNER): kernel threads named "vhost-OWNER" (up
 * to Linux 6.3) or, from 6.4, threads of this process with that name.
 * Fills up to 'max' tids in ascending order (the order the devices were
 * opened in) and returns how many were found. */
int stats__find_vhost_threads(pid_t owner, pid_t *tids, int max);

#endif
