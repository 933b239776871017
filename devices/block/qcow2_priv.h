/* qcow2_priv.h — internals shared by the qcow2 files: the on-disk
 * constants, the state of one open image, and what each file provides
 * (qcow2.c: open/header/backing/close; qcow2_io.c: the disk ops;
 * qcow2_cluster.c: L1/L2 lookup and metadata write-back; qcow2_cache.c:
 * the table caches; qcow2_refcount.c: refcounts and cluster allocation;
 * qcow2_compress.c: compressed clusters; qcow2_check.c: the consistency
 * check before a writable open).
 *
 * Crash safety: refcount increments, refcount blocks and refcount table
 * growth are written through at once; data is written before the L2 entry
 * that points to it; L2 tables are dirty in the cache and written only
 * after an fdatasync (so the refcounts and data they point to are durable
 * first); the L1 table after the L2 tables, again behind an fdatasync;
 * refcount decrements of clusters no longer referenced are queued and
 * applied only once the L2/L1 tables that dropped them are durable. A
 * crash therefore leaves at worst leaked clusters.
 */
#ifndef DEVICES_QCOW2_PRIV_H
#define DEVICES_QCOW2_PRIV_H

#include <endian.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "devices/block/disk.h"

#define QCOW2_MIN_CLUSTER_BITS   9
#define QCOW2_MAX_CLUSTER_BITS   21
#define QCOW2_MAX_L1_BYTES       (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_BACKING_DEPTH  16
#define QCOW2_MAX_PENDING_FREES  4096

#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN       UINT64_C(0x1f)

#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       1ull
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull
#define QCOW2_L1E_RESERVED     0x7f000000000001ffull
#define QCOW2_L2E_RESERVED     0x3f000000000001feull
#define QCOW2_RTE_RESERVED     0x1ffull

enum qcow2_compression { QCOW2_COMP_ZLIB = 0, QCOW2_COMP_ZSTD = 1 };

enum qcow2_ctype {
	QCOW2_UNALLOC,          /* backing data or zeroes */
	QCOW2_ZERO_PLAIN,       /* v3 zero flag, no cluster */
	QCOW2_ZERO_ALLOC,       /* v3 zero flag, cluster kept */
	QCOW2_NORMAL,
	QCOW2_COMPRESSED,
};

/* A small LRU cache of cluster-sized tables keyed by host offset. */
struct qcow2_cache {
	size_t entry_size;
	unsigned n;
	uint64_t *offs;         /* host offset per slot, 0 = empty */
	uint64_t *used;         /* LRU stamps */
	bool *dirty;
	uint8_t *data;          /* n * entry_size */
	uint64_t tick;
	unsigned last;
};

struct qcow2 {
	pthread_mutex_t lock;
	int fd;
	const char *path;       /* the disk's path, for messages */
	bool read_only;
	bool broken;            /* bad metadata met: no more writes */
	unsigned n_msgs;        /* corruption lines logged so far */

	uint32_t version;
	unsigned cluster_bits;
	uint64_t cluster_size;
	unsigned l2_bits;       /* log2(entries per L2 table) */
	unsigned refcount_order;
	unsigned rb_bits;       /* log2(entries per refcount block) */
	uint64_t size;          /* virtual size */
	enum qcow2_compression compression;
	unsigned csize_shift;
	uint64_t csize_mask;
	uint64_t coffset_mask;

	uint64_t *l1;           /* host-endian copy of the L1 table */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint32_t l1_dirty_lo, l1_dirty_hi;      /* [lo, hi) to write back */

	uint64_t *rt;           /* host-endian copy of the refcount table */
	uint64_t rt_entries;
	uint64_t rt_offset;
	uint32_t rt_clusters;

	struct qcow2_cache l2_cache;    /* L2 tables, big-endian, write-back */
	struct qcow2_cache rb_cache;    /* refcount blocks, write-through */

	uint64_t file_end;      /* bytes: the file's known length */
	uint64_t end_cluster;   /* first cluster past everything in use */
	uint64_t free_hint;     /* no free cluster below this index */

	uint64_t *pending;      /* cluster indexes whose refcount drops */
	size_t n_pending, cap_pending;

	uint8_t *cbuf;          /* one cluster: copy-on-write assembly */
	uint8_t *zin;           /* compressed input, two clusters */
	uint8_t *zout;          /* last decompressed cluster */
	uint64_t zout_entry;
	bool zout_valid;
	void *zstd_dctx;

	struct disk *backing;   /* read-only, or NULL */
};

/* ---- big-endian fields -------------------------------------------- */
static inline uint16_t qcow2_be16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

static inline uint32_t qcow2_be32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static inline uint64_t qcow2_be64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static inline void qcow2_put_be16(void *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void qcow2_put_be32(void *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void qcow2_put_be64(void *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

/* ---- qcow2_io.c: file I/O helpers and the disk ops ----------------- */
/* Whole-buffer transfers on the image file; reads past EOF give zeroes;
 * writes extend file_end/end_cluster. 0 or -errno. */
int qcow2__pread(struct qcow2 *s, void *buf, size_t len, uint64_t off);
int qcow2__pwrite(struct qcow2 *s, const void *buf, size_t len, uint64_t off);
int qcow2__sync(struct qcow2 *s);
ssize_t qcow2__preadv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
ssize_t qcow2__pwritev(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
int qcow2__flush(struct disk *d);
int qcow2__discard(struct disk *d, uint64_t off, uint64_t len);
int qcow2__write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap);

/* ---- qcow2_cache.c -------------------------------------------------- */
int qcow2_cache__init(struct qcow2_cache *c, unsigned n, size_t entry_size);
void qcow2_cache__free(struct qcow2_cache *c);
/* The slot holding host offset 'off', loading it (or zero-filling it
 * when !load) into the least recently used slot if absent; a dirty
 * victim triggers an L2 write-back first. 0 or -errno. */
int qcow2_cache__get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off, bool load,
		     unsigned *slot);
int qcow2_cache__find(struct qcow2_cache *c, uint64_t off);
void qcow2_cache__drop(struct qcow2_cache *c, uint64_t off);
static inline uint8_t *qcow2_cache__data(struct qcow2_cache *c, unsigned slot)
{
	return c->data + (size_t)slot * c->entry_size;
}

/* ---- qcow2_cluster.c ------------------------------------------------ */
/* Where an L2 entry lives, for writes: the cached table and the index. */
struct qcow2_l2ref {
	unsigned slot;
	unsigned index;
};

/* Log one line (rate-limited), mark the image broken; returns -EIO. */
int qcow2__corrupt(struct qcow2 *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True if [off, off + len) overlaps the header cluster, the L1 table or
 * the refcount table. */
bool qcow2__overlaps_meta(const struct qcow2 *s, uint64_t off, uint64_t len);
/* One past the highest host byte an entry may point into. */
uint64_t qcow2__host_limit(const struct qcow2 *s);
/* A cluster-aligned host offset usable for an L2 table or data. */
bool qcow2__host_ok(const struct qcow2 *s, uint64_t off);
/* Side-effect-free validity of an L1 entry, and of an L2 entry (which is
 * classified too; host = cluster or compressed data offset). */
bool qcow2__l1e_ok(const struct qcow2 *s, uint64_t e);
bool qcow2__l2e_ok(const struct qcow2 *s, uint64_t e, enum qcow2_ctype *type, uint64_t *host);
/* The L2 entry for virtual address 'vaddr' (0 when no L2 table). */
int qcow2__l2_lookup(struct qcow2 *s, uint64_t vaddr, uint64_t *entry);
/* Validate an L2 entry and classify it; host = cluster or compressed
 * data offset. -EIO (logged, image marked) when it is bad. */
int qcow2__classify(struct qcow2 *s, uint64_t entry, enum qcow2_ctype *type, uint64_t *host);
/* The L2 table for 'vaddr', writable: allocated or copied (COW) as
 * needed, its L1 entry updated. */
int qcow2__l2_for_write(struct qcow2 *s, uint64_t vaddr, struct qcow2_l2ref *ref);
uint64_t qcow2__l2_get(struct qcow2 *s, const struct qcow2_l2ref *ref);
void qcow2__l2_set(struct qcow2 *s, const struct qcow2_l2ref *ref, uint64_t entry);
/* Drop the reference an entry held on its host cluster(s) (queued). */
int qcow2__release_entry(struct qcow2 *s, enum qcow2_ctype type, uint64_t host, uint64_t entry);
/* fdatasync, then write every dirty L2 table. */
int qcow2__l2_writeback(struct qcow2 *s);
/* All metadata: L2 tables, then L1, then queued refcount decrements,
 * each step behind an fdatasync. */
int qcow2__meta_writeback(struct qcow2 *s);

/* ---- qcow2_refcount.c ----------------------------------------------- */
/* Side-effect-free validity of a (non-zero) refcount table entry. */
bool qcow2__rte_ok(const struct qcow2 *s, uint64_t e);
int qcow2__refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *rc);
/* A free cluster, its refcount set to 1 on disk; *off its host offset. */
int qcow2__alloc_cluster(struct qcow2 *s, uint64_t *off);
/* Queue one refcount decrement for each cluster overlapping the range. */
int qcow2__free_later(struct qcow2 *s, uint64_t off, uint64_t len);
/* Apply the queued decrements (the caller made the tables durable). */
int qcow2__apply_frees(struct qcow2 *s);

/* ---- qcow2_check.c -------------------------------------------------- */
/* Before a writable open: every cluster the image's metadata reaches is
 * valid, counted by its refcount, and a cluster written in place is
 * reached once. Otherwise a write could land on a cluster that is still
 * in use (the allocator trusts refcounts) and silently change other data
 * or metadata. 0, or -1 with the reason in err. */
int qcow2__check(struct qcow2 *s, char *err, size_t errlen);

/* ---- qcow2_compress.c ----------------------------------------------- */
/* Decompress the cluster of a compressed L2 entry; *out points into s. */
int qcow2__read_compressed(struct qcow2 *s, uint64_t entry, const uint8_t **out);
void qcow2__compress_free(struct qcow2 *s);

#endif
