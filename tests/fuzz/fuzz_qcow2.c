/*
 * fuzz_qcow2.c - libFuzzer target: qcow2 images (devices/qcow2.c through
 * devices/disk.h): the header, its extensions, the L1, L2 and refcount
 * tables, compressed clusters, and reads, writes (cluster and refcount
 * block allocation, refcount-table growth) and flushes on them.
 *
 * Input: a mode byte (bits 0-1: read-only, snapshot, read-write, read-write
 * with cache=unsafe; bit 2: the image is the input itself, else a valid
 * built-in image that the input patches), then either a 16-bit length and
 * that many bytes of image, or patches (a 16-bit offset, a length byte,
 * the bytes; a zero length ends them), then operations: an opcode byte
 * (bit 0: write; bits 1-2 shift the 32-bit LBA up by 0, 4, 8 or 12 bits;
 * 0xF_: flush too) and a count byte. The built-in image: 512-byte
 * clusters, 1 MiB, header + backing-format extension, L1, refcount table,
 * one refcount block, one L2 table with a data cluster, a compressed
 * cluster and a zero cluster. A refused image or request is expected; a
 * host crash, hang or sanitizer report is a bug.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "devices/disk.h"
#include "fuzz_input.h"
#include "fuzz_machine.h"

#define TEMPLATE_SIZE (8 * 512)
#define IMAGE_MAX     (1u << 16)

static uint8_t template_img[TEMPLATE_SIZE];

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void build_template(void) {
    uint8_t *f = template_img;
    put32(f, 0x514649fb);
    put32(f + 4, 3);
    put32(f + 20, 9);       /* 512-byte clusters */
    put64(f + 24, 1 << 20); /* 1 MiB */
    put32(f + 36, 32);      /* L1 entries */
    put64(f + 40, 512);     /* L1 */
    put64(f + 48, 1024);    /* refcount table */
    put32(f + 56, 1);
    put32(f + 96, 4); /* 16-bit refcounts */
    put32(f + 100, 112);
    put32(f + 112, 0xe2792aca); /* backing format "raw" (no backing file: unused) */
    put32(f + 116, 3);
    memcpy(f + 120, "raw", 3);
    put64(f + 512, 2048 | (1ull << 63));
    put64(f + 1024, 1536);
    /* data cluster 5 (2560), compressed at 3072 (cluster 6), 7 free */
    memset(f + 2560, 0xC3, 512);
    uint8_t plain[512], packed[512];
    for (int i = 0; i < 512; i++)
        plain[i] = (uint8_t)(i * 7);
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 9, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY);
    z.next_in = plain;
    z.avail_in = sizeof plain;
    z.next_out = packed;
    z.avail_out = sizeof packed;
    deflate(&z, Z_FINISH);
    size_t clen = sizeof packed - z.avail_out;
    deflateEnd(&z);
    memcpy(f + 3072, packed, clen);
    for (int c = 0; c < 7; c++)
        f[1536 + 2 * c + 1] = 1;
    put64(f + 2048, 2560 | (1ull << 63));
    unsigned shift = 62 - (9 - 8);
    put64(f + 2048 + 8, (1ull << 62) | ((uint64_t)((clen + 511) / 512 - 1) << shift) | 3072);
    put64(f + 2048 + 16, 1); /* zero cluster */
}

static void write_image(const char *path, FuzzInput *in, bool whole) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) abort();
    if (whole) {
        static uint8_t buf[IMAGE_MAX];
        size_t n = fuzz_bytes(in, buf, fuzz_u16(in));
        if (write(fd, buf, n) < 0) abort();
    } else {
        static uint8_t img[TEMPLATE_SIZE];
        memcpy(img, template_img, sizeof img);
        for (;;) {
            unsigned off = (unsigned)fuzz_u16(in) % TEMPLATE_SIZE;
            uint8_t piece[255];
            size_t n = fuzz_bytes(in, piece, fuzz_u8(in));
            if (n == 0) break;
            if (n > TEMPLATE_SIZE - off) n = TEMPLATE_SIZE - off;
            memcpy(img + off, piece, n);
        }
        if (write(fd, img, sizeof img) < 0) abort();
    }
    close(fd);
}

static void run_ops(Disk *d, FuzzInput *in) {
    static uint8_t buf[255 * 512];
    for (int ops = 0; !fuzz_done(in) && ops < 64; ops++) {
        unsigned op = fuzz_u8(in);
        uint64_t lba = (uint64_t)fuzz_u32(in) << (4 * ((op >> 1) & 3));
        uint32_t count = fuzz_u8(in);
        if (op & 1) {
            memset(buf, (int)op, (size_t)count * 512);
            disk_write(d, lba, count, buf);
        } else {
            disk_read(d, lba, count, buf);
        }
        if ((op & 0xF0) == 0xF0) disk_flush(d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[320];
    if (!path[0]) {
        snprintf(path, sizeof path, "%s/fuzz-qcow2.img", fuzz_tmpdir());
        build_template();
    }
    FuzzInput in = {data, size};
    unsigned sel = fuzz_u8(&in);
    write_image(path, &in, sel & 4);
    static const DiskMode modes[4] = {DISK_RO, DISK_SNAPSHOT, DISK_RW, DISK_RW};
    DiskOptions opts = {DISK_FORMAT_QCOW2,
                        (sel & 3) == 3 ? DISK_CACHE_UNSAFE : DISK_CACHE_WRITEBACK};
    char err[512];
    Disk *d = disk_open_with(path, modes[sel & 3], 512, &opts, err, sizeof err);
    if (d) {
        run_ops(d, &in);
        disk_close(d);
    }
    unlink(path);
    return 0;
}
