# tests/e2e/l1-lib.sh — the helpers both nested test hosts' /init share
# (tests/e2e/l1-init.sh on x86, tests/e2e/l1-init-arm64.sh on aarch64), and
# so the scenario scripts that run on both (layouts, bench). Each L1 image
# carries it as /lib/vmm-e2e.sh (images/build-l1.sh, images/build-arm64.sh);
# the inits source it first. busybox sh: POSIX only.

# e2e__uptime_ms: L1's uptime in milliseconds.
e2e__uptime_ms()
{
	awk '{ printf "%d", $1 * 1000 }' /proc/uptime
}

# e2e__wait_for FILE TEXT SECONDS: 0 once FILE holds TEXT (grep), 1
# after SECONDS. Polls: what the scenarios wait for is a line a VMM or a
# guest writes to a file, which has no event of its own to wait on.
e2e__wait_for()
{
	i=0
	while [ $i -lt $(( $3 * 5 )) ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.2; i=$((i + 1))
	done
	return 1
}

# e2e__dmesg_tail [N]: L1's last N (30) kernel messages, marked.
e2e__dmesg_tail()
{
	dmesg | tail -n "${1:-30}" | sed 's/^/L1-DMESG| /'
}

# e2e__vhost_tid PID: the tid of vhost's worker for the VMM PID, or
# nothing. Up to Linux 6.3 a kernel thread "vhost-PID" (its own /proc
# entry); from 6.4 a thread of the VMM itself with that name (only under
# /proc/PID/task; its CPU time: e2e__thread_stat).
e2e__vhost_tid()
{
	for t in /proc/[0-9]* /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2> /dev/null)" = "vhost-$1" ] && { echo "${t##*/}"; return; }
	done
}

# e2e__thread_stat PID TID: the stat file with TID's own CPU time: under
# /proc/PID/task for a thread of PID (/proc/TID/stat would give the whole
# process's), else /proc/TID/stat (vhost's kernel thread up to 6.3).
e2e__thread_stat()
{
	if [ -e "/proc/$1/task/$2" ]; then echo "/proc/$1/task/$2/stat"; else echo "/proc/$2/stat"; fi
}
