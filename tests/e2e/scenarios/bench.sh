#!/bin/sh
# tests/e2e/scenarios/bench.sh — the 'bench' scenario (make bench-net), run
# inside one L1 session booted from the bench image (tests/bench/
# build-images.sh: qemu, vmm, sockperf inside) or directly on a KVM host.
#
# A cell is a VMM, a number of queue pairs in use and a datapath:
# vmm-vhost-on, vmm-vhost-off, qemu-vhost-on, qemu-vhost-off (one pair),
# vmm-mq2-vhost-on ... qemu-mq2-vhost-off (two pairs), and
# vmm-noseccomp-vhost-on/off (vmm with --seccomp off).
# Every guest is booted once and stays up: vmm's cells share one boot
# (`vmm set --vhost on|off` switches it between them), each QEMU datapath has
# its own. A guest whose cells include an mqN cell has N queue pairs
# (vmm `queues=N`; QEMU `queues=N,mq=on` on a multi-queue tap) and each cell
# sets the pairs in use first (`ethtool -L combined K` in the guest), so one
# and two pairs are measured on the same boot. Then ROUNDS rounds run the
# cells one after the other, in the order given, so a round is A B A B... in
# time and noise that drifts (a TCG host shared with other jobs) hits every
# cell alike. The guests only serve (tests/e2e/l2/bench.sh); L1 runs the
# clients, per cell and round (bench_tests= picks a subset):
#   tx, tx1k   iperf3 -R (guest->host), default and 1 KiB writes
#   rx, rx1k   iperf3 (host->guest)
#   lat        sockperf TCP ping-pong, 64 B (ping when there is no sockperf)
#   tx2, rx2   two iperf3 flows at once, to servers pinned one per vCPU
#              (the multiqueue comparison: the sum of both receivers)
# and around each test it snapshots the VMM's CPU time (its own threads,
# the guest's time and vhost's worker apart), KVM's per-VM exit counter
# (debugfs), the tap's byte counters and the guest's virtio-net interrupt,
# kick and per-queue packet counters. One machine-readable line per test:
#   BENCH-ROUND cell=C vmm=vmm|qemu vhost=on|off pairs=K round=R test=T
#               status=ok|fail value=Mbit/s-or-us [p99_us=] wall_s= mb=
#               own_s= guest_s= vhost_s= exits= irq_rx= irq_tx= kicks_rx=
#               kicks_tx= rxq=P0:P1.. txq=P0:P1.. (guest packets per queue)
# read by tests/bench/report.sh (medians, spreads, ratios) and check.sh.
# L1 kernel parameter vmmtest_l2args=bench_t=S,bench_rounds=N,
# bench_configs=A:B,bench_tests=tx:rx picks seconds per test, rounds, cells
# and tests. Run directly
# on a KVM host (tests/bench/bench-net.sh --mode=direct) the environment
# says where things are: BENCH_INIT_LIB (tests/e2e/l1-init.sh),
# BENCH_VMM_BIN, BENCH_QEMU_BIN, L2_KERNEL, BENCH_L2_INITRD, BENCH_T,
# BENCH_ROUNDS, BENCH_CONFIGS, BENCH_ENV (the label of every figure).
E2E_SOURCE_ONLY=1 . "${BENCH_INIT_LIB:-/init}"
T=${BENCH_T:-3}
ROUNDS=${BENCH_ROUNDS:-5}
CONFIGS=$(echo "${BENCH_CONFIGS:-vmm-vhost-on:qemu-vhost-on:vmm-vhost-off:qemu-vhost-off}" | tr : ' ')
TESTS=$(echo "${BENCH_TESTS:-tx:rx:tx1k:rx1k:lat:tx2:rx2}" | tr : ' ')
ENV_LABEL=$(echo "${BENCH_ENV:-nested TCG}" | tr ' ' _)
STALL_S=${STALL_S:-120}
L2_MEM=${L2_MEM:-512}
L2_CPUS=${L2_CPUS:-2}
VMM_BIN=${BENCH_VMM_BIN:-/usr/bin/vmm}
# The architecture's QEMU and machine, and the L2 console: on aarch64 both
# VMMs name the UART in the device tree's stdout-path (vmm's 8250 is ttyS0,
# QEMU virt's PL011 ttyAMA0), so the command line names none.
case $(uname -m) in
aarch64)
	QEMU_BIN=${BENCH_QEMU_BIN:-/usr/bin/qemu-system-aarch64}
	QEMU_MACHINE="virt,gic-version=3,accel=kvm"
	CONSOLE=
	;;
*)
	QEMU_BIN=${BENCH_QEMU_BIN:-/usr/bin/qemu-system-x86_64}
	QEMU_MACHINE="pc,accel=kvm"
	CONSOLE="console=ttyS0 "
	;;
esac
extra=
for w in $(cat /proc/cmdline); do
	case $w in
	vmmtest_l2args=*)
		for a in $(echo "${w#*=}" | tr , ' '); do
			case $a in
			bench_t=*) T=${a#*=} ;;
			bench_rounds=*) ROUNDS=${a#*=} ;;
			bench_configs=*) CONFIGS=$(echo "${a#*=}" | tr : ' ') ;;
			bench_tests=*) TESTS=$(echo "${a#*=}" | tr : ' ') ;;
			*) extra="$extra $a" ;;
			esac
		done ;;
	esac
done
# quiet: each console byte costs the L2 two exits under nested TCG
L2_PARAMS="${CONSOLE}quiet reboot=k panic=-1 vmmtest=bench$extra"
L2_BENCH_INITRD=${BENCH_L2_INITRD:-/guest/l2-bench-initrd.cpio.gz}
[ -e "$L2_BENCH_INITRD" ] && L2_INITRD=$L2_BENCH_INITRD
HAVE_SOCKPERF=$(command -v sockperf > /dev/null && echo yes || echo no)
echo "BENCH-INFO env=$ENV_LABEL l2_initrd=$L2_INITRD t=$T rounds=$ROUNDS configs=$(echo $CONFIGS | tr ' ' ,) tests=$(echo $TESTS | tr ' ' ,) sockperf=$HAVE_SOCKPERF"
ip link set lo up
mount -t debugfs debugfs /sys/kernel/debug 2> /dev/null
W=/tmp/bench
rm -rf $W
mkdir -p $W

# ---- the guests: one per instance; a cell names its instance ---------------
# vmm[-mqN]-vhost-on/off -> vmm, vmm-noseccomp-vhost-on/off -> vmm-noseccomp,
# qemu[-mqN]-vhost-on/off -> qemu-vhost-on/off (QEMU cannot switch its
# datapath).
bench__instance()
{
	local c
	c=$(echo "$1" | sed 's/-mq[0-9]*-/-/')
	case $c in qemu-*) echo "$c" ;; *) echo "${c%-vhost-*}" ;; esac
}
# bench__pairs CELL: the queue pairs it uses (mqN: N, else 1)
bench__pairs()
{
	case $1 in *-mq[0-9]*-*) echo "$1" | sed 's/.*-mq\([0-9]*\)-.*/\1/' ;; *) echo 1 ;; esac
}
# bench__queues INST: the pairs its device offers, the most any of its cells
# uses (1: a single-queue device, no VIRTIO_NET_F_MQ)
bench__queues()
{
	local c n max
	max=1
	for c in $CONFIGS; do
		[ "$(bench__instance "$c")" = "$1" ] || continue
		n=$(bench__pairs "$c")
		[ "$n" -gt $max ] && max=$n
	done
	echo $max
}
INSTANCES=
for c in $CONFIGS; do
	case $c in
	vmm-vhost-on|vmm-vhost-off|vmm-noseccomp-vhost-on|vmm-noseccomp-vhost-off) ;;
	vmm-mq[2-8]-vhost-on|vmm-mq[2-8]-vhost-off) ;;
	qemu-vhost-on|qemu-vhost-off|qemu-mq[2-8]-vhost-on|qemu-mq[2-8]-vhost-off) ;;
	*) echo "BENCH-ERROR unknown cell '$c'"; exit 1 ;;
	esac
	[ "$(bench__pairs "$c")" -le "$L2_CPUS" ] || { echo "BENCH-ERROR cell '$c': more pairs than the guest's $L2_CPUS vCPUs"; exit 1; }
	i=$(bench__instance "$c")
	case " $INSTANCES " in *" $i "*) ;; *) INSTANCES="$INSTANCES $i" ;; esac
done
for t in $TESTS; do
	case $t in tx|rx|tx1k|rx1k|lat|tx2|rx2) ;; *) echo "BENCH-ERROR unknown test '$t'"; exit 1 ;; esac
done

# Instance N (its place in INSTANCES, from 0) uses tap vnetN, host
# 192.168.(100+N).1, guest .2, and its facts live in files under $W/NAME.
bench__index()
{
	local n i
	n=0
	for i in $INSTANCES; do
		[ "$i" = "$1" ] && { echo $n; return; }
		n=$((n + 1))
	done
}

bench__launch()
{
	local inst n host mac params sec t0 i q ip mq
	inst=$1
	n=$(bench__index "$inst")
	q=$(bench__queues "$inst")
	host=192.168.$((100 + n)).1
	mac=02:ca:fe:fa:ce:0$n
	params="$L2_PARAMS bench_ip=192.168.$((100 + n)).2/24"
	rm -f $W/$inst.pid $W/$inst.vt $W/$inst.out $W/$inst.channels $W/$inst.death
	case $inst in
	qemu-*)
		ip link del vnet$n 2> /dev/null
		if [ "$q" -gt 1 ]; then
			# a tap with one queue per pair: iproute2's ip (busybox's
			# has no tuntap), as an admin would make it for QEMU
			ip=/usr/lib/iproute2/ip
			[ -x $ip ] || ip=ip
			$ip tuntap add dev vnet$n mode tap multi_queue
			mq=",queues=$q"
		else
			tunctl -t vnet$n > /dev/null 2>&1 || ip tuntap add dev vnet$n mode tap
			mq=
		fi &&
			ip addr add $host/24 dev vnet$n && ip link set vnet$n up ||
			echo "E2E-WARN tap vnet$n setup failed"
		"$QEMU_BIN" -machine "$QEMU_MACHINE" -cpu host -smp "$L2_CPUS" -m "$L2_MEM" \
			-nodefaults -vga none -display none -no-reboot -serial stdio \
			-kernel "$L2_KERNEL" -initrd "$L2_INITRD" -append "$params" \
			-netdev tap,id=n0,ifname=vnet$n,script=no,downscript=no,vhost=${inst##*-}$mq \
			-device virtio-net-pci,netdev=n0,mac=$mac,romfile=${mq:+,mq=on,vectors=$((2 * q + 2))} \
			< /dev/null > $W/$inst.out 2>&1 &
		;;
	*)
		sec=
		[ "$inst" = vmm-noseccomp ] && sec="--seccomp off"
		mq=
		[ "$q" -gt 1 ] && mq=",queues=$q"
		# shellcheck disable=SC2086
		"$VMM_BIN" run --name bench$n --kernel "$L2_KERNEL" --initrd "$L2_INITRD" \
			--params "$params" --mem "$L2_MEM" --cpus "$L2_CPUS" --no-console -v \
			--net tap=vnet$n,mac=$mac,host-ip=$host/24,vhost=on$mq $sec \
			< /dev/null > $W/$inst.out 2>&1 &
		echo on > $W/$inst.datapath
		;;
	esac
	echo $! > $W/$inst.pid
	t0=$(e2e__uptime_ms)
	i=0
	while ! grep -q BENCH-READY $W/$inst.out 2> /dev/null; do
		if [ $i -ge $((STALL_S * 5)) ] || ! bench__alive "$inst"; then
			echo "BENCH-BOOT instance=$inst status=fail after_ms=$(($(e2e__uptime_ms) - t0))"
			kill -KILL "$(cat $W/$inst.pid)" 2> /dev/null
			tail -n 20 $W/$inst.out | sed "s/^/BENCH-LOG $inst| /"
			return 1
		fi
		sleep 0.2
		i=$((i + 1))
	done
	echo "BENCH-BOOT instance=$inst status=ok ms=$(($(e2e__uptime_ms) - t0)) $(grep -a BENCH-READY $W/$inst.out | tr -d '\r')"
}

# bench__alive INST: its VMM runs (busybox's kill -0 "" succeeds: no pid, no)
bench__alive()
{
	local pid
	pid=$(cat $W/$1.pid 2> /dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2> /dev/null
}

# bench__death INST: why a guest died, from its console: the kernel's last
# words (panic, oops, RIP, call trace) or else its last lines, so a crash
# under a cell can be told from the nested-TCG flake
bench__death()
{
	{ grep -a -A12 'Kernel panic\|BUG:\|Oops\|general protection\|triple fault\|watchdog' $W/$1.out ||
		tail -n 15 $W/$1.out; } 2> /dev/null | tail -n 40 | tr -d '\r' | sed "s/^/BENCH-DEATH $1| /"
}

# bench__up INST: the instance runs (booted once more if it died: printed
# as a flake, at most once per instance and run, never hidden)
bench__up()
{
	bench__alive "$1" && return 0
	if [ -e $W/$1.started ]; then
		[ -e $W/$1.rebooted ] && return 1
		: > $W/$1.rebooted
		echo "E2E-FLAKE bench: $1 died ($(grep -a -m1 'triple fault\|panic\|vmm: ' $W/$1.out | tr -d '\r' | cut -c1-120)); booting it once more"
		[ -e $W/$1.death ] || bench__death "$1"
	fi
	: > $W/$1.started
	bench__launch "$1" && return 0
	[ -e $W/$1.rebooted ] && return 1
	: > $W/$1.rebooted
	echo "E2E-FLAKE bench: $1 did not boot; booting it once more"
	bench__launch "$1"
}

# ---- measuring --------------------------------------------------------------
# ticks FILE [FIELD]: utime+stime from a /proc stat file, or field FIELD
# (43: guest_time); the comm field has no spaces here
ticks()
{
	awk -v f="${2:-0}" '{ print f ? $f : $14 + $15 }' "$1" 2> /dev/null || echo 0
}

# bench__snap INST: one line of key=value counters, now
bench__snap()
{
	local n pid vt vh vin dbg g
	n=$(bench__index "$1")
	pid=$(cat $W/$1.pid)
	vt=$(cat $W/$1.vt 2> /dev/null)
	if [ -z "$vt" ]; then
		vt=$(e2e__vhost_tid "$pid")
		[ -z "$vt" ] || echo "$vt" > $W/$1.vt
	fi
	vh=0 vin=0
	if [ -n "$vt" ]; then
		vh=$(ticks "$(e2e__thread_stat "$pid" "$vt")")
		[ -e "/proc/$pid/task/$vt" ] && vin=1
	fi
	dbg=$(cat /sys/kernel/debug/kvm/"$pid"-*/exits 2> /dev/null | awk '{ s += $1 } END { print NR ? s : "none" }')
	g=$(timeout 5 nc 192.168.$((100 + n)).2 5556 < /dev/null 2> /dev/null | tr -d '\r')
	echo "ms=$(e2e__uptime_ms) proc=$(ticks /proc/$pid/stat) guest=$(ticks /proc/$pid/stat 43) vhost=$vh vhost_in_proc=$vin vhost_seen=$([ -n "$vt" ] && echo 1 || echo 0) exits=$dbg tap_rx=$(cat /sys/class/net/vnet$n/statistics/rx_bytes) tap_tx=$(cat /sys/class/net/vnet$n/statistics/tx_bytes) ${g:-guest_stats=none}"
}

# bench__delta BEFORE AFTER TEST: the BENCH-ROUND counter fields
bench__delta()
{
	awk -v a="$1" -v b="$2" -v t="$3" 'function kv(s, m,  n, i, x, p) {
		n = split(s, x, " ")
		for (i = 1; i <= n; i++) { p = index(x[i], "="); m[substr(x[i], 1, p - 1)] = substr(x[i], p + 1) }
	}
	function d(k) { return (k in A) && (k in B) && A[k] ~ /^[0-9]+$/ && B[k] ~ /^[0-9]+$/ ? B[k] - A[k] : "none" }
	function s(k) { x = d(k); return x == "none" ? x : sprintf("%.2f", x / 100) }
	# qs(P): the per-queue deltas of the guest counters P0 P1 ..., "P0:P1"
	function qs(p,  i, o) {
		for (i = 0; (p i) in B; i++) o = o (i ? ":" : "") d(p i)
		return i ? o : "none"
	}
	BEGIN {
		kv(a, A); kv(b, B)
		# the bytes of the data direction: the tap receives what the guest sends
		mb = t ~ /^tx/ ? d("tap_rx") : t ~ /^rx/ ? d("tap_tx") : d("tap_rx") + d("tap_tx")
		own = d("proc") - d("guest") - (B["vhost_in_proc"] ? d("vhost") : 0)
		# utime+stime are the precise run time split by tick samples; the
		# guest_time taken from them is tick samples alone, and on the
		# nested aarch64 host (6.1) it can exceed them: no figure then
		owns = own < 0 ? "under" : sprintf("%.2f", own / 100)
		printf "wall_s=%.2f mb=%.3f own_s=%s guest_s=%s vhost_s=%s vhost_seen=%s exits=%s irq_rx=%s irq_tx=%s kicks_rx=%s kicks_tx=%s rxq=%s txq=%s",
			d("ms") / 1000, mb / 1e6, owns, s("guest"), s("vhost"), B["vhost_seen"], d("exits"),
			d("irq_rx"), d("irq_tx"), d("kicks_rx"), d("kicks_tx"), qs("rxq"), qs("txq")
	}'
}

# bench__run INST TEST: the client side; prints "value=... [p99_us=...]" or
# nothing when the test failed
bench__run()
{
	local ip flags
	ip=192.168.$(($(bench__index "$1") + 100)).2
	case $2 in
	lat)
		if [ "$HAVE_SOCKPERF" = yes ]; then
			timeout $((T + 30)) sockperf ping-pong --tcp -i "$ip" -p 11111 -t "$T" -m 64 > $W/test.out 2>&1
			sed -n 's/.*Summary: Latency is *\([0-9.]*\) usec.*/value=\1/p' $W/test.out | tail -n 1 | tr '\n' ' '
			sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/p99_us=\1/p' $W/test.out | tail -n 1
		else
			ping -c $((T * 20)) -i 0.05 -W 2 "$ip" > $W/test.out 2>&1
			sed -n 's/.*min\/avg\/max = [0-9.]*\/\([0-9.]*\)\/.*/\1/p' $W/test.out |
				awk '{ printf "value=%.1f\n", $1 * 1000 / 2 }'
		fi
		;;
	tx2|rx2)
		# two clients at once, one per guest server (one per vCPU); the
		# value is the sum of the two receivers, both must have measured
		flags=
		[ "$2" = tx2 ] && flags=-R
		# shellcheck disable=SC2086
		timeout $((T + 30)) iperf3 -c "$ip" -p 5202 -t "$T" -f m $flags > $W/test.out 2>&1 &
		# shellcheck disable=SC2086
		timeout $((T + 30)) iperf3 -c "$ip" -p 5203 -t "$T" -f m $flags > $W/test2.out 2>&1
		wait
		cat $W/test2.out >> $W/test.out
		awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") { v += $i; n++ } }
			END { if (n == 2) print "value=" v }' $W/test.out
		;;
	*)
		flags=
		case $2 in tx*) flags=-R ;; esac
		case $2 in *1k) flags="$flags -l 1K" ;; esac
		# shellcheck disable=SC2086
		timeout $((T + 30)) iperf3 -c "$ip" -t "$T" -f m $flags > $W/test.out 2>&1 &&
			awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") v = $i }
			END { if (v != "") print "value=" v }' $W/test.out
		;;
	esac
}

# bench__channels INST K: K queue pairs in use in the guest (ethtool -L), when
# its device has more than one; prints BENCH-CHANNELS, fails when K is not
# what the guest then reports
bench__channels()
{
	local t0 out
	[ "$(bench__queues "$1")" -gt 1 ] || return 0
	[ "$(cat $W/$1.channels 2> /dev/null)" = "$2" ] && return 0
	t0=$(e2e__uptime_ms)
	out=$(echo "$2" | timeout 20 nc "192.168.$(($(bench__index "$1") + 100)).2" 5558 2> /dev/null | tr -d '\r')
	echo "BENCH-CHANNELS instance=$1 to=$2 ms=$(($(e2e__uptime_ms) - t0)) ${out:-channels=none rc=none}"
	[ "$out" = "channels=$2 rc=0" ] || return 1
	echo "$2" > $W/$1.channels
}

# bench__switch INST on|off: vmm's datapath for the next cell
bench__switch()
{
	local t0 msg rc
	[ "$(cat $W/$1.datapath)" = "$2" ] && return 0
	t0=$(e2e__uptime_ms)
	msg=$(timeout 20 "$VMM_BIN" set bench$(bench__index "$1") --vhost "$2" 2>&1)
	rc=$?
	echo "BENCH-SWITCH instance=$1 to=$2 rc=$rc ms=$(($(e2e__uptime_ms) - t0)) msg=$(echo "$msg" | tr ' ' _)"
	[ $rc = 0 ] && echo "$2" > $W/$1.datapath
	return $rc
}

all_ok=1
for c in $INSTANCES; do
	bench__up "$c" || all_ok=0
done
r=1
while [ $r -le "$ROUNDS" ]; do
	for c in $CONFIGS; do
		inst=$(bench__instance "$c")
		vhost=${c##*-}
		kind=${c%%-*}
		pairs=$(bench__pairs "$c")
		row="cell=$c vmm=$kind vhost=$vhost pairs=$pairs round=$r"
		if ! bench__up "$inst"; then
			for t in $TESTS; do echo "BENCH-ROUND $row test=$t status=fail why=no-guest"; done
			all_ok=0
			continue
		fi
		if [ "$kind" = vmm ] && ! bench__switch "$inst" "$vhost"; then
			for t in $TESTS; do echo "BENCH-ROUND $row test=$t status=fail why=switch"; done
			all_ok=0
			continue
		fi
		if ! bench__channels "$inst" "$pairs"; then
			for t in $TESTS; do echo "BENCH-ROUND $row test=$t status=fail why=channels"; done
			all_ok=0
			continue
		fi
		for t in $TESTS; do
			s0=$(bench__snap "$inst")
			v=$(bench__run "$inst" $t)
			s1=$(bench__snap "$inst")
			st=ok
			case $v in value=[0-9]*) ;; *) st=fail; all_ok=0 ;; esac
			echo "BENCH-ROUND $row test=$t status=$st ${v:-value=none} $(bench__delta "$s0" "$s1" $t)"
			[ $st = ok ] || tail -n 3 $W/test.out | sed "s/^/BENCH-LOG $c $t| /"
			# A guest that died under the test (the nested-TCG triple
			# fault) fails the run as a flake: the harness reruns it in a
			# fresh L1, counted (bench__up reboots it only between cells).
			if [ $st != ok ] && ! bench__alive "$inst"; then
				echo "E2E-FLAKE bench: $inst died during $c $t ($(grep -a 'triple fault\|panic\|vmm: ' $W/$inst.out | grep -av 'kvm stats' | tail -n 1 | tr -d '\r' | cut -c1-120))"
				[ -e $W/$inst.death ] || { bench__death "$inst"; : > $W/$inst.death; }
			fi
		done
	done
	r=$((r + 1))
done

# vmm's own view of what each datapath moved, then every guest ends
for inst in $INSTANCES; do
	n=$(bench__index "$inst")
	case $inst in vmm*) timeout 10 "$VMM_BIN" stat bench$n 2>&1 | sed "s/^/BENCH-VMMSTAT $inst| /" ;; esac
	timeout 5 nc 192.168.$((100 + n)).2 5557 < /dev/null > /dev/null 2>&1
done
for inst in $INSTANCES; do
	pid=$(cat $W/$inst.pid 2> /dev/null)
	i=0
	while [ -n "$pid" ] && kill -0 "$pid" 2> /dev/null && [ $i -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -n "$pid" ] && kill -0 "$pid" 2> /dev/null && { echo "E2E-WARN $inst did not end after quit"; kill -KILL "$pid"; }
	case $inst in qemu-*) ip link del vnet"$(bench__index "$inst")" 2> /dev/null ;; esac
	grep -a "vmm: \|qemu-system" $W/$inst.out | tail -n 3 | sed "s/^/BENCH-LOG $inst| /"
done
[ $all_ok = 1 ] || e2e__dmesg_tail 10
[ $all_ok = 1 ]
