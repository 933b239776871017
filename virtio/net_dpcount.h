/* net_dpcount.h — a NIC's packets and bytes per datapath (vmm's
 * userspace datapath, vhost-net), for a NIC that `vmm set --vhost`
 * switches live.
 *
 * Both datapaths are counted the same way: from the tap's own counters
 * (tap__read_counts), read when the NIC is created (the baseline: what
 * the tap moved before is nobody's), at every switch that changes the
 * datapath (what moved since the previous reading goes to the datapath
 * that ran until then), and at every snapshot (what moved since the last
 * switch is shown on the current datapath, without being recorded).
 *
 * Pure: the caller reads the counters and passes them in (NULL: the read
 * failed), so unit tests drive it with made-up values. Not locked: the
 * caller serialises (net_tap.c). */
#ifndef VIRTIO_NET_DPCOUNT_H
#define VIRTIO_NET_DPCOUNT_H

#include <stdbool.h>

#include "devices/net/tap.h"

enum net_datapath {
	NET_DP_USERSPACE,
	NET_DP_VHOST,
	NET_DP_NR
};

struct net_dpcount {
	/* Every reading so far worked and no counter went backwards (a tap
	 * deleted and made again under the same name would): else the split
	 * is unknown from then on, and stays so. */
	bool known;
	enum net_datapath cur;                /* the datapath since 'last' */
	struct tap_counts last;               /* the reading at the last switch */
	struct tap_counts moved[NET_DP_NR];   /* each datapath's, up to 'last' */
};

/* The baseline: 'dp' runs from now on. */
void net_dpcount__init(struct net_dpcount *c, enum net_datapath dp,
		       const struct tap_counts *now);
/* The NIC now runs 'dp'. A "switch" to the datapath that already runs
 * changes nothing (and 'now' is not looked at). 0, or -1 when the split
 * is (or just became) unknown. */
int net_dpcount__switch(struct net_dpcount *c, enum net_datapath dp,
			const struct tap_counts *now);
/* Each datapath's totals as of 'now' into out[]: 0, or -1 with out[]
 * zeroed when the split is unknown or 'now' is NULL or behind 'last'. */
int net_dpcount__view(const struct net_dpcount *c, const struct tap_counts *now,
		      struct tap_counts out[NET_DP_NR]);

#endif
