/* stats.c — a VM snapshot to JSON and its human-readable views (see
 * stats.h for the format; the parser is stats_parse.c, the /proc readers
 * stats_proc.c). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/stats.h"
#include "vmm/util.h"

/* The JSON keys of the kernel counters (stats.h). */
const char *const stats__kvm_key[KVM_STAT_NR] = {
	[KVM_STAT_EXITS] = "exits",
	[KVM_STAT_IO_EXITS] = "io",
	[KVM_STAT_MMIO_EXITS] = "mmio",
	[KVM_STAT_HALT_EXITS] = "halt",
	[KVM_STAT_IRQ_EXITS] = "irq",
	[KVM_STAT_IRQ_WINDOW_EXITS] = "irq_window",
	[KVM_STAT_SIGNAL_EXITS] = "signal",
};

#define BLK_KEY(f) { #f, offsetof(struct blk_dev_stats, f) }
const struct stats_blk_key stats__blk_key[STATS_BLK_NR] = {
	BLK_KEY(reads), BLK_KEY(writes), BLK_KEY(flushes), BLK_KEY(discards),
	BLK_KEY(write_zeroes), BLK_KEY(get_ids), BLK_KEY(others), BLK_KEY(bytes_read),
	BLK_KEY(bytes_written), BLK_KEY(errors), BLK_KEY(kicks), BLK_KEY(interrupts),
	BLK_KEY(needs_reset), BLK_KEY(refused_writes),
};
_Static_assert(STATS_BLK_NR == 14, "a blk counter without a JSON key");

const char *const stats__datapath_key[NET_DP_NR] = {
	[NET_DP_USERSPACE] = "userspace",
	[NET_DP_VHOST] = "vhost-net",
};

const char *stats__datapath(const struct nic_snapshot *n)
{
	return stats__datapath_key[n->vhost ? NET_DP_VHOST : NET_DP_USERSPACE];
}

const char *stats__disk_dev(int index, char buf[4])
{
	buf[0] = 'v';
	buf[1] = 'd';
	buf[2] = index >= 0 && index < 26 ? (char)('a' + index) : '?';
	buf[3] = '\0';
	return buf;
}

/* The length of the valid UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) that starts at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void stats__set_path(char dst[STATS_PATH_MAX], const char *path)
{
	const unsigned char *src = (const unsigned char *)(path ? path : "");
	size_t n = 0;

	while (src[n]) {
		size_t l = utf8_len(src + n);

		if (!l)
			l = 1;   /* not UTF-8: one byte, written as U+FFFD */
		if (n + l > STATS_PATH_MAX - 1)
			break;
		n += l;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- writing ---- */

struct out {
	char *buf;
	size_t len, pos;
	bool overflow;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->pos)
		o->overflow = true;
	else
		o->pos += (size_t)n;
}

/* A JSON string: quotes, backslashes and control bytes escaped, valid
 * UTF-8 sequences as they are, any other byte as U+FFFD. */
static void put_str(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	put(o, "\"");
	while (*s) {
		size_t l = utf8_len(s);

		if (*s == '"' || *s == '\\')
			put(o, "\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f)
			put(o, "\\u%04x", *s);
		else if (!l)
			put(o, "\\ufffd");
		else
			put(o, "%.*s", (int)l, (const char *)s);
		s += l ? l : 1;
	}
	put(o, "\"");
}

/* Seconds as written: negative or NaN as 0, at most SECS_MAX (31 million
 * years), so that every number has a bounded width. */
#define SECS_MAX 1e15

static double secs(double v)
{
	return v > 0 ? MIN(v, SECS_MAX) : 0.0;
}

static void put_u64(struct out *o, const char *key, uint64_t v, bool last)
{
	put(o, "\"%s\":%" PRIu64 "%s", key, v, last ? "" : ",");
}

static void put_thread(struct out *o, const char *key, int tid, double cpu_s)
{
	put(o, "\"%s\":{\"tid\":%d,\"cpu_s\":%.3f}", key, tid > 0 ? tid : 0,
	    secs(cpu_s));
}

static void put_vcpu(struct out *o, int id, const struct vcpu_snapshot *v)
{
	put(o, "{\"id\":%d,\"tid\":%d,\"cpu_s\":%.3f,\"kvm_exits\":{", id,
	    v->tid > 0 ? v->tid : 0, secs(v->cpu_s));
	for (int k = 0; k < KVM_STAT_NR; k++)
		put_u64(o, stats__kvm_key[k], v->kvm[k], k == KVM_STAT_NR - 1);
	put(o, "},\"user_exits\":{");
	put_u64(o, "io", v->exits_io, false);
	put_u64(o, "mmio", v->exits_mmio, false);
	put_u64(o, "hlt", v->exits_hlt, false);
	put_u64(o, "other", v->exits_other, false);
	put_u64(o, "total", v->exits_total, true);
	put(o, "}}");
}

/* "queues":[{"pair":0,...}]: a NIC's pairs, in order. */
static void put_queues(struct out *o, const struct nic_snapshot *n)
{
	int nq = MAX(0, MIN(n->nr_queues, STATS_MAX_QUEUES));

	put(o, ",\"queues\":[");
	for (int i = 0; i < nq; i++) {
		const struct net_queue_stats *q = &n->queue[i].net;

		put(o, "%s{\"pair\":%d,", i ? "," : "", i);
		put_u64(o, "rx_packets", q->rx_packets, false);
		put_u64(o, "rx_bytes", q->rx_bytes, false);
		put_u64(o, "tx_packets", q->tx_packets, false);
		put_u64(o, "tx_bytes", q->tx_bytes, false);
		put(o, "\"kicks\":{");
		put_u64(o, "rx", q->rx_kicks, false);
		put_u64(o, "tx", q->tx_kicks, true);
		put(o, "},\"interrupts\":{");
		put_u64(o, "rx", q->rx_interrupts, false);
		put_u64(o, "tx", q->tx_interrupts, true);
		put(o, "},");
		put_thread(o, "thread", n->queue[i].thread_tid, n->queue[i].thread_cpu_s);
		put(o, ",");
		put_thread(o, "vhost_thread", n->queue[i].vhost_tid, n->queue[i].vhost_cpu_s);
		put(o, "}");
	}
	put(o, "]");
}

static void put_nic(struct out *o, const struct nic_snapshot *n)
{
	const struct net_dev_stats *st = &n->net;

	put(o, "{\"index\":%d,\"tap\":", n->index);
	put_str(o, n->tap);
	put(o, ",\"datapath\":\"%s\",", stats__datapath(n));
	put_u64(o, "switches", n->switches, false);
	put_u64(o, "rx_packets", st->rx_packets, false);
	put_u64(o, "rx_bytes", st->rx_bytes, false);
	put_u64(o, "rx_filtered", st->rx_filtered, false);
	put_u64(o, "rx_dropped", st->rx_dropped, false);
	put_u64(o, "tx_packets", st->tx_packets, false);
	put_u64(o, "tx_bytes", st->tx_bytes, false);
	put_u64(o, "tx_dropped", st->tx_dropped, false);
	put_u64(o, "needs_reset", st->needs_reset, false);
	put(o, "\"kicks\":{");
	put_u64(o, "rx", st->rx_kicks, false);
	put_u64(o, "tx", st->tx_kicks, false);
	put_u64(o, "ctrl", st->ctrl_kicks, true);
	put(o, "},\"interrupts\":{");
	put_u64(o, "rx", st->rx_interrupts, false);
	put_u64(o, "tx", st->tx_interrupts, false);
	put_u64(o, "ctrl", st->ctrl_interrupts, true);
	put(o, "},");
	put_thread(o, "vhost_thread", n->vhost_tid, n->vhost_cpu_s);
	if (n->by_datapath_known) {
		put(o, ",\"by_datapath\":{");
		for (int i = 0; i < NET_DP_NR; i++) {
			const struct tap_counts *c = &n->by_datapath[i];

			put(o, "\"%s\":{", stats__datapath_key[i]);
			put_u64(o, "rx_packets", c->rx_packets, false);
			put_u64(o, "rx_bytes", c->rx_bytes, false);
			put_u64(o, "tx_packets", c->tx_packets, false);
			put_u64(o, "tx_bytes", c->tx_bytes, true);
			put(o, i == NET_DP_NR - 1 ? "}" : "},");
		}
		put(o, "}");
	}
	put_queues(o, n);
	put(o, "}");
}

static void put_disk(struct out *o, const struct disk_snapshot *d)
{
	const uint64_t *c = (const uint64_t *)&d->blk;
	char dev[4];

	put(o, "{\"index\":%d,\"dev\":\"%s\",\"path\":", d->index,
	    stats__disk_dev(d->index, dev));
	put_str(o, d->path);
	put(o, ",\"format\":");
	put_str(o, d->format);
	put(o, ",\"read_only\":%s,\"seed\":%s,", d->read_only ? "true" : "false",
	    d->seed ? "true" : "false");
	put_u64(o, "size_bytes", d->size_bytes, false);
	for (size_t i = 0; i < STATS_BLK_NR; i++)
		put_u64(o, stats__blk_key[i].key, c[stats__blk_key[i].off / sizeof(*c)], false);
	put_thread(o, "worker_thread", d->worker_tid, d->worker_cpu_s);
	put(o, "}");
}

int stats__json(const struct vm_snapshot *s, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };
	int nv = MAX(0, MIN(s->nr_vcpus, STATS_MAX_VCPUS));
	int nn = MAX(0, MIN(s->nr_nics, STATS_MAX_NICS));
	int nd = MAX(0, MIN(s->nr_disks, STATS_MAX_DISKS));

	if (!len)
		return -1;
	buf[0] = '\0';
	put(&o, "{\"name\":");
	put_str(&o, s->name);
	put(&o, ",\"pid\":%d,\"state\":", s->pid);
	put_str(&o, s->state);
	put(&o, ",\"vcpus\":%d,\"mem_bytes\":%" PRIu64 ",\"uptime_s\":%.3f,", nv,
	    s->mem_bytes, secs(s->uptime_s));
	put(&o, "\"console_client\":%d,", s->console_client);
	put_thread(&o, "io_thread", s->io_tid, s->io_cpu_s);
	put(&o, ",\"guest_log\":{");
	put_u64(&o, "lines", s->guest_log_lines, false);
	put_u64(&o, "suppressed", s->guest_log_suppressed, true);
	put(&o, "},\"vcpu\":[");
	for (int i = 0; i < nv; i++) {
		put_vcpu(&o, i, &s->vcpu[i]);
		put(&o, i == nv - 1 ? "" : ",");
	}
	put(&o, "],\"nic\":[");
	for (int i = 0; i < nn; i++) {
		put_nic(&o, &s->nic[i]);
		put(&o, i == nn - 1 ? "" : ",");
	}
	put(&o, "],\"disk\":[");
	for (int i = 0; i < nd; i++) {
		put_disk(&o, &s->disk[i]);
		put(&o, i == nd - 1 ? "" : ",");
	}
	put(&o, "]}");
	if (o.overflow) {
		buf[0] = '\0';
		return -1;
	}
	return (int)o.pos;
}

/* ---- human views ---- */

static void mem_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= GiB && !(bytes % GiB))
		snprintf(buf, len, "%" PRIu64 "G", (uint64_t)(bytes / GiB));
	else
		snprintf(buf, len, "%" PRIu64 "M", (uint64_t)(bytes / MiB));
}

/* A disk size: whole GiB, MiB or KiB when exact, else bytes. */
static void size_str(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= GiB && !(bytes % GiB))
		snprintf(buf, len, "%" PRIu64 "G", (uint64_t)(bytes / GiB));
	else if (bytes >= MiB && !(bytes % MiB))
		snprintf(buf, len, "%" PRIu64 "M", (uint64_t)(bytes / MiB));
	else if (bytes >= 1024 && !(bytes % 1024))
		snprintf(buf, len, "%" PRIu64 "K", bytes / 1024);
	else
		snprintf(buf, len, "%" PRIu64 "B", bytes);
}

/* Traffic in decimal units, as network tools count it: "999 B",
 * "5.6 MB". */
static void bytes_str(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "kB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)bytes / 1000;
	size_t u = 0;

	if (bytes < 1000) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return;
	}
	while (v >= 999.95 && u < ARRAY_SIZE(unit) - 1) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
}

/* "  eth0 by datapath: userspace rx 12 pkts 1.5 kB, tx ...; vhost-net ..." */
static void print_by_datapath(FILE *f, const struct nic_snapshot *n)
{
	fprintf(f, "  eth%d by datapath:", n->index);
	if (!n->by_datapath_known) {
		fprintf(f, " n/a (the tap's counters could not be read)\n");
		return;
	}
	for (int i = 0; i < NET_DP_NR; i++) {
		const struct tap_counts *c = &n->by_datapath[i];
		char rx[32], tx[32];

		bytes_str(c->rx_bytes, rx, sizeof(rx));
		bytes_str(c->tx_bytes, tx, sizeof(tx));
		fprintf(f, "%s %s rx %" PRIu64 " pkts %s, tx %" PRIu64 " pkts %s", i ? ";" : "",
			stats__datapath_key[i], c->rx_packets, rx, c->tx_packets, tx);
	}
	fprintf(f, "\n");
}

/* With more than one pair, a line per pair under the NIC's:
 * "    pair 1: rx 12 pkts 1.5 kB  tx 3 pkts 180 B  kicks rx 1 tx 3
 *     interrupts rx 4 tx 0, vhost thread 812 cpu 0.250 s". With vhost the
 * kicks and interrupts bypass vmm: said instead of counted. */
static void print_queues(FILE *f, const struct nic_snapshot *n)
{
	int nq = MAX(0, MIN(n->nr_queues, STATS_MAX_QUEUES));

	for (int i = 0; nq > 1 && i < nq; i++) {
		const struct queue_snapshot *q = &n->queue[i];
		char rx[32], tx[32];

		bytes_str(q->net.rx_bytes, rx, sizeof(rx));
		bytes_str(q->net.tx_bytes, tx, sizeof(tx));
		fprintf(f, "    pair %d: rx %" PRIu64 " pkts %s  tx %" PRIu64 " pkts %s", i,
			q->net.rx_packets, rx, q->net.tx_packets, tx);
		if (n->vhost)
			fprintf(f, "  kicks/interrupts: via vhost, not seen by vmm");
		else
			fprintf(f, "  kicks rx %" PRIu64 " tx %" PRIu64 "  interrupts rx %" PRIu64
				" tx %" PRIu64, q->net.rx_kicks, q->net.tx_kicks,
				q->net.rx_interrupts, q->net.tx_interrupts);
		if (!n->vhost && q->thread_tid > 0)   /* idle while vhost runs the pair */
			fprintf(f, ", thread %d cpu %.3f s", q->thread_tid, q->thread_cpu_s);
		if (q->vhost_tid > 0)
			fprintf(f, ", vhost thread %d cpu %.3f s", q->vhost_tid, q->vhost_cpu_s);
		fprintf(f, "\n");
	}
}

/* User data on a terminal: control bytes shown as '?'. */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

void stats__print_list_header(FILE *f)
{
	fprintf(f, "%-20s %8s %-9s %5s %7s %6s  %s\n", "NAME", "PID", "STATE", "CPUS", "MEMORY",
		"DISKS", "NICS");
}

void stats__print_list_row(FILE *f, const struct vm_snapshot *s)
{
	int nd = MAX(0, MIN(s->nr_disks, STATS_MAX_DISKS));
	bool seed = nd && s->disk[nd - 1].seed;
	char mem[32], disks[32];

	mem_str(s->mem_bytes, mem, sizeof(mem));
	if (!nd)
		snprintf(disks, sizeof(disks), "-");
	else
		snprintf(disks, sizeof(disks), "%d%s", nd - seed, seed ? "+seed" : "");
	fprintf(f, "%-20s %8d %-9s %5d %7s %6s ", s->name, s->pid, s->state, s->nr_vcpus, mem,
		disks);
	if (!s->nr_nics)
		fprintf(f, " -");
	for (int i = 0; i < s->nr_nics && i < STATS_MAX_NICS; i++)
		fprintf(f, " %s(%s)", s->nic[i].tap[0] ? s->nic[i].tap : "?",
			stats__datapath(&s->nic[i]));
	fprintf(f, "\n");
}

void stats__uptime_str(double secs, char *buf, size_t len)
{
	uint64_t t;

	/* A reply is another process's: anything may come in it. */
	if (!(secs >= 0) || secs >= 1e15) {
		snprintf(buf, len, "%.3g s", secs);
		return;
	}
	if (secs < 60) {
		snprintf(buf, len, "%.1f s", secs);
		return;
	}
	t = (uint64_t)secs;
	if (t < 3600)
		snprintf(buf, len, "%" PRIu64 "m %02" PRIu64 "s", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", t / 3600,
			 t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m", t / 86400,
			 t / 3600 % 24, t / 60 % 60);
}

void stats__print_human(FILE *f, const struct vm_snapshot *s)
{
	char mem[32], up[48];

	mem_str(s->mem_bytes, mem, sizeof(mem));
	stats__uptime_str(s->uptime_s, up, sizeof(up));
	fprintf(f, "%s: pid %d, %s, %d vCPU%s, %s memory, up %s\n", s->name, s->pid,
		s->state, s->nr_vcpus, s->nr_vcpus == 1 ? "" : "s", mem, up);
	if (s->console_client > 0)
		fprintf(f, "  console: client attached (pid %d)\n", s->console_client);
	else
		fprintf(f, "  console: %s\n", s->console_client ? "client attached" :
			"no client attached");
	fprintf(f, "  %-6s %8s %9s %10s %9s %9s %9s %9s %10s %9s %9s | %9s %9s %9s %9s %10s\n",
		"thread", "tid", "cpu_s", "kvm_exits", "io", "mmio", "halt", "irq",
		"irq_window", "signal", "", "user_io", "mmio", "hlt", "other", "total");
	for (int i = 0; i < s->nr_vcpus && i < STATS_MAX_VCPUS; i++) {
		const struct vcpu_snapshot *v = &s->vcpu[i];

		fprintf(f, "  vcpu%-2d %8d %9.3f %10" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9"
			PRIu64 " %9" PRIu64 " %10" PRIu64 " %9" PRIu64 " %9s | %9" PRIu64 " %9"
			PRIu64 " %9" PRIu64 " %9" PRIu64 " %10" PRIu64 "\n",
			i, v->tid, v->cpu_s, v->kvm[KVM_STAT_EXITS], v->kvm[KVM_STAT_IO_EXITS],
			v->kvm[KVM_STAT_MMIO_EXITS], v->kvm[KVM_STAT_HALT_EXITS],
			v->kvm[KVM_STAT_IRQ_EXITS], v->kvm[KVM_STAT_IRQ_WINDOW_EXITS],
			v->kvm[KVM_STAT_SIGNAL_EXITS], "", v->exits_io, v->exits_mmio,
			v->exits_hlt, v->exits_other, v->exits_total);
	}
	fprintf(f, "  %-6s %8d %9.3f\n", "io", s->io_tid, s->io_cpu_s);
	for (int i = 0; i < s->nr_nics && i < STATS_MAX_NICS; i++) {
		const struct nic_snapshot *n = &s->nic[i];
		const struct net_dev_stats *st = &n->net;

		fprintf(f, "  eth%d: tap %s, datapath %s", n->index, n->tap[0] ? n->tap : "?",
			stats__datapath(n));
		if (n->switches)
			fprintf(f, " (switched %" PRIu64 " time%s)", n->switches,
				n->switches == 1 ? "" : "s");
		if (n->vhost_tid > 0)
			fprintf(f, ", vhost thread %d cpu %.3f s", n->vhost_tid, n->vhost_cpu_s);
		fprintf(f, "\n    rx %" PRIu64 " packets %" PRIu64 " bytes (%" PRIu64 " filtered, %"
			PRIu64 " dropped)  tx %" PRIu64 " packets %" PRIu64 " bytes (%" PRIu64
			" dropped)\n", st->rx_packets, st->rx_bytes, st->rx_filtered,
			st->rx_dropped, st->tx_packets, st->tx_bytes, st->tx_dropped);
		fprintf(f, "    kicks rx %" PRIu64 " tx %" PRIu64 " ctrl %" PRIu64 "  interrupts rx %"
			PRIu64 " tx %" PRIu64 " ctrl %" PRIu64 "%s\n", st->rx_kicks, st->tx_kicks,
			st->ctrl_kicks, st->rx_interrupts, st->tx_interrupts, st->ctrl_interrupts,
			n->vhost ? "  (rx/tx counted by vhost, not vmm)" : "");
		fprintf(f, "    refused: needs_reset %" PRIu64 "\n", st->needs_reset);
		print_by_datapath(f, n);
		print_queues(f, n);
	}
	for (int i = 0; i < s->nr_disks && i < STATS_MAX_DISKS; i++) {
		const struct disk_snapshot *d = &s->disk[i];
		const struct blk_dev_stats *b = &d->blk;
		char dev[4], size[32];

		size_str(d->size_bytes, size, sizeof(size));
		fprintf(f, "  %s: ", stats__disk_dev(d->index, dev));
		put_text(f, d->path[0] ? d->path : "?");
		fprintf(f, " (");
		put_text(f, d->format[0] ? d->format : "?");
		fprintf(f, ", %s, %s%s)", size, d->read_only ? "read-only" : "read-write",
			d->seed ? ", cloud-init seed" : "");
		if (d->worker_tid > 0)
			fprintf(f, ", worker thread %d cpu %.3f s", d->worker_tid, d->worker_cpu_s);
		fprintf(f, "\n    reads %" PRIu64 " (%" PRIu64 " bytes)  writes %" PRIu64 " (%" PRIu64
			" bytes)  flushes %" PRIu64 "  discards %" PRIu64 "  write_zeroes %" PRIu64
			"\n", b->reads, b->bytes_read, b->writes, b->bytes_written, b->flushes,
			b->discards, b->write_zeroes);
		fprintf(f, "    get_id %" PRIu64 "  unsupported %" PRIu64 "  errors %" PRIu64
			"  kicks %" PRIu64 "  interrupts %" PRIu64 "\n", b->get_ids, b->others,
			b->errors, b->kicks, b->interrupts);
		fprintf(f, "    refused: needs_reset %" PRIu64 "  refused_writes %" PRIu64 "\n",
			b->needs_reset, b->refused_writes);
	}
	fprintf(f, "  guest messages %" PRIu64 " (%" PRIu64 " kept quiet by the rate limit)\n",
		s->guest_log_lines, s->guest_log_suppressed);
}
