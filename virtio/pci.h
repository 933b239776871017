/* pci.h — the virtio-pci modern transport (virtio 1.x, VERSION_1 only).
 *
 * BAR 0 (32-bit memory, 16 KiB) holds the virtio structures, each named
 * by a vendor-specific capability: common config at 0x0000, ISR at
 * 0x1000, device config at 0x2000, queue notify at 0x3000 (4 bytes per
 * queue). BAR 2 holds the MSI-X table (0x000) and PBA (0x800). Each
 * queue's notify address is a KVM ioeventfd polled by the I/O thread, so
 * a guest kick never returns to a vCPU thread in vmm; the ioeventfds move
 * with BAR 0 and are gone while it is not decoded (the PCI BAR hooks,
 * devices/pci/pci.h), and a kick that exits all the same is passed on to the
 * same eventfd. Each MSI-X vector is a GSI route with an irqfd, so an
 * interrupt is one eventfd write.
 */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H

#include "devices/pci/pci.h"
#include "virtio/virtio.h"

struct virtio_pci;
struct vm_services;

/* Wrap 'vdev' in a virtio-pci function on svc->pci, using only the
 * services in 'svc' (copied). NULL on failure (reason printed). */
struct virtio_pci *virtio_pci__create(const struct vm_services *svc, struct virtio_dev *vdev);
void virtio_pci__free(struct virtio_pci *vp);
struct pci_device *virtio_pci__pci_device(struct virtio_pci *vp);

#endif
