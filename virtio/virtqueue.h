/* virtqueue.h — device side of a virtio 1.x split virtqueue (spec 2.7).
 *
 * Shared by every virtio device model (net, blk, ...). The three rings are
 * located and bounds-checked once at virtqueue__enable(); virtqueue__pop()
 * then turns the next available descriptor chain (direct, or through one
 * indirect table) into iovecs pointing straight into guest RAM, every
 * buffer checked with guest_mem__ptr(). Anything the guest gets wrong marks
 * the queue broken (the device should then set DEVICE_NEEDS_RESET); it
 * never makes the VMM touch memory outside guest RAM.
 *
 * Threading: one thread owns a queue (pop/push/notify); the guest is the
 * only other party, synchronised through the ring's memory barriers.
 */
#ifndef VIRTIO_VIRTQUEUE_H
#define VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <linux/virtio_ring.h>

#include "vmm/memory.h"

#define VQ_MAX_SIZE     32768   /* largest split-ring Queue Size */
#define VQ_MAX_IOV      1024    /* segments in one chain (= UIO_MAXIOV) */
#define VQ_MAX_INDIRECT 32768   /* descriptors in one indirect table */

/* One popped descriptor chain: iov[0, out_num) are device-readable,
 * iov[out_num, out_num + in_num) device-writable. Zero-length descriptors
 * are dropped. The iovecs point into guest RAM and stay valid until the
 * chain is pushed back (the guest may still scribble on them: copy any
 * header out before validating it). */
struct vq_chain {
	uint16_t head;          /* id to hand back to virtqueue__push() */
	unsigned int out_num, in_num;
	uint32_t out_len, in_len;   /* total bytes of each kind */
	struct iovec iov[VQ_MAX_IOV];
};

struct virtqueue {
	const struct guest_mem *mem;
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;        /* host pointers, valid while enabled */
	struct vring_avail *avail;
	struct vring_used *used;
	bool enabled;
	bool event_idx, indirect;       /* negotiated ring features */

	uint16_t last_avail_idx;        /* next avail ring slot to consume */
	uint16_t avail_idx_shadow;      /* last avail->idx read and checked */
	uint16_t used_idx;              /* next used slot (may be unpublished) */
	uint16_t signalled_used;        /* used idx at the last notify check */
	bool signalled_used_valid;
	bool notify_disabled;           /* device is polling: no kicks wanted */

	bool broken;                    /* guest violated the ring protocol */
	const char *err;                /* why enable failed / queue broke */

	uint64_t popped, pushed;        /* chains */
	uint64_t notified, suppressed;  /* should_notify() true / false */
};

/* Validate and map the rings (size a power of two in 1..32768; desc 16-,
 * avail 2-, used 4-byte aligned; each ring, event-idx fields included,
 * wholly in one RAM region). On success the queue starts at index 0 with
 * guest kicks enabled. On failure returns -1, leaves the queue disabled and
 * points vq->err at the reason (not logged: the device knows which queue
 * it is, logs it and sets DEVICE_NEEDS_RESET). */
int virtqueue__enable(struct virtqueue *vq, const struct guest_mem *mem,
		      uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
		      bool event_idx, bool indirect);
/* Back to the disabled, zeroed state (device reset / queue reset). */
void virtqueue__reset(struct virtqueue *vq);

/* Pop the next available chain into *chain. Returns 1 when a chain was
 * popped, 0 when the ring is empty (or the queue is not enabled), -1 when
 * the queue is (or just became) broken: vq->err says why; the first
 * violation is logged once. With event-idx and kicks enabled, finding the
 * ring empty also re-arms avail_event, so a plain "pop until 0" loop never
 * misses a kick. */
int virtqueue__pop(struct virtqueue *vq, struct vq_chain *chain);
/* True when no chain is available (also when disabled or broken). */
bool virtqueue__empty(struct virtqueue *vq);

/* Give back the last n popped chains, not yet filled or pushed, so the
 * next pops return them again (a device that could not use them yet, e.g.
 * the backend was full). Rewinds last_avail_idx only: the chains are still
 * in the ring, so the queue reads as non-empty afterwards (and
 * enable_notify() returns true). n larger than the chains in flight is a
 * device bug: logged and ignored. */
void virtqueue__unpop(struct virtqueue *vq, unsigned int n);

/* Return a chain: fill() writes a used element without publishing it,
 * flush() publishes every filled element at once (release barrier, one
 * used->idx store); push() = fill() + flush(). 'len' is the number of
 * bytes written into the chain's writable buffers. No-ops on a disabled
 * or broken queue. */
void virtqueue__fill(struct virtqueue *vq, uint16_t head, uint32_t len);
void virtqueue__flush(struct virtqueue *vq);
void virtqueue__push(struct virtqueue *vq, uint16_t head, uint32_t len);

/* After flush(): does the driver want a used-buffer notification
 * (interrupt) for what was published since the previous call? Honours
 * used_event with event-idx, VRING_AVAIL_F_NO_INTERRUPT without. False
 * when nothing new was published. */
bool virtqueue__should_notify(struct virtqueue *vq);

/* Suppress guest kicks while the device is busy polling the ring. */
void virtqueue__disable_notify(struct virtqueue *vq);
/* Ask for kicks again, then re-check the ring: returns true if buffers
 * arrived meanwhile (the caller should disable again and keep popping,
 * since the guest may have decided not to kick). */
bool virtqueue__enable_notify(struct virtqueue *vq);

/* Ring position, for handing an enabled queue to vhost and back
 * (VHOST_GET/SET_VRING_BASE). set_last_avail() also resynchronises the
 * used index from used->idx (whoever ran the queue published it there)
 * and makes the next should_notify() answer true. */
uint16_t virtqueue__get_last_avail(const struct virtqueue *vq);
void virtqueue__set_last_avail(struct virtqueue *vq, uint16_t idx);

#endif
