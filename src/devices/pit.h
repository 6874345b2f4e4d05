/*
 * pit.h - the Intel 8254 programmable interval timer (ports 0x40-0x43) and
 * the PC's system control port B (0x61: channel 2 gate, speaker enable,
 * refresh toggle, OUT2 status).
 *
 * Three 16-bit counters clocked at 1.193182 MHz, all six modes, binary and
 * BCD counting, LSB/MSB/word access, counter latch and read-back commands.
 * Counter values are computed from the virtual clock when read; a Timer
 * fires at each transition of channel 0's OUT, which drives IRQ 0.
 *
 * Use:
 *     Pit *pit = pit_new(&clock, pic_irq_line(pic, 0));
 *     pit_register(pit, bus);
 */
#ifndef BT86_PIT_H
#define BT86_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/clock.h"
#include "devices/irq.h"

#define PIT_HZ 1193182u

typedef struct Pit Pit;

Pit *pit_new(VClock *clock, IrqLine irq0);
/* RESET: no counts loaded, channel outputs as at power-on. */
void pit_reset(Pit *pit);
void pit_free(Pit *pit);
/* Claim ports 0x40-0x43 and 0x61. Returns 0 or -1. */
int pit_register(Pit *pit, IoBus *bus);
/* OUT pin of channel 0-2 now (tests, speaker). */
bool pit_out(Pit *pit, int channel);

uint32_t pit_port_read(void *opaque, uint16_t port, unsigned size);
void pit_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);

/* Snapshot section (snap/snap.h): the three channels, port 0x61 and the
 * IRQ 0 timer. pit_load validates, and commits only with r->apply. */
struct SnapWriter;
struct SnapReader;
void pit_save(const Pit *pit, struct SnapWriter *w);
bool pit_load(Pit *pit, struct SnapReader *r);

#endif
