/*
 * virtio.c - legacy virtio PCI transport and split virtqueues (see virtio.h).
 */
#include "devices/virtio.h"

#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

#define DESC_F_NEXT          1u
#define DESC_F_WRITE         2u
#define DESC_F_INDIRECT      4u
#define AVAIL_F_NO_INTERRUPT 1u
#define RING_ALIGN           4096u

typedef struct VirtQueue {
    uint32_t pfn;
    uint16_t last_avail; /* the next available entry the device takes */
    uint16_t used_idx;   /* the device's used index */
} VirtQueue;

typedef struct VirtioState {
    uint32_t guest_features;
    uint16_t queue_sel;
    uint8_t status, isr;
    VirtQueue q[VIRTIO_MAX_QUEUES];
} VirtioState;

struct VirtioDev {
    PhysMem *pm;
    IoBus *io;
    IrqLine irq;
    unsigned type, nqueues, qsize, io_size;
    uint32_t host_features;
    const VirtioOps *ops;
    void *opaque;
    IoStats *stats;
    PciFunction *pci;
    uint16_t io_base;
    VirtioState s;
    VirtioState staged; /* virtio_load's parse, applied by the device's load */
    bool irq_level;
    uint8_t itable[VIRTIO_MAX_QSIZE * 16]; /* the indirect table being walked */
};

static void update_irq(VirtioDev *v) {
    bool level = v->s.isr != 0;
    if (level != v->irq_level) {
        v->irq_level = level;
        if (level && v->stats) v->stats->virtio_irq++;
        irq_set(&v->irq, level);
    }
}

void virtio_reset(VirtioDev *v) {
    memset(&v->s, 0, sizeof v->s);
    update_irq(v);
    if (v->ops->reset) v->ops->reset(v->opaque);
}

void virtio_set_broken(VirtioDev *v) {
    v->s.status |= VIRTIO_S_NEEDS_RESET;
    v->s.isr |= 2; /* configuration change: the driver looks at the status */
    update_irq(v);
}

uint8_t virtio_status(const VirtioDev *v) {
    return v->s.status;
}

uint32_t virtio_guest_features(const VirtioDev *v) {
    return v->s.guest_features;
}

bool virtio_driver_ok(const VirtioDev *v) {
    return (v->s.status & VIRTIO_S_DRIVER_OK) && !(v->s.status & VIRTIO_S_NEEDS_RESET);
}

IoStats *virtio_stats(VirtioDev *v) {
    return v->stats;
}

bool virtq_ready(const VirtioDev *v, unsigned q) {
    return q < v->nqueues && v->s.q[q].pfn && virtio_driver_ok(v);
}

/* ---- rings ---- */

static uint64_t ring_base(const VirtioDev *v, unsigned q) {
    return (uint64_t)v->s.q[q].pfn << 12;
}
static uint64_t avail_addr(const VirtioDev *v, unsigned q) {
    return ring_base(v, q) + 16ull * v->qsize;
}
static uint64_t used_addr(const VirtioDev *v, unsigned q) {
    uint64_t end = avail_addr(v, q) + 4 + 2ull * v->qsize + 2;
    return (end + RING_ALIGN - 1) & ~(uint64_t)(RING_ALIGN - 1);
}

static bool rd(VirtioDev *v, uint64_t addr, void *dst, size_t len) {
    return addr + len <= 0x100000000ull && phys_copy_from(v->pm, (uint32_t)addr, dst, len) == 0;
}
static bool wr(VirtioDev *v, uint64_t addr, const void *src, size_t len) {
    return addr + len <= 0x100000000ull && phys_copy_to(v->pm, (uint32_t)addr, src, len) == 0;
}
static uint16_t le16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int broken(VirtioDev *v) {
    virtio_set_broken(v);
    return -1;
}

/* Add one descriptor (16 bytes at d) to the chain. */
static bool add_seg(VirtioChain *c, const uint8_t *d) {
    uint64_t addr = (uint64_t)le32(d) | (uint64_t)le32(d + 4) << 32;
    uint32_t len = le32(d + 8);
    uint16_t flags = le16(d + 12);
    if (c->nseg >= VIRTIO_MAX_QSIZE) return false;
    if (addr + len > 0x100000000ull || addr > 0xFFFFFFFFull) return false;
    bool w = flags & DESC_F_WRITE;
    /* Readable buffers come first, then writable ones. */
    if (!w && c->in_len) return false;
    c->seg[c->nseg++] = (VirtioSeg){(uint32_t)addr, len, w};
    if (w)
        c->in_len += len;
    else
        c->out_len += len;
    return true;
}

/* Walk an indirect table: len bytes at addr, at most a queue's worth,
 * copied at once (the guest cannot change it under the walk). */
static bool walk_indirect(VirtioDev *v, VirtioChain *c, uint64_t addr, uint32_t len) {
    uint8_t *table = v->itable;
    if (len == 0 || len % 16 || len / 16 > v->qsize || !rd(v, addr, table, len)) return false;
    unsigned n = len / 16, i = 0;
    for (unsigned steps = 0;; steps++) {
        const uint8_t *d = table + 16 * i;
        if (steps >= n) return false; /* a loop */
        uint16_t flags = le16(d + 12);
        if (flags & DESC_F_INDIRECT) return false; /* no nesting */
        if (!add_seg(c, d)) return false;
        if (!(flags & DESC_F_NEXT)) return true;
        i = le16(d + 14);
        if (i >= n) return false;
    }
}

int virtq_pop(VirtioDev *v, unsigned q, VirtioChain *c) {
    if (!virtq_ready(v, q)) return 0;
    VirtQueue *vq = &v->s.q[q];
    uint8_t b[2];
    if (!rd(v, avail_addr(v, q) + 2, b, 2)) return broken(v);
    uint16_t avail = le16(b);
    uint16_t pending = (uint16_t)(avail - vq->last_avail);
    if (pending == 0) return 0;
    if (pending > v->qsize) return broken(v);
    if (!rd(v, avail_addr(v, q) + 4 + 2ull * (vq->last_avail % v->qsize), b, 2)) return broken(v);
    uint16_t head = le16(b);
    if (head >= v->qsize) return broken(v);
    vq->last_avail++;
    c->head = head;
    c->nseg = 0;
    c->in_len = c->out_len = 0;
    unsigned i = head;
    for (unsigned steps = 0;; steps++) {
        uint8_t d[16];
        /* A chain longer than the queue revisits a descriptor: a loop. */
        if (steps >= v->qsize || !rd(v, ring_base(v, q) + 16ull * i, d, 16)) return broken(v);
        uint16_t flags = le16(d + 12);
        if (flags & DESC_F_INDIRECT) {
            if (!(v->s.guest_features & VIRTIO_F_INDIRECT_DESC) || (flags & DESC_F_NEXT) ||
                !walk_indirect(v, c, (uint64_t)le32(d) | (uint64_t)le32(d + 4) << 32, le32(d + 8)))
                return broken(v);
            return 1;
        }
        if (!add_seg(c, d)) return broken(v);
        if (!(flags & DESC_F_NEXT)) return 1;
        i = le16(d + 14);
        if (i >= v->qsize) return broken(v);
    }
}

void virtq_push(VirtioDev *v, unsigned q, const VirtioChain *c, uint32_t written) {
    if (q >= v->nqueues || !v->s.q[q].pfn) return;
    VirtQueue *vq = &v->s.q[q];
    uint64_t used = used_addr(v, q);
    uint8_t e[8] = {(uint8_t)c->head,
                    (uint8_t)(c->head >> 8),
                    0,
                    0,
                    (uint8_t)written,
                    (uint8_t)(written >> 8),
                    (uint8_t)(written >> 16),
                    (uint8_t)(written >> 24)};
    if (!wr(v, used + 4 + 8ull * (vq->used_idx % v->qsize), e, 8)) {
        virtio_set_broken(v);
        return;
    }
    vq->used_idx++;
    uint8_t b[2] = {(uint8_t)vq->used_idx, (uint8_t)(vq->used_idx >> 8)};
    if (!wr(v, used + 2, b, 2)) virtio_set_broken(v);
}

void virtq_interrupt(VirtioDev *v, unsigned q) {
    if (q >= v->nqueues || !v->s.q[q].pfn) return;
    uint8_t b[2];
    bool suppress = rd(v, avail_addr(v, q), b, 2) && (le16(b) & AVAIL_F_NO_INTERRUPT);
    if (suppress && (v->s.guest_features & VIRTIO_F_NOTIFY_ON_EMPTY)) {
        /* Still interrupt when the queue ran empty. */
        uint8_t a[2];
        suppress = rd(v, avail_addr(v, q) + 2, a, 2) && le16(a) != v->s.q[q].last_avail;
    }
    if (suppress) return;
    v->s.isr |= 1;
    update_irq(v);
}

size_t virtio_chain_read(VirtioDev *v, const VirtioChain *c, uint64_t off, void *dst, size_t len) {
    size_t done = 0;
    for (unsigned i = 0; i < c->nseg && done < len; i++) {
        const VirtioSeg *s = &c->seg[i];
        if (s->write) break;
        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        size_t n = s->len - (size_t)off;
        if (n > len - done) n = len - done;
        if (phys_copy_from(v->pm, s->addr + (uint32_t)off, (uint8_t *)dst + done, n) < 0)
            return done;
        done += n;
        off = 0;
    }
    return done;
}

size_t virtio_chain_write(VirtioDev *v, const VirtioChain *c, uint64_t off, const void *src,
                          size_t len) {
    size_t done = 0;
    for (unsigned i = 0; i < c->nseg && done < len; i++) {
        const VirtioSeg *s = &c->seg[i];
        if (!s->write) continue;
        if (off >= s->len) {
            off -= s->len;
            continue;
        }
        size_t n = s->len - (size_t)off;
        if (n > len - done) n = len - done;
        if (phys_copy_to(v->pm, s->addr + (uint32_t)off, (const uint8_t *)src + done, n) < 0)
            return done;
        done += n;
        off = 0;
    }
    return done;
}

/* ---- registers ---- */

static uint32_t hdr_read(VirtioDev *v, unsigned off) {
    unsigned q = v->s.queue_sel;
    switch (off) {
    case 0x00: return v->host_features;
    case 0x04: return v->s.guest_features;
    case 0x08: return q < v->nqueues ? v->s.q[q].pfn : 0;
    case 0x0C: return q < v->nqueues ? v->qsize : 0;
    case 0x0E: return v->s.queue_sel;
    case 0x10: return 0;
    case 0x12: return v->s.status;
    default: return 0;
    }
}

uint32_t virtio_io_read(VirtioDev *v, unsigned offset, unsigned size) {
    if (v->stats) v->stats->virtio_port_access++;
    if (size != 1 && size != 2 && size != 4) size = 1;
    if (offset >= v->io_size) return 0xFFFFFFFFu;
    if (offset == 0x13) { /* ISR: read clears, lowers INTx */
        uint32_t val = v->s.isr;
        v->s.isr = 0;
        update_irq(v);
        return val;
    }
    uint32_t val = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned o = offset + i;
        uint8_t b = 0;
        if (o < VIRTIO_HDR_SIZE) {
            /* Field starts: 0,4,8 (u32), 0xC,0xE,0x10 (u16), 0x12 (u8). */
            unsigned start = o < 0x0C ? o & ~3u : o < 0x12 ? o & ~1u : o;
            b = (uint8_t)(hdr_read(v, start) >> 8 * (o - start));
        } else if (o - VIRTIO_HDR_SIZE < v->ops->cfg_size && v->ops->cfg_read) {
            b = v->ops->cfg_read(v->opaque, o - VIRTIO_HDR_SIZE);
        }
        val |= (uint32_t)b << 8 * i;
    }
    return val;
}

static void queue_notify(VirtioDev *v, unsigned q) {
    if (v->stats) v->stats->virtio_notify++;
    if (q < v->nqueues && virtq_ready(v, q) && v->ops->notify) v->ops->notify(v->opaque, q);
}

void virtio_io_write(VirtioDev *v, unsigned offset, unsigned size, uint32_t val) {
    if (v->stats) v->stats->virtio_port_access++;
    if (offset >= v->io_size) return;
    unsigned q = v->s.queue_sel;
    switch (offset) {
    case 0x04:
        if (size == 4) v->s.guest_features = val & v->host_features;
        return;
    case 0x08:
        if (size != 4 || q >= v->nqueues) return;
        /* The rings must end below 4 GiB (a 20-bit PFN: they always do
         * except in the last pages); anything else is checked per access. */
        v->s.q[q].pfn = val & 0xFFFFFu;
        v->s.q[q].last_avail = v->s.q[q].used_idx = 0;
        return;
    case 0x0E:
        if (size == 2) v->s.queue_sel = (uint16_t)val;
        return;
    case 0x10:
        if (size == 2) queue_notify(v, val & 0xFFFF);
        return;
    case 0x12:
        if (size != 1) return;
        if ((val & 0xFF) == 0) {
            virtio_reset(v);
            return;
        }
        v->s.status = (uint8_t)val | (v->s.status & VIRTIO_S_NEEDS_RESET);
        return;
    default: break;
    }
    if (offset >= VIRTIO_HDR_SIZE && v->ops->cfg_write)
        for (unsigned i = 0; i < size && offset + i < v->io_size; i++)
            if (offset + i - VIRTIO_HDR_SIZE < v->ops->cfg_size)
                v->ops->cfg_write(v->opaque, offset + i - VIRTIO_HDR_SIZE, (uint8_t)(val >> 8 * i));
}

static uint32_t io_read(void *opaque, uint16_t port, unsigned size) {
    VirtioDev *v = opaque;
    return virtio_io_read(v, (unsigned)(port - v->io_base), size);
}

static void io_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    VirtioDev *v = opaque;
    virtio_io_write(v, (unsigned)(port - v->io_base), size, val);
}

/* ---- PCI ---- */

static void pci_update(VirtioDev *v) {
    const uint8_t *c = v->pci->cfg;
    uint32_t bar0 = ((uint32_t)c[0x10] | (uint32_t)c[0x11] << 8 | (uint32_t)c[0x12] << 16 |
                     (uint32_t)c[0x13] << 24) &
                    ~0x3u;
    uint16_t io = (c[0x04] & 0x01) && bar0 && bar0 <= 0x10000 - v->io_size ? (uint16_t)bar0 : 0;
    if (v->io && io != v->io_base) {
        if (v->io_base) iobus_unregister(v->io, v->io_base, v->io_size, v);
        v->io_base = 0;
        if (io && iobus_register(v->io, io, v->io_size, io_read, io_write, v) == 0) v->io_base = io;
    }
}

static void pci_written(PciFunction *f, unsigned offset, unsigned size) {
    if ((offset < 0x06 && offset + size > 0x04) || (offset < 0x14 && offset + size > 0x10))
        pci_update(f->opaque);
}

PciFunction *virtio_pci_init(VirtioDev *v, PciBus *bus, uint8_t devfn, uint16_t class_code) {
    uint16_t dev = v->type == VIRTIO_ID_RNG ? 0x1005 : (uint16_t)(0x1000 + v->type - 1);
    PciFunction *f = pci_add_function(bus, devfn, 0x1AF4, dev, class_code);
    if (!f) return NULL;
    f->cfg[0x08] = 0x00; /* revision 0: the legacy interface */
    f->cfg[0x2C] = 0xF4;
    f->cfg[0x2D] = 0x1A;
    f->cfg[0x2E] = (uint8_t)v->type; /* subsystem id: the virtio device type */
    f->cfg[0x2F] = 0x00;
    f->cfg[0x10] = 0x01; /* BAR0: I/O */
    f->wmask[0x10] = (uint8_t)(~(v->io_size - 1) & 0xFC);
    f->wmask[0x11] = (uint8_t)(~(v->io_size - 1) >> 8);
    f->wmask[0x12] = 0xFF;
    f->wmask[0x13] = 0xFF;
    f->cfg[0x3D] = 0x01; /* INTA# */
    f->opaque = v;
    f->write_hook = pci_written;
    v->pci = f;
    return f;
}

VirtioDev *virtio_new(PhysMem *pm, IoBus *io, IrqLine irq, unsigned type, unsigned nqueues,
                      unsigned qsize, uint32_t features, const VirtioOps *ops, void *opaque,
                      IoStats *stats) {
    if (nqueues == 0 || nqueues > VIRTIO_MAX_QUEUES || qsize == 0 || qsize > VIRTIO_MAX_QSIZE ||
        (qsize & (qsize - 1)) || ops->cfg_size > 0x100 - VIRTIO_HDR_SIZE)
        return NULL;
    VirtioDev *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->pm = pm;
    v->io = io;
    v->irq = irq;
    v->type = type;
    v->nqueues = nqueues;
    v->qsize = qsize;
    v->host_features = features | VIRTIO_F_NOTIFY_ON_EMPTY | VIRTIO_F_INDIRECT_DESC;
    v->ops = ops;
    v->opaque = opaque;
    v->stats = stats;
    v->io_size = 0x20;
    while (v->io_size < VIRTIO_HDR_SIZE + ops->cfg_size)
        v->io_size <<= 1;
    memset(&v->s, 0, sizeof v->s);
    return v;
}

void virtio_free(VirtioDev *v) {
    if (!v) return;
    if (v->io && v->io_base) iobus_unregister(v->io, v->io_base, v->io_size, v);
    free(v);
}

/* ---- snapshots ---- */

void virtio_save(const VirtioDev *v, SnapWriter *w) {
    snap_put_u32(w, v->s.guest_features);
    snap_put_u16(w, v->s.queue_sel);
    snap_put_u8(w, v->s.status);
    snap_put_u8(w, v->s.isr);
    snap_put_u8(w, (uint8_t)v->nqueues);
    for (unsigned q = 0; q < v->nqueues; q++) {
        snap_put_u32(w, v->s.q[q].pfn);
        snap_put_u16(w, v->s.q[q].last_avail);
        snap_put_u16(w, v->s.q[q].used_idx);
    }
}

/* Parses into staging; the device's loader calls virtio_load_commit when
 * r->apply and its own part passed. */
bool virtio_load(VirtioDev *v, SnapReader *r) {
    VirtioState t;
    memset(&t, 0, sizeof t);
    t.guest_features = snap_get_u32(r);
    t.queue_sel = snap_get_u16(r);
    t.status = snap_get_u8(r);
    t.isr = snap_get_u8(r);
    unsigned n = snap_get_u8(r);
    if (!snap_check(r, n == v->nqueues, "virtio queue count")) return false;
    for (unsigned q = 0; q < n; q++) {
        t.q[q].pfn = snap_get_u32(r);
        t.q[q].last_avail = snap_get_u16(r);
        t.q[q].used_idx = snap_get_u16(r);
        snap_check(r, t.q[q].pfn <= 0xFFFFFu, "virtio queue PFN");
    }
    snap_check(r, (t.guest_features & ~v->host_features) == 0, "virtio features");
    snap_check(r, t.isr <= 3, "virtio ISR");
    v->staged = t;
    return snap_ok(r);
}

void virtio_load_commit(VirtioDev *v) {
    v->s = v->staged;
    v->irq_level = v->s.isr != 0; /* the wiring's own section restores the line */
}
