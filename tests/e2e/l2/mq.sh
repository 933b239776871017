# tests/e2e/l2/mq.sh — guest side of the 'mq' scenario (sourced by the L2
# /init after the virtio-net modules are loaded; the guest has 2 vCPUs and
# a NIC with 2 queue pairs). Prints MQ-* lines the L1 scenario asserts on.
# The host (L1) is 192.168.100.1 on the tap, with iperf3 servers on ports
# 5201 and 5202.
HOST=192.168.100.1
dev=$(for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor")" = 0x1af4 ] && [ "$(cat "$d/device")" = 0x1041 ] && echo "$d"
done | head -n 1)
ifname=$(ls "$(ls -d "$dev"/virtio* | head -n 1)/net" 2>/dev/null | head -n 1)
have_et=no; command -v ethtool > /dev/null && have_et=yes
echo "MQ-NIC ifname=$ifname cpus=$(grep -c ^processor /proc/cpuinfo) ethtool=$have_et msix=$(ls "$dev/msi_irqs" 2>/dev/null | wc -l)"

# mq__channels: "max current" combined channels (ethtool -l), or the
# queues the stack has (sysfs) for both when there is no ethtool.
mq__channels()
{
	if [ $have_et = yes ]; then
		ethtool -l "$ifname" 2>/dev/null | awk '/^Pre-set/ { s = 1 } /^Current/ { s = 2 }
			/^Combined:/ { v[s] = $2 } END { print v[1] + 0, v[2] + 0 }'
	else
		n=$(ls -d /sys/class/net/"$ifname"/queues/rx-* | wc -l)
		echo "$n $n"
	fi
}

# mq__counts: "rxP0 rxP1 txP0 txP1" packets per queue (ethtool -S), or
# the queues' interrupts (/proc/interrupts: virtioN-input.Q/-output.Q)
# without ethtool.
mq__counts()
{
	if [ $have_et = yes ] && ethtool -S "$ifname" 2>/dev/null | grep -q 'rx_queue_1_packets'; then
		ethtool -S "$ifname" | awk '/rx_queue_0_packets:/ { a = $2 } /rx_queue_1_packets:/ { b = $2 }
			/tx_queue_0_packets:/ { c = $2 } /tx_queue_1_packets:/ { d = $2 }
			END { print a + 0, b + 0, c + 0, d + 0 }'
	else
		awk '{ s = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i }
			/-input\.0/ { a = s } /-input\.1/ { b = s } /-output\.0/ { c = s } /-output\.1/ { d = s }
			END { print a + 0, b + 0, c + 0, d + 0 }' /proc/interrupts
	fi
}

# mq__iperf NAME ARGS...: one iperf3 client; MQ-IPERF NAME mbps=...
mq__iperf()
{
	n=$1; shift
	if timeout 60 iperf3 -c "$HOST" -f m "$@" > /tmp/iperf.$n 2>&1; then
		bps=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' /tmp/iperf.$n | tail -n 1)
		echo "MQ-IPERF $n mbps=${bps:-0}"
	else
		echo "MQ-IPERF $n mbps=0 failed"; tail -n 3 /tmp/iperf.$n | sed 's/^/MQ-IPERFLOG /'
	fi
}

ip addr add 192.168.100.2/24 dev "$ifname"
ip link set "$ifname" up
echo "MQ-CHANNELS at-start $(mq__channels)"
echo "MQ-SYSFS rx=$(ls -d /sys/class/net/"$ifname"/queues/rx-* | wc -l) tx=$(ls -d /sys/class/net/"$ifname"/queues/tx-* | wc -l)"
if ping -c 3 -W 5 "$HOST" > /tmp/ping.out 2>&1; then echo "MQ-PING ok"; else echo "MQ-PING fail"; fi

# Traffic on every queue: transmit from each vCPU (XPS maps vCPU i to
# transmitq i), receive 4 flows (the tap spreads them over its queues).
c0=$(mq__counts)
taskset 1 iperf3 -c "$HOST" -p 5201 -t 3 -f m > /tmp/iperf.cpu0 2>&1 &
taskset 2 iperf3 -c "$HOST" -p 5202 -t 3 -f m > /tmp/iperf.cpu1 2>&1 &
wait
for n in cpu0 cpu1; do
	bps=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' /tmp/iperf.$n | tail -n 1)
	echo "MQ-IPERF tx-$n mbps=${bps:-0}"
done
mq__iperf rx -p 5201 -t 3 -P 4 -R
c1=$(mq__counts)
echo "MQ-COUNTS both before=$c0 after=$c1"

# One iperf3 client with two flows (-P 2), out and in: how they spread
# over the pairs (both flows leave from the client's vCPU; the tap sends
# a flow back on the queue it last came in on).
p0=$(mq__counts)
mq__iperf p2-tx -p 5201 -t 3 -P 2
mq__iperf p2-rx -p 5201 -t 3 -P 2 -R
p1=$(mq__counts)
echo "MQ-COUNTS p2 before=$p0 after=$p1"

# ethtool -L down to one pair and back under traffic (host -> guest, 4
# flows, 16 s): the traffic goes on, and while one pair is in use nothing
# arrives on receiveq 1.
if [ $have_et = yes ]; then
	iperf3 -c "$HOST" -p 5202 -t 16 -P 4 -R -f m > /tmp/iperf.switch 2>&1 &
	ipid=$!
	sleep 2
	ethtool -L "$ifname" combined 1 > /tmp/et.out 2>&1; r1=$?
	echo "MQ-SET combined=1 rc=$r1 now=$(mq__channels) $(head -n 1 /tmp/et.out)"
	sleep 1
	d0=$(mq__counts)
	# At least 2 s, and until receiveq 0 has moved (at most 10 s): the
	# flows that were on queue 1 lost what the detached tap queue held
	# and wait for TCP's retransmit timer, seconds under nested TCG (one
	# loaded run saw nothing at all in a fixed 2 s window).
	i=0
	while :; do
		sleep 0.5
		i=$((i + 1))
		d1=$(mq__counts)
		[ $i -ge 4 ] && [ "${d1%% *}" -gt "${d0%% *}" ] && break
		[ $i -ge 20 ] && break
	done
	echo "MQ-COUNTS one-pair before=$d0 after=$d1"
	ethtool -L "$ifname" combined 2 > /tmp/et.out 2>&1; r2=$?
	echo "MQ-SET combined=2 rc=$r2 now=$(mq__channels) $(head -n 1 /tmp/et.out)"
	wait $ipid
	bps=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' /tmp/iperf.switch | tail -n 1)
	echo "MQ-IPERF switch mbps=${bps:-0}"
	e0=$(mq__counts)
	mq__iperf after-switch -p 5201 -t 2 -P 4 -R
	e1=$(mq__counts)
	echo "MQ-COUNTS after-switch before=$e0 after=$e1"
fi

# A driver reload: the device resets to one pair, the driver asks for two
# again.
echo "${dev##*/}" > /sys/bus/pci/drivers/virtio-pci/unbind
echo "${dev##*/}" > /sys/bus/pci/drivers/virtio-pci/bind
ifname=$(ls "$(ls -d "$dev"/virtio* | head -n 1)/net" 2>/dev/null | head -n 1)
ip addr add 192.168.100.2/24 dev "$ifname" 2>/dev/null
ip link set "$ifname" up
sleep 1
if ping -c 2 -W 5 "$HOST" > /dev/null 2>&1; then
	echo "MQ-RELOAD ok channels=$(mq__channels)"
else
	echo "MQ-RELOAD fail channels=$(mq__channels)"
fi
mq__iperf after-reload -p 5201 -t 2 -P 4 -R
echo "MQ-DONE"
