#!/bin/sh
# tests/bench/merge.sh LOG... — one bench log from the L1 sessions of one
# `make bench-net` run (tests/bench/bench-net.sh). Under nested TCG an L1
# session or a guest can die mid-run (the nested-TCG flake,
# docs/running.md); what it measured before is still measured, so the
# bench goes on in a fresh session for the rounds left, and this joins
# them: every round of every log, renumbered 1..N in the order run, with
# the boot, switch and channel lines. A test that failed stays a failed
# row (report.sh leaves it out of the figures and counts it); a ratio
# pairs two cells of the same round only. Printed: a BENCH-INFO line with
# rounds=<complete rounds: every cell's every test measured> ran=<rounds
# with any row> sessions=S, then those lines, on stdout.
[ $# -gt 0 ] || { echo "usage: tests/bench/merge.sh LOG..." >&2; exit 2; }
for f in "$@"; do
	[ -e "$f" ] || { echo "merge.sh: no log $f" >&2; exit 1; }
	tr -d '\r' < "$f" | grep -a '^BENCH-\(ROUND\|INFO\|BOOT\|SWITCH\|CHANNELS\) ' | sed "s|^|$f |"
done | awk '
function kv(   i, p) {
	delete v
	for (i = 3; i <= NF; i++) { p = index($i, "="); v[substr($i, 1, p - 1)] = substr($i, p + 1) }
}
{ f = $1; line = substr($0, length(f) + 2) }
f != last { sessions++; order[sessions] = f; last = f }
$2 == "BENCH-INFO" {
	kv()
	if (info == "") info = line
	want[f] = split(v["configs"], a, ",") * split(v["tests"] != "" ? v["tests"] : "tx,rx,tx1k,rx1k,lat", b, ",")
	next
}
$2 == "BENCH-ROUND" {
	kv(); r = v["round"]
	if (!((f, r) in seen)) { seen[f, r] = 1; rounds[f] = rounds[f] " " r }
	rows[f, r] = rows[f, r] line "\n"
	if (v["status"] == "ok") ok[f, r]++
	next
}
{ other = other line "\n" }
END {
	n = 0; complete = 0
	for (s = 1; s <= sessions; s++) {
		f = order[s]
		k = split(rounds[f], rr, " ")
		for (i = 1; i <= k; i++) {
			n++
			if (want[f] && ok[f, rr[i]] + 0 >= want[f]) complete++
			out = rows[f, rr[i]]
			gsub(/ round=[0-9]+ /, " round=" n " ", out)
			body = body out
		}
	}
	sub(/ rounds=[0-9]+/, " rounds=" complete, info)
	print info " ran=" n " sessions=" sessions
	printf "%s%s", other, body
}'
