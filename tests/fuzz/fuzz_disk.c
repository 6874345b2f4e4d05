/*
 * fuzz_disk.c - libFuzzer target: disk and CD-ROM image files
 * (devices/disk.h): their sizes, the ISO 9660 check, and sector reads and
 * writes at any LBA and count.
 *
 * Input: a byte choosing the sector size (bit 0: 2048, a CD) and the mode
 * (bits 1-2: read-only, snapshot, read-write on the temporary copy), the
 * file's size (24 bits), then pieces of its contents (a 24-bit offset, a
 * length byte, the bytes) until a zero length, then operations: an opcode
 * byte (bit 0: write), a 32-bit LBA (bits 1-2 of the opcode shift it up by
 * 0, 8, 24 or 32 bits) and a count byte. Refused images and refused ranges
 * are expected; a host crash or sanitizer report is a bug.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/disk.h"
#include "fuzz_input.h"
#include "fuzz_machine.h"

#define FILE_MAX (1u << 20)

static void write_image(const char *path, FuzzInput *in) {
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) abort();
    uint32_t size = fuzz_u32(in) & 0xFFFFFF;
    if (size > FILE_MAX) size = FILE_MAX;
    if (ftruncate(fd, size) < 0) abort();
    for (;;) {
        uint32_t off = fuzz_u32(in) & 0xFFFFFF;
        uint8_t piece[255];
        size_t n = fuzz_bytes(in, piece, fuzz_u8(in));
        if (n == 0) break;
        if (off < size && pwrite(fd, piece, n < size - off ? n : size - off, off) < 0) abort();
    }
    close(fd);
}

static void run_ops(Disk *d, FuzzInput *in) {
    static const unsigned shifts[4] = {0, 8, 24, 32};
    static uint8_t buf[255 * 2048];
    while (!fuzz_done(in)) {
        unsigned op = fuzz_u8(in);
        uint64_t lba = (uint64_t)fuzz_u32(in) << shifts[(op >> 1) & 3];
        uint32_t count = fuzz_u8(in);
        if (op & 1) {
            memset(buf, (int)op, (size_t)count * disk_sector_size(d));
            disk_write(d, lba, count, buf);
        } else {
            disk_read(d, lba, count, buf);
        }
        if ((op & 0xF0) == 0xF0) disk_flush(d);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[320];
    if (!path[0]) snprintf(path, sizeof path, "%s/fuzz-disk.img", fuzz_tmpdir());
    static const DiskMode modes[4] = {DISK_RO, DISK_SNAPSHOT, DISK_RW, DISK_SNAPSHOT};
    FuzzInput in = {data, size};
    unsigned sel = fuzz_u8(&in);
    write_image(path, &in);
    char err[512];
    Disk *d = disk_open(path, modes[(sel >> 1) & 3], sel & 1 ? 2048 : 512, err, sizeof err);
    if (d) {
        run_ops(d, &in);
        disk_close(d);
    }
    unlink(path);
    return 0;
}
