/*
 * i440fx.h - the Intel 440FX host bridge (PCI 00.0, 8086:1237) as QEMU's
 * "pc" machine presents it (subsystem 1af4:1100, which SeaBIOS checks to
 * know it runs on QEMU's hardware), with the PAM registers 0x59-0x5F that
 * route the 0xC0000-0xFFFFF BIOS area between ROM and shadow RAM
 * (physmem_set_shadow) and the SMRAM register 0x72 (accepted, no SMM).
 *
 * Use:
 *     i440fx_init(pci_bus, physmem);
 */
#ifndef BT86_I440FX_H
#define BT86_I440FX_H

#include "devices/pci.h"
#include "mmu/mmu.h"

PciFunction *i440fx_init(PciBus *bus, PhysMem *pm);

#endif
