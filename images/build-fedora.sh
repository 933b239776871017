#!/bin/sh
# images/build-fedora.sh — build a Fedora-layout test disk for vmm's disk
# boot: the partitions, boot files and btrfs subvolumes of a Fedora cloud
# image, with the installed Debian kernel and busybox inside, made without
# root privileges or loop devices (images/lib-disk.sh says how). Two
# layouts (--layout):
#
# f40 (default), OUTDIR/fedora-layout.qcow2: Fedora 40-43, /boot on ext4
#   GPT  1 BIOS boot    1 MiB  (empty: no GRUB core here)
#        2 EFI system  16 MiB  vfat, EFI/fedora/grub.cfg pointing at /boot
#        3 /boot      256 MiB  ext4, label boot:
#            vmlinuz-KVER, initramfs-KVER.img (images/fedora-initrd-init.sh),
#            loader/entries/MID-KVER.conf      options $kernelopts
#            loader/entries/MID-OLDVER.conf    an older version, own options
#            loader/entries/MID-0-rescue.conf  Fedora's rescue entry
#            grub2/grubenv (kernelopts=, saved_entry=MID-KVER), grub2/grub.cfg
#        4 root       749 MiB  btrfs, label root, subvolumes root (/, hence
#            rootflags=subvol=root in kernelopts: busybox, /sbin/init from
#            images/fedora-init.sh, Fedora's os-release and fstab), home, var
#
# f44, OUTDIR/fedora44-layout.qcow2: Fedora 44+, everything in one btrfs
#   GPT  1 BIOS boot    2 MiB
#        2 EFI system  16 MiB  vfat, EFI/fedora/grub.cfg pointing at
#                              the boot subvolume's grub2/
#        3 btrfs     1004 MiB  label fedora, flat top-level subvolumes
#            (no default subvolume), every file zstd:1 where it compresses:
#            boot   vmlinuz-KVER, initramfs-KVER.img (an uncompressed cpio
#                   here, so that btrfs stores it as zstd extents), the
#                   same three loader/entries naming /boot/vmlinuz-KVER
#                   (paths from the top level, as GRUB reads btrfs) with
#                   the options written out, as current Fedora writes
#                   them, grub2/grubenv (saved_entry), grub2/grub.cfg
#            root   / as in f40; home, var
#
# Next to the image, OUTDIR/NAME.manifest: the facts a test checks
# (default entry and its options, kernel version, UUIDs, the image's
# sha256) as shell assignments, the same names for both layouts.
#
# The image is a compressed (zlib) qcow2, version 3. Everything that can be
# is fixed (UUIDs, times, hash seeds): the ESP and the ext4 /boot are the
# same bytes from the same inputs; a btrfs is not (images/lib-disk.sh).
# The manifest's sha256 is that of the image it was written with;
# --if-stale goes by the inputs' times, not by content.
#
# --arch arm64 makes the same layouts for the nested aarch64 test host
# (build/arm64/images by default): the kernel, modules and busybox are the
# arm64 packages images/build-arm64.sh unpacked (ARM_BUILD/debroot), the
# one kernel there for both layouts; everything else is the same bytes.
#
# usage: images/build-fedora.sh [--if-stale] [--layout f40|f44] [--arch amd64|arm64] [OUTDIR]
#        images/build-fedora.sh --overlay OVERLAY [BASE]
#   --if-stale   do nothing when the image is newer than everything it is
#                built from
#   --layout     which Fedora's layout (default f40)
#   --overlay    make OVERLAY, a qcow2 whose backing file is BASE (default
#                build/images/fedora-layout.qcow2): boots write there and
#                BASE stays as built
# env: KVER (kernel version, default: newest installed), KEEP_RAW=1 (keep
#      the raw disk as OUTDIR/NAME.raw)

cd "$(dirname "$0")/.."
. images/lib.sh
. images/lib-disk.sh

if [ "${1:-}" = "--overlay" ]; then
	[ $# -ge 2 ] || img__die "usage: $0 --overlay OVERLAY [BASE]"
	base=${3:-build/images/fedora-layout.qcow2}
	[ -e "$base" ] || img__die "$base is missing (run $0 first)"
	base=$(readlink -f "$base")
	exec qemu-img create -q -f qcow2 -o compat=1.1 -b "$base" -F qcow2 "$2"
fi

if_stale=0
layout=f40
arch=amd64
while [ $# -gt 0 ]; do
	case $1 in
	--if-stale) if_stale=1 ;;
	--layout) [ $# -ge 2 ] || img__die "--layout needs f40 or f44"; layout=$2; shift ;;
	--layout=*) layout=${1#--layout=} ;;
	--arch) [ $# -ge 2 ] || img__die "--arch needs amd64 or arm64"; arch=$2; shift ;;
	--arch=*) arch=${1#--arch=} ;;
	-*) img__die "unknown option $1 (usage: $0 [--if-stale] [--layout f40|f44] [--arch amd64|arm64] [OUTDIR])" ;;
	*) break ;;
	esac
	shift
done
case $arch in
amd64) outdir=${1:-build/images} ;;
arm64)
	ARM_BUILD=${ARM_BUILD:-build/arm64}
	outdir=${1:-$ARM_BUILD/images}
	img__use_debroot "$ARM_BUILD/debroot"
	;;
*) img__die "unknown --arch $arch (amd64 or arm64)" ;;
esac

# Everything fixed, for a reproducible image: UUIDs (the machine id is
# the one /etc/machine-id holds), partition offsets and sizes in MiB, and
# every time stamp: the day the version came out (Fedora 40: 2024-04-23)
# or, for 44, a day in its release month.
MID=4f3a6c1e9b2d4e7f8a0b1c2d3e4f5a6b
DISK_MIB=1024
case $layout in
f40)
	NAME=fedora-layout
	VERSION_ID=40
	EPOCH=1713830400
	DISK_GUID=0d1e2f30-4152-6374-8596-a7b8c9dae2e0
	G=0d1e2f30-4152-6374-8596-a7b8c9dae2e   # partition n's GUID is $G$n
	ESP_VOLID=4E1FC0DE
	BOOT_UUID=b007b007-1e57-4c0d-9e39-000000000003
	ROOT_UUID=f39f39f3-1e57-4c0d-9e39-000000000004
	ROOT_LABEL=root
	P1_AT=1; P1_MIB=1
	P2_AT=2; P2_MIB=16
	P3_AT=18; P3_MIB=256
	P4_AT=274; P4_MIB=749
	ROOT_PART=4
	;;
f44)
	NAME=fedora44-layout
	VERSION_ID=44
	EPOCH=1776124800
	DISK_GUID=44f44f44-4152-6374-8596-a7b8c9dae2e0
	G=44f44f44-4152-6374-8596-a7b8c9dae2e
	ESP_VOLID=44EFC0DE
	ROOT_UUID=44f44f44-1e57-4c0d-9e39-000000000003
	BOOT_UUID=$ROOT_UUID
	ROOT_LABEL=fedora
	P1_AT=1; P1_MIB=2
	P2_AT=3; P2_MIB=16
	P3_AT=19; P3_MIB=1004
	ROOT_PART=3
	;;
*)
	img__die "unknown layout '$layout' (f40 or f44)"
	;;
esac
ROOT_DEVUUID=${ROOT_UUID%?}d
image=$outdir/$NAME.qcow2
# What the Fedora guest's options become for Debian's kernel and the
# busybox test guest: serial console, reboot through the keyboard
# controller, no reboot loop on a panic.
if [ "$layout" = f40 ]; then
	KERNELOPTS="root=UUID=$ROOT_UUID ro rootflags=subvol=root console=ttyS0 reboot=k panic=-1"
else
	KERNELOPTS="root=UUID=$ROOT_UUID ro rootflags=subvol=root no_timer_check console=ttyS0,115200n8 systemd.firstboot=off reboot=k panic=-1"
fi

if [ $if_stale -eq 1 ] && [ -e "$outdir/$NAME.manifest" ] && ! img__is_stale "$image"; then
	exit 0
fi
img__need_tools sfdisk mke2fs mkfs.vfat mmd mcopy qemu-img mkfs.btrfs btrfs
export E2FSPROGS_FAKE_TIME=$EPOCH SOURCE_DATE_EPOCH=$EPOCH TZ=UTC

# Fedora 44 ships a far newer kernel than Debian 12: its layout gets the
# newer series (6.12 from bookworm-backports), so disk boots run both.
if [ "$layout" = f44 ]; then
	img__disk_start fedora "$IMG_KERNEL_SERIES_NEW"
else
	img__disk_start fedora
fi
rescue=0-rescue-$MID
img__input images/build-fedora.sh

# --- the btrfs tree (subvolumes are its top directories) and /boot ---
top=$WORK/top
mkdir -p "$top/home" "$top/var/lib" "$top/var/log" "$top/var/tmp"
if [ "$layout" = f40 ]; then
	bootd=$WORK/boot
	lpath=           # entries name files from /boot's own top
else
	bootd=$top/boot
	lpath=/boot      # ... or from the btrfs top level
fi
mkdir -p "$bootd/loader/entries" "$bootd/grub2" "$bootd/efi"
img__test_initramfs "$kver" "$WORK/initramfs.img"
img__copy_file "$IMG_BOOT/vmlinuz-$kver" "$bootd" "/vmlinuz-$kver"
if [ "$layout" = f40 ]; then
	cp "$WORK/initramfs.img" "$bootd/initramfs-$kver.img"
else
	gzip -dc "$WORK/initramfs.img" > "$bootd/initramfs-$kver.img"
fi
# The older and the rescue kernels are the same files (hard links: stored
# once); which entry booted shows on the kernel command line.
for v in "$oldver" "$rescue"; do
	ln "$bootd/vmlinuz-$kver" "$bootd/vmlinuz-$v"
	ln "$bootd/initramfs-$kver.img" "$bootd/initramfs-$v.img"
done
chmod 755 "$bootd/vmlinuz-$kver"
chmod 600 "$bootd/initramfs-$kver.img"

# entry ID VERSION OPTIONS: a loader entry as Fedora's kernel-install writes it.
entry()
{
	cat > "$bootd/loader/entries/$1.conf" <<EOF
title Fedora Linux ($2) $VERSION_ID (Cloud Edition)
version $2
linux $lpath/vmlinuz-$2
initrd $lpath/initramfs-$2.img
options $3
grub_users \$grub_users
grub_arg --unrestricted
grub_class fedora
EOF
}
if [ "$layout" = f40 ]; then
	# shellcheck disable=SC2016 # a literal $kernelopts, for GRUB to expand
	entry "$MID-$kver" "$kver" '$kernelopts'
else
	entry "$MID-$kver" "$kver" "$KERNELOPTS"
fi
entry "$MID-$oldver" "$oldver" "root=UUID=$ROOT_UUID ro rootflags=subvol=root console=ttyS0 reboot=k panic=-1 e2e_entry=old"
entry "$MID-0-rescue" "$rescue" "root=UUID=$ROOT_UUID ro rootflags=subvol=root console=ttyS0 reboot=k panic=-1 e2e_entry=rescue"
{
	printf 'saved_entry=%s\n' "$MID-$kver"
	printf 'menu_auto_hide=1\n'
	printf 'boot_success=0\n'
	[ "$layout" = f44 ] || printf 'kernelopts=%s\n' "$KERNELOPTS"
} | img__grubenv "$bootd/grub2/grubenv"
if [ "$layout" = f40 ]; then
	fsmod=ext2 grub_dir=/grub2
else
	fsmod=btrfs grub_dir=/boot/grub2
fi
cat > "$bootd/grub2/grub.cfg" <<EOF
# Trimmed from grub2-mkconfig on Fedora $VERSION_ID: the menu comes from
# the loader entries (blscfg)$( [ "$layout" = f40 ] && echo ', kernelopts from grubenv').
set pager=1
if [ -f \${config_directory}/grubenv ]; then
  load_env -f \${config_directory}/grubenv
elif [ -s \$prefix/grubenv ]; then
  load_env
fi
if [ "\${next_entry}" ] ; then
   set default="\${next_entry}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="\${saved_entry}"
fi
terminal_output console
set timeout=5
insmod part_gpt
insmod $fsmod
search --no-floppy --fs-uuid --set=root $BOOT_UUID
insmod blscfg
blscfg
EOF

# --- the root file system: the root subvolume ---
rootd=$top/root
img__test_root "$rootd" "$MID" fedora
{
	echo "UUID=$ROOT_UUID / btrfs subvol=root,compress=zstd:1 0 0"
	if [ "$layout" = f40 ]; then
		echo "UUID=$BOOT_UUID /boot ext4 defaults 1 2"
	else
		echo "UUID=$ROOT_UUID /boot btrfs subvol=boot,compress=zstd:1 0 0"
	fi
	echo "UUID=$ROOT_UUID /home btrfs subvol=home,compress=zstd:1 0 0"
	echo "UUID=$ROOT_UUID /var btrfs subvol=var,compress=zstd:1 0 0"
	echo "UUID=$(echo "$ESP_VOLID" | cut -c 1-4)-$(echo "$ESP_VOLID" | cut -c 5-8) /boot/efi vfat umask=0077,shortname=winnt 0 2"
} > "$rootd/etc/fstab"
cat > "$rootd/etc/os-release" <<EOF
NAME="Fedora Linux"
VERSION="$VERSION_ID (Cloud Edition)"
ID=fedora
VERSION_ID=$VERSION_ID
VERSION_CODENAME=""
PLATFORM_ID="platform:f$VERSION_ID"
PRETTY_NAME="Fedora Linux $VERSION_ID (Cloud Edition)"
ANSI_COLOR="0;38;2;60;110;180"
CPE_NAME="cpe:/o:fedoraproject:fedora:$VERSION_ID"
HOME_URL="https://fedoraproject.org/"
VARIANT="Cloud Edition"
VARIANT_ID=cloud
EOF
img__set_mtimes "$WORK" "$EPOCH"

# --- the file systems ---
cat > "$WORK/esp-grub.cfg" <<EOF
search --no-floppy --fs-uuid --set=dev $BOOT_UUID
set prefix=(\$dev)$grub_dir

export \$prefix
configfile \$prefix/grub.cfg
EOF
img__esp "$WORK/esp.img" $P2_MIB "$ESP_VOLID" EFI/fedora
subvols="--subvol rw:root --subvol rw:home --subvol rw:var"
if [ "$layout" = f40 ]; then
	img__mkext4 "$bootd" boot "$BOOT_UUID" "$WORK/boot.img" $P3_MIB
	root_at=$P4_AT root_mib=$P4_MIB
else
	subvols="$subvols --subvol rw:boot"
	root_at=$P3_AT root_mib=$P3_MIB
fi
# shellcheck disable=SC2086 # one word per option
img__mkbtrfs "$top" "$ROOT_LABEL" "$ROOT_UUID" "$ROOT_DEVUUID" "$WORK/root.img" "$root_mib" \
	$subvols --compress zstd:1

# --- the disk: GPT, then each partition image dd'd into place ---
raw=$WORK/disk.raw
s=2048 # sectors per MiB
{
	echo "start=$((P1_AT * s)), size=$((P1_MIB * s)), type=$IMG_GPT_BIOS, uuid=${G}1, name=\"p.legacy\""
	echo "start=$((P2_AT * s)), size=$((P2_MIB * s)), type=$IMG_GPT_ESP, uuid=${G}2, name=\"p.UEFI\""
	if [ "$layout" = f40 ]; then
		echo "start=$((P3_AT * s)), size=$((P3_MIB * s)), type=$IMG_GPT_LINUX, uuid=${G}3, name=\"p.xboot\""
	fi
	echo "start=$((root_at * s)), size=$((root_mib * s)), type=$IMG_GPT_LINUX, uuid=${G}$ROOT_PART, name=\"p.lxroot\""
} | img__gpt "$raw" $DISK_MIB
img__place "$WORK/esp.img" "$raw" $P2_AT
[ "$layout" = f44 ] || img__place "$WORK/boot.img" "$raw" $P3_AT
img__place "$WORK/root.img" "$raw" "$root_at"
rm -f "$WORK/esp.img" "$WORK/boot.img" "$WORK/root.img"

# --- read it back the way a boot loader and the initramfs would ---
nparts=$(sfdisk --json "$raw" | grep -c '"node"')
[ "$nparts" -eq $ROOT_PART ] || img__die "the disk has $nparts partitions, not $ROOT_PART"
out=$WORK/check
img__extract "$raw" "$root_at" "$root_mib" "$WORK/root.check"
img__check_btrfs "$WORK/root.check" "$ROOT_LABEL" "$ROOT_UUID"
for sv in root home var $( [ "$layout" = f44 ] && echo boot); do
	[ -n "$(img__btrfs_subvol_id "$WORK/root.check" $sv)" ] || img__die "btrfs: no top-level subvolume $sv"
done
# No default subvolume: "default" in the root tree's directory still
# points at the top level (FS_TREE), as on Fedora.
btrfs inspect-internal dump-tree -t root "$WORK/root.check" 2>/dev/null |
	grep -A 3 'key (ROOT_TREE_DIR DIR_ITEM' | grep -q 'location key (FS_TREE ROOT_ITEM' ||
	img__die "btrfs: a default subvolume is set"
img__btrfs_restore "$WORK/root.check" "$(img__btrfs_subvol_id "$WORK/root.check" root)" \
	'^/(|sbin(|/init)|etc(|/os-release))$' "$out/root"
cmp -s "$out/root/sbin/init" images/fedora-init.sh || img__die "root: /sbin/init does not read back"
cmp -s "$out/root/etc/os-release" "$rootd/etc/os-release" || img__die "root: /etc/os-release does not read back"
if [ "$layout" = f40 ]; then
	img__extract "$raw" $P3_AT $P3_MIB "$WORK/boot.check"
	mkdir -p "$out/boot/loader/entries" "$out/boot/grub2"
	for f in $(debugfs -R 'ls /loader/entries' "$WORK/boot.check" 2>/dev/null | tr -s ' \t' '\n' | grep '\.conf$'); do
		debugfs -R "cat /loader/entries/$f" "$WORK/boot.check" > "$out/boot/loader/entries/$f" 2>/dev/null
	done
	debugfs -R 'cat /grub2/grubenv' "$WORK/boot.check" > "$out/boot/grub2/grubenv" 2>/dev/null
else
	id=$(img__btrfs_subvol_id "$WORK/root.check" boot)
	img__btrfs_restore "$WORK/root.check" "$id" '^/(|loader(|/entries(|/.*))|grub2(|/grubenv)|vmlinuz-.*|initramfs-.*)$' "$out/boot"
	for f in "vmlinuz-$kver" "initramfs-$kver.img"; do
		cmp -s "$out/boot/$f" "$bootd/$f" || img__die "boot subvolume: $f does not read back"
		# shellcheck disable=SC2046 # "Z N"
		set -- $(img__btrfs_extents "$WORK/root.check" "$id" "$f")
		[ "$1" -gt 0 ] || img__die "boot subvolume: $f has no zstd extent (of $2)"
		img__log "$NAME: $f: $1 of $2 extents zstd"
	done
fi
ents=$(find "$out/boot/loader/entries" -name '*.conf' | wc -l)
[ "$ents" -eq 3 ] || img__die "/boot has $ents loader entries, not 3"
grep -qx "linux $lpath/vmlinuz-$kver" "$out/boot/loader/entries/$MID-$kver.conf" ||
	img__die "/boot: the default entry does not read back"
genv=$(wc -c < "$out/boot/grub2/grubenv")
[ "$genv" -eq 1024 ] || img__die "/boot/grub2/grubenv is $genv bytes, not 1024"
rm -rf "$out" "$WORK/root.check" "$WORK/boot.check"

img__qcow2 "$raw" "$image"
# What a test needs to know about the image, as shell assignments.
cat > "$outdir/$NAME.manifest" <<EOF
# $image: written by images/build-fedora.sh --layout $layout --arch $arch
FEDORA_LAYOUT=$layout
FEDORA_ARCH=$arch
FEDORA_SHA256=$(sha256sum "$image" | cut -d' ' -f1)
FEDORA_KVER=$kver
FEDORA_DEFAULT_ENTRY=$MID-$kver
FEDORA_OLD_VERSION=$oldver
FEDORA_RESCUE_VERSION=$rescue
FEDORA_MACHINE_ID=$MID
FEDORA_BOOT_UUID=$BOOT_UUID
FEDORA_ROOT_UUID=$ROOT_UUID
FEDORA_ROOT_PART=$ROOT_PART
FEDORA_ROOT_SUBVOL=root
FEDORA_KERNELOPTS="$KERNELOPTS"
FEDORA_DISK_MIB=$DISK_MIB
EOF
img__write_inputs "$image"

img__log "$image: $(du -k "$image" | cut -f1) KiB on disk, ${DISK_MIB} MiB virtual (Fedora $VERSION_ID layout, $arch kernel $kver; entries $kver (default), $oldver, $rescue; $IMG_INITRD_MODULES initramfs modules), built in $(img__elapsed "$start") s"
img__log "an overlay to boot from: images/build-fedora.sh --overlay OVERLAY.qcow2 $image"
