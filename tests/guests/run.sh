#!/bin/sh
# run.sh — run the tiny test guests and check what they print.
#   run.sh --probe          exit 0 if /dev/kvm can be opened here
#   run.sh GUESTDIR VMM     run all guests; prints "guests: N passed, N failed"
# Used locally and inside the nested test host (same script).
if [ "$1" = "--probe" ]; then
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]
	exit $?
fi
dir=$1; vmm=$2
pass=0; fail=0
check() { # name, output file, expected substrings...
	name=$1; out=$2; shift 2
	for want in "$@"; do
		if ! grep -qF -- "$want" "$out"; then
			echo "guests: FAIL $name: missing '$want'"; sed 's/^/    /' "$out"
			fail=$((fail + 1)); return
		fi
	done
	echo "guests: PASS $name"; pass=$((pass + 1))
}
tmp=${TMPDIR:-/tmp}/guests.$$
mkdir -p "$tmp"

timeout 60 "$dir/guest_runner" "$dir/rm_io.bin" >"$tmp/rm.out" 2>&1
echo "exit=$?" >>"$tmp/rm.out"
check real-mode "$tmp/rm.out" "rm_io: hello from real mode" "rm_io: ebx=C0FFEE42" \
	"rm_io: memory pattern ok" "rm_io: unclaimed port reads 0xff" "rm_io: done" \
	"boot marker 0x42" "guest reboot (keyboard controller reset)" "exit=0"

timeout 60 "$vmm" run --kernel "$dir/lm_boot.elf" --mem 256 --params "hello tiny guest" \
	--no-console --boot-markers >"$tmp/lm.out" 2>&1 </dev/null
echo "exit=$?" >>"$tmp/lm.out"
check long-mode-256M "$tmp/lm.out" "lm_boot: paging and EFER.LMA on" \
	"lm_boot: zero page at 0x7000 with HdrS" "lm_boot: cmdline=[hello tiny guest]" \
	"lm_boot: e820 ram=256 MiB" "lm_boot: memory test passed" "lm_boot: done" \
	"boot marker 0x42" "exit=0"

# More RAM than fits below the PCI hole: two memory slots, e820 above 4 GiB.
timeout 60 "$vmm" run --kernel "$dir/lm_boot.elf" --mem 4G --cpus 2 --params "big" \
	--no-console >"$tmp/lm4.out" 2>&1 </dev/null
echo "exit=$?" >>"$tmp/lm4.out"
check long-mode-4G "$tmp/lm4.out" "lm_boot: cmdline=[big]" "lm_boot: e820 ram=4096 MiB" \
	"lm_boot: memory test passed" "exit=0"

# The NIC: nic_tx finds the virtio-net function by PCI enumeration, sets up
# its TX queue and sends one frame by polling; frame_recv must see the frame
# (ethertype 0x88b5, this run's token) arrive on the tap vmm created. host-ip
# makes vmm set the tap up (a frame written into a tap that is down is
# dropped). frame_recv listens before vmm starts (it says so on fd 3).
nic_tap=vnet0
nic_token="nic-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
	echo "guests: SKIP nic-tx (needs root and /dev/net/tun)"
elif [ -e "/sys/class/net/$nic_tap" ]; then
	echo "guests: FAIL nic-tx: $nic_tap exists before the test"; fail=$((fail + 1))
else
	mkfifo "$tmp/ready"
	"$dir/frame_recv" "$nic_tap" "vmm-nic-tx-test $nic_token" 60 3 \
		3>"$tmp/ready" >"$tmp/recv.out" 2>&1 &
	recv_pid=$!
	if read -r _ <"$tmp/ready"; then
		timeout 60 "$vmm" run --kernel "$dir/nic_tx.elf" --mem 128 --no-console \
			--net "tap=$nic_tap,mac=02:ca:fe:00:00:01,host-ip=10.99.0.1/24" \
			--params "$nic_token" >"$tmp/nic.out" 2>&1 </dev/null
		rc=$?
		echo "exit=$rc" >>"$tmp/nic.out"
		# The frame reached the tap before the guest saw its used entry,
		# so frame_recv is done by now unless it never came.
		[ $rc -eq 0 ] || kill "$recv_pid" 2>/dev/null
	else
		echo "frame_recv did not start" >>"$tmp/nic.out"
	fi
	wait "$recv_pid"
	echo "recv_exit=$?" >>"$tmp/nic.out"
	cat "$tmp/recv.out" >>"$tmp/nic.out"
	if [ -e "/sys/class/net/$nic_tap" ]; then
		echo "tap $nic_tap still exists" >>"$tmp/nic.out"
	else
		echo "tap $nic_tap removed" >>"$tmp/nic.out"
	fi
	check nic-tx "$tmp/nic.out" "nic_tx: found 1af4:1041 at 00:" \
		"nic_tx: features ok (VERSION_1 only)" "nic_tx: mac 02:ca:fe:00:00:01" \
		"nic_tx: token $nic_token" "nic_tx: driver ok" "nic_tx: frame sent, used len=" \
		"nic_tx: done" "exit=0" "recv_exit=0" \
		"frame_recv: got 60 bytes from 02:ca:fe:00:00:01 on $nic_tap" "tap $nic_tap removed"
fi

rm -rf "$tmp"
echo "guests: $pass passed, $fail failed"
[ $fail -eq 0 ]
