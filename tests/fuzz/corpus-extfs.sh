#!/bin/sh
# Seed corpus for fuzz_extfs: small ext2, ext3 and ext4 filesystems made
# by mke2fs -d (1 KiB blocks) from a tree with the paths fuzz_extfs.c
# reads: BLS entry, a kernel-sized file (indirect blocks / extent tree),
# fast and slow symbolic links, a link loop, a hashed directory; one
# with inline_data. Packed sparse by sparse_pack.
#   corpus-extfs.sh OUTDIR SPARSE_PACK FUZZER
set -e
out=$1 pack=$2
PATH="$PATH:/usr/sbin:/sbin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir -p "$src/boot/loader/entries" "$src/boot/grub2" "$src/many"
printf 'title Fedora\nversion 6.8.5\nlinux /vmlinuz\noptions root=UUID=x\n' \
	> "$src/boot/loader/entries/a.conf"
seq 1 4000 > "$src/boot/vmlinuz"
{ printf '# GRUB Environment Block\nsaved_entry=a\n'; head -c 990 /dev/zero | tr '\0' '#'; } \
	> "$src/boot/grub2/grubenv"
seq 1 2500 > "$src/big"
echo tiny > "$src/inline"
ln -s loader/entries/a.conf "$src/boot/link"
ln -s /boot/vmlinuz "$src/abs"
ln -s loop2 "$src/loop1"
ln -s loop1 "$src/loop2"
ln -s "$(printf 'x%.0s' $(seq 1 100))/../boot/link" "$src/slow"
for i in $(seq 1 120); do : > "$src/many/a-rather-long-file-name-to-fill-blocks-$i"; done
mk() {   # NAME TYPE SIZE [mke2fs options]
	name=$1 type=$2 size=$3
	shift 3
	rm -f "$tmp/$name.img"
	mke2fs -q -F -t "$type" -b 1024 -d "$src" -L "$name" -N 192 "$@" "$tmp/$name.img" "$size" \
		>/dev/null
	"$pack" "$tmp/$name.img" "$out/$name.sparse"
}
mk ext2 ext2 1M
mk ext3 ext3 3M -J size=1
mk ext4 ext4 3M -J size=1
mk ext4-inline ext4 1M -O inline_data,^has_journal
mk ext4-64bit ext4 1M -O 64bit,metadata_csum,^has_journal
