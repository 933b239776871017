# images/partuuid.sh — find a partition by its GPT unique GUID (what
# root=PARTUUID= and fstab's PARTUUID= name), in busybox sh: busybox
# findfs and mount cannot, and there is no udev for /dev/disk/by-partuuid.
# Installed as /lib/partuuid.sh in the test disks' initramfs (sourced by
# images/fedora-initrd-init.sh) and root (images/fedora-init.sh) by
# images/lib-disk.sh.

# gpt_partuuid DISK N SECTOR: the unique GUID of partition N in DISK's GPT
# (lower case, dashed), SECTOR the disk's logical block size. The header is at LBA 1 ("EFI PART"); at +72 the entry array's LBA (8 bytes,
# the high half 0 on any disk here), +80 the number of entries, +84 their
# size; the GUID is at +16 of an entry, its first three fields
# little-endian, as in every GUID on disk.
gpt_partuuid()
{
	[ "$(dd if="$1" bs=1 skip="$3" count=8 2>/dev/null)" = "EFI PART" ] || return 1
	# shellcheck disable=SC2046 # four numbers
	set -- "$1" "$2" "$3" $(hexdump -v -s $(($3 + 72)) -n 16 -e '4/4 "%u "' "$1")
	[ "$#" -eq 7 ] && [ "$5" -eq 0 ] && [ "$2" -le "$6" ] || return 1
	hexdump -v -s $(($4 * $3 + ($2 - 1) * $7 + 16)) -n 16 -e '16/1 "%02x " "\n"' "$1" |
		awk '{ printf "%s%s%s%s-%s%s-%s%s-%s%s-%s%s%s%s%s%s\n", $4, $3, $2, $1, $6, $5, $8, $7, $9, $10, $11, $12, $13, $14, $15, $16 }'
}

# part_by_partuuid GUID: the partition /dev/vdXN whose GPT entry has that
# unique GUID (either case).
part_by_partuuid()
{
	want=$(echo "$1" | tr 'A-F' 'a-f')
	for p in /sys/block/*/*/partition; do
		[ -e "$p" ] || continue
		n=$(cat "$p")
		pdir=${p%/partition}
		ddir=${pdir%/*}
		ss=$(cat "$ddir/queue/logical_block_size" 2>/dev/null || echo 512)
		if [ "$(gpt_partuuid "/dev/${ddir##*/}" "$n" "$ss")" = "$want" ] && [ -b "/dev/${pdir##*/}" ]; then
			echo "/dev/${pdir##*/}"
			return 0
		fi
	done
	return 1
}
