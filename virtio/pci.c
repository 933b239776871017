/* pci.c — the virtio-pci modern transport (see pci.h).
 *
 * A kick: guest writes the queue's notify register -> KVM signals the
 * queue's ioeventfd -> I/O thread: queue_kick() -> ops->notify() (or the
 * device's own thread for the queue: ops->notify_on_loop()).
 * An interrupt: device -> virtio_dev__signal_queue() -> signal_queue()
 * here -> MSI-X vector (msix__signal: pending if masked) -> deliver() ->
 * write to the vector's irqfd -> KVM injects the MSI.
 * The common configuration registers (features, status, queue set-up) are
 * pci_common.c.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/pci/msix.h"
#include "virtio/pci.h"
#include "virtio/pci_priv.h"
#include "vmm/log.h"
#include "vmm/loop.h"

/* ---- interrupts --------------------------------------------------------- */

static void intx_raise(struct virtio_pci *vp, uint8_t why)
{
	/* Datapath threads raise it without vdev->lock: atomic. */
	__atomic_fetch_or(&vp->isr, why, __ATOMIC_RELAXED);
	pci__set_irq(&vp->pci, 1);
}

static void signal_vector(struct virtio_pci *vp, uint16_t vector, uint8_t isr_why)
{
	if (vector == VIRTIO_MSI_NO_VECTOR) {
		if (!msix__enabled(vp->msix))
			intx_raise(vp, isr_why);
		return;
	}
	if (msix__signal(vp->msix, vector) == MSIX_DISABLED)
		intx_raise(vp, isr_why);
}

static void transport_signal_queue(struct virtio_dev *vdev, int q)
{
	struct virtio_pci *vp = vdev->transport_priv;

	signal_vector(vp, vp->q[q].vector, ISR_QUEUE);
}

static void transport_signal_config(struct virtio_dev *vdev)
{
	struct virtio_pci *vp = vdev->transport_priv;

	vp->config_generation++;
	signal_vector(vp, vp->msix_config, ISR_CONFIG);
}

static void transport_needs_reset(struct virtio_dev *vdev)
{
	struct virtio_pci *vp = vdev->transport_priv;

	if (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (vp->status & VIRTIO_CONFIG_S_DRIVER_OK)
		transport_signal_config(vdev);
}

static void queue_kick(void *opaque, uint32_t events);

static int transport_queue_detach(struct virtio_dev *vdev, int q, int *kick_fd, int *call_fd)
{
	struct virtio_pci *vp = vdev->transport_priv;
	struct vpci_queue *vq = &vp->q[q];
	uint64_t kick_addr;

	/* vhost needs the doorbell to be an ioeventfd; BAR 0 may be off. */
	pthread_mutex_lock(&vp->kick_lock);
	kick_addr = vq->kick_addr;
	pthread_mutex_unlock(&vp->kick_lock);
	if (vq->vector == VIRTIO_MSI_NO_VECTOR || (int)vq->vector >= vp->nr_vectors ||
	    !msix__enabled(vp->msix) || !kick_addr)
		return -1;
	if (!vq->detached && loop__del(vq->loop, vq->kick_fd) < 0)
		return -1;
	vq->detached = true;
	*kick_fd = vq->kick_fd;
	*call_fd = vp->vec[vq->vector].fd;
	return 0;
}

static void transport_queue_attach(struct virtio_dev *vdev, int q)
{
	struct virtio_pci *vp = vdev->transport_priv;
	struct vpci_queue *vq = &vp->q[q];

	if (!vq->detached)
		return;
	if (loop__add(vq->loop, vq->kick_fd, EPOLLIN, queue_kick, vq) == 0)
		vq->detached = false;
}

static const struct virtio_transport_ops transport_ops = {
	.signal_queue = transport_signal_queue,
	.signal_config = transport_signal_config,
	.needs_reset = transport_needs_reset,
	.queue_detach = transport_queue_detach,
	.queue_attach = transport_queue_attach,
};

/* MSI-X: the guest (re)programmed or (un)masked a vector. */
static void msix_vector_changed(void *opaque, unsigned vector, uint64_t addr,
				uint32_t data, bool masked)
{
	struct virtio_pci *vp = opaque;
	struct vpci_vector *v;

	if ((int)vector >= vp->nr_vectors)
		return;
	v = &vp->vec[vector];
	if (masked) {
		/* Unbind the irqfd: writes to it (vhost's, which bypass the
		 * MSI-X model) now only count up in the eventfd, which is
		 * the pending bit; binding it again on unmask injects them. */
		if (v->routed && vp->svc.irq->irqfd(vp->svc.irq_opaque, v->fd, v->gsi, false) == 0)
			v->routed = false;
		return;
	}
	if (vp->svc.irq->set_msi(vp->svc.irq_opaque, v->gsi, &(struct msi_msg){ addr, data,
						     pci__requester_id(&vp->pci) }) < 0)
		return;
	if (!v->routed && vp->svc.irq->irqfd(vp->svc.irq_opaque, v->fd, v->gsi, true) == 0)
		v->routed = true;
}

static void msix_deliver(void *opaque, unsigned vector, uint64_t addr, uint32_t data)
{
	struct virtio_pci *vp = opaque;
	uint64_t one = 1;

	if ((int)vector < vp->nr_vectors && vp->vec[vector].routed &&
	    write(vp->vec[vector].fd, &one, sizeof(one)) == sizeof(one))
		return;
	vp->svc.irq->signal_msi(vp->svc.irq_opaque, &(struct msi_msg){ addr, data, pci__requester_id(&vp->pci) });
}

static const struct msix_ops vpci_msix_ops = {
	.vector_changed = msix_vector_changed,
	.deliver = msix_deliver,
};

/* ---- queue kicks -------------------------------------------------------- */

/* I/O thread, or the device's own thread for the queue: the queue's
 * ioeventfd fired. On a device's own thread the device serialises the
 * notify itself (virtio.h, queue_loop): vdev->lock is not taken, and the
 * status is the device's to check. */
static void queue_kick(void *opaque, uint32_t events)
{
	struct vpci_queue *vq = opaque;
	struct virtio_pci *vp = vq->vp;
	struct virtio_dev *vdev = vp->vdev;
	uint64_t v;

	if (read(vq->kick_fd, &v, sizeof(v)) < 0)
		return;
	if (vq->loop != vp->svc.loop) {
		vdev->ops->notify_on_loop(vdev, vq->index);
		return;
	}
	pthread_mutex_lock(&vdev->lock);
	if (vq->enabled && (vp->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(vp->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		vdev->ops->notify(vdev, vq->index);
	pthread_mutex_unlock(&vdev->lock);
}

/* With kick_lock held: the queue's ioeventfd at its notify register in
 * BAR 0 decoded at 'bar', or nowhere when bar is 0. An ioeventfd left at
 * an address BAR 0 no longer decodes would keep eating the guest's writes
 * there (to RAM or another device's BAR); while none is assigned, a kick
 * arrives as an MMIO exit and bar_write() passes it on. */
static void kick_place(struct virtio_pci *vp, struct vpci_queue *q, uint64_t bar)
{
	uint64_t addr = bar ? bar + OFF_NOTIFY + (uint64_t)q->index * NOTIFY_MULTIPLIER : 0;

	if (q->kick_fd < 0 || q->kick_addr == addr)
		return;
	if (q->kick_addr)
		vp->svc.irq->ioeventfd(vp->svc.irq_opaque, q->kick_fd, q->kick_addr, 2, false, false);
	q->kick_addr = 0;
	if (addr && vp->svc.irq->ioeventfd(vp->svc.irq_opaque, q->kick_fd, addr, 2, false, true) == 0)
		q->kick_addr = addr;
}

/* The BAR hooks below keep the doorbells where BAR 0 is; queue enable
 * calls this too, which retries an assignment that failed. */
void virtio_pci__kick_assign(struct virtio_pci *vp, struct vpci_queue *q)
{
	uint64_t bar = 0;

	pthread_mutex_lock(&vp->kick_lock);
	if (!pci__bar_mapped(&vp->pci, BAR_VIRTIO, &bar))
		bar = 0;
	kick_place(vp, q, bar);
	pthread_mutex_unlock(&vp->kick_lock);
}

/* BAR 0 appeared at 'bar' or went away (devices/pci/pci.h, struct
 * pci_device_ops): every queue's doorbell, enabled or not, follows it.
 * The hooks run with the PCI host's config lock held, usually inside the
 * guest's config write on the port-I/O bus, whose lock is not recursive:
 * they take only kick_lock and call KVM_IOEVENTFD through irq.c, never a
 * bus. They do not touch vp->vdev, which may be gone by the final unmap
 * (virtio_pci__free). */
static void doorbells_place(struct virtio_pci *vp, uint64_t bar)
{
	pthread_mutex_lock(&vp->kick_lock);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		kick_place(vp, &vp->q[i], bar);
	pthread_mutex_unlock(&vp->kick_lock);
}

static void vpci_bar_map(struct pci_device *d, void *opaque, unsigned bar, uint64_t addr)
{
	if (bar == BAR_VIRTIO)
		doorbells_place(opaque, addr);
}

static void vpci_bar_unmap(struct pci_device *d, void *opaque, unsigned bar, uint64_t addr)
{
	if (bar == BAR_VIRTIO)
		doorbells_place(opaque, 0);
}

static const struct pci_device_ops vpci_device_ops = {
	.bar_map = vpci_bar_map,
	.bar_unmap = vpci_bar_unmap,
};

/* ---- BAR 0 -------------------------------------------------------------- */

/* Register fields are 1, 2 or 4 bytes wide and naturally aligned; the
 * 64-bit addresses are written as two 32-bit halves. An access that
 * does not start at a field is ignored (reads 0). */
static void bar_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_pci *vp = dev;
	struct virtio_dev *vdev = vp->vdev;
	uint32_t val = 0;

	memset(data, 0, len);
	if (len > 4)
		return;
	pthread_mutex_lock(&vdev->lock);
	if (off < OFF_COMMON + sizeof(struct virtio_pci_common_cfg)) {
		val = virtio_pci_common__read(vp, (unsigned)off);
		memcpy(data, &val, len);
	} else if (off == OFF_ISR) {
		data[0] = __atomic_exchange_n(&vp->isr, 0, __ATOMIC_RELAXED);   /* reading acknowledges */
		pci__set_irq(&vp->pci, 0);
	} else if (off >= OFF_DEVICE && off + len <= OFF_DEVICE + REGION_SIZE) {
		vdev->ops->read_config(vdev, (uint32_t)(off - OFF_DEVICE), data, len);
	}
	pthread_mutex_unlock(&vdev->lock);
}

static void bar_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_pci *vp = dev;
	struct virtio_dev *vdev = vp->vdev;
	uint32_t val = 0;

	if (len > 4)
		return;
	memcpy(&val, data, len);
	if (off >= OFF_NOTIFY && off < OFF_NOTIFY + REGION_SIZE) {
		/* A kick that reached us as an MMIO exit (no ioeventfd yet, or
		 * a different width): hand it to the queue's loop all the same. */
		uint64_t q = (off - OFF_NOTIFY) / NOTIFY_MULTIPLIER, one = 1;

		if (q < (uint64_t)vdev->nr_queues &&
		    write(vp->q[q].kick_fd, &one, sizeof(one)) < 0)
			pr_debug("%s: kick: %s", vdev->name, strerror(errno));
		return;
	}
	pthread_mutex_lock(&vdev->lock);
	if (off < OFF_COMMON + sizeof(struct virtio_pci_common_cfg))
		virtio_pci_common__write(vp, (unsigned)off, val);
	else if (off >= OFF_DEVICE && off + len <= OFF_DEVICE + REGION_SIZE)
		vdev->ops->write_config(vdev, (uint32_t)(off - OFF_DEVICE), data, len);
	pthread_mutex_unlock(&vdev->lock);
}

static const struct bus_dev_ops vpci_bar_ops = {
	.read = bar_read,
	.write = bar_write,
};

/* ---- creation ------------------------------------------------------------ */

static int add_virtio_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset, uint32_t len)
{
	struct virtio_pci_notify_cap c = {
		.cap = {
			.cap_vndr = 0x09,  /* PCI_CAP_ID_VNDR */
			.cap_len = sizeof(struct virtio_pci_cap),
			.cfg_type = type,
			.bar = BAR_VIRTIO,
			.offset = offset,
			.length = len,
		},
		.notify_off_multiplier = NOTIFY_MULTIPLIER,
	};

	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		c.cap.cap_len = sizeof(c);
	return pci__add_capability(&vp->pci, &c, c.cap.cap_len);
}

static uint32_t class_for(uint16_t device_id)
{
	switch (device_id) {
	case 1: return 0x020000;  /* network: ethernet */
	case 2: return 0x010000;  /* storage: SCSI (what QEMU reports for blk) */
	default: return 0xff0000;
	}
}

static int setup_pci(struct virtio_pci *vp)
{
	struct virtio_dev *vdev = vp->vdev;
	struct pci_device_info info = {
		.vendor = VPCI_VENDOR,
		.device = (uint16_t)(VPCI_DEVICE_BASE + vdev->device_id),
		.subsys_vendor = VPCI_VENDOR,
		.subsys_id = VPCI_SUBSYS_ID,
		.class_code = class_for(vdev->device_id),
		.revision = VPCI_REVISION,
		.irq_pin = 1,
	};
	struct msix_config mcfg = {
		.nr_vectors = (unsigned)vp->nr_vectors,
		.table_bar = BAR_MSIX, .table_offset = 0,
		.pba_bar = BAR_MSIX, .pba_offset = MSIX_PBA_OFFSET,
	};

	pci__device_init(&vp->pci, vdev->name, &info);
	if (pci__set_bar(&vp->pci, BAR_VIRTIO, PCI_BAR_MEM32, BAR_VIRTIO_SIZE, &vpci_bar_ops, vp) < 0 ||
	    pci__set_device_ops(&vp->pci, &vpci_device_ops, vp) < 0)
		return -1;
	vp->msix = msix__create(&vp->pci, &mcfg, &vpci_msix_ops, vp);
	if (!vp->msix ||
	    pci__set_bar(&vp->pci, BAR_MSIX, PCI_BAR_MEM32, BAR_MSIX_SIZE, &msix__bar_ops, vp->msix) < 0)
		return -1;
	if (add_virtio_cap(vp, VIRTIO_PCI_CAP_COMMON_CFG, OFF_COMMON,
			   sizeof(struct virtio_pci_common_cfg)) < 0 ||
	    add_virtio_cap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, OFF_NOTIFY,
			   (uint32_t)vdev->nr_queues * NOTIFY_MULTIPLIER) < 0 ||
	    add_virtio_cap(vp, VIRTIO_PCI_CAP_ISR_CFG, OFF_ISR, 1) < 0 ||
	    add_virtio_cap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, OFF_DEVICE, REGION_SIZE) < 0)
		return -1;
	return 0;
}

static int setup_events(struct virtio_pci *vp)
{
	for (int i = 0; i < vp->nr_vectors; i++) {
		vp->vec[i].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->vec[i].fd < 0 || vp->svc.irq->alloc_msi_gsi(vp->svc.irq_opaque, &vp->vec[i].gsi) < 0)
			return -1;
	}
	for (int i = 0; i < vp->vdev->nr_queues; i++) {
		struct vpci_queue *q = &vp->q[i];

		q->loop = vp->vdev->ops->queue_loop ? vp->vdev->ops->queue_loop(vp->vdev, i) : NULL;
		if (!q->loop)
			q->loop = vp->svc.loop;
		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick_fd < 0 || loop__add(q->loop, q->kick_fd, EPOLLIN, queue_kick, q) < 0)
			return -1;
	}
	return 0;
}

struct virtio_pci *virtio_pci__create(const struct vm_services *svc, struct virtio_dev *vdev)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	int slot;

	if (!vp)
		return NULL;
	vp->svc = *svc;
	vp->vdev = vdev;
	vp->nr_vectors = vdev->nr_queues + 1;
	pthread_mutex_init(&vp->kick_lock, NULL);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		vp->q[i] = (struct vpci_queue){ .vp = vp, .index = i, .kick_fd = -1 };
		vp->vec[i].fd = -1;
	}
	vp->vec[VIRTIO_MAX_QUEUES].fd = -1;
	vdev->transport = &transport_ops;
	vdev->transport_priv = vp;
	pthread_mutex_init(&vdev->lock, NULL);
	if (vdev->nr_queues < 1 || vdev->nr_queues > VIRTIO_MAX_QUEUES ||
	    setup_pci(vp) < 0 || setup_events(vp) < 0) {
		pr_err("%s: cannot set up its virtio-pci function", vdev->name);
		goto fail;
	}
	pthread_mutex_lock(&vdev->lock);
	virtio_pci_common__reset(vp);
	pthread_mutex_unlock(&vdev->lock);
	/* Mapping BAR 0 assigns the doorbells (vpci_bar_map): kicks go
	 * straight to the I/O thread from the start. */
	slot = pci__register_device(svc->pci, &vp->pci);
	if (slot < 0) {
		pr_err("%s: no room on the PCI bus", vdev->name);
		goto fail;
	}
	pr_debug("%s: PCI 00:%02x.0, %d queues, %d MSI-X vectors", vdev->name, slot,
		 vdev->nr_queues, vp->nr_vectors);
	return vp;
fail:
	virtio_pci__free(vp);
	return NULL;
}

void virtio_pci__free(struct virtio_pci *vp)
{
	if (!vp)
		return;
	/* Off the bus first: pci__free() must not reach vp->pci once it is
	 * freed, and unmapping BAR 0 deassigns the doorbells. */
	pci__unregister_device(&vp->pci);
	for (int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		struct vpci_queue *q = &vp->q[i];

		if (q->kick_fd < 0)
			continue;
		if (q->kick_addr)
			vp->svc.irq->ioeventfd(vp->svc.irq_opaque, q->kick_fd, q->kick_addr, 2, false, false);
		if (!q->detached)
			loop__del(q->loop, q->kick_fd);
		close(q->kick_fd);
	}
	for (int i = 0; i <= VIRTIO_MAX_QUEUES; i++) {
		if (vp->vec[i].fd < 0)
			continue;
		if (vp->vec[i].routed)
			vp->svc.irq->irqfd(vp->svc.irq_opaque, vp->vec[i].fd, vp->vec[i].gsi, false);
		close(vp->vec[i].fd);
	}
	msix__free(vp->msix);
	pthread_mutex_destroy(&vp->kick_lock);
	free(vp);
}

struct pci_device *virtio_pci__pci_device(struct virtio_pci *vp)
{
	return &vp->pci;
}
