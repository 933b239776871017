/* test_net_dpcount.c — a NIC's packets and bytes split between the
 * datapaths that ran in turn, driven with made-up tap counters (no tap,
 * no sysfs): the baseline a reused tap already had, several switches,
 * "switches" to the datapath that already runs, a switch before the
 * driver started, and readings that failed or went backwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "virtio/net_dpcount.h"

#define US NET_DP_USERSPACE
#define VH NET_DP_VHOST

/* rx/tx packets, bytes a packet of 100 (rx) or 60 (tx). */
static struct tap_counts tc(uint64_t rx, uint64_t tx)
{
	return (struct tap_counts){ .rx_packets = rx, .rx_bytes = rx * 100,
				    .tx_packets = tx, .tx_bytes = tx * 60 };
}

static void expect(const struct tap_counts *got, uint64_t rx, uint64_t tx)
{
	struct tap_counts want = tc(rx, tx);

	assert_int_equal(got->rx_packets, want.rx_packets);
	assert_int_equal(got->rx_bytes, want.rx_bytes);
	assert_int_equal(got->tx_packets, want.tx_packets);
	assert_int_equal(got->tx_bytes, want.tx_bytes);
}

/* What the tap counted before the NIC was made is nobody's; what moves
 * later goes to the datapath that runs. */
static void test_baseline(void **state)
{
	struct net_dpcount c;
	struct tap_counts out[NET_DP_NR], now = tc(500, 300);

	net_dpcount__init(&c, VH, &now);
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[US], 0, 0);
	expect(&out[VH], 0, 0);
	now = tc(510, 307);
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[US], 0, 0);
	expect(&out[VH], 10, 7);
	/* A view records nothing: an older reading still works. */
	now = tc(505, 300);
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[VH], 5, 0);
}

static void test_several_switches(void **state)
{
	struct net_dpcount c;
	struct tap_counts out[NET_DP_NR], now = tc(0, 0);

	net_dpcount__init(&c, US, &now);
	now = tc(10, 20);
	assert_int_equal(net_dpcount__switch(&c, VH, &now), 0);    /* 10/20 were vmm's */
	now = tc(110, 220);
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[US], 10, 20);
	expect(&out[VH], 100, 200);
	now = tc(1010, 2020);
	assert_int_equal(net_dpcount__switch(&c, US, &now), 0);    /* 1000/2000 vhost's */
	now = tc(1011, 2022);
	assert_int_equal(net_dpcount__switch(&c, VH, &now), 0);    /* 1/2 vmm's */
	now = tc(1111, 2022);
	assert_int_equal(net_dpcount__switch(&c, US, &now), 0);    /* 100/0 vhost's */
	now = tc(1116, 2027);
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[US], 10 + 1 + 5, 20 + 2 + 5);
	expect(&out[VH], 1000 + 100, 2000);
	/* The two add up to everything since the baseline. */
	assert_int_equal(out[US].rx_bytes + out[VH].rx_bytes, now.rx_bytes);
	assert_int_equal(out[US].tx_packets + out[VH].tx_packets, now.tx_packets);
}

/* `vmm set --vhost on` on a NIC already on vhost: no reading is used,
 * nothing moves between the two. */
static void test_switch_to_same(void **state)
{
	struct net_dpcount c;
	struct tap_counts out[NET_DP_NR], now = tc(0, 0), back = tc(0, 0);

	net_dpcount__init(&c, VH, &now);
	now = tc(50, 40);
	assert_int_equal(net_dpcount__switch(&c, VH, &now), 0);
	assert_int_equal(net_dpcount__switch(&c, VH, NULL), 0);    /* a failed read: unused */
	assert_int_equal(net_dpcount__switch(&c, VH, &back), 0);   /* behind: unused too */
	now = tc(60, 45);
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[US], 0, 0);
	expect(&out[VH], 60, 45);
}

/* Counters before the driver starts: a reused tap's old counts are not
 * counted, and a switch asked for before the driver started (the
 * datapath it will start on changes, nothing has moved) puts the
 * traffic after the start on the new datapath. */
static void test_before_driver_start(void **state)
{
	struct net_dpcount c;
	struct tap_counts out[NET_DP_NR], now = tc(7000, 9000);

	net_dpcount__init(&c, VH, &now);                           /* --vhost on, reused tap */
	assert_int_equal(net_dpcount__switch(&c, US, &now), 0);    /* before DRIVER_OK */
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[US], 0, 0);
	expect(&out[VH], 0, 0);
	now = tc(7003, 9004);                                      /* the driver runs */
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[US], 3, 4);
	expect(&out[VH], 0, 0);
}

/* A failed reading: at the baseline or a switch, the split is unknown
 * from then on (out zeroed); at a view, only that view. Counters that
 * went backwards at a switch (not the same tap any more) count as a
 * failed reading. */
static void test_unreadable(void **state)
{
	struct net_dpcount c;
	struct tap_counts out[NET_DP_NR], now = tc(5, 5);

	net_dpcount__init(&c, US, NULL);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(net_dpcount__view(&c, &now, out), -1);
	expect(&out[US], 0, 0);
	expect(&out[VH], 0, 0);
	assert_int_equal(net_dpcount__switch(&c, VH, &now), -1);
	assert_int_equal(net_dpcount__view(&c, &now, out), -1);

	now = tc(0, 0);
	net_dpcount__init(&c, US, &now);
	now = tc(3, 3);
	assert_int_equal(net_dpcount__view(&c, NULL, out), -1);    /* this view only */
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[US], 3, 3);
	assert_int_equal(net_dpcount__switch(&c, VH, NULL), -1);   /* at a switch: for good */
	now = tc(4, 4);
	assert_int_equal(net_dpcount__view(&c, &now, out), -1);
	assert_int_equal(net_dpcount__switch(&c, US, &now), -1);
	expect(&out[US], 0, 0);

	now = tc(100, 100);
	net_dpcount__init(&c, US, &now);
	now = tc(99, 200);
	assert_int_equal(net_dpcount__view(&c, &now, out), -1);    /* behind 'last' */
	now = tc(100, 200);
	assert_int_equal(net_dpcount__view(&c, &now, out), 0);
	expect(&out[US], 0, 100);
	now = tc(2, 2);
	assert_int_equal(net_dpcount__switch(&c, VH, &now), -1);   /* went backwards */
	now = tc(300, 300);
	assert_int_equal(net_dpcount__view(&c, &now, out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_several_switches),
		cmocka_unit_test(test_switch_to_same),
		cmocka_unit_test(test_before_driver_start),
		cmocka_unit_test(test_unreadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
