#!/bin/sh
# tests/bench/check.sh LOG — the short bench in `make test`: every cell of
# every configuration was measured and is plausible (a finite number above
# zero, below an absurd bound). Timing itself is never judged: a slow run
# passes, a missing or nonsensical cell fails.
log=${1:?usage: tests/bench/check.sh LOG}
[ -e "$log" ] || { echo "bench-check: no log $log"; exit 1; }
tr -d '\r' < "$log" | grep -a '^BENCH-ROW ' | sed 's/^BENCH-ROW //' | awk '
function num(x) { return x ~ /^[0-9]+(\.[0-9]+)?$/ }
function need(k, max) {
	if (!(k in v) || !num(v[k]) || v[k] + 0 <= 0 || v[k] + 0 > max) {
		bad = bad " " k "=" ((k in v) ? v[k] : "missing"); return
	}
	cells++
}
{
	delete v; bad = ""; cells = 0
	for (i = 1; i <= NF; i++) { p = index($i, "="); v[substr($i, 1, p - 1)] = substr($i, p + 1) }
	rows++
	if (v["status"] != "pass") bad = bad " status=" v["status"] "(" v["missing"] ")"
	need("tx_mbps", 1e6); need("rx_mbps", 1e6); need("tx1k_mbps", 1e6); need("rx1k_mbps", 1e6)
	need("lat_avg_us", 1e7); need("lat_p99_us", 1e7); need("boot_ms", 6e5)
	need("cpu_tx_s", 1e4); need("cpu_rx_s", 1e4)
	if (v["vmm"] == "vmm") { need("exits_tx_per_mb", 1e9); need("exits_rx_per_mb", 1e9) }
	if (v["vhost"] == "on" && v["vhost_thread"] != "1") bad = bad " vhost_thread=" v["vhost_thread"]
	if (bad != "") { printf "bench-check: FAIL %s:%s\n", v["config"], bad; failed++ }
	else printf "bench-check: %s: %d cells measured and plausible\n", v["config"], cells
}
END {
	if (rows < 4) { printf "bench-check: FAIL only %d of 4 configurations reported\n", rows; failed++ }
	printf "bench-check: %d configurations, %d failed\n", rows, failed
	exit failed > 0
}'
