/* test_log.c — logging leaves errno alone, so a caller that logs a failed
 * system call and then returns -errno reports the real error. stderr is
 * pointed at a pipe or a file for these tests: isatty() on a non-terminal
 * sets errno to ENOTTY, which is what used to leak into those returns. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/vm.h"

/* stderr redirected for one test: 'saved' is the real one. */
struct redirect {
	int saved;
	int pipe[2];      /* -1 when stderr is a file */
	FILE *file;
};

static void redirect_to_pipe(struct redirect *r)
{
	fflush(stderr);
	r->saved = dup(STDERR_FILENO);
	r->file = NULL;
	assert_true(r->saved >= 0);
	assert_int_equal(pipe2(r->pipe, O_CLOEXEC | O_NONBLOCK), 0);
	assert_true(dup2(r->pipe[1], STDERR_FILENO) == STDERR_FILENO);
	assert_false(isatty(STDERR_FILENO));
}

static void redirect_to_file(struct redirect *r)
{
	fflush(stderr);
	r->saved = dup(STDERR_FILENO);
	r->pipe[0] = r->pipe[1] = -1;
	r->file = tmpfile();
	assert_true(r->saved >= 0);
	assert_non_null(r->file);
	assert_true(dup2(fileno(r->file), STDERR_FILENO) == STDERR_FILENO);
	assert_false(isatty(STDERR_FILENO));
}

/* Put stderr back; return what was written to it (caller frees). */
static char *restore(struct redirect *r)
{
	char *out = calloc(1, 4096);
	ssize_t n;

	assert_non_null(out);
	assert_true(dup2(r->saved, STDERR_FILENO) == STDERR_FILENO);
	close(r->saved);
	if (r->file) {
		rewind(r->file);
		n = (ssize_t)fread(out, 1, 4095, r->file);
		fclose(r->file);
	} else {
		close(r->pipe[1]);
		n = read(r->pipe[0], out, 4095);
		close(r->pipe[0]);
	}
	assert_true(n >= 0);
	out[n] = '\0';
	return out;
}

/* Every level, emitted or dropped: how many calls changed errno. Counted
 * rather than asserted, because cmocka reports on the redirected stderr. */
static int log_all_levels(void)
{
	static const int values[] = { EBADF, EINVAL, ENOSPC, 0 };
	int changed = 0;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		errno = values[i];
		pr_err("err %zu", i);
		changed += errno != values[i];
		errno = values[i];
		pr_warn("warn %zu", i);
		changed += errno != values[i];
		errno = values[i];
		pr_info("info %zu", i);
		changed += errno != values[i];
		errno = values[i];
		pr_debug("debug %zu", i);
		changed += errno != values[i];
		errno = values[i];
		log__msg(LOG_ERR, "%s", strerror(values[i]));
		changed += errno != values[i];
	}
	return changed;
}

static void test_log_keeps_errno_pipe(void **state)
{
	struct redirect r;
	int verbosity = log__verbosity, changed;
	char *out;

	log__verbosity = LOG_INFO;       /* pr_debug dropped */
	redirect_to_pipe(&r);
	changed = log_all_levels();
	out = restore(&r);
	log__verbosity = verbosity;
	assert_int_equal(changed, 0);
	/* The lines did go out, without the terminal's "\r". */
	assert_non_null(strstr(out, "vmm: err 0\n"));
	assert_non_null(strstr(out, "vmm: warning: warn 1\n"));
	assert_non_null(strstr(out, "vmm: info 2\n"));
	assert_null(strstr(out, "debug"));
	assert_null(strchr(out, '\r'));
	free(out);
}

static void test_log_keeps_errno_file(void **state)
{
	struct redirect r;
	int verbosity = log__verbosity, changed;
	char *out;

	log__verbosity = LOG_DEBUG;
	redirect_to_file(&r);
	changed = log_all_levels();
	/* A message longer than the line buffer is cut, errno still kept. */
	errno = EMFILE;
	pr_err("%0*d", 4000, 7);
	changed += errno != EMFILE;
	out = restore(&r);
	log__verbosity = verbosity;
	assert_int_equal(changed, 0);
	assert_non_null(strstr(out, "vmm: debug 0\n"));
	assert_non_null(strstr(out, "vmm: Bad file descriptor\n"));
	free(out);
}

/* stderr closed: the write fails (EBADF), the caller's errno survives. */
static void test_log_keeps_errno_write_fails(void **state)
{
	int saved, after;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	close(STDERR_FILENO);
	errno = EAGAIN;
	pr_err("into the void");
	after = errno;
	assert_true(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
	close(saved);
	assert_int_equal(after, EAGAIN);
}

/* A real caller: irq.c logs a failed KVM ioctl and returns its errno. A
 * closed fd as the VM fd makes the ioctl fail with EBADF. */
static void test_irq_returns_ioctl_errno(void **state)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct redirect r;
	int err[5], fd;
	char *out;

	assert_non_null(vm);
	/* stderr first: the pipe must not reuse the closed fd's number. */
	redirect_to_pipe(&r);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(fd);
	vm->vm_fd = fd;                 /* closed: every ioctl is EBADF */
	err[0] = irq__irqfd(vm, 0, 24, true);
	err[1] = irq__irqfd(vm, 0, 24, false);
	err[2] = irq__ioeventfd(vm, 0, 0xc0003000, 2, false, true);
	err[3] = irq__ioeventfd(vm, 0, 0xc0003000, 2, false, false);
	err[4] = irq__signal_msi(vm, &(struct msi_msg){ 0xfee00000, 0x4021, 8 });
	out = restore(&r);              /* cmocka reports on stderr */
	assert_true(fd >= 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(err[i], -EBADF);
	/* ... and the log line names the same error. */
	assert_non_null(strstr(out, "KVM_IRQFD assign gsi 24: Bad file descriptor"));
	assert_non_null(strstr(out, "KVM_IOEVENTFD deassign 0xc0003000: Bad file descriptor"));
	assert_null(strstr(out, "Inappropriate ioctl"));
	free(out);
	free(vm);
}

/* Another: loop.c logs a failed epoll_create1()/eventfd() and returns its
 * errno. With the fd limit at the lowest free fd both fail with EMFILE. */
static void test_loop_init_returns_errno(void **state)
{
	struct rlimit old, low;
	struct redirect r;
	struct loop l;
	int fd, err, lim;
	char *out;

	redirect_to_pipe(&r);
	lim = getrlimit(RLIMIT_NOFILE, &old);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);   /* the lowest free fd */
	close(fd);
	low = old;
	low.rlim_cur = (rlim_t)fd;
	if (!lim && fd >= 0)
		lim = setrlimit(RLIMIT_NOFILE, &low);
	err = loop__init(&l);
	setrlimit(RLIMIT_NOFILE, &old);
	out = restore(&r);              /* cmocka reports on stderr */
	assert_int_equal(lim, 0);
	assert_true(fd >= 0);
	assert_int_equal(err, -EMFILE);
	assert_non_null(strstr(out, "cannot create the I/O loop: Too many open files"));
	free(out);
	loop__destroy(&l);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* One guest-triggered call site, as virtio code has them. */
static void bad_queue_enable(int i)
{
	pr_guest("virtio-test: queue %d enabled with a bad ring", i);
}

/* A guest enabling a bad queue 1000 times: a burst of lines, then one
 * line with the count (here at exit, the window not having passed). */
static void test_ratelimit_guest_flood(void **state)
{
	struct redirect r;
	int verbosity = log__verbosity;
	uint64_t lines0, quiet0, lines1, quiet1;
	char *out;

	log__verbosity = LOG_INFO;
	log__guest_counts(&lines0, &quiet0);
	redirect_to_file(&r);
	for (int i = 0; i < 1000; i++)
		bad_queue_enable(i);
	log__guest_counts(&lines1, &quiet1);
	errno = ENOSPC;
	log__flush_suppressed();
	log__flush_suppressed();        /* nothing new to say */
	assert_int_equal(errno, ENOSPC);
	out = restore(&r);
	log__verbosity = verbosity;
	assert_int_equal(count_of(out, "\n"), LOG_RATELIMIT_BURST + 1);
	assert_int_equal(count_of(out, "enabled with a bad ring"), LOG_RATELIMIT_BURST);
	assert_non_null(strstr(out, "vmm: warning: virtio-test: queue 0 enabled with a bad ring\n"));
	assert_null(strstr(out, "queue 10 enabled"));
	assert_non_null(strstr(out, "vmm: warning: 990 more like this suppressed (tests/unit/test_log.c:"));
	free(out);
	/* `vmm stat`'s guest_log: all 1000, 990 of them kept quiet */
	assert_int_equal(lines1 - lines0, 1000);
	assert_int_equal(quiet1 - quiet0, 990);
}

/* The window: after LOG_RATELIMIT_WINDOW_NS the count is reported before
 * the next line and a new burst may go out; sites are independent. */
static void test_ratelimit_window(void **state)
{
	static struct log_ratelimit a = { .site = "a.c:1" }, b = { .site = "b.c:2" };
	const uint64_t t0 = 1000000000ULL, w = LOG_RATELIMIT_WINDOW_NS;
	struct redirect r;
	int verbosity = log__verbosity;
	char *out;

	log__verbosity = LOG_INFO;
	redirect_to_file(&r);
	for (int i = 0; i < 15; i++)
		log__ratelimited(&a, t0 + (uint64_t)i, LOG_ERR, "a %d", i);
	log__ratelimited(&b, t0 + 20, LOG_WARN, "b %d", 0);
	log__ratelimited(&a, t0 + w - 1, LOG_ERR, "a late");          /* still dropped */
	log__ratelimited(&a, t0 + w, LOG_ERR, "a next");
	log__ratelimited(&a, t0 + w + 1, LOG_DEBUG, "a debug");        /* below verbosity */
	log__flush_suppressed();                                        /* a: nothing left */
	out = restore(&r);
	log__verbosity = verbosity;
	assert_non_null(strstr(out, "vmm: a 9\n"));
	assert_null(strstr(out, "vmm: a 10\n"));
	assert_null(strstr(out, "a late"));
	assert_non_null(strstr(out, "vmm: warning: b 0\n"));
	assert_non_null(strstr(out, "vmm: warning: 6 more like this suppressed (a.c:1)\nvmm: a next\n"));
	assert_int_equal(count_of(out, "suppressed"), 1);
	assert_null(strstr(out, "a debug"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_keeps_errno_pipe),
		cmocka_unit_test(test_log_keeps_errno_file),
		cmocka_unit_test(test_log_keeps_errno_write_fails),
		cmocka_unit_test(test_irq_returns_ioctl_errno),
		cmocka_unit_test(test_loop_init_returns_errno),
		cmocka_unit_test(test_ratelimit_guest_flood),
		cmocka_unit_test(test_ratelimit_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
