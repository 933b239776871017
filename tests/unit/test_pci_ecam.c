/* test_pci_ecam.c — the PCI host's ECAM window on the MMIO bus: config
 * reads and writes agree with mechanism #1, registers past 0xff and
 * badly sized or aligned accesses, a BAR moved through ECAM on the same
 * MMIO bus it lives on (also with a vCPU in the BAR at the same time),
 * and a host with no port-I/O bus at all. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/pci_regs.h>

#include "devices/pci/pci.h"
#include "vmm/bus.h"
#include "vmm/log.h"

#define ECAM_BASE	0xb0000000ULL
#define MMIO32_BASE	0xc0000000ULL
#define MMIO32_END	0xfec00000ULL

struct fixture {
	struct bus pio, mmio;
	struct pci_host *host;
	struct pci_device dev;
	int bar_reads;		/* atomic */
};

static void bar_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	struct fixture *f = opaque;
	uint32_t v = 0xb0000000u | (uint32_t)offset;

	__atomic_add_fetch(&f->bar_reads, 1, __ATOMIC_RELAXED);
	memcpy(data, &v, len < 4 ? len : 4);
}

static const struct bus_dev_ops bar_ops = { .read = bar_read };

static const struct pci_device_info info = {
	.vendor = 0x1af4, .device = 0x1041, .class_code = 0x020000, .irq_pin = 1,
};

static struct pci_host *create(struct fixture *f, bool pio, uint64_t ecam)
{
	struct pci_host_config cfg = {
		.pio = pio ? &f->pio : NULL, .mmio = &f->mmio, .ecam_base = ecam,
		.mmio32_base = MMIO32_BASE, .mmio32_end = MMIO32_END,
		.io_base = pio ? 0x1000 : 0, .io_end = pio ? 0x10000 : 0,
	};

	return pci__create(&cfg);
}

static int setup_common(void **state, bool pio)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bus__init(&f->pio, "pio"), 0);
	assert_int_equal(bus__init(&f->mmio, "mmio"), 0);
	f->host = create(f, pio, ECAM_BASE);
	assert_non_null(f->host);
	pci__device_init(&f->dev, "testdev", &info);
	assert_int_equal(pci__set_bar(&f->dev, 0, PCI_BAR_MEM32, 0x1000, &bar_ops, f), 0);
	assert_int_equal(pci__register_device(f->host, &f->dev), 1);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, true);
}

static int setup_no_pio(void **state)
{
	return setup_common(state, false);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uint32_t v;

	pci__free(f->host);
	/* the window goes with the host */
	assert_false(bus__read(&f->mmio, ECAM_BASE, (uint8_t *)&v, 4));
	bus__destroy(&f->pio);
	bus__destroy(&f->mmio);
	free(f);
	return 0;
}

static uint64_t ecam(unsigned dev, unsigned fn, unsigned reg)
{
	return ECAM_BASE + ((uint64_t)dev << 15 | (uint64_t)fn << 12 | reg);
}

static uint32_t ecam_rd(struct fixture *f, unsigned dev, unsigned fn, unsigned reg, uint32_t len)
{
	uint32_t v = 0;

	assert_true(bus__read(&f->mmio, ecam(dev, fn, reg), (uint8_t *)&v, len));
	return v;
}

static void ecam_wr(struct fixture *f, unsigned dev, unsigned reg, uint32_t v, uint32_t len)
{
	assert_true(bus__write(&f->mmio, ecam(dev, 0, reg), (const uint8_t *)&v, len));
}

static uint32_t cf8_rd(struct fixture *f, unsigned dev, unsigned reg, uint32_t len)
{
	uint32_t a = 0x80000000u | dev << 11 | (reg & 0xfc), v = 0;

	bus__write(&f->pio, 0xcf8, (const uint8_t *)&a, 4);
	bus__read(&f->pio, 0xcfc + (reg & 3), (uint8_t *)&v, len);
	return v;
}

static bool mmio_claimed(struct fixture *f, uint64_t addr)
{
	uint32_t v;

	return bus__read(&f->mmio, addr, (uint8_t *)&v, 4);
}

static void test_ecam_reads_writes(void **state)
{
	struct fixture *f = *state;

	/* the host bridge and the device, as mechanism #1 sees them */
	assert_int_equal(ecam_rd(f, 0, 0, PCI_VENDOR_ID, 4), 0x0d578086u);
	assert_int_equal(ecam_rd(f, 1, 0, PCI_VENDOR_ID, 4), 0x10411af4u);
	for (unsigned reg = 0; reg < PCI_CFG_SIZE; reg += 4)
		assert_int_equal(ecam_rd(f, 1, 0, reg, 4), cf8_rd(f, 1, reg, 4));
	assert_int_equal(ecam_rd(f, 1, 0, PCI_DEVICE_ID, 2), 0x1041);
	assert_int_equal(ecam_rd(f, 1, 0, PCI_CLASS_DEVICE + 1, 1), 0x02);
	/* absent devices and functions read all ones */
	assert_int_equal(ecam_rd(f, 2, 0, PCI_VENDOR_ID, 4), 0xffffffffu);
	assert_int_equal(ecam_rd(f, 31, 0, PCI_VENDOR_ID, 2), 0xffff);
	assert_int_equal(ecam_rd(f, 1, 1, PCI_VENDOR_ID, 4), 0xffffffffu);
	/* past the 256 bytes of config space: zero, writes ignored */
	assert_int_equal(ecam_rd(f, 1, 0, 0x100, 4), 0);
	assert_int_equal(ecam_rd(f, 1, 0, 0xffc, 4), 0);
	ecam_wr(f, 1, 0x100, 0xffffffffu, 4);
	assert_int_equal(ecam_rd(f, 1, 0, 0x100, 4), 0);
	/* a write reaches the same bytes mechanism #1 reads */
	ecam_wr(f, 1, PCI_LATENCY_TIMER, 0x40, 1);
	assert_int_equal(cf8_rd(f, 1, PCI_LATENCY_TIMER, 1), 0x40);
	ecam_wr(f, 1, PCI_INTERRUPT_LINE, 0x0b, 1);
	assert_int_equal(ecam_rd(f, 1, 0, PCI_INTERRUPT_LINE, 1), 0x0b);
	/* read-only bytes stay so */
	ecam_wr(f, 1, PCI_VENDOR_ID, 0, 4);
	assert_int_equal(ecam_rd(f, 1, 0, PCI_VENDOR_ID, 4), 0x10411af4u);
	/* unaligned or odd-sized: all ones, writes dropped */
	assert_int_equal(ecam_rd(f, 1, 0, PCI_VENDOR_ID + 1, 2), 0xffff);
	assert_int_equal(ecam_rd(f, 1, 0, PCI_VENDOR_ID + 2, 4), 0xffffffffu);
	ecam_wr(f, 1, PCI_LATENCY_TIMER, 0x1111, 2);	/* 0x0d: odd */
	assert_int_equal(cf8_rd(f, 1, PCI_LATENCY_TIMER, 1), 0x40);
	{
		uint8_t b[8];

		assert_true(bus__read(&f->mmio, ecam(1, 0, 0), b, 8));
		for (int i = 0; i < 8; i++)
			assert_int_equal(b[i], 0xff);
		assert_true(bus__read(&f->mmio, ecam(1, 0, 0), b, 3));
		assert_int_equal(b[0] & b[1] & b[2], 0xff);
	}
	/* the window ends after bus 0 */
	assert_true(mmio_claimed(f, ECAM_BASE + PCI_ECAM_SIZE - 4));
	assert_false(mmio_claimed(f, ECAM_BASE + PCI_ECAM_SIZE));
}

/* The config write arrives on the MMIO bus and moves a BAR on it. */
static void test_ecam_bar_move(void **state)
{
	struct fixture *f = *state;
	uint32_t b0 = ecam_rd(f, 1, 0, PCI_BASE_ADDRESS_0, 4) & ~0xfu;
	uint64_t at;

	alarm(20);
	assert_true(mmio_claimed(f, b0));
	ecam_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	assert_true(pci__bar_mapped(&f->dev, 0, &at));
	assert_int_equal(at, 0xd0000000u);
	assert_false(mmio_claimed(f, b0));
	assert_true(mmio_claimed(f, 0xd0000010u));
	/* sizing through ECAM, then restoring */
	ecam_wr(f, 1, PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	assert_int_equal(ecam_rd(f, 1, 0, PCI_BASE_ADDRESS_0, 4), 0xfffff000u);
	assert_false(mmio_claimed(f, 0xd0000000u));
	ecam_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	assert_true(mmio_claimed(f, 0xd0000000u));
	/* memory decode off and on */
	ecam_wr(f, 1, PCI_COMMAND, 0, 2);
	assert_false(mmio_claimed(f, 0xd0000000u));
	ecam_wr(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_true(mmio_claimed(f, 0xd0000000u));
	/* onto the ECAM window itself: refused, the window keeps working */
	ecam_wr(f, 1, PCI_BASE_ADDRESS_0, (uint32_t)ECAM_BASE, 4);
	assert_false(pci__bar_mapped(&f->dev, 0, NULL));
	assert_int_equal(ecam_rd(f, 1, 0, PCI_VENDOR_ID, 4), 0x10411af4u);
	alarm(0);
}

/* A vCPU keeps reading the BAR while another moves it through ECAM. */
struct race {
	struct fixture *f;
	int stop;		/* atomic */
};

static void *vcpu(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		mmio_claimed(r->f, 0xd0000000u);
		mmio_claimed(r->f, 0xd8000000u);
		mmio_claimed(r->f, ecam(1, 0, PCI_BASE_ADDRESS_0));
	}
	return NULL;
}

static void test_ecam_bar_move_racing(void **state)
{
	struct fixture *f = *state;
	struct race r = { .f = f };
	pthread_t t;

	alarm(60);
	ecam_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	assert_int_equal(pthread_create(&t, NULL, vcpu, &r), 0);
	while (!__atomic_load_n(&f->bar_reads, __ATOMIC_RELAXED))
		sched_yield();
	for (int i = 0; i < 2000; i++) {
		ecam_wr(f, 1, PCI_BASE_ADDRESS_0, i & 1 ? 0xd8000000u : 0xd0000000u, 4);
		if (i % 7 == 0)
			ecam_wr(f, 1, PCI_COMMAND, i % 2 ? PCI_COMMAND_MEMORY : 0, 2);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t, NULL), 0);
	alarm(0);
}

static uint32_t io_bar_read_val;

static void io_read(void *opaque, uint64_t offset, uint8_t *data, uint32_t len)
{
	(void)opaque; (void)offset;
	memcpy(data, &io_bar_read_val, len < 4 ? len : 4);
}

static const struct bus_dev_ops io_ops = { .read = io_read };

static void test_host_without_pio(void **state)
{
	struct fixture *f = *state;
	struct pci_device io_dev;
	uint32_t v;

	/* config space through ECAM only; nothing on the port-I/O bus */
	assert_int_equal(ecam_rd(f, 1, 0, PCI_VENDOR_ID, 4), 0x10411af4u);
	assert_int_equal(f->pio.nr, 0);
	assert_false(bus__read(&f->pio, 0xcfc, (uint8_t *)&v, 4));
	/* the memory BAR works and moves */
	ecam_wr(f, 1, PCI_BASE_ADDRESS_0, 0xd0000000u, 4);
	assert_true(mmio_claimed(f, 0xd0000000u));
	/* a device with an I/O BAR finds no window */
	pci__device_init(&io_dev, "io", &info);
	assert_int_equal(pci__set_bar(&io_dev, 0, PCI_BAR_IO, 32, &io_ops, NULL), 0);
	assert_int_equal(pci__register_device(f->host, &io_dev), -ENOSPC);
	assert_int_equal(ecam_rd(f, 2, 0, PCI_VENDOR_ID, 4), 0xffffffffu);
	/* the command register's I/O bit maps nothing either */
	ecam_wr(f, 1, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	assert_true(mmio_claimed(f, 0xd0000000u));
}

static void test_bad_configs(void **state)
{
	struct fixture f;
	struct pci_host *h;
	struct pci_host_config cfg = {
		.mmio = &f.mmio, .mmio32_base = MMIO32_BASE, .mmio32_end = MMIO32_END,
	};
	int saved = log__verbosity;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(bus__init(&f.pio, "pio"), 0);
	assert_int_equal(bus__init(&f.mmio, "mmio"), 0);
	log__verbosity = -1;	/* the refusals print one line each */
	/* neither mechanism */
	assert_null(pci__create(&cfg));
	/* an I/O window without a port-I/O bus */
	cfg.ecam_base = ECAM_BASE;
	cfg.io_base = 0x1000;
	cfg.io_end = 0x2000;
	assert_null(pci__create(&cfg));
	cfg.io_base = cfg.io_end = 0;
	/* a window not aligned to its size */
	cfg.ecam_base = ECAM_BASE + 0x1000;
	assert_null(pci__create(&cfg));
	/* a window on something already there */
	cfg.ecam_base = ECAM_BASE;
	assert_int_equal(bus__register(&f.mmio, ECAM_BASE + 0x8000, 4, &bar_ops, &f), 0);
	assert_null(pci__create(&cfg));
	assert_int_equal(f.mmio.nr, 1);
	assert_int_equal(bus__unregister(&f.mmio, ECAM_BASE + 0x8000), 0);
	/* ECAM alongside CF8/CFC, and no ECAM at all, both fine */
	log__verbosity = saved;
	h = pci__create(&cfg);
	assert_non_null(h);
	pci__free(h);
	cfg.pio = &f.pio;
	cfg.ecam_base = 0;
	h = pci__create(&cfg);
	assert_non_null(h);
	assert_int_equal(f.mmio.nr, 0);
	pci__free(h);
	assert_int_equal(f.pio.nr, 0);
	bus__destroy(&f.pio);
	bus__destroy(&f.mmio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ecam_reads_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecam_bar_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecam_bar_move_racing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_without_pio, setup_no_pio, teardown),
		cmocka_unit_test(test_bad_configs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
