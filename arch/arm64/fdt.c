/* fdt.c — build the arm64 guest's device tree with libfdt's sequential
 * writer (fdt.h). Node and property names follow the kernel's bindings
 * (Documentation/devicetree/bindings/): what QEMU's virt machine and
 * kvmtool generate for the same hardware. */
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "arch/arm64/fdt.h"
#include "vmm/devreg.h"
#include "vmm/util.h"

/* include/dt-bindings/interrupt-controller/arm-gic.h and irq.h */
#define GIC_SPI               0
#define GIC_PPI               1
#define IRQ_TYPE_EDGE_RISING  1
#define IRQ_TYPE_EDGE_FALLING 2
#define IRQ_TYPE_LEVEL_HIGH   4
#define IRQ_TYPE_LEVEL_LOW    8

/* PCI's 3-cell addresses: the space code in the high cell. */
#define PCI_SPACE_MEM32       0x02000000u
#define PCI_SPACE_MEM64       0x03000000u

#define UART_CLOCK_HZ         1843200   /* the 16550's classic crystal */

/* Every libfdt call returns 0 or a negative FDT_ERR_*; the first failure
 * ends the build (FDT_ERR_NOSPACE: the buffer is too small). */
#define TRY(call) do { int r_ = (call); if (r_ < 0) { e = r_; goto fail; } } while (0)

uint64_t arm64_fdt__mpidr(unsigned id)
{
	return (uint64_t)((id >> 4) & 0xff) << 8 | (id & 0xf);
}

static int prop_u64s(void *fdt, const char *name, const uint64_t *v, int n)
{
	fdt64_t cells[8];

	for (int i = 0; i < n; i++)
		cells[i] = cpu_to_fdt64(v[i]);
	return fdt_property(fdt, name, cells, (int)(n * sizeof(cells[0])));
}

static int prop_u32s(void *fdt, const char *name, const uint32_t *v, int n)
{
	fdt32_t cells[16 * 10];

	if (n > (int)ARRAY_SIZE(cells))
		return -FDT_ERR_NOSPACE;
	for (int i = 0; i < n; i++)
		cells[i] = cpu_to_fdt32(v[i]);
	return fdt_property(fdt, name, cells, (int)(n * sizeof(cells[0])));
}

static uint32_t irq_type(const struct devreg_irq *q)
{
	if (q->trigger == DEVREG_IRQ_LEVEL)
		return q->polarity == DEVREG_IRQ_HIGH ? IRQ_TYPE_LEVEL_HIGH : IRQ_TYPE_LEVEL_LOW;
	return q->polarity == DEVREG_IRQ_HIGH ? IRQ_TYPE_EDGE_RISING : IRQ_TYPE_EDGE_FALLING;
}

static int add_cpus(void *fdt, const struct arm64_fdt_config *c)
{
	char name[32];
	int e;

	TRY(fdt_begin_node(fdt, "cpus"));
	TRY(fdt_property_u32(fdt, "#address-cells", 1));
	TRY(fdt_property_u32(fdt, "#size-cells", 0));
	for (unsigned i = 0; i < c->nr_cpus; i++) {
		uint64_t mpidr = arm64_fdt__mpidr(i);

		snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)mpidr);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "device_type", "cpu"));
		TRY(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
		/* Secondaries start powered off; the kernel's PSCI CPU_ON
		 * (an HVC KVM answers itself) wakes them. */
		TRY(fdt_property_string(fdt, "enable-method", "psci"));
		TRY(fdt_property_u32(fdt, "reg", (uint32_t)mpidr));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

static int add_gic(void *fdt, const struct arm64_fdt_config *c)
{
	const uint64_t reg[] = { c->gic_dist_base, c->gic_dist_size,
				 c->gic_redist_base, c->gic_redist_size };
	char name[48];
	int e;

	snprintf(name, sizeof(name), "intc@%llx", (unsigned long long)c->gic_dist_base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
	TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	TRY(prop_u64s(fdt, "reg", reg, 4));
	TRY(fdt_property_u32(fdt, "phandle", ARM64_FDT_PHANDLE_GIC));
	/* The ITS is a child with addresses in the same space. */
	TRY(fdt_property_u32(fdt, "#address-cells", 2));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property(fdt, "ranges", NULL, 0));
	if (c->its_size) {
		const uint64_t its[] = { c->its_base, c->its_size };

		snprintf(name, sizeof(name), "msi-controller@%llx", (unsigned long long)c->its_base);
		TRY(fdt_begin_node(fdt, name));
		TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3-its"));
		TRY(fdt_property(fdt, "msi-controller", NULL, 0));
		TRY(fdt_property_u32(fdt, "#msi-cells", 1));
		TRY(prop_u64s(fdt, "reg", its, 2));
		TRY(fdt_property_u32(fdt, "phandle", ARM64_FDT_PHANDLE_ITS));
		TRY(fdt_end_node(fdt));
	}
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

static int add_timer(void *fdt, const struct arm64_fdt_config *c)
{
	uint32_t irqs[12];
	int e;

	for (int i = 0; i < 4; i++) {
		irqs[3 * i] = GIC_PPI;
		irqs[3 * i + 1] = c->timer_ppi[i];
		irqs[3 * i + 2] = IRQ_TYPE_LEVEL_HIGH;
	}
	TRY(fdt_begin_node(fdt, "timer"));
	TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	TRY(prop_u32s(fdt, "interrupts", irqs, 12));
	TRY(fdt_property(fdt, "always-on", NULL, 0));
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

static int add_psci(void *fdt)
{
	int e;

	TRY(fdt_begin_node(fdt, "psci"));
	TRY(fdt_property_string(fdt, "compatible", "arm,psci-0.2"));
	TRY(fdt_property_string(fdt, "method", "hvc"));
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

/* A 16550A with byte-wide registers one byte apart (reg-shift 0 and
 * reg-io-width 1 are the binding's defaults). */
static int add_uart(void *fdt, const struct devreg_entry *u, char *err, size_t errlen)
{
	const uint64_t reg[] = { u->mmio[0].base, u->mmio[0].size };
	char name[48];
	int e;

	if (u->nr_mmio != 1 || u->nr_irqs != 1) {
		util__fail(err, errlen, "UART '%s': the device tree describes one MMIO range and one interrupt",
			   u->name);
		return -FDT_ERR_BADVALUE;
	}
	snprintf(name, sizeof(name), "uart@%llx", (unsigned long long)u->mmio[0].base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "ns16550a"));
	TRY(prop_u64s(fdt, "reg", reg, 2));
	TRY(prop_u32s(fdt, "interrupts",
		      (const uint32_t[]){ GIC_SPI, u->irq[0].line, irq_type(&u->irq[0]) }, 3));
	TRY(fdt_property_u32(fdt, "clock-frequency", UART_CLOCK_HZ));
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

/* The fixed clock every PrimeCell names as "apb_pclk": Linux's AMBA bus
 * enables it before it reads the cell's ID registers. */
static int add_apb_clock(void *fdt)
{
	int e;

	TRY(fdt_begin_node(fdt, "apb-pclk"));
	TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
	TRY(fdt_property_u32(fdt, "#clock-cells", 0));
	TRY(fdt_property_u32(fdt, "clock-frequency", 24000000));
	TRY(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
	TRY(fdt_property_u32(fdt, "phandle", ARM64_FDT_PHANDLE_APB_CLK));
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

static int add_pl031(void *fdt, const struct devreg_entry *d, char *err, size_t errlen)
{
	static const char compat[] = "arm,pl031\0arm,primecell";
	const uint64_t reg[] = { d->mmio[0].base, d->mmio[0].size };
	char name[48];
	int e;

	if (d->nr_mmio != 1 || d->nr_irqs != 1) {
		util__fail(err, errlen, "RTC '%s': the device tree describes one MMIO range and one interrupt",
			   d->name);
		return -FDT_ERR_BADVALUE;
	}
	snprintf(name, sizeof(name), "pl031@%llx", (unsigned long long)d->mmio[0].base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property(fdt, "compatible", compat, sizeof(compat)));
	TRY(prop_u64s(fdt, "reg", reg, 2));
	TRY(prop_u32s(fdt, "interrupts",
		      (const uint32_t[]){ GIC_SPI, d->irq[0].line, irq_type(&d->irq[0]) }, 3));
	TRY(fdt_property_u32(fdt, "clocks", ARM64_FDT_PHANDLE_APB_CLK));
	TRY(fdt_property_string(fdt, "clock-names", "apb_pclk"));
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

/* The PL061 and, on its line 'power', a gpio-keys power button: the
 * guest's gpio-keys driver turns the line's edges into KEY_POWER presses
 * and releases (systemd-logind, acpid: poweroff). */
static int add_pl061(void *fdt, const struct devreg_entry *d, unsigned power,
		     char *err, size_t errlen)
{
	static const char compat[] = "arm,pl061\0arm,primecell";
	const uint64_t reg[] = { d->mmio[0].base, d->mmio[0].size };
	char name[48];
	int e;

	if (d->nr_mmio != 1 || d->nr_irqs != 1) {
		util__fail(err, errlen, "GPIO '%s': the device tree describes one MMIO range and one interrupt",
			   d->name);
		return -FDT_ERR_BADVALUE;
	}
	snprintf(name, sizeof(name), "pl061@%llx", (unsigned long long)d->mmio[0].base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property(fdt, "compatible", compat, sizeof(compat)));
	TRY(prop_u64s(fdt, "reg", reg, 2));
	TRY(prop_u32s(fdt, "interrupts",
		      (const uint32_t[]){ GIC_SPI, d->irq[0].line, irq_type(&d->irq[0]) }, 3));
	TRY(fdt_property(fdt, "gpio-controller", NULL, 0));
	TRY(fdt_property_u32(fdt, "#gpio-cells", 2));
	TRY(fdt_property_u32(fdt, "clocks", ARM64_FDT_PHANDLE_APB_CLK));
	TRY(fdt_property_string(fdt, "clock-names", "apb_pclk"));
	TRY(fdt_property_u32(fdt, "phandle", ARM64_FDT_PHANDLE_GPIO));
	TRY(fdt_end_node(fdt));

	TRY(fdt_begin_node(fdt, "gpio-keys"));
	TRY(fdt_property_string(fdt, "compatible", "gpio-keys"));
	TRY(fdt_begin_node(fdt, "poweroff"));
	TRY(fdt_property_string(fdt, "label", "GPIO Key Poweroff"));
	TRY(fdt_property_u32(fdt, "linux,code", ARM64_FDT_KEY_POWER));
	/* <&gpio line flags>: active high */
	TRY(prop_u32s(fdt, "gpios", (const uint32_t[]){ ARM64_FDT_PHANDLE_GPIO, power, 0 }, 3));
	TRY(fdt_end_node(fdt));
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

/* INTx: interrupt-map for the 4 slots modulo 4 x 4 pins, swizzled as
 * the platform routes them (slot + pin - 1) % 4, each entry
 * <slot<<11 0 0  pin  &gic  0 0  GIC_SPI spi LEVEL_HIGH>. */
static int add_pci_intx(void *fdt, int spi)
{
	uint32_t map[16 * 10], *m = map;
	int e;

	for (uint32_t slot = 0; slot < 4; slot++)
		for (uint32_t pin = 1; pin <= 4; pin++) {
			const uint32_t entry[10] = {
				slot << 11, 0, 0, pin, ARM64_FDT_PHANDLE_GIC, 0, 0,
				GIC_SPI, (uint32_t)spi + (slot + pin - 1) % 4, IRQ_TYPE_LEVEL_HIGH,
			};

			memcpy(m, entry, sizeof(entry));
			m += 10;
		}
	TRY(prop_u32s(fdt, "interrupt-map", map, 16 * 10));
	TRY(prop_u32s(fdt, "interrupt-map-mask", (const uint32_t[]){ 3 << 11, 0, 0, 7 }, 4));
	return 0;
fail:
	return e;
}

static int add_pci(void *fdt, const struct arm64_fdt_config *c, const struct devreg_entry *p,
		   char *err, size_t errlen)
{
	const struct devreg_pci_host *w = &p->pci;
	const uint64_t reg[] = { w->ecam_base, w->ecam_size };
	uint32_t ranges[14];
	int n = 0, e;
	char name[48];

	if (!w->ecam_size || w->io_end != w->io_base) {
		util__fail(err, errlen, "PCI host '%s': the device tree describes an ECAM host without I/O space",
			   p->name);
		return -FDT_ERR_BADVALUE;
	}
	/* <space  pci addr (2)  cpu addr (2)  size (2)>, identity mapped */
	if (w->mmio32_end > w->mmio32_base) {
		uint64_t size = w->mmio32_end - w->mmio32_base;
		const uint32_t r[] = { PCI_SPACE_MEM32, (uint32_t)(w->mmio32_base >> 32),
				       (uint32_t)w->mmio32_base, (uint32_t)(w->mmio32_base >> 32),
				       (uint32_t)w->mmio32_base, (uint32_t)(size >> 32), (uint32_t)size };

		memcpy(ranges + n, r, sizeof(r));
		n += 7;
	}
	if (w->mmio64_end > w->mmio64_base) {
		uint64_t size = w->mmio64_end - w->mmio64_base;
		const uint32_t r[] = { PCI_SPACE_MEM64, (uint32_t)(w->mmio64_base >> 32),
				       (uint32_t)w->mmio64_base, (uint32_t)(w->mmio64_base >> 32),
				       (uint32_t)w->mmio64_base, (uint32_t)(size >> 32), (uint32_t)size };

		memcpy(ranges + n, r, sizeof(r));
		n += 7;
	}
	snprintf(name, sizeof(name), "pcie@%llx", (unsigned long long)w->ecam_base);
	TRY(fdt_begin_node(fdt, name));
	TRY(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
	TRY(fdt_property_string(fdt, "device_type", "pci"));
	TRY(fdt_property_u32(fdt, "#address-cells", 3));
	TRY(fdt_property_u32(fdt, "#size-cells", 2));
	TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
	TRY(prop_u32s(fdt, "bus-range", (const uint32_t[]){ 0, (uint32_t)(w->ecam_size >> 20) - 1 }, 2));
	TRY(prop_u64s(fdt, "reg", reg, 2));
	TRY(prop_u32s(fdt, "ranges", ranges, n));
	TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
	/* Every requester id 0..0xffff is the same device id at the ITS. */
	if (c->its_size)
		TRY(prop_u32s(fdt, "msi-map",
			      (const uint32_t[]){ 0, ARM64_FDT_PHANDLE_ITS, 0, 0x10000 }, 4));
	if (c->pci_intx_spi >= 0)
		TRY(add_pci_intx(fdt, c->pci_intx_spi));
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

static int add_chosen(void *fdt, const struct arm64_fdt_config *c, const char *stdout_path)
{
	int e;

	TRY(fdt_begin_node(fdt, "chosen"));
	if (c->bootargs)
		TRY(fdt_property_string(fdt, "bootargs", c->bootargs));
	if (stdout_path)
		TRY(fdt_property_string(fdt, "stdout-path", stdout_path));
	if (c->initrd_end > c->initrd_start) {
		TRY(fdt_property_u64(fdt, "linux,initrd-start", c->initrd_start));
		TRY(fdt_property_u64(fdt, "linux,initrd-end", c->initrd_end));
	}
	/* vmm assigned every BAR and enabled decoding as firmware does: the
	 * kernel keeps them (no reassignment, fewer config exits). */
	TRY(fdt_property_u32(fdt, "linux,pci-probe-only", 1));
	TRY(fdt_end_node(fdt));
	return 0;
fail:
	return e;
}

int arm64_fdt__build(void *buf, size_t size, const struct arm64_fdt_config *c,
		     char *err, size_t errlen)
{
	const struct devreg_entry *d, *uart0;
	const uint64_t mem[] = { c->ram_base, c->ram_size };
	char name[48], stdout_path[48];
	int e;

	if (size > INT32_MAX)
		size = INT32_MAX;
	err[0] = 0;
	uart0 = c->devs ? devreg__find(c->devs, DEVREG_SERIAL_16550) : NULL;
	if (uart0 && uart0->nr_mmio)
		snprintf(stdout_path, sizeof(stdout_path), "/uart@%llx",
			 (unsigned long long)uart0->mmio[0].base);
	TRY(fdt_create(buf, (int)size));
	TRY(fdt_finish_reservemap(buf));
	TRY(fdt_begin_node(buf, ""));
	TRY(fdt_property_string(buf, "compatible", "linux,dummy-virt"));
	TRY(fdt_property_string(buf, "model", "vmm"));
	TRY(fdt_property_u32(buf, "#address-cells", 2));
	TRY(fdt_property_u32(buf, "#size-cells", 2));
	TRY(fdt_property_u32(buf, "interrupt-parent", ARM64_FDT_PHANDLE_GIC));
	TRY(add_chosen(buf, c, uart0 && uart0->nr_mmio ? stdout_path : NULL));
	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)c->ram_base);
	TRY(fdt_begin_node(buf, name));
	TRY(fdt_property_string(buf, "device_type", "memory"));
	TRY(prop_u64s(buf, "reg", mem, 2));
	TRY(fdt_end_node(buf));
	TRY(add_cpus(buf, c));
	TRY(add_psci(buf));
	TRY(add_timer(buf, c));
	TRY(add_gic(buf, c));
	for (d = NULL; c->devs && (d = devreg__next(c->devs, d, DEVREG_SERIAL_16550));)
		TRY(add_uart(buf, d, err, errlen));
	if (c->devs && (devreg__find(c->devs, DEVREG_RTC_PL031) ||
			devreg__find(c->devs, DEVREG_GPIO_PL061)))
		TRY(add_apb_clock(buf));
	/* One: the gpio-keys node it gets has a fixed name. */
	d = c->devs ? devreg__find(c->devs, DEVREG_GPIO_PL061) : NULL;
	if (d)
		TRY(add_pl061(buf, d, c->power_button_line, err, errlen));
	for (d = NULL; c->devs && (d = devreg__next(c->devs, d, DEVREG_RTC_PL031));)
		TRY(add_pl031(buf, d, err, errlen));
	for (d = NULL; c->devs && (d = devreg__next(c->devs, d, DEVREG_PCI_HOST));)
		TRY(add_pci(buf, c, d, err, errlen));
	TRY(fdt_end_node(buf));
	TRY(fdt_finish(buf));
	return 0;
fail:
	if (!err[0])
		util__fail(err, errlen, "cannot build the device tree: %s%s", fdt_strerror(e),
			   e == -FDT_ERR_NOSPACE ? " (more than the 2 MiB the boot protocol allows)" : "");
	return -1;
}
