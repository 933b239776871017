/* acpi_pm.h — the ACPI PM1a fixed-feature registers on I/O ports: the
 * 4-byte event block (PM1 status, write 1 to clear; PM1 enable) and the
 * 2-byte control block, where SLP_EN with the \_S5 sleep type powers the
 * machine off. SCI_EN always reads 1 (no legacy mode); the power button
 * is the one event source, and the SCI line is asserted while an enabled
 * status bit is set. */
#ifndef DEVICES_ACPI_PM_H
#define DEVICES_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

#define ACPI_PM1_EVT_LEN	4
#define ACPI_PM1_CNT_LEN	2

/* PM1 status / enable */
#define ACPI_PM1_TMR_STS	(1u << 0)
#define ACPI_PM1_GBL_STS	(1u << 5)
#define ACPI_PM1_PWRBTN_STS	(1u << 8)
#define ACPI_PM1_SLPBTN_STS	(1u << 9)
#define ACPI_PM1_RTC_STS	(1u << 10)
#define ACPI_PM1_WAK_STS	(1u << 15)
/* PM1 control */
#define ACPI_PM1_SCI_EN		(1u << 0)
#define ACPI_PM1_BM_RLD		(1u << 1)
#define ACPI_PM1_GBL_RLS	(1u << 2)
#define ACPI_PM1_SLP_TYP_SHIFT	10
#define ACPI_PM1_SLP_TYP_MASK	(7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN		(1u << 13)

struct acpi_pm;

struct acpi_pm_ops {
	/* SLP_EN was written with the soft-off sleep type: the guest wants
	 * to be powered off. Called outside the device's lock, once. */
	void (*poweroff)(void *opaque);
	/* Drive the SCI: level 1 while (status & enable) has a bit set.
	 * Called only on changes. */
	void (*set_sci)(void *opaque, int level);
};

/* 's5_slp_typ' is the SLP_TYP value of the DSDT's \_S5 package. */
struct acpi_pm *acpi_pm__create(const struct acpi_pm_ops *ops, void *opaque,
				unsigned s5_slp_typ);
void acpi_pm__free(struct acpi_pm *pm);
/* Register the event block at evt_port and the control block at cnt_port. */
int acpi_pm__register(struct acpi_pm *pm, struct bus *pio, uint16_t evt_port,
		      uint16_t cnt_port);
/* A press of the fixed-feature power button: sets PWRBTN_STS (the SCI
 * rises if the guest enabled the event). Any thread. Returns whether the
 * guest has PWRBTN_EN set: false means no driver listens (yet), and the
 * press waits in the status register for one that enables it. */
bool acpi_pm__power_button(struct acpi_pm *pm);

#endif
