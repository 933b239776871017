/* pci_internal.h — what pci.c (devices, config space, BARs) and
 * pci_host.c (host bridge, configuration mechanism #1, allocation) share.
 * Not for device models: they use pci.h. */
#ifndef DEVICES_PCI_INTERNAL_H
#define DEVICES_PCI_INTERNAL_H

#include <pthread.h>

#include "devices/pci/pci.h"

struct pci_host {
	struct pci_host_config cfg;
	/* 'lock' serialises config accesses (and the bus registrations they
	 * cause); 'state_lock' is a leaf lock for the config bytes, INTx and
	 * the BARs' mapped state, so device models may call pci__set_irq()
	 * and pci__bar_mapped() from inside their BAR handlers. */
	pthread_mutex_t lock;
	pthread_mutex_t state_lock;
	uint32_t config_address;
	struct pci_device bridge;		/* 00.0 */
	struct pci_device *dev[PCI_NR_SLOTS];
	struct bus io_bus;			/* I/O BARs, absolute port numbers */
	bool addr_registered, data_registered, io_registered, ecam_registered;
	uint64_t mmio32_next, mmio64_next, io_next;
};

static inline uint32_t pci_get_le(const uint8_t *p, unsigned len)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < len; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static inline void pci_put_le(uint8_t *p, uint32_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* All with the host's 'lock' held (or the device not registered). */
uint32_t pci__cfg_read_locked(struct pci_device *d, unsigned offset, unsigned len);
void pci__cfg_write_locked(struct pci_device *d, unsigned offset, uint32_t val, unsigned len);
void pci__bar_update(struct pci_device *d, unsigned bar);
void pci__bars_unmap(struct pci_device *d);
void pci__intx_update(struct pci_device *d);

#endif
