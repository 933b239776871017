#!/bin/sh
# tests/e2e/l1-init-arm64.sh — /init of the nested aarch64 test host (L1),
# built into build/arm64/images/l1-initrd.cpio.gz by images/build-arm64.sh.
#
# L1 is the stock Debian arm64 kernel under QEMU TCG with virtualization=on:
# it starts at EL2 and brings KVM up (VHE). This script checks /dev/kvm, runs
# the scenario named by vmmtest= and powers off. Result lines, parsed by
# tests/e2e/nested-arm64.sh, as on x86 (tests/e2e/l1-init.sh):
#   E2E-L1-INIT uptime=S          L1 kernel start to this script
#   E2E-L1-READY uptime=S         modules loaded, devices checked
#   E2E-BOOT n=I status=... boot_ms=MS wall_ms=MS uptime=S rc=RC
#   E2E-RESULT name=NAME status=pass|fail key=value...
# Scenarios:
#   boot      one L2 boot: the stock arm64 kernel to the init marker, then
#             poweroff through PSCI, which must end vmm with status 0
#   soak:N    N such boots, no retries
#   net       L2 with a virtio-net NIC on a tap (vmmtest_vhost=on|off):
#             the guest's eth0 pings L1
#   iperf     iperf3 both ways between L2 and L1 (vmmtest_vhost=on|off)
#   diskboot  no --kernel: the kernel and initramfs from a disk's grub.cfg
#   disks     a qcow2 image and the cloud-init seed, read by the guest
#   manage    vmm run -d, list --json, stat, stop --force
#   blk       virtio-blk on a raw image: the guest reads it and writes to it
#   stop      vmm run --name l2, vmm list, vmm stop: the gpio-keys power
#             button, the guest's acpid powers it off
#   bench     make bench-net-arm64: the x86 benchmark script
#             (tests/e2e/scenarios/bench.sh) in the bench image
#             (tests/bench/build-images.sh --arch arm64: QEMU inside)
#   layouts   the x86 scenario script (tests/e2e/scenarios/layouts.sh) on the
#             arm64 Fedora-layout disks: BLS entries on ext4 (f40) and in a
#             btrfs subvolume (f44), no --kernel
# Options: vmmtest_mem=256 vmmtest_cpus=2 vmmtest_tmo=120 (seconds per
# boot) vmmtest_vhost=off vmmtest_seccomp=on vmmtest_l2args=a,b (more L2
# kernel parameters; commas become spaces: earlycon shows the L2 kernel's
# first messages, through the device tree's stdout-path)
#
# Scenario scripts shared with x86 (/tests/scenarios/NAME.sh) ". /init" with
# E2E_SOURCE_ONLY=1 for the few helpers below, as they do on x86.

export PATH=/usr/bin:/usr/sbin:/bin:/sbin
export HOME=/root
L2_KERNEL=/guest/Image
L2_INITRD=/guest/l2-initrd.cpio.gz
# how l2_run boots L2: the kernel and initramfs given (diskboot: none, the
# disk's own grub.cfg says)
L2_BOOT="--kernel $L2_KERNEL --initrd $L2_INITRD"

# The helpers the shared scenario scripts call: e2e__uptime_ms,
# e2e__wait_for, e2e__dmesg_tail, e2e__vhost_tid, e2e__thread_stat are
# x86's too (tests/e2e/l1-lib.sh); l2__bug_seen below is this host's own.
VMM=${VMM:-/usr/bin/vmm}
. /lib/vmm-e2e.sh
# On x86 this spots the nested-TCG world-switch bug in vmm's output (the
# boot is then retried); no such bug is known on the aarch64 host.
l2__bug_seen()
{
	return 1
}

finish()
{
	sync
	poweroff -f
	exit 1
}

[ "${E2E_SOURCE_ONLY:-0}" = 1 ] && return 0

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /tmp /run /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
read -r up _ < /proc/uptime
printf '\nE2E-L1-INIT uptime=%s\n' "$up"
dmesg -n 1

SCENARIO=boot MEM=256 CPUS=2 TMO=120 VHOST=off SECCOMP=on L2_EXTRA=
# shellcheck disable=SC2013 # words, not lines
for w in $(cat /proc/cmdline); do
	case $w in
	vmmtest=*) SCENARIO=${w#*=} ;;
	vmmtest_mem=*) MEM=${w#*=} ;;
	vmmtest_cpus=*) CPUS=${w#*=} ;;
	vmmtest_tmo=*) TMO=${w#*=} ;;
	vmmtest_vhost=*) VHOST=${w#*=} ;;
	vmmtest_seccomp=*) SECCOMP=${w#*=} ;;
	vmmtest_l2args=*) L2_EXTRA=$(echo "${w#*=}" | tr , ' ') ;;
	esac
done
NAME=${SCENARIO%%:*}
kver=$(uname -r)
while read -r m; do
	insmod "/lib/modules/$kver/$m" || echo "E2E-WARN insmod $m failed"
done < /etc/modules.load
for d in kvm vhost-net net/tun; do
	if [ ! -c "/dev/$d" ]; then
		echo "E2E-RESULT name=$NAME status=fail reason=no-/dev/$d"
		dmesg | grep -i -E "kvm|el2|vhe" | tail -n 20 | sed 's/^/L1-DMESG| /'
		finish
	fi
done
dmesg | grep -E "KVM|VHE|EL2" | head -n 5 | sed 's/^/L1-DMESG| /'
read -r up _ < /proc/uptime
echo "E2E-L1-READY uptime=$up"

# l2_run N PARAMS [VMM ARGS...]: boot L2 once; its console prefixed "L2| ";
# sets R_STATUS (pass|stall|fail), R_BOOT_MS (vmm start to the init marker,
# measured here), R_WALL_MS, R_UPTIME (the guest's own), R_RC.
l2_run()
{
	n=$1 params="$2 $L2_EXTRA"
	shift 2
	t0=$(e2e__uptime_ms)
	: > /tmp/l2.out
	{
		# SIGTERM first: vmm then ends cleanly and, with -v, dumps
		# where each vCPU was (exit status 143).
		# shellcheck disable=SC2086 # L2_BOOT: words
		timeout -s KILL $((TMO + 10)) timeout -s TERM "$TMO" vmm run $L2_BOOT \
			--params "$params" --mem "$MEM" --cpus "$CPUS" --no-console \
			--seccomp "$SECCOMP" -v "$@" < /dev/null
		echo "E2E-VMM-RC $?"
	} 2>&1 | awk -v t0="$t0" -v res=/tmp/l2.res '
	function now_ms(  l, a) {
		getline l < "/proc/uptime"; close("/proc/uptime")
		split(l, a, " "); return int(a[1] * 1000)
	}
	BEGIN { rc = -1; marker = 0; up = "" }
	{
		line = $0; gsub(/\r/, "", line)
		if (line ~ /^E2E-VMM-RC /) { rc = substr(line, 12) + 0; next }
		print "L2| " line; fflush()
		print line >> "/tmp/l2.out"
		if (!marker && index(line, "VMM-L2-INIT-OK")) {
			marker = 1; boot = now_ms() - t0
			if (match(line, /uptime=[0-9.]+/)) up = substr(line, RSTART + 7, RLENGTH - 7)
		}
	}
	END {
		wall = now_ms() - t0
		status = marker && rc == 0 ? "pass" : (!marker && (rc == 124 || rc == 137 || rc == 143) ? "stall" : "fail")
		printf "R_STATUS=%s R_BOOT_MS=%s R_WALL_MS=%d R_UPTIME=%s R_RC=%d\n", \
			status, (marker ? boot : ""), wall, up, rc > res
	}'
	# shellcheck disable=SC1091
	. /tmp/l2.res
	echo "E2E-BOOT n=$n status=$R_STATUS boot_ms=$R_BOOT_MS wall_ms=$R_WALL_MS uptime=$R_UPTIME rc=$R_RC"
}

case $SCENARIO in
boot)
	l2_run 1 "vmmtest=poweroff"
	echo "E2E-RESULT name=boot status=$R_STATUS boot_ms=$R_BOOT_MS wall_ms=$R_WALL_MS guest_uptime=$R_UPTIME rc=$R_RC cpus=$CPUS mem=$MEM"
	;;
soak:*)
	N=${SCENARIO#soak:} pass=0 i=1
	while [ "$i" -le "$N" ]; do
		l2_run "$i" "vmmtest=poweroff quiet"
		[ "$R_STATUS" = pass ] && pass=$((pass + 1))
		i=$((i + 1))
	done
	st=fail
	[ "$pass" = "$N" ] && st=pass
	echo "E2E-RESULT name=soak status=$st boots=$N passed=$pass"
	;;
net)
	# The guest pings L1 over the tap, then reboots (tests/e2e/l2/ping.sh).
	l2_run 1 "vmmtest=ping vmmtest_ip=192.168.100.2/24 vmmtest_peer=192.168.100.1" \
		--net "tap=vnet0,mac=02:ca:fe:fa:ce:01,host-ip=192.168.100.1/24" --vhost "$VHOST"
	st=fail
	grep -q "VMM-L2-PING-OK" /tmp/l2.out 2>/dev/null && [ "$R_STATUS" = pass ] && st=pass
	echo "E2E-RESULT name=net status=$st vhost=$VHOST rc=$R_RC"
	;;
iperf)
	# iperf3 both ways between L2 and L1 over the tap (tests/e2e/l2/iperf.sh),
	# on the datapath vmmtest_vhost names. quiet: the console is slow.
	ip link set lo up
	iperf3 -s -D > /dev/null 2>&1 || echo "E2E-WARN iperf3 server did not start"
	l2_run 1 "quiet vmmtest=iperf vmmtest_ip=192.168.100.2/24 vmmtest_peer=192.168.100.1" \
		--net "tap=vnet0,mac=02:ca:fe:fa:ce:01,host-ip=192.168.100.1/24" --vhost "$VHOST"
	res=$(grep "^VMM-L2-IPERF " /tmp/l2.out | tail -n 1)
	tx=$(echo "$res" | sed -n 's/.*guest_to_host_mbps=\([0-9.]*\).*/\1/p')
	rx=$(echo "$res" | sed -n 's/.*host_to_guest_mbps=\([0-9.]*\).*/\1/p')
	st=fail
	[ -n "$tx" ] && [ -n "$rx" ] && [ "$R_STATUS" = pass ] && st=pass
	echo "E2E-RESULT name=iperf status=$st vhost=$VHOST guest_to_host_mbps=${tx:-none} host_to_guest_mbps=${rx:-none} rc=$R_RC"
	;;
diskboot)
	# No --kernel: vmm reads the disk's GPT, ext4 and /boot/grub/grub.cfg
	# and boots the entry's kernel and initramfs (-p appended).
	L2_BOOT="--disk /guest/disk.raw,format=raw,ro"
	l2_run 1 "vmmtest=poweroff"
	fail=
	grep -q "grub.cfg" /tmp/l2.out || fail="$fail no-entry-line"
	grep "^vmm: .*grub.cfg" /tmp/l2.out | sed 's/^/E2E-INFO diskboot: /'
	st=fail
	[ -z "$fail" ] && [ "$R_STATUS" = pass ] && st=pass
	echo "E2E-RESULT name=diskboot status=$st boot_ms=$R_BOOT_MS rc=$R_RC${fail:+ reason=$(echo $fail | tr ' ' ,)}"
	;;
disks)
	# A qcow2 image (made on the build machine with qemu-img and qemu-io:
	# its first MiB all 0x5a) and the cloud-init seed: the guest reads the
	# one and mounts the other (tests/e2e/l2/disks.sh).
	printf '#cloud-config\n# VMM-SEED-MARK 42\n' > /tmp/user-data
	l2_run 1 "vmmtest=disks" --disk /guest/test.qcow2 --cloud-init /tmp/user-data
	fail=
	grep -q "VMM-L2-DISKS vda md5=$(cat /guest/test.qcow2.md5)" /tmp/l2.out || fail="$fail qcow2"
	grep -q "VMM-L2-DISKS vdb label=CIDATA" /tmp/l2.out || fail="$fail seed-label"
	grep -q "VMM-L2-DISKS seed # VMM-SEED-MARK 42" /tmp/l2.out || fail="$fail seed-user-data"
	grep "^VMM-L2-DISKS\|^vmm: vd" /tmp/l2.out | sed 's/^/E2E-INFO disks: /'
	st=fail
	[ -z "$fail" ] && [ "$R_STATUS" = pass ] && st=pass
	echo "E2E-RESULT name=disks status=$st rc=$R_RC${fail:+ reason=$(echo $fail | tr ' ' ,)}"
	;;
manage)
	# vmm run -d, list --json, stat, stop --force, on arm64.
	fail=
	vmm run -d --name web1 --kernel "$L2_KERNEL" --initrd "$L2_INITRD" --mem "$MEM" \
		--cpus "$CPUS" --seccomp "$SECCOMP" --console-log /tmp/web1.console \
		--params "vmmtest=idle $L2_EXTRA" > /tmp/run-d 2>&1 < /dev/null || fail="$fail run-d-rc"
	sed 's/^/E2E-INFO manage: run -d| /' /tmp/run-d
	e2e__wait_for /tmp/web1.console VMM-L2-IDLE "$TMO" || fail="$fail no-boot"
	vmm list --json > /tmp/listj 2>&1 || fail="$fail list-json-rc"
	grep -q '"name":"web1"' /tmp/listj || fail="$fail list-json"
	vmm stat web1 > /tmp/stat 2>&1 || fail="$fail stat-rc"
	sed 's/^/E2E-INFO manage: stat| /' /tmp/stat | head -n 12
	head -n 1 /tmp/stat | grep -q "^web1: pid [0-9]*, running" || fail="$fail stat"
	vmm stop --force web1 > /tmp/stop 2>&1 || fail="$fail stop-force-rc"
	sed 's/^/E2E-INFO manage: stop --force| /' /tmp/stop
	vmm list > /tmp/list2 2>&1
	grep -q "^web1 " /tmp/list2 && fail="$fail still-listed"
	st=pass
	[ -z "$fail" ] || st=fail
	echo "E2E-RESULT name=manage status=$st${fail:+ reason=$(echo $fail | tr ' ' ,)}"
	;;
blk)
	# virtio-blk on a raw image: the guest reads what L1 wrote and writes
	# a line L1 reads back after vmm has exited (tests/e2e/l2/blk.sh).
	dd if=/dev/urandom of=/tmp/disk.raw bs=1M count=8 2> /dev/null
	dd if=/dev/zero of=/tmp/disk.raw bs=1M seek=8 count=8 2> /dev/null
	want=$(dd if=/tmp/disk.raw bs=1M count=8 2> /dev/null | md5sum | cut -d ' ' -f 1)
	l2_run 1 "vmmtest=blk" --disk /tmp/disk.raw,format=raw
	fail=
	grep -q "VMM-L2-BLK read md5=$want" /tmp/l2.out || fail="$fail read"
	dd if=/tmp/disk.raw bs=1M skip=12 count=1 2> /dev/null | grep -aq "VMM-L2-BLK-WRITTEN $want" ||
		fail="$fail write"
	st=fail
	[ -z "$fail" ] && [ "$R_STATUS" = pass ] && st=pass
	echo "E2E-RESULT name=blk status=$st rc=$R_RC${fail:+ reason=$(echo $fail | tr ' ' ,)}"
	;;
stop)
	# vmm stop presses the gpio-keys power button; the guest's busybox
	# acpid powers it off (images/l2-init.sh, vmmtest_button=acpid).
	vmm run --name l2 --kernel "$L2_KERNEL" --initrd "$L2_INITRD" --mem "$MEM" \
		--cpus "$CPUS" --no-console --seccomp "$SECCOMP" \
		--params "vmmtest=idle vmmtest_button=acpid $L2_EXTRA" > /tmp/a.out 2>&1 < /dev/null &
	pid=$!
	fail=
	e2e__wait_for /tmp/a.out VMM-L2-IDLE "$TMO" || fail="$fail no-boot"
	grep -q "VMM-L2-ACPID on /dev/input/event" /tmp/a.out || fail="$fail no-acpid"
	vmm list 2>&1 | sed 's/^/E2E-INFO stop: list| /'
	t0=$(e2e__uptime_ms)
	vmm stop l2 > /tmp/stop 2>&1 || fail="$fail stop-rc"
	t1=$(e2e__uptime_ms)
	sed 's/^/E2E-INFO stop: vmm stop| /' /tmp/stop
	grep -q "^VM 'l2': the guest powered off after" /tmp/stop || fail="$fail not-powered-off"
	grep -q "VMM-L2-POWER-BUTTON" /tmp/a.out || fail="$fail no-button-event"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || fail="$fail rc=$rc"
	sed 's/^/L2| /' /tmp/a.out | tail -n 15
	st=pass
	[ -z "$fail" ] || st=fail
	echo "E2E-RESULT name=stop status=$st stop_ms=$((t1 - t0)) rc=$rc${fail:+ reason=$(echo $fail | tr ' ' ,)}"
	;;
bench)
	# The same script as x86's, its figures labelled as this host's.
	st=fail
	BENCH_ENV="nested TCG (aarch64)" sh /tests/scenarios/bench.sh && st=pass
	echo "E2E-RESULT name=bench status=$st"
	;;
layouts)
	# The same script as x86's (it boots each disk with its disk-boot
	# sizes, 1 GiB: tests/e2e/nested-arm64.sh gives this L1 2 GiB); the
	# Debian cloud layout (grub.cfg on ext4) is diskboot's here.
	st=fail
	E2E_LAYOUTS="f44 f40" sh /tests/scenarios/layouts.sh && st=pass
	echo "E2E-RESULT name=layouts status=$st"
	;;
*)
	echo "E2E-RESULT name=$NAME status=fail reason=unknown-scenario"
	;;
esac
finish
