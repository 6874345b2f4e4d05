/*
 * test_ide.c - an IDE channel driven through its ports alone, on image
 * files the test creates: IDENTIFY, PIO reads and writes with LBA28, LBA48
 * and CHS, READ/WRITE MULTIPLE, data reaching the file, snapshot mode,
 * out-of-range sectors (IDNF), unknown commands (ABRT), a read-only image
 * file (opened read-only, writes an error), soft reset and the
 * empty-channel floating bus, and bad images refused by the back end.
 * ATAPI CD-ROM: signatures, IDENTIFY (PACKET) DEVICE, the PACKET protocol
 * (interrupt reason, byte-count limit, data phases that cut across
 * sectors), sense data and unit attention, the MMC commands' answers,
 * out-of-range reads, unknown commands, an empty drive and the tray.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/ide.h"

static char path[64];
static Disk *disk;
static IdeChannel *ch;
static int irq;

static void irq_capture(void *opaque, int n, int level) {
    (void)opaque;
    (void)n;
    irq = level;
}

static void out8(unsigned reg, uint8_t v) {
    ide_port_write(ch, (uint16_t)(0x1F0 + reg), 1, v);
}
static uint8_t in8(unsigned reg) {
    return (uint8_t)ide_port_read(ch, (uint16_t)(0x1F0 + reg), 1);
}
static uint16_t in16(void) {
    return (uint16_t)ide_port_read(ch, 0x1F0, 2);
}

static void make_image(const char *p, size_t sectors) {
    FILE *f = fopen(p, "wb");
    for (size_t s = 0; s < sectors; s++)
        for (int i = 0; i < 512; i++)
            fputc((int)((s * 7 + (size_t)i) & 0xFF), f);
    fclose(f);
}

static void open_disk(DiskMode mode) {
    char err[256];
    disk = disk_open(path, mode, 512, err, sizeof err);
    ck_assert_msg(disk != NULL, "%s", err);
    ch = ide_new(0x1F0, 0x3F6, (IrqLine){irq_capture, NULL, 14});
    ide_attach_disk(ch, 0, disk);
}

static void setup(void) {
    snprintf(path, sizeof path, "/tmp/bt86-ide-%d.img", (int)getpid());
    make_image(path, 4096);
    irq = 0;
    open_disk(DISK_RW);
}

static void teardown(void) {
    ide_free(ch);
    disk_close(disk);
    unlink(path);
}

static void lba28(uint32_t lba, uint8_t count, uint8_t cmd) {
    out8(6, (uint8_t)(0xE0 | (lba >> 24)));
    out8(2, count);
    out8(3, (uint8_t)lba);
    out8(4, (uint8_t)(lba >> 8));
    out8(5, (uint8_t)(lba >> 16));
    out8(7, cmd);
}

static void read_sector(uint8_t *buf) {
    ck_assert(in8(7) & 0x08); /* DRQ */
    for (int i = 0; i < 256; i++) {
        uint16_t w = in16();
        buf[2 * i] = (uint8_t)w;
        buf[2 * i + 1] = (uint8_t)(w >> 8);
    }
}

static uint8_t expected_byte(size_t sector, int i) {
    return (uint8_t)((sector * 7 + (size_t)i) & 0xFF);
}

START_TEST(identify) {
    out8(6, 0xA0);
    out8(7, 0xEC);
    ck_assert(irq);
    uint8_t id[512];
    read_sector(id);
    ck_assert(!irq); /* the status read acknowledged it */
    ck_assert_uint_eq(id[0] | id[1] << 8, 0x0040);
    ck_assert_uint_eq(id[120] | id[121] << 8 | id[122] << 16 | id[123] << 24,
                      4096);                          /* words 60-61 */
    ck_assert_uint_eq(id[200] | id[201] << 8, 4096);  /* words 100+ */
    ck_assert_int_eq(memcmp(id + 54, "TB68H", 5), 0); /* "BT86 H..." byte-swapped */
    ck_assert(!(in8(7) & 0x08));
}
END_TEST

START_TEST(read_lba28_and_chs) {
    uint8_t buf[512];
    lba28(100, 2, 0x20);
    for (int s = 0; s < 2; s++) {
        read_sector(buf);
        for (int i = 0; i < 512; i++)
            ck_assert_uint_eq(buf[i], expected_byte(100 + (size_t)s, i));
    }
    ck_assert_uint_eq(in8(7) & 0x89, 0); /* not busy, no DRQ, no error */
    /* CHS: cylinder 1, head 2, sector 3 with 16 heads x 63 sectors: (1*16+2)*63 + 2 = LBA 1136. */
    out8(6, 0xA2);
    out8(2, 1);
    out8(3, 3);
    out8(4, 1);
    out8(5, 0);
    out8(7, 0x20);
    read_sector(buf);
    ck_assert_uint_eq(buf[5], expected_byte(1136, 5));
}
END_TEST

START_TEST(read_lba48) {
    out8(6, 0x40);
    out8(2, 0);
    out8(2, 1); /* count: HOB 0, then 1 */
    out8(3, 0);
    out8(3, 0x10); /* LBA 0x000000000010 */
    out8(4, 0);
    out8(4, 0);
    out8(5, 0);
    out8(5, 0);
    out8(7, 0x24);
    uint8_t buf[512];
    read_sector(buf);
    ck_assert_uint_eq(buf[0], expected_byte(16, 0));
    ide_port_write(ch, 0x3F6, 1, 0x80); /* HOB: read the previous bytes */
    ck_assert_uint_eq(in8(2), 0);
}
END_TEST

START_TEST(write_reaches_the_file) {
    lba28(5, 1, 0x30);
    ck_assert(in8(7) & 0x08);
    for (int i = 0; i < 256; i++)
        ide_port_write(ch, 0x1F0, 2, 0xBEEF);
    ck_assert(irq);
    ck_assert_uint_eq(in8(7) & 0x09, 0);
    out8(7, 0xE7); /* flush */
    FILE *f = fopen(path, "rb");
    uint8_t b[2];
    fseek(f, 5 * 512, SEEK_SET);
    ck_assert_uint_eq(fread(b, 1, 2, f), 2);
    fclose(f);
    ck_assert_uint_eq(b[0], 0xEF);
    ck_assert_uint_eq(b[1], 0xBE);
}
END_TEST

START_TEST(multiple_mode_blocks) {
    out8(2, 4);
    out8(7, 0xC6); /* SET MULTIPLE MODE: 4 */
    ck_assert_uint_eq(in8(7) & 0x01, 0);
    lba28(8, 8, 0xC4); /* READ MULTIPLE: 2 blocks of 4 */
    int irqs = 0;
    for (int blk = 0; blk < 2; blk++) {
        if (irq) irqs++;
        ck_assert(in8(7) & 0x08);
        for (int i = 0; i < 4 * 256; i++)
            in16();
    }
    ck_assert_int_eq(irqs, 2);
    ck_assert_uint_eq(in8(7) & 0x08, 0);
    out8(2, 3);
    out8(7, 0xC6); /* not a power of two */
    ck_assert(in8(7) & 0x01);
    ck_assert_uint_eq(in8(1), 0x04);
}
END_TEST

START_TEST(errors_and_reset) {
    lba28(4095, 2, 0x20); /* runs past the end */
    ck_assert(in8(7) & 0x01);
    ck_assert(in8(1) & 0x10); /* IDNF */
    out8(7, 0xA1);            /* IDENTIFY PACKET DEVICE on a disk */
    ck_assert(in8(7) & 0x01);
    ck_assert_uint_eq(in8(1), 0x04);
    ide_port_write(ch, 0x3F6, 1, 0x04); /* SRST */
    ide_port_write(ch, 0x3F6, 1, 0x00);
    ck_assert_uint_eq(in8(2), 1); /* signature */
    ck_assert_uint_eq(in8(3), 1);
    ck_assert_uint_eq(in8(4), 0);
    ck_assert_uint_eq(in8(5), 0);
    out8(6, 0xB0);                /* select the absent slave */
    ck_assert_uint_eq(in8(7), 0); /* nobody answers */
    IdeChannel *empty = ide_new(0x170, 0x376, (IrqLine){NULL, NULL, 15});
    ck_assert_uint_eq(ide_port_read(empty, 0x177, 1), 0xFF); /* floating bus */
    ide_free(empty);
}
END_TEST

START_TEST(snapshot_mode_never_writes) {
    ide_free(ch);
    disk_close(disk);
    open_disk(DISK_SNAPSHOT);
    lba28(0, 1, 0x30);
    for (int i = 0; i < 256; i++)
        ide_port_write(ch, 0x1F0, 2, 0x1234);
    lba28(0, 1, 0x20);
    ck_assert_uint_eq(in16(), 0x1234); /* the overlay is read back */
    FILE *f = fopen(path, "rb");
    int c = fgetc(f);
    fclose(f);
    ck_assert_int_eq(c, expected_byte(0, 0)); /* the file is unchanged */
}
END_TEST

/* A -snapshot read that mixes sectors of the overlay with sectors of the
 * image (read from it in runs): each sector comes from the right place. */
START_TEST(snapshot_read_mixes_overlay_and_image) {
    ide_free(ch);
    disk_close(disk);
    open_disk(DISK_SNAPSHOT);
    uint8_t w[512];
    memset(w, 0xA5, sizeof w);
    ck_assert_int_eq(disk_write(disk, 12, 1, w), 0);
    ck_assert_int_eq(disk_write(disk, 15, 1, w), 0);
    ck_assert_int_eq(disk_write(disk, 16, 1, w), 0);
    static uint8_t b[20 * 512];
    ck_assert_int_eq(disk_read(disk, 10, 20, b), 0);
    for (int s = 0; s < 20; s++)
        for (int i = 0; i < 512; i += 37) {
            bool over = s == 2 || s == 5 || s == 6;
            ck_assert_uint_eq(b[s * 512 + i], over ? 0xA5 : expected_byte(10 + (size_t)s, i));
        }
    ck_assert_int_eq(disk_read(disk, 4090, 7, b), -1); /* past the end */
}
END_TEST

/* An image file without write permission (root included) opens read-only
 * when read-write is asked: reads work, a write is an error status for the
 * guest, and the file stays as it was. */
START_TEST(read_only_file_opens_read_only) {
    ide_free(ch);
    disk_close(disk);
    ck_assert_int_eq(chmod(path, 0444), 0);
    open_disk(DISK_RW);
    ck_assert(disk_read_only(disk));
    lba28(3, 1, 0x20);
    uint8_t buf[512];
    read_sector(buf);
    ck_assert_uint_eq(buf[9], expected_byte(3, 9));
    lba28(3, 1, 0x30);
    for (int i = 0; i < 256; i++)
        ide_port_write(ch, 0x1F0, 2, 0x5A5A);
    ck_assert(in8(7) & 0x01); /* ERR */
    FILE *f = fopen(path, "rb");
    fseek(f, 3 * 512, SEEK_SET);
    ck_assert_int_eq(fgetc(f), expected_byte(3, 0));
    fclose(f);
}
END_TEST

START_TEST(bad_images_are_refused) {
    char err[256], p2[80];
    ide_free(ch); /* the fixture's read-write open would lock the others out */
    disk_close(disk);
    ck_assert_ptr_null(disk_open("/nonexistent/bt86.img", DISK_RW, 512, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
    snprintf(p2, sizeof p2, "%s.odd", path);
    FILE *f = fopen(p2, "wb");
    fputs("not a disk", f);
    fclose(f);
    ck_assert_ptr_null(disk_open(p2, DISK_RW, 512, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "multiple of 512"));
    ck_assert_ptr_null(disk_open(path, DISK_RO, 2048, err, sizeof err)); /* no CD001 */
    ck_assert_ptr_nonnull(strstr(err, "ISO 9660"));
    unlink(p2);
    Disk *ro = disk_open(path, DISK_RO, 512, err, sizeof err);
    uint8_t buf[512] = {0};
    ck_assert_int_eq(disk_write(ro, 0, 1, buf), -1);   /* read-only: an error, not a silent drop */
    ck_assert_int_eq(disk_read(ro, 4096, 1, buf), -1); /* past the end */
    disk_close(ro);
    open_disk(DISK_RW);
}
END_TEST

/* ---- ATAPI CD-ROM on the secondary channel (0x170), master ---- */

#define CD_SECTORS 40
static char cd_path[64];
static Disk *disc;
static IdeChannel *cdch;
static int cd_irq;

static void cd_irq_capture(void *opaque, int n, int level) {
    (void)opaque;
    (void)n;
    cd_irq = level;
}

static void cd_out8(unsigned reg, uint8_t v) {
    ide_port_write(cdch, (uint16_t)(0x170 + reg), 1, v);
}
static uint8_t cd_in8(unsigned reg) {
    return (uint8_t)ide_port_read(cdch, (uint16_t)(0x170 + reg), 1);
}

static uint8_t cd_byte(uint32_t sector, uint32_t i) {
    return (uint8_t)((sector * 13 + i * 7 + (i >> 8)) & 0xFF);
}

/* An ISO-like image: a pattern everywhere, "CD001" at sector 16. */
static void make_cd_image(const char *p) {
    FILE *f = fopen(p, "wb");
    for (uint32_t s = 0; s < CD_SECTORS; s++)
        for (uint32_t i = 0; i < 2048; i++) {
            uint8_t b = cd_byte(s, i);
            if (s == 16 && i < 6) b = (uint8_t) "\001CD001"[i];
            fputc(b, f);
        }
    fclose(f);
}

static void cd_setup(void) {
    char err[256];
    snprintf(cd_path, sizeof cd_path, "/tmp/bt86-cd-%d.iso", (int)getpid());
    make_cd_image(cd_path);
    disc = disk_open(cd_path, DISK_RO, 2048, err, sizeof err);
    ck_assert_msg(disc != NULL, "%s", err);
    cd_irq = 0;
    cdch = ide_new(0x170, 0x376, (IrqLine){cd_irq_capture, NULL, 15});
    ck_assert_int_eq(ide_attach_cdrom(cdch, 0, disc), 0);
}

static void cd_teardown(void) {
    ide_free(cdch);
    disk_close(disc);
    unlink(cd_path);
}

/* What a PACKET command did: the data read, the phases, the end state. */
typedef struct CdResult {
    uint8_t data[8192];
    uint32_t len;
    int phases;
    uint32_t phase_len[8];
    bool irq_each_phase;
    uint8_t status, error, reason;
} CdResult;

/* Run a 12-byte command with the given byte-count limit, reading data in
 * 16-bit words as a driver does, at most `max` bytes. */
static void packet(const uint8_t *cdb, uint16_t limit, CdResult *r) {
    memset(r, 0, sizeof *r);
    r->irq_each_phase = true;
    cd_out8(6, 0xA0);
    cd_out8(1, 0);
    cd_out8(4, (uint8_t)limit);
    cd_out8(5, (uint8_t)(limit >> 8));
    cd_out8(7, 0xA0);
    uint8_t st = cd_in8(7);
    ck_assert_msg(st & 0x08, "no DRQ for the command packet (status %02x)", st);
    ck_assert_uint_eq(cd_in8(2) & 3, 1); /* CoD, out */
    ck_assert_int_eq(cd_irq, 0);
    for (int i = 0; i < 6; i++)
        ide_port_write(cdch, 0x170, 2, (uint32_t)(cdb[2 * i] | cdb[2 * i + 1] << 8));
    for (;;) {
        bool had_irq = cd_irq;
        st = cd_in8(7); /* acknowledges the interrupt */
        if (!(st & 0x08)) break;
        ck_assert_uint_eq(cd_in8(2) & 3, 2); /* data in */
        uint32_t n = cd_in8(4) | (uint32_t)cd_in8(5) << 8;
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_le(n, limit ? limit : 0xFFFE);
        if (!had_irq) r->irq_each_phase = false;
        if (r->phases < 8) r->phase_len[r->phases] = n;
        r->phases++;
        for (uint32_t i = 0; i < n; i += 2) {
            uint32_t w = ide_port_read(cdch, 0x170, 2);
            if (r->len < sizeof r->data) r->data[r->len++] = (uint8_t)w;
            if (i + 1 < n && r->len < sizeof r->data) r->data[r->len++] = (uint8_t)(w >> 8);
        }
    }
    r->status = st;
    r->error = cd_in8(1);
    r->reason = cd_in8(2) & 3;
}

static void cdb_set(uint8_t *cdb, uint8_t op) {
    memset(cdb, 0, 12);
    cdb[0] = op;
}

static void expect_ok(const CdResult *r) {
    ck_assert_msg(!(r->status & 0x01), "CHECK CONDITION, error %02x", r->error);
    ck_assert_uint_eq(r->reason, 3); /* status phase: CoD and IO */
}

/* The command failed; the sense data say key/asc/ascq. */
static void expect_sense(const CdResult *r, uint8_t key, uint8_t asc, uint8_t ascq) {
    ck_assert_msg(r->status & 0x01, "no error (status %02x)", r->status);
    ck_assert_uint_eq(r->error >> 4, key);
    ck_assert_uint_eq(r->reason, 3);
    uint8_t cdb[12];
    CdResult s;
    cdb_set(cdb, 0x03);
    cdb[4] = 18;
    packet(cdb, 18, &s);
    expect_ok(&s);
    ck_assert_uint_eq(s.len, 18);
    ck_assert_uint_eq(s.data[0], 0x70);
    ck_assert_uint_eq(s.data[2], key);
    ck_assert_uint_eq(s.data[12], asc);
    ck_assert_uint_eq(s.data[13], ascq);
}

static void clear_unit_attention(void) {
    uint8_t cdb[12];
    CdResult r;
    cdb_set(cdb, 0x00);
    packet(cdb, 0, &r);
    expect_sense(&r, 6, 0x28, 0);
}

START_TEST(cd_signature_and_identify) {
    ck_assert_uint_eq(cd_in8(2), 1);
    ck_assert_uint_eq(cd_in8(3), 1);
    ck_assert_uint_eq(cd_in8(4), 0x14);
    ck_assert_uint_eq(cd_in8(5), 0xEB);
    /* IDENTIFY DEVICE aborts and shows the signature again. */
    cd_out8(4, 0);
    cd_out8(5, 0);
    cd_out8(6, 0xA0);
    cd_out8(7, 0xEC);
    ck_assert(cd_irq);
    ck_assert_uint_eq(cd_in8(7) & 0x09, 0x01);
    ck_assert_uint_eq(cd_in8(1), 0x04);
    ck_assert_uint_eq(cd_in8(4), 0x14);
    ck_assert_uint_eq(cd_in8(5), 0xEB);
    /* IDENTIFY PACKET DEVICE: ATAPI, CD-ROM, removable, 12-byte packets. */
    cd_out8(7, 0xA1);
    ck_assert(cd_in8(7) & 0x08);
    uint16_t id[256];
    for (int i = 0; i < 256; i++)
        id[i] = (uint16_t)ide_port_read(cdch, 0x170, 2);
    ck_assert_uint_eq(id[0] >> 14, 2);
    ck_assert_uint_eq((id[0] >> 8) & 0x1F, 5);
    ck_assert(id[0] & 0x80);
    ck_assert_uint_eq(id[0] & 3, 0);
    ck_assert_uint_eq(id[27], 'B' << 8 | 'T');
    ck_assert_uint_eq(id[49] & 0x0100, 0); /* no DMA */
    ck_assert_uint_eq(cd_in8(7) & 0x08, 0);
    /* ATA read commands are not for this drive. */
    cd_out8(7, 0x20);
    ck_assert_uint_eq(cd_in8(7) & 0x09, 0x01);
    /* Soft reset: the ATAPI signature again. */
    ide_port_write(cdch, 0x376, 1, 0x04);
    ide_port_write(cdch, 0x376, 1, 0x00);
    ck_assert_uint_eq(cd_in8(4), 0x14);
    ck_assert_uint_eq(cd_in8(5), 0xEB);
}
END_TEST

START_TEST(cd_unit_attention_and_sense) {
    uint8_t cdb[12];
    CdResult r;
    /* INQUIRY runs under the unit attention and keeps it. */
    cdb_set(cdb, 0x12);
    cdb[4] = 96;
    packet(cdb, 96, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 36);
    ck_assert_uint_eq(r.data[0], 0x05);
    ck_assert_uint_eq(r.data[1], 0x80);
    ck_assert_int_eq(memcmp(r.data + 8, "BT86", 4), 0);
    /* Cut to the allocation length. */
    cdb[4] = 5;
    packet(cdb, 96, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 5);
    /* TEST UNIT READY reports the new disc once, then the drive is ready. */
    clear_unit_attention();
    cdb_set(cdb, 0x00);
    packet(cdb, 0, &r);
    expect_ok(&r);
    ck_assert_int_eq(r.phases, 0);
    /* No error: REQUEST SENSE says NO SENSE. */
    cdb_set(cdb, 0x03);
    cdb[4] = 252;
    packet(cdb, 0xFFFF, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 18);
    ck_assert_uint_eq(r.data[2], 0);
    ck_assert_uint_eq(r.data[7], 10);
    /* Unknown command: ILLEGAL REQUEST, invalid command operation code. */
    cdb_set(cdb, 0xD7);
    packet(cdb, 2048, &r);
    expect_sense(&r, 5, 0x20, 0);
    ck_assert(r.error & 0x04); /* ABRT */
    /* The sense was reported once: now NO SENSE. */
    cdb_set(cdb, 0x03);
    cdb[4] = 18;
    packet(cdb, 18, &r);
    ck_assert_uint_eq(r.data[2], 0);
    /* PACKET with DMA requested: aborted (PIO only). */
    cd_out8(1, 0x01);
    cd_out8(7, 0xA0);
    ck_assert_uint_eq(cd_in8(7) & 0x09, 0x01);
    ck_assert_uint_eq(cd_in8(1), 0x04);
}
END_TEST

START_TEST(cd_read_phases_follow_byte_limit) {
    uint8_t cdb[12];
    CdResult r;
    clear_unit_attention();
    /* READ(10) of 3 sectors from LBA 5 with an odd limit: phases of 3000
     * bytes cut across the sectors. */
    cdb_set(cdb, 0x28);
    cdb[5] = 5;
    cdb[8] = 3;
    packet(cdb, 3001, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 3 * 2048);
    ck_assert_int_eq(r.phases, 3);
    ck_assert_uint_eq(r.phase_len[0], 3000);
    ck_assert_uint_eq(r.phase_len[1], 3000);
    ck_assert_uint_eq(r.phase_len[2], 3 * 2048 - 6000);
    ck_assert(r.irq_each_phase);
    for (uint32_t i = 0; i < r.len; i++)
        ck_assert_uint_eq(r.data[i], cd_byte(5 + i / 2048, i % 2048));
    /* READ(12) of the last 2 sectors, whole phases of 2048 (the BIOS's way). */
    cdb_set(cdb, 0xA8);
    cdb[5] = CD_SECTORS - 2;
    cdb[9] = 2;
    packet(cdb, 2048, &r);
    expect_ok(&r);
    ck_assert_int_eq(r.phases, 2);
    ck_assert_uint_eq(r.data[2048 + 100], cd_byte(CD_SECTORS - 1, 100));
    /* The ISO 9660 descriptor. */
    cdb_set(cdb, 0x28);
    cdb[5] = 16;
    cdb[8] = 1;
    packet(cdb, 0xFFFE, &r);
    ck_assert_int_eq(memcmp(r.data, "\001CD001", 6), 0);
    /* Limit 0: the largest phases. */
    cdb[8] = 2;
    packet(cdb, 0, &r);
    ck_assert_int_eq(r.phases, 1);
    ck_assert_uint_eq(r.len, 4096);
    /* 32-bit data reads, as with PIO32. */
    cdb[8] = 1;
    cd_out8(4, 0x00);
    cd_out8(5, 0x08);
    cd_out8(7, 0xA0);
    for (int i = 0; i < 3; i++)
        ide_port_write(cdch, 0x170, 4,
                       (uint32_t)(cdb[4 * i] | cdb[4 * i + 1] << 8 | cdb[4 * i + 2] << 16 |
                                  (uint32_t)cdb[4 * i + 3] << 24));
    ck_assert(cd_in8(7) & 0x08);
    uint32_t w = ide_port_read(cdch, 0x170, 4);
    ck_assert_uint_eq(w, 0x30444301u); /* "\001CD0", little endian */
    for (int i = 1; i < 512; i++)
        ide_port_read(cdch, 0x170, 4);
    ck_assert_uint_eq(cd_in8(7) & 0x89, 0);
    ck_assert_uint_eq(cd_in8(2) & 3, 3);
    /* A zero-length READ: no data phase. */
    cdb[8] = 0;
    packet(cdb, 2048, &r);
    expect_ok(&r);
    ck_assert_int_eq(r.phases, 0);
}
END_TEST

START_TEST(cd_read_errors) {
    uint8_t cdb[12];
    CdResult r;
    clear_unit_attention();
    cdb_set(cdb, 0x28); /* starts past the end */
    cdb[5] = CD_SECTORS;
    cdb[8] = 1;
    packet(cdb, 2048, &r);
    ck_assert_int_eq(r.phases, 0);
    expect_sense(&r, 5, 0x21, 0);
    cdb_set(cdb, 0x28); /* runs past the end */
    cdb[5] = CD_SECTORS - 1;
    cdb[8] = 2;
    packet(cdb, 2048, &r);
    expect_sense(&r, 5, 0x21, 0);
    cdb_set(cdb, 0xA8); /* READ(12): huge LBA and count (no overflow) */
    cdb[2] = cdb[3] = cdb[4] = cdb[5] = 0xFF;
    cdb[6] = cdb[7] = cdb[8] = cdb[9] = 0xFF;
    packet(cdb, 2048, &r);
    expect_sense(&r, 5, 0x21, 0);
    cdb[2] = cdb[3] = cdb[4] = cdb[5] = 0; /* LBA 0, 2^32-1 sectors */
    packet(cdb, 2048, &r);
    expect_sense(&r, 5, 0x21, 0);
    /* Saved mode values: not offered; unknown mode page: invalid field. */
    cdb_set(cdb, 0x5A);
    cdb[2] = 0xC0 | 0x2A;
    cdb[8] = 64;
    packet(cdb, 2048, &r);
    expect_sense(&r, 5, 0x39, 0);
    cdb[2] = 0x05;
    packet(cdb, 2048, &r);
    expect_sense(&r, 5, 0x24, 0);
    /* GET EVENT STATUS NOTIFICATION, asynchronous: not offered. */
    cdb_set(cdb, 0x4A);
    cdb[4] = 0x10;
    cdb[8] = 8;
    packet(cdb, 2048, &r);
    expect_sense(&r, 5, 0x24, 0);
    /* A data read with no command in progress gets padding, changes nothing. */
    ide_port_read(cdch, 0x170, 2);
    ck_assert_uint_eq(cd_in8(7) & 0x89, 0);
}
END_TEST

START_TEST(cd_info_commands) {
    uint8_t cdb[12];
    CdResult r;
    clear_unit_attention();
    cdb_set(cdb, 0x25); /* READ CAPACITY */
    packet(cdb, 0xFFFE, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 8);
    ck_assert_uint_eq(r.data[3], CD_SECTORS - 1);
    ck_assert_uint_eq(r.data[6] << 8 | r.data[7], 2048);
    cdb_set(cdb, 0x43); /* READ TOC, format 0, LBA */
    cdb[8] = 100;
    packet(cdb, 0xFFFE, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 20);
    ck_assert_uint_eq(r.data[0] << 8 | r.data[1], 18);
    ck_assert_uint_eq(r.data[2], 1);
    ck_assert_uint_eq(r.data[3], 1);
    ck_assert_uint_eq(r.data[5], 0x14); /* data track */
    ck_assert_uint_eq(r.data[6], 1);
    ck_assert_uint_eq(r.data[14], 0xAA); /* lead-out at the end of the disc */
    ck_assert_uint_eq(r.data[19], CD_SECTORS);
    cdb[1] = 0x02; /* MSF: the lead-out at 40 + 150 frames = 00:02:40 */
    packet(cdb, 0xFFFE, &r);
    ck_assert_uint_eq(r.data[9], 0); /* track 1 at 00:02:00 */
    ck_assert_uint_eq(r.data[10], 2);
    ck_assert_uint_eq(r.data[11], 0);
    ck_assert_uint_eq(r.data[17], 0);
    ck_assert_uint_eq(r.data[18], 2);
    ck_assert_uint_eq(r.data[19], CD_SECTORS);
    cdb_set(cdb, 0x43); /* session information, format in the old place */
    cdb[8] = 12;
    cdb[9] = 0x40;
    packet(cdb, 0xFFFE, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 12);
    ck_assert_uint_eq(r.data[1], 10);
    cdb_set(cdb, 0x43); /* a track that is not there */
    cdb[6] = 2;
    cdb[8] = 100;
    packet(cdb, 0xFFFE, &r);
    expect_sense(&r, 5, 0x24, 0);
    cdb_set(cdb, 0x5A); /* MODE SENSE(10), capabilities page */
    cdb[2] = 0x2A;
    cdb[8] = 128;
    packet(cdb, 0xFFFE, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 30);
    ck_assert_uint_eq(r.data[0] << 8 | r.data[1], 28);
    ck_assert_uint_eq(r.data[6] << 8 | r.data[7], 0); /* no block descriptors */
    ck_assert_uint_eq(r.data[8], 0x2A);
    ck_assert_uint_eq(r.data[9], 20);
    ck_assert(r.data[14] & 0x08); /* can eject */
    cdb[2] = 0x3F;                /* all pages */
    packet(cdb, 0xFFFE, &r);
    ck_assert_uint_eq(r.len, 38);
    cdb_set(cdb, 0x46); /* GET CONFIGURATION: CD-ROM profile current */
    cdb[8] = 64;
    packet(cdb, 0xFFFE, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 16);
    ck_assert_uint_eq(r.data[3], 12);
    ck_assert_uint_eq(r.data[6] << 8 | r.data[7], 0x0008);
    ck_assert_uint_eq(r.data[12] << 8 | r.data[13], 0x0008);
    ck_assert_uint_eq(r.data[14] & 1, 1);
    cdb_set(cdb, 0x51); /* READ DISC INFORMATION */
    cdb[8] = 34;
    packet(cdb, 0xFFFE, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 34);
    ck_assert_uint_eq(r.data[2] & 3, 2); /* complete disc */
    cdb_set(cdb, 0x2B);                  /* SEEK past the end */
    cdb[5] = CD_SECTORS;
    packet(cdb, 0xFFFE, &r);
    expect_sense(&r, 5, 0x21, 0);
}
END_TEST

static uint8_t media_event(uint8_t *media_status) {
    uint8_t cdb[12];
    CdResult r;
    cdb_set(cdb, 0x4A);
    cdb[1] = 1;
    cdb[4] = 0x10;
    cdb[8] = 8;
    packet(cdb, 0xFFFE, &r);
    expect_ok(&r);
    ck_assert_uint_eq(r.len, 8);
    ck_assert_uint_eq(r.data[0] << 8 | r.data[1], 6);
    ck_assert_uint_eq(r.data[2], 4);
    ck_assert_uint_eq(r.data[3], 0x10);
    *media_status = r.data[5];
    return r.data[4];
}

START_TEST(cd_events_and_tray) {
    uint8_t cdb[12], ms;
    CdResult r;
    ck_assert_uint_eq(media_event(&ms), 2); /* new media, under the unit attention */
    ck_assert_uint_eq(ms, 2);               /* present */
    ck_assert_uint_eq(media_event(&ms), 0); /* reported once */
    clear_unit_attention();
    cdb_set(cdb, 0x1E); /* lock */
    cdb[4] = 1;
    packet(cdb, 0, &r);
    expect_ok(&r);
    cdb_set(cdb, 0x1B); /* eject while locked: refused */
    cdb[4] = 0x02;
    packet(cdb, 0, &r);
    expect_sense(&r, 2, 0x53, 0x02);
    cdb_set(cdb, 0x1E); /* unlock, eject */
    packet(cdb, 0, &r);
    cdb_set(cdb, 0x1B);
    cdb[4] = 0x02;
    packet(cdb, 0, &r);
    expect_ok(&r);
    ck_assert_uint_eq(media_event(&ms), 0);
    ck_assert_uint_eq(ms, 1); /* tray open */
    cdb_set(cdb, 0x00);
    packet(cdb, 0, &r);
    expect_sense(&r, 2, 0x3A, 0x02);
    cdb_set(cdb, 0x1B); /* load: the disc is new again */
    cdb[4] = 0x03;
    packet(cdb, 0, &r);
    expect_ok(&r);
    clear_unit_attention();
    ck_assert_uint_eq(media_event(&ms), 2);
}
END_TEST

START_TEST(cd_empty_drive) {
    IdeChannel *e = ide_new(0x170, 0x376, (IrqLine){cd_irq_capture, NULL, 15});
    ide_free(cdch);
    cdch = e;
    ck_assert_int_eq(ide_attach_cdrom(cdch, 0, NULL), 0);
    ck_assert_int_eq(ide_attach_cdrom(cdch, 0, NULL), -1); /* taken */
    uint8_t cdb[12], ms;
    CdResult r;
    cdb_set(cdb, 0x00);
    packet(cdb, 0, &r);
    expect_sense(&r, 2, 0x3A, 0x01);
    cdb_set(cdb, 0x28);
    cdb[8] = 1;
    packet(cdb, 2048, &r);
    ck_assert_int_eq(r.phases, 0);
    expect_sense(&r, 2, 0x3A, 0x01);
    ck_assert_uint_eq(media_event(&ms), 0);
    ck_assert_uint_eq(ms, 0);
    cdb_set(cdb, 0x46); /* no current profile */
    cdb[8] = 64;
    packet(cdb, 0xFFFE, &r);
    ck_assert_uint_eq(r.data[6] << 8 | r.data[7], 0);
}
END_TEST

/* A hard disk as master, the CD drive as slave: after a reset each drive
 * shows its own signature when selected. */
START_TEST(cd_slave_signature) {
    IdeChannel *two = ide_new(0x170, 0x376, (IrqLine){cd_irq_capture, NULL, 15});
    ide_free(cdch);
    cdch = two;
    char hd_path[80], err[256];
    snprintf(hd_path, sizeof hd_path, "%s.hd", cd_path);
    make_image(hd_path, 16);
    Disk *hd = disk_open(hd_path, DISK_RW, 512, err, sizeof err);
    ck_assert_ptr_nonnull(hd);
    ck_assert_int_eq(ide_attach_cdrom(cdch, 0, hd), -1); /* 512-byte sectors: not a CD */
    ck_assert_int_eq(ide_attach_disk(cdch, 0, hd), 0);
    ck_assert_int_eq(ide_attach_cdrom(cdch, 1, disc), 0);
    ide_port_write(cdch, 0x376, 1, 0x04);
    ide_port_write(cdch, 0x376, 1, 0x00);
    ck_assert_uint_eq(cd_in8(4), 0x00);
    cd_out8(6, 0xB0);
    ck_assert_uint_eq(cd_in8(4), 0x14);
    ck_assert_uint_eq(cd_in8(5), 0xEB);
    cd_out8(6, 0xA0);
    ck_assert_uint_eq(cd_in8(5), 0x00);
    ide_free(cdch);
    cdch = ide_new(0x170, 0x376, (IrqLine){cd_irq_capture, NULL, 15});
    disk_close(hd);
    unlink(hd_path);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ide");
    TCase *tc = tcase_create("ata");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, identify);
    tcase_add_test(tc, read_lba28_and_chs);
    tcase_add_test(tc, read_lba48);
    tcase_add_test(tc, write_reaches_the_file);
    tcase_add_test(tc, multiple_mode_blocks);
    tcase_add_test(tc, errors_and_reset);
    tcase_add_test(tc, snapshot_mode_never_writes);
    tcase_add_test(tc, snapshot_read_mixes_overlay_and_image);
    tcase_add_test(tc, read_only_file_opens_read_only);
    tcase_add_test(tc, bad_images_are_refused);
    suite_add_tcase(s, tc);
    TCase *cd = tcase_create("atapi");
    tcase_add_checked_fixture(cd, cd_setup, cd_teardown);
    tcase_add_test(cd, cd_signature_and_identify);
    tcase_add_test(cd, cd_unit_attention_and_sense);
    tcase_add_test(cd, cd_read_phases_follow_byte_limit);
    tcase_add_test(cd, cd_read_errors);
    tcase_add_test(cd, cd_info_commands);
    tcase_add_test(cd, cd_events_and_tray);
    tcase_add_test(cd, cd_empty_drive);
    tcase_add_test(cd, cd_slave_signature);
    suite_add_tcase(s, cd);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
