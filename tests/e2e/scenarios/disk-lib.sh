# tests/e2e/scenarios/disk-lib.sh — booting a test disk (images/build-
# fedora.sh, images/build-debian-cloud.sh) with vmm inside L1, shared by
# the disk and layouts scenarios (sourced, never run: l1-init.sh runs
# only the scenario named on its command line). Needs l1-init.sh's
# functions (". /init" with E2E_SOURCE_ONLY=1 first), VMM, and W: the
# directory for each boot's output. The guest side is images/fedora-init.sh
# (its "E2E-DISK..." lines).

# disk__boot_once TAG TIMEOUT_S VMM-RUN-ARGS...: one vmm run, stdin from
# /dev/null, its console and messages in $W/TAG.out (and on L1's console,
# prefixed "L2[TAG]| "), SIGTERM at TIMEOUT_S, SIGKILL 10 s later. Sets
#   B_RC        vmm's exit status        B_KILLED  1 when the limit ended it
#   B_WALL_MS   vmm start to exit        B_INIT    1 when the guest's init ran
#   B_SERIAL_MS vmm start to the init's "E2E-DISK uptime=" line, here in L1
#   B_PORT_MS   vmm start to boot marker 0x42, as vmm reports it
#   B_UPTIME    the guest's own uptime at its init (seconds)
#   B_REASON    vmm's last "vmm: ..." line other than a boot marker
disk__boot_once()
{
	tag=$1
	tmo=$2
	shift 2
	t0=$(e2e__uptime_ms)
	: > "$W/$tag.out"
	{
		timeout -s KILL $((tmo + 10)) timeout -s TERM "$tmo" "$VMM" run -v "$@" < /dev/null
		echo "E2E-VMM-RC $?"
	} 2>&1 | awk -v t0="$t0" -v tmo="$tmo" -v tag="$tag" -v logf="$W/$tag.out" -v res="$W/$tag.res" '
	function now_ms(  l, a) {
		getline l < "/proc/uptime"
		close("/proc/uptime")
		split(l, a, " ")
		return int(a[1] * 1000)
	}
	BEGIN { rc = -1; init = 0; seen = ""; port = ""; up = ""; reason = "" }
	{
		line = $0
		gsub(/\r/, "", line)
		if (line ~ /^E2E-VMM-RC /) { rc = substr(line, 12) + 0; next }
		print "L2[" tag "]| " line
		fflush()
		print line >> logf
		if (!init && line ~ /^E2E-DISK uptime=/) {
			init = 1
			seen = now_ms() - t0
			up = substr(line, 17)
		}
		if (port == "" && line ~ /boot marker 0x42 at [0-9.]+ ms/) {
			s = line
			sub(/.*boot marker 0x42 at /, "", s)
			sub(/ ms.*/, "", s)
			port = s
		} else if (line ~ /^vmm: /) {
			reason = line
		}
	}
	END {
		wall = now_ms() - t0
		gsub(/[^A-Za-z0-9_.:,=+\/-]/, "_", reason)
		printf "B_RC=%d B_WALL_MS=%d B_KILLED=%d B_INIT=%d B_SERIAL_MS=%s B_PORT_MS=%s B_UPTIME=%s B_REASON=\047%s\047\n", \
			rc, wall, (wall >= tmo * 1000 - 200), init, seen, port, up, reason > res
	}'
	# shellcheck disable=SC1090
	. "$W/$tag.res"
	l2__bug_seen "$W/$tag.out" "disk: $tag: " || :
}

# disk__boot: disk__boot_once, and once more (reported as E2E-FLAKE) when
# the guest died before its init: a triple fault or a stall at the limit,
# the rare nested-TCG early-boot deaths l2__run retries too. Nothing was
# written to the disks then (the root is still mounted read-only).
disk__boot()
{
	disk__boot_once "$@"
	[ "$B_INIT" = 1 ] && return
	case $B_REASON:$B_KILLED in
	*triple_fault*|*:1)
		echo "E2E-FLAKE disk: $1: guest died before init ($B_REASON, killed=$B_KILLED); retrying this boot once"
		disk__boot_once "$@"
		;;
	esac
}

# disk__val TAG PREFIX: the value of the first "PREFIX..." line of boot
# TAG, with PREFIX removed.
disk__val()
{
	grep -a -m 1 "^$2" "$W/$1.out" | cut -c $((${#2} + 1))-
}
