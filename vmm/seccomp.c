/* seccomp.c — load the per-thread filters and report a violation.
 *
 * The default action is SECCOMP_RET_TRAP rather than killing outright:
 * the kernel then delivers SIGSYS to the offending thread, whose handler
 * can say which thread made which call before the process ends. A bare
 * kill would leave only "Bad system call" from the shell, or nothing.
 *
 * The handler may run in any thread at any point, so it only uses
 * async-signal-safe calls (write, ioctl, _exit) and a table of system
 * call names built at start-up (libseccomp's resolver allocates).
 */
#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmm/seccomp.h"
#include "vmm/seccomp_priv.h"
#include "vmm/util.h"

#define NAMES_MAX 512   /* x86-64 system call numbers in use are below this */

static bool enabled;
static struct seccomp_rules_env env = { .tty_fd = -1, .result_fd = -1 };
static const struct termios *tty_saved;
static scmp_filter_ctx filters[SECCOMP_NR_KINDS];
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;  /* libseccomp is not thread-safe */
static const char *names[NAMES_MAX];
static bool handler_ready;
static __thread int thread_kind = -1;   /* for the handler's line */

static const char *const kind_names[SECCOMP_NR_KINDS] = {
	[SECCOMP_MAIN] = "main", [SECCOMP_VCPU] = "vcpu", [SECCOMP_IO] = "io",
	[SECCOMP_BLK] = "blk", [SECCOMP_CONTROL] = "control", [SECCOMP_PARSER] = "parser",
};

const char *seccomp__kind_name(enum seccomp_kind kind)
{
	return (unsigned)kind < SECCOMP_NR_KINDS ? kind_names[kind] : "unknown";
}

bool seccomp__enabled(void)
{
	return enabled;
}

void seccomp__set_tty(int fd, const struct termios *t)
{
	env.tty_fd = t ? fd : -1;
	tty_saved = t;
}

/* ---- the violation handler (async-signal-safe only) ---- */

static size_t put_str(char *buf, size_t pos, size_t len, const char *s)
{
	while (*s && pos + 1 < len)
		buf[pos++] = *s++;
	return pos;
}

static size_t put_uint(char *buf, size_t pos, size_t len, unsigned long v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && pos + 1 < len)
		buf[pos++] = tmp[--n];
	return pos;
}

/* The ABI vmm was built for (SCMP_ARCH_* equals the AUDIT_ARCH_* value
 * the kernel reports in si_arch); read once, outside the handler. */
static uint32_t native_arch;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[200];
	size_t n = 0;
	int nr = si->si_syscall;
	const char *name = nr >= 0 && nr < NAMES_MAX && names[nr] ? names[nr] : "?";

	(void)sig;
	(void)uc;
	if (si->si_arch != native_arch)
		name = "(a system call of another ABI)";
	/* The terminal first, so the line lands on a sane screen. */
	if (env.tty_fd >= 0 && tty_saved)
		ioctl(env.tty_fd, TCSETS, tty_saved);
	n = put_str(line, n, sizeof(line), "\nvmm: seccomp: thread ");
	n = put_str(line, n, sizeof(line), thread_kind >= 0 ? kind_names[thread_kind] : "unknown");
	n = put_str(line, n, sizeof(line), " made a forbidden system call ");
	n = put_str(line, n, sizeof(line), name);
	n = put_str(line, n, sizeof(line), " (nr ");
	n = put_uint(line, n, sizeof(line), (unsigned long)(unsigned)nr);
	n = put_str(line, n, sizeof(line), ")\n");
	/* The leading '\n' ends a half-written console line; skip it when
	 * stderr is not the terminal. */
	if (write(STDERR_FILENO, line + (env.tty_fd < 0), n - (env.tty_fd < 0)) < 0) {
		/* nowhere left to say it */
	}
	/* The system call itself: a sanitizer's _exit() interceptor would
	 * make more calls, under this same filter. */
	syscall(SYS_exit_group, SECCOMP_VIOLATION_STATUS);
	_exit(SECCOMP_VIOLATION_STATUS);
}

static int prepare_handler(char *err, size_t errlen)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };

	if (handler_ready)
		return 0;
	native_arch = seccomp_arch_native();
	for (int nr = 0; nr < NAMES_MAX; nr++)
		names[nr] = seccomp_syscall_resolve_num_arch(native_arch, nr);
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return util__fail(err, errlen, "seccomp: cannot handle SIGSYS: %s", strerror(errno));
	handler_ready = true;
	return 0;
}

/* ---- filters ---- */

static scmp_filter_ctx build(enum seccomp_kind kind, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r;

	if (!ctx) {
		util__fail(err, errlen, "seccomp: cannot create the %s filter", kind_names[kind]);
		return NULL;
	}
	/* A 32-bit (int 0x80) or x32 call traps too, with its own line. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (!r)
		r = seccomp_rules__add(ctx, kind, &env);
	if (r) {
		seccomp_release(ctx);
		util__fail(err, errlen, "seccomp: building the %s filter: %s", kind_names[kind],
			   strerror(-r));
		return NULL;
	}
	return ctx;
}

static void release_all(void)
{
	for (int k = 0; k < SECCOMP_NR_KINDS; k++) {
		if (filters[k])
			seccomp_release(filters[k]);
		filters[k] = NULL;
	}
}

int seccomp__init(bool on, char *err, size_t errlen)
{
	release_all();
	enabled = false;
	if (!on)
		return 0;
	env.pid = getpid();
	/* glibc opens files lazily on some first calls, and a filtered
	 * thread may not open: the time zone (/etc/localtime) is read on
	 * the first gmtime_r(), which the CMOS RTC makes on a vCPU thread
	 * when the guest reads the clock. Read it now, unfiltered. */
	tzset();
	if (prepare_handler(err, errlen) < 0)
		return -1;
	for (int k = 0; k < SECCOMP_NR_KINDS; k++) {
		if (k == SECCOMP_PARSER)
			continue;
		filters[k] = build((enum seccomp_kind)k, err, errlen);
		if (!filters[k]) {
			release_all();
			return -1;
		}
	}
	enabled = true;
	return 0;
}

static int load(enum seccomp_kind kind, char *err, size_t errlen)
{
	sigset_t sys;
	int r;

	/* A blocked SIGSYS would make the kernel kill without the line. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	thread_kind = kind;
	pthread_mutex_lock(&load_lock);
	r = seccomp_load(filters[kind]);
	pthread_mutex_unlock(&load_lock);
	if (r)
		return util__fail(err, errlen, "seccomp: cannot load the %s thread's filter: %s "
				  "(--seccomp off runs without)", kind_names[kind], strerror(-r));
	return 0;
}

int seccomp__install(enum seccomp_kind kind, char *err, size_t errlen)
{
	if (!enabled)
		return 0;
	if ((unsigned)kind >= SECCOMP_NR_KINDS || !filters[kind])
		return util__fail(err, errlen, "seccomp: no filter for thread kind %d", (int)kind);
	return load(kind, err, errlen);
}

int seccomp__install_parser(int result_fd, char *err, size_t errlen)
{
	env.pid = getpid();
	env.tty_fd = -1;        /* the parent owns the terminal */
	tty_saved = NULL;
	env.result_fd = result_fd;
	if (prepare_handler(err, errlen) < 0)
		return -1;
	if (filters[SECCOMP_PARSER])
		seccomp_release(filters[SECCOMP_PARSER]);
	filters[SECCOMP_PARSER] = build(SECCOMP_PARSER, err, errlen);
	if (!filters[SECCOMP_PARSER])
		return -1;
	return load(SECCOMP_PARSER, err, errlen);
}
