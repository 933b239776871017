/* bootfs.c — the ext and btrfs readers behind one ops table (bootfs.h).
 * Thin on purpose: each reader already checks what it reads; this file
 * only maps their calls and types onto one interface. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/btrfs.h"
#include "vmm/boot/extfs.h"
#include "vmm/boot/bootfs.h"
#include "vmm/log.h"
#include "vmm/util.h"

struct bootfs_ops {
	const char *(*kind)(const void *fs);
	int (*stat)(void *fs, const char *path, enum bootfs_type *type, uint64_t *size,
		    char *err, size_t errlen);
	int (*read_file)(void *fs, const char *path, size_t cap, uint8_t **buf, size_t *len,
			 char *err, size_t errlen);
	int (*read_to_fd)(void *fs, const char *path, uint64_t cap, int fd, uint64_t *len,
			  char *err, size_t errlen);
	int (*list_dir)(void *fs, const char *path, size_t max, char ***names, size_t *count,
			bool *truncated, char *err, size_t errlen);
	void (*free_names)(char **names, size_t count);
	/* the roots after "" (btrfs subvolumes); NULL: none */
	int (*more_roots)(void *fs, char **roots, size_t *count, size_t max,
			  char *err, size_t errlen);
	void (*close)(void *fs);
};

struct bootfs {
	const struct bootfs_ops *ops;
	void *fs;
};

/* ---- ext2/3/4 ------------------------------------------------------- */

static const char *ext_kind(const void *fs)
{
	return extfs__kind(fs);
}

static enum bootfs_type ext_type(enum extfs_type t)
{
	return t == EXTFS_FILE ? BOOTFS_FILE : t == EXTFS_DIR ? BOOTFS_DIR : BOOTFS_OTHER;
}

static int ext_stat(void *fs, const char *path, enum bootfs_type *type, uint64_t *size,
		    char *err, size_t errlen)
{
	enum extfs_type t = EXTFS_OTHER;
	int r = extfs__stat(fs, path, &t, size, err, errlen);

	if (type)
		*type = ext_type(t);
	return r;
}

static int ext_read_file(void *fs, const char *path, size_t cap, uint8_t **buf, size_t *len,
			 char *err, size_t errlen)
{
	return extfs__read_file(fs, path, cap, buf, len, err, errlen);
}

static int ext_read_to_fd(void *fs, const char *path, uint64_t cap, int fd, uint64_t *len,
			  char *err, size_t errlen)
{
	return extfs__read_to_fd(fs, path, cap, fd, len, err, errlen);
}

static int ext_list_dir(void *fs, const char *path, size_t max, char ***names, size_t *count,
			bool *truncated, char *err, size_t errlen)
{
	return extfs__list_dir(fs, path, max, names, count, truncated, err, errlen);
}

static void ext_close(void *fs)
{
	extfs__close(fs);
}

static const struct bootfs_ops ext_ops = {
	.kind = ext_kind,
	.stat = ext_stat,
	.read_file = ext_read_file,
	.read_to_fd = ext_read_to_fd,
	.list_dir = ext_list_dir,
	.free_names = extfs__free_names,
	.close = ext_close,
};

/* ---- btrfs ---------------------------------------------------------- */

static const char *btrfs_kind(const void *fs)
{
	return "btrfs";
}

static int btrfs_stat(void *fs, const char *path, enum bootfs_type *type, uint64_t *size,
		      char *err, size_t errlen)
{
	enum btrfs_type t = BTRFS_TYPE_OTHER;
	int r = btrfs__stat(fs, path, &t, size, err, errlen);

	if (type)
		*type = t == BTRFS_TYPE_FILE ? BOOTFS_FILE :
			t == BTRFS_TYPE_DIR ? BOOTFS_DIR : BOOTFS_OTHER;
	return r;
}

static int btrfs_read_file(void *fs, const char *path, size_t cap, uint8_t **buf, size_t *len,
			   char *err, size_t errlen)
{
	return btrfs__read_file(fs, path, cap, buf, len, err, errlen);
}

static int btrfs_read_to_fd(void *fs, const char *path, uint64_t cap, int fd, uint64_t *len,
			    char *err, size_t errlen)
{
	return btrfs__read_to_fd(fs, path, cap, fd, len, err, errlen);
}

static int btrfs_list_dir(void *fs, const char *path, size_t max, char ***names,
			  size_t *count, bool *truncated, char *err, size_t errlen)
{
	return btrfs__list_dir(fs, path, max, names, count, truncated, err, errlen);
}

static bool have_root(char **roots, size_t n, const char *r)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(roots[i], r))
			return true;
	return false;
}

static int add_root(char **roots, size_t *n, size_t max, const char *name)
{
	char *r;

	if (*n == max || asprintf(&r, "/%s", name) < 0)
		return *n == max ? 0 : -1;
	if (have_root(roots, *n, r)) {
		free(r);
		return 0;
	}
	roots[(*n)++] = r;
	return 0;
}

/* The default subvolume first (where the system's own mount starts),
 * then every top-level subvolume in id order. */
static int btrfs_more_roots(void *fs, char **roots, size_t *n, size_t max,
			    char *err, size_t errlen)
{
	char def[256], why[256];
	char **subs = NULL;
	size_t nsubs = 0;
	int r = 0;

	if (btrfs__default_subvolume(fs, def, sizeof(def), why, sizeof(why)) < 0)
		pr_warn("btrfs: default subvolume not used: %s", why);
	else if (def[0] && add_root(roots, n, max, def) < 0)
		return util__fail(err, errlen, "out of memory");
	if (btrfs__list_subvolumes(fs, &subs, &nsubs, why, sizeof(why)) < 0) {
		pr_warn("btrfs: subvolumes not listed: %s", why);
		return 0;
	}
	for (size_t i = 0; i < nsubs && r == 0; i++)
		r = add_root(roots, n, max, subs[i]);
	btrfs__free_names(subs, nsubs);
	return r < 0 ? util__fail(err, errlen, "out of memory") : 0;
}

static void btrfs_close(void *fs)
{
	btrfs__close(fs);
}

static const struct bootfs_ops btrfs_ops = {
	.kind = btrfs_kind,
	.stat = btrfs_stat,
	.read_file = btrfs_read_file,
	.read_to_fd = btrfs_read_to_fd,
	.list_dir = btrfs_list_dir,
	.free_names = btrfs__free_names,
	.more_roots = btrfs_more_roots,
	.close = btrfs_close,
};

/* ---- the interface -------------------------------------------------- */

struct bootfs *bootfs__open(struct disk *d, uint64_t offset, uint64_t size,
			    const char **kind, char *err, size_t errlen)
{
	const struct bootfs_ops *ops = NULL;
	struct bootfs *bfs;
	void *fs = NULL;

	*kind = NULL;
	if (extfs__probe(d, offset, size)) {
		*kind = "ext2/3/4";
		ops = &ext_ops;
		fs = extfs__open(d, offset, size, err, errlen);
	} else if (btrfs__probe(d, offset, size)) {
		*kind = "btrfs";
		ops = &btrfs_ops;
		fs = btrfs__open(d, offset, size, err, errlen);
	}
	if (!fs)
		return NULL;
	bfs = calloc(1, sizeof(*bfs));
	if (!bfs) {
		ops->close(fs);
		util__fail(err, errlen, "out of memory");
		return NULL;
	}
	bfs->ops = ops;
	bfs->fs = fs;
	*kind = ops->kind(fs);
	return bfs;
}

void bootfs__close(struct bootfs *fs)
{
	if (!fs)
		return;
	fs->ops->close(fs->fs);
	free(fs);
}

const char *bootfs__kind(const struct bootfs *fs)
{
	return fs->ops->kind(fs->fs);
}

int bootfs__stat(struct bootfs *fs, const char *path, enum bootfs_type *type,
		 uint64_t *size, char *err, size_t errlen)
{
	return fs->ops->stat(fs->fs, path, type, size, err, errlen);
}

int bootfs__read_file(struct bootfs *fs, const char *path, size_t cap, uint8_t **buf,
		      size_t *len, char *err, size_t errlen)
{
	return fs->ops->read_file(fs->fs, path, cap, buf, len, err, errlen);
}

int bootfs__read_to_fd(struct bootfs *fs, const char *path, uint64_t cap, int fd,
		       uint64_t *len, char *err, size_t errlen)
{
	return fs->ops->read_to_fd(fs->fs, path, cap, fd, len, err, errlen);
}

int bootfs__list_dir(struct bootfs *fs, const char *path, size_t max, char ***names,
		     size_t *count, bool *truncated, char *err, size_t errlen)
{
	return fs->ops->list_dir(fs->fs, path, max, names, count, truncated, err, errlen);
}

void bootfs__free_names(struct bootfs *fs, char **names, size_t count)
{
	fs->ops->free_names(names, count);
}

int bootfs__roots(struct bootfs *fs, char ***roots, size_t *count, char *err, size_t errlen)
{
	char **v = calloc(BOOTFS_MAX_ROOTS, sizeof(*v));
	size_t n = 0;

	*roots = NULL;
	*count = 0;
	if (!v || !(v[n++] = strdup(""))) {
		free(v);
		return util__fail(err, errlen, "out of memory");
	}
	if (fs->ops->more_roots &&
	    fs->ops->more_roots(fs->fs, v, &n, BOOTFS_MAX_ROOTS, err, errlen) < 0) {
		bootfs__free_roots(v, n);
		return -1;
	}
	*roots = v;
	*count = n;
	return 0;
}

void bootfs__free_roots(char **roots, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(roots[i]);
	free(roots);
}
