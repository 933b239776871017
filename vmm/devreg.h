/* devreg.h — the VM's device registry: one description of every platform
 * device (what it is, where its registers are, which interrupt lines it
 * drives), written once by the arch when it creates the devices and read
 * by whatever tells the guest about them: the x86 ACPI and MP tables
 * today, a device tree on other architectures. No table lists a device by
 * hand; a device added to the registry appears in them.
 *
 * The registry only describes. Creating the device models and putting
 * their ranges on the buses stays with the arch (arch/<arch>/vm.c), which
 * reads the addresses from the same entries it registers here.
 *
 * Fixed capacity, no allocation, no global state: a struct devreg lives
 * inside the VM's arch state and is filled during set-up, single-threaded;
 * after that it is read-only. */
#ifndef VMM_DEVREG_H
#define VMM_DEVREG_H

#include <stdbool.h>
#include <stdint.h>

#define DEVREG_MAX_DEVICES	16
#define DEVREG_NAME_MAX		16	/* with the terminating NUL */
#define DEVREG_MAX_RANGES	4	/* port-I/O, and MMIO, ranges per device */
#define DEVREG_MAX_IRQS		4

/* 0 is no kind, so a zeroed entry is refused. */
enum devreg_kind {
	DEVREG_SERIAL_16550 = 1,	/* a 16550A UART */
	DEVREG_PS2_CTRL,		/* an i8042 keyboard controller */
	DEVREG_RTC_CMOS,		/* an MC146818 RTC with CMOS RAM */
	DEVREG_DEBUG_PORT,		/* a write-only port (POST codes, boot markers) */
	DEVREG_ACPI_PM,			/* ACPI fixed hardware: PM1a blocks, SCI */
	DEVREG_PCI_HOST,		/* a PCI host bridge and its bus 0 */
	DEVREG_RTC_PL031,		/* an ARM PL031 RTC (a PrimeCell on MMIO) */
	DEVREG_GPIO_PL061,		/* an ARM PL061 GPIO controller, line 3 the
					 * power button (a PrimeCell on MMIO) */
	DEVREG_NR_KINDS
};

/* Where a kind keeps which register block, so a table generator finds
 * them without names: the ACPI PM block's event and control blocks
 * (irq[0] is the SCI); a PCI host's config ports CF8..CFF (pio[0], absent
 * on a platform without port I/O; the ECAM window is in 'pci'). */
#define DEVREG_ACPI_PM_EVT	0
#define DEVREG_ACPI_PM_CNT	1
#define DEVREG_PCI_CFG_PORTS	0

enum devreg_trigger { DEVREG_IRQ_EDGE, DEVREG_IRQ_LEVEL };
enum devreg_polarity { DEVREG_IRQ_HIGH, DEVREG_IRQ_LOW };

struct devreg_range {
	uint64_t base, size;		/* size > 0, base + size does not wrap */
};

struct devreg_irq {
	uint32_t line;			/* the platform's number (x86: ISA IRQ = GSI) */
	enum devreg_trigger trigger;
	enum devreg_polarity polarity;
};

/* What a PCI host decodes besides its own registers: the ECAM window of
 * bus 0 and the windows BARs are allocated from, each [base, end) and
 * left out when empty (as given to pci__create()). */
struct devreg_pci_host {
	uint64_t ecam_base, ecam_size;	/* 0, 0: no ECAM */
	uint64_t io_base, io_end;	/* on the port-I/O bus */
	uint64_t mmio32_base, mmio32_end;
	uint64_t mmio64_base, mmio64_end;
};

struct devreg_entry {
	enum devreg_kind kind;
	char name[DEVREG_NAME_MAX];	/* unique in the registry: "com1" */
	/* The guest learns of it from the firmware tables (ACPI, a device
	 * tree). False for what the guest finds by probing a legacy address
	 * on its own, where describing it would change what the guest does
	 * (a PNP0501 for COM1 would make Linux bind another driver). */
	bool firmware;
	unsigned nr_pio, nr_mmio, nr_irqs;
	struct devreg_range pio[DEVREG_MAX_RANGES];
	struct devreg_range mmio[DEVREG_MAX_RANGES];
	struct devreg_irq irq[DEVREG_MAX_IRQS];
	struct devreg_pci_host pci;	/* DEVREG_PCI_HOST only, zero otherwise */
};

struct devreg {
	unsigned nr;
	struct devreg_entry dev[DEVREG_MAX_DEVICES];
};

/* An empty registry (a zeroed struct devreg is one too). */
void devreg__init(struct devreg *r);

/* Copy 'e' into the registry. Returns 0, or (reason printed):
 * -EINVAL  a bad entry: no kind, an empty or too long name, too many
 *          ranges or lines, an empty or wrapping range, a reversed
 *          window, PCI windows on a device that is not a PCI host;
 * -EEXIST  the name is taken;
 * -EBUSY   a range or window overlaps one already claimed (by this entry
 *          or another) in the same address space;
 * -ENOSPC  the registry is full. */
int devreg__add(struct devreg *r, const struct devreg_entry *e);

/* The first entry of 'kind' after 'prev' (NULL: from the start), in the
 * order they were added; NULL when there is none. */
const struct devreg_entry *devreg__next(const struct devreg *r,
					const struct devreg_entry *prev,
					enum devreg_kind kind);
/* The first entry of 'kind'; NULL when there is none. */
const struct devreg_entry *devreg__find(const struct devreg *r, enum devreg_kind kind);
/* The entry called 'name'; NULL when there is none. */
const struct devreg_entry *devreg__find_name(const struct devreg *r, const char *name);

/* The one entry of 'kind' the firmware tables describe, for a table that
 * can hold only one (the FADT's PM block, the DSDT's PCI0): 0 with *out
 * set, or NULL when there is none; -1 if there are several (reason
 * printed, naming 'what' for whose table it is). */
int devreg__find_firmware(const struct devreg *r, enum devreg_kind kind,
			  const char *what, const struct devreg_entry **out);

/* Call fn for every entry in order until it returns non-zero; returns
 * that value, or 0. */
int devreg__each(const struct devreg *r,
		 int (*fn)(const struct devreg_entry *e, void *opaque), void *opaque);

/* "serial 16550", "PCI host bridge", ...; "unknown" out of range. */
const char *devreg__kind_name(enum devreg_kind kind);

#endif
