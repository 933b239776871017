/* disks.c — the VM's block devices, from options to PCI functions.
 *
 *   --disk IMAGE ...        disk__open_opts (raw or qcow2) -> vda, vdb, ...
 *                           (each with its backing chain, one line)
 *   --root-password etc.    cidata__create (NoCloud seed)  -> the last vdX
 *   no --kernel             diskboot__find on vda, in a child without
 *                           privileges (parse_child.c): the default
 *                           entry's kernel and initramfs (memfds, at most
 *                           half the guest's RAM together) and options
 *   each disk               blk_dev (virtio-blk) on a virtio-pci function
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/cidata.h"
#include "devices/block/disk.h"
#include "virtio/blk.h"
#include "virtio/pci.h"
#include "vmm/disks.h"
#include "vmm/log.h"
#include "vmm/parse_child.h"
#include "vmm/privs.h"

static int open_seed(struct vm_disks *dk, const struct vm_config *cfg)
{
	struct cidata_config c = {
		.hostname = cfg->name ? cfg->name : "vmm",
		.root_password = cfg->root_password[0] ? cfg->root_password : NULL,
		.ssh_key_path = cfg->ssh_key,
		.user_data_path = cfg->cloud_init,
	};
	char err[256];
	struct disk *d;

	d = cidata__create(&c, err, sizeof(err));
	if (!d) {
		pr_err("%s", err);
		return -1;
	}
	snprintf(d->serial, sizeof(d->serial), "cidata");
	dk->disk[dk->nr++] = d;
	dk->has_seed = true;
	return 0;
}

/* The entry's options, then -p (or the default console settings), then
 * what the seed needs. */
static int disk_boot(struct vm_disks *dk, struct vm_config *cfg, const struct privs *privs)
{
	const char *extra = cfg->params ? cfg->params : "";
	struct parse_child_opts o = { .seccomp = cfg->seccomp };
	char err[512];
	size_t len;

	/* The kernel and initramfs come from the image: together at most
	 * half the guest's RAM (they must fit in it with room to unpack
	 * and run), whatever size the image claims for them. */
	dk->disk[0]->boot_files_max = cfg->mem_bytes / 2;
	/* The image's filesystems are parsed by a child that holds nothing:
	 * --user (or nobody), read-only disks, the parser filter. */
	o.switch_ids = privs__parser_ids(privs, &o.uid, &o.gid);
	if (parse_child__find(dk->disk[0], &dk->boot, &o, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return -1;
	}
	dk->disk_boot = true;
	diskboot__fd_path(dk->boot.kernel_fd, dk->kernel_path, sizeof(dk->kernel_path));
	cfg->kernel = dk->kernel_path;
	if (dk->boot.initrd_fd >= 0) {
		diskboot__fd_path(dk->boot.initrd_fd, dk->initrd_path, sizeof(dk->initrd_path));
		cfg->initrd = dk->initrd_path;
	}
	len = strlen(dk->boot.cmdline) + strlen(extra) + 32;
	dk->cmdline = malloc(len);
	if (!dk->cmdline)
		return -1;
	snprintf(dk->cmdline, len, "%s%s%s%s", dk->boot.cmdline, *extra ? " " : "", extra,
		 dk->has_seed ? " ds=nocloud" : "");
	cfg->params = dk->cmdline;
	return 0;
}

/* Once every disk is open and the boot entry found (a failure is then
 * the only line): every file the guest will read, one line per disk, so
 * a backing file named by a downloaded image is no surprise; then what
 * boots. */
static void say_what_opened(const struct vm_disks *dk, const struct vm_config *cfg)
{
	for (int i = 0; i < cfg->nr_disks && i < dk->nr; i++) {
		char chain[1024];

		disk__describe(dk->disk[i], chain, sizeof(chain));
		pr_info("vd%c: %s", 'a' + i, chain);
	}
	if (!dk->disk_boot)
		return;
	if (cfg->sized_for_disk)
		pr_info("%s (%llu MiB, %d vCPUs: the sizes for a disk boot; --mem/--cpus change them)",
			dk->boot.description, (unsigned long long)(cfg->mem_bytes >> 20), cfg->nr_cpus);
	else
		pr_info("%s", dk->boot.description);
}

int disks__open(struct vm_disks *dk, struct vm_config *cfg, const struct privs *privs)
{
	int r = 0;

	memset(dk, 0, sizeof(*dk));
	dk->boot.kernel_fd = dk->boot.initrd_fd = -1;
	for (int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *c = &cfg->disk[i];
		struct disk_open_opts o = {
			.format = c->format, .read_only = c->read_only, .no_backing = c->no_backing,
		};
		char err[512];
		struct disk *d = disk__open_opts(c->path, &o, err, sizeof(err));

		if (!d) {
			pr_err("%s", err);
			return -1;
		}
		if (c->serial[0])
			snprintf(d->serial, sizeof(d->serial), "%s", c->serial);
		dk->disk[dk->nr++] = d;
	}
	if ((cfg->root_password[0] || cfg->ssh_key || cfg->cloud_init) && open_seed(dk, cfg) < 0)
		return -1;
	/* No --kernel: boot the first image. (No kernel and no image is a
	 * library caller loading its own guest, e.g. tests/guests.) */
	if (!cfg->kernel && cfg->nr_disks > 0) {
		r = disk_boot(dk, cfg, privs);
	} else if (dk->has_seed && cfg->params) {
		size_t len = strlen(cfg->params) + 16;

		dk->cmdline = malloc(len);
		if (!dk->cmdline)
			return -1;
		snprintf(dk->cmdline, len, "%s ds=nocloud", cfg->params);
		cfg->params = dk->cmdline;
	}
	if (r == 0)
		say_what_opened(dk, cfg);
	return r;
}

int disks__attach(struct vm_disks *dk, const struct vm_services *svc)
{
	for (int i = 0; i < dk->nr; i++) {
		struct blk_dev_config c = { .disk = dk->disk[i] };

		dk->blk[i] = blk_dev__create(&c);
		if (!dk->blk[i])
			return -1;
		dk->pci[i] = virtio_pci__create(svc, blk_dev__virtio(dk->blk[i]));
		if (!dk->pci[i])
			return -1;
		pr_debug("vd%c: %s (%s%s, %llu MiB)", 'a' + i, dk->disk[i]->path,
			 dk->disk[i]->format, dk->disk[i]->read_only ? ", read-only" : "",
			 (unsigned long long)(dk->disk[i]->size >> 20));
	}
	return 0;
}

int disks__start(struct vm_disks *dk)
{
	for (int i = 0; i < dk->nr; i++)
		if (dk->blk[i] && blk_dev__start(dk->blk[i]) < 0)
			return -1;
	return 0;
}

void disks__close(struct vm_disks *dk)
{
	for (int i = 0; i < VMM_MAX_BLK; i++) {
		/* The worker first: a request in flight may still signal
		 * through the transport. */
		if (dk->blk[i])
			blk_dev__destroy(dk->blk[i]);
		if (dk->pci[i])
			virtio_pci__free(dk->pci[i]);
		if (dk->disk[i]) {
			int r = dk->disk[i]->read_only ? 0 : dk->disk[i]->ops->flush(dk->disk[i]);

			if (r < 0)
				pr_warn("disk %s: flush at exit failed: %s", dk->disk[i]->path,
					strerror(-r));
			disk__close(dk->disk[i]);
		}
		dk->pci[i] = NULL;
		dk->blk[i] = NULL;
		dk->disk[i] = NULL;
	}
	if (dk->disk_boot)
		diskboot__free(&dk->boot);
	dk->disk_boot = false;
	free(dk->cmdline);
	dk->cmdline = NULL;
	dk->nr = 0;
}
