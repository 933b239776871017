/* fake_loop.h — the I/O loop (vmm/loop.h) faked at link time, for the
 * unit tests and the fuzz targets that drive a device model on their own
 * thread. Defining loop__add, loop__mod and loop__del here keeps
 * vmm/loop.c out of the link: the devices' registrations land in
 * fake_loop[], which the program dispatches from, level-triggered like
 * epoll:
 *   fake_loop_fire()   delivers events to one fd the way epoll would
 *                      (only those it is polled for, errors always);
 *   fake_loop_pump()   calls the registered fds that are ready, round
 *                      after round until none is, the first poll
 *                      waiting up to wait_ms;
 *   fake_loop_settle() the same for a cmocka test (included after
 *                      <cmocka.h>): the test fails when the device keeps
 *                      the loop busy.
 * Include it in one file per program; a unit test calls fake_loop_reset()
 * in its set-up. */
#ifndef TESTS_COMMON_FAKE_LOOP_H
#define TESTS_COMMON_FAKE_LOOP_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>

#include "vmm/loop.h"

#define FAKE_LOOP_MAX 16

struct fake_reg {
	int fd;
	uint32_t events;
	loop_cb cb;
	void *opaque;
	bool live;
};

static struct fake_reg fake_loop[FAKE_LOOP_MAX];

static inline void fake_loop_reset(void)
{
	memset(fake_loop, 0, sizeof(fake_loop));
}

static inline struct fake_reg *fake_loop_find(int fd)
{
	for (int i = 0; i < FAKE_LOOP_MAX; i++)
		if (fake_loop[i].live && fake_loop[i].fd == fd)
			return &fake_loop[i];
	return NULL;
}

int loop__add(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque)
{
	if (fake_loop_find(fd))
		return -EEXIST;
	for (int i = 0; i < FAKE_LOOP_MAX; i++) {
		if (!fake_loop[i].live) {
			fake_loop[i] = (struct fake_reg){ fd, events, cb, opaque, true };
			return 0;
		}
	}
	return -ENOMEM;
}

int loop__mod(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque)
{
	struct fake_reg *r = fake_loop_find(fd);

	if (!r)
		return -ENOENT;
	*r = (struct fake_reg){ fd, events, cb, opaque, true };
	return 0;
}

int loop__del(struct loop *l, int fd)
{
	struct fake_reg *r = fake_loop_find(fd);

	if (!r)
		return -ENOENT;
	r->live = false;
	return 0;
}

/* What epoll would report for 'events' happening on fd; returns whether
 * a callback was made. */
static inline bool fake_loop_fire(int fd, uint32_t events)
{
	struct fake_reg *r = fake_loop_find(fd);

	events &= (r ? r->events : 0) | EPOLLHUP | EPOLLERR;
	if (!r || !events)
		return false;
	r->cb(r->opaque, events);
	return true;
}

/* Dispatch ready fds other than 'skip' (-1: none; one whose readiness the
 * caller decides itself) until none is left, at most 'rounds' rounds, the
 * first poll waiting up to wait_ms. Each fd is polled for what it is
 * registered for and called with what poll() reported of it. Returns the
 * callbacks made; -EBUSY when fds were still ready after the last round,
 * -errno when poll() fails. */
static inline int fake_loop_pump(int skip, int wait_ms, int rounds)
{
	int calls = 0;

	for (int round = 0; round < rounds; round++) {
		struct pollfd p[FAKE_LOOP_MAX];
		int n = 0, ready;

		for (int i = 0; i < FAKE_LOOP_MAX; i++) {
			if (!fake_loop[i].live || fake_loop[i].fd == skip)
				continue;
			p[n].fd = fake_loop[i].fd;
			p[n].events = (fake_loop[i].events & EPOLLIN ? POLLIN : 0) |
				      (fake_loop[i].events & EPOLLOUT ? POLLOUT : 0);
			p[n++].revents = 0;
		}
		ready = poll(p, (nfds_t)n, round ? 0 : wait_ms);
		if (ready < 0)
			return -errno;
		if (ready == 0)
			return calls;
		for (int i = 0; i < n; i++) {
			struct fake_reg *r = fake_loop_find(p[i].fd);
			uint32_t ev = (p[i].revents & POLLIN ? EPOLLIN : 0) |
				      (p[i].revents & POLLOUT ? EPOLLOUT : 0) |
				      (p[i].revents & POLLHUP ? EPOLLHUP : 0) |
				      (p[i].revents & POLLERR ? EPOLLERR : 0);

			if (!r || !ev)
				continue;
			calls++;
			r->cb(r->opaque, ev);
		}
	}
	return -EBUSY;
}

#ifdef CMOCKA_H_
/* fake_loop_pump() for a test: every fd, 40 rounds at most, then the
 * test fails ('busy' says why). */
static inline int fake_loop_settle(int wait_ms, const char *busy)
{
	int calls = fake_loop_pump(-1, wait_ms, 40);

	if (calls == -EBUSY)
		fail_msg("%s", busy);
	assert_true(calls >= 0);   /* poll() failed */
	return calls;
}
#endif

#endif
