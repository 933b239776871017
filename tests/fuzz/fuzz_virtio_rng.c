/* fuzz_virtio_rng.c — libFuzzer target for the virtio-rng device
 * (virtio/rng.c) over its request queue (virtqueue.c), driven by a
 * hostile driver (fuzz_guest.h): features accepted or refused, the queue
 * enabled before or after DRIVER_OK, kicks, resets, config-space reads
 * and writes, chains of writable buffers (direct or indirect, zero
 * lengths included), chains with a readable buffer, raw descriptors and
 * ring writes. The transport is faked as the virtio-pci one behaves
 * (virtio/pci_common.c), as fuzz_virtio_blk.c does, and so is the I/O
 * loop (tests/common/fake_loop.h): the serve eventfd and the refill
 * timer are dispatched when the input says so (OP_PUMP), or the timer's
 * callback is called while it has not expired (OP_TIMER: a spurious
 * wake-up).
 *
 * What it checks, besides ASan/UBSan: NEEDS_RESET comes from the device
 * at most once per reset; the bytes handed out never exceed what the
 * bucket allows (burst + rate * elapsed); every used entry the device
 * adds names a head inside the ring and a length the chain can hold
 * (at most 8 buffers of 64 KiB with fg_chain, and never more than the
 * bucket); the used index moves only after DRIVER_OK.
 *
 * Input: a set-up byte (rate and burst: the defaults, a slow one, a tiny
 * bucket; queue size), then operations, a byte each: < FG_OP_NR a
 * driver operation on the queue, else one of OP_*. */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <string.h>

#include "tests/common/fake_loop.h"
#include "tests/fuzz/fuzz_guest.h"
#include "tests/fuzz/fuzz_util.h"
#include "virtio/rng.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define F(b) (1ULL << (b))

enum {
	OP_FEATURES = FG_OP_NR, OP_QUEUE, OP_DRIVER_OK, OP_KICK, OP_RESET, OP_CONFIG,
	OP_PUMP, OP_TIMER, OP_NR
};

static const struct { uint64_t rate, burst; } limits[4] = {
	{ 0, 0 },               /* the defaults: 1 MiB/s, 64 KiB */
	{ 1000, 100 },          /* slow: dry at once */
	{ 1000000000, 1 },      /* a one-byte bucket */
	{ 64000, 4096 },
};

static struct fuzz_guest g;
static struct fg_queue q;
static struct loop loop;

/* The transport's view (virtio/pci_common.c), under vdev->lock. */
static struct {
	bool features_ok, driver_ok;
	bool nr_bit;            /* NEEDS_RESET in the device status */
	bool transport_nr;      /* the transport is setting it itself */
	int dev_nr;             /* NEEDS_RESET raised by the device since the reset */
	uint16_t used_seen;     /* used->idx as last checked */
} S;

static void tr_signal(struct virtio_dev *v, int qi) { }
static void tr_config(struct virtio_dev *v) { }
static void tr_needs_reset(struct virtio_dev *v)
{
	if (!S.transport_nr)
		FUZZ_CHECK(++S.dev_nr == 1, "NEEDS_RESET %d times since the reset", S.dev_nr);
	S.nr_bit = true;
}

static const struct virtio_transport_ops tr_ops = {
	.signal_queue = tr_signal, .signal_config = tr_config, .needs_reset = tr_needs_reset,
};

/* The transport's reaction to a status or queue register write. */
static void transport_op(struct virtio_dev *vdev, int op, struct fuzz_in *in)
{
	uint8_t b, cfg[8];

	pthread_mutex_lock(&vdev->lock);
	switch (op) {
	case OP_FEATURES:             /* driver features, then FEATURES_OK */
		fg_features(vdev, in, &S.features_ok);
		break;
	case OP_QUEUE:     /* log2 size (ours or another), then queue_enable = 1 */
		b = fin_u8(in);
		fg_queue_default(&q, 0, (uint16_t)(1u << (b % 9)));
		if (!S.features_ok || vdev->vq[RNG_QUEUE].enabled || q.size > vdev->queue_max_size)
			break;
		if (virtqueue__enable(&vdev->vq[RNG_QUEUE], &g.mem, q.size, q.desc, q.avail, q.used,
				      virtio_dev__has(vdev, VIRTIO_RING_F_EVENT_IDX),
				      virtio_dev__has(vdev, VIRTIO_RING_F_INDIRECT_DESC)) < 0) {
			S.transport_nr = true;
			virtio_dev__needs_reset(vdev, vdev->vq[RNG_QUEUE].err);
			S.transport_nr = false;
		} else if (vdev->ops->queue_enable(vdev, RNG_QUEUE) < 0) {
			virtqueue__reset(&vdev->vq[RNG_QUEUE]);
		}
		break;
	case OP_DRIVER_OK:
		if (!S.driver_ok && S.features_ok) {
			S.driver_ok = true;
			vdev->ops->driver_ok(vdev);
		}
		break;
	case OP_KICK:
		if (S.driver_ok && !S.nr_bit && vdev->vq[RNG_QUEUE].enabled)
			vdev->ops->notify(vdev, RNG_QUEUE);
		break;
	case OP_RESET:
		vdev->ops->reset(vdev);
		virtqueue__reset(&vdev->vq[RNG_QUEUE]);
		vdev->features = 0;
		S.features_ok = S.driver_ok = S.nr_bit = false;
		S.dev_nr = 0;
		break;
	case OP_CONFIG:
		b = fin_u8(in);
		memset(cfg, 0xee, sizeof(cfg));
		if (b & 0x80) {
			vdev->ops->write_config(vdev, b & 0x3f, cfg, (b >> 6 & 1) + 1);
		} else {
			uint32_t len = (uint32_t)(fin_u8(in) % 8) + 1;

			vdev->ops->read_config(vdev, b & 0x3f, cfg, len);
			for (uint32_t i = 0; i < len; i++)
				FUZZ_CHECK(!cfg[i], "config byte %u reads %#x", (b & 0x3f) + i, cfg[i]);
		}
		break;
	}
	pthread_mutex_unlock(&vdev->lock);
}

/* The used entries the device added since the last look (the driver may
 * scribble on the ring itself: only moves while the device is live, and
 * within what the queue has published, are judged). */
static void check_used(struct virtio_dev *vdev, uint64_t burst)
{
	struct virtqueue *vq = &vdev->vq[RNG_QUEUE];
	uint16_t idx;

	if (!vq->enabled) {   /* reset: the next enable starts at 0 */
		S.used_seen = 0;
		return;
	}
	idx = vq->used_idx;   /* the device's own count, not guest memory */
	if (!S.driver_ok)
		FUZZ_CHECK(idx == 0, "%u used entries before DRIVER_OK", idx);
	for (uint16_t i = S.used_seen; i != idx; i++) {
		const struct vring_used_elem *e = fg_ptr(&g, vq->used_gpa + 4 + 8ULL * (i % vq->size), 8);
		uint32_t len;

		if (!e)
			continue;
		len = le32toh(e->len);
		FUZZ_CHECK(le32toh(e->id) < vq->size, "used id %u in a ring of %u",
			   le32toh(e->id), vq->size);
		FUZZ_CHECK(len <= burst && len <= 8u * 65535,
			   "used length %u (burst %llu)", len, (unsigned long long)burst);
	}
	S.used_seen = idx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct rng_dev *rd;
	struct virtio_dev *vdev;
	struct rng_dev_stats st;
	uint8_t setup = fin_u8(&in);
	uint64_t rate = limits[setup & 3].rate, burst = limits[setup & 3].burst;
	uint64_t t0 = util__now_ns(), allowed;

	fg_reset(&g);
	memset(&S, 0, sizeof(S));
	fg_queue_default(&q, 0, 64);
	rd = rng_dev__create(&(struct rng_dev_config){
		.loop = &loop, .rate = rate, .burst = burst,
		.queue_size = (uint16_t)(1u << (4 + ((setup >> 2) & 3))) });
	if (!rd)
		abort();
	rate = rate ? rate : RNG_DEFAULT_RATE;
	burst = burst ? burst : RNG_DEFAULT_BURST;
	vdev = rng_dev__virtio(rd);
	vdev->transport = &tr_ops;
	pthread_mutex_init(&vdev->lock, NULL);
	while (in.n) {
		int op = fin_u8(&in) % OP_NR;

		if (op < FG_OP_NR) {
			fg_driver_op(&g, &q, op, &in);
			continue;
		}
		switch (op) {
		case OP_PUMP: fake_loop_pump(-1, 0, 4); break;
		case OP_TIMER: {
			struct fake_reg *r = NULL;

			/* the first registration is the timer (rng_dev__create) */
			for (int i = 0; i < FAKE_LOOP_MAX && !r; i++)
				if (fake_loop[i].live)
					r = &fake_loop[i];
			if (r)
				r->cb(r->opaque, EPOLLIN);
			break;
		}
		default:
			transport_op(vdev, op, &in);
			break;
		}
		pthread_mutex_lock(&vdev->lock);
		check_used(vdev, burst);
		pthread_mutex_unlock(&vdev->lock);
	}
	rng_dev__stats(rd, &st);
	/* elapsed * rate in 128 bits: a slow run at a fast rate */
	allowed = burst + (uint64_t)((unsigned __int128)(util__now_ns() - t0 + 1000000) * rate /
				     1000000000ULL);
	FUZZ_CHECK(st.bytes <= allowed, "%llu bytes handed out, %llu allowed",
		   (unsigned long long)st.bytes, (unsigned long long)allowed);
	rng_dev__destroy(rd);
	pthread_mutex_destroy(&vdev->lock);
	return 0;
}

/* Bring-up as Linux's virtio_rng does it (one 64-byte buffer at a time,
 * kicked), then bigger and split chains, a readable one and a reset; on
 * each rate set-up. */
static void write_seeds(const char *dir)
{
	static struct fuzz_out o;
	static const uint16_t one[1] = { 64 }, split[3] = { 16, 4000, 0 }, mixed[2] = { 8, 8 };

	for (int s = 0; s < 4; s++) {
		char name[16];

		fout_u8(&o, (uint8_t)s);
		fout_u8(&o, OP_FEATURES);
		fout_le(&o, F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) |
			    F(VIRTIO_RING_F_INDIRECT_DESC), 8);
		fout_u8(&o, 1);
		fout_u8(&o, OP_QUEUE);
		fout_u8(&o, 6);                     /* 64 entries */
		fout_u8(&o, OP_DRIVER_OK);
		for (int k = 0; k < 3; k++) {
			fg_seed_chain(&o, FG_OP_CHAIN, -1, 1, 1, false, one);
			fout_u8(&o, OP_KICK);
		}
		fg_seed_chain(&o, FG_OP_CHAIN, -1, 3, 3, true, split);
		fout_u8(&o, OP_KICK);
		fout_u8(&o, OP_PUMP);
		fout_u8(&o, OP_TIMER);
		fg_seed_chain(&o, FG_OP_CHAIN, -1, 2, 1, false, mixed);   /* readable: reset */
		fout_u8(&o, OP_KICK);
		fout_u8(&o, OP_RESET);
		snprintf(name, sizeof(name), "bringup%d", s);
		fout_save(&o, dir, name);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz__seed_mode(write_seeds);
	log__verbosity = LOG_ERR;   /* guest violations are logged */
	fg_init(&g);
	return 0;
}
