/*
 * pci.c - PCI configuration mechanism #1 on bus 0 (see pci.h).
 */
#include "devices/pci.h"

#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

struct PciBus {
    uint32_t address; /* 0xCF8 */
    uint8_t rcr;      /* 0xCF9: the PIIX3's reset control register (SYS_RST) */
    void (*reset)(void *opaque);
    void *reset_opaque;
    PciFunction *fn[256];
    PciFunction slots[PCI_MAX_FUNCTIONS];
    unsigned nslots;
};

PciBus *pci_bus_new(void) { return calloc(1, sizeof(PciBus)); }
void pci_bus_free(PciBus *bus) { free(bus); }

void pci_bus_set_reset(PciBus *bus, void (*reset)(void *opaque), void *opaque) {
    bus->reset = reset;
    bus->reset_opaque = opaque;
}

void pci_bus_save_power_on(PciBus *bus) {
    for (unsigned i = 0; i < bus->nslots; i++)
        memcpy(bus->slots[i].cfg_power_on, bus->slots[i].cfg, 256);
}

void pci_bus_reset(PciBus *bus) {
    bus->address = 0;
    bus->rcr = 0;
    for (unsigned i = 0; i < bus->nslots; i++) {
        PciFunction *f = &bus->slots[i];
        memcpy(f->cfg, f->cfg_power_on, 256);
        if (f->write_hook) f->write_hook(f, 0, 256); /* the chip follows its registers */
    }
}

PciFunction *pci_find_function(PciBus *bus, uint8_t devfn) {
    return bus->fn[devfn];
}

PciFunction *pci_add_function(PciBus *bus, uint8_t devfn, uint16_t vendor, uint16_t device,
                              uint16_t class_code) {
    if (bus->fn[devfn] || bus->nslots >= PCI_MAX_FUNCTIONS) return NULL;
    PciFunction *f = &bus->slots[bus->nslots++];
    memset(f, 0, sizeof *f);
    f->devfn = devfn;
    f->cfg[0x00] = (uint8_t)vendor;
    f->cfg[0x01] = (uint8_t)(vendor >> 8);
    f->cfg[0x02] = (uint8_t)device;
    f->cfg[0x03] = (uint8_t)(device >> 8);
    f->cfg[0x0A] = (uint8_t)class_code;
    f->cfg[0x0B] = (uint8_t)(class_code >> 8);
    f->wmask[0x04] = 0x07; /* command: I/O, memory, bus master */
    f->wmask[0x05] = 0x01;
    f->wmask[0x0C] = 0xFF; /* cache line size */
    f->wmask[0x0D] = 0xFF; /* latency timer */
    f->wmask[0x3C] = 0xFF; /* interrupt line */
    bus->fn[devfn] = f;
    /* Function 0 of a device with other functions is marked multi-function. */
    if (devfn & 7) {
        PciFunction *f0 = bus->fn[devfn & ~7];
        if (f0) f0->cfg[0x0E] |= 0x80;
    }
    return f;
}

/* The function and register the current 0xCF8 value selects, or NULL. */
static PciFunction *selected(PciBus *bus, unsigned *reg) {
    uint32_t a = bus->address;
    if (!(a & 0x80000000u) || ((a >> 16) & 0xFF) != 0) return NULL;
    *reg = a & 0xFC;
    return bus->fn[(a >> 8) & 0xFF];
}

uint32_t pci_port_read(void *opaque, uint16_t port, unsigned size) {
    PciBus *bus = opaque;
    uint32_t ones = size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
    if (port >= 0xCF8 && port < 0xCFC) {
        if (port == 0xCF8 && size == 4) return bus->address;
        if (port == 0xCF9 && size == 1) return bus->rcr;
        return ones;
    }
    unsigned reg;
    PciFunction *f = selected(bus, &reg);
    if (!f) return ones;
    unsigned off = reg + (port & 3);
    uint32_t v = 0;
    for (unsigned i = 0; i < size && off + i < 256; i++) v |= (uint32_t)f->cfg[off + i] << (8 * i);
    return v;
}

void pci_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    PciBus *bus = opaque;
    if (port >= 0xCF8 && port < 0xCFC) {
        if (port == 0xCF8 && size == 4) bus->address = val & 0x80FFFFFCu;
        if (port == 0xCF9 && size == 1) {
            /* RST_CPU (bit 2) resets the machine (hard or soft: both are a
             * full reset here); SYS_RST (bit 1) is kept. */
            bus->rcr = (uint8_t)(val & 0x02);
            if ((val & 0x04) && bus->reset) bus->reset(bus->reset_opaque);
        }
        return;
    }
    unsigned reg;
    PciFunction *f = selected(bus, &reg);
    if (!f) return;
    unsigned off = reg + (port & 3);
    unsigned n = 0;
    for (unsigned i = 0; i < size && off + i < 256; i++, n++) {
        uint8_t m = f->wmask[off + i], b = (uint8_t)(val >> (8 * i));
        f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~m) | (b & m));
    }
    if (f->write_hook && n) f->write_hook(f, off, n);
}

int pci_bus_register(PciBus *bus, IoBus *io) {
    return iobus_register(io, 0xCF8, 8, pci_port_read, pci_port_write, bus);
}

/* ---------------- snapshots ---------------- */

void pci_bus_save(const PciBus *bus, SnapWriter *w) {
    snap_put_u32(w, bus->address);
    snap_put_u8(w, bus->rcr);
    snap_put_u32(w, bus->nslots);
    for (unsigned i = 0; i < bus->nslots; i++) {
        snap_put_u8(w, bus->slots[i].devfn);
        snap_put_bytes(w, bus->slots[i].cfg, 256);
    }
}

bool pci_bus_load(PciBus *bus, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    uint32_t address = snap_get_u32(r);
    uint8_t rcr = snap_get_u8(r);
    uint32_t n = snap_get_u32(r);
    if (snap_ok(r) && n != bus->nslots) {
        snap_fail(r, "%u PCI functions saved, this machine has %u", n, bus->nslots);
        return false;
    }
    static uint8_t cfg[PCI_MAX_FUNCTIONS][256];
    for (unsigned i = 0; i < n && snap_ok(r); i++) {
        uint8_t devfn = snap_get_u8(r);
        snap_get_bytes(r, cfg[i], 256);
        if (snap_ok(r) && devfn != bus->slots[i].devfn)
            snap_fail(r, "function %02x.%u where this machine has %02x.%u", devfn >> 3, devfn & 7,
                      bus->slots[i].devfn >> 3, bus->slots[i].devfn & 7);
        /* Read-only identity: vendor, device, class. */
        if (snap_ok(r) && (memcmp(cfg[i], bus->slots[i].cfg, 4) != 0 ||
                           memcmp(cfg[i] + 9, bus->slots[i].cfg + 9, 3) != 0))
            snap_fail(r, "function %02x.%u is another device", devfn >> 3, devfn & 7);
    }
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    bus->address = address & 0x80FFFFFCu;
    bus->rcr = rcr & 0x02;
    for (unsigned i = 0; i < n; i++) {
        PciFunction *f = &bus->slots[i];
        memcpy(f->cfg, cfg[i], 256);
        if (f->write_hook) f->write_hook(f, 0, 256);
    }
    return true;
}
