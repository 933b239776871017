/* fuzz_guest.h — a fake guest for the virtio fuzz targets: guest RAM
 * the device reaches through struct guest_mem, and a "driver" that
 * writes descriptor tables and rings there, driven by the fuzzer's input.
 *
 * RAM is two malloc()ed regions back to back, [0, 128K) and [128K, 192K),
 * so ASan reports any access past either, and a buffer straddling them
 * is something the device must refuse (guest_mem__ptr never spans two
 * regions). Queue q's rings sit at FG_RING(q): descriptors, avail ring
 * at +4K, used ring at +8K (room for 256 entries); indirect tables at
 * FG_IND, data buffers from FG_DATA on (crossing the region boundary).
 * Every address the driver writes is raw input, so it may also point
 * anywhere else, or outside RAM.
 *
 * fg_driver_op() runs one driver operation from the input: raw bytes
 * into RAM, one descriptor, a whole chain (direct or indirect) of fresh
 * buffers, avail ring entries and index, the suppression fields. */
#ifndef TESTS_FUZZ_FUZZ_GUEST_H
#define TESTS_FUZZ_FUZZ_GUEST_H

#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ring.h>

#include "tests/fuzz/fuzz_util.h"
#include "virtio/virtio.h"
#include "virtio/virtqueue.h"
#include "vmm/memory.h"

#define FG_R0_SIZE  0x20000ULL
#define FG_R1_SIZE  0x10000ULL
#define FG_RAM_END  (FG_R0_SIZE + FG_R1_SIZE)
#define FG_RING(q)  ((uint64_t)(q) * 0x3000)
#define FG_IND      0xc000ULL
#define FG_DATA     0x10000ULL
#define FG_MAX_QS   256           /* queue sizes the layout has room for */

struct fg_queue {
	uint64_t desc, avail, used;   /* where the driver put the rings */
	uint16_t size;
	uint16_t avail_idx;           /* the driver's next avail index */
	uint16_t next_desc;
};

struct fuzz_guest {
	uint8_t *r[2];
	struct guest_mem mem;
	uint64_t next_data, next_ind;
};

static inline void fg_init(struct fuzz_guest *g)
{
	struct mem_region r[2] = {
		{ .gpa = 0, .size = FG_R0_SIZE },
		{ .gpa = FG_R0_SIZE, .size = FG_R1_SIZE },
	};

	/* 4 KiB aligned like guest pages (the rings' host alignment) */
	g->r[0] = r[0].hva = aligned_alloc(4096, FG_R0_SIZE);
	g->r[1] = r[1].hva = aligned_alloc(4096, FG_R1_SIZE);
	if (!g->r[0] || !g->r[1] || guest_mem__init_from(&g->mem, r, 2) < 0)
		abort();
}

/* Zeroed RAM and a default layout for queue q of 'size' entries. */
static inline void fg_reset(struct fuzz_guest *g)
{
	memset(g->r[0], 0, FG_R0_SIZE);
	memset(g->r[1], 0, FG_R1_SIZE);
	g->next_data = FG_DATA;
	g->next_ind = FG_IND;
}

static inline void fg_queue_default(struct fg_queue *q, int idx, uint16_t size)
{
	*q = (struct fg_queue){ .desc = FG_RING(idx), .avail = FG_RING(idx) + 0x1000,
				.used = FG_RING(idx) + 0x2000, .size = size };
}

static inline void *fg_ptr(struct fuzz_guest *g, uint64_t gpa, uint64_t len)
{
	return guest_mem__ptr(&g->mem, gpa, len);
}

static inline void fg_put16(struct fuzz_guest *g, uint64_t gpa, uint16_t v)
{
	uint16_t *p = fg_ptr(g, gpa, 2);

	if (p)
		__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
}

/* A device-visible iovec must lie wholly in one RAM region. */
static inline bool fg_in_ram(struct fuzz_guest *g, const void *base, size_t len)
{
	const uint8_t *p = base;

	for (int i = 0; i < 2; i++) {
		size_t sz = i ? FG_R1_SIZE : FG_R0_SIZE;

		if (p >= g->r[i] && p <= g->r[i] + sz && len <= (size_t)(g->r[i] + sz - p))
			return true;
	}
	return false;
}

/* What virtqueue.h promises about a popped chain; then read every
 * readable byte and write every writable one, for ASan to see. */
static inline void fg_check_chain(struct fuzz_guest *g, const struct vq_chain *c)
{
	uint64_t out = 0, in = 0;
	volatile uint8_t sink = 0;

	FUZZ_CHECK(c->out_num + c->in_num <= VQ_MAX_IOV, "%u + %u iovecs", c->out_num, c->in_num);
	for (unsigned i = 0; i < c->out_num + c->in_num; i++) {
		const struct iovec *v = &c->iov[i];

		FUZZ_CHECK(v->iov_len && fg_in_ram(g, v->iov_base, v->iov_len),
			   "iovec %u (%zu bytes) outside guest RAM", i, v->iov_len);
		if (i < c->out_num) {
			out += v->iov_len;
			for (size_t k = 0; k < v->iov_len; k += 64)
				sink ^= ((const uint8_t *)v->iov_base)[k];
			sink ^= ((const uint8_t *)v->iov_base)[v->iov_len - 1];
		} else {
			in += v->iov_len;
			memset(v->iov_base, 0xa5, v->iov_len);
		}
	}
	FUZZ_CHECK(out == c->out_len && in == c->in_len, "lengths %llu/%u, %llu/%u",
		   (unsigned long long)out, c->out_len, (unsigned long long)in, c->in_len);
	(void)sink;
}

/* A fresh buffer of len bytes (the bump pointer wraps, and may hand out
 * a buffer that straddles the two regions). */
static inline uint64_t fg_alloc(struct fuzz_guest *g, uint32_t len)
{
	uint64_t a;

	if (g->next_data + len > FG_RAM_END)
		g->next_data = FG_DATA;
	a = g->next_data;
	g->next_data += (len + 15) & ~15u;
	return a;
}

static inline void fg_desc(struct fuzz_guest *g, uint64_t table, uint16_t i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = fg_ptr(g, table + 16ULL * i, 16);

	if (!d)
		return;
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

static inline void fg_avail_add(struct fuzz_guest *g, struct fg_queue *q, uint16_t head)
{
	if (!q->size)
		return;
	fg_put16(g, q->avail + 4 + 2ULL * (q->avail_idx % q->size), head);
	q->avail_idx++;
	fg_put16(g, q->avail + 2, q->avail_idx);
}

/* Operation codes of fg_driver_op() (the caller's own start above). */
enum {
	FG_OP_WRITE,        /* u32 gpa, u8 n, n bytes */
	FG_OP_DESC,         /* u16 index, u32 addr, u32 len, u16 flags, u16 next */
	FG_OP_CHAIN,        /* u8 shape, then per segment u16 len */
	FG_OP_AVAIL,        /* u16 head */
	FG_OP_AVAIL_IDX,    /* u16 idx */
	FG_OP_SUPPRESS,     /* u16 avail flags, u16 used_event */
	FG_OP_NR,
};

/* A chain of 1..8 fresh buffers: shape bits 0-2 = segments - 1, bits 3-5
 * = how many of them (from the end) are device-writable, bit 6 = through
 * an indirect table, bit 7 = publish it in the avail ring. */
static inline void fg_chain(struct fuzz_guest *g, struct fg_queue *q, struct fuzz_in *in)
{
	uint8_t shape = fin_u8(in);
	int n = (shape & 7) + 1, nw = (shape >> 3) & 7;
	bool ind = shape & 0x40;
	uint16_t head = q->size ? q->next_desc % q->size : 0;
	uint64_t table = ind ? g->next_ind : q->desc;
	uint16_t first = ind ? 0 : head, mod = ind ? (uint16_t)n : (q->size ? q->size : 1);

	for (int k = 0; k < n; k++) {
		uint32_t len = fin_u16(in);
		uint16_t i = (uint16_t)((first + k) % mod), nx = (uint16_t)((first + k + 1) % mod);
		uint16_t fl = (k >= n - nw ? VRING_DESC_F_WRITE : 0) |
			      (k + 1 < n ? VRING_DESC_F_NEXT : 0);

		fg_desc(g, table, i, fg_alloc(g, len), len, fl, nx);
	}
	if (ind) {
		fg_desc(g, q->desc, head, table, 16u * (uint32_t)n, VRING_DESC_F_INDIRECT, 0);
		g->next_ind = g->next_ind + 16u * 8 >= FG_DATA ? FG_IND : g->next_ind + 16u * 8;
		q->next_desc++;
	} else {
		q->next_desc = (uint16_t)(q->next_desc + n);
	}
	if (shape & 0x80)
		fg_avail_add(g, q, head);
}

static inline void fg_driver_op(struct fuzz_guest *g, struct fg_queue *q, int op,
				struct fuzz_in *in)
{
	const uint8_t *p;
	uint64_t gpa;
	size_t n;
	uint16_t i;
	uint8_t *dst;

	switch (op) {
	case FG_OP_WRITE:
		gpa = fin_u32(in) % FG_RAM_END;
		n = fin_bytes(in, &p, fin_u8(in));
		dst = fg_ptr(g, gpa, n);
		if (dst && n)
			memcpy(dst, p, n);
		break;
	case FG_OP_DESC:
		i = fin_u16(in);
		gpa = fin_u32(in);
		fg_desc(g, q->desc, q->size ? i % q->size : i, gpa, fin_u32(in), fin_u16(in),
			fin_u16(in));
		break;
	case FG_OP_CHAIN:
		fg_chain(g, q, in);
		break;
	case FG_OP_AVAIL:
		fg_avail_add(g, q, fin_u16(in));
		break;
	case FG_OP_AVAIL_IDX:
		q->avail_idx = fin_u16(in);
		fg_put16(g, q->avail + 2, q->avail_idx);
		break;
	case FG_OP_SUPPRESS:
		fg_put16(g, q->avail, fin_u16(in));
		fg_put16(g, q->avail + 4 + 2ULL * q->size, fin_u16(in));
		break;
	}
}

/* The driver's side of FEATURES_OK, as the virtio-pci transport passes
 * it on (under vdev->lock): features from the input, mostly a subset of
 * the offer; accepted once per reset (*features_ok), and only inside the
 * offer and when the device takes them. */
static inline void fg_features(struct virtio_dev *vdev, struct fuzz_in *in, bool *features_ok)
{
	uint64_t f = fin_u64(in);

	if (fin_u8(in) & 1)   /* mostly a subset of the offer */
		f &= vdev->ops->get_features(vdev);
	if (!*features_ok && !(f & ~vdev->ops->get_features(vdev)) &&
	    vdev->ops->set_features(vdev, f) == 0) {
		vdev->features = f;
		*features_ok = true;
	}
}

/* ---- writing seeds: the same operations, encoded ------------------ */

/* A chain op: 'n' segments of 'len' bytes, the last 'nw' writable;
 * 'qsel' >= 0 is the queue byte targets with several queues read after
 * the operation code. */
static inline void fg_seed_chain(struct fuzz_out *o, uint8_t opcode, int qsel, int n, int nw,
				 bool ind, const uint16_t *len)
{
	fout_u8(o, opcode);
	if (qsel >= 0)
		fout_u8(o, (uint8_t)qsel);
	fout_u8(o, (uint8_t)((n - 1) | nw << 3 | (ind ? 0x40 : 0) | 0x80));
	for (int k = 0; k < n; k++)
		fout_le(o, len[k], 2);
}

#endif
