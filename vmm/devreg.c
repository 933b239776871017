/* devreg.c — the device registry (see devreg.h).
 *
 * devreg__add checks an entry completely before it is stored, so every
 * table generator can trust what it reads: ranges are non-empty and do not
 * wrap, and nothing two devices claim overlaps in one address space. The
 * overlap check covers the PCI host's windows and ECAM too: a platform
 * device inside a BAR window would be shadowed by whichever BAR lands
 * there, and the bus would only notice when the guest programs it. */
#include <errno.h>
#include <string.h>

#include "vmm/devreg.h"
#include "vmm/log.h"

static const char *const kind_names[DEVREG_NR_KINDS] = {
	[DEVREG_SERIAL_16550] = "serial 16550",
	[DEVREG_PS2_CTRL] = "PS/2 controller",
	[DEVREG_RTC_CMOS] = "CMOS RTC",
	[DEVREG_DEBUG_PORT] = "debug port",
	[DEVREG_ACPI_PM] = "ACPI PM block",
	[DEVREG_PCI_HOST] = "PCI host bridge",
	[DEVREG_RTC_PL031] = "PL031 RTC",
	[DEVREG_GPIO_PL061] = "PL061 GPIO",
};

const char *devreg__kind_name(enum devreg_kind kind)
{
	if (kind <= 0 || kind >= DEVREG_NR_KINDS)
		return "unknown";
	return kind_names[kind];
}

void devreg__init(struct devreg *r)
{
	memset(r, 0, sizeof(*r));
}

/* One address range a device occupies, in the port-I/O or MMIO space:
 * its registers, or a window it decodes on behalf of its bus. */
enum space { SPACE_PIO, SPACE_MMIO };

struct claim {
	enum space space;
	uint64_t base, end;	/* [base, end), end == 0: up to 2^64 */
	const char *what;
};

#define MAX_CLAIMS (2 * DEVREG_MAX_RANGES + 4)

static unsigned add_claim(struct claim *c, unsigned n, enum space s,
			  uint64_t base, uint64_t end, const char *what)
{
	if (end != base)	/* empty windows claim nothing */
		c[n++] = (struct claim){ s, base, end, what };
	return n;
}

static unsigned claims_of(const struct devreg_entry *e, struct claim *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < e->nr_pio; i++)
		n = add_claim(c, n, SPACE_PIO, e->pio[i].base,
			      e->pio[i].base + e->pio[i].size, "port range");
	for (unsigned i = 0; i < e->nr_mmio; i++)
		n = add_claim(c, n, SPACE_MMIO, e->mmio[i].base,
			      e->mmio[i].base + e->mmio[i].size, "MMIO range");
	n = add_claim(c, n, SPACE_MMIO, e->pci.ecam_base,
		      e->pci.ecam_base + e->pci.ecam_size, "ECAM window");
	n = add_claim(c, n, SPACE_PIO, e->pci.io_base, e->pci.io_end, "I/O window");
	n = add_claim(c, n, SPACE_MMIO, e->pci.mmio32_base, e->pci.mmio32_end,
		      "32-bit window");
	n = add_claim(c, n, SPACE_MMIO, e->pci.mmio64_base, e->pci.mmio64_end,
		      "64-bit window");
	return n;
}

/* end == 0 stands for 2^64 (a range ending at the top of the space). */
static bool overlaps(const struct claim *a, const struct claim *b)
{
	bool a_below_b_end = b->end == 0 || a->base < b->end;
	bool b_below_a_end = a->end == 0 || b->base < a->end;

	return a->space == b->space && a_below_b_end && b_below_a_end;
}

static bool range_ok(const struct devreg_range *r)
{
	return r->size > 0 && r->size - 1 <= UINT64_MAX - r->base;
}

static bool window_ok(uint64_t base, uint64_t end)
{
	return base <= end;
}

static bool irq_ok(const struct devreg_irq *q)
{
	return (q->trigger == DEVREG_IRQ_EDGE || q->trigger == DEVREG_IRQ_LEVEL) &&
	       (q->polarity == DEVREG_IRQ_HIGH || q->polarity == DEVREG_IRQ_LOW);
}

/* The first thing wrong with the entry on its own, or NULL. */
static const char *check_entry(const struct devreg_entry *e)
{
	static const struct devreg_pci_host no_pci;
	const struct devreg_pci_host *p = &e->pci;

	if (e->kind <= 0 || e->kind >= DEVREG_NR_KINDS)
		return "no such kind";
	if (!e->name[0] || !memchr(e->name, '\0', sizeof(e->name)))
		return "empty or unterminated name";
	if (e->nr_pio > DEVREG_MAX_RANGES || e->nr_mmio > DEVREG_MAX_RANGES ||
	    e->nr_irqs > DEVREG_MAX_IRQS)
		return "too many ranges or interrupt lines";
	for (unsigned i = 0; i < e->nr_pio; i++)
		if (!range_ok(&e->pio[i]))
			return "an empty or wrapping port range";
	for (unsigned i = 0; i < e->nr_mmio; i++)
		if (!range_ok(&e->mmio[i]))
			return "an empty or wrapping MMIO range";
	for (unsigned i = 0; i < e->nr_irqs; i++)
		if (!irq_ok(&e->irq[i]))
			return "an interrupt line with a bad trigger or polarity";
	if (e->kind != DEVREG_PCI_HOST) {
		if (memcmp(p, &no_pci, sizeof(*p)))
			return "PCI windows on a device that is not a PCI host";
		return NULL;
	}
	if (!p->ecam_base != !p->ecam_size ||
	    (p->ecam_size && p->ecam_size - 1 > UINT64_MAX - p->ecam_base))
		return "an ECAM window without a base or size, or wrapping";
	if (!window_ok(p->io_base, p->io_end) ||
	    !window_ok(p->mmio32_base, p->mmio32_end) ||
	    !window_ok(p->mmio64_base, p->mmio64_end))
		return "a reversed bus window";
	return NULL;
}

/* -EBUSY with the reason printed if 'e' overlaps itself or an entry
 * already in 'r'. */
static int check_overlaps(const struct devreg *r, const struct devreg_entry *e)
{
	struct claim mine[MAX_CLAIMS], theirs[MAX_CLAIMS];
	unsigned n = claims_of(e, mine);

	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = i + 1; j < n; j++) {
			if (overlaps(&mine[i], &mine[j])) {
				pr_err("devreg: '%s': its %s at 0x%llx overlaps its %s",
				       e->name, mine[j].what,
				       (unsigned long long)mine[j].base, mine[i].what);
				return -EBUSY;
			}
		}
	}
	for (unsigned d = 0; d < r->nr; d++) {
		unsigned m = claims_of(&r->dev[d], theirs);

		for (unsigned i = 0; i < n; i++) {
			for (unsigned j = 0; j < m; j++) {
				if (!overlaps(&mine[i], &theirs[j]))
					continue;
				pr_err("devreg: '%s': its %s at 0x%llx overlaps the %s of '%s'",
				       e->name, mine[i].what,
				       (unsigned long long)mine[i].base, theirs[j].what,
				       r->dev[d].name);
				return -EBUSY;
			}
		}
	}
	return 0;
}

int devreg__add(struct devreg *r, const struct devreg_entry *e)
{
	const char *bad;
	int err;

	if (!r || !e) {
		pr_err("devreg: no registry or no entry");
		return -EINVAL;
	}
	bad = check_entry(e);
	if (bad) {
		/* The name may be the broken part: print at most its bytes. */
		pr_err("devreg: device '%.*s' (%s): %s", DEVREG_NAME_MAX - 1, e->name,
		       devreg__kind_name(e->kind), bad);
		return -EINVAL;
	}
	if (devreg__find_name(r, e->name)) {
		pr_err("devreg: a device called '%s' is already registered", e->name);
		return -EEXIST;
	}
	err = check_overlaps(r, e);
	if (err)
		return err;
	if (r->nr >= DEVREG_MAX_DEVICES) {
		pr_err("devreg: cannot add '%s': the registry is full (%d devices)",
		       e->name, DEVREG_MAX_DEVICES);
		return -ENOSPC;
	}
	r->dev[r->nr++] = *e;
	return 0;
}

const struct devreg_entry *devreg__next(const struct devreg *r,
					const struct devreg_entry *prev,
					enum devreg_kind kind)
{
	unsigned i = prev ? (unsigned)(prev - r->dev) + 1 : 0;

	for (; i < r->nr; i++)
		if (r->dev[i].kind == kind)
			return &r->dev[i];
	return NULL;
}

const struct devreg_entry *devreg__find(const struct devreg *r, enum devreg_kind kind)
{
	return devreg__next(r, NULL, kind);
}

const struct devreg_entry *devreg__find_name(const struct devreg *r, const char *name)
{
	for (unsigned i = 0; i < r->nr; i++)
		if (!strcmp(r->dev[i].name, name))
			return &r->dev[i];
	return NULL;
}

int devreg__find_firmware(const struct devreg *r, enum devreg_kind kind,
			  const char *what, const struct devreg_entry **out)
{
	const struct devreg_entry *found = NULL;

	for (const struct devreg_entry *e = devreg__find(r, kind); e;
	     e = devreg__next(r, e, kind)) {
		if (!e->firmware)
			continue;
		if (found) {
			pr_err("%s: describes one %s, the registry has '%s' and '%s'",
			       what, devreg__kind_name(kind), found->name, e->name);
			return -1;
		}
		found = e;
	}
	*out = found;
	return 0;
}

int devreg__each(const struct devreg *r,
		 int (*fn)(const struct devreg_entry *e, void *opaque), void *opaque)
{
	for (unsigned i = 0; i < r->nr; i++) {
		int ret = fn(&r->dev[i], opaque);

		if (ret)
			return ret;
	}
	return 0;
}
