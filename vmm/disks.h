/* disks.h — the VM's block devices: the --disk images, the cloud-init
 * seed (--root-password/--ssh-key/--cloud-init), the boot entry read
 * from the first disk when there is no --kernel, and one virtio-blk PCI
 * function per disk. */
#ifndef VMM_DISKS_H
#define VMM_DISKS_H

#include <stdbool.h>

#include "vmm/cli.h"
#include "vmm/boot/diskboot.h"

struct vm_services;
struct disk;
struct blk_dev;
struct virtio_pci;
struct privs;

#define VMM_MAX_BLK (VMM_MAX_DISKS + 1)   /* the seed comes last */

struct vm_disks {
	int nr;
	struct disk *disk[VMM_MAX_BLK];
	struct blk_dev *blk[VMM_MAX_BLK];
	struct virtio_pci *pci[VMM_MAX_BLK];
	bool has_seed;
	bool disk_boot;              /* kernel/initrd/cmdline from disk 0 */
	struct diskboot boot;
	char kernel_path[64], initrd_path[64];
	char *cmdline;
};

/* Before KVM is touched (user errors first): open every image, build the
 * seed, and with no --kernel find disk 0's boot entry (in a child that
 * runs as privs' parser user, under the parser filter when
 * cfg->seccomp), pointing cfg->kernel/initrd/params at it. -1 with one
 * line printed. */
int disks__open(struct vm_disks *dk, struct vm_config *cfg, const struct privs *privs);
/* Put each disk on the guest's PCI bus (after the PCI host exists). */
int disks__attach(struct vm_disks *dk, const struct vm_services *svc);
/* Before the guest runs: start every disk's worker thread (each loads
 * its own seccomp filter). 0 or -1 with the reason printed. */
int disks__start(struct vm_disks *dk);
/* After the vCPU and I/O threads have stopped: devices first, then the
 * images (flushed and closed). */
void disks__close(struct vm_disks *dk);

#endif
