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

rm -rf "$tmp"
echo "guests: $pass passed, $fail failed"
[ $fail -eq 0 ]
