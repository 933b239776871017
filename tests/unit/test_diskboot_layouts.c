/* test_diskboot_layouts.c — direct boot from the layouts today's cloud
 * images use, built here with sfdisk, mkfs.btrfs (--rootdir --subvol
 * --compress) and mke2fs -d:
 *   Fedora 44+     GPT: BIOS boot, ESP, one btrfs with flat subvolumes
 *                  root, boot, home, var, zstd; BLS in the boot subvolume
 *                  naming /boot/vmlinuz-...
 *   btrfs root     /boot a directory inside a default subvolume
 *   Debian cloud   GPT: ext4 root (p1) with /boot/grub/grub.cfg, no BLS
 *   Ubuntu cloud   ext4 root (p1) + ext4 /boot (p16) with /grub/grub.cfg
 * plus BLS winning over a grub.cfg elsewhere, a broken grub.cfg reported
 * in the search list, and a qcow2 overlay of the Fedora 44 disk. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/block/disk.h"
#include "vmm/boot/diskboot.h"
#include "vmm/log.h"
#include "tests/unit/imgtest.h"

#define F44_KVER "6.17.4-300.fc44.x86_64"
#define F44_UUID "3a6f2c1e-1111-2222-3333-444455556666"

/* A GPT disk NAME.img of 'mib' MiB: BIOS boot, ESP, then 'fs' (an
 * image file in tmpdir) as partition 3. */
static void gpt3(const char *name, unsigned mib, const char *fs)
{
	sh("rm -f %s.img esp.img && truncate -s %uM %s.img && printf '%%s\\n' 'label: gpt' "
	   "'start=2048, size=4096, type=21686148-6449-6E6F-744E-656564454649' "
	   "'start=6144, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' "
	   "'start=22528, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' | sfdisk -q %s.img",
	   name, mib, name, name);
	sh("mkfs.vfat -C esp.img 8192 && dd if=esp.img of=%s.img bs=512 seek=6144 conv=notrunc status=none",
	   name);
	sh("dd if=%s of=%s.img bs=512 seek=22528 conv=notrunc,sparse status=none", fs, name);
}

/* The Fedora 44 layout, kernel and initramfs stored zstd-compressed. */
static void make_f44(const char *saved)
{
	char env[128];

	sh("rm -rf f44 && mkdir -p f44/root/etc f44/home f44/var/log f44/boot/loader/entries");
	put_file("f44/root/etc/hostname", "f44\n", 0);
	put_file("f44/boot/loader/entries/0123abcd-" F44_KVER ".conf",
		 "title Fedora Linux (" F44_KVER ") 44 (Cloud Edition)\n"
		 "version " F44_KVER "\n"
		 "linux /boot/vmlinuz-" F44_KVER "\n"
		 "initrd /boot/initramfs-" F44_KVER ".img\n"
		 "options root=UUID=" F44_UUID " ro rootflags=subvol=root no_timer_check "
		 "console=tty1 console=ttyS0,115200n8 systemd.firstboot=off\n"
		 "grub_class fedora\n", 0);
	put_file("f44/boot/loader/entries/0123abcd-6.17.1-300.fc44.x86_64.conf",
		 "title Fedora Linux (6.17.1-300.fc44.x86_64) 44 (Cloud Edition)\n"
		 "version 6.17.1-300.fc44.x86_64\n"
		 "linux /boot/vmlinuz-6.17.1-300.fc44.x86_64\n"
		 "options root=UUID=" F44_UUID " ro rootflags=subvol=root\n", 0);
	/* compressible, but not trivially: several compressed extents */
	put_blob("f44/boot/vmlinuz-" F44_KVER, 700000, 41);
	sh("yes 'initramfs text that compresses well' | head -c 3000000 > f44/boot/initramfs-" F44_KVER ".img");
	put_blob("f44/boot/vmlinuz-6.17.1-300.fc44.x86_64", 5000, 42);
	snprintf(env, sizeof(env), "saved_entry=%s\n", saved ? saved : "");
	put_grubenv("f44/boot/grub2/grubenv", env);
	sh("rm -f f44.btrfs && truncate -s 160M f44.btrfs && mkfs.btrfs -q -L fedora -U " F44_UUID
	   " --rootdir f44 --subvol rw:root --subvol rw:boot --subvol rw:home --subvol rw:var "
	   "--compress zstd:1 -f f44.btrfs");
	gpt3("f44", 192, "f44.btrfs");
}

static void test_fedora44_btrfs(void **state)
{
	struct diskboot b;
	struct disk *d;
	char want[16];

	make_f44(NULL);
	d = open_img("f44.img");
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(b.description,
			    "booting 'Fedora Linux (" F44_KVER ") 44 (Cloud Edition)' from vda3 "
			    "(btrfs subvolume boot): /boot/vmlinuz-" F44_KVER);
	assert_string_equal(b.cmdline, "root=UUID=" F44_UUID " ro rootflags=subvol=root "
			    "no_timer_check console=tty1 console=ttyS0,115200n8 systemd.firstboot=off");
	assert_fd_holds_blob(b.kernel_fd, 700000, 41);
	assert_int_equal(pread(b.initrd_fd, want, 16, 36 * 83332), 16);
	assert_memory_equal(want, "initramfs text t", 16);
	diskboot__free(&b);
	disk__close(d);

	/* grubenv's saved_entry from the boot subvolume */
	make_f44("0123abcd-6.17.1-300.fc44.x86_64");
	d = open_img("f44.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), 0);
	assert_non_null(strstr(b.description, ": /boot/vmlinuz-6.17.1-300.fc44.x86_64"));
	assert_fd_holds_blob(b.kernel_fd, 5000, 42);
	assert_int_equal(b.initrd_fd, -1);
	diskboot__free(&b);
	disk__close(d);

	/* the same through a qcow2 overlay on a compressed qcow2 base */
	sh("qemu-img convert -c -O qcow2 f44.img f44-base.qcow2 && "
	   "qemu-img create -q -f qcow2 -b f44-base.qcow2 -F qcow2 f44-top.qcow2");
	d = open_fmt("f44-top.qcow2", DISK_FORMAT_QCOW2);
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), 0);
	assert_fd_holds_blob(b.kernel_fd, 5000, 42);
	diskboot__free(&b);
	disk__close(d);
}

/* openSUSE-like: /boot is a directory in the default subvolume. */
static void test_btrfs_default_subvolume(void **state)
{
	struct diskboot b;
	struct disk *d;

	sh("rm -rf sys && mkdir -p sys/@/boot/loader/entries sys/@home");
	put_file("sys/@/boot/loader/entries/x-1.0.conf",
		 "title X\nversion 1.0\nlinux /vmlinuz-1.0\ninitrd /initrd-1.0\noptions root=LABEL=sys\n", 0);
	put_blob("sys/@/boot/vmlinuz-1.0", 20000, 51);
	put_blob("sys/@/boot/initrd-1.0", 3000, 52);
	sh("rm -f sys.btrfs && truncate -s 128M sys.btrfs && "
	   "mkfs.btrfs -q --rootdir sys --subvol default:@ --subvol rw:@home -f sys.btrfs");
	d = open_img("sys.btrfs");
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(b.description, "booting 'X' from vda (btrfs subvolume @, /boot): /@/boot/vmlinuz-1.0");
	assert_fd_holds_blob(b.kernel_fd, 20000, 51);
	assert_fd_holds_blob(b.initrd_fd, 3000, 52);
	diskboot__free(&b);
	disk__close(d);
}

static const char debian_cfg[] =
	"if [ -s $prefix/grubenv ]; then\n  set have_grubenv=true\n  load_env\nfi\n"
	"if [ \"${next_entry}\" ] ; then\n   set default=\"${next_entry}\"\n"
	"   set next_entry=\n   save_env next_entry\nelse\n   set default=\"0\"\nfi\n"
	"if [ x\"${feature_menuentry_id}\" = xy ]; then\n  menuentry_id_option=\"--id\"\n"
	"else\n  menuentry_id_option=\"\"\nfi\n"
	"menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-x' {\n"
	"\tload_video\n\tinsmod gzio\n\tsearch --no-floppy --fs-uuid --set=root x\n"
	"\tlinux\t/boot/vmlinuz-6.1.0-28-cloud-amd64 root=PARTUUID=abc ro  console=tty0 console=ttyS0,115200\n"
	"\tinitrd\t/boot/initrd.img-6.1.0-28-cloud-amd64\n}\n"
	"submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-x' {\n"
	"\tmenuentry 'Debian GNU/Linux, with Linux 6.1.0-27-cloud-amd64' $menuentry_id_option 'old' {\n"
	"\t\tlinux\t/boot/vmlinuz-6.1.0-27-cloud-amd64 root=PARTUUID=abc ro\n\t}\n}\n";

/* Debian genericcloud: the root filesystem is partition 1 and holds
 * /boot/grub/grub.cfg; no BLS anywhere. */
static void test_debian_cloud_grubcfg(void **state)
{
	struct diskboot b;
	struct disk *d;

	sh("rm -rf deb && mkdir -p deb/boot/grub deb/etc");
	put_file("deb/boot/grub/grub.cfg", debian_cfg, 0);
	put_blob("deb/boot/vmlinuz-6.1.0-28-cloud-amd64", 60000, 61);
	put_blob("deb/boot/vmlinuz-6.1.0-27-cloud-amd64", 50000, 62);
	put_blob("deb/boot/initrd.img-6.1.0-28-cloud-amd64", 7000, 63);
	sh("ln -s boot/vmlinuz-6.1.0-28-cloud-amd64 deb/vmlinuz");
	sh("rm -f deb.img deb.ext4 && truncate -s 160M deb.img && printf '%%s\\n' 'label: gpt' "
	   "'start=262144, size=63488, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' "
	   "'start=2048, size=6144, type=21686148-6449-6E6F-744E-656564454649' "
	   "'start=8192, size=253952, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' | sfdisk -q deb.img");
	sh("mke2fs -q -F -t ext4 -d deb deb.ext4 30M && "
	   "dd if=deb.ext4 of=deb.img bs=512 seek=262144 conv=notrunc,sparse status=none");
	d = open_img("deb.img");
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(b.description, "booting 'Debian GNU/Linux' from vda1 (ext4 /, grub.cfg "
			    "default=0): /boot/vmlinuz-6.1.0-28-cloud-amd64");
	assert_string_equal(b.cmdline, "root=PARTUUID=abc ro console=tty0 console=ttyS0,115200");
	assert_fd_holds_blob(b.kernel_fd, 60000, 61);
	assert_fd_holds_blob(b.initrd_fd, 7000, 63);
	diskboot__free(&b);
	disk__close(d);

	/* grub-reboot into the submenu's entry: next_entry in grubenv */
	put_grubenv("deb/boot/grub/grubenv", "next_entry=gnulinux-advanced-x>old\n");
	sh("mke2fs -q -F -t ext4 -d deb deb.ext4 30M && "
	   "dd if=deb.ext4 of=deb.img bs=512 seek=262144 conv=notrunc,sparse status=none");
	d = open_img("deb.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), 0);
	assert_non_null(strstr(b.description, "'Advanced options for Debian GNU/Linux>Debian GNU/Linux, "
			       "with Linux 6.1.0-27-cloud-amd64'"));
	assert_fd_holds_blob(b.kernel_fd, 50000, 62);
	assert_int_equal(b.initrd_fd, -1);
	diskboot__free(&b);
	disk__close(d);
}

/* Ubuntu 24.04 cloudimg: root on p1, /boot on p16 with /grub/grub.cfg
 * naming /vmlinuz-... relative to itself. */
static void test_ubuntu_separate_boot(void **state)
{
	struct diskboot b;
	struct disk *d;

	sh("rm -rf ub-root ub-boot && mkdir -p ub-root/etc ub-root/boot ub-boot/grub");
	put_file("ub-root/etc/hostname", "ubuntu\n", 0);
	put_file("ub-boot/grub/grub.cfg",
		 "set default=\"0\"\n"
		 "menuentry 'Ubuntu' --class ubuntu {\n\trecordfail\n\tinsmod ext2\n"
		 "\tif [ \"${initrdfail}\" = 1 ]; then\n"
		 "\t  linux\t/vmlinuz-6.8.0-51-generic root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0\n"
		 "\telse\n"
		 "\t  linux\t/vmlinuz-6.8.0-51-generic root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0 panic=-1\n"
		 "\tfi\n\tinitrd\t/initrd.img-6.8.0-51-generic\n}\n", 0);
	put_blob("ub-boot/vmlinuz-6.8.0-51-generic", 40000, 71);
	put_blob("ub-boot/initrd.img-6.8.0-51-generic", 9000, 72);
	sh("rm -f ub.img && truncate -s 96M ub.img && printf '%%s\\n' 'label: gpt' "
	   "'start=2048, size=106496, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' "
	   "'start=108544, size=8192, type=21686148-6449-6E6F-744E-656564454649' "
	   "'start=116736, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' "
	   "'start=133120, type=BC13C2FF-59E6-4262-A352-B275FD6F7172' | sfdisk -q ub.img");
	sh("mke2fs -q -F -t ext4 -L cloudimg-rootfs -d ub-root r.ext4 52M && "
	   "dd if=r.ext4 of=ub.img bs=512 seek=2048 conv=notrunc,sparse status=none");
	sh("mke2fs -q -F -t ext4 -L BOOT -d ub-boot b.ext4 16M && "
	   "dd if=b.ext4 of=ub.img bs=512 seek=133120 conv=notrunc,sparse status=none");
	d = open_img("ub.img");
	if (diskboot__find(d, &b, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_string_equal(b.description, "booting 'Ubuntu' from vda4 (ext4 /boot, grub.cfg "
			    "default=0): /vmlinuz-6.8.0-51-generic");
	assert_string_equal(b.cmdline, "root=LABEL=cloudimg-rootfs ro console=tty1 console=ttyS0 panic=-1");
	assert_fd_holds_blob(b.kernel_fd, 40000, 71);
	assert_fd_holds_blob(b.initrd_fd, 9000, 72);
	diskboot__free(&b);
	disk__close(d);
}

/* BLS on a later partition wins over grub.cfg on an earlier one (a
 * Fedora root also has /boot/grub2/grub.cfg, which only says blscfg);
 * a grub.cfg that cannot be run is named in the search list. */
static void test_bls_wins_and_broken_grub(void **state)
{
	struct diskboot b;
	struct disk *d;
	char want[1024];

	sh("rm -rf p1 p2 && mkdir -p p1/boot/grub p2/loader/entries");
	put_file("p1/boot/grub/grub.cfg", "menuentry 'grub' { linux /boot/k }\n", 0);
	put_blob("p1/boot/k", 100, 81);
	put_file("p2/loader/entries/e.conf", "title BLS\nlinux /k2\n", 0);
	put_blob("p2/k2", 200, 82);
	sh("rm -f two.img && truncate -s 40M two.img && printf '%%s\\n' 'label: gpt' "
	   "'start=2048, size=32768, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' "
	   "'start=34816, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4' | sfdisk -q two.img");
	sh("mke2fs -q -F -t ext4 -d p1 p1.ext4 16M && dd if=p1.ext4 of=two.img bs=512 seek=2048 conv=notrunc,sparse status=none");
	sh("mke2fs -q -F -t ext4 -d p2 p2.ext4 16M && dd if=p2.ext4 of=two.img bs=512 seek=34816 conv=notrunc,sparse status=none");
	d = open_img("two.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), 0);
	assert_string_equal(b.description, "booting 'BLS' from vda2 (ext4 /boot): /k2");
	diskboot__free(&b);
	disk__close(d);

	/* no BLS, and the only grub.cfg is broken */
	put_file("p1/boot/grub/grub.cfg", "menuentry 'grub' { linux /boot/k\n", 0);
	sh("mke2fs -q -F -t ext4 -d p1 p1.ext4 16M && dd if=p1.ext4 of=two.img bs=512 seek=2048 conv=notrunc,sparse status=none");
	sh("mke2fs -q -F -t ext4 p2.ext4 16M && dd if=p2.ext4 of=two.img bs=512 seek=34816 conv=notrunc,sparse status=none");
	d = open_img("two.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "no bootable entry found in %s (searched: vda1 (ext4: no "
		 "loader/entries, grub.cfg: a '{' that is never closed), vda2 (ext4: no "
		 "loader/entries, no grub.cfg))", img_path("two.img"));
	assert_string_equal(err, want);
	disk__close(d);
}

/* Fedora 44's disk with its kernel gone: the search says what it saw. */
static void test_btrfs_nothing(void **state)
{
	struct diskboot b;
	struct disk *d;
	char want[1024];

	sh("rm -rf e && mkdir -p e/root/etc e/home");
	put_file("e/root/etc/hostname", "x\n", 0);
	sh("rm -f e.btrfs && truncate -s 128M e.btrfs && "
	   "mkfs.btrfs -q --rootdir e --subvol rw:root --subvol rw:home -f e.btrfs");
	gpt3("e", 160, "e.btrfs");
	d = open_img("e.img");
	assert_int_equal(diskboot__find(d, &b, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "no bootable entry found in %s (searched: vda1 (BIOS boot: "
		 "skipped), vda2 (vfat: skipped), vda3 (btrfs subvolumes root, home: no "
		 "loader/entries, no grub.cfg))", img_path("e.img"));
	assert_string_equal(err, want);
	disk__close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fedora44_btrfs),
		cmocka_unit_test(test_btrfs_default_subvolume),
		cmocka_unit_test(test_debian_cloud_grubcfg),
		cmocka_unit_test(test_ubuntu_separate_boot),
		cmocka_unit_test(test_bls_wins_and_broken_grub),
		cmocka_unit_test(test_btrfs_nothing),
	};

	log__verbosity = LOG_ERR;
	return cmocka_run_group_tests(tests, setup, teardown);
}
