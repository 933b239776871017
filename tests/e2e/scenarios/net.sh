#!/bin/sh
# tests/e2e/scenarios/net.sh — the 'net' scenario, run inside L1: vmm gives
# L2 a virtio-net NIC on tap vnet0 (created by vmm, host side
# 192.168.100.1/24); L2 (tests/e2e/l2/net.sh) checks the PCI device, pings
# L1 and runs iperf3 both ways against the iperf3 server here.
E2E_SOURCE_ONLY=1 . /init
L2_PARAMS="console=ttyS0 reboot=k panic=-1"

ip link set lo up
iperf3 -s -D > /dev/null 2>&1 || echo "E2E-WARN iperf3 server did not start"

# Host-side view while the VM runs: the fds of vmm.
( for i in $(seq 1 120); do
	pid=$(pidof vmm)
	if [ -n "$pid" ] && [ -e /sys/class/net/vnet0 ]; then
		ls -l "/proc/$pid/fd" > /tmp/vmm.fds 2>&1
		break
	fi
	sleep 1
  done ) &

# At each NET-MARK from the guest: vmm's counters around the iperf3 runs
# (SIGUSR2 makes vmm print a stats line), and its fd and thread counts
# around the driver reload.
( for m in begin-tx end-tx begin-rx end-rx before-reload after-reload; do
	for i in $(seq 1 600); do
		grep -q "NET-MARK $m" /tmp/l2.out 2>/dev/null && break
		sleep 0.2
	done
	pid=$(pidof vmm)
	case $m in
	*reload) echo "$m fds=$(ls "/proc/$pid/fd" | wc -l) threads=$(ls "/proc/$pid/task" | wc -l)" >> /tmp/vmm.res ;;
	*) kill -USR2 "$pid" 2>/dev/null ;;
	esac
	sleep 0.5
  done ) &

VMM_ARGS="--net tap=vnet0,mac=02:ca:fe:fa:ce:01,host-ip=192.168.100.1/24"
l2__run 300 "$L2_PARAMS vmmtest=net"

out=/tmp/l2.out
fail=
need() { grep -q -- "$1" "$out" || fail="$fail $2"; }
grep -Eq "Red Hat, Inc. Virtio (1.0 )?network device" "$out" || fail="$fail lspci-name"
need "Subsystem: Red Hat, Inc. Device 1100" lspci-subsys
need "MSI-X: Enable+" msix
need "VirtIO: CommonCfg" cap-common
need "VirtIO: Notify" cap-notify
need "VirtIO: ISR" cap-isr
need "VirtIO: DeviceCfg" cap-devcfg
need "Kernel driver in use: virtio-pci" driver-pci
need "NET-VIRTIO driver=virtio_net ifname=eth0 mac=02:ca:fe:fa:ce:01" virtio-net
need "NET-PING ok" ping
need "NET-RELOAD ok" reload
grep -q "/dev/kvm" /tmp/vmm.fds 2>/dev/null || fail="$fail fd-kvm"
grep -q "/dev/net/tun" /tmp/vmm.fds 2>/dev/null || fail="$fail fd-tun"
[ -e /sys/class/net/vnet0 ] && fail="$fail tap-left-behind"
# the driver reload leaks no fds or threads
before=$(sed -n 's/^before-reload //p' /tmp/vmm.res 2>/dev/null)
after=$(sed -n 's/^after-reload //p' /tmp/vmm.res 2>/dev/null)
{ [ -n "$before" ] && [ "$before" = "$after" ]; } || fail="$fail reload-leak($before/$after)"
tx=$(sed -n 's/.*NET-IPERF dir=tx mbps=\([0-9.]*\).*/\1/p' "$out")
rx=$(sed -n 's/.*NET-IPERF dir=rx mbps=\([0-9.]*\).*/\1/p' "$out")
awk "BEGIN { exit !(${tx:-0} > 0) }" || fail="$fail iperf-tx"
awk "BEGIN { exit !(${rx:-0} > 0) }" || fail="$fail iperf-rx"
[ "$R_RC" = 0 ] || fail="$fail vmm-rc=$R_RC"
# KVM exits per MB moved: (exits at end - at begin) / (bytes / 1e6), from
# vmm's stats lines (kvm_exits: all VM exits; user_exits: back to vmm).
per_mb()
{
	grep "stats: kvm_exits" "$out" | awk -v d="$1" -v want="$2" '
	function val(k,  i, a) { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] } return 0 }
	{ n++; e[n] = val(want) + 0; b[n] = val(d == "tx" ? "tx_bytes" : "rx_bytes") + 0 }
	END { i = (d == "tx") ? 1 : 3; if (n < i + 1 || b[i + 1] <= b[i]) { print "?"; exit }
	      printf "%.0f", (e[i + 1] - e[i]) / ((b[i + 1] - b[i]) / 1e6) }'
}
tx_kvm=$(per_mb tx kvm_exits); tx_user=$(per_mb tx user_exits)
rx_kvm=$(per_mb rx kvm_exits); rx_user=$(per_mb rx user_exits)
st=pass; [ -n "$fail" ] && st=fail
echo "E2E-INFO net: $st; iperf3 guest->host ${tx:-0} Mbit/s, host->guest ${rx:-0} Mbit/s (nested TCG, userspace datapath)"
echo "E2E-INFO net: KVM exits per MB: guest->host ${tx_kvm} (to vmm: ${tx_user}), host->guest ${rx_kvm} (to vmm: ${rx_user})"
echo "E2E-INFO net: vmm before/after driver reload: $before / $after"
echo "E2E-INFO net: missing: ${fail:-none}; $(l2__fields)"
[ $st = pass ] && exit 0
sed 's/^/L1-FDS| /' /tmp/vmm.fds 2>/dev/null
e2e__dmesg_tail 20
exit 1
