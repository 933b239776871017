#!/bin/sh
# tests/e2e/scenarios/vhost_missing.sh — --vhost on/auto/off when
# /dev/vhost-net cannot be opened (moved away for the test): on is an error
# naming the problem, auto falls back with one line, off never looks. The
# guest is the tiny lm_boot ELF, so each run takes well under a second.
E2E_SOURCE_ONLY=1 . /init
G=/tests/guests/build/lm_boot.elf
fail=
run() { # mode -> output in /tmp/vm.out, status in $rc
	timeout 60 "$VMM" run --kernel "$G" --mem 128 --no-console \
		--net "tap=vnet9,host-ip=10.98.0.1/24" --vhost "$1" > /tmp/vm.out 2>&1 < /dev/null
	rc=$?
	sed "s/^/L1-VMM[$1]| /" /tmp/vm.out
}
mv /dev/vhost-net /dev/vhost-net.away
run on
[ $rc -ne 0 ] || fail="$fail on-succeeded"
grep -q "eth0: --vhost on, but /dev/vhost-net not found" /tmp/vm.out || fail="$fail on-message"
grep -q "lm_boot: done" /tmp/vm.out && fail="$fail on-booted"
[ -e /sys/class/net/vnet9 ] && fail="$fail on-left-tap"
run auto
[ $rc -eq 0 ] || fail="$fail auto-rc=$rc"
grep -q "eth0: vhost-net unavailable: /dev/vhost-net not found.*using the userspace datapath" /tmp/vm.out || fail="$fail auto-message"
grep -q "lm_boot: done" /tmp/vm.out || fail="$fail auto-no-boot"
run off
[ $rc -eq 0 ] || fail="$fail off-rc=$rc"
grep -q "unavailable" /tmp/vm.out && fail="$fail off-looked-for-vhost"
mv /dev/vhost-net.away /dev/vhost-net
# and with it back, auto picks vhost-net
run auto
grep -q "vhost-net datapath" /tmp/vm.out || fail="$fail auto-did-not-pick-vhost"
echo "E2E-INFO vhost_missing: ${fail:-all cases as expected}"
[ -z "$fail" ]
