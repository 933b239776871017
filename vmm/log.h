/* log.h — one-line diagnostics on stderr, prefixed "vmm: ". */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stdbool.h>
#include <stdint.h>

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

/* ---- messages a guest can trigger at will --------------------------
 * A guest that enables a bad queue a thousand times must not write a
 * thousand lines. Each call site of pr_guest()/pr_guest_err() has its own
 * budget: LOG_RATELIMIT_BURST lines per LOG_RATELIMIT_WINDOW_NS, then
 * nothing until the window has passed, when one line says how many were
 * suppressed ("vmm: warning: 990 more like this suppressed (virtio/pci_common.c:54)").
 * log__flush_suppressed() (at exit) reports counts still pending. */
#define LOG_RATELIMIT_BURST     10
#define LOG_RATELIMIT_WINDOW_NS (5ULL * 1000000000ULL)

/* The state of one call site: a static in the macro below, touched only
 * under log.c's lock. */
struct log_ratelimit {
	const char *site;               /* "file.c:LINE", for the suppressed line */
	uint64_t window_start_ns;       /* 0: nothing logged yet */
	unsigned int printed;           /* lines in the current window */
	unsigned int suppressed;        /* dropped since the last report */
	bool listed;                    /* on log.c's list of sites with drops */
	struct log_ratelimit *next;
};

/* Log through 'rl' (static: it may join a list that lives until exit) at
 * time now_ns (0: the monotonic clock now). */
void log__ratelimited(struct log_ratelimit *rl, uint64_t now_ns, enum log_level lvl,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* One "N more like this suppressed" line for every site with drops not
 * reported yet. */
void log__flush_suppressed(void);
/* How many guest-triggered messages there were (every pr_guest() call at
 * or below the verbosity), and how many of them the limit kept quiet. */
void log__guest_counts(uint64_t *lines, uint64_t *suppressed);

#define LOG__STR2(x) #x
#define LOG__STR(x) LOG__STR2(x)
#define log__ratelimit(lvl, ...) do {                                          \
		static struct log_ratelimit log_rl__ = {                       \
			.site = __FILE__ ":" LOG__STR(__LINE__) };             \
		log__ratelimited(&log_rl__, 0, lvl, __VA_ARGS__);             \
	} while (0)
#define pr_guest(...)     log__ratelimit(LOG_WARN, __VA_ARGS__)
#define pr_guest_err(...) log__ratelimit(LOG_ERR, __VA_ARGS__)

#endif
