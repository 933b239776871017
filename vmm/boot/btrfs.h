/* btrfs.h — read-only access to a single-device btrfs filesystem that
 * lies inside a disk image (a partition of a struct disk), read through
 * disk__pread so raw and qcow2 images work alike; nothing is written.
 *
 * Paths are from the top-level subvolume (subvolid 5), as GRUB sees the
 * filesystem: "/boot/loader/entries/x.conf" is the file inside the
 * top-level subvolume named "boot". "/x" and "x" are the same; ".." is
 * taken lexically (it goes back to the directory the walk came from, so
 * it works across subvolume boundaries). Symbolic links are followed
 * (relative ones from their directory, absolute ones from the top level),
 * at most 8 deep.
 *
 * Functions return 0 or a negative errno (-ENOENT: no such file,
 * -ENOTDIR, -ELOOP, -EISDIR, -EFBIG: over the caller's cap, -EIO: the
 * filesystem is corrupt, -ENOTSUP: a feature this reader refuses) and put
 * one line into err. Every value read from the image is untrusted.
 */
#ifndef DEVICES_BTRFS_H
#define DEVICES_BTRFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct disk;
struct btrfs;

enum btrfs_type { BTRFS_TYPE_OTHER, BTRFS_TYPE_FILE, BTRFS_TYPE_DIR };

/* True when [offset, offset+size) of 'd' holds the btrfs magic at
 * 64 KiB + 64 (the primary superblock); a cheap check before _open. */
bool btrfs__probe(struct disk *d, uint64_t offset, uint64_t size);

/* Open the filesystem in [offset, offset+size) of 'd' read-only. 'd'
 * must outlive the handle. A bad primary superblock falls back to the
 * backup copies (64 MiB, 256 GiB) with a warning. NULL with one line in
 * err. */
struct btrfs *btrfs__open(struct disk *d, uint64_t offset, uint64_t size,
			  char *err, size_t errlen);
void btrfs__close(struct btrfs *fs);

/* The label ("" when none); the fsid as 8-4-4-4-12 lowercase hex. */
const char *btrfs__label(const struct btrfs *fs);
const char *btrfs__uuid(const struct btrfs *fs);

/* What 'path' is (after following links) and its size in bytes. */
int btrfs__stat(struct btrfs *fs, const char *path, enum btrfs_type *type,
		uint64_t *size, char *err, size_t errlen);

/* Read a whole regular file of at most 'cap' bytes into a malloc()ed
 * buffer (NUL-terminated, the NUL not counted in *len). */
int btrfs__read_file(struct btrfs *fs, const char *path, size_t cap,
		     uint8_t **buf, size_t *len, char *err, size_t errlen);

/* Copy a whole regular file of at most 'cap' bytes to 'fd' (at its
 * current position); *len gets the byte count. */
int btrfs__read_to_fd(struct btrfs *fs, const char *path, uint64_t cap, int fd,
		      uint64_t *len, char *err, size_t errlen);

/* The names in directory 'path' ("." and ".." left out), at most 'max'
 * of them (*truncated says whether there were more), in directory index
 * (creation) order. Free with btrfs__free_names. */
int btrfs__list_dir(struct btrfs *fs, const char *path, size_t max, char ***names,
		    size_t *count, bool *truncated, char *err, size_t errlen);
void btrfs__free_names(char **names, size_t count);

/* The subvolumes directly under the top level (in its root directory),
 * by name, e.g. "root", "boot", "home", "var", in subvolume id order. */
int btrfs__list_subvolumes(struct btrfs *fs, char ***names, size_t *count,
			   char *err, size_t errlen);

/* The default subvolume's path from the top level, e.g. "root" or
 * "a/b" ("" when it is the top level itself). -ERANGE when it does not
 * fit in 'len' bytes. */
int btrfs__default_subvolume(struct btrfs *fs, char *path, size_t len,
			     char *err, size_t errlen);

#endif
