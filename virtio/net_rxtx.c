/* net_rxtx.c — the datapath of one virtio-net queue pair: its transmitq
 * to the backend, the backend to its receiveq. Every pair has its own
 * backend fd (a tap queue) and scratch, and runs under its own lock on
 * a thread of its own ("vmm-netNqK"): its doorbells, its tap queue and
 * its sched_fd are polled by its own loop (net_priv.h, struct net_pair).
 *
 * TX (transmitq kick): with guest kicks disabled, the ring side pops up to
 * NET_TX_BATCH chains (tx_pop) and hands them to the backend in one call
 * (tx_send: the tap side writes each as one packet, vnet header + frame,
 * exactly the chain's device-readable buffers, all with one io_uring_enter
 * or one writev() each: devices/net/tap_uring.c); the used entries of a
 * run are published at once and interrupt the guest at most once. A run
 * that found chains ends with kicks still off and one more look scheduled
 * (sched_fd): kicks come back only when a look finds the ring empty, so a
 * guest that keeps sending kicks once per burst, not once per run. If the
 * backend is full (EAGAIN) that chain and the ones after it are un-popped
 * and the run resumes when the backend fd turns writable. After
 * NET_BUDGET packets the run yields to the other fds and resumes through
 * sched_fd.
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
 * reused): no copy even for drops. A pair the driver does not use
 * (multiqueue, beyond VQ_PAIRS_SET) receives nothing; its transmitq is
 * still served, for what the driver queued before it changed the count.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "virtio/net_priv.h"
#include "vmm/iov.h"
#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/util.h"

/* Poll the backend for what the datapath waits on now. */
void net_rxtx__update_fd(struct net_pair *p)
{
	struct net_dev *nd = p->nd;
	uint32_t ev = 0;

	if (p->backend_fd < 0 || p->backend_dead)
		return;
	if (nd->running && !nd->broken && !nd->offloaded) {
		if (!p->rx_starved && nd->vdev.vq[p->rxq].enabled && net_mq__active(p))
			ev |= EPOLLIN;
		if (p->tx_blocked)
			ev |= EPOLLOUT;
	}
	if (ev == p->fd_events)
		return;
	if (loop__mod(p->loop, p->backend_fd, ev, net_rxtx__on_backend, p) < 0) {
		pr_err("%s: cannot change polling of the backend fd", nd->vdev.name);
		return;
	}
	p->fd_events = ev;
}

/* ---- TX ---------------------------------------------------------------- */

/* Ring side: pop up to max transmit chains into the pair's batch (tx_*).
 * Returns how many. A protocol violation ends the batch with *bad saying
 * what it was: the chains before it still go out, as they would have one
 * by one, and the pair stops after them (if the backend was full, the
 * bad chain is met again on the retry). */
static unsigned int tx_pop(struct net_pair *p, unsigned int max, const char **bad)
{
	struct net_dev *nd = p->nd;
	struct virtqueue *vq = &nd->vdev.vq[p->txq];
	struct vq_chain *ch = &p->chain;
	unsigned int n = 0, niov = 0;
	int nsend = 0, rc;

	while (n < max) {
		rc = virtqueue__pop(vq, ch);
		if (rc == 0)
			break;
		if (rc < 0) {
			*bad = vq->err;
			break;
		}
		if (ch->in_num || ch->out_len < NET_HDR_LEN) {
			/* left in the ring: met again if the batch waits */
			virtqueue__unpop(vq, 1);
			*bad = ch->in_num ? "transmit chain has device-writable buffers" :
				"transmit chain shorter than the vnet header";
			break;
		}
		p->tx_head[n] = ch->head;
		p->tx_len[n] = ch->out_len;
		p->tx_send[n] = -1;
		if (ch->out_len <= NET_HDR_LEN + NET_MAX_FRAME) {
			if (ch->out_num > VQ_MAX_IOV - niov) {
				virtqueue__unpop(vq, 1);   /* the next batch's */
				break;
			}
			memcpy(&p->tx_iov[niov], ch->iov, ch->out_num * sizeof(struct iovec));
			p->tx_iovs[nsend] = &p->tx_iov[niov];
			p->tx_cnt[nsend] = (int)ch->out_num;
			p->tx_send[n] = nsend++;
			niov += ch->out_num;
		}
		n++;
	}
	return n;
}

/* The per-packet tx() for a backend without tx_batch: same contract. */
static unsigned int tx_one_by_one(struct net_pair *p, unsigned int n)
{
	const struct net_backend_ops *be = p->nd->cfg.backend;

	for (unsigned int i = 0; i < n; i++) {
		ssize_t r = be->tx(p->nd->cfg.backend_priv, p->index, p->tx_iovs[i], p->tx_cnt[i]);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return i;
		p->tx_res[i] = r < 0 ? -errno : r;
	}
	return n;
}

/* Hand the n popped chains to the backend (tap side: one call), then use
 * them in ring order. Returns false if the backend was full: the chains
 * it did not take are un-popped and the pair waits for EPOLLOUT. */
static bool tx_send(struct net_pair *p, unsigned int n)
{
	struct net_dev *nd = p->nd;
	const struct net_backend_ops *be = nd->cfg.backend;
	struct virtqueue *vq = &nd->vdev.vq[p->txq];
	unsigned int nsend = 0, tried, i;

	for (i = 0; i < n; i++)
		nsend += p->tx_send[i] >= 0;
	if (!nsend)
		tried = 0;
	else if (be->tx_batch)
		tried = be->tx_batch(nd->cfg.backend_priv, p->index, p->tx_iovs, p->tx_cnt,
				     nsend, p->tx_res);
	else
		tried = tx_one_by_one(p, nsend);
	for (i = 0; i < n; i++) {
		int s = p->tx_send[i];
		uint64_t bytes = p->tx_len[i] - NET_HDR_LEN;

		if (s >= (int)tried)
			break;          /* the backend was full from here on */
		if (s < 0 || p->tx_res[s] < 0) {
			net__count(&nd->stats.tx_dropped, 1);   /* oversized, or refused */
		} else {
			net__count(&nd->stats.tx_packets, 1);
			net__count(&nd->stats.tx_bytes, bytes);
			net__count(&p->stats.tx_packets, 1);
			net__count(&p->stats.tx_bytes, bytes);
		}
		virtqueue__fill(vq, p->tx_head[i], 0);
	}
	if (i == n)
		return true;
	virtqueue__unpop(vq, n - i);
	p->tx_blocked = true;
	net_rxtx__update_fd(p);
	return false;
}

void net_rxtx__tx(struct net_pair *p)
{
	struct net_dev *nd = p->nd;
	struct virtqueue *vq = &nd->vdev.vq[p->txq];
	unsigned int done = 0, n;
	const char *bad = NULL;

	if (!nd->running || nd->broken || p->failed || nd->offloaded || p->tx_blocked ||
	    !(nd->cfg.backend->tx || nd->cfg.backend->tx_batch))
		return;
	p->tx_more = false;
	do {
		virtqueue__disable_notify(vq);
		while ((n = tx_pop(p, MIN(NET_TX_BATCH, NET_BUDGET - done), &bad)) > 0 || bad) {
			if (n && !tx_send(p, n))
				goto out;
			if (bad) {
				net_rxtx__fail(p, bad);
				return;
			}
			done += n;   /* at NET_BUDGET, tx_pop takes none: the run yields below */
		}
		/* This run found chains (or used its budget): the guest is likely
		 * still queueing.
		 * Look once more after the loop has served the pair's other
		 * fds, kicks still off (QEMU's transmit bottom half does the
		 * same); only a look that finds nothing asks for kicks again.
		 * A guest that sends steadily then kicks once per burst
		 * instead of once per run. */
		if (done) {
			p->tx_more = true;
			net_rxtx__resched(p);
			goto out;
		}
	} while (virtqueue__enable_notify(vq));
out:
	virtqueue__flush(vq);
	net__signal(nd, p->txq);
}

/* ---- RX ---------------------------------------------------------------- */

/* Room for n more held chains and iovecs at the end of the arrays:
 * move the held ones to the front (rarely: only when the start has
 * moved up far enough that the end is reached). */
static void rx_make_room(struct net_pair *p, unsigned int niov)
{
	if (p->rx_h0 + p->rx_nheld < NET_RX_MAX_IOV && p->rx_i0 + p->rx_niov + niov <= NET_RX_MAX_IOV)
		return;
	memmove(p->rx_held, p->rx_held + p->rx_h0, p->rx_nheld * sizeof(p->rx_held[0]));
	memmove(p->rx_iov, p->rx_iov + p->rx_i0, p->rx_niov * sizeof(p->rx_iov[0]));
	for (unsigned int i = 0; i < p->rx_nheld; i++)
		p->rx_held[i].iov_first -= p->rx_i0;
	p->rx_h0 = p->rx_i0 = 0;
}

/* Pop buffers until the held ones can take the next packet. Returns 1
 * when they can, 0 when the ring ran dry first, -1 on a violation. */
static int rx_gather(struct net_pair *p)
{
	struct net_dev *nd = p->nd;
	struct virtqueue *vq = &nd->vdev.vq[p->rxq];
	struct vq_chain *ch = &p->chain;
	bool mrg = nd->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	struct net_rx_held *h;
	int rc;

	while (mrg ? p->rx_cap < nd->rx_need : p->rx_nheld == 0) {
		rc = virtqueue__pop(vq, ch);
		if (rc < 0) {
			net_rxtx__fail(p, vq->err);
			return -1;
		}
		if (rc == 0)
			return 0;
		if (ch->out_num || ch->in_len < NET_HDR_LEN) {
			net_rxtx__fail(p, ch->out_num ?
				       "receive chain has device-readable buffers" :
				       "receive buffer shorter than the vnet header");
			return -1;
		}
		if (ch->in_num > NET_RX_MAX_IOV - p->rx_niov) {
			/* readv() takes no more: the next packet gets what
			 * is held (never empty here: one chain always fits). */
			virtqueue__unpop(vq, 1);
			return 1;
		}
		rx_make_room(p, ch->in_num);
		h = &p->rx_held[p->rx_h0 + p->rx_nheld++];
		*h = (struct net_rx_held){ .head = ch->head, .cap = ch->in_len,
					   .iov_first = p->rx_i0 + p->rx_niov, .iov_cnt = ch->in_num };
		memcpy(&p->rx_iov[h->iov_first], ch->iov, ch->in_num * sizeof(struct iovec));
		p->rx_niov += ch->in_num;
		p->rx_cap += ch->in_len;
	}
	return 1;
}

/* The first k held chains were used: forget them. */
static void rx_drop_held(struct net_pair *p, unsigned int k)
{
	const struct net_rx_held *h = &p->rx_held[p->rx_h0];
	unsigned int first = k < p->rx_nheld ? h[k].iov_first : p->rx_i0 + p->rx_niov;

	for (unsigned int i = 0; i < k; i++)
		p->rx_cap -= h[i].cap;
	p->rx_nheld -= k;
	p->rx_niov -= first - p->rx_i0;
	p->rx_h0 = p->rx_nheld ? p->rx_h0 + k : 0;
	p->rx_i0 = p->rx_nheld ? first : 0;
}

/* A packet of n bytes (header included) is in the held buffers. */
static void rx_deliver(struct net_pair *p, size_t n)
{
	struct net_dev *nd = p->nd;
	struct virtqueue *vq = &nd->vdev.vq[p->rxq];
	const struct net_rx_held *h = &p->rx_held[p->rx_h0];
	uint8_t dst[6];
	uint16_t nbuf;
	unsigned int k = 0;
	size_t left = n;

	if (n < NET_HDR_LEN + NET_MIN_FRAME || n > p->rx_cap) {
		net__count(&nd->stats.rx_dropped, 1);   /* runt or truncated */
		return;
	}
	iov__to_buf(&p->rx_iov[p->rx_i0], (int)p->rx_niov, NET_HDR_LEN, dst, sizeof(dst));
	if (!net_ctrl__accept(nd, dst)) {
		net__count(&nd->stats.rx_filtered, 1);
		return;
	}
	/* Write num_buffers (the tap leaves it alone) before the used
	 * entries are published. */
	for (k = 0; left; k++) {
		uint32_t len = left < h[k].cap ? (uint32_t)left : h[k].cap;

		left -= len;
	}
	nbuf = htole16((uint16_t)k);
	iov__from_buf(&p->rx_iov[h[0].iov_first], (int)h[0].iov_cnt,
		      offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers),
		      &nbuf, sizeof(nbuf));
	left = n;
	for (unsigned int i = 0; i < k; i++) {
		uint32_t len = left < h[i].cap ? (uint32_t)left : h[i].cap;

		virtqueue__fill(vq, h[i].head, len);
		left -= len;
	}
	virtqueue__flush(vq);
	rx_drop_held(p, k);
	net__count(&nd->stats.rx_packets, 1);
	net__count(&nd->stats.rx_bytes, n - NET_HDR_LEN);
	net__count(&p->stats.rx_packets, 1);
	net__count(&p->stats.rx_bytes, n - NET_HDR_LEN);
}

/* Out of buffers: wait for a receiveq kick instead of polling the
 * backend. Returns true if buffers came meanwhile (keep going). */
static bool rx_wait_buffers(struct net_pair *p)
{
	struct net_dev *nd = p->nd;
	struct virtqueue *vq = &nd->vdev.vq[p->rxq];

	if (virtqueue__enable_notify(vq)) {
		virtqueue__disable_notify(vq);
		return true;
	}
	p->rx_starved = true;
	net_rxtx__update_fd(p);
	return false;
}

void net_rxtx__rx(struct net_pair *p)
{
	struct net_dev *nd = p->nd;
	const struct net_backend_ops *be = nd->cfg.backend;
	unsigned int i;

	if (!nd->running || nd->broken || p->failed || nd->offloaded || p->rx_starved ||
	    p->backend_dead || !be->rx || !net_mq__active(p))
		return;
	for (i = 0; i < NET_BUDGET; i++) {
		int rc = rx_gather(p);
		ssize_t n;

		if (rc < 0)
			return;
		if (rc == 0) {
			if (rx_wait_buffers(p))
				continue;
			break;
		}
		n = be->rx(nd->cfg.backend_priv, p->index, &p->rx_iov[p->rx_i0], (int)p->rx_niov);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;   /* nothing waiting (or retry on the next wakeup) */
		if (n <= 0) {
			/* EOF or a hard error: stop polling rather than spin. */
			pr_warn("%s: backend receive failed (%s); receive stopped",
				nd->vdev.name, n ? strerror(errno) : "end of file");
			net__count(&nd->stats.rx_dropped, 1);
			p->backend_dead = true;
			loop__del(p->loop, p->backend_fd);
			break;
		}
		rx_deliver(p, (size_t)n);
	}
	net__signal(nd, p->rxq);
}

void net_rxtx__rx_kick(struct net_pair *p)
{
	struct net_dev *nd = p->nd;

	if (!p->rx_starved || !nd->running)
		return;
	p->rx_starved = false;
	virtqueue__disable_notify(&nd->vdev.vq[p->rxq]);
	net_rxtx__update_fd(p);
	net_rxtx__rx(p);
}

void net_rxtx__unhold(struct net_pair *p)
{
	if (p->rx_nheld)
		virtqueue__unpop(&p->nd->vdev.vq[p->rxq], p->rx_nheld);
	p->rx_h0 = p->rx_nheld = p->rx_i0 = p->rx_niov = 0;
	p->rx_cap = 0;
}

/* ---- the pair's thread ---------------------------------------------------- */

void net_rxtx__lock(struct net_pair *p)
{
	if (!p->nd->threaded)
		pthread_mutex_lock(&p->nd->vdev.lock);
	pthread_mutex_lock(&p->lock);
}

void net_rxtx__unlock(struct net_pair *p)
{
	pthread_mutex_unlock(&p->lock);
	if (!p->nd->threaded)
		pthread_mutex_unlock(&p->nd->vdev.lock);
}

/* NEEDS_RESET is the transport's, under vdev->lock, which a pair thread
 * may not take while it holds its own (lock order): the pair stops here
 * and the I/O thread reports it (net.c, on_sched). */
void net_rxtx__fail(struct net_pair *p, const char *why)
{
	if (!p->nd->threaded) {
		net__violation(p->nd, why);   /* vdev->lock is held */
		return;
	}
	if (p->failed)
		return;
	p->failed = why ? why : "protocol violation";
	net__resched(p->nd);
}

void net_rxtx__resched(struct net_pair *p)
{
	uint64_t one = 1;

	if (write(p->sched_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_err("%s: queue pair %u: cannot reschedule: %s", p->nd->vdev.name, p->index,
		       strerror(errno));
}

void net_rxtx__on_sched(void *opaque, uint32_t events)
{
	struct net_pair *p = opaque;
	uint64_t v;

	if (read(p->sched_fd, &v, sizeof(v)) < 0)
		return;
	net_rxtx__lock(p);
	if (p->tx_more)
		net_rxtx__tx(p);
	net_rxtx__unlock(p);
}

void net_rxtx__on_backend(void *opaque, uint32_t events)
{
	struct net_pair *p = opaque;
	struct net_dev *nd = p->nd;

	net_rxtx__lock(p);
	if ((events & (EPOLLERR | EPOLLHUP)) && !p->backend_dead) {
		/* Reported even when we poll for nothing: stop for good. */
		pr_warn("%s: backend fd of queue pair %u hung up; its datapath stopped",
			nd->vdev.name, p->index);
		p->backend_dead = true;
		loop__del(p->loop, p->backend_fd);
	} else if (!p->backend_dead) {
		if ((events & EPOLLOUT) && p->tx_blocked) {
			p->tx_blocked = false;
			net_rxtx__update_fd(p);
			net_rxtx__tx(p);
		}
		if (events & EPOLLIN)
			net_rxtx__rx(p);
	}
	net_rxtx__unlock(p);
}
