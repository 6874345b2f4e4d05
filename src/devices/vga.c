/*
 * vga.c - VGA registers, planar memory, DISPI and the renderer (see vga.h).
 *
 * Video memory is one buffer of VGA_VRAM_SIZE bytes. The VGA planes are
 * interleaved in its first 256 KiB: byte o of plane p is vram[o * 4 + p]
 * (o < 64 Ki). The DISPI modes and the LFB see the same buffer linearly.
 */
#include "devices/vga.h"

#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

#define PLANE_SIZE  0x10000u
#define FRAME_NS    16666667u /* 60 Hz */
#define VRETRACE_NS 500000u   /* vertical retrace at the start of each frame */
#define LINE_NS     31778u    /* 31.47 kHz horizontal */
#define HBLANK_NS   6000u

struct Vga {
    VClock *clock;
    PhysMem *pm;
    uint8_t *vram;
    uint8_t misc;
    uint8_t seq_index, seq[8];
    uint8_t gc_index, gc[16];
    uint8_t crtc_index, crtc[64];
    uint8_t attr_index, attr[32];
    bool attr_flip; /* false: next 0x3C0 write is an index */
    uint8_t dac[256][3];
    uint8_t dac_mask, dac_read_index, dac_write_index, dac_sub, dac_state;
    uint8_t feature;
    uint8_t latch[4];
    unsigned status_reads; /* retrace toggling without a clock */
    uint16_t dispi_index;
    uint16_t dispi[VBE_DISPI_INDEX_COUNT];
    uint32_t lfb_base; /* where BAR0 maps the LFB, 0 = unmapped */
    PciFunction *pci;
    uint32_t *fb;
    size_t fb_pixels;
};

/* The registers at power-on (misc through dispi; video memory is kept). */
static void regs_power_on(Vga *v) {
    memset(&v->misc, 0, offsetof(Vga, lfb_base) - offsetof(Vga, misc));
    v->dac_mask = 0xFF;
    v->misc = 0x01; /* colour: CRTC at 0x3D4 */
    v->seq[2] = 0x0F;
    v->seq[4] = 0x02;
    v->attr_index = 0x20;
    v->dispi_index = 0;
    v->dispi[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID0;
    v->dispi[VBE_DISPI_INDEX_XRES] = 640;
    v->dispi[VBE_DISPI_INDEX_YRES] = 480;
    v->dispi[VBE_DISPI_INDEX_BPP] = 8;
    v->dispi[VBE_DISPI_INDEX_VIRT_WIDTH] = 640;
    v->dispi[VBE_DISPI_INDEX_VIRT_HEIGHT] = 480;
    v->dispi[VBE_DISPI_INDEX_VIDEO_MEMORY_64K] = (uint16_t)(VGA_VRAM_SIZE >> 16);
}

Vga *vga_new(VClock *clock) {
    Vga *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->vram = calloc(1, VGA_VRAM_SIZE);
    if (!v->vram) {
        free(v);
        return NULL;
    }
    v->clock = clock;
    regs_power_on(v);
    return v;
}

void vga_reset(Vga *v) {
    regs_power_on(v);
}

void vga_free(Vga *v) {
    if (!v) return;
    free(v->vram);
    free(v->fb);
    free(v);
}

uint8_t *vga_vram(Vga *v) {
    return v->vram;
}

/* ---------------- DISPI ---------------- */

static bool dispi_on(const Vga *v) {
    return v->dispi[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

/* DISPI modes other than 4 bpp see video memory linearly; 4 bpp modes are
 * planar, through the VGA's own memory path. */
static bool dispi_linear(const Vga *v) {
    return dispi_on(v) && v->dispi[VBE_DISPI_INDEX_BPP] != 4;
}

static unsigned dispi_bytes_pp(const Vga *v) {
    return (v->dispi[VBE_DISPI_INDEX_BPP] + 7u) / 8u;
}

/* Bytes per scan line of the virtual screen. */
static uint32_t dispi_stride(const Vga *v) {
    return (uint32_t)v->dispi[VBE_DISPI_INDEX_VIRT_WIDTH] * dispi_bytes_pp(v);
}

static void dispi_update_virt_height(Vga *v) {
    uint32_t stride = dispi_stride(v);
    uint32_t h = stride ? VGA_VRAM_SIZE / stride : 0;
    if (h > 0xFFFF) h = 0xFFFF;
    v->dispi[VBE_DISPI_INDEX_VIRT_HEIGHT] = (uint16_t)h;
}

static bool valid_bpp(unsigned bpp) {
    return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

static uint16_t dispi_read(Vga *v) {
    unsigned i = v->dispi_index;
    bool caps = v->dispi[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS;
    if (caps && i == VBE_DISPI_INDEX_XRES) return VGA_MAX_WIDTH;
    if (caps && i == VBE_DISPI_INDEX_YRES) return VGA_MAX_HEIGHT;
    if (caps && i == VBE_DISPI_INDEX_BPP) return 32;
    if (i < VBE_DISPI_INDEX_COUNT) return v->dispi[i];
    return 0;
}

static void dispi_write(Vga *v, uint16_t val) {
    unsigned i = v->dispi_index;
    switch (i) {
    case VBE_DISPI_INDEX_ID:
        if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5) v->dispi[i] = val;
        break;
    case VBE_DISPI_INDEX_XRES:
    case VBE_DISPI_INDEX_YRES:
    case VBE_DISPI_INDEX_BPP:
        if (dispi_on(v)) break; /* mode parameters change only while disabled */
        if (i == VBE_DISPI_INDEX_XRES && val <= VGA_MAX_WIDTH) v->dispi[i] = val;
        if (i == VBE_DISPI_INDEX_YRES && val <= VGA_MAX_HEIGHT) v->dispi[i] = val;
        if (i == VBE_DISPI_INDEX_BPP) {
            if (val == 0) val = 8;
            if (valid_bpp(val)) v->dispi[i] = val;
        }
        break;
    case VBE_DISPI_INDEX_ENABLE: {
        bool was = dispi_on(v);
        v->dispi[i] = val & (VBE_DISPI_ENABLED | VBE_DISPI_GETCAPS | VBE_DISPI_8BIT_DAC |
                             VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM);
        if ((val & VBE_DISPI_ENABLED) && !was) {
            uint32_t xres = v->dispi[VBE_DISPI_INDEX_XRES], yres = v->dispi[VBE_DISPI_INDEX_YRES];
            if (xres == 0 || yres == 0 ||
                (uint64_t)xres * dispi_bytes_pp(v) * yres > VGA_VRAM_SIZE) {
                v->dispi[i] &= (uint16_t)~VBE_DISPI_ENABLED; /* does not fit: refuse */
                break;
            }
            v->dispi[VBE_DISPI_INDEX_VIRT_WIDTH] = (uint16_t)xres;
            v->dispi[VBE_DISPI_INDEX_X_OFFSET] = 0;
            v->dispi[VBE_DISPI_INDEX_Y_OFFSET] = 0;
            v->dispi[VBE_DISPI_INDEX_BANK] = 0;
            dispi_update_virt_height(v);
            if (!(val & VBE_DISPI_NOCLEARMEM)) memset(v->vram, 0, VGA_VRAM_SIZE);
            /* The legacy window becomes a 64 KiB bank at 0xA0000, graphics mode. */
            v->gc[6] = (uint8_t)((v->gc[6] & ~0x0C) | 0x05);
            v->attr[0x10] |= 0x01;
        }
        break;
    }
    case VBE_DISPI_INDEX_BANK:
        if ((uint32_t)val * 0x10000u < VGA_VRAM_SIZE) v->dispi[i] = val;
        break;
    case VBE_DISPI_INDEX_VIRT_WIDTH:
        if (val >= v->dispi[VBE_DISPI_INDEX_XRES] &&
            (uint32_t)val * dispi_bytes_pp(v) <= VGA_VRAM_SIZE) {
            v->dispi[i] = val;
            dispi_update_virt_height(v);
        }
        break;
    case VBE_DISPI_INDEX_X_OFFSET:
    case VBE_DISPI_INDEX_Y_OFFSET:
        v->dispi[i] = val; /* checked against memory when rendering */
        break;
    default: break; /* VIRT_HEIGHT, VIDEO_MEMORY_64K are read-only */
    }
}

/* ---------------- video memory through the legacy window ---------------- */

/* Map a window offset (0..0x1FFFF) through the memory map select; false if
 * the address is outside the window the graphics controller decodes. */
static bool window_offset(const Vga *v, uint32_t *a) {
    static const uint32_t base[4] = {0, 0, 0x10000, 0x18000},
                          size[4] = {0x20000, 0x10000, 0x8000, 0x8000};
    unsigned map = (v->gc[6] >> 2) & 3;
    if (*a - base[map] >= size[map]) return false;
    *a -= base[map];
    return true;
}

static uint8_t rotate_right(uint8_t x, unsigned n) {
    n &= 7;
    return n ? (uint8_t)((x >> n) | (x << (8 - n))) : x;
}

static uint8_t expand_bit(unsigned bits, unsigned plane) {
    return (bits >> plane) & 1 ? 0xFF : 0x00;
}

static uint8_t logic_op(const Vga *v, uint8_t x, uint8_t latch) {
    switch ((v->gc[3] >> 3) & 3) {
    case 1: return x & latch;
    case 2: return x | latch;
    case 3: return x ^ latch;
    default: return x;
    }
}

static void window_writeb(Vga *v, uint32_t a, uint8_t val) {
    if (!window_offset(v, &a)) return;
    if (dispi_linear(v)) {
        uint32_t i = (uint32_t)v->dispi[VBE_DISPI_INDEX_BANK] * 0x10000u + a;
        if (a < 0x10000 && i < VGA_VRAM_SIZE) v->vram[i] = val;
        return;
    }
    unsigned planes = v->seq[2] & 0x0F;
    uint32_t off;
    if (v->seq[4] & 0x08) { /* chain-4: address bits 1:0 pick the plane */
        planes &= 1u << (a & 3);
        off = a & ~3u;
    } else if (!(v->seq[4] & 0x04)) { /* odd/even: bit 0 picks planes 0/2 or 1/3 */
        planes &= (a & 1) ? 0x0A : 0x05;
        off = a & ~1u;
    } else {
        off = a;
    }
    off &= PLANE_SIZE - 1;
    uint8_t out[4], mask = v->gc[8];
    unsigned mode = v->gc[5] & 3;
    for (unsigned p = 0; p < 4; p++) {
        uint8_t x;
        switch (mode) {
        case 0:
            x = rotate_right(val, v->gc[3]);
            if (v->gc[1] & (1u << p)) x = expand_bit(v->gc[0], p);
            x = logic_op(v, x, v->latch[p]);
            out[p] = (uint8_t)((x & mask) | (v->latch[p] & ~mask));
            break;
        case 1: out[p] = v->latch[p]; break;
        case 2:
            x = logic_op(v, expand_bit(val, p), v->latch[p]);
            out[p] = (uint8_t)((x & mask) | (v->latch[p] & ~mask));
            break;
        default: { /* 3: the rotated value ANDs the bit mask; colour from set/reset */
            uint8_t m = (uint8_t)(rotate_right(val, v->gc[3]) & mask);
            x = logic_op(v, expand_bit(v->gc[0], p), v->latch[p]);
            out[p] = (uint8_t)((x & m) | (v->latch[p] & ~m));
            break;
        }
        }
    }
    for (unsigned p = 0; p < 4; p++)
        if (planes & (1u << p)) v->vram[off * 4 + p] = out[p];
}

/* A CPU read of the window: the latches load (latch true), or a debugger's
 * peek that leaves them (the result is the same: read mode 1 compares the
 * bytes just read, not older latches). */
static uint8_t window_read_byte(Vga *v, uint32_t a, bool latch) {
    if (!window_offset(v, &a)) return 0xFF;
    if (dispi_linear(v)) {
        uint32_t i = (uint32_t)v->dispi[VBE_DISPI_INDEX_BANK] * 0x10000u + a;
        return a < 0x10000 && i < VGA_VRAM_SIZE ? v->vram[i] : 0xFF;
    }
    uint32_t off;
    unsigned plane;
    if (v->seq[4] & 0x08) {
        off = a & ~3u;
        plane = a & 3;
    } else if (v->gc[5] & 0x10) { /* host odd/even read */
        off = a & ~1u;
        plane = (v->gc[4] & 2) | (a & 1);
    } else {
        off = a;
        plane = v->gc[4] & 3;
    }
    off &= PLANE_SIZE - 1;
    const uint8_t *bytes = &v->vram[off * 4];
    if (latch)
        for (unsigned p = 0; p < 4; p++)
            v->latch[p] = bytes[p];
    if (!(v->gc[5] & 0x08) || (v->seq[4] & 0x08)) return bytes[plane];
    /* Read mode 1: colour compare over the planes not marked don't-care. */
    uint8_t result = 0xFF;
    for (unsigned p = 0; p < 4; p++) {
        if (!(v->gc[7] & (1u << p))) continue;
        result &= (uint8_t) ~(bytes[p] ^ expand_bit(v->gc[2], p));
    }
    return result;
}

static uint8_t window_readb(Vga *v, uint32_t a) {
    return window_read_byte(v, a, true);
}

static uint8_t window_peek(void *opaque, uint32_t offset) {
    return window_read_byte(opaque, offset, false);
}

static uint8_t lfb_peek(void *opaque, uint32_t offset) {
    const Vga *v = opaque;
    return offset < VGA_VRAM_SIZE ? v->vram[offset] : 0xFF;
}

uint32_t vga_window_read(void *opaque, uint32_t offset, unsigned size) {
    uint32_t r = 0;
    for (unsigned i = 0; i < size; i++)
        r |= (uint32_t)window_readb(opaque, offset + i) << (8 * i);
    return r;
}

void vga_window_write(void *opaque, uint32_t offset, unsigned size, uint32_t val) {
    for (unsigned i = 0; i < size; i++)
        window_writeb(opaque, offset + i, (uint8_t)(val >> (8 * i)));
}

uint32_t vga_lfb_read(void *opaque, uint32_t offset, unsigned size) {
    Vga *v = opaque;
    uint32_t r = 0;
    for (unsigned i = 0; i < size; i++)
        if (offset + i < VGA_VRAM_SIZE) r |= (uint32_t)v->vram[offset + i] << (8 * i);
    return r;
}

void vga_lfb_write(void *opaque, uint32_t offset, unsigned size, uint32_t val) {
    Vga *v = opaque;
    for (unsigned i = 0; i < size; i++)
        if (offset + i < VGA_VRAM_SIZE) v->vram[offset + i] = (uint8_t)(val >> (8 * i));
}

/* ---------------- ports ---------------- */

static bool crtc_port_active(const Vga *v, uint16_t port) {
    bool colour = v->misc & 1;
    return colour ? (port & 0xFFF0) == 0x3D0 : (port & 0xFFF0) == 0x3B0;
}

static uint8_t input_status_1(Vga *v) {
    bool vretrace, display_off;
    if (v->clock) {
        uint64_t now = vclock_now(v->clock);
        vretrace = now % FRAME_NS < VRETRACE_NS;
        display_off = vretrace || now % LINE_NS < HBLANK_NS;
    } else { /* no clock (unit tests): toggle on every read */
        v->status_reads++;
        vretrace = v->status_reads & 1;
        display_off = vretrace;
    }
    v->attr_flip = false;
    return (uint8_t)((vretrace ? 0x08 : 0) | (display_off ? 0x01 : 0));
}

static uint8_t port_readb(Vga *v, uint16_t port) {
    switch (port) {
    case 0x1CE: return (uint8_t)v->dispi_index;
    case 0x1CF:
    case 0x1D0: return (uint8_t)dispi_read(v);
    case 0x3C0: return v->attr_index;
    case 0x3C1: return v->attr[v->attr_index & 0x1F];
    case 0x3C2: return 0x10; /* input status 0: switch sense */
    case 0x3C3: return 0x01;
    case 0x3C4: return v->seq_index;
    case 0x3C5: return v->seq[v->seq_index & 7];
    case 0x3C6: return v->dac_mask;
    case 0x3C7: return v->dac_state;
    case 0x3C8: return v->dac_write_index;
    case 0x3C9: {
        uint8_t r = v->dac[v->dac_read_index][v->dac_sub];
        if (++v->dac_sub == 3) {
            v->dac_sub = 0;
            v->dac_read_index++;
        }
        return r;
    }
    case 0x3CA: return v->feature;
    case 0x3CC: return v->misc;
    case 0x3CE: return v->gc_index;
    case 0x3CF: return v->gc[v->gc_index & 15];
    default: break;
    }
    if (!crtc_port_active(v, port)) return 0xFF;
    switch (port & 0x0F) {
    case 0x4: return v->crtc_index;
    case 0x5: return v->crtc[v->crtc_index & 63];
    case 0xA: return input_status_1(v);
    default: return 0xFF;
    }
}

static void crtc_write(Vga *v, uint8_t val) {
    unsigned i = v->crtc_index & 63;
    if ((v->crtc[0x11] & 0x80) && i <= 7) { /* write protect */
        if (i == 7) v->crtc[7] = (uint8_t)((v->crtc[7] & ~0x10) | (val & 0x10));
        return;
    }
    v->crtc[i] = val;
}

static void port_writeb(Vga *v, uint16_t port, uint8_t val) {
    switch (port) {
    case 0x3C0:
        if (!v->attr_flip) {
            v->attr_index = val & 0x3F;
        } else if ((v->attr_index & 0x1F) < 0x15) {
            v->attr[v->attr_index & 0x1F] = val;
        }
        v->attr_flip = !v->attr_flip;
        return;
    case 0x3C2: v->misc = val; return;
    case 0x3C4: v->seq_index = val & 7; return;
    case 0x3C5: v->seq[v->seq_index & 7] = val; return;
    case 0x3C6: v->dac_mask = val; return;
    case 0x3C7:
        v->dac_read_index = val;
        v->dac_sub = 0;
        v->dac_state = 0x03;
        return;
    case 0x3C8:
        v->dac_write_index = val;
        v->dac_sub = 0;
        v->dac_state = 0x00;
        return;
    case 0x3C9:
        v->dac[v->dac_write_index][v->dac_sub] =
            (v->dispi[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC) ? val : (val & 0x3F);
        if (++v->dac_sub == 3) {
            v->dac_sub = 0;
            v->dac_write_index++;
        }
        return;
    case 0x3CE: v->gc_index = val & 15; return;
    case 0x3CF: v->gc[v->gc_index & 15] = val; return;
    default: break;
    }
    if (!crtc_port_active(v, port)) return;
    switch (port & 0x0F) {
    case 0x4: v->crtc_index = val & 63; return;
    case 0x5: crtc_write(v, val); return;
    case 0xA: v->feature = val; return;
    default: return;
    }
}

uint32_t vga_port_read(void *opaque, uint16_t port, unsigned size) {
    Vga *v = opaque;
    if (port >= 0x1CE && port <= 0x1D0) {
        if (port == 0x1CE) return v->dispi_index;
        return dispi_read(v);
    }
    uint32_t r = 0;
    for (unsigned i = 0; i < size; i++)
        r |= (uint32_t)port_readb(v, (uint16_t)(port + i)) << (8 * i);
    return r;
}

void vga_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    Vga *v = opaque;
    if (port >= 0x1CE && port <= 0x1D0) {
        if (port == 0x1CE)
            v->dispi_index = (uint16_t)val;
        else
            dispi_write(v, (uint16_t)val);
        return;
    }
    /* A word OUT writes the index and then the data register. */
    for (unsigned i = 0; i < size; i++)
        port_writeb(v, (uint16_t)(port + i), (uint8_t)(val >> (8 * i)));
}

/* ---------------- PCI ---------------- */

static void vga_pci_update(Vga *v) {
    const uint8_t *c = v->pci->cfg;
    uint32_t bar = ((uint32_t)c[0x10] | (uint32_t)c[0x11] << 8 | (uint32_t)c[0x12] << 16 |
                    (uint32_t)c[0x13] << 24) &
                   ~0xFu;
    bool mem = c[0x04] & 0x02;
    uint32_t base = mem && bar ? bar : 0;
    if (v->pm && base != v->lfb_base)
        physmem_move_mmio(v->pm, vga_lfb_read, v, base, base ? VGA_VRAM_SIZE : 0);
    v->lfb_base = base;
}

static void vga_pci_written(PciFunction *f, unsigned offset, unsigned size) {
    if ((offset < 0x06 && offset + size > 0x04) || (offset < 0x14 && offset + size > 0x10))
        vga_pci_update(f->opaque);
}

PciFunction *vga_pci_init(Vga *v, PciBus *bus, uint8_t devfn) {
    PciFunction *f = pci_add_function(bus, devfn, 0x1234, 0x1111, 0x0300);
    if (!f) return NULL;
    f->cfg[0x08] = 0x02; /* revision */
    f->cfg[0x2C] = 0xF4;
    f->cfg[0x2D] = 0x1A; /* subsystem vendor 1af4 */
    f->cfg[0x2E] = 0x00;
    f->cfg[0x2F] = 0x11;                                     /* subsystem 1100 */
    f->cfg[0x10] = 0x08;                                     /* BAR0: 32-bit prefetchable memory */
    f->wmask[0x13] = (uint8_t) ~((VGA_VRAM_SIZE >> 24) - 1); /* 16 MiB aligned */
    f->opaque = v;
    f->write_hook = vga_pci_written;
    v->pci = f;
    return f;
}

int vga_register(Vga *v, IoBus *io, PhysMem *pm) {
    if (iobus_register(io, 0x3C0, 32, vga_port_read, vga_port_write, v) < 0 ||
        iobus_register(io, 0x3B4, 2, vga_port_read, vga_port_write, v) < 0 ||
        iobus_register(io, 0x3BA, 1, vga_port_read, vga_port_write, v) < 0 ||
        iobus_register(io, 0x1CE, 3, vga_port_read, vga_port_write, v) < 0)
        return -1;
    if (physmem_add_mmio(pm, VGA_WINDOW_BASE, VGA_WINDOW_SIZE, vga_window_read, vga_window_write,
                         v) < 0 ||
        physmem_set_mmio_peek(pm, vga_window_read, v, window_peek) < 0)
        return -1;
    /* The LFB region exists from the start, unmapped until BAR0 is programmed. */
    if (physmem_add_mmio(pm, 0xFFFFF000u, 0x1000, vga_lfb_read, vga_lfb_write, v) < 0 ||
        physmem_move_mmio(pm, vga_lfb_read, v, 0, 0) < 0 ||
        physmem_set_mmio_peek(pm, vga_lfb_read, v, lfb_peek) < 0)
        return -1;
    v->pm = pm;
    return 0;
}

/* ---------------- rendering ---------------- */

static uint32_t dac_rgb(const Vga *v, uint8_t index) {
    const uint8_t *e = v->dac[index & v->dac_mask];
    if (v->dispi[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC)
        return (uint32_t)e[0] << 16 | (uint32_t)e[1] << 8 | e[2];
    uint32_t r = e[0] & 0x3F, g = e[1] & 0x3F, b = e[2] & 0x3F;
    r = r << 2 | r >> 4;
    g = g << 2 | g >> 4;
    b = b << 2 | b >> 4;
    return r << 16 | g << 8 | b;
}

/* A 4-bit colour through the attribute controller's palette to the DAC. */
static uint32_t attr_rgb(const Vga *v, unsigned colour) {
    colour &= v->attr[0x12] & 0x0F;
    uint8_t pal = v->attr[colour] & 0x3F;
    if (v->attr[0x10] & 0x80) pal = (uint8_t)((pal & 0x0F) | (v->attr[0x14] & 0x03) << 4);
    pal = (uint8_t)((pal & 0x3F) | (v->attr[0x14] & 0x0C) << 4);
    return dac_rgb(v, pal);
}

static bool fb_size(Vga *v, unsigned w, unsigned h) {
    size_t n = (size_t)w * h;
    if (n > v->fb_pixels) {
        uint32_t *p = realloc(v->fb, n * sizeof *p);
        if (!p) return false;
        v->fb = p;
        v->fb_pixels = n;
    }
    return true;
}

static unsigned vertical_display_end(const Vga *v) {
    return (v->crtc[0x12] | (v->crtc[0x07] & 0x02) << 7 | (v->crtc[0x07] & 0x40) << 3) + 1u;
}

static uint32_t start_address(const Vga *v) {
    return (uint32_t)v->crtc[0x0C] << 8 | v->crtc[0x0D];
}

/* Memory address counter -> planar offset (doubleword, word or byte mode). */
static uint32_t crtc_address(const Vga *v, uint32_t ma) {
    if (v->crtc[0x14] & 0x40) return (ma << 2) & (PLANE_SIZE - 1);
    if (!(v->crtc[0x17] & 0x40)) return (ma << 1) & (PLANE_SIZE - 1);
    return ma & (PLANE_SIZE - 1);
}

typedef struct TextGeometry {
    unsigned cols, rows, cell_w, cell_h;
} TextGeometry;

static TextGeometry text_geometry(const Vga *v) {
    TextGeometry g;
    g.cols = v->crtc[0x01] + 1u;
    g.cell_h = (v->crtc[0x09] & 0x1F) + 1u;
    g.cell_w = (v->seq[1] & 0x01) ? 8 : 9;
    unsigned lines = vertical_display_end(v);
    if (v->crtc[0x09] & 0x80) lines /= 2;
    g.rows = lines / g.cell_h;
    if (g.rows == 0) g.rows = 1;
    if (g.cols > 160) g.cols = 160;
    if (g.rows > 150) g.rows = 150;
    return g;
}

static bool graphics_mode(const Vga *v) {
    return v->gc[6] & 0x01;
}

/* The line compare register (10 bits): the scan line after which the
 * picture restarts from address 0 (split screen). */
static unsigned line_compare(const Vga *v) {
    return v->crtc[0x18] | (v->crtc[0x07] & 0x10u) << 4 | (v->crtc[0x09] & 0x40u) << 3;
}

/* Start address plus the CRTC's byte panning (CR08 bits 6:5). */
static uint32_t panned_start(const Vga *v) {
    return start_address(v) + ((v->crtc[0x08] >> 5) & 3u);
}

#define MAX_CHARS 256 /* horizontal display end + 1 is at most 256 */

/* Text: per scan line, the character and attribute at each memory address
 * and the glyph's line from plane 2. The start address, byte panning,
 * preset row scan, line compare and pel panning (9-dot cells: 8 means
 * none, 0-7 move 1-8 pixels) apply as in the graphics modes. */
static void render_text(Vga *v, unsigned *w, unsigned *h) {
    TextGeometry g = text_geometry(v);
    *w = g.cols * g.cell_w;
    *h = g.rows * g.cell_h;
    if (!fb_size(v, *w, *h)) {
        *w = *h = 0;
        return;
    }
    const uint8_t *vram = v->vram;
    uint32_t stride = (uint32_t)v->crtc[0x13] * 2;
    uint32_t start = panned_start(v);
    uint32_t cursor = (uint32_t)v->crtc[0x0E] << 8 | v->crtc[0x0F];
    bool cursor_on = !(v->crtc[0x0A] & 0x20);
    unsigned cur_start = v->crtc[0x0A] & 0x1F, cur_end = v->crtc[0x0B] & 0x1F;
    unsigned sel_b = (v->seq[3] & 0x03) | (v->seq[3] & 0x10) >> 2;
    unsigned sel_a = (v->seq[3] & 0x0C) >> 2 | (v->seq[3] & 0x20) >> 3;
    uint32_t map_a = (sel_a & 3) << 14 | (sel_a & 4) << 11;
    uint32_t map_b = (sel_b & 3) << 14 | (sel_b & 4) << 11;
    bool blink_mode = v->attr[0x10] & 0x08, line_graphics = v->attr[0x10] & 0x04;
    unsigned dbl = (v->crtc[0x09] & 0x80) ? 2 : 1, preset = v->crtc[0x08] & 0x1F;
    unsigned lc = line_compare(v), pan = v->attr[0x13] & 0x0F;
    if (g.cell_w == 9)
        pan = pan >= 8 ? 0 : pan + 1;
    else
        pan &= 7;
    bool split_no_pan = v->attr[0x10] & 0x20;
    uint32_t pal[16];
    for (unsigned i = 0; i < 16; i++)
        pal[i] = attr_rgb(v, i);
    uint32_t line[(MAX_CHARS + 1) * 9];
    for (unsigned y = 0; y < *h; y++) {
        unsigned l0 = y * dbl, eff, p;
        uint32_t base;
        if (l0 <= lc) {
            eff = y + preset;
            base = start;
            p = pan;
        } else {
            eff = (l0 - lc - 1) / dbl;
            base = 0;
            p = split_no_pan ? 0 : pan;
        }
        unsigned sl = eff % g.cell_h, n = g.cols + (p ? 1 : 0);
        uint32_t ma0 = base + (eff / g.cell_h) * stride;
        bool cursor_line = cursor_on && sl >= cur_start && sl <= cur_end;
        for (unsigned col = 0; col < n; col++) {
            uint32_t ma = ma0 + col, off = crtc_address(v, ma);
            uint8_t ch = vram[off * 4 + 0], at = vram[off * 4 + 1];
            unsigned bgc = at >> 4;
            if (blink_mode) bgc &= 7;
            uint32_t fg = pal[at & 0x0F], bg = pal[bgc];
            uint32_t glyph = ((at & 0x08) ? map_a : map_b) + (uint32_t)ch * 32;
            bool is_cursor = cursor_line && (ma & 0xFFFF) == cursor;
            uint8_t bits = vram[((glyph + sl) & (PLANE_SIZE - 1)) * 4 + 2];
            if (is_cursor) bits = 0xFF;
            uint32_t *px = line + col * g.cell_w;
            for (unsigned x = 0; x < 8; x++)
                px[x] = (bits & (0x80 >> x)) ? fg : bg;
            if (g.cell_w == 9)
                px[8] = (line_graphics && ch >= 0xC0 && ch <= 0xDF && (bits & 1)) || is_cursor ? fg
                                                                                               : bg;
        }
        memcpy(v->fb + (size_t)y * *w, line + p, *w * sizeof *line);
    }
}

/* The planar offset the CRTC fetches for memory address ma on row scan line
 * rs: CRTC mode control bit 0 clear puts row scan bit 0 on address bit 13
 * (CGA interleave: odd lines 8 KiB up), bit 1 clear row scan bit 1 on
 * address bit 14 (Hercules). */
static uint32_t scan_address(const Vga *v, uint32_t ma, unsigned rs) {
    uint32_t a = crtc_address(v, ma);
    if (!(v->crtc[0x17] & 0x01)) a = (a & ~0x2000u) | (rs & 1u) << 13;
    if (!(v->crtc[0x17] & 0x02)) a = (a & ~0x4000u) | (rs & 2u) << 13;
    return a;
}

/* The graphics modes: per scan line, the CRTC fetches one planar offset per
 * character clock, the graphics controller's shift registers turn the four
 * plane bytes into pixels (8 one-bit-per-plane pixels; with the shift
 * register interleave bit, CGA's 8 two-bit pixels from planes 0 and 1, then
 * 2 and 3; in 256-colour mode 4 byte pixels), the attribute controller pans
 * them and maps them through its palette to the DAC. The output is the
 * picture's own resolution: scan doubling and character rows whose scan
 * lines repeat the same memory are shown once (mode 13h: 320x200), but
 * rows whose scan lines differ (CGA modes 4-6: the row scan counter drives
 * address bit 13) give one picture line per scan line. */
static void render_planar(Vga *v, unsigned *w, unsigned *h) {
    bool c256 = v->gc[5] & 0x40, cga = !c256 && (v->gc[5] & 0x20);
    unsigned chars = v->crtc[0x01] + 1u, ppc = c256 ? 4 : 8;
    unsigned width = chars * ppc;
    unsigned scans = (v->crtc[0x09] & 0x1F) + 1u, dbl = (v->crtc[0x09] & 0x80) ? 2 : 1;
    bool rs_addr = (!(v->crtc[0x17] & 0x01) && scans > 1) || (!(v->crtc[0x17] & 0x02) && scans > 2);
    unsigned vstep = dbl * (rs_addr ? 1 : scans);
    unsigned height = vertical_display_end(v) / vstep;
    if (height == 0) height = 1;
    *w = width;
    *h = height;
    if (!fb_size(v, width, height)) {
        *w = *h = 0;
        return;
    }
    uint32_t stride = (uint32_t)v->crtc[0x13] * 2;
    /* Start address plus byte panning; the preset row scan starts the first row. */
    uint32_t start = panned_start(v);
    unsigned preset = v->crtc[0x08] & 0x1F, lc = line_compare(v);
    /* Pel panning: 0-7 pixels (256 colours: the value counts half pixels). */
    unsigned pan = v->attr[0x13] & 7;
    if (c256) pan >>= 1;
    bool split_no_pan = v->attr[0x10] & 0x20;
    uint32_t pal[256];
    if (c256) {
        for (unsigned i = 0; i < 256; i++)
            pal[i] = dac_rgb(v, (uint8_t)i);
    } else {
        for (unsigned i = 0; i < 16; i++)
            pal[i] = attr_rgb(v, i);
    }
    uint32_t line[(MAX_CHARS + 1) * 8];
    for (unsigned y = 0; y < height; y++) {
        unsigned l0 = y * vstep, eff, p;
        uint32_t base;
        if (l0 <= lc) {
            eff = l0 / dbl + preset;
            base = start;
            p = pan;
        } else { /* below the line compare: from address 0 */
            eff = (l0 - lc - 1) / dbl;
            base = 0;
            p = split_no_pan ? 0 : pan;
        }
        unsigned rs = eff % scans;
        uint32_t ma = base + (eff / scans) * stride;
        unsigned n = chars + (p ? 1 : 0);
        for (unsigned c = 0; c < n; c++) {
            const uint8_t *b = v->vram + scan_address(v, ma + c, rs) * 4;
            uint32_t *px = line + c * ppc;
            if (c256) {
                for (unsigned i = 0; i < 4; i++)
                    px[i] = pal[b[i]];
            } else if (cga) {
                for (unsigned i = 0; i < 8; i++) {
                    unsigned sh = 6 - 2 * (i & 3), lo = i >> 2; /* planes 0/2, then 1/3 */
                    unsigned col = (b[lo] >> sh & 3u) | (b[lo + 2] >> sh & 3u) << 2;
                    px[i] = pal[col];
                }
            } else {
                for (unsigned i = 0; i < 8; i++) {
                    unsigned bit = 7 - i, col = 0;
                    for (unsigned pl = 0; pl < 4; pl++)
                        col |= ((b[pl] >> bit) & 1u) << pl;
                    px[i] = pal[col];
                }
            }
        }
        memcpy(v->fb + (size_t)y * width, line + p, width * sizeof *line);
    }
}

static void render_dispi(Vga *v, unsigned *w, unsigned *h) {
    unsigned width = v->dispi[VBE_DISPI_INDEX_XRES], height = v->dispi[VBE_DISPI_INDEX_YRES];
    unsigned bpp = v->dispi[VBE_DISPI_INDEX_BPP], bytes = dispi_bytes_pp(v);
    *w = width;
    *h = height;
    if (!fb_size(v, width, height)) {
        *w = *h = 0;
        return;
    }
    if (bpp == 4) { /* planar: one bit per pixel in each plane, through the palette */
        uint32_t pal16[16];
        for (unsigned i = 0; i < 16; i++)
            pal16[i] = attr_rgb(v, i);
        uint32_t line_bytes = v->dispi[VBE_DISPI_INDEX_VIRT_WIDTH] / 8u;
        for (unsigned y = 0; y < height; y++) {
            uint32_t row = (uint32_t)(y + v->dispi[VBE_DISPI_INDEX_Y_OFFSET]) * line_bytes;
            for (unsigned x = 0; x < width; x++) {
                uint32_t px = x + v->dispi[VBE_DISPI_INDEX_X_OFFSET];
                uint32_t off = (row + px / 8) & (PLANE_SIZE - 1);
                unsigned bit = 7 - (px & 7), col = 0;
                for (unsigned p = 0; p < 4; p++)
                    col |= ((v->vram[off * 4 + p] >> bit) & 1u) << p;
                v->fb[(size_t)y * width + x] = pal16[col];
            }
        }
        return;
    }
    uint64_t stride = dispi_stride(v);
    uint64_t start = (uint64_t)v->dispi[VBE_DISPI_INDEX_Y_OFFSET] * stride +
                     (uint64_t)v->dispi[VBE_DISPI_INDEX_X_OFFSET] * bytes;
    for (unsigned y = 0; y < height; y++) {
        uint32_t *px = v->fb + (size_t)y * width;
        uint64_t line = start + y * stride;
        for (unsigned x = 0; x < width; x++) {
            uint64_t a = line + (uint64_t)x * bytes;
            if (a + bytes > VGA_VRAM_SIZE) {
                px[x] = 0;
                continue;
            }
            const uint8_t *p = v->vram + a;
            uint32_t c;
            switch (bpp) {
            case 8: c = dac_rgb(v, p[0]); break;
            case 15: {
                unsigned s = p[0] | p[1] << 8, r = (s >> 10) & 31, g = (s >> 5) & 31, b = s & 31;
                c = (r << 3 | r >> 2) << 16 | (g << 3 | g >> 2) << 8 | (b << 3 | b >> 2);
                break;
            }
            case 16: {
                unsigned s = p[0] | p[1] << 8, r = (s >> 11) & 31, g = (s >> 5) & 63, b = s & 31;
                c = (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
                break;
            }
            default:
                c = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
                break; /* 24, 32: BGR(X) */
            }
            px[x] = c;
        }
    }
}

const uint32_t *vga_render(Vga *v, unsigned *width, unsigned *height) {
    unsigned w = 0, h = 0;
    if (dispi_on(v)) {
        render_dispi(v, &w, &h);
    } else if (graphics_mode(v)) {
        render_planar(v, &w, &h);
    } else {
        render_text(v, &w, &h);
    }
    if (w == 0 || h == 0) { /* out of memory: a small black picture */
        w = 1;
        h = 1;
        if (!fb_size(v, 1, 1)) {
            static uint32_t black;
            *width = *height = 1;
            return &black;
        }
        v->fb[0] = 0;
    }
    /* Screen off (sequencer) or palette being loaded (PAS clear): blank. */
    if (!dispi_on(v) && ((v->seq[1] & 0x20) || !(v->attr_index & 0x20)))
        memset(v->fb, 0, (size_t)w * h * sizeof *v->fb);
    *width = w;
    *height = h;
    return v->fb;
}

unsigned vga_text_dump(Vga *v, char *buf, unsigned len) {
    if (len) buf[0] = 0;
    if (dispi_on(v) || graphics_mode(v) || len == 0) return 0;
    TextGeometry g = text_geometry(v);
    uint32_t stride = (uint32_t)v->crtc[0x13] * 2, start = start_address(v);
    unsigned n = 0;
    for (unsigned row = 0; row < g.rows; row++) {
        for (unsigned col = 0; col <= g.cols; col++) {
            char c = '\n';
            if (col < g.cols) {
                uint8_t ch = v->vram[crtc_address(v, start + row * stride + col) * 4];
                c = ch >= 0x20 && ch < 0x7F ? (char)ch : ' ';
            }
            if (n + 1 < len) buf[n++] = c;
        }
    }
    buf[n] = 0;
    return g.rows;
}

/* ---------------- snapshots ---------------- */

/* The registers, in one fixed order (misc .. status_reads, dispi). */
static void regs_save(const Vga *v, SnapWriter *w) {
    snap_put_u8(w, v->misc);
    snap_put_u8(w, v->seq_index);
    snap_put_bytes(w, v->seq, sizeof v->seq);
    snap_put_u8(w, v->gc_index);
    snap_put_bytes(w, v->gc, sizeof v->gc);
    snap_put_u8(w, v->crtc_index);
    snap_put_bytes(w, v->crtc, sizeof v->crtc);
    snap_put_u8(w, v->attr_index);
    snap_put_bytes(w, v->attr, sizeof v->attr);
    snap_put_bool(w, v->attr_flip);
    snap_put_bytes(w, v->dac, sizeof v->dac);
    const uint8_t dac[] = {v->dac_mask, v->dac_read_index, v->dac_write_index, v->dac_sub,
                           v->dac_state};
    snap_put_bytes(w, dac, sizeof dac);
    snap_put_u8(w, v->feature);
    snap_put_bytes(w, v->latch, sizeof v->latch);
    snap_put_u32(w, v->status_reads);
    snap_put_u16(w, v->dispi_index);
    for (unsigned i = 0; i < VBE_DISPI_INDEX_COUNT; i++)
        snap_put_u16(w, v->dispi[i]);
}

static void regs_parse(SnapReader *r, Vga *t) {
    t->misc = snap_get_u8(r);
    t->seq_index = snap_get_u8(r);
    snap_get_bytes(r, t->seq, sizeof t->seq);
    t->gc_index = snap_get_u8(r);
    snap_get_bytes(r, t->gc, sizeof t->gc);
    t->crtc_index = snap_get_u8(r);
    snap_get_bytes(r, t->crtc, sizeof t->crtc);
    t->attr_index = snap_get_u8(r);
    snap_get_bytes(r, t->attr, sizeof t->attr);
    t->attr_flip = snap_get_bool(r);
    snap_get_bytes(r, t->dac, sizeof t->dac);
    t->dac_mask = snap_get_u8(r);
    t->dac_read_index = snap_get_u8(r);
    t->dac_write_index = snap_get_u8(r);
    t->dac_sub = snap_get_u8(r);
    t->dac_state = snap_get_u8(r);
    t->feature = snap_get_u8(r);
    snap_get_bytes(r, t->latch, sizeof t->latch);
    t->status_reads = snap_get_u32(r);
    t->dispi_index = snap_get_u16(r);
    for (unsigned i = 0; i < VBE_DISPI_INDEX_COUNT; i++)
        t->dispi[i] = snap_get_u16(r);
}

/* What the DISPI writes guarantee (the renderer relies on it). */
static void dispi_check(SnapReader *r, const Vga *t) {
    const uint16_t *d = t->dispi;
    snap_check(r, t->dac_sub < 3, "DAC component out of range");
    snap_check(r,
               d[VBE_DISPI_INDEX_XRES] <= VGA_MAX_WIDTH &&
                   d[VBE_DISPI_INDEX_YRES] <= VGA_MAX_HEIGHT && valid_bpp(d[VBE_DISPI_INDEX_BPP]),
               "DISPI mode out of range");
    snap_check(r, (uint32_t)d[VBE_DISPI_INDEX_BANK] * 0x10000u < VGA_VRAM_SIZE,
               "DISPI bank out of range");
    snap_check(r, (uint32_t)d[VBE_DISPI_INDEX_VIRT_WIDTH] * dispi_bytes_pp(t) <= VGA_VRAM_SIZE,
               "DISPI virtual width out of range");
    if (dispi_on(t)) {
        uint64_t x = d[VBE_DISPI_INDEX_XRES], y = d[VBE_DISPI_INDEX_YRES];
        snap_check(r,
                   x && y && x * dispi_bytes_pp(t) * y <= VGA_VRAM_SIZE &&
                       d[VBE_DISPI_INDEX_VIRT_WIDTH] >= x,
                   "DISPI mode does not fit video memory");
    }
}

void vga_save(const Vga *v, SnapWriter *w) {
    regs_save(v, w);
    snap_put_zblob(w, v->vram, VGA_VRAM_SIZE);
}

bool vga_load(Vga *v, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    Vga t = *v; /* keeps the wiring, video memory and the LFB mapping */
    regs_parse(r, &t);
    if (snap_ok(r)) dispi_check(r, &t);
    /* Checking inflates into a scratch buffer; applying, into video memory. */
    if (snap_ok(r)) snap_get_zblob(r, r->apply ? v->vram : NULL, VGA_VRAM_SIZE);
    if (!snap_finish(r)) return false;
    if (r->apply) *v = t;
    return true;
}
