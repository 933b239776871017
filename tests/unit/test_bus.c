/* test_bus.c — the bus's handlers run without its lock: a handler that
 * (un)registers ranges (a BAR move from a config write arriving on the
 * same bus), unregister waiting for calls in flight, and accesses racing
 * unregistration and freeing of the device (ASan sees any use after free). */
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/bus.h"

/* A hang is a failure: SIGALRM's default action ends the test program. */
#define DEADLOCK_TIMEOUT_S 20

struct reg_dev {
	uint8_t regs[8];
};

static void reg_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	memcpy(data, ((struct reg_dev *)dev)->regs + off, len);
}

static void reg_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	memcpy(((struct reg_dev *)dev)->regs + off, data, len);
}

static const struct bus_dev_ops reg_ops = { reg_read, reg_write };

/* A "config space" at 0x1000 on the same bus as the "BAR" it moves: a
 * write of an address moves the BAR there (unregister the old range,
 * register the new one) and reads the BAR back through the bus, all from
 * inside the handler. */
struct mover {
	struct bus *bus;
	struct reg_dev bar;
	uint64_t bar_addr;
	int moves, errors;
	uint8_t seen;
};

static void mover_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct mover *m = dev;
	uint32_t to = 0;

	(void)off;
	memcpy(&to, data, len < 4 ? len : 4);
	if (bus__unregister(m->bus, m->bar_addr) ||
	    bus__register(m->bus, to, sizeof(m->bar.regs), &reg_ops, &m->bar))
		m->errors++;
	m->bar_addr = to;
	m->moves++;
	if (!bus__read(m->bus, to, &m->seen, 1))
		m->errors++;
}

static const struct bus_dev_ops mover_ops = { NULL, mover_write };

static void test_bus_handler_moves_range(void **state)
{
	struct mover m = { .bar_addr = 0x2000 };
	struct bus bus;
	uint8_t v = 0;
	uint32_t to;

	(void)state;
	alarm(DEADLOCK_TIMEOUT_S);
	assert_int_equal(bus__init(&bus, "test"), 0);
	m.bus = &bus;
	m.bar.regs[0] = 0xa5;
	assert_int_equal(bus__register(&bus, 0x1000, 4, &mover_ops, &m), 0);
	assert_int_equal(bus__register(&bus, m.bar_addr, 8, &reg_ops, &m.bar), 0);
	/* enough moves that the table grows while the handler runs */
	for (int i = 0; i < 40; i++) {
		assert_int_equal(bus__register(&bus, 0x100000 + (uint64_t)i * 16, 8,
					       &reg_ops, &m.bar), 0);
		to = 0x3000 + (uint32_t)i * 0x100;
		assert_true(bus__write(&bus, 0x1000, (uint8_t *)&to, 4));
		assert_int_equal(m.moves, i + 1);
		assert_int_equal(m.errors, 0);
		assert_int_equal(m.seen, 0xa5);
		assert_true(bus__read(&bus, to + 0, &v, 1));
		assert_int_equal(v, 0xa5);
		assert_false(bus__read(&bus, to - 0x100, &v, 1) && i > 0);
	}
	alarm(0);
	bus__destroy(&bus);
}

/* A handler that stays inside until told to leave. */
struct slow_dev {
	sem_t entered, release;
	int left;                 /* atomic: set just before returning */
};

static void slow_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct slow_dev *s = dev;

	(void)off;
	memset(data, 0x11, len);
	sem_post(&s->entered);
	sem_wait(&s->release);
	__atomic_store_n(&s->left, 1, __ATOMIC_SEQ_CST);
}

static const struct bus_dev_ops slow_ops = { slow_read, NULL };

struct call {
	struct bus *bus;
	uint64_t addr;
	int result;
	int done;                 /* atomic */
};

static void *reader(void *arg)
{
	struct call *c = arg;
	uint8_t v;

	c->result = bus__read(c->bus, c->addr, &v, 1);
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *unregisterer(void *arg)
{
	struct call *c = arg;

	c->result = bus__unregister(c->bus, c->addr);
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void test_bus_unregister_waits(void **state)
{
	struct slow_dev s = { 0 };
	struct bus bus;
	struct call rd = { .bus = &bus, .addr = 0x40 }, un = { .bus = &bus, .addr = 0x40 };
	struct reg_dev other = { .regs = { 7 } };
	pthread_t t_rd, t_un;
	uint8_t v;

	(void)state;
	alarm(DEADLOCK_TIMEOUT_S);
	assert_int_equal(bus__init(&bus, "test"), 0);
	assert_int_equal(sem_init(&s.entered, 0, 0), 0);
	assert_int_equal(sem_init(&s.release, 0, 0), 0);
	assert_int_equal(bus__register(&bus, 0x40, 4, &slow_ops, &s), 0);
	assert_int_equal(bus__register(&bus, 0x80, 4, &reg_ops, &other), 0);
	assert_int_equal(pthread_create(&t_rd, NULL, reader, &rd), 0);
	sem_wait(&s.entered);
	/* the bus is not locked while the handler runs */
	assert_true(bus__read(&bus, 0x80, &v, 1));
	assert_int_equal(v, 7);
	assert_int_equal(pthread_create(&t_un, NULL, unregisterer, &un), 0);
	/* unregister waits for the call in flight (a read of 0x40 now would
	 * block in the handler, so only the outcome is checked) */
	usleep(100 * 1000);
	assert_int_equal(__atomic_load_n(&un.done, __ATOMIC_SEQ_CST), 0);
	assert_true(bus__read(&bus, 0x80, &v, 1));	/* the bus still works */
	sem_post(&s.release);
	pthread_join(t_un, NULL);
	assert_int_equal(un.result, 0);
	assert_int_equal(__atomic_load_n(&s.left, __ATOMIC_SEQ_CST), 1);
	assert_false(bus__read(&bus, 0x40, &v, 1));
	pthread_join(t_rd, NULL);
	assert_int_equal(rd.result, 1);
	alarm(0);
	sem_destroy(&s.entered);
	sem_destroy(&s.release);
	bus__destroy(&bus);
}

/* Readers and writers hammer a range whose device is unregistered, freed
 * and replaced over and over; a handler never sees a freed device. */
#define MAGIC 0x5eedf00du

struct live_dev {
	uint32_t magic;
	uint32_t calls;
};

static void live_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct live_dev *d = dev;

	(void)off;
	memset(data, d->magic == MAGIC ? 0x42 : 0xee, len);
	__atomic_add_fetch(&d->calls, 1, __ATOMIC_RELAXED);
}

static void live_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct live_dev *d = dev;

	(void)off; (void)data; (void)len;
	if (d->magic == MAGIC)
		__atomic_add_fetch(&d->calls, 1, __ATOMIC_RELAXED);
}

static const struct bus_dev_ops live_ops = { live_read, live_write };

struct hammer {
	struct bus *bus;
	int stop;                 /* atomic */
	int bad;
	unsigned long hits;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	uint8_t v[4];

	while (!__atomic_load_n(&h->stop, __ATOMIC_SEQ_CST)) {
		if (bus__read(h->bus, 0x5000, v, 4)) {
			if (v[0] != 0x42)
				h->bad++;
			h->hits++;
		}
		bus__write(h->bus, 0x5002, v, 2);
	}
	return NULL;
}

static void test_bus_access_races_unregister(void **state)
{
	struct hammer h[3];
	pthread_t t[3];
	struct bus bus;
	struct live_dev *d;
	unsigned long hits = 0;

	(void)state;
	alarm(DEADLOCK_TIMEOUT_S);
	assert_int_equal(bus__init(&bus, "test"), 0);
	d = malloc(sizeof(*d));
	assert_non_null(d);
	*d = (struct live_dev){ .magic = MAGIC };
	assert_int_equal(bus__register(&bus, 0x5000, 16, &live_ops, d), 0);
	for (int i = 0; i < 3; i++) {
		h[i] = (struct hammer){ .bus = &bus };
		assert_int_equal(pthread_create(&t[i], NULL, hammer_thread, &h[i]), 0);
	}
	for (int round = 0; round < 2000; round++) {
		assert_int_equal(bus__unregister(&bus, 0x5000), 0);
		d->magic = 0;
		free(d);
		d = malloc(sizeof(*d));
		assert_non_null(d);
		*d = (struct live_dev){ .magic = MAGIC };
		/* neighbours come and go too, so the table is rewritten */
		assert_int_equal(bus__register(&bus, 0x4000 + (uint64_t)(round % 16) * 0x10, 8,
					       &live_ops, d), 0);
		assert_int_equal(bus__register(&bus, 0x5000, 16, &live_ops, d), 0);
		assert_int_equal(bus__unregister(&bus, 0x4000 + (uint64_t)(round % 16) * 0x10), 0);
	}
	for (int i = 0; i < 3; i++) {
		__atomic_store_n(&h[i].stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(t[i], NULL);
		assert_int_equal(h[i].bad, 0);
		hits += h[i].hits;
	}
	assert_true(hits > 0);
	alarm(0);
	bus__destroy(&bus);	/* frees the last registration */
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_handler_moves_range),
		cmocka_unit_test(test_bus_unregister_waits),
		cmocka_unit_test(test_bus_access_races_unregister),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
