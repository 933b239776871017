/* test_pci.c — the PCI host bridge and device config space as Linux
 * drives them: mechanism #1 through a real port-I/O bus, BAR sizing and
 * moves observed on the port-I/O and MMIO buses, the capability list,
 * read-only bits and INTx. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/pci_regs.h>

#include "devices/pci/pci.h"
#include "vmm/bus.h"

#define MMIO32_BASE	0xc0000000ULL
#define MMIO32_END	0xfec00000ULL
#define MMIO64_BASE	0x8000000000ULL
#define MMIO64_END	0x10000000000ULL
#define IO_BASE		0x1000
#define IO_END		0x10000

/* A device model behind the BARs: remembers the last access per BAR and
 * reads back a pattern that names the BAR and offset. */
struct testbar {
	int id;
	int accesses;
	uint64_t last_offset;
	uint32_t last_val;
};

/* One call of a BAR map/unmap hook. */
struct bar_event {
	bool map;
	unsigned bar;
	uint64_t addr;
};

struct testdev {
	struct pci_device pci;
	struct testbar bar[PCI_NR_BARS];
	/* BAR hooks, when set: the calls, and what they imply. */
	struct bar_event ev[64];
	int nr_ev;
	int hook_errors;		/* calls that broke the contract in pci.h */
	bool hook_mapped[PCI_NR_BARS];
	uint64_t hook_at[PCI_NR_BARS];
};

struct fixture {
	struct bus pio, mmio;
	struct pci_host *host;
	struct testdev dev[4];
	int irq_calls, last_irq, last_level;
	int resets;
};

static void bar_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct testbar *b = opaque;
	uint32_t v = 0xb0000000u | (uint32_t)b->id << 16 | (uint32_t)offset;

	b->accesses++;
	memcpy(data, &v, len < 4 ? len : 4);
}

static void bar_write(void *opaque, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct testbar *b = opaque;

	b->accesses++;
	b->last_offset = offset;
	b->last_val = 0;
	memcpy(&b->last_val, data, len < 4 ? len : 4);
}

static const struct bus_dev_ops bar_ops = { .read = bar_read, .write = bar_write };

static void on_irq(void *opaque, int irq, int level)
{
	struct fixture *f = opaque;

	f->irq_calls++;
	f->last_irq = irq;
	f->last_level = level;
}

static void on_reset(void *opaque)
{
	struct fixture *f = opaque;

	f->resets++;
}

/* The platform's INTx map, deliberately not a PC's: 32 + 4 * slot + pin - 1
 * (one line per pin, as an SPI-based platform might wire it), slot 3
 * not wired. */
static int on_intx_irq(void *opaque, unsigned slot, unsigned pin)
{
	return slot == 3 ? -1 : 32 + 4 * (int)slot + (int)pin - 1;
}

static const struct pci_host_ops host_ops = {
	.intx_irq = on_intx_irq, .set_irq = on_irq, .reset = on_reset,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pci_host_config cfg = {
		.mmio32_base = MMIO32_BASE, .mmio32_end = MMIO32_END,
		.mmio64_base = MMIO64_BASE, .mmio64_end = MMIO64_END,
		.io_base = IO_BASE, .io_end = IO_END,
		.ops = &host_ops,
	};

	assert_non_null(f);
	assert_int_equal(bus__init(&f->pio, "pio"), 0);
	assert_int_equal(bus__init(&f->mmio, "mmio"), 0);
	cfg.pio = &f->pio;
	cfg.mmio = &f->mmio;
	cfg.opaque = f;
	f->host = pci__create(&cfg);
	assert_non_null(f->host);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci__free(f->host);
	bus__destroy(&f->pio);
	bus__destroy(&f->mmio);
	free(f);
	return 0;
}

/* The BAR hooks of a struct testdev. They check the contract (pci.h) as
 * they go: calls alternate per BAR starting with a map, an unmap names
 * the address mapped before, and pci__bar_mapped() already tells the new
 * state. Asking it (and pci__bar_address()) from the hook, inside a
 * config write on the port-I/O bus, must not deadlock. */
static void bar_hook(struct testdev *t, struct pci_device *d, bool map, unsigned bar,
		     uint64_t addr)
{
	uint64_t at = 0;
	bool mapped = pci__bar_mapped(d, bar, &at);

	if (d != &t->pci || bar >= PCI_NR_BARS || mapped != map || (map && at != addr) ||
	    t->hook_mapped[bar] == map || (!map && t->hook_at[bar] != addr) ||
	    (map && pci__bar_address(d, bar) != addr))
		t->hook_errors++;
	if (bar < PCI_NR_BARS) {
		t->hook_mapped[bar] = map;
		t->hook_at[bar] = addr;
	}
	if (t->nr_ev < (int)(sizeof(t->ev) / sizeof(t->ev[0])))
		t->ev[t->nr_ev++] = (struct bar_event){ map, bar, addr };
	else
		t->hook_errors++;
}

static void on_bar_map(struct pci_device *d, void *opaque, unsigned bar, uint64_t addr)
{
	bar_hook(opaque, d, true, bar, addr);
}

static void on_bar_unmap(struct pci_device *d, void *opaque, unsigned bar, uint64_t addr)
{
	bar_hook(opaque, d, false, bar, addr);
}

static const struct pci_device_ops hook_ops = { .bar_map = on_bar_map, .bar_unmap = on_bar_unmap };

/* Hook call number n was this one. */
static void expect_ev(struct testdev *t, int n, bool map, unsigned bar, uint64_t addr)
{
	assert_true(n < t->nr_ev);
	assert_int_equal(t->ev[n].map, map);
	assert_int_equal(t->ev[n].bar, bar);
	assert_int_equal(t->ev[n].addr, addr);
}

/* A device with INTA# and the BARs given as type/size pairs (bar index =
 * position; a MEM64 entry must be followed by a NONE); with the BAR hooks
 * when 'hooked'. */
static int add_dev_hooked(struct fixture *f, int i, const enum pci_bar_type *type,
			  const uint64_t *size, int nr, bool hooked)
{
	static const struct pci_device_info info = {
		.vendor = 0x1af4, .device = 0x1041, .subsys_vendor = 0x1af4,
		.subsys_id = 0x0001, .class_code = 0x020000, .revision = 1,
		.irq_pin = 1,
	};
	struct testdev *t = &f->dev[i];

	pci__device_init(&t->pci, "testdev", &info);
	for (int b = 0; b < nr; b++) {
		t->bar[b].id = i * 16 + b;
		if (type[b] != PCI_BAR_NONE)
			assert_int_equal(pci__set_bar(&t->pci, (unsigned)b, type[b], size[b],
						      &bar_ops, &t->bar[b]), 0);
	}
	if (hooked)
		assert_int_equal(pci__set_device_ops(&t->pci, &hook_ops, t), 0);
	return pci__register_device(f->host, &t->pci);
}

static int add_dev(struct fixture *f, int i, const enum pci_bar_type *type,
		   const uint64_t *size, int nr)
{
	return add_dev_hooked(f, i, type, size, nr, false);
}

/* Port I/O helpers. */
static uint32_t in(struct fixture *f, uint16_t port, uint32_t len)
{
	uint32_t v = 0;

	bus__read(&f->pio, port, (uint8_t *)&v, len);
	return v;
}

static void out(struct fixture *f, uint16_t port, uint32_t v, uint32_t len)
{
	bus__write(&f->pio, port, (const uint8_t *)&v, len);
}

static void select_reg(struct fixture *f, int slot, int fn, int reg)
{
	out(f, 0xcf8, 0x80000000u | (uint32_t)slot << 11 | (uint32_t)fn << 8 |
		      (uint32_t)(reg & 0xfc), 4);
}

static uint32_t cfg_rd(struct fixture *f, int slot, int reg, uint32_t len)
{
	select_reg(f, slot, 0, reg);
	return in(f, (uint16_t)(0xcfc + (reg & 3)), len);
}

static void cfg_wr(struct fixture *f, int slot, int reg, uint32_t v, uint32_t len)
{
	select_reg(f, slot, 0, reg);
	out(f, (uint16_t)(0xcfc + (reg & 3)), v, len);
}

/* A read through the I/O window: all ones when no BAR answers. */
static uint32_t io_rd(struct fixture *f, uint32_t port)
{
	return in(f, (uint16_t)port, 4);
}

static bool mmio_claimed(struct fixture *f, uint64_t addr, uint32_t *val)
{
	uint32_t v = 0;
	bool hit = bus__read(&f->mmio, addr, (uint8_t *)&v, 4);

	if (val)
		*val = v;
	return hit;
}

static void test_config_address_port(void **state)
{
	struct fixture *f = *state;

	/* Linux's pci_check_type1(). */
	out(f, 0xcfb, 0x01, 1);
	out(f, 0xcf8, 0x80000000u, 4);
	assert_int_equal(in(f, 0xcf8, 4), 0x80000000u);
	/* Reserved bits 30:24 and 1:0 read as zero. */
	out(f, 0xcf8, 0xffffffffu, 4);
	assert_int_equal(in(f, 0xcf8, 4), 0x80fffffcu);
	/* Byte and word accesses do not reach CONFIG_ADDRESS. */
	out(f, 0xcf8, 0x80000800u, 4);
	out(f, 0xcf8, 0x00, 1);
	out(f, 0xcfa, 0x0000, 2);
	out(f, 0xcfb, 0x00, 1);
	assert_int_equal(in(f, 0xcf8, 4), 0x80000800u);
	assert_int_equal(in(f, 0xcf8, 1), 0xff);
	assert_int_equal(in(f, 0xcf8, 2), 0xffff);
	/* No accidental reset from the probe. */
	assert_int_equal(f->resets, 0);
}

static void test_host_bridge(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_rd(f, 0, PCI_VENDOR_ID, 4), 0x0d578086u);
	assert_int_equal(cfg_rd(f, 0, PCI_CLASS_DEVICE, 2), 0x0600);	/* what pci_sanity_check() wants */
	assert_int_equal(cfg_rd(f, 0, PCI_CLASS_REVISION, 4) >> 8, 0x060000);
	assert_int_equal(cfg_rd(f, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(cfg_rd(f, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	for (int r = PCI_BASE_ADDRESS_0; r <= PCI_BASE_ADDRESS_5; r += 4) {
		cfg_wr(f, 0, r, 0xffffffffu, 4);
		assert_int_equal(cfg_rd(f, 0, r, 4), 0);	/* no BARs */
	}
	assert_int_equal(cfg_rd(f, 0, PCI_INTERRUPT_PIN, 1), 0);
}

static void test_data_port_widths(void **state)
{
	struct fixture *f = *state;
	uint32_t dw;

	dw = cfg_rd(f, 0, PCI_VENDOR_ID, 4);
	select_reg(f, 0, 0, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(in(f, (uint16_t)(0xcfc + i), 1), (dw >> (8 * i)) & 0xff);
	assert_int_equal(in(f, 0xcfc, 2), dw & 0xffff);
	assert_int_equal(in(f, 0xcfe, 2), dw >> 16);
	assert_int_equal(in(f, 0xcfd, 2), (dw >> 8) & 0xffff);

	/* Byte write at 0xcfd hits register 0x0d only (latency timer). */
	cfg_wr(f, 0, PCI_CACHE_LINE_SIZE, 0x10, 1);
	select_reg(f, 0, 0, PCI_CACHE_LINE_SIZE);
	out(f, 0xcfd, 0x40, 1);
	assert_int_equal(cfg_rd(f, 0, PCI_CACHE_LINE_SIZE, 2), 0x4010);
	/* A byte write of the interrupt line leaves the pin next to it. */
	assert_int_equal(add_dev(f, 0, NULL, NULL, 0), 1);
	cfg_wr(f, 1, PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(cfg_rd(f, 1, PCI_INTERRUPT_LINE, 4) & 0xffff, 0x010b);
	/* An access that spills past 0xcff is not decoded at all. */
	select_reg(f, 1, 0, PCI_VENDOR_ID);
	assert_false(bus__read(&f->pio, 0xcfe, (uint8_t *)&dw, 4));
}

static void test_enable_bit_and_absent(void **state)
{
	struct fixture *f = *state;

	/* Enable bit clear: all ones, writes dropped. */
	cfg_wr(f, 0, PCI_LATENCY_TIMER, 0x20, 1);
	out(f, 0xcf8, (uint32_t)PCI_LATENCY_TIMER & 0xfc, 4);
	assert_int_equal(in(f, 0xcfc, 4), 0xffffffffu);
	out(f, 0xcfd, 0x55, 1);
	assert_int_equal(cfg_rd(f, 0, PCI_LATENCY_TIMER, 1), 0x20);

	/* Absent slot, function, bus. */
	assert_int_equal(cfg_rd(f, 5, PCI_VENDOR_ID, 4), 0xffffffffu);
	assert_int_equal(cfg_rd(f, 31, PCI_CLASS_REVISION, 2), 0xffff);
	select_reg(f, 0, 1, PCI_VENDOR_ID);
	assert_int_equal(in(f, 0xcfc, 4), 0xffffffffu);
	out(f, 0xcf8, 0x80010000u, 4);		/* bus 1, 00.0 */
	assert_int_equal(in(f, 0xcfc, 4), 0xffffffffu);
	out(f, 0xcfc, 0, 4);			/* harmless */
	assert_int_equal(cfg_rd(f, 0, PCI_VENDOR_ID, 2), 0x8086);
}

static void test_bar_sizing(void **state)
{
	struct fixture *f = *state;
	enum pci_bar_type t[] = { PCI_BAR_MEM32, PCI_BAR_IO, PCI_BAR_MEM64, PCI_BAR_NONE,
				  PCI_BAR_MEM64, PCI_BAR_NONE };
	uint64_t s[] = { 0x1000, 32, 0x4000, 0, 8ULL << 30, 0 };
	uint32_t b0, b1, b2, b3, b4, b5;

	assert_int_equal(add_dev(f, 0, t, s, 6), 1);
	b0 = cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4);
	b1 = cfg_rd(f, 1, PCI_BASE_ADDRESS_1, 4);
	b2 = cfg_rd(f, 1, PCI_BASE_ADDRESS_2, 4);
	b3 = cfg_rd(f, 1, PCI_BASE_ADDRESS_3, 4);
	b4 = cfg_rd(f, 1, PCI_BASE_ADDRESS_4, 4);
	b5 = cfg_rd(f, 1, PCI_BASE_ADDRESS_5, 4);

	/* Assigned inside the windows, aligned, with the type bits. */
	assert_int_equal(b0 & 0xf, 0);
	assert_true(b0 >= MMIO32_BASE && b0 + 0x1000ULL <= MMIO32_END && !(b0 & 0xfff));
	assert_int_equal(b1 & 3, PCI_BASE_ADDRESS_SPACE_IO);
	assert_true((b1 & ~3u) >= IO_BASE && (b1 & ~3u) + 32 <= IO_END && !(b1 & 0x1c));
	assert_int_equal(b2 & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_int_equal(b4 & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	assert_true(((uint64_t)b5 << 32 | (b4 & ~0xfu)) >= MMIO64_BASE);
	assert_int_equal(((uint64_t)b5 << 32 | (b4 & ~0xfu)) & ((8ULL << 30) - 1), 0);
	assert_int_equal(pci__bar_address(&f->dev[0].pci, 4), (uint64_t)b5 << 32 | (b4 & ~0xfu));
	assert_int_equal(cfg_rd(f, 1, PCI_COMMAND, 2) & 3, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);

	/* 32-bit memory. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0xfffff000u);
	assert_false(pci__bar_mapped(&f->dev[0].pci, 0, NULL));	/* not while sized */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, b0, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4), b0);
	assert_true(mmio_claimed(f, b0, NULL));
	/* I/O. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_1, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_1, 4), 0xffffffe1u);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_1, b1, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_1, 4), b1);
	/* 64-bit, both halves, as __pci_read_base() does it. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_2, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_2, 4), 0xffffc004u);
	assert_false(pci__bar_mapped(&f->dev[0].pci, 2, NULL));
	cfg_wr(f, 1, PCI_BASE_ADDRESS_3, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_3, 4), 0xffffffffu);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_2, b2, 4);
	assert_false(pci__bar_mapped(&f->dev[0].pci, 2, NULL));	/* high half sized */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_3, b3, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_2, 4), b2);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_3, 4), b3);
	assert_true(pci__bar_mapped(&f->dev[0].pci, 2, NULL));
	/* 64-bit larger than 4 GiB: the size lives in the high half. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_4, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_4, 4), PCI_BASE_ADDRESS_MEM_TYPE_64);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_5, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_5, 4), 0xfffffffeu);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_4, b4, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_5, b5, 4);
	assert_true(pci__bar_mapped(&f->dev[0].pci, 4, NULL));
	/* No expansion ROM. */
	cfg_wr(f, 1, PCI_ROM_ADDRESS, 0xfffff800u, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_ROM_ADDRESS, 4), 0);
}

static void test_bar_access_and_move(void **state)
{
	struct fixture *f = *state;
	enum pci_bar_type t[] = { PCI_BAR_MEM32, PCI_BAR_IO, PCI_BAR_MEM64, PCI_BAR_NONE };
	uint64_t s[] = { 0x1000, 32, 0x4000, 0 };
	struct testbar *tb = f->dev[0].bar;
	uint32_t b0, b1, v;
	uint64_t b2, at;

	assert_int_equal(add_dev(f, 0, t, s, 4), 1);
	b0 = cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4);
	b1 = cfg_rd(f, 1, PCI_BASE_ADDRESS_1, 4) & ~3u;
	b2 = pci__bar_address(&f->dev[0].pci, 2);
	assert_true(b2 >= MMIO64_BASE);		/* 64-bit window */

	/* Accesses reach the right BAR with BAR-relative offsets. */
	assert_true(mmio_claimed(f, b0 + 0x10, &v));
	assert_int_equal(v, 0xb0000010u);
	assert_int_equal(io_rd(f, b1 + 4), 0xb0010004u);
	out(f, (uint16_t)(b1 + 8), 0x1234, 2);
	assert_int_equal(tb[1].last_offset, 8);
	assert_int_equal(tb[1].last_val, 0x1234);
	assert_true(mmio_claimed(f, b2 + 0x3ffc, &v));
	assert_int_equal(v, 0xb0023ffcu);

	/* Move the 32-bit BAR: new address decodes, old does not. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	assert_true(pci__bar_mapped(&f->dev[0].pci, 0, &at));
	assert_int_equal(at, 0xd0000000u);
	assert_false(mmio_claimed(f, b0, NULL));
	assert_true(mmio_claimed(f, 0xd0000020u, &v));
	assert_int_equal(v, 0xb0000020u);
	/* Move the I/O BAR inside the window, then outside it. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_1, 0x2000, 4);
	assert_int_equal(io_rd(f, b1), 0xffffffffu);
	assert_int_equal(io_rd(f, 0x2004), 0xb0010004u);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_1, 0x0400, 4);
	assert_false(pci__bar_mapped(&f->dev[0].pci, 1, NULL));
	assert_int_equal(io_rd(f, 0x2004), 0xffffffffu);
	assert_int_equal(io_rd(f, 0x0404), 0xffffffffu);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_1, 0x2000, 4);
	assert_int_equal(io_rd(f, 0x2000), 0xb0010000u);
	/* Move the 64-bit BAR below 4 GiB: low half first, then high. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_2, 0xe0000000u, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_3, 0, 4);
	assert_int_equal(pci__bar_address(&f->dev[0].pci, 2), 0xe0000000u);
	assert_false(mmio_claimed(f, b2, NULL));
	assert_true(mmio_claimed(f, 0xe0000100u, &v));
	assert_int_equal(v, 0xb0020100u);

	/* Moving onto another BAR is refused; that BAR keeps working. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xe0000000u, 4);
	assert_false(pci__bar_mapped(&f->dev[0].pci, 0, NULL));
	assert_true(mmio_claimed(f, 0xe0000000u, &v));
	assert_int_equal(v, 0xb0020000u);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	assert_true(mmio_claimed(f, 0xd0000000u, &v));
	assert_int_equal(v, 0xb0000000u);
}

static void test_command_decode(void **state)
{
	struct fixture *f = *state;
	enum pci_bar_type t[] = { PCI_BAR_MEM32, PCI_BAR_IO };
	uint64_t s[] = { 0x100, 16 };
	uint32_t b0, b1, v;

	assert_int_equal(add_dev(f, 0, t, s, 2), 1);
	b0 = cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4);
	b1 = cfg_rd(f, 1, PCI_BASE_ADDRESS_1, 4) & ~3u;

	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_IO, 2);		/* memory off */
	assert_false(mmio_claimed(f, b0, NULL));
	assert_int_equal(io_rd(f, b1), 0xb0010000u);
	cfg_wr(f, 1, PCI_COMMAND, 0, 2);			/* both off */
	assert_int_equal(io_rd(f, b1), 0xffffffffu);
	/* Linux sizes with decoding off and moves nothing meanwhile. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0xffffff00u);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, b0, 4);
	assert_false(mmio_claimed(f, b0, NULL));
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_true(mmio_claimed(f, b0 + 0x80, &v));
	assert_int_equal(v, 0xb0000080u);
	assert_int_equal(io_rd(f, b1), 0xffffffffu);
	/* A byte write to the command register counts too. */
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_IO, 1);
	assert_int_equal(io_rd(f, b1 + 8), 0xb0010008u);
	assert_false(mmio_claimed(f, b0, NULL));
}

/* The BAR hooks follow moves: registration maps each BAR; a move is an
 * unmap at the old address and a map at the new one; rewriting the same
 * address is no call; a BAR moved out of decodable space, or onto a range
 * that is taken, is unmapped until it moves somewhere usable. */
static void test_bar_hooks_move(void **state)
{
	struct fixture *f = *state;
	enum pci_bar_type t[] = { PCI_BAR_MEM32, PCI_BAR_IO, PCI_BAR_MEM64, PCI_BAR_NONE };
	uint64_t s[] = { 0x1000, 32, 0x4000, 0 };
	struct testdev *td = &f->dev[0];
	uint64_t b0, b1, b2, other, mid;
	uint32_t v;

	assert_int_equal(add_dev_hooked(f, 0, t, s, 4, true), 1);
	assert_int_equal(add_dev(f, 1, t, s, 1), 2);		/* a neighbour */
	b0 = pci__bar_address(&td->pci, 0);
	b1 = pci__bar_address(&td->pci, 1);
	b2 = pci__bar_address(&td->pci, 2);
	other = pci__bar_address(&f->dev[1].pci, 0);
	assert_int_equal(td->nr_ev, 3);
	expect_ev(td, 0, true, 0, b0);
	expect_ev(td, 1, true, 1, b1);
	expect_ev(td, 2, true, 2, b2);

	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	assert_int_equal(td->nr_ev, 5);
	expect_ev(td, 3, false, 0, b0);
	expect_ev(td, 4, true, 0, 0xd0000000u);
	assert_false(mmio_claimed(f, b0, NULL));
	assert_true(mmio_claimed(f, 0xd0000000u, NULL));
	/* Nothing moves: no calls (the low byte of a 4 KiB BAR is read-only). */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xff, 1);
	assert_int_equal(td->nr_ev, 5);

	/* The I/O BAR outside the host's I/O window, then back inside. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_1, 0x0400, 4);
	assert_int_equal(td->nr_ev, 6);
	expect_ev(td, 5, false, 1, b1);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_1, 0x2000, 4);
	assert_int_equal(td->nr_ev, 7);
	expect_ev(td, 6, true, 1, 0x2000);

	/* Onto the neighbour's BAR: refused, so unmapped only; the neighbour
	 * keeps its range. Then somewhere free: mapped again. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, (uint32_t)other, 4);
	assert_int_equal(td->nr_ev, 8);
	expect_ev(td, 7, false, 0, 0xd0000000u);
	assert_false(pci__bar_mapped(&td->pci, 0, NULL));
	assert_true(mmio_claimed(f, other, &v));
	assert_int_equal(v, 0xb0100000u);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0001000u, 4);
	assert_int_equal(td->nr_ev, 9);
	expect_ev(td, 8, true, 0, 0xd0001000u);

	/* A 64-bit BAR moved half by half passes through the address the
	 * first half makes: two moves. */
	mid = (b2 & ~0xffffffffULL) | 0xe0000000u;
	cfg_wr(f, 1, PCI_BASE_ADDRESS_2, 0xe0000000u, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_3, 0, 4);
	assert_int_equal(td->nr_ev, 13);
	expect_ev(td, 9, false, 2, b2);
	expect_ev(td, 10, true, 2, mid);
	expect_ev(td, 11, false, 2, mid);
	expect_ev(td, 12, true, 2, 0xe0000000u);
	assert_int_equal(td->hook_errors, 0);
}

/* Decoding off in the command register unmaps the BARs of that space
 * (and only those); on again maps them where their registers say now. */
static void test_bar_hooks_command(void **state)
{
	struct fixture *f = *state;
	enum pci_bar_type t[] = { PCI_BAR_MEM32, PCI_BAR_IO };
	uint64_t s[] = { 0x1000, 16 };
	struct testdev *td = &f->dev[0];
	uint64_t b0, b1;

	assert_int_equal(add_dev_hooked(f, 0, t, s, 2, true), 1);
	b0 = pci__bar_address(&td->pci, 0);
	b1 = pci__bar_address(&td->pci, 1);
	assert_int_equal(td->nr_ev, 2);

	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_IO, 2);		/* memory off */
	assert_int_equal(td->nr_ev, 3);
	expect_ev(td, 2, false, 0, b0);
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
	assert_int_equal(td->nr_ev, 3);				/* no decode change */
	cfg_wr(f, 1, PCI_COMMAND, 0, 2);			/* I/O off too */
	assert_int_equal(td->nr_ev, 4);
	expect_ev(td, 3, false, 1, b1);
	/* Moved and sized while off: nothing is decoded, no calls. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	assert_int_equal(td->nr_ev, 4);
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(td->nr_ev, 5);
	expect_ev(td, 4, true, 0, 0xd0000000u);
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(td->nr_ev, 5);
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 1);	/* byte write */
	assert_int_equal(td->nr_ev, 6);
	expect_ev(td, 5, true, 1, b1);
	assert_int_equal(td->hook_errors, 0);
}

/* BAR sizing with decoding on: the all-ones write unmaps, the restore maps
 * at the original address again: one mapping left, where it was. For a
 * 64-bit BAR that holds until both halves are restored. */
static void test_bar_hooks_sizing(void **state)
{
	struct fixture *f = *state;
	enum pci_bar_type t[] = { PCI_BAR_MEM32, PCI_BAR_NONE, PCI_BAR_MEM64, PCI_BAR_NONE };
	uint64_t s[] = { 0x1000, 0, 0x4000, 0 };
	struct testdev *td = &f->dev[0];
	uint32_t b0, b2, b3;
	uint64_t at;

	assert_int_equal(add_dev_hooked(f, 0, t, s, 4, true), 1);
	b0 = cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4);
	b2 = cfg_rd(f, 1, PCI_BASE_ADDRESS_2, 4);
	b3 = cfg_rd(f, 1, PCI_BASE_ADDRESS_3, 4);
	assert_int_equal(td->nr_ev, 2);

	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0xfffff000u);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, b0, 4);
	assert_int_equal(td->nr_ev, 4);
	expect_ev(td, 2, false, 0, b0);
	expect_ev(td, 3, true, 0, b0);
	assert_true(pci__bar_mapped(&td->pci, 0, &at));
	assert_int_equal(at, b0);

	cfg_wr(f, 1, PCI_BASE_ADDRESS_2, 0xffffffffu, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_3, 0xffffffffu, 4);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_2, b2, 4);
	assert_int_equal(td->nr_ev, 5);				/* high half still sized */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_3, b3, 4);
	assert_int_equal(td->nr_ev, 6);
	expect_ev(td, 4, false, 2, (uint64_t)b3 << 32 | (b2 & ~0xfu));
	expect_ev(td, 5, true, 2, (uint64_t)b3 << 32 | (b2 & ~0xfu));

	/* Linux's way: decoding off around the sizing. One unmap and one map
	 * per BAR, at the same address. */
	cfg_wr(f, 1, PCI_COMMAND, 0, 2);
	for (int r = PCI_BASE_ADDRESS_0; r <= PCI_BASE_ADDRESS_3; r += 4) {
		uint32_t old = cfg_rd(f, 1, r, 4);

		cfg_wr(f, 1, r, 0xffffffffu, 4);
		(void)cfg_rd(f, 1, r, 4);
		cfg_wr(f, 1, r, old, 4);
	}
	assert_int_equal(td->nr_ev, 8);
	expect_ev(td, 6, false, 0, b0);
	expect_ev(td, 7, false, 2, (uint64_t)b3 << 32 | (b2 & ~0xfu));
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(td->nr_ev, 10);
	expect_ev(td, 8, true, 0, b0);
	expect_ev(td, 9, true, 2, (uint64_t)b3 << 32 | (b2 & ~0xfu));
	assert_int_equal(td->hook_errors, 0);
}

/* Unregistering unmaps (and frees the slot for another device), so does
 * pci__free(); hooks can only be set before registration. */
static void test_bar_hooks_unregister(void **state)
{
	struct fixture *f = *state;
	enum pci_bar_type t[] = { PCI_BAR_MEM32, PCI_BAR_IO };
	uint64_t s[] = { 0x1000, 16 };
	struct testdev *td = &f->dev[0];
	uint64_t b0, b1;

	assert_int_equal(add_dev_hooked(f, 0, t, s, 2, true), 1);
	assert_int_equal(pci__set_device_ops(&td->pci, &hook_ops, td), -EBUSY);
	b0 = pci__bar_address(&td->pci, 0);
	b1 = pci__bar_address(&td->pci, 1);
	pci__set_irq(&td->pci, 1);
	assert_int_equal(f->last_level, 1);

	pci__unregister_device(&td->pci);
	assert_int_equal(td->nr_ev, 4);
	expect_ev(td, 2, false, 0, b0);
	expect_ev(td, 3, false, 1, b1);
	assert_false(mmio_claimed(f, b0, NULL));
	assert_int_equal(f->last_level, 0);			/* INTx let go */
	assert_int_equal(cfg_rd(f, 1, PCI_VENDOR_ID, 2), 0xffff);
	pci__unregister_device(&td->pci);			/* twice: no-op */
	assert_int_equal(td->nr_ev, 4);

	/* The slot is free again; registered anew, mapped anew. */
	assert_int_equal(add_dev_hooked(f, 0, t, s, 2, true), 1);
	assert_int_equal(td->nr_ev, 6);
	assert_true(td->ev[4].map && td->ev[5].map);
	pci__free(f->host);
	f->host = NULL;
	assert_int_equal(td->nr_ev, 8);
	assert_false(td->ev[6].map || td->ev[7].map);
	assert_int_equal(td->hook_errors, 0);
}

static const uint8_t *hook_log_dev;
static unsigned hook_reads, hook_writes, hook_off, hook_len;

static void cap_read(struct pci_device *d, void *opaque, unsigned off, unsigned len)
{
	hook_reads++;
	hook_off = off;
	hook_len = len;
	d->cfg[*(int *)opaque + 4] = 0x5a;	/* live value */
}

static void cap_write(struct pci_device *d, void *opaque, unsigned off, unsigned len)
{
	hook_writes++;
	hook_off = off;
	hook_len = len;
	hook_log_dev = d->cfg;
}

static const struct pci_cap_ops cap_ops = { .read = cap_read, .write = cap_write };

static void test_capabilities(void **state)
{
	struct fixture *f = *state;
	struct pci_device *d = &f->dev[0].pci;
	static const struct pci_device_info info = { .vendor = 0x1af4, .device = 0x1000 };
	uint8_t vndr[5] = { PCI_CAP_ID_VNDR, 0xee, 5, 1, 2 };
	uint8_t msix[12] = { PCI_CAP_ID_MSIX };
	uint8_t big[16] = { PCI_CAP_ID_VNDR, 0, 16 };
	uint8_t wm[2] = { 0xff, 0x0f };
	int off[3], ptr, n = 0;

	pci__device_init(d, "caps", &info);
	off[0] = pci__add_capability(d, vndr, sizeof(vndr));
	off[1] = pci__add_capability(d, msix, sizeof(msix));
	off[2] = pci__add_capability(d, big, sizeof(big));
	assert_int_equal(off[0], 0x40);
	assert_int_equal(off[1], 0x48);		/* dword-aligned after 5 bytes */
	assert_int_equal(off[2], 0x54);
	assert_int_equal(pci__set_writable(d, (unsigned)off[2] + 8, wm, 2), 0);
	assert_int_equal(pci__set_capability_ops(d, off[2], &cap_ops, &off[2]), 0);
	assert_int_equal(pci__set_capability_ops(d, 0x44, &cap_ops, NULL), -EINVAL);
	assert_int_equal(pci__add_capability(d, big, 1), -EINVAL);
	assert_int_equal(pci__register_device(f->host, d), 1);
	assert_int_equal(pci__add_capability(d, big, sizeof(big)), -EBUSY);

	/* Walk the list as pci_find_capability() does. */
	assert_true(cfg_rd(f, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	ptr = (int)cfg_rd(f, 1, PCI_CAPABILITY_LIST, 1);
	while (ptr && n < 48) {
		assert_int_equal(ptr & 3, 0);
		assert_int_equal(ptr, off[n]);
		assert_int_equal(cfg_rd(f, 1, ptr, 1), n == 1 ? PCI_CAP_ID_MSIX : PCI_CAP_ID_VNDR);
		ptr = (int)cfg_rd(f, 1, ptr + PCI_CAP_LIST_NEXT, 1);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(cfg_rd(f, 1, off[0] + 2, 1), 5);	/* body copied */

	/* Read-only unless made writable; hooks see capability offsets. */
	hook_reads = hook_writes = 0;
	cfg_wr(f, 1, off[0] + 2, 0xffff, 2);
	assert_int_equal(cfg_rd(f, 1, off[0] + 2, 2), 0x0105);
	cfg_wr(f, 1, off[2] + 8, 0xffffffffu, 4);
	assert_int_equal(hook_writes, 1);
	assert_int_equal(hook_off, 8);
	assert_int_equal(hook_len, 4);
	assert_ptr_equal(hook_log_dev, d->cfg);
	assert_int_equal(cfg_rd(f, 1, off[2] + 8, 4), 0x00000fffu);
	assert_int_equal(cfg_rd(f, 1, off[2] + 4, 1), 0x5a);
	assert_int_equal(hook_reads, 2);	/* read hook runs before each read */
	assert_int_equal(hook_off, 4);
	assert_int_equal(hook_len, 1);
	hook_reads = hook_writes = 0;
	cfg_wr(f, 1, off[1], 0xffffffffu, 4);	/* another capability */
	assert_int_equal(hook_writes, 0);
	/* Nothing outside the capabilities is writable. */
	cfg_wr(f, 1, 0xf0, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, 0xf0, 4), 0);
}

static void test_readonly_bits(void **state)
{
	struct fixture *f = *state;
	enum pci_bar_type t[] = { PCI_BAR_MEM32 };
	uint64_t s[] = { 0x1000 };

	assert_int_equal(add_dev(f, 0, t, s, 1), 1);
	cfg_wr(f, 1, PCI_VENDOR_ID, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_VENDOR_ID, 4), 0x10411af4u);
	cfg_wr(f, 1, PCI_CLASS_REVISION, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_CLASS_REVISION, 4), 0x02000001u);
	cfg_wr(f, 1, PCI_SUBSYSTEM_VENDOR_ID, 0, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00011af4u);
	cfg_wr(f, 1, PCI_HEADER_TYPE, 0xff, 1);
	assert_int_equal(cfg_rd(f, 1, PCI_HEADER_TYPE, 1), 0);
	/* Command: only the implemented bits; status: read-only here. */
	cfg_wr(f, 1, PCI_COMMAND, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_COMMAND, 2), 0x0547);
	assert_int_equal(cfg_rd(f, 1, PCI_STATUS, 2), 0);
	/* Interrupt pin is read-only, line is read-write. */
	cfg_wr(f, 1, PCI_INTERRUPT_LINE, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_INTERRUPT_LINE, 4), 0x000001ffu);
	/* BAR type bits stay while the address bits move. */
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd000000fu, 4);
	assert_int_equal(cfg_rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0xd0000000u);
	/* Out-of-range or misaligned direct accesses. */
	assert_int_equal(pci__config_read(&f->dev[0].pci, 0xff, 2), 0xffffffffu);
	assert_int_equal(pci__config_read(&f->dev[0].pci, 0x100, 1), 0xffffffffu);
	assert_int_equal(pci__config_read(&f->dev[0].pci, 0x3c, 3), 0xffffffffu);
	pci__config_write(&f->dev[0].pci, 0x3d, 0xffff, 4);
	assert_int_equal(pci__config_read(&f->dev[0].pci, 0x3c, 2), 0x01ff);
}

static void test_intx(void **state)
{
	struct fixture *f = *state;
	struct pci_device *d = &f->dev[0].pci;

	/* the platform's map, checked for range around it */
	assert_int_equal(pci__intx_irq(f->host, 1, 1), 36);
	assert_int_equal(pci__intx_irq(f->host, 7, 2), 61);
	assert_int_equal(pci__intx_irq(f->host, 0, 4), 35);
	assert_int_equal(pci__intx_irq(f->host, 3, 1), -1);	/* not wired */
	assert_int_equal(pci__intx_irq(f->host, 1, 0), -1);
	assert_int_equal(pci__intx_irq(f->host, 1, 5), -1);
	assert_int_equal(pci__intx_irq(f->host, 32, 1), -1);

	assert_int_equal(add_dev(f, 0, NULL, NULL, 0), 1);
	assert_int_equal(add_dev(f, 1, NULL, NULL, 0), 2);
	assert_int_equal(cfg_rd(f, 1, PCI_INTERRUPT_LINE, 2), 0x0100 | 36);
	assert_int_equal(cfg_rd(f, 2, PCI_INTERRUPT_LINE, 1), 40);
	assert_int_equal(f->irq_calls, 0);
	/* MSIs name their sender: bus 0, the slot, function 0 */
	assert_int_equal(pci__requester_id(d), 1 << 3);
	assert_int_equal(pci__requester_id(&f->dev[1].pci), 2 << 3);
	assert_int_equal(pci__requester_id(&f->dev[3].pci), 0);	/* not registered */

	pci__set_irq(d, 1);
	assert_int_equal(f->irq_calls, 1);
	assert_int_equal(f->last_irq, 36);
	assert_int_equal(f->last_level, 1);
	assert_true(cfg_rd(f, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci__set_irq(d, 1);				/* no change, no call */
	assert_int_equal(f->irq_calls, 1);
	/* INTx disable drops the line but keeps the status bit. */
	cfg_wr(f, 1, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
	assert_int_equal(f->irq_calls, 2);
	assert_int_equal(f->last_level, 0);
	assert_true(cfg_rd(f, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci__set_irq(d, 0);
	pci__set_irq(d, 1);
	assert_int_equal(f->irq_calls, 2);
	cfg_wr(f, 1, PCI_COMMAND, 0, 2);
	assert_int_equal(f->irq_calls, 3);
	assert_int_equal(f->last_level, 1);
	pci__set_irq(d, 0);
	assert_int_equal(f->irq_calls, 4);
	assert_int_equal(f->last_level, 0);
	assert_false(cfg_rd(f, 1, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* The other device's line is separate. */
	pci__set_irq(&f->dev[1].pci, 1);
	assert_int_equal(f->last_irq, 40);
}

/* A slot the platform does not wire: line register 0xff ("not
 * connected"), the status bit still follows the device, no line driven. */
static void test_intx_unwired(void **state)
{
	struct fixture *f = *state;
	struct pci_device *d = &f->dev[2].pci;

	assert_int_equal(add_dev(f, 0, NULL, NULL, 0), 1);
	assert_int_equal(add_dev(f, 1, NULL, NULL, 0), 2);
	assert_int_equal(add_dev(f, 2, NULL, NULL, 0), 3);
	assert_int_equal(cfg_rd(f, 3, PCI_INTERRUPT_LINE, 2), 0x01ff);
	pci__set_irq(d, 1);
	assert_true(cfg_rd(f, 3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	pci__set_irq(d, 0);
	assert_false(cfg_rd(f, 3, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_int_equal(f->irq_calls, 0);
}

static void test_reset_control(void **state)
{
	struct fixture *f = *state;
	uint8_t cf9 = (uint8_t)(in(f, 0xcf9, 1) & ~6);

	/* native_machine_emergency_restart(), BOOT_CF9_FORCE. */
	out(f, 0xcf9, cf9 | 2, 1);
	assert_int_equal(f->resets, 0);
	out(f, 0xcf9, cf9 | 6, 1);
	assert_int_equal(f->resets, 1);
	out(f, 0xcf8, 0x80000000u, 4);
	assert_int_equal(f->resets, 1);
}

static void test_registration_errors(void **state)
{
	struct fixture *f = *state;
	static const struct pci_device_info info = { .vendor = 0x1af4, .device = 0x1000 };
	struct pci_device *d = &f->dev[0].pci;
	struct pci_device many[31];
	enum pci_bar_type t[] = { PCI_BAR_MEM32 };
	uint64_t s[] = { 512ULL << 20 };

	pci__device_init(d, "bad", &info);
	assert_int_equal(pci__set_bar(d, 0, PCI_BAR_MEM32, 0x1800, &bar_ops, NULL), -EINVAL);
	assert_int_equal(pci__set_bar(d, 0, PCI_BAR_MEM32, 8, &bar_ops, NULL), -EINVAL);
	assert_int_equal(pci__set_bar(d, 0, PCI_BAR_IO, 512, &bar_ops, NULL), -EINVAL);
	assert_int_equal(pci__set_bar(d, 5, PCI_BAR_MEM64, 0x1000, &bar_ops, NULL), -EINVAL);
	assert_int_equal(pci__set_bar(d, 6, PCI_BAR_MEM32, 0x1000, &bar_ops, NULL), -EINVAL);
	assert_int_equal(pci__set_bar(d, 0, PCI_BAR_MEM32, 0x1000, NULL, NULL), -EINVAL);
	assert_int_equal(pci__set_bar(d, 0, PCI_BAR_MEM64, 0x1000, &bar_ops, NULL), 0);
	assert_int_equal(pci__set_bar(d, 1, PCI_BAR_MEM32, 0x1000, &bar_ops, NULL), -EBUSY);
	assert_int_equal(pci__set_bar(d, 0, PCI_BAR_MEM32, 0x1000, &bar_ops, NULL), -EBUSY);
	assert_int_equal(pci__register_device(f->host, d), 1);
	assert_int_equal(pci__register_device(f->host, d), -EEXIST);
	assert_int_equal(pci__set_bar(d, 2, PCI_BAR_MEM32, 0x1000, &bar_ops, NULL), -EBUSY);

	/* The 32-bit window (0xc0000000..0xfec00000) holds one 512 MiB BAR. */
	assert_int_equal(add_dev(f, 1, t, s, 1), 2);
	assert_int_equal(add_dev(f, 2, t, s, 1), -ENOSPC);
	/* Slots run out at 31. */
	for (int i = 0; i < 29; i++) {
		pci__device_init(&many[i], "filler", &info);
		assert_int_equal(pci__register_device(f->host, &many[i]), 3 + i);
	}
	pci__device_init(&many[29], "one too many", &info);
	assert_int_equal(pci__register_device(f->host, &many[29]), -ENOSPC);
	/* A freed slot is used again. Then off the bus before these go out
	 * of scope: the host must not see them at teardown. */
	pci__unregister_device(&many[10]);
	assert_int_equal(pci__register_device(f->host, &many[29]), 13);
	for (int i = 0; i < 30; i++)
		pci__unregister_device(&many[i]);
}

static void test_allocation_alignment(void **state)
{
	struct fixture *f = *state;
	enum pci_bar_type t[] = { PCI_BAR_MEM32, PCI_BAR_MEM32, PCI_BAR_IO, PCI_BAR_IO };
	uint64_t s[][4] = { { 0x100, 0x10000, 4, 256 }, { 0x2000, 0x40, 64, 8 } };
	uint64_t lo[8], hi[8];
	int n = 0;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(add_dev(f, i, t, s[i], 4), 1 + i);
		for (unsigned b = 0; b < 4; b++) {
			uint64_t a = pci__bar_address(&f->dev[i].pci, b);

			assert_int_equal(a & (s[i][b] - 1), 0);
			assert_true(pci__bar_mapped(&f->dev[i].pci, b, NULL));
			for (int k = 0; k < n; k++)
				if (t[b] == t[k % 4])
					assert_true(a + s[i][b] <= lo[k] || a >= hi[k]);
			lo[n] = a;
			hi[n++] = a + s[i][b];
		}
	}
}

/* A BAR handler that raises INTx and looks up its BAR, as virtio's ISR
 * and notify handlers do, racing a vCPU that moves the BAR and toggles
 * decoding through config space: must not deadlock (bounded by alarm). */
struct race {
	struct fixture *f;
	uint64_t addr[2];
	int stop;		/* atomics: the two threads share these */
	long hits;
};

static struct race *the_race;

static void racing_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct pci_device *d = &the_race->f->dev[0].pci;
	uint64_t at;

	pci__set_irq(d, 1);
	(void)pci__bar_mapped(d, 0, &at);
	(void)pci__bar_address(d, 0);
	pci__set_irq(d, 0);
	memset(data, 0, len);
}

static const struct bus_dev_ops racing_ops = { .read = racing_read };

static void *racing_vcpu(void *arg)
{
	struct race *r = arg;
	uint32_t v;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
		for (int i = 0; i < 2; i++)
			if (bus__read(&r->f->mmio, r->addr[i], (uint8_t *)&v, 4))
				__atomic_add_fetch(&r->hits, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_handler_vs_bar_move(void **state)
{
	struct fixture *f = *state;
	static const struct pci_device_info info = { .vendor = 0x1af4, .device = 0x1000,
						     .irq_pin = 1 };
	struct race r = { .f = f, .addr = { 0xd0000000u, 0xd8000000u } };
	pthread_t t;

	the_race = &r;
	pci__device_init(&f->dev[0].pci, "racer", &info);
	assert_int_equal(pci__set_bar(&f->dev[0].pci, 0, PCI_BAR_MEM32, 0x1000,
				      &racing_ops, NULL), 0);
	assert_int_equal(pci__register_device(f->host, &f->dev[0].pci), 1);
	cfg_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	alarm(60);
	assert_int_equal(pthread_create(&t, NULL, racing_vcpu, &r), 0);
	while (!__atomic_load_n(&r.hits, __ATOMIC_ACQUIRE))
		sched_yield();
	for (int i = 0; i < 3000; i++) {
		cfg_wr(f, 1, PCI_BASE_ADDRESS_0, (uint32_t)r.addr[i & 1], 4);
		cfg_wr(f, 1, PCI_COMMAND, i % 3 ? PCI_COMMAND_MEMORY : 0, 2);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	alarm(0);
	assert_true(f->irq_calls > 0 && f->irq_calls % 2 == 0);
	assert_int_equal(f->last_level, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_address_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_port_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_bit_and_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_access_and_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_hooks_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_hooks_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_hooks_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_hooks_unregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_unwired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registration_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allocation_alignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_vs_bar_move, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
