#!/bin/sh
# tests/e2e/native-arm64.sh — the native build on an aarch64 host (issue 15
# item 1), checked on the nested aarch64 test host: its L1 (the stock arm64
# kernel at EL2 under QEMU TCG, as in tests/e2e/nested-arm64.sh) boots an
# initramfs that is a Debian arm64 tool chain (gcc-12, binutils, make,
# libc6-dev and the -dev packages vmm links, unpacked from their .debs, not
# installed) around this repository's HEAD (git archive). There, where
# `uname -m` is aarch64, plain `make` builds build/arm64/vmm with the native
# gcc and the system libraries (dynamically linked), and that vmm boots L2
# (the stock kernel and the e2e L2 initramfs) to its init and PSCI poweroff.
# Result lines: E2E-NATIVE ... (compiler, build time, the binary's machine
# and libraries) and E2E-RESULT name=native status=pass|fail.
#
# A one-off check, not part of `make test` (about 10 minutes of nested TCG:
# gcc runs emulated). The tool chain's .debs are downloaded on first use to
# build/arm64/debs/native (apt-get download; `make deps ARCH=arm64` first).
# usage: tests/e2e/native-arm64.sh
# env: QEMU (qemu-system-aarch64), ARM_BUILD (build/arm64), E2E_TIMEOUT_S (1800)

set -u
cd "$(dirname "$0")/../.." || exit 1
. images/lib.sh
set +e
ARM_BUILD=${ARM_BUILD:-build/arm64}
QEMU=${QEMU:-qemu-system-aarch64}
TMO=${E2E_TIMEOUT_S:-1800}
native=$ARM_BUILD/debs/native
# gcc, make and libc6-dev with their Depends, recursively (apt-cache
# depends, Debian 12, 2026-12); the libraries vmm links are the sysroot's
# packages (images/install-deps-arm64.sh, $ARM_BUILD/debs/sysroot).
PKGS="gcc make libc6-dev cpp gcc-12 libc6 libc-dev-bin linux-libc-dev libcrypt-dev
libnsl-dev rpcsvc-proto cpp-12 gcc-12-base libcc1-0 binutils libgcc-12-dev libgcc-s1
libgmp10 libisl23 libmpc3 libmpfr6 libstdc++6 libzstd1 zlib1g libcrypt1 libnsl2
libtirpc-dev binutils-common libbinutils binutils-aarch64-linux-gnu libgomp1 libitm1
libatomic1 libasan8 liblsan0 libtsan2 libubsan1 libhwasan0 libtirpc3 libctf-nobfd0
libctf0 libgprofng0 libjansson4 libgssapi-krb5-2 libcom-err2 libk5crypto3 libkrb5-3
libkrb5support0 libkeyutils1 libssl3 dash"

command -v "$QEMU" > /dev/null || img__die "$QEMU not found (make deps ARCH=arm64)"
ARM_BUILD=$ARM_BUILD images/build-arm64.sh --if-stale || exit 1
ls "$ARM_BUILD"/debs/sysroot/*_arm64.deb > /dev/null 2>&1 || img__die "no sysroot packages (make deps ARCH=arm64)"
mkdir -p "$native"
want=
for p in $PKGS; do
	ls "$native/${p}_"*_arm64.deb > /dev/null 2>&1 || want="$want $p:arm64"
done
if [ -n "$want" ]; then
	img__log "downloading the arm64 tool chain:$want"
	# shellcheck disable=SC2086 # one word per package
	(cd "$native" && apt-get download -q $want) || img__die "apt-get download failed"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vmm-native.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/src" "$root/guest"
for d in "$native"/*_arm64.deb "$ARM_BUILD"/debs/sysroot/*_arm64.deb; do
	dpkg-deb -x "$d" "$root" || img__die "cannot unpack $d"
done
# What dpkg's postinst would add (unpacked, not installed): the cc
# alternative gcc-12's package registers, which make's default CC names,
# and /bin/sh as dash (make's recipes run under it; busybox's sh would run
# its own applets, e.g. its ar, before the tool chain's)
ln -sf gcc "$root/usr/bin/cc"
ln -sf dash "$root/bin/sh"
# busybox for everything else (sh, uname, the init below): its applets
# only where no package put a program
img__use_debroot "$ARM_BUILD/debroot"
img__busybox "$root"
git archive HEAD | tar -x -C "$root/src" || img__die "git archive failed"
cp "$ARM_BUILD/images/Image" "$ARM_BUILD/images/l2-initrd.cpio.gz" "$root/guest/"
cat > "$root/init" <<'EOF'
#!/bin/sh
export PATH=/usr/bin:/usr/sbin:/bin:/sbin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /run
mount -t tmpfs tmpfs /run
dmesg -n 1
fail=
echo "E2E-NATIVE uname=$(uname -m) cc=\"$(gcc --version | head -n 1)\" make=\"$(make --version | head -n 1)\""
cd /src || exit 1
t0=$(cut -d' ' -f1 /proc/uptime)
make -j2 > /tmp/make.out 2>&1 || fail="$fail make"
t1=$(cut -d' ' -f1 /proc/uptime)
tail -n 5 /tmp/make.out | sed 's/^/E2E-NATIVE make| /'
v=build/arm64/vmm
[ -x $v ] || fail="$fail no-$v"
echo "E2E-NATIVE built $v in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s: $(readelf -h $v 2>/dev/null | sed -n 's/.*Machine: *//p'), $(readelf -d $v 2>/dev/null | grep -c NEEDED) shared libraries: $(readelf -d $v 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
readelf -d $v 2>/dev/null | grep -q NEEDED || fail="$fail not-dynamic"
[ -c /dev/kvm ] || fail="$fail no-/dev/kvm"
timeout 300 $v run --kernel /guest/Image --initrd /guest/l2-initrd.cpio.gz --params "vmmtest=poweroff" \
	--mem 256 --cpus 2 --no-console < /dev/null > /tmp/l2.out 2>&1
rc=$?
grep -a "VMM-L2-INIT-OK\|^vmm: guest" /tmp/l2.out | sed 's/^/E2E-NATIVE L2| /'
grep -aq "VMM-L2-INIT-OK" /tmp/l2.out || fail="$fail no-l2-init"
[ $rc = 0 ] || fail="$fail vmm-rc=$rc"
st=pass
[ -z "$fail" ] || { st=fail; tail -n 20 /tmp/l2.out | sed 's/^/E2E-NATIVE L2| /'; }
echo "E2E-RESULT name=native status=$st${fail:+ reason=$(echo $fail | tr ' ' ,)}"
sync
poweroff -f
EOF
chmod 755 "$root/init"
img__pack "$root" "$work/native.cpio.gz"
img__log "native tool chain initramfs: $(du -k "$work/native.cpio.gz" | cut -f1) KiB"

mkdir -p "$ARM_BUILD/e2e"
log=$ARM_BUILD/e2e/native.log
start=$(date +%s)
timeout -s KILL "$TMO" "$QEMU" -machine virt,virtualization=on,gic-version=3 \
	-cpu max,pauth-impdef=on -accel tcg,thread=multi -smp 2 -m 3072 \
	-nographic -nic none -no-reboot -kernel "$ARM_BUILD/images/Image" \
	-initrd "$work/native.cpio.gz" -append "console=ttyAMA0 rdinit=/init panic=-1" \
	< /dev/null > "$log" 2>&1
tr -d '\r' < "$log" | grep -a "^E2E-"
if tr -d '\r' < "$log" | grep -aq "^E2E-RESULT name=native status=pass"; then
	echo "native-arm64: passed in $(($(date +%s) - start)) s (log: $log)"
	exit 0
fi
echo "native-arm64: FAILED after $(($(date +%s) - start)) s (log: $log)"
exit 1
