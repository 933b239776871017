#!/bin/sh
# install-deps.sh — install the Debian packages vmm builds and tests with.
# Runs apt-get only when something is missing, so it is quick (and works
# offline) on a machine that already has everything.
set -e
PKGS="build-essential make pkg-config linux-libc-dev libfdt-dev libcmocka-dev
e2fsprogs libext2fs-dev iperf3 sockperf qemu-system-x86 qemu-utils
linux-image-amd64 busybox-static cpio gzip xz-utils zstd kmod iproute2 pciutils acpica-tools gnuplot-nox
libzstd-dev zlib1g-dev mtools dosfstools fdisk btrfs-progs"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
echo "install-deps: installing:$missing"
[ "$(id -u)" = 0 ] || { echo "install-deps: need root to install packages (run as root or via sudo)"; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
