/* btrfs_tree.c — tree blocks and walks over a tree's keys. A block is
 * read through the chunk map (DUP: the second copy when the first is
 * bad), checksummed, and its header and item table checked before any
 * of it is used; verified blocks are kept in a small direct-mapped cache
 * in struct btrfs. A walk visits a child only one level below its parent
 * and only when the child starts with its parent's key and stays inside
 * the parent's key range, so no image can make it loop or revisit a
 * block through two parents. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

#include "vmm/boot/btrfs_priv.h"
#include "vmm/boot/crc32c.h"
#include "vmm/util.h"

static uint32_t get_le32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static int node_check(struct btrfs_op *op, unsigned long long at, const uint8_t *b, uint32_t n)
{
	const struct btrfs_key_ptr_disk *ptr = (const void *)(b + sizeof(struct btrfs_header_disk));
	const size_t room = op->fs->nodesize - sizeof(struct btrfs_header_disk);
	struct btrfs_key prev, k;

	if (!n || n > room / sizeof(*ptr))
		return btrfs__fail(op, -EIO, "tree block %llu: %u pointers in a node", at, n);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t child = le64toh(ptr[i].blockptr);

		btrfs__key_from_disk(&k, &ptr[i].key);
		if (i && btrfs__key_cmp(&prev, &k) >= 0)
			return btrfs__fail(op, -EIO, "tree block %llu: keys out of order at pointer %u", at, i);
		if (!child || child % op->fs->sectorsize)
			return btrfs__fail(op, -EIO, "tree block %llu: pointer %u to %llu", at, i,
					   (unsigned long long)child);
		prev = k;
	}
	return 0;
}

static int leaf_check(struct btrfs_op *op, unsigned long long at, const uint8_t *b, uint32_t n)
{
	const struct btrfs_item_disk *it = (const void *)(b + sizeof(struct btrfs_header_disk));
	size_t end = op->fs->nodesize - sizeof(struct btrfs_header_disk);
	struct btrfs_key prev, k;

	if (n > end / sizeof(*it))
		return btrfs__fail(op, -EIO, "tree block %llu: %u items in a leaf", at, n);
	/* Item data is packed from the end of the block in item order, so
	 * each item must end at or before where the previous one starts and
	 * begin after the item table. */
	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = le32toh(it[i].offset), size = le32toh(it[i].size);

		btrfs__key_from_disk(&k, &it[i].key);
		if (i && btrfs__key_cmp(&prev, &k) >= 0)
			return btrfs__fail(op, -EIO, "tree block %llu: keys out of order at item %u", at, i);
		if (off < (size_t)n * sizeof(*it) || off > end || size > end - off)
			return btrfs__fail(op, -EIO, "tree block %llu: item %u at %u+%u outside the leaf",
					   at, i, off, size);
		end = off;
		prev = k;
	}
	return 0;
}

/* Everything about a tree block that does not depend on who points at
 * it: checksum, address, owner filesystem, level, item table. */
static int block_check(struct btrfs_op *op, uint64_t logical, const uint8_t *b)
{
	const struct btrfs *fs = op->fs;
	const struct btrfs_header_disk *h = (const void *)b;
	const unsigned long long at = logical;

	if (crc32c__crc(b + BTRFS_CSUM_SIZE, fs->nodesize - BTRFS_CSUM_SIZE) != get_le32(h->csum))
		return btrfs__fail(op, -EIO, "tree block %llu: checksum does not match", at);
	if (le64toh(h->bytenr) != logical)
		return btrfs__fail(op, -EIO, "tree block %llu: header says it is at %llu", at,
				   (unsigned long long)le64toh(h->bytenr));
	if (memcmp(h->fsid, fs->meta_fsid, BTRFS_FSID_SIZE))
		return btrfs__fail(op, -EIO, "tree block %llu: belongs to another filesystem", at);
	if (h->level > BTRFS_LEVEL_MAX)
		return btrfs__fail(op, -EIO, "tree block %llu: level %u", at, h->level);
	if (h->level)
		return node_check(op, at, b, le32toh(h->nritems));
	return leaf_check(op, at, b, le32toh(h->nritems));
}

static unsigned int cache_slot(uint64_t logical)
{
	return (unsigned int)(((logical >> 12) * 0x9e3779b97f4a7c15ULL) >> 58) % BTRFS_CACHE_SLOTS;
}

/* Read the tree block at 'logical' into buf (nodesize bytes) and check
 * it, and that it is what its parent said: this level and generation.
 * For DUP the second copy is tried when the first one is bad. */
static int block_read(struct btrfs_op *op, uint64_t logical, uint64_t gen, unsigned int level,
		      uint8_t *buf)
{
	struct btrfs *fs = op->fs;
	const struct btrfs_header_disk *h = (const void *)buf;
	unsigned int slot = cache_slot(logical);
	const struct btrfs_chunk_map *m;
	int r = 0;

	if (!op->budget)
		return btrfs__fail(op, -EIO, "too many tree blocks read for one request");
	op->budget--;
	if (logical % fs->sectorsize)
		return btrfs__fail(op, -EIO, "tree block address %llu is not aligned",
				   (unsigned long long)logical);
	if (fs->cache_data[slot] && fs->cache_addr[slot] == logical) {
		memcpy(buf, fs->cache_data[slot], fs->nodesize);
	} else {
		m = btrfs__chunk_find(fs, logical);
		if (!m || m->length - (logical - m->logical) < fs->nodesize)
			return btrfs__fail(op, -EIO, "tree block %llu is not inside one chunk",
					   (unsigned long long)logical);
		for (unsigned int i = 0; i < m->copies; i++) {
			char second[256];
			struct btrfs_op quiet = *op;

			/* When both copies are bad, the first one's error is told. */
			quiet.err = i ? second : op->err;
			quiet.errlen = i ? sizeof(second) : op->errlen;
			r = btrfs__read_phys(&quiet, m->phys[i] + (logical - m->logical), buf, fs->nodesize);
			if (!r)
				r = block_check(&quiet, logical, buf);
			if (!r)
				break;
		}
		if (r < 0)
			return r;
		if (!fs->cache_data[slot])
			fs->cache_data[slot] = malloc(fs->nodesize);
		if (fs->cache_data[slot]) {
			memcpy(fs->cache_data[slot], buf, fs->nodesize);
			fs->cache_addr[slot] = logical;
		}
	}
	if (h->level != level)
		return btrfs__fail(op, -EIO, "tree block %llu: level %u where %u was expected",
				   (unsigned long long)logical, h->level, level);
	if (le64toh(h->generation) != gen)
		return btrfs__fail(op, -EIO, "tree block %llu: generation %llu where %llu was expected",
				   (unsigned long long)logical, (unsigned long long)le64toh(h->generation),
				   (unsigned long long)gen);
	return 0;
}

/* ---- walking a tree ----------------------------------------------- */

struct walk {
	struct btrfs_op *op;
	const struct btrfs_key *min, *max;
	btrfs_item_fn fn;
	void *priv;
	uint8_t *bufs;                  /* one block buffer per level */
};

/* Visit the block at 'logical' whose keys must lie in [*lo, *hi) (hi
 * NULL: no bound) and, below the root, start exactly at *lo. Returns 0
 * to go on, 1 once past max or stopped by fn, or a negative errno. */
static int walk_block(struct walk *w, uint64_t logical, uint64_t gen, unsigned int level,
		      const struct btrfs_key *lo, const struct btrfs_key *hi)
{
	struct btrfs_op *op = w->op;
	uint32_t nodesize = op->fs->nodesize;
	uint8_t *b = w->bufs + (size_t)level * nodesize;
	const struct btrfs_header_disk *h = (const void *)b;
	struct btrfs_key first, last;
	uint32_t n;
	int r = block_read(op, logical, gen, level, b);

	if (r < 0)
		return r;
	n = le32toh(h->nritems);
	if (n) {
		const struct btrfs_disk_key *k0, *kn;

		if (level) {
			k0 = &((const struct btrfs_key_ptr_disk *)(b + sizeof(*h)))[0].key;
			kn = &((const struct btrfs_key_ptr_disk *)(b + sizeof(*h)))[n - 1].key;
		} else {
			k0 = &((const struct btrfs_item_disk *)(b + sizeof(*h)))[0].key;
			kn = &((const struct btrfs_item_disk *)(b + sizeof(*h)))[n - 1].key;
		}
		btrfs__key_from_disk(&first, k0);
		btrfs__key_from_disk(&last, kn);
	}
	if (lo && (!n || btrfs__key_cmp(&first, lo)))
		return btrfs__fail(op, -EIO, "tree block %llu does not start with its parent's key",
				   (unsigned long long)logical);
	if (hi && n && btrfs__key_cmp(&last, hi) >= 0)
		return btrfs__fail(op, -EIO, "tree block %llu holds keys beyond its parent's range",
				   (unsigned long long)logical);
	if (!level) {
		const struct btrfs_item_disk *it = (const void *)(b + sizeof(*h));

		for (uint32_t i = 0; i < n; i++) {
			struct btrfs_key k;

			btrfs__key_from_disk(&k, &it[i].key);
			if (btrfs__key_cmp(&k, w->min) < 0)
				continue;
			if (btrfs__key_cmp(&k, w->max) > 0)
				return 1;
			r = w->fn(op, &k, b + sizeof(*h) + le32toh(it[i].offset), le32toh(it[i].size),
				  w->priv);
			if (r)
				return r;
		}
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		/* Re-read from the buffer each time: the pointers stay valid
		 * because deeper levels use their own buffers. */
		const struct btrfs_key_ptr_disk *p = (const void *)(b + sizeof(*h));
		struct btrfs_key k, next;
		const struct btrfs_key *child_hi = hi;

		btrfs__key_from_disk(&k, &p[i].key);
		if (i + 1 < n) {
			btrfs__key_from_disk(&next, &p[i + 1].key);
			child_hi = &next;
		}
		/* the child holds [k, child_hi): skip it when that is below min */
		if (child_hi && btrfs__key_cmp(child_hi, w->min) <= 0)
			continue;
		if (btrfs__key_cmp(&k, w->max) > 0)
			return 1;
		r = walk_block(w, le64toh(p[i].blockptr), le64toh(p[i].generation), level - 1, &k,
			       child_hi);
		if (r)
			return r;
	}
	return 0;
}

int btrfs__tree_search(struct btrfs_op *op, const struct btrfs_troot *root,
		       const struct btrfs_key *min, const struct btrfs_key *max,
		       btrfs_item_fn fn, void *priv)
{
	struct walk w = { .op = op, .min = min, .max = max, .fn = fn, .priv = priv };
	int r;

	if (root->level > BTRFS_LEVEL_MAX)
		return btrfs__fail(op, -EIO, "tree root at %llu has level %u",
				   (unsigned long long)root->bytenr, root->level);
	w.bufs = malloc(((size_t)root->level + 1) * op->fs->nodesize);
	if (!w.bufs)
		return btrfs__fail(op, -ENOMEM, "out of memory");
	r = walk_block(&w, root->bytenr, root->generation, root->level, NULL, NULL);
	free(w.bufs);
	return r < 0 ? r : 0;
}

struct lookup {
	void *buf;
	size_t cap;
	uint32_t len;
	bool found;
};

static int lookup_item(struct btrfs_op *op, const struct btrfs_key *key, const uint8_t *data,
		       uint32_t len, void *priv)
{
	struct lookup *l = priv;

	memcpy(l->buf, data, MIN((size_t)len, l->cap));
	l->len = len;
	l->found = true;
	return 1;
}

int btrfs__tree_lookup(struct btrfs_op *op, const struct btrfs_troot *root,
		       const struct btrfs_key *key, void *buf, size_t cap, uint32_t *len)
{
	struct lookup l = { .buf = buf, .cap = cap };
	int r = btrfs__tree_search(op, root, key, key, lookup_item, &l);

	if (r < 0)
		return r;
	if (!l.found)
		return -ENOENT;
	*len = l.len;
	return 0;
}
