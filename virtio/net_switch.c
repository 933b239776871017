/* net_switch.c — the live datapath switch (`vmm set NAME --vhost on|off`):
 * a running NIC's RX and TX move between vmm's own threads (one per queue
 * pair) and the backend's datapath (vhost-net) without a device reset.
 * Ring positions are carried over exactly; the control queue stays in
 * vmm. docs/architecture.md, "Switching live". */
#include <stdbool.h>
#include <stddef.h>

#include "virtio/net_priv.h"
#include "vmm/util.h"

/* Who owns RX and TX: each pair's thread (offloaded false) or the backend
 * (vhost-net). Everything here runs under vdev->lock and every pair's
 * lock, so no kick, backend event or transport op runs in between. */

/* vmm's datapath (again): receive kicks only matter once a pair runs out
 * of buffers, every pair's fd polled as it needs, and a TX pass for what
 * the guest queued meanwhile (its kick may have gone to the backend). */
static void run_userspace(struct net_dev *nd)
{
	for (unsigned int i = 0; i < nd->max_pairs; i++) {
		struct net_pair *p = &nd->pair[i];

		p->rx_starved = false;
		virtqueue__disable_notify(&nd->vdev.vq[p->rxq]);
		net_rxtx__update_fd(p);
		p->tx_more = true;
		net_rxtx__resched(p);
	}
}

/* Userspace -> backend: the receive buffers popped ahead of packets go
 * back to the ring (the backend must see them, in order), nothing waits
 * on the tap any more, and the backend takes the ring positions vmm
 * reached (backend->start reads them from the queues). */
static int go_offloaded(struct net_dev *nd, char *err, size_t errlen)
{
	struct virtio_dev *vdev = &nd->vdev;
	int r;

	for (unsigned int i = 0; i < nd->max_pairs; i++) {
		struct net_pair *p = &nd->pair[i];

		net_rxtx__unhold(p);
		p->tx_blocked = p->tx_more = p->rx_starved = false;
	}
	r = nd->cfg.backend->start(nd->cfg.backend_priv, vdev, nd->features);
	if (r == 0) {
		nd->offloaded = true;
		net__update_fds(nd);
		return 0;
	}
	/* Not handed over: vmm's datapath goes on where it was. */
	run_userspace(nd);
	return util__fail(err, errlen, r < 0 ? "the backend could not take the queues over" :
			  "the driver has not given every queue an MSI-X vector");
}

/* Backend -> userspace: backend->stop leaves each queue at the backend's
 * positions (avail seen, used published); vmm resumes from there on the
 * pairs' threads. */
static void go_userspace(struct net_dev *nd)
{
	nd->cfg.backend->stop(nd->cfg.backend_priv, &nd->vdev);
	nd->offloaded = false;
	run_userspace(nd);
}

int net_dev__set_offload(struct net_dev *nd, bool offload, char *err, size_t errlen)
{
	int r = 0;

	if (offload && !nd->cfg.backend->start)
		return util__fail(err, errlen, "this backend cannot run the queues itself");
	pthread_mutex_lock(&nd->vdev.lock);
	net__lock_pairs(nd);
	if (nd->running && !nd->broken && offload != nd->offloaded) {
		if (offload)
			r = go_offloaded(nd, err, errlen);
		else
			go_userspace(nd);
	}
	net__unlock_pairs(nd);
	pthread_mutex_unlock(&nd->vdev.lock);
	return r;
}
