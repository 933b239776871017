#!/bin/sh
# tests/bench/merge.sh LOG... — one bench log from the L1 sessions of one
# `make bench-net` run (tests/bench/bench-net.sh). Under nested TCG an L1
# session can die mid-run (the nested-TCG flake, docs/running.md); the
# rounds it finished are still measurements, so the bench goes on in a
# fresh session for the rounds left, and this joins them: every complete
# round (each cell's every test measured) of every log, renumbered 1..N in
# the order run, with the boot, switch and channel lines. A round a guest
# or L1 died in is dropped whole, so each round keeps its cells side by
# side in time (the ratios are per round). Printed: a BENCH-INFO line with
# rounds=N sessions=S dropped=D, then those lines, on stdout.
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
	n = 0
	for (s = 1; s <= sessions; s++) {
		f = order[s]
		k = split(rounds[f], rr, " ")
		for (i = 1; i <= k; i++) {
			if (ok[f, rr[i]] + 0 < want[f] || !want[f]) { dropped++; continue }
			n++
			out = rows[f, rr[i]]
			gsub(/ round=[0-9]+ /, " round=" n " ", out)
			body = body out
		}
	}
	sub(/ rounds=[0-9]+/, " rounds=" n, info)
	print info " sessions=" sessions " dropped=" dropped + 0
	printf "%s%s", other, body
}'
