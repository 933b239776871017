/* detach.h — `vmm run --detach`: the VMM goes on in the background once
 * its vCPUs run; until then it is an ordinary foreground command, whose
 * errors reach the terminal and whose exit status is the caller's.
 *
 * main() forks before the VM exists (a KVM VM belongs to the process that
 * made it). The child starts a new session and builds and runs the VM as
 * usual; once its vCPUs run it moves stdin to /dev/null and stdout and
 * stderr to RUNDIR/NAME.log (vmm's own messages from then on) and tells
 * the parent over a pipe. The parent prints the name and pid and exits 0,
 * or, if the pipe closes without that, exits with the child's status (the
 * child has printed why on the terminal they share). */
#ifndef VMM_DETACH_H
#define VMM_DETACH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct vm;
struct vm_config;

/* The log files a VM writes (none, one or both). */
struct detach_files {
	int console_fd;   /* guest output: --console-log FILE, or NAME.console */
	int log_fd;       /* --detach: vmm's own messages, NAME.log */
	int null_fd;      /* --detach: /dev/null, stdin from then on */
	int ready_fd;     /* --detach, in the child: the pipe to the parent */
};

/* Fork for --detach. Returns 0 in the child (*ready_fd its end of the
 * pipe, in a new session), 1 in the parent (*ready_fd the other end,
 * *child the child's pid), -1 if it cannot (reason printed). */
int detach__fork(int *ready_fd, pid_t *child);
/* The parent: wait for the child to say its vCPUs run, or to exit. The
 * exit status for the parent's main(). */
int detach__wait(const char *name, pid_t child, int ready_fd);

/* Paths for NAME's logs in the runtime directory ("console" or "log"). 0,
 * or -1 with the reason in err. */
int detach__path(const char *name, const char *what, char *buf, size_t len,
		 char *err, size_t errlen);
/* Open what cfg asks for (as whoever runs vm__init's runtime-directory
 * steps, so --user's files are the user's). Sets f's fds (-1: not
 * asked for); 0, or -1 with the reason in err. */
int detach__open(const struct vm_config *cfg, struct detach_files *f, char *err,
		 size_t errlen);
/* The vCPUs run: leave the terminal and tell the parent. No-op without
 * --detach. */
void detach__ready(struct detach_files *f);
void detach__close(struct detach_files *f);

#endif
