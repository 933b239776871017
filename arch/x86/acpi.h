/* acpi.h — the ACPI tables of an x86 guest: RSDP (ACPI 2.0+), XSDT, FADT
 * (a legacy PC with 8259s, PIT, i8042 and the PM1a register block of
 * devices/pc/acpi_pm.c), FACS, a DSDT (arch/x86/dsdt.c) holding \_S5 (so the
 * guest can power off) and PCI bus 0's root bridge, and a MADT describing
 * every vCPU's LAPIC and the IOAPIC, and an MCFG when PCI has an ECAM
 * window.
 * The MP table stays for guests booted with acpi=off. */
#ifndef X86_ACPI_H
#define X86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SLP_TYP value of the DSDT's \_S5 package: writing it with SLP_EN to
 * PM1a_CNT powers the machine off. */
#define ACPI_S5_SLP_TYP		5
#define ACPI_MAX_CPUS		254	/* processor UID 0xff means "all" */

struct acpi_config {
	int nr_cpus;			/* LAPIC ids and processor UIDs 0..n-1 */
	uint32_t lapic_addr;
	uint32_t ioapic_addr;		/* IOAPIC id nr_cpus, GSI base 0 */
	uint16_t pm1a_evt_port;		/* 4 bytes: PM1 status, PM1 enable */
	uint16_t pm1a_cnt_port;		/* 2 bytes: PM1 control */
	uint8_t sci_irq;		/* ISA IRQ = GSI, level, active high */
	/* PCI bus 0 (devices/pci/pci.h) as the DSDT's \_SB.PCI0, a PNP0A03 root
	 * bridge with the config ports 0xCF8..0xCFF, these windows (as given
	 * to pci__create(): [base, end), left out when empty) and the INTx
	 * routing of x86_irq__pci_intx(). No root bridge when 'pci' is false. */
	bool pci;
	uint32_t pci_io_base, pci_io_end;		/* end <= 0x10000 */
	uint64_t pci_mmio32_base, pci_mmio32_end;	/* end <= 4 GiB */
	uint64_t pci_mmio64_base, pci_mmio64_end;
	/* The ECAM window of bus 0 (PCI_ECAM_SIZE, below 4 GiB, outside the
	 * BAR windows), 0 for none: an MCFG table (segment 0, buses 0-0)
	 * and a PNP0C02 motherboard resource in the DSDT reserving it, which
	 * Linux requires before it uses MMCONFIG. */
	uint64_t pci_ecam_base;
};

/* Write the tables at 'buf', which the guest sees at base_gpa (16-byte
 * aligned, everything below 4 GiB); the RSDP is at offset 0, where the
 * guest is told to look (boot_params.acpi_rsdp_addr) or finds it by
 * scanning 0xe0000-0xfffff. Returns the number of bytes used, or -1 if
 * 'len' is too small or the configuration is out of range. */
int acpi__write_tables(void *buf, size_t len, uint32_t base_gpa,
		       const struct acpi_config *cfg);

#endif
