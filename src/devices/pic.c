/*
 * pic.c - two cascaded 8259A PICs and the ELCR (see pic.h).
 *
 * Priorities: each chip has a rotating priority: `lowest` is the IR with the
 * lowest priority (7 after initialisation), so IR (lowest+1)&7 has the
 * highest. A request is passed to the CPU when it is unmasked and has
 * higher priority than every in-service level (in special mask mode,
 * in-service levels that are masked do not block; in special fully nested
 * mode the master lets a new request from the slave through while the
 * slave's IR2 is in service).
 */
#include "devices/pic.h"

#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

typedef struct PicChip {
    uint8_t irr, isr, imr;
    uint8_t line;        /* current input levels */
    uint8_t elcr;        /* 1 = level triggered */
    uint8_t elcr_mask;   /* ELCR bits that may be set */
    uint8_t vector_base; /* ICW2 & 0xF8 */
    uint8_t lowest;      /* lowest-priority IR */
    uint8_t init_step;   /* 0: ready; 2..4: expecting ICW2..ICW4 */
    bool need_icw4, single, ltim;
    bool auto_eoi, rotate_on_aeoi, sfnm;
    bool read_isr, poll, special_mask;
} PicChip;

struct Pic {
    PicChip chip[2]; /* [0] master, [1] slave */
};

static void chip_reset(PicChip *c) {
    uint8_t elcr = c->elcr, mask = c->elcr_mask;
    memset(c, 0, sizeof *c);
    c->elcr = elcr;
    c->elcr_mask = mask;
    c->lowest = 7;
}

Pic *pic_new(void) {
    Pic *pic = calloc(1, sizeof *pic);
    if (!pic) return NULL;
    pic->chip[0].elcr_mask = 0xF8; /* IRQ 0, 1, 2 are always edge */
    pic->chip[1].elcr_mask = 0xDE; /* IRQ 8 and 13 are always edge */
    chip_reset(&pic->chip[0]);
    chip_reset(&pic->chip[1]);
    return pic;
}

void pic_free(Pic *pic) { free(pic); }

void pic_reset(Pic *pic) {
    for (int i = 0; i < 2; i++) {
        PicChip *c = &pic->chip[i];
        uint8_t line = c->line; /* the inputs are the devices' outputs */
        c->elcr = 0;
        chip_reset(c);
        c->line = line;
    }
}

static bool chip_level(const PicChip *c, int ir) {
    return c->ltim || (c->elcr >> ir & 1);
}

/* Highest-priority IR set in `bits`, or -1. */
static int highest(const PicChip *c, uint8_t bits) {
    for (int i = 1; i <= 8; i++) {
        int ir = (c->lowest + i) & 7;
        if (bits >> ir & 1) return ir;
    }
    return -1;
}

/* Priority rank: 0 is the highest. */
static int rank(const PicChip *c, int ir) { return (ir - c->lowest - 1) & 7; }

/* The IR this chip would present on INT, or -1. */
static int chip_output(const PicChip *c, bool is_master) {
    int req = highest(c, c->irr & ~c->imr);
    if (req < 0) return -1;
    uint8_t isr = c->isr;
    if (c->special_mask) isr &= ~c->imr;
    if (is_master && c->sfnm) isr &= ~(1u << 2); /* let the slave nest */
    int serv = highest(c, isr);
    if (serv >= 0 && rank(c, serv) <= rank(c, req)) return -1;
    return req;
}

static void chip_input(PicChip *c, int ir, int level) {
    uint8_t m = 1u << ir;
    if (level) {
        if (chip_level(c, ir) || !(c->line & m)) c->irr |= m;
        c->line |= m;
    } else {
        if (chip_level(c, ir)) c->irr &= ~m;
        c->line &= ~m;
    }
}

/* The slave's INT output drives the master's IR2 as a level. */
static void cascade_update(Pic *pic) {
    PicChip *m = &pic->chip[0];
    if (chip_output(&pic->chip[1], false) >= 0) m->irr |= 1u << 2;
    else m->irr &= (uint8_t)~(1u << 2);
}

void pic_set_irq(Pic *pic, int irq, int level) {
    if (irq < 0 || irq > 15) return;
    chip_input(&pic->chip[irq >> 3], irq & 7, level);
    cascade_update(pic);
}

static void pic_irq_set(void *opaque, int n, int level) { pic_set_irq(opaque, n, level); }

IrqLine pic_irq_line(Pic *pic, int irq) {
    return (IrqLine){.set = pic_irq_set, .opaque = pic, .n = irq};
}

bool pic_intr_pending(void *opaque) {
    Pic *pic = opaque;
    return chip_output(&pic->chip[0], true) >= 0;
}

/* INTA on one chip: returns the IR acknowledged, or -1 for a spurious request. */
static int chip_ack(PicChip *c, bool is_master) {
    int ir = chip_output(c, is_master);
    if (ir < 0) return -1; /* the request went away: spurious */
    uint8_t m = 1u << ir;
    if (!chip_level(c, ir)) c->irr &= ~m;
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi) c->lowest = (uint8_t)ir;
    } else {
        c->isr |= m;
    }
    return ir;
}

int pic_intr_ack(void *opaque) {
    Pic *pic = opaque;
    PicChip *m = &pic->chip[0], *s = &pic->chip[1];
    int ir = chip_ack(m, true);
    int vector;
    if (ir < 0) {
        vector = m->vector_base | 7;
    } else if (ir == 2) {
        int sir = chip_ack(s, false);
        vector = s->vector_base | (sir < 0 ? 7 : sir);
    } else {
        vector = m->vector_base | ir;
    }
    cascade_update(pic);
    return vector;
}

static void chip_eoi(PicChip *c, int ir, bool rotate) {
    if (ir < 0) return;
    c->isr &= ~(1u << ir);
    if (rotate) c->lowest = (uint8_t)ir;
}

static void chip_write_cmd(PicChip *c, uint8_t v) {
    if (v & 0x10) { /* ICW1 */
        chip_reset(c);
        c->need_icw4 = v & 1;
        c->single = v & 2;
        c->ltim = v & 8;
        c->init_step = 2;
        return;
    }
    if (v & 0x08) { /* OCW3 */
        if (v & 0x02) c->read_isr = v & 1;
        c->poll = v & 0x04;
        if (v & 0x40) c->special_mask = v & 0x20;
        return;
    }
    /* OCW2 */
    int level = v & 7;
    switch (v >> 5) {
    case 1: chip_eoi(c, highest(c, c->isr), false); break; /* non-specific EOI */
    case 3: chip_eoi(c, level, false); break;               /* specific EOI */
    case 5: chip_eoi(c, highest(c, c->isr), true); break;   /* rotate on non-specific EOI */
    case 7: chip_eoi(c, level, true); break;                /* rotate on specific EOI */
    case 4: c->rotate_on_aeoi = true; break;
    case 0: c->rotate_on_aeoi = false; break;
    case 6: c->lowest = (uint8_t)level; break; /* set priority */
    default: break;                            /* 2: no operation */
    }
}

static void chip_write_data(PicChip *c, uint8_t v) {
    switch (c->init_step) {
    case 2:
        c->vector_base = v & 0xF8;
        c->init_step = c->single ? (c->need_icw4 ? 4 : 0) : 3;
        break;
    case 3: c->init_step = c->need_icw4 ? 4 : 0; break; /* ICW3: cascade wiring is fixed */
    case 4:
        c->auto_eoi = v & 2;
        c->sfnm = v & 0x10;
        c->init_step = 0;
        break;
    default: c->imr = v; break; /* OCW1 */
    }
}

/* Poll command: the read acts as INTA and returns 0x80 | IR, or 0. */
static uint8_t chip_poll(Pic *pic, int index) {
    PicChip *c = &pic->chip[index];
    c->poll = false;
    int ir = chip_output(c, index == 0);
    if (ir < 0) return 0;
    chip_ack(c, index == 0);
    cascade_update(pic);
    return (uint8_t)(0x80 | ir);
}

uint32_t pic_port_read(void *opaque, uint16_t port, unsigned size) {
    Pic *pic = opaque;
    (void)size;
    if (port == 0x4D0 || port == 0x4D1) return pic->chip[port & 1].elcr;
    int index = (port & 0x80) ? 1 : 0;
    PicChip *c = &pic->chip[index];
    if (port & 1) return c->imr;
    if (c->poll) return chip_poll(pic, index);
    return c->read_isr ? c->isr : c->irr;
}

void pic_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    Pic *pic = opaque;
    (void)size;
    uint8_t v = (uint8_t)val;
    if (port == 0x4D0 || port == 0x4D1) {
        PicChip *c = &pic->chip[port & 1];
        c->elcr = v & c->elcr_mask;
    } else {
        PicChip *c = &pic->chip[(port & 0x80) ? 1 : 0];
        if (port & 1) chip_write_data(c, v);
        else chip_write_cmd(c, v);
    }
    cascade_update(pic);
}

int pic_register(Pic *pic, IoBus *bus) {
    if (iobus_register(bus, 0x20, 2, pic_port_read, pic_port_write, pic) < 0) return -1;
    if (iobus_register(bus, 0xA0, 2, pic_port_read, pic_port_write, pic) < 0) return -1;
    if (iobus_register(bus, 0x4D0, 2, pic_port_read, pic_port_write, pic) < 0) return -1;
    return 0;
}

/* ---------------- snapshots ---------------- */

static void chip_save(const PicChip *c, SnapWriter *w) {
    const uint8_t regs[] = {c->irr,  c->isr,         c->imr,    c->line,
                            c->elcr, c->vector_base, c->lowest, c->init_step};
    snap_put_bytes(w, regs, sizeof regs);
    const bool flags[] = {c->need_icw4, c->single,   c->ltim, c->auto_eoi,    c->rotate_on_aeoi,
                          c->sfnm,      c->read_isr, c->poll, c->special_mask};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        snap_put_bool(w, flags[i]);
}

static void chip_parse(SnapReader *r, PicChip *c) {
    c->irr = snap_get_u8(r);
    c->isr = snap_get_u8(r);
    c->imr = snap_get_u8(r);
    c->line = snap_get_u8(r);
    c->elcr = snap_get_u8(r);
    c->vector_base = snap_get_u8(r);
    c->lowest = snap_get_u8(r);
    c->init_step = snap_get_u8(r);
    c->need_icw4 = snap_get_bool(r);
    c->single = snap_get_bool(r);
    c->ltim = snap_get_bool(r);
    c->auto_eoi = snap_get_bool(r);
    c->rotate_on_aeoi = snap_get_bool(r);
    c->sfnm = snap_get_bool(r);
    c->read_isr = snap_get_bool(r);
    c->poll = snap_get_bool(r);
    c->special_mask = snap_get_bool(r);
    snap_check(r, c->lowest < 8, "priority out of range");
    snap_check(r, c->init_step == 0 || (c->init_step >= 2 && c->init_step <= 4),
               "initialisation step out of range");
    snap_check(r, !(c->elcr & ~c->elcr_mask), "ELCR bit set for an edge-only line");
    snap_check(r, !(c->vector_base & 7), "vector base not a multiple of 8");
}

void pic_save(const Pic *pic, SnapWriter *w) {
    chip_save(&pic->chip[0], w);
    chip_save(&pic->chip[1], w);
}

bool pic_load(Pic *pic, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    Pic tmp = *pic; /* keeps the ELCR masks (wiring) */
    chip_parse(r, &tmp.chip[0]);
    chip_parse(r, &tmp.chip[1]);
    if (!snap_finish(r)) return false;
    if (r->apply) *pic = tmp;
    return true;
}
