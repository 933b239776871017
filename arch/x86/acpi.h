/* acpi.h — the ACPI tables of an x86 guest: RSDP (ACPI 2.0+), XSDT, FADT
 * (a legacy PC with 8259s, PIT, i8042 and the PM1a register block of
 * devices/pc/acpi_pm.c, as the device registry describes them), FACS, a DSDT (arch/x86/dsdt.c) holding \_S5 (so the
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

struct devreg;

struct acpi_config {
	int nr_cpus;			/* LAPIC ids and processor UIDs 0..n-1 */
	uint32_t lapic_addr;
	uint32_t ioapic_addr;		/* IOAPIC id nr_cpus, GSI base 0 */
	/* The platform devices (vmm/devreg.h); only entries marked
	 * 'firmware' are described, one of each kind at most:
	 * - the ACPI PM block (required): the FADT's PM1a event block
	 *   (pio[DEVREG_ACPI_PM_EVT], at least 4 ports) and control block
	 *   (pio[DEVREG_ACPI_PM_CNT], at least 2), its SCI (irq[0], an ISA
	 *   IRQ other than 0 and 2) in the FADT and as a MADT override with
	 *   the entry's trigger and polarity;
	 * - a PS/2 controller: the FADT's IAPC_BOOT_ARCH 8042 bit;
	 * - a CMOS RTC: the FADT's century byte (CMOS 0x32) and RTC_S4;
	 * - a PCI host: the DSDT's \_SB.PCI0 (arch/x86/dsdt.c) and, with an
	 *   ECAM window, the MCFG. No PCI host, no PCI0. */
	const struct devreg *devs;
};

/* Write the tables at 'buf', which the guest sees at base_gpa (16-byte
 * aligned, everything below 4 GiB); the RSDP is at offset 0, where the
 * guest is told to look (boot_params.acpi_rsdp_addr) or finds it by
 * scanning 0xe0000-0xfffff. Returns the number of bytes used, or -1 if
 * 'len' is too small or the configuration is out of range. */
int acpi__write_tables(void *buf, size_t len, uint32_t base_gpa,
		       const struct acpi_config *cfg);

#endif
