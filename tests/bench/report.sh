#!/bin/sh
# tests/bench/report.sh — turn the log of the bench scenario (make bench-net,
# tests/e2e/scenarios/bench.sh) into $BUILD/bench/:
#   results.md    one markdown table: a row per configuration, a ratio row per
#                 vmm configuration against the QEMU one with the same vhost
#                 setting (both measured under nested TCG)
#   results.json  every raw BENCH-ROW field, plus the ratios
#   bench.png     bar charts (gnuplot) of throughput and latency
# usage: tests/bench/report.sh [LOG]   (default $BUILD/e2e/bench.log)
# env: BUILD (default build). Exit status 1 when the log has no BENCH-ROW.

set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
log=${1:-$BUILD/e2e/bench.log}
dir=$BUILD/bench
[ -e "$log" ] || { echo "report.sh: no log $log" >&2; exit 1; }
mkdir -p "$dir"
rows=$dir/rows.txt
: > "$dir/ratios.txt"
tr -d '\r' < "$log" | grep -a '^BENCH-ROW ' | sed 's/^BENCH-ROW //' > "$rows" || true
if [ ! -s "$rows" ]; then
	echo "report.sh: no BENCH-ROW lines in $log" >&2
	exit 1
fi
info=$(tr -d '\r' < "$log" | grep -a '^BENCH-INFO ' | tail -n 1 | sed 's/^BENCH-INFO //')
# Where the figures come from: one label for the whole table, never mixed.
# Old logs without env= came from the nested host.
envl=$(echo "$info" | tr ' ' '\n' | sed -n 's/^env=//p' | tr _ ' ')
envl=${envl:-nested TCG}
nenv=$(tr -d '\r' < "$log" | grep -a '^BENCH-INFO ' | tr ' ' '\n' | sed -n 's/^env=//p' | sort -u | wc -l)
if [ "$nenv" -gt 1 ]; then
	echo "report.sh: $log mixes figures from different hosts (env= differs): refusing one table" >&2
	exit 1
fi

# The table. Columns: key, heading, digits. Ratio rows divide vmm by QEMU.
awk -v info="$info" -v envl="$envl" -v rfile="$dir/ratios.txt" '
function f(k) { return (k in v) ? v[k] : "none" }
function num(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?$/ }
function fmt(x, d) { return num(x) ? sprintf("%." d "f", x) : "n/a" }
BEGIN {
	nc = split("boot_s tx_mbps rx_mbps tx1k_mbps rx1k_mbps lat_avg_us lat_p99_us cpu_tx_s cpu_rx_s own_tx_s own_rx_s vhost_tx_s vhost_rx_s exits_tx_per_mb exits_rx_per_mb dbg_exits_tx_per_mb dbg_exits_rx_per_mb", col, " ")
	split("boot to init (s)|TCP g->h (Mbit/s)|TCP h->g (Mbit/s)|g->h 1K writes (Mbit/s)|h->g 1K writes (Mbit/s)|latency avg (us)|latency p99 (us)|VMM CPU g->h (s)|VMM CPU h->g (s)|VMM CPU excl. guest g->h (s)|VMM CPU excl. guest h->g (s)|vhost CPU g->h (s)|vhost CPU h->g (s)|exits/MB g->h (vmm stats)|exits/MB h->g (vmm stats)|exits/MB g->h (KVM debugfs)|exits/MB h->g (KVM debugfs)", head, "|")
	split("1 0 0 0 0 1 1 2 2 2 2 2 2 0 0 0 0", dig, " ")
}
{
	delete v
	for (i = 1; i <= NF; i++) { p = index($i, "="); v[substr($i, 1, p - 1)] = substr($i, p + 1) }
	c = f("config"); n++; order[n] = c
	val[c, "boot_s"] = num(f("boot_ms")) ? f("boot_ms") / 1000 : "none"
	src[c] = f("boot_src"); st[c] = f("status") (f("retries") + 0 > 0 ? ", booted twice: first boot " f("retry_reason") : ""); miss[c] = f("missing"); tool[c] = f("lat_tool")
	for (j = 2; j <= nc; j++) val[c, col[j]] = f(col[j])
	if (f("vmm") == "qemu") { val[c, "exits_tx_per_mb"] = "none"; val[c, "exits_rx_per_mb"] = "none" }
	if (num(f("dbg_exits_tx_per_mb"))) have_dbg = 1
}
END {
	last = have_dbg ? nc : nc - 2
	if (envl == "nested TCG")
		printf "## vmm vs QEMU, virtio-net: nested TCG (L2 under KVM in L1 under QEMU TCG)\n\n"
	else
		printf "## vmm vs QEMU, virtio-net: %s\n\n", envl
	printf "%s\n\n", info
	h = "| configuration |"; s = "|---|"
	for (j = 1; j <= last; j++) { h = h " " head[j] " |"; s = s "---:|" }
	print h " status |"; print s "---|"
	for (r = 1; r <= n; r++) {
		c = order[r]; line = "| " c " |"
		for (j = 1; j <= last; j++) {
			x = fmt(val[c, col[j]], dig[j])
			if (j == 1 && x != "n/a") x = x " (" src[c] ")"
			line = line " " x " |"
		}
		print line " " st[c] (miss[c] != "none" ? " (" miss[c] ")" : "") " |"
	}
	for (r = 1; r <= n; r++) {
		c = order[r]
		if (c !~ /^vmm-/) continue
		q = c; sub(/^vmm-/, "qemu-", q)
		found = 0
		for (k = 1; k <= n; k++) if (order[k] == q) found = 1
		if (!found) continue
		line = "| " c " / " q " (" envl ") |"
		rl = "vmm=" c " qemu=" q
		for (j = 1; j <= last; j++) {
			a = val[c, col[j]]; b = val[q, col[j]]
			ok = num(a) && num(b) && b + 0 != 0
			line = line " " (ok ? sprintf("%.2fx", a / b) : "n/a") " |"
			rl = rl " " col[j] "=" (ok ? sprintf("%.3f", a / b) : "none")
		}
		print rl > rfile
		print line " ratio |"
	}
	printf "\nboot: port80 = the VMM-reported port-0x80 marker, serial = the init line seen on the console in L1.\n"
	printf "latency: %s; one-way latency as sockperf reports it (round trip / 2), 64-byte messages over TCP (ping: ICMP round trip / 2).\n", tool[order[1]] == "sockperf" ? "sockperf ping-pong" : tool[order[1]]
	printf "CPU: utime+stime of the whole VMM process (vCPU threads included, so guest time too), the same less its guest_time (the VMM'"'"'s own work: exit handling, device emulation, I/O threads), and of its vhost-PID kernel thread, during each run. exits/MB (vmm stats): kvm_exits from vmm'"'"'s SIGUSR2 line, n/a for QEMU; (KVM debugfs): the per-VM exits counter, same for every VMM.\n"
	printf "Ratios are vmm / QEMU for the same vhost setting; higher is better for throughput, lower is better for boot, latency, CPU and exits.\n"
	if (envl == "nested TCG")
		printf "All figures: nested TCG (the guest runs under KVM inside a QEMU TCG virtual machine on a shared machine): compare rows with each other, never with hardware figures.\n"
	else
		printf "All figures: %s (the guest runs under this host'"'"'s own KVM).\n", envl
}' "$rows" > "$dir/results.md"

# JSON: every field of every row (numbers as numbers).
awk -v srclog="$log" -v envl="$envl" -v info="$info" '
function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function obj(  i, p, k, x) {
	printf "    {"
	for (i = 1; i <= NF; i++) {
		p = index($i, "="); k = substr($i, 1, p - 1); x = substr($i, p + 1)
		printf "%s%s: %s", (i > 1 ? ", " : ""), q(k), (x ~ /^-?[0-9]+(\.[0-9]+)?$/ ? x + 0 : (x == "none" ? "null" : q(x)))
	}
	printf "}"
}
BEGIN { printf "{\n  \"source_log\": %s,\n  \"environment\": %s,\n  \"info\": %s,\n", q(srclog), q(envl), q(info) }
FNR == 1 { printf "%s  \"%s\": [\n", (NR > 1 ? "\n  ],\n" : ""), (FILENAME ~ /ratios/ ? "ratios_vmm_over_qemu" : "rows"); first = 1 }
{ if (!first) printf ",\n"; first = 0; obj() }
END { printf "\n  ]\n}\n" }' "$rows" "$dir/ratios.txt" > "$dir/results.json"

# Chart data: config, four throughputs, latency avg and p99 (NaN = missing).
awk '{
	delete v
	for (i = 1; i <= NF; i++) { p = index($i, "="); v[substr($i, 1, p - 1)] = substr($i, p + 1) }
	printf "%s", v["config"]
	split("tx_mbps rx_mbps tx1k_mbps rx1k_mbps lat_avg_us lat_p99_us", k, " ")
	for (j = 1; j <= 6; j++) printf " %s", (v[k[j]] ~ /^[0-9.]+$/ ? v[k[j]] : "NaN")
	printf "\n"
}' "$rows" > "$dir/chart.dat"
if command -v gnuplot > /dev/null; then
	gnuplot <<G
set terminal png size 1280,520
set output '$dir/bench.png'
set multiplot layout 1,2 title "virtio-net: vmm vs QEMU ($envl)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set yrange [0:*]
set xtics rotate by -20 scale 0
set key top left
set offsets 0, 0, graph 0.25, 0
set title 'iperf3 TCP throughput (higher is better)'
set ylabel 'Mbit/s'
plot '$dir/chart.dat' using 2:xtic(1) title 'guest->host', '' using 3 title 'host->guest', '' using 4 title 'g->h 1K writes', '' using 5 title 'h->g 1K writes'
set title 'TCP latency (lower is better)'
set ylabel 'microseconds (one way)'
plot '$dir/chart.dat' using 6:xtic(1) title 'average', '' using 7 title 'p99'
unset multiplot
G
else
	echo "report.sh: gnuplot not installed: no $dir/bench.png" >&2
fi
cat "$dir/results.md"
echo
echo "report.sh: $dir/results.md $dir/results.json $( [ -e "$dir/bench.png" ] && echo "$dir/bench.png")"
