/* test_parse_child.c — the boot-entry parser in a child without
 * privileges (vmm/parse_child.c): on real images (an ext4 MBR disk read
 * through a qcow2 overlay opened read-write, and the all-btrfs Fedora 44
 * layout) it finds exactly what diskboot__find finds in-process, filter
 * on, as nobody; its own errors come back as one line; a child that
 * hangs is stopped at the time limit, one that crashes or makes a
 * forbidden call is one line; what it sends is checked (an fd that is not
 * a sealed memfd, a kernel over the RAM cap); and the disks it holds are
 * read-only. */
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/block/disk.h"
#include "vmm/boot/diskboot.h"
#include "vmm/parse_child.h"
#include "vmm/privs.h"
#include "vmm/seccomp.h"
#include "vmm/util.h"
#include "tests/unit/imgtest.h"

#define MID "7d2c9a4e5b6f4a1c8e3d2b1a0f9e8d7c"
#define F44_KVER "6.17.4-300.fc44.x86_64"

/* The options vmm uses as root: filter on, nobody. */
static struct parse_child_opts opts(void)
{
	struct parse_child_opts o = { .seccomp = true };

	o.switch_ids = privs__parser_ids(NULL, &o.uid, &o.gid);
	return o;
}

/* An MBR disk with one ext4 partition holding /boot and BLS. */
static void make_ext4(void)
{
	sh("rm -rf e4 && mkdir -p e4/boot/loader/entries");
	put_file("e4/boot/loader/entries/" MID "-6.1.0-9.fc40.x86_64.conf",
		 "title Fedora Linux (6.1.0-9.fc40.x86_64) 40\n"
		 "version 6.1.0-9.fc40.x86_64\n"
		 "linux /boot/vmlinuz-6.1.0-9.fc40.x86_64\n"
		 "initrd /boot/initramfs-6.1.0-9.fc40.x86_64.img\n"
		 "options $kernelopts quiet\n", 0);
	put_blob("e4/boot/vmlinuz-6.1.0-9.fc40.x86_64", 300001, 21);
	put_blob("e4/boot/initramfs-6.1.0-9.fc40.x86_64.img", 90003, 22);
	put_grubenv("e4/boot/grub2/grubenv", "kernelopts=root=LABEL=root ro\n");
	sh("rm -f e4.img && truncate -s 40M e4.img && printf 'label: dos\\nstart=2048, type=83\\n' | sfdisk -q e4.img");
	sh("mke2fs -q -F -t ext4 -d e4 -L root e4-part.img 32M");
	sh("dd if=e4-part.img of=e4.img bs=1M seek=1 conv=notrunc,sparse status=none");
	sh("rm -f e4.qcow2 && qemu-img create -q -f qcow2 -b e4.img -F raw e4.qcow2");
}

/* Fedora 44+: GPT, one btrfs, flat subvolumes, zstd, BLS in "boot". */
static void make_f44(void)
{
	sh("rm -rf f44 && mkdir -p f44/root/etc f44/boot/loader/entries");
	put_file("f44/root/etc/hostname", "f44\n", 0);
	put_file("f44/boot/loader/entries/0123abcd-" F44_KVER ".conf",
		 "title Fedora Linux (" F44_KVER ") 44 (Cloud Edition)\n"
		 "version " F44_KVER "\n"
		 "linux /boot/vmlinuz-" F44_KVER "\n"
		 "initrd /boot/initramfs-" F44_KVER ".img\n"
		 "options root=LABEL=fedora ro rootflags=subvol=root\n", 0);
	put_blob("f44/boot/vmlinuz-" F44_KVER, 700000, 41);
	sh("yes 'initramfs text that compresses well' | head -c 3000000 > f44/boot/initramfs-" F44_KVER ".img");
	sh("rm -f f44.btrfs && truncate -s 160M f44.btrfs && mkfs.btrfs -q -L fedora "
	   "--rootdir f44 --subvol rw:root --subvol rw:boot --compress zstd:1 -f f44.btrfs");
	sh("rm -f f44.img && truncate -s 192M f44.img && printf '%%s\\n' 'label: gpt' "
	   "'start=2048, size=4096, type=21686148-6449-6E6F-744E-656564454649' "
	   "'start=6144, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' | sfdisk -q f44.img");
	sh("dd if=f44.btrfs of=f44.img bs=512 seek=6144 conv=notrunc,sparse status=none");
}

static void assert_same_content(int a, int b)
{
	off_t la = lseek(a, 0, SEEK_END), lb = lseek(b, 0, SEEK_END);
	uint8_t *x, *y;

	assert_true(la > 0);
	assert_int_equal(la, lb);
	x = malloc((size_t)la);
	y = malloc((size_t)la);
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(pread(a, x, (size_t)la, 0), la);
	assert_int_equal(pread(b, y, (size_t)la, 0), la);
	assert_memory_equal(x, y, (size_t)la);
	free(x);
	free(y);
}

/* The child's answer and the in-process one agree, seals included. */
static void assert_same_as_in_process(struct disk *d)
{
	struct parse_child_opts o = opts();
	struct diskboot in, out;
	int seals;

	if (diskboot__find(d, &in, err, sizeof(err)) < 0)
		fail_msg("in-process: %s", err);
	if (parse_child__find(d, &out, &o, err, sizeof(err)) < 0)
		fail_msg("child: %s", err);
	assert_string_equal(out.description, in.description);
	assert_string_equal(out.cmdline, in.cmdline);
	assert_same_content(out.kernel_fd, in.kernel_fd);
	assert_true(out.initrd_fd >= 0);
	assert_same_content(out.initrd_fd, in.initrd_fd);
	seals = fcntl(out.kernel_fd, F_GET_SEALS);
	assert_int_equal(seals & F_SEAL_WRITE, F_SEAL_WRITE);
	assert_true(fcntl(out.kernel_fd, F_GETFD) & FD_CLOEXEC);
	diskboot__free(&in);
	diskboot__free(&out);
}

static void test_ext4_through_qcow2(void **state)
{
	struct disk_open_opts oo = { 0 };
	struct disk *d;

	make_ext4();
	/* Read-write, as vmm opens a guest's disk. */
	d = disk__open_opts(img_path("e4.qcow2"), &oo, err, sizeof(err));
	if (!d)
		fail_msg("%s", err);
	assert_same_as_in_process(d);
	disk__close(d);
}

static void test_btrfs_f44(void **state)
{
	struct disk *d;

	make_f44();
	d = open_img("f44.img");
	assert_same_as_in_process(d);
	disk__close(d);
}

/* The parser's own failure comes back as the same one line. */
static void test_error_is_the_parsers(void **state)
{
	struct parse_child_opts o = opts();
	char in_err[1024];
	struct diskboot b;
	struct disk *d;

	sh("rm -f blank.img && truncate -s 8M blank.img && printf 'label: dos\\nstart=2048, type=83\\n' | sfdisk -q blank.img");
	d = open_img("blank.img");
	assert_int_equal(diskboot__find(d, &b, in_err, sizeof(in_err)), -1);
	assert_int_equal(parse_child__find(d, &b, &o, err, sizeof(err)), -1);
	assert_string_equal(err, in_err);
	assert_int_equal(b.kernel_fd, -1);
	disk__close(d);
}

/* ---- hostile children ---- */

static int spin(struct disk *d, struct diskboot *out, char *e, size_t elen)
{
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}

static void test_hang_is_stopped(void **state)
{
	struct parse_child_opts o = opts();
	struct diskboot b;
	struct disk *d;
	uint64_t t0 = util__now_ns();

	make_ext4();
	d = open_img("e4.img");
	o.find = spin;
	o.timeout_ms = 300;
	assert_int_equal(parse_child__find(d, &b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "finding the boot entry took longer than 1 s: stopped"));
	assert_null(strchr(err, '\n'));
	assert_true(util__now_ns() - t0 < 5000000000ULL);
	/* reaped: no child of ours is left */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	disk__close(d);
}

static int crash(struct disk *d, struct diskboot *out, char *e, size_t elen)
{
	abort();
}

static void test_crash_is_one_line(void **state)
{
	struct parse_child_opts o = opts();
	struct diskboot b;
	struct disk *d;

	make_ext4();
	d = open_img("e4.img");
	o.find = crash;
	assert_int_equal(parse_child__find(d, &b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "e4.img: the boot-entry parser crashed (signal 6, ABRT)"));
	assert_null(strchr(err, '\n'));
	disk__close(d);
}

static int opens_a_socket(struct disk *d, struct diskboot *out, char *e, size_t elen)
{
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	return -1;
}

static void test_forbidden_call_is_named(void **state)
{
	struct parse_child_opts o = opts();
	char line[512] = "";
	struct diskboot b;
	struct disk *d;
	int saved = dup(STDERR_FILENO), p[2];
	ssize_t n;

	make_ext4();
	d = open_img("e4.img");
	o.find = opens_a_socket;
	assert_int_equal(pipe(p), 0);
	dup2(p[1], STDERR_FILENO);
	assert_int_equal(parse_child__find(d, &b, &o, err, sizeof(err)), -1);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], line, sizeof(line) - 1);
	close(p[0]);
	assert_true(n > 0);
	assert_string_equal(line, "vmm: seccomp: thread parser made a forbidden system call socket (nr 41)\n");
	assert_non_null(strstr(err, "the boot-entry parser was stopped for a forbidden system call"));
	disk__close(d);
}

/* An image's fd (not a memfd) sent as the kernel. */
static int sends_disk_fd(struct disk *d, struct diskboot *out, char *e, size_t elen)
{
	memset(out, 0, sizeof(*out));
	out->kernel_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	out->initrd_fd = -1;
	out->cmdline = strdup("root=/dev/vda");
	out->description = strdup("booting a lie");
	return 0;
}

static int sends_unsealed(struct disk *d, struct diskboot *out, char *e, size_t elen)
{
	memset(out, 0, sizeof(*out));
	out->kernel_fd = memfd_create("kernel", MFD_CLOEXEC);
	out->initrd_fd = -1;
	if (write(out->kernel_fd, "kernel", 6) != 6)
		return -1;
	out->cmdline = strdup("");
	out->description = strdup("booting an unsealed kernel");
	return 0;
}

static void test_answer_is_checked(void **state)
{
	struct parse_child_opts o = { 0 };     /* unfiltered: it opens a file */
	struct diskboot b;
	struct disk *d;

	make_ext4();
	d = open_img("e4.img");
	o.find = sends_disk_fd;
	assert_int_equal(parse_child__find(d, &b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sent a kernel that is not a sealed memfd"));
	o.find = sends_unsealed;
	assert_int_equal(parse_child__find(d, &b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sent a kernel that is not a sealed memfd"));
	assert_int_equal(b.kernel_fd, -1);
	/* A kernel over the caller's cap, even if the parser ignored it. */
	o = opts();
	d->boot_files_max = 200000;            /* the kernel is 300001 bytes */
	o.find = NULL;
	assert_int_equal(parse_child__find(d, &b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is larger than"));
	disk__close(d);
}

static int writes_the_disk(struct disk *d, struct diskboot *out, char *e, size_t elen)
{
	struct iovec iov = { "xxxx", 4 };
	ssize_t n = d->ops->pwritev(d, &iov, 1, 0);

	snprintf(e, elen, "write: %s", n < 0 ? strerror((int)-n) : "it worked");
	return -1;
}

static void test_disks_are_read_only(void **state)
{
	struct disk_open_opts oo = { .format = DISK_FORMAT_RAW };
	struct parse_child_opts o = opts();
	struct diskboot b;
	struct disk *d;

	make_ext4();
	d = disk__open_opts(img_path("e4.img"), &oo, err, sizeof(err));
	if (!d)
		fail_msg("%s", err);
	assert_false(d->read_only);
	o.find = writes_the_disk;
	/* The filter refuses writes to a disk (pwritev)... */
	assert_int_equal(parse_child__find(d, &b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "stopped for a forbidden system call"));
	/* ... and without it the disk is open read-only all the same. */
	o.seccomp = false;
	assert_int_equal(parse_child__find(d, &b, &o, err, sizeof(err)), -1);
	assert_string_equal(err, "write: Bad file descriptor");
	disk__close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ext4_through_qcow2),
		cmocka_unit_test(test_btrfs_f44),
		cmocka_unit_test(test_error_is_the_parsers),
		cmocka_unit_test(test_hang_is_stopped),
		cmocka_unit_test(test_crash_is_one_line),
		cmocka_unit_test(test_forbidden_call_is_named),
		cmocka_unit_test(test_answer_is_checked),
		cmocka_unit_test(test_disks_are_read_only),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
