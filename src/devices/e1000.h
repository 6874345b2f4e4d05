/*
 * e1000.h - Intel 82540EM gigabit Ethernet controller (the "e1000", PCI
 * 8086:100E, subsystem 1AF4:1100 as on QEMU's PC) as a PCI function.
 *
 * BAR0 maps the 128 KiB register file, BAR1 is the 64-byte I/O window
 * (IOADDR at +0 selects a register, IODATA at +4 reads/writes it). The
 * card has a 64-word Microwire EEPROM (bit-banged through EECD or read
 * through EERD) holding the MAC address and the 0xBABA checksum, an M88E1011
 * PHY behind MDIC with the link always up at 1000 Mb/s full duplex,
 * interrupt cause/mask registers, statistics counters, the receive filters
 * (receive addresses, multicast table, promiscuous and broadcast bits) and
 * the legacy and extended (context + data, checksum offload and TCP
 * segmentation) transmit descriptors. Frames go to and come from a NetPort
 * (devices/net.h). Every descriptor and buffer address is read and written
 * through the bounds-checked physical-memory API (mmu/mmu.h); rings with a
 * bogus length, head or tail, and buffers outside RAM, are dropped or
 * skipped, and every register write does at most one ring's worth of work.
 * The interrupt is level-triggered: (ICR & IMS) != 0 drives `irq` (the
 * function's INTA#).
 *
 * Use:
 *     NetPort port = {.transmit = send_frame, .backend = be};
 *     E1000 *nic = e1000_new(pm, io, mac, irq, &port);
 *     e1000_pci_init(nic, pci_bus, PCI_DEVFN(3, 0));
 *     ... net_port_receive(&port, frame, len) delivers a frame to the guest.
 */
#ifndef BT86_E1000_H
#define BT86_E1000_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"
#include "devices/net.h"
#include "devices/pci.h"
#include "mmu/mmu.h"

#define E1000_MMIO_SIZE 0x20000u
#define E1000_IO_SIZE   0x40u

typedef struct E1000 E1000;

/* A card on `port` (its receive side is filled in here). io may be NULL
 * (no I/O BAR: tests). NULL when out of memory or the physical map is full. */
E1000 *e1000_new(PhysMem *pm, IoBus *io, const uint8_t mac[6], IrqLine irq, NetPort *port);
void e1000_free(E1000 *d);
/* Add the PCI function: BAR0 memory, BAR1 I/O, INTA#. */
PciFunction *e1000_pci_init(E1000 *d, PciBus *bus, uint8_t devfn);
/* Power-on state (RESET#): registers, EEPROM-loaded address, PHY. */
void e1000_reset(E1000 *d);

/* Register access as BAR0 sees it (offset within the 128 KiB window). */
uint32_t e1000_mmio_read(void *opaque, uint32_t offset, unsigned size);
void e1000_mmio_write(void *opaque, uint32_t offset, unsigned size, uint32_t val);
/* One EEPROM word (0..63) (tests). */
uint16_t e1000_eeprom_word(const E1000 *d, unsigned index);

/* Snapshot section: registers, EEPROM, PHY, the Microwire shift state and
 * the transmit context. Pending frames are not kept (on a wire too a frame
 * in flight may be lost). */
struct SnapWriter;
struct SnapReader;
void e1000_save(const E1000 *d, struct SnapWriter *w);
bool e1000_load(E1000 *d, struct SnapReader *r);

#endif
