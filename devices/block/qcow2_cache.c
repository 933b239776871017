/* qcow2_cache.c — a small LRU cache of cluster-sized qcow2 tables (L2
 * tables, refcount blocks) keyed by their host offset. Slots of the L2
 * cache may be dirty; evicting a dirty one writes every dirty L2 table
 * back first (behind an fdatasync, see qcow2_priv.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/block/qcow2_priv.h"

int qcow2_cache__init(struct qcow2_cache *c, unsigned n, size_t entry_size)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->entry_size = entry_size;
	c->offs = calloc(n, sizeof(*c->offs));
	c->used = calloc(n, sizeof(*c->used));
	c->dirty = calloc(n, sizeof(*c->dirty));
	c->data = malloc((size_t)n * entry_size);
	if (!c->offs || !c->used || !c->dirty || !c->data) {
		qcow2_cache__free(c);
		return -ENOMEM;
	}
	return 0;
}

void qcow2_cache__free(struct qcow2_cache *c)
{
	free(c->offs);
	free(c->used);
	free(c->dirty);
	free(c->data);
	memset(c, 0, sizeof(*c));
}

int qcow2_cache__find(struct qcow2_cache *c, uint64_t off)
{
	if (!off)
		return -1;
	if (c->offs[c->last] == off) {
		c->used[c->last] = ++c->tick;
		return (int)c->last;
	}
	for (unsigned i = 0; i < c->n; i++) {
		if (c->offs[i] == off) {
			c->used[i] = ++c->tick;
			c->last = i;
			return (int)i;
		}
	}
	return -1;
}

void qcow2_cache__drop(struct qcow2_cache *c, uint64_t off)
{
	int i = qcow2_cache__find(c, off);

	if (i >= 0) {
		c->offs[i] = 0;
		c->dirty[i] = false;
	}
}

static unsigned victim(const struct qcow2_cache *c)
{
	unsigned best = 0;

	for (unsigned i = 0; i < c->n; i++) {
		if (!c->offs[i])
			return i;
		if (c->used[i] < c->used[best])
			best = i;
	}
	return best;
}

int qcow2_cache__get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off, bool load,
		     unsigned *slot)
{
	int i = qcow2_cache__find(c, off);
	unsigned v;
	int r;

	if (i >= 0) {
		*slot = (unsigned)i;
		return 0;
	}
	v = victim(c);
	if (c->dirty[v]) {
		r = qcow2__l2_writeback(s);
		if (r < 0)
			return r;
	}
	c->offs[v] = 0;
	if (load) {
		r = qcow2__pread(s, qcow2_cache__data(c, v), c->entry_size, off);
		if (r < 0)
			return r;
	} else {
		memset(qcow2_cache__data(c, v), 0, c->entry_size);
	}
	c->offs[v] = off;
	c->dirty[v] = false;
	c->used[v] = ++c->tick;
	c->last = v;
	*slot = v;
	return 0;
}
