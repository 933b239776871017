/* arch_vm.h — x86 state of one VM (struct vm's 'arch'). */
#ifndef X86_ARCH_VM_H
#define X86_ARCH_VM_H

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/boot.h"
#include "vmm/devreg.h"

struct uart8250;
struct i8042;
struct rtc;
struct boot_marker_dev;
struct acpi_pm;

struct arch_vm {
	struct uart8250 *com1;
	struct i8042 *i8042;
	struct rtc *rtc;
	struct boot_marker_dev *marker;
	struct acpi_pm *acpi_pm;
	/* Every platform device above and the PCI host, as the ACPI and MP
	 * tables describe them (filled by arch__devices_init). */
	struct devreg devs;
	uint64_t entry;         /* 64-bit kernel entry point; 0: no kernel loaded */
	/* Between arch__prepare() and arch__load_kernel(): the files. */
	struct x86_kernel kernel;
	uint8_t *kernel_img, *initrd;
	size_t kernel_len, initrd_len;
};

struct vcpu;

/* Add the PC's platform devices (COM1, i8042, RTC, marker port, ACPI PM
 * block, PCI host) to 'r', as arch__devices_init does: the registry the
 * tables are built from. Returns 0, or -1 (reason printed). */
int x86_vm__describe(struct devreg *r);

/* Point a vCPU at the loaded kernel's 64-bit entry (arch/x86/cpu.c). */
int x86_cpu__set_boot_regs(struct vcpu *v);

#endif
