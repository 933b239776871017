/* test_console_attach.c — `vmm console` and `vmm run --detach` pieces:
 * the output ring (wrap, replay order, oversize writes); a console
 * client attached over a real control socket (greeting, replay, live
 * output, input to the device, Ctrl-] kept on the client side); the
 * one-client rule; the "console" request refused cleanly; vmm stat's
 * console_client field; the command line (-d, --console-log, vmm
 * console NAME). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/cli.h"
#include "vmm/console.h"
#include "vmm/console_client.h"
#include "vmm/control.h"
#include "vmm/ring.h"
#include "vmm/stats.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#include "tests/unit/rundir.h"

static void ring_copy(const struct ring *r, uint8_t *out, size_t *n)
{
	const uint8_t *a, *b;
	size_t alen, blen;

	ring__pieces(r, &a, &alen, &b, &blen);
	memcpy(out, a, alen);
	memcpy(out + alen, b, blen);
	*n = alen + blen;
}

static void test_ring(void **state)
{
	struct ring r;
	uint8_t out[16], big[40];
	size_t n;

	assert_int_equal(ring__init(&r, 8), 0);
	ring_copy(&r, out, &n);
	assert_int_equal(n, 0);
	ring__write(&r, (const uint8_t *)"abc", 3);
	ring_copy(&r, out, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "abc", 3);
	/* wraps: the oldest bytes go, the replay stays in order */
	ring__write(&r, (const uint8_t *)"defghij", 7);
	assert_int_equal(ring__used(&r), 8);
	ring_copy(&r, out, &n);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "cdefghij", 8);
	ring__write(&r, (const uint8_t *)"k", 1);
	ring_copy(&r, out, &n);
	assert_memory_equal(out, "defghijk", 8);
	/* one write larger than the ring keeps its last 8 bytes */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)('A' + i % 26);
	ring__write(&r, big, sizeof(big));
	ring_copy(&r, out, &n);
	assert_int_equal(n, 8);
	assert_memory_equal(out, big + sizeof(big) - 8, 8);
	assert_int_equal(r.total, 3 + 7 + 1 + sizeof(big));
	ring__destroy(&r);
	assert_int_equal(ring__init(&r, 0), -1);
}

/* The device behind the console: takes every byte, or none with 'full'. */
struct sink {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char got[256];
	size_t n;
	bool full;
	int offered;            /* calls to receive */
};

static size_t sink_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;

	pthread_mutex_lock(&s->lock);
	s->offered++;
	pthread_cond_broadcast(&s->cond);
	if (s->full)
		len = 0;
	if (len > sizeof(s->got) - 1 - s->n)
		len = sizeof(s->got) - 1 - s->n;
	memcpy(s->got + s->n, buf, len);
	s->n += len;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return len;
}

/* Wait (bounded: 5 s) until the device holds 'bytes' bytes and was
 * offered input 'offers' times. */
static bool sink_wait(struct sink *s, size_t bytes, int offers)
{
	struct timespec t;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 5;
	pthread_mutex_lock(&s->lock);
	while ((s->n < bytes || s->offered < offers) &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &t) == 0)
		;
	ok = s->n >= bytes && s->offered >= offers;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* A VMM's console and control socket, served on a thread of its own as
 * the control thread does, with the console op vm_control.c has. */
struct vmm {
	struct vm *vm;
	struct sink sink;
	struct control ctl;
	int stop_fd;
	pthread_t thread;
};

static int op_console(void *opaque, int fd, int pid, const char *greeting, char *msg,
		      size_t len)
{
	struct vmm *v = opaque;

	return console__attach(&v->vm->console, fd, pid, greeting, msg, len);
}

static const struct control_ops ops = { .console = op_console };

static void *serve(void *arg)
{
	struct vmm *v = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = v->stop_fd, .events = POLLIN },
				       { .fd = v->ctl.fd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[0].revents)
			return NULL;
		if (p[1].revents & POLLIN)
			control__handle(&v->ctl);
	}
}

static void vmm_start_ops(struct vmm *v, const char *name, const struct control_ops *o)
{
	char err[256];

	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->sink.lock, NULL);
	pthread_cond_init(&v->sink.cond, NULL);
	v->vm = calloc(1, sizeof(*v->vm));
	assert_non_null(v->vm);
	assert_int_equal(loop__init(&v->vm->loop), 0);
	assert_int_equal(console__init(&v->vm->console, v->vm,
				       &(struct console_sink){ sink_receive, &v->sink }, false), 0);
	v->vm->console.out_fd = -1;     /* not the test's stdout */
	assert_int_equal(loop__start(&v->vm->loop), 0);
	if (control__open(&v->ctl, name, o, v, err, sizeof(err)) < 0)
		fail_msg("control__open: %s", err);
	v->stop_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(v->stop_fd >= 0);
	assert_int_equal(pthread_create(&v->thread, NULL, serve, v), 0);
}

static void vmm_start(struct vmm *v, const char *name)
{
	vmm_start_ops(v, name, &ops);
}

static void vmm_finish(struct vmm *v)
{
	uint64_t one = 1;

	assert_int_equal(write(v->stop_fd, &one, sizeof(one)), sizeof(one));
	pthread_join(v->thread, NULL);
	close(v->stop_fd);
	control__close(&v->ctl);
	loop__stop(&v->vm->loop);
	console__destroy(&v->vm->console);
	loop__destroy(&v->vm->loop);
	free(v->vm);
}

/* Read exactly n bytes (bounded: 5 s). */
static void read_n(int fd, char *buf, size_t n)
{
	size_t pos = 0;

	while (pos < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		assert_int_equal(poll(&p, 1, 5000), 1);
		r = read(fd, buf + pos, n - pos);
		if (r < 0 && errno == EAGAIN)
			continue;
		assert_true(r > 0);
		pos += (size_t)r;
	}
	buf[n] = '\0';
}

static void tx(struct vmm *v, const char *s)
{
	console__tx(&v->vm->console, (const uint8_t *)s, strlen(s));
}

static void test_attach_replay_live_input(void **state)
{
	struct vmm v;
	char err[256], buf[64];
	int fd, fd2;

	vmm_start(&v, "con1");
	tx(&v, "boot: ");
	tx(&v, "done\r\n");
	assert_int_equal(console__client(&v.vm->console), 0);
	fd = control__open_console("con1", err, sizeof(err));
	if (fd < 0)
		fail_msg("attach: %s", err);
	/* the replay, then live output, each byte once */
	read_n(fd, buf, 12);
	assert_string_equal(buf, "boot: done\r\n");
	tx(&v, "login: ");
	read_n(fd, buf, 7);
	assert_string_equal(buf, "login: ");
	assert_int_equal(console__client(&v.vm->console), getpid());
	/* input reaches the device */
	assert_int_equal(write(fd, "root\r", 5), 5);
	assert_true(sink_wait(&v.sink, 5, 1));
	assert_memory_equal(v.sink.got, "root\r", 5);
	/* one client at a time: the second is refused with one line */
	assert_int_equal(control__open_console("con1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already has a client"));
	assert_null(strchr(err, '\n'));
	/* the first goes on undisturbed */
	tx(&v, "#");
	read_n(fd, buf, 1);
	assert_string_equal(buf, "#");
	/* detach and attach again at once: the attach waits for the I/O
	 * thread to free the slot; the replay has everything */
	close(fd);
	fd2 = control__open_console("con1", err, sizeof(err));
	if (fd2 < 0)
		fail_msg("second attach: %s", err);
	read_n(fd2, buf, 20);
	assert_string_equal(buf, "boot: done\r\nlogin: #");
	close(fd2);
	vmm_finish(&v);
}

/* The guest does not read its UART: the client's keys wait and its
 * socket is no longer polled, so its hang-up is not seen there; the next
 * attach frees the slot itself. */
static void test_paused_client_hangup(void **state)
{
	struct vmm v;
	char err[256], buf[8];
	int fd, fd2;

	vmm_start(&v, "con4");
	v.sink.full = true;
	fd = control__open_console("con4", err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keys", 4), 4);
	/* the console offered them to the device, which had no room */
	assert_true(sink_wait(&v.sink, 0, 1));
	close(fd);
	fd2 = control__open_console("con4", err, sizeof(err));
	if (fd2 < 0)
		fail_msg("attach after a paused client hung up: %s", err);
	tx(&v, "ok");
	read_n(fd2, buf, 2);
	assert_string_equal(buf, "ok");
	close(fd2);
	vmm_finish(&v);
}

/* The VM ends with a client attached: it sees the end of the stream. */
static void test_vm_ends_client_sees_eof(void **state)
{
	struct vmm v;
	char err[256], buf[8];
	int fd;

	vmm_start(&v, "con2");
	fd = control__open_console("con2", err, sizeof(err));
	assert_true(fd >= 0);
	vmm_finish(&v);
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		assert_int_equal(poll(&p, 1, 5000), 1);
		assert_int_equal(read(fd, buf, sizeof(buf)), 0);
	}
	close(fd);
}

/* "console" to a VMM without a console op, and to no VM at all. */
static void test_console_refused(void **state)
{
	static const struct control_ops none = { 0 };
	struct vmm v;
	char err[256];

	assert_int_equal(control__open_console("nosuchvm", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no VM named 'nosuchvm'"));
	vmm_start_ops(&v, "con3", &none);
	assert_int_equal(control__open_console("con3", err, sizeof(err)), -1);
	assert_string_equal(err, "not supported");
	vmm_finish(&v);
}

static void test_client_filter(void **state)
{
	bool detach;

	assert_int_equal(console_client__filter((const uint8_t *)"ls\r", 3, &detach), 3);
	assert_false(detach);
	assert_int_equal(console_client__filter((const uint8_t *)"ab\x1d" "cd", 5, &detach), 2);
	assert_true(detach);
	assert_int_equal(console_client__filter((const uint8_t *)"\x1d", 1, &detach), 0);
	assert_true(detach);
	/* Ctrl-A is the foreground terminal's escape, not the client's */
	assert_int_equal(console_client__filter((const uint8_t *)"\x01x", 2, &detach), 2);
	assert_false(detach);
}

static int parse(struct vm_config *cfg, enum cli_verb *verb, char *err, int argc, ...)
{
	char *argv[16];
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	return cli__parse(argc, argv, verb, cfg, err, 256);
}

static void test_cli(void **state)
{
	struct vm_config cfg;
	enum cli_verb verb;
	char err[256];

	assert_int_equal(parse(&cfg, &verb, err, 4, "vmm", "run", "-d", "-kK"), 0);
	assert_int_equal(verb, CLI_VERB_RUN);
	assert_true(cfg.detach);
	assert_null(cfg.console_log);
	assert_int_equal(parse(&cfg, &verb, err, 6, "vmm", "run", "--detach", "-k", "K",
			       "--console-log=/tmp/c.log"), 0);
	assert_true(cfg.detach);
	assert_string_equal(cfg.console_log, "/tmp/c.log");
	assert_int_equal(parse(&cfg, &verb, err, 4, "vmm", "run", "-k", "K"), 0);
	assert_false(cfg.detach);
	assert_int_equal(parse(&cfg, &verb, err, 5, "vmm", "run", "-k", "K", "--console-log"), -1);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(parse(&cfg, &verb, err, 6, "vmm", "run", "-k", "K", "--console-log", ""),
			 -1);
	/* a bad option still fails in the foreground, before any fork */
	assert_int_equal(parse(&cfg, &verb, err, 4, "vmm", "run", "-d", "--bogus"), -1);
	assert_int_equal(parse(&cfg, &verb, err, 3, "vmm", "run", "-d"), -1);
	assert_non_null(strstr(err, "nothing to boot"));

	assert_int_equal(parse(&cfg, &verb, err, 3, "vmm", "console", "web1"), 0);
	assert_int_equal(verb, CLI_VERB_CONSOLE);
	assert_string_equal(cfg.name, "web1");
	assert_int_equal(parse(&cfg, &verb, err, 2, "vmm", "console"), -1);
	assert_string_equal(err, "vmm console needs a VM name (see vmm list)");
	assert_int_equal(parse(&cfg, &verb, err, 4, "vmm", "console", "a", "b"), -1);
	assert_int_equal(parse(&cfg, &verb, err, 4, "vmm", "console", "a", "-x"), -1);
	assert_non_null(strstr(err, "unknown option '-x' for vmm console"));
	assert_int_equal(parse(&cfg, &verb, err, 3, "vmm", "console", "../x"), -1);
	assert_int_equal(parse(&cfg, &verb, err, 3, "vmm", "console", "--help"), 0);
	assert_int_equal(verb, CLI_VERB_HELP);
	assert_non_null(strstr(cli__verb_usage("console"), "usage: vmm console NAME"));
	assert_non_null(strstr(cli__verb_usage("run"), "--detach"));
}

/* vmm stat: the attached client's pid survives JSON and shows in text. */
static void test_stat_console_client(void **state)
{
	struct vm_snapshot *s = calloc(1, sizeof(*s)), *back = calloc(1, sizeof(*back));
	char *json = malloc(STATS_JSON_MAX), *text = NULL;
	size_t tlen = 0;
	FILE *f;

	assert_non_null(s);
	assert_non_null(back);
	assert_non_null(json);
	snprintf(s->name, sizeof(s->name), "web1");
	snprintf(s->state, sizeof(s->state), "running");
	s->console_client = 4242;
	assert_true(stats__json(s, json, STATS_JSON_MAX) > 0);
	assert_non_null(strstr(json, "\"console_client\":4242"));
	assert_int_equal(stats__from_json(json, back), 0);
	assert_int_equal(back->console_client, 4242);
	f = open_memstream(&text, &tlen);
	stats__print_human(f, back);
	fclose(f);
	assert_non_null(strstr(text, "console: client attached (pid 4242)"));
	free(text);
	back->console_client = 0;
	f = open_memstream(&text, &tlen);
	stats__print_human(f, back);
	fclose(f);
	assert_non_null(strstr(text, "console: no client attached"));
	free(text);
	free(json);
	free(s);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_attach_replay_live_input),
		cmocka_unit_test(test_vm_ends_client_sees_eof),
		cmocka_unit_test(test_paused_client_hangup),
		cmocka_unit_test(test_console_refused),
		cmocka_unit_test(test_client_filter),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_stat_console_client),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
