/* detach.c — `vmm run --detach` (see detach.h) and the console log. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/cli.h"
#include "vmm/control.h"
#include "vmm/detach.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define fail util__fail

/* The parent forwards a Ctrl-C (or a kill) to the child while it waits:
 * the child has left the terminal's session, so the terminal's own
 * signals no longer reach it. A handler has no argument, hence this. */
static volatile pid_t forward_to;

static void forward(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

int detach__fork(int *ready_fd, pid_t *child)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		pr_err("--detach: pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pr_err("--detach: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		/* Away from the terminal's session: no SIGHUP when it closes,
		 * no Ctrl-C from it (the parent forwards those until ready). */
		setsid();
		*ready_fd = p[1];
		return 0;
	}
	close(p[1]);
	*ready_fd = p[0];
	*child = pid;
	return 1;
}

int detach__wait(const char *name, pid_t child, int ready_fd)
{
	struct sigaction sa = { .sa_handler = forward };
	char c;
	ssize_t n;
	int st;

	forward_to = child;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	do {
		n = read(ready_fd, &c, 1);
	} while (n < 0 && errno == EINTR);
	close(ready_fd);
	if (n == 1 && c == 'R') {
		printf("VM '%s' is running in the background (pid %d); vmm console %s "
		       "attaches, vmm stop %s ends it\n", name, (int)child, name, name);
		return 0;
	}
	/* The child said why on the terminal; its status is ours. */
	while (waitpid(child, &st, 0) < 0) {
		if (errno != EINTR) {
			pr_err("--detach: waitpid: %s", strerror(errno));
			return 1;
		}
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st) ? WEXITSTATUS(st) : 1;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

int detach__path(const char *name, const char *what, char *buf, size_t len,
		 char *err, size_t errlen)
{
	char dir[108];
	int n;

	if (control__runtime_dir(dir, sizeof(dir), true, err, errlen) < 0)
		return -1;
	n = snprintf(buf, len, "%s/%s.%s", dir, name, what);
	if (n < 0 || (size_t)n >= len)
		return fail(err, errlen, "%s/%s.%s: name too long", dir, name, what);
	return 0;
}

/* Truncated, as QEMU's -serial file: does: one run's output per file. */
static int open_log(const char *path, const char *what, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY,
		      0600);

	if (fd < 0)
		return fail(err, errlen, "cannot open the %s %s: %s", what, path, strerror(errno));
	return fd;
}

int detach__open(const struct vm_config *cfg, struct detach_files *f, char *err,
		 size_t errlen)
{
	char path[256];

	if (cfg->console_log || cfg->detach) {
		if (!cfg->console_log &&
		    detach__path(cfg->name, "console", path, sizeof(path), err, errlen) < 0)
			return -1;
		f->console_fd = open_log(cfg->console_log ? cfg->console_log : path,
					 "console log", err, errlen);
		if (f->console_fd < 0)
			return -1;
	}
	if (!cfg->detach)
		return 0;
	if (detach__path(cfg->name, "log", path, sizeof(path), err, errlen) < 0)
		return -1;
	f->log_fd = open_log(path, "vmm log", err, errlen);
	if (f->log_fd < 0)
		return -1;
	f->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (f->null_fd < 0)
		return fail(err, errlen, "cannot open /dev/null: %s", strerror(errno));
	return 0;
}

void detach__ready(struct detach_files *f)
{
	char r = 'R';

	if (f->ready_fd < 0)
		return;
	/* From here vmm's own messages go to NAME.log; dup2 clears
	 * close-on-exec on 0-2, as a daemon's descriptors should be. */
	if (dup2(f->null_fd, STDIN_FILENO) < 0 || dup2(f->log_fd, STDOUT_FILENO) < 0 ||
	    dup2(f->log_fd, STDERR_FILENO) < 0)
		pr_warn("--detach: cannot leave the terminal: %s", strerror(errno));
	if (write(f->ready_fd, &r, 1) != 1)
		pr_warn("--detach: cannot tell the starting vmm: %s", strerror(errno));
	close(f->ready_fd);
	f->ready_fd = -1;
}

void detach__close(struct detach_files *f)
{
	int *fds[] = { &f->console_fd, &f->log_fd, &f->null_fd, &f->ready_fd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}
