#!/bin/sh
# tests/bench/report.sh — turn the log of the bench scenario (make bench-net,
# tests/e2e/scenarios/bench.sh) into $BUILD/bench/:
#   results.md    per metric and cell: the median of the rounds and their
#                 min–max; then the ratios vmm/QEMU (same datapath and
#                 pairs), userspace/vhost (same VMM and pairs) and 2 pairs/
#                 1 pair (same VMM and datapath), each the median of
#                 per-round ratios with their min–max, marked "≈" where the
#                 two cells' ranges overlap (a difference within the
#                 spread: no result)
#   results.json  every round as measured, the cells and the ratios
#   bench.png     throughput and latency medians with min–max bars (gnuplot)
# usage: tests/bench/report.sh [LOG]   (default $BUILD/e2e/bench.log)
# env: BUILD (default build). Exit status 1 when the log has no BENCH-ROUND.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
log=${1:-$BUILD/e2e/bench.log}
dir=$BUILD/bench
[ -e "$log" ] || { echo "report.sh: no log $log" >&2; exit 1; }
mkdir -p "$dir"
tr -d '\r' < "$log" | grep -a '^BENCH-\(ROUND\|INFO\|BOOT\|SWITCH\|CHANNELS\) ' > "$dir/lines.txt" || true
if ! grep -q '^BENCH-ROUND ' "$dir/lines.txt"; then
	echo "report.sh: no BENCH-ROUND lines in $log" >&2
	exit 1
fi
# One label for the whole table, never mixed (env= of BENCH-INFO).
nenv=$(grep '^BENCH-INFO ' "$dir/lines.txt" | tr ' ' '\n' | sed -n 's/^env=//p' | sort -u | wc -l)
if [ "$nenv" -gt 1 ]; then
	echo "report.sh: $log mixes figures from different hosts (env= differs): refusing one table" >&2
	exit 1
fi

awk -v md="$dir/results.md" -v js="$dir/results.json" -v chart="$dir/chart.dat" -v srclog="$log" '
function num(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ }
function kv(   i, p) {
	delete v
	for (i = 2; i <= NF; i++) { p = index($i, "="); v[substr($i, 1, p - 1)] = substr($i, p + 1) }
}
function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function jv(x) { return num(x) ? x + 0 : (x == "none" || x == "" ? "null" : q(x)) }
# three significant figures, more for small numbers
function f3(x) { return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : x >= 1 ? sprintf("%.2f", x) : sprintf("%.3f", x) }
# stats over list L (space-separated numbers): sets S_n S_med S_min S_max
function stats(L,   a, n, i, j, t) {
	n = split(L, a, " ")
	for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	S_n = n
	if (!n) return 0
	S_min = a[1] + 0; S_max = a[n] + 0
	S_med = n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
	return n
}
function cellstr(L) { return stats(L) ? f3(S_med) " (" f3(S_min) "–" f3(S_max) ")" : "n/a" }
# metric M of a round, from its fields (v[]); "" when it does not apply
function metric(M, t,   mb) {
	mb = v["mb"] + 0
	if (M == "mbps") return t != "lat" ? v["value"] : ""
	if (M == "lat_avg_us") return t == "lat" ? v["value"] : ""
	if (M == "lat_p99_us") return t == "lat" && num(v["p99_us"]) ? v["p99_us"] : ""
	if (t == "lat" || mb <= 0) return ""
	if (M == "vmm_cpu_s_per_gb") return num(v["own_s"]) ? v["own_s"] / (mb / 1000) : ""
	if (M == "vhost_cpu_s_per_gb") return v["vhost"] == "on" && num(v["vhost_s"]) ? v["vhost_s"] / (mb / 1000) : ""
	if (M == "exits_per_mb") return num(v["exits"]) ? v["exits"] / mb : ""
	if (M == "irqs_per_mb") return num(v["irq_rx"]) ? (v["irq_rx"] + v["irq_tx"]) / mb : ""
	if (M == "kicks_per_mb") return num(v["kicks_rx"]) ? (v["kicks_rx"] + v["kicks_tx"]) / mb : ""
	if (M == "queue_share") return qshare(t)
	return ""
}
# the busiest queue: its share of the packets in the direction of the data, in
# percent (100 / pairs: perfectly spread), for the two-flow tests with more
# than one pair in use
function qshare(t,   n, i, qv, sum, max) {
	if (t !~ /^[tr]x2$/ || v["pairs"] + 0 < 2) return ""
	n = split(v[t == "tx2" ? "txq" : "rxq"], qv, ":")
	for (i = 1; i <= n; i++) { sum += qv[i]; if (qv[i] + 0 > max) max = qv[i] + 0 }
	return n >= 2 && sum > 0 ? 100 * max / sum : ""
}
BEGIN {
	nm = split("mbps lat_avg_us lat_p99_us vmm_cpu_s_per_gb vhost_cpu_s_per_gb exits_per_mb irqs_per_mb kicks_per_mb queue_share", M, " ")
	split("Mbit/s|latency avg (us)|latency p99 (us)|VMM CPU s/GB (its own threads)|vhost CPU s/GB|KVM exits/MB|interrupts/MB (guest)|kicks/MB (guest)|busiest queue, % of packets", MH, "|")
	nt = split("tx rx tx1k rx1k lat", TS, " ")
	TH["tx"] = "TCP g->h"; TH["rx"] = "TCP h->g"; TH["tx1k"] = "g->h 1K writes"; TH["rx1k"] = "h->g 1K writes"; TH["lat"] = "TCP ping-pong"
	TH["tx2"] = "2 flows g->h"; TH["rx2"] = "2 flows h->g"
	nr = 0; nc = 0
}
$1 == "BENCH-INFO" {
	info = substr($0, 12); kv(); envl = v["env"]; gsub(/_/, " ", envl)
	if (v["tests"] != "") nt = split(v["tests"], TS, ",")
}
$1 == "BENCH-CHANNELS" { kv(); if (v["rc"] == 0 && v["channels"] == v["to"]) chs = chs " " v["ms"]; else chfail++ }
$1 == "BENCH-BOOT" { kv(); boots = boots (boots ? ", " : "") v["instance"] " " (v["status"] == "ok" ? sprintf("%.1f s", v["ms"] / 1000) : "failed") }
$1 == "BENCH-SWITCH" { kv(); if (v["rc"] == 0) sw = sw " " v["ms"]; else swfail++ }
$1 == "BENCH-ROUND" {
	kv(); rline[++nr] = $0
	c = v["cell"]; t = v["test"]
	if (!(c in seen)) { seen[c] = 1; cells[++nc] = c }
	if (v["status"] != "ok") { failed[c] = failed[c] + 1; next }
	if (v["own_s"] == "under") under++
	for (m = 1; m <= nm; m++) {
		x = metric(M[m], t)
		if (x == "") continue
		L[c, t, M[m]] = L[c, t, M[m]] " " x
		R[c, t, M[m], v["round"]] = x
		if (v["round"] + 0 > maxr) maxr = v["round"] + 0
		has[t, M[m]] = 1
	}
}
END {
	if (envl == "") envl = "nested TCG"
	# the pairs of cells: vmm/QEMU with the same datapath and queue pairs,
	# userspace/vhost per VMM and queue pairs, N pairs/1 pair per VMM and
	# datapath. A cell is KIND[-mqN]-vhost-on|off, KIND vmm, vmm-noseccomp
	# or qemu.
	np = 0
	for (i = 1; i <= nc; i++) for (j = 1; j <= nc; j++) {
		a = cells[i]; b = cells[j]
		ka = a; sub(/-vhost-(on|off)$/, "", ka); kb = b; sub(/-vhost-(on|off)$/, "", kb)
		da = a; sub(/.*-vhost-/, "", da); db = b; sub(/.*-vhost-/, "", db)
		qa = ka ~ /-mq[0-9]+$/ ? ka : ka "-mq1"; sub(/.*-mq/, "", qa)
		qb = kb ~ /-mq[0-9]+$/ ? kb : kb "-mq1"; sub(/.*-mq/, "", qb)
		va = ka; sub(/-mq[0-9]+$/, "", va); vb = kb; sub(/-mq[0-9]+$/, "", vb)
		dn = da == "on" ? "vhost-net" : "userspace"
		pn = qa > 1 ? ", " qa " pairs" : ""
		if (va ~ /^vmm/ && vb == "qemu" && da == db && qa == qb) { np++; PA[np] = a; PB[np] = b; PN[np] = va "/QEMU " dn pn }
		else if (ka == kb && da == "off" && db == "on") { np++; PA[np] = a; PB[np] = b; PN[np] = "userspace/vhost-net " (va == "qemu" ? "QEMU" : va) pn }
		else if (va == vb && da == db && qa > 1 && qb == 1) { np++; PA[np] = a; PB[np] = b; PN[np] = qa " pairs/1 " (va == "qemu" ? "QEMU" : va) " " dn }
	}
	print "## virtio-net: vmm and QEMU, userspace and vhost-net datapaths (" envl ")\n" > md
	print info "\n" > md
	h = "| test | metric |"; s = "|---|---|"
	for (i = 1; i <= nc; i++) { h = h " " cells[i] " |"; s = s "---:|" }
	print h > md; print s > md
	for (ti = 1; ti <= nt; ti++) for (m = 1; m <= nm; m++) {
		t = TS[ti]
		if (!has[t, M[m]]) continue
		line = "| " TH[t] " | " MH[m] " |"
		for (i = 1; i <= nc; i++) line = line " " cellstr(L[cells[i], t, M[m]]) " |"
		print line > md
	}
	if (np) {
		print "\nRatios (per round, then the median and min–max of those; ≈: the two cells overlap, the difference is within the spread):\n" > md
		h = "| test | metric |"; s = "|---|---|"
		for (p = 1; p <= np; p++) { h = h " " PN[p] " |"; s = s "---:|" }
		print h > md; print s > md
	}
	for (ti = 1; ti <= nt && np; ti++) for (m = 1; m <= nm; m++) {
		t = TS[ti]
		if (!has[t, M[m]]) continue
		line = "| " TH[t] " | " MH[m] " |"
		for (p = 1; p <= np; p++) {
			rl = ""
			for (r = 1; r <= maxr; r++)
				if (((PA[p], t, M[m], r) in R) && ((PB[p], t, M[m], r) in R) && R[PB[p], t, M[m], r] + 0 != 0)
					rl = rl " " R[PA[p], t, M[m], r] / R[PB[p], t, M[m], r]
			if (!stats(rl)) { line = line " n/a |"; continue }
			rm = S_med; rlo = S_min; rhi = S_max; rn = S_n
			stats(L[PA[p], t, M[m]]); alo = S_min; ahi = S_max
			stats(L[PB[p], t, M[m]]); blo = S_min; bhi = S_max
			within = !(ahi < blo || bhi < alo)
			line = line sprintf(" %s%.2fx (%.2f–%.2f) |", within ? "≈ " : "", rm, rlo, rhi)
			ratio[++nratio] = sprintf("{\"pair\": %s, \"a\": %s, \"b\": %s, \"test\": %s, \"metric\": %s, \"median\": %.4f, \"min\": %.4f, \"max\": %.4f, \"rounds\": %d, \"within_spread\": %s}",
				q(PN[p]), q(PA[p]), q(PB[p]), q(t), q(M[m]), rm, rlo, rhi, rn, within ? "true" : "false")
		}
		print line > md
	}
	printf "\n%d rounds per cell, cells one after the other in each round (A B A B), every guest booted once: vmm switches its datapath live between its cells (`vmm set --vhost`), QEMU has a boot per datapath.\n", maxr > md
	if (boots != "") printf "Boot to the bench server: %s.\n", boots > md
	if (stats(sw)) printf "vmm set: %d switches, %.0f ms median (%.0f–%.0f)%s.\n", S_n, S_med, S_min, S_max, swfail ? sprintf(", %d FAILED", swfail) : "" > md
	if (stats(chs) || chfail) printf "Queue pairs in use set in the guest before a cell (ethtool -L combined K): %d changes, %.0f ms median%s. A device with N pairs offers VIRTIO_NET_F_MQ; its 1-pair cells run on that device with one pair in use.\n", S_n, S_med, chfail ? sprintf(", %d FAILED", chfail) : "" > md
	for (i = 1; i <= nc; i++) if (failed[cells[i]]) printf "FAILED: %s: %d tests (left out of the figures).\n", cells[i], failed[cells[i]] > md
	print "Throughput: iperf3 run from the host side (-R for g->h), the receiver'"'"'s Mbit/s; 2 flows: two iperf3 clients at once to two guest servers, one pinned to each guest vCPU, the sum of both receivers. Latency: sockperf ping-pong, 64 B over TCP, one way (round trip / 2) as sockperf reports it (ping when there is no sockperf). Per GB / per MB: divided by the bytes the tap counted in the direction of the test." > md
	print "CPU: the VMM process'"'"'s utime+stime less the time it ran the guest (guest_time) and less vhost'"'"'s worker (a thread of the VMM from Linux 6.4): exit handling, device emulation, I/O threads; vhost: its worker thread. Exits: KVM'"'"'s per-VM counter (debugfs), alike for every VMM. Interrupts and kicks: the guest'"'"'s own counts (/proc/interrupts of the virtio-net queues, ethtool -S *_kicks)." > md
	if (under) printf "VMM CPU left out of %d measurements: the guest_time the kernel samples at its ticks came out above the precise utime+stime it is taken from (seen on the nested aarch64 host'"'"'s 6.1 kernel), so the difference means nothing there; on such a host the VMM CPU figures that stayed positive are suspect too (the same sampling), compare its other rows.\n", under > md
	print "Higher is better for Mbit/s, lower for everything else. All figures: " envl (envl ~ /^nested TCG/ ? " (the guest runs under KVM inside a QEMU TCG virtual machine on a shared machine): compare them with each other, never with hardware figures." : ".") > md

	printf "{\n  \"source_log\": %s,\n  \"environment\": %s,\n  \"info\": %s,\n  \"rounds\": [\n", q(srclog), q(envl), q(info) > js
	for (i = 1; i <= nr; i++) {
		$0 = rline[i]; kv(); o = ""
		for (k = 2; k <= NF; k++) { p = index($k, "="); o = o (o ? ", " : "") q(substr($k, 1, p - 1)) ": " jv(substr($k, p + 1)) }
		printf "    {%s}%s\n", o, i < nr ? "," : "" > js
	}
	printf "  ],\n  \"cells\": [\n" > js
	first = 1
	for (i = 1; i <= nc; i++) for (ti = 1; ti <= nt; ti++) for (m = 1; m <= nm; m++) {
		if (!stats(L[cells[i], TS[ti], M[m]])) continue
		printf "%s    {\"cell\": %s, \"test\": %s, \"metric\": %s, \"median\": %.4f, \"min\": %.4f, \"max\": %.4f, \"rounds\": %d}", first ? "" : ",\n", q(cells[i]), q(TS[ti]), q(M[m]), S_med, S_min, S_max, S_n > js
		first = 0
	}
	printf "\n  ],\n  \"ratios\": [\n" > js
	for (i = 1; i <= nratio; i++) printf "    %s%s\n", ratio[i], i < nratio ? "," : "" > js
	printf "  ]\n}\n" > js

	# chart: per cell, median/min/max of the four throughputs, latency avg,
	# then the two two-flow throughputs (fixed columns: NaN where not run)
	nct = split("tx rx tx1k rx1k lat tx2 rx2", CT, " ")
	for (i = 1; i <= nc; i++) {
		line = cells[i]
		for (ti = 1; ti <= nct; ti++) {
			mm = CT[ti] == "lat" ? "lat_avg_us" : "mbps"
			line = line (stats(L[cells[i], CT[ti], mm]) ? sprintf(" %g %g %g", S_med, S_min, S_max) : " NaN NaN NaN")
		}
		print line > chart
	}
}' "$dir/lines.txt"
envl=$(sed -n 's/.*environment": "\(.*\)",$/\1/p' "$dir/results.json")
# the throughput series this run measured (a subset of tests leaves NaN
# columns, which gnuplot refuses to plot)
series=
for c in "2 guest->host" "5 host->guest" "8 g->h 1K writes" "11 h->g 1K writes" "17 g->h 2 flows" "20 h->g 2 flows"; do
	col=${c%% *}
	awk -v c="$col" '$c != "NaN" { f = 1 } END { exit !f }' "$dir/chart.dat" || continue
	xt=
	[ -n "$series" ] || xt=":xtic(1)"
	series="$series${series:+, }'' using $col:$((col + 1)):$((col + 2))$xt title '${c#* }'"
done
series=$(echo "$series" | sed "s|^''|'$dir/chart.dat'|")
if command -v gnuplot > /dev/null && [ -n "$series" ]; then
	gnuplot <<G || { rm -f "$dir/bench.png"; echo "report.sh: gnuplot failed: no $dir/bench.png" >&2; }
set terminal png size 1280,520
set output '$dir/bench.png'
set multiplot layout 1,2 title "virtio-net: vmm and QEMU, median of the rounds, bars min–max ($envl)"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set xtics rotate by -20 scale 0
set key top left
set offsets 0, 0, graph 0.25, 0
set title 'iperf3 TCP throughput (higher is better)'
set ylabel 'Mbit/s'
plot $series
set title 'TCP latency (lower is better)'
set ylabel 'microseconds (one way)'
plot '$dir/chart.dat' using 14:15:16:xtic(1) title 'average'
unset multiplot
G
elif [ -n "$series" ]; then
	echo "report.sh: gnuplot not installed: no $dir/bench.png" >&2
fi
cat "$dir/results.md"
echo
echo "report.sh: $dir/results.md $dir/results.json $( [ -e "$dir/bench.png" ] && echo "$dir/bench.png")"
