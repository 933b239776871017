/* qcow2.h — the qcow2 image format (versions 2 and 3), read-write:
 * L1/L2 tables, refcounts, copy-on-write cluster allocation, backing
 * chains (raw or qcow2, relative names resolved against the image's own
 * directory, as qemu-img does), zlib- and zstd-compressed clusters (read;
 * a write to one copies it out into a fresh cluster). Images vmm writes
 * pass `qemu-img check` without errors or leaks. A backing file is always
 * opened read-only. Unsupported features (encryption, external data
 * files, extended L2 entries, unknown incompatible bits, a dirty or
 * corrupt image opened for writing) are refused at open with one line;
 * so are images with internal snapshots opened for writing (read-only is
 * fine). Backing chains are limited to 16 images (loops are refused);
 * a backing file must be a regular file (never a FIFO, device or
 * directory) and is locked shared like any read-only image.
 *
 * Writes: discard and write_zeroes use the v3 zero flag (or unallocate
 * clusters when there is no backing file); v2 with a backing file turns
 * discard into a no-op. Metadata is written in crash-safe order (see
 * devices/block/qcow2_priv.h): a crash leaves at worst leaked clusters; flush
 * writes cached L2/L1 tables back and applies deferred refcount
 * decrements. A bad table entry met at run time fails that I/O with -EIO,
 * logs one line and stops all further writes to the image.
 */
#ifndef DEVICES_QCOW2_H
#define DEVICES_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/block/disk.h"

#define QCOW2_MAGIC 0x514649fbu   /* "QFI\xfb" */

/* True if the first bytes of a file (at least 4) carry the qcow2 magic. */
bool qcow2__probe(const void *head, size_t len);
/* Open 'fd' (already opened on 'path', O_RDWR unless read_only, and
 * locked; taken over: closed on failure and by close()). Without
 * allow_backing an image naming a backing file is refused. NULL with one
 * line in err. */
struct disk *qcow2__open(int fd, const char *path, bool read_only, bool allow_backing,
			 char *err, size_t errlen);

#endif
