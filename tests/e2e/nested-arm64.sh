#!/bin/sh
# tests/e2e/nested-arm64.sh — the nested aarch64 test host: QEMU TCG
# (-machine virt,virtualization=on,gic-version=3 -cpu max) boots the stock
# Debian arm64 kernel as L1 at EL2, so it has KVM; vmm (build/arm64/vmm-static)
# runs in L1's initramfs and boots the same kernel as L2
# (tests/e2e/l1-init-arm64.sh). ../shared/notes/test-host.md section 5 (beside
# the repository) has the measurements this started from.
#
# usage: tests/e2e/nested-arm64.sh SCENARIO...
#   boot       one L2 boot to its init marker, then PSCI poweroff (vmm exits 0)
#   soak:N     N boots in one L1
#   net        virtio-net over a tap in L1, userspace datapath; net-vhost: vhost-net
#   iperf      iperf3 both ways between L2 and L1, userspace datapath;
#              iperf-vhost: vhost-net
#   diskboot   no --kernel: vmm boots the entry of the disk's grub.cfg (ext4 on GPT)
#   disks      a qcow2 image and the cloud-init seed, read by the guest
#   manage     vmm run -d, list --json, stat, stop --force
#   blk        virtio-blk on a raw image, read and written by the guest
#   stop       vmm stop through the guest's power button (gpio-keys, acpid)
#   layouts    no --kernel: the Fedora layouts' BLS entries, on ext4 and in a
#              btrfs subvolume (tests/e2e/scenarios/layouts.sh); L1 gets
#              2 GiB (E2E_L1_MEM_LAYOUTS) for the 1 GiB disk-boot guest
#   bench      the benchmark (tests/bench/bench-net.sh --arch arm64 runs it
#              with E2E_L1_IMAGE, the bench image); L1 gets 3 GiB for its
#              three 512 MiB guests, as on x86
# Serial logs: build/arm64/e2e/SCENARIO.log. Exit status 0 when all passed.
# env: QEMU (qemu-system-aarch64), E2E_L1_CPUS (2), E2E_L1_MEM (1024),
#      E2E_L2_CPUS (2), E2E_L2_MEM (256), E2E_TIMEOUT_S (600 per scenario),
#      E2E_VERBOSE=1 (the serial log on stdout as it runs), E2E_L2_SECCOMP (on),
#      E2E_L2_ARGS (more L2 kernel parameters, e.g. earlycon),
#      E2E_L1_IMAGE (boot this L1 initramfs instead of the one built here)

set -u
cd "$(dirname "$0")/../.." || exit 1
ARM_BUILD=${ARM_BUILD:-build/arm64}
QEMU=${QEMU:-qemu-system-aarch64}
L1_CPUS=${E2E_L1_CPUS:-2}
L1_MEM=${E2E_L1_MEM:-1024}
TMO=${E2E_TIMEOUT_S:-600}

[ $# -gt 0 ] || { echo "usage: $0 boot|soak:N|net|net-vhost|iperf|iperf-vhost|blk|disks|diskboot|manage|stop|layouts..." >&2; exit 2; }
command -v "$QEMU" > /dev/null || { echo "nested-arm64.sh: $QEMU not found (make deps ARCH=arm64)" >&2; exit 1; }
ARM_BUILD=$ARM_BUILD images/build-arm64.sh --if-stale || exit 1
L1_IMAGE=${E2E_L1_IMAGE:-$ARM_BUILD/images/l1-initrd.cpio.gz}
[ -e "$L1_IMAGE" ] || { echo "nested-arm64.sh: E2E_L1_IMAGE=$L1_IMAGE does not exist" >&2; exit 1; }
mkdir -p "$ARM_BUILD/e2e"

# l1_run MEM ARGS: one L1 session with MEM MiB and the kernel parameters
# ARGS, its console on stdout; -no-reboot: L1's own poweroff (or a panic)
# ends QEMU.
l1_run()
{
	timeout -s KILL "$TMO" "$QEMU" -machine virt,virtualization=on,gic-version=3 \
		-cpu max,pauth-impdef=on -accel tcg,thread=multi -smp "$L1_CPUS" -m "$1" \
		-nographic -nic none -no-reboot -kernel "$ARM_BUILD/images/Image" \
		-initrd "$L1_IMAGE" -append "console=ttyAMA0 rdinit=/init panic=-1 $2" < /dev/null
}

fail=0
for sc in "$@"; do
	args="vmmtest_cpus=${E2E_L2_CPUS:-2} vmmtest_mem=${E2E_L2_MEM:-256} vmmtest_seccomp=${E2E_L2_SECCOMP:-on}"
	[ -z "${E2E_L2_ARGS:-}" ] || args="$args vmmtest_l2args=$(echo "$E2E_L2_ARGS" | tr ' ' ,)"
	case $sc in
	net-vhost) args="$args vmmtest=net vmmtest_vhost=on" ;;
	iperf-vhost) args="$args vmmtest=iperf vmmtest_vhost=on" ;;
	*) args="$args vmmtest=$sc" ;;
	esac
	mem=$L1_MEM
	case $sc in
	layouts) mem=${E2E_L1_MEM_LAYOUTS:-2048} ;;
	bench) mem=${E2E_L1_MEM_BENCH:-3072} ;;
	esac
	log=$ARM_BUILD/e2e/$(echo "$sc" | tr : -).log
	start=$(date +%s.%N)
	if [ "${E2E_VERBOSE:-0}" = 1 ]; then
		l1_run "$mem" "$args" 2>&1 | tee "$log"
	else
		l1_run "$mem" "$args" > "$log" 2>&1
	fi
	end=$(date +%s.%N)
	secs=$(awk "BEGIN { printf \"%.1f\", $end - $start }")
	tr -d '\r' < "$log" | grep -E "^(E2E-(L1-INIT|L1-READY|BOOT|RESULT|WARN|INFO)|L1-DMESG)" | sed "s/^/$sc: /"
	res=$(tr -d '\r' < "$log" | grep "^E2E-RESULT " | tail -n 1)
	case $res in
	*status=pass*) echo "nested-arm64: $sc passed in $secs s (log: $log)" ;;
	*) echo "nested-arm64: $sc FAILED in $secs s (log: $log)"; fail=1 ;;
	esac
done
exit $fail
