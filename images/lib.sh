# images/lib.sh — shared helpers for the initramfs recipes (sourced by
# images/build-*.sh, never run directly).
#
# Everything is built from what is installed on this Debian machine: the
# kernel in /boot, its modules, busybox-static and dynamically linked tools
# (copied with their ldd libraries and the dynamic loader at the same paths).
# Each recipe records the files it used in OUT.inputs so that img__is_stale
# can tell later whether the image must be rebuilt.
#
# Another architecture's guest (arm64): IMG_DEBROOT names a tree of that
# architecture's Debian packages unpacked with dpkg-deb -x (images/build-
# arm64.sh makes build/arm64/debroot). The kernel, its modules and busybox
# then come from there instead of this machine (img__kernel_version,
# img__modules, img__busybox, IMG_BOOT); nothing of it can run here.

set -eu

IMG_INPUTS=""
IMG_DEBROOT=${IMG_DEBROOT:-}
# where the guest kernels are: /boot, or the unpacked tree's
IMG_BOOT=$IMG_DEBROOT/boot

# img__use_debroot DIR: build for the architecture whose packages DIR holds.
img__use_debroot()
{
	[ -d "$1/lib/modules" ] && [ -x "$1/bin/busybox" ] ||
		img__die "$1 holds no unpacked kernel and busybox (images/build-arm64.sh unpacks them)"
	IMG_DEBROOT=$1
	IMG_BOOT=$1/boot
}

img__die()
{
	echo "images: error: $*" >&2
	exit 1
}

img__log()
{
	echo "images: $*" >&2
}

# Remember a file or directory the image was built from.  An optional input
# that is missing is recorded as "?PATH" so that its later appearance makes
# the image stale.
img__input()
{
	IMG_INPUTS="$IMG_INPUTS
$1"
}

# The kernel series the harness boots by default: Debian 12's own (6.1).
# `make deps` also installs 6.12 from bookworm-backports as a second guest
# kernel (IMG_KERNEL_SERIES_NEW); L2 scenarios run on both.
IMG_KERNEL_SERIES_DEFAULT=6.1
IMG_KERNEL_SERIES_NEW=6.12

# The nested test host's own kernel (L1): 6.12, the fewest nested-TCG
# flakes in the 100-boot soaks (docs/running.md); E2E_L1_KERNEL picks
# another series. img__l1_suffix: the L1 image names' "-SERIES" part
# (none for the default guest series).
img__l1_series()
{
	echo "${E2E_L1_KERNEL:-$IMG_KERNEL_SERIES_NEW}"
}
img__l1_suffix()
{
	s=$(img__l1_series)
	[ "$s" = "$IMG_KERNEL_SERIES_DEFAULT" ] || echo "-$s"
}

# img__kernel_version [SERIES]: the installed kernel version: $KVER if set
# (and no SERIES given), else the newest /boot/vmlinuz-SERIES.* (default
# series $IMG_KERNEL_SERIES_DEFAULT) that has a matching /lib/modules
# directory. SERIES "newest" takes the newest of any series. With
# IMG_DEBROOT: the newest kernel in that tree, whatever SERIES (it holds
# the one `make deps ARCH=arm64` downloaded).
img__kernel_version()
{
	series=${1:-}
	if [ -n "$IMG_DEBROOT" ]; then
		v=$(ls -v "$IMG_DEBROOT/lib/modules" 2>/dev/null | tail -n 1)
		[ -n "$v" ] && [ -e "$IMG_BOOT/vmlinuz-$v" ] || img__die "no kernel in $IMG_DEBROOT"
		echo "$v"
		return
	fi
	if [ -z "$series" ] && [ -n "${KVER:-}" ]; then
		[ -e "/boot/vmlinuz-$KVER" ] || img__die "KVER=$KVER: no /boot/vmlinuz-$KVER"
		echo "$KVER"
		return
	fi
	series=${series:-$IMG_KERNEL_SERIES_DEFAULT}
	v=""
	# ls -v: version order (kernel file names have no spaces)
	# shellcheck disable=SC2045
	for k in $(ls -v /boot/vmlinuz-* 2>/dev/null); do
		c=${k#/boot/vmlinuz-}
		case $series in
		newest) ;;
		*) case $c in "$series".*) ;; *) continue ;; esac ;;
		esac
		[ -d "/lib/modules/$c/kernel" ] && v=$c
	done
	[ -n "$v" ] || img__die "no /boot/vmlinuz-$series.* with modules installed (make deps)"
	echo "$v"
}

# img__copy_file SRC ROOT [DEST]: copy a file (following links) to ROOT/DEST
# (default: the same path as SRC).
img__copy_file()
{
	src=$1
	dst=$2${3:-$1}
	[ -e "$src" ] || img__die "missing $src"
	mkdir -p "$(dirname "$dst")"
	cp -L "$src" "$dst"
	img__input "$src"
}

# img__copy_bin BIN ROOT [DEST]: copy an executable plus, for a dynamically
# linked one, every library ldd names and the dynamic loader, at their own
# paths so that the loader finds them inside the image.
img__copy_bin()
{
	bin=$1
	root=$2
	img__copy_file "$bin" "$root" "${3:-$bin}"
	# ldd prints "not a dynamic executable" (and fails) for static binaries.
	libs=$(ldd "$bin" 2>/dev/null | awk '
		/=> \// { print $3; next }
		/^[ \t]*\/[^ ]+ \(0x/ { print $1 }') || true
	for l in $libs; do
		[ -e "$root$l" ] || img__copy_file "$l" "$root"
	done
}

# img__busybox ROOT: busybox-static at /bin/busybox and a symlink for each
# applet (created here, so /init does not spend time on --install). With
# IMG_DEBROOT, that tree's busybox-static, linked by this machine's
# busybox's applet list (it cannot run the other one; both are Debian 12's,
# so at worst an applet lacks a link).
img__busybox()
{
	root=$1
	bb=$(command -v busybox) || img__die "busybox not found (apt-get install busybox-static)"
	if ldd "$bb" >/dev/null 2>&1; then
		img__die "$bb is dynamically linked; install busybox-static"
	fi
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
	src=$bb
	[ -z "$IMG_DEBROOT" ] || src=$IMG_DEBROOT/bin/busybox
	img__copy_file "$src" "$root" /bin/busybox
	for a in $("$bb" --list-full); do
		[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done
}

# img__modules KVER ROOT MODULE...: copy the named modules and everything
# they depend on (resolved with modprobe --show-depends against the installed
# modules.dep) to ROOT/lib/modules/KVER/NAME.ko, decompressing .ko.xz/.ko.zst
# since busybox insmod takes plain .ko files, and write the load order, one
# file name per line, to ROOT/etc/modules.load. With IMG_DEBROOT, that
# tree's modules (it needs a modules.dep: depmod -b, images/build-arm64.sh).
img__modules()
{
	kver=$1
	root=$2
	shift 2
	command -v modprobe >/dev/null || img__die "modprobe (kmod) is needed to resolve module dependencies"
	dir=$root/lib/modules/$kver
	mkdir -p "$dir" "$root/etc"
	: > "$root/etc/modules.load"
	img__input "$IMG_DEBROOT/lib/modules/$kver/modules.dep"
	for m in "$@"; do
		deps=$(modprobe ${IMG_DEBROOT:+-d "$IMG_DEBROOT"} -S "$kver" --show-depends "$m") ||
			img__die "module $m not found for kernel $kver"
		for f in $(echo "$deps" | awk '$1 == "insmod" { print $2 }'); do
			base=$(basename "$f")
			base=${base%.xz}
			base=${base%.zst}
			grep -qx "$base" "$root/etc/modules.load" && continue
			case $f in
			*.ko.xz) xz -dc "$f" > "$dir/$base" ;;
			*.ko.zst) zstd -qdc "$f" > "$dir/$base" ;;
			*.ko) cp "$f" "$dir/$base" ;;
			*) img__die "unexpected module file $f" ;;
			esac
			img__input "$f"
			echo "$base" >> "$root/etc/modules.load"
		done
	done
}

# img__debroot_bin ROOT PATH: a program from IMG_DEBROOT (another
# architecture's unpacked packages) at the same PATH in ROOT, with its
# dynamic loader and every library it needs, found by their DT_NEEDED names
# (readelf reads any ELF; nothing of that architecture can run here, so ldd
# cannot). A library missing from the tree is an error naming it.
img__debroot_bin()
{
	r=$1
	# pending: the files still to copy (the program, then what it loads)
	pending=$2
	interp=$(readelf -l "$IMG_DEBROOT$2" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	[ -z "$interp" ] || pending="$pending $interp"
	while [ -n "$pending" ]; do
		# shellcheck disable=SC2086 # words
		set -- $pending
		f=$1
		shift
		pending="$*"
		[ -e "$r$f" ] && continue
		[ -e "$IMG_DEBROOT$f" ] || img__die "$f is not in the unpacked packages ($IMG_DEBROOT)"
		mkdir -p "$(dirname "$r$f")"
		cp -L "$IMG_DEBROOT$f" "$r$f"
		img__input "$IMG_DEBROOT$f"
		for lib in $(readelf -d "$IMG_DEBROOT$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			found=
			for dir in /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /lib /usr/lib; do
				if [ -e "$IMG_DEBROOT$dir/$lib" ]; then
					pending="$pending $dir/$lib"
					found=1
					break
				fi
			done
			[ -n "$found" ] || img__die "$f needs $lib, which no unpacked package in $IMG_DEBROOT has (images/install-deps-arm64.sh)"
		done
	done
}

# img__cpio_node NAME MODE_OCTAL MAJOR MINOR: print one newc cpio entry for
# a character device, so the archive can hold /dev/console without root.
img__cpio_node()
{
	name=$1
	len=$((${#name} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$(( 0x7fff0000 + $3 * 256 + $4 ))" "$(( 020000 | 0$2 ))" 0 0 1 0 0 0 0 \
		"$3" "$4" "$len" 0
	printf '%s\0' "$name"
	# header (110 bytes) + name is padded to a multiple of 4
	pad=$(( (4 - (110 + len) % 4) % 4 ))
	[ $pad -eq 0 ] || head -c $pad /dev/zero
}

# img__pack ROOT OUT: newc cpio of ROOT (sorted, owned by root, fixed
# mtimes) followed by a second archive holding /dev/console, gzip'd to OUT.
# The kernel unpacks concatenated archives one after the other.
img__pack()
{
	root=$1
	out=$2
	mkdir -p "$(dirname "$out")" "$root/dev"
	tmp=$out.tmp.$$
	(
		cd "$root"
		find . -mindepth 1 -print0 | LC_ALL=C sort -z |
			cpio --null -o -H newc -R 0:0 --reproducible --quiet
		img__cpio_node dev/console 600 5 1
		printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
			0 0 0 0 1 0 0 0 0 0 0 11 0
		printf 'TRAILER!!!\0'
		head -c 3 /dev/zero
	) | gzip -6 -n > "$tmp"
	mv "$tmp" "$out"
	img__write_inputs "$out"
}

# img__write_inputs OUT: record the inputs gathered so far in OUT.inputs
# (the list img__is_stale reads).
img__write_inputs()
{
	echo "$IMG_INPUTS" | sed '/^$/d' | LC_ALL=C sort -u > "$1.inputs"
}

# img__set_mtimes DIR EPOCH: give everything under DIR (DIR included, links
# themselves rather than their targets) the modification time EPOCH, so an
# archive or file system made from DIR does not depend on when it was built.
img__set_mtimes()
{
	find "$1" -exec touch -h -d "@$2" {} +
}

# img__is_stale OUT: true when OUT must be rebuilt: it or its input list is
# missing, an input is newer or gone, or a missing optional input appeared.
img__is_stale()
{
	out=$1
	[ -e "$out" ] && [ -e "$out.inputs" ] || return 0
	while IFS= read -r p; do
		case $p in
		\?*)
			[ -e "${p#\?}" ] && return 0 ;;
		*)
			[ -e "$p" ] || return 0
			[ -n "$(find "$p" -newer "$out" -print -quit)" ] && return 0 ;;
		esac
	done < "$out.inputs"
	return 1
}
