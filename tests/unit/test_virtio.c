/*
 * test_virtio.c - the legacy virtio PCI transport and its devices through
 * the I/O window alone, with 1 MiB of guest RAM: virtio-blk on a temporary
 * raw image (read, write, flush, GET_ID, bad sectors and lengths),
 * virtio-rng (the deterministic generator), virtio-net on a fake cable,
 * the ISR and INTx, snapshots, and hostile rings: descriptor loops
 * (direct and indirect), chains longer than the queue, indexes past the
 * queue, an available index far ahead, huge lengths, buffers and rings
 * past RAM or past 4 GiB, nested indirect tables. None may crash or hang;
 * a bad ring sets NEEDS_RESET and the device works again after a reset.
 * Under ASan (BT86_SANITIZE) any access outside the RAM buffer fails.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/disk.h"
#include "devices/virtio_devs.h"
#include "snap/snap.h"

#define RAM     (1u << 20)
#define SECTORS 64
#define QB      128              /* virtio-blk's queue size */
#define RING    0x10000u         /* queue 0's rings (PFN 0x10) */
#define USED    (RING + 0x1000u) /* used ring for 128 entries */

static PhysMem *pm;
static Disk *disk;
static VirtioBlk *blk;
static VirtioDev *v;
static IoStats stats;
static int irq_level;
static char path[64];

static void irq_set_fn(void *opaque, int n, int level) {
    (void)opaque;
    (void)n;
    irq_level = level;
}

static void put16(uint32_t a, uint16_t x) {
    uint8_t b[2] = {(uint8_t)x, (uint8_t)(x >> 8)};
    ck_assert_int_eq(phys_copy_to(pm, a, b, 2), 0);
}
static uint16_t get16(uint32_t a) {
    uint8_t b[2];
    ck_assert_int_eq(phys_copy_from(pm, a, b, 2), 0);
    return (uint16_t)(b[0] | b[1] << 8);
}
static uint32_t get32(uint32_t a) {
    uint8_t b[4];
    ck_assert_int_eq(phys_copy_from(pm, a, b, 4), 0);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Descriptor i of the table at base. */
static void desc_at(uint32_t base, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                    uint16_t next) {
    uint8_t d[16];
    for (int k = 0; k < 8; k++)
        d[k] = (uint8_t)(addr >> 8 * k);
    for (int k = 0; k < 4; k++)
        d[8 + k] = (uint8_t)(len >> 8 * k);
    d[12] = (uint8_t)flags;
    d[13] = (uint8_t)(flags >> 8);
    d[14] = (uint8_t)next;
    d[15] = (uint8_t)(next >> 8);
    ck_assert_int_eq(phys_copy_to(pm, base + 16 * i, d, 16), 0);
}
static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    desc_at(RING, i, addr, len, flags, next);
}

static uint16_t avail_idx;
/* Offer chain head and kick queue 0. */
static void offer(uint16_t head) {
    put16(RING + 16 * QB + 4 + 2 * (avail_idx % QB), head);
    avail_idx++;
    put16(RING + 16 * QB + 2, avail_idx);
    virtio_io_write(v, 0x10, 2, 0);
}
static uint16_t used_idx(void) {
    return get16(USED + 2);
}

#define NEXT  1
#define WRITE 2
#define INDIR 4

static void driver_init(void) {
    virtio_io_write(v, 0x12, 1, 0); /* reset */
    virtio_io_write(v, 0x12, 1, VIRTIO_S_ACK | VIRTIO_S_DRIVER);
    virtio_io_write(v, 0x04, 4, virtio_io_read(v, 0x00, 4));
    virtio_io_write(v, 0x0E, 2, 0);
    virtio_io_write(v, 0x08, 4, RING >> 12);
    virtio_io_write(v, 0x12, 1, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_DRIVER_OK);
    avail_idx = 0;
    uint8_t zero[0x2000] = {0};
    ck_assert_int_eq(phys_copy_to(pm, RING, zero, sizeof zero), 0);
}

static void setup(void) {
    pm = physmem_new(RAM);
    snprintf(path, sizeof path, "/tmp/bt86-virtio-%d.img", (int)getpid());
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    for (unsigned s = 0; s < SECTORS; s++) {
        uint8_t sec[512];
        memset(sec, (int)s, sizeof sec);
        fwrite(sec, 1, sizeof sec, f);
    }
    fclose(f);
    char err[256];
    disk = disk_open(path, DISK_RW, 512, err, sizeof err);
    ck_assert_msg(disk != NULL, "%s", err);
    memset(&stats, 0, sizeof stats);
    irq_level = 0;
    blk = virtio_blk_new(pm, NULL, (IrqLine){irq_set_fn, NULL, 0}, disk, &stats);
    ck_assert_ptr_nonnull(blk);
    v = virtio_blk_dev(blk);
    driver_init();
}

static void teardown(void) {
    virtio_blk_free(blk);
    disk_close(disk);
    unlink(path);
    physmem_free(pm);
}

/* A request: header at 0x20000, data at 0x21000, status at 0x30000. */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t data_len, bool data_out) {
    uint8_t h[16] = {0};
    h[0] = (uint8_t)type;
    for (int k = 0; k < 8; k++)
        h[8 + k] = (uint8_t)(sector >> 8 * k);
    ck_assert_int_eq(phys_copy_to(pm, 0x20000, h, 16), 0);
    uint8_t st = 0xEE;
    ck_assert_int_eq(phys_copy_to(pm, 0x30000, &st, 1), 0);
    unsigned head = 3 * (avail_idx % 40);
    if (data_len) {
        desc(head, 0x20000, 16, NEXT, (uint16_t)(head + 1));
        desc(head + 1, 0x21000, data_len, (uint16_t)(NEXT | (data_out ? 0 : WRITE)),
             (uint16_t)(head + 2));
        desc(head + 2, 0x30000, 1, WRITE, 0);
    } else {
        desc(head, 0x20000, 16, NEXT, (uint16_t)(head + 1));
        desc(head + 1, 0x30000, 1, WRITE, 0);
    }
    uint16_t before = used_idx();
    offer((uint16_t)head);
    ck_assert_int_eq(used_idx(), (uint16_t)(before + 1));
    uint8_t b;
    ck_assert_int_eq(phys_copy_from(pm, 0x30000, &b, 1), 0);
    return b;
}

START_TEST(identity_and_config) {
    ck_assert_uint_eq(virtio_io_read(v, 0x14, 4), SECTORS); /* capacity */
    ck_assert_uint_eq(virtio_io_read(v, 0x18, 4), 0);
    ck_assert_uint_eq(virtio_io_read(v, 0x0C, 2), QB);
    ck_assert_uint_eq(virtio_io_read(v, 0x00, 4) & (1u << 9), 1u << 9); /* FLUSH */
    virtio_io_write(v, 0x0E, 2, 5);                                     /* no queue 5 */
    ck_assert_uint_eq(virtio_io_read(v, 0x0C, 2), 0);
    virtio_io_write(v, 0x08, 4, 0x20); /* ignored */
    virtio_io_write(v, 0x0E, 2, 0);
    ck_assert_uint_eq(virtio_io_read(v, 0x08, 4), RING >> 12);
    /* Past the window: all ones, writes dropped. */
    ck_assert_uint_eq(virtio_io_read(v, 0x200, 4), 0xFFFFFFFFu);
    virtio_io_write(v, 0x200, 4, 0);
}
END_TEST

START_TEST(read_write_flush_id) {
    ck_assert_int_eq(request(0, 5, 1024, false), 0);
    uint8_t buf[1024];
    ck_assert_int_eq(phys_copy_from(pm, 0x21000, buf, sizeof buf), 0);
    ck_assert_int_eq(buf[0], 5);
    ck_assert_int_eq(buf[1023], 6);
    ck_assert_uint_eq(get32(USED + 4 + 4), 1025); /* data + status written */
    ck_assert_int_eq(irq_level, 1);
    ck_assert_uint_eq(virtio_io_read(v, 0x13, 1), 1); /* ISR: read clears */
    ck_assert_int_eq(irq_level, 0);
    ck_assert_uint_eq(virtio_io_read(v, 0x13, 1), 0);
    memset(buf, 0xA5, 512);
    ck_assert_int_eq(phys_copy_to(pm, 0x21000, buf, 512), 0);
    ck_assert_int_eq(request(1, 63, 512, true), 0); /* the last sector */
    ck_assert_int_eq(request(4, 0, 0, false), 0);   /* FLUSH */
    uint8_t back[512];
    ck_assert_int_eq(disk_read(disk, 63, 1, back), 0);
    ck_assert_int_eq(back[0], 0xA5);
    ck_assert_int_eq(request(8, 0, 20, false), 0); /* GET_ID */
    char id[21] = {0};
    ck_assert_int_eq(phys_copy_from(pm, 0x21000, id, 20), 0);
    ck_assert_str_eq(id, "BT86-VIRTIO-BLK");
    ck_assert_uint_eq(stats.virtio_blk_bytes, 1024 + 512);
    ck_assert_uint_ge(stats.virtio_notify, 4);
    ck_assert_uint_ge(stats.virtio_irq, 1);
}
END_TEST

START_TEST(bad_requests) {
    ck_assert_int_eq(request(0, 64, 512, false), 1);              /* past the end */
    ck_assert_int_eq(request(0, 63, 1024, false), 1);             /* runs past the end */
    ck_assert_int_eq(request(0, ~0ull, 512, false), 1);           /* sector overflow */
    ck_assert_int_eq(request(0, 0, 100, false), 1);               /* not whole sectors */
    ck_assert_int_eq(request(1, 0, 100, true), 1);                /* same, writing */
    ck_assert_int_eq(request(77, 0, 0, false), 2);                /* unsupported */
    ck_assert_int_eq(request(0, 0, 0x10000000u, false), 1);       /* 256 MiB: past the disk */
    ck_assert_int_eq(virtio_status(v) & VIRTIO_S_NEEDS_RESET, 0); /* all well-formed rings */
    /* A data buffer outside RAM: the copy fails, IOERR. */
    uint8_t h[16] = {0};
    ck_assert_int_eq(phys_copy_to(pm, 0x20000, h, 16), 0);
    desc(0, 0x20000, 16, NEXT, 1);
    desc(1, 0xFFFFF000u, 512, NEXT | WRITE, 2);
    desc(2, 0x30000, 1, WRITE, 0);
    offer(0);
    uint8_t st;
    ck_assert_int_eq(phys_copy_from(pm, 0x30000, &st, 1), 0);
    ck_assert_int_eq(st, 1);
    /* No status byte at all: the chain comes back, nothing written. */
    desc(0, 0x20000, 16, 0, 0);
    uint16_t u = used_idx();
    offer(0);
    ck_assert_int_eq(used_idx(), (uint16_t)(u + 1));
}
END_TEST

#define expect_broken_then_recover() expect_broken_then_recover_at(__LINE__)
static void expect_broken_then_recover_at(int line) {
    ck_assert_msg(virtio_status(v) & VIRTIO_S_NEEDS_RESET, "not broken (line %d)", line);
    uint16_t u = used_idx();
    offer(0); /* a broken device does nothing */
    ck_assert_int_eq(used_idx(), u);
    driver_init();
    ck_assert_int_eq(virtio_status(v) & VIRTIO_S_NEEDS_RESET, 0);
    ck_assert_int_eq(request(0, 1, 512, false), 0);
}

START_TEST(hostile_loop) {
    desc(0, 0x20000, 16, NEXT, 1);
    desc(1, 0x21000, 512, NEXT | WRITE, 0); /* back to 0 */
    offer(0);
    expect_broken_then_recover();
    desc(7, 0x30000, 1, NEXT | WRITE, 7); /* onto itself */
    offer(7);
    expect_broken_then_recover();
}
END_TEST

START_TEST(hostile_chain_longer_than_queue) {
    /* Every descriptor used once, no loop: 128 readable ones then the
     * status would need a 129th. */
    for (unsigned i = 0; i < QB; i++)
        desc(i, 0x20000, 16, i + 1 < QB ? NEXT : NEXT | WRITE, (uint16_t)((i + 1) % QB));
    offer(0);
    expect_broken_then_recover();
}
END_TEST

START_TEST(hostile_indexes) {
    desc(0, 0x20000, 16, NEXT, 500); /* next past the queue */
    offer(0);
    expect_broken_then_recover();
    offer(300); /* head past the queue */
    expect_broken_then_recover();
    /* Available index 1000 ahead of the device. */
    put16(RING + 16 * QB + 2, 1000);
    virtio_io_write(v, 0x10, 2, 0);
    expect_broken_then_recover();
    /* Notify of a queue that does not exist, of 0xFFFF: nothing. */
    virtio_io_write(v, 0x10, 2, 0xFFFF);
    virtio_io_write(v, 0x10, 2, 3);
    ck_assert_int_eq(virtio_status(v) & VIRTIO_S_NEEDS_RESET, 0);
}
END_TEST

START_TEST(hostile_addresses) {
    /* Past 4 GiB, wrapping past 4 GiB, and a huge length. */
    desc(0, 0x100000000ull, 16, 0, 0);
    offer(0);
    expect_broken_then_recover();
    desc(0, 0xFFFFFFF0u, 0x20, 0, 0);
    offer(0);
    expect_broken_then_recover();
    desc(0, 0x20000, 16, NEXT, 1);
    desc(1, 0x1000, 0xFFFFFFFFu, WRITE, 0);
    offer(0);
    expect_broken_then_recover();
    /* Rings past RAM: the queue's PFN at 0xFFFFF (the top page). */
    virtio_io_write(v, 0x08, 4, 0xFFFFF);
    virtio_io_write(v, 0x10, 2, 0);
    ck_assert_int_ne(virtio_status(v) & VIRTIO_S_NEEDS_RESET, 0);
    driver_init();
    /* Rings past RAM but below 4 GiB. */
    virtio_io_write(v, 0x08, 4, (RAM >> 12) + 2);
    virtio_io_write(v, 0x10, 2, 0);
    ck_assert_int_ne(virtio_status(v) & VIRTIO_S_NEEDS_RESET, 0);
    driver_init();
    ck_assert_int_eq(request(0, 2, 512, false), 0);
}
END_TEST

START_TEST(hostile_indirect) {
    /* A good indirect request first. */
    uint8_t h[16] = {0};
    h[8] = 3;
    ck_assert_int_eq(phys_copy_to(pm, 0x20000, h, 16), 0);
    desc_at(0x40000, 0, 0x20000, 16, NEXT, 1);
    desc_at(0x40000, 1, 0x21000, 512, NEXT | WRITE, 2);
    desc_at(0x40000, 2, 0x30000, 1, WRITE, 0);
    desc(0, 0x40000, 48, INDIR, 0);
    offer(0);
    uint8_t st = 0xEE, d0 = 0;
    ck_assert_int_eq(phys_copy_from(pm, 0x30000, &st, 1), 0);
    ck_assert_int_eq(phys_copy_from(pm, 0x21000, &d0, 1), 0);
    ck_assert_int_eq(st, 0);
    ck_assert_int_eq(d0, 3);
    ck_assert_int_eq(virtio_status(v) & VIRTIO_S_NEEDS_RESET, 0);
    /* A loop inside the table. */
    desc_at(0x40000, 2, 0x30000, 1, NEXT | WRITE, 0);
    offer(0);
    expect_broken_then_recover();
    /* Nested indirect, bad sizes, a table past RAM, next past the table. */
    static const struct {
        uint32_t addr, len;
        uint16_t f1;
    } bad[] = {{0x40000, 48, INDIR},
               {0x40000, 47, 0},
               {0x40000, 0, 0},
               {0xFFFF0, 48, 0},
               {0x40000, 16 * 4096, 0}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        desc_at(0x40000, 0, 0x20000, 16, (uint16_t)(NEXT | bad[k].f1), 1);
        desc_at(0x40000, 1, 0x21000, 512, NEXT | WRITE, 2);
        desc_at(0x40000, 2, 0x30000, 1, WRITE, 0);
        desc(0, bad[k].addr, bad[k].len, INDIR, 0);
        offer(0);
        expect_broken_then_recover();
    }
    desc_at(0x40000, 0, 0x20000, 16, NEXT, 9);
    desc(0, 0x40000, 48, INDIR, 0);
    offer(0);
    expect_broken_then_recover();
}
END_TEST

START_TEST(hostile_random_rings) {
    /* Random garbage in the whole ring area, many kicks: no crash, no hang. */
    srand(1);
    for (int round = 0; round < 300; round++) {
        uint8_t junk[0x1200];
        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)rand();
        ck_assert_int_eq(phys_copy_to(pm, RING, junk, sizeof junk), 0);
        virtio_io_write(v, 0x10, 2, 0);
        if (round % 3 == 0) driver_init();
    }
}
END_TEST

START_TEST(snapshot_round_trip) {
    ck_assert_int_eq(request(0, 1, 512, false), 0);
    SnapWriter *w = snap_writer_new();
    virtio_blk_save(blk, w);
    VirtioBlk *b = virtio_blk_new(pm, NULL, (IrqLine){irq_set_fn, NULL, 0}, disk, NULL);
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "vblk0", 1, false);
    ck_assert_msg(virtio_blk_load(b, &r), "%s", snap_error(&r));
    ck_assert_int_eq(virtio_status(virtio_blk_dev(b)), 0); /* not applied */
    snap_reader_init(&r, w->buf, w->len, "vblk0", 1, true);
    ck_assert_msg(virtio_blk_load(b, &r), "%s", snap_error(&r));
    ck_assert_int_eq(virtio_status(virtio_blk_dev(b)), virtio_status(v));
    /* b goes on where v was. */
    v = virtio_blk_dev(b);
    ck_assert_int_eq(request(0, 2, 512, false), 0);
    /* A truncated or corrupt section is refused. */
    snap_reader_init(&r, w->buf, w->len - 1, "vblk0", 1, false);
    ck_assert(!virtio_blk_load(b, &r));
    w->buf[SNAP_SECTION_HEAD > w->len ? 0 : 0] ^= 0; /* (header-less payload) */
    uint8_t bad[64];
    memcpy(bad, w->buf, w->len < sizeof bad ? w->len : sizeof bad);
    bad[8] = 9; /* queue count */
    snap_reader_init(&r, bad, w->len, "vblk0", 1, false);
    ck_assert(!virtio_blk_load(b, &r));
    virtio_blk_free(b);
    snap_writer_free(w);
}
END_TEST

START_TEST(rng_deterministic) {
    uint8_t out[2][64];
    for (int k = 0; k < 2; k++) {
        VirtioRng *g = virtio_rng_new(pm, NULL, (IrqLine){irq_set_fn, NULL, 0}, true, NULL);
        v = virtio_rng_dev(g);
        driver_init();
        ck_assert_uint_eq(virtio_io_read(v, 0x0C, 2), 64);
        /* rng's queue is 64: its used ring sits at RING + 0x1000 too. */
        uint8_t zero[64] = {0};
        ck_assert_int_eq(phys_copy_to(pm, 0x50000, zero, 64), 0);
        desc_at(RING, 0, 0x50000, 64, WRITE, 0);
        put16(RING + 16 * 64 + 4, 0);
        put16(RING + 16 * 64 + 2, 1);
        virtio_io_write(v, 0x10, 2, 0);
        ck_assert_uint_eq(get16(RING + 0x1000 + 2), 1);
        ck_assert_uint_eq(get32(RING + 0x1000 + 8), 64);
        ck_assert_int_eq(phys_copy_from(pm, 0x50000, out[k], 64), 0);
        /* A readable buffer: nothing written. A buffer past RAM: short. */
        desc_at(RING, 1, 0x50000, 64, 0, 0);
        desc_at(RING, 2, RAM - 8, 64, WRITE, 0);
        put16(RING + 16 * 64 + 6, 1);
        put16(RING + 16 * 64 + 8, 2);
        put16(RING + 16 * 64 + 2, 3);
        virtio_io_write(v, 0x10, 2, 0);
        ck_assert_uint_eq(get16(RING + 0x1000 + 2), 3);
        ck_assert_uint_eq(get32(RING + 0x1000 + 16), 0);
        ck_assert_uint_eq(get32(RING + 0x1000 + 24), 0);
        virtio_rng_free(g);
    }
    ck_assert_int_eq(memcmp(out[0], out[1], 64), 0);
    uint8_t zero[64] = {0};
    ck_assert_int_ne(memcmp(out[0], zero, 64), 0);
    v = virtio_blk_dev(blk);
}
END_TEST

static uint8_t sent[2048];
static size_t sent_len;
static void fake_tx(void *be, const uint8_t *f, size_t len) {
    (void)be;
    if (len <= sizeof sent) memcpy(sent, f, len);
    sent_len = len;
}

START_TEST(net_tx_rx) {
    NetPort port = {.transmit = fake_tx};
    static const uint8_t mac[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x57};
    VirtioNet *n = virtio_net_new(pm, NULL, (IrqLine){irq_set_fn, NULL, 0}, mac, &port, NULL);
    v = virtio_net_dev(n);
    ck_assert_uint_eq(virtio_io_read(v, 0x14, 4), 0x12005452u);
    ck_assert_uint_eq(virtio_io_read(v, 0x18, 2), 0x5734u);
    virtio_io_write(v, 0x12, 1, 0);
    virtio_io_write(v, 0x12, 1, 3);
    /* RX queue 0 at 0x10000, TX queue 1 at 0x60000 (256 entries: used at +0x2000). */
    virtio_io_write(v, 0x0E, 2, 0);
    virtio_io_write(v, 0x08, 4, 0x10);
    virtio_io_write(v, 0x0E, 2, 1);
    virtio_io_write(v, 0x08, 4, 0x60);
    virtio_io_write(v, 0x12, 1, 7);
    uint8_t zero[0x4000] = {0};
    phys_copy_to(pm, 0x10000, zero, sizeof zero);
    phys_copy_to(pm, 0x60000, zero, sizeof zero);
    /* A frame arrives with no buffer: dropped. */
    uint8_t frame[60];
    for (int i = 0; i < 60; i++)
        frame[i] = (uint8_t)i;
    ck_assert(!net_port_receive(&port, frame, 60));
    /* One receive buffer of 1600 bytes. */
    desc_at(0x10000, 0, 0x70000, 1600, WRITE, 0);
    put16(0x10000 + 16 * 256 + 4, 0);
    put16(0x10000 + 16 * 256 + 2, 1);
    ck_assert(net_port_receive(&port, frame, 60));
    ck_assert_uint_eq(get16(0x12000 + 2), 1);
    ck_assert_uint_eq(get32(0x12000 + 8), 70);
    uint8_t got[70];
    phys_copy_from(pm, 0x70000, got, 70);
    ck_assert_int_eq(memcmp(got + 10, frame, 60), 0);
    ck_assert_int_eq(irq_level, 1);
    /* Transmit: header + frame in two descriptors; then one that is too short. */
    phys_copy_to(pm, 0x71000, zero, 10);
    phys_copy_to(pm, 0x71010, frame, 60);
    desc_at(0x60000, 0, 0x71000, 10, NEXT, 1);
    desc_at(0x60000, 1, 0x71010, 60, 0, 0);
    desc_at(0x60000, 2, 0x71000, 12, 0, 0);
    put16(0x60000 + 16 * 256 + 4, 0);
    put16(0x60000 + 16 * 256 + 6, 2);
    put16(0x60000 + 16 * 256 + 2, 2);
    sent_len = 0;
    virtio_io_write(v, 0x10, 2, 1);
    ck_assert_uint_eq(sent_len, 60);
    ck_assert_int_eq(memcmp(sent, frame, 60), 0);
    ck_assert_uint_eq(get16(0x62000 + 2), 2);
    virtio_net_free(n);
    v = virtio_blk_dev(blk);
}
END_TEST

int main(void) {
    Suite *s = suite_create("virtio");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, identity_and_config);
    tcase_add_test(tc, read_write_flush_id);
    tcase_add_test(tc, bad_requests);
    tcase_add_test(tc, hostile_loop);
    tcase_add_test(tc, hostile_chain_longer_than_queue);
    tcase_add_test(tc, hostile_indexes);
    tcase_add_test(tc, hostile_addresses);
    tcase_add_test(tc, hostile_indirect);
    tcase_add_test(tc, hostile_random_rings);
    tcase_add_test(tc, snapshot_round_trip);
    tcase_add_test(tc, rng_deterministic);
    tcase_add_test(tc, net_tx_rx);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
