/* virtio.h — a virtio device as its transport sees it, and the transport
 * as the device sees it.
 *
 * A device (net, blk, ...) fills a struct virtio_dev with its ops and
 * queues; a transport (virtio-pci) owns the registers the driver programs
 * and calls the ops. The device never touches KVM: to interrupt the guest
 * it calls virtio_dev__signal_queue(), and on a guest protocol violation
 * virtio_dev__needs_reset(); the transport does the rest (MSI-X vector,
 * irqfd, NEEDS_RESET status bit, config-change interrupt).
 *
 * Threads: guest register accesses (and so set_features, queue_enable,
 * driver_ok, reset) run on vCPU threads; queue notifications run on the
 * I/O thread (an ioeventfd in the epoll loop), or on a loop the device
 * names for the queue (queue_loop: notify_on_loop, without vdev->lock). vdev->lock serialises
 * them: the transport holds it around every op it calls, and a device
 * takes it in its own I/O-thread callbacks (e.g. tap readable), so a
 * reset never races the datapath.
 */
#ifndef VIRTIO_VIRTIO_H
#define VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtqueue.h"

struct loop;

/* 33: virtio-net's 16 queue pairs and its control queue (net.h). */
#define VIRTIO_MAX_QUEUES 33

struct virtio_dev;

struct virtio_dev_ops {
	/* Feature bits the device offers (VIRTIO_F_VERSION_1 included). */
	uint64_t (*get_features)(struct virtio_dev *vdev);
	/* The driver set FEATURES_OK with these (a subset of the offer).
	 * Return -1 to refuse (FEATURES_OK then reads back clear). */
	int (*set_features)(struct virtio_dev *vdev, uint64_t features);
	/* Device-specific configuration space (little-endian). */
	void (*read_config)(struct virtio_dev *vdev, uint32_t offset, void *data, uint32_t len);
	void (*write_config)(struct virtio_dev *vdev, uint32_t offset, const void *data, uint32_t len);
	/* The driver enabled queue q; vdev->vq[q] is already enabled with the
	 * driver's ring addresses. Return -1 to refuse (NEEDS_RESET). */
	int (*queue_enable)(struct virtio_dev *vdev, int q);
	/* DRIVER_OK: start the datapath. */
	void (*driver_ok)(struct virtio_dev *vdev);
	/* The driver kicked queue q (I/O thread, or the queue's own loop). */
	void (*notify)(struct virtio_dev *vdev, int q);
	/* Optional, asked once at transport creation: the loop that polls
	 * queue q's doorbell when the device serves the queue on a thread of
	 * its own (NULL: the transport's I/O loop). Kicks that arrive there
	 * call notify_on_loop instead of notify, WITHOUT vdev->lock and
	 * whatever the device status: the device serialises them with its
	 * other ops itself. (A kick KVM has no ioeventfd for is written to
	 * the same eventfd by the vCPU, so it arrives there too.) */
	struct loop *(*queue_loop)(struct virtio_dev *vdev, int q);
	void (*notify_on_loop)(struct virtio_dev *vdev, int q);
	/* Device reset by the driver: stop all work and forget negotiated
	 * state; the transport resets the queues afterwards. */
	void (*reset)(struct virtio_dev *vdev);
};

struct virtio_transport_ops {
	void (*signal_queue)(struct virtio_dev *vdev, int q);
	void (*signal_config)(struct virtio_dev *vdev);
	void (*needs_reset)(struct virtio_dev *vdev);
	/* Hand queue q to a datapath outside vmm (vhost): vmm stops polling
	 * the queue's doorbell; *kick_fd is that ioeventfd, *call_fd the
	 * irqfd of the queue's MSI-X vector. -1 if the queue has no MSI-X
	 * vector (the caller keeps the userspace datapath). */
	int (*queue_detach)(struct virtio_dev *vdev, int q, int *kick_fd, int *call_fd);
	/* Take queue q back: vmm polls its doorbell again. */
	void (*queue_attach)(struct virtio_dev *vdev, int q);
};

struct virtio_dev {
	const char *name;             /* "virtio-net", for messages */
	uint16_t device_id;           /* VIRTIO_ID_NET, ... */
	const struct virtio_dev_ops *ops;
	void *priv;                   /* the device's own state */
	int nr_queues;
	uint16_t queue_max_size;      /* largest Queue Size the device accepts */
	struct virtqueue vq[VIRTIO_MAX_QUEUES];
	uint64_t features;            /* negotiated (valid after FEATURES_OK) */
	pthread_mutex_t lock;         /* see above; initialised by the transport */
	uint64_t needs_reset_count;   /* protocol violations (NEEDS_RESET), atomic:
	                               * `vmm stat` shows them */

	/* Set by the transport. */
	const struct virtio_transport_ops *transport;
	void *transport_priv;
};

/* For devices: interrupt the guest for queue q if the queue's
 * notification suppression allows it (virtqueue__should_notify).
 */
void virtio_dev__signal_queue(struct virtio_dev *vdev, int q);
void virtio_dev__signal_config(struct virtio_dev *vdev);
int virtio_dev__queue_detach(struct virtio_dev *vdev, int q, int *kick_fd, int *call_fd);
void virtio_dev__queue_attach(struct virtio_dev *vdev, int q);
/* A protocol violation: log once (the caller says why), set NEEDS_RESET. */
void virtio_dev__needs_reset(struct virtio_dev *vdev, const char *why);

static inline bool virtio_dev__has(const struct virtio_dev *vdev, unsigned bit)
{
	return (vdev->features >> bit) & 1;
}

#endif
