/* test_virtio_pci.c — the virtio-pci transport's doorbells as a guest
 * moves BAR 0 around: its ioeventfds must follow the BAR (moves, the
 * command register's memory decode bit, BAR sizing) and never pile up
 * (reset, queue re-enable).
 *
 * KVM is faked at link time: this file defines the irq__* functions the
 * transport calls (vmm/irq.h). Its KVM_IOEVENTFD keeps a table with KVM's
 * rules (assigning a second one at the same address and length is
 * -EEXIST, deassigning one that is not there -ENOENT), and guest_write()
 * does what KVM does with a guest write: signal a matching ioeventfd, or
 * else exit to vmm, i.e. the MMIO bus. The I/O loop is faked
 * (tests/common/fake_loop.h); pump() dispatches ready eventfds on this thread.
 * Config space is reached through mechanism #1 on a real port-I/O bus, so
 * the BAR hooks run inside a bus access, as they do in vmm.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "devices/pci/pci.h"
#include "tests/common/fake_loop.h"
#include "virtio/pci.h"
#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/loop.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define NR_QUEUES	2
#define QSIZE		16
#define RAM_SIZE	(4 * MiB)
#define RING(q)		(0x10000ULL + (uint64_t)(q) * 0x10000)	/* desc; avail +0x1000; used +0x2000 */
#define OFF_NOTIFY	0x3000		/* virtio/pci_priv.h: BAR 0 layout */
#define NOTIFY_MULT	4
#define COMMON(f)	offsetof(struct virtio_pci_common_cfg, f)

struct ioeventfd {
	int fd;
	uint64_t addr;
	uint32_t len;
	bool live;
};

struct ioevent_call {
	bool assign;
	uint64_t addr;
	int fd;
};

static struct {
	struct vm *vm;
	struct pci_host *host;
	struct virtio_dev vdev;
	struct virtio_pci *vp;
	int slot;
	/* fake KVM */
	struct ioeventfd ioev[16];
	struct ioevent_call call[64];
	int nr_calls;
	bool fail_assign;
	uint32_t next_gsi;
	/* the device model */
	int notified[NR_QUEUES], resets, queue_enables, driver_oks, set_features;
} T;

/* ---- fake KVM (vmm/irq.h) ------------------------------------------------ */

static int fake_alloc_msi_gsi(void *opaque, uint32_t *gsi)
{
	*gsi = 24 + T.next_gsi++;
	return 0;
}

static int fake_set_msi(void *opaque, uint32_t gsi, const struct msi_msg *m) { return 0; }
static int fake_signal_msi(void *opaque, const struct msi_msg *m) { return 0; }
static int fake_irqfd(void *opaque, int fd, uint32_t gsi, bool assign) { return 0; }

static int fake_ioeventfd(void *opaque, int fd, uint64_t addr, uint32_t len, bool pio, bool assign)
{
	struct ioeventfd *free_slot = NULL;

	assert_false(pio);
	if (T.nr_calls < (int)ARRAY_SIZE(T.call))
		T.call[T.nr_calls++] = (struct ioevent_call){ assign, addr, fd };
	for (size_t i = 0; i < ARRAY_SIZE(T.ioev); i++) {
		struct ioeventfd *e = &T.ioev[i];

		if (!e->live) {
			free_slot = free_slot ? free_slot : e;
			continue;
		}
		if (e->addr != addr || e->len != len)
			continue;
		if (assign)
			return -EEXIST;		/* KVM: ioeventfd_check_collision() */
		if (e->fd != fd)
			continue;
		e->live = false;
		return 0;
	}
	if (!assign)
		return -ENOENT;
	if (T.fail_assign)
		return -ENOSPC;
	assert_non_null(free_slot);
	*free_slot = (struct ioeventfd){ fd, addr, len, true };
	return 0;
}

static const struct irq_ops fake_irq_ops = {
	.alloc_msi_gsi = fake_alloc_msi_gsi, .set_msi = fake_set_msi,
	.signal_msi = fake_signal_msi, .irqfd = fake_irqfd, .ioeventfd = fake_ioeventfd,
};


/* Live ioeventfds in all, and at 'addr'. */
static int ioev_count(void)
{
	int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(T.ioev); i++)
		n += T.ioev[i].live;
	return n;
}

static int ioev_at(uint64_t addr)
{
	int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(T.ioev); i++)
		n += T.ioev[i].live && T.ioev[i].addr == addr;
	return n;
}

/* Whether the calls since call number 'from' include this one. */
static bool called(int from, bool assign, uint64_t addr)
{
	for (int i = from; i < T.nr_calls; i++)
		if (T.call[i].assign == assign && T.call[i].addr == addr)
			return true;
	return false;
}

/* ---- fake loop (tests/common/fake_loop.h) ------------------------------- */

/* Dispatch readable fds until none is left (the doorbells only). */
static void pump(void)
{
	if (fake_loop_pump(-1, 0, 10) == -EBUSY)
		fail_msg("doorbells keep firing");
}

/* ---- the device model ----------------------------------------------------- */

static uint64_t dev_get_features(struct virtio_dev *v) { return 1ULL << VIRTIO_F_VERSION_1; }
static int dev_set_features(struct virtio_dev *v, uint64_t f) { T.set_features++; return 0; }
static void dev_read_config(struct virtio_dev *v, uint32_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
}
static void dev_write_config(struct virtio_dev *v, uint32_t off, const void *data, uint32_t len) { }
static int dev_queue_enable(struct virtio_dev *v, int q) { T.queue_enables++; return 0; }
static void dev_driver_ok(struct virtio_dev *v) { T.driver_oks++; }
static void dev_notify(struct virtio_dev *v, int q) { T.notified[q]++; }
static void dev_reset(struct virtio_dev *v) { T.resets++; }

static const struct virtio_dev_ops dev_ops = {
	.get_features = dev_get_features, .set_features = dev_set_features,
	.read_config = dev_read_config, .write_config = dev_write_config,
	.queue_enable = dev_queue_enable, .driver_ok = dev_driver_ok,
	.notify = dev_notify, .reset = dev_reset,
};

/* ---- the guest ------------------------------------------------------------ */

static void cfg_wr(int reg, uint32_t v, uint32_t len)
{
	uint32_t a = 0x80000000u | (uint32_t)T.slot << 11 | (uint32_t)(reg & 0xfc);

	bus__write(&T.vm->pio, 0xcf8, (const uint8_t *)&a, 4);
	bus__write(&T.vm->pio, (uint16_t)(0xcfc + (reg & 3)), (const uint8_t *)&v, len);
}

static uint32_t cfg_rd(int reg, uint32_t len)
{
	uint32_t a = 0x80000000u | (uint32_t)T.slot << 11 | (uint32_t)(reg & 0xfc), v = 0;

	bus__write(&T.vm->pio, 0xcf8, (const uint8_t *)&a, 4);
	bus__read(&T.vm->pio, (uint16_t)(0xcfc + (reg & 3)), (uint8_t *)&v, len);
	return v;
}

/* A guest MMIO write as KVM handles it: a matching ioeventfd is signalled
 * in the kernel; otherwise the vCPU exits and vmm dispatches on its bus. */
static void guest_write(uint64_t addr, uint32_t v, uint32_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(T.ioev); i++) {
		if (T.ioev[i].live && T.ioev[i].addr == addr && T.ioev[i].len == len) {
			uint64_t one = 1;

			assert_int_equal(write(T.ioev[i].fd, &one, sizeof(one)), sizeof(one));
			return;
		}
	}
	bus__write(&T.vm->mmio, addr, (const uint8_t *)&v, len);
}

static uint32_t guest_read(uint64_t addr, uint32_t len)
{
	uint32_t v = 0;

	bus__read(&T.vm->mmio, addr, (uint8_t *)&v, len);
	return v;
}

static uint64_t bar0(void)
{
	return pci__bar_address(virtio_pci__pci_device(T.vp), 0);
}

static uint64_t notify_addr(uint64_t bar, int q)
{
	return bar + OFF_NOTIFY + (uint64_t)q * NOTIFY_MULT;
}

/* The guest kicks queue q at BAR 0 placed at 'bar'; how many notifies
 * reached the device model. */
static int kick(uint64_t bar, int q)
{
	int before = T.notified[q];

	guest_write(notify_addr(bar, q), (uint32_t)q, 2);
	pump();
	return T.notified[q] - before;
}

static void common_wr(unsigned off, uint32_t v, uint32_t len)
{
	guest_write(bar0() + off, v, len);
}

/* What virtio_pci_modern does: reset, features, queues, DRIVER_OK. */
static void driver_up(void)
{
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	common_wr(COMMON(device_status), 0, 1);
	common_wr(COMMON(device_status), s, 1);
	common_wr(COMMON(guest_feature_select), 1, 4);
	common_wr(COMMON(guest_feature), 1, 4);		/* VERSION_1 */
	s |= VIRTIO_CONFIG_S_FEATURES_OK;
	common_wr(COMMON(device_status), s, 1);
	assert_int_equal(guest_read(bar0() + COMMON(device_status), 1), s);
	for (int q = 0; q < NR_QUEUES; q++) {
		common_wr(COMMON(queue_select), (uint32_t)q, 2);
		common_wr(COMMON(queue_size), QSIZE, 2);
		common_wr(COMMON(queue_desc_lo), (uint32_t)RING(q), 4);
		common_wr(COMMON(queue_desc_hi), 0, 4);
		common_wr(COMMON(queue_avail_lo), (uint32_t)(RING(q) + 0x1000), 4);
		common_wr(COMMON(queue_avail_hi), 0, 4);
		common_wr(COMMON(queue_used_lo), (uint32_t)(RING(q) + 0x2000), 4);
		common_wr(COMMON(queue_used_hi), 0, 4);
		common_wr(COMMON(queue_enable), 1, 2);
		assert_int_equal(guest_read(bar0() + COMMON(queue_enable), 2), 1);
	}
	common_wr(COMMON(device_status), s | VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

/* Exactly one doorbell per queue, at BAR 0 placed at 'bar'. */
static void assert_doorbells_at(uint64_t bar)
{
	assert_int_equal(ioev_count(), NR_QUEUES);
	for (int q = 0; q < NR_QUEUES; q++)
		assert_int_equal(ioev_at(notify_addr(bar, q)), 1);
}

/* ---- fixture --------------------------------------------------------------- */

static int setup(void **state)
{
	struct pci_host_config cfg = {
		.mmio32_base = 0xc0000000ULL, .mmio32_end = 0xfec00000ULL,
		.io_base = 0x1000, .io_end = 0x10000,
	};

	memset(&T, 0, sizeof(T));
	fake_loop_reset();
	log__verbosity = LOG_ERR;
	T.vm = calloc(1, sizeof(*T.vm));
	assert_non_null(T.vm);
	assert_int_equal(guest_mem__init(&T.vm->mem, RAM_SIZE, NULL), 0);
	assert_int_equal(bus__init(&T.vm->pio, "pio"), 0);
	assert_int_equal(bus__init(&T.vm->mmio, "mmio"), 0);
	cfg.pio = &T.vm->pio;
	cfg.mmio = &T.vm->mmio;
	T.host = pci__create(&cfg);
	assert_non_null(T.host);
	T.vdev = (struct virtio_dev){ .name = "virtio-test", .device_id = 42, .ops = &dev_ops,
				      .nr_queues = NR_QUEUES, .queue_max_size = 256 };
	T.vp = virtio_pci__create(&(struct vm_services){ .mem = &T.vm->mem, .loop = &T.vm->loop,
							 .pci = T.host, .irq = &fake_irq_ops },
				  &T.vdev);
	assert_non_null(T.vp);
	T.slot = 1;
	assert_int_equal(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
	return 0;
}

static int teardown(void **state)
{
	/* vm__destroy()'s order: the device, then the host. */
	virtio_pci__free(T.vp);
	assert_int_equal(ioev_count(), 0);		/* nothing left in KVM */
	pci__free(T.host);
	pthread_mutex_destroy(&T.vdev.lock);
	bus__destroy(&T.vm->pio);
	bus__destroy(&T.vm->mmio);
	guest_mem__destroy(&T.vm->mem);
	free(T.vm);
	return 0;
}

/* ---- tests ------------------------------------------------------------------ */

/* From creation the doorbells are ioeventfds (the kick never exits), one
 * per queue, enabled or not. */
static void test_doorbells_at_creation(void **state)
{
	uint64_t b = bar0();

	assert_true(b >= 0xc0000000ULL);
	assert_doorbells_at(b);
	driver_up();
	assert_doorbells_at(b);
	assert_int_equal(kick(b, 0), 1);
	assert_int_equal(kick(b, 1), 1);
}

/* (a) BAR 0 moved: deassigned at the old address, assigned at the new;
 * the old address reaches nothing, the new one the device. */
static void test_doorbells_follow_bar_move(void **state)
{
	uint64_t old = bar0(), new = 0xd0000000ULL;
	int from;

	driver_up();
	from = T.nr_calls;
	cfg_wr(PCI_BASE_ADDRESS_0, (uint32_t)new, 4);
	assert_int_equal(bar0(), new);
	for (int q = 0; q < NR_QUEUES; q++) {
		assert_true(called(from, false, notify_addr(old, q)));
		assert_true(called(from, true, notify_addr(new, q)));
	}
	assert_doorbells_at(new);
	assert_int_equal(kick(old, 0), 0);
	assert_int_equal(kick(old, 1), 0);
	assert_int_equal(kick(new, 0), 1);
	assert_int_equal(kick(new, 1), 1);
	/* The rest of BAR 0 moved along. */
	assert_int_equal(guest_read(new + COMMON(num_queues), 2), NR_QUEUES);
	assert_int_equal(guest_read(old + COMMON(num_queues), 2), 0xffff);
	/* And back. */
	cfg_wr(PCI_BASE_ADDRESS_0, (uint32_t)old, 4);
	assert_doorbells_at(old);
	assert_int_equal(kick(old, 1), 1);
	assert_int_equal(kick(new, 1), 0);
}

/* (b) Memory decoding off: no doorbells; on again: at the current
 * address, also when BAR 0 was moved meanwhile. */
static void test_doorbells_follow_memory_decode(void **state)
{
	uint64_t b = bar0();
	uint16_t cmd;

	driver_up();
	cmd = (uint16_t)cfg_rd(PCI_COMMAND, 2);
	assert_true(cmd & PCI_COMMAND_MEMORY);
	cfg_wr(PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY, 2);
	assert_int_equal(ioev_count(), 0);
	assert_int_equal(kick(b, 0), 0);
	cfg_wr(PCI_COMMAND, cmd, 2);
	assert_doorbells_at(b);
	assert_int_equal(kick(b, 0), 1);

	cfg_wr(PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY, 2);
	cfg_wr(PCI_BASE_ADDRESS_0, 0xd0004000u, 4);
	assert_int_equal(ioev_count(), 0);
	cfg_wr(PCI_COMMAND, cmd, 2);
	assert_doorbells_at(0xd0004000ULL);
	assert_int_equal(kick(0xd0004000ULL, 1), 1);
	assert_int_equal(kick(b, 1), 0);
}

/* (c) Sizing (all ones, read, restore), with decoding on and off: one
 * doorbell per queue left, at the original address. */
static void test_doorbells_after_bar_sizing(void **state)
{
	uint32_t orig = cfg_rd(PCI_BASE_ADDRESS_0, 4);
	uint16_t cmd = (uint16_t)cfg_rd(PCI_COMMAND, 2);
	uint64_t b = bar0();

	driver_up();
	cfg_wr(PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	assert_int_equal(cfg_rd(PCI_BASE_ADDRESS_0, 4), 0xffffc000u);	/* 16 KiB */
	assert_int_equal(ioev_count(), 0);
	cfg_wr(PCI_BASE_ADDRESS_0, orig, 4);
	assert_doorbells_at(b);
	assert_int_equal(kick(b, 0), 1);

	/* Linux's __pci_read_base(): decoding off around it. */
	cfg_wr(PCI_COMMAND, cmd & ~(PCI_COMMAND_MEMORY | PCI_COMMAND_IO), 2);
	cfg_wr(PCI_BASE_ADDRESS_0, 0xffffffffu, 4);
	(void)cfg_rd(PCI_BASE_ADDRESS_0, 4);
	cfg_wr(PCI_BASE_ADDRESS_0, orig, 4);
	cfg_wr(PCI_COMMAND, cmd, 2);
	assert_doorbells_at(b);
	assert_int_equal(kick(b, 1), 1);
}

/* (d) Device reset and queue re-enable (a driver reload) keep one
 * doorbell per queue, and never try to assign one twice. */
static void test_doorbells_no_duplicates(void **state)
{
	uint64_t b = bar0();
	int from = T.nr_calls;

	driver_up();
	driver_up();
	common_wr(COMMON(device_status), 0, 1);
	assert_int_equal(guest_read(b + COMMON(queue_enable), 2), 0);
	assert_doorbells_at(b);
	driver_up();
	assert_true(T.resets >= 3);
	assert_int_equal(T.queue_enables, 3 * NR_QUEUES);
	assert_doorbells_at(b);
	for (int i = from; i < T.nr_calls; i++)
		assert_false(T.call[i].assign);		/* nothing re-assigned */
	assert_int_equal(kick(b, 0), 1);
	/* After a move too. */
	cfg_wr(PCI_BASE_ADDRESS_0, 0xd0008000u, 4);
	driver_up();
	assert_doorbells_at(0xd0008000ULL);
}

/* No ioeventfd (KVM refused it): the notify register still works, as an
 * ordinary MMIO exit handed to the I/O thread. A later queue enable
 * retries the assignment. */
static void test_kick_by_mmio_exit(void **state)
{
	uint64_t new = 0xd000c000ULL;

	driver_up();
	T.fail_assign = true;
	cfg_wr(PCI_BASE_ADDRESS_0, (uint32_t)new, 4);
	assert_int_equal(ioev_count(), 0);
	assert_int_equal(kick(new, 0), 1);
	assert_int_equal(kick(new, 1), 1);
	T.fail_assign = false;
	driver_up();
	assert_doorbells_at(new);
	assert_int_equal(kick(new, 0), 1);
}

/* A driver that clears DRIVER_OK (and FEATURES_OK) without a reset and
 * sets it again: the device starts its datapath once (a second start
 * restarted vhost and left two pollers on one kick eventfd), features are
 * not renegotiated under it, and only a reset starts it again. */
static void test_driver_ok_once_per_reset(void **state)
{
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		    VIRTIO_CONFIG_S_FEATURES_OK;

	driver_up();
	assert_int_equal(T.driver_oks, 1);
	assert_int_equal(T.set_features, 1);
	for (int i = 0; i < 3; i++) {
		common_wr(COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
		common_wr(COMMON(device_status), s, 1);
		common_wr(COMMON(device_status), s | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	}
	assert_int_equal(T.driver_oks, 1);
	assert_int_equal(T.set_features, 1);
	/* the bits read back set: the driver cannot clear them */
	common_wr(COMMON(device_status), VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	assert_int_equal(guest_read(bar0() + COMMON(device_status), 1) &
			 (VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK),
			 VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	/* features are frozen too */
	common_wr(COMMON(guest_feature_select), 0, 4);
	common_wr(COMMON(guest_feature), 0xff, 4);
	assert_int_equal(guest_read(bar0() + COMMON(guest_feature), 4), 0);
	/* a reset and a fresh driver start it once more */
	driver_up();
	assert_int_equal(T.driver_oks, 2);
	assert_int_equal(T.set_features, 2);
	assert_int_equal(kick(bar0(), 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_doorbells_at_creation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doorbells_follow_bar_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doorbells_follow_memory_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doorbells_after_bar_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doorbells_no_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_by_mmio_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_ok_once_per_reset, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
