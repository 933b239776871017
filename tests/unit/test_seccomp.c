/* test_seccomp.c — the per-thread filters (vmm/seccomp.c, seccomp_rules.c)
 * in forked children, so this process stays unfiltered: a forbidden call
 * ends the process with exactly one line naming the thread kind and the
 * call, and status 128 + SIGSYS; allowed calls go through; executable
 * memory, foreign signals and write opens are refused where the rules
 * say; filters are per thread; --seccomp off installs nothing. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/pc/rtc.h"
#include "devices/net/tap_uring.h"
#include "vmm/seccomp.h"

/* Run fn in a child whose stderr is captured into out; returns the raw
 * wait status. */
static int in_child(void (*fn)(void), char *out, size_t len)
{
	int p[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		fn();
		_exit(0);
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_violation(int status, const char *out, const char *want)
{
	if (WIFSIGNALED(status))
		fail_msg("killed by signal %d; stderr \"%s\"", WTERMSIG(status), out);
	if (strcmp(out, want))
		fail_msg("stderr \"%s\", want \"%s\"", out, want);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), SECCOMP_VIOLATION_STATUS);
}

static void install(enum seccomp_kind kind)
{
	char err[256];

	if (seccomp__init(true, err, sizeof(err)) < 0 ||
	    seccomp__install(kind, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s", err);
		_exit(2);
	}
}

/* ---- the line ---- */

static void vcpu_opens_socket(void)
{
	install(SECCOMP_VCPU);
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	_exit(0);   /* not reached */
}

static void test_violation_line(void **state)
{
	char out[512];
	int st = in_child(vcpu_opens_socket, out, sizeof(out));

	assert_violation(st, out, "vmm: seccomp: thread vcpu made a forbidden system call socket "
			 "(nr 41)\n");
}

static void io_forks(void)
{
	install(SECCOMP_IO);
	syscall(SYS_fork);
	_exit(0);
}

static void test_io_cannot_fork(void **state)
{
	char out[512];

	assert_violation(in_child(io_forks, out, sizeof(out)), out,
			 "vmm: seccomp: thread io made a forbidden system call fork (nr 57)\n");
}

/* The I/O thread's filter (the pair threads') lets a ring made before it
 * write (io_uring_enter), but makes no new, unrestricted ring. */
static void io_uses_its_ring(void)
{
	struct tap_uring u;
	char why[160], b[64] = "x";
	struct iovec iov = { b, sizeof(b) };
	const struct iovec *iovs[1] = { &iov };
	int sv[2], cnt[1] = { 1 };
	ssize_t res[1];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) < 0 ||
	    !tap_uring__init(&u, sv[0], true, why, sizeof(why)))
		_exit(3);       /* no io_uring here */
	install(SECCOMP_IO);
	if (tap_uring__write(&u, iovs, cnt, 1, res) != 1 || res[0] != (ssize_t)sizeof(b) ||
	    read(sv[1], b, sizeof(b)) != (ssize_t)sizeof(b))
		_exit(4);
	syscall(__NR_io_uring_setup, 8, &(struct io_uring_params){ 0 });
	_exit(0);
}

static void test_io_uring_enter_only(void **state)
{
	char out[512];
	int st = in_child(io_uses_its_ring, out, sizeof(out));

	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		skip();
	assert_violation(st, out, "vmm: seccomp: thread io made a forbidden system call "
			 "io_uring_setup (nr 425)\n");
}

/* The main thread tears the rings down under its filter: it may drop the
 * ring's file (IORING_UNREGISTER_FILES), nothing else of io_uring_register. */
static void main_tears_ring_down(void)
{
	struct tap_uring u;
	char why[160];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) < 0 ||
	    !tap_uring__init(&u, sv[0], true, why, sizeof(why)))
		_exit(3);       /* no io_uring here */
	install(SECCOMP_MAIN);
	tap_uring__exit(&u);
	fprintf(stderr, "torn down\n");
	syscall(__NR_io_uring_register, -1, IORING_REGISTER_FILES, NULL, 0);
	_exit(0);
}

static void test_main_unregisters_only(void **state)
{
	char out[512];
	int st = in_child(main_tears_ring_down, out, sizeof(out));

	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		skip();
	assert_violation(st, out, "torn down\nvmm: seccomp: thread main made a forbidden system "
			 "call io_uring_register (nr 427)\n");
}

/* ---- what is allowed ---- */

static void blk_does_its_work(void)
{
	char buf[16] = "0123456789abcdef", back[16];
	struct timespec ts;
	FILE *f = tmpfile();
	int fd = f ? fileno(f) : -1;
	void *big;

	install(SECCOMP_BLK);
	if (fd < 0 || pwrite(fd, buf, sizeof(buf), 4096) != sizeof(buf) ||
	    pread(fd, back, sizeof(back), 4096) != sizeof(back) || memcmp(buf, back, 16) ||
	    fdatasync(fd) < 0)
		_exit(3);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	big = malloc(64 << 20);         /* mmap'd: memory is fine */
	if (!big)
		_exit(4);
	memset(big, 1, 64 << 20);
	free(big);
	fprintf(stderr, "fine\n");
	_exit(0);
}

static void test_allowed_calls_pass(void **state)
{
	char out[512];
	int st = in_child(blk_does_its_work, out, sizeof(out));

	assert_string_equal(out, "fine\n");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The guest reading the CMOS clock: the vCPU thread's first gmtime_r().
 * glibc reads /etc/localtime on the first one; seccomp__init() must have
 * done that before the filter (seen in the nested host: a guest's boot
 * ended vmm with "thread vcpu made a forbidden system call openat"). */
static void vcpu_reads_rtc(void)
{
	struct rtc *r = rtc__create();

	install(SECCOMP_VCPU);
	if (!r)
		_exit(3);
	(void)rtc__read_reg(r, 0x00);   /* seconds */
	(void)rtc__read_reg(r, 0x09);   /* year */
	fprintf(stderr, "fine\n");
	_exit(0);
}

static void test_vcpu_reads_clock(void **state)
{
	char out[512];
	int st = in_child(vcpu_reads_rtc, out, sizeof(out));

	assert_string_equal(out, "fine\n");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void maps_executable(void)
{
	install(SECCOMP_VCPU);
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	_exit(0);
}

static void test_no_executable_memory(void **state)
{
	char out[512];

	assert_violation(in_child(maps_executable, out, sizeof(out)), out,
			 "vmm: seccomp: thread vcpu made a forbidden system call mmap (nr 9)\n");
}

static void signals_parent(void)
{
	pid_t parent = getppid();

	install(SECCOMP_MAIN);
	syscall(SYS_tgkill, parent, parent, SIGUSR1);
	_exit(0);
}

static void test_signals_stay_inside(void **state)
{
	char out[512];

	assert_violation(in_child(signals_parent, out, sizeof(out)), out,
			 "vmm: seccomp: thread main made a forbidden system call tgkill (nr 234)\n");
}

static void control_opens_for_writing(void)
{
	int fd;

	install(SECCOMP_CONTROL);
	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);   /* allowed */
	if (fd < 0)
		_exit(3);
	/* who may ask: the socket's own user (seen in the nested host: a
	 * control thread killed at its first request by geteuid) */
	if (syscall(SYS_geteuid) < 0 || syscall(SYS_getuid) < 0)
		_exit(4);
	close(fd);
	open("/tmp/vmm-seccomp-test", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	_exit(0);
}

static void test_control_opens_read_only(void **state)
{
	char out[512];

	assert_violation(in_child(control_opens_for_writing, out, sizeof(out)), out,
			 "vmm: seccomp: thread control made a forbidden system call openat (nr 257)\n");
}

/* vmm stop: the control thread raises the power button's SCI itself
 * (KVM_IRQ_LINE; on a closed fd here, so EBADF proves the call got past
 * the filter); injecting an MSI stays the datapath's. */
static void control_raises_sci(void)
{
	struct kvm_irq_level l = { .irq = 9, .level = 1 };

	install(SECCOMP_CONTROL);
	if (ioctl(-1, KVM_IRQ_LINE, &l) != -1 || errno != EBADF)
		_exit(3);
	fprintf(stderr, "fine\n");
	ioctl(-1, KVM_SIGNAL_MSI, NULL);
	_exit(0);
}

static void test_control_raises_sci(void **state)
{
	char out[512];

	assert_violation(in_child(control_raises_sci, out, sizeof(out)), out,
			 "fine\nvmm: seccomp: thread control made a forbidden system call ioctl "
			 "(nr 16)\n");
}

/* ---- per thread ---- */

static void *blk_thread(void *arg)
{
	install(SECCOMP_BLK);
	return NULL;
}

static void one_thread_filtered(void)
{
	pthread_t t;
	int s;

	/* The filter is the thread's own: after it loaded there, this
	 * (unfiltered) thread may still open a socket... */
	if (pthread_create(&t, NULL, blk_thread, NULL) || pthread_join(t, NULL))
		_exit(3);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		_exit(4);
	close(s);
	/* ...and a thread filtered as blk may not. */
	install(SECCOMP_BLK);
	syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	_exit(0);
}

static void test_filters_are_per_thread(void **state)
{
	char out[512];

	assert_violation(in_child(one_thread_filtered, out, sizeof(out)), out,
			 "vmm: seccomp: thread blk made a forbidden system call socket (nr 41)\n");
}

/* ---- the parser child's filter ---- */

static void parser_sends_elsewhere(void)
{
	int sv[2], other[2], fd;
	char err[256];
	struct iovec iov = { "x", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, other))
		_exit(3);
	if (seccomp__install_parser(sv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "%s", err);
		_exit(2);
	}
	fd = memfd_create("k", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, "kernel", 6) != 6 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK) < 0 ||
	    sendmsg(sv[1], &m, 0) != 1)
		_exit(4);
	sendmsg(other[1], &m, 0);       /* not the result socket */
	_exit(0);
}

static void test_parser_one_socket(void **state)
{
	char out[512];

	assert_violation(in_child(parser_sends_elsewhere, out, sizeof(out)), out,
			 "vmm: seccomp: thread parser made a forbidden system call sendmsg (nr 46)\n");
}

static void parser_opens_file(void)
{
	char err[256];

	if (seccomp__install_parser(-1, err, sizeof(err)) < 0)
		_exit(2);
	open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	_exit(0);
}

static void test_parser_opens_nothing(void **state)
{
	char out[512];

	assert_violation(in_child(parser_opens_file, out, sizeof(out)), out,
			 "vmm: seccomp: thread parser made a forbidden system call openat (nr 257)\n");
}

/* ---- off ---- */

static void disabled(void)
{
	char err[256];
	int s;

	if (seccomp__init(false, err, sizeof(err)) < 0 ||
	    seccomp__install(SECCOMP_VCPU, err, sizeof(err)) < 0)
		_exit(2);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	_exit(s >= 0 && !seccomp__enabled() ? 0 : 3);
}

static void test_off_installs_nothing(void **state)
{
	char out[512];
	int st = in_child(disabled, out, sizeof(out));

	assert_string_equal(out, "");
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_violation_line),
		cmocka_unit_test(test_io_cannot_fork),
		cmocka_unit_test(test_io_uring_enter_only),
		cmocka_unit_test(test_main_unregisters_only),
		cmocka_unit_test(test_allowed_calls_pass),
		cmocka_unit_test(test_vcpu_reads_clock),
		cmocka_unit_test(test_no_executable_memory),
		cmocka_unit_test(test_signals_stay_inside),
		cmocka_unit_test(test_control_opens_read_only),
		cmocka_unit_test(test_control_raises_sci),
		cmocka_unit_test(test_filters_are_per_thread),
		cmocka_unit_test(test_parser_one_socket),
		cmocka_unit_test(test_parser_opens_nothing),
		cmocka_unit_test(test_off_installs_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
