/* bootparams.h — the zero page (struct boot_params): setup header, e820
 * map, command line and initrd placement. */
#ifndef X86_BOOTPARAMS_H
#define X86_BOOTPARAMS_H

#include <asm/bootparam.h>
#include <stdint.h>

#include "arch/x86/boot.h"
#include "vmm/memory.h"

/* Choose where the initrd goes: page aligned, as high as possible below
 * min(hdr.initrd_addr_max, low RAM end), above the kernel's load_end and
 * clear of everything vmm places below 1 MiB. Returns 0 or -1 with a
 * reason ("initrd of N MiB does not fit below ..."). */
int x86_bootparams__place_initrd(const struct guest_mem *m, const struct x86_kernel *k,
				 uint64_t initrd_size, uint64_t *gpa,
				 char *err, size_t errlen);

/* Fill the e820 table from the RAM regions (reserving the EBDA and BIOS
 * areas below 1 MiB). Returns the number of entries. */
int x86_bootparams__e820(const struct guest_mem *m, struct boot_e820_entry *e, int max);

/* Build the zero page: header copied from the image, loader type 0xff,
 * CAN_USE_HEAP, heap_end_ptr, command line and initrd pointers, e820 map. */
void x86_bootparams__build(struct boot_params *bp, const struct x86_kernel *k,
			   const struct guest_mem *m,
			   uint64_t cmdline_gpa, uint32_t cmdline_len,
			   uint64_t initrd_gpa, uint64_t initrd_size);

#endif
