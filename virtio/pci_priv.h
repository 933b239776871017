/* pci_priv.h — virtio-pci's state, shared by the transport (pci.c) and its
 * common configuration registers (pci_common.c). Not for devices: they
 * see struct virtio_dev only. */
#ifndef VIRTIO_PCI_PRIV_H
#define VIRTIO_PCI_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "virtio/virtio.h"
#include "vmm/services.h"

#define VPCI_VENDOR          0x1af4
#define VPCI_DEVICE_BASE     0x1040   /* + virtio device id: modern-only */
#define VPCI_SUBSYS_ID       0x1100
#define VPCI_REVISION        1

#define BAR_VIRTIO           0
#define BAR_VIRTIO_SIZE      0x4000
#define OFF_COMMON           0x0000
#define OFF_ISR              0x1000
#define OFF_DEVICE           0x2000
#define OFF_NOTIFY           0x3000
#define REGION_SIZE          0x1000
#define NOTIFY_MULTIPLIER    4
#define BAR_MSIX             2
#define BAR_MSIX_SIZE        0x1000
#define MSIX_PBA_OFFSET      0x800

#define ISR_QUEUE            0x1
#define ISR_CONFIG           0x2

struct vpci_queue {
	struct virtio_pci *vp;
	int index;
	uint16_t size, vector;
	bool enabled;
	uint64_t desc, avail, used;
	int kick_fd;
	uint64_t kick_addr;        /* where the ioeventfd is assigned; 0: none
	                            * (kick_lock) */
	bool detached;             /* served outside vmm (vhost): not polled */
	struct loop *loop;         /* polls kick_fd: the device's own loop for
	                            * the queue (ops->queue_loop) or svc.loop */
};

struct vpci_vector {
	int fd;                    /* irqfd eventfd */
	uint32_t gsi;
	bool routed;               /* KVM route + irqfd installed */
};

struct virtio_pci {
	struct vm_services svc;    /* memory, loop, PCI host, interrupts */
	struct virtio_dev *vdev;
	struct pci_device pci;
	struct msix *msix;
	uint32_t dev_feature_sel, drv_feature_sel;
	uint64_t driver_features;
	uint16_t msix_config;
	uint8_t status, config_generation;
	uint16_t queue_sel;
	uint8_t isr;
	struct vpci_queue q[VIRTIO_MAX_QUEUES];
	/* Guards the doorbells' placement (q[].kick_addr). Not vdev->lock:
	 * BAR 0 hooks run until virtio_pci__free(), which may come after the
	 * device model (and its lock) is gone. A leaf lock: taken under
	 * vdev->lock (queue enable) and under the PCI host's config lock (BAR
	 * hooks). */
	pthread_mutex_t kick_lock;
	int nr_vectors;
	struct vpci_vector vec[VIRTIO_MAX_QUEUES + 1];
};

/* pci.c: put queue Q's ioeventfd where BAR 0 is decoded now (none while
 * it is not); takes kick_lock */
void virtio_pci__kick_assign(struct virtio_pci *vp, struct vpci_queue *q);

/* pci_common.c: the virtio_pci_common_cfg registers (BAR 0, OFF_COMMON),
 * and the device reset that writing 0 to device_status does */
void virtio_pci_common__reset(struct virtio_pci *vp);
uint32_t virtio_pci_common__read(struct virtio_pci *vp, unsigned off);
void virtio_pci_common__write(struct virtio_pci *vp, unsigned off, uint32_t val);

#endif
