/* image.h — the arm64 Linux kernel Image (Documentation/arch/arm64/
 * booting.rst): its 64-byte header, a gzip-compressed Image, and where the
 * kernel, initrd and device tree go in guest RAM.
 *
 * Pure functions on buffers (no KVM, no guest memory), built on every
 * architecture so the x86 unit tests and the fuzzer exercise them. Every
 * field of the header is untrusted: a bad one is refused with a message,
 * never used to compute an address unchecked. */
#ifndef ARM64_IMAGE_H
#define ARM64_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define ARM64_IMAGE_HDR_SIZE   64
#define ARM64_IMAGE_MAGIC      0x644d5241u          /* "ARM\x64", little-endian */
/* The header's flags. */
#define ARM64_IMAGE_FLAG_BE    (1ULL << 0)          /* big-endian kernel */
#define ARM64_IMAGE_PAGE_SHIFT 1                    /* bits 1-2: 0 any, 1 4K, 2 16K, 3 64K */
#define ARM64_IMAGE_PAGE_MASK  (3ULL << ARM64_IMAGE_PAGE_SHIFT)

/* Bounds vmm puts on what a header may ask for. text_offset: the boot
 * protocol sets none, but every kernel since 3.17 has 0 or 0x80000, and
 * before 5.8 a randomised offset stayed below 2 MiB; image_size: the
 * largest distribution kernels are around 60 MiB with their BSS. */
#define ARM64_IMAGE_MAX_TEXT_OFFSET 0x200000ULL
#define ARM64_IMAGE_MAX_SIZE        (1ULL << 30)

struct arm64_image {
	uint64_t text_offset;  /* from a 2 MiB aligned base */
	uint64_t image_size;   /* bytes the kernel occupies from there, BSS included */
	uint64_t flags;
	size_t file_size;      /* bytes of the file to copy */
};

/* Check an uncompressed Image's header. Returns 0, or -1 with the reason in
 * err (truncated, bad magic, big-endian, a kernel older than 3.17 without
 * image_size, offsets or sizes out of bounds). */
int arm64_image__parse(const uint8_t *buf, size_t len, struct arm64_image *img,
		       char *err, size_t errlen);

/* Whether buf starts like a gzip stream (1f 8b 08). */
int arm64_image__is_gzip(const uint8_t *buf, size_t len);
/* Inflate a gzip stream into a new buffer of at most 'limit' bytes (the
 * caller frees *out). Returns 0, or -1 with the reason in err: not gzip,
 * corrupt, truncated, or larger than limit. */
int arm64_image__gunzip(const uint8_t *buf, size_t len, size_t limit,
			uint8_t **out, size_t *out_len, char *err, size_t errlen);

/* EFI zboot (CONFIG_EFI_ZBOOT, as Fedora ships its aarch64 kernels): a PE
 * image whose DOS header says "zimg" and where the compressed Image is
 * (drivers/firmware/efi/libstub/zboot-header.S):
 *   0 "MZ"  4 "zimg"  8 payload offset  12 payload size  24 compression
 *   type, NUL-terminated ("gzip", "zstd", ...)
 * Whether buf is one. */
int arm64_image__is_zboot(const uint8_t *buf, size_t len);
/* Decompress a zboot image's payload (gzip or zstd) into a new buffer of at
 * most 'limit' bytes (the caller frees *out). Returns 0, or -1 with the
 * reason in err: a payload outside the file, another compression, corrupt,
 * truncated or too large. */
int arm64_image__unzboot(const uint8_t *buf, size_t len, size_t limit,
			 uint8_t **out, size_t *out_len, char *err, size_t errlen);

/* Where the boot pieces go in RAM [ram_base, ram_base + ram_size). */
struct arm64_boot_layout {
	uint64_t kernel;       /* load address: 2 MiB aligned base + text_offset */
	uint64_t kernel_end;   /* kernel + max(image_size, file_size) */
	uint64_t initrd;       /* page aligned, below the device tree (0: none) */
	uint64_t fdt;          /* the device tree's 2 MiB, at the end of RAM */
};

/* Lay the kernel out at the start of RAM, the device tree at its end and
 * the initrd (initrd_size bytes, 0: none) just below the device tree.
 * Returns 0, or -1 with the reason in err when they do not fit. */
int arm64_image__place(const struct arm64_image *img, uint64_t ram_base, uint64_t ram_size,
		       uint64_t initrd_size, struct arm64_boot_layout *out,
		       char *err, size_t errlen);

#endif
