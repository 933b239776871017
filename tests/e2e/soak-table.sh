#!/bin/sh
# tests/e2e/soak-table.sh — measure the nested test host: N consecutive L2
# boots with verbose consoles and no retries, counted by what went wrong,
# as one markdown table row (docs/running.md, "Nested TCG flakes").
#
# usage: tests/e2e/soak-table.sh N LABEL          run the soak (QEMU=...,
#                                                 E2E_L1_KERNEL=... as for
#                                                 nested.sh) and print the row
#        tests/e2e/soak-table.sh --from LABEL LOG...   the row from soak logs
#
# An L1 that dies (kernel panic) or freezes mid-soak ends its session;
# the soak goes on in a fresh L1 until N boots are counted, and the row
# counts the dead L1s. Columns: boots, ok, stalls (no init by the limit),
# of which the vCPU state was replaced (vmm's dump), interrupt-window
# storms (KVM's irq_window exits >= 100000 in a boot), L2 triple faults,
# other failures (panics, bad exits), L1 deaths, boot time min/avg/max.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}

row()
{
	label=$1
	shift
	awk -v label="$label" '
	/^e2e: QEMU emulator version/ { q = $5 }
	/^E2E-L1-INIT / { sessions++ ; sres[sessions] = 0 }
	/Kernel panic - not syncing/ && !/^L2/ { l1panic[sessions] = 1 }
	/^E2E-L1-SILENT/ { l1frozen[sessions] = 1 }
	/^E2E-RESULT name=soak / { sres[sessions] = 1 }
	/^E2E-BOOT / {
		n++
		st = ""; rep = 0; tf = 0; ms = ""
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "status") st = kv[2]
			if (kv[1] == "corrupt") rep = kv[2]
			if (kv[1] == "l2_boot_ms") ms = kv[2]
			if (kv[1] == "reason" && kv[2] ~ /triple_fault/) tf = 1
			if (kv[1] == "irq_window_storm" && kv[2] == 1) storms++
		}
		if (st == "pass") { ok++; t = ms / 1000; sum += t
			if (min == "" || t < min) min = t; if (t > max) max = t }
		else if (st == "stall") { stalls++; if (rep == 1) replaced++ }
		else if (tf) triple++
		else other++
	}
	END {
		for (s = 1; s <= sessions; s++)
			if (!sres[s]) deaths++
		printf "| %s | %s | %d | %d | %d | %d | %d | %d | %d | %d | %.1f / %.1f / %.1f |\n", \
			label, q, n, ok, stalls, replaced, storms, triple, other, deaths, \
			min, (ok ? sum / ok : 0), max
	}' "$@"
}

if [ "${1:-}" = --from ]; then
	label=$2
	shift 2
	row "$label" "$@"
	exit 0
fi
[ $# -eq 2 ] || { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 2; }
want=$1
label=$2
mkdir -p "$BUILD/e2e"
logs=
done_n=0
k=0
while [ "$done_n" -lt "$want" ] && [ $k -lt 20 ]; do
	k=$((k + 1))
	left=$((want - done_n))
	out=$BUILD/e2e/soak-$label-$k.txt
	E2E_SOAK_CONSOLE=${E2E_SOAK_CONSOLE:-verbose} tests/e2e/nested.sh "soak:$left" > "$out" 2>&1
	log=$BUILD/e2e/soak-$label-$k.log
	{ grep -a '^e2e: QEMU' "$out"; cat "$BUILD/e2e/soak-$left.log"; } > "$log"
	logs="$logs $log"
	n=$(grep -ac '^E2E-BOOT ' "$log")
	done_n=$((done_n + n))
	echo "soak-table: session $k: $n boots (total $done_n of $want)" >&2
	[ "$n" -gt 0 ] || grep -aq '^E2E-L1-INIT' "$log" || break	# L1 never started
done
echo "| setup | QEMU | boots | ok | stalls | vCPU state replaced | interrupt-window storms | L2 triple faults | other failures | L1 deaths | L2 boot min / avg / max (s) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
# shellcheck disable=SC2086 # one word per log
row "$label" $logs
