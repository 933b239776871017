/* test_pl061.c — the PL061 GPIO controller (devices/amba/pl061.c): ID
 * words, the masked-address data register, edge and level interrupts, and
 * the power button as Linux's gpio-pl061 and gpio-keys drive it: both
 * edges, the handler acks through GPIOIC and reads the line, the press
 * lets itself go once read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/amba/pl061.h"

#define DIR 0x400
#define IS  0x404
#define IBE 0x408
#define IEV 0x40c
#define IE  0x410
#define RIS 0x414
#define MIS 0x418
#define IC  0x41c

static int line, edges;

static void fake_irq(void *opaque, int level)
{
	line = level;
	edges++;
}

static const struct pl061_ops ops = { .set_irq = fake_irq };

static uint8_t rd(struct pl061 *g, uint64_t off)
{
	uint8_t v;

	pl061__bus_ops.read(g, off, &v, 1);
	return v;
}

static void wr(struct pl061 *g, uint64_t off, uint8_t v)
{
	pl061__bus_ops.write(g, off, &v, 1);
}

/* The data register as gpio-pl061 reads one line: address bit pin + 2. */
static uint8_t rd_line(struct pl061 *g, unsigned pin)
{
	return rd(g, 1u << (pin + 2));
}

static void ids(void **state)
{
	struct pl061 *g = pl061__create(&ops, NULL);
	static const uint32_t want[8] = { 0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

	for (int i = 0; i < 8; i++) {
		uint32_t v;

		pl061__bus_ops.read(g, 0xfe0 + 4 * i, (uint8_t *)&v, 4);
		assert_int_equal(v, want[i]);
	}
	pl061__free(g);
}

static void masked_data(void **state)
{
	struct pl061 *g = pl061__create(&ops, NULL);

	wr(g, DIR, 0x0f);                       /* 0-3 out, 4-7 in */
	wr(g, 0x3fc, 0xff);                     /* all mask bits: outputs 0-3 set */
	assert_int_equal(rd(g, 0x3fc), 0x0f);
	wr(g, 1u << (1 + 2), 0);                /* line 1 only */
	assert_int_equal(rd(g, 0x3fc), 0x0d);
	pl061__set_input(g, 6, 1);
	assert_int_equal(rd(g, 0x3fc), 0x4d);
	assert_int_equal(rd_line(g, 6), 0x40);
	assert_int_equal(rd_line(g, 5), 0);
	pl061__set_input(g, 0, 1);              /* an output: the input level is not seen */
	wr(g, 1u << 2, 0);
	assert_int_equal(rd_line(g, 0), 0);
	pl061__free(g);
}

static void power_button(void **state)
{
	struct pl061 *g = pl061__create(&ops, NULL);

	line = 0;
	edges = 0;
	/* before a driver: the line is high, but out of reset only falling
	 * edges count (GPIOIEV 0), so nothing latches and nobody is told;
	 * gpio-keys reads the line when its input device opens */
	assert_false(pl061__press(g, 3));
	assert_int_equal(edges, 0);
	assert_int_equal(rd(g, RIS), 0);
	/* gpio-keys: edge both, unmasked */
	wr(g, IS, 0);
	wr(g, IBE, 0x08);
	wr(g, IE, 0x08);
	assert_int_equal(line, 0);
	/* the guest read it pressed once already (set-up): let go */
	assert_int_equal(rd_line(g, 3), 0x08);
	assert_int_equal(rd_line(g, 3), 0);
	assert_int_equal(line, 1);              /* the release edge */
	wr(g, IC, 0x08);
	assert_int_equal(line, 0);
	/* vmm stop: press, the handler acks and reads pressed, then released */
	assert_true(pl061__press(g, 3));
	assert_int_equal(line, 1);
	assert_int_equal(rd(g, MIS), 0x08);
	wr(g, IC, 0x08);
	assert_int_equal(line, 0);
	assert_int_equal(rd_line(g, 3), 0x08);  /* KEY_POWER down */
	assert_int_equal(line, 1);              /* release edge pending */
	wr(g, IC, 0x08);
	assert_int_equal(rd_line(g, 3), 0);     /* KEY_POWER up */
	assert_int_equal(line, 0);
	pl061__free(g);
}

static void edges_and_levels(void **state)
{
	struct pl061 *g = pl061__create(&ops, NULL);

	line = 0;
	/* rising edge only on line 2 */
	wr(g, IEV, 0x04);
	wr(g, IE, 0x04);
	pl061__set_input(g, 2, 1);
	assert_int_equal(line, 1);
	wr(g, IC, 0x04);
	pl061__set_input(g, 2, 0);              /* falling: not this edge */
	assert_int_equal(line, 0);
	/* level, active high: follows the line, GPIOIC does not clear it */
	wr(g, IS, 0x04);
	pl061__set_input(g, 2, 1);
	assert_int_equal(line, 1);
	wr(g, IC, 0x04);
	assert_int_equal(line, 1);
	pl061__set_input(g, 2, 0);
	assert_int_equal(line, 0);
	/* accesses it ignores */
	pl061__bus_ops.write(g, 0x401, (const uint8_t[]){ 0xff, 0xff }, 2);
	assert_int_equal(rd(g, DIR), 0);
	pl061__set_input(g, 9, 1);
	assert_false(pl061__press(g, 8));
	pl061__free(g);
	pl061__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids),
		cmocka_unit_test(masked_data),
		cmocka_unit_test(power_button),
		cmocka_unit_test(edges_and_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
