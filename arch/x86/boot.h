/* boot.h — parse and load a Linux kernel image: bzImage or ELF vmlinux.
 *
 * Both are entered through the 64-bit boot protocol (Documentation/x86/
 * boot.rst, "64-bit BOOT PROTOCOL"): long mode, identity-mapped page
 * tables, %rsi = zero page, entry at the 64-bit entry point (bzImage:
 * protected-mode kernel load address + 0x200; ELF: e_entry translated to
 * a physical address).
 *
 * The functions work on a buffer and a struct guest_mem so the unit tests
 * can drive them with images built in memory.
 */
#ifndef X86_BOOT_H
#define X86_BOOT_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

enum x86_kernel_format { X86_KERNEL_BZIMAGE, X86_KERNEL_ELF };

#define X86_ELF_MAX_SEGMENTS 16

struct x86_kernel {
	enum x86_kernel_format format;
	/* bzImage: the setup header as found in the image (to be copied into
	 * the zero page). ELF: a synthesised header (boot protocol 2.15
	 * defaults) with the fields the zero page needs. */
	struct setup_header hdr;
	uint64_t entry;        /* guest-physical 64-bit entry point */
	uint64_t load_addr;    /* guest-physical address of the image */
	uint64_t load_end;     /* end of memory the kernel needs (>= init_size) */
	/* bzImage: protected-mode part [pm_offset, pm_offset + pm_size) of the file */
	size_t pm_offset, pm_size;
	/* ELF: PT_LOAD segments */
	int nr_segments;
	struct {
		uint64_t paddr;   /* guest-physical destination */
		size_t offset;    /* in the file */
		size_t filesz;
		uint64_t memsz;   /* >= filesz; rest zero-filled */
	} seg[X86_ELF_MAX_SEGMENTS];
};

/* Recognise and validate an image. Returns 0, or -1 with a one-line reason
 * in err ("not a bzImage or ELF kernel", "boot protocol 2.03 too old (need
 * 2.06)", "truncated: ...", ...). Never reads outside [img, img+len). */
int x86_boot__parse(const uint8_t *img, size_t len, struct x86_kernel *k,
		    char *err, size_t errlen);

/* Copy the kernel into guest memory. -1 with reason in err if it does not
 * fit in RAM. */
int x86_boot__load(struct guest_mem *m, const uint8_t *img, size_t len,
		   const struct x86_kernel *k, char *err, size_t errlen);

#endif
