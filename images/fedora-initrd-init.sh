#!/bin/sh
# images/fedora-initrd-init.sh — /init of the initramfs in the Fedora-layout
# test disk (/boot/initramfs-KVER.img, built by images/build-fedora.sh).
#
# Does what a dracut initramfs does for this disk, in busybox: loads the
# modules the root needs (virtio_pci, virtio_blk, btrfs and its deps, ext4,
# and vfat with its code pages for the cloud-init seed), finds the root named
# by root=UUID=... / root=LABEL=... / root=/dev/... on the kernel command
# line, mounts it as btrfs (rootfstype= overrides; ro unless "rw" is given,
# as the kernel would; no rootflags=: the image's / is btrfs's top-level
# subvolume, not Fedora's "root" subvolume), moves /dev into it
# and switch_root's to its /sbin/init (init= overrides). Any failure prints
# one "E2E-DISK-INITRD-ERROR ..." line and powers off, so the VMM exits
# instead of hanging.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

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
fstype=btrfs
mode=ro
init=/sbin/init
wait_s=30
# shellcheck disable=SC2013 # words, not lines
for w in $(cat /proc/cmdline); do
	case $w in
	root=*) root=${w#root=} ;;
	rootfstype=*) fstype=${w#rootfstype=} ;;
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

# fs_uuid DEV: the UUID of the btrfs or ext2/3/4 file system on DEV, from
# its superblock. btrfs: superblock at 64 KiB, magic "_BHRfS_M" at +0x40,
# fsid at +0x20. ext: superblock at 1 KiB, magic 0xef53 at +56, UUID at +104.
fs_uuid()
{
	magic=$(dd if="$1" bs=1 skip=$((65536 + 64)) count=8 2>/dev/null)
	if [ "$magic" = _BHRfS_M ]; then
		uuid_at "$1" $((65536 + 32))
		return 0
	fi
	magic=$(dd if="$1" bs=1 skip=1080 count=2 2>/dev/null | hexdump -v -e '2/1 "%02x"')
	[ "$magic" = 53ef ] || return 1
	uuid_at "$1" 1128
}

# The device for root=: busybox findfs, else a scan of the block devices'
# superblocks for UUID= (in case findfs lacks the btrfs or ext probe).
find_root()
{
	case $root in
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

mkdir -p /sysroot
mount -t "$fstype" -o "$mode" "$dev" /sysroot || fail "cannot mount $dev ($root) as $fstype"
[ -x "/sysroot$init" ] || fail "no executable $init on $dev"
echo "initramfs: root $root is $dev ($fstype, $mode); switching to $init"

mkdir -p /sysroot/dev
mount --move /dev /sysroot/dev
umount /sys
umount /proc
exec switch_root /sysroot "$init"
