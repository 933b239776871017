/* test_pl031.c — the PL031 RTC (devices/amba/pl031.c) on a fake clock:
 * the PrimeCell ID words Linux's AMBA bus matches on, the count following
 * the clock and a load, the match interrupt (mask, clear, the line's
 * edges), and the accesses a real PL031 ignores. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/amba/pl031.h"

static uint64_t clock_s;
static int line = -1, edges;

static uint64_t fake_now(void *opaque)
{
	return clock_s;
}

static void fake_irq(void *opaque, int level)
{
	line = level;
	edges++;
}

static const struct pl031_ops ops = { .set_irq = fake_irq, .now = fake_now };

static uint32_t rd(struct pl031 *r, uint64_t off)
{
	uint32_t v;

	pl031__bus_ops.read(r, off, (uint8_t *)&v, 4);
	return v;
}

static void wr(struct pl031 *r, uint64_t off, uint32_t v)
{
	pl031__bus_ops.write(r, off, (const uint8_t *)&v, 4);
}

static void ids(void **state)
{
	struct pl031 *r = pl031__create(&ops, NULL);
	static const uint32_t want[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

	for (int i = 0; i < 8; i++)
		assert_int_equal(rd(r, 0xfe0 + 4 * i), want[i]);
	pl031__free(r);
}

static void counts(void **state)
{
	struct pl031 *r = pl031__create(&ops, NULL);

	clock_s = 1700000000;
	assert_int_equal(rd(r, 0x00), 1700000000);
	assert_int_equal(rd(r, 0x0c), 1);          /* started */
	clock_s += 5;
	assert_int_equal(rd(r, 0x00), 1700000005);
	/* a load sets the count, which then runs from there */
	wr(r, 0x08, 1000);
	assert_int_equal(rd(r, 0x00), 1000);
	clock_s += 3;
	assert_int_equal(rd(r, 0x00), 1003);
	assert_int_equal(rd(r, 0x08), 1003);
	/* the data register is read-only */
	wr(r, 0x00, 7);
	assert_int_equal(rd(r, 0x00), 1003);
	pl031__free(r);
}

static void match_interrupt(void **state)
{
	struct pl031 *r = pl031__create(&ops, NULL);

	clock_s = 5000;
	line = -1;
	edges = 0;
	wr(r, 0x04, 5010);                        /* alarm in 10 s */
	wr(r, 0x10, 1);                           /* unmasked */
	assert_int_equal(rd(r, 0x14), 0);
	assert_int_equal(edges, 0);
	clock_s = 5012;                           /* passed: fires at this access */
	assert_int_equal(rd(r, 0x14), 1);
	assert_int_equal(rd(r, 0x18), 1);
	assert_int_equal(line, 1);
	assert_int_equal(edges, 1);
	/* masking drops the line, unmasking raises it again */
	wr(r, 0x10, 0);
	assert_int_equal(line, 0);
	assert_int_equal(rd(r, 0x18), 0);
	wr(r, 0x10, 1);
	assert_int_equal(line, 1);
	/* clear: the line drops, and the same match does not fire twice */
	wr(r, 0x1c, 1);
	assert_int_equal(line, 0);
	clock_s = 5020;
	assert_int_equal(rd(r, 0x14), 0);
	assert_int_equal(edges, 4);
	pl031__free(r);
}

static void odd_accesses(void **state)
{
	struct pl031 *r = pl031__create(&ops, NULL);
	uint8_t b[4] = { 0 };

	clock_s = 42;
	pl031__bus_ops.read(r, 0x00, b, 1);        /* not a word: all ones */
	assert_int_equal(b[0], 0xff);
	pl031__bus_ops.read(r, 0x02, b, 4);        /* unaligned */
	assert_int_equal(b[3], 0xff);
	pl031__bus_ops.write(r, 0x08, b, 2);       /* ignored */
	assert_int_equal(rd(r, 0x00), 42);
	assert_int_equal(rd(r, 0x800), 0);         /* reserved: zero */
	pl031__free(r);
	pl031__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids),
		cmocka_unit_test(counts),
		cmocka_unit_test(match_interrupt),
		cmocka_unit_test(odd_accesses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
