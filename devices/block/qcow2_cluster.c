/* qcow2_cluster.c — qcow2 address translation: L1 entries (the table
 * kept in memory), L2 tables (through the write-back L2 cache), entry
 * validation and classification, allocating or copying (COW) an L2 table
 * for a write, dropping an entry's references, and writing the metadata
 * back in crash-safe order (see qcow2_priv.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/block/qcow2_priv.h"
#include "vmm/log.h"

int qcow2__corrupt(struct qcow2 *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->n_msgs < 8) {
		s->n_msgs++;
		pr_err("disk image %s: corrupt qcow2 metadata: %s; no further writes", s->path, msg);
	}
	s->broken = true;
	return -EIO;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

bool qcow2__overlaps_meta(const struct qcow2 *s, uint64_t off, uint64_t len)
{
	return overlap(off, len, 0, s->cluster_size) ||
	       overlap(off, len, s->l1_offset, (uint64_t)s->l1_size * 8) ||
	       overlap(off, len, s->rt_offset, (uint64_t)s->rt_clusters * s->cluster_size);
}

uint64_t qcow2__host_limit(const struct qcow2 *s)
{
	uint64_t a = (s->file_end + s->cluster_size - 1) & ~(s->cluster_size - 1);
	uint64_t b = s->end_cluster << s->cluster_bits;

	return a > b ? a : b;
}

/* A cluster-aligned host offset usable for an L2 table or data. */
bool qcow2__host_ok(const struct qcow2 *s, uint64_t off)
{
	return !(off & (s->cluster_size - 1)) && off >= s->cluster_size &&
	       off <= qcow2__host_limit(s) - s->cluster_size &&
	       !qcow2__overlaps_meta(s, off, s->cluster_size);
}

bool qcow2__l1e_ok(const struct qcow2 *s, uint64_t e)
{
	uint64_t off = e & QCOW2_OFFSET_MASK;

	return !(e & QCOW2_L1E_RESERVED) && (!off || qcow2__host_ok(s, off));
}

static int l1_entry(struct qcow2 *s, uint64_t vaddr, uint32_t *idx, uint64_t *l2off)
{
	uint64_t i = vaddr >> (s->l2_bits + s->cluster_bits), e;

	*idx = 0;
	*l2off = 0;
	if (i >= s->l1_size)
		return qcow2__corrupt(s, "offset 0x%" PRIx64 " is beyond the L1 table", vaddr);
	e = s->l1[i];
	*idx = (uint32_t)i;
	*l2off = e & QCOW2_OFFSET_MASK;
	if (!qcow2__l1e_ok(s, e))
		return qcow2__corrupt(s, "L1 entry %" PRIu64 " is invalid (0x%" PRIx64 ")", i, e);
	return 0;
}

static unsigned l2_index(const struct qcow2 *s, uint64_t vaddr)
{
	return (unsigned)((vaddr >> s->cluster_bits) & ((1ull << s->l2_bits) - 1));
}

int qcow2__l2_lookup(struct qcow2 *s, uint64_t vaddr, uint64_t *entry)
{
	uint64_t l2off;
	uint32_t i;
	unsigned slot;
	int r = l1_entry(s, vaddr, &i, &l2off);

	*entry = 0;
	if (r < 0 || !l2off)
		return r;
	r = qcow2_cache__get(s, &s->l2_cache, l2off, true, &slot);
	if (r < 0)
		return r;
	*entry = qcow2_be64(qcow2_cache__data(&s->l2_cache, slot) + 8 * l2_index(s, vaddr));
	return 0;
}

bool qcow2__l2e_ok(const struct qcow2 *s, uint64_t e, enum qcow2_ctype *type, uint64_t *host)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		*host = e & s->coffset_mask;
		*type = QCOW2_COMPRESSED;
		return !(e & QCOW2_OFLAG_COPIED) && *host >= s->cluster_size && *host < s->file_end;
	}
	*host = e & QCOW2_OFFSET_MASK;
	if (e & QCOW2_OFLAG_ZERO)
		*type = *host ? QCOW2_ZERO_ALLOC : QCOW2_ZERO_PLAIN;
	else
		*type = *host ? QCOW2_NORMAL : QCOW2_UNALLOC;
	return !(e & QCOW2_L2E_RESERVED) && !(s->version < 3 && (e & QCOW2_OFLAG_ZERO)) &&
	       (!*host || qcow2__host_ok(s, *host));
}

int qcow2__classify(struct qcow2 *s, uint64_t e, enum qcow2_ctype *type, uint64_t *host)
{
	if (qcow2__l2e_ok(s, e, type, host))
		return 0;
	if (e & QCOW2_OFLAG_COMPRESSED)
		return qcow2__corrupt(s, "compressed L2 entry 0x%" PRIx64 " is invalid", e);
	return qcow2__corrupt(s, "L2 entry 0x%" PRIx64 " is invalid", e);
}

static void l1_mark_dirty(struct qcow2 *s, uint32_t i)
{
	if (s->l1_dirty_lo == s->l1_dirty_hi) {
		s->l1_dirty_lo = i;
		s->l1_dirty_hi = i + 1;
		return;
	}
	if (i < s->l1_dirty_lo)
		s->l1_dirty_lo = i;
	if (i + 1 > s->l1_dirty_hi)
		s->l1_dirty_hi = i + 1;
}

int qcow2__l2_for_write(struct qcow2 *s, uint64_t vaddr, struct qcow2_l2ref *ref)
{
	uint64_t l2off, noff;
	uint32_t i;
	unsigned slot;
	int old, r;

	if (s->broken)
		return -EIO;
	r = l1_entry(s, vaddr, &i, &l2off);
	if (r < 0)
		return r;
	ref->index = l2_index(s, vaddr);
	if (l2off && (s->l1[i] & QCOW2_OFLAG_COPIED)) {
		r = qcow2_cache__get(s, &s->l2_cache, l2off, true, &slot);
		ref->slot = slot;
		return r;
	}
	/* no table yet, or one shared with a snapshot: a new one */
	r = qcow2__alloc_cluster(s, &noff);
	if (r < 0)
		return r;
	r = qcow2_cache__get(s, &s->l2_cache, noff, false, &slot);
	if (r < 0)
		return r;
	if (l2off) {
		old = qcow2_cache__find(&s->l2_cache, l2off);
		if (old >= 0)
			memcpy(qcow2_cache__data(&s->l2_cache, slot),
			       qcow2_cache__data(&s->l2_cache, (unsigned)old), s->cluster_size);
		else
			r = qcow2__pread(s, qcow2_cache__data(&s->l2_cache, slot), s->cluster_size,
					 l2off);
		if (r < 0) {
			qcow2_cache__drop(&s->l2_cache, noff);
			return r;
		}
		r = qcow2__free_later(s, l2off, s->cluster_size);
	}
	s->l2_cache.dirty[slot] = true;
	s->l1[i] = noff | QCOW2_OFLAG_COPIED;
	l1_mark_dirty(s, i);
	ref->slot = slot;
	return r;
}

uint64_t qcow2__l2_get(struct qcow2 *s, const struct qcow2_l2ref *ref)
{
	return qcow2_be64(qcow2_cache__data(&s->l2_cache, ref->slot) + 8 * ref->index);
}

void qcow2__l2_set(struct qcow2 *s, const struct qcow2_l2ref *ref, uint64_t entry)
{
	qcow2_put_be64(qcow2_cache__data(&s->l2_cache, ref->slot) + 8 * ref->index, entry);
	s->l2_cache.dirty[ref->slot] = true;
}

int qcow2__release_entry(struct qcow2 *s, enum qcow2_ctype type, uint64_t host, uint64_t entry)
{
	uint64_t nsec;

	switch (type) {
	case QCOW2_NORMAL:
	case QCOW2_ZERO_ALLOC:
		return qcow2__free_later(s, host, s->cluster_size);
	case QCOW2_COMPRESSED:
		/* the 512-byte sectors the data spans, as qemu-img check counts */
		nsec = ((entry >> s->csize_shift) & s->csize_mask) + 1;
		return qcow2__free_later(s, host & ~511ull, nsec * 512);
	default:
		return 0;
	}
}

int qcow2__l2_writeback(struct qcow2 *s)
{
	struct qcow2_cache *c = &s->l2_cache;
	bool any = false;
	int r;

	for (unsigned i = 0; i < c->n; i++)
		any |= c->dirty[i];
	if (!any)
		return 0;
	r = qcow2__sync(s);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < c->n; i++) {
		if (!c->dirty[i])
			continue;
		r = qcow2__pwrite(s, qcow2_cache__data(c, i), c->entry_size, c->offs[i]);
		if (r < 0)
			return r;
		c->dirty[i] = false;
	}
	return 0;
}

static int l1_writeback(struct qcow2 *s)
{
	uint32_t lo = s->l1_dirty_lo, n = s->l1_dirty_hi - s->l1_dirty_lo;
	uint8_t *buf;
	int r;

	if (!n)
		return 0;
	r = qcow2__sync(s);
	if (r < 0)
		return r;
	buf = malloc((size_t)n * 8);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		qcow2_put_be64(buf + 8 * i, s->l1[lo + i]);
	r = qcow2__pwrite(s, buf, (size_t)n * 8, s->l1_offset + (uint64_t)lo * 8);
	free(buf);
	if (r == 0)
		s->l1_dirty_lo = s->l1_dirty_hi = 0;
	return r;
}

int qcow2__meta_writeback(struct qcow2 *s)
{
	int r = qcow2__l2_writeback(s);

	if (r == 0)
		r = l1_writeback(s);
	if (r == 0 && s->n_pending) {
		r = qcow2__sync(s);
		if (r == 0)
			r = qcow2__apply_frees(s);
	}
	return r;
}
