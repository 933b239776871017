/* test_mptable.c — parse what mptable__write produces the way Linux's
 * mpparse does (signatures, checksums, lengths, entry order) and check
 * every entry for 1, 2, 64 and 255 vCPUs with the PC's device registry
 * (x86_vm__describe), the PCI bus and its INTx gone with the registry's
 * PCI host, plus the rejected inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/arch_vm.h"
#include "arch/x86/mptable.h"
#include "vmm/devreg.h"
#include "vmm/log.h"

#define BASE_GPA	0x9fc00u
#define IOAPIC_ADDR	0xfec00000u
#define LAPIC_ADDR	0xfee00000u
#define BUF_SIZE	8192

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* The PC as arch/x86/vm.c describes it: PCI host included. */
static struct devreg pc;

static int setup(void **state)
{
	devreg__init(&pc);
	return x86_vm__describe(&pc);
}

/* mpf + header + cpus + PCI and ISA buses + IOAPIC + 15 ISA IRQs +
 * 31 slots x 4 PCI INTx + 2 LINTs; without PCI neither its bus nor INTx. */
static size_t size_for(int n, bool pci)
{
	return 16 + 44 + 20 * (size_t)n + (pci ? 2 : 1) * 8 + 8 + 15 * 8 +
	       (pci ? 124 * 8 : 0) + 2 * 8;
}

static size_t expected_size(int n)
{
	return size_for(n, true);
}

static void check_table_of(int n, const struct devreg *r, bool pci)
{
	uint8_t *buf = malloc(BUF_SIZE);
	const uint8_t *mpc, *e;
	int ret, irqs_seen = 0, last_type = -1, counts[5] = { 0 }, pci_irqs = 0;
	uint16_t entries;

	assert_non_null(buf);
	memset(buf, 0xcc, BUF_SIZE);
	ret = mptable__write(buf, BUF_SIZE, BASE_GPA, n, IOAPIC_ADDR, LAPIC_ADDR, r);
	assert_int_equal(ret, size_for(n, pci));
	assert_int_equal(buf[ret], 0xcc);	/* nothing written past the end */

	/* Floating pointer. */
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(le32(buf + 4), BASE_GPA + 16);
	assert_int_equal(buf[8], 1);		/* 16 bytes */
	assert_int_equal(buf[9], 4);		/* spec 1.4 */
	assert_int_equal(sum(buf, 16), 0);
	assert_int_equal(buf[11], 0);		/* config table present */
	assert_int_equal(buf[12] & 0x80, 0);	/* no IMCR */

	/* Configuration table header. */
	mpc = buf + (le32(buf + 4) - BASE_GPA);
	assert_memory_equal(mpc, "PCMP", 4);
	assert_int_equal(le16(mpc + 4), ret - 16);
	assert_int_equal(mpc[6], 4);
	assert_int_equal(sum(mpc, le16(mpc + 4)), 0);
	assert_memory_equal(mpc + 8, "VMM     ", 8);
	assert_int_equal(le32(mpc + 28), 0);	/* no OEM table */
	entries = le16(mpc + 34);
	assert_int_equal(entries, n + (pci ? 2 : 1) + 1 + 15 + (pci ? 124 : 0) + 2);
	assert_int_equal(le32(mpc + 36), LAPIC_ADDR);
	assert_int_equal(le16(mpc + 40), 0);	/* no extended table */

	e = mpc + 44;
	for (int i = 0; i < entries; i++) {
		uint8_t type = e[0];

		assert_true(type <= 4);
		assert_true(type >= last_type);	/* ascending type order */
		last_type = type;
		counts[type]++;
		switch (type) {
		case 0:	/* processor */
			assert_int_equal(e[1], counts[0] - 1);	/* LAPIC id */
			assert_int_equal(e[2], 0x14);
			assert_int_equal(e[3] & 1, 1);		/* enabled */
			assert_int_equal(!!(e[3] & 2), e[1] == 0);	/* BSP */
			assert_int_equal((le32(e + 4) >> 8) & 0xf, 6);
			assert_true(le32(e + 8) & (1u << 9));	/* APIC */
			e += 20;
			break;
		case 1:	/* bus: PCI is bus 0, ISA bus 1 */
			assert_int_equal(e[1], counts[1] - (pci ? 1 : 0));
			assert_memory_equal(e + 2, e[1] == 0 ? "PCI   " : "ISA   ", 6);
			e += 8;
			break;
		case 2:	/* IOAPIC */
			assert_int_equal(e[1], n);
			assert_int_equal(e[2], 0x11);
			assert_int_equal(e[3], 1);
			assert_int_equal(le32(e + 4), IOAPIC_ADDR);
			e += 8;
			break;
		case 3:	/* I/O interrupt */
			assert_int_equal(e[1], 0);		/* INT */
			if (e[4] == 0) {	/* PCI: slot << 2 | pin - 1 */
				unsigned slot = e[5] >> 2, pin = (e[5] & 3) + 1u;

				assert_int_equal(le16(e + 2), 0x0f);	/* level, low */
				assert_true(slot >= 1 && slot < 32);
				assert_int_equal(e[6], n);
				assert_int_equal(e[7], 16 + (slot + pin - 1) % 8);
				pci_irqs++;
				e += 8;
				break;
			}
			assert_int_equal(le16(e + 2), 0);	/* conforming */
			assert_int_equal(e[4], 1);		/* ISA */
			assert_true(e[5] < 16 && e[5] != 2);
			assert_false(irqs_seen & (1 << e[5]));
			irqs_seen |= 1 << e[5];
			assert_int_equal(e[6], n);		/* the IOAPIC */
			assert_int_equal(e[7], e[5] == 0 ? 2 : e[5]);
			e += 8;
			break;
		case 4:	/* local interrupt */
			assert_int_equal(e[1], counts[4] == 1 ? 3 : 1);	/* ExtINT, NMI */
			assert_int_equal(e[6], 0xff);		/* all LAPICs */
			assert_int_equal(e[7], counts[4] == 1 ? 0 : 1);	/* LINT0/1 */
			e += 8;
			break;
		}
	}
	assert_ptr_equal(e, buf + ret);
	assert_int_equal(counts[0], n);
	assert_int_equal(counts[1], pci ? 2 : 1);
	assert_int_equal(counts[2], 1);
	assert_int_equal(counts[3], 15 + (pci ? 124 : 0));
	assert_int_equal(pci_irqs, pci ? 124 : 0);
	assert_int_equal(counts[4], 2);
	assert_int_equal(irqs_seen, 0xffff & ~(1 << 2));
	free(buf);
}

static void check_table(int n)
{
	check_table_of(n, &pc, true);
}

static void test_one_cpu(void **state)
{
	check_table(1);
}

static void test_two_cpus(void **state)
{
	check_table(2);
}

static void test_64_cpus(void **state)
{
	check_table(64);
}

static void test_255_cpus(void **state)
{
	check_table(255);
}

static void test_rejects(void **state)
{
	uint8_t buf[BUF_SIZE];
	size_t need = expected_size(4);

	memset(buf, 0xcc, sizeof(buf));
	/* One byte short: rejected, and nothing written. */
	assert_int_equal(mptable__write(buf, need - 1, BASE_GPA, 4,
					IOAPIC_ADDR, LAPIC_ADDR, &pc), -1);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xcc);
	assert_int_equal(mptable__write(buf, need, BASE_GPA, 4,
					IOAPIC_ADDR, LAPIC_ADDR, &pc), (int)need);

	assert_int_equal(mptable__write(buf, sizeof(buf), BASE_GPA, 0,
					IOAPIC_ADDR, LAPIC_ADDR, &pc), -1);
	assert_int_equal(mptable__write(buf, sizeof(buf), BASE_GPA, 256,
					IOAPIC_ADDR, LAPIC_ADDR, &pc), -1);
	assert_int_equal(mptable__write(buf, sizeof(buf), BASE_GPA, -1,
					IOAPIC_ADDR, LAPIC_ADDR, &pc), -1);
	/* The floating pointer must sit on a 16-byte boundary. */
	assert_int_equal(mptable__write(buf, sizeof(buf), BASE_GPA + 4, 1,
					IOAPIC_ADDR, LAPIC_ADDR, &pc), -1);
	/* And the whole table below 4 GiB. */
	assert_int_equal(mptable__write(buf, sizeof(buf), 0xfffffff0u, 1,
					IOAPIC_ADDR, LAPIC_ADDR, &pc), -1);
	assert_int_equal(mptable__write(NULL, sizeof(buf), BASE_GPA, 1,
					IOAPIC_ADDR, LAPIC_ADDR, &pc), -1);
	assert_int_equal(mptable__write(buf, sizeof(buf), BASE_GPA, 1,
					IOAPIC_ADDR, LAPIC_ADDR, NULL), -1);
}

/* The PCI bus and its INTx entries are there because the registry has a
 * PCI host the firmware describes: without one (or with it not marked
 * 'firmware') only ISA is left; with two, the table refuses. */
static void test_pci_from_registry(void **state)
{
	const struct devreg_entry *host = devreg__find(&pc, DEVREG_PCI_HOST);
	struct devreg r;
	struct devreg_entry copy;
	uint8_t buf[BUF_SIZE];
	int verbosity = log__verbosity;

	assert_non_null(host);
	devreg__init(&r);
	check_table_of(2, &r, false);
	copy = *host;
	copy.firmware = false;
	assert_int_equal(devreg__add(&r, &copy), 0);
	check_table_of(2, &r, false);

	devreg__init(&r);
	assert_int_equal(devreg__add(&r, host), 0);
	check_table_of(2, &r, true);
	copy = (struct devreg_entry){
		.kind = DEVREG_PCI_HOST, .name = "pci1", .firmware = true,
	};
	assert_int_equal(devreg__add(&r, &copy), 0);
	log__verbosity = -1;
	assert_int_equal(mptable__write(buf, sizeof(buf), BASE_GPA, 1,
					IOAPIC_ADDR, LAPIC_ADDR, &r), -1);
	log__verbosity = verbosity;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_cpu),
		cmocka_unit_test(test_two_cpus),
		cmocka_unit_test(test_64_cpus),
		cmocka_unit_test(test_255_cpus),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_pci_from_registry),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
