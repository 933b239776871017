#!/bin/sh
# install-deps.sh — install the Debian packages vmm builds and tests with.
# Runs apt-get only when something is missing, so it is quick (and works
# offline) on a machine that already has everything.
#
# Three packages come from Debian's bookworm-backports suite, because the
# test harness needs newer versions than Debian 12 ships:
#   qemu-system-x86, qemu-utils  10.0: the nested test host (QEMU 7.2's TCG
#                                emulation of AMD SVM has world-switch bugs,
#                                docs/running.md "Nested TCG flakes")
#   btrfs-progs                  6.14: `mkfs.btrfs --rootdir --subvol` builds
#                                the Fedora-44-layout test disks without root
#                                or loop devices (6.2 cannot make subvolumes)
# plus the 6.12 kernel as a second guest kernel (installed beside 6.1, whose
# linux-image-amd64 stays the default). The suite is added as one sources
# entry on the machine's own Debian mirror and pinned at priority 100, so
# nothing else is ever upgraded from it: only what is named with
# `-t bookworm-backports` comes from there.
set -e
PKGS="build-essential make pkg-config linux-libc-dev libfdt-dev libcmocka-dev
e2fsprogs libext2fs-dev iperf3 sockperf ethtool
linux-image-amd64 busybox-static cpio gzip xz-utils zstd kmod iproute2 pciutils acpica-tools gnuplot-nox
libzstd-dev zlib1g-dev liblzo2-dev mtools dosfstools fdisk mmdebstrap
openssh-client"
# libseccomp: the per-thread system call filters (vmm/seccomp.c);
# liburing (2.3; its liburing.a links build/vmm-static): the datapath's
# batched tap writes (devices/net/tap_uring.c);
# clang with its sanitizer and libFuzzer runtimes: tests/fuzz
PKGS="$PKGS libseccomp-dev liburing-dev clang libclang-rt-dev"
# package:minimum-version, from bookworm-backports
BPO_PKGS="qemu-system-x86:1:10.0 qemu-utils:1:10.0 btrfs-progs:6.4"
# the backports kernel: a versioned package, found through the metapackage
BPO_KERNEL_META=linux-image-amd64
BPO_KERNEL_MIN=6.12

SOURCES=/etc/apt/sources.list.d/vmm-bookworm-backports.sources
PIN=/etc/apt/preferences.d/vmm-bookworm-backports

deps__log()
{
	echo "install-deps: $*"
}

deps__installed_version()
{
	dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null |
		awk '$1 == "install" && $2 == "ok" && $3 == "installed" { print $4 }'
}

# deps__mirror: the URI of the machine's own entry for the bookworm suite,
# from deb822 .sources files or one-line sources.list files.
deps__mirror()
{
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] && [ "$f" != "$SOURCES" ] || continue
		# stanzas are separated by blank lines; take the first whose Suites
		# has the word bookworm and whose Types has deb
		awk 'BEGIN { RS = ""; FS = "\n" }
		{
			uri = ""; suite = 0; deb = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
				if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) suite = 1
				if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
			}
			if (uri != "" && suite && deb) { print uri; exit }
		}' "$f"
	done | head -n 1 | grep . && return 0
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == "bookworm") { print $i; exit }
		}' | grep .
}

# deps__backports_enable: write the sources entry and the pin (once).
deps__backports_enable()
{
	if [ -e "$SOURCES" ] && [ -e "$PIN" ]; then
		return 1
	fi
	mirror=$(deps__mirror) || {
		deps__log "error: no Debian bookworm entry in /etc/apt/sources.list* to take the mirror from"
		exit 1
	}
	deps__log "enabling bookworm-backports from $mirror (pinned: only named packages come from it)"
	cat > "$SOURCES" <<-EOF
	# Added by vmm's images/install-deps.sh: Debian 12 backports, the machine's mirror.
	Types: deb
	URIs: $mirror
	Suites: bookworm-backports
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	cat > "$PIN" <<-EOF
	# Added by vmm's images/install-deps.sh: nothing is upgraded from
	# backports unless asked for with -t bookworm-backports.
	Package: *
	Pin: release n=bookworm-backports
	Pin-Priority: 100
	EOF
	return 0
}

# deps__bpo_kernel: the versioned kernel package the backports metapackage
# depends on (e.g. linux-image-6.12.57+deb12-amd64).
deps__bpo_kernel()
{
	apt-cache show "$BPO_KERNEL_META/bookworm-backports" 2>/dev/null |
		sed -n 's/^Depends: *//p' | head -n 1 | tr ',' '\n' |
		sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1
}

deps__have_bpo_kernel()
{
	for k in /boot/vmlinuz-*; do
		[ -e "$k" ] || continue
		v=${k#/boot/vmlinuz-}
		[ -d "/lib/modules/$v/kernel" ] || continue
		dpkg --compare-versions "${v%%-*}" ge "$BPO_KERNEL_MIN" && return 0
	done
	return 1
}

missing=""
for p in $PKGS; do
	[ -n "$(deps__installed_version "$p")" ] || missing="$missing $p"
done
bpo_missing=""
for pv in $BPO_PKGS; do
	p=${pv%%:*}
	min=${pv#*:}
	v=$(deps__installed_version "$p")
	if [ -z "$v" ] || ! dpkg --compare-versions "$v" ge "$min"; then
		bpo_missing="$bpo_missing $p"
	fi
done
need_kernel=0
deps__have_bpo_kernel || need_kernel=1

if [ -z "$missing" ] && [ -z "$bpo_missing" ] && [ $need_kernel -eq 0 ]; then
	deps__log "all packages present"
	exit 0
fi
[ "$(id -u)" = 0 ] || {
	deps__log "need root to install packages (run as root or via sudo):$missing$bpo_missing"
	exit 1
}
export DEBIAN_FRONTEND=noninteractive
deps__backports_enable || true
apt-get update -q
if [ -n "$missing" ]; then
	deps__log "installing:$missing"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi
if [ -n "$bpo_missing" ]; then
	deps__log "installing from bookworm-backports:$bpo_missing"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends -t bookworm-backports $bpo_missing
fi
if [ $need_kernel -eq 1 ]; then
	k=$(deps__bpo_kernel)
	[ -n "$k" ] || { deps__log "error: no $BPO_KERNEL_META in bookworm-backports"; exit 1; }
	deps__log "installing the second guest kernel from bookworm-backports: $k"
	# PKG/SUITE, not -t: -t would also upgrade the linux-image-amd64
	# metapackage (and so the default kernel) to the backports one.
	apt-get install -y -q --no-install-recommends "$k/bookworm-backports"
fi
for pv in $BPO_PKGS; do
	deps__log "${pv%%:*} $(deps__installed_version "${pv%%:*}")"
done
