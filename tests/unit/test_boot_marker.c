/* test_boot_marker.c — the marker port (devices/pc/boot_marker.c) through a
 * real port-I/O bus: first-write times and counts per value, only 1-byte
 * writes count, reads are zero, times measured from the given start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "devices/pc/boot_marker.h"
#include "vmm/util.h"

static void test_markers(void **state)
{
	struct bus pio;
	uint64_t start = util__now_ns(), ns40, ns42, ns;
	struct boot_marker_dev *d = boot_marker__create(start);
	uint8_t b = 0x40, word[2] = { 0x41, 0x41 }, rd[4] = { 1, 2, 3, 4 };
	uint32_t count;

	assert_non_null(d);
	assert_int_equal(bus__init(&pio, "pio"), 0);
	assert_int_equal(boot_marker__register(d, &pio, BOOT_MARKER_PORT), 0);
	assert_false(boot_marker__seen(d, 0x40, &ns, &count));

	bus__write(&pio, BOOT_MARKER_PORT, &b, 1);
	b = 0x42;
	bus__write(&pio, BOOT_MARKER_PORT, &b, 1);
	bus__write(&pio, BOOT_MARKER_PORT, &b, 1);
	bus__write(&pio, BOOT_MARKER_PORT, word, 2);	/* not a marker */
	bus__read(&pio, BOOT_MARKER_PORT, rd, 1);
	assert_int_equal(rd[0], 0);

	assert_true(boot_marker__seen(d, 0x40, &ns40, &count));
	assert_int_equal(count, 1);
	assert_true(boot_marker__seen(d, 0x42, &ns42, &count));
	assert_int_equal(count, 2);
	assert_false(boot_marker__seen(d, 0x41, &ns, &count));
	assert_true(ns40 <= ns42);
	assert_true(ns42 <= util__now_ns() - start);
	boot_marker__print(d);

	bus__destroy(&pio);
	boot_marker__free(d);
	boot_marker__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_markers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
