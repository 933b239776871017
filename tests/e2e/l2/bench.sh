# tests/e2e/l2/bench.sh — guest side of the 'bench' scenario (make bench-net;
# sourced by the L2 /init after the virtio-net modules are loaded). Runs
# iperf3 TCP both ways with the default and 1 KiB writes, then a TCP
# request/response latency test (sockperf ping-pong when the image has it,
# else ICMP ping), against servers in L1 (192.168.100.1). BENCH-MARK lines
# let L1 snapshot CPU time and exit counters around each run; the pauses
# keep the snapshots outside the measured interval.
# Kernel parameter bench_t=S: seconds per run (default 3).
HOST=192.168.100.1
T=3
for w in $(cat /proc/cmdline); do
	case $w in bench_t=*) T=${w#bench_t=} ;; esac
done
ifname=
for n in /sys/class/net/*; do
	[ "${n##*/}" = lo ] || { ifname=${n##*/}; break; }
done
ip link set lo up
ip addr add 192.168.100.2/24 dev "$ifname"
ip link set "$ifname" up
if ping -c 3 -W 5 "$HOST" > /tmp/ping.out 2>&1; then
	echo "BENCH-PING ok ifname=$ifname"
else
	echo "BENCH-PING fail ifname=$ifname"; sed 's/^/BENCH-LOG /' /tmp/ping.out
fi

for t in tx rx tx1k rx1k; do
	flags=
	case $t in rx*) flags=-R ;; esac
	case $t in *1k) flags="$flags -l 1K" ;; esac
	echo "BENCH-MARK begin-$t"; sleep 2
	# shellcheck disable=SC2086
	if timeout $((T + 30)) iperf3 -c "$HOST" -t "$T" -f m $flags > /tmp/iperf.$t 2>&1; then
		bps=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }' /tmp/iperf.$t | tail -n 1)
		echo "BENCH-IPERF test=$t mbps=${bps:-0}"
	else
		echo "BENCH-IPERF test=$t mbps=0 failed"; tail -n 5 /tmp/iperf.$t | sed 's/^/BENCH-LOG /'
	fi
	echo "BENCH-MARK end-$t"; sleep 1
done

echo "BENCH-MARK begin-lat"; sleep 2
if command -v sockperf > /dev/null; then
	# One-way latency as sockperf reports it (half the round trip), 64-byte
	# messages over one TCP connection.
	timeout $((T + 30)) sockperf ping-pong --tcp -i "$HOST" -p 11111 -t "$T" -m 64 > /tmp/sp.out 2>&1
	avg=$(sed -n 's/.*Summary: Latency is *\([0-9.]*\) usec.*/\1/p' /tmp/sp.out | tail -n 1)
	p50=$(sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p' /tmp/sp.out | tail -n 1)
	p99=$(sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p' /tmp/sp.out | tail -n 1)
	msgs=$(sed -n 's/.*\[Valid Duration\].*ReceivedMessages=\([0-9]*\).*/\1/p' /tmp/sp.out | tail -n 1)
	echo "BENCH-LAT tool=sockperf avg_us=${avg:-none} p50_us=${p50:-none} p99_us=${p99:-none} msgs=${msgs:-0}"
	[ -n "$avg" ] || tail -n 5 /tmp/sp.out | sed 's/^/BENCH-LOG /'
else
	# No sockperf in this image: ICMP round trip / 2, for the same units.
	n=$((T * 20))
	ping -c "$n" -i 0.05 -W 2 "$HOST" > /tmp/ping.lat 2>&1
	avg=$(sed -n 's/.*min\/avg\/max = [0-9.]*\/\([0-9.]*\)\/.*/\1/p' /tmp/ping.lat)
	avg=$(awk -v a="$avg" 'BEGIN { if (a == "") print "none"; else printf "%.1f", a * 1000 / 2 }')
	echo "BENCH-LAT tool=ping avg_us=$avg p50_us=none p99_us=none msgs=$n"
fi
echo "BENCH-MARK end-lat"; sleep 1
echo "BENCH-DONE"
