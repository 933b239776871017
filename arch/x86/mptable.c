/* mptable.c — Intel MultiProcessor Specification 1.4 tables (see mptable.h).
 *
 * Layout at the caller's buffer: the 16-byte floating pointer structure,
 * then the configuration table header and its base entries, which the
 * spec wants in ascending entry-type order:
 *   processors (one per vCPU), buses (PCI = bus 0 when the device
 *   registry has a PCI host, ISA = bus 1), the IOAPIC, I/O interrupt
 *   assignments (ISA IRQ n -> IOAPIC pin n, IRQ 0 -> pin 2, no IRQ 2;
 *   each PCI slot's INTA#..INTD#), local interrupt assignments
 *   (ExtINT -> LINT0, NMI -> LINT1 on every LAPIC).
 * The ISA IRQs are the IOAPIC's wiring, listed whichever devices use
 * them, as on a PC.
 * The table is built by one function run twice, first without a buffer to
 * measure it, so an added bus (e.g. PCI as bus 1) with its interrupt
 * assignments is one more call in each section, not new size arithmetic.
 */
#include <stdbool.h>
#include <string.h>

#include "arch/x86/irq.h"
#include "arch/x86/mptable.h"
#include "devices/pci/pci.h"
#include "vmm/devreg.h"
#include "vmm/util.h"
#include "vmm/log.h"

#define MPF_SIGNATURE	"_MP_"
#define MPC_SIGNATURE	"PCMP"
#define MP_SPEC_REV	4	/* 1.4 */

#define MPC_OEM_ID	"VMM     "
#define MPC_PRODUCT_ID	"VMM x86 PC  "

enum mp_entry_type {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_INTSRC = 3,
	MP_LINTSRC = 4,
};

enum mp_irq_type {
	MP_INT = 0,
	MP_NMI = 1,
	MP_SMI = 2,
	MP_EXTINT = 3,
};

#define MP_IRQFLAG_CONFORMING 0	/* polarity and trigger as the bus says */

#define CPU_ENABLED		0x01
#define CPU_BOOTPROCESSOR	0x02
#define IOAPIC_ENABLED		0x01

#define LAPIC_VERSION	0x14	/* integrated xAPIC, as KVM reports it */
#define IOAPIC_VERSION	0x11	/* KVM's in-kernel IOAPIC */
/* Family 6, model 2, stepping 3; FPU and APIC present. Linux reads
 * neither from the table, but they should look like a CPU. */
#define CPU_SIGNATURE	((6 << 8) | (2 << 4) | 3)
#define CPU_FEATURES	((1u << 0) | (1u << 9))

#define ALL_LAPICS	0xff
#define ISA_NR_IRQS	16
#define PIT_IOAPIC_PIN	2

struct mpf_intel {
	char signature[4];
	uint32_t physptr;
	uint8_t length;		/* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature1;	/* 0: a configuration table is present */
	uint8_t feature2;	/* bit 7 clear: no IMCR, virtual wire mode */
	uint8_t feature3, feature4, feature5;
} __attribute__((packed));

struct mpc_table {
	char signature[4];
	uint16_t length;	/* base table, header included */
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;	/* base table entries */
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

/* Both I/O (type 3) and local (type 4) interrupt assignments. */
struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer");
_Static_assert(sizeof(struct mpc_table) == 44, "MP config table header");
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry");
_Static_assert(sizeof(struct mpc_bus) == 8, "MP bus entry");
_Static_assert(sizeof(struct mpc_ioapic) == 8, "MP IOAPIC entry");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "MP interrupt entry");

/* Appends base-table entries; with buf == NULL it only measures. */
struct mpc_writer {
	uint8_t *buf;
	size_t cap, pos;
	unsigned count;
};

static void mpc_put(struct mpc_writer *w, const void *entry, size_t size)
{
	if (w->buf && w->pos + size <= w->cap)
		memcpy(w->buf + w->pos, entry, size);
	w->pos += size;
	w->count++;
}

static void add_cpus(struct mpc_writer *w, int nr_cpus)
{
	for (int i = 0; i < nr_cpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = LAPIC_VERSION,
			.cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
			.cpufeature = CPU_SIGNATURE,
			.featureflag = CPU_FEATURES,
		};
		mpc_put(w, &cpu, sizeof(cpu));
	}
}

static void add_bus(struct mpc_writer *w, uint8_t id, const char type[6])
{
	struct mpc_bus bus = { .type = MP_BUS, .busid = id };

	memcpy(bus.bustype, type, sizeof(bus.bustype));
	mpc_put(w, &bus, sizeof(bus));
}

static void add_ioapic(struct mpc_writer *w, uint8_t id, uint32_t addr)
{
	struct mpc_ioapic ioapic = {
		.type = MP_IOAPIC,
		.apicid = id,
		.apicver = IOAPIC_VERSION,
		.flags = IOAPIC_ENABLED,
		.apicaddr = addr,
	};

	mpc_put(w, &ioapic, sizeof(ioapic));
}

static void add_intsrc(struct mpc_writer *w, uint8_t entry_type,
		       uint8_t irqtype, uint16_t irqflag, uint8_t bus,
		       uint8_t busirq, uint8_t dstapic, uint8_t dstpin)
{
	struct mpc_intsrc src = {
		.type = entry_type,
		.irqtype = irqtype,
		.irqflag = irqflag,
		.srcbus = bus,
		.srcbusirq = busirq,
		.dstapic = dstapic,
		.dstirq = dstpin,
	};

	mpc_put(w, &src, sizeof(src));
}

/* ISA IRQs as KVM's in-kernel IOAPIC routes them: IRQ n on pin n, the PIT
 * (IRQ 0) on pin 2, and IRQ 2 (the PIC cascade) not at all. */
static void add_isa_irqs(struct mpc_writer *w, uint8_t bus, uint8_t ioapic)
{
	for (int irq = 0; irq < ISA_NR_IRQS; irq++) {
		if (irq == 2)
			continue;
		add_intsrc(w, MP_INTSRC, MP_INT, MP_IRQFLAG_CONFORMING, bus,
			   (uint8_t)irq, ioapic,
			   irq == 0 ? PIT_IOAPIC_PIN : (uint8_t)irq);
	}
}

struct mp_config {
	int nr_cpus;
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	bool pci;		/* a PCI host is described: bus 0 and its INTx */
};

/* Linux matches a PCI device's interrupt entry by bus number, so the PCI
 * bus is MP bus 0 and ISA is bus 1 (as kvmtool does). */
#define PCI_BUS_ID 0
#define ISA_BUS_ID 1
#define MP_IRQFLAG_LEVEL_LOW 0x0f  /* polarity active low, trigger level */

/* PCI INTx of every slot and pin, routed as x86_irq__pci_intx() says. */
static void add_pci_irqs(struct mpc_writer *w, uint8_t bus, uint8_t ioapic)
{
	for (unsigned slot = 1; slot < PCI_NR_SLOTS; slot++)
		for (unsigned pin = 1; pin <= 4; pin++)
			add_intsrc(w, MP_INTSRC, MP_INT, MP_IRQFLAG_LEVEL_LOW, bus,
				   (uint8_t)(slot << 2 | (pin - 1)), ioapic,
				   (uint8_t)x86_irq__pci_intx(slot, pin));
}

static void build_entries(struct mpc_writer *w, const struct mp_config *c)
{
	add_cpus(w, c->nr_cpus);
	if (c->pci)
		add_bus(w, PCI_BUS_ID, "PCI   ");
	add_bus(w, ISA_BUS_ID, "ISA   ");
	add_ioapic(w, c->ioapic_id, c->ioapic_addr);
	add_isa_irqs(w, ISA_BUS_ID, c->ioapic_id);
	if (c->pci)
		add_pci_irqs(w, PCI_BUS_ID, c->ioapic_id);
	/* The 8259 reaches every LAPIC's LINT0 (virtual wire), NMI LINT1. */
	add_intsrc(w, MP_LINTSRC, MP_EXTINT, MP_IRQFLAG_CONFORMING, ISA_BUS_ID,
		   0, ALL_LAPICS, 0);
	add_intsrc(w, MP_LINTSRC, MP_NMI, MP_IRQFLAG_CONFORMING, ISA_BUS_ID,
		   0, ALL_LAPICS, 1);
}


int mptable__write(void *buf, size_t len, uint32_t base_gpa, int nr_cpus,
		   uint32_t ioapic_addr, uint32_t lapic_addr, const struct devreg *devs)
{
	struct mp_config cfg = {
		.nr_cpus = nr_cpus,
		.ioapic_id = (uint8_t)nr_cpus,	/* the first id after the LAPICs */
		.ioapic_addr = ioapic_addr,
	};
	const struct devreg_entry *pci_host;
	struct mpc_writer w = { 0 };
	struct mpf_intel *mpf = buf;
	struct mpc_table *mpc;
	size_t table_len, total;

	if (nr_cpus < 1 || nr_cpus > 255) {
		pr_err("mptable: %d vCPUs, must be 1..255", nr_cpus);
		return -1;
	}
	if (!buf || !devs) {
		pr_err("mptable: no buffer or no device registry");
		return -1;
	}
	if (devreg__find_firmware(devs, DEVREG_PCI_HOST, "mptable", &pci_host) < 0)
		return -1;
	cfg.pci = pci_host != NULL;
	if (base_gpa % 16) {
		pr_err("mptable: floating pointer at 0x%x is not 16-byte aligned",
		       base_gpa);
		return -1;
	}
	build_entries(&w, &cfg);	/* measure */
	table_len = sizeof(*mpc) + w.pos;
	total = sizeof(*mpf) + table_len;
	if (total > len) {
		pr_err("mptable: needs %zu bytes, only %zu available", total, len);
		return -1;
	}
	if (table_len > UINT16_MAX || (uint64_t)base_gpa + total > UINT32_MAX) {
		pr_err("mptable: table does not fit below 4 GiB");
		return -1;
	}

	memset(buf, 0, total);
	mpc = (struct mpc_table *)(mpf + 1);
	w = (struct mpc_writer){ .buf = (uint8_t *)(mpc + 1), .cap = w.pos };
	build_entries(&w, &cfg);

	memcpy(mpc->signature, MPC_SIGNATURE, sizeof(mpc->signature));
	mpc->length = (uint16_t)table_len;
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, MPC_OEM_ID, sizeof(mpc->oem));
	memcpy(mpc->productid, MPC_PRODUCT_ID, sizeof(mpc->productid));
	mpc->oemcount = (uint16_t)w.count;
	mpc->lapic = lapic_addr;
	mpc->checksum = util__checksum8(mpc, table_len);

	memcpy(mpf->signature, MPF_SIGNATURE, sizeof(mpf->signature));
	mpf->physptr = base_gpa + (uint32_t)sizeof(*mpf);
	mpf->length = 1;
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = util__checksum8(mpf, sizeof(*mpf));
	return (int)total;
}
