/* log.h — one-line diagnostics on stderr, prefixed "vmm: ". */
#ifndef VMM_LOG_H
#define VMM_LOG_H

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int log__verbosity;  /* messages above this level are dropped */

/* Never changes errno, so "pr_err(...); return -errno;" reports the
 * caller's error (and %m works). */
void log__msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...)   log__msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  log__msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  log__msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log__msg(LOG_DEBUG, __VA_ARGS__)

#endif
