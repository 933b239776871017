/* btrfs_file.c — file contents: the EXTENT_DATA items of an inode in
 * file-offset order, turned into bytes for a buffer or a file
 * descriptor. Inline extents (possibly compressed) sit in the leaf;
 * regular ones point at logical disk addresses; prealloc extents, holes
 * (no item, or disk_bytenr 0) and the tail past the last extent read as
 * zeros. A compressed extent is decompressed whole (it is at most
 * 128 KiB either way) and then cut to the part the file uses.
 *
 * Decompression itself is btrfs_decompress.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <endian.h>

#include "vmm/boot/btrfs_priv.h"
#include "vmm/util.h"

#define COPY_CHUNK   (1u << 20)
#define INLINE_START offsetof(struct btrfs_file_extent_item, disk_bytenr)

static const uint8_t zeros[64 * 1024];

struct fread {
	struct btrfs_sink *sink;
	uint64_t size, pos;             /* file size; bytes delivered so far */
	/* Made on first use: most files need one or none of them. */
	uint8_t *chunk;                 /* up to COPY_CHUNK bytes, for fd sinks */
	uint8_t *cbuf, *dbuf;           /* compressed / decompressed extent */
};

static int scratch(struct btrfs_op *op, uint8_t **p, size_t len)
{
	if (!*p)
		*p = malloc(len);
	return *p ? 0 : btrfs__fail(op, -ENOMEM, "out of memory");
}

/* Deliver 'len' bytes at f->pos: from 'data', or zeros when NULL. */
static int put(struct btrfs_op *op, struct fread *f, const uint8_t *data, uint64_t len)
{
	if (f->sink->buf) {
		if (data)
			memcpy(f->sink->buf + f->pos, data, (size_t)len);
		else
			memset(f->sink->buf + f->pos, 0, (size_t)len);
		f->pos += len;
		return 0;
	}
	while (len) {
		size_t n = (size_t)MIN(len, (uint64_t)(data ? COPY_CHUNK : sizeof(zeros)));
		int r = util__write_all(f->sink->fd, data ? data : zeros, n);

		if (r < 0)
			return btrfs__fail(op, r, "cannot copy: %s", strerror(-r));
		if (data)
			data += n;
		len -= n;
		f->pos += n;
	}
	return 0;
}

/* Deliver 'len' bytes read from logical address 'logical'. */
static int put_disk(struct btrfs_op *op, struct fread *f, uint64_t logical, uint64_t len)
{
	if (f->sink->buf) {
		int r = btrfs__read_logical(op, logical, f->sink->buf + f->pos, (size_t)len);

		if (!r)
			f->pos += len;
		return r;
	}
	if (scratch(op, &f->chunk, (size_t)MIN(f->size, (uint64_t)COPY_CHUNK)) < 0)
		return -ENOMEM;
	while (len) {
		size_t n = (size_t)MIN(len, (uint64_t)COPY_CHUNK);
		int r = btrfs__read_logical(op, logical, f->chunk, n);

		if (!r)
			r = put(op, f, f->chunk, n);
		if (r < 0)
			return r;
		logical += n;
		len -= n;
	}
	return 0;
}

static int inline_extent(struct btrfs_op *op, struct fread *f, const struct btrfs_key *key,
			 const uint8_t *data, uint32_t len)
{
	const struct btrfs_file_extent_item *fe = (const void *)data;
	uint64_t ram = le64toh(fe->ram_bytes), want;
	const uint8_t *in = data + INLINE_START;
	uint32_t in_len = len - (uint32_t)INLINE_START;
	int r;

	if (key->offset)
		return btrfs__fail(op, -EIO, "inline extent at file offset %llu",
				   (unsigned long long)key->offset);
	want = MIN(ram, f->size);
	if (fe->compression == BTRFS_COMPRESS_NONE) {
		if (ram != in_len)
			return btrfs__fail(op, -EIO, "inline extent of %u bytes says it holds %llu",
					   in_len, (unsigned long long)ram);
		return put(op, f, in, want);
	}
	if (ram > BTRFS_COMPRESSED_MAX)
		return btrfs__fail(op, -EIO, "compressed inline extent of %llu bytes",
				   (unsigned long long)ram);
	r = scratch(op, &f->dbuf, BTRFS_COMPRESSED_MAX);
	if (!r)
		r = btrfs__decompress(op, fe->compression, in, in_len, f->dbuf, (size_t)ram);
	return r < 0 ? r : put(op, f, f->dbuf, want);
}

static bool aligned(const struct btrfs_op *op, uint64_t v)
{
	return !(v % op->fs->sectorsize);
}

static int regular_extent(struct btrfs_op *op, struct fread *f, const struct btrfs_key *key,
			  const uint8_t *data, uint32_t len)
{
	const struct btrfs_file_extent_item *fe = (const void *)data;
	uint64_t bytenr = le64toh(fe->disk_bytenr), disk = le64toh(fe->disk_num_bytes);
	uint64_t off = le64toh(fe->offset), num = le64toh(fe->num_bytes);
	uint64_t ram = le64toh(fe->ram_bytes), want;
	int r;

	if (len != sizeof(*fe))
		return btrfs__fail(op, -EIO, "file extent item of %u bytes", len);
	if (!num || !aligned(op, bytenr) || !aligned(op, disk) || !aligned(op, off) ||
	    !aligned(op, num) || !aligned(op, ram) || num > UINT64_MAX - key->offset)
		return btrfs__fail(op, -EIO, "file extent at %llu: bad sizes",
				   (unsigned long long)key->offset);
	want = MIN(num, f->size - key->offset);
	if (fe->type == BTRFS_FILE_EXTENT_PREALLOC || !bytenr)
		return put(op, f, NULL, want);
	if (fe->compression == BTRFS_COMPRESS_NONE) {
		if (off > disk || num > disk - off)
			return btrfs__fail(op, -EIO, "file extent at %llu: %llu+%llu beyond its %llu bytes",
					   (unsigned long long)key->offset, (unsigned long long)off,
					   (unsigned long long)num, (unsigned long long)disk);
		return put_disk(op, f, bytenr + off, want);
	}
	if (disk > BTRFS_COMPRESSED_MAX || ram > BTRFS_COMPRESSED_MAX || !disk)
		return btrfs__fail(op, -EIO, "compressed extent at %llu: %llu bytes on disk, %llu in memory",
				   (unsigned long long)key->offset, (unsigned long long)disk,
				   (unsigned long long)ram);
	if (off > ram || num > ram - off)
		return btrfs__fail(op, -EIO, "compressed extent at %llu: %llu+%llu beyond its %llu bytes",
				   (unsigned long long)key->offset, (unsigned long long)off,
				   (unsigned long long)num, (unsigned long long)ram);
	r = scratch(op, &f->cbuf, BTRFS_COMPRESSED_MAX);
	if (!r)
		r = scratch(op, &f->dbuf, BTRFS_COMPRESSED_MAX);
	if (!r)
		r = btrfs__read_logical(op, bytenr, f->cbuf, (size_t)disk);
	if (!r)
		r = btrfs__decompress(op, fe->compression, f->cbuf, (size_t)disk, f->dbuf, (size_t)ram);
	return r < 0 ? r : put(op, f, f->dbuf + off, want);
}

static int extent_item(struct btrfs_op *op, const struct btrfs_key *key, const uint8_t *data,
		       uint32_t len, void *priv)
{
	const struct btrfs_file_extent_item *fe = (const void *)data;
	struct fread *f = priv;
	int r;

	/* Extents past the end (prealloc beyond i_size) do not count. */
	if (key->offset >= f->size)
		return 1;
	if (key->offset < f->pos)
		return btrfs__fail(op, -EIO, "file extents overlap at offset %llu",
				   (unsigned long long)key->offset);
	if (len < INLINE_START)
		return btrfs__fail(op, -EIO, "file extent item of %u bytes", len);
	if (fe->encryption || fe->other_encoding)
		return btrfs__fail(op, -ENOTSUP, "encrypted or encoded extent at offset %llu",
				   (unsigned long long)key->offset);
	if (fe->compression > BTRFS_COMPRESS_ZSTD)
		return btrfs__fail(op, -EIO, "unknown compression type %u at offset %llu",
				   fe->compression, (unsigned long long)key->offset);
	r = put(op, f, NULL, key->offset - f->pos);     /* a hole before it */
	if (r < 0)
		return r;
	switch (fe->type) {
	case BTRFS_FILE_EXTENT_INLINE:
		r = inline_extent(op, f, key, data, len);
		break;
	case BTRFS_FILE_EXTENT_REG:
	case BTRFS_FILE_EXTENT_PREALLOC:
		r = regular_extent(op, f, key, data, len);
		break;
	default:
		r = btrfs__fail(op, -EIO, "unknown extent type %u at offset %llu", fe->type,
				(unsigned long long)key->offset);
	}
	if (r < 0)
		return r;
	return f->pos >= f->size;
}

int btrfs__read_data(struct btrfs_op *op, const struct btrfs_inode *ino, uint64_t size,
		     struct btrfs_sink *sink)
{
	const struct btrfs_key min = { ino->ino, BTRFS_EXTENT_DATA_KEY, 0 };
	const struct btrfs_key max = { ino->ino, BTRFS_EXTENT_DATA_KEY, UINT64_MAX };
	struct fread f = { .sink = sink, .size = size };
	int r = btrfs__tree_search(op, &ino->root, &min, &max, extent_item, &f);

	if (!r)
		r = put(op, &f, NULL, size - f.pos);     /* a hole at the end */
	free(f.cbuf);
	free(f.dbuf);
	free(f.chunk);
	return r;
}

/* Resolve a regular file of at most 'cap' bytes. */
static int open_file(struct btrfs_op *op, const char *path, uint64_t cap,
		     struct btrfs_inode *ino)
{
	int r = btrfs__resolve(op, path, ino);

	if (r < 0)
		return r;
	if (S_ISDIR(ino->mode))
		return btrfs__fail(op, -EISDIR, "is a directory");
	if (!S_ISREG(ino->mode))
		return btrfs__fail(op, -EINVAL, "not a regular file");
	if (ino->size > cap)
		return btrfs__fail(op, -EFBIG, "%llu bytes, more than the %llu allowed",
				   (unsigned long long)ino->size, (unsigned long long)cap);
	return 0;
}

int btrfs__read_file(struct btrfs *fs, const char *path, size_t cap,
		     uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	struct btrfs_op op = { .fs = fs, .what = path, .err = err, .errlen = errlen,
			       .budget = BTRFS_BLOCK_BUDGET };
	struct btrfs_sink sink = { .fd = -1 };
	struct btrfs_inode ino;
	int r = open_file(&op, path, MIN((uint64_t)cap, (uint64_t)SIZE_MAX - 1), &ino);

	if (r < 0)
		return r;
	sink.buf = malloc((size_t)ino.size + 1);
	if (!sink.buf)
		return btrfs__fail(&op, -ENOMEM, "out of memory");
	r = btrfs__read_data(&op, &ino, ino.size, &sink);
	if (r < 0) {
		free(sink.buf);
		return r;
	}
	sink.buf[ino.size] = '\0';
	*buf = sink.buf;
	*len = (size_t)ino.size;
	return 0;
}

int btrfs__read_to_fd(struct btrfs *fs, const char *path, uint64_t cap, int fd,
		      uint64_t *len, char *err, size_t errlen)
{
	struct btrfs_op op = { .fs = fs, .what = path, .err = err, .errlen = errlen,
			       .budget = BTRFS_BLOCK_BUDGET };
	struct btrfs_sink sink = { .fd = fd };
	struct btrfs_inode ino;
	int r = open_file(&op, path, cap, &ino);

	if (!r)
		r = btrfs__read_data(&op, &ino, ino.size, &sink);
	if (!r)
		*len = ino.size;
	return r;
}
