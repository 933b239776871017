/* vm.c — create a KVM virtual machine, run it, and end it cleanly.
 *
 * Lifecycle: vm__init() builds everything (and reports the first error
 * where it happens); vm__run() starts the I/O thread and the vCPU threads
 * and waits on exit_fd; any thread ends the VM through vm__request_exit();
 * vm__destroy() releases everything vm__init() created, whatever point
 * it reached.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/pc/boot_marker.h"
#include "virtio/net.h"
#include "virtio/net_tap.h"
#include "virtio/pci.h"
#include "virtio/rng.h"
#include "vmm/arch.h"
#include "vmm/log.h"
#include "vmm/privs.h"
#include "vmm/seccomp.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

static int open_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int version;

	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			pr_err("cannot open /dev/kvm: no such device (KVM is not available on this host: load kvm_intel or kvm_amd, or enable virtualisation)");
		else if (e == EACCES || e == EPERM)
			pr_err("cannot open /dev/kvm: permission denied (run as root or join the 'kvm' group)");
		else
			pr_err("cannot open /dev/kvm: %s", strerror(e));
		return -1;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		pr_err("/dev/kvm speaks KVM API version %d, vmm needs %d", version, KVM_API_VERSION);
		close(fd);
		return -1;
	}
	return fd;
}

static int check_caps(int kvm_fd)
{
	static const struct { int cap; const char *name; } need[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0) {
			pr_err("this KVM lacks %s, which vmm needs", need[i].name);
			return -1;
		}
	}
	return 0;
}

int vm__add_memslot(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = (uint32_t)slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		pr_err("KVM_SET_USER_MEMORY_REGION slot %d (0x%llx+0x%llx): %s", slot,
		       (unsigned long long)gpa, (unsigned long long)size, strerror(errno));
		return -1;
	}
	return 0;
}

static int setup_memory(struct vm *vm)
{
	struct mem_layout l;
	int err;

	arch__ram_layout(vm->cfg->mem_bytes, &l);
	err = guest_mem__init(&vm->mem, vm->cfg->mem_bytes, &l);
	if (err) {
		pr_err("cannot allocate %llu MiB of guest RAM: %s",
		       (unsigned long long)(vm->cfg->mem_bytes / MiB), strerror(-err));
		return -1;
	}
	for (int i = 0; i < vm->mem.nr; i++) {
		struct mem_region *r = &vm->mem.region[i];
		if (vm__add_memslot(vm, i, r->gpa, r->size, r->hva) < 0)
			return -1;
	}
	return 0;
}

static int check_readable(const char *what, const char *path)
{
	if (path && access(path, R_OK) < 0) {
		pr_err("cannot read %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	if (read(vm->signal_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		vm__print_stats(vm);
		return;
	}
	vm__request_exit(vm, 128 + (int)si.ssi_signo, "stopped by signal %s",
			 sigabbrev_np((int)si.ssi_signo) ?: "?");
}

/* SIGUSR2 prints the counters. SIGINT/SIGTERM/SIGHUP end the VM cleanly (terminal restored, threads
 * joined): they are blocked in every thread and read on the I/O thread. */
static int setup_signals(struct vm *vm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	vm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->signal_fd < 0 || loop__add(&vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm) < 0) {
		pr_err("cannot set up signal handling: %s", strerror(errno));
		return -1;
	}
	return vcpu__setup_signals();
}

int vm__init(struct vm *vm, const struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->boot_cfg = *cfg;
	vm->cfg = &vm->boot_cfg;
	vm->kvm_fd = vm->vm_fd = vm->exit_fd = vm->signal_fd = -1;
	vm->control.fd = vm->control.stop_fd = -1;
	vm->files = (struct detach_files){ -1, -1, -1, -1 };
	vm->start_ns = util__now_ns();
	pthread_mutex_init(&vm->exit_lock, NULL);

	{
		char err[256];

		if (privs__resolve(cfg->user, &vm->privs, err, sizeof(err)) < 0) {
			pr_err("%s", err);
			return -1;
		}
	}
	/* Cheap user errors first, before touching KVM: the disks (and the
	 * boot entry on the first one when there is no --kernel) too. */
	if (disks__open(&vm->disks, &vm->boot_cfg, &vm->privs) < 0)
		return -1;
	cfg = vm->cfg;
	if (check_readable("kernel", cfg->kernel) < 0 ||
	    check_readable("initrd", cfg->initrd) < 0 || arch__prepare(vm) < 0)
		return -1;
	for (int i = 0; i < cfg->nr_nics; i++) {
		char err[200];

		vm->nic_cfg[i] = cfg->nic[i];
		if (netcfg__check_queues(&vm->nic_cfg[i], cfg->nr_cpus, err, sizeof(err)) < 0) {
			pr_err("%s", err);
			return -1;
		}
		if (net_tap__check_vhost(&vm->nic_cfg[i], i) < 0)
			return -1;
	}
	vm->exit_fd = eventfd(0, EFD_CLOEXEC);
	if (vm->exit_fd < 0 || loop__init(&vm->loop) < 0) {
		pr_err("cannot create event fds: %s", strerror(errno));
		return -1;
	}
	if (setup_signals(vm) < 0)
		return -1;
	{
		char err[256];
		int r;

		/* With --user the socket is the user's, in the user's runtime
		 * directory, made with the user's ids: root never creates or
		 * unlinks anything in a directory the user controls. */
		if (privs__as_user(&vm->privs, err, sizeof(err)) < 0) {
			pr_err("%s", err);
			return -1;
		}
		r = control__open(&vm->control, cfg->name, &vm_control__ops, vm, err, sizeof(err));
		/* The logs beside the socket, by the same user. */
		if (r == 0)
			r = detach__open(cfg, &vm->files, err, sizeof(err));
		if (r < 0)
			pr_err("%s", err);
		if (privs__as_root(&vm->privs, err, sizeof(err)) < 0) {
			pr_err("%s", err);
			return -1;
		}
		if (r < 0)
			return -1;
	}
	vm->kvm_fd = open_kvm();
	if (vm->kvm_fd < 0 || check_caps(vm->kvm_fd) < 0)
		return -1;
	do {
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	} while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	if (bus__init(&vm->pio, "pio") || bus__init(&vm->mmio, "mmio"))
		return -1;
	if (setup_memory(vm) < 0 || arch__vm_init(vm) < 0 || irq__init(vm) < 0 ||
	    arch__devices_init(vm) < 0)
		return -1;
	vm->svc = (struct vm_services){
		.mem = &vm->mem, .loop = &vm->loop, .loops = &vm->loops, .pci = vm->pci,
		.irq = &irq__kvm_ops, .irq_opaque = vm,
	};
	for (int i = 0; i < cfg->nr_nics; i++) {
		vm->nic[i] = net_tap__create(&vm->svc, &vm->nic_cfg[i], i);
		if (!vm->nic[i])
			return -1;
		if (vm->privs.drop && net_tap__for_user(vm->nic[i], vm->privs.name) < 0)
			return -1;
	}
	if (disks__attach(&vm->disks, &vm->svc) < 0)
		return -1;
	/* After the NICs and disks, so their PCI slots stay where they were
	 * before there was an rng (guests name NICs after their slot). */
	if (!cfg->no_rng) {
		vm->rng = rng_dev__create(&(struct rng_dev_config){ .loop = vm->svc.loop });
		if (!vm->rng)
			return -1;
		vm->rng_pci = virtio_pci__create(&vm->svc, rng_dev__virtio(vm->rng));
		if (!vm->rng_pci)
			return -1;
	}
	vm->vcpu = calloc((size_t)cfg->nr_cpus, sizeof(*vm->vcpu));
	if (!vm->vcpu)
		return -1;
	for (int i = 0; i < cfg->nr_cpus; i++) {
		vm->vcpu[i] = vcpu__create(vm, i);
		if (!vm->vcpu[i])
			return -1;
		vm->nr_vcpus++;
		if (arch__vcpu_init(vm->vcpu[i]) < 0)
			return -1;
	}
	if (cfg->kernel && arch__load_kernel(vm) < 0)
		return -1;
	/* Set up: nothing from here on needs root. */
	if (vm->privs.drop) {
		char err[256];

		if (privs__drop(&vm->privs, err, sizeof(err)) < 0) {
			pr_err("%s", err);
			return -1;
		}
		pr_info("running as user %s (uid %u, gid %u) from now on", vm->privs.name,
			(unsigned)vm->privs.uid, (unsigned)vm->privs.gid);
	}
	return 0;
}

void vm__request_exit(struct vm *vm, int status, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&vm->exit_lock);
	if (atomic_load(&vm->exiting)) {
		pthread_mutex_unlock(&vm->exit_lock);
		return;
	}
	vm->exit_status = status;
	va_start(ap, fmt);
	vsnprintf(vm->exit_reason, sizeof(vm->exit_reason), fmt, ap);
	va_end(ap);
	atomic_store(&vm->exiting, true);
	pthread_mutex_unlock(&vm->exit_lock);

	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu__kick(vm->vcpu[i]);
	if (write(vm->exit_fd, &one, sizeof(one)) < 0)
		pr_warn("cannot signal VM exit: %s", strerror(errno));
}

int vm__set_irq_line(struct vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = { .irq = arch__irq_line(irq), .level = (uint32_t)level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0) {
		pr_warn("KVM_IRQ_LINE %u=%d: %s", irq, level, strerror(errno));
		return -1;
	}
	return 0;
}

void vm__console_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;

	console__tx(&vm->console, buf, len);
}

void vm__console_rx_ready(void *opaque)
{
	struct vm *vm = opaque;

	console__rx_ready(&vm->console);
}

void vm__print_stats(struct vm *vm)
{
	uint64_t io = 0, mmio = 0, hlt = 0, other = 0, total = 0, k[KVM_STAT_NR] = { 0 };
	char line[1024];
	int n;

	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpu[i];
		uint64_t kv[KVM_STAT_NR];

		kvm_stats__read(&v->kstats, kv);
		for (int j = 0; j < KVM_STAT_NR; j++)
			k[j] += kv[j];
		io += vcpu__stat(&v->exits_io);
		mmio += vcpu__stat(&v->exits_mmio);
		hlt += vcpu__stat(&v->exits_hlt);
		other += vcpu__stat(&v->exits_other);
		total += vcpu__stat(&v->exits_total);
	}
	/* kvm_*: every VM exit the kernel handled; user_*: the exits that
	 * came back to vmm's vCPU threads. */
	n = snprintf(line, sizeof(line), "stats: kvm_exits=%llu kvm_io=%llu kvm_mmio=%llu kvm_halt=%llu"
		     " kvm_irq=%llu kvm_irq_window=%llu user_exits=%llu user_io=%llu user_mmio=%llu"
		     " user_other=%llu",
		     (unsigned long long)k[KVM_STAT_EXITS], (unsigned long long)k[KVM_STAT_IO_EXITS],
		     (unsigned long long)k[KVM_STAT_MMIO_EXITS], (unsigned long long)k[KVM_STAT_HALT_EXITS],
		     (unsigned long long)k[KVM_STAT_IRQ_EXITS],
		     (unsigned long long)k[KVM_STAT_IRQ_WINDOW_EXITS],
		     (unsigned long long)total, (unsigned long long)io, (unsigned long long)mmio,
		     (unsigned long long)(other + hlt));
	for (int i = 0; i < VMM_MAX_NICS && vm->nic[i] && n < (int)sizeof(line); i++) {
		struct net_dev_stats s;

		net_tap__stats(vm->nic[i], &s);
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      " eth%d: tx_packets=%llu tx_bytes=%llu rx_packets=%llu rx_bytes=%llu"
			      " tx_kicks=%llu rx_kicks=%llu tx_irqs=%llu rx_irqs=%llu", i,
			      (unsigned long long)s.tx_packets, (unsigned long long)s.tx_bytes,
			      (unsigned long long)s.rx_packets, (unsigned long long)s.rx_bytes,
			      (unsigned long long)s.tx_kicks, (unsigned long long)s.rx_kicks,
			      (unsigned long long)s.tx_interrupts, (unsigned long long)s.rx_interrupts);
	}
	if (vm->rng && n < (int)sizeof(line)) {
		struct rng_dev_stats s;

		rng_dev__stats(vm->rng, &s);
		snprintf(line + n, sizeof(line) - (size_t)n,
			 " rng: requests=%llu bytes=%llu throttled=%llu",
			 (unsigned long long)s.requests, (unsigned long long)s.bytes,
			 (unsigned long long)s.throttled);
	}
	pr_info("%s", line);
}

int vm__run(struct vm *vm)
{
	char err[256];
	uint64_t v;
	int i;

	/* Every thread loads its own filter as it starts (before it serves
	 * the guest); the main thread's last, as it would be inherited. */
	if (seccomp__init(vm->cfg->seccomp, err, sizeof(err)) < 0) {
		pr_err("%s", err);
		return 1;
	}
	if (disks__start(&vm->disks) < 0)
		vm__request_exit(vm, 1, "cannot start the disk workers");
	if (!atomic_load(&vm->exiting) && control__start_thread(&vm->control) < 0)
		vm__request_exit(vm, 1, "cannot start the control thread");
	if (!atomic_load(&vm->exiting) && loop__start(&vm->loop) < 0)
		vm__request_exit(vm, 1, "cannot start the I/O thread");
	if (!atomic_load(&vm->exiting) && loop_set__start(&vm->loops) < 0)
		vm__request_exit(vm, 1, "cannot start the datapath threads");
	for (i = 0; i < vm->nr_vcpus && !atomic_load(&vm->exiting); i++)
		if (vcpu__start(vm->vcpu[i]) < 0)
			vm__request_exit(vm, 1, "cannot start vCPU %d", i);
	/* --detach: the guest runs; the starting vmm may return. */
	if (!atomic_load(&vm->exiting))
		detach__ready(&vm->files);
	if (!atomic_load(&vm->exiting) && seccomp__install(SECCOMP_MAIN, err, sizeof(err)) < 0)
		vm__request_exit(vm, 1, "%s", err);

	while (read(vm->exit_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu__join(vm->vcpu[i]);
	loop__stop(&vm->loop);
	loop_set__stop(&vm->loops);
	control__stop_thread(&vm->control);
	console__restore(&vm->console);

	if (vm->cfg->boot_markers && vm->markers)
		boot_marker__print(vm->markers);
	if (vm->cfg->verbose)
		vm__print_stats(vm);
	/* Stopped from outside with -v (e.g. a test harness that saw no
	 * progress): where each vCPU was. */
	if (vm->cfg->verbose && vm->exit_status >= 128)
		for (i = 0; i < vm->nr_vcpus; i++)
			vcpu__dump(vm->vcpu[i]);
	if (vm->cfg->verbose)  /* everything KVM counted, per vCPU */
		for (i = 0; i < vm->nr_vcpus; i++) {
			char all[4096];

			if (kvm_stats__dump(&vm->vcpu[i]->kstats, all, sizeof(all)) == 0)
				pr_info("kvm stats vcpu%d: %s", i, all);
		}
	if (vm->exit_status == 0)
		pr_info("%s", vm->exit_reason);
	else
		pr_err("%s", vm->exit_reason);
	return vm->exit_status;
}

void vm__destroy(struct vm *vm)
{
	control__stop_thread(&vm->control);   /* it reads the devices below */
	console__destroy(&vm->console);
	for (int i = 0; i < vm->nr_vcpus; i++)
		vcpu__destroy(vm->vcpu[i]);
	free(vm->vcpu);
	vm->vcpu = NULL;
	vm->nr_vcpus = 0;
	loop__stop(&vm->loop);
	loop_set__stop(&vm->loops);
	for (int i = 0; i < VMM_MAX_NICS; i++) {
		net_tap__destroy(vm->nic[i]);
		vm->nic[i] = NULL;
	}
	disks__close(&vm->disks);
	/* The I/O thread, its only user, has stopped. */
	rng_dev__destroy(vm->rng);
	if (vm->rng_pci)
		virtio_pci__free(vm->rng_pci);
	vm->rng = NULL;
	vm->rng_pci = NULL;
	control__close(&vm->control);
	loop__destroy(&vm->loop);
	loop_set__destroy(&vm->loops);   /* the NICs unregistered from them */
	arch__vm_destroy(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	guest_mem__destroy(&vm->mem);
	if (vm->pio.range || vm->pio.name)
		bus__destroy(&vm->pio);
	if (vm->mmio.range || vm->mmio.name)
		bus__destroy(&vm->mmio);
	if (vm->exit_fd >= 0)
		close(vm->exit_fd);
	if (vm->signal_fd >= 0)
		close(vm->signal_fd);
	detach__close(&vm->files);  /* after the console, which wrote the log */
	vm->vm_fd = vm->kvm_fd = vm->exit_fd = vm->signal_fd = -1;
}
