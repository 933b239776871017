#!/bin/sh
# tests/e2e/scenarios/disk.sh — the 'disk' scenario, run inside L1: vmm
# boots the Fedora-layout test disk (images/build-fedora.sh, carried in as
# /tests/disk/) from its own /boot (the default Boot Loader Specification
# entry, no --kernel), through a qcow2 overlay so the base never changes.
#   1 write   vmmtest=disk-write, --root-password: the guest writes a token
#             and a 16 MiB random file and reboots; vmm names the default
#             entry; the NoCloud seed is vdb and holds the password
#   2 read    vmmtest=disk-read, --cloud-init FILE: the token and the big
#             file's sha256 read back; the seed holds FILE's text
#   -         qemu-img check of the overlay: no errors, no leaks
#   3 seed    vmmtest=seed, a read-only raw disk with a serial, --ssh-key
#             and --root-password: the seed is the last disk (vdc), writes
#             to the read-only disk are refused
#   4 bench   vmmtest=bench, a raw and a qcow2 disk of 128 MiB: 64 MiB
#             O_DIRECT sequential write/read MB/s, the data checked in the
#             guest and again here from the image files
#   -         the base's sha256 is still the one it was built with
# A boot that hangs to its time limit ends the run (the later ones are
# reported as not run); one that died before its init is retried once.
# The guest side is images/fedora-init.sh (its "E2E-DISK..." lines).
E2E_SOURCE_ONLY=1 . /init
# disk__boot (one vmm boot of a test disk) and disk__val
. "$(dirname "$0")/disk-lib.sh"
D=/tests/disk
BASE=$D/fedora-layout.qcow2
W=/tmp/disk
mkdir -p "$W"
fail=
P="E2E-INFO disk:"

if [ ! -f "$BASE" ] || [ ! -f "$D/fedora-layout.manifest" ]; then
	echo "$P the test disk is not in this L1 image (make disk-image, then rebuild L1)"
	exit 1
fi
command -v qemu-img > /dev/null || { echo "$P no qemu-img in this L1 image"; exit 1; }
# shellcheck disable=SC1091
. "$D/fedora-layout.manifest"

base_sha=$(sha256sum "$BASE" | cut -d' ' -f1)
[ "$base_sha" = "$FEDORA_SHA256" ] || fail="$fail base-sha256-differs-from-build"

# Checks every boot shares: vmm exited 0 (reboot and power-off alike), the
# init ran, the default entry was booted (its kernelopts, not another
# entry's options) with -p appended, the root is the image's vda4, btrfs
# in its "root" subvolume (rootflags=subvol=root), read-write.
check_boot()
{
	tag=$1
	mode=$2
	o=$W/$tag.out
	[ "$B_RC" = 0 ] || fail="$fail $tag:vmm-rc=$B_RC"
	[ "$B_INIT" = 1 ] || fail="$fail $tag:no-init"
	grep -aq "E2E-DISK done mode=$mode" "$o" || fail="$fail $tag:guest-not-done"
	grep -aq "E2E-DISK-INITRD-ERROR" "$o" && fail="$fail $tag:initramfs-error"
	grep -aq "E2E-DISK-ERROR" "$o" && fail="$fail $tag:guest-error"
	grep -aq "Kernel panic" "$o" && fail="$fail $tag:panic"
	# vmm's one line naming the entry it boots
	grep -a "^vmm: " "$o" | grep -v "boot marker" | grep -q -- "$FEDORA_KVER" ||
		fail="$fail $tag:vmm-did-not-name-entry-$FEDORA_KVER"
	cl=$(disk__val "$tag" "E2E-DISK cmdline=")
	case " $cl " in
	*" root=UUID=$FEDORA_ROOT_UUID "*) ;;
	*) fail="$fail $tag:no-root-uuid-in-cmdline" ;;
	esac
	case $cl in
	*kernelopts*) fail="$fail $tag:kernelopts-not-expanded" ;;
	esac
	case $cl in
	*e2e_entry=*) fail="$fail $tag:wrong-entry-$(echo "${cl##*e2e_entry=}" | cut -d' ' -f1)" ;;
	esac
	# -p is appended: after the entry's options
	echo "$cl" | awk -v u="root=UUID=$FEDORA_ROOT_UUID" -v m="vmmtest=$mode" '
		{ a = index($0, u); b = index($0, m); exit !(a > 0 && b > a) }' ||
		fail="$fail $tag:params-not-appended"
	r=$(disk__val "$tag" "E2E-DISK root=")
	case $r in
	"/dev/vda4 btrfs rw"*subvol=/root) ;;
	*) fail="$fail $tag:root=$(echo "$r" | tr ' ' _)" ;;
	esac
	grep -aq "^E2E-DISK dev=vda .*parts=4" "$o" || fail="$fail $tag:vda-not-4-partitions"
}

# check_seed TAG DEV: the NoCloud seed is DEV, holds meta-data and
# user-data, and "ds=nocloud" is on the command line.
check_seed()
{
	o=$W/$1.out
	grep -aq "^E2E-DISK-SEED dev=/dev/$2 " "$o" ||
		fail="$fail $1:seed-not-$2($(disk__val "$1" "E2E-DISK-SEED dev=" | cut -d' ' -f1))"
	grep -aq "^E2E-DISK-SEED file=meta-data " "$o" || fail="$fail $1:no-meta-data"
	grep -aq "^E2E-DISK-SEED file=user-data " "$o" || fail="$fail $1:no-user-data"
	grep -aq "^E2E-DISK-SEED meta-data| .*instance-id" "$o" || fail="$fail $1:no-instance-id"
	case " $(disk__val "$1" "E2E-DISK cmdline=") " in
	*" ds=nocloud"*) ;;
	*) fail="$fail $1:no-ds=nocloud" ;;
	esac
}

times=
boot_time()
{
	times="$times $1 ${B_PORT_MS:-?} ms (serial ${B_SERIAL_MS:-?} ms, guest uptime ${B_UPTIME:-?} s);"
}

# 1: write, through an overlay on the base.
stage__write()
{
	rm -f "$ov"
	qemu-img create -q -f qcow2 -b "$BASE" -F qcow2 "$ov" || fail="$fail overlay-create"
	disk__boot write 240 --disk "$ov" --mem 512 --cpus 2 --no-console --boot-markers \
		-p "vmmtest=disk-write" --root-password changeme
	check_boot write disk-write
	check_seed write vdb
	grep -aq "^E2E-DISK-SEED user-data| .*changeme" "$W/write.out" || fail="$fail write:no-password-in-user-data"
	token=$(disk__val write "E2E-DISK token=")
	big=$(disk__val write "E2E-DISK big-sha256=")
	[ -n "$token" ] || fail="$fail write:no-token"
	[ -n "$big" ] || fail="$fail write:no-big-file"
	entry_line=$(grep -a "^vmm: " "$W/write.out" | grep -v "boot marker" | grep -m 1 -- "$FEDORA_KVER")
	boot_time write
}

# 2: read back, with a user-data file for the seed; then the overlay is
# checked.
stage__read()
{
	ud=$W/user-data
	ud_mark="e2e-disk-user-data-$(cat /proc/sys/kernel/random/uuid)"
	printf '#cloud-config\n# %s\nhostname: e2e-disk\n' "$ud_mark" > "$ud"
	disk__boot read 240 --disk "$ov" --mem 512 --cpus 2 --no-console --boot-markers \
		-p "vmmtest=disk-read" --cloud-init "$ud"
	check_boot read disk-read
	check_seed read vdb
	grep -aq "^E2E-DISK-SEED user-data| # $ud_mark" "$W/read.out" || fail="$fail read:user-data-not-from-file"
	got=$(disk__val read "E2E-DISK read=")
	[ -n "$token" ] && [ "$got" = "hello from the vmm disk test token=$token" ] || fail="$fail read:token($got)"
	[ -n "$big" ] && [ "$(disk__val read "E2E-DISK big-sha256=")" = "$big" ] || fail="$fail read:big-file-differs"
	boot_time read

	# The overlay after two boots: consistent, nothing leaked.
	qemu-img check "$ov" > "$W/check.out" 2>&1
	rc=$?
	sed 's/^/L1-QEMU-IMG| /' "$W/check.out"
	[ $rc -eq 0 ] || fail="$fail overlay-check-rc=$rc"
	grep -q "No errors were found" "$W/check.out" || fail="$fail overlay-check-errors"
	grep -qi "leak" "$W/check.out" && fail="$fail overlay-check-leaks"
	ov_kib=$(du -k "$ov" | cut -f1)
}

# 3: the seed is the last disk; a read-only disk with a serial.
stage__seed()
{
	rod=$W/ro.raw
	head -c $((4 * 1024 * 1024)) /dev/zero > "$rod"
	# the public half of a throwaway key (its private half was deleted)
	printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMalvYGBznhbOGlFjjrscfOvoqTffDYpN9byB2aN6Mgg e2e@disk\n' > "$W/id.pub"
	disk__boot seed 240 --disk "$ov" --disk "$rod,format=raw,ro,serial=e2e-ro-disk" \
		--mem 512 --cpus 2 --no-console --boot-markers \
		-p "vmmtest=seed" --root-password s3cret-e2e --ssh-key "$W/id.pub"
	check_boot seed seed
	check_seed seed vdc
	grep -aq "^E2E-DISK dev=vdb .*ro=1 serial=e2e-ro-disk " "$W/seed.out" || fail="$fail seed:ro-disk($(disk__val seed "E2E-DISK dev=vdb " | tr ' ' _))"
	grep -aq "^E2E-DISK ro-write dev=vdb result=refused" "$W/seed.out" || fail="$fail seed:ro-write-not-refused"
	grep -aq "^E2E-DISK-SEED user-data| .*s3cret-e2e" "$W/seed.out" || fail="$fail seed:no-password"
	grep -aq "^E2E-DISK-SEED user-data| .*AAAAC3NzaC1lZDI1NTE5AAAAIMalvYGBznhbOGlFjjrscfOvoqTffDYpN9byB2aN6Mgg" "$W/seed.out" || fail="$fail seed:no-ssh-key"
	[ "$(sha256sum < "$rod" | cut -d' ' -f1)" = "$(head -c $((4 * 1024 * 1024)) /dev/zero | sha256sum | cut -d' ' -f1)" ] ||
		fail="$fail seed:ro-disk-changed"
	boot_time seed
}

# The MBps= of the guest's bench line for DEV SERIAL OP.
bench_mbps()
{
	grep -a "^E2E-DISK-BENCH dev=$1 serial=$2 op=$3 " "$W/bench.out" | tr ' ' '\n' | sed -n 's/^MBps=//p' | head -n 1
}

# 4: sequential throughput, raw and qcow2.
stage__bench()
{
	braw=$W/bench.raw
	bq=$W/bench.qcow2
	rm -f "$braw" "$bq"
	truncate -s 128M "$braw"
	qemu-img create -q -f qcow2 "$bq" 128M || fail="$fail bench-qcow2-create"
	disk__boot bench 420 --disk "$ov" --disk "$braw,format=raw,serial=bench-raw" \
		--disk "$bq,format=qcow2,serial=bench-qcow2" \
		--mem 512 --cpus 2 --no-console --boot-markers -p "vmmtest=bench"
	check_boot bench bench
	case " $(disk__val bench "E2E-DISK cmdline=") " in
	*" ds=nocloud"*) fail="$fail bench:ds=nocloud-without-a-seed" ;;
	esac
	grep -aq "^E2E-DISK-SEED none" "$W/bench.out" || fail="$fail bench:unexpected-seed"
	raw_w=$(bench_mbps vdb bench-raw write); raw_r=$(bench_mbps vdb bench-raw read)
	q_w=$(bench_mbps vdc bench-qcow2 write); q_r=$(bench_mbps vdc bench-qcow2 read)
	for v in raw_w raw_r q_w q_r; do
		eval "x=\$$v"
		[ -n "$x" ] || fail="$fail bench:no-$v"
	done
	grep -aq "^E2E-DISK-BENCH dev=vdb verify=ok" "$W/bench.out" || fail="$fail bench:raw-verify"
	grep -aq "^E2E-DISK-BENCH dev=vdc verify=ok" "$W/bench.out" || fail="$fail bench:qcow2-verify"
	# The same bytes, seen from here: the raw file's first 64 MiB are the
	# guest's pattern, the qcow2 holds what the raw file holds, and is clean.
	psha=$(grep -a -m 1 "^E2E-DISK-BENCH pattern " "$W/bench.out" | tr ' ' '\n' | sed -n 's/^sha256=//p')
	pmb=$(grep -a -m 1 "^E2E-DISK-BENCH pattern " "$W/bench.out" | tr ' ' '\n' | sed -n 's/^MB=//p')
	if [ -n "$psha" ] && [ -n "$pmb" ]; then
		[ "$(head -c $((pmb * 1024 * 1024)) "$braw" | sha256sum | cut -d' ' -f1)" = "$psha" ] ||
			fail="$fail bench:raw-file-content"
		qemu-img compare -q -f raw -F qcow2 "$braw" "$bq" || fail="$fail bench:qcow2-differs-from-raw"
	else
		fail="$fail bench:no-pattern-line"
	fi
	qemu-img check -q "$bq" || fail="$fail bench:qcow2-check"
	bq_kib=$(du -k "$bq" | cut -f1)
	boot_time bench
}

ov=$W/overlay.qcow2
# A boot that hung to its time limit stops the run: the next ones would
# most likely hang too, past the scenario's own limit.
stop=
for stage in write read seed bench; do
	if [ -n "$stop" ]; then
		fail="$fail $stage:not-run"
		continue
	fi
	"stage__$stage"
	[ "$B_KILLED" = 1 ] && stop=$stage
done

# The base is as built.
[ "$(sha256sum "$BASE" | cut -d' ' -f1)" = "$base_sha" ] || fail="$fail base-changed"

st=pass; [ -n "$fail" ] && st=fail
echo "$P $st; default entry $FEDORA_DEFAULT_ENTRY; vmm said: ${entry_line:-nothing}"
echo "$P boot (vmm start to init marker, port 0x80):$times"
echo "$P sequential 64 MiB O_DIRECT, MB/s: raw write ${raw_w:-?} read ${raw_r:-?}; qcow2 write ${q_w:-?} read ${q_r:-?} (nested TCG)"
case " $fail " in
*" base-changed "*) base_st="CHANGED" ;;
*) base_st="unchanged" ;;
esac
echo "$P overlay ${ov_kib:-?} KiB after 2 boots (16 MiB file written), bench qcow2 ${bq_kib:-?} KiB; base sha256 $(echo "$base_sha" | cut -c 1-12)... $base_st"
echo "$P missing: ${fail:-none}"
rm -f "$braw" "$bq" "$rod"
[ "$st" = pass ] && exit 0
e2e__dmesg_tail 20
exit 1
