/* ring.h — a byte ring that keeps the last 'size' bytes written: the
 * guest console's recent output, replayed to a `vmm console` client when
 * it attaches (vmm/console.c). No lock inside: the console holds its own
 * around every call. */
#ifndef VMM_RING_H
#define VMM_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	uint8_t *buf;
	size_t size;     /* capacity, fixed at init */
	size_t head;     /* where the next byte goes */
	uint64_t total;  /* bytes ever written (how full: min(total, size)) */
};

/* 0, or -1 if the buffer cannot be allocated. */
int ring__init(struct ring *r, size_t size);
void ring__destroy(struct ring *r);
/* Append; when more than 'size' bytes are held the oldest go. */
void ring__write(struct ring *r, const uint8_t *buf, size_t len);
/* How many bytes it holds now. */
size_t ring__used(const struct ring *r);
/* The held bytes, oldest first, as at most two pieces (the second may be
 * empty): a (alen bytes), then b (blen bytes). */
void ring__pieces(const struct ring *r, const uint8_t **a, size_t *alen,
		  const uint8_t **b, size_t *blen);

#endif
