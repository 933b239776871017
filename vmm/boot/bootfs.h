/* bootfs.h — one read-only view over the filesystems direct boot reads
 * (ext2/3/4 through libext2fs, btrfs through vmm/boot/btrfs.c), so the
 * boot search (vmm/boot/diskboot.c) walks both alike: an ops table with the
 * calls both readers share, as vmm/boot/extfs.h documents them (paths from
 * the filesystem's root; 0 or a negative errno, one line in err).
 *
 * "Roots" are the places a boot loader may treat as the root of the
 * system: "" (the filesystem itself; on btrfs the top-level subvolume,
 * which is what GRUB sees without a default subvolume) and, on btrfs,
 * the default subvolume and every top-level subvolume ("/root",
 * "/boot", ...), where Fedora, openSUSE and others keep the system.
 */
#ifndef VMM_BOOTFS_H
#define VMM_BOOTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct disk;
struct bootfs;

enum bootfs_type { BOOTFS_OTHER, BOOTFS_FILE, BOOTFS_DIR };

#define BOOTFS_MAX_ROOTS 16

/* Open the filesystem in [offset, offset+size) of 'd' when it is one
 * vmm reads. NULL with *kind = NULL: none that vmm reads (the caller
 * names what it is); NULL with *kind set ("ext4", "btrfs") and one line
 * in err: one that vmm reads but this one cannot be opened. */
struct bootfs *bootfs__open(struct disk *d, uint64_t offset, uint64_t size,
			    const char **kind, char *err, size_t errlen);
void bootfs__close(struct bootfs *fs);

const char *bootfs__kind(const struct bootfs *fs);

int bootfs__stat(struct bootfs *fs, const char *path, enum bootfs_type *type,
		 uint64_t *size, char *err, size_t errlen);
int bootfs__read_file(struct bootfs *fs, const char *path, size_t cap, uint8_t **buf,
		      size_t *len, char *err, size_t errlen);
int bootfs__read_to_fd(struct bootfs *fs, const char *path, uint64_t cap, int fd,
		       uint64_t *len, char *err, size_t errlen);
int bootfs__list_dir(struct bootfs *fs, const char *path, size_t max, char ***names,
		     size_t *count, bool *truncated, char *err, size_t errlen);
void bootfs__free_names(struct bootfs *fs, char **names, size_t count);

/* The roots to search, in order, as paths ("" first, then "/NAME" for
 * btrfs subvolumes); at most BOOTFS_MAX_ROOTS. Free with
 * bootfs__free_roots. */
int bootfs__roots(struct bootfs *fs, char ***roots, size_t *count, char *err, size_t errlen);
void bootfs__free_roots(char **roots, size_t count);

#endif
