/* msix.c — MSI-X capability, vector table and pending bit array (see
 * msix.h). The table is kept as 4 little-endian dwords per entry, as the
 * guest sees it; the PBA as 64-bit words. */
#include <linux/pci_regs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/msix.h"
#include "vmm/log.h"

enum { ADDR_LO, ADDR_HI, DATA, CTRL, ENTRY_WORDS };

struct msix {
	pthread_mutex_t lock;
	struct msix_config cfg;
	const struct msix_ops *ops;
	void *opaque;
	struct pci_device *pci;
	int cap;
	bool enabled, fmask;
	uint32_t *table;		/* nr_vectors * ENTRY_WORDS */
	uint64_t *pba;
};

/* The state of a vector that the owner cares about. */
struct vec_state {
	uint64_t addr;
	uint32_t data;
	bool masked;
};

static const uint32_t *entry(const struct msix *m, unsigned v)
{
	return &m->table[(size_t)v * ENTRY_WORDS];
}

static struct vec_state vec_state_as(const struct msix *m, unsigned v,
				     bool enabled, bool fmask)
{
	const uint32_t *e = entry(m, v);

	return (struct vec_state){
		.addr = (uint64_t)e[ADDR_HI] << 32 | e[ADDR_LO],
		.data = e[DATA],
		.masked = !enabled || fmask || (e[CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT),
	};
}

static struct vec_state vec_state(const struct msix *m, unsigned v)
{
	return vec_state_as(m, v, m->enabled, m->fmask);
}

static bool pending(const struct msix *m, unsigned v)
{
	return m->pba[v / 64] & (1ULL << (v % 64));
}

static void deliver(struct msix *m, unsigned v, const struct vec_state *s)
{
	if (m->ops && m->ops->deliver)
		m->ops->deliver(m->opaque, v, s->addr, s->data);
}

/* After vector v changed from 'old': tell the owner, and send the message
 * if it was latched and the vector is now unmasked. */
static void vec_changed(struct msix *m, unsigned v, const struct vec_state *old)
{
	struct vec_state now = vec_state(m, v);

	if (now.masked != old->masked ||
	    (!now.masked && (now.addr != old->addr || now.data != old->data))) {
		if (m->ops && m->ops->vector_changed)
			m->ops->vector_changed(m->opaque, v, now.addr, now.data, now.masked);
	}
	if (!now.masked && pending(m, v)) {
		m->pba[v / 64] &= ~(1ULL << (v % 64));
		deliver(m, v, &now);
	}
}

/* Message control written (pci host lock held): pick up enable and the
 * function mask, and re-evaluate every vector whose masking changed. */
static void control_write(struct pci_device *d, void *opaque, unsigned offset, unsigned len)
{
	struct msix *m = opaque;
	uint16_t ctrl;
	bool was_enabled, was_fmask;

	if (offset + len <= PCI_MSIX_FLAGS || offset >= PCI_MSIX_FLAGS + 2)
		return;
	ctrl = (uint16_t)(d->cfg[m->cap + PCI_MSIX_FLAGS] |
			  d->cfg[m->cap + PCI_MSIX_FLAGS + 1] << 8);
	pthread_mutex_lock(&m->lock);
	was_enabled = m->enabled;
	was_fmask = m->fmask;
	m->enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	m->fmask = ctrl & PCI_MSIX_FLAGS_MASKALL;
	for (unsigned v = 0; v < m->cfg.nr_vectors; v++) {
		struct vec_state old = vec_state_as(m, v, was_enabled, was_fmask);

		vec_changed(m, v, &old);
	}
	pthread_mutex_unlock(&m->lock);
}

static const struct pci_cap_ops control_ops = { .write = control_write };

static bool region_ok(struct pci_device *d, unsigned bar, uint32_t offset, uint32_t size)
{
	if (bar >= PCI_NR_BARS || (offset & 7) || (uint64_t)offset + size > UINT32_MAX)
		return false;
	if (d->bar[bar].type == PCI_BAR_NONE)	/* declared later: trust it */
		return true;
	return d->bar[bar].type != PCI_BAR_IO && (uint64_t)offset + size <= d->bar[bar].size;
}

struct msix *msix__create(struct pci_device *d, const struct msix_config *cfg,
			  const struct msix_ops *ops, void *opaque)
{
	unsigned n = cfg->nr_vectors;
	uint32_t tsize = MSIX_TABLE_SIZE(n), psize = MSIX_PBA_SIZE(n);
	uint8_t cap[PCI_CAP_MSIX_SIZEOF] = { PCI_CAP_ID_MSIX };
	static const uint8_t ctrl_wmask[2] = {
		0, (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8
	};
	struct msix *m;
	int off;

	if (n < 1 || n > MSIX_MAX_VECTORS || !region_ok(d, cfg->table_bar, cfg->table_offset, tsize) ||
	    !region_ok(d, cfg->pba_bar, cfg->pba_offset, psize) ||
	    (cfg->table_bar == cfg->pba_bar &&
	     cfg->table_offset < (uint64_t)cfg->pba_offset + psize &&
	     cfg->pba_offset < (uint64_t)cfg->table_offset + tsize)) {
		pr_err("msix %s: bad table/PBA layout", d->name);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	m->table = calloc((size_t)n * ENTRY_WORDS, sizeof(*m->table));
	m->pba = calloc((n + 63) / 64, sizeof(*m->pba));
	if (!m->table || !m->pba)
		goto nomem;
	for (unsigned v = 0; v < n; v++)
		m->table[(size_t)v * ENTRY_WORDS + CTRL] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	m->cfg = *cfg;
	m->ops = ops;
	m->opaque = opaque;
	m->pci = d;
	pthread_mutex_init(&m->lock, NULL);

	cap[PCI_MSIX_FLAGS] = (uint8_t)(n - 1);
	cap[PCI_MSIX_FLAGS + 1] = (uint8_t)((n - 1) >> 8);
	for (int i = 0; i < 4; i++) {
		cap[PCI_MSIX_TABLE + i] = (uint8_t)((cfg->table_offset | cfg->table_bar) >> (8 * i));
		cap[PCI_MSIX_PBA + i] = (uint8_t)((cfg->pba_offset | cfg->pba_bar) >> (8 * i));
	}
	off = pci__add_capability(d, cap, sizeof(cap));
	if (off < 0) {
		pr_err("msix %s: cannot add the capability: %s", d->name, strerror(-off));
		msix__free(m);
		return NULL;
	}
	/* Cannot fail once the capability went in (same device, same state). */
	pci__set_writable(d, (unsigned)off + PCI_MSIX_FLAGS, ctrl_wmask, 2);
	pci__set_capability_ops(d, off, &control_ops, m);
	m->cap = off;
	return m;
nomem:
	pr_err("msix %s: out of memory", d->name);
	if (m) {
		free(m->table);
		free(m->pba);
		free(m);
	}
	return NULL;
}

void msix__free(struct msix *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->table);
	free(m->pba);
	free(m);
}

int msix__cap_offset(const struct msix *m)
{
	return m->cap;
}

/* Natural alignment, a width of 1, 2, 4 or 8, inside 'size'. */
static bool access_ok(uint64_t offset, uint32_t len, uint32_t size)
{
	return (len == 1 || len == 2 || len == 4 || len == 8) && !(offset & (len - 1)) &&
	       offset < size && len <= size - offset;
}

static void put_le(uint8_t *p, uint64_t v, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, uint32_t len)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void msix__table_read(struct msix *m, uint64_t offset, uint8_t *data, uint32_t len)
{
	uint64_t v;
	size_t w;

	if (!access_ok(offset, len, MSIX_TABLE_SIZE(m->cfg.nr_vectors))) {
		memset(data, 0xff, len);
		return;
	}
	w = offset / 4;
	pthread_mutex_lock(&m->lock);
	v = m->table[w];
	if (len == 8)
		v |= (uint64_t)m->table[w + 1] << 32;
	else
		v >>= 8 * (offset & 3);
	pthread_mutex_unlock(&m->lock);
	put_le(data, v, len);
}

static void word_write(struct msix *m, size_t w, uint32_t val)
{
	switch (w % ENTRY_WORDS) {
	case ADDR_LO:
		m->table[w] = val & ~3u;	/* dword-aligned address */
		break;
	case CTRL:
		m->table[w] = val & PCI_MSIX_ENTRY_CTRL_MASKBIT;
		break;
	default:
		m->table[w] = val;
	}
}

void msix__table_write(struct msix *m, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct vec_state old;
	unsigned v;
	size_t w;

	if ((len != 4 && len != 8) ||
	    !access_ok(offset, len, MSIX_TABLE_SIZE(m->cfg.nr_vectors)))
		return;
	w = offset / 4;
	v = (unsigned)(offset / 16);
	pthread_mutex_lock(&m->lock);
	old = vec_state(m, v);
	word_write(m, w, (uint32_t)get_le(data, 4));
	if (len == 8)
		word_write(m, w + 1, (uint32_t)get_le(data + 4, 4));
	vec_changed(m, v, &old);
	pthread_mutex_unlock(&m->lock);
}

void msix__pba_read(struct msix *m, uint64_t offset, uint8_t *data, uint32_t len)
{
	uint64_t v;

	if (!access_ok(offset, len, MSIX_PBA_SIZE(m->cfg.nr_vectors))) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	v = m->pba[offset / 8] >> (8 * (offset & 7));
	pthread_mutex_unlock(&m->lock);
	put_le(data, v, len);
}

void msix__pba_write(struct msix *m, uint64_t offset, const uint8_t *data, uint32_t len)
{
	/* Read-only: pending bits change only by signalling and unmasking. */
}

static bool in_region(uint64_t offset, uint32_t len, uint32_t start, uint32_t size)
{
	return offset >= start && offset - start < size && len <= size - (offset - start);
}

static void bar_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct msix *m = dev;
	uint32_t n = m->cfg.nr_vectors;

	if (in_region(offset, len, m->cfg.table_offset, MSIX_TABLE_SIZE(n)))
		msix__table_read(m, offset - m->cfg.table_offset, data, len);
	else if (in_region(offset, len, m->cfg.pba_offset, MSIX_PBA_SIZE(n)))
		msix__pba_read(m, offset - m->cfg.pba_offset, data, len);
	else
		memset(data, 0xff, len);
}

static void bar_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct msix *m = dev;

	if (in_region(offset, len, m->cfg.table_offset, MSIX_TABLE_SIZE(m->cfg.nr_vectors)))
		msix__table_write(m, offset - m->cfg.table_offset, data, len);
}

const struct bus_dev_ops msix__bar_ops = { .read = bar_read, .write = bar_write };

enum msix_result msix__signal(struct msix *m, unsigned vector)
{
	enum msix_result r;
	struct vec_state s;

	if (vector >= m->cfg.nr_vectors)
		return MSIX_NO_VECTOR;
	pthread_mutex_lock(&m->lock);
	s = vec_state(m, vector);
	if (!m->enabled) {
		r = MSIX_DISABLED;
	} else if (s.masked) {
		m->pba[vector / 64] |= 1ULL << (vector % 64);
		r = MSIX_PENDING;
	} else {
		deliver(m, vector, &s);
		r = MSIX_DELIVERED;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

bool msix__enabled(struct msix *m)
{
	bool e;

	pthread_mutex_lock(&m->lock);
	e = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return e;
}

int msix__get_vector(struct msix *m, unsigned vector, uint64_t *addr,
		     uint32_t *data, bool *masked)
{
	struct vec_state s;

	if (vector >= m->cfg.nr_vectors)
		return -1;
	pthread_mutex_lock(&m->lock);
	s = vec_state(m, vector);
	pthread_mutex_unlock(&m->lock);
	if (addr)
		*addr = s.addr;
	if (data)
		*data = s.data;
	if (masked)
		*masked = s.masked;
	return 0;
}
