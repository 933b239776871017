/* test_virtio_blk.c — the virtio-blk device model driven the way a guest
 * driver and the virtio-pci transport would: a request ring built in a
 * malloc'd "guest RAM", a fake transport whose signal_queue/needs_reset
 * wake the test through a condition variable (every wait is bounded), and
 * a memory-backed fake disk that counts its calls, can fail, and can hold
 * a read at a gate (to catch a reset with a request in flight). One test
 * goes through a real raw image opened with disk__open().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "devices/block/disk.h"
#include "tests/unit/guest_ram.h"
#include "virtio/blk.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define RAM_GPA   0x100000ULL
#define RAM_SIZE  (4 * MiB)
#define DESC_OFF  0x0
#define AVAIL_OFF 0x8000
#define USED_OFF  0x10000
#define DATA_OFF  0x20000ULL
#define DISK_SIZE (1 * MiB)
#define SECTORS   (DISK_SIZE / 512)
#define F(b)      (1ULL << (b))
#define WAIT_S    10

static const uint64_t BASE = F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) |
	F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) |
	F(VIRTIO_BLK_F_FLUSH);
static const uint64_t DWZ = F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES);
static const uint64_t NO_EVIDX = ~F(VIRTIO_RING_F_EVENT_IDX);

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct dwz_call {
	uint64_t off, len;
	bool unmap, discard;
};

/* The fake disk (struct disk first: the ops get it back by cast). */
struct mdisk {
	struct disk d;
	uint8_t *buf;
	int preadv_calls, pwritev_calls, flush_calls, dwz_calls;
	struct dwz_call dwz[8];
	int fail;               /* the next I/O call returns this (-errno) */
	bool gate;              /* preadv waits while set (under T.m) */
	int entered;            /* preadv calls that reached the gate */
};

static struct {
	uint8_t *ram;
	struct guest_mem mem;
	struct mdisk md;
	struct blk_dev *bd;
	struct virtio_dev *vdev;
	uint16_t size, next_desc, avail_idx;
	struct vring_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
	uint64_t next_data;
	pthread_mutex_t m;      /* guards what the device thread reports */
	pthread_cond_t cv;
	int signals, needs_reset;
} T;

/* ---- fake transport: every report wakes the test -------------------------- */

static void tr_signal(struct virtio_dev *v, int q)
{
	pthread_mutex_lock(&T.m);
	T.signals++;
	pthread_cond_broadcast(&T.cv);
	pthread_mutex_unlock(&T.m);
}

static void tr_config(struct virtio_dev *v) { }

static void tr_needs_reset(struct virtio_dev *v)
{
	pthread_mutex_lock(&T.m);
	T.needs_reset++;
	pthread_cond_broadcast(&T.cv);
	pthread_mutex_unlock(&T.m);
}

static const struct virtio_transport_ops tr_ops = {
	.signal_queue = tr_signal, .signal_config = tr_config, .needs_reset = tr_needs_reset,
};

/* ---- fake disk --------------------------------------------------------------- */

static struct mdisk *md(struct disk *d) { return (struct mdisk *)d; }

static ssize_t md_io(struct disk *d, const struct iovec *iov, int cnt, uint64_t off, bool wr)
{
	struct mdisk *m = md(d);
	size_t total = 0;
	int fail;

	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	if (!disk__range_ok(d, off, total))
		return -EINVAL;   /* never reached if the device checks first */
	pthread_mutex_lock(&T.m);
	fail = m->fail;
	m->fail = 0;
	if (!wr && m->gate) {
		m->entered++;
		pthread_cond_broadcast(&T.cv);
		while (m->gate)
			pthread_cond_wait(&T.cv, &T.m);
	}
	pthread_mutex_unlock(&T.m);
	if (fail)
		return fail;
	for (int i = 0; i < cnt; i++) {
		if (wr)
			memcpy(m->buf + off, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, m->buf + off, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return (ssize_t)total;
}

static ssize_t md_preadv(struct disk *d, const struct iovec *iov, int cnt, uint64_t off)
{
	__atomic_fetch_add(&md(d)->preadv_calls, 1, __ATOMIC_RELAXED);
	return md_io(d, iov, cnt, off, false);
}

static ssize_t md_pwritev(struct disk *d, const struct iovec *iov, int cnt, uint64_t off)
{
	__atomic_fetch_add(&md(d)->pwritev_calls, 1, __ATOMIC_RELAXED);
	return md_io(d, iov, cnt, off, true);
}

static int md_flush(struct disk *d)
{
	__atomic_fetch_add(&md(d)->flush_calls, 1, __ATOMIC_RELAXED);
	return 0;
}

static int md_dwz(struct disk *d, uint64_t off, uint64_t len, bool unmap, bool discard)
{
	struct mdisk *m = md(d);

	if (!disk__range_ok(d, off, len))
		return -EINVAL;
	if (m->dwz_calls < (int)ARRAY_SIZE(m->dwz))
		m->dwz[m->dwz_calls] = (struct dwz_call){ off, len, unmap, discard };
	m->dwz_calls++;
	memset(m->buf + off, 0, len);
	return 0;
}

static int md_discard(struct disk *d, uint64_t off, uint64_t len)
{
	return md_dwz(d, off, len, true, true);
}

static int md_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap)
{
	return md_dwz(d, off, len, unmap, false);
}

static const struct disk_ops md_full = {
	.preadv = md_preadv, .pwritev = md_pwritev, .flush = md_flush,
	.discard = md_discard, .write_zeroes = md_write_zeroes,
};
static const struct disk_ops md_basic = {
	.preadv = md_preadv, .pwritev = md_pwritev, .flush = md_flush,
};

/* ---- fixture ------------------------------------------------------------------- */

static uint64_t gpa(uint64_t off) { return RAM_GPA + off; }
static void *hva(uint64_t g) { return T.ram + (g - RAM_GPA); }

static void attach(struct disk *d)
{
	T.bd = blk_dev__create(&(struct blk_dev_config){ .disk = d });
	assert_non_null(T.bd);
	T.vdev = blk_dev__virtio(T.bd);
	T.vdev->transport = &tr_ops;
	pthread_mutex_init(&T.vdev->lock, NULL);
}

/* A 1 MiB fake disk with a byte pattern, then the device over it. */
static void fixture(bool read_only, bool dwz, const char *serial)
{
	T.md.d.ops = dwz ? &md_full : &md_basic;
	T.md.d.path = "mem";
	T.md.d.size = DISK_SIZE;
	T.md.d.read_only = read_only;
	T.md.d.block_size = 512;
	snprintf(T.md.d.serial, sizeof(T.md.d.serial), "%s", serial);
	T.md.buf = malloc(DISK_SIZE);
	assert_non_null(T.md.buf);
	for (size_t i = 0; i < DISK_SIZE; i++)
		T.md.buf[i] = (uint8_t)(i * 13 + i / 512);
	attach(&T.md.d);
}

static int setup(void **state)
{
	memset(&T, 0, sizeof(T));
	T.ram = guest_ram_new(&T.mem, RAM_GPA, RAM_SIZE);
	pthread_mutex_init(&T.m, NULL);
	pthread_cond_init(&T.cv, NULL);
	log__verbosity = LOG_ERR;   /* expected violations and I/O errors warn */
	return 0;
}

static int teardown(void **state)
{
	blk_dev__destroy(T.bd);
	free(T.md.buf);
	free(T.ram);
	pthread_cond_destroy(&T.cv);
	pthread_mutex_destroy(&T.m);
	return 0;
}

/* ---- the driver ------------------------------------------------------------------ */

static void dev_reset(void)
{
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->reset(T.vdev);
	virtqueue__reset(&T.vdev->vq[BLK_QUEUE]);
	T.vdev->features = 0;
	pthread_mutex_unlock(&T.vdev->lock);
}

/* Reset, negotiate, set up the queue; DRIVER_OK unless 'ok' is false. */
static void dev_up_ex(uint64_t features, uint16_t qsize, bool ok)
{
	struct virtio_dev *v = T.vdev;

	dev_reset();
	memset(T.ram, 0, DATA_OFF);
	T.next_data = DATA_OFF;
	T.size = qsize;
	T.next_desc = T.avail_idx = 0;
	T.d = hva(gpa(DESC_OFF));
	T.a = hva(gpa(AVAIL_OFF));
	T.u = hva(gpa(USED_OFF));
	pthread_mutex_lock(&v->lock);
	assert_int_equal(v->ops->set_features(v, features), 0);
	v->features = features;
	assert_int_equal(virtqueue__enable(&v->vq[BLK_QUEUE], &T.mem, qsize, gpa(DESC_OFF),
					   gpa(AVAIL_OFF), gpa(USED_OFF),
					   features & F(VIRTIO_RING_F_EVENT_IDX),
					   features & F(VIRTIO_RING_F_INDIRECT_DESC)), 0);
	assert_int_equal(v->ops->queue_enable(v, BLK_QUEUE), 0);
	if (ok)
		v->ops->driver_ok(v);
	pthread_mutex_unlock(&v->lock);
}

static void dev_up(uint64_t features) { dev_up_ex(features, 256, true); }

static void driver_ok(void)
{
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->driver_ok(T.vdev);
	pthread_mutex_unlock(&T.vdev->lock);
}

static uint16_t used_idx(void);

static void kick(void)
{
	/* As a driver with callbacks on: interrupt for the next used entry. */
	T.a->ring[T.size] = htole16(used_idx());
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->notify(T.vdev, BLK_QUEUE);
	pthread_mutex_unlock(&T.vdev->lock);
}

static uint64_t alloc_data(uint32_t len)
{
	uint64_t g = gpa(T.next_data);

	T.next_data += (len + 15) & ~15u;
	assert_true(T.next_data <= RAM_SIZE);
	return g;
}

static void fill_desc(struct vring_desc *d, const struct seg *s, int n, uint16_t first)
{
	for (int k = 0; k < n; k++) {
		d[k].addr = htole64(s[k].gpa);
		d[k].len = htole32(s[k].len);
		d[k].flags = htole16((s[k].write ? VRING_DESC_F_WRITE : 0) |
				     (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		d[k].next = htole16((uint16_t)(first + k + 1));
	}
}

static uint16_t publish(uint16_t head)
{
	T.a->ring[T.avail_idx % T.size] = htole16(head);
	T.avail_idx++;
	__atomic_store_n(&T.a->idx, htole16(T.avail_idx), __ATOMIC_RELEASE);
	return head;
}

/* A direct chain (the ring must not wrap inside it). */
static uint16_t drv_add(const struct seg *s, int n)
{
	uint16_t head = T.next_desc;

	if (head + n > T.size)
		head = 0;
	fill_desc(&T.d[head], s, n, head);
	T.next_desc = (uint16_t)((head + n) % T.size);
	return publish(head);
}

/* One descriptor pointing at an indirect table holding the chain. */
static uint16_t drv_add_indirect(const struct seg *s, int n)
{
	uint64_t tbl = alloc_data((uint32_t)(n * sizeof(struct vring_desc)));
	uint16_t head = T.next_desc;

	fill_desc(hva(tbl), s, n, 0);
	T.d[head] = (struct vring_desc){ .addr = htole64(tbl),
		.len = htole32((uint32_t)(n * sizeof(struct vring_desc))),
		.flags = htole16(VRING_DESC_F_INDIRECT) };
	T.next_desc = (uint16_t)((head + 1) % T.size);
	return publish(head);
}

/* A plain request: header, data (len may be 0), status. */
struct rq {
	uint16_t head;
	uint64_t hdr, data, status;
	uint32_t len;
};

static struct rq mkreq(uint32_t type, uint64_t sector, uint32_t len, bool data_write)
{
	struct rq r = { .len = len };
	struct virtio_blk_outhdr h = { .type = htole32(type), .sector = htole64(sector) };
	struct seg s[3];
	int n = 0;

	r.hdr = alloc_data(sizeof(h));
	memcpy(hva(r.hdr), &h, sizeof(h));
	s[n++] = (struct seg){ r.hdr, sizeof(h), false };
	if (len) {
		r.data = alloc_data(len);
		s[n++] = (struct seg){ r.data, len, data_write };
	}
	r.status = alloc_data(1);
	*(uint8_t *)hva(r.status) = 0xee;
	s[n++] = (struct seg){ r.status, 1, true };
	r.head = drv_add(s, n);
	return r;
}

static uint8_t status_of(const struct rq *r) { return *(volatile uint8_t *)hva(r->status); }
static uint16_t used_idx(void) { return le16toh(__atomic_load_n(&T.u->idx, __ATOMIC_ACQUIRE)); }
static uint32_t used_id(uint16_t i) { return le32toh(T.u->ring[i % T.size].id); }
static uint32_t used_len(uint16_t i) { return le32toh(T.u->ring[i % T.size].len); }

static void deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += WAIT_S;
}

/* Wait (bounded) until the device published n used entries in all. */
static void wait_used(uint16_t n)
{
	struct timespec ts;
	int rc = 0;

	deadline(&ts);
	pthread_mutex_lock(&T.m);
	while ((uint16_t)(used_idx() - n) > 0x8000 && rc == 0)
		rc = pthread_cond_timedwait(&T.cv, &T.m, &ts);
	pthread_mutex_unlock(&T.m);
	assert_int_equal(used_idx(), n);
	/* The worker publishes, signals and counts under vdev->lock: once we
	 * get it, that round is over (counters and signals are final). */
	pthread_mutex_lock(&T.vdev->lock);
	pthread_mutex_unlock(&T.vdev->lock);
}

static void wait_needs_reset(int n)
{
	struct timespec ts;
	int rc = 0;

	deadline(&ts);
	pthread_mutex_lock(&T.m);
	while (T.needs_reset < n && rc == 0)
		rc = pthread_cond_timedwait(&T.cv, &T.m, &ts);
	pthread_mutex_unlock(&T.m);
	assert_int_equal(T.needs_reset, n);
}

static int signals(void)
{
	int s;

	pthread_mutex_lock(&T.m);
	s = T.signals;
	pthread_mutex_unlock(&T.m);
	return s;
}

/* Post one request, kick, wait for it; returns its status. */
static uint8_t run1(struct rq *r)
{
	uint16_t want = (uint16_t)(used_idx() + 1);

	kick();
	wait_used(want);
	assert_int_equal(used_id((uint16_t)(want - 1)), r->head);
	return status_of(r);
}

static struct blk_dev_stats stats(void)
{
	struct blk_dev_stats s;

	blk_dev__stats(T.bd, &s);
	return s;
}

/* ---- negotiation and config space ---------------------------------------------- */

static uint32_t cfg32(uint32_t off)
{
	uint32_t v = 0xdeadbeef;

	T.vdev->ops->read_config(T.vdev, off, &v, 4);
	return le32toh(v);
}

static void test_features_config(void **state)
{
	struct virtio_dev *v;
	uint8_t b[16];
	uint64_t cap;

	fixture(false, true, "");
	v = T.vdev;
	assert_string_equal(v->name, "virtio-blk");
	assert_int_equal(v->device_id, 2);
	assert_int_equal(v->nr_queues, 1);
	assert_int_equal(v->queue_max_size, 256);
	assert_int_equal(v->ops->get_features(v), BASE | DWZ);
	assert_int_equal(v->ops->set_features(v, BASE & ~F(VIRTIO_F_VERSION_1)), -1);
	assert_int_equal(v->ops->set_features(v, BASE | F(VIRTIO_BLK_F_MQ)), -1);
	assert_int_equal(v->ops->set_features(v, F(VIRTIO_F_VERSION_1)), 0);

	/* config: capacity (partial reads too), seg_max, blk_size, discard */
	v->ops->read_config(v, 0, &cap, 8);
	assert_int_equal(le64toh(cap), SECTORS);
	memset(b, 0xee, sizeof(b));
	v->ops->read_config(v, 1, b, 2);
	assert_int_equal(b[0] | b[1] << 8, (SECTORS >> 8) & 0xffff);
	assert_int_equal(cfg32(offsetof(struct virtio_blk_config, seg_max)), VQ_MAX_IOV - 2);
	assert_int_equal(cfg32(offsetof(struct virtio_blk_config, blk_size)), 512);
	assert_true(cfg32(offsetof(struct virtio_blk_config, max_discard_sectors)) >= 8);
	assert_true(cfg32(offsetof(struct virtio_blk_config, max_discard_seg)) >= 1);
	assert_int_equal(cfg32(offsetof(struct virtio_blk_config, discard_sector_alignment)), 1);
	assert_true(cfg32(offsetof(struct virtio_blk_config, max_write_zeroes_seg)) >= 1);
	v->ops->read_config(v, offsetof(struct virtio_blk_config, write_zeroes_may_unmap), b, 1);
	assert_int_equal(b[0], 1);
	/* straddling the end, and beyond: zeroes; writes are ignored */
	memset(b, 0xee, sizeof(b));
	v->ops->read_config(v, sizeof(struct virtio_blk_config) - 2, b, 8);
	for (int i = 2; i < 8; i++)
		assert_int_equal(b[i], 0);
	assert_int_equal(cfg32(0x100), 0);
	v->ops->write_config(v, 0, "\xff\xff\xff\xff", 4);
	v->ops->read_config(v, 0, &cap, 8);
	assert_int_equal(le64toh(cap), SECTORS);
	blk_dev__destroy(T.bd);
	free(T.md.buf);

	/* a disk without discard/write-zeroes; then a read-only one */
	fixture(false, false, "");
	assert_int_equal(T.vdev->ops->get_features(T.vdev), BASE);
	assert_int_equal(cfg32(offsetof(struct virtio_blk_config, max_discard_seg)), 0);
	assert_int_equal(T.vdev->ops->set_features(T.vdev, BASE | DWZ), -1);
	blk_dev__destroy(T.bd);
	free(T.md.buf);
	fixture(true, true, "");
	assert_int_equal(T.vdev->ops->get_features(T.vdev), BASE | F(VIRTIO_BLK_F_RO));
	/* 4 KiB blocks are reported */
	blk_dev__destroy(T.bd);
	T.md.d.block_size = 4096;
	attach(&T.md.d);
	assert_int_equal(cfg32(offsetof(struct virtio_blk_config, blk_size)), 4096);
	/* no disk, a disk under one sector, a bad queue size: refused */
	assert_null(blk_dev__create(&(struct blk_dev_config){ 0 }));
	T.md.d.size = 100;
	assert_null(blk_dev__create(&(struct blk_dev_config){ .disk = &T.md.d }));
	T.md.d.size = DISK_SIZE;
	assert_null(blk_dev__create(&(struct blk_dev_config){ .disk = &T.md.d,
							      .queue_size = 100 }));
}

/* ---- requests ------------------------------------------------------------------ */

static void test_read_write(void **state)
{
	struct rq r;
	uint8_t want[1024];

	fixture(false, true, "");
	dev_up(BASE | DWZ);   /* event-idx on */
	r = mkreq(VIRTIO_BLK_T_IN, 3, 1024, true);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(r.data), T.md.buf + 3 * 512, 1024);
	assert_int_equal(used_len(0), 1025);

	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i ^ 0x5a);
	r = mkreq(VIRTIO_BLK_T_OUT, 10, 1024, false);
	memcpy(hva(r.data), want, sizeof(want));
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_memory_equal(T.md.buf + 10 * 512, want, sizeof(want));
	assert_int_equal(used_len(1), 1);

	/* the last sector is reachable */
	r = mkreq(VIRTIO_BLK_T_IN, SECTORS - 1, 512, true);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(r.data), T.md.buf + DISK_SIZE - 512, 512);

	assert_int_equal(stats().reads, 2);
	assert_int_equal(stats().writes, 1);
	assert_int_equal(stats().bytes_read, 1536);
	assert_int_equal(stats().bytes_written, 1024);
	assert_int_equal(stats().kicks, 3);
	assert_int_equal(stats().interrupts, 3);
	assert_int_equal(stats().errors, 0);
	assert_int_equal(T.needs_reset, 0);

	/* the worker served them, and says which thread it is (vmm stat) */
	{
		char p[64], comm[32] = "";
		int tid = blk_dev__worker_tid(T.bd);
		FILE *f;

		assert_true(tid > 0);
		snprintf(p, sizeof(p), "/proc/self/task/%d/comm", tid);
		f = fopen(p, "r");
		assert_non_null(f);
		assert_non_null(fgets(comm, sizeof(comm), f));
		fclose(f);
		assert_non_null(strstr(comm, "virtio-blk"));
	}
}

static void test_flush_get_id(void **state)
{
	struct rq r;

	fixture(false, true, "vmm-disk-1");
	dev_up(BASE);
	r = mkreq(VIRTIO_BLK_T_FLUSH, 0, 0, false);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_int_equal(T.md.flush_calls, 1);
	assert_int_equal(used_len(0), 1);

	r = mkreq(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true);
	memset(hva(r.data), 0xee, VIRTIO_BLK_ID_BYTES);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(r.data), "vmm-disk-1\0\0\0\0\0\0\0\0\0\0", VIRTIO_BLK_ID_BYTES);
	assert_int_equal(used_len(1), VIRTIO_BLK_ID_BYTES + 1);
	blk_dev__destroy(T.bd);
	free(T.md.buf);

	/* a 20-character serial: no terminator */
	fixture(false, true, "ABCDEFGHIJKLMNOPQRST");
	dev_up(BASE);
	r = mkreq(VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES, true);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(r.data), "ABCDEFGHIJKLMNOPQRST", VIRTIO_BLK_ID_BYTES);
	assert_int_equal(stats().get_ids, 1);
	assert_int_equal(stats().flushes, 0);   /* a fresh device */
}

static struct rq mkdwz(uint32_t type, const struct virtio_blk_discard_write_zeroes *s, int n)
{
	struct rq r = mkreq(type, 0, (uint32_t)(n * sizeof(*s)), false);

	memcpy(hva(r.data), s, n * sizeof(*s));
	return r;
}

static struct virtio_blk_discard_write_zeroes dseg(uint64_t sector, uint32_t n, uint32_t flags)
{
	return (struct virtio_blk_discard_write_zeroes){
		.sector = htole64(sector), .num_sectors = htole32(n), .flags = htole32(flags) };
}

static void test_discard_write_zeroes(void **state)
{
	const uint32_t UNMAP = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	struct virtio_blk_discard_write_zeroes s[2];
	uint8_t zero[4096] = { 0 };
	struct rq r;

	fixture(false, true, "");
	dev_up(BASE | DWZ);
	s[0] = dseg(8, 2, 0);
	s[1] = dseg(100, 8, 0);
	r = mkdwz(VIRTIO_BLK_T_DISCARD, s, 2);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_int_equal(T.md.dwz_calls, 2);
	assert_true(T.md.dwz[0].discard && T.md.dwz[0].off == 8 * 512 && T.md.dwz[0].len == 1024);
	assert_true(T.md.dwz[1].off == 100 * 512 && T.md.dwz[1].len == 4096);

	s[0] = dseg(200, 8, UNMAP);
	r = mkdwz(VIRTIO_BLK_T_WRITE_ZEROES, s, 1);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_int_equal(T.md.dwz_calls, 3);
	assert_true(!T.md.dwz[2].discard && T.md.dwz[2].unmap && T.md.dwz[2].off == 200 * 512);
	assert_memory_equal(T.md.buf + 200 * 512, zero, 4096);
	s[0] = dseg(300, 1, 0);
	r = mkdwz(VIRTIO_BLK_T_WRITE_ZEROES, s, 1);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_false(T.md.dwz[3].unmap);

	/* unmap on a discard, unknown flags: UNSUPP; a bad range or size:
	 * IOERR; none reaches the disk (the good segment first included) */
	s[0] = dseg(8, 1, UNMAP);
	r = mkdwz(VIRTIO_BLK_T_DISCARD, s, 1);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_UNSUPP);
	s[0] = dseg(8, 1, 0x4);
	r = mkdwz(VIRTIO_BLK_T_WRITE_ZEROES, s, 1);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_UNSUPP);
	s[0] = dseg(8, 1, 0);
	s[1] = dseg(SECTORS - 1, 2, 0);
	r = mkdwz(VIRTIO_BLK_T_DISCARD, s, 2);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	s[1] = dseg(UINT64_MAX - 1, 4, 0);
	r = mkdwz(VIRTIO_BLK_T_WRITE_ZEROES, s, 2);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	r = mkreq(VIRTIO_BLK_T_DISCARD, 0, 10, false);   /* not whole segments */
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	assert_int_equal(T.md.dwz_calls, 4);
	assert_int_equal(stats().discards, 4);
	assert_int_equal(stats().write_zeroes, 4);

	/* not negotiated: UNSUPP */
	dev_up(BASE);
	s[0] = dseg(8, 1, 0);
	r = mkdwz(VIRTIO_BLK_T_DISCARD, s, 1);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(T.md.dwz_calls, 4);
}

/* The header in three pieces, data in two, the status byte sharing the
 * last data buffer; then the same through an indirect table. */
static void test_split_and_indirect(void **state)
{
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN), .sector = htole64(5) };
	uint64_t hb = 0, d1 = 0, d2 = 0;
	struct seg s[5];
	uint16_t head;

	fixture(false, false, "");
	dev_up(BASE & NO_EVIDX);
	for (int round = 0; round < 2; round++) {
		hb = alloc_data(16);
		memcpy(hva(hb), &h, 16);
		d1 = alloc_data(512);
		d2 = alloc_data(1024 + 1);
		*(uint8_t *)hva(d2 + 1024) = 0xee;
		s[0] = (struct seg){ hb, 5, false };
		s[1] = (struct seg){ hb + 5, 7, false };
		s[2] = (struct seg){ hb + 12, 4, false };
		s[3] = (struct seg){ d1, 512, true };
		s[4] = (struct seg){ d2, 1024 + 1, true };
		head = round ? drv_add_indirect(s, 5) : drv_add(s, 5);
		kick();
		wait_used((uint16_t)(round + 1));
		assert_int_equal(used_id((uint16_t)round), head);
		assert_int_equal(used_len((uint16_t)round), 1536 + 1);
		assert_int_equal(*(uint8_t *)hva(d2 + 1024), VIRTIO_BLK_S_OK);
		assert_memory_equal(hva(d1), T.md.buf + 5 * 512, 512);
		assert_memory_equal(hva(d2), T.md.buf + 6 * 512, 1024);
		memset(hva(d1), 0, 512);
	}

	/* a write whose data starts inside the last header descriptor */
	hb = alloc_data(16 + 512);
	h.type = htole32(VIRTIO_BLK_T_OUT);
	h.sector = htole64(40);
	memcpy(hva(hb), &h, 16);
	memset(hva(hb + 16), 0x77, 512);
	d1 = alloc_data(1);
	s[0] = (struct seg){ hb, 10, false };
	s[1] = (struct seg){ hb + 10, 6 + 512, false };
	s[2] = (struct seg){ d1, 1, true };
	drv_add(s, 3);
	kick();
	wait_used(3);
	assert_int_equal(*(uint8_t *)hva(d1), VIRTIO_BLK_S_OK);
	assert_memory_equal(T.md.buf + 40 * 512, hva(hb + 16), 512);
}

static void test_bad_requests(void **state)
{
	uint8_t before[DISK_SIZE / 8];
	struct rq r;

	fixture(false, true, "");
	dev_up(BASE | DWZ);
	memcpy(before, T.md.buf + DISK_SIZE - sizeof(before), sizeof(before));
	/* out of range: at the end, straddling it, overflowing *512 and +len */
	r = mkreq(VIRTIO_BLK_T_OUT, SECTORS, 512, false);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used_len(0), 1);
	r = mkreq(VIRTIO_BLK_T_OUT, SECTORS - 1, 1024, false);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	r = mkreq(VIRTIO_BLK_T_OUT, 1ULL << 56, 512, false);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	r = mkreq(VIRTIO_BLK_T_IN, UINT64_MAX, 512, true);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	assert_int_equal(used_len(3), 1);
	/* not whole sectors */
	r = mkreq(VIRTIO_BLK_T_OUT, 0, 100, false);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	r = mkreq(VIRTIO_BLK_T_IN, 0, 513, true);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	assert_int_equal(T.md.pwritev_calls + T.md.preadv_calls, 0);
	assert_memory_equal(T.md.buf + DISK_SIZE - sizeof(before), before, sizeof(before));
	/* unknown type */
	r = mkreq(0x99, 0, 512, false);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_UNSUPP);
	/* a disk error */
	T.md.fail = -EIO;
	r = mkreq(VIRTIO_BLK_T_IN, 0, 512, true);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	assert_int_equal(stats().errors, 7);
	assert_int_equal(stats().others, 1);
	assert_int_equal(stats().bytes_read, 0);
	assert_int_equal(T.needs_reset, 0);
	/* still serving */
	r = mkreq(VIRTIO_BLK_T_IN, 0, 512, true);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
}

static void test_read_only(void **state)
{
	struct virtio_blk_discard_write_zeroes s = dseg(0, 1, 0);
	uint8_t first[512];
	struct rq r;

	fixture(true, true, "");
	dev_up(BASE | F(VIRTIO_BLK_F_RO));
	memcpy(first, T.md.buf, 512);
	r = mkreq(VIRTIO_BLK_T_OUT, 0, 512, false);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	r = mkdwz(VIRTIO_BLK_T_DISCARD, &s, 1);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	r = mkdwz(VIRTIO_BLK_T_WRITE_ZEROES, &s, 1);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	assert_int_equal(T.md.pwritev_calls + T.md.dwz_calls, 0);
	assert_memory_equal(T.md.buf, first, 512);
	r = mkreq(VIRTIO_BLK_T_IN, 0, 512, true);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(r.data), first, 512);
}

/* Broken chains: NEEDS_RESET once, the queue stops, a reset revives it. */
static void test_violations(void **state)
{
	struct virtio_blk_outhdr h = { .type = htole32(VIRTIO_BLK_T_IN) };
	uint64_t hb;
	struct seg s[2];
	struct rq r;

	fixture(false, false, "");
	for (int kind = 0; kind < 3; kind++) {
		dev_up(BASE & NO_EVIDX);
		hb = alloc_data(512 + 16);
		memcpy(hva(hb), &h, 16);
		if (kind == 0) {          /* no writable status byte */
			s[0] = (struct seg){ hb, 16 + 512, false };
			drv_add(s, 1);
		} else if (kind == 1) {   /* header cut short */
			s[0] = (struct seg){ hb, 8, false };
			s[1] = (struct seg){ hb + 16, 1, true };
			drv_add(s, 2);
		} else {                  /* descriptor outside guest RAM */
			s[0] = (struct seg){ hb, 16, false };
			s[1] = (struct seg){ RAM_GPA + RAM_SIZE - 4, 64, true };
			drv_add(s, 2);
		}
		r = mkreq(VIRTIO_BLK_T_IN, 0, 512, true);
		kick();
		wait_needs_reset(kind + 1);
		kick();   /* more kicks change nothing */
		dev_reset();   /* waits for the worker: deterministic below */
		assert_int_equal(used_idx(), 0);
		assert_int_equal(status_of(&r), 0xee);
		assert_int_equal(T.md.preadv_calls, 0);
		assert_int_equal(T.needs_reset, kind + 1);   /* logged once */
		assert_int_equal(stats().needs_reset, kind + 1);   /* `vmm stat` counts it */
	}
	dev_up(BASE);
	r = mkreq(VIRTIO_BLK_T_IN, 0, 512, true);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
}

/* Many requests, one kick: one batch, one interrupt, right used entries. */
static void test_batch(void **state)
{
	struct rq r[100], warm;
	int s0;

	fixture(false, false, "");
	dev_up(BASE & NO_EVIDX);
	warm = mkreq(VIRTIO_BLK_T_IN, 0, 512, true);   /* the worker is idle after */
	assert_int_equal(run1(&warm), VIRTIO_BLK_S_OK);
	s0 = signals();
	for (int i = 0; i < 32; i++)
		r[i] = mkreq(VIRTIO_BLK_T_IN, (uint64_t)i, 512, true);
	kick();
	wait_used(33);
	assert_int_equal(signals() - s0, 1);
	for (int i = 0; i < 32; i++) {
		assert_int_equal(used_id((uint16_t)(1 + i)), r[i].head);
		assert_int_equal(used_len((uint16_t)(1 + i)), 513);
		assert_int_equal(status_of(&r[i]), VIRTIO_BLK_S_OK);
		assert_memory_equal(hva(r[i].data), T.md.buf + i * 512, 512);
	}
	/* more than one batch still needs only one kick */
	for (int i = 0; i < 80; i++)
		r[i] = mkreq(VIRTIO_BLK_T_OUT, (uint64_t)i, 512, false);
	kick();
	wait_used(113);
	for (int i = 0; i < 80; i++)
		assert_int_equal(status_of(&r[i]), VIRTIO_BLK_S_OK);
	assert_int_equal(signals() - s0, 3);   /* 1 + two batches of <= 64 */
	assert_int_equal(stats().kicks, 3);
	assert_int_equal(stats().interrupts, (uint64_t)signals());

	/* requests queued before DRIVER_OK are served without a kick */
	dev_up_ex(BASE & NO_EVIDX, 256, false);
	for (int i = 0; i < 8; i++)
		r[i] = mkreq(VIRTIO_BLK_T_IN, (uint64_t)i, 512, true);
	s0 = signals();
	driver_ok();
	wait_used(8);
	assert_int_equal(signals() - s0, 1);
}

/* ---- reset with a request in flight ---------------------------------------------- */

static void *reset_thread(void *arg)
{
	pthread_mutex_lock(&T.vdev->lock);
	pthread_mutex_lock(&T.m);
	*(bool *)arg = true;          /* holding vdev->lock: about to reset */
	pthread_cond_broadcast(&T.cv);
	pthread_mutex_unlock(&T.m);
	T.vdev->ops->reset(T.vdev);
	virtqueue__reset(&T.vdev->vq[BLK_QUEUE]);
	T.vdev->features = 0;
	pthread_mutex_unlock(&T.vdev->lock);
	return NULL;
}

static void test_reset_in_flight(void **state)
{
	struct rq r[16];
	struct timespec ts;
	pthread_t th;
	bool resetting = false;
	uint8_t ring_after[0x1000];
	int rc = 0;

	fixture(false, false, "");
	dev_up(BASE & NO_EVIDX);
	T.md.gate = true;
	for (int i = 0; i < 8; i++)
		r[i] = mkreq(VIRTIO_BLK_T_IN, (uint64_t)i, 512, true);
	kick();
	deadline(&ts);
	pthread_mutex_lock(&T.m);
	while (!T.md.entered && rc == 0)
		rc = pthread_cond_timedwait(&T.cv, &T.m, &ts);
	pthread_mutex_unlock(&T.m);
	assert_int_equal(T.md.entered, 1);   /* the worker holds a batch of 8 */
	for (int i = 8; i < 16; i++)         /* queued behind it */
		r[i] = mkreq(VIRTIO_BLK_T_IN, (uint64_t)i, 512, true);
	kick();

	assert_int_equal(pthread_create(&th, NULL, reset_thread, &resetting), 0);
	deadline(&ts);
	rc = 0;
	pthread_mutex_lock(&T.m);
	while (!resetting && rc == 0)
		rc = pthread_cond_timedwait(&T.cv, &T.m, &ts);
	pthread_mutex_unlock(&T.m);
	assert_true(resetting);
	/* Getting vdev->lock now means the reset waits inside the device. */
	pthread_mutex_lock(&T.vdev->lock);
	pthread_mutex_unlock(&T.vdev->lock);
	pthread_mutex_lock(&T.m);
	T.md.gate = false;
	pthread_cond_broadcast(&T.cv);
	pthread_mutex_unlock(&T.m);
	pthread_join(th, NULL);

	/* The batch was published before reset returned; nothing after. */
	assert_int_equal(used_idx(), 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(status_of(&r[i]), VIRTIO_BLK_S_OK);
	for (int i = 8; i < 16; i++)
		assert_int_equal(status_of(&r[i]), 0xee);
	assert_int_equal(T.md.preadv_calls, 8);
	memcpy(ring_after, hva(gpa(USED_OFF)), sizeof(ring_after));
	kick();   /* a stale doorbell after reset does nothing */
	dev_reset();
	assert_memory_equal(ring_after, hva(gpa(USED_OFF)), sizeof(ring_after));
	assert_int_equal(T.md.preadv_calls, 8);

	/* the device works again after a new setup */
	dev_up(BASE);
	r[0] = mkreq(VIRTIO_BLK_T_IN, 7, 512, true);
	assert_int_equal(run1(&r[0]), VIRTIO_BLK_S_OK);
	assert_memory_equal(hva(r[0].data), T.md.buf + 7 * 512, 512);
}

/* ---- a real raw image --------------------------------------------------------- */

static void test_raw_image(void **state)
{
	char path[] = "/tmp/test_virtio_blk.XXXXXX", err[256];
	struct virtio_blk_discard_write_zeroes s = dseg(4, 2, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	uint8_t buf[1024], zero[1024] = { 0 };
	struct disk *d;
	struct rq r;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 256 * KiB), 0);
	memset(buf, 0x3c, sizeof(buf));
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 4 * 512), (ssize_t)sizeof(buf));
	d = disk__open(path, DISK_FORMAT_RAW, false, err, sizeof(err));
	assert_non_null(d);
	attach(d);
	assert_int_equal(T.vdev->ops->get_features(T.vdev) & DWZ, DWZ);
	dev_up(BASE | DWZ);
	r = mkreq(VIRTIO_BLK_T_OUT, 100, 1024, false);
	memset(hva(r.data), 0xa5, 1024);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	r = mkdwz(VIRTIO_BLK_T_WRITE_ZEROES, &s, 1);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	r = mkreq(VIRTIO_BLK_T_FLUSH, 0, 0, false);
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	r = mkreq(VIRTIO_BLK_T_IN, 512 - 2, 1024, true);   /* the last two sectors */
	assert_int_equal(run1(&r), VIRTIO_BLK_S_OK);
	r = mkreq(VIRTIO_BLK_T_IN, 512 - 1, 1024, true);   /* one past the end */
	assert_int_equal(run1(&r), VIRTIO_BLK_S_IOERR);
	blk_dev__destroy(T.bd);
	T.bd = NULL;
	disk__close(d);

	assert_int_equal(pread(fd, buf, 1024, 100 * 512), 1024);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(buf[i], 0xa5);
	assert_int_equal(pread(fd, buf, 1024, 4 * 512), 1024);
	assert_memory_equal(buf, zero, 1024);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_get_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_write_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_and_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_violations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_image, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
