/*
 * snap.c - the snapshot serializer and file container (see snap.h).
 */
#include "snap/snap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ---------------- writing ---------------- */

SnapWriter *snap_writer_new(void) {
    SnapWriter *w = calloc(1, sizeof *w);
    if (w) w->section_at = SIZE_MAX;
    return w;
}

void snap_writer_free(SnapWriter *w) {
    if (!w) return;
    free(w->buf);
    free(w);
}

static bool reserve(SnapWriter *w, size_t more) {
    if (w->oom) return false;
    if (more <= w->cap - w->len) return true;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - w->len < more) {
        if (cap > SIZE_MAX / 2) {
            w->oom = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *b = realloc(w->buf, cap);
    if (!b) {
        w->oom = true;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

void snap_put_bytes(SnapWriter *w, const void *data, size_t len) {
    if (!len || !reserve(w, len)) return;
    memcpy(w->buf + w->len, data, len);
    w->len += len;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void put_n(SnapWriter *w, uint64_t v, unsigned n) {
    uint8_t b[8];
    put_le(b, v, n);
    snap_put_bytes(w, b, n);
}

void snap_put_u8(SnapWriter *w, uint8_t v) {
    put_n(w, v, 1);
}
void snap_put_u16(SnapWriter *w, uint16_t v) {
    put_n(w, v, 2);
}
void snap_put_u32(SnapWriter *w, uint32_t v) {
    put_n(w, v, 4);
}
void snap_put_u64(SnapWriter *w, uint64_t v) {
    put_n(w, v, 8);
}
void snap_put_bool(SnapWriter *w, bool v) {
    put_n(w, v ? 1 : 0, 1);
}

void snap_put_zblob(SnapWriter *w, const void *data, size_t len) {
    uLong bound = compressBound((uLong)len);
    snap_put_u64(w, len);
    size_t at = w->len;
    snap_put_u64(w, 0);
    if (!reserve(w, bound)) return;
    z_stream z = {0};
    if (deflateInit(&z, Z_BEST_SPEED) != Z_OK) {
        w->oom = true;
        return;
    }
    z.next_in = (Bytef *)(uintptr_t)data;
    z.next_out = w->buf + w->len;
    size_t left = len, out_left = bound;
    int rc;
    do { /* zlib counts in uInt: feed big buffers in pieces */
        uInt in = left > (1u << 30) ? (1u << 30) : (uInt)left;
        uInt out = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
        z.avail_in = in;
        z.avail_out = out;
        rc = deflate(&z, left == in ? Z_FINISH : Z_NO_FLUSH);
        left -= in - z.avail_in;
        out_left -= out - z.avail_out;
    } while (rc == Z_OK || (rc == Z_BUF_ERROR && out_left));
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        w->oom = true;
        return;
    }
    size_t clen = bound - out_left;
    put_le(w->buf + at, clen, 8);
    w->len += clen;
}

void snap_begin(SnapWriter *w, const char *tag, uint32_t version) {
    uint8_t t[SNAP_TAG_LEN] = {0};
    size_t n = strlen(tag);
    memcpy(t, tag, n < SNAP_TAG_LEN ? n : SNAP_TAG_LEN);
    w->section_at = w->len;
    snap_put_bytes(w, t, sizeof t);
    snap_put_u32(w, version);
    snap_put_u64(w, 0);
}

void snap_end(SnapWriter *w) {
    if (w->section_at == SIZE_MAX || w->oom) return;
    size_t start = w->section_at + SNAP_SECTION_HEAD;
    put_le(w->buf + w->section_at + SNAP_TAG_LEN + 4, w->len - start, 8);
    w->section_at = SIZE_MAX;
}

/* ---------------- reading ---------------- */

void snap_reader_init(SnapReader *r, const void *data, size_t len, const char *section,
                      uint32_t version, bool apply) {
    memset(r, 0, sizeof *r);
    r->p = data;
    r->len = len;
    r->section = section;
    r->version = version;
    r->apply = apply;
}

void snap_fail(SnapReader *r, const char *fmt, ...) {
    if (r->failed) return;
    r->failed = true;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, sizeof r->err, "section '%s': %s", r->section ? r->section : "?", msg);
}

bool snap_check(SnapReader *r, bool cond, const char *what) {
    if (!cond) snap_fail(r, "%s", what);
    return cond;
}

bool snap_get_bytes(SnapReader *r, void *dst, size_t len) {
    if (r->failed) return false;
    if (len > r->len - r->pos) {
        snap_fail(r, "truncated (%zu bytes wanted at offset %zu of %zu)", len, r->pos, r->len);
        return false;
    }
    if (dst) memcpy(dst, r->p + r->pos, len);
    r->pos += len;
    return true;
}

static uint64_t get_n(SnapReader *r, unsigned n) {
    uint8_t b[8];
    if (!snap_get_bytes(r, b, n)) return 0;
    return get_le(b, n);
}

uint8_t snap_get_u8(SnapReader *r) {
    return (uint8_t)get_n(r, 1);
}
uint16_t snap_get_u16(SnapReader *r) {
    return (uint16_t)get_n(r, 2);
}
uint32_t snap_get_u32(SnapReader *r) {
    return (uint32_t)get_n(r, 4);
}
uint64_t snap_get_u64(SnapReader *r) {
    return get_n(r, 8);
}

bool snap_get_bool(SnapReader *r) {
    uint8_t v = snap_get_u8(r);
    snap_check(r, v <= 1, "a flag is neither 0 nor 1");
    return v == 1;
}

bool snap_version(SnapReader *r, uint32_t max) {
    if (r->version >= 1 && r->version <= max) return true;
    snap_fail(r, "version %u (this bt86 reads 1 to %u)", r->version, max);
    return false;
}

bool snap_finish(SnapReader *r) {
    if (!r->failed && r->pos != r->len)
        snap_fail(r, "%zu bytes left over (written by another bt86?)", r->len - r->pos);
    return !r->failed;
}

/* Inflate exactly `clen` bytes at src into exactly `len` bytes at dst (or
 * into a scratch buffer when dst is NULL, only to check them). */
static bool inflate_exact(SnapReader *r, const uint8_t *src, size_t clen, uint8_t *dst,
                          size_t len) {
    static uint8_t scratch[65536];
    z_stream z = {0};
    if (inflateInit(&z) != Z_OK) {
        snap_fail(r, "zlib: out of memory");
        return false;
    }
    size_t in_left = clen, out_done = 0;
    bool ok = false;
    for (;;) {
        if (z.avail_in == 0 && in_left) {
            z.next_in = (Bytef *)(uintptr_t)(src + (clen - in_left));
            z.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            in_left -= z.avail_in;
        }
        uint8_t sink; /* a byte of room past the end shows a stream that is too long */
        size_t room = len - out_done;
        uint8_t *out = room == 0 ? &sink : dst ? dst + out_done : scratch;
        size_t max = room == 0 ? 1 : dst ? (1u << 30) : sizeof scratch;
        z.next_out = out;
        z.avail_out = (uInt)(room == 0 ? 1 : room < max ? room : max);
        uInt given = z.avail_out;
        int rc = inflate(&z, Z_NO_FLUSH);
        size_t produced = given - z.avail_out;
        if (room == 0 && produced) break;
        out_done += produced;
        if (rc == Z_STREAM_END) {
            ok = out_done == len && in_left == 0 && z.avail_in == 0;
            break;
        }
        if (rc != Z_OK) break;
    }
    inflateEnd(&z);
    if (!ok) snap_fail(r, "compressed data corrupt or of the wrong size");
    return ok;
}

/* The two lengths of a blob; false if they cannot be right. */
static bool blob_head(SnapReader *r, uint64_t *raw, uint64_t *clen) {
    *raw = snap_get_u64(r);
    *clen = snap_get_u64(r);
    if (r->failed) return false;
    if (*clen > r->len - r->pos) {
        snap_fail(r, "compressed blob runs past the end of the section");
        return false;
    }
    /* deflate cannot shrink data by more than about 1032:1 */
    if (*raw / 1100 > *clen + 64) {
        snap_fail(r, "compressed blob claims an impossible size");
        return false;
    }
    return true;
}

bool snap_get_zblob(SnapReader *r, void *dst, size_t len) {
    uint64_t raw, clen;
    if (!blob_head(r, &raw, &clen)) return false;
    if (raw != len) {
        snap_fail(r, "blob of %llu bytes where %zu belong", (unsigned long long)raw, len);
        return false;
    }
    if (!inflate_exact(r, r->p + r->pos, (size_t)clen, dst, len)) return false;
    r->pos += (size_t)clen;
    return true;
}

uint8_t *snap_get_zblob_alloc(SnapReader *r, size_t max, size_t *len) {
    uint64_t raw, clen;
    if (!blob_head(r, &raw, &clen)) return NULL;
    if (raw > max) {
        snap_fail(r, "blob of %llu bytes, more than the %zu allowed", (unsigned long long)raw, max);
        return NULL;
    }
    uint8_t *buf = malloc(raw ? (size_t)raw : 1);
    if (!buf) {
        snap_fail(r, "out of memory for %llu bytes", (unsigned long long)raw);
        return NULL;
    }
    if (!inflate_exact(r, r->p + r->pos, (size_t)clen, buf, (size_t)raw)) {
        free(buf);
        return NULL;
    }
    r->pos += (size_t)clen;
    *len = (size_t)raw;
    return buf;
}

/* ---------------- the file ---------------- */

uint32_t snap_crc32(uint32_t crc, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = (uint32_t)crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return crc;
}

void snap_reserve_header(SnapWriter *w) {
    uint8_t zero[SNAP_HEADER_SIZE] = {0};
    snap_put_bytes(w, zero, sizeof zero);
}

void snap_finish_header(SnapWriter *w, uint64_t ram_bytes, uint32_t machine_flags) {
    if (w->oom || w->len < SNAP_HEADER_SIZE) return;
    uint8_t *h = w->buf;
    memset(h, 0, SNAP_HEADER_SIZE);
    memcpy(h, SNAP_MAGIC, 8);
    put_le(h + 8, SNAP_FORMAT_VERSION, 4);
    put_le(h + 12, SNAP_HEADER_SIZE, 4);
    put_le(h + 20, w->len, 8);
    put_le(h + 28, ram_bytes, 8);
    put_le(h + 36, machine_flags, 4);
    put_le(h + 16, snap_crc32(0, h + 20, w->len - 20), 4);
}

bool snap_check_file(const uint8_t *data, size_t len, SnapHeader *h, char *err, size_t errlen) {
    if (len < 8 || memcmp(data, SNAP_MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a bt86 snapshot (no BT86SNAP magic)");
        return false;
    }
    if (len < SNAP_HEADER_SIZE) {
        snprintf(err, errlen, "truncated snapshot (%zu bytes, shorter than its header)", len);
        return false;
    }
    uint32_t version = (uint32_t)get_le(data + 8, 4);
    if (version != SNAP_FORMAT_VERSION) {
        snprintf(err, errlen, "snapshot format version %u; this bt86 reads version %u", version,
                 SNAP_FORMAT_VERSION);
        return false;
    }
    if (get_le(data + 12, 4) != SNAP_HEADER_SIZE) {
        snprintf(err, errlen, "corrupt snapshot header (header size)");
        return false;
    }
    uint64_t size = get_le(data + 20, 8);
    if (size != len) {
        snprintf(err, errlen, "truncated or padded snapshot: %zu bytes, the header says %llu", len,
                 (unsigned long long)size);
        return false;
    }
    uint32_t crc = (uint32_t)get_le(data + 16, 4);
    if (snap_crc32(0, data + 20, len - 20) != crc) {
        snprintf(err, errlen, "corrupt snapshot: checksum mismatch");
        return false;
    }
    h->version = version;
    h->ram_bytes = get_le(data + 28, 8);
    h->machine_flags = (uint32_t)get_le(data + 36, 4);
    return true;
}

int snap_split_sections(const uint8_t *data, size_t len, SnapSection *out, int max, char *err,
                        size_t errlen) {
    size_t pos = SNAP_HEADER_SIZE;
    int n = 0;
    while (pos < len) {
        if (len - pos < SNAP_SECTION_HEAD) {
            snprintf(err, errlen, "corrupt snapshot: a section header is cut off");
            return -1;
        }
        SnapSection s;
        memset(&s, 0, sizeof s);
        memcpy(s.tag, data + pos, SNAP_TAG_LEN);
        for (unsigned i = 0; i < SNAP_TAG_LEN; i++) {
            char c = s.tag[i];
            bool ok = c == 0 ? (i > 0) : (c >= 0x21 && c < 0x7F && (i == 0 || s.tag[i - 1]));
            if (!ok) {
                snprintf(err, errlen, "corrupt snapshot: bad section tag at offset %zu", pos);
                return -1;
            }
        }
        s.version = (uint32_t)get_le(data + pos + SNAP_TAG_LEN, 4);
        uint64_t slen = get_le(data + pos + SNAP_TAG_LEN + 4, 8);
        pos += SNAP_SECTION_HEAD;
        if (slen > len - pos) {
            snprintf(err, errlen, "corrupt snapshot: section '%s' runs past the end", s.tag);
            return -1;
        }
        s.data = data + pos;
        s.len = (size_t)slen;
        pos += (size_t)slen;
        for (int i = 0; i < n; i++) {
            if (strcmp(out[i].tag, s.tag) == 0) {
                snprintf(err, errlen, "corrupt snapshot: section '%s' twice", s.tag);
                return -1;
            }
        }
        if (n == max) {
            snprintf(err, errlen, "snapshot has more than %d sections", max);
            return -1;
        }
        out[n++] = s;
    }
    return n;
}

int snap_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory for %zu bytes", path, size);
        fclose(f);
        return -1;
    }
    if (fread(buf, 1, size, f) != size) {
        snprintf(err, errlen, "cannot read %s", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *data = buf;
    *len = size;
    return 0;
}

int snap_write_file(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen) {
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
