/* test_stats.c — VM snapshots: JSON keys and a lossless round trip (disk
 * paths with quotes, backslashes and control bytes included), the largest
 * snapshot (every NIC with STATS_MAX_QUEUES pairs) fitting
 * STATS_JSON_MAX, malformed or oversized JSON (disk
 * entries included) refused by the parser, paths cut at a UTF-8 boundary
 * and non-UTF-8 bytes written as U+FFFD, the human views (a NIC's
 * packets and bytes per datapath among them), and the /proc
 * helpers (thread CPU time; finding a "vhost-OWNER" thread, here one of
 * our own threads named like the worker Linux 6.4+ creates inside the
 * owner process). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vmm/stats.h"

static void fill(struct vm_snapshot *s, int nv, int nn, int nd, uint64_t base)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "demo-1");
	snprintf(s->state, sizeof(s->state), "running");
	s->pid = 4242;
	s->nr_vcpus = nv;
	s->mem_bytes = 512ULL << 20;
	s->uptime_s = 12.5;
	s->io_tid = 4243;
	s->io_cpu_s = 0.25;
	s->guest_log_lines = base + 77;
	s->guest_log_suppressed = base + 66;
	for (int i = 0; i < nv; i++) {
		struct vcpu_snapshot *v = &s->vcpu[i];

		v->tid = 5000 + i;
		v->cpu_s = 1.125 + i;
		for (int k = 0; k < KVM_STAT_NR; k++)
			v->kvm[k] = base + 100 * (uint64_t)i + (uint64_t)k;
		v->exits_io = base + 1;
		v->exits_mmio = base + 2;
		v->exits_hlt = base + 3;
		v->exits_other = base + 4;
		v->exits_total = base + 10;
	}
	s->nr_nics = nn;
	for (int i = 0; i < nn; i++) {
		struct nic_snapshot *n = &s->nic[i];
		uint64_t *c = (uint64_t *)&n->net;

		n->index = i;
		snprintf(n->tap, sizeof(n->tap), "tap\"\\%d", i & 7);  /* needs escaping */
		n->vhost = i % 2;
		for (size_t j = 0; j < sizeof(n->net) / sizeof(uint64_t); j++)
			c[j] = base + 1000 * (uint64_t)i + j;
		n->vhost_tid = n->vhost ? 7000 + i : 0;
		n->vhost_cpu_s = n->vhost ? 3.5 : 0;
		/* the odd NICs' taps could not be read */
		n->by_datapath_known = !(i % 2);
		for (int d = 0; d < NET_DP_NR && n->by_datapath_known; d++) {
			uint64_t *t = (uint64_t *)&n->by_datapath[d];

			for (size_t j = 0; j < sizeof(n->by_datapath[d]) / sizeof(uint64_t); j++)
				t[j] = base + 100000 * (uint64_t)i + 10 * (uint64_t)d + j;
		}
	}
	s->nr_disks = nd;
	for (int i = 0; i < nd; i++) {
		struct disk_snapshot *d = &s->disk[i];
		uint64_t *c = (uint64_t *)&d->blk;

		d->index = i;
		/* User data: a quote, a backslash, a newline, a tab. */
		snprintf(d->path, sizeof(d->path), "/img/\"q\"\\b\n\t%d.qcow2", i);
		snprintf(d->format, sizeof(d->format), "%s", i ? "raw" : "qcow2");
		d->read_only = i % 2;
		d->seed = i == nd - 1;
		d->size_bytes = (20ULL << 30) + (uint64_t)i;
		for (size_t j = 0; j < sizeof(d->blk) / sizeof(uint64_t); j++)
			c[j] = base + 10000 * (uint64_t)i + j;
		d->worker_tid = i ? 8000 + i : 0;
		d->worker_cpu_s = i ? 0.75 + i : 0;
	}
}

static void test_json_keys_and_round_trip(void **state)
{
	static struct vm_snapshot a, b;
	static char buf[STATS_JSON_MAX];
	static const char *const keys[] = {
		"\"name\":\"demo-1\"", "\"pid\":4242", "\"state\":\"running\"", "\"vcpus\":2",
		"\"mem_bytes\":536870912", "\"uptime_s\":12.500",
		"\"io_thread\":{\"tid\":4243,\"cpu_s\":0.250}", "\"kvm_exits\":{\"exits\":",
		"\"irq_window\":", "\"signal\":", "\"user_exits\":{\"io\":", "\"total\":",
		"\"tap\":\"tap\\\"\\\\0\"", "\"datapath\":\"userspace\"",
		"\"datapath\":\"vhost-net\"", "\"rx_packets\":", "\"tx_bytes\":",
		"\"kicks\":{\"rx\":", "\"interrupts\":{\"rx\":",
		"\"vhost_thread\":{\"tid\":7001,\"cpu_s\":3.500}",
		"\"vhost_thread\":{\"tid\":0,\"cpu_s\":0.000}",
		"\"disk\":[{\"index\":0,\"dev\":\"vda\","
		"\"path\":\"/img/\\\"q\\\"\\\\b\\u000a\\u00090.qcow2\",\"format\":\"qcow2\","
		"\"read_only\":false,\"seed\":false,\"size_bytes\":21474836480,\"reads\":7,",
		"\"dev\":\"vdb\"", "\"read_only\":true,\"seed\":true", "\"interrupts\":10018,",
		"\"write_zeroes\":10011,", "\"bytes_written\":10015,",
		"\"worker_thread\":{\"tid\":8001,\"cpu_s\":1.750}}]}",
		"\"worker_thread\":{\"tid\":0,\"cpu_s\":0.000}",
		/* refused guest actions */
		"\"guest_log\":{\"lines\":84,\"suppressed\":73}", "\"tx_dropped\":13,\"needs_reset\":20,",
		"\"needs_reset\":10019,\"refused_writes\":10020,",
		/* per datapath, from the tap: left out where it was not read */
		"\"vhost_thread\":{\"tid\":0,\"cpu_s\":0.000},\"by_datapath\":{"
		"\"userspace\":{\"rx_packets\":7,\"rx_bytes\":8,\"tx_packets\":9,\"tx_bytes\":10},"
		"\"vhost-net\":{\"rx_packets\":17,\"rx_bytes\":18,\"tx_packets\":19,"
		"\"tx_bytes\":20}},\"queues\":[]},",
		"\"vhost_thread\":{\"tid\":7001,\"cpu_s\":3.500},\"queues\":[]}],\"disk\":",
	};
	int n;

	fill(&a, 2, 2, 2, 7);
	n = stats__json(&a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_null(strchr(buf, '\n'));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strstr(buf, keys[i]))
			fail_msg("key %s missing in %s", keys[i], buf);
	}
	assert_int_equal(stats__from_json(buf, &b), 0);
	assert_string_equal(b.name, "demo-1");
	assert_string_equal(b.nic[0].tap, "tap\"\\0");
	assert_int_equal(b.nr_vcpus, 2);
	assert_int_equal(b.nr_nics, 2);
	assert_true(b.nic[1].vhost && !b.nic[0].vhost);
	assert_int_equal(b.vcpu[1].kvm[KVM_STAT_SIGNAL_EXITS], 7 + 100 + KVM_STAT_SIGNAL_EXITS);
	assert_int_equal(b.nic[1].net.ctrl_interrupts, a.nic[1].net.ctrl_interrupts);
	assert_int_equal(b.nr_disks, 2);
	assert_string_equal(b.disk[0].path, "/img/\"q\"\\b\n\t0.qcow2");
	assert_string_equal(b.disk[1].format, "raw");
	assert_true(b.disk[1].read_only && b.disk[1].seed && !b.disk[0].seed);
	assert_int_equal(b.disk[1].blk.interrupts, 7 + 10000 + 11);
	assert_int_equal(b.disk[1].worker_tid, 8001);
	assert_true(b.nic[0].by_datapath_known && !b.nic[1].by_datapath_known);
	assert_int_equal(b.nic[0].by_datapath[NET_DP_VHOST].tx_bytes, 20);
	assert_memory_equal(&a, &b, sizeof(a));
	/* No disks: an empty array, read back as none. */
	fill(&a, 1, 0, 0, 7);
	assert_true(stats__json(&a, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"nic\":[],\"disk\":[]}"));
	assert_int_equal(stats__from_json(buf, &b), 0);
	assert_int_equal(b.nr_disks, 0);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void fill_str(char *dst, size_t size, char c)
{
	memset(dst, c, size - 1);
	dst[size - 1] = '\0';
}

/* Every field at its widest still fits the documented bound. */
static void test_json_largest(void **state)
{
	static struct vm_snapshot a, b;
	static char buf[STATS_JSON_MAX];
	int n;

	/* The largest snapshot the parser accepts back: lossless. Control
	 * bytes are the longest to write (\u0001: six bytes each). */
	fill(&a, STATS_MAX_VCPUS, STATS_MAX_NICS, STATS_MAX_DISKS, UINT64_MAX - 100000);
	fill_str(a.name, sizeof(a.name), 1);
	fill_str(a.state, sizeof(a.state), 1);
	for (int i = 0; i < STATS_MAX_NICS; i++) {
		fill_str(a.nic[i].tap, sizeof(a.nic[i].tap), 1);
		a.nic[i].by_datapath_known = true;
		memset(a.nic[i].by_datapath, 0xfe, sizeof(a.nic[i].by_datapath));
		a.nic[i].nr_queues = STATS_MAX_QUEUES;
		for (int q = 0; q < STATS_MAX_QUEUES; q++) {
			memset(&a.nic[i].queue[q].net, 0xfe, sizeof(a.nic[i].queue[q].net));
			a.nic[i].queue[q].vhost_tid = INT32_MAX;
			a.nic[i].queue[q].vhost_cpu_s = 1e15;
		}
	}
	for (int i = 0; i < STATS_MAX_DISKS; i++) {
		fill_str(a.disk[i].path, sizeof(a.disk[i].path), 1);
		fill_str(a.disk[i].format, sizeof(a.disk[i].format), 1);
		a.disk[i].worker_tid = INT32_MAX;
		a.disk[i].worker_cpu_s = 1e15;
	}
	a.uptime_s = 1e15;
	a.pid = a.io_tid = INT32_MAX;
	n = stats__json(&a, buf, sizeof(buf));
	assert_true(n > 0);
	print_message("largest JSON: %d of %d bytes\n", n, STATS_JSON_MAX);
	assert_int_equal(stats__from_json(buf, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));

	/* Anything a snapshot can hold, even what no VM reports (negative
	 * indexes, absurd times, every counter at UINT64_MAX), still fits. */
	for (int i = 0; i < STATS_MAX_VCPUS; i++) {
		memset(a.vcpu[i].kvm, 0xff, sizeof(a.vcpu[i].kvm));
		a.vcpu[i].exits_io = a.vcpu[i].exits_mmio = a.vcpu[i].exits_hlt = UINT64_MAX;
		a.vcpu[i].exits_other = a.vcpu[i].exits_total = UINT64_MAX;
		a.vcpu[i].tid = INT32_MAX;
		a.vcpu[i].cpu_s = 1e300;
	}
	for (int i = 0; i < STATS_MAX_NICS; i++) {
		memset(&a.nic[i].net, 0xff, sizeof(a.nic[i].net));
		memset(a.nic[i].by_datapath, 0xff, sizeof(a.nic[i].by_datapath));
		a.nic[i].index = INT32_MIN;
		a.nic[i].vhost_tid = INT32_MAX;
		a.nic[i].vhost_cpu_s = 1e300;
		for (int q = 0; q < STATS_MAX_QUEUES; q++) {
			memset(&a.nic[i].queue[q].net, 0xff, sizeof(a.nic[i].queue[q].net));
			a.nic[i].queue[q].vhost_cpu_s = 1e300;
		}
	}
	for (int i = 0; i < STATS_MAX_DISKS; i++) {
		memset(&a.disk[i].blk, 0xff, sizeof(a.disk[i].blk));
		a.disk[i].size_bytes = UINT64_MAX;
		a.disk[i].index = INT32_MIN;
		a.disk[i].worker_cpu_s = 1e300;
	}
	a.mem_bytes = UINT64_MAX;
	a.uptime_s = 1e300;
	n = stats__json(&a, buf, sizeof(buf));
	assert_true(n > 0);
	print_message("widest JSON: %d of %d bytes\n", n, STATS_JSON_MAX);
	assert_non_null(strstr(buf, "\"cpu_s\":1000000000000000.000"));
	/* Too small a buffer: -1 and an empty string, never a partial object. */
	assert_int_equal(stats__json(&a, buf, 100), -1);
	assert_string_equal(buf, "");
}

static void test_json_refused(void **state)
{
	static struct vm_snapshot s;
	static char big[4096];
	static const char *const bad[] = {
		"", "   ", "[]", "{", "{\"pid\":1", "{\"pid\":1}x", "{\"pid\":-1}",
		"{\"pid\":\"1\"}", "{\"name\":5}", "{\"pid\":1,}", "{\"pid\" 1}",
		"{\"name\":\"a\nb\"}", "{\"name\":\"\\x\"}", "{\"vcpus\":65}",
		"{\"mem_bytes\":18446744073709551616}", "{\"pid\":99999999999}",
		"{\"vcpu\":[{},{},{}],\"vcpus\":1,\"x\":tru}", "{\"nic\":[{},{},{},{},{}]}",
		"{\"a\":[[[[[[[[[[1]]]]]]]]]]}", "{\"state\":\"a-very-long-state-string\"}",
		"{\"nic\":[{\"tap\":\"0123456789abcdef\"}]}", "\"text\"", "12",
		/* Malformed disks. */
		"{\"disk\":{}}", "{\"disk\":5}", "{\"disk\":[1]}", "{\"disk\":[[]]}",
		"{\"disk\":[{},{},{},{},{},{}]}", "{\"disk\":[{\"path\":5}]}",
		"{\"disk\":[{\"path\":true}]}", "{\"disk\":[{\"format\":\"0123456789abcdef\"}]}",
		"{\"disk\":[{\"dev\":1}]}", "{\"disk\":[{\"read_only\":1}]}",
		"{\"disk\":[{\"seed\":\"true\"}]}", "{\"disk\":[{\"index\":-1}]}",
		"{\"disk\":[{\"index\":5}]}", "{\"disk\":[{\"index\":true}]}",
		"{\"disk\":[{\"size_bytes\":-1}]}", "{\"disk\":[{\"size_bytes\":1.5}]}",
		"{\"disk\":[{\"reads\":\"1\"}]}", "{\"disk\":[{\"reads\":true}]}",
		"{\"disk\":[{\"bytes_read\":18446744073709551616}]}",
		"{\"disk\":[{\"worker_thread\":5}]}",
		"{\"disk\":[{\"worker_thread\":{\"tid\":\"1\"}}]}",
		"{\"disk\":[{\"worker_thread\":{\"cpu_s\":false}}]}",
		"{\"disk\":[{\"path\":\"a\nb\"}]}", "{\"disk\":[{\"path\":\"a\",}]}",
		"{\"disk\":[{\"path\":\"a\"},]}", "{\"disk\":[{\"path\":\"a}]}",
		"{\"vcpu\":{}}", "{\"nic\":[\"x\"]}",
		"{\"nic\":[{\"by_datapath\":{\"vhost-net\":{\"tx_bytes\":-1}}}]}",
		"{\"nic\":[{\"by_datapath\":{\"userspace\":{\"rx_packets\":1.5}}}]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (stats__from_json(bad[i], &s) != -1)
			fail_msg("accepted: %s", bad[i]);
	}
	/* 65 vCPU entries: one more than any VM can have. */
	strcpy(big, "{\"vcpu\":[");
	for (int i = 0; i <= STATS_MAX_VCPUS; i++)
		strcat(big, i ? ",{}" : "{}");
	strcat(big, "]}");
	assert_int_equal(stats__from_json(big, &s), -1);
	/* A name longer than --name allows. */
	memset(big, 0, sizeof(big));
	strcpy(big, "{\"name\":\"");
	memset(big + strlen(big), 'a', STATS_NAME_MAX + 1);
	strcat(big, "\"}");
	assert_int_equal(stats__from_json(big, &s), -1);
	/* A path longer than STATS_PATH_MAX - 1 bytes; one that fits is taken. */
	for (size_t len = STATS_PATH_MAX - 1; len <= STATS_PATH_MAX; len++) {
		memset(big, 0, sizeof(big));
		strcpy(big, "{\"disk\":[{\"path\":\"");
		memset(big + strlen(big), 'p', len);
		strcat(big, "\"}]}");
		assert_int_equal(stats__from_json(big, &s), len < STATS_PATH_MAX ? 0 : -1);
	}
	assert_int_equal(strlen(s.disk[0].path), 0);
	/* Unknown disk keys skipped; an empty entry still counts. */
	assert_int_equal(stats__from_json("{\"disk\":[{},{\"index\":1,\"future\":[true],"
					  "\"seed\":true,\"worker_thread\":{\"x\":1}}]}", &s), 0);
	assert_int_equal(s.nr_disks, 2);
	assert_true(s.disk[1].seed && s.disk[1].index == 1);
	/* Unknown keys, values and nesting are skipped. */
	assert_int_equal(stats__from_json(" {\"future\":{\"x\":[1,2.5e3,true,null,\"s\"]},"
					  "\"pid\":7,\"name\":\"\\u0041b\"} ", &s), 0);
	assert_int_equal(s.pid, 7);
	assert_string_equal(s.name, "Ab");
	assert_int_equal(stats__from_json("{}", &s), 0);
	/* by_datapath: unknown datapaths and keys skipped, a string ignored
	 * (as for a NIC's other counters); one known counter makes it known. */
	assert_int_equal(stats__from_json("{\"nic\":[{\"by_datapath\":{\"future\":"
					  "{\"rx_packets\":1},\"userspace\":{\"rx_bytes\":\"x\"}}},"
					  "{\"by_datapath\":{\"vhost-net\":{\"tx_bytes\":5,"
					  "\"x\":1}}}]}", &s), 0);
	assert_int_equal(s.nr_nics, 2);
	assert_false(s.nic[0].by_datapath_known);
	assert_true(s.nic[1].by_datapath_known);
	assert_int_equal(s.nic[1].by_datapath[NET_DP_VHOST].tx_bytes, 5);
	assert_int_equal(s.nic[1].by_datapath[NET_DP_USERSPACE].tx_bytes, 0);
}

static void test_human(void **state)
{
	static struct vm_snapshot a;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	fill(&a, 2, 2, 2, 7);
	a.disk[0].path[1] = '\033';   /* a terminal escape: never written raw */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	stats__print_list_header(f);
	stats__print_list_row(f, &a);
	stats__print_human(f, &a);
	fclose(f);
	assert_non_null(strstr(text, "NAME"));
	assert_non_null(strstr(text, "demo-1"));
	assert_non_null(strstr(text, "512M"));
	assert_non_null(strstr(text, "(userspace)"));
	assert_non_null(strstr(text, "(vhost-net)"));
	assert_non_null(strstr(text, "vcpu1"));
	assert_non_null(strstr(text, "vhost thread 7001"));
	assert_non_null(strstr(text, "kicks rx"));
	assert_non_null(strstr(text, "DISKS"));
	assert_non_null(strstr(text, " 1+seed "));
	assert_non_null(strstr(text, "vda: /?mg/\"q\"\\b??0.qcow2 (qcow2, 20G, read-write)\n"));
	assert_non_null(strstr(text, "vdb: "));
	assert_non_null(strstr(text, "(raw, 21474836481B, read-only, cloud-init seed), "
				     "worker thread 8001 cpu 1.750 s\n"));
	assert_non_null(strstr(text, "reads 10007 (10014 bytes)  writes 10008 (10015 bytes)"));
	assert_non_null(strstr(text, "unsupported 10013  errors 10016  kicks 10017  interrupts 10018"));
	assert_non_null(strstr(text, "    refused: needs_reset 10019  refused_writes 10020\n"));
	assert_non_null(strstr(text, "guest messages 84 (73 kept quiet by the rate limit)\n"));
	assert_null(strchr(text, '\033'));
	assert_null(strchr(text, '\t'));
	assert_non_null(strstr(text, "    refused: needs_reset 20\n  eth0 by datapath: userspace rx 7 "
				     "pkts 8 B, tx 9 pkts 10 B; vhost-net rx 17 pkts 18 B, tx 19 pkts "
				     "20 B\n"));
	assert_non_null(strstr(text, "  eth1 by datapath: n/a (the tap's counters could not be "
				     "read)\n"));
	free(text);

	/* Traffic in decimal units, one decimal from 1 kB on. */
	fill(&a, 1, 1, 0, 0);
	a.nic[0].by_datapath[NET_DP_USERSPACE] = (struct tap_counts){ 1, 999, 2, 1000 };
	a.nic[0].by_datapath[NET_DP_VHOST] = (struct tap_counts){ 3, 5600000, 4, 999960 };
	text = NULL;
	f = open_memstream(&text, &len);
	assert_non_null(f);
	stats__print_human(f, &a);
	a.nic[0].by_datapath[NET_DP_VHOST].rx_bytes = UINT64_MAX;
	stats__print_human(f, &a);
	fclose(f);
	assert_non_null(strstr(text, "userspace rx 1 pkts 999 B, tx 2 pkts 1.0 kB; vhost-net rx 3 "
				     "pkts 5.6 MB, tx 4 pkts 1.0 MB\n"));
	assert_non_null(strstr(text, "vhost-net rx 3 pkts 18.4 EB,"));
	free(text);

	/* A list row without disks. */
	fill(&a, 1, 0, 0, 7);
	text = NULL;
	f = open_memstream(&text, &len);
	assert_non_null(f);
	stats__print_list_row(f, &a);
	fclose(f);
	assert_non_null(strstr(text, "512M      -  -\n"));
	free(text);
}

static void test_uptime(void **state)
{
	static const struct { double s; const char *want; } cases[] = {
		{ 0, "0.0 s" }, { 12.54, "12.5 s" }, { 59.9, "59.9 s" }, { 60, "1m 00s" },
		{ 187.9, "3m 07s" }, { 3599, "59m 59s" }, { 3600, "1h 00m 00s" },
		{ 7387, "2h 03m 07s" }, { 86400, "1d 00h 00m" }, { 353000, "4d 02h 03m" },
		{ -1, "-1 s" }, { 1e300, "1e+300 s" },
	};
	char buf[48];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		stats__uptime_str(cases[i].s, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want))
			fail_msg("%g s: \"%s\", want \"%s\"", cases[i].s, buf, cases[i].want);
	}
}

/* Paths are cut whole characters at a time; bytes that are not UTF-8 are
 * written as U+FFFD, so the JSON is always valid UTF-8. */
static void test_paths(void **state)
{
	static struct vm_snapshot a, b;
	static char buf[STATS_JSON_MAX], src[2 * STATS_PATH_MAX];
	char dst[STATS_PATH_MAX], dev[4];

	stats__set_path(dst, "/a/b");
	assert_string_equal(dst, "/a/b");
	stats__set_path(dst, NULL);
	assert_string_equal(dst, "");
	/* 254 ASCII bytes then a 2-byte character: it does not fit whole. */
	memset(src, 'x', STATS_PATH_MAX - 2);
	strcpy(src + STATS_PATH_MAX - 2, "\xc3\xa9tail");
	stats__set_path(dst, src);
	assert_int_equal(strlen(dst), STATS_PATH_MAX - 2);
	/* 253 ASCII bytes then it fits. */
	memmove(src, src + 1, strlen(src));
	stats__set_path(dst, src);
	assert_int_equal(strlen(dst), STATS_PATH_MAX - 1);
	assert_memory_equal(dst + STATS_PATH_MAX - 3, "\xc3\xa9", 2);
	/* Invalid bytes count one each. */
	memset(src, 0xff, sizeof(src) - 1);
	src[sizeof(src) - 1] = '\0';
	stats__set_path(dst, src);
	assert_int_equal(strlen(dst), STATS_PATH_MAX - 1);

	fill(&a, 1, 0, 1, 7);
	/* é, 😀, a lone continuation byte, an overlong '/', a surrogate,
	 * a truncated 3-byte sequence. */
	snprintf(a.disk[0].path, sizeof(a.disk[0].path),
		 "\xc3\xa9\xf0\x9f\x98\x80|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82");
	assert_true(stats__json(&a, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"path\":\"\xc3\xa9\xf0\x9f\x98\x80|\\ufffd|\\ufffd\\ufffd|"
				    "\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\""));
	assert_int_equal(stats__from_json(buf, &b), 0);
	assert_string_equal(b.disk[0].path, "\xc3\xa9\xf0\x9f\x98\x80|?|??|???|??");

	assert_string_equal(stats__disk_dev(0, dev), "vda");
	assert_string_equal(stats__disk_dev(25, dev), "vdz");
	assert_string_equal(stats__disk_dev(26, dev), "vd?");
	assert_string_equal(stats__disk_dev(-1, dev), "vd?");
}

static void test_thread_cpu(void **state)
{
	volatile uint64_t x = 0;
	double before = stats__thread_cpu_s(gettid()), after;

	assert_true(before >= 0);
	/* Burn CPU until the clock tick moves (bounded: 20 s of spinning). */
	for (uint64_t i = 0; i < 20000000000ULL; i++) {
		x += i;
		if (!(i & 0xfffff) && stats__thread_cpu_s(gettid()) > before)
			break;
	}
	after = stats__thread_cpu_s(gettid());
	assert_true(after > before);
	assert_true(stats__thread_cpu_s(0) < 0);
	assert_true(stats__thread_cpu_s(-5) < 0);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int done;

static void *idle_thread(void *arg)
{
	pthread_mutex_lock(&lock);
	while (!done)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void test_find_vhost(void **state)
{
	pthread_t t[2];
	pid_t tids[4];
	/* An owner tid that cannot be a real one (above pid_max's limit). */
	const pid_t owner = 4194305;

	assert_int_equal(stats__find_vhost_threads(owner, tids, 4), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_create(&t[i], NULL, idle_thread, NULL), 0);
		assert_int_equal(pthread_setname_np(t[i], "vhost-4194305"), 0);
	}
	assert_int_equal(stats__find_vhost_threads(owner, tids, 4), 2);
	assert_true(tids[0] < tids[1]);
	assert_true(stats__thread_cpu_s(tids[0]) >= 0);
	assert_int_equal(stats__find_vhost_threads(owner, tids, 1), 1);
	assert_int_equal(stats__find_vhost_threads(owner + 1, tids, 4), 0);
	pthread_mutex_lock(&lock);
	done = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_keys_and_round_trip),
		cmocka_unit_test(test_json_largest),
		cmocka_unit_test(test_json_refused),
		cmocka_unit_test(test_human),
		cmocka_unit_test(test_uptime),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_thread_cpu),
		cmocka_unit_test(test_find_vhost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
