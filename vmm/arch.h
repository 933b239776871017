/* arch.h — what every architecture under arch/ provides to the core. */
#ifndef VMM_ARCH_H
#define VMM_ARCH_H

#include <stdint.h>

struct vm;
struct vcpu;

/* The guest's console device as its kernel names it (x86: ttyS0), and the
 * command line used when the user gives none (console on it, reboot and
 * panic ending the VM). */
const char *arch__console_name(void);
const char *arch__default_params(void);
/* KVM_IRQ_LINE's 'irq' field for one of the platform's wired lines (x86:
 * the GSI itself; arm64 packs type and number). */
uint32_t arch__irq_line(unsigned line);
/* Where guest RAM of this size goes (vmm/memory.h): x86 from 0, around
 * the MMIO hole below 4 GiB (PCI, IOAPIC, LAPIC). */
struct mem_layout;
void arch__ram_layout(uint64_t ram_size, struct mem_layout *l);
/* Before KVM is touched: read and validate the kernel and initrd named in
 * the config, so a bad image is reported first and cheaply. Allocates
 * vm->arch. */
int arch__prepare(struct vm *vm);
/* After the VM fd exists: irqchip, timers, TSS. */
int arch__vm_init(struct vm *vm);
/* Platform devices on the buses: UART, i8042, debug port, ... */
int arch__devices_init(struct vm *vm);
/* The late init, after the vCPUs exist (arm64's vGIC and device tree need
 * them): copy the prepared kernel, initrd and command line into guest
 * memory, write the platform tables (MP table / ACPI, e820) and point the
 * boot vCPU at the entry. */
int arch__load_kernel(struct vm *vm);
/* Per vCPU, as each is created: CPUID, MSRs, LAPIC. */
int arch__vcpu_init(struct vcpu *v);
/* An exit the generic loop does not handle; return 0 to continue, or -1
 * after vm__request_exit(). */
int arch__handle_exit(struct vcpu *v);
void arch__vcpu_dump(struct vcpu *v);
/* Press the platform's power button (`vmm stop`; x86: the ACPI fixed
 * power button). Any thread, once the devices exist. 1: the guest listens
 * for it; 0: it does not (yet), the press stays pending; -1: the platform
 * has no power button. */
int arch__power_button(struct vm *vm);
void arch__vm_destroy(struct vm *vm);

#endif
