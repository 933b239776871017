/* test_i8042_rtc.c — the i8042 controller as Linux's i8042 driver probes
 * it, and the CMOS clock against the host's time; both through a real
 * port-I/O bus so the registration is tested as well. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "devices/pc/i8042.h"
#include "devices/pc/rtc.h"
#include "vmm/bus.h"

#define STR_OBF		0x01
#define STR_SYS		0x04
#define STR_CMD		0x08
#define STR_KEYLOCK	0x10
#define STR_AUXDATA	0x20

struct fixture {
	struct bus pio;
	struct i8042 *kbc;
	struct rtc *rtc;
	int resets;
	int irq[16];		/* current level per IRQ line */
	int irq_changes;
};

static void on_irq(void *opaque, int irq, int level)
{
	struct fixture *f = opaque;

	assert_true(irq == 1 || irq == 12);
	assert_int_not_equal(f->irq[irq], level);	/* only on changes */
	f->irq[irq] = level;
	f->irq_changes++;
}

static void on_reset(void *opaque)
{
	struct fixture *f = opaque;

	f->resets++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(bus__init(&f->pio, "pio"), 0);
	static const struct i8042_ops ops = { .reset = on_reset, .set_irq = on_irq };

	f->kbc = i8042__create(&ops, f);
	assert_non_null(f->kbc);
	assert_int_equal(i8042__register(f->kbc, &f->pio), 0);
	f->rtc = rtc__create();
	assert_non_null(f->rtc);
	assert_int_equal(rtc__register(f->rtc, &f->pio), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bus__destroy(&f->pio);
	i8042__free(f->kbc);
	rtc__free(f->rtc);
	free(f);
	return 0;
}

static uint8_t inb(struct fixture *f, uint16_t port)
{
	uint8_t v = 0;

	assert_true(bus__read(&f->pio, port, &v, 1));
	return v;
}

static void outb(struct fixture *f, uint16_t port, uint8_t v)
{
	assert_true(bus__write(&f->pio, port, &v, 1));
}

/* i8042_command(): command byte, then the result bytes by polling OBF. */
static uint8_t kbc_cmd_result(struct fixture *f, uint8_t cmd)
{
	outb(f, 0x64, cmd);
	assert_true(inb(f, 0x64) & STR_OBF);
	return inb(f, 0x60);
}

static void test_kbc_self_tests(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(inb(f, 0x64), STR_KEYLOCK | STR_SYS);
	assert_int_equal(kbc_cmd_result(f, 0xaa), 0x55);
	assert_int_equal(inb(f, 0x64), STR_KEYLOCK | STR_SYS | STR_CMD);
	assert_int_equal(kbc_cmd_result(f, 0xab), 0x00);
	assert_int_equal(kbc_cmd_result(f, 0xa9), 0x00);
	assert_int_equal(inb(f, 0x64) & STR_OBF, 0);
	/* Reading an empty buffer repeats the last byte. */
	assert_int_equal(inb(f, 0x60), 0x00);

	/* The system flag follows CTR bit 2; self test sets it again. */
	outb(f, 0x64, 0x60);
	outb(f, 0x60, 0x41);
	assert_int_equal(inb(f, 0x64), STR_KEYLOCK);
	assert_int_equal(kbc_cmd_result(f, 0xaa), 0x55);
	assert_true(inb(f, 0x64) & STR_SYS);
	assert_int_equal(kbc_cmd_result(f, 0x20), 0x45);
	assert_int_equal(f->resets, 0);
}

static void test_kbc_command_byte(void **state)
{
	struct fixture *f = *state;
	uint8_t ctr = kbc_cmd_result(f, 0x20);

	assert_int_equal(ctr, 0x65);	/* KBDINT|SYS|AUXDIS|XLATE */
	assert_int_equal(kbc_cmd_result(f, 0x20), ctr);	/* reads twice alike */
	outb(f, 0x64, 0x60);
	assert_int_equal(inb(f, 0x64) & STR_OBF, 0);
	outb(f, 0x60, 0x17);
	assert_int_equal(inb(f, 0x64) & STR_CMD, 0);
	assert_int_equal(kbc_cmd_result(f, 0x20), 0x17);
	/* The data byte went to the CTR, not to the keyboard. */
	assert_int_equal(inb(f, 0x64) & STR_OBF, 0);

	/* Port enable/disable show in the CTR (i8042_toggle_aux). */
	outb(f, 0x64, 0xa8);
	assert_int_equal(kbc_cmd_result(f, 0x20), 0x17 & ~0x20);
	outb(f, 0x64, 0xa7);
	assert_int_equal(kbc_cmd_result(f, 0x20) & 0x20, 0x20);
	outb(f, 0x64, 0xae);
	assert_int_equal(kbc_cmd_result(f, 0x20) & 0x10, 0x00);
	outb(f, 0x64, 0xad);
	assert_int_equal(kbc_cmd_result(f, 0x20) & 0x10, 0x10);

	/* Other internal RAM bytes. */
	outb(f, 0x64, 0x65);
	outb(f, 0x60, 0xc3);
	assert_int_equal(kbc_cmd_result(f, 0x25), 0xc3);
	assert_int_equal(kbc_cmd_result(f, 0x20) & 0x30, 0x30);
}

static void test_kbc_output_buffer(void **state)
{
	struct fixture *f = *state;
	int n = 0;

	/* 0xd3: a byte as if from the aux port carries AUXDATA. */
	outb(f, 0x64, 0xd3);
	outb(f, 0x60, 0x5a);
	assert_int_equal(inb(f, 0x64) & (STR_OBF | STR_AUXDATA),
			 STR_OBF | STR_AUXDATA);
	assert_int_equal(inb(f, 0x60), 0x5a);
	outb(f, 0x64, 0xd2);
	outb(f, 0x60, 0xa5);
	assert_int_equal(inb(f, 0x64) & (STR_OBF | STR_AUXDATA), STR_OBF);
	assert_int_equal(inb(f, 0x60), 0xa5);
	/* No aux device: 0xd4 bytes vanish. */
	outb(f, 0x64, 0xd4);
	outb(f, 0x60, 0xf4);
	assert_int_equal(inb(f, 0x64) & STR_OBF, 0);

	/* Bounded: i8042_flush gives up after 16 bytes. */
	for (int i = 0; i < 40; i++)
		outb(f, 0x64, 0xaa);
	while ((inb(f, 0x64) & STR_OBF) && n < 100) {
		assert_int_equal(inb(f, 0x60), 0x55);
		n++;
	}
	assert_true(n > 0 && n <= 16);

}

static void test_kbc_reset(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x64, 0xff);		/* pulses nothing */
	outb(f, 0x64, 0xad);
	outb(f, 0x64, 0xaa);
	(void)inb(f, 0x60);
	assert_int_equal(f->resets, 0);
	outb(f, 0x64, 0xfe);		/* reboot=k */
	assert_int_equal(f->resets, 1);
	outb(f, 0x64, 0xd0);
	assert_int_equal(inb(f, 0x60) & 0x01, 0x01);
	outb(f, 0x64, 0xd1);
	outb(f, 0x60, 0xdf);		/* A20 on, reset line kept high */
	assert_int_equal(f->resets, 1);
	outb(f, 0x64, 0xd1);
	outb(f, 0x60, 0xde);		/* reset line low */
	assert_int_equal(f->resets, 2);
}

static void expect_kbd(struct fixture *f, const uint8_t *bytes, int n)
{
	for (int i = 0; i < n; i++) {
		assert_true(inb(f, 0x64) & STR_OBF);
		assert_int_equal(inb(f, 0x60), bytes[i]);
	}
	assert_int_equal(inb(f, 0x64) & STR_OBF, 0);
}

static void test_kbd_commands(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x60, 0xf2);		/* identify, translated */
	expect_kbd(f, (const uint8_t[]){ 0xfa, 0xab, 0x41 }, 3);
	outb(f, 0x64, 0x60);
	outb(f, 0x60, 0x05);		/* translation off */
	outb(f, 0x60, 0xf2);
	expect_kbd(f, (const uint8_t[]){ 0xfa, 0xab, 0x83 }, 3);
	outb(f, 0x60, 0xed);		/* LEDs + parameter */
	outb(f, 0x60, 0x07);
	expect_kbd(f, (const uint8_t[]){ 0xfa, 0xfa }, 2);
	outb(f, 0x60, 0xf0);		/* set scan code set 3, read back */
	outb(f, 0x60, 0x03);
	outb(f, 0x60, 0xf0);
	outb(f, 0x60, 0x00);
	expect_kbd(f, (const uint8_t[]){ 0xfa, 0xfa, 0xfa, 0xfa, 0x03 }, 5);
	outb(f, 0x60, 0xff);		/* reset: ACK, BAT passed */
	expect_kbd(f, (const uint8_t[]){ 0xfa, 0xaa }, 2);
	outb(f, 0x60, 0xfe);		/* resend */
	expect_kbd(f, (const uint8_t[]){ 0xaa }, 1);
	outb(f, 0x60, 0xee);
	expect_kbd(f, (const uint8_t[]){ 0xee }, 1);
	outb(f, 0x60, 0x12);		/* unknown */
	expect_kbd(f, (const uint8_t[]){ 0xfe }, 1);
	outb(f, 0x60, 0xf4);
	expect_kbd(f, (const uint8_t[]){ 0xfa }, 1);
	assert_int_equal(f->resets, 0);
}

/* Linux's probe: aux loopback (0xd3) must raise IRQ 12 once the command
 * byte enables the aux interrupt; keyboard replies raise IRQ 1; reading
 * the data port lowers the line. */
static void test_kbc_irqs(void **state)
{
	struct fixture *f = *state;
	uint8_t ctr = kbc_cmd_result(f, 0x20);

	assert_int_equal(f->irq[1], 0);		/* the read above: IRQ 1 pulsed */
	assert_int_equal(f->irq_changes, 2);
	/* enable both interrupts */
	outb(f, 0x64, 0x60);
	outb(f, 0x60, (uint8_t)(ctr | 0x03));
	outb(f, 0x64, 0xd3);			/* write aux output buffer */
	outb(f, 0x60, 0x5a);
	assert_int_equal(f->irq[12], 1);
	assert_int_equal(f->irq[1], 0);
	assert_int_equal(inb(f, 0x64) & STR_AUXDATA, STR_AUXDATA);
	assert_int_equal(inb(f, 0x60), 0x5a);
	assert_int_equal(f->irq[12], 0);
	/* keyboard echo: IRQ 1 */
	outb(f, 0x60, 0xee);
	assert_int_equal(f->irq[1], 1);
	assert_int_equal(inb(f, 0x60), 0xee);
	assert_int_equal(f->irq[1], 0);
	/* with the keyboard interrupt disabled, no IRQ 1 */
	outb(f, 0x64, 0x60);
	outb(f, 0x60, (uint8_t)(ctr & ~0x03));
	outb(f, 0x60, 0xee);
	assert_int_equal(f->irq[1], 0);
	assert_int_equal(inb(f, 0x64) & STR_OBF, STR_OBF);
	/* enabling it while a byte waits raises the line */
	outb(f, 0x64, 0x60);
	assert_int_equal(f->irq[1], 0);
	outb(f, 0x60, (uint8_t)(ctr | 0x01));
	assert_int_equal(f->irq[1], 1);
}

static void test_kbc_register_conflict(void **state)
{
	struct fixture *f = *state;
	struct i8042 *other = i8042__create(NULL, NULL);
	struct bus pio;

	assert_non_null(other);
	assert_int_not_equal(i8042__register(other, &f->pio), 0);
	/* The first controller still owns its ports. */
	assert_int_equal(kbc_cmd_result(f, 0xaa), 0x55);

	/* 0x64 taken: the 0x60 registration is rolled back. */
	assert_int_equal(bus__init(&pio, "pio"), 0);
	assert_int_equal(bus__register(&pio, 0x64, 1, NULL, NULL), 0);
	assert_int_not_equal(i8042__register(other, &pio), 0);
	assert_int_equal(bus__register(&pio, 0x60, 1, NULL, NULL), 0);
	bus__destroy(&pio);
	i8042__free(other);
}

/* RTC */

static int bcd(uint8_t v)
{
	assert_true((v & 0x0f) <= 9 && (v >> 4) <= 9);
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t cmos_read(struct fixture *f, uint8_t index)
{
	outb(f, 0x70, index);
	return inb(f, 0x71);
}

static void cmos_write(struct fixture *f, uint8_t index, uint8_t val)
{
	outb(f, 0x70, index);
	outb(f, 0x71, val);
}

struct rtc_time {
	int sec, min, hour, wday, mday, mon, year, century;
};

/* Read the clock within one host second so the fields can be compared
 * exactly with gmtime (a second/minute rollover just retries). */
static void read_clock(struct fixture *f, int (*dec)(uint8_t),
		       struct rtc_time *t, struct tm *host)
{
	for (int tries = 0; tries < 5; tries++) {
		time_t t0 = time(NULL), t1;

		t->sec = dec(cmos_read(f, 0x00));
		t->min = dec(cmos_read(f, 0x02));
		t->hour = cmos_read(f, 0x04);	/* decoded by the caller */
		t->wday = dec(cmos_read(f, 0x06));
		t->mday = dec(cmos_read(f, 0x07));
		t->mon = dec(cmos_read(f, 0x08));
		t->year = dec(cmos_read(f, 0x09));
		t->century = dec(cmos_read(f, 0x32));
		t1 = time(NULL);
		if (t0 == t1) {
			assert_non_null(gmtime_r(&t0, host));
			return;
		}
	}
	fail_msg("host clock kept moving between reads");
}

static int binary(uint8_t v)
{
	return v;
}

static void check_date(const struct rtc_time *t, const struct tm *h)
{
	assert_int_equal(t->sec, h->tm_sec > 59 ? 59 : h->tm_sec);
	assert_int_equal(t->min, h->tm_min);
	assert_int_equal(t->wday, h->tm_wday + 1);
	assert_int_equal(t->mday, h->tm_mday);
	assert_int_equal(t->mon, h->tm_mon + 1);
	assert_int_equal(t->year, (h->tm_year + 1900) % 100);
	assert_int_equal(t->century, (h->tm_year + 1900) / 100);
}

static void test_rtc_bcd(void **state)
{
	struct fixture *f = *state;
	struct rtc_time t;
	struct tm h;

	read_clock(f, bcd, &t, &h);
	check_date(&t, &h);
	assert_int_equal(bcd((uint8_t)t.hour), h.tm_hour);
	assert_true(t.century >= 20);

	/* Clock writes are ignored. */
	cmos_write(f, 0x09, 0x99);
	cmos_write(f, 0x00, 0x77);
	read_clock(f, bcd, &t, &h);
	check_date(&t, &h);
}

static void test_rtc_binary_12h(void **state)
{
	struct fixture *f = *state;
	struct rtc_time t;
	struct tm h;
	int hour;

	cmos_write(f, 0x0b, 0x06);	/* binary, 24h */
	assert_int_equal(cmos_read(f, 0x0b), 0x06);
	read_clock(f, binary, &t, &h);
	check_date(&t, &h);
	assert_int_equal(t.hour, h.tm_hour);

	cmos_write(f, 0x0b, 0x04);	/* binary, 12h */
	read_clock(f, binary, &t, &h);
	check_date(&t, &h);
	hour = h.tm_hour % 12 ? h.tm_hour % 12 : 12;
	assert_int_equal(t.hour & 0x7f, hour);
	assert_int_equal(!!(t.hour & 0x80), h.tm_hour >= 12);

	cmos_write(f, 0x0b, 0x00);	/* BCD, 12h */
	read_clock(f, bcd, &t, &h);
	assert_int_equal(bcd(t.hour & 0x7f), hour);
	assert_int_equal(!!(t.hour & 0x80), h.tm_hour >= 12);
}

static void test_rtc_status_and_ram(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cmos_read(f, 0x0a), 0x26);
	assert_int_equal(cmos_read(f, 0x0b), 0x02);
	assert_int_equal(cmos_read(f, 0x0c), 0x00);
	assert_int_equal(cmos_read(f, 0x0d), 0x80);
	assert_int_equal(rtc__read_reg(f->rtc, 0x0d), 0x80);

	cmos_write(f, 0x0a, 0xa6);	/* UIP is read-only */
	assert_int_equal(cmos_read(f, 0x0a), 0x26);
	cmos_write(f, 0x0c, 0xff);
	cmos_write(f, 0x0d, 0x00);
	assert_int_equal(cmos_read(f, 0x0c), 0x00);
	assert_int_equal(cmos_read(f, 0x0d), 0x80);

	/* Plain CMOS RAM, alarm registers included; bit 7 of the index is
	 * the NMI mask and does not select a byte. */
	cmos_write(f, 0x40, 0x5a);
	cmos_write(f, 0x01, 0x30);
	cmos_write(f, 0x7f, 0xc3);
	assert_int_equal(cmos_read(f, 0xc0), 0x5a);
	assert_int_equal(cmos_read(f, 0x01), 0x30);
	assert_int_equal(cmos_read(f, 0x7f), 0xc3);
	assert_int_equal(rtc__read_reg(f->rtc, 0x40), 0x5a);
	assert_int_equal(inb(f, 0x70), 0xff);	/* index port: write-only */

	/* Word accesses over both ports: all ones, writes ignored. */
	uint8_t w[2] = { 0x0b, 0x00 };
	outb(f, 0x70, 0x40);
	assert_true(bus__write(&f->pio, 0x70, w, 2));
	assert_int_equal(inb(f, 0x71), 0x5a);	/* index and byte unchanged */
	assert_true(bus__read(&f->pio, 0x70, w, 2));
	assert_int_equal(w[0], 0xff);
	assert_int_equal(w[1], 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kbc_self_tests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kbc_command_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kbc_output_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kbc_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kbd_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kbc_irqs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kbc_register_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtc_bcd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtc_binary_12h, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtc_status_and_ram, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
