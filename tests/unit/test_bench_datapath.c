/* test_bench_datapath.c — the native datapath benchmark's quick mode as a
 * test (tests/bench/datapath/, linked in by tests/bench/bench.mk): vmm's
 * real NIC (net_tap__create, the I/O thread) on a tap in a private
 * network namespace moves frames both ways for 0.15 s per cell, 64 B,
 * 1 KiB and 64 KiB TSO, and every frame sent must arrive once, in order
 * and intact, with vmm's own counters agreeing (dp_run.c's checks). Under
 * ASan like every unit test, so it also runs the datapath against a real
 * tap with the sanitizers on. Needs root and /dev/net/tun; skipped
 * otherwise. About 2 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "tests/bench/datapath/dp.h"
#include "vmm/log.h"

static struct dp_machine m;
static struct dp_counters *ctr;
static char skip_reason[256];

static int setup(void **state)
{
	char why[160];

	log__verbosity = LOG_ERR;
	if (dp_enter_netns(skip_reason, sizeof(skip_reason)) < 0)
		return 0;
	if (dp_machine_up(&m, skip_reason, sizeof(skip_reason)) < 0)
		fail_msg("%s", skip_reason);
	ctr = dp_counters_open(dp_io_tid(&m), why, sizeof(why));
	assert_non_null(ctr);
	return 0;
}

static int teardown(void **state)
{
	if (ctr) {
		dp_counters_close(ctr);
		dp_machine_down(&m);
	}
	return 0;
}

static void run(int cell)
{
	struct dp_result r;

	if (!ctr) {
		print_message("skipped: %s\n", skip_reason);
		skip();
	}
	assert_int_equal(dp_run_cell(&m, ctr, &dp_cells[cell], 0.15, true, &r), 0);
	if (r.failure[0])
		fail_msg("%s: %s", dp_cells[cell].name, r.failure);
	assert_true(r.checked);
	assert_true(r.packets > 0);
}

static void test_tx_64(void **s) { run(0); }
static void test_tx_1k(void **s) { run(1); }
static void test_tx_tso(void **s) { run(2); }
static void test_rx_64(void **s) { run(3); }
static void test_rx_1k(void **s) { run(4); }
static void test_rx_tso(void **s) { run(5); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_64), cmocka_unit_test(test_tx_1k),
		cmocka_unit_test(test_tx_tso), cmocka_unit_test(test_rx_64),
		cmocka_unit_test(test_rx_1k), cmocka_unit_test(test_rx_tso),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
