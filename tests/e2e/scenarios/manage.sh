#!/bin/sh
# tests/e2e/scenarios/manage.sh — VMs managed by name: vmm list (and
# --json) shows both of two running VMs, vmm stat counters move when
# traffic flows and it shows the uptime, every verb answers --help.
# vmm stop presses the ACPI power button: web1's guest (busybox acpid)
# powers itself off, vmm says so and web1's own vmm ends with "guest
# powered off" (its tap and control socket gone), db1 keeps running.
# db1's guest ignores the button: vmm stop --timeout ends it after the
# timeout and says so. db2 is ended at once by vmm stop --force, its
# button never pressed.
E2E_SOURCE_ONLY=1 . /init
P="console=ttyS0 quiet reboot=k panic=-1 vmmtest=idle"	# quiet: see bench.sh
fail=
start() { # name out extra-args...
	name=$1; out=$2; shift 2
	timeout 600 "$VMM" run --name "$name" --kernel "$L2_KERNEL" --initrd "$L2_INITRD" \
		--mem 256 --cpus 1 --no-console "$@" > "$out" 2>&1 < /dev/null &
}
# centiseconds since L1 booted (busybox date has no sub-second format)
now_cs() { read -r up _ < /proc/uptime; echo "${up%.*}${up#*.}"; }
start web1 /tmp/a.out --net tap=vnetA,host-ip=192.168.101.1/24,vhost=off \
	--params "$P vmmtest_ip=192.168.101.2/24 vmmtest_button=acpid"
pid_a=$!
start db1 /tmp/b.out --params "$P"
pid_b=$!
# A guest that never reaches init is the nested-TCG boot stall that l1-init's
# own boots retry (docs/running.md): say so, so the harness reruns the scenario.
e2e__wait_for /tmp/a.out VMM-L2-IDLE 180 || { fail="$fail web1-no-boot"; echo "E2E-FLAKE manage: web1 did not reach init in 180 s"; }
e2e__wait_for /tmp/b.out VMM-L2-IDLE 180 || { fail="$fail db1-no-boot"; echo "E2E-FLAKE manage: db1 did not reach init in 180 s"; }
grep -q "VMM-L2-ACPID on /dev/input/event" /tmp/a.out || fail="$fail web1-no-acpid"
"$VMM" list > /tmp/list1 2>&1
sed 's/^/E2E-INFO manage: list| /' /tmp/list1
grep -q "^web1 " /tmp/list1 || fail="$fail list-web1"
grep -q "^db1 " /tmp/list1 || fail="$fail list-db1"
# --json: one array holding both VMs' objects
"$VMM" list --json > /tmp/listj 2>&1 || fail="$fail list-json-rc"
{ [ "$(head -c 1 /tmp/listj)" = "[" ] && [ "$(tail -n 1 /tmp/listj)" = "]" ] &&
	grep -q '"name":"web1"' /tmp/listj && grep -q '"name":"db1"' /tmp/listj; } ||
	{ fail="$fail list-json"; sed 's/^/E2E-INFO manage: list --json| /' /tmp/listj | cut -c 1-200; }
"$VMM" stat web1 --json > /tmp/s1 2>&1 || fail="$fail stat1"
ping -c 5 -W 5 192.168.101.2 > /dev/null 2>&1 || fail="$fail ping"
"$VMM" stat web1 --json > /tmp/s2 2>&1 || fail="$fail stat2"
"$VMM" stat web1 > /tmp/s2h 2>&1 || fail="$fail stat-human"
sed 's/^/E2E-INFO manage: stat| /' /tmp/s2h | head -n 40
head -n 1 /tmp/s2h | grep -q "^web1: pid [0-9]*, running, .*, up [0-9]" || fail="$fail stat-uptime"
num() { tr ',{}' '\n\n\n' < "$1" | sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" | head -n 1; }
rx1=$(num /tmp/s1 rx_packets); rx2=$(num /tmp/s2 rx_packets)
tx1=$(num /tmp/s1 tx_packets); tx2=$(num /tmp/s2 tx_packets)
[ "${rx2:-0}" -ge $(( ${rx1:-0} + 5 )) ] || fail="$fail rx-counter($rx1->$rx2)"
[ "${tx2:-0}" -ge $(( ${tx1:-0} + 5 )) ] || fail="$fail tx-counter($tx1->$tx2)"
for verb in run list stat stop kill set; do
	"$VMM" "$verb" --help > /tmp/help 2>&1 && grep -q "^usage: vmm $verb " /tmp/help ||
		fail="$fail help-$verb"
done

# vmm stop: the guest's acpid powers it off; vmm says so, not that it ended it.
t0=$(now_cs)
"$VMM" stop web1 > /tmp/stop 2>&1 || fail="$fail stop-rc"
t1=$(now_cs)
sed 's/^/E2E-INFO manage: vmm stop web1| /' /tmp/stop
grep -q "^VM 'web1': the guest powered off after [0-9.]* s$" /tmp/stop || fail="$fail stop-not-powered-off"
grep -q "VMM-L2-POWER-BUTTON" /tmp/a.out || fail="$fail web1-no-button-event"
grep -q "vmm: guest powered off" /tmp/a.out || fail="$fail web1-not-powered-off"
grep -q "stopped by 'vmm stop'" /tmp/a.out && fail="$fail web1-ended-not-powered-off"
wait "$pid_a"	# (timeout 600 bounds it) the process gone, its tap must be too
rc_a=$?
[ "$rc_a" = 0 ] || fail="$fail web1-rc=$rc_a"
[ -e /sys/class/net/vnetA ] && fail="$fail tap-left"
"$VMM" list > /tmp/list2 2>&1
grep -q "^web1 " /tmp/list2 && fail="$fail web1-still-listed"
grep -q "^db1 " /tmp/list2 || fail="$fail db1-gone"
kill -0 "$pid_b" 2>/dev/null || fail="$fail db1-dead"

# db2: ended at once by --force (a guest that would ignore the button)
start db2 /tmp/c.out --params "$P"
pid_c=$!
e2e__wait_for /tmp/c.out VMM-L2-IDLE 180 || { fail="$fail db2-no-boot"; echo "E2E-FLAKE manage: db2 did not reach init in 180 s"; }
t2=$(now_cs)
"$VMM" stop --force db2 > /tmp/stopc 2>&1 || fail="$fail force-rc"
t3=$(now_cs)
sed 's/^/E2E-INFO manage: vmm stop --force db2| /' /tmp/stopc
grep -q "^VM 'db2' stopped$" /tmp/stopc || fail="$fail force-output"
grep -q "stopped by 'vmm stop'" /tmp/c.out || fail="$fail db2-not-stopped"
grep -q "power button pressed" /tmp/c.out && fail="$fail force-pressed-button"
# vmm stop returned once db2's vmm had exited: nothing left to list
"$VMM" list 2>&1 | grep -q "^db2 " && fail="$fail db2-still-listed"
wait "$pid_c"
# at once: no waiting for the guest (bounded by vmm's own teardown)
[ $((t3 - t2)) -lt 1000 ] || fail="$fail force-took-$((t3 - t2))cs"

# db1 ignores the button: ended after --timeout, and vmm says that.
t4=$(now_cs)
"$VMM" stop --timeout 3 db1 > /tmp/stopb 2>&1 || fail="$fail timeout-rc"
t5=$(now_cs)
sed 's/^/E2E-INFO manage: vmm stop --timeout 3 db1| /' /tmp/stopb
grep -q "^VM 'db1': the guest did not power off within 3 s; ended it$" /tmp/stopb ||
	fail="$fail timeout-output"
grep -q "power button pressed (vmm stop)" /tmp/b.out || fail="$fail db1-no-press"
grep -q "stopped by 'vmm stop'" /tmp/b.out || fail="$fail db1-not-stopped"
[ $((t5 - t4)) -ge 300 ] || fail="$fail timeout-too-early-$((t5 - t4))cs"
"$VMM" list 2>&1 | grep -q "^db1 " && fail="$fail db1-still-listed"
wait "$pid_b"
echo "E2E-INFO manage: rx_packets $rx1 -> $rx2, tx_packets $tx1 -> $tx2 around 5 pings; vmm stop web1 $(( (t1 - t0) / 100 )).$(( (t1 - t0) % 100 / 10 )) s (guest powered off), stop --force db2 $(( (t3 - t2) / 100 )).$(( (t3 - t2) % 100 / 10 )) s, stop --timeout 3 db1 $(( (t5 - t4) / 100 )).$(( (t5 - t4) % 100 / 10 )) s; ${fail:-all checks passed}"
[ -z "$fail" ] || { sed 's/^/A| /' /tmp/a.out | tail -n 20; sed 's/^/B| /' /tmp/b.out | tail -n 5; sed 's/^/C| /' /tmp/c.out | tail -n 5; }
[ -z "$fail" ]
