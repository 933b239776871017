/* extfs.h — read-only access to an ext2/3/4 filesystem that lies inside
 * a disk image (a partition of a struct disk), through libext2fs with an
 * io_manager that reads via disk__pread — so raw and qcow2 images work
 * alike and nothing is ever written.
 *
 * Paths are relative to the filesystem's root ("/boot/x" and "boot/x"
 * are the same); symbolic links are followed (relative ones from their
 * directory, absolute ones from this filesystem's root), at most 8 deep.
 * Functions return 0 or a negative errno (-ENOENT: no such file,
 * -ENOTDIR, -ELOOP, -EISDIR, -EFBIG: over the caller's cap, -EIO: the
 * filesystem is corrupt) and put one line into err.
 */
#ifndef DEVICES_EXTFS_H
#define DEVICES_EXTFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct disk;
struct extfs;

enum extfs_type { EXTFS_OTHER, EXTFS_FILE, EXTFS_DIR };

/* True when [offset, offset+size) of 'd' starts with an ext2/3/4
 * superblock (magic 0xEF53 at byte 1080); a cheap check before _open. */
bool extfs__probe(struct disk *d, uint64_t offset, uint64_t size);

/* Open the filesystem in [offset, offset+size) of 'd' read-only. 'd'
 * must outlive the handle. NULL with one line in err. */
struct extfs *extfs__open(struct disk *d, uint64_t offset, uint64_t size,
			  char *err, size_t errlen);
void extfs__close(struct extfs *fs);

/* "ext2", "ext3" or "ext4" from the feature flags; the volume label. */
const char *extfs__kind(const struct extfs *fs);
const char *extfs__label(const struct extfs *fs);

/* What 'path' is (after following links) and its size in bytes. */
int extfs__stat(struct extfs *fs, const char *path, enum extfs_type *type,
		uint64_t *size, char *err, size_t errlen);

/* Read a whole regular file of at most 'cap' bytes into a malloc()ed
 * buffer (NUL-terminated, the NUL not counted in *len). */
int extfs__read_file(struct extfs *fs, const char *path, size_t cap,
		     uint8_t **buf, size_t *len, char *err, size_t errlen);

/* Copy a whole regular file of at most 'cap' bytes to 'fd' (at its
 * current position); *len gets the byte count. */
int extfs__read_to_fd(struct extfs *fs, const char *path, uint64_t cap, int fd,
		      uint64_t *len, char *err, size_t errlen);

/* The names in directory 'path' ("." and ".." left out), at most 'max'
 * of them (*truncated says whether there were more), in directory
 * order. Free with extfs__free_names. */
int extfs__list_dir(struct extfs *fs, const char *path, size_t max, char ***names,
		    size_t *count, bool *truncated, char *err, size_t errlen);
void extfs__free_names(char **names, size_t count);

#endif
