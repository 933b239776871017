# tests/e2e/l2/bench.sh — guest side of the 'bench' scenario (make bench-net;
# sourced by the L2 /init after the virtio-net modules are loaded). The
# guest only serves: L1 drives every test (tests/e2e/scenarios/bench.sh), so
# it can interleave several guests and switch vmm's datapath between rounds.
#   iperf3 server            throughput both ways (L1 uses -R for g->h)
#   iperf3 on :5202, :5203   the two-flow tests, one server pinned to each
#                            vCPU, so each flow's transmit queue (XPS) and
#                            receive processing are that vCPU's
#   sockperf server :11111   TCP ping-pong latency (when the image has it)
#   stats on TCP :5556       one line: virtio-net interrupts (from
#                            /proc/interrupts), kicks and packets per queue
#                            (ethtool -S), the guest's own counts, the same
#                            for every VMM
#   channels on TCP :5558    reads a number K, runs `ethtool -L combined K`,
#                            answers "channels=<in use> rc=<ethtool's status>"
#   quit on TCP :5557        a connection there ends the guest (reboot)
# Kernel parameter bench_ip=A/N: this guest's address (default
# 192.168.100.2/24). "BENCH-READY" on the console when all of it listens.
IP=192.168.100.2/24
for w in $(cat /proc/cmdline); do
	case $w in bench_ip=*) IP=${w#bench_ip=} ;; esac
done
ifname=
for n in /sys/class/net/*; do
	[ "${n##*/}" = lo ] || { ifname=${n##*/}; break; }
done
ip link set lo up
ip addr add "$IP" dev "$ifname"
ip link set "$ifname" up

iperf3 -s -D > /dev/null 2>&1 || echo "BENCH-ERROR iperf3 server did not start"
taskset 1 iperf3 -s -p 5202 -D > /dev/null 2>&1 || echo "BENCH-ERROR iperf3 server :5202 did not start"
taskset 2 iperf3 -s -p 5203 -D > /dev/null 2>&1 || echo "BENCH-ERROR iperf3 server :5203 did not start"
if command -v sockperf > /dev/null; then
	sockperf server --tcp -i 0.0.0.0 -p 11111 > /dev/null 2>&1 &
fi

# The stats line. /proc/interrupts: a header of CPUs, then per IRQ one count
# per CPU; virtio-net's MSI-X vectors are named virtioN-input.Q / -output.Q.
cat > /tmp/bench-stats <<S
#!/bin/sh
awk 'NR == 1 { n = NF }
/virtio[0-9]+-input/ { for (i = 2; i <= n + 1; i++) rx += \$i }
/virtio[0-9]+-output/ { for (i = 2; i <= n + 1; i++) tx += \$i }
END { printf "irq_rx=%d irq_tx=%d", rx, tx }' /proc/interrupts
if command -v ethtool > /dev/null; then
	ethtool -S $ifname 2> /dev/null | awk '/rx_queue_[0-9]+_kicks:/ { rx += \$2 }
	/tx_queue_[0-9]+_kicks:/ { tx += \$2; seen = 1 }
	/[rt]x_queue_[0-9]+_packets:/ { q = \$1; sub(/_queue_/, "q", q); sub(/_packets:/, "", q); pk = pk " " q "=" \$2 }
	END { if (seen) printf " kicks_rx=%d kicks_tx=%d", rx, tx; printf "%s", pk }'
fi
echo
S
chmod 755 /tmp/bench-stats
nc -ll -p 5556 -e /tmp/bench-stats &
cat > /tmp/bench-channels <<S
#!/bin/sh
read -r k
ethtool -L $ifname combined "\$k" > /dev/null 2>&1
rc=\$?
echo "channels=\$(ethtool -l $ifname 2> /dev/null | awk '/^Current/ { c = 1 } c && /^Combined:/ { print \$2 }') rc=\$rc"
S
chmod 755 /tmp/bench-channels
nc -ll -p 5558 -e /tmp/bench-channels &
echo "BENCH-READY ip=$IP ifname=$ifname sockperf=$(command -v sockperf > /dev/null && echo yes || echo no) ethtool=$(command -v ethtool > /dev/null && echo yes || echo no)"
# Bounded: a guest whose L1 side died reboots within the hour.
timeout 3600 nc -l -p 5557 > /dev/null 2>&1
echo "BENCH-DONE"
