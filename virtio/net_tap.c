/* net_tap.c — a NIC's backend: the tap, one tap queue per queue pair.
 * Userspace datapath: packets go to and come from the pair's tap queue
 * with readv()/writev() straight between guest buffers and the tap (the
 * vnet header travels in the same iovec). vhost datapath: at DRIVER_OK
 * each pair's RX and TX queues are handed to that pair's own vhost-net
 * (tap_start), the control queue stays in vmm. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_net.h>

#include "virtio/net.h"
#include "virtio/net_tap.h"
#include "virtio/pci.h"
#include "vmm/log.h"
#include "vmm/services.h"
#include "vmm/loop.h"
#include "vmm/stats.h"
#include "vmm/util.h"

/* How the userspace datapath writes TX batches when --net gives no tx=:
 * io_uring, which the native benchmark measured at about half the I/O
 * thread's CPU per 64 B and 1 KiB frame of one writev() each, and the
 * same for 64 KiB TSO frames (docs/running.md). Where io_uring cannot be
 * had, writev() all the same, said once. */
#define NET_TX_DEFAULT_MODE NET_TX_URING

_Static_assert(NET_TX_BATCH <= TAP_URING_ENTRIES, "a TX batch must fit one io_uring submission");
_Static_assert(NET_MAX_QUEUE_PAIRS <= NET_MAX_PAIRS && NET_MAX_QUEUE_PAIRS <= TAP_MAX_QUEUES,
	       "--net queues=N must fit the device and the tap");

int net_tap__queue_fd(const struct net_tap *nt, unsigned pair)
{
	return pair < nt->tap.nr_queues ? nt->tap.qfd[pair] : -1;
}

/* A pair's packets use its own tap queue. One beyond the pairs in use is
 * detached from the tap, but its fd still takes frames to send: what the
 * driver queued there before it lowered the count still goes out. */
static ssize_t tap_tx(void *b, unsigned pair, const struct iovec *iov, int iovcnt)
{
	struct net_tap *nt = b;

	return writev(net_tap__queue_fd(nt, pair), iov, iovcnt);
}

/* Tap side of a TX batch: all of it with one io_uring_enter on the pair's
 * own ring, or one writev() each where io_uring is not used (tap_uring.h). */
static unsigned tap_tx_batch(void *b, unsigned pair, const struct iovec *const iovs[],
			     const int counts[], unsigned n, ssize_t res[])
{
	struct net_tap *nt = b;

	return tap_uring__write(&nt->txq[pair], iovs, counts, n, res);
}

static ssize_t tap_rx(void *b, unsigned pair, const struct iovec *iov, int iovcnt)
{
	struct net_tap *nt = b;

	return readv(net_tap__queue_fd(nt, pair), iov, iovcnt);
}

static int tap_set_vnet_hdr_len(void *b, unsigned len)
{
	struct net_tap *nt = b;

	return tap__set_vnet_hdr_len(&nt->tap, len);
}

static int tap_set_offload(void *b, uint64_t guest_features)
{
	struct net_tap *nt = b;

	return tap__set_offload(&nt->tap, tap__offload_from_guest_features(guest_features));
}

static int tap_rx_fd(void *b, unsigned pair)
{
	struct net_tap *nt = b;

	return net_tap__queue_fd(nt, pair);
}

/* The driver's VQ_PAIRS_SET (I/O thread) or a reset (vCPU thread): the
 * tap spreads flows over the first n queues only, with vhost too. */
static int tap_set_queue_pairs(void *b, unsigned n)
{
	struct net_tap *nt = b;
	int r = tap__set_queues(&nt->tap, n);

	if (r < 0)
		pr_guest_err("eth%d: tap %s: %u queue pairs: %s", nt->index, nt->tap.ifname, n,
			     strerror(-r));
	return r < 0 ? -1 : 0;
}

static void attach_back(struct virtio_dev *vdev, int n)
{
	for (int i = 0; i < n; i++)
		virtio_dev__queue_attach(vdev, i);
}

/* Take the rings of the first n pairs back from vhost. Each queue resumes
 * where vhost left it: the next avail entry vhost had not taken
 * (VHOST_GET_VRING_BASE) and the used index it published. */
static void stop_pairs(struct net_tap *nt, struct virtio_dev *vdev, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t last[VHOST_NET_MAX_QUEUES];

		if (vhost_net__stop(&nt->vhost[i], VHOST_NET_MAX_QUEUES, last) < 0) {
			pr_guest("eth%d: stopping vhost-net of queue pair %u failed", nt->index, i);
			continue;
		}
		virtqueue__set_last_avail(&vdev->vq[NET_RXQ(i)], last[0]);
		virtqueue__set_last_avail(&vdev->vq[NET_TXQ(i)], last[1]);
	}
}

/* Pair i's two rings (vhost's ring 0 = RX, 1 = TX), taken from vmm's
 * doorbell polling; queues [2i, 2i + 2) detached on success. 0, or 1 if
 * a queue is not enabled with an MSI-X vector (nothing left detached). */
static int detach_pair(struct net_tap *nt, struct virtio_dev *vdev, unsigned i,
		       struct vhost_vring_config q[VHOST_NET_MAX_QUEUES])
{
	for (int k = 0; k < VHOST_NET_MAX_QUEUES; k++) {
		int n = (int)(2 * i) + k, kick, call;
		struct virtqueue *vq = &vdev->vq[n];

		if (!vq->enabled || virtio_dev__queue_detach(vdev, n, &kick, &call) < 0) {
			if (k)
				virtio_dev__queue_attach(vdev, n - 1);
			pr_guest("eth%d: queue %d is not enabled with an MSI-X vector: userspace datapath",
				 nt->index, n);
			return 1;
		}
		q[k] = (struct vhost_vring_config){
			.num = vq->size,
			.last_avail_idx = virtqueue__get_last_avail(vq),
			.desc_hva = (uint64_t)(uintptr_t)vq->desc,
			.avail_hva = (uint64_t)(uintptr_t)vq->avail,
			.used_hva = (uint64_t)(uintptr_t)vq->used,
			.kick_fd = kick,
			.call_fd = call,
		};
	}
	return 0;
}

/* DRIVER_OK or a live switch: hand every pair the driver negotiated to
 * its own vhost-net (0), or keep them all here (1; -1 on an error). */
static int tap_start(void *b, struct virtio_dev *vdev, uint64_t features)
{
	struct net_tap *nt = b;
	struct vhost_vring_config q[NET_MAX_QUEUE_PAIRS][VHOST_NET_MAX_QUEUES];
	unsigned pairs = features & (1ULL << VIRTIO_NET_F_MQ) ? nt->pairs : 1, i;
	char err[256];
	int r = 0;

	if (!__atomic_load_n(&nt->use_vhost, __ATOMIC_RELAXED))
		return 1;
	if (nt->vhost_pairs)
		return 0;       /* already handed over: detaching twice would lose the kick fds */
	for (i = 0; i < pairs && r == 0; i++) {
		r = detach_pair(nt, vdev, i, q[i]);
		if (r)
			attach_back(vdev, (int)(2 * i));
	}
	if (r)
		return 1;
	for (i = 0; i < pairs; i++) {
		if (vhost_net__start(&nt->vhost[i], features, nt->svc.mem, q[i], VHOST_NET_MAX_QUEUES,
				     nt->tap.qfd[i], err, sizeof(err)) < 0) {
			pr_guest_err("eth%d: queue pair %u: %s", nt->index, i, err);
			stop_pairs(nt, vdev, i);
			attach_back(vdev, (int)(2 * pairs));
			return -1;
		}
	}
	nt->vhost_pairs = pairs;
	/* A kick vmm consumed just before the hand-over (a live switch)
	 * would be lost to vhost: one more on each ring costs vhost one
	 * look at it. */
	for (i = 0; i < pairs; i++)
		for (int k = 0; k < VHOST_NET_MAX_QUEUES; k++) {
			uint64_t one = 1;

			if (write(q[i][k].kick_fd, &one, sizeof(one)) < 0)
				pr_guest("eth%d: cannot kick queue %u after the hand-over",
					 nt->index, 2 * i + (unsigned)k);
		}
	return 0;
}

/* Take the rings back from vhost: at a reset (they are reset next) or to
 * run them here from now on (net_dev__set_offload). */
static void tap_stop(void *b, struct virtio_dev *vdev)
{
	struct net_tap *nt = b;

	stop_pairs(nt, vdev, nt->vhost_pairs);
	attach_back(vdev, (int)(2 * nt->vhost_pairs));
	nt->vhost_pairs = 0;
}

static const struct net_backend_ops tap_backend_ops = {
	.tx = tap_tx,
	.tx_batch = tap_tx_batch,
	.rx = tap_rx,
	.set_vnet_hdr_len = tap_set_vnet_hdr_len,
	.set_offload = tap_set_offload,
	.rx_fd = tap_rx_fd,
	.set_queue_pairs = tap_set_queue_pairs,
	.start = tap_start,
	.stop = tap_stop,
};

int net_tap__check_vhost(struct net_config *cfg, int index)
{
	char why[200];

	if (cfg->vhost != NET_VHOST_ON && cfg->vhost != NET_VHOST_AUTO)
		return 0;
	if (vhost_net__available(why, sizeof(why)))
		return 0;
	if (cfg->vhost == NET_VHOST_ON) {
		pr_err("eth%d: --vhost on, but %s", index, why);
		return -1;
	}
	pr_info("eth%d: vhost-net unavailable: %s; using the userspace datapath", index, why);
	cfg->vhost = NET_VHOST_OFF;
	return 0;
}

/* The tap's counters now, or NULL (said once per NIC) if they cannot be
 * read; called with count_lock held. */
static const struct tap_counts *read_counts(struct net_tap *nt, struct tap_counts *c)
{
	int r = tap__read_counts(nt->tap.ifname, c);

	if (!r)
		return c;
	if (!nt->count_warned)
		pr_warn("eth%d: cannot read tap %s's counters (%s): no packet counts per datapath",
			nt->index, nt->tap.ifname, strerror(-r));
	nt->count_warned = true;
	return NULL;
}

static enum net_datapath datapath(struct net_tap *nt)
{
	return __atomic_load_n(&nt->use_vhost, __ATOMIC_RELAXED) ? NET_DP_VHOST : NET_DP_USERSPACE;
}

/* One /dev/vhost-net per pair, each with its own worker: opened now, as
 * root and before any seccomp filter. All or none: a NIC runs every pair
 * on vhost or none. -1 only when --vhost on cannot be had. */
static int open_vhost(struct net_tap *nt, bool must)
{
	char err[256];

	for (unsigned i = 0; i < nt->pairs; i++) {
		if (vhost_net__open(&nt->vhost[i], &vhost_net__sys_ops, err, sizeof(err)) == 0)
			continue;
		while (i--)
			vhost_net__close(&nt->vhost[i]);
		if (must) {
			pr_err("eth%d: --vhost on: %s", nt->index, err);
			return -1;
		}
		pr_info("eth%d: vhost-net unavailable: %s; using the userspace datapath",
			nt->index, err);
		return 0;
	}
	nt->use_vhost = true;
	return 0;
}

/* Each pair's batched TX (tap_uring.h): io_uring or writev(), chosen now,
 * as root and before any seccomp filter, and said once per NIC. Only
 * tx=uring insists (-1 when it cannot be had). */
static int open_txq(struct net_tap *nt, const struct net_config *cfg)
{
	enum net_tx mode = cfg->tx != NET_TX_DEFAULT ? cfg->tx : NET_TX_DEFAULT_MODE;
	char why[160] = "";
	unsigned i, on = 0;

	for (i = 0; i < nt->pairs; i++)
		on += tap_uring__init(&nt->txq[i], nt->tap.qfd[i], mode == NET_TX_URING,
				      why, sizeof(why));
	nt->txq_open = true;
	nt->tx_uring = on == nt->pairs;
	if (mode != NET_TX_URING || nt->tx_uring)
		return 0;
	for (i = 0; i < nt->pairs; i++)
		tap_uring__exit(&nt->txq[i]);   /* all pairs alike */
	if (cfg->tx == NET_TX_URING) {
		pr_err("eth%d: tx=uring, but io_uring is unavailable: %s", nt->index, why);
		return -1;
	}
	pr_info("eth%d: io_uring unavailable (%s): one writev() per frame", nt->index, why);
	return 0;
}

struct net_tap *net_tap__create(const struct vm_services *svc, const struct net_config *cfg,
				int index)
{
	struct net_tap *nt = calloc(1, sizeof(*nt));
	struct net_dev_config dcfg;
	char err[256];

	if (!nt)
		return NULL;
	nt->svc = *svc;
	nt->index = index;
	nt->tap.fd = -1;
	nt->pairs = cfg->queues ? cfg->queues : 1;
	for (unsigned i = 0; i < NET_MAX_QUEUE_PAIRS; i++)
		nt->vhost[i].fd = -1;
	pthread_mutex_init(&nt->count_lock, NULL);
	if (nt->pairs > NET_MAX_PAIRS || nt->pairs > TAP_MAX_QUEUES) {
		pr_err("eth%d: queues=%u: at most %d queue pairs", index, nt->pairs, NET_MAX_PAIRS);
		free(nt);
		return NULL;
	}
	if (tap__open_queues(&nt->tap, cfg->tap, nt->pairs, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		free(nt);
		return NULL;
	}
	if ((cfg->vhost == NET_VHOST_ON || cfg->vhost == NET_VHOST_AUTO) &&
	    open_vhost(nt, cfg->vhost == NET_VHOST_ON) < 0)
		goto fail;
	if (open_txq(nt, cfg) < 0)
		goto fail;
	if (netcfg__host_setup(&nt->tap, cfg, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		goto fail;
	}
	/* The baseline, on the main thread before any filter: what a reused
	 * tap moved before is nobody's. */
	{
		struct tap_counts c;

		net_dpcount__init(&nt->counts, datapath(nt), read_counts(nt, &c));
	}
	if (cfg->mac_set)
		memcpy(nt->mac, cfg->mac, sizeof(nt->mac));
	else
		netcfg__default_mac(nt->mac, (unsigned)getpid() * 8u + (unsigned)index);
	dcfg = (struct net_dev_config){
		.backend = &tap_backend_ops,
		.backend_priv = nt,
		.loop = svc->loop,
		/* The guest must not negotiate a ring feature vhost lacks. */
		.extra_feature_mask = nt->use_vhost ? vhost_net__offer_mask(nt->vhost[0].features) : 0,
		.queue_pairs = nt->pairs,
	};
	memcpy(dcfg.mac, nt->mac, sizeof(dcfg.mac));
	/* A thread per queue pair: its doorbells and its tap queue. */
	for (unsigned i = 0; svc->loops && i < nt->pairs; i++) {
		char name[16];

		snprintf(name, sizeof(name), "vmm-net%dq%u", index % 100, i % 100);
		dcfg.pair_loop[i] = nt->pair_loop[i] = loop_set__new(svc->loops, name);
		if (!dcfg.pair_loop[i])
			goto fail;
	}
	nt->dev = net_dev__create(&dcfg);
	if (!nt->dev)
		goto fail;
	nt->pci = virtio_pci__create(svc, net_dev__virtio(nt->dev));
	if (!nt->pci)
		goto fail;
	snprintf(err, sizeof(err), ", %u queue pairs", nt->pairs);
	pr_info("eth%d: virtio-net %02x:%02x:%02x:%02x:%02x:%02x on tap %s (%s, %s datapath%s, "
		"userspace TX %s)",
		index, nt->mac[0], nt->mac[1], nt->mac[2], nt->mac[3], nt->mac[4], nt->mac[5],
		nt->tap.ifname, nt->tap.created ? "created" : "existing",
		nt->use_vhost ? "vhost-net" : "userspace", nt->pairs > 1 ? err : "",
		nt->tx_uring ? "batched through io_uring" : "one writev() per frame");
	return nt;
fail:
	net_tap__destroy(nt);
	return NULL;
}

/* The datapath the NIC is on now goes into the per-datapath counts. */
static void count_switch(struct net_tap *nt, const struct tap_counts *now)
{
	if (net_dpcount__switch(&nt->counts, datapath(nt), now) < 0 && now && !nt->count_warned) {
		pr_warn("eth%d: tap %s's counters went backwards: no packet counts per datapath",
			nt->index, nt->tap.ifname);
		nt->count_warned = true;
	}
}

static int set_vhost(struct net_tap *nt, bool on, char *msg, size_t len)
{
	char err[200];
	bool was = __atomic_load_n(&nt->use_vhost, __ATOMIC_RELAXED);

	__atomic_store_n(&nt->use_vhost, on, __ATOMIC_RELAXED);
	if (net_dev__set_offload(nt->dev, on, err, sizeof(err)) < 0) {
		__atomic_store_n(&nt->use_vhost, false, __ATOMIC_RELAXED);
		return util__fail(msg, len, "eth%d: %s: the NIC stays on the userspace datapath",
				  nt->index, err);
	}
	if (!net_dev__running(nt->dev)) {
		snprintf(msg, len, "eth%d: %s from the driver's next start (it has not started "
			 "the device)", nt->index, on ? "vhost-net" : "userspace");
		return 0;
	}
	if (was != on)
		__atomic_fetch_add(&nt->switches, 1, __ATOMIC_RELAXED);
	snprintf(msg, len, "eth%d: %s%s", nt->index, on ? "vhost-net" : "userspace",
		 was == on ? " (already)" : "");
	return 0;
}

int net_tap__set_vhost(struct net_tap *nt, bool on, char *msg, size_t len)
{
	struct tap_counts c;
	const struct tap_counts *now;
	int r;

	if (on && nt->vhost[0].fd < 0)
		return util__fail(msg, len, "eth%d: /dev/vhost-net was not opened at start (--vhost "
				  "off, or it was unavailable): the NIC stays on the userspace "
				  "datapath", nt->index);
	pthread_mutex_lock(&nt->count_lock);
	/* Read just before the move: what the old datapath moved until
	 * then is its own (the frames of the move's few microseconds
	 * aside). Also for a "switch" that changes nothing: a refused one
	 * may still drop vhost (set_vhost), and the read is cheap. Before
	 * the driver starts, the datapath it will start on changes, and
	 * nothing moved in between. */
	now = nt->counts.known ? read_counts(nt, &c) : NULL;
	r = set_vhost(nt, on, msg, len);
	count_switch(nt, now);   /* the datapath did not change: nothing */
	pthread_mutex_unlock(&nt->count_lock);
	return r;
}

int net_tap__datapath_counts(struct net_tap *nt, struct tap_counts out[NET_DP_NR])
{
	struct tap_counts c;
	int r;

	pthread_mutex_lock(&nt->count_lock);
	r = net_dpcount__view(&nt->counts, nt->counts.known ? read_counts(nt, &c) : NULL, out);
	pthread_mutex_unlock(&nt->count_lock);
	return r;
}

bool net_tap__vhost_running(struct net_tap *nt)
{
	return __atomic_load_n(&nt->use_vhost, __ATOMIC_RELAXED) && net_dev__offloaded(nt->dev);
}

void net_tap__stats(struct net_tap *nt, struct net_dev_stats *out)
{
	net_dev__stats(nt->dev, out);
}

int net_tap__snapshot(struct net_tap *nt, struct nic_snapshot *n)
{
	unsigned pairs = net_dev__max_pairs(nt->dev);

	n->index = nt->index;
	snprintf(n->tap, sizeof(n->tap), "%s", nt->tap.ifname);
	n->vhost = net_tap__vhost_running(nt);
	n->switches = __atomic_load_n(&nt->switches, __ATOMIC_RELAXED);
	net_dev__stats(nt->dev, &n->net);
	n->by_datapath_known = net_tap__datapath_counts(nt, n->by_datapath) == 0;
	n->nr_queues = (int)MIN(pairs, (unsigned)STATS_MAX_QUEUES);
	for (int i = 0; i < n->nr_queues; i++) {
		net_dev__queue_stats(nt->dev, (unsigned)i, &n->queue[i].net);
		n->queue[i].thread_tid = nt->pair_loop[i] ?
			__atomic_load_n(&nt->pair_loop[i]->tid, __ATOMIC_RELAXED) : 0;
	}
	/* the workers exist from the open on (one per pair, all or none),
	 * also while a live switch has the queues in vmm */
	return nt->vhost[0].fd >= 0 ? (int)nt->pairs : 0;
}

int net_tap__for_user(struct net_tap *nt, const char *user)
{
	struct tap *t = &nt->tap;

	if (t->created) {
		t->kernel_undoes = true;
		return 0;
	}
	if (t->configured_addr || t->set_master || t->set_up) {
		pr_err("eth%d: --user %s: vmm could not undo its changes to the existing tap '%s' "
		       "(%s) without root at exit: configure it beforehand, or let vmm create the tap",
		       nt->index, user, t->ifname,
		       t->configured_addr ? "host-ip" : t->set_master ? "bridge" : "link up");
		return -1;
	}
	return 0;
}

void net_tap__destroy(struct net_tap *nt)
{
	if (!nt)
		return;
	virtio_pci__free(nt->pci);
	if (nt->dev)
		net_dev__destroy(nt->dev);
	for (unsigned i = 0; i < NET_MAX_QUEUE_PAIRS; i++)
		vhost_net__close(&nt->vhost[i]);
	for (unsigned i = 0; nt->txq_open && i < nt->pairs; i++)
		tap_uring__exit(&nt->txq[i]);   /* before the tap fds it registered */
	tap__close(&nt->tap);  /* undoes the host configuration too */
	pthread_mutex_destroy(&nt->count_lock);
	free(nt);
}
