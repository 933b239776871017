/* pl061.c — the PL061 GPIO controller (pl061.h), after the PrimeCell
 * PL061 technical reference manual (ARM DDI 0190). Registers are 8 bits
 * wide (Linux uses byte accesses; word accesses read and write the low
 * byte), the ID words at 0xfe0 are read as words.
 *
 * GPIODATA is 256 addresses, 0x000-0x3fc: address bits 9:2 mask which
 * lines a read returns and a write changes, so a driver touches one line
 * without a read-modify-write. Interrupts: per line edge (GPIOIS 0) on
 * one edge chosen by GPIOIEV or on both (GPIOIBE), latched in GPIORIS
 * until cleared through GPIOIC; or level (GPIOIS 1), GPIORIS following
 * the line. GPIOMIS = GPIORIS & GPIOIE drives the interrupt output. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/amba/pl061.h"

#define GPIODATA_END 0x400
#define GPIODIR    0x400	/* 1: output */
#define GPIOIS     0x404	/* 1: level sensitive */
#define GPIOIBE    0x408	/* 1: both edges */
#define GPIOIEV    0x40c	/* 1: rising edge / high level */
#define GPIOIE     0x410	/* interrupt mask: 1 enabled */
#define GPIORIS    0x414
#define GPIOMIS    0x418
#define GPIOIC     0x41c	/* write 1 to clear an edge */
#define GPIOAFSEL  0x420
#define PERIPH_ID  0xfe0

/* PL061 r1p0 as QEMU's model reports it: part 0x061, designer ARM. */
static const uint8_t pl061_id[8] = { 0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

struct pl061 {
	pthread_mutex_t lock;
	const struct pl061_ops *ops;
	void *opaque;
	uint8_t in;		/* levels driven from outside (input lines) */
	uint8_t out;		/* levels the guest wrote (output lines) */
	uint8_t dir, is, ibe, iev, ie, ris, afsel;
	uint8_t release;	/* pressed buttons to release once read */
	int irq_out;
};

static uint8_t levels(const struct pl061 *g)
{
	return (uint8_t)((g->in & ~g->dir) | (g->out & g->dir));
}

/* Under the lock, after the lines changed from 'old': latch the edges,
 * follow the levels, drive the output if its level changed. */
static void update(struct pl061 *g, uint8_t old)
{
	uint8_t now = levels(g), rose = now & ~old, fell = old & ~now;
	uint8_t edge = (uint8_t)((g->ibe & (rose | fell)) |
				 (~g->ibe & ((g->iev & rose) | (~g->iev & fell))));
	int level;

	g->ris |= edge & ~g->is;
	g->ris = (uint8_t)((g->ris & ~g->is) | (g->is & ~(now ^ g->iev)));
	level = (g->ris & g->ie) != 0;
	if (level != g->irq_out && g->ops->set_irq)
		g->ops->set_irq(g->opaque, level);
	g->irq_out = level;
}

struct pl061 *pl061__create(const struct pl061_ops *ops, void *opaque)
{
	struct pl061 *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	g->ops = ops;
	g->opaque = opaque;
	return g;
}

void pl061__free(struct pl061 *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static void set_input_locked(struct pl061 *g, unsigned pin, int level)
{
	uint8_t old = levels(g), bit = (uint8_t)(1u << pin);

	g->in = (uint8_t)(level ? g->in | bit : g->in & ~bit);
	update(g, old);
}

void pl061__set_input(struct pl061 *g, unsigned pin, int level)
{
	if (pin >= PL061_NR_GPIOS)
		return;
	pthread_mutex_lock(&g->lock);
	g->release &= (uint8_t)~(1u << pin);
	set_input_locked(g, pin, level);
	pthread_mutex_unlock(&g->lock);
}

bool pl061__press(struct pl061 *g, unsigned pin)
{
	bool listens;

	if (pin >= PL061_NR_GPIOS)
		return false;
	pthread_mutex_lock(&g->lock);
	set_input_locked(g, pin, 1);
	g->release |= (uint8_t)(1u << pin);
	listens = (g->ie >> pin) & 1;
	pthread_mutex_unlock(&g->lock);
	return listens;
}

static void bus_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct pl061 *g = dev;
	uint32_t v = 0;

	if ((len != 1 && len != 4) || offset % len) {
		memset(data, 0xff, len);
		return;
	}
	if (offset >= PERIPH_ID && offset < PL061_SIZE) {
		v = offset % 4 ? 0 : pl061_id[(offset - PERIPH_ID) / 4];
		memcpy(data, &v, len);
		return;
	}
	pthread_mutex_lock(&g->lock);
	if (offset < GPIODATA_END) {
		uint8_t mask = (uint8_t)(offset >> 2), seen;

		v = levels(g) & mask;
		/* A pressed button the guest has now seen pressed is let go:
		 * the release is the next edge it hears about. */
		seen = g->release & (uint8_t)v;
		if (seen) {
			uint8_t old = levels(g);

			g->release &= (uint8_t)~seen;
			g->in &= (uint8_t)~seen;
			update(g, old);
		}
	} else {
		switch (offset) {
		case GPIODIR: v = g->dir; break;
		case GPIOIS: v = g->is; break;
		case GPIOIBE: v = g->ibe; break;
		case GPIOIEV: v = g->iev; break;
		case GPIOIE: v = g->ie; break;
		case GPIORIS: v = g->ris; break;
		case GPIOMIS: v = g->ris & g->ie; break;
		case GPIOAFSEL: v = g->afsel; break;
		default: v = 0; break;
		}
	}
	pthread_mutex_unlock(&g->lock);
	memcpy(data, &v, len);
}

static void bus_write(void *dev, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct pl061 *g = dev;
	uint8_t v = data[0], old;

	if ((len != 1 && len != 4) || offset % len)
		return;
	pthread_mutex_lock(&g->lock);
	old = levels(g);
	if (offset < GPIODATA_END) {
		uint8_t mask = (uint8_t)(offset >> 2);

		g->out = (uint8_t)((g->out & ~mask) | (v & mask));
	} else {
		switch (offset) {
		case GPIODIR: g->dir = v; break;
		case GPIOIS: g->is = v; break;
		case GPIOIBE: g->ibe = v; break;
		case GPIOIEV: g->iev = v; break;
		case GPIOIE: g->ie = v; break;
		case GPIOIC: g->ris &= (uint8_t)~(v & ~g->is); break;
		case GPIOAFSEL: g->afsel = v; break;
		default: break;
		}
	}
	/* A sense or event change must not invent an edge: only the lines
	 * that moved count, levels are re-evaluated. */
	update(g, old);
	pthread_mutex_unlock(&g->lock);
}

const struct bus_dev_ops pl061__bus_ops = {
	.read = bus_read,
	.write = bus_write,
};
