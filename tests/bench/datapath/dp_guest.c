/* dp_guest.c — the synthetic guest: a thread that drives the transmit or
 * receive queue the way Linux's virtio_net (with virtio_ring) does, in
 * ordinary memory that vmm sees as guest RAM.
 *
 * Transmit: every free descriptor id owns a buffer with a prebuilt vnet
 * header and frame; queueing a packet is writing its sequence number and
 * one avail entry (a direct descriptor for 64 B and 1 KiB; for a 64 KiB
 * TSO frame an indirect table of 18 segments: header + protocol headers,
 * then 4 KiB pages, as an skb with page frags goes). A batch is published
 * with one avail->idx store and kicked only when EVENT_IDX says the device
 * wants it. Interrupts stay off (used_event far ahead) until the ring is
 * full; then the guest asks for one when 3/4 of what is in flight is done
 * (virtqueue_enable_cb_delayed) and sleeps on the vector's irqfd.
 *
 * Receive: mergeable buffers (MRG_RXBUF), one descriptor each, 1536 bytes
 * for the small frames and 4 KiB for TSO (where Linux's buffer-size
 * average settles). NAPI-style: with interrupts off, take every used
 * entry, put the buffers back, kick if asked; when nothing is left,
 * interrupts on (used_event = next entry), check again, sleep. For the
 * host's 64 KiB TSO stream the receive path is also a minimal TCP
 * receiver that sends its ACKs on the transmit queue (see below).
 *
 * Sleeping is poll() + read() on the eventfd: the guest's own system
 * calls, not vmm's (only the I/O thread's are counted).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_net.h>

#include "tests/bench/datapath/dp.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the synthetic guest writes rings in host byte order: little-endian only"
#endif

#define RXBUF_GPA(id)  (0x100000ULL + (uint64_t)(id) * 0x1000)
#define TXBUF_GPA(id)  (0x200000ULL + (uint64_t)(id) * 0x11000)
#define IND_GPA(id)    (0x1400000ULL + (uint64_t)(id) * 32 * 16)
#define HDR            ((uint32_t)sizeof(struct virtio_net_hdr_mrg_rxbuf))

static void *gpa(struct dp_machine *m, uint64_t a, uint64_t len)
{
	return guest_mem__ptr(&m->mem, a, len);
}

/* ---- the split ring, driver side -------------------------------------- */

static void avail_add(struct dp_ring *r, uint16_t id)
{
	r->avail->ring[r->avail_idx % r->size] = id;
	r->avail_idx++;
}

/* Publish the new entries, then kick if the device asked for it. */
static void avail_publish(struct dp_machine *m, struct dp_ring *r)
{
	uint16_t old = r->kicked_idx, now = r->avail_idx;
	bool kick;

	__atomic_store_n(&r->avail->idx, now, __ATOMIC_RELEASE);
	/* the device re-arms avail_event and then re-reads avail->idx: the
	 * store above must be visible before we read its flag (virtio_mb) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	r->kicked_idx = now;
	if (m->event_idx)
		kick = vring_need_event(__atomic_load_n((uint16_t *)&r->used->ring[r->size],
							__ATOMIC_RELAXED), now, old);
	else
		kick = !(__atomic_load_n(&r->used->flags, __ATOMIC_RELAXED) & VRING_USED_F_NO_NOTIFY);
	if (kick && now != old) {
		uint64_t one = 1;

		if (write(r->kick_fd, &one, sizeof(one)) == sizeof(one))
			__atomic_store_n(&r->kicks, r->kicks + 1, __ATOMIC_RELAXED);
	}
}

static bool used_get(struct dp_ring *r, uint16_t *id, uint32_t *len)
{
	struct vring_used_elem *e;

	if (__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE) == r->last_used)
		return false;
	e = &r->used->ring[r->last_used % r->size];
	*id = (uint16_t)e->id;
	*len = e->len;
	r->last_used++;
	return true;
}

/* Interrupts off: used_event half the index space ahead. */
static void cb_disable(struct dp_machine *m, struct dp_ring *r)
{
	if (m->event_idx)
		__atomic_store_n(&r->avail->ring[r->size], (uint16_t)(r->last_used + 0x8000),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&r->avail->flags, VRING_AVAIL_F_NO_INTERRUPT, __ATOMIC_RELAXED);
}

/* Interrupts on after 'delay' more used entries; true when entries are
 * already waiting (then do not sleep). */
static bool cb_enable(struct dp_machine *m, struct dp_ring *r, uint16_t delay)
{
	if (m->event_idx)
		__atomic_store_n(&r->avail->ring[r->size], (uint16_t)(r->last_used + delay),
				 __ATOMIC_RELAXED);
	else
		__atomic_store_n(&r->avail->flags, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return (uint16_t)(__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE) - r->last_used) > delay;
}

/* Sleep until the vector's irqfd fires (or ms pass). */
static void wait_irq(struct dp_ring *r, int ms)
{
	struct pollfd p = { .fd = r->irq_fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) == 1 && read(r->irq_fd, &v, sizeof(v)) == sizeof(v))
		__atomic_store_n(&r->irqs, r->irqs + v, __ATOMIC_RELAXED);
}

/* ---- transmit ----------------------------------------------------------- */

/* Offset of the sequence number in a TX buffer (vnet header included). */
static uint32_t seq_off(const struct dp_cell *c)
{
	return HDR + 14 + 20 + (c->tso ? 20 : 8) + 4;
}

static void tx_prepare(struct dp_machine *m, const struct dp_cell *c)
{
	static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct virtio_net_hdr_mrg_rxbuf h = {
		.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.hdr.csum_start = 34,
		.hdr.csum_offset = c->tso ? 16 : 6,
	};
	struct dp_ring *r = &m->tx;

	if (c->tso) {
		h.hdr.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h.hdr.hdr_len = 54;
		h.hdr.gso_size = DP_MSS;
	}
	for (uint16_t id = 0; id < r->size; id++) {
		uint8_t *b = gpa(m, TXBUF_GPA(id), HDR + c->frame);
		uint32_t total = HDR + c->frame;

		memcpy(b, &h, HDR);
		/* to a MAC that is not the tap's: the host's IP layer drops
		 * the frame at once (PACKET_OTHERHOST), the peer's packet
		 * socket still gets it */
		dp_frame(b + HDR, c, peer_mac, m->guest_mac, false, 0);
		if (!c->tso) {
			r->desc[id] = (struct vring_desc){ .addr = TXBUF_GPA(id), .len = total };
			continue;
		}
		struct vring_desc *t = gpa(m, IND_GPA(id), 32 * 16);
		uint32_t n = 0, off = HDR + 54;

		t[n++] = (struct vring_desc){ .addr = TXBUF_GPA(id), .len = off };
		while (off < total) {
			uint32_t l = total - off < 4096 ? total - off : 4096;

			t[n - 1].flags = VRING_DESC_F_NEXT;
			t[n - 1].next = (uint16_t)n;
			t[n++] = (struct vring_desc){ .addr = TXBUF_GPA(id) + off, .len = l };
			off += l;
		}
		r->desc[id] = (struct vring_desc){ .addr = IND_GPA(id), .len = n * 16,
						   .flags = VRING_DESC_F_INDIRECT };
	}
}

static void tx_reclaim(struct dp_ring *r)
{
	uint16_t id;
	uint32_t len;

	while (used_get(r, &id, &len))
		r->free[r->nfree++] = id;
}

void *dp_guest_tx(void *arg)
{
	struct dp_flow *f = arg;
	struct dp_machine *m = f->m;
	struct dp_ring *r = &m->tx;
	uint32_t so = seq_off(f->cell);
	uint64_t seq = 0;

	tx_prepare(m, f->cell);
	cb_disable(m, r);
	while (!f->stop) {
		uint32_t room, n;

		tx_reclaim(r);
		room = f->credit.window - (f->credit.sent -
					   __atomic_load_n(&f->credit.done, __ATOMIC_ACQUIRE));
		n = r->nfree < room ? r->nfree : room;
		if (!n) {
			if (r->nfree) {
				dp_credit_wait(&f->credit, &f->stop);
			} else {
				if (!cb_enable(m, r, (uint16_t)(r->size * 3 / 4)))
					wait_irq(r, 20);
				cb_disable(m, r);
			}
			continue;
		}
		for (uint32_t i = 0; i < n; i++) {
			uint16_t id = r->free[--r->nfree];

			memcpy((uint8_t *)gpa(m, TXBUF_GPA(id), so + 8) + so, &seq, 8);
			seq++;
			avail_add(r, id);
		}
		__atomic_store_n(&f->credit.sent, f->credit.sent + n, __ATOMIC_RELEASE);
		f->sent += n;
		avail_publish(m, r);
	}
	/* Everything queued completes before the next cell reuses the ring. */
	for (int tries = 0; r->nfree < r->size && tries < 200; tries++) {
		tx_reclaim(r);
		if (r->nfree < r->size && !cb_enable(m, r, 0))
			wait_irq(r, 10);
		cb_disable(m, r);
	}
	tx_reclaim(r);
	return NULL;
}

/* ---- receive ------------------------------------------------------------- */

static void rx_post(struct dp_machine *m, uint32_t buflen)
{
	struct dp_ring *r = &m->rx;

	if (!r->nfree)
		return;
	while (r->nfree) {
		uint16_t id = r->free[--r->nfree];

		r->desc[id] = (struct vring_desc){ .addr = RXBUF_GPA(id), .len = buflen,
						   .flags = VRING_DESC_F_WRITE };
		avail_add(r, id);
	}
	avail_publish(m, r);
}

void dp_guest_rx_fill(struct dp_machine *m, uint32_t buflen)
{
	rx_post(m, buflen);
}

/* One whole packet arrived: its first buffer 'first', nbuf buffers,
 * 'len' bytes with the header. True when it is one of the peer's. */
static bool rx_packet(struct dp_flow *f, uint16_t first, uint16_t nbuf, uint32_t len,
		      uint64_t *expect)
{
	const struct dp_cell *c = f->cell;
	const struct virtio_net_hdr_mrg_rxbuf *h = gpa(f->m, RXBUF_GPA(first), HDR);
	uint64_t seq;

	if (!dp_frame_seq((const uint8_t *)h + HDR, len - HDR < 4096 - HDR ? len - HDR : 4096 - HDR,
			  &seq)) {
		f->strays++;
		return false;
	}
	f->got++;
	f->bytes_got += len - HDR;
	if (nbuf > f->max_nbuf)
		f->max_nbuf = nbuf;
	if (len - HDR != c->frame ||
	    h->hdr.gso_type != (c->tso ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_NONE) ||
	    (c->tso && h->hdr.gso_size != DP_MSS))
		f->bad++;
	if (seq != *expect)
		f->out_of_order++;
	*expect = seq + 1;
	return true;
}

/* ---- a TCP receiver for the host's 64 KiB TSO stream ------------------------ */

/* Only a local TCP socket makes GSO frames the tap passes on whole (a
 * packet socket's are "dodgy" and get segmented: dp_peer.c), so the
 * host -> guest TSO cell is a real connection from the host, and the guest
 * plays the receiving end: SYN-ACK, then one cumulative ACK per batch of
 * frames, sent on the transmit queue like any guest's ACKs. No SACK or
 * timestamps: the tap never reorders or drops, though the host resends
 * what a late ACK left uncovered (counted in resent, not a failure). */
struct tcp_rx {
	bool open;
	uint8_t peer_port[2];
	uint32_t rcv_nxt, snd_nxt;
	bool ack_due;
};

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void set32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	return s;
}

/* One small frame on the transmit queue (an ACK): direct descriptor,
 * checksums complete, no offload flags. */
static void tx_small(struct dp_machine *m, const uint8_t *frame, uint32_t len)
{
	struct dp_ring *r = &m->tx;
	uint8_t *b;
	uint16_t id;

	tx_reclaim(r);
	if (!r->nfree)
		return;     /* the next ACK covers it */
	id = r->free[--r->nfree];
	b = gpa(m, TXBUF_GPA(id), HDR + len);
	memset(b, 0, HDR);
	memcpy(b + HDR, frame, len);
	r->desc[id] = (struct vring_desc){ .addr = TXBUF_GPA(id), .len = HDR + len };
	avail_add(r, id);
	avail_publish(m, r);
}

static void tcp_send(struct dp_machine *m, struct tcp_rx *t, bool syn)
{
	uint8_t f[14 + 20 + 28] = { 0 }, *ip = f + 14, *th = ip + 20, ph[12];
	uint32_t tl = syn ? 28 : 20, s = 0;
	static const uint8_t gip[4] = { 10, 0, 0, 2 }, hip[4] = { 10, 0, 0, 1 };

	memcpy(f, m->tap_mac, 6);
	memcpy(f + 6, m->guest_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = (uint8_t)(20 + tl);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, gip, 4);
	memcpy(ip + 16, hip, 4);
	s = csum_fold(csum_add(0, ip, 20));
	ip[10] = (uint8_t)(s >> 8); ip[11] = (uint8_t)s;
	th[0] = 5001 >> 8; th[1] = 5001 & 0xff;
	memcpy(th + 2, t->peer_port, 2);
	set32(th + 4, syn ? t->snd_nxt - 1 : t->snd_nxt);
	set32(th + 8, t->rcv_nxt);
	th[12] = (uint8_t)((tl / 4) << 4);
	th[13] = syn ? 0x12 : 0x10;               /* SYN ACK / ACK */
	th[14] = 0xff; th[15] = 0xff;             /* x 2^7 after the SYN: 8 MiB */
	if (syn) {
		static const uint8_t opt[8] = { 2, 4, 1460 >> 8, 1460 & 0xff, 1, 3, 3, 7 };

		memcpy(th + 20, opt, 8);
	}
	memcpy(ph, gip, 4);
	memcpy(ph + 4, hip, 4);
	ph[8] = 0; ph[9] = 6; ph[10] = 0; ph[11] = (uint8_t)tl;
	s = csum_fold(csum_add(csum_add(0, ph, 12), th, tl));
	th[16] = (uint8_t)(s >> 8); th[17] = (uint8_t)s;
	tx_small(m, f, 14 + 20 + tl);
}

/* A whole packet from the host: the connection's SYN, data, or neither. */
static bool tcp_packet(struct dp_flow *f, struct tcp_rx *t, uint16_t first, uint16_t nbuf,
		       uint32_t len)
{
	const uint8_t *h = gpa(f->m, RXBUF_GPA(first), 4096), *b = h + HDR, *th = b + 34;
	uint32_t tot, doff, seq, pay;

	if (len < HDR + 54 || b[12] != 0x08 || b[13] || b[14] != 0x45 || b[23] != 6 ||
	    th[2] != (5001 >> 8) || th[3] != (5001 & 0xff)) {
		f->strays++;
		return false;
	}
	seq = get32(th + 4);
	if (th[13] & 0x02) {                          /* SYN: a new connection */
		memcpy(t->peer_port, th, 2);
		t->rcv_nxt = seq + 1;
		t->snd_nxt = 1001;
		t->open = true;
		f->strays++;
		tcp_send(f->m, t, true);
		return false;
	}
	tot = (uint32_t)b[16] << 8 | b[17];
	doff = (uint32_t)(th[12] >> 4) * 4;
	pay = tot - 20 - doff;
	if (!t->open || !pay || memcmp(th, t->peer_port, 2)) {
		f->strays++;                            /* the handshake's ACK, the RST */
		return false;
	}
	f->got++;
	if (nbuf > f->max_nbuf)
		f->max_nbuf = nbuf;
	if ((int32_t)(seq - t->rcv_nxt) > 0) {
		f->out_of_order++;                      /* a gap: lost or reordered */
		return false;
	}
	t->ack_due = true;
	if (seq != t->rcv_nxt) {
		/* Behind: the host sent again what our ACK had not covered
		 * in time (TCP's tail-loss probe or RTO when this machine is
		 * busy and the ACK thread late). Not the tap's doing: take
		 * only the new part, if any. */
		uint32_t old = t->rcv_nxt - seq;

		f->resent++;
		if (old >= pay)
			return false;
		pay -= old;
	}
	t->rcv_nxt += pay;
	f->bytes_got += pay;
	return true;
}

void *dp_guest_rx(void *arg)
{
	struct dp_flow *f = arg;
	struct dp_machine *m = f->m;
	struct dp_ring *r = &m->rx;
	uint32_t buflen = f->cell->tso ? 4096 : 1536;
	uint16_t first = 0, nbuf = 0, left = 0;
	uint32_t plen = 0;
	uint64_t expect = 0;
	struct tcp_rx tcp = { 0 };

	cb_disable(m, r);
	cb_disable(m, &m->tx);
	rx_post(m, buflen);
	while (!f->quit) {
		uint32_t done = 0;
		uint16_t id;
		uint32_t len;

		while (used_get(r, &id, &len)) {
			if (!left) {
				const struct virtio_net_hdr_mrg_rxbuf *h =
					gpa(m, RXBUF_GPA(id), HDR);

				first = id;
				nbuf = left = h->num_buffers ? h->num_buffers : 1;
				plen = 0;
			}
			plen += len;
			r->free[r->nfree++] = id;
			if (--left)
				continue;
			if (f->cell->tso) {
				uint64_t before = f->bytes_got;

				if (tcp_packet(f, &tcp, first, nbuf, plen))
					done += (uint32_t)(f->bytes_got - before);
			} else {
				done += rx_packet(f, first, nbuf, plen, &expect);
			}
		}
		if (tcp.ack_due) {
			tcp_send(m, &tcp, false);
			tcp.ack_due = false;
		}
		if (done)
			dp_credit_done(&f->credit, done);
		rx_post(m, buflen);
		if (r->last_used != __atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE))
			continue;
		if (!cb_enable(m, r, 0))
			wait_irq(r, 20);
		cb_disable(m, r);
	}
	tx_reclaim(&m->tx);
	return NULL;
}
