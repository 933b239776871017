/* test_fat.c — the FAT12 image writer: images are checked with the
 * standard tools (blkid, mdir, mtype, mcopy, fsck.fat) and by parsing the
 * root directory here (LFN checksums, short names, label); every file
 * reads back byte for byte; bad names, labels and sizes are refused. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/boot/fat.h"

struct tmp {
	char dir[64];
	char img[96];
};

static void tmp_write(struct tmp *t, const uint8_t *img, size_t len)
{
	FILE *f;

	snprintf(t->dir, sizeof(t->dir), "/tmp/test_fat.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->img, sizeof(t->img), "%s/img", t->dir);
	f = fopen(t->img, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void tmp_clean(struct tmp *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	assert_int_equal(system(cmd), 0);
}

/* Run a shell command; its stdout in a malloc'd buffer, exit status in *rc. */
static char *run(int *rc, size_t *outlen, const char *fmt, ...)
{
	char cmd[1024], *out = NULL;
	size_t len = 0, cap = 0;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	assert_non_null(p);
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			cap = cap * 2 + 8192;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		n = fread(out + len, 1, cap - len - 1, p);
		if (!n)
			break;
		len += n;
	}
	out[len] = '\0';
	st = pclose(p);
	*rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (outlen)
		*outlen = len;
	return out;
}

static void expect_fsck_clean(const char *img)
{
	int rc;
	char *out = run(&rc, NULL, "fsck.fat -n '%s' 2>&1", img);

	if (rc)
		fprintf(stderr, "fsck.fat: %s", out);
	assert_int_equal(rc, 0);
	free(out);
}

static void expect_file(const char *img, const char *name, const void *data, size_t len)
{
	size_t outlen;
	int rc;
	char *out = run(&rc, &outlen, "MTOOLS_SKIP_CHECK=1 mtype -i '%s' '::%s'", img, name);

	assert_int_equal(rc, 0);
	assert_int_equal(outlen, len);
	if (len)
		assert_memory_equal(out, data, len);
	free(out);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void test_small_seed(void **state)
{
	static const char md[] = "instance-id: x\n", ud[] = "#cloud-config\n";
	const struct fat_file files[] = {
		{ "meta-data", md, sizeof(md) - 1 },
		{ "user-data", ud, sizeof(ud) - 1 },
	};
	char err[256] = "", *out;
	uint8_t *img;
	size_t len;
	struct tmp t;
	int rc;

	assert_int_equal(fat__build("CIDATA", 0xdeadbeef, files, 2, &img, &len, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(len, 1024 * 1024);
	assert_int_equal(img[510], 0x55);
	assert_int_equal(img[511], 0xaa);
	assert_memory_equal(img + 43, "CIDATA     ", 11);
	assert_memory_equal(img + 54, "FAT12   ", 8);
	tmp_write(&t, img, len);

	out = run(&rc, NULL, "blkid -p -o export '%s'", t.img);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\nTYPE=vfat\n"));
	assert_non_null(strstr(out, "\nLABEL=CIDATA\n"));
	assert_non_null(strstr(out, "\nUUID=DEAD-BEEF\n"));
	assert_non_null(strstr(out, "VERSION=FAT12"));
	free(out);

	out = run(&rc, NULL, "MTOOLS_SKIP_CHECK=1 mdir -i '%s' ::", t.img);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "Volume in drive : is CIDATA"));
	assert_non_null(strstr(out, "META-D~1"));
	assert_non_null(strstr(out, " meta-data\n"));
	assert_non_null(strstr(out, "USER-D~1"));
	assert_non_null(strstr(out, " user-data\n"));
	free(out);

	expect_file(t.img, "meta-data", md, sizeof(md) - 1);
	expect_file(t.img, "user-data", ud, sizeof(ud) - 1);
	expect_fsck_clean(t.img);
	tmp_clean(&t);
	free(img);
}

static uint8_t lfn_sum(const uint8_t *sfn)
{
	uint8_t s = 0;

	for (int i = 0; i < 11; i++)
		s = (uint8_t)((s & 1 ? 0x80 : 0) + (s >> 1) + sfn[i]);
	return s;
}

static bool sfn_valid(const uint8_t *sfn)
{
	for (int i = 0; i < 11; i++) {
		uint8_t c = sfn[i];

		if (c == ' ')
			continue;
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'()-@^_`{}~", c)))
			return false;
	}
	return sfn[0] != ' ';
}

/* Walk the root directory: every LFN set has the right order and checksum
 * and spells the expected long name; short names are valid and unique. */
static void check_root_dir(const uint8_t *img, const struct fat_file *files, size_t n,
			   const char *const *expect_sfn)
{
	const uint8_t *dir = img + 512 * (get16(img + 14) + img[16] * get16(img + 22));
	unsigned entries = get16(img + 17), e = 0;
	uint8_t seen[64][11];

	assert_true(n <= 64);
	assert_int_equal(dir[11], 0x08);	/* volume label first */
	assert_memory_equal(dir, img + 43, 11);
	e = 1;
	for (size_t i = 0; i < n; i++) {
		char name[256] = "";
		const uint8_t *sfn;
		unsigned nlfn = 0;

		assert_true(e < entries);
		if (dir[e * 32 + 11] == 0x0f) {
			nlfn = dir[e * 32] & 0x3f;
			assert_true(dir[e * 32] & 0x40);
			assert_true(nlfn >= 1 && nlfn <= 20);
			sfn = dir + (e + nlfn) * 32;
			for (unsigned k = 0; k < nlfn; k++) {
				const uint8_t *l = dir + (e + k) * 32;
				static const int pos[13] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };
				unsigned ord = nlfn - k;

				assert_int_equal(l[0] & 0x3f, ord);
				assert_int_equal(l[11], 0x0f);
				assert_int_equal(l[13], lfn_sum(sfn));
				assert_int_equal(get16(l + 26), 0);
				for (int c = 0; c < 13; c++) {
					uint16_t ch = get16(l + pos[c]);
					size_t idx = (ord - 1) * 13 + (size_t)c;

					if (ch && ch != 0xffff) {
						assert_true(ch < 0x80);
						name[idx] = (char)ch;
					}
				}
			}
			assert_string_equal(name, files[i].name);
		} else {
			sfn = dir + e * 32;
		}
		assert_true(sfn_valid(sfn));
		assert_int_equal(sfn[11], 0x20);
		for (size_t j = 0; j < i; j++)
			assert_memory_not_equal(seen[j], sfn, 11);
		memcpy(seen[i], sfn, 11);
		if (expect_sfn && expect_sfn[i])
			assert_memory_equal(sfn, expect_sfn[i], 11);
		assert_int_equal(sfn[28] | sfn[29] << 8 | sfn[30] << 16 | (uint32_t)sfn[31] << 24, files[i].len);
		e += nlfn + 1;
	}
	assert_int_equal(dir[e * 32], 0);	/* end of directory */
}

static void test_short_names(void **state)
{
	const struct fat_file files[] = {
		{ "README.TXT", "a", 1 },
		{ "readme2.txt", "b", 1 },
		{ "meta-data", "", 0 },
		{ "meta-data-2", "", 0 },
		{ "META-D~1", "c", 1 },		/* a literal 8.3 name that a tail would take */
		{ ".hidden", "", 0 },
		{ "a b+c.tar.gz", "", 0 },
		{ "x.verylongext", "", 0 },
		{ "Mixed.Txt", "", 0 },
	};
	static const char *const sfn[] = {
		"README  TXT", "README2 TXT", "META-D~2   ", "META-D~3   ", "META-D~1   ",
		"HIDDEN~1   ", "AB_CTA~1GZ ", "X~1     VER", "MIXED   TXT",
	};
	char err[256] = "";
	uint8_t *img;
	size_t len;
	struct tmp t;
	int rc;
	char *out;

	assert_int_equal(fat__build("SEED", 1, files, 9, &img, &len, err, sizeof(err)), 0);
	check_root_dir(img, files, 9, sfn);
	/* README.TXT is a plain 8.3 name: no long-name entries for it. */
	assert_int_equal(img[512 * (1 + 2 * get16(img + 22)) + 32 + 11], 0x20);
	tmp_write(&t, img, len);
	expect_fsck_clean(t.img);
	out = run(&rc, NULL, "MTOOLS_SKIP_CHECK=1 mdir -i '%s' ::", t.img);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, " a b+c.tar.gz\n"));
	assert_non_null(strstr(out, " .hidden\n"));
	free(out);
	expect_file(t.img, "META-D~1", "c", 1);
	expect_file(t.img, "readme.txt", "a", 1);	/* case-insensitive lookup */
	tmp_clean(&t);
	free(img);
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static void test_many_files(void **state)
{
	enum { N = 40 };
	static const size_t sizes[] = { 0, 1, 511, 512, 513, 1024, 1536, 4095, 4096, 12345, 70000 };
	struct fat_file files[N];
	char names[N][128], err[256] = "";
	uint8_t *data[N], *img;
	size_t len;
	struct tmp t;

	for (int i = 0; i < N; i++) {
		/* 9 to 100 characters: one to eight long-name entries. */
		size_t nlen = 9 + (size_t)(i * 91) / (N - 1), sz = sizes[i % 11];

		snprintf(names[i], sizeof(names[i]), "file-%02d.", i);
		for (size_t k = strlen(names[i]); k < nlen; k++)
			names[i][k] = "abcdefghij KLMNOP_qrstu-vwxyz+0123=456.789"[(k * 7 + (size_t)i) % 42];
		names[i][nlen] = '\0';
		if (names[i][nlen - 1] == ' ' || names[i][nlen - 1] == '.')
			names[i][nlen - 1] = 'z';
		data[i] = malloc(sz ? sz : 1);
		assert_non_null(data[i]);
		fill(data[i], sz, (uint32_t)i);
		files[i] = (struct fat_file){ names[i], data[i], sz };
	}
	assert_int_equal(strlen(names[N - 1]), 100);
	assert_int_equal(fat__build("MANY", 42, files, N, &img, &len, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(img[13], 1);	/* 512-byte clusters: 511/512/513 straddle one */
	check_root_dir(img, files, N, NULL);
	tmp_write(&t, img, len);
	expect_fsck_clean(t.img);
	for (int i = 0; i < N; i++) {
		char out[160], cmd[512];
		uint8_t *back;
		size_t blen;
		FILE *f;

		snprintf(out, sizeof(out), "%s/out%d", t.dir, i);
		snprintf(cmd, sizeof(cmd), "MTOOLS_SKIP_CHECK=1 mcopy -n -i '%s' '::%s' '%s'", t.img, names[i], out);
		assert_int_equal(system(cmd), 0);
		f = fopen(out, "rb");
		assert_non_null(f);
		back = malloc(files[i].len + 16);
		assert_non_null(back);
		blen = fread(back, 1, files[i].len + 16, f);
		fclose(f);
		assert_int_equal(blen, files[i].len);
		if (blen)
			assert_memory_equal(back, data[i], blen);
		free(back);
	}
	expect_file(t.img, names[3], data[3], files[3].len);
	tmp_clean(&t);
	free(img);
	for (int i = 0; i < N; i++)
		free(data[i]);
}

/* Bigger files need bigger clusters; the image stays FAT12, a whole
 * number of MiB, and files of exactly one cluster read back whole. */
static void test_cluster_sizes(void **state)
{
	static const size_t totals[] = { 900 * 1024, 1900 * 1024, 2100 * 1024, 5 * 1024 * 1024, 9 * 1024 * 1024 };
	uint8_t *big = malloc(9 * 1024 * 1024);

	assert_non_null(big);
	fill(big, 9 * 1024 * 1024, 7);
	for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
		struct fat_file files[3];
		char err[256] = "";
		uint8_t *img;
		size_t len, cluster;
		uint32_t spc, total, fat, root, clusters, need;
		struct tmp t;

		assert_int_equal(fat__build("BIG", 3, (struct fat_file[]){ { "big.bin", big, totals[i] } }, 1,
					    &img, &len, err, sizeof(err)), 0);
		spc = img[13];
		cluster = spc * 512u;
		free(img);
		files[0] = (struct fat_file){ "big.bin", big, totals[i] };
		files[1] = (struct fat_file){ "one-cluster", big + 1, cluster };
		files[2] = (struct fat_file){ "cluster-plus-one", big + 2, cluster + 1 };
		assert_int_equal(fat__build("BIG", 3, files, 3, &img, &len, err, sizeof(err)), 0);
		assert_int_equal(len % (1024 * 1024), 0);
		spc = img[13];
		total = get16(img + 19) ? get16(img + 19) : (uint32_t)(img[32] | img[33] << 8 | img[34] << 16 | img[35] << 24);
		assert_int_equal((size_t)total * 512, len);
		fat = get16(img + 22);
		root = get16(img + 17) * 32u / 512u;
		clusters = (total - 1 - 2 * fat - root) / spc;
		need = 0;
		for (int k = 0; k < 3; k++)
			need += (uint32_t)((files[k].len + spc * 512u - 1) / (spc * 512u));
		assert_true(clusters < 4085);
		assert_true(clusters >= need);
		assert_true(fat * 512u * 2 / 3 >= clusters + 2);
		if (totals[i] > 2 * 1024 * 1024)
			assert_true(spc > 1);
		tmp_write(&t, img, len);
		expect_fsck_clean(t.img);
		for (int k = 0; k < 3; k++)
			expect_file(t.img, files[k].name, files[k].data, files[k].len);
		tmp_clean(&t);
		free(img);
	}
	free(big);
}

static void test_deterministic_and_no_label(void **state)
{
	const struct fat_file files[] = { { "a-file", "xyz", 3 } };
	uint8_t *a, *b;
	size_t alen, blen;
	char err[256] = "", *out;
	struct tmp t;
	int rc;

	assert_int_equal(fat__build(NULL, 5, files, 1, &a, &alen, err, sizeof(err)), 0);
	assert_int_equal(fat__build(NULL, 5, files, 1, &b, &blen, err, sizeof(err)), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	assert_memory_equal(a + 43, "NO NAME    ", 11);
	tmp_write(&t, a, alen);
	out = run(&rc, NULL, "blkid -p -o export '%s'", t.img);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "TYPE=vfat"));
	assert_null(strstr(out, "\nLABEL="));
	free(out);
	expect_fsck_clean(t.img);
	expect_file(t.img, "a-file", "xyz", 3);
	tmp_clean(&t);
	free(a);
	free(b);

	/* No files at all is a valid, empty filesystem. */
	assert_int_equal(fat__build("EMPTY", 5, NULL, 0, &a, &alen, err, sizeof(err)), 0);
	tmp_write(&t, a, alen);
	expect_fsck_clean(t.img);
	tmp_clean(&t);
	free(a);
}

static void expect_refused(const char *label, const struct fat_file *files, size_t n, const char *msg)
{
	char err[256] = "";
	uint8_t *img = (uint8_t *)"untouched";
	size_t len = 77;

	assert_int_equal(fat__build(label, 0, files, n, &img, &len, err, sizeof(err)), -1);
	assert_string_equal((char *)img, "untouched");
	assert_int_equal(len, 77);
	if (!strstr(err, msg))
		fprintf(stderr, "error was: %s\n", err);
	assert_non_null(strstr(err, msg));
	assert_null(strchr(err, '\n'));
}

static void test_refused(void **state)
{
	char longname[300];
	static const char dummy[1];

	memset(longname, 'n', sizeof(longname));
	longname[256] = '\0';
	expect_refused("CIDATA", (struct fat_file[]){ { "a/b", "", 0 } }, 1, "'a/b' has a character not allowed");
	expect_refused("CIDATA", (struct fat_file[]){ { "a*", "", 0 } }, 1, "not allowed");
	expect_refused("CIDATA", (struct fat_file[]){ { "tab\there", "", 0 } }, 1, "(0x09)");
	expect_refused("CIDATA", (struct fat_file[]){ { "caf\xc3\xa9", "", 0 } }, 1, "not allowed");
	expect_refused("CIDATA", (struct fat_file[]){ { "", "", 0 } }, 1, "empty file name");
	expect_refused("CIDATA", (struct fat_file[]){ { "..", "", 0 } }, 1, "'..' is not a file name");
	expect_refused("CIDATA", (struct fat_file[]){ { "x.", "", 0 } }, 1, "ends in '.'");
	expect_refused("CIDATA", (struct fat_file[]){ { longname, "", 0 } }, 1, "longer than 255");
	expect_refused("CIDATA", (struct fat_file[]){ { "User-Data", "", 0 }, { "user-data", "", 0 } }, 2,
		       "'user-data' given twice");
	expect_refused("CIDATA", (struct fat_file[]){ { "cidata", "", 0 } }, 1, "clashes with the volume label");
	expect_refused("cidata", NULL, 0, "volume label 'cidata' has a character");
	expect_refused("TWELVE_CHARS", NULL, 0, "1 to 11 characters");
	expect_refused("", NULL, 0, "1 to 11 characters");
	expect_refused("CIDATA", (struct fat_file[]){ { "x", NULL, 5 } }, 1, "'x' has no data");
	/* Too much data for FAT12: refused before anything is read or allocated. */
	expect_refused("CIDATA", (struct fat_file[]){ { "huge", dummy, 200u << 20 } }, 1,
		       "do not fit a FAT12 image");
	expect_refused("CIDATA", (struct fat_file[]){ { "a", dummy, 100u << 20 }, { "b", dummy, 100u << 20 } }, 2,
		       "do not fit a FAT12 image");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_seed),
		cmocka_unit_test(test_short_names),
		cmocka_unit_test(test_many_files),
		cmocka_unit_test(test_cluster_sizes),
		cmocka_unit_test(test_deterministic_and_no_label),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
