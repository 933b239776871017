/* fuzz_control.c — libFuzzer target for the control socket's server
 * side (vmm/control.c): the request a local client sends, read and
 * checked by control__handle() on a real connection, and the reply: a
 * snapshot whose strings and counters come from the input, written by
 * stats__json() and read back by the client's parser (vmm/stats_parse.c).
 *
 * "set vhost on|off [nic N]" reaches a fake set_vhost op, which answers
 * with a message and a result taken from the input: the reply must carry
 * that message (quotes, backslashes and control bytes made '?') as ok or
 * error, and the op must see the datapath and NIC asked for.
 *
 * "powerdown" reaches a fake power button, whose answer (listening,
 * not, or refused with the message) comes from the same input as the set
 * op's: the reply must name this process's pid and the answer, or carry
 * the message as an error.
 *
 * Input: the request bytes, SEP, bytes that fill the snapshot, SEP, then
 * the set and powerdown ops' result and message. The listening socket is in the
 * abstract namespace (no file anywhere). The round trip must give back
 * every counter and every string that is plain ASCII (others may come
 * back with '?'); a reply is one line. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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
/* The fake set_vhost op: what it answers, and what it was asked. */
static char set_msg[300];
static int set_rc, set_calls, set_nic;
static bool set_on;
/* The fake powerdown op: its answer (1, 0 or -1) and its calls. */
static int power_rc, power_calls;

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
		snap.nic[i].by_datapath_known = fin_u8(in) & 1;
		if (snap.nic[i].by_datapath_known) {
			snap.nic[i].by_datapath[NET_DP_USERSPACE].rx_bytes = fin_u64(in);
			snap.nic[i].by_datapath[NET_DP_VHOST].tx_packets = fin_u64(in);
		}
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

static int op_set_vhost(void *opaque, int nic, bool on, char *msg, size_t len)
{
	set_calls++;
	set_nic = nic;
	set_on = on;
	snprintf(msg, len, "%s", set_msg);
	return set_rc;
}

static int op_powerdown(void *opaque, char *msg, size_t len)
{
	power_calls++;
	snprintf(msg, len, "%s", set_msg);
	return power_rc;
}

static void write_seeds(const char *dir);

static const struct control_ops ops = {
	.info = op_snapshot, .stat = op_snapshot, .stop = op_stop, .set_vhost = op_set_vhost,
	.powerdown = op_powerdown,
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
			   back.nic[i].net.tx_kicks == snap.nic[i].net.tx_kicks &&
			   back.nic[i].by_datapath_known == snap.nic[i].by_datapath_known &&
			   !memcmp(back.nic[i].by_datapath, snap.nic[i].by_datapath,
				   sizeof(snap.nic[i].by_datapath)),
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

/* A set request reached the op: it was "set vhost on|off" with at most
 * "nic N" after it (words split at spaces, N digits), the op saw that
 * datapath and NIC (-1: all), and the reply is its message, made safe for a JSON
 * string without escapes, as ok or error. */
static void check_set(const uint8_t *req, size_t req_len)
{
	const char *want = set_rc < 0 ? "{\"error\":\"" : "{\"ok\":true,\"message\":\"";
	char line[CONTROL_REQUEST_MAX + 1], expect[sizeof(set_msg)], *w[6], *save = NULL;
	int nw = 0;

	FUZZ_CHECK(req_len <= CONTROL_REQUEST_MAX, "an overlong request was served");
	memcpy(line, req, req_len);
	line[req_len] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	for (char *t = strtok_r(line, " ", &save); t && nw < 6; t = strtok_r(NULL, " ", &save))
		w[nw++] = t;
	FUZZ_CHECK(nw >= 3 && !strcmp(w[0], "set") && !strcmp(w[1], "vhost") &&
		   (!strcmp(w[2], "on") || !strcmp(w[2], "off")), "set_vhost called for a "
		   "request that is not \"set vhost on|off\"");
	FUZZ_CHECK(set_on == !strcmp(w[2], "on"), "on/off mixed up");
	if (nw == 3) {
		FUZZ_CHECK(set_nic == -1, "no NIC asked, op saw %d", set_nic);
	} else {
		FUZZ_CHECK(nw == 5 && !strcmp(w[3], "nic") && w[4][strspn(w[4], "0123456789")] == '\0',
			   "\"%s ...\" after on|off, op saw NIC %d", w[3], set_nic);
		FUZZ_CHECK(set_nic >= 0 && set_nic == atoi(w[4]), "NIC %s asked, op saw %d", w[4],
			   set_nic);
	}
	snprintf(expect, sizeof(expect), "%s", set_msg[0] || !set_rc ? set_msg : "refused");
	for (char *p = expect; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '?';
	FUZZ_CHECK(!strncmp(reply, want, strlen(want)) &&
		   !strncmp(reply + strlen(want), expect, strlen(expect)) &&
		   !strcmp(reply + strlen(want) + strlen(expect), "\"}"),
		   "set answered %s (message \"%s\", rc %d)", reply, expect, set_rc);
}

/* A powerdown request reached the op: it was exactly "powerdown" (a
 * '\r' before the '\n' allowed), and the reply says what the op said. */
static void check_powerdown(const uint8_t *req, size_t req_len)
{
	char want[sizeof(set_msg) + 64];
	size_t n = req_len;

	if (n && req[n - 1] == '\n')
		n--;
	if (n && req[n - 1] == '\r')
		n--;
	FUZZ_CHECK(n == 9 && !memcmp(req, "powerdown", 9), "powerdown called for another request");
	if (power_rc < 0) {
		snprintf(want, sizeof(want), "{\"error\":\"%s\"}", set_msg[0] ? set_msg : "refused");
		for (char *p = want + 10; p[2]; p++)
			if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
				*p = '?';
	} else {
		snprintf(want, sizeof(want), "{\"ok\":true,\"pid\":%d,\"listening\":%s}",
			 (int)getpid(), power_rc ? "true" : "false");
	}
	FUZZ_CHECK(!strcmp(reply, want), "powerdown answered %s, want %s", reply, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *req = NULL, *rest = NULL, *set = NULL;
	size_t req_len = 0, rest_len = 0, set_len = 0, got = 0;
	int fd, before = stops, calls = set_calls, presses = power_calls;
	uint8_t rc_byte;
	struct fuzz_in set_in;
	ssize_t r;

	fuzz__split(&data, &size, SEP, &req, &req_len);
	fuzz__split(&data, &size, SEP, &rest, &rest_len);
	fuzz__split(&data, &size, SEP, &set, &set_len);
	fill_snapshot(&(struct fuzz_in){ rest, rest_len });
	set_in = (struct fuzz_in){ set, set_len };
	rc_byte = fin_u8(&set_in);
	set_rc = rc_byte & 1 ? -1 : 0;
	power_rc = rc_byte & 1 ? -1 : (rc_byte >> 1) & 1;
	fill_str(&set_in, set_msg, sizeof(set_msg));
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
	else if (set_calls != calls)
		check_set(req, req_len);
	else if (power_calls != presses)
		check_powerdown(req, req_len);
	else if (req_len >= 4 && !memcmp(req, "set ", 4))
		FUZZ_CHECK(!strncmp(reply, "{\"error\":", 9), "set without the op: %s", reply);
	else if (strncmp(reply, "{\"error\":", 9))
		check_round_trip();
	return 0;
}

static void write_seeds(const char *dir)
{
	static const char *const req[] = { "info\n", "stat\n", "stop\n", "stat\r\n", "info",
					   "help\n", "stat\nstat\n", "set vhost on\n",
					   "set vhost off\n", "set vhost off nic 1\n",
					   "set vhost on nic 0\r\n", "set vhost maybe\n",
					   "set vhost on nic -1\n", "set vhost on nic\n", "set\n",
					   "set vhost off nic01\n", "set vhost on nic 1x\n",
					   "set nic 0\n", "powerdown\n", "powerdown\r\n",
					   "powerdown now\n", "powerdown" };
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
		fout_bytes(&o, SEP, strlen(SEP));
		fout_u8(&o, (uint8_t)i);        /* the set op: ok or refused */
		fout_u8(&o, 20);
		fout_bytes(&o, i % 3 ? "eth0: vhost-net \"x\"\\" : "eth1: no\nvhost here!!", 20);
		snprintf(name, sizeof(name), "req%zu", i);
		fout_save(&o, dir, name);
	}
}
