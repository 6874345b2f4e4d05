/*
 * disk.h - block back end for the emulated drives: a raw image file.
 *
 * Modes: read-write (writes reach the file before the drive reports them
 * done; fsync on the guest's FLUSH CACHE and on close), read-only (writes
 * fail: the drive reports an error; a read-write open of a file without
 * write permission, or on a read-only file system, becomes read-only:
 * disk_read_only() tells),
 * and snapshot (writes go to an in-memory overlay; the file is never
 * written). Every write either lands (file or overlay) or returns an error;
 * nothing is silently lost. A bad image (missing, unreadable, empty, size
 * not a multiple of the sector size, or for a CD not ISO 9660) is refused
 * with a message.
 *
 * Use:
 *     char err[256];
 *     Disk *d = disk_open("disk.img", DISK_RW, 512, err, sizeof err);
 *     disk_read(d, lba, count, buf);  disk_write(d, lba, count, buf);
 *     disk_flush(d);  disk_close(d);
 */
#ifndef BT86_DISK_H
#define BT86_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum DiskMode { DISK_RW, DISK_RO, DISK_SNAPSHOT } DiskMode;

typedef struct Disk Disk;

/* sector_size 512 (hard disk) or 2048 (CD-ROM: also checks for ISO 9660). */
Disk *disk_open(const char *path, DiskMode mode, unsigned sector_size, char *err, size_t errlen);
void disk_close(Disk *d);
uint64_t disk_sectors(const Disk *d);
/* Writes are refused (opened DISK_RO, or a read-only file opened DISK_RW). */
bool disk_read_only(const Disk *d);
unsigned disk_sector_size(const Disk *d);
/* 0 on success, -1 on an I/O error or a range outside the disk. */
int disk_read(Disk *d, uint64_t lba, uint32_t count, void *buf);
int disk_write(Disk *d, uint64_t lba, uint32_t count, const void *buf);
int disk_flush(Disk *d);

/* Snapshots (snap/snap.h): the image's identity and, in snapshot mode, the
 * overlay of written sectors. Read-only and snapshot images are
 * recognised by size and a CRC of sampled sectors (the file never changes
 * under them); a read-write image by size and file identity (device and
 * inode), since the guest keeps writing it after the save and the snapshot
 * does not hold its contents. disk_load refuses another image or another
 * mode, and applies (the overlay replaced) only with r->apply. */
struct SnapWriter;
struct SnapReader;
void disk_save(Disk *d, struct SnapWriter *w);
bool disk_load(Disk *d, struct SnapReader *r);

#endif
