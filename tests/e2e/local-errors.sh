#!/bin/sh
# tests/e2e/local-errors.sh — what a user sees for their own mistakes,
# checked with the real vmm binary on this machine (no VM needed): one
# line naming the problem on stderr, a non-zero exit, nothing left behind.
#   tests/e2e/local-errors.sh BUILD/vmm
vmm=${1:-build/vmm}
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | head -n 1)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-errors.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
# expect NAME WANT-TEXT -- vmm ARGS...
expect()
{
	name=$1; want=$2; shift 3
	"$vmm" "$@" > "$tmp/out" 2> "$tmp/err" < /dev/null
	rc=$?
	lines=$(wc -l < "$tmp/err")
	if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -qF -- "$want" "$tmp/err"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "local-errors: FAIL $name (rc=$rc, $lines lines):"; sed 's/^/    /' "$tmp/err"
	fi
}
head -c 4096 /dev/urandom > "$tmp/garbage"
printf 'MZ' > "$tmp/short"
expect no-command "no command given" -- 
expect unknown-command "unknown command 'boot'" -- boot
expect unknown-option "unknown option '--bogus'" -- run -k x --bogus
expect bad-mem "invalid --mem '3'" -- run -k x --mem 3
expect bad-cpus "invalid --cpus '0'" -- run -k x --cpus 0
expect no-kernel "nothing to boot: give --kernel FILE or --disk IMAGE" -- run
expect missing-kernel "cannot read kernel '$tmp/nope'" -- run -k "$tmp/nope"
expect garbage-kernel "not a Linux bzImage or ELF vmlinux" -- run -k "$tmp/garbage"
expect short-kernel "kernel '$tmp/short'" -- run -k "$tmp/short"
expect dir-kernel "Is a directory" -- run -k "$tmp"
expect bad-mac "invalid MAC" -- run -k x --net tap=t0,mac=zz
expect bad-cidr "prefix" -- run -k x --net tap=t0,host-ip=10.0.0.1/99
expect bad-vhost "invalid --vhost 'maybe'" -- run -k x --vhost maybe
# vmm run -d: what fails before the guest runs fails in the foreground
expect detach-missing-kernel "cannot read kernel '$tmp/nope'" -- run -d -k "$tmp/nope"
expect detach-bad-option "unknown option '--bogus'" -- run -d -k x --bogus
expect console-no-name "vmm console needs a VM name" -- console
expect console-no-vm "no VM named 'vmm-errors-none' is running" -- console vmm-errors-none
# Disks: every problem is found before KVM is touched, and nothing is written.
head -c 1048576 /dev/zero > "$tmp/blank.img"
printf 'QFI\373garbage' > "$tmp/short.qcow2"
expect disk-missing "disk image $tmp/nope.qcow2 not found" -- run --disk "$tmp/nope.qcow2"
expect disk-no-entry "no bootable entry found in $tmp/blank.img" -- run --disk "$tmp/blank.img"
expect disk-bad-qcow2 "too short for a qcow2 header" -- run --disk "$tmp/short.qcow2"
expect disk-bad-format "unknown format 'vmdk'" -- run --disk "$tmp/blank.img,format=vmdk"
expect seed-no-key "--ssh-key $tmp/nope: No such file or directory" -- run --disk "$tmp/blank.img" --ssh-key "$tmp/nope"
if command -v qemu-img > /dev/null; then
	qemu-img create -q -f qcow2 "$tmp/base.qcow2" 16M
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$tmp/top.qcow2"
	rm "$tmp/base.qcow2"
	cp "$tmp/top.qcow2" "$tmp/top.orig"
	expect disk-no-backing "base.qcow2" -- run --disk "$tmp/top.qcow2"
	cmp -s "$tmp/top.qcow2" "$tmp/top.orig" || { echo "local-errors: FAIL the overlay was modified"; fail=$((fail + 1)); }
	# an image naming a backing file: backing=off refuses it; a
	# backing file that is no regular file is never opened
	qemu-img create -q -f qcow2 "$tmp/b2.qcow2" 16M
	qemu-img create -q -f qcow2 -b b2.qcow2 -F qcow2 "$tmp/t2.qcow2"
	expect disk-backing-off "names a backing file (b2.qcow2), and backing=off was given" -- \
		run --disk "$tmp/t2.qcow2,backing=off"
	qemu-img create -q -f qcow2 -u -b /dev/zero -F raw "$tmp/t3.qcow2" 16M
	expect disk-backing-device "backing file /dev/zero is a character device" -- \
		run --disk "$tmp/t3.qcow2"
fi
expect pw-file-missing "--root-password-file $tmp/nope: No such file or directory" -- \
	run --disk "$tmp/blank.img" --root-password-file "$tmp/nope"
if [ -n "$kernel" ]; then
	head -c $((40 * 1024 * 1024)) /dev/zero > "$tmp/big-initrd"
	expect initrd-too-big "larger than guest RAM" -- run -k "$kernel" -i "$tmp/big-initrd" -m 32
	expect missing-initrd "cannot read initrd" -- run -k "$kernel" -i "$tmp/nope"
	expect console-log-dir "cannot open the console log $tmp/nope/console.log" -- \
		run -d -k "$kernel" --name vmm-errors-log --console-log "$tmp/nope/console.log"
	if [ ! -e /dev/vhost-net ]; then
		expect vhost-on-missing "--vhost on, but /dev/vhost-net not found" -- \
			run -k "$kernel" --net tap=vmmerr0 --vhost on
	fi
	if [ ! -e /dev/kvm ]; then
		expect no-kvm "cannot open /dev/kvm" -- run -k "$kernel" --vhost off
	fi
fi
[ -e /sys/class/net/vmmerr0 ] && { echo "local-errors: FAIL a tap was left behind"; fail=$((fail + 1)); }
echo "local-errors: $pass passed, $fail failed"
[ $fail -eq 0 ]
