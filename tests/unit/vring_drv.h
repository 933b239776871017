/* vring_drv.h — the guest driver's side of a split virtqueue, for the
 * unit tests that drive a virtio device the way Linux's drivers do: the
 * ring laid out in the test's "guest RAM" (guest_ram.h) at ring_gpa
 * (descriptors; the avail ring at +0x4000, the used ring at +0x8000),
 * chains added in descriptor order, the used index read as the device
 * publishes it. Include after <cmocka.h>. */
#ifndef TESTS_UNIT_VRING_DRV_H
#define TESTS_UNIT_VRING_DRV_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "virtio/virtio.h"

#define VRING_DRV_AVAIL  0x4000
#define VRING_DRV_USED   0x8000
#define VRING_DRV_RING(ram_gpa, q)  ((ram_gpa) + (uint64_t)(q) * 0x10000)

struct vring_drv {
	uint8_t *ram;            /* guest RAM as the test sees it ... */
	uint64_t ram_gpa;        /* ... and where the guest sees it */
	uint16_t qsize;
	uint16_t next_desc, avail_idx;
	uint64_t desc_gpa;
	struct vring_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
};

static inline void *vring_drv__hva(const struct vring_drv *q, uint64_t gpa)
{
	return q->ram + (gpa - q->ram_gpa);
}

static inline void vring_drv__init(struct vring_drv *q, uint8_t *ram, uint64_t ram_gpa,
				   uint64_t ring_gpa, uint16_t qsize)
{
	*q = (struct vring_drv){ .ram = ram, .ram_gpa = ram_gpa, .qsize = qsize,
				 .desc_gpa = ring_gpa };
	q->d = vring_drv__hva(q, ring_gpa);
	q->a = vring_drv__hva(q, ring_gpa + VRING_DRV_AVAIL);
	q->u = vring_drv__hva(q, ring_gpa + VRING_DRV_USED);
}

/* One chain of n buffers at gpa[k], len[k] bytes, wr[k]: device-writable;
 * descriptors taken in order (the test keeps fewer than qsize in flight).
 * Published with a release store, as a driver's barrier before idx.
 * Returns the head. */
static inline uint16_t vring_drv__add(struct vring_drv *q, const uint64_t *gpa,
				      const uint32_t *len, const bool *wr, int n)
{
	uint16_t head = q->next_desc;

	for (int k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((head + k) % q->qsize);

		q->d[i].addr = htole64(gpa[k]);
		q->d[i].len = htole32(len[k]);
		q->d[i].flags = htole16((wr[k] ? VRING_DESC_F_WRITE : 0) |
					(k + 1 < n ? VRING_DESC_F_NEXT : 0));
		q->d[i].next = htole16((uint16_t)((head + k + 1) % q->qsize));
	}
	q->next_desc = (uint16_t)((head + n) % q->qsize);
	q->a->ring[q->avail_idx % q->qsize] = htole16(head);
	q->avail_idx++;
	__atomic_store_n(&q->a->idx, htole16(q->avail_idx), __ATOMIC_RELEASE);
	return head;
}

static inline uint16_t vring_drv__used_idx(const struct vring_drv *q)
{
	return le16toh(__atomic_load_n(&q->u->idx, __ATOMIC_ACQUIRE));
}

/* The k-th used entry (k counts from 0 forever). */
static inline struct vring_used_elem vring_drv__used(const struct vring_drv *q, uint16_t k)
{
	struct vring_used_elem e = q->u->ring[k % q->qsize];

	return (struct vring_used_elem){ .id = le32toh(e.id), .len = le32toh(e.len) };
}

static inline void *vring_drv__buf(const struct vring_drv *q, uint16_t i)
{
	return vring_drv__hva(q, le64toh(q->d[i].addr));
}

/* The driver's start as the transport passes it on, under vdev->lock:
 * the features accepted, queues 0 .. nq-1 laid out (zeroed) at
 * VRING_DRV_RING and enabled, DRIVER_OK. The caller has reset the device. */
static inline void vring_drv__start(struct virtio_dev *v, struct vring_drv *q, int nq,
				    uint8_t *ram, uint64_t ram_gpa, struct guest_mem *mem,
				    uint16_t qsize, uint64_t features)
{
	pthread_mutex_lock(&v->lock);
	assert_int_equal(v->ops->set_features(v, features), 0);
	v->features = features;
	for (int i = 0; i < nq; i++) {
		uint64_t ring = VRING_DRV_RING(ram_gpa, i);

		vring_drv__init(&q[i], ram, ram_gpa, ring, qsize);
		memset(q[i].d, 0, VRING_DRV_USED + 0x4000);
		assert_int_equal(virtqueue__enable(&v->vq[i], mem, qsize, ring, ring + VRING_DRV_AVAIL,
						   ring + VRING_DRV_USED, false, false), 0);
		assert_int_equal(v->ops->queue_enable(v, i), 0);
	}
	v->ops->driver_ok(v);
	pthread_mutex_unlock(&v->lock);
}

#endif
