/* console.c — this terminal, and a `vmm console` client, as the guest's
 * serial console.
 *
 * Input: the I/O thread reads stdin, filters the Ctrl-A escape, and pushes
 * bytes into the UART's receive FIFO. When the FIFO is full the rest waits
 * in 'pending' and stdin is not polled until the UART reports room
 * (rx_ready -> eventfd -> I/O thread), so pasted text is not dropped. An
 * attached client's socket is read the same way (its own escape, Ctrl-],
 * is the client's business: it never reaches vmm).
 * Output: the vCPU thread that writes THR writes straight to stdout;
 * SIGPIPE is ignored, and a closed stdout only stops the output. Under
 * out_lock it also goes to the console log, the ring and the client.
 * The client's socket is never waited on: output it has no room for is
 * dropped (counted), since a vCPU must not stall on a slow reader.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
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

static void push_pending(struct console *c);

/* Take what a source read; false if some waits for room in the UART. */
static bool feed(struct console *c, const uint8_t *buf, size_t n)
{
	memcpy(c->pending, buf, n);
	c->npending = n;
	c->pending_off = 0;
	push_pending(c);
	return c->npending == 0;
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
static void client_poll(struct console *c, bool on);
static void push_pending(struct console *c);

static void on_input(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[sizeof(c->pending)];
	ssize_t n;
	bool quit;

	if (c->npending) {      /* the client's input still waits */
		set_reading(c, false);
		return;
	}
	n = read(c->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF or error on stdin: the guest keeps running, headless. */
		set_reading(c, false);
		return;
	}
	n = (ssize_t)console__filter(c, buf, (size_t)n, buf, &quit);
	if (quit) {
		vm__request_exit(c->vm, 0, "quit from the console (Ctrl-A x)");
		return;
	}
	if (!feed(c, buf, (size_t)n))
		set_reading(c, false);
}

/* Free the client's slot, under out_lock; true if there was a client. */
static bool client_detach_locked(struct console *c)
{
	int fd = c->client_fd;

	if (fd < 0)
		return false;
	if (!c->client_paused)
		loop__del(&c->vm->loop, fd);
	close(fd);
	c->client_fd = -1;
	c->client_pid = 0;
	c->client_paused = false;
	pthread_cond_broadcast(&c->detached);
	return true;
}

/* The client leaves (EOF, an error, or the VM ends): its slot is free. */
static void client_detach(struct console *c)
{
	bool was;

	pthread_mutex_lock(&c->out_lock);
	was = client_detach_locked(c);
	pthread_mutex_unlock(&c->out_lock);
	if (was)
		pr_info("console: client detached");
}

static void on_client(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint8_t buf[sizeof(c->pending)];
	ssize_t n;

	if (c->npending) {      /* the terminal's input still waits */
		client_poll(c, false);
		return;
	}
	n = read(c->client_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_detach(c);
		return;
	}
	if (!feed(c, buf, (size_t)n))
		client_poll(c, false);
}

/* Poll the client's socket or not (the UART is full); under out_lock,
 * so an attach sees whether the I/O thread still watches the socket. */
static void client_poll(struct console *c, bool on)
{
	bool gone = false;

	pthread_mutex_lock(&c->out_lock);
	if (c->client_fd >= 0 && on == c->client_paused) {
		if (!on) {
			loop__del(&c->vm->loop, c->client_fd);
			c->client_paused = true;
			pthread_cond_broadcast(&c->detached);  /* see console__attach */
		} else if (loop__add(&c->vm->loop, c->client_fd, EPOLLIN, on_client, c) == 0) {
			c->client_paused = false;
		} else {
			gone = client_detach_locked(c);
		}
	}
	pthread_mutex_unlock(&c->out_lock);
	if (gone)
		pr_info("console: client detached");
}

static void on_ready(void *opaque, uint32_t events)
{
	struct console *c = opaque;
	uint64_t v;

	if (read(c->ready_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	push_pending(c);
	if (!c->npending) {
		set_reading(c, true);
		client_poll(c, true);
	}
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

/* Non-blocking, under out_lock: what does not fit is dropped. A
 * failure other than a full socket is the I/O thread's to see (EOF/HUP). */
static void client_write(struct console *c, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(c->client_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				c->client_dropped += len;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

void console__tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct console *c = opaque;

	/* Whoever read our stdout is gone (vmm run ... | head): the guest
	 * runs on, its output dropped. Without SIGPIPE ignored (see
	 * console__init) this write would have killed vmm on the spot,
	 * before a qcow2 image's metadata was written back. */
	if (c->out_fd >= 0 && util__write_all(c->out_fd, buf, len) == -EPIPE) {
		c->out_fd = -1;
		pr_warn("console: standard output was closed; guest output is dropped from here on");
	}
	if (!c->lock_ok)
		return;
	pthread_mutex_lock(&c->out_lock);
	ring__write(&c->ring, buf, len);
	if (c->log_fd >= 0 && util__write_all(c->log_fd, buf, len) < 0 && !c->log_failed) {
		c->log_failed = true;
		pr_warn("console: cannot write the console log: %s", strerror(errno));
	}
	if (c->client_fd >= 0)
		client_write(c, buf, len);
	pthread_mutex_unlock(&c->out_lock);
}

/* The client's end is closed (it may have sent input not yet read). */
static bool peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

int console__attach(struct console *c, int fd, int pid, const char *greeting,
		    char *msg, size_t len)
{
	const uint8_t *a, *b;
	size_t alen, blen;

	if (!c->lock_ok) {
		snprintf(msg, len, "this VM has no console");
		return -1;
	}
	pthread_mutex_lock(&c->out_lock);
	/* A client that has hung up is still in the slot until the I/O
	 * thread sees its EOF (Ctrl-], then attach again at once): wait for
	 * that, briefly. One the I/O thread no longer polls (the UART is
	 * full: a guest not reading its console) is freed here. */
	if (c->client_fd >= 0 && peer_gone(c->client_fd)) {
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += CONSOLE_DETACH_WAIT_S;
		while (c->client_fd >= 0 && !c->client_paused &&
		       pthread_cond_timedwait(&c->detached, &c->out_lock, &t) == 0)
			;
		if (c->client_fd >= 0 && c->client_paused) {
			client_detach_locked(c);
			pr_info("console: client detached");
		}
	}
	if (c->client_fd >= 0) {
		if (c->client_pid > 0)
			snprintf(msg, len, "the console already has a client (pid %d); one at a time",
				 c->client_pid);
		else
			snprintf(msg, len, "the console already has a client; one at a time");
		pthread_mutex_unlock(&c->out_lock);
		return -1;
	}
	/* Polled first (loop's lock is taken inside ours, never the other
	 * way: callbacks run outside it), so a detach on the I/O thread
	 * always finds the fd registered; it waits for our unlock. */
	c->client_fd = fd;
	c->client_pid = pid > 0 ? pid : -1;
	c->client_paused = false;
	if (loop__add(&c->vm->loop, fd, EPOLLIN, on_client, c) < 0) {
		c->client_fd = -1;
		c->client_pid = 0;
		pthread_mutex_unlock(&c->out_lock);
		snprintf(msg, len, "cannot poll the client's socket");
		return -1;
	}
	/* Greeting, replay and the switch to live output under one lock:
	 * no byte the guest writes meanwhile is lost or sent twice. */
	client_write(c, (const uint8_t *)greeting, strlen(greeting));
	ring__pieces(&c->ring, &a, &alen, &b, &blen);
	client_write(c, a, alen);
	client_write(c, b, blen);
	pthread_mutex_unlock(&c->out_lock);
	pr_info("console: client attached (pid %d)", pid);
	return 0;
}

int console__client(struct console *c)
{
	int pid;

	if (!c->lock_ok)
		return 0;
	pthread_mutex_lock(&c->out_lock);
	pid = c->client_fd >= 0 ? c->client_pid : 0;
	pthread_mutex_unlock(&c->out_lock);
	return pid;
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
	c->client_fd = -1;
	/* fd 0 is never the log (stdin is open): a zeroed vm has none */
	c->log_fd = vm->files.console_fd > 0 ? vm->files.console_fd : -1;
	/* --detach: stdin and stdout are /dev/null and the vmm log. */
	if (vm->cfg && vm->cfg->detach)
		interactive = false;
	c->in_fd = interactive ? STDIN_FILENO : -1;
	c->out_fd = vm->cfg && vm->cfg->detach ? -1 : STDOUT_FILENO;
	if (ring__init(&c->ring, CONSOLE_RING_SIZE) < 0) {
		pr_err("console: out of memory");
		return -1;
	}
	pthread_mutex_init(&c->out_lock, NULL);
	pthread_cond_init(&c->detached, NULL);
	c->lock_ok = true;
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
	if (c->lock_ok) {
		/* the I/O thread has stopped: the client sees EOF */
		if (c->client_fd >= 0)
			close(c->client_fd);
		c->client_fd = -1;
		pthread_mutex_destroy(&c->out_lock);
		pthread_cond_destroy(&c->detached);
		c->lock_ok = false;
	}
	ring__destroy(&c->ring);
}
