/*
 * i440fx.c - 440FX host bridge configuration space and PAM (see i440fx.h).
 *
 * PAM0 (0x59) bits 5:4 route 0xF0000-0xFFFFF (four 16 KiB shadow segments);
 * PAM1-PAM6 (0x5A-0x5F) route 0xC0000-0xEFFFF, 16 KiB per nibble (low
 * nibble first). In each field bit 0 enables reads from RAM and bit 1
 * writes to RAM.
 */
#include "devices/i440fx.h"

#include <stddef.h>

static void apply_pam(PciFunction *f) {
    PhysMem *pm = f->opaque;
    for (unsigned seg = 0; seg < SHADOW_SEGS; seg++) {
        unsigned mode;
        if (seg >= 12) { /* 0xF0000-0xFFFFF */
            mode = (f->cfg[0x59] >> 4) & 3;
        } else {         /* 0xC0000 + seg * 16 KiB */
            uint8_t v = f->cfg[0x5A + seg / 2];
            mode = (seg & 1) ? (v >> 4) & 3 : v & 3;
        }
        physmem_set_shadow(pm, seg, mode);
    }
}

static void i440fx_written(PciFunction *f, unsigned offset, unsigned size) {
    if (offset <= 0x5F && offset + size > 0x59) apply_pam(f);
}

PciFunction *i440fx_init(PciBus *bus, PhysMem *pm) {
    PciFunction *f = pci_add_function(bus, PCI_DEVFN(0, 0), 0x8086, 0x1237, 0x0600);
    if (!f) return NULL;
    f->cfg[0x08] = 0x02;                 /* revision */
    f->cfg[0x2C] = 0xF4; f->cfg[0x2D] = 0x1A; /* subsystem vendor 1af4 (Red Hat) */
    f->cfg[0x2E] = 0x00; f->cfg[0x2F] = 0x11; /* subsystem 1100 (QEMU) */
    for (unsigned r = 0x59; r <= 0x5F; r++) f->wmask[r] = r == 0x59 ? 0x30 : 0x33;
    f->wmask[0x72] = 0x7F; /* SMRAM: accepted, SMM is not modelled */
    f->cfg[0x72] = 0x02;
    f->opaque = pm;
    f->write_hook = i440fx_written;
    return f;
}
