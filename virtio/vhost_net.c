/* vhost_net.c — control path of the kernel virtio-net datapath: hand the
 * RX/TX rings, their eventfds and the tap to /dev/vhost-net and take them
 * back. The kernel worker thread then moves packets between guest RAM and
 * the tap; vmm only sets it up. Every syscall goes through vn->ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "virtio/vhost_net.h"
#include "vmm/log.h"

#ifndef VIRTIO_F_NOTIFICATION_DATA
#define VIRTIO_F_NOTIFICATION_DATA 38
#endif
#ifndef VIRTIO_NET_F_HASH_REPORT
#define VIRTIO_NET_F_HASH_REPORT 57
#endif

#define BIT(n) (1ULL << (n))

_Static_assert(offsetof(struct vhost_net_mem_table, regions) ==
	       offsetof(struct vhost_memory, regions),
	       "vhost_net_mem_table must lay out as struct vhost_memory");

/* Bits whose meaning vhost implements (see vhost_net.h). */
static const uint64_t vhost_owned =
	BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_F_NOTIFY_ON_EMPTY) |
	BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_RING_F_EVENT_IDX) |
	BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_ACCESS_PLATFORM) |
	BIT(VIRTIO_F_RING_PACKED) | BIT(VIRTIO_F_IN_ORDER) | BIT(VIRTIO_F_ORDER_PLATFORM) |
	BIT(VIRTIO_F_NOTIFICATION_DATA) | BIT(VIRTIO_F_RING_RESET) |
	BIT(VIRTIO_NET_F_HASH_REPORT);

/* ---- the real system calls ---- */

static int sys_open(const char *path, int flags)
{
	int fd = open(path, flags);

	return fd < 0 ? -errno : fd;
}

static int sys_ioctl(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static int sys_close(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

const struct vhost_net_ops vhost_net__sys_ops = {
	.open = sys_open,
	.ioctl = sys_ioctl,
	.close = sys_close,
};

/* Write a one-line reason and return -e (e > 0). */
static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -e;
}

/* ---- open / close ---- */

int vhost_net__open(struct vhost_net *vn, const struct vhost_net_ops *ops,
		    char *err, size_t errlen)
{
	uint64_t features = 0;
	int fd, r;

	memset(vn, 0, sizeof(*vn));
	vn->ops = ops;
	vn->fd = -1;

	fd = ops->open(VHOST_NET_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		switch (-fd) {
		case ENOENT:
			return fail(err, errlen, -fd, VHOST_NET_DEV_PATH
				    " not found (load the vhost_net module)");
		case ENODEV:
		case ENXIO:
			return fail(err, errlen, -fd, VHOST_NET_DEV_PATH
				    ": no driver behind the device node (load the vhost_net module)");
		case EACCES:
		case EPERM:
			return fail(err, errlen, -fd, VHOST_NET_DEV_PATH
				    ": permission denied (needs read/write access to the device)");
		default:
			return fail(err, errlen, -fd, "cannot open " VHOST_NET_DEV_PATH ": %s",
				    strerror(-fd));
		}
	}

	r = ops->ioctl(fd, VHOST_SET_OWNER, NULL);
	if (r < 0) {
		ops->close(fd);
		return fail(err, errlen, -r, VHOST_NET_DEV_PATH ": VHOST_SET_OWNER: %s",
			    strerror(-r));
	}
	r = ops->ioctl(fd, VHOST_GET_FEATURES, &features);
	if (r < 0) {
		ops->close(fd);
		return fail(err, errlen, -r, VHOST_NET_DEV_PATH ": VHOST_GET_FEATURES: %s",
			    strerror(-r));
	}
	vn->fd = fd;
	vn->features = features;
	return 0;
}

void vhost_net__close(struct vhost_net *vn)
{
	if (!vn->ops || vn->fd < 0)
		return;
	vn->ops->close(vn->fd);
	vn->fd = -1;
	vn->running = false;
	vn->nr_queues = 0;
}

bool vhost_net__available(char *why, size_t whylen)
{
	struct vhost_net vn;

	if (vhost_net__open(&vn, &vhost_net__sys_ops, why, whylen) < 0)
		return false;
	vhost_net__close(&vn);
	return true;
}

/* ---- features ---- */

uint64_t vhost_net__offer_mask(uint64_t vhost_features)
{
	uint64_t lacking = vhost_owned & ~vhost_features;

	return ~(lacking | BIT(VIRTIO_F_ACCESS_PLATFORM));
}

uint64_t vhost_net__backend_features(uint64_t acked, uint64_t vhost_features)
{
	return acked & vhost_features &
	       ~(BIT(VHOST_NET_F_VIRTIO_NET_HDR) | BIT(VHOST_F_LOG_ALL) |
		 BIT(VIRTIO_F_ACCESS_PLATFORM));
}

/* ---- memory table ---- */

int vhost_net__build_mem_table(struct vhost_net_mem_table *t, const struct guest_mem *mem)
{
	memset(t, 0, sizeof(*t));
	if (mem->nr < 1 || mem->nr > GUEST_MEM_MAX_REGIONS)
		return -EINVAL;
	for (int i = 0; i < mem->nr; i++) {
		const struct mem_region *r = &mem->region[i];

		if (!r->size || !r->hva || r->gpa + r->size < r->gpa)
			return -EINVAL;
		t->regions[i].guest_phys_addr = r->gpa;
		t->regions[i].memory_size = r->size;
		t->regions[i].userspace_addr = (uint64_t)(uintptr_t)r->hva;
		t->regions[i].flags_padding = 0;
	}
	t->hdr.nregions = mem->nr;
	return 0;
}

int vhost_net__set_mem_table(struct vhost_net *vn, const struct guest_mem *mem)
{
	struct vhost_net_mem_table t;
	int r = vhost_net__build_mem_table(&t, mem);

	if (r < 0)
		return r;
	r = vn->ops->ioctl(vn->fd, VHOST_SET_MEM_TABLE, &t);
	return r < 0 ? r : 0;
}

/* ---- rings ---- */

static int set_backend(struct vhost_net *vn, int queue, int fd)
{
	struct vhost_vring_file f = { .index = queue, .fd = fd };

	return vn->ops->ioctl(vn->fd, VHOST_NET_SET_BACKEND, &f);
}

/* Program ring i: NUM, ADDR, BASE, CALL, KICK; name the call that failed. */
static int setup_ring(struct vhost_net *vn, int i, const struct vhost_vring_config *c,
		      const char **what)
{
	struct vhost_vring_state num = { .index = i, .num = c->num };
	struct vhost_vring_addr addr = {
		.index = i, .flags = 0,
		.desc_user_addr = c->desc_hva,
		.used_user_addr = c->used_hva,
		.avail_user_addr = c->avail_hva,
		.log_guest_addr = 0,
	};
	struct vhost_vring_state base = { .index = i, .num = c->last_avail_idx };
	struct vhost_vring_file call = { .index = i, .fd = c->call_fd };
	struct vhost_vring_file kick = { .index = i, .fd = c->kick_fd };
	const struct { unsigned long req; const char *name; void *arg; } step[] = {
		{ VHOST_SET_VRING_NUM, "VHOST_SET_VRING_NUM", &num },
		{ VHOST_SET_VRING_ADDR, "VHOST_SET_VRING_ADDR", &addr },
		{ VHOST_SET_VRING_BASE, "VHOST_SET_VRING_BASE", &base },
		{ VHOST_SET_VRING_CALL, "VHOST_SET_VRING_CALL", &call },
		{ VHOST_SET_VRING_KICK, "VHOST_SET_VRING_KICK", &kick },
	};

	for (size_t k = 0; k < sizeof(step) / sizeof(step[0]); k++) {
		int r = vn->ops->ioctl(vn->fd, step[k].req, step[k].arg);

		if (r < 0) {
			*what = step[k].name;
			return r;
		}
	}
	return 0;
}

static bool ring_ok(const struct vhost_vring_config *c)
{
	return c->num && c->num <= 32768 && !(c->num & (c->num - 1)) &&
	       c->desc_hva && c->avail_hva && c->used_hva && c->kick_fd >= 0;
}

int vhost_net__start(struct vhost_net *vn, uint64_t acked, const struct guest_mem *mem,
		     const struct vhost_vring_config *q, int nr_queues, int tap_fd,
		     char *err, size_t errlen)
{
	struct vhost_net_mem_table table;
	const char *what = NULL;
	uint64_t features;
	int i, r, attached = 0;

	if (!vn->ops || vn->fd < 0)
		return fail(err, errlen, EBADF, "vhost-net: device not open");
	if (vn->running)
		return fail(err, errlen, EBUSY, "vhost-net: already running");
	if (nr_queues < 1 || nr_queues > VHOST_NET_MAX_QUEUES)
		return fail(err, errlen, EINVAL, "vhost-net: %d rings (1..%d)",
			    nr_queues, VHOST_NET_MAX_QUEUES);
	if (tap_fd < 0)
		return fail(err, errlen, EBADF, "vhost-net: no tap");
	if (acked & ~vhost_net__offer_mask(vn->features))
		return fail(err, errlen, EINVAL,
			    "vhost-net: negotiated features 0x%llx need what vhost lacks (0x%llx)",
			    (unsigned long long)acked,
			    (unsigned long long)(acked & ~vhost_net__offer_mask(vn->features)));
	for (i = 0; i < nr_queues; i++)
		if (!ring_ok(&q[i]))
			return fail(err, errlen, EINVAL, "vhost-net: ring %d is not set up", i);
	if (vhost_net__build_mem_table(&table, mem) < 0)
		return fail(err, errlen, EINVAL, "vhost-net: guest RAM regions cannot be described to vhost");

	features = vhost_net__backend_features(acked, vn->features);
	r = vn->ops->ioctl(vn->fd, VHOST_SET_FEATURES, &features);
	if (r < 0)
		return fail(err, errlen, -r, "vhost-net: VHOST_SET_FEATURES 0x%llx: %s",
			    (unsigned long long)features, strerror(-r));
	r = vn->ops->ioctl(vn->fd, VHOST_SET_MEM_TABLE, &table);
	if (r < 0)
		return fail(err, errlen, -r, "vhost-net: VHOST_SET_MEM_TABLE (%d regions): %s",
			    mem->nr, strerror(-r));
	for (i = 0; i < nr_queues; i++) {
		r = setup_ring(vn, i, &q[i], &what);
		if (r < 0)
			return fail(err, errlen, -r, "vhost-net: %s (queue %d): %s",
				    what, i, strerror(-r));
	}
	for (i = 0; i < nr_queues; i++) {
		r = set_backend(vn, i, tap_fd);
		if (r < 0)
			break;
		attached++;
	}
	if (r < 0) {
		fail(err, errlen, -r, "vhost-net: VHOST_NET_SET_BACKEND (queue %d): %s",
		     i, strerror(-r));
		for (i = attached - 1; i >= 0; i--)
			if (set_backend(vn, i, -1) < 0)
				pr_guest("vhost-net: could not detach queue %d after a failed start", i);
		return r;
	}
	vn->backend_features = features;
	vn->nr_queues = nr_queues;
	vn->running = true;
	return 0;
}

int vhost_net__stop(struct vhost_net *vn, int nr_queues, uint16_t *last_avail)
{
	int i, r, ret = 0;

	if (!vn->ops || vn->fd < 0 || !vn->running)
		return -EINVAL;
	if (nr_queues != vn->nr_queues)
		return -EINVAL;
	for (i = 0; i < nr_queues; i++) {
		r = set_backend(vn, i, -1);
		if (r < 0) {
			pr_guest_err("vhost-net: VHOST_NET_SET_BACKEND -1 (queue %d): %s", i, strerror(-r));
			ret = ret ? ret : r;
		}
	}
	for (i = 0; i < nr_queues; i++) {
		struct vhost_vring_state s = { .index = i };

		r = vn->ops->ioctl(vn->fd, VHOST_GET_VRING_BASE, &s);
		if (r < 0) {
			pr_guest_err("vhost-net: VHOST_GET_VRING_BASE (queue %d): %s", i, strerror(-r));
			ret = ret ? ret : r;
			continue;
		}
		if (last_avail)
			last_avail[i] = (uint16_t)s.num;
	}
	vn->running = false;
	vn->nr_queues = 0;
	return ret;
}

int vhost_net__set_call(struct vhost_net *vn, int queue, int call_fd)
{
	struct vhost_vring_file f = { .index = queue, .fd = call_fd };
	int r;

	if (!vn->ops || vn->fd < 0 || queue < 0 || queue >= VHOST_NET_MAX_QUEUES)
		return -EINVAL;
	r = vn->ops->ioctl(vn->fd, VHOST_SET_VRING_CALL, &f);
	if (r < 0)
		pr_guest_err("vhost-net: VHOST_SET_VRING_CALL (queue %d, fd %d): %s",
		       queue, call_fd, strerror(-r));
	return r < 0 ? r : 0;
}
