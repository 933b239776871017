/* fuzz_image.h — turn a fuzzer input into a disk (disk__open_mem) for
 * the parsers that read disk images.
 *
 * A whole disk image is mostly zeros and far too big to mutate well, so
 * besides a raw image (any input not starting with the magic below) the
 * input may be a sparse one, as tests/fuzz/sparse_pack.c writes it:
 *
 *   "VMMSPRS1"  u64 LE disk size
 *   then records: u64 LE offset, u32 LE length, that many bytes
 *
 * Records are clipped to the disk and to the input; the disk size is
 * capped at FUZZ_DISK_MAX (just past btrfs's 64 MiB backup superblock,
 * so that path is reachable; the buffer is calloc()ed, untouched pages
 * cost nothing). */
#ifndef TESTS_FUZZ_FUZZ_IMAGE_H
#define TESTS_FUZZ_FUZZ_IMAGE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/block/disk.h"

#define FUZZ_SPARSE_MAGIC "VMMSPRS1"
#define FUZZ_DISK_MAX     (72ull << 20)

static inline uint64_t fuzz_image__le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* NULL when the input describes no usable disk. */
static inline struct disk *fuzz_image__disk(const uint8_t *data, size_t size)
{
	uint64_t len;
	uint8_t *buf;
	size_t pos = 16;

	if (size < 16 || memcmp(data, FUZZ_SPARSE_MAGIC, 8)) {
		buf = malloc(size ? size : 1);
		if (!buf)
			return NULL;
		memcpy(buf, data, size);
		return disk__open_mem("fuzz.img", buf, size);
	}
	len = fuzz_image__le(data + 8, 8);
	if (!len || len > FUZZ_DISK_MAX)
		return NULL;
	buf = calloc(1, (size_t)len);
	if (!buf)
		return NULL;
	while (size - pos >= 12) {
		uint64_t off = fuzz_image__le(data + pos, 8);
		uint64_t n = fuzz_image__le(data + pos + 8, 4);

		pos += 12;
		n = n < size - pos ? n : size - pos;
		if (off < len)
			memcpy(buf + off, data + pos, (size_t)(n < len - off ? n : len - off));
		pos += (size_t)n;
	}
	return disk__open_mem("fuzz.img", buf, len);
}

#endif
