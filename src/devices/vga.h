/*
 * vga.h - a VGA adapter with the Bochs VBE "DISPI" extension and a PCI
 * function (vendor 0x1234, device 0x1111, class 0x0300: QEMU's "stdvga",
 * which Debian's vgabios-stdvga.bin drives).
 *
 * VGA part: the registers at ports 0x3C0-0x3DF (attribute controller,
 * sequencer, graphics controller, CRTC at 0x3B4/0x3D4 as the misc output
 * register selects, DAC, misc output, input status with display-enable and
 * vertical-retrace bits that follow the virtual clock), and 256 KiB of
 * planar memory (4 planes of 64 KiB) behind the legacy window
 * 0xA0000-0xBFFFF, routed by the graphics controller's memory map select.
 * Host accesses go through write modes 0-3 (rotate, set/reset, logical
 * operation, bit mask, map mask), read modes 0/1 (latches, colour compare),
 * chain-4 and odd/even addressing, as on the real chip.
 *
 * DISPI part: index/data ports 0x1CE/0x1CF (and 0x1D0 as data, as QEMU
 * accepts): ID 0xB0C0-0xB0C5, XRES, YRES, BPP 4 (planar)/8/15/16/24/32, ENABLE (with
 * GETCAPS, 8BIT_DAC, LFB_ENABLED, NOCLEARMEM), BANK (64 KiB window at
 * 0xA0000 while enabled), VIRT_WIDTH/HEIGHT, X/Y_OFFSET, VIDEO_MEMORY_64K.
 * The linear frame buffer is the whole video memory (planes interleaved:
 * plane p of planar offset o is byte o * 4 + p), mapped where firmware puts
 * PCI BAR0 (prefetchable memory) while memory decoding is enabled.
 *
 * vga_render() turns whatever mode is current (text with the font in plane
 * 2, CGA 2-colour and 4-colour (shift register interleave) with the row
 * scan counter on address bits 13/14, 16-colour planar, 256-colour, DISPI
 * 8/15/16/24/32 bpp, blanked) into a 0x00RRGGBB frame buffer, scan line by
 * scan line with the start address, byte and pel panning, preset row scan
 * and line compare (split screen); it is the one interface display front
 * ends and screendump use.
 *
 * Not modelled: cursor and character blinking (the cursor is drawn
 * steadily, blinking characters always shown), the CRTC's count-by-2/4
 * and address rotation in word/doubleword mode (the host-side addressing
 * matches what is modelled), light pen, VGA BIOS ROM (the firmware gets
 * vgabios-stdvga.bin through fw_cfg; see pc.c).
 *
 * Use:
 *     Vga *v = vga_new(&clock);                 // clock may be NULL (tests)
 *     vga_register(v, iobus, physmem);          // ports, window, LFB region
 *     vga_pci_init(v, pcibus, PCI_DEVFN(2, 0)); // the PCI function and BAR0
 *     unsigned w, h; const uint32_t *fb = vga_render(v, &w, &h);
 */
#ifndef BT86_VGA_H
#define BT86_VGA_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/clock.h"
#include "devices/pci.h"
#include "mmu/mmu.h"

#define VGA_VRAM_SIZE   (16u << 20) /* bytes of video memory (DISPI and BAR0 size) */
#define VGA_WINDOW_BASE 0xA0000u    /* the legacy window: 128 KiB */
#define VGA_WINDOW_SIZE 0x20000u
#define VGA_MAX_WIDTH   2560u /* largest DISPI mode */
#define VGA_MAX_HEIGHT  1600u

#define VBE_DISPI_ID0 0xB0C0
#define VBE_DISPI_ID5 0xB0C5
enum {
    VBE_DISPI_INDEX_ID,
    VBE_DISPI_INDEX_XRES,
    VBE_DISPI_INDEX_YRES,
    VBE_DISPI_INDEX_BPP,
    VBE_DISPI_INDEX_ENABLE,
    VBE_DISPI_INDEX_BANK,
    VBE_DISPI_INDEX_VIRT_WIDTH,
    VBE_DISPI_INDEX_VIRT_HEIGHT,
    VBE_DISPI_INDEX_X_OFFSET,
    VBE_DISPI_INDEX_Y_OFFSET,
    VBE_DISPI_INDEX_VIDEO_MEMORY_64K,
    VBE_DISPI_INDEX_COUNT
};
#define VBE_DISPI_ENABLED     0x01
#define VBE_DISPI_GETCAPS     0x02
#define VBE_DISPI_8BIT_DAC    0x20
#define VBE_DISPI_LFB_ENABLED 0x40
#define VBE_DISPI_NOCLEARMEM  0x80

typedef struct Vga Vga;

Vga *vga_new(VClock *clock);
/* RESET: the registers as at power-on (text mode off, VBE disabled). */
void vga_reset(Vga *v);
void vga_free(Vga *v);
/* Claim ports 0x3C0-0x3DF and 0x1CE-0x1D0, map the legacy window, and add
 * the (initially unmapped) LFB region. Returns 0 or -1. */
int vga_register(Vga *v, IoBus *io, PhysMem *pm);
/* Add the PCI function; BAR0 moves the LFB. Returns it, or NULL. */
PciFunction *vga_pci_init(Vga *v, PciBus *bus, uint8_t devfn);
/* Render the current picture: returns a width * height array of
 * 0x00RRGGBB pixels owned by the Vga (valid until the next call). */
const uint32_t *vga_render(Vga *v, unsigned *width, unsigned *height);
/* Text mode only: the characters on screen, one line per row ('\n' after
 * each), written into buf (NUL-terminated, truncated to len). Returns the
 * number of rows, or 0 when the adapter is not in a text mode. */
unsigned vga_text_dump(Vga *v, char *buf, unsigned len);

/* The bus callbacks (exposed for unit tests). Window offsets are relative to 0xA0000. */
uint32_t vga_port_read(void *opaque, uint16_t port, unsigned size);
void vga_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);
uint32_t vga_window_read(void *opaque, uint32_t offset, unsigned size);
void vga_window_write(void *opaque, uint32_t offset, unsigned size, uint32_t val);
uint32_t vga_lfb_read(void *opaque, uint32_t offset, unsigned size);
void vga_lfb_write(void *opaque, uint32_t offset, unsigned size, uint32_t val);
/* Raw video memory (VGA_VRAM_SIZE bytes; planar byte o of plane p at o * 4 + p). */
uint8_t *vga_vram(Vga *v);

/* Snapshot section (snap/snap.h): every register (sequencer, graphics,
 * CRTC, attribute, DAC with its palette, DISPI), the latches and the video
 * memory (zlib-compressed). Where BAR0 maps the LFB follows the PCI
 * configuration space (pci_bus_load). vga_load validates, and commits only
 * with r->apply. */
struct SnapWriter;
struct SnapReader;
void vga_save(const Vga *v, struct SnapWriter *w);
bool vga_load(Vga *v, struct SnapReader *r);

#endif
