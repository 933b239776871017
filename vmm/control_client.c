/* control_client.c — the client end of the control socket (control.h):
 * one request and its reply (with a pidfd of the VMM that answers, for
 * `vmm stop` to wait on), and `vmm list`'s walk over every socket in the
 * runtime directory. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/control.h"
#include "vmm/control_priv.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define fail util__fail
#define CONTROL_LIST_MAX 1024   /* sockets looked at by control__list */

/* The message of a {"error":"..."} reply into err; false if it is not one. */
static bool reply_error(const char *reply, char *err, size_t errlen)
{
	const char *p = strstr(reply, "\"error\":\"");
	size_t n;

	if (strncmp(reply, "{\"error\":", 9) || !p)
		return false;
	p += 9;
	n = strcspn(p, "\"");
	fail(err, errlen, "%.*s", (int)MIN(n, (size_t)200), p);
	return true;
}

int control__exchange(int fd, const char *request, char *reply, size_t len,
		      char *err, size_t errlen)
{
	uint64_t deadline = util__now_ns() + CONTROL_CLIENT_TIMEOUT_MS * 1000000ULL;
	char line[CONTROL_REQUEST_MAX + 1];
	size_t pos = 0;
	int n = snprintf(line, sizeof(line), "%s\n", request);

	if (n < 0 || (size_t)n >= sizeof(line))
		return fail(err, errlen, "request too long");
	if (control__send_all(fd, line, (size_t)n, deadline) < 0)
		return fail(err, errlen, "cannot send the request: %s", strerror(errno));
	for (;;) {
		ssize_t r;

		if (pos + 1 >= len)
			return fail(err, errlen, "reply longer than %zu bytes", len);
		r = read(fd, reply + pos, len - 1 - pos);
		if (r > 0) {
			pos += (size_t)r;
		} else if (r == 0) {
			break;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (control__wait_fd(fd, POLLIN, deadline) < 0)
				return fail(err, errlen, "no answer within %d ms",
					    CONTROL_CLIENT_TIMEOUT_MS);
		} else if (errno != EINTR) {
			return fail(err, errlen, "cannot read the reply: %s", strerror(errno));
		}
	}
	reply[pos] = '\0';
	if (!pos || reply[pos - 1] != '\n')
		return fail(err, errlen, "incomplete reply");
	reply[pos - 1] = '\0';
	if (reply_error(reply, err, errlen))
		return -1;
	return 0;
}

/* A pidfd of the process listening behind the connected fd, or -1 with
 * err. SO_PEERCRED gives the pid that process had at listen(), in our
 * own pid namespace. */
static int peer_pidfd(int fd, char *err, size_t errlen)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int pidfd;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.pid <= 0)
		return fail(err, errlen, "cannot tell which process serves the socket");
	pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
	if (pidfd < 0)
		return fail(err, errlen, "cannot watch the VMM (pid %d): pidfd_open: %s%s",
			    (int)cred.pid, strerror(errno),
			    errno == ENOSYS ? " (Linux 5.3 or later needed)" : "");
	return pidfd;
}

static int request_path(const char *name, const char *path, const char *request, char *reply,
			size_t len, bool *stale, int *pidfd, char *err, size_t errlen)
{
	int fd = control__connect(path), r;

	if (stale)
		*stale = fd == -ECONNREFUSED;
	if (fd == -ENOENT)
		return fail(err, errlen, "no VM named '%s' is running", name);
	if (fd == -ECONNREFUSED)
		return fail(err, errlen, "no VM named '%s' is running (stale socket %s)",
			    name, path);
	if (fd < 0)
		return fail(err, errlen, "cannot connect to %s: %s", path, strerror(-fd));
	/* Before the request: a VMM that answers it was alive when the pidfd
	 * was taken, so the pidfd is that VMM's even if it exits at once and
	 * its pid is used again. */
	if (pidfd && (*pidfd = peer_pidfd(fd, err, errlen)) < 0) {
		close(fd);
		return -1;
	}
	r = control__exchange(fd, request, reply, len, err, errlen);
	close(fd);
	if (r < 0 && pidfd) {
		close(*pidfd);
		*pidfd = -1;
	}
	return r;
}

static int request(const char *name, const char *request, char *reply, size_t len,
		   bool *stale, int *pidfd, char *err, size_t errlen)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (stale)
		*stale = false;
	if (pidfd)
		*pidfd = -1;
	if (control__sock_path(name, path, sizeof(path), false, err, errlen) < 0) {
		if (errno == ENOENT)  /* no runtime dir: no VM has run */
			snprintf(err, errlen, "no VM named '%s' is running (see vmm list)", name);
		return -1;
	}
	return request_path(name, path, request, reply, len, stale, pidfd, err, errlen);
}

int control__request(const char *name, const char *req, char *reply, size_t len,
		     bool *stale, char *err, size_t errlen)
{
	return request(name, req, reply, len, stale, NULL, err, errlen);
}

int control__request_pidfd(const char *name, const char *req, char *reply, size_t len,
			   int *pidfd, char *err, size_t errlen)
{
	return request(name, req, reply, len, NULL, pidfd, err, errlen);
}

/* The answer's first line, a byte at a time: what follows it is the
 * console's stream, not ours to read here. */
static int read_line(int fd, char *line, size_t len, uint64_t deadline, char *err,
		     size_t errlen)
{
	size_t pos = 0;

	while (pos + 1 < len) {
		ssize_t r = read(fd, line + pos, 1);

		if (r == 1 && line[pos] == '\n') {
			line[pos] = '\0';
			return 0;
		}
		if (r == 1) {
			pos++;
		} else if (r == 0) {
			return fail(err, errlen, "the VM closed the connection");
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (control__wait_fd(fd, POLLIN, deadline) < 0)
				return fail(err, errlen, "no answer within %d ms",
					    CONTROL_CLIENT_TIMEOUT_MS);
		} else if (errno != EINTR) {
			return fail(err, errlen, "cannot read the answer: %s", strerror(errno));
		}
	}
	return fail(err, errlen, "answer too long");
}

int control__open_console(const char *name, char *err, size_t errlen)
{
	uint64_t deadline = util__now_ns() + CONTROL_CLIENT_TIMEOUT_MS * 1000000ULL;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], line[512];
	int fd;

	if (control__sock_path(name, path, sizeof(path), false, err, errlen) < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen, "no VM named '%s' is running (see vmm list)", name);
		return -1;
	}
	fd = control__connect(path);
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		return fail(err, errlen, "no VM named '%s' is running", name);
	if (fd < 0)
		return fail(err, errlen, "cannot connect to %s: %s", path, strerror(-fd));
	if (control__send_all(fd, "console\n", 8, deadline) < 0) {
		close(fd);
		return fail(err, errlen, "cannot send the request: %s", strerror(errno));
	}
	if (read_line(fd, line, sizeof(line), deadline, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	/* CONTROL_CONSOLE_OK without its '\n' */
	if (strlen(line) != strlen(CONTROL_CONSOLE_OK) - 1 ||
	    strncmp(line, CONTROL_CONSOLE_OK, strlen(line))) {
		if (!reply_error(line, err, errlen))
			fail(err, errlen, "VM '%s' sent an answer vmm cannot read", name);
		close(fd);
		return -1;
	}
	return fd;
}

int control__wait_exit(int pidfd, int timeout_ms)
{
	uint64_t deadline = util__now_ns() + (uint64_t)timeout_ms * 1000000ULL;

	/* A pidfd polls readable once the process has exited (a zombie
	 * included: nobody need reap it for us to see it). */
	return control__wait_fd(pidfd, POLLIN, deadline) == 0 ? 1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int control__list(int (*cb)(void *opaque, const struct vm_snapshot *s), void *opaque,
		  bool remove_stale, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], e[256];
	char *names[CONTROL_LIST_MAX], *reply = NULL;
	struct vm_snapshot *s = NULL;
	int nr = 0, live = 0;
	struct dirent *de;
	DIR *d;

	if (control__runtime_dir(dir, sizeof(dir), false, e, sizeof(e)) < 0)
		return errno == ENOENT ? 0 : fail(err, errlen, "%s", e);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : fail(err, errlen, "%s: %s", dir, strerror(errno));
	while (nr < CONTROL_LIST_MAX && (de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n <= 5 || strcmp(de->d_name + n - 5, ".sock"))
			continue;
		names[nr] = strndup(de->d_name, n - 5);
		if (names[nr] && control__valid_name(names[nr]))
			nr++;
		else
			free(names[nr]);
	}
	closedir(d);
	qsort(names, (size_t)nr, sizeof(*names), cmp_str);
	reply = malloc(CONTROL_REPLY_MAX);
	s = malloc(sizeof(*s));
	if (!reply || !s)
		live = fail(err, errlen, "out of memory");
	for (int i = 0; i < nr && live >= 0; i++) {
		bool stale;

		if (control__request(names[i], "info", reply, CONTROL_REPLY_MAX, &stale,
				     e, sizeof(e)) < 0) {
			if (stale && remove_stale) {
				char path[sizeof(dir) + STATS_NAME_MAX + 8];

				struct stat st;

				snprintf(path, sizeof(path), "%s/%s.sock", dir, names[i]);
				if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) == 0)
					pr_info("removed stale socket %s", path);
			} else if (!stale) {
				pr_warn("%s: %s", names[i], e);
			}
			continue;
		}
		if (stats__from_json(reply, s) < 0) {
			pr_warn("%s: malformed reply", names[i]);
			continue;
		}
		live++;
		if (cb && cb(opaque, s))
			break;
	}
	for (int i = 0; i < nr; i++)
		free(names[i]);
	free(reply);
	free(s);
	return live;
}
