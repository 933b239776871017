#!/bin/sh
# Seed corpus for fuzz_kernel: the start of the host's Debian bzImages
# (setup header and the first part of the protected-mode kernel: all the
# parser reads), and ELF kernels linked like the tiny test guests
# (tests/guests/guests.mk: lm_boot.S at 1 MiB, a C guest with
# guest64.ld's one PT_LOAD) plus one with the default linker script's
# several segments at 16 MiB.
#   corpus-kernel.sh OUTDIR SPARSE_PACK FUZZER
set -e
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for k in /boot/vmlinuz-*; do
	[ -f "$k" ] && [ -r "$k" ] || continue
	head -c 65536 "$k" > "$out/bz-$(basename "$k")"
done
cc=${CC:-cc}
$cc -nostdlib -static -no-pie -Wl,-Ttext=0x100000 -Wl,--build-id=none -Wl,-N \
	-Wl,--no-warn-rwx-segments -o "$tmp/lm_boot.elf" tests/guests/lm_boot.S
cp "$tmp/lm_boot.elf" "$out/elf-lm_boot"
cat > "$tmp/g.c" <<'C'
static volatile int data[64] = { 1, 2, 3 };
static int bss[4096];
void _start(void)
{
	for (int i = 0; i < 64; i++)
		bss[i] = data[i];
	for (;;)
		__asm__ volatile("hlt");
}
C
$cc -O2 -ffreestanding -nostdlib -static -fno-pic -no-pie -fno-asynchronous-unwind-tables \
	-Wl,-T,tests/guests/guest64.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	-o "$tmp/one.elf" "$tmp/g.c"
$cc -O2 -ffreestanding -nostdlib -static -fno-pic -no-pie -fno-asynchronous-unwind-tables \
	-Wl,-Ttext-segment=0x1000000 -Wl,--build-id=none -Wl,-z,separate-code \
	-o "$tmp/multi.elf" "$tmp/g.c"
cp "$tmp/one.elf" "$out/elf-one"
cp "$tmp/multi.elf" "$out/elf-multi"
