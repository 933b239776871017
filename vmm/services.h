/* services.h — what a device may use of the machine it is plugged into,
 * and nothing more: guest memory, the event loop, the PCI bus it sits on,
 * and KVM's interrupt plumbing (MSI routes, irqfds, ioeventfds) behind an
 * ops table. vm.c fills one for the VM (vm->svc, vm__services() in
 * vmm/irq.c's KVM ops); unit tests and fuzzers fill their own with fakes.
 * No transport or device model sees struct vm, so none can reach another
 * device's state or the vCPUs through it. */
#ifndef VMM_SERVICES_H
#define VMM_SERVICES_H

#include <stdbool.h>
#include <stdint.h>

struct guest_mem;
struct loop;
struct loop_set;
struct pci_host;

/* An MSI as a device sends it: the message and who sent it. devid is the
 * sender's requester id (PCI: bus << 8 | device << 3 | function), which
 * an interrupt controller that translates per device (arm64's GICv3 ITS)
 * needs and a LAPIC ignores; the arch decides whether KVM is given it. */
struct msi_msg {
	uint64_t addr;
	uint32_t data;
	uint32_t devid;
};

/* The same contracts as vmm/irq.h's functions of the same names. */
struct irq_ops {
	int (*alloc_msi_gsi)(void *opaque, uint32_t *gsi);
	int (*set_msi)(void *opaque, uint32_t gsi, const struct msi_msg *m);
	int (*signal_msi)(void *opaque, const struct msi_msg *m);
	int (*irqfd)(void *opaque, int fd, uint32_t gsi, bool assign);
	int (*ioeventfd)(void *opaque, int fd, uint64_t addr, uint32_t len, bool pio,
			 bool assign);
};

struct vm_services {
	struct guest_mem *mem;
	struct loop *loop;
	/* Where a device gets loops of its own (a thread per NIC queue
	 * pair); NULL: it runs everything on 'loop'. */
	struct loop_set *loops;
	struct pci_host *pci;
	const struct irq_ops *irq;
	void *irq_opaque;
};

#endif
