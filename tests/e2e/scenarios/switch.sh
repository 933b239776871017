#!/bin/sh
# tests/e2e/scenarios/switch.sh — the 'switch' scenario, run inside L1:
# `vmm set NAME --vhost on|off` moves a running NIC between vmm's
# userspace datapath and vhost-net while traffic flows. The guest
# (tests/e2e/l2/switch.sh) runs iperf3 both ways and a ping flood; at each
# of those phases this script switches 20 times (about 1.2 s apart), and keeps
# switching during a driver unbind/bind loop (each switch then either
# done or refused with a line, never a crash). Checks: every switch in
# the traffic phases answered with the datapath asked for; iperf3
# finished both ways; retransmits and ping loss reported (retransmits at
# most the baseline run's rate plus a few per switch); `vmm stat` counted
# the switches and, per datapath, nonzero bytes both ways; the NIC works
# after the reloads; vmm exits 0.
E2E_SOURCE_ONLY=1 . /init
# quiet: see bench.sh
L2_PARAMS="console=ttyS0 quiet reboot=k panic=-1"
NAME=sw
N=${SWITCHES:-20}
I="E2E-INFO switch:"

ip link set lo up
iperf3 -s -D > /dev/null 2>&1 || echo "E2E-WARN iperf3 server did not start"
: > /tmp/switch.res

# switch__wait TEXT LIMIT_S: until the guest printed TEXT.
switch__wait()
{
	i=0
	while ! grep -q "$1" /tmp/l2.out 2> /dev/null; do
		i=$((i + 1))
		[ $i -lt $(($2 * 5)) ] || return 1
		sleep 0.2
	done
}

# switch__one PHASE ON|OFF: one `vmm set`, timed; a line in switch.res.
switch__one()
{
	t0=$(e2e__uptime_ms)
	msg=$("$VMM" set "$NAME" --vhost "$2" 2>&1)
	rc=$?
	echo "$1 want=$2 rc=$rc ms=$(( $(e2e__uptime_ms) - t0 )) msg=$(echo "$msg" | tr ' ' _)" >> /tmp/switch.res
}

# The switcher: at each traffic phase N switches (off, on, off, ...,
# ending on vhost as it started), then during the reloads as fast as it
# goes until they end.
( for ph in tx rx ping; do
	switch__wait "SWITCH-MARK $ph-begin" 300 || exit
	sleep 2
	k=0
	while [ $k -lt "$N" ] && ! grep -q "SWITCH-MARK $ph-end" /tmp/l2.out; do
		if [ $((k % 2)) = 0 ]; then w=off; else w=on; fi
		switch__one "$ph" $w
		k=$((k + 1))
		sleep 1.2
	done
  done
  switch__wait "SWITCH-MARK reload-begin" 300 || exit
  k=0
  until grep -q "SWITCH-MARK reload-end" /tmp/l2.out; do
	if [ $((k % 2)) = 0 ]; then w=off; else w=on; fi
	switch__one reload $w
	k=$((k + 1))
	[ $k -lt 400 ] || break
	sleep 0.2
  done
  switch__wait "SWITCH-WAIT" 120
  switch__one after on
  "$VMM" stat "$NAME" > /tmp/switch.stat 2>&1
  # the guest may reboot now
  for i in 1 2 3 4 5; do
	echo done | nc 192.168.100.2 5555 > /dev/null 2>&1 && break
	sleep 1
  done ) &
spid=$!

VMM_ARGS="--name $NAME --net tap=vnet0,mac=02:ca:fe:fa:ce:01,host-ip=192.168.100.1/24,vhost=on"
l2__run 600 "$L2_PARAMS vmmtest=switch"
kill "$spid" 2> /dev/null
wait "$spid" 2> /dev/null

out=/tmp/l2.out
fail=
grep -q "SWITCH-DONE" "$out" || fail="$fail guest-did-not-finish"
grep -q "SWITCH-ERROR" "$out" && fail="$fail $(grep SWITCH-ERROR "$out" | head -n 1 | tr ' ' _)"
grep -q "seccomp:" "$out" && fail="$fail seccomp-violation"
# every switch of a traffic phase done, to the datapath asked for
for ph in tx rx ping; do
	n=$(grep -c "^$ph " /tmp/switch.res)
	ok=$(grep "^$ph " /tmp/switch.res | awk '
		{ for (i = 2; i <= NF; i++) { split($i, f, "="); v[f[1]] = f[2] } }
		v["rc"] == 0 && ((v["want"] == "on" && v["msg"] ~ /^eth0:_vhost-net/) ||
		                 (v["want"] == "off" && v["msg"] ~ /^eth0:_userspace/)) { n++ }
		END { print n + 0 }')
	ms=$(grep "^$ph " /tmp/switch.res | tr ' ' '\n' | sed -n 's/^ms=//p' |
		sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%d/%d/%d", a[1], a[int((NR + 1) / 2)], a[NR]; else print "none" }')
	echo "$I $ph: $ok of $n switches done (vmm set min/median/max ${ms} ms, nested TCG)"
	[ "$n" = "$N" ] && [ "$ok" = "$N" ] || { fail="$fail $ph-switches($ok/$n)"; grep "^$ph " /tmp/switch.res | grep -v "rc=0" | head -n 3 | sed "s/^/$I failed: /"; }
done
# during the driver reloads: done or refused, either is fine; counted
rl=$(grep -c "^reload " /tmp/switch.res)
rl_ok=$(grep "^reload " /tmp/switch.res | grep -c " rc=0 ")
echo "$I during 5 driver reloads: $rl switches asked, $rl_ok done, $((rl - rl_ok)) refused"
grep "^reload " /tmp/switch.res | grep -v " rc=0 " | head -n 2 | sed "s/^/$I refused: /"
grep -q "^after want=on rc=0 " /tmp/switch.res || fail="$fail switch-after-reload"
grep -q "SWITCH-RELOAD ok" "$out" || fail="$fail reload"
# iperf3: finished both ways; retransmits against the baseline's rate
f() { grep "SWITCH-IPERF phase=$1 " "$out" | tr ' ' '\n' | sed -n "s/^$2=//p" | tail -n 1; }
base_r=$(f base retr); base_s=$(f base seconds)
for ph in tx rx; do
	echo "$I iperf3 $ph: $(f $ph mbps) Mbit/s, $(f $ph retr) retransmits over $(f $ph seconds) s with $N switches (baseline without switches: $base_r in $base_s s; nested TCG)"
	[ "$(f $ph rc)" = 0 ] || fail="$fail iperf-$ph-failed"
	awk -v m="$(f $ph mbps)" 'BEGIN { exit !(m + 0 > 0) }' || fail="$fail iperf-$ph-no-throughput"
done
# one lost packet per switch costs TCP a few retransmits at most (fast
# retransmit, or a timeout's burst): allow 10 per switch above the
# baseline's rate, so a datapath that drops rings' worth fails
r=$(f tx retr)
awk -v r="${r:-x}" -v b="${base_r:-0}" -v bs="${base_s:-10}" -v s="$(f tx seconds)" -v n="$N" \
	'BEGIN { exit !(r ~ /^[0-9]+$/ && r + 0 <= b / bs * s + 10 * n) }' || fail="$fail tx-retransmits($r)"
echo "$I pings as fast as replies came (-A), $N switches: $(grep 'SWITCH-PING ' "$out" | sed 's/^SWITCH-PING //')"
grep -q "SWITCH-PING .*packets transmitted" "$out" || fail="$fail ping-no-summary"
grep -q "SWITCH-PING .* 0 packets received" "$out" && fail="$fail ping-all-lost"
# vmm stat saw them
sw=$(sed -n 's/.*switched \([0-9]*\) time.*/\1/p' /tmp/switch.stat 2> /dev/null | head -n 1)
echo "$I vmm stat: $(grep "eth0:" /tmp/switch.stat 2> /dev/null | head -n 1)"
[ "${sw:-0}" -ge $((3 * N)) ] || fail="$fail stat-switches(${sw:-none})"
# and what each datapath moved, from the tap's counters: bytes both ways
# on both (iperf3 and pings ran on each)
bd=$(grep "eth0 by datapath:" /tmp/switch.stat 2> /dev/null | head -n 1 | sed 's/^ *//')
echo "$I vmm stat: ${bd:-no per-datapath line}"
echo "$bd" | grep -q "userspace rx .* tx .*; vhost-net rx .* tx " || fail="$fail stat-by-datapath"
echo "$bd" | grep -Eq ' 0 B(,|;|$)' && fail="$fail stat-by-datapath-zero"
[ "$R_RC" = 0 ] || fail="$fail vmm-rc=$R_RC"
[ -e /sys/class/net/vnet0 ] && fail="$fail tap-left-behind"
if [ -n "$fail" ]; then
	echo "$I FAILED:$fail"
	tail -n 30 "$out" | sed 's/^/L2-TAIL| /'
	exit 1
fi
exit 0
