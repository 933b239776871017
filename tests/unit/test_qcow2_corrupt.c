/* test_qcow2_corrupt.c — untrusted qcow2 images: copies of a good image
 * with header fields or table entries patched must be refused at open
 * with one line naming the file and the problem, or (for bad table
 * entries met later) fail the I/O with -EIO and refuse further writes;
 * never crash, never write into the image's own metadata. Also unsafe
 * features (dirty, corrupt, snapshots) open read-only only, missing and
 * looping backing files, autoclear bits cleared on a writable open, and
 * a writer killed mid-way leaving at worst leaked clusters. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <endian.h>
#include <cmocka.h>

#include "devices/block/disk.h"

struct ctx {
	char dir[64];
	char good[128];         /* v3, 4 KiB clusters, 8 MiB, data at 0 and 4 MiB */
	char work[128];
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
	uint8_t buf[65536];
	char err[256];
	struct disk *d;

	strcpy(c->dir, "/tmp/test_qcow2c.XXXXXX");
	if (!mkdtemp(c->dir))
		return -1;
	snprintf(c->good, sizeof(c->good), "%s/good.qcow2", c->dir);
	snprintf(c->work, sizeof(c->work), "%s/work.qcow2", c->dir);
	if (sh("qemu-img create -q -f qcow2 -o cluster_size=4096 '%s' 8M", c->good))
		return -1;
	d = disk__open(c->good, DISK_FORMAT_QCOW2, false, err, sizeof(err));
	if (!d)
		return -1;
	memset(buf, 0x5a, sizeof(buf));
	if (disk__pwrite(d, buf, sizeof(buf), 0) != sizeof(buf) ||
	    disk__pwrite(d, buf, sizeof(buf), 4 << 20) != sizeof(buf))
		return -1;
	disk__close(d);
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

/* A fresh copy of the good image to patch. */
static void copy_good(struct ctx *c)
{
	assert_int_equal(sh("cp '%s' '%s'", c->good, c->work), 0);
}

static void patch(const char *path, uint64_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void patch32(const char *path, uint64_t off, uint32_t v)
{
	v = htobe32(v);
	patch(path, off, &v, 4);
}

static void patch64(const char *path, uint64_t off, uint64_t v)
{
	v = htobe64(v);
	patch(path, off, &v, 8);
}

static uint64_t read64(const char *path, uint64_t off)
{
	uint64_t v = 0;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 8, (off_t)off), 8);
	close(fd);
	return be64toh(v);
}

/* Opening must fail with one line naming 'named' and containing 'what'. */
static void refused_as(const char *path, bool ro, const char *what, const char *named)
{
	char err[512] = "";
	struct disk *d = disk__open(path, DISK_FORMAT_AUTO, ro, err, sizeof(err));

	if (d) {
		disk__close(d);
		fail_msg("%s opened; expected \"%s\"", path, what);
	}
	if (!strstr(err, what) || !strstr(err, named))
		fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", err, what, named);
	assert_null(strchr(err, '\n'));
}

static void refused(const char *path, bool ro, const char *what)
{
	refused_as(path, ro, what, path);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	int fd = open(path, O_RDONLY);
	off_t end;
	uint8_t *p;

	assert_true(fd >= 0);
	end = lseek(fd, 0, SEEK_END);
	assert_true(end > 0);
	p = malloc((size_t)end);
	assert_non_null(p);
	assert_int_equal(pread(fd, p, (size_t)end, 0), end);
	close(fd);
	*n = (size_t)end;
	return p;
}

/* A writable open is refused for 'what', and the image is left as it was. */
static void refused_unchanged(struct ctx *c, const char *what)
{
	uint8_t *before, *after;
	size_t n1, n2;

	before = slurp(c->work, &n1);
	refused(c->work, false, what);
	after = slurp(c->work, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(after);
}

static struct disk *opens(const char *path, bool ro)
{
	char err[512] = "";
	struct disk *d = disk__open(path, DISK_FORMAT_AUTO, ro, err, sizeof(err));

	if (!d)
		fail_msg("open %s: %s", path, err);
	return d;
}

static void test_header_fields(void **state)
{
	struct ctx *c = *state;
	static const struct {
		uint64_t off;
		int width;
		uint64_t val;
		const char *what;
	} cases[] = {
		{ 40, 64, 0x7fff00000000ull, "L1 table offset" },      /* out of range */
		{ 40, 64, 0x30200, "L1 table offset" },                /* misaligned */
		{ 36, 32, 0x01000000, "L1 table too large" },          /* size lie */
		{ 36, 32, 1, "too small" },
		{ 48, 64, 0x100000000ull, "beyond the end" },
		{ 48, 64, 0x10200, "refcount table offset" },
		{ 56, 32, 0, "refcount table size" },
		{ 56, 32, 100000, "refcount table size" },
		{ 20, 32, 30, "cluster_bits" },
		{ 20, 32, 8, "cluster_bits" },
		{ 4, 32, 4, "version" },
		{ 0, 32, 0x514649fa, "bad magic" },
		{ 72, 64, 1ull << 10, "unknown incompatible" },
		{ 72, 64, 1ull << 2, "external data file" },
		{ 72, 64, 1ull << 4, "extended L2" },
		{ 72, 64, 1ull << 3, "compression type" },     /* bit without zstd */
		{ 32, 32, 1, "encrypted" },
		{ 32, 32, 2, "encrypted" },
		{ 100, 32, 7, "header length" },
		{ 100, 32, 1 << 20, "header length" },
		{ 96, 32, 7, "refcount_order" },
		{ 16, 32, 5000, "backing file name" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		copy_good(c);
		if (cases[i].off == 16)
			patch64(c->work, 8, 0x200);     /* a backing name, too long */
		if (cases[i].width == 64)
			patch64(c->work, cases[i].off, cases[i].val);
		else
			patch32(c->work, cases[i].off, (uint32_t)cases[i].val);
		/* disk__open would probe a bad magic as raw: force qcow2 */
		if (cases[i].off == 0) {
			char err[256] = "";

			assert_null(disk__open(c->work, DISK_FORMAT_QCOW2, true, err, sizeof(err)));
			assert_non_null(strstr(err, cases[i].what));
			continue;
		}
		refused(c->work, true, cases[i].what);
		refused(c->work, false, cases[i].what);
	}
}

static void test_truncated_and_extensions(void **state)
{
	struct ctx *c = *state;
	char err[256] = "";
	uint32_t ext[2] = { htobe32(0x6803f857), htobe32(100000) };

	copy_good(c);
	assert_int_equal(truncate(c->work, 50), 0);
	assert_null(disk__open(c->work, DISK_FORMAT_QCOW2, true, err, sizeof(err)));
	assert_non_null(strstr(err, "too short"));
	copy_good(c);
	assert_int_equal(truncate(c->work, 4096), 0);  /* tables gone */
	refused(c->work, true, "beyond the end");
	copy_good(c);
	patch(c->work, 112, ext, sizeof(ext));  /* extension longer than the cluster */
	refused(c->work, true, "header extension");
}

/* Dirty, corrupt and snapshotted images open read-only only. */
static void test_read_only_features(void **state)
{
	struct ctx *c = *state;
	static const struct {
		uint64_t bit;
		const char *what;
	} cases[] = {
		{ 1, "was not closed cleanly; run qemu-img check -r all" },
		{ 2, "marked corrupt" },
	};
	uint8_t buf[512];
	struct disk *d;

	for (size_t i = 0; i < 2; i++) {
		copy_good(c);
		patch64(c->work, 72, cases[i].bit);
		refused(c->work, false, cases[i].what);
		d = opens(c->work, true);
		assert_int_equal(disk__pread(d, buf, sizeof(buf), 0), sizeof(buf));
		assert_int_equal(buf[0], 0x5a);
		disk__close(d);
	}
	copy_good(c);
	assert_int_equal(sh("qemu-img snapshot -c snap1 '%s'", c->work), 0);
	refused(c->work, false, "snapshots");
	d = opens(c->work, true);
	assert_int_equal(disk__pread(d, buf, sizeof(buf), 4 << 20), sizeof(buf));
	assert_int_equal(buf[511], 0x5a);
	disk__close(d);
}

static void test_backing_problems(void **state)
{
	struct ctx *c = *state;
	char a[128], b[128];

	snprintf(a, sizeof(a), "%s/a.qcow2", c->dir);
	snprintf(b, sizeof(b), "%s/b.qcow2", c->dir);
	assert_int_equal(sh("cd '%s' && qemu-img create -q -f qcow2 -u -b gone.qcow2 -F qcow2 "
			    "a.qcow2 1M", c->dir), 0);
	refused(a, true, "backing file");
	refused(a, false, "gone.qcow2 not found");
	/* a -> b -> a */
	assert_int_equal(sh("cd '%s' && qemu-img create -q -f qcow2 -u -b b.qcow2 -F qcow2 "
			    "a.qcow2 1M && qemu-img create -q -f qcow2 -u -b a.qcow2 -F qcow2 "
			    "b.qcow2 1M", c->dir), 0);
	refused_as(a, true, "loop", c->dir);
	/* a backing file that is itself corrupt: refused, naming it */
	assert_int_equal(sh("cd '%s' && cp good.qcow2 bad.qcow2 && qemu-img create -q -f qcow2 "
			    "-u -b bad.qcow2 -F qcow2 a.qcow2 1M", c->dir), 0);
	snprintf(b, sizeof(b), "%s/bad.qcow2", c->dir);
	patch32(b, 20, 30);
	refused_as(a, true, "cluster_bits", b);
}

/* Bad table entries: a writable open refuses them (the image untouched);
 * read-only, the I/O that meets one fails with -EIO and nothing crashes. */
static void test_runtime_l1_l2(void **state)
{
	struct ctx *c = *state;
	uint8_t buf[4096];
	uint64_t l1off, l1e, l2off, rtoff;
	struct disk *d;

	copy_good(c);
	l1off = read64(c->work, 40);
	rtoff = read64(c->work, 48);
	l1e = read64(c->work, l1off);
	l2off = l1e & 0x00fffffffffffe00ull;
	assert_true(l2off != 0);

	/* misaligned L2 offset in L1[0]: a writable open is refused (the
	 * whole image is checked first); read-only, I/O there fails and
	 * reads elsewhere work */
	patch64(c->work, l1off, l1e + 512);
	refused_unchanged(c, "L1 entry 0 is invalid");
	d = opens(c->work, true);
	assert_int_equal(disk__pread(d, buf, sizeof(buf), 0), -EIO);
	assert_int_equal(disk__pread(d, buf, sizeof(buf), 4 << 20), sizeof(buf));
	assert_int_equal(buf[0], 0x5a);
	disk__close(d);

	/* L1 entry beyond the end of the file */
	copy_good(c);
	patch64(c->work, l1off, 0x8000000000000000ull | 0x40000000ull);
	refused_unchanged(c, "L1 entry 0 is invalid");
	d = opens(c->work, true);
	assert_int_equal(disk__pread(d, buf, sizeof(buf), 0), -EIO);
	disk__close(d);

	/* L2 entries: reserved bits, past the end, compressed garbage */
	static const uint64_t bad[] = {
		0x8000000000000000ull | 0x100000000ull,         /* past EOF */
		0x8000000000000000ull | 0x3000ull | 0x2,       /* reserved bit */
		0x8000000000000000ull | 0x3200ull,             /* misaligned */
		0x4000000000000000ull | 0x7fffffffull,         /* compressed, past EOF */
		0x4000000000000000ull | 0x40ull,               /* compressed in header */
		0xc000000000000000ull | 0x3000ull,             /* compressed + copied */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		copy_good(c);
		patch64(c->work, l2off, bad[i]);
		refused_unchanged(c, "L2 entry 0 of table 0 is invalid");
		d = opens(c->work, true);
		assert_int_equal(disk__pread(d, buf, sizeof(buf), 0), -EIO);
		assert_int_equal(disk__pread(d, buf, sizeof(buf), 4096), sizeof(buf));
		disk__close(d);
	}

	/* a data cluster aliasing the L1 or refcount table: a guest write
	 * there would rewrite the image's own tables, so no writable open */
	for (int k = 0; k < 2; k++) {
		uint64_t target = k ? rtoff : l1off & ~4095ull;

		copy_good(c);
		patch64(c->work, l2off, 0x8000000000000000ull | target);
		refused_unchanged(c, "is invalid");
	}

	/* two L2 entries sharing one cluster written in place, and a data
	 * cluster inside an L2 table: one write would change other data */
	copy_good(c);
	l1e = read64(c->work, l2off);
	assert_true(l1e & 0x8000000000000000ull);
	patch64(c->work, l2off + 8, l1e);
	refused_unchanged(c, "is used twice");
	copy_good(c);
	patch64(c->work, l2off + 8, 0x8000000000000000ull | l2off);
	refused_unchanged(c, "is used twice");
}

static void test_runtime_refcounts(void **state)
{
	struct ctx *c = *state;
	uint64_t rtoff, l1off, l2off, data, rboff;
	uint8_t buf[4096] = { 1 };
	struct disk *d;

	copy_good(c);
	rtoff = read64(c->work, 48);
	patch64(c->work, rtoff, read64(c->work, rtoff) + 0x200);   /* misaligned block */
	refused_unchanged(c, "refcount table entry 0 is invalid");
	d = opens(c->work, true);
	assert_int_equal(disk__pread(d, buf, sizeof(buf), 0), sizeof(buf)); /* reads fine */
	disk__close(d);

	copy_good(c);
	patch64(c->work, rtoff, 0x8000000000ull);                /* block past EOF */
	refused_unchanged(c, "refcount table entry 0 is invalid");

	/* a data cluster in use whose refcount is 0: the allocator would
	 * hand it out again and a later write would overwrite it */
	copy_good(c);
	l1off = read64(c->work, 40);
	l2off = read64(c->work, l1off) & 0x00fffffffffffe00ull;
	data = read64(c->work, l2off) & 0x00fffffffffffe00ull;
	rboff = read64(c->work, rtoff);
	assert_true(data != 0 && rboff != 0);
	/* 16-bit refcounts, 4 KiB clusters */
	patch(c->work, rboff + 2 * (data >> 12), "\0\0", 2);
	refused_unchanged(c, "refcount is 0");
	d = opens(c->work, true);
	assert_int_equal(disk__pread(d, buf, sizeof(buf), 0), sizeof(buf));
	disk__close(d);
}

static void test_compressed_garbage(void **state)
{
	struct ctx *c = *state;
	char raw[128];
	uint8_t buf[65536];
	uint64_t l1off, l2off, e, coff;
	struct disk *d;
	int fd;

	snprintf(raw, sizeof(raw), "%s/c.raw", c->dir);
	fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i % 7);
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	close(fd);
	assert_int_equal(sh("qemu-img convert -q -c -f raw -O qcow2 '%s' '%s'", raw, c->work), 0);
	l1off = read64(c->work, 40);
	l2off = read64(c->work, l1off) & 0x00fffffffffffe00ull;
	e = read64(c->work, l2off);
	assert_true(e & (1ull << 62));
	coff = e & ((1ull << 54) - 1);      /* 64 KiB clusters: 62 - 8 bits */
	memset(buf, 0xff, 64);
	patch(c->work, coff, buf, 64);
	d = opens(c->work, true);
	assert_int_equal(disk__pread(d, buf, 512, 0), -EIO);
	disk__close(d);
}

static void test_autoclear_cleared(void **state)
{
	struct ctx *c = *state;
	struct disk *d;

	copy_good(c);
	patch64(c->work, 88, 0x8000000000000001ull);
	d = opens(c->work, true);
	disk__close(d);
	assert_true(read64(c->work, 88) == 0x8000000000000001ull);     /* read-only: kept */
	d = opens(c->work, false);
	disk__close(d);
	assert_true(read64(c->work, 88) == 0);
	assert_int_equal(sh("qemu-img check -q '%s'", c->work), 0);
}

/* A process that dies without closing (metadata still dirty in memory,
 * refcount decrements still queued) leaves at worst leaked clusters:
 * qemu-img check finds no corruption (exit 0, or 3 for leaks only). */
static void test_crash_leaves_no_corruption(void **state)
{
	struct ctx *c = *state;
	static const int stops[] = { 7, 40, 133, 250 };

	for (size_t k = 0; k < sizeof(stops) / sizeof(stops[0]); k++) {
		pid_t pid;
		int st, rc;

		assert_int_equal(sh("qemu-img create -q -f qcow2 -o cluster_size=512 '%s' 16M",
				    c->work), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char err[256];
			uint8_t buf[65536];
			uint64_t seed = 77 + k;
			struct disk *d = disk__open(c->work, DISK_FORMAT_QCOW2, false, err,
						    sizeof(err));

			if (!d)
				_exit(9);
			for (int i = 0; i < stops[k]; i++) {
				uint64_t off, len;

				seed ^= seed << 13;
				seed ^= seed >> 7;
				seed ^= seed << 17;
				len = 512 + seed % (sizeof(buf) - 512);
				off = (seed >> 20) % ((16 << 20) - len);
				memset(buf, (int)i, sizeof(buf));
				if (i % 5 == 3)
					d->ops->discard(d, off & ~511ull, len & ~511ull);
				else if (i % 5 == 4)
					d->ops->write_zeroes(d, off, len, i & 1);
				else if (disk__pwrite(d, buf, len, off) != (ssize_t)len)
					_exit(8);
				if (i % 37 == 36)
					d->ops->flush(d);
			}
			_exit(0);       /* no close, no flush */
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		rc = sh("qemu-img check -q '%s' >/dev/null 2>&1", c->work);
		if (rc != 0 && rc != 3)
			fail_msg("after a crash at op %d qemu-img check exits %d", stops[k], rc);
		assert_int_equal(sh("qemu-img check -q -r leaks '%s' >/dev/null 2>&1", c->work), 0);
		assert_int_equal(sh("qemu-img check -q '%s'", c->work), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_truncated_and_extensions),
		cmocka_unit_test(test_read_only_features),
		cmocka_unit_test(test_backing_problems),
		cmocka_unit_test(test_runtime_l1_l2),
		cmocka_unit_test(test_runtime_refcounts),
		cmocka_unit_test(test_compressed_garbage),
		cmocka_unit_test(test_autoclear_cleared),
		cmocka_unit_test(test_crash_leaves_no_corruption),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
