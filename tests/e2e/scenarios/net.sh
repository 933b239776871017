#!/bin/sh
# tests/e2e/scenarios/net.sh — the 'net' scenario, run inside L1: vmm gives
# L2 a virtio-net NIC on tap vnet0 (created by vmm, host side
# 192.168.100.1/24); L2 (tests/e2e/l2/net.sh) checks the PCI device, pings
# L1 and runs iperf3 both ways against the iperf3 server here.
# NET_MODE=off (default): vmm's userspace datapath; NET_MODE=on: vhost-net
# (tests/e2e/scenarios/vhost.sh), with the host-side vhost checks too.
E2E_SOURCE_ONLY=1 . /init
# quiet: see bench.sh
L2_PARAMS="console=ttyS0 quiet reboot=k panic=-1"
NET_MODE=${NET_MODE:-off}
NAME=net; [ "$NET_MODE" = on ] && NAME=vhost

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
	*) kill -USR2 "$pid" 2>/dev/null
	   # CPU time (clock ticks) of vmm, its queue pair thread (the
	   # userspace datapath) and its vhost-PID worker; bytes through the
	   # tap (rx = from the guest)
	   vt=$(e2e__vhost_tid "$pid")
	   io=$(for t in /proc/$pid/task/*; do [ "$(cat "$t/comm")" = vmm-net0q0 ] && echo "$t"; done | head -n 1)
	   echo "$m vmm_ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat") io_ticks=$(awk '{ print $14 + $15 }' "$io/stat") vhost_ticks=$( [ -n "$vt" ] && awk '{ print $14 + $15 }' "$(e2e__thread_stat "$pid" "$vt")" || echo 0) tap_rx=$(cat /sys/class/net/vnet0/statistics/rx_bytes) tap_tx=$(cat /sys/class/net/vnet0/statistics/tx_bytes)" >> /tmp/vmm.cpu
	   [ -n "$vt" ] && echo "vhost-thread vhost-$pid tid=$vt" >> /tmp/vmm.res ;;
	esac
	sleep 0.5
  done ) &

VMM_ARGS="--net tap=vnet0,mac=02:ca:fe:fa:ce:01,host-ip=192.168.100.1/24,vhost=$NET_MODE"
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
grep -Eq "NET-ECAM feb00000-febfffff : PCI (MMCONFIG|ECAM) 0000 \[bus 00(-00)?\]" "$out" || fail="$fail ecam-accepted"
need "NET-RELOAD ok" reload
grep -q "/dev/kvm" /tmp/vmm.fds 2>/dev/null || fail="$fail fd-kvm"
grep -q "/dev/net/tun" /tmp/vmm.fds 2>/dev/null || fail="$fail fd-tun"
if [ "$NET_MODE" = on ]; then
	grep -q "/dev/vhost-net" /tmp/vmm.fds 2>/dev/null || fail="$fail fd-vhost-net"
	grep -q "^vhost-thread" /tmp/vmm.res 2>/dev/null || fail="$fail vhost-thread"
	need "vhost-net datapath" vmm-says-vhost
else
	grep -q "/dev/vhost-net" /tmp/vmm.fds 2>/dev/null && fail="$fail vhost-fd-with-vhost-off"
	need "userspace datapath" vmm-says-userspace
fi
[ -e /sys/class/net/vnet0 ] && fail="$fail tap-left-behind"
# the driver reload leaks no fds or threads
before=$(sed -n 's/^before-reload //p' /tmp/vmm.res 2>/dev/null)
after=$(sed -n 's/^after-reload //p' /tmp/vmm.res 2>/dev/null)
{ [ -n "$before" ] && [ "$before" = "$after" ]; } || fail="$fail reload-leak($before/$after)"
tx=$(sed -n 's/.*NET-IPERF dir=tx mbps=\([0-9.]*\).*/\1/p' "$out")
rx=$(sed -n 's/.*NET-IPERF dir=rx mbps=\([0-9.]*\).*/\1/p' "$out")
awk "BEGIN { exit !(${tx:-0} > 0) }" || fail="$fail iperf-tx"
awk "BEGIN { exit !(${rx:-0} > 0) }" || fail="$fail iperf-rx"
again=$(sed -n 's/.*NET-IPERF dir=after-reload mbps=\([0-9.]*\).*/\1/p' "$out")
awk "BEGIN { exit !(${again:-0} > 0) }" || fail="$fail iperf-after-reload"
[ "$R_RC" = 0 ] || fail="$fail vmm-rc=$R_RC"
# KVM exits per MB moved: (exits at end - at begin) / (tap bytes / 1e6).
# vmm prints a stats line at each begin/end mark (kvm_exits: every VM exit
# KVM handled; user_exits: those that came back to vmm), in mark order.
per_mb()
{
	i=1; [ "$1" = rx ] && i=3
	e0=$(grep "stats: kvm_exits" "$out" | sed -n "${i}p" | tr ' ' '\n' | sed -n "s/^$2=//p")
	e1=$(grep "stats: kvm_exits" "$out" | sed -n "$((i + 1))p" | tr ' ' '\n' | sed -n "s/^$2=//p")
	col=tap_rx; [ "$1" = rx ] && col=tap_tx
	b0=$(awk -v m="begin-$1" -v k="$col" '$1 == m { for (i = 2; i <= NF; i++) { split($i, f, "="); if (f[1] == k) print f[2] } }' /tmp/vmm.cpu)
	b1=$(awk -v m="end-$1" -v k="$col" '$1 == m { for (i = 2; i <= NF; i++) { split($i, f, "="); if (f[1] == k) print f[2] } }' /tmp/vmm.cpu)
	awk -v e0="${e0:-0}" -v e1="${e1:-0}" -v b0="${b0:-0}" -v b1="${b1:-0}" \
		'BEGIN { if (b1 + 0 <= b0 + 0 || e1 + 0 < e0 + 0) print "?"; else printf "%.0f", (e1 - e0) / ((b1 - b0) / 1e6) }'
}
tx_kvm=$(per_mb tx kvm_exits); tx_user=$(per_mb tx user_exits)
rx_kvm=$(per_mb rx kvm_exits); rx_user=$(per_mb rx user_exits)
st=pass; [ -n "$fail" ] && st=fail
# CPU seconds (100 ticks/s) of vmm and the vhost thread during each run
cpu()
{
	awk -v a="begin-$1" -v b="end-$1" -v k="$2" '
	function val(  i, f) { for (i = 2; i <= NF; i++) { split($i, f, "="); if (f[1] == k) return f[2] + 0 } return 0 }
	$1 == a { x = val() } $1 == b { y = val() } END { printf "%.2f", (y - x) / 100 }' /tmp/vmm.cpu 2>/dev/null
}
P="E2E-INFO $NAME:"
echo "$P $st; iperf3 guest->host ${tx:-0} Mbit/s, host->guest ${rx:-0} Mbit/s (nested TCG, datapath: $( [ "$NET_MODE" = on ] && echo vhost-net || echo userspace))"
echo "$P KVM exits per MB: guest->host ${tx_kvm} (to vmm: ${tx_user}), host->guest ${rx_kvm} (to vmm: ${rx_user})"
echo "$P CPU s during the 3 s runs: guest->host vmm $(cpu tx vmm_ticks) (pair thread $(cpu tx io_ticks)) vhost $(cpu tx vhost_ticks); host->guest vmm $(cpu rx vmm_ticks) (pair thread $(cpu rx io_ticks)) vhost $(cpu rx vhost_ticks)"
echo "$P after a driver reload: guest->host ${again:-0} Mbit/s; vmm fds/threads before/after: $before / $after"
echo "$P missing: ${fail:-none}; $(l2__fields)"
[ $st = pass ] && exit 0
sed 's/^/L1-FDS| /' /tmp/vmm.fds 2>/dev/null
e2e__dmesg_tail 20
exit 1
