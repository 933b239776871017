/* ptyrun.c — run a command on a pseudo-terminal, for the console e2e
 * scenario (tests/e2e/scenarios/console.sh): L1 is a busybox initramfs
 * with no `script` and no python, and `vmm console` wants a terminal to
 * put into raw mode and back.
 *
 *   ptyrun CMD [ARG...] < keys > output
 *
 * What arrives on stdin is typed into the terminal; what the command
 * writes to it goes to stdout. ptyrun also watches the terminal's modes
 * and says on stderr, once each: "ptyrun: raw mode on" when the command
 * has switched echo and line editing off, and at the end "ptyrun:
 * terminal restored" or "ptyrun: terminal left in raw mode". Its exit
 * status is the command's. Built static into the L1 image
 * (images/build-l1.sh), like kvm_hold.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int cooked(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -1;
	return (t.c_lflag & (ICANON | ECHO)) == (ICANON | ECHO);
}

int main(int argc, char **argv)
{
	int master, slave, pidfd, st, said_raw = 0, in_open = 1;
	pid_t pid;
	char buf[4096];

	if (argc < 2) {
		fprintf(stderr, "usage: ptyrun CMD [ARG...]\n");
		return 2;
	}
	if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
		perror("ptyrun: openpty");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("ptyrun: fork");
		return 2;
	}
	if (pid == 0) {
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		close(master);
		if (slave > 2)
			close(slave);
		execvp(argv[1], argv + 1);
		perror("ptyrun: exec");
		_exit(127);
	}
	/* The slave stays open here too, to read its modes after the exit. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		perror("ptyrun: pidfd_open");
		return 2;
	}
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = master, .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
		};
		ssize_t n;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("ptyrun: poll");
			return 2;
		}
		if (p[0].revents & POLLIN) {
			n = read(master, buf, sizeof(buf));
			if (n > 0 && write(1, buf, (size_t)n) != n)
				return 2;
		}
		if (!said_raw && cooked(slave) == 0) {
			fprintf(stderr, "ptyrun: raw mode on\n");
			said_raw = 1;
		}
		if (p[2].revents) {
			n = read(0, buf, sizeof(buf));
			if (n <= 0)
				in_open = 0;
			else if (write(master, buf, (size_t)n) != n)
				return 2;
		}
		if (p[1].revents)
			break;
	}
	/* Whatever the command wrote last. */
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 0) != 1 || (n = read(master, buf, sizeof(buf))) <= 0)
			break;
		if (write(1, buf, (size_t)n) != n)
			break;
	}
	fprintf(stderr, "ptyrun: %s\n", cooked(slave) == 1 ? "terminal restored" :
		"terminal left in raw mode");
	if (waitpid(pid, &st, 0) < 0)
		return 2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
