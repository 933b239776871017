/* fuzz_loop.h — the I/O loop faked at link time for the virtio fuzz
 * targets (as tests/unit/test_virtio_net.c does): defining loop__add,
 * loop__mod and loop__del here keeps vmm/loop.c out of the link, and the
 * devices' registrations land in a table the target dispatches from, on
 * its own thread: floop_fire() delivers events to one fd the way epoll
 * would (only those it is polled for, errors always), floop_pump() calls
 * every registered eventfd that is readable, a bounded number of rounds.
 * Include it in one file per program. */
#ifndef TESTS_FUZZ_FUZZ_LOOP_H
#define TESTS_FUZZ_FUZZ_LOOP_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "vmm/loop.h"

#define FLOOP_MAX 16

static struct floop_reg {
	int fd;
	uint32_t events;
	loop_cb cb;
	void *opaque;
	bool live;
} floop[FLOOP_MAX];

static struct floop_reg *floop_find(int fd)
{
	for (int i = 0; i < FLOOP_MAX; i++)
		if (floop[i].live && floop[i].fd == fd)
			return &floop[i];
	return NULL;
}

int loop__add(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque)
{
	if (floop_find(fd))
		return -EEXIST;
	for (int i = 0; i < FLOOP_MAX; i++) {
		if (!floop[i].live) {
			floop[i] = (struct floop_reg){ fd, events, cb, opaque, true };
			return 0;
		}
	}
	return -ENOMEM;
}

int loop__mod(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque)
{
	struct floop_reg *r = floop_find(fd);

	if (!r)
		return -ENOENT;
	*r = (struct floop_reg){ fd, events, cb, opaque, true };
	return 0;
}

int loop__del(struct loop *l, int fd)
{
	struct floop_reg *r = floop_find(fd);

	if (!r)
		return -ENOENT;
	r->live = false;
	return 0;
}

/* What epoll would report for 'events' happening on fd. */
static void floop_fire(int fd, uint32_t events)
{
	struct floop_reg *r = floop_find(fd);

	events &= (r ? r->events : 0) | EPOLLHUP | EPOLLERR;
	if (r && events)
		r->cb(r->opaque, events);
}

/* Dispatch readable fds other than 'skip' (whose readiness the target
 * decides itself) until none is left, at most 'rounds' times. */
static void floop_pump(int skip, int rounds)
{
	for (int round = 0; round < rounds; round++) {
		struct pollfd p[FLOOP_MAX];
		int n = 0;

		for (int i = 0; i < FLOOP_MAX; i++)
			if (floop[i].live && floop[i].fd != skip && (floop[i].events & EPOLLIN))
				p[n++] = (struct pollfd){ .fd = floop[i].fd, .events = POLLIN };
		if (poll(p, (nfds_t)n, 0) <= 0)
			return;
		for (int i = 0; i < n; i++)
			if (p[i].revents & POLLIN)
				floop_fire(p[i].fd, EPOLLIN);
	}
}

#endif
