/* fuzz_control.c — libFuzzer target for the control socket's server
 * side (vmm/control.c): the request a local client sends, read and
 * checked by control__handle() on a real connection, and the reply: a
 * snapshot whose strings and counters come from the input, written by
 * stats__json() and read back by the client's parser (vmm/stats_parse.c).
 *
 * Input: the request bytes, SEP, then bytes that fill the snapshot. The
 * listening socket is in the abstract namespace (no file anywhere). The
 * round trip must give back every counter and every string that is
 * plain ASCII (others may come back with '?'); a reply is one line. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/fuzz/fuzz_util.h"
#include "vmm/control.h"
#include "vmm/stats.h"

#define SEP "\n--snapshot--\n"

static struct control ctl;
static struct sockaddr_un addr;
static socklen_t addr_len;
static struct vm_snapshot snap, back;
static char reply[CONTROL_REPLY_MAX + 16];
static int stops;

static void fill_str(struct fuzz_in *in, char *dst, size_t cap)
{
	const uint8_t *p;
	size_t n = fin_bytes(in, &p, fin_u8(in) % cap);

	if (n)
		memcpy(dst, p, n);
	dst[n] = '\0';      /* a NUL inside ends it early, as in C */
}

/* A snapshot as vm__snapshot() could make it: indexes in order, counts
 * within the arrays, ids non-negative; everything else from the input. */
static void fill_snapshot(struct fuzz_in *in)
{
	memset(&snap, 0, sizeof(snap));
	fill_str(in, snap.name, sizeof(snap.name));
	fill_str(in, snap.state, sizeof(snap.state));
	snap.pid = (int)(fin_u32(in) & INT32_MAX);
	snap.nr_vcpus = fin_u8(in) % (STATS_MAX_VCPUS + 1);
	snap.mem_bytes = fin_u64(in);
	snap.uptime_s = (double)fin_u32(in) / 1000;
	snap.io_tid = (int)fin_u16(in);
	for (int i = 0; i < snap.nr_vcpus && in->n; i++) {
		snap.vcpu[i].tid = (int)fin_u16(in);
		for (int k = 0; k < KVM_STAT_NR; k++)
			snap.vcpu[i].kvm[k] = fin_u64(in);
		snap.vcpu[i].exits_io = fin_u64(in);
		snap.vcpu[i].exits_total = fin_u64(in);
	}
	snap.nr_nics = fin_u8(in) % (STATS_MAX_NICS + 1);
	for (int i = 0; i < snap.nr_nics; i++) {
		snap.nic[i].index = i;
		fill_str(in, snap.nic[i].tap, sizeof(snap.nic[i].tap));
		snap.nic[i].vhost = fin_u8(in) & 1;
		snap.nic[i].net.rx_bytes = fin_u64(in);
		snap.nic[i].net.tx_kicks = fin_u64(in);
		snap.nic[i].vhost_tid = (int)fin_u16(in);
	}
	snap.nr_disks = fin_u8(in) % (STATS_MAX_DISKS + 1);
	for (int i = 0; i < snap.nr_disks; i++) {
		snap.disk[i].index = i;
		fill_str(in, snap.disk[i].path, sizeof(snap.disk[i].path));
		fill_str(in, snap.disk[i].format, sizeof(snap.disk[i].format));
		snap.disk[i].read_only = fin_u8(in) & 1;
		snap.disk[i].seed = fin_u8(in) & 1;
		snap.disk[i].size_bytes = fin_u64(in);
		snap.disk[i].blk.errors = fin_u64(in);
		snap.disk[i].worker_tid = (int)fin_u16(in);
	}
}

static int op_snapshot(void *opaque, struct vm_snapshot *out)
{
	*out = snap;
	return 0;
}

static void op_stop(void *opaque) { stops++; }

static void write_seeds(const char *dir);

static const struct control_ops ops = {
	.info = op_snapshot, .stat = op_snapshot, .stop = op_stop,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	fuzz__seed_mode(write_seeds);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	addr.sun_family = AF_UNIX;
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
		snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1, "vmm-fuzz-control-%d",
			 (int)getpid()));
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, addr_len) < 0 || listen(fd, 4) < 0)
		abort();
	ctl.fd = fd;
	ctl.ops = &ops;
	return 0;
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static void check_str(const char *sent, const char *got)
{
	if (ascii(sent))
		FUZZ_CHECK(!strcmp(sent, got), "\"%s\" came back as \"%s\"", sent, got);
}

static void check_round_trip(void)
{
	FUZZ_CHECK(stats__from_json(reply, &back) == 0, "the server's JSON does not parse: %s",
		   reply);
	check_str(snap.name, back.name);
	check_str(snap.state, back.state);
	FUZZ_CHECK(back.pid == snap.pid && back.nr_vcpus == snap.nr_vcpus &&
		   back.mem_bytes == snap.mem_bytes && back.nr_nics == snap.nr_nics &&
		   back.nr_disks == snap.nr_disks, "VM counters differ");
	for (int i = 0; i < snap.nr_vcpus; i++)
		FUZZ_CHECK(!memcmp(back.vcpu[i].kvm, snap.vcpu[i].kvm, sizeof(snap.vcpu[i].kvm)) &&
			   back.vcpu[i].exits_io == snap.vcpu[i].exits_io &&
			   back.vcpu[i].exits_total == snap.vcpu[i].exits_total,
			   "vCPU %d counters differ", i);
	for (int i = 0; i < snap.nr_nics; i++) {
		check_str(snap.nic[i].tap, back.nic[i].tap);
		FUZZ_CHECK(back.nic[i].vhost == snap.nic[i].vhost &&
			   back.nic[i].net.rx_bytes == snap.nic[i].net.rx_bytes &&
			   back.nic[i].net.tx_kicks == snap.nic[i].net.tx_kicks,
			   "NIC %d counters differ", i);
	}
	for (int i = 0; i < snap.nr_disks; i++) {
		check_str(snap.disk[i].path, back.disk[i].path);
		check_str(snap.disk[i].format, back.disk[i].format);
		FUZZ_CHECK(back.disk[i].read_only == snap.disk[i].read_only &&
			   back.disk[i].seed == snap.disk[i].seed &&
			   back.disk[i].size_bytes == snap.disk[i].size_bytes &&
			   back.disk[i].blk.errors == snap.disk[i].blk.errors,
			   "disk %d counters differ", i);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *req = NULL, *rest = NULL;
	size_t req_len = 0, rest_len = 0, got = 0;
	int fd, before = stops;
	ssize_t r;

	fuzz__split(&data, &size, SEP, &req, &req_len);
	fuzz__split(&data, &size, SEP, &rest, &rest_len);
	fill_snapshot(&(struct fuzz_in){ rest, rest_len });
	if (req_len > 4096)
		return 0;   /* more than the socket holds before the server reads */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, addr_len) < 0)
		abort();
	if (req_len && write(fd, req, req_len) != (ssize_t)req_len)
		abort();
	shutdown(fd, SHUT_WR);      /* else the server waits for more */
	control__handle(&ctl);
	while ((r = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (size_t)r;
	close(fd);
	reply[got] = '\0';
	FUZZ_CHECK(got > 0 && reply[got - 1] == '\n' && memchr(reply, '\n', got) == reply + got - 1,
		   "the reply is not one line: %s", reply);
	reply[got - 1] = '\0';
	if (stops != before)
		FUZZ_CHECK(!strcmp(reply, "{\"ok\":true}"), "stop answered %s", reply);
	else if (strncmp(reply, "{\"error\":", 9))
		check_round_trip();
	return 0;
}

static void write_seeds(const char *dir)
{
	static const char *const req[] = { "info\n", "stat\n", "stop\n", "stat\r\n", "info",
					   "help\n", "stat\nstat\n" };
	static struct fuzz_out o;

	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		char name[16];

		fout_bytes(&o, req[i], strlen(req[i]));
		fout_bytes(&o, SEP, strlen(SEP));
		fout_u8(&o, 4);
		fout_bytes(&o, "web1", 4);
		fout_u8(&o, 7);
		fout_bytes(&o, "running", 7);
		fout_le(&o, 1234, 4);
		fout_u8(&o, 2);                 /* vCPUs */
		fout_le(&o, 1ULL << 30, 8);
		for (int k = 0; k < 300; k++)   /* counters, NICs, disks */
			fout_u8(&o, (uint8_t)(k * 7 + 1));
		snprintf(name, sizeof(name), "req%zu", i);
		fout_save(&o, dir, name);
	}
}
