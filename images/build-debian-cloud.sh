#!/bin/sh
# images/build-debian-cloud.sh — build the Debian/Ubuntu-cloud-layout test
# disk (OUTDIR/debian-cloud-layout.qcow2, default build/images) for vmm's
# disk boot: the partitions and /boot of a Debian 12 genericcloud image,
# with the installed Debian kernel and busybox inside, made without root
# privileges or loop devices (images/lib-disk.sh says how).
#
#   GPT 14 BIOS boot    3 MiB at   1 MiB  (empty: no GRUB core here)
#       15 EFI system 124 MiB at   4 MiB  vfat, EFI/debian/grub.cfg
#                                         sending GRUB to /boot/grub
#        1 root       895 MiB at 128 MiB  ext4, no loader entries anywhere:
#            /boot/grub/grub.cfg as update-grub writes it (modelled on
#              tests/unit/data/grub-debian12-genericcloud.cfg): default 0,
#              the newest kernel, then an "Advanced options" submenu with
#              it, its recovery mode and an older version
#            /boot/grub/grubenv (empty, as grub-install leaves it)
#            /boot/vmlinuz-KVER, /boot/initrd.img-KVER (the busybox
#              initramfs of images/fedora-initrd-init.sh, which finds this
#              root by root=PARTUUID=), the older version's (hard links)
#            /vmlinuz, /initrd.img (and .old) symlinks, as the kernel
#              package's postinst makes them
#            busybox, /sbin/init from images/fedora-init.sh, Debian 12's
#              os-release, an fstab naming / and /boot/efi by PARTUUID
# Partition 1 lies after 14 and 15 on the disk, as in Debian's images
# (the root grows to the end of the disk on first boot).
#
# Next to it, OUTDIR/debian-cloud-layout.manifest: the facts a test checks
# (kernel version, the default entry's command line, PARTUUIDs, the
# image's sha256) as shell assignments. Every UUID and time is fixed: the
# same inputs give the same image.
#
# usage: images/build-debian-cloud.sh [--if-stale] [OUTDIR]
#   --if-stale   do nothing when the image is newer than everything it is
#                built from
# env: KVER (kernel version, default: newest installed), KEEP_RAW=1 (keep
#      the raw disk as OUTDIR/debian-cloud-layout.raw)

cd "$(dirname "$0")/.."
. images/lib.sh
. images/lib-disk.sh

if_stale=0
if [ "${1:-}" = "--if-stale" ]; then
	if_stale=1
	shift
fi
outdir=${1:-build/images}
NAME=debian-cloud-layout
image=$outdir/$NAME.qcow2
if [ $if_stale -eq 1 ] && [ -e "$outdir/$NAME.manifest" ] && ! img__is_stale "$image"; then
	exit 0
fi
img__need_tools sfdisk mke2fs mkfs.vfat mmd mcopy qemu-img debugfs

# Everything fixed, for a reproducible image. Debian 12 came out on
# 2023-06-10.
EPOCH=1686355200
DISK_GUID=de12de12-4152-6374-8596-a7b8c9dae2e0
ROOT_PARTUUID=de12de12-5a3d-4f8e-9b1c-7d2e4a6f8b01
BIOS_PARTUUID=de12de12-5a3d-4f8e-9b1c-7d2e4a6f8b0e
ESP_PARTUUID=de12de12-5a3d-4f8e-9b1c-7d2e4a6f8b0f
ROOT_UUID=de12de12-9c0f-4d0b-9a2b-3c1f5a7d2e11
ESP_VOLID=DE12C0DE
MID=de12a6c1e9b2d4e7f8a0b1c2d3e4f5a6
# Partition offsets and sizes in MiB (Debian's: 2048, 8192 and 262144
# sectors), and the disk size.
P14_AT=1; P14_MIB=3
P15_AT=4; P15_MIB=124
P1_AT=128; P1_MIB=895
DISK_MIB=1024
# GRUB_CMDLINE_LINUX_DEFAULT of Debian's cloud images, plus what the
# busybox test guest needs: reboot through the keyboard controller, no
# reboot loop on a panic. update-grub writes "ro  console=..." (two
# spaces: GRUB_CMDLINE_LINUX is empty); GRUB and vmm join the words with
# one, so the guest sees CMDLINE.
CMDLINE_DEFAULT="console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0 reboot=k panic=-1"
CMDLINE="root=PARTUUID=$ROOT_PARTUUID ro $CMDLINE_DEFAULT"
export E2FSPROGS_FAKE_TIME=$EPOCH SOURCE_DATE_EPOCH=$EPOCH TZ=UTC

img__disk_start debian
img__input images/build-debian-cloud.sh

# --- the root file system, /boot in it ---
rootd=$WORK/root
img__test_root "$rootd" "$MID" debian
bootd=$rootd/boot
mkdir -p "$bootd/grub"
img__copy_file "/boot/vmlinuz-$kver" "$bootd" "/vmlinuz-$kver"
img__test_initramfs "$kver" "$bootd/initrd.img-$kver"
# The older version is the same files (hard links: stored once); which
# entry booted shows on the kernel command line.
ln "$bootd/vmlinuz-$kver" "$bootd/vmlinuz-$oldver"
ln "$bootd/initrd.img-$kver" "$bootd/initrd.img-$oldver"
chmod 644 "$bootd/vmlinuz-$kver" "$bootd/initrd.img-$kver"
ln -s "boot/vmlinuz-$kver" "$rootd/vmlinuz"
ln -s "boot/initrd.img-$kver" "$rootd/initrd.img"
ln -s "boot/vmlinuz-$oldver" "$rootd/vmlinuz.old"
ln -s "boot/initrd.img-$oldver" "$rootd/initrd.img.old"
: | img__grubenv "$bootd/grub/grubenv"

# grub.cfg: the model's header, one top-level entry for the newest kernel,
# the submenu with it, its recovery mode and the older one, the model's
# trailer. The header and trailer are the model's lines (its UUID
# replaced); the entries are written here for this image's kernels.
model=tests/unit/data/grub-debian12-genericcloud.cfg
img__input "$model"
model_uuid=$(sed -n 's/.*search --no-floppy --fs-uuid --set=root \([0-9a-f-]*\).*/\1/p' "$model" | head -n 1)
[ -n "$model_uuid" ] || img__die "$model: no 'search --fs-uuid' line"
grep -q '^### BEGIN /etc/grub.d/10_linux ###$' "$model" && grep -q '^### END /etc/grub.d/10_linux ###$' "$model" ||
	img__die "$model: no 10_linux section"
# menuentry TITLE ID VERSION OPTIONS-AFTER-RO INDENT [EXTRA-LINES]
menuentry()
{
	i=$5
	cat <<EOF
${i}menuentry '$1' --class debian --class gnu-linux --class gnu --class os \$menuentry_id_option '$2-$ROOT_UUID' {
${i}	load_video
${i}	insmod gzio
${i}	if [ x\$grub_platform = xxen ]; then insmod xzio; insmod lzopio; fi
${i}	insmod part_gpt
${i}	insmod ext2
${i}	search --no-floppy --fs-uuid --set=root $ROOT_UUID
${i}	echo	'Loading Linux $3 ...'
${i}	linux	/boot/vmlinuz-$3 root=PARTUUID=$ROOT_PARTUUID ro $4
${i}	echo	'Loading initial ramdisk ...'
${i}	initrd	/boot/initrd.img-$3
${i}}
EOF
}
{
	sed -n '1,/^### BEGIN \/etc\/grub.d\/10_linux ###$/p' "$model" | sed "s/$model_uuid/$ROOT_UUID/g"
	sed -n '/^### BEGIN \/etc\/grub.d\/10_linux ###$/,/^menuentry /p' "$model" | sed '1d;$d'
	menuentry 'Debian GNU/Linux' gnulinux-simple "$kver" " $CMDLINE_DEFAULT" ""
	echo "submenu 'Advanced options for Debian GNU/Linux' \$menuentry_id_option 'gnulinux-advanced-$ROOT_UUID' {"
	menuentry "Debian GNU/Linux, with Linux $kver" "gnulinux-$kver-advanced" "$kver" " $CMDLINE_DEFAULT" "	"
	menuentry "Debian GNU/Linux, with Linux $kver (recovery mode)" "gnulinux-$kver-recovery" "$kver" "single $CMDLINE_DEFAULT e2e_entry=recovery" "	"
	menuentry "Debian GNU/Linux, with Linux $oldver" "gnulinux-$oldver-advanced" "$oldver" " $CMDLINE_DEFAULT e2e_entry=old" "	"
	echo "}"
	echo
	sed -n '/^### END \/etc\/grub.d\/10_linux ###$/,$p' "$model"
} > "$bootd/grub/grub.cfg"

cat > "$rootd/etc/fstab" <<EOF
PARTUUID=$ROOT_PARTUUID / ext4 rw,discard,errors=remount-ro,x-systemd.growfs 0 1
PARTUUID=$ESP_PARTUUID /boot/efi vfat defaults 0 0
EOF
cat > "$rootd/etc/os-release" <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
EOF
img__set_mtimes "$WORK" "$EPOCH"

# --- the file systems ---
cat > "$WORK/esp-grub.cfg" <<EOF
search.fs_uuid $ROOT_UUID root hd0,gpt1
set prefix=(\$root)'/boot/grub'
configfile \$prefix/grub.cfg
EOF
img__esp "$WORK/esp.img" $P15_MIB "$ESP_VOLID" EFI/debian
img__mkext4 "$rootd" "" "$ROOT_UUID" "$WORK/root.img" $P1_MIB

# --- the disk: GPT numbered as Debian's (the root's type is "Linux root
# (x86-64)", as in Debian's images), the file systems dd'd in ---
raw=$WORK/disk.raw
s=2048 # sectors per MiB
img__gpt "$raw" $DISK_MIB <<EOF
${raw}1 : start=$((P1_AT * s)), size=$((P1_MIB * s)), type=$IMG_GPT_ROOT_X86_64, uuid=$ROOT_PARTUUID
${raw}14 : start=$((P14_AT * s)), size=$((P14_MIB * s)), type=$IMG_GPT_BIOS, uuid=$BIOS_PARTUUID
${raw}15 : start=$((P15_AT * s)), size=$((P15_MIB * s)), type=$IMG_GPT_ESP, uuid=$ESP_PARTUUID
EOF
img__place "$WORK/esp.img" "$raw" $P15_AT
img__place "$WORK/root.img" "$raw" $P1_AT
rm -f "$WORK/esp.img" "$WORK/root.img"

# --- read it back as GRUB and the initramfs would ---
# The table: partitions 1, 14 and 15 (no 2..13), each where it belongs.
sfdisk -d "$raw" | sed -n "s|^$raw\([0-9]*\) : start= *\([0-9]*\),.*uuid=\([0-9A-F-]*\).*|\1 \2 \3|p" > "$WORK/parts"
printf '1 %s %s\n14 %s %s\n15 %s %s\n' \
	$((P1_AT * s)) "$(echo "$ROOT_PARTUUID" | tr a-f A-F)" \
	$((P14_AT * s)) "$(echo "$BIOS_PARTUUID" | tr a-f A-F)" \
	$((P15_AT * s)) "$(echo "$ESP_PARTUUID" | tr a-f A-F)" > "$WORK/parts.want"
cmp -s "$WORK/parts" "$WORK/parts.want" ||
	{ sfdisk -d "$raw" >&2; img__die "the partition table is not 1, 14, 15 as laid out"; }
img__extract "$raw" $P1_AT $P1_MIB "$WORK/root.check"
rb()
{
	debugfs -R "$1" "$WORK/root.check" 2>/dev/null
}
rb 'cat /boot/grub/grub.cfg' | cmp -s - "$bootd/grub/grub.cfg" || img__die "root: /boot/grub/grub.cfg does not read back"
rb "cat /boot/vmlinuz-$kver" | cmp -s - "/boot/vmlinuz-$kver" || img__die "root: the kernel does not read back"
rb "cat /boot/initrd.img-$kver" | cmp -s - "$bootd/initrd.img-$kver" || img__die "root: the initrd does not read back"
rb 'cat /sbin/init' | cmp -s - images/fedora-init.sh || img__die "root: /sbin/init does not read back"
[ "$(rb 'stat /vmlinuz' | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p')" = "boot/vmlinuz-$kver" ] ||
	img__die "root: /vmlinuz is not a link to boot/vmlinuz-$kver"
[ "$(rb 'cat /boot/grub/grubenv' | wc -c)" -eq 1024 ] || img__die "root: /boot/grub/grubenv is not 1024 bytes"
for d in / /boot; do
	rb "ls -p $d" | grep -q '/loader/' && img__die "root: $d has a loader/ directory"
done
rm -f "$WORK/root.check"

img__qcow2 "$raw" "$image"
cat > "$outdir/$NAME.manifest" <<EOF
# $image: written by images/build-debian-cloud.sh
DEBIAN_SHA256=$(sha256sum "$image" | cut -d' ' -f1)
DEBIAN_KVER=$kver
DEBIAN_OLD_VERSION=$oldver
DEBIAN_DEFAULT_TITLE="Debian GNU/Linux"
DEBIAN_CMDLINE="$CMDLINE"
DEBIAN_ROOT_PARTUUID=$ROOT_PARTUUID
DEBIAN_ESP_PARTUUID=$ESP_PARTUUID
DEBIAN_ROOT_UUID=$ROOT_UUID
DEBIAN_DISK_MIB=$DISK_MIB
EOF
img__write_inputs "$image"

img__log "$image: $(du -k "$image" | cut -f1) KiB on disk, ${DISK_MIB} MiB virtual (Debian 12 cloud layout, kernel $kver; grub.cfg default $kver, submenu $kver, recovery, $oldver; $IMG_INITRD_MODULES initramfs modules), built in $(img__elapsed "$start") s"
img__log "an overlay to boot from: qemu-img create -f qcow2 -b $(readlink -f "$image") -F qcow2 OVERLAY.qcow2"
