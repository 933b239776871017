/* acpi_pm.c — ACPI PM1a event and control registers (see acpi_pm.h).
 *
 * Event block (4 bytes): PM1 status at offset 0, PM1 enable at offset 2.
 * Control block (2 bytes): PM1 control. Each is a 16-bit register; the
 * guest may access any byte lanes of a block with 1-, 2- or 4-byte I/O
 * (a dword read of the event block returns status | enable << 16), and a
 * write changes only the lanes it covers.
 *
 * Status bits are set by events (here only the power button) and cleared
 * by writing 1 to them; writing 0 changes nothing. Enable bits hold what
 * the guest writes (the ones the spec defines). In the control register
 * SCI_EN reads 1 whatever is written (the FADT has no SMI_CMD, so there
 * is no legacy mode to switch from), SLP_TYP and BM_RLD hold what is
 * written, GBL_RLS and SLP_EN read 0. A write with SLP_EN set and SLP_TYP
 * equal to the \_S5 value runs the poweroff callback, once; any other
 * sleep type is not offered by the DSDT and is ignored (reported once).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "devices/pc/acpi_pm.h"
#include "vmm/log.h"

#define PM1_STS_MASK	(ACPI_PM1_TMR_STS | (1u << 4) /* BM_STS */ | \
			 ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | \
			 ACPI_PM1_SLPBTN_STS | ACPI_PM1_RTC_STS | \
			 (1u << 14) /* PCIEXP_WAKE_STS */ | ACPI_PM1_WAK_STS)
/* The enable bits sit where their status bits do; bit 14 is
 * PCIEXP_WAKE_DIS. */
#define PM1_EN_MASK	(ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | \
			 ACPI_PM1_PWRBTN_STS | ACPI_PM1_SLPBTN_STS | \
			 ACPI_PM1_RTC_STS | (1u << 14))
#define PM1_CNT_STORED	(ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)

#define PM1_STS_OFF	0
#define PM1_EN_OFF	2

struct acpi_pm {
	pthread_mutex_t lock;
	struct acpi_pm_ops ops;
	void *opaque;
	unsigned s5_slp_typ;
	uint16_t sts, en, cnt;
	int sci_level;
	bool powered_off;
	bool warned_slp_typ;
};

/* The part of a 'len'-byte access at block offset 'off' that falls on
 * the 16-bit register at block offset 'reg': its value and byte mask.
 * Returns false if the access misses the register. */
static bool lanes(uint64_t off, const uint8_t *data, uint32_t len,
		  uint64_t reg, uint16_t *val, uint16_t *mask)
{
	*val = *mask = 0;
	for (uint32_t i = 0; i < len; i++) {
		uint64_t b = off + i;

		if (b < reg || b >= reg + 2)
			continue;
		*val |= (uint16_t)(data[i] << (8 * (b - reg)));
		*mask |= (uint16_t)(0xff << (8 * (b - reg)));
	}
	return *mask != 0;
}

static void read_lanes(uint64_t off, uint8_t *data, uint32_t len,
		       uint64_t reg, uint16_t val)
{
	for (uint32_t i = 0; i < len; i++) {
		uint64_t b = off + i;

		if (b >= reg && b < reg + 2)
			data[i] = (uint8_t)(val >> (8 * (b - reg)));
	}
}

static void update_sci(struct acpi_pm *pm)
{
	int level = (pm->sts & pm->en) != 0;

	if (level == pm->sci_level)
		return;
	pm->sci_level = level;
	if (pm->ops.set_sci)
		pm->ops.set_sci(pm->opaque, level);
}

static void evt_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = dev;

	for (uint32_t i = 0; i < len; i++)
		data[i] = 0xff;
	pthread_mutex_lock(&pm->lock);
	read_lanes(off, data, len, PM1_STS_OFF, pm->sts);
	read_lanes(off, data, len, PM1_EN_OFF, pm->en);
	pthread_mutex_unlock(&pm->lock);
}

static void evt_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = dev;
	uint16_t val, mask;

	pthread_mutex_lock(&pm->lock);
	if (lanes(off, data, len, PM1_STS_OFF, &val, &mask))
		pm->sts &= (uint16_t)~(val & mask);
	if (lanes(off, data, len, PM1_EN_OFF, &val, &mask))
		pm->en = (uint16_t)(((pm->en & ~mask) | (val & mask)) & PM1_EN_MASK);
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void cnt_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = dev;

	for (uint32_t i = 0; i < len; i++)
		data[i] = 0xff;
	pthread_mutex_lock(&pm->lock);
	read_lanes(off, data, len, 0, (uint16_t)(pm->cnt | ACPI_PM1_SCI_EN));
	pthread_mutex_unlock(&pm->lock);
}

static void cnt_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = dev;
	uint16_t val, mask, written;
	bool poweroff = false;
	unsigned typ;

	if (!lanes(off, data, len, 0, &val, &mask))
		return;
	pthread_mutex_lock(&pm->lock);
	/* The register as the guest wrote it: unwritten lanes keep their
	 * stored value (SLP_EN and GBL_RLS are never stored). */
	written = (uint16_t)((pm->cnt & ~mask) | (val & mask));
	pm->cnt = written & PM1_CNT_STORED;
	if ((val & mask) & ACPI_PM1_SLP_EN) {
		typ = (written & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;
		if (typ == pm->s5_slp_typ) {
			poweroff = !pm->powered_off;
			pm->powered_off = true;
		} else if (!pm->warned_slp_typ) {
			pm->warned_slp_typ = true;
			pr_warn("acpi: guest asked for sleep type %u, only %u (soft off) is "
				"supported; ignored", typ, pm->s5_slp_typ);
		}
	}
	pthread_mutex_unlock(&pm->lock);
	/* Outside the lock: the callback may stop vCPUs or tear down the VM. */
	if (poweroff && pm->ops.poweroff)
		pm->ops.poweroff(pm->opaque);
}

static const struct bus_dev_ops evt_ops = {
	.read = evt_read,
	.write = evt_write,
};

static const struct bus_dev_ops cnt_ops = {
	.read = cnt_read,
	.write = cnt_write,
};

bool acpi_pm__power_button(struct acpi_pm *pm)
{
	bool enabled;

	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN_STS;
	enabled = pm->en & ACPI_PM1_PWRBTN_STS;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return enabled;
}

struct acpi_pm *acpi_pm__create(const struct acpi_pm_ops *ops, void *opaque,
				unsigned s5_slp_typ)
{
	struct acpi_pm *pm;

	if (s5_slp_typ > (ACPI_PM1_SLP_TYP_MASK >> ACPI_PM1_SLP_TYP_SHIFT)) {
		pr_err("acpi: sleep type %u does not fit SLP_TYP", s5_slp_typ);
		return NULL;
	}
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	if (pthread_mutex_init(&pm->lock, NULL)) {
		free(pm);
		return NULL;
	}
	if (ops)
		pm->ops = *ops;
	pm->opaque = opaque;
	pm->s5_slp_typ = s5_slp_typ;
	return pm;
}

void acpi_pm__free(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

int acpi_pm__register(struct acpi_pm *pm, struct bus *pio, uint16_t evt_port,
		      uint16_t cnt_port)
{
	if (bus__register(pio, evt_port, ACPI_PM1_EVT_LEN, &evt_ops, pm) < 0)
		return -1;
	if (bus__register(pio, cnt_port, ACPI_PM1_CNT_LEN, &cnt_ops, pm) < 0) {
		bus__unregister(pio, evt_port);
		return -1;
	}
	return 0;
}
