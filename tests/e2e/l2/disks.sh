# tests/e2e/l2/disks.sh — vmmtest=disks, the guest side of the arm64 nested
# host's disks scenario (tests/e2e/l1-init-arm64.sh; sourced by the L2 /init
# after its modules are loaded): the md5 of the first MiB of /dev/vda (a
# qcow2 image in L1) and what the cloud-init seed on /dev/vdb holds (a vfat
# labelled CIDATA: the label read from its boot sector, as busybox here has
# no blkid):
#   VMM-L2-DISKS vda md5=SUM
#   VMM-L2-DISKS vdb label=CIDATA
#   VMM-L2-DISKS file NAME      (the seed's files)
#   VMM-L2-DISKS seed LINE      (the user-data's lines naming VMM-SEED)
d_sum=$(dd if=/dev/vda bs=1M count=1 2> /dev/null | md5sum | cut -d ' ' -f 1)
echo "VMM-L2-DISKS vda md5=$d_sum"
# the volume label: at 71 in a FAT32 boot sector, at 43 in FAT12/16
for off in 43 71; do
	lbl=$(dd if=/dev/vdb bs=1 skip=$off count=11 2> /dev/null | tr -d ' ')
	[ "$lbl" = CIDATA ] && echo "VMM-L2-DISKS vdb label=$lbl"
done
mkdir -p /mnt/seed
if mount -t vfat -o ro /dev/vdb /mnt/seed; then
	ls /mnt/seed | sed 's/^/VMM-L2-DISKS file /'
	grep -h "VMM-SEED" /mnt/seed/user-data | sed 's/^/VMM-L2-DISKS seed /'
	umount /mnt/seed
fi
