#!/bin/sh
# tests/e2e/scenarios/distro.sh — the 'distro' scenario, run inside L1: a
# real distribution booted straight from its disk. The image is Debian 12
# with systemd, cloud-init and openssh-server in the Fedora 44 layout
# (images/build-debian-system.sh; btrfs subvolumes, zstd, BLS in the boot
# subvolume), reached over 9p at /images; boots write to a qcow2 overlay.
#   1 vhost on   `vmm run --disk OVERLAY --root-password-file --ssh-key --net`
#                with nothing else: vmm finds the entry and sizes the VM;
#                systemd reaches the login prompt on ttyS0; cloud-init
#                (NoCloud seed) sets the password and the key; ssh over
#                the virtio-net NIC (DHCP from busybox udhcpd on the tap):
#                `systemctl is-system-running`, the password checked
#                against /etc/shadow, /dev/hwrng served by virtio_rng
#                (64 bytes read), a token written, the journal kept on
#                disk; `vmm stop` presses the ACPI power button, systemd
#                powers off, vmm ends with status 0
#   2 vhost off  the same disk again: the token reads back, boot one's
#                journal shows the power key and an orderly shutdown;
#                `systemctl poweroff`
#   -            qemu-img check of the overlay clean; the base unchanged
# Reports (E2E-INFO) the time to the login prompt and to ssh, and the
# failed units when the system says "degraded".
E2E_SOURCE_ONLY=1 . /init
S=/images
BASE=$S/debian-system.qcow2
W=/tmp/distro
P="E2E-INFO distro:"
TAP=vnet0
HOST_IP=192.168.100.1
GUEST_IP=192.168.100.2
PW=vmm-e2e-pw
TOKEN=token-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
LOGIN_S=${DISTRO_LOGIN_S:-420}
mkdir -p "$W"
fail=
echo "$PW" > "$W/pw"

if [ ! -f "$BASE" ] || [ ! -f "$S/debian-system.manifest" ]; then
	echo "$P the Debian system image is not shared into L1 (images/build-debian-system.sh)"
	exit 1
fi
# shellcheck disable=SC1091
. "$S/debian-system.manifest"
cp "$S/id_ed25519" "$W/key" && chmod 600 "$W/key" || exit 1
qemu-img create -q -f qcow2 -b "$BASE" -F qcow2 "$W/overlay.qcow2" || exit 1

# A DHCP server for the guest on the tap (cloud-init's fallback network
# config is DHCP on the first NIC); started once vmm has made the tap.
cat > "$W/udhcpd.conf" <<EOF
interface $TAP
start $GUEST_IP
end $GUEST_IP
max_leases 1
lease_file $W/udhcpd.leases
option subnet 255.255.255.0
option lease 86400
EOF
: > "$W/udhcpd.leases"

# ServerAlive*: a guest that dies under an open session (an L2 triple
# fault, the nested-TCG bug) ends the ssh within a minute; without them it
# waited for TCP's hours-long timeout and L1 sat silent until the harness's
# watchdog killed it, so the known flake was reported as a frozen L1.
gssh()
{
	ssh -i "$W/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=10 \
		-o ServerAliveCountMax=6 -o LogLevel=ERROR "root@$GUEST_IP" "$@"
}

# gssh, but a connection refused (ssh's 255) is tried again, up to 30
# times 2 s apart: cloud-init restarts sshd while it configures password
# logins, so a guest that answered once may refuse for a moment after.
gssh_retry()
{
	local i=0 rc
	while :; do
		gssh "$@" 2> "$W/gssh_retry.err"
		rc=$?
		[ $rc -eq 255 ] && grep -q "Connection refused" "$W/gssh_retry.err" && [ $i -lt 30 ] ||
			break
		i=$((i + 1))
		sleep 2
	done
	cat "$W/gssh_retry.err" >&2
	return $rc
}

# distro__dhcp: udhcpd serving the tap, started again if it is not running.
distro__dhcp()
{
	pidof udhcpd > /dev/null || udhcpd "$W/udhcpd.conf" ||
		echo "$P udhcpd did not start on $TAP"
}

# distro__wait_for FILE TEXT LIMIT_S PID: until FILE has TEXT (0), PID
# ended or LIMIT_S passed (1).
distro__wait_for()
{
	n=0
	while ! grep -aq "$2" "$1"; do
		kill -0 "$4" 2> /dev/null || return 1
		[ "$n" -lt "$(($3 * 2))" ] || return 1
		# the guest kernel says a task waits on I/O for 120 s: say what
		# vmm's devices did (two snapshots 5 s apart, the threads'
		# states) and stop waiting. Seen once with the disk: both
		# btrfs' transaction thread and cloud-init blocked.
		if grep -aq "blocked for more than" "$1"; then
			distro__hung "$4"
			return 1
		fi
		n=$((n + 1))
		# a line now and then: nested.sh ends an L1 silent for 300 s
		[ $((n % 120)) -ne 0 ] || echo "$P waiting for '$2' ($((n / 2)) s)"
		sleep 0.5
	done
}

# distro__hung PID: what vmm's devices and threads did while the guest
# waited, for the log. Cause not known yet (a lost interrupt, as in the
# nested-TCG bug's stalls, or vmm's): an E2E-FLAKE line, so the scenario
# reruns in a fresh L1 and the rerun is counted, as the 1000 s limit did
# before, only 800 s sooner.
distro__hung()
{
	echo "$P guest task hung on I/O for 120 s; vmm's view:"
	"$VMM" stat "distro-$tag" 2>&1 | sed "s/^/$P stat1| /"
	sleep 5
	"$VMM" stat "distro-$tag" --json > "$W/stat2.json" 2>&1
	"$VMM" stat "distro-$tag" 2>&1 | grep -E "^  vd|kicks|refused" | sed "s/^/$P stat2| /"
	for t in /proc/"$1"/task/*; do
		echo "$P thread $(cat "$t/comm") state $(awk '{ print $3 }' "$t/stat") wchan $(cat "$t/wchan" 2> /dev/null)"
	done
	echo "E2E-FLAKE distro $tag: a guest task hung on I/O for 120 s (vmm stat above)"
	fail="$fail $tag:guest-io-hung"
}

# distro__boot TAG VHOST: boot, log in over ssh, run the checks of this
# boot (distro__checks_TAG), power off. Sets fail on any problem.
distro__boot()
{
	tag=$1
	out=$W/$tag.out
	t0=$(e2e__uptime_ms)
	# no --mem/--cpus/--kernel: a cloud image needs nothing but --disk
	# the console into $out and onto L1's console, prefixed
	rm -f "$W/$tag.fifo"
	mkfifo "$W/$tag.fifo"
	awk -v tag="$tag" -v f="$out" '{ sub(/\r$/, ""); print >> f; fflush(f); print "L2[" tag "]| " $0; fflush() }' \
		< "$W/$tag.fifo" &
	"$VMM" run -v --name "distro-$tag" --disk "$W/overlay.qcow2" --root-password-file "$W/pw" \
		--ssh-key "$S/id_ed25519.pub" --net "tap=$TAP,host-ip=$HOST_IP/24" \
		--vhost "$2" --no-console -p quiet < /dev/null > "$W/$tag.fifo" 2>&1 &
	vpid=$!
	: >> "$out"
	# DHCP as soon as vmm has made the tap and given it its address: the
	# guest's network setup waits for a lease (udhcpd quits on a tap
	# without an IPv4 address, so wait for that, not just the tap)
	n=0
	while ! ip -4 addr show dev $TAP 2> /dev/null | grep -q "inet $HOST_IP/" &&
	      [ $n -lt 120 ] && kill -0 "$vpid" 2> /dev/null; do
		n=$((n + 1))
		sleep 0.5
	done
	distro__dhcp
	if ! distro__wait_for "$out" "login: " "$LOGIN_S" "$vpid"; then
		fail="$fail $tag:no-login-prompt"
		distro__end "$tag"
		return
	fi
	login_ms=$(( $(e2e__uptime_ms) - t0 ))
	grep -a "^vmm: booting" "$out" | head -n 1 | sed "s/^/$P $tag: /"
	n=0
	until gssh true 2> "$W/$tag.ssh.err"; do
		n=$((n + 1))
		distro__dhcp
		[ $((n % 10)) -ne 0 ] || echo "$P $tag: no ssh yet ($(tail -n 1 "$W/$tag.ssh.err"))"
		if [ $n -ge 60 ] || ! kill -0 "$vpid" 2> /dev/null; then
			fail="$fail $tag:no-ssh($(tail -n 1 "$W/$tag.ssh.err" | tr ' ' _))"
			distro__end "$tag"
			return
		fi
		sleep 2
	done
	ssh_ms=$(( $(e2e__uptime_ms) - t0 ))
	echo "$P $tag: login prompt on ttyS0 after $(awk "BEGIN { printf \"%.1f\", $login_ms / 1000 }") s, ssh after $(awk "BEGIN { printf \"%.1f\", $ssh_ms / 1000 }") s (vhost $2, nested TCG)"
	state=$(gssh_retry 'timeout 300 systemctl is-system-running --wait' 2>&1)
	echo "$P $tag: systemctl is-system-running: $state"
	case $state in
	running) ;;
	degraded)
		gssh 'systemctl --failed --no-legend --plain' 2>&1 | sed "s/^/$P $tag: failed unit: /"
		# why, in the log of this run
		gssh 'for u in $(systemctl --failed --no-legend --plain | cut -d" " -f1); do journalctl -b -u $u -n 15 --no-pager; done; grep -E "WARNING|ERROR|Traceback" /var/log/cloud-init.log | tail -n 15' 2>&1 |
			sed "s/^/L2[$tag]-journal| /"
		;;
	*) fail="$fail $tag:system-$state" ;;
	esac
	"distro__checks_$tag"
	if [ "$tag" = one ]; then
		# vmm stop presses the ACPI power button: systemd-logind
		# powers the system off, as after virsh shutdown
		"$VMM" stop --timeout 240 "distro-$tag" > "$W/stop.out" 2>&1
		sed "s/^/$P one: vmm stop: /" "$W/stop.out"
		grep -q "the guest powered off after" "$W/stop.out" || fail="$fail one:stop-not-by-the-guest"
	else
		gssh 'systemctl poweroff' > /dev/null 2>&1
	fi
	distro__end "$tag"
}

# Wait (bounded) for vmm to end, the guest's poweroff being the reason.
distro__end()
{
	n=0
	while kill -0 "$vpid" 2> /dev/null && [ $n -lt 240 ]; do
		n=$((n + 1))
		sleep 0.5
	done
	if kill -0 "$vpid" 2> /dev/null; then
		fail="$fail $1:vmm-did-not-end"
		kill -TERM "$vpid"
		sleep 2
		kill -KILL "$vpid" 2> /dev/null
	fi
	wait "$vpid"
	rc=$?
	killall udhcpd 2> /dev/null
	# the nested-TCG world-switch bug (docs/running.md): the scenario is
	# rerun in a fresh L1 (counted), not failed as vmm's doing
	l2__bug_seen "$out" "distro $1: " && fail="$fail $1:nested-tcg-bug"
	grep -aq "^vmm: guest powered off" "$out" || fail="$fail $1:no-poweroff"
	[ "$rc" -eq 0 ] || fail="$fail $1:vmm-rc-$rc"
	if [ -n "$fail" ]; then
		echo "---- $1: last console lines ----"
		tail -n 40 "$out"
	fi
}

distro__checks_one()
{
	# vmm found the entry in the boot subvolume and sized the VM itself
	grep -aq "from vda3 (btrfs subvolume boot): /boot/vmlinuz-$SYSTEM_KVER (1024 MiB, 2 vCPUs" "$out" ||
		fail="$fail one:boot-line"
	# the root is the root subvolume, /boot the boot subvolume
	gssh 'grep " / btrfs" /proc/mounts' | grep -q "subvol=/root" || fail="$fail one:root-not-subvol-root"
	gssh 'grep " /boot btrfs" /proc/mounts' | grep -q "subvol=/boot" || fail="$fail one:boot-not-mounted"
	# cloud-init ran from the seed and set the password given
	gssh 'cloud-init status --wait' > "$W/ci" 2>&1
	grep -q "status: done" "$W/ci" || fail="$fail one:cloud-init-$(tr -d ' \n' < "$W/ci")"
	gssh "python3 -W ignore -c 'import crypt, sys; h = [l.split(\":\")[1] for l in open(\"/etc/shadow\") if l.startswith(\"root:\")][0]; sys.exit(crypt.crypt(\"$PW\", h) != h)'" ||
		fail="$fail one:root-password-not-set"
	gssh 'ip -o link show' | grep -q "link/ether" || fail="$fail one:no-nic"
	# vmm's default virtio-rng: udev loads virtio_rng (a module in the
	# Debian cloud kernel) and it becomes the guest's /dev/hwrng
	gssh 'cat /sys/class/misc/hw_random/rng_current; head -c 64 /dev/hwrng | wc -c' > "$W/rng" 2>&1
	sed "s/^/$P one: hwrng: /" "$W/rng"
	grep -q "^virtio_rng" "$W/rng" || fail="$fail one:no-virtio-rng"
	grep -qx "64" "$W/rng" || fail="$fail one:hwrng-short-read"
	gssh "echo $TOKEN > /root/vmm-token && sync" || fail="$fail one:write"
	# keep this boot's journal on disk for boot two's check of the shutdown
	gssh 'mkdir -p /var/log/journal && systemd-tmpfiles --create --prefix /var/log/journal && journalctl --flush' > /dev/null 2>&1 ||
		fail="$fail one:persistent-journal"
}

distro__checks_two()
{
	got=$(gssh 'cat /root/vmm-token')
	[ "$got" = "$TOKEN" ] || fail="$fail two:token-not-read-back"
	# boot one's journal (kept on disk since checks_one): the power key
	# reached logind, and systemd stopped its units in order after it
	# (vmm saw the guest power itself off: systemd-shutdown's last step)
	gssh 'journalctl -b -1 --no-pager -o cat' > "$W/prev.journal" 2>&1
	awk '/Power key pressed/ { p = 1 } p' "$W/prev.journal" > "$W/after-key"
	n=$(grep -ac "Stopping\|Stopped\|Unmount\|Deactivated\|Reached target\|Journal stopped" "$W/after-key")
	echo "$P two: boot one's journal after the power key: $(wc -l < "$W/after-key") lines, $n of units stopping; the last:"
	tail -n 3 "$W/after-key" | sed "s/^/$P two:   /"
	[ -s "$W/after-key" ] || fail="$fail two:no-power-key-in-last-journal"
	[ "$n" -ge 5 ] || fail="$fail two:no-orderly-shutdown-in-last-journal"
}

distro__boot one on
[ -z "$fail" ] && distro__boot two off
qemu-img check -q "$W/overlay.qcow2" || fail="$fail overlay-check"
sha=$(sha256sum "$BASE" | cut -d' ' -f1)
[ "$sha" = "$SYSTEM_SHA256" ] || fail="$fail base-changed"
if [ -n "$fail" ]; then
	echo "$P FAILED:$fail"
	exit 1
fi
exit 0
