/* qcow2.c — opening a qcow2 image: the header (v2/v3) and its
 * extensions checked field by field against an untrusted file, the L1 and
 * refcount tables loaded, unsupported features refused with one line,
 * the backing chain opened read-only and locked shared (names relative to
 * the image's own directory, regular files only, loops and depth
 * limited, none at all with backing=off), unknown autoclear bits cleared
 * on a read-write open; and closing (metadata written back). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/block/disk_lock.h"
#include "devices/block/disk_raw.h"
#include "devices/block/qcow2.h"
#include "devices/block/qcow2_priv.h"
#include "vmm/log.h"

#define EXT_BACKING_FORMAT 0xe2792acau

bool qcow2__probe(const void *head, size_t len)
{
	const unsigned char *h = head;

	return len >= 4 && h[0] == 'Q' && h[1] == 'F' && h[2] == 'I' && h[3] == 0xfb;
}

/* What the header says, before it is trusted. */
struct hdr {
	uint32_t version, cluster_bits, crypt, l1_size, rt_clusters, nb_snapshots;
	uint32_t header_length, refcount_order, backing_size;
	uint64_t backing_offset, size, l1_offset, rt_offset;
	uint64_t incompat, autoclear;
	uint8_t compression;
	char backing[1024];
	char backing_fmt[16];
};

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "disk image %s: %s", path, msg);
	return -1;
}

static int parse_extensions(const uint8_t *h, uint64_t cs, uint32_t start, struct hdr *x,
			    const char *path, char *err, size_t errlen)
{
	uint64_t off = start;

	while (off + 8 <= cs) {
		uint32_t type = qcow2_be32(h + off), len = qcow2_be32(h + off + 4);

		off += 8;
		if (type == 0)
			return 0;
		if (len > cs - off)
			return fail(err, errlen, path, "header extension 0x%x runs past the first cluster",
				    type);
		if (type == EXT_BACKING_FORMAT) {
			size_t n = len < sizeof(x->backing_fmt) - 1 ? len : sizeof(x->backing_fmt) - 1;

			memcpy(x->backing_fmt, h + off, n);
			x->backing_fmt[n] = 0;
		}
		off += ((uint64_t)len + 7) & ~7ull;
	}
	return 0;
}

/* Read and check the header; fills x and the geometry of s. */
static int read_header(struct qcow2 *s, struct hdr *x, bool ro, const char *path, char *err,
		       size_t errlen)
{
	uint8_t b[112] = { 0 }, *h;
	uint64_t cs, need, shift;
	int r;

	if (s->file_end < 72 || qcow2__pread(s, b, sizeof(b), 0) < 0)
		return fail(err, errlen, path, "too short for a qcow2 header");
	if (qcow2_be32(b) != QCOW2_MAGIC)
		return fail(err, errlen, path, "not a qcow2 image (bad magic)");
	x->version = qcow2_be32(b + 4);
	x->backing_offset = qcow2_be64(b + 8);
	x->backing_size = qcow2_be32(b + 16);
	x->cluster_bits = qcow2_be32(b + 20);
	x->size = qcow2_be64(b + 24);
	x->crypt = qcow2_be32(b + 32);
	x->l1_size = qcow2_be32(b + 36);
	x->l1_offset = qcow2_be64(b + 40);
	x->rt_offset = qcow2_be64(b + 48);
	x->rt_clusters = qcow2_be32(b + 56);
	x->nb_snapshots = qcow2_be32(b + 60);
	x->header_length = 72;
	x->refcount_order = 4;
	if (x->version != 2 && x->version != 3)
		return fail(err, errlen, path, "unsupported qcow2 version %u", x->version);
	if (x->cluster_bits < QCOW2_MIN_CLUSTER_BITS || x->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return fail(err, errlen, path, "cluster_bits %u out of range (9..21)",
			    x->cluster_bits);
	cs = 1ull << x->cluster_bits;
	if (x->version == 3) {
		x->incompat = qcow2_be64(b + 72);
		x->autoclear = qcow2_be64(b + 88);
		x->refcount_order = qcow2_be32(b + 96);
		x->header_length = qcow2_be32(b + 100);
		if (x->header_length < 104 || x->header_length % 8 || x->header_length > cs ||
		    x->header_length > s->file_end)
			return fail(err, errlen, path, "bad header length %u", x->header_length);
		if (x->header_length > 104)
			x->compression = b[104];
		if (x->refcount_order > 6)
			return fail(err, errlen, path, "refcount_order %u out of range (0..6)",
				    x->refcount_order);
	}
	if (x->crypt)
		return fail(err, errlen, path, "is encrypted (method %u), which is not supported",
			    x->crypt);
	if (x->incompat & ~QCOW2_INCOMPAT_KNOWN)
		return fail(err, errlen, path, "unknown incompatible feature bits 0x%" PRIx64,
			    x->incompat & ~QCOW2_INCOMPAT_KNOWN);
	if (x->incompat & QCOW2_INCOMPAT_DATA_FILE)
		return fail(err, errlen, path, "uses an external data file, which is not supported");
	if (x->incompat & QCOW2_INCOMPAT_EXTL2)
		return fail(err, errlen, path, "uses extended L2 entries, which are not supported");
	if ((x->incompat & QCOW2_INCOMPAT_COMPRESSION) ? x->compression != QCOW2_COMP_ZSTD
							: x->compression != QCOW2_COMP_ZLIB)
		return fail(err, errlen, path, "unsupported compression type %u", x->compression);
	if (!ro && (x->incompat & QCOW2_INCOMPAT_DIRTY))
		return fail(err, errlen, path, "was not closed cleanly; run qemu-img check -r all");
	if (!ro && (x->incompat & QCOW2_INCOMPAT_CORRUPT))
		return fail(err, errlen, path, "is marked corrupt; run qemu-img check -r all");
	if (!ro && x->nb_snapshots)
		return fail(err, errlen, path,
			    "has %u internal snapshots; it can only be opened read-only",
			    x->nb_snapshots);

	/* L1: big enough for the virtual size, bounded, inside the file */
	shift = x->cluster_bits - 3 + x->cluster_bits;
	need = (x->size >> shift) + !!(x->size & ((1ull << shift) - 1));
	if (need > QCOW2_MAX_L1_BYTES / 8 || x->l1_size > QCOW2_MAX_L1_BYTES / 8)
		return fail(err, errlen, path, "L1 table too large (virtual size %" PRIu64 ")",
			    x->size);
	if (x->l1_size < need)
		return fail(err, errlen, path, "L1 table (%u entries) too small for the virtual size",
			    x->l1_size);
	if (x->l1_size && ((x->l1_offset & (cs - 1)) || x->l1_offset < cs))
		return fail(err, errlen, path, "L1 table offset 0x%" PRIx64 " is invalid",
			    x->l1_offset);
	if (x->l1_size && (x->l1_offset > s->file_end ||
			   (uint64_t)x->l1_size * 8 > s->file_end - x->l1_offset))
		return fail(err, errlen, path, "L1 table offset 0x%" PRIx64
			    " is beyond the end of the file", x->l1_offset);
	/* refcount table */
	if (!x->rt_clusters || (uint64_t)x->rt_clusters * cs > QCOW2_MAX_REFTABLE_BYTES)
		return fail(err, errlen, path, "bad refcount table size (%u clusters)",
			    x->rt_clusters);
	if ((x->rt_offset & (cs - 1)) || x->rt_offset < cs)
		return fail(err, errlen, path, "refcount table offset 0x%" PRIx64 " is invalid",
			    x->rt_offset);
	if (x->rt_offset >= s->file_end ||
	    (uint64_t)x->rt_clusters * cs > ((s->file_end + cs - 1) & ~(cs - 1)) - x->rt_offset)
		return fail(err, errlen, path, "refcount table offset 0x%" PRIx64
			    " is beyond the end of the file", x->rt_offset);

	/* the rest of the first cluster: extensions, backing file name */
	h = calloc(1, cs);
	if (!h)
		return fail(err, errlen, path, "out of memory");
	r = qcow2__pread(s, h, cs, 0);
	if (r == 0)
		r = parse_extensions(h, cs, x->header_length, x, path, err, errlen);
	else
		fail(err, errlen, path, "cannot read the header: %s", strerror(-r));
	if (r == 0 && x->backing_offset) {
		if (x->backing_size == 0 || x->backing_size > 1023 || x->backing_offset > cs ||
		    x->backing_size > cs - x->backing_offset) {
			r = fail(err, errlen, path, "bad backing file name (offset 0x%" PRIx64
				 ", %u bytes)", x->backing_offset, x->backing_size);
		} else {
			memcpy(x->backing, h + x->backing_offset, x->backing_size);
			x->backing[x->backing_size] = 0;
			if (strlen(x->backing) != x->backing_size)
				r = fail(err, errlen, path, "backing file name contains a NUL byte");
		}
	}
	free(h);
	return r < 0 ? -1 : 0;
}

/* The images opened so far in one chain, top first: a backing file that
 * is one of them is a loop. */
struct chain {
	unsigned n;
	bool allow_backing;         /* false: backing=off */
	dev_t dev[QCOW2_MAX_BACKING_DEPTH];
	ino_t ino[QCOW2_MAX_BACKING_DEPTH];
};

static struct disk *open_depth(int fd, const char *path, bool ro, struct chain *c, char *err,
			       size_t errlen);

static const char *file_kind(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" :
	       S_ISBLK(m) ? "a block device" : S_ISDIR(m) ? "a directory" :
	       S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/* The backing file 'full' read-only and locked shared, or -1 with err.
 * Its name comes from the image, which may have been downloaded or
 * written by a guest, so only a regular file is followed: opening a FIFO
 * blocks, some devices act when opened (a tape rewinds, a watchdog
 * arms), and a directory or a host block device is no backing image
 * anyone meant. O_PATH looks without opening; the real open goes through
 * /proc/self/fd, so it opens the inode that was checked. */
static int open_backing_fd(const char *full, const char *path, const struct chain *c,
			   char *err, size_t errlen)
{
	struct stat st, st2;
	char proc[32];
	int pfd, fd, fl;

	pfd = open(full, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		int e = errno;

		return fail(err, errlen, path, "backing file %s %s", full,
			    e == ENOENT ? "not found" : strerror(e));
	}
	if (fstat(pfd, &st) < 0) {
		fail(err, errlen, path, "backing file %s: %s", full, strerror(errno));
		goto fail_path;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, path, "backing file %s is %s; only regular files are followed",
		     full, file_kind(st.st_mode));
		goto fail_path;
	}
	for (unsigned i = 0; i < c->n; i++) {
		if (c->dev[i] == st.st_dev && c->ino[i] == st.st_ino) {
			fail(err, errlen, path, "backing file %s is an image of this chain already "
			     "(a loop)", full);
			goto fail_path;
		}
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)          /* no /proc: by name, checked below */
		fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		fail(err, errlen, path, "backing file %s: %s", full, strerror(errno));
		goto fail_path;
	}
	close(pfd);
	if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino ||
	    (fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		close(fd);
		return fail(err, errlen, path, "backing file %s changed while it was opened", full);
	}
	if (disk_lock__take(fd, full, false, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
fail_path:
	close(pfd);
	return -1;
}

static int open_backing(struct qcow2 *s, const struct hdr *x, const char *path,
			struct chain *c, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	bool qcow2;
	char *full;
	int fd;

	if (!c->allow_backing)
		return fail(err, errlen, path, "names a backing file (%s), and backing=off was given",
			    x->backing);
	if (c->n >= QCOW2_MAX_BACKING_DEPTH)
		return fail(err, errlen, path, "backing chain longer than %d images",
			    QCOW2_MAX_BACKING_DEPTH);
	if (x->backing[0] == '/' || !slash) {
		full = strdup(x->backing);
	} else if (asprintf(&full, "%.*s/%s", (int)(slash - path), path, x->backing) < 0) {
		full = NULL;
	}
	if (!full)
		return fail(err, errlen, path, "out of memory");
	fd = open_backing_fd(full, path, c, err, errlen);
	if (fd < 0) {
		free(full);
		return -1;
	}
	if (!strcmp(x->backing_fmt, "qcow2")) {
		qcow2 = true;
	} else if (!strcmp(x->backing_fmt, "raw")) {
		qcow2 = false;
	} else {
		unsigned char m[DISK_PROBE_BYTES];
		ssize_t n = pread(fd, m, sizeof(m), 0);

		qcow2 = n > 0 && disk__probe(m, (size_t)n) == DISK_FORMAT_QCOW2;
	}
	/* a failure below names the backing file itself */
	s->backing = qcow2 ? open_depth(fd, full, true, c, err, errlen)
			   : disk_raw__open(fd, full, true, err, errlen);
	free(full);
	return s->backing ? 0 : -1;
}

static void free_state(struct qcow2 *s)
{
	if (s->backing)
		disk__close(s->backing);
	qcow2_cache__free(&s->l2_cache);
	qcow2_cache__free(&s->rb_cache);
	qcow2__compress_free(s);
	free(s->l1);
	free(s->rt);
	free(s->pending);
	free(s->cbuf);
	free(s->zin);
	free(s->zout);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static unsigned clamp(uint64_t v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : (unsigned)v;
}

/* Load the tables and buffers once the header is known good. */
static int load(struct qcow2 *s, const struct hdr *x, const char *path, char *err,
		size_t errlen)
{
	uint64_t cs = s->cluster_size, rtb = (uint64_t)x->rt_clusters * cs;
	uint8_t *buf;
	int r;

	s->l1 = calloc(x->l1_size ? x->l1_size : 1, sizeof(*s->l1));
	s->rt = calloc(rtb / 8, sizeof(*s->rt));
	buf = malloc(rtb > (uint64_t)x->l1_size * 8 ? rtb : (uint64_t)x->l1_size * 8);
	s->cbuf = malloc(cs);
	s->zin = malloc(2 * cs);
	s->zout = malloc(cs);
	if (!s->l1 || !s->rt || !buf || !s->cbuf || !s->zin || !s->zout ||
	    qcow2_cache__init(&s->l2_cache, clamp((2u << 20) / cs, 4, 256), cs) < 0 ||
	    qcow2_cache__init(&s->rb_cache, clamp((1u << 20) / cs, 4, 64), cs) < 0) {
		free(buf);
		return fail(err, errlen, path, "out of memory");
	}
	r = qcow2__pread(s, buf, (size_t)x->l1_size * 8, x->l1_offset);
	for (uint32_t i = 0; r == 0 && i < x->l1_size; i++)
		s->l1[i] = qcow2_be64(buf + 8 * i);
	if (r == 0)
		r = qcow2__pread(s, buf, rtb, x->rt_offset);
	for (uint64_t i = 0; r == 0 && i < rtb / 8; i++)
		s->rt[i] = qcow2_be64(buf + 8 * i);
	free(buf);
	if (r < 0)
		return fail(err, errlen, path, "cannot read its tables: %s", strerror(-r));
	return 0;
}

static void qcow2_close(struct disk *d)
{
	struct qcow2 *s = d->priv;
	int r;

	if (!s)
		return;
	if (!d->read_only && !s->broken) {
		r = qcow2__meta_writeback(s);
		if (r == 0)
			r = qcow2__sync(s);
		if (r < 0)
			pr_err("disk image %s: writing metadata back on close: %s", d->path,
			       strerror(-r));
	}
	free_state(s);
	d->priv = NULL;
}

static const struct disk_ops qcow2_ops = {
	.preadv = qcow2__preadv,
	.pwritev = qcow2__pwritev,
	.flush = qcow2__flush,
	.discard = qcow2__discard,
	.write_zeroes = qcow2__write_zeroes,
	.close = qcow2_close,
};

static struct disk *open_depth(int fd, const char *path, bool ro, struct chain *c, char *err,
			       size_t errlen)
{
	struct qcow2 *s = calloc(1, sizeof(*s));
	struct disk *d = disk__alloc(path, "qcow2");
	struct hdr *x = calloc(1, sizeof(*x));
	struct stat st;

	if (!s || !d || !x) {
		fail(err, errlen, path, "out of memory");
		free(s);
		s = NULL;
		goto fail;
	}
	s->fd = fd;
	s->path = d->path;
	s->read_only = ro;
	pthread_mutex_init(&s->lock, NULL);
	if (fstat(fd, &st) < 0) {
		fail(err, errlen, path, "%s", strerror(errno));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &s->file_end) < 0) {
			fail(err, errlen, path, "cannot read its size: %s", strerror(errno));
			goto fail;
		}
	} else if (S_ISREG(st.st_mode)) {
		s->file_end = (uint64_t)st.st_size;
	} else {
		fail(err, errlen, path, "is not a regular file or block device");
		goto fail;
	}
	c->dev[c->n] = st.st_dev;
	c->ino[c->n] = st.st_ino;
	c->n++;
	if (read_header(s, x, ro, path, err, errlen) < 0)
		goto fail;
	s->version = x->version;
	s->cluster_bits = x->cluster_bits;
	s->cluster_size = 1ull << x->cluster_bits;
	s->l2_bits = x->cluster_bits - 3;
	s->refcount_order = x->refcount_order;
	s->rb_bits = x->cluster_bits + 3 - x->refcount_order;
	s->size = x->size;
	s->compression = x->compression;
	s->csize_shift = 62 - (x->cluster_bits - 8);
	s->csize_mask = (1ull << (x->cluster_bits - 8)) - 1;
	s->coffset_mask = (1ull << s->csize_shift) - 1;
	s->l1_size = x->l1_size;
	s->l1_offset = x->l1_offset;
	s->rt_offset = x->rt_offset;
	s->rt_clusters = x->rt_clusters;
	s->rt_entries = (uint64_t)x->rt_clusters * s->cluster_size / 8;
	s->end_cluster = (s->file_end + s->cluster_size - 1) >> s->cluster_bits;
	if (load(s, x, path, err, errlen) < 0)
		goto fail;
	if (!ro && qcow2__check(s, err, errlen) < 0)
		goto fail;
	if (x->backing[0] && open_backing(s, x, path, c, err, errlen) < 0)
		goto fail;
	if (!ro && x->autoclear) {
		uint8_t zero[8] = { 0 };
		int r;

		/* we maintain none of the autoclear features (bitmaps) */
		r = qcow2__pwrite(s, zero, sizeof(zero), 88);
		if (r == 0)
			r = qcow2__sync(s);
		if (r < 0) {
			fail(err, errlen, path, "cannot clear the autoclear bits: %s", strerror(-r));
			goto fail;
		}
	}
	free(x);
	d->ops = &qcow2_ops;
	d->priv = s;
	d->backing = s->backing;
	d->size = s->size;
	d->read_only = ro;
	d->block_size = 512;
	return d;
fail:
	free(x);
	if (s)
		free_state(s);
	else
		close(fd);
	if (d) {
		free(d->path);
		free(d);
	}
	return NULL;
}

struct disk *qcow2__open(int fd, const char *path, bool read_only, bool allow_backing,
			 char *err, size_t errlen)
{
	struct chain c = { .allow_backing = allow_backing };

	return open_depth(fd, path, read_only, &c, err, errlen);
}
