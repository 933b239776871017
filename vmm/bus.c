/* bus.c — sorted range table with binary search dispatch; handlers run
 * with the range pinned but no lock held (see bus.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"

int bus__init(struct bus *b, const char *name)
{
	pthread_rwlockattr_t attr;
	int err;

	memset(b, 0, sizeof(*b));
	b->name = name;
	/* Writers first: glibc's default lets a steady stream of readers
	 * (vCPUs' MMIO and port exits) starve (un)registration, a BAR move,
	 * for good (test_bus's three hammering threads held one off past its
	 * 20 s limit on a busy machine). Safe because no thread ever takes
	 * the read lock twice: pin() drops it before the handler runs. */
	err = pthread_rwlockattr_init(&attr);
	if (err)
		return -err;
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	err = pthread_rwlock_init(&b->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (err)
		return -err;
	err = pthread_mutex_init(&b->idle_lock, NULL);
	if (!err) {
		err = pthread_cond_init(&b->idle, NULL);
		if (err)
			pthread_mutex_destroy(&b->idle_lock);
	}
	if (err)
		pthread_rwlock_destroy(&b->lock);
	return -err;
}

void bus__destroy(struct bus *b)
{
	for (int i = 0; i < b->nr; i++)
		free(b->range[i]);
	free(b->range);
	pthread_rwlock_destroy(&b->lock);
	pthread_mutex_destroy(&b->idle_lock);
	pthread_cond_destroy(&b->idle);
	b->range = NULL;
	b->nr = b->cap = 0;
}

/* Index of the first range whose end is above addr. */
static int lower_bound(const struct bus *b, uint64_t addr)
{
	int lo = 0, hi = b->nr;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		const struct bus_range *r = b->range[mid];
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
	struct bus_range *nr;
	int i, err = 0;

	if (!len || base + len < base)
		return -EINVAL;
	/* Allocated before the lock, so no allocation happens under it. */
	nr = calloc(1, sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	*nr = (struct bus_range){ .base = base, .len = len, .ops = ops, .dev = dev };
	pthread_rwlock_wrlock(&b->lock);
	i = lower_bound(b, base);
	if (i < b->nr && b->range[i]->base < base + len) {
		err = -EEXIST;
		goto out;
	}
	if (b->nr == b->cap) {
		int cap = b->cap ? b->cap * 2 : 16;
		struct bus_range **r = realloc(b->range, (size_t)cap * sizeof(*r));
		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		b->range = r;
		b->cap = cap;
	}
	memmove(&b->range[i + 1], &b->range[i], (size_t)(b->nr - i) * sizeof(b->range[0]));
	b->range[i] = nr;
	b->nr++;
	nr = NULL;
out:
	pthread_rwlock_unlock(&b->lock);
	free(nr);
	return err;
}

int bus__unregister(struct bus *b, uint64_t base)
{
	struct bus_range *r = NULL;
	int i;

	pthread_rwlock_wrlock(&b->lock);
	i = lower_bound(b, base);
	if (i < b->nr && b->range[i]->base == base) {
		r = b->range[i];
		memmove(&b->range[i], &b->range[i + 1],
			(size_t)(b->nr - i - 1) * sizeof(b->range[0]));
		b->nr--;
		/* Pins are only taken under the read lock, so from here on the
		 * count only goes down. */
		__atomic_store_n(&r->removed, true, __ATOMIC_SEQ_CST);
	}
	pthread_rwlock_unlock(&b->lock);
	if (!r)
		return -ENOENT;
	/* The unpin that reaches zero sees 'removed' and broadcasts under
	 * idle_lock, which we hold from the check until we sleep. */
	pthread_mutex_lock(&b->idle_lock);
	while (__atomic_load_n(&r->inflight, __ATOMIC_SEQ_CST))
		pthread_cond_wait(&b->idle, &b->idle_lock);
	pthread_mutex_unlock(&b->idle_lock);
	free(r);
	return 0;
}

/* The range covering [addr, addr + len), pinned; NULL if none. */
static struct bus_range *pin(struct bus *b, uint64_t addr, uint32_t len)
{
	struct bus_range *r = NULL;
	int i;

	pthread_rwlock_rdlock(&b->lock);
	i = lower_bound(b, addr);
	if (i < b->nr && b->range[i]->base <= addr &&
	    addr + len <= b->range[i]->base + b->range[i]->len) {
		r = b->range[i];
		__atomic_add_fetch(&r->inflight, 1, __ATOMIC_SEQ_CST);
	}
	pthread_rwlock_unlock(&b->lock);
	return r;
}

static void unpin(struct bus *b, struct bus_range *r)
{
	/* Under idle_lock: once bus__unregister has seen the count at zero
	 * under that lock it frees r, so the last unpin must not touch r after
	 * dropping it (a lock-free decrement followed by a read of 'removed'
	 * raced with that free). Uncontended, it costs far less than the exit
	 * that brought us here. */
	pthread_mutex_lock(&b->idle_lock);
	if (__atomic_sub_fetch(&r->inflight, 1, __ATOMIC_SEQ_CST) == 0 &&
	    __atomic_load_n(&r->removed, __ATOMIC_SEQ_CST))
		pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&b->idle_lock);
}

bool bus__read(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len)
{
	struct bus_range *r = pin(b, addr, len);
	bool hit = false;

	if (r && r->ops->read) {
		r->ops->read(r->dev, addr - r->base, data, len);
		hit = true;
	} else {
		memset(data, 0xff, len);
	}
	if (r)
		unpin(b, r);
	return hit;
}

bool bus__write(struct bus *b, uint64_t addr, const uint8_t *data, uint32_t len)
{
	struct bus_range *r = pin(b, addr, len);
	bool hit = false;

	if (r && r->ops->write) {
		r->ops->write(r->dev, addr - r->base, data, len);
		hit = true;
	}
	if (r)
		unpin(b, r);
	return hit;
}
