/* tap.c — host taps from /dev/net/tun for virtio-net: open or create one with
 * a virtio-net header on every frame (one fd per queue with multiqueue),
 * set the header size and the offloads the guest can receive, attach and
 * detach queues, and close it undoing vmm's host configuration. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "devices/net/netcfg.h"
#include "devices/net/tap.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define PERM_HINT "permission denied (needs CAP_NET_ADMIN, or a persistent tap owned by this user)"

/* One line for a failed TUNSETIFF: 'label' is "tap 'x'" or "a tap". */
static int tunsetiff_error(int e, const char *name, bool existed, bool mq, char *err,
			   size_t errlen)
{
	char label[IFNAMSIZ + 8];

	if (name)
		snprintf(label, sizeof(label), "tap '%s'", name);
	else
		snprintf(label, sizeof(label), "a tap");
	switch (e) {
	case EBUSY:
		return util__fail(err, errlen, "%s is in use by another process", label);
	case EPERM:
	case EACCES:
		return util__fail(err, errlen, "cannot %s %s: " PERM_HINT,
				  existed ? "open" : "create", label);
	case EINVAL:
		if (existed)
			return util__fail(err, errlen, "interface '%s' exists but is not a %s tap",
					  name, mq ? "multiqueue" : "single-queue");
		break;
	}
	return util__fail(err, errlen, "cannot %s %s: %s", existed ? "open" : "create",
			  label, strerror(e));
}

/* One more fd on /dev/net/tun, attached to the tap named in *ifr (or a
 * new one): the fd, or -errno. */
static int open_queue(struct ifreq *ifr)
{
	int fd = open(TAP_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC), e;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, ifr) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void close_queues(struct tap *t)
{
	for (unsigned i = 0; i < TAP_MAX_QUEUES; i++) {
		if (t->qfd[i] >= 0)
			close(t->qfd[i]);
		t->qfd[i] = -1;
	}
	t->fd = -1;
	t->nr_queues = t->attached = 0;
}

int tap__open(struct tap *t, const char *ifname, char *err, size_t errlen)
{
	return tap__open_queues(t, ifname, 1, err, errlen);
}

int tap__open_queues(struct tap *t, const char *ifname, unsigned queues, char *err,
		     size_t errlen)
{
	const char *name = ifname && *ifname ? ifname : NULL;
	bool existed = false, mq = queues > 1;
	struct ifreq ifr;
	int fd, e, hdr, sndbuf = INT_MAX;

	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < TAP_MAX_QUEUES; i++)
		t->qfd[i] = -1;
	t->fd = -1;
	if (queues < 1 || queues > TAP_MAX_QUEUES)
		return util__fail(err, errlen, "a tap with %u queues (1 to %d)", queues,
				  TAP_MAX_QUEUES);
	if (name) {
		if (netcfg__check_ifname("tap", name, err, errlen) < 0)
			return -1;
		existed = if_nametoindex(name) != 0;
	}

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (mq ? IFF_MULTI_QUEUE : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name ? name : TAP_DEFAULT_TEMPLATE);
	fd = open(TAP_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			return util__fail(err, errlen, "cannot open " TAP_DEV_PATH ": %s (no tun driver on this host?)",
					  strerror(e));
		return util__fail(err, errlen, "cannot open " TAP_DEV_PATH ": %s", strerror(e));
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		return tunsetiff_error(e, name, existed, mq, err, errlen);
	}
	/* From here on closing the fds removes a tap that this call created. */
	t->fd = t->qfd[0] = fd;
	t->nr_queues = t->attached = 1;
	memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ);
	t->ifname[IFNAMSIZ - 1] = '\0';

	/* A tap that is not persistent lives only while an fd is attached, and
	 * a single-queue tap takes one fd (else EBUSY above): so this call
	 * created it. That is race-free, unlike the if_nametoindex guess. */
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		e = errno;
		goto fail;
	}
	t->created = !(ifr.ifr_flags & IFF_PERSIST);
	/* A multiqueue tap takes more fds: one that is not persistent but
	 * was there before belongs to another process's queues. */
	if (mq && t->created && existed) {
		close_queues(t);
		return tunsetiff_error(EBUSY, name, existed, mq, err, errlen);
	}
	for (unsigned i = 1; i < queues; i++) {
		/* the kernel's name for it, also when it picked one */
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
		fd = open_queue(&ifr);
		if (fd < 0) {
			e = -fd;
			goto fail;
		}
		t->qfd[i] = fd;
		t->nr_queues = t->attached = i + 1;
	}
	fd = t->fd;
	t->ifindex = (int)if_nametoindex(t->ifname);
	if (!t->ifindex) {
		e = errno;
		goto fail;
	}
	/* A reused persistent tap keeps the header size and offloads of its
	 * last user: read the one and reset the other to "none". */
	if (ioctl(fd, TUNGETVNETHDRSZ, &hdr) < 0) {
		e = errno;
		goto fail;
	}
	t->vnet_hdr_len = (unsigned)hdr;
	e = -tap__set_offload(t, 0);
	if (e)
		goto fail;
	/* No send-buffer limit, as QEMU does: with the default (wmem_default,
	 * ~208 KiB) a writer, vhost-net above all, stalls on a full tap
	 * socket and waits to be polled writable again. After every queue
	 * is attached: the kernel sets it on each attached queue. */
	if (ioctl(fd, TUNSETSNDBUF, &sndbuf) < 0) {
		e = errno;
		goto fail;
	}
	pr_debug("tap '%s' (ifindex %d, %u queue%s) %s", t->ifname, t->ifindex, t->nr_queues,
		 t->nr_queues == 1 ? "" : "s", t->created ? "created" : "reused");
	return 0;
fail:
	util__fail(err, errlen, "cannot set up tap '%s'%s: %s", t->ifname,
		   t->nr_queues < queues ? " (opening its queues)" : "", strerror(e));
	close_queues(t);
	return -1;
}

int tap__set_queues(struct tap *t, unsigned n)
{
	if (n < 1 || n > t->nr_queues)
		return -EINVAL;
	/* Attach before detaching: queue 0 stays, so the tap always has
	 * somewhere to put a packet. */
	while (t->attached < n) {
		struct ifreq ifr = { .ifr_flags = IFF_ATTACH_QUEUE };

		if (ioctl(t->qfd[t->attached], TUNSETQUEUE, &ifr) < 0)
			return -errno;
		t->attached++;
	}
	while (t->attached > n) {
		struct ifreq ifr = { .ifr_flags = IFF_DETACH_QUEUE };

		if (ioctl(t->qfd[t->attached - 1], TUNSETQUEUE, &ifr) < 0)
			return -errno;
		t->attached--;
	}
	return 0;
}

int tap__set_vnet_hdr_len(struct tap *t, unsigned len)
{
	int sz = (int)len;

	if (len != sizeof(struct virtio_net_hdr) &&
	    len != sizeof(struct virtio_net_hdr_mrg_rxbuf))
		return -EINVAL;
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &sz) < 0)
		return -errno;
	t->vnet_hdr_len = len;
	return 0;
}

int tap__set_offload(struct tap *t, unsigned tun_flags)
{
	int e;

	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)tun_flags) == 0) {
		t->offload = tun_flags;
		return 0;
	}
	e = errno;
	/* Kernels between UFO's removal (4.14) and its return refuse it. */
	if (e == EINVAL && (tun_flags & TUN_F_UFO)) {
		tun_flags &= ~TUN_F_UFO;
		if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)tun_flags) == 0) {
			pr_debug("tap '%s': kernel refused UFO, offloads %#x", t->ifname, tun_flags);
			t->offload = tun_flags;
			return 0;
		}
		e = errno;
	}
	return -e;
}

unsigned tap__offload_from_guest_features(uint64_t features)
{
	unsigned f;

	/* The tap may hand us partially checksummed (and so segmentation
	 * offloaded) frames only if the guest accepts them. */
	if (!(features & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	f = TUN_F_CSUM;
	if (features & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (features & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if ((f & (TUN_F_TSO4 | TUN_F_TSO6)) && (features & (1ULL << VIRTIO_NET_F_GUEST_ECN)))
		f |= TUN_F_TSO_ECN;
	if (features & (1ULL << VIRTIO_NET_F_GUEST_UFO))
		f |= TUN_F_UFO;
	return f;
}

static int read_u64(const char *ifname, const char *name, uint64_t *v)
{
	char path[96], buf[32], *end;
	ssize_t n;
	int fd, e;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	buf[n] = '\0';
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (end == buf || errno || (*end && *end != '\n'))
		return -EINVAL;
	return 0;
}

int tap__read_counts(const char *ifname, struct tap_counts *out)
{
	/* The tap transmits to the guest and receives from it. */
	int r = read_u64(ifname, "tx_packets", &out->rx_packets);

	if (!r)
		r = read_u64(ifname, "tx_bytes", &out->rx_bytes);
	if (!r)
		r = read_u64(ifname, "rx_packets", &out->tx_packets);
	if (!r)
		r = read_u64(ifname, "rx_bytes", &out->tx_bytes);
	return r;
}

void tap__close(struct tap *t)
{
	if (t->fd < 0)
		return;
	/* Undo host changes even on a tap vmm created: another holder of the
	 * file (vhost-net, a forked child) could keep it alive a while. Not
	 * after --user: without CAP_NET_ADMIN each step would only fail, and
	 * the tap (not persistent, its last fd this one: vhost-net's is
	 * closed first, the parser child is gone) takes its address and
	 * bridge port with it. */
	if (!t->kernel_undoes)
		netcfg__host_teardown(t);
	close_queues(t);
}
