/* extfs.c — read files from an ext2/3/4 filesystem inside a disk image
 * with libext2fs. The filesystem is reached through a private io_manager
 * whose reads go to disk__pread at the partition's offset, bounded by the
 * partition's size; every write entry point refuses (EXT2_ET_RO_FILSYS)
 * and the filesystem is opened without EXT2_FLAG_RW.
 *
 * Passing the disk to the io_manager: ext2fs_open2() hands the manager's
 * open() nothing but a name string, so the name carries the address of
 * the caller-owned 'struct extfs_src' ("vmm-extfs:0x..."), checked by a
 * magic number on the way in. The manager is static to this file and
 * only ever sees names made here, so no registry (and no global mutable
 * state) is needed and concurrent opens of different disks are safe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ext2fs/ext2fs.h>

#include "devices/block/disk.h"
#include "vmm/boot/extfs.h"
#include "vmm/util.h"

#define EXTFS_SRC_MAGIC   0x76657866u        /* "vexf" */
#define EXTFS_NAME_PREFIX "vmm-extfs:"
#define EXT_MAGIC_OFF     1080
#define COPY_CHUNK        (1u << 20)
#define MAX_BLOCK_SIZE    (64 * 1024)

struct extfs_src {
	uint32_t magic;
	struct disk *d;
	uint64_t offset, size;
};

struct extfs {
	ext2_filsys fs;
	struct extfs_src src;
	char kind[5];
	char label[17];
};

/* ---- io_manager --------------------------------------------------- */

static struct struct_io_manager extfs_io_manager;

static errcode_t io_open(const char *name, int flags, io_channel *channel)
{
	struct extfs_src *src = NULL;
	io_channel io;
	int n = 0;

	if (flags & IO_FLAG_RW)
		return EXT2_ET_RO_FILSYS;
	if (!name || strncmp(name, EXTFS_NAME_PREFIX, strlen(EXTFS_NAME_PREFIX)) ||
	    sscanf(name + strlen(EXTFS_NAME_PREFIX), "%p%n", (void **)&src, &n) != 1 ||
	    name[strlen(EXTFS_NAME_PREFIX) + n] || !src || src->magic != EXTFS_SRC_MAGIC)
		return EXT2_ET_BAD_DEVICE_NAME;
	io = calloc(1, sizeof(*io));
	if (!io)
		return EXT2_ET_NO_MEMORY;
	io->name = strdup(name);
	if (!io->name) {
		free(io);
		return EXT2_ET_NO_MEMORY;
	}
	io->magic = EXT2_ET_MAGIC_IO_CHANNEL;
	io->manager = &extfs_io_manager;
	io->block_size = 1024;
	io->refcount = 1;
	io->private_data = src;
	*channel = io;
	return 0;
}

static errcode_t io_close(io_channel io)
{
	if (--io->refcount > 0)
		return 0;
	free(io->name);
	free(io);
	return 0;
}

static errcode_t io_set_blksize(io_channel io, int blksize)
{
	if (blksize <= 0 || blksize > MAX_BLOCK_SIZE)
		return EXT2_ET_INVALID_ARGUMENT;
	io->block_size = blksize;
	return 0;
}

/* count > 0: blocks; count < 0: -count bytes (libext2fs convention). */
static errcode_t io_read_blk64(io_channel io, unsigned long long block, int count, void *data)
{
	const struct extfs_src *src = io->private_data;
	uint64_t bs = (uint64_t)io->block_size, len, off;
	ssize_t n;

	len = count < 0 ? (uint64_t)-(int64_t)count : (uint64_t)count * bs;
	if (block > UINT64_MAX / bs)
		return EXT2_ET_SHORT_READ;
	off = block * bs;
	if (off > src->size || len > src->size - off) {
		memset(data, 0, len);
		return EXT2_ET_SHORT_READ;
	}
	if (!len)
		return 0;
	n = disk__pread(src->d, data, len, src->offset + off);
	if (n < 0)
		return (errcode_t)-n;
	return (uint64_t)n == len ? 0 : EXT2_ET_SHORT_READ;
}

static errcode_t io_read_blk(io_channel io, unsigned long block, int count, void *data)
{
	return io_read_blk64(io, block, count, data);
}

static errcode_t io_write_blk64(io_channel io, unsigned long long block, int count,
				const void *data)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t io_write_blk(io_channel io, unsigned long block, int count, const void *data)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t io_write_byte(io_channel io, unsigned long off, int count, const void *data)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t io_range_ro(io_channel io, unsigned long long block, unsigned long long count)
{
	return EXT2_ET_RO_FILSYS;
}

static errcode_t io_flush(io_channel io)
{
	return 0;
}

static errcode_t io_set_option(io_channel io, const char *option, const char *arg)
{
	return EXT2_ET_INVALID_ARGUMENT;
}

static struct struct_io_manager extfs_io_manager = {
	.magic = EXT2_ET_MAGIC_IO_MANAGER,
	.name = "vmm disk I/O manager",
	.open = io_open,
	.close = io_close,
	.set_blksize = io_set_blksize,
	.read_blk = io_read_blk,
	.write_blk = io_write_blk,
	.flush = io_flush,
	.write_byte = io_write_byte,
	.set_option = io_set_option,
	.read_blk64 = io_read_blk64,
	.write_blk64 = io_write_blk64,
	.discard = io_range_ro,
	.zeroout = io_range_ro,
};

/* ---- errors ------------------------------------------------------- */

/* libext2fs's com_err table is not registered (that would be global
 * state), so the codes this reader can meet are named here. */
static const char *ext_strerror(errcode_t e, char *buf, size_t len)
{
	static const struct { errcode_t code; const char *msg; } known[] = {
		{ EXT2_ET_BAD_MAGIC, "bad superblock magic" },
		{ EXT2_ET_CORRUPT_SUPERBLOCK, "corrupt superblock" },
		{ EXT2_ET_SB_CSUM_INVALID, "superblock checksum does not match" },
		{ EXT2_ET_BAD_DESC_SIZE, "bad group descriptor size" },
		{ EXT2_ET_GDESC_BAD_BLOCK_MAP, "corrupt group descriptor" },
		{ EXT2_ET_GDESC_BAD_INODE_MAP, "corrupt group descriptor" },
		{ EXT2_ET_GDESC_BAD_INODE_TABLE, "corrupt group descriptor" },
		{ EXT2_ET_UNKNOWN_CSUM, "unknown checksum algorithm" },
		{ EXT2_ET_UNSUPP_FEATURE, "unsupported filesystem feature" },
		{ EXT2_ET_REV_TOO_HIGH, "filesystem revision too high" },
		{ EXT2_ET_SHORT_READ, "read beyond the end of the partition" },
		{ EXT2_ET_RO_FILSYS, "read-only" },
		{ EXT2_ET_FILE_NOT_FOUND, "no such file" },
		{ EXT2_ET_NO_DIRECTORY, "not a directory" },
		{ EXT2_ET_SYMLINK_LOOP, "too many levels of symbolic links" },
		{ EXT2_ET_BAD_INODE_NUM, "bad inode number" },
		{ EXT2_ET_INODE_CSUM_INVALID, "inode checksum does not match" },
		{ EXT2_ET_EXTENT_HEADER_BAD, "corrupt extent header" },
		{ EXT2_ET_EXTENT_CSUM_INVALID, "extent block checksum does not match" },
		{ EXT2_ET_DIR_CORRUPTED, "corrupt directory" },
		{ EXT2_ET_DIR_CSUM_INVALID, "directory block checksum does not match" },
		{ EXT2_ET_NO_MEMORY, "out of memory" },
	};

	if (e > 0 && e < 4096)
		return strerror((int)e);
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if (known[i].code == e)
			return known[i].msg;
	snprintf(buf, len, "libext2fs error %ld", (long)e);
	return buf;
}

static int ext_errno(errcode_t e)
{
	if (e > 0 && e < 4096)
		return -(int)e;
	switch (e) {
	case EXT2_ET_FILE_NOT_FOUND: return -ENOENT;
	case EXT2_ET_NO_DIRECTORY: return -ENOTDIR;
	case EXT2_ET_SYMLINK_LOOP: return -ELOOP;
	case EXT2_ET_NO_MEMORY: return -ENOMEM;
	default: return -EIO;
	}
}

static int ext_fail(errcode_t e, const char *path, char *err, size_t errlen)
{
	char buf[48];

	snprintf(err, errlen, "%s: %s", path, ext_strerror(e, buf, sizeof(buf)));
	return ext_errno(e);
}

/* ---- filesystem --------------------------------------------------- */

bool extfs__probe(struct disk *d, uint64_t offset, uint64_t size)
{
	uint8_t m[2];

	if (size < EXT_MAGIC_OFF + 2 || !disk__range_ok(d, offset, size))
		return false;
	if (disk__pread(d, m, 2, offset + EXT_MAGIC_OFF) != 2)
		return false;
	return m[0] == 0x53 && m[1] == 0xef;
}

static void set_kind(struct extfs *x)
{
	struct ext2_super_block *sb = x->fs->super;

	if (ext2fs_has_feature_extents(sb) || ext2fs_has_feature_64bit(sb) ||
	    ext2fs_has_feature_flex_bg(sb) || ext2fs_has_feature_huge_file(sb) ||
	    ext2fs_has_feature_metadata_csum(sb) || ext2fs_has_feature_gdt_csum(sb) ||
	    ext2fs_has_feature_dir_nlink(sb) || ext2fs_has_feature_extra_isize(sb) ||
	    ext2fs_has_feature_inline_data(sb))
		strcpy(x->kind, "ext4");
	else if (ext2fs_has_feature_journal(sb))
		strcpy(x->kind, "ext3");
	else
		strcpy(x->kind, "ext2");
	memcpy(x->label, sb->s_volume_name, sizeof(sb->s_volume_name));
	x->label[sizeof(sb->s_volume_name)] = '\0';
}

struct extfs *extfs__open(struct disk *d, uint64_t offset, uint64_t size,
			  char *err, size_t errlen)
{
	struct extfs *x;
	char name[64], buf[48];
	errcode_t e;

	if (!disk__range_ok(d, offset, size)) {
		snprintf(err, errlen, "%s: filesystem range %llu+%llu lies beyond the end of the disk",
			 d->path, (unsigned long long)offset, (unsigned long long)size);
		return NULL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "%s: out of memory", d->path);
		return NULL;
	}
	x->src = (struct extfs_src){ .magic = EXTFS_SRC_MAGIC, .d = d, .offset = offset, .size = size };
	snprintf(name, sizeof(name), EXTFS_NAME_PREFIX "%p", (void *)&x->src);
	e = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS, 0, 0, &extfs_io_manager, &x->fs);
	if (e) {
		snprintf(err, errlen, "%s: ext2/3/4 filesystem at byte %llu: %s", d->path,
			 (unsigned long long)offset, ext_strerror(e, buf, sizeof(buf)));
		free(x);
		return NULL;
	}
	set_kind(x);
	return x;
}

void extfs__close(struct extfs *fs)
{
	if (!fs)
		return;
	ext2fs_close_free(&fs->fs);
	fs->src.magic = 0;
	free(fs);
}

const char *extfs__kind(const struct extfs *fs)
{
	return fs->kind;
}

const char *extfs__label(const struct extfs *fs)
{
	return fs->label;
}

/* Resolve 'path' (links followed) and read its inode. */
static int lookup(struct extfs *x, const char *path, ext2_ino_t *ino,
		  struct ext2_inode *inode, char *err, size_t errlen)
{
	errcode_t e;

	e = ext2fs_namei_follow(x->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, ino);
	if (!e)
		e = ext2fs_read_inode(x->fs, *ino, inode);
	if (e)
		return ext_fail(e, path, err, errlen);
	return 0;
}

int extfs__stat(struct extfs *fs, const char *path, enum extfs_type *type,
		uint64_t *size, char *err, size_t errlen)
{
	struct ext2_inode inode;
	ext2_ino_t ino;
	int r = lookup(fs, path, &ino, &inode, err, errlen);

	if (r < 0)
		return r;
	*type = LINUX_S_ISREG(inode.i_mode) ? EXTFS_FILE :
		LINUX_S_ISDIR(inode.i_mode) ? EXTFS_DIR : EXTFS_OTHER;
	if (size)
		*size = EXT2_I_SIZE(&inode);
	return 0;
}

/* Open a regular file of at most 'cap' bytes. */
static int open_file(struct extfs *x, const char *path, uint64_t cap, ext2_file_t *file,
		     uint64_t *size, char *err, size_t errlen)
{
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t e;
	int r = lookup(x, path, &ino, &inode, err, errlen);

	if (r < 0)
		return r;
	if (LINUX_S_ISDIR(inode.i_mode))
		return util__fail(err, errlen, "%s: is a directory", path), -EISDIR;
	if (!LINUX_S_ISREG(inode.i_mode))
		return util__fail(err, errlen, "%s: not a regular file", path), -EINVAL;
	*size = EXT2_I_SIZE(&inode);
	if (*size > cap)
		return util__fail(err, errlen, "%s: %llu bytes, more than the %llu allowed", path,
				  (unsigned long long)*size, (unsigned long long)cap), -EFBIG;
	e = ext2fs_file_open2(x->fs, ino, &inode, 0, file);
	if (e)
		return ext_fail(e, path, err, errlen);
	return 0;
}

/* Read exactly 'len' bytes at the file's position. */
static int read_exact(ext2_file_t file, void *buf, size_t len, const char *path,
		      char *err, size_t errlen)
{
	size_t done = 0;

	while (done < len) {
		unsigned int want = (unsigned int)MIN(len - done, (size_t)COPY_CHUNK), got = 0;
		errcode_t e = ext2fs_file_read(file, (uint8_t *)buf + done, want, &got);

		if (e)
			return ext_fail(e, path, err, errlen);
		if (!got)
			return util__fail(err, errlen, "%s: file ends early (%zu of %zu bytes)",
					  path, done, len), -EIO;
		done += got;
	}
	return 0;
}

int extfs__read_file(struct extfs *fs, const char *path, size_t cap,
		     uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	ext2_file_t file;
	uint64_t size;
	uint8_t *b;
	int r = open_file(fs, path, cap, &file, &size, err, errlen);

	if (r < 0)
		return r;
	b = malloc((size_t)size + 1);
	if (!b) {
		ext2fs_file_close(file);
		return util__fail(err, errlen, "%s: out of memory", path), -ENOMEM;
	}
	r = read_exact(file, b, (size_t)size, path, err, errlen);
	ext2fs_file_close(file);
	if (r < 0) {
		free(b);
		return r;
	}
	b[size] = '\0';
	*buf = b;
	*len = (size_t)size;
	return 0;
}

int extfs__read_to_fd(struct extfs *fs, const char *path, uint64_t cap, int fd,
		      uint64_t *len, char *err, size_t errlen)
{
	ext2_file_t file;
	uint64_t size, done = 0;
	uint8_t *chunk;
	int r = open_file(fs, path, cap, &file, &size, err, errlen);

	if (r < 0)
		return r;
	chunk = malloc(COPY_CHUNK);
	if (!chunk) {
		ext2fs_file_close(file);
		return util__fail(err, errlen, "%s: out of memory", path), -ENOMEM;
	}
	while (done < size) {
		size_t n = (size_t)MIN(size - done, (uint64_t)COPY_CHUNK);

		r = read_exact(file, chunk, n, path, err, errlen);
		if (r < 0)
			break;
		r = util__write_all(fd, chunk, n);
		if (r < 0) {
			util__fail(err, errlen, "%s: cannot copy: %s", path, strerror(-r));
			break;
		}
		done += n;
	}
	free(chunk);
	ext2fs_file_close(file);
	if (r < 0)
		return r;
	*len = size;
	return 0;
}

struct list_ctx {
	char **names;
	size_t count, cap, max;
	bool truncated, nomem;
};

static int list_cb(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
		   int blocksize, char *buf, void *priv)
{
	struct list_ctx *c = priv;
	int n = ext2fs_dirent_name_len(dirent);

	if (!dirent->inode || (n == 1 && dirent->name[0] == '.') ||
	    (n == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
		return 0;
	if (c->count == c->max) {
		c->truncated = true;
		return DIRENT_ABORT;
	}
	if (c->count == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		char **nn = realloc(c->names, ncap * sizeof(*nn));

		if (!nn) {
			c->nomem = true;
			return DIRENT_ABORT;
		}
		c->names = nn;
		c->cap = ncap;
	}
	c->names[c->count] = strndup(dirent->name, (size_t)n);
	if (!c->names[c->count]) {
		c->nomem = true;
		return DIRENT_ABORT;
	}
	c->count++;
	return 0;
}

int extfs__list_dir(struct extfs *fs, const char *path, size_t max, char ***names,
		    size_t *count, bool *truncated, char *err, size_t errlen)
{
	struct list_ctx c = { .max = max };
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t e;
	int r = lookup(fs, path, &ino, &inode, err, errlen);

	if (r < 0)
		return r;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return util__fail(err, errlen, "%s: not a directory", path), -ENOTDIR;
	e = ext2fs_dir_iterate2(fs->fs, ino, 0, NULL, list_cb, &c);
	if (e || c.nomem) {
		extfs__free_names(c.names, c.count);
		if (c.nomem)
			return util__fail(err, errlen, "%s: out of memory", path), -ENOMEM;
		return ext_fail(e, path, err, errlen);
	}
	*names = c.names;
	*count = c.count;
	if (truncated)
		*truncated = c.truncated;
	return 0;
}

void extfs__free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}
