/*
 * fuzz_snapshot.c - libFuzzer target: snapshot files (snap/snap.h,
 * pc_load_snapshot, what -loadvm and the monitor's loadvm read) on a
 * whole PC without firmware (tests/fuzz/fuzz_machine.h). A hostile file
 * must give a clear error, or load a state the machine then runs with
 * (a few thousand instructions): never a host crash or sanitizer report.
 *
 * Input: a mode byte, then
 *   mode & 3 == 0  the rest is the file, as is (the header's CRC stops
 *                  most inputs: that check is fuzzed too)
 *   mode & 3 == 1  the rest is the file, its size and CRC fixed up, so
 *                  the section parser and every part's loader are reached
 *   mode & 3 >= 2  a genuine snapshot of a fresh fuzz PC (made once per
 *                  process), then edits: repeated {u8 kind, u32 offset,
 *                  u32 value}; kind % 4: 0 set a byte, 1 set a little-endian
 *                  u32, 2 truncate at offset, 3 xor a byte; mode 2 fixes
 *                  size and CRC afterwards, mode 3 does not
 * After a successful load the machine runs up to 4000 instructions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_input.h"
#include "fuzz_machine.h"
#include "snap/snap.h"

/* The header's file size (offset 20) and CRC32 of bytes 20.. (offset 16). */
static void fix_header(uint8_t *file, size_t len) {
    if (len < SNAP_HEADER_SIZE) return;
    uint64_t size = len;
    for (int i = 0; i < 8; i++)
        file[20 + i] = (uint8_t)(size >> (8 * i));
    uint32_t crc = (uint32_t)crc32(0L, file + 20, (uInt)(len - 20));
    for (int i = 0; i < 4; i++)
        file[16 + i] = (uint8_t)(crc >> (8 * i));
}

static uint8_t *genuine;
static size_t genuine_len;

static void make_genuine(void) {
    Pc *pc = fuzz_pc_new();
    char err[256];
    if (pc_save_snapshot(pc, &genuine, &genuine_len, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_snapshot: %s\n", err);
        abort();
    }
    pc_free(pc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FuzzInput in = {data, size};
    unsigned mode = fuzz_u8(&in) & 3;
    uint8_t *file;
    size_t len;
    if (mode < 2) {
        len = in.size;
        file = malloc(len ? len : 1);
        if (!file) return 0;
        memcpy(file, in.data, len);
        if (mode == 1) fix_header(file, len);
    } else {
        if (!genuine) make_genuine();
        len = genuine_len;
        file = malloc(len);
        if (!file) return 0;
        memcpy(file, genuine, len);
        while (!fuzz_done(&in)) {
            unsigned kind = fuzz_u8(&in) % 4;
            uint32_t off = fuzz_u32(&in), val = fuzz_u32(&in);
            if (len == 0) break;
            off %= (uint32_t)len;
            switch (kind) {
            case 0: file[off] = (uint8_t)val; break;
            case 1:
                for (unsigned i = 0; i < 4 && off + i < len; i++)
                    file[off + i] = (uint8_t)(val >> (8 * i));
                break;
            case 2: len = off; break;
            default: file[off] ^= (uint8_t)val; break;
            }
        }
        if (mode == 2) fix_header(file, len);
    }
    Pc *pc = fuzz_pc_new();
    char err[512] = "";
    if (pc_load_snapshot(pc, file, len, err, sizeof err) == 0) {
        pc_run(pc, 4000);
    } else if (!err[0]) {
        fprintf(stderr, "fuzz_snapshot: a refused file without a message\n");
        abort();
    }
    pc_free(pc);
    free(file);
    return 0;
}
