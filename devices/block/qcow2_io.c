/* qcow2_io.c — the qcow2 disk ops: reads and writes split at cluster
 * boundaries, each piece served from its cluster's state (data, zeroes,
 * backing file, compressed data), copy-on-write allocation for writes to
 * anything but a cluster of our own, write-zeroes and discard via the v3
 * zero flag or unallocation, flush. One mutex per image serialises every
 * request. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/block/qcow2_priv.h"
#include "vmm/iov.h"

/* ---- file I/O -------------------------------------------------------- */

static void note_end(struct qcow2 *s, uint64_t end)
{
	if (end > s->file_end)
		s->file_end = end;
	end = (end + s->cluster_size - 1) >> s->cluster_bits;
	if (end > s->end_cluster)
		s->end_cluster = end;
}

/* Transfer all of iov (which it consumes) at 'off'. A write moves the
 * file's end past what reached the file, even when it fails half-way. */
static int xfer(struct qcow2 *s, struct iovec *iov, int n, uint64_t off, bool write)
{
	size_t done;
	int r;

	if (!write)
		return iov__preadv_all(s->fd, iov, n, off);
	r = iov__pwritev_all(s->fd, iov, n, off, &done);
	if (done)
		note_end(s, off + done);
	return r;
}

int qcow2__pread(struct qcow2 *s, void *buf, size_t len, uint64_t off)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };

	return xfer(s, &v, 1, off, false);
}

int qcow2__pwrite(struct qcow2 *s, const void *buf, size_t len, uint64_t off)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };

	return xfer(s, &v, 1, off, true);
}

int qcow2__sync(struct qcow2 *s)
{
	return fdatasync(s->fd) < 0 ? -errno : 0;
}

/* ---- iovec pieces ---------------------------------------------------- */

/* The guest buffers of one request; a piece is [pos, pos + len). */
struct req {
	const struct iovec *iov;
	int cnt;
	struct iovec *tmp;      /* cnt slots */
};

/* The request's bytes [pos, pos + len) as iovecs in q->tmp. */
static int piece(const struct req *q, size_t pos, size_t len)
{
	return iov__slice(q->iov, q->cnt, pos, len, q->tmp);
}

/* ---- reads ----------------------------------------------------------- */

static int read_backing(struct qcow2 *s, uint64_t vaddr, const struct req *q, size_t pos,
			size_t len)
{
	uint64_t bsize = s->backing ? s->backing->size : 0;
	size_t n = vaddr >= bsize ? 0 : (bsize - vaddr < len ? (size_t)(bsize - vaddr) : len);

	if (n) {
		int cnt = piece(q, pos, n);
		ssize_t r = s->backing->ops->preadv(s->backing, q->tmp, cnt, vaddr);

		if (r < 0)
			return (int)r;
	}
	iov__zero(q->iov, q->cnt, pos + n, len - n);
	return 0;
}

/* Read [vaddr, vaddr + len) (inside one cluster) into the request's
 * bytes [pos, pos + len), the cluster's L2 entry being 'entry'. */
static int read_piece(struct qcow2 *s, uint64_t vaddr, uint64_t entry, const struct req *q,
		      size_t pos, size_t len)
{
	uint64_t in = vaddr & (s->cluster_size - 1), host;
	enum qcow2_ctype type;
	const uint8_t *z;
	int r = qcow2__classify(s, entry, &type, &host);

	if (r < 0)
		return r;
	switch (type) {
	case QCOW2_UNALLOC:
		return read_backing(s, vaddr, q, pos, len);
	case QCOW2_ZERO_PLAIN:
	case QCOW2_ZERO_ALLOC:
		iov__zero(q->iov, q->cnt, pos, len);
		return 0;
	case QCOW2_COMPRESSED:
		r = qcow2__read_compressed(s, entry, &z);
		if (r == 0)
			iov__from_buf(q->iov, q->cnt, pos, z + in, len);
		return r;
	default:
		return xfer(s, q->tmp, piece(q, pos, len), host + in, false);
	}
}

/* ---- writes ---------------------------------------------------------- */

/* The old contents of a whole cluster, for copy-on-write, into s->cbuf. */
static int old_cluster(struct qcow2 *s, uint64_t vbase, uint64_t entry)
{
	struct iovec v = { .iov_base = s->cbuf, .iov_len = s->cluster_size };
	struct iovec t;
	struct req q = { .iov = &v, .cnt = 1, .tmp = &t };

	return read_piece(s, vbase, entry, &q, 0, s->cluster_size);
}

/* Write request bytes [pos, pos + len) (data == NULL: zeroes) at vaddr,
 * inside one cluster. */
static int write_piece(struct qcow2 *s, uint64_t vaddr, const struct req *q, size_t pos,
		       size_t len)
{
	uint64_t cs = s->cluster_size, in = vaddr & (cs - 1), vbase = vaddr - in;
	uint64_t entry, host, target;
	enum qcow2_ctype type;
	struct qcow2_l2ref ref;
	bool reuse;
	int r;

	if (s->broken)
		return -EIO;
	r = qcow2__l2_lookup(s, vaddr, &entry);
	if (r == 0)
		r = qcow2__classify(s, entry, &type, &host);
	if (r < 0)
		return r;
	if (type == QCOW2_NORMAL && (entry & QCOW2_OFLAG_COPIED))
		return xfer(s, q->tmp, piece(q, pos, len), host + in, true);

	r = qcow2__l2_for_write(s, vaddr, &ref);
	if (r < 0)
		return r;
	reuse = type == QCOW2_ZERO_ALLOC && (entry & QCOW2_OFLAG_COPIED);
	if (reuse) {
		target = host;
	} else {
		r = qcow2__alloc_cluster(s, &target);
		if (r < 0)
			return r;
	}
	if (len == cs) {
		r = xfer(s, q->tmp, piece(q, pos, len), target, true);
	} else {
		if (reuse)
			memset(s->cbuf, 0, cs);
		else
			r = old_cluster(s, vbase, entry);
		if (r == 0) {
			iov__to_buf(q->iov, q->cnt, pos, s->cbuf + in, len);
			r = qcow2__pwrite(s, s->cbuf, cs, target);
		}
	}
	if (r < 0)
		return r;      /* target leaks if it was new: harmless */
	qcow2__l2_set(s, &ref, target | QCOW2_OFLAG_COPIED);
	if (!reuse)
		r = qcow2__release_entry(s, type, host, entry);
	return r;
}

/* ---- the ops ---------------------------------------------------------- */

static ssize_t rw(struct disk *d, const struct iovec *iov, int cnt, uint64_t off, bool write)
{
	struct qcow2 *s = d->priv;
	struct req q = { .iov = iov, .cnt = cnt };
	size_t total, pos = 0;
	int r = 0;

	if (cnt <= 0 || cnt > IOV_MAX)
		return cnt == 0 ? 0 : -EINVAL;
	total = iov__len(iov, cnt);
	if (!disk__range_ok(d, off, total))
		return -EINVAL;
	if (write && d->read_only)
		return -EROFS;
	q.tmp = malloc((size_t)cnt * sizeof(*q.tmp));
	if (!q.tmp)
		return -ENOMEM;
	pthread_mutex_lock(&s->lock);
	while (pos < total && r == 0) {
		uint64_t vaddr = off + pos, in = vaddr & (s->cluster_size - 1);
		size_t n = s->cluster_size - in < total - pos ? (size_t)(s->cluster_size - in)
							      : total - pos;
		uint64_t entry;

		if (write) {
			r = write_piece(s, vaddr, &q, pos, n);
		} else {
			r = qcow2__l2_lookup(s, vaddr, &entry);
			if (r == 0)
				r = read_piece(s, vaddr, entry, &q, pos, n);
		}
		if (r == 0 && s->n_pending > QCOW2_MAX_PENDING_FREES)
			r = qcow2__meta_writeback(s);
		pos += n;
	}
	pthread_mutex_unlock(&s->lock);
	free(q.tmp);
	return r < 0 ? r : (ssize_t)total;
}

ssize_t qcow2__preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return rw(d, iov, iovcnt, off, false);
}

ssize_t qcow2__pwritev(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return rw(d, iov, iovcnt, off, true);
}

int qcow2__flush(struct disk *d)
{
	struct qcow2 *s = d->priv;
	int r;

	if (d->read_only)
		return 0;
	pthread_mutex_lock(&s->lock);
	r = qcow2__meta_writeback(s);
	if (r == 0)
		r = qcow2__sync(s);
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Without a backing file, a range with no L2 table reads as zeroes:
 * how many bytes from vaddr (at most len) can be skipped. */
static uint64_t skippable(const struct qcow2 *s, uint64_t vaddr, uint64_t len)
{
	unsigned shift = s->l2_bits + s->cluster_bits;
	uint64_t i = vaddr >> shift, n;

	if (s->backing || i >= s->l1_size || (s->l1[i] & QCOW2_OFFSET_MASK))
		return 0;
	n = ((i + 1) << shift) - vaddr;
	return n < len ? n : len;
}

/* True when the cluster reads as zeroes already. */
static bool reads_zero(const struct qcow2 *s, enum qcow2_ctype type)
{
	return type == QCOW2_ZERO_PLAIN || type == QCOW2_ZERO_ALLOC ||
	       (type == QCOW2_UNALLOC && !s->backing);
}

/* Replace the entry of a whole cluster by 'nentry' (0 or a zero flag),
 * dropping the old cluster. */
static int replace_entry(struct qcow2 *s, uint64_t vaddr, uint64_t old, enum qcow2_ctype type,
			 uint64_t host, uint64_t nentry)
{
	struct qcow2_l2ref ref;
	int r = qcow2__l2_for_write(s, vaddr, &ref);

	if (r < 0)
		return r;
	qcow2__l2_set(s, &ref, nentry);
	return qcow2__release_entry(s, type, host, old);
}

static int zero_cluster(struct qcow2 *s, uint64_t vaddr, bool unmap, const struct req *zq)
{
	uint64_t entry, host;
	enum qcow2_ctype type;
	struct qcow2_l2ref ref;
	int r = qcow2__l2_lookup(s, vaddr, &entry);

	if (r == 0)
		r = qcow2__classify(s, entry, &type, &host);
	if (r < 0)
		return r;
	if (s->version >= 3) {
		if (type == QCOW2_ZERO_PLAIN || (type == QCOW2_UNALLOC && !s->backing) ||
		    (type == QCOW2_ZERO_ALLOC && !unmap))
			return 0;
		if (type == QCOW2_NORMAL && (entry & QCOW2_OFLAG_COPIED) && !unmap) {
			r = qcow2__l2_for_write(s, vaddr, &ref);
			if (r == 0)
				qcow2__l2_set(s, &ref, entry | QCOW2_OFLAG_ZERO);
			return r;
		}
		return replace_entry(s, vaddr, entry, type, host, QCOW2_OFLAG_ZERO);
	}
	if (!s->backing)
		return type == QCOW2_UNALLOC ? 0 : replace_entry(s, vaddr, entry, type, host, 0);
	return write_piece(s, vaddr, zq, 0, s->cluster_size);
}

/* A cluster counts as whole when the range covers it up to the disk end. */
static bool whole(const struct qcow2 *s, uint64_t vaddr, uint64_t n)
{
	return !(vaddr & (s->cluster_size - 1)) &&
	       (n == s->cluster_size || vaddr + n == s->size);
}

int qcow2__write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap)
{
	struct qcow2 *s = d->priv;
	uint8_t *zero;
	struct iovec zv, t;
	struct req zq = { .iov = &zv, .cnt = 1, .tmp = &t };
	uint64_t pos = 0;
	int r = 0;

	if (!disk__range_ok(d, off, len))
		return -EINVAL;
	if (d->read_only)
		return -EROFS;
	zero = calloc(1, s->cluster_size);
	if (!zero)
		return -ENOMEM;
	zv.iov_base = zero;
	zv.iov_len = s->cluster_size;
	pthread_mutex_lock(&s->lock);
	while (pos < len && r == 0) {
		uint64_t vaddr = off + pos, in = vaddr & (s->cluster_size - 1);
		uint64_t n = s->cluster_size - in < len - pos ? s->cluster_size - in : len - pos;
		uint64_t entry, host;
		enum qcow2_ctype type;
		uint64_t skip = skippable(s, vaddr, len - pos);

		if (skip) {
			pos += skip;
			continue;
		}
		if (s->broken) {
			r = -EIO;
		} else if (whole(s, vaddr, n)) {
			r = zero_cluster(s, vaddr, unmap, &zq);
		} else {
			r = qcow2__l2_lookup(s, vaddr, &entry);
			if (r == 0)
				r = qcow2__classify(s, entry, &type, &host);
			if (r == 0 && !reads_zero(s, type))
				r = write_piece(s, vaddr, &zq, 0, (size_t)n);
		}
		if (r == 0 && s->n_pending > QCOW2_MAX_PENDING_FREES)
			r = qcow2__meta_writeback(s);
		pos += n;
	}
	pthread_mutex_unlock(&s->lock);
	free(zero);
	return r;
}

int qcow2__discard(struct disk *d, uint64_t off, uint64_t len)
{
	struct qcow2 *s = d->priv;
	uint64_t pos = 0;
	int r = 0;

	if (!disk__range_ok(d, off, len))
		return -EINVAL;
	if (d->read_only)
		return -EROFS;
	if (s->version < 3 && s->backing)
		return 0;       /* v2 cannot hide the backing data: a no-op */
	pthread_mutex_lock(&s->lock);
	while (pos < len && r == 0) {
		uint64_t vaddr = off + pos, in = vaddr & (s->cluster_size - 1);
		uint64_t n = s->cluster_size - in < len - pos ? s->cluster_size - in : len - pos;
		uint64_t entry, host;
		enum qcow2_ctype type;
		uint64_t skip = skippable(s, vaddr, len - pos);

		if (skip) {
			pos += skip;
			continue;
		}
		if (s->broken) {
			r = -EIO;
		} else if (whole(s, vaddr, n)) {
			r = qcow2__l2_lookup(s, vaddr, &entry);
			if (r == 0)
				r = qcow2__classify(s, entry, &type, &host);
			/* v3 reads back zeroes after it, as with QEMU */
			if (r == 0 && type != QCOW2_ZERO_PLAIN &&
			    !(type == QCOW2_UNALLOC && !s->backing))
				r = replace_entry(s, vaddr, entry, type, host,
						  s->backing ? QCOW2_OFLAG_ZERO : 0);
		}
		if (r == 0 && s->n_pending > QCOW2_MAX_PENDING_FREES)
			r = qcow2__meta_writeback(s);
		pos += n;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}
