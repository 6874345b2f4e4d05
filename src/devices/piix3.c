/*
 * piix3.c - PIIX3 ISA bridge configuration space (see piix3.h).
 */
#include "devices/piix3.h"

#include <stddef.h>

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

PciFunction *piix3_ide_init(PciBus *bus) {
    PciFunction *f = pci_add_function(bus, PCI_DEVFN(1, 1), 0x8086, 0x7010, 0x0101);
    if (!f) return NULL;
    f->cfg[0x09] = 0x80; /* programming interface: legacy mode, bus-master capable */
    f->cfg[0x20] = 0x01; /* BAR4: 16 bytes of I/O space for the bus-master registers */
    f->wmask[0x20] = 0xF0;
    f->wmask[0x21] = 0xFF;
    f->wmask[0x22] = 0xFF; /* all 32 bits writable: firmware sizes BARs with 32-bit masks */
    f->wmask[0x23] = 0xFF;
    f->cfg[0x41] = 0x80; /* IDETIM: primary decode enable */
    f->cfg[0x43] = 0x80; /* secondary decode enable */
    for (unsigned r = 0x40; r < 0x48; r++) f->wmask[r] = 0xFF;
    return f;
}
