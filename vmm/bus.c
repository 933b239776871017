/* bus.c — sorted range table with binary search dispatch. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"

int bus__init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
	return -pthread_rwlock_init(&b->lock, NULL);
}

void bus__destroy(struct bus *b)
{
	free(b->range);
	pthread_rwlock_destroy(&b->lock);
	b->range = NULL;
	b->nr = b->cap = 0;
}

/* Index of the first range whose end is above addr. */
static int lower_bound(const struct bus *b, uint64_t addr)
{
	int lo = 0, hi = b->nr;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		const struct bus_range *r = &b->range[mid];
		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus__register(struct bus *b, uint64_t base, uint64_t len,
		  const struct bus_dev_ops *ops, void *dev)
{
	int i, err = 0;

	if (!len || base + len < base)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	i = lower_bound(b, base);
	if (i < b->nr && b->range[i].base < base + len) {
		err = -EEXIST;
		goto out;
	}
	if (b->nr == b->cap) {
		int cap = b->cap ? b->cap * 2 : 16;
		struct bus_range *r = realloc(b->range, (size_t)cap * sizeof(*r));
		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		b->range = r;
		b->cap = cap;
	}
	memmove(&b->range[i + 1], &b->range[i], (size_t)(b->nr - i) * sizeof(b->range[0]));
	b->range[i] = (struct bus_range){ base, len, ops, dev };
	b->nr++;
out:
	pthread_rwlock_unlock(&b->lock);
	return err;
}

int bus__unregister(struct bus *b, uint64_t base)
{
	int i, err = -ENOENT;

	pthread_rwlock_wrlock(&b->lock);
	i = lower_bound(b, base);
	if (i < b->nr && b->range[i].base == base) {
		memmove(&b->range[i], &b->range[i + 1],
			(size_t)(b->nr - i - 1) * sizeof(b->range[0]));
		b->nr--;
		err = 0;
	}
	pthread_rwlock_unlock(&b->lock);
	return err;
}

static const struct bus_range *find(const struct bus *b, uint64_t addr, uint32_t len)
{
	int i = lower_bound(b, addr);

	if (i < b->nr && b->range[i].base <= addr &&
	    addr + len <= b->range[i].base + b->range[i].len)
		return &b->range[i];
	return NULL;
}

bool bus__read(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len)
{
	const struct bus_range *r;
	bool hit = false;

	pthread_rwlock_rdlock(&b->lock);
	r = find(b, addr, len);
	if (r && r->ops->read) {
		r->ops->read(r->dev, addr - r->base, data, len);
		hit = true;
	} else {
		memset(data, 0xff, len);
	}
	pthread_rwlock_unlock(&b->lock);
	return hit;
}

bool bus__write(struct bus *b, uint64_t addr, const uint8_t *data, uint32_t len)
{
	const struct bus_range *r;
	bool hit = false;

	pthread_rwlock_rdlock(&b->lock);
	r = find(b, addr, len);
	if (r && r->ops->write) {
		r->ops->write(r->dev, addr - r->base, data, len);
		hit = true;
	}
	pthread_rwlock_unlock(&b->lock);
	return hit;
}
