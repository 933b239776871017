/* btrfs_path.c — names: directory lookups by name hash, path resolution
 * from the top-level subvolume (crossing into a subvolume where a
 * directory entry points at a ROOT_ITEM, following symbolic links) and
 * directory listings.
 *
 * Resolution keeps the directories it walked through on a stack, so ".."
 * is lexical: it returns to the directory the walk came from, across
 * subvolume boundaries too, and never needs the image's idea of a
 * parent. Every component consumes path text and links are counted, so a
 * subvolume entry that points back at an ancestor cannot make it loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <endian.h>

#include "vmm/boot/btrfs_priv.h"
#include "vmm/boot/crc32c.h"
#include "vmm/util.h"

#define PATH_LEN_MAX   4096     /* a path, or a path with a link's target spliced in */
#define LINKS_MAX      8
#define DEPTH_MAX      128      /* directories on the resolution stack */

static uint32_t name_hash(const char *name, size_t len)
{
	return crc32c__update((uint32_t)~1u, name, len);
}

static int inode_read(struct btrfs_op *op, struct btrfs_inode *ino)
{
	const struct btrfs_key key = { ino->ino, BTRFS_INODE_ITEM_KEY, 0 };
	struct btrfs_inode_item ii;
	uint32_t len;
	int r = btrfs__tree_lookup(op, &ino->root, &key, &ii, sizeof(ii), &len);

	if (r == -ENOENT)
		return btrfs__fail(op, -EIO, "inode %llu of subvolume %llu is missing",
				   (unsigned long long)ino->ino, (unsigned long long)ino->subvol);
	if (r < 0)
		return r;
	if (len < sizeof(ii))
		return btrfs__fail(op, -EIO, "inode %llu of subvolume %llu: item of %u bytes",
				   (unsigned long long)ino->ino, (unsigned long long)ino->subvol, len);
	ino->mode = le32toh(ii.mode);
	ino->size = le64toh(ii.size);
	return 0;
}

/* Call fn for each btrfs_dir_item packed into one DIR_ITEM/DIR_INDEX
 * item (several share an item when their names' hashes collide). */
typedef int (*dir_entry_fn)(struct btrfs_op *op, const char *name, size_t nlen,
			    const struct btrfs_key *loc, void *priv);

static int dir_entries(struct btrfs_op *op, const uint8_t *data, uint32_t len,
		       dir_entry_fn fn, void *priv)
{
	uint32_t pos = 0;

	while (pos < len) {
		const struct btrfs_dir_item *di = (const void *)(data + pos);
		const char *name = (const char *)(di + 1);
		struct btrfs_key loc;
		size_t nlen, dlen;
		int r;

		if (len - pos < sizeof(*di))
			return btrfs__fail(op, -EIO, "directory item truncated");
		nlen = le16toh(di->name_len);
		dlen = le16toh(di->data_len);
		if (!nlen || nlen > BTRFS_NAME_MAX || nlen + dlen > len - pos - sizeof(*di))
			return btrfs__fail(op, -EIO, "directory item with a %zu-byte name and %zu bytes of data in %u",
					   nlen, dlen, len - pos);
		if (memchr(name, '/', nlen) || memchr(name, '\0', nlen))
			return btrfs__fail(op, -EIO, "directory entry name holds '/' or NUL");
		btrfs__key_from_disk(&loc, &di->location);
		r = fn(op, name, nlen, &loc, priv);
		if (r)
			return r;
		pos += (uint32_t)(sizeof(*di) + nlen + dlen);
	}
	return 0;
}

struct name_match {
	const char *name;
	size_t nlen;
	struct btrfs_key loc;
	bool found;
};

static int match_entry(struct btrfs_op *op, const char *name, size_t nlen,
		       const struct btrfs_key *loc, void *priv)
{
	struct name_match *m = priv;

	if (nlen != m->nlen || memcmp(name, m->name, nlen))
		return 0;
	m->loc = *loc;
	m->found = true;
	return 1;
}

static int match_item(struct btrfs_op *op, const struct btrfs_key *key, const uint8_t *data,
		      uint32_t len, void *priv)
{
	int r = dir_entries(op, data, len, match_entry, priv);

	return r < 0 ? r : 1;
}

/* The location key of 'name' in directory 'dir' of tree 'root';
 * -ENOENT (no line) when absent. */
int btrfs__dir_lookup(struct btrfs_op *op, const struct btrfs_troot *root, uint64_t dir,
		      const char *name, size_t nlen, struct btrfs_key *loc)
{
	const struct btrfs_key key = { dir, BTRFS_DIR_ITEM_KEY, name_hash(name, nlen) };
	struct name_match m = { .name = name, .nlen = nlen };
	int r = btrfs__tree_search(op, root, &key, &key, match_item, &m);

	if (r < 0)
		return r;
	if (!m.found)
		return -ENOENT;
	*loc = m.loc;
	return 0;
}

/* Where a directory entry leads: an inode of the same tree, or the root
 * directory of another subvolume. */
static int follow_entry(struct btrfs_op *op, const struct btrfs_inode *dir,
			const struct btrfs_key *loc, struct btrfs_inode *out)
{
	if (loc->type == BTRFS_ROOT_ITEM_KEY) {
		out->subvol = loc->objectid;
		return btrfs__subvol_root(op, loc->objectid, &out->root, &out->ino);
	}
	if (loc->type != BTRFS_INODE_ITEM_KEY || loc->objectid < BTRFS_FIRST_FREE_OBJECTID ||
	    loc->objectid > BTRFS_LAST_FREE_OBJECTID)
		return btrfs__fail(op, -EIO, "directory entry points at (%llu %u %llu)",
				   (unsigned long long)loc->objectid, loc->type,
				   (unsigned long long)loc->offset);
	out->subvol = dir->subvol;
	out->root = dir->root;
	out->ino = loc->objectid;
	return 0;
}

int btrfs__check_top(struct btrfs_op *op)
{
	struct btrfs_inode top;
	int r = btrfs__top_dir(op, &top);

	if (!r)
		r = inode_read(op, &top);
	if (!r && !S_ISDIR(top.mode))
		r = btrfs__fail(op, -EIO, "the top-level directory is not a directory");
	return r;
}

/* Splice a link's target in front of the rest of the path: new text in
 * 'work' (PATH_LEN_MAX bytes). */
static int splice_link(struct btrfs_op *op, const struct btrfs_inode *link, char *work,
		       const char *rest)
{
	struct btrfs_sink sink;
	size_t rlen = strlen(rest);
	char *text;
	int r;

	if (!link->size)
		return btrfs__fail(op, -ENOENT, "empty symbolic link");
	if (link->size + 1 + rlen >= PATH_LEN_MAX)
		return btrfs__fail(op, -ENAMETOOLONG, "symbolic link target makes the path too long");
	text = malloc(PATH_LEN_MAX);
	if (!text)
		return btrfs__fail(op, -ENOMEM, "out of memory");
	sink = (struct btrfs_sink){ .buf = (uint8_t *)text, .fd = -1 };
	r = btrfs__read_data(op, link, link->size, &sink);
	if (!r && memchr(text, '\0', (size_t)link->size))
		r = btrfs__fail(op, -EIO, "symbolic link target holds a NUL byte");
	if (!r) {
		text[link->size] = '/';
		memcpy(text + link->size + 1, rest, rlen + 1);
		memcpy(work, text, (size_t)link->size + 1 + rlen + 1);
	}
	free(text);
	return r;
}

/* A path component for an error line: it may come from a link target
 * in the image, so anything unprintable becomes '?' and it is cut short. */
static const char *shown(const char *name, size_t nlen, char *buf, size_t len)
{
	size_t n = MIN(nlen, len - 1);

	for (size_t i = 0; i < n; i++)
		buf[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
	buf[n] = '\0';
	return buf;
}

int btrfs__resolve(struct btrfs_op *op, const char *path, struct btrfs_inode *out)
{
	struct btrfs_inode *stack;
	unsigned int depth = 0, links = 0;
	char *work, *p;
	int r;

	if (strlen(path) >= PATH_LEN_MAX)
		return btrfs__fail(op, -ENAMETOOLONG, "path too long");
	stack = malloc(DEPTH_MAX * sizeof(*stack));
	work = malloc(PATH_LEN_MAX);
	if (!stack || !work) {
		r = btrfs__fail(op, -ENOMEM, "out of memory");
		goto out;
	}
	strcpy(work, path);
	r = btrfs__top_dir(op, &stack[0]);
	for (p = work; !r;) {
		struct btrfs_inode child;
		struct btrfs_key loc;
		char *name, *rest, show[64];
		size_t nlen;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		name = p;
		nlen = strcspn(p, "/");
		for (rest = p + nlen; *rest == '/'; rest++)
			;
		p = rest;
		if (nlen == 1 && name[0] == '.')
			continue;
		if (nlen == 2 && name[0] == '.' && name[1] == '.') {
			depth -= depth > 0;
			continue;
		}
		if (nlen > BTRFS_NAME_MAX) {
			r = btrfs__fail(op, -ENAMETOOLONG, "a name is longer than %d bytes", BTRFS_NAME_MAX);
			break;
		}
		r = btrfs__dir_lookup(op, &stack[depth].root, stack[depth].ino, name, nlen, &loc);
		if (r == -ENOENT)
			r = btrfs__fail(op, -ENOENT, "no such file or directory (\"%s\")",
					shown(name, nlen, show, sizeof(show)));
		if (!r)
			r = follow_entry(op, &stack[depth], &loc, &child);
		if (!r)
			r = inode_read(op, &child);
		if (r < 0)
			break;
		if (S_ISLNK(child.mode)) {
			if (++links > LINKS_MAX) {
				r = btrfs__fail(op, -ELOOP, "too many levels of symbolic links");
				break;
			}
			r = splice_link(op, &child, work, rest);
			if (!r && work[0] == '/')
				depth = 0;
			p = work;
			continue;
		}
		if (*rest && !S_ISDIR(child.mode)) {
			r = btrfs__fail(op, -ENOTDIR, "\"%s\" is not a directory",
					shown(name, nlen, show, sizeof(show)));
			break;
		}
		if (depth + 1 == DEPTH_MAX) {
			r = btrfs__fail(op, -ENAMETOOLONG, "more than %d directories deep", DEPTH_MAX);
			break;
		}
		stack[++depth] = child;
	}
	if (!r) {
		*out = stack[depth];
		r = inode_read(op, out);
	}
out:
	free(stack);
	free(work);
	return r;
}

int btrfs__stat(struct btrfs *fs, const char *path, enum btrfs_type *type,
		uint64_t *size, char *err, size_t errlen)
{
	struct btrfs_op op = btrfs__op(fs, path, err, errlen);
	struct btrfs_inode ino;
	int r = btrfs__resolve(&op, path, &ino);

	if (r < 0)
		return r;
	*type = S_ISREG(ino.mode) ? BTRFS_TYPE_FILE : S_ISDIR(ino.mode) ? BTRFS_TYPE_DIR :
		BTRFS_TYPE_OTHER;
	if (size)
		*size = ino.size;
	return 0;
}

int btrfs__names_add(struct btrfs_op *op, struct btrfs_names *n, const char *name, size_t nlen)
{
	if (n->count == n->max) {
		n->truncated = true;
		return 1;
	}
	if (!(n->count & (n->count + 1)) || !n->count) {   /* 0, 1, 3, 7, ...: grow */
		char **v = realloc(n->v, (n->count * 2 + 2) * sizeof(*v));

		if (!v)
			return btrfs__fail(op, -ENOMEM, "out of memory");
		n->v = v;
	}
	n->v[n->count] = strndup(name, nlen);
	if (!n->v[n->count])
		return btrfs__fail(op, -ENOMEM, "out of memory");
	n->count++;
	return 0;
}

static int list_entry(struct btrfs_op *op, const char *name, size_t nlen,
		      const struct btrfs_key *loc, void *priv)
{
	return btrfs__names_add(op, priv, name, nlen);
}

static int list_item(struct btrfs_op *op, const struct btrfs_key *key, const uint8_t *data,
		     uint32_t len, void *priv)
{
	return dir_entries(op, data, len, list_entry, priv);
}

int btrfs__list_dir(struct btrfs *fs, const char *path, size_t max, char ***names,
		    size_t *count, bool *truncated, char *err, size_t errlen)
{
	struct btrfs_op op = btrfs__op(fs, path, err, errlen);
	struct btrfs_names n = { .max = max };
	struct btrfs_inode dir;
	struct btrfs_key min, kmax;
	int r = btrfs__resolve(&op, path, &dir);

	if (r < 0)
		return r;
	if (!S_ISDIR(dir.mode))
		return btrfs__fail(&op, -ENOTDIR, "not a directory");
	min = (struct btrfs_key){ dir.ino, BTRFS_DIR_INDEX_KEY, 0 };
	kmax = (struct btrfs_key){ dir.ino, BTRFS_DIR_INDEX_KEY, UINT64_MAX };
	r = btrfs__tree_search(&op, &dir.root, &min, &kmax, list_item, &n);
	if (r < 0) {
		btrfs__free_names(n.v, n.count);
		return r;
	}
	*names = n.v;
	*count = n.count;
	if (truncated)
		*truncated = n.truncated;
	return 0;
}

void btrfs__free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}
