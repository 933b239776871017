/* console_client.c — `vmm console NAME` (console_client.h).
 *
 * The control socket's "console" request turns the connection into the
 * guest console's byte stream (vmm/console.c serves it in the VMM). Here
 * the terminal goes into raw mode and one poll loop relays both ways:
 * keys to the socket (up to a Ctrl-], which detaches), the guest's output
 * to stdout. The terminal is put back on every way out: detach, the VM
 * ending (the socket closes), end of input, SIGTERM/SIGHUP/SIGINT (read
 * from a signalfd, so the loop itself restores), and exit() (atexit).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/console_client.h"
#include "vmm/control.h"
#include "vmm/control_priv.h"
#include "vmm/log.h"
#include "vmm/util.h"

/* Written by a key press: how long the VMM may take to accept it. */
#define SEND_TIMEOUT_MS 5000

/* atexit() takes no argument: the terminal to put back lives here. */
static struct termios saved;
static bool raw;

static void restore(void)
{
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	raw = false;
}

static void make_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) < 0)
		return;
	t = saved;
	cfmakeraw(&t);
	atexit(restore);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		raw = true;
}

size_t console_client__filter(const uint8_t *in, size_t len, bool *detach)
{
	const uint8_t *esc = memchr(in, CONSOLE_CLIENT_DETACH, len);

	*detach = esc != NULL;
	return esc ? (size_t)(esc - in) : len;
}

enum why { WHY_DETACH, WHY_EOF, WHY_VM_GONE, WHY_ERROR, WHY_SIGNAL };

/* Relay until one side ends; *sig the signal for WHY_SIGNAL. */
static enum why relay(int sock, int sfd, int *sig)
{
	uint8_t buf[4096];

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = sock, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return WHY_ERROR;
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				*sig = (int)si.ssi_signo;
				return WHY_SIGNAL;
			}
		}
		if (p[1].revents) {
			n = read(sock, buf, sizeof(buf));
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return WHY_VM_GONE;
			if (n > 0 && util__write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				return WHY_ERROR;
		}
		if (p[0].revents) {
			bool detach;
			size_t m;

			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0)
				return WHY_EOF;
			m = console_client__filter(buf, (size_t)n, &detach);
			if (m && control__send_all(sock, (const char *)buf, m, util__now_ns() +
						   SEND_TIMEOUT_MS * 1000000ULL) < 0)
				return WHY_VM_GONE;
			if (detach)
				return WHY_DETACH;
		}
	}
}

int console_client__run(const char *name)
{
	const char *nl;
	char err[256];
	sigset_t set;
	int sock, sfd, sig = 0;
	enum why why;

	sock = control__open_console(name, err, sizeof(err));
	if (sock < 0) {
		pr_err("%s", err);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		pr_err("console: signalfd: %s", strerror(errno));
		close(sock);
		return 1;
	}
	make_raw();
	nl = raw ? "\r\n" : "\n";
	fprintf(stderr, "vmm: connected to %s's console; Ctrl-] detaches%s", name, nl);
	why = relay(sock, sfd, &sig);
	restore();
	close(sock);
	close(sfd);
	switch (why) {
	case WHY_DETACH:
		fprintf(stderr, "\nvmm: detached from %s's console (the VM runs on)\n", name);
		return 0;
	case WHY_EOF:
		fprintf(stderr, "\nvmm: end of input; detached from %s's console\n", name);
		return 0;
	case WHY_VM_GONE:
		fprintf(stderr, "\nvmm: %s's console closed (the VM ended)\n", name);
		return 0;
	case WHY_SIGNAL:
		fprintf(stderr, "\nvmm: detached from %s's console (%s)\n", name,
			sigabbrev_np(sig) ?: "signal");
		return 128 + sig;
	default:
		fprintf(stderr, "\nvmm: console of %s: %s\n", name, strerror(errno));
		return 1;
	}
}
