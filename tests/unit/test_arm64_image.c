/* test_arm64_image.c — the arm64 Image header parser, gzip-compressed
 * Images and the placement of kernel, initrd and device tree
 * (arch/arm64/image.c): synthetic headers, every rejection, truncated and
 * hostile values, under ASan. */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <cmocka.h>

#include "arch/arm64/image.h"
#include "arch/arm64/layout.h"
#include "vmm/util.h"

#define IMG_LEN   (64 * 1024)
#define RAM_BASE  0x80000000ULL

static char err[256];

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A 6.x-style header: text_offset 0, image_size 4 MiB (BSS beyond the
 * file), 4K pages, placement anywhere; the rest a byte pattern. */
static uint8_t *make_image(void)
{
	uint8_t *img = malloc(IMG_LEN);

	assert_non_null(img);
	for (int i = 0; i < IMG_LEN; i++)
		img[i] = (uint8_t)(i * 13 + 5);
	put64(img + 8, 0);
	put64(img + 16, 4 * MiB);
	put64(img + 24, 1ULL << 1 | 1ULL << 3);
	memcpy(img + 56, "ARM\x64", 4);
	return img;
}

static void parse_good(void **state)
{
	uint8_t *img = make_image();
	struct arm64_image im;

	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), 0);
	assert_int_equal(im.text_offset, 0);
	assert_int_equal(im.image_size, 4 * MiB);
	assert_int_equal(im.file_size, IMG_LEN);
	/* the classic text_offset */
	put64(img + 8, 0x80000);
	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), 0);
	assert_int_equal(im.text_offset, 0x80000);
	free(img);
}

static void parse_truncated(void **state)
{
	uint8_t *img = make_image();
	struct arm64_image im;

	for (size_t len = 0; len < ARM64_IMAGE_HDR_SIZE; len++) {
		/* a copy of exactly len bytes, so ASan sees any overread */
		uint8_t *t = malloc(len ? len : 1);

		memcpy(t, img, len);
		assert_int_equal(arm64_image__parse(t, len, &im, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "too short"));
		free(t);
	}
	free(img);
}

static void parse_bad_magic(void **state)
{
	uint8_t *img = make_image();
	struct arm64_image im;

	img[59] = 0x65;
	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "magic"));
	/* an x86 bzImage or an ELF is not one either */
	memset(img, 0, 64);
	memcpy(img, "\x7f" "ELF", 4);
	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), -1);
	free(img);
}

static void parse_refusals(void **state)
{
	uint8_t *img = make_image();
	struct arm64_image im;

	put64(img + 24, 1);  /* big-endian */
	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "big-endian"));
	put64(img + 24, 0);
	put64(img + 16, 0);  /* pre-3.17 */
	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "3.17"));
	put64(img + 16, 4 * MiB);
	put64(img + 8, 0x80001);  /* not page aligned */
	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "text_offset"));
	put64(img + 8, 0x200000);  /* 2 MiB: out of bounds */
	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), -1);
	put64(img + 8, UINT64_MAX & ~0xfffULL);
	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), -1);
	free(img);
}

static void parse_huge_sizes(void **state)
{
	uint8_t *img = make_image();
	struct arm64_image im;
	const uint64_t bad[] = { UINT64_MAX, 1ULL << 63, ARM64_IMAGE_MAX_SIZE + 1 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put64(img + 16, bad[i]);
		assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "image_size"));
	}
	put64(img + 16, ARM64_IMAGE_MAX_SIZE);
	assert_int_equal(arm64_image__parse(img, IMG_LEN, &im, err, sizeof(err)), 0);
	free(img);
}

static void place_good(void **state)
{
	struct arm64_image im = { .text_offset = 0x80000, .image_size = 40 * MiB,
				  .file_size = 30 * MiB };
	struct arm64_boot_layout l;

	assert_int_equal(arm64_image__place(&im, RAM_BASE, 256 * MiB, 10 * MiB + 123, &l,
					    err, sizeof(err)), 0);
	assert_int_equal(l.kernel, RAM_BASE + 0x80000);
	assert_int_equal(l.kernel_end, RAM_BASE + 0x80000 + 40 * MiB);
	assert_int_equal(l.fdt, RAM_BASE + 254 * MiB);
	assert_int_equal(l.initrd % 4096, 0);
	assert_true(l.initrd >= l.kernel_end);
	assert_true(l.initrd + 10 * MiB + 123 <= l.fdt);
	/* no initrd */
	assert_int_equal(arm64_image__place(&im, RAM_BASE, 256 * MiB, 0, &l, err, sizeof(err)), 0);
	assert_int_equal(l.initrd, 0);
	/* a file longer than image_size (an appended signature) counts whole */
	im.file_size = 50 * MiB;
	assert_int_equal(arm64_image__place(&im, RAM_BASE, 256 * MiB, 0, &l, err, sizeof(err)), 0);
	assert_int_equal(l.kernel_end, RAM_BASE + 0x80000 + 50 * MiB);
}

static void place_too_small(void **state)
{
	struct arm64_image im = { .text_offset = 0, .image_size = 40 * MiB, .file_size = 1 * MiB };
	struct arm64_boot_layout l;

	assert_int_equal(arm64_image__place(&im, RAM_BASE, 32 * MiB, 0, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not fit"));
	assert_int_equal(arm64_image__place(&im, RAM_BASE, 64 * MiB, 30 * MiB, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "initrd"));
	assert_int_equal(arm64_image__place(&im, RAM_BASE, 1 * MiB, 0, &l, err, sizeof(err)), -1);
	assert_int_equal(arm64_image__place(&im, RAM_BASE, 0, 0, &l, err, sizeof(err)), -1);
}

/* Values parse() would refuse still must not wrap anything here. */
static void place_hostile(void **state)
{
	struct arm64_image im = { .text_offset = UINT64_MAX, .image_size = UINT64_MAX,
				  .file_size = 1 };
	struct arm64_boot_layout l;

	assert_int_equal(arm64_image__place(&im, RAM_BASE, 1ULL << 40, 0, &l, err, sizeof(err)), -1);
	im = (struct arm64_image){ .text_offset = 0, .image_size = 4096, .file_size = 4096 };
	assert_int_equal(arm64_image__place(&im, RAM_BASE, 256 * MiB, UINT64_MAX, &l, err,
					    sizeof(err)), -1);
	assert_int_equal(arm64_image__place(&im, UINT64_MAX - 4095, 8192, 0, &l, err, sizeof(err)), -1);
}

static uint8_t *gzip(const uint8_t *in, size_t len, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = len + len / 2 + 1024;
	uint8_t *out = malloc(cap);

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

static void gunzip_roundtrip(void **state)
{
	uint8_t *img = make_image(), *gz, *raw;
	size_t gz_len, raw_len;
	struct arm64_image im;

	gz = gzip(img, IMG_LEN, &gz_len);
	assert_true(arm64_image__is_gzip(gz, gz_len));
	assert_false(arm64_image__is_gzip(img, IMG_LEN));
	assert_int_equal(arm64_image__gunzip(gz, gz_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), 0);
	assert_int_equal(raw_len, IMG_LEN);
	assert_memory_equal(raw, img, IMG_LEN);
	assert_int_equal(arm64_image__parse(raw, raw_len, &im, err, sizeof(err)), 0);
	free(raw);
	/* exactly the size as the limit is fine, one byte less is not */
	assert_int_equal(arm64_image__gunzip(gz, gz_len, IMG_LEN, &raw, &raw_len, err, sizeof(err)), 0);
	free(raw);
	assert_int_equal(arm64_image__gunzip(gz, gz_len, IMG_LEN - 1, &raw, &raw_len, err,
					     sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	assert_null(raw);
	free(gz);
	free(img);
}

static void gunzip_bad(void **state)
{
	uint8_t *img = make_image(), *gz, *raw;
	size_t gz_len, raw_len;

	gz = gzip(img, IMG_LEN, &gz_len);
	/* every truncation fails, none reads past its end */
	for (size_t len = 0; len < gz_len; len += (len < 64 ? 1 : 97)) {
		uint8_t *t = malloc(len ? len : 1);

		memcpy(t, gz, len);
		assert_int_equal(arm64_image__gunzip(t, len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
		assert_null(raw);
		free(t);
	}
	/* a flipped byte in the deflate data or the CRC */
	gz[gz_len / 2] ^= 0x55;
	assert_int_equal(arm64_image__gunzip(gz, gz_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	gz[gz_len / 2] ^= 0x55;
	gz[gz_len - 6] ^= 1;
	assert_int_equal(arm64_image__gunzip(gz, gz_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	/* not gzip at all */
	assert_int_equal(arm64_image__gunzip(img, IMG_LEN, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a gzip"));
	free(gz);
	free(img);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* An EFI zboot file: the DOS header, padding up to the payload at 0x1000,
 * then 'payload', and 512 bytes of "PE sections" after it. */
static uint8_t *make_zboot(const char *type, const uint8_t *payload, size_t plen, size_t *len)
{
	uint8_t *z;

	*len = 0x1000 + plen + 512;
	z = calloc(1, *len);
	assert_non_null(z);
	memcpy(z, "MZ", 2);
	memcpy(z + 4, "zimg", 4);
	put32(z + 8, 0x1000);
	put32(z + 12, (uint32_t)plen);
	strcpy((char *)z + 24, type);
	memcpy(z + 0x38, "PE\0\0", 4);
	memcpy(z + 0x1000, payload, plen);
	memset(z + 0x1000 + plen, 0xcc, 512);
	return z;
}

static void zboot_gzip_zstd(void **state)
{
	uint8_t *img = make_image(), *gz, *zs, *zb, *raw;
	size_t gz_len, zs_len, zb_len, raw_len;
	struct arm64_image im;

	gz = gzip(img, IMG_LEN, &gz_len);
	zb = make_zboot("gzip", gz, gz_len, &zb_len);
	assert_true(arm64_image__is_zboot(zb, zb_len));
	assert_false(arm64_image__is_gzip(zb, zb_len));
	assert_int_equal(arm64_image__unzboot(zb, zb_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), 0);
	assert_int_equal(raw_len, IMG_LEN);
	assert_memory_equal(raw, img, IMG_LEN);
	assert_int_equal(arm64_image__parse(raw, raw_len, &im, err, sizeof(err)), 0);
	free(raw);
	free(zb);

	zs = malloc(ZSTD_compressBound(IMG_LEN));
	zs_len = ZSTD_compress(zs, ZSTD_compressBound(IMG_LEN), img, IMG_LEN, 19);
	assert_false(ZSTD_isError(zs_len));
	zb = make_zboot("zstd", zs, zs_len, &zb_len);
	assert_int_equal(arm64_image__unzboot(zb, zb_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), 0);
	assert_int_equal(raw_len, IMG_LEN);
	assert_memory_equal(raw, img, IMG_LEN);
	free(raw);
	/* over the limit, truncated, corrupt */
	assert_int_equal(arm64_image__unzboot(zb, zb_len, IMG_LEN / 2, &raw, &raw_len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	put32(zb + 12, (uint32_t)zs_len - 7);
	assert_int_equal(arm64_image__unzboot(zb, zb_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	assert_null(raw);
	put32(zb + 12, (uint32_t)zs_len);
	zb[0x1000 + 2] ^= 0xff;  /* the frame's magic */
	assert_int_equal(arm64_image__unzboot(zb, zb_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	free(zb);
	free(zs);
	free(gz);
	free(img);
}

static void zboot_bad(void **state)
{
	uint8_t payload[64] = { 0x1f, 0x8b, 8 }, *zb, *raw;
	size_t zb_len, raw_len;

	zb = make_zboot("lzma", payload, sizeof(payload), &zb_len);
	assert_int_equal(arm64_image__unzboot(zb, zb_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'lzma'"));
	/* payloads that leave the file, or wrap */
	strcpy((char *)zb + 24, "gzip");
	put32(zb + 12, (uint32_t)(zb_len - 0x1000 + 1));
	assert_int_equal(arm64_image__unzboot(zb, zb_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outside"));
	put32(zb + 8, 0xffffff00);
	put32(zb + 12, 0x200);
	assert_int_equal(arm64_image__unzboot(zb, zb_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	put32(zb + 8, 0x1000);
	put32(zb + 12, 0);
	assert_int_equal(arm64_image__unzboot(zb, zb_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	/* a type without its NUL fills the field: still one message */
	memset(zb + 24, 'x', 32);
	put32(zb + 12, sizeof(payload));
	assert_int_equal(arm64_image__unzboot(zb, zb_len, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	/* too short to be one */
	assert_false(arm64_image__is_zboot(zb, 63));
	assert_int_equal(arm64_image__unzboot(zb, 63, 1 << 20, &raw, &raw_len, err, sizeof(err)), -1);
	free(zb);
}

/* The stock Debian arm64 kernel, when `make deps ARCH=arm64` downloaded it
 * and images/build-arm64.sh unpacked it (skipped otherwise): its header
 * parses, text_offset 0 (5.8 and later), and it fits beside an initrd in
 * 256 MiB, the nested host's L2 size. */
static void real_image(void **state)
{
	glob_t g;
	int found = 0;

	if (glob("build/arm64/debroot/boot/vmlinuz-*", 0, NULL, &g) != 0)
		skip();
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct arm64_image im;
		struct arm64_boot_layout l;
		uint8_t *buf;
		size_t len;

		if (util__read_file(g.gl_pathv[i], &buf, &len, 512 << 20) < 0)
			continue;
		found++;
		assert_int_equal(arm64_image__parse(buf, len, &im, err, sizeof(err)), 0);
		assert_int_equal(im.text_offset, 0);
		assert_true(im.image_size >= len / 2);
		assert_int_equal(arm64_image__place(&im, RAM_BASE, 256 * MiB, 2 * MiB, &l, err,
						    sizeof(err)), 0);
		free(buf);
	}
	globfree(&g);
	if (!found)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_good),
		cmocka_unit_test(parse_truncated),
		cmocka_unit_test(parse_bad_magic),
		cmocka_unit_test(parse_refusals),
		cmocka_unit_test(parse_huge_sizes),
		cmocka_unit_test(place_good),
		cmocka_unit_test(place_too_small),
		cmocka_unit_test(place_hostile),
		cmocka_unit_test(gunzip_roundtrip),
		cmocka_unit_test(gunzip_bad),
		cmocka_unit_test(zboot_gzip_zstd),
		cmocka_unit_test(zboot_bad),
		cmocka_unit_test(real_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
