/* test_stats.c — VM snapshots: JSON keys and a lossless round trip, the
 * largest snapshot fitting STATS_JSON_MAX, malformed or oversized JSON
 * refused by the parser, the human views, and the /proc helpers (thread
 * CPU time; finding a "vhost-OWNER" thread, here one of our own threads
 * named like the worker Linux 6.4+ creates inside the owner process). */
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

static void fill(struct vm_snapshot *s, int nv, int nn, uint64_t base)
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
	};
	int n;

	fill(&a, 2, 2, 7);
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
	assert_memory_equal(&a, &b, sizeof(a));
}

/* Every field at its widest still fits the documented bound. */
static void test_json_largest(void **state)
{
	static struct vm_snapshot a, b;
	static char buf[STATS_JSON_MAX];

	fill(&a, STATS_MAX_VCPUS, STATS_MAX_NICS, UINT64_MAX - 100000);
	for (size_t i = 0; i < sizeof(a.name) - 1; i++)
		a.name[i] = 'n';
	a.uptime_s = 1e9;
	assert_true(stats__json(&a, buf, sizeof(buf)) > 0);
	assert_int_equal(stats__from_json(buf, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
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
	/* Unknown keys, values and nesting are skipped. */
	assert_int_equal(stats__from_json(" {\"future\":{\"x\":[1,2.5e3,true,null,\"s\"]},"
					  "\"pid\":7,\"name\":\"\\u0041b\"} ", &s), 0);
	assert_int_equal(s.pid, 7);
	assert_string_equal(s.name, "Ab");
	assert_int_equal(stats__from_json("{}", &s), 0);
}

static void test_human(void **state)
{
	static struct vm_snapshot a;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	fill(&a, 2, 2, 7);
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
	free(text);
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
		cmocka_unit_test(test_thread_cpu),
		cmocka_unit_test(test_find_vhost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
