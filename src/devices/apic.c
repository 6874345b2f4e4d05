/*
 * apic.c - the local APIC (see apic.h).
 */
#include "devices/apic.h"

#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

/* Register offsets (bytes into the 4 KiB window). */
enum {
    REG_ID = 0x020,
    REG_VERSION = 0x030,
    REG_TPR = 0x080,
    REG_APR = 0x090,
    REG_PPR = 0x0A0,
    REG_EOI = 0x0B0,
    REG_RRD = 0x0C0,
    REG_LDR = 0x0D0,
    REG_DFR = 0x0E0,
    REG_SVR = 0x0F0,
    REG_ISR = 0x100,
    REG_TMR = 0x180,
    REG_IRR = 0x200,
    REG_ESR = 0x280,
    REG_ICR_LO = 0x300,
    REG_ICR_HI = 0x310,
    REG_LVT_TIMER = 0x320,
    REG_LVT_ERROR = 0x370,
    REG_TIMER_INIT = 0x380,
    REG_TIMER_CUR = 0x390,
    REG_TIMER_DIV = 0x3E0,
};

/* LVT entries, in register order from 0x320. */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

#define LVT_MASKED       (1u << 16)
#define LVT_LEVEL        (1u << 15)
#define LVT_REMOTE_IRR   (1u << 14)
#define LVT_TIMER_MODE   (3u << 17)
#define TIMER_ONESHOT    0u
#define TIMER_PERIODIC   (1u << 17)
#define TIMER_TSC_DEADLN (2u << 17)
#define SVR_ENABLE       (1u << 8)

/* ESR bits (P6/Pentium 4 numbering). */
#define ESR_SEND_ILLEGAL_VECTOR (1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR (1u << 6)
#define ESR_ILLEGAL_REGISTER    (1u << 7)

/* Bits software may write in each LVT entry (timer, thermal, perf, LINT0, LINT1, error). */
static const uint32_t lvt_wmask[LVT_COUNT] = {
    0x000700FFu, /* timer: vector, mask, mode (bits 17-18) */
    0x000107FFu, /* thermal: vector, delivery mode, mask */
    0x000107FFu, /* performance counters: the same */
    0x0001A7FFu, /* LINT0: vector, delivery mode, polarity, trigger, mask */
    0x0001A7FFu, /* LINT1 */
    0x000100FFu, /* error: vector, mask */
};

struct Apic {
    VClock *clk;
    ApicHooks hooks;
    uint8_t initial_id;
    uint32_t base_msr; /* IA32_APIC_BASE: base | enable | BSP */
    uint32_t id;       /* ID register (ID in bits 31:24) */
    uint32_t tpr, ldr, dfr, svr;
    uint32_t isr[8], tmr[8], irr[8];
    uint32_t esr;         /* readable ESR (latched at the last ESR write) */
    uint32_t esr_pending; /* errors since then */
    uint32_t icr_lo, icr_hi;
    uint32_t lvt[LVT_COUNT];
    int lint_level[2];
    bool extint_req; /* an ExtINT message (I/O APIC) asks for the 8259's vector */
    /* Timer: initial count and divider; counting from `count_ref` ticks at
     * virtual time `ref_ns` (running while timer_on). */
    uint32_t timer_init, timer_div;
    uint32_t count_ref;
    uint64_t ref_ns;
    bool timer_on;
    uint64_t tsc_deadline;
    Timer timer;
};

static inline bool vec_test(const uint32_t *bits, unsigned v) {
    return bits[v >> 5] >> (v & 31) & 1;
}
static inline void vec_set(uint32_t *bits, unsigned v) {
    bits[v >> 5] |= 1u << (v & 31);
}
static inline void vec_clear(uint32_t *bits, unsigned v) {
    bits[v >> 5] &= ~(1u << (v & 31));
}
/* Highest set vector, or -1. */
static int vec_highest(const uint32_t *bits) {
    for (int i = 7; i >= 0; i--)
        if (bits[i]) return i * 32 + 31 - __builtin_clz(bits[i]);
    return -1;
}

static bool sw_enabled(const Apic *a) {
    return (a->base_msr & APIC_BASE_ENABLE) && (a->svr & SVR_ENABLE);
}

/* The divide configuration register's divisor (bits 0, 1, 3). */
static uint32_t divisor(uint32_t div_reg) {
    unsigned code = (div_reg & 3) | (div_reg >> 1 & 4);
    return code == 7 ? 1 : 2u << code;
}

static uint32_t ppr(const Apic *a) {
    int isrv = vec_highest(a->isr);
    uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xF0;
    return (a->tpr & 0xF0) >= isr_class ? a->tpr & 0xFF : isr_class;
}

static void error(Apic *a, uint32_t bits);

/* Accept vector v into the IRR (trigger mode level or edge into the TMR). */
static void accept_fixed(Apic *a, uint8_t v, bool level) {
    if (v < 16) {
        error(a, ESR_RECV_ILLEGAL_VECTOR);
        return;
    }
    vec_set(a->irr, v);
    if (level)
        vec_set(a->tmr, v);
    else
        vec_clear(a->tmr, v);
}

/* A local source fires through its LVT entry. */
static void lvt_fire(Apic *a, int lvt) {
    uint32_t e = a->lvt[lvt];
    if (e & LVT_MASKED) return;
    unsigned mode = lvt == LVT_TIMER || lvt == LVT_ERROR ? APIC_DM_FIXED : e >> 8 & 7;
    switch (mode) {
    case APIC_DM_FIXED: accept_fixed(a, (uint8_t)e, false); break;
    case APIC_DM_NMI:
        if (a->hooks.nmi) a->hooks.nmi(a->hooks.opaque);
        break;
    default: break; /* SMI, INIT, ExtINT from thermal/perf sources: none fire */
    }
}

static void error(Apic *a, uint32_t bits) {
    bool fresh = (a->esr_pending & bits) != bits;
    a->esr_pending |= bits;
    /* The error entry's own illegal vector must not recurse. */
    if (fresh && !(a->lvt[LVT_ERROR] & LVT_MASKED) && (a->lvt[LVT_ERROR] & 0xFF) >= 16)
        lvt_fire(a, LVT_ERROR);
}

/* ---------------- timer ---------------- */

static uint32_t timer_current(const Apic *a) {
    if (!a->timer_on) return 0;
    uint64_t now = vclock_now(a->clk);
    uint64_t ticks = now > a->ref_ns ? (now - a->ref_ns) / divisor(a->timer_div) : 0;
    return ticks >= a->count_ref ? 0 : (uint32_t)(a->count_ref - ticks);
}

static void timer_arm_count(Apic *a) {
    if (a->timer_on)
        timer_mod(&a->timer, a->ref_ns + (uint64_t)a->count_ref * divisor(a->timer_div));
    else
        timer_del(&a->timer);
}

static void timer_arm_deadline(Apic *a) {
    if (a->tsc_deadline && a->hooks.tsc_to_ns) {
        uint64_t t = a->hooks.tsc_to_ns(a->hooks.opaque, a->tsc_deadline);
        uint64_t now = vclock_now(a->clk);
        timer_mod(&a->timer, t > now ? t : now);
    } else {
        timer_del(&a->timer);
    }
}

static void timer_expired(void *opaque) {
    Apic *a = opaque;
    uint32_t mode = a->lvt[LVT_TIMER] & LVT_TIMER_MODE;
    if (mode == TIMER_TSC_DEADLN) {
        a->tsc_deadline = 0;
        lvt_fire(a, LVT_TIMER);
        return;
    }
    if (!a->timer_on) return;
    lvt_fire(a, LVT_TIMER);
    if (mode == TIMER_PERIODIC && a->timer_init) {
        a->ref_ns = a->timer.deadline; /* the next period starts exactly at this one's end */
        a->count_ref = a->timer_init;
    } else {
        a->timer_on = false; /* one-shot: the count stays at 0 */
    }
    timer_arm_count(a);
}

/* ---------------- delivery to the CPU ---------------- */

static bool through_mode(const Apic *a) {
    return !sw_enabled(a);
}

static bool extint_allowed(const Apic *a) {
    if (through_mode(a)) return true;
    uint32_t l0 = a->lvt[LVT_LINT0];
    return a->extint_req || (!(l0 & LVT_MASKED) && (l0 >> 8 & 7) == APIC_DM_EXTINT);
}

/* The highest requested vector above the processor priority class, or -1. */
static int deliverable(const Apic *a) {
    int v = vec_highest(a->irr);
    if (v < 0) return -1;
    return ((uint32_t)v & 0xF0) > (ppr(a) & 0xF0) ? v : -1;
}

bool apic_intr_pending(void *opaque) {
    Apic *a = opaque;
    if ((a->base_msr & APIC_BASE_ENABLE) && deliverable(a) >= 0) return true;
    return extint_allowed(a) && a->hooks.ext_pending && a->hooks.ext_pending(a->hooks.ext_opaque);
}

int apic_intr_ack(void *opaque) {
    Apic *a = opaque;
    if (a->base_msr & APIC_BASE_ENABLE) {
        int v = deliverable(a);
        if (v >= 0) {
            vec_clear(a->irr, (unsigned)v);
            vec_set(a->isr, (unsigned)v);
            return v;
        }
    }
    if (extint_allowed(a) && a->hooks.ext_pending && a->hooks.ext_pending(a->hooks.ext_opaque)) {
        a->extint_req = false;
        return a->hooks.ext_ack(a->hooks.ext_opaque);
    }
    /* The request went away between INTR and INTA (TPR raised): spurious. */
    return (int)(a->svr & 0xFF);
}

static void do_eoi(Apic *a) {
    int v = vec_highest(a->isr);
    if (v < 0) return;
    vec_clear(a->isr, (unsigned)v);
    for (int pin = 0; pin < 2; pin++) {
        uint32_t *e = &a->lvt[LVT_LINT0 + pin];
        if ((*e & LVT_REMOTE_IRR) && (*e & 0xFF) == (uint32_t)v) {
            *e &= ~LVT_REMOTE_IRR;
            if (a->lint_level[pin]) apic_set_lint(a, pin, 1);
        }
    }
    if (vec_test(a->tmr, (unsigned)v) && a->hooks.eoi_broadcast)
        a->hooks.eoi_broadcast(a->hooks.opaque, (uint8_t)v);
}

/* ---------------- messages ---------------- */

static bool dest_match(const Apic *a, uint8_t dest, bool logical) {
    if (!logical) return dest == 0xFF || dest == (a->id >> 24);
    if (dest == 0xFF) return true;
    uint8_t ldr = (uint8_t)(a->ldr >> 24);
    if ((a->dfr >> 28) == 0xF) return (ldr & dest) != 0; /* flat model */
    /* cluster model: cluster in the high nibble (15: all), members in the low */
    bool cluster = (dest >> 4) == 0xF || (dest >> 4) == (ldr >> 4);
    return cluster && (dest & ldr & 0x0F) != 0;
}

static void accept_message(Apic *a, int mode, uint8_t vector, bool level) {
    switch (mode) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (a->base_msr & APIC_BASE_ENABLE) accept_fixed(a, vector, level);
        break;
    case APIC_DM_NMI:
        if (a->hooks.nmi) a->hooks.nmi(a->hooks.opaque);
        break;
    case APIC_DM_EXTINT: a->extint_req = true; break;
    default: break; /* SMI, INIT, SIPI: see apic.h */
    }
}

bool apic_deliver(Apic *a, uint8_t dest, bool logical, int mode, uint8_t vector, bool level) {
    if (!(a->base_msr & APIC_BASE_ENABLE)) return false;
    if (!dest_match(a, dest, logical)) return false;
    accept_message(a, mode, vector, level);
    return true;
}

static void send_ipi(Apic *a) {
    uint32_t lo = a->icr_lo;
    int mode = lo >> 8 & 7;
    uint8_t vector = (uint8_t)lo;
    bool level = lo >> 15 & 1;
    if (mode == APIC_DM_INIT && level && !(lo & (1u << 14))) return; /* INIT level de-assert */
    if ((mode == APIC_DM_FIXED || mode == APIC_DM_LOWEST) && vector < 16) {
        error(a, ESR_SEND_ILLEGAL_VECTOR);
        return;
    }
    switch (lo >> 18 & 3) {
    case 0: /* destination field */
        if (dest_match(a, (uint8_t)(a->icr_hi >> 24), lo >> 11 & 1))
            accept_message(a, mode, vector, false);
        break;
    case 1: /* self */
    case 2: /* all including self */ accept_message(a, mode, vector, false); break;
    default: break; /* all excluding self: there is no other CPU */
    }
}

void apic_set_lint(Apic *a, int pin, int level) {
    if (pin < 0 || pin > 1) return;
    int old = a->lint_level[pin];
    a->lint_level[pin] = level ? 1 : 0;
    uint32_t *e = &a->lvt[LVT_LINT0 + pin];
    if (!(a->base_msr & APIC_BASE_ENABLE) || (*e & LVT_MASKED) || !level) return;
    unsigned mode = *e >> 8 & 7;
    if (mode == APIC_DM_EXTINT) return; /* the 8259 is asked at INTA time */
    bool lvl = mode == APIC_DM_FIXED && (*e & LVT_LEVEL);
    if (lvl) {
        if (*e & LVT_REMOTE_IRR) return;
        *e |= LVT_REMOTE_IRR;
        accept_fixed(a, (uint8_t)*e, true);
    } else if (!old) {
        lvt_fire(a, LVT_LINT0 + pin);
    }
}

/* ---------------- registers ---------------- */

static uint32_t reg_read(Apic *a, uint32_t reg) {
    switch (reg) {
    case REG_ID: return a->id;
    case REG_VERSION: return APIC_VERSION;
    case REG_TPR: return a->tpr;
    case REG_APR: return a->tpr; /* arbitration: no bus arbitration to model */
    case REG_PPR: return ppr(a);
    case REG_LDR: return a->ldr;
    case REG_DFR: return a->dfr;
    case REG_SVR: return a->svr;
    case REG_ESR: return a->esr;
    case REG_ICR_LO: return a->icr_lo; /* delivery status: always idle */
    case REG_ICR_HI: return a->icr_hi;
    case REG_TIMER_INIT: return a->timer_init;
    case REG_TIMER_CUR:
        return (a->lvt[LVT_TIMER] & LVT_TIMER_MODE) == TIMER_TSC_DEADLN ? 0 : timer_current(a);
    case REG_TIMER_DIV: return a->timer_div;
    case REG_EOI:
    case REG_RRD: return 0;
    default: break;
    }
    if (reg >= REG_ISR && reg < REG_ISR + 0x80) return a->isr[(reg - REG_ISR) >> 4];
    if (reg >= REG_TMR && reg < REG_TMR + 0x80) return a->tmr[(reg - REG_TMR) >> 4];
    if (reg >= REG_IRR && reg < REG_IRR + 0x80) return a->irr[(reg - REG_IRR) >> 4];
    if (reg >= REG_LVT_TIMER && reg <= REG_LVT_ERROR) return a->lvt[(reg - REG_LVT_TIMER) >> 4];
    error(a, ESR_ILLEGAL_REGISTER);
    return 0;
}

static void set_timer_mode_entry(Apic *a, uint32_t val) {
    uint32_t old_mode = a->lvt[LVT_TIMER] & LVT_TIMER_MODE;
    if ((val & LVT_TIMER_MODE) == (3u << 17))
        val &= ~(2u << 17); /* reserved mode: one-shot/periodic */
    a->lvt[LVT_TIMER] = val;
    uint32_t mode = val & LVT_TIMER_MODE;
    if (mode == old_mode) return;
    /* Switching into or out of TSC-deadline mode stops the timer. */
    if (mode == TIMER_TSC_DEADLN || old_mode == TIMER_TSC_DEADLN) {
        a->timer_on = false;
        a->timer_init = 0;
        a->tsc_deadline = 0;
        timer_del(&a->timer);
    }
}

static void reg_write(Apic *a, uint32_t reg, uint32_t val) {
    switch (reg) {
    case REG_ID: a->id = val & 0xFF000000u; return;
    case REG_TPR: a->tpr = val & 0xFF; return;
    case REG_EOI: do_eoi(a); return;
    case REG_LDR: a->ldr = val & 0xFF000000u; return;
    case REG_DFR: a->dfr = val | 0x0FFFFFFFu; return;
    case REG_SVR:
        a->svr = val & 0x3FF;
        if (!(a->svr & SVR_ENABLE))
            for (int i = 0; i < LVT_COUNT; i++)
                a->lvt[i] |= LVT_MASKED;
        return;
    case REG_ESR:
        a->esr = a->esr_pending;
        a->esr_pending = 0;
        return;
    case REG_ICR_LO:
        a->icr_lo = val & 0x000CCFFFu; /* delivery status (bit 12) reads 0: sent at once */
        send_ipi(a);
        return;
    case REG_ICR_HI: a->icr_hi = val & 0xFF000000u; return;
    case REG_TIMER_INIT:
        if ((a->lvt[LVT_TIMER] & LVT_TIMER_MODE) == TIMER_TSC_DEADLN) return;
        a->timer_init = val;
        a->count_ref = val;
        a->ref_ns = vclock_now(a->clk);
        a->timer_on = val != 0;
        timer_arm_count(a);
        return;
    case REG_TIMER_DIV: {
        /* The count goes on from where it is, at the new rate. */
        uint32_t cur = timer_current(a);
        a->timer_div = val & 0xB;
        if (a->timer_on && (a->lvt[LVT_TIMER] & LVT_TIMER_MODE) != TIMER_TSC_DEADLN) {
            a->count_ref = cur;
            a->ref_ns = vclock_now(a->clk);
            timer_arm_count(a);
        }
        return;
    }
    case REG_VERSION:
    case REG_APR:
    case REG_PPR:
    case REG_RRD:
    case REG_TIMER_CUR: return; /* read-only */
    default: break;
    }
    if (reg >= REG_ISR && reg < REG_IRR + 0x80) return; /* ISR, TMR, IRR: read-only */
    if (reg >= REG_LVT_TIMER && reg <= REG_LVT_ERROR) {
        int i = (int)(reg - REG_LVT_TIMER) >> 4;
        uint32_t v = (val & lvt_wmask[i]) | (a->lvt[i] & LVT_REMOTE_IRR);
        if (!(a->svr & SVR_ENABLE)) v |= LVT_MASKED;
        if (i == LVT_TIMER)
            set_timer_mode_entry(a, v);
        else
            a->lvt[i] = v;
        if (i == LVT_LINT0 || i == LVT_LINT1) {
            if (!(v & LVT_LEVEL)) a->lvt[i] &= ~LVT_REMOTE_IRR;
            if (a->lint_level[i - LVT_LINT0]) apic_set_lint(a, i - LVT_LINT0, 1);
        }
        return;
    }
    error(a, ESR_ILLEGAL_REGISTER);
}

uint32_t apic_mmio_read(void *opaque, uint32_t offset, unsigned size) {
    Apic *a = opaque;
    uint32_t reg = offset & 0xFF0, within = offset & 0xF;
    if (offset >= APIC_MMIO_SIZE || within + size > 4) return 0;
    uint32_t v = reg_read(a, reg) >> (8 * within);
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

void apic_mmio_write(void *opaque, uint32_t offset, unsigned size, uint32_t val) {
    Apic *a = opaque;
    if (offset >= APIC_MMIO_SIZE || size != 4 || (offset & 0xF)) return;
    reg_write(a, offset & 0xFF0, val);
}

/* ---------------- MSRs ---------------- */

static void registers_reset(Apic *a) {
    a->id = (uint32_t)a->initial_id << 24;
    a->tpr = a->ldr = 0;
    a->dfr = 0xFFFFFFFFu;
    a->svr = 0xFF;
    memset(a->isr, 0, sizeof a->isr);
    memset(a->tmr, 0, sizeof a->tmr);
    memset(a->irr, 0, sizeof a->irr);
    a->esr = a->esr_pending = 0;
    a->icr_lo = a->icr_hi = 0;
    for (int i = 0; i < LVT_COUNT; i++)
        a->lvt[i] = LVT_MASKED;
    a->extint_req = false;
    a->timer_init = a->timer_div = a->count_ref = 0;
    a->ref_ns = 0;
    a->timer_on = false;
    a->tsc_deadline = 0;
    timer_del(&a->timer);
}

static void notify_base(Apic *a) {
    if (a->hooks.base_changed)
        a->hooks.base_changed(a->hooks.opaque, a->base_msr & 0xFFFFF000u,
                              (a->base_msr & APIC_BASE_ENABLE) != 0);
}

bool apic_msr_read(void *opaque, uint32_t msr, uint64_t *val) {
    Apic *a = opaque;
    switch (msr) {
    case MSR_IA32_APIC_BASE: *val = a->base_msr; return true;
    case MSR_IA32_TSC_DEADLINE:
        *val = (a->lvt[LVT_TIMER] & LVT_TIMER_MODE) == TIMER_TSC_DEADLN ? a->tsc_deadline : 0;
        return true;
    default: return false;
    }
}

bool apic_msr_write(void *opaque, uint32_t msr, uint64_t val) {
    Apic *a = opaque;
    switch (msr) {
    case MSR_IA32_APIC_BASE: {
        /* Bits 12-31 base (32-bit physical addresses), 11 enable, 8 BSP (read-only). */
        if (val & ~(uint64_t)0xFFFFF900u) return false;
        uint32_t nv = ((uint32_t)val & 0xFFFFF800u) | (a->base_msr & APIC_BASE_BSP);
        bool was = (a->base_msr & APIC_BASE_ENABLE) != 0, now = (nv & APIC_BASE_ENABLE) != 0;
        if (was && !now) registers_reset(a); /* a disabled APIC loses its state */
        if (a->base_msr != nv) {
            a->base_msr = nv;
            notify_base(a);
        }
        return true;
    }
    case MSR_IA32_TSC_DEADLINE:
        if ((a->lvt[LVT_TIMER] & LVT_TIMER_MODE) != TIMER_TSC_DEADLN) return true; /* ignored */
        a->tsc_deadline = val;
        timer_arm_deadline(a);
        return true;
    default: return false;
    }
}

/* ---------------- life cycle ---------------- */

Apic *apic_new(VClock *clk, uint8_t id, const ApicHooks *hooks) {
    Apic *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->clk = clk;
    if (hooks) a->hooks = *hooks;
    a->initial_id = id;
    timer_init(&a->timer, clk, timer_expired, a);
    apic_reset(a);
    return a;
}

void apic_free(Apic *a) {
    if (!a) return;
    timer_del(&a->timer);
    free(a);
}

void apic_reset(Apic *a) {
    registers_reset(a);
    a->lint_level[0] = a->lint_level[1] = 0;
    uint32_t old = a->base_msr;
    a->base_msr = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | APIC_BASE_BSP;
    if (old != a->base_msr) notify_base(a);
}

uint8_t apic_id(const Apic *a) {
    return (uint8_t)(a->id >> 24);
}
uint32_t apic_base_address(const Apic *a) {
    return a->base_msr & 0xFFFFF000u;
}
bool apic_hw_enabled(const Apic *a) {
    return (a->base_msr & APIC_BASE_ENABLE) != 0;
}

/* ---------------- snapshots ---------------- */

void apic_save(const Apic *a, SnapWriter *w) {
    snap_put_u32(w, a->base_msr);
    snap_put_u32(w, a->id);
    snap_put_u32(w, a->tpr);
    snap_put_u32(w, a->ldr);
    snap_put_u32(w, a->dfr);
    snap_put_u32(w, a->svr);
    for (int i = 0; i < 8; i++) {
        snap_put_u32(w, a->isr[i]);
        snap_put_u32(w, a->tmr[i]);
        snap_put_u32(w, a->irr[i]);
    }
    snap_put_u32(w, a->esr);
    snap_put_u32(w, a->esr_pending);
    snap_put_u32(w, a->icr_lo);
    snap_put_u32(w, a->icr_hi);
    for (int i = 0; i < LVT_COUNT; i++)
        snap_put_u32(w, a->lvt[i]);
    snap_put_u8(w, (uint8_t)a->lint_level[0]);
    snap_put_u8(w, (uint8_t)a->lint_level[1]);
    snap_put_bool(w, a->extint_req);
    snap_put_u32(w, a->timer_init);
    snap_put_u32(w, a->timer_div);
    snap_put_u32(w, a->count_ref);
    snap_put_u64(w, a->ref_ns);
    snap_put_bool(w, a->timer_on);
    snap_put_u64(w, a->tsc_deadline);
    timer_save(&a->timer, w);
}

bool apic_load(Apic *a, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    Apic t = *a;
    t.base_msr = snap_get_u32(r);
    t.id = snap_get_u32(r);
    t.tpr = snap_get_u32(r);
    t.ldr = snap_get_u32(r);
    t.dfr = snap_get_u32(r);
    t.svr = snap_get_u32(r);
    for (int i = 0; i < 8; i++) {
        t.isr[i] = snap_get_u32(r);
        t.tmr[i] = snap_get_u32(r);
        t.irr[i] = snap_get_u32(r);
    }
    t.esr = snap_get_u32(r);
    t.esr_pending = snap_get_u32(r);
    t.icr_lo = snap_get_u32(r);
    t.icr_hi = snap_get_u32(r);
    for (int i = 0; i < LVT_COUNT; i++)
        t.lvt[i] = snap_get_u32(r);
    t.lint_level[0] = snap_get_u8(r);
    t.lint_level[1] = snap_get_u8(r);
    t.extint_req = snap_get_bool(r);
    t.timer_init = snap_get_u32(r);
    t.timer_div = snap_get_u32(r);
    t.count_ref = snap_get_u32(r);
    t.ref_ns = snap_get_u64(r);
    t.timer_on = snap_get_bool(r);
    t.tsc_deadline = snap_get_u64(r);
    TimerSnap ts;
    timer_load(r, &ts);
    snap_check(r, (t.base_msr & ~0xFFFFF900u) == 0 && (t.base_msr & APIC_BASE_BSP),
               "bad IA32_APIC_BASE");
    snap_check(r, t.lint_level[0] <= 1 && t.lint_level[1] <= 1, "bad LINT levels");
    snap_check(r, (t.timer_div & ~0xBu) == 0 && t.tpr <= 0xFF && t.svr <= 0x3FF,
               "bad register values");
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    uint32_t old_base = a->base_msr;
    t.timer = a->timer;
    *a = t;
    timer_restore(&a->timer, &ts);
    if (old_base != a->base_msr) notify_base(a);
    return true;
}
