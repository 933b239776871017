/* dp_peer.c — the other end of the tap, and the frames both ends send.
 *
 * The peer is an AF_PACKET socket bound to the tap in the benchmark's own
 * network namespace: the simplest honest sink and source for every size,
 * TSO included, with no guest TCP stack needed to keep a connection
 * alive. Guest -> host: the tap turns each vnet header + frame vmm writes
 * into an skb (a 64 KiB one stays one GSO skb), the packet socket gets it
 * whole, and the IP layer drops it at once (it is addressed to another
 * MAC: PACKET_OTHERHOST), so what the kernel does per frame is what any
 * tap frame costs up to the stack. Host -> guest: the socket sends with
 * PACKET_QDISC_BYPASS straight into the tap's queue. Host -> guest 64 KiB
 * TSO is the exception: a GSO frame from a packet socket (or another tap)
 * is marked SKB_GSO_DODGY, which a tap cannot take whole (it lacks
 * NETIF_F_GSO_ROBUST), so the kernel would segment it into 45 MSS frames
 * first (measured: 1.5 KB frames reached the guest). Only the local TCP
 * stack hands the tap trusted 64 KiB GSO frames; so that cell is a real
 * TCP connection from a host socket to the guest (10.0.0.1 -> 10.0.0.2
 * port 5001, a static ARP entry), and the synthetic guest acknowledges
 * (dp_guest.c). vmm passes each frame on whole, as TUN_F_TSO4 is on
 * because the guest negotiated GUEST_TSO4.
 *
 * Every frame carries DP_MAGIC and a sequence number, so each end counts
 * only the benchmark's frames and can tell loss and reordering. The two
 * ends share a window (struct dp_credit) so that neither socket buffers
 * nor the tap's 1000-frame queue ever overflow: what is counted sent is
 * counted received.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/futex.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include "tests/bench/datapath/dp.h"

const struct dp_cell dp_cells[6] = {
	{ DP_TX, 64, false, "guest->host 64B" },
	{ DP_TX, 1024, false, "guest->host 1KiB" },
	{ DP_TX, DP_MAX_FRAME, true, "guest->host 64KiB TSO" },
	{ DP_RX, 64, false, "host->guest 64B" },
	{ DP_RX, 1024, false, "host->guest 1KiB" },
	{ DP_RX, DP_MAX_FRAME, true, "host->guest 64KiB TSO" },
};

/* ---- the window ------------------------------------------------------------ */

static void futex(uint32_t *w, int op, uint32_t val, const struct timespec *t)
{
	syscall(SYS_futex, w, op, val, t, NULL, 0);
}

void dp_credit_wait(struct dp_credit *c, const volatile bool *stop)
{
	struct timespec t = { 0, 10 * 1000 * 1000 };   /* re-check 'stop' */
	uint32_t d = __atomic_load_n(&c->done, __ATOMIC_ACQUIRE);

	if (c->sent - d < c->window)
		return;
	__atomic_store_n(&c->waiting, 1, __ATOMIC_SEQ_CST);
	d = __atomic_load_n(&c->done, __ATOMIC_SEQ_CST);
	if (c->sent - d >= c->window && !*stop)
		futex(&c->done, FUTEX_WAIT_PRIVATE, d, &t);
	__atomic_store_n(&c->waiting, 0, __ATOMIC_RELAXED);
}

void dp_credit_done(struct dp_credit *c, uint32_t n)
{
	__atomic_fetch_add(&c->done, n, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&c->waiting, __ATOMIC_SEQ_CST))
		futex(&c->done, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/* ---- frames ------------------------------------------------------------------ */

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

void dp_frame(uint8_t *b, const struct dp_cell *c, const uint8_t dst[6], const uint8_t src[6],
	      bool to_guest, uint64_t seq)
{
	static const uint8_t host_ip[4] = { 10, 0, 0, 1 }, guest_ip[4] = { 10, 0, 0, 2 };
	uint8_t *ip = b + 14, *l4 = ip + 20;
	uint32_t tot = c->frame - 14, magic = DP_MAGIC;
	uint32_t l4len = c->tso ? 20 : 8;

	memset(b, 0, c->frame);
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	put16(b + 12, ETH_P_IP);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 6, 0x4000);                   /* DF */
	ip[8] = 64;
	ip[9] = c->tso ? 6 : 17;
	memcpy(ip + 12, to_guest ? host_ip : guest_ip, 4);
	memcpy(ip + 16, to_guest ? guest_ip : host_ip, 4);
	put16(ip + 10, ip_csum(ip, 20));
	put16(l4, 40000);
	put16(l4 + 2, c->tso ? 5001 : 9);
	if (c->tso) {
		l4[12] = 5 << 4;                 /* data offset */
		l4[13] = 0x18;                   /* ACK PSH */
		put16(l4 + 14, 0xffff);
	} else {
		put16(l4 + 4, (uint16_t)(tot - 20));
	}
	memcpy(l4 + l4len, &magic, 4);
	memcpy(l4 + l4len + 4, &seq, 8);
}

bool dp_frame_seq(const uint8_t *b, size_t len, uint64_t *seq)
{
	size_t off;
	uint32_t magic;

	if (len < 14 + 20 + 8 + 12 || b[12] != 0x08 || b[13] != 0 || b[14] != 0x45)
		return false;
	off = 14 + 20 + (b[23] == 6 ? 20 : 8);
	if (len < off + 12)
		return false;
	memcpy(&magic, b + off, 4);
	memcpy(seq, b + off + 4, 8);
	return magic == DP_MAGIC;
}

/* ---- the sockets ----------------------------------------------------------------- */

static int packet_socket(struct dp_flow *f, int proto)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons((uint16_t)proto),
				   .sll_ifindex = f->m->ifindex };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons((uint16_t)proto)), one = 1;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		f->err = errno;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	return fd;
}

#define SINK_BATCH 32

/* Guest -> host: count the frames the tap hands the stack. */
void *dp_peer_sink(void *arg)
{
	struct dp_flow *f = arg;
	const struct dp_cell *c = f->cell;
	size_t bl = c->tso ? DP_MAX_FRAME + 64 : 2048;
	int fd = packet_socket(f, ETH_P_ALL), rcvbuf = 64 << 20;
	struct timeval tv = { 0, 20 * 1000 };
	struct mmsghdr msg[SINK_BATCH];
	struct iovec iov[SINK_BATCH];
	uint8_t *buf = malloc(bl * SINK_BATCH);
	uint64_t expect = 0;

	if (fd < 0 || !buf) {
		__atomic_store_n(&f->ready, true, __ATOMIC_RELEASE);
		free(buf);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < SINK_BATCH; i++)
		iov[i] = (struct iovec){ buf + bl * (size_t)i, bl };
	__atomic_store_n(&f->ready, true, __ATOMIC_RELEASE);
	while (!f->quit) {
		int n, ours = 0;

		for (int i = 0; i < SINK_BATCH; i++)
			msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		n = recvmmsg(fd, msg, SINK_BATCH, MSG_WAITFORONE, NULL);
		for (int i = 0; i < n; i++) {
			uint64_t seq;

			if (!dp_frame_seq(iov[i].iov_base, msg[i].msg_len, &seq)) {
				f->strays++;
				continue;
			}
			ours++;
			f->got++;
			f->bytes_got += msg[i].msg_len;
			if (msg[i].msg_len != c->frame || (msg[i].msg_hdr.msg_flags & MSG_TRUNC))
				f->bad++;
			if (seq != expect)
				f->out_of_order++;
			expect = seq + 1;
		}
		if (ours)
			dp_credit_done(&f->credit, (uint32_t)ours);
	}
	close(fd);
	free(buf);
	return NULL;
}

#define SOURCE_BATCH 32

/* Host -> guest: frames into the tap's queue, as many as the window has
 * room for, one sendmmsg() per batch. */
void *dp_peer_source(void *arg)
{
	struct dp_flow *f = arg;
	const struct dp_cell *c = f->cell;
	int fd = packet_socket(f, 0), one = 1, batch = SOURCE_BATCH;
	struct mmsghdr msg[SOURCE_BATCH];
	struct iovec iov[SOURCE_BATCH];
	uint8_t *buf = malloc((size_t)c->frame * SOURCE_BATCH);
	uint32_t so = 14 + 20 + 8 + 4;
	uint64_t seq = 0;

	if (fd < 0 || !buf ||
	    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0) {
		if (!f->err)
			f->err = errno;
		goto out;
	}
	for (int i = 0; i < SOURCE_BATCH; i++) {
		uint8_t *b = buf + (size_t)c->frame * (size_t)i;

		dp_frame(b, c, f->m->guest_mac, f->m->tap_mac, true, 0);
		iov[i] = (struct iovec){ b, c->frame };
	}
	while (!f->stop) {
		uint32_t room = f->credit.window - (f->credit.sent -
						    __atomic_load_n(&f->credit.done, __ATOMIC_ACQUIRE));
		int n = (int)room < batch ? (int)room : batch, sent;

		if (n <= 0) {
			dp_credit_wait(&f->credit, &f->stop);
			continue;
		}
		for (int i = 0; i < n; i++) {
			memcpy(buf + (size_t)c->frame * (size_t)i + so, &seq, 8);
			seq++;
			msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		sent = sendmmsg(fd, msg, (unsigned)n, 0);
		if (sent < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				f->err = errno;
				break;
			}
			sent = 0;
		}
		seq -= (uint64_t)(n - sent);     /* unsent ones go again */
		__atomic_store_n(&f->credit.sent, f->credit.sent + (uint32_t)sent, __ATOMIC_RELEASE);
		f->sent += (uint64_t)sent;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Host -> guest 64 KiB TSO: a TCP stream the guest acknowledges; the
 * window counts bytes (credit.sent/done), and is never the limit: TCP's
 * own is. Closed with a reset (SO_LINGER 0), so no FIN is retransmitted
 * into a later cell. */
void *dp_peer_tcp_source(void *arg)
{
	struct dp_flow *f = arg;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(5001),
				  .sin_addr.s_addr = htonl(0x0a000002) };
	struct linger lg = { 1, 0 };
	struct timeval tv = { 0, 50 * 1000 };
	size_t bl = 256 * 1024;
	char *buf = calloc(1, bl);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || !buf) {
		f->err = errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		f->err = errno;
		goto out;
	}
	while (!f->stop) {
		ssize_t n = send(fd, buf, bl, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			f->err = errno;
			break;
		}
		__atomic_store_n(&f->credit.sent, f->credit.sent + (uint32_t)n, __ATOMIC_RELEASE);
		f->sent += (uint64_t)n;
	}
	/* what was sent reaches the guest before the reset */
	for (int i = 0; i < 2000 && __atomic_load_n(&f->credit.done, __ATOMIC_ACQUIRE) !=
				       f->credit.sent; i++)
		usleep(1000);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}
