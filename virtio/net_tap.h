/* net_tap.h — a guest NIC on a host tap: the tap (devices/tap.c), its
 * host-side configuration (devices/netcfg.c), the virtio-net device
 * (virtio/net.c) with the tap as its userspace backend, and the
 * virtio-pci function the guest sees (virtio/pci.c). */
#ifndef VIRTIO_NET_TAP_H
#define VIRTIO_NET_TAP_H

#include "devices/netcfg.h"
#include "devices/tap.h"

struct vm;
struct net_dev;
struct virtio_pci;

struct net_tap {
	struct tap tap;
	struct net_dev *dev;
	struct virtio_pci *pci;
	uint8_t mac[6];
};

/* Open or create the tap, configure the host side, and put the NIC on
 * the guest's PCI bus. NULL on failure, with one line printed; nothing
 * is left behind on the host. */
struct net_tap *net_tap__create(struct vm *vm, const struct net_config *cfg, int index);
/* After the vCPU and I/O threads have stopped. */
void net_tap__destroy(struct net_tap *nt);

#endif
