/*
 * pci.h - PCI bus 0 with configuration mechanism #1 (address register at
 * 0xCF8, data window 0xCFC-0xCFF, byte/word/dword accesses), and the
 * configuration space of each function: 256 bytes with a write mask, and an
 * optional hook called after writes so a chip can react (PAM, PIRQ routing,
 * BARs moving).
 *
 * Use:
 *     PciBus *bus = pci_bus_new();
 *     pci_bus_register(bus, io);
 *     PciFunction *f = pci_add_function(bus, PCI_DEVFN(1, 0), 0x8086, 0x7000, 0x0601);
 *     f->wmask[0x60] = 0xFF;  f->write_hook = piix3_config_written;  f->opaque = chip;
 *
 * Reads of absent functions return all ones. Only bus 0 exists. Byte port
 * 0xCF9 is the PIIX3's reset control register.
 */
#ifndef BT86_PCI_H
#define BT86_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"

#define PCI_DEVFN(dev, fn) ((uint8_t)((dev) << 3 | (fn)))
#define PCI_MAX_FUNCTIONS 32

typedef struct PciFunction PciFunction;
struct PciFunction {
    uint8_t devfn;
    uint8_t cfg[256];
    uint8_t wmask[256]; /* bits the guest may change */
    /* Called after the guest wrote `size` bytes at `offset` (cfg updated). */
    void (*write_hook)(PciFunction *f, unsigned offset, unsigned size);
    void *opaque;
    uint8_t cfg_power_on[256]; /* cfg at power-on (pci_bus_save_power_on) */
};

typedef struct PciBus PciBus;

PciBus *pci_bus_new(void);
void pci_bus_free(PciBus *bus);
int pci_bus_register(PciBus *bus, IoBus *io);
/* Add a function with its IDs and class (base class << 8 | subclass);
 * the header type, command/status defaults and masks are set up. */
PciFunction *pci_add_function(PciBus *bus, uint8_t devfn, uint16_t vendor, uint16_t device,
                              uint16_t class_code);
PciFunction *pci_find_function(PciBus *bus, uint8_t devfn);
/* Byte port 0xCF9 (the PIIX3's reset control register): writing RST_CPU
 * (bit 2) calls `reset`. */
void pci_bus_set_reset(PciBus *bus, void (*reset)(void *opaque), void *opaque);
/* Remember every function's configuration space as its power-on state... */
void pci_bus_save_power_on(PciBus *bus);
/* ... and restore it (RESET), calling each write hook for the whole space. */
void pci_bus_reset(PciBus *bus);

uint32_t pci_port_read(void *opaque, uint16_t port, unsigned size);
void pci_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);

/* Snapshot section (snap/snap.h): the address and reset-control registers
 * and every function's configuration space (the set of functions must be
 * the same). Applying runs each write hook over the whole space, as a
 * reset does, so PAM routing, BARs and the PM base follow. */
struct SnapWriter;
struct SnapReader;
void pci_bus_save(const PciBus *bus, struct SnapWriter *w);
bool pci_bus_load(PciBus *bus, struct SnapReader *r);

#endif
