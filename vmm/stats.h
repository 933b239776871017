/* stats.h — a point-in-time snapshot of a running VM's counters (what
 * `vmm list` and `vmm stat` show), its JSON form on the control socket,
 * a parser for that JSON on the client side, the human-readable views, and
 * the /proc helpers for the CPU time of vmm's threads and of vhost's
 * kernel worker.
 *
 * The JSON is one object, keys in a fixed order, nesting at most six deep:
 *   {"name":"demo","pid":123,"state":"running","vcpus":2,
 *    "mem_bytes":536870912,"uptime_s":12.345,
 *    "io_thread":{"tid":125,"cpu_s":0.012},
 *    "guest_log":{"lines":..,"suppressed":..},
 *    "vcpu":[{"id":0,"tid":126,"cpu_s":1.5,
 *             "kvm_exits":{"exits":..,"io":..,"mmio":..,"halt":..,"irq":..,
 *                          "irq_window":..,"signal":..},
 *             "user_exits":{"io":..,"mmio":..,"hlt":..,"other":..,"total":..}}],
 *    "nic":[{"index":0,"tap":"tap0","datapath":"vhost-net","switches":..,
 *            "rx_packets":..,"rx_bytes":..,"rx_filtered":..,"rx_dropped":..,
 *            "tx_packets":..,"tx_bytes":..,"tx_dropped":..,"needs_reset":..,
 *            "kicks":{"rx":..,"tx":..,"ctrl":..},
 *            "interrupts":{"rx":..,"tx":..,"ctrl":..},
 *            "vhost_thread":{"tid":..,"cpu_s":..},
 *            "by_datapath":{"userspace":{"rx_packets":..,"rx_bytes":..,
 *                                        "tx_packets":..,"tx_bytes":..},
 *                           "vhost-net":{...}},
 *            "queues":[{"pair":0,"rx_packets":..,"rx_bytes":..,"tx_packets":..,
 *                       "tx_bytes":..,"kicks":{"rx":..,"tx":..},
 *                       "interrupts":{"rx":..,"tx":..},
 *                       "thread":{"tid":..,"cpu_s":..},
 *                       "vhost_thread":{"tid":..,"cpu_s":..}}]}],
 *    "disk":[{"index":0,"dev":"vda","path":"/images/root.qcow2",
 *             "format":"qcow2","read_only":false,"seed":false,
 *             "size_bytes":..,"reads":..,"writes":..,"flushes":..,
 *             "discards":..,"write_zeroes":..,"get_ids":..,"others":..,
 *             "bytes_read":..,"bytes_written":..,"errors":..,"kicks":..,
 *             "interrupts":..,"needs_reset":..,"refused_writes":..,
 *             "worker_thread":{"tid":..,"cpu_s":..}}]}
 * A NIC's "rx_*"/"tx_*" count what vmm's userspace datapath moved (frames
 * to / from the guest); "by_datapath" counts each datapath the same way,
 * from the tap's own counters (virtio/net_dpcount.h), and is left out
 * when those could not be read.
 * "queues" has one entry per queue pair the NIC offers (1 without
 * queues=N): the same userspace counters and the kicks and interrupts
 * vmm saw, per pair. With vhost-net the guest's kicks and vhost's
 * interrupts go through the kernel and bypass vmm: the kick and
 * interrupt counters then only hold what vmm saw while it ran the queues
 * (before a live switch), and the pair's "vhost_thread" is its own
 * worker. A pair's "thread" is vmm's own thread for it, which runs its
 * userspace datapath (idle while vhost runs the pair). The NIC's "vhost_thread" is pair 0's worker.
 * Refused guest actions: "needs_reset" counts a device's protocol
 * violations (bad rings, descriptors, queue set-up), "refused_writes" the
 * writes a probed raw image refused, "guest_log" every message a guest
 * caused and how many the rate limit kept quiet.
 * Counters are unsigned 64-bit integers; times are seconds with three
 * decimals, from 0 to 1e15; a tid of 0 means "no such thread". Strings are escaped JSON:
 * quotes, backslashes and control bytes escaped, bytes that are not valid
 * UTF-8 written as \ufffd (read back as '?'). A disk's "dev" follows from
 * its index (vda, vdb, ...); "seed" marks the generated cloud-init disk;
 * its path is cut to STATS_PATH_MAX - 1 bytes at a character boundary.
 */
#ifndef VMM_STATS_H
#define VMM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "vmm/cli.h"
#include "vmm/disks.h"
#include "vmm/kvm_stats.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/net_dpcount.h"

#define STATS_NAME_MAX   64            /* same bound as --name */
#define STATS_TAP_MAX    16            /* IFNAMSIZ */
#define STATS_MAX_VCPUS  VMM_MAX_CPUS
#define STATS_MAX_NICS   VMM_MAX_NICS
#define STATS_MAX_DISKS  VMM_MAX_BLK   /* the --disk images and the seed */
#define STATS_MAX_QUEUES NET_MAX_PAIRS /* queue pairs per NIC */
#define STATS_PATH_MAX   256           /* a disk's path, NUL included */
#define STATS_FORMAT_MAX 16            /* "raw", "qcow2", "memory" */
/* Enough for STATS_MAX_VCPUS vCPUs, STATS_MAX_NICS NICs of
 * STATS_MAX_QUEUES pairs and STATS_MAX_DISKS disks with every counter at
 * its largest value and every path at its longest with each byte escaped
 * (test_stats checks it: ~65 KB since the per-pair counters). */
#define STATS_JSON_MAX   (96 * 1024)

struct vcpu_snapshot {
	int tid;                          /* 0: thread not started */
	double cpu_s;                     /* user + system time of the thread */
	uint64_t kvm[KVM_STAT_NR];        /* kvm_stats__read() */
	uint64_t exits_io, exits_mmio, exits_hlt, exits_other, exits_total;
};

struct queue_snapshot {
	struct net_queue_stats net;       /* net_dev__queue_stats() */
	int thread_tid;                   /* the pair's own thread (vmm-netNqK,
	                                   * the userspace datapath); 0: none */
	double thread_cpu_s;
	int vhost_tid;                    /* the pair's vhost worker; 0 when none */
	double vhost_cpu_s;
};

struct nic_snapshot {
	int index;                        /* ethN */
	char tap[STATS_TAP_MAX];
	bool vhost;                       /* datapath: vhost-net, else userspace */
	uint64_t switches;                /* live datapath changes (vmm set) */
	struct net_dev_stats net;         /* net_dev__stats() */
	int vhost_tid;                    /* pair 0's vhost worker; 0 when none */
	double vhost_cpu_s;
	/* Per datapath (enum net_datapath), from the tap's counters
	 * (net_tap__datapath_counts); all 0 when not known. */
	bool by_datapath_known;
	struct tap_counts by_datapath[NET_DP_NR];
	int nr_queues;                    /* queue pairs offered (1..STATS_MAX_QUEUES) */
	struct queue_snapshot queue[STATS_MAX_QUEUES];
};

struct disk_snapshot {
	int index;                        /* vda + index */
	char path[STATS_PATH_MAX];        /* stats__set_path() */
	char format[STATS_FORMAT_MAX];
	bool read_only;
	bool seed;                        /* the cloud-init seed (the last disk) */
	uint64_t size_bytes;              /* virtual size */
	struct blk_dev_stats blk;         /* blk_dev__stats() */
	int worker_tid;                   /* blk_dev__worker_tid(); 0 when none */
	double worker_cpu_s;
};

struct vm_snapshot {
	char name[STATS_NAME_MAX + 1];
	int pid;
	char state[16];                   /* "running", "stopping" */
	int nr_vcpus;
	uint64_t mem_bytes;
	double uptime_s;
	int console_client;               /* pid of the attached `vmm console`;
	                                   * 0 none, -1 one of unknown pid */
	int io_tid;
	double io_cpu_s;
	uint64_t guest_log_lines;         /* log__guest_counts() */
	uint64_t guest_log_suppressed;
	struct vcpu_snapshot vcpu[STATS_MAX_VCPUS];
	int nr_nics;
	struct nic_snapshot nic[STATS_MAX_NICS];
	int nr_disks;
	struct disk_snapshot disk[STATS_MAX_DISKS];
};

struct vm;

/* Fill *out from a live VM (vm.c), on a thread that may open /proc and
 * sysfs files read-only: the control thread, which serves the socket.
 * Cheap: it only reads counters that are kept anyway, a few /proc files
 * and each tap's four sysfs counters. */
void vm__snapshot(struct vm *vm, struct vm_snapshot *out);

/* The JSON keys of the kvm_stats counters, in enum kvm_stat_id order. */
extern const char *const stats__kvm_key[KVM_STAT_NR];

/* The JSON keys of a disk's blk counters, in JSON order, and where each
 * lives in struct blk_dev_stats. */
struct stats_blk_key {
	const char *key;
	size_t off;
};
#define STATS_BLK_NR (sizeof(struct blk_dev_stats) / sizeof(uint64_t))
extern const struct stats_blk_key stats__blk_key[STATS_BLK_NR];

const char *stats__datapath(const struct nic_snapshot *n);  /* "vhost-net" / "userspace" */
/* The same names for an enum net_datapath: the keys of "by_datapath". */
extern const char *const stats__datapath_key[NET_DP_NR];
/* The guest's name for disk 'index': "vda".."vdz", else "vd?". */
const char *stats__disk_dev(int index, char buf[4]);
/* Copy 'path' into dst (STATS_PATH_MAX bytes), cut if longer before a
 * UTF-8 sequence that would not fit whole; NULL gives "". */
void stats__set_path(char dst[STATS_PATH_MAX], const char *path);

/* The JSON object above, without a trailing newline, NUL-terminated.
 * Returns its length, or -1 if it does not fit in 'len' bytes. */
int stats__json(const struct vm_snapshot *s, char *buf, size_t len);

/* Parse what stats__json wrote (unknown keys are ignored, missing ones
 * stay 0). Returns 0, or -1 for anything that is not such an object:
 * malformed JSON, nesting deeper than 8, vCPU/NIC/disk/queue arrays that are
 * not arrays of objects or are too long, strings too long for their
 * field, a disk value of the wrong type (a number for "path", a string
 * or number for "read_only"...), a disk index out of range. */
int stats__from_json(const char *json, struct vm_snapshot *out);

/* How long a VM has run, for people: "12.5 s", "3m 07s", "2h 03m 07s",
 * "4d 02h 03m". */
void stats__uptime_str(double secs, char *buf, size_t len);
/* `vmm stat NAME`: several lines, the first with the uptime. */
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
