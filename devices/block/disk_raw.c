/* disk_raw.c — raw images: preadv/pwritev straight at the guest's offset,
 * fdatasync for flush, hole punching (files) or BLKDISCARD (block devices)
 * for discard, FALLOC_FL_ZERO_RANGE or BLKZEROOUT for write-zeroes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/block/disk_raw.h"
#include "vmm/iov.h"
#include "vmm/log.h"
#include "vmm/util.h"

struct disk_raw {
	int fd;
	bool blockdev;
	bool probe_refusal_logged;
};

static struct disk_raw *raw(struct disk *d)
{
	return d->priv;
}

/* Loop over short transfers (iov__preadv_all, iov__pwritev_all); a read
 * past the end of a file that shrank under us reads as zeroes. Those
 * consume the iovecs they are given and the caller's are const: a copy. */
static ssize_t raw_xfer(struct disk *d, const struct iovec *iov_in, int iovcnt, uint64_t off,
			bool write)
{
	struct iovec iov[IOV_MAX];
	size_t total;
	int r;

	if (iovcnt <= 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	memcpy(iov, iov_in, (size_t)iovcnt * sizeof(*iov));
	total = iov__len(iov, iovcnt);
	if (!disk__range_ok(d, off, total))
		return -EINVAL;
	if (write && d->read_only)
		return -EROFS;
	r = write ? iov__pwritev_all(raw(d)->fd, iov, iovcnt, off, NULL)
		  : iov__preadv_all(raw(d)->fd, iov, iovcnt, off);
	return r < 0 ? r : (ssize_t)total;
}

static ssize_t raw_preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return raw_xfer(d, iov, iovcnt, off, false);
}

/* A raw image opened without format= was recognised as raw by its
 * first bytes, and will be again at the next start. A guest that may
 * write those bytes could turn its disk into a qcow2 image whose backing
 * file is any host file (/etc/shadow): vmm runs as root and would hand
 * it to the guest. So a write that would change what the image probes
 * as is refused with -EPERM, as QEMU does; with format=raw the guest may
 * write anything. Guest writes are whole sectors, so one touching the
 * probed area normally covers it all; a partial one is laid over what
 * the file holds now. */
static int probe_guard(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	uint8_t head[DISK_PROBE_BYTES];
	size_t total;

	if (!d->probed || off >= sizeof(head))
		return 0;
	total = iov__len(iov, iovcnt);
	if (!total)
		return 0;
	memset(head, 0, sizeof(head));
	if (off > 0 || total < sizeof(head)) {
		struct iovec cur = { .iov_base = head, .iov_len = MIN(sizeof(head), d->size) };
		ssize_t n = raw_xfer(d, &cur, 1, 0, false);

		if (n < 0)
			return (int)n;
	}
	/* the write's bytes that land in [off, sizeof(head)) */
	iov__to_buf(iov, iovcnt, 0, head + off, sizeof(head) - (size_t)off);
	if (disk__probe(head, sizeof(head)) == DISK_FORMAT_RAW)
		return 0;
	__atomic_fetch_add(&d->refused_writes, 1, __ATOMIC_RELAXED);
	if (!__atomic_exchange_n(&raw(d)->probe_refusal_logged, true, __ATOMIC_RELAXED))
		pr_warn("disk image %s: guest write to sector 0 refused: it would make the image "
			"probe as qcow2 at the next start (its format was probed; give "
			"format=raw to let the guest write any header there)", d->path);
	return -EPERM;
}

static ssize_t raw_pwritev(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	int r;

	if (iovcnt <= 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	r = probe_guard(d, iov, iovcnt, off);
	if (r < 0)
		return r;
	return raw_xfer(d, iov, iovcnt, off, true);
}

static int raw_flush(struct disk *d)
{
	if (d->read_only)
		return 0;
	return fdatasync(raw(d)->fd) < 0 ? -errno : 0;
}

static int raw_discard(struct disk *d, uint64_t off, uint64_t len)
{
	if (!disk__range_ok(d, off, len))
		return -EINVAL;
	if (d->read_only)
		return -EROFS;
	if (raw(d)->blockdev) {
		uint64_t range[2] = { off, len };

		return ioctl(raw(d)->fd, BLKDISCARD, range) < 0 ? -errno : 0;
	}
	if (fallocate(raw(d)->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0)
		return errno == EOPNOTSUPP ? 0 : -errno;   /* discard is a hint */
	return 0;
}

static int write_zero_buffer(struct disk *d, uint64_t off, uint64_t len)
{
	static const char zero[65536];

	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		struct iovec iov = { .iov_base = (void *)zero, .iov_len = n };
		ssize_t r = raw_xfer(d, &iov, 1, off, true);

		if (r < 0)
			return (int)r;
		off += n;
		len -= n;
	}
	return 0;
}

static int raw_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap)
{
	int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
			 : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (!disk__range_ok(d, off, len))
		return -EINVAL;
	if (d->read_only)
		return -EROFS;
	if (raw(d)->blockdev) {
		uint64_t range[2] = { off, len };

		if (ioctl(raw(d)->fd, BLKZEROOUT, range) == 0)
			return 0;
		return write_zero_buffer(d, off, len);
	}
	if (fallocate(raw(d)->fd, mode, (off_t)off, (off_t)len) == 0)
		return 0;
	return write_zero_buffer(d, off, len);
}

static void raw_close(struct disk *d)
{
	if (raw(d)) {
		close(raw(d)->fd);
		free(raw(d));
	}
}

static const struct disk_ops raw_ops = {
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.flush = raw_flush,
	.discard = raw_discard,
	.write_zeroes = raw_write_zeroes,
	.close = raw_close,
};

struct disk *disk_raw__open(int fd, const char *path, bool read_only, char *err, size_t errlen)
{
	struct disk_raw *r = calloc(1, sizeof(*r));
	struct disk *d = disk__alloc(path, "raw");
	struct stat st;

	if (!r || !d) {
		snprintf(err, errlen, "disk image %s: out of memory", path);
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "disk image %s: %s", path, strerror(errno));
		goto fail;
	}
	r->fd = fd;
	if (S_ISBLK(st.st_mode)) {
		uint64_t size;

		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			snprintf(err, errlen, "disk image %s: cannot read its size: %s", path,
				 strerror(errno));
			goto fail;
		}
		r->blockdev = true;
		d->size = size;
	} else if (S_ISREG(st.st_mode)) {
		d->size = (uint64_t)st.st_size;
	} else {
		snprintf(err, errlen, "disk image %s is not a regular file or block device", path);
		goto fail;
	}
	if (d->size < 512) {
		snprintf(err, errlen, "disk image %s is smaller than one 512-byte sector", path);
		goto fail;
	}
	d->ops = &raw_ops;
	d->priv = r;
	d->read_only = read_only;
	return d;
fail:
	free(r);
	if (d) {
		free(d->path);
		free(d);
	}
	close(fd);
	return NULL;
}
