/*
 * snap.h - the snapshot serializer: a growing little-endian byte buffer to
 * write machine state into (SnapWriter), a bounds-checked cursor to read it
 * back (SnapReader), tagged sections, zlib-compressed blobs, and the
 * snapshot file's container (header with magic, format version, machine
 * configuration and a CRC32 of the whole file).
 *
 * This module sits below every other one (it depends on zlib only), so
 * the CPU, the MMU and each device can write and read their own state
 * without knowing about each other; devices/pc.c puts the sections
 * together into one file (pc_savevm / pc_loadvm).
 *
 * The file (all integers little endian):
 *     header (SNAP_HEADER_SIZE bytes):
 *       0  magic "BT86SNAP"          8  u32 format version (SNAP_FORMAT_VERSION)
 *       12 u32 header size           16 u32 CRC32 of every byte from offset 20 on
 *       20 u64 file size             28 u64 guest RAM bytes
 *       36 u32 machine flags (SNAP_MACHINE_*)   40..63 zero
 *     then sections, each:
 *       char tag[8] (NUL padded), u32 section version, u64 payload length, payload
 *
 * Reading is two-pass so that a bad file never leaves a machine half
 * loaded: every loader parses its section into staging variables and
 * validates it; with r->apply false it stops there, and only when every
 * section of the file passed does the caller run the loaders again with
 * r->apply true, which commits. A failed read sets a sticky error: every
 * later get returns 0, and snap_error() says what went wrong first.
 *
 * Use:
 *     SnapWriter *w = snap_writer_new();
 *     snap_begin(w, "pic", 1);  snap_put_u8(w, irr);  snap_end(w);
 *     ...
 *     SnapReader r; snap_reader_init(&r, payload, len, "pic", version, apply);
 *     uint8_t irr = snap_get_u8(&r);
 *     snap_check(&r, irr != 0xFF, "bad IRR");
 *     if (!snap_finish(&r)) return false;   // error, or bytes left over
 */
#ifndef BT86_SNAP_H
#define BT86_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC          "BT86SNAP"
#define SNAP_FORMAT_VERSION 1u
#define SNAP_HEADER_SIZE    64u
#define SNAP_TAG_LEN        8u
#define SNAP_SECTION_HEAD   (SNAP_TAG_LEN + 4u + 8u)

/* Machine flags in the header. */
#define SNAP_MACHINE_VGA 0x1u

/* ---- writing ---- */

typedef struct SnapWriter {
    uint8_t *buf;
    size_t len, cap;
    bool oom;          /* an allocation failed: the buffer is incomplete */
    size_t section_at; /* offset of the open section's header, or SIZE_MAX */
} SnapWriter;

SnapWriter *snap_writer_new(void);
void snap_writer_free(SnapWriter *w);
void snap_put_u8(SnapWriter *w, uint8_t v);
void snap_put_u16(SnapWriter *w, uint16_t v);
void snap_put_u32(SnapWriter *w, uint32_t v);
void snap_put_u64(SnapWriter *w, uint64_t v);
void snap_put_bool(SnapWriter *w, bool v);
void snap_put_bytes(SnapWriter *w, const void *data, size_t len);
/* Compressed with zlib: u64 raw length, u64 compressed length, the bytes. */
void snap_put_zblob(SnapWriter *w, const void *data, size_t len);
/* Open a section (tag: up to 8 characters) and close it (its length is
 * filled in). Sections do not nest. */
void snap_begin(SnapWriter *w, const char *tag, uint32_t version);
void snap_end(SnapWriter *w);

/* ---- reading ---- */

typedef struct SnapReader {
    const uint8_t *p;
    size_t len, pos;
    const char *section; /* for messages */
    uint32_t version;    /* the section's version as the file says */
    bool apply;          /* false: parse and validate only; true: commit */
    bool failed;
    char err[200];
} SnapReader;

void snap_reader_init(SnapReader *r, const void *data, size_t len, const char *section,
                      uint32_t version, bool apply);
uint8_t snap_get_u8(SnapReader *r);
uint16_t snap_get_u16(SnapReader *r);
uint32_t snap_get_u32(SnapReader *r);
uint64_t snap_get_u64(SnapReader *r);
/* A byte that must be 0 or 1. */
bool snap_get_bool(SnapReader *r);
/* Copy len bytes (dst may be NULL: skipped). False (and the error set) if
 * the section is shorter. */
bool snap_get_bytes(SnapReader *r, void *dst, size_t len);
/* A blob written by snap_put_zblob whose raw length must be exactly len;
 * inflated into dst, or only checked when dst is NULL. */
bool snap_get_zblob(SnapReader *r, void *dst, size_t len);
/* A blob of any raw length up to max: a new malloc'd buffer (free it), or
 * NULL on error. */
uint8_t *snap_get_zblob_alloc(SnapReader *r, size_t max, size_t *len);
/* Fail the read with a message unless cond holds; returns cond. */
bool snap_check(SnapReader *r, bool cond, const char *what);
/* Fail the read with a formatted message (the first error is kept). */
void snap_fail(SnapReader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fail unless the section's version is one this loader knows (1..max). */
bool snap_version(SnapReader *r, uint32_t max);
/* True when nothing failed and the whole section was read. */
bool snap_finish(SnapReader *r);
static inline bool snap_ok(const SnapReader *r) {
    return !r->failed;
}
static inline const char *snap_error(const SnapReader *r) {
    return r->err;
}

/* ---- the file ---- */

typedef struct SnapHeader {
    uint32_t version;
    uint64_t ram_bytes;
    uint32_t machine_flags;
} SnapHeader;

/* Put the header in front of the sections in w (w must start with
 * SNAP_HEADER_SIZE bytes reserved by snap_reserve_header) and fill in the
 * size and CRC. */
void snap_reserve_header(SnapWriter *w);
void snap_finish_header(SnapWriter *w, uint64_t ram_bytes, uint32_t machine_flags);
/* Check a whole file in memory: magic, format version, size, CRC. On
 * success fills *h; else a message in err. */
bool snap_check_file(const uint8_t *data, size_t len, SnapHeader *h, char *err, size_t errlen);

/* One section found in a file. */
typedef struct SnapSection {
    char tag[SNAP_TAG_LEN + 1];
    uint32_t version;
    const uint8_t *data;
    size_t len;
} SnapSection;

/* Split the sections after the header (the file already passed
 * snap_check_file). Returns the number found (at most max), or -1 with a
 * message on a malformed list (a length running past the end, a bad tag,
 * a tag twice, more than max). */
int snap_split_sections(const uint8_t *data, size_t len, SnapSection *out, int max, char *err,
                        size_t errlen);

/* Whole files: read (malloc'd buffer) and write (to a temporary name,
 * then renamed, so a failed write never leaves a half file). 0 or -1 with
 * a message. */
int snap_read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen);
int snap_write_file(const char *path, const uint8_t *data, size_t len, char *err, size_t errlen);

/* CRC32 (zlib's) of a buffer, for identities (disk images, ROMs). */
uint32_t snap_crc32(uint32_t crc, const void *data, size_t len);

#endif
