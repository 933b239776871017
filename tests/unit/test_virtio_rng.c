/* test_virtio_rng.c — the virtio-rng device model driven the way a guest
 * driver and the virtio-pci transport would: rings in a malloc'd "guest
 * RAM", a fake transport counting interrupts and reset requests.
 *
 * The I/O loop is faked at link time (tests/common/fake_loop.h): the
 * device's timerfd and serve eventfd land in a table that pump() polls
 * and dispatches on this thread; pump() may wait (the rate limit's timer)
 * and fails the test when the device keeps the loop busy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "tests/common/fake_loop.h"
#include "tests/unit/guest_ram.h"
#include "virtio/rng.h"
#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/util.h"

#define RAM_GPA   0x100000ULL
#define RAM_SIZE  (4 * MiB)
#define DESC_OFF  0x0ULL
#define AVAIL_OFF 0x8000ULL
#define USED_OFF  0x10000ULL
#define DATA_OFF  0x100000ULL
#define QSIZE     128
#define F(b)      (1ULL << (b))

struct seg {
	uint32_t len;
	bool write;
};

static struct {
	uint8_t *ram;
	struct guest_mem mem;
	struct loop loop;
	struct rng_dev *rd;
	struct virtio_dev *vdev;
	uint16_t next_desc, avail_idx;
	struct vring_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
	uint64_t next_data;
	int signals, needs_reset;
} T;

/* ---- fake loop (tests/common/fake_loop.h) ------------------------------- */

/* Dispatch ready events until none is left, the first poll waiting up to
 * wait_ms; returns the callbacks made. */
static int pump(int wait_ms)
{
	return fake_loop_settle(wait_ms, "the device keeps the loop busy");
}

/* ---- fake transport ------------------------------------------------------ */

static void tr_signal(struct virtio_dev *v, int q) { T.signals++; }
static void tr_config(struct virtio_dev *v) { }
static void tr_needs_reset(struct virtio_dev *v) { T.needs_reset++; }

static const struct virtio_transport_ops tr_ops = {
	.signal_queue = tr_signal, .signal_config = tr_config, .needs_reset = tr_needs_reset,
};

/* ---- guest RAM and the driver --------------------------------------------- */

static uint64_t gpa(uint64_t off) { return RAM_GPA + off; }
static void *hva(uint64_t g) { return T.ram + (g - RAM_GPA); }

static uint16_t drv_add(const struct seg *s, int n)
{
	uint16_t head = T.next_desc;

	for (int k = 0; k < n; k++) {
		uint16_t i = (head + k) % QSIZE, nx = (head + k + 1) % QSIZE;
		uint64_t g = gpa(T.next_data);

		T.next_data += (s[k].len + 15) & ~15u;
		assert_true(T.next_data < RAM_SIZE);
		T.d[i].addr = htole64(g);
		T.d[i].len = htole32(s[k].len);
		T.d[i].flags = htole16((s[k].write ? VRING_DESC_F_WRITE : 0) |
				       (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		T.d[i].next = htole16(nx);
	}
	T.next_desc = (head + n) % QSIZE;
	T.a->ring[T.avail_idx % QSIZE] = htole16(head);
	T.avail_idx++;
	__atomic_store_n(&T.a->idx, htole16(T.avail_idx), __ATOMIC_RELEASE);
	return head;
}

static uint8_t *desc_buf(uint16_t i) { return hva(le64toh(T.d[i % QSIZE].addr)); }
static uint16_t used_idx(void) { return le16toh(__atomic_load_n(&T.u->idx, __ATOMIC_ACQUIRE)); }
static uint32_t used_id(uint16_t i) { return le32toh(T.u->ring[i % QSIZE].id); }
static uint32_t used_len(uint16_t i) { return le32toh(T.u->ring[i % QSIZE].len); }

static void kick(void)
{
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->notify(T.vdev, RNG_QUEUE);
	pthread_mutex_unlock(&T.vdev->lock);
}

static void dev_reset(void)
{
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->reset(T.vdev);
	virtqueue__reset(&T.vdev->vq[RNG_QUEUE]);
	T.vdev->features = 0;
	pthread_mutex_unlock(&T.vdev->lock);
}

/* Reset, negotiate, set up the queue; DRIVER_OK unless 'hold'. */
static void dev_up(bool hold)
{
	struct virtio_dev *v = T.vdev;
	uint64_t f = F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX);

	dev_reset();
	memset(T.ram, 0, RAM_SIZE);
	T.next_data = DATA_OFF;
	T.next_desc = T.avail_idx = 0;
	pthread_mutex_lock(&v->lock);
	assert_int_equal(v->ops->set_features(v, f), 0);
	v->features = f;
	assert_int_equal(virtqueue__enable(&v->vq[RNG_QUEUE], &T.mem, QSIZE, gpa(DESC_OFF),
					   gpa(AVAIL_OFF), gpa(USED_OFF), true, false), 0);
	assert_int_equal(v->ops->queue_enable(v, RNG_QUEUE), 0);
	if (!hold)
		v->ops->driver_ok(v);
	pthread_mutex_unlock(&v->lock);
	pump(0);   /* DRIVER_OK's serve request: nothing queued yet */
	T.signals = T.needs_reset = 0;
}

static struct rng_dev_stats stats(void)
{
	struct rng_dev_stats s;

	rng_dev__stats(T.rd, &s);
	return s;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- set-up ---------------------------------------------------------------- */

static int make(uint64_t rate, uint64_t burst)
{
	struct rng_dev_config cfg = { .loop = &T.loop, .rate = rate, .burst = burst,
				      .queue_size = QSIZE };

	T.rd = rng_dev__create(&cfg);
	assert_non_null(T.rd);
	T.vdev = rng_dev__virtio(T.rd);
	T.vdev->transport = &tr_ops;
	pthread_mutex_init(&T.vdev->lock, NULL);
	return 0;
}

static int setup(void **state)
{
	memset(&T, 0, sizeof(T));
	fake_loop_reset();
	T.ram = guest_ram_new(&T.mem, RAM_GPA, RAM_SIZE);
	T.d = hva(gpa(DESC_OFF));
	T.a = hva(gpa(AVAIL_OFF));
	T.u = hva(gpa(USED_OFF));
	log__verbosity = LOG_ERR;   /* expected violations warn */
	return 0;
}

static int setup_default(void **state)
{
	setup(state);
	return make(0, 0);
}

/* 64 KB/s, a 1 KiB bucket: dry after 1 KiB, full again 16 ms later. */
static int setup_slow(void **state)
{
	setup(state);
	return make(64000, 1024);
}

static int teardown(void **state)
{
	pthread_mutex_destroy(&T.vdev->lock);
	rng_dev__destroy(T.rd);
	for (int i = 0; i < FAKE_LOOP_MAX; i++)
		assert_false(fake_loop[i].live);   /* destroy unregistered everything */
	free(T.ram);
	guest_mem__destroy(&T.mem);
	return 0;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_features_and_config(void **state)
{
	struct virtio_dev *v = T.vdev;
	uint8_t cfg[8];

	assert_int_equal(v->device_id, 4);
	assert_true(v->ops->get_features(v) & F(VIRTIO_F_VERSION_1));
	pthread_mutex_lock(&v->lock);
	assert_int_equal(v->ops->set_features(v, F(VIRTIO_RING_F_EVENT_IDX)), -1);
	assert_int_equal(v->ops->set_features(v, F(VIRTIO_F_VERSION_1) | F(40)), -1);
	memset(cfg, 0xff, sizeof(cfg));
	v->ops->read_config(v, 0, cfg, sizeof(cfg));   /* no config space */
	assert_true(all_zero(cfg, sizeof(cfg)));
	/* DRIVER_OK without VERSION_1 accepted */
	v->ops->driver_ok(v);
	pthread_mutex_unlock(&v->lock);
	assert_int_equal(T.needs_reset, 1);
	assert_int_equal(stats().needs_reset, 1);
}

static void test_bytes_delivered(void **state)
{
	const struct seg one[] = { { 64, true } };
	const struct seg three[] = { { 16, true }, { 100, true }, { 7, true } };
	uint16_t h1, h2;

	dev_up(false);
	h1 = drv_add(one, 1);
	h2 = drv_add(three, 3);
	kick();
	assert_int_equal(used_idx(), 2);
	assert_int_equal(used_id(0), h1);
	assert_int_equal(used_len(0), 64);
	assert_int_equal(used_id(1), h2);
	assert_int_equal(used_len(1), 16 + 100 + 7);
	/* every buffer written (odds of an all-zero 7 bytes: 2^-56) */
	assert_false(all_zero(desc_buf(h1), 64));
	for (int k = 0; k < 3; k++)
		assert_false(all_zero(desc_buf((uint16_t)(h2 + k)), three[k].len));
	assert_int_equal(T.signals, 1);   /* one batch, one interrupt */
	assert_int_equal(stats().requests, 2);
	assert_int_equal(stats().bytes, 64 + 123);
	assert_int_equal(stats().kicks, 1);
	assert_int_equal(pump(0), 0);     /* nothing left to do */
}

/* Requests made before DRIVER_OK get no kick: DRIVER_OK hands them to
 * the I/O thread (the serve eventfd). */
static void test_before_driver_ok(void **state)
{
	const struct seg s[] = { { 32, true } };

	dev_up(true);
	drv_add(s, 1);
	kick();                            /* not running: ignored */
	assert_int_equal(used_idx(), 0);
	pthread_mutex_lock(&T.vdev->lock);
	T.vdev->ops->driver_ok(T.vdev);
	pthread_mutex_unlock(&T.vdev->lock);
	assert_int_equal(used_idx(), 0);   /* not on the vCPU thread */
	assert_true(pump(0) >= 1);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_len(0), 32);
}

static void test_readable_buffer_needs_reset(void **state)
{
	const struct seg bad[] = { { 16, false }, { 16, true } };
	const struct seg good[] = { { 16, true } };

	dev_up(false);
	drv_add(good, 1);
	drv_add(bad, 2);
	kick();
	assert_int_equal(T.needs_reset, 1);
	assert_int_equal(used_idx(), 0);   /* the batch is dropped */
	drv_add(good, 1);
	kick();                            /* stopped until reset */
	assert_int_equal(used_idx(), 0);
	assert_int_equal(T.needs_reset, 1);
	assert_int_equal(stats().needs_reset, 1);

	/* A reset brings it back. */
	dev_up(false);
	drv_add(good, 1);
	kick();
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_len(0), 16);
	assert_int_equal(T.needs_reset, 0);
}

/* A broken ring (head out of range) is NEEDS_RESET too, not a crash. */
static void test_bad_ring_needs_reset(void **state)
{
	dev_up(false);
	T.a->ring[0] = htole16(QSIZE + 5);
	__atomic_store_n(&T.a->idx, htole16(1), __ATOMIC_RELEASE);
	kick();
	assert_int_equal(T.needs_reset, 1);
	assert_int_equal(used_idx(), 0);
}

/* A batch stops at 64 chains; the rest is served on the loop's next
 * turn, through the serve eventfd. */
static void test_batch_limit(void **state)
{
	const struct seg s[] = { { 1, true } };

	dev_up(false);
	for (int i = 0; i < 100; i++)
		drv_add(s, 1);
	kick();
	assert_int_equal(used_idx(), 64);
	assert_int_equal(T.signals, 1);
	assert_true(pump(0) >= 1);
	assert_int_equal(used_idx(), 100);
	assert_int_equal(stats().requests, 100);
}

static void test_rate_limit(void **state)
{
	const struct seg big[] = { { 1500, true } };
	const struct seg kb[] = { { 1024, true } };
	uint64_t t0;

	dev_up(false);
	drv_add(big, 1);
	drv_add(kb, 1);
	drv_add(kb, 1);
	kick();
	/* the whole bucket into the first chain, then dry */
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_len(0), 1024);
	assert_int_equal(stats().throttled, 1);
	kick();                             /* the timer is pending: no work */
	assert_int_equal(used_idx(), 1);
	assert_int_equal(stats().throttled, 1);

	/* 1 KiB back after ~16 ms: the timer serves the next chain */
	t0 = util__now_ns();
	while (used_idx() < 2 && util__now_ns() - t0 < 2000000000ULL)
		pump(100);
	assert_int_equal(used_idx(), 2);
	assert_int_equal(used_len(1), 1024);
	assert_true(util__now_ns() - t0 >= 10000000ULL);   /* not served at once */
	assert_int_equal(stats().throttled, 2);
	while (used_idx() < 3 && util__now_ns() - t0 < 2000000000ULL)
		pump(100);
	assert_int_equal(used_idx(), 3);
	assert_int_equal(stats().bytes, 3 * 1024);
}

static void test_bad_config(void **state)
{
	struct loop l;

	assert_null(rng_dev__create(&(struct rng_dev_config){ .loop = NULL }));
	assert_null(rng_dev__create(&(struct rng_dev_config){ .loop = &l, .queue_size = 48 }));
	assert_null(rng_dev__create(&(struct rng_dev_config){ .loop = &l, .burst = 1ULL << 40 }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features_and_config, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_bytes_delivered, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_before_driver_ok, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_readable_buffer_needs_reset, setup_default,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_ring_needs_reset, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_batch_limit, setup_default, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup_slow, teardown),
		cmocka_unit_test(test_bad_config),
	};

	log__verbosity = LOG_ERR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
