#!/bin/sh
# Seed corpus for fuzz_qcow2: small images made by qemu-img and qemu-io
# (v2 and v3, 512-byte to 64 KiB clusters, refcount widths 1..64, zlib
# and zstd compressed clusters, zero clusters, an internal snapshot, an
# image qemu left dirty), overlays with their backing files after the
# separator fuzz_qcow2.c splits on (qcow2 and raw backing, a chain of
# three), and a few with an operation script (see fuzz_qcow2.c).
#   corpus-qcow2.sh OUTDIR SPARSE_PACK FUZZER
set -e
out=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
img='
--vmm-fuzz-image--
'
ops='
--vmm-fuzz-ops--
'
q() { qemu-img "$@" >/dev/null; }
io() { f=$1; shift; for c in "$@"; do set -- "$@" -c "$c"; shift; done; qemu-io -f qcow2 "$@" "$f" >/dev/null; }
mk() {   # NAME SIZE OPTIONS [qemu-io commands]
	name=$1 size=$2 opt=$3
	shift 3
	q create -f qcow2 -o "$opt" "$tmp/$name" "$size"
	[ $# -eq 0 ] || io "$tmp/$name" "$@"
}
mk v3-512 1M compat=1.1,cluster_size=512 'write -P 0x11 0 3k' 'write -P 0x22 600k 1k' 'write -z 4k 4k'
mk v2-4k 1M compat=0.10,cluster_size=4096 'write -P 0x33 4k 12k'
mk v3-64k 4M compat=1.1
mk rc1 1M compat=1.1,cluster_size=1024,refcount_bits=1 'write -P 0x55 0 8k'
mk rc64 1M compat=1.1,cluster_size=2048,refcount_bits=64 'write -P 0x66 2k 6k'
mk snap 1M compat=1.1,cluster_size=4096 'write -P 0x77 0 8k'
q snapshot -c s1 "$tmp/snap"
io "$tmp/snap" 'write -P 0x78 0 4k'
mk dirty 1M compat=1.1,cluster_size=4096,lazy_refcounts=on 'write -P 0x79 0 4k'
head -c 65536 /dev/urandom > "$tmp/raw"
seq 1 20000 | head -c 131072 >> "$tmp/raw"
q convert -c -f raw -O qcow2 -o compat=1.1,cluster_size=4096 "$tmp/raw" "$tmp/zlib"
q convert -c -f raw -O qcow2 -o compat=1.1,cluster_size=4096,compression_type=zstd \
	"$tmp/raw" "$tmp/zstd"
for f in v3-512 v2-4k v3-64k rc1 rc64 snap dirty zlib zstd; do
	cp "$tmp/$f" "$out/$f"
done
# overlays: the file names fuzz_qcow2 gives the images are a, b and c
(
	cd "$tmp"
	mk base 1M compat=1.1,cluster_size=4096 'write -P 0x5a 0 16k'
	mv base b
	q create -f qcow2 -o compat=1.1,cluster_size=4096 -b b -F qcow2 a
	io a 'write -P 0x5b 4k 2k'
	{ cat a; printf '%s' "$img"; cat b; } > "$out/overlay"
	{ cat a; printf '%s' "$img"; cat b; printf '%s' "$ops"
	  printf '\000\001\021\000\004\000\000\000\040\000\000\005\000\000\000\000\000\000\000\000\000'
	  printf '\000\000\000\000\000\000\000\100\000\000'; } > "$out/overlay-ops"
	head -c 8192 raw > c
	q create -f qcow2 -o compat=0.10,cluster_size=512 -b c -F raw b
	io b 'write -P 0x5c 512 512'
	q create -f qcow2 -o compat=1.1,cluster_size=512 -b b -F qcow2 a
	{ cat a; printf '%s' "$img"; cat b; printf '%s' "$img"; cat c; } > "$out/chain3"
	q create -f qcow2 -o compat=1.1,cluster_size=512 -b a -F qcow2 loop
	cp loop a
	cat a > "$out/loop"
)
# scripts: read-only, probed and raw opens of the first image
for f in 0 1 4 8; do
	{ cat "$tmp/v3-512"; printf '%s' "$ops"; printf "\\$(printf %03o $f)"
	  printf '\001\045\000\002\000\000\000\002\000\000\003\001\000\000\000\000\000\040\000\000'
	  printf '\005\000\000\000\000\000\000\000\000\000\200\000\001\002\000\000\377\001\000\000'; } \
		> "$out/v3-512-ops$f"
done
