/* uart8250.h — a 16550A UART as the guest's ttyS0 (port 0x3f8, IRQ 4).
 *
 * The register model is faithful enough for Linux's 8250 driver probe and
 * autoconfig (scratch register, IER/IIR, FCR/FIFO detection, LCR/DLAB,
 * MCR loopback, LSR, MSR) and raises the THRE and RX-data interrupts on
 * its IRQ line. It knows nothing of KVM or terminals: output bytes and the
 * interrupt line go through callbacks, so unit tests drive it directly.
 */
#ifndef DEVICES_UART8250_H
#define DEVICES_UART8250_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"

#define UART8250_COM1_BASE 0x3f8
#define UART8250_COM1_IRQ  4
#define UART8250_NR_REGS   8

struct uart8250;

struct uart8250_ops {
	/* Drive the IRQ line (level 1 while an enabled interrupt is pending). */
	void (*set_irq)(void *opaque, int level);
	/* Bytes the guest transmitted (THR writes, not in loopback). */
	void (*tx)(void *opaque, const uint8_t *buf, size_t len);
	/* Room appeared in the receive FIFO after being full (optional). */
	void (*rx_ready)(void *opaque);
};

struct uart8250 *uart8250__create(const struct uart8250_ops *ops, void *opaque);
void uart8250__free(struct uart8250 *u);

/* The bus ops for the 8 registers; dev = the struct uart8250 *. */
extern const struct bus_dev_ops uart8250__bus_ops;

/* Host -> guest: queue bytes in the receive FIFO. Returns how many were
 * accepted (fewer than len when the FIFO is full). Thread-safe. */
size_t uart8250__receive(struct uart8250 *u, const uint8_t *buf, size_t len);

/* Direct register access for tests: offset 0..7. */
uint8_t uart8250__read(struct uart8250 *u, unsigned offset);
void uart8250__write(struct uart8250 *u, unsigned offset, uint8_t val);

#endif
