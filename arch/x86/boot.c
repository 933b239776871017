/* boot.c — recognise, validate and load a Linux x86-64 kernel image:
 * a bzImage (boot protocol >= 2.06 with a 64-bit entry point) or an ELF64
 * vmlinux. Every field is checked against the file length before use; all
 * arithmetic on image-supplied values is overflow-checked. */
#include <elf.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/util.h"
#include "arch/x86/boot.h"
#include "arch/x86/layout.h"

#define SETUP_HDR_OFFSET   0x1f1   /* struct setup_header in the image */
#define BOOT_FLAG_OFFSET   0x1fe
#define JUMP_OFFSET        0x200   /* "jmp short": its byte at 0x201 gives the header length */
#define HDRS_OFFSET        0x202
#define VERSION_OFFSET     0x206
#define HDRS_MAGIC         0x53726448U  /* "HdrS" */
#define BOOT_FLAG_MAGIC    0xaa55
#define ENTRY64_OFFSET     0x200   /* 64-bit entry, relative to the pm kernel */
#define MIN_PROTOCOL       0x206
#define START_KERNEL_MAP   0xffffffff80000000ULL

#define fail util__fail

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t align_up(uint64_t v, uint64_t a, bool *overflow)
{
	uint64_t r;

	if (a == 0 || (a & (a - 1)))   /* not a power of two: leave alone */
		return v;
	if (__builtin_add_overflow(v, a - 1, &r))
		*overflow = true;
	return r & ~(a - 1);
}

static bool is_bzimage(const uint8_t *img, size_t len)
{
	return len >= HDRS_OFFSET + 4 && get32(img + HDRS_OFFSET) == HDRS_MAGIC;
}

static bool is_elf(const uint8_t *img, size_t len)
{
	return len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0;
}

/*
 * Where the decompressor will put the kernel, and so where init_size is
 * counted from (arch/x86/boot/compressed/head_64.S): a relocatable kernel
 * runs at the load address rounded up to kernel_alignment, but never below
 * pref_address (LOAD_PHYSICAL_ADDR); a non-relocatable one at pref_address.
 * KASLR may move it elsewhere, but only to memory the decompressor has
 * checked against the initrd and command line, so this is the one place we
 * must keep clear. Protocols before 2.10 have neither field.
 */
static uint64_t bz_runtime_start(const struct setup_header *h, uint64_t load,
				 bool *overflow)
{
	uint64_t start = load;

	if (h->version < 0x20a)
		return start;
	if (h->relocatable_kernel)
		start = align_up(load, h->kernel_alignment, overflow);
	else if (h->pref_address)
		start = h->pref_address;
	if (h->pref_address > start)
		start = h->pref_address;
	return start;
}

static int parse_bzimage(const uint8_t *img, size_t len, struct x86_kernel *k,
			 char *err, size_t errlen)
{
	struct setup_header *h = &k->hdr;
	size_t hdr_len, setup_sects;
	uint64_t need, pm_end, rt_start;
	bool ovf = false;
	uint16_t version;

	if (get16(img + BOOT_FLAG_OFFSET) != BOOT_FLAG_MAGIC)
		return fail(err, errlen, "bzImage: boot flag is 0x%04x, not 0xaa55",
			    get16(img + BOOT_FLAG_OFFSET));
	if (len < VERSION_OFFSET + 2)
		return fail(err, errlen, "truncated: bzImage ends inside its setup header");
	version = get16(img + VERSION_OFFSET);
	if (version < MIN_PROTOCOL)
		return fail(err, errlen, "bzImage boot protocol %u.%02u too old (need %u.%02u)",
			    version >> 8, version & 0xff,
			    MIN_PROTOCOL >> 8, MIN_PROTOCOL & 0xff);
	/* The header runs from 0x1f1 to 0x202 + the jump's displacement. */
	hdr_len = HDRS_OFFSET + img[JUMP_OFFSET + 1] - SETUP_HDR_OFFSET;
	if (hdr_len < offsetof(struct setup_header, cmdline_size) + 4)
		return fail(err, errlen, "bzImage: setup header of %zu bytes is too short for protocol %u.%02u",
			    hdr_len, version >> 8, version & 0xff);
	if (hdr_len > sizeof(*h))
		hdr_len = sizeof(*h);   /* newer than this header: fields we don't know */
	if (len - SETUP_HDR_OFFSET < hdr_len)
		return fail(err, errlen, "truncated: bzImage ends inside its setup header");
	memcpy(h, img + SETUP_HDR_OFFSET, hdr_len);

	setup_sects = h->setup_sects ? h->setup_sects : 4;
	k->pm_offset = (setup_sects + 1) * 512;
	if (k->pm_offset >= len)
		return fail(err, errlen, "truncated: bzImage has %zu setup sectors but is only %zu bytes",
			    setup_sects, len);
	k->pm_size = len - k->pm_offset;
	if (!(h->xloadflags & XLF_KERNEL_64))
		return fail(err, errlen, "bzImage has no 64-bit entry point (XLF_KERNEL_64 not set); "
			    "vmm boots only x86-64 kernels");
	if (k->pm_size <= ENTRY64_OFFSET)
		return fail(err, errlen, "truncated: bzImage protected-mode part of %zu bytes ends before the 64-bit entry",
			    k->pm_size);

	k->format = X86_KERNEL_BZIMAGE;
	k->load_addr = X86_KERNEL_ADDR;
	k->entry = k->load_addr + ENTRY64_OFFSET;
	if (__builtin_add_overflow(k->load_addr, (uint64_t)k->pm_size, &pm_end))
		return fail(err, errlen, "bzImage too large");
	if (version >= 0x20a) {
		/* init_size: memory needed from the runtime start address. */
		rt_start = bz_runtime_start(h, k->load_addr, &ovf);
		if (ovf || __builtin_add_overflow(rt_start, (uint64_t)h->init_size, &need))
			return fail(err, errlen, "bzImage: kernel_alignment/pref_address/init_size out of range");
	} else {
		/* No init_size: assume decompression needs four times the
		 * compressed size (typical gzip ratio plus room for the
		 * decompressor), as loaders did before 2.10. */
		if (__builtin_mul_overflow((uint64_t)k->pm_size, 4, &need) ||
		    __builtin_add_overflow(need, k->load_addr, &need))
			return fail(err, errlen, "bzImage too large");
	}
	k->load_end = need > pm_end ? need : pm_end;
	return 0;
}

/* Synthesised setup header for an ELF kernel: boot protocol 2.15 defaults. */
static void elf_synth_hdr(struct x86_kernel *k)
{
	struct setup_header *h = &k->hdr;

	memset(h, 0, sizeof(*h));
	h->boot_flag = BOOT_FLAG_MAGIC;
	h->jump = 0x6aeb;
	h->header = HDRS_MAGIC;
	h->version = 0x20f;
	h->type_of_loader = 0xff;
	h->loadflags = LOADED_HIGH;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 0x1000000;
	h->cmdline_size = X86_CMDLINE_MAX - 1;
	h->xloadflags = XLF_KERNEL_64;
	h->pref_address = k->load_addr;
	h->init_size = (uint32_t)(k->load_end - k->load_addr > UINT32_MAX ?
				  UINT32_MAX : k->load_end - k->load_addr);
}

static int parse_elf(const uint8_t *img, size_t len, struct x86_kernel *k,
		     char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	uint64_t ph_bytes, ph_end, lo = UINT64_MAX, hi = 0, entry;
	bool entry_ok = false;

	if (len < EI_NIDENT)
		return fail(err, errlen, "truncated: ELF identification");
	if (img[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, "ELF kernel is not 64-bit (class %u); vmm boots only x86-64 kernels",
			    img[EI_CLASS]);
	if (img[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, "ELF kernel is not little-endian");
	if (len < sizeof(eh))
		return fail(err, errlen, "truncated: ELF header needs %zu bytes, file has %zu",
			    sizeof(eh), len);
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_machine != EM_X86_64)
		return fail(err, errlen, "ELF kernel is for machine %u, not x86-64 (%u)",
			    eh.e_machine, EM_X86_64);
	if (eh.e_type != ET_EXEC)
		return fail(err, errlen, "ELF kernel is type %u, not an executable (ET_EXEC)",
			    eh.e_type);
	if (eh.e_phnum == 0 || eh.e_phentsize < sizeof(Elf64_Phdr))
		return fail(err, errlen, "ELF kernel has no usable program headers (phnum %u, phentsize %u)",
			    eh.e_phnum, eh.e_phentsize);
	if (__builtin_mul_overflow((uint64_t)eh.e_phnum, eh.e_phentsize, &ph_bytes) ||
	    __builtin_add_overflow(eh.e_phoff, ph_bytes, &ph_end) || ph_end > len)
		return fail(err, errlen, "truncated: ELF program headers at 0x%" PRIx64 " lie outside the %zu-byte file",
			    (uint64_t)eh.e_phoff, len);

	entry = eh.e_entry >= START_KERNEL_MAP ? eh.e_entry - START_KERNEL_MAP : eh.e_entry;
	k->nr_segments = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t file_end, mem_end;

		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * eh.e_phentsize, sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return fail(err, errlen, "ELF segment %u: file size 0x%" PRIx64 " exceeds memory size 0x%" PRIx64,
				    i, (uint64_t)ph.p_filesz, (uint64_t)ph.p_memsz);
		if (__builtin_add_overflow(ph.p_offset, ph.p_filesz, &file_end) || file_end > len)
			return fail(err, errlen, "truncated: ELF segment %u (offset 0x%" PRIx64 ", 0x%" PRIx64 " bytes) lies outside the %zu-byte file",
				    i, (uint64_t)ph.p_offset, (uint64_t)ph.p_filesz, len);
		if (__builtin_add_overflow(ph.p_paddr, ph.p_memsz, &mem_end))
			return fail(err, errlen, "ELF segment %u: physical address 0x%" PRIx64 " + size 0x%" PRIx64 " overflows",
				    i, (uint64_t)ph.p_paddr, (uint64_t)ph.p_memsz);
		if (ph.p_paddr < X86_KERNEL_ADDR)
			return fail(err, errlen, "ELF segment %u at 0x%" PRIx64 " is below 1 MiB, where vmm keeps its boot structures",
				    i, (uint64_t)ph.p_paddr);
		if (k->nr_segments == X86_ELF_MAX_SEGMENTS)
			return fail(err, errlen, "ELF kernel has more than %d loadable segments",
				    X86_ELF_MAX_SEGMENTS);
		k->seg[k->nr_segments].paddr = ph.p_paddr;
		k->seg[k->nr_segments].offset = ph.p_offset;
		k->seg[k->nr_segments].filesz = ph.p_filesz;
		k->seg[k->nr_segments].memsz = ph.p_memsz;
		k->nr_segments++;
		if (ph.p_paddr < lo)
			lo = ph.p_paddr;
		if (mem_end > hi)
			hi = mem_end;
		if (entry >= ph.p_paddr && entry - ph.p_paddr < ph.p_filesz)
			entry_ok = true;
	}
	if (k->nr_segments == 0)
		return fail(err, errlen, "ELF kernel has no loadable (PT_LOAD) segments");
	if (!entry_ok)
		return fail(err, errlen, "ELF entry point 0x%" PRIx64 " (physical 0x%" PRIx64 ") is outside every loaded segment",
			    (uint64_t)eh.e_entry, entry);
	k->format = X86_KERNEL_ELF;
	k->entry = entry;
	k->load_addr = lo;
	k->load_end = hi;
	elf_synth_hdr(k);
	return 0;
}

int x86_boot__parse(const uint8_t *img, size_t len, struct x86_kernel *k,
		    char *err, size_t errlen)
{
	memset(k, 0, sizeof(*k));
	if (!img || len == 0)
		return fail(err, errlen, "kernel image is empty");
	if (is_elf(img, len))
		return parse_elf(img, len, k, err, errlen);
	if (is_bzimage(img, len))
		return parse_bzimage(img, len, k, err, errlen);
	return fail(err, errlen, "not a Linux bzImage or ELF vmlinux (no HdrS or ELF magic)");
}

/* End of the RAM region holding gpa, or of low RAM if gpa is in none. */
static uint64_t ram_end_at(const struct guest_mem *m, uint64_t gpa)
{
	for (int i = 0; i < m->nr; i++) {
		const struct mem_region *r = &m->region[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r->gpa + r->size;
	}
	return guest_mem__low_end(m);
}

static int too_big(const struct guest_mem *m, uint64_t start, uint64_t end,
		   char *err, size_t errlen)
{
	return fail(err, errlen, "kernel needs memory up to 0x%" PRIx64 " but guest RAM ends at 0x%" PRIx64,
		    end, ram_end_at(m, start));
}

int x86_boot__load(struct guest_mem *m, const uint8_t *img, size_t len,
		   const struct x86_kernel *k, char *err, size_t errlen)
{
	uint8_t *dst;

	if (k->load_end < k->load_addr)
		return fail(err, errlen, "kernel load range is inverted");
	if (!guest_mem__contains(m, k->load_addr, k->load_end - k->load_addr))
		return too_big(m, k->load_addr, k->load_end, err, errlen);

	if (k->format == X86_KERNEL_BZIMAGE) {
		if (k->pm_offset > len || k->pm_size > len - k->pm_offset)
			return fail(err, errlen, "kernel image changed size since it was parsed");
		dst = guest_mem__ptr(m, k->load_addr, k->pm_size);
		if (!dst)
			return too_big(m, k->load_addr, k->load_addr + k->pm_size, err, errlen);
		memcpy(dst, img + k->pm_offset, k->pm_size);
		return 0;
	}

	if (k->nr_segments < 0 || k->nr_segments > X86_ELF_MAX_SEGMENTS)
		return fail(err, errlen, "bad ELF segment count %d", k->nr_segments);
	for (int i = 0; i < k->nr_segments; i++) {
		uint64_t end;

		if (k->seg[i].offset > len || k->seg[i].filesz > len - k->seg[i].offset ||
		    k->seg[i].filesz > k->seg[i].memsz)
			return fail(err, errlen, "ELF segment %d lies outside the image", i);
		if (__builtin_add_overflow(k->seg[i].paddr, k->seg[i].memsz, &end))
			return fail(err, errlen, "ELF segment %d address overflows", i);
		dst = guest_mem__ptr(m, k->seg[i].paddr, k->seg[i].memsz);
		if (!dst)
			return too_big(m, k->seg[i].paddr, end, err, errlen);
		memcpy(dst, img + k->seg[i].offset, k->seg[i].filesz);
		memset(dst + k->seg[i].filesz, 0, k->seg[i].memsz - k->seg[i].filesz);
	}
	return 0;
}
