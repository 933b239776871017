#!/bin/sh
# images/build-fedora.sh — build the Fedora-layout test disk
# (OUTDIR/fedora-layout.qcow2, default build/images) for vmm's disk boot:
# the partition layout, /boot and btrfs root of a Fedora 39 cloud image,
# with the installed Debian kernel and busybox inside, made without root
# privileges or loop devices (sfdisk on a file, mkfs.vfat, mke2fs -d and
# mkfs.btrfs --rootdir on partition images, dd into place, qemu-img convert).
#
#   GPT  1 BIOS boot    1 MiB  (empty: no GRUB core here)
#        2 EFI system  16 MiB  vfat, EFI/fedora/grub.cfg pointing at /boot
#        3 /boot      256 MiB  ext4, label boot:
#            vmlinuz-KVER, initramfs-KVER.img (images/fedora-initrd-init.sh),
#            loader/entries/MID-KVER.conf      options $kernelopts
#            loader/entries/MID-OLDVER.conf    an older version, own options
#            loader/entries/MID-0-rescue.conf  Fedora's rescue entry
#            grub2/grubenv (kernelopts=, saved_entry=MID-KVER), grub2/grub.cfg
#        4 root       749 MiB  btrfs, label root: busybox, /sbin/init from
#            images/fedora-init.sh, Fedora 39's /etc/os-release. Fedora
#            puts / in a subvolume "root" (rootflags=subvol=root); mkfs.btrfs
#            6.2 cannot make subvolumes with --rootdir (no --subvol), so
#            here / is the top-level subvolume and the options have no
#            rootflags=.
#
# Next to it, OUTDIR/fedora-layout.manifest: the facts a test checks
# (default entry, kernel version, UUIDs, the image's sha256) as shell
# assignments.
#
# The image is a compressed (zlib) qcow2, version 3. Everything that can be
# is fixed (UUIDs, times, hash seeds): the ESP and /boot are the same bytes
# from the same inputs, the btrfs root is not, since mkfs.btrfs picks a
# random device UUID and chunk tree UUID and stamps the current time and
# each file's change time, none of which it lets us set. The manifest's
# sha256 is that of the image it was written with; --if-stale goes by the
# inputs' times, not by content.
#
# usage: images/build-fedora.sh [--if-stale] [OUTDIR]
#        images/build-fedora.sh --overlay OVERLAY [BASE]
#   --if-stale   do nothing when the image is newer than everything it is
#                built from
#   --overlay    make OVERLAY, a qcow2 whose backing file is BASE (default
#                build/images/fedora-layout.qcow2): boots write there and
#                BASE stays as built
# env: KVER (kernel version, default: newest installed), KEEP_RAW=1 (keep
#      the raw disk as OUTDIR/fedora-layout.raw)

cd "$(dirname "$0")/.."
. images/lib.sh

if [ "${1:-}" = "--overlay" ]; then
	[ $# -ge 2 ] || img__die "usage: $0 --overlay OVERLAY [BASE]"
	base=${3:-build/images/fedora-layout.qcow2}
	[ -e "$base" ] || img__die "$base is missing (run $0 first)"
	base=$(readlink -f "$base")
	exec qemu-img create -q -f qcow2 -o compat=1.1 -b "$base" -F qcow2 "$2"
fi

if_stale=0
if [ "${1:-}" = "--if-stale" ]; then
	if_stale=1
	shift
fi
outdir=${1:-build/images}
image=$outdir/fedora-layout.qcow2

if [ $if_stale -eq 1 ] && [ -e "$outdir/fedora-layout.manifest" ] && ! img__is_stale "$image"; then
	exit 0
fi

for t in sfdisk mke2fs mkfs.vfat mmd mcopy qemu-img mkfs.btrfs btrfs; do
	command -v "$t" > /dev/null ||
		img__die "$t not found (apt-get install fdisk e2fsprogs dosfstools mtools qemu-utils btrfs-progs)"
done

# Everything fixed, for a reproducible image. Fedora 39 came out on
# 2023-11-07; the machine id is the one /etc/machine-id holds.
EPOCH=1699315200
MID=4f3a6c1e9b2d4e7f8a0b1c2d3e4f5a6b
DISK_GUID=0d1e2f30-4152-6374-8596-a7b8c9dae2e0
BIOS_PARTUUID=0d1e2f30-4152-6374-8596-a7b8c9dae2e1
ESP_PARTUUID=0d1e2f30-4152-6374-8596-a7b8c9dae2e2
BOOT_PARTUUID=0d1e2f30-4152-6374-8596-a7b8c9dae2e3
ROOT_PARTUUID=0d1e2f30-4152-6374-8596-a7b8c9dae2e4
ESP_VOLID=4E1FC0DE
BOOT_UUID=b007b007-1e57-4c0d-9e39-000000000003
ROOT_UUID=f39f39f3-1e57-4c0d-9e39-000000000004
# Partition offsets and sizes in MiB, and the disk size.
P1_AT=1; P1_MIB=1
P2_AT=2; P2_MIB=16
P3_AT=18; P3_MIB=256
P4_AT=274; P4_MIB=749
DISK_MIB=1024
# Debian's kernel command line needs for the test guest: serial console,
# reboot through the keyboard controller, no reboot loop on a panic.
KERNELOPTS="root=UUID=$ROOT_UUID ro console=ttyS0 reboot=k panic=-1"
export E2FSPROGS_FAKE_TIME=$EPOCH SOURCE_DATE_EPOCH=$EPOCH TZ=UTC

start=$(date +%s.%N)
kver=$(img__kernel_version)
# An older version that sorts first as a string but second as a version
# (6.1.0-9 < 6.1.0-56): picking the newest entry by strcmp is caught.
oldver=$(echo "$kver" | awk -F- '
	$2 ~ /^[0-9]+$/ && $2 >= 10 { $2 = 9; OFS = "-"; $1 = $1; print; exit }
	$2 ~ /^[0-9]+$/ && $2 >= 1 { $2 = $2 - 1; OFS = "-"; $1 = $1; print; exit }
	{ print "1.0.0-1-old" }')
rescue=0-rescue-$MID

work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-fedora.XXXXXX")
trap 'rm -rf "$work"' EXIT
img__input images/lib.sh
img__input images/build-fedora.sh
img__input images/fedora-init.sh
img__input images/fedora-initrd-init.sh

# --- the initramfs (/boot/initramfs-KVER.img) ---
ird=$work/initramfs
mkdir -p "$ird/proc" "$ird/sys" "$ird/dev" "$ird/sysroot" "$ird/etc"
img__busybox "$ird"
img__copy_file images/fedora-initrd-init.sh "$ird" /init
chmod 755 "$ird/init"
# virtio_pci is a module in Debian's kernel (CONFIG_VIRTIO_PCI=m), as are
# virtio_blk, btrfs for the root (zstd_compress, raid6_pq, xor,
# blake2b_generic, libcrc32c and its crc32c-intel/crc32c_generic), ext4 for
# /boot (jbd2, mbcache, crc16) and vfat (fat); the seed's vfat needs the
# default code page (437) and iocharset (ascii).
img__modules "$kver" "$ird" virtio_pci virtio_blk btrfs ext4 vfat nls_cp437 nls_ascii nls_iso8859-1 nls_utf8
grep -qx btrfs.ko "$ird/etc/modules.load" || img__die "initramfs: btrfs.ko is not in the load list"
img__set_mtimes "$ird" $EPOCH
img__pack "$ird" "$work/initramfs.img"
rm -f "$work/initramfs.img.inputs"

# --- /boot ---
bootd=$work/boot
mkdir -p "$bootd/loader/entries" "$bootd/grub2" "$bootd/efi"
img__copy_file "/boot/vmlinuz-$kver" "$bootd" "/vmlinuz-$kver"
cp "$work/initramfs.img" "$bootd/initramfs-$kver.img"
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
title Fedora Linux ($2) 39 (Thirty Nine)
version $2
linux /vmlinuz-$2
initrd /initramfs-$2.img
options $3
grub_users \$grub_users
grub_arg --unrestricted
grub_class fedora
EOF
}
# shellcheck disable=SC2016 # a literal $kernelopts, for GRUB to expand
entry "$MID-$kver" "$kver" '$kernelopts'
entry "$MID-$oldver" "$oldver" "root=UUID=$ROOT_UUID ro console=ttyS0 reboot=k panic=-1 e2e_entry=old"
entry "$MID-0-rescue" "$rescue" "root=UUID=$ROOT_UUID ro console=ttyS0 reboot=k panic=-1 e2e_entry=rescue"

# grubenv: a 1024-byte GRUB environment block, '#'-padded.
{
	printf '# GRUB Environment Block\n'
	printf '# WARNING: Do not edit this file by tools other than grub-editenv!!!\n'
	printf 'saved_entry=%s\n' "$MID-$kver"
	printf 'menu_auto_hide=1\n'
	printf 'boot_success=0\n'
	printf 'kernelopts=%s\n' "$KERNELOPTS"
} > "$work/grubenv.head"
n=$(wc -c < "$work/grubenv.head")
[ "$n" -le 1024 ] || img__die "grubenv text is $n bytes, over 1024"
{ cat "$work/grubenv.head"; head -c $((1024 - n)) /dev/zero | tr '\0' '#'; } > "$bootd/grub2/grubenv"
cat > "$bootd/grub2/grub.cfg" <<'EOF'
# Trimmed from grub2-mkconfig on Fedora 39: the menu comes from
# /boot/loader/entries (blscfg), kernelopts from grubenv.
set pager=1
if [ -f ${config_directory}/grubenv ]; then
  load_env -f ${config_directory}/grubenv
elif [ -s $prefix/grubenv ]; then
  load_env
fi
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
   set next_entry=
   save_env next_entry
   set boot_once=true
else
   set default="${saved_entry}"
fi
terminal_output console
set timeout=5
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root BOOT_UUID
insmod blscfg
blscfg
EOF
sed -i "s/BOOT_UUID/$BOOT_UUID/" "$bootd/grub2/grub.cfg"
img__set_mtimes "$bootd" $EPOCH

# --- the root file system ---
rootd=$work/root
mkdir -p "$rootd/proc" "$rootd/sys" "$rootd/dev" "$rootd/tmp" "$rootd/run" \
	"$rootd/root" "$rootd/etc" "$rootd/boot/efi" "$rootd/data" "$rootd/mnt" "$rootd/var"
img__busybox "$rootd"
rm -f "$rootd/sbin/init"
img__copy_file images/fedora-init.sh "$rootd" /sbin/init
chmod 755 "$rootd/sbin/init"
chmod 1777 "$rootd/tmp"
chmod 700 "$rootd/root"
echo "root:x:0:0:root:/root:/bin/sh" > "$rootd/etc/passwd"
echo "root:x:0:" > "$rootd/etc/group"
echo "fedora" > "$rootd/etc/hostname"
echo "$MID" > "$rootd/etc/machine-id"
cat > "$rootd/etc/fstab" <<EOF
UUID=$ROOT_UUID / btrfs defaults 0 0
UUID=$BOOT_UUID /boot ext4 defaults 1 2
UUID=$ESP_VOLID /boot/efi vfat umask=0077,shortname=winnt 0 2
EOF
sed -i 's/^UUID=\([0-9A-F]\{4\}\)\([0-9A-F]\{4\}\) /UUID=\1-\2 /' "$rootd/etc/fstab"
cat > "$rootd/etc/os-release" <<'EOF'
NAME="Fedora Linux"
VERSION="39 (Thirty Nine)"
ID=fedora
VERSION_ID=39
VERSION_CODENAME=""
PLATFORM_ID="platform:f39"
PRETTY_NAME="Fedora Linux 39 (Thirty Nine)"
ANSI_COLOR="0;38;2;60;110;180"
CPE_NAME="cpe:/o:fedoraproject:fedora:39"
HOME_URL="https://fedoraproject.org/"
SUPPORT_END=2024-11-12
EOF
echo 'PS1="\h:\w# "' > "$rootd/etc/profile"
img__set_mtimes "$rootd" $EPOCH

# --- the EFI system partition ---
esp=$work/esp.img
mkfs.vfat --invariant -i "$ESP_VOLID" -n EFI -C "$esp" $((P2_MIB * 1024)) > /dev/null ||
	img__die "mkfs.vfat failed"
cat > "$work/grub.cfg" <<EOF
search --no-floppy --fs-uuid --set=dev $BOOT_UUID
set prefix=(\$dev)/grub2

export \$prefix
configfile \$prefix/grub.cfg
EOF
touch -d "@$EPOCH" "$work/grub.cfg"
MTOOLS_SKIP_CHECK=1 mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/fedora
MTOOLS_SKIP_CHECK=1 mcopy -m -i "$esp" "$work/grub.cfg" ::/EFI/fedora/grub.cfg

# --- the ext4 file system (/boot) ---
# mke2fs -d copies a directory tree in without mounting anything. It takes
# each inode's change time from the source file, which no one can set, so
# debugfs sets them afterwards: root (2) and the files (11 up; a fresh file
# system allocates inodes in order, so the used ones are 1..N).
mkext4()
{
	mke2fs -q -F -t ext4 -b 4096 -d "$1" -L "$2" -U "$3" -E "hash_seed=$3,root_owner=0:0" \
		"$4" "$5M" > /dev/null || img__die "mke2fs for $2 failed"
	used=$(dumpe2fs -h "$4" 2>/dev/null | awk -F: '
		/^Inode count/ { c = $2 } /^Free inodes/ { f = $2 } END { print c - f }')
	[ "$used" -ge 11 ] || img__die "$2: cannot read the inode counts"
	{
		echo "sif <2> ctime @$EPOCH"
		i=11
		while [ $i -le "$used" ]; do
			echo "sif <$i> ctime @$EPOCH"
			i=$((i + 1))
		done
	} > "$work/ctime.cmds"
	debugfs -w -f "$work/ctime.cmds" "$4" > /dev/null 2>&1 || img__die "$2: debugfs failed"
}
mkext4 "$bootd" boot "$BOOT_UUID" "$work/boot.img" $P3_MIB

# --- the btrfs root ---
# mkfs.btrfs --rootdir copies a directory tree into a file system on a
# file, without mounting. Metadata DUP and data single, as Fedora's
# installer makes a single-disk btrfs (spelled out: defaults change). No
# subvolume (see the top): Fedora's "root" subvolume is not reproducible
# with this mkfs, so / is the top level and no rootflags=subvol=root.
mkbtrfs()
{
	rm -f "$4"
	truncate -s "$5M" "$4"
	# mkfs.btrfs refuses a UUID that libblkid's cache (/run/blkid) or a
	# probe of this machine's block devices finds: a private, empty cache
	# keeps an earlier "blkid" of some copy of this image from blocking
	# the fixed UUID.
	BLKID_FILE=$work/blkid.tab mkfs.btrfs -q -f -K -d single -m dup -r "$1" -L "$2" -U "$3" "$4" \
		> "$work/mkfs.btrfs.out" 2>&1 ||
		{ cat "$work/mkfs.btrfs.out" >&2; img__die "mkfs.btrfs for $2 failed"; }
}
mkbtrfs "$rootd" root "$ROOT_UUID" "$work/root.img" $P4_MIB

# --- the disk: GPT, then each partition image dd'd into place ---
raw=$work/disk.raw
truncate -s "${DISK_MIB}M" "$raw"
s=2048 # sectors per MiB
sfdisk --quiet --no-reread --no-tell-kernel "$raw" > /dev/null <<EOF || img__die "sfdisk failed"
label: gpt
label-id: $DISK_GUID
unit: sectors
first-lba: 2048
sector-size: 512

start=$((P1_AT * s)), size=$((P1_MIB * s)), type=21686148-6449-6E6F-744E-656564454649, uuid=$BIOS_PARTUUID, name="p.legacy"
start=$((P2_AT * s)), size=$((P2_MIB * s)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_PARTUUID, name="p.UEFI"
start=$((P3_AT * s)), size=$((P3_MIB * s)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$BOOT_PARTUUID, name="p.xboot"
start=$((P4_AT * s)), size=$((P4_MIB * s)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=$ROOT_PARTUUID, name="p.lxroot"
EOF
place()
{
	dd if="$1" of="$raw" bs=1M seek="$2" conv=notrunc,sparse status=none ||
		img__die "cannot write $1 into the disk"
}
place "$esp" $P2_AT
place "$work/boot.img" $P3_AT
place "$work/root.img" $P4_AT

# Read it back the way a boot loader would: the partition table, then the
# default entry and grubenv from the /boot partition as placed in the disk.
nparts=$(sfdisk --json "$raw" | grep -c '"node"')
[ "$nparts" -eq 4 ] || img__die "the disk has $nparts partitions, not 4"
dd if="$raw" of="$work/boot.check" bs=1M skip=$P3_AT count=$P3_MIB status=none
ents=$(debugfs -R 'ls /loader/entries' "$work/boot.check" 2>/dev/null | tr -s ' \t' '\n' | grep -c '\.conf$')
[ "$ents" -eq 3 ] || img__die "/boot has $ents loader entries, not 3"
debugfs -R "cat /loader/entries/$MID-$kver.conf" "$work/boot.check" 2>/dev/null |
	grep -qx "linux /vmlinuz-$kver" || img__die "/boot: the default entry does not read back"
genv=$(debugfs -R 'cat /grub2/grubenv' "$work/boot.check" 2>/dev/null | wc -c)
[ "$genv" -eq 1024 ] || img__die "/boot/grub2/grubenv is $genv bytes, not 1024"
rm -f "$work/boot.check"
# ... and the root as the initramfs finds it: btrfs magic, label and UUID
# in the superblock, a clean file system, and /sbin/init inside.
dd if="$raw" of="$work/root.check" bs=1M skip=$P4_AT count=$P4_MIB status=none
btrfs inspect-internal dump-super "$work/root.check" > "$work/root.super" 2>&1 ||
	img__die "root: btrfs inspect-internal dump-super failed"
grep -q '^magic[[:space:]]*_BHRfS_M \[match\]' "$work/root.super" || img__die "root: no btrfs magic"
grep -q "^label[[:space:]]*root\$" "$work/root.super" || img__die "root: the label is not 'root'"
grep -q "^fsid[[:space:]]*$ROOT_UUID\$" "$work/root.super" || img__die "root: the fsid is not $ROOT_UUID"
btrfs check --readonly "$work/root.check" > "$work/root.fsck" 2>&1 ||
	{ cat "$work/root.fsck" >&2; img__die "root: btrfs check failed"; }
mkdir "$work/root.out"
btrfs restore -i --path-regex '^/(|sbin(|/init)|etc(|/os-release))$' "$work/root.check" "$work/root.out" \
	> /dev/null 2>&1 || img__die "root: btrfs restore failed"
cmp -s "$work/root.out/sbin/init" images/fedora-init.sh || img__die "root: /sbin/init does not read back"
cmp -s "$work/root.out/etc/os-release" "$rootd/etc/os-release" || img__die "root: /etc/os-release does not read back"
rm -rf "$work/root.check" "$work/root.out"

mkdir -p "$outdir"
tmp=$image.tmp.$$
qemu-img convert -c -O qcow2 -o compat=1.1,compression_type=zlib "$raw" "$tmp" ||
	{ rm -f "$tmp"; img__die "qemu-img convert failed"; }
qemu-img check -q "$tmp" || { rm -f "$tmp"; img__die "qemu-img check of the new image failed"; }
mv "$tmp" "$image"
# What a test needs to know about the image, as shell assignments.
cat > "$outdir/fedora-layout.manifest" <<EOF
# $image: written by images/build-fedora.sh
FEDORA_SHA256=$(sha256sum "$image" | cut -d' ' -f1)
FEDORA_KVER=$kver
FEDORA_DEFAULT_ENTRY=$MID-$kver
FEDORA_OLD_VERSION=$oldver
FEDORA_RESCUE_VERSION=$rescue
FEDORA_MACHINE_ID=$MID
FEDORA_BOOT_UUID=$BOOT_UUID
FEDORA_ROOT_UUID=$ROOT_UUID
FEDORA_KERNELOPTS="$KERNELOPTS"
FEDORA_DISK_MIB=$DISK_MIB
EOF
if [ "${KEEP_RAW:-0}" = 1 ]; then
	mv "$raw" "$outdir/fedora-layout.raw"
fi
img__write_inputs "$image"

end=$(date +%s.%N)
img__log "$image: $(du -k "$image" | cut -f1) KiB on disk, ${DISK_MIB} MiB virtual (kernel $kver; entries $kver (default), $oldver, $rescue; $(wc -l < "$ird/etc/modules.load") initramfs modules), built in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
img__log "an overlay to boot from: images/build-fedora.sh --overlay OVERLAY.qcow2 $image"
