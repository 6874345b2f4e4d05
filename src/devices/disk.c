/*
 * disk.c - raw image files for the emulated drives (see disk.h). The
 * snapshot overlay is a GHashTable from sector number to a copy of the
 * sector. Every write is a pwrite() before it returns (no cache of our
 * own): once the drive reports a write done, the data is in the host
 * kernel and survives bt86 being killed; FLUSH CACHE adds fsync() for the
 * host's own crashes.
 */
#include "devices/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct Disk {
    int fd;
    DiskMode mode;
    unsigned sector_size;
    uint64_t sectors;
    GHashTable *overlay; /* snapshot mode: sector -> g_malloc'd copy */
};

static int full_pread(int fd, void *buf, size_t len, off_t off) {
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int full_pwrite(int fd, const void *buf, size_t len, off_t off) {
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* Open the image; a read-write open of a file that cannot be written
 * (no write permission, even for root, or a read-only file system) falls
 * back to read-only and says so in *read_only. */
static int open_image(const char *path, DiskMode mode, bool *read_only) {
    *read_only = mode != DISK_RW;
    if (mode != DISK_RW) return open(path, O_RDONLY);
    int fd = open(path, O_RDWR);
    if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
        *read_only = true;
        return open(path, O_RDONLY);
    }
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && !(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)))
        *read_only = true; /* the owner made it read-only: root too respects that */
    return fd;
}

Disk *disk_open(const char *path, DiskMode mode, unsigned sector_size, char *err, size_t errlen) {
    bool read_only;
    int fd = open_image(path, mode, &read_only);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (mode == DISK_RW && read_only) mode = DISK_RO;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_size == 0 || st.st_size % sector_size) {
        snprintf(err, errlen, "%s: size %lld is not a non-zero multiple of %u bytes", path,
                 (long long)st.st_size, sector_size);
        close(fd);
        return NULL;
    }
    if (sector_size == 2048) { /* ISO 9660: primary volume descriptor "CD001" at sector 16 */
        uint8_t pvd[6];
        if (st.st_size < 17 * 2048 || full_pread(fd, pvd, 6, 16 * 2048) < 0 || memcmp(pvd + 1, "CD001", 5) != 0) {
            snprintf(err, errlen, "%s: not an ISO 9660 image", path);
            close(fd);
            return NULL;
        }
    }
    Disk *d = calloc(1, sizeof *d);
    if (!d) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->fd = fd;
    d->mode = mode;
    d->sector_size = sector_size;
    d->sectors = (uint64_t)st.st_size / sector_size;
    if (mode == DISK_SNAPSHOT) d->overlay = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    return d;
}

void disk_close(Disk *d) {
    if (!d) return;
    if (d->mode == DISK_RW) fsync(d->fd);
    if (d->overlay) g_hash_table_destroy(d->overlay);
    close(d->fd);
    free(d);
}

uint64_t disk_sectors(const Disk *d) { return d->sectors; }
bool disk_read_only(const Disk *d) { return d->mode == DISK_RO; }
unsigned disk_sector_size(const Disk *d) { return d->sector_size; }

static bool in_range(const Disk *d, uint64_t lba, uint32_t count) {
    return lba <= d->sectors && count <= d->sectors - lba;
}

int disk_read(Disk *d, uint64_t lba, uint32_t count, void *buf) {
    if (!in_range(d, lba, count)) return -1;
    uint8_t *p = buf;
    for (uint32_t i = 0; i < count; i++, p += d->sector_size) {
        gint64 key = (gint64)(lba + i);
        const uint8_t *over = d->overlay ? g_hash_table_lookup(d->overlay, &key) : NULL;
        if (over) memcpy(p, over, d->sector_size);
        else if (full_pread(d->fd, p, d->sector_size, (off_t)((lba + i) * d->sector_size)) < 0) return -1;
    }
    return 0;
}

int disk_write(Disk *d, uint64_t lba, uint32_t count, const void *buf) {
    if (!in_range(d, lba, count) || d->mode == DISK_RO) return -1;
    if (d->mode == DISK_RW)
        return full_pwrite(d->fd, buf, (size_t)count * d->sector_size, (off_t)(lba * d->sector_size));
    const uint8_t *p = buf;
    for (uint32_t i = 0; i < count; i++, p += d->sector_size) {
        gint64 *key = g_new(gint64, 1);
        *key = (gint64)(lba + i);
        g_hash_table_replace(d->overlay, key, g_memdup2(p, d->sector_size));
    }
    return 0;
}

int disk_flush(Disk *d) { return d->mode == DISK_RW ? fsync(d->fd) : 0; }
