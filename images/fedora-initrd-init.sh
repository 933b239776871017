#!/bin/sh
# images/fedora-initrd-init.sh — /init of the initramfs in every test disk
# (images/build-fedora.sh: the Fedora 40-43 and 44+ layouts;
# images/build-debian-cloud.sh: the Debian/Ubuntu cloud layout), where it
# is /boot/initramfs-KVER.img or /boot/initrd.img-KVER.
#
# Does what dracut's or initramfs-tools' initramfs does for these disks,
# in busybox: loads the modules the root needs (virtio_pci, virtio_blk,
# btrfs and its deps, ext4, and vfat with its code pages for the
# cloud-init seed), finds the root named by root=UUID=... / LABEL=... /
# PARTUUID=... (a GPT partition's unique GUID, as Debian's grub.cfg names
# the root) / /dev/... on the kernel command line, mounts it with the
# type its superblock shows (btrfs or ext4; rootfstype= overrides), ro
# unless "rw" is given, as the kernel would, and with rootflags= as mount
# options (Fedora's subvol=root: its / is a btrfs subvolume), moves /dev
# into it and switch_root's to its /sbin/init (init= overrides).
#
# Console lines for the tests (tests/e2e/scenarios/layouts.sh):
#   E2E-DISK-INITRD start uptime=S       this script began
#   E2E-DISK-INITRD root=SPEC dev=DEV fstype=T options=O init=PATH
#                                        mounted; switch_root next
# Any failure prints one "E2E-DISK-INITRD-ERROR ..." line and powers off,
# so the VMM exits instead of hanging.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
read -r up _ < /proc/uptime
echo "E2E-DISK-INITRD start uptime=$up"

fail()
{
	echo "E2E-DISK-INITRD-ERROR $*"
	echo "initramfs: block devices: $(ls /sys/block 2>/dev/null | tr '\n' ' ')"
	sync
	poweroff -f
	sleep 3600
}

kver=$(uname -r)
# insmod of a module the CPU cannot use (crc32c-intel without SSE4.2)
# fails harmlessly: the generic one next to it does the work.
while read -r m; do
	insmod "/lib/modules/$kver/$m" 2>/dev/null || echo "initramfs: insmod $m failed"
done < /etc/modules.load

root=
fstype=
flags=
mode=ro
init=/sbin/init
wait_s=30
# shellcheck disable=SC2013 # words, not lines
for w in $(cat /proc/cmdline); do
	case $w in
	root=*) root=${w#root=} ;;
	rootfstype=*) fstype=${w#rootfstype=} ;;
	rootflags=*) flags=${w#rootflags=} ;;
	ro) mode=ro ;;
	rw) mode=rw ;;
	init=*) init=${w#init=} ;;
	rootdelay=*) wait_s=${w#rootdelay=} ;;
	esac
done
[ -n "$root" ] || fail "no root= on the kernel command line"

# uuid_at DEV OFFSET: the 16 bytes at OFFSET of DEV as a UUID (lower case,
# dashed).
uuid_at()
{
	dd if="$1" bs=1 skip="$2" count=16 2>/dev/null |
		hexdump -v -e '4/1 "%02x" "-" 2/1 "%02x" "-" 2/1 "%02x" "-" 2/1 "%02x" "-" 6/1 "%02x"'
}

# fs_type DEV: "btrfs" or "ext4" (for ext2/3/4 alike: the ext4 driver
# mounts all three), from the superblock's magic. btrfs: superblock at
# 64 KiB, magic "_BHRfS_M" at +0x40. ext: superblock at 1 KiB, magic
# 0xef53 at +56.
fs_type()
{
	if [ "$(dd if="$1" bs=1 skip=$((65536 + 64)) count=8 2>/dev/null)" = _BHRfS_M ]; then
		echo btrfs
	elif [ "$(dd if="$1" bs=1 skip=1080 count=2 2>/dev/null | hexdump -v -e '2/1 "%02x"')" = 53ef ]; then
		echo ext4
	else
		return 1
	fi
}

# fs_uuid DEV: the UUID of the btrfs (fsid at +0x20 of its superblock) or
# ext2/3/4 (UUID at +104) file system on DEV.
fs_uuid()
{
	case $(fs_type "$1") in
	btrfs) uuid_at "$1" $((65536 + 32)) ;;
	ext4) uuid_at "$1" 1128 ;;
	*) return 1 ;;
	esac
}

# part_by_partuuid (root=PARTUUID=): /lib/partuuid.sh, shared with the
# root's /sbin/init, which mounts PARTUUID= lines of fstab with it.
# shellcheck disable=SC1091 # the initramfs's own file
. /lib/partuuid.sh

# The device for root=: busybox findfs, else a scan of the block devices'
# superblocks for UUID= (in case findfs lacks the btrfs or ext probe);
# PARTUUID= from the partition tables.
find_root()
{
	case $root in
	PARTUUID=*)
		part_by_partuuid "${root#PARTUUID=}" ;;
	UUID=*|LABEL=*)
		d=$(findfs "$root" 2>/dev/null) && [ -b "$d" ] && { echo "$d"; return 0; }
		case $root in UUID=*)
			want=$(echo "${root#UUID=}" | tr 'A-F' 'a-f')
			for d in /dev/vd* /dev/sd*; do
				[ -b "$d" ] || continue
				[ "$(fs_uuid "$d")" = "$want" ] && { echo "$d"; return 0; }
			done ;;
		esac
		return 1 ;;
	/dev/*)
		[ -b "$root" ] && { echo "$root"; return 0; }
		return 1 ;;
	*)
		return 1 ;;
	esac
}

# The disk appears when virtio_blk has probed it; wait for it (bounded).
i=0
while ! dev=$(find_root); do
	i=$((i + 1))
	[ $i -le $((wait_s * 10)) ] || fail "root $root not found after ${wait_s} s"
	sleep 0.1
done

[ -n "$fstype" ] || fstype=$(fs_type "$dev") || fail "$dev ($root) is neither btrfs nor ext2/3/4"
opts=$mode${flags:+,$flags}
mkdir -p /sysroot
mount -t "$fstype" -o "$opts" "$dev" /sysroot || fail "cannot mount $dev ($root) as $fstype with -o $opts"
[ -x "/sysroot$init" ] || fail "no executable $init on $dev ($opts)"
echo "E2E-DISK-INITRD root=$root dev=$dev fstype=$fstype options=$opts init=$init"

mkdir -p /sysroot/dev
mount --move /dev /sysroot/dev
umount /sys
umount /proc
exec switch_root /sysroot "$init"
