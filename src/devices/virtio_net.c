/*
 * virtio_net.c - virtio network card on a NetPort (see virtio_devs.h).
 */
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_devs.h"
#include "snap/snap.h"

#define NET_F_MAC    (1u << 5)
#define NET_F_STATUS (1u << 16)
#define QSIZE        256
#define HDR          10 /* legacy virtio_net_hdr without MRG_RXBUF */
enum { RXQ = 0, TXQ = 1 };

struct VirtioNet {
    VirtioDev *v;
    NetPort *port;
    uint8_t mac[6];
    /* Separate for each direction: a back end may deliver a frame from
     * inside transmit (a loopback, an immediate answer). */
    VirtioChain rx_chain, tx_chain;
    uint8_t rx_frame[HDR + NET_MAX_FRAME], tx_frame[HDR + NET_MAX_FRAME];
};

static uint8_t cfg_read(void *opaque, unsigned off) {
    VirtioNet *n = opaque;
    if (off < 6) return n->mac[off];
    if (off == 6) return 1; /* status: link up */
    return 0;
}

static bool rx_frame(void *opaque, const uint8_t *frame, size_t len) {
    VirtioNet *n = opaque;
    if (len > NET_MAX_FRAME || !virtq_ready(n->v, RXQ)) return false;
    if (virtq_pop(n->v, RXQ, &n->rx_chain) <= 0) return false; /* no buffer: dropped */
    memset(n->rx_frame, 0, HDR);
    memcpy(n->rx_frame + HDR, frame, len);
    size_t room = n->rx_chain.in_len < HDR + len ? (size_t)n->rx_chain.in_len : HDR + len;
    size_t w = virtio_chain_write(n->v, &n->rx_chain, 0, n->rx_frame, room);
    virtq_push(n->v, RXQ, &n->rx_chain, (uint32_t)w);
    virtq_interrupt(n->v, RXQ);
    return w == HDR + len;
}

static void notify(void *opaque, unsigned q) {
    VirtioNet *n = opaque;
    if (q != TXQ) return; /* new receive buffers: taken when a frame comes */
    bool any = false;
    for (unsigned i = 0; i < QSIZE; i++) {
        if (virtq_pop(n->v, TXQ, &n->tx_chain) <= 0) break;
        uint64_t len = n->tx_chain.out_len;
        if (len > HDR && len <= HDR + NET_MAX_FRAME &&
            virtio_chain_read(n->v, &n->tx_chain, 0, n->tx_frame, (size_t)len) == len &&
            len - HDR >= 14)
            net_port_transmit(n->port, n->tx_frame + HDR, (size_t)(len - HDR));
        virtq_push(n->v, TXQ, &n->tx_chain, 0);
        any = true;
    }
    if (any) virtq_interrupt(n->v, TXQ);
}

static const VirtioOps net_ops = {.notify = notify, .cfg_read = cfg_read, .cfg_size = 8};

VirtioNet *virtio_net_new(PhysMem *pm, IoBus *io, IrqLine irq, const uint8_t mac[6], NetPort *port,
                          IoStats *stats) {
    VirtioNet *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    memcpy(n->mac, mac, 6);
    n->port = port;
    n->v = virtio_new(pm, io, irq, VIRTIO_ID_NET, 2, QSIZE, NET_F_MAC | NET_F_STATUS, &net_ops, n,
                      stats);
    if (!n->v) {
        free(n);
        return NULL;
    }
    if (port) {
        port->receive = rx_frame;
        port->nic = n;
    }
    return n;
}

VirtioDev *virtio_net_dev(VirtioNet *n) {
    return n->v;
}

void virtio_net_free(VirtioNet *n) {
    if (!n) return;
    virtio_free(n->v);
    free(n);
}

void virtio_net_save(const VirtioNet *n, SnapWriter *w) {
    virtio_save(n->v, w); /* frames in flight are not kept (as e1000) */
}

bool virtio_net_load(VirtioNet *n, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    virtio_load(n->v, r);
    if (!snap_finish(r) || !r->apply) return snap_ok(r) && !r->apply;
    virtio_load_commit(n->v);
    return true;
}
