/* stats_parse.c — the client side of stats.h: a small, bounded JSON
 * parser (depth, string and array lengths all capped) that fills a
 * struct vm_snapshot from what stats__json() wrote (vCPUs, NICs, disks),
 * ignoring unknown keys. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/stats.h"
#include "vmm/util.h"

#define JSON_MAX_DEPTH 8
#define JSON_TOKEN_MAX STATS_PATH_MAX   /* the longest string field */

_Static_assert(JSON_TOKEN_MAX >= sizeof(((struct vm_snapshot *)0)->name) &&
	       JSON_TOKEN_MAX >= 80, "JSON_TOKEN_MAX below a field's size");

/* What a scalar value was. */
enum jtype { J_NUM, J_STR, J_BOOL };

/* Where the parser is: one key (objects) or index (arrays) per level. */
struct parser {
	const char *p;
	struct vm_snapshot *s;
	int depth;
	const char *key[JSON_MAX_DEPTH];  /* NULL at array levels */
	size_t keylen[JSON_MAX_DEPTH];
	int idx[JSON_MAX_DEPTH];
};

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

/* A string starting at the opening quote; its decoded text into out (up to
 * outlen - 1 bytes, -1 if longer), or only skipped when out is NULL. */
static int parse_string(struct parser *ps, char *out, size_t outlen)
{
	size_t n = 0;

	if (*ps->p != '"')
		return -1;
	ps->p++;
	for (;;) {
		unsigned char c = (unsigned char)*ps->p++;

		if (c == '\0' || c < 0x20)
			return -1;
		if (c == '"')
			break;
		if (c == '\\') {
			char e = *ps->p++;
			unsigned v = 0;

			switch (e) {
			case '"': case '\\': case '/': c = (unsigned char)e; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				for (int i = 0; i < 4; i++, ps->p++) {
					if (!isxdigit((unsigned char)*ps->p))
						return -1;
					v = v * 16 + (unsigned)(isdigit((unsigned char)*ps->p) ?
						*ps->p - '0' : (tolower((unsigned char)*ps->p) - 'a' + 10));
				}
				c = v < 0x80 && v != 0 ? (unsigned char)v : '?';
				break;
			default:
				return -1;
			}
		}
		if (out) {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = (char)c;
		}
	}
	if (out)
		out[n] = '\0';
	return 0;
}

static bool at(const struct parser *ps, int level, const char *key)
{
	return ps->key[level] && ps->keylen[level] == strlen(key) &&
	       !memcmp(ps->key[level], key, ps->keylen[level]);
}

static int to_u64(const char *tok, uint64_t *v)
{
	char *end;

	if (!isdigit((unsigned char)tok[0]))
		return -1;
	errno = 0;
	*v = strtoull(tok, &end, 10);
	return errno || *end ? -1 : 0;
}

static int to_int(const char *tok, int *v)
{
	uint64_t u;

	if (to_u64(tok, &u) < 0 || u > INT32_MAX)
		return -1;
	*v = (int)u;
	return 0;
}

static int to_double(const char *tok, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(tok, &end);
	return errno || *end || end == tok ? -1 : 0;
}

/* A value inside disk[i] (depth 3, or 4 in "worker_thread"): every known
 * key needs its own type; unknown keys are ignored. */
static int assign_disk(struct parser *ps, struct disk_snapshot *k, const char *tok,
		       enum jtype t)
{
	int d = ps->depth;

	if (at(ps, 2, "worker_thread")) {
		if (d == 3)
			return -1;   /* an object, not a scalar */
		if (d == 4 && at(ps, 3, "tid"))
			return t == J_NUM ? to_int(tok, &k->worker_tid) : -1;
		if (d == 4 && at(ps, 3, "cpu_s"))
			return t == J_NUM ? to_double(tok, &k->worker_cpu_s) : -1;
		return 0;
	}
	if (d != 3)
		return 0;
	if (at(ps, 2, "path") || at(ps, 2, "format") || at(ps, 2, "dev")) {
		char *dst = at(ps, 2, "path") ? k->path : k->format;
		size_t cap = at(ps, 2, "path") ? sizeof(k->path) : sizeof(k->format);

		if (t != J_STR)
			return -1;
		if (at(ps, 2, "dev"))
			return 0;    /* follows from the index */
		if (strlen(tok) >= cap)
			return -1;
		strcpy(dst, tok);
		return 0;
	}
	if (at(ps, 2, "read_only") || at(ps, 2, "seed")) {
		if (t != J_BOOL)
			return -1;
		*(at(ps, 2, "seed") ? &k->seed : &k->read_only) = tok[0] == 't';
		return 0;
	}
	if (at(ps, 2, "index"))
		return t != J_NUM || to_int(tok, &k->index) < 0 || k->index >= STATS_MAX_DISKS ?
		       -1 : 0;
	if (at(ps, 2, "size_bytes"))
		return t == J_NUM ? to_u64(tok, &k->size_bytes) : -1;
	for (size_t i = 0; i < STATS_BLK_NR; i++)
		if (at(ps, 2, stats__blk_key[i].key))
			return t == J_NUM ? to_u64(tok, (uint64_t *)((char *)&k->blk +
							     stats__blk_key[i].off)) : -1;
	return 0;
}

/* A number in nic[i].by_datapath.DATAPATH (depth 5): any known counter
 * makes the split known, the others stay 0. */
static int assign_by_datapath(struct parser *ps, struct nic_snapshot *n, const char *tok)
{
	static const struct { const char *key; size_t off; } counts[] = {
		{ "rx_packets", offsetof(struct tap_counts, rx_packets) },
		{ "rx_bytes", offsetof(struct tap_counts, rx_bytes) },
		{ "tx_packets", offsetof(struct tap_counts, tx_packets) },
		{ "tx_bytes", offsetof(struct tap_counts, tx_bytes) },
	};

	for (int dp = 0; dp < NET_DP_NR; dp++) {
		if (!at(ps, 3, stats__datapath_key[dp]))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
			if (!at(ps, 4, counts[i].key))
				continue;
			n->by_datapath_known = true;
			return to_u64(tok, (uint64_t *)((char *)&n->by_datapath[dp] +
							counts[i].off));
		}
	}
	return 0;
}

/* A value in nic[i].queues[j] (depth 5 and 6): numbers only. */
static int assign_queue(struct parser *ps, struct queue_snapshot *q, const char *tok,
			enum jtype t)
{
	static const struct { const char *key; size_t off; } flat[] = {
		{ "rx_packets", offsetof(struct net_queue_stats, rx_packets) },
		{ "rx_bytes", offsetof(struct net_queue_stats, rx_bytes) },
		{ "tx_packets", offsetof(struct net_queue_stats, tx_packets) },
		{ "tx_bytes", offsetof(struct net_queue_stats, tx_bytes) },
	};
	int d = ps->depth;

	if (t == J_STR)
		return 0;
	for (size_t i = 0; d == 5 && i < ARRAY_SIZE(flat); i++)
		if (at(ps, 4, flat[i].key))
			return to_u64(tok, (uint64_t *)((char *)&q->net + flat[i].off));
	if (d == 6 && (at(ps, 4, "kicks") || at(ps, 4, "interrupts"))) {
		bool kick = at(ps, 4, "kicks");

		if (at(ps, 5, "rx"))
			return to_u64(tok, kick ? &q->net.rx_kicks : &q->net.rx_interrupts);
		if (at(ps, 5, "tx"))
			return to_u64(tok, kick ? &q->net.tx_kicks : &q->net.tx_interrupts);
	}
	if (d == 6 && (at(ps, 4, "vhost_thread") || at(ps, 4, "thread"))) {
		bool vh = at(ps, 4, "vhost_thread");

		if (at(ps, 5, "tid"))
			return to_int(tok, vh ? &q->vhost_tid : &q->thread_tid);
		if (at(ps, 5, "cpu_s"))
			return to_double(tok, vh ? &q->vhost_cpu_s : &q->thread_cpu_s);
	}
	return 0;
}

/* One value at the current path: store it if the path is known. Numeric
 * fields need a number, text fields a string ('t' says what it was). */
static int assign(struct parser *ps, const char *tok, enum jtype t)
{
	struct vm_snapshot *s = ps->s;
	int d = ps->depth;
	bool str = t == J_STR;

	if (d == 1) {
		if (at(ps, 0, "name") || at(ps, 0, "state")) {
			char *dst = at(ps, 0, "name") ? s->name : s->state;
			size_t cap = at(ps, 0, "name") ? sizeof(s->name) : sizeof(s->state);

			if (!str || strlen(tok) >= cap)
				return -1;
			strcpy(dst, tok);
			return 0;
		}
		if (str)
			return at(ps, 0, "pid") || at(ps, 0, "vcpus") || at(ps, 0, "mem_bytes") ||
			       at(ps, 0, "uptime_s") || at(ps, 0, "console_client") ? -1 : 0;
		if (at(ps, 0, "pid"))
			return to_int(tok, &s->pid);
		if (at(ps, 0, "vcpus"))
			return to_int(tok, &s->nr_vcpus) < 0 || s->nr_vcpus > STATS_MAX_VCPUS ? -1 : 0;
		if (at(ps, 0, "mem_bytes"))
			return to_u64(tok, &s->mem_bytes);
		if (at(ps, 0, "uptime_s"))
			return to_double(tok, &s->uptime_s);
		if (at(ps, 0, "console_client"))
			return to_int(tok, &s->console_client);
		return 0;
	}
	if (d == 2 && at(ps, 0, "io_thread")) {
		if (at(ps, 1, "tid"))
			return str ? -1 : to_int(tok, &s->io_tid);
		if (at(ps, 1, "cpu_s"))
			return str ? -1 : to_double(tok, &s->io_cpu_s);
		return 0;
	}
	if (d == 2 && at(ps, 0, "guest_log")) {
		if (at(ps, 1, "lines"))
			return str ? -1 : to_u64(tok, &s->guest_log_lines);
		if (at(ps, 1, "suppressed"))
			return str ? -1 : to_u64(tok, &s->guest_log_suppressed);
		return 0;
	}
	if (d >= 3 && at(ps, 0, "vcpu") && !ps->key[1]) {
		struct vcpu_snapshot *v = &s->vcpu[ps->idx[1]];

		if (str)
			return 0;
		if (d == 3 && at(ps, 2, "tid"))
			return to_int(tok, &v->tid);
		if (d == 3 && at(ps, 2, "cpu_s"))
			return to_double(tok, &v->cpu_s);
		if (d == 4 && at(ps, 2, "kvm_exits")) {
			for (int k = 0; k < KVM_STAT_NR; k++)
				if (at(ps, 3, stats__kvm_key[k]))
					return to_u64(tok, &v->kvm[k]);
		}
		if (d == 4 && at(ps, 2, "user_exits")) {
			if (at(ps, 3, "io"))
				return to_u64(tok, &v->exits_io);
			if (at(ps, 3, "mmio"))
				return to_u64(tok, &v->exits_mmio);
			if (at(ps, 3, "hlt"))
				return to_u64(tok, &v->exits_hlt);
			if (at(ps, 3, "other"))
				return to_u64(tok, &v->exits_other);
			if (at(ps, 3, "total"))
				return to_u64(tok, &v->exits_total);
		}
		return 0;
	}
	if (d >= 3 && at(ps, 0, "disk") && !ps->key[1])
		return assign_disk(ps, &s->disk[ps->idx[1]], tok, t);
	if (d >= 3 && at(ps, 0, "nic") && !ps->key[1]) {
		struct nic_snapshot *n = &s->nic[ps->idx[1]];
		struct net_dev_stats *st = &n->net;
		static const struct { const char *key; size_t off; } flat[] = {
			{ "rx_packets", offsetof(struct net_dev_stats, rx_packets) },
			{ "rx_bytes", offsetof(struct net_dev_stats, rx_bytes) },
			{ "rx_filtered", offsetof(struct net_dev_stats, rx_filtered) },
			{ "rx_dropped", offsetof(struct net_dev_stats, rx_dropped) },
			{ "tx_packets", offsetof(struct net_dev_stats, tx_packets) },
			{ "tx_bytes", offsetof(struct net_dev_stats, tx_bytes) },
			{ "tx_dropped", offsetof(struct net_dev_stats, tx_dropped) },
			{ "needs_reset", offsetof(struct net_dev_stats, needs_reset) },
		};

		s->nr_nics = MAX(s->nr_nics, ps->idx[1] + 1);
		if (d >= 5 && at(ps, 2, "queues") && !ps->key[3])
			return assign_queue(ps, &n->queue[ps->idx[3]], tok, t);
		if (d == 3 && at(ps, 2, "tap")) {
			if (!str || strlen(tok) >= sizeof(n->tap))
				return -1;
			strcpy(n->tap, tok);
			return 0;
		}
		if (d == 3 && at(ps, 2, "datapath")) {
			if (!str)
				return -1;
			n->vhost = !strcmp(tok, "vhost-net");
			return 0;
		}
		if (str)
			return 0;
		if (d == 3 && at(ps, 2, "index"))
			return to_int(tok, &n->index);
		if (d == 3 && at(ps, 2, "switches"))
			return to_u64(tok, &n->switches);
		for (size_t i = 0; d == 3 && i < ARRAY_SIZE(flat); i++)
			if (at(ps, 2, flat[i].key))
				return to_u64(tok, (uint64_t *)((char *)st + flat[i].off));
		if (d == 4 && (at(ps, 2, "kicks") || at(ps, 2, "interrupts"))) {
			bool kick = at(ps, 2, "kicks");

			if (at(ps, 3, "rx"))
				return to_u64(tok, kick ? &st->rx_kicks : &st->rx_interrupts);
			if (at(ps, 3, "tx"))
				return to_u64(tok, kick ? &st->tx_kicks : &st->tx_interrupts);
			if (at(ps, 3, "ctrl"))
				return to_u64(tok, kick ? &st->ctrl_kicks : &st->ctrl_interrupts);
		}
		if (d == 4 && at(ps, 2, "vhost_thread")) {
			if (at(ps, 3, "tid"))
				return to_int(tok, &n->vhost_tid);
			if (at(ps, 3, "cpu_s"))
				return to_double(tok, &n->vhost_cpu_s);
		}
		if (d == 5 && at(ps, 2, "by_datapath"))
			return assign_by_datapath(ps, n, tok);
	}
	return 0;
}

static int parse_value(struct parser *ps);

/* A NIC's "queues" (nic[i].queues). */
static bool queues_array(const struct parser *ps)
{
	return ps->depth == 3 && at(ps, 0, "nic") && !ps->key[1] && at(ps, 2, "queues");
}

/* "vcpu", "nic" and "disk" directly under the top object, and a NIC's
 * "queues", must be arrays of objects. */
static bool known_array(const struct parser *ps)
{
	return (ps->depth == 1 && (at(ps, 0, "vcpu") || at(ps, 0, "nic") || at(ps, 0, "disk"))) ||
	       queues_array(ps);
}

/* Arrays are only meaningful as the known ones, where their length is
 * bounded (a NIC or disk counts from its element); elsewhere their
 * elements are parsed and ignored. */
static int parse_array(struct parser *ps)
{
	int max = INT32_MAX, *count = NULL;
	bool known = known_array(ps);

	if (ps->depth == 1 && at(ps, 0, "vcpu")) {
		max = STATS_MAX_VCPUS;
	} else if (ps->depth == 1 && at(ps, 0, "nic")) {
		max = STATS_MAX_NICS;
		count = &ps->s->nr_nics;
	} else if (ps->depth == 1 && at(ps, 0, "disk")) {
		max = STATS_MAX_DISKS;
		count = &ps->s->nr_disks;
	} else if (queues_array(ps)) {
		max = STATS_MAX_QUEUES;
		count = &ps->s->nic[ps->idx[1]].nr_queues;
	}
	ps->p++;
	skip_ws(ps);
	if (*ps->p == ']') {
		ps->p++;
		return 0;
	}
	for (int i = 0;; i++) {
		if (i >= max)
			return -1;
		skip_ws(ps);
		if (known && *ps->p != '{')
			return -1;
		if (count)
			*count = MAX(*count, i + 1);
		ps->key[ps->depth] = NULL;
		ps->idx[ps->depth] = i;
		ps->depth++;
		if (parse_value(ps) < 0)
			return -1;
		ps->depth--;
		skip_ws(ps);
		if (*ps->p == ']') {
			ps->p++;
			return 0;
		}
		if (*ps->p++ != ',')
			return -1;
	}
}

static int parse_object(struct parser *ps)
{
	ps->p++;
	skip_ws(ps);
	if (*ps->p == '}') {
		ps->p++;
		return 0;
	}
	for (;;) {
		const char *k;

		skip_ws(ps);
		k = ps->p + 1;
		if (parse_string(ps, NULL, 0) < 0)
			return -1;
		ps->key[ps->depth] = k;
		ps->keylen[ps->depth] = (size_t)(ps->p - 1 - k);  /* raw; our keys need no escapes */
		skip_ws(ps);
		if (*ps->p++ != ':')
			return -1;
		ps->depth++;
		if (parse_value(ps) < 0)
			return -1;
		ps->depth--;
		skip_ws(ps);
		if (*ps->p == '}') {
			ps->p++;
			return 0;
		}
		if (*ps->p++ != ',')
			return -1;
	}
}

static int parse_value(struct parser *ps)
{
	char tok[JSON_TOKEN_MAX];
	size_t n = 0;

	skip_ws(ps);
	if (known_array(ps) && *ps->p != '[')
		return -1;
	if (*ps->p == '{' || *ps->p == '[') {
		if (ps->depth >= JSON_MAX_DEPTH)
			return -1;
		return *ps->p == '{' ? parse_object(ps) : parse_array(ps);
	}
	if (ps->depth == 0)
		return -1;  /* the top level must be an object */
	if (*ps->p == '"')
		return parse_string(ps, tok, sizeof(tok)) < 0 ? -1 : assign(ps, tok, J_STR);
	while (isalnum((unsigned char)*ps->p) || *ps->p == '.' || *ps->p == '-' || *ps->p == '+') {
		if (n + 1 >= sizeof(tok))
			return -1;
		tok[n++] = *ps->p++;
	}
	tok[n] = '\0';
	if (!n)
		return -1;
	if (!strcmp(tok, "null"))
		return 0;
	if (!strcmp(tok, "true") || !strcmp(tok, "false"))
		return assign(ps, tok, J_BOOL);
	if (!isdigit((unsigned char)tok[0]) && tok[0] != '-')
		return -1;
	return assign(ps, tok, J_NUM);
}

int stats__from_json(const char *json, struct vm_snapshot *out)
{
	struct parser ps = { .p = json, .s = out };

	memset(out, 0, sizeof(*out));
	skip_ws(&ps);
	if (*ps.p != '{' || parse_value(&ps) < 0)
		return -1;
	skip_ws(&ps);
	if (*ps.p != '\0' || out->nr_nics > STATS_MAX_NICS || out->nr_disks > STATS_MAX_DISKS)
		return -1;
	return 0;
}
