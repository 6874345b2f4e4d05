/*
 * ide.h - one IDE/ATA channel (two drive positions) with PIO transfers:
 * the task-file registers with the 48-bit "previous" (HOB) bytes, device
 * control (nIEN, SRST with reset signatures), status and error registers,
 * and the ATA commands a BIOS and Linux use for a hard disk: IDENTIFY
 * DEVICE, READ/WRITE SECTORS and MULTIPLE (28- and 48-bit, CHS or LBA),
 * READ VERIFY, SET MULTIPLE MODE, SET FEATURES, INITIALIZE DEVICE
 * PARAMETERS, RECALIBRATE, SEEK, FLUSH CACHE (EXT), power-management
 * commands, EXECUTE DEVICE DIAGNOSTIC. Unknown commands abort (ABRT).
 * Sector numbers outside the disk give IDNF; a failed write gives an error
 * the guest sees, never a silent loss.
 *
 * ATAPI CD-ROM drives (read-only, 2048-byte sectors): the ATAPI reset
 * signature (LBA mid/high 0x14/0xEB, also shown when IDENTIFY DEVICE
 * aborts), IDENTIFY PACKET DEVICE, and the PACKET command with PIO data
 * phases bounded by the byte-count limit, for the MMC commands a BIOS's El
 * Torito boot and Linux's sr driver use: TEST UNIT READY, REQUEST SENSE,
 * INQUIRY, READ CAPACITY, READ(10), READ(12), SEEK, MODE SENSE(10) (pages
 * 01h, 2Ah, 3Fh), READ TOC (formats 0 and 1, LBA and MSF), GET
 * CONFIGURATION, GET EVENT STATUS NOTIFICATION (polled, media class),
 * START STOP UNIT (tray), PREVENT ALLOW MEDIUM REMOVAL, READ DISC
 * INFORMATION, SET CD SPEED. A newly inserted disc raises UNIT ATTENTION;
 * an empty drive answers NOT READY / MEDIUM NOT PRESENT; unknown commands
 * and bad fields give CHECK CONDITION with ILLEGAL REQUEST sense.
 *
 * Bus-master DMA (the PIIX3 IDE function's BAR4 registers, one 8-byte
 * block per channel: command, status, PRD table pointer; see ide.c "bus-
 * master DMA" for the engine and its bounds): READ/WRITE DMA (EXT) and
 * PACKET with the DMA feature bit, once ide_attach_dma gave the channel
 * guest memory and a clock. IDENTIFY (PACKET) DEVICE then reports
 * multiword DMA 0-2 and Ultra DMA 0-2, and SET FEATURES 03h accepts those
 * modes (and PIO 0-4); without a bus master they are aborted.
 *
 * Use:
 *     IdeChannel *ch = ide_new(0x1F0, 0x3F6, pic_irq_line(pic, 14));
 *     ide_attach_disk(ch, 0, disk);
 *     ide_attach_cdrom(ide2, 0, disc);   // a 2048-byte-sector Disk, or NULL: empty drive
 *     ide_register(ch, bus);
 */
#ifndef BT86_IDE_H
#define BT86_IDE_H

#include <stdbool.h>

#include "devices/bus.h"
#include "devices/clock.h"
#include "devices/disk.h"
#include "devices/irq.h"
#include "mmu/mmu.h"

typedef struct IdeChannel IdeChannel;

IdeChannel *ide_new(uint16_t base, uint16_t ctl, IrqLine irq);
/* Hardware reset (RESET- on the cable): both drives as at power-on, with
 * their media kept. */
void ide_reset(IdeChannel *ch);
void ide_free(IdeChannel *ch);
/* Attach a 512-byte-sector disk at position unit (0 master, 1 slave). */
int ide_attach_disk(IdeChannel *ch, int unit, Disk *disk);
/* Attach a CD-ROM drive at position unit holding disc (2048-byte sectors),
 * or an empty drive (disc NULL). */
int ide_attach_cdrom(IdeChannel *ch, int unit, Disk *disc);
int ide_register(IdeChannel *ch, IoBus *bus);

/* Bus-master DMA: the engine reads PRD tables and moves data with
 * phys_copy_to/phys_copy_from on pm (RAM only), in steps timed on clk.
 * ide_bm_read/ide_bm_write access this channel's 8 bus-master registers
 * (offset 0-7: command, -, status, -, PRD pointer; any access size);
 * ide_bm_set_bus_master follows the PCI function's Bus Master Enable
 * (the engine waits while it is clear). */
void ide_attach_dma(IdeChannel *ch, PhysMem *pm, VClock *clk);
uint32_t ide_bm_read(IdeChannel *ch, unsigned offset, unsigned size);
void ide_bm_write(IdeChannel *ch, unsigned offset, unsigned size, uint32_t val);
void ide_bm_set_bus_master(IdeChannel *ch, bool enabled);

/* Count port accesses and bytes moved (PIO, DMA) into stats (NULL: off). */
struct IoStats;
void ide_set_stats(IdeChannel *ch, struct IoStats *stats);

uint32_t ide_port_read(void *opaque, uint16_t port, unsigned size);
void ide_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);

/* Snapshot section (snap/snap.h), version 2: the task file, the transfer or PACKET
 * command in progress with its buffer, the bus-master registers, PRD walk
 * and step timer (version 1, without DMA, still loads), and each drive's settings (the
 * drives and media themselves are the machine's configuration: their kind
 * and size must match; disk_save holds the images' identities).
 * ide_load validates, and commits only with r->apply. */
struct SnapWriter;
struct SnapReader;
void ide_save(const IdeChannel *ch, struct SnapWriter *w);
bool ide_load(IdeChannel *ch, struct SnapReader *r);

#endif
