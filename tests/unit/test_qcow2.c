/*
 * test_qcow2.c - the qcow2 back end through the Disk API: images made by
 * qemu-img (v2 and v3, several cluster sizes and refcount widths,
 * compressed) read back sector for sector against the raw data; writes
 * that allocate clusters, L2 tables and refcount blocks, and grow the
 * refcount table, then `qemu-img check` (no errors, no leaks) and `qemu-img
 * compare` with the expected raw image; backing chains (relative names,
 * raw and qcow2, format probed or named); a write into a compressed
 * cluster; -snapshot never changing the file; locking; the probed-raw
 * sector-0 guard; and hand-built hostile headers and tables refused with
 * a message (never a crash). Tests that need qemu-img say so and pass
 * when it is missing (tests/install-deps.sh installs qemu-utils).
 */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/disk.h"

static char dir[64];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/bt86-qcow2-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *in_dir(const char *name) {
    static char paths[8][160];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 160, "%s/%s", dir, name);
    return p;
}

static bool have_qemu_img(void) {
    if (system("qemu-img --version >/dev/null 2>&1") == 0) return true;
    fprintf(stderr, "test_qcow2: qemu-img not found (apt-get install qemu-utils): test skipped\n");
    return false;
}

/* Run a shell command in dir; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[1024];
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && ", dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint8_t pattern(uint64_t sector, unsigned i, unsigned seed) {
    uint64_t x = sector * 2654435761u + i * 40503u + seed * 97u;
    return (uint8_t)(x ^ (x >> 11));
}

/* A raw file of n sectors; every 4th 64 KiB stretch left zero (so
 * qemu-img leaves holes). */
static void write_raw(const char *name, uint64_t sectors, unsigned seed, uint8_t **out) {
    uint8_t *buf = calloc(sectors, 512);
    for (uint64_t s = 0; s < sectors; s++)
        if ((s / 128) % 4 != 3)
            for (unsigned i = 0; i < 512; i++)
                buf[s * 512 + i] = pattern(s, i, seed);
    FILE *f = fopen(in_dir(name), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 512, sectors, f), sectors);
    fclose(f);
    if (out)
        *out = buf;
    else
        free(buf);
}

static void save_raw(const char *name, const uint8_t *buf, uint64_t sectors) {
    FILE *f = fopen(in_dir(name), "wb");
    ck_assert_uint_eq(fwrite(buf, 512, sectors, f), sectors);
    fclose(f);
}

static Disk *open_ok(const char *name, DiskMode mode, DiskFormat fmt) {
    char err[300];
    DiskOptions o = {fmt, DISK_CACHE_WRITEBACK};
    Disk *d = disk_open_with(in_dir(name), mode, 512, &o, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    return d;
}

/* The open fails and the message holds want. */
static void open_fails(const char *name, DiskMode mode, const char *want) {
    char err[300] = "";
    Disk *d = disk_open(in_dir(name), mode, 512, err, sizeof err);
    if (d) disk_close(d);
    ck_assert_msg(d == NULL, "%s opened (expected '%s')", name, want);
    ck_assert_msg(strstr(err, want) != NULL, "message '%s' lacks '%s'", err, want);
}

static void assert_reads(Disk *d, const uint8_t *expect, uint64_t sectors) {
    ck_assert_uint_eq(disk_sectors(d), sectors);
    uint8_t buf[64 * 512];
    for (uint64_t s = 0; s < sectors; s += 64) {
        uint32_t n = sectors - s < 64 ? (uint32_t)(sectors - s) : 64;
        ck_assert_int_eq(disk_read(d, s, n, buf), 0);
        ck_assert_msg(memcmp(buf, expect + s * 512, n * 512) == 0, "sectors %llu+%u differ",
                      (unsigned long long)s, n);
    }
}

static uint64_t file_hash(const char *name) {
    FILE *f = fopen(in_dir(name), "rb");
    ck_assert_ptr_nonnull(f);
    uint64_t h = 1469598103934665603ull;
    int c;
    while ((c = fgetc(f)) != EOF)
        h = (h ^ (uint64_t)c) * 1099511628211ull;
    fclose(f);
    return h;
}

/* ---------------- images from qemu-img ---------------- */

START_TEST(reads_qemu_img_images) {
    if (!have_qemu_img()) return;
    const uint64_t sectors = 8192; /* 4 MiB */
    uint8_t *data;
    write_raw("src.raw", sectors, 1, &data);
    const char *variants[] = {
        "-O qcow2",
        "-O qcow2 -o compat=0.10",
        "-O qcow2 -o cluster_size=512,refcount_bits=1",
        "-O qcow2 -o cluster_size=2M,refcount_bits=64",
        "-O qcow2 -o cluster_size=4096,refcount_bits=8",
        "-c -O qcow2",
        "-c -O qcow2 -o cluster_size=4096,compat=0.10",
    };
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        ck_assert_int_eq(sh("qemu-img convert -f raw %s src.raw img.qcow2", variants[v]), 0);
        Disk *d = open_ok("img.qcow2", DISK_RO, DISK_FORMAT_PROBE);
        ck_assert_int_eq(disk_format(d), DISK_FORMAT_QCOW2);
        ck_assert(!disk_probed_raw(d));
        assert_reads(d, data, sectors);
        uint8_t b[512];
        ck_assert_int_eq(disk_read(d, sectors, 1, b), -1); /* past the end */
        disk_close(d);
    }
    free(data);
}
END_TEST

/* Scattered writes of assorted lengths, mirrored in memory, then check and
 * compare with qemu-img, and read back after reopening. */
static void write_and_verify(const char *create_opts, uint64_t sectors, unsigned seed) {
    ck_assert_int_eq(sh("qemu-img create -q -f qcow2 %s img.qcow2 %llu", create_opts,
                        (unsigned long long)sectors * 512),
                     0);
    uint8_t *mirror = calloc(sectors, 512), buf[200 * 512];
    Disk *d = open_ok("img.qcow2", DISK_RW, DISK_FORMAT_QCOW2);
    srand(seed);
    for (int i = 0; i < 300; i++) {
        uint32_t n = 1 + (uint32_t)rand() % 200;
        uint64_t lba = (uint64_t)rand() % (sectors - n);
        if (i == 0) lba = sectors - n; /* the last sector too */
        for (uint32_t k = 0; k < n * 512; k++)
            buf[k] = pattern(lba + k / 512, k % 512, seed + (unsigned)i);
        ck_assert_int_eq(disk_write(d, lba, n, buf), 0);
        memcpy(mirror + lba * 512, buf, n * 512);
    }
    ck_assert_int_eq(disk_flush(d), 0);
    assert_reads(d, mirror, sectors);
    disk_close(d);
    save_raw("expect.raw", mirror, sectors);
    ck_assert_msg(sh("qemu-img check -q img.qcow2") == 0, "qemu-img check failed (%s)",
                  create_opts);
    ck_assert_int_eq(sh("qemu-img compare -q -f raw -F qcow2 expect.raw img.qcow2"), 0);
    d = open_ok("img.qcow2", DISK_RO, DISK_FORMAT_PROBE);
    assert_reads(d, mirror, sectors);
    disk_close(d);
    free(mirror);
}

START_TEST(writes_allocate_and_pass_check) {
    if (!have_qemu_img()) return;
    write_and_verify("", 32768, 5);
    write_and_verify("-o compat=0.10,cluster_size=4096", 32768, 6);
    write_and_verify("-o cluster_size=512,refcount_bits=1", 8192, 7);
    write_and_verify("-o cluster_size=1024,refcount_bits=64", 8192, 8);
}
END_TEST

/* 512-byte clusters, 16-bit refcounts: one refcount-table cluster covers
 * 64 blocks of 256 clusters = 8 MiB of file; 12 MiB of writes outgrow it. */
START_TEST(refcount_table_grows) {
    if (!have_qemu_img()) return;
    const uint64_t sectors = 24576;
    ck_assert_int_eq(sh("qemu-img create -q -f qcow2 -o cluster_size=512 img.qcow2 12M"), 0);
    uint8_t *mirror = calloc(sectors, 512);
    Disk *d = open_ok("img.qcow2", DISK_RW, DISK_FORMAT_QCOW2);
    for (uint64_t s = 0; s < sectors; s += 128) {
        for (unsigned k = 0; k < 128 * 512; k++)
            mirror[s * 512 + k] = pattern(s + k / 512, k % 512, 9);
        ck_assert_int_eq(disk_write(d, s, 128, mirror + s * 512), 0);
    }
    disk_close(d);
    struct stat st;
    ck_assert_int_eq(stat(in_dir("img.qcow2"), &st), 0);
    ck_assert_int_gt(st.st_size, 8 << 20);
    save_raw("expect.raw", mirror, sectors);
    ck_assert_int_eq(sh("qemu-img check -q img.qcow2"), 0);
    ck_assert_int_eq(sh("qemu-img compare -q -f raw -F qcow2 expect.raw img.qcow2"), 0);
    free(mirror);
}
END_TEST

START_TEST(backing_chain) {
    if (!have_qemu_img()) return;
    const uint64_t sectors = 4096;
    uint8_t *base;
    ck_assert_int_eq(mkdir(in_dir("sub"), 0755), 0);
    write_raw("sub/base.raw", sectors, 2, &base);
    uint64_t base_hash = file_hash("sub/base.raw");
    /* mid: qcow2 over raw, named relative to its own directory */
    ck_assert_int_eq(sh("cd sub && qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2"), 0);
    Disk *d = open_ok("sub/mid.qcow2", DISK_RW, DISK_FORMAT_PROBE);
    uint8_t buf[8 * 512];
    memset(buf, 0xA5, sizeof buf);
    ck_assert_int_eq(disk_write(d, 100, 3, buf), 0); /* part of a cluster: merges the backing */
    memcpy(base + 100 * 512, buf, 3 * 512);
    disk_close(d);
    /* top: qcow2 over qcow2, in another directory, bigger than the chain */
    ck_assert_int_eq(sh("qemu-img create -q -f qcow2 -b sub/mid.qcow2 -F qcow2 top.qcow2 4M"), 0);
    uint8_t *expect = calloc(2 * sectors, 512);
    memcpy(expect, base, sectors * 512);
    d = open_ok("top.qcow2", DISK_RW, DISK_FORMAT_PROBE);
    memset(buf, 0x5A, sizeof buf);
    ck_assert_int_eq(disk_write(d, 101, 8, buf), 0);
    memcpy(expect + 101 * 512, buf, 8 * 512);
    ck_assert_int_eq(disk_write(d, sectors + 10, 8, buf), 0); /* past the backing's end */
    memcpy(expect + (sectors + 10) * 512, buf, 8 * 512);
    assert_reads(d, expect, 2 * sectors);
    disk_close(d);
    ck_assert_int_eq(sh("qemu-img check -q top.qcow2 && qemu-img check -q sub/mid.qcow2"), 0);
    save_raw("expect.raw", expect, 2 * sectors);
    ck_assert_int_eq(sh("qemu-img compare -q -f raw -F qcow2 expect.raw top.qcow2"), 0);
    ck_assert_uint_eq(file_hash("sub/base.raw"), base_hash);
    /* A backing file that is missing: a message naming it. */
    ck_assert_int_eq(sh("mv sub/base.raw sub/gone.raw"), 0);
    open_fails("top.qcow2", DISK_RO, "base.raw");
    free(base);
    free(expect);
}
END_TEST

START_TEST(write_into_compressed_cluster) {
    if (!have_qemu_img()) return;
    const uint64_t sectors = 2048;
    uint8_t *data;
    write_raw("src.raw", sectors, 3, &data);
    ck_assert_int_eq(sh("qemu-img convert -c -f raw -O qcow2 src.raw img.qcow2"), 0);
    Disk *d = open_ok("img.qcow2", DISK_RW, DISK_FORMAT_PROBE);
    uint8_t buf[512];
    memset(buf, 0x77, sizeof buf);
    ck_assert_int_eq(disk_write(d, 130, 1, buf), 0);
    memcpy(data + 130 * 512, buf, 512);
    assert_reads(d, data, sectors);
    disk_close(d);
    save_raw("expect.raw", data, sectors);
    ck_assert_int_eq(sh("qemu-img check -q img.qcow2"), 0);
    ck_assert_int_eq(sh("qemu-img compare -q -f raw -F qcow2 expect.raw img.qcow2"), 0);
    free(data);
}
END_TEST

START_TEST(snapshot_mode_never_writes) {
    if (!have_qemu_img()) return;
    write_raw("base.raw", 2048, 4, NULL);
    ck_assert_int_eq(sh("qemu-img create -q -f qcow2 -b base.raw -F raw img.qcow2"), 0);
    uint64_t h = file_hash("img.qcow2"), hb = file_hash("base.raw");
    Disk *d = open_ok("img.qcow2", DISK_SNAPSHOT, DISK_FORMAT_PROBE);
    uint8_t buf[512], back[512];
    memset(buf, 0x42, sizeof buf);
    ck_assert_int_eq(disk_write(d, 7, 1, buf), 0);
    ck_assert_int_eq(disk_read(d, 7, 1, back), 0);
    ck_assert_mem_eq(buf, back, 512);
    ck_assert_int_eq(disk_flush(d), 0);
    disk_close(d);
    ck_assert_uint_eq(file_hash("img.qcow2"), h);
    ck_assert_uint_eq(file_hash("base.raw"), hb);
}
END_TEST

START_TEST(locking) {
    write_raw("a.raw", 64, 1, NULL);
    Disk *w = open_ok("a.raw", DISK_RW, DISK_FORMAT_RAW);
    open_fails("a.raw", DISK_RW, "failed to get \"write\" lock");
    open_fails("a.raw", DISK_RO, "lock");
    open_fails("a.raw", DISK_SNAPSHOT, "lock");
    disk_close(w);
    Disk *r1 = open_ok("a.raw", DISK_RO, DISK_FORMAT_RAW);
    Disk *r2 = open_ok("a.raw", DISK_SNAPSHOT, DISK_FORMAT_RAW); /* readers share */
    open_fails("a.raw", DISK_RW, "lock");
    disk_close(r1);
    disk_close(r2);
    if (!have_qemu_img()) return;
    /* The backing file of an image open for writing is locked for reading. */
    ck_assert_int_eq(sh("qemu-img create -q -f qcow2 -b a.raw -F raw top.qcow2"), 0);
    Disk *top = open_ok("top.qcow2", DISK_RW, DISK_FORMAT_PROBE);
    open_fails("a.raw", DISK_RW, "lock");
    ck_assert_int_ne(sh("qemu-io -f raw -c 'write 0 512' a.raw >/dev/null 2>&1"), 0); /* QEMU too */
    disk_close(top);
    ck_assert_int_eq(sh("qemu-io -f raw -c 'write 0 512' a.raw >/dev/null 2>&1"), 0);
}
END_TEST

START_TEST(probed_raw_guards_sector_zero) {
    write_raw("a.raw", 64, 1, NULL);
    uint8_t hdr[512] = {'Q', 'F', 'I', 0xfb};
    Disk *d = open_ok("a.raw", DISK_RW, DISK_FORMAT_PROBE);
    ck_assert(disk_probed_raw(d));
    ck_assert_int_eq(disk_write(d, 0, 1, hdr), -1);
    ck_assert_int_eq(disk_write(d, 1, 1, hdr), 0);
    disk_close(d);
    d = open_ok("a.raw", DISK_RW, DISK_FORMAT_RAW);
    ck_assert(!disk_probed_raw(d));
    ck_assert_int_eq(disk_write(d, 0, 1, hdr), 0); /* format=raw: the guest's business */
    disk_close(d);
}
END_TEST

/* ---------------- hand-built images ---------------- */

/* 512-byte clusters: 0 header, 1 L1 (64 entries), 2 refcount table, 3
 * refcount block (16-bit), 4 L2, 5 data; virtual size 1 MiB (32 L1
 * entries). The fields tests change: */
typedef struct Img {
    uint32_t version, cluster_bits, crypt, l1_size, rt_clusters, snapshots, refcount_order, hlen;
    uint64_t size, l1_off, rt_off, incompat, backing_off;
    uint32_t backing_len;
    const char *backing; /* written at 0x100 */
    uint64_t l1e0, l2e0; /* L1[0], L2[0] */
    uint32_t ext_type, ext_len;
    uint8_t compression_type;
    size_t truncate; /* file length, 0: whole */
} Img;

static Img good_img(void) {
    return (Img){.version = 3,
                 .cluster_bits = 9,
                 .l1_size = 32,
                 .rt_clusters = 1,
                 .refcount_order = 4,
                 .hlen = 112,
                 .size = 1 << 20,
                 .l1_off = 512,
                 .rt_off = 1024,
                 .l1e0 = 2048 | (1ull << 63),
                 .l2e0 = 2560 | (1ull << 63)};
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void build(const char *name, const Img *m) {
    uint8_t f[6 * 512] = {0};
    put32(f, 0x514649fb);
    put32(f + 4, m->version);
    put64(f + 8, m->backing_off);
    put32(f + 16, m->backing_len);
    put32(f + 20, m->cluster_bits);
    put64(f + 24, m->size);
    put32(f + 32, m->crypt);
    put32(f + 36, m->l1_size);
    put64(f + 40, m->l1_off);
    put64(f + 48, m->rt_off);
    put32(f + 56, m->rt_clusters);
    put32(f + 60, m->snapshots);
    if (m->version >= 3) {
        put64(f + 72, m->incompat);
        put32(f + 96, m->refcount_order);
        put32(f + 100, m->hlen);
        f[104] = m->compression_type;
        put32(f + m->hlen, m->ext_type);
        put32(f + m->hlen + 4, m->ext_len);
    }
    if (m->backing) memcpy(f + 0x100, m->backing, strlen(m->backing));
    put64(f + 512, m->l1e0);
    put64(f + 1024, 1536);
    for (int c = 0; c < 6; c++)
        f[1536 + 2 * c + 1] = 1; /* refcount 1 for clusters 0-5 */
    put64(f + 2048, m->l2e0);
    memset(f + 2560, 0xC3, 512);
    FILE *out = fopen(in_dir(name), "wb");
    size_t len = m->truncate ? m->truncate : sizeof f;
    ck_assert_uint_eq(fwrite(f, 1, len, out), len);
    fclose(out);
}

START_TEST(hand_built_image_is_valid) {
    Img m = good_img();
    build("good.qcow2", &m);
    Disk *d = open_ok("good.qcow2", DISK_RW, DISK_FORMAT_PROBE);
    uint8_t b[512];
    ck_assert_int_eq(disk_read(d, 0, 1, b), 0);
    ck_assert_uint_eq(b[0], 0xC3);
    ck_assert_int_eq(disk_read(d, 1, 1, b), 0);
    ck_assert_uint_eq(b[0], 0);
    ck_assert_int_eq(disk_write(d, 2047, 1, b), 0); /* new L2 table and data cluster */
    disk_close(d);
    if (have_qemu_img()) ck_assert_int_eq(sh("qemu-img check -q good.qcow2"), 0);
}
END_TEST

/* Hostile header i (0.. until NULL): edits m, returns the message expected. */
static const char *hostile_header(int i, Img *m) {
    switch (i) {
    case 0: m->truncate = 50; return "truncated";
    case 1: m->truncate = 100; return "truncated";
    case 2: m->version = 4; return "version 4";
    case 3: m->cluster_bits = 30; return "cluster_bits";
    case 4: m->crypt = 1; return "encrypted";
    case 5: m->incompat = 1ull << 2; return "external data";
    case 6: m->incompat = 1ull << 4; return "extended L2";
    case 7: m->incompat = 1ull << 40; return "unknown qcow2 incompatible";
    case 8:
        m->incompat = 1ull << 3;
        m->compression_type = 1;
        return "zstd";
    case 9: m->refcount_order = 7; return "refcount order";
    case 10: m->l1_size = 0x10000000; return "L1 table too big";
    case 11: m->l1_size = 5000; return "past the end of the file";
    case 12: m->l1_size = 4; return "L1 table too small";
    case 13: m->size = 1ull << 62; return "virtual size";
    case 14: m->l1_off = 0; return "L1 table overlaps the header";
    case 15: m->l1_off = 700; return "not cluster-aligned";
    case 16: m->rt_off = 512; return "overlap";
    case 17: m->rt_off = 0; return "refcount table overlaps the header";
    case 18: m->rt_off = 1ull << 40; return "past the end of the file";
    case 19: m->rt_clusters = 0; return "refcount table size";
    case 20: m->rt_clusters = 100000; return "refcount table size";
    case 21: m->hlen = 90; return "header length";
    case 22:
        m->ext_type = 0x1234;
        m->ext_len = 0x7fffffff;
        return "past the first cluster";
    case 23:
        m->backing_off = 0x100;
        m->backing_len = 2000;
        return "backing file name length";
    case 24:
        m->backing_off = 0x1F0;
        m->backing_len = 100;
        return "outside the first cluster";
    case 25:
        m->backing = "nothere.q0";
        m->backing_off = 0x100;
        m->backing_len = 10;
        return "No such file";
    case 26:
        m->backing = "h.qcow2";
        m->backing_off = 0x100;
        m->backing_len = 7;
        return "loops";
    case 27: m->snapshots = 1; return "internal snapshots";
    case 28: m->incompat = 1; return "dirty";
    case 29: m->incompat = 2; return "corrupt";
    /* a FIFO as backing file: refused, and opening it must not block */
    case 30:
        m->backing = "fifo.q";
        m->backing_off = 0x100;
        m->backing_len = 6;
        return "not a regular file";
    default: return NULL;
    }
}

START_TEST(hostile_headers_refused) {
    const char *want;
    ck_assert_int_eq(mkfifo(in_dir("fifo.q"), 0600), 0);
    for (int i = 0; (want = hostile_header(i, &(Img){0})); i++) {
        Img m = good_img();
        hostile_header(i, &m);
        build("h.qcow2", &m);
        open_fails("h.qcow2", DISK_RW, want);
    }
    /* Dirty, corrupt or with snapshots: still readable read-only. */
    Img m = good_img();
    m.incompat = 3;
    m.snapshots = 2;
    build("h.qcow2", &m);
    disk_close(open_ok("h.qcow2", DISK_RO, DISK_FORMAT_PROBE));
}
END_TEST

/* Bad table entries: the request fails (an I/O error for the guest), the
 * image stays open, other sectors still work. */
START_TEST(hostile_tables_fail_requests) {
    const struct {
        uint64_t l1e0, l2e0;
    } cases[] = {
        {0 | (1ull << 63), 2560},                  /* offset 0: unallocated, reads zeros */
        {512 | (1ull << 63), 2560},                /* L2 table = the L1 table */
        {1024 | (1ull << 63), 2560},               /* L2 table = the refcount table */
        {(1ull << 40) | (1ull << 63), 2560},       /* past the end */
        {2048 | 5 | (1ull << 63), 2560},           /* reserved bits */
        {2048 | (1ull << 63), 0 | (1ull << 63)},   /* data at the header: 0 = unallocated, fine */
        {2048 | (1ull << 63), 512 | (1ull << 63)}, /* data = the L1 table */
        {2048 | (1ull << 63), (1ull << 50)},       /* data past the end */
        {2048 | (1ull << 63), 2560 | 0x10},        /* reserved bits */
        {2048 | (1ull << 63), (1ull << 62) | 0x10000}, /* compressed, past the end */
        {2048 | (1ull << 63), (1ull << 62) | 2560},    /* compressed, not deflate data */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        Img m = good_img();
        m.l1e0 = cases[i].l1e0;
        m.l2e0 = cases[i].l2e0;
        build("t.qcow2", &m);
        Disk *d = open_ok("t.qcow2", DISK_RW, DISK_FORMAT_PROBE);
        uint8_t b[512];
        int r = disk_read(d, 0, 1, b);
        if (i == 0 || i == 5) {
            ck_assert_int_eq(r, 0); /* unallocated: zeros */
            ck_assert_uint_eq(b[0], 0);
        } else if (i == 10) { /* overwritten whole: the bad stream is never read */
            ck_assert_int_eq(r, -1);
            memset(b, 0x3C, sizeof b);
            ck_assert_int_eq(disk_write(d, 0, 1, b), 0);
            memset(b, 0, sizeof b);
            ck_assert_int_eq(disk_read(d, 0, 1, b), 0);
            ck_assert_uint_eq(b[511], 0x3C);
        } else {
            ck_assert_msg(r == -1, "case %zu read", i);
            ck_assert_msg(disk_write(d, 0, 1, b) == -1, "case %zu write", i);
        }
        ck_assert_int_eq(disk_read(d, 2047, 1, b), 0); /* another L2 table: fine */
        disk_close(d);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("qcow2");
    TCase *tc = tcase_create("qcow2");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, reads_qemu_img_images);
    tcase_add_test(tc, writes_allocate_and_pass_check);
    tcase_add_test(tc, refcount_table_grows);
    tcase_add_test(tc, backing_chain);
    tcase_add_test(tc, write_into_compressed_cluster);
    tcase_add_test(tc, snapshot_mode_never_writes);
    tcase_add_test(tc, locking);
    tcase_add_test(tc, probed_raw_guards_sector_zero);
    tcase_add_test(tc, hand_built_image_is_valid);
    tcase_add_test(tc, hostile_headers_refused);
    tcase_add_test(tc, hostile_tables_fail_requests);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
