/* log.c — one-line diagnostics on stderr.
 *
 * While the host terminal is in raw mode a bare "\n" does not return the
 * carriage, so every line ends in "\r\n" when stderr is a terminal.
 *
 * Logging leaves errno as it found it: isatty() sets ENOTTY whenever
 * stderr is a pipe or a file, and callers commonly log a failure and then
 * return -errno.
 *
 * Rate-limited messages (pr_guest, log.h): the only mutable state here
 * besides log__verbosity. Each call site owns a static struct
 * log_ratelimit; this file adds the lock that serialises them (a guest can
 * trigger the same site from several vCPU threads and the I/O thread at
 * once) and the list of sites with unreported drops, so the counts can
 * still be printed at exit.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

int log__verbosity = LOG_INFO;

static pthread_mutex_t ratelimit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_ratelimit *ratelimit_dropped;    /* sites with drops */
/* Every guest-triggered message, shown or not (`vmm stat`): under the lock. */
static uint64_t guest_lines, guest_suppressed;

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	char buf[1024];
	int n;

	n = snprintf(buf, sizeof(buf), "vmm: %s", lvl == LOG_WARN ? "warning: " : "");
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (n > (int)sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	if (isatty(STDERR_FILENO))
		buf[n++] = '\r';
	buf[n++] = '\n';
	/* One write() so lines from different threads never interleave. */
	if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void log__msg(enum log_level lvl, const char *fmt, ...)
{
	int saved_errno = errno;   /* restored on the way out, see above */
	va_list ap;

	if ((int)lvl > log__verbosity)
		return;
	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Under ratelimit_lock: say how many were dropped at this site. */
static void report_dropped(struct log_ratelimit *rl)
{
	if (rl->suppressed)
		log__msg(LOG_WARN, "%u more like this suppressed (%s)", rl->suppressed, rl->site);
	rl->suppressed = 0;
}

void log__ratelimited(struct log_ratelimit *rl, uint64_t now, enum log_level lvl,
		      const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if ((int)lvl > log__verbosity)
		return;
	if (!now)
		now = now_ns();
	pthread_mutex_lock(&ratelimit_lock);
	guest_lines++;
	if (!rl->window_start_ns || now - rl->window_start_ns >= LOG_RATELIMIT_WINDOW_NS) {
		report_dropped(rl);
		rl->window_start_ns = now ? now : 1;
		rl->printed = 0;
	}
	if (rl->printed < LOG_RATELIMIT_BURST) {
		rl->printed++;
		va_start(ap, fmt);
		vlog(lvl, fmt, ap);
		va_end(ap);
	} else {
		rl->suppressed++;
		guest_suppressed++;
		if (!rl->listed) {
			rl->listed = true;
			rl->next = ratelimit_dropped;
			ratelimit_dropped = rl;
		}
	}
	pthread_mutex_unlock(&ratelimit_lock);
	errno = saved_errno;
}

void log__flush_suppressed(void)
{
	int saved_errno = errno;

	pthread_mutex_lock(&ratelimit_lock);
	for (struct log_ratelimit *rl = ratelimit_dropped; rl; rl = rl->next)
		report_dropped(rl);
	pthread_mutex_unlock(&ratelimit_lock);
	errno = saved_errno;
}

void log__guest_counts(uint64_t *lines, uint64_t *suppressed)
{
	pthread_mutex_lock(&ratelimit_lock);
	*lines = guest_lines;
	*suppressed = guest_suppressed;
	pthread_mutex_unlock(&ratelimit_lock);
}
