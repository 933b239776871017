/* test_arm64_fdt.c — the arm64 device tree (arch/arm64/fdt.c): build it
 * for the platform arch/arm64/vm.c describes, then read it back with
 * libfdt: every node, the properties the kernel's bindings need, and that
 * each phandle and path the tree uses resolves to the right node. */
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/arm64/fdt.h"
#include "arch/arm64/layout.h"
#include "devices/pci/pci.h"
#include "vmm/devreg.h"

#define FDT_SIZE (64 * 1024)

static char err[256];

static const struct devreg_entry uart = {
	.kind = DEVREG_SERIAL_16550, .name = "uart0", .firmware = true,
	.nr_mmio = 1, .mmio = { { ARM64_UART_BASE, 8 } },
	.nr_irqs = 1, .irq = { { ARM64_SPI_UART, DEVREG_IRQ_LEVEL, DEVREG_IRQ_HIGH } },
};

static const struct devreg_entry rtc = {
	.kind = DEVREG_RTC_PL031, .name = "rtc", .firmware = true,
	.nr_mmio = 1, .mmio = { { ARM64_RTC_BASE, 0x1000 } },
	.nr_irqs = 1, .irq = { { ARM64_SPI_RTC, DEVREG_IRQ_LEVEL, DEVREG_IRQ_HIGH } },
};

static const struct devreg_entry gpio = {
	.kind = DEVREG_GPIO_PL061, .name = "gpio", .firmware = true,
	.nr_mmio = 1, .mmio = { { ARM64_GPIO_BASE, 0x1000 } },
	.nr_irqs = 1, .irq = { { ARM64_SPI_GPIO, DEVREG_IRQ_LEVEL, DEVREG_IRQ_HIGH } },
};

static const struct devreg_entry pci = {
	.kind = DEVREG_PCI_HOST, .name = "pci0", .firmware = true,
	.pci = {
		.ecam_base = ARM64_PCI_ECAM_BASE, .ecam_size = PCI_ECAM_SIZE,
		.mmio32_base = ARM64_PCI_MMIO_START, .mmio32_end = ARM64_PCI_MMIO_END,
	},
};

static struct devreg devs;

static struct arm64_fdt_config config(unsigned cpus)
{
	devreg__init(&devs);
	assert_int_equal(devreg__add(&devs, &uart), 0);
	assert_int_equal(devreg__add(&devs, &rtc), 0);
	assert_int_equal(devreg__add(&devs, &gpio), 0);
	assert_int_equal(devreg__add(&devs, &pci), 0);
	return (struct arm64_fdt_config){
		.ram_base = ARM64_RAM_BASE, .ram_size = 512ULL << 20, .nr_cpus = cpus,
		.gic_dist_base = ARM64_GIC_DIST_BASE, .gic_dist_size = ARM64_GIC_DIST_SIZE,
		.gic_redist_base = ARM64_GIC_REDIST_BASE,
		.gic_redist_size = ARM64_GIC_REDIST_SIZE * cpus,
		.its_base = ARM64_GIC_ITS_BASE, .its_size = ARM64_GIC_ITS_SIZE,
		.timer_ppi = { 13, 14, 11, 10 },
		.devs = &devs, .pci_intx_spi = ARM64_SPI_PCI_INTX,
		.power_button_line = ARM64_GPIO_POWER_LINE,
		.bootargs = "rdinit=/init quiet",
		.initrd_start = 0x9f000000, .initrd_end = 0x9f123456,
	};
}

static void *build(const struct arm64_fdt_config *c)
{
	void *fdt = malloc(FDT_SIZE);

	assert_non_null(fdt);
	assert_int_equal(arm64_fdt__build(fdt, FDT_SIZE, c, err, sizeof(err)), 0);
	assert_int_equal(fdt_check_header(fdt), 0);
	assert_true(fdt_totalsize(fdt) <= FDT_SIZE);
	return fdt;
}

static int node(const void *fdt, const char *path)
{
	int off = fdt_path_offset(fdt, path);

	if (off < 0)
		fail_msg("no node %s: %s", path, fdt_strerror(off));
	return off;
}

static const void *prop(const void *fdt, int off, const char *name, int *len)
{
	const void *p = fdt_getprop(fdt, off, name, len);

	if (!p)
		fail_msg("no property %s", name);
	return p;
}

static uint32_t cell(const void *p, int i)
{
	return fdt32_to_cpu(((const fdt32_t *)p)[i]);
}

static uint64_t cell64(const void *p, int i)
{
	return (uint64_t)cell(p, 2 * i) << 32 | cell(p, 2 * i + 1);
}

static void root_chosen_memory(void **state)
{
	struct arm64_fdt_config c = config(2);
	void *fdt = build(&c);
	const void *p;
	int len, off;

	off = node(fdt, "/");
	assert_string_equal(prop(fdt, off, "compatible", &len), "linux,dummy-virt");
	assert_int_equal(cell(prop(fdt, off, "#address-cells", &len), 0), 2);
	assert_int_equal(cell(prop(fdt, off, "#size-cells", &len), 0), 2);
	assert_int_equal(cell(prop(fdt, off, "interrupt-parent", &len), 0), ARM64_FDT_PHANDLE_GIC);

	off = node(fdt, "/chosen");
	assert_string_equal(prop(fdt, off, "bootargs", &len), "rdinit=/init quiet");
	p = prop(fdt, off, "linux,initrd-start", &len);
	assert_int_equal(len, 8);
	assert_int_equal(cell64(p, 0), 0x9f000000);
	assert_int_equal(cell64(prop(fdt, off, "linux,initrd-end", &len), 0), 0x9f123456);
	/* stdout-path names the UART node itself */
	p = prop(fdt, off, "stdout-path", &len);
	assert_int_equal(fdt_path_offset(fdt, p), node(fdt, "/uart@9000000"));

	off = node(fdt, "/memory@80000000");
	assert_string_equal(prop(fdt, off, "device_type", &len), "memory");
	p = prop(fdt, off, "reg", &len);
	assert_int_equal(len, 16);
	assert_int_equal(cell64(p, 0), ARM64_RAM_BASE);
	assert_int_equal(cell64(p, 1), 512ULL << 20);
	free(fdt);
}

static void cpus_psci_timer(void **state)
{
	struct arm64_fdt_config c = config(20);
	void *fdt = build(&c);
	const void *p;
	int len, off, sub, n = 0;

	off = node(fdt, "/cpus");
	fdt_for_each_subnode(sub, fdt, off) {
		assert_string_equal(prop(fdt, sub, "device_type", &len), "cpu");
		assert_string_equal(prop(fdt, sub, "enable-method", &len), "psci");
		n++;
	}
	assert_int_equal(n, 20);
	/* vCPU 17: Aff1 1, Aff0 1, as KVM's reset MPIDR */
	assert_int_equal(arm64_fdt__mpidr(17), 0x101);
	assert_int_equal(cell(prop(fdt, node(fdt, "/cpus/cpu@101"), "reg", &len), 0), 0x101);
	assert_int_equal(cell(prop(fdt, node(fdt, "/cpus/cpu@f"), "reg", &len), 0), 0xf);

	off = node(fdt, "/psci");
	assert_string_equal(prop(fdt, off, "compatible", &len), "arm,psci-0.2");
	assert_string_equal(prop(fdt, off, "method", &len), "hvc");

	off = node(fdt, "/timer");
	assert_int_equal(fdt_node_check_compatible(fdt, off, "arm,armv8-timer"), 0);
	p = prop(fdt, off, "interrupts", &len);
	assert_int_equal(len, 12 * 4);
	assert_int_equal(cell(p, 0), 1);           /* PPI */
	assert_int_equal(cell(p, 1), 13);
	assert_int_equal(cell(p, 7), 11);          /* virtual timer */
	free(fdt);
}

static void gic_its_phandles(void **state)
{
	struct arm64_fdt_config c = config(4);
	void *fdt = build(&c);
	const void *p;
	int len, gic, its;

	gic = fdt_node_offset_by_phandle(fdt, ARM64_FDT_PHANDLE_GIC);
	assert_int_equal(gic, node(fdt, "/intc@8000000"));
	assert_int_equal(fdt_node_check_compatible(fdt, gic, "arm,gic-v3"), 0);
	assert_non_null(prop(fdt, gic, "interrupt-controller", &len));
	assert_int_equal(cell(prop(fdt, gic, "#interrupt-cells", &len), 0), 3);
	p = prop(fdt, gic, "reg", &len);
	assert_int_equal(len, 32);
	assert_int_equal(cell64(p, 0), ARM64_GIC_DIST_BASE);
	assert_int_equal(cell64(p, 2), ARM64_GIC_REDIST_BASE);
	assert_int_equal(cell64(p, 3), 4 * ARM64_GIC_REDIST_SIZE);

	its = fdt_node_offset_by_phandle(fdt, ARM64_FDT_PHANDLE_ITS);
	assert_int_equal(its, node(fdt, "/intc@8000000/msi-controller@8080000"));
	assert_int_equal(fdt_parent_offset(fdt, its), gic);
	assert_int_equal(fdt_node_check_compatible(fdt, its, "arm,gic-v3-its"), 0);
	assert_non_null(prop(fdt, its, "msi-controller", &len));
	assert_int_equal(cell64(prop(fdt, its, "reg", &len), 0), ARM64_GIC_ITS_BASE);
	free(fdt);
}

static void uart_and_pci(void **state)
{
	struct arm64_fdt_config c = config(1);
	void *fdt = build(&c);
	const void *p;
	int len, off;

	off = node(fdt, "/uart@9000000");
	assert_int_equal(fdt_node_check_compatible(fdt, off, "ns16550a"), 0);
	p = prop(fdt, off, "interrupts", &len);
	assert_int_equal(len, 12);
	assert_int_equal(cell(p, 0), 0);           /* SPI */
	assert_int_equal(cell(p, 1), ARM64_SPI_UART);
	assert_int_equal(cell(p, 2), 4);           /* level high */
	assert_int_equal(cell64(prop(fdt, off, "reg", &len), 0), ARM64_UART_BASE);

	off = node(fdt, "/pcie@3ef00000");
	assert_int_equal(fdt_node_check_compatible(fdt, off, "pci-host-ecam-generic"), 0);
	assert_string_equal(prop(fdt, off, "device_type", &len), "pci");
	p = prop(fdt, off, "bus-range", &len);
	assert_int_equal(cell(p, 0), 0);
	assert_int_equal(cell(p, 1), 0);
	p = prop(fdt, off, "ranges", &len);
	assert_int_equal(len, 7 * 4);
	assert_int_equal(cell(p, 0), 0x02000000);
	assert_int_equal(cell(p, 2), ARM64_PCI_MMIO_START);
	assert_int_equal(cell(p, 4), ARM64_PCI_MMIO_START);
	assert_int_equal(cell(p, 6), ARM64_PCI_MMIO_END - ARM64_PCI_MMIO_START);
	/* MSIs: every requester id to the ITS, unchanged */
	p = prop(fdt, off, "msi-map", &len);
	assert_int_equal(len, 16);
	assert_int_equal(fdt_node_offset_by_phandle(fdt, cell(p, 1)),
			 fdt_node_offset_by_phandle(fdt, ARM64_FDT_PHANDLE_ITS));
	assert_int_equal(cell(p, 3), 0x10000);
	/* INTx: 16 entries of 10 cells, slot 1 INTA# on the second SPI */
	p = prop(fdt, off, "interrupt-map", &len);
	assert_int_equal(len, 16 * 10 * 4);
	assert_int_equal(cell(p, 40), 1 << 11);
	assert_int_equal(cell(p, 43), 1);
	assert_int_equal(cell(p, 44), ARM64_FDT_PHANDLE_GIC);
	assert_int_equal(cell(p, 48), ARM64_SPI_PCI_INTX + 1);
	free(fdt);
}

/* The PL031 is a PrimeCell: both compatibles, and the bus clock it
 * names must resolve to the fixed clock. */
static void rtc_and_clock(void **state)
{
	struct arm64_fdt_config c = config(1);
	void *fdt = build(&c);
	const char *p;
	int len, off, clk;

	off = node(fdt, "/pl031@9010000");
	assert_int_equal(fdt_node_check_compatible(fdt, off, "arm,pl031"), 0);
	assert_int_equal(fdt_node_check_compatible(fdt, off, "arm,primecell"), 0);
	assert_string_equal(prop(fdt, off, "clock-names", &len), "apb_pclk");
	clk = fdt_node_offset_by_phandle(fdt, cell(prop(fdt, off, "clocks", &len), 0));
	assert_int_equal(clk, node(fdt, "/apb-pclk"));
	assert_int_equal(fdt_node_check_compatible(fdt, clk, "fixed-clock"), 0);
	assert_int_equal(cell(prop(fdt, clk, "#clock-cells", &len), 0), 0);
	p = prop(fdt, off, "interrupts", &len);
	assert_int_equal(cell(p, 1), ARM64_SPI_RTC);
	free(fdt);
}

/* The power button: gpio-keys' KEY_POWER on line 3 of the PL061. */
static void gpio_power_button(void **state)
{
	struct arm64_fdt_config c = config(1);
	void *fdt = build(&c);
	const void *p;
	int len, off, key;

	off = node(fdt, "/pl061@9030000");
	assert_int_equal(fdt_node_check_compatible(fdt, off, "arm,pl061"), 0);
	assert_non_null(prop(fdt, off, "gpio-controller", &len));
	assert_int_equal(cell(prop(fdt, off, "#gpio-cells", &len), 0), 2);
	key = node(fdt, "/gpio-keys/poweroff");
	assert_int_equal(fdt_node_check_compatible(fdt, node(fdt, "/gpio-keys"), "gpio-keys"), 0);
	assert_int_equal(cell(prop(fdt, key, "linux,code", &len), 0), 116);
	p = prop(fdt, key, "gpios", &len);
	assert_int_equal(len, 12);
	assert_int_equal(fdt_node_offset_by_phandle(fdt, cell(p, 0)), off);
	assert_int_equal(cell(p, 1), ARM64_GPIO_POWER_LINE);
	free(fdt);
}

static void no_its_no_initrd(void **state)
{
	struct arm64_fdt_config c = config(1);
	void *fdt;
	int len;

	c.its_size = 0;
	c.initrd_start = c.initrd_end = 0;
	c.bootargs = NULL;
	fdt = build(&c);
	assert_int_equal(fdt_node_offset_by_phandle(fdt, ARM64_FDT_PHANDLE_ITS), -FDT_ERR_NOTFOUND);
	assert_null(fdt_getprop(fdt, node(fdt, "/pcie@3ef00000"), "msi-map", &len));
	assert_null(fdt_getprop(fdt, node(fdt, "/chosen"), "linux,initrd-start", &len));
	assert_null(fdt_getprop(fdt, node(fdt, "/chosen"), "bootargs", &len));
	free(fdt);
}

static void too_small(void **state)
{
	struct arm64_fdt_config c = config(8);
	char *buf = malloc(512);

	assert_int_equal(arm64_fdt__build(buf, 512, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "FDT_ERR_NOSPACE"));
	free(buf);
}

/* A PCI host with an I/O window cannot be described (no I/O space). */
static void undescribable(void **state)
{
	struct arm64_fdt_config c = config(1);
	struct devreg_entry io = pci;
	char *buf = malloc(FDT_SIZE);

	io.pci.io_base = 0x1000;
	io.pci.io_end = 0x2000;
	devreg__init(&devs);
	assert_int_equal(devreg__add(&devs, &io), 0);
	assert_int_equal(arm64_fdt__build(buf, FDT_SIZE, &c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "pci0"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_chosen_memory),
		cmocka_unit_test(cpus_psci_timer),
		cmocka_unit_test(gic_its_phandles),
		cmocka_unit_test(uart_and_pci),
		cmocka_unit_test(rtc_and_clock),
		cmocka_unit_test(gpio_power_button),
		cmocka_unit_test(no_its_no_initrd),
		cmocka_unit_test(too_small),
		cmocka_unit_test(undescribable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
