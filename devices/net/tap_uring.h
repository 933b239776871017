/* tap_uring.h — the tap side of batched transmission: many frames written
 * to one tap queue fd with one system call, through an io_uring of its own
 * (IORING_OP_WRITEV, one SQE per frame, submitted and reaped with one
 * io_uring_enter), or with one writev() per frame where io_uring cannot be
 * had (no io_uring in the kernel, kernel.io_uring_disabled, a container's
 * seccomp profile). Which of the two is chosen once, at set-up.
 *
 * The ring is a sandbox of its own: io_uring operations are not system
 * calls, so the thread's seccomp filter never sees them. It is therefore
 * made before any filter, then restricted (IORING_REGISTER_RESTRICTIONS)
 * to READV and WRITEV on the one registered file (the tap queue, as fixed
 * file 0), and only then enabled; the threads that use it are allowed
 * io_uring_enter but neither io_uring_setup nor io_uring_register
 * (vmm/seccomp_rules.c). */
#ifndef DEVICES_TAP_URING_H
#define DEVICES_TAP_URING_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define TAP_URING_ENTRIES 64	/* SQ entries; also the most frames per call */

struct tap_uring {
	int fd;			/* the tap queue: writev() target, fixed file 0 */
	bool have_ring;		/* the ring exists (tap_uring__exit frees it) */
	bool on;		/* ... and is used */
	bool link;		/* a write can be refused for room: frames linked */
	bool warned;		/* a failure of the ring was reported (once) */
	struct io_uring ring;
};

/* Prepare batched writes to fd. want: try io_uring (else writev() per
 * frame from the start). Returns true if io_uring is used; false with
 * 'why' saying why not (when it was wanted). Before any seccomp filter. */
bool tap_uring__init(struct tap_uring *u, int fd, bool want, char *why, size_t len);
/* Tear the ring down (nothing to do for the writev() fallback). */
void tap_uring__exit(struct tap_uring *u);

/* Write frames [0, n) to the fd in this order, frame i being one writev()
 * of iovs[i] (counts[i] segments); n <= TAP_URING_ENTRIES. Returns m, how
 * many frames were tried: res[i] for i < m is the bytes written or -errno
 * (that frame is lost; the ones after it were still tried). m < n: frame m
 * found the fd full (EAGAIN or EINTR) and neither it nor any after it was
 * written: retry them when the fd is writable (only where the fd can be
 * full at all: tap_uring.c). */
unsigned tap_uring__write(struct tap_uring *u, const struct iovec *const iovs[],
			  const int counts[], unsigned n, ssize_t res[]);

#endif
