#!/bin/sh
# tests/e2e/scenarios/console.sh — a VM in the background and its serial
# console (issue 16 item 1). `vmm run -d` returns once the guest runs,
# saying its name and pid, and `vmm list` shows it; the console log in the
# runtime directory holds the boot. `vmm console` attaches twice, each
# time on a terminal (ptyrun: a pty, since busybox has no `script`): the
# greeting, the replay of earlier output, a command typed into the guest's
# shell and its output, raw mode on while attached and the terminal
# restored after Ctrl-] detaches; `vmm stat` shows the client while it is
# attached, and a second client is refused with one line. Then vmm stop
# --force ends the VM (the guest's shell ignores the power button).
E2E_SOURCE_ONLY=1 . /init
P="console=ttyS0 quiet reboot=k panic=-1 vmmtest=shell"
RUN=${VMM_RUNTIME_DIR:-/run/vmm}
fail=

t0=$(e2e__uptime_ms)
timeout 120 "$VMM" run -d --name con1 --kernel "$L2_KERNEL" --initrd "$L2_INITRD" \
	--mem 256 --cpus 1 --params "$P" > /tmp/run.out 2>&1 < /dev/null
rc=$?
t1=$(e2e__uptime_ms)
sed 's/^/E2E-INFO console: vmm run -d| /' /tmp/run.out
[ "$rc" = 0 ] || fail="$fail run-d-rc=$rc"
pid=$(sed -n "s/^VM 'con1' is running in the background (pid \([0-9]*\)).*/\1/p" /tmp/run.out)
[ -n "$pid" ] || fail="$fail run-d-no-pid"
"$VMM" list > /tmp/list 2>&1
grep -q "^con1 *${pid:-x} *running" /tmp/list || { fail="$fail list"; sed 's/^/E2E-INFO console: list| /' /tmp/list; }
# errors before the guest runs still come in the foreground
"$VMM" run -d --name con2 --kernel /nonexistent > /tmp/run2.out 2>&1
rc2=$?
[ "$rc2" = 1 ] && grep -q "cannot read kernel '/nonexistent'" /tmp/run2.out ||
	{ fail="$fail run-d-error($rc2)"; sed 's/^/E2E-INFO console: bad run -d| /' /tmp/run2.out; }
[ -e "$RUN/con2.sock" ] && fail="$fail con2-socket-left"

"$VMM" console --help > /tmp/help 2>&1 && grep -q "^usage: vmm console NAME" /tmp/help ||
	fail="$fail help"
"$VMM" run --help 2>&1 | grep -q -- "-d, --detach" || fail="$fail run-help"

# The boot, in the console log (the shell's greeting is l2-init's).
e2e__wait_for "$RUN/con1.console" "Type 'exit'" 180 ||
	{ fail="$fail no-boot"; echo "E2E-FLAKE console: con1 did not reach its shell in 180 s"; }

# attach NAME-TAG: one session: type a command, read its output, detach.
attach() {
	tag=$1
	rm -f /tmp/in."$tag" /tmp/con."$tag"
	mkfifo /tmp/in."$tag"
	ptyrun "$VMM" console con1 < /tmp/in."$tag" > /tmp/con."$tag" 2>&1 &
	cpid=$!
	exec 3> /tmp/in."$tag"
	e2e__wait_for /tmp/con."$tag" "connected to con1's console; Ctrl-] detaches" 30 || fail="$fail $tag-no-greeting"
	e2e__wait_for /tmp/con."$tag" "ptyrun: raw mode on" 10 || fail="$fail $tag-not-raw"
	"$VMM" stat con1 > /tmp/stat."$tag" 2>&1
	grep -q "console: client attached (pid [0-9]" /tmp/stat."$tag" ||
		{ fail="$fail $tag-stat"; sed 's/^/E2E-INFO console: stat| /' /tmp/stat."$tag" | head -n 3; }
	# one client at a time
	"$VMM" console con1 < /dev/null > /tmp/second."$tag" 2>&1
	rc=$?
	[ "$rc" = 1 ] && [ "$(wc -l < /tmp/second."$tag")" = 1 ] &&
		grep -q "^vmm: the console already has a client (pid [0-9]*); one at a time" /tmp/second."$tag" ||
		{ fail="$fail $tag-second-client($rc)"; sed 's/^/E2E-INFO console: second| /' /tmp/second."$tag"; }
	# typed into the guest's shell; the output (42, not the typed text)
	printf 'echo CON-$((6*7))-%s\r' "$tag" >&3
	e2e__wait_for /tmp/con."$tag" "CON-42-$tag" 60 || fail="$fail $tag-no-output"
	printf '\035' >&3	# Ctrl-]
	i=0
	while kill -0 "$cpid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
	wait "$cpid"
	rc=$?
	exec 3>&-
	[ "$rc" = 0 ] || fail="$fail $tag-rc=$rc"
	grep -q "detached from con1's console (the VM runs on)" /tmp/con."$tag" || fail="$fail $tag-no-detach"
	grep -q "ptyrun: terminal restored" /tmp/con."$tag" || fail="$fail $tag-terminal-not-restored"
	sed 's/^/E2E-INFO console: '"$tag"'| /' /tmp/con."$tag" | tail -n 8
}
attach A
# the replay holds the shell's greeting: output from before the attach
grep -q "Type 'exit'" /tmp/con.A || fail="$fail A-no-replay"
attach B
# the second session's replay holds the first one's output
grep -q "CON-42-A" /tmp/con.B || fail="$fail B-no-replay-of-A"
"$VMM" stat con1 2>&1 | grep -q "console: no client attached" || fail="$fail stat-after-detach"
kill -0 "${pid:-0}" 2>/dev/null || fail="$fail vm-died"
grep -q "CON-42-A" "$RUN/con1.console" && grep -q "CON-42-B" "$RUN/con1.console" ||
	fail="$fail console-log"
grep -q "console: client attached" "$RUN/con1.log" || fail="$fail vmm-log"

"$VMM" stop --force con1 > /tmp/stop 2>&1 || fail="$fail stop-rc"
grep -q "^VM 'con1' stopped$" /tmp/stop || fail="$fail stop-output"
grep -q "stopped by 'vmm stop'" "$RUN/con1.log" || fail="$fail log-no-stop"
"$VMM" list 2>&1 | grep -q "^con1 " && fail="$fail still-listed"
echo "E2E-INFO console: vmm run -d returned after $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s; console log $(wc -c < "$RUN/con1.console") bytes; ${fail:-all checks passed}"
[ -z "$fail" ] || { sed 's/^/LOG| /' "$RUN/con1.log" | tail -n 20; sed 's/^/CON| /' "$RUN/con1.console" | tail -n 20; }
[ -z "$fail" ]
