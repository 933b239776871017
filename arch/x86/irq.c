/* irq.c (x86) — the wired interrupt routes of a PC: ISA IRQs 0-15 on the
 * 8259 PICs and IOAPIC pins 0-23, exactly what KVM installs by default
 * when the irqchip is created (so replacing the table keeps them); and
 * PCI INTx's place on them. */
#include "arch/x86/irq.h"
#include "vmm/arch.h"
#include "vmm/irq.h"

#define IOAPIC_PINS 24
#define PIC_IRQS    16
#define PCI_INTX_GSI_BASE 16
#define PCI_INTX_NR_GSIS  8
#define PCI_SLOTS         32

static void route(struct kvm_irq_routing_entry *e, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
}

int arch__irq_default_routes(struct kvm_irq_routing_entry *e, int max, uint32_t *next_gsi)
{
	int n = 0;

	if (max < IOAPIC_PINS + PIC_IRQS)
		return -1;
	for (uint32_t i = 0; i < PIC_IRQS; i++)
		route(&e[n++], i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, i % 8);
	for (uint32_t i = 0; i < IOAPIC_PINS; i++)
		route(&e[n++], i, KVM_IRQCHIP_IOAPIC, i);
	*next_gsi = IOAPIC_PINS;
	return n;
}

/* KVM_IRQ_LINE on x86 takes the GSI as it is. */
uint32_t arch__irq_line(unsigned line)
{
	return line;
}

/* The LAPIC takes an MSI's address and data only. */
bool arch__msi_needs_devid(void)
{
	return false;
}

int x86_irq__pci_intx(unsigned slot, unsigned pin)
{
	if (pin < 1 || pin > 4 || slot >= PCI_SLOTS)
		return -1;
	return PCI_INTX_GSI_BASE + (int)((slot + pin - 1) % PCI_INTX_NR_GSIS);
}
