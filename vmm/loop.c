/* loop.c — the I/O thread: an epoll loop over registered fds.
 *
 * Callbacks run on the I/O thread only, so a device whose state is touched
 * only from its callbacks needs no lock. Registration may happen from any
 * thread (epoll_ctl is thread-safe); the small handler record lives as long
 * as the fd is registered.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/seccomp.h"

struct loop_handler {
	int fd;
	loop_cb cb;
	void *opaque;
	struct loop_handler *next;
};

/* Handlers are kept on a per-loop list so they can be freed at destroy;
 * removal marks them dead rather than freeing while the loop may hold one. */
struct loop_priv {
	pthread_mutex_t lock;
	struct loop_handler *list;
	sem_t started;              /* posted once the thread's filter is loaded (or not) */
	int start_rc;
};

static struct loop_priv *priv(struct loop *l)
{
	return (struct loop_priv *)l->priv;
}

int loop__init(struct loop *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	memset(l, 0, sizeof(*l));
	l->priv = calloc(1, sizeof(struct loop_priv));
	if (!l->priv)
		return -ENOMEM;
	pthread_mutex_init(&priv(l)->lock, NULL);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->epfd < 0 || l->stop_fd < 0) {
		int e = errno;

		pr_err("cannot create the I/O loop: %s", strerror(e));
		return -e;
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0)
		return -errno;
	return 0;
}

static struct loop_handler *find(struct loop *l, int fd)
{
	for (struct loop_handler *h = priv(l)->list; h; h = h->next)
		if (h->fd == fd)
			return h;
	return NULL;
}

static int ctl(struct loop *l, int op, int fd, uint32_t events, loop_cb cb, void *opaque)
{
	struct epoll_event ev = { .events = events };
	struct loop_handler *h;
	int err = 0;

	pthread_mutex_lock(&priv(l)->lock);
	h = find(l, fd);
	if (op == EPOLL_CTL_ADD) {
		if (h) {
			err = -EEXIST;
			goto out;
		}
		/* Reuse a removed record (an fd dropped and added again, e.g.
		 * a queue doorbell handed to vhost and back); a stale event
		 * for it at worst calls a handler that finds nothing to read. */
		h = find(l, -1);
		if (!h) {
			h = calloc(1, sizeof(*h));
			if (!h) {
				err = -ENOMEM;
				goto out;
			}
			h->next = priv(l)->list;
			priv(l)->list = h;
		}
		h->fd = fd;
	} else if (!h) {
		err = -ENOENT;
		goto out;
	}
	h->cb = cb;
	h->opaque = opaque;
	ev.data.ptr = h;
	if (epoll_ctl(l->epfd, op, fd, &ev) < 0)
		err = -errno;
out:
	pthread_mutex_unlock(&priv(l)->lock);
	return err;
}

int loop__add(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque)
{
	return ctl(l, EPOLL_CTL_ADD, fd, events, cb, opaque);
}

int loop__mod(struct loop *l, int fd, uint32_t events, loop_cb cb, void *opaque)
{
	return ctl(l, EPOLL_CTL_MOD, fd, events, cb, opaque);
}

int loop__del(struct loop *l, int fd)
{
	struct loop_handler *h;
	int err = -ENOENT;

	pthread_mutex_lock(&priv(l)->lock);
	h = find(l, fd);
	if (h) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		/* Keep the record (fd -1) until destroy: an event already
		 * fetched by the loop may still point at it. */
		h->fd = -1;
		h->cb = NULL;
		err = 0;
	}
	pthread_mutex_unlock(&priv(l)->lock);
	return err;
}

static void *loop_thread(void *arg)
{
	struct loop *l = arg;
	struct epoll_event ev[32];
	char err[256];

	__atomic_store_n(&l->tid, (int)gettid(), __ATOMIC_RELAXED);
	/* from inside: see vcpu.c */
	pthread_setname_np(pthread_self(), l->name[0] ? l->name : "vmm-io");
	/* The filter before the first event: nothing the guest sends is
	 * handled unfiltered. loop__start waits for the outcome. */
	priv(l)->start_rc = seccomp__install(SECCOMP_IO, err, sizeof(err));
	if (priv(l)->start_rc < 0)
		pr_err("%s thread: %s", l->name[0] ? l->name : "I/O", err);
	sem_post(&priv(l)->started);
	if (priv(l)->start_rc < 0)
		return NULL;
	for (;;) {
		int n = epoll_wait(l->epfd, ev, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pr_err("I/O loop: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct loop_handler *h = ev[i].data.ptr;
			loop_cb cb;
			void *opaque;

			if (!h)  /* stop_fd */
				return NULL;
			pthread_mutex_lock(&priv(l)->lock);
			cb = h->cb;
			opaque = h->opaque;
			pthread_mutex_unlock(&priv(l)->lock);
			if (cb)
				cb(opaque, ev[i].events);
		}
	}
	return NULL;
}

int loop__start(struct loop *l)
{
	int err;

	sem_init(&priv(l)->started, 0, 0);
	err = pthread_create(&l->thread, NULL, loop_thread, l);
	if (err) {
		pr_err("cannot start the I/O thread: %s", strerror(err));
		return -err;
	}
	l->running = 1;
	while (sem_wait(&priv(l)->started) < 0 && errno == EINTR)
		;
	return priv(l)->start_rc < 0 ? -EPERM : 0;
}

void loop__stop(struct loop *l)
{
	uint64_t one = 1;

	if (!l->running)
		return;
	if (write(l->stop_fd, &one, sizeof(one)) < 0)
		pr_warn("I/O loop: cannot signal stop: %s", strerror(errno));
	pthread_join(l->thread, NULL);
	l->running = 0;
}

void loop__destroy(struct loop *l)
{
	struct loop_handler *h, *next;

	if (!l->priv)  /* never initialised */
		return;
	loop__stop(l);
	for (h = priv(l)->list; h; h = next) {
		next = h->next;
		free(h);
	}
	pthread_mutex_destroy(&priv(l)->lock);
	free(l->priv);
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	memset(l, 0, sizeof(*l));
	l->epfd = l->stop_fd = -1;
}

/* ---- a set of datapath loops ------------------------------------------- */

struct loop *loop_set__new(struct loop_set *s, const char *name)
{
	struct loop *l;

	if (s->n == LOOP_SET_MAX) {
		pr_err("%s: more than %d datapath threads", name, LOOP_SET_MAX);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l || loop__init(l) < 0) {
		pr_err("%s: cannot create its loop", name);
		if (l)
			loop__destroy(l);
		free(l);
		return NULL;
	}
	snprintf(l->name, sizeof(l->name), "%s", name);
	s->l[s->n++] = l;
	return l;
}

int loop_set__start(struct loop_set *s)
{
	for (int i = 0; i < s->n; i++)
		if (loop__start(s->l[i]) < 0)
			return -1;
	return 0;
}

void loop_set__stop(struct loop_set *s)
{
	for (int i = 0; i < s->n; i++)
		loop__stop(s->l[i]);
}

void loop_set__destroy(struct loop_set *s)
{
	for (int i = 0; i < s->n; i++) {
		loop__destroy(s->l[i]);
		free(s->l[i]);
	}
	s->n = 0;
}
