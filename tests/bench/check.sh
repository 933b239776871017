#!/bin/sh
# tests/bench/check.sh LOG — the short bench in `make test`: every test of
# every cell was measured in every round and is plausible (a finite number
# above zero, below an absurd bound), vmm's datapath switches all worked,
# vhost's worker was seen where vhost-net ran and not in QEMU's userspace
# cell, the guest's interrupt counters came back, every `ethtool -L` took,
# and in a cell with N queue pairs the two-flow tests moved packets on each
# of the N queues of their direction (summed over the rounds). Timing itself
# is never judged: a slow run passes, a missing or nonsensical figure fails.
log=${1:?usage: tests/bench/check.sh LOG}
[ -e "$log" ] || { echo "bench-check: no log $log"; exit 1; }
tr -d '\r' < "$log" | grep -a '^BENCH-\(ROUND\|INFO\|SWITCH\|CHANNELS\) ' | awk '
function num(x) { return x ~ /^[0-9]+(\.[0-9]+)?$/ }
function kv(   i, p) {
	delete v
	for (i = 2; i <= NF; i++) { p = index($i, "="); v[substr($i, 1, p - 1)] = substr($i, p + 1) }
}
function bad(why) { printf "bench-check: FAIL %s round %s %s: %s\n", v["cell"], v["round"], v["test"], why; failed++ }
$1 == "BENCH-INFO" {
	kv(); rounds = v["rounds"] + 0; n = split(v["configs"], want, ",")
	nt = split(v["tests"] != "" ? v["tests"] : "tx,rx,tx1k,rx1k,lat", T, ",")
}
$1 == "BENCH-CHANNELS" { kv(); if (v["rc"] != 0 || v["channels"] != v["to"]) { printf "bench-check: FAIL ethtool -L combined %s in %s: channels=%s rc=%s\n", v["to"], v["instance"], v["channels"], v["rc"]; failed++ } }
$1 == "BENCH-SWITCH" { kv(); switches++; if (v["rc"] != 0) { printf "bench-check: FAIL vmm set %s --vhost %s: %s\n", v["instance"], v["to"], v["msg"]; failed++ } }
$1 == "BENCH-ROUND" {
	kv(); c = v["cell"]; t = v["test"]
	if (v["status"] != "ok") { bad("not measured (" v["why"] ")"); next }
	max = t == "lat" ? 1e7 : 1e6
	if (!num(v["value"]) || v["value"] + 0 <= 0 || v["value"] + 0 > max) { bad("value=" v["value"]); next }
	if (!num(v["mb"]) || v["mb"] + 0 <= 0) { bad("no bytes on the tap (mb=" v["mb"] ")"); next }
	if (!num(v["irq_rx"]) || !num(v["irq_tx"])) { bad("no guest interrupt counters"); next }
	if (v["vhost"] == "on" && v["vhost_seen"] != 1) { bad("no vhost worker"); next }
	if (v["vmm"] == "qemu" && v["vhost"] == "off" && v["vhost_seen"] == 1) { bad("a vhost worker with vhost=off"); next }
	ok[c, t]++
	# packets per queue in the direction of the data (the guest sends on
	# its tx queues for g->h), summed over rounds
	if (t ~ /^[tr]x2$/ && v["pairs"] > 1) {
		pairs[c] = v["pairs"]
		nq = split(v[t == "tx2" ? "txq" : "rxq"], qv, ":")
		for (i = 1; i <= nq; i++) qsum[c, t, i] += qv[i]
	}
}
END {
	if (!rounds) { print "bench-check: FAIL no BENCH-INFO line"; exit 1 }
	for (i = 1; i <= n; i++) {
		cells = 0
		for (j = 1; j <= nt; j++) {
			if (ok[want[i], T[j]] < rounds) { printf "bench-check: FAIL %s %s: %d of %d rounds measured\n", want[i], T[j], ok[want[i], T[j]], rounds; failed++ }
			else cells++
			if (want[i] in pairs && T[j] ~ /^[tr]x2$/) {
				qs = ""
				for (k = 1; k <= pairs[want[i]]; k++) {
					qs = qs (k > 1 ? ":" : "") qsum[want[i], T[j], k] + 0
					if (qsum[want[i], T[j], k] + 0 <= 0) { printf "bench-check: FAIL %s %s: no packets on queue %d\n", want[i], T[j], k - 1; failed++ }
				}
				printf "bench-check: %s %s: packets per queue %s\n", want[i], T[j], qs
			}
		}
		printf "bench-check: %s: %d of %d tests measured and plausible in all %d rounds\n", want[i], cells, nt, rounds
		if (want[i] ~ /^vmm-(mq[0-9]+-)?vhost-o/) vmmcells++
	}
	if (vmmcells >= 2 && switches < 2 * rounds - 1) { printf "bench-check: FAIL only %d datapath switches for %d rounds\n", switches, rounds; failed++ }
	printf "bench-check: %d cells, %d datapath switches, %d failures\n", n, switches, failed
	exit failed > 0
}'
