/* control_thread.c — the control socket's own thread.
 *
 * `vmm list/stat/stop` are served here rather than on the I/O thread so
 * that what a local client can make vmm do (accept a connection, check
 * its credentials, read /proc for CPU times) never needs to be allowed
 * in the filter of the thread that moves the guest's packets. A request
 * is bounded in time (control.c), so one thread is enough.
 */
#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/control.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"

static void *control_thread(void *arg)
{
	struct control *c = arg;
	char err[256];

	__atomic_store_n(&c->tid, (int)gettid(), __ATOMIC_RELAXED);
	pthread_setname_np(pthread_self(), "vmm-ctl");  /* from inside: see vcpu.c */
	/* Unfiltered, it must not serve anyone: the starter learns how
	 * loading went before the guest runs. */
	c->start_rc = seccomp__install(SECCOMP_CONTROL, err, sizeof(err));
	if (c->start_rc < 0)
		pr_err("control thread: %s", err);
	sem_post(&c->started);
	if (c->start_rc < 0)
		return NULL;
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = c->stop_fd, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("control socket: poll: %s", strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		if (p[0].revents)
			control__handle(c);
	}
}

int control__start_thread(struct control *c)
{
	sigset_t all, old;
	int err;

	if (c->fd < 0 || c->running)
		return 0;
	c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_fd < 0) {
		pr_err("control socket: eventfd: %s", strerror(errno));
		return -1;
	}
	/* No signal is for this thread (SIGSYS is unblocked by the filter). */
	sem_init(&c->started, 0, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&c->thread, NULL, control_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pr_err("cannot start the control thread: %s", strerror(err));
		close(c->stop_fd);
		c->stop_fd = -1;
		return -1;
	}
	c->running = true;
	while (sem_wait(&c->started) < 0 && errno == EINTR)
		;
	return c->start_rc < 0 ? -1 : 0;
}

void control__stop_thread(struct control *c)
{
	uint64_t one = 1;

	if (!c->running)
		return;
	if (write(c->stop_fd, &one, sizeof(one)) < 0)
		pr_warn("control socket: cannot stop its thread: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	close(c->stop_fd);
	c->stop_fd = -1;
	c->running = false;
}
