/*
 * piix3.h - the PIIX3 PCI-to-ISA bridge (PCI 01.0, 8086:7000): the PIRQ
 * route registers 0x60-0x63 that steer PCI INTA#-INTD# to ISA IRQs (bit 7 =
 * disabled), which the firmware programs and the OS reads back. The ISA
 * chips themselves (PIC with ELCR, PIT, RTC, keyboard) are separate files.
 * pc.c reads them to route a PCI device's INTx (the e1000's) to the PIC.
 *
 * Use:
 *     piix3_init(pci_bus);
 *     PiixIde *ide_fn = piix3_ide_init(pci_bus, io, ide0, ide1);
 */
#ifndef BT86_PIIX3_H
#define BT86_PIIX3_H

#include "devices/ide.h"
#include "devices/pci.h"

PciFunction *piix3_init(PciBus *bus);
/* The IDE function (01.1, 8086:7010) in legacy compatibility mode: the
 * channels use ports 0x1F0/0x3F6 (IRQ 14) and 0x170/0x376 (IRQ 15). BAR4
 * is the 16-byte bus-master block (primary at +0, secondary at +8, see
 * ide.h), mapped on io while the command register's I/O Space bit is set
 * and BAR4 is not 0; Bus Master Enable is passed on to both channels.
 * piix3_ide_free releases the mapping state (the PciFunction belongs to
 * the bus). */
typedef struct PiixIde PiixIde;
PiixIde *piix3_ide_init(PciBus *bus, IoBus *io, IdeChannel *primary, IdeChannel *secondary);
void piix3_ide_free(PiixIde *p);

#endif
