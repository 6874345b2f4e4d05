/*
 * piix3.c - PIIX3 ISA bridge configuration space (see piix3.h).
 */
#include "devices/piix3.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

PciFunction *piix3_init(PciBus *bus) {
    PciFunction *f = pci_add_function(bus, PCI_DEVFN(1, 0), 0x8086, 0x7000, 0x0601);
    if (!f) return NULL;
    f->cfg[0x0E] = 0x80; /* multi-function: IDE etc. are functions of device 1 */
    f->cfg[0x04] = 0x07; /* command: I/O, memory, bus master (ISA bridges are always on) */
    for (unsigned r = 0x60; r <= 0x63; r++) {
        f->cfg[r] = 0x80; /* PIRQ routing disabled */
        f->wmask[r] = 0x8F;
    }
    f->wmask[0x4C] = 0xFF; /* ISA I/O recovery timer */
    f->wmask[0x4E] = 0xFF; /* X-bus chip select */
    f->wmask[0x69] = 0xFE; /* top of memory */
    f->wmask[0x6A] = 0xFF; f->wmask[0x6B] = 0xFF;
    f->wmask[0x80] = 0xFF; /* APIC base relocation (no APIC) */
    f->wmask[0xA0] = 0xFF; /* SMI/power management registers, accepted */
    return f;
}

#define BM_BAR      0x20
#define BM_BAR_SIZE 16

struct PiixIde {
    PciFunction *fn;
    IoBus *io;
    IdeChannel *ch[2];
    bool mapped;
    uint16_t mapped_base;
};

static uint32_t bm_port_read(void *opaque, uint16_t port, unsigned size) {
    PiixIde *p = opaque;
    unsigned off = (uint16_t)(port - p->mapped_base);
    if (off + size > BM_BAR_SIZE) size = BM_BAR_SIZE - off; /* a dword at the block's end */
    return ide_bm_read(p->ch[off >> 3], off & 7, size > 8 - (off & 7) ? 8 - (off & 7) : size);
}

static void bm_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    PiixIde *p = opaque;
    unsigned off = (uint16_t)(port - p->mapped_base);
    if (off + size > BM_BAR_SIZE) size = BM_BAR_SIZE - off;
    ide_bm_write(p->ch[off >> 3], off & 7, size > 8 - (off & 7) ? 8 - (off & 7) : size, val);
}

/* Map the bus-master block where BAR4 says while I/O decoding is on. */
static void remap(PiixIde *p) {
    const uint8_t *c = p->fn->cfg;
    uint16_t base = (uint16_t)((c[BM_BAR] | c[BM_BAR + 1] << 8) & 0xFFF0);
    bool on = (c[0x04] & 0x01) && base != 0 && !c[BM_BAR + 2] && !c[BM_BAR + 3];
    if (p->mapped && (!on || base != p->mapped_base)) {
        iobus_unregister(p->io, p->mapped_base, BM_BAR_SIZE, p);
        p->mapped = false;
    }
    if (on && !p->mapped &&
        iobus_register(p->io, base, BM_BAR_SIZE, bm_port_read, bm_port_write, p) == 0) {
        p->mapped = true; /* a base clashing with another device stays unmapped */
        p->mapped_base = base;
    }
}

static void ide_config_written(PciFunction *f, unsigned offset, unsigned size) {
    PiixIde *p = f->opaque;
    if (offset <= 0x04 && offset + size > 0x04) {
        for (int i = 0; i < 2; i++)
            ide_bm_set_bus_master(p->ch[i], f->cfg[0x04] & 0x04);
    }
    if ((offset <= 0x04 && offset + size > 0x04) || (offset < BM_BAR + 4 && offset + size > BM_BAR))
        remap(p);
}

PiixIde *piix3_ide_init(PciBus *bus, IoBus *io, IdeChannel *primary, IdeChannel *secondary) {
    PiixIde *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    PciFunction *f = pci_add_function(bus, PCI_DEVFN(1, 1), 0x8086, 0x7010, 0x0101);
    if (!f) {
        free(p);
        return NULL;
    }
    p->fn = f;
    p->io = io;
    p->ch[0] = primary;
    p->ch[1] = secondary;
    f->cfg[0x09] = 0x80; /* programming interface: legacy mode, bus-master capable */
    f->cfg[0x20] = 0x01; /* BAR4: 16 bytes of I/O space for the bus-master registers */
    f->wmask[0x20] = 0xF0;
    f->wmask[0x21] = 0xFF;
    f->wmask[0x22] = 0xFF; /* all 32 bits writable: firmware sizes BARs with 32-bit masks */
    f->wmask[0x23] = 0xFF;
    f->cfg[0x41] = 0x80; /* IDETIM: primary decode enable */
    f->cfg[0x43] = 0x80; /* secondary decode enable */
    for (unsigned r = 0x40; r < 0x48; r++) f->wmask[r] = 0xFF;
    f->write_hook = ide_config_written;
    f->opaque = p;
    return p;
}

void piix3_ide_free(PiixIde *p) {
    free(p);
}
