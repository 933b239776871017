/* dp.h — the native datapath benchmark (make bench-datapath): vmm's own
 * userspace virtio-net datapath, run on this machine's CPU without KVM.
 *
 * What is real: net_tap__create() builds the NIC exactly as `vmm run
 * --net ... --vhost off` does (devices/net/tap.c's tap with its vnet
 * header and offloads, virtio/net.c, virtio/virtqueue.c, the virtio-pci
 * transport with its MSI-X vectors and doorbell eventfds), and
 * queue pair 0's own thread (vmm-net0q0, a vmm/loop.c loop) moves every
 * packet. What is synthetic: KVM
 * (dp_machine.c fakes struct irq_ops the way KVM behaves: an ioeventfd is
 * an eventfd the guest writes, an irqfd an eventfd the guest waits on),
 * the guest (dp_guest.c: a thread driving the split rings in ordinary
 * memory as Linux's virtio_net does) and the peer on the tap's host side
 * (dp_peer.c: AF_PACKET sockets). Splitting it this way keeps every
 * instruction vmm runs for a packet in the measurement, and nothing of a
 * guest kernel, KVM or TCG.
 *
 * Files: dp_machine.c (the machine and driver bring-up), dp_guest.c (the
 * rings), dp_peer.c (frames and the peer), dp_measure.c (counters),
 * dp_run.c (one cell: threads, timing, checks), bench_datapath.c (main,
 * rounds, the table). tests/unit/test_bench_datapath.c runs the quick
 * mode under `make unit`.
 */
#ifndef TESTS_BENCH_DATAPATH_DP_H
#define TESTS_BENCH_DATAPATH_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/virtio_ring.h>

#include "devices/pci/pci.h"
#include "virtio/net.h"
#include "vmm/bus.h"
#include "vmm/loop.h"
#include "vmm/memory.h"

#define DP_QSIZE      256          /* Linux takes the device's maximum */
#define DP_MAX_FRAME  65549        /* 14 + an IPv4 packet of 65535 bytes */
#define DP_MSS        1448         /* gso_size of the TSO frames */
#define DP_MAGIC      0x56444250u  /* "PBDV": marks the benchmark's frames */

/* ---- one split ring as the driver keeps it (dp_guest.c) ---------------- */
struct dp_ring {
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;            /* next avail index the driver publishes */
	uint16_t kicked_idx;           /* avail index at the last kick check */
	uint16_t last_used;            /* next used entry to consume */
	uint16_t free[DP_QSIZE];       /* free descriptor (= buffer) ids */
	unsigned nfree;
	int kick_fd, irq_fd;           /* the doorbell's ioeventfd, the vector's irqfd */
	uint64_t kicks, irqs;          /* what the guest did / got */
};

/* ---- the machine (dp_machine.c) ----------------------------------------- */
struct net_tap;
struct dp_machine {
	struct guest_mem mem;
	struct bus pio, mmio;
	struct pci_host *host;
	struct loop loop;
	struct loop_set loops;          /* the NIC's queue pair threads */
	struct net_tap *nic;
	struct pci_device *pci;
	uint8_t guest_mac[6], tap_mac[6];
	char tap[16];
	int ifindex;
	bool event_idx;
	uint64_t features;
	struct dp_ring rx, tx, ctrl;
	uint64_t slow_msis;            /* MSIs that missed their irqfd (must stay 0) */
};

/* Enter a fresh network namespace (with its own sysfs and tracefs, in a
 * private mount namespace): 0, or -1 with the reason in err. */
int dp_enter_netns(char *err, size_t len);
/* Build the machine, bring the NIC up as Linux's virtio_net would (MSI-X,
 * features, three queues, DRIVER_OK) and start the I/O thread. */
/* How the NIC writes TX batches (--net tx=...): NET_TX_DEFAULT unless the
 * bench's --tx says otherwise. Set before dp_machine_up. */
extern int dp_tx_mode;
int dp_machine_up(struct dp_machine *m, char *err, size_t len);
void dp_machine_down(struct dp_machine *m);
void dp_nic_stats(struct dp_machine *m, struct net_dev_stats *out);
struct loop *dp_datapath_loop(struct dp_machine *m);
int dp_io_tid(struct dp_machine *m);   /* dp_datapath_loop's thread */

/* ---- frames and the flow-control window (dp_peer.c) ---------------------- */

/* Sender and receiver of a cell share a window (like TCP's): the sender
 * stops at 'window' frames in flight and sleeps on a futex; the receiver
 * counts and wakes it. Nothing is ever dropped, so the receiver's count
 * can be checked against the sender's. */
struct dp_credit {
	uint32_t sent, done;           /* futex words (wrap harmlessly) */
	uint32_t waiting;
	uint32_t window;
};
void dp_credit_wait(struct dp_credit *c, const volatile bool *stop);
void dp_credit_done(struct dp_credit *c, uint32_t n);

enum dp_dir { DP_TX, DP_RX };      /* guest -> host, host -> guest */

struct dp_cell {
	enum dp_dir dir;
	uint32_t frame;                /* Ethernet frame bytes: 64, 1024, DP_MAX_FRAME */
	bool tso;                      /* a TCP frame with GSO (gso_size DP_MSS) */
	const char *name;
};

/* Lay one frame (no vnet header) of c->frame bytes into buf: UDP, or TCP
 * for TSO, with DP_MAGIC and 'seq' at the start of the payload. */
void dp_frame(uint8_t *buf, const struct dp_cell *c, const uint8_t dst[6],
	      const uint8_t src[6], bool to_guest, uint64_t seq);
/* The marker and sequence number of a frame, or false if not ours. */
bool dp_frame_seq(const uint8_t *buf, size_t len, uint64_t *seq);

struct dp_flow {
	const struct dp_cell *cell;
	struct dp_machine *m;
	struct dp_credit credit;
	volatile bool stop;            /* the sender stops; the receiver drains */
	volatile bool quit;            /* everyone ends */
	bool ready;                    /* the sink is listening (atomic) */
	/* the sender's and the receiver's counts */
	uint64_t sent, got, bytes_got, out_of_order, strays;
	uint64_t resent;               /* TCP RX: segments the host resent (late ACKs) */
	uint64_t bad;                  /* wrong length, header or gso type */
	uint64_t max_nbuf;             /* RX: most buffers one packet took */
	int err;                       /* a system call failed: errno */
};

void *dp_peer_sink(void *flow);    /* TX cells: AF_PACKET receiver */
void *dp_peer_source(void *flow);  /* RX cells: AF_PACKET sender */
void *dp_peer_tcp_source(void *flow);   /* RX TSO: a host TCP socket */
void *dp_guest_tx(void *flow);     /* the guest driver's transmit path */
void *dp_guest_rx(void *flow);     /* the guest driver's receive path */
/* Post every free RX buffer (bring-up). */
void dp_guest_rx_fill(struct dp_machine *m, uint32_t buflen);

/* ---- counters (dp_measure.c) --------------------------------------------- */
struct dp_sample {
	uint64_t wall_ns, io_cpu_ns, proc_cpu_ns;
	uint64_t io_syscalls, io_epoll_waits, io_wakeups, io_preempted;
	bool have_syscalls, have_epoll;
	struct net_dev_stats nic;
};
struct dp_counters;
struct dp_counters *dp_counters_open(int io_tid, char *why, size_t len);
void dp_counters_read(struct dp_counters *c, struct dp_machine *m, struct dp_sample *s);
void dp_counters_close(struct dp_counters *c);

/* ---- one cell (dp_run.c) ------------------------------------------------- */
struct dp_result {
	double seconds, pps, gbps;
	double io_ns, proc_ns;         /* CPU ns per packet: the I/O thread, the process */
	double io_busy;                /* I/O thread CPU / wall */
	double syscalls, epolls, wakeups, kicks, irqs;   /* per packet; < 0: unknown */
	double preempted;              /* per packet: the I/O thread switched out while runnable */
	uint64_t packets;
	/* --check */
	bool checked;
	char failure[200];             /* "" when every check passed */
};

/* Run c for 'seconds' (after a short warm-up), then stop the sender and
 * let the receiver drain; with check, assert that every frame sent
 * arrived once, in order, intact. */
int dp_run_cell(struct dp_machine *m, struct dp_counters *ctr, const struct dp_cell *c,
		double seconds, bool check, struct dp_result *r);

extern const struct dp_cell dp_cells[6];

#endif
