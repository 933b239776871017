/* loop.h — the I/O thread: one epoll loop over the VMM's event sources
 * (host console input, later the tap and virtqueue eventfds). */
#ifndef VMM_LOOP_H
#define VMM_LOOP_H

#include <pthread.h>
#include <stdint.h>

typedef void (*loop_cb)(void *opaque, uint32_t events);

struct loop {
	int epfd;
	int stop_fd;        /* eventfd: wakes the loop to exit */
	pthread_t thread;
	int running;
	int tid;            /* the I/O thread's kernel thread id (0: not started) */
	void *priv;         /* handler records (loop.c) */
};

int loop__init(struct loop *l);
/* events: EPOLLIN etc.; opaque passed back to cb. */
int loop__add(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque);
int loop__mod(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque);
int loop__del(struct loop *l, int fd);
int loop__start(struct loop *l);   /* spawns the I/O thread */
void loop__stop(struct loop *l);   /* stops and joins it */
void loop__destroy(struct loop *l);

#endif
