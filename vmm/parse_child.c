/* parse_child.c — diskboot__find() in a child without privileges (see
 * parse_child.h).
 *
 * The child is forked while vmm is still single-threaded (disks__open is
 * the first thing vm__init does), so it inherits the open struct disk,
 * qcow2 state and backing chain included, and needs no file name. It
 * answers with one SOCK_SEQPACKET message: a header, the texts and, as
 * SCM_RIGHTS, the memfds. Nothing in the answer is trusted: lengths,
 * fd count and type, seals and sizes are checked here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/block/disk.h"
#include "vmm/log.h"
#include "vmm/parse_child.h"
#include "vmm/privs.h"
#include "vmm/seccomp.h"
#include "vmm/util.h"

#define fail util__fail
#define MSG_MAGIC 0x766d6d70u   /* "vmmp" */
#define SEALS_WANTED (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

struct msg_hdr {
	uint32_t magic;
	int32_t status;         /* diskboot__find's: 0 or -1 */
	uint32_t cmdline_len, desc_len, err_len;
	uint32_t nr_fds;        /* 1 (kernel) or 2 (kernel, initrd) on success */
};

#define MSG_MAX (sizeof(struct msg_hdr) + PARSE_CHILD_CMDLINE_MAX + 2 * PARSE_CHILD_TEXT_MAX)

/* ---- the child ---- */

/* The disks were opened read-write for the guest; the parser only reads:
 * give each writable file or block device a read-only description of
 * its own (the parent keeps the original, locks included). */
static int reopen_read_only(char *err, size_t errlen)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int r = 0;

	if (!d)
		return fail(err, errlen, "cannot list /proc/self/fd: %s", strerror(errno));
	while (r == 0 && (e = readdir(d))) {
		char path[64];
		struct stat st;
		int fd = atoi(e->d_name), fl, nfd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d) ||
		    fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))
			continue;
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		nfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (nfd < 0 || dup3(nfd, fd, O_CLOEXEC) < 0)
			r = fail(err, errlen, "cannot reopen fd %d read-only: %s", fd, strerror(errno));
		if (nfd >= 0)
			close(nfd);
	}
	closedir(d);
	return r;
}

static uint32_t text_len(const char *s, size_t max)
{
	size_t n = strlen(s);

	return (uint32_t)(n < max ? n : max);
}

static void send_result(int sock, int status, const struct diskboot *b, const char *err)
{
	const char *cmdline = status == 0 && b->cmdline ? b->cmdline : "";
	const char *desc = status == 0 && b->description ? b->description : "";
	struct msg_hdr h = {
		.magic = MSG_MAGIC, .status = status,
		.cmdline_len = (uint32_t)strlen(cmdline),
		.desc_len = text_len(desc, PARSE_CHILD_TEXT_MAX),
		.err_len = status ? text_len(err, PARSE_CHILD_TEXT_MAX) : 0,
	};
	struct iovec iov[4] = {
		{ &h, sizeof(h) }, { (void *)cmdline, h.cmdline_len },
		{ (void *)desc, h.desc_len }, { (void *)err, h.err_len },
	};
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 4 };
	int fds[2];

	if (status == 0) {
		fds[h.nr_fds++] = b->kernel_fd;
		if (b->initrd_fd >= 0)
			fds[h.nr_fds++] = b->initrd_fd;
	}
	if (h.nr_fds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = CMSG_SPACE(h.nr_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(h.nr_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, h.nr_fds * sizeof(int));
	}
	while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static __attribute__((noreturn)) void child(int sock, struct disk *d,
					    const struct parse_child_opts *o)
{
	int (*find)(struct disk *, struct diskboot *, char *, size_t) =
		o->find ? o->find : diskboot__find;
	char err[PARSE_CHILD_TEXT_MAX] = "";
	struct diskboot b = { .kernel_fd = -1, .initrd_fd = -1 };
	int status = -1;

	if (reopen_read_only(err, sizeof(err)) < 0 ||
	    (o->switch_ids && privs__switch(o->uid, o->gid, err, sizeof(err)) < 0) ||
	    (o->seccomp && seccomp__install_parser(sock, err, sizeof(err)) < 0)) {
		char why[PARSE_CHILD_TEXT_MAX];

		snprintf(why, sizeof(why), "cannot set up the boot-entry parser: %.3000s", err);
		send_result(sock, -1, &b, why);
		_exit(1);
	}
	status = find(d, &b, err, sizeof(err)) < 0 ? -1 : 0;
	if (status == 0 && b.cmdline && strlen(b.cmdline) > PARSE_CHILD_CMDLINE_MAX) {
		snprintf(err, sizeof(err), "%s: the boot entry's options are longer than %u KiB",
			 d->path, PARSE_CHILD_CMDLINE_MAX >> 10);
		status = -1;
	}
	send_result(sock, status, &b, err);
	/* No exit handlers: they belong to the parent (the terminal). */
	_exit(0);
}

/* ---- the parent ---- */

static const char *img_name(const struct disk *d)
{
	return d->path ? d->path : "the disk";
}

/* What became of a child that sent nothing. */
static int child_gone(pid_t pid, const struct disk *d, char *err, size_t errlen)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return fail(err, errlen, "%s: the boot-entry parser vanished", img_name(d));
	if (WIFSIGNALED(st))
		return fail(err, errlen, "%s: the boot-entry parser crashed (signal %d, %s) "
			    "reading this image", img_name(d), WTERMSIG(st),
			    sigabbrev_np(WTERMSIG(st)) ?: "?");
	if (WEXITSTATUS(st) == SECCOMP_VIOLATION_STATUS)
		return fail(err, errlen, "%s: the boot-entry parser was stopped for a forbidden "
			    "system call (the line above)", img_name(d));
	return fail(err, errlen, "%s: the boot-entry parser ended (status %d) without an answer",
		    img_name(d), WEXITSTATUS(st));
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Image text for the user's terminal: no control characters. */
static char *dup_text(const char *p, uint32_t len)
{
	char *s = strndup(p, len);

	for (char *c = s; c && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return s;
}

static int check_memfd(int fd, const char *what, uint64_t max, uint64_t *size,
		       const struct disk *d, char *err, size_t errlen)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	/* Only memfds (shmem) have seals: an image fd slipped in instead
	 * fails here, as does anything still writable. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || seals < 0 ||
	    (seals & SEALS_WANTED) != SEALS_WANTED)
		return fail(err, errlen, "%s: the boot-entry parser sent a %s that is not a sealed "
			    "memfd", img_name(d), what);
	if ((uint64_t)st.st_size > max || (!st.st_size && !strcmp(what, "kernel")))
		return fail(err, errlen, "%s: the boot-entry parser sent a %s of %lld bytes "
			    "(at most %llu)", img_name(d), what, (long long)st.st_size,
			    (unsigned long long)max);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int take_answer(const struct disk *d, const uint8_t *buf, size_t n, int *fds,
		       int nr_fds, struct diskboot *out, char *err, size_t errlen)
{
	struct msg_hdr h;
	const char *text = (const char *)buf + sizeof(h);
	uint64_t budget = d->boot_files_max, ksize, isize = 0;
	uint64_t kmax = DISKBOOT_KERNEL_MAX, imax = DISKBOOT_INITRD_MAX;

	if (n < sizeof(h))
		return fail(err, errlen, "%s: the boot-entry parser sent a malformed answer", img_name(d));
	memcpy(&h, buf, sizeof(h));
	if (h.magic != MSG_MAGIC || h.cmdline_len > PARSE_CHILD_CMDLINE_MAX ||
	    h.desc_len > PARSE_CHILD_TEXT_MAX || h.err_len > PARSE_CHILD_TEXT_MAX ||
	    sizeof(h) + h.cmdline_len + h.desc_len + h.err_len != n ||
	    memchr(text, 0, n - sizeof(h)) || (uint32_t)nr_fds != h.nr_fds ||
	    (h.status == 0 && (nr_fds < 1 || nr_fds > 2 || !h.desc_len)) ||
	    (h.status != 0 && (nr_fds || h.status != -1)))
		return fail(err, errlen, "%s: the boot-entry parser sent a malformed answer", img_name(d));
	if (h.status) {
		char *e = dup_text(text + h.cmdline_len + h.desc_len, h.err_len);

		fail(err, errlen, "%s", e && *e ? e : "the boot-entry parser failed");
		free(e);
		return -1;
	}
	if (budget && budget < kmax)
		kmax = budget;
	if (check_memfd(fds[0], "kernel", kmax, &ksize, d, err, errlen) < 0)
		return -1;
	if (budget)
		imax = MIN(imax, budget - MIN(budget, ksize));
	if (nr_fds == 2 && check_memfd(fds[1], "initrd", imax, &isize, d, err, errlen) < 0)
		return -1;
	out->cmdline = strndup(text, h.cmdline_len);
	out->description = dup_text(text + h.cmdline_len, h.desc_len);
	if (!out->cmdline || !out->description)
		return fail(err, errlen, "out of memory");
	out->kernel_fd = fds[0];
	out->initrd_fd = nr_fds == 2 ? fds[1] : -1;
	return 0;
}

/* Wait for the answer until the deadline; its length, 0 at EOF, -1 at
 * the deadline (or an error: errno). */
static ssize_t receive(int sock, uint8_t *buf, size_t len, int *fds, int *nr_fds,
		       uint64_t deadline)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	for (;;) {
		uint64_t now = util__now_ns();
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int r;

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
	}
	do {
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	*nr_fds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); n >= 0 && c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nr_fds < 4)
				fds[(*nr_fds)++] = fd;
			else
				close(fd);
		}
	}
	/* Truncated: the answer is not what was sent. */
	if (n >= 0 && (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		errno = EMSGSIZE;
		return -2;
	}
	return n;
}

int parse_child__find(struct disk *d, struct diskboot *out, const struct parse_child_opts *o,
		      char *err, size_t errlen)
{
	unsigned timeout_ms = o->timeout_ms ? o->timeout_ms : PARSE_CHILD_TIMEOUT_MS;
	uint64_t t0 = util__now_ns();
	int sv[2], fds[4], nr_fds = 0, r = -1;
	uint8_t *buf;
	ssize_t n;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->kernel_fd = out->initrd_fd = -1;
	buf = malloc(MSG_MAX);
	if (!buf)
		return fail(err, errlen, "out of memory");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		free(buf);
		return fail(err, errlen, "socketpair: %s", strerror(errno));
	}
	fflush(NULL);   /* nothing buffered is written twice */
	pid = fork();
	if (pid < 0) {
		fail(err, errlen, "cannot fork the boot-entry parser: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		child(sv[1], d, o);
	}
	close(sv[1]);
	sv[1] = -1;
	n = receive(sv[0], buf, MSG_MAX, fds, &nr_fds, t0 + timeout_ms * 1000000ULL);
	if (n == -1 && errno == ETIMEDOUT) {
		reap(pid);
		fail(err, errlen, "%s: finding the boot entry took longer than %u s: stopped "
		     "(a damaged or hostile image?)", img_name(d), (timeout_ms + 999) / 1000);
	} else if (n == 0) {
		child_gone(pid, d, err, errlen);
	} else if (n < 0) {
		reap(pid);
		fail(err, errlen, "%s: no answer from the boot-entry parser: %s", img_name(d),
		     strerror(errno));
	} else {
		reap(pid);      /* it has nothing left to do */
		r = take_answer(d, buf, (size_t)n, fds, nr_fds, out, err, errlen);
		if (r == 0)
			nr_fds = 0;     /* out owns them */
		pr_debug("%s: boot entry found by the parser child in %.1f ms", img_name(d),
			 (double)(util__now_ns() - t0) / 1e6);
	}
	for (int i = 0; i < nr_fds; i++)
		close(fds[i]);
	if (r < 0)
		diskboot__free(out);
out:
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	free(buf);
	return r;
}
