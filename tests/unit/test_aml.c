/* test_aml.c — the AML builder (arch/x86/aml.c): PkgLength at its size
 * boundaries, integers of every size, names, strings, EISA IDs, nested
 * objects whose PkgLength grows when closed, resource descriptors against
 * the bytes iasl 20200925 compiles the same ASL to, and the bounds
 * checks (every truncated buffer fails without writing past its end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/aml.h"
#include "vmm/log.h"

#define BUF_SIZE	8192

static uint8_t buf[BUF_SIZE];

static struct aml fresh(void)
{
	struct aml a;

	memset(buf, 0xcc, sizeof(buf));
	aml__init(&a, buf, sizeof(buf));
	return a;
}

#define assert_aml(a, ...) do {						\
	static const uint8_t want_[] = { __VA_ARGS__ };			\
	assert_int_equal(aml__finish(a), sizeof(want_));		\
	assert_memory_equal(buf, want_, sizeof(want_));			\
	assert_int_equal(buf[sizeof(want_)], 0xcc);			\
} while (0)

/* Decode a PkgLength; returns its size in bytes. */
static int pkglength_decode(const uint8_t *p, size_t *length)
{
	int n = (p[0] >> 6) + 1;

	if (n == 1) {
		*length = p[0] & 0x3f;
		return 1;
	}
	*length = p[0] & 0x0f;
	for (int i = 1; i < n; i++)
		*length |= (size_t)p[i] << (4 + 8 * (i - 1));
	return n;
}

static void test_pkglength_encode(void **state)
{
	static const struct {
		size_t length;
		int n;
		uint8_t bytes[4];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 63, 1, { 0x3f } },
		{ 64, 2, { 0x40, 0x04 } },
		{ 0x7b, 2, { 0x4b, 0x07 } },
		{ 4095, 2, { 0x4f, 0xff } },
		{ 4096, 3, { 0x80, 0x00, 0x01 } },
		{ 0xfffff, 3, { 0x8f, 0xff, 0xff } },
		{ 0x100000, 4, { 0xc0, 0x00, 0x00, 0x01 } },
		{ 0x0fffffff, 4, { 0xcf, 0xff, 0xff, 0xff } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t out[4] = { 0 };
		size_t back;

		assert_int_equal(aml__pkglength_encode(out, cases[i].length), cases[i].n);
		assert_memory_equal(out, cases[i].bytes, (size_t)cases[i].n);
		assert_int_equal(pkglength_decode(out, &back), cases[i].n);
		assert_int_equal(back, cases[i].length);
	}
	{
		uint8_t out[4];

		assert_int_equal(aml__pkglength_encode(out, 0x10000000), 0);
	}
}

static void test_pkglength_for(void **state)
{
	size_t len = 0;

	/* The value counts its own bytes: 62 bytes of content still fit
	 * one byte (63), 63 need two (65). */
	assert_int_equal(aml__pkglength_for(0, &len), 1);
	assert_int_equal(len, 1);
	assert_int_equal(aml__pkglength_for(62, &len), 1);
	assert_int_equal(len, 63);
	assert_int_equal(aml__pkglength_for(63, &len), 2);
	assert_int_equal(len, 65);
	assert_int_equal(aml__pkglength_for(4093, &len), 2);
	assert_int_equal(len, 4095);
	assert_int_equal(aml__pkglength_for(4094, &len), 3);
	assert_int_equal(len, 4097);
	assert_int_equal(aml__pkglength_for(0xfffff - 3, &len), 3);
	assert_int_equal(len, 0xfffff);
	assert_int_equal(aml__pkglength_for(0xfffff - 2, &len), 4);
	assert_int_equal(len, 0x100001);
	assert_int_equal(aml__pkglength_for(0x0fffffff - 4, &len), 4);
	assert_int_equal(len, 0x0fffffff);
	assert_int_equal(aml__pkglength_for(0x0fffffff - 3, &len), 0);
}

/* Scope (ABCD) { 'fill' Noop bytes }: the PkgLength the builder chose
 * and that the contents moved intact behind it. */
static void check_scope_fill(size_t fill, size_t want_length, int want_n)
{
	struct aml a = fresh();
	size_t mark, length;
	int n;

	mark = aml__scope_begin(&a, "ABCD");
	for (size_t i = 0; i < fill; i++)
		aml__byte(&a, 0xa3);		/* NoopOp */
	aml__end(&a, mark);
	assert_int_equal(aml__finish(&a), 1 + want_n + 4 + fill);
	assert_int_equal(buf[0], 0x10);
	n = pkglength_decode(buf + 1, &length);
	assert_int_equal(n, want_n);
	assert_int_equal(length, want_length);
	assert_int_equal(length, aml__finish(&a) - 1);
	assert_memory_equal(buf + 1 + n, "ABCD", 4);
	for (size_t i = 0; i < fill; i++)
		assert_int_equal(buf[1 + n + 4 + i], 0xa3);
	assert_int_equal(buf[1 + n + 4 + fill], 0xcc);
}

static void test_pkglength_in_objects(void **state)
{
	check_scope_fill(0, 5, 1);
	check_scope_fill(58, 63, 1);		/* 1 + 4 + 58 */
	check_scope_fill(59, 65, 2);		/* 64 does not fit one byte */
	check_scope_fill(4089, 4095, 2);	/* 2 + 4 + 4089 */
	check_scope_fill(4090, 4097, 3);	/* 4096 does not fit two */
}

static void test_integers(void **state)
{
	static const struct {
		uint64_t v;
		size_t n;
		uint8_t bytes[9];
	} cases[] = {
		{ 0, 1, { 0x00 } },
		{ 1, 1, { 0x01 } },
		{ 2, 2, { 0x0a, 0x02 } },
		{ 0xff, 2, { 0x0a, 0xff } },
		{ 0x100, 3, { 0x0b, 0x00, 0x01 } },
		{ 0xffff, 3, { 0x0b, 0xff, 0xff } },
		{ 0x10000, 5, { 0x0c, 0x00, 0x00, 0x01, 0x00 } },
		{ 0xffffffff, 5, { 0x0c, 0xff, 0xff, 0xff, 0xff } },
		{ 0x123456789, 9, { 0x0e, 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0 } },
		{ UINT64_MAX - 1, 9, { 0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
		{ UINT64_MAX, 1, { 0xff } },		/* Ones */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aml a = fresh();

		aml__integer(&a, cases[i].v);
		assert_int_equal(aml__finish(&a), cases[i].n);
		assert_memory_equal(buf, cases[i].bytes, cases[i].n);
	}
	{
		struct aml a = fresh();

		aml__dword(&a, 1);
		assert_aml(&a, 0x0c, 0x01, 0x00, 0x00, 0x00);
	}
}

static void test_eisaid(void **state)
{
	uint32_t v = 0;
	struct aml a;

	assert_int_equal(aml__eisaid_value("PNP0A03", &v), 0);
	assert_int_equal(v, 0x030ad041);
	assert_int_equal(aml__eisaid_value("PNP0A08", &v), 0);
	assert_int_equal(v, 0x080ad041);
	assert_int_equal(aml__eisaid_value("PNP0C0f", &v), 0);	/* lower-case hex */
	assert_int_equal(v, 0x0f0cd041);
	assert_int_equal(aml__eisaid_value("pnp0A03", &v), -1);
	assert_int_equal(aml__eisaid_value("PNP0A0", &v), -1);
	assert_int_equal(aml__eisaid_value("PNP0A033", &v), -1);
	assert_int_equal(aml__eisaid_value("PNP0A0G", &v), -1);
	assert_int_equal(aml__eisaid_value("P@P0A03", &v), -1);
	assert_int_equal(aml__eisaid_value(NULL, &v), -1);

	/* Always a DWord, even when the value would fit a Word. */
	a = fresh();
	aml__eisaid(&a, "PNP0000");
	assert_aml(&a, 0x0c, 0x41, 0xd0, 0x00, 0x00);
	a = fresh();
	aml__eisaid(&a, "PNP0A0G");
	assert_int_equal(aml__finish(&a), -1);
}

static void test_names(void **state)
{
	struct aml a;

	a = fresh();
	aml__name_string(&a, "_S5");
	assert_aml(&a, '_', 'S', '5', '_');
	a = fresh();
	aml__name_string(&a, "\\_SB");
	assert_aml(&a, 0x5c, '_', 'S', 'B', '_');
	a = fresh();
	aml__name_string(&a, "\\_SB.PCI0");
	assert_aml(&a, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	a = fresh();
	aml__name_string(&a, "_SB.PCI0.S08");
	assert_aml(&a, 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '0', '8', '_');
	a = fresh();
	aml__name_string(&a, "^^A");
	assert_aml(&a, 0x5e, 0x5e, 'A', '_', '_', '_');
	a = fresh();
	aml__name_string(&a, "\\");
	assert_aml(&a, 0x5c, 0x00);

	static const char *const bad[] = {
		"", "abcd", "TOOLONG", "1ABC", "A..B", "A.", ".A", "\\\\A",
		"^\\A", "A-B", "A B",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = fresh();
		aml__name_string(&a, bad[i]);
		assert_int_equal(aml__finish(&a), -1);
		assert_int_equal(buf[0], 0xcc);
	}
	a = fresh();
	aml__name_string(&a, NULL);
	assert_int_equal(aml__finish(&a), -1);
}

static void test_strings(void **state)
{
	struct aml a = fresh();

	aml__name(&a, "STR");
	aml__string(&a, "abc");
	assert_aml(&a, 0x08, 'S', 'T', 'R', '_', 0x0d, 'a', 'b', 'c', 0x00);

	a = fresh();
	aml__string(&a, "");
	assert_aml(&a, 0x0d, 0x00);
	a = fresh();
	aml__string(&a, "caf\xc3\xa9");
	assert_int_equal(aml__finish(&a), -1);
	a = fresh();
	aml__string(&a, NULL);
	assert_int_equal(aml__finish(&a), -1);
}

/* Name (_S5, Package (0x04) { 0x05, Zero, Zero, Zero }) as iasl emits it. */
static void test_package(void **state)
{
	struct aml a = fresh();
	size_t pkg;

	aml__name(&a, "_S5");
	pkg = aml__package_begin(&a, 4);
	aml__integer(&a, 5);
	aml__integer(&a, 0);
	aml__integer(&a, 0);
	aml__integer(&a, 0);
	aml__end(&a, pkg);
	assert_aml(&a, 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05,
		   0x00, 0x00, 0x00);

	a = fresh();
	aml__package_begin(&a, 256);
	assert_int_equal(aml__finish(&a), -1);
}

static void test_buffer(void **state)
{
	static const uint8_t bytes[] = { 1, 2, 3 };
	struct aml a = fresh();
	size_t mark;

	mark = aml__buffer_begin(&a);
	aml__bytes(&a, bytes, sizeof(bytes));
	aml__buffer_end(&a, mark);
	assert_aml(&a, 0x11, 0x06, 0x0a, 0x03, 1, 2, 3);

	a = fresh();
	mark = aml__buffer_begin(&a);
	aml__buffer_end(&a, mark);
	assert_aml(&a, 0x11, 0x02, 0x00);

	/* 300 bytes: a Word BufferSize and a 2-byte PkgLength (1 + ... ). */
	a = fresh();
	mark = aml__buffer_begin(&a);
	for (int i = 0; i < 300; i++)
		aml__byte(&a, (uint8_t)i);
	aml__buffer_end(&a, mark);
	assert_int_equal(aml__finish(&a), 1 + 2 + 3 + 300);
	assert_int_equal(buf[1], 0x40 | ((2 + 3 + 300) & 0xf));
	assert_int_equal(buf[2], (2 + 3 + 300) >> 4);
	assert_int_equal(buf[3], 0x0b);
	assert_int_equal(buf[4] | buf[5] << 8, 300);
	for (int i = 0; i < 300; i++)
		assert_int_equal(buf[6 + i], (uint8_t)i);
}

/* Device (PCI0) { Name (_HID, EisaId ("PNP0A03"))
 *                 Method (_STA, 0, NotSerialized) { Return (0x0F) } } */
static void test_device_method(void **state)
{
	struct aml a = fresh();
	size_t dev, m;

	dev = aml__device_begin(&a, "PCI0");
	aml__name(&a, "_HID");
	aml__eisaid(&a, "PNP0A03");
	m = aml__method_begin(&a, "_STA", 0, false);
	aml__return(&a);
	aml__integer(&a, 0x0f);
	aml__end(&a, m);
	aml__end(&a, dev);
	assert_aml(&a, 0x5b, 0x82, 0x19, 'P', 'C', 'I', '0',
		   0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03,
		   0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);

	a = fresh();
	m = aml__method_begin(&a, "M2", 2, true);
	aml__end(&a, m);
	assert_aml(&a, 0x14, 0x06, 'M', '2', '_', '_', 0x0a);
	a = fresh();
	aml__method_begin(&a, "M8", 8, false);
	assert_int_equal(aml__finish(&a), -1);
}

/* An inner object that outgrows a one-byte PkgLength makes the outer
 * ones grow too: every level's length still covers exactly its bytes. */
static void test_nesting(void **state)
{
	struct aml a = fresh();
	size_t sb, dev, b, length, at;
	int n;

	sb = aml__scope_begin(&a, "\\_SB");
	dev = aml__device_begin(&a, "DEV0");
	aml__name(&a, "BUF");
	b = aml__buffer_begin(&a);
	for (int i = 0; i < 100; i++)
		aml__byte(&a, 0x5a);
	aml__buffer_end(&a, b);
	aml__end(&a, dev);
	aml__end(&a, sb);
	assert_true(aml__finish(&a) > 0);

	assert_int_equal(buf[0], 0x10);
	n = pkglength_decode(buf + 1, &length);
	assert_int_equal(1 + length, aml__finish(&a));
	at = 1 + n + 5;				/* \_SB_ */
	assert_int_equal(buf[at], 0x5b);
	assert_int_equal(buf[at + 1], 0x82);
	n = pkglength_decode(buf + at + 2, &length);
	assert_int_equal(n, 2);
	assert_int_equal(at + 2 + length, aml__finish(&a));
	at += 2 + n;
	assert_memory_equal(buf + at, "DEV0", 4);
	at += 4;
	assert_memory_equal(buf + at, "\x08" "BUF_" "\x11", 6);
	at += 6;
	n = pkglength_decode(buf + at, &length);
	assert_int_equal(at + length, aml__finish(&a));
	assert_memory_equal(buf + at + n, "\x0a\x64", 2);	/* BufferSize 100 */
	assert_int_equal(buf[at + n + 2], 0x5a);
}

/* WordBusNumber (0-0), IO (0xCF8), WordIO (0x1000-0xFFFF),
 * DWordMemory (0xC0000000-0xFEBFFFFF), QWordMemory (4-8 GiB): the bytes
 * of iasl's Name (_CRS, ResourceTemplate () { ... }). */
static const uint8_t crs_ref[] = {
	0x08, '_', 'C', 'R', 'S', 0x11, 0x46, 0x07, 0x0a, 0x72,
	0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
	0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x10,
	0xff, 0xff, 0x00, 0x00, 0x00, 0xf0,
	0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xc0, 0x3e,
	0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x79, 0x00,
};

static void build_crs(struct aml *a)
{
	size_t rt;

	aml__name(a, "_CRS");
	rt = aml__resource_template_begin(a);
	aml__res_word_bus_number(a, 0, 0);
	aml__res_io(a, 0xcf8, 0xcf8, 1, 8);
	aml__res_word_io(a, 0x1000, 0xffff);
	aml__res_dword_memory(a, 0xc0000000, 0xfebfffff, AML_MEM_NONCACHEABLE);
	aml__res_qword_memory(a, 0x100000000ull, 0x1ffffffffull, AML_MEM_NONCACHEABLE);
	aml__resource_template_end(a, rt);
}

static void test_resource_template(void **state)
{
	struct aml a = fresh();

	build_crs(&a);
	assert_int_equal(aml__finish(&a), sizeof(crs_ref));
	assert_memory_equal(buf, crs_ref, sizeof(crs_ref));

	/* Memory attributes land in _MEM (bits 2-1), ReadWrite in bit 0. */
	a = fresh();
	aml__res_dword_memory(&a, 0x1000, 0x1fff, AML_MEM_PREFETCHABLE);
	assert_int_equal(aml__finish(&a), 26);
	assert_int_equal(buf[5], 0x07);
	assert_int_equal(buf[22] | buf[23] << 8, 0x1000);	/* length */
	a = fresh();
	aml__res_qword_memory(&a, 0, 0xfff, AML_MEM_CACHEABLE);
	assert_int_equal(aml__finish(&a), 46);
	assert_int_equal(buf[5], 0x03);
}

static void test_resource_rejects(void **state)
{
	struct aml a;

	a = fresh();
	aml__res_word_io(&a, 0x2000, 0x1fff);		/* reversed */
	assert_int_equal(aml__finish(&a), -1);
	a = fresh();
	aml__res_word_io(&a, 0, 0xffff);		/* length 0x10000 */
	assert_int_equal(aml__finish(&a), -1);
	a = fresh();
	aml__res_dword_memory(&a, 0, 0xffffffff, AML_MEM_NONCACHEABLE);
	assert_int_equal(aml__finish(&a), -1);
	a = fresh();
	aml__res_qword_memory(&a, 0, UINT64_MAX, AML_MEM_NONCACHEABLE);
	assert_int_equal(aml__finish(&a), -1);
	a = fresh();
	aml__res_dword_memory(&a, 0, 0xfff, 4);		/* no such _MEM */
	assert_int_equal(aml__finish(&a), -1);
	a = fresh();
	aml__res_io(&a, 0x100, 0xff, 1, 1);
	assert_int_equal(aml__finish(&a), -1);
	/* Nothing was written by any of them. */
	assert_int_equal(buf[0], 0xcc);
}

/* Every buffer too small for the _CRS fails, and nothing is written past
 * its end; the exact size works. */
static void test_bounds(void **state)
{
	static uint8_t small[sizeof(crs_ref) + 16];
	int verbosity = log__verbosity;

	log__verbosity = -1;		/* 118 "out of room" messages */
	for (size_t size = 0; size <= sizeof(crs_ref); size++) {
		struct aml a;

		memset(small, 0xcc, sizeof(small));
		aml__init(&a, small, size);
		build_crs(&a);
		if (size < sizeof(crs_ref)) {
			assert_int_equal(aml__finish(&a), -1);
			assert_true(a.len <= size);
		} else {
			assert_int_equal(aml__finish(&a), sizeof(crs_ref));
			assert_memory_equal(small, crs_ref, sizeof(crs_ref));
		}
		for (size_t i = size; i < sizeof(small); i++)
			assert_int_equal(small[i], 0xcc);
	}
	log__verbosity = verbosity;
}

static void test_errors_stick(void **state)
{
	struct aml a = fresh();
	size_t len;

	aml__integer(&a, 7);
	aml__name_string(&a, "bad");
	len = a.len;
	aml__integer(&a, 8);
	aml__name(&a, "GOOD");
	assert_int_equal(a.len, len);
	assert_int_equal(aml__finish(&a), -1);

	/* A mark past the end is refused. */
	a = fresh();
	aml__integer(&a, 0);
	aml__end(&a, 5);
	assert_int_equal(aml__finish(&a), -1);

	/* No buffer: everything fails cleanly. */
	aml__init(&a, NULL, 100);
	aml__integer(&a, 0);
	assert_int_equal(aml__finish(&a), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglength_encode),
		cmocka_unit_test(test_pkglength_for),
		cmocka_unit_test(test_pkglength_in_objects),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_eisaid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_package),
		cmocka_unit_test(test_buffer),
		cmocka_unit_test(test_device_method),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_resource_template),
		cmocka_unit_test(test_resource_rejects),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_errors_stick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
