/* pl031.h — an ARM PrimeCell PL031 real-time clock on MMIO: a 32-bit
 * seconds counter the guest reads (Linux's rtc-pl031, built into Debian's
 * arm64 kernel, sets the system clock from it at boot), loadable, with the
 * match register and its interrupt. The host's UTC time is its reference;
 * it knows nothing of KVM: the interrupt line goes through a callback, so
 * unit tests drive it directly. */
#ifndef DEVICES_PL031_H
#define DEVICES_PL031_H

#include <stdint.h>

#include "vmm/bus.h"

#define PL031_SIZE 0x1000	/* registers and the PrimeCell ID words */

struct pl031;

struct pl031_ops {
	/* Drive the interrupt line (level 1 while a match is pending and
	 * unmasked). */
	void (*set_irq)(void *opaque, int level);
	/* Seconds since the epoch (NULL: the host's CLOCK_REALTIME). */
	uint64_t (*now)(void *opaque);
};

struct pl031 *pl031__create(const struct pl031_ops *ops, void *opaque);
void pl031__free(struct pl031 *r);

/* The bus ops for the PL031_SIZE window; dev = the struct pl031 *. */
extern const struct bus_dev_ops pl031__bus_ops;

#endif
