/* devreg_pc.h — device registries for the table tests (test_acpi.c,
 * test_dsdt.c): the devices the ACPI tables describe, at the PC's
 * addresses, with the PCI host's windows chosen by the test. The PC as
 * arch/x86/vm.c registers it is x86_vm__describe(); these let a test move
 * one resource and see the tables follow. Include after cmocka.h. */
#ifndef TESTS_UNIT_DEVREG_PC_H
#define TESTS_UNIT_DEVREG_PC_H

#include <string.h>

#include "vmm/devreg.h"

#define PC_EVT_PORT	0x600
#define PC_CNT_PORT	0x604
#define PC_SCI_IRQ	9

static inline struct devreg_entry devreg_pc__pm(uint16_t evt, uint16_t cnt, uint32_t sci)
{
	return (struct devreg_entry){
		.kind = DEVREG_ACPI_PM, .name = "pm1a", .firmware = true,
		.nr_pio = 2, .pio = {
			[DEVREG_ACPI_PM_EVT] = { evt, 4 },
			[DEVREG_ACPI_PM_CNT] = { cnt, 2 },
		},
		.nr_irqs = 1, .irq = { { sci, DEVREG_IRQ_LEVEL, DEVREG_IRQ_HIGH } },
	};
}

/* The windows the tests used before the registry: no ECAM. */
static inline struct devreg_pci_host devreg_pc__windows(void)
{
	return (struct devreg_pci_host){
		.io_base = 0x1000, .io_end = 0x10000,
		.mmio32_base = 0xc0000000u, .mmio32_end = 0xfec00000u,
	};
}

static inline struct devreg_entry devreg_pc__host(const struct devreg_pci_host *w)
{
	return (struct devreg_entry){
		.kind = DEVREG_PCI_HOST, .name = "pci0", .firmware = true,
		.nr_pio = 1, .pio = { [DEVREG_PCI_CFG_PORTS] = { 0xcf8, 8 } },
		.pci = *w,
	};
}

/* PM block, i8042, RTC and, when 'w' is not NULL, a PCI host with those
 * windows; returns what devreg__add said of the host. */
static inline int devreg_pc__fill(struct devreg *r, const struct devreg_pci_host *w)
{
	const struct devreg_entry pm = devreg_pc__pm(PC_EVT_PORT, PC_CNT_PORT, PC_SCI_IRQ);
	const struct devreg_entry i8042 = {
		.kind = DEVREG_PS2_CTRL, .name = "i8042", .firmware = true,
		.nr_pio = 2, .pio = { { 0x60, 1 }, { 0x64, 1 } },
	};
	const struct devreg_entry rtc = {
		.kind = DEVREG_RTC_CMOS, .name = "rtc", .firmware = true,
		.nr_pio = 1, .pio = { { 0x70, 2 } },
	};
	struct devreg_entry host;

	devreg__init(r);
	assert_int_equal(devreg__add(r, &pm), 0);
	assert_int_equal(devreg__add(r, &i8042), 0);
	assert_int_equal(devreg__add(r, &rtc), 0);
	if (!w)
		return 0;
	host = devreg_pc__host(w);
	return devreg__add(r, &host);
}

#endif
