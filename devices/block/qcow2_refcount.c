/* qcow2_refcount.c — qcow2 refcounts and cluster allocation: reading and
 * writing entries of 1..64 bits in refcount blocks (write-through), new
 * refcount blocks placed inside the range they describe (so they count
 * themselves), growing the refcount table at the end of the file together
 * with the blocks covering it, and the queue of deferred decrements. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "devices/block/qcow2_priv.h"
#include "vmm/log.h"

static uint64_t rb_read(const uint8_t *b, uint64_t i, unsigned order)
{
	switch (order) {
	case 0: return (b[i / 8] >> (i % 8)) & 1;
	case 1: return (b[i / 4] >> (2 * (i % 4))) & 3;
	case 2: return (b[i / 2] >> (4 * (i % 2))) & 15;
	case 3: return b[i];
	case 4: return qcow2_be16(b + 2 * i);
	case 5: return qcow2_be32(b + 4 * i);
	default: return qcow2_be64(b + 8 * i);
	}
}

static void rb_write(uint8_t *b, uint64_t i, unsigned order, uint64_t v)
{
	unsigned sh;

	switch (order) {
	case 0:
	case 1:
	case 2:
		sh = (unsigned)(i % (8u >> order)) << order;
		b[(i << order) / 8] = (uint8_t)((b[(i << order) / 8] & ~(((1u << (1u << order)) - 1) << sh)) |
						(v << sh));
		break;
	case 3: b[i] = (uint8_t)v; break;
	case 4: qcow2_put_be16(b + 2 * i, (uint16_t)v); break;
	case 5: qcow2_put_be32(b + 4 * i, (uint32_t)v); break;
	default: qcow2_put_be64(b + 8 * i, v); break;
	}
}

static uint64_t rc_max(const struct qcow2 *s)
{
	return s->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << s->refcount_order)) - 1;
}

bool qcow2__rte_ok(const struct qcow2 *s, uint64_t e)
{
	return !(e & QCOW2_RTE_RESERVED) && !(e & (s->cluster_size - 1)) && e >= s->cluster_size &&
	       e <= qcow2__host_limit(s) - s->cluster_size &&
	       !qcow2__overlaps_meta(s, e, s->cluster_size);
}

/* The refcount block offset for table index t (0: none), validated. */
static int rt_entry(struct qcow2 *s, uint64_t t, uint64_t *off)
{
	uint64_t e;

	*off = 0;
	if (t >= s->rt_entries || !s->rt[t])
		return 0;
	e = s->rt[t];
	if (!qcow2__rte_ok(s, e))
		return qcow2__corrupt(s, "refcount table entry %" PRIu64 " is invalid (0x%" PRIx64 ")",
				      t, e);
	*off = e;
	return 0;
}

int qcow2__refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *rc)
{
	uint64_t boff;
	unsigned slot;
	int r;

	*rc = 0;
	r = rt_entry(s, cluster >> s->rb_bits, &boff);
	if (r < 0 || !boff)
		return r;
	r = qcow2_cache__get(s, &s->rb_cache, boff, true, &slot);
	if (r < 0)
		return r;
	*rc = rb_read(qcow2_cache__data(&s->rb_cache, slot),
		      cluster & ((1ull << s->rb_bits) - 1), s->refcount_order);
	return 0;
}

/* Clusters that must never be handed out, whatever their refcount says. */
static bool protected_cluster(const struct qcow2 *s, uint64_t c)
{
	return c == 0 || qcow2__overlaps_meta(s, c << s->cluster_bits, s->cluster_size);
}

/* Write one entry of a cached block through to the file. */
static int rb_store(struct qcow2 *s, uint64_t boff, unsigned slot, uint64_t idx, uint64_t v)
{
	uint8_t *b = qcow2_cache__data(&s->rb_cache, slot);
	uint64_t byte = (idx << s->refcount_order) / 8;
	size_t n = s->refcount_order < 3 ? 1 : 1u << (s->refcount_order - 3);

	rb_write(b, idx, s->refcount_order, v);
	return qcow2__pwrite(s, b + byte, n, boff + byte);
}

static int write_rt_entry(struct qcow2 *s, uint64_t t)
{
	uint8_t be[8];

	qcow2_put_be64(be, s->rt[t]);
	return qcow2__pwrite(s, be, sizeof(be), s->rt_offset + t * 8);
}

/* A new refcount block for table index t, placed in its own range (all
 * of it has refcount 0, since no block describes it), avoiding 'pending'
 * (the cluster whose refcount is being set). */
static int alloc_refblock(struct qcow2 *s, uint64_t t, uint64_t pending)
{
	uint64_t first = t << s->rb_bits, n = 1ull << s->rb_bits, k;
	unsigned slot;
	int r;

	for (k = first; k < first + n; k++)
		if (k != pending && !protected_cluster(s, k))
			break;
	if (k == first + n)
		return qcow2__corrupt(s, "no room for refcount block %" PRIu64, t);
	r = qcow2_cache__get(s, &s->rb_cache, k << s->cluster_bits, false, &slot);
	if (r < 0)
		return r;
	rb_write(qcow2_cache__data(&s->rb_cache, slot), k - first, s->refcount_order, 1);
	/* durable before the table points to it (rare: one per block range) */
	r = qcow2__pwrite(s, qcow2_cache__data(&s->rb_cache, slot), s->cluster_size,
			  k << s->cluster_bits);
	if (r == 0)
		r = qcow2__sync(s);
	if (r < 0) {
		qcow2_cache__drop(&s->rb_cache, k << s->cluster_bits);
		return r;
	}
	s->rt[t] = k << s->cluster_bits;
	if (k + 1 > s->end_cluster)
		s->end_cluster = k + 1;
	return write_rt_entry(s, t);
}

static int rc_set(struct qcow2 *s, uint64_t cluster, uint64_t v);

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static bool range_needs_block(const struct qcow2 *s, uint64_t r)
{
	return r >= s->rt_entries || !s->rt[r];
}

/* A refcount table with at least t + 1 entries: the new table and the
 * refcount blocks for the clusters it and they occupy go at the end of
 * the file, are made durable, then the header switches to the table. */
static int grow_rt(struct qcow2 *s, uint64_t t)
{
	uint64_t cs = s->cluster_size, per = cs / 8, start = s->end_cluster, nb = 0, end;
	uint64_t n_tc = div_up(t + 1, per), *nrt = NULL, bi = 0;
	uint8_t *buf = NULL, hdr[12];
	int r = -ENOMEM;

	if (n_tc < 2ull * s->rt_clusters)
		n_tc = 2ull * s->rt_clusters;
	for (;;) {
		uint64_t need, n_tc2, nb2 = 0;

		end = start + n_tc + nb;
		need = ((end - 1) >> s->rb_bits) + 1;
		if (need < t + 1)
			need = t + 1;
		n_tc2 = div_up(need, per) > n_tc ? div_up(need, per) : n_tc;
		for (uint64_t q = start >> s->rb_bits; q <= (end - 1) >> s->rb_bits; q++)
			nb2 += range_needs_block(s, q);
		if (n_tc2 == n_tc && nb2 == nb)
			break;
		n_tc = n_tc2;
		nb = nb2;
	}
	if (n_tc * cs > QCOW2_MAX_REFTABLE_BYTES) {
		pr_guest_err("disk image %s: refcount table would exceed %u MiB; image full", s->path,
		       QCOW2_MAX_REFTABLE_BYTES >> 20);
		return -ENOSPC;
	}
	nrt = calloc(n_tc * per, sizeof(*nrt));
	buf = malloc(n_tc * cs > cs ? n_tc * cs : cs);
	if (!nrt || !buf)
		goto out;
	memcpy(nrt, s->rt, s->rt_entries * sizeof(*nrt));
	for (uint64_t q = start >> s->rb_bits; q <= (end - 1) >> s->rb_bits; q++) {
		uint64_t lo = q << s->rb_bits, hi = lo + (1ull << s->rb_bits);

		if (lo < start)
			lo = start;
		if (hi > end)
			hi = end;
		if (!range_needs_block(s, q)) {
			/* an existing block: count the new clusters in it */
			for (uint64_t c = lo; c < hi; c++) {
				r = rc_set(s, c, 1);
				if (r < 0)
					goto out;
			}
			continue;
		}
		memset(buf, 0, cs);
		for (uint64_t c = lo; c < hi; c++)
			rb_write(buf, c - (q << s->rb_bits), s->refcount_order, 1);
		nrt[q] = (start + n_tc + bi) * cs;
		r = qcow2__pwrite(s, buf, cs, nrt[q]);
		if (r < 0)
			goto out;
		bi++;
	}
	for (uint64_t i = 0; i < n_tc * per; i++)
		qcow2_put_be64(buf + 8 * i, nrt[i]);
	r = qcow2__pwrite(s, buf, n_tc * cs, start * cs);
	if (r == 0)
		r = qcow2__sync(s);
	if (r < 0)
		goto out;
	qcow2_put_be64(hdr, start * cs);
	qcow2_put_be32(hdr + 8, (uint32_t)n_tc);
	r = qcow2__pwrite(s, hdr, sizeof(hdr), 48);
	if (r == 0)
		r = qcow2__sync(s);
	if (r < 0) {
		qcow2__corrupt(s, "cannot switch to the grown refcount table");
		goto out;
	}
	r = qcow2__free_later(s, s->rt_offset, (uint64_t)s->rt_clusters * cs);
	free(s->rt);
	s->rt = nrt;
	nrt = NULL;
	s->rt_entries = n_tc * per;
	s->rt_offset = start * cs;
	s->rt_clusters = (uint32_t)n_tc;
	if (s->end_cluster < end)
		s->end_cluster = end;
out:
	free(nrt);
	free(buf);
	return r;
}

/* Set the refcount of 'cluster' to v on disk, creating the refcount
 * block (and growing the table) it needs. */
static int rc_set(struct qcow2 *s, uint64_t cluster, uint64_t v)
{
	uint64_t t = cluster >> s->rb_bits, boff;
	unsigned slot;
	int r;

	if (v > rc_max(s))
		return qcow2__corrupt(s, "refcount of cluster %" PRIu64 " would overflow", cluster);
	if (t >= s->rt_entries) {
		r = grow_rt(s, t);
		if (r < 0)
			return r;
	}
	r = rt_entry(s, t, &boff);
	if (r < 0)
		return r;
	if (!boff) {
		r = alloc_refblock(s, t, cluster);
		if (r < 0)
			return r;
		boff = s->rt[t];
	}
	r = qcow2_cache__get(s, &s->rb_cache, boff, true, &slot);
	if (r < 0)
		return r;
	return rb_store(s, boff, slot, cluster & ((1ull << s->rb_bits) - 1), v);
}

static int find_free(struct qcow2 *s, uint64_t *out)
{
	uint64_t c = s->free_hint, per = 1ull << s->rb_bits;
	uint64_t max = QCOW2_OFFSET_MASK >> s->cluster_bits;

	while (c < max) {
		uint64_t boff;
		unsigned slot;
		const uint8_t *b;
		int r = rt_entry(s, c >> s->rb_bits, &boff);

		if (r < 0)
			return r;
		if (!boff) {
			if (!protected_cluster(s, c)) {
				*out = c;
				return 0;
			}
			c++;
			continue;
		}
		r = qcow2_cache__get(s, &s->rb_cache, boff, true, &slot);
		if (r < 0)
			return r;
		b = qcow2_cache__data(&s->rb_cache, slot);
		for (uint64_t i = c & (per - 1); i < per; i++, c++) {
			if (!rb_read(b, i, s->refcount_order) && !protected_cluster(s, c)) {
				*out = c;
				return 0;
			}
		}
	}
	pr_guest_err("disk image %s: no free cluster left", s->path);
	return -ENOSPC;
}

int qcow2__alloc_cluster(struct qcow2 *s, uint64_t *off)
{
	uint64_t c;
	int r;

	if (s->broken)
		return -EIO;
	r = find_free(s, &c);
	if (r < 0)
		return r;
	if (s->end_cluster < c + 1)
		s->end_cluster = c + 1;
	r = rc_set(s, c, 1);
	if (r < 0)
		return r;
	s->free_hint = c + 1;
	*off = c << s->cluster_bits;
	return 0;
}

int qcow2__free_later(struct qcow2 *s, uint64_t off, uint64_t len)
{
	uint64_t first, last;

	if (!len)
		return 0;
	first = off >> s->cluster_bits;
	last = (off + len - 1) >> s->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		if (s->n_pending == s->cap_pending) {
			size_t cap = s->cap_pending ? 2 * s->cap_pending : 64;
			uint64_t *p = realloc(s->pending, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;     /* the cluster leaks: harmless */
			s->pending = p;
			s->cap_pending = cap;
		}
		s->pending[s->n_pending++] = c;
	}
	return 0;
}

int qcow2__apply_frees(struct qcow2 *s)
{
	int ret = 0;

	for (size_t i = 0; i < s->n_pending && ret == 0; i++) {
		uint64_t c = s->pending[i], rc;

		ret = qcow2__refcount_get(s, c, &rc);
		if (ret < 0)
			break;
		if (rc == 0) {
			ret = qcow2__corrupt(s, "freeing cluster %" PRIu64 " whose refcount is 0", c);
			break;
		}
		ret = rc_set(s, c, rc - 1);
		if (ret == 0 && rc == 1) {
			if (c < s->free_hint)
				s->free_hint = c;
			qcow2_cache__drop(&s->l2_cache, c << s->cluster_bits);
			qcow2_cache__drop(&s->rb_cache, c << s->cluster_bits);
		}
	}
	s->zout_valid = false;
	s->n_pending = 0;
	return ret;
}
