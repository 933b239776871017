/* test_vhost_net.c — the vhost-net control path against a fake ops table that
 * records every open/ioctl/close (request and a copy of its argument) and can
 * fail the Nth call: open errors, the feature offer mask and backend
 * features, the memory table, the exact start/stop sequences, rollback after
 * a failure at every step, set_call and close. Plus the real /dev/vhost-net
 * (skipped where the host has none).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <cmocka.h>

#include "virtio/vhost_net.h"

#define BIT(n) (1ULL << (n))
#define NOTIFICATION_DATA 38	/* VIRTIO_F_NOTIFICATION_DATA (not in older UAPI) */
#define HASH_REPORT 57		/* VIRTIO_NET_F_HASH_REPORT */
#define MEASURED_FEATURES 0x33d008000ULL  /* the nested test host, notes §2 */
#define FAKE_FD 42
#define TAP_FD 17

/* ---- the fake ---- */

enum { CALL_OPEN = 1, CALL_CLOSE = 2 };	/* ioctl numbers are never this small */

struct call {
	unsigned long req;	/* CALL_OPEN, CALL_CLOSE or the ioctl request */
	int fd;			/* open: flags */
	char path[64];
	bool null_arg;
	union {
		uint64_t u64;
		struct vhost_vring_state state;
		struct vhost_vring_file file;
		struct vhost_vring_addr addr;
		struct vhost_net_mem_table mem;
	} arg;
};

static struct {
	struct call calls[64];
	int n;
	int fail_at;		/* 1-based call to fail; 0: none */
	int fail_errno;
	int ioctls;		/* ioctls seen */
	int fail_ioctl;		/* fail when ioctls reaches this; 0: none */
	uint64_t features;	/* what VHOST_GET_FEATURES answers */
	uint32_t vring_base[VHOST_NET_MAX_QUEUES];
	int backend[VHOST_NET_MAX_QUEUES];	/* the tap each ring holds, -1 none */
} fk;

static struct call *record(unsigned long req, int fd)
{
	struct call *c;

	assert_true(fk.n < (int)(sizeof(fk.calls) / sizeof(fk.calls[0])));
	c = &fk.calls[fk.n++];
	memset(c, 0, sizeof(*c));
	c->req = req;
	c->fd = fd;
	return c;
}

static bool should_fail(bool is_ioctl)
{
	if (is_ioctl && ++fk.ioctls == fk.fail_ioctl)
		return true;
	return fk.fail_at && fk.n == fk.fail_at;
}

static int fake_open(const char *path, int flags)
{
	struct call *c = record(CALL_OPEN, flags);

	snprintf(c->path, sizeof(c->path), "%s", path);
	return should_fail(false) ? -fk.fail_errno : FAKE_FD;
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct call *c = record(req, fd);
	struct vhost_memory *m;

	assert_int_equal(fd, FAKE_FD);
	c->null_arg = !arg;
	switch (req) {
	case VHOST_SET_OWNER:
		break;
	case VHOST_GET_FEATURES:
	case VHOST_SET_FEATURES:
		c->arg.u64 = *(uint64_t *)arg;
		break;
	case VHOST_SET_MEM_TABLE:
		m = arg;
		assert_in_range(m->nregions, 0, GUEST_MEM_MAX_REGIONS);
		memcpy(&c->arg.mem, m, sizeof(*m) + m->nregions * sizeof(m->regions[0]));
		break;
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE:
		c->arg.state = *(struct vhost_vring_state *)arg;
		break;
	case VHOST_SET_VRING_ADDR:
		c->arg.addr = *(struct vhost_vring_addr *)arg;
		break;
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_KICK:
	case VHOST_NET_SET_BACKEND:
		c->arg.file = *(struct vhost_vring_file *)arg;
		break;
	default:
		fail_msg("unexpected ioctl 0x%lx", req);
	}
	if (should_fail(true))
		return -fk.fail_errno;
	if (req == VHOST_GET_FEATURES)
		*(uint64_t *)arg = fk.features;
	if (req == VHOST_GET_VRING_BASE) {
		struct vhost_vring_state *s = arg;

		assert_in_range(s->index, 0, VHOST_NET_MAX_QUEUES - 1);
		s->num = fk.vring_base[s->index];
	}
	if (req == VHOST_NET_SET_BACKEND) {
		struct vhost_vring_file *f = arg;

		assert_in_range(f->index, 0, VHOST_NET_MAX_QUEUES - 1);
		fk.backend[f->index] = f->fd;
	}
	return 0;
}

static int fake_close(int fd)
{
	record(CALL_CLOSE, fd);
	return 0;
}

static const struct vhost_net_ops fake_ops = {
	.open = fake_open, .ioctl = fake_ioctl, .close = fake_close,
};

static int reset(void **state)
{
	memset(&fk, 0, sizeof(fk));
	fk.features = MEASURED_FEATURES;
	for (int i = 0; i < VHOST_NET_MAX_QUEUES; i++)
		fk.backend[i] = -1;
	return 0;
}

/* Make the k-th ioctl from now fail with -e. */
static void fail_ioctl_in(int k, int e)
{
	fk.fail_ioctl = fk.ioctls + k;
	fk.fail_errno = e;
}

/* Open through the fake and forget the open's calls. */
static void open_fake(struct vhost_net *vn)
{
	char err[128] = "";

	assert_int_equal(vhost_net__open(vn, &fake_ops, err, sizeof(err)), 0);
	fk.n = 0;
	fk.ioctls = 0;
}

/* A 2-region guest: 3 GiB below the 32-bit hole, 1 GiB above 4 GiB. */
static void two_regions(struct guest_mem *m)
{
	memset(m, 0, sizeof(*m));
	m->nr = 2;
	m->region[0] = (struct mem_region){ 0, 0xc0000000ULL, (uint8_t *)0x7f0000000000ULL };
	m->region[1] = (struct mem_region){ 0x100000000ULL, 0x40000000ULL,
					    (uint8_t *)0x7f00c0000000ULL };
	m->ram_size = 0x100000000ULL;
}

static void two_rings(struct vhost_vring_config q[2])
{
	q[0] = (struct vhost_vring_config){ .num = 256, .last_avail_idx = 0,
		.desc_hva = 0x7f0000100000, .avail_hva = 0x7f0000101000,
		.used_hva = 0x7f0000102000, .kick_fd = 30, .call_fd = 31 };
	q[1] = (struct vhost_vring_config){ .num = 1024, .last_avail_idx = 0xfff0,
		.desc_hva = 0x7f0000200000, .avail_hva = 0x7f0000204000,
		.used_hva = 0x7f0000205000, .kick_fd = 32, .call_fd = 33 };
}

/* What a Linux guest acks of net.c's offer: VERSION_1, rings, offloads. */
static const uint64_t guest_acked =
	BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
	BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
	BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_CSUM) |
	BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) |
	BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_CTRL_VQ);

/* ---- open ---- */

static void test_open_sequence(void **state)
{
	struct vhost_net vn;
	char err[128] = "";

	assert_int_equal(vhost_net__open(&vn, &fake_ops, err, sizeof(err)), 0);
	assert_int_equal(fk.n, 3);
	assert_int_equal(fk.calls[0].req, CALL_OPEN);
	assert_string_equal(fk.calls[0].path, "/dev/vhost-net");
	assert_int_equal(fk.calls[0].fd, O_RDWR | O_CLOEXEC);
	assert_int_equal(fk.calls[1].req, VHOST_SET_OWNER);
	assert_true(fk.calls[1].null_arg);
	assert_int_equal(fk.calls[2].req, VHOST_GET_FEATURES);
	assert_int_equal(vn.fd, FAKE_FD);
	assert_int_equal(vn.features, MEASURED_FEATURES);
	assert_false(vn.running);
	vhost_net__close(&vn);
}

static void expect_open_error(int e, const char *msg)
{
	struct vhost_net vn;
	char err[128] = "";

	reset(NULL);
	fk.fail_at = 1;
	fk.fail_errno = e;
	assert_int_equal(vhost_net__open(&vn, &fake_ops, err, sizeof(err)), -e);
	assert_string_equal(err, msg);
	assert_int_equal(vn.fd, -1);
	assert_int_equal(fk.n, 1);	/* nothing but the open: nothing to close */
	vhost_net__close(&vn);
	assert_int_equal(fk.n, 1);
}

static void test_open_errors(void **state)
{
	char other[128];

	expect_open_error(ENOENT, "/dev/vhost-net not found (load the vhost_net module)");
	expect_open_error(EACCES, "/dev/vhost-net: permission denied "
			  "(needs read/write access to the device)");
	expect_open_error(EPERM, "/dev/vhost-net: permission denied "
			  "(needs read/write access to the device)");
	expect_open_error(ENODEV, "/dev/vhost-net: no driver behind the device node "
			  "(load the vhost_net module)");
	snprintf(other, sizeof(other), "cannot open /dev/vhost-net: %s", strerror(EMFILE));
	expect_open_error(EMFILE, other);
}

static void test_open_ioctl_errors(void **state)
{
	struct vhost_net vn;
	char err[128] = "", want[128];

	fk.fail_at = 2;		/* SET_OWNER: another process owns it */
	fk.fail_errno = EBUSY;
	assert_int_equal(vhost_net__open(&vn, &fake_ops, err, sizeof(err)), -EBUSY);
	snprintf(want, sizeof(want), "/dev/vhost-net: VHOST_SET_OWNER: %s", strerror(EBUSY));
	assert_string_equal(err, want);
	assert_int_equal(fk.n, 3);
	assert_int_equal(fk.calls[2].req, CALL_CLOSE);
	assert_int_equal(fk.calls[2].fd, FAKE_FD);
	assert_int_equal(vn.fd, -1);

	reset(NULL);
	fk.fail_at = 3;
	fk.fail_errno = EFAULT;
	assert_int_equal(vhost_net__open(&vn, &fake_ops, err, sizeof(err)), -EFAULT);
	assert_non_null(strstr(err, "VHOST_GET_FEATURES"));
	assert_int_equal(fk.calls[3].req, CALL_CLOSE);
	assert_int_equal(vn.fd, -1);
	vhost_net__close(&vn);
	assert_int_equal(fk.n, 4);
}

/* ---- features ---- */

static void test_offer_mask(void **state)
{
	const uint64_t offloads = BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) |
		BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
		BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_GUEST_TSO4) |
		BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_ECN) |
		BIT(VIRTIO_NET_F_GUEST_UFO) | BIT(VIRTIO_NET_F_HOST_UFO) |
		BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_CTRL_VQ) |
		BIT(VIRTIO_NET_F_CTRL_RX) | BIT(VIRTIO_NET_F_CTRL_RX_EXTRA) |
		BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT(VIRTIO_NET_F_MTU);
	const uint64_t ring = BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
		BIT(VIRTIO_F_NOTIFY_ON_EMPTY);
	const uint64_t lacking = BIT(VIRTIO_F_RING_PACKED) | BIT(VIRTIO_F_IN_ORDER) |
		BIT(VIRTIO_F_ORDER_PLATFORM) | BIT(NOTIFICATION_DATA) |
		BIT(VIRTIO_F_RING_RESET) | BIT(HASH_REPORT);
	uint64_t m = vhost_net__offer_mask(MEASURED_FEATURES);

	assert_int_equal(m & ring, ring);
	assert_int_equal(m & offloads, offloads);
	assert_int_equal(m & lacking, 0);
	/* vhost has it, but we give a memory table, not an IOTLB. */
	assert_int_equal(m & BIT(VIRTIO_F_ACCESS_PLATFORM), 0);
	/* Exactly those: every other bit passes. */
	assert_int_equal(~m, lacking | BIT(VIRTIO_F_ACCESS_PLATFORM));

	/* A vhost with nothing keeps only what it is not responsible for. */
	m = vhost_net__offer_mask(0);
	assert_int_equal(m & (ring | lacking | BIT(VIRTIO_F_ACCESS_PLATFORM)), 0);
	assert_int_equal(m & offloads, offloads);
	/* One with everything masks only ACCESS_PLATFORM. */
	assert_int_equal(vhost_net__offer_mask(~0ULL), ~BIT(VIRTIO_F_ACCESS_PLATFORM));
}

static void test_backend_features(void **state)
{
	uint64_t f = vhost_net__backend_features(guest_acked, MEASURED_FEATURES);

	assert_int_equal(f, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
			    BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_NET_F_MRG_RXBUF));
	/* A guest that acked ANY_LAYOUT (bit 27 too) must not make vhost add
	 * headers the tap already carries; nor LOG_ALL nor ACCESS_PLATFORM. */
	f = vhost_net__backend_features(~0ULL, MEASURED_FEATURES);
	assert_int_equal(f & BIT(VHOST_NET_F_VIRTIO_NET_HDR), 0);
	assert_int_equal(f & BIT(VHOST_F_LOG_ALL), 0);
	assert_int_equal(f & BIT(VIRTIO_F_ACCESS_PLATFORM), 0);
	assert_int_equal(f, MEASURED_FEATURES & ~(BIT(VHOST_NET_F_VIRTIO_NET_HDR) |
			 BIT(VHOST_F_LOG_ALL) | BIT(VIRTIO_F_ACCESS_PLATFORM)));
	for (int b = 0; b < 64; b++) {
		f = vhost_net__backend_features(BIT(b), ~0ULL);
		assert_int_equal(f & BIT(VHOST_NET_F_VIRTIO_NET_HDR), 0);
		/* Never more than what was acked. */
		assert_int_equal(f & ~BIT(b), 0);
	}
}

/* ---- memory table ---- */

static void test_mem_table(void **state)
{
	struct vhost_net_mem_table t;
	struct guest_mem m;
	struct vhost_net vn;

	two_regions(&m);
	assert_int_equal(vhost_net__build_mem_table(&t, &m), 0);
	assert_int_equal(t.hdr.nregions, 2);
	assert_int_equal(t.regions[0].guest_phys_addr, 0);
	assert_int_equal(t.regions[0].memory_size, 0xc0000000ULL);
	assert_int_equal(t.regions[0].userspace_addr, 0x7f0000000000ULL);
	assert_int_equal(t.regions[0].flags_padding, 0);
	assert_int_equal(t.regions[1].guest_phys_addr, 0x100000000ULL);
	assert_int_equal(t.regions[1].memory_size, 0x40000000ULL);
	assert_int_equal(t.regions[1].userspace_addr, 0x7f00c0000000ULL);
	/* Read as the kernel does: through struct vhost_memory. */
	assert_int_equal(((struct vhost_memory *)&t)->regions[1].guest_phys_addr,
			 0x100000000ULL);

	open_fake(&vn);
	assert_int_equal(vhost_net__set_mem_table(&vn, &m), 0);
	assert_int_equal(fk.n, 1);
	assert_int_equal(fk.calls[0].req, VHOST_SET_MEM_TABLE);
	assert_memory_equal(&fk.calls[0].arg.mem, &t,
			    sizeof(t.hdr) + 2 * sizeof(t.regions[0]));

	/* Unusable layouts never reach the kernel. */
	m.nr = 0;
	assert_int_equal(vhost_net__set_mem_table(&vn, &m), -EINVAL);
	m.nr = GUEST_MEM_MAX_REGIONS + 1;
	assert_int_equal(vhost_net__build_mem_table(&t, &m), -EINVAL);
	two_regions(&m);
	m.region[1].size = 0;
	assert_int_equal(vhost_net__build_mem_table(&t, &m), -EINVAL);
	two_regions(&m);
	m.region[0].hva = NULL;
	assert_int_equal(vhost_net__build_mem_table(&t, &m), -EINVAL);
	two_regions(&m);
	m.region[1].gpa = ~0ULL - 10;	/* wraps */
	assert_int_equal(vhost_net__build_mem_table(&t, &m), -EINVAL);
	assert_int_equal(fk.n, 1);

	fail_ioctl_in(1, ENOMEM);
	two_regions(&m);
	assert_int_equal(vhost_net__set_mem_table(&vn, &m), -ENOMEM);
	vhost_net__close(&vn);
}

/* ---- start ---- */

#define START_IOCTLS (2 + 5 * 2 + 2)

static void check_start_calls(const struct vhost_vring_config q[2])
{
	const unsigned long ring_reqs[5] = {
		VHOST_SET_VRING_NUM, VHOST_SET_VRING_ADDR, VHOST_SET_VRING_BASE,
		VHOST_SET_VRING_CALL, VHOST_SET_VRING_KICK,
	};
	struct call *c = fk.calls;

	assert_int_equal(c[0].req, VHOST_SET_FEATURES);
	assert_int_equal(c[0].arg.u64, BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
			 BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_NET_F_MRG_RXBUF));
	assert_int_equal(c[1].req, VHOST_SET_MEM_TABLE);
	assert_int_equal(c[1].arg.mem.hdr.nregions, 2);
	assert_int_equal(c[1].arg.mem.regions[1].guest_phys_addr, 0x100000000ULL);
	for (int i = 0; i < 2; i++) {
		struct call *r = &c[2 + 5 * i];

		for (int k = 0; k < 5; k++)
			assert_int_equal(r[k].req, ring_reqs[k]);
		assert_int_equal(r[0].arg.state.index, i);
		assert_int_equal(r[0].arg.state.num, q[i].num);
		assert_int_equal(r[1].arg.addr.index, i);
		assert_int_equal(r[1].arg.addr.flags, 0);
		assert_int_equal(r[1].arg.addr.desc_user_addr, q[i].desc_hva);
		assert_int_equal(r[1].arg.addr.avail_user_addr, q[i].avail_hva);
		assert_int_equal(r[1].arg.addr.used_user_addr, q[i].used_hva);
		assert_int_equal(r[1].arg.addr.log_guest_addr, 0);
		assert_int_equal(r[2].arg.state.index, i);
		assert_int_equal(r[2].arg.state.num, q[i].last_avail_idx);
		assert_int_equal(r[3].arg.file.index, i);
		assert_int_equal(r[3].arg.file.fd, q[i].call_fd);
		assert_int_equal(r[4].arg.file.index, i);
		assert_int_equal(r[4].arg.file.fd, q[i].kick_fd);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(c[12 + i].req, VHOST_NET_SET_BACKEND);
		assert_int_equal(c[12 + i].arg.file.index, i);
		assert_int_equal(c[12 + i].arg.file.fd, TAP_FD);
	}
}

static void test_start_sequence(void **state)
{
	struct vhost_vring_config q[2];
	struct guest_mem m;
	struct vhost_net vn;
	char err[128] = "";

	two_regions(&m);
	two_rings(q);
	open_fake(&vn);
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 2, TAP_FD, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(fk.n, START_IOCTLS);
	check_start_calls(q);
	assert_true(vn.running);
	assert_int_equal(vn.nr_queues, 2);
	assert_int_equal(fk.backend[0], TAP_FD);
	assert_int_equal(fk.backend[1], TAP_FD);
	/* Once running, a second start is refused without a call. */
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 2, TAP_FD, err, sizeof(err)),
			 -EBUSY);
	assert_int_equal(fk.n, START_IOCTLS);
	vhost_net__close(&vn);
	assert_false(vn.running);
}

static void test_start_fail_ring_addr(void **state)
{
	struct vhost_vring_config q[2];
	struct guest_mem m;
	struct vhost_net vn;
	char err[128] = "", want[128];

	two_regions(&m);
	two_rings(q);
	open_fake(&vn);
	fail_ioctl_in(2 + 5 + 2, EFAULT);	/* SET_VRING_ADDR of queue 1 */
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 2, TAP_FD, err, sizeof(err)),
			 -EFAULT);
	snprintf(want, sizeof(want), "vhost-net: VHOST_SET_VRING_ADDR (queue 1): %s",
		 strerror(EFAULT));
	assert_string_equal(err, want);
	assert_int_equal(fk.n, 9);	/* nothing after the failed call: no backend to undo */
	assert_false(vn.running);
	vhost_net__close(&vn);
}

static void test_start_fail_backend(void **state)
{
	struct vhost_vring_config q[2];
	struct guest_mem m;
	struct vhost_net vn;
	char err[128] = "", want[128];

	two_regions(&m);
	two_rings(q);
	open_fake(&vn);
	fail_ioctl_in(START_IOCTLS, ENOTSOCK);	/* SET_BACKEND of queue 1 */
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 2, TAP_FD, err, sizeof(err)),
			 -ENOTSOCK);
	snprintf(want, sizeof(want), "vhost-net: VHOST_NET_SET_BACKEND (queue 1): %s",
		 strerror(ENOTSOCK));
	assert_string_equal(err, want);
	assert_int_equal(fk.n, START_IOCTLS + 1);
	assert_int_equal(fk.calls[START_IOCTLS].req, VHOST_NET_SET_BACKEND);
	assert_int_equal(fk.calls[START_IOCTLS].arg.file.index, 0);
	assert_int_equal(fk.calls[START_IOCTLS].arg.file.fd, -1);
	assert_int_equal(fk.backend[0], -1);
	assert_int_equal(fk.backend[1], -1);
	assert_false(vn.running);
	/* The same vhost_net can start again after a failure. */
	reset(NULL);
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 2, TAP_FD, err, sizeof(err)), 0);
	check_start_calls(q);
	vhost_net__close(&vn);
}

/* Fail each call in turn: the error names it (and its queue), nothing after it
 * but the undo runs, and no ring keeps the tap. */
static void test_start_fail_every_call(void **state)
{
	static const char *const names[START_IOCTLS] = {
		"VHOST_SET_FEATURES", "VHOST_SET_MEM_TABLE",
		"VHOST_SET_VRING_NUM (queue 0)", "VHOST_SET_VRING_ADDR (queue 0)",
		"VHOST_SET_VRING_BASE (queue 0)", "VHOST_SET_VRING_CALL (queue 0)",
		"VHOST_SET_VRING_KICK (queue 0)",
		"VHOST_SET_VRING_NUM (queue 1)", "VHOST_SET_VRING_ADDR (queue 1)",
		"VHOST_SET_VRING_BASE (queue 1)", "VHOST_SET_VRING_CALL (queue 1)",
		"VHOST_SET_VRING_KICK (queue 1)",
		"VHOST_NET_SET_BACKEND (queue 0)", "VHOST_NET_SET_BACKEND (queue 1)",
	};
	struct vhost_vring_config q[2];
	struct guest_mem m;

	two_regions(&m);
	two_rings(q);
	for (int n = 1; n <= START_IOCTLS; n++) {
		struct vhost_net vn;
		char err[128] = "";

		reset(NULL);
		open_fake(&vn);
		fail_ioctl_in(n, EINVAL);
		assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 2, TAP_FD,
						  err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, names[n - 1]));
		/* Undo = one SET_BACKEND -1 per ring attached before the failure. */
		assert_int_equal(fk.n, n + (n == START_IOCTLS ? 1 : 0));
		assert_int_equal(fk.backend[0], -1);
		assert_int_equal(fk.backend[1], -1);
		assert_false(vn.running);
		vhost_net__close(&vn);
	}
}

static void test_start_rejects(void **state)
{
	struct vhost_vring_config q[2], bad[2];
	struct guest_mem m;
	struct vhost_net vn, closed = { 0 };
	char err[128];

	two_regions(&m);
	two_rings(q);
	assert_int_equal(vhost_net__start(&closed, guest_acked, &m, q, 2, TAP_FD,
					  err, sizeof(err)), -EBADF);
	open_fake(&vn);
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 0, TAP_FD, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 3, TAP_FD, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 2, -1, err, sizeof(err)),
			 -EBADF);
	/* A ring feature vhost lacks must never have been negotiated. */
	assert_int_equal(vhost_net__start(&vn, guest_acked | BIT(VIRTIO_F_RING_PACKED), &m, q, 2,
					  TAP_FD, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0x400000000"));
	assert_int_equal(vhost_net__start(&vn, guest_acked | BIT(VIRTIO_F_ACCESS_PLATFORM), &m,
					  q, 2, TAP_FD, err, sizeof(err)), -EINVAL);
	memcpy(bad, q, sizeof(bad));
	bad[1].num = 0;
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, bad, 2, TAP_FD, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "vhost-net: ring 1 is not set up");
	bad[1].num = 384;	/* not a power of two */
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, bad, 2, TAP_FD, err, sizeof(err)),
			 -EINVAL);
	memcpy(bad, q, sizeof(bad));
	bad[0].used_hva = 0;
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, bad, 2, TAP_FD, err, sizeof(err)),
			 -EINVAL);
	m.nr = 0;
	assert_int_equal(vhost_net__start(&vn, guest_acked, &m, q, 2, TAP_FD, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(fk.n, 0);	/* none of these reached the kernel */
	vhost_net__close(&vn);
}

/* ---- stop, set_call, close ---- */

static void start_fake(struct vhost_net *vn)
{
	struct vhost_vring_config q[2];
	struct guest_mem m;
	char err[128];

	two_regions(&m);
	two_rings(q);
	open_fake(vn);
	assert_int_equal(vhost_net__start(vn, guest_acked, &m, q, 2, TAP_FD, err, sizeof(err)), 0);
	fk.n = 0;
	fk.ioctls = 0;
}

static void test_stop(void **state)
{
	struct vhost_net vn;
	uint16_t last[2] = { 0, 0 };

	start_fake(&vn);
	fk.vring_base[0] = 0x1234;
	fk.vring_base[1] = 0xfffe;
	assert_int_equal(vhost_net__stop(&vn, 1, last), -EINVAL);	/* not what started */
	assert_int_equal(fk.n, 0);
	assert_int_equal(vhost_net__stop(&vn, 2, last), 0);
	assert_int_equal(fk.n, 4);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fk.calls[i].req, VHOST_NET_SET_BACKEND);
		assert_int_equal(fk.calls[i].arg.file.index, i);
		assert_int_equal(fk.calls[i].arg.file.fd, -1);
		assert_int_equal(fk.calls[2 + i].req, VHOST_GET_VRING_BASE);
		assert_int_equal(fk.calls[2 + i].arg.state.index, i);
	}
	assert_int_equal(last[0], 0x1234);
	assert_int_equal(last[1], 0xfffe);
	assert_false(vn.running);
	assert_int_equal(fk.backend[0], -1);
	assert_int_equal(fk.backend[1], -1);
	assert_int_equal(vhost_net__stop(&vn, 2, last), -EINVAL);	/* not running */
	assert_int_equal(fk.n, 4);
	vhost_net__close(&vn);
}

static void test_stop_failure(void **state)
{
	struct vhost_net vn;
	uint16_t last[2] = { 0xaaaa, 0xaaaa };

	start_fake(&vn);
	fk.vring_base[1] = 77;
	fail_ioctl_in(3, EIO);	/* GET_VRING_BASE of queue 0 */
	assert_int_equal(vhost_net__stop(&vn, 2, last), -EIO);
	assert_int_equal(fk.n, 4);	/* the other ring is still read */
	assert_int_equal(last[0], 0xaaaa);
	assert_int_equal(last[1], 77);
	assert_false(vn.running);
	vhost_net__close(&vn);
}

static void test_set_call(void **state)
{
	struct vhost_net vn, closed = { 0 };

	start_fake(&vn);
	assert_int_equal(vhost_net__set_call(&vn, 1, 77), 0);
	assert_int_equal(fk.n, 1);
	assert_int_equal(fk.calls[0].req, VHOST_SET_VRING_CALL);
	assert_int_equal(fk.calls[0].arg.file.index, 1);
	assert_int_equal(fk.calls[0].arg.file.fd, 77);
	assert_int_equal(vhost_net__set_call(&vn, 2, 77), -EINVAL);
	assert_int_equal(vhost_net__set_call(&vn, -1, 77), -EINVAL);
	assert_int_equal(vhost_net__set_call(&closed, 0, 77), -EINVAL);
	assert_int_equal(fk.n, 1);
	fail_ioctl_in(1, EBADF);
	assert_int_equal(vhost_net__set_call(&vn, 0, 99), -EBADF);
	vhost_net__close(&vn);
}

static void test_close_idempotent(void **state)
{
	struct vhost_net vn, zeroed = { 0 };

	vhost_net__close(&zeroed);	/* fd 0 in a zeroed struct is not ours */
	assert_int_equal(fk.n, 0);
	start_fake(&vn);
	vhost_net__close(&vn);
	assert_int_equal(fk.n, 1);
	assert_int_equal(fk.calls[0].req, CALL_CLOSE);
	assert_int_equal(fk.calls[0].fd, FAKE_FD);
	assert_int_equal(vn.fd, -1);
	assert_false(vn.running);
	vhost_net__close(&vn);
	vhost_net__close(&vn);
	assert_int_equal(fk.n, 1);
}

/* ---- the real device ---- */

static void test_real_device(void **state)
{
	struct vhost_net vn;
	char err[160] = "", why[160] = "";
	bool avail;
	int r;

	r = vhost_net__open(&vn, &vhost_net__sys_ops, err, sizeof(err));
	avail = vhost_net__available(why, sizeof(why));
	assert_int_equal(avail, r == 0);
	if (r < 0) {
		assert_string_equal(why, err);
		if (access(VHOST_NET_DEV_PATH, F_OK) < 0 && errno == ENOENT) {
			assert_int_equal(r, -ENOENT);
			assert_string_equal(err, "/dev/vhost-net not found "
					    "(load the vhost_net module)");
		}
		print_message("[  SKIPPED ] real /dev/vhost-net: %s\n", err);
		skip();
	}
	assert_true(vn.fd >= 0);
	assert_true(vn.features & BIT(VIRTIO_F_VERSION_1));
	assert_true(vn.features & BIT(VHOST_NET_F_VIRTIO_NET_HDR));
	vhost_net__close(&vn);
	assert_int_equal(vn.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_open_sequence, reset),
		cmocka_unit_test_setup(test_open_errors, reset),
		cmocka_unit_test_setup(test_open_ioctl_errors, reset),
		cmocka_unit_test_setup(test_offer_mask, reset),
		cmocka_unit_test_setup(test_backend_features, reset),
		cmocka_unit_test_setup(test_mem_table, reset),
		cmocka_unit_test_setup(test_start_sequence, reset),
		cmocka_unit_test_setup(test_start_fail_ring_addr, reset),
		cmocka_unit_test_setup(test_start_fail_backend, reset),
		cmocka_unit_test_setup(test_start_fail_every_call, reset),
		cmocka_unit_test_setup(test_start_rejects, reset),
		cmocka_unit_test_setup(test_stop, reset),
		cmocka_unit_test_setup(test_stop_failure, reset),
		cmocka_unit_test_setup(test_set_call, reset),
		cmocka_unit_test_setup(test_close_idempotent, reset),
		cmocka_unit_test_setup(test_real_device, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
