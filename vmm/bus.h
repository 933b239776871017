/* bus.h — port-I/O and MMIO address decoding.
 *
 * A device registers a range with a small ops table; a vCPU exit is
 * dispatched by address to the device's read or write with the offset
 * into its range. Reads from addresses no device claims return all ones,
 * writes to them are dropped, as on a real bus.
 *
 * Locking: the range table is looked up under a read lock, but the
 * device's handler runs without it. The range is pinned instead (an
 * in-flight count on its registration), so a handler may itself register
 * and unregister other ranges on any bus: a PCI config write that moves a
 * BAR, arriving through an ECAM window on the same MMIO bus the BAR lives
 * on. bus__unregister() takes the range out of the table, then waits
 * until no call into it is in flight, so once it returns the caller may
 * free the device. Hence a handler must never unregister its own range
 * (it would wait for itself), and whoever unregisters must not hold a
 * lock that the range's handler takes.
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_dev_ops {
	void (*read)(void *dev, uint64_t offset, uint8_t *data, uint32_t len);
	void (*write)(void *dev, uint64_t offset, const uint8_t *data, uint32_t len);
};

/* One registration, allocated on its own so a call in flight can keep
 * using it after the table has changed. */
struct bus_range {
	uint64_t base, len;
	const struct bus_dev_ops *ops;
	void *dev;
	/* Private to bus.c. */
	int inflight;              /* handler calls running (atomic) */
	bool removed;              /* off the table; unregister waits (atomic) */
};

struct bus {
	const char *name;          /* "pio" or "mmio", for messages */
	struct bus_range **range;  /* sorted by base, never overlapping */
	int nr, cap;
	pthread_rwlock_t lock;     /* the table; writers: (un)register */
	pthread_mutex_t idle_lock; /* with 'idle': unregister waits for calls */
	pthread_cond_t idle;
};

int bus__init(struct bus *b, const char *name);
/* Frees every range still registered; no access may be running. */
void bus__destroy(struct bus *b);
/* -EEXIST if the range overlaps one already registered. */
int bus__register(struct bus *b, uint64_t base, uint64_t len,
		  const struct bus_dev_ops *ops, void *dev);
/* Remove the range at 'base' and wait for its running handlers to return
 * (never from that range's own handler). -ENOENT if there is none. */
int bus__unregister(struct bus *b, uint64_t base);
/* Return true when a device claimed the access. */
bool bus__read(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len);
bool bus__write(struct bus *b, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
