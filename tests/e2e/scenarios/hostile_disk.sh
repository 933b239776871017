#!/bin/sh
# tests/e2e/scenarios/hostile_disk.sh — the 'hostile_disk' scenario, run
# inside L1: a guest that owns a raw disk tries to read a host file through
# it (finding 1 of the hardening issue). L1 holds a secret in /tmp/secret
# (root-only, like /etc/shadow); vmm boots the default L2 guest with
# --disk guest.raw, no format=, twice, with the same disk arguments:
#   1 attack   vmmtest=write-qcow2-header (tests/e2e/l2/): the guest
#              writes a qcow2 header naming /tmp/secret as backing file to
#              sector 0 of /dev/vda; vmm refuses the write (the format was
#              probed) and says why in one line; the file is unchanged
#   2 read     vmmtest=read-disk: vmm says vda is raw, and the guest finds
#              no trace of the secret on /dev/vda
# and, to show the header is a real attack (the control):
#   3 raw      the same write to control.raw given with format=raw is
#              allowed (the user vouched for the image)
#   4 probed   control.raw without format=, read-only: vmm names the chain
#              control.raw (qcow2) -> /tmp/secret, and the guest reads
#              the secret: what boot 2 prevents
E2E_SOURCE_ONLY=1 . /init
W=/tmp/hostile
mkdir -p "$W"
fail=
P="E2E-INFO hostile_disk:"
L2_PARAMS="console=ttyS0 quiet reboot=k panic=-1"	# quiet: see bench.sh

SECRET="VMM-E2E-SECRET-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
umask 077
{
	i=0
	while [ $i -lt 40 ]; do
		echo "user$i:*:19000:0:99999:7:::"
		i=$((i + 1))
	done
	echo "root:$SECRET:19000:0:99999:7:::"
} > /tmp/secret
dd if=/dev/zero of="$W/guest.raw" bs=1M count=4 2> /dev/null
cp "$W/guest.raw" "$W/control.raw"

# boot TAG VMMTEST DISK-ARG: one L2 boot, its output in $W/TAG.out
boot()
{
	VMM_ARGS="--disk $3"
	l2__run "$STALL_S" "$L2_PARAMS vmmtest=$2"
	cp /tmp/l2.out "$W/$1.out"
	[ "$R_STATUS" = pass ] || fail="$fail $1:status=$R_STATUS"
	grep -aq "VMM-HOSTILE-ERROR" "$W/$1.out" && fail="$fail $1:guest-error"
	# the chain line: what vda is, said once at start
	echo "$P $1: $(grep -a -m 1 '^vmm: vda: ' "$W/$1.out")"
}
magic() { od -An -N4 -tx1 "$1" | tr -d ' \n'; }

# 1: the attack, refused
boot attack write-qcow2-header "$W/guest.raw"
grep -aq "^vmm: vda: $W/guest.raw (raw, probed)" "$W/attack.out" || fail="$fail attack:not-probed-raw"
grep -aq "VMM-HOSTILE write=refused" "$W/attack.out" || fail="$fail attack:write-not-refused"
n=$(grep -ac "guest write to sector 0 refused" "$W/attack.out")
[ "$n" = 1 ] || fail="$fail attack:refusal-lines=$n"
echo "$P attack: $(grep -a -m 1 'guest write to sector 0 refused' "$W/attack.out")"
[ "$(magic "$W/guest.raw")" = 00000000 ] || fail="$fail attack:sector0-changed=$(magic "$W/guest.raw")"

# 2: the same disk arguments: still raw, no secret
boot read read-disk "$W/guest.raw"
grep -aq "^vmm: vda: $W/guest.raw (raw, probed)" "$W/read.out" || fail="$fail read:not-raw"
grep -aq "VMM-HOSTILE secret-found=no" "$W/read.out" || fail="$fail read:secret-found"
grep -aq -- "$SECRET" "$W/read.out" && fail="$fail read:secret-on-console"

# 3, 4: the control
boot raw write-qcow2-header "$W/control.raw,format=raw"
grep -aq "VMM-HOSTILE write=ok" "$W/raw.out" || fail="$fail raw:write-refused"
grep -aq "guest write to sector 0 refused" "$W/raw.out" && fail="$fail raw:refused-line"
[ "$(magic "$W/control.raw")" = 514649fb ] || fail="$fail raw:no-qcow2-magic"
boot probed read-disk "$W/control.raw,ro"
grep -aq "^vmm: vda: $W/control.raw (qcow2, probed, read-only) -> /tmp/secret (raw)" "$W/probed.out" ||
	fail="$fail probed:chain"
grep -aq "VMM-HOSTILE secret-found=yes" "$W/probed.out" || fail="$fail probed:header-not-an-attack"

echo "$P ${fail:-a probed raw disk kept its format; the secret stayed on the host}"
[ -z "$fail" ]
