/* pci.c — a PCI device's side (see pci.h): config space with write
 * masks, BAR registers and their decoding on the buses, the capability
 * list, INTx. The host bridge and mechanism #1 are in pci_host.c. */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "devices/pci/pci_internal.h"
#include "vmm/log.h"
#include "vmm/util.h"

/* Command bits a guest may change; the rest read as zero. */
#define COMMAND_WMASK (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
		       PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

static bool overlaps(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
	return a < b + blen && b < a + alen;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* One access: 1, 2 or 4 bytes inside one dword of the 256. */
static bool access_ok(unsigned offset, unsigned len)
{
	return (len == 1 || len == 2 || len == 4) && offset < PCI_CFG_SIZE &&
	       (offset & 3) + len <= 4;
}

void pci__device_init(struct pci_device *d, const char *name,
		      const struct pci_device_info *info)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->slot = -1;
	d->cap_end = 0x40;
	pci_put_le(&d->cfg[PCI_VENDOR_ID], info->vendor, 2);
	pci_put_le(&d->cfg[PCI_DEVICE_ID], info->device, 2);
	d->cfg[PCI_REVISION_ID] = info->revision;
	pci_put_le(&d->cfg[PCI_CLASS_PROG], info->class_code & 0xffffff, 3);
	d->cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	pci_put_le(&d->cfg[PCI_SUBSYSTEM_VENDOR_ID], info->subsys_vendor, 2);
	pci_put_le(&d->cfg[PCI_SUBSYSTEM_ID], info->subsys_id, 2);
	d->cfg[PCI_INTERRUPT_PIN] = info->irq_pin <= 4 ? info->irq_pin : 0;

	pci_put_le(&d->wmask[PCI_COMMAND], COMMAND_WMASK, 2);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	d->wmask[PCI_LATENCY_TIMER] = 0xff;
	d->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci__set_bar(struct pci_device *d, unsigned bar, enum pci_bar_type type,
		 uint64_t size, const struct bus_dev_ops *ops, void *opaque)
{
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * bar;
	uint64_t sizemask = ~(size - 1);
	uint32_t flags;

	if (d->host)
		return -EBUSY;
	if (bar >= PCI_NR_BARS || !ops || !is_pow2(size))
		return -EINVAL;
	if (d->bar[bar].type != PCI_BAR_NONE ||
	    (bar > 0 && d->bar[bar - 1].type == PCI_BAR_MEM64))
		return -EBUSY;
	switch (type) {
	case PCI_BAR_IO:
		if (size < 4 || size > 256)
			return -EINVAL;
		flags = PCI_BASE_ADDRESS_SPACE_IO;
		pci_put_le(&d->wmask[reg], (uint32_t)sizemask & PCI_BASE_ADDRESS_IO_MASK, 4);
		break;
	case PCI_BAR_MEM32:
		if (size < 16 || size > 2 * GiB)
			return -EINVAL;
		flags = PCI_BASE_ADDRESS_MEM_TYPE_32;
		pci_put_le(&d->wmask[reg], (uint32_t)sizemask & PCI_BASE_ADDRESS_MEM_MASK, 4);
		break;
	case PCI_BAR_MEM64:
		if (size < 16 || size > (1ULL << 63) || bar + 1 >= PCI_NR_BARS ||
		    d->bar[bar + 1].type != PCI_BAR_NONE)
			return -EINVAL;
		flags = PCI_BASE_ADDRESS_MEM_TYPE_64;
		pci_put_le(&d->wmask[reg], (uint32_t)sizemask & PCI_BASE_ADDRESS_MEM_MASK, 4);
		pci_put_le(&d->wmask[reg + 4], (uint32_t)(sizemask >> 32), 4);
		break;
	default:
		return -EINVAL;
	}
	pci_put_le(&d->cfg[reg], flags, 4);
	d->bar[bar] = (struct pci_bar){ .type = type, .size = size, .ops = ops,
					.opaque = opaque };
	return 0;
}

int pci__add_capability(struct pci_device *d, const void *cap, size_t len)
{
	unsigned off = ALIGN_UP(d->cap_end, 4u);

	if (d->host)
		return -EBUSY;
	if (!cap || len < 2)
		return -EINVAL;
	if (d->nr_caps == PCI_MAX_CAPS || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(&d->cfg[off], cap, len);
	d->cfg[off + PCI_CAP_LIST_NEXT] = 0;
	if (d->nr_caps)
		d->cfg[d->cap[d->nr_caps - 1].offset + PCI_CAP_LIST_NEXT] = (uint8_t)off;
	else
		d->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->cap[d->nr_caps++] = (struct pci_cap){ .offset = (uint8_t)off, .len = (uint8_t)len };
	d->cap_end = off + (unsigned)len;
	return (int)off;
}

int pci__set_capability_ops(struct pci_device *d, int offset,
			    const struct pci_cap_ops *ops, void *opaque)
{
	if (d->host)
		return -EBUSY;
	for (int i = 0; i < d->nr_caps; i++) {
		if (d->cap[i].offset == offset) {
			d->cap[i].ops = ops;
			d->cap[i].opaque = opaque;
			return 0;
		}
	}
	return -EINVAL;
}

int pci__set_device_ops(struct pci_device *d, const struct pci_device_ops *ops, void *opaque)
{
	if (d->host)
		return -EBUSY;
	d->ops = ops;
	d->ops_opaque = opaque;
	return 0;
}

int pci__set_writable(struct pci_device *d, unsigned offset, const void *mask, size_t len)
{
	if (d->host)
		return -EBUSY;
	if (offset < 0x40 || offset > PCI_CFG_SIZE || len > PCI_CFG_SIZE - offset)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		d->wmask[offset + i] |= ((const uint8_t *)mask)[i];
	return 0;
}

/* --- BAR decoding ------------------------------------------------------ */

static struct bus *bar_bus(struct pci_device *d, unsigned i)
{
	return d->bar[i].type == PCI_BAR_IO ? &d->host->io_bus : d->host->cfg.mmio;
}

static uint64_t bar_address(const struct pci_device *d, unsigned i)
{
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * i;
	uint64_t a = pci_get_le(&d->cfg[reg], 4) & pci_get_le(&d->wmask[reg], 4);

	if (d->bar[i].type == PCI_BAR_MEM64)
		a |= (uint64_t)pci_get_le(&d->cfg[reg + 4], 4) << 32;
	return a;
}

/* Whether BAR i should be decoded now, and at which address: its decode
 * bit is on, it is not holding a sizing pattern (all writable bits set,
 * in either half of a 64-bit BAR), and the address is usable. */
static bool bar_target(const struct pci_device *d, unsigned i, uint64_t *addr)
{
	const struct pci_bar *b = &d->bar[i];
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * i;
	uint16_t cmd = (uint16_t)pci_get_le(&d->cfg[PCI_COMMAND], 2);
	uint32_t lo = pci_get_le(&d->cfg[reg], 4), lo_mask = pci_get_le(&d->wmask[reg], 4);
	uint64_t a;

	if (!(cmd & (b->type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return false;
	if (lo_mask && (lo & lo_mask) == lo_mask)
		return false;
	if (b->type == PCI_BAR_MEM64) {
		uint32_t hi = pci_get_le(&d->cfg[reg + 4], 4);
		uint32_t hi_mask = pci_get_le(&d->wmask[reg + 4], 4);

		if ((hi & hi_mask) == hi_mask)
			return false;
	}
	a = bar_address(d, i);
	if (!a || a + b->size < a)
		return false;
	if (b->type == PCI_BAR_IO &&
	    (a < d->host->cfg.io_base || a + b->size > d->host->cfg.io_end))
		return false;
	*addr = a;
	return true;
}

static void state_lock(struct pci_device *d)
{
	if (d->host)
		pthread_mutex_lock(&d->host->state_lock);
}

static void state_unlock(struct pci_device *d)
{
	if (d->host)
		pthread_mutex_unlock(&d->host->state_lock);
}

static void set_mapped(struct pci_device *d, unsigned i, bool mapped, uint64_t addr)
{
	state_lock(d);
	d->bar[i].mapped = mapped;
	d->bar[i].mapped_addr = addr;
	state_unlock(d);
}

/* Take BAR i off its bus and tell the device (state already updated, so
 * the hook sees pci__bar_mapped() false). */
static void bar_unmap(struct pci_device *d, unsigned i)
{
	uint64_t old = d->bar[i].mapped_addr;

	bus__unregister(bar_bus(d, i), old);
	set_mapped(d, i, false, 0);
	if (d->ops && d->ops->bar_unmap)
		d->ops->bar_unmap(d, d->ops_opaque, i, old);
}

/* Bring BAR i's bus registration in line with its registers. The bus
 * calls are made without the state lock: a BAR handler running on another
 * vCPU may be waiting for it while holding the bus's read lock. The hooks
 * are called without it too, so they may ask pci__bar_mapped(). */
void pci__bar_update(struct pci_device *d, unsigned i)
{
	struct pci_bar *b = &d->bar[i];
	uint64_t addr = 0;
	bool want = bar_target(d, i, &addr);
	int err;

	if (b->mapped && (!want || b->mapped_addr != addr))
		bar_unmap(d, i);
	if (!want || b->mapped)
		return;
	err = bus__register(bar_bus(d, i), addr, b->size, b->ops, b->opaque);
	if (err) {
		pr_guest("pci %02x.0 %s: BAR%u at %#llx+%#llx not decoded: %s",
			d->slot, d->name, i, (unsigned long long)addr,
			(unsigned long long)b->size, strerror(-err));
		return;
	}
	set_mapped(d, i, true, addr);
	if (d->ops && d->ops->bar_map)
		d->ops->bar_map(d, d->ops_opaque, i, addr);
}

static void bars_update(struct pci_device *d)
{
	for (unsigned i = 0; i < PCI_NR_BARS; i++)
		if (d->bar[i].type != PCI_BAR_NONE)
			pci__bar_update(d, i);
}

void pci__bars_unmap(struct pci_device *d)
{
	for (unsigned i = 0; i < PCI_NR_BARS; i++)
		if (d->bar[i].mapped)
			bar_unmap(d, i);
}

/* --- INTx ---------------------------------------------------------------- */

/* With the state lock held; the line changes are made under it, so they
 * reach the platform in order. */
static void intx_update(struct pci_device *d)
{
	uint16_t cmd = (uint16_t)pci_get_le(&d->cfg[PCI_COMMAND], 2);
	uint8_t pin = d->cfg[PCI_INTERRUPT_PIN];
	int line, irq;

	if (d->irq_level)
		d->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		d->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	line = d->irq_level && !(cmd & PCI_COMMAND_INTX_DISABLE);
	if (!d->host || !pin || line == d->irq_out)
		return;
	d->irq_out = line;
	irq = pci__intx_irq(d->host, (unsigned)d->slot, pin);
	if (irq >= 0 && d->host->cfg.ops->set_irq)
		d->host->cfg.ops->set_irq(d->host->cfg.opaque, irq, line);
}

void pci__intx_update(struct pci_device *d)
{
	state_lock(d);
	intx_update(d);
	state_unlock(d);
}

uint16_t pci__requester_id(const struct pci_device *d)
{
	return d->host ? (uint16_t)(d->slot << 3) : 0;
}

int pci__intx_irq(const struct pci_host *h, unsigned slot, unsigned pin)
{
	int irq;

	if (pin < 1 || pin > 4 || slot >= PCI_NR_SLOTS || !h->cfg.ops || !h->cfg.ops->intx_irq)
		return -1;
	irq = h->cfg.ops->intx_irq(h->cfg.opaque, slot, pin);
	return irq >= 0 && irq < 0xff ? irq : -1;
}

static void host_lock(struct pci_device *d)
{
	if (d->host)
		pthread_mutex_lock(&d->host->lock);
}

static void host_unlock(struct pci_device *d)
{
	if (d->host)
		pthread_mutex_unlock(&d->host->lock);
}

void pci__set_irq(struct pci_device *d, int level)
{
	state_lock(d);
	d->irq_level = !!level;
	intx_update(d);
	state_unlock(d);
}

/* --- config space accesses (host lock held) ----------------------------- */

static void cap_hooks(struct pci_device *d, unsigned offset, unsigned len, bool write)
{
	for (int i = 0; i < d->nr_caps; i++) {
		const struct pci_cap *c = &d->cap[i];
		unsigned start, end;

		if (!c->ops || !overlaps(offset, len, c->offset, c->len))
			continue;
		start = MAX(offset, (unsigned)c->offset);
		end = MIN(offset + len, (unsigned)c->offset + c->len);
		if (write && c->ops->write)
			c->ops->write(d, c->opaque, start - c->offset, end - start);
		else if (!write && c->ops->read)
			c->ops->read(d, c->opaque, start - c->offset, end - start);
	}
}

uint32_t pci__cfg_read_locked(struct pci_device *d, unsigned offset, unsigned len)
{
	uint32_t v;

	if (!access_ok(offset, len))
		return 0xffffffffu;
	cap_hooks(d, offset, len, false);
	state_lock(d);
	v = pci_get_le(&d->cfg[offset], len);
	state_unlock(d);
	return v;
}

void pci__cfg_write_locked(struct pci_device *d, unsigned offset, uint32_t val, unsigned len)
{
	if (!access_ok(offset, len))
		return;
	state_lock(d);
	for (unsigned i = 0; i < len; i++) {
		uint8_t *c = &d->cfg[offset + i];
		uint8_t v = (uint8_t)(val >> (8 * i));

		*c = (uint8_t)((*c & ~d->wmask[offset + i]) | (v & d->wmask[offset + i]));
		*c &= (uint8_t)~(v & d->w1cmask[offset + i]);
	}
	state_unlock(d);
	if (overlaps(offset, len, PCI_COMMAND, 2)) {
		if (d->host)
			bars_update(d);
		pci__intx_update(d);
	}
	if (d->host && overlaps(offset, len, PCI_BASE_ADDRESS_0, 4 * PCI_NR_BARS)) {
		unsigned i = (offset - PCI_BASE_ADDRESS_0) / 4;

		if (i > 0 && d->bar[i - 1].type == PCI_BAR_MEM64)
			i--;
		if (d->bar[i].type != PCI_BAR_NONE)
			pci__bar_update(d, i);
	}
	cap_hooks(d, offset, len, true);
}

uint32_t pci__config_read(struct pci_device *d, unsigned offset, unsigned len)
{
	uint32_t v;

	host_lock(d);
	v = pci__cfg_read_locked(d, offset, len);
	host_unlock(d);
	return v;
}

void pci__config_write(struct pci_device *d, unsigned offset, uint32_t val, unsigned len)
{
	host_lock(d);
	pci__cfg_write_locked(d, offset, val, len);
	host_unlock(d);
}

uint64_t pci__bar_address(struct pci_device *d, unsigned bar)
{
	uint64_t a = 0;

	state_lock(d);
	if (bar < PCI_NR_BARS && d->bar[bar].type != PCI_BAR_NONE)
		a = bar_address(d, bar);
	state_unlock(d);
	return a;
}

bool pci__bar_mapped(struct pci_device *d, unsigned bar, uint64_t *addr)
{
	bool mapped = false;

	state_lock(d);
	if (bar < PCI_NR_BARS && d->bar[bar].mapped) {
		mapped = true;
		if (addr)
			*addr = d->bar[bar].mapped_addr;
	}
	state_unlock(d);
	return mapped;
}
