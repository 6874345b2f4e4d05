/*
 * pic.h - the PC's two cascaded Intel 8259A programmable interrupt
 * controllers (master at ports 0x20/0x21 with the slave on its IR2, slave at
 * 0xA0/0xA1) and the PIIX edge/level control registers (ELCR, 0x4D0/0x4D1).
 *
 * Devices get an IrqLine per input (IRQ 0-15) and raise/lower it; the CPU
 * asks pic_intr_pending() at instruction boundaries and calls pic_intr_ack()
 * for the INTA cycle, which returns the vector.
 *
 * Use:
 *     Pic *pic = pic_new();
 *     pic_register(pic, bus);
 *     cpu->irq_pending = pic_intr_pending; cpu->irq_ack = pic_intr_ack;
 *     cpu->irq_opaque = pic;
 *     IrqLine timer_irq = pic_irq_line(pic, 0);
 *
 * Implemented: ICW1-ICW4 initialisation, IMR, IRR/ISR reads (OCW3), poll
 * mode, specific and non-specific EOI, automatic EOI, priority rotation
 * (rotate on EOI, rotate in AEOI, set priority), special mask mode, special
 * fully nested mode, edge and level triggering (ELCR or ICW1.LTIM), spurious
 * IRQ 7 / IRQ 15 when a request vanishes before INTA.
 */
#ifndef BT86_PIC_H
#define BT86_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"

typedef struct Pic Pic;

Pic *pic_new(void);
/* RESET: both chips uninitialised (all edge triggered, nothing pending). */
void pic_reset(Pic *pic);
void pic_free(Pic *pic);
/* Claim ports 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1. Returns 0 or -1. */
int pic_register(Pic *pic, IoBus *bus);
/* Input line for IRQ 0-15. */
IrqLine pic_irq_line(Pic *pic, int irq);
void pic_set_irq(Pic *pic, int irq, int level);
/* The CPU side (opaque is the Pic). */
bool pic_intr_pending(void *opaque);
int pic_intr_ack(void *opaque);

/* Port handlers, exposed for unit tests that drive the chip without a bus. */
uint32_t pic_port_read(void *opaque, uint16_t port, unsigned size);
void pic_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);

/* Snapshot section (snap/snap.h): both chips' registers, input levels and
 * command state. pic_load validates, and commits only with r->apply. */
struct SnapWriter;
struct SnapReader;
void pic_save(const Pic *pic, struct SnapWriter *w);
bool pic_load(Pic *pic, struct SnapReader *r);

#endif
