/* console.h — the host side of the guest's serial console: this terminal
 * in raw mode feeding the platform's console device (x86: the 16550A on
 * COM1), guest output to stdout, Ctrl-A x to quit. The console knows the
 * device only as a sink taking input bytes. */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

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
};

/* The escape key and its commands. */
#define CONSOLE_ESCAPE 0x01   /* Ctrl-A */

/* Feed host input through the escape-sequence filter: returns the number of
 * bytes written to 'out' (at most len), sets *quit on Ctrl-A x. Pure: the
 * escape state lives in *c; exposed for unit tests. */
size_t console__filter(struct console *c, const uint8_t *in, size_t len,
		       uint8_t *out, bool *quit);

/* Attach stdin/stdout to the device behind 'sink' (NULL: output only).
 * With 'interactive' false stdin is never read. Puts a terminal stdin in
 * raw mode until console__restore(). */
int console__init(struct console *c, struct vm *vm, const struct console_sink *sink,
		  bool interactive);
/* The device's callbacks (installed by whoever creates it): guest output,
 * and room for input again. */
void console__tx(void *opaque, const uint8_t *buf, size_t len);
void console__rx_ready(void *opaque);
/* Restore the terminal; safe to call more than once and from atexit. */
void console__restore(struct console *c);
void console__destroy(struct console *c);

#endif
