# tests/e2e/l2/read-disk.sh — vmmtest=read-disk: the guest side of
# tests/e2e/scenarios/hostile_disk.sh's second boot (sourced by the L2
# /init after its modules are loaded). Says whether the first MiB of
# /dev/vda holds a line of the host's test secret (its lines start with
# VMM-E2E-SECRET-, written by the scenario in L1) and prints the disk's
# first 4 KiB as text, where a backing file's content would show:
#   VMM-HOSTILE secret-found=yes|no
#   VMM-HOSTILE text: ...
hostile__read_disk()
{
	dev=/dev/vda
	if [ ! -b "$dev" ]; then
		echo "VMM-HOSTILE-ERROR no $dev (virtio_blk not loaded?)"
		return
	fi
	n=$(dd if="$dev" bs=65536 count=16 2> /dev/null | grep -a -c "VMM-E2E-SECRET-")
	if [ "${n:-0}" -gt 0 ]; then
		echo "VMM-HOSTILE secret-found=yes"
	else
		echo "VMM-HOSTILE secret-found=no"
	fi
	dd if="$dev" bs=4096 count=1 2> /dev/null | strings -n 8 | head -n 80 | sed 's/^/VMM-HOSTILE text: /'
}
hostile__read_disk
