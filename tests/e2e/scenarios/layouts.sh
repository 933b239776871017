#!/bin/sh
# tests/e2e/scenarios/layouts.sh — the 'layouts' scenario, run inside L1:
# vmm boots each of the three disk layouts cloud images use, straight from
# the disk (no --kernel), with its disk-boot sizes (no --mem/--cpus:
# 1 GiB, 2 vCPUs), through a qcow2 overlay so the base never changes:
#   f40     Fedora 40-43: /boot on ext4 (vda3), / in btrfs subvolume root
#           (images/build-fedora.sh)
#   f44     Fedora 44+: one btrfs (vda3), flat subvolumes root, boot, home,
#           var; BLS entries in the boot subvolume, zstd extents
#           (images/build-fedora.sh --layout f44)
#   debian  Debian/Ubuntu cloud: ext4 root at partition 1 after 14 (BIOS
#           boot) and 15 (ESP), no BLS, /boot/grub/grub.cfg; the root is
#           root=PARTUUID= (images/build-debian-cloud.sh)
# For each: vmm's "booting '...' from ..." line names the entry's title,
# partition/subvolume and kernel, and the disk-boot sizes; the guest ran
# the disk's initramfs (its E2E-DISK-INITRD lines) and then the root's
# /sbin/init (E2E-DISK lines, images/fedora-init.sh, vmmtest=layout); the
# guest's /proc/cmdline is the entry's options with -p appended; / is the
# right partition, file system and subvolume, and so is every fstab line
# the guest mounts; the guest powers off and vmm exits 0; the base is as
# built. The Fedora 44 boot line is printed as an E2E-INFO line.
# E2E_LAYOUTS picks the layouts (default: all three); the nested aarch64
# host runs f44 and f40 (tests/e2e/l1-init-arm64.sh), with the same disks
# built for arm64 (images/build-fedora.sh --arch arm64). Its L1 has no
# qemu-img: each boot writes to a copy of the base instead of an overlay.
# A boot that hangs to its time limit ends the run (the later layouts are
# reported as not run); one that died before its init is retried once.
E2E_SOURCE_ONLY=1 . /init
# disk__boot (one vmm boot of a test disk) and disk__val
. "$(dirname "$0")/disk-lib.sh"
D=/tests/disk
W=/tmp/layouts
mkdir -p "$W"
fail=
times=
P="E2E-INFO layouts:"

# has TAG PREFIX: boot TAG printed a line starting with PREFIX.
has()
{
	grep -aq "^$2" "$W/$1.out"
}

# line_no TAG PREFIX: the number of the first line starting with PREFIX.
line_no()
{
	grep -an -m 1 "^$2" "$W/$1.out" | cut -d: -f1
}

# layout__boot TAG IMAGE: boot IMAGE (in /tests/disk) once through a fresh
# overlay, as a user would: only the disk, the console kept off this
# terminal, the boot markers, and the test mode for the guest's init.
layout__boot()
{
	ov=$W/$1.qcow2
	rm -f "$ov"
	if command -v qemu-img > /dev/null; then
		qemu-img create -q -f qcow2 -b "$D/$2" -F qcow2 "$ov" || { fail="$fail $1:overlay-create"; return 1; }
	else
		cp "$D/$2" "$ov" || { fail="$fail $1:copy"; return 1; }
	fi
	disk__boot "$1" 240 --disk "$ov" --no-console --boot-markers -p vmmtest=layout
}

# layout__check TAG TITLE FROM KERNEL CMDLINE ROOT [FSTAB...]: the checks
# above for boot TAG. FROM and KERNEL: what vmm's line says after "from"
# and after ": "; CMDLINE: the entry's options; ROOT: "/dev/vdaN TYPE"
# (and ",subvol=/S" to end the mount options); each FSTAB
# "MOUNTPOINT /dev/vdaN TYPE[ ...,subvol=/S]" a line the guest mounted.
layout__check()
{
	tag=$1 title=$2 from=$3 kernel=$4 cmdline=$5 root=$6
	shift 6
	o=$W/$tag.out
	[ "$B_RC" = 0 ] || fail="$fail $tag:vmm-rc=$B_RC"
	[ "$B_INIT" = 1 ] || fail="$fail $tag:no-init"
	grep -aq "E2E-DISK-INITRD-ERROR" "$o" && fail="$fail $tag:initramfs-error"
	grep -aq "E2E-DISK-ERROR" "$o" && fail="$fail $tag:guest-error"
	grep -aq "Kernel panic" "$o" && fail="$fail $tag:panic"
	bl=$(grep -a -m 1 "^vmm: booting '" "$o")
	case $bl in
	"vmm: booting '$title' from $from: $kernel (1024 MiB, 2 vCPUs"*) ;;
	*) fail="$fail $tag:boot-line" ;;
	esac
	# the initramfs, then the root's init: both ran, in that order
	i0=$(line_no "$tag" "E2E-DISK-INITRD start")
	i1=$(line_no "$tag" "E2E-DISK-INITRD root=")
	i2=$(line_no "$tag" "E2E-DISK uptime=")
	[ -n "$i0" ] || fail="$fail $tag:initramfs-did-not-start"
	[ -n "$i1" ] || fail="$fail $tag:initramfs-did-not-mount-root"
	[ -n "$i0" ] && [ -n "$i1" ] && [ -n "$i2" ] && [ "$i0" -lt "$i1" ] && [ "$i1" -lt "$i2" ] ||
		fail="$fail $tag:initramfs-then-init-order"
	[ "$(disk__val "$tag" "E2E-DISK cmdline=")" = "$cmdline vmmtest=layout" ] ||
		fail="$fail $tag:cmdline-not-the-entry's"
	case " $(disk__val "$tag" "E2E-DISK os=") " in
	*" cpus=2 "*) ;;
	*) fail="$fail $tag:not-2-cpus" ;;
	esac
	r=$(disk__val "$tag" "E2E-DISK root=")
	case $r in
	"${root%%,*} rw"*"${root#"${root%%,*}"}") ;;
	*) fail="$fail $tag:root=$(echo "$r" | tr ' ' _)" ;;
	esac
	for f in "$@"; do
		mp=${f%% *}
		m=$(disk__val "$tag" "E2E-DISK fstab=$mp ")
		want=${f#* }
		case "$mp $m" in
		"$mp ${want%%,*} "*"${want#"${want%%,*}"}") ;;
		*) fail="$fail $tag:fstab$mp=$(echo "$m" | tr ' ' _)" ;;
		esac
	done
	has "$tag" "E2E-DISK done mode=layout" || fail="$fail $tag:guest-not-done"
	times="$times $tag ${B_PORT_MS:-?} ms (serial ${B_SERIAL_MS:-?} ms, guest uptime ${B_UPTIME:-?} s, vmm exit after ${B_WALL_MS:-?} ms);"
}

# layout__base IMAGE SHA256: the base is the image the manifest describes,
# and (called again at the end) still is.
layout__base()
{
	[ "$(sha256sum "$D/$1" | cut -d' ' -f1)" = "$2" ] || fail="$fail $1:base-sha256"
}

layout__f40()
{
	# shellcheck disable=SC1091
	. "$D/fedora-layout.manifest"
	layout__base fedora-layout.qcow2 "$FEDORA_SHA256"
	layout__boot f40 fedora-layout.qcow2 || return
	layout__check f40 "Fedora Linux ($FEDORA_KVER) 40 (Cloud Edition)" "vda3 (ext4 /boot)" \
		"/vmlinuz-$FEDORA_KVER" "$FEDORA_KERNELOPTS" "/dev/vda4 btrfs,subvol=/root" \
		"/boot /dev/vda3 ext4" "/home /dev/vda4 btrfs,subvol=/home" \
		"/var /dev/vda4 btrfs,subvol=/var" "/boot/efi /dev/vda2 vfat"
	layout__base fedora-layout.qcow2 "$FEDORA_SHA256"
}

layout__f44()
{
	# shellcheck disable=SC1091
	. "$D/fedora44-layout.manifest"
	layout__base fedora44-layout.qcow2 "$FEDORA_SHA256"
	layout__boot f44 fedora44-layout.qcow2 || return
	layout__check f44 "Fedora Linux ($FEDORA_KVER) 44 (Cloud Edition)" "vda3 (btrfs subvolume boot)" \
		"/boot/vmlinuz-$FEDORA_KVER" "$FEDORA_KERNELOPTS" "/dev/vda3 btrfs,subvol=/root" \
		"/boot /dev/vda3 btrfs,subvol=/boot" "/home /dev/vda3 btrfs,subvol=/home" \
		"/var /dev/vda3 btrfs,subvol=/var" "/boot/efi /dev/vda2 vfat"
	# /boot as fstab mounts it is the subvolume vmm took the kernel from
	case " $(disk__val f44 "E2E-DISK boot-files=") " in
	*" vmlinuz-$FEDORA_KVER "*) ;;
	*) fail="$fail f44:kernel-not-in-boot-subvolume" ;;
	esac
	f44_line=$(grep -a -m 1 "^vmm: booting '" "$W/f44.out")
	layout__base fedora44-layout.qcow2 "$FEDORA_SHA256"
}

layout__debian()
{
	# shellcheck disable=SC1091
	. "$D/debian-cloud-layout.manifest"
	layout__base debian-cloud-layout.qcow2 "$DEBIAN_SHA256"
	layout__boot debian debian-cloud-layout.qcow2 || return
	layout__check debian "$DEBIAN_DEFAULT_TITLE" "vda1 (ext4 /, grub.cfg default=0)" \
		"/boot/vmlinuz-$DEBIAN_KVER" "$DEBIAN_CMDLINE" "/dev/vda1 ext4" \
		"/boot/efi /dev/vda15 vfat"
	has debian "E2E-DISK-INITRD root=PARTUUID=$DEBIAN_ROOT_PARTUUID dev=/dev/vda1 " ||
		fail="$fail debian:root-not-found-by-partuuid"
	layout__base debian-cloud-layout.qcow2 "$DEBIAN_SHA256"
}

stop=
for l in ${E2E_LAYOUTS:-f44 debian f40}; do
	case $l in
	f40) m=fedora-layout ;;
	f44) m=fedora44-layout ;;
	debian) m=debian-cloud-layout ;;
	esac
	if [ ! -f "$D/$m.qcow2" ] || [ ! -f "$D/$m.manifest" ]; then
		fail="$fail $l:not-in-image"
		echo "$P $m is not in this L1 image (make disk-image, then rebuild L1)"
		continue
	fi
	if [ -n "$stop" ]; then
		fail="$fail $l:not-run"
		continue
	fi
	B_KILLED=0
	"layout__$l"
	[ "$B_KILLED" = 1 ] && stop=$l
	rm -f "$W/$l.qcow2"
done

st=pass; [ -n "$fail" ] && st=fail
echo "$P $st; Fedora 44 layout, vmm said: ${f44_line:-nothing}"
echo "$P boot (vmm start to init marker, port 0x80; 1 GiB, 2 vCPUs):$times"
echo "$P missing: ${fail:-none}"
[ "$st" = pass ] && exit 0
e2e__dmesg_tail 20
exit 1
