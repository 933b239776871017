/* imgtest.h — helpers for unit tests that build disk images with real
 * tools (sfdisk, mke2fs -d, mkfs.vfat, mkfs.btrfs) in a temporary
 * directory: shell commands there, files and pseudo-random blobs, and
 * checks of what a memfd holds. Included by one test program each (the
 * functions are static). setup/teardown make and remove the directory. */
#ifndef TESTS_UNIT_IMGTEST_H
#define TESTS_UNIT_IMGTEST_H

#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/block/disk.h"

static char tmpdir[64];
static char err[1024];

/* ---- helpers ------------------------------------------------------ */

__attribute__((unused)) static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((unused)) static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n, rc;

	n = snprintf(cmd, sizeof(cmd), "PATH=\"$PATH:/usr/sbin:/sbin\"; cd '%s' && ( ", tmpdir);
	va_start(ap, fmt);
	n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, " ) >/dev/null 2>sh.err");
	rc = system(cmd);
	if (rc != 0) {
		char path[128], msg[1024] = "";
		FILE *f;

		snprintf(path, sizeof(path), "%s/sh.err", tmpdir);
		f = fopen(path, "r");
		if (f) {
			msg[fread(msg, 1, sizeof(msg) - 1, f)] = '\0';
			fclose(f);
		}
		fail_msg("command failed (%d): %s: %s", rc, cmd, msg);
	}
}

__attribute__((unused)) static const char *img_path(const char *rel)
{
	static char path[640];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	return path;
}

__attribute__((unused)) static struct disk *open_fmt(const char *rel, enum disk_format fmt)
{
	struct disk *d = disk__open(img_path(rel), fmt, true, err, sizeof(err));

	if (!d)
		fail_msg("%s", err);
	return d;
}

__attribute__((unused)) static struct disk *open_img(const char *rel)
{
	return open_fmt(rel, DISK_FORMAT_RAW);
}

/* Write 'len' bytes (a text when len is 0) to tmpdir/rel, creating dirs. */
__attribute__((unused)) static void put_file(const char *rel, const void *data, size_t len)
{
	FILE *f;

	if (strrchr(rel, '/'))
		sh("mkdir -p '%.*s'", (int)(strrchr(rel, '/') - rel), rel);
	f = fopen(img_path(rel), "wb");
	assert_non_null(f);
	if (!len)
		len = strlen(data);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A pseudo-random "kernel" of n bytes, different per seed. */
__attribute__((unused)) static uint8_t *blob(size_t n, unsigned seed)
{
	uint8_t *b = malloc(n);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
	return b;
}

__attribute__((unused)) static void put_blob(const char *rel, size_t n, unsigned seed)
{
	uint8_t *b = blob(n, seed);

	put_file(rel, b, n);
	free(b);
}

/* Bytes [off, off+n) of fd are blob(n, seed). */
__attribute__((unused)) static void assert_blob_at(int fd, off_t off, size_t n, unsigned seed)
{
	uint8_t *want = blob(n, seed), *buf = malloc(n);

	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, n, off), (ssize_t)n);
	assert_memory_equal(buf, want, n);
	free(want);
	free(buf);
}

/* fd holds exactly blob(n, seed). */
__attribute__((unused)) static void assert_fd_holds_blob(int fd, size_t n, unsigned seed)
{
	struct stat st;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, n);
	assert_blob_at(fd, 0, n, seed);
}

__attribute__((unused)) static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

__attribute__((unused)) static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vmm-imgtest-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

__attribute__((unused)) static int teardown(void **state)
{
	return nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A 1024-byte grubenv block with the given key=value lines. */
__attribute__((unused)) static void put_grubenv(const char *rel, const char *lines)
{
	char block[1024];
	int n = snprintf(block, sizeof(block), "# GRUB Environment Block\n%s", lines);

	assert_true(n > 0 && n < (int)sizeof(block));
	memset(block + n, '#', sizeof(block) - (size_t)n);
	put_file(rel, block, sizeof(block));
}


#endif
