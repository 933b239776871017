/* test_core.c — guest memory bounds checks, bus dispatch, and the console
 * (escape filter, a closed stdout). */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/console.h"
#include "vmm/loop.h"
#include "vmm/memory.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static void test_mem_single_region(void **state)
{
	struct guest_mem m;
	uint8_t buf[16];

	assert_int_equal(guest_mem__init(&m, 64 * MiB, NULL), 0);
	assert_int_equal(m.nr, 1);
	assert_non_null(guest_mem__ptr(&m, 0, 64 * MiB));
	assert_non_null(guest_mem__ptr(&m, 64 * MiB - 1, 1));
	assert_null(guest_mem__ptr(&m, 64 * MiB - 1, 2));
	assert_null(guest_mem__ptr(&m, 64 * MiB, 1));
	/* lengths and addresses that would overflow a naive gpa + len */
	assert_null(guest_mem__ptr(&m, 16, UINT64_MAX));
	assert_null(guest_mem__ptr(&m, UINT64_MAX, 2));
	assert_null(guest_mem__ptr(&m, UINT64_MAX - 3, 8));
	assert_int_equal(guest_mem__write(&m, 4096, "hello", 6), 0);
	assert_int_equal(guest_mem__read(&m, 4096, buf, 6), 0);
	assert_string_equal((char *)buf, "hello");
	assert_int_equal(guest_mem__read(&m, 64 * MiB - 2, buf, 4), -14 /* -EFAULT */);
	assert_int_equal(guest_mem__low_end(&m), 64 * MiB);
	/* host addresses 2 MiB aligned, as the guest's are: huge pages */
	assert_int_equal((uintptr_t)m.region[0].hva % (2 * MiB), 0);
	guest_mem__destroy(&m);
	/* whatever mmap's own placement, every time (sizes that are not
	 * multiples of 2 MiB too) */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(guest_mem__init(&m, (uint64_t)(i + 1) * 4096 * 129, NULL), 0);
		assert_int_equal((uintptr_t)m.region[0].hva % (2 * MiB), 0);
		memset(m.region[0].hva, 0xa5, m.region[0].size);
		guest_mem__destroy(&m);
	}
}

/* RAM from a base above 0 (an arm64 virt board's 1 GiB), with and without
 * reaching a hole above it; layouts that cannot work are refused. */
static void test_mem_base(void **state)
{
	struct guest_mem m;
	const struct mem_layout arm = { .base = 1 * GiB };
	const struct mem_layout holed = { .base = 1 * GiB, .hole_start = 2 * GiB,
					  .hole_end = 3 * GiB };

	assert_int_equal(guest_mem__init(&m, 512 * MiB, &arm), 0);
	assert_int_equal(m.nr, 1);
	assert_int_equal(m.region[0].gpa, 1 * GiB);
	assert_null(guest_mem__ptr(&m, 0, 1));
	assert_null(guest_mem__ptr(&m, 1 * GiB - 1, 2));
	assert_non_null(guest_mem__ptr(&m, 1 * GiB, 512 * MiB));
	assert_null(guest_mem__ptr(&m, 1 * GiB + 512 * MiB, 1));
	guest_mem__destroy(&m);

	assert_int_equal(guest_mem__init(&m, 1 * GiB + 256 * MiB, &holed), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.region[0].gpa, 1 * GiB);
	assert_int_equal(m.region[0].size, 1 * GiB);
	assert_int_equal(m.region[1].gpa, 3 * GiB);
	assert_int_equal(m.region[1].size, 256 * MiB);
	assert_null(guest_mem__ptr(&m, 2 * GiB, 1));
	assert_int_equal(guest_mem__write(&m, 3 * GiB, "x", 1), 0);
	guest_mem__destroy(&m);

	assert_int_equal(guest_mem__init(&m, 0, NULL), -EINVAL);
	assert_int_equal(guest_mem__init(&m, MiB, &(struct mem_layout){ .base = 0x800 }), -EINVAL);
	assert_int_equal(guest_mem__init(&m, MiB, &(struct mem_layout){ GiB, 0, MiB }), -EINVAL);
	assert_int_equal(guest_mem__init(&m, MiB, &(struct mem_layout){ 0, 2 * MiB, MiB }), -EINVAL);
	assert_int_equal(guest_mem__init(&m, 2 * MiB,
					 &(struct mem_layout){ .base = UINT64_MAX - MiB - 0xfff }), -EINVAL);
}

static void test_mem_hole(void **state)
{
	struct guest_mem m;
	uint64_t hole = 3 * GiB, end = 4 * GiB;

	assert_int_equal(guest_mem__init(&m, 4 * GiB, &(struct mem_layout){ 0, hole, end }), 0);
	assert_int_equal(m.nr, 2);
	assert_int_equal(m.region[1].gpa, 4 * GiB);
	assert_int_equal(m.region[1].size, 1 * GiB);
	assert_int_equal(m.ram_size, 4 * GiB);
	assert_non_null(guest_mem__ptr(&m, hole - 8, 8));
	assert_null(guest_mem__ptr(&m, hole - 4, 8));   /* straddles into the hole */
	assert_null(guest_mem__ptr(&m, hole, 1));       /* inside the hole */
	assert_null(guest_mem__ptr(&m, end - 1, 2));    /* straddles hole / high RAM */
	assert_non_null(guest_mem__ptr(&m, end, 1 * GiB));
	assert_null(guest_mem__ptr(&m, end, 1 * GiB + 1));
	assert_int_equal(guest_mem__low_end(&m), hole);
	guest_mem__destroy(&m);
}

struct fake_dev {
	uint8_t regs[16];
	int reads, writes;
	uint64_t last_off;
};

static void fake_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct fake_dev *d = dev;

	d->reads++;
	d->last_off = off;
	memcpy(data, d->regs + off, len);
}

static void fake_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct fake_dev *d = dev;

	d->writes++;
	d->last_off = off;
	memcpy(d->regs + off, data, len);
}

static const struct bus_dev_ops fake_ops = { fake_read, fake_write };

static void test_bus(void **state)
{
	struct fake_dev a = { 0 }, b = { 0 };
	struct bus bus;
	uint8_t v[4] = { 0 };

	assert_int_equal(bus__init(&bus, "test"), 0);
	assert_int_equal(bus__register(&bus, 0x3f8, 8, &fake_ops, &a), 0);
	assert_int_equal(bus__register(&bus, 0x60, 1, &fake_ops, &b), 0);
	assert_int_equal(bus__register(&bus, 0x3f0, 9, &fake_ops, &b), -17 /* EEXIST */);
	assert_int_equal(bus__register(&bus, 0x3ff, 1, &fake_ops, &b), -17);
	assert_int_equal(bus__register(&bus, 0x3f0, 8, &fake_ops, &b), 0); /* adjacent */
	assert_int_equal(bus__register(&bus, 0x10, 0, &fake_ops, &b), -22 /* EINVAL */);

	v[0] = 0x5a;
	assert_true(bus__write(&bus, 0x3ff, v, 1));
	assert_int_equal(a.regs[7], 0x5a);
	assert_int_equal(a.last_off, 7);
	assert_true(bus__read(&bus, 0x3ff, v, 1));
	assert_int_equal(a.reads, 1);
	/* an access running past the end of a range is not claimed */
	assert_false(bus__read(&bus, 0x3ff, v, 2));
	assert_int_equal(a.reads, 1);
	/* unclaimed reads are all ones, writes dropped */
	assert_false(bus__read(&bus, 0x80, v, 4));
	assert_int_equal(v[0] & v[1] & v[2] & v[3], 0xff);
	assert_false(bus__write(&bus, 0x80, v, 1));
	assert_int_equal(bus__unregister(&bus, 0x3f8), 0);
	assert_false(bus__read(&bus, 0x3f8, v, 1));
	assert_int_equal(bus__unregister(&bus, 0x3f8), -2 /* ENOENT */);
	assert_true(bus__read(&bus, 0x60, v, 1));
	bus__destroy(&bus);
}

static void test_bus_many(void **state)
{
	struct fake_dev d = { 0 };
	struct bus bus;
	uint8_t v;

	/* more ranges than the initial capacity, registered out of order */
	assert_int_equal(bus__init(&bus, "test"), 0);
	for (int i = 99; i >= 0; i--)
		assert_int_equal(bus__register(&bus, 0x1000 + (uint64_t)i * 16, 4, &fake_ops, &d), 0);
	for (int i = 0; i < 100; i++) {
		assert_true(bus__read(&bus, 0x1000 + (uint64_t)i * 16 + 3, &v, 1));
		assert_false(bus__read(&bus, 0x1000 + (uint64_t)i * 16 + 4, &v, 1));
	}
	bus__destroy(&bus);
}

static void test_console_escape(void **state)
{
	struct console c;
	uint8_t out[16];
	bool quit;
	size_t n;

	memset(&c, 0, sizeof(c));
	n = console__filter(&c, (const uint8_t *)"ls\r", 3, out, &quit);
	assert_int_equal(n, 3);
	assert_false(quit);
	/* Ctrl-A Ctrl-A sends one Ctrl-A */
	n = console__filter(&c, (const uint8_t *)"\x01\x01z", 3, out, &quit);
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\x01z", 2);
	/* Ctrl-A x quits, even split across two reads */
	n = console__filter(&c, (const uint8_t *)"ab\x01", 3, out, &quit);
	assert_int_equal(n, 2);
	assert_false(quit);
	n = console__filter(&c, (const uint8_t *)"x", 1, out, &quit);
	assert_true(quit);
	/* Ctrl-A followed by another key swallows both */
	c.escape = false;
	n = console__filter(&c, (const uint8_t *)"\x01qk", 3, out, &quit);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 'k');
	assert_false(quit);
}

/* The reader of vmm's stdout goes away (vmm run ... | head) while the
 * guest prints: vmm must live on (to write qcow2 metadata back at exit),
 * not die of SIGPIPE. In a child, so the signal's default action would
 * show as a killed child rather than kill the tests. */
static void test_console_stdout_closed(void **state)
{
	int p[2], st;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	close(p[0]);    /* the reader is gone, in both processes, before any write */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vm *vm = calloc(1, sizeof(*vm));
		struct console c;
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		if (!vm || loop__init(&vm->loop) < 0 || console__init(&c, vm, NULL, false) < 0)
			_exit(2);
		c.out_fd = p[1];
		console__tx(&c, (const uint8_t *)"login: ", 7);
		console__tx(&c, (const uint8_t *)"more", 4);      /* dropped, no retry */
		_exit(c.out_fd == -1 ? 0 : 3);
	}
	close(p[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		fail_msg("vmm was killed by signal %d writing to a closed stdout", WTERMSIG(st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A device with a 3-byte receive FIFO the test drains by hand. */
struct fake_sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t got[64];
	size_t n, room;
};

static size_t sink_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake_sink *s = opaque;
	size_t take;

	pthread_mutex_lock(&s->lock);
	take = len < s->room ? len : s->room;
	if (take > sizeof(s->got) - s->n)
		take = sizeof(s->got) - s->n;
	memcpy(s->got + s->n, buf, take);
	s->n += take;
	s->room -= take;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return take;
}

/* Wait (bounded: 5 s) until the sink holds 'want' bytes. */
static bool sink_wait(struct fake_sink *s, size_t want)
{
	struct timespec t;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 5;
	pthread_mutex_lock(&s->lock);
	while (s->n < want && ok)
		ok = pthread_cond_timedwait(&s->cond, &s->lock, &t) == 0;
	ok = s->n >= want;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* Host input reaches the console's sink through the escape filter; when
 * the sink is full the console stops reading and resumes, in order, on
 * console__rx_ready() (the I/O thread running for real). */
static void test_console_input_sink(void **state)
{
	struct fake_sink s = { .lock = PTHREAD_MUTEX_INITIALIZER,
			       .cond = PTHREAD_COND_INITIALIZER, .room = 3 };
	struct vm *vm = calloc(1, sizeof(*vm));
	struct console c;
	int p[2], saved_stdin = dup(STDIN_FILENO);
	static const char in[] = "ab\001\001cdefg";	/* Ctrl-A Ctrl-A: one Ctrl-A */

	assert_non_null(vm);
	assert_true(saved_stdin >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	assert_int_equal(loop__init(&vm->loop), 0);
	assert_int_equal(console__init(&c, vm, &(struct console_sink){ sink_receive, &s }, true), 0);
	assert_int_equal(loop__start(&vm->loop), 0);
	assert_int_equal(write(p[1], in, sizeof(in) - 1), (ssize_t)sizeof(in) - 1);
	assert_true(sink_wait(&s, 3));
	for (size_t want = 6; want <= 9; want += 3) {
		pthread_mutex_lock(&s.lock);
		s.room = 3;
		pthread_mutex_unlock(&s.lock);
		console__rx_ready(&c);
		assert_true(sink_wait(&s, want < 8 ? want : 8));
	}
	assert_int_equal(s.n, 8);
	assert_memory_equal(s.got, "ab\001cdefg", 8);
	loop__stop(&vm->loop);
	console__destroy(&c);
	loop__destroy(&vm->loop);
	dup2(saved_stdin, STDIN_FILENO);
	close(saved_stdin);
	close(p[0]);
	close(p[1]);
	free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_single_region),
		cmocka_unit_test(test_mem_base),
		cmocka_unit_test(test_mem_hole),
		cmocka_unit_test(test_bus),
		cmocka_unit_test(test_bus_many),
		cmocka_unit_test(test_console_escape),
		cmocka_unit_test(test_console_stdout_closed),
		cmocka_unit_test(test_console_input_sink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
