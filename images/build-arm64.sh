#!/bin/sh
# images/build-arm64.sh — the nested aarch64 test host's images, from the
# arm64 Debian packages `make deps ARCH=arm64` downloaded to build/arm64/debs
# (nothing of them is installed on this machine):
#   build/arm64/images/Image              the stock arm64 kernel (L1 and L2)
#   build/arm64/images/l2-initrd.cpio.gz  L2: busybox, images/l2-init.sh as
#                                         /init (the x86 guest's), the virtio
#                                         and gpio-keys modules, iperf3
#   build/arm64/images/l1-initrd.cpio.gz  L1: busybox, tests/e2e/l1-init-arm64.sh
#                                         as /init, build/arm64/vmm-static,
#                                         the L2 kernel and initramfs, tun and
#                                         vhost-net, iperf3, and
#   build/arm64/images/disk.raw           a GPT disk with an ext4 /boot and
#                                         grub.cfg, for a boot without --kernel
#   build/arm64/images/fedora-layout.qcow2, fedora44-layout.qcow2
#                                         the Fedora layouts x86 boots (BLS
#                                         entries on ext4, and on btrfs with
#                                         zstd), made by images/build-fedora.sh
#                                         --arch arm64 from the same packages
#   build/arm64/images/test.qcow2         a qcow2 whose first MiB is 0x5a
# The kernel has KVM built in; L1 boots it at EL2 under QEMU's
# virtualization=on (tests/e2e/nested-arm64.sh).
#
# usage: images/build-arm64.sh [--if-stale]
# env: ARM_BUILD (build/arm64)

cd "$(dirname "$0")/.." || exit 1
. images/lib.sh

if_stale=0
[ "${1:-}" != "--if-stale" ] || if_stale=1
ARM_BUILD=${ARM_BUILD:-build/arm64}
debs=$ARM_BUILD/debs
debroot=$ARM_BUILD/debroot
imgdir=$ARM_BUILD/images
vmm=$ARM_BUILD/vmm-static

kdeb=$(ls "$debs"/linux-image-*-arm64*_arm64.deb 2>/dev/null | tail -n 1)
bdeb=$(ls "$debs"/busybox-static_*_arm64.deb 2>/dev/null | tail -n 1)
[ -n "$kdeb" ] && [ -n "$bdeb" ] || img__die "no arm64 kernel or busybox in $debs (make deps ARCH=arm64)"
# iperf3 and the libraries it loads (images/install-deps-arm64.sh)
odebs=""
for p in iperf3 libiperf0 libsctp1 libssl3 libc6; do
	d=$(ls "$debs/${p}_"*_arm64.deb 2>/dev/null | tail -n 1)
	[ -n "$d" ] || img__die "no $p in $debs (make deps ARCH=arm64)"
	odebs="$odebs $d"
done
[ -x "$vmm" ] || img__die "no $vmm (make ARCH=arm64)"
start=$(date +%s.%N)

# The packages, unpacked once per .deb (a stamp names the ones unpacked):
# those above and every other one downloaded (the benchmark's QEMU,
# sockperf and their libraries: tests/bench/build-images.sh takes them from
# here); ls -v: a newer version of a package is unpacked after an older.
# shellcheck disable=SC2012 # .deb names have no spaces
alldebs=$(ls -v "$debs"/*_arm64.deb)
stamp=$debroot/.unpacked
want=$(for d in $kdeb $bdeb $odebs $alldebs; do basename "$d"; done)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	rm -rf "$debroot"
	mkdir -p "$debroot"
	for d in $kdeb $bdeb $odebs $alldebs; do
		dpkg-deb -x "$d" "$debroot"
	done
	echo "$want" > "$stamp"
fi
kver=$(ls "$debroot/lib/modules" | head -n 1)
[ -n "$kver" ] || img__die "no modules in $kdeb"
# The package ships no modules.dep (its postinst runs depmod): make one
# for this tree, which modprobe -d then resolves dependencies against.
[ -s "$debroot/lib/modules/$kver/modules.dep" ] || depmod -b "$debroot" "$kver"
# busybox and modules from here on are the unpacked arm64 ones (images/lib.sh)
img__use_debroot "$debroot"

# The Fedora-layout disks (the layouts scenario), which L1 carries: built
# first, so that L1 is stale when they are.
for l in f40 f44; do
	ARM_BUILD=$ARM_BUILD images/build-fedora.sh --if-stale --arch arm64 --layout $l "$imgdir" ||
		img__die "images/build-fedora.sh --arch arm64 --layout $l failed"
done

if [ $if_stale -eq 1 ] && ! img__is_stale "$imgdir/l1-initrd.cpio.gz"; then
	exit 0
fi
mkdir -p "$imgdir"
cp "$debroot/boot/vmlinuz-$kver" "$imgdir/Image"

work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-arm64.XXXXXX")
trap 'rm -rf "$work"' EXIT

# L2
l2=$work/l2
mkdir -p "$l2/proc" "$l2/sys" "$l2/dev" "$l2/tmp" "$l2/root" "$l2/etc" "$l2/tests/l2"
img__busybox "$l2"
cp images/l2-init.sh "$l2/init"
chmod 755 "$l2/init"
# gpio_keys and evdev: the power button (vmm stop) on the PL061's line 3, as
# the /dev/input/event* that busybox acpid reads
# vfat and its code pages: the cloud-init seed disk (the disks scenario)
img__modules "$kver" "$l2" virtio_pci virtio_net virtio_blk gpio_keys evdev vfat nls_cp437 nls_ascii
img__debroot_bin "$l2" /usr/bin/iperf3
# The guest side of the scenarios (vmmtest=NAME runs /tests/l2/NAME.sh).
# All of them, as on x86 (images/build-l2.sh): the benchmark's bench.sh too.
cp tests/e2e/l2/*.sh "$l2/tests/l2/"
echo "root:x:0:0:root:/root:/bin/sh" > "$l2/etc/passwd"
echo "root:x:0:" > "$l2/etc/group"
img__pack "$l2" "$imgdir/l2-initrd.cpio.gz"

# A disk L2 boots from without --kernel (the diskboot scenario): GPT, one
# ext4 partition whose /boot/grub/grub.cfg names the kernel and the L2
# initramfs, as update-grub would (vmm/boot reads it; the kernel command
# line gets vmm's -p appended). Built without root: mke2fs -d, sfdisk, dd.
disk=$work/disk
mkdir -p "$disk/boot/grub"
cp "$imgdir/Image" "$disk/boot/vmlinuz-$kver"
cp "$imgdir/l2-initrd.cpio.gz" "$disk/boot/initrd.img-$kver"
cat > "$disk/boot/grub/grub.cfg" <<-GRUB
	set default="0"
	set timeout=0
	menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os {
		insmod ext2
		echo 'Loading Linux $kver ...'
		linux /boot/vmlinuz-$kver root=/dev/vda1 ro
		echo 'Loading initial ramdisk ...'
		initrd /boot/initrd.img-$kver
	}
GRUB
mke2fs -q -t ext4 -d "$disk" -L arm64-root -U 5a3e0b21-8c6e-4d3b-9a1f-0123456789ab \
	-E root_owner=0:0 "$work/root.ext4" 72M || img__die "mke2fs failed"
rm -f "$imgdir/disk.raw"
truncate -s 80M "$imgdir/disk.raw"
printf 'label: gpt\nunit: sectors\nfirst-lba: 2048\n\nstart=2048, size=147456, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
	sfdisk --quiet --no-reread --no-tell-kernel "$imgdir/disk.raw" > /dev/null || img__die "sfdisk failed"
dd if="$work/root.ext4" of="$imgdir/disk.raw" bs=1M seek=1 conv=notrunc,sparse status=none

# A qcow2 image for the disks scenario, its first MiB all 0x5a (qemu-io
# writes through the qcow2 layer), and that MiB's md5.
rm -f "$imgdir/test.qcow2"
qemu-img create -q -f qcow2 "$imgdir/test.qcow2" 16M
qemu-io -c "write -P 0x5a 0 1M" "$imgdir/test.qcow2" > /dev/null || img__die "qemu-io failed"
head -c 1048576 /dev/zero | tr '\000' '\132' | md5sum | cut -d ' ' -f 1 > "$imgdir/test.qcow2.md5"

# L1
# shellcheck disable=SC2034 # read by images/lib.sh (img__write_inputs)
IMG_INPUTS=""
l1=$work/l1
mkdir -p "$l1/proc" "$l1/sys" "$l1/dev" "$l1/tmp" "$l1/root" "$l1/etc" "$l1/guest"
img__busybox "$l1"
img__copy_file tests/e2e/l1-init-arm64.sh "$l1" /init
chmod 755 "$l1/init"
img__copy_file tests/e2e/l1-lib.sh "$l1" /lib/vmm-e2e.sh
img__copy_file "$vmm" "$l1" /usr/bin/vmm
cp "$imgdir/Image" "$l1/guest/Image"
cp "$imgdir/l2-initrd.cpio.gz" "$l1/guest/l2-initrd.cpio.gz"
cp "$imgdir/disk.raw" "$l1/guest/disk.raw"
cp "$imgdir/test.qcow2" "$imgdir/test.qcow2.md5" "$l1/guest/"
# The layouts scenario: the x86 L1's script and disks, at the same paths
# (images/l1-payloads.list).
for f in fedora-layout fedora44-layout; do
	img__copy_file "$imgdir/$f.qcow2" "$l1" "/tests/disk/$f.qcow2"
	img__copy_file "$imgdir/$f.manifest" "$l1" "/tests/disk/$f.manifest"
done
for f in layouts.sh disk-lib.sh; do
	img__copy_file "tests/e2e/scenarios/$f" "$l1" "/tests/scenarios/$f"
done
img__modules "$kver" "$l1" tun vhost_net
img__debroot_bin "$l1" /usr/bin/iperf3
echo "root:x:0:0:root:/root:/bin/sh" > "$l1/etc/passwd"
echo "root:x:0:" > "$l1/etc/group"
img__input images/build-arm64.sh
img__input images/l2-init.sh
img__input tests/e2e/l2
img__input tests/e2e/l1-init-arm64.sh
img__input images/lib.sh
img__input "$kdeb"
img__input "$bdeb"
for d in $odebs; do
	img__input "$d"
done
img__pack "$l1" "$imgdir/l1-initrd.cpio.gz"
end=$(date +%s.%N)
img__log "$imgdir/l1-initrd.cpio.gz: $(du -k "$imgdir/l1-initrd.cpio.gz" | cut -f1) KiB (kernel $kver), built in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
