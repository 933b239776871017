/* boot_marker.h — the boot-time marker port: each byte the guest writes is
 * recorded with the time since the VM started (as Cloud Hypervisor does
 * with port 0x80), so boot phases can be timed from outside. The device
 * keeps its own times and counts; the platform decides where it sits. */
#ifndef DEVICES_BOOT_MARKER_H
#define DEVICES_BOOT_MARKER_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"

#define BOOT_MARKER_PORT 0x80

struct boot_marker_dev;

/* Times are taken from util__now_ns() and reported since start_ns. */
struct boot_marker_dev *boot_marker__create(uint64_t start_ns);
void boot_marker__free(struct boot_marker_dev *d);
int boot_marker__register(struct boot_marker_dev *d, struct bus *bus, uint64_t addr);
/* When 'value' was first written (ns since start) and how often; false if
 * never. */
bool boot_marker__seen(struct boot_marker_dev *d, uint8_t value, uint64_t *ns, uint32_t *count);
/* One line per value written, in order of first appearance:
 * "boot marker 0xNN at T ms (written N times)". */
void boot_marker__print(struct boot_marker_dev *d);

#endif
