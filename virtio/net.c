/* net.c — virtio-net device: negotiation, config space, the virtio_dev
 * ops, and moving a running device's datapath between vmm and the
 * backend. The datapath of each queue pair is net_rxtx.c; which queue is
 * what, and multiqueue's pairs in use, net_mq.c; the control queue
 * net_ctrl.c.
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

/* ---- shared helpers --------------------------------------------------- */

void net__update_fds(struct net_dev *nd)
{
	for (unsigned int i = 0; i < nd->max_pairs; i++)
		net_rxtx__update_fd(&nd->pair[i]);
}

void net__violation(struct net_dev *nd, const char *why)
{
	if (nd->broken)
		return;
	nd->broken = true;
	virtio_dev__needs_reset(&nd->vdev, why);
	net__update_fds(nd);   /* a readable backend must not keep waking us */
}

void net__signal(struct net_dev *nd, int q)
{
	struct virtqueue *vq = &nd->vdev.vq[q];
	struct net_pair *p = net_mq__pair_of(nd, q);
	uint64_t before = vq->notified;

	virtio_dev__signal_queue(&nd->vdev, q);
	net__count(q == net_mq__ctrl_queue(nd) ? &nd->stats.ctrl_interrupts :
		   q % 2 ? &nd->stats.tx_interrupts : &nd->stats.rx_interrupts,
		   vq->notified - before);
	if (p)
		net__count(q == p->rxq ? &p->stats.rx_interrupts : &p->stats.tx_interrupts,
			   vq->notified - before);
}

void net__resched(struct net_dev *nd)
{
	uint64_t one = 1;

	if (write(nd->sched_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_err("%s: cannot reschedule: %s", nd->vdev.name, strerror(errno));
}

void net__lock_pairs(struct net_dev *nd)
{
	for (unsigned int i = 0; i < nd->max_pairs; i++)
		pthread_mutex_lock(&nd->pair[i].lock);
}

void net__unlock_pairs(struct net_dev *nd)
{
	for (unsigned int i = nd->max_pairs; i-- > 0;)
		pthread_mutex_unlock(&nd->pair[i].lock);
}

/* I/O thread: what the pairs' threads could not do themselves (report a
 * violation, serve a control-queue kick that came on a pair's loop) and
 * the rest of a control-queue run. */
static void on_sched(void *opaque, uint32_t events)
{
	struct net_dev *nd = opaque;
	uint64_t v;

	if (read(nd->sched_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&nd->vdev.lock);
	net__lock_pairs(nd);
	for (unsigned int i = 0; i < nd->max_pairs; i++)
		if (nd->pair[i].failed)
			net__violation(nd, nd->pair[i].failed);
	if (__atomic_exchange_n(&nd->ctrl_kicked, false, __ATOMIC_RELAXED) && nd->running) {
		net__count(&nd->stats.ctrl_kicks, 1);
		nd->ctrl_more = true;
	}
	if (nd->ctrl_more)
		net_ctrl__run(nd);
	net__unlock_pairs(nd);
	pthread_mutex_unlock(&nd->vdev.lock);
}

bool net_dev__offloaded(struct net_dev *nd)
{
	bool r;

	pthread_mutex_lock(&nd->vdev.lock);
	r = nd->offloaded;
	pthread_mutex_unlock(&nd->vdev.lock);
	return r;
}

unsigned net_dev__pairs_in_use(struct net_dev *nd)
{
	unsigned r;

	pthread_mutex_lock(&nd->vdev.lock);
	r = nd->curr_pairs;
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
				      BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT(VIRTIO_NET_F_MQ);

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
			      BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT(VIRTIO_NET_F_MQ);

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

static int set_features(struct virtio_dev *vdev, uint64_t f)
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

static int net_set_features(struct virtio_dev *vdev, uint64_t f)
{
	struct net_dev *nd = to_net(vdev);
	int r;

	net__lock_pairs(nd);
	r = set_features(vdev, f);
	net__unlock_pairs(nd);
	return r;
}

static void net_read_config(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len)
{
	struct net_dev *nd = to_net(vdev);
	struct virtio_net_config c = { .status = htole16(VIRTIO_NET_S_LINK_UP) };

	memcpy(c.mac, nd->mac, sizeof(c.mac));
	/* Only with MQ offered: one pair reads 0 there, as before MQ. */
	if (nd->offer & BIT(VIRTIO_NET_F_MQ))
		c.max_virtqueue_pairs = htole16((uint16_t)nd->max_pairs);
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
	return q >= 0 && q < vdev->nr_queues ? 0 : -1;
}

static void driver_ok(struct virtio_dev *vdev)
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
	for (unsigned int i = 0; i < net_mq__pairs(nd); i++)
		virtqueue__disable_notify(&vdev->vq[nd->pair[i].rxq]);
	net__update_fds(nd);
}

static void net_driver_ok(struct virtio_dev *vdev)
{
	struct net_dev *nd = to_net(vdev);

	net__lock_pairs(nd);
	driver_ok(vdev);
	net__unlock_pairs(nd);
}

/* A kick on one of pair p's queues, under p->lock. */
static void pair_kick(struct net_pair *p, int q)
{
	struct net_dev *nd = p->nd;

	if (nd->offloaded)   /* not ours to serve */
		return;
	if (q == p->rxq) {
		net__count(&nd->stats.rx_kicks, 1);
		net__count(&p->stats.rx_kicks, 1);
		net_rxtx__rx_kick(p);
	} else {
		net__count(&nd->stats.tx_kicks, 1);
		net__count(&p->stats.tx_kicks, 1);
		net_rxtx__tx(p);
	}
}

/* Under vdev->lock, on the I/O thread: the control queue, and every queue
 * when the pairs have no threads of their own. */
static void net_notify(struct virtio_dev *vdev, int q)
{
	struct net_dev *nd = to_net(vdev);
	struct net_pair *p;

	if (q == net_mq__ctrl_queue(nd)) {
		net__lock_pairs(nd);
		net__count(&nd->stats.ctrl_kicks, 1);
		net_ctrl__run(nd);
		net__unlock_pairs(nd);
		return;
	}
	p = net_mq__pair_of(nd, q);
	if (!p)   /* not a queue of this negotiation */
		return;
	pthread_mutex_lock(&p->lock);
	pair_kick(p, q);
	pthread_mutex_unlock(&p->lock);
}

/* Threaded: a doorbell on pair q/2's own loop, without vdev->lock. Which
 * queue it is depends on the negotiation (without MQ queue 2 is the
 * control queue), read under the loop's pair lock; the control queue is
 * served on the I/O thread. */
static void net_notify_on_loop(struct virtio_dev *vdev, int q)
{
	struct net_dev *nd = to_net(vdev);
	struct net_pair *p = &nd->pair[q / 2];
	bool ctrl;

	pthread_mutex_lock(&p->lock);
	ctrl = q == net_mq__ctrl_queue(nd);
	if (!ctrl && nd->running && net_mq__pair_of(nd, q) == p)
		pair_kick(p, q);
	pthread_mutex_unlock(&p->lock);
	if (ctrl) {
		__atomic_store_n(&nd->ctrl_kicked, true, __ATOMIC_RELAXED);
		net__resched(nd);
	}
}

/* Threaded: pair k's doorbells, and queue 2k even when it is the control
 * queue (without MQ; net_notify_on_loop sorts it out). */
static struct loop *net_queue_loop(struct virtio_dev *vdev, int q)
{
	struct net_dev *nd = to_net(vdev);

	if (!nd->threaded || q < 0 || (unsigned)q / 2 >= nd->max_pairs)
		return NULL;
	return nd->pair[q / 2].loop;
}

/* Under vdev->lock and every pair's lock. */
static void reset(struct net_dev *nd)
{
	struct virtio_dev *vdev = &nd->vdev;

	if (nd->offloaded && nd->cfg.backend->stop)
		nd->cfg.backend->stop(nd->cfg.backend_priv, vdev);
	nd->offloaded = false;
	nd->running = false;
	nd->broken = false;
	nd->ctrl_more = false;
	for (unsigned int i = 0; i < nd->max_pairs; i++) {
		struct net_pair *p = &nd->pair[i];

		p->tx_blocked = p->tx_more = p->rx_starved = false;
		p->failed = NULL;
		p->rx_h0 = p->rx_nheld = p->rx_i0 = p->rx_niov = 0;
		p->rx_cap = 0;
	}
	nd->features = 0;
	nd->rx_need = 0;
	memcpy(nd->mac, nd->cfg.mac, sizeof(nd->mac));
	net_ctrl__reset(nd);
	net_mq__reset(nd);   /* one pair receives; every fd polled as that needs */
}

static void net_reset(struct virtio_dev *vdev)
{
	struct net_dev *nd = to_net(vdev);

	net__lock_pairs(nd);
	reset(nd);
	net__unlock_pairs(nd);
}

static const struct virtio_dev_ops net_ops = {
	.get_features = net_get_features,
	.set_features = net_set_features,
	.read_config = net_read_config,
	.write_config = net_write_config,
	.queue_enable = net_queue_enable,
	.driver_ok = net_driver_ok,
	.notify = net_notify,
	.queue_loop = net_queue_loop,
	.notify_on_loop = net_notify_on_loop,
	.reset = net_reset,
};

/* ---- lifetime ---------------------------------------------------------- */

static void destroy_pairs(struct net_dev *nd)
{
	for (unsigned int i = 0; i < nd->max_pairs; i++) {
		struct net_pair *p = &nd->pair[i];

		if (p->backend_fd >= 0 && !p->backend_dead)
			loop__del(p->loop, p->backend_fd);
		if (p->sched_fd >= 0) {
			loop__del(p->loop, p->sched_fd);
			close(p->sched_fd);
		}
		pthread_mutex_destroy(&p->lock);
	}
}

/* Pair i's loop (its own thread when threaded), its sched_fd and its
 * backend fd on it. */
static int setup_pair(struct net_dev *nd, unsigned int i)
{
	const struct net_dev_config *cfg = &nd->cfg;
	struct net_pair *p = &nd->pair[i];
	int fd;

	if (nd->threaded)
		p->loop = cfg->pair_loop[i];
	p->sched_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->sched_fd < 0 ||
	    loop__add(p->loop, p->sched_fd, EPOLLIN, net_rxtx__on_sched, p) < 0) {
		if (p->sched_fd >= 0)
			close(p->sched_fd);
		p->sched_fd = -1;
		return -1;
	}
	fd = cfg->backend->rx_fd ? cfg->backend->rx_fd(cfg->backend_priv, i) : -1;
	if (fd >= 0 && loop__add(p->loop, fd, 0, net_rxtx__on_backend, p) < 0)
		return -1;
	p->backend_fd = fd;
	return 0;
}

static bool config_ok(const struct net_dev_config *cfg, uint16_t qs, unsigned int pairs)
{
	const struct net_backend_ops *be = cfg->backend;

	if (!be || !cfg->loop || qs > VQ_MAX_SIZE || (qs & (qs - 1)) || pairs > NET_MAX_PAIRS)
		return false;
	for (unsigned int i = 1; i < pairs; i++)
		if (!cfg->pair_loop[i] != !cfg->pair_loop[0])
			return false;   /* all pairs threaded, or none */
	if (!be->tx && !be->tx_batch && !be->rx)
		return true;
	if (!be->rx_fd)
		return false;
	for (unsigned int i = 0; i < pairs; i++)
		if (be->rx_fd(cfg->backend_priv, i) < 0)
			return false;
	return true;
}

struct net_dev *net_dev__create(const struct net_dev_config *cfg)
{
	struct net_dev *nd;
	uint16_t qs = cfg->queue_size ? cfg->queue_size : NET_DEFAULT_QUEUE_SIZE;
	unsigned int pairs = cfg->queue_pairs ? cfg->queue_pairs : 1;
	uint64_t offer = net_features | (pairs > 1 ? BIT(VIRTIO_NET_F_MQ) : 0);

	if (!config_ok(cfg, qs, pairs)) {
		pr_err("virtio-net: bad configuration (backend, its fds, loop, queue size %u or "
		       "%u queue pairs)", qs, pairs);
		return NULL;
	}
	nd = calloc(1, sizeof(*nd) + pairs * sizeof(nd->pair[0]));
	if (!nd) {
		pr_err("virtio-net: out of memory");
		return NULL;
	}
	nd->cfg = *cfg;
	nd->max_pairs = pairs;
	nd->curr_pairs = 1;
	nd->vdev = (struct virtio_dev){
		.name = "virtio-net", .device_id = VIRTIO_ID_NET, .ops = &net_ops,
		.priv = nd, .nr_queues = (int)(2 * pairs + 1), .queue_max_size = qs,
	};
	nd->offer = prune_offer(offer & (cfg->extra_feature_mask ? cfg->extra_feature_mask : ~0ULL));
	nd->threaded = cfg->pair_loop[0] != NULL;
	for (unsigned int i = 0; i < pairs; i++) {
		struct net_pair *p = &nd->pair[i];

		*p = (struct net_pair){ .nd = nd, .index = i, .rxq = NET_RXQ(i), .txq = NET_TXQ(i),
					.loop = cfg->loop, .sched_fd = -1, .backend_fd = -1 };
		pthread_mutex_init(&p->lock, NULL);
	}
	nd->sched_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (nd->sched_fd < 0 || loop__add(cfg->loop, nd->sched_fd, EPOLLIN, on_sched, nd) < 0)
		goto fail;
	for (unsigned int i = 0; i < pairs; i++)
		if (setup_pair(nd, i) < 0)
			goto fail;
	net_reset(&nd->vdev);
	return nd;
fail:
	pr_err("virtio-net: cannot register with the I/O loop: %s", strerror(errno));
	net_dev__destroy(nd);
	return NULL;
}

void net_dev__destroy(struct net_dev *nd)
{
	if (!nd)
		return;
	destroy_pairs(nd);
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

unsigned net_dev__max_pairs(struct net_dev *nd)
{
	return nd->max_pairs;
}

void net_dev__queue_stats(struct net_dev *nd, unsigned pair, struct net_queue_stats *out)
{
	const uint64_t *src;
	uint64_t *dst = (uint64_t *)out;

	memset(out, 0, sizeof(*out));
	if (pair >= nd->max_pairs)
		return;
	src = (const uint64_t *)&nd->pair[pair].stats;
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
