/* irq.h (x86) — the PC's interrupt wiring that more than one file must
 * agree on: where PCI INTx lands. devices/pci/pci.c asks through the host's
 * intx_irq op (arch/x86/vm.c), the MP table and the DSDT's _PRT describe
 * the same map to the guest. */
#ifndef X86_IRQ_H
#define X86_IRQ_H

/* PCI bus 0's INTx on IOAPIC pins 16-23 (level, active low), swizzled
 * like a PC's: GSI 16 + ((slot + pin - 1) mod 8), pin 1 = INTA#. -1 for
 * pin 0 or above 4, or slot above 31. */
int x86_irq__pci_intx(unsigned slot, unsigned pin);

#endif
