/* btrfs_decompress.c — the three compressed extent formats btrfs
 * writes, each decoded into a caller buffer of exactly the extent's
 * ram_bytes (at most 128 KiB), never more:
 *
 *  - zlib: one zlib stream;
 *  - zstd: one zstd frame (the extent is padded to a sector with zeros
 *    after it, so only the frame itself is decoded);
 *  - lzo: a 4-byte little-endian total length (itself included), then
 *    segments of a 4-byte length and that much LZO1X data, each
 *    decompressing to at most one sector; a segment header never
 *    straddles a sector boundary: when fewer than 4 bytes are left in
 *    the sector, they are zero padding and the next header starts at the
 *    next sector.
 *
 * A stream that ends early leaves the rest zero, as the kernel does. */
#include <errno.h>
#include <string.h>
#include <endian.h>
#include <zlib.h>
#include <zstd.h>
#include <lzo/lzo1x.h>

#include "vmm/boot/btrfs_priv.h"
#include "vmm/util.h"

#define LZO_LEN 4

static int zlib_inflate(struct btrfs_op *op, const uint8_t *in, size_t in_len,
			uint8_t *out, size_t out_len, size_t *done)
{
	z_stream s = { .next_in = (Bytef *)in, .avail_in = (uInt)in_len,
		       .next_out = out, .avail_out = (uInt)out_len };
	int r;

	if (inflateInit(&s) != Z_OK)
		return btrfs__fail(op, -ENOMEM, "zlib: cannot start");
	r = inflate(&s, Z_FINISH);
	*done = out_len - s.avail_out;
	inflateEnd(&s);
	/* A stream with more in it than the extent holds stops there. */
	if (r == Z_STREAM_END || ((r == Z_OK || r == Z_BUF_ERROR) && !s.avail_out))
		return 0;
	return btrfs__fail(op, -EIO, "zlib data is corrupt (%d)", r);
}

static int zstd_frame(struct btrfs_op *op, const uint8_t *in, size_t in_len,
		      uint8_t *out, size_t out_len, size_t *done)
{
	size_t frame, n;

	if (!op->fs->zstd) {
		op->fs->zstd = ZSTD_createDCtx();
		if (!op->fs->zstd)
			return btrfs__fail(op, -ENOMEM, "zstd: cannot start");
	}
	frame = ZSTD_findFrameCompressedSize(in, in_len);
	if (ZSTD_isError(frame))
		return btrfs__fail(op, -EIO, "zstd data is corrupt: %s", ZSTD_getErrorName(frame));
	/* One-shot decoding into a bounded buffer: no window is allocated,
	 * whatever window size the frame header claims. */
	n = ZSTD_decompressDCtx(op->fs->zstd, out, out_len, in, frame);
	if (ZSTD_isError(n))
		return btrfs__fail(op, -EIO, "zstd data is corrupt: %s", ZSTD_getErrorName(n));
	*done = n;
	return 0;
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static int lzo_segments(struct btrfs_op *op, const uint8_t *in, size_t in_len,
			uint8_t *out, size_t out_len, size_t *done)
{
	const size_t sector = op->fs->sectorsize;
	/* lzo1x's worst case for one sector of input */
	const size_t seg_max = sector + sector / 16 + 64 + 3;
	size_t total, cur = LZO_LEN, pos = 0;

	if (lzo_init() != LZO_E_OK)
		return btrfs__fail(op, -EIO, "lzo: cannot start");
	if (in_len < LZO_LEN)
		return btrfs__fail(op, -EIO, "lzo data of %zu bytes", in_len);
	total = get_le32(in);
	if (total < LZO_LEN || total > in_len)
		return btrfs__fail(op, -EIO, "lzo data says it is %zu bytes, in %zu", total, in_len);
	while (cur < total) {
		lzo_uint n = (lzo_uint)MIN(sector, out_len - pos);
		size_t seg;
		int r;

		if (total - cur < LZO_LEN)
			return btrfs__fail(op, -EIO, "lzo segment header truncated at byte %zu", cur);
		seg = get_le32(in + cur);
		cur += LZO_LEN;
		if (!seg || seg > seg_max || seg > total - cur)
			return btrfs__fail(op, -EIO, "lzo segment of %zu bytes at byte %zu", seg, cur);
		if (pos == out_len)
			return btrfs__fail(op, -EIO, "lzo data holds more than the extent's %zu bytes",
					   out_len);
		r = lzo1x_decompress_safe(in + cur, (lzo_uint)seg, out + pos, &n, NULL);
		if (r != LZO_E_OK)
			return btrfs__fail(op, -EIO, "lzo data is corrupt (%d) at byte %zu", r, cur);
		pos += n;
		cur += seg;
		if (sector - cur % sector < LZO_LEN)
			cur += sector - cur % sector;
	}
	*done = pos;
	return 0;
}

int btrfs__decompress(struct btrfs_op *op, int type, const uint8_t *in, size_t in_len,
		      uint8_t *out, size_t out_len)
{
	size_t done = 0;
	int r;

	switch (type) {
	case BTRFS_COMPRESS_ZLIB:
		r = zlib_inflate(op, in, in_len, out, out_len, &done);
		break;
	case BTRFS_COMPRESS_ZSTD:
		r = zstd_frame(op, in, in_len, out, out_len, &done);
		break;
	case BTRFS_COMPRESS_LZO:
		r = lzo_segments(op, in, in_len, out, out_len, &done);
		break;
	default:
		r = btrfs__fail(op, -EIO, "unknown compression type %d", type);
	}
	if (r < 0)
		return r;
	memset(out + done, 0, out_len - done);
	return 0;
}
