/* btrfs_subvol.c — subvolumes: their root items in the root tree, the
 * list of those directly under the top level (ROOT_REF items of subvolume
 * 5) and the default subvolume's path (the "default" entry of the root
 * tree's directory, then ROOT_BACKREF and INODE_REF items upwards, with
 * depth limits so a loop in the back references ends with -ELOOP). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

#include "vmm/boot/btrfs_priv.h"
#include "vmm/util.h"

#define PATH_LEN_MAX   4096
#define NEST_MAX       64       /* subvolumes above the default one */
#define REFS_MAX       256      /* directories above a subvolume inside its parent */
#define NAMES_MAX      65536    /* subvolumes listed */

static bool subvol_id_ok(uint64_t id)
{
	return id == BTRFS_FS_TREE_OBJECTID ||
	       (id >= BTRFS_FIRST_FREE_OBJECTID && id <= BTRFS_LAST_FREE_OBJECTID);
}

struct root_found {
	struct btrfs_root_item ri;
	bool found;
};

static int root_item(struct btrfs_op *op, const struct btrfs_key *key, const uint8_t *data,
		     uint32_t len, void *priv)
{
	struct root_found *f = priv;

	if (len < btrfs_legacy_root_item_size())
		return btrfs__fail(op, -EIO, "root item of subvolume %llu is %u bytes",
				   (unsigned long long)key->objectid, len);
	memset(&f->ri, 0, sizeof(f->ri));
	memcpy(&f->ri, data, MIN((size_t)len, sizeof(f->ri)));
	f->found = true;
	return 0;       /* a later (snapshot) copy wins */
}

/* Subvolume 'id': its tree and the objectid of its root directory. */
int btrfs__subvol_root(struct btrfs_op *op, uint64_t id, struct btrfs_troot *root, uint64_t *dirid)
{
	const struct btrfs_key min = { id, BTRFS_ROOT_ITEM_KEY, 0 };
	const struct btrfs_key max = { id, BTRFS_ROOT_ITEM_KEY, UINT64_MAX };
	struct root_found f = { .found = false };
	int r;

	if (!subvol_id_ok(id))
		return btrfs__fail(op, -EIO, "%llu is not a subvolume id", (unsigned long long)id);
	r = btrfs__tree_search(op, &op->fs->root_tree, &min, &max, root_item, &f);
	if (r < 0)
		return r;
	if (!f.found)
		return btrfs__fail(op, -EIO, "subvolume %llu has no root item", (unsigned long long)id);
	*root = (struct btrfs_troot){ le64toh(f.ri.bytenr), le64toh(f.ri.generation), f.ri.level };
	*dirid = le64toh(f.ri.root_dirid);
	if (*dirid < BTRFS_FIRST_FREE_OBJECTID || *dirid > BTRFS_LAST_FREE_OBJECTID)
		return btrfs__fail(op, -EIO, "subvolume %llu: root directory %llu",
				   (unsigned long long)id, (unsigned long long)*dirid);
	return 0;
}

int btrfs__top_dir(struct btrfs_op *op, struct btrfs_inode *top)
{
	top->subvol = BTRFS_FS_TREE_OBJECTID;
	return btrfs__subvol_root(op, top->subvol, &top->root, &top->ino);
}

/* A ROOT_REF/ROOT_BACKREF item: the directory and name a subvolume
 * hangs at in its parent. */
static int root_ref(struct btrfs_op *op, const uint8_t *data, uint32_t len, uint64_t *dirid,
		    const char **name, size_t *nlen)
{
	const struct btrfs_root_ref *rr = (const void *)data;

	*dirid = 0;
	*name = NULL;
	*nlen = 0;
	if (len < sizeof(*rr))
		return btrfs__fail(op, -EIO, "subvolume reference of %u bytes", len);
	*nlen = le16toh(rr->name_len);
	*name = (const char *)(rr + 1);
	*dirid = le64toh(rr->dirid);
	if (!*nlen || *nlen > BTRFS_NAME_MAX || *nlen != len - sizeof(*rr) ||
	    memchr(*name, '/', *nlen) || memchr(*name, '\0', *nlen))
		return btrfs__fail(op, -EIO, "subvolume reference with a bad name");
	return 0;
}

static int subvol_item(struct btrfs_op *op, const struct btrfs_key *key, const uint8_t *data,
		       uint32_t len, void *priv)
{
	struct btrfs_names *n = priv;
	const char *name;
	uint64_t dirid;
	size_t nlen;
	int r = root_ref(op, data, len, &dirid, &name, &nlen);

	if (r < 0 || dirid != n->only_dirid)
		return r;
	r = btrfs__names_add(op, n, name, nlen);
	if (r == 1)
		return btrfs__fail(op, -EIO, "more than %d subvolumes", NAMES_MAX);
	return r;
}

int btrfs__list_subvolumes(struct btrfs *fs, char ***names, size_t *count,
			   char *err, size_t errlen)
{
	struct btrfs_op op = btrfs__op(fs, "subvolumes", err, errlen);
	const struct btrfs_key min = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_REF_KEY, 0 };
	const struct btrfs_key max = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_REF_KEY, UINT64_MAX };
	struct btrfs_names n = { .max = NAMES_MAX };
	struct btrfs_inode top;
	int r = btrfs__top_dir(&op, &top);

	n.only_dirid = top.ino;
	if (!r)
		r = btrfs__tree_search(&op, &fs->root_tree, &min, &max, subvol_item, &n);
	if (r < 0) {
		btrfs__free_names(n.v, n.count);
		return r;
	}
	*names = n.v;
	*count = n.count;
	return 0;
}

/* Builds a path right to left at the end of a buffer. */
struct rpath {
	char buf[PATH_LEN_MAX];
	size_t start;
};

static int rpath_prepend(struct btrfs_op *op, struct rpath *p, const char *name, size_t nlen)
{
	bool sep = p->start < sizeof(p->buf) - 1;

	if (nlen + sep > p->start)
		return btrfs__fail(op, -ENAMETOOLONG, "the default subvolume's path is too long");
	if (sep)
		p->buf[--p->start] = '/';
	p->start -= nlen;
	memcpy(p->buf + p->start, name, nlen);
	return 0;
}

struct first_ref {
	struct btrfs_key key;
	uint8_t data[sizeof(struct btrfs_root_ref) + BTRFS_NAME_MAX];
	uint32_t len;
	bool found;
};

static int first_item(struct btrfs_op *op, const struct btrfs_key *key, const uint8_t *data,
		      uint32_t len, void *priv)
{
	struct first_ref *f = priv;

	if (len > sizeof(f->data))
		return btrfs__fail(op, -EIO, "reference item of %u bytes", len);
	f->key = *key;
	memcpy(f->data, data, len);
	f->len = len;
	f->found = true;
	return 1;
}

/* The first item with this objectid and type. */
static int first_of(struct btrfs_op *op, const struct btrfs_troot *root, uint64_t objectid,
		    uint8_t type, struct first_ref *f)
{
	const struct btrfs_key min = { objectid, type, 0 }, max = { objectid, type, UINT64_MAX };

	f->found = false;
	return btrfs__tree_search(op, root, &min, &max, first_item, f);
}

/* Prepend the names of the directories from 'dir' up to the root
 * directory of subvolume 'sub' (INODE_REF items). */
static int dir_path(struct btrfs_op *op, struct rpath *p, const struct btrfs_inode *sub,
		    uint64_t dir, struct first_ref *f)
{
	for (unsigned int steps = 0; dir != sub->ino; steps++) {
		const struct btrfs_inode_ref *ref = (const void *)f->data;
		size_t nlen;
		int r;

		if (steps == REFS_MAX)
			return btrfs__fail(op, -ELOOP, "directory %llu is more than %d levels deep",
					   (unsigned long long)dir, REFS_MAX);
		r = first_of(op, &sub->root, dir, BTRFS_INODE_REF_KEY, f);
		if (r < 0)
			return r;
		if (!f->found || f->len < sizeof(*ref) || f->key.offset == dir)
			return btrfs__fail(op, -EIO, "directory %llu has no usable back reference",
					   (unsigned long long)dir);
		nlen = le16toh(ref->name_len);
		if (!nlen || nlen > f->len - sizeof(*ref))
			return btrfs__fail(op, -EIO, "directory %llu: bad name length", (unsigned long long)dir);
		r = rpath_prepend(op, p, (const char *)(ref + 1), nlen);
		if (r < 0)
			return r;
		dir = f->key.offset;
	}
	return 0;
}

int btrfs__default_subvolume(struct btrfs *fs, char *path, size_t len, char *err, size_t errlen)
{
	struct btrfs_op op = btrfs__op(fs, "default subvolume", err, errlen);
	const struct btrfs_troot *rt = &fs->root_tree;
	struct rpath *p = malloc(sizeof(*p));
	struct first_ref *f = malloc(sizeof(*f));
	struct btrfs_key loc = { BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, 0 };
	int r = 0;

	if (!p || !f) {
		r = btrfs__fail(&op, -ENOMEM, "out of memory");
		goto out;
	}
	p->start = sizeof(p->buf) - 1;
	p->buf[p->start] = '\0';
	/* No "default" entry: the top level is the default. */
	r = btrfs__dir_lookup(&op, rt, fs->root_dir_objectid, "default", 7, &loc);
	if (r == -ENOENT)
		r = 0;
	if (!r && loc.type != BTRFS_ROOT_ITEM_KEY)
		r = btrfs__fail(&op, -EIO, "the \"default\" entry does not point at a subvolume");
	for (unsigned int nest = 0; !r && loc.objectid != BTRFS_FS_TREE_OBJECTID; nest++) {
		struct btrfs_inode parent;
		const char *name;
		uint64_t dirid;
		size_t nlen;

		if (nest == NEST_MAX) {
			r = btrfs__fail(&op, -ELOOP, "nested more than %d subvolumes deep", NEST_MAX);
			break;
		}
		if (!subvol_id_ok(loc.objectid)) {
			r = btrfs__fail(&op, -EIO, "%llu is not a subvolume id",
					(unsigned long long)loc.objectid);
			break;
		}
		r = first_of(&op, rt, loc.objectid, BTRFS_ROOT_BACKREF_KEY, f);
		if (!r && !f->found)
			r = btrfs__fail(&op, -EIO, "subvolume %llu has no back reference",
					(unsigned long long)loc.objectid);
		if (!r)
			r = root_ref(&op, f->data, f->len, &dirid, &name, &nlen);
		if (!r)
			r = rpath_prepend(&op, p, name, nlen);
		if (r < 0)
			break;
		parent.subvol = f->key.offset;
		r = btrfs__subvol_root(&op, parent.subvol, &parent.root, &parent.ino);
		if (!r)
			r = dir_path(&op, p, &parent, dirid, f);
		loc.objectid = parent.subvol;
	}
	if (!r && strlen(p->buf + p->start) >= len)
		r = btrfs__fail(&op, -ERANGE, "path does not fit in %zu bytes", len);
	if (!r)
		strcpy(path, p->buf + p->start);
out:
	free(p);
	free(f);
	return r;
}
