/*
 * virtio.h - the legacy ("0.9.5", transitional) virtio PCI transport and
 * split virtqueues, shared by the virtio devices (virtio_blk.c,
 * virtio_rng.c, virtio_net.c, virtio_console.c).
 *
 * PCI function: vendor 1AF4, device 0x1000 + (type - 1) for net/blk/console,
 * 0x1005 for rng; revision 0; subsystem vendor 1AF4, subsystem id = the
 * virtio device type (1 net, 2 blk, 3 console, 4 rng); BAR0 is the I/O
 * window; INTA#. No MSI-X (the header is 20 bytes, the device's
 * configuration follows at 0x14):
 *   0x00 u32 host features (RO)      0x04 u32 guest features
 *   0x08 u32 queue PFN (address>>12) 0x0C u16 queue size (RO)
 *   0x0E u16 queue select            0x10 u16 queue notify
 *   0x12 u8  device status (0 resets) 0x13 u8 ISR (read clears, lowers INTx)
 * Rings (legacy layout, 4096-byte alignment): descriptor table at PFN<<12
 * (16 bytes each), the available ring after it, the used ring at the next
 * 4 KiB boundary. Features offered by the transport: NOTIFY_ON_EMPTY (24),
 * INDIRECT_DESC (28); no EVENT_IDX.
 *
 * Everything the guest controls is hostile: ring and buffer addresses go
 * through phys_copy_to/phys_copy_from (RAM only, nothing past 4 GiB);
 * a descriptor index past the queue size, a chain longer than the queue
 * (which catches loops), an indirect table inside an indirect table or of
 * a bad size, or an available index more than a queue ahead of the
 * device's marks the device broken (status bit NEEDS_RESET, 0x40): its
 * queues do nothing more until the guest resets it. A notification does
 * at most one queue's worth of work.
 *
 * Use (a device):
 *     static const VirtioOps ops = {.notify = my_notify, .cfg_read = ..., ...};
 *     v = virtio_new(pm, io, irq, VIRTIO_ID_BLK, nqueues, qsize, features, &ops, me);
 *     virtio_pci_init(v, pci, devfn);
 *     in my_notify: while (virtq_pop(v, q, &chain) > 0) { ...; virtq_push(v, q, &chain, n); }
 *                   virtq_interrupt(v, q);
 */
#ifndef BT86_VIRTIO_H
#define BT86_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/iostats.h"
#include "devices/irq.h"
#include "devices/pci.h"
#include "mmu/mmu.h"

enum { VIRTIO_ID_NET = 1, VIRTIO_ID_BLK = 2, VIRTIO_ID_CONSOLE = 3, VIRTIO_ID_RNG = 4 };

#define VIRTIO_MAX_QUEUES 4
#define VIRTIO_MAX_QSIZE  256 /* also the longest chain */
#define VIRTIO_HDR_SIZE   0x14

/* Device status bits. */
#define VIRTIO_S_ACK         0x01
#define VIRTIO_S_DRIVER      0x02
#define VIRTIO_S_DRIVER_OK   0x04
#define VIRTIO_S_FEATURES_OK 0x08
#define VIRTIO_S_NEEDS_RESET 0x40
#define VIRTIO_S_FAILED      0x80

#define VIRTIO_F_NOTIFY_ON_EMPTY (1u << 24)
#define VIRTIO_F_INDIRECT_DESC   (1u << 28)

typedef struct VirtioDev VirtioDev;

typedef struct VirtioOps {
    void (*notify)(void *opaque, unsigned queue);       /* the guest kicked a queue */
    uint8_t (*cfg_read)(void *opaque, unsigned offset); /* device configuration, byte by byte */
    void (*cfg_write)(void *opaque, unsigned offset, uint8_t val); /* NULL: read-only */
    void (*reset)(void *opaque); /* status written 0, or machine reset */
    unsigned cfg_size;
} VirtioOps;

/* One buffer of a chain (already bounds-checked: addr + len <= 4 GiB). */
typedef struct VirtioSeg {
    uint32_t addr, len;
    bool write; /* device-writable */
} VirtioSeg;

typedef struct VirtioChain {
    uint16_t head;
    unsigned nseg;
    VirtioSeg seg[VIRTIO_MAX_QSIZE];
    uint64_t out_len, in_len; /* bytes readable (driver -> device), writable */
} VirtioChain;

/* qsize: a power of 2 up to VIRTIO_MAX_QSIZE. stats may be NULL. */
VirtioDev *virtio_new(PhysMem *pm, IoBus *io, IrqLine irq, unsigned type, unsigned nqueues,
                      unsigned qsize, uint32_t features, const VirtioOps *ops, void *opaque,
                      IoStats *stats);
void virtio_free(VirtioDev *v);
/* Add the PCI function (class: base << 8 | sub). */
PciFunction *virtio_pci_init(VirtioDev *v, PciBus *bus, uint8_t devfn, uint16_t class_code);
/* Power-on state (calls ops->reset). */
void virtio_reset(VirtioDev *v);

/* The I/O window as BAR0 sees it (offset inside it): tests. */
uint32_t virtio_io_read(VirtioDev *v, unsigned offset, unsigned size);
void virtio_io_write(VirtioDev *v, unsigned offset, unsigned size, uint32_t val);

uint8_t virtio_status(const VirtioDev *v);
uint32_t virtio_guest_features(const VirtioDev *v);
bool virtio_driver_ok(const VirtioDev *v);
/* Set the NEEDS_RESET bit (a device's own fatal error). */
void virtio_set_broken(VirtioDev *v);

/* Take the next available chain of queue q: 1 (c filled), 0 (none), -1
 * (the ring is bad: the device is now broken). */
int virtq_pop(VirtioDev *v, unsigned q, VirtioChain *c);
/* Return a chain to the used ring with `written` bytes written. */
void virtq_push(VirtioDev *v, unsigned q, const VirtioChain *c, uint32_t written);
/* Interrupt the guest for queue q unless its available ring says not to. */
void virtq_interrupt(VirtioDev *v, unsigned q);
/* The queue is set up (PFN non-zero) and the driver is ready. */
bool virtq_ready(const VirtioDev *v, unsigned q);
/* Copy from a chain's readable part at byte offset off, or into its
 * writable part: the number of bytes copied (short when the chain ends or
 * a buffer is not RAM). */
size_t virtio_chain_read(VirtioDev *v, const VirtioChain *c, uint64_t off, void *dst, size_t len);
size_t virtio_chain_write(VirtioDev *v, const VirtioChain *c, uint64_t off, const void *src,
                          size_t len);
IoStats *virtio_stats(VirtioDev *v);

/* Snapshot of the transport (the device adds its own fields after it). */
struct SnapWriter;
struct SnapReader;
void virtio_save(const VirtioDev *v, struct SnapWriter *w);
bool virtio_load(VirtioDev *v, struct SnapReader *r); /* parse and check into staging */
void virtio_load_commit(VirtioDev *v);                /* apply what virtio_load read */

#endif
