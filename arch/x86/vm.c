/* vm.c (x86) — the PC platform around the vCPUs: RAM hole, in-kernel
 * irqchip (PIC, IOAPIC, LAPICs) and PIT, and the legacy devices: COM1
 * UART, i8042, CMOS RTC, the boot-marker port and the ACPI PM1a block,
 * and PCI bus 0. Each device is described once (pc_devices below): the
 * device registry the ACPI and MP tables are generated from gets those
 * descriptions, and the bus registration reads its addresses from them. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/acpi.h"
#include "arch/x86/arch_vm.h"
#include "arch/x86/irq.h"
#include "arch/x86/layout.h"
#include "devices/pc/acpi_pm.h"
#include "devices/pc/boot_marker.h"
#include "devices/pc/i8042.h"
#include "devices/pci/pci.h"
#include "devices/pc/rtc.h"
#include "devices/pc/uart8250.h"
#include "vmm/arch.h"
#include "vmm/devreg.h"
#include "vmm/log.h"
#include "vmm/vm.h"

void arch__ram_layout(uint64_t ram_size, struct mem_layout *l)
{
	*l = (struct mem_layout){ .base = 0 };
	if (ram_size > X86_MMIO_HOLE_START) {
		l->hole_start = X86_MMIO_HOLE_START;
		l->hole_end = X86_MMIO_HOLE_END;
	}
}

int arch__vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };  /* a real speaker port */
	uint64_t identity = X86_IDENTITY_MAP_ADDR;

	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
		pr_err("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0) {
		pr_err("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		pr_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		pr_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* --- the platform, each device once ------------------------------------
 * 'firmware' marks what the ACPI tables name: the PM block (FADT, MADT),
 * the i8042 (FADT's IAPC_BOOT_ARCH), the RTC (FADT's century byte) and
 * PCI (DSDT PCI0, MCFG; the MP table's PCI bus). COM1 and the marker port
 * are found by the guest at their legacy addresses, as on a PC; naming
 * COM1 in the DSDT (PNP0501) would make Linux probe it a second way. */
#define PC_EDGE_HIGH	DEVREG_IRQ_EDGE, DEVREG_IRQ_HIGH
#define PC_PCI_CFG_PORTS 8	/* CF8..CFF: address, reset control, data */

static const struct devreg_entry pc_com1 = {
	.kind = DEVREG_SERIAL_16550, .name = "com1",
	.nr_pio = 1, .pio = { { UART8250_COM1_BASE, UART8250_NR_REGS } },
	.nr_irqs = 1, .irq = { { UART8250_COM1_IRQ, PC_EDGE_HIGH } },
};

static const struct devreg_entry pc_i8042 = {
	.kind = DEVREG_PS2_CTRL, .name = "i8042", .firmware = true,
	.nr_pio = 2, .pio = { { I8042_DATA_PORT, 1 }, { I8042_COMMAND_PORT, 1 } },
	.nr_irqs = 2, .irq = { { I8042_KBD_IRQ, PC_EDGE_HIGH },
			       { I8042_AUX_IRQ, PC_EDGE_HIGH } },
};

/* No interrupt line: devices/pc/rtc.c raises none. */
static const struct devreg_entry pc_rtc = {
	.kind = DEVREG_RTC_CMOS, .name = "rtc", .firmware = true,
	.nr_pio = 1, .pio = { { RTC_PORT, RTC_NR_PORTS } },
};

static const struct devreg_entry pc_marker = {
	.kind = DEVREG_DEBUG_PORT, .name = "boot-marker",
	.nr_pio = 1, .pio = { { BOOT_MARKER_PORT, 1 } },
};

/* The SCI: level triggered, active high, as acpi_pm drives the line (the
 * MADT overrides the ISA default for it with these flags). */
static const struct devreg_entry pc_acpi_pm = {
	.kind = DEVREG_ACPI_PM, .name = "pm1a", .firmware = true,
	.nr_pio = 2, .pio = {
		[DEVREG_ACPI_PM_EVT] = { X86_ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN },
		[DEVREG_ACPI_PM_CNT] = { X86_ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN },
	},
	.nr_irqs = 1, .irq = { { X86_ACPI_SCI_IRQ, DEVREG_IRQ_LEVEL, DEVREG_IRQ_HIGH } },
};

/* PCI bus 0: BARs in the 32-bit hole below the ECAM window, I/O BARs
 * above the legacy ports, config cycles through CF8/CFC and ECAM; INTx
 * as x86_irq__pci_intx() routes it. */
_Static_assert(X86_PCI_ECAM_END - X86_PCI_ECAM_BASE == PCI_ECAM_SIZE, "ECAM window");

static const struct devreg_entry pc_pci_host = {
	.kind = DEVREG_PCI_HOST, .name = "pci0", .firmware = true,
	.nr_pio = 1, .pio = {
		[DEVREG_PCI_CFG_PORTS] = { PCI_CONFIG_ADDRESS_PORT, PC_PCI_CFG_PORTS },
	},
	.pci = {
		.ecam_base = X86_PCI_ECAM_BASE, .ecam_size = PCI_ECAM_SIZE,
		.io_base = X86_PCI_IO_START, .io_end = X86_PCI_IO_END,
		.mmio32_base = X86_PCI_MMIO_START, .mmio32_end = X86_PCI_MMIO_END,
	},
};

static const struct devreg_entry *const pc_devices[] = {
	&pc_com1, &pc_i8042, &pc_rtc, &pc_marker, &pc_acpi_pm, &pc_pci_host,
};

int x86_vm__describe(struct devreg *r)
{
	for (size_t i = 0; i < sizeof(pc_devices) / sizeof(pc_devices[0]); i++)
		if (devreg__add(r, pc_devices[i]) < 0)
			return -1;
	return 0;
}

static void com1_set_irq(void *opaque, int level)
{
	vm__set_irq_line(opaque, pc_com1.irq[0].line, level);
}

static const struct uart8250_ops com1_ops = {
	.set_irq = com1_set_irq,
	.tx = vm__console_tx,
	.rx_ready = vm__console_rx_ready,
};

static void keyboard_reset(void *opaque)
{
	vm__request_exit(opaque, 0, "guest reboot (keyboard controller reset)");
}

static void keyboard_set_irq(void *opaque, int irq, int level)
{
	vm__set_irq_line(opaque, (unsigned)irq, level);
}

static const struct i8042_ops i8042_ops = {
	.reset = keyboard_reset,
	.set_irq = keyboard_set_irq,
};

static void acpi_poweroff(void *opaque)
{
	vm__request_exit(opaque, 0, "guest powered off");
}

static void acpi_set_sci(void *opaque, int level)
{
	vm__set_irq_line(opaque, pc_acpi_pm.irq[0].line, level);
}

static const struct acpi_pm_ops acpi_pm_ops = {
	.poweroff = acpi_poweroff,
	.set_sci = acpi_set_sci,
};

static int pci_intx_irq(void *opaque, unsigned slot, unsigned pin)
{
	return x86_irq__pci_intx(slot, pin);
}

static void pci_set_irq(void *opaque, int irq, int level)
{
	vm__set_irq_line(opaque, (unsigned)irq, level);
}

static void pci_reset(void *opaque)
{
	vm__request_exit(opaque, 0, "guest reboot (PCI reset control)");
}

static const struct pci_host_ops pci_host_ops = {
	.intx_irq = pci_intx_irq,
	.set_irq = pci_set_irq,
	.reset = pci_reset,
};

static int pci_init(struct vm *vm)
{
	const struct devreg_pci_host *w = &pc_pci_host.pci;
	struct pci_host_config cfg = {
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.mmio32_base = w->mmio32_base,
		.mmio32_end = w->mmio32_end,
		.mmio64_base = w->mmio64_base,
		.mmio64_end = w->mmio64_end,
		.ecam_base = w->ecam_base,
		.io_base = (uint32_t)w->io_base,
		.io_end = (uint32_t)w->io_end,
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

/* reboot=k: the keyboard controller's reset line, which vmm turns into
 * the end of the VM; panic=-1: reboot at once on a panic. */
const char *arch__default_params(void)
{
	return "console=ttyS0 reboot=k panic=-1";
}

/* The console's input goes to COM1's receive FIFO. */
static size_t com1_receive(void *opaque, const uint8_t *buf, size_t len)
{
	return uart8250__receive(opaque, buf, len);
}

int arch__devices_init(struct vm *vm)
{
	struct arch_vm *a = vm->arch;

	/* Described first, so an overlap is refused before anything is on
	 * a bus. */
	devreg__init(&a->devs);
	if (x86_vm__describe(&a->devs) < 0)
		return -1;
	a->com1 = uart8250__create(&com1_ops, vm);
	a->i8042 = i8042__create(&i8042_ops, vm);
	a->rtc = rtc__create();
	a->marker = boot_marker__create(vm->start_ns);
	a->acpi_pm = acpi_pm__create(&acpi_pm_ops, vm, ACPI_S5_SLP_TYP);
	if (!a->com1 || !a->i8042 || !a->rtc || !a->marker || !a->acpi_pm) {
		pr_err("cannot create the platform devices: out of memory");
		return -1;
	}
	/* The i8042 and the RTC put their fixed ports on the bus themselves
	 * (the same constants as pc_i8042 and pc_rtc). */
	if (bus__register(&vm->pio, pc_com1.pio[0].base, pc_com1.pio[0].size,
			  &uart8250__bus_ops, a->com1) < 0 ||
	    i8042__register(a->i8042, &vm->pio) < 0 ||
	    rtc__register(a->rtc, &vm->pio) < 0 ||
	    boot_marker__register(a->marker, &vm->pio, pc_marker.pio[0].base) < 0 ||
	    acpi_pm__register(a->acpi_pm, &vm->pio,
			      (uint16_t)pc_acpi_pm.pio[DEVREG_ACPI_PM_EVT].base,
			      (uint16_t)pc_acpi_pm.pio[DEVREG_ACPI_PM_CNT].base) < 0) {
		pr_err("cannot register the platform devices");
		return -1;
	}
	vm->markers = a->marker;
	if (pci_init(vm) < 0)
		return -1;
	return console__init(&vm->console, vm,
			     &(struct console_sink){ com1_receive, a->com1 },
			     !vm->cfg->no_console);
}

int arch__power_button(struct vm *vm)
{
	struct arch_vm *a = vm->arch;

	if (!a || !a->acpi_pm)
		return -1;
	return acpi_pm__power_button(a->acpi_pm) ? 1 : 0;
}

void arch__vm_destroy(struct vm *vm)
{
	struct arch_vm *a = vm->arch;

	if (vm->pci)
		pci__free(vm->pci);
	vm->pci = NULL;
	if (!a)
		return;
	if (a->com1)
		uart8250__free(a->com1);
	if (a->i8042)
		i8042__free(a->i8042);
	if (a->rtc)
		rtc__free(a->rtc);
	vm->markers = NULL;
	boot_marker__free(a->marker);
	acpi_pm__free(a->acpi_pm);
	free(a->kernel_img);
	free(a->initrd);
	free(a);
	vm->arch = NULL;
}
