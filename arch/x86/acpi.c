/* acpi.c — ACPI tables for x86 guests (see acpi.h).
 *
 * Layout at the caller's buffer (offsets from base_gpa), each table
 * 16-byte aligned, the FACS 64-byte aligned as the spec requires:
 *   RSDP (revision 2, 36 bytes; no RSDT, the XSDT is the root)
 *   XSDT -> FADT, MADT (, MCFG)
 *   FADT (revision 6.0, 276 bytes) -> FACS, DSDT (32- and 64-bit fields)
 *   FACS
 *   MADT: one Processor Local APIC per vCPU, the IOAPIC, overrides for
 *         the PIT (IRQ 0 -> GSI 2) and the SCI (level, active high), and
 *         LINT1 as NMI on every processor
 *   DSDT: \_S5 and the PCI root bridge \_SB.PCI0 (arch/x86/dsdt.c)
 *   MCFG: when PCI has an ECAM window, one allocation: segment 0, bus 0
 *
 * The FADT describes a legacy PC, not a hardware-reduced one: 8259s and
 * PIT exist, the i8042 and other ISA devices are to be probed
 * (IAPC_BOOT_ARCH), SMI_CMD is 0 so the guest finds ACPI mode already
 * enabled (SCI_EN reads 1), there is no PM timer and there are no GPE
 * blocks. The power button is a fixed feature (PM1 PWRBTN_STS/EN), the
 * sleep button is absent. The RTC's century byte is CMOS 0x32.
 *
 * What is a device comes from the device registry (vmm/devreg.h, filled
 * by arch/x86/vm.c): the PM1a blocks and the SCI, whether there is an
 * i8042 and an RTC, the PCI host's windows and ECAM window. What is not
 * (the APICs, the vCPUs) stays in struct acpi_config.
 */
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/dsdt.h"
#include "vmm/devreg.h"
#include "vmm/util.h"
#include "vmm/log.h"

#define OEM_ID			"VMM   "
#define OEM_TABLE_ID		"VMMX86PC"
#define OEM_REVISION		1
#define CREATOR_ID		"VMM "
#define CREATOR_REVISION	1

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;		/* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;		/* 2: ACPI 2.0 and later */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_id;
} __attribute__((packed));

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} __attribute__((packed));

/* PCI Firmware Specification 3.0, table 4-3. */
struct acpi_mcfg {
	struct acpi_header h;
	uint64_t reserved;
} __attribute__((packed));

struct mcfg_allocation {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved;
} __attribute__((packed));

struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length;
	uint8_t bus;			/* 0: ISA */
	uint8_t source;			/* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length;
	uint8_t processor_uid;		/* 0xff: all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_gas) == 12, "Generic Address Structure");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (ACPI 6.0)");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(offsetof(struct acpi_fadt, x_firmware_ctrl) == 132, "FADT X_ fields");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT sleep regs");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT header");
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG header");
_Static_assert(sizeof(struct mcfg_allocation) == 16, "MCFG allocation");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");
_Static_assert(sizeof(struct madt_iso) == 10, "MADT interrupt source override");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT LAPIC NMI");

#define FADT_REVISION		6
#define FADT_MINOR_REVISION	0
#define MADT_REVISION		4
#define DSDT_REVISION		2	/* 64-bit integers */
#define XSDT_REVISION		1
#define MCFG_REVISION		1
#define FACS_VERSION		2

#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_WORD		2

#define PM1_EVT_MIN_LEN		4	/* PM1 status + enable, 2 bytes each */
#define PM1_CNT_MIN_LEN		2
#define PORT_LIMIT		0x10000u
#define P_LVL_UNSUPPORTED	0x0fff	/* > 100 (C2), > 1000 (C3) */
#define CMOS_CENTURY		0x32

/* IAPC_BOOT_ARCH */
#define BOOT_LEGACY_DEVICES	(1u << 0)
#define BOOT_8042		(1u << 1)

/* FADT flags */
#define FADT_WBINVD		(1u << 0)
#define FADT_PROC_C1		(1u << 2)
#define FADT_SLP_BUTTON		(1u << 5)	/* no fixed sleep button */
#define FADT_RTC_S4		(1u << 7)

#define MADT_PCAT_COMPAT	(1u << 0)
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MADT_LAPIC_ENABLED	(1u << 0)
#define MPS_INTI_CONFORMING	0x0
#define MPS_INTI_ACTIVE_HIGH	0x1
#define MPS_INTI_ACTIVE_LOW	0x3
#define MPS_INTI_EDGE		(0x1 << 2)
#define MPS_INTI_LEVEL		(0x3 << 2)
#define ALL_PROCESSORS		0xff
#define PIT_ISA_IRQ		0
#define PIT_GSI			2


/* The registry's entries the tables describe (see acpi.h). */
struct acpi_devices {
	const struct devreg_entry *pm;		/* never NULL */
	const struct devreg_entry *i8042, *rtc, *pci;
	uint16_t evt_port, cnt_port;
	uint8_t evt_len, cnt_len, sci;
};

static void fill_header(struct acpi_header *h, const char sig[4],
			uint32_t length, uint8_t revision)
{
	memcpy(h->signature, sig, sizeof(h->signature));
	h->length = length;
	h->revision = revision;
	memcpy(h->oem_id, OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = OEM_REVISION;
	memcpy(h->creator_id, CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = CREATOR_REVISION;
}

/* Set the checksum of the table of 'len' bytes at 'p' (the header's
 * checksum byte is still 0). */
static void seal(uint8_t *p, size_t len)
{
	p[offsetof(struct acpi_header, checksum)] = util__checksum8(p, len);
}

static struct acpi_gas io_gas(uint16_t port, uint8_t bytes)
{
	return (struct acpi_gas){
		.space_id = GAS_SYSTEM_IO,
		.bit_width = (uint8_t)(bytes * 8),
		.access_size = GAS_ACCESS_WORD,
		.address = port,
	};
}

/* Guest-physical placement of every table. */
struct acpi_layout {
	uint32_t rsdp, xsdt, fadt, facs, madt, dsdt, mcfg;
	size_t xsdt_len, madt_len, dsdt_len, mcfg_len, total;
};

static uint32_t place(uint32_t *next, size_t size, uint32_t align)
{
	uint32_t at = (*next + align - 1) & ~(align - 1);

	*next = at + (uint32_t)size;
	return at;
}

static void lay_out(struct acpi_layout *l, uint32_t base, int nr_cpus,
		    size_t dsdt_aml_len, bool mcfg)
{
	uint32_t next = base;

	l->mcfg_len = mcfg ? sizeof(struct acpi_mcfg) + sizeof(struct mcfg_allocation) : 0;
	l->xsdt_len = sizeof(struct acpi_header) + (mcfg ? 3 : 2) * sizeof(uint64_t);
	l->madt_len = sizeof(struct acpi_madt) +
		      (size_t)nr_cpus * sizeof(struct madt_lapic) +
		      sizeof(struct madt_ioapic) + 2 * sizeof(struct madt_iso) +
		      sizeof(struct madt_lapic_nmi);
	l->dsdt_len = sizeof(struct acpi_header) + dsdt_aml_len;
	l->rsdp = place(&next, sizeof(struct acpi_rsdp), 16);
	l->xsdt = place(&next, l->xsdt_len, 16);
	l->fadt = place(&next, sizeof(struct acpi_fadt), 16);
	l->facs = place(&next, sizeof(struct acpi_facs), 64);
	l->madt = place(&next, l->madt_len, 16);
	l->dsdt = place(&next, l->dsdt_len, 16);
	l->mcfg = mcfg ? place(&next, l->mcfg_len, 16) : 0;
	l->total = next - base;
}

static void write_fadt(uint8_t *p, const struct acpi_layout *l,
		       const struct acpi_devices *d)
{
	struct acpi_fadt f = {
		.firmware_ctrl = l->facs,
		.dsdt = l->dsdt,
		.sci_int = d->sci,
		.smi_cmd = 0,		/* ACPI mode is always on */
		.pm1a_evt_blk = d->evt_port,
		.pm1a_cnt_blk = d->cnt_port,
		.pm1_evt_len = d->evt_len,
		.pm1_cnt_len = d->cnt_len,
		.p_lvl2_lat = P_LVL_UNSUPPORTED,
		.p_lvl3_lat = P_LVL_UNSUPPORTED,
		.century = d->rtc ? CMOS_CENTURY : 0,
		/* Linux probes the i8042's ports only with this bit (there is
		 * no PNP0303 in the DSDT). */
		.iapc_boot_arch = BOOT_LEGACY_DEVICES | (d->i8042 ? BOOT_8042 : 0),
		.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON |
			 (d->rtc ? FADT_RTC_S4 : 0),
		.minor_revision = FADT_MINOR_REVISION,
		/* X_FIRMWARE_CTRL stays 0 (as QEMU does): with both set, Linux
		 * installs the same FACS twice. */
		.x_dsdt = l->dsdt,
		.x_pm1a_evt_blk = io_gas(d->evt_port, d->evt_len),
		.x_pm1a_cnt_blk = io_gas(d->cnt_port, d->cnt_len),
	};

	fill_header(&f.h, "FACP", sizeof(f), FADT_REVISION);
	memcpy(p, &f, sizeof(f));
	seal(p, sizeof(f));
}

static void write_facs(uint8_t *p)
{
	struct acpi_facs f = {
		.length = sizeof(f),
		.version = FACS_VERSION,
	};

	memcpy(f.signature, "FACS", sizeof(f.signature));
	memcpy(p, &f, sizeof(f));
}

static size_t put(uint8_t *p, size_t at, const void *entry, size_t size)
{
	memcpy(p + at, entry, size);
	return at + size;
}

/* MPS INTI flags for an interrupt line as the registry describes it. */
static uint16_t inti_flags(const struct devreg_irq *q)
{
	return (q->polarity == DEVREG_IRQ_LOW ? MPS_INTI_ACTIVE_LOW : MPS_INTI_ACTIVE_HIGH) |
	       (q->trigger == DEVREG_IRQ_LEVEL ? MPS_INTI_LEVEL : MPS_INTI_EDGE);
}

static void write_madt(uint8_t *p, const struct acpi_layout *l,
		       const struct acpi_config *c, const struct acpi_devices *d)
{
	struct acpi_madt m = {
		.lapic_addr = c->lapic_addr,
		.flags = MADT_PCAT_COMPAT,	/* 8259s present: mask them */
	};
	struct madt_ioapic io = {
		.type = MADT_IOAPIC,
		.length = sizeof(io),
		.ioapic_id = (uint8_t)c->nr_cpus,	/* first id after the LAPICs */
		.address = c->ioapic_addr,
		.gsi_base = 0,
	};
	/* KVM's in-kernel IOAPIC has the PIT on pin 2; the SCI is on the
	 * pin of its ISA IRQ, triggered as the PM block's entry says
	 * (level, active high on the PC). */
	struct madt_iso iso[2] = {
		{ .type = MADT_ISO, .length = sizeof(iso[0]), .bus = 0,
		  .source = PIT_ISA_IRQ, .gsi = PIT_GSI,
		  .flags = MPS_INTI_CONFORMING },
		{ .type = MADT_ISO, .length = sizeof(iso[1]), .bus = 0,
		  .source = d->sci, .gsi = d->sci,
		  .flags = inti_flags(&d->pm->irq[0]) },
	};
	struct madt_lapic_nmi nmi = {
		.type = MADT_LAPIC_NMI,
		.length = sizeof(nmi),
		.processor_uid = ALL_PROCESSORS,
		.flags = MPS_INTI_CONFORMING,
		.lint = 1,
	};
	size_t at;

	fill_header(&m.h, "APIC", (uint32_t)l->madt_len, MADT_REVISION);
	at = put(p, 0, &m, sizeof(m));
	for (int i = 0; i < c->nr_cpus; i++) {
		struct madt_lapic lapic = {
			.type = MADT_LAPIC,
			.length = sizeof(lapic),
			.processor_uid = (uint8_t)i,
			.apic_id = (uint8_t)i,
			.flags = MADT_LAPIC_ENABLED,
		};

		at = put(p, at, &lapic, sizeof(lapic));
	}
	at = put(p, at, &io, sizeof(io));
	at = put(p, at, iso, sizeof(iso));
	at = put(p, at, &nmi, sizeof(nmi));
	seal(p, at);
}

static void write_dsdt(uint8_t *p, const struct acpi_layout *l, const uint8_t *aml)
{
	struct acpi_header h = { 0 };

	fill_header(&h, "DSDT", (uint32_t)l->dsdt_len, DSDT_REVISION);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), aml, l->dsdt_len - sizeof(h));
	seal(p, l->dsdt_len);
}

static void write_mcfg(uint8_t *p, const struct acpi_layout *l, uint64_t ecam_base)
{
	struct acpi_mcfg m = { 0 };
	struct mcfg_allocation a = { .base = ecam_base, .segment = 0,
				     .start_bus = 0, .end_bus = 0 };

	fill_header(&m.h, "MCFG", (uint32_t)l->mcfg_len, MCFG_REVISION);
	memcpy(p, &m, sizeof(m));
	memcpy(p + sizeof(m), &a, sizeof(a));
	seal(p, l->mcfg_len);
}

static void write_xsdt(uint8_t *p, const struct acpi_layout *l)
{
	struct acpi_header h = { 0 };
	const uint64_t entry[3] = { l->fadt, l->madt, l->mcfg };
	size_t n = (l->xsdt_len - sizeof(h)) / sizeof(entry[0]);

	fill_header(&h, "XSDT", (uint32_t)l->xsdt_len, XSDT_REVISION);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), entry, n * sizeof(entry[0]));
	seal(p, l->xsdt_len);
}

static void write_rsdp(uint8_t *p, const struct acpi_layout *l)
{
	struct acpi_rsdp r = {
		.revision = 2,
		.rsdt_address = 0,
		.length = sizeof(r),
		.xsdt_address = l->xsdt,
	};

	memcpy(r.signature, "RSD PTR ", sizeof(r.signature));
	memcpy(r.oem_id, OEM_ID, sizeof(r.oem_id));
	r.checksum = util__checksum8(&r, 20);
	r.extended_checksum = util__checksum8(&r, sizeof(r));
	memcpy(p, &r, sizeof(r));
}

static bool port_block_ok(const struct devreg_range *r, uint64_t min_len)
{
	return r->size >= min_len && r->size <= UINT8_MAX &&
	       r->base < PORT_LIMIT && r->size <= PORT_LIMIT - r->base;
}

/* Pick the entries the tables describe and check that the FADT and MADT
 * fields can hold them. */
static int find_devices(const struct devreg *r, struct acpi_devices *d)
{
	const struct devreg_entry *pm;
	uint32_t sci;

	*d = (struct acpi_devices){ 0 };
	if (devreg__find_firmware(r, DEVREG_ACPI_PM, "acpi", &d->pm) < 0 ||
	    devreg__find_firmware(r, DEVREG_PS2_CTRL, "acpi", &d->i8042) < 0 ||
	    devreg__find_firmware(r, DEVREG_RTC_CMOS, "acpi", &d->rtc) < 0 ||
	    devreg__find_firmware(r, DEVREG_PCI_HOST, "acpi", &d->pci) < 0)
		return -1;
	pm = d->pm;
	if (!pm) {
		pr_err("acpi: the device registry has no ACPI PM block for the FADT");
		return -1;
	}
	if (pm->nr_pio < 2 || pm->nr_irqs < 1 ||
	    !port_block_ok(&pm->pio[DEVREG_ACPI_PM_EVT], PM1_EVT_MIN_LEN) ||
	    !port_block_ok(&pm->pio[DEVREG_ACPI_PM_CNT], PM1_CNT_MIN_LEN)) {
		pr_err("acpi: '%s' needs a PM1a event block of at least %d ports, a "
		       "control block of at least %d, below 0x10000, and an SCI",
		       pm->name, PM1_EVT_MIN_LEN, PM1_CNT_MIN_LEN);
		return -1;
	}
	sci = pm->irq[0].line;
	if (sci >= 16 || sci == 2 || sci == PIT_ISA_IRQ) {
		pr_err("acpi: SCI on IRQ %u, must be an ISA IRQ other than 0 and 2", sci);
		return -1;
	}
	d->evt_port = (uint16_t)pm->pio[DEVREG_ACPI_PM_EVT].base;
	d->evt_len = (uint8_t)pm->pio[DEVREG_ACPI_PM_EVT].size;
	d->cnt_port = (uint16_t)pm->pio[DEVREG_ACPI_PM_CNT].base;
	d->cnt_len = (uint8_t)pm->pio[DEVREG_ACPI_PM_CNT].size;
	d->sci = (uint8_t)sci;
	return 0;
}

int acpi__write_tables(void *buf, size_t len, uint32_t base_gpa,
		       const struct acpi_config *cfg)
{
	struct acpi_devices d;
	struct acpi_layout l;
	uint8_t *p = buf;
	uint8_t aml[DSDT_AML_MAX];
	long aml_len;

	if (!buf || !cfg || !cfg->devs) {
		pr_err("acpi: no buffer, configuration or device registry");
		return -1;
	}
	if (cfg->nr_cpus < 1 || cfg->nr_cpus > ACPI_MAX_CPUS) {
		pr_err("acpi: %d vCPUs, must be 1..%d", cfg->nr_cpus, ACPI_MAX_CPUS);
		return -1;
	}
	if (find_devices(cfg->devs, &d) < 0)
		return -1;
	if (base_gpa % 16) {
		pr_err("acpi: RSDP at 0x%x is not 16-byte aligned", base_gpa);
		return -1;
	}
	/* The largest layout (254 vCPUs) is a few KiB: no 32-bit wrap
	 * below this bound. */
	if (base_gpa > UINT32_MAX - 0x10000u) {
		pr_err("acpi: tables at 0x%x do not fit below 4 GiB", base_gpa);
		return -1;
	}
	/* Built aside first: nothing is written to 'buf' unless it all
	 * fits. */
	aml_len = dsdt__build(aml, sizeof(aml), cfg->devs);
	if (aml_len < 0)
		return -1;
	lay_out(&l, base_gpa, cfg->nr_cpus, (size_t)aml_len, d.pci && d.pci->pci.ecam_base);
	if (l.total > len) {
		pr_err("acpi: tables need %zu bytes, only %zu available", l.total, len);
		return -1;
	}

	memset(p, 0, l.total);
	write_facs(p + (l.facs - base_gpa));
	write_dsdt(p + (l.dsdt - base_gpa), &l, aml);
	write_madt(p + (l.madt - base_gpa), &l, cfg, &d);
	write_fadt(p + (l.fadt - base_gpa), &l, &d);
	if (l.mcfg)
		write_mcfg(p + (l.mcfg - base_gpa), &l, d.pci->pci.ecam_base);
	write_xsdt(p + (l.xsdt - base_gpa), &l);
	write_rsdp(p + (l.rsdp - base_gpa), &l);
	return (int)l.total;
}
