#!/bin/sh
# tests/bench/build-images.sh — the images `make bench-net` boots, made from
# the standard ones without changing them:
#   $BUILD/images/l2-bench-initrd.cpio.gz   the default L2 initramfs with a
#       second archive appended that adds sockperf, ethtool (the guest's
#       virtio-net kick counters) and their libraries (the kernel unpacks
#       concatenated archives in order)
#   $BUILD/images/l1-bench-initrd.cpio.gz   the --with-qemu L1 image (qemu
#       and vmm both inside) with an archive appended holding sockperf, its
#       libraries and /guest/l2-bench-initrd.cpio.gz
# Without sockperf installed both extras carry no sockperf and the latency
# test in tests/e2e/l2/bench.sh falls back to ping.
# usage: tests/bench/build-images.sh [--l2-only]   (--l2-only: just the L2
#        image, for a direct run on a KVM host: tests/bench/bench-net.sh)
#        tests/bench/build-images.sh --arch arm64   the same two images for
#        the nested aarch64 host, in build/arm64/images, from its images
#        (images/build-arm64.sh) and the arm64 packages unpacked there: the
#        L1 extra holds qemu-system-aarch64 and iproute2's ip as well
# env: BUILD (default build), VMM_BIN (default $BUILD/vmm-static),
#      ARM_BUILD (build/arm64)

cd "$(dirname "$0")/../.." || exit 1
. images/lib.sh

if [ "${1:-}" = --arch ] && [ "${2:-}" = arm64 ]; then
	ARM_BUILD=${ARM_BUILD:-build/arm64}
	img=$ARM_BUILD/images
	ARM_BUILD=$ARM_BUILD images/build-arm64.sh --if-stale || exit 1
	img__use_debroot "$ARM_BUILD/debroot"
	work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-bench.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	# L2: sockperf and ethtool (the guest's kick and queue counters)
	mkdir -p "$work/l2"
	img__debroot_bin "$work/l2" /usr/bin/sockperf
	img__debroot_bin "$work/l2" /sbin/ethtool
	img__pack "$work/l2" "$work/l2-extra.cpio.gz"
	cat "$img/l2-initrd.cpio.gz" "$work/l2-extra.cpio.gz" > "$img/l2-bench-initrd.cpio.gz"
	# L1: QEMU, sockperf's client, ip for QEMU's multi-queue taps (where
	# tests/e2e/scenarios/bench.sh looks for it), the scenario, the L2 image
	mkdir -p "$work/l1"
	img__debroot_bin "$work/l1" /usr/bin/qemu-system-aarch64
	img__debroot_bin "$work/l1" /usr/bin/sockperf
	img__debroot_bin "$work/l1" /bin/ip
	mkdir -p "$work/l1/usr/lib/iproute2"
	mv "$work/l1/bin/ip" "$work/l1/usr/lib/iproute2/ip"
	img__copy_file tests/e2e/scenarios/bench.sh "$work/l1" /tests/scenarios/bench.sh
	img__copy_file "$img/l2-bench-initrd.cpio.gz" "$work/l1" /guest/l2-bench-initrd.cpio.gz
	img__pack "$work/l1" "$work/l1-extra.cpio.gz"
	cat "$img/l1-initrd.cpio.gz" "$work/l1-extra.cpio.gz" > "$img/l1-bench-initrd.cpio.gz.tmp"
	mv "$img/l1-bench-initrd.cpio.gz.tmp" "$img/l1-bench-initrd.cpio.gz"
	img__log "$img/l1-bench-initrd.cpio.gz: $(du -k "$img/l1-bench-initrd.cpio.gz" | cut -f1) KiB, L2 $(du -k "$img/l2-bench-initrd.cpio.gz" | cut -f1) KiB (arm64, QEMU $(dpkg-deb -f "$(ls -v "$ARM_BUILD"/debs/qemu-system-arm_*_arm64.deb | tail -n 1)" Version))"
	exit 0
fi

BUILD=${BUILD:-build}
img=$BUILD/images
# the --with-qemu L1 image for the L1 kernel nested.sh boots
l1_base=$img/l1-qemu-initrd$(img__l1_suffix).cpio.gz
l2_base=$img/l2-initrd.cpio.gz
l2_only=0
[ "${1:-}" = --l2-only ] && l2_only=1
if [ $l2_only = 1 ]; then
	mkdir -p "$img"
	images/build-l2.sh --if-stale "$l2_base" || exit 1
else
	[ -x "${VMM_BIN:-$BUILD/vmm-static}" ] || img__die "${VMM_BIN:-$BUILD/vmm-static} is missing (make ${VMM_BIN:-$BUILD/vmm-static})"
	# Both base images, rebuilt only when stale (build-l1.sh builds L2 too).
	l1_kver=$(img__kernel_version "$(img__l1_series)") || exit 1
	BUILD=$BUILD L1_KVER=$l1_kver images/build-l1.sh --if-stale --with-qemu "$l1_base"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

sp=$(command -v sockperf || true)
et=$(command -v ethtool || true)
[ -n "$et" ] || img__log "ethtool is not installed (make deps): the bench reports no kicks"
# The L2 extra: sockperf, ethtool and their libraries.
mkdir -p "$work/l2"
[ -z "$sp" ] || img__copy_bin "$sp" "$work/l2"
[ -z "$et" ] || img__copy_bin "$et" "$work/l2"
img__pack "$work/l2" "$work/l2-extra.cpio.gz"
cat "$l2_base" "$work/l2-extra.cpio.gz" > "$img/l2-bench-initrd.cpio.gz.tmp"
mv "$img/l2-bench-initrd.cpio.gz.tmp" "$img/l2-bench-initrd.cpio.gz"

if [ $l2_only = 1 ]; then
	img__log "$img/l2-bench-initrd.cpio.gz: $(du -k "$img/l2-bench-initrd.cpio.gz" | cut -f1) KiB ($( [ -n "$sp" ] && echo "with sockperf" || echo "no sockperf installed"))"
	exit 0
fi
# The L1 extra: sockperf for the server side, and the bench L2 initramfs.
mkdir -p "$work/l1"
[ -z "$sp" ] || img__copy_bin "$sp" "$work/l1"
img__copy_file "$img/l2-bench-initrd.cpio.gz" "$work/l1" /guest/l2-bench-initrd.cpio.gz
img__pack "$work/l1" "$work/l1-extra.cpio.gz"
cat "$l1_base" "$work/l1-extra.cpio.gz" > "$img/l1-bench-initrd.cpio.gz.tmp"
mv "$img/l1-bench-initrd.cpio.gz.tmp" "$img/l1-bench-initrd.cpio.gz"
img__log "$img/l1-bench-initrd.cpio.gz: $(du -k "$img/l1-bench-initrd.cpio.gz" | cut -f1) KiB, L2 $(du -k "$img/l2-bench-initrd.cpio.gz" | cut -f1) KiB ($( [ -n "$sp" ] && echo "with sockperf" || echo "no sockperf installed"))"
