/* boot_marker.h — the boot-time marker port: each byte the guest writes is
 * recorded with the time since the VM started (as Cloud Hypervisor does
 * with port 0x80), so boot phases can be timed from outside. */
#ifndef DEVICES_BOOT_MARKER_H
#define DEVICES_BOOT_MARKER_H

#include "vmm/bus.h"

#define BOOT_MARKER_PORT 0x80

struct vm;
struct boot_marker_dev;

struct boot_marker_dev *boot_marker__create(struct vm *vm);
void boot_marker__free(struct boot_marker_dev *d);
int boot_marker__register(struct boot_marker_dev *d, struct bus *bus, uint64_t addr);

#endif
