/*
 * test_vga.c - the VGA through its ports, the legacy window, PCI
 * configuration and the renderer alone: register files, write modes 0-3,
 * read modes 0/1, chain-4, odd/even, memory map select, the retrace bit,
 * the DAC, text rendering with a font loaded into plane 2, 16- and
 * 256-colour rendering, the CGA modes 4 and 6 and the planar modes 0Dh and
 * 12h with the BIOS's register values (interleaved lines, 2-bit pixels,
 * palettes, split screen, start address, pel and byte panning), DISPI modes with the LFB at BAR0
 * and the bank window, and hostile values (out-of-range banks, offsets, indexes).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/vga.h"

static IoBus *io;
static PhysMem *pm;
static PciBus *pci;
static VClock clk;
static Vga *vga;

static void setup(void) {
    io = iobus_new();
    pm = physmem_new(2 << 20);
    pci = pci_bus_new();
    vclock_init(&clk);
    vga = vga_new(&clk);
    ck_assert_int_eq(vga_register(vga, io, pm), 0);
    ck_assert_int_eq(pci_bus_register(pci, io), 0);
    ck_assert_ptr_nonnull(vga_pci_init(vga, pci, PCI_DEVFN(2, 0)));
}

static void teardown(void) {
    vga_free(vga);
    pci_bus_free(pci);
    physmem_free(pm);
    iobus_free(io);
}

static void outb(uint16_t port, uint8_t v) {
    iobus_write(io, port, 1, v);
}
static uint8_t inb(uint16_t port) {
    return (uint8_t)iobus_read(io, port, 1);
}
static void seq(uint8_t i, uint8_t v) {
    outb(0x3C4, i), outb(0x3C5, v);
}
static void gc(uint8_t i, uint8_t v) {
    outb(0x3CE, i), outb(0x3CF, v);
}
static void crtc(uint8_t i, uint8_t v) {
    outb(0x3D4, i), outb(0x3D5, v);
}
static void attr(uint8_t i, uint8_t v) {
    inb(0x3DA); /* reset the flip-flop */
    outb(0x3C0, i);
    outb(0x3C0, v);
    outb(0x3C0, 0x20); /* palette address source: display on */
}
static void dispi(uint16_t i, uint16_t v) {
    iobus_write(io, 0x1CE, 2, i);
    iobus_write(io, 0x1CF, 2, v);
}
static uint16_t dispi_get(uint16_t i) {
    iobus_write(io, 0x1CE, 2, i);
    return (uint16_t)iobus_read(io, 0x1CF, 2);
}
static uint8_t plane_byte(unsigned plane, uint32_t off) {
    return vga_vram(vga)[off * 4 + plane];
}

/* Sequential planar addressing at 0xA0000 (like mode 12h). */
static void planar_setup(void) {
    outb(0x3C2, 0x63);
    seq(2, 0x0F);
    seq(4, 0x06);
    gc(5, 0x00);
    gc(6, 0x05); /* graphics, A0000 64K */
    gc(8, 0xFF);
}

START_TEST(register_files) {
    outb(0x3C2, 0x67);
    ck_assert_uint_eq(inb(0x3CC), 0x67);
    iobus_write(io, 0x3C4, 2, 0x0302); /* word OUT: index 2, data 3 */
    ck_assert_uint_eq(inb(0x3C4), 2);
    ck_assert_uint_eq(inb(0x3C5), 0x03);
    gc(7, 0x0A);
    outb(0x3CE, 7);
    ck_assert_uint_eq(inb(0x3CF), 0x0A);
    crtc(0x0C, 0x12);
    outb(0x3D4, 0x0C);
    ck_assert_uint_eq(inb(0x3D5), 0x12);
    /* Colour mode: the mono CRTC ports are not decoded; mono mode swaps. */
    ck_assert_uint_eq(inb(0x3B5), 0xFF);
    outb(0x3C2, 0x66);
    outb(0x3B4, 0x0C);
    ck_assert_uint_eq(inb(0x3B5), 0x12);
    outb(0x3C2, 0x67);
    /* Write protect (CR11 bit 7) covers CR0-CR7 except CR7 bit 4. */
    crtc(0x11, 0x80);
    crtc(0x01, 0x4F);
    crtc(0x01, 0x11);
    outb(0x3D4, 0x01);
    ck_assert_uint_eq(inb(0x3D5), 0x00);
    crtc(0x11, 0x00);
    crtc(0x01, 0x4F);
    outb(0x3D4, 0x01);
    ck_assert_uint_eq(inb(0x3D5), 0x4F);
    /* Hostile indexes stay inside the register files. */
    outb(0x3D4, 0xFF);
    outb(0x3D5, 0x99);
    outb(0x3C4, 0xFF);
    outb(0x3C5, 0x99);
    outb(0x3CE, 0xFF);
    outb(0x3CF, 0x99);
}
END_TEST

START_TEST(attribute_flip_flop_and_dac) {
    inb(0x3DA);
    outb(0x3C0, 0x05);
    outb(0x3C0, 0x2A);
    ck_assert_uint_eq(inb(0x3C0), 0x05);
    ck_assert_uint_eq(inb(0x3C1), 0x2A);
    outb(0x3C0, 0x06); /* flip-flop is on index again */
    inb(0x3DA);        /* reset: next write is an index */
    outb(0x3C0, 0x07);
    outb(0x3C0, 0x15);
    outb(0x3C0, 0x07);
    ck_assert_uint_eq(inb(0x3C1), 0x15);
    /* DAC: auto-increment over r, g, b and entries; 6 bits. */
    outb(0x3C8, 0x10);
    for (int i = 0; i < 6; i++)
        outb(0x3C9, (uint8_t)(0x40 | (i * 10)));
    outb(0x3C7, 0x10);
    ck_assert_uint_eq(inb(0x3C7), 0x03);
    for (int i = 0; i < 6; i++)
        ck_assert_uint_eq(inb(0x3C9), (i * 10) & 0x3F);
}
END_TEST

START_TEST(retrace_follows_the_clock) {
    bool seen_on = false, seen_off = false;
    for (int i = 0; i < 200; i++) {
        uint8_t s = inb(0x3DA);
        if (s & 0x08)
            seen_on = true;
        else
            seen_off = true;
        vclock_advance(&clk, vclock_now(&clk) + 1000000); /* 1 ms */
    }
    ck_assert(seen_on && seen_off);
    /* Same time, same answer: the bit is a function of virtual time. */
    uint8_t a = inb(0x3DA), b = inb(0x3DA);
    ck_assert_uint_eq(a, b);
}
END_TEST

START_TEST(write_modes) {
    planar_setup();
    /* Map mask: only planes 0 and 2 are written. */
    seq(2, 0x05);
    phys_write(pm, 0xA0010, 1, 0x5A);
    ck_assert_uint_eq(plane_byte(0, 0x10), 0x5A);
    ck_assert_uint_eq(plane_byte(1, 0x10), 0x00);
    ck_assert_uint_eq(plane_byte(2, 0x10), 0x5A);
    seq(2, 0x0F);
    /* Read mode 0 returns the plane the read map select names. */
    gc(4, 2);
    ck_assert_uint_eq(phys_read(pm, 0xA0010, 1), 0x5A);
    gc(4, 1);
    ck_assert_uint_eq(phys_read(pm, 0xA0010, 1), 0x00);
    /* Mode 0 with set/reset on planes 1 and 3 (colour 0b1000) and a bit mask. */
    gc(0, 0x08);
    gc(1, 0x0A);
    gc(8, 0xF0);
    phys_read(pm, 0xA0010, 1); /* load latches */
    phys_write(pm, 0xA0010, 1, 0xFF);
    ck_assert_uint_eq(plane_byte(0, 0x10), 0xFA); /* host data under the mask, latch elsewhere */
    ck_assert_uint_eq(plane_byte(1, 0x10), 0x00); /* set/reset 0 */
    ck_assert_uint_eq(plane_byte(2, 0x10), 0xFA);
    ck_assert_uint_eq(plane_byte(3, 0x10), 0xF0); /* set/reset 1 */
    gc(0, 0);
    gc(1, 0);
    gc(8, 0xFF);
    /* Rotate 4 with XOR against the latches. */
    gc(3, 0x18 | 4);
    phys_read(pm, 0xA0010, 1);
    phys_write(pm, 0xA0010, 1, 0x0F);
    ck_assert_uint_eq(plane_byte(0, 0x10), 0xFA ^ 0xF0);
    ck_assert_uint_eq(plane_byte(1, 0x10), 0xF0);
    gc(3, 0);
    /* Mode 1 copies the latches: a 4-plane move. */
    gc(5, 0x01);
    phys_read(pm, 0xA0010, 1);
    phys_write(pm, 0xA0020, 1, 0x00);
    for (unsigned p = 0; p < 4; p++)
        ck_assert_uint_eq(plane_byte(p, 0x20), plane_byte(p, 0x10));
    /* Mode 2: host bits 3:0 are the colour of each plane, bit mask applies. */
    gc(5, 0x02);
    gc(8, 0x81);
    phys_read(pm, 0xA0030, 1);
    phys_write(pm, 0xA0030, 1, 0x05);
    ck_assert_uint_eq(plane_byte(0, 0x30), 0x81);
    ck_assert_uint_eq(plane_byte(1, 0x30), 0x00);
    ck_assert_uint_eq(plane_byte(2, 0x30), 0x81);
    /* Mode 3: set/reset colour, host byte (rotated) ANDed into the bit mask. */
    gc(5, 0x03);
    gc(8, 0xF0);
    gc(0, 0x02);
    phys_read(pm, 0xA0040, 1);
    phys_write(pm, 0xA0040, 1, 0x3C);
    ck_assert_uint_eq(plane_byte(0, 0x40), 0x00);
    ck_assert_uint_eq(plane_byte(1, 0x40), 0x30);
    ck_assert_uint_eq(plane_byte(2, 0x40), 0x00);
}
END_TEST

START_TEST(read_mode_1_colour_compare) {
    planar_setup();
    /* Pixels of colours 0..7 then 9 in one byte: plane p holds bit p of each. */
    static const unsigned colours[8] = {9, 1, 2, 3, 4, 5, 6, 9};
    for (unsigned p = 0; p < 4; p++) {
        uint8_t b = 0;
        for (unsigned x = 0; x < 8; x++)
            if (colours[x] >> p & 1) b |= (uint8_t)(0x80 >> x);
        seq(2, (uint8_t)(1u << p));
        phys_write(pm, 0xA0100, 1, b);
    }
    seq(2, 0x0F);
    gc(5, 0x08);
    gc(2, 9);
    gc(7, 0x0F);
    ck_assert_uint_eq(phys_read(pm, 0xA0100, 1), 0x81);
    gc(7, 0x01); /* compare bit 0 only: odd colours */
    ck_assert_uint_eq(phys_read(pm, 0xA0100, 1), 0xD5);
}
END_TEST

/* A debugger's read of the window (phys_peek) gives what a CPU read gives,
 * in read mode 0 (the selected plane), read mode 1 (colour compare) and
 * text mode's odd/even, without loading the latches: a write mode 1 write
 * after a peek still copies the latches of the CPU read before it. The
 * LFB is peeked too; other MMIO (none here) and unmapped memory fail. */
START_TEST(debugger_peek_has_no_side_effect) {
    planar_setup();
    for (unsigned p = 0; p < 4; p++) {
        seq(2, (uint8_t)(1u << p));
        phys_write(pm, 0xA0010, 1, 0x10 + p);
        phys_write(pm, 0xA0020, 1, 0x20 + p);
    }
    seq(2, 0x0F);
    gc(4, 2);                                           /* read map select: plane 2 */
    ck_assert_uint_eq(phys_read(pm, 0xA0010, 1), 0x12); /* latches: 0x10..0x13 */
    uint8_t b[2];
    ck_assert_int_eq(phys_peek(pm, 0xA0020, b, 2), 0);
    ck_assert_uint_eq(b[0], 0x22);
    ck_assert_uint_eq(b[1], plane_byte(2, 0x21));
    gc(5, 0x01); /* write mode 1: the latches go to memory */
    phys_write(pm, 0xA0030, 1, 0);
    for (unsigned p = 0; p < 4; p++)
        ck_assert_uint_eq(plane_byte(p, 0x30), 0x10 + p); /* not 0x20 + p */
    /* Read mode 1 peeks compare like a read. */
    gc(5, 0x08);
    gc(2, 0x0F);
    gc(7, 0x0F);
    uint8_t want = (uint8_t)phys_read(pm, 0xA0020, 1);
    ck_assert_int_eq(phys_peek(pm, 0xA0020, b, 1), 0);
    ck_assert_uint_eq(b[0], want);
    /* Unmapped memory above RAM fails. */
    ck_assert_int_eq(phys_peek(pm, 0xD0000000u, b, 1), -1);
}
END_TEST

START_TEST(chain4_odd_even_and_memory_map) {
    /* Chain-4 (mode 13h): address bits 1:0 pick the plane. */
    planar_setup();
    seq(4, 0x0E);
    gc(5, 0x40);
    phys_write(pm, 0xA0000 + 4 * 10 + 2, 1, 0x77);
    ck_assert_uint_eq(plane_byte(2, 4 * 10), 0x77);
    ck_assert_uint_eq(phys_read(pm, 0xA0000 + 4 * 10 + 2, 1), 0x77);
    ck_assert_uint_eq(phys_read(pm, 0xA0000 + 4 * 10 + 1, 1), 0x00);
    /* Odd/even text at 0xB8000: characters in plane 0, attributes in plane 1. */
    seq(4, 0x02);
    gc(5, 0x10);
    gc(6, 0x0E);
    phys_write(pm, 0xB8000 + 6, 2, 0x1E41);
    ck_assert_uint_eq(plane_byte(0, 6), 0x41);
    ck_assert_uint_eq(plane_byte(1, 6), 0x1E);
    ck_assert_uint_eq(phys_read(pm, 0xB8006, 2), 0x1E41);
    /* Map select 3 decodes only 0xB8000-0xBFFFF. */
    ck_assert_uint_eq(phys_read(pm, 0xA0006, 1), 0xFF);
    phys_write(pm, 0xA0006, 1, 0x33);
    ck_assert_uint_eq(plane_byte(0, 6), 0x41);
    gc(6, 0x0A); /* map 2: 0xB0000-0xB7FFF */
    ck_assert_uint_eq(phys_read(pm, 0xB0006, 1), 0x41);
    ck_assert_uint_eq(phys_read(pm, 0xB8006, 1), 0xFF);
}
END_TEST

/* Text mode 3 by hand, a font glyph in plane 2, one character on screen. */
static void text_mode_setup(void) {
    outb(0x3C2, 0x67);
    seq(1, 0x00);
    seq(3, 0x00);
    crtc(0x11, 0x00);
    crtc(0x01, 0x4F);
    crtc(0x07, 0x1F);
    crtc(0x09, 0x4F); /* 16 scan lines; bit 6: line compare bit 9 */
    crtc(0x0A, 0x20);
    crtc(0x0C, 0);
    crtc(0x0D, 0);
    crtc(0x12, 0x8F);
    crtc(0x13, 0x28);
    crtc(0x14, 0x1F);
    crtc(0x17, 0xA3);
    crtc(0x18, 0xFF); /* line compare 3FFh: no split */
    for (uint8_t i = 0; i < 16; i++)
        attr(i, i);
    attr(0x13, 0x08); /* 9-dot cells: 8 means no panning */
    attr(0x10, 0x0C);
    attr(0x12, 0x0F);
    attr(0x14, 0x00);
    outb(0x3C8, 0x01); /* colour 1: blue, colour 0x0E: yellow */
    outb(0x3C9, 0);
    outb(0x3C9, 0);
    outb(0x3C9, 42);
    outb(0x3C8, 0x0E);
    outb(0x3C9, 63);
    outb(0x3C9, 63);
    outb(0x3C9, 21);
    gc(3, 0x00);
    gc(8, 0xFF);
    /* Font: plane 2, sequential addressing at 0xA0000. */
    seq(2, 0x04);
    seq(4, 0x06);
    gc(4, 0x02);
    gc(5, 0x00);
    gc(6, 0x04);
    for (unsigned y = 0; y < 16; y++)
        phys_write(pm, 0xA0000 + 'A' * 32 + y, 1, y & 1 ? 0x81 : 0x3C);
    phys_write(pm, 0xA0000 + 0xC4 * 32 + 5, 1, 0xFF); /* a line-graphics glyph */
    /* Back to odd/even text. */
    seq(2, 0x03);
    seq(4, 0x02);
    gc(4, 0x00);
    gc(5, 0x10);
    gc(6, 0x0E);
    for (uint32_t a = 0xB8000; a < 0xB8000 + 80 * 25 * 2; a += 2)
        phys_write(pm, a, 2, 0x0720);
    phys_write(pm, 0xB8000 + 2 * (80 * 2 + 3), 2, 0x1E41); /* 'A', yellow on blue, row 2 col 3 */
    phys_write(pm, 0xB8000 + 2 * (80 * 2 + 4), 2, 0x1EC4);
}

START_TEST(text_rendering) {
    text_mode_setup();
    unsigned w, h;
    const uint32_t *fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 720);
    ck_assert_uint_eq(h, 400);
    const uint32_t yellow = 0xFFFF55, blue = 0x0000AA;
    unsigned x0 = 3 * 9, y0 = 2 * 16;
    for (unsigned y = 0; y < 16; y++) {
        uint8_t bits = y & 1 ? 0x81 : 0x3C;
        for (unsigned x = 0; x < 9; x++) {
            bool on = x < 8 && (bits & (0x80 >> x));
            ck_assert_uint_eq(fb[(y0 + y) * w + x0 + x], (on ? yellow : blue));
        }
    }
    /* Line graphics (0xC0-0xDF) extend into the ninth column. */
    ck_assert_uint_eq(fb[(y0 + 5) * w + 4 * 9 + 8], yellow);
    attr(0x10, 0x08);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[(y0 + 5) * w + 4 * 9 + 8], blue);
    /* The text itself. */
    char dump[81 * 26];
    ck_assert_uint_eq(vga_text_dump(vga, dump, sizeof dump), 25);
    ck_assert(strncmp(dump + 81 * 2, "   A", 4) == 0);
    /* A cursor under the 'A' (lines 14-15) in the foreground colour. */
    crtc(0x0A, 14);
    crtc(0x0B, 15);
    crtc(0x0E, 0);
    crtc(0x0F, 80 * 2 + 3);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[(y0 + 14) * w + x0 + 2], yellow);
    ck_assert_uint_eq(fb[(y0 + 15) * w + x0 + 8], yellow);
    /* The start address one row on: the 'A' moves up a row. */
    crtc(0x0A, 0x20);
    crtc(0x0D, 80);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[(y0 - 16) * w + x0 + 2], yellow);
    ck_assert_uint_eq(fb[y0 * w + x0 + 2], 0);
    /* Line compare 15: from scan line 16 on, memory from address 0 (the
     * 'A' is then on screen lines 48-63). */
    crtc(0x18, 15);
    crtc(0x07, 0x1F & ~0x10);
    crtc(0x09, 0x0F);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[16 * w + x0 + 2], 0);
    ck_assert_uint_eq(fb[48 * w + x0 + 2], yellow);
    ck_assert_uint_eq(fb[48 * w + x0 + 3], yellow);
    /* Pel panning 2 in 9-dot cells: 3 pixels left. */
    attr(0x13, 0x02);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[48 * w + x0 - 1], yellow);
    ck_assert_uint_eq(fb[48 * w + x0 + 3], blue);
    attr(0x13, 0x08);
    crtc(0x0D, 0);
    crtc(0x18, 0xFF);
    crtc(0x07, 0x1F);
    crtc(0x09, 0x4F);
    /* 8-dot characters: 640 wide. Screen off: black. */
    seq(1, 0x01);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 640);
    seq(1, 0x21);
    fb = vga_render(vga, &w, &h);
    for (unsigned i = 0; i < w * h; i++)
        ck_assert_uint_eq(fb[i], 0);
}
END_TEST

START_TEST(graphics_rendering) {
    /* 640x480x16: pixel colours from four planes through the palette. */
    planar_setup();
    crtc(0x11, 0);
    crtc(0x01, 0x4F);
    crtc(0x07, 0x3E);
    crtc(0x09, 0x40);
    crtc(0x12, 0xDF);
    crtc(0x13, 0x28);
    crtc(0x14, 0x00);
    crtc(0x17, 0xE3);
    for (uint8_t i = 0; i < 16; i++)
        attr(i, i);
    attr(0x10, 0x01);
    attr(0x12, 0x0F);
    outb(0x3C8, 5);
    outb(0x3C9, 63);
    outb(0x3C9, 0);
    outb(0x3C9, 63);
    seq(2, 0x05); /* colour 5 = planes 0 and 2 */
    phys_write(pm, 0xA0000 + 80 * 7 + 2, 1, 0x40);
    seq(2, 0x0F);
    unsigned w, h;
    const uint32_t *fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 640);
    ck_assert_uint_eq(h, 480);
    ck_assert_uint_eq(fb[7 * w + 2 * 8 + 1], 0xFF00FF);
    ck_assert_uint_eq(fb[7 * w + 2 * 8 + 0], 0x000000);
    /* 320x200x256 (mode 13h): chain-4, doubleword addressing, scan doubling. */
    seq(4, 0x0E);
    gc(5, 0x40);
    crtc(0x09, 0x41);
    crtc(0x12, 0x8F);
    crtc(0x07, 0x1F);
    crtc(0x14, 0x40);
    crtc(0x17, 0xA3);
    attr(0x10, 0x41);
    outb(0x3C8, 200);
    outb(0x3C9, 0);
    outb(0x3C9, 63);
    outb(0x3C9, 0);
    phys_write(pm, 0xA0000 + 320 * 10 + 33, 1, 200);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 320);
    ck_assert_uint_eq(h, 200);
    ck_assert_uint_eq(fb[10 * w + 33], 0x00FF00);
    ck_assert_uint_eq(fb[10 * w + 32], 0x000000);
}
END_TEST

/* A mode's registers loaded the way the VGA BIOS does it (values of the
 * standard mode tables): misc, sequencer 1-4, CRTC 0-24, attribute 0-19,
 * graphics controller 0-8. */
typedef struct ModeRegs {
    uint8_t misc, seq[4], crtc[25], attr[20], gc[9];
} ModeRegs;

static void load_mode(const ModeRegs *m) {
    outb(0x3C2, m->misc);
    seq(0, 0x03);
    for (uint8_t i = 0; i < 4; i++)
        seq((uint8_t)(i + 1), m->seq[i]);
    crtc(0x11, 0x00); /* unlock CR0-7 */
    for (uint8_t i = 0; i < 25; i++)
        crtc(i, m->crtc[i]);
    for (uint8_t i = 0; i < 20; i++)
        attr(i, m->attr[i]);
    for (uint8_t i = 0; i < 9; i++)
        gc(i, m->gc[i]);
}

static void dac_set(uint8_t index, uint8_t r, uint8_t g, uint8_t b) {
    outb(0x3C8, index);
    outb(0x3C9, r);
    outb(0x3C9, g);
    outb(0x3C9, b);
}

static const ModeRegs mode_04 = {
    0x63,
    {0x09, 0x03, 0x00, 0x02},
    {0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00, 0xc1, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x14, 0x00, 0x96, 0xb9, 0xa2, 0xff},
    {0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11,
     0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00, 0x03, 0x00},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0f, 0x0f, 0xff},
};
static const ModeRegs mode_06 = {
    0x63,
    {0x01, 0x01, 0x00, 0x06},
    {0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0xc1, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x00, 0x96, 0xb9, 0xc2, 0xff},
    {0x00, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17,
     0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x01, 0x00, 0x01, 0x00},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x0f, 0xff},
};
static const ModeRegs mode_0d = {
    0x63,
    {0x09, 0x0f, 0x00, 0x06},
    {0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00, 0xc0, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x14, 0x00, 0x96, 0xb9, 0xe3, 0xff},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11,
     0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00, 0x0f, 0x00},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff},
};
static const ModeRegs mode_12 = {
    0xe3,
    {0x01, 0x0f, 0x00, 0x06},
    {0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff},
    {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39,
     0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x01, 0x00, 0x0f, 0x00},
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff},
};

START_TEST(cga_modes) {
    /* Mode 4: 2 bits per pixel, even bytes in plane 0 and odd bytes in
     * plane 1 (odd/even), even scan lines at 0xB8000, odd ones at 0xBA000;
     * CGA palette 1 (high intensity) in the attribute controller. */
    load_mode(&mode_04);
    dac_set(0x13, 0x15, 0x3f, 0x3f);
    dac_set(0x15, 0x3f, 0x15, 0x3f);
    dac_set(0x17, 0x3f, 0x3f, 0x3f);
    const uint32_t c1 = 0x55FFFF, c2 = 0xFF55FF, c3 = 0xFFFFFF;
    phys_write(pm, 0xB8000, 1, 0xE4);                /* pixels 0-3: colours 3 2 1 0 */
    phys_write(pm, 0xB8001, 1, 0x1B);                /* pixels 4-7: 0 1 2 3 */
    phys_write(pm, 0xBA000, 1, 0x80);                /* line 1, pixel 0: colour 2 */
    phys_write(pm, 0xB8000 + 80 + 1, 1, 0x40);       /* line 2, pixel 4: colour 1 */
    phys_write(pm, 0xBA000 + 80 * 99 + 79, 1, 0x03); /* line 199, pixel 319: colour 3 */
    ck_assert_uint_eq(plane_byte(0, 0), 0xE4);
    ck_assert_uint_eq(plane_byte(1, 0), 0x1B);
    unsigned w, h;
    const uint32_t *fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 320);
    ck_assert_uint_eq(h, 200);
    static const unsigned line0[8] = {3, 2, 1, 0, 0, 1, 2, 3};
    const uint32_t rgb[4] = {0, c1, c2, c3};
    for (unsigned x = 0; x < 8; x++)
        ck_assert_uint_eq(fb[x], rgb[line0[x]]);
    ck_assert_uint_eq(fb[1 * w + 0], c2);
    ck_assert_uint_eq(fb[1 * w + 1], 0);
    ck_assert_uint_eq(fb[2 * w + 4], c1);
    ck_assert_uint_eq(fb[2 * w + 0], 0);
    ck_assert_uint_eq(fb[3 * w + 0], 0);
    ck_assert_uint_eq(fb[199 * w + 319], c3);
    ck_assert_uint_eq(fb[198 * w + 319], 0);
    /* Palette 0 as INT 10h AH=0Bh BH=1 BL=0 sets it: attribute registers
     * 1-3 select green, red, brown (high intensity: 0x12, 0x14, 0x16). */
    dac_set(0x12, 0x15, 0x3f, 0x15);
    attr(1, 0x12);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[2 * w + 4], 0x55FF55);
    ck_assert_uint_eq(fb[3], 0);

    /* Mode 6: 640x200, one bit per pixel in plane 0, interleaved lines. */
    memset(vga_vram(vga), 0, 0x40000);
    load_mode(&mode_06);
    phys_write(pm, 0xB8000, 1, 0x81);
    phys_write(pm, 0xBA000 + 80 * 99 + 79, 1, 0x01);
    phys_write(pm, 0xBA000 + 80 * 10, 1, 0x40);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 640);
    ck_assert_uint_eq(h, 200);
    ck_assert_uint_eq(fb[0], c3);
    ck_assert_uint_eq(fb[1], 0);
    ck_assert_uint_eq(fb[7], c3);
    ck_assert_uint_eq(fb[199 * w + 639], c3);
    ck_assert_uint_eq(fb[21 * w + 1], c3);
    ck_assert_uint_eq(fb[20 * w + 1], 0);
    ck_assert_uint_eq(fb[10 * w + 1], 0);
}
END_TEST

START_TEST(split_screen_and_panning) {
    /* Mode 12h: start address, line compare, pel panning. */
    load_mode(&mode_12);
    dac_set(0x3F, 0x3f, 0x3f, 0x3f);
    const uint32_t white = 0xFFFFFF;
    phys_write(pm, 0xA0000 + 80 * 100, 1, 0x10);   /* (3, 100), colour 15 */
    phys_write(pm, 0xA0000 + 80 * 101, 1, 0x80);   /* (0, 101) */
    phys_write(pm, 0xA0000 + 80 * 5 + 1, 1, 0x80); /* (8, 5) */
    unsigned w, h;
    const uint32_t *fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 640);
    ck_assert_uint_eq(h, 480);
    ck_assert_uint_eq(fb[100 * w + 3], white);
    ck_assert_uint_eq(fb[5 * w + 8], white);
    /* Start address at line 100: the picture scrolls up by 100 lines. */
    crtc(0x0C, (80 * 100) >> 8);
    crtc(0x0D, (80 * 100) & 0xFF);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[0 * w + 3], white);
    ck_assert_uint_eq(fb[1 * w + 0], white);
    ck_assert_uint_eq(fb[100 * w + 3], 0);
    /* Line compare 239: from scan line 240 on, memory from address 0. */
    crtc(0x18, 239);
    crtc(0x07, 0x3e & ~0x10);
    crtc(0x09, 0x00);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[0 * w + 3], white);
    ck_assert_uint_eq(fb[(240 + 5) * w + 8], white);
    ck_assert_uint_eq(fb[(240 + 100) * w + 3], white);
    ck_assert_uint_eq(fb[(239 + 5) * w + 8], 0);
    /* Pel panning 3: both parts move 3 pixels left (the next byte comes in
     * at the right edge)... */
    attr(0x13, 3);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[0], white);
    ck_assert_uint_eq(fb[3], 0);
    ck_assert_uint_eq(fb[637], white); /* (0, 101) is pixel 640 of line 100 */
    ck_assert_uint_eq(fb[(240 + 100) * w + 0], white);
    /* ... unless the mode control's pel panning compatibility bit keeps the
     * split part still. */
    attr(0x10, 0x21);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[0], white);
    ck_assert_uint_eq(fb[(240 + 100) * w + 3], white);
    ck_assert_uint_eq(fb[(240 + 100) * w + 0], 0);
    /* Byte panning (CRTC 08h bits 6:5) adds whole bytes to the start. */
    attr(0x13, 0);
    crtc(0x0D, (80 * 100 - 1) & 0xFF);
    crtc(0x08, 0x20);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[3], white);
    crtc(0x08, 0x00);

    /* Mode 0Dh: double scan; the line compare counts scan lines before
     * doubling, so 199 splits the 320x200 picture after line 99. */
    memset(vga_vram(vga), 0, 0x40000);
    load_mode(&mode_0d);
    dac_set(0x17, 0x3f, 0x3f, 0x3f);                  /* colour 15 */
    phys_write(pm, 0xA0000 + 40 * 50, 1, 0x01);       /* (7, 50) */
    phys_write(pm, 0xA0000 + 40 * 199 + 39, 1, 0x01); /* (319, 199) */
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 320);
    ck_assert_uint_eq(h, 200);
    ck_assert_uint_eq(fb[50 * w + 7], white);
    ck_assert_uint_eq(fb[199 * w + 319], white);
    crtc(0x18, 199);
    crtc(0x07, 0x1f & ~0x10); /* line compare bit 8 */
    crtc(0x09, 0xc0 & ~0x40); /* bit 9; double scan stays */
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[50 * w + 7], white);
    ck_assert_uint_eq(fb[150 * w + 7], white);
    ck_assert_uint_eq(fb[199 * w + 319], 0);
}
END_TEST

static void pci_cfg_write(unsigned reg, unsigned size, uint32_t v) {
    iobus_write(io, 0xCF8, 4, 0x80000000u | PCI_DEVFN(2, 0) << 8 | (reg & 0xFC));
    iobus_write(io, (uint16_t)(0xCFC + (reg & 3)), size, v);
}
static uint32_t pci_cfg_read(unsigned reg) {
    iobus_write(io, 0xCF8, 4, 0x80000000u | PCI_DEVFN(2, 0) << 8 | (reg & 0xFC));
    return iobus_read(io, 0xCFC, 4);
}

START_TEST(pci_bar_and_dispi) {
    ck_assert_uint_eq(pci_cfg_read(0x00), 0x11111234);
    ck_assert_uint_eq(pci_cfg_read(0x08) >> 16, 0x0300);
    /* BAR0 sizing: 16 MiB prefetchable memory. */
    pci_cfg_write(0x10, 4, 0xFFFFFFFF);
    ck_assert_uint_eq(pci_cfg_read(0x10), 0xFF000008);
    pci_cfg_write(0x10, 4, 0xE0000000);
    /* Not mapped until memory decoding is enabled. */
    phys_write(pm, 0xE0000000, 4, 0x12345678);
    ck_assert_uint_eq(vga_vram(vga)[0], 0);
    pci_cfg_write(0x04, 2, 0x0003);
    /* DISPI: identification and capabilities. */
    dispi(VBE_DISPI_INDEX_ID, VBE_DISPI_ID5);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_ID), VBE_DISPI_ID5);
    dispi(VBE_DISPI_INDEX_ID, 0x1234);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_ID), VBE_DISPI_ID5);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_VIDEO_MEMORY_64K), VGA_VRAM_SIZE >> 16);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_XRES), VGA_MAX_WIDTH);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_BPP), 32);
    dispi(VBE_DISPI_INDEX_ENABLE, 0);
    /* 800x600x32 with the LFB. */
    dispi(VBE_DISPI_INDEX_XRES, 800);
    dispi(VBE_DISPI_INDEX_YRES, 600);
    dispi(VBE_DISPI_INDEX_BPP, 32);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_VIRT_WIDTH), 800);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_VIRT_HEIGHT), VGA_VRAM_SIZE / (800 * 4));
    phys_write(pm, 0xE0000000 + (5 * 800 + 7) * 4, 4, 0x00123456);
    unsigned w, h;
    const uint32_t *fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 800);
    ck_assert_uint_eq(h, 600);
    ck_assert_uint_eq(fb[5 * w + 7], 0x123456);
    /* Scrolling by the virtual screen offsets. */
    dispi(VBE_DISPI_INDEX_Y_OFFSET, 5);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[7], 0x123456);
    dispi(VBE_DISPI_INDEX_Y_OFFSET, 0xFFFF); /* past the end of memory: black, no overrun */
    dispi(VBE_DISPI_INDEX_X_OFFSET, 0xFFFF);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[w * h - 1], 0);
    dispi(VBE_DISPI_INDEX_Y_OFFSET, 0);
    dispi(VBE_DISPI_INDEX_X_OFFSET, 0);
    /* The 64 KiB bank at 0xA0000. */
    dispi(VBE_DISPI_INDEX_BANK, 2);
    phys_write(pm, 0xA0010, 1, 0xAB);
    ck_assert_uint_eq(vga_vram(vga)[2 * 0x10000 + 0x10], 0xAB);
    dispi(VBE_DISPI_INDEX_BANK, 0xFFFF); /* beyond video memory: refused */
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_BANK), 2);
    /* Moving BAR0 moves the LFB. */
    pci_cfg_write(0x10, 4, 0xF0000000);
    ck_assert_uint_eq(phys_read(pm, 0xF0000000 + (5 * 800 + 7) * 4, 4), 0x00123456);
    ck_assert_uint_eq(phys_read(pm, 0xE0000000 + (5 * 800 + 7) * 4, 4), 0xFFFFFFFF);
    /* 16 bpp (5:6:5) with NOCLEARMEM keeps memory. */
    dispi(VBE_DISPI_INDEX_ENABLE, 0);
    dispi(VBE_DISPI_INDEX_BPP, 16);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
    phys_write(pm, 0xF0000000 + 2, 2, 0xF800);
    fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(fb[1], 0xFF0000);
    /* Resolutions beyond the maximum and odd depths are refused. */
    dispi(VBE_DISPI_INDEX_ENABLE, 0);
    dispi(VBE_DISPI_INDEX_XRES, 4000);
    dispi(VBE_DISPI_INDEX_BPP, 12);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_XRES), 800);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_BPP), 16);
    /* A zero-sized mode cannot be enabled. */
    dispi(VBE_DISPI_INDEX_YRES, 0);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_ENABLE) & VBE_DISPI_ENABLED, 0);
}
END_TEST

START_TEST(dispi_planar_4bpp) {
    planar_setup();
    for (uint8_t i = 0; i < 16; i++)
        attr(i, i);
    attr(0x12, 0x0F);
    outb(0x3C8, 3);
    outb(0x3C9, 0);
    outb(0x3C9, 63);
    outb(0x3C9, 63);
    dispi(VBE_DISPI_INDEX_XRES, 800);
    dispi(VBE_DISPI_INDEX_YRES, 600);
    dispi(VBE_DISPI_INDEX_BPP, 4);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_ENABLE) & VBE_DISPI_ENABLED, 1);
    /* The window still goes through the planes: colour 3 = planes 0 and 1. */
    seq(2, 0x03);
    phys_write(pm, 0xA0000 + 100 * 100 + 2, 1, 0x01);
    seq(2, 0x0F);
    ck_assert_uint_eq(plane_byte(1, 100 * 100 + 2), 0x01);
    unsigned w, h;
    const uint32_t *fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 800);
    ck_assert_uint_eq(h, 600);
    ck_assert_uint_eq(fb[100 * 800 + 2 * 8 + 7], 0x00FFFF);
    ck_assert_uint_eq(fb[100 * 800 + 2 * 8 + 6], 0x000000);
}
END_TEST

int main(void) {
    Suite *s = suite_create("vga");
    TCase *tc = tcase_create("vga");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, register_files);
    tcase_add_test(tc, attribute_flip_flop_and_dac);
    tcase_add_test(tc, retrace_follows_the_clock);
    tcase_add_test(tc, write_modes);
    tcase_add_test(tc, read_mode_1_colour_compare);
    tcase_add_test(tc, debugger_peek_has_no_side_effect);
    tcase_add_test(tc, chain4_odd_even_and_memory_map);
    tcase_add_test(tc, text_rendering);
    tcase_add_test(tc, graphics_rendering);
    tcase_add_test(tc, cga_modes);
    tcase_add_test(tc, split_screen_and_panning);
    tcase_add_test(tc, pci_bar_and_dispi);
    tcase_add_test(tc, dispi_planar_4bpp);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
