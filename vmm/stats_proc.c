/* stats_proc.c — what stats.h reads from /proc: a thread's CPU time and
 * the vhost worker threads of a process. Apart from the JSON and the
 * views (stats.c) because it is the one part that reads the system. */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/stats.h"

double stats__thread_cpu_s(pid_t tid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd;

	if (tid <= 0 || hz <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)tid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "tid (comm) state ppid ..." — comm may hold spaces and ')'; utime
	 * and stime are fields 14 and 15, the 12th and 13th after it. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)hz;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Add the numeric entries of 'dir' whose comm (read from fmt % entry) is
 * 'want' to tids. */
static int scan_comm(const char *dir, const char *fmt, const char *want, pid_t *tids,
		     int n, int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return n;
	while (n < max && (e = readdir(d))) {
		char path[300], comm[32];
		ssize_t len;
		int fd;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), fmt, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (len <= 0)
			continue;
		comm[len] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		if (!strcmp(comm, want)) {
			pid_t t = (pid_t)atoi(e->d_name);
			bool dup = false;

			for (int i = 0; i < n; i++)
				dup |= tids[i] == t;
			if (!dup)
				tids[n++] = t;
		}
	}
	closedir(d);
	return n;
}

int stats__find_vhost_threads(pid_t owner, pid_t *tids, int max)
{
	char want[32];
	int n;

	if (owner <= 0 || max <= 0)
		return 0;
	snprintf(want, sizeof(want), "vhost-%d", (int)owner);
	n = scan_comm("/proc/self/task", "/proc/self/task/%s/comm", want, tids, 0, max);
	n = scan_comm("/proc", "/proc/%s/comm", want, tids, n, max);
	qsort(tids, (size_t)n, sizeof(*tids), cmp_pid);
	return n;
}
