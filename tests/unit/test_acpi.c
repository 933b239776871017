/* test_acpi.c — the ACPI tables (arch/x86/acpi.c), parsed as a guest does
 * from the RSDP down: signatures, checksums, lengths, pointers that land
 * on the tables inside the buffer, the FADT fields Linux relies on, the
 * MADT for 1, 2, 64 and 254 vCPUs and the DSDT's \_S5 bytes (the rest of
 * the DSDT: test_dsdt.c), the MCFG of an ECAM window; every device fact
 * taken from the device registry (vmm/devreg.h): the PC's own registry
 * (x86_vm__describe) gives the same tables as ever, and a moved PM block,
 * a missing i8042/RTC/PCI host, or an SCI with other flags show up in
 * them. The PM1a register block itself: test_acpi_pm.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/arch_vm.h"
#include "arch/x86/layout.h"
#include "vmm/devreg.h"
#include "vmm/log.h"
#include "devreg_pc.h"

#define BASE_GPA	0xe0000u
#define BUF_SIZE	0x10000
#define IOAPIC_ADDR	0xfec00000u
#define LAPIC_ADDR	0xfee00000u
#define EVT_PORT	PC_EVT_PORT
#define CNT_PORT	PC_CNT_PORT
#define SCI_IRQ		PC_SCI_IRQ

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

/* The PM block, i8042, RTC and a PCI host without ECAM (devreg_pc.h). */
static struct devreg regs;

static struct acpi_config config(int nr_cpus)
{
	const struct devreg_pci_host w = devreg_pc__windows();

	assert_int_equal(devreg_pc__fill(&regs, &w), 0);
	return (struct acpi_config){
		.nr_cpus = nr_cpus,
		.lapic_addr = LAPIC_ADDR,
		.ioapic_addr = IOAPIC_ADDR,
		.devs = &regs,
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
	assert_true(le32(f + 112) & (1u << 7));		/* RTC_S4: there is an RTC */
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

	struct devreg_pci_host w = devreg_pc__windows();

	assert_non_null(buf);
	memset(buf, 0xcc, BUF_SIZE);
	/* The ECAM window comes from the PCI host's entry alone. */
	w.mmio32_end = 0xfeb00000u;
	w.ecam_base = 0xfeb00000u;
	w.ecam_size = 1u << 20;
	assert_int_equal(devreg_pc__fill(&regs, &w), 0);
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
	/* no PCI host in the registry: no MCFG, and no PCI0 in the DSDT */
	assert_int_equal(devreg_pc__fill(&regs, NULL), 0);
	used = acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg);
	assert_true(used > 0);
	xsdt = table(buf, used, le64(buf + 24), "XSDT");
	assert_int_equal(le32(xsdt + 4), 36 + 2 * 8);
	assert_null(memmem(buf, (size_t)used, "PCI0", 4));
	assert_null(memmem(buf, (size_t)used, "MCFG", 4));
	/* a PCI host the firmware does not describe counts as none */
	{
		const struct devreg_pci_host w2 = devreg_pc__windows();
		struct devreg_entry host = devreg_pc__host(&w2);

		host.firmware = false;
		assert_int_equal(devreg__add(&regs, &host), 0);
		used = acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg);
		assert_true(used > 0);
		assert_null(memmem(buf, (size_t)used, "PCI0", 4));
	}
	free(buf);
}

static void test_tables_rejected(void **state)
{
	uint8_t *buf = calloc(1, BUF_SIZE);
	struct acpi_config cfg = config(2);
	int verbosity = log__verbosity;
	int used;

	assert_non_null(buf);
	log__verbosity = -1;
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
	cfg.devs = NULL;
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg), -1);
	log__verbosity = verbosity;
	free(buf);
}

/* A registry with only 'pm' (and nothing else) as its PM block. */
static int write_with_pm(uint8_t *buf, const struct devreg_entry *pm)
{
	struct devreg r;
	const struct acpi_config cfg = {
		.nr_cpus = 1, .lapic_addr = LAPIC_ADDR, .ioapic_addr = IOAPIC_ADDR,
		.devs = &r,
	};

	devreg__init(&r);
	assert_int_equal(devreg__add(&r, pm), 0);
	return acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg);
}

/* The registry's PM block is checked against what the FADT can say. */
static void test_tables_rejected_pm(void **state)
{
	uint8_t *buf = calloc(1, BUF_SIZE);
	struct devreg_entry pm;
	struct acpi_config cfg = config(1);
	int verbosity = log__verbosity;

	assert_non_null(buf);
	log__verbosity = -1;
	pm = devreg_pc__pm(EVT_PORT, CNT_PORT, 2);	/* the cascade */
	assert_int_equal(write_with_pm(buf, &pm), -1);
	pm = devreg_pc__pm(EVT_PORT, CNT_PORT, 0);	/* the PIT */
	assert_int_equal(write_with_pm(buf, &pm), -1);
	pm = devreg_pc__pm(EVT_PORT, CNT_PORT, 16);	/* not ISA */
	assert_int_equal(write_with_pm(buf, &pm), -1);
	pm = devreg_pc__pm(EVT_PORT, CNT_PORT, SCI_IRQ);
	pm.pio[DEVREG_ACPI_PM_EVT].size = 2;		/* PM1_EVT_LEN >= 4 */
	assert_int_equal(write_with_pm(buf, &pm), -1);
	pm = devreg_pc__pm(EVT_PORT, CNT_PORT, SCI_IRQ);
	pm.nr_irqs = 0;					/* no SCI */
	assert_int_equal(write_with_pm(buf, &pm), -1);
	pm = devreg_pc__pm(EVT_PORT, CNT_PORT, SCI_IRQ);
	pm.nr_pio = 1;					/* no control block */
	assert_int_equal(write_with_pm(buf, &pm), -1);
	pm = devreg_pc__pm(EVT_PORT, CNT_PORT, SCI_IRQ);
	pm.pio[DEVREG_ACPI_PM_CNT].base = 0x10000;	/* not a port */
	assert_int_equal(write_with_pm(buf, &pm), -1);
	pm = devreg_pc__pm(EVT_PORT, CNT_PORT, SCI_IRQ);
	pm.firmware = false;				/* as good as none */
	assert_int_equal(write_with_pm(buf, &pm), -1);
	pm = devreg_pc__pm(EVT_PORT, CNT_PORT, SCI_IRQ);
	assert_true(write_with_pm(buf, &pm) > 0);

	/* No PM block at all; two of them. */
	devreg__init(&regs);
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg), -1);
	cfg = config(1);
	pm = devreg_pc__pm(0x700, 0x704, SCI_IRQ);
	strcpy(pm.name, "pm1a-2");
	assert_int_equal(devreg__add(&regs, &pm), 0);
	assert_int_equal(acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg), -1);
	log__verbosity = verbosity;
	free(buf);
}

/* The tables of the PC as arch/x86/vm.c describes it: the FADT's PM
 * ports and SCI, the 8042 bit, the MCFG's ECAM base and PCI0 all come
 * from that registry, with the values the layout header names. */
static void test_tables_pc_registry(void **state)
{
	uint8_t *buf = calloc(1, BUF_SIZE);
	struct devreg r;
	const struct acpi_config cfg = {
		.nr_cpus = 2, .lapic_addr = LAPIC_ADDR, .ioapic_addr = IOAPIC_ADDR,
		.devs = &r,
	};
	const uint8_t *xsdt, *fadt = NULL, *mcfg = NULL;
	int used;

	assert_non_null(buf);
	devreg__init(&r);
	assert_int_equal(x86_vm__describe(&r), 0);
	used = acpi__write_tables(buf, BUF_SIZE, BASE_GPA, &cfg);
	assert_true(used > 0);
	xsdt = table(buf, used, le64(buf + 24), "XSDT");
	assert_int_equal(le32(xsdt + 4), 36 + 3 * 8);
	for (int i = 0; i < 3; i++) {
		uint64_t gpa = le64(xsdt + 36 + 8 * i);

		if (!memcmp(buf + (gpa - BASE_GPA), "FACP", 4))
			fadt = table(buf, used, gpa, "FACP");
		else if (!memcmp(buf + (gpa - BASE_GPA), "MCFG", 4))
			mcfg = table(buf, used, gpa, "MCFG");
	}
	assert_non_null(fadt);
	assert_non_null(mcfg);
	assert_int_equal(X86_ACPI_PM1A_EVT_PORT, EVT_PORT);
	assert_int_equal(X86_ACPI_PM1A_CNT_PORT, CNT_PORT);
	assert_int_equal(X86_ACPI_SCI_IRQ, SCI_IRQ);
	check_fadt(fadt, buf, used);
	assert_int_equal(le64(mcfg + 44), X86_PCI_ECAM_BASE);
	/* Registering it twice is refused: the names are taken. */
	assert_int_equal(x86_vm__describe(&r), -1);
	free(buf);
}

/* Moving a device in the registry moves it in the tables; leaving the
 * i8042 and RTC out clears the FADT bits that describe them; the SCI's
 * MADT override carries the entry's trigger and polarity. */
static void test_tables_follow_registry(void **state)
{
	uint8_t *buf = calloc(1, BUF_SIZE);
	struct devreg_entry pm = devreg_pc__pm(0xb000, 0xb004, 10);
	const uint8_t *xsdt, *fadt = NULL, *madt = NULL;
	bool iso_seen = false;
	int used;

	assert_non_null(buf);
	pm.irq[0] = (struct devreg_irq){ 10, DEVREG_IRQ_EDGE, DEVREG_IRQ_LOW };
	used = write_with_pm(buf, &pm);
	assert_true(used > 0);
	xsdt = table(buf, used, le64(buf + 24), "XSDT");
	assert_int_equal(le32(xsdt + 4), 36 + 2 * 8);	/* no PCI host: no MCFG */
	for (int i = 0; i < 2; i++) {
		uint64_t gpa = le64(xsdt + 36 + 8 * i);

		if (!memcmp(buf + (gpa - BASE_GPA), "FACP", 4))
			fadt = table(buf, used, gpa, "FACP");
		else
			madt = table(buf, used, gpa, "APIC");
	}
	assert_non_null(fadt);
	assert_non_null(madt);
	assert_int_equal(le16(fadt + 46), 10);		/* SCI_INT */
	assert_int_equal(le32(fadt + 56), 0xb000);
	assert_int_equal(le32(fadt + 64), 0xb004);
	check_gas(fadt + 148, 0xb000, 32);
	check_gas(fadt + 172, 0xb004, 16);
	assert_int_equal(le16(fadt + 109), 0x1);	/* no 8042 */
	assert_int_equal(fadt[108], 0);			/* no RTC: no century */
	assert_false(le32(fadt + 112) & (1u << 7));	/* nor RTC_S4 */
	for (uint32_t off = 44; off < le32(madt + 4); off += madt[off + 1]) {
		const uint8_t *e = madt + off;

		if (e[0] == 2 && e[3] == 10) {
			assert_int_equal(le32(e + 4), 10);
			assert_int_equal(le16(e + 8), 0x7);	/* low, edge */
			iso_seen = true;
		}
	}
	assert_true(iso_seen);
	free(buf);
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
		cmocka_unit_test(test_tables_rejected_pm),
		cmocka_unit_test(test_tables_pc_registry),
		cmocka_unit_test(test_tables_follow_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
