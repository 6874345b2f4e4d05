/*
 * virtio_console.c - virtio console, one port, no MULTIPORT (see
 * virtio_devs.h).
 */
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_devs.h"
#include "snap/snap.h"

#define QSIZE 64
#define CHUNK 4096u
enum { RXQ = 0, TXQ = 1 };

struct VirtioConsole {
    VirtioDev *v;
    void (*tx)(void *opaque, const uint8_t *buf, size_t len);
    void *tx_opaque;
    VirtioChain chain;
    uint8_t buf[CHUNK];
};

static uint8_t cfg_read(void *opaque, unsigned off) {
    (void)opaque;
    static const uint8_t c[8] = {80, 0, 25, 0, 1, 0, 0, 0}; /* cols, rows, max_nr_ports */
    return off < sizeof c ? c[off] : 0;
}

static void notify(void *opaque, unsigned q) {
    VirtioConsole *c = opaque;
    if (q != TXQ) return;
    bool any = false;
    for (unsigned i = 0; i < QSIZE; i++) {
        if (virtq_pop(c->v, TXQ, &c->chain) <= 0) break;
        for (uint64_t off = 0; off < c->chain.out_len;) {
            size_t n = c->chain.out_len - off > CHUNK ? CHUNK : (size_t)(c->chain.out_len - off);
            size_t got = virtio_chain_read(c->v, &c->chain, off, c->buf, n);
            if (got && c->tx) c->tx(c->tx_opaque, c->buf, got);
            if (got < n) break;
            off += n;
        }
        virtq_push(c->v, TXQ, &c->chain, 0);
        any = true;
    }
    if (any) virtq_interrupt(c->v, TXQ);
}

size_t virtio_console_input(VirtioConsole *c, const uint8_t *buf, size_t len) {
    size_t done = 0;
    while (done < len && virtq_ready(c->v, RXQ) && virtq_pop(c->v, RXQ, &c->chain) > 0) {
        size_t n = len - done;
        if (n > c->chain.in_len) n = (size_t)c->chain.in_len;
        size_t w = virtio_chain_write(c->v, &c->chain, 0, buf + done, n);
        virtq_push(c->v, RXQ, &c->chain, (uint32_t)w);
        done += n;
        if (w < n) break;
    }
    if (done) virtq_interrupt(c->v, RXQ);
    return done;
}

static const VirtioOps con_ops = {.notify = notify, .cfg_read = cfg_read, .cfg_size = 8};

VirtioConsole *virtio_console_new(PhysMem *pm, IoBus *io, IrqLine irq,
                                  void (*tx)(void *opaque, const uint8_t *buf, size_t len),
                                  void *tx_opaque, IoStats *stats) {
    VirtioConsole *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->tx = tx;
    c->tx_opaque = tx_opaque;
    c->v = virtio_new(pm, io, irq, VIRTIO_ID_CONSOLE, 2, QSIZE, 0, &con_ops, c, stats);
    if (!c->v) {
        free(c);
        return NULL;
    }
    return c;
}

VirtioDev *virtio_console_dev(VirtioConsole *c) {
    return c->v;
}

void virtio_console_free(VirtioConsole *c) {
    if (!c) return;
    virtio_free(c->v);
    free(c);
}

void virtio_console_save(const VirtioConsole *c, SnapWriter *w) {
    virtio_save(c->v, w);
}

bool virtio_console_load(VirtioConsole *c, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    virtio_load(c->v, r);
    if (!snap_finish(r) || !r->apply) return snap_ok(r) && !r->apply;
    virtio_load_commit(c->v);
    return true;
}
