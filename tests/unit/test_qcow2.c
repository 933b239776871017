/* test_qcow2.c — the qcow2 backend against qemu-img: images of v2 and v3,
 * cluster sizes 512 B..2 MiB and refcount widths 1..64 bits get random
 * writes mirrored into a raw reference file, are read back, then must pass
 * `qemu-img check` (no errors, no leaks) and `qemu-img compare` against
 * the reference; refcount table growth, backing chains (qcow2 and raw,
 * relative names, base left untouched), zlib/zstd compressed clusters,
 * write-zeroes/discard, concurrent writers, read-only refusals. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/block/disk.h"
#include "devices/block/qcow2.h"

#define MiB (1024 * 1024)

struct ctx {
	char dir[64];
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	strcpy(c->dir, "/tmp/test_qcow2.XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	sh("rm -rf '%s'", c->dir);
	free(c);
	return 0;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill(uint8_t *b, size_t n, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(rnd(seed) >> 24);
}

/* A raw reference of 'size' bytes next to the image. */
static int make_ref(const char *path, uint64_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static struct disk *open_ok(const char *path, bool ro)
{
	char err[512] = "";
	struct disk *d = disk__open(path, DISK_FORMAT_AUTO, ro, err, sizeof(err));

	if (!d)
		fprintf(stderr, "open %s: %s\n", path, err);
	assert_non_null(d);
	assert_string_equal(d->format, "qcow2");
	assert_int_equal(d->block_size, 512);
	return d;
}

/* Write the same bytes through the disk (as three iovecs) and the ref. */
static void both_write(struct disk *d, int ref, const uint8_t *buf, size_t len, uint64_t off)
{
	size_t a = len / 3, b = len / 2;
	struct iovec iov[3] = {
		{ (void *)buf, a }, { (void *)(buf + a), b - a }, { (void *)(buf + b), len - b },
	};

	assert_int_equal(d->ops->pwritev(d, iov, 3, off), (ssize_t)len);
	assert_int_equal(pwrite(ref, buf, len, (off_t)off), (ssize_t)len);
}

static void verify(struct disk *d, int ref)
{
	size_t chunk = 1 * MiB;
	uint8_t *a = malloc(chunk), *b = malloc(chunk);

	for (uint64_t off = 0; off < d->size; off += chunk) {
		size_t n = d->size - off < chunk ? (size_t)(d->size - off) : chunk;

		assert_int_equal(disk__pread(d, a, n, off), (ssize_t)n);
		assert_int_equal(pread(ref, b, n, (off_t)off), (ssize_t)n);
		if (memcmp(a, b, n)) {
			size_t k = 0;

			while (a[k] == b[k])
				k++;
			fail_msg("content differs at byte %llu", (unsigned long long)(off + k));
		}
	}
	free(a);
	free(b);
}

/* Random writes: mostly sector-aligned, some byte-unaligned, sizes up
 * to 'maxlen'. */
static void random_writes(struct disk *d, int ref, int count, size_t maxlen, uint64_t seed)
{
	uint8_t *buf = malloc(maxlen);

	for (int i = 0; i < count; i++) {
		size_t len = 1 + rnd(&seed) % maxlen;
		uint64_t off = rnd(&seed) % (d->size - len + 1);

		if (i % 4) {
			off &= ~511ull;
			len = (len + 511) & ~(size_t)511;
			if (len > maxlen || off + len > d->size)
				len = 512;
		}
		fill(buf, len, &seed);
		both_write(d, ref, buf, len, off);
	}
	free(buf);
}

static void check_and_compare(const char *img, const char *ref)
{
	assert_int_equal(sh("qemu-img check -q '%s'", img), 0);
	assert_int_equal(sh("qemu-img compare -q -F raw '%s' '%s'", img, ref), 0);
}

/* create, random writes, verify, flush, close, check, compare, reopen */
static void workload(struct ctx *c, const char *opts, uint64_t size, int count, size_t maxlen,
		     uint64_t seed)
{
	char img[128], refp[128];
	struct disk *d;
	int ref;

	snprintf(img, sizeof(img), "%s/w.qcow2", c->dir);
	snprintf(refp, sizeof(refp), "%s/w.raw", c->dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o %s '%s' %llu", opts, img,
			    (unsigned long long)size), 0);
	ref = make_ref(refp, size);
	d = open_ok(img, false);
	assert_int_equal(d->size, size);
	random_writes(d, ref, count, maxlen, seed);
	verify(d, ref);
	assert_int_equal(d->ops->flush(d), 0);
	random_writes(d, ref, count / 4, maxlen, seed * 7);
	disk__close(d);
	check_and_compare(img, refp);
	d = open_ok(img, true);
	verify(d, ref);
	disk__close(d);
	close(ref);
}

static void test_probe(void **state)
{
	assert_true(qcow2__probe("QFI\xfb\0\0\0\3", 8));
	assert_false(qcow2__probe("QFI\xfa", 4));
	assert_false(qcow2__probe("QFI", 3));
}

static void test_v3_64k(void **state)
{
	workload(*state, "compat=1.1,cluster_size=65536", 64 * MiB, 300, 200 * 1024, 1);
}

static void test_v2_4k(void **state)
{
	workload(*state, "compat=0.10,cluster_size=4096", 32 * MiB, 300, 64 * 1024, 2);
}

static void test_cluster_sizes(void **state)
{
	workload(*state, "compat=1.1,cluster_size=512", 4 * MiB, 200, 8 * 1024, 3);
	workload(*state, "compat=1.1,cluster_size=2097152", 16 * MiB, 60, 3 * MiB, 4);
	workload(*state, "compat=0.10,cluster_size=512", 2 * MiB + 1536, 100, 4096, 5);
}

static void test_refcount_orders(void **state)
{
	static const int bits[] = { 1, 2, 4, 8, 16, 32, 64 };
	char opts[96];

	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		snprintf(opts, sizeof(opts), "compat=1.1,cluster_size=1024,refcount_bits=%d",
			 bits[i]);
		workload(*state, opts, 8 * MiB, 120, 32 * 1024, 10 + i);
	}
}

/* 512-byte clusters and tens of MiB: new refcount blocks and a growing
 * refcount table, all of it counted. */
static void test_growth(void **state)
{
	struct ctx *c = *state;
	static const char *const opts[] = {
		"compat=1.1,cluster_size=512",
		"compat=1.1,cluster_size=512,refcount_bits=64",
		"compat=0.10,cluster_size=512",
	};
	static const uint64_t sizes[] = { 40 * MiB, 12 * MiB, 24 * MiB };
	char img[128], refp[128];
	uint8_t *buf = malloc(256 * 1024);
	uint64_t seed = 99;

	snprintf(img, sizeof(img), "%s/g.qcow2", c->dir);
	snprintf(refp, sizeof(refp), "%s/g.raw", c->dir);
	for (int k = 0; k < 3; k++) {
		struct disk *d;
		int ref;

		assert_int_equal(sh("qemu-img create -q -f qcow2 -o %s '%s' %llu", opts[k], img,
				    (unsigned long long)sizes[k]), 0);
		ref = make_ref(refp, sizes[k]);
		d = open_ok(img, false);
		for (uint64_t off = 0; off + 256 * 1024 <= sizes[k] * 3 / 4; off += 256 * 1024) {
			fill(buf, 256 * 1024, &seed);
			both_write(d, ref, buf, 256 * 1024, off);
		}
		random_writes(d, ref, 200, 16 * 1024, seed);
		verify(d, ref);
		disk__close(d);
		check_and_compare(img, refp);
		close(ref);
	}
	free(buf);
}

static uint64_t file_hash(const char *path)
{
	uint64_t h = 1469598103934665603ull;
	FILE *f = fopen(path, "rb");
	int ch;

	assert_non_null(f);
	while ((ch = fgetc(f)) != EOF)
		h = (h ^ (uint64_t)ch) * 1099511628211ull;
	fclose(f);
	return h;
}

static void test_backing_qcow2(void **state)
{
	struct ctx *c = *state;
	char base[128], top[128], refp[128];
	struct disk *d;
	uint64_t h;
	int ref;

	snprintf(base, sizeof(base), "%s/base.qcow2", c->dir);
	snprintf(top, sizeof(top), "%s/top.qcow2", c->dir);
	snprintf(refp, sizeof(refp), "%s/top.raw", c->dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=65536 '%s' 16M", base), 0);
	ref = make_ref(refp, 24 * MiB);
	d = open_ok(base, false);
	random_writes(d, ref, 150, 128 * 1024, 21);
	disk__close(d);
	h = file_hash(base);
	/* relative name, resolved against top's directory, whatever our cwd */
	assert_int_equal(sh("cd '%s' && qemu-img create -q -f qcow2 -o cluster_size=4096 "
			    "-b base.qcow2 -F qcow2 top.qcow2 24M", c->dir), 0);
	d = open_ok(top, false);
	assert_int_equal(d->size, 24 * MiB);
	verify(d, ref);
	random_writes(d, ref, 300, 100 * 1024, 22);
	verify(d, ref);
	disk__close(d);
	check_and_compare(top, refp);
	assert_int_equal(sh("qemu-img check -q '%s'", base), 0);
	assert_true(file_hash(base) == h);
	close(ref);
}

static void test_backing_chain_raw(void **state)
{
	struct ctx *c = *state;
	char raw[128], top[128], refp[128];
	uint8_t *buf = malloc(3 * MiB + 512);
	uint64_t seed = 31, h;
	struct disk *d;
	int fd, ref;

	snprintf(raw, sizeof(raw), "%s/sub/base.raw", c->dir);
	snprintf(top, sizeof(top), "%s/chain.qcow2", c->dir);
	snprintf(refp, sizeof(refp), "%s/chain.raw", c->dir);
	assert_int_equal(sh("mkdir -p '%s/sub'", c->dir), 0);
	fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fill(buf, 3 * MiB + 512, &seed);
	assert_int_equal(write(fd, buf, 3 * MiB + 512), 3 * MiB + 512);
	close(fd);
	ref = make_ref(refp, 8 * MiB);
	assert_int_equal(pwrite(ref, buf, 3 * MiB + 512, 0), 3 * MiB + 512);
	h = file_hash(raw);
	/* raw <- sub/mid.qcow2 (v2) <- chain.qcow2, both names relative */
	assert_int_equal(sh("cd '%s/sub' && qemu-img create -q -f qcow2 -o compat=0.10 "
			    "-b base.raw -F raw mid.qcow2 6M", c->dir), 0);
	assert_int_equal(sh("cd '%s' && qemu-img create -q -f qcow2 -b sub/mid.qcow2 -F qcow2 "
			    "chain.qcow2 8M", c->dir), 0);
	d = open_ok(top, false);
	verify(d, ref);
	random_writes(d, ref, 200, 64 * 1024, 32);
	verify(d, ref);
	disk__close(d);
	check_and_compare(top, refp);
	assert_true(file_hash(raw) == h);
	free(buf);
	close(ref);
}

static void compressed(struct ctx *c, const char *type)
{
	char raw[128], img[128];
	uint8_t *buf = malloc(8 * MiB);
	uint64_t seed = 41;
	struct disk *d;
	int ref;

	snprintf(raw, sizeof(raw), "%s/c.raw", c->dir);
	snprintf(img, sizeof(img), "%s/c.qcow2", c->dir);
	/* compressible text, random runs, zero runs */
	for (size_t i = 0; i < 8 * MiB; i++)
		buf[i] = (uint8_t)("qcow2 compressed cluster "[i % 25] + (i >> 16));
	fill(buf + MiB, 300 * 1024, &seed);
	memset(buf + 3 * MiB, 0, MiB);
	ref = make_ref(raw, 8 * MiB);
	assert_int_equal(pwrite(ref, buf, 8 * MiB, 0), 8 * MiB);
	assert_int_equal(sh("qemu-img convert -q -c -f raw -O qcow2 -o cluster_size=%s '%s' '%s'",
			    type, raw, img), 0);
	d = open_ok(img, true);
	verify(d, ref);
	disk__close(d);
	d = open_ok(img, false);
	random_writes(d, ref, 150, 20 * 1024, 42);
	verify(d, ref);
	disk__close(d);
	check_and_compare(img, raw);
	free(buf);
	close(ref);
}

static void test_compressed_zlib(void **state)
{
	compressed(*state, "65536");
	compressed(*state, "4096,compat=0.10");
}

static void test_compressed_zstd(void **state)
{
	char hdr[112];
	struct ctx *c = *state;
	char img[128];
	int fd;

	compressed(*state, "65536,compression_type=zstd");
	snprintf(img, sizeof(img), "%s/c.qcow2", c->dir);
	fd = open(img, O_RDONLY);
	assert_int_equal(pread(fd, hdr, sizeof(hdr), 0), sizeof(hdr));
	close(fd);
	assert_int_equal(hdr[104], 1);          /* really zstd */
}

/* Random writes, write-zeroes and cluster-aligned discards. */
static void zero_discard(struct ctx *c, const char *compat, bool backing)
{
	char img[128], refp[128], base[128];
	bool v2 = !strcmp(compat, "0.10");
	uint8_t *zero = calloc(1, 256 * 1024);
	uint64_t seed = 51, cs = 4096;
	struct disk *d;
	int ref;

	snprintf(img, sizeof(img), "%s/z.qcow2", c->dir);
	snprintf(base, sizeof(base), "%s/zb.qcow2", c->dir);
	snprintf(refp, sizeof(refp), "%s/z.raw", c->dir);
	ref = make_ref(refp, 8 * MiB);
	if (backing) {
		assert_int_equal(sh("qemu-img create -q -f qcow2 '%s' 8M", base), 0);
		d = open_ok(base, false);
		random_writes(d, ref, 100, 128 * 1024, 50);
		disk__close(d);
		assert_int_equal(sh("qemu-img create -q -f qcow2 -o compat=%s,cluster_size=4096 "
				    "-b '%s' -F qcow2 '%s'", compat, base, img), 0);
	} else {
		assert_int_equal(sh("qemu-img create -q -f qcow2 -o compat=%s,cluster_size=4096 "
				    "'%s' 8M", compat, img), 0);
	}
	d = open_ok(img, false);
	random_writes(d, ref, 150, 64 * 1024, 52);
	for (int i = 0; i < 300; i++) {
		uint64_t len = 1 + rnd(&seed) % (256 * 1024);
		uint64_t off = rnd(&seed) % (d->size - len + 1);

		switch (i % 3) {
		case 0:
			assert_int_equal(d->ops->write_zeroes(d, off, len, rnd(&seed) & 1), 0);
			assert_int_equal(pwrite(ref, zero, len, (off_t)off), (ssize_t)len);
			break;
		case 1:
			off &= ~(cs - 1);
			len = (len + cs - 1) & ~(cs - 1);
			if (off + len > d->size)
				len = d->size - off;
			assert_int_equal(d->ops->discard(d, off, len), 0);
			if (!(v2 && backing))
				assert_int_equal(pwrite(ref, zero, len, (off_t)off), (ssize_t)len);
			break;
		default:
			random_writes(d, ref, 3, 32 * 1024, seed++);
		}
	}
	verify(d, ref);
	disk__close(d);
	check_and_compare(img, refp);
	free(zero);
	close(ref);
}

static void test_zero_discard(void **state)
{
	zero_discard(*state, "1.1", false);
	zero_discard(*state, "1.1", true);
	zero_discard(*state, "0.10", false);
	zero_discard(*state, "0.10", true);
}

/* Discarding everything gives the clusters back: after a flush (which
 * applies the deferred refcount decrements) writing the same amount
 * again reuses them and the file does not grow. */
static void test_discard_frees(void **state)
{
	struct ctx *c = *state;
	char img[128];
	uint8_t buf[4096];
	struct disk *d;
	struct stat st;
	off_t size1;

	snprintf(img, sizeof(img), "%s/f.qcow2", c->dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 '%s' 4M", img), 0);
	d = open_ok(img, false);
	memset(buf, 0xab, sizeof(buf));
	for (uint64_t off = 0; off < 4 * MiB; off += sizeof(buf))
		assert_int_equal(disk__pwrite(d, buf, sizeof(buf), off), sizeof(buf));
	assert_int_equal(stat(img, &st), 0);
	size1 = st.st_size;
	assert_true(size1 > 4 * MiB);
	assert_int_equal(d->ops->discard(d, 0, 4 * MiB), 0);
	assert_int_equal(disk__pread(d, buf, sizeof(buf), 8192), sizeof(buf));
	assert_int_equal(buf[0] | buf[4095], 0);
	assert_int_equal(d->ops->flush(d), 0);
	memset(buf, 0xcd, sizeof(buf));
	for (uint64_t off = 0; off < 4 * MiB; off += sizeof(buf))
		assert_int_equal(disk__pwrite(d, buf, sizeof(buf), off), sizeof(buf));
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, size1);
	disk__close(d);
	assert_int_equal(sh("qemu-img check -q '%s'", img), 0);
}

struct thr {
	struct disk *d;
	int ref;
	uint64_t base;
};

static void *writer(void *arg)
{
	struct thr *t = arg;
	uint64_t seed = t->base + 1;
	uint8_t buf[8192];

	for (uint64_t off = 0; off < 2 * MiB; off += sizeof(buf)) {
		fill(buf, sizeof(buf), &seed);
		if (disk__pwrite(t->d, buf, sizeof(buf), t->base + off) != sizeof(buf) ||
		    pwrite(t->ref, buf, sizeof(buf), (off_t)(t->base + off)) != sizeof(buf))
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct ctx *c = *state;
	char img[128], refp[128];
	struct thr t[4];
	pthread_t th[4];
	struct disk *d;
	int ref;

	snprintf(img, sizeof(img), "%s/t.qcow2", c->dir);
	snprintf(refp, sizeof(refp), "%s/t.raw", c->dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 '%s' 8M", img), 0);
	ref = make_ref(refp, 8 * MiB);
	d = open_ok(img, false);
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ .d = d, .ref = ref, .base = (uint64_t)i * 2 * MiB };
		assert_int_equal(pthread_create(&th[i], NULL, writer, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *rv;

		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_null(rv);
	}
	verify(d, ref);
	disk__close(d);
	check_and_compare(img, refp);
	close(ref);
}

static void test_read_only_and_bounds(void **state)
{
	struct ctx *c = *state;
	char img[128];
	uint8_t buf[512] = { 1 };
	struct disk *d;

	snprintf(img, sizeof(img), "%s/r.qcow2", c->dir);
	assert_int_equal(sh("qemu-img create -q -f qcow2 '%s' 1M", img), 0);
	d = open_ok(img, true);
	assert_true(d->read_only);
	assert_int_equal(disk__pwrite(d, buf, 512, 0), -EROFS);
	assert_int_equal(d->ops->discard(d, 0, 512), -EROFS);
	assert_int_equal(d->ops->write_zeroes(d, 0, 512, false), -EROFS);
	assert_int_equal(disk__pread(d, buf, 512, 4096), 512);
	assert_int_equal(buf[0], 0);
	disk__close(d);
	d = open_ok(img, false);
	assert_int_equal(disk__pread(d, buf, 512, MiB - 256), -EINVAL);
	assert_int_equal(d->ops->write_zeroes(d, MiB, 1, false), -EINVAL);
	assert_int_equal(d->ops->discard(d, UINT64_MAX - 10, 20), -EINVAL);
	assert_int_equal(d->ops->flush(d), 0);
	disk__close(d);
	assert_int_equal(sh("qemu-img check -q '%s'", img), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_v3_64k),
		cmocka_unit_test(test_v2_4k),
		cmocka_unit_test(test_cluster_sizes),
		cmocka_unit_test(test_refcount_orders),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_backing_qcow2),
		cmocka_unit_test(test_backing_chain_raw),
		cmocka_unit_test(test_compressed_zlib),
		cmocka_unit_test(test_compressed_zstd),
		cmocka_unit_test(test_zero_discard),
		cmocka_unit_test(test_discard_frees),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_read_only_and_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
