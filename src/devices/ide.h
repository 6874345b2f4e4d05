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
 * the guest sees, never a silent loss. Not implemented yet: ATAPI (CD-ROM),
 * DMA.
 *
 * Use:
 *     IdeChannel *ch = ide_new(0x1F0, 0x3F6, pic_irq_line(pic, 14));
 *     ide_attach_disk(ch, 0, disk);
 *     ide_register(ch, bus);
 */
#ifndef BT86_IDE_H
#define BT86_IDE_H

#include "devices/bus.h"
#include "devices/disk.h"
#include "devices/irq.h"

typedef struct IdeChannel IdeChannel;

IdeChannel *ide_new(uint16_t base, uint16_t ctl, IrqLine irq);
void ide_free(IdeChannel *ch);
/* Attach a 512-byte-sector disk at position unit (0 master, 1 slave). */
int ide_attach_disk(IdeChannel *ch, int unit, Disk *disk);
int ide_register(IdeChannel *ch, IoBus *bus);

uint32_t ide_port_read(void *opaque, uint16_t port, unsigned size);
void ide_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);

#endif
