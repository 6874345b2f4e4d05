/*
 * cmos.c - MC146818 RTC + CMOS RAM (see cmos.h).
 *
 * The clock is `base` seconds (the RTC's calendar time at virtual time 0)
 * plus elapsed virtual seconds. Time registers are computed on read; a
 * guest that sets the time (SET=1, write registers, SET=0) moves `base`.
 * Update-ended and alarm interrupts are raised by a timer at every second
 * boundary; the periodic interrupt by a timer at the rate of register A.
 */
#include "devices/cmos.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "snap/snap.h"

enum {
    RTC_SEC = 0x00, RTC_SEC_ALARM = 0x01, RTC_MIN = 0x02, RTC_MIN_ALARM = 0x03,
    RTC_HOUR = 0x04, RTC_HOUR_ALARM = 0x05, RTC_WDAY = 0x06, RTC_MDAY = 0x07,
    RTC_MONTH = 0x08, RTC_YEAR = 0x09, RTC_REG_A = 0x0A, RTC_REG_B = 0x0B,
    RTC_REG_C = 0x0C, RTC_REG_D = 0x0D, RTC_CENTURY = 0x32,
};
#define REGA_UIP  0x80
#define REGB_SET  0x80
#define REGB_PIE  0x40
#define REGB_AIE  0x20
#define REGB_UIE  0x10
#define REGB_DM   0x04 /* binary mode */
#define REGB_24H  0x02
#define REGC_IRQF 0x80
#define REGC_PF   0x40
#define REGC_AF   0x20
#define REGC_UF   0x10

#define NS_PER_SEC 1000000000ull
#define UIP_NS 244000ull /* update-in-progress window before each second */

struct Cmos {
    uint8_t ram[128];
    uint8_t index;
    bool nmi_masked;
    int64_t base; /* calendar seconds at virtual time 0 */
    VClock *clock;
    IrqLine irq;
    Timer update_timer, periodic_timer;
};

static int64_t now_seconds(const Cmos *c) {
    return c->base + (int64_t)(vclock_now(c->clock) / NS_PER_SEC);
}

static uint8_t to_reg(const Cmos *c, int v) {
    if (c->ram[RTC_REG_B] & REGB_DM) return (uint8_t)v;
    return (uint8_t)((v / 10) << 4 | (v % 10));
}
static int from_reg(const Cmos *c, uint8_t v) {
    if (c->ram[RTC_REG_B] & REGB_DM) return v;
    return (v >> 4) * 10 + (v & 0xF);
}

/* Fill the time registers from the current calendar time. */
static void time_to_regs(Cmos *c) {
    time_t t = (time_t)now_seconds(c);
    struct tm tm;
    gmtime_r(&t, &tm);
    c->ram[RTC_SEC] = to_reg(c, tm.tm_sec);
    c->ram[RTC_MIN] = to_reg(c, tm.tm_min);
    if (c->ram[RTC_REG_B] & REGB_24H) {
        c->ram[RTC_HOUR] = to_reg(c, tm.tm_hour);
    } else {
        int h = tm.tm_hour % 12;
        c->ram[RTC_HOUR] = (uint8_t)(to_reg(c, h ? h : 12) | (tm.tm_hour >= 12 ? 0x80 : 0));
    }
    c->ram[RTC_WDAY] = to_reg(c, tm.tm_wday + 1);
    c->ram[RTC_MDAY] = to_reg(c, tm.tm_mday);
    c->ram[RTC_MONTH] = to_reg(c, tm.tm_mon + 1);
    c->ram[RTC_YEAR] = to_reg(c, tm.tm_year % 100);
    c->ram[RTC_CENTURY] = to_reg(c, (tm.tm_year + 1900) / 100);
}

/* The guest finished setting the time (SET 1 -> 0): move base. */
static void regs_to_time(Cmos *c) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_sec = from_reg(c, c->ram[RTC_SEC]);
    tm.tm_min = from_reg(c, c->ram[RTC_MIN]);
    uint8_t h = c->ram[RTC_HOUR];
    if (c->ram[RTC_REG_B] & REGB_24H) {
        tm.tm_hour = from_reg(c, h);
    } else {
        int hour = from_reg(c, h & 0x7F) % 12;
        tm.tm_hour = hour + ((h & 0x80) ? 12 : 0);
    }
    tm.tm_mday = from_reg(c, c->ram[RTC_MDAY]);
    tm.tm_mon = from_reg(c, c->ram[RTC_MONTH]) - 1;
    int year = from_reg(c, c->ram[RTC_YEAR]) + 100 * from_reg(c, c->ram[RTC_CENTURY]);
    tm.tm_year = year - 1900;
    time_t t = timegm(&tm);
    c->base = (int64_t)t - (int64_t)(vclock_now(c->clock) / NS_PER_SEC);
}

static void update_irq(Cmos *c) {
    uint8_t b = c->ram[RTC_REG_B], f = c->ram[RTC_REG_C];
    bool irqf = ((f & REGC_PF) && (b & REGB_PIE)) || ((f & REGC_AF) && (b & REGB_AIE)) ||
                ((f & REGC_UF) && (b & REGB_UIE));
    c->ram[RTC_REG_C] = (uint8_t)((f & ~REGC_IRQF) | (irqf ? REGC_IRQF : 0));
    irq_set(&c->irq, irqf);
}

/* Periodic interval in ns for rate select 1-15 of register A, or 0 if off. */
static uint64_t periodic_ns(const Cmos *c) {
    unsigned rate = c->ram[RTC_REG_A] & 0xF;
    if (rate == 0) return 0;
    if (rate < 3) rate += 7; /* 1 and 2 repeat rates 8 and 9 (256 Hz, 128 Hz) */
    return (NS_PER_SEC << (rate - 1)) / 32768;
}

static void periodic_arm(Cmos *c) {
    uint64_t p = periodic_ns(c);
    if (!p || !(c->ram[RTC_REG_B] & REGB_PIE)) {
        timer_del(&c->periodic_timer);
        return;
    }
    uint64_t now = vclock_now(c->clock);
    timer_mod(&c->periodic_timer, (now / p + 1) * p);
}

static void periodic_fire(void *opaque) {
    Cmos *c = opaque;
    c->ram[RTC_REG_C] |= REGC_PF;
    update_irq(c);
    periodic_arm(c);
}

static bool alarm_matches(const Cmos *c) {
    static const uint8_t pairs[3][2] = {{RTC_SEC_ALARM, RTC_SEC}, {RTC_MIN_ALARM, RTC_MIN},
                                        {RTC_HOUR_ALARM, RTC_HOUR}};
    for (int i = 0; i < 3; i++) {
        uint8_t a = c->ram[pairs[i][0]];
        if ((a & 0xC0) == 0xC0) continue; /* don't care */
        if (a != c->ram[pairs[i][1]]) return false;
    }
    return true;
}

static void update_fire(void *opaque) {
    Cmos *c = opaque;
    if (!(c->ram[RTC_REG_B] & REGB_SET)) {
        time_to_regs(c);
        c->ram[RTC_REG_C] |= REGC_UF;
        if (alarm_matches(c)) c->ram[RTC_REG_C] |= REGC_AF;
        update_irq(c);
    }
    timer_mod(&c->update_timer, (vclock_now(c->clock) / NS_PER_SEC + 1) * NS_PER_SEC);
}

void cmos_reset(Cmos *c) {
    /* The MC146818's RESET input clears the interrupt enables, the square
     * wave output and the flags; the clock and the RAM keep running on
     * their battery. */
    c->ram[RTC_REG_B] &= (uint8_t) ~(REGB_PIE | REGB_AIE | REGB_UIE | 0x08);
    c->ram[RTC_REG_C] = 0;
    c->index = 0;
    c->nmi_masked = false;
    periodic_arm(c);
    update_irq(c);
}

Cmos *cmos_new(VClock *clock, IrqLine irq8, int64_t start_time) {
    Cmos *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->clock = clock;
    c->irq = irq8;
    c->base = start_time - (int64_t)(vclock_now(clock) / NS_PER_SEC);
    c->ram[RTC_REG_A] = 0x26; /* 32.768 kHz divider, 1024 Hz periodic rate */
    c->ram[RTC_REG_B] = REGB_24H;
    c->ram[RTC_REG_D] = 0x80; /* valid RAM and time */
    timer_init(&c->update_timer, clock, update_fire, c);
    timer_init(&c->periodic_timer, clock, periodic_fire, c);
    timer_mod(&c->update_timer, (vclock_now(clock) / NS_PER_SEC + 1) * NS_PER_SEC);
    time_to_regs(c);
    return c;
}

void cmos_free(Cmos *c) {
    if (!c) return;
    timer_del(&c->update_timer);
    timer_del(&c->periodic_timer);
    free(c);
}

void cmos_set(Cmos *c, uint8_t index, uint8_t value) { c->ram[index & 0x7F] = value; }
uint8_t cmos_get(Cmos *c, uint8_t index) { return c->ram[index & 0x7F]; }
bool cmos_nmi_masked(const Cmos *c) { return c->nmi_masked; }

static bool is_time_reg(uint8_t i) { return i <= RTC_YEAR || i == RTC_CENTURY; }

uint32_t cmos_port_read(void *opaque, uint16_t port, unsigned size) {
    Cmos *c = opaque;
    (void)size;
    if (port == 0x70) return 0xFF; /* the index register is write-only */
    uint8_t i = c->index;
    if (is_time_reg(i) && !(c->ram[RTC_REG_B] & REGB_SET)) time_to_regs(c);
    if (i == RTC_REG_A) {
        uint64_t frac = vclock_now(c->clock) % NS_PER_SEC;
        bool uip = !(c->ram[RTC_REG_B] & REGB_SET) && frac >= NS_PER_SEC - UIP_NS;
        return (c->ram[RTC_REG_A] & 0x7F) | (uip ? REGA_UIP : 0);
    }
    if (i == RTC_REG_C) {
        uint8_t v = c->ram[RTC_REG_C];
        c->ram[RTC_REG_C] = 0;
        update_irq(c);
        return v;
    }
    return c->ram[i];
}

void cmos_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    Cmos *c = opaque;
    (void)size;
    uint8_t v = (uint8_t)val;
    if (port == 0x70) {
        c->index = v & 0x7F;
        c->nmi_masked = v & 0x80;
        return;
    }
    uint8_t i = c->index;
    switch (i) {
    case RTC_REG_A:
        c->ram[i] = v & 0x7F; /* UIP is read-only */
        periodic_arm(c);
        break;
    case RTC_REG_B: {
        bool was_set = c->ram[i] & REGB_SET;
        if (!was_set && (v & REGB_SET)) time_to_regs(c); /* freeze the current time */
        c->ram[i] = v;
        if (v & REGB_SET) c->ram[i] &= (uint8_t)~REGB_UIE; /* SET clears UIE */
        if (was_set && !(v & REGB_SET)) regs_to_time(c);
        update_irq(c);
        periodic_arm(c);
        break;
    }
    case RTC_REG_C:
    case RTC_REG_D: break; /* read-only */
    default: {
        /* Writing a time register outside SET mode sets the clock at once. */
        bool live = is_time_reg(i) && !(c->ram[RTC_REG_B] & REGB_SET);
        if (live) time_to_regs(c);
        c->ram[i] = v;
        if (live) regs_to_time(c);
        break;
    }
    }
}

int cmos_register(Cmos *c, IoBus *bus) {
    return iobus_register(bus, 0x70, 2, cmos_port_read, cmos_port_write, c);
}

/* ---------------- snapshots ---------------- */

void cmos_save(const Cmos *c, SnapWriter *w) {
    snap_put_bytes(w, c->ram, sizeof c->ram);
    snap_put_u8(w, c->index);
    snap_put_bool(w, c->nmi_masked);
    snap_put_u64(w, (uint64_t)c->base);
    timer_save(&c->update_timer, w);
    timer_save(&c->periodic_timer, w);
}

bool cmos_load(Cmos *c, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    uint8_t ram[128];
    snap_get_bytes(r, ram, sizeof ram);
    uint8_t index = snap_get_u8(r);
    bool nmi_masked = snap_get_bool(r);
    int64_t base = (int64_t)snap_get_u64(r);
    TimerSnap update, periodic;
    timer_load(r, &update);
    timer_load(r, &periodic);
    snap_check(r, index < 128, "index out of range");
    snap_check(r, base > -((int64_t)1 << 40) && base < ((int64_t)1 << 40),
               "clock base out of range");
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    memcpy(c->ram, ram, sizeof ram);
    c->index = index;
    c->nmi_masked = nmi_masked;
    c->base = base;
    timer_restore(&c->update_timer, &update);
    timer_restore(&c->periodic_timer, &periodic);
    return true;
}
