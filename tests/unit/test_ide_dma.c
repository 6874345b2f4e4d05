/*
 * test_ide_dma.c - IDE bus-master DMA through the bus API: the PIIX3 IDE
 * function on a PCI bus, its BAR4 programmed through 0xCF8/0xCFC, the
 * channels' task files and the bus-master registers through I/O ports,
 * guest RAM through the physical-memory API and the virtual clock moved
 * by hand. Covers: IDENTIFY's DMA words and SET FEATURES 03h; READ DMA
 * into a two-entry PRD table (and not before START, the bus master enable
 * or the latency); WRITE DMA EXT reaching the image; ATAPI READ(10) by
 * DMA; hostile tables (outside RAM, a region crossing the end of RAM, no
 * end-of-table bit, a short table that a second START completes, a long
 * table, STOP in the middle) with the status bits SFF-8038i gives; a
 * snapshot taken while a transfer waits for its timer, and a version-1
 * (pre-DMA) IDE section still loading.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/clock.h"
#include "devices/ide.h"
#include "devices/pci.h"
#include "devices/piix3.h"
#include "mmu/mmu.h"
#include "snap/snap.h"

#define RAM       (1u << 20)
#define BM        0xC000 /* where the test puts BAR4 */
#define SECTORS   256
#define CD_SECTS  32
#define IDE_DEVFN PCI_DEVFN(1, 1)

static char hd_path[64], cd_path[64];
static Disk *hd, *cd;
static IdeChannel *ch0, *ch1;
static PciBus *pci;
static PiixIde *piix;
static IoBus *io;
static PhysMem *pm;
static VClock clk;
static int irq[2];

static void irq_capture(void *opaque, int n, int level) {
    (void)opaque;
    irq[n == 15] = level;
}

static uint8_t hd_byte(uint32_t sector, uint32_t i) {
    return (uint8_t)(sector * 7 + i + (i >> 8));
}
static uint8_t cd_byte(uint32_t sector, uint32_t i) {
    return (uint8_t)(sector * 13 + i * 5 + (i >> 9));
}

static void cfg_write(unsigned reg, unsigned size, uint32_t v) {
    iobus_write(io, 0xCF8, 4, 0x80000000u | IDE_DEVFN << 8 | (reg & 0xFC));
    iobus_write(io, (uint16_t)(0xCFC + (reg & 3)), size, v);
}

static void setup(void) {
    snprintf(hd_path, sizeof hd_path, "/tmp/bt86-dma-%d.img", (int)getpid());
    snprintf(cd_path, sizeof cd_path, "/tmp/bt86-dma-%d.iso", (int)getpid());
    FILE *f = fopen(hd_path, "wb");
    for (uint32_t s = 0; s < SECTORS; s++)
        for (uint32_t i = 0; i < 512; i++)
            fputc(hd_byte(s, i), f);
    fclose(f);
    f = fopen(cd_path, "wb");
    for (uint32_t s = 0; s < CD_SECTS; s++)
        for (uint32_t i = 0; i < 2048; i++)
            fputc(s == 16 && i < 6 ? "\001CD001"[i] : cd_byte(s, i), f);
    fclose(f);
    char err[256];
    hd = disk_open(hd_path, DISK_RW, 512, err, sizeof err);
    ck_assert_msg(hd != NULL, "%s", err);
    cd = disk_open(cd_path, DISK_RO, 2048, err, sizeof err);
    ck_assert_msg(cd != NULL, "%s", err);
    vclock_init(&clk);
    pm = physmem_new(RAM);
    io = iobus_new();
    pci = pci_bus_new();
    irq[0] = irq[1] = 0;
    ch0 = ide_new(0x1F0, 0x3F6, (IrqLine){irq_capture, NULL, 14});
    ch1 = ide_new(0x170, 0x376, (IrqLine){irq_capture, NULL, 15});
    ide_attach_disk(ch0, 0, hd);
    ide_attach_cdrom(ch1, 0, cd);
    ide_attach_dma(ch0, pm, &clk);
    ide_attach_dma(ch1, pm, &clk);
    ck_assert_int_eq(ide_register(ch0, io), 0);
    ck_assert_int_eq(ide_register(ch1, io), 0);
    ck_assert_int_eq(pci_bus_register(pci, io), 0);
    piix = piix3_ide_init(pci, io, ch0, ch1);
    ck_assert_ptr_nonnull(piix);
    cfg_write(0x20, 4, BM);
    cfg_write(0x04, 2, 0x0005); /* I/O space, bus master */
}

static void teardown(void) {
    pci_bus_free(pci);
    piix3_ide_free(piix);
    ide_free(ch0);
    ide_free(ch1);
    iobus_free(io);
    physmem_free(pm);
    disk_close(hd);
    disk_close(cd);
    unlink(hd_path);
    unlink(cd_path);
}

static void out8(uint16_t port, uint8_t v) {
    iobus_write(io, port, 1, v);
}
static uint8_t in8(uint16_t port) {
    return (uint8_t)iobus_read(io, port, 1);
}
static uint8_t bm_status(int c) {
    return in8((uint16_t)(BM + 8 * c + 2));
}
static void advance(uint64_t ns) {
    vclock_advance(&clk, vclock_now(&clk) + ns);
}

/* A PRD table of n entries at `at`: {addr, count (0 = 64 KiB), eot}. */
typedef struct Prd {
    uint32_t addr, count;
    bool eot;
} Prd;
static void put_table(uint32_t at, const Prd *e, int n) {
    for (int i = 0; i < n; i++) {
        uint8_t b[8] = {(uint8_t)e[i].addr,
                        (uint8_t)(e[i].addr >> 8),
                        (uint8_t)(e[i].addr >> 16),
                        (uint8_t)(e[i].addr >> 24),
                        (uint8_t)e[i].count,
                        (uint8_t)(e[i].count >> 8),
                        0,
                        e[i].eot ? 0x80 : 0};
        ck_assert_int_eq(phys_copy_to(pm, at + 8u * (uint32_t)i, b, 8), 0);
    }
}

/* Program channel c's bus master: table pointer, direction, clear the
 * status (write 1 to ERR and INTR), without START. */
static void bm_setup(int c, uint32_t table, bool to_memory) {
    iobus_write(io, (uint16_t)(BM + 8 * c + 4), 4, table);
    out8((uint16_t)(BM + 8 * c), to_memory ? 0x08 : 0x00);
    out8((uint16_t)(BM + 8 * c + 2), 0x06);
}
static void bm_start(int c, bool to_memory) {
    out8((uint16_t)(BM + 8 * c), to_memory ? 0x09 : 0x01);
}

/* An ATA command with LBA28 (or LBA48 when ext) on the primary master. */
static void ata_cmd(uint8_t cmd, uint64_t lba, uint32_t count, bool ext) {
    out8(0x1F6, 0xE0);
    if (ext) {
        out8(0x1F2, (uint8_t)(count >> 8));
        out8(0x1F3, (uint8_t)(lba >> 24));
        out8(0x1F4, (uint8_t)(lba >> 32));
        out8(0x1F5, (uint8_t)(lba >> 40));
    } else {
        out8(0x1F6, (uint8_t)(0xE0 | (lba >> 24)));
    }
    out8(0x1F2, (uint8_t)count);
    out8(0x1F3, (uint8_t)lba);
    out8(0x1F4, (uint8_t)(lba >> 8));
    out8(0x1F5, (uint8_t)(lba >> 16));
    out8(0x1F7, cmd);
}

static void check_sectors_at(uint32_t addr, uint32_t lba, uint32_t bytes) {
    static uint8_t got[65536];
    ck_assert_int_eq(phys_copy_from(pm, addr, got, bytes), 0);
    for (uint32_t i = 0; i < bytes; i++)
        ck_assert_msg(got[i] == hd_byte(lba + (i / 512), i % 512), "byte %u at 0x%x", i, addr);
}

static void fill(uint32_t addr, uint8_t v, uint32_t n) {
    static uint8_t b[65536];
    memset(b, v, n);
    ck_assert_int_eq(phys_copy_to(pm, addr, b, n), 0);
}
static bool filled(uint32_t addr, uint8_t v, uint32_t n) {
    static uint8_t b[65536];
    ck_assert_int_eq(phys_copy_from(pm, addr, b, n), 0);
    for (uint32_t i = 0; i < n; i++)
        if (b[i] != v) return false;
    return true;
}

static void identify(uint16_t port_base, uint8_t cmd, uint16_t *w) {
    out8((uint16_t)(port_base + 6), 0xA0);
    out8((uint16_t)(port_base + 7), cmd);
    for (int i = 0; i < 256; i++)
        w[i] = (uint16_t)iobus_read(io, port_base, 2);
}

START_TEST(identify_and_set_features) {
    uint16_t w[256];
    identify(0x1F0, 0xEC, w);
    ck_assert(w[49] & 0x0100);            /* DMA supported */
    ck_assert_uint_eq(w[53] & 0x0006, 6); /* words 64-70 and 88 valid */
    ck_assert_uint_eq(w[63], 0x0007);     /* MWDMA 0-2, none selected */
    ck_assert_uint_eq(w[88], 0x0007);     /* UDMA 0-2 (UDMA/33), none selected */
    /* SET FEATURES 03h: MWDMA2 accepted and shown selected. */
    out8(0x1F1, 0x03);
    out8(0x1F2, 0x22);
    out8(0x1F7, 0xEF);
    ck_assert_uint_eq(in8(0x1F7) & 0x01, 0);
    identify(0x1F0, 0xEC, w);
    ck_assert_uint_eq(w[63], 0x0407);
    ck_assert_uint_eq(w[88], 0x0007);
    /* UDMA 2 accepted; UDMA 5, MWDMA 3 and PIO 5 aborted (the mode stays). */
    out8(0x1F1, 0x03);
    out8(0x1F2, 0x42);
    out8(0x1F7, 0xEF);
    ck_assert_uint_eq(in8(0x1F7) & 0x01, 0);
    const uint8_t bad[] = {0x45, 0x23, 0x0D, 0x10};
    for (size_t i = 0; i < sizeof bad; i++) {
        out8(0x1F1, 0x03);
        out8(0x1F2, bad[i]);
        out8(0x1F7, 0xEF);
        ck_assert_uint_eq(in8(0x1F7) & 0x01, 0x01);
        ck_assert_uint_eq(in8(0x1F1), 0x04); /* ABRT */
    }
    identify(0x1F0, 0xEC, w);
    ck_assert_uint_eq(w[63], 0x0007);
    ck_assert_uint_eq(w[88], 0x0407);
    /* The CD drive too. */
    identify(0x170, 0xA1, w);
    ck_assert(w[49] & 0x0100);
    ck_assert_uint_eq(w[63], 0x0007);
    ck_assert_uint_eq(w[88], 0x0007);
    /* The bus-master block is mapped where BAR4 says, and follows it. */
    ck_assert_uint_eq(bm_status(0), 0x04); /* INTR: the PIO commands' interrupts latch it too */
    out8(BM + 2, 0x04);                    /* write 1 to clear */
    ck_assert_uint_eq(bm_status(0), 0);
    out8(BM + 2, 0x60); /* drive DMA capable bits: software's */
    ck_assert_uint_eq(bm_status(0), 0x60);
    iobus_write(io, BM + 4, 4, 0x12345677);
    ck_assert_uint_eq(iobus_read(io, BM + 4, 4), 0x12345674);
    cfg_write(0x20, 4, 0xD000);
    ck_assert_uint_eq(in8(BM + 2), 0xFF); /* nobody there now */
    ck_assert_uint_eq(in8(0xD002), 0x60);
    cfg_write(0x04, 2, 0x0004); /* I/O space off: unmapped */
    ck_assert_uint_eq(in8(0xD002), 0xFF);
}
END_TEST

START_TEST(read_dma_two_entries) {
    /* 3 sectors from LBA 5: 512 bytes at 0x20000, 1024 at 0x30100. */
    Prd t[] = {{0x20000, 512, false}, {0x30100, 1024, true}};
    put_table(0x10000, t, 2);
    fill(0x1FF00, 0xAA, 0x100 + 512 + 0x100);
    fill(0x30000, 0xAA, 0x100 + 1024 + 0x100);
    bm_setup(0, 0x10000, true);
    ata_cmd(0xC8, 5, 3, false);
    ck_assert_uint_eq(in8(0x3F6) & 0x88, 0x08); /* DRQ: waiting for the bus master */
    advance(1000000);
    ck_assert(filled(0x20000, 0xAA, 512)); /* nothing moves before START */
    ck_assert(!irq[0]);
    cfg_write(0x04, 2, 0x0001); /* no bus master enable: still nothing */
    bm_start(0, true);
    ck_assert_uint_eq(bm_status(0), 0x01); /* ACTIVE */
    advance(1000000);
    ck_assert(filled(0x20000, 0xAA, 512));
    cfg_write(0x04, 2, 0x0005);
    advance(9000); /* the latency is 10 us */
    ck_assert(filled(0x20000, 0xAA, 512));
    ck_assert(!irq[0]);
    advance(1000);
    ck_assert(irq[0]);
    ck_assert_uint_eq(bm_status(0), 0x04); /* INTR, not ACTIVE: the table ended too */
    ck_assert_uint_eq(in8(0x3F6), 0x50);   /* DRDY DSC, no DRQ, no ERR */
    check_sectors_at(0x20000, 5, 512);
    check_sectors_at(0x30100, 6, 1024);
    ck_assert(filled(0x1FF00, 0xAA, 0x100)); /* around the regions: untouched */
    ck_assert(filled(0x20200, 0xAA, 0x100));
    ck_assert(filled(0x30000, 0xAA, 0x100));
    ck_assert(filled(0x30500, 0xAA, 0x100));
    /* The guest's acknowledgement: stop, read the status, clear INTR. */
    out8(BM, 0x08);
    ck_assert_uint_eq(in8(0x1F7), 0x50);
    ck_assert(!irq[0]);
    out8(BM + 2, bm_status(0));
    ck_assert_uint_eq(bm_status(0), 0);
}
END_TEST

START_TEST(read_dma_ext_large) {
    /* 200 sectors (100 KiB, more than one engine step) into one 64 KiB
     * entry (count 0) and a 36 KiB one. */
    Prd t[] = {{0x40000, 0, false}, {0x60000, 200 * 512 - 65536, true}};
    put_table(0x10008, t, 2);
    bm_setup(0, 0x10008, true);
    ata_cmd(0x25, 10, 200, true);
    bm_start(0, true);
    advance(10000);
    ck_assert(!irq[0]); /* the first 64 KiB moved, the rest takes a while */
    advance(1000000);
    ck_assert(irq[0]);
    ck_assert_uint_eq(bm_status(0), 0x04);
    check_sectors_at(0x40000, 10, 65536);
    check_sectors_at(0x60000, 10 + 128, 200 * 512 - 65536);
}
END_TEST

START_TEST(write_dma_ext_reaches_image) {
    static uint8_t src[3 * 512];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 31 + 3);
    ck_assert_int_eq(phys_copy_to(pm, 0x50000, src, 1024), 0);
    ck_assert_int_eq(phys_copy_to(pm, 0x58002, src + 1024, 512), 0);
    /* Odd base and count bits are ignored: 0x58003/513 mean 0x58002/512. */
    Prd t[] = {{0x50000, 1024, false}, {0x58003, 513, true}};
    put_table(0x10000, t, 2);
    bm_setup(0, 0x10000, false);
    ata_cmd(0x35, 100, 3, true);
    bm_start(0, false);
    advance(20000);
    ck_assert(irq[0]);
    ck_assert_uint_eq(bm_status(0), 0x04);
    ck_assert_uint_eq(in8(0x1F7), 0x50);
    ck_assert_int_eq(disk_flush(hd), 0);
    FILE *f = fopen(hd_path, "rb");
    static uint8_t back[4 * 512];
    fseek(f, 99 * 512, SEEK_SET);
    ck_assert_uint_eq(fread(back, 1, sizeof back, f), sizeof back);
    fclose(f);
    ck_assert_int_eq(memcmp(back + 512, src, sizeof src), 0);
    for (uint32_t i = 0; i < 512; i++) { /* the neighbours are intact */
        ck_assert_uint_eq(back[i], hd_byte(99, i));
    }
    /* WRITE DMA (28-bit) of one sector, then READ DMA of it back. */
    Prd one[] = {{0x50000, 512, true}};
    put_table(0x10000, one, 1);
    bm_setup(0, 0x10000, false);
    ata_cmd(0xCA, 7, 1, false);
    bm_start(0, false);
    advance(20000);
    out8(BM, 0);
    bm_setup(0, 0x10000, true);
    fill(0x50000, 0, 512);
    ata_cmd(0xC8, 7, 1, false);
    bm_start(0, true);
    advance(20000);
    static uint8_t got[512];
    phys_copy_from(pm, 0x50000, got, 512);
    ck_assert_int_eq(memcmp(got, src, 512), 0);
}
END_TEST

/* PACKET with the DMA bit on the secondary master, a 12-byte CDB by PIO. */
static void packet_dma(const uint8_t *cdb) {
    out8(0x176, 0xA0);
    out8(0x171, 0x01); /* DMA */
    out8(0x174, 0);
    out8(0x175, 0);
    out8(0x177, 0xA0);
    ck_assert_uint_eq(in8(0x376) & 0x08, 0x08);
    for (int i = 0; i < 12; i += 2)
        iobus_write(io, 0x170, 2, (uint32_t)(cdb[i] | cdb[i + 1] << 8));
}

START_TEST(atapi_read10_by_dma) {
    /* The new disc's unit attention first (TEST UNIT READY reports it). */
    uint8_t tur[12] = {0};
    packet_dma(tur);
    ck_assert_uint_eq(in8(0x177) & 0x01, 0x01);
    (void)in8(0x177);
    /* READ(10) of sectors 3 and 4 into 0x40000 (3 KiB) and 0x50000 (1 KiB). */
    Prd t[] = {{0x40000, 3072, false}, {0x50000, 1024, true}};
    put_table(0x10000, t, 2);
    bm_setup(1, 0x10000, true);
    uint8_t cdb[12] = {0x28, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0};
    packet_dma(cdb);
    ck_assert(!irq[1]);
    bm_start(1, true);
    advance(20000);
    ck_assert(irq[1]);
    ck_assert_uint_eq(bm_status(1), 0x04);
    ck_assert_uint_eq(in8(0x172), 0x03); /* status phase: CoD, IO */
    ck_assert_uint_eq(in8(0x177), 0x50);
    static uint8_t got[4096];
    phys_copy_from(pm, 0x40000, got, 3072);
    phys_copy_from(pm, 0x50000, got + 3072, 1024);
    for (uint32_t i = 0; i < 4096; i++)
        ck_assert_uint_eq(got[i], cd_byte(3 + i / 2048, i % 2048));
    /* A short reply by DMA too (INQUIRY, 36 bytes), into a long table:
     * INTR with ACTIVE still set. */
    out8(BM + 8, 0);
    Prd t2[] = {{0x60000, 512, false}, {0x61000, 512, true}};
    put_table(0x10000, t2, 2);
    bm_setup(1, 0x10000, true);
    uint8_t inq[12] = {0x12, 0, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0};
    packet_dma(inq);
    bm_start(1, true);
    advance(20000);
    ck_assert_uint_eq(bm_status(1), 0x05);
    phys_copy_from(pm, 0x60000, got, 36);
    ck_assert_int_eq(memcmp(got + 8, "BT86    CD-ROM", 14), 0);
}
END_TEST

/* Start a 2-sector READ DMA with the table at 0x10000 (already written). */
static void read2_started(void) {
    bm_setup(0, 0x10000, true);
    ata_cmd(0xC8, 20, 2, false);
    bm_start(0, true);
    advance(100000);
}

/* The controller hit memory it cannot reach: ERROR, not ACTIVE, and the
 * drive ends the command with ABRT and its interrupt. */
static void check_bus_error(void) {
    ck_assert_uint_eq(bm_status(0), 0x06);
    ck_assert(irq[0]);
    ck_assert_uint_eq(in8(0x1F7), 0x51);
    ck_assert_uint_eq(in8(0x1F1), 0x04);
}

START_TEST(table_outside_ram) {
    bm_setup(0, 0xFFFF0000u, true);
    ata_cmd(0xC8, 20, 2, false);
    bm_start(0, true);
    advance(100000);
    check_bus_error();
    bm_setup(0, RAM - 4, true); /* an entry straddling the end of RAM */
    ata_cmd(0xC8, 20, 2, false);
    bm_start(0, true);
    advance(100000);
    check_bus_error();
}
END_TEST

START_TEST(region_crossing_end_of_ram) {
    /* The first region is fine, the second runs 256 bytes past the end of
     * RAM: the first lands, nothing of the second does (ASan would see a
     * host access past the RAM block). */
    Prd t[] = {{0x20000, 512, false}, {RAM - 256, 512, true}};
    put_table(0x10000, t, 2);
    fill(RAM - 256, 0xAA, 256);
    read2_started();
    check_bus_error();
    check_sectors_at(0x20000, 20, 512);
    ck_assert(filled(RAM - 256, 0xAA, 256));
    /* A region in the ROM-less hole above RAM. */
    Prd t2[] = {{0x80000000u, 1024, true}};
    put_table(0x10000, t2, 1);
    read2_started();
    check_bus_error();
}
END_TEST

START_TEST(table_without_end) {
    /* A whole 64 KiB page of 2-byte entries and no EOT: 16 KiB of regions
     * for a 32 KiB transfer. The walk stops after 8192 entries. */
    static uint8_t page[65536];
    for (uint32_t i = 0; i < 8192; i++) {
        uint32_t a = 0x20000 + 2 * i;
        page[8 * i] = (uint8_t)a;
        page[8 * i + 1] = (uint8_t)(a >> 8);
        page[8 * i + 2] = (uint8_t)(a >> 16);
        page[8 * i + 4] = 2;
    }
    ck_assert_int_eq(phys_copy_to(pm, 0x70000, page, sizeof page), 0);
    fill(0x20000 + 16384, 0xAA, 256);
    bm_setup(0, 0x70000, true);
    ata_cmd(0xC8, 30, 64, false);
    bm_start(0, true);
    advance(1000000);
    check_bus_error();
    check_sectors_at(0x20000, 30, 16384);
    ck_assert(filled(0x20000 + 16384, 0xAA, 256));
    /* A table starting at the page's last entry wraps to its start. */
    Prd last[] = {{0x30000, 512, false}};
    Prd first[] = {{0x31000, 512, true}};
    put_table(0x7FFF8, last, 1);
    put_table(0x70000, first, 1);
    bm_setup(0, 0x7FFF8, true);
    ata_cmd(0xC8, 40, 2, false);
    bm_start(0, true);
    advance(100000);
    ck_assert_uint_eq(bm_status(0), 0x04);
    check_sectors_at(0x30000, 40, 512);
    check_sectors_at(0x31000, 41, 512);
}
END_TEST

START_TEST(short_table_then_rest) {
    /* 2 sectors, a table of 512 bytes: ACTIVE clears, no INTR, no ERROR,
     * no interrupt; the drive still waits with DRQ. */
    Prd t[] = {{0x20000, 512, true}};
    put_table(0x10000, t, 1);
    read2_started();
    ck_assert_uint_eq(bm_status(0), 0x00);
    ck_assert(!irq[0]);
    ck_assert_uint_eq(in8(0x3F6), 0x58);
    check_sectors_at(0x20000, 20, 512);
    /* A second table takes the rest. */
    out8(BM, 0x08);
    Prd t2[] = {{0x21000, 512, true}};
    put_table(0x10100, t2, 1);
    bm_setup(0, 0x10100, true);
    bm_start(0, true);
    advance(100000);
    ck_assert(irq[0]);
    ck_assert_uint_eq(bm_status(0), 0x04);
    ck_assert_uint_eq(in8(0x1F7), 0x50);
    check_sectors_at(0x21000, 21, 512);
}
END_TEST

START_TEST(long_table_and_stop) {
    Prd t[] = {{0x20000, 4096, false}, {0x30000, 4096, true}};
    put_table(0x10000, t, 2);
    read2_started();
    ck_assert_uint_eq(bm_status(0), 0x05); /* INTR with ACTIVE: table longer than the transfer */
    ck_assert(irq[0]);
    check_sectors_at(0x20000, 20, 1024);
    ck_assert_uint_eq(in8(0x1F7), 0x50);
    /* STOP before the step: nothing moves, the drive keeps waiting. */
    fill(0x20000, 0xAA, 1024);
    bm_setup(0, 0x10000, true);
    ata_cmd(0xC8, 20, 2, false);
    bm_start(0, true);
    out8(BM, 0x08);
    advance(100000);
    ck_assert(filled(0x20000, 0xAA, 1024));
    ck_assert_uint_eq(bm_status(0), 0x00);
    ck_assert_uint_eq(in8(0x3F6), 0x58);
    /* A soft reset ends it. */
    out8(0x3F6, 0x04);
    out8(0x3F6, 0x00);
    ck_assert_uint_eq(in8(0x3F6) & 0x08, 0);
    /* DMA commands out of the disk's range: IDNF before any transfer. */
    ata_cmd(0xC8, SECTORS - 1, 2, false);
    ck_assert_uint_eq(in8(0x1F1), 0x14);
}
END_TEST

static void save_ch(const void *d, SnapWriter *w) {
    ide_save(d, w);
}

START_TEST(snapshot_mid_transfer) {
    Prd t[] = {{0x40000, 0, false}, {0x60000, 200 * 512 - 65536, true}};
    put_table(0x10000, t, 2);
    bm_setup(0, 0x10000, true);
    ata_cmd(0x25, 10, 200, true);
    bm_start(0, true);
    advance(10000); /* the first 64 KiB moved, the timer armed for the rest */
    SnapWriter *w = snap_writer_new();
    save_ch(ch0, w);
    uint64_t at = vclock_now(&clk);
    /* Lose everything: the channel reset, the rest of the RAM cleared. */
    ide_reset(ch0);
    fill(0x60000, 0, 200 * 512 - 65536);
    advance(1000000);
    ck_assert(filled(0x60000, 0, 200 * 512 - 65536));
    /* Back to the saved moment (the clock first, as pc.c does). */
    clk.now = at;
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "ide0", 2, false);
    ck_assert_msg(ide_load(ch0, &r), "%s", snap_error(&r));
    snap_reader_init(&r, w->buf, w->len, "ide0", 2, true);
    ck_assert_msg(ide_load(ch0, &r), "%s", snap_error(&r));
    ck_assert_uint_eq(bm_status(0), 0x01);
    advance(1000000);
    ck_assert(irq[0]);
    ck_assert_uint_eq(bm_status(0), 0x04);
    check_sectors_at(0x60000, 10 + 128, 200 * 512 - 65536);
    /* A corrupted walk state is refused: PRD count past the limit. */
    SnapWriter *w2 = snap_writer_new();
    save_ch(ch0, w2);
    /* The fixed tail: ..., prd_fetched (u32), region_addr, region_left,
     * region_last, timer (bool, u64, u32). */
    size_t off = w2->len - (13 + 1 + 4 + 4 + 4);
    w2->buf[off + 3] = 0x7F;
    snap_reader_init(&r, w2->buf, w2->len, "ide0", 2, false);
    ck_assert(!ide_load(ch0, &r));
    ck_assert(strstr(snap_error(&r), "PRD walk"));
    snap_writer_free(w);
    snap_writer_free(w2);
}
END_TEST

/* A version-1 section (bt86 before DMA: no transfer mode per drive, no
 * bus-master state) still loads: cut the version-2 fields out of a save. */
START_TEST(snapshot_version1_loads) {
    ata_cmd(0x20, 9, 1, false); /* a PIO read in progress */
    SnapWriter *w = snap_writer_new();
    save_ch(ch0, w);
    enum { DRIVE_V1 = 23, DMA_TAIL = 37 };
    static uint8_t v1[16384];
    size_t n = 0;
    memcpy(v1 + n, w->buf, 1 + DRIVE_V1); /* irq_pending, drive 0 */
    n += 1 + DRIVE_V1;
    memcpy(v1 + n, w->buf + 1 + DRIVE_V1 + 1, DRIVE_V1); /* drive 1 */
    n += DRIVE_V1;
    size_t rest = w->len - (1 + 2 * (DRIVE_V1 + 1)) - DMA_TAIL;
    memcpy(v1 + n, w->buf + 1 + 2 * (DRIVE_V1 + 1), rest);
    n += rest;
    ide_reset(ch0);
    SnapReader r;
    snap_reader_init(&r, v1, n, "ide0", 1, true);
    ck_assert_msg(ide_load(ch0, &r), "%s", snap_error(&r));
    uint8_t buf[512];
    for (int i = 0; i < 256; i++) {
        uint16_t v = (uint16_t)iobus_read(io, 0x1F0, 2);
        buf[2 * i] = (uint8_t)v;
        buf[2 * i + 1] = (uint8_t)(v >> 8);
    }
    for (uint32_t i = 0; i < 512; i++)
        ck_assert_uint_eq(buf[i], hd_byte(9, i));
    /* The same bytes as version 2 are too short. */
    snap_reader_init(&r, v1, n, "ide0", 2, false);
    ck_assert(!ide_load(ch0, &r));
    snap_writer_free(w);
}
END_TEST

static Suite *ide_dma_suite(void) {
    Suite *s = suite_create("ide_dma");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, identify_and_set_features);
    tcase_add_test(tc, read_dma_two_entries);
    tcase_add_test(tc, read_dma_ext_large);
    tcase_add_test(tc, write_dma_ext_reaches_image);
    tcase_add_test(tc, atapi_read10_by_dma);
    tcase_add_test(tc, table_outside_ram);
    tcase_add_test(tc, region_crossing_end_of_ram);
    tcase_add_test(tc, table_without_end);
    tcase_add_test(tc, short_table_then_rest);
    tcase_add_test(tc, long_table_and_stop);
    tcase_add_test(tc, snapshot_mid_transfer);
    tcase_add_test(tc, snapshot_version1_loads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(ide_dma_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
