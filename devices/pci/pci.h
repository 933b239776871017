/* pci.h — a PCI bus 0 behind a host bridge: configuration mechanism #1
 * (ports 0xCF8/0xCFC) and/or an ECAM window on the MMIO bus, per-device
 * 256-byte configuration space with write masks, BARs that vmm assigns
 * and (un)maps on the port-I/O and MMIO buses as the guest moves them or
 * toggles decoding, the capability list, and the legacy INTx line.
 *
 * Device 00.0 is the host bridge 8086:0d57, class 0x060000: the ID that
 * cloud-hypervisor, crosvm and Dragonball use for a virtual host bridge;
 * Linux has no quirks for it and treats it as a plain host bridge (its
 * type 1 probe passes on the host bridge class).
 *
 * Config cycles arrive through CF8/CFC (when the platform has a port-I/O
 * bus) or the ECAM window (struct pci_host_config's ecam_base: 1 MiB for
 * bus 0, offset = dev << 15 | fn << 12 | register); both end in the same
 * locked config access. Without a port-I/O bus there is no I/O window and
 * a device with an I/O BAR cannot be registered.
 *
 * Memory BARs are registered directly on the MMIO bus. I/O BARs live on a
 * bus owned by the host (struct pci_host's io window, itself one range on
 * the port-I/O bus). A BAR move happens inside a bus access (the guest's
 * config write, possibly through ECAM on the very MMIO bus the BAR is on):
 * that works because the bus calls its handlers without its lock held
 * (vmm/bus.h), and bus__unregister() waits for the BAR's handlers still
 * running on other vCPUs.
 *
 * A device model that keeps state tied to where a BAR is (KVM ioeventfds
 * on a doorbell register, say) sets struct pci_device_ops: it is told each
 * time a BAR starts or stops being decoded, whatever the cause.
 *
 * Locking: a mutex per host serialises config accesses and the BAR
 * (un)registrations they cause; capability hooks run with it held and must
 * only touch d->cfg (and locks of their own); the BAR map/unmap hooks run
 * with it held too (struct pci_device_ops says what they may do). A leaf
 * lock guards the config bytes, INTx and the BARs' mapped state, so
 * pci__set_irq(), pci__bar_mapped() and pci__bar_address() may be called
 * from anywhere, BAR handlers and the hooks included;
 * pci__config_read/write() must not be called from a BAR handler (a BAR
 * move holds the host mutex while it waits for the BAR's handlers to
 * finish) nor from a hook (the host mutex is not recursive).
 */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"

#define PCI_CONFIG_ADDRESS_PORT	0xcf8
#define PCI_CONFIG_DATA_PORT	0xcfc
#define PCI_RESET_CONTROL_PORT	0xcf9	/* byte register inside 0xCF8..0xCFB */
#define PCI_CFG_SIZE		256
#define PCI_ECAM_SIZE		(1u << 20)	/* bus 0: 32 devices x 8 functions x 4 KiB */
#define PCI_NR_BARS		6
#define PCI_NR_SLOTS		32
#define PCI_MAX_CAPS		16

#define PCI_HOST_BRIDGE_VENDOR	0x8086
#define PCI_HOST_BRIDGE_DEVICE	0x0d57
#define PCI_HOST_BRIDGE_CLASS	0x060000

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_IO,		/* port I/O, size 4..256 */
	PCI_BAR_MEM32,		/* memory below 4 GiB, size 16..2 GiB */
	PCI_BAR_MEM64,		/* memory, takes this BAR and the next */
};

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;				/* power of two */
	const struct bus_dev_ops *ops;		/* offsets relative to the BAR */
	void *opaque;
	/* Private to pci.c: where the BAR is on its bus now. */
	bool mapped;
	uint64_t mapped_addr;
};

struct pci_device;
struct pci_host;

/* Hooks for a capability's bytes; offset is relative to the capability
 * start, [offset, offset + len) lies inside it. */
struct pci_cap_ops {
	/* Before the guest reads: refresh d->cfg if the values are live. */
	void (*read)(struct pci_device *d, void *opaque, unsigned offset, unsigned len);
	/* After the guest wrote: d->cfg holds the value, write mask applied. */
	void (*write)(struct pci_device *d, void *opaque, unsigned offset, unsigned len);
};

struct pci_cap {
	uint8_t offset, len;
	const struct pci_cap_ops *ops;
	void *opaque;
};

/* Optional hooks for where the device's BARs are decoded. bar_map: BAR
 * 'bar' now answers at [addr, addr + size) on its bus; bar_unmap: it no
 * longer answers at addr. Causes: registration (map), the command
 * register's I/O or memory decode bit, a BAR rewrite (a move is an unmap
 * at the old address, then a map at the new one; the all-ones sizing write
 * is an unmap, the restore a map), a move refused because the range is
 * taken (unmap only), and unregistration or pci__free() (unmap). Per BAR
 * the calls alternate, starting with a map, and each unmap names the
 * address of the map before it; pci__bar_mapped() already tells the new
 * state. They run with the host's config lock held, usually inside a
 * port-I/O bus access (the guest's config write): see "Locking" above.
 * Work that only needs its own locks and system calls (e.g. moving a KVM
 * ioeventfd) is fine; bus (un)registrations and config accesses are not. */
struct pci_device_ops {
	void (*bar_map)(struct pci_device *d, void *opaque, unsigned bar, uint64_t addr);
	void (*bar_unmap)(struct pci_device *d, void *opaque, unsigned bar, uint64_t addr);
};

struct pci_device_info {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_id;
	uint32_t class_code;	/* base class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
	uint8_t irq_pin;	/* 0: no INTx, 1: INTA# (2..4: INTB#..INTD#) */
};

struct pci_device {
	const char *name;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE];	/* bits the guest clears by writing 1 */
	struct pci_bar bar[PCI_NR_BARS];
	struct pci_cap cap[PCI_MAX_CAPS];
	int nr_caps;
	unsigned cap_end;		/* first free byte for the next capability */
	const struct pci_device_ops *ops;	/* optional, pci__set_device_ops() */
	void *ops_opaque;
	int irq_level;			/* INTx input from the device model */
	int irq_out;			/* level last driven on the line */
	struct pci_host *host;		/* set by pci__register_device() */
	int slot;
};

struct pci_host_ops {
	/* The platform's INTx routing: the interrupt line a slot's pin
	 * (1 = INTA#, slot 0..31) drives, >= 0 and < 255 (x86: an IOAPIC
	 * GSI, the same map its MP table and _PRT describe), or -1 when the
	 * pin is not wired. NULL: no INTx at all (line register 0xff). */
	int (*intx_irq)(void *opaque, unsigned slot, unsigned pin);
	/* Drive a level-triggered INTx line (irq from intx_irq). */
	void (*set_irq)(void *opaque, int irq, int level);
	/* Optional: the guest set RST_CPU (bit 2) in the reset control
	 * register 0xCF9 ("reboot=pci"). */
	void (*reset)(void *opaque);
};

struct pci_host_config {
	/* pio may be NULL (no CF8/CFC, no I/O window: io_end == io_base);
	 * then ecam_base must be set. */
	struct bus *pio, *mmio;
	/* The ECAM window on 'mmio' for bus 0, PCI_ECAM_SIZE long and
	 * aligned; 0: none. */
	uint64_t ecam_base;
	/* Windows BARs are allocated from, [base, end). 64-bit BARs use the
	 * 32-bit window when mmio64_end == mmio64_base. I/O BARs are decoded
	 * only inside [io_base, io_end), which is registered on 'pio' as a
	 * whole when not empty (x86: 0x1000..0x10000). */
	uint64_t mmio32_base, mmio32_end;
	uint64_t mmio64_base, mmio64_end;
	uint32_t io_base, io_end;
	const struct pci_host_ops *ops;
	void *opaque;
};

/* --- a device --------------------------------------------------------- */

/* Zero the device and fill the header: IDs, class, revision, header type
 * 0, interrupt pin, the writable command/latency/line bits. */
void pci__device_init(struct pci_device *d, const char *name,
		      const struct pci_device_info *info);
/* Declare BAR 'bar' (0..5; a 64-bit one also takes bar + 1). Before
 * registration only. -EINVAL for a bad size/type/index, -EBUSY if taken. */
int pci__set_bar(struct pci_device *d, unsigned bar, enum pci_bar_type type,
		 uint64_t size, const struct bus_dev_ops *ops, void *opaque);
/* Append a capability (cap[0] = ID, cap[1] is overwritten with the next
 * pointer; len >= 2) at a dword-aligned offset >= 0x40, link it and set
 * the status register's capability-list bit. Returns the offset, or
 * -ENOSPC / -EINVAL. Its bytes are read-only until pci__set_writable().
 * These three, like pci__set_bar(), only before registration (-EBUSY). */
int pci__add_capability(struct pci_device *d, const void *cap, size_t len);
int pci__set_capability_ops(struct pci_device *d, int offset,
			    const struct pci_cap_ops *ops, void *opaque);
/* Set the BAR map/unmap hooks (struct pci_device_ops). Before
 * registration only (-EBUSY). */
int pci__set_device_ops(struct pci_device *d, const struct pci_device_ops *ops, void *opaque);
/* Make the given bits of config bytes [offset, offset + len) writable
 * (a set bit in mask = writable). -EINVAL outside 0x40..0xff. */
int pci__set_writable(struct pci_device *d, unsigned offset, const void *mask, size_t len);

/* Config access as the guest does it (masks, BAR moves, hooks). len 1, 2
 * or 4 inside one dword; anything else reads all ones / is dropped. */
uint32_t pci__config_read(struct pci_device *d, unsigned offset, unsigned len);
void pci__config_write(struct pci_device *d, unsigned offset, uint32_t val, unsigned len);

/* The address the BAR register holds now (both halves of a 64-bit BAR). */
uint64_t pci__bar_address(struct pci_device *d, unsigned bar);
/* Whether the BAR is currently decoded on its bus, and where. */
bool pci__bar_mapped(struct pci_device *d, unsigned bar, uint64_t *addr);

/* The requester id the device's MSIs carry: bus 0, its slot, function 0
 * (0 before registration). */
uint16_t pci__requester_id(const struct pci_device *d);

/* Set the device's INTx input. The line is driven (ops->set_irq) while
 * level is 1 and the command register's INTx-disable bit is clear; the
 * status register's interrupt bit follows the level. */
void pci__set_irq(struct pci_device *d, int level);

/* The line a slot's INTx pin (1 = INTA#) drives on this host, from the
 * platform's routing (pci_host_ops.intx_irq); -1 for pin 0, a pin or slot
 * out of range, or a platform that does not wire it. */
int pci__intx_irq(const struct pci_host *h, unsigned slot, unsigned pin);

/* --- the host bridge ---------------------------------------------------- */

/* Register 0xCF8 and 0xCFC (and the I/O window) on cfg->pio if there is
 * one, and the ECAM window on cfg->mmio if asked; NULL on failure (reason
 * printed). */
struct pci_host *pci__create(const struct pci_host_config *cfg);
/* Unmap every BAR (bar_unmap hooks called) and the host's ranges; devices
 * stay the caller's. */
void pci__free(struct pci_host *h);
/* Put the device in the lowest free slot (1..31), allocate its BARs from
 * the windows (aligned to their size), program them, enable decoding as
 * firmware would, fill the interrupt line, and map the BARs. Returns the
 * slot, or -ENOSPC (no slot or window space) / -EINVAL / -EEXIST. */
int pci__register_device(struct pci_host *h, struct pci_device *d);
/* Take the device off its host before the caller frees it: unmap its BARs
 * (bar_unmap hooks called), drop its INTx line and free the slot (its BAR
 * window space is not reused). Not from a bus handler or a hook. A no-op
 * for a device not registered. */
void pci__unregister_device(struct pci_device *d);

#endif
