/* boot_marker.c — record guest-written marker bytes with a timestamp. */
#include <stdlib.h>

#include "devices/boot_marker.h"
#include "vmm/vm.h"

struct boot_marker_dev {
	struct vm *vm;
};

static void marker_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0;
}

static void marker_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct boot_marker_dev *d = dev;

	if (len == 1)
		vm__record_marker(d->vm, data[0]);
}

static const struct bus_dev_ops boot_marker_ops = {
	.read = marker_read,
	.write = marker_write,
};

struct boot_marker_dev *boot_marker__create(struct vm *vm)
{
	struct boot_marker_dev *d = calloc(1, sizeof(*d));

	if (d)
		d->vm = vm;
	return d;
}

void boot_marker__free(struct boot_marker_dev *d)
{
	free(d);
}

int boot_marker__register(struct boot_marker_dev *d, struct bus *bus, uint64_t addr)
{
	return bus__register(bus, addr, 1, &boot_marker_ops, d);
}
