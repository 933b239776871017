/* disk.c — opening a disk image (locks, format probe), the chain line
 * for the user, the memory-backed disk, and the bounds-checked helpers
 * every format shares. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/block/disk.h"
#include "devices/block/disk_lock.h"
#include "devices/block/disk_raw.h"
#include "devices/block/qcow2.h"
#include "vmm/iov.h"

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

/* Names from image headers may hold control characters (a terminal
 * escape): shown as '?'. */
static void sanitize(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

enum disk_format disk__probe(const void *head, size_t len)
{
	return qcow2__probe(head, len) ? DISK_FORMAT_QCOW2 : DISK_FORMAT_RAW;
}

struct disk *disk__open_opts(const char *path, const struct disk_open_opts *o,
			     char *err, size_t errlen)
{
	unsigned char head[DISK_PROBE_BYTES];
	enum disk_format fmt = o->format;
	struct disk *d;
	ssize_t n;
	int fd, fl;

	/* O_NONBLOCK: a FIFO given as image must not hang the open (it is
	 * refused as not a file below); cleared again at once. */
	fd = open(path, (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "disk image %s not found", path);
		else if (e == EROFS || (e == EACCES && !o->read_only))
			snprintf(err, errlen, "disk image %s: %s (add ro to open it read-only)",
				 path, strerror(e));
		else
			snprintf(err, errlen, "disk image %s: %s", path, strerror(e));
		return NULL;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		snprintf(err, errlen, "disk image %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	/* Two writers would corrupt an image (a qcow2's metadata above all):
	 * a writer takes the file exclusively, a reader (backing files
	 * included, devices/block/qcow2.c) shares it with other readers. */
	if (disk_lock__take(fd, path, !o->read_only, err, errlen) < 0) {
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
		fmt = disk__probe(head, (size_t)n);
	}
	if (fmt == DISK_FORMAT_QCOW2)
		d = qcow2__open(fd, path, o->read_only, !o->no_backing, err, errlen);
	else
		d = disk_raw__open(fd, path, o->read_only, err, errlen);
	if (d)
		d->probed = o->format == DISK_FORMAT_AUTO;
	else
		sanitize(err);  /* it may quote a backing file name from the image */
	return d;
}

struct disk *disk__open(const char *path, enum disk_format fmt, bool read_only,
			char *err, size_t errlen)
{
	struct disk_open_opts o = { .format = fmt, .read_only = read_only };

	return disk__open_opts(path, &o, err, errlen);
}

void disk__describe(const struct disk *d, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (const struct disk *x = d; x && used + 1 < len; x = x->backing) {
		int n = snprintf(buf + used, len - used, "%s%s (%s%s%s)", x == d ? "" : " -> ",
				 x->path, x->format, x == d && x->probed ? ", probed" : "",
				 x == d && x->read_only ? ", read-only" : "");

		if (n < 0)
			break;
		used += (size_t)n;
	}
	sanitize(buf);
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

static ssize_t mem_preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	const uint8_t *buf = d->priv;
	size_t total = iov__len(iov, iovcnt);

	if (!disk__range_ok(d, off, total))
		return -EINVAL;
	iov__from_buf(iov, iovcnt, 0, buf + off, total);
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
