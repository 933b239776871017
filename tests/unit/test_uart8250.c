/* test_uart8250.c — the 16550A model against the register sequences that
 * Linux's 8250 driver uses (autoconfig, startup THRE test, interrupt
 * handler), plus receive backpressure and a two-thread receive/drain run. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "devices/pc/uart8250.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2,
       LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct rec {
	int level;		/* last level set */
	int irq_calls;		/* set_irq invocations */
	uint8_t tx[64];
	size_t tx_len;
	int rx_ready_calls;
};

static void rec_set_irq(void *opaque, int level)
{
	struct rec *r = opaque;

	r->level = level;
	r->irq_calls++;
}

static void rec_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct rec *r = opaque;

	for (size_t i = 0; i < len && r->tx_len < sizeof(r->tx); i++)
		r->tx[r->tx_len++] = buf[i];
}

static void rec_rx_ready(void *opaque)
{
	struct rec *r = opaque;

	r->rx_ready_calls++;
}

static const struct uart8250_ops rec_ops = {
	.set_irq = rec_set_irq,
	.tx = rec_tx,
	.rx_ready = rec_rx_ready,
};

struct fixture {
	struct uart8250 *u;
	struct rec rec;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->u = uart8250__create(&rec_ops, &f->rec);
	assert_non_null(f->u);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uart8250__free(f->u);
	free(f);
	return 0;
}

static void test_reset_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(uart8250__read(f->u, IER), 0x00);
	assert_int_equal(uart8250__read(f->u, IIR), 0x01);
	assert_int_equal(uart8250__read(f->u, LCR), 0x00);
	assert_int_equal(uart8250__read(f->u, MCR), 0x00);
	assert_int_equal(uart8250__read(f->u, LSR), 0x60);
	assert_int_equal(uart8250__read(f->u, MSR), 0xb0);
	assert_int_equal(f->rec.irq_calls, 0);
}

static void test_scratch(void **state)
{
	struct fixture *f = *state;

	uart8250__write(f->u, SCR, 0x5a);
	assert_int_equal(uart8250__read(f->u, SCR), 0x5a);
	uart8250__write(f->u, SCR, 0xa5);
	assert_int_equal(uart8250__read(f->u, SCR), 0xa5);
}

static void test_dlab(void **state)
{
	struct fixture *f = *state;

	uart8250__write(f->u, LCR, 0x80);
	uart8250__write(f->u, DLL, 0x01);
	uart8250__write(f->u, DLM, 0x02);
	assert_int_equal(uart8250__read(f->u, DLL), 0x01);
	assert_int_equal(uart8250__read(f->u, DLM), 0x02);
	assert_int_equal(f->rec.tx_len, 0);	/* DLL write is no THR write */

	uart8250__write(f->u, LCR, 0x03);
	assert_int_equal(uart8250__read(f->u, LCR), 0x03);
	assert_int_equal(uart8250__read(f->u, IER), 0x00);
	/* Only the low four IER bits exist (autoconfig's IER test). */
	uart8250__write(f->u, IER, 0xff);
	assert_int_equal(uart8250__read(f->u, IER), 0x0f);
	uart8250__write(f->u, IER, 0x00);

	uart8250__write(f->u, LCR, 0x83);
	assert_int_equal(uart8250__read(f->u, DLL), 0x01);
	assert_int_equal(uart8250__read(f->u, DLM), 0x02);
}

static void test_fifo_detect(void **state)
{
	struct fixture *f = *state;

	/* Autoconfig: LCR = 0xbf, FCR = enable, IIR >> 6 == 3 means 16550A. */
	uart8250__write(f->u, LCR, 0xbf);
	uart8250__write(f->u, FCR, 0x01);
	assert_int_equal(uart8250__read(f->u, IIR) >> 6, 3);
	/* 16550A vs 16650: the EFR read (offset 2 with LCR 0xbf) must not be 0. */
	assert_int_not_equal(uart8250__read(f->u, IIR), 0x00);
	uart8250__write(f->u, LCR, 0x00);
	/* No 64-byte FIFO bit (16750), no bit 4 (NS16550 EXCR1 test). */
	uart8250__write(f->u, FCR, 0x21);
	assert_int_equal(uart8250__read(f->u, IIR) & 0x30, 0x00);
	uart8250__write(f->u, FCR, 0x00);
	assert_int_equal(uart8250__read(f->u, IIR), 0x01);
}

static void test_thre_interrupt(void **state)
{
	struct fixture *f = *state;
	uint8_t iir1, iir2;

	uart8250__write(f->u, FCR, 0x01);
	/* serial8250_do_startup's THRE test. */
	uart8250__write(f->u, IER, 0x02);
	assert_int_equal(f->rec.level, 1);
	iir1 = uart8250__read(f->u, IIR);
	assert_int_equal(iir1, 0xc2);
	assert_int_equal(f->rec.level, 0);		/* reading IIR cleared it */
	assert_int_equal(uart8250__read(f->u, IIR), 0xc1);
	uart8250__write(f->u, IER, 0x00);
	uart8250__write(f->u, IER, 0x02);
	assert_int_equal(f->rec.level, 1);		/* re-asserted */
	iir2 = uart8250__read(f->u, IIR);
	assert_int_equal(iir2 & 0x01, 0);
	assert_int_equal(f->rec.level, 0);

	/* Transmit: each THR write goes out and re-raises THRE. */
	uart8250__write(f->u, THR, 'h');
	assert_int_equal(f->rec.level, 1);
	assert_int_equal(uart8250__read(f->u, LSR) & 0x60, 0x60);
	assert_int_equal(uart8250__read(f->u, IIR), 0xc2);
	assert_int_equal(f->rec.level, 0);
	uart8250__write(f->u, THR, 'i');
	assert_int_equal(f->rec.level, 1);
	/* __stop_tx: clearing ETBEI drops the line without an IIR read. */
	uart8250__write(f->u, IER, 0x00);
	assert_int_equal(f->rec.level, 0);
	assert_int_equal(uart8250__read(f->u, IIR), 0xc1);
	assert_int_equal(f->rec.tx_len, 2);
	assert_memory_equal(f->rec.tx, "hi", 2);

	/* With ETBEI off, THR writes never raise the line. */
	uart8250__write(f->u, THR, '!');
	assert_int_equal(f->rec.level, 0);
	assert_int_equal(f->rec.tx_len, 3);
}

static void test_rx_interrupt(void **state)
{
	struct fixture *f = *state;

	uart8250__write(f->u, IER, 0x01);
	assert_int_equal(f->rec.level, 0);
	assert_int_equal(uart8250__receive(f->u, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(f->rec.level, 1);
	assert_int_equal(uart8250__read(f->u, LSR) & 0x01, 0x01);
	assert_int_equal(uart8250__read(f->u, IIR), 0x04);
	assert_int_equal(f->rec.level, 1);		/* IIR read does not clear RX */
	assert_int_equal(uart8250__read(f->u, RBR), 'a');
	assert_int_equal(f->rec.level, 1);
	assert_int_equal(uart8250__read(f->u, RBR), 'b');
	assert_int_equal(f->rec.level, 0);
	assert_int_equal(uart8250__read(f->u, LSR) & 0x01, 0x00);
	assert_int_equal(uart8250__read(f->u, IIR), 0x01);
	/* An empty FIFO reads the last byte again. */
	assert_int_equal(uart8250__read(f->u, RBR), 'b');

	/* FIFO mode, trigger 8: below it the 16550A reports a timeout. */
	uart8250__write(f->u, FCR, 0x81);
	assert_int_equal(uart8250__receive(f->u, (const uint8_t *)"x", 1), 1);
	assert_int_equal(uart8250__read(f->u, IIR), 0xcc);
	assert_int_equal(uart8250__receive(f->u, (const uint8_t *)"1234567", 7), 7);
	assert_int_equal(uart8250__read(f->u, IIR), 0xc4);
	/* RX outranks THRE. */
	uart8250__write(f->u, IER, 0x03);
	assert_int_equal(uart8250__read(f->u, IIR), 0xc4);
	/* FCR clear-RX empties the FIFO; THRE is then reported. */
	uart8250__write(f->u, FCR, 0x83);
	assert_int_equal(uart8250__read(f->u, LSR) & 0x01, 0x00);
	assert_int_equal(f->rec.level, 1);
	assert_int_equal(uart8250__read(f->u, IIR), 0xc2);
	assert_int_equal(f->rec.level, 0);
}

static void test_rx_backpressure(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[1500];
	size_t n;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	n = uart8250__receive(f->u, buf, sizeof(buf));
	assert_true(n >= 1024 && n < sizeof(buf));
	assert_int_equal(uart8250__receive(f->u, buf + n, 1), 0);
	assert_int_equal(f->rec.rx_ready_calls, 0);

	assert_int_equal(uart8250__read(f->u, RBR), buf[0]);
	assert_int_equal(f->rec.rx_ready_calls, 1);
	assert_int_equal(uart8250__read(f->u, RBR), buf[1]);
	assert_int_equal(f->rec.rx_ready_calls, 1);	/* once per full episode */
	assert_int_equal(uart8250__receive(f->u, buf + n, 2), 2);
	n += 2;
	/* Order is preserved through the wrap of the ring. */
	for (size_t i = 2; i < n; i++)
		assert_int_equal(uart8250__read(f->u, RBR), buf[i]);
	assert_int_equal(uart8250__read(f->u, LSR) & 0x01, 0);
	assert_int_equal(f->rec.rx_ready_calls, 1);
	assert_int_equal(f->rec.irq_calls, 0);		/* IER was 0 throughout */

	/* A full FIFO dropped by FCR also reports room. */
	n = uart8250__receive(f->u, buf, sizeof(buf));
	assert_true(n < sizeof(buf));
	uart8250__write(f->u, FCR, 0x01);	/* enabling resets the FIFOs */
	assert_int_equal(f->rec.rx_ready_calls, 2);
	assert_int_equal(uart8250__read(f->u, LSR) & 0x01, 0);
}

static void test_loopback(void **state)
{
	struct fixture *f = *state;

	/* Autoconfig's loopback test: LOOP | OUT2 | RTS -> MSR 0x90. */
	uart8250__write(f->u, MCR, 0x1a);
	assert_int_equal(uart8250__read(f->u, MSR) & 0xf0, 0x90);
	uart8250__write(f->u, MCR, 0x15);	/* LOOP | OUT1 | DTR */
	assert_int_equal(uart8250__read(f->u, MSR),
			 0x40 | 0x20 | 0x08 | 0x02 | 0x01);
	assert_int_equal(uart8250__read(f->u, MSR), 0x60);	/* deltas cleared */
	uart8250__write(f->u, MCR, 0x11);	/* RI falls: TERI */
	assert_int_equal(uart8250__read(f->u, MSR), 0x20 | 0x04);

	/* THR -> RBR, nothing transmitted. */
	uart8250__write(f->u, THR, 0x42);
	assert_int_equal(f->rec.tx_len, 0);
	assert_int_equal(uart8250__read(f->u, LSR), 0x61);
	assert_int_equal(uart8250__read(f->u, RBR), 0x42);
	assert_int_equal(uart8250__read(f->u, LSR), 0x60);

	/* Leaving loopback: the inputs read DCD|DSR|CTS again. */
	uart8250__write(f->u, MCR, 0x03);
	assert_int_equal(uart8250__read(f->u, MSR) & 0xf0, 0xb0);
	assert_int_equal(uart8250__read(f->u, MSR), 0xb0);
	uart8250__write(f->u, THR, 0x43);
	assert_int_equal(f->rec.tx_len, 1);
	assert_int_equal(f->rec.tx[0], 0x43);
	assert_int_equal(uart8250__read(f->u, LSR) & 0x01, 0);
}

static void test_modem_status_interrupt(void **state)
{
	struct fixture *f = *state;

	uart8250__write(f->u, IER, 0x08);
	assert_int_equal(f->rec.level, 0);
	uart8250__write(f->u, MCR, 0x10);	/* all inputs drop */
	assert_int_equal(f->rec.level, 1);
	assert_int_equal(uart8250__read(f->u, IIR), 0x00);
	assert_int_equal(uart8250__read(f->u, MSR), 0x0b);
	assert_int_equal(f->rec.level, 0);
	assert_int_equal(uart8250__read(f->u, IIR), 0x01);
}

static void test_overrun_line_status(void **state)
{
	struct fixture *f = *state;
	uint8_t fill[1024];
	size_t n;

	memset(fill, 0x11, sizeof(fill));
	uart8250__write(f->u, IER, 0x04);
	uart8250__write(f->u, MCR, 0x10);
	n = uart8250__receive(f->u, fill, sizeof(fill));
	while (n < 4096 && uart8250__receive(f->u, fill, 1) == 1)
		n++;
	assert_int_equal(f->rec.level, 0);
	uart8250__write(f->u, THR, 0x99);	/* lost: FIFO full */
	assert_int_equal(f->rec.level, 1);
	assert_int_equal(uart8250__read(f->u, IIR), 0x06);
	assert_int_equal(uart8250__read(f->u, LSR), 0x63);
	assert_int_equal(f->rec.level, 0);
	assert_int_equal(uart8250__read(f->u, LSR), 0x61);	/* OE cleared */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(uart8250__read(f->u, RBR), 0x11);
	assert_int_equal(uart8250__read(f->u, LSR), 0x60);
}

static void test_irq_only_on_change(void **state)
{
	struct fixture *f = *state;

	uart8250__write(f->u, IER, 0x03);	/* THRE pending: 1 */
	assert_int_equal(f->rec.irq_calls, 1);
	uart8250__receive(f->u, (const uint8_t *)"abc", 3);
	uart8250__write(f->u, THR, 'z');
	uart8250__write(f->u, SCR, 1);
	(void)uart8250__read(f->u, LSR);
	(void)uart8250__read(f->u, IIR);	/* RX reported, THRE stays */
	(void)uart8250__read(f->u, RBR);
	(void)uart8250__read(f->u, RBR);
	assert_int_equal(f->rec.irq_calls, 1);
	(void)uart8250__read(f->u, RBR);	/* RX empty, THRE still pending */
	assert_int_equal(f->rec.irq_calls, 1);
	assert_int_equal(uart8250__read(f->u, IIR), 0x02);
	assert_int_equal(f->rec.irq_calls, 2);
	assert_int_equal(f->rec.level, 0);
	(void)uart8250__read(f->u, IIR);
	uart8250__write(f->u, IER, 0x01);
	assert_int_equal(f->rec.irq_calls, 2);
}

static void test_bus_ops(void **state)
{
	struct fixture *f = *state;
	uint8_t b = 0x77, w[2] = { 0, 0 };

	uart8250__bus_ops.write(f->u, SCR, &b, 1);
	b = 0;
	uart8250__bus_ops.read(f->u, SCR, &b, 1);
	assert_int_equal(b, 0x77);
	uart8250__bus_ops.read(f->u, SCR, w, 2);
	assert_int_equal(w[0], 0xff);
	assert_int_equal(w[1], 0xff);
	w[0] = 0x12;
	uart8250__bus_ops.write(f->u, SCR, w, 2);	/* ignored */
	assert_int_equal(uart8250__read(f->u, SCR), 0x77);
	uart8250__bus_ops.read(f->u, 8, &b, 1);
	assert_int_equal(b, 0xff);
	uart8250__bus_ops.write(f->u, 8, &b, 1);
	assert_int_equal(uart8250__read(f->u, 8), 0xff);
}

/* Two threads: a producer pushing with backpressure, woken by rx_ready,
 * and the main thread draining RBR like a polling driver. */
#define STREAM_LEN 200000

struct stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ready_gen;
	struct uart8250 *u;
	int error;
};

static void stream_rx_ready(void *opaque)
{
	struct stream *s = opaque;

	pthread_mutex_lock(&s->lock);
	s->ready_gen++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *producer(void *arg)
{
	struct stream *s = arg;
	uint8_t chunk[300];
	size_t sent = 0;

	while (sent < STREAM_LEN) {
		size_t len = STREAM_LEN - sent < sizeof(chunk) ?
			     STREAM_LEN - sent : sizeof(chunk);
		unsigned gen;
		size_t n;

		for (size_t i = 0; i < len; i++)
			chunk[i] = (uint8_t)((sent + i) % 251);
		pthread_mutex_lock(&s->lock);
		gen = s->ready_gen;
		pthread_mutex_unlock(&s->lock);
		n = uart8250__receive(s->u, chunk, len);
		sent += n;
		if (n == len)
			continue;
		/* Full: wait (bounded) for the drain to report room. */
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 20;
		pthread_mutex_lock(&s->lock);
		while (s->ready_gen == gen && !s->error)
			if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) == ETIMEDOUT)
				s->error = 1;
		pthread_mutex_unlock(&s->lock);
		if (s->error)
			break;
	}
	return NULL;
}

static void test_threaded_stream(void **state)
{
	struct stream s = { .lock = PTHREAD_MUTEX_INITIALIZER,
			    .cond = PTHREAD_COND_INITIALIZER };
	struct uart8250_ops ops = { .rx_ready = stream_rx_ready };
	size_t got = 0, polls = 0;
	pthread_t t;

	s.u = uart8250__create(&ops, &s);
	assert_non_null(s.u);
	assert_int_equal(pthread_create(&t, NULL, producer, &s), 0);
	while (got < STREAM_LEN && polls < 1000u * 1000 * 1000) {
		polls++;
		if (!(uart8250__read(s.u, LSR) & 0x01)) {
			pthread_mutex_lock(&s.lock);
			int err = s.error;
			pthread_mutex_unlock(&s.lock);
			if (err)
				break;
			continue;
		}
		uint8_t b = uart8250__read(s.u, RBR);
		if (b != (uint8_t)(got % 251))
			break;
		got++;
	}
	pthread_mutex_lock(&s.lock);
	s.error |= got != STREAM_LEN;
	pthread_cond_signal(&s.cond);
	pthread_mutex_unlock(&s.lock);
	pthread_join(t, NULL);
	assert_int_equal(got, STREAM_LEN);
	assert_int_equal(s.error, 0);
	uart8250__free(s.u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dlab, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_detect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modem_status_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrun_line_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_only_on_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_ops, setup, teardown),
		cmocka_unit_test(test_threaded_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
