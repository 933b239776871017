/* disk.c — opening a disk image (format probe), the memory-backed disk,
 * and the bounds-checked helpers every format shares. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "devices/disk.h"
#include "devices/disk_raw.h"
#include "devices/qcow2.h"

struct disk *disk__alloc(const char *path, const char *format)
{
	struct disk *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->path = strdup(path ? path : "");
	if (!d->path) {
		free(d);
		return NULL;
	}
	d->format = format;
	d->block_size = 512;
	return d;
}

bool disk__range_ok(const struct disk *d, uint64_t off, uint64_t len)
{
	return off <= d->size && len <= d->size - off;
}

struct disk *disk__open(const char *path, enum disk_format fmt, bool read_only,
			char *err, size_t errlen)
{
	unsigned char head[4];
	ssize_t n;
	int fd;

	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "disk image %s not found", path);
		else if (e == EROFS || (e == EACCES && !read_only))
			snprintf(err, errlen, "disk image %s: %s (add ro to open it read-only)",
				 path, strerror(e));
		else
			snprintf(err, errlen, "disk image %s: %s", path, strerror(e));
		return NULL;
	}
	/* Two writers would corrupt an image (a qcow2's metadata above all):
	 * a writer takes the file exclusively, a reader (backing files
	 * included) shares it with other readers. */
	if (flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "disk image %s is in use by another vmm%s", path,
				 read_only ? " that writes it" : "");
		else
			snprintf(err, errlen, "disk image %s: cannot lock it: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (fmt == DISK_FORMAT_AUTO) {
		n = pread(fd, head, sizeof(head), 0);
		if (n < 0) {
			snprintf(err, errlen, "disk image %s: cannot read: %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
		fmt = qcow2__probe(head, (size_t)n) ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW;
	}
	if (fmt == DISK_FORMAT_QCOW2)
		return qcow2__open(fd, path, read_only, err, errlen);
	return disk_raw__open(fd, path, read_only, err, errlen);
}

void disk__close(struct disk *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->close)
		d->ops->close(d);
	free(d->path);
	free(d);
}

ssize_t disk__pread(struct disk *d, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	if (!disk__range_ok(d, off, len))
		return -EINVAL;
	return d->ops->preadv(d, &iov, 1, off);
}

ssize_t disk__pwrite(struct disk *d, const void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (d->read_only)
		return -EROFS;
	if (!disk__range_ok(d, off, len))
		return -EINVAL;
	return d->ops->pwritev(d, &iov, 1, off);
}

/* ---- memory-backed, read-only --------------------------------------- */

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t t = 0;

	for (int i = 0; i < iovcnt; i++)
		t += iov[i].iov_len;
	return t;
}

static ssize_t mem_preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	const uint8_t *buf = d->priv;
	size_t total = iov_total(iov, iovcnt);

	if (!disk__range_ok(d, off, total))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(iov[i].iov_base, buf + off, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return (ssize_t)total;
}

static ssize_t mem_pwritev(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return -EROFS;
}

static int mem_flush(struct disk *d)
{
	return 0;
}

static void mem_close(struct disk *d)
{
	free(d->priv);
}

static const struct disk_ops mem_ops = {
	.preadv = mem_preadv,
	.pwritev = mem_pwritev,
	.flush = mem_flush,
	.close = mem_close,
};

struct disk *disk__open_mem(const char *name, void *buf, uint64_t len)
{
	struct disk *d = disk__alloc(name, "memory");

	if (!d) {
		free(buf);
		return NULL;
	}
	d->ops = &mem_ops;
	d->priv = buf;
	d->size = len;
	d->read_only = true;
	return d;
}
