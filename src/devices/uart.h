/*
 * uart.h - the National Semiconductor 16550A UART (COM1 at 0x3F8 / IRQ 4,
 * COM2 at 0x2F8 / IRQ 3).
 *
 * 16-byte receive and transmit FIFOs with trigger levels, the four
 * interrupt sources with their priorities (line status, received data or
 * character timeout, transmitter empty, modem status), divisor latch,
 * loopback mode, and the PC's OUT2 gate on the IRQ line. Transmission is
 * immediate: each byte written to THR goes straight to the back end.
 *
 * The back end (stdio, file, pty: the front end's business) gets bytes
 * through `tx` and feeds input with uart_receive(), which accepts only what
 * fits in the receive FIFO, so no input is ever dropped: the back end keeps
 * the rest and offers it again when uart_can_receive() says there is room.
 *
 * Use:
 *     Uart *u = uart_new(0x3F8, &clock, pic_irq_line(pic, 4), serial_tx, backend);
 *     uart_register(u, bus);
 *     n = uart_receive(u, buf, len);
 */
#ifndef BT86_UART_H
#define BT86_UART_H

#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/clock.h"
#include "devices/irq.h"

typedef struct Uart Uart;
typedef void (*UartTxFn)(void *opaque, uint8_t byte);

Uart *uart_new(uint16_t base, VClock *clock, IrqLine irq, UartTxFn tx, void *tx_opaque);
void uart_free(Uart *u);
/* RESET (the MR pin): registers and FIFOs as at power-on, IRQ low. */
void uart_reset(Uart *u);
int uart_register(Uart *u, IoBus *bus);
/* Free space in the receive FIFO (0 while in loopback mode). */
size_t uart_can_receive(const Uart *u);
/* Feed received bytes; returns how many were accepted. */
size_t uart_receive(Uart *u, const uint8_t *buf, size_t len);

uint32_t uart_port_read(void *opaque, uint16_t port, unsigned size);
void uart_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);

/* Snapshot section (snap/snap.h): registers, the receive FIFO and the
 * character-timeout timer. uart_load validates, and commits only with
 * r->apply. */
struct SnapWriter;
struct SnapReader;
void uart_save(const Uart *u, struct SnapWriter *w);
bool uart_load(Uart *u, struct SnapReader *r);

#endif
