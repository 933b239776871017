/* dp_machine.c — the benchmark's machine: everything `vmm run --net
 * tap=...,host-ip=... --vhost off` builds for a NIC, minus KVM.
 *
 * Guest RAM is guest_mem__init()'s anonymous mapping, the buses and the
 * PCI host are vmm's own, and the NIC comes from net_tap__create(), so the
 * tap backend, virtio-net, the virtqueues and the virtio-pci transport are
 * the code vmm runs. Only struct irq_ops is ours, and it does what KVM
 * does with the same calls: KVM_IOEVENTFD binds an eventfd to a guest
 * write at an address (our guest looks the eventfd up and writes it: the
 * kick arrives on the I/O thread exactly as from a vCPU), KVM_IRQFD binds
 * an eventfd to an MSI route (our guest thread waits on it: each
 * interrupt vmm raises is the same one write()). The driver's bring-up
 * (PCI capabilities, MSI-X table, virtio common configuration) goes
 * through the config space and MMIO bus as a vCPU's exits would.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>

#include "tests/bench/datapath/dp.h"
#include "virtio/net_tap.h"
#include "virtio/pci.h"
#include "vmm/irq.h"
#include "vmm/util.h"

#define RAM_SIZE     (64 * MiB)
#define RING_GPA(q)  (0x10000ULL + (uint64_t)(q) * 0x4000)   /* desc; avail +4K; used +8K */
#define MSI_DATA(v)  (0x40u + (v))                           /* tells our vectors apart */
#define COMMON(f)    offsetof(struct virtio_pci_common_cfg, f)

/* ---- KVM, as far as a NIC uses it ------------------------------------------ */

#define MAX_FDS 16
static struct {
	struct { int fd; uint64_t addr; } ioev[MAX_FDS];
	struct { int fd; uint32_t data; bool msi_set; } gsi[MAX_FDS];
	uint32_t next_gsi;
	uint64_t *slow_msis;
} kvm;

static int k_alloc_msi_gsi(void *o, uint32_t *gsi)
{
	if (kvm.next_gsi >= MAX_FDS)
		return -ENOSPC;
	kvm.gsi[kvm.next_gsi].fd = -1;
	*gsi = kvm.next_gsi++;
	return 0;
}

static int k_set_msi(void *o, uint32_t gsi, const struct msi_msg *m)
{
	if (gsi >= kvm.next_gsi)
		return -EINVAL;
	kvm.gsi[gsi].data = m->data;
	kvm.gsi[gsi].msi_set = true;
	return 0;
}

/* The transport's fallback when a vector has no irqfd: must not happen
 * with every vector routed, so it is only counted. */
static int k_signal_msi(void *o, const struct msi_msg *m)
{
	__atomic_fetch_add(kvm.slow_msis, 1, __ATOMIC_RELAXED);
	return 0;
}

static int k_irqfd(void *o, int fd, uint32_t gsi, bool assign)
{
	if (gsi >= kvm.next_gsi)
		return -EINVAL;
	kvm.gsi[gsi].fd = assign ? fd : -1;
	return 0;
}

static int k_ioeventfd(void *o, int fd, uint64_t addr, uint32_t len, bool pio, bool assign)
{
	for (int i = 0; i < MAX_FDS; i++) {
		if (assign && kvm.ioev[i].fd < 0) {
			kvm.ioev[i].fd = fd;
			kvm.ioev[i].addr = addr;
			return 0;
		}
		if (!assign && kvm.ioev[i].fd == fd && kvm.ioev[i].addr == addr) {
			kvm.ioev[i].fd = -1;
			return 0;
		}
	}
	return assign ? -ENOSPC : -ENOENT;
}

static const struct irq_ops fake_kvm = {
	.alloc_msi_gsi = k_alloc_msi_gsi, .set_msi = k_set_msi, .signal_msi = k_signal_msi,
	.irqfd = k_irqfd, .ioeventfd = k_ioeventfd,
};

static int ioeventfd_at(uint64_t addr)
{
	for (int i = 0; i < MAX_FDS; i++)
		if (kvm.ioev[i].fd >= 0 && kvm.ioev[i].addr == addr)
			return kvm.ioev[i].fd;
	return -1;
}

static int irqfd_for(uint32_t data)
{
	for (uint32_t g = 0; g < kvm.next_gsi; g++)
		if (kvm.gsi[g].msi_set && kvm.gsi[g].data == data)
			return kvm.gsi[g].fd;
	return -1;
}

/* ---- the network namespace ---------------------------------------------- */

static void write_sysctl(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, v, strlen(v)) < 0) {
			/* IPv6 may be absent: nothing to quieten then */
		}
		close(fd);
	}
}

int dp_enter_netns(char *err, size_t len)
{
	if (geteuid() != 0)
		return util__fail(err, len, "not root: no private network namespace");
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		return util__fail(err, len, "/dev/net/tun: %s", strerror(errno));
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		return util__fail(err, len, "unshare(CLONE_NEWNET|CLONE_NEWNS): %s", strerror(errno));
	/* sysfs of the new namespace, so the tap's counters can be read
	 * (net_tap__create reads them); tracefs for the syscall counter */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
		return util__fail(err, len, "cannot mount a private sysfs: %s", strerror(errno));
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) < 0) {
		/* no tracefs: the syscall columns say n/a */
	}
	/* A quiet link: no IPv6 autoconfiguration or neighbour discovery
	 * frames in the way of the counts. */
	write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	return 0;
}

/* ---- the driver's bring-up ------------------------------------------------ */

static void mmio_wr(struct dp_machine *m, uint64_t addr, uint32_t v, uint32_t len)
{
	bus__write(&m->mmio, addr, (const uint8_t *)&v, len);
}

static uint32_t mmio_rd(struct dp_machine *m, uint64_t addr, uint32_t len)
{
	uint32_t v = 0;

	bus__read(&m->mmio, addr, (uint8_t *)&v, len);
	return v;
}

/* What virtio_pci_modern finds in the capability list: where the common
 * configuration and the doorbells are. */
static int find_caps(struct dp_machine *m, uint64_t *common, uint64_t *notify, uint32_t *mult,
		     int *msix)
{
	unsigned off = pci__config_read(m->pci, PCI_CAPABILITY_LIST, 1);

	*common = *notify = 0;
	*msix = -1;
	for (int n = 0; off && n < 48; n++, off = pci__config_read(m->pci, off + 1, 1)) {
		unsigned id = pci__config_read(m->pci, off, 1);

		if (id == PCI_CAP_ID_MSIX) {
			*msix = (int)off;
		} else if (id == PCI_CAP_ID_VNDR) {
			unsigned type = pci__config_read(m->pci, off + 3, 1);
			unsigned bar = pci__config_read(m->pci, off + 4, 1);
			uint64_t at = pci__bar_address(m->pci, bar) +
				      pci__config_read(m->pci, off + 8, 4);

			if (type == VIRTIO_PCI_CAP_COMMON_CFG)
				*common = at;
			if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
				*notify = at;
				*mult = pci__config_read(m->pci, off + 16, 4);
			}
		}
	}
	return *common && *notify && *msix >= 0 ? 0 : -1;
}

/* MSI-X on, one vector per queue plus config, each unmasked with its own
 * data value (which then finds its irqfd). */
static void msix_up(struct dp_machine *m, int cap, unsigned nvec)
{
	uint32_t tbl = pci__config_read(m->pci, (unsigned)cap + PCI_MSIX_TABLE, 4);
	uint64_t base = pci__bar_address(m->pci, tbl & PCI_MSIX_TABLE_BIR) + (tbl & ~7u);

	pci__config_write(m->pci, (unsigned)cap + PCI_MSIX_FLAGS,
			  PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	for (unsigned v = 0; v < nvec; v++) {
		mmio_wr(m, base + 16 * v + PCI_MSIX_ENTRY_LOWER_ADDR, 0xfee00000u, 4);
		mmio_wr(m, base + 16 * v + PCI_MSIX_ENTRY_UPPER_ADDR, 0, 4);
		mmio_wr(m, base + 16 * v + PCI_MSIX_ENTRY_DATA, MSI_DATA(v), 4);
		mmio_wr(m, base + 16 * v + PCI_MSIX_ENTRY_VECTOR_CTRL, 0, 4);
	}
	pci__config_write(m->pci, (unsigned)cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
}

static void ring_layout(struct dp_machine *m, struct dp_ring *r, int q)
{
	r->size = DP_QSIZE;
	r->desc_gpa = RING_GPA(q);
	r->avail_gpa = RING_GPA(q) + 0x1000;
	r->used_gpa = RING_GPA(q) + 0x2000;
	r->desc = guest_mem__ptr(&m->mem, r->desc_gpa, 16 * DP_QSIZE);
	r->avail = guest_mem__ptr(&m->mem, r->avail_gpa, 6 + 2 * DP_QSIZE);
	r->used = guest_mem__ptr(&m->mem, r->used_gpa, 6 + 8 * DP_QSIZE);
	for (unsigned i = 0; i < DP_QSIZE; i++)
		r->free[i] = (uint16_t)(DP_QSIZE - 1 - i);
	r->nfree = DP_QSIZE;
}

static int driver_up(struct dp_machine *m, char *err, size_t len)
{
	uint64_t common, notify, offer;
	uint32_t mult = 0;
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	struct dp_ring *rings[NET_NR_QUEUES] = { &m->rx, &m->tx, &m->ctrl };
	int cap;

	if (find_caps(m, &common, &notify, &mult, &cap) < 0)
		return util__fail(err, len, "virtio-pci capabilities not found");
	msix_up(m, cap, NET_NR_QUEUES + 1);
	mmio_wr(m, common + COMMON(device_status), 0, 1);
	mmio_wr(m, common + COMMON(device_status), s, 1);
	mmio_wr(m, common + COMMON(device_feature_select), 0, 4);
	offer = mmio_rd(m, common + COMMON(device_feature), 4);
	mmio_wr(m, common + COMMON(device_feature_select), 1, 4);
	offer |= (uint64_t)mmio_rd(m, common + COMMON(device_feature), 4) << 32;
	/* What Linux's virtio_net accepts of this offer (it has no
	 * CTRL_RX_EXTRA); needs VERSION_1 and wants EVENT_IDX, MRG_RXBUF and
	 * both directions' checksum and TSO offloads. */
	m->features = offer & ~(1ULL << VIRTIO_NET_F_CTRL_RX_EXTRA);
	m->event_idx = m->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	for (unsigned sel = 0; sel < 2; sel++) {
		mmio_wr(m, common + COMMON(guest_feature_select), sel, 4);
		mmio_wr(m, common + COMMON(guest_feature), (uint32_t)(m->features >> (32 * sel)), 4);
	}
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	mmio_wr(m, common + COMMON(device_status), s, 1);
	if (!(mmio_rd(m, common + COMMON(device_status), 1) & VIRTIO_CONFIG_S_FEATURES_OK))
		return util__fail(err, len, "the device refused features 0x%llx",
				  (unsigned long long)m->features);
	mmio_wr(m, common + COMMON(msix_config), 0, 2);
	for (int q = 0; q < NET_NR_QUEUES; q++) {
		struct dp_ring *r = rings[q];

		ring_layout(m, r, q);
		mmio_wr(m, common + COMMON(queue_select), (uint32_t)q, 2);
		mmio_wr(m, common + COMMON(queue_size), DP_QSIZE, 2);
		mmio_wr(m, common + COMMON(queue_msix_vector), (uint32_t)q + 1, 2);
		if (mmio_rd(m, common + COMMON(queue_msix_vector), 2) != (uint32_t)q + 1)
			return util__fail(err, len, "queue %d refused MSI-X vector %d", q, q + 1);
		mmio_wr(m, common + COMMON(queue_desc_lo), (uint32_t)r->desc_gpa, 4);
		mmio_wr(m, common + COMMON(queue_desc_hi), 0, 4);
		mmio_wr(m, common + COMMON(queue_avail_lo), (uint32_t)r->avail_gpa, 4);
		mmio_wr(m, common + COMMON(queue_avail_hi), 0, 4);
		mmio_wr(m, common + COMMON(queue_used_lo), (uint32_t)r->used_gpa, 4);
		mmio_wr(m, common + COMMON(queue_used_hi), 0, 4);
		mmio_wr(m, common + COMMON(queue_enable), 1, 2);
		r->kick_fd = ioeventfd_at(notify + mult *
					  mmio_rd(m, common + COMMON(queue_notify_off), 2));
		r->irq_fd = irqfd_for(MSI_DATA((uint32_t)q + 1));
		if (r->kick_fd < 0 || r->irq_fd < 0)
			return util__fail(err, len, "queue %d: no doorbell eventfd or irqfd", q);
	}
	mmio_wr(m, common + COMMON(device_status), s | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	if (mmio_rd(m, common + COMMON(device_status), 1) & VIRTIO_CONFIG_S_NEEDS_RESET)
		return util__fail(err, len, "the device needs a reset after DRIVER_OK");
	return 0;
}

/* ---- the machine ------------------------------------------------------------ */

/* The host's TCP stream to the guest (dp_peer_tcp_source) needs the
 * guest's MAC; a static entry keeps ARP traffic out of the counts. */
static int static_arp(int s, struct dp_machine *m)
{
	struct arpreq a = { .arp_flags = ATF_COM | ATF_PERM };
	struct sockaddr_in *in = (struct sockaddr_in *)&a.arp_pa;

	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(0x0a000002);
	a.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(a.arp_ha.sa_data, m->guest_mac, 6);
	snprintf(a.arp_dev, sizeof(a.arp_dev), "%s", m->tap);
	return ioctl(s, SIOCSARP, &a);
}

int dp_tx_mode = NET_TX_DEFAULT;

int dp_machine_up(struct dp_machine *m, char *err, size_t len)
{
	struct pci_host_config hc = {
		.pio = &m->pio, .mmio = &m->mmio,
		.mmio32_base = 0xc0000000ULL, .mmio32_end = 0xfec00000ULL,
		.io_base = 0x1000, .io_end = 0x10000,
	};
	struct net_config nc = {
		.tap = "dpbench0", .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, .mac_set = true,
		.has_host_ip = true, .host_ip = 0x0a000001, .prefix = 24, .vhost = NET_VHOST_OFF,
		.tx = (enum net_tx)dp_tx_mode,
	};
	struct vm_services svc;
	struct ifreq ifr = { 0 };
	int s;

	memset(m, 0, sizeof(*m));
	memset(&kvm, 0, sizeof(kvm));
	for (int i = 0; i < MAX_FDS; i++)
		kvm.ioev[i].fd = kvm.gsi[i].fd = -1;
	kvm.slow_msis = &m->slow_msis;
	if (guest_mem__init(&m->mem, RAM_SIZE, NULL) < 0 || bus__init(&m->pio, "pio") < 0 ||
	    bus__init(&m->mmio, "mmio") < 0 || loop__init(&m->loop) < 0)
		return util__fail(err, len, "cannot set up memory, buses or the loop");
	m->host = pci__create(&hc);
	if (!m->host)
		return util__fail(err, len, "cannot create the PCI host");
	svc = (struct vm_services){ .mem = &m->mem, .loop = &m->loop, .loops = &m->loops,
				    .pci = m->host,
				    .irq = &fake_kvm, .irq_opaque = m };
	m->nic = net_tap__create(&svc, &nc, 0);
	if (!m->nic)
		return util__fail(err, len, "net_tap__create failed (see above)");
	m->pci = virtio_pci__pci_device(m->nic->pci);
	memcpy(m->guest_mac, nc.mac, 6);
	snprintf(m->tap, sizeof(m->tap), "%s", m->nic->tap.ifname);
	m->ifindex = m->nic->tap.ifindex ? m->nic->tap.ifindex : (int)if_nametoindex(m->tap);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", m->tap);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0) {
		if (s >= 0)
			close(s);
		return util__fail(err, len, "cannot read %s's MAC: %s", m->tap, strerror(errno));
	}
	memcpy(m->tap_mac, ifr.ifr_hwaddr.sa_data, 6);
	if (static_arp(s, m) < 0) {
		close(s);
		return util__fail(err, len, "cannot add the guest's ARP entry: %s", strerror(errno));
	}
	close(s);
	if (loop__start(&m->loop) < 0 || loop_set__start(&m->loops) < 0)
		return util__fail(err, len, "cannot start the I/O or datapath threads");
	if (driver_up(m, err, len) < 0)
		return -1;
	dp_guest_rx_fill(m, 1536);
	return 0;
}

void dp_machine_down(struct dp_machine *m)
{
	loop__stop(&m->loop);
	loop_set__stop(&m->loops);
	if (m->nic)
		net_tap__destroy(m->nic);
	if (m->host)
		pci__free(m->host);
	loop__destroy(&m->loop);
	loop_set__destroy(&m->loops);
	bus__destroy(&m->pio);
	bus__destroy(&m->mmio);
	guest_mem__destroy(&m->mem);
	m->nic = NULL;
	m->host = NULL;
}

void dp_nic_stats(struct dp_machine *m, struct net_dev_stats *out)
{
	net_tap__stats(m->nic, out);
}

/* The thread that moves the NIC's packets: queue pair 0's own (vmm-net0q0,
 * the set's first loop), as in vmm. */
struct loop *dp_datapath_loop(struct dp_machine *m)
{
	return m->loops.n ? m->loops.l[0] : &m->loop;
}

int dp_io_tid(struct dp_machine *m)
{
	return __atomic_load_n(&dp_datapath_loop(m)->tid, __ATOMIC_RELAXED);
}
