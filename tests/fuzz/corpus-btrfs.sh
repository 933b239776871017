#!/bin/sh
# Seed corpus for fuzz_btrfs: small btrfs images made by mkfs.btrfs
# (mixed block groups and 4 KiB nodes keep them near 10 MiB; --shrink
# trims the rest), one per compression, with the paths fuzz_btrfs.c
# reads, packed sparse by sparse_pack.
#   corpus-btrfs.sh OUTDIR SPARSE_PACK
set -e
out=$1 pack=$2
PATH="$PATH:/usr/sbin:/sbin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir -p "$src/boot/loader/entries" "$src/root" "$src/home"
printf 'title Fedora\nlinux /vmlinuz\noptions root=UUID=x\n' > "$src/boot/loader/entries/a.conf"
seq 1 20000 > "$src/boot/vmlinuz"
head -c 3000 /dev/zero | tr '\0' 'x' > "$src/root/mid"
echo small > "$src/root/small"
echo home > "$src/home/x"
ln -s loader/entries/a.conf "$src/boot/link"
for c in zstd lzo zlib no; do
	mkfs.btrfs -q -f -M -n 4096 --shrink --rootdir "$src" --subvol rw:boot \
		--subvol default:root --subvol rw:home --compress $c "$tmp/$c.img" 2>/dev/null
	"$pack" "$tmp/$c.img" "$out/$c.sparse"
done
