/* disk.h — a disk image as the block device sees it: a byte array of
 * 'size' bytes that can be read, written, flushed, discarded and zeroed,
 * whatever the file format underneath (devices/disk_raw.c: a plain file
 * or block device; devices/qcow2.c: qcow2 v2/v3 with backing chains;
 * a memory buffer: the generated cloud-init seed).
 *
 * Offsets and lengths are bytes; virtio-blk passes 512-byte sectors
 * multiplied out. Every call checks [off, off + len) against 'size' and
 * fails with -EINVAL outside it, so a guest can never reach beyond the
 * virtual disk. Calls may come from several threads at once: each format
 * serialises whatever it must (qcow2 metadata) itself.
 *
 * Errors: the I/O calls return 0 (or the byte count for preadv/pwritev,
 * always the full length on success) or a negative errno. disk__open()
 * writes one line naming the file and the problem into 'err'.
 */
#ifndef DEVICES_DISK_H
#define DEVICES_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct disk;

struct disk_ops {
	/* Read/write exactly the iovecs' total length at 'off'. Reads of
	 * unallocated areas return zeroes (or the backing file's data). */
	ssize_t (*preadv)(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
	ssize_t (*pwritev)(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off);
	/* Make completed writes (data and metadata) durable. */
	int (*flush)(struct disk *d);
	/* Optional (NULL = not supported): forget the range (reads may
	 * return zeroes or old data afterwards; for qcow2 they return the
	 * backing data or zeroes as the format allows). */
	int (*discard)(struct disk *d, uint64_t off, uint64_t len);
	/* Optional: the range reads as zeroes afterwards; 'unmap' allows
	 * freeing the space. */
	int (*write_zeroes)(struct disk *d, uint64_t off, uint64_t len, bool unmap);
	void (*close)(struct disk *d);
};

struct disk {
	const struct disk_ops *ops;
	void *priv;
	char *path;             /* as given (malloc'd), for messages */
	const char *format;     /* "raw", "qcow2", "memory" */
	uint64_t size;          /* virtual size, bytes */
	bool read_only;
	uint32_t block_size;    /* preferred I/O granularity for the guest (512 or 4096) */
	char serial[21];        /* VIRTIO_BLK_ID_BYTES (20) + NUL; may be empty */
};

enum disk_format { DISK_FORMAT_AUTO, DISK_FORMAT_RAW, DISK_FORMAT_QCOW2 };

/* Open an image. DISK_FORMAT_AUTO probes: qcow2 magic -> qcow2, else raw.
 * read_only opens the file O_RDONLY and refuses writes with -EROFS.
 * NULL on failure with one line in err. */
struct disk *disk__open(const char *path, enum disk_format fmt, bool read_only,
			char *err, size_t errlen);
/* A read-only disk over a memory buffer of 'len' bytes (taken over: freed
 * by disk__close). 'name' is for messages. */
struct disk *disk__open_mem(const char *name, void *buf, uint64_t len);
void disk__close(struct disk *d);

/* Convenience wrappers (bounds-checked like the ops). */
ssize_t disk__pread(struct disk *d, void *buf, size_t len, uint64_t off);
ssize_t disk__pwrite(struct disk *d, const void *buf, size_t len, uint64_t off);
/* True when [off, off + len) lies inside the disk (no overflow). */
bool disk__range_ok(const struct disk *d, uint64_t off, uint64_t len);

/* For format implementations (disk.c): allocate a struct disk with 'path'
 * copied, or NULL. */
struct disk *disk__alloc(const char *path, const char *format);

#endif
