/*
 * disk.h - block back end for the emulated drives: a raw or qcow2 image
 * file (qcow2.h), the format given or probed as QEMU does (the qcow2 magic,
 * else raw; a probed raw image may not get a qcow2 header written into its
 * sector 0), and locked as QEMU locks it (fcntl open-file-description
 * locks on the bytes QEMU uses: one writer, or any number of readers;
 * backing files are locked for reading).
 *
 * Modes: read-write (writes reach the file before the drive reports them
 * done; fdatasync on the guest's FLUSH CACHE and on close, after every
 * write with cache=writethrough, never with cache=unsafe), read-only (writes
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
 *     DiskOptions o = {DISK_FORMAT_QCOW2, DISK_CACHE_WRITETHROUGH};
 *     d = disk_open_with("disk.qcow2", DISK_RW, 512, &o, err, sizeof err);
 */
#ifndef BT86_DISK_H
#define BT86_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum DiskMode { DISK_RW, DISK_RO, DISK_SNAPSHOT } DiskMode;

typedef struct Disk Disk;

typedef enum DiskFormat { DISK_FORMAT_PROBE, DISK_FORMAT_RAW, DISK_FORMAT_QCOW2 } DiskFormat;
/* writeback (default) and none: durable on FLUSH CACHE; writethrough:
 * every write durable before it completes; unsafe: flushes ignored. */
typedef enum DiskCache {
    DISK_CACHE_WRITEBACK,
    DISK_CACHE_WRITETHROUGH,
    DISK_CACHE_NONE,
    DISK_CACHE_UNSAFE
} DiskCache;

typedef struct DiskOptions {
    DiskFormat format; /* DISK_FORMAT_PROBE: by the magic */
    DiskCache cache;
} DiskOptions;

/* sector_size 512 (hard disk) or 2048 (CD-ROM: also checks for ISO 9660). */
Disk *disk_open(const char *path, DiskMode mode, unsigned sector_size, char *err, size_t errlen);
/* With options (NULL: probe, writeback). */
Disk *disk_open_with(const char *path, DiskMode mode, unsigned sector_size, const DiskOptions *opts,
                     char *err, size_t errlen);
void disk_close(Disk *d);
DiskFormat disk_format(const Disk *d);
/* The format was probed and found raw: QEMU's warning applies. */
bool disk_probed_raw(const Disk *d);
uint64_t disk_sectors(const Disk *d);
/* Writes are refused (opened DISK_RO, or a read-only file opened DISK_RW). */
bool disk_read_only(const Disk *d);
unsigned disk_sector_size(const Disk *d);
/* 0 on success, -1 on an I/O error or a range outside the disk. */
int disk_read(Disk *d, uint64_t lba, uint32_t count, void *buf);
int disk_write(Disk *d, uint64_t lba, uint32_t count, const void *buf);
int disk_flush(Disk *d);

/* For the back ends: the format by the file's first bytes; lock fd as
 * QEMU does (write: exclusive writer; else a reader that keeps writers
 * out). -1 with a message naming path if another process holds a
 * conflicting lock. */
DiskFormat disk_probe_format(int fd);
int disk_lock_image(int fd, bool write, const char *path, char *err, size_t errlen);

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
