/* test_diskboot.c — direct boot from disk images (vmm/boot/diskboot.c with
 * vmm/boot/partition.c, vmm/boot/extfs.c, vmm/boot/bls.c) on real images made
 * here with sfdisk, mke2fs -d and mkfs.vfat: a Fedora-30-like MBR disk
 * (/boot inside the root filesystem, $kernelopts and saved_entry from
 * grubenv), a Fedora-39-like GPT disk (BIOS boot, vfat ESP, ext4 /boot,
 * btrfs root), newest-version choice, a stale saved_entry, a symlinked
 * kernel (also through qcow2), a disk without entries, an entry naming
 * a missing kernel, a corrupt GPT and randomly corrupted filesystems. */
#include <errno.h>
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
#include "vmm/boot/extfs.h"
#include "vmm/boot/diskboot.h"
#include "vmm/log.h"
#include "vmm/util.h"

#include "tests/unit/imgtest.h"

/* ---- Fedora 30: MBR, one ext4 partition, /boot inside it ---------- */

#define F30_MID "2d5e4b1cfa6c4a6e9d0b0c5a7e1f3a21"

static void test_fedora30_mbr(void **state)
{
	struct diskboot b;
	struct disk *d;

	put_file("f30/boot/loader/entries/" F30_MID "-5.0.9-301.fc30.x86_64.conf",
		 "title Fedora (5.0.9-301.fc30.x86_64) 30 (Thirty)\n"
		 "version 5.0.9-301.fc30.x86_64\n"
		 "linux /vmlinuz-5.0.9-301.fc30.x86_64\n"
		 "initrd /initramfs-5.0.9-301.fc30.x86_64.img $tuned_initrd\n"
		 "options $kernelopts $tuned_params\n"
		 "id fedora-20190416150042-5.0.9-301.fc30.x86_64\n"
		 "grub_users $grub_users\n"
		 "grub_arg --unrestricted\n"
		 "grub_class kernel\n", 0);
	/* The older entry, named with /boot/ explicitly, is the saved one. */
	put_file("f30/boot/loader/entries/" F30_MID "-5.0.7-300.fc30.x86_64.conf",
		 "title Fedora (5.0.7-300.fc30.x86_64) 30 (Thirty)\n"
		 "version 5.0.7-300.fc30.x86_64\n"
		 "linux /boot/vmlinuz-5.0.7-300.fc30.x86_64\n"
		 "initrd /boot/initramfs-5.0.7-300.fc30.x86_64.img $tuned_initrd\n"
		 "options $kernelopts $tuned_params\n", 0);
	put_blob("f30/boot/vmlinuz-5.0.9-301.fc30.x86_64", 300000, 1);
	put_blob("f30/boot/vmlinuz-5.0.7-300.fc30.x86_64", 250001, 2);
	put_blob("f30/boot/initramfs-5.0.9-301.fc30.x86_64.img", 70000, 3);
	put_blob("f30/boot/initramfs-5.0.7-300.fc30.x86_64.img", 65537, 4);
	put_blob("f30/boot/early_ucode.cpio", 1000, 5);
	put_grubenv("f30/boot/grub2/grubenv",
		    "saved_entry=" F30_MID "-5.0.7-300.fc30.x86_64\n"
		    "kernelopts=root=UUID=7f3c1a2e-0b1d-4c5e-9f00-123456789abc ro resume=/dev/vda2 rhgb quiet\n"
		    "tuned_initrd=/boot/early_ucode.cpio\n"
		    "boot_success=1\n");
	put_file("f30/etc/fedora-release", "Fedora release 30 (Thirty)\n", 0);
	sh("truncate -s 40M f30.img && printf 'label: dos\\nstart=2048, type=83, bootable\\n' | sfdisk -q f30.img");
	sh("mke2fs -q -F -t ext4 -d f30 -L root f30-part.img 32M");
	sh("dd if=f30-part.img of=f30.img bs=1M seek=1 conv=notrunc,sparse status=none");

	d = open_img("f30.img");
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(b.description,
			    "booting 'Fedora (5.0.7-300.fc30.x86_64) 30 (Thirty)' from vda1 (ext4 /): "
			    "/boot/vmlinuz-5.0.7-300.fc30.x86_64");
	assert_string_equal(b.cmdline,
			    "root=UUID=7f3c1a2e-0b1d-4c5e-9f00-123456789abc ro resume=/dev/vda2 rhgb quiet");
	assert_fd_holds_blob(b.kernel_fd, 250001, 2);
	/* Two initrds concatenated, the first padded to 4 bytes. */
	{
		struct stat st;
		char path[64], pad[3];
		uint8_t *buf;
		size_t len;

		assert_int_equal(fstat(b.initrd_fd, &st), 0);
		assert_int_equal(st.st_size, 65540 + 1000);
		assert_blob_at(b.initrd_fd, 0, 65537, 4);
		assert_int_equal(pread(b.initrd_fd, pad, 3, 65537), 3);
		assert_memory_equal(pad, "\0\0\0", 3);
		assert_blob_at(b.initrd_fd, 65540, 1000, 5);
		/* The memfds are sealed and reachable by path. */
		assert_int_equal(write(b.kernel_fd, "x", 1), -1);
		diskboot__fd_path(b.kernel_fd, path, sizeof(path));
		assert_int_equal(util__read_file(path, &buf, &len, 1 << 20), 0);
		assert_int_equal(len, 250001);
		free(buf);
	}
	diskboot__free(&b);
	assert_int_equal(b.kernel_fd, -1);

	/* Without saved_entry the newest wins; its "/vmlinuz-..." path is
	 * found under /boot as grub would. */
	put_grubenv("f30/boot/grub2/grubenv",
		    "kernelopts=root=/dev/vda1 ro\n");
	sh("mke2fs -q -F -t ext4 -d f30 -L root f30-part.img 32M");
	sh("dd if=f30-part.img of=f30.img bs=1M seek=1 conv=notrunc,sparse status=none");
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_non_null(strstr(b.description, "'Fedora (5.0.9-301.fc30.x86_64) 30 (Thirty)'"));
	assert_non_null(strstr(b.description, ": /boot/vmlinuz-5.0.9-301.fc30.x86_64"));
	assert_string_equal(b.cmdline, "root=/dev/vda1 ro");
	assert_fd_holds_blob(b.kernel_fd, 300000, 1);
	assert_fd_holds_blob(b.initrd_fd, 70000, 3);
	diskboot__free(&b);
	disk__close(d);
}

/* ---- Fedora 39: GPT, BIOS boot + ESP + ext4 /boot + btrfs root ---- */

static void make_f39(const char *grubenv_lines)
{
	put_file("f39/loader/entries/ab12-6.5.6-300.fc39.x86_64.conf",
		 "title Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Thirty Nine)\n"
		 "version 6.5.6-300.fc39.x86_64\n"
		 "linux /vmlinuz-6.5.6-300.fc39.x86_64\n"
		 "initrd /initramfs-6.5.6-300.fc39.x86_64.img\n"
		 "options root=UUID=0b4e1c5d-aaaa-bbbb-cccc-0123456789ab ro rootflags=subvol=root rhgb quiet\n"
		 "grub_users $grub_users\n"
		 "grub_arg --unrestricted\n"
		 "grub_class fedora\n", 0);
	put_file("f39/loader/entries/ab12-6.2.9-300.fc39.x86_64.conf",
		 "title Fedora Linux (6.2.9-300.fc39.x86_64) 39 (Thirty Nine)\n"
		 "version 6.2.9-300.fc39.x86_64\n"
		 "linux /boot/vmlinuz-6.2.9-300.fc39.x86_64\n"
		 "initrd /initramfs-6.2.9-300.fc39.x86_64.img\n"
		 "options root=UUID=0b4e1c5d-aaaa-bbbb-cccc-0123456789ab ro rootflags=subvol=root\n", 0);
	put_file("f39/loader/entries/ab12-0-rescue.conf",
		 "title Fedora Linux (0-rescue-ab12) 39 (Thirty Nine)\n"
		 "version 0-rescue-ab12\n"
		 "linux /vmlinuz-0-rescue-ab12\n"
		 "options root=UUID=0b4e1c5d-aaaa-bbbb-cccc-0123456789ab ro\n", 0);
	put_blob("f39/vmlinuz-6.5.6-300.fc39.x86_64", 400000, 11);
	put_blob("f39/vmlinuz-6.2.9-300.fc39.x86_64", 390000, 12);
	put_blob("f39/vmlinuz-0-rescue-ab12", 1000, 13);
	put_blob("f39/initramfs-6.5.6-300.fc39.x86_64.img", 123457, 14);
	put_blob("f39/initramfs-6.2.9-300.fc39.x86_64.img", 12345, 15);
	put_grubenv("f39/grub2/grubenv", grubenv_lines);
	sh("rm -f f39.img esp.img && truncate -s 64M f39.img && printf '%%s\\n' 'label: gpt' "
	   "'start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649' "
	   "'start=4096, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=\"EFI System Partition\"' "
	   "'start=20480, size=65536, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=boot' "
	   "'start=86016, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root' | sfdisk -q f39.img");
	sh("mkfs.vfat -C esp.img 8192 && dd if=esp.img of=f39.img bs=512 seek=4096 conv=notrunc status=none");
	sh("mke2fs -q -F -t ext4 -d f39 -L boot f39-boot.img 32M && "
	   "dd if=f39-boot.img of=f39.img bs=512 seek=20480 conv=notrunc,sparse status=none");
	/* The root partition: a btrfs superblock magic is all it needs here. */
	sh("printf '_BHRfS_M' | dd of=f39.img bs=1 seek=$((86016 * 512 + 65536 + 64)) conv=notrunc status=none");
}

static void test_fedora39_gpt(void **state)
{
	struct diskboot b;
	struct disk *d;

	make_f39("boot_success=1\nboot_indeterminate=0\n");
	d = open_img("f39.img");
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(b.description,
			    "booting 'Fedora Linux (6.5.6-300.fc39.x86_64) 39 (Thirty Nine)' from vda3 "
			    "(ext4 /boot): /vmlinuz-6.5.6-300.fc39.x86_64");
	assert_string_equal(b.cmdline,
			    "root=UUID=0b4e1c5d-aaaa-bbbb-cccc-0123456789ab ro rootflags=subvol=root rhgb quiet");
	assert_fd_holds_blob(b.kernel_fd, 400000, 11);
	assert_fd_holds_blob(b.initrd_fd, 123457, 14);
	diskboot__free(&b);
	disk__close(d);

	/* saved_entry selects the older kernel... */
	make_f39("saved_entry=ab12-6.2.9-300.fc39.x86_64\n");
	d = open_img("f39.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), 0);
	assert_non_null(strstr(b.description, ": /vmlinuz-6.2.9-300.fc39.x86_64"));
	assert_string_equal(b.cmdline, "root=UUID=0b4e1c5d-aaaa-bbbb-cccc-0123456789ab ro rootflags=subvol=root");
	assert_fd_holds_blob(b.kernel_fd, 390000, 12);
	diskboot__free(&b);
	disk__close(d);

	/* ... and one naming an entry that is gone falls back to the newest;
	 * the rescue entry (no initrd) can be picked too. */
	make_f39("saved_entry=ab12-6.1.0-100.fc39.x86_64\n");
	d = open_img("f39.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), 0);
	assert_non_null(strstr(b.description, ": /vmlinuz-6.5.6-300.fc39.x86_64"));
	diskboot__free(&b);
	disk__close(d);
	make_f39("saved_entry=ab12-0-rescue\n");
	/* A damaged primary GPT header: the backup one is used. */
	sh("printf 'X' | dd of=f39.img bs=1 seek=$((512 + 48)) conv=notrunc status=none");
	d = open_img("f39.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), 0);
	assert_non_null(strstr(b.description, "from vda3 (ext4 /boot): /vmlinuz-0-rescue-ab12"));
	assert_int_equal(b.initrd_fd, -1);
	assert_fd_holds_blob(b.kernel_fd, 1000, 13);
	diskboot__free(&b);
	disk__close(d);
}

/* The caller's cap (half the guest's RAM) on kernel + initrd together:
 * an image claiming a bigger kernel or initrd than the guest could hold
 * is refused with one line, before anything that size is copied. */
static void test_ram_cap(void **state)
{
	struct diskboot b;
	struct disk *d;

	make_f39("boot_success=1\n");
	d = open_img("f39.img");
	d->boot_files_max = 300000;             /* the kernel alone is 400000 */
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kernel /vmlinuz-6.5.6-300.fc39.x86_64 is larger than"));
	assert_non_null(strstr(err, "--mem raises it"));
	assert_int_equal(b.kernel_fd, -1);
	d->boot_files_max = 450000;             /* the kernel fits, the 123457-byte initrd not */
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "initrd /initramfs-6.5.6-300.fc39.x86_64.img is larger than"));
	d->boot_files_max = 400000 + 123457;    /* both, exactly */
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_fd_holds_blob(b.initrd_fd, 123457, 14);
	diskboot__free(&b);
	disk__close(d);
}

/* ---- a bare filesystem image, symlinked kernel, no grubenv -------- */

static void test_whole_disk_symlink(void **state)
{
	struct diskboot b;
	struct disk *d;

	put_file("bare/loader/entries/m-6.5.6-300.fc39.x86_64.conf",
		 "title new\033[1m\r\nversion 6.5.6-300.fc39.x86_64\nlinux /vmlinuz\noptions console=ttyS0\n", 0);
	put_file("bare/loader/entries/m-6.2.9-300.fc39.x86_64.conf",
		 "title old\nversion 6.2.9-300.fc39.x86_64\nlinux /vmlinuz-6.2.9\n", 0);
	put_file("bare/loader/entries/notes.txt", "not an entry\n", 0);
	put_blob("bare/kernels/vmlinuz-6.5.6", 200000, 21);
	put_blob("bare/vmlinuz-6.2.9", 100, 22);
	sh("ln -s kernels/vmlinuz-6.5.6 bare/vmlinuz");
	sh("mke2fs -q -F -t ext4 -d bare -L bare bare.img 16M");
	d = open_img("bare.img");
	/* The title's escape sequence is defused (its CR trimmed as a blank). */
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(b.description, "booting 'new?[1m' from vda (ext4 /boot): /vmlinuz");
	assert_string_equal(b.cmdline, "console=ttyS0");
	assert_fd_holds_blob(b.kernel_fd, 200000, 21);
	assert_int_equal(b.initrd_fd, -1);
	diskboot__free(&b);
	disk__close(d);

	/* The same through a qcow2 image: only the disk layer differs. */
	sh("qemu-img convert -f raw -O qcow2 bare.img bare.qcow2");
	d = open_fmt("bare.qcow2", DISK_FORMAT_AUTO);
	assert_string_equal(d->format, "qcow2");
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(b.description, "booting 'new?[1m' from vda (ext4 /boot): /vmlinuz");
	assert_fd_holds_blob(b.kernel_fd, 200000, 21);
	diskboot__free(&b);
	disk__close(d);
}

/* Random corruption of a filesystem's metadata: every outcome is either
 * a boot or one error line — no crash, no stray memory access (ASan),
 * no leaked descriptors. */
static void test_corrupt_fs(void **state)
{
	uint8_t *img;
	size_t len;
	unsigned seed = 4242;
	int booted = 0, refused = 0, fd_before, fd_after;

	put_file("fz/loader/entries/a-1.0.conf",
		 "title T\nversion 1.0\nlinux /vmlinuz\ninitrd /initrd.img\noptions $kernelopts x=1\n", 0);
	put_file("fz/loader/entries/a-2.0.conf", "title U\nversion 2.0\nlinux /k2\noptions y\n", 0);
	put_grubenv("fz/grub2/grubenv", "saved_entry=a-1.0\nkernelopts=root=/dev/vda ro\n");
	put_blob("fz/vmlinuz-1", 30000, 41);
	put_blob("fz/initrd.img", 5000, 42);
	put_blob("fz/k2", 7000, 43);
	sh("ln -s vmlinuz-1 fz/vmlinuz && mke2fs -q -F -t ext4 -d fz fz.img 4M");
	assert_int_equal(util__read_file(img_path("fz.img"), &img, &len, 8 << 20), 0);
	fd_before = dup(0);
	close(fd_before);
	log__verbosity = LOG_ERR;               /* the warnings are expected */
	for (int round = 0; round < 60; round++) {
		uint8_t *copy = malloc(len);
		struct diskboot b;
		struct disk *d;

		assert_non_null(copy);
		memcpy(copy, img, len);
		for (int k = 0; k < 1 + round % 24; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t off = (seed >> 4) % (256 * 1024);

			seed = seed * 1103515245u + 12345u;
			copy[off] ^= (uint8_t)(1 + (seed >> 16) % 255);
		}
		d = disk__open_mem("fz.img", copy, len);
		assert_non_null(d);
		err[0] = '\0';
		if (diskboot__find(d, &b, err, sizeof(err)) == 0) {
			assert_true(b.kernel_fd >= 0);
			assert_non_null(b.cmdline);
			diskboot__free(&b);
			booted++;
		} else {
			assert_true(strlen(err) > 0);
			assert_null(strchr(err, '\n'));
			assert_int_equal(b.kernel_fd, -1);
			refused++;
		}
		disk__close(d);
	}
	log__verbosity = LOG_INFO;
	fd_after = dup(0);
	close(fd_after);
	assert_int_equal(fd_after, fd_before);
	assert_true(booted > 0);
	assert_true(refused > 0);
	free(img);
}

/* ---- failures ----------------------------------------------------- */

static void test_no_entries(void **state)
{
	struct diskboot b;
	struct disk *d;
	char want[1024];

	put_file("plain/etc/hostname", "plain\n", 0);
	put_file("broken/loader/entries/bad.conf", "title no linux line\noptions ro\n", 0);
	sh("truncate -s 48M none.img && printf '%%s\\n' 'label: gpt' "
	   "'start=2048, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' "
	   "'start=18432, size=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' "
	   "'start=51200, size=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' "
	   "'start=83968, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F' | sfdisk -q none.img");
	sh("mkfs.vfat -C none-esp.img 8192 && dd if=none-esp.img of=none.img bs=512 seek=2048 conv=notrunc status=none");
	sh("mke2fs -q -F -t ext2 -d plain plain.img 16M && dd if=plain.img of=none.img bs=512 seek=18432 conv=notrunc,sparse status=none");
	sh("mke2fs -q -F -t ext4 -d broken broken.img 16M && dd if=broken.img of=none.img bs=512 seek=51200 conv=notrunc,sparse status=none");
	d = open_img("none.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "no bootable entry found in %s (searched: vda1 (vfat: skipped), vda2 (ext2: no loader/entries, "
		 "no grub.cfg), vda3 (ext4: 1 entries, none valid, no grub.cfg), vda4 (unknown: skipped))", img_path("none.img"));
	assert_string_equal(err, want);
	assert_int_equal(b.kernel_fd, -1);
	assert_null(b.cmdline);
	disk__close(d);

	/* A disk of zeroes: no table, no filesystem. */
	sh("truncate -s 4M zero.img");
	d = open_img("zero.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "no bootable entry found in %s (searched: vda (unknown: skipped))",
		 img_path("zero.img"));
	assert_string_equal(err, want);
	disk__close(d);
}

static void test_missing_kernel(void **state)
{
	struct diskboot b;
	struct disk *d;
	char want[1024];

	put_file("miss/loader/entries/x-1.0.conf", "title X\nversion 1.0\nlinux /vmlinuz-1.0\n"
		 "initrd /initrd-1.0.img\n", 0);
	put_file("miss/initrd-1.0.img", "initrd", 0);
	sh("mke2fs -q -F -t ext4 -d miss miss.img 16M");
	d = open_img("miss.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: entry 'x-1.0' names /vmlinuz-1.0 which does not exist",
		 img_path("miss.img"));
	assert_string_equal(err, want);
	assert_int_equal(b.kernel_fd, -1);
	assert_int_equal(b.initrd_fd, -1);
	disk__close(d);

	/* The kernel is there but the initrd is not. */
	put_blob("miss/vmlinuz-1.0", 5000, 31);
	sh("rm miss/initrd-1.0.img && mke2fs -q -F -t ext4 -d miss miss.img 16M");
	d = open_img("miss.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: entry 'x-1.0' names /initrd-1.0.img which does not exist",
		 img_path("miss.img"));
	assert_string_equal(err, want);
	disk__close(d);
}

/* A corrupt GPT is reported, not half-read. */
static void test_corrupt_gpt(void **state)
{
	struct diskboot b;
	struct disk *d;

	sh("truncate -s 8M bad.img && printf 'label: gpt\\nstart=2048, type=linux\\n' | sfdisk -q bad.img");
	/* Break both headers' CRCs (LBA 1 and the last LBA). */
	sh("printf 'X' | dd of=bad.img bs=1 seek=$((512 + 40)) conv=notrunc status=none");
	sh("printf 'X' | dd of=bad.img bs=1 seek=$((8 * 1024 * 1024 - 512 + 40)) conv=notrunc status=none");
	d = open_img("bad.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "corrupt GPT: primary header: header CRC mismatch"));
	disk__close(d);
}

/* extfs directly: file reads are capped, directories listed. */
static void test_extfs(void **state)
{
	struct disk *d;
	struct extfs *fs;
	enum extfs_type type;
	uint8_t *buf;
	size_t len, count;
	char **names;
	bool trunc;
	uint64_t size;

	put_file("ex/a/b/c.txt", "hello", 0);
	put_file("ex/a/big", "0123456789", 0);
	sh("mkdir -p ex/many && for i in 0 1 2 3 4; do echo x > ex/many/f$i; done");
	sh("ln -s b/c.txt ex/a/link && ln -s /a/link ex/abs && ln -s loop1 ex/loop2 && ln -s loop2 ex/loop1");
	sh("mke2fs -q -F -t ext3 -d ex ex.img 8M");
	d = open_img("ex.img");
	assert_true(extfs__probe(d, 0, d->size));
	assert_false(extfs__probe(d, 512, d->size - 512));
	fs = extfs__open(d, 0, d->size, err, sizeof(err));
	assert_non_null(fs);
	assert_string_equal(extfs__kind(fs), "ext3");
	assert_int_equal(extfs__read_file(fs, "/abs", 100, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 5);
	assert_string_equal((char *)buf, "hello");
	free(buf);
	assert_int_equal(extfs__read_file(fs, "a/big", 9, &buf, &len, err, sizeof(err)), -EFBIG);
	assert_int_equal(extfs__read_file(fs, "a/nothing", 9, &buf, &len, err, sizeof(err)), -ENOENT);
	assert_int_equal(extfs__read_file(fs, "a/big/x", 9, &buf, &len, err, sizeof(err)), -ENOTDIR);
	assert_int_equal(extfs__read_file(fs, "loop1", 9, &buf, &len, err, sizeof(err)), -ELOOP);
	assert_int_equal(extfs__read_file(fs, "a", 9, &buf, &len, err, sizeof(err)), -EISDIR);
	assert_int_equal(extfs__stat(fs, "/a/b", &type, &size, err, sizeof(err)), 0);
	assert_int_equal(type, EXTFS_DIR);
	assert_int_equal(extfs__list_dir(fs, "many", 100, &names, &count, &trunc, err, sizeof(err)), 0);
	assert_int_equal(count, 5);
	assert_false(trunc);
	extfs__free_names(names, count);
	assert_int_equal(extfs__list_dir(fs, "many", 3, &names, &count, &trunc, err, sizeof(err)), 0);
	assert_int_equal(count, 3);
	assert_true(trunc);
	extfs__free_names(names, count);
	extfs__close(fs);
	/* A partition too small to hold the superblock it claims: the
	 * reads beyond it are refused, not taken from what follows. */
	assert_null(extfs__open(d, 0, 2000, err, sizeof(err)));
	assert_non_null(strstr(err, "read beyond the end of the partition"));
	assert_null(extfs__open(d, d->size - 1024, 4096, err, sizeof(err)));
	assert_non_null(strstr(err, "beyond the end of the disk"));
	disk__close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fedora30_mbr),
		cmocka_unit_test(test_fedora39_gpt),
		cmocka_unit_test(test_ram_cap),
		cmocka_unit_test(test_whole_disk_symlink),
		cmocka_unit_test(test_no_entries),
		cmocka_unit_test(test_missing_kernel),
		cmocka_unit_test(test_corrupt_gpt),
		cmocka_unit_test(test_extfs),
		cmocka_unit_test(test_corrupt_fs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
