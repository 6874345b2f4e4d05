/*
 * hpet.c - the HPET (see hpet.h).
 */
#include "devices/hpet.h"

#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

#define CFG_ENABLE 1ull
#define CFG_LEGACY 2ull

#define TN_LEVEL       (1ull << 1)
#define TN_INT_ENB     (1ull << 2)
#define TN_PERIODIC    (1ull << 3)
#define TN_PER_CAP     (1ull << 4)
#define TN_SIZE_CAP    (1ull << 5)
#define TN_VAL_SET     (1ull << 6)
#define TN_32BIT       (1ull << 8)
#define TN_ROUTE_SHIFT 9
#define TN_ROUTE       (0x1Full << TN_ROUTE_SHIFT)
#define TN_WMASK       (TN_LEVEL | TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_32BIT | TN_ROUTE)
#define TN_ROUTE_CAP   0x00FF0104ull /* I/O APIC pins 2, 8, 16-23 */
#define TN_FIXED       (TN_PER_CAP | TN_SIZE_CAP | TN_ROUTE_CAP << 32)

#define CAP_ID                                                                                     \
    ((uint64_t)HPET_PERIOD_FS << 32 | 0x8086u << 16 | 1u << 15 | 1u << 13 |                        \
     (HPET_TIMERS - 1) << 8 | 0x01)

typedef struct HpetTimer {
    struct Hpet *h;
    int n;
    uint64_t config; /* writable bits only; the fixed ones are ORed in on reads */
    uint64_t cmp, period;
    Timer timer;
    int asserted_on; /* the line this timer holds asserted: -1 none, 0-23 GSI, 24+k legacy k */
} HpetTimer;

struct Hpet {
    VClock *clk;
    HpetWiring wire;
    uint64_t config;
    uint64_t isr;
    uint64_t counter_base; /* counter value at base_ns (the value itself while halted) */
    uint64_t base_ns;
    HpetTimer t[HPET_TIMERS];
};

static bool running(const Hpet *h) {
    return (h->config & CFG_ENABLE) != 0;
}

uint64_t hpet_counter(const Hpet *h) {
    if (!running(h)) return h->counter_base;
    uint64_t now = vclock_now(h->clk);
    return h->counter_base + (now - h->base_ns) / HPET_NS_PER_TICK;
}

bool hpet_legacy(const Hpet *h) {
    return (h->config & CFG_LEGACY) != 0;
}

/* Which line timer t drives now: -1 none, 0-23 a GSI, 24 + k legacy path k. */
static int route_of(const HpetTimer *t) {
    if (hpet_legacy(t->h) && t->n < 2) return 24 + t->n;
    return (int)((t->config & TN_ROUTE) >> TN_ROUTE_SHIFT);
}

/* A route the guest may choose: those Tn_INT_ROUTE_CAP offers (and 0, the
 * reset value). Any other write leaves the field as it was, so it reads
 * back different, as the HPET specification says. */
static bool route_allowed(uint64_t config) {
    unsigned route = (unsigned)((config & TN_ROUTE) >> TN_ROUTE_SHIFT);
    return route == 0 || (TN_ROUTE_CAP >> route & 1);
}

static const IrqLine *line_of(Hpet *h, int route) {
    return route >= 24 ? &h->wire.legacy[route - 24] : &h->wire.gsi[route];
}

/* Level-triggered timers hold their line while their status bit is set. */
static void update_level(HpetTimer *t) {
    Hpet *h = t->h;
    bool want =
        (t->config & TN_LEVEL) && (t->config & TN_INT_ENB) && running(h) && (h->isr >> t->n & 1);
    int route = want ? route_of(t) : -1;
    if (route == t->asserted_on) return;
    if (t->asserted_on >= 0) irq_set(line_of(h, t->asserted_on), 0);
    t->asserted_on = route;
    if (route >= 0) irq_set(line_of(h, route), 1);
}

static void fire(HpetTimer *t) {
    Hpet *h = t->h;
    if (!(t->config & TN_INT_ENB)) return;
    if (t->config & TN_LEVEL) {
        h->isr |= 1ull << t->n;
        update_level(t);
    } else {
        const IrqLine *l = line_of(h, route_of(t));
        irq_set(l, 0); /* an edge: whatever the line was, it rises now */
        irq_set(l, 1);
        irq_set(l, 0);
    }
}

/* Arm timer t for the next counter match. */
static void arm(HpetTimer *t) {
    Hpet *h = t->h;
    if (!running(h)) {
        timer_del(&t->timer);
        return;
    }
    uint64_t now = vclock_now(h->clk);
    uint64_t elapsed = (now - h->base_ns) / HPET_NS_PER_TICK;
    uint64_t counter = h->counter_base + elapsed;
    uint64_t diff;
    if (t->config & TN_32BIT) {
        diff = (uint32_t)((uint32_t)t->cmp - (uint32_t)counter);
        if (diff == 0) diff = 1ull << 32;
    } else {
        diff = t->cmp - counter;
        if (diff == 0 || diff > (1ull << 62)) { /* already passed: not for 2^64 ticks */
            timer_del(&t->timer);
            return;
        }
    }
    timer_mod(&t->timer, h->base_ns + (elapsed + diff) * HPET_NS_PER_TICK);
}

static void expired(void *opaque) {
    HpetTimer *t = opaque;
    fire(t);
    if ((t->config & TN_PERIODIC) && t->period) {
        t->cmp += t->period;
        if (t->config & TN_32BIT) t->cmp = (uint32_t)t->cmp;
    }
    arm(t);
}

static void set_running(Hpet *h, bool on) {
    uint64_t now = vclock_now(h->clk);
    if (on) {
        h->base_ns = now;
    } else {
        h->counter_base = h->counter_base + (now - h->base_ns) / HPET_NS_PER_TICK;
    }
}

static uint64_t reg_read(Hpet *h, uint32_t reg) {
    switch (reg) {
    case 0x000: return CAP_ID;
    case 0x010: return h->config;
    case 0x020: return h->isr;
    case 0x0F0: return hpet_counter(h);
    default: break;
    }
    if (reg >= 0x100 && reg < 0x100 + 0x20 * HPET_TIMERS) {
        HpetTimer *t = &h->t[(reg - 0x100) / 0x20];
        switch (reg & 0x1F) {
        case 0x00: return t->config | TN_FIXED;
        case 0x08: return t->cmp;
        default: return 0; /* FSB route: no FSB delivery */
        }
    }
    return 0;
}

/* Write the bits of `mask` in register `reg`. */
static void reg_write(Hpet *h, uint32_t reg, uint64_t val, uint64_t mask) {
    if (reg == 0x010) {
        uint64_t old = h->config;
        h->config = ((old & ~mask) | (val & mask)) & (CFG_ENABLE | CFG_LEGACY);
        if ((old ^ h->config) & CFG_ENABLE) set_running(h, running(h));
        if (((old ^ h->config) & CFG_LEGACY) && h->wire.legacy_changed)
            h->wire.legacy_changed(h->wire.opaque, hpet_legacy(h));
        for (int i = 0; i < HPET_TIMERS; i++) {
            arm(&h->t[i]);
            update_level(&h->t[i]);
        }
        return;
    }
    if (reg == 0x020) { /* write 1 to clear */
        h->isr &= ~(val & mask);
        for (int i = 0; i < HPET_TIMERS; i++)
            update_level(&h->t[i]);
        return;
    }
    if (reg == 0x0F0) {
        if (running(h)) return; /* the counter is written while halted */
        h->counter_base = (h->counter_base & ~mask) | (val & mask);
        return;
    }
    if (reg < 0x100 || reg >= 0x100 + 0x20 * HPET_TIMERS) return;
    HpetTimer *t = &h->t[(reg - 0x100) / 0x20];
    switch (reg & 0x1F) {
    case 0x00: {
        uint64_t config = ((t->config & ~mask) | (val & mask)) & TN_WMASK;
        if (!route_allowed(config)) config = (config & ~TN_ROUTE) | (t->config & TN_ROUTE);
        t->config = config;
        if (t->config & TN_32BIT) {
            t->cmp = (uint32_t)t->cmp;
            t->period = (uint32_t)t->period;
        }
        if (!(t->config & TN_LEVEL)) h->isr &= ~(1ull << t->n);
        update_level(t);
        arm(t);
        break;
    }
    case 0x08: {
        if (t->config & TN_32BIT) mask &= 0xFFFFFFFFull;
        if (!(t->config & TN_PERIODIC) || (t->config & TN_VAL_SET))
            t->cmp = (t->cmp & ~mask) | (val & mask);
        t->period = (t->period & ~mask) | (val & mask);
        t->config &= ~TN_VAL_SET;
        arm(t);
        break;
    }
    default: break;
    }
}

uint32_t hpet_mmio_read(void *opaque, uint32_t offset, unsigned size) {
    Hpet *h = opaque;
    if (offset >= HPET_MMIO_SIZE) return 0;
    uint64_t v = reg_read(h, offset & ~7u) >> (8 * (offset & 7));
    return size >= 4 ? (uint32_t)v : (uint32_t)v & ((1u << (8 * size)) - 1);
}

void hpet_mmio_write(void *opaque, uint32_t offset, unsigned size, uint32_t val) {
    Hpet *h = opaque;
    if (offset >= HPET_MMIO_SIZE || (offset & 7) + size > 8) return;
    unsigned shift = 8 * (offset & 7);
    uint64_t mask = (size >= 4 ? 0xFFFFFFFFull : (1ull << (8 * size)) - 1) << shift;
    reg_write(h, offset & ~7u, (uint64_t)val << shift, mask);
}

Hpet *hpet_new(VClock *clk, const HpetWiring *wiring) {
    Hpet *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->clk = clk;
    if (wiring) h->wire = *wiring;
    for (int i = 0; i < HPET_TIMERS; i++) {
        h->t[i].h = h;
        h->t[i].n = i;
        h->t[i].asserted_on = -1;
        timer_init(&h->t[i].timer, clk, expired, &h->t[i]);
    }
    hpet_reset(h);
    return h;
}

void hpet_free(Hpet *h) {
    if (!h) return;
    for (int i = 0; i < HPET_TIMERS; i++)
        timer_del(&h->t[i].timer);
    free(h);
}

void hpet_reset(Hpet *h) {
    bool was_legacy = hpet_legacy(h);
    h->config = 0;
    h->isr = 0;
    h->counter_base = 0;
    h->base_ns = 0;
    for (int i = 0; i < HPET_TIMERS; i++) {
        HpetTimer *t = &h->t[i];
        t->config = 0;
        t->cmp = t->period = ~0ull;
        timer_del(&t->timer);
        update_level(t);
    }
    if (was_legacy && h->wire.legacy_changed) h->wire.legacy_changed(h->wire.opaque, false);
}

void hpet_save(const Hpet *h, SnapWriter *w) {
    snap_put_u64(w, h->config);
    snap_put_u64(w, h->isr);
    snap_put_u64(w, h->counter_base);
    snap_put_u64(w, h->base_ns);
    for (int i = 0; i < HPET_TIMERS; i++) {
        const HpetTimer *t = &h->t[i];
        snap_put_u64(w, t->config);
        snap_put_u64(w, t->cmp);
        snap_put_u64(w, t->period);
        snap_put_u8(w, (uint8_t)(t->asserted_on + 1));
        timer_save(&t->timer, w);
    }
}

bool hpet_load(Hpet *h, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    uint64_t config = snap_get_u64(r), isr = snap_get_u64(r);
    uint64_t counter_base = snap_get_u64(r), base_ns = snap_get_u64(r);
    uint64_t tc[HPET_TIMERS], cmp[HPET_TIMERS], period[HPET_TIMERS];
    int asserted[HPET_TIMERS];
    TimerSnap ts[HPET_TIMERS];
    for (int i = 0; i < HPET_TIMERS; i++) {
        tc[i] = snap_get_u64(r);
        cmp[i] = snap_get_u64(r);
        period[i] = snap_get_u64(r);
        asserted[i] = (int)snap_get_u8(r) - 1;
        timer_load(r, &ts[i]);
        snap_check(r, (tc[i] & ~TN_WMASK) == 0 && route_allowed(tc[i]) && asserted[i] <= 25,
                   "bad HPET timer");
    }
    snap_check(r, (config & ~(CFG_ENABLE | CFG_LEGACY)) == 0 && isr < (1u << HPET_TIMERS),
               "bad HPET configuration");
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    h->config = config; /* the machine's wiring section holds its own legacy-route state */
    h->isr = isr;
    h->counter_base = counter_base;
    h->base_ns = base_ns;
    for (int i = 0; i < HPET_TIMERS; i++) {
        HpetTimer *t = &h->t[i];
        t->config = tc[i];
        t->cmp = cmp[i];
        t->period = period[i];
        t->asserted_on = asserted[i];
        timer_restore(&t->timer, &ts[i]);
    }
    return true;
}
