/* console.h — the host side of the guest's serial console: this terminal
 * in raw mode feeding the platform's console device (x86: the 16550A on
 * COM1), guest output to stdout, Ctrl-A x to quit. The console knows the
 * device only as a sink taking input bytes.
 *
 * Guest output also goes to the console log (--console-log, or the
 * runtime directory's NAME.console with --detach) and into a ring of the
 * last CONSOLE_RING_SIZE bytes, and to the one `vmm console` client
 * attached over the control socket: it gets the ring first, then live
 * output, and its bytes go to the device as the terminal's do. */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <termios.h>

#include "vmm/ring.h"

struct vm;

/* The guest-side device: takes as many input bytes as it has room for
 * and returns how many; once it has room again after taking fewer, it
 * calls console__rx_ready(). */
struct console_sink {
	size_t (*receive)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

struct console {
	struct vm *vm;
	struct console_sink sink;
	int in_fd, out_fd;
	bool reading;          /* in_fd registered with the I/O loop */
	bool raw;              /* terminal attributes changed (restore them) */
	struct termios saved;
	int ready_fd;          /* eventfd: the UART has room again */
	bool escape;           /* saw Ctrl-A, waiting for the command key */
	uint8_t pending[256];  /* input the UART could not take yet */
	size_t npending, pending_off;
	/* Where output goes besides out_fd; out_lock orders the vCPU
	 * thread's writes against attach (control thread) and detach (I/O
	 * thread), so a client sees each byte once: in the replay or live. */
	pthread_mutex_t out_lock;
	pthread_cond_t detached;   /* the slot was freed, or its client paused */
	bool lock_ok;          /* out_lock initialised (destroy it) */
	int log_fd;            /* the console log; -1: none (not ours to close) */
	bool log_failed;       /* said once that writing it failed */
	struct ring ring;      /* the last CONSOLE_RING_SIZE bytes */
	int client_fd;         /* the attached `vmm console`; -1: none */
	int client_pid;        /* its pid (vmm stat), 0 if unknown */
	bool client_paused;    /* not polled: the UART is full */
	uint64_t client_dropped;  /* output the client's socket had no room for */
};

/* The escape key and its commands. */
#define CONSOLE_ESCAPE 0x01   /* Ctrl-A */
/* Replayed to a client that attaches: a screenful of boot messages and
 * then some, without holding much memory. */
#define CONSOLE_RING_SIZE (64 * 1024)
/* How long an attach waits for the I/O thread to free the slot of a
 * client that has hung up already. */
#define CONSOLE_DETACH_WAIT_S 2

/* Feed host input through the escape-sequence filter: returns the number of
 * bytes written to 'out' (at most len), sets *quit on Ctrl-A x. Pure: the
 * escape state lives in *c; exposed for unit tests. */
size_t console__filter(struct console *c, const uint8_t *in, size_t len,
		       uint8_t *out, bool *quit);

/* Attach stdin/stdout to the device behind 'sink' (NULL: output only).
 * With 'interactive' false stdin is never read; with vm->cfg->detach
 * neither stdin nor stdout is used. vm->console_log_fd (-1: none) gets
 * every output byte. Puts a terminal stdin in raw mode until
 * console__restore(). */
int console__init(struct console *c, struct vm *vm, const struct console_sink *sink,
		  bool interactive);
/* The device's callbacks (installed by whoever creates it): guest output,
 * and room for input again. */
void console__tx(void *opaque, const uint8_t *buf, size_t len);
void console__rx_ready(void *opaque);
/* Restore the terminal; safe to call more than once and from atexit. */
void console__restore(struct console *c);
void console__destroy(struct console *c);

/* A `vmm console` client on connected socket fd (control thread): sends
 * 'greeting', then the ring's bytes, then live output; its input goes to
 * the device. 0 and fd is the console's (closed when the client leaves
 * or the VM ends), or -1 with one line in msg and fd still the caller's:
 * another client is attached (one at a time). */
int console__attach(struct console *c, int fd, int pid, const char *greeting,
		    char *msg, size_t len);
/* The attached client's pid: 0 none, -1 one whose pid is unknown. */
int console__client(struct console *c);

#endif
