#!/bin/sh
# Seed corpus for fuzz_diskboot: small disks in the layouts direct boot
# reads (README "Disks and cloud images"), made with sfdisk, mke2fs -d,
# mkfs.vfat and mkfs.btrfs --rootdir like images/build-fedora.sh but a
# few MiB each, with stand-in kernel and initrd files; packed sparse.
#   fedora30   MBR, one ext4: /boot/loader/entries, grub2/grubenv
#   fedora40   GPT: BIOS boot, vfat ESP, ext4 /boot, btrfs root subvolume
#   fedora44   one btrfs (no table): subvolumes boot, root; BLS in boot
#   debian     GPT: ext4 root with /boot/grub/grub.cfg (update-grub's)
#   bare       no table: ext4 /boot as a whole disk, saved_entry by title
#   corpus-diskboot.sh OUTDIR SPARSE_PACK FUZZER
set -e
out=$1 pack=$2
PATH="$PATH:/usr/sbin:/sbin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mid=2d5e4b1cfa6c4a6e9d0b0c5a7e1f3a21
blob() { head -c "$2" /dev/urandom > "$1"; }   # PATH BYTES
grubenv() {   # PATH LINES...
	f=$1
	shift
	{ printf '# GRUB Environment Block\n'; printf '%s\n' "$@"; } |
		awk '{ s = s $0 "\n" } END { printf "%s", s; for (i = length(s); i < 1024; i++) printf "#" }' > "$f"
}
entry() {   # DIR VERSION PREFIX
	printf 'title Fedora Linux (%s)\nversion %s\nlinux %s/vmlinuz-%s\ninitrd %s/initramfs-%s.img\noptions $kernelopts\n' \
		"$2" "$2" "$3" "$2" "$3" "$2" > "$1/$mid-$2.conf"
}
ext4() { mke2fs -q -F -t ext4 -b 1024 -N 64 -O ^has_journal -d "$1" "$2" "$3" >/dev/null; }
place() { dd if="$1" of="$2" bs=1024 seek="$3" conv=notrunc,sparse status=none; }   # IMG DISK KiB

# fedora30: /boot inside the root filesystem
r=$tmp/f30
mkdir -p "$r/boot/loader/entries" "$r/boot/grub2" "$r/etc"
entry "$r/boot/loader/entries" 5.0.9-301.fc30.x86_64 ""
entry "$r/boot/loader/entries" 5.0.7-300.fc30.x86_64 /boot
blob "$r/boot/vmlinuz-5.0.9-301.fc30.x86_64" 3000
blob "$r/boot/vmlinuz-5.0.7-300.fc30.x86_64" 2000
blob "$r/boot/initramfs-5.0.7-300.fc30.x86_64.img" 1500
grubenv "$r/boot/grub2/grubenv" "saved_entry=$mid-5.0.7-300.fc30.x86_64" \
	'kernelopts=root=UUID=7f3c1a2e ro quiet'
truncate -s 3M "$tmp/f30.img"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$tmp/f30.img"
ext4 "$r" "$tmp/f30-part.img" 2M
place "$tmp/f30-part.img" "$tmp/f30.img" 1024

# fedora40: separate ext4 /boot, btrfs root
b=$tmp/f40boot
mkdir -p "$b/loader/entries" "$b/grub2"
entry "$b/loader/entries" 6.8.5-301.fc40.x86_64 ""
blob "$b/vmlinuz-6.8.5-301.fc40.x86_64" 4000
blob "$b/initramfs-6.8.5-301.fc40.x86_64.img" 2000
grubenv "$b/grub2/grubenv" 'kernelopts=root=UUID=x ro rootflags=subvol=root'
mkdir -p "$tmp/f40root/etc" "$tmp/esp"
echo 'NAME="Fedora Linux"' > "$tmp/f40root/etc/os-release"
truncate -s 20M "$tmp/f40.img"
sfdisk -q "$tmp/f40.img" <<'T'
label: gpt
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649
start=4096, size=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
start=6144, size=4096, type=BC13C2FF-59E6-4262-A352-B275FD6F7172
start=10240, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4
T
mkfs.vfat -C "$tmp/esp.img" 1024 >/dev/null
ext4 "$b" "$tmp/f40boot.img" 2M
mkfs.btrfs -q -f -M -n 4096 --shrink --rootdir "$tmp/f40root" --subvol rw:etc \
	"$tmp/f40root.img" 2>/dev/null
place "$tmp/esp.img" "$tmp/f40.img" 2048
place "$tmp/f40boot.img" "$tmp/f40.img" 3072
place "$tmp/f40root.img" "$tmp/f40.img" 5120

# fedora44: one btrfs, BLS in the boot subvolume
r=$tmp/f44
mkdir -p "$r/boot/loader/entries" "$r/boot/grub2" "$r/root/etc"
entry "$r/boot/loader/entries" 6.12.4-200.fc44.x86_64 /boot
blob "$r/boot/vmlinuz-6.12.4-200.fc44.x86_64" 5000
seq 1 2000 > "$r/boot/initramfs-6.12.4-200.fc44.x86_64.img"
grubenv "$r/boot/grub2/grubenv" "saved_entry=$mid-6.12.4-200.fc44.x86_64"
mkfs.btrfs -q -f -M -n 4096 --shrink --rootdir "$r" --subvol rw:boot --subvol rw:root \
	--compress zstd "$tmp/f44.img" 2>/dev/null

# debian: grub.cfg on an ext4 root
r=$tmp/deb
mkdir -p "$r/boot/grub"
cp tests/unit/data/grub-debian12-genericcloud.cfg "$r/boot/grub/grub.cfg"
blob "$r/boot/vmlinuz-6.1.0-28-cloud-amd64" 3000
blob "$r/boot/initrd.img-6.1.0-28-cloud-amd64" 1000
truncate -s 4M "$tmp/deb.img"
printf 'label: gpt\nstart=2048, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' | sfdisk -q "$tmp/deb.img"
ext4 "$r" "$tmp/deb-part.img" 2M
place "$tmp/deb-part.img" "$tmp/deb.img" 1024

# bare: an ext4 /boot as the whole disk
r=$tmp/bare
mkdir -p "$r/loader/entries" "$r/grub2"
entry "$r/loader/entries" 6.1.0-1 ""
entry "$r/loader/entries" 6.2.0-1 ""
blob "$r/vmlinuz-6.1.0-1" 1000
blob "$r/vmlinuz-6.2.0-1" 1000
blob "$r/initramfs-6.1.0-1.img" 700
grubenv "$r/grub2/grubenv" 'saved_entry=Fedora Linux (6.1.0-1)'
ext4 "$r" "$tmp/bare.img" 1M

for f in f30 f40 f44 deb bare; do
	"$pack" "$tmp/$f.img" "$out/$f.sparse"
done
