#!/bin/sh
# Seed corpus for fuzz_bls: a grubenv and Fedora-style BLS entries in the
# form fuzz_bls.c reads (parts split by its separator: grubenv, then
# "ID\nTEXT" per entry), from what Fedora 30-43 write.
#   corpus-bls.sh OUTDIR SPARSE_PACK FUZZER
set -e
out=$1
sep='
#--next--
'
mid=2d5e4b1cfa6c4a6e9d0b0c5a7e1f3a21
entry() {   # VERSION [EXTRA LINE]
	printf '%s\n' "$mid-$1"
	printf 'title Fedora Linux (%s) 40 (Cloud Edition)\nversion %s\n' "$1" "$1"
	printf 'linux /vmlinuz-%s\ninitrd /initramfs-%s.img $tuned_initrd\n' "$1" "$1"
	printf 'options $kernelopts $tuned_params\ngrub_users $grub_users\ngrub_arg --unrestricted\n'
	printf 'grub_class fedora\n%s\n' "$2"
}
grubenv() {
	{ printf '# GRUB Environment Block\n'; printf '%s\n' "$@"; } |
		awk '{ s = s $0 "\n" } END { printf "%s", s; for (i = length(s); i < 1024; i++) printf "#" }'
}
{
	grubenv "saved_entry=$mid-6.8.5-301.fc40.x86_64" \
		'kernelopts=root=UUID=7f3c1a2e ro rootflags=subvol=root ${extra}' \
		'tuned_params=skew_tick=1' 'tuned_initrd=/early.cpio' 'boot_success=1'
	printf '%s' "$sep"; entry 6.8.5-301.fc40.x86_64
	printf '%s' "$sep"; entry 6.10.0-0.rc1.20240520git.1.fc41.x86_64 'options quiet "a  b" ${x}y'
	printf '%s' "$sep"; entry 6.9.0~rc3-1.fc40.x86_64 'initrd /second.img'
	printf '%s' "$sep"; entry 6.9.0^20240101-1.fc40.x86_64
} > "$out/fedora"
{
	grubenv 'saved_entry=1'
	printf '%s' "$sep"; printf 'a\nlinux /boot/vmlinuz\noptions root=/dev/vda1\n'
	printf '%s' "$sep"; printf 'b\ntitle B\nversion 1.0\nlinux /vmlinuz-b\n'
} > "$out/numbered"
