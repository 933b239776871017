/* crc32c.h — CRC-32C (Castagnoli), as btrfs uses it for superblock and
 * tree-block checksums and for its directory name hash. */
#ifndef DEVICES_CRC32C_H
#define DEVICES_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The bare register update: no inversion before or after, so callers
 * can chain calls and choose their own seed (btrfs's name hash starts
 * from (u32)~1 and is not inverted at the end). */
uint32_t crc32c__update(uint32_t crc, const void *buf, size_t len);

/* The standard CRC-32C of a buffer: crc32c__crc("123456789") is
 * 0xe3069283. */
static inline uint32_t crc32c__crc(const void *buf, size_t len)
{
	return ~crc32c__update(~0u, buf, len);
}

#endif
