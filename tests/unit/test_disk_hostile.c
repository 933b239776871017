/* test_disk_hostile.c — images that attack the host, at the disk layer:
 *
 *   a guest writing a qcow2 header (backing file: a host secret) to
 *   sector 0 of its raw disk, through the path virtio-blk uses
 *   (disk->ops->pwritev): refused with -EPERM and one line when the
 *   format was probed, so the next start probes raw again and never
 *   reads the secret; allowed with format=raw. A control first shows the
 *   header is a working attack: written (format=raw), then probed, the
 *   disk does serve the secret.
 *
 *   a qcow2 naming a FIFO, a character device, a block device, a
 *   directory or a missing file as backing file: refused with one line,
 *   never blocking (an alarm fails the test instead of hanging); a name
 *   with a terminal escape is shown with '?'; backing=off refuses any
 *   backing file; the chain is described in one line.
 *
 * Images are built with qemu-img in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/block/disk.h"
#include "vmm/log.h"

#define DISK_BYTES (4u << 20)
#define EVIL_MAX   (1u << 20)

static char dir[64];
static char secret[96];         /* what the secret file holds */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n, r;

	n = snprintf(cmd, sizeof(cmd), "cd '%s' && ( ", dir);
	va_start(ap, fmt);
	n += vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, " ) >/dev/null 2>&1");
	r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static const char *at(const char *rel)
{
	static char p[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, rel);
	return p[k];
}

static int setup(void **state)
{
	FILE *f;

	strcpy(dir, "/tmp/vmm-hostile.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(secret, sizeof(secret), "VMM-TEST-SECRET-%d-%ld", (int)getpid(), (long)random());
	f = fopen(at("secret"), "w");
	if (!f)
		return -1;
	/* like /etc/shadow: a few KiB of lines, one of them the secret */
	for (int i = 0; i < 64; i++) {
		if (i == 20)
			fprintf(f, "root:%s:19000:0:99999:7:::\n", secret);
		else
			fprintf(f, "user%02d:*:19000:0:99999:7:::\n", i);
	}
	fclose(f);
	chmod(at("secret"), 0600);
	/* the guest's raw disk (zeroes) and the attack: a qcow2 image whose
	 * backing file is the secret, by its absolute name */
	if (sh("truncate -s %u guest.raw && qemu-img create -q -f qcow2 -b '%s' -F raw "
	       "evil.qcow2 1M", DISK_BYTES, at("secret")) != 0)
		return -1;
	log__verbosity = LOG_INFO;
	return 0;
}

static int teardown(void **state)
{
	sh("cd / && rm -rf '%s'", dir);
	return 0;
}

/* ---- stderr capture (the disk layer's log lines) ---- */

static int saved_stderr = -1;
static FILE *captured;

static void capture(void)
{
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	captured = tmpfile();
	assert_non_null(captured);
	assert_true(dup2(fileno(captured), STDERR_FILENO) == STDERR_FILENO);
}

/* Put stderr back; returns the lines logged meanwhile (static buffer). */
static const char *captured_text(void)
{
	static char out[4096];
	size_t n;

	assert_true(dup2(saved_stderr, STDERR_FILENO) == STDERR_FILENO);
	close(saved_stderr);
	rewind(captured);
	n = fread(out, 1, sizeof(out) - 1, captured);
	out[n] = '\0';
	fclose(captured);
	return out;
}

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- the guest's side ---- */

/* The attack as bytes: evil.qcow2, padded to whole sectors. */
static uint8_t *evil(size_t *len)
{
	uint8_t *b = calloc(1, EVIL_MAX);
	int fd = open(at("evil.qcow2"), O_RDONLY);
	ssize_t n;

	assert_non_null(b);
	assert_true(fd >= 0);
	n = read(fd, b, EVIL_MAX);
	close(fd);
	assert_true(n > 512 && n < (ssize_t)EVIL_MAX);
	*len = ((size_t)n + 511) & ~(size_t)511;
	return b;
}

/* A guest write as virtio-blk issues it: the disk's pwritev op, two
 * iovecs (guest buffers are rarely one piece). */
static ssize_t guest_write(struct disk *d, const uint8_t *buf, size_t len, uint64_t off)
{
	struct iovec iov[2] = {
		{ (void *)buf, len / 2 }, { (void *)(buf + len / 2), len - len / 2 },
	};

	return d->ops->pwritev(d, iov, 2, off);
}

static struct disk *open_as(const char *rel, enum disk_format fmt, bool ro)
{
	char err[512];
	struct disk *d = disk__open(at(rel), fmt, ro, err, sizeof(err));

	if (!d)
		fail_msg("%s", err);
	return d;
}

/* Does any byte range of the virtual disk hold the secret? */
static bool disk_serves_secret(struct disk *d)
{
	uint8_t *buf = malloc(d->size);
	bool found;

	assert_non_null(buf);
	assert_int_equal(disk__pread(d, buf, d->size, 0), (ssize_t)d->size);
	found = memmem(buf, d->size, secret, strlen(secret)) != NULL;
	free(buf);
	return found;
}

/* The control: the header is a real attack. Written with format=raw (the
 * user said raw: the guest may write anything), a later start without
 * format= probes it as qcow2 and the guest reads the secret. */
static void test_attack_works_unguarded(void **state)
{
	size_t len;
	uint8_t *b = evil(&len);
	struct disk *d;

	assert_int_equal(sh("cp guest.raw victim.raw"), 0);
	d = open_as("victim.raw", DISK_FORMAT_RAW, false);
	assert_int_equal(guest_write(d, b, len, 0), (ssize_t)len);
	disk__close(d);
	d = open_as("victim.raw", DISK_FORMAT_AUTO, true);
	assert_string_equal(d->format, "qcow2");
	assert_non_null(d->backing);
	assert_true(disk_serves_secret(d));
	disk__close(d);
	free(b);
}

/* The fix: probed raw, the same write is refused; so is sector 0 alone
 * after the rest went in. One line says why; the next start probes raw
 * and the secret never reaches the guest. */
static void test_probed_raw_refuses_header(void **state)
{
	size_t len;
	uint8_t *b = evil(&len);
	const char *log;
	struct disk *d;
	ssize_t r[6];

	d = open_as("guest.raw", DISK_FORMAT_AUTO, false);
	assert_string_equal(d->format, "raw");
	assert_true(d->probed);
	memset(b + len, 0x55, 512);             /* a harmless sector, after the attack */
	capture();      /* assertions only after captured_text(): cmocka reports on stderr */
	r[0] = guest_write(d, b, len, 0);
	r[1] = guest_write(d, b + 512, len - 512, 512);
	r[2] = guest_write(d, b, 512, 0);
	r[3] = disk__pwrite(d, b, 4, 0);        /* unaligned: the magic alone */
	r[4] = guest_write(d, b + len, 512, 0);  /* sector 0 may change and stay raw */
	r[5] = d->ops->write_zeroes(d, 0, 4096, false);
	log = captured_text();
	assert_int_equal(r[0], -EPERM);
	assert_int_equal(r[1], (ssize_t)(len - 512));
	assert_int_equal(r[2], -EPERM);
	assert_int_equal(r[3], -EPERM);
	assert_int_equal(r[4], 512);
	assert_int_equal(r[5], 0);
	assert_int_equal(d->refused_writes, 3);         /* `vmm stat` counts each */
	assert_int_equal(lines(log), 1);
	assert_non_null(strstr(log, "guest.raw: guest write to sector 0 refused"));
	assert_non_null(strstr(log, "format=raw"));
	disk__close(d);

	d = open_as("guest.raw", DISK_FORMAT_AUTO, false);
	assert_string_equal(d->format, "raw");
	assert_null(d->backing);
	assert_false(disk_serves_secret(d));
	disk__close(d);
	free(b);
}

/* format=raw: the user vouches for the image, the guest owns every byte. */
static void test_explicit_raw_allows_header(void **state)
{
	size_t len;
	uint8_t *b = evil(&len), back[512];
	const char *log;
	struct disk *d;
	ssize_t r;

	d = open_as("guest.raw", DISK_FORMAT_RAW, false);
	assert_false(d->probed);
	capture();
	r = guest_write(d, b, len, 0);
	log = captured_text();
	assert_int_equal(r, (ssize_t)len);
	assert_string_equal(log, "");
	assert_int_equal(disk__pread(d, back, 512, 0), 512);
	assert_memory_equal(back, b, 512);
	assert_false(disk_serves_secret(d));
	disk__close(d);
	free(b);
}

/* ---- backing files ---- */

/* An overlay of 1 MiB naming 'backing' (not opened by qemu-img). */
static void overlay(const char *name, const char *backing)
{
	assert_int_equal(sh("qemu-img create -q -f qcow2 -u -b '%s' -F raw '%s' 1M", backing, name),
			 0);
}

/* Refused at once, read-only and read-write, with one line naming it. */
static void refused(const char *name, const char *want)
{
	for (int ro = 0; ro < 2; ro++) {
		char err[512] = "";
		struct disk *d;

		alarm(20);      /* a blocking open ends the test program here */
		d = disk__open(at(name), DISK_FORMAT_AUTO, ro, err, sizeof(err));
		alarm(0);
		if (d)
			fail_msg("%s opened (ro=%d)", name, ro);
		if (!strstr(err, want))
			fail_msg("%s: '%s' does not say '%s'", name, err, want);
		assert_null(strchr(err, '\n'));
	}
}

static void test_backing_not_a_file(void **state)
{
	assert_int_equal(mkfifo(at("fifo"), 0600), 0);
	overlay("o-fifo.qcow2", "fifo");
	refused("o-fifo.qcow2", "/fifo is a FIFO; only regular files are followed");

	overlay("o-null.qcow2", "/dev/null");
	refused("o-null.qcow2", "/dev/null is a character device");
	if (mknod(at("chr"), S_IFCHR | 0600, makedev(1, 3)) == 0) {
		overlay("o-chr.qcow2", "chr");
		refused("o-chr.qcow2", "/chr is a character device");
	}
	if (mknod(at("blk"), S_IFBLK | 0600, makedev(7, 0)) == 0) {
		overlay("o-blk.qcow2", "blk");
		refused("o-blk.qcow2", "/blk is a block device");
	} else {
		print_message("block device case skipped: mknod: %s\n", strerror(errno));
	}
	assert_int_equal(mkdir(at("sub"), 0700), 0);
	overlay("o-dir.qcow2", "sub");
	refused("o-dir.qcow2", "/sub is a directory");
	overlay("o-gone.qcow2", "gone.raw");
	refused("o-gone.qcow2", "/gone.raw not found");
	/* a name with a terminal escape in it is not replayed to the terminal */
	overlay("o-esc.qcow2", "\033[2Jgone");
	refused("o-esc.qcow2", "?[2Jgone not found");
	/* a symbolic link to a regular file is a regular file */
	assert_int_equal(sh("truncate -s 1M base.raw && ln -s base.raw link.raw"), 0);
	overlay("o-link.qcow2", "link.raw");
	disk__close(open_as("o-link.qcow2", DISK_FORMAT_AUTO, false));
}

static void test_backing_off(void **state)
{
	struct disk_open_opts o = { .no_backing = true };
	char err[512];
	struct disk *d;

	assert_int_equal(sh("truncate -s 1M base.raw && qemu-img create -q -f qcow2 alone.qcow2 1M"),
			 0);
	overlay("top.qcow2", "base.raw");
	assert_null(disk__open_opts(at("top.qcow2"), &o, err, sizeof(err)));
	assert_non_null(strstr(err, "top.qcow2: names a backing file (base.raw), and backing=off"));
	o.read_only = true;
	assert_null(disk__open_opts(at("top.qcow2"), &o, err, sizeof(err)));
	d = disk__open_opts(at("alone.qcow2"), &o, err, sizeof(err));
	assert_non_null(d);
	disk__close(d);
	/* the evil image too: backing=off is the answer for untrusted ones */
	assert_null(disk__open_opts(at("evil.qcow2"), &o, err, sizeof(err)));
	assert_non_null(strstr(err, "backing=off"));
}

static void test_chain_described(void **state)
{
	char line[1024], want[1024];
	struct disk *d;

	assert_int_equal(sh("qemu-img create -q -f qcow2 base.qcow2 1M && "
			    "qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 && "
			    "truncate -s 1M plain.raw && "
			    "qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2"), 0);
	d = open_as("top.qcow2", DISK_FORMAT_AUTO, false);
	disk__describe(d, line, sizeof(line));
	snprintf(want, sizeof(want), "%s (qcow2, probed) -> %s (qcow2) -> %s (qcow2)",
		 at("top.qcow2"), at("mid.qcow2"), at("base.qcow2"));
	assert_string_equal(line, want);
	disk__close(d);
	d = open_as("plain.raw", DISK_FORMAT_RAW, true);
	disk__describe(d, line, sizeof(line));
	snprintf(want, sizeof(want), "%s (raw, read-only)", at("plain.raw"));
	assert_string_equal(line, want);
	/* a short buffer is cut, never overrun */
	disk__describe(d, line, 8);
	assert_int_equal(strlen(line), 7);
	disk__close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attack_works_unguarded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probed_raw_refuses_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_raw_allows_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backing_not_a_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backing_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_described, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
