/* control.c — the per-VM control socket (see control.h): where the
 * sockets live, the plumbing both ends share (control_priv.h), and the
 * VMM's listener, served on the control thread with bounded waits. The
 * client side (`vmm list`, `vmm stop`, `vmm stat`, `vmm set`) is
 * control_client.c. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/control.h"
#include "vmm/control_priv.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define fail util__fail

bool control__valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > STATS_NAME_MAX || name[0] == '.')
		return false;
	for (const char *s = name; *s; s++)
		if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') ||
		      ('0' <= *s && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

int control__runtime_dir(char *buf, size_t len, bool create, char *err, size_t errlen)
{
	const char *env = getenv("VMM_RUNTIME_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() != 0 && xdg && *xdg)
		n = snprintf(buf, len, "%s/vmm", xdg);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/vmm");
	else
		n = snprintf(buf, len, "/tmp/vmm-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= len)
		return fail(err, errlen, "runtime directory name too long");
	if (create && mkdir(buf, 0700) < 0 && errno != EEXIST)
		return fail(err, errlen, "cannot create %s: %s", buf, strerror(errno));
	if (lstat(buf, &st) < 0) {
		int e = errno;

		fail(err, errlen, "%s: %s", buf, strerror(e));
		errno = e;  /* control__list tells "no directory yet" by ENOENT */
		return -1;
	}
	/* Whoever can write here can impersonate or hide VMs. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return fail(err, errlen, "%s must be a directory owned by uid %u and not "
			    "writable by others", buf, (unsigned)geteuid());
	return 0;
}

int control__sock_path(const char *name, char *path, size_t len, bool create,
		       char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n;

	if (!control__valid_name(name))
		return fail(err, errlen, "invalid VM name '%.80s'", name);
	if (control__runtime_dir(dir, sizeof(dir), create, err, errlen) < 0)
		return -1;
	n = snprintf(path, len, "%s/%s.sock", dir, name);
	if (n < 0 || (size_t)n >= len)
		return fail(err, errlen, "socket path %s/%s.sock is too long", dir, name);
	return 0;
}

int control__connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	e = errno;
	close(fd);
	return -e;
}

int control__wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = util__now_ns();
		struct pollfd p = { .fd = fd, .events = events };
		int r;

		if (now >= deadline)
			return -1;
		r = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

int control__send_all(int fd, const char *buf, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (control__wait_fd(fd, POLLOUT, deadline) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* ---- server ---- */

int control__open(struct control *c, const char *name, const struct control_ops *ops,
		  void *opaque, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->stop_fd = -1;
	c->ops = ops;
	c->opaque = opaque;
	if (control__sock_path(name, c->path, sizeof(c->path), true, err, errlen) < 0)
		goto fail;
	if (lstat(c->path, &st) == 0) {
		int fd;

		if (!S_ISSOCK(st.st_mode)) {
			fail(err, errlen, "%s exists and is not a socket", c->path);
			goto fail;
		}
		fd = control__connect(c->path);
		if (fd >= 0) {
			char *reply = malloc(CONTROL_REPLY_MAX), e[256];
			struct vm_snapshot *s = malloc(sizeof(*s));

			if (reply && s && control__exchange(fd, "info", reply, CONTROL_REPLY_MAX,
						   e, sizeof(e)) == 0 &&
			    stats__from_json(reply, s) == 0 && s->pid > 0)
				fail(err, errlen, "a VM named '%s' is already running (pid %d)",
				     name, s->pid);
			else
				fail(err, errlen, "a VM named '%s' is already running", name);
			free(reply);
			free(s);
			close(fd);
			goto fail;
		}
		if (fd == -ECONNREFUSED) {
			if (unlink(c->path) < 0 && errno != ENOENT) {
				fail(err, errlen, "cannot remove stale socket %s: %s", c->path,
				     strerror(errno));
				goto fail;
			}
			pr_info("removed stale socket %s (left by a vmm that did not exit cleanly)",
				c->path);
		} else if (fd != -ENOENT) {
			fail(err, errlen, "cannot connect to %s: %s", c->path, strerror(-fd));
			goto fail;
		}
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		fail(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EADDRINUSE)
			fail(err, errlen, "a VM named '%s' is already running", name);
		else
			fail(err, errlen, "cannot bind %s: %s", c->path, strerror(errno));
		goto fail;
	}
	if (stat(c->path, &st) < 0 || listen(c->fd, 16) < 0) {
		fail(err, errlen, "cannot listen on %s: %s", c->path, strerror(errno));
		unlink(c->path);
		goto fail;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->path[0] = '\0';
	return -1;
}

static void reply_str(int fd, const char *s)
{
	control__send_all(fd, s, strlen(s), util__now_ns() + CONTROL_SERVER_TIMEOUT_MS * 1000000ULL);
}

static void reject(struct control *c, int fd, const char *why)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "{\"error\":\"%s\"}\n", why);
	reply_str(fd, buf);
	c->rejected++;
}

/* One line from an op, made safe for a JSON string without escapes. */
static void json_safe(char *msg)
{
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '?';
}

/* Read one request line within the deadline: its length (the '\n' and
 * an optional '\r' removed), or -1 with *why set. */
static int read_request(int fd, char *line, size_t len, const char **why)
{
	uint64_t deadline = util__now_ns() + CONTROL_SERVER_TIMEOUT_MS * 1000000ULL;
	size_t pos = 0;

	for (;;) {
		char *nl = memchr(line, '\n', pos);
		ssize_t r;

		if (nl) {
			if (nl != line + pos - 1) {
				*why = "one request per connection";
				return -1;
			}
			pos--;
			break;
		}
		if (pos == len) {
			*why = "request too long";
			return -1;
		}
		r = read(fd, line + pos, len - pos);
		if (r > 0) {
			pos += (size_t)r;
		} else if (r == 0) {
			break;  /* a request ended by shutdown(SHUT_WR) will do */
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (control__wait_fd(fd, POLLIN, deadline) < 0) {
				*why = "no request received in time";
				return -1;
			}
		} else if (errno != EINTR) {
			*why = "read error";
			return -1;
		}
	}
	if (pos && line[pos - 1] == '\r')
		pos--;
	/* printable ASCII; spaces separate a request's words (set ...) */
	for (size_t i = 0; i < pos; i++) {
		if (line[i] < 0x20 || line[i] > 0x7e) {
			*why = "malformed request";
			return -1;
		}
	}
	if (!pos) {
		*why = "empty request";
		return -1;
	}
	line[pos] = '\0';
	return (int)pos;
}

/* "nic N", N in decimal digits and nothing after it (sscanf's "nic %d"
 * also took "nic01" and "nic 1x"). 0, or -1. */
static int parse_nic(const char *s, int *nic)
{
	char *end;
	long v;

	if (strncmp(s, "nic ", 4) || !isdigit((unsigned char)s[4]))
		return -1;
	errno = 0;
	v = strtol(s + 4, &end, 10);
	if (errno || *end || v > INT_MAX)
		return -1;
	*nic = (int)v;
	return 0;
}

/* "vhost on|off[ nic N]", words split by single spaces (sscanf's
 * "vhost %3s" also took "vhoston" and tabs). 0, or -1. */
static int parse_set(const char *args, bool *on, int *nic)
{
	const char *rest;

	if (!strncmp(args, "vhost on", 8))
		*on = true, rest = args + 8;
	else if (!strncmp(args, "vhost off", 9))
		*on = false, rest = args + 9;
	else
		return -1;
	*nic = -1;
	if (!*rest)
		return 0;
	return *rest == ' ' ? parse_nic(rest + 1, nic) : -1;
}

/* "set vhost on|off [nic N]": the reply carries the VMM's message, made
 * safe for a JSON string without escapes. */
static void serve_set(struct control *c, int fd, const char *args)
{
	char msg[512], out[600];
	int nic = -1;
	bool on = false;

	if (!c->ops || !c->ops->set_vhost) {
		reject(c, fd, "not supported");
		return;
	}
	if (parse_set(args, &on, &nic) < 0) {
		reject(c, fd, "malformed set request (set vhost on|off [nic N])");
		return;
	}
	msg[0] = '\0';
	if (c->ops->set_vhost(c->opaque, nic, on, msg, sizeof(msg)) < 0) {
		json_safe(msg);
		snprintf(out, sizeof(out), "{\"error\":\"%s\"}\n", msg[0] ? msg : "refused");
		reply_str(fd, out);
		c->rejected++;
		return;
	}
	json_safe(msg);
	snprintf(out, sizeof(out), "{\"ok\":true,\"message\":\"%s\"}\n", msg);
	reply_str(fd, out);
	c->served++;
}

/* "powerdown": press the button and say which process to watch. The
 * client takes the pid from here rather than from a snapshot so that
 * `vmm stop` needs one request; the press itself never waits. */
static void serve_powerdown(struct control *c, int fd)
{
	char msg[256] = "", out[320];
	int r;

	if (!c->ops || !c->ops->powerdown) {
		reject(c, fd, "not supported");
		return;
	}
	r = c->ops->powerdown(c->opaque, msg, sizeof(msg));
	if (r < 0) {
		json_safe(msg);
		snprintf(out, sizeof(out), "{\"error\":\"%s\"}\n", msg[0] ? msg : "refused");
		reply_str(fd, out);
		c->rejected++;
		return;
	}
	snprintf(out, sizeof(out), "{\"ok\":true,\"pid\":%d,\"listening\":%s}\n", (int)getpid(),
		 r > 0 ? "true" : "false");
	reply_str(fd, out);
	c->served++;
}

/* "console": the connection becomes the console's byte stream (the
 * greeting line first, then the guest's recent and live output; what the
 * client sends goes to the guest). True if the console took fd. */
static bool serve_console(struct control *c, int fd, int pid)
{
	char msg[200] = "", out[260];

	if (!c->ops || !c->ops->console) {
		reject(c, fd, "not supported");
		return false;
	}
	if (c->ops->console(c->opaque, fd, pid, CONTROL_CONSOLE_OK, msg, sizeof(msg)) < 0) {
		json_safe(msg);
		snprintf(out, sizeof(out), "{\"error\":\"%s\"}\n", msg[0] ? msg : "refused");
		reply_str(fd, out);
		c->rejected++;
		return false;
	}
	c->served++;
	return true;
}

enum served { SERVED, SERVED_STOP, SERVED_KEEP };

/* Answer one client: SERVED_STOP if it asked the VM to stop (the caller
 * calls ops->stop once the connection is closed), SERVED_KEEP if the
 * connection now belongs to the console (not to be closed here). */
static enum served serve(struct control *c, int fd)
{
	char line[CONTROL_REQUEST_MAX + 1];
	const char *why = NULL;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	int (*get)(void *, struct vm_snapshot *) = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid()))
		return reject(c, fd, "permission denied"), SERVED;
	if (read_request(fd, line, CONTROL_REQUEST_MAX, &why) < 0)
		return reject(c, fd, why), SERVED;
	if (!strcmp(line, "stop")) {
		if (!c->ops || !c->ops->stop)
			return reject(c, fd, "not supported"), SERVED;
		reply_str(fd, "{\"ok\":true}\n");
		c->served++;
		return SERVED_STOP;
	}
	if (!strcmp(line, "console"))
		return serve_console(c, fd, cred.pid) ? SERVED_KEEP : SERVED;
	if (!strcmp(line, "powerdown"))
		return serve_powerdown(c, fd), SERVED;
	if (!strncmp(line, "set ", 4))
		return serve_set(c, fd, line + 4), SERVED;
	if (!strcmp(line, "info"))
		get = c->ops ? c->ops->info : NULL;
	else if (!strcmp(line, "stat"))
		get = c->ops ? c->ops->stat : NULL;
	else
		return reject(c, fd, "unknown request (info, stat, stop, powerdown, set or console)"), SERVED;
	if (!get)
		return reject(c, fd, "not supported"), SERVED;

	struct vm_snapshot *s = calloc(1, sizeof(*s));
	char *buf = malloc(CONTROL_REPLY_MAX);
	int n;

	if (!s || !buf) {
		reject(c, fd, "out of memory");
	} else if (get(c->opaque, s) < 0) {
		reject(c, fd, "cannot take a snapshot");
	} else if ((n = stats__json(s, buf, CONTROL_REPLY_MAX - 1)) < 0) {
		reject(c, fd, "snapshot too large");
	} else {
		buf[n++] = '\n';
		control__send_all(fd, buf, (size_t)n,
			 util__now_ns() + CONTROL_SERVER_TIMEOUT_MS * 1000000ULL);
		c->served++;
	}
	free(s);
	free(buf);
	return SERVED;
}

void control__handle(struct control *c)
{
	enum served r;
	int fd;

	if (c->fd < 0)
		return;
	do {
		fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return;  /* EAGAIN: the client gave up already */
	r = serve(c, fd);
	if (r == SERVED_KEEP)
		return;
	close(fd);
	if (r == SERVED_STOP)
		c->ops->stop(c->opaque);
}

void control__close(struct control *c)
{
	struct stat st;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->path[0] && stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	c->path[0] = '\0';
}
