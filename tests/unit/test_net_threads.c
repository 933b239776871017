/* test_net_threads.c — virtio-net with each queue pair on a thread of its
 * own, as vmm runs it (net_tap.c gives every pair a loop): real loops
 * (vmm/loop.c), each queue's doorbell an eventfd polled on the loop the
 * device names for it (virtio_dev_ops.queue_loop), as the virtio-pci
 * transport does. A guest thread per pair and direction moves frames on
 * its pair while the main thread changes the device under them: a
 * hand-over to the backend that it declines (receive buffers given back,
 * TX rescheduled), receive-filter and queue-count commands on the control
 * queue, counter reads. Checks: every frame arrives once, in order, on
 * its own pair, both ways, and the counters agree; a violation found on
 * a pair's thread is reported (NEEDS_RESET) by the I/O thread; without
 * MQ, queue 2 (the control queue, polled by pair 1's loop) is served.
 *
 * The backend is one SOCK_SEQPACKET socketpair per pair (a tap queue's
 * fd); every wait is on an eventfd or socket with a bounded poll().
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "tests/unit/guest_ram.h"
#include "tests/unit/vring_drv.h"
#include "virtio/net.h"
#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/util.h"

#define RAM_GPA   0x100000ULL
#define RAM_SIZE  (16 * MiB)
#define DATA(q)   (0x100000ULL + (uint64_t)(q) * 0x40000)   /* QSIZE slots of 2 KiB */
#define SLOT      2048
#define QSIZE     64
#define PAIRS     2
#define NQ        (2 * PAIRS + 1)
#define HDR       12
#define FRAME     64
#define FRAMES    4000          /* per pair and direction */
#define WAIT_MS   10000         /* any single wait; a hang fails the test */
#define F(b)      (1ULL << (b))
#define ETH_TEST  0x88b5        /* local experimental ethertype */

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint64_t FEAT = F(VIRTIO_F_VERSION_1) | F(VIRTIO_NET_F_MAC) |
	F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX);

static struct {
	uint8_t *ram;
	struct guest_mem mem;
	struct loop io, pl[PAIRS];
	struct net_dev *nd;
	struct virtio_dev *vdev;
	struct vring_drv q[NQ];
	int fd[PAIRS][2];          /* [p][0] the device's queue fd, [p][1] the network */
	int kick[NQ], irq[NQ];     /* doorbells, and interrupts as eventfds */
	int reset_fd;              /* written by the transport's needs_reset */
	bool running;              /* traffic threads still at work */
} T;

/* ---- fake transport and backend ------------------------------------------ */

static void efd_write(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

/* Wait up to WAIT_MS for fd to be readable (then drain an eventfd). */
static void efd_wait(int fd, bool drain)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint64_t v;

	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	if (drain)
		assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
}

static void tr_signal(struct virtio_dev *v, int q) { efd_write(T.irq[q]); }
static void tr_config(struct virtio_dev *v) { }
static void tr_needs_reset(struct virtio_dev *v) { efd_write(T.reset_fd); }

static const struct virtio_transport_ops tr_ops = {
	.signal_queue = tr_signal, .signal_config = tr_config, .needs_reset = tr_needs_reset,
};

static ssize_t be_tx(void *b, unsigned pair, const struct iovec *iov, int cnt)
{
	return writev(T.fd[pair][0], iov, cnt);
}

static ssize_t be_rx(void *b, unsigned pair, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

	return recvmsg(T.fd[pair][0], &m, MSG_TRUNC);
}

static int be_hdr(void *b, unsigned len) { return 0; }
static int be_offload(void *b, uint64_t f) { return 0; }
static int be_fd(void *b, unsigned pair) { return pair < PAIRS ? T.fd[pair][0] : -1; }
static int be_set_pairs(void *b, unsigned n) { return 0; }
static int be_start(void *b, struct virtio_dev *v, uint64_t f) { return 1; }   /* declines */
static void be_stop(void *b, struct virtio_dev *v) { }

static const struct net_backend_ops be_ops = {
	.tx = be_tx, .rx = be_rx, .set_vnet_hdr_len = be_hdr, .set_offload = be_offload,
	.rx_fd = be_fd, .set_queue_pairs = be_set_pairs, .start = be_start, .stop = be_stop,
};

/* The transport's doorbell: on the device's own loop without vdev->lock,
 * on the I/O loop under it (virtio/pci.c, queue_kick). */
static void on_kick(void *opaque, uint32_t events)
{
	int q = (int)(intptr_t)opaque;
	uint64_t v;

	if (read(T.kick[q], &v, sizeof(v)) < 0)
		return;
	if (T.vdev->ops->queue_loop(T.vdev, q)) {
		T.vdev->ops->notify_on_loop(T.vdev, q);
		return;
	}
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->notify(T.vdev, q);
	pthread_mutex_unlock(&T.vdev->lock);
}

/* ---- the driver ---------------------------------------------------------- */

/* Kick unless the device said it does not need one (no event-idx). */
static void drv_kick(int q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);   /* avail idx before used flags */
	if (!(le16toh(__atomic_load_n(&T.q[q].u->flags, __ATOMIC_RELAXED)) & VRING_USED_F_NO_NOTIFY))
		efd_write(T.kick[q]);
}

/* One buffer in slot 'next_desc' of queue q (one-descriptor chains, so
 * descriptors and slots are reused in ring order). */
static void drv_post(int q, uint32_t len, bool wr)
{
	uint64_t at = RAM_GPA + DATA(q) + (uint64_t)T.q[q].next_desc * SLOT;

	vring_drv__add(&T.q[q], &at, &len, &wr, 1);
}

static void dev_up(uint64_t features, int nq)
{
	struct virtio_dev *v = T.vdev;

	pthread_mutex_lock(&v->lock);
	v->ops->reset(v);
	for (int q = 0; q < NQ; q++)
		virtqueue__reset(&v->vq[q]);
	pthread_mutex_unlock(&v->lock);
	vring_drv__start(v, T.q, nq, T.ram, RAM_GPA, &T.mem, QSIZE, features);
}

/* A control command on queue q from this thread, kicked through its
 * doorbell like the others; waits for the ack. */
static uint8_t ctrl(int q, uint8_t class, uint8_t cmd, const void *data, uint32_t len)
{
	const uint32_t l[3] = { 2, len, 1 };
	const bool wr[3] = { false, false, true };
	uint64_t at[3] = { RAM_GPA + DATA(q), RAM_GPA + DATA(q) + 64, RAM_GPA + DATA(q) + 128 };
	uint16_t u = vring_drv__used_idx(&T.q[q]);
	uint8_t *b = vring_drv__hva(&T.q[q], at[0]);

	b[0] = class;
	b[1] = cmd;
	memcpy(b + 64, data, len);
	b[128] = 0xee;
	vring_drv__add(&T.q[q], at, l, wr, 3);
	efd_write(T.kick[q]);
	while (vring_drv__used_idx(&T.q[q]) == u)
		efd_wait(T.irq[q], true);
	return b[128];
}

/* ---- traffic ------------------------------------------------------------- */

static void frame_fill(uint8_t *f, unsigned pair, uint32_t seq)
{
	memcpy(f, MAC, 6);
	memset(f + 6, 0x02, 6);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	f[14] = (uint8_t)pair;
	memcpy(f + 15, &seq, sizeof(seq));
}

static void frame_check(const uint8_t *f, size_t len, unsigned pair, uint32_t seq)
{
	uint32_t got;

	assert_int_equal(len, FRAME);
	assert_int_equal(f[14], pair);
	memcpy(&got, f + 15, sizeof(got));
	assert_int_equal(got, seq);
}

/* The guest's transmit on pair p: FRAMES frames, at most QSIZE in flight. */
static void *guest_tx(void *arg)
{
	unsigned p = (unsigned)(uintptr_t)arg;
	int q = NET_TXQ(p);
	uint32_t seq = 0, done = 0;

	while (done < FRAMES) {
		bool added = false;

		while (seq < FRAMES && seq - done < QSIZE) {
			uint16_t slot = T.q[q].next_desc;
			uint8_t *b = vring_drv__hva(&T.q[q], RAM_GPA + DATA(q) + (uint64_t)slot * SLOT);

			memset(b, 0, HDR);
			frame_fill(b + HDR, p, seq++);
			drv_post(q, HDR + FRAME, false);
			added = true;
		}
		if (added)
			drv_kick(q);
		if (vring_drv__used_idx(&T.q[q]) == (uint16_t)done)
			efd_wait(T.irq[q], true);
		done = vring_drv__used_idx(&T.q[q]);   /* FRAMES < 65536: no wrap */
	}
	return NULL;
}

/* The network's end of pair p's queue: the frames pair p sent, in order. */
static void *net_rx(void *arg)
{
	unsigned p = (unsigned)(uintptr_t)arg;
	uint8_t f[2048];

	for (uint32_t seq = 0; seq < FRAMES;) {
		ssize_t n = recv(T.fd[p][1], f, sizeof(f), 0);

		if (n < 0 && errno == EAGAIN) {
			efd_wait(T.fd[p][1], false);
			continue;
		}
		assert_true(n > HDR);
		frame_check(f + HDR, (size_t)n - HDR, p, seq++);
	}
	return NULL;
}

/* The network sends FRAMES frames into pair p's queue. */
static void *net_tx(void *arg)
{
	unsigned p = (unsigned)(uintptr_t)arg;
	uint8_t f[HDR + FRAME] = { 0 };

	for (uint32_t seq = 0; seq < FRAMES;) {
		struct pollfd w = { .fd = T.fd[p][1], .events = POLLOUT };

		frame_fill(f + HDR, p, seq);
		if (send(T.fd[p][1], f, sizeof(f), 0) == (ssize_t)sizeof(f)) {
			seq++;
			continue;
		}
		assert_int_equal(errno, EAGAIN);
		assert_int_equal(poll(&w, 1, WAIT_MS), 1);
	}
	return NULL;
}

/* The guest's receive on pair p: QSIZE buffers posted, each frame checked
 * and its buffer posted again. */
static void *guest_rx(void *arg)
{
	unsigned p = (unsigned)(uintptr_t)arg;
	int q = NET_RXQ(p);
	uint16_t seen = 0;

	for (int i = 0; i < QSIZE; i++)
		drv_post(q, SLOT, true);
	drv_kick(q);
	for (uint32_t seq = 0; seq < FRAMES;) {
		if (vring_drv__used_idx(&T.q[q]) == seen) {
			efd_wait(T.irq[q], true);
			continue;
		}
		while (seen != vring_drv__used_idx(&T.q[q])) {
			struct vring_used_elem e = vring_drv__used(&T.q[q], seen++);
			const uint8_t *b = vring_drv__buf(&T.q[q], (uint16_t)e.id);

			assert_true(e.len > HDR);
			frame_check(b + HDR, e.len - HDR, p, seq++);
			drv_post(q, SLOT, true);
		}
		drv_kick(q);
	}
	return NULL;
}

/* ---- fixture ------------------------------------------------------------- */

static int setup(void **state)
{
	struct net_dev_config cfg = { .backend = &be_ops, .loop = &T.io, .queue_size = QSIZE,
				      .queue_pairs = PAIRS };

	memset(&T, 0, sizeof(T));
	log__verbosity = LOG_ERR;   /* the expected violation warns */
	T.ram = guest_ram_new(&T.mem, RAM_GPA, RAM_SIZE);
	assert_int_equal(loop__init(&T.io), 0);
	for (int p = 0; p < PAIRS; p++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, T.fd[p]), 0);
		assert_int_equal(loop__init(&T.pl[p]), 0);
		cfg.pair_loop[p] = &T.pl[p];
	}
	memcpy(cfg.mac, MAC, 6);
	T.nd = net_dev__create(&cfg);
	assert_non_null(T.nd);
	T.vdev = net_dev__virtio(T.nd);
	T.vdev->transport = &tr_ops;
	pthread_mutex_init(&T.vdev->lock, NULL);
	T.reset_fd = eventfd(0, EFD_CLOEXEC);
	for (int q = 0; q < NQ; q++) {
		struct loop *l = T.vdev->ops->queue_loop(T.vdev, q);

		T.kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		T.irq[q] = eventfd(0, EFD_CLOEXEC);
		assert_int_equal(loop__add(l ? l : &T.io, T.kick[q], EPOLLIN, on_kick,
					   (void *)(intptr_t)q), 0);
	}
	/* queue 2k and 2k+1 are pair k's, the control queue (4) the I/O loop's */
	assert_ptr_equal(T.vdev->ops->queue_loop(T.vdev, 2), &T.pl[1]);
	assert_null(T.vdev->ops->queue_loop(T.vdev, 4));
	assert_int_equal(loop__start(&T.io), 0);
	for (int p = 0; p < PAIRS; p++)
		assert_int_equal(loop__start(&T.pl[p]), 0);
	return 0;
}

static int teardown(void **state)
{
	loop__stop(&T.io);
	for (int p = 0; p < PAIRS; p++)
		loop__stop(&T.pl[p]);
	for (int q = 0; q < NQ; q++) {
		struct loop *l = T.vdev->ops->queue_loop(T.vdev, q);

		loop__del(l ? l : &T.io, T.kick[q]);
		close(T.kick[q]);
		close(T.irq[q]);
	}
	net_dev__destroy(T.nd);
	loop__destroy(&T.io);
	for (int p = 0; p < PAIRS; p++) {
		loop__destroy(&T.pl[p]);
		close(T.fd[p][0]);
		close(T.fd[p][1]);
	}
	close(T.reset_fd);
	free(T.ram);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

/* Both pairs, both ways at once, while the device is changed under them. */
static void test_pairs_in_parallel(void **state)
{
	pthread_t th[4 * PAIRS];
	struct net_queue_stats qs;
	struct net_dev_stats s;
	uint16_t two = htole16(2), one = htole16(1);
	int n = 0, changes = 0;

	dev_up(FEAT | F(VIRTIO_NET_F_MQ), NQ);
	assert_int_equal(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &two, 2),
			 VIRTIO_NET_OK);
	for (uintptr_t p = 0; p < PAIRS; p++) {
		assert_int_equal(pthread_create(&th[n++], NULL, guest_tx, (void *)p), 0);
		assert_int_equal(pthread_create(&th[n++], NULL, net_rx, (void *)p), 0);
		assert_int_equal(pthread_create(&th[n++], NULL, net_tx, (void *)p), 0);
		assert_int_equal(pthread_create(&th[n++], NULL, guest_rx, (void *)p), 0);
	}
	/* Until the guest has received everything on pair 1 (the last
	 * receiver): device-wide changes, each under every pair's lock. */
	do {
		char err[128];
		uint8_t on = changes & 1;

		assert_int_equal(net_dev__set_offload(T.nd, true, err, sizeof(err)), -1);
		assert_int_equal(ctrl(4, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
				 VIRTIO_NET_OK);
		assert_int_equal(ctrl(4, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
				      changes % 4 == 1 ? &one : &two, 2), VIRTIO_NET_OK);
		net_dev__stats(T.nd, &s);
		changes++;
	} while (s.rx_packets < PAIRS * FRAMES && changes < 100000);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	net_dev__stats(T.nd, &s);
	assert_int_equal(s.tx_packets, PAIRS * FRAMES);
	assert_int_equal(s.rx_packets, PAIRS * FRAMES);
	assert_int_equal(s.needs_reset, 0);
	for (unsigned p = 0; p < PAIRS; p++) {
		net_dev__queue_stats(T.nd, p, &qs);
		assert_int_equal(qs.tx_packets, FRAMES);
		assert_int_equal(qs.rx_packets, FRAMES);
	}
	assert_true(changes > 1);
	print_message("    %d device-wide changes during the traffic\n", changes);
}

/* A bad chain on pair 1's thread: the pair stops, the I/O thread reports. */
static void test_violation_on_pair_thread(void **state)
{
	struct net_dev_stats s;

	dev_up(FEAT | F(VIRTIO_NET_F_MQ), NQ);
	drv_post(NET_TXQ(1), HDR + FRAME, true);   /* device-writable: not a TX chain */
	efd_write(T.kick[NET_TXQ(1)]);
	efd_wait(T.reset_fd, true);
	net_dev__stats(T.nd, &s);
	assert_int_equal(s.needs_reset, 1);
	assert_false(net_dev__running(T.nd));
	assert_int_equal(vring_drv__used_idx(&T.q[NET_TXQ(1)]), 0);
}

/* Without MQ the control queue is queue 2, whose doorbell pair 1's loop
 * polls: its commands are still served (on the I/O thread). */
static void test_ctrl_on_pair_loop(void **state)
{
	uint8_t on = 1;
	struct net_dev_stats s;

	dev_up(FEAT, 3);
	assert_int_equal(ctrl(2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1),
			 VIRTIO_NET_OK);
	net_dev__stats(T.nd, &s);
	assert_int_equal(s.ctrl_kicks, 1);
	assert_int_equal(s.needs_reset, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pairs_in_parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_violation_on_pair_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_on_pair_loop, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
