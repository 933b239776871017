/* fuzz_virtio_blk.c — libFuzzer target for the virtio-blk device
 * (virtio/blk.c) over its request queue (virtqueue.c), driven by a
 * hostile driver (fuzz_guest.h): features accepted or refused, the queue
 * enabled before or after DRIVER_OK, kicks, resets, config-space reads
 * and writes, requests of every type (IN, OUT, FLUSH, GET_ID, DISCARD,
 * WRITE_ZEROES, unknown ones) in any shape (header split or sharing a
 * buffer with the data, the status byte alone or at the end of the last
 * data buffer, direct or indirect), and broken ones: no status byte, a
 * short header, buffers outside RAM or straddling its two regions, raw
 * descriptors and ring writes. The disk is faked in memory (any size up
 * to 2^64 bytes: it keeps the first STORE bytes and reads zeroes past
 * them), read-only or not, with or without discard and write-zeroes, and
 * its next call can fail. The transport is faked as the virtio-pci one
 * behaves (virtio/pci_common.c), as fuzz_virtio_net.c does.
 *
 * The device serves requests on its own worker thread. To stay
 * deterministic the target waits, after every event that wakes the
 * worker (DRIVER_OK, queue enable, kick), until it is asleep again: it
 * sets the queue's notify_disabled itself, as the worker's collect()
 * does first thing, and waits (bounded: a lost kick is a finding) until
 * the worker's virtqueue__enable_notify() cleared it, which it does only
 * once it found the ring empty, and every popped chain was pushed back;
 * or until NEEDS_RESET. A field of the device's own virtqueue serves
 * because the guest cannot write it, unlike anything in guest RAM.
 *
 * What it checks, besides ASan/UBSan: the disk is only called while the
 * device is live (after DRIVER_OK; not after a reset returned nor after
 * NEEDS_RESET), with whole sectors inside the disk and iovecs inside
 * guest RAM; NEEDS_RESET comes at most once per reset; the offer matches
 * the disk; config-space reads agree with one another and read zeroes
 * past the structure, and writes change nothing. Unless the driver wrote
 * ring memory or raw descriptors that could point the device's writes
 * at the rings (S.raw), each round's used entries are checked against a
 * second, read-only virtqueue walking the same ring (the device completes
 * in ring order): the entry names the head of the chain at its position,
 * that chain is a well-formed request, the written length lies within
 * its writable part, and, where no request of the round wrote over its
 * header or status byte, the status is OK, IOERR or UNSUPP and agrees
 * with the request's type, range and written length.
 *
 * Input: a set-up byte (disk size, read-only, discard/write-zeroes,
 * serial, block size, queue size), then operations, a byte each:
 * < FG_OP_NR a driver operation on the queue, else one of OP_*. */
#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "devices/block/disk.h"
#include "tests/fuzz/fuzz_guest.h"
#include "tests/fuzz/fuzz_util.h"
#include "virtio/blk.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define F(b)         (1ULL << (b))
#define SECTOR       512u
#define HDR_LEN      16u
#define STORE        (128u * 1024)            /* bytes the fake disk keeps */
#define CFG_REGION   0x1000u                  /* virtio-pci's device config window */
#define WAIT_NS      (5ULL * 1000000000ULL)
#define MAX_RANGES   2048                     /* writable ranges tracked per round */

enum {
	OP_FEATURES = FG_OP_NR, OP_QUEUE, OP_DRIVER_OK, OP_KICK, OP_RESET, OP_CONFIG,
	OP_REQ, OP_DISK_FAIL, OP_NR
};

static const uint32_t req_types[] = {
	VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID,
	VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES, 0x99,   /* unknown */
};

/* The fake disk (struct disk first: the ops get it back by a cast). */
static struct {
	struct disk d;
	uint8_t *buf;           /* STORE bytes */
	int fail;               /* atomic: the next call fails: 1 EIO, 2 EPERM, 3 short */
} disk;

static struct fuzz_guest g;
static struct fg_queue q;
static struct virtqueue shadow;   /* the driver's read-only walk of the same ring */
static struct vq_chain chain;
static int live;                  /* atomic: the device may call the disk */

/* The transport's view (virtio/pci_common.c), under vdev->lock. */
static struct {
	bool features_ok, driver_ok;
	bool nr_bit;            /* NEEDS_RESET in the device status */
	bool transport_nr;      /* the transport is setting it itself */
	int dev_nr;             /* NEEDS_RESET raised by the device since the reset */
	bool waiting;           /* the worker was woken with work to look at */
	bool raw;               /* device writes may have reached the rings */
	uint16_t checked;       /* used entries checked since the queue was enabled */
	uint64_t offer;
	uint8_t cfg[sizeof(struct virtio_blk_config)];
} S;

/* One request completed in the current round (check_round). */
static struct done {
	uint32_t len, in_len, out_len;
	uint8_t hdr[HDR_LEN];
	const uint8_t *status;
	unsigned hdr_first, hdr_cnt;      /* its header's pieces in R */
} round_req[256];                         /* queues here have at most 256 entries */

/* Byte ranges of the round: header pieces (read by the device) and
 * writable buffers (written by it), with the request they belong to. */
static struct range {
	const uint8_t *p;
	size_t n;
	uint16_t req;
	bool writable;
} R[MAX_RANGES];
static unsigned nr_ranges;
static bool ranges_full;

/* ---- the fake disk ------------------------------------------------------ */

static void disk_called(struct disk *d, uint64_t off, uint64_t len)
{
	FUZZ_CHECK(__atomic_load_n(&live, __ATOMIC_ACQUIRE),
		   "disk called at %llu while the device is not live", (unsigned long long)off);
	FUZZ_CHECK(off % SECTOR == 0 && len % SECTOR == 0 && disk__range_ok(d, off, len),
		   "disk call [%llu, +%llu) on %llu bytes", (unsigned long long)off,
		   (unsigned long long)len, (unsigned long long)d->size);
}

static ssize_t fdisk_io(struct disk *d, const struct iovec *iov, int cnt, uint64_t off, bool wr)
{
	uint64_t total = 0, pos = off;
	int fail;

	FUZZ_CHECK(cnt > 0, "disk I/O with %d iovecs", cnt);
	for (int i = 0; i < cnt; i++) {
		FUZZ_CHECK(fg_in_ram(&g, iov[i].iov_base, iov[i].iov_len),
			   "disk iovec %d (%zu bytes) outside guest RAM", i, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	disk_called(d, off, total);
	fail = __atomic_exchange_n(&disk.fail, 0, __ATOMIC_RELAXED);
	if (fail == 1 || fail == 2)
		return fail == 1 ? -EIO : -EPERM;
	for (int i = 0; i < cnt; i++) {
		uint8_t *p = iov[i].iov_base;
		size_t n = iov[i].iov_len, kept = pos < STORE ? MIN(n, STORE - pos) : 0;

		if (kept && wr)
			memcpy(disk.buf + pos, p, kept);
		else if (kept)
			memcpy(p, disk.buf + pos, kept);
		if (!wr)
			memset(p + kept, 0, n - kept);
		pos += n;
	}
	return (ssize_t)(fail == 3 ? total / 2 : total);
}

static ssize_t fdisk_preadv(struct disk *d, const struct iovec *iov, int cnt, uint64_t off)
{
	return fdisk_io(d, iov, cnt, off, false);
}

static ssize_t fdisk_pwritev(struct disk *d, const struct iovec *iov, int cnt, uint64_t off)
{
	return fdisk_io(d, iov, cnt, off, true);
}

static int fdisk_flush(struct disk *d)
{
	disk_called(d, 0, 0);
	return __atomic_exchange_n(&disk.fail, 0, __ATOMIC_RELAXED) ? -EIO : 0;
}

static int fdisk_zero(struct disk *d, uint64_t off, uint64_t len)
{
	disk_called(d, off, len);
	FUZZ_CHECK(len, "empty discard or write-zeroes at %llu", (unsigned long long)off);
	if (__atomic_exchange_n(&disk.fail, 0, __ATOMIC_RELAXED))
		return -EIO;
	if (off < STORE)
		memset(disk.buf + off, 0, MIN(len, STORE - off));
	return 0;
}

static int fdisk_discard(struct disk *d, uint64_t off, uint64_t len)
{
	return fdisk_zero(d, off, len);
}

static int fdisk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap)
{
	return fdisk_zero(d, off, len);
}

static const struct disk_ops fdisk_full = {
	.preadv = fdisk_preadv, .pwritev = fdisk_pwritev, .flush = fdisk_flush,
	.discard = fdisk_discard, .write_zeroes = fdisk_write_zeroes,
};
static const struct disk_ops fdisk_basic = {
	.preadv = fdisk_preadv, .pwritev = fdisk_pwritev, .flush = fdisk_flush,
};

/* ---- the fake transport ---------------------------------------------------- */

static void tr_signal(struct virtio_dev *v, int qi) { }
static void tr_config(struct virtio_dev *v) { }

/* Under vdev->lock (the worker's collect() or an op we called). */
static void tr_needs_reset(struct virtio_dev *v)
{
	S.nr_bit = true;
	if (S.transport_nr)
		return;
	__atomic_store_n(&live, 0, __ATOMIC_RELEASE);
	S.dev_nr++;
	FUZZ_CHECK(S.dev_nr == 1, "NEEDS_RESET raised %d times since the reset", S.dev_nr);
}

static const struct virtio_transport_ops tr_ops = {
	.signal_queue = tr_signal, .signal_config = tr_config, .needs_reset = tr_needs_reset,
};

/* A violation the transport itself finds (a queue it cannot enable):
 * not the device's NEEDS_RESET, which the device still owes us once. */
static void transport_needs_reset(struct virtio_dev *vdev, const char *why)
{
	S.transport_nr = true;
	virtio_dev__needs_reset(vdev, why);
	S.transport_nr = false;
}

/* ---- waiting for the worker --------------------------------------------------- */

/* Under vdev->lock, before waking the worker: if it will look at the ring,
 * disable kicks for it (its collect() would do the same first thing), so
 * that notify_disabled going false again says it found the ring empty. */
static void plant(struct virtio_dev *vdev)
{
	struct virtqueue *vq = &vdev->vq[BLK_QUEUE];

	S.waiting = S.driver_ok && !S.dev_nr && vq->enabled && !vq->broken;
	if (S.waiting)
		vq->notify_disabled = true;
}

static bool worker_done(struct virtio_dev *vdev)
{
	const struct virtqueue *vq = &vdev->vq[BLK_QUEUE];

	if (!S.waiting || S.dev_nr || !vq->enabled || vq->broken)
		return true;
	return !vq->notify_disabled && vq->popped == vq->pushed;
}

/* Whether [p, p + n) overlaps a writable buffer of the round's requests
 * other than 'skip' (-1: of any). */
static bool written(const uint8_t *p, size_t n, int skip)
{
	for (unsigned i = 0; i < nr_ranges; i++)
		if (R[i].writable && R[i].req != skip && p < R[i].p + R[i].n && R[i].p < p + n)
			return true;
	return false;
}

static void add_range(const void *p, size_t n, unsigned req, bool writable)
{
	if (nr_ranges == MAX_RANGES) {
		ranges_full = true;
		return;
	}
	R[nr_ranges++] = (struct range){ p, n, (uint16_t)req, writable };
}

static bool range_ok(uint64_t sector, uint64_t nsect)
{
	uint64_t cap = disk.d.size / SECTOR;

	return sector <= cap && nsect <= cap - sector;
}

/* What virtio-blk answers to request k of the round, as far as it is
 * still visible: its header and status byte were not overwritten by the
 * round's own writes (which would make what we see not what it saw). */
static void check_semantics(const struct virtio_dev *vdev, unsigned k)
{
	const struct done *r = &round_req[k];
	struct virtio_blk_outhdr h;
	uint32_t data_in = r->in_len - 1, data_out = r->out_len - HDR_LEN;
	uint8_t st;
	bool dwz_ok;

	if (written(r->status, 1, (int)k))
		return;
	st = *r->status;
	FUZZ_CHECK(st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_IOERR || st == VIRTIO_BLK_S_UNSUPP,
		   "request %u: status byte %#x", k, st);
	for (unsigned i = r->hdr_first; i < r->hdr_first + r->hdr_cnt; i++)
		if (written(R[i].p, R[i].n, -1))
			return;
	memcpy(&h, r->hdr, sizeof(h));
	switch (le32toh(h.type)) {
	case VIRTIO_BLK_T_IN:
		if (st == VIRTIO_BLK_S_OK)
			FUZZ_CHECK(r->len == r->in_len && data_in % SECTOR == 0 &&
				   range_ok(le64toh(h.sector), data_in / SECTOR),
				   "read of %u bytes at sector %llu: OK with length %u", data_in,
				   (unsigned long long)le64toh(h.sector), r->len);
		else
			FUZZ_CHECK(r->len == 1 && st == VIRTIO_BLK_S_IOERR,
				   "failed read: status %u, length %u", st, r->len);
		break;
	case VIRTIO_BLK_T_GET_ID:
		FUZZ_CHECK(st == VIRTIO_BLK_S_OK && r->len == 1 + MIN(data_in, VIRTIO_BLK_ID_BYTES),
			   "GET_ID into %u bytes: status %u, length %u", data_in, st, r->len);
		break;
	case VIRTIO_BLK_T_OUT:
		FUZZ_CHECK(r->len == 1, "write: length %u", r->len);
		FUZZ_CHECK(st != VIRTIO_BLK_S_OK || (!disk.d.read_only && data_out % SECTOR == 0 &&
			   range_ok(le64toh(h.sector), data_out / SECTOR)),
			   "write of %u bytes at sector %llu: OK", data_out,
			   (unsigned long long)le64toh(h.sector));
		FUZZ_CHECK(st != VIRTIO_BLK_S_UNSUPP, "write: UNSUPP");
		break;
	case VIRTIO_BLK_T_FLUSH:
		FUZZ_CHECK(r->len == 1 && st != VIRTIO_BLK_S_UNSUPP, "flush: status %u, length %u",
			   st, r->len);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		dwz_ok = virtio_dev__has(vdev, le32toh(h.type) == VIRTIO_BLK_T_DISCARD ?
					 VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES);
		FUZZ_CHECK(r->len == 1, "discard/write-zeroes: length %u", r->len);
		FUZZ_CHECK(disk.d.read_only ? st == VIRTIO_BLK_S_IOERR :
			   dwz_ok || st == VIRTIO_BLK_S_UNSUPP,
			   "discard/write-zeroes (%s, %snegotiated): status %u",
			   disk.d.read_only ? "read-only" : "writable", dwz_ok ? "" : "not ", st);
		break;
	default:
		FUZZ_CHECK(r->len == 1 && st == VIRTIO_BLK_S_UNSUPP,
			   "unknown request type %#x: status %u, length %u", le32toh(h.type), st,
			   r->len);
	}
}

/* Under vdev->lock, the worker asleep: check the used entries it
 * published since the last round against the chains the read-only
 * shadow queue finds at the same ring positions. */
static void check_round(struct virtio_dev *vdev)
{
	struct virtqueue *vq = &vdev->vq[BLK_QUEUE];
	uint16_t n = (uint16_t)(vq->used_idx - S.checked);
	const uint16_t *used_idx;

	if (!vq->enabled || S.raw || !shadow.enabled) {
		S.checked = vq->used_idx;
		return;
	}
	FUZZ_CHECK(n <= vq->size, "%u used entries in one round on a queue of %u", n, vq->size);
	used_idx = fg_ptr(&g, vq->used_gpa + 2, 2);
	FUZZ_CHECK(used_idx && le16toh(*used_idx) == vq->used_idx, "used->idx %u, device at %u",
		   used_idx ? le16toh(*used_idx) : 0, vq->used_idx);
	nr_ranges = 0;
	ranges_full = false;
	for (unsigned k = 0; k < n; k++) {
		uint16_t at = (uint16_t)((S.checked + k) & (vq->size - 1));
		const struct vring_used_elem *e = fg_ptr(&g, vq->used_gpa + 4 + 8ULL * at, 8);
		struct done *r = &round_req[k];
		unsigned last = 0;
		uint32_t hdr = 0;
		int rc = virtqueue__pop(&shadow, &chain);

		FUZZ_CHECK(rc == 1, "used entry %u completes no chain the ring holds (%s)",
			   (uint16_t)(S.checked + k), shadow.err ? shadow.err : "ring empty");
		FUZZ_CHECK(e && le32toh(e->id) == chain.head,
			   "used entry %u names %u, the chain there is %u",
			   (uint16_t)(S.checked + k), e ? le32toh(e->id) : 0, chain.head);
		FUZZ_CHECK(chain.in_len >= 1 && chain.out_len >= HDR_LEN,
			   "completed a request of %u readable and %u writable bytes",
			   chain.out_len, chain.in_len);
		*r = (struct done){ .len = le32toh(e->len), .in_len = chain.in_len,
				    .out_len = chain.out_len, .hdr_first = nr_ranges };
		FUZZ_CHECK(r->len >= 1 && r->len <= r->in_len,
			   "used length %u of a chain with %u writable bytes", r->len, r->in_len);
		for (unsigned i = 0; i < chain.out_num && hdr < HDR_LEN; i++) {
			size_t m = MIN(chain.iov[i].iov_len, HDR_LEN - hdr);

			memcpy(r->hdr + hdr, chain.iov[i].iov_base, m);
			add_range(chain.iov[i].iov_base, m, k, false);
			hdr += (uint32_t)m;
		}
		r->hdr_cnt = nr_ranges - r->hdr_first;
		for (unsigned i = chain.out_num; i < chain.out_num + chain.in_num; i++) {
			add_range(chain.iov[i].iov_base, chain.iov[i].iov_len, k, true);
			last = i;
		}
		r->status = (const uint8_t *)chain.iov[last].iov_base + chain.iov[last].iov_len - 1;
	}
	if (!ranges_full)
		for (unsigned k = 0; k < n; k++)
			check_semantics(vdev, k);
	S.checked = vq->used_idx;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* Wait until the worker went back to sleep (see the top), then check. */
static void wait_idle(struct virtio_dev *vdev)
{
	uint64_t t0 = now_ns();

	for (unsigned spin = 0;; spin++) {
		bool ok;

		pthread_mutex_lock(&vdev->lock);
		ok = worker_done(vdev);
		if (ok) {
			check_round(vdev);
			S.waiting = false;
		}
		pthread_mutex_unlock(&vdev->lock);
		if (ok)
			return;
		if (spin < 64)
			sched_yield();
		else
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
		FUZZ_CHECK(now_ns() - t0 < WAIT_NS, "the worker did not finish a kick in %llu s",
			   WAIT_NS / 1000000000ULL);
	}
}

/* ---- the driver and the transport ------------------------------------------------- */

/* Whether a driver operation may point the device's writes at the rings
 * or descriptor tables (below FG_DATA): a raw write there, or a raw
 * descriptor into that area or to an indirect table the driver did not
 * build. Chains from fg_chain() have their buffers from FG_DATA on. */
static bool touches_rings(int op, const struct fuzz_in *in)
{
	struct fuzz_in p = *in;
	uint64_t addr;

	switch (op) {
	case FG_OP_WRITE:
		return fin_u32(&p) % FG_RAM_END < FG_DATA;
	case FG_OP_DESC:
		fin_u16(&p);
		addr = fin_u32(&p);
		fin_u32(&p);
		return addr < FG_DATA || (fin_u16(&p) & VRING_DESC_F_INDIRECT);
	}
	return false;
}

/* Copy p[0, n) into the device-readable buffers of the chain fg_chain()
 * just wrote (at ring slot 'head', or in 'table' when indirect), and
 * poison its status byte (the last writable one), so that a request the
 * device completes without writing it shows. */
static void fill_chain(uint16_t head, uint64_t table, bool ind, int nseg, const uint8_t *p,
		       size_t n)
{
	size_t done_bytes = 0;
	uint8_t *status = NULL;

	for (int k = 0; k < nseg; k++) {
		uint64_t at = ind ? table + 16ULL * k : q.desc + 16ULL * ((head + k) % q.size);
		const struct vring_desc *d = fg_ptr(&g, at, 16);
		uint64_t addr;
		uint32_t len;

		if (!d)
			return;
		addr = le64toh(d->addr);
		len = le32toh(d->len);
		if (le16toh(d->flags) & VRING_DESC_F_WRITE) {
			if (len)
				status = fg_ptr(&g, addr + len - 1, 1);
			continue;
		}
		for (uint32_t j = 0; j < len && done_bytes < n; j++, done_bytes++) {
			uint8_t *b = fg_ptr(&g, addr + j, 1);

			if (b)
				*b = p[done_bytes];
		}
	}
	if (status)
		*status = 0xee;
}

/* OP_REQ: u8 type (bits 0-2 pick from req_types, bit 6: a u64 sector,
 * bit 7: a raw u32 type), a chain as FG_OP_CHAIN takes it, the sector
 * (u16 or u64), [the raw type], u8 n and n bytes of readable data after
 * the header (DISCARD / WRITE_ZEROES segments, OUT data). */
static void make_request(struct fuzz_in *in)
{
	uint8_t t = fin_u8(in), shape = in->n ? in->p[0] : 0, buf[HDR_LEN + 255];
	uint16_t head = (uint16_t)(q.next_desc % q.size);
	uint64_t table = g.next_ind;
	struct virtio_blk_outhdr h;
	const uint8_t *p;
	size_t n;

	fg_chain(&g, &q, in);
	h.sector = htole64(t & 0x40 ? fin_u64(in) : fin_u16(in));
	h.type = htole32(t & 0x80 ? fin_u32(in) : req_types[(t & 7) % ARRAY_SIZE(req_types)]);
	h.ioprio = 0;
	memcpy(buf, &h, HDR_LEN);
	n = fin_bytes(in, &p, fin_u8(in));
	if (n)
		memcpy(buf + HDR_LEN, p, n);
	fill_chain(head, table, shape & 0x40, (shape & 7) + 1, buf, HDR_LEN + n);
}

/* The device-specific configuration space, read and written as the
 * transport passes it on: inside the 4 KiB window, any width. */
static void config_op(struct virtio_dev *vdev, struct fuzz_in *in)
{
	uint8_t b = fin_u8(in), v[8], now[sizeof(S.cfg)];
	uint32_t off = fin_u16(in) % CFG_REGION, len = MIN((b & 7u) + 1, CFG_REGION - off);

	if (b & 0x80) {
		memset(v, b, sizeof(v));
		vdev->ops->write_config(vdev, off, v, len);
		vdev->ops->read_config(vdev, 0, now, sizeof(now));
		FUZZ_CHECK(!memcmp(now, S.cfg, sizeof(now)),
			   "config space changed by a write at %u", off);
		return;
	}
	memset(v, 0xcc, sizeof(v));
	vdev->ops->read_config(vdev, off, v, len);
	for (uint32_t i = 0; i < len; i++)
		FUZZ_CHECK(v[i] == (off + i < sizeof(S.cfg) ? S.cfg[off + i] : 0),
			   "config byte %u reads %#x", off + i, v[i]);
}

/* The transport's reaction to a register write (virtio/pci_common.c),
 * under vdev->lock as there. Returns whether the worker was woken. */
static bool transport_op(struct virtio_dev *vdev, int op, struct fuzz_in *in)
{
	struct virtqueue *vq = &vdev->vq[BLK_QUEUE];
	bool evidx, ind;
	uint64_t f;
	uint8_t b;

	switch (op) {
	case OP_FEATURES:             /* driver features, then FEATURES_OK */
		f = fin_u64(in);
		if (fin_u8(in) & 1)   /* mostly a subset of the offer */
			f &= S.offer;
		if (S.features_ok || (f & ~S.offer) || vdev->ops->set_features(vdev, f) < 0)
			break;
		FUZZ_CHECK(f & F(VIRTIO_F_VERSION_1), "features %#llx accepted without VERSION_1",
			   (unsigned long long)f);
		vdev->features = f;
		S.features_ok = true;
		break;
	case OP_QUEUE:                /* log2 size; then queue_enable = 1 */
		b = fin_u8(in);
		if (!S.features_ok || vq->enabled)
			break;
		fg_queue_default(&q, BLK_QUEUE, (uint16_t)(1u << (b % 9)));
		/* fresh rings, as a driver allocates them */
		memset(fg_ptr(&g, q.avail, 0x1000), 0, 0x1000);
		memset(fg_ptr(&g, q.used, 0x1000), 0, 0x1000);
		if (q.size > vdev->queue_max_size) {
			transport_needs_reset(vdev, "queue size too large");
			break;
		}
		evidx = virtio_dev__has(vdev, VIRTIO_RING_F_EVENT_IDX);
		ind = virtio_dev__has(vdev, VIRTIO_RING_F_INDIRECT_DESC);
		if (virtqueue__enable(vq, &g.mem, q.size, q.desc, q.avail, q.used, evidx,
				      ind) < 0) {
			transport_needs_reset(vdev, vq->err);
			break;
		}
		/* The shadow only reads: with kicks "disabled" it never
		 * writes avail_event. */
		virtqueue__enable(&shadow, &g.mem, q.size, q.desc, q.avail, q.used, evidx, ind);
		shadow.notify_disabled = true;
		S.checked = 0;
		plant(vdev);
		if (vdev->ops->queue_enable(vdev, BLK_QUEUE) < 0) {
			virtqueue__reset(vq);
			virtqueue__reset(&shadow);
			transport_needs_reset(vdev, "device refused the queue");
		}
		return true;
	case OP_DRIVER_OK:
		if (S.driver_ok)
			break;
		S.driver_ok = true;
		__atomic_store_n(&live, !S.dev_nr, __ATOMIC_RELEASE);
		plant(vdev);
		vdev->ops->driver_ok(vdev);
		return true;
	case OP_KICK:
		if (!S.driver_ok || S.nr_bit || !vq->enabled)
			break;
		plant(vdev);
		vdev->ops->notify(vdev, BLK_QUEUE);
		return true;
	case OP_RESET:    /* waits for a batch in flight: nothing runs after it */
		vdev->ops->reset(vdev);
		virtqueue__reset(vq);
		virtqueue__reset(&shadow);
		vdev->features = 0;
		__atomic_store_n(&live, 0, __ATOMIC_RELEASE);
		S.features_ok = S.driver_ok = S.nr_bit = S.waiting = false;
		S.dev_nr = 0;
		S.checked = 0;
		break;
	case OP_CONFIG:
		config_op(vdev, in);
		break;
	}
	return false;
}

/* The set-up byte: bits 0-1 disk size, 2 read-only, 3 discard and
 * write-zeroes, 4-5 serial, 6 4 KiB blocks, 7 queues of at most 16. */
static struct blk_dev *setup(uint8_t b)
{
	static const uint64_t sizes[4] = { SECTOR, 9 * SECTOR + 300, STORE, UINT64_MAX & ~511ULL };
	static const char *const serials[4] = { "", "vmm-disk-1", "ABCDEFGHIJKLMNOPQRST", "x" };
	struct blk_dev *bd;

	memset(disk.buf, 0, STORE);
	disk.d.ops = b & 8 ? &fdisk_full : &fdisk_basic;
	disk.d.size = sizes[b & 3];
	disk.d.read_only = b & 4;
	disk.d.block_size = b & 0x40 ? 4096 : 512;
	snprintf(disk.d.serial, sizeof(disk.d.serial), "%s", serials[(b >> 4) & 3]);
	disk.fail = 0;
	bd = blk_dev__create(&(struct blk_dev_config){ .disk = &disk.d,
						       .queue_size = b & 0x80 ? 16 : 0 });
	if (!bd)
		abort();
	return bd;
}

/* What the device offers and shows before any driver: it must match the disk. */
static void check_offer(struct virtio_dev *vdev)
{
	struct virtio_blk_config c;
	uint64_t o = vdev->ops->get_features(vdev);
	bool dwz = !disk.d.read_only && disk.d.ops == &fdisk_full;

	FUZZ_CHECK((o & F(VIRTIO_F_VERSION_1)) &&
		   !!(o & F(VIRTIO_BLK_F_RO)) == disk.d.read_only &&
		   !!(o & F(VIRTIO_BLK_F_DISCARD)) == dwz &&
		   !!(o & F(VIRTIO_BLK_F_WRITE_ZEROES)) == dwz,
		   "offer %#llx for a %s disk", (unsigned long long)o,
		   disk.d.read_only ? "read-only" : "writable");
	S.offer = o;
	vdev->ops->read_config(vdev, 0, S.cfg, sizeof(S.cfg));
	memcpy(&c, S.cfg, sizeof(c));
	FUZZ_CHECK(le64toh(c.capacity) == disk.d.size / SECTOR && le32toh(c.blk_size) >= SECTOR &&
		   !(le32toh(c.blk_size) & (le32toh(c.blk_size) - 1)),
		   "capacity %llu, block size %u", (unsigned long long)le64toh(c.capacity),
		   le32toh(c.blk_size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct virtio_dev *vdev;
	struct blk_dev *bd;

	fg_reset(&g);
	memset(&S, 0, sizeof(S));
	virtqueue__reset(&shadow);
	__atomic_store_n(&live, 0, __ATOMIC_RELEASE);
	fg_queue_default(&q, BLK_QUEUE, BLK_DEFAULT_QUEUE_SIZE);
	bd = setup(fin_u8(&in));
	vdev = blk_dev__virtio(bd);
	vdev->transport = &tr_ops;
	pthread_mutex_init(&vdev->lock, NULL);
	check_offer(vdev);
	while (in.n) {
		int op = fin_u8(&in) % OP_NR;
		bool woke;

		if (op < FG_OP_NR) {
			S.raw |= touches_rings(op, &in);
			fg_driver_op(&g, &q, op, &in);
			continue;
		}
		if (op == OP_REQ) {
			make_request(&in);
			continue;
		}
		if (op == OP_DISK_FAIL) {
			__atomic_store_n(&disk.fail, fin_u8(&in) % 4, __ATOMIC_RELAXED);
			continue;
		}
		pthread_mutex_lock(&vdev->lock);
		woke = transport_op(vdev, op, &in);
		pthread_mutex_unlock(&vdev->lock);
		if (woke)
			wait_idle(vdev);
	}
	/* Joins the worker; vdev (and its lock) goes with bd. */
	blk_dev__destroy(bd);
	return 0;
}

/* ---- seeds ------------------------------------------------------------------------ */

/* OP_REQ with a chain of n segments, the last nw writable. */
static void seed_req(struct fuzz_out *o, uint8_t type, int n, int nw, bool ind,
		     const uint16_t *len, uint64_t sector, const void *fill, uint8_t nfill)
{
	fg_seed_chain(o, OP_REQ, type, n, nw, ind, len);   /* the type byte in the queue's place */
	if (type & 0x40)
		fout_le(o, sector, 8);
	else
		fout_le(o, sector, 2);
	fout_u8(o, nfill);
	fout_bytes(o, fill, nfill);
}

/* Features, the queue (256 entries, or 16 for a device of at most 16)
 * and DRIVER_OK, in the order Linux's virtio_blk goes. */
static void seed_up(struct fuzz_out *o, uint8_t setup_byte, uint64_t features)
{
	fout_u8(o, OP_FEATURES);
	fout_le(o, features, 8);
	fout_u8(o, 1);
	fout_u8(o, OP_QUEUE);
	fout_u8(o, setup_byte & 0x80 ? 4 : 8);
	fout_u8(o, OP_DRIVER_OK);
}

static void seed_bringup(struct fuzz_out *o, uint8_t setup_byte, uint64_t features)
{
	fout_u8(o, setup_byte);
	seed_up(o, setup_byte, features);
	fout_u8(o, OP_CONFIG);                   /* capacity, as virtblk_probe reads it */
	fout_u8(o, 7);
	fout_le(o, 0, 2);
}

/* Linux's virtio_blk bring-up, then requests of every type and shape,
 * kicked; broken chains; a reset; on several disks. */
static void write_seeds(const char *dir)
{
	static struct fuzz_out o;
	static const struct {
		uint8_t setup;
		uint64_t features;
	} disks[] = {
		{ 0x0a, F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) |
			F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_BLK_F_SEG_MAX) |
			F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_DISCARD) |
			F(VIRTIO_BLK_F_WRITE_ZEROES) },
		{ 0x1e, F(VIRTIO_F_VERSION_1) | F(VIRTIO_BLK_F_RO) | F(VIRTIO_BLK_F_FLUSH) },
		{ 0xe3, ~0ULL },
		{ 0x29, F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_INDIRECT_DESC) },
	};
	static const uint16_t rd[3] = { 16, 512, 1 }, wr[3] = { 16, 1024, 1 }, fl[2] = { 16, 1 },
		id[3] = { 16, 20, 1 }, split[4] = { 5, 11, 1024, 1 }, shared[2] = { 16, 513 },
		dwz[3] = { 16, 32, 1 }, odd[3] = { 16, 100, 1 }, nostatus[2] = { 16, 512 },
		shorthdr[2] = { 8, 1 };
	struct virtio_blk_discard_write_zeroes seg[2] = {
		{ .sector = htole64(2), .num_sectors = htole32(4) },
		{ .sector = htole64(8), .num_sectors = htole32(1),
		  .flags = htole32(VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) },
	};
	char name[32];

	for (unsigned s = 0; s < ARRAY_SIZE(disks); s++) {
		seed_bringup(&o, disks[s].setup, disks[s].features);
		/* kicked every four requests, for the 16-entry queues */
		seed_req(&o, 0, 3, 2, false, rd, 3, NULL, 0);               /* IN */
		seed_req(&o, 1, 3, 1, false, wr, 10, "\x5a\x5a", 2);        /* OUT */
		seed_req(&o, 2, 2, 1, false, fl, 0, NULL, 0);               /* FLUSH */
		seed_req(&o, 3, 3, 2, false, id, 0, NULL, 0);               /* GET_ID */
		fout_u8(&o, OP_KICK);
		seed_req(&o, 4, 3, 1, false, dwz, 0, seg, sizeof(seg));     /* DISCARD */
		seed_req(&o, 5, 3, 1, false, dwz, 0, seg, sizeof(seg));     /* WRITE_ZEROES */
		seed_req(&o, 6, 3, 1, false, wr, 0, NULL, 0);               /* unknown */
		seed_req(&o, 0, 4, 2, true, split, 5, NULL, 0);             /* indirect, split */
		fout_u8(&o, OP_KICK);
		seed_req(&o, 0, 2, 1, false, shared, 7, NULL, 0);           /* status shared */
		seed_req(&o, 0x40, 3, 2, false, rd, (disks[s].setup & 3) == 3 ?
			 (UINT64_MAX >> 9) - 1 : 2, NULL, 0);                /* near the end */
		seed_req(&o, 0, 3, 2, false, odd, 0, NULL, 0);              /* not whole sectors */
		fout_u8(&o, OP_KICK);
		fout_u8(&o, OP_DISK_FAIL);
		fout_u8(&o, 1);
		seed_req(&o, 1, 3, 1, false, wr, 20, NULL, 0);
		fout_u8(&o, OP_KICK);
		snprintf(name, sizeof(name), "requests%u", s);
		fout_save(&o, dir, name);

		/* broken chains: each one, then a reset and a good request */
		for (int b = 0; b < 3; b++) {
			seed_bringup(&o, disks[s].setup, disks[s].features);
			if (b == 0)
				seed_req(&o, 0, 2, 0, false, nostatus, 0, NULL, 0);
			else if (b == 1)
				seed_req(&o, 0, 2, 1, false, shorthdr, 0, NULL, 0);
			else {            /* a data buffer outside RAM */
				seed_req(&o, 0, 3, 2, false, rd, 0, NULL, 0);
				fout_u8(&o, FG_OP_DESC);
				fout_le(&o, 1, 2);
				fout_le(&o, FG_RAM_END - 8, 4);
				fout_le(&o, 512, 4);
				fout_le(&o, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
				fout_le(&o, 2, 2);
			}
			fout_u8(&o, OP_KICK);
			fout_u8(&o, OP_KICK);
			fout_u8(&o, OP_RESET);
			seed_up(&o, disks[s].setup, disks[s].features);
			seed_req(&o, 0, 3, 2, false, rd, 1, NULL, 0);
			fout_u8(&o, OP_KICK);
			snprintf(name, sizeof(name), "broken%u-%d", s, b);
			fout_save(&o, dir, name);
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz__seed_mode(write_seeds);
	log__verbosity = LOG_ERR;   /* guest violations and disk errors are logged */
	fg_init(&g);
	disk.buf = malloc(STORE);
	disk.d.path = "fuzz-disk";
	disk.d.format = "memory";
	return !disk.buf;
}
