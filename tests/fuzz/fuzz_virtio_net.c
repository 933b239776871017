/* fuzz_virtio_net.c — libFuzzer target for the virtio-net device
 * (virtio/net.c, net_rxtx.c, net_mq.c, net_ctrl.c) over its virtqueues
 * (virtqueue.c), with two queue pairs (VIRTIO_NET_F_MQ offered): a
 * hostile driver (fuzz_guest.h) fills the receive, transmit and control
 * rings and kicks them, negotiates features (MQ or not, which moves the
 * control queue) and enables queues in any order, sends control commands
 * whose class, command and data come from the input (VQ_PAIRS_SET with
 * any count among them), while a fake backend (one fd per pair, as a
 * tap's queues) takes transmitted frames, hands over received ones from
 * the input (any length, any destination for the receive filter), can be
 * full, fail or hang up, and can refuse a change of the pair count. The transport is
 * faked as the virtio-pci one behaves (features frozen at FEATURES_OK,
 * queues enabled after it, kicks only after DRIVER_OK and before
 * NEEDS_RESET, device ops under vdev->lock), and so is the I/O loop
 * (tests/common/fake_loop.h).
 *
 * Input: operations, a byte each: < FG_OP_NR a driver operation on the
 * queue chosen by the next byte, else a transport or backend event. */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/common/fake_loop.h"
#include "tests/fuzz/fuzz_guest.h"
#include "tests/fuzz/fuzz_util.h"
#include "virtio/net_priv.h"
#include "vmm/log.h"

#define F(b) (1ULL << (b))

enum {
	OP_FEATURES = FG_OP_NR, OP_QUEUE, OP_DRIVER_OK, OP_KICK, OP_RESET, OP_CONFIG,
	OP_PACKET, OP_BACKEND_IN, OP_BACKEND_OUT, OP_BACKEND_HUP, OP_PUMP, OP_MODE, OP_CTRL, OP_NR
};

#define PAIRS 2
#define NQ    (2 * PAIRS + 1)

static struct fuzz_guest g;
static struct fg_queue q[NQ];
static int backend_fd[PAIRS] = { -1, -1 };
static struct loop loop;

/* The transport's view (virtio/pci_common.c) and the fake backend's. */
static struct {
	bool features_ok, driver_ok, needs_reset;
	uint8_t mode;             /* bit 0-1: tx ok/EAGAIN/EIO/EIO; 2-3: rx ok/EOF/EIO;
	                           * 4: refuse the header size, 5: refuse offloads,
	                           * 6-7: start userspace/offloaded/fails */
	bool refuse_pairs;        /* set_queue_pairs fails (OP_MODE's next byte) */
	struct { uint32_t len; uint8_t dst; } pkt[8];
	unsigned npkt;
} S;

static void tr_signal(struct virtio_dev *v, int qi) { }
static void tr_config(struct virtio_dev *v) { }
static void tr_needs_reset(struct virtio_dev *v) { S.needs_reset = true; }

static const struct virtio_transport_ops tr_ops = {
	.signal_queue = tr_signal, .signal_config = tr_config, .needs_reset = tr_needs_reset,
};

static ssize_t be_tx(void *b, unsigned pair, const struct iovec *iov, int cnt)
{
	volatile uint8_t sink = 0;
	ssize_t n = 0;

	FUZZ_CHECK(cnt > 0 && cnt <= VQ_MAX_IOV, "tx of %d iovecs", cnt);
	for (int i = 0; i < cnt; i++) {
		FUZZ_CHECK(fg_in_ram(&g, iov[i].iov_base, iov[i].iov_len), "tx iovec outside RAM");
		for (size_t k = 0; k < iov[i].iov_len; k += 256)
			sink ^= ((const uint8_t *)iov[i].iov_base)[k];
		n += (ssize_t)iov[i].iov_len;
	}
	(void)sink;
	switch (S.mode & 3) {
	case 0: return n;
	case 1: errno = EAGAIN; return -1;
	default: errno = EIO; return -1;
	}
}

/* One queued frame, as a tap delivers it: the full length even when the
 * buffers are shorter (MSG_TRUNC). */
static ssize_t be_rx(void *b, unsigned pair, const struct iovec *iov, int cnt)
{
	static const uint8_t dst[4][6] = {
		{ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },   /* ours */
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
		{ 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc },
	};
	uint8_t frame[NET_HDR_LEN + 6];
	size_t len, off = 0;

	FUZZ_CHECK(cnt > 0 && cnt <= NET_RX_MAX_IOV, "rx into %d iovecs", cnt);
	if ((S.mode >> 2 & 3) == 1)
		return 0;
	if ((S.mode >> 2 & 3) >= 2) {
		errno = EIO;
		return -1;
	}
	if (!S.npkt) {
		errno = EAGAIN;
		return -1;
	}
	len = S.pkt[0].len;
	memset(frame, 0, sizeof(frame));
	memcpy(frame + NET_HDR_LEN, dst[S.pkt[0].dst & 3], 6);
	memmove(S.pkt, S.pkt + 1, --S.npkt * sizeof(S.pkt[0]));
	for (int i = 0; i < cnt && off < len; i++) {
		size_t n = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;

		FUZZ_CHECK(fg_in_ram(&g, iov[i].iov_base, iov[i].iov_len), "rx iovec outside RAM");
		memset(iov[i].iov_base, 0x5a, n);
		for (size_t k = 0; k < n; k++)
			if (off + k < sizeof(frame))
				((uint8_t *)iov[i].iov_base)[k] = frame[off + k];
		off += n;
	}
	return (ssize_t)len;
}

static int be_hdr(void *b, unsigned len) { return S.mode & 0x10 ? -1 : 0; }
static int be_offload(void *b, uint64_t f) { return S.mode & 0x20 ? -1 : 0; }
static int be_fd(void *b, unsigned pair)
{
	FUZZ_CHECK(pair < PAIRS, "rx_fd of pair %u", pair);
	return backend_fd[pair];
}
static int be_pairs(void *b, unsigned n)
{
	FUZZ_CHECK(n >= 1 && n <= PAIRS, "%u queue pairs", n);
	return S.refuse_pairs ? -1 : 0;
}
static int be_start(void *b, struct virtio_dev *v, uint64_t f)
{
	return (S.mode >> 6) == 1 ? 0 : (S.mode >> 6) == 2 ? -1 : 1;
}
static void be_stop(void *b, struct virtio_dev *v) { }

static const struct net_backend_ops be_ops = {
	.tx = be_tx, .rx = be_rx, .set_vnet_hdr_len = be_hdr, .set_offload = be_offload,
	.rx_fd = be_fd, .set_queue_pairs = be_pairs, .start = be_start, .stop = be_stop,
};

/* A control command made from the input: u8 queue, u8 class, u8 command,
 * u8 n and n data bytes, u8 shape (bit 0: no ack byte, bit 1: the header
 * and data split over two descriptors); published, then kicked. */
static void ctrl_cmd(struct virtio_dev *vdev, struct fuzz_in *in)
{
	int qi = fin_u8(in) % NQ;
	struct fg_queue *cq = &q[qi];
	uint8_t hdr[2], shape, *buf;
	const uint8_t *data;
	size_t n;
	uint64_t a;
	uint16_t head, i;

	hdr[0] = fin_u8(in);
	hdr[1] = fin_u8(in);
	n = fin_bytes(in, &data, fin_u8(in));
	shape = fin_u8(in);
	if (!cq->size)
		return;
	a = fg_alloc(&g, (uint32_t)(2 + n + 1));
	buf = fg_ptr(&g, a, 2 + n + 1);
	if (!buf)
		return;
	memcpy(buf, hdr, 2);
	memcpy(buf + 2, data, n);
	head = cq->next_desc % cq->size;
	i = head;
	if ((shape & 2) && n) {
		fg_desc(&g, cq->desc, i, a, 2, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % cq->size));
		i = (uint16_t)((i + 1) % cq->size);
		fg_desc(&g, cq->desc, i, a + 2, (uint32_t)n, shape & 1 ? 0 : VRING_DESC_F_NEXT,
			(uint16_t)((i + 1) % cq->size));
	} else {
		fg_desc(&g, cq->desc, i, a, (uint32_t)(2 + n), shape & 1 ? 0 : VRING_DESC_F_NEXT,
			(uint16_t)((i + 1) % cq->size));
	}
	if (!(shape & 1)) {
		i = (uint16_t)((i + 1) % cq->size);
		fg_desc(&g, cq->desc, i, a + 2 + n, 1, VRING_DESC_F_WRITE, 0);
	}
	cq->next_desc = (uint16_t)(cq->next_desc + (uint16_t)((i - head + cq->size) % cq->size) + 1);
	fg_avail_add(&g, cq, head);
	if (S.driver_ok && !S.needs_reset && vdev->vq[qi].enabled)
		vdev->ops->notify(vdev, qi);
}

/* The transport's reaction to a status or queue register write. */
static void transport_op(struct virtio_dev *vdev, int op, struct fuzz_in *in)
{
	uint8_t b;
	int qi;
	uint8_t cfg[8];

	pthread_mutex_lock(&vdev->lock);
	switch (op) {
	case OP_FEATURES:             /* driver features, then FEATURES_OK */
		fg_features(vdev, in, &S.features_ok);
		break;
	case OP_QUEUE:     /* bits 0-2 queue, 3-6 log2 size; then queue_enable = 1 */
		b = fin_u8(in);
		qi = (b & 7) % NQ;
		fg_queue_default(&q[qi], qi, (uint16_t)(1u << ((b >> 3) % 9)));
		if (!S.features_ok || vdev->vq[qi].enabled)
			break;
		if (virtqueue__enable(&vdev->vq[qi], &g.mem, q[qi].size, q[qi].desc, q[qi].avail,
				      q[qi].used, virtio_dev__has(vdev, VIRTIO_RING_F_EVENT_IDX),
				      virtio_dev__has(vdev, VIRTIO_RING_F_INDIRECT_DESC)) < 0)
			virtio_dev__needs_reset(vdev, vdev->vq[qi].err);
		else if (vdev->ops->queue_enable(vdev, qi) < 0)
			virtqueue__reset(&vdev->vq[qi]);
		break;
	case OP_DRIVER_OK:
		if (!S.driver_ok) {
			S.driver_ok = true;
			vdev->ops->driver_ok(vdev);
		}
		break;
	case OP_KICK:
		qi = fin_u8(in) % NQ;
		if (S.driver_ok && !S.needs_reset && vdev->vq[qi].enabled)
			vdev->ops->notify(vdev, qi);
		break;
	case OP_RESET:
		vdev->ops->reset(vdev);
		for (int i = 0; i < NQ; i++)
			virtqueue__reset(&vdev->vq[i]);
		vdev->features = 0;
		S.features_ok = S.driver_ok = S.needs_reset = false;
		break;
	case OP_CONFIG:
		b = fin_u8(in);
		if (b & 0x80)
			vdev->ops->write_config(vdev, b & 0x3f, cfg, (b >> 6 & 1) + 1);
		else
			vdev->ops->read_config(vdev, b & 0x3f, cfg, (uint32_t)(fin_u8(in) % 8) + 1);
		break;
	case OP_CTRL:
		ctrl_cmd(vdev, in);
		break;
	}
	pthread_mutex_unlock(&vdev->lock);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct net_dev *nd;
	struct virtio_dev *vdev;
	uint64_t drain;

	fg_reset(&g);
	memset(&S, 0, sizeof(S));
	for (int i = 0; i < NQ; i++)
		fg_queue_default(&q[i], i, 256);
	nd = net_dev__create(&(struct net_dev_config){
		.mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, .backend = &be_ops, .loop = &loop,
		.queue_pairs = PAIRS });
	if (!nd)
		abort();
	vdev = net_dev__virtio(nd);
	vdev->transport = &tr_ops;
	pthread_mutex_init(&vdev->lock, NULL);
	while (in.n) {
		int op = fin_u8(&in) % OP_NR;

		if (op < FG_OP_NR) {
			fg_driver_op(&g, &q[fin_u8(&in) % NQ], op, &in);
			continue;
		}
		switch (op) {
		case OP_PACKET:
			if (S.npkt < 8)
				S.pkt[S.npkt++] = (typeof(S.pkt[0])){ fin_u32(&in) % (NET_HDR_LEN +
									NET_MAX_FRAME + 64), fin_u8(&in) };
			break;
		case OP_BACKEND_IN: fake_loop_fire(backend_fd[fin_u8(&in) % PAIRS], EPOLLIN); break;
		case OP_BACKEND_OUT: fake_loop_fire(backend_fd[fin_u8(&in) % PAIRS], EPOLLOUT); break;
		case OP_BACKEND_HUP: fake_loop_fire(backend_fd[fin_u8(&in) % PAIRS], EPOLLHUP); break;
		/* pair 1's fd is pumped too: an eventfd is always writable */
		case OP_PUMP: fake_loop_pump(backend_fd[0], 0, 4); break;
		case OP_MODE:
			S.mode = fin_u8(&in);
			S.refuse_pairs = fin_u8(&in) & 1;
			break;
		default: transport_op(vdev, op, &in); break;
		}
	}
	net_dev__destroy(nd);
	pthread_mutex_destroy(&vdev->lock);
	for (int i = 0; i < PAIRS; i++)
		while (read(backend_fd[i], &drain, sizeof(drain)) > 0)
			;
	return 0;
}

/* One control command (ctrl_cmd's encoding) on queue qi. */
static void seed_ctrl(struct fuzz_out *o, int qi, uint8_t class, uint8_t cmd,
		      const uint8_t *data, uint8_t n)
{
	fout_u8(o, OP_CTRL);
	fout_u8(o, (uint8_t)qi);
	fout_u8(o, class);
	fout_u8(o, cmd);
	fout_u8(o, n);
	for (int i = 0; i < n; i++)
		fout_u8(o, data[i]);
	fout_u8(o, 0);
}

/* Bring-up as Linux's virtio_net does it, then traffic both ways and a
 * control command; variants with and without MRG_RXBUF and event-idx,
 * and (3) with MQ: both pairs, VQ_PAIRS_SET 2, traffic on pair 1, then
 * down to one pair and a bad count. */
static void write_seeds(const char *dir)
{
	static struct fuzz_out o;
	static const uint64_t feat[4] = {
		F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC) |
		F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CSUM) |
		F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_CTRL_VQ) |
		F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_MAC_ADDR),
		F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX),
		F(VIRTIO_F_VERSION_1),
		F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_NET_F_MAC) |
		F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |
		F(VIRTIO_NET_F_MQ),
	};
	static const uint16_t rx[2] = { 1526, 4096 }, tx[2] = { 12, 60 }, ctrl[3] = { 2, 1, 1 };
	static const uint8_t two[2] = { 2, 0 }, one[2] = { 1, 0 }, nine[2] = { 9, 0 };

	for (int s = 0; s < 4; s++) {
		bool mq = s == 3;
		int nq = mq ? NQ : NET_NR_QUEUES, cq = mq ? 2 * PAIRS : NET_QUEUE_CTRL;
		char name[16];

		fout_u8(&o, OP_FEATURES);
		fout_le(&o, feat[s], 8);
		fout_u8(&o, 1);
		for (int qi = 0; qi < nq; qi++) {
			fout_u8(&o, OP_QUEUE);
			fout_u8(&o, (uint8_t)(qi | 8 << 3));     /* 256 entries */
		}
		fout_u8(&o, OP_DRIVER_OK);
		if (mq)
			seed_ctrl(&o, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, two, 2);
		for (int p = 0; p < (mq ? PAIRS : 1); p++) {
			for (int k = 0; k < 4; k++)
				fg_seed_chain(&o, FG_OP_CHAIN, NET_RXQ(p), 1, 1, false, &rx[s == 0]);
			fg_seed_chain(&o, FG_OP_CHAIN, NET_TXQ(p), 2, 0, s == 0, tx);
			fout_u8(&o, OP_KICK);
			fout_u8(&o, (uint8_t)NET_TXQ(p));
		}
		fg_seed_chain(&o, FG_OP_CHAIN, cq, 3, 1, false, ctrl);
		fout_u8(&o, OP_KICK);
		fout_u8(&o, (uint8_t)cq);
		for (int k = 0; k < 3; k++) {
			fout_u8(&o, OP_PACKET);
			fout_le(&o, k == 2 ? 9000 : 74, 4);
			fout_u8(&o, (uint8_t)k);
		}
		fout_u8(&o, OP_BACKEND_IN);
		fout_u8(&o, 0);
		if (mq) {
			fout_u8(&o, OP_PACKET);
			fout_le(&o, 74, 4);
			fout_u8(&o, 0);
			fout_u8(&o, OP_BACKEND_IN);
			fout_u8(&o, 1);
			seed_ctrl(&o, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, one, 2);
			seed_ctrl(&o, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, nine, 2);
		}
		fout_u8(&o, OP_MODE);
		fout_u8(&o, 1);                 /* tx: EAGAIN */
		fout_u8(&o, 0);
		fout_u8(&o, OP_KICK);
		fout_u8(&o, NET_QUEUE_TX);
		fout_u8(&o, OP_MODE);
		fout_u8(&o, 0);
		fout_u8(&o, mq);                /* the MQ seed: refuse a pair change */
		if (mq)
			seed_ctrl(&o, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, two, 2);
		fout_u8(&o, OP_BACKEND_OUT);
		fout_u8(&o, 0);
		fout_u8(&o, OP_PUMP);
		fout_u8(&o, OP_RESET);
		snprintf(name, sizeof(name), mq ? "mq%d" : "bringup%d", s);
		fout_save(&o, dir, name);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz__seed_mode(write_seeds);
	log__verbosity = LOG_ERR;   /* guest violations are logged */
	fg_init(&g);
	for (int i = 0; i < PAIRS; i++) {
		backend_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (backend_fd[i] < 0)
			return 1;
	}
	return 0;
}
