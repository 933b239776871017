/* vhost_net.h — the control path of the in-kernel virtio-net datapath
 * (/dev/vhost-net): open and own the device, choose features, describe guest
 * RAM, hand the RX/TX split rings, their kick/call eventfds and the tap to
 * the kernel, and take them back. The control queue stays in userspace.
 *
 * Every system call goes through a small ops table so unit tests can record
 * and fail the exact sequence of ioctls; vhost_net__sys_ops is the real one.
 */
#ifndef VMM_VHOST_NET_H
#define VMM_VHOST_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vhost.h>

#include "vmm/memory.h"

#define VHOST_NET_DEV_PATH "/dev/vhost-net"
#define VHOST_NET_MAX_QUEUES 2	/* vhost-net has one RX (0) and one TX (1) ring */

/* System-call seam. Each returns a value >= 0 on success or -errno (never
 * -1 with errno): open returns the fd, ioctl its result, close 0. */
struct vhost_net_ops {
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long req, void *arg);
	int (*close)(int fd);
};

extern const struct vhost_net_ops vhost_net__sys_ops;

struct vhost_net {
	const struct vhost_net_ops *ops;   /* NULL: never opened */
	int fd;                            /* -1 when closed */
	uint64_t features;                 /* VHOST_GET_FEATURES */
	uint64_t backend_features;         /* what VHOST_SET_FEATURES was given */
	int nr_queues;                     /* rings attached while running */
	bool running;
};

/* One split ring as the guest driver set it up, in host virtual addresses
 * (already checked to lie in guest RAM by the caller). Array index = vhost
 * ring index (0 RX, 1 TX). */
struct vhost_vring_config {
	uint16_t num;             /* ring size: a power of two, 1..32768 */
	uint16_t last_avail_idx;  /* where the device continues (0 on a fresh ring) */
	uint64_t desc_hva, avail_hva, used_hva;
	int kick_fd;              /* the queue's KVM ioeventfd */
	int call_fd;              /* the eventfd behind the vector's irqfd */
};

/* struct vhost_memory with room for every guest_mem region. */
struct vhost_net_mem_table {
	struct vhost_memory hdr;
	struct vhost_memory_region regions[GUEST_MEM_MAX_REGIONS];
};

/* Open VHOST_NET_DEV_PATH (O_RDWR | O_CLOEXEC), VHOST_SET_OWNER,
 * VHOST_GET_FEATURES into vn->features. 0 or -errno with a one-line reason
 * in err; on failure nothing stays open and vn->fd is -1. */
int vhost_net__open(struct vhost_net *vn, const struct vhost_net_ops *ops,
		    char *err, size_t errlen);

/* Can vhost-net be used here (open + SET_OWNER + GET_FEATURES, then close)?
 * If not, the reason, e.g. for "vhost-net unavailable (WHY): using the
 * userspace datapath". */
bool vhost_net__available(char *why, size_t whylen);

/* Mask to AND into the virtio-net device's feature offer. It clears only
 * bits that vhost implements itself and that 'vhost_features' lacks:
 *   VIRTIO_NET_F_MRG_RXBUF (15)      vhost merges RX buffers
 *   VIRTIO_F_NOTIFY_ON_EMPTY (24)    vhost decides when to signal
 *   VIRTIO_RING_F_INDIRECT_DESC (28) vhost walks the descriptors
 *   VIRTIO_RING_F_EVENT_IDX (29)     vhost reads/writes used_event/avail_event
 *   VIRTIO_F_VERSION_1 (32)          header size and byte order in vhost
 *   VIRTIO_F_RING_PACKED (34), VIRTIO_F_IN_ORDER (35),
 *   VIRTIO_F_ORDER_PLATFORM (36), VIRTIO_F_NOTIFICATION_DATA (38),
 *   VIRTIO_F_RING_RESET (40)         ring format / notification / reset
 *   VIRTIO_NET_F_HASH_REPORT (57)    changes the header vhost sizes
 * and VIRTIO_F_ACCESS_PLATFORM (33) always: with it vhost translates through
 * its IOTLB, which this module does not feed (it gives a memory table).
 * Offload bits (CSUM, GUEST_CSUM, HOST_/GUEST_TSO*, ECN, UFO, USO), MAC,
 * STATUS, CTRL_* and the rest pass: the tap or userspace does them. Bit 27
 * is VHOST_NET_F_VIRTIO_NET_HDR in vhost's answer, not ANY_LAYOUT, and is
 * never looked at. */
uint64_t vhost_net__offer_mask(uint64_t vhost_features);

/* What VHOST_SET_FEATURES gets for the guest's acked features: acked &
 * vhost_features, without VHOST_NET_F_VIRTIO_NET_HDR (the tap carries the
 * 12-byte header: TUNSETVNETHDRSZ 12, vhost passes it through), without
 * VHOST_F_LOG_ALL (no dirty logging) and without VIRTIO_F_ACCESS_PLATFORM
 * (no IOTLB). */
uint64_t vhost_net__backend_features(uint64_t acked, uint64_t vhost_features);

/* Fill 't' with one region per guest RAM region (guest_phys_addr = gpa,
 * memory_size = size, userspace_addr = hva). 0, or -EINVAL if 'mem' has no
 * regions, too many, or an empty/unmapped one. */
int vhost_net__build_mem_table(struct vhost_net_mem_table *t, const struct guest_mem *mem);

/* VHOST_SET_MEM_TABLE from vhost_net__build_mem_table(). 0 or -errno. */
int vhost_net__set_mem_table(struct vhost_net *vn, const struct guest_mem *mem);

/* Hand 'nr_queues' rings (1..VHOST_NET_MAX_QUEUES) and the tap to vhost, in
 * the order that lets vhost size its header from the features before any
 * ring runs: VHOST_SET_FEATURES(vhost_net__backend_features(acked)) ->
 * VHOST_SET_MEM_TABLE -> per ring VHOST_SET_VRING_NUM, _ADDR (flags 0, log
 * 0), _BASE (last_avail_idx), _CALL, _KICK -> per ring VHOST_NET_SET_BACKEND
 * (tap_fd). 'acked' is the guest's negotiated feature set; it must not hold a
 * bit vhost_net__offer_mask() clears (-EINVAL). On failure the rings already
 * attached get VHOST_NET_SET_BACKEND -1 again, err names the call and ring,
 * and -errno is returned. */
int vhost_net__start(struct vhost_net *vn, uint64_t acked, const struct guest_mem *mem,
		     const struct vhost_vring_config *q, int nr_queues, int tap_fd,
		     char *err, size_t errlen);

/* Detach the tap from every running ring (VHOST_NET_SET_BACKEND -1), then
 * VHOST_GET_VRING_BASE for each: last_avail[i] (may be NULL) gets the avail
 * index where ring i stopped, for the userspace datapath or a restart to
 * continue from. 'nr_queues' must match the start. Tries every call even
 * after a failure; 0 or the first -errno (that ring's last_avail unset). */
int vhost_net__stop(struct vhost_net *vn, int nr_queues, uint16_t *last_avail);

/* Point ring 'queue' at another call eventfd (an MSI-X vector change while
 * running; -1 for none). 0 or -errno. */
int vhost_net__set_call(struct vhost_net *vn, int queue, int call_fd);

/* Close the device (the kernel drops rings and backend with it). Safe on a
 * zeroed, failed-to-open or already closed struct. */
void vhost_net__close(struct vhost_net *vn);

#endif
