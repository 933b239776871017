/* test_kvm_stats.c — reading KVM's binary stats (KVM_GET_STATS_FD layout)
 * from a buffer built here: counters found by name, the full dump of
 * non-zero counters, histograms and malformed layouts skipped. */
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/kvm_stats.h"

#define NAME 48
struct desc { struct kvm_stats_desc d; char name[NAME]; };

/* header | 5 descriptors | data: exits=10, io_exits=0, a histogram,
 * irq_window_exits=7, one whose offset lies outside the buffer. */
static size_t build(uint8_t *buf, size_t cap)
{
	struct kvm_stats_header *h = (void *)buf;
	struct desc *d = (void *)(buf + sizeof(*h));
	const char *names[5] = { "exits", "io_exits", "halt_poll_hist", "irq_window_exits", "far" };
	uint64_t vals[4] = { 10, 0, 99, 7 };
	size_t data = sizeof(*h) + 5 * sizeof(*d);

	memset(buf, 0, cap);
	h->name_size = NAME;
	h->num_desc = 5;
	h->desc_offset = sizeof(*h);
	h->data_offset = (uint32_t)data;
	for (int i = 0; i < 5; i++) {
		strcpy(d[i].name, names[i]);
		d[i].d.size = 1;
		d[i].d.offset = (uint32_t)(i * 8);
	}
	d[2].d.size = 4;           /* a histogram: skipped */
	d[4].d.offset = 1 << 20;   /* beyond the buffer: skipped */
	memcpy(buf + data, vals, sizeof(vals));
	return data + sizeof(vals);
}

static void test_parse_and_dump(void **state)
{
	uint8_t buf[1024];
	size_t len = build(buf, sizeof(buf));
	struct kvm_stats s;
	char out[256];

	assert_int_equal(kvm_stats__parse(&s, buf, len), 0);
	assert_int_not_equal(s.offset[KVM_STAT_EXITS], 0);
	assert_int_not_equal(s.offset[KVM_STAT_IRQ_WINDOW_EXITS], 0);
	assert_int_equal(s.offset[KVM_STAT_HALT_EXITS], 0);   /* not in this layout */
	assert_int_equal(kvm_stats__format_all(buf, len, out, sizeof(out)), 0);
	assert_string_equal(out, "exits=10 irq_window_exits=7");
	/* a small output buffer keeps what fits, never overflows */
	assert_int_equal(kvm_stats__format_all(buf, len, out, 12), 0);
	assert_string_equal(out, "exits=10");
}

static void test_malformed(void **state)
{
	uint8_t buf[1024];
	size_t len = build(buf, sizeof(buf));
	struct kvm_stats_header *h = (void *)buf;
	struct kvm_stats s;
	char out[64];

	assert_int_equal(kvm_stats__format_all(buf, 8, out, sizeof(out)), -1);
	h->num_desc = 1000;
	assert_int_equal(kvm_stats__format_all(buf, len, out, sizeof(out)), -1);
	assert_int_equal(kvm_stats__parse(&s, buf, len), -1);
	h->num_desc = 5;
	h->name_size = 0;
	assert_int_equal(kvm_stats__format_all(buf, len, out, sizeof(out)), -1);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_dump),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
