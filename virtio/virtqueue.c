/* virtqueue.c — device side of a virtio 1.x split virtqueue.
 *
 * Memory ordering follows spec 2.7.13 / Linux vhost: avail->idx is read
 * with acquire before the ring entry and descriptors it covers; used
 * elements are written before used->idx is published with release; a full
 * barrier separates our index stores from reading the driver's suppression
 * fields (used_event / avail->flags) and vice versa for avail_event.
 *
 * Every value read from guest memory is read once into a local before it
 * is checked, so a guest changing the ring under us cannot slip a value
 * past a check (no double fetch).
 */
#include <endian.h>
#include <string.h>

#include "virtio/virtqueue.h"
#include "vmm/log.h"

#define LOAD16(p)     le16toh(__atomic_load_n((p), __ATOMIC_RELAXED))
#define LOAD16_ACQ(p) le16toh(__atomic_load_n((p), __ATOMIC_ACQUIRE))
#define STORE16(p, v) __atomic_store_n((p), htole16(v), __ATOMIC_RELAXED)
#define FULL_BARRIER() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#define DESC_SIZE sizeof(struct vring_desc)

static inline __virtio16 *used_event(const struct virtqueue *vq)
{
	return &vq->avail->ring[vq->size];
}

static inline __virtio16 *avail_event(const struct virtqueue *vq)
{
	return (__virtio16 *)&vq->used->ring[vq->size];
}

/* Mark the queue broken; logged on the first violation only, since a
 * hostile guest could otherwise flood the log. */
static int vq_fail(struct virtqueue *vq, const char *why)
{
	if (!vq->broken)
		pr_guest("virtqueue: %s; queue stopped until reset", why);
	vq->broken = true;
	vq->err = why;
	return -1;
}

void virtqueue__reset(struct virtqueue *vq)
{
	memset(vq, 0, sizeof(*vq));
}

/* Host pointer to one ring: aligned in guest-physical space (spec 2.7) and
 * in host space (for the atomic accesses), wholly inside one RAM region. */
static void *map_ring(const struct guest_mem *mem, uint64_t gpa, uint64_t len,
		      uint64_t align)
{
	void *p;

	if (gpa % align)
		return NULL;
	p = guest_mem__ptr(mem, gpa, len);
	if (!p || (uintptr_t)p % align)
		return NULL;
	return p;
}

int virtqueue__enable(struct virtqueue *vq, const struct guest_mem *mem,
		      uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
		      bool event_idx, bool indirect)
{
	virtqueue__reset(vq);
	if (size == 0 || size > VQ_MAX_SIZE || (size & (size - 1))) {
		vq->err = "queue size is not a power of two in 1..32768";
		return -1;
	}
	/* Sizes per spec 2.7: the event-idx fields are always accounted. */
	vq->desc = map_ring(mem, desc, (uint64_t)DESC_SIZE * size,
			    VRING_DESC_ALIGN_SIZE);
	if (!vq->desc) {
		vq->err = "descriptor table misaligned or outside guest RAM";
		return -1;
	}
	vq->avail = map_ring(mem, avail, 6 + 2ULL * size, VRING_AVAIL_ALIGN_SIZE);
	if (!vq->avail) {
		vq->desc = NULL;
		vq->err = "available ring misaligned or outside guest RAM";
		return -1;
	}
	vq->used = map_ring(mem, used, 6 + 8ULL * size, VRING_USED_ALIGN_SIZE);
	if (!vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->err = "used ring misaligned or outside guest RAM";
		return -1;
	}
	vq->mem = mem;
	vq->size = size;
	vq->desc_gpa = desc;
	vq->avail_gpa = avail;
	vq->used_gpa = used;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	/* A fresh ring: the driver has seen used idx 0, no interrupt owed. */
	vq->signalled_used_valid = true;
	/* Last, with release: a datapath thread that sees the queue enabled
	 * (virtqueue__pop's acquire) sees every field above. */
	__atomic_store_n(&vq->enabled, true, __ATOMIC_RELEASE);
	return 0;
}

/* Re-read avail->idx. The driver never has more than 'size' chains
 * outstanding, so a bigger jump is a corrupt (or hostile) index. */
static int refresh_avail(struct virtqueue *vq)
{
	uint16_t idx = LOAD16_ACQ(&vq->avail->idx);

	if ((uint16_t)(idx - vq->last_avail_idx) > vq->size)
		return vq_fail(vq, "available index moved more than the queue size");
	vq->avail_idx_shadow = idx;
	return 0;
}

/* With event-idx and kicks wanted, publish avail_event = last_avail_idx so
 * the driver kicks for its next buffer. Returns true if it had to be
 * updated (the caller must then re-check the ring: a buffer added before
 * the driver saw the new value would not be kicked). */
static bool rearm_kick(struct virtqueue *vq)
{
	if (!vq->event_idx || vq->notify_disabled ||
	    LOAD16(avail_event(vq)) == vq->last_avail_idx)
		return false;
	STORE16(avail_event(vq), vq->last_avail_idx);
	FULL_BARRIER();
	return true;
}

/* Copy one descriptor out of guest memory (any alignment: indirect tables
 * are wherever the guest put them); the compiler barrier pins the copy so
 * later uses cannot turn into second reads of guest memory. */
static inline void read_desc(const uint8_t *p, struct vring_desc *d)
{
	memcpy(d, p, sizeof(*d));
	__asm__ __volatile__("" ::: "memory");
}

static int add_buf(struct virtqueue *vq, struct vq_chain *c, uint16_t flags,
		   uint64_t addr, uint32_t len)
{
	bool writable = flags & VRING_DESC_F_WRITE;
	void *p;

	if (!writable && c->in_num)   /* spec 2.7.4.2 */
		return vq_fail(vq, "device-readable descriptor after a device-writable one");
	if (len == 0)
		return 0;
	if ((uint64_t)c->out_len + c->in_len + len > UINT32_MAX)
		return vq_fail(vq, "descriptor chain longer than 4 GiB");
	if (c->out_num + c->in_num >= VQ_MAX_IOV)
		return vq_fail(vq, "descriptor chain has too many segments");
	p = guest_mem__ptr(vq->mem, addr, len);
	if (!p)
		return vq_fail(vq, "descriptor buffer outside guest RAM");
	c->iov[c->out_num + c->in_num] = (struct iovec){ .iov_base = p, .iov_len = len };
	if (writable) {
		c->in_num++;
		c->in_len += len;
	} else {
		c->out_num++;
		c->out_len += len;
	}
	return 0;
}

/* Walk the chain from 'head': zero or more direct descriptors, optionally
 * ending in one that points at an indirect table (spec 2.7.5.3). */
static int walk_chain(struct virtqueue *vq, struct vq_chain *c, uint16_t head)
{
	const uint8_t *table = (const uint8_t *)vq->desc;
	uint32_t max = vq->size, seen = 0, i = head;
	bool in_indirect = false;
	struct vring_desc d;

	c->head = head;
	c->out_num = c->in_num = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		uint16_t flags;
		uint32_t len;
		uint64_t addr;

		/* A chain cannot be longer than its table: more is a loop. */
		if (++seen > max)
			return vq_fail(vq, in_indirect ?
				       "loop in indirect descriptor table" :
				       "descriptor loop or chain longer than the queue");
		read_desc(table + (size_t)i * DESC_SIZE, &d);
		flags = le16toh(d.flags);
		len = le32toh(d.len);
		addr = le64toh(d.addr);

		if (flags & VRING_DESC_F_INDIRECT) {
			/* The WRITE flag of this descriptor is ignored (spec). */
			if (in_indirect)
				return vq_fail(vq, "indirect descriptor inside an indirect table");
			if (!vq->indirect)
				return vq_fail(vq, "indirect descriptor but VIRTIO_F_INDIRECT_DESC not negotiated");
			if (flags & VRING_DESC_F_NEXT)
				return vq_fail(vq, "indirect descriptor with NEXT set");
			if (len == 0 || len % DESC_SIZE)
				return vq_fail(vq, "indirect table length not a non-zero multiple of 16");
			if (len / DESC_SIZE > VQ_MAX_INDIRECT)
				return vq_fail(vq, "indirect table too large");
			table = guest_mem__ptr(vq->mem, addr, len);
			if (!table)
				return vq_fail(vq, "indirect table outside guest RAM");
			max = len / DESC_SIZE;
			seen = 0;
			i = 0;
			in_indirect = true;
			continue;
		}
		if (add_buf(vq, c, flags, addr, len) < 0)
			return -1;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = le16toh(d.next);
		if (i >= max)
			return vq_fail(vq, in_indirect ?
				       "indirect descriptor next index outside the table" :
				       "descriptor next index outside the queue");
	}
}

int virtqueue__pop(struct virtqueue *vq, struct vq_chain *chain)
{
	uint16_t head;

	if (vq->broken)
		return -1;
	if (!__atomic_load_n(&vq->enabled, __ATOMIC_ACQUIRE))
		return 0;
	if (vq->last_avail_idx == vq->avail_idx_shadow) {
		if (refresh_avail(vq) < 0)
			return -1;
		if (vq->last_avail_idx == vq->avail_idx_shadow && rearm_kick(vq) &&
		    refresh_avail(vq) < 0)
			return -1;
		if (vq->last_avail_idx == vq->avail_idx_shadow)
			return 0;
	}
	/* Ordered after the acquire load of avail->idx in refresh_avail(). */
	head = LOAD16(&vq->avail->ring[vq->last_avail_idx & (vq->size - 1)]);
	if (head >= vq->size)
		return vq_fail(vq, "available ring entry is not a descriptor index");
	if (walk_chain(vq, chain, head) < 0)
		return -1;
	vq->last_avail_idx++;
	vq->popped++;
	return 1;
}

void virtqueue__unpop(struct virtqueue *vq, unsigned int n)
{
	if (!vq->enabled || vq->broken || n == 0)
		return;
	/* Only chains popped and not yet returned can be given back. The
	 * shadow stays: it is still a checked avail->idx, now further ahead
	 * of last_avail_idx (by at most 'size', as before the pops). */
	if (n > vq->popped - vq->pushed || n > vq->size) {
		pr_err("virtqueue: cannot un-pop %u chains, %llu in flight", n,
		       (unsigned long long)(vq->popped - vq->pushed));
		return;
	}
	vq->last_avail_idx = (uint16_t)(vq->last_avail_idx - n);
	vq->popped -= n;
}

bool virtqueue__empty(struct virtqueue *vq)
{
	if (!vq->enabled || vq->broken)
		return true;
	if (vq->last_avail_idx != vq->avail_idx_shadow)
		return false;
	return LOAD16_ACQ(&vq->avail->idx) == vq->last_avail_idx;
}

void virtqueue__fill(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	vring_used_elem_t *e;

	if (!vq->enabled || vq->broken)
		return;
	e = &vq->used->ring[vq->used_idx & (vq->size - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(len), __ATOMIC_RELAXED);
	vq->used_idx++;
	vq->pushed++;
}

void virtqueue__flush(struct virtqueue *vq)
{
	if (!vq->enabled || vq->broken)
		return;
	/* Release: the elements (and the data written into the buffers)
	 * become visible before the index that hands them to the driver. */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
}

void virtqueue__push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	virtqueue__fill(vq, head, len);
	virtqueue__flush(vq);
}

bool virtqueue__should_notify(struct virtqueue *vq)
{
	uint16_t old, new;
	bool valid, notify;

	if (!vq->enabled || vq->broken)
		return false;
	virtqueue__flush(vq);   /* what we notify about must be visible */
	/* used->idx store before the load of used_event / avail->flags;
	 * pairs with the driver's barrier between its loads and stores. */
	FULL_BARRIER();
	old = vq->signalled_used;
	new = vq->used_idx;
	valid = vq->signalled_used_valid;
	if (valid && old == new)
		return false;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (vq->event_idx)
		notify = !valid || vring_need_event(LOAD16(used_event(vq)), new, old);
	else
		notify = !(LOAD16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	if (notify)
		vq->notified++;
	else
		vq->suppressed++;
	return notify;
}

void virtqueue__disable_notify(struct virtqueue *vq)
{
	if (!vq->enabled || vq->broken)
		return;
	vq->notify_disabled = true;
	/* With event-idx the device MUST keep flags 0 (spec 2.7.10); a stale
	 * avail_event already holds kicks off. */
	if (!vq->event_idx)
		STORE16(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
}

bool virtqueue__enable_notify(struct virtqueue *vq)
{
	if (!vq->enabled || vq->broken)
		return false;
	vq->notify_disabled = false;
	if (vq->event_idx)
		STORE16(avail_event(vq), vq->last_avail_idx);
	else
		STORE16(&vq->used->flags, 0);
	/* The store must be visible before we look at avail->idx again:
	 * otherwise a buffer added meanwhile gets neither a kick nor a pop. */
	FULL_BARRIER();
	return vq->last_avail_idx != vq->avail_idx_shadow ||
	       LOAD16_ACQ(&vq->avail->idx) != vq->last_avail_idx;
}

uint16_t virtqueue__get_last_avail(const struct virtqueue *vq)
{
	return vq->last_avail_idx;
}

void virtqueue__set_last_avail(struct virtqueue *vq, uint16_t idx)
{
	vq->last_avail_idx = idx;
	vq->avail_idx_shadow = idx;
	if (vq->enabled)
		vq->used_idx = LOAD16(&vq->used->idx);
	/* Whether the driver was notified for what is in the ring is
	 * unknown: notify on the next occasion. */
	vq->signalled_used_valid = false;
}
