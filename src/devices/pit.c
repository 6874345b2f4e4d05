/*
 * pit.c - the 8254 PIT and port 0x61 (see pit.h).
 *
 * A channel does not tick: it remembers when it started counting
 * (load_ns) and from which value, and computes its count and OUT level for
 * any virtual time. t = ticks elapsed since load_ns. With N the period
 * (0 means 65536, or 10000 in BCD) and S the start value:
 *   mode 0/1  count = S - t (wrapping), OUT rises at t = S and stays high
 *   mode 4/5  count = S - t (wrapping), OUT low for the single tick t = S
 *   mode 2    count = N - t mod N, OUT low for one tick when the count is 1
 *   mode 3    square wave: OUT high for ceil(N/2) ticks, low for floor(N/2),
 *             the count going down by 2 in each half
 * Modes 1 and 5 start on a rising edge of GATE (only channel 2's gate is
 * wired, to port 0x61 bit 0). Gate low stops modes 0/2/3/4 (2 and 3 force
 * OUT high and reload on the next rising edge).
 * Approximations (documented in docs/STATUS.md): a new count written in
 * modes 2/3 takes effect at once rather than at the end of the current
 * period; the count in mode 3 with an odd N is approximated.
 */
#include "devices/pit.h"

#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

typedef struct PitChannel {
    uint8_t mode, rw, bcd;
    uint32_t period;   /* N in ticks */
    uint32_t start;    /* S: count at load_ns (modes 0, 1, 4, 5) */
    uint64_t load_ns;
    bool counting;     /* a count is loaded (and, for modes 1/5, triggered) */
    bool gate;
    bool fired;        /* mode 0/1 reached terminal count before a gate stop */
    bool null_count;
    /* access state */
    bool write_msb_next;
    uint8_t write_lsb;
    bool read_msb_next;
    bool count_latched;
    uint16_t latched_count;
    bool status_latched;
    uint8_t status;
} PitChannel;

struct Pit {
    PitChannel ch[3];
    VClock *clock;
    Timer timer0;
    IrqLine irq0;
    uint8_t port61; /* bits 0-3 as written */
};

static uint64_t ticks_since(uint64_t from_ns, uint64_t now_ns) {
    if (now_ns <= from_ns) return 0;
    return (uint64_t)((unsigned __int128)(now_ns - from_ns) * PIT_HZ / 1000000000u);
}

static uint64_t ns_of_tick(uint64_t from_ns, uint64_t tick) {
    unsigned __int128 n = (unsigned __int128)tick * 1000000000u + (PIT_HZ - 1);
    return from_ns + (uint64_t)(n / PIT_HZ);
}

static uint32_t modulus(const PitChannel *c) { return c->bcd ? 10000u : 65536u; }

static uint64_t channel_ticks(const Pit *pit, const PitChannel *c) {
    return ticks_since(c->load_ns, vclock_now(pit->clock));
}

/* The count a read would see (binary, 0..65535). */
static uint32_t channel_count(const Pit *pit, const PitChannel *c) {
    if (!c->counting) return c->start % modulus(c);
    uint64_t t = channel_ticks(pit, c);
    uint32_t m = modulus(c), n = c->period;
    switch (c->mode) {
    case 2: return (n - (uint32_t)(t % n)) % m;
    case 3: {
        uint32_t high = (n + 1) / 2, phase = (uint32_t)(t % n);
        uint32_t v = phase < high ? n - 2 * phase : n - 2 * (phase - high);
        return (v & ~1u) % m;
    }
    default: return (uint32_t)((c->start + (uint64_t)m - t % m) % m);
    }
}

static bool channel_out(const Pit *pit, const PitChannel *c) {
    if (!c->counting) return c->mode == 0 ? c->fired : true;
    uint64_t t = channel_ticks(pit, c);
    uint32_t n = c->period;
    switch (c->mode) {
    case 0:
    case 1: return c->fired || t >= c->start;
    case 4:
    case 5: return t != c->start;
    case 2: return (t % n) != n - 1;
    default: return (t % n) < (n + 1) / 2; /* mode 3 */
    }
}

/* Tick of the next OUT transition after tick t, or UINT64_MAX. */
static uint64_t next_transition(const PitChannel *c, uint64_t t) {
    if (!c->counting) return UINT64_MAX;
    uint32_t n = c->period;
    uint64_t phase = t % n;
    switch (c->mode) {
    case 0:
    case 1: return (!c->fired && t < c->start) ? c->start : UINT64_MAX;
    case 4:
    case 5: return t < c->start ? c->start : t == c->start ? t + 1 : UINT64_MAX;
    case 2:
        if (n < 2) return UINT64_MAX;
        return phase < n - 1 ? t + (n - 1 - phase) : t + 1;
    default: {
        uint64_t high = (n + 1) / 2;
        if (n < 2) return UINT64_MAX;
        return phase < high ? t + (high - phase) : t + (n - phase);
    }
    }
}

/* Drive IRQ 0 from channel 0's OUT and arm the timer for its next change. */
static void channel0_update(Pit *pit) {
    PitChannel *c = &pit->ch[0];
    irq_set(&pit->irq0, channel_out(pit, c));
    uint64_t t = channel_ticks(pit, c);
    uint64_t next = next_transition(c, t);
    if (next == UINT64_MAX) timer_del(&pit->timer0);
    else timer_mod(&pit->timer0, ns_of_tick(c->load_ns, next));
}

static void timer0_fire(void *opaque) { channel0_update(opaque); }

void pit_reset(Pit *pit) {
    timer_del(&pit->timer0);
    memset(pit->ch, 0, sizeof pit->ch);
    pit->port61 = 0;
    for (int i = 0; i < 3; i++) {
        pit->ch[i].gate = i != 2; /* channel 2's gate comes from port 0x61 */
        pit->ch[i].mode = 3;
        pit->ch[i].rw = 3;
        pit->ch[i].period = 65536;
    }
    irq_set(&pit->irq0, 0);
}

Pit *pit_new(VClock *clock, IrqLine irq0) {
    Pit *pit = calloc(1, sizeof *pit);
    if (!pit) return NULL;
    pit->clock = clock;
    pit->irq0 = irq0;
    timer_init(&pit->timer0, clock, timer0_fire, pit);
    pit_reset(pit);
    return pit;
}

void pit_free(Pit *pit) {
    if (!pit) return;
    timer_del(&pit->timer0);
    free(pit);
}

bool pit_out(Pit *pit, int channel) { return channel_out(pit, &pit->ch[channel]); }

static uint32_t from_bcd(uint32_t v) {
    return (v & 0xF) + 10 * ((v >> 4) & 0xF) + 100 * ((v >> 8) & 0xF) + 1000 * ((v >> 12) & 0xF);
}
static uint16_t to_bcd(uint32_t v) {
    return (uint16_t)((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12);
}

static void start_counting(Pit *pit, PitChannel *c) {
    c->load_ns = vclock_now(pit->clock);
    c->start = c->period;
    c->fired = false;
    c->counting = c->gate;
}

static void load_count(Pit *pit, PitChannel *c, uint16_t raw) {
    uint32_t v = c->bcd ? from_bcd(raw) : raw;
    c->period = v ? v : modulus(c);
    c->null_count = false;
    if (c->mode == 1 || c->mode == 5) { /* armed: counting starts on a gate edge */
        c->start = c->period;
        return;
    }
    start_counting(pit, c);
}

static void write_control(Pit *pit, uint8_t v) {
    unsigned sc = v >> 6;
    if (sc == 3) { /* read-back */
        for (int i = 0; i < 3; i++) {
            if (!(v & (2u << i))) continue;
            PitChannel *c = &pit->ch[i];
            if (!(v & 0x20) && !c->count_latched) {
                uint32_t cnt = channel_count(pit, c);
                c->latched_count = c->bcd ? to_bcd(cnt) : (uint16_t)cnt;
                c->count_latched = true;
                c->read_msb_next = false;
            }
            if (!(v & 0x10) && !c->status_latched) {
                c->status = (uint8_t)((channel_out(pit, c) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
                                      c->rw << 4 | c->mode << 1 | c->bcd);
                c->status_latched = true;
            }
        }
        return;
    }
    PitChannel *c = &pit->ch[sc];
    unsigned rw = (v >> 4) & 3;
    if (rw == 0) { /* counter latch */
        if (!c->count_latched) {
            uint32_t cnt = channel_count(pit, c);
            c->latched_count = c->bcd ? to_bcd(cnt) : (uint16_t)cnt;
            c->count_latched = true;
            c->read_msb_next = false;
        }
        return;
    }
    c->rw = (uint8_t)rw;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5) c->mode -= 4; /* 6 and 7 are 2 and 3 */
    c->bcd = v & 1;
    c->counting = false;
    c->fired = false;
    c->null_count = true;
    c->write_msb_next = false;
    c->read_msb_next = false;
    c->count_latched = false;
    c->status_latched = false;
}

static void write_counter(Pit *pit, PitChannel *c, uint8_t v) {
    switch (c->rw) {
    case 1: load_count(pit, c, v); break;
    case 2: load_count(pit, c, (uint16_t)(v << 8)); break;
    default:
        if (!c->write_msb_next) {
            c->write_lsb = v;
            c->write_msb_next = true;
            if (c->mode == 0) c->counting = false; /* mode 0 stops on the first byte */
        } else {
            c->write_msb_next = false;
            load_count(pit, c, (uint16_t)(c->write_lsb | v << 8));
        }
        break;
    }
}

static uint8_t read_counter(Pit *pit, PitChannel *c) {
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t value;
    if (c->count_latched) {
        value = c->latched_count;
    } else {
        uint32_t cnt = channel_count(pit, c);
        value = c->bcd ? to_bcd(cnt) : (uint16_t)cnt;
    }
    uint8_t byte;
    switch (c->rw) {
    case 1: byte = value & 0xFF; c->count_latched = false; break;
    case 2: byte = value >> 8; c->count_latched = false; break;
    default:
        byte = c->read_msb_next ? value >> 8 : value & 0xFF;
        if (c->read_msb_next) c->count_latched = false;
        c->read_msb_next = !c->read_msb_next;
        break;
    }
    return byte;
}

static void set_gate2(Pit *pit, bool gate) {
    PitChannel *c = &pit->ch[2];
    if (gate == c->gate) return;
    if (!gate) {
        if (c->counting && (c->mode == 0 || c->mode == 4)) {
            c->fired = c->mode == 0 && channel_out(pit, c);
            c->start = channel_count(pit, c);
        }
        c->counting = false;
        c->gate = false;
        return;
    }
    c->gate = true;
    if (c->null_count) return; /* no count loaded yet */
    if (c->mode == 0 || c->mode == 4) { /* resume from where it stopped */
        c->load_ns = vclock_now(pit->clock);
        c->counting = true;
    } else {
        start_counting(pit, c); /* modes 1, 5: trigger; 2, 3: reload */
        c->counting = true;
    }
}

uint32_t pit_port_read(void *opaque, uint16_t port, unsigned size) {
    Pit *pit = opaque;
    (void)size;
    if (port == 0x61) {
        bool refresh = (vclock_now(pit->clock) / 15085u) & 1; /* toggles every ~15 us */
        return (pit->port61 & 0x0F) | (refresh ? 0x10 : 0) | (channel_out(pit, &pit->ch[2]) ? 0x20 : 0);
    }
    if (port == 0x43) return 0xFF; /* the control word register is write-only */
    return read_counter(pit, &pit->ch[port & 3]);
}

void pit_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    Pit *pit = opaque;
    (void)size;
    uint8_t v = (uint8_t)val;
    if (port == 0x61) {
        pit->port61 = v & 0x0F;
        set_gate2(pit, v & 1);
        return;
    }
    if (port == 0x43) write_control(pit, v);
    else write_counter(pit, &pit->ch[port & 3], v);
    channel0_update(pit);
}

int pit_register(Pit *pit, IoBus *bus) {
    if (iobus_register(bus, 0x40, 4, pit_port_read, pit_port_write, pit) < 0) return -1;
    return iobus_register(bus, 0x61, 1, pit_port_read, pit_port_write, pit);
}

/* ---------------- snapshots ---------------- */

static void channel_save(const PitChannel *c, SnapWriter *w) {
    snap_put_u8(w, c->mode);
    snap_put_u8(w, c->rw);
    snap_put_u8(w, c->bcd);
    snap_put_u32(w, c->period);
    snap_put_u32(w, c->start);
    snap_put_u64(w, c->load_ns);
    const bool flags[] = {c->counting,       c->gate,          c->fired,         c->null_count,
                          c->write_msb_next, c->read_msb_next, c->count_latched, c->status_latched};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        snap_put_bool(w, flags[i]);
    snap_put_u8(w, c->write_lsb);
    snap_put_u16(w, c->latched_count);
    snap_put_u8(w, c->status);
}

static void channel_parse(SnapReader *r, PitChannel *c) {
    c->mode = snap_get_u8(r);
    c->rw = snap_get_u8(r);
    c->bcd = snap_get_u8(r);
    c->period = snap_get_u32(r);
    c->start = snap_get_u32(r);
    c->load_ns = snap_get_u64(r);
    c->counting = snap_get_bool(r);
    c->gate = snap_get_bool(r);
    c->fired = snap_get_bool(r);
    c->null_count = snap_get_bool(r);
    c->write_msb_next = snap_get_bool(r);
    c->read_msb_next = snap_get_bool(r);
    c->count_latched = snap_get_bool(r);
    c->status_latched = snap_get_bool(r);
    c->write_lsb = snap_get_u8(r);
    c->latched_count = snap_get_u16(r);
    c->status = snap_get_u8(r);
    snap_check(r, c->mode <= 5, "channel mode out of range");
    snap_check(r, c->rw >= 1 && c->rw <= 3, "channel access mode out of range");
    snap_check(r, c->bcd <= 1, "channel BCD flag out of range");
    snap_check(r, c->period >= 1 && c->period <= 65536, "channel period out of range");
    snap_check(r, c->start <= 65536, "channel start count out of range");
}

void pit_save(const Pit *pit, SnapWriter *w) {
    for (int i = 0; i < 3; i++)
        channel_save(&pit->ch[i], w);
    snap_put_u8(w, pit->port61);
    timer_save(&pit->timer0, w);
}

bool pit_load(Pit *pit, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    PitChannel ch[3];
    memset(ch, 0, sizeof ch);
    for (int i = 0; i < 3; i++)
        channel_parse(r, &ch[i]);
    uint8_t port61 = snap_get_u8(r);
    TimerSnap t0;
    timer_load(r, &t0);
    snap_check(r, port61 <= 0x0F, "port 0x61 bits out of range");
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    memcpy(pit->ch, ch, sizeof ch);
    pit->port61 = port61;
    timer_restore(&pit->timer0, &t0);
    return true;
}
