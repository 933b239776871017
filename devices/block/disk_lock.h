/* disk_lock.h — the locks that keep two writers off one image file:
 * vmm's own flock() (vmm against vmm, with the "in use by another vmm"
 * message) and QEMU's byte-range locks, so that a running QEMU, qemu-img
 * and qemu-io see vmm's use of an image and vmm sees theirs.
 *
 * QEMU (block/file-posix.c) describes each user of an image by the
 * permissions it holds and those it lets others have, each one byte of
 * the file locked shared with an open-file-description lock:
 *   byte 100 + i  while holding permission i
 *   byte 200 + i  while NOT sharing permission i with others
 * (i: 0 consistent read, 1 write, 2 write unchanged, 3 resize), and
 * refuses to open when another process's lock on 200 + i stands for a
 * permission it needs, or one on 100 + i for one it will not share.
 * vmm takes the same bytes: a writer holds all four permissions and
 * shares only consistent read and write-unchanged (as QEMU's qcow2 or a
 * writable disk does); a reader, backing files included, holds
 * consistent read and shares the same (as QEMU's backing files). So a
 * vmm writer refuses and is refused by any QEMU writer or reader of the
 * image, and readers share it with readers.
 */
#ifndef DEVICES_DISK_LOCK_H
#define DEVICES_DISK_LOCK_H

#include <stdbool.h>
#include <stddef.h>

/* QEMU's lock bytes and permission bits. */
#define DISK_LOCK_PERM_BASE   100
#define DISK_LOCK_SHARED_BASE 200
enum disk_lock_perm {
	DISK_PERM_CONSISTENT_READ = 1 << 0,
	DISK_PERM_WRITE           = 1 << 1,
	DISK_PERM_WRITE_UNCHANGED = 1 << 2,
	DISK_PERM_RESIZE          = 1 << 3,
	DISK_PERM_ALL             = 0xf,
};

/* Lock the image open on 'fd' (path for messages) for writing or for
 * reading. The locks live as long as the open file description (closing
 * fd drops them). 0, or -1 with one line in err naming who holds it. On
 * a file system without byte-range locks only flock() is used. */
int disk_lock__take(int fd, const char *path, bool write, char *err, size_t errlen);

#endif
