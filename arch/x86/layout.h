/* layout.h — where vmm puts things in x86 guest-physical memory. */
#ifndef X86_LAYOUT_H
#define X86_LAYOUT_H

#define X86_GDT_ADDR          0x0500ULL   /* boot GDT, 4 entries */
#define X86_IDT_ADDR          0x0520ULL   /* empty IDT (limit 0) */
#define X86_ZERO_PAGE         0x7000ULL   /* struct boot_params */
#define X86_PML4              0x9000ULL   /* identity map of the first 4 GiB */
#define X86_PDPT              0xa000ULL
#define X86_PD                0xb000ULL   /* 4 pages: 0xb000..0xefff, 2 MiB pages */
#define X86_CMDLINE           0x20000ULL
#define X86_CMDLINE_MAX       0x10000ULL  /* 64 KiB incl. NUL */
#define X86_EBDA_START        0x9fc00ULL  /* last KiB of base memory */
#define X86_BASE_MEM_END      0xa0000ULL  /* 640 KiB */
#define X86_BIOS_START        0xe0000ULL  /* reserved in e820: ACPI + MP tables */
#define X86_ACPI_START        0xe0000ULL  /* RSDP and the ACPI tables */
#define X86_ACPI_END          0xf0000ULL
#define X86_MPTABLE_START     0xf0000ULL  /* MP floating pointer + table */
#define X86_BIOS_END          0x100000ULL
#define X86_KERNEL_ADDR       0x100000ULL /* 1 MiB: protected-mode kernel */
#define X86_BOOT_STACK        0x8ff0ULL   /* real-mode/test guests only */

/* The 32-bit MMIO hole: PCI BARs, the PCI ECAM window (1 MiB for bus 0,
 * just below the IOAPIC; described by ACPI MCFG and reserved in e820 and
 * the DSDT), IOAPIC (0xfec00000), LAPIC (0xfee00000). */
#define X86_MMIO_HOLE_START   0xc0000000ULL
#define X86_MMIO_HOLE_END     0x100000000ULL
#define X86_PCI_MMIO_START    0xc0000000ULL
#define X86_PCI_MMIO_END      0xfeb00000ULL
#define X86_PCI_ECAM_BASE     0xfeb00000ULL
#define X86_PCI_ECAM_END      0xfec00000ULL
#define X86_PCI_IO_START      0x1000      /* I/O BARs */
#define X86_PCI_IO_END        0x10000
#define X86_IOAPIC_ADDR       0xfec00000ULL
#define X86_LAPIC_ADDR        0xfee00000ULL

/* ACPI fixed hardware on I/O ports (devices/pc/acpi_pm.c), and the SCI. */
#define X86_ACPI_PM1A_EVT_PORT 0x600     /* 4 bytes: PM1 status, enable */
#define X86_ACPI_PM1A_CNT_PORT 0x604     /* 2 bytes: PM1 control */
#define X86_ACPI_SCI_IRQ      9

/* KVM needs three pages for the TSS and one for the EPT identity map
 * somewhere the guest will not use: just below the IOAPIC. */
#define X86_TSS_ADDR          0xfeffd000ULL
#define X86_IDENTITY_MAP_ADDR 0xfeffc000ULL

#endif
