/* pl031.c — the PL031 RTC (pl031.h), after the PrimeCell PL031 technical
 * reference manual (ARM DDI 0224): 32-bit registers, word accesses only.
 *
 * The counter is kept as an offset from the host's clock, so it runs while
 * nobody reads it and costs nothing in between: RTCDR = now + offset, and
 * a load (RTCLR) moves the offset. The match interrupt is evaluated when
 * the guest touches the device (there is no timer behind it): enough for
 * the kernel's probe and for reading the time, which is what guests use it
 * for; an alarm set in the future fires at the first access at or after
 * its second. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/amba/pl031.h"

#define RTCDR    0x00	/* data: the current count (RO) */
#define RTCMR    0x04	/* match */
#define RTCLR    0x08	/* load */
#define RTCCR    0x0c	/* control: bit 0 starts the counter (stays set) */
#define RTCIMSC  0x10	/* interrupt mask set/clear: bit 0 enables */
#define RTCRIS   0x14	/* raw interrupt status */
#define RTCMIS   0x18	/* masked interrupt status */
#define RTCICR   0x1c	/* interrupt clear (WO) */
#define PERIPH_ID 0xfe0	/* 0xfe0..0xffc: PeriphID0-3, PCellID0-3 */

/* PL031 r0p0 as QEMU's model reports it; Linux's AMBA bus matches the
 * driver on PeriphID (part 0x031, designer 0x41 ARM). */
static const uint8_t pl031_id[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

struct pl031 {
	pthread_mutex_t lock;
	const struct pl031_ops *ops;
	void *opaque;
	int64_t offset;		/* count = now + offset (mod 2^32) */
	uint32_t match, imsc, ris;
	bool armed;		/* RTCMR written, its match not yet latched */
	int irq_out;
};

static uint64_t host_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static uint32_t count(struct pl031 *r)
{
	uint64_t now = r->ops->now ? r->ops->now(r->opaque) : host_now();

	return (uint32_t)(now + (uint64_t)r->offset);
}

/* Under the lock: latch a match reached since RTCMR was written (the count
 * at or past it, within half the 32-bit range), then drive the line if its
 * level changed. Under the lock, so two vCPUs cannot reorder the edges. */
static void update(struct pl031 *r)
{
	int level;

	if (r->armed && (int32_t)(count(r) - r->match) >= 0) {
		r->ris |= 1;
		r->armed = false;
	}
	level = (r->ris & r->imsc & 1) != 0;
	if (level != r->irq_out && r->ops->set_irq)
		r->ops->set_irq(r->opaque, level);
	r->irq_out = level;
}

struct pl031 *pl031__create(const struct pl031_ops *ops, void *opaque)
{
	struct pl031 *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	r->ops = ops;
	r->opaque = opaque;
	return r;
}

void pl031__free(struct pl031 *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static void bus_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct pl031 *r = dev;
	uint32_t v = 0;

	if (len != 4 || offset % 4) {
		memset(data, 0xff, len);
		return;
	}
	if (offset >= PERIPH_ID && offset < PL031_SIZE) {
		v = pl031_id[(offset - PERIPH_ID) / 4];
		memcpy(data, &v, 4);
		return;
	}
	pthread_mutex_lock(&r->lock);
	update(r);
	switch (offset) {
	case RTCDR: v = count(r); break;
	case RTCMR: v = r->match; break;
	case RTCLR: v = count(r); break;
	case RTCCR: v = 1; break;
	case RTCIMSC: v = r->imsc; break;
	case RTCRIS: v = r->ris; break;
	case RTCMIS: v = r->ris & r->imsc; break;
	default: v = 0; break;
	}
	pthread_mutex_unlock(&r->lock);
	memcpy(data, &v, 4);
}

static void bus_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct pl031 *r = dev;
	uint32_t v;

	if (len != 4 || offset % 4)
		return;
	memcpy(&v, data, 4);
	pthread_mutex_lock(&r->lock);
	switch (offset) {
	case RTCMR: r->match = v; r->armed = true; break;
	case RTCLR: r->offset += (int64_t)v - (int64_t)count(r); break;
	case RTCIMSC: r->imsc = v & 1; break;
	case RTCICR: r->ris &= ~v; break;
	default: break;  /* RTCCR: always started; the rest read-only */
	}
	update(r);
	pthread_mutex_unlock(&r->lock);
}

const struct bus_dev_ops pl031__bus_ops = {
	.read = bus_read,
	.write = bus_write,
};
