#!/bin/sh
# tests/e2e/scenarios/sandbox.sh — least privilege, run inside L1:
#   A  root starts vmm with --user vmmu: vmm creates the tap (host-ip,
#      vhost-net) and a disk, then drops to vmmu. Every vmm thread shows
#      Seccomp 2, the process uid/gid 1000 with no capabilities, the
#      guest answers pings, vmmu's `vmm list/stat/stop --force` reach it, and at
#      the end the tap and the socket are gone without a warning.
#   B  vmm started by vmmu itself (never root): /dev/kvm and
#      /dev/vhost-net opened to vmmu's group, a tap made for vmmu by the
#      admin (`ip tuntap add ... user vmmu`, iproute2's ip in L1),
#      the disk vmmu's own. Same checks; the admin's tap stays as it was.
# The guest is the default L2 in idle mode (its virtio-blk driver reads
# the disk, so the disk worker runs filtered too).
E2E_SOURCE_ONLY=1 . /init
P="console=ttyS0 quiet reboot=k panic=-1 vmmtest=idle"	# quiet: see bench.sh
U=vmmu
UID_U=1000
fail=
I="E2E-INFO sandbox:"

grep -q "^$U:" /etc/passwd || echo "$U:x:$UID_U:$UID_U:vmm test user:/tmp:/bin/sh" >> /etc/passwd
grep -q "^$U:" /etc/group || echo "$U:x:$UID_U:" >> /etc/group
as_user() { su -s /bin/sh "$U" -c "$*"; }

wait_for() { # file text seconds pid: 0 once the text is there; 1 when the
	     # time is up or vmm (pid) ended first
	i=0
	while [ $i -lt $(( $3 * 5 )) ]; do
		grep -aq "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.2; i=$((i + 1))
	done
	return 1
}

# no_boot TAG PID WHO: the guest did not reach init. A vmm still running is
# the nested-TCG stall (rerun); one that ended is vmm's own failure.
no_boot()
{
	if kill -0 "$2" 2>/dev/null; then
		echo "E2E-FLAKE sandbox: $3 guest did not reach init in 180 s"
		kill "$2" 2>/dev/null
	fi
	fail="$fail $1:no-boot"
}

# check_vmm TAG: the running vmm's ids, capabilities and every thread's
# seccomp mode (vhost-PID workers of newer kernels are the kernel's own).
check_vmm()
{
	tag=$1
	pid=$(pidof vmm)
	if [ -z "$pid" ]; then
		fail="$fail $tag:no-vmm"
		return
	fi
	grep -E "^(Uid|Gid|Groups|NoNewPrivs|Seccomp|CapPrm|CapEff):" "/proc/$pid/status" |
		tr '\t' ' ' | sed "s/^/$I $tag status| /"
	grep -Eq "^Uid:[[:space:]]+$UID_U[[:space:]]+$UID_U[[:space:]]+$UID_U[[:space:]]+$UID_U$" \
		"/proc/$pid/status" || fail="$fail $tag:uid"
	grep -Eq "^Gid:[[:space:]]+$UID_U[[:space:]]+$UID_U[[:space:]]+$UID_U[[:space:]]+$UID_U$" \
		"/proc/$pid/status" || fail="$fail $tag:gid"
	grep -Eq "^CapEff:[[:space:]]+0+$" "/proc/$pid/status" || fail="$fail $tag:capabilities"
	threads=
	for t in /proc/"$pid"/task/*; do
		comm=$(cat "$t/comm")
		mode=$(awk '/^Seccomp:/ { print $2 }' "$t/status")
		threads="$threads $comm=$mode"
		case $comm in vhost-*) continue ;; esac
		[ "$mode" = 2 ] || fail="$fail $tag:seccomp($comm=$mode)"
	done
	echo "$I $tag threads (name=seccomp mode):$threads"
	for want in vmm vmm-io vmm-net0q0 vmm-ctl vmm-vcpu0 vmm-vcpu1 virtio-blk; do
		echo "$threads" | grep -q " $want=" || fail="$fail $tag:no-thread-$want"
	done
}

# after TAG OUT RC: how the VM ended
after()
{
	tag=$1
	grep -a "^vmm" "$2" | sed "s/^/$I $tag vmm| /" | tail -n 30
	[ "$3" = 0 ] || fail="$fail $tag:vmm-rc=$3"
	grep -aq "stopped by 'vmm stop'" "$2" || fail="$fail $tag:not-stopped-by-user"
	grep -aq "seccomp: thread" "$2" && fail="$fail $tag:seccomp-violation"
	grep -aq "warning: could not" "$2" && fail="$fail $tag:teardown-warning"
	[ -e "/tmp/vmm-$UID_U/$tag.sock" ] && fail="$fail $tag:socket-left"
}

# manage TAG: vmmu's own vmm list / stat / stop reach the VM
manage()
{
	as_user "$VMM list" > /tmp/list 2>&1
	sed "s/^/$I $1 list| /" /tmp/list
	grep -q "^$1 " /tmp/list || fail="$fail $1:not-listed-for-$U"
	as_user "$VMM stat $1 --json" > /tmp/stat 2>&1 || fail="$fail $1:stat"
	grep -q "\"io_thread\"" /tmp/stat || fail="$fail $1:stat-reply"
	# --force: the idle guest does not act on the power button (manage.sh
	# checks vmm stop's button), and this checks the end vmm makes itself
	as_user "$VMM stop --force $1" > /dev/null 2>&1 || fail="$fail $1:stop"
}

truncate -s 64M /tmp/sb-a.raw

# ---- A: root sets up, then becomes vmmu ----
timeout 600 "$VMM" run --name sba --user "$U" --kernel "$L2_KERNEL" --initrd "$L2_INITRD" \
	--mem 256 --cpus 2 --no-console --disk /tmp/sb-a.raw,format=raw \
	--net tap=vnetS,host-ip=192.168.102.1/24,vhost=on \
	--params "$P vmmtest_ip=192.168.102.2/24" > /tmp/a.out 2>&1 < /dev/null &
pid_a=$!
if wait_for /tmp/a.out VMM-L2-IDLE 180 "$pid_a"; then
	grep -q "running as user $U (uid $UID_U, gid $UID_U) from now on" /tmp/a.out ||
		fail="$fail sba:no-drop-line"
	check_vmm sba
	ping -c 5 -W 5 192.168.102.2 > /dev/null 2>&1 || fail="$fail sba:ping"
	manage sba
else
	no_boot sba "$pid_a" "the --user"
fi
wait "$pid_a"
rc_a=$?
after sba /tmp/a.out $rc_a
[ -e /sys/class/net/vnetS ] && fail="$fail sba:tap-left"

# ---- B: vmmu alone ----
chgrp "$U" /dev/kvm /dev/vhost-net && chmod 660 /dev/kvm /dev/vhost-net
# /dev/net/tun is 0666 on Debian (udev's 50-udev-default.rules); L1 has
# no udev, and the kernel makes it 0600
chmod 666 /dev/net/tun
/usr/lib/iproute2/ip tuntap add vmmu0 mode tap user "$U" || fail="$fail sbb:tuntap"
ip addr add 192.168.103.1/24 dev vmmu0
ip link set vmmu0 up
truncate -s 64M /tmp/sb-b.raw
chown "$U:$U" /tmp/sb-b.raw
as_user "exec timeout 600 $VMM run --name sbb --kernel $L2_KERNEL --initrd $L2_INITRD \
	--mem 256 --cpus 2 --no-console --disk /tmp/sb-b.raw,format=raw \
	--net tap=vmmu0,vhost=on \
	--params '$P vmmtest_ip=192.168.103.2/24'" > /tmp/b.out 2>&1 < /dev/null &
pid_b=$!
if wait_for /tmp/b.out VMM-L2-IDLE 180 "$pid_b"; then
	grep -q "vhost-net datapath" /tmp/b.out || fail="$fail sbb:no-vhost"
	check_vmm sbb
	ping -c 5 -W 5 192.168.103.2 > /dev/null 2>&1 || fail="$fail sbb:ping"
	manage sbb
else
	no_boot sbb "$pid_b" "vmmu's"
fi
wait "$pid_b"
rc_b=$?
after sbb /tmp/b.out $rc_b
# The admin's tap is the admin's: still there, address and all.
ip addr show dev vmmu0 2>/dev/null | grep -q "192.168.103.1/24" || fail="$fail sbb:tap-changed"
/usr/lib/iproute2/ip tuntap del vmmu0 mode tap
chgrp root /dev/kvm /dev/vhost-net && chmod 600 /dev/kvm /dev/vhost-net

echo "$I --user run rc=$rc_a, $U's own run rc=$rc_b; missing: ${fail:-none}"
[ -z "$fail" ] || { sed 's/^/A| /' /tmp/a.out | tail -n 20; sed 's/^/B| /' /tmp/b.out | tail -n 20; }
[ -z "$fail" ]
