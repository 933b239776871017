/* net_priv.h — virtio-net state shared by net.c (negotiation, the
 * virtio_dev ops, the live switch), net_rxtx.c (the datapath of a queue
 * pair), net_mq.c (which queue is what, the pairs in use) and net_ctrl.c
 * (control queue, receive filter). Not for other modules. */
#ifndef VIRTIO_NET_PRIV_H
#define VIRTIO_NET_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/net.h"

#define NET_HDR_LEN      12      /* struct virtio_net_hdr_mrg_rxbuf */
#define NET_MAX_FRAME    65550   /* largest GSO frame (spec 5.1.6.3.1) */
#define NET_MIN_FRAME    14      /* an Ethernet header */
#define NET_SMALL_RXBUF  1526    /* spec: RX buffer without guest GSO */
#define NET_BUDGET       256     /* packets / commands per wakeup */
#define NET_RX_MAX_IOV   VQ_MAX_IOV  /* readv() limit (UIO_MAXIOV) */
#define NET_MAC_TABLE    64      /* filter entries per kind (as QEMU) */

/* The receive filter (spec 5.1.6.5.1), programmed over the control queue. */
struct net_filter {
	bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
	bool uni_overflow, multi_overflow;  /* more entries than we keep */
	unsigned int n_uni, n_multi;
	uint8_t uni[NET_MAC_TABLE][6], multi[NET_MAC_TABLE][6];
};

/* An RX chain popped but not used yet: its writable buffers are
 * rx_iov[iov_first, iov_first + iov_cnt) (absolute indices). */
struct net_rx_held {
	uint16_t head;
	uint32_t cap;
	unsigned int iov_first, iov_cnt;
};

/* One receiveq/transmitq pair and what its datapath keeps. Each pair has
 * its own backend fd (a tap queue) and its own scratch, so its RX and TX
 * depend on nothing another pair touches but the device's counters.
 *
 * Locking. A pair's datapath runs under its own lock, on its own thread
 * (nd->threaded: 'loop' is the pair's, polling its doorbells, backend fd
 * and sched_fd) or on the I/O thread (unit tests: 'loop' is the I/O
 * loop, and the pair's callbacks take vdev->lock first). Device-wide
 * state (running, offloaded, broken, features, rx_need, curr_pairs, the
 * filter, mac) is written holding vdev->lock AND every pair's lock
 * (net__lock_pairs), so either lock is enough to read it. Order: vdev->lock,
 * then pair locks in index order. */
struct net_pair {
	struct net_dev *nd;
	unsigned int index;
	int rxq, txq;                   /* NET_RXQ(index), NET_TXQ(index) */
	pthread_mutex_t lock;
	struct loop *loop;              /* where the pair's fds are polled */
	int sched_fd;                   /* eventfd: continue TX (budget, switch) */
	const char *failed;             /* a violation the I/O thread reports
	                                 * (threaded: vdev->lock is out of reach) */
	int backend_fd;                 /* -1: not polled */
	uint32_t fd_events;             /* what backend_fd is polled for */
	bool backend_dead;              /* HUP/ERR, EOF or read error */
	bool tx_blocked;                /* tx() said EAGAIN: wait EPOLLOUT */
	bool tx_more;                   /* budget ran out: sched_fd armed */
	bool rx_starved;                /* too few buffers: wait for a kick */

	/* RX buffers popped ahead of packets, in ring order: rx_held[rx_h0,
	 * rx_h0 + rx_nheld), their buffers rx_iov[rx_i0, rx_i0 + rx_niov).
	 * A packet takes chains from the front and the start moves up; the
	 * arrays are compacted only when an append would not fit, so a
	 * packet costs O(1), not a shift of every held chain (with MRG_RXBUF
	 * and 64 KiB GSO some 40 chains are held at any time). */
	struct iovec rx_iov[NET_RX_MAX_IOV];
	struct net_rx_held rx_held[NET_RX_MAX_IOV];
	unsigned int rx_h0, rx_nheld, rx_i0, rx_niov;
	uint64_t rx_cap;

	/* TX chains popped for one backend call, in ring order: chain i is
	 * tx_head[i], tx_len[i] bytes (header included); tx_send[i] is its
	 * index in the packets handed to the backend (tx_iovs, tx_cnt,
	 * tx_res), -1 for an oversized one (dropped). */
	struct iovec tx_iov[VQ_MAX_IOV];
	const struct iovec *tx_iovs[NET_TX_BATCH];
	int tx_cnt[NET_TX_BATCH], tx_send[NET_TX_BATCH];
	ssize_t tx_res[NET_TX_BATCH];
	uint16_t tx_head[NET_TX_BATCH];
	uint32_t tx_len[NET_TX_BATCH];

	struct vq_chain chain;          /* scratch for pops */
	struct net_queue_stats stats;   /* net__count, as nd->stats */
};

struct net_dev {
	struct virtio_dev vdev;
	struct net_dev_config cfg;
	uint8_t mac[6];                 /* current: cfg.mac or MAC_ADDR_SET */
	uint64_t offer, features;
	struct net_filter filter;

	int sched_fd;                   /* eventfd: the I/O thread continues the
	                                 * control queue, reports pairs' failures */
	bool threaded;                  /* each pair on a thread of its own */
	bool ctrl_kicked;               /* a control-queue kick came on a pair's
	                                 * loop (atomic): served on the I/O thread */
	bool running;                   /* DRIVER_OK and not reset */
	bool offloaded;                 /* the backend runs RX/TX (vhost) */
	bool broken;                    /* needs reset: datapath stopped */
	bool ctrl_more;                 /* budget ran out: sched_fd armed */
	uint32_t rx_need;               /* MRG_RXBUF: bytes a packet may need */
	unsigned int max_pairs;         /* cfg.queue_pairs (at least 1) */
	unsigned int curr_pairs;        /* pairs that receive: 1 until the
	                                 * driver's VQ_PAIRS_SET */

	struct vq_chain chain;          /* scratch for control queue pops */
	struct net_dev_stats stats;     /* written under vdev->lock only */
	struct net_pair pair[];         /* max_pairs of them */
};

/* Counters: device-wide ones have a writer per pair thread, readers
 * anywhere. */
static inline void net__count(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/* A guest protocol violation: stop the datapath, ask for a reset. */
void net__violation(struct net_dev *nd, const char *why);
/* Interrupt for queue q if the driver wants one; counts it. */
void net__signal(struct net_dev *nd, int q);
/* Poll every pair's backend fd for what its datapath waits on now. */
void net__update_fds(struct net_dev *nd);
/* Have the I/O thread call on_sched (control queue budget, failures). */
void net__resched(struct net_dev *nd);
/* Device-wide changes: every pair's lock, in order (vdev->lock held). */
void net__lock_pairs(struct net_dev *nd);
void net__unlock_pairs(struct net_dev *nd);

/* net_rxtx.c: one pair's datapath, under the pair's lock */
/* Take the pair's lock for one of its callbacks (vdev->lock first when the
 * pair runs on the I/O thread). */
void net_rxtx__lock(struct net_pair *p);
void net_rxtx__unlock(struct net_pair *p);
/* A guest protocol violation on the pair: reported now under vdev->lock,
 * or by the I/O thread (threaded); the pair stops at once either way. */
void net_rxtx__fail(struct net_pair *p, const char *why);
/* Continue the pair's TX on its own loop (sched_fd). */
void net_rxtx__resched(struct net_pair *p);
/* The loop callback of the pair's sched_fd. */
void net_rxtx__on_sched(void *opaque, uint32_t events);
/* Poll the pair's backend fd for what its datapath waits on now. */
void net_rxtx__update_fd(struct net_pair *p);
void net_rxtx__tx(struct net_pair *p);
void net_rxtx__rx(struct net_pair *p);
/* A receiveq kick: buffers came, receive again if we were waiting. */
void net_rxtx__rx_kick(struct net_pair *p);
/* Give the receive buffers held ahead of packets back to the ring. */
void net_rxtx__unhold(struct net_pair *p);
/* The loop callback of the pair's backend fd. */
void net_rxtx__on_backend(void *opaque, uint32_t events);

/* net_mq.c: which queue is what, and how many pairs are in use */
/* Pairs the driver negotiated: max_pairs with VIRTIO_NET_F_MQ, else 1. */
unsigned int net_mq__pairs(const struct net_dev *nd);
/* The control queue's number for the negotiated features. */
int net_mq__ctrl_queue(const struct net_dev *nd);
/* The pair queue q belongs to, or NULL (the control queue, or a queue
 * this negotiation does not use). */
struct net_pair *net_mq__pair_of(struct net_dev *nd, int q);
/* Does the pair receive now (one of the first curr_pairs)? */
bool net_mq__active(const struct net_pair *p);
/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET: VIRTIO_NET_OK or VIRTIO_NET_ERR. */
uint8_t net_mq__set_pairs(struct net_dev *nd, unsigned int n);
/* Back to one pair in use (reset): the backend told too. */
void net_mq__reset(struct net_dev *nd);

/* net_ctrl.c */
void net_ctrl__reset(struct net_dev *nd);
/* Serve the control queue (on its kick, or rescheduled). */
void net_ctrl__run(struct net_dev *nd);
/* Does the receive filter let a frame with this destination through? */
bool net_ctrl__accept(const struct net_dev *nd, const uint8_t *dst);

#endif
