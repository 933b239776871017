/* vm.c (arm64) — the platform around the vCPUs: RAM at 2 GiB, the GICv3
 * with its ITS, a 16550A UART on MMIO as the console (the same model as
 * the PC's COM1, devices/pc/uart8250.c), a PL031 RTC for the wall clock,
 * a PL061 GPIO controller with the power button on line 3, and PCI bus 0
 * behind an ECAM
 * window, MSIs through the ITS, INTx on four SPIs. Each device is described
 * once (arm64_devices below): the device registry the device tree is
 * generated from gets those descriptions, and the bus registration reads
 * its addresses from them. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arm64/arch_vm.h"
#include "arch/arm64/layout.h"
#include "devices/amba/pl031.h"
#include "devices/amba/pl061.h"
#include "devices/pc/uart8250.h"
#include "devices/pci/pci.h"
#include "vmm/arch.h"
#include "vmm/devreg.h"
#include "vmm/log.h"
#include "vmm/vm.h"

void arch__ram_layout(uint64_t ram_size, struct mem_layout *l)
{
	*l = (struct mem_layout){ .base = ARM64_RAM_BASE };
}

int arch__vm_init(struct vm *vm)
{
	if (vm->cfg->nr_cpus > (int)ARM64_MAX_CPUS) {
		pr_err("%d vCPUs: the arm64 platform has redistributors for %u", vm->cfg->nr_cpus,
		       ARM64_MAX_CPUS);
		return -1;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0) {
		pr_err("this KVM lacks KVM_CAP_ARM_PSCI_0_2, which vmm needs to start secondary vCPUs and power off");
		return -1;
	}
	return arm64_gic__create(vm);
}

/* --- the platform, each device once ------------------------------------ */
static const struct devreg_entry arm64_uart = {
	.kind = DEVREG_SERIAL_16550, .name = "uart0", .firmware = true,
	.nr_mmio = 1, .mmio = { { ARM64_UART_BASE, UART8250_NR_REGS } },
	.nr_irqs = 1, .irq = { { ARM64_SPI_UART, DEVREG_IRQ_LEVEL, DEVREG_IRQ_HIGH } },
};

static const struct devreg_entry arm64_rtc = {
	.kind = DEVREG_RTC_PL031, .name = "rtc", .firmware = true,
	.nr_mmio = 1, .mmio = { { ARM64_RTC_BASE, PL031_SIZE } },
	.nr_irqs = 1, .irq = { { ARM64_SPI_RTC, DEVREG_IRQ_LEVEL, DEVREG_IRQ_HIGH } },
};

static const struct devreg_entry arm64_gpio = {
	.kind = DEVREG_GPIO_PL061, .name = "gpio", .firmware = true,
	.nr_mmio = 1, .mmio = { { ARM64_GPIO_BASE, PL061_SIZE } },
	.nr_irqs = 1, .irq = { { ARM64_SPI_GPIO, DEVREG_IRQ_LEVEL, DEVREG_IRQ_HIGH } },
};

_Static_assert(ARM64_PCI_ECAM_END - ARM64_PCI_ECAM_BASE == PCI_ECAM_SIZE, "ECAM window");

static const struct devreg_entry arm64_pci_host = {
	.kind = DEVREG_PCI_HOST, .name = "pci0", .firmware = true,
	.pci = {
		.ecam_base = ARM64_PCI_ECAM_BASE, .ecam_size = PCI_ECAM_SIZE,
		.mmio32_base = ARM64_PCI_MMIO_START, .mmio32_end = ARM64_PCI_MMIO_END,
	},
};

static void uart_set_irq(void *opaque, int level)
{
	vm__set_irq_line(opaque, arm64_uart.irq[0].line, level);
}

static const struct uart8250_ops uart_ops = {
	.set_irq = uart_set_irq,
	.tx = vm__console_tx,
	.rx_ready = vm__console_rx_ready,
};

static void rtc_set_irq(void *opaque, int level)
{
	vm__set_irq_line(opaque, arm64_rtc.irq[0].line, level);
}

static const struct pl031_ops rtc_ops = {
	.set_irq = rtc_set_irq,
};

static void gpio_set_irq(void *opaque, int level)
{
	vm__set_irq_line(opaque, arm64_gpio.irq[0].line, level);
}

static const struct pl061_ops gpio_ops = {
	.set_irq = gpio_set_irq,
};

static size_t uart_receive(void *opaque, const uint8_t *buf, size_t len)
{
	return uart8250__receive(opaque, buf, len);
}

/* INTx: slot s pin p (1 = INTA#) on SPI 4 + (s + p - 1) % 4, as the device
 * tree's interrupt-map says (arch/arm64/fdt.c). */
static int pci_intx_irq(void *opaque, unsigned slot, unsigned pin)
{
	if (pin < 1 || pin > 4 || slot >= PCI_NR_SLOTS)
		return -1;
	return ARM64_SPI_PCI_INTX + (int)((slot + pin - 1) % 4);
}

static void pci_set_irq(void *opaque, int irq, int level)
{
	vm__set_irq_line(opaque, (unsigned)irq, level);
}

static const struct pci_host_ops pci_host_ops = {
	.intx_irq = pci_intx_irq,
	.set_irq = pci_set_irq,
};

static int pci_init(struct vm *vm)
{
	const struct devreg_pci_host *w = &arm64_pci_host.pci;
	struct pci_host_config cfg = {
		.pio = NULL,  /* no port I/O: config cycles through ECAM only */
		.mmio = &vm->mmio,
		.mmio32_base = w->mmio32_base,
		.mmio32_end = w->mmio32_end,
		.ecam_base = w->ecam_base,
		.ops = &pci_host_ops,
		.opaque = vm,
	};

	vm->pci = pci__create(&cfg);
	return vm->pci ? 0 : -1;
}

const char *arch__console_name(void)
{
	return "ttyS0";
}

/* No console=: the device tree's stdout-path names the UART. panic=-1:
 * a panic reboots at once, which ends the VM (PSCI SYSTEM_RESET). */
const char *arch__default_params(void)
{
	return "panic=-1";
}

int arch__devices_init(struct vm *vm)
{
	struct arch_vm *a = vm->arch;

	devreg__init(&a->devs);
	if (devreg__add(&a->devs, &arm64_uart) < 0 || devreg__add(&a->devs, &arm64_rtc) < 0 ||
	    devreg__add(&a->devs, &arm64_gpio) < 0 || devreg__add(&a->devs, &arm64_pci_host) < 0)
		return -1;
	a->uart = uart8250__create(&uart_ops, vm);
	a->rtc = pl031__create(&rtc_ops, vm);
	a->gpio = pl061__create(&gpio_ops, vm);
	if (!a->uart || !a->rtc || !a->gpio) {
		pr_err("cannot create the platform devices: out of memory");
		return -1;
	}
	if (bus__register(&vm->mmio, arm64_uart.mmio[0].base, arm64_uart.mmio[0].size,
			  &uart8250__bus_ops, a->uart) < 0 ||
	    bus__register(&vm->mmio, arm64_rtc.mmio[0].base, arm64_rtc.mmio[0].size,
			  &pl031__bus_ops, a->rtc) < 0 ||
	    bus__register(&vm->mmio, arm64_gpio.mmio[0].base, arm64_gpio.mmio[0].size,
			  &pl061__bus_ops, a->gpio) < 0) {
		pr_err("cannot register the platform devices");
		return -1;
	}
	if (pci_init(vm) < 0)
		return -1;
	return console__init(&vm->console, vm, &(struct console_sink){ uart_receive, a->uart },
			     !vm->cfg->no_console);
}

/* KVM_IRQ_LINE on arm64: the interrupt type in bits 24-27 and the INTID;
 * the platform's lines are SPIs, numbered from INTID 32. */
uint32_t arch__irq_line(unsigned line)
{
	return (uint32_t)KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT | (line + 32);
}

/* Wired lines are driven with KVM_IRQ_LINE, not through GSI routes: the
 * table holds MSI routes only. */
int arch__irq_default_routes(struct kvm_irq_routing_entry *e, int max, uint32_t *next_gsi)
{
	*next_gsi = 0;
	return 0;
}

/* The ITS tells devices apart by the requester id an MSI carries. */
bool arch__msi_needs_devid(void)
{
	return true;
}

/* The gpio-keys power button: a press the guest sees as KEY_POWER, let go
 * once its driver has read the line (devices/amba/pl061.c). */
int arch__power_button(struct vm *vm)
{
	struct arch_vm *a = vm->arch;

	if (!a || !a->gpio)
		return -1;
	return pl061__press(a->gpio, ARM64_GPIO_POWER_LINE) ? 1 : 0;
}

void arch__vm_destroy(struct vm *vm)
{
	struct arch_vm *a = vm->arch;

	if (vm->pci)
		pci__free(vm->pci);
	vm->pci = NULL;
	if (!a)
		return;
	if (a->uart)
		uart8250__free(a->uart);
	pl031__free(a->rtc);
	pl061__free(a->gpio);
	arm64_gic__destroy(a);
	free(a->kernel_img);
	free(a->initrd);
	free(a);
	vm->arch = NULL;
}
