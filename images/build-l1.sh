#!/bin/sh
# images/build-l1.sh — build the nested test host's initramfs
# (build/images/l1-initrd.cpio.gz) from installed Debian packages: busybox-static,
# the kvm-amd / vhost-net module stack, the vmm binary (build/vmm-static), the L2
# kernel and initrd, iperf3, qemu-img, the extra payloads named in
# images/l1-payloads.list (the Fedora-layout test disk among them),
# and tests/e2e/l1-init.sh as /init.
#
# usage: images/build-l1.sh [--if-stale] [--with-qemu] [OUT]
#   --if-stale    do nothing when OUT is newer than everything it is built from
#   --with-qemu   also carry qemu-system-x86_64 (+ firmware) as an L2 VMM for
#                 side-by-side runs; the default OUT becomes l1-qemu-initrd.cpio.gz
#                 and build/vmm-static becomes optional
# env: L1_KVER (L1's kernel; default: the default series, img__kernel_version),
#      BUILD (default build), VMM_BIN (default $BUILD/vmm-static),
#      L1_PAYLOADS (payload list, default images/l1-payloads.list)

cd "$(dirname "$0")/.."
. images/lib.sh

BUILD=${BUILD:-build}
if_stale=0
with_qemu=0
while [ $# -gt 0 ]; do
	case $1 in
	--if-stale) if_stale=1 ;;
	--with-qemu) with_qemu=1 ;;
	-*) img__die "unknown option $1" ;;
	*) break ;;
	esac
	shift
done
if [ $with_qemu -eq 1 ]; then
	out=${1:-$BUILD/images/l1-qemu-initrd.cpio.gz}
else
	out=${1:-$BUILD/images/l1-initrd.cpio.gz}
fi
vmm_bin=${VMM_BIN:-$BUILD/vmm-static}
payloads=${L1_PAYLOADS:-images/l1-payloads.list}
l2_initrd=$BUILD/images/l2-initrd.cpio.gz

if [ $if_stale -eq 1 ] && ! img__is_stale "$out"; then
	exit 0
fi

start=$(date +%s.%N)
# L1's own kernel (its modules go in here), and the L2 kernels: the
# default series at /guest/bzImage, the newer one (6.12 from backports)
# at /guest/SERIES/, each with an L2 initramfs holding its own modules.
kver=${L1_KVER:-$(img__kernel_version)}
l2_kver=$(img__kernel_version "$IMG_KERNEL_SERIES_DEFAULT")
l2_new_kver=$(img__kernel_version "$IMG_KERNEL_SERIES_NEW")
l2_new_initrd=$BUILD/images/l2-initrd-$IMG_KERNEL_SERIES_NEW.cpio.gz
KVER=$l2_kver images/build-l2.sh --if-stale "$l2_initrd"
KVER=$l2_new_kver images/build-l2.sh --if-stale "$l2_new_initrd"
root=$(mktemp -d "${TMPDIR:-/tmp}/vmm-l1.XXXXXX")
trap 'rm -rf "$root"' EXIT

img__input images/lib.sh
img__input images/build-l1.sh
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/etc" "$root/guest"
img__busybox "$root"
img__copy_file tests/e2e/l1-init.sh "$root" /init
chmod 755 "$root/init"
img__copy_file tests/e2e/l1-lib.sh "$root" /lib/vmm-e2e.sh
# The order the notes give: irqbypass kvm ccp kvm-amd vhost_iotlb vhost tun tap vhost_net.
# 9p over virtio: the host's folders the scenarios read (the Debian system
# image, too big to carry in this initramfs), mounted read-only at /images.
img__modules "$kver" "$root" kvm-amd vhost_net virtio_pci 9pnet_virtio 9p
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"

if [ -e "$vmm_bin" ]; then
	img__copy_bin "$vmm_bin" "$root" /usr/bin/vmm
elif [ $with_qemu -eq 1 ]; then
	img__input "?$vmm_bin"
else
	img__die "$vmm_bin is missing (make $vmm_bin), or use --with-qemu"
fi

# kvm_hold keeps one idle VM alive in L1 so test VMs starting and stopping
# never live-patch L1's kernel text (see tests/e2e/kvm_hold.c for why).
img__input tests/e2e/kvm_hold.c
mkdir -p "$root/usr/bin"
${CC:-cc} -static -O2 -Wall -Werror -o "$root/usr/bin/kvm_hold" tests/e2e/kvm_hold.c ||
	img__die "cannot build tests/e2e/kvm_hold.c"
# ptyrun gives `vmm console` a terminal in the console scenario (busybox
# has no `script`).
img__input tests/e2e/ptyrun.c
${CC:-cc} -static -O2 -Wall -Werror -o "$root/usr/bin/ptyrun" tests/e2e/ptyrun.c ||
	img__die "cannot build tests/e2e/ptyrun.c"

# The L2 guest: the installed kernel and the default initramfs.
img__copy_file "/boot/vmlinuz-$l2_kver" "$root" /guest/bzImage
img__copy_file "$l2_initrd" "$root" /guest/l2-initrd.cpio.gz
img__copy_file "/boot/vmlinuz-$l2_new_kver" "$root" "/guest/$IMG_KERNEL_SERIES_NEW/bzImage"
img__copy_file "$l2_new_initrd" "$root" "/guest/$IMG_KERNEL_SERIES_NEW/l2-initrd.cpio.gz"

img__copy_bin "$(command -v iperf3 || img__die 'iperf3 not installed')" "$root"
# qemu-img for the disk scenario: overlays on the test disk, checks after boots.
img__copy_bin "$(command -v qemu-img || img__die 'qemu-img not installed (qemu-utils)')" "$root"

# iproute2's ip beside busybox's (which has no `ip tuntap`): the sandbox
# scenario makes a tap for a user as an admin would, `ip tuntap add ... user U`.
img__copy_bin "$(command -v ip || img__die 'ip not installed (iproute2)')" "$root" /usr/lib/iproute2/ip

# ssh into the Debian system guest (the distro scenario).
img__copy_bin "$(command -v ssh || img__die 'ssh not installed (openssh-client)')" "$root"

if [ $with_qemu -eq 1 ]; then
	q=$(command -v qemu-system-x86_64) || img__die "qemu-system-x86_64 not installed"
	img__copy_bin "$q" "$root"
	# The BIOS may live in seabios' directory with no link in qemu's.
	for f in bios-256k.bin linuxboot_dma.bin kvmvapic.bin; do
		for d in /usr/share/qemu /usr/share/seabios; do
			if [ -e "$d/$f" ]; then
				img__copy_file "$d/$f" "$root" "/usr/share/qemu/$f"
				break
			fi
		done
		[ -e "$root/usr/share/qemu/$f" ] || img__die "QEMU firmware $f not found"
	done
fi

# Extra payloads: "SRC DEST [optional]" per line, SRC relative to the repo
# root (a file or a directory), DEST an absolute path inside L1.
img__input "$payloads"
if [ -e "$payloads" ]; then
	while read -r src dst opt; do
		case $src in
		''|\#*) continue ;;
		esac
		case $dst in
		/*) ;;
		*) img__die "$payloads: destination '$dst' of $src is not absolute" ;;
		esac
		if [ ! -e "$src" ]; then
			[ "$opt" = optional ] || img__die "$payloads: $src is missing"
			img__input "?$src"
			continue
		fi
		mkdir -p "$root$(dirname "$dst")"
		cp -RL "$src" "$root$dst"
		img__input "$src"
	done < "$payloads"
fi

img__pack "$root" "$out"
end=$(date +%s.%N)
img__log "$out: $(du -k "$out" | cut -f1) KiB (L1 kernel $kver, L2 kernels $l2_kver and $l2_new_kver, $(wc -l < "$root/etc/modules.load") modules$( [ $with_qemu -eq 1 ] && echo ', with qemu')), built in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
