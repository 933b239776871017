/* pci_common.c — virtio-pci's common configuration structure (virtio 1.x
 * 4.1.4.3): feature negotiation, device status and reset, and per-queue
 * size, vector, ring addresses and enable. The rest of the transport (BARs,
 * capabilities, kicks and interrupts) is pci.c.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <stddef.h>

#include "virtio/pci_priv.h"
#include "vmm/log.h"

void virtio_pci_common__reset(struct virtio_pci *vp)
{
	struct virtio_dev *vdev = vp->vdev;

	vdev->ops->reset(vdev);
	for (int i = 0; i < vdev->nr_queues; i++) {
		struct vpci_queue *q = &vp->q[i];

		virtqueue__reset(&vdev->vq[i]);
		q->size = vdev->queue_max_size;
		q->vector = VIRTIO_MSI_NO_VECTOR;
		q->enabled = false;
		q->desc = q->avail = q->used = 0;
	}
	vdev->features = 0;
	vp->driver_features = 0;
	vp->dev_feature_sel = vp->drv_feature_sel = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->queue_sel = 0;
	vp->status = 0;
	__atomic_store_n(&vp->isr, 0, __ATOMIC_RELAXED);
	pci__set_irq(&vp->pci, 0);
}

static void set_status(struct virtio_pci *vp, uint8_t val)
{
	struct virtio_dev *vdev = vp->vdev;
	uint8_t old = vp->status;

	if (val == 0) {
		virtio_pci_common__reset(vp);
		return;
	}
	/* Accepted features and DRIVER_OK stay set until a reset. A driver
	 * must not clear status bits (spec 2.1.2); one that clears and sets
	 * DRIVER_OK again would otherwise start the datapath twice (vhost
	 * set up again, two pollers on one kick eventfd), and one that
	 * clears FEATURES_OK could renegotiate under a running datapath. */
	vp->status = (uint8_t)(val | (old & (VIRTIO_CONFIG_S_NEEDS_RESET |
					     VIRTIO_CONFIG_S_FEATURES_OK |
					     VIRTIO_CONFIG_S_DRIVER_OK)));
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		uint64_t offered = vdev->ops->get_features(vdev);

		if ((vp->driver_features & ~offered) ||
		    vdev->ops->set_features(vdev, vp->driver_features) < 0) {
			pr_guest("%s: driver features 0x%llx refused (offered 0x%llx)", vdev->name,
				(unsigned long long)vp->driver_features, (unsigned long long)offered);
			vp->status &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
		} else {
			vdev->features = vp->driver_features;
		}
	}
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK))
		vdev->ops->driver_ok(vdev);
}

static void queue_enable(struct virtio_pci *vp, struct vpci_queue *q)
{
	struct virtio_dev *vdev = vp->vdev;
	struct virtqueue *vq = &vdev->vq[q->index];

	if (q->enabled)
		return;
	if (q->size == 0 || q->size > vdev->queue_max_size ||
	    virtqueue__enable(vq, vp->svc.mem, q->size, q->desc, q->avail, q->used,
			      virtio_dev__has(vdev, VIRTIO_RING_F_EVENT_IDX),
			      virtio_dev__has(vdev, VIRTIO_RING_F_INDIRECT_DESC)) < 0) {
		virtio_dev__needs_reset(vdev, q->size > vdev->queue_max_size ?
					"queue size too large" : vq->err);
		return;
	}
	q->enabled = true;
	virtio_pci__kick_assign(vp, q);
	if (vdev->ops->queue_enable(vdev, q->index) < 0) {
		q->enabled = false;
		virtqueue__reset(vq);
		virtio_dev__needs_reset(vdev, "device refused the queue");
	}
}

uint32_t virtio_pci_common__read(struct virtio_pci *vp, unsigned off)
{
	struct virtio_dev *vdev = vp->vdev;
	struct vpci_queue *q = vp->queue_sel < vdev->nr_queues ? &vp->q[vp->queue_sel] : NULL;
	uint64_t feat;

	switch (off) {
	case offsetof(struct virtio_pci_common_cfg, device_feature_select):
		return vp->dev_feature_sel;
	case offsetof(struct virtio_pci_common_cfg, device_feature):
		feat = vdev->ops->get_features(vdev);
		return vp->dev_feature_sel < 2 ? (uint32_t)(feat >> (32 * vp->dev_feature_sel)) : 0;
	case offsetof(struct virtio_pci_common_cfg, guest_feature_select):
		return vp->drv_feature_sel;
	case offsetof(struct virtio_pci_common_cfg, guest_feature):
		return vp->drv_feature_sel < 2 ?
			(uint32_t)(vp->driver_features >> (32 * vp->drv_feature_sel)) : 0;
	case offsetof(struct virtio_pci_common_cfg, msix_config):
		return vp->msix_config;
	case offsetof(struct virtio_pci_common_cfg, num_queues):
		return (uint32_t)vdev->nr_queues;
	case offsetof(struct virtio_pci_common_cfg, device_status):
		return vp->status;
	case offsetof(struct virtio_pci_common_cfg, config_generation):
		return vp->config_generation;
	case offsetof(struct virtio_pci_common_cfg, queue_select):
		return vp->queue_sel;
	}
	if (!q)  /* queue registers of a queue that does not exist read 0 */
		return 0;
	switch (off) {
	case offsetof(struct virtio_pci_common_cfg, queue_size): return q->size;
	case offsetof(struct virtio_pci_common_cfg, queue_msix_vector): return q->vector;
	case offsetof(struct virtio_pci_common_cfg, queue_enable): return q->enabled;
	case offsetof(struct virtio_pci_common_cfg, queue_notify_off): return (uint32_t)q->index;
	case offsetof(struct virtio_pci_common_cfg, queue_desc_lo): return (uint32_t)q->desc;
	case offsetof(struct virtio_pci_common_cfg, queue_desc_hi): return (uint32_t)(q->desc >> 32);
	case offsetof(struct virtio_pci_common_cfg, queue_avail_lo): return (uint32_t)q->avail;
	case offsetof(struct virtio_pci_common_cfg, queue_avail_hi): return (uint32_t)(q->avail >> 32);
	case offsetof(struct virtio_pci_common_cfg, queue_used_lo): return (uint32_t)q->used;
	case offsetof(struct virtio_pci_common_cfg, queue_used_hi): return (uint32_t)(q->used >> 32);
	}
	return 0;
}

static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & ~0xffffffffULL) | v; }
static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffULL) | ((uint64_t)v << 32); }

static uint16_t valid_vector(struct virtio_pci *vp, uint32_t v)
{
	/* A vector the device cannot serve reads back as NO_VECTOR (spec
	 * 4.1.4.3.1), which tells the driver to fall back. */
	return v < (uint32_t)vp->nr_vectors ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

void virtio_pci_common__write(struct virtio_pci *vp, unsigned off, uint32_t val)
{
	struct virtio_dev *vdev = vp->vdev;
	struct vpci_queue *q = vp->queue_sel < vdev->nr_queues ? &vp->q[vp->queue_sel] : NULL;
	bool live;

	switch (off) {
	case offsetof(struct virtio_pci_common_cfg, device_feature_select):
		vp->dev_feature_sel = val;
		return;
	case offsetof(struct virtio_pci_common_cfg, guest_feature_select):
		vp->drv_feature_sel = val;
		return;
	case offsetof(struct virtio_pci_common_cfg, guest_feature):
		if (vp->status & VIRTIO_CONFIG_S_FEATURES_OK)
			return;  /* features are frozen once accepted */
		if (vp->drv_feature_sel == 0)
			set_lo(&vp->driver_features, val);
		else if (vp->drv_feature_sel == 1)
			set_hi(&vp->driver_features, val);
		return;
	case offsetof(struct virtio_pci_common_cfg, msix_config):
		vp->msix_config = valid_vector(vp, val & 0xffff);
		return;
	case offsetof(struct virtio_pci_common_cfg, device_status):
		set_status(vp, (uint8_t)val);
		return;
	case offsetof(struct virtio_pci_common_cfg, queue_select):
		vp->queue_sel = (uint16_t)val;
		return;
	}
	/* Queue registers: only for an existing queue that is not live. */
	live = q && q->enabled;
	if (!q)
		return;
	switch (off) {
	case offsetof(struct virtio_pci_common_cfg, queue_size):
		if (!live)
			q->size = (uint16_t)val;
		return;
	case offsetof(struct virtio_pci_common_cfg, queue_msix_vector):
		q->vector = valid_vector(vp, val & 0xffff);
		return;
	case offsetof(struct virtio_pci_common_cfg, queue_enable):
		if ((val & 1) && (vp->status & VIRTIO_CONFIG_S_FEATURES_OK))
			queue_enable(vp, q);
		return;
	}
	if (live)
		return;
	switch (off) {
	case offsetof(struct virtio_pci_common_cfg, queue_desc_lo): set_lo(&q->desc, val); break;
	case offsetof(struct virtio_pci_common_cfg, queue_desc_hi): set_hi(&q->desc, val); break;
	case offsetof(struct virtio_pci_common_cfg, queue_avail_lo): set_lo(&q->avail, val); break;
	case offsetof(struct virtio_pci_common_cfg, queue_avail_hi): set_hi(&q->avail, val); break;
	case offsetof(struct virtio_pci_common_cfg, queue_used_lo): set_lo(&q->used, val); break;
	case offsetof(struct virtio_pci_common_cfg, queue_used_hi): set_hi(&q->used, val); break;
	}
}
