#!/bin/sh
# Seed corpus for fuzz_partition: partition tables written by sfdisk (MBR
# with an extended chain of logicals, GPT with named partitions, a GPT
# whose primary header is zeroed so the backup is read), as small raw
# disks and as 8 MiB ones packed by sparse_pack; the target itself
# writes a 4096-byte-sector GPT (sfdisk cannot make one on a file).
#   corpus-partition.sh OUTDIR SPARSE_PACK FUZZER
set -e
out=$1 pack=$2 fuzzer=$3
PATH="$PATH:/usr/sbin:/sbin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mk() {   # NAME SIZE < script
	truncate -s "$2" "$tmp/$1.img"
	sfdisk -q "$tmp/$1.img" >/dev/null
}
mk mbr 8M <<'T'
label: dos
start=2048, size=4096, type=83, bootable
start=6144, size=2048, type=82
start=8192, size=8000, type=5
size=1024, type=83
size=1024, type=7
T
mk gpt 8M <<'T'
label: gpt
first-lba: 34
start=34, size=2014, type=21686148-6449-6E6F-744E-656564454649, name="BIOS boot"
start=2048, size=4096, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System Partition"
start=6144, size=4096, type=BC13C2FF-59E6-4262-A352-B275FD6F7172, name="boot"
start=10240, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root ☃"
T
mk gpt-small 128K <<'T'
label: gpt
first-lba: 34
start=34, size=40, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"
start=74, size=80, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
T
mk mbr-small 64K <<'T'
label: dos
grain: 512
start=1, size=20, type=83, bootable
start=21, size=100, type=5
start=23, size=10, type=83
start=35, size=10, type=c
T
cp "$tmp/gpt.img" "$tmp/backup.img"
dd if=/dev/zero of="$tmp/backup.img" bs=512 seek=1 count=1 conv=notrunc status=none
for f in mbr gpt backup; do
	"$pack" "$tmp/$f.img" "$out/$f.sparse"
done
# raw: odd lengths make the target keep GPT CRCs right under mutation
{ cat "$tmp/gpt-small.img"; printf x; } > "$out/gpt-small"
cat "$tmp/mbr-small.img" > "$out/mbr-small"
FUZZ_WRITE_SEEDS=$out "$fuzzer"
