/* msix.h — the MSI-X capability of a PCI device: message control (table
 * size, function mask, enable), the vector table and the pending bit array
 * that live in one of the device's memory BARs (the transport picks the BAR
 * and the offsets and forwards accesses there).
 *
 * Semantics (PCI Local Bus 3.0, 6.8.2): a vector is masked while MSI-X is
 * enabled and either its own mask bit or the function mask is set; an
 * interrupt signalled on a masked vector sets its pending bit, and the
 * message goes out (and the bit clears) when the vector is unmasked. With
 * MSI-X disabled nothing is latched: the caller falls back to INTx.
 *
 * Callbacks to the owner run with the MSI-X lock held (so they arrive in
 * order), sometimes also under the PCI host's config lock (message control
 * writes); they must not call back into this struct msix nor into
 * pci__config_read/write():
 *   vector_changed: a vector became masked or unmasked, or the address or
 *     data of an unmasked vector changed (changes made while masked are
 *     reported when it is unmasked) — the KVM glue updates the GSI route;
 *   deliver: send this message now (userspace path, KVM_SIGNAL_MSI).
 * Thread-safe: vCPU threads write the table, the I/O thread signals.
 */
#ifndef DEVICES_MSIX_H
#define DEVICES_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/pci/pci.h"
#include "vmm/bus.h"

#define MSIX_MAX_VECTORS	2048
#define MSIX_TABLE_SIZE(n)	((uint32_t)(n) * 16)		/* bytes */
#define MSIX_PBA_SIZE(n)	((((uint32_t)(n) + 63) / 64) * 8)	/* bytes */

struct msix_config {
	unsigned nr_vectors;		/* 1..2048 */
	unsigned table_bar;		/* 0..5 */
	uint32_t table_offset;		/* in the BAR, 8-byte aligned */
	unsigned pba_bar;
	uint32_t pba_offset;		/* 8-byte aligned */
};

struct msix_ops {
	void (*vector_changed)(void *opaque, unsigned vector, uint64_t addr,
			       uint32_t data, bool masked);
	void (*deliver)(void *opaque, unsigned vector, uint64_t addr, uint32_t data);
};

enum msix_result {
	MSIX_DELIVERED,		/* deliver() was called */
	MSIX_PENDING,		/* masked: pending bit set */
	MSIX_DISABLED,		/* MSI-X off: use INTx */
	MSIX_NO_VECTOR,		/* vector >= table size */
};

struct msix;

/* Add the capability to d (before pci__register_device()), make the
 * function-mask and enable bits writable and hook their writes. Every
 * vector starts masked with address and data zero. NULL on bad config
 * (table or PBA outside a BAR already declared, overlapping, misaligned). */
struct msix *msix__create(struct pci_device *d, const struct msix_config *cfg,
			  const struct msix_ops *ops, void *opaque);
/* After pci__free() or once the device can no longer be accessed. */
void msix__free(struct msix *m);
int msix__cap_offset(const struct msix *m);

/* Table and PBA accesses, offset relative to their start. The table takes
 * 4-byte accesses and 8-byte ones at 8-byte aligned offsets; narrower or
 * misaligned writes and anything outside are ignored, such reads return
 * all ones. The PBA is read-only. */
void msix__table_read(struct msix *m, uint64_t offset, uint8_t *data, uint32_t len);
void msix__table_write(struct msix *m, uint64_t offset, const uint8_t *data, uint32_t len);
void msix__pba_read(struct msix *m, uint64_t offset, uint8_t *data, uint32_t len);
void msix__pba_write(struct msix *m, uint64_t offset, const uint8_t *data, uint32_t len);
/* Bus ops (dev = struct msix *) for a BAR that holds both the table and
 * the PBA (table_bar == pba_bar): routes by the configured offsets. */
extern const struct bus_dev_ops msix__bar_ops;

/* Signal vector 'vector' (the I/O thread's entry point). */
enum msix_result msix__signal(struct msix *m, unsigned vector);
bool msix__enabled(struct msix *m);
/* A vector's message and whether it is masked now. -1 if out of range. */
int msix__get_vector(struct msix *m, unsigned vector, uint64_t *addr,
		     uint32_t *data, bool *masked);

#endif
