/* ring.c — the last N bytes of a stream (see ring.h). */
#include <stdlib.h>
#include <string.h>

#include "vmm/ring.h"

int ring__init(struct ring *r, size_t size)
{
	memset(r, 0, sizeof(*r));
	if (!size)
		return -1;
	r->buf = malloc(size);
	if (!r->buf)
		return -1;
	r->size = size;
	return 0;
}

void ring__destroy(struct ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

void ring__write(struct ring *r, const uint8_t *buf, size_t len)
{
	if (!r->buf)
		return;
	r->total += len;
	/* Only the last 'size' bytes can survive: skip the rest at once. */
	if (len > r->size) {
		buf += len - r->size;
		len = r->size;
	}
	while (len) {
		size_t n = r->size - r->head;

		if (n > len)
			n = len;
		memcpy(r->buf + r->head, buf, n);
		r->head = (r->head + n) % r->size;
		buf += n;
		len -= n;
	}
}

size_t ring__used(const struct ring *r)
{
	return r->total < r->size ? (size_t)r->total : r->size;
}

void ring__pieces(const struct ring *r, const uint8_t **a, size_t *alen,
		  const uint8_t **b, size_t *blen)
{
	size_t used = ring__used(r);

	if (used < r->size) {
		/* never wrapped: everything lies before head */
		*a = r->buf;
		*alen = used;
		*b = r->buf;
		*blen = 0;
		return;
	}
	*a = r->buf + r->head;
	*alen = r->size - r->head;
	*b = r->buf;
	*blen = r->head;
}
