/* iov.c — iovec copies, slices and full positional transfers (the
 * contracts are in iov.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "vmm/iov.h"

size_t iov__len(const struct iovec *iov, int cnt)
{
	size_t t = 0;

	for (int i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
}

/* The one walk behind every copy: each piece of [off, off + len) that
 * lies in a segment, in order. buf NULL: zero the pieces. */
static size_t copy(const struct iovec *iov, int cnt, size_t off, uint8_t *buf, size_t len,
		   bool to_iov)
{
	size_t done = 0;

	for (int i = 0; i < cnt && done < len; i++) {
		uint8_t *p;
		size_t n;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off;
		if (n > len - done)
			n = len - done;
		p = (uint8_t *)iov[i].iov_base + off;
		if (!buf)
			memset(p, 0, n);
		else if (to_iov)
			memcpy(p, buf + done, n);
		else
			memcpy(buf + done, p, n);
		done += n;
		off = 0;
	}
	return done;
}

size_t iov__to_buf(const struct iovec *iov, int cnt, size_t off, void *buf, size_t len)
{
	return copy(iov, cnt, off, buf, len, false);
}

size_t iov__from_buf(const struct iovec *iov, int cnt, size_t off, const void *buf,
		     size_t len)
{
	return copy(iov, cnt, off, (uint8_t *)buf, len, true);
}

size_t iov__zero(const struct iovec *iov, int cnt, size_t off, size_t len)
{
	return copy(iov, cnt, off, NULL, len, true);
}

int iov__slice(const struct iovec *iov, int cnt, size_t off, size_t len, struct iovec *dst)
{
	int n = 0;

	for (int i = 0; i < cnt && len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		dst[n].iov_base = (uint8_t *)iov[i].iov_base + off;
		dst[n].iov_len = l - off < len ? l - off : len;
		len -= dst[n].iov_len;
		off = 0;
		n++;
	}
	return n;
}

/* The loop behind iov__preadv_all and iov__pwritev_all: i is the first
 * segment with bytes left, each call starting there. */
static int pxfer_all(int fd, struct iovec *iov, int cnt, uint64_t off, bool write,
		     size_t *done)
{
	int i = 0;

	if (done)
		*done = 0;
	while (i < cnt) {
		ssize_t n;

		if (iov[i].iov_len == 0) {
			i++;
			continue;
		}
		n = write ? pwritev(fd, &iov[i], cnt - i, (off_t)off)
			  : preadv(fd, &iov[i], cnt - i, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			if (write)
				return -EIO;
			/* end of file: the rest reads as zeroes */
			for (; i < cnt; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			break;
		}
		off += (uint64_t)n;
		if (done)
			*done += (size_t)n;
		/* step past what moved: whole segments, then part of one */
		while (n > 0 && i < cnt) {
			if ((size_t)n >= iov[i].iov_len) {
				n -= (ssize_t)iov[i].iov_len;
				iov[i].iov_len = 0;
				i++;
			} else {
				iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
				iov[i].iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	return 0;
}

int iov__preadv_all(int fd, struct iovec *iov, int cnt, uint64_t off)
{
	return pxfer_all(fd, iov, cnt, off, false, NULL);
}

int iov__pwritev_all(int fd, struct iovec *iov, int cnt, uint64_t off, size_t *done)
{
	return pxfer_all(fd, iov, cnt, off, true, done);
}
