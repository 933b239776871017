/* sparse_pack.c — write a disk image in the sparse form fuzz_image.h
 * reads (runs of non-zero 4 KiB blocks as records), so a seed corpus of
 * whole filesystems stays a few hundred KiB.
 *   sparse_pack IMAGE OUT */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tests/fuzz/fuzz_image.h"

#define BLK 4096

static void put_le(FILE *f, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		fputc((int)(v >> (8 * i)) & 0xff, f);
}

int main(int argc, char **argv)
{
	static uint8_t run[64 << 20], blk[BLK], zero[BLK];
	FILE *in, *out;
	uint64_t size, off = 0, start = 0;
	size_t have = 0, n;

	if (argc != 3 || !(in = fopen(argv[1], "rb")) || !(out = fopen(argv[2], "wb"))) {
		fprintf(stderr, "usage: sparse_pack IMAGE OUT\n");
		return 2;
	}
	fseek(in, 0, SEEK_END);
	size = (uint64_t)ftell(in);
	fseek(in, 0, SEEK_SET);
	fwrite(FUZZ_SPARSE_MAGIC, 1, 8, out);
	put_le(out, size, 8);
	for (;;) {
		n = fread(blk, 1, BLK, in);
		/* a zero block, the end, or a full buffer ends the run */
		if (have && (!n || !memcmp(blk, zero, n) || have + n > sizeof(run))) {
			put_le(out, start, 8);
			put_le(out, have, 4);
			fwrite(run, 1, have, out);
			have = 0;
		}
		if (!n)
			break;
		if (memcmp(blk, zero, n)) {
			if (!have)
				start = off;
			memcpy(run + have, blk, n);
			have += n;
		}
		off += n;
	}
	fclose(in);
	return fclose(out) ? 1 : 0;
}
