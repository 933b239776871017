/* fuzz_arm64_image.c — libFuzzer target for the arm64 kernel loader's
 * parsing (arch/arm64/image.c): the input is the file given to --kernel
 * (or copied out of a guest's /boot by direct boot), a plain Image, a
 * gzip-compressed one or an EFI zboot image (gzip or zstd inside), handled
 * as arch__prepare() does (decompressed up to a small limit here), then placed in RAM of several sizes with initrds of
 * several sizes, as arch__load_kernel() does. Besides crashes it checks
 * image.h's promises: bounded header fields, and a layout in RAM where
 * kernel, initrd and device tree do not overlap. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "tests/fuzz/fuzz_util.h"

#define MiB (1ULL << 20)
/* Enough for every seed; more would only slow the fuzzer down. */
#define GUNZIP_LIMIT (8 * MiB)

static void check_layout(const struct arm64_image *im, uint64_t base, uint64_t size, uint64_t initrd)
{
	struct arm64_boot_layout l;
	char err[256];

	if (arm64_image__place(im, base, size, initrd, &l, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0], "placement failed without a reason");
		return;
	}
	FUZZ_CHECK(l.kernel >= base && (l.kernel - base) % ARM64_IMAGE_ALIGN == im->text_offset % ARM64_IMAGE_ALIGN,
		   "kernel at 0x%llx", (unsigned long long)l.kernel);
	FUZZ_CHECK(l.kernel_end - l.kernel >= im->image_size && l.kernel_end - l.kernel >= im->file_size,
		   "kernel span too short");
	FUZZ_CHECK(l.kernel_end <= l.fdt, "kernel overlaps the device tree");
	FUZZ_CHECK(l.fdt + ARM64_FDT_MAX_SIZE <= base + size, "device tree outside RAM");
	if (initrd) {
		FUZZ_CHECK(l.initrd % 4096 == 0, "initrd at 0x%llx", (unsigned long long)l.initrd);
		FUZZ_CHECK(l.initrd >= l.kernel_end && l.initrd + initrd <= l.fdt,
			   "initrd overlaps the kernel or the device tree");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t ram[] = { 16 * MiB, 128 * MiB, 1ULL << 32 };
	static const uint64_t initrd[] = { 0, 1, 4096, 7 * MiB + 5, 1ULL << 31 };
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	struct arm64_image im;
	char err[256];

	if (arm64_image__is_gzip(data, size) || arm64_image__is_zboot(data, size)) {
		int r = arm64_image__is_gzip(data, size) ?
			arm64_image__gunzip(data, size, GUNZIP_LIMIT, &raw, &raw_len, err, sizeof(err)) :
			arm64_image__unzboot(data, size, GUNZIP_LIMIT, &raw, &raw_len, err, sizeof(err));

		if (r < 0) {
			FUZZ_CHECK(err[0] && !raw, "decompression failure without a reason, or a buffer");
			return 0;
		}
		FUZZ_CHECK(raw_len <= GUNZIP_LIMIT, "decompression gave %zu bytes", raw_len);
		data = raw;
		size = raw_len;
	}
	if (arm64_image__parse(data, size, &im, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0], "failure without a reason");
		free(raw);
		return 0;
	}
	FUZZ_CHECK(im.text_offset < ARM64_IMAGE_MAX_TEXT_OFFSET && im.text_offset % 4096 == 0,
		   "text_offset 0x%llx", (unsigned long long)im.text_offset);
	FUZZ_CHECK(im.image_size && im.image_size <= ARM64_IMAGE_MAX_SIZE, "image_size %llu",
		   (unsigned long long)im.image_size);
	FUZZ_CHECK(im.file_size == size, "file_size");
	for (size_t i = 0; i < sizeof(ram) / sizeof(ram[0]); i++)
		for (size_t j = 0; j < sizeof(initrd) / sizeof(initrd[0]); j++)
			check_layout(&im, ARM64_RAM_BASE, ram[i], initrd[j]);
	free(raw);
	return 0;
}
