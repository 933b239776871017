/* dsdt.c — the DSDT's AML (see dsdt.h), built with arch/x86/aml.c:
 *
 *   Name (_S5, Package () { ACPI_S5_SLP_TYP, Zero, Zero, Zero })
 *   Scope (\_SB) {
 *     Device (PCI0) {
 *       Name (_HID, EisaId ("PNP0A03"))	PCI (the ECAM window, if any, is in MCFG)
 *       Name (_UID, Zero)  Name (_SEG, Zero)  Name (_BBN, Zero)
 *       Name (_CRS, ResourceTemplate () {
 *         WordBusNumber (0x00-0x00)
 *         IO (Decode16, 0xCF8, 0xCF8, 1, 8)	the config ports
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
 * _PRT has an entry for each INTA#..INTD# of slots 1..31, the GSI from
 * x86_irq__pci_intx() so the routing lives in one place; a Zero source means
 * the GSI is used directly, which Linux programs level triggered, active
 * low, as the INTx lines are. No _ADR: a device with _HID must not have
 * one. */
#include "arch/x86/aml.h"
#include "arch/x86/dsdt.h"
#include "arch/x86/irq.h"
#include "devices/pci/pci.h"
#include "vmm/log.h"

#define PCI_IO_LIMIT		0x10000u
#define MMIO32_LIMIT		0x100000000ull
#define PCI_CFG_PORTS		8		/* 0xCF8..0xCFF */
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

static void write_crs(struct aml *a, const struct acpi_config *c)
{
	size_t rt;

	aml__name(a, "_CRS");
	rt = aml__resource_template_begin(a);
	aml__res_word_bus_number(a, 0, 0);
	aml__res_io(a, PCI_CONFIG_ADDRESS_PORT, PCI_CONFIG_ADDRESS_PORT, 1,
		    PCI_CFG_PORTS);
	if (c->pci_io_end > c->pci_io_base)
		aml__res_word_io(a, (uint16_t)c->pci_io_base,
				 (uint16_t)(c->pci_io_end - 1));
	if (c->pci_mmio32_end > c->pci_mmio32_base)
		aml__res_dword_memory(a, (uint32_t)c->pci_mmio32_base,
				      (uint32_t)(c->pci_mmio32_end - 1),
				      AML_MEM_NONCACHEABLE);
	if (c->pci_mmio64_end > c->pci_mmio64_base)
		aml__res_qword_memory(a, c->pci_mmio64_base, c->pci_mmio64_end - 1,
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

static void write_pci0(struct aml *a, const struct acpi_config *c)
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
	write_crs(a, c);
	write_prt(a);
	aml__end(a, dev);
	aml__end(a, sb);
}

/* The ECAM window as a motherboard resource, so the guest accepts it. */
static void write_ecam_reservation(struct aml *a, const struct acpi_config *c)
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
	aml__res_dword_memory(a, (uint32_t)c->pci_ecam_base,
			      (uint32_t)(c->pci_ecam_base + PCI_ECAM_SIZE - 1),
			      AML_MEM_NONCACHEABLE);
	aml__resource_template_end(a, rt);
	aml__end(a, dev);
	aml__end(a, sb);
}

static bool overlaps64(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
	return a < b_end && b < a_end;
}

static bool check_pci(const struct acpi_config *c)
{
	uint64_t e = c->pci_ecam_base, e_end = e + PCI_ECAM_SIZE;

	if (e && (e % PCI_ECAM_SIZE || e_end > MMIO32_LIMIT ||
		  overlaps64(e, e_end, c->pci_mmio32_base, c->pci_mmio32_end) ||
		  overlaps64(e, e_end, c->pci_mmio64_base, c->pci_mmio64_end))) {
		pr_err("acpi: PCI ECAM window at 0x%llx is unaligned, above 4 GiB "
		       "or inside a BAR window", (unsigned long long)e);
		return false;
	}
	if (c->pci_io_base > c->pci_io_end || c->pci_io_end > PCI_IO_LIMIT ||
	    (c->pci_io_end > c->pci_io_base &&
	     c->pci_io_base < PCI_CONFIG_ADDRESS_PORT + PCI_CFG_PORTS &&
	     c->pci_io_end > PCI_CONFIG_ADDRESS_PORT)) {
		pr_err("acpi: PCI I/O window 0x%x..0x%x is not inside 0..0x10000 "
		       "or holds the config ports", c->pci_io_base, c->pci_io_end);
		return false;
	}
	if (c->pci_mmio32_base > c->pci_mmio32_end || c->pci_mmio32_end > MMIO32_LIMIT) {
		pr_err("acpi: PCI 32-bit window 0x%llx..0x%llx is not below 4 GiB",
		       (unsigned long long)c->pci_mmio32_base,
		       (unsigned long long)c->pci_mmio32_end);
		return false;
	}
	if (c->pci_mmio64_base > c->pci_mmio64_end) {
		pr_err("acpi: PCI 64-bit window 0x%llx..0x%llx is reversed",
		       (unsigned long long)c->pci_mmio64_base,
		       (unsigned long long)c->pci_mmio64_end);
		return false;
	}
	return true;
}

long dsdt__build(void *buf, size_t size, const struct acpi_config *cfg)
{
	struct aml a;
	long len;

	if (cfg->pci && !check_pci(cfg))
		return -1;
	aml__init(&a, buf, size);
	write_s5(&a);
	if (cfg->pci)
		write_pci0(&a, cfg);
	if (cfg->pci && cfg->pci_ecam_base)
		write_ecam_reservation(&a, cfg);
	len = aml__finish(&a);
	if (len < 0)
		pr_err("acpi: cannot build the DSDT in %zu bytes", size);
	return len;
}
