#!/bin/sh
# images/build-l2.sh — build the default L2 guest initramfs
# (build/images/l2-initrd.cpio.gz) from installed Debian packages: busybox-static,
# /init from images/l2-init.sh, the virtio-net and virtio-blk module stacks of the installed
# kernel, the ACPI power button driver with evdev (busybox acpid reads the
# button's input device: vmm stop), and iperf3 with its libraries. The kernel to boot it with is the
# installed /boot/vmlinuz-*.
#
# usage: images/build-l2.sh [--if-stale] [OUT]
#   --if-stale   do nothing when OUT is newer than everything it is built from
# env: KVER (kernel version, default: newest installed), BUILD (default build)

cd "$(dirname "$0")/.."
. images/lib.sh

if_stale=0
if [ "${1:-}" = "--if-stale" ]; then
	if_stale=1
	shift
fi
out=${1:-${BUILD:-build}/images/l2-initrd.cpio.gz}

if [ $if_stale -eq 1 ] && ! img__is_stale "$out"; then
	exit 0
fi

start=$(date +%s.%N)
kver=$(img__kernel_version)
root=$(mktemp -d "${TMPDIR:-/tmp}/vmm-l2.XXXXXX")
trap 'rm -rf "$root"' EXIT

img__input images/lib.sh
img__input images/build-l2.sh
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/etc" "$root/tests/l2"
img__busybox "$root"
img__copy_file images/l2-init.sh "$root" /init
chmod 755 "$root/init"
img__modules "$kver" "$root" virtio_pci virtio_net virtio_blk button evdev
img__copy_bin "$(command -v iperf3 || img__die 'iperf3 not installed')" "$root"
# lspci with the PCI ID database: the guest-side view of the NIC.
img__copy_bin "$(command -v lspci || img__die 'lspci not installed (pciutils)')" "$root"
img__copy_file /usr/share/misc/pci.ids "$root" /usr/share/misc/pci.ids
# ethtool when installed (make deps): channels and per-queue counters of
# the NIC (the mq scenario's ethtool -l/-L/-S).
et=$(command -v ethtool || true)
[ -z "$et" ] || img__copy_bin "$et" "$root"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
echo 'PS1="\h:\w# "' > "$root/etc/profile"

# Optional guest-side test scripts (vmmtest=NAME runs /tests/l2/NAME.sh).
for f in tests/e2e/l2/*.sh; do
	if [ -e "$f" ]; then
		img__copy_file "$f" "$root" "/tests/l2/$(basename "$f")"
	fi
done
if [ -d tests/e2e/l2 ]; then img__input tests/e2e/l2; else img__input "?tests/e2e/l2"; fi

img__pack "$root" "$out"
end=$(date +%s.%N)
img__log "$out: $(du -k "$out" | cut -f1) KiB (kernel $kver, $(wc -l < "$root/etc/modules.load") modules), built in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
