/* dp_measure.c — what a cell costs, read before and after it.
 *
 * - CPU: the I/O thread's own clock (pthread_getcpuclockid: user + system
 *   time of vmm-io alone, which includes the kernel's tap work done in its
 *   readv/writev) and the whole process's (guest and peer threads too).
 * - System calls of the I/O thread: the kernel's raw_syscalls:sys_enter
 *   tracepoint counted by a perf event attached to that thread alone
 *   (perf_event_open, no sampling, no tracing buffer), and a second one
 *   filtered to epoll_wait/epoll_pwait: the loop's iterations. Needs
 *   tracefs (dp_enter_netns mounts it) and perf events for root; without
 *   them the columns say n/a.
 * - Wake-ups of the I/O thread: its voluntary context switches
 *   (/proc/self/task/TID/status), i.e. the times it went to sleep in
 *   epoll_wait (or on a lock) and had to be woken: the cost a batching
 *   datapath avoids.
 * - vmm's own counters (struct net_dev_stats): packets, kicks it served,
 *   interrupts it raised.
 * No counter was added to vmm for this: the loop needs none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "tests/bench/datapath/dp.h"

struct dp_counters {
	int tid;
	int fd_sys, fd_epoll;
	clockid_t io_clock;
	bool have_clock;
};

static long tracepoint_id(void)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
		"/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		FILE *f = fopen(paths[i], "re");
		long id = -1;

		if (!f)
			continue;
		if (fscanf(f, "%ld", &id) != 1)
			id = -1;
		fclose(f);
		if (id >= 0)
			return id;
	}
	return -1;
}

static int counter(long id, int tid, const char *filter)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_TRACEPOINT, .size = sizeof(a), .config = (uint64_t)id,
	};
	int fd = (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd >= 0 && filter && ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct dp_counters *dp_counters_open(int tid, char *why, size_t len)
{
	struct dp_counters *c = calloc(1, sizeof(*c));
	long id = tracepoint_id();

	if (!c)
		return NULL;
	c->tid = tid;
	c->fd_sys = c->fd_epoll = -1;
	why[0] = '\0';
	if (id < 0) {
		snprintf(why, len, "no raw_syscalls tracepoint (tracefs not mounted?)");
	} else {
		c->fd_sys = counter(id, tid, NULL);
		if (c->fd_sys < 0)
			snprintf(why, len, "perf_event_open: %s", strerror(errno));
		else
			c->fd_epoll = counter(id, tid, "id == 232 || id == 281");
	}
	return c;
}

void dp_counters_close(struct dp_counters *c)
{
	if (!c)
		return;
	if (c->fd_sys >= 0)
		close(c->fd_sys);
	if (c->fd_epoll >= 0)
		close(c->fd_epoll);
	free(c);
}

static uint64_t ns(clockid_t clk)
{
	struct timespec t;

	if (clock_gettime(clk, &t) < 0)
		return 0;
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static bool read_count(int fd, uint64_t *out)
{
	return fd >= 0 && read(fd, out, sizeof(*out)) == sizeof(*out);
}

/* The thread's context switches: voluntary (it slept: a wake-up) and not
 * (it was switched out while it could run: preempted). */
static void ctxt_switches(int tid, uint64_t *vol, uint64_t *invol)
{
	char path[64], line[128];
	unsigned long long v;
	FILE *f;

	*vol = *invol = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
			*vol = v;
		else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			*invol = v;
	}
	fclose(f);
}

void dp_counters_read(struct dp_counters *c, struct dp_machine *m, struct dp_sample *s)
{
	memset(s, 0, sizeof(*s));
	if (!c->have_clock)
		c->have_clock = pthread_getcpuclockid(dp_datapath_loop(m)->thread, &c->io_clock) == 0;
	s->wall_ns = ns(CLOCK_MONOTONIC);
	s->io_cpu_ns = c->have_clock ? ns(c->io_clock) : 0;
	s->proc_cpu_ns = ns(CLOCK_PROCESS_CPUTIME_ID);
	s->have_syscalls = read_count(c->fd_sys, &s->io_syscalls);
	s->have_epoll = read_count(c->fd_epoll, &s->io_epoll_waits);
	ctxt_switches(c->tid, &s->io_wakeups, &s->io_preempted);
	dp_nic_stats(m, &s->nic);
}
