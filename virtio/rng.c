/* rng.c — virtio-rng device: negotiation, the request queue and its
 * token-bucket rate limit (spec 5.4).
 *
 * A request is a chain of device-writable buffers; the device writes as
 * many random bytes as it likes (1 up to their total length) and returns
 * the count as the used length. A chain with a device-readable buffer is
 * a driver bug (the spec's requestq carries only writable buffers): the
 * device stops and asks for a reset, as virtio-blk does with a malformed
 * request.
 *
 * serve() runs on the I/O thread under vdev->lock. It pops at most
 * RNG_BATCH chains per call with guest kicks disabled, fills them, then
 * publishes them with one flush and at most one interrupt. It stops early
 * when:
 *   - the ring is empty: kicks are enabled again (enable_notify re-checks,
 *     so no request is missed);
 *   - the bucket is empty: the chain is un-popped, kicks stay disabled
 *     (the guest need not kick; we come back anyway) and the timerfd is
 *     armed for when RNG_REFILL_MIN bytes (or the whole burst, if smaller)
 *     are back;
 *   - getrandom would block (the host's pool is not initialised yet, on
 *     an early-boot host only): the same, with a fixed RNG_EAGAIN_NS delay;
 *   - the batch is full: the serve eventfd is written so the loop comes
 *     back after the other fds had their turn (a guest that keeps
 *     refilling zero-cost chains cannot pin the I/O thread here).
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "virtio/rng.h"
#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/util.h"

#define BIT(n)          (1ULL << (n))
#define NSEC            1000000000ULL
#define RNG_BATCH       64              /* chains per serve() call */
#define RNG_REFILL_MIN  4096ULL         /* bytes to wait for when dry */
#define RNG_EAGAIN_NS   (100ULL * 1000000ULL)
#define RNG_OFFER       (BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) | \
			 BIT(VIRTIO_RING_F_INDIRECT_DESC))

struct rng_dev {
	struct virtio_dev vdev;
	struct loop *loop;
	int timer_fd;                   /* refill timer (I/O thread arms it) */
	int serve_fd;                   /* eventfd: "look at the ring" */
	uint64_t rate, burst;

	/* Under vdev->lock: */
	uint64_t features;
	bool running;                   /* DRIVER_OK and not reset */
	bool broken;                    /* NEEDS_RESET: stopped */
	bool waiting;                   /* the timer is armed: kicks are moot */
	uint64_t tokens;                /* bytes we may hand out now */
	uint64_t refill_ns;             /* the bucket is full as of this time */

	struct vq_chain chain;          /* scratch for pops */
	struct rng_dev_stats stats;
};

static void count(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

static void rng_violation(struct rng_dev *rd, const char *why)
{
	if (rd->broken)
		return;
	rd->broken = true;
	virtio_dev__needs_reset(&rd->vdev, why);
}

/* Ask the I/O thread to run serve() (any thread; write() is allowed to
 * every seccomp kind). */
static void kick_self(struct rng_dev *rd)
{
	uint64_t one = 1;

	if (write(rd->serve_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("%s: serve eventfd: %s", rd->vdev.name, strerror(errno));
}

/* ---- the token bucket --------------------------------------------------- */

/* Credit the time since refill_ns. refill_ns only advances by the time
 * the credited bytes are worth, so a fraction of a byte is never lost
 * however often this runs (a slow rate polled often still refills). */
static void bucket_refill(struct rng_dev *rd, uint64_t now)
{
	uint64_t add, full_ns = rd->burst * NSEC / rd->rate;

	if (now <= rd->refill_ns)
		return;
	if (now - rd->refill_ns >= full_ns) {
		rd->tokens = rd->burst;
		rd->refill_ns = now;
		return;
	}
	/* < full_ns, so (now - refill_ns) * rate < burst * NSEC: no overflow */
	add = (now - rd->refill_ns) * rd->rate / NSEC;
	if (!add)
		return;
	rd->refill_ns += add * NSEC / rd->rate;
	rd->tokens = MIN(rd->burst, rd->tokens + add);
	if (rd->tokens == rd->burst)
		rd->refill_ns = now;
}

/* Nanoseconds until the bucket holds 'want' bytes (want <= burst). */
static uint64_t bucket_wait_ns(const struct rng_dev *rd, uint64_t want)
{
	uint64_t need = want > rd->tokens ? want - rd->tokens : 0;

	return (need * NSEC + rd->rate - 1) / rd->rate;
}

/* Stop serving until the timer fires in 'ns'. Kicks stay disabled: the
 * timer will look at the ring anyway. */
static void wait_for(struct rng_dev *rd, uint64_t ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(ns / NSEC), .tv_nsec = (long)(ns % NSEC) },
	};

	if (!ns)
		its.it_value.tv_nsec = 1;       /* 0 would disarm it */
	if (timerfd_settime(rd->timer_fd, 0, &its, NULL) < 0) {
		/* Cannot happen with a valid fd; serve on the next kick then. */
		pr_warn("%s: timerfd_settime: %s", rd->vdev.name, strerror(errno));
		virtqueue__enable_notify(&rd->vdev.vq[RNG_QUEUE]);
		return;
	}
	rd->waiting = true;
}

/* ---- requests (I/O thread, under vdev->lock) ----------------------------- */

/* Fill up to 'grant' bytes of the chain's writable buffers. Returns the
 * bytes written, or -EAGAIN when the host's pool is not ready. */
static long fill_chain(struct rng_dev *rd, const struct vq_chain *ch, uint64_t grant)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < ch->in_num && done < grant; i++) {
		const struct iovec *v = &ch->iov[ch->out_num + i];
		uint8_t *p = v->iov_base;
		size_t want = MIN((uint64_t)v->iov_len, grant - done), got = 0;

		while (got < want) {
			ssize_t n = getrandom(p + got, want - got, GRND_NONBLOCK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				if (done + got)
					return (long)(done + got);   /* what we have */
				return -EAGAIN;
			}
			got += (size_t)n;
		}
		done += got;
	}
	return (long)done;
}

/* Publish 'n' filled chains: one flush, at most one interrupt. */
static void publish(struct rng_dev *rd, unsigned int n)
{
	struct virtqueue *vq = &rd->vdev.vq[RNG_QUEUE];
	uint64_t before = vq->notified;

	if (!n)
		return;
	virtqueue__flush(vq);
	virtio_dev__signal_queue(&rd->vdev, RNG_QUEUE);
	count(&rd->stats.interrupts, vq->notified - before);
}

static void serve(struct rng_dev *rd)
{
	struct virtqueue *vq = &rd->vdev.vq[RNG_QUEUE];
	unsigned int n = 0;
	int rc;

	if (!rd->running || rd->broken || rd->waiting || !vq->enabled)
		return;
	bucket_refill(rd, util__now_ns());
	virtqueue__disable_notify(vq);
	for (;;) {
		long got;

		if (n == RNG_BATCH) {   /* come back after the loop's other fds */
			kick_self(rd);
			break;
		}
		rc = virtqueue__pop(vq, &rd->chain);
		if (rc < 0) {
			rng_violation(rd, vq->err);
			return;
		}
		if (rc == 0) {
			if (!virtqueue__enable_notify(vq))
				break;
			virtqueue__disable_notify(vq);
			continue;
		}
		if (rd->chain.out_num) {   /* the batch so far is dropped */
			rng_violation(rd, "request with a device-readable buffer");
			return;
		}
		if (rd->chain.in_len && !rd->tokens) {
			virtqueue__unpop(vq, 1);
			count(&rd->stats.throttled, 1);
			wait_for(rd, bucket_wait_ns(rd, MIN(rd->burst, RNG_REFILL_MIN)));
			break;
		}
		got = fill_chain(rd, &rd->chain, MIN((uint64_t)rd->chain.in_len, rd->tokens));
		if (got == -EAGAIN) {
			virtqueue__unpop(vq, 1);
			count(&rd->stats.entropy_waits, 1);
			wait_for(rd, RNG_EAGAIN_NS);
			break;
		}
		rd->tokens -= (uint64_t)got;
		virtqueue__fill(vq, rd->chain.head, (uint32_t)got);
		count(&rd->stats.requests, 1);
		count(&rd->stats.bytes, (uint64_t)got);
		n++;
	}
	publish(rd, n);
}

/* ---- loop callbacks (I/O thread) ----------------------------------------- */

static void on_timer(void *opaque, uint32_t events)
{
	struct rng_dev *rd = opaque;
	uint64_t v;

	if (read(rd->timer_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&rd->vdev.lock);
	rd->waiting = false;
	serve(rd);
	pthread_mutex_unlock(&rd->vdev.lock);
}

static void on_serve(void *opaque, uint32_t events)
{
	struct rng_dev *rd = opaque;
	uint64_t v;

	if (read(rd->serve_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&rd->vdev.lock);
	serve(rd);
	pthread_mutex_unlock(&rd->vdev.lock);
}

/* ---- virtio_dev ops (called by the transport under vdev->lock) ------------ */

static uint64_t rng_get_features(struct virtio_dev *vdev)
{
	return RNG_OFFER;
}

static int rng_set_features(struct virtio_dev *vdev, uint64_t f)
{
	struct rng_dev *rd = vdev->priv;

	if ((f & ~RNG_OFFER) || !(f & BIT(VIRTIO_F_VERSION_1)))
		return -1;
	rd->features = f;
	return 0;
}

/* virtio-rng has no configuration space: reads are zeroes. */
static void rng_read_config(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len)
{
	memset(data, 0, len);
}

static void rng_write_config(struct virtio_dev *vdev, uint32_t offset, const void *data,
			     uint32_t len) { }

static int rng_queue_enable(struct virtio_dev *vdev, int q)
{
	struct rng_dev *rd = vdev->priv;

	if (q != RNG_QUEUE)
		return -1;
	if (rd->running)   /* enabled after DRIVER_OK: look at it */
		kick_self(rd);
	return 0;
}

static void rng_driver_ok(struct virtio_dev *vdev)
{
	struct rng_dev *rd = vdev->priv;

	if (!(rd->features & BIT(VIRTIO_F_VERSION_1))) {
		rng_violation(rd, "DRIVER_OK without accepted features");
		return;
	}
	rd->running = true;
	kick_self(rd);   /* requests queued before DRIVER_OK got no kick */
}

/* The I/O thread, from the queue's doorbell. */
static void rng_notify(struct virtio_dev *vdev, int q)
{
	struct rng_dev *rd = vdev->priv;

	if (q != RNG_QUEUE)
		return;
	count(&rd->stats.kicks, 1);
	serve(rd);
}

/* A vCPU thread: the timer is left as it is (timerfd_settime is the I/O
 * thread's); if it fires it finds the device stopped, or serves the next
 * incarnation early, which the bucket still bounds. The bucket is kept:
 * resetting in a loop must not refill it. */
static void rng_reset(struct virtio_dev *vdev)
{
	struct rng_dev *rd = vdev->priv;

	rd->running = false;
	rd->broken = false;
	rd->features = 0;
}

static const struct virtio_dev_ops rng_ops = {
	.get_features = rng_get_features,
	.set_features = rng_set_features,
	.read_config = rng_read_config,
	.write_config = rng_write_config,
	.queue_enable = rng_queue_enable,
	.driver_ok = rng_driver_ok,
	.notify = rng_notify,
	.reset = rng_reset,
};

/* ---- lifetime ---------------------------------------------------------- */

struct rng_dev *rng_dev__create(const struct rng_dev_config *cfg)
{
	struct rng_dev *rd;
	uint16_t qs = cfg->queue_size ? cfg->queue_size : RNG_DEFAULT_QUEUE_SIZE;
	uint64_t rate = cfg->rate ? cfg->rate : RNG_DEFAULT_RATE;
	uint64_t burst = cfg->burst ? cfg->burst : RNG_DEFAULT_BURST;

	/* burst * NSEC must not overflow (bucket_refill) */
	if (!cfg->loop || qs > VQ_MAX_SIZE || (qs & (qs - 1)) || rate > NSEC ||
	    burst > (1ULL << 32)) {
		pr_err("virtio-rng: bad configuration (loop, queue size %u, rate %llu, burst %llu)",
		       qs, (unsigned long long)rate, (unsigned long long)burst);
		return NULL;
	}
	rd = calloc(1, sizeof(*rd));
	if (!rd) {
		pr_err("virtio-rng: out of memory");
		return NULL;
	}
	rd->loop = cfg->loop;
	rd->rate = rate;
	rd->burst = burst;
	rd->tokens = burst;
	rd->refill_ns = util__now_ns();
	rd->vdev = (struct virtio_dev){
		.name = "virtio-rng", .device_id = VIRTIO_ID_RNG, .ops = &rng_ops,
		.priv = rd, .nr_queues = RNG_NR_QUEUES, .queue_max_size = qs,
	};
	rd->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	rd->serve_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rd->timer_fd < 0 || rd->serve_fd < 0 ||
	    loop__add(rd->loop, rd->timer_fd, EPOLLIN, on_timer, rd) < 0 ||
	    loop__add(rd->loop, rd->serve_fd, EPOLLIN, on_serve, rd) < 0) {
		pr_err("virtio-rng: cannot register with the I/O loop: %s", strerror(errno));
		rng_dev__destroy(rd);
		return NULL;
	}
	return rd;
}

void rng_dev__destroy(struct rng_dev *rd)
{
	if (!rd)
		return;
	if (rd->timer_fd >= 0) {
		loop__del(rd->loop, rd->timer_fd);
		close(rd->timer_fd);
	}
	if (rd->serve_fd >= 0) {
		loop__del(rd->loop, rd->serve_fd);
		close(rd->serve_fd);
	}
	free(rd);
}

struct virtio_dev *rng_dev__virtio(struct rng_dev *rd)
{
	return &rd->vdev;
}

void rng_dev__stats(struct rng_dev *rd, struct rng_dev_stats *out)
{
	const uint64_t *src = (const uint64_t *)&rd->stats;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	out->needs_reset = __atomic_load_n(&rd->vdev.needs_reset_count, __ATOMIC_RELAXED);
}
