/*
 * qcow2.c - qcow2 images (see qcow2.h). Layout (all big-endian): a
 * header in cluster 0 (with extensions and the backing file name), an L1
 * table of L2-table offsets, L2 tables of data-cluster descriptors, and a
 * refcount table of refcount-block offsets. The L1 and refcount tables are
 * held in memory; L2 entries and refcounts are read from the file when
 * needed (no cache that could go stale or be lost). New clusters are
 * taken past the end of the file, where every refcount is 0.
 */
#include "devices/qcow2.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "devices/disk.h"

#define QCOW2_MAX_DEPTH    256          /* backing chain length */
#define QCOW2_MAX_L1_BYTES (32u << 20)  /* as QEMU */
#define QCOW2_MAX_RT_BYTES (8u << 20)   /* refcount table, as QEMU */
#define QCOW2_MAX_SIZE     (1ull << 55) /* virtual size: 32 PiB */
#define L1E_OFFSET_MASK    0x00fffffffffffe00ull
#define L2E_OFFSET_MASK    0x00fffffffffffe00ull
#define RTE_OFFSET_MASK    0xfffffffffffffe00ull
#define OFLAG_COPIED       (1ull << 63)
#define OFLAG_COMPRESSED   (1ull << 62)
#define OFLAG_ZERO         1ull
#define ALLOC_SCAN_LIMIT   (1u << 20) /* clusters looked at for a free one */

#define INCOMPAT_DIRTY       (1ull << 0)
#define INCOMPAT_CORRUPT     (1ull << 1)
#define INCOMPAT_DATA_FILE   (1ull << 2)
#define INCOMPAT_COMPRESSION (1ull << 3)
#define INCOMPAT_EXTL2       (1ull << 4)

#define EXT_END            0u
#define EXT_BACKING_FORMAT 0xe2792acau

struct Qcow2 {
    int fd;
    char *path;
    bool read_only, barriers;
    uint32_t version, cluster_bits, l2_bits, refcount_order;
    uint64_t cluster_size, size;
    uint64_t l1_offset, *l1;
    uint32_t l1_size;
    uint64_t rt_offset, *rt, rt_entries;
    uint32_t rt_clusters;
    uint64_t file_end;   /* bytes: the file's size, grown by our writes */
    uint64_t alloc_hint; /* cluster index where the search for a free one starts */
    /* backing file: a qcow2 (backing) or a raw file (backing_fd) */
    Qcow2 *backing;
    int backing_fd;
    uint64_t backing_size;
    /* compressed clusters: the input and the last decompressed cluster */
    uint8_t *cbuf, *dbuf;
    uint64_t dbuf_entry; /* the L2 entry dbuf holds (0: none) */
    char error[300];
};

/* ---------------- helpers ---------------- */

static void set_error(Qcow2 *q, const char *fmt, ...) {
    if (q->error[0]) return; /* keep the first */
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(q->error, sizeof q->error, "%s: %s", q->path, msg);
    fprintf(stderr, "bt86: qcow2 %s\n", q->error);
}

const char *qcow2_error(const Qcow2 *q) {
    return q->error;
}

static uint64_t be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}
static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static void put_be32(uint8_t *p, uint32_t v) {
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Read len bytes at off; bytes past the end of the file read as zeros. */
static int pread_zero(int fd, void *buf, size_t len, uint64_t off) {
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) {
            memset(p, 0, len);
            return 0;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int pwrite_all(Qcow2 *q, const void *buf, size_t len, uint64_t off) {
    const uint8_t *p = buf;
    uint64_t end = off + len;
    while (len) {
        ssize_t n = pwrite(q->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            set_error(q, "write at %llu failed: %s", (unsigned long long)off,
                      n < 0 ? strerror(errno) : "no progress");
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    if (end > q->file_end) q->file_end = end;
    return 0;
}

static int barrier(Qcow2 *q) {
    if (!q->barriers) return 0;
    if (fdatasync(q->fd) < 0) {
        set_error(q, "fdatasync failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* [a, a+alen) and [b, b+blen) intersect. */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) {
    return alen && blen && a < b + blen && b < a + alen;
}

/* A cluster at host offset off may hold data or an L2 table or refcount
 * block: not the header cluster, the L1 table or the refcount table. */
static bool cluster_is_metadata(const Qcow2 *q, uint64_t off) {
    return off < q->cluster_size ||
           overlaps(off, q->cluster_size, q->l1_offset, (uint64_t)q->l1_size * 8) ||
           overlaps(off, q->cluster_size, q->rt_offset, (uint64_t)q->rt_clusters * q->cluster_size);
}

/* A table or cluster offset taken from the image: aligned, not metadata,
 * inside the file. */
static bool check_cluster_offset(Qcow2 *q, uint64_t off, const char *what) {
    if (off & (q->cluster_size - 1)) {
        set_error(q, "%s offset 0x%llx is not cluster-aligned", what, (unsigned long long)off);
        return false;
    }
    if (cluster_is_metadata(q, off)) {
        set_error(q, "%s offset 0x%llx overlaps the header, L1 or refcount table", what,
                  (unsigned long long)off);
        return false;
    }
    if (off >= q->file_end) {
        set_error(q, "%s offset 0x%llx is past the end of the file", what, (unsigned long long)off);
        return false;
    }
    return true;
}

/* ---------------- refcounts ---------------- */

static unsigned refblock_bits(const Qcow2 *q) { /* log2 of entries per refcount block */
    return q->cluster_bits + 3 - q->refcount_order;
}

/* Where the refcount of cluster index c lives: *block (0: no block) and
 * the bit position in it. -1 on a bad table entry. */
static int refcount_place(Qcow2 *q, uint64_t c, uint64_t *block, uint64_t *bit) {
    uint64_t idx = c >> refblock_bits(q);
    *bit = (c & ((1ull << refblock_bits(q)) - 1)) << q->refcount_order;
    *block = 0;
    if (idx >= q->rt_entries) return 0;
    uint64_t e = q->rt[idx];
    if (e & 0x1ff) {
        set_error(q, "refcount table entry %llu has reserved bits set", (unsigned long long)idx);
        return -1;
    }
    if (e && !check_cluster_offset(q, e, "refcount block")) return -1;
    *block = e;
    return 0;
}

static int get_refcount(Qcow2 *q, uint64_t c, uint64_t *rc) {
    uint64_t block, bit;
    if (refcount_place(q, c, &block, &bit) < 0) return -1;
    *rc = 0;
    if (!block) return 0;
    unsigned bits = 1u << q->refcount_order, bytes = bits < 8 ? 1 : bits / 8;
    uint8_t b[8];
    if (pread_zero(q->fd, b, bytes, block + bit / 8) < 0) {
        set_error(q, "reading a refcount block failed: %s", strerror(errno));
        return -1;
    }
    if (bits < 8) {
        *rc = (uint64_t)(b[0] >> (bit % 8)) & ((1u << bits) - 1);
    } else {
        for (unsigned i = 0; i < bytes; i++)
            *rc = *rc << 8 | b[i];
    }
    return 0;
}

/* Set the refcount of cluster c in its (existing) block. */
static int set_refcount(Qcow2 *q, uint64_t c, uint64_t rc) {
    uint64_t block, bit;
    if (refcount_place(q, c, &block, &bit) < 0) return -1;
    if (!block) {
        set_error(q, "cluster %llu has no refcount block", (unsigned long long)c);
        return -1;
    }
    unsigned bits = 1u << q->refcount_order, bytes = bits < 8 ? 1 : bits / 8;
    uint8_t b[8];
    if (bits < 8) {
        if (pread_zero(q->fd, b, 1, block + bit / 8) < 0) return -1;
        unsigned mask = ((1u << bits) - 1) << (bit % 8);
        b[0] = (uint8_t)((b[0] & ~mask) | ((rc << (bit % 8)) & mask));
    } else {
        for (int i = (int)bytes - 1; i >= 0; i--, rc >>= 8)
            b[i] = (uint8_t)rc;
    }
    return pwrite_all(q, b, bytes, block + bit / 8);
}

/* Write refcount value rc for cluster c into a block held in memory. */
static void refcount_in_buf(const Qcow2 *q, uint8_t *buf, uint64_t c, uint64_t rc) {
    uint64_t bit = (c & ((1ull << refblock_bits(q)) - 1)) << q->refcount_order;
    unsigned bits = 1u << q->refcount_order;
    if (bits < 8) {
        unsigned mask = ((1u << bits) - 1) << (bit % 8);
        buf[bit / 8] = (uint8_t)((buf[bit / 8] & ~mask) | ((rc << (bit % 8)) & mask));
    } else {
        for (int i = (int)(bits / 8) - 1; i >= 0; i--, rc >>= 8)
            buf[bit / 8 + (unsigned)i] = (uint8_t)rc;
    }
}

/* Refcount value of entry i in a refcount block held in memory. */
static uint64_t refcount_from_buf(const Qcow2 *q, const uint8_t *buf, uint64_t i) {
    uint64_t bit = i << q->refcount_order, rc = 0;
    unsigned bits = 1u << q->refcount_order;
    if (bits < 8) return (uint64_t)(buf[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
    for (unsigned k = 0; k < bits / 8; k++)
        rc = rc << 8 | buf[bit / 8 + k];
    return rc;
}

/* A free cluster index at or after start (refcount 0, not metadata); each
 * refcount block is read once. */
static int find_free(Qcow2 *q, uint64_t start, uint64_t *out) {
    uint8_t *block = malloc(q->cluster_size);
    if (!block) return -1;
    uint64_t loaded = UINT64_MAX, per = 1ull << refblock_bits(q);
    for (uint64_t c = start; c < start + ALLOC_SCAN_LIMIT; c++) {
        uint64_t idx = c >> refblock_bits(q), off, bit, rc = 0;
        if (refcount_place(q, c, &off, &bit) < 0) break;
        if (off) {
            if (loaded != idx) {
                if (pread_zero(q->fd, block, q->cluster_size, off) < 0) break;
                loaded = idx;
            }
            rc = refcount_from_buf(q, block, c & (per - 1));
        }
        if (rc == 0 && !cluster_is_metadata(q, c << q->cluster_bits)) {
            free(block);
            *out = c;
            return 0;
        }
    }
    free(block);
    set_error(q, "no free cluster found (refcounts claim the whole file end)");
    return -1;
}

/* A bigger refcount table past the end of the file, covering cluster
 * index need: its clusters and the new refcount blocks that cover them
 * get refcount 1, the new table is written, then the header switches to
 * it, then the old table's clusters are freed. */
static int grow_refcount_table(Qcow2 *q, uint64_t need) {
    uint64_t cs = q->cluster_size, per_block_bits = refblock_bits(q);
    uint64_t entries = (need >> per_block_bits) + 1;
    if (entries < q->rt_entries * 2) entries = q->rt_entries * 2;
    uint64_t n = (entries * 8 + cs - 1) / cs; /* table clusters */
    if (n * cs > QCOW2_MAX_RT_BYTES) {
        set_error(q, "refcount table would exceed %u MiB", QCOW2_MAX_RT_BYTES >> 20);
        return -1;
    }
    entries = n * cs / 8;
    uint64_t t = q->alloc_hint;
    if (t < (q->file_end + cs - 1) / cs) t = (q->file_end + cs - 1) / cs;
    /* k new blocks right after the table, for the ranges covering
     * [t, t+n+k) that have none: iterate until k is stable. */
    uint64_t k = 0;
    for (;;) {
        uint64_t missing = 0;
        for (uint64_t i = t >> per_block_bits; i <= (t + n + k - 1) >> per_block_bits; i++)
            if (i >= q->rt_entries || q->rt[i] == 0) missing++;
        if (missing == k) break;
        k = missing;
    }
    if (((t + n + k) >> per_block_bits) >= entries) {
        set_error(q, "refcount table growth does not converge");
        return -1;
    }
    uint64_t *rt = calloc(entries, 8);
    uint8_t *buf = calloc(1, cs > n * cs ? cs : n * cs);
    if (!rt || !buf) {
        free(rt);
        free(buf);
        set_error(q, "out of memory");
        return -1;
    }
    memcpy(rt, q->rt, q->rt_entries * 8);
    int rc = -1;
    uint64_t next_block = t + n;
    for (uint64_t i = t >> per_block_bits; i <= (t + n + k - 1) >> per_block_bits; i++) {
        uint64_t first = i << per_block_bits, last = first + (1ull << per_block_bits) - 1;
        uint64_t lo = first > t ? first : t, hi = last < t + n + k - 1 ? last : t + n + k - 1;
        if (i < q->rt_entries && q->rt[i]) {
            for (uint64_t c = lo; c <= hi; c++)
                if (set_refcount(q, c, 1) < 0) goto out;
            continue;
        }
        memset(buf, 0, cs);
        for (uint64_t c = lo; c <= hi; c++)
            refcount_in_buf(q, buf, c, 1);
        rt[i] = next_block << q->cluster_bits;
        if (pwrite_all(q, buf, cs, rt[i]) < 0) goto out;
        next_block++;
    }
    memset(buf, 0, n * cs);
    for (uint64_t i = 0; i < entries; i++)
        put_be64(buf + i * 8, rt[i]);
    if (pwrite_all(q, buf, n * cs, t << q->cluster_bits) < 0 || barrier(q) < 0) goto out;
    uint8_t hdr[12];
    put_be64(hdr, t << q->cluster_bits);
    put_be32(hdr + 8, (uint32_t)n);
    if (pwrite_all(q, hdr, sizeof hdr, 48) < 0 || barrier(q) < 0) goto out;
    uint64_t old_off = q->rt_offset, old_n = q->rt_clusters;
    free(q->rt);
    q->rt = rt;
    rt = NULL;
    q->rt_entries = entries;
    q->rt_offset = t << q->cluster_bits;
    q->rt_clusters = (uint32_t)n;
    q->alloc_hint = t + n + k;
    rc = 0;
    for (uint64_t c = 0; c < old_n; c++) /* the old table: leaked if this fails */
        if (set_refcount(q, (old_off >> q->cluster_bits) + c, 0) < 0) rc = -1;
out:
    free(rt);
    free(buf);
    return rc;
}

/* A new cluster with refcount 1 (written before anything refers to it);
 * its host offset in *off. */
static int alloc_cluster(Qcow2 *q, uint64_t *off) {
    uint64_t cs = q->cluster_size;
    for (int tries = 0; tries < 4; tries++) {
        uint64_t start = q->alloc_hint, end = (q->file_end + cs - 1) / cs, c;
        if (start < end) start = end;
        if (find_free(q, start, &c) < 0) return -1;
        uint64_t idx = c >> refblock_bits(q);
        if (idx >= q->rt_entries) {
            if (grow_refcount_table(q, c) < 0) return -1;
            continue;
        }
        if (q->rt[idx] == 0) {
            /* No block covers c: every cluster of its range is free. The
             * new block goes next to c, in that range, and counts both. */
            uint64_t first = idx << refblock_bits(q);
            uint64_t b = ((c + 1) >> refblock_bits(q)) == idx ? c + 1 : c - 1;
            if (b < first || cluster_is_metadata(q, b << q->cluster_bits)) {
                set_error(q, "no room for a refcount block");
                return -1;
            }
            uint8_t *buf = calloc(1, cs);
            if (!buf) return -1;
            refcount_in_buf(q, buf, c, 1);
            refcount_in_buf(q, buf, b, 1);
            uint8_t e[8];
            put_be64(e, b << q->cluster_bits);
            int r = pwrite_all(q, buf, cs, b << q->cluster_bits);
            free(buf);
            if (r < 0 || barrier(q) < 0 || pwrite_all(q, e, 8, q->rt_offset + idx * 8) < 0)
                return -1;
            q->rt[idx] = b << q->cluster_bits;
            if (b + 1 > c + 1 && b + 1 > q->alloc_hint) q->alloc_hint = b + 1;
        } else if (set_refcount(q, c, 1) < 0) {
            return -1;
        }
        if (c + 1 > q->alloc_hint) q->alloc_hint = c + 1;
        *off = c << q->cluster_bits;
        return 0;
    }
    set_error(q, "cannot allocate a cluster");
    return -1;
}

/* Drop one reference to each cluster in [off, off+len). */
static int free_range(Qcow2 *q, uint64_t off, uint64_t len) {
    uint64_t first = off >> q->cluster_bits, last = (off + len - 1) >> q->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        uint64_t rc;
        if (get_refcount(q, c, &rc) < 0) return -1;
        if (rc == 0) {
            set_error(q, "cluster %llu freed with refcount 0", (unsigned long long)c);
            return -1;
        }
        if (set_refcount(q, c, rc - 1) < 0) return -1;
    }
    return 0;
}

/* ---------------- mapping ---------------- */

/* The L2 table offset for guest offset off (0: none) and the L1 index. */
static int l2_table(Qcow2 *q, uint64_t off, uint64_t *l2, uint32_t *l1_index) {
    uint64_t idx = off >> (q->cluster_bits + q->l2_bits);
    *l2 = 0;
    *l1_index = (uint32_t)idx;
    if (idx >= q->l1_size) return 0; /* cannot happen: l1_size covers the size */
    uint64_t e = q->l1[idx];
    if (e & ~(L1E_OFFSET_MASK | OFLAG_COPIED)) {
        set_error(q, "L1 entry %llu has reserved bits set", (unsigned long long)idx);
        return -1;
    }
    uint64_t t = e & L1E_OFFSET_MASK;
    if (t && !check_cluster_offset(q, t, "L2 table")) return -1;
    *l2 = t;
    return 0;
}

static int l2_entry(Qcow2 *q, uint64_t l2, uint64_t off, uint64_t *entry) {
    uint64_t idx = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
    uint8_t b[8];
    if (pread_zero(q->fd, b, 8, l2 + idx * 8) < 0) {
        set_error(q, "reading an L2 table failed: %s", strerror(errno));
        return -1;
    }
    *entry = be64(b);
    return 0;
}

static int read_backing(Qcow2 *q, uint64_t off, size_t len, uint8_t *buf) {
    size_t n = 0;
    if (off < q->backing_size)
        n = q->backing_size - off < len ? (size_t)(q->backing_size - off) : len;
    memset(buf + n, 0, len - n);
    if (!n) return 0;
    if (q->backing) return qcow2_read(q->backing, off, n, buf);
    if (pread_zero(q->backing_fd, buf, n, off) < 0) {
        set_error(q, "reading the backing file failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Decompress the cluster of a compressed L2 entry into q->dbuf. */
static int decompress(Qcow2 *q, uint64_t entry) {
    if (q->dbuf_entry == entry) return 0;
    unsigned shift = 62 - (q->cluster_bits - 8);
    uint64_t coff = entry & ((1ull << shift) - 1);
    uint64_t nsect = ((entry & ~OFLAG_COPIED & ~OFLAG_COMPRESSED) >> shift) + 1;
    uint64_t clen = nsect * 512 - (coff & 511);
    if (coff < q->cluster_size || coff >= q->file_end) {
        set_error(q, "compressed cluster at 0x%llx is outside the file", (unsigned long long)coff);
        return -1;
    }
    if (clen > q->file_end - coff) clen = q->file_end - coff;
    if (pread_zero(q->fd, q->cbuf, clen, coff) < 0) {
        set_error(q, "reading a compressed cluster failed: %s", strerror(errno));
        return -1;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) return -1;
    z.next_in = q->cbuf;
    z.avail_in = (uInt)clen;
    z.next_out = q->dbuf;
    z.avail_out = (uInt)q->cluster_size;
    int r = inflate(&z, Z_FINISH);
    bool full = z.avail_out == 0;
    inflateEnd(&z);
    if (!full || (r != Z_STREAM_END && r != Z_BUF_ERROR && r != Z_OK)) {
        q->dbuf_entry = 0;
        set_error(q, "compressed cluster at 0x%llx does not inflate to a full cluster",
                  (unsigned long long)coff);
        return -1;
    }
    q->dbuf_entry = entry;
    return 0;
}

/* Read [off, off+len) within one cluster. */
static int read_chunk(Qcow2 *q, uint64_t off, size_t len, uint8_t *buf) {
    uint64_t l2, entry = 0;
    uint32_t l1i;
    if (l2_table(q, off, &l2, &l1i) < 0) return -1;
    if (l2 && l2_entry(q, l2, off, &entry) < 0) return -1;
    uint64_t in = off & (q->cluster_size - 1);
    if (entry & OFLAG_COMPRESSED) {
        if (decompress(q, entry) < 0) return -1;
        memcpy(buf, q->dbuf + in, len);
        return 0;
    }
    uint64_t host = entry & L2E_OFFSET_MASK;
    if (entry & ~(L2E_OFFSET_MASK | OFLAG_COPIED | OFLAG_ZERO) ||
        (q->version < 3 && (entry & OFLAG_ZERO))) {
        set_error(q, "L2 entry for offset 0x%llx has reserved bits set", (unsigned long long)off);
        return -1;
    }
    if (entry & OFLAG_ZERO) {
        memset(buf, 0, len);
        return 0;
    }
    if (!host) return read_backing(q, off, len, buf);
    if (!check_cluster_offset(q, host, "data cluster")) return -1;
    if (pread_zero(q->fd, buf, len, host + in) < 0) {
        set_error(q, "read failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int qcow2_read(Qcow2 *q, uint64_t offset, size_t len, void *buf) {
    if (offset > q->size || len > q->size - offset) return -1;
    uint8_t *p = buf;
    while (len) {
        size_t n = (size_t)(q->cluster_size - (offset & (q->cluster_size - 1)));
        if (n > len) n = len;
        if (read_chunk(q, offset, n, p) < 0) return -1;
        p += n;
        offset += n;
        len -= n;
    }
    return 0;
}

/* One cluster of a write that needs a new cluster: where its L2 entry
 * goes, the new entry, and the old one (whose cluster loses a reference). */
typedef struct Pending {
    uint32_t l1i;
    uint64_t l2; /* existing L2 table, or 0: new_l2 of the first pending with this l1i */
    uint64_t new_l2;
    uint64_t idx, entry, old;
} Pending;

/* Pass 1 for [off, off+len) within one cluster: in place if the cluster
 * is ours alone (COPIED); otherwise the old contents merged with the new
 * bytes go to a new cluster (refcount raised first), and the L2 update
 * waits in *p (return 1). */
static int write_chunk(Qcow2 *q, uint64_t off, size_t len, const uint8_t *buf, uint8_t *scratch,
                       Pending *pend, size_t npend) {
    uint64_t l2, entry = 0, cs = q->cluster_size;
    uint32_t l1i;
    if (l2_table(q, off, &l2, &l1i) < 0) return -1;
    if (l2 && !(q->l1[l1i] & OFLAG_COPIED)) {
        set_error(q, "L2 table at 0x%llx is shared (no COPIED flag): writing it is not supported",
                  (unsigned long long)l2);
        return -1;
    }
    if (l2 && l2_entry(q, l2, off, &entry) < 0) return -1;
    uint64_t in = off & (cs - 1), host = entry & L2E_OFFSET_MASK;
    bool compressed = entry & OFLAG_COMPRESSED;
    if (!compressed && (entry & ~(L2E_OFFSET_MASK | OFLAG_COPIED | OFLAG_ZERO))) {
        set_error(q, "L2 entry for offset 0x%llx has reserved bits set", (unsigned long long)off);
        return -1;
    }
    if (!compressed && host && !(entry & OFLAG_ZERO) && (entry & OFLAG_COPIED)) {
        if (!check_cluster_offset(q, host, "data cluster")) return -1;
        return pwrite_all(q, buf, len, host + in);
    }
    if (!compressed && host && !check_cluster_offset(q, host, "data cluster")) return -1;
    /* The whole new cluster: old contents (unless all overwritten) + new. */
    uint64_t base = off - in;
    size_t valid = q->size - base < cs ? (size_t)(q->size - base) : (size_t)cs;
    memset(scratch, 0, cs);
    if (len < valid && qcow2_read(q, base, valid, scratch) < 0) return -1;
    memcpy(scratch + in, buf, len);
    Pending *p = &pend[npend];
    memset(p, 0, sizeof *p);
    p->l1i = l1i;
    p->l2 = l2;
    p->idx = (off >> q->cluster_bits) & ((1ull << q->l2_bits) - 1);
    p->old = entry;
    uint64_t data;
    if (alloc_cluster(q, &data) < 0) return -1;
    p->entry = data | OFLAG_COPIED;
    if (!l2) {
        bool shared = false;
        for (size_t i = 0; i < npend; i++)
            if (pend[i].l1i == l1i && !pend[i].l2) shared = true;
        if (!shared && alloc_cluster(q, &p->new_l2) < 0) return -1;
    }
    if (pwrite_all(q, scratch, cs, data) < 0) return -1;
    return 1;
}

/* Passes 2 and 3: the references (L2 entries; a new L2 table whole, then
 * its L1 entry), then the old clusters' refcounts lowered. */
static int commit_pending(Qcow2 *q, Pending *pend, size_t n, uint8_t *scratch) {
    if (!n) return 0;
    if (barrier(q) < 0) return -1; /* refcounts and data before the references */
    uint8_t e[8];
    for (size_t i = 0; i < n; i++) {
        Pending *p = &pend[i];
        if (p->l2) {
            put_be64(e, p->entry);
            if (pwrite_all(q, e, 8, p->l2 + p->idx * 8) < 0) return -1;
        } else if (p->new_l2) {
            memset(scratch, 0, q->cluster_size);
            for (size_t j = i; j < n; j++)
                if (pend[j].l1i == p->l1i && !pend[j].l2)
                    put_be64(scratch + pend[j].idx * 8, pend[j].entry);
            if (pwrite_all(q, scratch, q->cluster_size, p->new_l2) < 0 || barrier(q) < 0) return -1;
            put_be64(e, p->new_l2 | OFLAG_COPIED);
            if (pwrite_all(q, e, 8, q->l1_offset + (uint64_t)p->l1i * 8) < 0) return -1;
            q->l1[p->l1i] = p->new_l2 | OFLAG_COPIED;
        }
    }
    bool synced = false;
    for (size_t i = 0; i < n; i++) {
        uint64_t old = pend[i].old;
        uint64_t from, len;
        if (old & OFLAG_COMPRESSED) {
            unsigned shift = 62 - (q->cluster_bits - 8);
            from = (old & ((1ull << shift) - 1)) & ~511ull;
            len = (((old & ~OFLAG_COPIED & ~OFLAG_COMPRESSED) >> shift) + 1) * 512;
            if (q->dbuf_entry == old) q->dbuf_entry = 0;
        } else if (old & L2E_OFFSET_MASK) {
            from = old & L2E_OFFSET_MASK;
            len = q->cluster_size;
        } else {
            continue;
        }
        if (!synced && barrier(q) < 0) return -1; /* the references gone first */
        synced = true;
        if (free_range(q, from, len) < 0) return -1;
    }
    return 0;
}

int qcow2_write(Qcow2 *q, uint64_t offset, size_t len, const void *buf) {
    if (q->read_only || offset > q->size || len > q->size - offset) return -1;
    size_t max = (size_t)(len / q->cluster_size + 2), n = 0;
    uint8_t *scratch = malloc(q->cluster_size);
    Pending *pend = calloc(max, sizeof *pend);
    if (!scratch || !pend) {
        free(scratch);
        free(pend);
        return -1;
    }
    const uint8_t *p = buf;
    int rc = 0;
    while (len) {
        size_t c = (size_t)(q->cluster_size - (offset & (q->cluster_size - 1)));
        if (c > len) c = len;
        int r = write_chunk(q, offset, c, p, scratch, pend, n);
        if (r < 0) {
            rc = -1;
            break;
        }
        n += (size_t)r;
        p += c;
        offset += c;
        len -= c;
    }
    /* After a failure the clusters already written are still committed
     * (the data is good); the rest leak at worst. */
    if (commit_pending(q, pend, n, scratch) < 0) rc = -1;
    free(scratch);
    free(pend);
    return rc;
}

int qcow2_flush(Qcow2 *q) {
    if (q->read_only) return 0;
    if (fdatasync(q->fd) < 0) {
        set_error(q, "fdatasync failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

uint64_t qcow2_size(const Qcow2 *q) {
    return q->size;
}

void qcow2_close(Qcow2 *q) {
    if (!q) return;
    qcow2_close(q->backing);
    if (q->backing_fd >= 0) close(q->backing_fd);
    if (q->fd >= 0) close(q->fd);
    free(q->l1);
    free(q->rt);
    free(q->cbuf);
    free(q->dbuf);
    free(q->path);
    free(q);
}

/* ---------------- open ---------------- */

typedef struct Chain { /* the images above, for loop detection */
    dev_t dev;
    ino_t ino;
    const struct Chain *up;
    int depth;
} Chain;

static Qcow2 *open_chain(const char *path, int fd, bool read_only, bool barriers, const Chain *up,
                         char *err, size_t errlen);

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        char m_[240];                                                                              \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                      \
        snprintf(err, errlen, "%s: %s", path, m_);                                                 \
        goto fail;                                                                                 \
    } while (0)

/* The backing file: name relative to the overlay's directory, format from
 * the header extension or probed, opened read-only with a read lock. */
static bool open_backing(Qcow2 *q, const char *path, const char *name, const char *fmt,
                         const Chain *chain, char *err, size_t errlen) {
    char full[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (name[0] == '/' || !slash)
        snprintf(full, sizeof full, "%s", name);
    else
        snprintf(full, sizeof full, "%.*s/%s", (int)(slash - path), path, name);
    if (chain->depth >= QCOW2_MAX_DEPTH) {
        snprintf(err, errlen, "%s: backing chain deeper than %d images", path, QCOW2_MAX_DEPTH);
        return false;
    }
    int fd = open(full, O_RDONLY | O_NONBLOCK | O_NOCTTY); /* a FIFO must not block us */
    if (fd < 0) {
        snprintf(err, errlen, "%s: backing file %s: %s", path, full, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: backing file %s is not a regular file", path, full);
        close(fd);
        return false;
    }
    for (const Chain *c = chain; c; c = c->up)
        if (c->dev == st.st_dev && c->ino == st.st_ino) {
            snprintf(err, errlen, "%s: backing chain loops back to %s", path, full);
            close(fd);
            return false;
        }
    if (disk_lock_image(fd, false, full, err, errlen) < 0) {
        close(fd);
        return false;
    }
    DiskFormat f;
    if (!fmt) {
        f = disk_probe_format(fd);
    } else if (strcmp(fmt, "raw") == 0) {
        f = DISK_FORMAT_RAW;
    } else if (strcmp(fmt, "qcow2") == 0) {
        f = DISK_FORMAT_QCOW2;
    } else {
        snprintf(err, errlen, "%s: backing file format '%s' is not supported (raw, qcow2)", path,
                 fmt);
        close(fd);
        return false;
    }
    if (f == DISK_FORMAT_RAW) {
        q->backing_fd = fd;
        q->backing_size = (uint64_t)st.st_size;
        return true;
    }
    Chain me = {st.st_dev, st.st_ino, chain, chain->depth + 1};
    q->backing = open_chain(full, fd, true, false, &me, err, errlen);
    if (!q->backing) return false;
    q->backing_size = q->backing->size;
    return true;
}

static Qcow2 *open_chain(const char *path, int fd, bool read_only, bool barriers, const Chain *up,
                         char *err, size_t errlen) {
    Qcow2 *q = calloc(1, sizeof *q);
    if (!q) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    q->fd = fd;
    q->backing_fd = -1;
    q->path = strdup(path);
    q->read_only = read_only;
    q->barriers = barriers && !read_only;
    uint8_t *cluster0 = NULL;
    struct stat st;
    if (!q->path || fstat(fd, &st) < 0) FAIL("cannot stat: %s", strerror(errno));
    q->file_end = (uint64_t)st.st_size;
    uint8_t h[112];
    if (q->file_end < 72)
        FAIL("truncated qcow2 header (%llu bytes)", (unsigned long long)q->file_end);
    if (pread_zero(fd, h, sizeof h, 0) < 0) FAIL("cannot read the header: %s", strerror(errno));
    if (be32(h) != QCOW2_MAGIC) FAIL("not a qcow2 image (bad magic)");
    q->version = be32(h + 4);
    if (q->version != 2 && q->version != 3)
        FAIL("qcow2 version %u is not supported (2, 3)", q->version);
    uint64_t backing_off = be64(h + 8);
    uint32_t backing_len = be32(h + 16);
    q->cluster_bits = be32(h + 20);
    if (q->cluster_bits < 9 || q->cluster_bits > 21)
        FAIL("cluster_bits %u out of range (9..21)", q->cluster_bits);
    q->cluster_size = 1ull << q->cluster_bits;
    q->l2_bits = q->cluster_bits - 3;
    q->size = be64(h + 24);
    uint32_t crypt = be32(h + 32);
    q->l1_size = be32(h + 36);
    q->l1_offset = be64(h + 40);
    q->rt_offset = be64(h + 48);
    q->rt_clusters = be32(h + 56);
    uint32_t nb_snapshots = be32(h + 60);
    uint64_t incompat = 0, autoclear = 0;
    uint32_t header_len = 72;
    q->refcount_order = 4;
    if (q->version == 3) {
        if (q->file_end < 104)
            FAIL("truncated qcow2 header (%llu bytes)", (unsigned long long)q->file_end);
        incompat = be64(h + 72);
        autoclear = be64(h + 88);
        q->refcount_order = be32(h + 96);
        header_len = be32(h + 100);
        if (header_len < 104 || header_len > q->cluster_size || header_len % 8)
            FAIL("header length %u is invalid", header_len);
        if (q->file_end < header_len)
            FAIL("truncated qcow2 header (%llu bytes)", (unsigned long long)q->file_end);
    }
    if (crypt) FAIL("encrypted qcow2 images are not supported");
    if (incompat & INCOMPAT_DATA_FILE) FAIL("qcow2 external data files are not supported");
    if (incompat & INCOMPAT_EXTL2)
        FAIL("qcow2 extended L2 entries (subclusters) are not supported");
    if (incompat & INCOMPAT_COMPRESSION) {
        if (header_len < 105) FAIL("compression type bit set but no compression type field");
        if (h[104] != 0)
            FAIL("qcow2 compression type %u (zstd) is not supported (zlib only)", h[104]);
    }
    if (incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION))
        FAIL("unknown qcow2 incompatible feature bits 0x%llx",
             (unsigned long long)(incompat &
                                  ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION)));
    if (!read_only && (incompat & INCOMPAT_CORRUPT))
        FAIL("image is marked corrupt: repair it (qemu-img check -r all) or open it read-only");
    if (!read_only && (incompat & INCOMPAT_DIRTY))
        FAIL("image is marked dirty (lazy refcounts): run qemu-img check -r all first");
    if (!read_only && nb_snapshots)
        FAIL("image has %u internal snapshots: writing it is not supported (use -snapshot or "
             "readonly=on)",
             nb_snapshots);
    if (q->refcount_order > 6) FAIL("refcount order %u too big (at most 6)", q->refcount_order);
    if (q->size > QCOW2_MAX_SIZE) FAIL("virtual size %llu too big", (unsigned long long)q->size);
    /* L1: covers the size, inside the file, bounded, not over the header. */
    uint64_t l1_need =
        (q->size + (1ull << (q->cluster_bits + q->l2_bits)) - 1) >> (q->cluster_bits + q->l2_bits);
    if ((uint64_t)q->l1_size * 8 > QCOW2_MAX_L1_BYTES)
        FAIL("L1 table too big (%u entries)", q->l1_size);
    if (q->l1_size < l1_need)
        FAIL("L1 table too small for the virtual size (%u < %llu entries)", q->l1_size,
             (unsigned long long)l1_need);
    if (q->l1_size && (q->l1_offset & (q->cluster_size - 1)))
        FAIL("L1 table offset 0x%llx not cluster-aligned", (unsigned long long)q->l1_offset);
    if (q->l1_size && q->l1_offset < q->cluster_size) FAIL("L1 table overlaps the header");
    if (q->l1_offset > q->file_end || (uint64_t)q->l1_size * 8 > q->file_end - q->l1_offset)
        FAIL("L1 table (offset 0x%llx, %u entries) past the end of the file",
             (unsigned long long)q->l1_offset, q->l1_size);
    /* Refcount table: same rules, and not overlapping L1. */
    uint64_t rt_bytes = (uint64_t)q->rt_clusters * q->cluster_size;
    if (rt_bytes == 0 || rt_bytes > QCOW2_MAX_RT_BYTES)
        FAIL("refcount table size %u clusters invalid", q->rt_clusters);
    if (q->rt_offset & (q->cluster_size - 1))
        FAIL("refcount table offset 0x%llx not cluster-aligned", (unsigned long long)q->rt_offset);
    if (q->rt_offset < q->cluster_size) FAIL("refcount table overlaps the header");
    if (q->rt_offset > q->file_end || rt_bytes > q->file_end - q->rt_offset)
        FAIL("refcount table (offset 0x%llx, %u clusters) past the end of the file",
             (unsigned long long)q->rt_offset, q->rt_clusters);
    if (overlaps(q->rt_offset, rt_bytes, q->l1_offset, (uint64_t)q->l1_size * 8))
        FAIL("refcount table and L1 table overlap");
    q->l1 = calloc(q->l1_size ? q->l1_size : 1, 8);
    q->rt_entries = rt_bytes / 8;
    q->rt = malloc(rt_bytes);
    q->cbuf = malloc(2 * q->cluster_size);
    q->dbuf = malloc(q->cluster_size);
    cluster0 = calloc(1, q->cluster_size);
    if (!q->l1 || !q->rt || !q->cbuf || !q->dbuf || !cluster0) FAIL("out of memory");
    if (pread_zero(fd, q->rt, rt_bytes, q->rt_offset) < 0 ||
        pread_zero(fd, q->l1, (size_t)q->l1_size * 8, q->l1_offset) < 0 ||
        pread_zero(fd, cluster0, q->cluster_size, 0) < 0)
        FAIL("cannot read the tables: %s", strerror(errno));
    for (uint64_t i = 0; i < q->rt_entries; i++)
        q->rt[i] = be64((uint8_t *)&q->rt[i]);
    for (uint32_t i = 0; i < q->l1_size; i++)
        q->l1[i] = be64((uint8_t *)&q->l1[i]);
    /* Header extensions, inside cluster 0. */
    char backing_fmt[32] = "";
    for (uint64_t at = header_len;;) {
        if (at + 8 > q->cluster_size) FAIL("header extensions run past the first cluster");
        uint32_t type = be32(cluster0 + at), len = be32(cluster0 + at + 4);
        if (type == EXT_END) break;
        if (len > q->cluster_size - at - 8)
            FAIL("header extension 0x%x runs past the first cluster", type);
        if (type == EXT_BACKING_FORMAT) {
            if (len == 0 || len >= sizeof backing_fmt) FAIL("backing format name of %u bytes", len);
            memcpy(backing_fmt, cluster0 + at + 8, len);
            backing_fmt[len] = 0;
        }
        at += 8 + ((len + 7ull) & ~7ull);
    }
    if (backing_off) {
        if (backing_len == 0 || backing_len > 1023)
            FAIL("backing file name length %u invalid", backing_len);
        if (backing_off >= q->cluster_size || backing_len > q->cluster_size - backing_off)
            FAIL("backing file name outside the first cluster");
        if (backing_off < header_len) FAIL("backing file name overlaps the header");
        char name[1024];
        memcpy(name, cluster0 + backing_off, backing_len);
        name[backing_len] = 0;
        if (strlen(name) != backing_len) FAIL("backing file name contains a NUL byte");
        Chain me = {st.st_dev, st.st_ino, up, up ? up->depth : 0};
        if (!open_backing(q, path, name, backing_fmt[0] ? backing_fmt : NULL, &me, err, errlen))
            goto fail_quiet;
    }
    free(cluster0);
    cluster0 = NULL;
    if (!read_only && autoclear) { /* we keep no bitmaps: they go stale, say so */
        uint8_t z[8] = {0};
        if (pwrite_all(q, z, 8, 88) < 0 || barrier(q) < 0)
            FAIL("cannot clear the autoclear features");
    }
    q->alloc_hint = (q->file_end + q->cluster_size - 1) >> q->cluster_bits;
    return q;
fail:
fail_quiet:
    free(cluster0);
    qcow2_close(q);
    return NULL;
}

Qcow2 *qcow2_open(const char *path, int fd, bool read_only, bool barriers, char *err,
                  size_t errlen) {
    return open_chain(path, fd, read_only, barriers, NULL, err, errlen);
}
