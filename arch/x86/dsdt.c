/* dsdt.c — the DSDT's AML (see dsdt.h), built with arch/x86/aml.c:
 *
 *   Name (_S5, Package () { ACPI_S5_SLP_TYP, Zero, Zero, Zero })
 *   Scope (\_SB) {
 *     Device (PCI0) {
 *       Name (_HID, EisaId ("PNP0A03"))	PCI (the ECAM window, if any, is in MCFG)
 *       Name (_UID, Zero)  Name (_SEG, Zero)  Name (_BBN, Zero)
 *       Name (_CRS, ResourceTemplate () {
 *         WordBusNumber (0x00-0x00)
 *         IO (Decode16, 0xCF8, 0xCF8, 1, 8)	the config ports, if any
 *         WordIO (I/O BAR window)
 *         DWordMemory (32-bit BAR window)
 *         QWordMemory (64-bit BAR window, if any)
 *       })
 *       Name (_PRT, Package () {
 *         Package () { slot << 16 | 0xFFFF, pin, Zero, GSI }, ...
 *       })
 *     }
 *     Device (MRES) {				only with an ECAM window
 *       Name (_HID, EisaId ("PNP0C02"))	motherboard resources
 *       Name (_UID, One)
 *       Name (_CRS, ResourceTemplate () { DWordMemory (the ECAM window) })
 *     }
 *   }
 *
 * Linux uses the MCFG's window only when firmware reserves it, in the
 * e820 map or as a PNP0C01/PNP0C02 resource ("MMCONFIG ... not reserved
 * in ACPI motherboard resources"); MRES is the ACPI half.
 *
 * Everything inside PCI0 and MRES comes from the PCI host's entry in the
 * device registry (vmm/devreg.h), which arch/x86/vm.c also builds the
 * host from; the registry has already refused overlapping windows.
 *
 * _PRT has an entry for each INTA#..INTD# of slots 1..31, the GSI from
 * x86_irq__pci_intx() so the routing lives in one place; a Zero source means
 * the GSI is used directly, which Linux programs level triggered, active
 * low, as the INTx lines are. No _ADR: a device with _HID must not have
 * one. */
#include "arch/x86/aml.h"
#include "arch/x86/dsdt.h"
#include "arch/x86/irq.h"
#include "devices/pci/pci.h"
#include "vmm/devreg.h"
#include "vmm/log.h"

#define PCI_IO_LIMIT		0x10000u
#define MMIO32_LIMIT		0x100000000ull
#define IO_DESC_MAX_LEN		0xffu		/* IO(): an 8-bit length */
#define PRT_ALL_FUNCTIONS	0xffff
#define PCI_INTX_PINS		4

static void write_s5(struct aml *a)
{
	size_t pkg;

	aml__name(a, "_S5");
	pkg = aml__package_begin(a, 4);
	aml__integer(a, ACPI_S5_SLP_TYP);	/* SLP_TYPa */
	aml__integer(a, 0);			/* SLP_TYPb */
	aml__integer(a, 0);			/* reserved */
	aml__integer(a, 0);
	aml__end(a, pkg);
}

static void write_crs(struct aml *a, const struct devreg_entry *host)
{
	const struct devreg_pci_host *w = &host->pci;
	size_t rt;

	aml__name(a, "_CRS");
	rt = aml__resource_template_begin(a);
	aml__res_word_bus_number(a, 0, 0);
	if (host->nr_pio > DEVREG_PCI_CFG_PORTS) {
		const struct devreg_range *cfg = &host->pio[DEVREG_PCI_CFG_PORTS];

		aml__res_io(a, (uint16_t)cfg->base, (uint16_t)cfg->base, 1,
			    (uint8_t)cfg->size);
	}
	if (w->io_end > w->io_base)
		aml__res_word_io(a, (uint16_t)w->io_base, (uint16_t)(w->io_end - 1));
	if (w->mmio32_end > w->mmio32_base)
		aml__res_dword_memory(a, (uint32_t)w->mmio32_base,
				      (uint32_t)(w->mmio32_end - 1),
				      AML_MEM_NONCACHEABLE);
	if (w->mmio64_end > w->mmio64_base)
		aml__res_qword_memory(a, w->mmio64_base, w->mmio64_end - 1,
				      AML_MEM_NONCACHEABLE);
	aml__resource_template_end(a, rt);
}

static void write_prt(struct aml *a)
{
	size_t prt;

	aml__name(a, "_PRT");
	prt = aml__package_begin(a, (PCI_NR_SLOTS - 1) * PCI_INTX_PINS);
	for (unsigned slot = 1; slot < PCI_NR_SLOTS; slot++) {
		for (unsigned pin = 0; pin < PCI_INTX_PINS; pin++) {
			size_t entry = aml__package_begin(a, 4);

			aml__dword(a, slot << 16 | PRT_ALL_FUNCTIONS);
			aml__integer(a, pin);		/* 0: INTA# */
			aml__integer(a, 0);		/* Source: a GSI */
			aml__integer(a, (uint64_t)x86_irq__pci_intx(slot, pin + 1));
			aml__end(a, entry);
		}
	}
	aml__end(a, prt);
}

static void write_pci0(struct aml *a, const struct devreg_entry *host)
{
	size_t sb, dev;

	sb = aml__scope_begin(a, "\\_SB");
	dev = aml__device_begin(a, "PCI0");
	aml__name(a, "_HID");
	aml__eisaid(a, "PNP0A03");
	aml__name(a, "_UID");
	aml__integer(a, 0);
	aml__name(a, "_SEG");
	aml__integer(a, 0);
	aml__name(a, "_BBN");
	aml__integer(a, 0);
	write_crs(a, host);
	write_prt(a);
	aml__end(a, dev);
	aml__end(a, sb);
}

/* The ECAM window as a motherboard resource, so the guest accepts it. */
static void write_ecam_reservation(struct aml *a, const struct devreg_pci_host *w)
{
	size_t sb, dev, rt;

	sb = aml__scope_begin(a, "\\_SB");
	dev = aml__device_begin(a, "MRES");
	aml__name(a, "_HID");
	aml__eisaid(a, "PNP0C02");
	aml__name(a, "_UID");
	aml__integer(a, 1);
	aml__name(a, "_CRS");
	rt = aml__resource_template_begin(a);
	aml__res_dword_memory(a, (uint32_t)w->ecam_base,
			      (uint32_t)(w->ecam_base + w->ecam_size - 1),
			      AML_MEM_NONCACHEABLE);
	aml__resource_template_end(a, rt);
	aml__end(a, dev);
	aml__end(a, sb);
}

/* What the resource descriptors and the MCFG can hold: the registry
 * knows nothing of ACPI's field widths. Overlaps it has refused already. */
static bool check_pci(const struct devreg_entry *host)
{
	const struct devreg_pci_host *w = &host->pci;
	uint64_t e = w->ecam_base;

	if (e && (w->ecam_size != PCI_ECAM_SIZE || e % PCI_ECAM_SIZE ||
		  e + PCI_ECAM_SIZE > MMIO32_LIMIT)) {
		pr_err("acpi: '%s': ECAM window at 0x%llx is not %u bytes, aligned, "
		       "below 4 GiB", host->name, (unsigned long long)e, PCI_ECAM_SIZE);
		return false;
	}
	if (host->nr_pio > DEVREG_PCI_CFG_PORTS) {
		const struct devreg_range *cfg = &host->pio[DEVREG_PCI_CFG_PORTS];

		if (cfg->base >= PCI_IO_LIMIT || cfg->size > IO_DESC_MAX_LEN ||
		    cfg->size > PCI_IO_LIMIT - cfg->base) {
			pr_err("acpi: '%s': config ports 0x%llx (%llu) do not fit an "
			       "IO descriptor", host->name,
			       (unsigned long long)cfg->base, (unsigned long long)cfg->size);
			return false;
		}
	}
	if (w->io_end > PCI_IO_LIMIT) {
		pr_err("acpi: '%s': PCI I/O window 0x%llx..0x%llx is not inside 0..0x10000",
		       host->name, (unsigned long long)w->io_base,
		       (unsigned long long)w->io_end);
		return false;
	}
	if (w->mmio32_end > MMIO32_LIMIT) {
		pr_err("acpi: '%s': PCI 32-bit window 0x%llx..0x%llx is not below 4 GiB",
		       host->name, (unsigned long long)w->mmio32_base,
		       (unsigned long long)w->mmio32_end);
		return false;
	}
	return true;
}

long dsdt__build(void *buf, size_t size, const struct devreg *devs)
{
	const struct devreg_entry *host = NULL;
	struct aml a;
	long len;

	if (devs && devreg__find_firmware(devs, DEVREG_PCI_HOST, "acpi", &host) < 0)
		return -1;
	if (host && !check_pci(host))
		return -1;
	aml__init(&a, buf, size);
	write_s5(&a);
	if (host)
		write_pci0(&a, host);
	if (host && host->pci.ecam_base)
		write_ecam_reservation(&a, &host->pci);
	len = aml__finish(&a);
	if (len < 0)
		pr_err("acpi: cannot build the DSDT in %zu bytes", size);
	return len;
}
