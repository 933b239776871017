/* irq.h — KVM interrupt plumbing for devices with MSI/MSI-X and queue
 * doorbells: the GSI routing table, irqfds and ioeventfds.
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so vmm keeps a copy: the
 * platform's wired routes (x86: PIC and IOAPIC pins) plus one MSI route
 * per allocated GSI. An MSI-X vector gets a GSI and an eventfd bound to it
 * with KVM_IRQFD: writing the eventfd injects the interrupt without a
 * return to vmm (the I/O thread, or vhost-net in the kernel, writes it).
 */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/services.h"

struct vm;

#define IRQ_MAX_ROUTES 1024

struct irq_routing {
	pthread_mutex_t lock;
	struct kvm_irq_routing_entry entry[IRQ_MAX_ROUTES];
	int nr;
	uint32_t next_gsi;   /* first GSI not used by wired routes */
};

/* Install the platform's wired routes (arch__irq_default_routes). */
int irq__init(struct vm *vm);
/* A new GSI for an MSI route (not yet valid until irq__set_msi). */
int irq__alloc_msi_gsi(struct vm *vm, uint32_t *gsi);
/* Point 'gsi' at an MSI message and commit the table to KVM. */
int irq__set_msi(struct vm *vm, uint32_t gsi, const struct msi_msg *m);
/* Deliver one MSI right now (KVM_SIGNAL_MSI), e.g. a pending vector. */
int irq__signal_msi(struct vm *vm, const struct msi_msg *m);
/* The KVM forms of a message (pure; KVM_MSI_VALID_DEVID and the id only
 * when with_devid). */
void irq__msi_route(struct kvm_irq_routing_entry *e, const struct msi_msg *m, bool with_devid);
void irq__kvm_msi(struct kvm_msi *k, const struct msi_msg *m, bool with_devid);
/* Bind / unbind an eventfd to a GSI (KVM_IRQFD). */
int irq__irqfd(struct vm *vm, int fd, uint32_t gsi, bool assign);
/* Bind / unbind an eventfd to a guest write of 'len' bytes at 'addr'
 * (KVM_IOEVENTFD), port I/O or MMIO, any value written. */
int irq__ioeventfd(struct vm *vm, int fd, uint64_t addr, uint32_t len, bool pio, bool assign);

/* The functions above as a device's interrupt services (vmm/services.h),
 * opaque being the struct vm. */
extern const struct irq_ops irq__kvm_ops;

/* arch: append the wired routes; return how many (or -1). */
int arch__irq_default_routes(struct kvm_irq_routing_entry *e, int max, uint32_t *next_gsi);
/* arch: whether KVM must be given each MSI's device id (x86: no). */
bool arch__msi_needs_devid(void);

#endif
