#!/bin/sh
# images/build-debian-system.sh — a real distribution for the end-to-end
# test of direct boot: Debian 12 built with mmdebstrap from Debian packages
# (systemd, cloud-init, openssh-server, the Debian cloud kernel, an
# initramfs-tools initramfs with btrfs and virtio), laid out the way Fedora
# 44+ cloud images are:
#
#   GPT  1 BIOS boot    2 MiB  (empty: no GRUB core here)
#        2 EFI system  32 MiB  vfat, empty EFI/
#        3 btrfs "fedora"      flat top-level subvolumes root, boot, home,
#                              var (no default subvolume), zstd:1 extents;
#                              BLS entries in the boot subvolume naming
#                              /boot/vmlinuz-KVER, grub2/grubenv beside them
#
# OUTDIR (default build/images/system) gets debian-system.qcow2 (a
# compressed qcow2 v3 base: boots write to an overlay), id_ed25519{,.pub}
# (a test key pair for the ssh login) and debian-system.manifest (facts a
# test checks, as shell assignments). The folder is what the nested test
# host sees at /images (9p, read-only).
#
# Needs root (mmdebstrap installs packages into a folder as root; nothing
# is mounted outside it) and Debian's mirror. Takes a few minutes; the
# image is ~200 MB. `--if-stale` skips the build when the image is newer
# than this script.
#
# usage: images/build-debian-system.sh [--if-stale] [OUTDIR]

cd "$(dirname "$0")/.."
. images/lib.sh

if_stale=0
if [ "${1:-}" = "--if-stale" ]; then
	if_stale=1
	shift
fi
outdir=${1:-build/images/system}
image=$outdir/debian-system.qcow2
if [ $if_stale -eq 1 ] && [ -e "$outdir/debian-system.manifest" ] && ! img__is_stale "$image"; then
	exit 0
fi
[ "$(id -u)" = 0 ] || img__die "building the Debian system image needs root (mmdebstrap)"
for t in mmdebstrap sfdisk mkfs.vfat mkfs.btrfs qemu-img ssh-keygen; do
	command -v "$t" > /dev/null ||
		img__die "$t not found (make deps: mmdebstrap fdisk dosfstools btrfs-progs qemu-utils openssh-client)"
done

UUID=44f44f44-1e57-4c0d-9e39-0000000000f4
MID=9d1e5c3b7a2f4e6d8c0b1a2f3e4d5c6b
DISK_MIB=2048
# What a Debian cloud image has that cloud-init's default modules use
# (locales for the locale module, sudo for the default user).
PACKAGES=systemd-sysv,udev,dbus,cloud-init,openssh-server,linux-image-cloud-amd64,initramfs-tools,btrfs-progs,zstd,ifupdown,isc-dhcp-client,netbase,iproute2,procps,less,locales,sudo
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-system.XXXXXX")
trap 'rm -rf "$work"' EXIT
img__input images/lib.sh
img__input images/build-debian-system.sh

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
img__log "mmdebstrap: Debian 12 with systemd, cloud-init, openssh-server and the cloud kernel"
sys=$work/sys
# The initramfs must find a btrfs root by UUID in a subvolume: btrfs in
# the module list (MODULES=most has it, say so anyway) and the btrfs
# tool's hook; update-initramfs runs again once the config is in place.
mmdebstrap --variant=apt --include="$PACKAGES" --components=main \
	--customize-hook='echo btrfs >> "$1/etc/initramfs-tools/modules"' \
	--customize-hook='echo virtio_blk >> "$1/etc/initramfs-tools/modules"' \
	--customize-hook='echo virtio_pci >> "$1/etc/initramfs-tools/modules"' \
	--customize-hook='chroot "$1" update-initramfs -u -k all' \
	--customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
	bookworm "$sys" "$mirror" > "$work/mmdebstrap.log" 2>&1 ||
	{ tail -n 30 "$work/mmdebstrap.log" >&2; img__die "mmdebstrap failed"; }
kver=$(ls "$sys/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -n 1)
[ -n "$kver" ] && [ -e "$sys/boot/initrd.img-$kver" ] || img__die "no kernel/initrd in the new system"

# --- the system's own settings --------------------------------------------
echo debian-f44 > "$sys/etc/hostname"
echo "$MID" > "$sys/etc/machine-id"
cat > "$sys/etc/fstab" <<EOF
UUID=$UUID / btrfs subvol=root,compress=zstd:1 0 0
UUID=$UUID /boot btrfs subvol=boot,compress=zstd:1 0 0
UUID=$UUID /home btrfs subvol=home,compress=zstd:1 0 0
UUID=$UUID /var btrfs subvol=var,compress=zstd:1 0 0
EOF
# cloud-init: the NoCloud seed vmm attaches is the only datasource; the
# network comes up by DHCP on the NIC (cloud-init's fallback), which the
# test serves from the host side of the tap.
# The locale is C.UTF-8, as in Debian's cloud images: cloud-init's
# default (en_US.UTF-8) is not generated here and its locale module fails.
cat > "$sys/etc/cloud/cloud.cfg.d/90-vmm-test.cfg" <<'EOF'
datasource_list: [ NoCloud, None ]
locale: C.UTF-8
EOF
echo 'LANG=C.UTF-8' > "$sys/etc/default/locale"
# The guest has no sshd host keys until cloud-init makes them (as in a
# cloud image: mmdebstrap's ran in this folder, and are gone).

# --- the Fedora 44 layout: subvolumes from folders -------------------------
top=$work/top
mkdir -p "$top"
mv "$sys" "$top/root"
for d in boot home var; do
	mv "$top/root/$d" "$top/$d"
	mkdir "$top/root/$d"
done
# BLS entries as kernel-install writes them on Fedora, paths from the top
# level (/boot/...), as Fedora 44's grub reads them.
mkdir -p "$top/boot/loader/entries" "$top/boot/grub2"
cat > "$top/boot/loader/entries/$MID-$kver.conf" <<EOF
title Debian GNU/Linux 12 (bookworm) in the Fedora 44 layout ($kver)
version $kver
linux /boot/vmlinuz-$kver
initrd /boot/initrd.img-$kver
options root=UUID=$UUID ro rootflags=subvol=root no_timer_check console=ttyS0,115200n8 systemd.firstboot=off reboot=k panic=-1
grub_class debian
EOF
{
	printf '# GRUB Environment Block\n'
	printf 'saved_entry=%s\n' "$MID-$kver"
	printf 'boot_success=0\n'
} > "$work/grubenv.head"
n=$(wc -c < "$work/grubenv.head")
{ cat "$work/grubenv.head"; head -c $((1024 - n)) /dev/zero | tr '\0' '#'; } > "$top/boot/grub2/grubenv"

# --- partitions and the disk ----------------------------------------------
P3_AT=36
p3_mib=$((DISK_MIB - P3_AT - 1))
btr=$work/p3.btrfs
truncate -s "${p3_mib}M" "$btr"
mkfs.btrfs -q -f -L fedora -U "$UUID" -d single -m dup --rootdir "$top" \
	--subvol rw:root --subvol rw:boot --subvol rw:home --subvol rw:var \
	--compress zstd:1 "$btr" > "$work/mkfs.log" 2>&1 ||
	{ cat "$work/mkfs.log" >&2; img__die "mkfs.btrfs failed"; }
esp=$work/esp.vfat
mkfs.vfat -n EFI -C "$esp" $((32 * 1024)) > /dev/null || img__die "mkfs.vfat failed"
raw=$work/disk.raw
truncate -s "${DISK_MIB}M" "$raw"
sfdisk --quiet --no-reread --no-tell-kernel "$raw" > /dev/null <<EOF || img__die "sfdisk failed"
label: gpt
unit: sectors
start=2048, size=4096, type=21686148-6449-6E6F-744E-656564454649
start=$((4 * 2048)), size=$((32 * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
start=$((P3_AT * 2048)), size=$((p3_mib * 2048)), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
EOF
dd if="$esp" of="$raw" bs=1M seek=4 conv=notrunc status=none || img__die "dd failed"
dd if="$btr" of="$raw" bs=1M seek=$P3_AT conv=notrunc,sparse status=none || img__die "dd failed"
rm -f "$btr"

mkdir -p "$outdir"
tmp=$image.tmp.$$
qemu-img convert -c -O qcow2 -o compat=1.1,compression_type=zstd "$raw" "$tmp" ||
	{ rm -f "$tmp"; img__die "qemu-img convert failed"; }
mv "$tmp" "$image"
rm -f "$outdir/id_ed25519" "$outdir/id_ed25519.pub"
ssh-keygen -q -t ed25519 -N '' -C vmm-e2e -f "$outdir/id_ed25519" || img__die "ssh-keygen failed"
cat > "$outdir/debian-system.manifest" <<EOF
# $image: written by images/build-debian-system.sh
SYSTEM_SHA256=$(sha256sum "$image" | cut -d' ' -f1)
SYSTEM_KVER=$kver
SYSTEM_UUID=$UUID
SYSTEM_ENTRY=$MID-$kver
SYSTEM_DISK_MIB=$DISK_MIB
EOF
img__write_inputs "$image"
img__log "$image: $(du -m "$image" | cut -f1) MiB (Debian 12, kernel $kver, Fedora 44 layout), built in $(( $(date +%s) - start )) s"
