/*
 * test_ide.c - an IDE channel driven through its ports alone, on image
 * files the test creates: IDENTIFY, PIO reads and writes with LBA28, LBA48
 * and CHS, READ/WRITE MULTIPLE, data reaching the file, snapshot mode,
 * out-of-range sectors (IDNF), unknown commands (ABRT), soft reset and the
 * empty-channel floating bus, and bad images refused by the back end.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void out8(unsigned reg, uint8_t v) { ide_port_write(ch, (uint16_t)(0x1F0 + reg), 1, v); }
static uint8_t in8(unsigned reg) { return (uint8_t)ide_port_read(ch, (uint16_t)(0x1F0 + reg), 1); }
static uint16_t in16(void) { return (uint16_t)ide_port_read(ch, 0x1F0, 2); }

static void make_image(const char *p, size_t sectors) {
    FILE *f = fopen(p, "wb");
    for (size_t s = 0; s < sectors; s++)
        for (int i = 0; i < 512; i++) fputc((int)((s * 7 + (size_t)i) & 0xFF), f);
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

static uint8_t expected_byte(size_t sector, int i) { return (uint8_t)((sector * 7 + (size_t)i) & 0xFF); }

START_TEST(identify) {
    out8(6, 0xA0);
    out8(7, 0xEC);
    ck_assert(irq);
    uint8_t id[512];
    read_sector(id);
    ck_assert(!irq); /* the status read acknowledged it */
    ck_assert_uint_eq(id[0] | id[1] << 8, 0x0040);
    ck_assert_uint_eq(id[120] | id[121] << 8 | id[122] << 16 | id[123] << 24, 4096); /* words 60-61 */
    ck_assert_uint_eq(id[200] | id[201] << 8, 4096);                                 /* words 100+ */
    ck_assert_int_eq(memcmp(id + 54, "TB68H", 5), 0); /* "BT86 H..." byte-swapped */
    ck_assert(!(in8(7) & 0x08));
}
END_TEST

START_TEST(read_lba28_and_chs) {
    uint8_t buf[512];
    lba28(100, 2, 0x20);
    for (int s = 0; s < 2; s++) {
        read_sector(buf);
        for (int i = 0; i < 512; i++) ck_assert_uint_eq(buf[i], expected_byte(100 + (size_t)s, i));
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
    out8(2, 0); out8(2, 1);                 /* count: HOB 0, then 1 */
    out8(3, 0); out8(3, 0x10);              /* LBA 0x000000000010 */
    out8(4, 0); out8(4, 0);
    out8(5, 0); out8(5, 0);
    out8(7, 0x24);
    uint8_t buf[512];
    read_sector(buf);
    ck_assert_uint_eq(buf[0], expected_byte(16, 0));
    ide_port_write(ch, 0x3F6, 1, 0x80);     /* HOB: read the previous bytes */
    ck_assert_uint_eq(in8(2), 0);
}
END_TEST

START_TEST(write_reaches_the_file) {
    lba28(5, 1, 0x30);
    ck_assert(in8(7) & 0x08);
    for (int i = 0; i < 256; i++) ide_port_write(ch, 0x1F0, 2, 0xBEEF);
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
        for (int i = 0; i < 4 * 256; i++) in16();
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
    out8(6, 0xB0);                 /* select the absent slave */
    ck_assert_uint_eq(in8(7), 0);  /* nobody answers */
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
    for (int i = 0; i < 256; i++) ide_port_write(ch, 0x1F0, 2, 0x1234);
    lba28(0, 1, 0x20);
    ck_assert_uint_eq(in16(), 0x1234); /* the overlay is read back */
    FILE *f = fopen(path, "rb");
    int c = fgetc(f);
    fclose(f);
    ck_assert_int_eq(c, expected_byte(0, 0)); /* the file is unchanged */
}
END_TEST

START_TEST(bad_images_are_refused) {
    char err[256], p2[80];
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
    tcase_add_test(tc, bad_images_are_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
