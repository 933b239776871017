/* net_tap.h — a guest NIC on a host tap: the tap (devices/net/tap.c), its
 * host-side configuration (devices/net/netcfg.c), the virtio-net device
 * (virtio/net.c) with the tap as its backend, and the virtio-pci function
 * the guest sees (virtio/pci.c). Two datapaths, chosen per NIC: vmm's
 * own thread per queue pair (readv/writev on the tap), or the kernel's vhost-net, which
 * is given the queues' rings, doorbell and interrupt eventfds and the tap
 * (virtio/vhost_net.c). With queues=N each queue pair has its own tap
 * queue fd and, on vhost, its own /dev/vhost-net (and so its own worker). */
#ifndef VIRTIO_NET_TAP_H
#define VIRTIO_NET_TAP_H

#include <pthread.h>

#include "devices/net/netcfg.h"
#include "devices/net/tap.h"
#include "devices/net/tap_uring.h"
#include "virtio/net_dpcount.h"
#include "virtio/vhost_net.h"
#include "vmm/services.h"

struct net_dev;
struct net_dev_stats;
struct nic_snapshot;
struct virtio_pci;

struct net_tap {
	struct vm_services svc;   /* what the NIC may use of the VM */
	int index;                /* ethN in messages */
	struct tap tap;           /* one queue per pair */
	unsigned pairs;           /* queue pairs: 1..NET_MAX_QUEUE_PAIRS */
	struct net_dev *dev;
	struct virtio_pci *pci;
	uint8_t mac[6];
	bool use_vhost;           /* vhost runs RX/TX (from DRIVER_OK on) */
	/* One per pair, pair i's rings on tap queue i; fd -1: not opened
	 * (--vhost off). vhost_pairs: how many run now (tap_start). */
	struct vhost_net vhost[NET_MAX_QUEUE_PAIRS];
	struct loop *pair_loop[NET_MAX_QUEUE_PAIRS];   /* each pair's thread (vm's loop_set) */
	unsigned vhost_pairs;
	/* Userspace TX, pair i's batches to tap queue i: one io_uring each
	 * (tx_uring: all pairs), or writev() per frame. */
	struct tap_uring txq[NET_MAX_QUEUE_PAIRS];
	bool txq_open, tx_uring;
	unsigned long switches;   /* live datapath changes (net_tap__set_vhost) */
	/* Packets and bytes per datapath, from the tap's counters: read at
	 * creation, at each `vmm set` that changes the datapath and at each
	 * snapshot (both on the control thread, which may open sysfs). */
	pthread_mutex_t count_lock;
	struct net_dpcount counts;
	bool count_warned;        /* a failed read was reported (once) */
};

/* Before KVM is touched: --vhost on needs a usable /dev/vhost-net (one
 * line and -1 if not); auto turns into off with one line saying why. */
int net_tap__check_vhost(struct net_config *cfg, int index);

/* Open or create the tap, configure the host side, and put the NIC on
 * the guest's PCI bus. NULL on failure, with one line printed; nothing
 * is left behind on the host. */
struct net_tap *net_tap__create(const struct vm_services *svc, const struct net_config *cfg,
				int index);
/* vmm is about to drop root (--user USER): what it did to the host must
 * come undone without CAP_NET_ADMIN. A tap it created does (the kernel
 * removes it at close); a reused tap it changed (address, bridge, link
 * up) would stay changed, so that is refused with one line. 0 or -1. */
int net_tap__for_user(struct net_tap *nt, const char *user);
/* The tap fd of queue pair 'pair' (its own tap queue). */
int net_tap__queue_fd(const struct net_tap *nt, unsigned pair);
/* `vmm set NAME --vhost on|off`: move the running NIC's RX and TX to
 * vhost-net or back to vmm's I/O thread, live (net_dev__set_offload).
 * Needs /dev/vhost-net opened at start (--vhost auto or on). One line in
 * msg either way: the datapath now running, or why nothing changed (-1). */
int net_tap__set_vhost(struct net_tap *nt, bool on, char *msg, size_t len);
/* The datapath that runs now: vhost-net, or userspace. */
bool net_tap__vhost_running(struct net_tap *nt);
/* Each datapath's packets and bytes so far (the tap's counters read now,
 * so from a thread that may open files: the control thread). 0, or -1
 * with out[] zeroed when they are not known (the tap's counters could not
 * be read, now or at an earlier switch). */
int net_tap__datapath_counts(struct net_tap *nt, struct tap_counts out[NET_DP_NR]);
/* What `vmm stat` shows of this NIC (vmm/stats.h), read now: tap name,
 * datapath, switches, the device's counters, each queue pair's and the
 * per-datapath tap counters (so from the control thread). The vhost
 * threads are left to the caller, which alone can match vhost-<pid>
 * threads to NICs; returns how many of them this NIC owns: one per pair
 * while its /dev/vhost-net fds are open, else 0. */
int net_tap__snapshot(struct net_tap *nt, struct nic_snapshot *out);
/* The virtio-net device's counters (any thread: relaxed atomics). */
void net_tap__stats(struct net_tap *nt, struct net_dev_stats *out);
/* After the vCPU and I/O threads have stopped. */
void net_tap__destroy(struct net_tap *nt);

#endif
