/* btrfs.c — open a btrfs filesystem inside a disk image: the superblock
 * (falling back to the backup copies), the chunk map (sys_chunk_array,
 * then the chunk tree; SINGLE and DUP on one device; every other profile
 * refused by name) and reads by physical and logical address. Tree
 * blocks and walks over them are btrfs_tree.c; names btrfs_path.c and
 * btrfs_subvol.c; file contents btrfs_file.c.
 *
 * Nothing from the image is trusted: each chunk is checked (length,
 * stripes, device, inside the partition, no overlaps) before it maps
 * anything, and every read is range checked against the partition. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <zstd.h>

#include "vmm/boot/btrfs_priv.h"
#include "vmm/boot/crc32c.h"
#include "devices/block/disk.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define CHUNKS_MAX       65536
#define CHUNK_ITEM_MIN   (offsetof(struct btrfs_chunk, stripe))

/* Incompat features a reader of the trees and extents need not care
 * about; anything else (zoned, extent-tree-v2, raid stripe tree, and
 * bits not known yet) changes where things are, so it is refused. */
#define INCOMPAT_OK (BTRFS_FEATURE_INCOMPAT_MIXED_BACKREF | BTRFS_FEATURE_INCOMPAT_DEFAULT_SUBVOL | \
		     BTRFS_FEATURE_INCOMPAT_MIXED_GROUPS | BTRFS_FEATURE_INCOMPAT_COMPRESS_LZO | \
		     BTRFS_FEATURE_INCOMPAT_COMPRESS_ZSTD | BTRFS_FEATURE_INCOMPAT_BIG_METADATA | \
		     BTRFS_FEATURE_INCOMPAT_EXTENDED_IREF | BTRFS_FEATURE_INCOMPAT_RAID56 | \
		     BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA | BTRFS_FEATURE_INCOMPAT_NO_HOLES | \
		     BTRFS_FEATURE_INCOMPAT_METADATA_UUID | BTRFS_FEATURE_INCOMPAT_RAID1C34 | \
		     (1ULL << 16) /* simple quotas */)

int btrfs__fail(struct btrfs_op *op, int e, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (op->what)
		util__fail(op->err, op->errlen, "%s: %s", op->what, msg);
	else
		util__fail(op->err, op->errlen, "%s", msg);
	return e;
}

void btrfs__key_from_disk(struct btrfs_key *k, const struct btrfs_disk_key *d)
{
	k->objectid = le64toh(d->objectid);
	k->type = d->type;
	k->offset = le64toh(d->offset);
}

int btrfs__key_cmp(const struct btrfs_key *a, const struct btrfs_key *b)
{
	if (a->objectid != b->objectid)
		return a->objectid < b->objectid ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->offset != b->offset)
		return a->offset < b->offset ? -1 : 1;
	return 0;
}

static const char *profile_name(uint64_t type)
{
	static const struct { uint64_t bit; const char *name; } names[] = {
		{ BTRFS_BLOCK_GROUP_RAID0, "RAID0" }, { BTRFS_BLOCK_GROUP_RAID1, "RAID1" },
		{ BTRFS_BLOCK_GROUP_RAID10, "RAID10" }, { BTRFS_BLOCK_GROUP_RAID5, "RAID5" },
		{ BTRFS_BLOCK_GROUP_RAID6, "RAID6" }, { BTRFS_BLOCK_GROUP_RAID1C3, "RAID1C3" },
		{ BTRFS_BLOCK_GROUP_RAID1C4, "RAID1C4" }, { BTRFS_BLOCK_GROUP_DUP, "DUP" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (type & names[i].bit)
			return names[i].name;
	return "SINGLE";
}

/* ---- the chunk map ------------------------------------------------ */

/* Check one chunk item (its stripes follow the fixed part) and append it
 * to 'list', which must stay sorted and free of overlaps. */
static int chunk_add(struct btrfs_op *op, struct btrfs_chunks *list, uint64_t logical,
		     const uint8_t *p, size_t len)
{
	const struct btrfs *fs = op->fs;
	const struct btrfs_chunk *c = (const void *)p;
	const struct btrfs_chunk_map *prev = list->n ? &list->v[list->n - 1] : NULL;
	struct btrfs_chunk_map *m;
	uint64_t length, type, profile;
	unsigned int nstripes, copies;

	if (len < sizeof(*c))
		return btrfs__fail(op, -EIO, "chunk at %llu: item of %zu bytes is too short",
				   (unsigned long long)logical, len);
	length = le64toh(c->length);
	type = le64toh(c->type);
	nstripes = le16toh(c->num_stripes);
	if (!nstripes || len != CHUNK_ITEM_MIN + (size_t)nstripes * sizeof(struct btrfs_stripe))
		return btrfs__fail(op, -EIO, "chunk at %llu: %u stripes in an item of %zu bytes",
				   (unsigned long long)logical, nstripes, len);
	if (!length || length % fs->sectorsize || logical % fs->sectorsize ||
	    logical + length < logical)
		return btrfs__fail(op, -EIO, "chunk at %llu: bad length %llu",
				   (unsigned long long)logical, (unsigned long long)length);
	profile = type & BTRFS_BLOCK_GROUP_PROFILE_MASK;
	if (profile && profile != BTRFS_BLOCK_GROUP_DUP)
		return btrfs__fail(op, -ENOTSUP, "chunk at %llu uses the %s profile: only SINGLE and DUP are supported",
				   (unsigned long long)logical, profile_name(profile));
	copies = profile ? 2 : 1;
	if (nstripes != copies)
		return btrfs__fail(op, -EIO, "%s chunk at %llu has %u stripes", profile_name(profile),
				   (unsigned long long)logical, nstripes);
	if (list->n == CHUNKS_MAX)
		return btrfs__fail(op, -EIO, "more than %d chunks", CHUNKS_MAX);
	if (prev && logical < prev->logical + prev->length)
		return btrfs__fail(op, -EIO, "chunk at %llu overlaps the one before it or is out of order",
				   (unsigned long long)logical);
	if (!(list->n & (list->n - 1))) {       /* 0, 1, 2, 4, ...: grow */
		m = realloc(list->v, (list->n ? list->n * 2 : 1) * sizeof(*m));
		if (!m)
			return btrfs__fail(op, -ENOMEM, "out of memory");
		list->v = m;
	}
	m = &list->v[list->n];
	*m = (struct btrfs_chunk_map){ .logical = logical, .length = length, .type = type,
				       .copies = copies };
	for (unsigned int i = 0; i < copies; i++) {
		const struct btrfs_stripe *s = (const void *)(p + CHUNK_ITEM_MIN + i * sizeof(*s));

		if (le64toh(s->devid) != fs->devid)
			return btrfs__fail(op, -EIO, "chunk at %llu: stripe on device %llu, not this one (%llu)",
					   (unsigned long long)logical, (unsigned long long)le64toh(s->devid),
					   (unsigned long long)fs->devid);
		m->phys[i] = le64toh(s->offset);
		if (m->phys[i] > fs->size || length > fs->size - m->phys[i])
			return btrfs__fail(op, -EIO, "chunk at %llu: stripe at %llu+%llu lies beyond the partition",
					   (unsigned long long)logical, (unsigned long long)m->phys[i],
					   (unsigned long long)length);
	}
	list->n++;
	return 0;
}

const struct btrfs_chunk_map *btrfs__chunk_find(const struct btrfs *fs, uint64_t logical)
{
	size_t lo = 0, hi = fs->chunks.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct btrfs_chunk_map *m = &fs->chunks.v[mid];

		if (logical < m->logical)
			hi = mid;
		else if (logical - m->logical >= m->length)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

static int sys_array_load(struct btrfs_op *op, const struct btrfs_sb_disk *sb)
{
	uint32_t size = le32toh(sb->sys_chunk_array_size), pos = 0;
	const uint8_t *a = sb->sys_chunk_array;

	if (size > BTRFS_SYS_ARRAY_SIZE ||
	    size < sizeof(struct btrfs_disk_key) + sizeof(struct btrfs_chunk))
		return btrfs__fail(op, -EIO, "sys_chunk_array_size %u out of range", size);
	while (pos < size) {
		const struct btrfs_chunk *c;
		struct btrfs_key k;
		size_t len;
		int r;

		if (size - pos < sizeof(struct btrfs_disk_key) + sizeof(*c))
			return btrfs__fail(op, -EIO, "sys_chunk_array: truncated entry at byte %u", pos);
		btrfs__key_from_disk(&k, (const void *)(a + pos));
		pos += sizeof(struct btrfs_disk_key);
		if (k.type != BTRFS_CHUNK_ITEM_KEY)
			return btrfs__fail(op, -EIO, "sys_chunk_array: key type %u is not a chunk", k.type);
		c = (const void *)(a + pos);
		len = CHUNK_ITEM_MIN + (size_t)le16toh(c->num_stripes) * sizeof(struct btrfs_stripe);
		if (len > size - pos)
			return btrfs__fail(op, -EIO, "sys_chunk_array: chunk at byte %u overruns the array", pos);
		r = chunk_add(op, &op->fs->chunks, k.offset, a + pos, len);
		if (r < 0)
			return r;
		pos += (uint32_t)len;
	}
	return 0;
}

static int chunk_item(struct btrfs_op *op, const struct btrfs_key *key, const uint8_t *data,
		      uint32_t len, void *priv)
{
	if (key->type != BTRFS_CHUNK_ITEM_KEY)
		return 0;
	return chunk_add(op, priv, key->offset, data, len);
}

/* The chunk tree's list replaces the bootstrap map (it names the system
 * chunks too); the bootstrap map is what reads it. */
static int chunk_tree_load(struct btrfs_op *op)
{
	const struct btrfs_key min = { BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY, 0 };
	const struct btrfs_key max = { BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY, UINT64_MAX };
	struct btrfs *fs = op->fs;
	struct btrfs_chunks fresh = { 0 };
	int r = btrfs__tree_search(op, &fs->chunk_tree, &min, &max, chunk_item, &fresh);

	if (!r && !fresh.n)
		r = btrfs__fail(op, -EIO, "the chunk tree lists no chunks");
	if (r < 0) {
		free(fresh.v);
		return r;
	}
	free(fs->chunks.v);
	fs->chunks = fresh;
	return 0;
}

/* ---- reading ------------------------------------------------------ */

/* Read [phys, phys+len) of the partition. */
int btrfs__read_phys(struct btrfs_op *op, uint64_t phys, void *buf, size_t len)
{
	struct btrfs *fs = op->fs;

	if (phys > fs->size || len > fs->size - phys)
		return btrfs__fail(op, -EIO, "read of %zu bytes at %llu lies beyond the partition",
				   len, (unsigned long long)phys);
	if (disk__pread(fs->d, buf, len, fs->offset + phys) != (ssize_t)len)
		return btrfs__fail(op, -EIO, "cannot read %zu bytes at %llu",
				   len, (unsigned long long)(fs->offset + phys));
	return 0;
}

int btrfs__read_logical(struct btrfs_op *op, uint64_t logical, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		const struct btrfs_chunk_map *m = btrfs__chunk_find(op->fs, logical);
		uint64_t delta, n;
		int r;

		if (!m)
			return btrfs__fail(op, -EIO, "logical address %llu is in no chunk",
					   (unsigned long long)logical);
		delta = logical - m->logical;
		n = MIN((uint64_t)len, m->length - delta);
		r = btrfs__read_phys(op, m->phys[0] + delta, p, (size_t)n);
		if (r < 0)
			return r;
		p += n;
		len -= (size_t)n;
		logical += n;
	}
	return 0;
}

static uint32_t get_le32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

/* ---- superblock and open ------------------------------------------ */

bool btrfs__probe(struct disk *d, uint64_t offset, uint64_t size)
{
	char m[8];

	if (size < BTRFS_SUPER_OFFSET + BTRFS_SUPER_SIZE || !disk__range_ok(d, offset, size))
		return false;
	if (disk__pread(d, m, sizeof(m), offset + BTRFS_SUPER_OFFSET + BTRFS_MAGIC_OFFSET) != sizeof(m))
		return false;
	return !memcmp(m, BTRFS_MAGIC_TEXT, sizeof(m));
}

static const char *csum_name(unsigned int type)
{
	switch (type) {
	case BTRFS_CSUM_TYPE_XXHASH: return "xxhash64";
	case BTRFS_CSUM_TYPE_SHA256: return "sha256";
	case BTRFS_CSUM_TYPE_BLAKE2: return "blake2b";
	default: return "unknown";
	}
}

/* Read the superblock copy at 'at'. 0: good; 1: not a usable copy (the
 * reason in why), try another; -ENOTSUP: a checksum this reader lacks,
 * which every copy shares. */
static int super_read(struct btrfs_op *op, uint64_t at, struct btrfs_sb_disk *sb)
{
	unsigned int type;

	if (at + BTRFS_SUPER_SIZE > op->fs->size)
		return btrfs__fail(op, 1, "superblock at %llu lies beyond the partition",
				   (unsigned long long)at);
	if (btrfs__read_phys(op, at, sb, sizeof(*sb)) < 0)
		return 1;
	if (memcmp(&sb->magic, BTRFS_MAGIC_TEXT, 8))
		return btrfs__fail(op, 1, "bad magic in the superblock at %llu",
				   (unsigned long long)at);
	type = le16toh(sb->csum_type);
	if (type != BTRFS_CSUM_TYPE_CRC32)
		return btrfs__fail(op, -ENOTSUP, "checksum type %u (%s) is not supported, only crc32c",
				   type, csum_name(type));
	if (crc32c__crc((uint8_t *)sb + BTRFS_CSUM_SIZE, sizeof(*sb) - BTRFS_CSUM_SIZE) !=
	    get_le32(sb->csum))
		return btrfs__fail(op, 1, "superblock checksum at %llu does not match",
				   (unsigned long long)at);
	if (le64toh(sb->bytenr) != at)
		return btrfs__fail(op, 1, "superblock at %llu says it is at %llu",
				   (unsigned long long)at, (unsigned long long)le64toh(sb->bytenr));
	return 0;
}

/* The primary copy, or the newest good backup (with a warning). */
static int super_find(struct btrfs_op *op, struct btrfs_sb_disk *sb, const char *where)
{
	static const struct { uint64_t at; const char *name; } backups[] = {
		{ 64 * MiB, "64 MiB" }, { 256 * GiB, "256 GiB" },
	};
	struct btrfs_sb_disk *cand;
	char primary[256], why[256];
	struct btrfs_op bop = *op;
	const char *used = NULL;
	int r = super_read(op, BTRFS_SUPER_OFFSET, sb);

	if (r <= 0)
		return r;
	snprintf(primary, sizeof(primary), "%s", op->err ? op->err : "");
	cand = malloc(sizeof(*cand));
	if (!cand)
		return btrfs__fail(op, -ENOMEM, "out of memory");
	bop.err = why;
	bop.errlen = sizeof(why);
	for (size_t i = 0; i < ARRAY_SIZE(backups); i++) {
		if (backups[i].at + BTRFS_SUPER_SIZE > op->fs->size)
			break;
		r = super_read(&bop, backups[i].at, cand);
		if (r < 0) {
			free(cand);
			return btrfs__fail(op, r, "%s", why);
		}
		if (!r && (!used || le64toh(cand->generation) > le64toh(sb->generation))) {
			memcpy(sb, cand, sizeof(*sb));
			used = backups[i].name;
		}
	}
	free(cand);
	if (!used)
		return btrfs__fail(op, -EIO, "%s (and no good backup copy)", primary);
	pr_warn("%s: %s; using the backup superblock at %s", where, primary, used);
	return 0;
}

static bool pow2_between(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v >= lo && v <= hi && !(v & (v - 1));
}

/* The checks a good checksum does not make, and taking the values over. */
static int super_use(struct btrfs_op *op, const struct btrfs_sb_disk *sb)
{
	struct btrfs *fs = op->fs;
	uint64_t incompat = le64toh(sb->incompat_flags), bad = incompat & ~INCOMPAT_OK;
	uint64_t ndev = le64toh(sb->num_devices);
	const uint8_t *u = sb->fsid;

	fs->sectorsize = le32toh(sb->sectorsize);
	fs->nodesize = le32toh(sb->nodesize);
	if (!pow2_between(fs->sectorsize, 4096, 65536))
		return btrfs__fail(op, -EIO, "sectorsize %u is not a power of two in 4K..64K", fs->sectorsize);
	if (!pow2_between(fs->nodesize, 4096, 65536) || fs->nodesize < fs->sectorsize)
		return btrfs__fail(op, -EIO, "nodesize %u is not a power of two in %u..64K",
				   fs->nodesize, fs->sectorsize);
	if (ndev != 1)
		return btrfs__fail(op, -ENOTSUP, "a filesystem over %llu devices is not supported, only one",
				   (unsigned long long)ndev);
	if (bad)
		return btrfs__fail(op, -ENOTSUP, "incompatible feature bit %d is not supported",
				   __builtin_ctzll(bad));
	if (sb->root_level > BTRFS_LEVEL_MAX || sb->chunk_root_level > BTRFS_LEVEL_MAX)
		return btrfs__fail(op, -EIO, "tree levels %u/%u out of range", sb->root_level,
				   sb->chunk_root_level);
	fs->generation = le64toh(sb->generation);
	fs->root_tree = (struct btrfs_troot){ le64toh(sb->root), fs->generation, sb->root_level };
	fs->chunk_tree = (struct btrfs_troot){ le64toh(sb->chunk_root),
					       le64toh(sb->chunk_root_generation), sb->chunk_root_level };
	fs->root_dir_objectid = le64toh(sb->root_dir_objectid);
	fs->devid = le64toh(sb->dev_item.devid);
	memcpy(fs->meta_fsid, incompat & BTRFS_FEATURE_INCOMPAT_METADATA_UUID ?
	       sb->metadata_uuid : sb->fsid, BTRFS_FSID_SIZE);
	memcpy(fs->label, sb->label, sizeof(fs->label) - 1);
	fs->label[sizeof(fs->label) - 1] = '\0';
	snprintf(fs->uuid, sizeof(fs->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
	return 0;
}

struct btrfs *btrfs__open(struct disk *d, uint64_t offset, uint64_t size,
			  char *err, size_t errlen)
{
	struct btrfs_op op = { .budget = BTRFS_BLOCK_BUDGET };
	struct btrfs_sb_disk *sb = NULL;
	char why[256] = "", where[300];
	struct btrfs *fs = NULL;
	int r = -ENOMEM;

	snprintf(where, sizeof(where), "%s: btrfs at byte %llu", d->path, (unsigned long long)offset);
	if (!disk__range_ok(d, offset, size)) {
		util__fail(err, errlen, "%s: filesystem range %llu+%llu lies beyond the end of the disk",
			   d->path, (unsigned long long)offset, (unsigned long long)size);
		return NULL;
	}
	fs = calloc(1, sizeof(*fs));
	sb = malloc(sizeof(*sb));
	if (!fs || !sb) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	*fs = (struct btrfs){ .d = d, .offset = offset, .size = size };
	for (unsigned int i = 0; i < BTRFS_CACHE_SLOTS; i++)
		fs->cache_addr[i] = UINT64_MAX;         /* never a block address */
	op = (struct btrfs_op){ .fs = fs, .err = why, .errlen = sizeof(why),
				.budget = BTRFS_BLOCK_BUDGET };
	/* the 4 KiB reads of the superblock need a sector size first */
	fs->sectorsize = 4096;
	r = super_find(&op, sb, where);
	if (!r)
		r = super_use(&op, sb);
	if (!r)
		r = sys_array_load(&op, sb);
	if (!r)
		r = chunk_tree_load(&op);
	if (!r)
		r = btrfs__check_top(&op);
	if (r < 0)
		goto fail;
	free(sb);
	return fs;
fail:
	util__fail(err, errlen, "%s: %s", where, why);
	free(sb);
	btrfs__close(fs);
	return NULL;
}

void btrfs__close(struct btrfs *fs)
{
	if (!fs)
		return;
	for (unsigned int i = 0; i < BTRFS_CACHE_SLOTS; i++)
		free(fs->cache_data[i]);
	free(fs->chunks.v);
	ZSTD_freeDCtx(fs->zstd);
	free(fs);
}

const char *btrfs__label(const struct btrfs *fs)
{
	return fs->label;
}

const char *btrfs__uuid(const struct btrfs *fs)
{
	return fs->uuid;
}
