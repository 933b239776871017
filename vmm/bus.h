/* bus.h — port-I/O and MMIO address decoding.
 *
 * A device registers a range with a small ops table; a vCPU exit is
 * dispatched by address to the device's read or write with the offset
 * into its range. Reads from addresses no device claims return all ones,
 * writes to them are dropped, as on a real bus.
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

struct bus_range {
	uint64_t base, len;
	const struct bus_dev_ops *ops;
	void *dev;
};

struct bus {
	const char *name;          /* "pio" or "mmio", for messages */
	struct bus_range *range;   /* sorted by base, never overlapping */
	int nr, cap;
	pthread_rwlock_t lock;     /* writers: (un)register, e.g. BAR moves */
};

int bus__init(struct bus *b, const char *name);
void bus__destroy(struct bus *b);
/* -EEXIST if the range overlaps one already registered. */
int bus__register(struct bus *b, uint64_t base, uint64_t len,
		  const struct bus_dev_ops *ops, void *dev);
int bus__unregister(struct bus *b, uint64_t base);
/* Return true when a device claimed the access. */
bool bus__read(struct bus *b, uint64_t addr, uint8_t *data, uint32_t len);
bool bus__write(struct bus *b, uint64_t addr, const uint8_t *data, uint32_t len);

#endif
