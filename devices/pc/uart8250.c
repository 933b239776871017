/* uart8250.c — a 16550A UART register model (see uart8250.h).
 *
 * What the guest sees:
 *  - RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, and DLL/DLM behind
 *    LCR.DLAB, with the reset values of a real 16550A;
 *  - FIFOs enabled through FCR bit 0 make IIR bits 7:6 read 11, which is
 *    how Linux's autoconfig tells a 16550A from older parts;
 *  - the transmitter is instantaneous: a THR write hands the byte to
 *    ops->tx at once and THR/TSR are always empty (LSR.THRE|TEMT), yet the
 *    THRE interrupt behaves as on hardware: it is raised by each THR write
 *    and by turning IER.ETBEI on, and cleared by reading IIR while IIR
 *    reports it (or by turning ETBEI off);
 *  - the receive FIFO is a 1024-byte ring (deeper than the real 16 bytes:
 *    the host side pushes bursts, and there is no baud-rate pacing), used in
 *    16450 mode too; uart8250__receive() applies backpressure and ops->rx_ready
 *    says when a full FIFO got room again;
 *  - MCR loopback routes THR into the receive FIFO (an overflow there sets
 *    LSR.OE, the only line error this model can produce) and makes MSR
 *    mirror MCR: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD; outside loopback
 *    the modem inputs read DCD|DSR|CTS. Delta bits follow changes and clear
 *    when MSR is read. Host bytes are still accepted during loopback (real
 *    parts disconnect SIN); Linux clears the FIFOs after its loopback test.
 *
 * The IRQ output is not gated by MCR.OUT2. On PCs OUT2 gates the line and
 * Linux does set it when opening the port, but QEMU and kvmtool do not gate,
 * and small guests written against them enable interrupts with MCR = 0.
 *
 * Locking: one mutex covers the registers. ops->tx and ops->set_irq are
 * called with it held (they must not call back into this UART);
 * ops->rx_ready is called after it is released, so it may call
 * uart8250__receive().
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pc/uart8250.h"
#include "vmm/log.h"

/* Register offsets. */
#define UART_RX		0	/* RBR (read), THR (write), DLL with DLAB */
#define UART_IER	1	/* DLM with DLAB */
#define UART_IIR	2	/* read */
#define UART_FCR	2	/* write */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_IER_RDI	0x01	/* received data available */
#define UART_IER_THRI	0x02	/* THR empty */
#define UART_IER_RLSI	0x04	/* receiver line status */
#define UART_IER_MSI	0x08	/* modem status */
#define UART_IER_MASK	0x0f

#define UART_IIR_NO_INT	0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_RX_TIMEOUT 0x0c
#define UART_IIR_FIFO	0xc0	/* both bits set: 16550A FIFOs enabled */

#define UART_FCR_ENABLE	0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_FCR_TRIGGER 0xc0

#define UART_LCR_DLAB	0x80

#define UART_MCR_DTR	0x01
#define UART_MCR_RTS	0x02
#define UART_MCR_OUT1	0x04
#define UART_MCR_OUT2	0x08
#define UART_MCR_LOOP	0x10
#define UART_MCR_MASK	0x1f

#define UART_LSR_DR	0x01
#define UART_LSR_OE	0x02
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40

#define UART_MSR_DCTS	0x01
#define UART_MSR_DDSR	0x02
#define UART_MSR_TERI	0x04
#define UART_MSR_DDCD	0x08
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80

#define UART_RX_FIFO_SIZE 1024	/* a power of two */

struct uart8250 {
	pthread_mutex_t lock;
	struct uart8250_ops ops;
	void *opaque;

	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t fcr;		/* enable + trigger bits as last programmed */
	uint8_t lsr_err;	/* latched line errors (OE), cleared by LSR read */
	uint8_t msr_lines;	/* modem inputs, MSR bits 7:4 */
	uint8_t msr_delta;	/* MSR bits 3:0, cleared by MSR read */
	bool thre_pending;	/* THRE interrupt condition */
	bool rx_blocked;	/* receive() hit a full FIFO; tell rx_ready */
	int irq_level;		/* last level given to set_irq */

	uint8_t rx[UART_RX_FIFO_SIZE];
	unsigned rx_head, rx_count;
	uint8_t last_rx;	/* RBR when the FIFO is empty */
};

/* Receive FIFO trigger levels selected by FCR bits 7:6. */
static const unsigned rx_trigger[4] = { 1, 4, 8, 14 };

static bool rx_full(const struct uart8250 *u)
{
	return u->rx_count == UART_RX_FIFO_SIZE;
}

static void rx_push(struct uart8250 *u, uint8_t byte)
{
	u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO_SIZE] = byte;
	u->rx_count++;
}

static uint8_t rx_pop(struct uart8250 *u)
{
	uint8_t byte = u->rx[u->rx_head];

	u->rx_head = (u->rx_head + 1) % UART_RX_FIFO_SIZE;
	u->rx_count--;
	return byte;
}

/* Interrupt identification, highest priority first. */
static uint8_t iir_source(const struct uart8250 *u)
{
	if ((u->ier & UART_IER_RLSI) && u->lsr_err)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count) {
		/* Below the trigger level the 16550A reports a character
		 * timeout instead; there is no timing here, so report it
		 * at once. Drivers treat both alike. */
		if ((u->fcr & UART_FCR_ENABLE) &&
		    u->rx_count < rx_trigger[u->fcr >> 6])
			return UART_IIR_RX_TIMEOUT;
		return UART_IIR_RDI;
	}
	if ((u->ier & UART_IER_THRI) && u->thre_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && u->msr_delta)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/* Call with the lock held after any state change. */
static void update_irq(struct uart8250 *u)
{
	int level = iir_source(u) != UART_IIR_NO_INT;

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->ops.set_irq)
		u->ops.set_irq(u->opaque, level);
}

/* Modem status inputs as the current MCR makes them. */
static uint8_t msr_inputs(uint8_t mcr)
{
	uint8_t lines = 0;

	if (!(mcr & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	if (mcr & UART_MCR_DTR)
		lines |= UART_MSR_DSR;
	if (mcr & UART_MCR_RTS)
		lines |= UART_MSR_CTS;
	if (mcr & UART_MCR_OUT1)
		lines |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2)
		lines |= UART_MSR_DCD;
	return lines;
}

static void set_msr_lines(struct uart8250 *u, uint8_t lines)
{
	uint8_t changed = u->msr_lines ^ lines;

	if (changed & UART_MSR_CTS)
		u->msr_delta |= UART_MSR_DCTS;
	if (changed & UART_MSR_DSR)
		u->msr_delta |= UART_MSR_DDSR;
	if (changed & UART_MSR_DCD)
		u->msr_delta |= UART_MSR_DDCD;
	/* TERI flags the trailing edge of RI only. */
	if ((changed & UART_MSR_RI) && !(lines & UART_MSR_RI))
		u->msr_delta |= UART_MSR_TERI;
	u->msr_lines = lines;
}

/* Empty the receive FIFO; returns true if rx_ready should be called. */
static bool rx_clear(struct uart8250 *u)
{
	bool wake = u->rx_blocked;

	u->rx_head = u->rx_count = 0;
	u->rx_blocked = false;
	return wake;
}

static void transmit(struct uart8250 *u, uint8_t byte)
{
	if (u->mcr & UART_MCR_LOOP) {
		if (rx_full(u))
			u->lsr_err |= UART_LSR_OE;
		else
			rx_push(u, byte);
	} else if (u->ops.tx) {
		u->ops.tx(u->opaque, &byte, 1);
	}
	/* The byte left THR at once: THR is empty again. */
	u->thre_pending = true;
}

/* Returns the value; *wake is set when rx_ready must be called. */
static uint8_t read_locked(struct uart8250 *u, unsigned offset, bool *wake)
{
	uint8_t val = 0xff, src;

	switch (offset) {
	case UART_RX:
		if (u->lcr & UART_LCR_DLAB) {
			val = u->dll;
			break;
		}
		if (u->rx_count) {
			u->last_rx = rx_pop(u);
			if (u->rx_blocked) {
				u->rx_blocked = false;
				*wake = true;
			}
		}
		val = u->last_rx;
		break;
	case UART_IER:
		val = (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR:
		src = iir_source(u);
		/* Reading IIR while it names THRE clears that interrupt. */
		if (src == UART_IIR_THRI)
			u->thre_pending = false;
		val = src;
		if (u->fcr & UART_FCR_ENABLE)
			val |= UART_IIR_FIFO;
		break;
	case UART_LCR:
		val = u->lcr;
		break;
	case UART_MCR:
		val = u->mcr;
		break;
	case UART_LSR:
		val = UART_LSR_THRE | UART_LSR_TEMT | u->lsr_err;
		if (u->rx_count)
			val |= UART_LSR_DR;
		u->lsr_err = 0;
		break;
	case UART_MSR:
		val = u->msr_lines | u->msr_delta;
		u->msr_delta = 0;
		break;
	case UART_SCR:
		val = u->scr;
		break;
	}
	update_irq(u);
	return val;
}

static void write_fcr(struct uart8250 *u, uint8_t val, bool *wake)
{
	/* Changing the FIFO enable bit resets both FIFOs. */
	if ((val ^ u->fcr) & UART_FCR_ENABLE)
		*wake |= rx_clear(u);
	if (!(val & UART_FCR_ENABLE)) {
		/* The other bits are only programmed with bit 0 set. */
		u->fcr = 0;
		return;
	}
	if (val & UART_FCR_CLEAR_RX)
		*wake |= rx_clear(u);
	/* UART_FCR_CLEAR_TX: the transmitter never holds anything. */
	u->fcr = val & (UART_FCR_ENABLE | UART_FCR_TRIGGER);
}

static void write_locked(struct uart8250 *u, unsigned offset, uint8_t val,
			 bool *wake)
{
	switch (offset) {
	case UART_RX:
		if (u->lcr & UART_LCR_DLAB)
			u->dll = val;
		else
			transmit(u, val);
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = val;
			break;
		}
		val &= UART_IER_MASK;
		/* Enabling ETBEI with THR empty (always, here) raises THRE;
		 * disabling it drops the pending condition. */
		if ((val ^ u->ier) & UART_IER_THRI)
			u->thre_pending = val & UART_IER_THRI;
		u->ier = val;
		break;
	case UART_FCR:
		write_fcr(u, val, wake);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		u->mcr = val & UART_MCR_MASK;
		set_msr_lines(u, msr_inputs(u->mcr));
		break;
	case UART_LSR:
	case UART_MSR:
		/* Writable only in factory test modes; ignored. */
		break;
	case UART_SCR:
		u->scr = val;
		break;
	}
	update_irq(u);
}

uint8_t uart8250__read(struct uart8250 *u, unsigned offset)
{
	bool wake = false;
	uint8_t val = 0xff;

	pthread_mutex_lock(&u->lock);
	if (offset < UART8250_NR_REGS)
		val = read_locked(u, offset, &wake);
	pthread_mutex_unlock(&u->lock);
	if (wake && u->ops.rx_ready)
		u->ops.rx_ready(u->opaque);
	return val;
}

void uart8250__write(struct uart8250 *u, unsigned offset, uint8_t val)
{
	bool wake = false;

	pthread_mutex_lock(&u->lock);
	if (offset < UART8250_NR_REGS)
		write_locked(u, offset, val, &wake);
	pthread_mutex_unlock(&u->lock);
	if (wake && u->ops.rx_ready)
		u->ops.rx_ready(u->opaque);
}

size_t uart8250__receive(struct uart8250 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	while (n < len && !rx_full(u))
		rx_push(u, buf[n++]);
	if (n < len)
		u->rx_blocked = true;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

static void bus_read(void *dev, uint64_t offset, uint8_t *data, uint32_t len)
{
	if (len != 1 || offset >= UART8250_NR_REGS) {
		memset(data, 0xff, len);
		return;
	}
	data[0] = uart8250__read(dev, (unsigned)offset);
}

static void bus_write(void *dev, uint64_t offset, const uint8_t *data,
		      uint32_t len)
{
	if (len != 1 || offset >= UART8250_NR_REGS)
		return;
	uart8250__write(dev, (unsigned)offset, data[0]);
}

const struct bus_dev_ops uart8250__bus_ops = {
	.read = bus_read,
	.write = bus_write,
};

struct uart8250 *uart8250__create(const struct uart8250_ops *ops, void *opaque)
{
	struct uart8250 *u = calloc(1, sizeof(*u));
	int err;

	if (!u) {
		pr_err("uart8250: out of memory");
		return NULL;
	}
	err = pthread_mutex_init(&u->lock, NULL);
	if (err) {
		pr_err("uart8250: mutex init failed (error %d)", err);
		free(u);
		return NULL;
	}
	if (ops)
		u->ops = *ops;
	u->opaque = opaque;
	/* Power-on state: divisor 12 (9600 baud), everything else clear. */
	u->dll = 12;
	u->msr_lines = msr_inputs(0);
	return u;
}

void uart8250__free(struct uart8250 *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}
