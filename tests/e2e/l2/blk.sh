# tests/e2e/l2/blk.sh — vmmtest=blk, the guest side of the arm64 nested
# host's blk scenario (tests/e2e/l1-init-arm64.sh; sourced by the L2 /init
# after its modules are loaded): reads the first 8 MiB of /dev/vda and
# prints their md5, then writes a line at 12 MiB and syncs, which the
# scenario reads back from the image once vmm has exited:
#   VMM-L2-BLK read md5=SUM
#   VMM-L2-BLK write done
blk_dev=/dev/vda
if [ -b "$blk_dev" ]; then
	blk_sum=$(dd if="$blk_dev" bs=1M count=8 2> /dev/null | md5sum | cut -d ' ' -f 1)
	echo "VMM-L2-BLK read md5=$blk_sum"
	echo "VMM-L2-BLK-WRITTEN $blk_sum" | dd of="$blk_dev" bs=1M seek=12 conv=fsync 2> /dev/null
	sync
	echo "VMM-L2-BLK write done"
else
	echo "VMM-L2-BLK-ERROR no $blk_dev (virtio_blk not loaded?)"
fi
