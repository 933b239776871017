#!/bin/sh
# tests/e2e/scenarios/startloop.sh — start and end many tiny VMs in a row
# (the lm_boot ELF, well under a second each): a stress test of VM
# creation and teardown. N from vmmtest_n= (default 200).
E2E_SOURCE_ONLY=1 . /init
n=200
for w in $(cat /proc/cmdline); do case $w in vmmtest_n=*) n=${w#*=} ;; esac; done
G=/tests/guests/build/lm_boot.elf
ok=0
i=0
while [ $i -lt "$n" ]; do
	i=$((i + 1))
	if timeout 30 "$VMM" run --kernel "$G" --mem 128 --cpus 2 --no-console < /dev/null > /tmp/vm.out 2>&1 &&
	   grep -q "lm_boot: done" /tmp/vm.out; then
		ok=$((ok + 1))
	else
		echo "startloop: run $i failed:"; sed 's/^/  /' /tmp/vm.out
	fi
	[ $((i % 50)) -eq 0 ] && echo "startloop: $i runs, $ok ok"
done
echo "E2E-INFO startloop: $ok of $n VM starts ok"
[ $ok -eq "$n" ]
