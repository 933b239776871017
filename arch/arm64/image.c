/* image.c — the arm64 kernel Image header, gzip-compressed Images, and the
 * placement of kernel, initrd and device tree in RAM (image.h). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "vmm/util.h"

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* struct arm64_image_header, as offsets (the file is little-endian
 * whatever the host is):
 *   0 code0, 4 code1, 8 text_offset, 16 image_size, 24 flags,
 *   32 res2, 40 res3, 48 res4, 56 magic, 60 res5 (PE header offset) */
int arm64_image__parse(const uint8_t *buf, size_t len, struct arm64_image *img,
		       char *err, size_t errlen)
{
	memset(img, 0, sizeof(*img));
	if (len < ARM64_IMAGE_HDR_SIZE)
		return util__fail(err, errlen, "too short for an arm64 Image (%zu bytes, the header alone is %d)",
				  len, ARM64_IMAGE_HDR_SIZE);
	if (le32(buf + 56) != ARM64_IMAGE_MAGIC)
		return util__fail(err, errlen, "not an arm64 Image (no \"ARM\\x64\" magic at offset 56)");
	img->text_offset = le64(buf + 8);
	img->image_size = le64(buf + 16);
	img->flags = le64(buf + 24);
	img->file_size = len;
	if (img->flags & ARM64_IMAGE_FLAG_BE)
		return util__fail(err, errlen, "a big-endian arm64 kernel (vmm runs little-endian guests only)");
	/* Before 3.17 the header had no image_size (and text_offset was in
	 * the CPU's endianness); booting it would mean guessing its BSS. */
	if (img->image_size == 0)
		return util__fail(err, errlen, "arm64 Image without image_size (a kernel older than 3.17)");
	if (img->text_offset >= ARM64_IMAGE_MAX_TEXT_OFFSET || img->text_offset % 4096)
		return util__fail(err, errlen, "arm64 Image text_offset 0x%llx is not a page-aligned offset below 2 MiB",
				  (unsigned long long)img->text_offset);
	if (img->image_size > ARM64_IMAGE_MAX_SIZE)
		return util__fail(err, errlen, "arm64 Image image_size %llu MiB is over the %llu MiB vmm accepts",
				  (unsigned long long)(img->image_size / MiB),
				  (unsigned long long)(ARM64_IMAGE_MAX_SIZE / MiB));
	if (len > ARM64_IMAGE_MAX_SIZE)
		return util__fail(err, errlen, "arm64 Image file is over %llu MiB",
				  (unsigned long long)(ARM64_IMAGE_MAX_SIZE / MiB));
	return 0;
}

int arm64_image__is_gzip(const uint8_t *buf, size_t len)
{
	return len >= 3 && buf[0] == 0x1f && buf[1] == 0x8b && buf[2] == 8;
}

/* The decompressors' output buffer is full: grow it, guessing 4x the
 * input first, then doubling, never past limit. NULL, or why not. */
static const char *grow_output(uint8_t **dst, size_t *cap, size_t in_len, size_t limit)
{
	size_t ncap = *cap ? *cap * 2 : in_len * 4;
	uint8_t *n;

	if (*cap >= limit)
		return "too large";
	if (ncap > limit || ncap < *cap)
		ncap = limit;
	n = realloc(*dst, ncap ? ncap : 1);
	if (!n)
		return "out of memory";
	*dst = n;
	*cap = ncap;
	return NULL;
}

/* zlib counts in uInt: hand it at most 1 GiB at a time either way. */
static uInt zchunk(size_t n)
{
	return (uInt)(n > (1u << 30) ? (1u << 30) : n);
}

int arm64_image__gunzip(const uint8_t *buf, size_t len, size_t limit,
			uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
	z_stream z = { 0 };
	uint8_t *dst = NULL;
	size_t cap = 0;
	const char *why = NULL;
	int r;

	*out = NULL;
	*out_len = 0;
	if (!arm64_image__is_gzip(buf, len))
		return util__fail(err, errlen, "not a gzip stream");
	/* 16 + MAX_WBITS: a gzip header and trailer (CRC and length checked). */
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return util__fail(err, errlen, "cannot start zlib's inflate");
	z.next_in = (Bytef *)(uintptr_t)buf;
	for (;;) {
		size_t in_done = (size_t)z.total_in, out_done = (size_t)z.total_out;

		if (z.avail_in == 0)
			z.avail_in = zchunk(len - in_done);
		if (out_done == cap && (why = grow_output(&dst, &cap, len, limit)))
			break;
		z.next_out = dst + out_done;
		z.avail_out = zchunk(cap - out_done);
		r = inflate(&z, Z_NO_FLUSH);
		if (r == Z_STREAM_END)
			break;
		if (r == Z_OK || (r == Z_BUF_ERROR && z.avail_out == 0))
			continue;  /* progress, or only out of room: grow */
		why = r == Z_BUF_ERROR ? "truncated" : z.msg ? z.msg : "corrupt";
		break;
	}
	if (why) {
		inflateEnd(&z);
		free(dst);
		if (!strcmp(why, "too large"))
			return util__fail(err, errlen, "gzip: decompresses to more than %zu MiB",
					  limit / (size_t)MiB);
		return util__fail(err, errlen, "gzip: %s", why);
	}
	*out_len = (size_t)z.total_out;
	inflateEnd(&z);
	*out = dst;
	return 0;
}

int arm64_image__is_zboot(const uint8_t *buf, size_t len)
{
	return len >= 64 && buf[0] == 'M' && buf[1] == 'Z' && !memcmp(buf + 4, "zimg", 4);
}

/* A zstd stream (one or more frames, with or without their content size)
 * into a buffer grown up to limit. */
static int unzstd(const uint8_t *buf, size_t len, size_t limit,
		  uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
	ZSTD_DCtx *z = ZSTD_createDCtx();
	ZSTD_inBuffer in = { buf, len, 0 };
	uint8_t *dst = NULL;
	size_t cap = 0, done = 0, r = 1;
	const char *why = NULL;

	if (!z)
		return util__fail(err, errlen, "out of memory decompressing");
	while (!why) {
		ZSTD_outBuffer o;

		if (done == cap && (why = grow_output(&dst, &cap, len, limit)))
			break;
		o = (ZSTD_outBuffer){ dst, cap, done };
		r = ZSTD_decompressStream(z, &o, &in);
		done = o.pos;
		if (ZSTD_isError(r))
			why = ZSTD_getErrorName(r);
		else if (r == 0 && in.pos == in.size)
			break;          /* the last frame ended with the input */
		else if (in.pos == in.size && o.pos < o.size)
			why = "truncated";  /* wants input there is not */
	}
	ZSTD_freeDCtx(z);
	if (why) {
		free(dst);
		if (!strcmp(why, "too large"))
			return util__fail(err, errlen, "zstd: decompresses to more than %zu MiB",
					  limit / (size_t)MiB);
		return util__fail(err, errlen, "zstd: %s", why);
	}
	*out = dst;
	*out_len = done;
	return 0;
}

int arm64_image__unzboot(const uint8_t *buf, size_t len, size_t limit,
			 uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
	uint32_t off, size;
	char type[33];

	*out = NULL;
	*out_len = 0;
	if (!arm64_image__is_zboot(buf, len))
		return util__fail(err, errlen, "not an EFI zboot image");
	off = le32(buf + 8);
	size = le32(buf + 12);
	if (off > len || size > len - off || size == 0)
		return util__fail(err, errlen, "EFI zboot payload (%u bytes at %u) is outside the %zu-byte file",
				  size, off, len);
	memcpy(type, buf + 24, 32);
	type[32] = 0;
	for (char *c = type; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	if (!strcmp(type, "gzip"))
		return arm64_image__gunzip(buf + off, size, limit, out, out_len, err, errlen);
	if (!strcmp(type, "zstd"))
		return unzstd(buf + off, size, limit, out, out_len, err, errlen);
	return util__fail(err, errlen, "EFI zboot image compressed with '%s' (vmm reads gzip and zstd)", type);
}

int arm64_image__place(const struct arm64_image *img, uint64_t ram_base, uint64_t ram_size,
		       uint64_t initrd_size, struct arm64_boot_layout *out,
		       char *err, size_t errlen)
{
	uint64_t base = ALIGN_UP(ram_base, ARM64_IMAGE_ALIGN), ram_end, span;

	memset(out, 0, sizeof(*out));
	if (ram_base + ram_size < ram_base || base < ram_base || base - ram_base >= ram_size)
		return util__fail(err, errlen, "no RAM for the kernel");
	ram_end = ram_base + ram_size;
	/* parse() bounded both; still, nothing here may wrap. */
	if (img->text_offset > ARM64_IMAGE_MAX_TEXT_OFFSET || img->image_size > ARM64_IMAGE_MAX_SIZE ||
	    img->file_size > ARM64_IMAGE_MAX_SIZE)
		return util__fail(err, errlen, "kernel header out of bounds");
	span = img->image_size > img->file_size ? img->image_size : img->file_size;
	out->kernel = base + img->text_offset;
	out->kernel_end = out->kernel + span;
	/* The device tree's 2 MiB at the end of RAM (8-byte alignment is all
	 * the protocol asks; a page keeps it apart from the initrd). */
	if (ram_end - base < ARM64_FDT_MAX_SIZE)
		return util__fail(err, errlen, "RAM too small for the device tree");
	out->fdt = ALIGN_DOWN(ram_end - ARM64_FDT_MAX_SIZE, 4096);
	if (out->kernel_end > out->fdt)
		return util__fail(err, errlen, "the kernel (%llu MiB with its BSS) does not fit in %llu MiB of RAM",
				  (unsigned long long)(span / MiB), (unsigned long long)(ram_size / MiB));
	if (initrd_size) {
		if (initrd_size > out->fdt - out->kernel_end)
			return util__fail(err, errlen, "the initrd (%llu MiB) does not fit in RAM beside the kernel: raise --mem",
					  (unsigned long long)(initrd_size / MiB));
		out->initrd = ALIGN_DOWN(out->fdt - initrd_size, 4096);
		if (out->initrd < out->kernel_end)
			return util__fail(err, errlen, "the initrd does not fit in RAM beside the kernel: raise --mem");
	}
	return 0;
}
