/* tap.h — the host side of a virtio-net NIC: a tap from /dev/net/tun opened
 * with a virtio-net header on every frame (IFF_VNET_HDR), the offloads the
 * guest can receive, and a record of what vmm changed on the host so that
 * tap__close undoes exactly that. The same fd can later be handed to
 * /dev/vhost-net.
 *
 * Multiqueue (IFF_MULTI_QUEUE): one fd per queue pair of the NIC, all
 * opened at start; the kernel spreads received flows over the queues that
 * are attached, and tap__set_queues attaches the first n and detaches the
 * rest (TUNSETQUEUE) when the guest changes how many pairs it uses. A
 * detached queue's fd still works for writing and polls quietly; nothing
 * is steered to it. The header size, offloads and send buffer belong to
 * the whole tap, so they are set through queue 0's fd, which is never
 * detached. */
#ifndef DEVICES_TAP_H
#define DEVICES_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAP_DEV_PATH "/dev/net/tun"
#define TAP_DEFAULT_TEMPLATE "vmmtap%d"
#define TAP_MAX_QUEUES 16	/* fds we keep per tap (the kernel allows 256) */

struct tap {
	int fd;			/* queue 0's fd (qfd[0]); -1 when closed */
	int qfd[TAP_MAX_QUEUES];	/* one per queue; -1 past nr_queues */
	unsigned nr_queues;	/* fds open: 1, or N with IFF_MULTI_QUEUE */
	unsigned attached;	/* the first 'attached' queues take packets */
	char ifname[IFNAMSIZ];	/* the kernel's name for it */
	bool created;		/* vmm created it: it vanishes when fd closes */
	int ifindex;
	unsigned vnet_hdr_len;	/* bytes of virtio-net header per frame */
	unsigned offload;	/* TUN_F_* that the kernel accepted */
	/* Host configuration done by netcfg__host_setup, undone on close. */
	bool configured_addr;	/* vmm added addr/prefix to this tap */
	uint32_t addr;		/* host byte order */
	unsigned prefix;
	bool set_master;	/* vmm attached this tap to a bridge */
	bool set_up;		/* vmm set the link administratively up */
	bool kernel_undoes;	/* close() alone undoes it: vmm created the tap
				 * and will lack CAP_NET_ADMIN at exit (--user) */
};

/* Open (or create) tap 'ifname'; NULL or "" lets the kernel pick a
 * "vmmtap%d" name. The fd is O_NONBLOCK|O_CLOEXEC, frames carry a virtio-net
 * header (10 bytes until tap__set_vnet_hdr_len). On error writes one line to
 * 'err', leaves nothing behind and returns -1. */
int tap__open(struct tap *t, const char *ifname, char *err, size_t errlen);
/* The same with 'queues' fds (1..TAP_MAX_QUEUES): more than one opens the
 * tap with IFF_MULTI_QUEUE (an existing tap must be a multiqueue one, and
 * not in another process's use), every queue attached. */
int tap__open_queues(struct tap *t, const char *ifname, unsigned queues, char *err,
		     size_t errlen);

/* Let the first n queues (1..nr_queues) take packets and detach the rest
 * (TUNSETQUEUE); what a detached queue held is dropped by the kernel.
 * Only the queues whose state changes are touched. 0, or -errno (the
 * queues then stay as far as it got: t->attached says). */
int tap__set_queues(struct tap *t, unsigned n);

/* TUNSETVNETHDRSZ: 10 (legacy virtio_net_hdr) or 12 (with num_buffers).
 * Returns 0 or -errno. */
int tap__set_vnet_hdr_len(struct tap *t, unsigned len);

/* TUNSETOFFLOAD with TUN_F_* flags; if the kernel refuses them and TUN_F_UFO
 * was asked for, retries without it (as QEMU does). t->offload records what
 * took. Returns 0 or -errno (then the offloads are unchanged). */
int tap__set_offload(struct tap *t, unsigned tun_flags);

/* The TUN_F_* offloads matching negotiated virtio-net features: what the
 * guest can receive (VIRTIO_NET_F_GUEST_*), mapped as QEMU does. */
unsigned tap__offload_from_guest_features(uint64_t features);

/* The tap's own packet and byte counters, named from the guest's view as
 * struct net_dev_stats is: rx = frames to the guest (the tap's tx_*), tx
 * = frames from the guest (the tap's rx_*). The kernel counts a frame
 * when it is read from or written to the tap, by vmm or by vhost-net
 * alike, so both datapaths are counted the same way. */
struct tap_counts {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
};

/* Read them from /sys/class/net/IFNAME/statistics/ (read-only opens: the
 * control thread's seccomp filter allows them). 0, or -errno (the file
 * is missing, e.g. sysfs from another network namespace, or not a
 * number). */
int tap__read_counts(const char *ifname, struct tap_counts *out);

/* Undo the host configuration recorded in *t and close the fds; a tap that
 * vmm created disappears (with kernel_undoes, the kernel's removal of it
 * is the whole undo). Safe to call again, and after tap__open failed. */
void tap__close(struct tap *t);

#endif
