#!/bin/sh
# Seed corpus for fuzz_arm64_image: the first 64 KiB of the stock arm64
# kernel when `make deps ARCH=arm64` downloaded it (build/arm64/images/Image,
# made by images/build-arm64.sh), plain and gzipped, and two synthetic
# headers (text_offset 0 and 0x80000), plain, gzipped and in an EFI zboot
# wrapper (gzip and, with the zstd tool, zstd).
#   corpus-arm64_image.sh OUTDIR SPARSE_PACK FUZZER
set -e
out=$1
for k in build/arm64/images/Image; do
	[ -f "$k" ] || continue
	head -c 65536 "$k" > "$out/image-head"
	gzip -9nc "$out/image-head" > "$out/image-head.gz"
done
# header: code0 code1 text_offset image_size flags res2-4 magic res5
hdr()
{
	printf '\000\000\000\024\000\000\000\000'
	printf "$1"'\000\000\000\000\000'
	printf '\000\000\100\000\000\000\000\000'
	printf '\012\000\000\000\000\000\000\000'
	head -c 24 /dev/zero
	printf 'ARM\144\000\000\000\000'
	head -c 4032 /dev/zero
}
hdr '\000\000\000' > "$out/hdr-0"
hdr '\000\000\010' > "$out/hdr-80000"
gzip -9nc "$out/hdr-80000" > "$out/hdr-80000.gz"
# zboot: "MZ" pad "zimg" offset=64 size type, padded to 64, then the payload
zboot()
{
	size=$(wc -c < "$2")
	printf 'MZ\000\000zimg\100\000\000\000'
	printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((size & 255)) $((size >> 8 & 255)) \
		$((size >> 16 & 255)) $((size >> 24 & 255)))"
	head -c 8 /dev/zero
	printf '%s' "$1"
	head -c $((40 - ${#1})) /dev/zero
	cat "$2"
}
zboot gzip "$out/hdr-80000.gz" > "$out/zboot-gzip"
if command -v zstd > /dev/null; then
	zstd -q -19 -c "$out/hdr-80000" > "$out/hdr-80000.zst"
	zboot zstd "$out/hdr-80000.zst" > "$out/zboot-zstd"
	rm -f "$out/hdr-80000.zst"
fi
