/* test_stats_queues.c — a NIC's queue pairs in `vmm stat` (issue 14):
 * "queues" in the JSON and back (a NIC with 2 pairs under vhost, each
 * with its own worker, and a one-pair userspace NIC), malformed or too
 * long queue arrays refused by the parser, and the human view: a line
 * per pair only when a NIC has more than one, kicks and interrupts said
 * to bypass vmm under vhost instead of printed as zeros. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/stats.h"

/* eth0: userspace, one pair; eth1: vhost-net, two pairs with workers. */
static void fill(struct vm_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "mq");
	snprintf(s->state, sizeof(s->state), "running");
	s->nr_vcpus = 1;
	s->nr_nics = 2;
	for (int i = 0; i < 2; i++) {
		struct nic_snapshot *n = &s->nic[i];

		n->index = i;
		snprintf(n->tap, sizeof(n->tap), "vnet%d", i);
		n->vhost = i == 1;
		n->nr_queues = i + 1;
		for (int q = 0; q < n->nr_queues; q++) {
			uint64_t *c = (uint64_t *)&n->queue[q].net;

			for (size_t j = 0; j < sizeof(n->queue[q].net) / sizeof(*c); j++)
				c[j] = 1000 * (uint64_t)i + 100 * (uint64_t)q + j + 1;
			n->queue[q].thread_tid = 800 + 10 * i + q;
			n->queue[q].thread_cpu_s = 0.5 + q;
			if (n->vhost) {
				n->queue[q].vhost_tid = 900 + q;
				n->queue[q].vhost_cpu_s = 0.25 + q;
			}
		}
		n->vhost_tid = n->queue[0].vhost_tid;
		n->vhost_cpu_s = n->queue[0].vhost_cpu_s;
	}
}

static void test_queues_round_trip(void **state)
{
	static struct vm_snapshot a, b;
	static char buf[STATS_JSON_MAX];
	static const char *const keys[] = {
		"\"queues\":[{\"pair\":0,\"rx_packets\":1,\"rx_bytes\":2,\"tx_packets\":3,"
		"\"tx_bytes\":4,\"kicks\":{\"rx\":5,\"tx\":6},\"interrupts\":{\"rx\":7,\"tx\":8},"
		"\"thread\":{\"tid\":800,\"cpu_s\":0.500},"
		"\"vhost_thread\":{\"tid\":0,\"cpu_s\":0.000}}]}",
		"{\"pair\":1,\"rx_packets\":1101,",
		"\"vhost_thread\":{\"tid\":900,\"cpu_s\":0.250}},{\"pair\":1,",
		"\"vhost_thread\":{\"tid\":901,\"cpu_s\":1.250}}]}],\"disk\":",
	};

	fill(&a);
	assert_true(stats__json(&a, buf, sizeof(buf)) > 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strstr(buf, keys[i]))
			fail_msg("%s missing in %s", keys[i], buf);
	assert_int_equal(stats__from_json(buf, &b), 0);
	assert_int_equal(b.nic[0].nr_queues, 1);
	assert_int_equal(b.nic[1].nr_queues, 2);
	assert_int_equal(b.nic[1].queue[1].net.tx_interrupts, 1108);
	assert_int_equal(b.nic[1].queue[1].vhost_tid, 901);
	assert_int_equal(b.nic[1].queue[1].thread_tid, 811);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_queues_refused(void **state)
{
	static struct vm_snapshot s;
	static char big[4096];
	static const char *const bad[] = {
		"{\"nic\":[{\"queues\":{}}]}", "{\"nic\":[{\"queues\":5}]}",
		"{\"nic\":[{\"queues\":[1]}]}", "{\"nic\":[{\"queues\":[[]]}]}",
		"{\"nic\":[{\"queues\":[{\"rx_packets\":-1}]}]}",
		"{\"nic\":[{\"queues\":[{\"tx_bytes\":1.5}]}]}",
		"{\"nic\":[{\"queues\":[{\"kicks\":{\"rx\":18446744073709551616}}]}]}",
		"{\"nic\":[{\"queues\":[{\"vhost_thread\":{\"tid\":99999999999}}]}]}",
		"{\"nic\":[{\"queues\":[{},]}]}", "{\"nic\":[{\"queues\":[{}}]}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (stats__from_json(bad[i], &s) != -1)
			fail_msg("accepted: %s", bad[i]);
	/* One pair more than any NIC can have; as many as it can are taken. */
	for (int n = STATS_MAX_QUEUES; n <= STATS_MAX_QUEUES + 1; n++) {
		strcpy(big, "{\"nic\":[{},{\"queues\":[");
		for (int i = 0; i < n; i++)
			strcat(big, i ? ",{\"rx_packets\":9}" : "{\"rx_packets\":9}");
		strcat(big, "]}]}");
		assert_int_equal(stats__from_json(big, &s), n <= STATS_MAX_QUEUES ? 0 : -1);
	}
	/* Unknown keys and a string where a counter belongs are skipped (as
	 * for a NIC's other counters); "queues" elsewhere is not a NIC's. */
	assert_int_equal(stats__from_json("{\"nic\":[{\"queues\":[{\"future\":[1],"
					  "\"rx_packets\":\"x\",\"tx_packets\":3}]}],"
					  "\"queues\":[1,\"y\"]}", &s), 0);
	assert_int_equal(s.nic[0].nr_queues, 1);
	assert_int_equal(s.nic[0].queue[0].net.tx_packets, 3);
	assert_int_equal(s.nic[0].queue[0].net.rx_packets, 0);
}

static char *human(const struct vm_snapshot *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	stats__print_human(f, s);
	fclose(f);
	return text;
}

static void test_queues_human(void **state)
{
	static struct vm_snapshot a;
	char *text;

	fill(&a);
	text = human(&a);
	/* eth0 has one pair: no pair lines, as before multiqueue */
	assert_null(strstr(text, "pair 0: rx 1 pkts"));
	assert_non_null(strstr(text, "    pair 0: rx 1001 pkts 1.0 kB  tx 1003 pkts 1.0 kB  "
				     "kicks/interrupts: via vhost, not seen by vmm, vhost thread 900 "
				     "cpu 0.250 s\n"));
	assert_non_null(strstr(text, "    pair 1: rx 1101 pkts 1.1 kB  tx 1103 pkts 1.1 kB  "
				     "kicks/interrupts: via vhost, not seen by vmm, vhost thread 901 "
				     "cpu 1.250 s\n"));
	free(text);

	/* The same NIC on vmm's datapath: counted kicks and interrupts. */
	a.nic[1].vhost = false;
	a.nic[1].queue[0].vhost_tid = a.nic[1].queue[1].vhost_tid = 0;
	text = human(&a);
	assert_non_null(strstr(text, "    pair 1: rx 1101 pkts 1.1 kB  tx 1103 pkts 1.1 kB  "
				     "kicks rx 1105 tx 1106  interrupts rx 1107 tx 1108, "
				     "thread 811 cpu 1.500 s\n"));
	assert_null(strstr(text, "not seen by vmm"));
	free(text);

	/* A count from a reply out of range prints nothing extra. */
	a.nic[1].nr_queues = -3;
	text = human(&a);
	assert_null(strstr(text, "pair "));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queues_round_trip),
		cmocka_unit_test(test_queues_human),
		cmocka_unit_test(test_queues_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
