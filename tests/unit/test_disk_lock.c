/* test_disk_lock.c — vmm and QEMU see each other's use of an image:
 * qemu-io and qemu-img (the installed qemu-utils) cannot write an image
 * vmm holds writable, nor the backing file under a vmm overlay; vmm
 * refuses an image a qemu-io holds open for writing (one line); readers
 * on both sides share; vmm against vmm keeps its own message. Skipped
 * when qemu-io is not installed. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/block/disk.h"
#include "devices/block/disk_lock.h"

static char dir[64];
static char out[8192];          /* the last qemu command's output */

static const char *at(const char *rel)
{
	static char p[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, rel);
	return p[k];
}

/* Run a shell command in dir; its output in out; the exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	FILE *p;
	size_t n;
	int r, len;

	len = snprintf(cmd, sizeof(cmd), "cd '%s' && ( ", dir);
	va_start(ap, fmt);
	len += vsnprintf(cmd + len, sizeof(cmd) - (size_t)len, fmt, ap);
	va_end(ap);
	snprintf(cmd + len, sizeof(cmd) - (size_t)len, " ) 2>&1");
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	r = pclose(p);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static int setup(void **state)
{
	if (system("command -v qemu-io >/dev/null && command -v qemu-img >/dev/null") != 0)
		return 0;       /* each test skips */
	strcpy(dir, "/tmp/vmm-lock.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return sh("truncate -s 1M disk.raw && qemu-img create -q -f qcow2 base.qcow2 1M && "
		  "qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2") ? -1 : 0;
}

static int teardown(void **state)
{
	if (dir[0])
		sh("cd / && rm -rf '%s'", dir);
	dir[0] = '\0';
	return 0;
}

#define NEED_QEMU() do { if (!dir[0]) skip(); } while (0)

static struct disk *open_ok(const char *rel, bool ro)
{
	char err[512];
	struct disk *d = disk__open(at(rel), DISK_FORMAT_AUTO, ro, err, sizeof(err));

	if (!d)
		fail_msg("%s", err);
	return d;
}

/* A qemu-io write of the first sector; 0 if it worked. */
static int qemu_write(const char *fmt, const char *rel)
{
	return sh("qemu-io -f %s -c 'write -P 0x77 0 512' '%s'", fmt, rel);
}

/* vmm holds the image writable: qemu-io cannot write it (vmm does not
 * share "write"); nor qemu-img info a qcow2 (it reads metadata, which
 * needs the writers gone; -U reads anyway). */
static void test_qemu_cannot_write_vmm_image(void **state)
{
	struct disk *d;

	NEED_QEMU();
	d = open_ok("disk.raw", false);
	assert_int_not_equal(qemu_write("raw", "disk.raw"), 0);
	assert_non_null(strstr(out, "lock"));
	/* a qcow2 overlay: the overlay and its backing file both */
	disk__close(d);
	d = open_ok("top.qcow2", false);
	assert_int_not_equal(qemu_write("qcow2", "top.qcow2"), 0);
	assert_non_null(strstr(out, "lock"));
	assert_int_not_equal(sh("qemu-img info top.qcow2"), 0);
	assert_non_null(strstr(out, "lock"));
	assert_int_equal(sh("qemu-img info -U top.qcow2"), 0);
	assert_int_not_equal(qemu_write("qcow2", "base.qcow2"), 0);
	assert_non_null(strstr(out, "lock"));
	/* the backing file is shared for reading */
	assert_int_equal(sh("qemu-io -r -f qcow2 -c 'read 0 512' base.qcow2"), 0);
	disk__close(d);
	/* and with vmm gone, qemu-io writes */
	assert_int_equal(qemu_write("raw", "disk.raw"), 0);
}

/* vmm reads an image: qemu-io may read it too, not write it. */
static void test_readers_share(void **state)
{
	struct disk *r1, *r2;

	NEED_QEMU();
	r1 = open_ok("disk.raw", true);
	r2 = open_ok("disk.raw", true);
	assert_int_equal(sh("qemu-io -r -f raw -c 'read 0 512' disk.raw"), 0);
	assert_int_not_equal(qemu_write("raw", "disk.raw"), 0);
	disk__close(r1);
	disk__close(r2);
}

/* Does another process hold QEMU's lock byte 'b' of the file? */
static bool byte_locked(const char *rel, int b)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = b, .l_len = 1 };
	int fd = open(at(rel), O_RDONLY | O_CLOEXEC);
	int r;

	assert_true(fd >= 0);
	r = fcntl(fd, F_OFD_GETLK, &fl);
	close(fd);
	assert_int_equal(r, 0);
	return fl.l_type != F_UNLCK;
}

/* qemu-io in the background, holding 'rel' (read-write unless ro) until
 * killed; returns its pid once its locks are on the file. */
static pid_t qemu_io_holding(const char *fmt, const char *rel, bool ro)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (ro)
			execlp("qemu-io", "qemu-io", "-r", "-f", fmt, "-c", "sleep 60000", at(rel),
			       (char *)NULL);
		else
			execlp("qemu-io", "qemu-io", "-f", fmt, "-c", "sleep 60000", at(rel),
			       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000 && !byte_locked(rel, DISK_LOCK_PERM_BASE); i++)
		usleep(10000);
	assert_true(byte_locked(rel, DISK_LOCK_PERM_BASE));
	return pid;
}

static void end(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* qemu-io writes an image: vmm refuses it for writing and for reading,
 * one line each; once qemu-io is gone vmm opens it. */
static void test_vmm_refuses_qemu_writer(void **state)
{
	char err[512];
	struct disk *d;
	pid_t pid;

	NEED_QEMU();
	pid = qemu_io_holding("raw", "disk.raw", false);
	assert_true(byte_locked("disk.raw", DISK_LOCK_PERM_BASE + 1));    /* "write" */
	d = disk__open(at("disk.raw"), DISK_FORMAT_RAW, false, err, sizeof(err));
	if (d)
		disk__close(d);
	assert_null(d);
	assert_non_null(strstr(err, "disk.raw is in use by another program"));
	assert_null(strchr(err, '\n'));
	d = disk__open(at("disk.raw"), DISK_FORMAT_RAW, true, err, sizeof(err));
	if (d)
		disk__close(d);
	assert_null(d);
	assert_non_null(strstr(err, "holds its \"write\" permission"));
	/* an overlay over a base that qemu-io writes: the base is named */
	end(pid);
	pid = qemu_io_holding("qcow2", "base.qcow2", false);
	d = disk__open(at("top.qcow2"), DISK_FORMAT_AUTO, false, err, sizeof(err));
	if (d)
		disk__close(d);
	assert_null(d);
	assert_non_null(strstr(err, "base.qcow2 is in use by another program"));
	end(pid);
	disk__close(open_ok("disk.raw", false));
}

/* qemu-io reads a qcow2 (which, as metadata, it will not see written):
 * vmm may read it, and use it as a backing file, not write it. */
static void test_vmm_and_qemu_reader(void **state)
{
	char err[512];
	struct disk *d;
	pid_t pid;

	NEED_QEMU();
	pid = qemu_io_holding("qcow2", "base.qcow2", true);
	d = disk__open(at("base.qcow2"), DISK_FORMAT_AUTO, false, err, sizeof(err));
	if (d)
		disk__close(d);
	assert_null(d);
	assert_non_null(strstr(err, "does not share its \"write\" permission"));
	disk__close(open_ok("base.qcow2", true));
	disk__close(open_ok("top.qcow2", false));
	end(pid);
}

/* The bytes vmm holds, as QEMU reads them: a writer holds every
 * permission and shares neither write nor resize; a reader holds
 * consistent read only. */
static void test_lock_bytes(void **state)
{
	struct disk *d;

	NEED_QEMU();
	d = open_ok("disk.raw", false);
	for (int i = 0; i < 4; i++)
		assert_true(byte_locked("disk.raw", DISK_LOCK_PERM_BASE + i));
	assert_false(byte_locked("disk.raw", DISK_LOCK_SHARED_BASE + 0));
	assert_true(byte_locked("disk.raw", DISK_LOCK_SHARED_BASE + 1));
	assert_false(byte_locked("disk.raw", DISK_LOCK_SHARED_BASE + 2));
	assert_true(byte_locked("disk.raw", DISK_LOCK_SHARED_BASE + 3));
	disk__close(d);
	d = open_ok("disk.raw", true);
	assert_true(byte_locked("disk.raw", DISK_LOCK_PERM_BASE + 0));
	assert_false(byte_locked("disk.raw", DISK_LOCK_PERM_BASE + 1));
	assert_true(byte_locked("disk.raw", DISK_LOCK_SHARED_BASE + 1));
	disk__close(d);
	for (int i = 0; i < 4; i++)
		assert_false(byte_locked("disk.raw", DISK_LOCK_PERM_BASE + i));
}

/* vmm against vmm: a backing file is read, so a second vmm may read it
 * (another overlay on the same base) but not write it. */
static void test_backing_shared_with_vmm(void **state)
{
	struct disk *top, *other;
	char err[512];

	NEED_QEMU();
	top = open_ok("top.qcow2", false);
	assert_null(disk__open(at("base.qcow2"), DISK_FORMAT_AUTO, false, err, sizeof(err)));
	assert_non_null(strstr(err, "base.qcow2 is in use by another vmm"));
	other = open_ok("base.qcow2", true);
	disk__close(other);
	disk__close(top);
	disk__close(open_ok("base.qcow2", false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qemu_cannot_write_vmm_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readers_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_refuses_qemu_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_and_qemu_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backing_shared_with_vmm, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
