/* fuzz_virtqueue.c — libFuzzer target for virtio/virtqueue.c on its own:
 * a hostile driver (fuzz_guest.h) writes descriptors, indirect tables
 * and ring indexes while a well-behaved device pops, fills, pushes,
 * un-pops and asks about notifications, in the order the input says.
 * Every popped chain is checked against virtqueue.h's promises (iovecs
 * inside guest RAM, lengths adding up) and touched, for ASan.
 *
 * Input: one byte for the queue set-up (size 2^(b%9), event-idx,
 * indirect), then operations: a byte each, < FG_OP_NR a driver
 * operation, else a device one. */
#include <stdint.h>
#include <string.h>

#include "tests/fuzz/fuzz_guest.h"
#include "tests/fuzz/fuzz_util.h"
#include "virtio/virtqueue.h"
#include "vmm/log.h"

#define MAX_FLIGHT 64

enum {
	OP_POP = FG_OP_NR, OP_FILL, OP_FLUSH, OP_PUSH, OP_UNPOP, OP_NOTIFY, OP_DISABLE,
	OP_ENABLE_NOTIFY, OP_BASE, OP_RESET, OP_EMPTY, OP_NR
};

static struct fuzz_guest g;
static struct virtqueue vq;
static struct vq_chain chain;

/* Popped chains in pop order, until filled ones reach the front. */
static struct {
	uint16_t head;
	bool filled;
} flight[MAX_FLIGHT];
static unsigned nflight;

int LLVMFuzzerInitialize(int *argc, char ***argv);

static void enable(struct fg_queue *q, uint8_t setup)
{
	fg_queue_default(q, 0, (uint16_t)(1u << (setup % 9)));
	nflight = 0;
	virtqueue__enable(&vq, &g.mem, q->size, q->desc, q->avail, q->used, setup & 0x10,
			  setup & 0x20);
}

/* Give back the k-th chain in flight (device order is free). */
static void give_back(unsigned k, uint32_t len, bool flush)
{
	if (flight[k].filled)
		return;
	if (flush)
		virtqueue__push(&vq, flight[k].head, len);
	else
		virtqueue__fill(&vq, flight[k].head, len);
	flight[k].filled = true;
}

static void device_op(int op, struct fuzz_in *in, struct fg_queue *q)
{
	unsigned n;
	int r;

	switch (op) {
	case OP_POP:
		r = virtqueue__pop(&vq, &chain);
		if (r == 1) {
			fg_check_chain(&g, &chain);
			FUZZ_CHECK(chain.head < vq.size, "head %u of %u", chain.head, vq.size);
			if (nflight < MAX_FLIGHT)
				flight[nflight++] = (typeof(flight[0])){ chain.head, false };
			else     /* keep the model simple: hand it straight back */
				virtqueue__push(&vq, chain.head, 0);
		}
		FUZZ_CHECK(r != -1 || vq.broken, "pop failed without breaking the queue");
		break;
	case OP_FILL:
	case OP_PUSH:
		if (nflight)
			give_back(fin_u8(in) % nflight, fin_u32(in), op == OP_PUSH);
		break;
	case OP_FLUSH:
		virtqueue__flush(&vq);
		break;
	case OP_UNPOP:
		/* only the last chains popped and not yet filled */
		for (n = 0; n < nflight && !flight[nflight - 1 - n].filled; n++)
			;
		n = n ? fin_u8(in) % (n + 1) : 0;
		virtqueue__unpop(&vq, n);
		nflight -= n;
		break;
	case OP_NOTIFY:
		virtqueue__should_notify(&vq);
		break;
	case OP_DISABLE:
		virtqueue__disable_notify(&vq);
		break;
	case OP_ENABLE_NOTIFY:
		virtqueue__enable_notify(&vq);
		break;
	case OP_BASE:      /* handed to vhost and back, at the same position */
		if (!nflight) {
			uint16_t base = virtqueue__get_last_avail(&vq);

			virtqueue__flush(&vq);
			virtqueue__set_last_avail(&vq, base);
		}
		break;
	case OP_RESET:
		virtqueue__reset(&vq);
		enable(q, fin_u8(in));
		break;
	case OP_EMPTY:
		virtqueue__empty(&vq);
		break;
	}
	/* Filled chains at the front are the guest's again. Later ones stay
	 * listed: un-popping must not reach past them. */
	while (nflight && flight[0].filled)
		memmove(flight, flight + 1, --nflight * sizeof(flight[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fg_queue q;

	fg_reset(&g);
	enable(&q, fin_u8(&in));
	while (in.n) {
		int op = fin_u8(&in) % OP_NR;

		if (op < FG_OP_NR)
			fg_driver_op(&g, &q, op, &in);
		else
			device_op(op, &in, &q);
	}
	virtqueue__reset(&vq);
	return 0;
}

static void write_seeds(const char *dir)
{
	static const uint16_t len[8] = { 12, 1514, 16, 512, 4096, 1, 64, 100 };
	static struct fuzz_out o;

	for (int s = 0; s < 4; s++) {
		char name[16];

		fout_u8(&o, (uint8_t)(8 | (s & 1 ? 0x10 : 0) | (s & 2 ? 0x20 : 0)));   /* 256 */
		for (int k = 0; k < 6; k++) {
			fg_seed_chain(&o, FG_OP_CHAIN, -1, 1 + k % 4, k % 3, (s & 2) && k % 2, len + k);
			fout_u8(&o, OP_POP);
			fout_u8(&o, OP_PUSH);
			fout_u8(&o, 0);
			fout_le(&o, 100, 4);
			fout_u8(&o, OP_NOTIFY);
		}
		fout_u8(&o, OP_POP);
		fout_u8(&o, OP_UNPOP);
		fout_u8(&o, 1);
		fout_u8(&o, OP_ENABLE_NOTIFY);
		snprintf(name, sizeof(name), "ring%d", s);
		fout_save(&o, dir, name);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz__seed_mode(write_seeds);
	log__verbosity = LOG_ERR;   /* every violation is logged once */
	fg_init(&g);
	return 0;
}
