/* fuzz_platform.c — libFuzzer target for the guest-visible register files
 * of the x86 platform, reached as a vCPU reaches them: through the
 * port-I/O and MMIO buses (vmm/bus.h) that vcpu.c hands its exits to.
 * Behind them: the PCI host bridge with configuration mechanism #1
 * (CF8/CFC; vmm has no ECAM window) and its I/O window (devices/pci/pci.c,
 * pci_host.c); a virtio-pci function (virtio/pci.c, pci_common.c) with
 * its common configuration, ISR, device configuration and notify
 * registers in BAR 0 and its MSI-X table and PBA in BAR 2
 * (devices/pci/msix.c); a plain test function with two I/O, a 32-bit and a
 * 64-bit memory BAR, BAR hooks and a capability with hooks; and the
 * legacy devices: the 16550A UART, the i8042, the CMOS RTC and the ACPI
 * PM1 registers. The guest moves and sizes BARs and turns decoding off
 * and on as it likes. KVM is faked at link time (vmm/irq.h: MSI routes,
 * irqfds and ioeventfds with KVM's rules), and a guest MMIO write that
 * matches an ioeventfd signals it instead of reaching the bus, as in
 * KVM; the I/O loop is tests/common/fake_loop.h. Behind the transport
 * sits a fake virtio device that checks what virtio.h promises it and
 * serves its queues from the fake guest RAM of fuzz_guest.h. Nothing
 * here needs /dev/kvm or any host file.
 *
 * What it checks, after every operation: each queue's doorbell
 * ioeventfd sits at its notify register where BAR 0 is decoded and
 * nowhere while it is not, never assigned twice nor deassigned when not
 * there; an MSI-X vector's irqfd is bound exactly while the vector is
 * unmasked, to a route holding its message; every BAR that pci.c says
 * is mapped is registered on its bus at that address with its size and
 * handler (and nowhere else), only while its decode bit is on; the
 * buses' ranges are sorted and disjoint; the functions' IDs stay as
 * they were. As they happen: BAR hooks alternate map and unmap and name
 * the right address, every interrupt line changes level on each call,
 * BAR handlers get accesses inside their BAR, capability hooks inside
 * their capability; the device ops come under vdev->lock, features a
 * subset of the offer and set once per reset, queues enabled only after
 * that, DRIVER_OK once, kicks only while DRIVER_OK, the queue enabled and
 * no NEEDS_RESET, config accesses of 1, 2 or 4 bytes inside the window;
 * the ACPI power-off comes once.
 *
 * Input: a set-up byte (queues, their size limit, a 64-bit window), then
 * operations. An operation byte: bits 0-4 pick a base from the table
 * below (a port, a register block at wherever its BAR is now, a slot's
 * config space through CF8/CFC) or, past it, a device event (SP_*);
 * bits 5-6 the width (1, 2, 4, 8 bytes; at most 4 on port I/O, as KVM
 * exits), bit 7 write. An offset byte follows, then a write's value. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/irq.h"
#include "arch/x86/layout.h"
#include "devices/pc/acpi_pm.h"
#include "devices/pc/i8042.h"
#include "devices/pci/msix.h"
#include "devices/pci/pci_internal.h"
#include "devices/pc/rtc.h"
#include "devices/pc/uart8250.h"
#include "tests/common/fake_loop.h"
#include "tests/fuzz/fuzz_guest.h"
#include "tests/fuzz/fuzz_util.h"
#include "virtio/pci.h"
#include "virtio/pci_priv.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define F(b)        (1ULL << (b))
#define GSI_BASE    24
#define MAX_GSI     16
#define MAX_IOEV    16
#define DEV_CFG     64        /* the fake device's config bytes (zeroes after) */
#define T_SLOT      2         /* the test function; virtio-pci is slot 1 */
#define T_CAP_LEN   12
#define NR_LINES    32        /* interrupt lines tracked (IRQ numbers) */

static const uint64_t offer = F(VIRTIO_F_VERSION_1) | F(VIRTIO_RING_F_EVENT_IDX) |
			      F(VIRTIO_RING_F_INDIRECT_DESC) | F(0) | F(5) | F(40);

/* Where an access goes: a port, a memory address, or a config register
 * of a slot; BAR blocks are found where their BAR register says now. */
enum {
	B_CF8, B_CFC, B_CFG0, B_CFG1, B_CFG2, B_CFG31, B_UART, B_I8042, B_RTC, B_ACPI,
	B_TIO, B_TIO2, B_IOWIN, B_PORT,
	B_COMMON, B_ISR, B_DEVCFG, B_NOTIFY, B_MSIX, B_PBA, B_TMEM32, B_TMEM64, B_HOLE,
	B_ECAM,
	BASES
};

/* Device events, in the base byte's values past BASES. */
enum {
	SP_SIGNAL = BASES,  /* u8: bit 7 config change, bit 6 NEEDS_RESET, else queue */
	SP_PUMP,            /* the I/O thread: dispatch ready doorbells */
	SP_DRIVER,          /* u8 queue, u8 op: a fuzz_guest.h driver operation */
	SP_UART_RX,         /* u8 n, n bytes from the host into the UART */
	SP_INTX,            /* u8: the test function's INTx level */
	SP_MODE,            /* u8: bit 0 KVM refuses ioeventfds, 1 the device refuses
	                     * features, 2 it refuses queues */
	SP_PWRBTN,          /* the ACPI power button */
	SP_BAR,             /* u8 slot/BAR, u8 address: a BAR write from bar_addrs[] */
	SP_NR
};

static const uint32_t bar_addrs[] = {
	0, 0xffffffffu, 0xc0000000u, 0xc0004000u, 0xc0008000u, 0xd0000000u, 0xfebfc000u,
	0xfec00000u, 0x1000, 0x1100, 0xfff0, 0xffffff00u, 0x80000001u, 0x3f8,
};

static struct fuzz_guest g;
static struct vm *vm;
static struct pci_host *host;
static struct virtio_pci *vp;
static struct virtio_dev vdev;
static struct fg_queue fgq[VIRTIO_MAX_QUEUES];
static struct vq_chain chain;
static struct uart8250 *uart;
static struct i8042 *kbc;
static struct rtc *rtc;
static struct acpi_pm *pm;

/* Fake KVM. */
static struct {
	struct { int fd; uint64_t addr; bool live; } ioev[MAX_IOEV];
	struct { bool bound, routed; int fd; uint64_t addr; uint32_t data; } gsi[MAX_GSI];
	unsigned next_gsi;
	bool refuse_ioev, ever_refused;
	uint64_t msis;
} K;

/* The fake virtio device's view. */
static struct {
	bool features_set, driver_ok, raised_nr;
	bool refuse_features, refuse_queue;
	uint8_t cfg[DEV_CFG];
} D;

/* The test function: BARs 0 (I/O, 32), 1 (32-bit, 4 KiB), 2-3 (64-bit,
 * 16 KiB), 4 (I/O, 256), and what its hooks were told. */
static const struct { enum pci_bar_type type; uint64_t size; } t_bars[PCI_NR_BARS] = {
	{ PCI_BAR_IO, 32 }, { PCI_BAR_MEM32, 0x1000 }, { PCI_BAR_MEM64, 0x4000 },
	{ PCI_BAR_NONE, 0 }, { PCI_BAR_IO, 256 }, { PCI_BAR_NONE, 0 },
};
static struct {
	struct pci_device pci;
	uint8_t regs[PCI_NR_BARS][256];   /* the first bytes of each BAR, read back */
	bool mapped[PCI_NR_BARS];
	uint64_t at[PCI_NR_BARS];
} T;

static int line_level[NR_LINES];
static bool powered_off;

/* ---- fake KVM (vmm/irq.h) --------------------------------------------------- */

static int fake_alloc_msi_gsi(void *opaque, uint32_t *gsi)
{
	FUZZ_CHECK(K.next_gsi < MAX_GSI, "%u MSI GSIs", K.next_gsi + 1);
	*gsi = GSI_BASE + K.next_gsi++;
	return 0;
}

static unsigned gsi_slot(uint32_t gsi)
{
	FUZZ_CHECK(gsi >= GSI_BASE && gsi - GSI_BASE < K.next_gsi, "GSI %u never allocated", gsi);
	return gsi - GSI_BASE;
}

/* Every MSI names its sender: the virtio function's requester id. */
static void check_devid(const struct msi_msg *m)
{
	FUZZ_CHECK(m->devid == pci__requester_id(&vp->pci) && m->devid == (uint32_t)vp->pci.slot << 3,
		   "MSI device id 0x%x", m->devid);
}

static int fake_set_msi(void *opaque, uint32_t gsi, const struct msi_msg *m)
{
	unsigned s = gsi_slot(gsi);

	check_devid(m);
	K.gsi[s].routed = true;
	K.gsi[s].addr = m->addr;
	K.gsi[s].data = m->data;
	return 0;
}

static int fake_signal_msi(void *opaque, const struct msi_msg *m)
{
	check_devid(m);
	K.msis++;
	return 0;
}

/* KVM_IRQFD: an eventfd bound twice is -EBUSY there; here a finding. */
static int fake_irqfd(void *opaque, int fd, uint32_t gsi, bool assign)
{
	unsigned s = gsi_slot(gsi);

	if (assign) {
		FUZZ_CHECK(!K.gsi[s].bound, "irqfd for GSI %u bound twice", gsi);
		FUZZ_CHECK(K.gsi[s].routed, "irqfd bound to GSI %u without a route", gsi);
		K.gsi[s].bound = true;
		K.gsi[s].fd = fd;
	} else {
		FUZZ_CHECK(K.gsi[s].bound && K.gsi[s].fd == fd,
			   "irqfd for GSI %u unbound when not bound", gsi);
		K.gsi[s].bound = false;
	}
	return 0;
}

/* KVM_IOEVENTFD: a second one at the same address is -EEXIST, removing
 * one that is not there -ENOENT; virtio-pci must never try either. */
static int fake_ioeventfd(void *opaque, int fd, uint64_t addr, uint32_t len, bool pio, bool assign)
{
	int free_slot = -1;

	FUZZ_CHECK(!pio && len == 2, "doorbell ioeventfd: %s, %u bytes", pio ? "pio" : "mmio", len);
	for (int i = 0; i < MAX_IOEV; i++) {
		if (!K.ioev[i].live) {
			free_slot = free_slot < 0 ? i : free_slot;
			continue;
		}
		if (K.ioev[i].addr != addr)
			continue;
		FUZZ_CHECK(!assign, "a second doorbell at %#llx", (unsigned long long)addr);
		FUZZ_CHECK(K.ioev[i].fd == fd, "removing another queue's doorbell at %#llx",
			   (unsigned long long)addr);
		K.ioev[i].live = false;
		return 0;
	}
	FUZZ_CHECK(assign, "removing a doorbell at %#llx that is not there",
		   (unsigned long long)addr);
	if (K.refuse_ioev) {
		K.ever_refused = true;
		return -ENOSPC;
	}
	FUZZ_CHECK(free_slot >= 0, "more than %d doorbells", MAX_IOEV);
	K.ioev[free_slot].fd = fd;
	K.ioev[free_slot].addr = addr;
	K.ioev[free_slot].live = true;
	return 0;
}

static const struct irq_ops fake_irq_ops = {
	.alloc_msi_gsi = fake_alloc_msi_gsi, .set_msi = fake_set_msi,
	.signal_msi = fake_signal_msi, .irqfd = fake_irqfd, .ioeventfd = fake_ioeventfd,
};


/* ---- interrupt lines and other platform callbacks ------------------------------ */

/* Every caller promises to report changes only. */
static void line(int irq, int level)
{
	FUZZ_CHECK(irq >= 0 && irq < NR_LINES && (level == 0 || level == 1), "IRQ %d level %d",
		   irq, level);
	FUZZ_CHECK(line_level[irq] != level, "IRQ %d set to %d again", irq, level);
	line_level[irq] = level;
}

static int pci_intx_irq(void *opaque, unsigned slot, unsigned pin)
{
	return x86_irq__pci_intx(slot, pin);
}

static void pci_set_irq(void *opaque, int irq, int level)
{
	FUZZ_CHECK(irq >= 16 && irq < 24, "INTx on IRQ %d", irq);
	line(irq, level);
}

static void pci_reset(void *opaque) { }

static const struct pci_host_ops host_ops = {
	.intx_irq = pci_intx_irq, .set_irq = pci_set_irq, .reset = pci_reset,
};

static void uart_set_irq(void *opaque, int level) { line(UART8250_COM1_IRQ, level); }
static void uart_tx(void *opaque, const uint8_t *buf, size_t len) { }

static const struct uart8250_ops uart_ops = { .set_irq = uart_set_irq, .tx = uart_tx };

static void kbc_reset(void *opaque) { }

static void kbc_set_irq(void *opaque, int irq, int level)
{
	FUZZ_CHECK(irq == I8042_KBD_IRQ || irq == I8042_AUX_IRQ, "i8042 on IRQ %d", irq);
	line(irq, level);
}

static const struct i8042_ops kbc_ops = { .reset = kbc_reset, .set_irq = kbc_set_irq };

static void pm_poweroff(void *opaque)
{
	FUZZ_CHECK(!powered_off, "powered off twice");
	powered_off = true;
}

static void pm_set_sci(void *opaque, int level) { line(X86_ACPI_SCI_IRQ, level); }

static const struct acpi_pm_ops pm_ops = { .poweroff = pm_poweroff, .set_sci = pm_set_sci };

/* ---- the fake virtio device -------------------------------------------------- */

static void held(struct virtio_dev *v)
{
	int rc = pthread_mutex_trylock(&v->lock);

	if (rc == 0)
		pthread_mutex_unlock(&v->lock);
	FUZZ_CHECK(rc == EBUSY, "device op without vdev->lock");
}

static uint64_t dev_get_features(struct virtio_dev *v)
{
	held(v);
	return offer;
}

static int dev_set_features(struct virtio_dev *v, uint64_t f)
{
	held(v);
	FUZZ_CHECK(!(f & ~offer), "features %#llx beyond the offer", (unsigned long long)f);
	FUZZ_CHECK(!D.features_set, "features set twice without a reset");
	if (D.refuse_features)
		return -1;
	D.features_set = true;
	return 0;
}

static void dev_config_ok(struct virtio_dev *v, uint32_t off, uint32_t len)
{
	held(v);
	FUZZ_CHECK((len == 1 || len == 2 || len == 4) && off < REGION_SIZE &&
		   len <= REGION_SIZE - off, "config access of %u bytes at %u", len, off);
}

static void dev_read_config(struct virtio_dev *v, uint32_t off, void *data, uint32_t len)
{
	dev_config_ok(v, off, len);
	memset(data, 0, len);
	if (off < DEV_CFG)
		memcpy(data, D.cfg + off, MIN(len, DEV_CFG - off));
}

static void dev_write_config(struct virtio_dev *v, uint32_t off, const void *data, uint32_t len)
{
	dev_config_ok(v, off, len);
	if (off < DEV_CFG)
		memcpy(D.cfg + off, data, MIN(len, DEV_CFG - off));
}

static int dev_queue_enable(struct virtio_dev *v, int qi)
{
	held(v);
	FUZZ_CHECK(qi >= 0 && qi < v->nr_queues && v->vq[qi].enabled && D.features_set &&
		   v->vq[qi].size <= v->queue_max_size,
		   "queue %d enabled (features %s, size %u)", qi,
		   D.features_set ? "set" : "not set",
		   qi >= 0 && qi < v->nr_queues ? v->vq[qi].size : 0);
	return D.refuse_queue ? -1 : 0;
}

static void dev_driver_ok(struct virtio_dev *v)
{
	held(v);
	FUZZ_CHECK(!D.driver_ok, "DRIVER_OK twice without a reset");
	D.driver_ok = true;
}

static void dev_raise(struct virtio_dev *v, const char *why)
{
	D.raised_nr = true;
	virtio_dev__needs_reset(v, why);
}

/* A kick: serve every chain (touched for ASan, as fg_check_chain does),
 * complete it as written in full, interrupt once. */
static void dev_notify(struct virtio_dev *v, int qi)
{
	struct virtqueue *vq;
	int rc = 0;

	held(v);
	FUZZ_CHECK(qi >= 0 && qi < v->nr_queues, "kick of queue %d", qi);
	vq = &v->vq[qi];
	FUZZ_CHECK(vq->enabled && D.driver_ok && !D.raised_nr,
		   "kick of queue %d (%s, DRIVER_OK %d, NEEDS_RESET %d)", qi,
		   vq->enabled ? "enabled" : "disabled", D.driver_ok, D.raised_nr);
	for (int n = 0; n < 64 && (rc = virtqueue__pop(vq, &chain)) == 1; n++) {
		fg_check_chain(&g, &chain);
		virtqueue__fill(vq, chain.head, chain.in_len);
	}
	virtqueue__flush(vq);
	if (rc < 0)
		dev_raise(v, vq->err);
	virtio_dev__signal_queue(v, qi);
}

static void dev_reset(struct virtio_dev *v)
{
	held(v);
	D.features_set = D.driver_ok = D.raised_nr = false;
}

static const struct virtio_dev_ops dev_ops = {
	.get_features = dev_get_features, .set_features = dev_set_features,
	.read_config = dev_read_config, .write_config = dev_write_config,
	.queue_enable = dev_queue_enable, .driver_ok = dev_driver_ok,
	.notify = dev_notify, .reset = dev_reset,
};

/* ---- the test function ----------------------------------------------------------- */

/* The BAR's index is its handler's opaque (offset into T.regs rows). */
static unsigned t_bar_of(void *opaque)
{
	return (unsigned)((uint8_t (*)[256])opaque - T.regs);
}

static void t_bar_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	unsigned b = t_bar_of(opaque);

	FUZZ_CHECK(off < t_bars[b].size && len <= t_bars[b].size - off,
		   "BAR%u handler read [%llu, +%u)", b, (unsigned long long)off, len);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < 256 ? T.regs[b][off + i] : (uint8_t)(off + i);
}

static void t_bar_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	unsigned b = t_bar_of(opaque);

	FUZZ_CHECK(off < t_bars[b].size && len <= t_bars[b].size - off,
		   "BAR%u handler write [%llu, +%u)", b, (unsigned long long)off, len);
	for (uint32_t i = 0; i < len && off + i < 256; i++)
		T.regs[b][off + i] = data[i];
}

static const struct bus_dev_ops t_bar_ops = { .read = t_bar_read, .write = t_bar_write };

/* pci.h: per BAR the calls alternate, starting with a map; an unmap
 * names the address of the map before it; pci__bar_mapped() already
 * tells the new state (and may be asked from here). */
static void t_map(struct pci_device *d, void *opaque, unsigned bar, uint64_t addr)
{
	uint64_t now = 0;

	FUZZ_CHECK(bar < PCI_NR_BARS && t_bars[bar].type != PCI_BAR_NONE && !T.mapped[bar],
		   "BAR%u mapped at %#llx twice", bar, (unsigned long long)addr);
	FUZZ_CHECK(pci__bar_mapped(d, bar, &now) && now == addr, "BAR%u map hook at %#llx, "
		   "mapped at %#llx", bar, (unsigned long long)addr, (unsigned long long)now);
	T.mapped[bar] = true;
	T.at[bar] = addr;
}

static void t_unmap(struct pci_device *d, void *opaque, unsigned bar, uint64_t addr)
{
	FUZZ_CHECK(bar < PCI_NR_BARS && T.mapped[bar] && T.at[bar] == addr,
		   "BAR%u unmapped at %#llx, mapped %d at %#llx", bar, (unsigned long long)addr,
		   bar < PCI_NR_BARS && T.mapped[bar], bar < PCI_NR_BARS ?
		   (unsigned long long)T.at[bar] : 0ULL);
	FUZZ_CHECK(!pci__bar_mapped(d, bar, NULL), "BAR%u unmap hook while mapped", bar);
	T.mapped[bar] = false;
}

static const struct pci_device_ops t_dev_ops = { .bar_map = t_map, .bar_unmap = t_unmap };

static void t_cap_hook(struct pci_device *d, void *opaque, unsigned off, unsigned len)
{
	FUZZ_CHECK(len >= 1 && off < T_CAP_LEN && len <= T_CAP_LEN - off,
		   "capability hook for [%u, +%u)", off, len);
}

static const struct pci_cap_ops t_cap_ops = { .read = t_cap_hook, .write = t_cap_hook };

static void t_create(void)
{
	static const struct pci_device_info info = {
		.vendor = 0x1234, .device = 0x5678, .class_code = 0xff0000, .irq_pin = 2,
	};
	static const uint8_t cap[T_CAP_LEN] = { 0x09, 0, T_CAP_LEN, 0xa5 },
		wmask[T_CAP_LEN - 4] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0xf0, 0, 0xff };
	int off;

	memset(&T, 0, sizeof(T));
	pci__device_init(&T.pci, "fuzz-test", &info);
	for (unsigned b = 0; b < PCI_NR_BARS; b++)
		if (t_bars[b].type != PCI_BAR_NONE &&
		    pci__set_bar(&T.pci, b, t_bars[b].type, t_bars[b].size, &t_bar_ops,
				 T.regs[b]) < 0)
			abort();
	off = pci__add_capability(&T.pci, cap, sizeof(cap));
	if (off < 0 || pci__set_capability_ops(&T.pci, off, &t_cap_ops, NULL) < 0 ||
	    pci__set_writable(&T.pci, (unsigned)off + 4, wmask, sizeof(wmask)) < 0 ||
	    pci__set_device_ops(&T.pci, &t_dev_ops, NULL) < 0 ||
	    pci__register_device(host, &T.pci) != T_SLOT)
		abort();
}

/* ---- invariants --------------------------------------------------------------------- */

static void check_doorbells(void)
{
	uint64_t bar = 0;
	bool mapped = pci__bar_mapped(&vp->pci, BAR_VIRTIO, &bar);
	int live = 0;

	for (int i = 0; i < MAX_IOEV; i++) {
		uint64_t a = K.ioev[i].addr, rel = a - bar - OFF_NOTIFY;
		uint64_t qi = rel / NOTIFY_MULTIPLIER;

		if (!K.ioev[i].live)
			continue;
		live++;
		FUZZ_CHECK(mapped && a >= bar + OFF_NOTIFY && rel % NOTIFY_MULTIPLIER == 0 &&
			   qi < (uint64_t)vdev.nr_queues && vp->q[qi].kick_fd == K.ioev[i].fd,
			   "a doorbell at %#llx, BAR 0 %s at %#llx", (unsigned long long)a,
			   mapped ? "decoded" : "not decoded", (unsigned long long)bar);
	}
	FUZZ_CHECK(!mapped || K.ever_refused || live == vdev.nr_queues,
		   "%d doorbells for %d queues at BAR 0 %#llx", live, vdev.nr_queues,
		   (unsigned long long)bar);
}

static void check_msix(void)
{
	for (int v = 0; v < vp->nr_vectors; v++) {
		unsigned s = gsi_slot(vp->vec[v].gsi);
		uint64_t addr;
		uint32_t data;
		bool masked;

		FUZZ_CHECK(msix__get_vector(vp->msix, (unsigned)v, &addr, &data, &masked) == 0,
			   "vector %d", v);
		FUZZ_CHECK(K.gsi[s].bound == !masked &&
			   (!K.gsi[s].bound || K.gsi[s].fd == vp->vec[v].fd),
			   "vector %d %s, its irqfd %s", v, masked ? "masked" : "unmasked",
			   K.gsi[s].bound ? "bound" : "unbound");
		FUZZ_CHECK(masked || (K.gsi[s].addr == addr && K.gsi[s].data == data),
			   "vector %d: message %#llx/%#x, route %#llx/%#x", v,
			   (unsigned long long)addr, data, (unsigned long long)K.gsi[s].addr,
			   K.gsi[s].data);
	}
}

static void check_bus_order(const struct bus *b)
{
	for (int i = 0; i < b->nr; i++)
		FUZZ_CHECK(b->range[i]->len && (i + 1 == b->nr ||
			   b->range[i]->base + b->range[i]->len <= b->range[i + 1]->base),
			   "%s bus: range %d at %#llx+%#llx", b->name, i,
			   (unsigned long long)b->range[i]->base,
			   (unsigned long long)b->range[i]->len);
}

/* A function's BARs against the buses: registered exactly while mapped. */
static void check_bars(struct pci_device *d)
{
	uint16_t cmd = (uint16_t)pci__config_read(d, PCI_COMMAND, 2);

	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *b = &d->bar[i];
		struct bus *bus = b->type == PCI_BAR_IO ? &host->io_bus : &vm->mmio;
		uint64_t at = 0;
		bool mapped;
		int found = 0;

		if (b->type == PCI_BAR_NONE)
			continue;
		mapped = pci__bar_mapped(d, i, &at);
		for (int r = 0; r < bus->nr; r++) {
			if (bus->range[r]->ops != b->ops || bus->range[r]->dev != b->opaque)
				continue;
			found++;
			FUZZ_CHECK(mapped && bus->range[r]->base == at &&
				   bus->range[r]->len == b->size,
				   "%s BAR%u on the bus at %#llx+%#llx, mapped %d at %#llx",
				   d->name, i, (unsigned long long)bus->range[r]->base,
				   (unsigned long long)bus->range[r]->len, mapped,
				   (unsigned long long)at);
		}
		FUZZ_CHECK(found == mapped, "%s BAR%u mapped %d, on the bus %d times", d->name, i,
			   mapped, found);
		FUZZ_CHECK(!mapped || ((cmd & (b->type == PCI_BAR_IO ? PCI_COMMAND_IO :
					       PCI_COMMAND_MEMORY)) &&
				       at == pci__bar_address(d, i)),
			   "%s BAR%u decoded at %#llx: command %#x, register %#llx", d->name, i,
			   (unsigned long long)at, cmd, (unsigned long long)pci__bar_address(d, i));
	}
}

static void check_ids(struct pci_device *d, uint32_t ids)
{
	FUZZ_CHECK(pci__config_read(d, PCI_VENDOR_ID, 4) == ids, "%s: IDs %#x", d->name,
		   pci__config_read(d, PCI_VENDOR_ID, 4));
}

static void check_all(void)
{
	check_doorbells();
	check_msix();
	check_bus_order(&vm->pio);
	check_bus_order(&vm->mmio);
	check_bus_order(&host->io_bus);
	check_bars(&vp->pci);
	check_bars(&T.pci);
	check_ids(&host->bridge, PCI_HOST_BRIDGE_VENDOR | PCI_HOST_BRIDGE_DEVICE << 16);
	check_ids(&vp->pci, VPCI_VENDOR | (uint32_t)(VPCI_DEVICE_BASE + vdev.device_id) << 16);
	check_ids(&T.pci, 0x1234 | 0x5678 << 16);
}

/* ---- the guest ----------------------------------------------------------------------- */

static void pio(uint64_t port, uint8_t *data, uint32_t len, bool is_write)
{
	if (is_write)
		bus__write(&vm->pio, port, data, len);
	else
		bus__read(&vm->pio, port, data, len);
}

/* What KVM does with an MMIO access: a write of the doorbell's width at
 * a doorbell signals its eventfd in the kernel; the rest exits to vmm. */
static void mmio(uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	uint64_t one = 1;

	if (!is_write) {
		bus__read(&vm->mmio, addr, data, len);
		return;
	}
	for (int i = 0; i < MAX_IOEV; i++) {
		if (K.ioev[i].live && K.ioev[i].addr == addr && len == 2) {
			FUZZ_CHECK(write(K.ioev[i].fd, &one, sizeof(one)) == sizeof(one),
				   "doorbell eventfd: %s", strerror(errno));
			return;
		}
	}
	bus__write(&vm->mmio, addr, data, len);
}

/* A config access as Linux's pci_conf1_read/write makes it. */
static void cfg(unsigned slot, uint8_t reg, uint8_t *data, uint32_t len, bool is_write)
{
	uint32_t a = 0x80000000u | slot << 11 | (reg & 0xfcu);

	bus__write(&vm->pio, PCI_CONFIG_ADDRESS_PORT, (const uint8_t *)&a, 4);
	pio(PCI_CONFIG_DATA_PORT + (reg & 3u), data, len, is_write);
}

static uint64_t bar_at(struct pci_device *d, unsigned bar, uint64_t off)
{
	return pci__bar_address(d, bar) + off;
}

static void guest_access(unsigned base, uint8_t off, uint8_t *data, uint32_t len, bool is_write)
{
	static const uint16_t ports[] = {
		[B_CF8] = PCI_CONFIG_ADDRESS_PORT, [B_CFC] = PCI_CONFIG_DATA_PORT,
		[B_UART] = UART8250_COM1_BASE, [B_I8042] = I8042_DATA_PORT, [B_RTC] = RTC_PORT,
		[B_ACPI] = X86_ACPI_PM1A_EVT_PORT, [B_IOWIN] = X86_PCI_IO_START, [B_PORT] = 0,
	};
	static const unsigned slots[] = { [B_CFG0] = 0, [B_CFG1] = 1, [B_CFG2] = T_SLOT,
					  [B_CFG31] = 31 };
	struct pci_device *v = &vp->pci;
	uint32_t plen = MIN(len, 4u);
	uint64_t a;

	switch (base) {
	case B_CFG0: case B_CFG1: case B_CFG2: case B_CFG31:
		cfg(slots[base], off, data, plen, is_write);
		return;
	case B_TIO: pio(bar_at(&T.pci, 0, off), data, plen, is_write); return;
	case B_TIO2: pio(bar_at(&T.pci, 4, off), data, plen, is_write); return;
	case B_COMMON: a = bar_at(v, BAR_VIRTIO, OFF_COMMON + off); break;
	case B_ISR: a = bar_at(v, BAR_VIRTIO, OFF_ISR + off); break;
	case B_DEVCFG: a = bar_at(v, BAR_VIRTIO, OFF_DEVICE + off); break;
	case B_NOTIFY: a = bar_at(v, BAR_VIRTIO, OFF_NOTIFY + off); break;
	case B_MSIX: a = bar_at(v, BAR_MSIX, off); break;
	case B_PBA: a = bar_at(v, BAR_MSIX, MSIX_PBA_OFFSET + off); break;
	case B_TMEM32: a = bar_at(&T.pci, 1, off); break;
	case B_TMEM64: a = bar_at(&T.pci, 2, off); break;
	case B_HOLE: a = X86_PCI_MMIO_START + ((uint64_t)off << 12); break;
	case B_ECAM:	/* slot 0, 1, the test function's or 31; registers 0..0x1f8 */
		a = X86_PCI_ECAM_BASE + ((uint64_t)slots[B_CFG0 + (off >> 6)] << 15) +
		    ((off & 0x3fu) << 3);
		break;
	default:
		pio(ports[base] + off, data, plen, is_write);
		return;
	}
	mmio(a, data, len, is_write);
}

/* SP_BAR: u8 bits 0: the function (virtio-pci or test), 1-3 the BAR
 * register; u8 the address, from bar_addrs[]. */
static void sp_bar(struct fuzz_in *in)
{
	uint8_t sel = fin_u8(in);
	uint32_t v = bar_addrs[fin_u8(in) % ARRAY_SIZE(bar_addrs)];

	cfg(sel & 1 ? T_SLOT : 1, (uint8_t)(PCI_BASE_ADDRESS_0 + 4 * ((sel >> 1) % PCI_NR_BARS)),
	    (uint8_t *)&v, 4, true);
}

/* SP_DRIVER: a driver operation on queue qi's rings, laid out where
 * fuzz_guest.h puts them and sized as the queue is (256 until enabled). */
static void driver_op(struct fuzz_in *in)
{
	unsigned qi = fin_u8(in) % (unsigned)vdev.nr_queues;
	int op = fin_u8(in) % FG_OP_NR;
	uint16_t size = vdev.vq[qi].enabled ? vdev.vq[qi].size : 256;

	if (fgq[qi].size != size) {   /* (re)sized: go on from the ring's index */
		const uint16_t *idx;

		fg_queue_default(&fgq[qi], (int)qi, size);
		idx = fg_ptr(&g, fgq[qi].avail + 2, 2);
		fgq[qi].avail_idx = idx ? le16toh(*idx) : 0;
	}
	fg_driver_op(&g, &fgq[qi], op, in);
}

static void device_event(int sp, struct fuzz_in *in)
{
	const uint8_t *p;
	uint8_t b;
	size_t n;

	switch (sp) {
	case SP_SIGNAL:
		b = fin_u8(in);
		pthread_mutex_lock(&vdev.lock);
		if (b & 0x40) {
			if (!D.raised_nr)
				dev_raise(&vdev, "fuzz");
		} else if (b & 0x80) {
			virtio_dev__signal_config(&vdev);
		} else if (vdev.vq[b % vdev.nr_queues].enabled) {
			/* a completion the driver here does not track */
			virtqueue__push(&vdev.vq[b % vdev.nr_queues], 0, 0);
			virtio_dev__signal_queue(&vdev, b % vdev.nr_queues);
		}
		pthread_mutex_unlock(&vdev.lock);
		break;
	case SP_PUMP:
		fake_loop_pump(-1, 0, 4);
		break;
	case SP_DRIVER:
		driver_op(in);
		break;
	case SP_UART_RX:
		n = fin_bytes(in, &p, fin_u8(in));
		if (n)
			uart8250__receive(uart, p, n);
		break;
	case SP_INTX:
		pci__set_irq(&T.pci, fin_u8(in) & 1);
		break;
	case SP_MODE:
		b = fin_u8(in);
		K.refuse_ioev = b & 1;
		D.refuse_features = b & 2;
		D.refuse_queue = b & 4;
		break;
	case SP_PWRBTN:
		acpi_pm__power_button(pm);
		break;
	case SP_BAR:
		sp_bar(in);
		break;
	}
}

/* The set-up byte: bits 0-2 queues - 1, 3-5 log2 of their size limit
 * (1..128, or 256 for 0), bit 6 a 64-bit window for 64-bit BARs. */
static void platform_create(uint8_t b)
{
	struct pci_host_config hc = {
		.pio = &vm->pio, .mmio = &vm->mmio,
		.mmio32_base = X86_PCI_MMIO_START, .mmio32_end = X86_PCI_MMIO_END,
		.mmio64_base = b & 0x40 ? 0x8000000000ULL : 0,
		.mmio64_end = b & 0x40 ? 0x10000000000ULL : 0,
		.io_base = X86_PCI_IO_START, .io_end = X86_PCI_IO_END,
		.ecam_base = X86_PCI_ECAM_BASE,
		.ops = &host_ops,
	};
	unsigned lim = (b >> 3) & 7;

	if (bus__init(&vm->pio, "pio") || bus__init(&vm->mmio, "mmio"))
		abort();
	uart = uart8250__create(&uart_ops, NULL);
	kbc = i8042__create(&kbc_ops, NULL);
	rtc = rtc__create();
	pm = acpi_pm__create(&pm_ops, NULL, ACPI_S5_SLP_TYP);
	if (!uart || !kbc || !rtc || !pm ||
	    bus__register(&vm->pio, UART8250_COM1_BASE, UART8250_NR_REGS, &uart8250__bus_ops,
			  uart) ||
	    i8042__register(kbc, &vm->pio) || rtc__register(rtc, &vm->pio) ||
	    acpi_pm__register(pm, &vm->pio, X86_ACPI_PM1A_EVT_PORT, X86_ACPI_PM1A_CNT_PORT))
		abort();
	host = pci__create(&hc);
	vdev = (struct virtio_dev){
		.name = "virtio-fuzz", .device_id = 42, .ops = &dev_ops,
		.nr_queues = (b & 7) + 1, .queue_max_size = (uint16_t)(lim ? 1u << lim : 256),
	};
	vp = host ? virtio_pci__create(&(struct vm_services){ .mem = &vm->mem, .loop = &vm->loop,
							      .pci = host, .irq = &fake_irq_ops },
				       &vdev) : NULL;
	if (!vp)
		abort();
	t_create();
}

static void platform_destroy(void)
{
	/* vm__destroy()'s order: the functions, then the host. */
	virtio_pci__free(vp);
	pci__unregister_device(&T.pci);
	pci__free(host);
	pthread_mutex_destroy(&vdev.lock);
	for (int i = 0; i < MAX_IOEV; i++)
		FUZZ_CHECK(!K.ioev[i].live, "a doorbell left at %#llx",
			   (unsigned long long)K.ioev[i].addr);
	for (int i = 0; i < MAX_GSI; i++)
		FUZZ_CHECK(!K.gsi[i].bound, "irqfd of GSI %d left bound", GSI_BASE + i);
	uart8250__free(uart);
	i8042__free(kbc);
	rtc__free(rtc);
	acpi_pm__free(pm);
	bus__destroy(&vm->pio);
	bus__destroy(&vm->mmio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	fg_reset(&g);
	memset(&K, 0, sizeof(K));
	memset(&D, 0, sizeof(D));
	memset(line_level, 0, sizeof(line_level));
	memset(fgq, 0, sizeof(fgq));
	powered_off = false;
	platform_create(fin_u8(&in));
	check_all();
	while (in.n) {
		uint8_t c = fin_u8(&in), buf[8] = { 0 };
		unsigned base = c & 0x1f, len = 1u << ((c >> 5) & 3);
		bool is_write = c & 0x80;
		uint8_t off;

		if (base >= BASES) {
			if (base < SP_NR)
				device_event((int)base, &in);
		} else {
			off = fin_u8(&in);
			if (is_write)
				for (unsigned i = 0; i < len; i++)
					buf[i] = fin_u8(&in);
			guest_access(base, off, buf, len, is_write);
		}
		check_all();
	}
	platform_destroy();
	return 0;
}

/* ---- seeds ------------------------------------------------------------------------------ */

static void op(struct fuzz_out *o, unsigned base, unsigned len, bool is_write, uint8_t off,
	       uint64_t val)
{
	unsigned code = len == 8 ? 3 : len == 4 ? 2 : len == 2 ? 1 : 0;

	fout_u8(o, (uint8_t)(base | code << 5 | (is_write ? 0x80 : 0)));
	fout_u8(o, off);
	if (is_write)
		fout_le(o, val, (int)len);
}

static void wr(struct fuzz_out *o, unsigned base, uint8_t off, uint64_t val, unsigned len)
{
	op(o, base, len, true, off, val);
}

static void rd(struct fuzz_out *o, unsigned base, uint8_t off, unsigned len)
{
	op(o, base, len, false, off, 0);
}

static void ev(struct fuzz_out *o, unsigned sp, int nargs, ...)
{
	va_list ap;

	fout_u8(o, (uint8_t)sp);
	va_start(ap, nargs);
	for (int i = 0; i < nargs; i++)
		fout_u8(o, (uint8_t)va_arg(ap, int));
	va_end(ap);
}

#define COMMON(f) offsetof(struct virtio_pci_common_cfg, f)

/* Linux's enumeration: IDs of every slot, BAR sizing with decoding off,
 * the capability list. */
static void seed_enumerate(struct fuzz_out *o)
{
	for (unsigned s = B_CFG0; s <= B_CFG31; s++)
		rd(o, s, PCI_VENDOR_ID, 4);
	for (unsigned s = B_CFG1; s <= B_CFG2; s++) {
		wr(o, s, PCI_COMMAND, 0, 2);
		for (uint8_t bar = PCI_BASE_ADDRESS_0; bar <= PCI_BASE_ADDRESS_5; bar += 4) {
			rd(o, s, bar, 4);
			wr(o, s, bar, 0xffffffff, 4);
			rd(o, s, bar, 4);
		}
		rd(o, s, PCI_CAPABILITY_LIST, 1);
		rd(o, s, 0x40, 4);
		rd(o, s, 0x50, 4);
	}
}

/* virtio_pci_modern's probe and virtio_blk-like bring-up with MSI-X:
 * config vector 0, queue 0 on vector 1, a chain kicked at the doorbell
 * and served; then masked, pending, unmasked; a BAR move; a reset. */
static void seed_virtio(struct fuzz_out *o, bool msix)
{
	static const uint16_t len[2] = { 64, 128 };

	wr(o, B_COMMON, COMMON(device_status), 0, 1);
	wr(o, B_COMMON, COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	wr(o, B_COMMON, COMMON(device_status),
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	wr(o, B_COMMON, COMMON(device_feature_select), 1, 4);
	rd(o, B_COMMON, COMMON(device_feature), 4);
	wr(o, B_COMMON, COMMON(guest_feature_select), 0, 4);
	/* without event-idx every completion interrupts (used_event stays 0) */
	wr(o, B_COMMON, COMMON(guest_feature),
	   (uint32_t)(offer & ~(F(0) | (msix ? F(VIRTIO_RING_F_EVENT_IDX) : 0))), 4);
	wr(o, B_COMMON, COMMON(guest_feature_select), 1, 4);
	wr(o, B_COMMON, COMMON(guest_feature), (uint32_t)(offer >> 32), 4);
	wr(o, B_COMMON, COMMON(device_status), 0x0b, 1);    /* FEATURES_OK */
	rd(o, B_COMMON, COMMON(device_status), 1);
	rd(o, B_DEVCFG, 0, 4);
	if (msix) {
		wr(o, B_CFG1, 0x42, 0xc000, 2);             /* enable, function mask */
		for (unsigned v = 0; v < 2; v++) {
			wr(o, B_MSIX, (uint8_t)(16 * v), 0xfee00000u, 4);
			wr(o, B_MSIX, (uint8_t)(16 * v + 4), 0, 4);
			wr(o, B_MSIX, (uint8_t)(16 * v + 8), 0x4041 + v, 4);
			wr(o, B_MSIX, (uint8_t)(16 * v + 12), 0, 4);
		}
		wr(o, B_CFG1, 0x42, 0x8000, 2);             /* function mask off */
		wr(o, B_COMMON, COMMON(msix_config), 0, 2);
		rd(o, B_COMMON, COMMON(msix_config), 2);
	}
	wr(o, B_COMMON, COMMON(queue_select), 0, 2);
	rd(o, B_COMMON, COMMON(queue_size), 2);
	wr(o, B_COMMON, COMMON(queue_size), 16, 2);
	if (msix)
		wr(o, B_COMMON, COMMON(queue_msix_vector), 1, 2);
	wr(o, B_COMMON, COMMON(queue_desc_lo), (uint32_t)FG_RING(0), 4);
	wr(o, B_COMMON, COMMON(queue_desc_hi), 0, 4);
	wr(o, B_COMMON, COMMON(queue_avail_lo), (uint32_t)FG_RING(0) + 0x1000, 4);
	wr(o, B_COMMON, COMMON(queue_avail_hi), 0, 4);
	wr(o, B_COMMON, COMMON(queue_used_lo), (uint32_t)FG_RING(0) + 0x2000, 4);
	wr(o, B_COMMON, COMMON(queue_used_hi), 0, 4);
	wr(o, B_COMMON, COMMON(queue_enable), 1, 2);
	rd(o, B_COMMON, COMMON(queue_notify_off), 2);
	wr(o, B_COMMON, COMMON(device_status), 0x0f, 1);    /* DRIVER_OK */
	for (int k = 0; k < 3; k++) {
		fout_u8(o, SP_DRIVER);
		fout_u8(o, 0);
		fg_seed_chain(o, FG_OP_CHAIN, -1, 2, 1, false, len);
		wr(o, B_NOTIFY, 0, 0, 2);                       /* the doorbell */
		ev(o, SP_PUMP, 0);
		rd(o, B_ISR, 0, 1);
		if (msix && k == 0)
			wr(o, B_MSIX, 16 + 12, 1, 4);           /* mask vector 1 */
		if (msix && k == 1) {
			rd(o, B_PBA, 0, 8);
			wr(o, B_MSIX, 16 + 12, 0, 4);           /* unmask: pending goes out */
		}
	}
	ev(o, SP_SIGNAL, 1, 0x80);                              /* config change */
	rd(o, B_COMMON, COMMON(config_generation), 1);
	/* BAR 0 moved, decoding off and on, a kick by MMIO exit (2 bytes at
	 * an odd place are no doorbell) */
	ev(o, SP_BAR, 2, 0, 5);
	wr(o, B_NOTIFY, 0, 0, 4);
	wr(o, B_CFG1, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
	wr(o, B_CFG1, PCI_COMMAND, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY, 2);
	wr(o, B_NOTIFY, 0, 0, 2);
	ev(o, SP_PUMP, 0);
	ev(o, SP_SIGNAL, 1, 0x40);                              /* NEEDS_RESET */
	rd(o, B_COMMON, COMMON(device_status), 1);
	wr(o, B_COMMON, COMMON(device_status), 0, 1);
}

/* The UART as Linux's 8250 autoconfig and startup see it; the i8042 as
 * i8042_controller_check/init do; the RTC; the ACPI power button and
 * S5; INTx of the test function; its BARs moved about. */
static void seed_legacy(struct fuzz_out *o)
{
	static const uint8_t uart[][2] = {
		{ 7, 0xa5 }, { 3, 0x80 }, { 0, 0x01 }, { 1, 0x00 }, { 3, 0x03 }, { 2, 0xc7 },
		{ 4, 0x10 }, { 0, 'x' }, { 4, 0x0b }, { 1, 0x0f }, { 0, 'y' },
	};
	static const uint8_t kbc[][2] = {
		{ 4, 0xaa }, { 4, 0x20 }, { 4, 0x60 }, { 0, 0x47 }, { 4, 0xa8 }, { 4, 0xd4 },
		{ 0, 0xf4 }, { 0, 0xff }, { 4, 0xfe },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(uart); i++) {
		wr(o, B_UART, uart[i][0], uart[i][1], 1);
		rd(o, B_UART, 2, 1);
		rd(o, B_UART, 5, 1);
	}
	fout_u8(o, SP_UART_RX);
	fout_u8(o, 4);
	fout_bytes(o, "ls\r\n", 4);
	rd(o, B_UART, 2, 1);
	rd(o, B_UART, 0, 1);
	for (unsigned i = 0; i < ARRAY_SIZE(kbc); i++) {
		wr(o, B_I8042, kbc[i][0], kbc[i][1], 1);
		rd(o, B_I8042, 4, 1);
		rd(o, B_I8042, 0, 1);
	}
	for (uint8_t r = 0; r < 14; r++) {
		wr(o, B_RTC, 0, r, 1);
		rd(o, B_RTC, 1, 1);
	}
	wr(o, B_RTC, 0, 0x0b, 1);
	wr(o, B_RTC, 1, 0x06, 1);
	wr(o, B_ACPI, 2, ACPI_PM1_PWRBTN_STS, 2);              /* enable */
	ev(o, SP_PWRBTN, 0);
	rd(o, B_ACPI, 0, 4);
	wr(o, B_ACPI, 0, ACPI_PM1_PWRBTN_STS, 2);              /* clear */
	ev(o, SP_INTX, 1, 1);
	wr(o, B_CFG2, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE | 3, 2);
	ev(o, SP_INTX, 1, 0);
	wr(o, B_TIO, 4, 0x12345678, 4);
	rd(o, B_TIO2, 0x10, 2);
	wr(o, B_TMEM32, 8, 0xdeadbeefcafef00dULL, 8);
	rd(o, B_TMEM64, 8, 8);
	wr(o, B_CFG2, 0x44, 0x12345678, 4);                    /* the capability */
	rd(o, B_CFG2, 0x46, 2);
	ev(o, SP_BAR, 2, 1 | 1 << 1, 3);                        /* BAR1 onto virtio's BAR 2 */
	ev(o, SP_BAR, 2, 1 | 3 << 1, 1);                        /* BAR3: 64-bit upper half */
	ev(o, SP_BAR, 2, 1 | 0 << 1, 10);                       /* BAR0 past the I/O window */
	ev(o, SP_BAR, 2, 1 | 4 << 1, 8);                        /* BAR4 onto BAR0 */
	rd(o, B_IOWIN, 0, 4);
	rd(o, B_HOLE, 8, 4);
	rd(o, B_ECAM, 2 << 6 | 0, 4);                           /* ECAM: IDs of the test function */
	wr(o, B_ECAM, 2 << 6 | 2, 0xffffffffu, 4);              /* ... its BAR0 sized through ECAM */
	rd(o, B_ECAM, 2 << 6 | 2, 4);
	rd(o, B_ECAM, 2 << 6 | 0x30, 4);                        /* past 0xff: zero */
	wr(o, B_ACPI, 4, 5 << 10 | 1 << 13, 2);                /* S5: power off */
	wr(o, B_CF8, 1, 0x04, 1);                               /* 0xCF9: reset */
}

static void write_seeds(const char *dir)
{
	static struct fuzz_out o;

	fout_u8(&o, 0x01);        /* 2 queues of up to 256 */
	seed_enumerate(&o);
	fout_save(&o, dir, "enumerate");
	fout_u8(&o, 0x21);        /* 2 queues of up to 16 */
	seed_virtio(&o, true);
	fout_save(&o, dir, "virtio-msix");
	fout_u8(&o, 0x00);
	seed_virtio(&o, false);
	fout_save(&o, dir, "virtio-intx");
	fout_u8(&o, 0x47);        /* 8 queues, a 64-bit window */
	seed_legacy(&o);
	fout_save(&o, dir, "legacy");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz__seed_mode(write_seeds);
	log__verbosity = LOG_ERR;   /* guest violations are logged */
	fg_init(&g);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return 1;
	vm->mem = g.mem;          /* what virtio-pci's queues are checked against */
	return 0;
}
