/* test_virtqueue.c — split virtqueue: chains, indirect tables, index
 * wrap-around, notification suppression, hostile rings and a fuzz loop.
 *
 * The rings live in a malloc'd buffer described as guest RAM at RAM_GPA;
 * a small in-test "driver" adds buffers the way Linux virtio_ring does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/guest_ram.h"
#include "virtio/virtqueue.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define RAM_GPA   0x100000ULL
#define RAM_SIZE  0x100000ULL
#define DESC_OFF  0x00000
#define AVAIL_OFF 0x08000
#define USED_OFF  0x0c000
#define IND_OFF   0x10000   /* indirect tables */
#define DATA_OFF  0x20000   /* buffers */

struct tq {
	uint8_t *ram;
	struct guest_mem mem;
	struct virtqueue vq;
	struct vq_chain chain;
	uint16_t size;
	struct vring_desc *d;
	struct vring_avail *a;
	struct vring_used *u;
	uint16_t next_desc, avail_idx;
	uint64_t next_data;
};

struct seg {
	uint32_t len;
	bool write;
};

static struct tq T;

static uint64_t gpa(uint64_t off) { return RAM_GPA + off; }
static void *hva(uint64_t g) { return T.ram + (g - RAM_GPA); }

static int setup(void **state)
{
	memset(&T, 0, sizeof(T));
	T.ram = guest_ram_new(&T.mem, RAM_GPA, RAM_SIZE);
	T.d = hva(gpa(DESC_OFF));
	T.a = hva(gpa(AVAIL_OFF));
	T.u = hva(gpa(USED_OFF));
	log__verbosity = LOG_ERR;   /* expected violations warn */
	return 0;
}

static int teardown(void **state)
{
	free(T.ram);
	return 0;
}

/* Fresh, zeroed rings (indirect tables and buffers are left alone). */
static void tq_enable(uint16_t size, bool event_idx, bool indirect)
{
	memset(T.ram, 0, IND_OFF);
	T.avail_idx = 0;
	T.next_desc = 0;
	T.size = size;
	T.next_data = DATA_OFF;
	assert_int_equal(virtqueue__enable(&T.vq, &T.mem, size, gpa(DESC_OFF),
					   gpa(AVAIL_OFF), gpa(USED_OFF),
					   event_idx, indirect), 0);
	assert_true(T.vq.enabled);
}

static uint64_t alloc_data(uint32_t len)
{
	uint64_t g;

	if (T.next_data + len > RAM_SIZE)
		T.next_data = DATA_OFF;
	g = gpa(T.next_data);
	T.next_data += (len + 15) & ~15u;
	return g;
}

static void set_desc(struct vring_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/* Publish 'head' in the avail ring, as virtqueue_add + kick would. */
static void avail_put(uint16_t head)
{
	T.a->ring[T.avail_idx & (T.size - 1)] = htole16(head);
	T.avail_idx++;
	__atomic_store_n(&T.a->idx, htole16(T.avail_idx), __ATOMIC_RELEASE);
}

/* Make table[first], table[first+1], ... (mod 'mod') one chain of n
 * fresh buffers. */
static void fill_chain(struct vring_desc *table, uint16_t first, uint16_t mod,
		       const struct seg *s, int n)
{
	for (int k = 0; k < n; k++) {
		uint16_t i = (first + k) % mod, nx = (first + k + 1) % mod;
		uint16_t fl = (s[k].write ? VRING_DESC_F_WRITE : 0) |
			      (k + 1 < n ? VRING_DESC_F_NEXT : 0);
		set_desc(&table[i], alloc_data(s[k].len), s[k].len, fl, nx);
	}
}

static uint16_t drv_add(const struct seg *s, int n)
{
	uint16_t head = T.next_desc;

	fill_chain(T.d, head, T.size, s, n);
	T.next_desc = (head + n) % T.size;
	avail_put(head);
	return head;
}

/* One ring descriptor pointing at a table of n descriptors at IND_OFF. */
static uint16_t drv_add_indirect(const struct seg *s, int n)
{
	uint16_t head = T.next_desc;

	fill_chain(hva(gpa(IND_OFF)), 0, n, s, n);
	set_desc(&T.d[head], gpa(IND_OFF), 16 * n, VRING_DESC_F_INDIRECT, 0);
	T.next_desc = (head + 1) % T.size;
	avail_put(head);
	return head;
}

static void check_chain_in_ram(const struct vq_chain *c)
{
	for (unsigned int k = 0; k < c->out_num + c->in_num; k++) {
		uint8_t *b = c->iov[k].iov_base;
		assert_true(b >= T.ram && b + c->iov[k].iov_len <= T.ram + RAM_SIZE);
	}
}

static int pop(void)
{
	return virtqueue__pop(&T.vq, &T.chain);
}

/* Pop one chain and check its shape (head < 0: any head). */
static void expect_chain(int head, unsigned int out_num, unsigned int in_num,
			 uint32_t out_len, uint32_t in_len)
{
	assert_int_equal(pop(), 1);
	if (head >= 0)
		assert_int_equal(T.chain.head, head);
	assert_int_equal(T.chain.out_num, out_num);
	assert_int_equal(T.chain.in_num, in_num);
	assert_int_equal(T.chain.out_len, out_len);
	assert_int_equal(T.chain.in_len, in_len);
	check_chain_in_ram(&T.chain);
}

static void test_enable_checks(void **state)
{
	struct virtqueue *vq = &T.vq;
	struct guest_mem mem2;
	uint64_t end = RAM_GPA + RAM_SIZE;
	const uint16_t bad_sizes[] = { 0, 3, 100, 65535, 49152 };

	for (size_t k = 0; k < ARRAY_SIZE(bad_sizes); k++) {
		assert_int_equal(virtqueue__enable(vq, &T.mem, bad_sizes[k], gpa(0),
						   gpa(AVAIL_OFF), gpa(USED_OFF), 0, 0), -1);
		assert_string_equal(vq->err, "queue size is not a power of two in 1..32768");
		assert_false(vq->enabled);
	}
	/* misaligned rings */
	assert_int_equal(virtqueue__enable(vq, &T.mem, 8, gpa(8), gpa(AVAIL_OFF), gpa(USED_OFF), 0, 0), -1);
	assert_non_null(strstr(vq->err, "descriptor table"));
	assert_int_equal(virtqueue__enable(vq, &T.mem, 8, gpa(0), gpa(AVAIL_OFF + 1), gpa(USED_OFF), 0, 0), -1);
	assert_non_null(strstr(vq->err, "available ring"));
	assert_int_equal(virtqueue__enable(vq, &T.mem, 8, gpa(0), gpa(AVAIL_OFF), gpa(USED_OFF + 2), 0, 0), -1);
	assert_non_null(strstr(vq->err, "used ring"));
	/* outside RAM, or running off its end */
	assert_int_equal(virtqueue__enable(vq, &T.mem, 8, 0, gpa(AVAIL_OFF), gpa(USED_OFF), 0, 0), -1);
	assert_int_equal(virtqueue__enable(vq, &T.mem, 8, end - 16 * 8 + 16, gpa(AVAIL_OFF), gpa(USED_OFF), 0, 0), -1);
	assert_int_equal(virtqueue__enable(vq, &T.mem, 8, gpa(0), UINT64_MAX - 1, gpa(USED_OFF), 0, 0), -1);
	/* avail/used fit only without their trailing event-idx field */
	assert_int_equal(virtqueue__enable(vq, &T.mem, 8, gpa(0), end - 4 - 16, gpa(USED_OFF), 0, 0), -1);
	assert_int_equal(virtqueue__enable(vq, &T.mem, 8, gpa(0), gpa(AVAIL_OFF), end - 4 - 64, 0, 0), -1);
	assert_false(vq->enabled);
	assert_int_equal(virtqueue__pop(vq, &T.chain), 0);   /* disabled: nothing */
	/* exactly at the end is fine; so is the largest size */
	assert_int_equal(virtqueue__enable(vq, &T.mem, 8, gpa(0), end - 22, end - 96, 1, 1), 0);
	assert_int_equal(virtqueue__enable(vq, &T.mem, 32768, gpa(0), gpa(0x80000), gpa(0x90000), 1, 1), 0);
	assert_true(vq->enabled);
	assert_null(vq->err);
	assert_int_equal(virtqueue__enable(vq, &T.mem, 1, gpa(0), gpa(AVAIL_OFF), gpa(USED_OFF), 0, 0), 0);
	/* RAM whose host mapping is 2 bytes off its guest address: the ring
	 * must be aligned both in guest-physical and in host space */
	guest_mem__init_from(&mem2, &(struct mem_region){ RAM_GPA + 2, RAM_SIZE - 2, T.ram }, 1);
	assert_int_equal(virtqueue__enable(vq, &mem2, 8, gpa(16), gpa(AVAIL_OFF), gpa(USED_OFF), 0, 0), -1);
	assert_non_null(strstr(vq->err, "descriptor table"));   /* host */
	assert_int_equal(virtqueue__enable(vq, &mem2, 8, gpa(18), gpa(AVAIL_OFF), gpa(USED_OFF), 0, 0), -1);
	assert_non_null(strstr(vq->err, "descriptor table"));   /* guest */
}

static void test_simple_out(void **state)
{
	const struct seg s[] = { { 12, false }, { 1500, false } };
	struct vq_chain *c = &T.chain;
	uint16_t head;

	tq_enable(8, false, false);
	assert_true(virtqueue__empty(&T.vq));
	assert_int_equal(pop(), 0);
	head = drv_add(s, 2);
	assert_false(virtqueue__empty(&T.vq));
	expect_chain(head, 2, 0, 1512, 0);
	assert_ptr_equal(c->iov[0].iov_base, hva(le64toh(T.d[head].addr)));
	assert_int_equal(c->iov[0].iov_len, 12);
	assert_ptr_equal(c->iov[1].iov_base, hva(le64toh(T.d[head + 1].addr)));
	assert_int_equal(c->iov[1].iov_len, 1500);
	assert_int_equal(pop(), 0);
	assert_int_equal(le16toh(T.u->idx), 0);
	virtqueue__push(&T.vq, head, 0);
	assert_int_equal(le16toh(T.u->idx), 1);
	assert_int_equal(le32toh(T.u->ring[0].id), head);
	assert_int_equal(le32toh(T.u->ring[0].len), 0);
	assert_int_equal(T.vq.popped, 1);
	assert_int_equal(T.vq.pushed, 1);
}

static void test_out_in_and_zero_len(void **state)
{
	const struct seg s[] = { { 16, false }, { 0, false }, { 100, true }, { 0, true }, { 4000, true } };
	struct vq_chain *c = &T.chain;
	uint16_t head;

	tq_enable(16, false, false);
	head = drv_add(s, 5);
	/* zero-length buffers are never touched: even a wild address is ok */
	T.d[head + 3].addr = htole64(0xdead00000000ULL);
	expect_chain(head, 1, 2, 16, 4100);
	assert_int_equal(c->iov[1].iov_len, 100);
	assert_ptr_equal(c->iov[2].iov_base, hva(le64toh(T.d[head + 4].addr)));
	virtqueue__push(&T.vq, head, 4100);
	assert_int_equal(le32toh(T.u->ring[0].len), 4100);
}

/* Indices start just below 65536 so both rings wrap mid-test. */
static void test_wraparound_and_batches(void **state)
{
	struct vq_chain *c = &T.chain;
	uint16_t heads[3];

	tq_enable(8, true, false);
	T.avail_idx = 65530;
	T.a->idx = htole16(65530);
	T.u->idx = htole16(65530);
	virtqueue__set_last_avail(&T.vq, 65530);
	assert_int_equal(T.vq.used_idx, 65530);
	for (int round = 0; round < 40; round++) {
		for (int k = 0; k < 3; k++) {
			struct seg s[2] = { { 10 + k, false }, { 64, true } };
			heads[k] = drv_add(s, 2);
		}
		for (int k = 0; k < 3; k++) {
			assert_int_equal(pop(), 1);
			assert_int_equal(c->head, heads[k]);
			assert_int_equal(c->out_len, 10 + k);
			virtqueue__fill(&T.vq, c->head, round);
		}
		assert_int_equal(pop(), 0);
		/* nothing visible until the flush, then all three at once */
		assert_int_equal(le16toh(T.u->idx), (uint16_t)(65530 + 3 * round));
		virtqueue__flush(&T.vq);
		assert_int_equal(le16toh(T.u->idx), (uint16_t)(65530 + 3 * round + 3));
		for (int k = 0; k < 3; k++) {
			uint16_t slot = (uint16_t)(65530 + 3 * round + k) & 7;
			assert_int_equal(le32toh(T.u->ring[slot].id), heads[k]);
			assert_int_equal(le32toh(T.u->ring[slot].len), round);
		}
	}
	assert_int_equal(virtqueue__get_last_avail(&T.vq), (uint16_t)(65530 + 120));
	/* a completely full ring is legal: idx exactly 'size' ahead */
	for (int k = 0; k < 8; k++)
		drv_add((struct seg[]){ { 1 + k, false } }, 1);
	for (int k = 0; k < 8; k++)
		expect_chain(-1, 1, 0, 1 + k, 0);
	assert_int_equal(pop(), 0);
}

static void test_indirect(void **state)
{
	const struct seg s[] = { { 10, false }, { 20, false }, { 30, true }, { 40, true } };
	struct vq_chain *c = &T.chain;
	uint16_t head;

	tq_enable(4, false, true);
	head = drv_add_indirect(s, 4);
	expect_chain(head, 2, 2, 30, 70);
	assert_int_equal(c->iov[3].iov_len, 40);
	/* direct descriptors followed by an indirect one (spec: MUST handle),
	 * with WRITE on the indirect descriptor itself ignored */
	head = T.next_desc;
	set_desc(&T.d[head], alloc_data(8), 8, VRING_DESC_F_NEXT, (head + 1) % 4);
	set_desc(&T.d[(head + 1) % 4], gpa(IND_OFF), 64, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	avail_put(head);
	expect_chain(head, 3, 2, 38, 70);
	assert_int_equal(c->iov[0].iov_len, 8);
}

/* Complete n chains in one batch, then ask whether to interrupt. */
static void push_expect(int n, bool notify)
{
	for (int k = 0; k < n; k++)
		virtqueue__fill(&T.vq, 0, 0);
	assert_int_equal(virtqueue__should_notify(&T.vq), notify);
}

static void test_event_idx_notify(void **state)
{
	uint16_t *used_event = &T.a->ring[8];

	tq_enable(8, true, false);
	push_expect(0, false);                 /* nothing published */
	push_expect(1, true);                  /* used_event 0: idx 0 -> 1 */
	push_expect(0, false);                 /* nothing new */
	push_expect(1, false);                 /* 1 -> 2: event 0 is past */
	*used_event = htole16(2);
	push_expect(1, true);                  /* 2 -> 3 crosses 2 */
	*used_event = htole16(4);
	push_expect(3, true);                  /* batch 3 -> 6 crosses 4 */
	assert_int_equal(le16toh(T.u->idx), 6);   /* should_notify flushed */
	*used_event = htole16(100);
	push_expect(3, false);                 /* event in the future */
	*used_event = htole16(2);
	push_expect(1, false);                 /* event in the past */
	/* event-idx ignores the NO_INTERRUPT flag */
	T.a->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	*used_event = htole16(10);
	push_expect(1, true);                  /* 10 -> 11 */
	assert_int_equal(T.vq.notified, 4);
	assert_int_equal(T.vq.suppressed, 3);
	/* after a hand-over the driver's view is unknown: notify once */
	virtqueue__set_last_avail(&T.vq, 0);
	*used_event = htole16(500);
	push_expect(1, true);
	push_expect(1, false);
}

static void test_no_interrupt_flag(void **state)
{
	tq_enable(8, false, false);
	push_expect(1, true);
	T.a->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	push_expect(2, false);
	T.a->flags = 0;
	push_expect(0, false);                 /* nothing new since */
	push_expect(1, true);
	T.a->ring[8] = htole16(1000);          /* used_event is ignored */
	push_expect(1, true);
}

static void test_kick_suppression(void **state)
{
	const struct seg s[] = { { 8, false } };
	uint16_t *avail_event;

	/* without event-idx: the NO_NOTIFY flag */
	tq_enable(8, false, false);
	virtqueue__disable_notify(&T.vq);
	assert_int_equal(le16toh(T.u->flags), VRING_USED_F_NO_NOTIFY);
	assert_false(virtqueue__enable_notify(&T.vq));
	assert_int_equal(le16toh(T.u->flags), 0);
	virtqueue__disable_notify(&T.vq);
	drv_add(s, 1);                         /* raced with the re-enable */
	assert_true(virtqueue__enable_notify(&T.vq));
	assert_int_equal(pop(), 1);

	/* with event-idx: flags stay 0, avail_event tracks last_avail_idx */
	tq_enable(8, true, false);
	avail_event = (uint16_t *)&T.u->ring[8];
	virtqueue__disable_notify(&T.vq);
	assert_int_equal(le16toh(T.u->flags), 0);
	for (int k = 0; k < 3; k++)
		drv_add(s, 1);
	for (int k = 0; k < 3; k++)
		assert_int_equal(pop(), 1);
	assert_int_equal(le16toh(*avail_event), 0);      /* kicks held off */
	assert_false(virtqueue__enable_notify(&T.vq));
	assert_int_equal(le16toh(*avail_event), 3);
	drv_add(s, 1);
	assert_true(virtqueue__enable_notify(&T.vq));
	/* popping until empty with kicks enabled re-arms avail_event */
	assert_int_equal(pop(), 1);
	drv_add(s, 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(le16toh(*avail_event), 3);
	assert_int_equal(pop(), 0);
	assert_int_equal(le16toh(*avail_event), 5);
}

/* The queue must now be broken for 'why', stay broken, and do nothing. */
static void expect_broken(const char *why)
{
	uint16_t used = T.u->idx;

	assert_int_equal(pop(), -1);
	assert_true(T.vq.broken);
	assert_non_null(T.vq.err);
	if (!strstr(T.vq.err, why))
		fail_msg("error '%s' does not mention '%s'", T.vq.err, why);
	for (int k = 0; k < 3; k++)
		assert_int_equal(pop(), -1);
	assert_true(virtqueue__empty(&T.vq));
	virtqueue__push(&T.vq, 0, 1);
	assert_int_equal(T.u->idx, used);
	assert_false(virtqueue__should_notify(&T.vq));
	assert_false(virtqueue__enable_notify(&T.vq));
}

static void hostile_one(uint16_t flags, uint64_t addr, uint32_t len, const char *why)
{
	tq_enable(8, false, true);
	set_desc(&T.d[2], addr, len, flags, 0);
	avail_put(2);
	expect_broken(why);
}

static void test_hostile_buffers(void **state)
{
	uint64_t end = RAM_GPA + RAM_SIZE;

	hostile_one(0, 0x1000, 16, "outside guest RAM");
	hostile_one(VRING_DESC_F_WRITE, end - 8, 16, "outside guest RAM");
	hostile_one(0, gpa(DATA_OFF), 0xffffffff, "outside guest RAM");
	hostile_one(0, UINT64_MAX - 4, 16, "outside guest RAM");
	hostile_one(VRING_DESC_F_INDIRECT, gpa(IND_OFF), 24, "multiple of 16");
	hostile_one(VRING_DESC_F_INDIRECT, gpa(IND_OFF), 0, "multiple of 16");
	hostile_one(VRING_DESC_F_INDIRECT, end - 32, 64, "indirect table outside");
	hostile_one(VRING_DESC_F_INDIRECT, gpa(IND_OFF), 16 * (VQ_MAX_INDIRECT + 1), "too large");
	hostile_one(VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, gpa(IND_OFF), 32, "NEXT");
	/* and reset really clears it */
	virtqueue__reset(&T.vq);
	assert_false(T.vq.broken);
	assert_false(T.vq.enabled);
	assert_null(T.vq.err);
	assert_int_equal(pop(), 0);
}

/* Ring descriptor 0 points at an indirect table of n entries at IND_OFF. */
static void ind_head(int n)
{
	set_desc(&T.d[0], gpa(IND_OFF), 16 * n, VRING_DESC_F_INDIRECT, 0);
	avail_put(0);
}

static void test_hostile_chains(void **state)
{
	struct vring_desc *ind = hva(gpa(IND_OFF));

	tq_enable(8, false, false);
	avail_put(8);                                         /* head >= size */
	expect_broken("not a descriptor index");
	tq_enable(8, false, false);                           /* next >= size */
	set_desc(&T.d[0], gpa(DATA_OFF), 4, VRING_DESC_F_NEXT, 9);
	avail_put(0);
	expect_broken("next index outside the queue");
	tq_enable(8, false, false);                           /* 2-loop */
	set_desc(&T.d[0], gpa(DATA_OFF), 4, VRING_DESC_F_NEXT, 1);
	set_desc(&T.d[1], gpa(DATA_OFF), 4, VRING_DESC_F_NEXT, 0);
	avail_put(0);
	expect_broken("loop");
	tq_enable(8, false, false);                           /* self loop */
	set_desc(&T.d[3], gpa(DATA_OFF), 0, VRING_DESC_F_NEXT, 3);
	avail_put(3);
	expect_broken("loop");
	tq_enable(8, false, false);                           /* order */
	set_desc(&T.d[0], gpa(DATA_OFF), 4, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	set_desc(&T.d[1], gpa(DATA_OFF), 4, 0, 0);
	avail_put(0);
	expect_broken("device-readable descriptor after");
	tq_enable(8, false, false);                           /* not negotiated */
	set_desc(&ind[0], gpa(DATA_OFF), 4, 0, 0);
	ind_head(1);
	expect_broken("not negotiated");
	tq_enable(8, false, true);                            /* nested */
	set_desc(&ind[0], gpa(DATA_OFF), 4, VRING_DESC_F_NEXT, 1);
	set_desc(&ind[1], gpa(IND_OFF), 32, VRING_DESC_F_INDIRECT, 0);
	ind_head(2);
	expect_broken("inside an indirect table");
	tq_enable(8, false, true);                            /* loop in table */
	set_desc(&ind[1], gpa(DATA_OFF), 4, VRING_DESC_F_NEXT, 0);
	ind_head(2);
	expect_broken("loop in indirect");
	tq_enable(8, false, true);                            /* next past table */
	set_desc(&ind[1], gpa(DATA_OFF), 4, VRING_DESC_F_NEXT, 2);
	ind_head(2);
	expect_broken("next index outside the table");
	tq_enable(8, false, true);                            /* order, indirect */
	set_desc(&ind[0], gpa(DATA_OFF), 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(&ind[1], gpa(DATA_OFF), 4, 0, 0);
	ind_head(2);
	expect_broken("device-readable descriptor after");
	tq_enable(8, false, true);                            /* and unbroken */
	set_desc(&ind[0], gpa(DATA_OFF), 4, VRING_DESC_F_NEXT, 1);
	ind_head(2);
	expect_chain(0, 2, 0, 8, 0);
	tq_enable(8, false, false);                           /* idx jumps */
	T.avail_idx += 9;
	T.a->idx = htole16(T.avail_idx);
	expect_broken("more than the queue size");
}

static void test_too_many_segments(void **state)
{
	struct vring_desc *ind = hva(gpa(IND_OFF));
	int n = VQ_MAX_IOV + 1;

	tq_enable(8, false, true);
	for (int k = 0; k < n; k++)
		set_desc(&ind[k], gpa(DATA_OFF), 1, k + 1 < n ? VRING_DESC_F_NEXT : 0, k + 1);
	ind_head(n);
	expect_broken("too many segments");
	/* exactly VQ_MAX_IOV segments is fine */
	tq_enable(8, false, true);
	set_desc(&ind[n - 2], gpa(DATA_OFF), 1, 0, 0);
	ind_head(n - 1);
	expect_chain(0, VQ_MAX_IOV, 0, VQ_MAX_IOV, 0);
}

/* Two 2 GiB buffers: each lies in (reserved, untouched) RAM, the sum does
 * not fit the 32-bit length the spec allows. */
static void test_chain_over_4g(void **state)
{
	struct guest_mem big;
	struct virtqueue vq;
	struct vring_desc *d;
	struct vring_avail *a;

	assert_int_equal(guest_mem__init(&big, 2 * GiB + 64 * KiB, NULL), 0);
	d = guest_mem__ptr(&big, 2 * GiB, 64);
	a = guest_mem__ptr(&big, 2 * GiB + 4096, 16);
	set_desc(&d[0], 0, 0x80000000u, VRING_DESC_F_NEXT, 1);
	set_desc(&d[1], 0, 0x80000000u, VRING_DESC_F_WRITE, 0);
	a->ring[0] = 0;
	a->idx = htole16(1);
	assert_int_equal(virtqueue__enable(&vq, &big, 4, 2 * GiB, 2 * GiB + 4096,
					   2 * GiB + 8192, false, false), 0);
	assert_int_equal(virtqueue__pop(&vq, &T.chain), -1);
	assert_string_equal(vq.err, "descriptor chain longer than 4 GiB");
	d[1].len = htole32(0x7fffffffu);
	virtqueue__reset(&vq);
	assert_int_equal(virtqueue__enable(&vq, &big, 4, 2 * GiB, 2 * GiB + 4096,
					   2 * GiB + 8192, false, false), 0);
	assert_int_equal(virtqueue__pop(&vq, &T.chain), 1);
	assert_int_equal(T.chain.in_len, 0x7fffffffu);
	guest_mem__destroy(&big);
}

/* Giving chains back: the same chains come out again, in order, across
 * the 16-bit index wrap; only chains in flight can be given back. */
static void test_unpop(void **state)
{
	const struct seg s[] = { { 12, false }, { 64, false } };
	uint16_t heads[4];

	tq_enable(8, true, false);
	T.avail_idx = 65534;
	T.a->idx = htole16(65534);
	T.u->idx = htole16(65534);
	virtqueue__set_last_avail(&T.vq, 65534);
	for (int k = 0; k < 4; k++)
		heads[k] = drv_add(s, 2);
	for (int k = 0; k < 4; k++)
		expect_chain(heads[k], 2, 0, 76, 0);
	assert_int_equal(pop(), 0);
	assert_true(virtqueue__empty(&T.vq));
	virtqueue__unpop(&T.vq, 3);
	assert_int_equal(virtqueue__get_last_avail(&T.vq), 65535);
	assert_false(virtqueue__empty(&T.vq));
	assert_int_equal(T.vq.popped, 1);
	/* kicks enabled again: the given-back chains are reported pending */
	assert_true(virtqueue__enable_notify(&T.vq));
	for (int k = 1; k < 4; k++)
		expect_chain(heads[k], 2, 0, 76, 0);
	assert_int_equal(pop(), 0);
	assert_int_equal(virtqueue__get_last_avail(&T.vq), 2);
	/* complete two, give back the last one popped */
	virtqueue__push(&T.vq, heads[0], 0);
	virtqueue__push(&T.vq, heads[1], 0);
	virtqueue__unpop(&T.vq, 1);
	expect_chain(heads[3], 2, 0, 76, 0);
	/* more than is in flight (2 now) is refused */
	virtqueue__unpop(&T.vq, 3);
	assert_int_equal(virtqueue__get_last_avail(&T.vq), 2);
	virtqueue__unpop(&T.vq, 2);
	assert_int_equal(virtqueue__get_last_avail(&T.vq), 0);
	expect_chain(heads[2], 2, 0, 76, 0);
	expect_chain(heads[3], 2, 0, 76, 0);
	/* the avail index check is unaffected */
	T.a->idx = htole16(2 + 9);
	expect_broken("more than the queue size");
	virtqueue__unpop(&T.vq, 1);             /* broken: no-op */
	assert_int_equal(pop(), -1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Plausible-looking garbage: addresses near and inside RAM, small lengths,
 * any flags, next indices just in and out of range. */
static void scribble_desc(struct vring_desc *d, int n)
{
	for (int k = 0; k < n; k++) {
		uint64_t r = rnd();
		uint64_t addr = (r & 3) == 0 ? rnd() : gpa(rnd() % (RAM_SIZE + 64)) - 32;
		uint32_t len = (r >> 2 & 7) == 0 ? (uint32_t)rnd() : (uint32_t)(rnd() % 300);

		if ((r >> 5 & 3) == 0 && (r & 16)) {  /* a plausible table */
			addr = gpa(IND_OFF + (rnd() % 8) * 16);
			len = 16 * (1 + rnd() % 24);
		}
		set_desc(&d[k], addr, len, (uint16_t)(r >> 8 & 7), (uint16_t)(r >> 16) % 20);
	}
}

static void test_fuzz(void **state)
{
	struct vring_desc *ind = hva(gpa(IND_OFF));
	int popped = 0, broken = 0;

	for (int it = 0; it < 4000; it++) {
		uint16_t last;
		int rc, n = 0;

		if (it % 50 == 0 || T.vq.broken) {
			virtqueue__reset(&T.vq);
			tq_enable(16, it & 1, it & 2);
			virtqueue__set_last_avail(&T.vq, (uint16_t)rnd());
			T.avail_idx = virtqueue__get_last_avail(&T.vq);
		}
		scribble_desc(T.d, 16);
		scribble_desc(ind, 32);
		for (int k = 0; k < 16; k++)
			T.a->ring[k] = htole16(rnd() % 8 ? rnd() % 16 : (uint16_t)rnd());
		last = virtqueue__get_last_avail(&T.vq);
		T.a->idx = htole16(rnd() % 16 ? last + rnd() % 17 : (uint16_t)rnd());
		while ((rc = pop()) == 1) {
			check_chain_in_ram(&T.chain);
			/* touch every byte: ASan checks the iovecs are real */
			for (unsigned int k = 0; k < T.chain.out_num + T.chain.in_num; k++)
				memset(T.chain.iov[k].iov_base, 0xa5, T.chain.iov[k].iov_len);
			virtqueue__push(&T.vq, T.chain.head, T.chain.in_len);
			virtqueue__should_notify(&T.vq);
			assert_true(++n <= 16);
			popped++;
		}
		broken += rc < 0;
		if (rc == 0)
			assert_true(virtqueue__empty(&T.vq));
		T.avail_idx = le16toh(T.a->idx);
	}
	/* the generator must exercise both outcomes */
	assert_true(popped > 100);
	assert_true(broken > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enable_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simple_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_in_and_zero_len, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wraparound_and_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_over_4g, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
