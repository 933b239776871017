/* test_client.c — `vmm stop`, `vmm kill` and `vmm list --json` from the
 * client's side (vmm/client.c), against a VMM stand-in: a forked child
 * serving a control socket in a private runtime directory, whose ops
 * play a guest. The client must wait on the child's exit (a pidfd), not
 * on time: a guest that powers off at the button ends `vmm stop` at once
 * with "the guest powered off"; one that ignores it is ended by "stop"
 * after --timeout; --force never presses the button; each says so in one
 * line and returns once the process is gone. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/client.h"
#include "vmm/control.h"
#include "vmm/util.h"

#include "tests/unit/rundir.h"

/* How the stand-in's guest answers the power button. */
enum guest { GUEST_POWERS_OFF, GUEST_IGNORES };

/* What the child saw, as its exit status: one bit per op called. */
#define SAW_POWERDOWN 1
#define SAW_STOP      2

struct child {
	enum guest guest;
	int saw;
	bool leave;
};

static int op_info(void *opaque, struct vm_snapshot *out)
{
	snprintf(out->name, sizeof(out->name), "vm1");
	snprintf(out->state, sizeof(out->state), "running");
	out->pid = getpid();
	out->nr_vcpus = 1;
	out->uptime_s = 3725.5;
	return 0;
}

static void op_stop(void *opaque)
{
	struct child *c = opaque;

	c->saw |= SAW_STOP;
	c->leave = true;
}

static int op_powerdown(void *opaque, char *msg, size_t len)
{
	struct child *c = opaque;

	c->saw |= SAW_POWERDOWN;
	if (c->guest == GUEST_IGNORES)
		return 0;       /* no driver enabled the button */
	c->leave = true;        /* the guest powers off: the VMM exits */
	return 1;
}

static const struct control_ops ops = {
	.info = op_info, .stat = op_info, .stop = op_stop, .powerdown = op_powerdown,
};

/* Fork the stand-in VMM "vm1"; returns once its socket listens. */
static pid_t start_vmm(enum guest guest)
{
	int ready[2];
	char byte;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct child c = { .guest = guest };
		struct control ctl;
		char err[256];

		close(ready[0]);
		if (control__open(&ctl, "vm1", &ops, &c, err, sizeof(err)) < 0) {
			fprintf(stderr, "child: %s\n", err);
			_exit(100);
		}
		(void)!write(ready[1], "r", 1);
		while (!c.leave) {
			struct pollfd p = { .fd = ctl.fd, .events = POLLIN };

			if (poll(&p, 1, 20000) <= 0)
				_exit(101);     /* the test gave up on us */
			control__handle(&ctl);
		}
		control__close(&ctl);
		_exit(c.saw);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &byte, 1), 1);
	close(ready[0]);
	return pid;
}

/* The child's exit status (the ops it saw). */
static int reap(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* What the client wrote to its 'out', as one string. */
static char *text(FILE *f)
{
	static char buf[4096];
	size_t n;

	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_guest_powers_off(void **state)
{
	pid_t pid = start_vmm(GUEST_POWERS_OFF);
	FILE *out = tmpfile();
	uint64_t t0 = util__now_ns();
	const char *s;

	assert_int_equal(client__stop(out, "vm1", false, 60), 0);
	/* returned on the exit, not at the timeout */
	assert_true(util__now_ns() - t0 < 10ULL * 1000000000ULL);
	s = text(out);
	if (strncmp(s, "VM 'vm1': the guest powered off after ", 38) || !strstr(s, " s\n") ||
	    strchr(s, '\n') != s + strlen(s) - 1)
		fail_msg("vmm stop said \"%s\"", s);
	assert_int_equal(reap(pid), SAW_POWERDOWN);
}

static void test_guest_ignores_button(void **state)
{
	pid_t pid = start_vmm(GUEST_IGNORES);
	FILE *out = tmpfile();
	uint64_t t0 = util__now_ns(), dt;

	assert_int_equal(client__stop(out, "vm1", false, 1), 0);
	dt = util__now_ns() - t0;
	assert_true(dt >= 1000000000ULL && dt < 10ULL * 1000000000ULL);
	assert_string_equal(text(out), "VM 'vm1': the guest did not power off within 1 s (it had "
			    "not enabled the ACPI power button); ended it\n");
	assert_int_equal(reap(pid), SAW_POWERDOWN | SAW_STOP);
}

static void test_force_and_kill(void **state)
{
	pid_t pid = start_vmm(GUEST_POWERS_OFF);
	FILE *out = tmpfile();

	/* the button is never pressed */
	assert_int_equal(client__stop(out, "vm1", true, VMM_STOP_TIMEOUT_S), 0);
	assert_string_equal(text(out), "VM 'vm1' stopped\n");
	assert_int_equal(reap(pid), SAW_STOP);
}

static void test_no_such_vm(void **state)
{
	FILE *out = tmpfile();

	/* one line on stderr (not captured here), status 1, nothing on out */
	assert_int_equal(client__stop(out, "nobody", false, 1), 1);
	assert_int_equal(client__stop(out, "nobody", true, 1), 1);
	assert_string_equal(text(out), "");
}

static void test_list_json(void **state)
{
	FILE *out = tmpfile();
	pid_t pid;
	char want[64];
	const char *s;

	assert_int_equal(client__list(out, true), 0);
	assert_string_equal(text(out), "[]\n");
	pid = start_vmm(GUEST_IGNORES);
	out = tmpfile();
	assert_int_equal(client__list(out, true), 0);
	s = text(out);
	snprintf(want, sizeof(want), "\"pid\":%d,", (int)pid);
	if (strncmp(s, "[\n  {\"name\":\"vm1\",", 18) || !strstr(s, want) ||
	    !strstr(s, "\"uptime_s\":3725.500") || strcmp(s + strlen(s) - 4, "}\n]\n"))
		fail_msg("vmm list --json printed \"%s\"", s);
	out = tmpfile();
	assert_int_equal(client__stop(out, "vm1", true, 1), 0);
	fclose(out);
	assert_int_equal(reap(pid), SAW_STOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_powers_off),
		cmocka_unit_test(test_guest_ignores_button),
		cmocka_unit_test(test_force_and_kill),
		cmocka_unit_test(test_no_such_vm),
		cmocka_unit_test(test_list_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
