/* control.h — the per-VM control socket: how `vmm list`, `vmm stop NAME`
 * and `vmm stat NAME` reach a running VMM.
 *
 * Each VMM listens on DIR/NAME.sock (AF_UNIX, SOCK_STREAM), where DIR is
 * $VMM_RUNTIME_DIR if set, else $XDG_RUNTIME_DIR/vmm for a user that has
 * it, else /run/vmm for root (/tmp/vmm-UID otherwise); DIR is created
 * 0700 and must belong to us and be closed to others.
 *
 * Protocol: the client connects, sends one request line ("info", "stat",
 * "stop", "powerdown" or "set ...", at most CONTROL_REQUEST_MAX bytes with
 * the '\n'), and reads one JSON object followed by '\n', after which the
 * server closes:
 *   info, stat -> the snapshot (stats.h)
 *   stop       -> {"ok":true}, then the VM ends
 *   powerdown  -> {"ok":true,"pid":N,"listening":true|false} once the
 *                 power button is pressed (the VM goes on: the guest
 *                 decides); listening false: the guest has not enabled
 *                 the button's event (no driver yet), the press stays
 *                 pending. The client watches pid N exit (vmm stop).
 *   set vhost on|off [nic N]
 *              -> {"ok":true,"message":"eth0: vhost-net"} once every NIC
 *                 (or NIC N) runs that datapath, else {"error":"..."}
 *                 (messages never hold '"' or '\\')
 *   console    -> CONTROL_CONSOLE_OK, after which the connection is the
 *                 guest console's byte stream both ways: the last bytes
 *                 of output (console.h's ring), then live output; what
 *                 the client sends is the guest's input. Closing it
 *                 detaches. {"error":"..."} if a client is attached
 *                 already (one at a time).
 *   anything else, or nothing within CONTROL_SERVER_TIMEOUT_MS ->
 *                 {"error":"..."}
 * Only the socket's own user (or root) is served.
 *
 * The server (its own thread, control_thread.c) never waits long for one
 * client: accept is non-blocking and a request must arrive, and its reply
 * leave, within CONTROL_SERVER_TIMEOUT_MS each. 500 ms: a client started
 * on a loaded nested-TCG host was seen taking more than 100 ms between
 * connect and write. A `set` may take longer than a snapshot (vhost's
 * rings stopped and started), hence the client's 5 s.
 */
#ifndef VMM_CONTROL_H
#define VMM_CONTROL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "vmm/stats.h"

#define CONTROL_REQUEST_MAX        256
/* The first line of a "console" answer; the stream follows. */
#define CONTROL_CONSOLE_OK         "{\"ok\":true,\"console\":true}\n"
#define CONTROL_SERVER_TIMEOUT_MS  500
#define CONTROL_CLIENT_TIMEOUT_MS  5000
/* A reply: a snapshot, or a short error object, plus '\n'. */
#define CONTROL_REPLY_MAX          (STATS_JSON_MAX + 2)

/* What the server asks of the VMM; called on the thread that calls
 * control__handle() (the control thread). info/stat return 0, or -1 to send
 * an error. stop is called after the reply has been sent. */
struct control_ops {
	int (*info)(void *opaque, struct vm_snapshot *out);
	int (*stat)(void *opaque, struct vm_snapshot *out);
	void (*stop)(void *opaque);
	/* Move NIC nic's (-1: every NIC's) queues to vhost-net (on) or to
	 * vmm's datapath; one line in msg; 0, or -1 if any NIC refused. */
	int (*set_vhost)(void *opaque, int nic, bool on, char *msg, size_t len);
	/* Press the power button: 1 the guest listens, 0 it does not (yet),
	 * -1 refused with one line in msg. */
	int (*powerdown)(void *opaque, char *msg, size_t len);
	/* Attach the console to connected socket fd (client pid), sending
	 * 'greeting' first: 0 and fd is the console's, or -1 with one line
	 * in msg (another client is attached) and fd still ours. */
	int (*console)(void *opaque, int fd, int pid, const char *greeting, char *msg,
		       size_t len);
};

struct control {
	int fd;                          /* listening socket; -1 when closed */
	char path[108];                  /* sizeof(sun_path) */
	dev_t dev;                       /* identity of the socket file we bound */
	ino_t ino;
	const struct control_ops *ops;
	void *opaque;
	unsigned long served, rejected;  /* requests answered / refused */
	/* The control thread (control_thread.c), when started. */
	pthread_t thread;
	bool running;
	int stop_fd;                     /* eventfd: ends the thread */
	int tid;                         /* its kernel thread id, 0 before */
	sem_t started;                   /* posted once its filter is loaded, or not */
	int start_rc;
};

/* "demo" is fine; empty, over 64 bytes, a leading '.', or anything but
 * letters, digits, '-', '_' and '.' is not. */
bool control__valid_name(const char *name);

/* The socket directory into buf. With 'create', make it (0700) if it is
 * missing. 0, or -1 with the reason in err. */
int control__runtime_dir(char *buf, size_t len, bool create, char *err, size_t errlen);

/* Claim NAME: if its socket answers, fail with "a VM named 'NAME' is
 * already running (pid N)"; if it is a socket nobody listens on (left by
 * a VMM that crashed), remove it; then bind and listen. The caller then
 * polls c->fd for EPOLLIN and calls control__handle(). 0, or -1 with a
 * one-line reason in err and c->fd == -1. */
int control__open(struct control *c, const char *name, const struct control_ops *ops,
		  void *opaque, char *err, size_t errlen);
/* c->fd is readable: serve at most one client. Never fails (a bad client
 * is answered with an error or dropped, counted in c->rejected). */
void control__handle(struct control *c);
/* Serve c->fd on a thread of its own ("vmm-ctl", under the control
 * seccomp filter), off the I/O thread: what a client can make vmm do
 * (read /proc, accept sockets) stays out of the datapath's filter.
 * 0, or -1 with the reason printed. */
int control__start_thread(struct control *c);
/* Stop and join it. Idempotent. */
void control__stop_thread(struct control *c);

/* Stop listening and remove the socket file if it is still ours (another
 * VMM may have replaced it). Idempotent. */
void control__close(struct control *c);

/* Client: send 'request' to NAME and put the reply (without its '\n',
 * NUL-terminated) into reply. 0, or -1 with the reason in err: no such
 * VM, a stale socket, no answer within CONTROL_CLIENT_TIMEOUT_MS, a reply
 * too long, or the server's own {"error":...}. *stale is set when the
 * socket exists but nobody listens (may be NULL). */
int control__request(const char *name, const char *request, char *reply, size_t len,
		     bool *stale, char *err, size_t errlen);

/* Client: control__request, and *pidfd a pidfd of the VMM process that
 * answers (taken from the socket's peer credentials before the request is
 * sent, so it cannot name another process even if the VMM exits and its
 * pid is used again). *pidfd is -1 when it fails; the request is not sent
 * if the pidfd cannot be had. The caller closes it. */
int control__request_pidfd(const char *name, const char *request, char *reply, size_t len,
			   int *pidfd, char *err, size_t errlen);
/* Wait at most timeout_ms for the process behind pidfd to exit: 1 once it
 * has, 0 if it still runs (or poll failed) at the timeout. */
int control__wait_exit(int pidfd, int timeout_ms);

/* Client: send "console" to NAME and read the answer's first line
 * within CONTROL_CLIENT_TIMEOUT_MS: the connected socket (non-blocking),
 * now the console's byte stream, or -1 with the reason in err (the
 * server's own, e.g. another client is attached). */
int control__open_console(const char *name, char *err, size_t errlen);

/* Client: "info" every VM with a socket in the directory, in name order,
 * calling cb for each that answers. Sockets nobody listens on are
 * skipped, and removed when remove_stale. Returns the number of live VMs
 * (0 when the directory does not exist), or -1 with err. */
int control__list(int (*cb)(void *opaque, const struct vm_snapshot *s), void *opaque,
		  bool remove_stale, char *err, size_t errlen);

#endif
