/* tap_uring.c — many frames to one tap queue in one system call
 * (tap_uring.h). The kernel issues a call's SQEs one after the other, in
 * order, inline in io_uring_enter, in this thread (its CPU clock counts
 * them, as it counts writev()).
 *
 * Each write carries RWF_NOWAIT: without it io_uring treats a full fd
 * that supports non-blocking I/O (FMODE_NOWAIT: sockets, and taps on 6.x
 * kernels) by waiting for it to turn writable, O_NONBLOCK or not, and
 * io_uring_enter would then wait with it instead of handing -EAGAIN back
 * to the ring side. A kernel that refuses RWF_NOWAIT on the fd
 * (-EOPNOTSUPP, before anything is written) gets writev() from then on.
 *
 * Order. Where a write can be refused for room, the SQEs are linked
 * (IOSQE_IO_LINK): a frame that fails cancels the ones after it, so none
 * overtakes a frame the fd refused, and the refused one and the rest are
 * handed back as not sent. Links are not free: the kernel issues each
 * linked SQE as task work after the one before completes, about 100 ns
 * per frame here, which ate the whole gain over writev() (tap side alone,
 * 64 B frames: 1.19x writev()'s CPU per frame linked, 0.86-0.91x
 * unlinked). A tap whose send buffer is unlimited (TUNGETSNDBUF =
 * INT_MAX, as tap__open sets it) is never full, so its frames go
 * unlinked. Should such a tap say EAGAIN all the same, that frame is
 * dropped (the ones after it may be out already) and the queue links
 * from then on. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices/net/tap_uring.h"
#include "vmm/log.h"

/* io_uring_register itself: Debian 12's liburing 2.3 has
 * io_uring_register_restrictions and io_uring_enable_rings in liburing.a
 * but does not export them from liburing.so. 0 or -errno. */
static int ring_register(struct io_uring *ring, unsigned op, void *arg, unsigned n)
{
	return syscall(__NR_io_uring_register, ring->ring_fd, op, arg, n) < 0 ? -errno : 0;
}

/* Can a write to fd be refused for room? Not on a tap with an unlimited
 * send buffer. */
static bool can_be_full(int fd)
{
	int sndbuf;

	return ioctl(fd, TUNGETSNDBUF, &sndbuf) < 0 || sndbuf != INT_MAX;
}

/* Why io_uring_setup said no, in words. */
static void setup_refused(int e, char *why, size_t len)
{
	char v[16] = "";
	int fd;

	if (e == ENOSYS) {
		snprintf(why, len, "the kernel has no io_uring");
		return;
	}
	if (e == EPERM) {
		fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, v, sizeof(v) - 1);

			v[n > 0 ? n : 0] = '\0';
			v[strcspn(v, "\n")] = '\0';
			close(fd);
		}
		if (*v && strcmp(v, "0"))
			snprintf(why, len, "kernel.io_uring_disabled is %s", v);
		else
			snprintf(why, len, "io_uring_setup: not permitted (a seccomp profile?)");
		return;
	}
	snprintf(why, len, "io_uring_setup: %s", strerror(e));
}

bool tap_uring__init(struct tap_uring *u, int fd, bool want, char *why, size_t len)
{
	/* Created disabled, so that nothing can be submitted before the
	 * restrictions hold. Not IORING_SETUP_SINGLE_ISSUER: it binds the
	 * ring to the task that enables it, and this is the main thread
	 * while the queue pair's own thread submits (enabling it there
	 * would need io_uring_register in that thread's filter). */
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };
	/* What the enabled ring may do, whatever the thread's seccomp filter
	 * says (io_uring operations are no system calls): read and write
	 * the registered tap queue, nothing else; of the io_uring_register
	 * ops only dropping that file once enabled. */
	struct io_uring_restriction res[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_IO_LINK },
		/* tap_uring__exit lets go of the tap at once */
		{ .opcode = IORING_RESTRICTION_REGISTER_OP, .register_op = IORING_UNREGISTER_FILES },
	};
	int r;

	memset(u, 0, sizeof(*u));
	u->fd = fd;
	if (!want)
		return false;
	r = io_uring_queue_init_params(TAP_URING_ENTRIES, &u->ring, &p);
	if (r < 0) {
		setup_refused(-r, why, len);
		return false;
	}
	r = io_uring_register_files(&u->ring, &fd, 1);
	if (!r)
		r = ring_register(&u->ring, IORING_REGISTER_RESTRICTIONS, res,
				  sizeof(res) / sizeof(res[0]));
	if (!r)
		r = ring_register(&u->ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (r < 0) {
		snprintf(why, len, "io_uring_register: %s", strerror(-r));
		io_uring_queue_exit(&u->ring);
		return false;
	}
	u->have_ring = u->on = true;
	u->link = can_be_full(fd);
	return true;
}

void tap_uring__exit(struct tap_uring *u)
{
	/* The ring's own teardown runs later in the kernel, holding the
	 * registered tap fd until then: a tap vmm created would outlive
	 * vmm's close() for a moment. Unregistered first, it does not. */
	if (u->have_ring) {
		io_uring_unregister_files(&u->ring);
		io_uring_queue_exit(&u->ring);
	}
	u->have_ring = u->on = false;
}

/* The fallback: one writev() per frame. */
static unsigned write_each(struct tap_uring *u, const struct iovec *const iovs[],
			   const int counts[], unsigned from, unsigned n, ssize_t res[])
{
	for (unsigned i = from; i < n; i++) {
		ssize_t r = writev(u->fd, iovs[i], counts[i]);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return i;
		res[i] = r < 0 ? -errno : r;
	}
	return n;
}

/* Frames [from, n) as WRITEV SQEs (linked if u->link), submitted and
 * reaped with one io_uring_enter (more only if it was interrupted).
 * res[i] gets each frame's completion. 0, or -errno if the ring itself
 * failed (frames not reaped keep -EIO: lost). */
static int submit(struct tap_uring *u, const struct iovec *const iovs[], const int counts[],
		  unsigned from, unsigned n, ssize_t res[])
{
	unsigned got = 0, tries = 0;
	int r;

	for (unsigned i = from; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

		/* the SQ is empty between calls, and n <= its size */
		io_uring_prep_writev(sqe, 0, iovs[i], (unsigned)counts[i], (__u64)-1);
		sqe->rw_flags = RWF_NOWAIT;
		sqe->flags = IOSQE_FIXED_FILE | (u->link && i + 1 < n ? IOSQE_IO_LINK : 0);
		sqe->user_data = i;
		res[i] = -EIO;
	}
	r = io_uring_submit_and_wait(&u->ring, n - from);
	while (got < n - from) {
		struct io_uring_cqe *cqe;

		if (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
			if (cqe->user_data >= from && cqe->user_data < n)
				res[cqe->user_data] = cqe->res;
			io_uring_cqe_seen(&u->ring, cqe);
			got++;
			continue;
		}
		if (r < 0 && r != -EINTR && r != -EAGAIN)
			return r;
		if (++tries > 1000)
			return -ETIME;
		/* interrupted: submits what is left in the SQ, waits again */
		r = io_uring_submit_and_wait(&u->ring, 1);
	}
	return 0;
}

unsigned tap_uring__write(struct tap_uring *u, const struct iovec *const iovs[],
			  const int counts[], unsigned n, ssize_t res[])
{
	unsigned from = 0, i;
	int r;

	if (!u->on)
		return write_each(u, iovs, counts, 0, n, res);
	while (from < n) {
		r = submit(u, iovs, counts, from, n, res);
		if (r < 0) {
			/* Not expected: the ring is dropped for this queue,
			 * what it held is lost, writev() from now on. */
			if (!u->warned)
				pr_warn("tap: io_uring_enter failed (%s): one writev() per frame from now on",
					strerror(-r));
			u->warned = true;
			u->on = false;
			return n;
		}
		for (i = from; i < n && res[i] >= 0; i++)
			;
		if (i == n)
			break;
		if (res[i] == -EOPNOTSUPP) {
			/* RWF_NOWAIT refused: nothing of frame i was written */
			if (!u->warned)
				pr_warn("tap: io_uring cannot write without waiting here (RWF_NOWAIT "
					"unsupported): one writev() per frame");
			u->warned = true;
			u->on = false;  /* freed by tap_uring__exit */
			return write_each(u, iovs, counts, i, n, res);
		}
		if (!u->link) {
			/* Every frame was tried; one refused for room is
			 * dropped (not expected here: see the top). */
			for (; i < n; i++)
				if ((res[i] == -EAGAIN || res[i] == -EINTR) && !u->link) {
					pr_warn("tap: a write was refused for room: TX batches linked "
						"from now on");
					u->link = true;
				}
			break;
		}
		if (res[i] == -EAGAIN || res[i] == -EINTR)
			return i;       /* full: it and the cancelled rest wait */
		/* Frame i failed for good (its -errno stays) and cancelled
		 * the ones after it: those go again. A frame cancelled after
		 * a short write goes again itself. */
		from = res[i] == -ECANCELED && i > from ? i : i + 1;
	}
	return n;
}
