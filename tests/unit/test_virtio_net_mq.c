/* test_virtio_net_mq.c — virtio-net multiqueue, driven as a guest driver
 * and the transport would (the single-pair device is test_virtio_net.c):
 * VIRTIO_NET_F_MQ offered only with more than one pair, max_virtqueue_pairs
 * in config space, where the control queue is for each negotiation, the
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET command (valid and invalid counts, bad
 * lengths, a backend that refuses), each pair's queues on its own backend
 * fd, pairs beyond the count not received on but still transmitting, a
 * reset going back to one pair, each pair's own counters, malformed
 * control chains, and the live switch to an offloading backend and back
 * with two pairs.
 *
 * The backend is one SOCK_SEQPACKET socketpair per pair (the tap's queue
 * fds); the loop is tests/common/fake_loop.h.
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

#include "tests/common/fake_loop.h"
#include "tests/unit/guest_ram.h"
#include "tests/unit/vring_drv.h"
#include "virtio/net.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define RAM_GPA   0x100000ULL
#define RAM_SIZE  (8 * MiB)
#define DATA_OFF  0x100000ULL
#define QSIZE     64
#define PAIRS     2
#define NQ        (2 * PAIRS + 1)
#define HDR       12
#define F(b)      (1ULL << (b))

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint64_t BASE = F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) |
	F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ);

static struct {
	uint8_t *ram;
	struct guest_mem mem;
	struct loop loop;
	struct net_dev *nd;
	struct virtio_dev *vdev;
	struct vring_drv q[NQ];
	uint64_t next_data;
	int fd[PAIRS][2];          /* [p][0] the device's queue fd, [p][1] the network */
	int tx_pair[8], ntx;       /* which pair each tx() was for */
	unsigned set_pairs[8], nset;
	bool refuse_pairs, offload;
	int starts, stops, needs_reset;
} T;

/* ---- fake transport and backend ------------------------------------------ */

static void tr_signal(struct virtio_dev *v, int q) { }
static void tr_config(struct virtio_dev *v) { }
static void tr_needs_reset(struct virtio_dev *v) { T.needs_reset++; }

static const struct virtio_transport_ops tr_ops = {
	.signal_queue = tr_signal, .signal_config = tr_config, .needs_reset = tr_needs_reset,
};

static ssize_t be_tx(void *b, unsigned pair, const struct iovec *iov, int cnt)
{
	assert_true(pair < PAIRS);
	if (T.ntx < 8)
		T.tx_pair[T.ntx++] = (int)pair;
	return writev(T.fd[pair][0], iov, cnt);
}

static ssize_t be_rx(void *b, unsigned pair, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

	assert_true(pair < PAIRS);
	return recvmsg(T.fd[pair][0], &m, MSG_TRUNC);
}

static int be_hdr(void *b, unsigned len) { return 0; }
static int be_offload(void *b, uint64_t f) { return 0; }
static int be_fd(void *b, unsigned pair) { return pair < PAIRS ? T.fd[pair][0] : -1; }

static int be_set_pairs(void *b, unsigned n)
{
	if (T.nset < 8)
		T.set_pairs[T.nset++] = n;
	return T.refuse_pairs ? -1 : 0;
}

static int be_start(void *b, struct virtio_dev *v, uint64_t f)
{
	T.starts++;
	return T.offload ? 0 : 1;
}

static void be_stop(void *b, struct virtio_dev *v) { T.stops++; }

static const struct net_backend_ops be_ops = {
	.tx = be_tx, .rx = be_rx, .set_vnet_hdr_len = be_hdr, .set_offload = be_offload,
	.rx_fd = be_fd, .set_queue_pairs = be_set_pairs, .start = be_start, .stop = be_stop,
};

/* ---- the driver ---------------------------------------------------------- */

static uint64_t gpa(uint64_t off) { return RAM_GPA + off; }

/* One chain: segments of 'len' bytes, device-writable ones marked. */
static uint16_t drv_add(int q, const uint32_t *len, const bool *wr, int n)
{
	uint64_t at[4];

	assert_true(n <= 4);
	for (int k = 0; k < n; k++) {
		at[k] = gpa(T.next_data);
		T.next_data += (len[k] + 15) & ~15u;
	}
	return vring_drv__add(&T.q[q], at, len, wr, n);
}

static void *desc_buf(int q, uint16_t i) { return vring_drv__buf(&T.q[q], i); }
static uint16_t used_idx(int q) { return vring_drv__used_idx(&T.q[q]); }

static void kick(int q)
{
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->notify(T.vdev, q);
	pthread_mutex_unlock(&T.vdev->lock);
}

static void dev_reset(void)
{
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->reset(T.vdev);
	for (int q = 0; q < NQ; q++)
		virtqueue__reset(&T.vdev->vq[q]);
	T.vdev->features = 0;
	pthread_mutex_unlock(&T.vdev->lock);
}

/* Reset, negotiate, enable 'nq' queues, DRIVER_OK. */
static void dev_up(uint64_t features, int nq)
{
	struct virtio_dev *v = T.vdev;

	dev_reset();
	memset(T.ram, 0, DATA_OFF);
	T.next_data = DATA_OFF;
	vring_drv__start(v, T.q, nq, T.ram, RAM_GPA, &T.mem, QSIZE, features);
}

/* A control command; returns the ack byte the device wrote (0xee: none). */
static uint8_t ctrl(int q, uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	const uint32_t l[3] = { 2, len, 1 };
	const bool wr[3] = { false, false, true };
	uint16_t head, u = used_idx(q);
	uint8_t *ack;

	if (len) {
		head = drv_add(q, l, wr, 3);
		memcpy(desc_buf(q, (head + 1) % QSIZE), data, len);
		ack = desc_buf(q, (head + 2) % QSIZE);
	} else {
		const uint32_t l2[2] = { 2, 1 };

		head = drv_add(q, l2, wr + 1, 2);
		ack = desc_buf(q, (head + 1) % QSIZE);
	}
	((uint8_t *)desc_buf(q, head))[0] = class;
	((uint8_t *)desc_buf(q, head))[1] = cmd;
	*ack = 0xee;
	kick(q);
	return used_idx(q) == (uint16_t)(u + 1) ? *ack : 0xee;
}

static uint8_t set_pairs(uint16_t n)
{
	uint16_t le = htole16(n);

	return ctrl(2 * PAIRS, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &le, 2);
}

static int64_t polled(int pair)
{
	struct fake_reg *r = fake_loop_find(T.fd[pair][0]);

	return r ? (int64_t)r->events : -1;
}

/* ---- fixture ------------------------------------------------------------- */

static struct net_dev *make(unsigned pairs)
{
	struct net_dev_config cfg = { .backend = &be_ops, .loop = &T.loop, .queue_size = QSIZE,
				      .queue_pairs = pairs };
	struct net_dev *nd;

	memcpy(cfg.mac, MAC, 6);
	nd = net_dev__create(&cfg);
	assert_non_null(nd);
	net_dev__virtio(nd)->transport = &tr_ops;
	pthread_mutex_init(&net_dev__virtio(nd)->lock, NULL);
	return nd;
}

static int setup(void **state)
{
	memset(&T, 0, sizeof(T));
	fake_loop_reset();
	T.ram = guest_ram_new(&T.mem, RAM_GPA, RAM_SIZE);
	for (int p = 0; p < PAIRS; p++)
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, T.fd[p]), 0);
	T.nd = make(PAIRS);
	T.vdev = net_dev__virtio(T.nd);
	log__verbosity = LOG_ERR;   /* expected violations warn */
	return 0;
}

static int teardown(void **state)
{
	net_dev__destroy(T.nd);
	for (int i = 0; i < FAKE_LOOP_MAX; i++)
		assert_false(fake_loop[i].live);
	for (int p = 0; p < PAIRS; p++) {
		close(T.fd[p][0]);
		close(T.fd[p][1]);
	}
	free(T.ram);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_offer_and_config(void **state)
{
	struct virtio_dev *v = T.vdev;
	struct net_dev *one;
	uint8_t b[4];

	assert_true(v->ops->get_features(v) & F(VIRTIO_NET_F_MQ));
	assert_int_equal(v->nr_queues, NQ);
	/* max_virtqueue_pairs, le16 after mac and status */
	v->ops->read_config(v, offsetof(struct virtio_net_config, max_virtqueue_pairs), b, 2);
	assert_int_equal(b[0] | b[1] << 8, PAIRS);
	/* MQ needs the control queue */
	assert_int_equal(v->ops->set_features(v, F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MQ)), -1);
	assert_int_equal(v->ops->set_features(v, BASE | F(VIRTIO_NET_F_MQ)), 0);
	/* a backend at one pair was told so at creation (reset) */
	assert_int_equal(T.nset, 1);
	assert_int_equal(T.set_pairs[0], 1);
	assert_int_equal(net_dev__pairs_in_use(T.nd), 1);

	/* one pair: no MQ bit, 0 in config, three queues, nothing asked of
	 * the backend */
	net_dev__destroy(T.nd);
	one = make(1);
	v = net_dev__virtio(one);
	assert_false(v->ops->get_features(v) & F(VIRTIO_NET_F_MQ));
	assert_int_equal(v->nr_queues, 3);
	memset(b, 0xee, sizeof(b));
	v->ops->read_config(v, offsetof(struct virtio_net_config, max_virtqueue_pairs), b, 2);
	assert_int_equal(b[0] | b[1], 0);
	assert_int_equal(v->ops->set_features(v, BASE | F(VIRTIO_NET_F_MQ)), -1);
	assert_int_equal(T.nset, 1);
	net_dev__destroy(one);
	T.nd = make(PAIRS);   /* for the teardown */
	T.vdev = net_dev__virtio(T.nd);
	/* too many pairs for the transport */
	{
		struct net_dev_config cfg = { .backend = &be_ops, .loop = &T.loop,
					      .queue_pairs = NET_MAX_PAIRS + 1 };

		assert_null(net_dev__create(&cfg));
	}
}

/* Without MQ accepted the controlq is queue 2 even on a two-pair device. */
static void test_ctrl_queue_without_mq(void **state)
{
	dev_up(BASE | F(VIRTIO_NET_F_CTRL_RX), 3);
	assert_int_equal(ctrl(2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, "\1", 1),
			 VIRTIO_NET_OK);
	/* and the MQ command is refused there */
	assert_int_equal(ctrl(2, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\2\0", 2),
			 VIRTIO_NET_ERR);
	assert_int_equal(net_dev__pairs_in_use(T.nd), 1);
	/* queue 3 is nothing to this driver: a kick there is ignored */
	kick(3);
	assert_int_equal(T.ntx, 0);
	assert_int_equal(T.needs_reset, 0);
}

static void test_vq_pairs_set(void **state)
{
	static const uint16_t bad[] = { 0, 3, 0x8000, 0xffff };

	dev_up(BASE | F(VIRTIO_NET_F_MQ), NQ);
	assert_int_equal(polled(0), EPOLLIN);
	assert_int_equal(polled(1), 0);           /* one pair receives until told */
	T.nset = 0;
	assert_int_equal(set_pairs(2), VIRTIO_NET_OK);
	assert_int_equal(net_dev__pairs_in_use(T.nd), 2);
	assert_int_equal(T.nset, 1);
	assert_int_equal(T.set_pairs[0], 2);
	assert_int_equal(polled(1), EPOLLIN);
	assert_int_equal(set_pairs(2), VIRTIO_NET_OK);   /* the same again: nothing to do */
	assert_int_equal(T.nset, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(set_pairs(bad[i]), VIRTIO_NET_ERR);
		assert_int_equal(net_dev__pairs_in_use(T.nd), 2);
	}
	/* wrong sizes, an unknown MQ command (RSS is not offered) */
	assert_int_equal(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\1", 1),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\1\0\0", 3),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, NULL, 0),
			 VIRTIO_NET_ERR);
	assert_int_equal(ctrl(4, VIRTIO_NET_CTRL_MQ, 1, "\1\0", 2), VIRTIO_NET_ERR);
	assert_int_equal(T.nset, 1);
	/* a backend that cannot change: the count stays */
	T.refuse_pairs = true;
	assert_int_equal(set_pairs(1), VIRTIO_NET_ERR);
	assert_int_equal(net_dev__pairs_in_use(T.nd), 2);
	assert_int_equal(polled(1), EPOLLIN);
	T.refuse_pairs = false;
	assert_int_equal(set_pairs(1), VIRTIO_NET_OK);
	assert_int_equal(polled(1), 0);
	assert_int_equal(set_pairs(2), VIRTIO_NET_OK);
	/* a reset goes back to one pair, the backend too */
	T.nset = 0;
	dev_reset();
	assert_int_equal(net_dev__pairs_in_use(T.nd), 1);
	assert_int_equal(T.nset, 1);
	assert_int_equal(T.set_pairs[0], 1);
	assert_int_equal(T.needs_reset, 0);
}

/* Each pair's queues on its own fd; a pair beyond the count receives
 * nothing but still transmits. */
static void test_pairs_datapath(void **state)
{
	const uint32_t rxl = 2048, txl[2] = { HDR, 60 };
	const bool w = true, r2[2] = { false, false };
	uint8_t pkt[HDR + 60] = { 0 }, got[256];

	dev_up(BASE | F(VIRTIO_NET_F_MQ), NQ);
	assert_int_equal(set_pairs(2), VIRTIO_NET_OK);
	for (int p = 0; p < PAIRS; p++)
		for (int i = 0; i < 4; i++)
			drv_add(NET_RXQ(p), &rxl, &w, 1);
	/* the network sends one frame on each queue fd */
	memcpy(pkt + HDR, MAC, 6);
	for (int p = 0; p < PAIRS; p++) {
		pkt[HDR + 20] = (uint8_t)p;
		assert_int_equal(send(T.fd[p][1], pkt, sizeof(pkt), 0), sizeof(pkt));
	}
	assert_true(fake_loop_settle(0, "busy") >= 2);
	for (int p = 0; p < PAIRS; p++) {
		uint16_t id = (uint16_t)le32toh(T.q[NET_RXQ(p)].u->ring[0].id);

		assert_int_equal(used_idx(NET_RXQ(p)), 1);
		assert_int_equal(((uint8_t *)desc_buf(NET_RXQ(p), id))[HDR + 20], p);
	}
	/* transmit on pair 1 goes to pair 1's fd */
	drv_add(NET_TXQ(1), txl, r2, 2);
	kick(NET_TXQ(1));
	assert_int_equal(T.ntx, 1);
	assert_int_equal(T.tx_pair[0], 1);
	assert_int_equal(recv(T.fd[1][1], got, sizeof(got), MSG_DONTWAIT), HDR + 60);
	assert_int_equal(used_idx(NET_TXQ(1)), 1);

	/* down to one pair: pair 1 is not read, its transmitq still served */
	assert_int_equal(set_pairs(1), VIRTIO_NET_OK);
	assert_int_equal(send(T.fd[1][1], pkt, sizeof(pkt), 0), sizeof(pkt));
	fake_loop_settle(0, "busy");
	assert_int_equal(used_idx(NET_RXQ(1)), 1);
	drv_add(NET_TXQ(1), txl, r2, 2);
	kick(NET_TXQ(1));
	assert_int_equal(used_idx(NET_TXQ(1)), 2);
	/* up again: the frame that waited is delivered */
	assert_int_equal(set_pairs(2), VIRTIO_NET_OK);
	fake_loop_settle(0, "busy");
	assert_int_equal(used_idx(NET_RXQ(1)), 2);
	assert_int_equal(T.needs_reset, 0);
}

/* Per-pair counters (`vmm stat`'s "queues"): traffic on pair 1 only
 * shows in pair 1's, pair 0's stay 0, and the device's totals are the
 * pairs' sums. */
static void test_pair_counters(void **state)
{
	const uint32_t rxl = 2048, txl[2] = { HDR, 60 };
	const bool w = true, r2[2] = { false, false };
	uint8_t pkt[HDR + 60] = { 0 }, got[256];
	struct net_queue_stats q0, q1, none;
	struct net_dev_stats all;

	dev_up(BASE | F(VIRTIO_NET_F_MQ), NQ);
	assert_int_equal(set_pairs(2), VIRTIO_NET_OK);
	assert_int_equal(net_dev__max_pairs(T.nd), PAIRS);
	for (int i = 0; i < 4; i++)
		drv_add(NET_RXQ(1), &rxl, &w, 1);
	kick(NET_RXQ(1));
	memcpy(pkt + HDR, MAC, 6);
	for (int i = 0; i < 3; i++)
		assert_int_equal(send(T.fd[1][1], pkt, sizeof(pkt), 0), sizeof(pkt));
	assert_true(fake_loop_settle(0, "busy") >= 1);
	assert_int_equal(used_idx(NET_RXQ(1)), 3);
	drv_add(NET_TXQ(1), txl, r2, 2);
	kick(NET_TXQ(1));
	assert_int_equal(recv(T.fd[1][1], got, sizeof(got), MSG_DONTWAIT), HDR + 60);

	net_dev__queue_stats(T.nd, 0, &q0);
	net_dev__queue_stats(T.nd, 1, &q1);
	net_dev__stats(T.nd, &all);
	assert_int_equal(q1.rx_packets, 3);
	assert_int_equal(q1.rx_bytes, 3 * 60);
	assert_int_equal(q1.tx_packets, 1);
	assert_int_equal(q1.tx_bytes, 60);
	assert_int_equal(q1.rx_kicks, 1);
	assert_int_equal(q1.tx_kicks, 1);
	assert_true(q1.rx_interrupts >= 1 && q1.tx_interrupts == 1);
	for (size_t i = 0; i < sizeof(q0) / sizeof(uint64_t); i++)
		assert_int_equal(((uint64_t *)&q0)[i], 0);
	assert_int_equal(all.rx_packets, q1.rx_packets);
	assert_int_equal(all.tx_bytes, q1.tx_bytes);
	assert_int_equal(all.rx_interrupts, q1.rx_interrupts);
	assert_int_equal(all.tx_kicks, q1.tx_kicks);
	/* a pair the device does not have: zeros, not memory beyond it */
	memset(&none, 0xff, sizeof(none));
	net_dev__queue_stats(T.nd, PAIRS, &none);
	assert_int_equal(none.rx_packets, 0);
	assert_int_equal(T.needs_reset, 0);
}

/* A malicious driver's control chains: no ack byte, a descriptor outside
 * RAM. One NEEDS_RESET, no crash, nothing more served until a reset. */
static void test_bad_ctrl_chains(void **state)
{
	const uint32_t l[1] = { 4 };
	const bool ro[1] = { false };
	uint16_t head;

	dev_up(BASE | F(VIRTIO_NET_F_MQ), NQ);
	head = drv_add(4, l, ro, 1);           /* no writable byte */
	memcpy(desc_buf(4, head), "\4\0\2\0", 4);
	kick(4);
	assert_int_equal(T.needs_reset, 1);
	assert_int_equal(net_dev__pairs_in_use(T.nd), 1);
	kick(4);
	assert_false(net_dev__running(T.nd));
	assert_int_equal(T.needs_reset, 1);

	dev_up(BASE | F(VIRTIO_NET_F_MQ), NQ);
	head = drv_add(4, l, ro, 1);
	T.q[4].d[head].addr = htole64(RAM_GPA + RAM_SIZE - 2);   /* runs off the end */
	kick(4);
	assert_int_equal(T.needs_reset, 2);
	kick(4);
	assert_int_equal(T.needs_reset, 2);
	/* after a reset it works again */
	dev_up(BASE | F(VIRTIO_NET_F_MQ), NQ);
	assert_int_equal(set_pairs(2), VIRTIO_NET_OK);
}

/* The live switch moves every negotiated pair, and held receive buffers
 * of each pair go back to its ring first. */
static void test_live_switch_two_pairs(void **state)
{
	const uint32_t rxl = 2048;
	const bool w = true;
	char err[128];

	dev_up(BASE | F(VIRTIO_NET_F_MQ), NQ);
	assert_int_equal(set_pairs(2), VIRTIO_NET_OK);
	for (int p = 0; p < PAIRS; p++)
		for (int i = 0; i < 2; i++)
			drv_add(NET_RXQ(p), &rxl, &w, 1);
	/* a frame on each takes one buffer; each pair holds the other ahead */
	for (int p = 0; p < PAIRS; p++) {
		uint8_t pkt[HDR + 60] = { 0 };

		memcpy(pkt + HDR, MAC, 6);
		assert_int_equal(send(T.fd[p][1], pkt, sizeof(pkt), 0), sizeof(pkt));
	}
	fake_loop_settle(0, "busy");
	T.offload = true;
	assert_int_equal(net_dev__set_offload(T.nd, true, err, sizeof(err)), 0);
	assert_true(net_dev__offloaded(T.nd));
	assert_int_equal(polled(0), 0);
	assert_int_equal(polled(1), 0);
	for (int p = 0; p < PAIRS; p++) {
		assert_int_equal(used_idx(NET_RXQ(p)), 1);
		assert_int_equal(virtqueue__get_last_avail(&T.vdev->vq[NET_RXQ(p)]), 1);
	}
	/* the pair count still reaches the backend while it runs them */
	T.nset = 0;
	assert_int_equal(set_pairs(1), VIRTIO_NET_OK);
	assert_int_equal(T.nset, 1);
	assert_int_equal(net_dev__set_offload(T.nd, false, err, sizeof(err)), 0);
	assert_int_equal(T.stops, 1);
	assert_int_equal(polled(0), EPOLLIN);
	assert_int_equal(polled(1), 0);
	assert_int_equal(set_pairs(2), VIRTIO_NET_OK);
	assert_int_equal(polled(1), EPOLLIN);
	assert_int_equal(T.needs_reset, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offer_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_queue_without_mq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vq_pairs_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pairs_datapath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pair_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ctrl_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_switch_two_pairs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
