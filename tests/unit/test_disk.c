/* test_disk.c — the disk layer itself: format probe, raw images, bounds,
 * read-only refusal, and the lock that keeps two writers off one image. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/block/disk.h"

static char path[64];

static int setup(void **state)
{
	char buf[8192];
	int fd;

	strcpy(path, "/tmp/vmm-test-disk.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)i;
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

static void test_raw_rw_and_bounds(void **state)
{
	char err[256], buf[512], back[512];
	struct disk *d = disk__open(path, DISK_FORMAT_AUTO, false, err, sizeof(err));

	assert_non_null(d);
	assert_string_equal(d->format, "raw");
	assert_int_equal(d->size, 8192);
	assert_int_equal(disk__pread(d, buf, 512, 512), 512);
	assert_int_equal((unsigned char)buf[0], 0);
	assert_int_equal((unsigned char)buf[1], 1);
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(disk__pwrite(d, buf, 512, 8192 - 512), 512);
	assert_int_equal(disk__pread(d, back, 512, 8192 - 512), 512);
	assert_memory_equal(buf, back, 512);
	/* past the end, straddling, and wrapping offsets are refused */
	assert_int_equal(disk__pread(d, buf, 512, 8192), -EINVAL);
	assert_int_equal(disk__pread(d, buf, 512, 8192 - 256), -EINVAL);
	assert_int_equal(disk__pwrite(d, buf, 512, UINT64_MAX - 100), -EINVAL);
	assert_int_equal(d->ops->flush(d), 0);
	assert_int_equal(d->ops->write_zeroes(d, 0, 512, false), 0);
	assert_int_equal(disk__pread(d, back, 512, 0), 512);
	for (int i = 0; i < 512; i++)
		assert_int_equal(back[i], 0);
	disk__close(d);
}

static void test_read_only(void **state)
{
	char err[256], buf[512] = { 0 };
	struct disk *d = disk__open(path, DISK_FORMAT_RAW, true, err, sizeof(err));

	assert_non_null(d);
	assert_true(d->read_only);
	assert_int_equal(disk__pwrite(d, buf, 512, 0), -EROFS);
	assert_int_equal(d->ops->discard(d, 0, 512), -EROFS);
	disk__close(d);
}

static void test_lock(void **state)
{
	char err[256];
	struct disk *w = disk__open(path, DISK_FORMAT_RAW, false, err, sizeof(err));
	struct disk *r1, *r2, *w2;

	assert_non_null(w);
	/* a second writer and a reader are both refused while one writes */
	w2 = disk__open(path, DISK_FORMAT_RAW, false, err, sizeof(err));
	assert_null(w2);
	assert_non_null(strstr(err, "is in use by another vmm"));
	r1 = disk__open(path, DISK_FORMAT_RAW, true, err, sizeof(err));
	assert_null(r1);
	disk__close(w);
	/* readers share */
	r1 = disk__open(path, DISK_FORMAT_RAW, true, err, sizeof(err));
	r2 = disk__open(path, DISK_FORMAT_RAW, true, err, sizeof(err));
	assert_non_null(r1);
	assert_non_null(r2);
	w2 = disk__open(path, DISK_FORMAT_RAW, false, err, sizeof(err));
	assert_null(w2);
	disk__close(r1);
	disk__close(r2);
}

static void test_open_errors(void **state)
{
	char err[256];

	assert_null(disk__open("/nonexistent/x.img", DISK_FORMAT_AUTO, false, err, sizeof(err)));
	assert_string_equal(err, "disk image /nonexistent/x.img not found");
	assert_null(disk__open("/tmp", DISK_FORMAT_RAW, true, err, sizeof(err)));
	assert_non_null(strstr(err, "/tmp"));
}

static void test_mem_disk(void **state)
{
	uint8_t *buf = calloc(1, 4096), out[16];
	struct disk *d;

	assert_non_null(buf);
	buf[100] = 7;
	d = disk__open_mem("seed", buf, 4096);
	assert_non_null(d);
	assert_int_equal(disk__pread(d, out, 16, 96), 16);
	assert_int_equal(out[4], 7);
	assert_int_equal(disk__pwrite(d, out, 16, 0), -EROFS);
	assert_int_equal(disk__pread(d, out, 16, 4090), -EINVAL);
	disk__close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_raw_rw_and_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_mem_disk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
