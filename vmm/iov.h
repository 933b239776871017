/* iov.h — iovec arrays: copies between one and a flat buffer, a byte
 * range of one as another, and positional vectored file I/O that keeps
 * going until every byte has moved.
 *
 * Why one module: a guest's descriptor chain arrives as an iovec array
 * (virtio/virtqueue.c) whose segments split headers, status bytes and
 * packets wherever the guest likes, and a disk request keeps those
 * iovecs all the way to preadv/pwritev (virtio/blk.c, devices/block/disk*.c,
 * devices/block/qcow2_io.c). Every device used to walk segments, offsets and
 * short counts with its own loop; an off-by-one in any of them is a
 * guest-controlled overrun, so there is one of each, tested on its own
 * (tests/unit/test_iov.c).
 *
 * Conventions for all of them: 'cnt' is the number of entries, as for
 * readv() (0 or less: an empty array); an offset or length counts bytes
 * of the segments laid end to end; zero-length segments are allowed
 * anywhere and hold no bytes. Nothing here reads or writes outside the
 * segments and the flat buffer it is given.
 */
#ifndef VMM_IOV_H
#define VMM_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Total bytes of iov[0, cnt). The caller bounds what the sum may be
 * (a virtqueue chain: 4 GiB at most; a disk request: checked against the
 * disk); it is not checked for overflow here. */
size_t iov__len(const struct iovec *iov, int cnt);

/* Copy bytes [off, off + len) of the segments into buf (iov__to_buf) or
 * buf into them (iov__from_buf). Returns the bytes copied: len, or fewer
 * when the segments end before off + len (0 when off is at or past their
 * end); the rest of buf is left as it was. A guest's buffers may be too
 * short for what a device wants to read or write: the return value says
 * how much it got, and nothing past the segments is touched. */
size_t iov__to_buf(const struct iovec *iov, int cnt, size_t off, void *buf, size_t len);
size_t iov__from_buf(const struct iovec *iov, int cnt, size_t off, const void *buf,
		     size_t len);

/* Zero bytes [off, off + len) of the segments; returns the bytes zeroed
 * (fewer than len when the segments end first), like iov__from_buf. */
size_t iov__zero(const struct iovec *iov, int cnt, size_t off, size_t len);

/* Describe bytes [off, off + len) of iov as a new array: dst gets
 * pointers into the same memory, nothing is copied (len SIZE_MAX: to the
 * end). dst must have room for cnt entries (a range never needs more) and
 * must not overlap iov. The result has no zero-length segments and ends
 * early when iov does. Returns the number of entries written to dst. */
int iov__slice(const struct iovec *iov, int cnt, size_t off, size_t len, struct iovec *dst);

/* preadv/pwritev all of iov[0, cnt) at file offset 'off', again after
 * EINTR and after short counts (a signal, a file that ended, a device
 * that moves large requests in pieces). cnt must be at most IOV_MAX
 * (more: -EINVAL from the kernel).
 *
 * The array is consumed: its entries are advanced past what has moved,
 * so on return they describe nothing useful; a caller that still needs
 * them passes a copy. Zero-length segments are skipped.
 *
 * iov__preadv_all: end of file before the last byte (a file that shrank
 * under us, or one shorter than its disk) fills what is left with zeroes
 * and counts as success, as a sparse file's hole would read.
 * iov__pwritev_all: pwritev() moving nothing is -EIO (it never does for
 * a regular file or block device; this ends the loop rather than spin).
 *
 * Returns 0 when every byte moved (or was zero-filled), else -errno of
 * the failing call (the transfer may then be partly done). *done (NULL:
 * not wanted) is set to the bytes the kernel wrote before it returned,
 * failure or not: a caller keeping track of the file's end (qcow2) needs
 * it for a write that failed half-way. */
int iov__preadv_all(int fd, struct iovec *iov, int cnt, uint64_t off);
int iov__pwritev_all(int fd, struct iovec *iov, int cnt, uint64_t off, size_t *done);

#endif
