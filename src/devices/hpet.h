/*
 * hpet.h - the High Precision Event Timer at 0xFED00000, as on QEMU's PC:
 * a 64-bit main counter at 100 MHz (period 10,000,000 fs) of virtual time
 * and 3 comparators.
 *
 * Registers (64 bits each, reached by 32-bit accesses to either half):
 * 0x000 capabilities and ID (vendor 0x8086, revision 1, 3 timers, 64-bit
 * counter, legacy replacement capable), 0x010 configuration (ENABLE_CNF
 * runs the counter, LEG_RT_CNF legacy replacement), 0x020 interrupt status
 * (level-triggered timers; write 1 to clear), 0x0F0 main counter (written
 * while halted), and per timer n at 0x100 + 0x20 n: configuration and
 * capabilities (level/edge, interrupt enable, periodic, set-value, 32-bit
 * mode, I/O APIC route; periodic capable, 64-bit capable; allowed routes
 * I/O APIC pins 2, 8 and 16-23), comparator (0x108), FSB route (0x110,
 * reads 0: FSB delivery is not implemented and not advertised).
 *
 * A comparator matches when the counter (its low 32 bits in 32-bit mode)
 * equals it: a one-shot timer fires then and again after the counter
 * wraps (2^32 ticks in 32-bit mode); a periodic timer adds its period to
 * the comparator each time (a comparator write sets the period, and the
 * comparator itself too when the timer is one-shot or VAL_SET_CNF is set).
 * Routing: with legacy replacement, timer 0 drives the IRQ 0 path (8259
 * IRQ 0 and I/O APIC pin 2) and timer 1 the IRQ 8 path, and the PIT and RTC
 * lose theirs (legacy_changed tells the machine); otherwise each timer
 * drives the GSI (I/O APIC pin) its route field names.
 *
 * Use:
 *     HpetWiring wire = {.legacy = {irq0, irq8}, .gsi = {...24 lines...},
 *                        .legacy_changed = fn, .opaque = pc};
 *     Hpet *h = hpet_new(&clock, &wire);
 *     physmem_add_mmio(pm, HPET_BASE, HPET_MMIO_SIZE, hpet_mmio_read, hpet_mmio_write, h);
 */
#ifndef BT86_HPET_H
#define BT86_HPET_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"
#include "devices/irq.h"

#define HPET_BASE        0xFED00000u
#define HPET_MMIO_SIZE   0x400u
#define HPET_TIMERS      3
#define HPET_PERIOD_FS   10000000u /* 10 ns: 100 MHz */
#define HPET_NS_PER_TICK 10u
#define HPET_GSI_LINES   24

typedef struct HpetWiring {
    IrqLine legacy[2];           /* legacy replacement: the IRQ 0 and IRQ 8 paths */
    IrqLine gsi[HPET_GSI_LINES]; /* I/O APIC pins (GSIs) a timer's route can name */
    void (*legacy_changed)(void *opaque, bool on);
    void *opaque;
} HpetWiring;

typedef struct Hpet Hpet;

Hpet *hpet_new(VClock *clk, const HpetWiring *wiring);
void hpet_free(Hpet *h);
void hpet_reset(Hpet *h);
uint32_t hpet_mmio_read(void *opaque, uint32_t offset, unsigned size);
void hpet_mmio_write(void *opaque, uint32_t offset, unsigned size, uint32_t val);
/* The main counter at the current virtual time. */
uint64_t hpet_counter(const Hpet *h);
bool hpet_legacy(const Hpet *h);

/* Snapshot section: registers and comparator timers. Loading does not
 * call legacy_changed: the machine restores its own routing state. */
struct SnapWriter;
struct SnapReader;
void hpet_save(const Hpet *h, struct SnapWriter *w);
bool hpet_load(Hpet *h, struct SnapReader *r);

#endif
