#!/bin/bash
# tests/e2e/nested.sh — run end-to-end scenarios in the nested test host:
# QEMU TCG (-cpu max: AMD SVM) boots the stock Debian kernel as "L1" with
# build/images/l1-initrd.cpio.gz; L1 loads kvm-amd and vhost-net and runs vmm,
# which boots the stock kernel again as the "L2" guest. See
# ../shared/notes/test-host.md (beside the repository) for why: this machine has no usable /dev/kvm.
#
# usage: tests/e2e/nested.sh [--l2-vmm=vmm|qemu] SCENARIO...
#   boot      one L2 boot: init marker seen, clean VMM exit, boot times
#   soak:N    N consecutive L2 boots in one L1; counts stalls
#   guests    the tiny-guest runner (tests/guests/run-in-l1.sh) inside L1
#   shell     interactive: the default guest's shell on this terminal
#   NAME      tests/e2e/scenarios/NAME.sh inside L1
#   NAME@SERIES  the same with the L2 kernel of that series (e.g. net@6.12:
#             the 6.12 kernel from bookworm-backports; default 6.1)
#   arm64/NAME   the scenario NAME of the nested aarch64 host
#             (tests/e2e/nested-arm64.sh; build/arm64 built first), in the
#             same pool as the x86 ones: make test runs both that way
#   --l2-vmm=qemu   use QEMU inside L1 as the L2 VMM (image built --with-qemu),
#                   for comparisons and to check the harness itself
# Serial logs go to $BUILD/e2e/SCENARIO.log. Exit status 0 when all passed.
# env: BUILD (build), QEMU (qemu-system-x86_64), E2E_STALL_S (90),
#      E2E_SILENCE_S (300: a console silent that long means L1 froze),
#      E2E_VERBOSE=1 (copy the serial log to stdout as it runs),
#      E2E_L2_ARGS (extra L2 kernel parameters), E2E_L2_CPUS (2),
#      E2E_L2_MEM (512, MiB), E2E_L1_MEM (3072: all of L1's RAM below
#        4 GiB, the fewest nested-TCG flakes in docs/running.md's A/B),
#      E2E_L1_IMAGE (boot this L1 initramfs instead of the one built here),
#      E2E_L1_ACCEL (tcg,thread=multi), E2E_L1_CPUS (1: one L1 vCPU had
#        no failure in an 88-boot soak, docs/running.md; make bench-net uses 2),
#      E2E_JOBS (2: scenarios run that many at a time, each in its own L1;
#        a scenario's output is held and printed whole when it ends;
#        1 with E2E_VERBOSE=1),
#      E2E_L1_ARGS (more L1 kernel parameters; MODULE.PARAM=V reach insmod),
#      E2E_FLAKE_RERUNS (2: fresh L1 sessions for a scenario that flaked),
#      E2E_MAX_RERUNS (1: more reruns than this in one run fail it, even
#        when every scenario passed in the end),
#      E2E_L1_KERNEL (the L1 kernel's series, default 6.12: the fewest
#        nested-TCG flakes in the 100-boot soaks, docs/running.md),
#      E2E_SOAK_CONSOLE (quiet: the soak's L2 kernels boot with `quiet`;
#        verbose: with their whole log on the console, as the 100-boot
#        measurements in docs/running.md were made),
#      E2E_SOAK_CONTINUE=1 (a soak whose L1 died goes on in a fresh L1 until
#        N boots are counted; for measurements, never in make test),
#      E2E_BENCH_IMAGE, E2E_BENCH_ARGS (the bench_smoke scenario's own L1
#        image and bench arguments, so that it runs in the pool; make
#        test), E2E_ARM64_L1_CPUS (1: an arm64/NAME scenario's L1 vCPUs; one, as an
#        x86 L1 has, so that two scenarios side by side take the two cores
#        and no more; nested-arm64.sh alone uses 2), ARM_BUILD (build/arm64)

set -u
cd "$(dirname "$0")/../.."
. images/lib.sh
set +e

BUILD=${BUILD:-build}
ARM_BUILD=${ARM_BUILD:-build/arm64}
QEMU=${QEMU:-qemu-system-x86_64}
STALL_S=${E2E_STALL_S:-90}
L1_MEM=${E2E_L1_MEM:-3072}
l2_vmm=vmm

while [ $# -gt 0 ]; do
	case $1 in
	--l2-vmm=vmm|--l2-vmm=qemu) l2_vmm=${1#--l2-vmm=} ;;
	-h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "nested.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ $# -gt 0 ] || { echo "usage: $0 [--l2-vmm=vmm|qemu] boot|soak:N|guests|shell|NAME..." >&2; exit 2; }

JOBS=${E2E_JOBS:-2}
[ "${E2E_VERBOSE:-0}" != 1 ] || JOBS=1
# One scenario: nothing runs beside it, so its output streams as it comes.
[ $# -gt 1 ] || JOBS=1
case $JOBS in ''|*[!0-9]*|0) echo "nested.sh: E2E_JOBS is a number from 1, not '$JOBS'" >&2; exit 2 ;; esac
command -v "$QEMU" > /dev/null || { echo "nested.sh: $QEMU not found (apt-get install qemu-system-x86)" >&2; exit 1; }
l1_series=$(img__l1_series)
kver=$(img__kernel_version "$l1_series") || exit 1
l1_suffix=$(img__l1_suffix)
case ${E2E_SOAK_CONSOLE:-quiet} in
quiet) soak_quiet=1 ;;
verbose) soak_quiet=0 ;;
*) echo "nested.sh: E2E_SOAK_CONSOLE is quiet or verbose, not '$E2E_SOAK_CONSOLE'" >&2; exit 2 ;;
esac
if [ "$l2_vmm" = qemu ]; then
	l1_img=$BUILD/images/l1-qemu-initrd$l1_suffix.cpio.gz
	L1_KVER=$kver images/build-l1.sh --if-stale --with-qemu "$l1_img" || exit 1
else
	if [ ! -x "$BUILD/vmm-static" ]; then
		echo "nested.sh: $BUILD/vmm-static is missing: run 'make $BUILD/vmm-static' (or use --l2-vmm=qemu)" >&2
		exit 1
	fi
	l1_img=$BUILD/images/l1-initrd$l1_suffix.cpio.gz
	L1_KVER=$kver images/build-l1.sh --if-stale "$l1_img" || exit 1
fi
# A caller-built L1 image instead (make bench-net: the --with-qemu image plus
# an appended archive); the default image above is still kept up to date.
if [ -n "${E2E_L1_IMAGE:-}" ]; then
	[ -e "$E2E_L1_IMAGE" ] || { echo "nested.sh: E2E_L1_IMAGE=$E2E_L1_IMAGE does not exist" >&2; exit 1; }
	l1_img=$E2E_L1_IMAGE
fi
mkdir -p "$BUILD/e2e"

# key=value field from a result line
field()
{
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

ms_to_s()
{
	case $1 in
	''|none) echo "?" ;;
	*) awk "BEGIN { printf \"%.1f\", $1 / 1000 }" ;;
	esac
}

now_ms()
{
	echo $(( $(date +%s%N) / 1000000 ))
}

l1_append="console=ttyS0 rdinit=/init panic=-1 mitigations=off vmmtest_vmm=$l2_vmm vmmtest_stall_s=$STALL_S vmmtest_soak_quiet=$soak_quiet"
[ -z "${E2E_L1_ARGS:-}" ] || l1_append="$l1_append $E2E_L1_ARGS"
[ -z "${E2E_L2_CPUS:-}" ] || l1_append="$l1_append vmmtest_cpus=$E2E_L2_CPUS"
[ -z "${E2E_L2_MEM:-}" ] || l1_append="$l1_append vmmtest_mem=$E2E_L2_MEM"
if [ -n "${E2E_L2_ARGS:-}" ]; then
	l1_append="$l1_append vmmtest_l2args=$(echo "$E2E_L2_ARGS" | tr ' ' ,)"
fi
# la57=off: L1 then uses 4-level paging. With -cpu max the stock kernel
# enables 5-level paging (CR4.LA57), and the rare L1 freezes and
# page-fault storms seen under nested TCG all happened in that mode
# (monitor dumps: 5-level direct-map addresses, CR4 bit 12 set).
L1_ACCEL=${E2E_L1_ACCEL:-tcg,thread=multi}
qemu_l1="$QEMU -accel $L1_ACCEL -cpu max,la57=off -smp ${E2E_L1_CPUS:-1} -m $L1_MEM -kernel /boot/vmlinuz-$kver -no-reboot -nic none"
# Big inputs that do not belong in L1's initramfs (the Debian system image,
# images/build-debian-system.sh) reach L1 over 9p, read-only, at /images.
if [ -d "$BUILD/images/system" ]; then
	qemu_l1="$qemu_l1 -virtfs local,path=$BUILD/images/system,mount_tag=images,security_model=none,readonly=on"
fi
echo "e2e: $($QEMU --version | head -n 1) ($QEMU), L1 kernel $kver"

# Interactive: the terminal is L1's serial console, with no QEMU escape key
# (signal=off: ^C and ^A go to the guest).
run_shell()
{
	size=$(stty size 2> /dev/null)
	extra=
	if [ -n "$size" ]; then
		extra="vmmtest_rows=${size% *} vmmtest_cols=${size#* }"
	fi
	echo "nested.sh: the nested test host takes ~5 s to boot, then the L2 guest ~15 s; if it hangs, 'kill $$' from another terminal" >&2
	# shellcheck disable=SC2086
	exec $qemu_l1 -initrd "$l1_img" -append "$l1_append quiet vmmtest=shell $extra" \
		-chardev stdio,id=s0,signal=off -serial chardev:s0 \
		-display none -monitor none
}

# Counters of one scenario (run_scenario, in its own subshell when
# scenarios run side by side) and of the whole run (collect).
passed=0
failed=0
reruns=0
MAX_RERUNS=${E2E_MAX_RERUNS:-1}
fail_list=
skipped=0

# A nested host whose console stays silent for E2E_SILENCE_S (300) seconds
# has frozen (seen under heavy load: L1 idle, its timers no longer firing):
# record the L1 vCPUs' registers through the QEMU monitor when python3 is
# there, then end it. No result line follows, so flaky_failure reruns it.
SILENCE_S=${E2E_SILENCE_S:-300}
watch_silence()
{
	wpid=$1; wlog=$2; wmon=$3
	last_size=-1; last_change=$(now_ms)
	while kill -0 "$wpid" 2> /dev/null; do
		size=$(wc -c < "$wlog" 2> /dev/null || echo 0)
		if [ "$size" != "$last_size" ]; then
			last_size=$size; last_change=$(now_ms)
		elif [ $(( $(now_ms) - last_change )) -gt $((SILENCE_S * 1000)) ]; then
			echo "E2E-L1-SILENT no console output for ${SILENCE_S} s: L1 frozen, ending it" >> "$wlog"
			if command -v python3 > /dev/null && [ -S "$wmon" ]; then
				python3 - "$wmon" >> "$wlog" 2>&1 <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(b"info registers -a\n"); time.sleep(2)
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
except Exception:
    pass
for l in out.decode(errors="replace").splitlines():
    print("L1-MONITOR| " + l)
PY
			fi
			kill "$wpid" 2> /dev/null
			break
		fi
		sleep 1	# also how late the end of L1 is noticed
	done
}

# arm64/NAME: nested-arm64.sh runs NAME in its own L1 (one vCPU here,
# E2E_ARM64_L1_CPUS) and its result lines come back indented, as an x86
# scenario's E2E-INFO lines do.
run_one_arm64()
{
	sc=$1
	asc=${sc#arm64/}
	log=$(log_of "$sc")
	l1c=${E2E_ARM64_L1_CPUS:-1}
	l2c=${E2E_L2_CPUS:-2}
	# The iperf scenarios measure: their L2 gets no more vCPUs than L1 has.
	# An arm64 guest has no paravirtual spinlocks (x86's has), so two L2
	# vCPUs on one L1 CPU spin on each other: guest->host with vhost-net
	# measured 43-134 Mbit/s that way (1.58 beside another scenario),
	# 191-208 with one L2 vCPU (nested TCG, QEMU's guests alike).
	case $asc in iperf*) [ "$l2c" -le "$l1c" ] || l2c=$l1c ;; esac
	echo "e2e: $sc: running (nested aarch64 host, L1 vCPUs $l1c, L2 vCPUs $l2c, log $log)"
	t0=$(now_ms)
	out=$(ARM_BUILD=$ARM_BUILD E2E_L1_CPUS=$l1c E2E_L2_CPUS=$l2c tests/e2e/nested-arm64.sh "$asc" 2>&1)
	rc=$?
	wall=$(( $(now_ms) - t0 ))
	echo "$out" | grep -v "^nested-arm64: \|: E2E-RESULT " | sed 's/^/  /'
	res=$(tr -d '\r' < "$log" 2> /dev/null | grep -a "^E2E-RESULT " | tail -n 1)
	detail="L1 wall $(ms_to_s $wall) s${res:+, $(echo "$res" | cut -d' ' -f4-)}"
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "e2e: $sc: PASS ($detail)"
		return
	fi
	failed=$((failed + 1))
	[ -n "$res" ] || detail="no result line: L1 crashed or hit its limit; $detail"
	echo "e2e: $sc: FAIL ($detail)"
	fail_list="$fail_list
e2e: FAILED $sc: $detail"
	echo "---- last lines of $log ----"
	tr -d '\r' < "$log" 2> /dev/null | tail -n 40
	echo "----"
}

run_one()
{
	case $1 in arm64/*) run_one_arm64 "$1"; return ;; esac
	sc=$1
	name=${sc%%:*}
	name=${name%%@*}
	l2k=
	case $sc in *@*) l2k="vmmtest_l2kernel=${sc#*@}" ;; esac
	log=$BUILD/e2e/$(echo "$sc" | tr ':/' '--').log
	case ${sc%@*} in
	soak:*) n=${sc#soak:}; n=${n%@*}; tmo=$(( ${n:-1} * (STALL_S + 20) + 180 )) ;;
	boot) tmo=$(( STALL_S + 180 )) ;;
	distro) tmo=1500 ;;	# two systemd boots; it shares the machine with another scenario
	bench) tmo=${E2E_BENCH_TMO:-3000} ;;   # make bench-net: rounds x cells x tests
	*) tmo=1200 ;;
	esac
	# the bench's own limit inside L1: the host's, less a minute to report
	lim=
	[ "$name" = bench ] && lim="vmmtest_limit_s=$((tmo - 60))"
	# bench_smoke with E2E_BENCH_IMAGE (make test: in the pool beside the
	# other scenarios): the bench image (tests/bench/build-images.sh, QEMU
	# and vmm inside), QEMU as the L2 VMM of record, the bench's arguments
	# (E2E_BENCH_ARGS: bench_t=1,...); the words after l1_append's win.
	img=$l1_img l2v=$l2_vmm
	if [ "$name" = bench_smoke ] && [ -n "${E2E_BENCH_IMAGE:-}" ]; then
		img=$E2E_BENCH_IMAGE l2v=qemu
		lim="vmmtest_vmm=qemu vmmtest_l2args=${E2E_BENCH_ARGS:-}"
	fi
	echo "e2e: $sc: running (L2 VMM: $l2v, limit ${tmo} s, log $log)"
	t0=$(now_ms)
	mon=$BUILD/e2e/$(echo "$sc" | tr ':/' '--').mon
	rm -f "$mon"
	# QEMU's own log of L1's CPU resets (each with the CPU state, INIT
	# included): an L1 that dies without a word on its console may have
	# reset itself (a triple fault: -no-reboot makes QEMU exit), and this
	# says so and where.
	qlog=${log%.log}.qemu.log
	rm -f "$qlog"
	# Appending: watch_silence writes its verdict and the monitor's dump
	# into the same file, which QEMU's own offset would overwrite otherwise.
	: > "$log"
	# shellcheck disable=SC2086
	timeout -k 10 "$tmo" $qemu_l1 -initrd "$img" -append "$l1_append vmmtest=${sc%@*} $l2k $lim" \
		-d cpu_reset -D "$qlog" \
		-nographic -monitor "unix:$mon,server,nowait" < /dev/null >> "$log" 2>&1 &
	qpid=$!
	# (ended by watch_silence: the shell's "Terminated" notice is expected)
	[ "${E2E_VERBOSE:-0}" = 1 ] && { tail -f "$log" & tpid=$!; }
	watch_silence "$qpid" "$log" "$mon"
	wait "$qpid"
	[ "${E2E_VERBOSE:-0}" = 1 ] && kill "$tpid" 2> /dev/null
	rm -f "$mon"
	wall=$(( $(now_ms) - t0 ))
	# Drop CRs and terminal escapes (SeaBIOS and the kernel emit some).
	clean=$(tr -d '\r' < "$log" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[A-Za-z]//g')
	res=$(echo "$clean" | grep -a "^E2E-RESULT name=$name " | tail -n 1)
	init_up=$(field "$(echo "$clean" | grep -a '^E2E-L1-INIT ' | head -n 1)" uptime)
	st=$(field "$res" status)
	base="L1 wall $(ms_to_s $wall) s, L1 /init at ${init_up:-?} s"
	case $name in
	boot)
		detail="$base, L2 boot $(ms_to_s "$(field "$res" l2_boot_ms)") s ($(field "$res" l2_boot_src)), guest uptime at init $(field "$res" guest_uptime) s, vmm exit $(field "$res" vmm_rc) after $(ms_to_s "$(field "$res" vmm_wall_ms)") s"
		;;
	soak)
		triple=$(echo "$clean" | grep -a '^E2E-BOOT ' | grep -c 'triple_fault')
		detail="$base, $(field "$res" ok)/$(field "$res" boots) boots ok, $(field "$res" stalls) stalls, $triple triple faults, $(field "$res" corrupt) with the vCPU state replaced, $(field "$res" storms) interrupt-window storms, $(field "$res" failed) failures in all; L2 boot min/avg/max $(ms_to_s "$(field "$res" min_ms)")/$(ms_to_s "$(field "$res" avg_ms)")/$(ms_to_s "$(field "$res" max_ms)") s"
		echo "$clean" | grep -a '^E2E-BOOT ' | while read -r l; do
			c=; [ "$(field "$l" corrupt)" != 1 ] || c=", vCPU state replaced"
			[ "$(field "$l" irq_window_storm)" != 1 ] || c="$c, interrupt-window storm: $(field "$l" kvm_irq_window) of $(field "$l" kvm_exits) KVM exits"
			echo "  boot $(field "$l" n): $(field "$l" status) $(ms_to_s "$(field "$l" l2_boot_ms)") s (guest uptime $(field "$l" guest_uptime) s$c)"
		done
		;;
	*)
		detail="$base${res:+, $(echo "$res" | cut -d' ' -f4-)}"
		# a payload's own totals line, e.g. "guests: 3 passed, 0 failed"
		tot=$(echo "$clean" | grep -a "^$name: [0-9]* passed" | tail -n 1)
		[ -z "$tot" ] || detail="$detail; $tot"
		;;
	esac
	# Figures a scenario wants in the summary.
	echo "$clean" | grep -a '^E2E-INFO ' | sed 's/^E2E-INFO /  /'
	case $name in
	soak) how=counted ;;	# the soak never retries
	*) how=retried ;;
	esac
	echo "$clean" | grep -a '^E2E-FLAKE ' | sed "s/^E2E-FLAKE /  FLAKE ($how): /"
	# an L2 boot retried inside L1 is a rerun too (counted, limited):
	# l1-init's "retrying this L2 boot once", disk-lib's "retrying this
	# boot once", bench's "booting it once more"
	n=$(echo "$clean" | grep -ac '^E2E-FLAKE .*\(retrying this \(L2 \)\?boot once\|booting it once more\)')
	reruns=$((reruns + n))
	case $st in
	pass)
		passed=$((passed + 1))
		echo "e2e: $sc: PASS ($detail)"
		;;
	skip)
		skipped=$((skipped + 1))
		echo "e2e: $sc: SKIP ($(field "$res" reason))"
		;;
	*)
		failed=$((failed + 1))
		if [ -z "$res" ] && grep -aq '^E2E-L1-SILENT' "$log"; then
			detail="no result line: L1 froze (console silent ${SILENCE_S} s); $base"
		elif [ -z "$res" ]; then
			# QEMU's TCG logs "Triple fault" (CPU_LOG_RESET) before it resets
			why=; grep -aq '^Triple fault' "$qlog" 2> /dev/null &&
				why=" (QEMU logged a triple fault of L1: $qlog)"
			detail="no result line: L1 crashed or hit the ${tmo} s limit$why; $base"
		fi
		echo "e2e: $sc: FAIL ($detail)"
		fail_list="$fail_list
e2e: FAILED $sc: $detail"
		echo "---- last lines of $log ----"
		echo "$clean" | tail -n 40
		echo "----"
		;;
	esac
}

# A scenario whose L1 itself died or froze (no result line: L1 kernel
# panics from the nested-TCG world-switch bug, docs/running.md) or that
# printed E2E-FLAKE (an L2 that died before init twice, a vCPU whose state
# was replaced, a triple fault) gets another L1 session, up to
# E2E_FLAKE_RERUNS (2) times (CI once saw the same scenario hit twice in a
# row); every rerun is printed (FLAKE) and listed at the end. The soak is
# never rerun: every failed boot counts there.
FLAKE_RERUNS=${E2E_FLAKE_RERUNS:-2}
flaky_failure()
{
	log=$(log_of "$1")
	case ${1#arm64/} in soak:*) return 1 ;; esac
	n=${1#arm64/}
	n=${n%%:*}
	n=${n%%@*}	# net@6.12 reports as net
	case $1 in arm64/net-vhost) n=net ;; arm64/iperf-vhost) n=iperf ;; esac
	! tr -d '\r' < "$log" | grep -aq "^E2E-RESULT name=$n " ||
		grep -aq "^E2E-FLAKE " "$log"
}

key_of()
{
	echo "$1" | tr ':/' '--'
}

# log_of SCENARIO: its serial log (nested-arm64.sh names its own)
log_of()
{
	case $1 in
	arm64/*) echo "$ARM_BUILD/e2e/$(echo "${1#arm64/}" | tr : -).log" ;;
	*) echo "$BUILD/e2e/$(key_of "$1").log" ;;
	esac
}

# One scenario and its reruns. Its counts go to $BUILD/e2e/KEY.counts and
# its failures to KEY.fails, for collect: it may run in a subshell.
run_scenario()
{
	sc=$1
	key=$(key_of "$sc")
	passed=0; failed=0; skipped=0; reruns=0; fail_list=; flaked=0
	run_one "$sc"
	tries=0
	while [ $failed -gt 0 ] && [ $tries -lt "$FLAKE_RERUNS" ] && flaky_failure "$sc"; do
		tries=$((tries + 1))
		reruns=$((reruns + 1))
		flaked=1
		echo "e2e: $sc: FLAKE: the L1 session died or L2 hit the nested-TCG bug; rerun $tries of $FLAKE_RERUNS"
		log=$(log_of "$sc")
		cp "$log" "${log%.log}.flake$tries.log" 2> /dev/null || true
		cp "${log%.log}.qemu.log" "${log%.log}.flake$tries.qemu.log" 2> /dev/null || true
		failed=0
		fail_list=$(echo "$fail_list" | sed "s|^e2e: FAILED $sc: |e2e: run $tries of $sc (flake, rerun): |")
		run_one "$sc"
	done
	echo "p=$passed f=$failed s=$skipped r=$reruns fl=$flaked" > "$BUILD/e2e/$key.counts"
	echo "$fail_list" | sed '/^$/d' > "$BUILD/e2e/$key.fails"
}

# Adds one finished scenario's counts to the run's.
add_counts()
{
	local sc=$1 key c
	key=$(key_of "$sc")
	c=$(cat "$BUILD/e2e/$key.counts" 2> /dev/null)
	if [ -z "$c" ]; then	# its subshell died before writing them
		c="p=0 f=1 s=0 r=0 fl=0"
		echo "e2e: FAILED $sc: the harness lost its counts" > "$BUILD/e2e/$key.fails"
	fi
	passed=$((passed + $(field "$c" p)))
	failed=$((failed + $(field "$c" f)))
	skipped=$((skipped + $(field "$c" s)))
	reruns=$((reruns + $(field "$c" r)))
	[ "$(field "$c" fl)" != 1 ] || flake_list="$flake_list $sc"
	if [ -s "$BUILD/e2e/$key.fails" ]; then
		fail_list="$fail_list
$(cat "$BUILD/e2e/$key.fails")"
	fi
}

flake_list=
declare -A job_sc
running=0

# Waits for one of the scenarios running side by side, prints its held
# output whole and counts it.
collect()
{
	local done_pid sc
	wait -n -p done_pid
	sc=${job_sc[$done_pid]}
	unset "job_sc[$done_pid]"
	running=$((running - 1))
	cat "$BUILD/e2e/$(key_of "$sc").out"
	add_counts "$sc"
}

for sc in "$@"; do
	[ "$sc" != shell ] || run_shell
done
for next in "$@"; do
	rm -f "$BUILD/e2e/$(key_of "$next").counts" "$BUILD/e2e/$(key_of "$next").fails"
	if [ "$JOBS" -eq 1 ]; then
		( run_scenario "$next" )
		add_counts "$next"
		continue
	fi
	while [ $running -ge "$JOBS" ]; do
		collect
	done
	echo "e2e: $next: started beside $running other(s); its output follows when it ends"
	( run_scenario "$next" ) > "$BUILD/e2e/$(key_of "$next").out" 2>&1 &
	job_sc[$!]=$next
	running=$((running + 1))
done
while [ $running -gt 0 ]; do
	collect
done
# The verdict last, so that the tail of a CI log names what failed and why.
[ -z "$flake_list" ] || echo "e2e: reruns after an L1/L2 flake:$flake_list"
[ -z "$fail_list" ] || echo "$fail_list" | sed '/^$/d'
sk=
[ $skipped -eq 0 ] || sk=", $skipped skipped"
echo "e2e: $passed passed, $failed failed$sk, $reruns reruns after a nested-TCG flake (at most $MAX_RERUNS allowed)"
if [ $reruns -gt "$MAX_RERUNS" ]; then
	echo "e2e: FAILED: $reruns reruns: the nested host flaked more often than a run allows (docs/running.md, \"Nested TCG flakes\")"
	exit 1
fi
[ $failed -eq 0 ]
