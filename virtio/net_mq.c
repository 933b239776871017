/* net_mq.c — virtio-net multiqueue (spec 5.1.6.5.5): which queue is what
 * for the negotiated features, and the number of queue pairs in use.
 *
 * Without VIRTIO_NET_F_MQ accepted the driver sees one pair (queues 0 and
 * 1) and the control queue at 2, even on a device that has more pairs;
 * with it, N pairs (queues 0 .. 2N-1) and the control queue at 2N. After
 * FEATURES_OK only pair 0 receives until the driver sends
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET; from then on the device must not put
 * packets on a receiveq beyond the pairs it named. The backend does the
 * steering (a multiqueue tap spreads flows over the queues attached to
 * it), so a change of the count is passed on to it first, and the device
 * then polls exactly those pairs' fds.
 */
#include <linux/virtio_net.h>

#include "virtio/net_priv.h"
#include "vmm/log.h"

unsigned int net_mq__pairs(const struct net_dev *nd)
{
	return nd->features & (1ULL << VIRTIO_NET_F_MQ) ? nd->max_pairs : 1;
}

int net_mq__ctrl_queue(const struct net_dev *nd)
{
	return (int)(2 * net_mq__pairs(nd));
}

struct net_pair *net_mq__pair_of(struct net_dev *nd, int q)
{
	if (q < 0 || q >= net_mq__ctrl_queue(nd))
		return NULL;
	return &nd->pair[q / 2];
}

bool net_mq__active(const struct net_pair *p)
{
	return p->index < p->nd->curr_pairs;
}

/* The backend receives on the first n pairs now: poll just those. */
static void repoll(struct net_dev *nd)
{
	for (unsigned int i = 0; i < nd->max_pairs; i++)
		net_rxtx__update_fd(&nd->pair[i]);
}

uint8_t net_mq__set_pairs(struct net_dev *nd, unsigned int n)
{
	const struct net_backend_ops *be = nd->cfg.backend;

	/* The guest's number: 1..max_virtqueue_pairs, and only with MQ. */
	if (!(nd->features & (1ULL << VIRTIO_NET_F_MQ)) ||
	    n < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || n > nd->max_pairs)
		return VIRTIO_NET_ERR;
	if (n == nd->curr_pairs)
		return VIRTIO_NET_OK;
	if (be->set_queue_pairs && be->set_queue_pairs(nd->cfg.backend_priv, n) < 0) {
		pr_guest("%s: the backend could not change to %u queue pairs", nd->vdev.name, n);
		return VIRTIO_NET_ERR;
	}
	nd->curr_pairs = n;
	repoll(nd);
	return VIRTIO_NET_OK;
}

void net_mq__reset(struct net_dev *nd)
{
	const struct net_backend_ops *be = nd->cfg.backend;

	if (nd->max_pairs > 1 && be->set_queue_pairs &&
	    be->set_queue_pairs(nd->cfg.backend_priv, 1) < 0)
		pr_warn("%s: the backend could not go back to one queue pair", nd->vdev.name);
	nd->curr_pairs = 1;
	repoll(nd);
}
