/* seccomp_rules.c — what each kind of vmm thread may ask of the kernel.
 *
 * Read from the code (and checked by running the nested e2e scenarios with
 * the filters on), per kind:
 *
 *   every thread  futex, signal return and masks, exit, clocks, getpid/
 *                 gettid, write/writev (logs, eventfds), close, memory
 *                 (mmap/mprotect never executable), isatty() (TCGETS),
 *                 tgkill to this process with the vCPU kick or SIGABRT
 *   vcpu          KVM_RUN; the device models behind port I/O and MMIO
 *                 exits: interrupt lines, MSI routes, irqfds, ioeventfds
 *                 (BAR moves), doorbells joining or leaving the epoll set;
 *                 the tap's header size and offloads (features), vhost's
 *                 ring set-up and tear-down (DRIVER_OK and reset are
 *                 writes to the common configuration: a vCPU exit), and
 *                 the register dump of a vCPU that fails; console
 *                 output written to the console log and to an attached
 *                 `vmm console` client's socket (write, never waiting)
 *   io            epoll, read/readv/writev (console, tap, eventfds,
 *                 signalfd, timerfd), io_uring_enter (a queue pair's
 *                 batched tap writes), a console client's keys (read; its
 *                 socket closed when it leaves), MSI and interrupt lines, offloads,
 *                 KVM stats; virtio-rng's getrandom and its refill timer
 *   blk           the image: p{read,write}{,v}, fdatasync, fallocate,
 *                 BLKDISCARD/BLKZEROOUT on a block device, MSI
 *   control       the socket: poll, accept4, getsockopt (SO_PEERCRED),
 *                 read, sendto; /proc read-only for CPU times and vhost
 *                 threads, sysfs read-only for each tap's counters; KVM
 *                 stats; `vmm set --vhost`: vhost's ring hand-over both
 *                 ways, doorbells joining or leaving the epoll set;
 *                 `vmm stop`: the power button's interrupt line;
 *                 `vmm console`: the accepted socket handed to the
 *                 console (greeting and replay written, added to the I/O
 *                 thread's epoll set; poll for a client that hung up)
 *   main          with --detach, before its filter: stdin/stdout/stderr
 *                 moved off the terminal (dup2); then waits, then
 *                 tears down: joins, disks flushed and closed,
 *                 irqfds and ioeventfds removed, each io_uring's tap
 *                 file unregistered, the control socket
 *                 unlinked, the tap's host configuration undone over
 *                 NETLINK_ROUTE (root only), the terminal restored, vCPU
 *                 registers dumped with -v
 *   parser        reading the already open disks, memory, sealed memfds
 *                 and sending them back over its socket: nothing that
 *                 names a file, no socket, no exec
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/netlink.h>
#include <linux/vhost.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "vmm/seccomp_priv.h"
#include "vmm/util.h"

#define K(k)     (1u << SECCOMP_##k)
#define THREADS  (K(MAIN) | K(VCPU) | K(IO) | K(BLK) | K(CONTROL))
#define ALL      (THREADS | K(PARSER))

struct sys_allow {
	int nr;
	unsigned kinds;
};

/* System calls allowed whatever their arguments. */
static const struct sys_allow plain[] = {
	{ SCMP_SYS(futex), ALL },
	{ SCMP_SYS(restart_syscall), ALL },
	{ SCMP_SYS(rt_sigreturn), ALL },        /* the vCPU kick's handler returns */
	{ SCMP_SYS(rt_sigprocmask), ALL },      /* pthread_kill, thread exit */
	{ SCMP_SYS(exit), ALL },
	{ SCMP_SYS(exit_group), ALL },
	{ SCMP_SYS(clock_gettime), ALL },       /* the vDSO falls back to these */
	{ SCMP_SYS(gettimeofday), ALL },
	{ SCMP_SYS(time), ALL },
	{ SCMP_SYS(getpid), ALL },
	{ SCMP_SYS(gettid), ALL },
	{ SCMP_SYS(getuid), ALL },
	{ SCMP_SYS(geteuid), ALL },             /* control: only our user is served */
	{ SCMP_SYS(getgid), ALL },
	{ SCMP_SYS(getegid), ALL },
	{ SCMP_SYS(sched_yield), ALL },
	{ SCMP_SYS(write), ALL },               /* logs, eventfds, memfds (parser) */
	{ SCMP_SYS(writev), ALL },              /* glibc's fatal messages */
	{ SCMP_SYS(close), ALL },
	{ SCMP_SYS(munmap), ALL },
	{ SCMP_SYS(mremap), ALL },
	{ SCMP_SYS(madvise), ALL },             /* malloc trimming, thread exit */
	{ SCMP_SYS(brk), ALL },
	{ SCMP_SYS(sigaltstack), ALL },         /* sanitizer builds, at thread exit */

	{ SCMP_SYS(epoll_ctl), K(MAIN) | K(VCPU) | K(IO) | K(CONTROL) },
	{ SCMP_SYS(epoll_wait), K(IO) },
	{ SCMP_SYS(epoll_pwait), K(IO) },
	/* virtio-rng (virtio/rng.c): served on the I/O thread, which alone
	 * arms the rate limit's timer */
	{ SCMP_SYS(getrandom), K(IO) },
	{ SCMP_SYS(timerfd_settime), K(IO) },
	/* Each queue pair's batched TX (devices/net/tap_uring.c). What the
	 * ring does bypasses this filter, so its rings were made before any
	 * filter and restricted to READV/WRITEV of their own tap queue;
	 * here only io_uring_enter, never io_uring_setup (a fresh,
	 * unrestricted ring) or io_uring_register (it could register other
	 * files; a restricted ring refuses it anyway). */
	{ SCMP_SYS(io_uring_enter), K(IO) },

	{ SCMP_SYS(read), K(MAIN) | K(IO) | K(CONTROL) | K(PARSER) },
	{ SCMP_SYS(readv), K(IO) | K(PARSER) },
	{ SCMP_SYS(pread64), K(MAIN) | K(IO) | K(BLK) | K(CONTROL) | K(PARSER) },
	{ SCMP_SYS(preadv), K(MAIN) | K(BLK) | K(PARSER) },
	{ SCMP_SYS(pwrite64), K(MAIN) | K(BLK) },
	{ SCMP_SYS(pwritev), K(MAIN) | K(BLK) },
	{ SCMP_SYS(fdatasync), K(MAIN) | K(BLK) },
	{ SCMP_SYS(fsync), K(MAIN) | K(BLK) },
	{ SCMP_SYS(fallocate), K(MAIN) | K(BLK) },
	{ SCMP_SYS(lseek), K(PARSER) },
	{ SCMP_SYS(fstat), K(MAIN) | K(CONTROL) | K(PARSER) },
	{ SCMP_SYS(newfstatat), K(MAIN) | K(CONTROL) | K(PARSER) },

	{ SCMP_SYS(poll), K(CONTROL) },
	{ SCMP_SYS(ppoll), K(CONTROL) },
	{ SCMP_SYS(accept4), K(CONTROL) },
	{ SCMP_SYS(getsockopt), K(CONTROL) },
	{ SCMP_SYS(sendto), K(CONTROL) | K(MAIN) },
	{ SCMP_SYS(getdents64), K(CONTROL) },

	/* main: the control socket's file, the tap's netlink undo */
	{ SCMP_SYS(unlink), K(MAIN) },
	{ SCMP_SYS(unlinkat), K(MAIN) },
	{ SCMP_SYS(setsockopt), K(MAIN) },
	{ SCMP_SYS(recvfrom), K(MAIN) },

	{ SCMP_SYS(memfd_create), K(PARSER) },
};

struct ioctl_allow {
	unsigned long req;
	unsigned kinds;
};

static const struct ioctl_allow ioctls[] = {
	{ TCGETS, ALL },                        /* isatty() in every log line */
	{ KVM_RUN, K(VCPU) },
	/* UART, i8042, RTC interrupts; the power button's SCI (control) */
	{ KVM_IRQ_LINE, K(VCPU) | K(IO) | K(CONTROL) },
	{ KVM_SIGNAL_MSI, K(VCPU) | K(IO) | K(BLK) },  /* a vector without irqfd */
	{ KVM_SET_GSI_ROUTING, K(VCPU) },       /* MSI-X table writes */
	{ KVM_IRQFD, K(VCPU) | K(MAIN) },
	{ KVM_IOEVENTFD, K(VCPU) | K(MAIN) },   /* BAR 0 moved; teardown */
	{ KVM_GET_REGS, K(VCPU) | K(MAIN) },    /* vcpu__dump */
	{ KVM_GET_SREGS, K(VCPU) | K(MAIN) },
	{ KVM_TRANSLATE, K(VCPU) | K(MAIN) },
	{ KVM_GET_VCPU_EVENTS, K(VCPU) | K(MAIN) },
	{ KVM_GET_ONE_REG, K(VCPU) | K(MAIN) }, /* vcpu__dump on arm64 */
	{ TUNSETVNETHDRSZ, K(VCPU) },           /* FEATURES_OK */
	{ TUNSETOFFLOAD, K(VCPU) | K(IO) },
	/* multiqueue: the driver's VQ_PAIRS_SET (control queue, I/O
	 * thread), back to one pair at a reset (vCPU) */
	{ TUNSETQUEUE, K(VCPU) | K(IO) },
	/* vhost-net: DRIVER_OK hands the rings over, a reset (driver
	 * reload) takes them back; both are vCPU writes. `vmm set --vhost`
	 * does the same on the control thread. */
	{ VHOST_SET_FEATURES, K(VCPU) | K(CONTROL) },
	{ VHOST_SET_MEM_TABLE, K(VCPU) | K(CONTROL) },
	{ VHOST_SET_VRING_NUM, K(VCPU) | K(CONTROL) },
	{ VHOST_SET_VRING_ADDR, K(VCPU) | K(CONTROL) },
	{ VHOST_SET_VRING_BASE, K(VCPU) | K(CONTROL) },
	{ VHOST_GET_VRING_BASE, K(VCPU) | K(CONTROL) },
	{ VHOST_SET_VRING_CALL, K(VCPU) | K(CONTROL) },      /* also MSI-X (un)masking */
	{ VHOST_SET_VRING_KICK, K(VCPU) | K(CONTROL) },
	{ VHOST_NET_SET_BACKEND, K(VCPU) | K(CONTROL) },
	{ BLKDISCARD, K(BLK) },
	{ BLKZEROOUT, K(BLK) },
};

/* The kernel reads an ioctl's request as 32 bits. */
#define REQ(r) SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, (unsigned long)(r))

int seccomp_rules__add(scmp_filter_ctx ctx, enum seccomp_kind kind,
		       const struct seccomp_rules_env *env)
{
	unsigned me = 1u << kind;
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(plain) && !r; i++)
		if (plain[i].kinds & me)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i].nr, 0);
	for (size_t i = 0; i < ARRAY_SIZE(ioctls) && !r; i++)
		if (ioctls[i].kinds & me)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					     REQ(ioctls[i].req));
	if (r)
		return r;

	/* Memory is never made executable: no code the guest wrote runs. */
	r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* Signals only to this process: the vCPU kick, and abort(). */
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
				     SCMP_A0(SCMP_CMP_EQ, (unsigned long)env->pid),
				     SCMP_A2(SCMP_CMP_EQ, SIGUSR1));
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
				     SCMP_A0(SCMP_CMP_EQ, (unsigned long)env->pid),
				     SCMP_A2(SCMP_CMP_EQ, SIGABRT));
	/* The console's terminal, put back at exit or after a violation. */
	if (!r && env->tty_fd >= 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     SCMP_A0(SCMP_CMP_EQ, (unsigned long)env->tty_fd), REQ(TCSETS));
	if (r)
		return r;

	switch (kind) {
	case SECCOMP_CONTROL:
		/* /proc/self/task/N/stat and comm, and
		 * /sys/class/net/TAP/statistics/NAME: read-only opens. */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ,
						O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY));
	case SECCOMP_MAIN:
		/* tap_uring__exit lets go of each tap queue before the ring
		 * goes (the one io_uring_register op the restricted rings
		 * still accept). */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(io_uring_register), 1,
				     SCMP_A1(SCMP_CMP_EQ, IORING_UNREGISTER_FILES));
		/* netcfg__host_teardown's NETLINK_ROUTE requests. */
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
					     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
					     SCMP_A2(SCMP_CMP_EQ, NETLINK_ROUTE));
		return r;
	case SECCOMP_PARSER:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				     SCMP_A1(SCMP_CMP_EQ, F_ADD_SEALS));
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
					     SCMP_A1(SCMP_CMP_EQ, F_GET_SEALS));
		/* The result, on the one socket to the parent. */
		if (!r && env->result_fd >= 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 1,
					     SCMP_A0(SCMP_CMP_EQ, (unsigned long)env->result_fd));
		return r;
	default:
		return 0;
	}
}
