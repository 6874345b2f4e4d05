/*
 * cmos.h - the Motorola MC146818 real-time clock and its 128 bytes of CMOS
 * RAM (ports 0x70 index / 0x71 data; bit 7 of the index byte is the NMI
 * mask, which is kept and readable through cmos_nmi_masked()).
 *
 * The time of day follows the virtual clock from a start time given at
 * creation (host time, UTC or local, or a fixed date for deterministic
 * runs). Registers A-D: update-in-progress, periodic rates, binary/BCD and
 * 12/24-hour formats, the SET bit, periodic/alarm/update-ended interrupts on
 * IRQ 8, flags cleared by reading register C. The machine fills the BIOS
 * bytes (memory sizes, disks, boot order) with cmos_set().
 *
 * Use:
 *     Cmos *c = cmos_new(&clock, pic_irq_line(pic, 8), time(NULL));
 *     cmos_register(c, bus);
 *     cmos_set(c, 0x15, 0x80);   // base memory: 640 KiB
 */
#ifndef BT86_CMOS_H
#define BT86_CMOS_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/clock.h"
#include "devices/irq.h"

typedef struct Cmos Cmos;

/* start_time: seconds since the Unix epoch that the clock shows at virtual time 0
 * (interpreted as the RTC's own wall-clock time: pass UTC or local time as wanted). */
Cmos *cmos_new(VClock *clock, IrqLine irq8, int64_t start_time);
/* The RESET pin: interrupt enables and flags cleared; time and RAM kept. */
void cmos_reset(Cmos *c);
void cmos_free(Cmos *c);
int cmos_register(Cmos *c, IoBus *bus);
void cmos_set(Cmos *c, uint8_t index, uint8_t value);
uint8_t cmos_get(Cmos *c, uint8_t index);
bool cmos_nmi_masked(const Cmos *c);

uint32_t cmos_port_read(void *opaque, uint16_t port, unsigned size);
void cmos_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);

/* Snapshot section (snap/snap.h): CMOS RAM, index, NMI mask, the clock's
 * base and both timers. cmos_load validates, and commits only with r->apply. */
struct SnapWriter;
struct SnapReader;
void cmos_save(const Cmos *c, struct SnapWriter *w);
bool cmos_load(Cmos *c, struct SnapReader *r);

#endif
