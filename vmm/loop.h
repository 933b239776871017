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
	char name[16];      /* the thread's name ("": vmm-io) */
	void *priv;         /* handler records (loop.c) */
};

/* Loops for datapath threads (one per NIC queue pair): devices ask for
 * them at creation, vm__run starts them with the I/O thread (after
 * privileges are dropped, each loading the I/O thread's filter) and stops
 * them with it. A device given no set runs everything on the I/O loop. */
#define LOOP_SET_MAX 64
struct loop_set {
	struct loop *l[LOOP_SET_MAX];
	int n;
};

int loop__init(struct loop *l);
/* events: EPOLLIN etc.; opaque passed back to cb. */
int loop__add(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque);
int loop__mod(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque);
int loop__del(struct loop *l, int fd);
int loop__start(struct loop *l);   /* spawns the I/O thread */
void loop__stop(struct loop *l);   /* stops and joins it */
void loop__destroy(struct loop *l);

/* A new loop in the set, its thread named 'name' (not started yet). */
struct loop *loop_set__new(struct loop_set *s, const char *name);
int loop_set__start(struct loop_set *s);
void loop_set__stop(struct loop_set *s);
/* After everything registered on them is gone. */
void loop_set__destroy(struct loop_set *s);

#endif
