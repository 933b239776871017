/* log.c — one-line diagnostics on stderr.
 *
 * While the host terminal is in raw mode a bare "\n" does not return the
 * carriage, so every line ends in "\r\n" when stderr is a terminal.
 *
 * Logging leaves errno as it found it: isatty() sets ENOTTY whenever
 * stderr is a pipe or a file, and callers commonly log a failure and then
 * return -errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"

int log__verbosity = LOG_INFO;

void log__msg(enum log_level lvl, const char *fmt, ...)
{
	int saved_errno = errno;   /* restored on the way out, see above */
	char buf[1024];
	va_list ap;
	int n;

	if ((int)lvl > log__verbosity)
		return;
	n = snprintf(buf, sizeof(buf), "vmm: %s", lvl == LOG_WARN ? "warning: " : "");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	if (isatty(STDERR_FILENO))
		buf[n++] = '\r';
	buf[n++] = '\n';
	/* One write() so lines from different threads never interleave. */
	if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
	errno = saved_errno;
}
