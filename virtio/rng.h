/* rng.h — the virtio entropy device (virtio 1.x spec 5.4), modern only.
 *
 * One request queue (queue 0) of device-writable buffers, which the
 * device fills with bytes from the host's getrandom(GRND_NONBLOCK): the
 * guest's /dev/hwrng (virtio_rng), which its kernel mixes into its own
 * pool early, so systemd and cloud-init do not wait for entropy.
 *
 * Rate limit: a token bucket of 'burst' bytes refilled at 'rate' bytes a
 * second (QEMU's rng max-bytes/period in other words). Out of tokens, the
 * device stops popping and arms a timerfd on the I/O loop for when a
 * useful amount is back, so a guest asking without pause costs vmm at
 * most 'rate' bytes of getrandom a second, and never a sleeping thread.
 *
 * Threads: requests are served on the I/O thread, under vdev->lock, from
 * the queue's kick (the transport's ioeventfd), the refill timer, or a
 * "serve" eventfd that DRIVER_OK and a late queue enable (vCPU threads,
 * which may not call getrandom under seccomp) write to hand the work over.
 *
 * Usage:
 *	rd = rng_dev__create(&(struct rng_dev_config){ .loop = svc->loop });
 *	vp = virtio_pci__create(svc, rng_dev__virtio(rd));
 *	...
 *	rng_dev__destroy(rd);   (I/O thread stopped, before virtio_pci__free(vp))
 *	virtio_pci__free(vp);
 */
#ifndef VIRTIO_RNG_H
#define VIRTIO_RNG_H

#include <stdint.h>

#include "virtio/virtio.h"

struct loop;

#define RNG_QUEUE              0
#define RNG_NR_QUEUES          1
#define RNG_DEFAULT_QUEUE_SIZE 64
#define RNG_DEFAULT_RATE       (1024 * 1024)   /* bytes per second */
#define RNG_DEFAULT_BURST      (64 * 1024)     /* bytes the bucket holds */

struct rng_dev_config {
	struct loop *loop;          /* the I/O loop: refill timer, serve eventfd */
	uint64_t rate;              /* bytes a second; 0: RNG_DEFAULT_RATE */
	uint64_t burst;             /* bucket size in bytes; 0: RNG_DEFAULT_BURST */
	uint16_t queue_size;        /* 0: RNG_DEFAULT_QUEUE_SIZE */
};

/* Host-side counters; they survive device resets. */
struct rng_dev_stats {
	uint64_t requests;          /* chains completed */
	uint64_t bytes;             /* random bytes handed to the guest */
	uint64_t kicks, interrupts;
	uint64_t throttled;         /* times the bucket ran dry (timer armed) */
	uint64_t entropy_waits;     /* getrandom said EAGAIN (host pool not ready) */
	uint64_t needs_reset;       /* protocol violations, bad rings included */
};

struct rng_dev;

/* NULL on failure (reason printed): no loop, a queue size that is not a
 * power of two, a burst of 0 after defaults, or no timerfd/eventfd. */
struct rng_dev *rng_dev__create(const struct rng_dev_config *cfg);
/* Call with the I/O thread stopped and before the transport is freed.
 * NULL is ignored. */
void rng_dev__destroy(struct rng_dev *rd);
struct virtio_dev *rng_dev__virtio(struct rng_dev *rd);
/* A consistent-enough snapshot, from any thread, without locks. */
void rng_dev__stats(struct rng_dev *rd, struct rng_dev_stats *out);

#endif
