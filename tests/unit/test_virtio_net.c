/* test_virtio_net.c — the virtio-net device model driven the way a guest
 * driver and the virtio-pci transport would: rings built in a malloc'd
 * "guest RAM", a fake transport counting interrupts and reset requests,
 * and a SOCK_SEQPACKET socketpair standing in for the tap (one packet per
 * datagram, vnet header included; reads use MSG_TRUNC so a too-small
 * buffer reports the full length, as a tap does).
 *
 * The I/O loop is faked at link time (tests/common/fake_loop.h defines
 * loop__add/mod/del), so the device's registrations land in a table that
 * pump() polls and dispatches on this thread (level-triggered, like
 * epoll). pump() failing after many rounds means the device busy-loops.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "devices/net/tap_uring.h"
#include "tests/common/fake_loop.h"
#include "tests/unit/guest_ram.h"
#include "virtio/net.h"
#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/util.h"

#define RAM_GPA   0x100000ULL
#define RAM_SIZE  (16 * MiB)
#define RING(q)   ((uint64_t)(q) * 0x20000)   /* desc; avail +0x8000; used +0x10000 */
#define DATA_OFF  0x100000ULL
#define HDR       12
#define F(b)      (1ULL << (b))

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t OTHER[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };

/* Everything the device offers. */
static const uint64_t ALL = F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) |
	F(VIRTIO_RING_F_INDIRECT_DESC) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
	F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
	F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_ECN) |
	F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_GUEST_ECN) |
	F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_RX_EXTRA) |
	F(VIRTIO_NET_F_CTRL_MAC_ADDR);
static const uint64_t GUEST_GSO = F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
	F(VIRTIO_NET_F_GUEST_ECN);

struct dq {     /* the driver's side of one queue */
	uint16_t size, next_desc, avail_idx;
	struct vring_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
};

struct seg {
	uint32_t len;
	bool write;
};

static struct {
	uint8_t *ram;
	struct guest_mem mem;
	struct loop loop;
	struct net_dev *nd;
	struct virtio_dev *vdev;
	struct dq q[NET_NR_QUEUES];
	uint64_t next_data;
	int fd[2];                 /* [0] the device's "tap", [1] the network */
	unsigned int hdr_len;
	int hdr_calls, offload_calls, tx_calls;
	uint64_t offload;
	bool refuse_offload;
	bool offload_datapath;     /* the fake backend's start takes RX/TX (as vhost) */
	int starts, stops;
	int signals[NET_NR_QUEUES], needs_reset;
	struct tap_uring uring;    /* be_batch_ops: how it writes */
	int room;                  /* be_batch_ops: frames it still takes (-1: any) */
	unsigned batch_n[8];       /* be_batch_ops: n of the first calls */
	int batch_calls;
} T;

/* ---- fake loop (tests/common/fake_loop.h) ------------------------------- */

/* What the device polls its backend fd for; -1 if not registered. */
static int64_t polled(void)
{
	struct fake_reg *r = fake_loop_find(T.fd[0]);

	return r ? (int64_t)r->events : -1;
}

/* Dispatch ready events until none is left; returns the callbacks made. */
static int pump(void)
{
	return fake_loop_settle(0, "the device keeps the loop busy");
}

/* ---- fake transport and backend ------------------------------------------ */

static void tr_signal(struct virtio_dev *v, int q) { T.signals[q]++; }
static void tr_config(struct virtio_dev *v) { }
static void tr_needs_reset(struct virtio_dev *v) { T.needs_reset++; }

static const struct virtio_transport_ops tr_ops = {
	.signal_queue = tr_signal, .signal_config = tr_config, .needs_reset = tr_needs_reset,
};

static ssize_t be_tx(void *b, unsigned pair, const struct iovec *iov, int cnt)
{
	T.tx_calls++;
	return writev(T.fd[0], iov, cnt);
}

static ssize_t be_rx(void *b, unsigned pair, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

	return recvmsg(T.fd[0], &m, MSG_TRUNC);
}

static int be_hdr(void *b, unsigned len) { T.hdr_len = len; T.hdr_calls++; return 0; }

static int be_offload(void *b, uint64_t f)
{
	T.offload = f;
	T.offload_calls++;
	return T.refuse_offload ? -1 : 0;
}

static int be_fd(void *b, unsigned pair) { return T.fd[0]; }

/* DRIVER_OK: 0 = the backend runs RX/TX itself (vhost), 1 = vmm does. */
static int be_start(void *b, struct virtio_dev *v, uint64_t features)
{
	T.starts++;
	return T.offload_datapath ? 0 : 1;
}

static void be_stop(void *b, struct virtio_dev *v) { T.stops++; }

static const struct net_backend_ops be_ops = {
	.tx = be_tx, .rx = be_rx, .set_vnet_hdr_len = be_hdr,
	.set_offload = be_offload, .rx_fd = be_fd, .start = be_start, .stop = be_stop,
};

/* A batching backend: the tap side's own code (devices/net/tap_uring.c,
 * io_uring or writev() per frame as T.uring was set up) writing to the
 * socketpair. T.room >= 0: it takes at most that many more frames, then
 * says it is full (as a tap's EAGAIN would). */
static unsigned be_tx_batch(void *b, unsigned pair, const struct iovec *const iovs[],
			    const int counts[], unsigned n, ssize_t res[])
{
	unsigned m = T.room >= 0 && (unsigned)T.room < n ? (unsigned)T.room : n;

	assert_true(n >= 1 && n <= NET_TX_BATCH);
	T.batch_n[T.batch_calls++ % 8] = n;
	T.tx_calls += (int)m;
	m = tap_uring__write(&T.uring, iovs, counts, m, res);
	if (T.room >= 0)
		T.room -= (int)m;
	return m;
}

static const struct net_backend_ops be_batch_ops = {
	.tx_batch = be_tx_batch, .rx = be_rx, .set_vnet_hdr_len = be_hdr,
	.set_offload = be_offload, .rx_fd = be_fd, .start = be_start, .stop = be_stop,
};

/* ---- guest RAM and the driver --------------------------------------------- */

static uint64_t gpa(uint64_t off) { return RAM_GPA + off; }
static void *hva(uint64_t g) { return T.ram + (g - RAM_GPA); }

static uint64_t alloc_data(uint32_t len)
{
	uint64_t g;

	if (T.next_data + len > RAM_SIZE)
		T.next_data = DATA_OFF;
	g = gpa(T.next_data);
	T.next_data += (len + 15) & ~15u;
	return g;
}

static uint16_t drv_add(int q, const struct seg *s, int n)
{
	struct dq *d = &T.q[q];
	uint16_t head = d->next_desc;

	for (int k = 0; k < n; k++) {
		uint16_t i = (head + k) % d->size, nx = (head + k + 1) % d->size;

		d->d[i].addr = htole64(alloc_data(s[k].len));
		d->d[i].len = htole32(s[k].len);
		d->d[i].flags = htole16((s[k].write ? VRING_DESC_F_WRITE : 0) |
					(k + 1 < n ? VRING_DESC_F_NEXT : 0));
		d->d[i].next = htole16(nx);
	}
	d->next_desc = (head + n) % d->size;
	d->a->ring[d->avail_idx % d->size] = htole16(head);
	d->avail_idx++;
	__atomic_store_n(&d->a->idx, htole16(d->avail_idx), __ATOMIC_RELEASE);
	return head;
}

static void *desc_buf(int q, uint16_t i) { return hva(le64toh(T.q[q].d[i].addr)); }
static uint16_t used_idx(int q) { return le16toh(T.q[q].u->idx); }
static uint32_t used_id(int q, uint16_t i) { return le32toh(T.q[q].u->ring[i % T.q[q].size].id); }
static uint32_t used_len(int q, uint16_t i) { return le32toh(T.q[q].u->ring[i % T.q[q].size].len); }
static void set_used_event(int q, uint16_t v) { T.q[q].a->ring[T.q[q].size] = htole16(v); }

static void kick(int q)
{
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->notify(T.vdev, q);
	pthread_mutex_unlock(&T.vdev->lock);
}

/* A device reset as the transport does it: device, then the queues. */
static void dev_reset(void)
{
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->reset(T.vdev);
	for (int q = 0; q < NET_NR_QUEUES; q++)
		virtqueue__reset(&T.vdev->vq[q]);
	T.vdev->features = 0;
	pthread_mutex_unlock(&T.vdev->lock);
}

/* Reset, negotiate 'features', set up the three queues, DRIVER_OK. */
static void dev_up(uint64_t features, uint16_t qsize)
{
	struct virtio_dev *v = T.vdev;

	dev_reset();
	memset(T.ram, 0, DATA_OFF);
	T.next_data = DATA_OFF;
	pthread_mutex_lock(&v->lock);
	assert_int_equal(v->ops->set_features(v, features), 0);
	v->features = features;
	for (int q = 0; q < NET_NR_QUEUES; q++) {
		T.q[q] = (struct dq){ .size = qsize, .d = hva(gpa(RING(q))),
				      .a = hva(gpa(RING(q) + 0x8000)),
				      .u = hva(gpa(RING(q) + 0x10000)) };
		assert_int_equal(virtqueue__enable(&v->vq[q], &T.mem, qsize, gpa(RING(q)),
						   gpa(RING(q) + 0x8000), gpa(RING(q) + 0x10000),
						   features & F(VIRTIO_RING_F_EVENT_IDX),
						   features & F(VIRTIO_RING_F_INDIRECT_DESC)), 0);
		assert_int_equal(v->ops->queue_enable(v, q), 0);
	}
	v->ops->driver_ok(v);
	pthread_mutex_unlock(&v->lock);
	memset(T.signals, 0, sizeof(T.signals));
}

static struct net_dev_stats stats(void)
{
	struct net_dev_stats s;

	net_dev__stats(T.nd, &s);
	return s;
}

/* ---- frames ---------------------------------------------------------------- */

static void make_frame(uint8_t *f, size_t len, const uint8_t *dst, uint8_t seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, OTHER, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

/* The network sends one packet to the device: vnet header + frame. */
static void net_send(const uint8_t *dst, size_t frame_len, uint8_t seed)
{
	static uint8_t pkt[HDR + 70000];
	struct virtio_net_hdr_mrg_rxbuf h = { .hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE,
					      .num_buffers = htole16(0xbeef) };

	memcpy(pkt, &h, HDR);
	make_frame(pkt + HDR, frame_len, dst, seed);
	assert_int_equal(send(T.fd[1], pkt, HDR + frame_len, 0), (ssize_t)(HDR + frame_len));
}

/* The guest queues one frame: a header descriptor and a frame descriptor. */
static uint16_t guest_tx(size_t frame_len, uint8_t seed)
{
	const struct seg s[2] = { { HDR, false }, { (uint32_t)frame_len, false } };
	uint16_t head = drv_add(NET_QUEUE_TX, s, 2);
	struct virtio_net_hdr_mrg_rxbuf *h = desc_buf(NET_QUEUE_TX, head);

	memset(h, 0, HDR);
	h->hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->hdr.csum_start = htole16(34);
	h->hdr.csum_offset = htole16(seed);
	make_frame(desc_buf(NET_QUEUE_TX, (head + 1) % T.q[NET_QUEUE_TX].size), frame_len, OTHER, seed);
	return head;
}

/* Receive one packet from the device on the network side and check it. */
static void net_expect(size_t frame_len, uint8_t seed)
{
	static uint8_t got[HDR + 70000], want[70000];
	ssize_t n = recv(T.fd[1], got, sizeof(got), MSG_DONTWAIT);

	assert_int_equal(n, (ssize_t)(HDR + frame_len));
	assert_int_equal(got[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(le16toh(((struct virtio_net_hdr *)got)->csum_offset), seed);
	make_frame(want, frame_len, OTHER, seed);
	assert_memory_equal(got + HDR, want, frame_len);
}

static void post_rx(int n, uint32_t len)
{
	const struct seg s = { len, true };

	for (int i = 0; i < n; i++)
		drv_add(NET_QUEUE_RX, &s, 1);
}

/* The guest reads used RX entry 'at' (num_buffers chains from there) and
 * checks it holds the frame sent with (dst, len, seed). Returns the
 * number of buffers it took. */
static unsigned int guest_rx_check(uint16_t at, const uint8_t *dst, size_t len, uint8_t seed)
{
	static uint8_t got[HDR + 70000], want[70000];
	struct virtio_net_hdr_mrg_rxbuf h;
	size_t off = 0;
	unsigned int nbuf;

	memcpy(&h, desc_buf(NET_QUEUE_RX, (uint16_t)used_id(NET_QUEUE_RX, at)), HDR);
	nbuf = le16toh(h.num_buffers);
	assert_true(nbuf >= 1 && (uint16_t)(used_idx(NET_QUEUE_RX) - at) >= nbuf);
	for (unsigned int i = 0; i < nbuf; i++) {
		uint16_t id = (uint16_t)used_id(NET_QUEUE_RX, at + i);
		uint32_t l = used_len(NET_QUEUE_RX, at + i);

		assert_true(id < T.q[NET_QUEUE_RX].size);
		assert_true(l <= le32toh(T.q[NET_QUEUE_RX].d[id].len) && off + l <= sizeof(got));
		memcpy(got + off, desc_buf(NET_QUEUE_RX, id), l);
		off += l;
	}
	assert_int_equal(off, HDR + len);
	make_frame(want, len, dst, seed);
	assert_memory_equal(got + HDR, want, len);
	return nbuf;
}

/* ---- fixture --------------------------------------------------------------- */

/* batch: 0 = the per-frame tx(), 1 = tx_batch through io_uring, 2 =
 * tx_batch through writev() (the fallback) */
static int setup_with(int batch)
{
	struct net_dev_config cfg = { .backend = batch ? &be_batch_ops : &be_ops,
				      .loop = &T.loop };
	char why[160];

	memset(&T, 0, sizeof(T));
	fake_loop_reset();
	T.ram = guest_ram_new(&T.mem, RAM_GPA, RAM_SIZE);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, T.fd), 0);
	T.room = -1;
	if (tap_uring__init(&T.uring, T.fd[0], batch == 1, why, sizeof(why)) != (batch == 1))
		print_message("io_uring skipped (%s): the writev() fallback instead\n", why);
	assert_false(T.uring.on && !T.uring.link);   /* a socket can be full: linked */
	memcpy(cfg.mac, MAC, 6);
	cfg.queue_size = 512;
	T.nd = net_dev__create(&cfg);
	assert_non_null(T.nd);
	T.vdev = net_dev__virtio(T.nd);
	T.vdev->transport = &tr_ops;
	pthread_mutex_init(&T.vdev->lock, NULL);
	log__verbosity = LOG_ERR;   /* expected violations warn */
	return 0;
}

static int setup(void **state) { return setup_with(0); }
static int setup_uring(void **state) { return setup_with(1); }
static int setup_writev(void **state) { return setup_with(2); }

static int teardown(void **state)
{
	net_dev__destroy(T.nd);
	tap_uring__exit(&T.uring);
	for (int i = 0; i < FAKE_LOOP_MAX; i++)
		assert_false(fake_loop[i].live);   /* destroy unregistered everything */
	close(T.fd[0]);
	close(T.fd[1]);
	free(T.ram);
	return 0;
}

/* ---- negotiation and config space ------------------------------------------- */

static int set_features(struct virtio_dev *v, uint64_t f)
{
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = v->ops->set_features(v, f);
	pthread_mutex_unlock(&v->lock);
	return rc;
}

static void test_features(void **state)
{
	struct virtio_dev *v = T.vdev;

	assert_int_equal(v->ops->get_features(v), ALL);
	assert_int_equal(v->device_id, 1);
	assert_int_equal(v->nr_queues, 3);
	assert_int_equal(v->queue_max_size, 512);
	/* modern only */
	assert_int_equal(set_features(v, ALL & ~F(VIRTIO_F_VERSION_1)), -1);
	assert_int_equal(set_features(v, 0), -1);
	/* not offered, or a prerequisite missing (spec 5.1.3.1) */
	assert_int_equal(set_features(v, ALL | F(VIRTIO_NET_F_MQ)), -1);
	assert_int_equal(set_features(v, ALL & ~F(VIRTIO_NET_F_GUEST_CSUM)), -1);
	assert_int_equal(set_features(v, ALL & ~F(VIRTIO_NET_F_CSUM)), -1);
	assert_int_equal(set_features(v, ALL & ~F(VIRTIO_NET_F_CTRL_VQ)), -1);
	assert_int_equal(set_features(v, ALL & ~F(VIRTIO_NET_F_CTRL_RX)), -1);
	assert_int_equal(set_features(v, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_HOST_ECN) |
				      F(VIRTIO_NET_F_CSUM)), -1);
	assert_int_equal(T.hdr_calls, 0);   /* nothing reached the backend */
	/* accepted: 12-byte header and the offloads go to the backend */
	assert_int_equal(set_features(v, ALL), 0);
	assert_int_equal(T.hdr_len, 12);
	assert_int_equal(T.offload, ALL);
	assert_int_equal(set_features(v, F(VIRTIO_F_VERSION_1)), 0);
	assert_int_equal(T.hdr_len, 12);   /* VERSION_1: 12 even without MRG_RXBUF */
	assert_int_equal(T.offload, F(VIRTIO_F_VERSION_1));
	assert_int_equal(T.hdr_calls, 2);
	/* a backend that cannot set the offloads makes the driver fail */
	T.refuse_offload = true;
	assert_int_equal(set_features(v, ALL), -1);
	assert_int_equal(T.offload_calls, 3);
	/* DRIVER_OK with nothing accepted (after a reset) does not start */
	dev_reset();
	pthread_mutex_lock(&v->lock);
	v->ops->driver_ok(v);
	pthread_mutex_unlock(&v->lock);
	assert_int_equal(T.needs_reset, 1);
	assert_int_equal(polled(), 0);
}

static void test_config_space(void **state)
{
	struct virtio_dev *v = T.vdev;
	uint8_t b[32];

	memset(b, 0xee, sizeof(b));
	v->ops->read_config(v, 0, b, 8);
	assert_memory_equal(b, MAC, 6);
	assert_int_equal(b[6] | b[7] << 8, VIRTIO_NET_S_LINK_UP);
	for (uint32_t off = 0; off < 6; off++) {
		v->ops->read_config(v, off, b, 1);
		assert_int_equal(b[0], MAC[off]);
	}
	v->ops->read_config(v, 6, b, 2);
	assert_int_equal(b[0], VIRTIO_NET_S_LINK_UP);
	/* no multiqueue, MTU, ...: the rest reads as zero, also past the end */
	memset(b, 0xee, sizeof(b));
	v->ops->read_config(v, 8, b, 4);
	assert_int_equal(b[0] | b[1] | b[2] | b[3], 0);
	memset(b, 0xee, sizeof(b));
	v->ops->read_config(v, 4090, b, 4);
	assert_int_equal(b[0] | b[1] | b[2] | b[3], 0);
	memset(b, 0xee, sizeof(b));
	v->ops->read_config(v, 4, b, 32);   /* straddles the end of the struct */
	assert_memory_equal(b, MAC + 4, 2);
	assert_int_equal(b[31], 0);
	/* the MAC is read-only for a VERSION_1 driver */
	v->ops->write_config(v, 0, OTHER, 6);
	v->ops->read_config(v, 0, b, 6);
	assert_memory_equal(b, MAC, 6);
}

/* A backend that moves packets itself (vhost): no fd polled, no TX/RX,
 * and a feature mask that takes prerequisites away. */
static void test_offload_backend_and_mask(void **state)
{
	static const struct net_backend_ops vhost_like = {
		.set_vnet_hdr_len = be_hdr, .set_offload = be_offload,
	};
	struct net_dev_config cfg = {
		.backend = &vhost_like, .loop = &T.loop,
		.extra_feature_mask = ALL & ~(F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_CTRL_VQ) |
					      F(VIRTIO_NET_F_GUEST_CSUM)),
	};
	struct net_dev *nd;
	struct virtio_dev *v;
	uint64_t offer;

	nd = net_dev__create(&cfg);
	assert_non_null(nd);
	v = net_dev__virtio(nd);
	pthread_mutex_init(&v->lock, NULL);
	v->transport = &tr_ops;
	offer = v->ops->get_features(v);
	assert_true(offer & F(VIRTIO_F_VERSION_1));   /* never masked away */
	assert_false(offer & (F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
			      F(VIRTIO_NET_F_CTRL_RX_EXTRA) | F(VIRTIO_NET_F_CTRL_MAC_ADDR)));
	assert_false(offer & (F(VIRTIO_NET_F_GUEST_CSUM) | GUEST_GSO));
	assert_true(offer & F(VIRTIO_NET_F_HOST_TSO4));
	assert_int_equal(v->queue_max_size, NET_DEFAULT_QUEUE_SIZE);
	assert_int_equal(v->ops->set_features(v, offer), 0);
	assert_int_equal(T.hdr_len, 12);
	v->ops->driver_ok(v);
	v->ops->notify(v, NET_QUEUE_TX);   /* not ours to serve: ignored */
	assert_int_equal(T.tx_calls, 0);
	assert_int_equal(pump(), 0);
	net_dev__destroy(nd);
	/* tx/rx without an fd to poll is refused */
	cfg.backend = &(const struct net_backend_ops){ .tx = be_tx, .rx = be_rx };
	assert_null(net_dev__create(&cfg));
}

/* ---- TX ----------------------------------------------------------------------- */

static void test_tx_batch_and_event_idx(void **state)
{
	uint16_t *avail_event;
	struct net_dev_stats s;

	dev_up(ALL, 256);
	avail_event = (uint16_t *)&T.q[NET_QUEUE_TX].u->ring[256];
	for (int i = 0; i < 5; i++)
		guest_tx(60 + i * 100, (uint8_t)i);
	kick(NET_QUEUE_TX);
	for (int i = 0; i < 5; i++)
		net_expect(60 + i * 100, (uint8_t)i);
	assert_int_equal(recv(T.fd[1], avail_event, 0, MSG_DONTWAIT | MSG_PEEK), -1);   /* no more */
	assert_int_equal(used_idx(NET_QUEUE_TX), 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(used_id(NET_QUEUE_TX, i), 2 * i);
		assert_int_equal(used_len(NET_QUEUE_TX, i), 0);
	}
	assert_int_equal(T.signals[NET_QUEUE_TX], 1);   /* one per batch */
	/* The run found chains, so kicks stay off until one more look,
	 * after the loop's other fds, finds the ring empty. */
	assert_int_equal(le16toh(*avail_event), 0);
	assert_int_equal(pump(), 1);
	assert_int_equal(le16toh(*avail_event), 5);      /* kicks re-armed */
	assert_int_equal(T.signals[NET_QUEUE_TX], 1);   /* nothing new used */
	/* the driver asks for an interrupt only after used idx 100 */
	set_used_event(NET_QUEUE_TX, 100);
	for (int i = 0; i < 3; i++)
		guest_tx(100, 9);
	kick(NET_QUEUE_TX);
	assert_int_equal(used_idx(NET_QUEUE_TX), 8);
	assert_int_equal(T.signals[NET_QUEUE_TX], 1);
	/* chains queued before the second look go without a kick */
	guest_tx(100, 9);
	assert_int_equal(pump(), 2);
	assert_int_equal(used_idx(NET_QUEUE_TX), 9);
	assert_int_equal(le16toh(*avail_event), 9);
	set_used_event(NET_QUEUE_TX, 9);
	guest_tx(100, 9);
	kick(NET_QUEUE_TX);
	assert_int_equal(T.signals[NET_QUEUE_TX], 2);
	assert_int_equal(pump(), 1);
	for (int i = 0; i < 5; i++)
		net_expect(100, 9);
	s = stats();
	assert_int_equal(s.tx_packets, 10);
	assert_int_equal(s.tx_bytes, 60 + 160 + 260 + 360 + 460 + 5 * 100);
	assert_int_equal(s.tx_kicks, 3);
	assert_int_equal(s.tx_interrupts, 2);
	assert_int_equal(T.needs_reset, 0);
	assert_int_equal(pump(), 0);
}

static void test_tx_no_event_idx(void **state)
{
	dev_up(ALL & ~F(VIRTIO_RING_F_EVENT_IDX), 256);
	T.q[NET_QUEUE_TX].a->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	guest_tx(64, 1);
	guest_tx(64, 2);
	kick(NET_QUEUE_TX);
	assert_int_equal(used_idx(NET_QUEUE_TX), 2);
	assert_int_equal(T.signals[NET_QUEUE_TX], 0);
	assert_int_equal(le16toh(T.q[NET_QUEUE_TX].u->flags), VRING_USED_F_NO_NOTIFY);
	assert_int_equal(pump(), 1);                      /* the look that finds none */
	assert_int_equal(le16toh(T.q[NET_QUEUE_TX].u->flags), 0);   /* kicks wanted again */
	T.q[NET_QUEUE_TX].a->flags = 0;
	for (int i = 3; i < 6; i++)
		guest_tx(64, (uint8_t)i);
	kick(NET_QUEUE_TX);
	assert_int_equal(T.signals[NET_QUEUE_TX], 1);   /* one for the batch of 3 */
	assert_int_equal(pump(), 1);
	for (int i = 1; i < 6; i++)
		net_expect(64, (uint8_t)i);
}

static void test_tx_bad_chains(void **state)
{
	const struct seg rw[2] = { { HDR, false }, { 100, true } };
	const struct seg shorty[1] = { { 8, false } };

	dev_up(ALL, 256);
	drv_add(NET_QUEUE_TX, rw, 2);
	kick(NET_QUEUE_TX);
	assert_int_equal(T.needs_reset, 1);
	assert_int_equal(used_idx(NET_QUEUE_TX), 0);
	/* stopped until reset: nothing more is sent, no second report */
	guest_tx(64, 1);
	kick(NET_QUEUE_TX);
	assert_int_equal(T.tx_calls, 0);
	assert_int_equal(T.needs_reset, 1);
	/* after a reset it works, and a chain shorter than the header is
	 * another violation */
	dev_up(ALL, 256);
	guest_tx(64, 2);
	drv_add(NET_QUEUE_TX, shorty, 1);
	kick(NET_QUEUE_TX);
	net_expect(64, 2);
	assert_int_equal(T.needs_reset, 2);
	assert_int_equal(polled(), 0);   /* a broken device polls nothing */
}

/* The backend fills up: the chain waits (un-popped) for EPOLLOUT. */
static void test_tx_eagain(void **state)
{
	int small = 4096, sent = 0, got = 0, guard = 0;

	assert_int_equal(setsockopt(T.fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	dev_up(ALL, 256);
	for (int i = 0; i < 40; i++)
		guest_tx(1000, (uint8_t)i);
	kick(NET_QUEUE_TX);
	sent = used_idx(NET_QUEUE_TX);
	assert_true(sent > 0 && sent < 40);
	assert_int_equal(virtqueue__get_last_avail(&T.vdev->vq[NET_QUEUE_TX]), sent);
	assert_int_equal(polled() & EPOLLOUT, EPOLLOUT);
	assert_int_equal(pump(), 0);   /* not writable yet: no spinning */
	while (got < 40) {
		assert_true(++guard < 100);
		while (got < used_idx(NET_QUEUE_TX))
			net_expect(1000, (uint8_t)got++);
		pump();
	}
	assert_int_equal(used_idx(NET_QUEUE_TX), 40);
	assert_int_equal(polled() & EPOLLOUT, 0);
	assert_int_equal(stats().tx_packets, 40);
	assert_true(T.tx_calls > 40);   /* the refused writes were retried */
	assert_int_equal(T.needs_reset, 0);
}

/* The backend takes 4 of a batch of 10 and is full: those 4 are used,
 * the 6 after them un-popped, and they go, in order, once it is
 * writable again. */
static void test_tx_batch_full_midway(void **state)
{
	dev_up(ALL, 256);
	for (int i = 0; i < 10; i++)
		guest_tx(100, (uint8_t)i);
	T.room = 4;
	kick(NET_QUEUE_TX);
	assert_int_equal(T.batch_calls, 1);
	assert_int_equal(T.batch_n[0], 10);
	assert_int_equal(used_idx(NET_QUEUE_TX), 4);
	assert_int_equal(virtqueue__get_last_avail(&T.vdev->vq[NET_QUEUE_TX]), 4);
	assert_int_equal(T.signals[NET_QUEUE_TX], 1);
	assert_int_equal(polled() & EPOLLOUT, EPOLLOUT);
	assert_int_equal(stats().tx_packets, 4);
	T.room = -1;
	assert_true(pump() >= 1);                 /* writable: resumed */
	assert_int_equal(T.batch_n[1], 6);
	assert_int_equal(used_idx(NET_QUEUE_TX), 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(used_id(NET_QUEUE_TX, (uint16_t)i), 2 * i);
		net_expect(100, (uint8_t)i);
	}
	assert_int_equal(polled() & EPOLLOUT, 0);
	assert_int_equal(stats().tx_packets, 10);
	assert_int_equal(T.needs_reset, 0);
}

/* Batches of at most NET_TX_BATCH; 150 chains are 64 + 64 + 22, one
 * interrupt for all. */
static void test_tx_batch_sizes(void **state)
{
	int big = 212992;

	setsockopt(T.fd[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	dev_up(ALL, 512);
	for (int i = 0; i < 150; i++)
		guest_tx(50, (uint8_t)i);
	kick(NET_QUEUE_TX);
	assert_int_equal(used_idx(NET_QUEUE_TX), 150);
	assert_int_equal(T.batch_calls, 3);
	assert_int_equal(T.batch_n[0], NET_TX_BATCH);
	assert_int_equal(T.batch_n[1], NET_TX_BATCH);
	assert_int_equal(T.batch_n[2], 150 - 2 * NET_TX_BATCH);
	assert_int_equal(T.signals[NET_QUEUE_TX], 1);
	for (int i = 0; i < 150; i++)
		net_expect(50, (uint8_t)i);
}

/* A frame the backend refuses for good (too big for the socket:
 * EMSGSIZE) is dropped and used; the frames after it in the same batch
 * still go, in order. */
static void test_tx_refused_frame(void **state)
{
	int small = 4096;

	assert_int_equal(setsockopt(T.fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	dev_up(ALL, 256);
	guest_tx(100, 0);
	guest_tx(20000, 1);
	guest_tx(100, 2);
	guest_tx(100, 3);
	kick(NET_QUEUE_TX);
	assert_int_equal(used_idx(NET_QUEUE_TX), 4);
	assert_int_equal(stats().tx_dropped, 1);
	assert_int_equal(stats().tx_packets, 3);
	net_expect(100, 0);
	net_expect(100, 2);
	net_expect(100, 3);
	assert_int_equal(polled() & EPOLLOUT, 0);
	assert_int_equal(T.needs_reset, 0);
}

static void test_tx_budget(void **state)
{
	int big = 212992;

	setsockopt(T.fd[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	dev_up(ALL, 512);
	for (int i = 0; i < 300; i++)
		guest_tx(50, (uint8_t)i);
	kick(NET_QUEUE_TX);
	assert_int_equal(used_idx(NET_QUEUE_TX), 256);   /* yielded */
	assert_int_equal(T.signals[NET_QUEUE_TX], 1);
	set_used_event(NET_QUEUE_TX, 256);
	assert_int_equal(pump(), 2);                     /* resumed, then one look */
	assert_int_equal(used_idx(NET_QUEUE_TX), 300);
	assert_int_equal(T.signals[NET_QUEUE_TX], 2);
	for (int i = 0; i < 300; i++)
		net_expect(50, (uint8_t)i);
}

/* ---- RX ----------------------------------------------------------------------- */

static void test_rx_small_mergeable(void **state)
{
	struct net_dev_stats s;

	dev_up(ALL, 256);
	assert_int_equal(polled(), EPOLLIN);
	post_rx(20, 4096);
	net_send(MAC, 86, 1);
	pump();
	assert_int_equal(used_idx(NET_QUEUE_RX), 1);
	assert_int_equal(used_id(NET_QUEUE_RX, 0), 0);
	assert_int_equal(used_len(NET_QUEUE_RX, 0), HDR + 86);
	assert_int_equal(guest_rx_check(0, MAC, 86, 1), 1);
	assert_int_equal(T.signals[NET_QUEUE_RX], 1);
	/* 17 x 4 KiB cover a 64 KiB packet: after the first took one, the
	 * device holds the next 17, in order, for the next packets */
	assert_int_equal(virtqueue__get_last_avail(&T.vdev->vq[NET_QUEUE_RX]), 18);
	net_send(MAC, 1500, 2);
	net_send(BCAST, 60, 3);
	pump();
	assert_int_equal(used_idx(NET_QUEUE_RX), 3);
	assert_int_equal(used_id(NET_QUEUE_RX, 1), 1);
	assert_int_equal(used_id(NET_QUEUE_RX, 2), 2);
	assert_int_equal(guest_rx_check(1, MAC, 1500, 2), 1);
	assert_int_equal(guest_rx_check(2, BCAST, 60, 3), 1);
	s = stats();
	assert_int_equal(s.rx_packets, 3);
	assert_int_equal(s.rx_bytes, 86 + 1500 + 60);
	assert_int_equal(T.needs_reset, 0);
}

static void test_rx_64k_across_chains(void **state)
{
	dev_up(ALL, 256);
	post_rx(20, 4096);
	net_send(MAC, 65550, 7);   /* the largest GSO frame: 12 + 65550 bytes */
	pump();
	assert_int_equal(used_idx(NET_QUEUE_RX), 17);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(used_id(NET_QUEUE_RX, i), i);
		assert_int_equal(used_len(NET_QUEUE_RX, i), 4096);
	}
	assert_int_equal(used_len(NET_QUEUE_RX, 16), 65562 - 16 * 4096);
	assert_int_equal(guest_rx_check(0, MAC, 65550, 7), 17);
	/* three buffers left cannot cover another big packet: the device
	 * waits for more instead of risking a truncation */
	net_send(MAC, 100, 8);
	pump();
	assert_int_equal(used_idx(NET_QUEUE_RX), 17);
	assert_int_equal(polled(), 0);
	post_rx(20, 4096);
	kick(NET_QUEUE_RX);
	assert_int_equal(used_idx(NET_QUEUE_RX), 18);
	assert_int_equal(used_id(NET_QUEUE_RX, 17), 17);   /* held buffers first */
	assert_int_equal(guest_rx_check(17, MAC, 100, 8), 1);
	assert_int_equal(polled(), EPOLLIN);
}

static void test_rx_no_buffers(void **state)
{
	uint16_t *avail_event;
	uint8_t b;

	dev_up(ALL, 256);
	avail_event = (uint16_t *)&T.q[NET_QUEUE_RX].u->ring[256];
	*avail_event = htole16(0x5555);
	net_send(MAC, 200, 4);
	assert_int_equal(pump(), 1);            /* one look, then quiet */
	assert_int_equal(polled(), 0);          /* backend not polled */
	assert_int_equal(le16toh(*avail_event), 0);   /* kick on the next buffer */
	assert_int_equal(recv(T.fd[0], &b, 1, MSG_PEEK), 1);   /* still queued */
	assert_int_equal(pump(), 0);
	post_rx(18, 4096);
	kick(NET_QUEUE_RX);
	assert_int_equal(used_idx(NET_QUEUE_RX), 1);
	assert_int_equal(guest_rx_check(0, MAC, 200, 4), 1);
	assert_int_equal(polled(), EPOLLIN);
	kick(NET_QUEUE_RX);   /* while not starved: harmless */
	assert_int_equal(stats().rx_kicks, 2);
	assert_int_equal(pump(), 0);

	/* without event-idx the NO_NOTIFY flag is what asks for kicks */
	dev_up(ALL & ~F(VIRTIO_RING_F_EVENT_IDX), 256);
	assert_int_equal(le16toh(T.q[NET_QUEUE_RX].u->flags), VRING_USED_F_NO_NOTIFY);
	net_send(MAC, 200, 5);
	pump();
	assert_int_equal(le16toh(T.q[NET_QUEUE_RX].u->flags), 0);
	post_rx(18, 4096);
	kick(NET_QUEUE_RX);
	assert_int_equal(guest_rx_check(0, MAC, 200, 5), 1);
	assert_int_equal(le16toh(T.q[NET_QUEUE_RX].u->flags), VRING_USED_F_NO_NOTIFY);
}

/* Without guest GSO a mergeable buffer of 1526 bytes is enough. */
static void test_rx_no_guest_gso(void **state)
{
	dev_up(ALL & ~GUEST_GSO, 256);
	post_rx(1, 1526);
	net_send(MAC, 1514, 1);
	pump();
	assert_int_equal(guest_rx_check(0, MAC, 1514, 1), 1);
	assert_int_equal(polled(), 0);   /* and now it is out of buffers */
}

static void test_rx_not_mergeable(void **state)
{
	uint16_t nb;

	dev_up(ALL & ~F(VIRTIO_NET_F_MRG_RXBUF), 256);
	post_rx(3, 2048);
	net_send(MAC, 1000, 1);
	net_send(MAC, 3000, 2);   /* does not fit one buffer: dropped */
	net_send(MAC, 500, 3);
	pump();
	assert_int_equal(used_idx(NET_QUEUE_RX), 2);
	assert_int_equal(used_len(NET_QUEUE_RX, 0), HDR + 1000);
	memcpy(&nb, (uint8_t *)desc_buf(NET_QUEUE_RX, 0) + 10, 2);
	assert_int_equal(le16toh(nb), 1);   /* set by the device, not the tap */
	assert_int_equal(guest_rx_check(0, MAC, 1000, 1), 1);
	assert_int_equal(used_id(NET_QUEUE_RX, 1), 1);   /* buffer reused */
	assert_int_equal(guest_rx_check(1, MAC, 500, 3), 1);
	assert_int_equal(stats().rx_dropped, 1);
	/* only one chain is taken ahead of a packet */
	assert_int_equal(virtqueue__get_last_avail(&T.vdev->vq[NET_QUEUE_RX]), 3);
}

static void test_rx_bad_chains(void **state)
{
	const struct seg ro[2] = { { HDR, false }, { 2000, true } };
	const struct seg shorty = { 8, true };

	dev_up(ALL, 256);
	drv_add(NET_QUEUE_RX, ro, 2);
	net_send(MAC, 100, 1);
	pump();
	assert_int_equal(T.needs_reset, 1);
	assert_int_equal(polled(), 0);
	assert_int_equal(pump(), 0);
	dev_up(ALL & ~F(VIRTIO_NET_F_MRG_RXBUF), 256);
	drv_add(NET_QUEUE_RX, &shorty, 1);
	pump();   /* the packet is still waiting */
	assert_int_equal(T.needs_reset, 2);
	assert_int_equal(used_idx(NET_QUEUE_RX), 0);
}

static void test_rx_budget(void **state)
{
	int big = 212992;
	struct fake_reg *r;

	setsockopt(T.fd[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	dev_up(ALL & ~GUEST_GSO, 512);
	post_rx(300, 1600);
	for (int i = 0; i < 300; i++)
		net_send(MAC, 60, (uint8_t)i);
	r = fake_loop_find(T.fd[0]);
	assert_non_null(r);
	r->cb(r->opaque, EPOLLIN);   /* one wakeup */
	assert_int_equal(used_idx(NET_QUEUE_RX), 256);
	assert_int_equal(T.signals[NET_QUEUE_RX], 1);
	pump();                      /* the fd is still readable */
	assert_int_equal(used_idx(NET_QUEUE_RX), 300);
	for (int i = 0; i < 300; i++)
		assert_int_equal(guest_rx_check((uint16_t)i, MAC, 60, (uint8_t)i), 1);
}

static void test_backend_hangup(void **state)
{
	dev_up(ALL, 256);
	post_rx(20, 4096);
	close(T.fd[1]);
	T.fd[1] = -1;
	pump();                          /* stops instead of spinning */
	assert_int_equal(polled(), -1);
	assert_int_equal(used_idx(NET_QUEUE_RX), 0);
	assert_int_equal(T.needs_reset, 0);
}

/* ---- control queue -------------------------------------------------------------- */

/* Queue one command (header, optional data, ack byte), kick, return ack. */
static int ctrl(uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	struct seg s[3] = { { 2, false }, { len, false }, { 1, true } };
	struct dq *d = &T.q[NET_QUEUE_CTRL];
	uint16_t head, used = used_idx(NET_QUEUE_CTRL);
	uint8_t *hdr, *ack;

	if (len) {
		head = drv_add(NET_QUEUE_CTRL, s, 3);
		memcpy(desc_buf(NET_QUEUE_CTRL, (head + 1) % d->size), data, len);
	} else {
		s[1] = s[2];
		head = drv_add(NET_QUEUE_CTRL, s, 2);
	}
	hdr = desc_buf(NET_QUEUE_CTRL, head);
	hdr[0] = class;
	hdr[1] = cmd;
	ack = desc_buf(NET_QUEUE_CTRL, (head + (len ? 2 : 1)) % d->size);
	*ack = 0x77;
	kick(NET_QUEUE_CTRL);
	assert_int_equal(used_idx(NET_QUEUE_CTRL), (uint16_t)(used + 1));
	assert_int_equal(used_id(NET_QUEUE_CTRL, used), head);
	assert_int_equal(used_len(NET_QUEUE_CTRL, used), 1);
	return *ack;
}

static int rx_mode(uint8_t cmd, uint8_t on)
{
	return ctrl(VIRTIO_NET_CTRL_RX, cmd, &on, 1);
}

/* MAC_TABLE_SET with the given tables (entries as stated = as given). */
static int mac_table(const uint8_t (*uni)[6], uint32_t nu, const uint8_t (*multi)[6], uint32_t nm)
{
	static uint8_t buf[8 + 6 * 200];
	uint32_t le, off = 0;

	le = htole32(nu);
	memcpy(buf, &le, 4);
	if (nu)
		memcpy(buf + 4, uni, 6 * nu);
	off = 4 + 6 * nu;
	le = htole32(nm);
	memcpy(buf + off, &le, 4);
	if (nm)
		memcpy(buf + off + 4, multi, 6 * nm);
	return ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, buf, off + 4 + 6 * nm);
}

/* Send a frame to dst; true if the guest got it. */
static bool delivered(const uint8_t *dst)
{
	uint16_t before = used_idx(NET_QUEUE_RX);

	net_send(dst, 64, 0x42);
	pump();
	if (used_idx(NET_QUEUE_RX) == before)
		return false;
	assert_int_equal(guest_rx_check(before, dst, 64, 0x42), 1);
	return true;
}

static void test_ctrl_filtering(void **state)
{
	static const uint8_t MCAST2[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
	const uint8_t uni[1][6] = { { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc } };
	const uint8_t multi[1][6] = { { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb } };

	dev_up(ALL, 256);
	post_rx(100, 4096);
	assert_true(delivered(OTHER));             /* promiscuous by default */
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_PROMISC, 0), VIRTIO_NET_OK);
	assert_false(delivered(OTHER));
	assert_int_equal(stats().rx_filtered, 1);
	assert_true(delivered(BCAST));
	assert_true(delivered(MAC));
	assert_false(delivered(MCAST));
	/* a dropped frame's buffers are reused: still in ring order */
	assert_int_equal(used_id(NET_QUEUE_RX, used_idx(NET_QUEUE_RX) - 1), 2);
	assert_int_equal(mac_table(uni, 1, multi, 1), VIRTIO_NET_OK);
	assert_true(delivered(OTHER));
	assert_true(delivered(MCAST));
	assert_false(delivered(MCAST2));
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_ALLMULTI, 1), VIRTIO_NET_OK);
	assert_true(delivered(MCAST2));
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_NOMULTI, 1), VIRTIO_NET_OK);
	assert_false(delivered(MCAST));
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_NOBCAST, 1), VIRTIO_NET_OK);
	assert_false(delivered(BCAST));
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_NOUNI, 1), VIRTIO_NET_OK);
	assert_false(delivered(MAC));
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_NOUNI, 0), VIRTIO_NET_OK);
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_ALLUNI, 1), VIRTIO_NET_OK);
	assert_true(delivered((const uint8_t[6]){ 0x02, 1, 2, 3, 4, 5 }));
	/* a new MAC via the control queue: config space and filter follow */
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_ALLUNI, 0), VIRTIO_NET_OK);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
			      (const uint8_t[6]){ 0x02, 9, 9, 9, 9, 9 }, 6), VIRTIO_NET_OK);
	{
		uint8_t m[6];

		T.vdev->ops->read_config(T.vdev, 0, m, 6);
		assert_memory_equal(m, ((const uint8_t[6]){ 0x02, 9, 9, 9, 9, 9 }), 6);
	}
	assert_true(delivered((const uint8_t[6]){ 0x02, 9, 9, 9, 9, 9 }));
	assert_false(delivered(MAC));
	assert_int_equal(T.signals[NET_QUEUE_CTRL] > 0, 1);
	assert_int_equal(T.needs_reset, 0);
}

static void test_ctrl_malformed(void **state)
{
	const uint8_t uni[1][6] = { { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc } };
	static uint8_t many[100][6];
	uint8_t lie[32] = { 0 };
	uint32_t n;
	struct seg noack[2] = { { 2, false }, { 1, false } };

	dev_up(ALL, 256);
	post_rx(100, 4096);
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_PROMISC, 0), VIRTIO_NET_OK);
	assert_int_equal(mac_table(uni, 1, NULL, 0), VIRTIO_NET_OK);
	/* the unicast count claims 1000 entries but 12 bytes follow */
	n = htole32(1000);
	memcpy(lie, &n, 4);
	memset(lie + 4, 0x11, 12);
	n = 0;
	memcpy(lie + 16, &n, 4);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, lie, 20),
			 VIRTIO_NET_ERR);
	/* the multicast count lies; a table missing; trailing bytes */
	n = htole32(0);
	memcpy(lie, &n, 4);
	n = htole32(3);
	memcpy(lie + 4, &n, 4);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, lie, 8 + 12),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, lie, 4),
			 VIRTIO_NET_ERR);
	n = htole32(2);
	memcpy(lie + 4, &n, 4);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, lie, 8 + 12 + 1),
			 VIRTIO_NET_ERR);
	assert_true(delivered(OTHER));   /* the old table still holds */
	/* more entries than kept: that kind is accepted wholesale */
	for (int i = 0; i < 100; i++)
		many[i][0] = 1, many[i][5] = (uint8_t)i;
	assert_int_equal(mac_table(uni, 1, (const uint8_t (*)[6])many, 100), VIRTIO_NET_OK);
	assert_true(delivered((const uint8_t[6]){ 0x01, 0, 0, 0, 0, 0xee }));
	/* unknown class or command, short header, wrong data sizes */
	assert_int_equal(ctrl(9, 0, "x", 1), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, 6, "\1", 1), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, 2, MAC, 6), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, "\1\1", 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, MAC, 5),
			 VIRTIO_NET_ERR);
	assert_true(delivered(MAC));   /* the refused MAC_ADDR_SET changed nothing */
	assert_int_equal(T.needs_reset, 0);
	/* commands the driver did not negotiate */
	dev_up(ALL & ~(F(VIRTIO_NET_F_CTRL_RX_EXTRA) | F(VIRTIO_NET_F_CTRL_MAC_ADDR)), 256);
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_ALLMULTI, 1), VIRTIO_NET_OK);
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_NOBCAST, 1), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, OTHER, 6),
			 VIRTIO_NET_ERR);
	/* no writable ack byte: a protocol violation */
	drv_add(NET_QUEUE_CTRL, noack, 2);
	kick(NET_QUEUE_CTRL);
	assert_int_equal(T.needs_reset, 1);
}

/* ---- reset --------------------------------------------------------------------- */

static void test_reset(void **state)
{
	uint8_t m[6];
	struct net_dev_stats before;
	int small = 4096;

	dev_up(ALL, 256);
	post_rx(5, 4096);                      /* held, not enough: starved */
	net_send(OTHER, 100, 1);
	pump();
	assert_int_equal(polled(), 0);
	assert_int_equal(rx_mode(VIRTIO_NET_CTRL_RX_PROMISC, 0), VIRTIO_NET_OK);
	assert_int_equal(ctrl(VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, OTHER, 6),
			 VIRTIO_NET_OK);
	setsockopt(T.fd[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	for (int i = 0; i < 40; i++)
		guest_tx(1000, 1);
	kick(NET_QUEUE_TX);
	assert_true(polled() & EPOLLOUT);      /* blocked on the backend */
	before = stats();

	dev_reset();
	assert_int_equal(polled(), 0);         /* nothing polled after reset */
	T.vdev->ops->read_config(T.vdev, 0, m, 6);
	assert_memory_equal(m, MAC, 6);        /* configured MAC back */
	while (recv(T.fd[1], m, 1, MSG_DONTWAIT) > 0)
		;                              /* the network drains: writable */
	assert_int_equal(pump(), 0);           /* no stale TX retry */
	assert_int_equal(stats().tx_packets, before.tx_packets);
	assert_int_equal(stats().rx_kicks, before.rx_kicks);   /* counters stay */

	/* a fresh driver: promiscuous again, fresh rings, nothing held */
	dev_up(ALL, 256);
	post_rx(18, 4096);
	pump();
	assert_int_equal(used_idx(NET_QUEUE_RX), 1);   /* the frame to OTHER */
	assert_int_equal(guest_rx_check(0, OTHER, 100, 1), 1);
	assert_true(delivered((const uint8_t[6]){ 0x02, 3, 3, 3, 3, 3 }));
	assert_int_equal(T.needs_reset, 0);
}

/* DRIVER_OK seen twice without a reset (the transport no longer lets a
 * driver do that, but the device must not depend on it): the backend is
 * started once, whichever datapath it chose, and stopped once at reset. */
static void test_driver_ok_twice(void **state)
{
	for (int offload = 0; offload < 2; offload++) {
		T.offload_datapath = offload;
		T.starts = T.stops = 0;
		dev_up(ALL, 256);
		assert_int_equal(T.starts, 1);
		pthread_mutex_lock(&T.vdev->lock);
		T.vdev->ops->driver_ok(T.vdev);
		T.vdev->ops->driver_ok(T.vdev);
		pthread_mutex_unlock(&T.vdev->lock);
		assert_int_equal(T.starts, 1);
		assert_int_equal(T.needs_reset, 0);
		/* userspace: vmm polls the backend; offloaded: it does not */
		assert_int_equal((polled() & EPOLLIN) != 0, !offload);
		dev_reset();
		assert_int_equal(T.stops, offload);
	}
	/* and the userspace datapath still moves frames after all that */
	T.offload_datapath = false;
	dev_up(ALL, 256);
	guest_tx(100, 1);
	kick(NET_QUEUE_TX);
	assert_int_equal(used_idx(NET_QUEUE_TX), 1);
}

/* `vmm set --vhost`: the datapath moves while the device runs, and no
 * buffer or queued packet is lost on the way. */
static void test_live_switch(void **state)
{
	struct virtqueue *rx, *tx;
	char err[200];

	/* before DRIVER_OK: nothing to move (the backend's choice applies
	 * at the driver's start) */
	assert_int_equal(net_dev__set_offload(T.nd, true, err, sizeof(err)), 0);
	assert_int_equal(T.starts, 0);
	T.offload_datapath = false;
	dev_up(ALL, 256);
	rx = &T.vdev->vq[NET_QUEUE_RX];
	tx = &T.vdev->vq[NET_QUEUE_TX];
	assert_false(net_dev__offloaded(T.nd));
	post_rx(20, 4096);
	net_send(MAC, 86, 1);
	pump();
	assert_int_equal(used_idx(NET_QUEUE_RX), 1);
	assert_int_equal(virtqueue__get_last_avail(rx), 18);   /* 17 held ahead */

	/* to the backend: the held buffers go back to the ring */
	T.offload_datapath = true;
	assert_int_equal(net_dev__set_offload(T.nd, true, err, sizeof(err)), 0);
	assert_int_equal(T.starts, 2);
	assert_true(net_dev__offloaded(T.nd));
	assert_int_equal(virtqueue__get_last_avail(rx), 1);
	assert_int_equal(polled(), 0);                  /* the tap is not vmm's now */
	guest_tx(100, 7);                               /* queued while offloaded */
	kick(NET_QUEUE_TX);
	pump();
	assert_int_equal(T.tx_calls, 0);
	assert_int_equal(used_idx(NET_QUEUE_TX), 0);
	/* again: already there */
	assert_int_equal(net_dev__set_offload(T.nd, true, err, sizeof(err)), 0);
	assert_int_equal(T.starts, 2);

	/* back: the backend leaves the positions (here: it took nothing);
	 * the TX queued meanwhile goes out without a new kick, and RX
	 * resumes in the buffer after the last one used */
	assert_int_equal(net_dev__set_offload(T.nd, false, err, sizeof(err)), 0);
	assert_int_equal(T.stops, 1);
	assert_false(net_dev__offloaded(T.nd));
	assert_int_equal(polled() & EPOLLIN, EPOLLIN);
	pump();
	net_expect(100, 7);
	assert_int_equal(used_idx(NET_QUEUE_TX), 1);
	assert_int_equal(virtqueue__get_last_avail(tx), 1);
	net_send(MAC, 1500, 2);
	pump();
	assert_int_equal(used_idx(NET_QUEUE_RX), 2);
	assert_int_equal(used_id(NET_QUEUE_RX, 1), 1);
	assert_int_equal(guest_rx_check(1, MAC, 1500, 2), 1);

	/* a backend that cannot take them: one line, vmm's datapath goes on */
	T.offload_datapath = false;
	assert_int_equal(net_dev__set_offload(T.nd, true, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "MSI-X"));
	assert_false(net_dev__offloaded(T.nd));
	guest_tx(60, 8);
	kick(NET_QUEUE_TX);
	pump();
	net_expect(60, 8);
	assert_int_equal(T.needs_reset, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offload_backend_and_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_batch_and_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_no_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_bad_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_eagain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_refused_frame, setup, teardown),
		/* the same through a batching backend: the tap side's
		 * io_uring, and its writev() fallback */
		cmocka_unit_test_setup_teardown(test_tx_batch_and_event_idx, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_tx_bad_chains, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_tx_eagain, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_tx_budget, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_tx_refused_frame, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_tx_batch_full_midway, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_tx_batch_sizes, setup_uring, teardown),
		cmocka_unit_test_setup_teardown(test_tx_eagain, setup_writev, teardown),
		cmocka_unit_test_setup_teardown(test_tx_refused_frame, setup_writev, teardown),
		cmocka_unit_test_setup_teardown(test_tx_batch_full_midway, setup_writev, teardown),
		cmocka_unit_test_setup_teardown(test_tx_batch_sizes, setup_writev, teardown),
		cmocka_unit_test_setup_teardown(test_rx_small_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_64k_across_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_guest_gso, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_not_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_hangup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_filtering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_switch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
