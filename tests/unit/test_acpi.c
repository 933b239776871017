/* test_acpi.c — the ACPI tables (arch/x86/acpi.c), parsed as a guest does
 * from the RSDP down: signatures, checksums, lengths, pointers that land
 * on the tables inside the buffer, the FADT fields Linux relies on, the
 * MADT for 1, 2, 64 and 254 vCPUs and the DSDT's \_S5 bytes (the rest of
 * the DSDT: test_dsdt.c), the MCFG of an ECAM window; and the PM1a register block (devices/pc/acpi_pm.c)
 * through a real port-I/O bus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "devices/pc/acpi_pm.h"
#include "vmm/bus.h"

#define BASE_GPA	0xe0000u
#define BUF_SIZE	0x10000
#define IOAPIC_ADDR	0xfec00000u
#define LAPIC_ADDR	0xfee00000u
#define EVT_PORT	0x600
#define CNT_PORT	0x604
#define SCI_IRQ		9

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static struct acpi_config config(int nr_cpus)
{
	return (struct acpi_config){
		.nr_cpus = nr_cpus,
		.lapic_addr = LAPIC_ADDR,
		.ioapic_addr = IOAPIC_ADDR,
		.pm1a_evt_port = EVT_PORT,
		.pm1a_cnt_port = CNT_PORT,
		.sci_irq = SCI_IRQ,
		.pci = true,
		.pci_io_base = 0x1000,
		.pci_io_end = 0x10000,
		.pci_mmio32_base = 0xc0000000u,
		.pci_mmio32_end = 0xfec00000u,
	};
}

/* The table at guest-physical 'gpa': inside what was written, with the
 * signature, a length that fits, and a zero byte sum. */
static const uint8_t *table(const uint8_t *buf, int used, uint64_t gpa,
			    const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= BASE_GPA);
	assert_true(gpa + 36 <= BASE_GPA + (uint64_t)used);
	t = buf + (gpa - BASE_GPA);
	assert_memory_equal(t, sig, 4);
	len = le32(t + 4);
	assert_true(len >= 36);
	assert_true(gpa + len <= BASE_GPA + (uint64_t)used);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "VMM   ", 6);
	return t;
}

static void check_gas(const uint8_t *g, uint16_t port, uint8_t bits)
{
	assert_int_equal(g[0], 1);		/* system I/O */
	assert_int_equal(g[1], bits);
	assert_int_equal(g[2], 0);		/* bit offset */
	assert_int_equal(le64(g + 4), port);
}

static void check_fadt(const uint8_t *f, const uint8_t *buf, int used)
{
	const uint8_t *facs, *dsdt;
	uint32_t facs_gpa = le32(f + 36), dsdt_gpa = le32(f + 40);

	assert_int_equal(le32(f + 4), 276);
	assert_int_equal(f[8], 6);			/* revision */
	assert_int_equal(le16(f + 46), SCI_IRQ);	/* SCI_INT */
	assert_int_equal(le32(f + 48), 0);		/* SMI_CMD: no legacy mode */
	assert_int_equal(le32(f + 56), EVT_PORT);
	assert_int_equal(le32(f + 60), 0);		/* no PM1b */
	assert_int_equal(le32(f + 64), CNT_PORT);
	assert_int_equal(le32(f + 68), 0);
	assert_int_equal(le32(f + 76), 0);		/* no PM timer */
	assert_int_equal(le32(f + 80), 0);		/* no GPE blocks */
	assert_int_equal(le32(f + 84), 0);
	assert_int_equal(f[88], 4);			/* PM1_EVT_LEN */
	assert_int_equal(f[89], 2);			/* PM1_CNT_LEN */
	assert_int_equal(f[91], 0);			/* PM_TMR_LEN */
	assert_int_equal(f[92], 0);
	assert_int_equal(f[93], 0);
	assert_int_equal(f[108], 0x32);			/* CMOS century */
	assert_int_equal(le16(f + 109), 0x3);		/* LEGACY_DEVICES | 8042 */
	/* WBINVD set; HW_REDUCED_ACPI (bit 20) clear; power button a
	 * fixed feature (bit 4 clear). */
	assert_true(le32(f + 112) & (1u << 0));
	assert_false(le32(f + 112) & (1u << 20));
	assert_false(le32(f + 112) & (1u << 4));
	/* 64-bit fields agree with the 32-bit ones. */
	assert_int_equal(le64(f + 132), 0);	/* X_FIRMWARE_CTRL: the 32-bit field is enough */
	assert_int_equal(le64(f + 140), dsdt_gpa);
	check_gas(f + 148, EVT_PORT, 32);
	check_gas(f + 172, CNT_PORT, 16);
	for (int off = 160; off < 172; off++)		/* X_PM1b_EVT_BLK */
		assert_int_equal(f[off], 0);
	for (int off = 208; off < 244; off++)		/* X_PM_TMR, X_GPE0/1 */
		assert_int_equal(f[off], 0);

	/* FACS: 64-byte aligned, no checksum. */
	assert_int_equal(facs_gpa % 64, 0);
	assert_true(facs_gpa >= BASE_GPA && facs_gpa + 64 <= BASE_GPA + (uint64_t)used);
	facs = buf + (facs_gpa - BASE_GPA);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(le32(facs + 4), 64);

	/* DSDT: Name (_S5, Package () { 5, 0, 0, 0 }) first, then the PCI
	 * root bridge (its bytes: test_dsdt.c). */
	dsdt = table(buf, used, dsdt_gpa, "DSDT");
	{
		static const uint8_t aml[] = {
			0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04,
			0x0a, 0x05, 0x00, 0x00, 0x00,
		};
		static const uint8_t pci0[] = { 0x5b, 0x82 };	/* Device () */
		uint32_t dsdt_len = le32(dsdt + 4);

		assert_true(dsdt_len > 36 + sizeof(aml));
		assert_int_equal(dsdt[8], 2);	/* 64-bit AML integers */
		assert_memory_equal(dsdt + 36, aml, sizeof(aml));
		assert_int_equal(dsdt[36 + 9], ACPI_S5_SLP_TYP);
		assert_non_null(memmem(dsdt + 36, dsdt_len - 36, pci0, sizeof(pci0)));
		assert_non_null(memmem(dsdt + 36, dsdt_len - 36, "PCI0", 4));
	}
}

static void check_madt(const uint8_t *m, int n)
{
	uint32_t len = le32(m + 4), off = 44;
	int lapics = 0, ioapics = 0, isos = 0, nmis = 0;
	bool pit = false, sci = false;

	assert_int_equal(len, 44 + 8 * n + 12 + 2 * 10 + 6);
	assert_int_equal(le32(m + 36), LAPIC_ADDR);
	assert_int_equal(le32(m + 40), 1);		/* PCAT_COMPAT */
	while (off < len) {
		const uint8_t *e = m + off;

		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);	/* UID */
			assert_int_equal(e[3], lapics);	/* APIC id */
			assert_int_equal(le32(e + 4), 1);	/* enabled */
			lapics++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], n);
			assert_int_equal(le32(e + 4), IOAPIC_ADDR);
			assert_int_equal(le32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);		/* ISA */
			if (e[3] == 0) {
				assert_int_equal(le32(e + 4), 2);
				assert_int_equal(le16(e + 8), 0);
				pit = true;
			} else {
				assert_int_equal(e[3], SCI_IRQ);
				assert_int_equal(le32(e + 4), SCI_IRQ);
				assert_int_equal(le16(e + 8), 0xd);	/* high, level */
				sci = true;
			}
			isos++;
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);		/* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, len);
	assert_int_equal(lapics, n);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
	assert_true(pit && sci);
	assert_int_equal(nmis, 1);
}

static void check_tables(int n)
{
	uint8_t *buf = malloc(BUF_SIZE);
	struct acpi_config cfg = config(n);
	const uint8_t *xsdt, *fadt = NULL, *madt = NULL;
	int used;

	assert_non_null(buf);
	memset(buf, 0xcc, BUF_SIZE);
	used = acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg);
	assert_true(used > 0 && used < BUF_SIZE);
	assert_int_equal(buf[used], 0xcc);	/* nothing written past the end */

	/* RSDP */
	assert_memory_equal(buf, "RSD PTR ", 8);
	assert_int_equal(sum(buf, 20), 0);
	assert_int_equal(buf[15], 2);			/* revision */
	assert_int_equal(le32(buf + 20), 36);
	assert_int_equal(sum(buf, 36), 0);

	/* XSDT -> FADT, MADT */
	xsdt = table(buf, used, le64(buf + 24), "XSDT");
	assert_int_equal(le32(xsdt + 4), 36 + 2 * 8);
	for (int i = 0; i < 2; i++) {
		uint64_t gpa = le64(xsdt + 36 + 8 * i);
		const uint8_t *t = buf + (gpa - BASE_GPA);

		assert_true(gpa >= BASE_GPA && gpa < BASE_GPA + (uint64_t)used);
		if (!memcmp(t, "FACP", 4))
			fadt = table(buf, used, gpa, "FACP");
		else
			madt = table(buf, used, gpa, "APIC");
	}
	assert_non_null(fadt);
	assert_non_null(madt);
	check_fadt(fadt, buf, used);
	check_madt(madt, n);
	free(buf);
}

static void test_tables_1(void **state)
{
	check_tables(1);
}

static void test_tables_2(void **state)
{
	check_tables(2);
}

static void test_tables_64(void **state)
{
	check_tables(64);
}

static void test_tables_254(void **state)
{
	check_tables(ACPI_MAX_CPUS);
}

/* With an ECAM window: XSDT -> FADT, MADT, MCFG; the MCFG (checksum and
 * length checked by table()) has one allocation, segment 0, bus 0-0. */
static void test_tables_mcfg(void **state)
{
	uint8_t *buf = malloc(BUF_SIZE);
	struct acpi_config cfg = config(2);
	const uint8_t *xsdt, *mcfg = NULL;
	int used, fadts = 0, madts = 0;

	assert_non_null(buf);
	memset(buf, 0xcc, BUF_SIZE);
	cfg.pci_mmio32_end = 0xfeb00000u;
	cfg.pci_ecam_base = 0xfeb00000u;
	used = acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg);
	assert_true(used > 0 && used < BUF_SIZE);
	assert_int_equal(buf[used], 0xcc);
	xsdt = table(buf, used, le64(buf + 24), "XSDT");
	assert_int_equal(le32(xsdt + 4), 36 + 3 * 8);
	for (int i = 0; i < 3; i++) {
		uint64_t gpa = le64(xsdt + 36 + 8 * i);
		const uint8_t *t = buf + (gpa - BASE_GPA);

		assert_true(gpa >= BASE_GPA && gpa < BASE_GPA + (uint64_t)used);
		if (!memcmp(t, "FACP", 4))
			fadts++;
		else if (!memcmp(t, "APIC", 4))
			madts++;
		else
			mcfg = table(buf, used, gpa, "MCFG");
	}
	assert_int_equal(fadts, 1);
	assert_int_equal(madts, 1);
	assert_non_null(mcfg);
	assert_int_equal(le32(mcfg + 4), 44 + 16);
	assert_int_equal(mcfg[8], 1);			/* revision */
	assert_int_equal(le64(mcfg + 36), 0);		/* reserved */
	assert_int_equal(le64(mcfg + 44), 0xfeb00000u);	/* base */
	assert_int_equal(le16(mcfg + 52), 0);		/* segment */
	assert_int_equal(mcfg[54], 0);			/* start bus */
	assert_int_equal(mcfg[55], 0);			/* end bus */
	assert_int_equal(le32(mcfg + 56), 0);
	/* no PCI, no MCFG */
	cfg.pci = false;
	used = acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg);
	assert_true(used > 0);
	xsdt = table(buf, used, le64(buf + 24), "XSDT");
	assert_int_equal(le32(xsdt + 4), 36 + 2 * 8);
	free(buf);
}

static void test_tables_rejected(void **state)
{
	uint8_t *buf = calloc(1, BUF_SIZE);
	struct acpi_config cfg = config(2);
	int used;

	assert_non_null(buf);
	used = acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg);
	assert_true(used > 0);
	/* Exactly enough room works; one byte less does not, and writes
	 * nothing. */
	assert_int_equal(acpi__write_tables(buf, (size_t)used, BASE_GPA, &cfg), used);
	memset(buf, 0xcc, BUF_SIZE);
	assert_int_equal(acpi__write_tables(buf, (size_t)used - 1, BASE_GPA, &cfg), -1);
	for (int i = 0; i < used; i++)
		assert_int_equal(buf[i], 0xcc);
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, BASE_GPA + 8, &cfg), -1);
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, 0xfffffff0u, &cfg), -1);
	assert_int_equal(acpi__write_tables(NULL, BUF_SIZE, BASE_GPA, &cfg), -1);
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, BASE_GPA, NULL), -1);
	cfg.nr_cpus = 0;
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg), -1);
	cfg.nr_cpus = ACPI_MAX_CPUS + 1;
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg), -1);
	cfg = config(1);
	cfg.sci_irq = 2;
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg), -1);
	cfg.sci_irq = 16;
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg), -1);
	free(buf);
}

/* The PM1a block behind a port-I/O bus. */
struct pm_fixture {
	struct bus pio;
	struct acpi_pm *pm;
	int poweroffs;
	int sci;
	int sci_changes;
};

static void on_poweroff(void *opaque)
{
	struct pm_fixture *f = opaque;

	f->poweroffs++;
}

static void on_sci(void *opaque, int level)
{
	struct pm_fixture *f = opaque;

	assert_int_not_equal(f->sci, level);	/* only on changes */
	f->sci = level;
	f->sci_changes++;
}

static int pm_setup(void **state)
{
	static const struct acpi_pm_ops ops = {
		.poweroff = on_poweroff,
		.set_sci = on_sci,
	};
	struct pm_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bus__init(&f->pio, "pio"), 0);
	f->pm = acpi_pm__create(&ops, f, ACPI_S5_SLP_TYP);
	assert_non_null(f->pm);
	assert_int_equal(acpi_pm__register(f->pm, &f->pio, EVT_PORT, CNT_PORT), 0);
	*state = f;
	return 0;
}

static int pm_teardown(void **state)
{
	struct pm_fixture *f = *state;

	acpi_pm__free(f->pm);
	bus__destroy(&f->pio);
	free(f);
	return 0;
}

static uint32_t in(struct pm_fixture *f, uint16_t port, uint32_t len)
{
	uint8_t d[4] = { 0 };

	assert_true(bus__read(&f->pio, port, d, len));
	return le32(d);
}

static void out(struct pm_fixture *f, uint16_t port, uint32_t len, uint32_t val)
{
	uint8_t d[4] = { (uint8_t)val, (uint8_t)(val >> 8), (uint8_t)(val >> 16),
			 (uint8_t)(val >> 24) };

	assert_true(bus__write(&f->pio, port, d, len));
}

static void test_pm_reset_state(void **state)
{
	struct pm_fixture *f = *state;

	assert_int_equal(in(f, EVT_PORT, 2), 0);		/* status */
	assert_int_equal(in(f, EVT_PORT + 2, 2), 0);		/* enable */
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN);
	/* SCI_EN stays 1 whatever is written. */
	out(f, CNT_PORT, 2, 0);
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN);
	/* A dword at the control block runs past it: not claimed. */
	{
		uint8_t d[4];

		assert_false(bus__read(&f->pio, CNT_PORT, d, 4));
	}
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(f->sci_changes, 0);
}

static void test_pm_status_enable(void **state)
{
	struct pm_fixture *f = *state;

	/* Enable register holds the defined bits only. */
	out(f, EVT_PORT + 2, 2, 0xffff);
	assert_int_equal(in(f, EVT_PORT + 2, 2), 0x4721);
	out(f, EVT_PORT + 2, 2, 0);
	assert_int_equal(in(f, EVT_PORT + 2, 2), 0);
	assert_int_equal(f->sci_changes, 0);

	/* A button press with the event disabled: status only. */
	acpi_pm__power_button(f->pm);
	assert_int_equal(in(f, EVT_PORT, 2), ACPI_PM1_PWRBTN_STS);
	assert_int_equal(f->sci, 0);
	/* Enabling it raises the SCI. */
	out(f, EVT_PORT + 2, 2, ACPI_PM1_PWRBTN_STS);
	assert_int_equal(f->sci, 1);
	/* Writing 0s (and 1s to clear bits) changes nothing. */
	out(f, EVT_PORT, 2, 0);
	out(f, EVT_PORT, 2, ACPI_PM1_WAK_STS | ACPI_PM1_TMR_STS);
	assert_int_equal(in(f, EVT_PORT, 2), ACPI_PM1_PWRBTN_STS);
	assert_int_equal(f->sci, 1);
	/* Dword read of the block: status | enable << 16. */
	assert_int_equal(in(f, EVT_PORT, 4),
			 ACPI_PM1_PWRBTN_STS | ACPI_PM1_PWRBTN_STS << 16);
	/* Write 1 to clear, through the high byte alone. */
	out(f, EVT_PORT + 1, 1, ACPI_PM1_PWRBTN_STS >> 8);
	assert_int_equal(in(f, EVT_PORT, 2), 0);
	assert_int_equal(f->sci, 0);
	assert_int_equal(f->sci_changes, 2);

	/* Dword write: clears status and sets enable in one go. */
	acpi_pm__power_button(f->pm);
	assert_int_equal(f->sci, 1);
	out(f, EVT_PORT, 4, ACPI_PM1_PWRBTN_STS | (uint32_t)ACPI_PM1_RTC_STS << 16);
	assert_int_equal(in(f, EVT_PORT, 2), 0);
	assert_int_equal(in(f, EVT_PORT + 2, 2), ACPI_PM1_RTC_STS);
	assert_int_equal(f->sci, 0);
	/* Byte lanes of the enable register. */
	out(f, EVT_PORT + 2, 1, ACPI_PM1_TMR_STS);
	assert_int_equal(in(f, EVT_PORT + 2, 2), ACPI_PM1_RTC_STS | ACPI_PM1_TMR_STS);
	assert_int_equal(in(f, EVT_PORT + 3, 1), ACPI_PM1_RTC_STS >> 8);
	assert_int_equal(in(f, EVT_PORT + 1, 2),
			 (ACPI_PM1_TMR_STS << 8) | 0);	/* sts high, en low */
	assert_int_equal(f->poweroffs, 0);
}

static uint16_t slp(unsigned typ)
{
	return (uint16_t)(typ << ACPI_PM1_SLP_TYP_SHIFT);
}

static void test_pm_poweroff(void **state)
{
	struct pm_fixture *f = *state;

	/* Linux: write SLP_TYP first, then SLP_TYP | SLP_EN. */
	out(f, CNT_PORT, 2, ACPI_PM1_SCI_EN | slp(ACPI_S5_SLP_TYP));
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN | slp(ACPI_S5_SLP_TYP));
	out(f, CNT_PORT, 2, ACPI_PM1_SCI_EN | slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN);
	assert_int_equal(f->poweroffs, 1);
	/* SLP_EN reads 0. */
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN | slp(ACPI_S5_SLP_TYP));
	/* Linux writes SLP_EN again after a while: the callback ran once. */
	out(f, CNT_PORT, 2, ACPI_PM1_SLP_EN);
	out(f, CNT_PORT, 2, slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN);
	assert_int_equal(f->poweroffs, 1);
}

static void test_pm_poweroff_byte(void **state)
{
	struct pm_fixture *f = *state;

	/* SLP_TYP and SLP_EN are both in the high byte. */
	out(f, CNT_PORT + 1, 1, (slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN) >> 8);
	assert_int_equal(f->poweroffs, 1);
}

static void test_pm_poweroff_stored_typ(void **state)
{
	struct pm_fixture *f = *state;

	/* SLP_TYP stored by a word write; a low-byte write of all ones
	 * cannot reach SLP_EN (it only sets BM_RLD); SLP_EN then comes in
	 * a write of the high byte alone. */
	out(f, CNT_PORT, 2, slp(ACPI_S5_SLP_TYP));
	out(f, CNT_PORT, 1, 0xff);
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(in(f, CNT_PORT, 2), slp(ACPI_S5_SLP_TYP) | ACPI_PM1_BM_RLD |
					     ACPI_PM1_SCI_EN);
	out(f, CNT_PORT + 1, 1, (slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN) >> 8);
	assert_int_equal(f->poweroffs, 1);
}

/* Run vmm's stderr into a temporary file from here to stderr_end(). */
static int stderr_begin(FILE **tmp)
{
	int saved = dup(STDERR_FILENO);

	*tmp = tmpfile();
	assert_non_null(*tmp);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(*tmp), STDERR_FILENO) >= 0);
	return saved;
}

/* Restore stderr; return how many captured lines contain 'what'. */
static int stderr_end(FILE *tmp, int saved, const char *what)
{
	char line[512];
	int n = 0;

	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	while (fgets(line, sizeof(line), tmp))
		n += strstr(line, what) != NULL;
	fclose(tmp);
	return n;
}

static void test_pm_other_sleep_types(void **state)
{
	struct pm_fixture *f = *state;
	FILE *log;
	int saved = stderr_begin(&log);

	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == ACPI_S5_SLP_TYP)
			continue;
		out(f, CNT_PORT, 2, slp(typ) | ACPI_PM1_SLP_EN);
		out(f, CNT_PORT + 1, 1, (slp(typ) | ACPI_PM1_SLP_EN) >> 8);
		assert_int_equal(in(f, CNT_PORT, 2), slp(typ) | ACPI_PM1_SCI_EN);
	}
	/* Seven refused sleep types, one message. */
	assert_int_equal(stderr_end(log, saved, "sleep type"), 1);
	assert_int_equal(f->poweroffs, 0);
	/* S5 type without SLP_EN, in every width. */
	out(f, CNT_PORT, 2, slp(ACPI_S5_SLP_TYP));
	out(f, CNT_PORT + 1, 1, slp(ACPI_S5_SLP_TYP) >> 8);
	assert_int_equal(f->poweroffs, 0);
	/* And then it works. */
	out(f, CNT_PORT, 2, slp(ACPI_S5_SLP_TYP) | ACPI_PM1_SLP_EN);
	assert_int_equal(f->poweroffs, 1);
}

static void test_pm_create_rejects(void **state)
{
	assert_null(acpi_pm__create(NULL, NULL, 8));
	acpi_pm__free(NULL);
}

static void test_pm_register_conflict(void **state)
{
	struct pm_fixture *f = *state;
	struct acpi_pm *other = acpi_pm__create(NULL, NULL, ACPI_S5_SLP_TYP);

	assert_non_null(other);
	/* The event block collides: nothing of 'other' stays registered. */
	assert_int_equal(acpi_pm__register(other, &f->pio, EVT_PORT + 2, 0x700), -1);
	/* The control block collides: the event block is rolled back. */
	assert_int_equal(acpi_pm__register(other, &f->pio, 0x680, CNT_PORT), -1);
	assert_int_equal(acpi_pm__register(other, &f->pio, 0x680, 0x684), 0);
	bus__unregister(&f->pio, 0x680);
	bus__unregister(&f->pio, 0x684);
	acpi_pm__free(other);
	/* The original is untouched. */
	assert_int_equal(in(f, CNT_PORT, 2), ACPI_PM1_SCI_EN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_1),
		cmocka_unit_test(test_tables_2),
		cmocka_unit_test(test_tables_64),
		cmocka_unit_test(test_tables_254),
		cmocka_unit_test(test_tables_mcfg),
		cmocka_unit_test(test_tables_rejected),
		cmocka_unit_test_setup_teardown(test_pm_reset_state, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_status_enable, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_poweroff, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_poweroff_byte, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_poweroff_stored_typ, pm_setup, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_other_sleep_types, pm_setup, pm_teardown),
		cmocka_unit_test(test_pm_create_rejects),
		cmocka_unit_test_setup_teardown(test_pm_register_conflict, pm_setup, pm_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
