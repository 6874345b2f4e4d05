/*
 * virtio_blk.c - virtio block device on a Disk (see virtio_devs.h).
 */
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_devs.h"
#include "snap/snap.h"

#define BLK_F_SEG_MAX  (1u << 2)
#define BLK_F_RO       (1u << 5)
#define BLK_F_BLK_SIZE (1u << 6)
#define BLK_F_FLUSH    (1u << 9)

enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8 };
enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };

#define QSIZE   128
#define SEG_MAX (QSIZE - 2)
#define CHUNK   (64u * 1024) /* bytes moved per disk call */

struct VirtioBlk {
    VirtioDev *v;
    Disk *disk;
    VirtioChain chain;
    uint8_t buf[CHUNK];
};

static uint8_t cfg_read(void *opaque, unsigned off) {
    VirtioBlk *b = opaque;
    uint8_t c[24] = {0};
    uint64_t cap = disk_sectors(b->disk);
    for (int i = 0; i < 8; i++)
        c[i] = (uint8_t)(cap >> 8 * i);
    /* 8: size_max (0: not offered), 12: seg_max, 16: geometry, 20: blk_size */
    c[12] = (uint8_t)SEG_MAX;
    c[21] = 512 >> 8;
    return off < sizeof c ? c[off] : 0;
}

/* The data part of a request: the chain's bytes between the 16-byte header
 * and the status byte. Returns the status. */
static uint8_t do_rw(VirtioBlk *b, bool out, uint64_t sector, uint32_t *written) {
    VirtioChain *c = &b->chain;
    uint64_t len = out ? c->out_len - 16 : c->in_len - 1;
    if (len % 512) return S_IOERR;
    uint64_t n = len / 512, total = disk_sectors(b->disk);
    if (sector > total || n > total - sector) return S_IOERR;
    if (out && disk_read_only(b->disk)) return S_IOERR;
    for (uint64_t done = 0; done < len;) {
        uint32_t chunk = len - done > CHUNK ? CHUNK : (uint32_t)(len - done);
        uint64_t lba = sector + done / 512;
        if (out) {
            if (virtio_chain_read(b->v, c, 16 + done, b->buf, chunk) != chunk) return S_IOERR;
            if (disk_write(b->disk, lba, chunk / 512, b->buf) < 0) return S_IOERR;
        } else {
            if (disk_read(b->disk, lba, chunk / 512, b->buf) < 0) return S_IOERR;
            if (virtio_chain_write(b->v, c, done, b->buf, chunk) != chunk) return S_IOERR;
            *written += chunk;
        }
        done += chunk;
        IoStats *st = virtio_stats(b->v);
        if (st) st->virtio_blk_bytes += chunk;
    }
    return S_OK;
}

static void handle(VirtioBlk *b) {
    VirtioChain *c = &b->chain;
    uint8_t h[16];
    uint32_t written = 0;
    uint8_t status;
    if (c->in_len < 1) { /* nowhere to put the status: return the chain as is */
        virtq_push(b->v, 0, c, 0);
        return;
    }
    if (virtio_chain_read(b->v, c, 0, h, 16) != 16) {
        status = S_IOERR;
    } else {
        uint32_t type =
            (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
        uint64_t sector = 0;
        for (int i = 0; i < 8; i++)
            sector |= (uint64_t)h[8 + i] << 8 * i;
        switch (type) {
        case T_IN: status = do_rw(b, false, sector, &written); break;
        case T_OUT: status = do_rw(b, true, sector, &written); break;
        case T_FLUSH: status = disk_flush(b->disk) < 0 ? S_IOERR : S_OK; break;
        case T_GET_ID: {
            char id[20] = "BT86-VIRTIO-BLK";
            size_t room = c->in_len - 1 < sizeof id ? (size_t)c->in_len - 1 : sizeof id;
            written = (uint32_t)virtio_chain_write(b->v, c, 0, id, room);
            status = S_OK;
            break;
        }
        default: status = S_UNSUPP; break;
        }
    }
    /* The status byte is the last writable byte. */
    if (virtio_chain_write(b->v, c, c->in_len - 1, &status, 1) == 1) written++;

    virtq_push(b->v, 0, c, written);
}

static void notify(void *opaque, unsigned q) {
    VirtioBlk *b = opaque;
    if (q != 0) return;
    bool any = false;
    for (unsigned i = 0; i < QSIZE; i++) { /* at most a queue's worth per kick */
        if (virtq_pop(b->v, 0, &b->chain) <= 0) break;
        handle(b);
        any = true;
    }
    if (any) virtq_interrupt(b->v, 0);
}

static const VirtioOps blk_ops = {
    .notify = notify, .cfg_read = cfg_read, .cfg_write = NULL, .reset = NULL, .cfg_size = 24};

VirtioBlk *virtio_blk_new(PhysMem *pm, IoBus *io, IrqLine irq, Disk *disk, IoStats *stats) {
    VirtioBlk *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->disk = disk;
    uint32_t f = BLK_F_SEG_MAX | BLK_F_BLK_SIZE | BLK_F_FLUSH;
    if (disk_read_only(disk)) f |= BLK_F_RO;
    b->v = virtio_new(pm, io, irq, VIRTIO_ID_BLK, 1, QSIZE, f, &blk_ops, b, stats);
    if (!b->v) {
        free(b);
        return NULL;
    }
    return b;
}

VirtioDev *virtio_blk_dev(VirtioBlk *b) {
    return b->v;
}

void virtio_blk_free(VirtioBlk *b) {
    if (!b) return;
    virtio_free(b->v);
    free(b);
}

void virtio_blk_save(const VirtioBlk *b, SnapWriter *w) {
    virtio_save(b->v, w); /* requests complete within a notification: nothing in flight */
}

bool virtio_blk_load(VirtioBlk *b, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    virtio_load(b->v, r);
    if (!snap_finish(r) || !r->apply) return snap_ok(r) && !r->apply;
    virtio_load_commit(b->v);
    return true;
}
