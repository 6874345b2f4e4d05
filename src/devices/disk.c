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

#include "devices/qcow2.h"
#include "snap/snap.h"

struct Disk {
    int fd; /* the image file (owned by qcow2 when there is one) */
    Qcow2 *qcow2;
    DiskMode mode;
    DiskFormat format;
    DiskCache cache;
    bool probed_raw;
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

/* ---------------- probing and locking ---------------- */

DiskFormat disk_probe_format(int fd) {
    uint8_t m[4];
    if (full_pread(fd, m, 4, 0) == 0 &&
        ((uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3]) == QCOW2_MAGIC)
        return DISK_FORMAT_QCOW2;
    return DISK_FORMAT_RAW;
}

/* QEMU's scheme: byte 100+i held (shared) = "I use permission i", byte
 * 200+i held = "I let nobody else have permission i". Permissions: 0
 * consistent read, 1 write, 2 write-unchanged, 3 resize. A writer uses
 * 0-3 and shares neither write nor resize; a reader uses 0 and shares
 * neither write nor resize either (its contents must not change under
 * it). So bt86 and QEMU keep each other out of the same image. */
#define LOCK_PERM_BASE   100
#define LOCK_SHARED_BASE 200

static int lock_byte(int fd, off_t at, short type, int cmd, struct flock *fl) {
    memset(fl, 0, sizeof *fl);
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    fl->l_start = at;
    fl->l_len = 1;
    return fcntl(fd, cmd, fl);
}

static void unlock_all(int fd) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    fcntl(fd, F_OFD_SETLK, &fl); /* l_len 0: everything we took */
}

int disk_lock_image(int fd, bool write, const char *path, char *err, size_t errlen) {
    unsigned perm = write ? 0xF : 0x1, unshared = 0x2 | 0x8;
    struct flock fl;
    bool conflict = false;
    for (int i = 0; i < 4; i++) {
        if ((((perm >> i) & 1) &&
             lock_byte(fd, LOCK_PERM_BASE + i, F_RDLCK, F_OFD_SETLK, &fl) < 0) ||
            (((unshared >> i) & 1) &&
             lock_byte(fd, LOCK_SHARED_BASE + i, F_RDLCK, F_OFD_SETLK, &fl) < 0))
            goto failed;
    }
    for (int i = 0; i < 4; i++) {
        /* someone refuses to share what we use, or uses what we do not share */
        if (((perm >> i) & 1) && lock_byte(fd, LOCK_SHARED_BASE + i, F_WRLCK, F_OFD_GETLK, &fl) < 0)
            goto failed;
        conflict |= ((perm >> i) & 1) && fl.l_type != F_UNLCK;
        if (((unshared >> i) & 1) &&
            lock_byte(fd, LOCK_PERM_BASE + i, F_WRLCK, F_OFD_GETLK, &fl) < 0)
            goto failed;
        conflict |= ((unshared >> i) & 1) && fl.l_type != F_UNLCK;
    }
    if (!conflict) return 0;
    snprintf(err, errlen,
             "%s: failed to get \"%s\" lock: is another process (bt86 or QEMU) using the image?",
             path, write ? "write" : "consistent read");
    unlock_all(fd);
    return -1;
failed:
    if (errno == EAGAIN || errno == EACCES) { /* someone holds an exclusive lock */
        snprintf(err, errlen,
                 "%s: failed to get \"%s\" lock: the image is locked by another "
                 "process",
                 path, write ? "write" : "consistent read");
        unlock_all(fd);
        return -1;
    }
    /* The file system has no such locks (as QEMU then does: go on). */
    fprintf(stderr, "bt86: warning: %s: cannot lock the image (%s): opened without a lock\n", path,
            strerror(errno));
    unlock_all(fd);
    return 0;
}

/* ---------------- open ---------------- */

/* Open the image; a read-write open of a file that cannot be written
 * (no write permission, even for root, or a read-only file system) falls
 * back to read-only and says so in *read_only. */
static int open_image(const char *path, DiskMode mode, bool *read_only) {
    *read_only = mode != DISK_RW;
    if (mode != DISK_RW)
        return open(path, O_RDONLY | O_NONBLOCK); /* a FIFO: refused below, not waited on */
    int fd = open(path, O_RDWR | O_NONBLOCK);
    if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
        *read_only = true;
        return open(path, O_RDONLY | O_NONBLOCK); /* a FIFO: refused below, not waited on */
    }
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && !(st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)))
        *read_only = true; /* the owner made it read-only: root too respects that */
    return fd;
}

static int backend_read(Disk *d, uint64_t off, size_t len, void *buf) {
    if (d->qcow2) return qcow2_read(d->qcow2, off, len, buf);
    return full_pread(d->fd, buf, len, (off_t)off);
}

Disk *disk_open(const char *path, DiskMode mode, unsigned sector_size, char *err, size_t errlen) {
    return disk_open_with(path, mode, sector_size, NULL, err, errlen);
}

Disk *disk_open_with(const char *path, DiskMode mode, unsigned sector_size, const DiskOptions *opts,
                     char *err, size_t errlen) {
    DiskOptions defaults = {DISK_FORMAT_PROBE, DISK_CACHE_WRITEBACK};
    if (!opts) opts = &defaults;
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
    if (disk_lock_image(fd, mode == DISK_RW, path, err, errlen) < 0) {
        close(fd);
        return NULL;
    }
    Disk *d = calloc(1, sizeof *d);
    if (!d) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->fd = fd;
    d->mode = mode;
    d->cache = opts->cache;
    d->sector_size = sector_size;
    d->format = opts->format;
    if (d->format == DISK_FORMAT_PROBE) {
        d->format = disk_probe_format(fd);
        d->probed_raw = d->format == DISK_FORMAT_RAW;
    }
    uint64_t bytes = (uint64_t)st.st_size;
    if (d->format == DISK_FORMAT_QCOW2) {
        d->qcow2 =
            qcow2_open(path, fd, mode != DISK_RW, d->cache != DISK_CACHE_UNSAFE, err, errlen);
        if (!d->qcow2) {
            free(d);
            return NULL;
        }
        bytes = qcow2_size(d->qcow2) / sector_size * sector_size;
        if (bytes == 0) {
            snprintf(err, errlen, "%s: qcow2 virtual size is less than one %u-byte sector", path,
                     sector_size);
            disk_close(d);
            return NULL;
        }
    } else if (st.st_size == 0 || st.st_size % sector_size) {
        snprintf(err, errlen, "%s: size %lld is not a non-zero multiple of %u bytes", path,
                 (long long)st.st_size, sector_size);
        disk_close(d);
        return NULL;
    }
    d->sectors = bytes / sector_size;
    if (sector_size == 2048) { /* ISO 9660: primary volume descriptor "CD001" at sector 16 */
        uint8_t pvd[6];
        if (bytes < 17 * 2048 || backend_read(d, 16 * 2048, 6, pvd) < 0 ||
            memcmp(pvd + 1, "CD001", 5) != 0) {
            snprintf(err, errlen, "%s: not an ISO 9660 image", path);
            disk_close(d);
            return NULL;
        }
    }
    if (mode == DISK_SNAPSHOT)
        d->overlay = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    return d;
}

void disk_close(Disk *d) {
    if (!d) return;
    if (d->mode == DISK_RW && d->cache != DISK_CACHE_UNSAFE) disk_flush(d);
    if (d->overlay) g_hash_table_destroy(d->overlay);
    if (d->qcow2)
        qcow2_close(d->qcow2); /* closes fd */
    else
        close(d->fd);
    free(d);
}

uint64_t disk_sectors(const Disk *d) {
    return d->sectors;
}
bool disk_read_only(const Disk *d) {
    return d->mode == DISK_RO;
}
unsigned disk_sector_size(const Disk *d) {
    return d->sector_size;
}
DiskFormat disk_format(const Disk *d) {
    return d->format;
}
bool disk_probed_raw(const Disk *d) {
    return d->probed_raw;
}

static bool in_range(const Disk *d, uint64_t lba, uint32_t count) {
    return lba <= d->sectors && count <= d->sectors - lba;
}

int disk_read(Disk *d, uint64_t lba, uint32_t count, void *buf) {
    if (!in_range(d, lba, count)) return -1;
    uint8_t *p = buf;
    if (!d->overlay)
        return backend_read(d, lba * d->sector_size, (size_t)count * d->sector_size, p);
    /* Sectors the overlay holds come from it; each run of the others is
     * one read of the image (not one per sector: a 64 MiB dd of a
     * -snapshot disk made 131072 preads). */
    uint32_t run = 0; /* sectors before i that still need reading from the image */
    for (uint32_t i = 0; i < count; i++) {
        gint64 key = (gint64)(lba + i);
        const uint8_t *over =
            g_hash_table_size(d->overlay) ? g_hash_table_lookup(d->overlay, &key) : NULL;
        if (!over) {
            run++;
            continue;
        }
        if (run && backend_read(d, (lba + i - run) * d->sector_size, (size_t)run * d->sector_size,
                                p + (size_t)(i - run) * d->sector_size) < 0)
            return -1;
        run = 0;
        memcpy(p + (size_t)i * d->sector_size, over, d->sector_size);
    }
    if (run && backend_read(d, (lba + count - run) * d->sector_size, (size_t)run * d->sector_size,
                            p + (size_t)(count - run) * d->sector_size) < 0)
        return -1;
    return 0;
}

int disk_write(Disk *d, uint64_t lba, uint32_t count, const void *buf) {
    if (!in_range(d, lba, count) || d->mode == DISK_RO) return -1;
    if (d->mode == DISK_RW) {
        /* As QEMU: a probed raw image must not become another format by
         * the guest writing a header into it. */
        if (d->probed_raw && lba == 0 && count && d->sector_size >= 4) {
            const uint8_t *b = buf;
            if (((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) ==
                QCOW2_MAGIC)
                return -1;
        }
        size_t len = (size_t)count * d->sector_size;
        int rc = d->qcow2 ? qcow2_write(d->qcow2, lba * d->sector_size, len, buf)
                          : full_pwrite(d->fd, buf, len, (off_t)(lba * d->sector_size));
        if (rc == 0 && d->cache == DISK_CACHE_WRITETHROUGH) rc = disk_flush(d);
        return rc;
    }
    const uint8_t *p = buf;
    for (uint32_t i = 0; i < count; i++, p += d->sector_size) {
        gint64 *key = g_new(gint64, 1);
        *key = (gint64)(lba + i);
        g_hash_table_replace(d->overlay, key, g_memdup2(p, d->sector_size));
    }
    return 0;
}

int disk_flush(Disk *d) {
    if (d->mode != DISK_RW || d->cache == DISK_CACHE_UNSAFE) return 0;
    if (d->qcow2) return qcow2_flush(d->qcow2);
    return fdatasync(d->fd);
}

/* ---------------- snapshots ---------------- */

#define FINGERPRINT_SAMPLES 64

/* CRC of the image's first 64 KiB and of FINGERPRINT_SAMPLES sectors spread
 * over it, read from the file itself (not the overlay). */
static uint32_t fingerprint(Disk *d) {
    uint8_t buf[4096];
    uint32_t crc = 0;
    uint64_t size = d->sectors * d->sector_size;
    for (uint64_t off = 0; off < 65536 && off < size; off += sizeof buf) {
        size_t n = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
        if (backend_read(d, off, n, buf) == 0) crc = snap_crc32(crc, buf, n);
    }
    for (unsigned i = 0; i < FINGERPRINT_SAMPLES; i++) {
        uint64_t lba = d->sectors * i / FINGERPRINT_SAMPLES;
        if (backend_read(d, lba * d->sector_size, d->sector_size, buf) == 0)
            crc = snap_crc32(crc, buf, d->sector_size);
    }
    return crc;
}

static void file_id(const Disk *d, uint64_t *dev, uint64_t *ino) {
    struct stat st;
    *dev = *ino = 0;
    if (fstat(d->fd, &st) == 0) {
        *dev = (uint64_t)st.st_dev;
        *ino = (uint64_t)st.st_ino;
    }
}

/* Overlay entries sorted by sector (the file does not depend on hash order). */
static gint cmp_lba(gconstpointer a, gconstpointer b) {
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

static void save_overlay(Disk *d, SnapWriter *w) {
    GList *keys = g_list_sort(g_hash_table_get_keys(d->overlay), cmp_lba);
    size_t n = g_list_length(keys), rec = 8 + d->sector_size;
    uint8_t *raw = malloc(n * rec + 1);
    if (!raw) {
        w->oom = true;
        g_list_free(keys);
        return;
    }
    size_t i = 0;
    for (GList *k = keys; k; k = k->next, i++) {
        uint64_t lba = (uint64_t) * (gint64 *)k->data;
        for (int b = 0; b < 8; b++)
            raw[i * rec + b] = (uint8_t)(lba >> (8 * b));
        memcpy(raw + i * rec + 8, g_hash_table_lookup(d->overlay, k->data), d->sector_size);
    }
    g_list_free(keys);
    snap_put_u64(w, n);
    snap_put_zblob(w, raw, n * rec);
    free(raw);
}

void disk_save(Disk *d, SnapWriter *w) {
    uint64_t dev, ino;
    file_id(d, &dev, &ino);
    snap_put_u8(w, (uint8_t)d->mode);
    snap_put_u32(w, d->sector_size);
    snap_put_u64(w, d->sectors);
    snap_put_u32(w, d->mode == DISK_RW ? 0 : fingerprint(d));
    snap_put_u64(w, d->mode == DISK_RW ? dev : 0);
    snap_put_u64(w, d->mode == DISK_RW ? ino : 0);
    if (d->mode == DISK_SNAPSHOT) save_overlay(d, w);
}

/* Parse the overlay into a new table (NULL on error). */
static GHashTable *load_overlay(Disk *d, SnapReader *r) {
    uint64_t n = snap_get_u64(r);
    if (!snap_check(r, n <= d->sectors, "more overlay sectors than the disk has")) return NULL;
    size_t rec = 8 + d->sector_size, len;
    uint8_t *raw = snap_get_zblob_alloc(r, (size_t)n * rec, &len);
    if (!raw) return NULL;
    if (!snap_check(r, len == n * rec, "overlay of the wrong size")) {
        free(raw);
        return NULL;
    }
    GHashTable *t = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    for (size_t i = 0; i < n; i++) {
        uint64_t lba = 0;
        for (int b = 0; b < 8; b++)
            lba |= (uint64_t)raw[i * rec + b] << (8 * b);
        if (!snap_check(r, lba < d->sectors, "overlay sector outside the disk")) break;
        gint64 *key = g_new(gint64, 1);
        *key = (gint64)lba;
        g_hash_table_replace(t, key, g_memdup2(raw + i * rec + 8, d->sector_size));
    }
    free(raw);
    if (!snap_ok(r)) {
        g_hash_table_destroy(t);
        return NULL;
    }
    return t;
}

static const char *mode_name(unsigned mode) {
    return mode == DISK_RW ? "read-write" : mode == DISK_RO ? "read-only" : "-snapshot";
}

bool disk_load(Disk *d, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    uint8_t mode = snap_get_u8(r);
    uint32_t sector_size = snap_get_u32(r);
    uint64_t sectors = snap_get_u64(r);
    uint32_t crc = snap_get_u32(r);
    uint64_t dev = snap_get_u64(r), ino = snap_get_u64(r);
    if (!snap_ok(r)) return false;
    if (mode != d->mode) {
        snap_fail(r, "saved with a %s image, this one is %s",
                  mode <= DISK_SNAPSHOT ? mode_name(mode) : "?", mode_name(d->mode));
        return false;
    }
    if (sector_size != d->sector_size || sectors != d->sectors) {
        snap_fail(r, "another image: %llu sectors of %u bytes saved, this one has %llu of %u",
                  (unsigned long long)sectors, sector_size, (unsigned long long)d->sectors,
                  d->sector_size);
        return false;
    }
    uint64_t my_dev, my_ino;
    file_id(d, &my_dev, &my_ino);
    if (mode == DISK_RW ? (dev != my_dev || ino != my_ino) : crc != fingerprint(d)) {
        snap_fail(r, "another image (same size, other %s)", mode == DISK_RW ? "file" : "contents");
        return false;
    }
    GHashTable *overlay = mode == DISK_SNAPSHOT ? load_overlay(d, r) : NULL;
    if (!snap_finish(r)) {
        if (overlay) g_hash_table_destroy(overlay);
        return false;
    }
    if (!r->apply) {
        if (overlay) g_hash_table_destroy(overlay);
        return true;
    }
    if (overlay) {
        g_hash_table_destroy(d->overlay);
        d->overlay = overlay;
    }
    return true;
}
