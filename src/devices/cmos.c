/*
 * cmos.c - MC146818 RTC + CMOS RAM (see cmos.h).
 *
 * The clock is `base` seconds (the RTC's calendar time at virtual time 0)
 * plus elapsed virtual seconds. Time registers are computed on read; a
 * guest that sets the time (SET=1, write registers, SET=0) moves `base`.
 * The calendar is our own proleptic Gregorian arithmetic on 64-bit
 * integers (no gmtime/timegm), so every date a guest can write is kept:
 * any century byte 00-99 (years 0000-9999, and 9999 goes on to 0000),
 * binary or BCD, 12 or 24 hours.
 * Out-of-range fields (invalid BCD digits, day 0, month 13, ...) are
 * carried arithmetically, as timegm would. Two bytes keep what the guest
 * wrote, as on the chip: the century (plain RAM on the MC146818) until the
 * clock carries into the next century, and the day of week (which the chip
 * only counts 1-7 at midnight, whatever the date) until midnight; from
 * then on the weekday keeps its offset to the computed one. Changing the
 * binary/BCD or 12/24-hour format shows the time in the new format.
 * Update-ended and alarm interrupts are raised by a timer at every second
 * boundary; the periodic interrupt by a timer at the rate of register A.
 */
#include "devices/cmos.h"

#include <stdlib.h>
#include <string.h>

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
    int64_t base; /* calendar seconds at virtual time 0 (0 = 1970-01-01 00:00:00) */
    int64_t wday_offset;     /* weekday register minus the computed weekday (mod 7) */
    uint8_t held_century;    /* the century byte the guest wrote ... */
    int64_t held_century_at; /* ... shown while the computed century is this one */
    uint8_t held_wday;       /* the weekday byte the guest wrote ... */
    int64_t held_wday_at;    /* ... shown on this day (days since 1970-01-01) */
    VClock *clock;
    IrqLine irq;
    Timer update_timer, periodic_timer;
};

static int64_t now_seconds(const Cmos *c) {
    return c->base + (int64_t)(vclock_now(c->clock) / NS_PER_SEC);
}

static int64_t floor_div(int64_t a, int64_t b) {
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}
static int64_t floor_mod(int64_t a, int64_t b) {
    return a - floor_div(a, b) * b;
}

/* A calendar date in the proleptic Gregorian calendar. */
typedef struct {
    int64_t year;
    int month; /* 1-12 */
    int day;   /* 1-31 */
} CivilDate;

/* Days since 1970-01-01 of year/month/day; month and day may be out of
 * range (month 13 is January of the next year, day 0 the last of the
 * month before). Counted in 400-year eras from a year starting in March. */
static int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
    int64_t months = year * 12 + (month - 1);
    int64_t y = floor_div(months, 12);
    int64_t m = floor_mod(months, 12) + 1;
    if (m <= 2) y--;
    int64_t era = floor_div(y, 400);
    int64_t year_of_era = y - era * 400;
    int64_t month_from_march = (m + 9) % 12;
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468; /* 719468: 0000-03-01 to 1970-01-01 */
}

static CivilDate civil_from_days(int64_t days) {
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t day_of_era = z - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    CivilDate d;
    d.day = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    d.month = (int)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    d.year = year_of_era + era * 400 + (d.month <= 2);
    return d;
}

static bool binary_mode(const Cmos *c) {
    return c->ram[RTC_REG_B] & REGB_DM;
}

/* A register value in the current format: any v is accepted (BCD keeps the
 * last two decimal digits, binary the low byte). */
static uint8_t to_reg(const Cmos *c, int64_t v) {
    if (binary_mode(c)) return (uint8_t)floor_mod(v, 256);
    int64_t two_digits = floor_mod(v, 100);
    return (uint8_t)(two_digits / 10 << 4 | two_digits % 10);
}
/* A register's value; BCD digits A-F count as 10-15, as the arithmetic
 * of a decimal counter would. */
static int from_reg(const Cmos *c, uint8_t v) {
    if (binary_mode(c)) return v;
    return (v >> 4) * 10 + (v & 0xF);
}

/* No byte written by the guest is shown as it was written. */
static void forget_held_bytes(Cmos *c) {
    c->held_century_at = c->held_wday_at = INT64_MIN;
}

/* Fill the time registers from the current calendar time. */
static void time_to_regs(Cmos *c) {
    int64_t t = now_seconds(c);
    int64_t days = floor_div(t, 86400), secs = floor_mod(t, 86400);
    int hour = (int)(secs / 3600);
    c->ram[RTC_SEC] = to_reg(c, secs % 60);
    c->ram[RTC_MIN] = to_reg(c, secs / 60 % 60);
    if (c->ram[RTC_REG_B] & REGB_24H) {
        c->ram[RTC_HOUR] = to_reg(c, hour);
    } else {
        int h = hour % 12;
        c->ram[RTC_HOUR] = (uint8_t)(to_reg(c, h ? h : 12) | (hour >= 12 ? 0x80 : 0));
    }
    int64_t wday = floor_mod(days + 4 + c->wday_offset, 7); /* 1970-01-01: Thursday */
    c->ram[RTC_WDAY] = days == c->held_wday_at ? c->held_wday : to_reg(c, wday + 1);
    CivilDate d = civil_from_days(days);
    c->ram[RTC_MDAY] = to_reg(c, d.day);
    c->ram[RTC_MONTH] = to_reg(c, d.month);
    c->ram[RTC_YEAR] = to_reg(c, floor_mod(d.year, 100));
    int64_t century = floor_div(d.year, 100);
    c->ram[RTC_CENTURY] =
        century == c->held_century_at ? c->held_century : to_reg(c, floor_mod(century, 100));
}

/* The hour register as 0-23 (12-hour mode: 12 AM is 0, bit 7 is PM). */
static int hour_from_reg(const Cmos *c) {
    uint8_t h = c->ram[RTC_HOUR];
    if (c->ram[RTC_REG_B] & REGB_24H) return from_reg(c, h);
    return from_reg(c, h & 0x7F) % 12 + ((h & 0x80) ? 12 : 0);
}

/* The guest finished setting the time (SET 1 -> 0): move base, and keep
 * its weekday and century bytes. */
static void regs_to_time(Cmos *c) {
    int64_t century = from_reg(c, c->ram[RTC_CENTURY]);
    int64_t year = from_reg(c, c->ram[RTC_YEAR]) + 100 * century;
    int64_t days =
        days_from_civil(year, from_reg(c, c->ram[RTC_MONTH]), from_reg(c, c->ram[RTC_MDAY]));
    int64_t t = days * 86400 + hour_from_reg(c) * 3600 + from_reg(c, c->ram[RTC_MIN]) * 60 +
                from_reg(c, c->ram[RTC_SEC]);
    c->base = t - (int64_t)(vclock_now(c->clock) / NS_PER_SEC);
    int64_t now_days = floor_div(now_seconds(c), 86400);
    c->wday_offset = floor_mod(from_reg(c, c->ram[RTC_WDAY]) - 1 - (now_days + 4), 7);
    c->held_wday = c->ram[RTC_WDAY];
    c->held_wday_at = now_days;
    c->held_century = c->ram[RTC_CENTURY];
    c->held_century_at = floor_div(civil_from_days(now_days).year, 100);
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
    forget_held_bytes(c);
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
        if ((c->ram[i] ^ v) & (REGB_DM | REGB_24H)) forget_held_bytes(c);
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
