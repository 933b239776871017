/* vm.h — one virtual machine: the KVM VM fd, its memory, buses, vCPUs and
 * devices, and the single place where "the VM is over" is decided. */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/cli.h"
#include "vmm/console.h"
#include "vmm/detach.h"
#include "vmm/control.h"
#include "vmm/disks.h"
#include "vmm/irq.h"
#include "vmm/loop.h"
#include "vmm/memory.h"
#include "vmm/privs.h"

struct vcpu;
struct arch_vm;
struct pci_host;
struct net_tap;
struct rng_dev;
struct virtio_pci;


struct vm {
	const struct vm_config *cfg;    /* = &boot_cfg */
	struct vm_config boot_cfg;      /* the caller's config; kernel, initrd
	                                 * and params from the disk's boot entry
	                                 * when there was no --kernel */
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;
	struct loop loop;
	struct loop_set loops;      /* datapath threads (NIC queue pairs) */
	struct control control;     /* the per-VM socket: vmm list/stop/stat */
	struct irq_routing irq;     /* GSI routes for MSI-X (irq.c) */
	int nr_vcpus;
	struct vcpu **vcpu;
	struct arch_vm *arch;       /* arch-private state (irqchip, tables) */
	struct pci_host *pci;       /* PCI bus 0 (made by the arch) */
	/* What devices get instead of this struct (vmm/services.h): set
	 * once the PCI host exists, before any NIC or disk. */
	struct vm_services svc;
	struct net_tap *nic[VMM_MAX_NICS];
	struct net_config nic_cfg[VMM_MAX_NICS];  /* cfg->nic, datapath resolved */
	struct vm_disks disks;      /* --disk images and the cloud-init seed */
	struct rng_dev *rng;        /* virtio-rng; NULL with --no-rng */
	struct virtio_pci *rng_pci;
	struct console console;     /* this terminal <-> the guest's ttyS0 */
	struct detach_files files;  /* console log; --detach's log and pipe */
	struct privs privs;         /* --user: who vmm becomes once set up */

	uint64_t start_ns;
	/* Set once by vm__request_exit(); everything else observes it. */
	atomic_bool exiting;
	int exit_status;
	char exit_reason[256];
	int exit_fd;                /* eventfd: signalled on exit request */
	int signal_fd;              /* SIGINT/SIGTERM/SIGHUP */
	pthread_mutex_t exit_lock;
	/* The platform's boot-marker device (devices/pc/boot_marker.c keeps the
	 * times), for --boot-markers at exit; NULL where there is none. */
	struct boot_marker_dev *markers;
};

/* Open /dev/kvm, create the VM, memory, buses, irqchip, devices, vCPUs
 * and load the kernel. Returns 0 or -1 with the reason already printed. */
int vm__init(struct vm *vm, const struct vm_config *cfg);
/* With --user, ends as that user: every root-only step is done here.
 * vm__run() then starts the disk workers, the control thread, the I/O
 * thread and the vCPU threads, each under its seccomp filter (unless
 * --seccomp off), filters the main thread last, blocks until the VM ends
 * and returns the process exit status. */
int vm__run(struct vm *vm);
void vm__destroy(struct vm *vm);

/* Any thread: end the VM with 'status' and a one-line reason (first caller
 * wins). Wakes every vCPU and the main thread. */
void vm__request_exit(struct vm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Drive an interrupt line of the in-kernel irqchip: the platform's line
 * number (x86: ISA IRQ / GSI), encoded for KVM_IRQ_LINE by the arch. */
int vm__set_irq_line(struct vm *vm, unsigned irq, int level);

/* The console's side of the platform UART (struct uart8250_ops, whose
 * opaque is the VM), the same on every architecture: what the guest
 * writes goes to the console, and the UART says when it has room for
 * more input. */
void vm__console_tx(void *vm, const uint8_t *buf, size_t len);
void vm__console_rx_ready(void *vm);

/* Register a memory slot with KVM for a RAM region. */
int vm__add_memslot(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *hva);

/* One line of counters on stderr: KVM exits by reason (all vCPUs), and
 * per NIC packets/bytes each way with guest kicks and interrupts. Sent on
 * SIGUSR2, and at exit with -v. */
void vm__print_stats(struct vm *vm);

/* Everything `vmm stat` shows, read without stopping anything
 * (vm_control.c). */
struct vm_snapshot;
void vm__snapshot(struct vm *vm, struct vm_snapshot *out);

/* The control socket's requests, served for one VM (vm_control.c; the
 * opaque pointer is the struct vm). */
extern const struct control_ops vm_control__ops;

#endif
