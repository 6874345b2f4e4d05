/*
 * uart.c - 16550A UART (see uart.h).
 */
#include "devices/uart.h"

#include <stdbool.h>
#include <stdlib.h>

#include "snap/snap.h"

#define FIFO_SIZE 16

#define IER_RDA  0x01
#define IER_THRE 0x02
#define IER_RLS  0x04
#define IER_MS   0x08

#define IIR_NONE    0x01
#define IIR_MS      0x00
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_RLS     0x06
#define IIR_TIMEOUT 0x0C
#define IIR_FIFO    0xC0

#define LCR_DLAB 0x80
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_BI   0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

typedef struct Fifo {
    uint8_t data[FIFO_SIZE];
    unsigned head, count;
} Fifo;

struct Uart {
    uint16_t base;
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    uint16_t divisor;
    bool fifo_enabled;
    bool thre_pending; /* THR-empty interrupt armed (cleared by IIR read or THR write) */
    bool timeout_pending;
    Fifo rx;
    VClock *clock;
    Timer timeout_timer;
    IrqLine irq;
    UartTxFn tx;
    void *tx_opaque;
};

static void fifo_push(Fifo *f, uint8_t b) {
    f->data[(f->head + f->count) % FIFO_SIZE] = b;
    f->count++;
}
static uint8_t fifo_pop(Fifo *f) {
    uint8_t b = f->data[f->head];
    f->head = (f->head + 1) % FIFO_SIZE;
    f->count--;
    return b;
}

static unsigned rx_capacity(const Uart *u) { return u->fifo_enabled ? FIFO_SIZE : 1; }
static unsigned rx_trigger(const Uart *u) {
    static const unsigned levels[4] = {1, 4, 8, 14};
    return u->fifo_enabled ? levels[u->fcr >> 6] : 1;
}

/* The highest-priority pending interrupt, as an IIR code. */
static uint8_t pending_source(const Uart *u) {
    if ((u->ier & IER_RLS) && (u->lsr & (LSR_OE | LSR_BI))) return IIR_RLS;
    if ((u->ier & IER_RDA) && u->rx.count >= rx_trigger(u)) return IIR_RDA;
    if ((u->ier & IER_RDA) && u->timeout_pending && u->rx.count) return IIR_TIMEOUT;
    if ((u->ier & IER_THRE) && u->thre_pending) return IIR_THRE;
    if ((u->ier & IER_MS) && (u->msr & 0x0F)) return IIR_MS;
    return IIR_NONE;
}

static void update_irq(Uart *u) {
    bool level = pending_source(u) != IIR_NONE && (u->mcr & MCR_OUT2);
    irq_set(&u->irq, level);
}

/* Four character times at the programmed rate (10 bits a character). */
static uint64_t char_timeout_ns(const Uart *u) {
    uint64_t div = u->divisor ? u->divisor : 65536;
    return 4 * 10 * 1000000000ull * div / 115200;
}

static void update_msr(Uart *u);

static void timeout_fire(void *opaque) {
    Uart *u = opaque;
    if (u->rx.count) u->timeout_pending = true;
    update_irq(u);
}

static void rx_byte(Uart *u, uint8_t b) {
    if (u->rx.count >= rx_capacity(u)) {
        u->lsr |= LSR_OE; /* only reachable in loopback; uart_receive never overfills */
        return;
    }
    fifo_push(&u->rx, b);
    u->lsr |= LSR_DR;
    u->timeout_pending = false;
    if (u->fifo_enabled)
        timer_mod(&u->timeout_timer, vclock_now(u->clock) + char_timeout_ns(u));
}

/* The registers and FIFOs at power-on. */
static void power_on_state(Uart *u) {
    timer_del(&u->timeout_timer);
    u->ier = u->mcr = u->msr = u->scr = u->fcr = 0;
    u->fifo_enabled = u->thre_pending = u->timeout_pending = false;
    u->rx.head = u->rx.count = 0;
    u->lsr = LSR_THRE | LSR_TEMT;
    u->divisor = 12; /* 9600 baud */
    u->lcr = 0x03;
    update_msr(u);
    u->msr &= 0xF0; /* no deltas at power-on */
}

Uart *uart_new(uint16_t base, VClock *clock, IrqLine irq, UartTxFn tx, void *tx_opaque) {
    Uart *u = calloc(1, sizeof *u);
    if (!u) return NULL;
    u->base = base;
    u->clock = clock;
    u->irq = irq;
    u->tx = tx;
    u->tx_opaque = tx_opaque;
    timer_init(&u->timeout_timer, clock, timeout_fire, u);
    power_on_state(u);
    return u;
}

void uart_reset(Uart *u) {
    power_on_state(u);
    update_irq(u);
}

void uart_free(Uart *u) {
    if (!u) return;
    timer_del(&u->timeout_timer);
    free(u);
}

size_t uart_can_receive(const Uart *u) {
    if (u->mcr & MCR_LOOP) return 0;
    return rx_capacity(u) - u->rx.count;
}

size_t uart_receive(Uart *u, const uint8_t *buf, size_t len) {
    size_t n = 0;
    while (n < len && uart_can_receive(u) > 0) rx_byte(u, buf[n++]);
    if (n) update_irq(u);
    return n;
}

/* Modem status inputs: in loopback they follow MCR, else the back end is always ready. */
static void update_msr(Uart *u) {
    uint8_t old = u->msr, in;
    if (u->mcr & MCR_LOOP) {
        in = (uint8_t)(((u->mcr & MCR_RTS) ? 0x10 : 0) | ((u->mcr & MCR_DTR) ? 0x20 : 0) |
                       ((u->mcr & MCR_OUT1) ? 0x40 : 0) | ((u->mcr & MCR_OUT2) ? 0x80 : 0));
    } else {
        in = 0x10 | 0x20 | 0x80; /* CTS, DSR, DCD */
    }
    uint8_t delta = (uint8_t)(((old ^ in) >> 4) & 0x0B); /* DCTS, DDSR, DDCD */
    if ((old & 0x40) && !(in & 0x40)) delta |= 0x04;      /* TERI: trailing edge of RI */
    u->msr = (uint8_t)(in | (old & 0x0F) | delta);
}

uint32_t uart_port_read(void *opaque, uint16_t port, unsigned size) {
    Uart *u = opaque;
    (void)size;
    uint8_t v = 0;
    switch (port - u->base) {
    case 0:
        if (u->lcr & LCR_DLAB) {
            v = u->divisor & 0xFF;
        } else if (u->rx.count) {
            v = fifo_pop(&u->rx);
            if (!u->rx.count) u->lsr &= (uint8_t)~LSR_DR;
            u->timeout_pending = false;
            if (u->rx.count && u->fifo_enabled)
                timer_mod(&u->timeout_timer, vclock_now(u->clock) + char_timeout_ns(u));
        }
        break;
    case 1: v = (u->lcr & LCR_DLAB) ? u->divisor >> 8 : u->ier; break;
    case 2:
        v = pending_source(u);
        if (v == IIR_THRE) u->thre_pending = false; /* reading IIR acknowledges THRE */
        if (u->fifo_enabled) v |= IIR_FIFO;
        break;
    case 3: v = u->lcr; break;
    case 4: v = u->mcr; break;
    case 5:
        v = u->lsr;
        u->lsr &= (uint8_t)~(LSR_OE | LSR_BI); /* error bits clear on read */
        break;
    case 6:
        v = u->msr;
        u->msr &= 0xF0; /* deltas clear on read */
        break;
    case 7: v = u->scr; break;
    }
    update_irq(u);
    return v;
}

static void transmit(Uart *u, uint8_t b) {
    if (u->mcr & MCR_LOOP) rx_byte(u, b);
    else if (u->tx) u->tx(u->tx_opaque, b);
    u->lsr |= LSR_THRE | LSR_TEMT;
    u->thre_pending = true;
}

void uart_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    Uart *u = opaque;
    (void)size;
    uint8_t v = (uint8_t)val;
    switch (port - u->base) {
    case 0:
        if (u->lcr & LCR_DLAB) u->divisor = (uint16_t)((u->divisor & 0xFF00) | v);
        else transmit(u, v);
        break;
    case 1:
        if (u->lcr & LCR_DLAB) {
            u->divisor = (uint16_t)((u->divisor & 0x00FF) | v << 8);
        } else {
            /* Enabling THRE interrupts while THR is empty raises one at once. */
            if ((v & IER_THRE) && !(u->ier & IER_THRE) && (u->lsr & LSR_THRE))
                u->thre_pending = true;
            u->ier = v & 0x0F;
        }
        break;
    case 2: {
        bool enable = v & 1;
        if (enable != u->fifo_enabled || (v & 2)) { /* toggling the FIFO clears it */
            u->rx.count = u->rx.head = 0;
            u->lsr &= (uint8_t)~LSR_DR;
            u->timeout_pending = false;
            timer_del(&u->timeout_timer);
        }
        u->fifo_enabled = enable;
        u->fcr = v & 0xC9;
        break;
    }
    case 3: u->lcr = v; break;
    case 4:
        u->mcr = v & 0x1F;
        update_msr(u);
        break;
    case 5: break; /* LSR is read-only (factory test writes ignored) */
    case 6: break;
    case 7: u->scr = v; break;
    }
    update_irq(u);
}

int uart_register(Uart *u, IoBus *bus) {
    return iobus_register(bus, u->base, 8, uart_port_read, uart_port_write, u);
}

/* ---------------- snapshots ---------------- */

void uart_save(const Uart *u, SnapWriter *w) {
    const uint8_t regs[] = {u->ier, u->lcr, u->mcr, u->lsr, u->msr, u->scr, u->fcr};
    snap_put_bytes(w, regs, sizeof regs);
    snap_put_u16(w, u->divisor);
    snap_put_bool(w, u->fifo_enabled);
    snap_put_bool(w, u->thre_pending);
    snap_put_bool(w, u->timeout_pending);
    snap_put_bytes(w, u->rx.data, sizeof u->rx.data);
    snap_put_u8(w, (uint8_t)u->rx.head);
    snap_put_u8(w, (uint8_t)u->rx.count);
    timer_save(&u->timeout_timer, w);
}

bool uart_load(Uart *u, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    Uart t = *u; /* keeps the wiring (base, clock, IRQ, back end) */
    t.ier = snap_get_u8(r);
    t.lcr = snap_get_u8(r);
    t.mcr = snap_get_u8(r);
    t.lsr = snap_get_u8(r);
    t.msr = snap_get_u8(r);
    t.scr = snap_get_u8(r);
    t.fcr = snap_get_u8(r);
    t.divisor = snap_get_u16(r);
    t.fifo_enabled = snap_get_bool(r);
    t.thre_pending = snap_get_bool(r);
    t.timeout_pending = snap_get_bool(r);
    snap_get_bytes(r, t.rx.data, sizeof t.rx.data);
    t.rx.head = snap_get_u8(r);
    t.rx.count = snap_get_u8(r);
    TimerSnap timeout;
    timer_load(r, &timeout);
    snap_check(r, t.rx.head < FIFO_SIZE && t.rx.count <= rx_capacity(&t),
               "receive FIFO out of range");
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    t.timeout_timer = u->timeout_timer; /* the queue's links stay as they are */
    *u = t;
    timer_restore(&u->timeout_timer, &timeout);
    return true;
}
