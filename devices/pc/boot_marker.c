/* boot_marker.c — record guest-written marker bytes with a timestamp. */
#include <pthread.h>
#include <stdlib.h>

#include "devices/pc/boot_marker.h"
#include "vmm/log.h"
#include "vmm/util.h"

struct boot_marker_dev {
	uint64_t start_ns;
	/* vCPU threads write, the main thread prints at exit. */
	pthread_mutex_t lock;
	uint64_t ns[256];	/* first write of each value, since start_ns */
	uint32_t count[256];
};

static void marker_read(void *dev, uint64_t off, uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0;
}

static void marker_write(void *dev, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct boot_marker_dev *d = dev;
	uint64_t ns;

	if (len != 1)
		return;
	ns = util__now_ns() - d->start_ns;
	pthread_mutex_lock(&d->lock);
	if (d->count[data[0]]++ == 0)
		d->ns[data[0]] = ns;
	pthread_mutex_unlock(&d->lock);
	pr_debug("boot marker 0x%02x at %.1f ms", data[0], (double)ns / 1e6);
}

static const struct bus_dev_ops boot_marker_ops = {
	.read = marker_read,
	.write = marker_write,
};

struct boot_marker_dev *boot_marker__create(uint64_t start_ns)
{
	struct boot_marker_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->start_ns = start_ns;
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

void boot_marker__free(struct boot_marker_dev *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	free(d);
}

int boot_marker__register(struct boot_marker_dev *d, struct bus *bus, uint64_t addr)
{
	return bus__register(bus, addr, 1, &boot_marker_ops, d);
}

bool boot_marker__seen(struct boot_marker_dev *d, uint8_t value, uint64_t *ns, uint32_t *count)
{
	bool seen;

	pthread_mutex_lock(&d->lock);
	seen = d->count[value] != 0;
	*ns = d->ns[value];
	*count = d->count[value];
	pthread_mutex_unlock(&d->lock);
	return seen;
}

void boot_marker__print(struct boot_marker_dev *d)
{
	uint64_t last = 0;
	bool first = true;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		int next = -1;

		for (int v = 0; v < 256; v++)
			if (d->count[v] && (first || d->ns[v] > last) &&
			    (next < 0 || d->ns[v] < d->ns[next]))
				next = v;
		if (next < 0)
			break;
		pr_info("boot marker 0x%02x at %.1f ms (written %u times)", next,
			(double)d->ns[next] / 1e6, d->count[next]);
		last = d->ns[next];
		first = false;
	}
	pthread_mutex_unlock(&d->lock);
}
