/*
 * ioapic.c - the I/O APIC (see ioapic.h).
 */
#include "devices/ioapic.h"

#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

#define RTE_VECTOR     0xFFull
#define RTE_DELIV_MODE (7ull << 8)
#define RTE_DEST_LOGIC (1ull << 11)
#define RTE_DELIV_STAT (1ull << 12)
#define RTE_POLARITY   (1ull << 13)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL      (1ull << 15)
#define RTE_MASKED     (1ull << 16)
/* Bits software may write: all but delivery status and remote IRR. */
#define RTE_WMASK (0xFF00000000000000ull | 0x1AFFFull)

struct IoApic {
    IoApicDeliverFn deliver;
    void *opaque;
    uint8_t sel;
    uint32_t id;
    uint64_t rte[IOAPIC_PINS];
    uint32_t level; /* input pins asserted */
};

static void send(IoApic *io, int pin) {
    uint64_t e = io->rte[pin];
    bool level = (e & RTE_LEVEL) != 0;
    int mode = (int)(e >> 8 & 7);
    if (level) {
        /* Level-triggered fixed/lowest interrupts wait for the EOI. */
        if (mode == 0 || mode == 1) io->rte[pin] |= RTE_REMOTE_IRR;
    }
    if (io->deliver)
        io->deliver(io->opaque, (uint8_t)(e >> 56), (e & RTE_DEST_LOGIC) != 0, mode,
                    (uint8_t)(e & RTE_VECTOR), level);
}

/* A level pin that is asserted, unmasked and not waiting for an EOI sends. */
static void service_level(IoApic *io, int pin) {
    uint64_t e = io->rte[pin];
    if ((e & RTE_LEVEL) && !(e & (RTE_MASKED | RTE_REMOTE_IRR)) && (io->level >> pin & 1))
        send(io, pin);
}

void ioapic_set_irq(IoApic *io, int pin, int level) {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    uint32_t bit = 1u << pin;
    bool old = (io->level & bit) != 0;
    if (level)
        io->level |= bit;
    else
        io->level &= ~bit;
    uint64_t e = io->rte[pin];
    if (!level || (e & RTE_MASKED)) return;
    if (e & RTE_LEVEL)
        service_level(io, pin);
    else if (!old)
        send(io, pin);
}

static void set_irq_cb(void *opaque, int n, int level) {
    ioapic_set_irq(opaque, n, level);
}

IrqLine ioapic_irq_line(IoApic *io, int pin) {
    return (IrqLine){set_irq_cb, io, pin};
}

void ioapic_eoi(IoApic *io, uint8_t vector) {
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->rte[pin];
        if (!(e & RTE_REMOTE_IRR) || (uint8_t)(e & RTE_VECTOR) != vector) continue;
        io->rte[pin] &= ~RTE_REMOTE_IRR;
        service_level(io, pin);
    }
}

static uint32_t reg_read(const IoApic *io) {
    switch (io->sel) {
    case 0x00: return io->id;
    case 0x01: return IOAPIC_VERSION;
    case 0x02: return io->id; /* arbitration ID */
    default: break;
    }
    if (io->sel >= 0x10 && io->sel < 0x10 + 2 * IOAPIC_PINS) {
        uint64_t e = io->rte[(io->sel - 0x10) / 2];
        return (io->sel & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0xFFFFFFFFu; /* no such register */
}

static void reg_write(IoApic *io, uint32_t val) {
    if (io->sel == 0x00) {
        io->id = val & 0x0F000000u;
        return;
    }
    if (io->sel < 0x10 || io->sel >= 0x10 + 2 * IOAPIC_PINS) return;
    int pin = (io->sel - 0x10) / 2;
    uint64_t e = io->rte[pin];
    uint64_t nv = (io->sel & 1) ? (e & 0xFFFFFFFFull) | (uint64_t)val << 32
                                : (e & 0xFFFFFFFF00000000ull) | val;
    nv = (nv & RTE_WMASK) | (e & (RTE_REMOTE_IRR | RTE_DELIV_STAT));
    if (!(nv & RTE_LEVEL)) nv &= ~RTE_REMOTE_IRR; /* an edge entry has no EOI to wait for */
    io->rte[pin] = nv;
    service_level(io, pin); /* unmasked while asserted */
}

uint32_t ioapic_mmio_read(void *opaque, uint32_t offset, unsigned size) {
    IoApic *io = opaque;
    uint32_t v;
    if (offset < 4)
        v = io->sel;
    else if (offset >= 0x10 && offset < 0x14)
        v = reg_read(io);
    else
        return 0;
    v >>= 8 * (offset & 3);
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

void ioapic_mmio_write(void *opaque, uint32_t offset, unsigned size, uint32_t val) {
    IoApic *io = opaque;
    if (offset == 0x00)
        io->sel = (uint8_t)val;
    else if (offset == 0x10 && size == 4)
        reg_write(io, val);
}

uint64_t ioapic_redirection(const IoApic *io, int pin) {
    return pin >= 0 && pin < IOAPIC_PINS ? io->rte[pin] : 0;
}

IoApic *ioapic_new(IoApicDeliverFn deliver, void *opaque) {
    IoApic *io = calloc(1, sizeof *io);
    if (!io) return NULL;
    io->deliver = deliver;
    io->opaque = opaque;
    ioapic_reset(io);
    return io;
}

void ioapic_free(IoApic *io) {
    free(io);
}

void ioapic_reset(IoApic *io) {
    io->sel = 0;
    io->id = 0;
    for (int i = 0; i < IOAPIC_PINS; i++)
        io->rte[i] = RTE_MASKED;
}

void ioapic_save(const IoApic *io, SnapWriter *w) {
    snap_put_u8(w, io->sel);
    snap_put_u32(w, io->id);
    snap_put_u32(w, io->level);
    for (int i = 0; i < IOAPIC_PINS; i++)
        snap_put_u64(w, io->rte[i]);
}

bool ioapic_load(IoApic *io, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    uint8_t sel = snap_get_u8(r);
    uint32_t id = snap_get_u32(r), level = snap_get_u32(r);
    uint64_t rte[IOAPIC_PINS];
    for (int i = 0; i < IOAPIC_PINS; i++)
        rte[i] = snap_get_u64(r);
    snap_check(r, (id & ~0x0F000000u) == 0 && level < (1u << IOAPIC_PINS), "bad I/O APIC state");
    for (int i = 0; i < IOAPIC_PINS; i++)
        snap_check(r, (rte[i] & ~(RTE_WMASK | RTE_REMOTE_IRR)) == 0, "bad redirection entry");
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    io->sel = sel;
    io->id = id;
    io->level = level;
    memcpy(io->rte, rte, sizeof rte);
    return true;
}
