/* net_tap.h — a guest NIC on a host tap: the tap (devices/tap.c), its
 * host-side configuration (devices/netcfg.c), the virtio-net device
 * (virtio/net.c) with the tap as its backend, and the virtio-pci function
 * the guest sees (virtio/pci.c). Two datapaths, chosen per NIC: vmm's
 * I/O thread (readv/writev on the tap), or the kernel's vhost-net, which
 * is given the queues' rings, doorbell and interrupt eventfds and the tap
 * (virtio/vhost_net.c). */
#ifndef VIRTIO_NET_TAP_H
#define VIRTIO_NET_TAP_H

#include "devices/netcfg.h"
#include "devices/tap.h"
#include "virtio/vhost_net.h"

struct vm;
struct net_dev;
struct virtio_pci;

struct net_tap {
	struct vm *vm;
	int index;                /* ethN in messages */
	struct tap tap;
	struct net_dev *dev;
	struct virtio_pci *pci;
	uint8_t mac[6];
	bool use_vhost;           /* vhost opened: it runs RX/TX at DRIVER_OK */
	struct vhost_net vhost;
};

/* Before KVM is touched: --vhost on needs a usable /dev/vhost-net (one
 * line and -1 if not); auto turns into off with one line saying why. */
int net_tap__check_vhost(struct net_config *cfg, int index);

/* Open or create the tap, configure the host side, and put the NIC on
 * the guest's PCI bus. NULL on failure, with one line printed; nothing
 * is left behind on the host. */
struct net_tap *net_tap__create(struct vm *vm, const struct net_config *cfg, int index);
/* vmm is about to drop root (--user USER): what it did to the host must
 * come undone without CAP_NET_ADMIN. A tap it created does (the kernel
 * removes it at close); a reused tap it changed (address, bridge, link
 * up) would stay changed, so that is refused with one line. 0 or -1. */
int net_tap__for_user(struct net_tap *nt, const char *user);
/* After the vCPU and I/O threads have stopped. */
void net_tap__destroy(struct net_tap *nt);

#endif
