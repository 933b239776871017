/* test_control.c — the control socket in a private directory
 * (VMM_RUNTIME_DIR): info/stat/stop/set/powerdown reach their callbacks; malformed
 * requests (empty, 10 KB, binary, unknown, two at once, silence) get an
 * error and leave the server serving; a stale socket is replaced; a second
 * VM with a live name is refused with the owner's pid; list finds live VMs
 * and skips or removes stale ones; close removes only our own socket. */
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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/control.h"
#include "vmm/util.h"

#include "tests/unit/rundir.h"

/* Up to two VMs served by one thread, as the I/O thread would. */
struct server {
	struct control c[2];
	int nr;
	int stop_fd;
	pthread_t thread;
	int info_calls, stat_calls, stop_calls, set_calls, powerdown_calls;
	int powerdown_rc;       /* what the power button op answers */
};

static int op_info(void *opaque, struct vm_snapshot *out)
{
	struct server *s = opaque;

	s->info_calls++;
	snprintf(out->name, sizeof(out->name), "vm");
	snprintf(out->state, sizeof(out->state), "running");
	out->pid = getpid();
	out->nr_vcpus = 2;
	out->mem_bytes = 256ULL << 20;
	return 0;
}

static int op_stat(void *opaque, struct vm_snapshot *out)
{
	struct server *s = opaque;

	op_info(opaque, out);
	s->info_calls--;
	s->stat_calls++;
	out->vcpu[1].kvm[KVM_STAT_HALT_EXITS] = 31337;
	out->nr_nics = 1;
	out->nic[0].vhost = true;
	out->nic[0].net.tx_kicks = 99;
	return 0;
}

static void op_stop(void *opaque)
{
	((struct server *)opaque)->stop_calls++;
}

/* set vhost: NIC 1 refuses (no vhost fd), the others switch */
static int op_set_vhost(void *opaque, int nic, bool on, char *msg, size_t len)
{
	((struct server *)opaque)->set_calls++;
	if (nic == 1) {
		snprintf(msg, len, "eth1: \"no\" vhost here");
		return -1;
	}
	snprintf(msg, len, "eth0: %s", on ? "vhost-net" : "userspace");
	return 0;
}

/* powerdown: 1 the guest listens, 0 not, -1 refused with a quote in it */
static int op_powerdown(void *opaque, char *msg, size_t len)
{
	struct server *s = opaque;

	s->powerdown_calls++;
	if (s->powerdown_rc < 0)
		snprintf(msg, len, "no \"button\" here");
	return s->powerdown_rc;
}

static const struct control_ops ops = { op_info, op_stat, op_stop, op_set_vhost, op_powerdown,
					NULL };

static void *serve(void *arg)
{
	struct server *s = arg;

	for (;;) {
		struct pollfd p[3] = { { .fd = s->stop_fd, .events = POLLIN } };

		for (int i = 0; i < s->nr; i++)
			p[i + 1] = (struct pollfd){ .fd = s->c[i].fd, .events = POLLIN };
		if (poll(p, (nfds_t)s->nr + 1, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[0].revents)
			return NULL;
		for (int i = 0; i < s->nr; i++)
			if (p[i + 1].revents & POLLIN)
				control__handle(&s->c[i]);
	}
}

static void start(struct server *s, const char *a, const char *b)
{
	char err[256];
	const char *names[2] = { a, b };

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 2 && names[i]; i++, s->nr++)
		if (control__open(&s->c[i], names[i], &ops, s, err, sizeof(err)) < 0)
			fail_msg("control__open(%s): %s", names[i], err);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(s->stop_fd >= 0);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void finish(struct server *s)
{
	uint64_t one = 1;

	assert_int_equal(write(s->stop_fd, &one, sizeof(one)), sizeof(one));
	pthread_join(s->thread, NULL);
	close(s->stop_fd);
	for (int i = 0; i < s->nr; i++)
		control__close(&s->c[i]);
}

static void sock_file(const char *name, char *path, size_t len)
{
	snprintf(path, len, "%s/%s.sock", dir, name);
}

/* Send raw bytes, then read the whole reply (bounded by 5 s). */
static void raw(const char *name, const void *req, size_t len, char *reply, size_t rlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t pos = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 5 };

	sock_file(name, sa.sun_path, sizeof(sa.sun_path));
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (len) {
		(void)!send(fd, req, len, MSG_NOSIGNAL);  /* may be cut short: too long */
		shutdown(fd, SHUT_WR);
	}
	for (;;) {
		ssize_t n = read(fd, reply + pos, rlen - 1 - pos);

		if (n <= 0)
			break;
		pos += (size_t)n;
	}
	reply[pos] = '\0';
	close(fd);
}

static void test_requests(void **state)
{
	static struct vm_snapshot snap;
	static char reply[CONTROL_REPLY_MAX];
	char err[256], path[128], want[128];
	struct server s;
	bool stale = true;

	start(&s, "alpha", NULL);
	assert_int_equal(control__request("alpha", "info", reply, sizeof(reply), &stale,
					  err, sizeof(err)), 0);
	assert_false(stale);
	assert_int_equal(stats__from_json(reply, &snap), 0);
	assert_int_equal(snap.pid, getpid());
	assert_int_equal(snap.nr_vcpus, 2);
	assert_int_equal(control__request("alpha", "stat", reply, sizeof(reply), NULL,
					  err, sizeof(err)), 0);
	assert_int_equal(stats__from_json(reply, &snap), 0);
	assert_int_equal(snap.vcpu[1].kvm[KVM_STAT_HALT_EXITS], 31337);
	assert_int_equal(snap.nic[0].net.tx_kicks, 99);
	assert_true(snap.nic[0].vhost);
	assert_int_equal(control__request("alpha", "stop", reply, sizeof(reply), NULL,
					  err, sizeof(err)), 0);
	assert_string_equal(reply, "{\"ok\":true}");
	/* A reply shorter than its buffer is an error, not a truncation. */
	assert_int_equal(control__request("alpha", "stat", reply, 32, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer"));
	assert_int_equal(control__request("alpha", "bogus", reply, sizeof(reply), NULL,
					  err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown request"));
	/* vmm set: the VMM's line comes back; quotes made harmless */
	if (control__request("alpha", "set vhost off", reply, sizeof(reply), NULL, err,
			     sizeof(err)) < 0)
		fail_msg("set: %s", err);
	assert_string_equal(reply, "{\"ok\":true,\"message\":\"eth0: userspace\"}");
	assert_int_equal(control__request("alpha", "set vhost on nic 1", reply, sizeof(reply),
					  NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "eth1: ?no? vhost here");
	assert_int_equal(control__request("alpha", "set vhost maybe", reply, sizeof(reply), NULL,
					  err, sizeof(err)), -1);
	assert_non_null(strstr(err, "malformed set request"));
	assert_int_equal(control__request("alpha", "set vhost on nic x", reply, sizeof(reply),
					  NULL, err, sizeof(err)), -1);
	/* powerdown: the button pressed, the VMM's pid to watch, whether
	 * the guest listens; a refusal is the op's line, made safe */
	s.powerdown_rc = 1;
	if (control__request("alpha", "powerdown", reply, sizeof(reply), NULL, err,
			     sizeof(err)) < 0)
		fail_msg("powerdown: %s", err);
	snprintf(want, sizeof(want), "{\"ok\":true,\"pid\":%d,\"listening\":true}", getpid());
	assert_string_equal(reply, want);
	s.powerdown_rc = 0;
	assert_int_equal(control__request("alpha", "powerdown", reply, sizeof(reply), NULL, err,
					  sizeof(err)), 0);
	assert_non_null(strstr(reply, "\"listening\":false}"));
	s.powerdown_rc = -1;
	assert_int_equal(control__request("alpha", "powerdown", reply, sizeof(reply), NULL, err,
					  sizeof(err)), -1);
	assert_string_equal(err, "no ?button? here");
	finish(&s);
	assert_int_equal(s.info_calls, 1);
	assert_int_equal(s.stat_calls, 2);
	assert_int_equal(s.stop_calls, 1);
	assert_int_equal(s.set_calls, 2);
	assert_int_equal(s.powerdown_calls, 3);
	assert_int_equal(s.c[0].served, 7);
	assert_int_equal(s.c[0].rejected, 5);
	/* Closed: the socket is gone and the name is free. */
	sock_file("alpha", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(control__request("alpha", "info", reply, sizeof(reply), &stale,
					  err, sizeof(err)), -1);
	assert_false(stale);
	assert_non_null(strstr(err, "no VM named 'alpha'"));
	assert_int_equal(control__request("../etc", "info", reply, sizeof(reply), NULL,
					  err, sizeof(err)), -1);
}

static void test_malformed(void **state)
{
	static char big[10240], reply[4096];
	static const struct { const char *req; size_t len; const char *want; } cases[] = {
		{ "\n", 1, "empty request" },
		{ "\r\n", 2, "empty request" },
		{ "\x01\x02\xff\xfe\n", 5, "malformed request" },
		{ "in\0fo\n", 6, "malformed request" },
		{ "info please\n", 12, "unknown request" },
		{ "set vhost\n", 10, "malformed set request" },
		{ "set vhost on nic -1\n", 20, "malformed set request" },
		{ "set vhost off nic01\n", 20, "malformed set request" },
		{ "set vhost off nic 1x\n", 21, "malformed set request" },
		{ "set vhost on nic 99999999999\n", 29, "malformed set request" },
		{ "set vhost on nic  1\n", 20, "malformed set request" },
		{ "set vhoston\n", 12, "malformed set request" },
		{ "set vhost\toff\n", 14, "malformed request" },
		{ "set vhost on \n", 14, "malformed set request" },
		{ "set vhost offnic 1\n", 19, "malformed set request" },
		{ "reboot\n", 7, "unknown request" },
		{ "powerdown now\n", 14, "unknown request" },
		{ "power down\n", 11, "unknown request" },
		{ "powerdown\nstop\n", 15, "one request per connection" },
		{ "info\nstop\n", 10, "one request per connection" },
		{ "", 0, "no request received in time" },
	};
	struct server s;
	uint64_t t0;

	start(&s, "beta", NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		raw("beta", cases[i].req, cases[i].len, reply, sizeof(reply));
		if (!strstr(reply, cases[i].want) || strncmp(reply, "{\"error\":\"", 10))
			fail_msg("case %zu: reply '%s'", i, reply);
	}
	memset(big, 'A', sizeof(big));
	raw("beta", big, sizeof(big), reply, sizeof(reply));
	assert_non_null(strstr(reply, "request too long"));
	/* A silent client costs the server no more than its timeout. */
	t0 = util__now_ns();
	raw("beta", "", 0, reply, sizeof(reply));
	assert_true(util__now_ns() - t0 < 4ULL * CONTROL_SERVER_TIMEOUT_MS * 1000000ULL);
	/* A request ended by shutdown instead of '\n' is fine; still serving. */
	raw("beta", "info", 4, reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"pid\":"));
	finish(&s);
	assert_int_equal(s.stop_calls, 0);
	assert_int_equal(s.powerdown_calls, 0);
	assert_int_equal(s.info_calls, 1);
	assert_int_equal(s.c[0].rejected, sizeof(cases) / sizeof(cases[0]) + 2);
}

/* A socket file bound and never unlinked, as a crashed VMM leaves it. */
static void make_stale(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	sock_file(name, sa.sun_path, sizeof(sa.sun_path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void test_stale_and_duplicate(void **state)
{
	static char reply[CONTROL_REPLY_MAX];
	char err[256], want[128], path[128];
	struct control c2;
	struct server s;
	struct stat st;
	bool stale = false;

	make_stale("gamma");
	assert_int_equal(control__request("gamma", "info", reply, sizeof(reply), &stale,
					  err, sizeof(err)), -1);
	assert_true(stale);
	start(&s, "gamma", NULL);   /* replaces the stale socket */
	assert_int_equal(control__request("gamma", "info", reply, sizeof(reply), &stale,
					  err, sizeof(err)), 0);
	/* Same name while it runs: refused, naming the owner. */
	assert_int_equal(control__open(&c2, "gamma", &ops, NULL, err, sizeof(err)), -1);
	assert_int_equal(c2.fd, -1);
	snprintf(want, sizeof(want), "a VM named 'gamma' is already running (pid %d)", getpid());
	assert_string_equal(err, want);
	/* The refused one did not take the socket away. */
	assert_int_equal(control__request("gamma", "info", reply, sizeof(reply), NULL,
					  err, sizeof(err)), 0);
	/* Not a socket: left alone. */
	sock_file("delta", path, sizeof(path));
	fclose(fopen(path, "w"));
	assert_int_equal(control__open(&c2, "delta", &ops, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	assert_int_equal(control__open(&c2, ".hidden", &ops, NULL, err, sizeof(err)), -1);
	finish(&s);
}

static int count_cb(void *opaque, const struct vm_snapshot *s)
{
	char *names = opaque;

	strcat(names, s->name);
	strcat(names, ";");
	return 0;
}

static void test_list_and_close(void **state)
{
	char err[256], names[256] = "", path[128];
	struct control mine, theirs;
	struct server s;
	struct stat st;

	start(&s, "one", "two");
	sock_file("one", path, sizeof(path));
	make_stale("zombie");
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	fclose(fopen(path, "w"));       /* not a .sock: ignored */
	sock_file("plain", path, sizeof(path));
	fclose(fopen(path, "w"));       /* a .sock that is no socket: never removed */
	assert_int_equal(control__list(count_cb, names, false, err, sizeof(err)), 2);
	assert_string_equal(names, "vm;vm;");
	sock_file("zombie", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);   /* kept without remove_stale */
	assert_int_equal(control__list(NULL, NULL, true, err, sizeof(err)), 2);
	assert_int_equal(stat(path, &st), -1);  /* removed with it */
	sock_file("plain", path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	finish(&s);
	assert_int_equal(s.info_calls, 4);
	assert_int_equal(control__list(NULL, NULL, true, err, sizeof(err)), 0);

	/* close removes only a socket that is still ours. */
	assert_int_equal(control__open(&mine, "eps", &ops, NULL, err, sizeof(err)), 0);
	sock_file("eps", path, sizeof(path));
	unlink(path);   /* as if an admin removed it and another VM took the name */
	assert_int_equal(control__open(&theirs, "eps", &ops, NULL, err, sizeof(err)), 0);
	control__close(&mine);
	assert_int_equal(stat(path, &st), 0);
	control__close(&theirs);
	assert_int_equal(stat(path, &st), -1);
	control__close(&theirs);        /* idempotent */

	/* No directory at all: nothing is running. */
	setenv("VMM_RUNTIME_DIR", "/nonexistent/vmm-test", 1);
	assert_int_equal(control__list(NULL, NULL, false, err, sizeof(err)), 0);
	setenv("VMM_RUNTIME_DIR", dir, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_stale_and_duplicate),
		cmocka_unit_test(test_list_and_close),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
