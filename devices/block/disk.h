/* disk.h — a disk image as the block device sees it: a byte array of
 * 'size' bytes that can be read, written, flushed, discarded and zeroed,
 * whatever the file format underneath (devices/block/disk_raw.c: a plain file
 * or block device; devices/block/qcow2.c: qcow2 v2/v3 with backing chains;
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
	bool probed;            /* the format was guessed from the content (no
	                         * format=): a raw image then refuses writes that
	                         * would make it probe as something else */
	uint32_t block_size;    /* preferred I/O granularity for the guest (512 or 4096) */
	uint64_t refused_writes;        /* guest writes refused by the probe
	                                 * guard (atomic; `vmm stat`) */
	char serial[21];        /* VIRTIO_BLK_ID_BYTES (20) + NUL; may be empty */
	const struct disk *backing;     /* where unallocated reads go (qcow2),
	                                 * or NULL; owned by the format */
	uint64_t boot_files_max;        /* direct boot (vmm/boot/diskboot.c): kernel
	                                 * and initrds copied out of this image
	                                 * together at most (bytes); 0 = only the
	                                 * fixed DISKBOOT_*_MAX caps */
};

enum disk_format { DISK_FORMAT_AUTO, DISK_FORMAT_RAW, DISK_FORMAT_QCOW2 };

/* How many bytes at the start of an image the format probe looks at. */
#define DISK_PROBE_BYTES 512

struct disk_open_opts {
	enum disk_format format;   /* AUTO: probe (see disk__probe) */
	bool read_only;            /* O_RDONLY; writes fail with -EROFS */
	bool no_backing;           /* backing=off: refuse an image naming a backing file */
};

/* Open an image: locked against other writers (devices/block/disk_lock.h), the
 * format probed when not given, a qcow2's backing chain opened read-only
 * (regular files only, devices/block/qcow2.c). NULL on failure with one line
 * in err. */
struct disk *disk__open_opts(const char *path, const struct disk_open_opts *o,
			     char *err, size_t errlen);
/* The same with only a format and read_only. */
struct disk *disk__open(const char *path, enum disk_format fmt, bool read_only,
			char *err, size_t errlen);
/* What the first bytes of an image (up to DISK_PROBE_BYTES) say it is:
 * the qcow2 magic -> QCOW2, anything else -> RAW. */
enum disk_format disk__probe(const void *head, size_t len);
/* One line for the user: the image and its backing chain, e.g.
 * "overlay.qcow2 (qcow2) -> /img/base.qcow2 (qcow2)"; control characters
 * in names (they come from image headers) shown as '?'. */
void disk__describe(const struct disk *d, char *buf, size_t len);
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
