# tests/e2e/l2/switch.sh — guest side of the 'switch' scenario (sourced by
# the L2 /init with the virtio-net modules loaded). L1 switches the NIC
# between vmm's datapath and vhost-net while this side keeps traffic
# going; each phase starts with "SWITCH-MARK NAME-begin" (L1 starts
# switching when it sees it) and ends with "SWITCH-MARK NAME-end".
#   base   iperf3 guest->host for 10 s without switches: the retransmits
#          this machine gives anyway
#   tx     iperf3 guest->host, 40 s;  rx  host->guest (-R), 40 s
#   ping   pings as fast as the replies come (busybox: -A), 35 s
#   reload the driver unbound and bound again 5 times, 2 s each
# then it waits (bounded) for L1's "done" on TCP port 5555 before it
# reboots, so L1 can still switch and read `vmm stat`.
# One SWITCH-IPERF / SWITCH-PING / SWITCH-RELOAD line per phase.
HOST=192.168.100.1
dev=$(for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1041 ] && echo "$d"
done | head -n 1)

switch__up()
{
	ifname=$(ls "$(ls -d "$dev"/virtio* | head -n 1)/net" 2>/dev/null | head -n 1)
	ip addr add 192.168.100.2/24 dev "$ifname" 2>/dev/null
	ip link set "$ifname" up
}

# switch__iperf PHASE SECONDS [FLAGS]: the receiver's Mbit/s and the
# sender's retransmits (iperf3 reports them for -R too).
switch__iperf()
{
	echo "SWITCH-MARK $1-begin"
	if timeout $(($2 + 60)) iperf3 -c "$HOST" -t "$2" -f m $3 > /tmp/iperf.$1 2>&1; then
		rc=0
	else
		rc=$?
	fi
	mbps=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' /tmp/iperf.$1 | tail -n 1)
	retr=$(awk '/sender/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $(i + 2) }' /tmp/iperf.$1 | tail -n 1)
	echo "SWITCH-IPERF phase=$1 rc=$rc mbps=${mbps:-0} retr=${retr:-none} seconds=$2"
	[ "$rc" = 0 ] || sed 's/^/SWITCH-IPERFLOG /' /tmp/iperf.$1 | tail -n 5
	echo "SWITCH-MARK $1-end"
}

switch__up
if ! ping -c 3 -W 5 "$HOST" > /dev/null 2>&1; then
	echo "SWITCH-ERROR no ping before the test"
fi
switch__iperf base 10
switch__iperf tx 40
switch__iperf rx 40 -R

echo "SWITCH-MARK ping-begin"
ping -A -q -w 35 "$HOST" > /tmp/ping.flood 2>&1
echo "SWITCH-PING $(grep 'packets transmitted' /tmp/ping.flood)"
grep -q 'packets transmitted' /tmp/ping.flood || sed 's/^/SWITCH-PINGLOG /' /tmp/ping.flood | tail -n 3
echo "SWITCH-MARK ping-end"

echo "SWITCH-MARK reload-begin"
for i in 1 2 3 4 5; do
	echo "${dev##*/}" > /sys/bus/pci/drivers/virtio-pci/unbind
	sleep 1
	echo "${dev##*/}" > /sys/bus/pci/drivers/virtio-pci/bind
	sleep 1
done
switch__up
echo "SWITCH-MARK reload-end"
if ping -c 3 -W 5 "$HOST" > /dev/null 2>&1; then
	echo "SWITCH-RELOAD ok"
else
	echo "SWITCH-RELOAD fail"
fi
echo "SWITCH-WAIT"
timeout 120 nc -l -p 5555 > /dev/null 2>&1 || echo "SWITCH-ERROR no done from L1 in 120 s"
echo "SWITCH-DONE"
