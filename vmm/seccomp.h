/* seccomp.h — per-thread system call filters (libseccomp).
 *
 * Once the VM is set up, every vmm thread runs under a filter that allows
 * only the system calls its kind of work makes (vmm/seccomp_rules.c has
 * the lists). Anything else traps: a SIGSYS handler writes one line,
 *   vmm: seccomp: thread vcpu made a forbidden system call socket (nr 41)
 * restores the terminal and ends the process with status 128 + SIGSYS.
 *
 * Filters are per thread (no TSYNC): each thread installs its own at its
 * start, before it touches anything the guest controls. A filter is
 * inherited by threads created later and stacks with theirs, so the main
 * thread installs its own last, once every other thread exists.
 */
#ifndef VMM_SECCOMP_H
#define VMM_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

enum seccomp_kind {
	SECCOMP_MAIN,       /* waits for the end, then tears everything down */
	SECCOMP_VCPU,       /* KVM_RUN and the device exits it dispatches */
	SECCOMP_IO,         /* the epoll loop: console, tap, eventfds */
	SECCOMP_BLK,        /* a virtio-blk worker: the disk image's I/O */
	SECCOMP_CONTROL,    /* the control socket: vmm list/stat/stop */
	SECCOMP_PARSER,     /* the boot-entry parser child (parse_child.c) */
	SECCOMP_NR_KINDS,
};

/* Exit status after a violation: as if killed by SIGSYS. */
#define SECCOMP_VIOLATION_STATUS (128 + 31)

/* Process-wide set-up, once, while single-threaded: with 'enabled',
 * build every kind's filter (so a rule error shows at start), the table
 * of system call names the handler prints and the SIGSYS handler. With
 * !enabled seccomp__install() does nothing. 0, or -1 with one line. */
int seccomp__init(bool enabled, char *err, size_t errlen);
bool seccomp__enabled(void);

/* The calling thread: unblock SIGSYS, set no_new_privs and load the
 * kind's filter. 0 (also when disabled), or -1 with one line in err. */
int seccomp__install(enum seccomp_kind kind, char *err, size_t errlen);

/* In the boot-entry parser child (single-threaded): the handler, and the
 * strict parser filter, whose only socket is result_fd. 0 or -1 with err;
 * works whatever seccomp__init() was told. */
int seccomp__install_parser(int result_fd, char *err, size_t errlen);

/* The terminal the violation handler puts back (the console in raw
 * mode): ioctl(fd, TCSETS, t) is allowed on it in every filter. Call
 * before seccomp__init; fd -1 forgets it. 't' must stay valid. */
void seccomp__set_tty(int fd, const struct termios *t);

const char *seccomp__kind_name(enum seccomp_kind kind);

#endif
