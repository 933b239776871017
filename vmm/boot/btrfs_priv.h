/* btrfs_priv.h — what vmm/boot/btrfs.c (superblock, chunks, tree blocks),
 * btrfs_path.c (subvolumes, names, directories) and btrfs_file.c
 * (extents, decompression) share.
 *
 * Item and key layouts come from the kernel's UAPI <linux/btrfs_tree.h>;
 * the superblock, tree-block header, leaf item and node pointer are not
 * exported there, so their on-disk layouts are spelled out here (checked
 * against the documented sizes below). */
#ifndef DEVICES_BTRFS_PRIV_H
#define DEVICES_BTRFS_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/btrfs_tree.h>

#include "vmm/boot/btrfs.h"

#define BTRFS_SUPER_OFFSET     (64 * 1024ULL)
#define BTRFS_SUPER_SIZE       4096
#define BTRFS_MAGIC_OFFSET     64
#define BTRFS_MAGIC_TEXT       "_BHRfS_M"
#define BTRFS_SYS_ARRAY_SIZE   2048
#define BTRFS_LEVEL_MAX        7      /* BTRFS_MAX_LEVEL is 8 levels: 0..7 */
#define BTRFS_NAME_MAX         255

/* btrfs_file_extent_item.compression (kernel's enum btrfs_compression_type) */
#define BTRFS_COMPRESS_NONE    0
#define BTRFS_COMPRESS_ZLIB    1
#define BTRFS_COMPRESS_LZO     2
#define BTRFS_COMPRESS_ZSTD    3
/* The kernel never writes a compressed extent that holds more than this
 * in RAM or on disk, so anything bigger is corruption. */
#define BTRFS_COMPRESSED_MAX   (128 * 1024)

/* Tree blocks read per API call: far beyond any real lookup, a backstop
 * against images built to make the walk expensive. */
#define BTRFS_BLOCK_BUDGET     (1u << 20)

struct btrfs_sb_disk {
	uint8_t csum[BTRFS_CSUM_SIZE];
	uint8_t fsid[BTRFS_FSID_SIZE];
	__le64 bytenr;
	__le64 flags;
	__le64 magic;
	__le64 generation;
	__le64 root;
	__le64 chunk_root;
	__le64 log_root;
	__le64 unused_log_root_transid;
	__le64 total_bytes;
	__le64 bytes_used;
	__le64 root_dir_objectid;
	__le64 num_devices;
	__le32 sectorsize;
	__le32 nodesize;
	__le32 unused_leafsize;
	__le32 stripesize;
	__le32 sys_chunk_array_size;
	__le64 chunk_root_generation;
	__le64 compat_flags;
	__le64 compat_ro_flags;
	__le64 incompat_flags;
	__le16 csum_type;
	uint8_t root_level;
	uint8_t chunk_root_level;
	uint8_t log_root_level;
	struct btrfs_dev_item dev_item;
	char label[BTRFS_LABEL_SIZE];
	__le64 cache_generation;
	__le64 uuid_tree_generation;
	uint8_t metadata_uuid[BTRFS_FSID_SIZE];
	__le64 nr_global_roots;
	__le64 reserved[27];
	uint8_t sys_chunk_array[BTRFS_SYS_ARRAY_SIZE];
	uint8_t super_roots[4 * 168];
	uint8_t padding[565];
} __attribute__((__packed__));

struct btrfs_header_disk {
	uint8_t csum[BTRFS_CSUM_SIZE];
	uint8_t fsid[BTRFS_FSID_SIZE];
	__le64 bytenr;
	__le64 flags;
	uint8_t chunk_tree_uuid[BTRFS_UUID_SIZE];
	__le64 generation;
	__le64 owner;
	__le32 nritems;
	uint8_t level;
} __attribute__((__packed__));

/* A leaf's item header; 'offset' counts from the end of the header. */
struct btrfs_item_disk {
	struct btrfs_disk_key key;
	__le32 offset;
	__le32 size;
} __attribute__((__packed__));

/* A node's child pointer. */
struct btrfs_key_ptr_disk {
	struct btrfs_disk_key key;
	__le64 blockptr;
	__le64 generation;
} __attribute__((__packed__));

_Static_assert(sizeof(struct btrfs_sb_disk) == BTRFS_SUPER_SIZE, "superblock layout");
_Static_assert(offsetof(struct btrfs_sb_disk, sys_chunk_array) == 0x32b, "sys_chunk_array");
_Static_assert(sizeof(struct btrfs_header_disk) == 101, "tree block header");
_Static_assert(sizeof(struct btrfs_item_disk) == 25, "leaf item");
_Static_assert(sizeof(struct btrfs_key_ptr_disk) == 33, "node pointer");
_Static_assert(sizeof(struct btrfs_dir_item) == 30, "dir item");
_Static_assert(sizeof(struct btrfs_inode_item) == 160, "inode item");
_Static_assert(offsetof(struct btrfs_file_extent_item, disk_bytenr) == 21, "extent item");

/* Where a tree's root block is and what it must look like. */
struct btrfs_troot {
	uint64_t bytenr, generation;
	uint8_t level;
};

/* One chunk: logical [logical, logical+length) is stored at phys[0]
 * (and, for DUP, a second copy at phys[1]) on this device. */
struct btrfs_chunk_map {
	uint64_t logical, length, type;
	uint64_t phys[2];
	unsigned int copies;
};

struct btrfs_chunks {
	struct btrfs_chunk_map *v;      /* sorted by logical, no overlaps */
	size_t n;
};

#define BTRFS_CACHE_SLOTS 64

struct btrfs {
	struct disk *d;
	uint64_t offset, size;          /* the partition on 'd' */
	uint32_t sectorsize, nodesize;
	uint64_t generation, devid, root_dir_objectid;
	uint8_t meta_fsid[BTRFS_FSID_SIZE];  /* what tree-block headers carry */
	struct btrfs_troot root_tree, chunk_tree;
	struct btrfs_chunks chunks;
	/* Verified tree blocks, direct-mapped by logical address. */
	uint64_t cache_addr[BTRFS_CACHE_SLOTS];
	uint8_t *cache_data[BTRFS_CACHE_SLOTS];
	void *zstd;                     /* ZSTD_DCtx, made on first use */
	char label[BTRFS_LABEL_SIZE];
	char uuid[37];
};

/* One API call: where its error line goes and what it may still spend. */
struct btrfs_op {
	struct btrfs *fs;
	const char *what;               /* the path asked for, prefixes errors */
	char *err;
	size_t errlen;
	uint32_t budget;
};

static inline struct btrfs_op btrfs__op(struct btrfs *fs, const char *what, char *err,
				       size_t errlen)
{
	return (struct btrfs_op){ .fs = fs, .what = what, .err = err, .errlen = errlen,
				  .budget = BTRFS_BLOCK_BUDGET };
}

/* Put "what: message" into op->err and return 'e' (a negative errno). */
int btrfs__fail(struct btrfs_op *op, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int btrfs__key_cmp(const struct btrfs_key *a, const struct btrfs_key *b);
void btrfs__key_from_disk(struct btrfs_key *k, const struct btrfs_disk_key *d);

/* btrfs.c: the chunk holding 'logical', or NULL; read [phys, phys+len)
 * of the partition. */
const struct btrfs_chunk_map *btrfs__chunk_find(const struct btrfs *fs, uint64_t logical);
int btrfs__read_phys(struct btrfs_op *op, uint64_t phys, void *buf, size_t len);

/* Copy 'len' bytes at logical address 'logical' (data, not a tree
 * block) into buf, through the chunk map (first copy of DUP). */
int btrfs__read_logical(struct btrfs_op *op, uint64_t logical, void *buf, size_t len);

/* btrfs_tree.c: call fn for every item of the tree with min <= key <= max, in key
 * order, with the item's bytes (valid only during the call). fn returns
 * 0 to go on, 1 to stop, or a negative errno (its error line already
 * written) to fail. */
typedef int (*btrfs_item_fn)(struct btrfs_op *op, const struct btrfs_key *key,
			     const uint8_t *data, uint32_t len, void *priv);
int btrfs__tree_search(struct btrfs_op *op, const struct btrfs_troot *root,
		       const struct btrfs_key *min, const struct btrfs_key *max,
		       btrfs_item_fn fn, void *priv);

/* The one item with exactly 'key', copied into buf (at most 'cap'
 * bytes; *len gets its real size). -ENOENT when absent (no line). */
int btrfs__tree_lookup(struct btrfs_op *op, const struct btrfs_troot *root,
		       const struct btrfs_key *key, void *buf, size_t cap, uint32_t *len);

/* btrfs_path.c */
struct btrfs_inode {
	uint64_t subvol, ino;           /* which tree, which inode */
	struct btrfs_troot root;        /* that subvolume's tree */
	uint32_t mode;
	uint64_t size;
};

/* Resolve 'path' from the top level, following every link. */
int btrfs__resolve(struct btrfs_op *op, const char *path, struct btrfs_inode *out);
/* At open: the top level's tree and root directory can be read. */
int btrfs__check_top(struct btrfs_op *op);
/* The location key of 'name' in directory 'dir' of tree 'root';
 * -ENOENT (no line) when absent. */
int btrfs__dir_lookup(struct btrfs_op *op, const struct btrfs_troot *root, uint64_t dir,
		      const char *name, size_t nlen, struct btrfs_key *loc);

/* A growing list of names, at most 'max' (then 'truncated'). */
struct btrfs_names {
	char **v;
	size_t count, max;
	bool truncated;
	uint64_t only_dirid;            /* subvolume list: in this directory only */
};

/* Add a copy of the name: 0, 1 when the list is full, or -ENOMEM. */
int btrfs__names_add(struct btrfs_op *op, struct btrfs_names *n, const char *name, size_t nlen);

/* btrfs_subvol.c: subvolume 'id' (5 or a free objectid): its tree and
 * root directory objectid; the top level's root directory. */
int btrfs__subvol_root(struct btrfs_op *op, uint64_t id, struct btrfs_troot *root, uint64_t *dirid);
int btrfs__top_dir(struct btrfs_op *op, struct btrfs_inode *top);

/* btrfs_file.c */
/* Where file bytes go: a buffer of the file's size, or a file descriptor. */
struct btrfs_sink {
	uint8_t *buf;
	int fd;
};

/* Write the inode's 'size' bytes (holes and prealloc as zeros) to sink. */
int btrfs__read_data(struct btrfs_op *op, const struct btrfs_inode *ino, uint64_t size,
		     struct btrfs_sink *sink);

/* btrfs_decompress.c: decompress one extent's 'in' into exactly
 * 'out_len' bytes of 'out' (a short stream leaves zeros, as the kernel
 * does). */
int btrfs__decompress(struct btrfs_op *op, int type, const uint8_t *in, size_t in_len,
		      uint8_t *out, size_t out_len);

#endif
