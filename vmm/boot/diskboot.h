/* diskboot.h — boot straight from a disk image, without firmware or a
 * boot loader: find the ext2/3/4 filesystem holding Boot Loader
 * Specification entries (a separate /boot, or /boot inside the root
 * filesystem), choose the default entry the way grub2's blscfg does
 * (grubenv saved_entry, else the newest version) and hand back the
 * kernel and initramfs as sealed memfds plus the resolved command line.
 *
 * Callers load the files from diskboot__fd_path() ("/proc/self/fd/N"),
 * so the kernel loader needs nothing new.
 */
#ifndef VMM_DISKBOOT_H
#define VMM_DISKBOOT_H

#include <stddef.h>

struct disk;

/* Fixed caps; the caller lowers them for kernel and initrds together
 * through the disk's boot_files_max (devices/block/disk.h; vmm/disks.c sets
 * half the guest's RAM). */
#define DISKBOOT_KERNEL_MAX   (256ULL << 20)   /* bytes */
#define DISKBOOT_INITRD_MAX   (1ULL << 30)     /* all initrds together */
#define DISKBOOT_ENTRY_MAX    (64u << 10)      /* one entry file, grubenv */
#define DISKBOOT_ENTRIES_MAX  256              /* directory entries examined */

struct diskboot {
	int kernel_fd;       /* memfd (MFD_CLOEXEC, sealed) with the kernel */
	int initrd_fd;       /* memfd with the initrd(s), -1 if none */
	char *cmdline;       /* the entry's resolved options */
	char *description;   /* one line for the user: what boots from where */
};

/* Find the default boot entry on 'd' and load its files. 0, or -1 with
 * one line in err naming the image and what was searched or missing. */
int diskboot__find(struct disk *d, struct diskboot *out, char *err, size_t errlen);
void diskboot__free(struct diskboot *b);

/* "/proc/self/fd/N" for fd into buf. */
void diskboot__fd_path(int fd, char *buf, size_t len);

#endif
