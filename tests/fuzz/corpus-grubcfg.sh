#!/bin/sh
# Seed corpus for fuzz_grubcfg: the grub.cfg files update-grub wrote on
# Debian 12 and Ubuntu 24.04 cloud images (tests/unit/data), alone and
# with a grubenv (grub-editenv's 1024-byte block) after the separator
# fuzz_grubcfg.c splits on; plus small scripts for the constructs the
# interpreter handles (submenus, default by id/title/path, saved).
#   corpus-grubcfg.sh OUTDIR SPARSE_PACK FUZZER
set -e
out=$1
sep='
#--grubenv--
'
env() {   # a grubenv block holding the lines given
	{ printf '# GRUB Environment Block\n'; printf '%s\n' "$@"; } |
		awk '{ s = s $0 "\n" } END { printf "%s", s; for (i = length(s); i < 1024; i++) printf "#" }'
}
for f in tests/unit/data/grub-*.cfg; do
	b=$(basename "$f" .cfg)
	cp "$f" "$out/$b"
	{ cat "$f"; printf '%s' "$sep"; env 'saved_entry=1>2' 'next_entry='; } > "$out/$b-saved"
	{ cat "$f"; printf '%s' "$sep"; env 'next_entry=gnulinux-advanced-x>gnulinux-x-recovery'; } > "$out/$b-next"
done
cat > "$out/small" <<'CFG'
set default="1>0"
set timeout=5
insmod part_gpt
if [ -s $prefix/grubenv ]; then
  load_env
fi
menuentry 'First' --class debian --id first {
	linux /vmlinuz root=/dev/vda1 ro quiet
	initrd /initrd.img
}
submenu 'Advanced' $menuentry_id_option 'adv' {
	menuentry "Second \"quoted\"" --id second {
		set root='hd0,gpt1'
		linux16 ${prefix}/vmlinuz-6.1 root=UUID=${uuid} "$extra" 'a b'
		initrd /i1 /i2
	}
}
CFG
{ cat "$out/small"; printf '%s' "$sep"; env 'saved_entry=adv>second' 'extra=console=ttyS0'; } > "$out/small-env"
