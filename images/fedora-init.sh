#!/bin/sh
# images/fedora-init.sh — /sbin/init on the root file system of every
# test disk (images/build-fedora.sh: the Fedora 40-43 and 44+ layouts;
# images/build-debian-cloud.sh: the Debian/Ubuntu cloud layout), started
# by the disk's own initramfs (images/fedora-initrd-init.sh) after
# switch_root.
#
# Remounts / read-write, writes boot marker 0x42 to I/O port 0x80, prints
# what it sees, one "E2E-DISK..." line per fact (parsed by
# tests/e2e/scenarios/disk.sh):
#   E2E-DISK uptime=S                 guest time from kernel start to here
#   E2E-DISK cmdline=...              the kernel command line
#   E2E-DISK root=DEV TYPE OPTIONS    / as mounted (/dev/vda4 btrfs
#                                     rw,...,subvol=/root)
#   E2E-DISK dev=vdX sectors=N ro=0|1 serial=S parts=N
#   E2E-DISK-SEED ...                 the NoCloud seed disk (label CIDATA)
# then does what vmmtest= on the kernel command line asks:
#   disk-write   write /data/hello.txt (a fresh random token) and a 16 MiB
#                random file, print both, reboot
#   disk-read    print /data/hello.txt and the big file's sha256, power off
#   seed         (the seed lines only) try a write to each read-only disk,
#                power off
#   bench        sequential O_DIRECT write then read of 64 MiB on every disk
#                but vda, timed, the data checked; power off
#   layout       mount what /etc/fstab names besides / (tests/e2e/scenarios/
#                layouts.sh), one line each:
#                  E2E-DISK fstab=MOUNTPOINT DEV TYPE OPTIONS
#                  E2E-DISK boot-files=NAME...   what /boot then holds
#                unmount them, power off
#   (none)       an interactive shell; leaving it powers off

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root TERM="${TERM:-linux}"

mount -t proc proc /proc
mount -t sysfs sysfs /sys
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -o remount,rw / || echo "E2E-DISK-ERROR cannot remount / read-write"

# Boot marker for the VMM's port-0x80 recorder (byte 0x42 = "init reached").
printf '\102' | dd of=/dev/port bs=1 seek=128 count=1 conv=notrunc 2>/dev/null

read -r up _ < /proc/uptime
# shellcheck disable=SC1091 # the image's own file
. /etc/os-release
echo "E2E-DISK uptime=$up"
echo "E2E-DISK os=\"$PRETTY_NAME\" kernel=$(uname -r) cpus=$(nproc) mem_kb=$(awk '/MemTotal/ { print $2 }' /proc/meminfo)"
echo "E2E-DISK cmdline=$(cat /proc/cmdline)"
echo "E2E-DISK root=$(awk '$2 == "/" && $1 != "rootfs" { print $1 " " $3 " " $4 }' /proc/mounts | tail -n 1)"
hostname "$(cat /etc/hostname)"

mode=shell
# shellcheck disable=SC2013 # words, not lines
for w in $(cat /proc/cmdline); do
	case $w in
	vmmtest=*) mode=${w#vmmtest=} ;;
	esac
done

for b in /sys/block/vd*; do
	[ -e "$b" ] || continue
	d=${b##*/}
	s=$(cat "$b/serial" 2>/dev/null)
	n=$(ls -d "$b/$d"[0-9]* 2>/dev/null | wc -l)
	echo "E2E-DISK dev=$d sectors=$(cat "$b/size") ro=$(cat "$b/ro") serial=${s:-none} parts=$n"
done

# The NoCloud seed: the disk labelled CIDATA (findfs, else any vdX that
# mounts as vfat with a meta-data file). Each file's lines are printed as
# "E2E-DISK-SEED NAME| LINE".
seed_dump()
{
	mkdir -p /run/seed
	dev=$(findfs LABEL=CIDATA 2>/dev/null)
	if [ -z "$dev" ]; then
		for d in /dev/vd[a-z]; do
			[ -b "$d" ] || continue
			mount -t vfat -o ro "$d" /run/seed 2>/dev/null || continue
			[ -f /run/seed/meta-data ] && dev=$d
			umount /run/seed
			[ -n "$dev" ] && break
		done
	fi
	if [ -z "$dev" ]; then
		echo "E2E-DISK-SEED none"
		return
	fi
	if ! mount -t vfat -o ro "$dev" /run/seed; then
		echo "E2E-DISK-SEED dev=$dev mount-failed"
		return
	fi
	echo "E2E-DISK-SEED dev=$dev files=$(ls /run/seed | tr '\n' ',')"
	for f in /run/seed/*; do
		[ -f "$f" ] || continue
		n=${f##*/}
		echo "E2E-DISK-SEED file=$n bytes=$(wc -c < "$f")"
		sed "s/^/E2E-DISK-SEED $n| /" "$f"
		# a last line without a newline still ends this one
		[ -z "$(tail -c 1 "$f")" ] || echo
	done
	umount /run/seed
}
seed_dump

# MB/s (10^6 bytes per second) for BYTES moved between two /proc/uptime reads.
mbps()
{
	awk -v b="$1" -v t0="$2" -v t1="$3" 'BEGIN { dt = t1 - t0; if (dt < 0.01) dt = 0.01; printf "%.1f", b / 1e6 / dt }'
}

now()
{
	read -r t _ < /proc/uptime
	echo "$t"
}

bench()
{
	mb=64
	bytes=$((mb * 1024 * 1024))
	# Random data (made once, in RAM) so that nothing along the way can
	# shortcut zeros, and the read-back can be checked.
	head -c "$bytes" /dev/urandom > /tmp/pattern
	want=$(sha256sum < /tmp/pattern | cut -d' ' -f1)
	echo "E2E-DISK-BENCH pattern MB=$mb sha256=$want"
	for b in /sys/block/vd*; do
		d=${b##*/}
		[ "$d" = vda ] && continue
		[ "$(cat "$b/ro")" = 0 ] || continue
		s=$(cat "$b/serial" 2>/dev/null)
		t0=$(now)
		if ! dd if=/tmp/pattern of="/dev/$d" bs=1M count=$mb oflag=direct conv=fsync 2>/tmp/dd.err; then
			echo "E2E-DISK-BENCH dev=$d op=write error=\"$(tail -n 1 /tmp/dd.err)\""
			continue
		fi
		t1=$(now)
		echo "E2E-DISK-BENCH dev=$d serial=${s:-none} op=write MB=$mb seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') MBps=$(mbps $bytes "$t0" "$t1")"
		echo 3 > /proc/sys/vm/drop_caches
		t0=$(now)
		if ! dd if="/dev/$d" of=/dev/null bs=1M count=$mb iflag=direct 2>/tmp/dd.err; then
			echo "E2E-DISK-BENCH dev=$d op=read error=\"$(tail -n 1 /tmp/dd.err)\""
			continue
		fi
		t1=$(now)
		echo "E2E-DISK-BENCH dev=$d serial=${s:-none} op=read MB=$mb seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') MBps=$(mbps $bytes "$t0" "$t1")"
		got=$(dd if="/dev/$d" bs=1M count=$mb iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
		if [ "$got" = "$want" ]; then
			echo "E2E-DISK-BENCH dev=$d verify=ok"
		else
			echo "E2E-DISK-BENCH dev=$d verify=bad sha256=$got want=$want"
		fi
	done
	rm -f /tmp/pattern
}

# A write to every read-only disk must fail.
ro_writes()
{
	for b in /sys/block/vd*; do
		d=${b##*/}
		[ "$(cat "$b/ro")" = 1 ] || continue
		if dd if=/dev/zero of="/dev/$d" bs=4096 count=1 oflag=direct 2>/dev/null; then
			echo "E2E-DISK ro-write dev=$d result=succeeded"
		else
			echo "E2E-DISK ro-write dev=$d result=refused"
		fi
	done
}

# The file systems /etc/fstab names besides /, mounted in its order as a
# distribution's boot would (each by its UUID= or PARTUUID=, so this shows
# that the layout's fstab is right), then unmounted in reverse order.
# busybox mount resolves UUID= and LABEL=, /lib/partuuid.sh PARTUUID=.
fstab_mounts()
{
	# shellcheck disable=SC1091 # the image's own file
	. /lib/partuuid.sh
	mounted=
	while read -r spec mp type opts _; do
		case $spec in ''|\#*) continue ;; esac
		[ "$mp" = / ] && continue
		mkdir -p "$mp"
		case $spec in
		PARTUUID=*)
			set -- -t "$type" -o "$opts" "$(part_by_partuuid "${spec#PARTUUID=}")" "$mp" ;;
		*)
			set -- "$mp" ;;
		esac
		if mount "$@" 2>/tmp/mount.err; then
			echo "E2E-DISK fstab=$mp $(awk -v m="$mp" '$2 == m { print $1 " " $3 " " $4 }' /proc/mounts | tail -n 1)"
			mounted="$mp $mounted"
		else
			echo "E2E-DISK fstab=$mp failed: $(head -n 1 /tmp/mount.err)"
		fi
	done < /etc/fstab
	echo "E2E-DISK boot-files=$(ls /boot | tr '\n' ' ')"
	for mp in $mounted; do
		umount "$mp" || echo "E2E-DISK-ERROR cannot unmount $mp"
	done
}

case $mode in
disk-write)
	token=$(cat /proc/sys/kernel/random/uuid)
	mkdir -p /data
	echo "hello from the vmm disk test token=$token" > /data/hello.txt
	head -c $((16 * 1024 * 1024)) /dev/urandom > /data/big.bin
	sync
	echo "E2E-DISK token=$token"
	echo "E2E-DISK big-sha256=$(sha256sum < /data/big.bin | cut -d' ' -f1)"
	# Clean file system for the next boot, as a shutdown would leave it.
	mount -o remount,ro / || echo "E2E-DISK-ERROR cannot remount / read-only"
	sync
	echo "E2E-DISK done mode=disk-write"
	reboot -f
	;;
disk-read)
	if [ -f /data/hello.txt ]; then
		echo "E2E-DISK read=$(cat /data/hello.txt)"
	else
		echo "E2E-DISK read=missing"
	fi
	if [ -f /data/big.bin ]; then
		echo "E2E-DISK big-sha256=$(sha256sum < /data/big.bin | cut -d' ' -f1)"
	else
		echo "E2E-DISK big-sha256=missing"
	fi
	echo "E2E-DISK done mode=disk-read"
	;;
seed)
	ro_writes
	echo "E2E-DISK done mode=seed"
	;;
bench)
	bench
	echo "E2E-DISK done mode=bench"
	;;
layout)
	fstab_mounts
	echo "E2E-DISK done mode=layout"
	;;
shell)
	echo "vmm test disk ($PRETTY_NAME); type 'exit' (or press Ctrl-D) to power off."
	setsid cttyhack sh -l
	;;
*)
	echo "E2E-DISK-ERROR unknown vmmtest=$mode"
	;;
esac

mount -o remount,ro / 2>/dev/null
sync
poweroff -f
# poweroff -f returns only if the power-off did not happen.
echo "E2E-DISK-ERROR poweroff failed"
sleep 3600
