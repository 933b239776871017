/* net_tap.c — the userspace datapath backend: virtio-net packets go to
 * and come from a host tap with readv()/writev() straight between guest
 * buffers and the tap (the vnet header travels in the same iovec). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio/net.h"
#include "virtio/net_tap.h"
#include "virtio/pci.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static ssize_t tap_tx(void *b, const struct iovec *iov, int iovcnt)
{
	struct net_tap *nt = b;

	return writev(nt->tap.fd, iov, iovcnt);
}

static ssize_t tap_rx(void *b, const struct iovec *iov, int iovcnt)
{
	struct net_tap *nt = b;

	return readv(nt->tap.fd, iov, iovcnt);
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

static int tap_rx_fd(void *b)
{
	struct net_tap *nt = b;

	return nt->tap.fd;
}

static const struct net_backend_ops tap_backend_ops = {
	.tx = tap_tx,
	.rx = tap_rx,
	.set_vnet_hdr_len = tap_set_vnet_hdr_len,
	.set_offload = tap_set_offload,
	.rx_fd = tap_rx_fd,
};

struct net_tap *net_tap__create(struct vm *vm, const struct net_config *cfg, int index)
{
	struct net_tap *nt = calloc(1, sizeof(*nt));
	struct net_dev_config dcfg;
	char err[256];

	if (!nt)
		return NULL;
	nt->tap.fd = -1;
	if (tap__open(&nt->tap, cfg->tap, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		free(nt);
		return NULL;
	}
	if (netcfg__host_setup(&nt->tap, cfg, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		goto fail;
	}
	if (cfg->mac_set)
		memcpy(nt->mac, cfg->mac, sizeof(nt->mac));
	else
		netcfg__default_mac(nt->mac, (unsigned)getpid() * 8u + (unsigned)index);
	dcfg = (struct net_dev_config){
		.backend = &tap_backend_ops,
		.backend_priv = nt,
		.loop = &vm->loop,
	};
	memcpy(dcfg.mac, nt->mac, sizeof(dcfg.mac));
	nt->dev = net_dev__create(&dcfg);
	if (!nt->dev)
		goto fail;
	nt->pci = virtio_pci__create(vm, vm->pci, net_dev__virtio(nt->dev));
	if (!nt->pci)
		goto fail;
	pr_info("eth%d: virtio-net %02x:%02x:%02x:%02x:%02x:%02x on tap %s (%s, userspace datapath)",
		index, nt->mac[0], nt->mac[1], nt->mac[2], nt->mac[3], nt->mac[4], nt->mac[5],
		nt->tap.ifname, nt->tap.created ? "created" : "existing");
	return nt;
fail:
	net_tap__destroy(nt);
	return NULL;
}

void net_tap__destroy(struct net_tap *nt)
{
	if (!nt)
		return;
	virtio_pci__free(nt->pci);
	if (nt->dev)
		net_dev__destroy(nt->dev);
	tap__close(&nt->tap);  /* undoes the host configuration too */
	free(nt);
}
