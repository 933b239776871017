/* mptable.h — Intel MultiProcessor Specification 1.4 tables: the floating
 * pointer and the configuration table describing every vCPU (LAPIC ids
 * 0..n-1), the IOAPIC, the ISA bus and its 16 IRQs (IRQ n -> IOAPIC pin n,
 * except the timer: IRQ 0 -> pin 2, as KVM's in-kernel IOAPIC wires it),
 * PCI bus 0 and the INTx of its slots when the device registry has a PCI
 * host the firmware describes, and the local interrupts (ExtINT, NMI) of
 * the LAPICs. */
#ifndef X86_MPTABLE_H
#define X86_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

struct devreg;

/* Write the floating pointer at 'buf' (guest-physical base_gpa) followed by
 * the configuration table. Returns the number of bytes used, or -1 if
 * 'len' is too small, nr_cpus is out of range (1..255) or 'devs' has
 * more than one PCI host for the table (reason printed). */
int mptable__write(void *buf, size_t len, uint32_t base_gpa, int nr_cpus,
		   uint32_t ioapic_addr, uint32_t lapic_addr, const struct devreg *devs);

#endif
