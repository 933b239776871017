/* irq.c — GSI routing table, irqfds and ioeventfds (see irq.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/irq.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static int commit(struct vm *vm)
{
	struct irq_routing *r = &vm->irq;
	struct kvm_irq_routing *t;
	int err = 0;

	t = calloc(1, sizeof(*t) + (size_t)r->nr * sizeof(t->entries[0]));
	if (!t)
		return -ENOMEM;
	t->nr = (uint32_t)r->nr;
	memcpy(t->entries, r->entry, (size_t)r->nr * sizeof(t->entries[0]));
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0) {
		err = -errno;
		pr_err("KVM_SET_GSI_ROUTING (%d routes): %s", r->nr, strerror(errno));
	}
	free(t);
	return err;
}

int irq__init(struct vm *vm)
{
	struct irq_routing *r = &vm->irq;
	int n;

	pthread_mutex_init(&r->lock, NULL);
	n = arch__irq_default_routes(r->entry, IRQ_MAX_ROUTES, &r->next_gsi);
	if (n < 0)
		return -1;
	r->nr = n;
	return 0;
}

int irq__alloc_msi_gsi(struct vm *vm, uint32_t *gsi)
{
	struct irq_routing *r = &vm->irq;
	int err = 0;

	pthread_mutex_lock(&r->lock);
	if (r->nr >= IRQ_MAX_ROUTES) {
		err = -ENOSPC;
	} else {
		struct kvm_irq_routing_entry *e = &r->entry[r->nr++];

		memset(e, 0, sizeof(*e));
		e->gsi = r->next_gsi++;
		e->type = KVM_IRQ_ROUTING_MSI;
		*gsi = e->gsi;
	}
	pthread_mutex_unlock(&r->lock);
	if (err)
		pr_err("out of interrupt routes (%d)", IRQ_MAX_ROUTES);
	return err;
}

void irq__msi_route(struct kvm_irq_routing_entry *e, const struct msi_msg *m, bool with_devid)
{
	e->flags = with_devid ? KVM_MSI_VALID_DEVID : 0;
	e->u.msi.address_lo = (uint32_t)m->addr;
	e->u.msi.address_hi = (uint32_t)(m->addr >> 32);
	e->u.msi.data = m->data;
	e->u.msi.devid = with_devid ? m->devid : 0;
}

void irq__kvm_msi(struct kvm_msi *k, const struct msi_msg *m, bool with_devid)
{
	memset(k, 0, sizeof(*k));
	k->address_lo = (uint32_t)m->addr;
	k->address_hi = (uint32_t)(m->addr >> 32);
	k->data = m->data;
	k->flags = with_devid ? KVM_MSI_VALID_DEVID : 0;
	k->devid = with_devid ? m->devid : 0;
}

int irq__set_msi(struct vm *vm, uint32_t gsi, const struct msi_msg *m)
{
	struct irq_routing *r = &vm->irq;
	int err = -ENOENT;

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < r->nr; i++) {
		struct kvm_irq_routing_entry *e = &r->entry[i];

		if (e->gsi != gsi || e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		struct kvm_irq_routing_entry want = *e;

		irq__msi_route(&want, m, arch__msi_needs_devid());
		if (!memcmp(&want, e, sizeof(want))) {
			err = 0;  /* unchanged: no ioctl */
			break;
		}
		*e = want;
		err = commit(vm);
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

int irq__signal_msi(struct vm *vm, const struct msi_msg *m)
{
	struct kvm_msi msi;

	irq__kvm_msi(&msi, m, arch__msi_needs_devid());
	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0) {
		int e = errno;

		pr_guest("KVM_SIGNAL_MSI: %s", strerror(e));
		return -e;
	}
	return 0;
}

int irq__irqfd(struct vm *vm, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd i = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(vm->vm_fd, KVM_IRQFD, &i) < 0) {
		int e = errno;

		pr_err("KVM_IRQFD %s gsi %u: %s", assign ? "assign" : "deassign", gsi, strerror(e));
		return -e;
	}
	return 0;
}

int irq__ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool pio, bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		int e = errno;

		pr_err("KVM_IOEVENTFD %s 0x%llx: %s", assign ? "assign" : "deassign",
		       (unsigned long long)addr, strerror(e));
		return -e;
	}
	return 0;
}

static int kvm_alloc_msi_gsi(void *vm, uint32_t *gsi)
{
	return irq__alloc_msi_gsi(vm, gsi);
}

static int kvm_set_msi(void *vm, uint32_t gsi, const struct msi_msg *m)
{
	return irq__set_msi(vm, gsi, m);
}

static int kvm_signal_msi(void *vm, const struct msi_msg *m)
{
	return irq__signal_msi(vm, m);
}

static int kvm_irqfd(void *vm, int fd, uint32_t gsi, bool assign)
{
	return irq__irqfd(vm, fd, gsi, assign);
}

static int kvm_ioeventfd(void *vm, int fd, uint64_t addr, uint32_t len, bool pio, bool assign)
{
	return irq__ioeventfd(vm, fd, addr, len, pio, assign);
}

const struct irq_ops irq__kvm_ops = {
	.alloc_msi_gsi = kvm_alloc_msi_gsi,
	.set_msi = kvm_set_msi,
	.signal_msi = kvm_signal_msi,
	.irqfd = kvm_irqfd,
	.ioeventfd = kvm_ioeventfd,
};
