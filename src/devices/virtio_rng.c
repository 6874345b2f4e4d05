/*
 * virtio_rng.c - virtio entropy device (see virtio_devs.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "devices/virtio_devs.h"
#include "snap/snap.h"

#define QSIZE 64
#define CHUNK 4096u /* at most this much per buffer: the guest asks again */
#define SEED  0x6274383620726e67ull

struct VirtioRng {
    VirtioDev *v;
    bool deterministic;
    uint64_t state; /* xorshift64* state when deterministic */
    VirtioChain chain;
    uint8_t buf[CHUNK];
};

static void fill(VirtioRng *g, uint8_t *p, size_t n) {
    if (!g->deterministic) {
        size_t got = 0;
        while (got < n) {
            ssize_t r = getrandom(p + got, n - got, 0);
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (got == n) return;
        /* getrandom failed: fall through to the generator, seeded above. */
    }
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) {
            g->state ^= g->state >> 12;
            g->state ^= g->state << 25;
            g->state ^= g->state >> 27;
        }
        p[i] = (uint8_t)((g->state * 0x2545F4914F6CDD1Dull) >> 8 * (i % 8));
    }
}

static void notify(void *opaque, unsigned q) {
    VirtioRng *g = opaque;
    if (q != 0) return;
    bool any = false;
    for (unsigned i = 0; i < QSIZE; i++) {
        if (virtq_pop(g->v, 0, &g->chain) <= 0) break;
        size_t n = g->chain.in_len < CHUNK ? (size_t)g->chain.in_len : CHUNK;
        fill(g, g->buf, n);
        size_t w = virtio_chain_write(g->v, &g->chain, 0, g->buf, n);
        virtq_push(g->v, 0, &g->chain, (uint32_t)w);
        any = true;
    }
    if (any) virtq_interrupt(g->v, 0);
}

static const VirtioOps rng_ops = {.notify = notify, .cfg_size = 0};

VirtioRng *virtio_rng_new(PhysMem *pm, IoBus *io, IrqLine irq, bool deterministic, IoStats *stats) {
    VirtioRng *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->deterministic = deterministic;
    g->state = SEED;
    g->v = virtio_new(pm, io, irq, VIRTIO_ID_RNG, 1, QSIZE, 0, &rng_ops, g, stats);
    if (!g->v) {
        free(g);
        return NULL;
    }
    return g;
}

VirtioDev *virtio_rng_dev(VirtioRng *g) {
    return g->v;
}

void virtio_rng_free(VirtioRng *g) {
    if (!g) return;
    virtio_free(g->v);
    free(g);
}

void virtio_rng_save(const VirtioRng *g, SnapWriter *w) {
    virtio_save(g->v, w);
    snap_put_u64(w, g->state);
}

bool virtio_rng_load(VirtioRng *g, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    virtio_load(g->v, r);
    uint64_t st = snap_get_u64(r);
    snap_check(r, st != 0, "virtio-rng generator state");
    if (!snap_finish(r) || !r->apply) return snap_ok(r) && !r->apply;
    virtio_load_commit(g->v);
    g->state = st;
    return true;
}
