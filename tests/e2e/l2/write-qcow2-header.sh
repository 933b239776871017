# tests/e2e/l2/write-qcow2-header.sh — vmmtest=write-qcow2-header: the
# hostile guest of tests/e2e/scenarios/hostile_disk.sh (sourced by the L2
# /init after its modules are loaded). It turns its raw disk /dev/vda into
# a qcow2 image whose backing file is a host file: a qcow2 v2 header in
# sector 0 naming vmmtest_secret= (default /tmp/secret), 64 KiB clusters,
# 1 MiB virtual size, refcount table at 64 KiB, one L1 entry at 192 KiB,
# zero (so every read of the virtual disk falls through to the backing
# file). A vmm that probes the format at its next start would then serve
# the host file to the guest. Prints:
#   VMM-HOSTILE write=ok | write=refused (...)   what dd said
#   VMM-HOSTILE sector0=HEX                     the first 4 bytes read back
hostile__write_header()
{
	dev=/dev/vda
	secret=/tmp/secret
	for w in $(cat /proc/cmdline); do
		case $w in vmmtest_secret=*) secret=${w#*=} ;; esac
	done
	if [ ! -b "$dev" ]; then
		echo "VMM-HOSTILE-ERROR no $dev (virtio_blk not loaded?)"
		return
	fi
	# bytes as printf octal escapes; be32 N, be64 N (N < 2^32)
	o() { printf "\\$(printf '%03o' "$1")"; }
	be32() { o $(($1 >> 24 & 255)); o $(($1 >> 16 & 255)); o $(($1 >> 8 & 255)); o $(($1 & 255)); }
	be64() { be32 0; be32 "$1"; }
	{
		printf 'QFI\373'
		be32 2                  # version
		be64 80                 # backing file name offset
		be32 ${#secret}         # ... and length
		be32 16                 # cluster_bits: 64 KiB
		be64 1048576            # virtual size
		be32 0                  # no encryption
		be32 1                  # L1 entries
		be64 196608             # L1 table offset
		be64 65536              # refcount table offset
		be32 1                  # refcount table clusters
		be32 0                  # snapshots
		be64 0                  # snapshot table offset
		be64 0                  # end of header extensions (at 72)
		printf '%s' "$secret"   # at 80
	} > /tmp/qcow2-header
	size=$(wc -c < /tmp/qcow2-header)
	head -c $((512 - size)) /dev/zero >> /tmp/qcow2-header
	# Through the page cache: the write-back of sector 0 is what vmm sees,
	# and fsync reports its result.
	if dd if=/tmp/qcow2-header of="$dev" bs=512 count=1 conv=notrunc,fsync 2> /tmp/dd.err; then
		echo "VMM-HOSTILE write=ok"
	else
		echo "VMM-HOSTILE write=refused ($(tail -n 1 /tmp/dd.err))"
	fi
	# What the disk holds now, not what the page cache kept.
	sync
	echo 3 > /proc/sys/vm/drop_caches
	blockdev --flushbufs "$dev" 2> /dev/null
	echo "VMM-HOSTILE sector0=$(dd if="$dev" bs=512 count=1 2> /dev/null | head -c 4 | od -An -tx1 | tr -d ' \n')"
}
hostile__write_header
