#!/bin/sh
# tests/bench/bench-net.sh — virtio-net, vmm against QEMU, vhost-net on and
# off, as one command (`make bench-net` runs it). The same L2 guest (the
# Debian kernel, an initramfs with iperf3 and sockperf servers) boots once
# under vmm and once under each QEMU configuration; rounds of iperf3 both
# ways (one flow, 1 KiB writes, two flows) and a sockperf ping-pong then
# measure eight cells in turn: vmm and QEMU, vhost-net on and off, one and
# two queue pairs in use (every guest has two pairs; `ethtool -L` in the
# guest picks), vmm switching its datapath live between its cells
# (tests/e2e/scenarios/bench.sh). Results:
# $BUILD/bench/{results.md,results.json,bench.png}.
#
# usage: tests/bench/bench-net.sh [--mode=auto|direct|nested] [-t SECONDS]
#                                 [-r ROUNDS] [--configs vmm-vhost-on:...]
#   direct   on this host's own /dev/kvm (root: it makes taps). Figures are
#            labelled "hardware KVM", or "nested KVM" when this host is
#            itself a virtual machine (the CPU's hypervisor flag).
#   nested   inside the nested test host (QEMU TCG -> L1 KVM), labelled
#            "nested TCG": the only choice on a machine without usable KVM.
#   auto     direct when /dev/kvm is kvm_intel/kvm_amd and /dev/vhost-net
#            is there and we are root, else nested (default).
# Nested: L1 sessions until ROUNDS complete rounds (at most BENCH_SESSIONS,
# 4): what a session measured before an L1 or guest died still counts, its
# failed tests are left out (tests/bench/merge.sh joins the sessions).
# --arch arm64 (make bench-net-arm64): the same in the nested aarch64 test
#            host (tests/e2e/nested-arm64.sh, QEMU TCG -> L1 KVM, arm64 QEMU
#            in L1), labelled "nested TCG (aarch64)"; results in
#            build/arm64/bench/ (make deps ARCH=arm64 first).
# One run, one label: a table never mixes hardware and nested figures.
# env: BUILD (build)
set -u
cd "$(dirname "$0")/../.." || exit 1
. images/lib.sh
BUILD=${BUILD:-build}
mode=auto
T=3
ROUNDS=5
SESSIONS=${BENCH_SESSIONS:-4}
CONFIGS=vmm-vhost-on:vmm-mq2-vhost-on:qemu-vhost-on:qemu-mq2-vhost-on:vmm-vhost-off:vmm-mq2-vhost-off:qemu-vhost-off:qemu-mq2-vhost-off
while [ $# -gt 0 ]; do
	case $1 in
	--mode=auto|--mode=direct|--mode=nested) mode=${1#--mode=} ;;
	-t) T=${2:?-t needs seconds}; shift ;;
	-r) ROUNDS=${2:?-r needs a number of rounds}; shift ;;
	--configs) CONFIGS=${2:?--configs needs a list}; shift ;;
	--arch) [ "${2:-}" = arm64 ] || { echo "bench-net.sh: --arch arm64 is the only other one" >&2; exit 2; }
		mode=arm64; shift ;;
	-h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) echo "bench-net.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

if [ "$mode" = arm64 ]; then
	ARM_BUILD=${ARM_BUILD:-build/arm64}
	tests/bench/build-images.sh --arch arm64 || exit 1
	# The L1 limit: every test of every cell and round, with room (the
	# guests' boots, the datapath switches, a slow machine).
	ncells=$(echo "$CONFIGS" | tr : '\n' | grep -c .)
	ARM_BUILD=$ARM_BUILD E2E_L1_IMAGE=$ARM_BUILD/images/l1-bench-initrd.cpio.gz \
		E2E_TIMEOUT_S=${E2E_TIMEOUT_S:-$((ROUNDS * ncells * 7 * (T + 12) + 600))} \
		E2E_L2_ARGS="bench_t=$T,bench_rounds=$ROUNDS,bench_configs=$CONFIGS" \
		tests/e2e/nested-arm64.sh bench && rc=0 || rc=$?
	BUILD=$ARM_BUILD tests/bench/report.sh "$ARM_BUILD/e2e/bench.log" || rc=1
	exit $rc
fi

# Why this host cannot run the bench directly (empty: it can).
direct_blocker()
{
	if [ ! -c /dev/kvm ]; then echo "no /dev/kvm"
	elif [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; then
		echo "/dev/kvm is not kvm_intel/kvm_amd (e.g. PVM): it cannot boot the stock guest kernel"
	elif [ ! -c /dev/vhost-net ]; then echo "no /dev/vhost-net"
	elif [ "$(id -u)" != 0 ]; then echo "not root (the bench makes taps)"
	elif ! command -v qemu-system-x86_64 > /dev/null; then echo "no qemu-system-x86_64"
	fi
}

why=$(direct_blocker)
if [ "$mode" = auto ]; then
	if [ -z "$why" ]; then mode=direct; else
		echo "bench-net: running in the nested test host: $why"
		mode=nested
	fi
elif [ "$mode" = direct ] && [ -n "$why" ]; then
	echo "bench-net: cannot run directly here: $why" >&2
	exit 1
fi

if [ "$mode" = nested ]; then
	make -s "$BUILD/vmm-static" BUILD="$BUILD" || exit 1
	BUILD=$BUILD tests/bench/build-images.sh || exit 1
	# Two L1 CPUs: three guests, their vhost workers and the load
	# generators share them (the e2e scenarios' L1 has one). An L1
	# session that dies (the nested-TCG flake, more frequent under this
	# load) keeps what it measured: the next session runs the rounds not
	# yet complete, and merge.sh joins all of them.
	mkdir -p "$BUILD/bench"
	rm -f "$BUILD"/bench/session*.log
	got=0 n=0
	while [ "$got" -lt "$ROUNDS" ] && [ $n -lt "$SESSIONS" ]; do
		n=$((n + 1))
		BUILD=$BUILD E2E_L1_IMAGE=$BUILD/images/l1-bench-initrd.cpio.gz \
			E2E_L1_CPUS=${E2E_L1_CPUS:-2} E2E_FLAKE_RERUNS=0 E2E_MAX_RERUNS=0 \
			E2E_L2_ARGS="bench_t=$T,bench_rounds=$((ROUNDS - got)),bench_configs=$CONFIGS" \
			tests/e2e/nested.sh --l2-vmm=qemu bench ||
			echo "bench-net: L1 session $n did not pass (its complete rounds still count)"
		cp "$BUILD/e2e/bench.log" "$BUILD/bench/session$n.log"
		got=$(tests/bench/merge.sh "$BUILD"/bench/session*.log | sed -n '1s/.* rounds=\([0-9]*\) .*/\1/p')
		got=${got:-0}
		[ "$got" -lt "$ROUNDS" ] && echo "bench-net: after L1 session $n: $got of $ROUNDS rounds complete"
	done
	tests/bench/merge.sh "$BUILD"/bench/session*.log > "$BUILD/bench/bench.log"
	rc=0
	[ "$got" -ge "$ROUNDS" ] || { echo "bench-net: only $got of $ROUNDS rounds complete in $n L1 sessions"; rc=1; }
	BUILD=$BUILD tests/bench/report.sh "$BUILD/bench/bench.log" || rc=1
	exit $rc
fi

# direct
label="hardware KVM"
grep -qw hypervisor /proc/cpuinfo && label="nested KVM"
make -s "$BUILD/vmm" BUILD="$BUILD" || exit 1
BUILD=$BUILD tests/bench/build-images.sh --l2-only || exit 1
kver=$(img__kernel_version) || exit 1
mkdir -p "$BUILD/bench"
log=$BUILD/bench/direct.log
echo "bench-net: direct on this host's KVM ($label), $ROUNDS rounds of $T s tests; log $log"
BENCH_INIT_LIB=$PWD/tests/e2e/l1-init.sh E2E_LIB=$PWD/tests/e2e/l1-lib.sh BENCH_VMM_BIN=$PWD/$BUILD/vmm \
	BENCH_QEMU_BIN=$(command -v qemu-system-x86_64) L2_KERNEL=/boot/vmlinuz-$kver \
	BENCH_L2_INITRD=$PWD/$BUILD/images/l2-bench-initrd.cpio.gz BENCH_T=$T BENCH_ROUNDS=$ROUNDS \
	BENCH_CONFIGS=$CONFIGS BENCH_ENV="$label" \
	sh tests/e2e/scenarios/bench.sh > "$log" 2>&1
rc=$?
grep -a "^BENCH-BOOT\|^BENCH-SWITCH\|^E2E-FLAKE" "$log"
BUILD=$BUILD tests/bench/report.sh "$log" || rc=1
exit $rc
