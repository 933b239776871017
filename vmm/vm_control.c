/* vm_control.c — what the control socket (vmm/control.c, on its own
 * thread) asks of a running VM: a snapshot for `vmm list` and `vmm stat`,
 * the power button and the end of the VM for `vmm stop`, and a NIC's
 * datapath for `vmm set`.
 * Everything here runs on the control thread, under its seccomp filter,
 * while the vCPUs and the I/O thread go on. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/block/disk.h"
#include "virtio/blk.h"
#include "virtio/net_tap.h"
#include "vmm/arch.h"
#include "vmm/log.h"
#include "vmm/stats.h"
#include "vmm/util.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

void vm__snapshot(struct vm *vm, struct vm_snapshot *out)
{
	pid_t vhost_tids[STATS_MAX_NICS * STATS_MAX_QUEUES];
	int nr_vhost, next_vhost = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", vm->cfg->name ? vm->cfg->name : "");
	out->pid = getpid();
	snprintf(out->state, sizeof(out->state), "%s",
		 atomic_load(&vm->exiting) ? "stopping" : "running");
	out->nr_vcpus = vm->nr_vcpus;
	out->mem_bytes = vm->cfg->mem_bytes;
	out->uptime_s = (double)(util__now_ns() - vm->start_ns) / 1e9;
	out->console_client = console__client(&vm->console);
	out->io_tid = __atomic_load_n(&vm->loop.tid, __ATOMIC_RELAXED);
	out->io_cpu_s = out->io_tid ? stats__thread_cpu_s(out->io_tid) : 0;
	log__guest_counts(&out->guest_log_lines, &out->guest_log_suppressed);
	for (int i = 0; i < vm->nr_vcpus && i < VMM_MAX_CPUS; i++) {
		struct vcpu *v = vm->vcpu[i];
		struct vcpu_snapshot *o = &out->vcpu[i];

		o->tid = atomic_load(&v->tid);
		o->cpu_s = o->tid ? stats__thread_cpu_s(o->tid) : 0;
		kvm_stats__read(&v->kstats, o->kvm);
		o->exits_io = vcpu__stat(&v->exits_io);
		o->exits_mmio = vcpu__stat(&v->exits_mmio);
		o->exits_hlt = vcpu__stat(&v->exits_hlt);
		o->exits_other = vcpu__stat(&v->exits_other);
		o->exits_total = vcpu__stat(&v->exits_total);
	}
	/* vhost's workers are all named vhost-<owner pid>, and nothing the
	 * kernel tells us ties one to its /dev/vhost-net: VHOST_GET_VRING_WORKER
	 * (Linux 6.5+, not in the 6.1 UAPI headers we build with) returns an
	 * id of the device's own, not a tid. What does tie them is order:
	 * each worker is created by its fd's VHOST_SET_OWNER, and vmm opens
	 * the fds once, at start, NIC by NIC and pair by pair (open_vhost in
	 * net_tap.c), so ascending tids are that order. Each NIC takes as many
	 * as it owns, whatever its datapath now. */
	nr_vhost = stats__find_vhost_threads(getpid(), vhost_tids, (int)ARRAY_SIZE(vhost_tids));
	for (int i = 0; i < VMM_MAX_NICS && vm->nic[i]; i++) {
		struct nic_snapshot *n = &out->nic[out->nr_nics++];
		int owned = net_tap__snapshot(vm->nic[i], n);

		for (int q = 0; q < n->nr_queues; q++)
			if (n->queue[q].thread_tid > 0)
				n->queue[q].thread_cpu_s = stats__thread_cpu_s(n->queue[q].thread_tid);

		/* a worker is shown only while vhost runs */
		for (int q = 0; q < owned && next_vhost < nr_vhost; q++) {
			int tid = vhost_tids[next_vhost++];

			if (n->vhost && q < n->nr_queues) {
				n->queue[q].vhost_tid = tid;
				n->queue[q].vhost_cpu_s = stats__thread_cpu_s(tid);
			}
		}
		n->vhost_tid = n->queue[0].vhost_tid;
		n->vhost_cpu_s = n->queue[0].vhost_cpu_s;
	}
	/* Disks: images and blk devices are fixed while the VM runs; the
	 * counters are the device's relaxed atomics, read without locks. */
	for (int i = 0; i < vm->disks.nr && i < STATS_MAX_DISKS; i++) {
		const struct disk *d = vm->disks.disk[i];
		struct blk_dev *bd = vm->disks.blk[i];
		struct disk_snapshot *o = &out->disk[out->nr_disks++];

		o->index = i;
		o->seed = vm->disks.has_seed && i == vm->disks.nr - 1;
		if (d) {
			stats__set_path(o->path, d->path);
			snprintf(o->format, sizeof(o->format), "%s", d->format ? d->format : "");
			o->read_only = d->read_only;
			o->size_bytes = d->size;
		}
		if (bd) {
			blk_dev__stats(bd, &o->blk);
			o->worker_tid = blk_dev__worker_tid(bd);
			o->worker_cpu_s = o->worker_tid ? stats__thread_cpu_s(o->worker_tid) : 0;
		}
	}
}

static int control_snapshot(void *opaque, struct vm_snapshot *out)
{
	vm__snapshot(opaque, out);
	return 0;
}

static void control_stop(void *opaque)
{
	vm__request_exit(opaque, 0, "stopped by 'vmm stop'");
}

/* vmm set NAME --vhost on|off: each NIC's line, joined by "; ". */
static int control_set_vhost(void *opaque, int nic, bool on, char *msg, size_t len)
{
	struct vm *vm = opaque;
	size_t pos = 0;
	int r = 0, n = 0;

	msg[0] = '\0';
	for (int i = 0; i < VMM_MAX_NICS && vm->nic[i]; i++) {
		char one[256];

		if (nic >= 0 && i != nic)
			continue;
		if (net_tap__set_vhost(vm->nic[i], on, one, sizeof(one)) < 0)
			r = -1;
		pos += (size_t)snprintf(msg + pos, pos < len ? len - pos : 0, "%s%s",
					n++ ? "; " : "", one);
		pr_info("%s", one);
	}
	if (!n) {
		snprintf(msg, len, nic >= 0 ? "no NIC eth%d" : "this VM has no NIC", nic);
		return -1;
	}
	return r;
}

/* vmm stop: press the power button. The guest decides what happens; if
 * it powers off, acpi_pm's poweroff op ends the VM as a guest `poweroff`
 * does ("guest powered off"). The SCI is raised from this thread
 * (KVM_IRQ_LINE, allowed in its filter for this). */
static int control_powerdown(void *opaque, char *msg, size_t len)
{
	struct vm *vm = opaque;
	int r;

	if (atomic_load(&vm->exiting)) {
		snprintf(msg, len, "the VM is already stopping");
		return -1;
	}
	r = arch__power_button(vm);
	if (r < 0)
		snprintf(msg, len, "this platform has no power button (use vmm stop --force)");
	else
		pr_info("power button pressed (vmm stop)%s",
			r ? "" : "; the guest has not enabled its event yet");
	return r;
}

/* vmm console: the console takes the connection (console.c). */
static int control_console(void *opaque, int fd, int pid, const char *greeting, char *msg,
			   size_t len)
{
	struct vm *vm = opaque;

	if (atomic_load(&vm->exiting)) {
		snprintf(msg, len, "the VM is stopping");
		return -1;
	}
	return console__attach(&vm->console, fd, pid, greeting, msg, len);
}

const struct control_ops vm_control__ops = {
	.info = control_snapshot,
	.stat = control_snapshot,
	.stop = control_stop,
	.set_vhost = control_set_vhost,
	.powerdown = control_powerdown,
	.console = control_console,
};
