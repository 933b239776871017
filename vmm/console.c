/* console.c — this terminal as the guest's serial console.
 *
 * Input: the I/O thread reads stdin, filters the Ctrl-A escape, and pushes
 * bytes into the UART's receive FIFO. When the FIFO is full the rest waits
 * in 'pending' and stdin is not polled until the UART reports room
 * (rx_ready -> eventfd -> I/O thread), so pasted text is not dropped.
 * Output: the vCPU thread that writes THR writes straight to stdout;
 * SIGPIPE is ignored, and a closed stdout only stops the output.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/console.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/util.h"
#include "vmm/vm.h"

/* atexit() cannot take an argument; the one attached console is kept here
 * only so the terminal is restored however the process ends. */
static struct console *attached;

static void restore_at_exit(void)
{
	if (attached)
		console__restore(attached);
}

size_t console__filter(struct console *c, const uint8_t *in, size_t len,
		       uint8_t *out, bool *quit)
{
	size_t n = 0;

	*quit = false;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = in[i];

		if (c->escape) {
			c->escape = false;
			if (ch == 'x' || ch == 'X') {
				*quit = true;
				return n;
			}
			if (ch == CONSOLE_ESCAPE)
				out[n++] = ch;
			/* any other key after Ctrl-A is swallowed */
			continue;
		}
		if (ch == CONSOLE_ESCAPE) {
			c->escape = true;
			continue;
		}
		out[n++] = ch;
	}
	return n;
}

static void push_pending(struct console *c)
{
	while (c->pending_off < c->npending) {
		size_t n = c->sink.receive ?
			   c->sink.receive(c->sink.opaque, c->pending + c->pending_off,
					   c->npending - c->pending_off) : 0;
		if (n == 0)
			return;
		c->pending_off += n;
	}
	c->npending = c->pending_off = 0;
}

static void set_reading(struct console *c, bool on);

static void on_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[sizeof(c->pending)];
	ssize_t n;
	bool quit;

	n = read(c->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF or error on stdin: the guest keeps running, headless. */
		set_reading(c, false);
		return;
	}
	c->npending = console__filter(c, buf, (size_t)n, c->pending, &quit);
	c->pending_off = 0;
	if (quit) {
		vm__request_exit(c->vm, 0, "quit from the console (Ctrl-A x)");
		return;
	}
	push_pending(c);
	if (c->npending)
		set_reading(c, false);
}

static void on_ready(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t v;

	if (read(c->ready_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	push_pending(c);
	if (!c->npending)
		set_reading(c, true);
}

static void set_reading(struct console *c, bool on)
{
	if (on == c->reading || c->in_fd < 0)
		return;
	if (on && loop__add(&c->vm->loop, c->in_fd, EPOLLIN, on_input, c) < 0) {
		/* e.g. stdin is a regular file, which epoll cannot watch */
		pr_debug("console: not reading stdin (cannot poll it)");
		c->in_fd = -1;
		return;
	}
	if (!on)
		loop__del(&c->vm->loop, c->in_fd);
	c->reading = on;
}

void console__tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;

	if (c->out_fd < 0)
		return;
	/* Whoever read our stdout is gone (vmm run ... | head): the guest
	 * runs on, its output dropped. Without SIGPIPE ignored (see
	 * console__init) this write would have killed vmm on the spot,
	 * before a qcow2 image's metadata was written back. */
	if (util__write_all(c->out_fd, buf, len) == -EPIPE) {
		c->out_fd = -1;
		pr_warn("console: standard output was closed; guest output is dropped from here on");
	}
}

void console__rx_ready(void *opaque)
{
	struct console *c = opaque;
	uint64_t one = 1;

	if (write(c->ready_fd, &one, sizeof(one)) < 0)
		return;
}

int console__init(struct console *c, struct vm *vm, const struct console_sink *sink,
		  bool interactive)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };

	/* stdout may be a pipe whose reader goes away: EPIPE, not death. */
	sigaction(SIGPIPE, &ign, NULL);
	memset(c, 0, sizeof(*c));
	c->vm = vm;
	if (sink)
		c->sink = *sink;
	c->in_fd = interactive ? STDIN_FILENO : -1;
	c->out_fd = STDOUT_FILENO;
	c->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->ready_fd < 0) {
		pr_err("console: eventfd: %s", strerror(errno));
		return -1;
	}
	if (loop__add(&vm->loop, c->ready_fd, EPOLLIN, on_ready, c) < 0)
		return -1;
	if (c->in_fd < 0)
		return 0;
	if (isatty(c->in_fd) && tcgetattr(c->in_fd, &c->saved) == 0) {
		struct termios raw = c->saved;

		cfmakeraw(&raw);
		attached = c;
		atexit(restore_at_exit);
		if (tcsetattr(c->in_fd, TCSANOW, &raw) == 0) {
			c->raw = true;
			/* A seccomp violation puts the terminal back too. */
			seccomp__set_tty(c->in_fd, &c->saved);
		}
	}
	set_reading(c, true);
	return 0;
}

void console__restore(struct console *c)
{
	if (c->raw) {
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
		c->raw = false;
	}
}

void console__destroy(struct console *c)
{
	if (!c->vm)
		return;
	console__restore(c);
	if (attached == c)
		attached = NULL;
	seccomp__set_tty(-1, NULL);
	if (c->ready_fd >= 0)
		close(c->ready_fd);
	c->ready_fd = -1;
}
