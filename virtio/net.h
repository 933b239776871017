/* net.h — the virtio-net device model (virtio 1.x spec 5.1), modern only.
 *
 * Queues: receiveq = 2i, transmitq = 2i + 1 for each queue pair i, then
 * the controlq. With one pair (no multiqueue) that is 0, 1, 2; with N
 * pairs the device offers VIRTIO_NET_F_MQ, has 2N + 1 queues, and the
 * controlq is 2N once the driver accepted MQ (2 if it did not: then only
 * pair 0 exists for it). The driver says over the controlq how many pairs
 * it uses (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET); until then, and after every
 * reset, only pair 0 receives.
 *
 * Packets go to and come from a backend through struct net_backend_ops,
 * per pair: the userspace tap datapath implements tx/rx; a backend that
 * moves packets itself (vhost-net) leaves tx/rx NULL and rx_fd returning
 * -1, and the device then only negotiates, serves config space and the
 * control queue, while the transport hands the RX/TX kicks elsewhere.
 *
 * Every packet crosses as one vnet header (struct virtio_net_hdr_mrg_rxbuf,
 * 12 bytes, VERSION_1) + the Ethernet frame, straight between guest
 * buffers and the backend: no copies on TX or RX.
 *
 * Threads: each pair's datapath runs on a loop of its own (cfg.pair_loop:
 * the pair's doorbells, backend fd and reschedule eventfd), under the
 * pair's lock; the control queue and everything the transport calls run
 * under vdev->lock, taking every pair's lock where they change what the
 * pairs read (net_priv.h).
 */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "virtio/virtio.h"

struct loop;

/* The queues of pair 0 and, without multiqueue, the control queue. */
#define NET_QUEUE_RX   0
#define NET_QUEUE_TX   1
#define NET_QUEUE_CTRL 2
#define NET_NR_QUEUES  3
#define NET_DEFAULT_QUEUE_SIZE 256
/* Most queue pairs: 2N + 1 queues must fit the transport. */
#define NET_MAX_PAIRS  ((VIRTIO_MAX_QUEUES - 1) / 2)
#define NET_RXQ(pair)  (2 * (pair))
#define NET_TXQ(pair)  (2 * (pair) + 1)
/* Most packets in one backend tx_batch call. */
#define NET_TX_BATCH   64

struct net_backend_ops {
	/* writev() one packet (vnet header + frame) on queue pair 'pair'.
	 * Bytes written, or -1 with errno: EAGAIN/EWOULDBLOCK = full (the
	 * device retries when rx_fd(pair) is writable), anything else = the
	 * packet is dropped. */
	ssize_t (*tx)(void *b, unsigned pair, const struct iovec *iov, int iovcnt);
	/* Optional, used instead of tx() when set: up to NET_TX_BATCH
	 * packets on queue pair 'pair' in one go, in order, packet i being
	 * iovs[i] (counts[i] segments). Returns m <= n, how many were
	 * tried: res[i] (i < m) is its bytes written or -errno (dropped).
	 * m < n: packet m found the backend full (as tx()'s EAGAIN) and
	 * neither it nor any after it was sent. */
	unsigned (*tx_batch)(void *b, unsigned pair, const struct iovec *const iovs[],
			     const int counts[], unsigned n, ssize_t res[]);
	/* readv() one packet (vnet header + frame) for queue pair 'pair':
	 * its length (a tap returns the full length even when it had to
	 * truncate), or -1 with errno EAGAIN/EWOULDBLOCK when none is
	 * waiting. */
	ssize_t (*rx)(void *b, unsigned pair, const struct iovec *iov, int iovcnt);
	/* The vnet header size to use both ways (12 with VERSION_1). */
	int (*set_vnet_hdr_len)(void *b, unsigned len);
	/* Enable exactly the offloads the driver accepted: the backend maps
	 * the negotiated VIRTIO_NET_F_GUEST_* bits to TUN_F_*. */
	int (*set_offload)(void *b, uint64_t guest_features);
	/* The fd the device polls for pair 'pair': readable = a packet to
	 * receive, writable = room to send after tx() said EAGAIN. -1: do
	 * not poll. */
	int (*rx_fd)(void *b, unsigned pair);
	/* Optional (multiqueue): from now on deliver received packets only
	 * to the first n pairs (1..queue_pairs); the device stops reading
	 * the others. 0, or -1 (the driver's command fails, nothing changed
	 * on the device's side). */
	int (*set_queue_pairs)(void *b, unsigned n);
	/* Optional: a backend that can run the RX and TX queues itself
	 * (vhost-net), every pair the driver negotiated (1, or queue_pairs
	 * with VIRTIO_NET_F_MQ in 'features'). At DRIVER_OK: 0 = it runs
	 * them now (vmm's datapath stays idle; the control queue stays
	 * here), 1 = not possible for this driver (vmm's userspace datapath
	 * runs), -1 = error (the device needs a reset). stop() at reset,
	 * before the queues go. */
	int (*start)(void *b, struct virtio_dev *vdev, uint64_t features);
	void (*stop)(void *b, struct virtio_dev *vdev);
};

struct net_dev_config {
	uint8_t mac[6];
	uint16_t queue_size;                /* 0: NET_DEFAULT_QUEUE_SIZE */
	/* Queue pairs, 1..NET_MAX_PAIRS (0: 1). More than one offers
	 * VIRTIO_NET_F_MQ with max_virtqueue_pairs = queue_pairs. */
	unsigned queue_pairs;
	const struct net_backend_ops *backend;
	void *backend_priv;
	struct loop *loop;                  /* the I/O thread's loop */
	/* Each queue pair's own loop, its thread's (net_tap.c makes them,
	 * "vmm-net<N>q<pair>"); none: the pairs run on 'loop' (unit tests
	 * with a faked loop). All pairs or none. */
	struct loop *pair_loop[NET_MAX_PAIRS];
	/* ANDed into the feature offer (a backend that cannot do some of
	 * them, e.g. vhost); 0 means no restriction. VERSION_1 always stays. */
	uint64_t extra_feature_mask;
};

/* Host-side counters; they survive device resets (they describe the
 * host's view, like a tap's counters). Bytes are frame bytes, vnet header
 * excluded. */
struct net_dev_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_filtered;       /* dropped by the guest's receive filter */
	uint64_t rx_dropped;        /* runt, truncated or backend read error */
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped;        /* oversized, or the backend refused it */
	uint64_t rx_kicks, tx_kicks, ctrl_kicks;   /* counted by vmm only */
	uint64_t rx_interrupts, tx_interrupts, ctrl_interrupts;
	uint64_t needs_reset;       /* protocol violations, bad rings included */
};

/* One queue pair's share of the counters above: what vmm's userspace
 * datapath moved on it, and the kicks and interrupts vmm saw for its two
 * queues (with vhost-net those go between the guest and the kernel
 * directly and are not counted). The NIC's totals are the sums. */
struct net_queue_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_kicks, tx_kicks, rx_interrupts, tx_interrupts;
};

struct net_dev;

/* NULL on failure (reason printed). The device's fds (backend, reschedule
 * eventfd) are registered with cfg->loop at once, idle until DRIVER_OK. */
struct net_dev *net_dev__create(const struct net_dev_config *cfg);
/* Call with the I/O thread stopped and the transport gone. Does not close
 * the backend (its owner does). */
void net_dev__destroy(struct net_dev *nd);
struct virtio_dev *net_dev__virtio(struct net_dev *nd);
/* A consistent-enough snapshot, from any thread. */
void net_dev__stats(struct net_dev *nd, struct net_dev_stats *out);
/* The device's queue pairs (what it offers, whatever the driver uses). */
unsigned net_dev__max_pairs(struct net_dev *nd);
/* Pair 'pair' (< net_dev__max_pairs) alone, from any thread. */
void net_dev__queue_stats(struct net_dev *nd, unsigned pair, struct net_queue_stats *out);

/* The queue pairs the driver uses now (1 until it says otherwise). */
unsigned net_dev__pairs_in_use(struct net_dev *nd);

/* Move RX and TX of a running device between vmm's userspace datapath
 * (offload false) and the backend's own (true: backend->start, vhost-net),
 * without a reset: ring positions carried over exactly, receive buffers
 * held ahead given back, a TX pass after the move back. From any thread;
 * the device's lock keeps the I/O thread out meanwhile. A device the
 * driver has not started (or that needs a reset) is left alone: the
 * backend's own choice applies at the next DRIVER_OK. 0, or -1 with err
 * (the device then runs the userspace datapath). */
int net_dev__set_offload(struct net_dev *nd, bool offload, char *err, size_t errlen);
bool net_dev__offloaded(struct net_dev *nd);   /* the backend runs RX/TX now */
bool net_dev__running(struct net_dev *nd);     /* DRIVER_OK, no reset needed */

#endif
