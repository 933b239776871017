/* net_dpcount.c — splitting a tap's counters between the datapaths that
 * ran in turn (see net_dpcount.h). */
#include <string.h>

#include "virtio/net_dpcount.h"

#define NR_COUNTS (sizeof(struct tap_counts) / sizeof(uint64_t))

/* a = b - c for each counter; false if any of b is below c. */
static bool diff(struct tap_counts *a, const struct tap_counts *b, const struct tap_counts *c)
{
	const uint64_t *pb = (const uint64_t *)b, *pc = (const uint64_t *)c;
	uint64_t *pa = (uint64_t *)a;

	for (size_t i = 0; i < NR_COUNTS; i++) {
		if (pb[i] < pc[i])
			return false;
		pa[i] = pb[i] - pc[i];
	}
	return true;
}

static void add(struct tap_counts *a, const struct tap_counts *b)
{
	const uint64_t *pb = (const uint64_t *)b;
	uint64_t *pa = (uint64_t *)a;

	for (size_t i = 0; i < NR_COUNTS; i++)
		pa[i] += pb[i];
}

void net_dpcount__init(struct net_dpcount *c, enum net_datapath dp,
		       const struct tap_counts *now)
{
	memset(c, 0, sizeof(*c));
	c->cur = dp;
	c->known = now != NULL;
	if (now)
		c->last = *now;
}

int net_dpcount__switch(struct net_dpcount *c, enum net_datapath dp,
			const struct tap_counts *now)
{
	enum net_datapath ran = c->cur;
	struct tap_counts d;

	if (dp == ran)
		return c->known ? 0 : -1;
	c->cur = dp;
	if (!c->known)
		return -1;
	if (!now || !diff(&d, now, &c->last)) {
		/* What moved since 'last' cannot be split any more. */
		c->known = false;
		memset(c->moved, 0, sizeof(c->moved));
		return -1;
	}
	add(&c->moved[ran], &d);
	c->last = *now;
	return 0;
}

int net_dpcount__view(const struct net_dpcount *c, const struct tap_counts *now,
		      struct tap_counts out[NET_DP_NR])
{
	struct tap_counts d;

	memset(out, 0, NET_DP_NR * sizeof(*out));
	if (!c->known || !now || !diff(&d, now, &c->last))
		return -1;
	memcpy(out, c->moved, sizeof(c->moved));
	add(&out[c->cur], &d);
	return 0;
}
