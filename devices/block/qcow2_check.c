/* qcow2_check.c — the consistency check a writable qcow2 image passes
 * before it is opened, like a read-only `qemu-img check`.
 *
 * Why: the write path trusts the metadata. A data cluster whose L2 entry
 * has the COPIED flag is overwritten in place, and the allocator hands out
 * any cluster whose refcount is 0. So an image in which two L2 entries
 * share a COPIED cluster, an L2 entry points into an L2 table or refcount
 * block, or a cluster in use has refcount 0 would let one guest write
 * silently change other guest data or the image's own tables. Entries are
 * otherwise validated lazily, when used; here the whole reference graph is
 * walked once: header, L1 table, refcount table and blocks, L2 tables,
 * data and compressed clusters. Each host cluster gets a use count and a
 * flag if something writes it in place; the image is refused when a
 * cluster written in place is used twice or a cluster is used more often
 * than its refcount says. Leaks (refcount above the uses) are harmless
 * and allowed. Work is bounded by the tables' sizes, all of which
 * read_header() capped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/block/qcow2_priv.h"

struct check {
	struct qcow2 *s;
	uint64_t n;             /* clusters tracked */
	uint8_t *uses;          /* per cluster, saturating at 255 */
	uint8_t *inplace;       /* per cluster: written in place */
	char *err;
	size_t errlen;
	int bad;
};

static int problem(struct check *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int problem(struct check *k, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(k->err, k->errlen,
		 "disk image %s: corrupt qcow2 metadata: %s; repair it with "
		 "'qemu-img check -r all' or open it read-only", k->s->path, msg);
	k->bad = -1;
	return -1;
}

/* Count one use of every cluster that [off, off + len) touches. */
static int use(struct check *k, uint64_t off, uint64_t len, bool inplace, const char *what)
{
	uint64_t cs = k->s->cluster_size, first = off / cs, last = (off + len - 1) / cs;

	if (!len)
		return 0;
	for (uint64_t c = first; c <= last; c++) {
		if (c >= k->n)
			return problem(k, "%s at 0x%" PRIx64 " lies beyond the image", what, off);
		if ((k->inplace[c] || inplace) && k->uses[c])
			return problem(k, "cluster at 0x%" PRIx64 " is used twice (%s)", c * cs, what);
		if (k->uses[c] < UINT8_MAX)
			k->uses[c]++;
		k->inplace[c] |= inplace;
	}
	return 0;
}

static int walk_refcount_table(struct check *k)
{
	struct qcow2 *s = k->s;

	for (uint64_t t = 0; t < s->rt_entries; t++) {
		if (!s->rt[t])
			continue;
		if (!qcow2__rte_ok(s, s->rt[t]))
			return problem(k, "refcount table entry %" PRIu64 " is invalid (0x%" PRIx64 ")",
				       t, s->rt[t]);
		if (use(k, s->rt[t], s->cluster_size, true, "a refcount block") < 0)
			return -1;
	}
	return 0;
}

static int walk_l2(struct check *k, uint32_t i, const uint8_t *l2)
{
	struct qcow2 *s = k->s;
	uint64_t per = 1ull << s->l2_bits;

	for (uint64_t j = 0; j < per; j++) {
		uint64_t e = qcow2_be64(l2 + 8 * j), host, nsec;
		enum qcow2_ctype type;

		if (!qcow2__l2e_ok(s, e, &type, &host))
			return problem(k, "L2 entry %" PRIu64 " of table %" PRIu32
				       " is invalid (0x%" PRIx64 ")", j, i, e);
		switch (type) {
		case QCOW2_NORMAL:
		case QCOW2_ZERO_ALLOC:
			if (use(k, host, s->cluster_size, e & QCOW2_OFLAG_COPIED, "a data cluster") < 0)
				return -1;
			break;
		case QCOW2_COMPRESSED:
			/* the 512-byte sectors the data spans, as the refcounts count them */
			nsec = ((e >> s->csize_shift) & s->csize_mask) + 1;
			if (use(k, host & ~511ull, nsec * 512, false, "compressed data") < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	return 0;
}

static int walk_l1(struct check *k)
{
	struct qcow2 *s = k->s;

	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t e = s->l1[i], off = e & QCOW2_OFFSET_MASK;
		int r;

		if (!qcow2__l1e_ok(s, e))
			return problem(k, "L1 entry %" PRIu32 " is invalid (0x%" PRIx64 ")", i, e);
		if (!off)
			continue;
		if (use(k, off, s->cluster_size, e & QCOW2_OFLAG_COPIED, "an L2 table") < 0)
			return -1;
		/* cbuf is free while the image is being opened */
		r = qcow2__pread(s, s->cbuf, s->cluster_size, off);
		if (r < 0)
			return problem(k, "cannot read the L2 table at 0x%" PRIx64 ": %s", off,
				       strerror(-r));
		if (walk_l2(k, i, s->cbuf) < 0)
			return -1;
	}
	return 0;
}

static int compare_refcounts(struct check *k)
{
	struct qcow2 *s = k->s;

	for (uint64_t c = 0; c < k->n; c++) {
		uint64_t rc;
		int r;

		if (!k->uses[c])
			continue;
		r = qcow2__refcount_get(s, c, &rc);
		if (r < 0)
			return problem(k, "cannot read the refcount of cluster 0x%" PRIx64 ": %s",
				       c << s->cluster_bits, strerror(-r));
		if (rc < k->uses[c])
			return problem(k, "cluster at 0x%" PRIx64 " is in use %u time(s) but its "
				       "refcount is %" PRIu64, c << s->cluster_bits, k->uses[c], rc);
	}
	return 0;
}

int qcow2__check(struct qcow2 *s, char *err, size_t errlen)
{
	/* Compressed data may run up to two clusters past the last one. */
	struct check k = { .s = s, .n = (qcow2__host_limit(s) >> s->cluster_bits) + 2,
			   .err = err, .errlen = errlen };
	uint64_t cs = s->cluster_size;

	k.uses = calloc(k.n, 1);
	k.inplace = calloc(k.n, 1);
	if (!k.uses || !k.inplace) {
		free(k.uses);
		free(k.inplace);
		snprintf(err, errlen, "disk image %s: out of memory checking its qcow2 metadata",
			 s->path);
		return -1;
	}
	if (use(&k, 0, cs, true, "the header") == 0 &&
	    use(&k, s->l1_offset, (uint64_t)s->l1_size * 8, true, "the L1 table") == 0 &&
	    use(&k, s->rt_offset, (uint64_t)s->rt_clusters * cs, true, "the refcount table") == 0 &&
	    walk_refcount_table(&k) == 0 && walk_l1(&k) == 0)
		compare_refcounts(&k);
	free(k.uses);
	free(k.inplace);
	return k.bad;
}
