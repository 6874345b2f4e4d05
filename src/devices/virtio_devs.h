/*
 * virtio_devs.h - the virtio devices on the legacy transport (virtio.h):
 *
 * virtio-blk (virtio_blk.c, 1AF4:1001): one request queue of 128 on a Disk
 *   (disk.h: raw, qcow2, -snapshot, read-only); IN, OUT, FLUSH (disk_flush,
 *   durable as IDE's FLUSH CACHE), GET_ID (the serial, 20 bytes); features
 *   SEG_MAX, BLK_SIZE, FLUSH, RO for a read-only disk. A request past the
 *   end of the disk, a header or status buffer too short, or data not a
 *   whole number of sectors ends with IOERR; an unknown type with UNSUPP.
 * virtio-rng (virtio_rng.c, 1AF4:1005): one queue; fills the guest's
 *   buffers with getrandom(2) bytes, or, when `deterministic` (virtual time
 *   from the instruction count, record/replay), with a xorshift PRNG seeded
 *   by a constant (its state is in the snapshot), so a run repeats.
 * virtio-net (virtio_net.c, 1AF4:1000): receive and transmit queues on a
 *   NetPort (net.h); the MAC feature; the 10-byte legacy header with no
 *   offloads (frames are whole, checksummed by the guest).
 * virtio-console (virtio_console.c, 1AF4:1003): the simple console (no
 *   MULTIPORT): receive queue 0 and transmit queue 1; what the guest writes
 *   to hvc0 goes to a callback (the front end: a file or stdout).
 * Each takes its interrupt line (the function's INTA#) and an optional
 * IoStats (iostats.h).
 */
#ifndef BT86_VIRTIO_DEVS_H
#define BT86_VIRTIO_DEVS_H

#include "devices/disk.h"
#include "devices/net.h"
#include "devices/virtio.h"

typedef struct VirtioBlk VirtioBlk;
VirtioBlk *virtio_blk_new(PhysMem *pm, IoBus *io, IrqLine irq, Disk *disk, IoStats *stats);
VirtioDev *virtio_blk_dev(VirtioBlk *b);
void virtio_blk_free(VirtioBlk *b);
void virtio_blk_save(const VirtioBlk *b, struct SnapWriter *w);
bool virtio_blk_load(VirtioBlk *b, struct SnapReader *r);

typedef struct VirtioRng VirtioRng;
VirtioRng *virtio_rng_new(PhysMem *pm, IoBus *io, IrqLine irq, bool deterministic, IoStats *stats);
VirtioDev *virtio_rng_dev(VirtioRng *g);
void virtio_rng_free(VirtioRng *g);
void virtio_rng_save(const VirtioRng *g, struct SnapWriter *w);
bool virtio_rng_load(VirtioRng *g, struct SnapReader *r);

typedef struct VirtioNet VirtioNet;
/* port's receive side is filled in here. */
VirtioNet *virtio_net_new(PhysMem *pm, IoBus *io, IrqLine irq, const uint8_t mac[6], NetPort *port,
                          IoStats *stats);
VirtioDev *virtio_net_dev(VirtioNet *n);
void virtio_net_free(VirtioNet *n);
void virtio_net_save(const VirtioNet *n, struct SnapWriter *w);
bool virtio_net_load(VirtioNet *n, struct SnapReader *r);

typedef struct VirtioConsole VirtioConsole;
VirtioConsole *virtio_console_new(PhysMem *pm, IoBus *io, IrqLine irq,
                                  void (*tx)(void *opaque, const uint8_t *buf, size_t len),
                                  void *tx_opaque, IoStats *stats);
VirtioDev *virtio_console_dev(VirtioConsole *c);
/* Bytes typed at the console: how many the guest had room for. */
size_t virtio_console_input(VirtioConsole *c, const uint8_t *buf, size_t len);
void virtio_console_free(VirtioConsole *c);
void virtio_console_save(const VirtioConsole *c, struct SnapWriter *w);
bool virtio_console_load(VirtioConsole *c, struct SnapReader *r);

#endif
