/* test_devreg.c — the device registry (vmm/devreg.c): adding and finding
 * entries (by kind in order, by name, the one the firmware describes,
 * every entry), the capacity limit, and what it refuses: bad entries,
 * taken names, overlapping ranges and windows (and what does not
 * overlap: neighbours, the other address space, the top of the space).
 * A refused entry leaves the registry as it was. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/devreg.h"
#include "vmm/log.h"

static struct devreg reg;

static int setup(void **state)
{
	devreg__init(&reg);
	log__verbosity = -1;	/* every refusal prints its reason */
	return 0;
}

static struct devreg_entry uart(const char *name, uint64_t port, uint32_t irq)
{
	struct devreg_entry e = {
		.kind = DEVREG_SERIAL_16550,
		.nr_pio = 1, .pio = { { port, 8 } },
		.nr_irqs = 1, .irq = { { irq, DEVREG_IRQ_EDGE, DEVREG_IRQ_HIGH } },
	};

	snprintf(e.name, sizeof(e.name), "%s", name);
	return e;
}

static struct devreg_entry host(const char *name)
{
	struct devreg_entry e = {
		.kind = DEVREG_PCI_HOST, .firmware = true,
		.nr_pio = 1, .pio = { { 0xcf8, 8 } },
		.pci = {
			.ecam_base = 0xfeb00000u, .ecam_size = 1u << 20,
			.io_base = 0x1000, .io_end = 0x10000,
			.mmio32_base = 0xc0000000u, .mmio32_end = 0xfeb00000u,
		},
	};

	snprintf(e.name, sizeof(e.name), "%s", name);
	return e;
}

static void test_add_and_find(void **state)
{
	struct devreg_entry com1 = uart("com1", 0x3f8, 4), com2 = uart("com2", 0x2f8, 3);
	struct devreg_entry pci = host("pci0");
	const struct devreg_entry *e;

	assert_null(devreg__find(&reg, DEVREG_SERIAL_16550));
	assert_int_equal(devreg__add(&reg, &com1), 0);
	assert_int_equal(devreg__add(&reg, &pci), 0);
	assert_int_equal(devreg__add(&reg, &com2), 0);
	assert_int_equal(reg.nr, 3);

	/* The registry holds copies: the caller's entry may go away. */
	memset(&com1, 0, sizeof(com1));
	e = devreg__find(&reg, DEVREG_SERIAL_16550);
	assert_non_null(e);
	assert_string_equal(e->name, "com1");
	assert_int_equal(e->pio[0].base, 0x3f8);
	assert_int_equal(e->irq[0].line, 4);
	e = devreg__next(&reg, e, DEVREG_SERIAL_16550);
	assert_non_null(e);
	assert_string_equal(e->name, "com2");
	assert_null(devreg__next(&reg, e, DEVREG_SERIAL_16550));
	assert_null(devreg__find(&reg, DEVREG_RTC_CMOS));

	e = devreg__find_name(&reg, "pci0");
	assert_non_null(e);
	assert_int_equal(e->kind, DEVREG_PCI_HOST);
	assert_int_equal(e->pci.ecam_base, 0xfeb00000u);
	assert_int_equal(e->pci.mmio32_end, 0xfeb00000u);
	assert_null(devreg__find_name(&reg, "com3"));
}

static int collect(const struct devreg_entry *e, void *opaque)
{
	char *names = opaque;

	strcat(names, e->name);
	strcat(names, ",");
	return strcmp(e->name, "stop") ? 0 : 42;
}

static void test_each(void **state)
{
	struct devreg_entry a = uart("a", 0x3f8, 4), b = uart("b", 0x2f8, 3);
	struct devreg_entry stop = uart("stop", 0x3e8, 5), c = uart("c", 0x2e8, 6);
	char names[64] = "";

	assert_int_equal(devreg__each(&reg, collect, names), 0);
	assert_string_equal(names, "");
	assert_int_equal(devreg__add(&reg, &a), 0);
	assert_int_equal(devreg__add(&reg, &b), 0);
	assert_int_equal(devreg__each(&reg, collect, names), 0);
	assert_string_equal(names, "a,b,");
	assert_int_equal(devreg__add(&reg, &stop), 0);
	assert_int_equal(devreg__add(&reg, &c), 0);
	names[0] = '\0';
	assert_int_equal(devreg__each(&reg, collect, names), 42);
	assert_string_equal(names, "a,b,stop,");
}

/* The one entry of a kind the firmware describes: entries without the
 * flag do not count, two with it are an error. */
static void test_find_firmware(void **state)
{
	struct devreg_entry quiet = host("quiet"), loud = host("loud");
	struct devreg_entry second = { .kind = DEVREG_PCI_HOST, .name = "second",
				       .firmware = true };
	const struct devreg_entry *e = (const void *)&reg;

	assert_int_equal(devreg__find_firmware(&reg, DEVREG_PCI_HOST, "test", &e), 0);
	assert_null(e);
	quiet.firmware = false;
	assert_int_equal(devreg__add(&reg, &quiet), 0);
	assert_int_equal(devreg__find_firmware(&reg, DEVREG_PCI_HOST, "test", &e), 0);
	assert_null(e);
	loud.pci = (struct devreg_pci_host){ 0 };
	loud.pio[0].base = 0x10000;
	assert_int_equal(devreg__add(&reg, &loud), 0);
	assert_int_equal(devreg__find_firmware(&reg, DEVREG_PCI_HOST, "test", &e), 0);
	assert_ptr_equal(e, devreg__find_name(&reg, "loud"));
	assert_int_equal(devreg__add(&reg, &second), 0);
	assert_int_equal(devreg__find_firmware(&reg, DEVREG_PCI_HOST, "test", &e), -1);
}

static void test_capacity(void **state)
{
	struct devreg_entry e;
	char name[DEVREG_NAME_MAX];

	for (int i = 0; i < DEVREG_MAX_DEVICES; i++) {
		snprintf(name, sizeof(name), "port%d", i);
		e = (struct devreg_entry){ .kind = DEVREG_DEBUG_PORT,
					   .nr_pio = 1, .pio = { { 0x80 + (uint64_t)i, 1 } } };
		memcpy(e.name, name, sizeof(name));
		assert_int_equal(devreg__add(&reg, &e), 0);
	}
	e = (struct devreg_entry){ .kind = DEVREG_DEBUG_PORT, .name = "one-more",
				   .nr_pio = 1, .pio = { { 0x100, 1 } } };
	assert_int_equal(devreg__add(&reg, &e), -ENOSPC);
	assert_int_equal(reg.nr, DEVREG_MAX_DEVICES);
	assert_null(devreg__find_name(&reg, "one-more"));
	/* Checked before the capacity: a duplicate is still -EEXIST. */
	e.pio[0].base = 0x80;
	strcpy(e.name, "port0");
	assert_int_equal(devreg__add(&reg, &e), -EEXIST);
}

static void test_bad_entries(void **state)
{
	const struct devreg_entry good = uart("com1", 0x3f8, 4);
	struct devreg_entry e;

	assert_int_equal(devreg__add(NULL, &good), -EINVAL);
	assert_int_equal(devreg__add(&reg, NULL), -EINVAL);

	e = good;
	e.kind = 0;				/* a zeroed entry */
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e.kind = DEVREG_NR_KINDS;
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	e.name[0] = '\0';
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	memset(e.name, 'x', sizeof(e.name));	/* no NUL */
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	e.nr_pio = DEVREG_MAX_RANGES + 1;
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	e.nr_mmio = DEVREG_MAX_RANGES + 1;
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	e.nr_irqs = DEVREG_MAX_IRQS + 1;
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	e.pio[0].size = 0;
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	e.nr_mmio = 1;
	e.mmio[0] = (struct devreg_range){ UINT64_MAX - 2, 4 };	/* wraps */
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	e.irq[0].trigger = (enum devreg_trigger)7;
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	e.irq[0].polarity = (enum devreg_polarity)7;
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = good;
	e.pci.io_end = 0x10;			/* windows on a UART */
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);

	e = host("pci0");
	e.pci.ecam_size = 0;			/* a base without a size */
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = host("pci0");
	e.pci.ecam_base = 0;			/* a size without a base */
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = host("pci0");
	e.pci.ecam_base = UINT64_MAX - 0xfff;	/* wraps */
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = host("pci0");
	e.pci.mmio32_base = e.pci.mmio32_end + 1;
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);
	e = host("pci0");
	e.pci.mmio64_base = 0x2000000000ull;
	e.pci.mmio64_end = 0x1000000000ull;
	assert_int_equal(devreg__add(&reg, &e), -EINVAL);

	/* Nothing of the above got in; the good ones do. */
	assert_int_equal(reg.nr, 0);
	assert_int_equal(devreg__add(&reg, &good), 0);
	assert_int_equal(devreg__add(&reg, &good), -EEXIST);
	e = host("pci0");
	assert_int_equal(devreg__add(&reg, &e), 0);
	assert_int_equal(reg.nr, 2);
}

static void test_overlaps(void **state)
{
	struct devreg_entry com1 = uart("com1", 0x3f8, 4), e;
	struct devreg_entry pci = host("pci0");

	assert_int_equal(devreg__add(&reg, &com1), 0);
	assert_int_equal(devreg__add(&reg, &pci), 0);

	e = uart("clash", 0x3fc, 3);		/* inside COM1's ports */
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);
	e = uart("clash", 0x3f1, 3);		/* its last port is 0x3f8 */
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);
	e = uart("clash", 0x2000, 3);		/* in the PCI I/O window */
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);
	e = uart("clash", 0xcf4, 3);		/* over the config ports */
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);
	e = (struct devreg_entry){ .kind = DEVREG_DEBUG_PORT, .name = "clash",
				   .nr_mmio = 1, .mmio = { { 0xfeb80000u, 0x1000 } } };
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);	/* in ECAM */
	e.mmio[0].base = 0xd0000000u;
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);	/* in the BAR window */

	/* Neighbours, the other address space, an interrupt line shared. */
	e = uart("com2", 0x3f0, 4);
	e.pio[0].size = 8;			/* 0x3f0..0x3f7, right below COM1 */
	assert_int_equal(devreg__add(&reg, &e), 0);
	e = (struct devreg_entry){ .kind = DEVREG_DEBUG_PORT, .name = "mmio-3f8",
				   .nr_mmio = 1, .mmio = { { 0x3f8, 8 } } };
	assert_int_equal(devreg__add(&reg, &e), 0);
	e = (struct devreg_entry){ .kind = DEVREG_DEBUG_PORT, .name = "above-ecam",
				   .nr_mmio = 1, .mmio = { { 0xfec00000u, 0x1000 } } };
	assert_int_equal(devreg__add(&reg, &e), 0);
	/* Up to the very top of the space; and then one more touching it. */
	e = (struct devreg_entry){ .kind = DEVREG_DEBUG_PORT, .name = "top",
				   .nr_mmio = 1, .mmio = { { UINT64_MAX - 0xfff, 0x1000 } } };
	assert_int_equal(devreg__add(&reg, &e), 0);
	strcpy(e.name, "top2");
	e.mmio[0] = (struct devreg_range){ UINT64_MAX, 1 };
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);
	assert_int_equal(reg.nr, 6);

	/* Against itself: two of its own ranges, ECAM in its own window. */
	e = (struct devreg_entry){ .kind = DEVREG_PS2_CTRL, .name = "self",
				   .nr_pio = 2, .pio = { { 0x60, 5 }, { 0x64, 1 } } };
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);
	devreg__init(&reg);
	e = host("pci0");
	e.pci.mmio32_end = 0xfec00000u;		/* covers the ECAM window */
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);
	e = host("pci0");
	e.pci.io_base = 0xc00;			/* covers its config ports */
	assert_int_equal(devreg__add(&reg, &e), -EBUSY);
	/* Empty windows claim nothing. */
	e = host("pci0");
	e.pci.io_base = e.pci.io_end = 0xcf8;
	e.pci.mmio64_base = e.pci.mmio64_end = 0xfeb00000u;
	assert_int_equal(devreg__add(&reg, &e), 0);
}

static void test_kind_names(void **state)
{
	assert_string_equal(devreg__kind_name(DEVREG_SERIAL_16550), "serial 16550");
	assert_string_equal(devreg__kind_name(DEVREG_PCI_HOST), "PCI host bridge");
	assert_string_equal(devreg__kind_name(DEVREG_ACPI_PM), "ACPI PM block");
	assert_string_equal(devreg__kind_name(0), "unknown");
	assert_string_equal(devreg__kind_name(DEVREG_NR_KINDS), "unknown");
	for (int k = 1; k < DEVREG_NR_KINDS; k++)
		assert_string_not_equal(devreg__kind_name(k), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_add_and_find, setup),
		cmocka_unit_test_setup(test_each, setup),
		cmocka_unit_test_setup(test_find_firmware, setup),
		cmocka_unit_test_setup(test_capacity, setup),
		cmocka_unit_test_setup(test_bad_entries, setup),
		cmocka_unit_test_setup(test_overlaps, setup),
		cmocka_unit_test_setup(test_kind_names, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
