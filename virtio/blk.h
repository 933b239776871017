/* blk.h — the virtio-blk device model (virtio 1.x spec 5.2), modern only.
 *
 * One request queue (queue 0) over a struct disk (devices/block/disk.h). The
 * device serves IN, OUT, FLUSH, GET_ID and, when the disk can, DISCARD
 * and WRITE_ZEROES; it offers RO for a read-only disk.
 *
 * Threads: requests are served by a per-device worker thread, never on
 * the vCPU threads nor on the I/O thread: a kick (notify, I/O thread)
 * only wakes the worker, which pops a batch of chains under vdev->lock,
 * does the disk I/O without it, then publishes the batch's completions
 * at once with at most one interrupt. A reset waits until no request is
 * in flight, so nothing lands in guest memory after it. The worker starts
 * at the first DRIVER_OK (vdev->lock, which the transport initialises,
 * exists by then), or earlier through blk_dev__start(): a VMM under
 * seccomp starts it before the guest runs, because a vCPU thread may not
 * create threads, and the worker installs its own (blk) filter.
 *
 * Usage:
 *	bd = blk_dev__create(&(struct blk_dev_config){ .disk = d });
 *	vp = virtio_pci__create(vm, host, blk_dev__virtio(bd));
 *	...
 *	blk_dev__destroy(bd);   (vCPUs stopped, before virtio_pci__free(vp))
 *	virtio_pci__free(vp);
 *	disk__close(d);
 */
#ifndef VIRTIO_BLK_H
#define VIRTIO_BLK_H

#include <stdint.h>

#include "virtio/virtio.h"

struct disk;

#define BLK_QUEUE              0
#define BLK_NR_QUEUES          1
#define BLK_DEFAULT_QUEUE_SIZE 256

struct blk_dev_config {
	struct disk *disk;          /* not owned: the caller closes it */
	uint16_t queue_size;        /* 0: BLK_DEFAULT_QUEUE_SIZE */
};

/* Host-side counters; they survive device resets. Requests are counted
 * by type whatever their outcome; bytes only for successful transfers. */
struct blk_dev_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids;
	uint64_t others;            /* unknown request types (UNSUPP) */
	uint64_t bytes_read, bytes_written;
	uint64_t errors;            /* requests completed with IOERR */
	uint64_t kicks, interrupts;
	/* refused guest actions: */
	uint64_t needs_reset;       /* protocol violations, bad rings included */
	uint64_t refused_writes;    /* sector-0 writes a probed raw image refused */
};

struct blk_dev;

/* NULL on failure (reason printed): no disk, a disk smaller than one
 * sector, or a queue size that is not a power of two. */
struct blk_dev *blk_dev__create(const struct blk_dev_config *cfg);
/* Stops and joins the worker (a request in flight is finished first, its
 * completion not published). Call with the vCPUs stopped and before the
 * transport is freed. Does not close the disk. NULL is ignored. */
void blk_dev__destroy(struct blk_dev *bd);
struct virtio_dev *blk_dev__virtio(struct blk_dev *bd);
/* Start the worker now (after virtio_pci__create) and wait until it has
 * loaded its seccomp filter. 0, or -1 with the reason printed. */
int blk_dev__start(struct blk_dev *bd);
/* A consistent-enough snapshot, from any thread, without locks. */
void blk_dev__stats(struct blk_dev *bd, struct blk_dev_stats *out);
/* The worker thread's kernel tid (for its CPU time in /proc), from any
 * thread; 0 until the worker has started (first DRIVER_OK). */
int blk_dev__worker_tid(struct blk_dev *bd);

#endif
