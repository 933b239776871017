/* i8042.h — the PS/2 keyboard controller, as much as Linux needs: status
 * and command ports, the controller command byte, self tests, keyboard
 * (IRQ 1) and aux (IRQ 12) interrupts, and the pulse-reset command (0xfe)
 * that `reboot=k` uses. An idle keyboard answers commands; no mouse. */
#ifndef DEVICES_I8042_H
#define DEVICES_I8042_H

#include "vmm/bus.h"

#define I8042_DATA_PORT    0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_KBD_IRQ      1
#define I8042_AUX_IRQ      12

struct i8042;

struct i8042_ops {
	/* The CPU reset line was pulsed (may be called more than once). */
	void (*reset)(void *opaque);
	/* Drive IRQ 1 or 12: level 1 while the output buffer holds a byte
	 * for that port and its interrupt is enabled in the command byte. */
	void (*set_irq)(void *opaque, int irq, int level);
};

struct i8042 *i8042__create(const struct i8042_ops *ops, void *opaque);
void i8042__free(struct i8042 *k);
/* Register on ports 0x60 and 0x64. */
int i8042__register(struct i8042 *k, struct bus *pio);

#endif
