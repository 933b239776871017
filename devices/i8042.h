/* i8042.h — the PS/2 keyboard controller, as much as Linux needs: status
 * and command ports, the controller command byte, self tests, and the
 * pulse-reset command (0xfe) that `reboot=k` uses. No keyboard is attached. */
#ifndef DEVICES_I8042_H
#define DEVICES_I8042_H

#include "vmm/bus.h"

#define I8042_DATA_PORT    0x60
#define I8042_COMMAND_PORT 0x64

struct i8042;

struct i8042 *i8042__create(void (*reset)(void *opaque), void *opaque);
void i8042__free(struct i8042 *k);
/* Register on ports 0x60 and 0x64. */
int i8042__register(struct i8042 *k, struct bus *pio);

#endif
