/* layout.h — where vmm puts things in arm64 guest-physical memory.
 *
 * The low 2 GiB are MMIO, laid out like QEMU's "virt" machine (so addresses
 * look familiar in a guest's /proc/iomem), and RAM starts at 2 GiB, as on
 * QEMU virt and kvmtool: nothing of the guest depends on it, the device tree
 * says it all. */
#ifndef ARM64_LAYOUT_H
#define ARM64_LAYOUT_H

/* GICv3: the distributor, the ITS (two 64 KiB frames: control and
 * GITS_TRANSLATER), then one 128 KiB redistributor per vCPU up to the UART. */
#define ARM64_GIC_DIST_BASE     0x08000000ULL
#define ARM64_GIC_DIST_SIZE     0x10000ULL
#define ARM64_GIC_ITS_BASE      0x08080000ULL
#define ARM64_GIC_ITS_SIZE      0x20000ULL
#define ARM64_GIC_REDIST_BASE   0x080a0000ULL
#define ARM64_GIC_REDIST_SIZE   0x20000ULL          /* per vCPU */
#define ARM64_GIC_REDIST_END    0x09000000ULL
#define ARM64_MAX_CPUS \
	((unsigned)((ARM64_GIC_REDIST_END - ARM64_GIC_REDIST_BASE) / ARM64_GIC_REDIST_SIZE))

/* The console: a 16550A (devices/pc/uart8250.c) on MMIO, byte registers. */
#define ARM64_UART_BASE         0x09000000ULL
#define ARM64_UART_SIZE         0x1000ULL
/* The wall clock: a PL031 RTC (devices/amba/pl031.c). */
#define ARM64_RTC_BASE          0x09010000ULL
/* The power button: line 3 of a PL061 GPIO controller (devices/amba/pl061.c),
 * a gpio-keys KEY_POWER in the device tree, as on QEMU virt. */
#define ARM64_GPIO_BASE         0x09030000ULL
#define ARM64_GPIO_POWER_LINE   3

/* PCI bus 0: BARs from 256 MiB, the ECAM window (bus 0 only, 1 MiB) after
 * them. No I/O window: there is no port I/O on arm64. */
#define ARM64_PCI_MMIO_START    0x10000000ULL
#define ARM64_PCI_MMIO_END      0x3ef00000ULL
#define ARM64_PCI_ECAM_BASE     0x3ef00000ULL
#define ARM64_PCI_ECAM_END      0x3f000000ULL

#define ARM64_RAM_BASE          0x80000000ULL

/* Interrupts. SPIs are numbered as the device tree numbers them (INTID
 * 32 + n); the timer's PPIs as the architecture fixes them (INTID 16 + n). */
#define ARM64_GIC_NR_IRQS       128                 /* INTIDs 0..127: 96 SPIs */
#define ARM64_SPI_UART          1
#define ARM64_SPI_RTC           2
#define ARM64_SPI_GPIO          3
#define ARM64_SPI_PCI_INTX      4                   /* INTA#..INTD#: SPIs 4..7 */
#define ARM64_PPI_TIMER_SEC     13
#define ARM64_PPI_TIMER_PHYS    14
#define ARM64_PPI_TIMER_VIRT    11
#define ARM64_PPI_TIMER_HYP     10

/* The kernel Image goes at the start of RAM (2 MiB aligned) plus its
 * text_offset; the device tree (at most 2 MiB, by the boot protocol) in the
 * last 2 MiB of RAM, the initrd just below it (arch/arm64/image.c). */
#define ARM64_IMAGE_ALIGN       0x200000ULL
#define ARM64_FDT_MAX_SIZE      0x200000ULL

#endif
