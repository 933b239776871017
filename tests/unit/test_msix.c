/* test_msix.c — MSI-X as Linux's PCI MSI code drives it: the capability
 * through config mechanism #1, the table and PBA through the MMIO bus in a
 * BAR, masking, pending bits and the owner's callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <linux/pci_regs.h>

#include "devices/pci/msix.h"
#include "devices/pci/pci.h"
#include "vmm/bus.h"

#define NR_VEC		4
#define PBA_OFFSET	0xc00	/* table room for 192 vectors before it */
#define MSG_ADDR	0xfee01000u

enum ev_type { EV_CHANGED, EV_DELIVER };

struct event {
	enum ev_type type;
	unsigned vector;
	uint64_t addr;
	uint32_t data;
	bool masked;
};

struct fixture {
	struct bus pio, mmio;
	struct pci_host *host;
	struct pci_device pci;
	struct msix *msix;
	int slot, cap;
	uint64_t bar;
	pthread_mutex_t ev_lock;
	struct event ev[64];
	int nr_ev;
	long delivered;		/* all deliveries, also past ev[] */
};

static void record(struct fixture *f, struct event e)
{
	pthread_mutex_lock(&f->ev_lock);
	if (e.type == EV_DELIVER)
		f->delivered++;
	if (f->nr_ev < 64)
		f->ev[f->nr_ev++] = e;
	pthread_mutex_unlock(&f->ev_lock);
}

static void on_changed(void *opaque, unsigned vector, uint64_t addr, uint32_t data, bool masked)
{
	record(opaque, (struct event){ EV_CHANGED, vector, addr, data, masked });
}

static void on_deliver(void *opaque, unsigned vector, uint64_t addr, uint32_t data)
{
	record(opaque, (struct event){ EV_DELIVER, vector, addr, data, false });
}

static const struct msix_ops ops = { .vector_changed = on_changed, .deliver = on_deliver };

static int setup_n(void **state, unsigned nr)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static const struct pci_device_info info = {
		.vendor = 0x1af4, .device = 0x1041, .class_code = 0x020000, .irq_pin = 1,
	};
	struct pci_host_config cfg = {
		.mmio32_base = 0xc0000000ULL, .mmio32_end = 0xfec00000ULL,
	};
	struct msix_config mc = {
		.nr_vectors = nr, .table_bar = 1, .table_offset = 0,
		.pba_bar = 1, .pba_offset = PBA_OFFSET,
	};

	assert_non_null(f);
	pthread_mutex_init(&f->ev_lock, NULL);
	assert_int_equal(bus__init(&f->pio, "pio"), 0);
	assert_int_equal(bus__init(&f->mmio, "mmio"), 0);
	cfg.pio = &f->pio;
	cfg.mmio = &f->mmio;
	f->host = pci__create(&cfg);
	assert_non_null(f->host);
	pci__device_init(&f->pci, "msixdev", &info);
	/* The table's BAR is declared after the MSI-X state that serves it. */
	f->msix = msix__create(&f->pci, &mc, &ops, f);
	assert_non_null(f->msix);
	assert_int_equal(pci__set_bar(&f->pci, 1, PCI_BAR_MEM32, 0x1000, &msix__bar_ops,
				      f->msix), 0);
	f->slot = pci__register_device(f->host, &f->pci);
	assert_int_equal(f->slot, 1);
	f->cap = msix__cap_offset(f->msix);
	assert_true(pci__bar_mapped(&f->pci, 1, &f->bar));
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_n(state, NR_VEC);
}

static int setup_many(void **state)
{
	return setup_n(state, 130);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci__free(f->host);
	msix__free(f->msix);
	bus__destroy(&f->pio);
	bus__destroy(&f->mmio);
	pthread_mutex_destroy(&f->ev_lock);
	free(f);
	return 0;
}

/* Config space through 0xCF8/0xCFC, as the guest. */
static uint32_t cfg_rd(struct fixture *f, int reg, uint32_t len)
{
	uint32_t a = 0x80000000u | (uint32_t)f->slot << 11 | (uint32_t)(reg & 0xfc), v = 0;

	bus__write(&f->pio, 0xcf8, (uint8_t *)&a, 4);
	bus__read(&f->pio, (uint16_t)(0xcfc + (reg & 3)), (uint8_t *)&v, len);
	return v;
}

static void cfg_wr(struct fixture *f, int reg, uint32_t v, uint32_t len)
{
	uint32_t a = 0x80000000u | (uint32_t)f->slot << 11 | (uint32_t)(reg & 0xfc);

	bus__write(&f->pio, 0xcf8, (uint8_t *)&a, 4);
	bus__write(&f->pio, (uint16_t)(0xcfc + (reg & 3)), (uint8_t *)&v, len);
}

static void set_ctrl(struct fixture *f, uint16_t flags)
{
	cfg_wr(f, f->cap + PCI_MSIX_FLAGS, flags, 2);
}

static uint64_t mmio_rd(struct fixture *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	assert_true(bus__read(&f->mmio, f->bar + off, (uint8_t *)&v, len));
	return v;
}

static void mmio_wr(struct fixture *f, uint64_t off, uint64_t v, uint32_t len)
{
	assert_true(bus__write(&f->mmio, f->bar + off, (const uint8_t *)&v, len));
}

static uint64_t ent(unsigned v, unsigned field)
{
	return (uint64_t)v * PCI_MSIX_ENTRY_SIZE + field;
}

/* Program vector v as Linux does: address, upper address, data, unmask. */
static void program(struct fixture *f, unsigned v, uint32_t addr, uint32_t data, bool unmask)
{
	mmio_wr(f, ent(v, PCI_MSIX_ENTRY_LOWER_ADDR), addr, 4);
	mmio_wr(f, ent(v, PCI_MSIX_ENTRY_UPPER_ADDR), 0, 4);
	mmio_wr(f, ent(v, PCI_MSIX_ENTRY_DATA), data, 4);
	if (unmask)
		mmio_wr(f, ent(v, PCI_MSIX_ENTRY_VECTOR_CTRL), 0, 4);
}

static void clear_events(struct fixture *f)
{
	f->nr_ev = 0;
	f->delivered = 0;
}

static void test_capability(void **state)
{
	struct fixture *f = *state;
	int ptr = (int)cfg_rd(f, PCI_CAPABILITY_LIST, 1);

	assert_true(cfg_rd(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(ptr, f->cap);
	assert_int_equal(cfg_rd(f, ptr, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(cfg_rd(f, ptr + PCI_CAP_LIST_NEXT, 1), 0);
	assert_int_equal(cfg_rd(f, ptr + PCI_MSIX_FLAGS, 2), NR_VEC - 1);
	assert_int_equal(cfg_rd(f, ptr + PCI_MSIX_TABLE, 4), 0x0 | 1);
	assert_int_equal(cfg_rd(f, ptr + PCI_MSIX_PBA, 4), PBA_OFFSET | 1);
	/* Only enable and function mask are writable. */
	cfg_wr(f, ptr + PCI_MSIX_FLAGS, 0xffff, 2);
	assert_int_equal(cfg_rd(f, ptr + PCI_MSIX_FLAGS, 2),
			 PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL | (NR_VEC - 1));
	assert_true(msix__enabled(f->msix));
	cfg_wr(f, ptr + PCI_MSIX_TABLE, 0, 4);
	cfg_wr(f, ptr + PCI_MSIX_PBA, 0, 4);
	assert_int_equal(cfg_rd(f, ptr + PCI_MSIX_PBA, 4), PBA_OFFSET | 1);
	/* A byte write of the upper control byte works alone. */
	cfg_wr(f, ptr + PCI_MSIX_FLAGS + 1, 0, 1);
	assert_false(msix__enabled(f->msix));
	assert_int_equal(f->nr_ev, 0);		/* all vectors stayed masked */
}

static void test_table_access(void **state)
{
	struct fixture *f = *state;
	uint64_t addr;
	uint32_t data;
	bool masked;

	/* Reset state: masked, zero message. */
	for (unsigned v = 0; v < NR_VEC; v++) {
		assert_int_equal(mmio_rd(f, ent(v, 0), 4), 0);
		assert_int_equal(mmio_rd(f, ent(v, PCI_MSIX_ENTRY_VECTOR_CTRL), 4),
				 PCI_MSIX_ENTRY_CTRL_MASKBIT);
	}
	program(f, 2, MSG_ADDR, 0x4041, false);
	mmio_wr(f, ent(2, PCI_MSIX_ENTRY_UPPER_ADDR), 0x12, 4);
	assert_int_equal(mmio_rd(f, ent(2, 0), 4), MSG_ADDR);
	assert_int_equal(mmio_rd(f, ent(2, 4), 4), 0x12);
	assert_int_equal(mmio_rd(f, ent(2, 8), 4), 0x4041);
	assert_int_equal(mmio_rd(f, ent(2, 0), 8), 0x12ULL << 32 | MSG_ADDR);
	assert_int_equal(mmio_rd(f, ent(2, 8), 8), 1ULL << 32 | 0x4041);
	assert_int_equal(mmio_rd(f, ent(2, 8), 2), 0x4041);
	assert_int_equal(mmio_rd(f, ent(2, 9), 1), 0x40);
	/* 64-bit write of the address. */
	mmio_wr(f, ent(1, 0), 0x00000001fee02000ULL, 8);
	assert_int_equal(mmio_rd(f, ent(1, 0), 4), 0xfee02000u);
	assert_int_equal(mmio_rd(f, ent(1, 4), 4), 1);
	/* Reserved bits read as zero. */
	mmio_wr(f, ent(1, 0), 0xfee02003u, 4);
	assert_int_equal(mmio_rd(f, ent(1, 0), 4), 0xfee02000u);
	mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 0xfffffffeu, 4);
	assert_int_equal(mmio_rd(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 0);
	mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 0xffffffffu, 4);
	assert_int_equal(mmio_rd(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 4), 1);

	/* Wrong widths and misaligned accesses change nothing. */
	mmio_wr(f, ent(2, 8), 0x11, 1);
	mmio_wr(f, ent(2, 8), 0x1111, 2);
	mmio_wr(f, ent(2, 10), 0x1111, 2);
	mmio_wr(f, ent(2, 6), 0x11111111, 4);
	mmio_wr(f, ent(2, 4), 0x1111111111111111ULL, 8);
	assert_int_equal(mmio_rd(f, ent(2, 0), 8), 0x12ULL << 32 | MSG_ADDR);
	assert_int_equal(mmio_rd(f, ent(2, 8), 8), 1ULL << 32 | 0x4041);
	assert_int_equal(mmio_rd(f, ent(2, 6), 4), 0xffffffffu);
	/* Beyond the table (inside the BAR): ignored, reads all ones. */
	mmio_wr(f, ent(NR_VEC, 0), 0x1234, 4);
	assert_int_equal(mmio_rd(f, ent(NR_VEC, 0), 4), 0xffffffffu);
	assert_int_equal(mmio_rd(f, 0xffc, 4), 0xffffffffu);
	/* Direct calls with absurd offsets. */
	msix__table_write(f->msix, ~0ULL - 3, (const uint8_t *)"abcd", 4);
	assert_int_equal(msix__get_vector(f->msix, 2, &addr, &data, &masked), 0);
	assert_int_equal(addr, 0x12ULL << 32 | MSG_ADDR);
	assert_int_equal(data, 0x4041);
	assert_true(masked);
	assert_int_equal(msix__get_vector(f->msix, NR_VEC, &addr, &data, &masked), -1);
	/* MSI-X is off, so no callbacks for any of this. */
	assert_int_equal(f->nr_ev, 0);
}

static void test_disabled(void **state)
{
	struct fixture *f = *state;

	program(f, 0, MSG_ADDR, 0x30, true);
	assert_int_equal(msix__signal(f->msix, 0), MSIX_DISABLED);
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 8), 0);		/* nothing latched */
	assert_int_equal(msix__signal(f->msix, NR_VEC), MSIX_NO_VECTOR);
	assert_int_equal(f->nr_ev, 0);
	/* Enabling with vector 0 unmasked reports it; delivery works. */
	set_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->nr_ev, 1);
	assert_int_equal(f->ev[0].type, EV_CHANGED);
	assert_int_equal(f->ev[0].vector, 0);
	assert_int_equal(f->ev[0].addr, MSG_ADDR);
	assert_int_equal(f->ev[0].data, 0x30);
	assert_false(f->ev[0].masked);
	assert_int_equal(msix__signal(f->msix, 0), MSIX_DELIVERED);
	assert_int_equal(f->nr_ev, 2);
	assert_int_equal(f->ev[1].type, EV_DELIVER);
	assert_int_equal(f->ev[1].addr, MSG_ADDR);
	assert_int_equal(f->ev[1].data, 0x30);
	/* Disabling masks it again. */
	set_ctrl(f, 0);
	assert_int_equal(f->nr_ev, 3);
	assert_true(f->ev[2].masked);
	assert_int_equal(msix__signal(f->msix, 0), MSIX_DISABLED);
}

static void test_pending_on_mask(void **state)
{
	struct fixture *f = *state;

	/* Linux: enable with function mask, program, clear function mask. */
	set_ctrl(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	program(f, 1, MSG_ADDR, 0x41, false);
	set_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->nr_ev, 0);			/* every entry still masked */

	assert_int_equal(msix__signal(f->msix, 1), MSIX_PENDING);
	assert_int_equal(msix__signal(f->msix, 1), MSIX_PENDING);	/* one bit */
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 8), 1u << 1);
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 4), 1u << 1);
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 1), 1u << 1);
	mmio_wr(f, PBA_OFFSET, 0, 8);			/* PBA is read-only */
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 8), 1u << 1);
	assert_int_equal(f->nr_ev, 0);

	/* Unmask: route update first, then the latched message, once. */
	mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 0, 4);
	assert_int_equal(f->nr_ev, 2);
	assert_int_equal(f->ev[0].type, EV_CHANGED);
	assert_false(f->ev[0].masked);
	assert_int_equal(f->ev[1].type, EV_DELIVER);
	assert_int_equal(f->ev[1].vector, 1);
	assert_int_equal(f->ev[1].addr, MSG_ADDR);
	assert_int_equal(f->ev[1].data, 0x41);
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 8), 0);
	/* Mask again without a signal: nothing to deliver on unmask. */
	clear_events(f);
	mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 1, 4);
	mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 0, 4);
	assert_int_equal(f->nr_ev, 2);
	assert_true(f->ev[0].masked);
	assert_false(f->ev[1].masked);
	assert_int_equal(f->delivered, 0);
	/* Rewriting the same mask value is no change. */
	mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 0, 4);
	assert_int_equal(f->nr_ev, 2);
}

static void test_function_mask(void **state)
{
	struct fixture *f = *state;

	set_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	program(f, 0, MSG_ADDR, 0x40, true);
	program(f, 3, MSG_ADDR, 0x43, true);
	program(f, 2, MSG_ADDR, 0x42, false);
	clear_events(f);

	set_ctrl(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(f->nr_ev, 2);			/* vectors 0 and 3 only */
	assert_int_equal(f->ev[0].vector, 0);
	assert_true(f->ev[0].masked);
	assert_int_equal(f->ev[1].vector, 3);
	assert_true(f->ev[1].masked);
	assert_int_equal(msix__signal(f->msix, 3), MSIX_PENDING);
	assert_int_equal(msix__signal(f->msix, 2), MSIX_PENDING);
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 8), (1u << 3) | (1u << 2));
	/* Unmasking an entry under the function mask delivers nothing. */
	mmio_wr(f, ent(2, PCI_MSIX_ENTRY_VECTOR_CTRL), 0, 4);
	assert_int_equal(f->nr_ev, 2);
	clear_events(f);

	set_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	/* 0: unmasked; 2: unmasked + delivered; 3: unmasked + delivered. */
	assert_int_equal(f->nr_ev, 5);
	assert_int_equal(f->ev[0].vector, 0);
	assert_int_equal(f->ev[1].type, EV_CHANGED);
	assert_int_equal(f->ev[1].vector, 2);
	assert_int_equal(f->ev[2].type, EV_DELIVER);
	assert_int_equal(f->ev[2].data, 0x42);
	assert_int_equal(f->ev[4].type, EV_DELIVER);
	assert_int_equal(f->ev[4].data, 0x43);
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 8), 0);
}

static void test_message_updates(void **state)
{
	struct fixture *f = *state;

	set_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	/* Changes while masked are reported at unmask, with the new values. */
	program(f, 0, MSG_ADDR, 0x50, false);
	mmio_wr(f, ent(0, PCI_MSIX_ENTRY_DATA), 0x51, 4);
	assert_int_equal(f->nr_ev, 0);
	mmio_wr(f, ent(0, PCI_MSIX_ENTRY_VECTOR_CTRL), 0, 4);
	assert_int_equal(f->nr_ev, 1);
	assert_int_equal(f->ev[0].data, 0x51);
	/* While unmasked: every real change, none for an identical value. */
	mmio_wr(f, ent(0, PCI_MSIX_ENTRY_DATA), 0x52, 4);
	assert_int_equal(f->nr_ev, 2);
	assert_int_equal(f->ev[1].data, 0x52);
	assert_false(f->ev[1].masked);
	mmio_wr(f, ent(0, PCI_MSIX_ENTRY_DATA), 0x52, 4);
	assert_int_equal(f->nr_ev, 2);
	/* A qword address write is one update. */
	mmio_wr(f, ent(0, 0), 0x00000002fee04000ULL, 8);
	assert_int_equal(f->nr_ev, 3);
	assert_int_equal(f->ev[2].addr, 0x00000002fee04000ULL);
	/* A qword data + control write unmasks with the new data at once. */
	mmio_wr(f, ent(3, 0), MSG_ADDR, 8);
	mmio_wr(f, ent(3, 8), 0x63, 8);
	assert_int_equal(f->nr_ev, 4);
	assert_int_equal(f->ev[3].vector, 3);
	assert_int_equal(f->ev[3].data, 0x63);
	assert_false(f->ev[3].masked);
}

static void test_many_vectors(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_rd(f, f->cap + PCI_MSIX_FLAGS, 2), 129);
	set_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(msix__signal(f->msix, 64), MSIX_PENDING);
	assert_int_equal(msix__signal(f->msix, 129), MSIX_PENDING);
	assert_int_equal(msix__signal(f->msix, 130), MSIX_NO_VECTOR);
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 8), 0);
	assert_int_equal(mmio_rd(f, PBA_OFFSET + 8, 8), 1);
	assert_int_equal(mmio_rd(f, PBA_OFFSET + 16, 8), 2);
	assert_int_equal(mmio_rd(f, PBA_OFFSET + 16, 1), 2);
	assert_int_equal(mmio_rd(f, PBA_OFFSET + 24, 8), ~0ULL);	/* past the PBA */
	program(f, 129, MSG_ADDR, 0x99, true);
	assert_int_equal(f->delivered, 1);
	assert_int_equal(mmio_rd(f, PBA_OFFSET + 16, 8), 0);
	assert_int_equal(mmio_rd(f, ent(129, 8), 4), 0x99);
}

static void test_create_errors(void **state)
{
	struct fixture *f = *state;
	static const struct pci_device_info info = { .vendor = 0x1af4, .device = 0x1041 };
	struct pci_device d;
	struct msix_config good = { .nr_vectors = 8, .table_bar = 0, .table_offset = 0,
				    .pba_bar = 0, .pba_offset = 0x100 };
	struct msix_config c;
	struct msix *m;

	pci__device_init(&d, "errs", &info);
	assert_int_equal(pci__set_bar(&d, 0, PCI_BAR_MEM32, 0x200, &msix__bar_ops, NULL), 0);
	assert_int_equal(pci__set_bar(&d, 2, PCI_BAR_IO, 0x80, &msix__bar_ops, NULL), 0);
	c = good; c.nr_vectors = 0;
	assert_null(msix__create(&d, &c, &ops, f));
	c = good; c.nr_vectors = MSIX_MAX_VECTORS + 1;
	assert_null(msix__create(&d, &c, &ops, f));
	c = good; c.table_offset = 4;				/* misaligned */
	assert_null(msix__create(&d, &c, &ops, f));
	c = good; c.pba_offset = 0x78;				/* overlaps table */
	assert_null(msix__create(&d, &c, &ops, f));
	c = good; c.nr_vectors = 24;				/* table > BAR */
	c.table_offset = 0x100;
	c.pba_offset = 0;
	assert_null(msix__create(&d, &c, &ops, f));
	c = good; c.table_bar = 2;				/* I/O BAR */
	assert_null(msix__create(&d, &c, &ops, f));
	c = good; c.pba_bar = 6;
	assert_null(msix__create(&d, &c, &ops, f));
	assert_int_equal(d.nr_caps, 0);
	m = msix__create(&d, &good, &ops, f);
	assert_non_null(m);
	assert_int_equal(d.nr_caps, 1);
	msix__free(m);
	/* After registration the capability cannot be added. */
	c = good; c.table_bar = 1;
	assert_null(msix__create(&f->pci, &c, &ops, f));
}

/* vCPU writes masking and unmasking vs. the I/O thread signalling: every
 * signal ends delivered or latched, and a final unmask drains the latch. */
struct race {
	struct fixture *f;
	int n;
	int results[4];
};

static void *signaller(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < r->n; i++)
		r->results[msix__signal(r->f->msix, 1)]++;
	return NULL;
}

static void test_concurrent_signal(void **state)
{
	struct fixture *f = *state;
	struct race r = { .f = f, .n = 20000 };
	pthread_t t;

	set_ctrl(f, PCI_MSIX_FLAGS_ENABLE);
	program(f, 1, MSG_ADDR, 0x71, true);
	clear_events(f);
	assert_int_equal(pthread_create(&t, NULL, signaller, &r), 0);
	for (int i = 0; i < 2000; i++) {
		mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 1, 4);
		mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 0, 4);
	}
	mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 1, 4);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(r.results[MSIX_DELIVERED] + r.results[MSIX_PENDING], r.n);
	assert_int_equal(r.results[MSIX_DISABLED] + r.results[MSIX_NO_VECTOR], 0);
	/* Deliveries: every DELIVERED plus at most one per unmask. */
	assert_true(f->delivered >= r.results[MSIX_DELIVERED]);
	assert_true(f->delivered <= r.results[MSIX_DELIVERED] + 2000);
	if (msix__signal(f->msix, 1) != MSIX_PENDING)
		fail_msg("masked vector delivered");
	mmio_wr(f, ent(1, PCI_MSIX_ENTRY_VECTOR_CTRL), 0, 4);
	assert_int_equal(mmio_rd(f, PBA_OFFSET, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_on_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_updates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_vectors, setup_many, teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_signal, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
