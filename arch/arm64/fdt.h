/* fdt.h — the device tree an arm64 guest boots with, built with libfdt.
 *
 * Everything the kernel is told about the machine: RAM, the vCPUs (PSCI
 * 0.2 over HVC, which KVM implements), the architected timer, the GICv3
 * with its ITS, and the platform devices from the VM's device registry
 * (vmm/devreg.h: a 16550A UART on MMIO, a PL031 RTC, a PL061 GPIO
 * controller whose line 3 is a gpio-keys power button, the PCI host as a
 * generic ECAM host bridge whose MSIs go to the ITS); /chosen carries the command line,
 * the initrd and stdout-path (the console needs no console=).
 *
 * Pure: it writes a buffer from a config, so the x86 unit tests build one
 * and read it back with libfdt. */
#ifndef ARM64_FDT_H
#define ARM64_FDT_H

#include <stddef.h>
#include <stdint.h>

struct devreg;

/* The phandles the tree uses (fixed: nothing else allocates any). */
#define ARM64_FDT_PHANDLE_GIC 1
#define ARM64_FDT_PHANDLE_ITS 2
#define ARM64_FDT_PHANDLE_APB_CLK 3   /* the PrimeCells' bus clock */
#define ARM64_FDT_PHANDLE_GPIO 4
#define ARM64_FDT_KEY_POWER 116         /* linux,code: input-event-codes.h KEY_POWER */

struct arm64_fdt_config {
	uint64_t ram_base, ram_size;
	unsigned nr_cpus;
	uint64_t gic_dist_base, gic_dist_size;
	uint64_t gic_redist_base, gic_redist_size;   /* all vCPUs' frames */
	uint64_t its_base, its_size;                 /* its_size 0: no ITS */
	/* The architected timer's PPIs (INTID - 16): secure, non-secure
	 * physical, virtual, hypervisor. */
	unsigned timer_ppi[4];
	/* The UARTs (DEVREG_SERIAL_16550 on MMIO; the first is stdout-path),
	 * the RTCs (DEVREG_RTC_PL031), the GPIO controller (DEVREG_GPIO_PL061,
	 * at most one) and the PCI host (DEVREG_PCI_HOST with an ECAM window). Interrupt
	 * lines are SPI numbers (INTID - 32). */
	const struct devreg *devs;
	/* PCI INTA# of slot 0 is this SPI, INTB# the next, ... (swizzled by
	 * slot modulo 4); < 0: no INTx. */
	int pci_intx_spi;
	/* The GPIO line that is the power button (gpio-keys, KEY_POWER). */
	unsigned power_button_line;
	const char *bootargs;                        /* NULL: none */
	uint64_t initrd_start, initrd_end;           /* equal: no initrd */
};

/* The MPIDR KVM gives vCPU 'id' (Aff0 = id % 16, Aff1 = id / 16: KVM's
 * reset value), which is what cpu@N's reg must say. */
uint64_t arm64_fdt__mpidr(unsigned id);

/* Write the tree into buf (at most size bytes). Returns 0, or -1 with the
 * reason in err (the buffer is too small, a device the tree cannot
 * describe). */
int arm64_fdt__build(void *buf, size_t size, const struct arm64_fdt_config *c,
		     char *err, size_t errlen);

#endif
