/* blk.c — virtio-blk device: negotiation, config space, the request
 * worker and the requests themselves (spec 5.2).
 *
 * A request chain: the 16-byte header (struct virtio_blk_outhdr) opens
 * the device-readable part; data follows (readable for OUT, DISCARD and
 * WRITE_ZEROES, writable for IN and GET_ID); the status byte is the last
 * writable byte. The header is copied out first (it may span descriptors
 * and the guest may change it); the data iovecs, kept in a per-batch pool,
 * point straight into guest RAM: reads and writes are zero-copy.
 *
 * The worker (one thread per device) sleeps on 'work' with vdev->lock as
 * the mutex. Woken by a kick or DRIVER_OK, it pops up to BLK_BATCH chains
 * with guest kicks disabled, re-enabling them only once the ring reads
 * empty (enable_notify() re-checks: no kick is lost). Marked busy, it runs
 * the batch against the disk without the lock, then retakes it to fill
 * all used entries, flush once and signal at most once. reset() clears
 * 'running' and waits on 'idle' until the batch is published.
 */
#include <endian.h>
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/block/disk.h"
#include "virtio/blk.h"
#include "vmm/iov.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/util.h"

#define BIT(n)           (1ULL << (n))
#define SECTOR           512ULL
#define BLK_HDR_LEN      16          /* struct virtio_blk_outhdr */
#define BLK_BATCH        64          /* chains per worker round */
#define BLK_POOL_IOV     (4 * VQ_MAX_IOV)
#define BLK_SEG_MAX      (VQ_MAX_IOV - 2)   /* data segments: minus header, status */
#define BLK_DWZ_MAX_SEG  256         /* discard / write-zeroes segments */
#define BLK_DWZ_MAX_SECT (1u << 22)  /* 2 GiB per segment */

struct blk_req {
	uint16_t head;
	uint32_t type;
	uint64_t sector;
	volatile uint8_t *status;       /* in guest RAM */
	unsigned int iov_first, iov_cnt;  /* data: bd->pool[first, first + cnt) */
	size_t data_len;
	uint32_t used_len;              /* bytes written into the writable part */
};

struct blk_dev {
	struct virtio_dev vdev;
	struct disk *disk;
	uint64_t capacity;              /* 512-byte sectors */
	uint32_t blk_size;
	uint64_t offer, features;

	pthread_t thread;
	bool started;                   /* the worker exists */
	int ready;                      /* under the lock: 1 filtered and waiting, -1 failed */
	int worker_tid;                 /* atomic: set by the worker; 0 before */
	pthread_cond_t work;            /* worker: kicked / running / stop */
	pthread_cond_t idle;            /* reset: busy went false */
	/* Under vdev->lock: */
	bool running;                   /* DRIVER_OK and not reset */
	bool broken;                    /* NEEDS_RESET: stopped */
	bool kicked;                    /* the ring may hold requests */
	bool busy;                      /* a batch is out of the lock */
	bool stop;                      /* destroy: the worker exits */

	/* The worker's own (the batch is stable while busy). */
	uint64_t batch_features;        /* bd->features when it was popped */
	bool io_err_logged;
	unsigned int npool;
	struct blk_req req[BLK_BATCH];
	struct iovec pool[BLK_POOL_IOV];
	struct vq_chain chain;          /* scratch for pops */

	struct blk_dev_stats stats;
};

static void count(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/* Under vdev->lock: the worker has (maybe) something to do. */
static void wake(struct blk_dev *bd)
{
	bd->kicked = true;
	pthread_cond_signal(&bd->work);
}

/* Under vdev->lock: a guest protocol violation stops the queue. */
static void blk_violation(struct blk_dev *bd, const char *why)
{
	if (bd->broken)
		return;
	bd->broken = true;
	virtio_dev__needs_reset(&bd->vdev, why);
}

/* ---- parsing (worker, under vdev->lock) -------------------------------- */

/* Turn a popped chain into r. 0: done; 1: the pool is too full for it
 * (un-pop and retry next round); -1: protocol violation (*why says). */
static int req_parse(struct blk_dev *bd, const struct vq_chain *ch, struct blk_req *r,
		     const char **why)
{
	struct virtio_blk_outhdr hdr;
	const struct iovec *last;
	struct iovec *dst = &bd->pool[bd->npool];
	int n;

	if (ch->in_len < 1 || ch->out_len < BLK_HDR_LEN) {
		*why = ch->in_len < 1 ? "request without a device-writable status byte" :
					"request shorter than its header";
		return -1;
	}
	if (ch->out_num + ch->in_num > BLK_POOL_IOV - bd->npool)
		return 1;
	iov__to_buf(ch->iov, (int)ch->out_num, 0, &hdr, sizeof(hdr));
	r->head = ch->head;
	r->type = le32toh(hdr.type);
	r->sector = le64toh(hdr.sector);
	r->used_len = 1;
	last = &ch->iov[ch->out_num + ch->in_num - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;

	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID) {
		/* The writable part minus the status byte. */
		r->data_len = ch->in_len - 1;
		n = iov__slice(&ch->iov[ch->out_num], (int)ch->in_num, 0, r->data_len, dst);
	} else {
		/* The readable part after the header. */
		r->data_len = ch->out_len - BLK_HDR_LEN;
		n = iov__slice(ch->iov, (int)ch->out_num, BLK_HDR_LEN, r->data_len, dst);
	}
	r->iov_first = bd->npool;
	r->iov_cnt = (unsigned int)n;
	bd->npool += (unsigned int)n;
	return 0;
}

/* ---- requests (worker, without the lock) -------------------------------- */

static uint8_t io_error(struct blk_dev *bd, const char *what, long rc)
{
	/* -EPERM is the disk layer refusing a write it has already named
	 * in one line of its own (devices/block/disk_raw.c, a probed image). */
	if (rc == -EPERM)
		return VIRTIO_BLK_S_IOERR;
	if (!bd->io_err_logged) {
		bd->io_err_logged = true;
		pr_warn("%s: %s %s failed: %s (later disk errors are only counted)",
			bd->vdev.name, bd->disk->path, what,
			rc < 0 ? strerror((int)-rc) : "short transfer");
	}
	return VIRTIO_BLK_S_IOERR;
}

/* [sector, sector + nsect) inside the disk, without overflow. */
static bool range_ok(const struct blk_dev *bd, uint64_t sector, uint64_t nsect)
{
	return sector <= bd->capacity && nsect <= bd->capacity - sector;
}

static uint8_t do_rw(struct blk_dev *bd, struct blk_req *r, bool write)
{
	const struct iovec *iov = &bd->pool[r->iov_first];
	uint64_t off = r->sector * SECTOR;
	ssize_t n;

	count(write ? &bd->stats.writes : &bd->stats.reads, 1);
	if (write && bd->disk->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (r->data_len % SECTOR || !range_ok(bd, r->sector, r->data_len / SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (!r->data_len)
		return VIRTIO_BLK_S_OK;
	if (write)
		n = bd->disk->ops->pwritev(bd->disk, iov, (int)r->iov_cnt, off);
	else
		n = bd->disk->ops->preadv(bd->disk, iov, (int)r->iov_cnt, off);
	if (n < 0 || (size_t)n != r->data_len)
		return io_error(bd, write ? "write" : "read", (long)n);
	if (write) {
		count(&bd->stats.bytes_written, r->data_len);
	} else {
		count(&bd->stats.bytes_read, r->data_len);
		r->used_len += (uint32_t)r->data_len;
	}
	return VIRTIO_BLK_S_OK;
}

/* DISCARD / WRITE_ZEROES: every segment is checked before any is run. */
static uint8_t do_dwz(struct blk_dev *bd, struct blk_req *r)
{
	struct virtio_blk_discard_write_zeroes seg[BLK_DWZ_MAX_SEG];
	bool discard = r->type == VIRTIO_BLK_T_DISCARD;
	unsigned int nseg = (unsigned int)(r->data_len / sizeof(seg[0]));

	count(discard ? &bd->stats.discards : &bd->stats.write_zeroes, 1);
	if (bd->disk->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (!(bd->batch_features & BIT(discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES)))
		return VIRTIO_BLK_S_UNSUPP;
	if (!r->data_len || r->data_len % sizeof(seg[0]) || nseg > BLK_DWZ_MAX_SEG)
		return VIRTIO_BLK_S_IOERR;
	iov__to_buf(&bd->pool[r->iov_first], (int)r->iov_cnt, 0, seg, r->data_len);
	for (unsigned int i = 0; i < nseg; i++) {
		uint32_t flags = le32toh(seg[i].flags);
		uint32_t nsect = le32toh(seg[i].num_sectors);

		/* Spec 5.2.6.2: unknown flags, or unmap on a discard. */
		if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
		    (discard && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (nsect > BLK_DWZ_MAX_SECT || !range_ok(bd, le64toh(seg[i].sector), nsect))
			return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned int i = 0; i < nseg; i++) {
		uint64_t off = le64toh(seg[i].sector) * SECTOR;
		uint64_t len = (uint64_t)le32toh(seg[i].num_sectors) * SECTOR;
		bool unmap = le32toh(seg[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		int rc;

		if (!len)
			continue;
		rc = discard ? bd->disk->ops->discard(bd->disk, off, len) :
			       bd->disk->ops->write_zeroes(bd->disk, off, len, unmap);
		if (rc < 0)
			return io_error(bd, discard ? "discard" : "write-zeroes", rc);
	}
	return VIRTIO_BLK_S_OK;
}

static void req_run(struct blk_dev *bd, struct blk_req *r)
{
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };
	uint8_t st;
	int rc;

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		st = do_rw(bd, r, r->type == VIRTIO_BLK_T_OUT);
		break;
	case VIRTIO_BLK_T_FLUSH:
		count(&bd->stats.flushes, 1);
		rc = bd->disk->ops->flush ? bd->disk->ops->flush(bd->disk) : 0;
		st = rc < 0 ? io_error(bd, "flush", rc) : VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID:   /* NUL-padded; no NUL at 20 characters */
		count(&bd->stats.get_ids, 1);
		memcpy(id, bd->disk->serial, strnlen(bd->disk->serial, sizeof(id)));
		r->used_len += (uint32_t)iov__from_buf(&bd->pool[r->iov_first], (int)r->iov_cnt, 0,
						       id, MIN(sizeof(id), r->data_len));
		st = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = do_dwz(bd, r);
		break;
	default:
		count(&bd->stats.others, 1);
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (st == VIRTIO_BLK_S_IOERR)
		count(&bd->stats.errors, 1);
	*r->status = st;
}

/* ---- the worker ---------------------------------------------------------- */

/* Pop a batch (under the lock). Leaves 'kicked' set when the ring may
 * still hold requests (kicks then stay disabled). Returns its size. */
static unsigned int collect(struct blk_dev *bd)
{
	struct virtqueue *vq = &bd->vdev.vq[BLK_QUEUE];
	const char *why = NULL;
	unsigned int n = 0;
	int rc;

	bd->npool = 0;
	bd->batch_features = bd->features;
	virtqueue__disable_notify(vq);
	while (n < BLK_BATCH) {
		rc = virtqueue__pop(vq, &bd->chain);
		if (rc < 0) {
			blk_violation(bd, vq->err);
			return 0;
		}
		if (rc == 0) {
			if (!virtqueue__enable_notify(vq))
				return n;
			virtqueue__disable_notify(vq);
			continue;
		}
		rc = req_parse(bd, &bd->chain, &bd->req[n], &why);
		if (rc < 0) {   /* the batch is dropped: the driver must reset */
			blk_violation(bd, why);
			return 0;
		}
		if (rc > 0) {
			virtqueue__unpop(vq, 1);
			break;
		}
		n++;
	}
	bd->kicked = true;
	return n;
}

/* Publish a run batch (under the lock): one flush, at most one interrupt. */
static void complete(struct blk_dev *bd, unsigned int n)
{
	struct virtqueue *vq = &bd->vdev.vq[BLK_QUEUE];
	uint64_t before = vq->notified;

	for (unsigned int i = 0; i < n; i++)
		virtqueue__fill(vq, bd->req[i].head, bd->req[i].used_len);
	virtqueue__flush(vq);
	virtio_dev__signal_queue(&bd->vdev, BLK_QUEUE);
	count(&bd->stats.interrupts, vq->notified - before);
}

static void *worker(void *arg)
{
	struct blk_dev *bd = arg;
	struct virtio_dev *vdev = &bd->vdev;
	char err[256];
	int rc;

	__atomic_store_n(&bd->worker_tid, (int)gettid(), __ATOMIC_RELAXED);
	/* Named from inside: a vmm that dropped root (--user) may no longer
	 * write another thread's /proc comm. */
	pthread_setname_np(pthread_self(), "virtio-blk");
	/* Before the first request: the image's I/O only (vmm/seccomp.h). */
	rc = seccomp__install(SECCOMP_BLK, err, sizeof(err));
	if (rc < 0)
		pr_err("%s: %s: %s", vdev->name, bd->disk->path, err);
	pthread_mutex_lock(&vdev->lock);
	bd->ready = rc < 0 ? -1 : 1;
	pthread_cond_broadcast(&bd->idle);
	if (rc < 0)
		bd->broken = true;      /* never serves a request unfiltered */
	while (!bd->stop && rc == 0) {
		unsigned int n;

		if (!bd->kicked || !bd->running || bd->broken || !vdev->vq[BLK_QUEUE].enabled) {
			pthread_cond_wait(&bd->work, &vdev->lock);
			continue;
		}
		bd->kicked = false;
		n = collect(bd);
		if (!n)
			continue;
		bd->busy = true;
		pthread_mutex_unlock(&vdev->lock);
		for (unsigned int i = 0; i < n; i++)
			req_run(bd, &bd->req[i]);
		pthread_mutex_lock(&vdev->lock);
		if (!bd->stop)
			complete(bd, n);
		bd->busy = false;
		pthread_cond_broadcast(&bd->idle);
	}
	pthread_mutex_unlock(&vdev->lock);
	return NULL;
}

/* Start the worker with every signal blocked (the caller may be a vCPU
 * thread, whose kick signal must not reach it). */
static int start_worker(struct blk_dev *bd)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&bd->thread, NULL, worker, bd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pr_err("%s: cannot start its worker thread: %s", bd->vdev.name, strerror(rc));
		return -1;
	}
	bd->started = true;
	return 0;
}

int blk_dev__start(struct blk_dev *bd)
{
	int ready;

	pthread_mutex_lock(&bd->vdev.lock);
	if (!bd->started && start_worker(bd) < 0) {
		pthread_mutex_unlock(&bd->vdev.lock);
		return -1;
	}
	while (!bd->ready)
		pthread_cond_wait(&bd->idle, &bd->vdev.lock);
	ready = bd->ready;
	pthread_mutex_unlock(&bd->vdev.lock);
	return ready < 0 ? -1 : 0;
}

/* ---- virtio_dev ops (called by the transport under vdev->lock) ------------ */

static uint64_t blk_get_features(struct virtio_dev *vdev)
{
	return ((struct blk_dev *)vdev->priv)->offer;
}

static int blk_set_features(struct virtio_dev *vdev, uint64_t f)
{
	struct blk_dev *bd = vdev->priv;

	if ((f & ~bd->offer) || !(f & BIT(VIRTIO_F_VERSION_1)))
		return -1;
	bd->features = f;
	return 0;
}

static void blk_read_config(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len)
{
	struct blk_dev *bd = vdev->priv;
	struct virtio_blk_config c;

	memset(&c, 0, sizeof(c));
	c.capacity = htole64(bd->capacity);
	c.seg_max = htole32(BLK_SEG_MAX);
	c.blk_size = htole32(bd->blk_size);
	if (bd->offer & BIT(VIRTIO_BLK_F_DISCARD)) {
		c.max_discard_sectors = htole32(BLK_DWZ_MAX_SECT);
		c.max_discard_seg = htole32(BLK_DWZ_MAX_SEG);
		c.discard_sector_alignment = htole32(bd->blk_size / SECTOR);
	}
	if (bd->offer & BIT(VIRTIO_BLK_F_WRITE_ZEROES)) {
		c.max_write_zeroes_sectors = htole32(BLK_DWZ_MAX_SECT);
		c.max_write_zeroes_seg = htole32(BLK_DWZ_MAX_SEG);
		c.write_zeroes_may_unmap = 1;
	}
	memset(data, 0, len);
	if (offset < sizeof(c))
		memcpy(data, (uint8_t *)&c + offset, MIN(len, sizeof(c) - offset));
}

/* CONFIG_WCE is not offered: nothing is driver-writable. */
static void blk_write_config(struct virtio_dev *vdev, uint32_t offset, const void *data,
			     uint32_t len) { }

static int blk_queue_enable(struct virtio_dev *vdev, int q)
{
	struct blk_dev *bd = vdev->priv;

	if (q != BLK_QUEUE)
		return -1;
	if (bd->running)   /* enabled after DRIVER_OK: look at it */
		wake(bd);
	return 0;
}

static void blk_driver_ok(struct virtio_dev *vdev)
{
	struct blk_dev *bd = vdev->priv;

	if (!(bd->features & BIT(VIRTIO_F_VERSION_1))) {
		blk_violation(bd, "DRIVER_OK without accepted features");
		return;
	}
	if (!bd->started && start_worker(bd) < 0) {
		blk_violation(bd, "no worker thread");
		return;
	}
	bd->running = true;
	wake(bd);   /* requests queued before DRIVER_OK got no kick */
}

static void blk_notify(struct virtio_dev *vdev, int q)
{
	struct blk_dev *bd = vdev->priv;

	if (q != BLK_QUEUE)
		return;
	count(&bd->stats.kicks, 1);
	wake(bd);
}

static void blk_reset(struct virtio_dev *vdev)
{
	struct blk_dev *bd = vdev->priv;

	/* Nothing new starts; the batch in flight is published first. */
	bd->running = false;
	while (bd->busy)
		pthread_cond_wait(&bd->idle, &vdev->lock);
	bd->running = false;
	bd->kicked = false;
	bd->broken = false;
	bd->features = 0;
}

static const struct virtio_dev_ops blk_ops = {
	.get_features = blk_get_features,
	.set_features = blk_set_features,
	.read_config = blk_read_config,
	.write_config = blk_write_config,
	.queue_enable = blk_queue_enable,
	.driver_ok = blk_driver_ok,
	.notify = blk_notify,
	.reset = blk_reset,
};

/* ---- lifetime ---------------------------------------------------------- */

static uint64_t make_offer(const struct disk *d)
{
	uint64_t o = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
		     BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_BLK_F_SEG_MAX) |
		     BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH);

	if (d->read_only)
		return o | BIT(VIRTIO_BLK_F_RO);
	if (d->ops->discard)
		o |= BIT(VIRTIO_BLK_F_DISCARD);
	if (d->ops->write_zeroes)
		o |= BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	return o;
}

struct blk_dev *blk_dev__create(const struct blk_dev_config *cfg)
{
	struct blk_dev *bd;
	struct disk *d = cfg->disk;
	uint16_t qs = cfg->queue_size ? cfg->queue_size : BLK_DEFAULT_QUEUE_SIZE;

	if (!d || !d->ops || !d->ops->preadv || !d->ops->pwritev) {
		pr_err("virtio-blk: no usable disk");
		return NULL;
	}
	if (d->size < SECTOR || qs > VQ_MAX_SIZE || (qs & (qs - 1))) {
		pr_err("virtio-blk: %s: bad configuration (size %llu bytes, queue size %u)",
		       d->path, (unsigned long long)d->size, qs);
		return NULL;
	}
	bd = calloc(1, sizeof(*bd));
	if (!bd) {
		pr_err("virtio-blk: out of memory");
		return NULL;
	}
	bd->disk = d;
	bd->capacity = d->size / SECTOR;
	bd->blk_size = d->block_size >= SECTOR && !(d->block_size & (d->block_size - 1)) ?
		       d->block_size : SECTOR;
	bd->offer = make_offer(d);
	bd->vdev = (struct virtio_dev){
		.name = "virtio-blk", .device_id = VIRTIO_ID_BLOCK, .ops = &blk_ops,
		.priv = bd, .nr_queues = BLK_NR_QUEUES, .queue_max_size = qs,
	};
	pthread_cond_init(&bd->work, NULL);
	pthread_cond_init(&bd->idle, NULL);
	return bd;
}

void blk_dev__destroy(struct blk_dev *bd)
{
	if (!bd)
		return;
	if (bd->started) {
		pthread_mutex_lock(&bd->vdev.lock);
		bd->stop = true;
		pthread_cond_broadcast(&bd->work);
		pthread_mutex_unlock(&bd->vdev.lock);
		pthread_join(bd->thread, NULL);
	}
	pthread_cond_destroy(&bd->work);
	pthread_cond_destroy(&bd->idle);
	free(bd);
}

struct virtio_dev *blk_dev__virtio(struct blk_dev *bd)
{
	return &bd->vdev;
}

void blk_dev__stats(struct blk_dev *bd, struct blk_dev_stats *out)
{
	const uint64_t *src = (const uint64_t *)&bd->stats;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	out->needs_reset = __atomic_load_n(&bd->vdev.needs_reset_count, __ATOMIC_RELAXED);
	out->refused_writes = __atomic_load_n(&bd->disk->refused_writes, __ATOMIC_RELAXED);
}

int blk_dev__worker_tid(struct blk_dev *bd)
{
	return __atomic_load_n(&bd->worker_tid, __ATOMIC_RELAXED);
}
