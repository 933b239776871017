#!/bin/sh
# install-deps-arm64.sh — what `make ARCH=arm64` and the nested aarch64 test
# host need on an x86-64 Debian 12 build machine (`make deps ARCH=arm64`,
# after images/install-deps.sh):
#
#   host packages   the cross compiler with its libc and the arm64 Linux
#                   UAPI headers (asm/kvm.h), and qemu-system-arm for the
#                   nested host. qemu-system-arm comes from the same suite
#                   as the qemu-system-common already installed (the x86
#                   QEMU is from bookworm-backports): a different version
#                   would replace that package, and with it the x86 QEMU.
#   a sysroot       the arm64 builds of the libraries vmm links, from their
#                   arm64 .debs unpacked with dpkg-deb -x into
#                   build/arm64/sysroot: libext2fs-dev:arm64 and
#                   libfdt-dev:arm64 cannot be installed beside their amd64
#                   twins (they are not Multi-Arch: same), so none of them is
#                   installed, all are only unpacked.
#   guest packages  the stock arm64 kernel, busybox and iperf3 (with its
#                   libraries) for the nested host's L1 and L2, and for the
#                   benchmark (make bench-net-arm64) QEMU, sockperf and
#                   ethtool with theirs, downloaded to build/arm64/debs.
#
# Nothing installed is ever upgraded: apt-get install only for packages that
# are missing, and `apt-get update` only when something must be fetched. On a
# machine that has everything this prints one line and exits within a second.
# usage: images/install-deps-arm64.sh [BUILD_DIR]   (default build/arm64)
set -e
cd "$(dirname "$0")/.."
ARM_BUILD=${1:-build/arm64}
SYSROOT=$ARM_BUILD/sysroot
DEBS=$ARM_BUILD/debs

HOST_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross"
# The libraries of the Makefile's LDLIBS, -dev (headers and the static .a)
# and runtime package each.
SYSROOT_PKGS="libfdt-dev libfdt1 libext2fs-dev libext2fs2 comerr-dev libcom-err2
libzstd-dev libzstd1 zlib1g-dev zlib1g liblzo2-dev liblzo2-2 libseccomp-dev libseccomp2
liburing-dev liburing2"
# For the nested aarch64 host (tests/e2e/nested-arm64.sh): the kernel is found
# through the metapackage, as on x86 (linux-image-arm64 -> linux-image-6.1.0-N-arm64).
# iperf3 with the libraries it loads (libc6 for the dynamic loader):
# throughput between L2 and L1 (the iperf scenarios).
GUEST_PKGS="busybox-static iperf3 libiperf0 libsctp1 libssl3 libc6"
# The benchmark's L1 runs QEMU beside vmm (tests/bench/build-images.sh):
# qemu-system-arm (its qemu-system-aarch64), the version of the x86 QEMU
# here (bench_qemu_spec), iproute2's ip (QEMU's multi-queue taps: busybox's
# ip has no tuntap), and sockperf and ethtool, with the libraries
# they load: their Depends, recursively (apt-cache depends, 2026-12), less
# what is above, QEMU's data (no firmware is loaded: -kernel, romfile=) and
# packages with no shared library in them. images/build-arm64.sh copies
# only the libraries the programs name (DT_NEEDED), and fails naming one
# missing here.
BENCH_PKGS="qemu-system-arm sockperf ethtool libaio1 libbpf1 libcapstone4 libfdt1
libfuse3-3 libglib2.0-0 libgmp10 libgnutls30 libhogweed6 libibverbs1 libjpeg62-turbo
libnettle8 libnuma1 libpixman-1-0 libpmem1 libpng16-16 librdmacm1 libsasl2-2
libseccomp2 libslirp0 libudev1 liburing2 libvdeplug2 libzstd1 zlib1g libgcc-s1
libstdc++6 libmnl0 libelf1 libffi8 libmount1 libpcre2-8-0 libselinux1 libidn2-0
libp11-kit0 libtasn1-6 libunistring2 libnl-3-200 libnl-route-3-200 libdaxctl1
libndctl6 libsasl2-modules-db libblkid1 libkmod2 libuuid1 libdb5.3 liblzma5
iproute2 libbsd0 libmd0 libcap2 libtirpc3 libgssapi-krb5-2 libkrb5-3 libk5crypto3
libcom-err2 libkrb5support0 libkeyutils1 libxtables12"
KERNEL_META=linux-image-arm64

log()
{
	echo "install-deps-arm64: $*"
}

installed_version()
{
	dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null |
		awk '$1 == "install" && $2 == "ok" && $3 == "installed" { print $4 }'
}

# The stamp of an unpacked package: build/arm64/sysroot/.pkgs/NAME holds the
# version unpacked, so a second run unpacks nothing.
unpacked()
{
	[ -s "$SYSROOT/.pkgs/$1" ]
}

# The versioned kernel package the arm64 metapackage depends on (the newest
# in bookworm: the suite the stock x86 kernel comes from too).
kernel_pkg()
{
	apt-cache depends "$KERNEL_META:arm64" 2>/dev/null |
		sed -n 's/^ *Depends: *\(linux-image-[0-9][^:]*\).*/\1/p' | head -n 1
}

have_debs()
{
	ls "$DEBS"/linux-image-*-arm64*_arm64.deb > /dev/null 2>&1 || return 1
	for p in $GUEST_PKGS $BENCH_PKGS; do
		ls "$DEBS/${p}_"*_arm64.deb > /dev/null 2>&1 || return 1
	done
}

# The arm64 QEMU for the benchmark: the version of the installed
# qemu-system-common (the x86 QEMU's, from bookworm-backports), so that the
# two architectures' QEMU cells are the same QEMU; else the candidate.
bench_qemu_spec()
{
	v=$(installed_version qemu-system-common)
	if [ -n "$v" ]; then echo "qemu-system-arm:arm64=$v"; else echo "qemu-system-arm:arm64"; fi
}

missing=""
for p in $HOST_PKGS; do
	[ -n "$(installed_version "$p")" ] || missing="$missing $p"
done
# qemu-system-arm: the version of qemu-system-common, whichever it is.
common=$(installed_version qemu-system-common)
qemu_arm=$(installed_version qemu-system-arm)
qemu_want=""
if [ -z "$qemu_arm" ]; then
	qemu_want=qemu-system-arm
	[ -z "$common" ] || qemu_want="qemu-system-arm=$common"
fi
unpack=""
for p in $SYSROOT_PKGS; do
	unpacked "$p" || unpack="$unpack $p"
done
need_debs=0
have_debs || need_debs=1

if [ -z "$missing$qemu_want$unpack" ] && [ $need_debs -eq 0 ]; then
	log "all present (cross compiler, qemu-system-aarch64, sysroot in $SYSROOT, arm64 kernel, busybox, iperf3 and the benchmark's QEMU in $DEBS)"
	exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	[ "$(id -u)" = 0 ] || { log "need root to add the arm64 package architecture"; exit 1; }
	log "adding the arm64 package architecture (dpkg --add-architecture arm64)"
	dpkg --add-architecture arm64
	updated=0
else
	updated=1
fi
# The arm64 package lists: fetched once (after the architecture was added)
# and again only when a download fails below.
if [ "$updated" = 0 ] || ! apt-cache show "libfdt-dev:arm64" > /dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || { log "need root for apt-get update"; exit 1; }
	apt-get update -q
fi

if [ -n "$missing$qemu_want" ]; then
	[ "$(id -u)" = 0 ] || { log "need root to install:$missing $qemu_want"; exit 1; }
	log "installing:$missing $qemu_want"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$missing $qemu_want
fi

if [ -n "$unpack" ]; then
	mkdir -p "$DEBS/sysroot" "$SYSROOT/.pkgs"
	log "downloading the arm64 libraries:$unpack"
	pkgs=""
	for p in $unpack; do
		pkgs="$pkgs $p:arm64"
	done
	# shellcheck disable=SC2086
	(cd "$DEBS/sysroot" && apt-get download -q $pkgs)
	for p in $unpack; do
		deb=$(ls -t "$DEBS/sysroot/${p}_"*_arm64.deb | head -n 1)
		dpkg-deb -x "$deb" "$SYSROOT"
		dpkg-deb -f "$deb" Version > "$SYSROOT/.pkgs/$p"
	done
	# The -dev packages' .so links point at absolute paths of the runtime
	# libraries (/lib/aarch64-linux-gnu/...), which are not in the sysroot
	# this way; vmm links statically, so only the .a files matter.
	log "sysroot ready: $SYSROOT"
fi

if [ $need_debs -eq 1 ]; then
	k=$(kernel_pkg)
	[ -n "$k" ] || { log "error: no $KERNEL_META:arm64 in the package lists"; exit 1; }
	mkdir -p "$DEBS"
	pkgs=""
	ls "$DEBS"/linux-image-*-arm64*_arm64.deb > /dev/null 2>&1 || pkgs="$k:arm64"
	for p in $GUEST_PKGS $BENCH_PKGS; do
		ls "$DEBS/${p}_"*_arm64.deb > /dev/null 2>&1 && continue
		if [ "$p" = qemu-system-arm ]; then
			pkgs="$pkgs $(bench_qemu_spec)"
		else
			pkgs="$pkgs $p:arm64"
		fi
	done
	log "downloading the arm64 guest packages:$pkgs"
	# shellcheck disable=SC2086
	(cd "$DEBS" && apt-get download -q $pkgs)
fi
log "done"
