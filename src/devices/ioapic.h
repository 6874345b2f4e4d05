/*
 * ioapic.h - the I/O APIC (82093AA-style, version 0x11, 24 input pins) at
 * 0xFEC00000: it turns interrupt pins into messages to local APICs.
 *
 * Registers through IOREGSEL (offset 0x00, the index) and IOWIN (0x10, the
 * data): 0 ID (bits 24-27), 1 version 0x00170011 (24 redirection entries),
 * 2 arbitration ID, 0x10 + 2n / 0x11 + 2n the 64-bit redirection entry of
 * pin n: vector, delivery mode (fixed, lowest priority, SMI, NMI, INIT,
 * ExtINT), destination mode (physical / logical), delivery status (always
 * idle: messages are delivered at once), polarity (stored; an IrqLine's
 * level always means "asserted", as devices raise it), remote IRR
 * (read-only), trigger mode, mask, destination (bits 56-63).
 *
 * Edge-triggered pins send a message on each rising edge while unmasked
 * (an edge while masked is lost); level-triggered pins send one while
 * asserted, unmasked and remote IRR is clear, set remote IRR, and the
 * local APIC's EOI of that vector (ioapic_eoi) clears it and sends again
 * if the pin is still asserted.
 *
 * Use:
 *     IoApic *io = ioapic_new(deliver, pc);   // deliver(opaque, dest, logical, mode, vec, level)
 *     physmem_add_mmio(pm, IOAPIC_BASE, IOAPIC_MMIO_SIZE, ioapic_mmio_read, ioapic_mmio_write, io);
 *     IrqLine pin2 = ioapic_irq_line(io, 2);
 */
#ifndef BT86_IOAPIC_H
#define BT86_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/irq.h"

#define IOAPIC_BASE      0xFEC00000u
#define IOAPIC_MMIO_SIZE 0x1000u
#define IOAPIC_PINS      24
#define IOAPIC_VERSION   0x00170011u

typedef struct IoApic IoApic;
/* Send an interrupt message on the APIC bus (to every local APIC). */
typedef void (*IoApicDeliverFn)(void *opaque, uint8_t dest, bool logical, int mode, uint8_t vector,
                                bool level);

IoApic *ioapic_new(IoApicDeliverFn deliver, void *opaque);
void ioapic_free(IoApic *io);
/* RESET: every entry masked, ID 0 (input levels stay). */
void ioapic_reset(IoApic *io);
IrqLine ioapic_irq_line(IoApic *io, int pin);
void ioapic_set_irq(IoApic *io, int pin, int level);
/* A local APIC's EOI of a level-triggered vector. */
void ioapic_eoi(IoApic *io, uint8_t vector);

uint32_t ioapic_mmio_read(void *opaque, uint32_t offset, unsigned size);
void ioapic_mmio_write(void *opaque, uint32_t offset, unsigned size, uint32_t val);

/* For tests: the raw redirection entry of a pin. */
uint64_t ioapic_redirection(const IoApic *io, int pin);

struct SnapWriter;
struct SnapReader;
void ioapic_save(const IoApic *io, struct SnapWriter *w);
bool ioapic_load(IoApic *io, struct SnapReader *r);

#endif
