/* pci_host.c — the PCI host bridge (see pci.h): device 00.0, the
 * configuration mechanism #1 ports and the ECAM window (both end in the
 * same locked config access), the I/O window for I/O BARs, slot and BAR
 * address assignment. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/pci_internal.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define CONFIG_ENABLE		0x80000000u
#define CONFIG_ADDRESS_MASK	0x80fffffcu	/* enable, bus, dev, fn, register */
#define RCR_RST_CPU		0x04

/* --- configuration mechanism #1 ------------------------------------------ */

/* The function at device 'dev', function 'fn' of bus 0, or NULL: only
 * function 0 exists. With the host lock held. */
static struct pci_device *function_at(struct pci_host *h, unsigned dev, unsigned fn)
{
	return fn == 0 && dev < PCI_NR_SLOTS ? h->dev[dev] : NULL;
}

/* The device CONFIG_ADDRESS selects, or NULL: bus 0 only. */
static struct pci_device *selected(struct pci_host *h)
{
	uint32_t a = h->config_address;

	if (!(a & CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0)
		return NULL;
	return function_at(h, (a >> 11) & 0x1f, (a >> 8) & 7);
}

/* 0xCF8..0xCFB: only whole-dword accesses reach CONFIG_ADDRESS; a byte
 * write to 0xCF9 is the reset control register. */
static void addr_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct pci_host *h = dev;

	memset(data, 0xff, len);
	if (offset == 0 && len == 4) {
		pthread_mutex_lock(&h->lock);
		pci_put_le(data, h->config_address, 4);
		pthread_mutex_unlock(&h->lock);
	}
}

static void addr_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct pci_host *h = dev;

	if (offset == 0 && len == 4) {
		pthread_mutex_lock(&h->lock);
		h->config_address = pci_get_le(data, 4) & CONFIG_ADDRESS_MASK;
		pthread_mutex_unlock(&h->lock);
	} else if (offset == PCI_RESET_CONTROL_PORT - PCI_CONFIG_ADDRESS_PORT && len == 1 &&
		   (data[0] & RCR_RST_CPU) && h->cfg.ops && h->cfg.ops->reset) {
		h->cfg.ops->reset(h->cfg.opaque);
	}
}

static void data_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct pci_host *h = dev;
	struct pci_device *d;
	uint32_t v = 0xffffffffu;

	pthread_mutex_lock(&h->lock);
	d = selected(h);
	if (d && offset < 4 && len <= 4)
		v = pci__cfg_read_locked(d, (h->config_address & 0xfc) + (unsigned)offset, len);
	pthread_mutex_unlock(&h->lock);
	memset(data, 0xff, len);
	pci_put_le(data, v, MIN(len, 4u));
}

static void data_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct pci_host *h = dev;
	struct pci_device *d;

	if (offset >= 4 || len > 4)
		return;
	pthread_mutex_lock(&h->lock);
	d = selected(h);
	if (d)
		pci__cfg_write_locked(d, (h->config_address & 0xfc) + (unsigned)offset,
			  pci_get_le(data, len), len);
	pthread_mutex_unlock(&h->lock);
}

static const struct bus_dev_ops addr_ops = { .read = addr_read, .write = addr_write };
static const struct bus_dev_ops data_ops = { .read = data_read, .write = data_write };

/* --- ECAM (PCIe enhanced configuration access) --------------------------
 * Bus 0 only: offset = dev << 15 | fn << 12 | register. Config space is
 * 256 bytes, so registers 0x100..0xfff of a present function read as zero
 * and ignore writes (no extended capabilities); an absent function reads
 * all ones. Accesses are 1, 2 or 4 bytes, naturally aligned; others read
 * all ones and are dropped, as a root complex would abort them. */

static bool ecam_access_ok(uint64_t offset, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && !(offset & (len - 1)) &&
	       offset < PCI_ECAM_SIZE;
}

static void ecam_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct pci_host *h = dev;
	unsigned reg = (unsigned)offset & 0xfff;
	struct pci_device *d;
	uint32_t v = 0xffffffffu;

	if (ecam_access_ok(offset, len)) {
		pthread_mutex_lock(&h->lock);
		d = function_at(h, (unsigned)(offset >> 15) & 0x1f, (unsigned)(offset >> 12) & 7);
		if (d)
			v = reg < PCI_CFG_SIZE ? pci__cfg_read_locked(d, reg, len) : 0;
		pthread_mutex_unlock(&h->lock);
	}
	memset(data, 0xff, len);
	pci_put_le(data, v, MIN(len, 4u));
}

static void ecam_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct pci_host *h = dev;
	unsigned reg = (unsigned)offset & 0xfff;
	struct pci_device *d;

	if (!ecam_access_ok(offset, len) || reg >= PCI_CFG_SIZE)
		return;
	pthread_mutex_lock(&h->lock);
	d = function_at(h, (unsigned)(offset >> 15) & 0x1f, (unsigned)(offset >> 12) & 7);
	if (d)
		pci__cfg_write_locked(d, reg, pci_get_le(data, len), len);
	pthread_mutex_unlock(&h->lock);
}

static const struct bus_dev_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

/* The I/O window: forward to the host's own bus of I/O BARs. */
static void io_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct pci_host *h = dev;

	bus__read(&h->io_bus, h->cfg.io_base + offset, data, len);
}

static void io_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct pci_host *h = dev;

	bus__write(&h->io_bus, h->cfg.io_base + offset, data, len);
}

static const struct bus_dev_ops io_window_ops = { .read = io_read, .write = io_write };

/* --- the host ------------------------------------------------------------- */

struct pci_host *pci__create(const struct pci_host_config *cfg)
{
	static const struct pci_device_info bridge = {
		.vendor = PCI_HOST_BRIDGE_VENDOR,
		.device = PCI_HOST_BRIDGE_DEVICE,
		.class_code = PCI_HOST_BRIDGE_CLASS,
	};
	struct pci_host *h;
	int err;

	/* Without a port-I/O bus there is neither mechanism #1 nor an I/O
	 * window (so no I/O BAR is ever assigned), and ECAM is the only way
	 * in. */
	if (!cfg->mmio || (!cfg->pio && !cfg->ecam_base) ||
	    (!cfg->pio && cfg->io_end != cfg->io_base) ||
	    cfg->mmio32_end < cfg->mmio32_base ||
	    cfg->mmio32_end > 4 * GiB || cfg->mmio64_end < cfg->mmio64_base ||
	    cfg->io_end < cfg->io_base || cfg->io_end > 0x10000 ||
	    cfg->ecam_base % PCI_ECAM_SIZE || cfg->ecam_base + PCI_ECAM_SIZE < cfg->ecam_base) {
		pr_err("pci: bad host configuration");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		pr_err("pci: out of memory");
		return NULL;
	}
	h->cfg = *cfg;
	h->mmio32_next = cfg->mmio32_base;
	h->mmio64_next = cfg->mmio64_base;
	h->io_next = cfg->io_base;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->state_lock, NULL);
	err = bus__init(&h->io_bus, "pci-io");
	if (err) {
		pr_err("pci: I/O window bus: %s", strerror(-err));
		pthread_mutex_destroy(&h->lock);
		pthread_mutex_destroy(&h->state_lock);
		free(h);
		return NULL;
	}
	pci__device_init(&h->bridge, "host bridge", &bridge);
	pci_put_le(&h->bridge.cfg[PCI_COMMAND], PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	h->bridge.host = h;
	h->bridge.slot = 0;
	h->dev[0] = &h->bridge;

	if (cfg->pio) {
		err = bus__register(cfg->pio, PCI_CONFIG_ADDRESS_PORT, 4, &addr_ops, h);
		h->addr_registered = !err;
		if (!err)
			err = bus__register(cfg->pio, PCI_CONFIG_DATA_PORT, 4, &data_ops, h);
		h->data_registered = h->addr_registered && !err;
		if (!err && cfg->io_end > cfg->io_base) {
			err = bus__register(cfg->pio, cfg->io_base, cfg->io_end - cfg->io_base,
					    &io_window_ops, h);
			h->io_registered = !err;
		}
		if (err) {
			pr_err("pci: cannot claim ports: %s", strerror(-err));
			pci__free(h);
			return NULL;
		}
	}
	if (cfg->ecam_base) {
		err = bus__register(cfg->mmio, cfg->ecam_base, PCI_ECAM_SIZE, &ecam_ops, h);
		h->ecam_registered = !err;
		if (err) {
			pr_err("pci: cannot claim the ECAM window at %#llx: %s",
			       (unsigned long long)cfg->ecam_base, strerror(-err));
			pci__free(h);
			return NULL;
		}
	}
	return h;
}

void pci__free(struct pci_host *h)
{
	if (!h)
		return;
	for (int i = 0; i < PCI_NR_SLOTS; i++) {
		if (h->dev[i]) {
			pci__bars_unmap(h->dev[i]);
			h->dev[i]->host = NULL;
		}
	}
	if (h->ecam_registered)
		bus__unregister(h->cfg.mmio, h->cfg.ecam_base);
	if (h->io_registered)
		bus__unregister(h->cfg.pio, h->cfg.io_base);
	if (h->data_registered)
		bus__unregister(h->cfg.pio, PCI_CONFIG_DATA_PORT);
	if (h->addr_registered)
		bus__unregister(h->cfg.pio, PCI_CONFIG_ADDRESS_PORT);
	bus__destroy(&h->io_bus);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->state_lock);
	free(h);
}

static int alloc_range(uint64_t *next, uint64_t end, uint64_t size, uint64_t *addr)
{
	uint64_t a = ALIGN_UP(*next, size);

	if (a < *next || a + size < a || a + size > end)
		return -ENOSPC;
	*addr = a;
	*next = a + size;
	return 0;
}

static int bar_allocate(struct pci_host *h, struct pci_device *d, unsigned i)
{
	struct pci_bar *b = &d->bar[i];
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * i;
	uint32_t flags = d->cfg[reg] & (b->type == PCI_BAR_IO ? 0x3 : 0xf);
	uint64_t addr;
	int err;

	if (b->type == PCI_BAR_IO)
		err = alloc_range(&h->io_next, h->cfg.io_end, b->size, &addr);
	else if (b->type == PCI_BAR_MEM64 && h->cfg.mmio64_end > h->cfg.mmio64_base)
		err = alloc_range(&h->mmio64_next, h->cfg.mmio64_end, b->size, &addr);
	else
		err = alloc_range(&h->mmio32_next, h->cfg.mmio32_end, b->size, &addr);
	if (err)
		return err;
	pci_put_le(&d->cfg[reg], (uint32_t)addr | flags, 4);
	if (b->type == PCI_BAR_MEM64)
		pci_put_le(&d->cfg[reg + 4], (uint32_t)(addr >> 32), 4);
	return 0;
}

int pci__register_device(struct pci_host *h, struct pci_device *d)
{
	uint64_t mmio32, mmio64, io;
	uint16_t cmd = 0;
	int slot, err = 0;

	pthread_mutex_lock(&h->lock);
	mmio32 = h->mmio32_next;
	mmio64 = h->mmio64_next;
	io = h->io_next;
	if (d->host) {
		err = -EEXIST;
		goto out;
	}
	for (slot = 1; slot < PCI_NR_SLOTS && h->dev[slot]; slot++)
		;
	if (slot == PCI_NR_SLOTS) {
		err = -ENOSPC;
		goto out;
	}
	for (unsigned i = 0; i < PCI_NR_BARS && !err; i++) {
		if (d->bar[i].type == PCI_BAR_NONE)
			continue;
		err = bar_allocate(h, d, i);
		cmd |= d->bar[i].type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	}
	if (err) {
		pr_err("pci: no room for the BARs of %s", d->name);
		goto undo;
	}
	pci_put_le(&d->cfg[PCI_COMMAND], pci_get_le(&d->cfg[PCI_COMMAND], 2) | cmd, 2);
	if (d->cfg[PCI_INTERRUPT_PIN]) {
		int irq = pci__intx_irq(h, (unsigned)slot, d->cfg[PCI_INTERRUPT_PIN]);

		/* 0xff: "unknown or not connected" (PCI 3.0, 6.2.4) */
		d->cfg[PCI_INTERRUPT_LINE] = irq < 0 ? 0xff : (uint8_t)irq;
	}
	d->host = h;
	d->slot = slot;
	h->dev[slot] = d;
	for (unsigned i = 0; i < PCI_NR_BARS; i++) {
		if (d->bar[i].type != PCI_BAR_NONE) {
			pci__bar_update(d, i);
			if (!d->bar[i].mapped)
				err = -EEXIST;
		}
	}
	if (err) {
		pci__bars_unmap(d);
		h->dev[slot] = NULL;
		d->host = NULL;
		d->slot = -1;
		goto undo;
	}
	pci__intx_update(d);
	pthread_mutex_unlock(&h->lock);
	return slot;
undo:
	h->mmio32_next = mmio32;
	h->mmio64_next = mmio64;
	h->io_next = io;
out:
	pthread_mutex_unlock(&h->lock);
	return err;
}

void pci__unregister_device(struct pci_device *d)
{
	struct pci_host *h = d->host;

	if (!h || d == &h->bridge)
		return;
	pthread_mutex_lock(&h->lock);
	pci__bars_unmap(d);
	pci__set_irq(d, 0);	/* a line it left asserted would stay so */
	h->dev[d->slot] = NULL;
	d->host = NULL;
	d->slot = -1;
	pthread_mutex_unlock(&h->lock);
}
