/* qcow2_compress.c — reading compressed qcow2 clusters: locate the data
 * from the L2 entry (offset and 512-byte sector count), read it (the last
 * one may run past the end of the file), and decompress one whole cluster
 * with zlib (raw deflate, window bits 12, as QEMU writes it) or zstd
 * (compression_type 1). The last decompressed cluster is kept. */
#include <errno.h>
#include <inttypes.h>
#include <zlib.h>
#include <zstd.h>

#include "devices/block/qcow2_priv.h"

static int inflate_cluster(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	z_stream z;
	int r;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -12) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	r = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	return (r == Z_STREAM_END || r == Z_BUF_ERROR) && z.avail_out == 0 ? 0 : -EIO;
}

static int unzstd_cluster(struct qcow2 *s, const uint8_t *in, size_t inlen, uint8_t *out,
			  size_t outlen)
{
	ZSTD_inBuffer ib = { .src = in, .size = inlen, .pos = 0 };
	ZSTD_outBuffer ob = { .dst = out, .size = outlen, .pos = 0 };

	if (!s->zstd_dctx) {
		s->zstd_dctx = ZSTD_createDCtx();
		if (!s->zstd_dctx)
			return -ENOMEM;
	} else {
		ZSTD_DCtx_reset(s->zstd_dctx, ZSTD_reset_session_only);
	}
	/* stop once the cluster is full: padding may follow the frame */
	while (ob.pos < ob.size) {
		size_t in_pos = ib.pos, out_pos = ob.pos;
		size_t r = ZSTD_decompressStream(s->zstd_dctx, &ob, &ib);

		if (ZSTD_isError(r) || (ib.pos == in_pos && ob.pos == out_pos))
			return -EIO;
	}
	return 0;
}

int qcow2__read_compressed(struct qcow2 *s, uint64_t entry, const uint8_t **out)
{
	uint64_t coff = entry & s->coffset_mask;
	uint64_t nsec = ((entry >> s->csize_shift) & s->csize_mask) + 1;
	uint64_t csize = nsec * 512 - (coff & 511);
	int r;

	if (s->zout_valid && s->zout_entry == entry) {
		*out = s->zout;
		return 0;
	}
	if (coff >= s->file_end)
		return qcow2__corrupt(s, "compressed cluster at 0x%" PRIx64 " is past the end", coff);
	if (csize > s->file_end - coff)
		csize = s->file_end - coff;
	r = qcow2__pread(s, s->zin, (size_t)csize, coff);
	if (r < 0)
		return r;
	s->zout_valid = false;
	if (s->compression == QCOW2_COMP_ZSTD)
		r = unzstd_cluster(s, s->zin, (size_t)csize, s->zout, s->cluster_size);
	else
		r = inflate_cluster(s->zin, (size_t)csize, s->zout, s->cluster_size);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return qcow2__corrupt(s, "compressed cluster at 0x%" PRIx64 " does not decompress",
				      coff);
	s->zout_entry = entry;
	s->zout_valid = true;
	*out = s->zout;
	return 0;
}

void qcow2__compress_free(struct qcow2 *s)
{
	ZSTD_freeDCtx(s->zstd_dctx);
	s->zstd_dctx = NULL;
}
