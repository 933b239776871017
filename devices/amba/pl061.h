/* pl061.h — an ARM PrimeCell PL061 GPIO controller on MMIO: eight lines
 * with direction, edge or level interrupts and the masked-address data
 * register Linux's gpio-pl061 uses. vmm drives input lines from the host
 * side; the arm64 platform wires line 3 to the device tree's gpio-keys
 * power button (`vmm stop`). It knows nothing of KVM: the interrupt line
 * goes through a callback, so unit tests drive it directly. */
#ifndef DEVICES_PL061_H
#define DEVICES_PL061_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

#define PL061_SIZE   0x1000
#define PL061_NR_GPIOS 8

struct pl061;

struct pl061_ops {
	/* Drive the interrupt line (level 1 while an unmasked interrupt is
	 * pending). */
	void (*set_irq)(void *opaque, int level);
};

struct pl061 *pl061__create(const struct pl061_ops *ops, void *opaque);
void pl061__free(struct pl061 *g);

/* The bus ops for the PL061_SIZE window; dev = the struct pl061 *. */
extern const struct bus_dev_ops pl061__bus_ops;

/* Set an input line's level from outside (an output line ignores it). */
void pl061__set_input(struct pl061 *g, unsigned pin, int level);
/* A button on 'pin': pressed now, released by itself once the guest has
 * read the line as pressed (the edge interrupt then tells it about the
 * release), so a press is never shorter than the guest's look at it.
 * Returns whether the guest has the line's interrupt enabled, i.e. a
 * driver listens; either way the line stays high until the guest reads it
 * (gpio-keys reads its keys when its input device is opened). */
bool pl061__press(struct pl061 *g, unsigned pin);

#endif
