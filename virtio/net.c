/* net.c — virtio-net device: negotiation, config space, TX and RX.
 *
 * TX (transmitq kick): with guest kicks disabled, pop chains and writev()
 * each one (vnet header + frame, exactly the chain's device-readable
 * buffers) to the backend; the used entries of a run are published at
 * once and interrupt the guest at most once. If the backend is full
 * (EAGAIN) the chain is un-popped and the run resumes when the backend fd
 * turns writable. After NET_BUDGET packets the run yields to the other
 * fds and resumes through sched_fd.
 *
 * RX (backend fd readable): buffers are popped ahead of packets and held
 * (struct net_rx_held) until a packet fills them. With MRG_RXBUF the held
 * chains together must cover the largest packet the backend may deliver
 * (rx_need), and one readv() spans all of them; the packet then takes as
 * many chains as its length needs (num_buffers) and the rest stay held for
 * the next one. Without MRG_RXBUF one chain takes one packet. When the
 * ring cannot cover a packet the device stops polling the backend, asks
 * for receiveq kicks, and resumes on the kick. Held chains stay popped
 * while we wait: un-popping them would leave last_avail_idx behind
 * avail->idx and, with event-idx, no kick would ever come for the next
 * buffer. Frames the receive filter rejects, runts and truncated frames
 * are read into the held buffers and not reported (their buffers are
 * reused): no copy even for drops.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/net_priv.h"
#include "vmm/iov.h"
#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/util.h"

#define BIT(n) (1ULL << (n))

static void on_backend(void *opaque, uint32_t events);

static const uint64_t net_features =
	BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
	BIT(VIRTIO_RING_F_INDIRECT_DESC) |
	BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
	BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
	BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_HOST_ECN) |
	BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN) |
	BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_RX_EXTRA) |
	BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);

static struct net_dev *to_net(struct virtio_dev *vdev)
{
	return vdev->priv;
}

static bool has(const struct net_dev *nd, unsigned int bit)
{
	return nd->features & BIT(bit);
}

/* ---- shared helpers --------------------------------------------------- */

static void update_fd(struct net_dev *nd);

void net__violation(struct net_dev *nd, const char *why)
{
	if (nd->broken)
		return;
	nd->broken = true;
	virtio_dev__needs_reset(&nd->vdev, why);
	update_fd(nd);   /* a readable backend must not keep waking us */
}

void net__signal(struct net_dev *nd, int q)
{
	struct virtqueue *vq = &nd->vdev.vq[q];
	uint64_t before = vq->notified;

	virtio_dev__signal_queue(&nd->vdev, q);
	net__count(q == NET_QUEUE_RX ? &nd->stats.rx_interrupts :
		   q == NET_QUEUE_TX ? &nd->stats.tx_interrupts : &nd->stats.ctrl_interrupts,
		   vq->notified - before);
}

void net__resched(struct net_dev *nd)
{
	uint64_t one = 1;

	if (write(nd->sched_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_err("%s: cannot reschedule: %s", nd->vdev.name, strerror(errno));
}

/* Poll the backend for what the datapath waits on now. */
static void update_fd(struct net_dev *nd)
{
	uint32_t ev = 0;

	if (nd->backend_fd < 0 || nd->backend_dead)
		return;
	if (nd->running && !nd->broken && !nd->offloaded) {
		if (!nd->rx_starved && nd->vdev.vq[NET_QUEUE_RX].enabled)
			ev |= EPOLLIN;
		if (nd->tx_blocked)
			ev |= EPOLLOUT;
	}
	if (ev == nd->fd_events)
		return;
	if (loop__mod(nd->cfg.loop, nd->backend_fd, ev, on_backend, nd) < 0) {
		pr_err("%s: cannot change polling of the backend fd", nd->vdev.name);
		return;
	}
	nd->fd_events = ev;
}

/* ---- TX ---------------------------------------------------------------- */

static void tx_run(struct net_dev *nd)
{
	struct virtqueue *vq = &nd->vdev.vq[NET_QUEUE_TX];
	struct vq_chain *ch = &nd->chain;
	unsigned int done = 0;
	int rc;

	if (!nd->running || nd->broken || nd->offloaded || nd->tx_blocked || !nd->cfg.backend->tx)
		return;
	nd->tx_more = false;
	do {
		virtqueue__disable_notify(vq);
		while ((rc = virtqueue__pop(vq, ch)) == 1) {
			ssize_t n;

			if (ch->in_num || ch->out_len < NET_HDR_LEN) {
				net__violation(nd, ch->in_num ?
					       "transmit chain has device-writable buffers" :
					       "transmit chain shorter than the vnet header");
				return;
			}
			if (ch->out_len > NET_HDR_LEN + NET_MAX_FRAME) {
				net__count(&nd->stats.tx_dropped, 1);
			} else {
				n = nd->cfg.backend->tx(nd->cfg.backend_priv, ch->iov, (int)ch->out_num);
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
					      errno == EINTR)) {
					virtqueue__unpop(vq, 1);
					nd->tx_blocked = true;
					update_fd(nd);
					goto out;
				}
				if (n < 0) {
					net__count(&nd->stats.tx_dropped, 1);
				} else {
					net__count(&nd->stats.tx_packets, 1);
					net__count(&nd->stats.tx_bytes, ch->out_len - NET_HDR_LEN);
				}
			}
			virtqueue__fill(vq, ch->head, 0);
			if (++done == NET_BUDGET) {
				nd->tx_more = true;
				net__resched(nd);
				goto out;
			}
		}
		if (rc < 0) {
			net__violation(nd, vq->err);
			return;
		}
	} while (virtqueue__enable_notify(vq));
out:
	virtqueue__flush(vq);
	net__signal(nd, NET_QUEUE_TX);
}

/* ---- RX ---------------------------------------------------------------- */

/* Pop buffers until the held ones can take the next packet. Returns 1
 * when they can, 0 when the ring ran dry first, -1 on a violation. */
static int rx_gather(struct net_dev *nd)
{
	struct virtqueue *vq = &nd->vdev.vq[NET_QUEUE_RX];
	struct vq_chain *ch = &nd->chain;
	bool mrg = has(nd, VIRTIO_NET_F_MRG_RXBUF);
	struct net_rx_held *h;
	int rc;

	while (mrg ? nd->rx_cap < nd->rx_need : nd->rx_nheld == 0) {
		rc = virtqueue__pop(vq, ch);
		if (rc < 0) {
			net__violation(nd, vq->err);
			return -1;
		}
		if (rc == 0)
			return 0;
		if (ch->out_num || ch->in_len < NET_HDR_LEN) {
			net__violation(nd, ch->out_num ?
				       "receive chain has device-readable buffers" :
				       "receive buffer shorter than the vnet header");
			return -1;
		}
		if (ch->in_num > NET_RX_MAX_IOV - nd->rx_niov) {
			/* readv() takes no more: the next packet gets what
			 * is held (never empty here: one chain always fits). */
			virtqueue__unpop(vq, 1);
			return 1;
		}
		h = &nd->rx_held[nd->rx_nheld++];
		*h = (struct net_rx_held){ .head = ch->head, .cap = ch->in_len,
					   .iov_first = nd->rx_niov, .iov_cnt = ch->in_num };
		memcpy(&nd->rx_iov[nd->rx_niov], ch->iov, ch->in_num * sizeof(struct iovec));
		nd->rx_niov += ch->in_num;
		nd->rx_cap += ch->in_len;
	}
	return 1;
}

/* The first k held chains were used: forget them. */
static void rx_drop_held(struct net_dev *nd, unsigned int k)
{
	unsigned int first = k < nd->rx_nheld ? nd->rx_held[k].iov_first : nd->rx_niov;

	for (unsigned int i = 0; i < k; i++)
		nd->rx_cap -= nd->rx_held[i].cap;
	nd->rx_nheld -= k;
	nd->rx_niov -= first;
	memmove(nd->rx_held, nd->rx_held + k, nd->rx_nheld * sizeof(nd->rx_held[0]));
	memmove(nd->rx_iov, nd->rx_iov + first, nd->rx_niov * sizeof(nd->rx_iov[0]));
	for (unsigned int i = 0; i < nd->rx_nheld; i++)
		nd->rx_held[i].iov_first -= first;
}

/* A packet of n bytes (header included) is in the held buffers. */
static void rx_deliver(struct net_dev *nd, size_t n)
{
	struct virtqueue *vq = &nd->vdev.vq[NET_QUEUE_RX];
	uint8_t dst[6];
	uint16_t nbuf;
	unsigned int k = 0;
	size_t left = n;

	if (n < NET_HDR_LEN + NET_MIN_FRAME || n > nd->rx_cap) {
		net__count(&nd->stats.rx_dropped, 1);   /* runt or truncated */
		return;
	}
	iov__to_buf(nd->rx_iov, (int)nd->rx_niov, NET_HDR_LEN, dst, sizeof(dst));
	if (!net_ctrl__accept(nd, dst)) {
		net__count(&nd->stats.rx_filtered, 1);
		return;
	}
	/* Write num_buffers (the tap leaves it alone) before the used
	 * entries are published. */
	for (k = 0; left; k++) {
		uint32_t len = left < nd->rx_held[k].cap ? (uint32_t)left : nd->rx_held[k].cap;

		left -= len;
	}
	nbuf = htole16((uint16_t)k);
	iov__from_buf(nd->rx_iov, (int)nd->rx_held[0].iov_cnt,
		      offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers),
		      &nbuf, sizeof(nbuf));
	left = n;
	for (unsigned int i = 0; i < k; i++) {
		uint32_t len = left < nd->rx_held[i].cap ? (uint32_t)left : nd->rx_held[i].cap;

		virtqueue__fill(vq, nd->rx_held[i].head, len);
		left -= len;
	}
	virtqueue__flush(vq);
	rx_drop_held(nd, k);
	net__count(&nd->stats.rx_packets, 1);
	net__count(&nd->stats.rx_bytes, n - NET_HDR_LEN);
}

/* Out of buffers: wait for a receiveq kick instead of polling the
 * backend. Returns true if buffers came meanwhile (keep going). */
static bool rx_wait_buffers(struct net_dev *nd)
{
	struct virtqueue *vq = &nd->vdev.vq[NET_QUEUE_RX];

	if (virtqueue__enable_notify(vq)) {
		virtqueue__disable_notify(vq);
		return true;
	}
	nd->rx_starved = true;
	update_fd(nd);
	return false;
}

static void rx_run(struct net_dev *nd)
{
	const struct net_backend_ops *be = nd->cfg.backend;
	unsigned int i;

	if (!nd->running || nd->broken || nd->offloaded || nd->rx_starved || nd->backend_dead ||
	    !be->rx)
		return;
	for (i = 0; i < NET_BUDGET; i++) {
		int rc = rx_gather(nd);
		ssize_t n;

		if (rc < 0)
			return;
		if (rc == 0) {
			if (rx_wait_buffers(nd))
				continue;
			break;
		}
		n = be->rx(nd->cfg.backend_priv, nd->rx_iov, (int)nd->rx_niov);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;   /* nothing waiting (or retry on the next wakeup) */
		if (n <= 0) {
			/* EOF or a hard error: stop polling rather than spin. */
			pr_warn("%s: backend receive failed (%s); receive stopped",
				nd->vdev.name, n ? strerror(errno) : "end of file");
			net__count(&nd->stats.rx_dropped, 1);
			nd->backend_dead = true;
			loop__del(nd->cfg.loop, nd->backend_fd);
			break;
		}
		rx_deliver(nd, (size_t)n);
	}
	net__signal(nd, NET_QUEUE_RX);
}

/* ---- loop callbacks (I/O thread) ----------------------------------------- */

static void on_backend(void *opaque, uint32_t events)
{
	struct net_dev *nd = opaque;

	pthread_mutex_lock(&nd->vdev.lock);
	if ((events & (EPOLLERR | EPOLLHUP)) && !nd->backend_dead) {
		/* Reported even when we poll for nothing: stop for good. */
		pr_warn("%s: backend fd hung up; datapath stopped", nd->vdev.name);
		nd->backend_dead = true;
		loop__del(nd->cfg.loop, nd->backend_fd);
	} else if (!nd->backend_dead) {
		if ((events & EPOLLOUT) && nd->tx_blocked) {
			nd->tx_blocked = false;
			update_fd(nd);
			tx_run(nd);
		}
		if (events & EPOLLIN)
			rx_run(nd);
	}
	pthread_mutex_unlock(&nd->vdev.lock);
}

static void on_sched(void *opaque, uint32_t events)
{
	struct net_dev *nd = opaque;
	uint64_t v;

	if (read(nd->sched_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&nd->vdev.lock);
	if (nd->tx_more)
		tx_run(nd);
	if (nd->ctrl_more)
		net_ctrl__run(nd);
	pthread_mutex_unlock(&nd->vdev.lock);
}

/* ---- the datapath moved while the device runs ------------------------------
 * Who owns RX and TX: vmm's I/O thread (offloaded false) or the backend
 * (vhost-net). Under vdev->lock, so no kick, backend event or transport
 * op runs in between. */

/* Userspace -> backend: the receive buffers popped ahead of packets go
 * back to the ring (the backend must see them, in order), nothing waits
 * on the tap any more, and the backend takes the ring positions vmm
 * reached (backend->start reads them from the queues). */
static int go_offloaded(struct net_dev *nd, char *err, size_t errlen)
{
	struct virtio_dev *vdev = &nd->vdev;
	int r;

	if (nd->rx_nheld)
		virtqueue__unpop(&vdev->vq[NET_QUEUE_RX], nd->rx_nheld);
	nd->rx_nheld = nd->rx_niov = 0;
	nd->rx_cap = 0;
	nd->tx_blocked = nd->tx_more = nd->rx_starved = false;
	r = nd->cfg.backend->start(nd->cfg.backend_priv, vdev, nd->features);
	if (r == 0) {
		nd->offloaded = true;
		update_fd(nd);
		return 0;
	}
	/* Not handed over: vmm's datapath goes on where it was. */
	virtqueue__disable_notify(&vdev->vq[NET_QUEUE_RX]);
	update_fd(nd);
	nd->tx_more = true;
	net__resched(nd);
	return util__fail(err, errlen, r < 0 ? "the backend could not take the queues over" :
			  "the driver has not given every queue an MSI-X vector");
}

/* Backend -> userspace: backend->stop leaves each queue at the backend's
 * positions (avail seen, used published); vmm resumes from there on the
 * I/O thread: the tap polled again, and a TX pass scheduled for what the
 * guest queued meanwhile (its kick may have gone to the backend). */
static void go_userspace(struct net_dev *nd)
{
	struct virtio_dev *vdev = &nd->vdev;

	nd->cfg.backend->stop(nd->cfg.backend_priv, vdev);
	nd->offloaded = false;
	nd->rx_starved = false;
	virtqueue__disable_notify(&vdev->vq[NET_QUEUE_RX]);
	update_fd(nd);
	nd->tx_more = true;
	net__resched(nd);
}

int net_dev__set_offload(struct net_dev *nd, bool offload, char *err, size_t errlen)
{
	int r = 0;

	if (offload && !nd->cfg.backend->start)
		return util__fail(err, errlen, "this backend cannot run the queues itself");
	pthread_mutex_lock(&nd->vdev.lock);
	if (nd->running && !nd->broken && offload != nd->offloaded) {
		if (offload)
			r = go_offloaded(nd, err, errlen);
		else
			go_userspace(nd);
	}
	pthread_mutex_unlock(&nd->vdev.lock);
	return r;
}

bool net_dev__offloaded(struct net_dev *nd)
{
	bool r;

	pthread_mutex_lock(&nd->vdev.lock);
	r = nd->offloaded;
	pthread_mutex_unlock(&nd->vdev.lock);
	return r;
}

bool net_dev__running(struct net_dev *nd)
{
	bool r;

	pthread_mutex_lock(&nd->vdev.lock);
	r = nd->running && !nd->broken;
	pthread_mutex_unlock(&nd->vdev.lock);
	return r;
}

/* ---- virtio_dev ops (called by the transport under vdev->lock) ------------ */

static uint64_t net_get_features(struct virtio_dev *vdev)
{
	return to_net(vdev)->offer;
}

/* Dependencies of spec 5.1.3.1: a driver that breaks them is refused. */
static bool features_consistent(uint64_t f)
{
	const uint64_t guest_gso = BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6);
	const uint64_t host_gso = BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6);
	const uint64_t need_ctrl_vq = BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_RX_EXTRA) |
				      BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);

	if ((f & guest_gso) && !(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return false;
	if ((f & BIT(VIRTIO_NET_F_GUEST_ECN)) && !(f & guest_gso))
		return false;
	if ((f & host_gso) && !(f & BIT(VIRTIO_NET_F_CSUM)))
		return false;
	if ((f & BIT(VIRTIO_NET_F_HOST_ECN)) && !(f & host_gso))
		return false;
	if ((f & need_ctrl_vq) && !(f & BIT(VIRTIO_NET_F_CTRL_VQ)))
		return false;
	if ((f & BIT(VIRTIO_NET_F_CTRL_RX_EXTRA)) && !(f & BIT(VIRTIO_NET_F_CTRL_RX)))
		return false;
	return true;
}

/* A masked offer keeps no feature whose prerequisite is gone. */
static uint64_t prune_offer(uint64_t o)
{
	const uint64_t ctrl = BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_RX_EXTRA) |
			      BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);

	o |= BIT(VIRTIO_F_VERSION_1);
	if (!(o & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		o &= ~(BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6));
	if (!(o & (BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6))))
		o &= ~BIT(VIRTIO_NET_F_GUEST_ECN);
	if (!(o & BIT(VIRTIO_NET_F_CSUM)))
		o &= ~(BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6));
	if (!(o & (BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6))))
		o &= ~BIT(VIRTIO_NET_F_HOST_ECN);
	if (!(o & BIT(VIRTIO_NET_F_CTRL_VQ)))
		o &= ~ctrl;
	if (!(o & BIT(VIRTIO_NET_F_CTRL_RX)))
		o &= ~BIT(VIRTIO_NET_F_CTRL_RX_EXTRA);
	return o;
}

static int net_set_features(struct virtio_dev *vdev, uint64_t f)
{
	struct net_dev *nd = to_net(vdev);
	const struct net_backend_ops *be = nd->cfg.backend;

	if ((f & ~nd->offer) || !(f & BIT(VIRTIO_F_VERSION_1)) || !features_consistent(f))
		return -1;
	/* VERSION_1: the 12-byte header whether or not MRG_RXBUF. */
	if (be->set_vnet_hdr_len && be->set_vnet_hdr_len(nd->cfg.backend_priv, NET_HDR_LEN) < 0) {
		pr_guest_err("%s: backend refused a %d-byte vnet header", vdev->name, NET_HDR_LEN);
		return -1;
	}
	/* Offloads the guest did not accept must be off in the backend. */
	if (be->set_offload && be->set_offload(nd->cfg.backend_priv, f) < 0) {
		pr_guest_err("%s: backend refused the offloads for features 0x%llx", vdev->name,
		       (unsigned long long)f);
		return -1;
	}
	nd->features = f;
	nd->rx_need = NET_HDR_LEN + ((f & (BIT(VIRTIO_NET_F_GUEST_TSO4) |
					    BIT(VIRTIO_NET_F_GUEST_TSO6))) ?
				     NET_MAX_FRAME : NET_SMALL_RXBUF - NET_HDR_LEN);
	return 0;
}

static void net_read_config(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len)
{
	struct net_dev *nd = to_net(vdev);
	struct virtio_net_config c = { .status = htole16(VIRTIO_NET_S_LINK_UP) };

	memcpy(c.mac, nd->mac, sizeof(c.mac));
	memset(data, 0, len);
	if (offset < sizeof(c))
		memcpy(data, (uint8_t *)&c + offset, MIN(len, sizeof(c) - offset));
}

static void net_write_config(struct virtio_dev *vdev, uint32_t offset, const void *data,
			     uint32_t len)
{
	/* Nothing is driver-writable with VERSION_1 (mac is read-only). */
}

static int net_queue_enable(struct virtio_dev *vdev, int q)
{
	return q >= 0 && q < NET_NR_QUEUES ? 0 : -1;
}

static void net_driver_ok(struct virtio_dev *vdev)
{
	struct net_dev *nd = to_net(vdev);

	/* Once per reset: a second start would hand the rings to the
	 * backend (vhost) again. */
	if (nd->running)
		return;
	if (!(nd->features & BIT(VIRTIO_F_VERSION_1))) {
		/* The backend's header size was never set: do not start. */
		net__violation(nd, "DRIVER_OK without accepted features");
		return;
	}
	nd->running = true;
	if (nd->cfg.backend->start) {
		int r = nd->cfg.backend->start(nd->cfg.backend_priv, vdev, nd->features);

		if (r < 0) {
			net__violation(nd, "the backend could not start the datapath");
			return;
		}
		nd->offloaded = r == 0;
	}
	if (nd->offloaded)
		return;
	/* Receive kicks only matter once we run out of buffers. */
	virtqueue__disable_notify(&vdev->vq[NET_QUEUE_RX]);
	update_fd(nd);
}

static void net_notify(struct virtio_dev *vdev, int q)
{
	struct net_dev *nd = to_net(vdev);

	if (nd->offloaded && q != NET_QUEUE_CTRL)
		return;
	switch (q) {
	case NET_QUEUE_RX:
		net__count(&nd->stats.rx_kicks, 1);
		if (!nd->rx_starved || !nd->running)
			break;
		nd->rx_starved = false;
		virtqueue__disable_notify(&vdev->vq[NET_QUEUE_RX]);
		update_fd(nd);
		rx_run(nd);
		break;
	case NET_QUEUE_TX:
		net__count(&nd->stats.tx_kicks, 1);
		tx_run(nd);
		break;
	case NET_QUEUE_CTRL:
		net__count(&nd->stats.ctrl_kicks, 1);
		net_ctrl__run(nd);
		break;
	}
}

static void net_reset(struct virtio_dev *vdev)
{
	struct net_dev *nd = to_net(vdev);

	if (nd->offloaded && nd->cfg.backend->stop)
		nd->cfg.backend->stop(nd->cfg.backend_priv, vdev);
	nd->offloaded = false;
	nd->running = false;
	nd->broken = false;
	nd->tx_blocked = nd->tx_more = nd->ctrl_more = false;
	nd->rx_starved = false;
	nd->rx_nheld = nd->rx_niov = 0;
	nd->rx_cap = 0;
	nd->features = 0;
	nd->rx_need = 0;
	memcpy(nd->mac, nd->cfg.mac, sizeof(nd->mac));
	net_ctrl__reset(nd);
	update_fd(nd);
}

static const struct virtio_dev_ops net_ops = {
	.get_features = net_get_features,
	.set_features = net_set_features,
	.read_config = net_read_config,
	.write_config = net_write_config,
	.queue_enable = net_queue_enable,
	.driver_ok = net_driver_ok,
	.notify = net_notify,
	.reset = net_reset,
};

/* ---- lifetime ---------------------------------------------------------- */

struct net_dev *net_dev__create(const struct net_dev_config *cfg)
{
	struct net_dev *nd;
	uint16_t qs = cfg->queue_size ? cfg->queue_size : NET_DEFAULT_QUEUE_SIZE;

	if (!cfg->backend || !cfg->loop || qs > VQ_MAX_SIZE || (qs & (qs - 1)) ||
	    ((cfg->backend->tx || cfg->backend->rx) &&
	     (!cfg->backend->rx_fd || cfg->backend->rx_fd(cfg->backend_priv) < 0))) {
		pr_err("virtio-net: bad configuration (backend, its fd, loop or queue size %u)", qs);
		return NULL;
	}
	nd = calloc(1, sizeof(*nd));
	if (!nd) {
		pr_err("virtio-net: out of memory");
		return NULL;
	}
	nd->cfg = *cfg;
	nd->vdev = (struct virtio_dev){
		.name = "virtio-net", .device_id = VIRTIO_ID_NET, .ops = &net_ops,
		.priv = nd, .nr_queues = NET_NR_QUEUES, .queue_max_size = qs,
	};
	nd->offer = prune_offer(net_features & (cfg->extra_feature_mask ?
						cfg->extra_feature_mask : ~0ULL));
	nd->backend_fd = cfg->backend->rx_fd ? cfg->backend->rx_fd(cfg->backend_priv) : -1;
	nd->sched_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (nd->sched_fd < 0 ||
	    loop__add(cfg->loop, nd->sched_fd, EPOLLIN, on_sched, nd) < 0 ||
	    (nd->backend_fd >= 0 && loop__add(cfg->loop, nd->backend_fd, 0, on_backend, nd) < 0)) {
		pr_err("virtio-net: cannot register with the I/O loop: %s", strerror(errno));
		net_dev__destroy(nd);
		return NULL;
	}
	net_reset(&nd->vdev);
	return nd;
}

void net_dev__destroy(struct net_dev *nd)
{
	if (!nd)
		return;
	if (nd->backend_fd >= 0 && !nd->backend_dead)
		loop__del(nd->cfg.loop, nd->backend_fd);
	if (nd->sched_fd >= 0) {
		loop__del(nd->cfg.loop, nd->sched_fd);
		close(nd->sched_fd);
	}
	free(nd);
}

struct virtio_dev *net_dev__virtio(struct net_dev *nd)
{
	return &nd->vdev;
}

void net_dev__stats(struct net_dev *nd, struct net_dev_stats *out)
{
	const uint64_t *src = (const uint64_t *)&nd->stats;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	out->needs_reset = __atomic_load_n(&nd->vdev.needs_reset_count, __ATOMIC_RELAXED);
}
