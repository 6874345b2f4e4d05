/*
 * replay.c - deterministic record/replay: the log format, its writer and
 * checked reader, and the session the main loop drives (see replay.h).
 */
#include "frontend/replay.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"

static const uint8_t rr_magic[8] = {'B', 'T', '8', '6', 'R', 'R', '\r', '\n'};

#define RR_MAX_PAYLOAD 4096u           /* bytes in one event */
#define RR_MAX_LOG     (1024ull << 20) /* a log file we agree to read */
#define RR_EVENT_HEAD  (1 + 8 + 2)     /* kind, icount, length */
#define RR_CONFIG_SIZE (16 + 4 + 4 + 8 + 1 + 1 + 4 + 8 + RR_NFILES * 16 + 16 + 16 + 16)
#define RR_CONFIG_CPU  (46 + RR_NFILES * 16) /* where the CPU model starts */
#define RR_HEADER_SIZE (8 + 4 + RR_CONFIG_SIZE)

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---------------- hashing ---------------- */

/* 8 bytes at a time through a multiply-and-shift mix (fast enough for
 * disk images), the tail byte by byte: the result depends on where the
 * pieces were cut, so files are hashed in whole 64 KiB pieces. Not
 * cryptographic: it tells an accidentally different file. */
uint64_t rr_hash(uint64_t seed, const void *buf, size_t len) {
    const uint8_t *p = buf;
    uint64_t h = seed;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; len; p++, len--)
        h = (h ^ *p) * 0x100000001b3ull;
    return h;
}

/* The log's checksum: FNV-1a, byte by byte, so it does not depend on how
 * the writer's pieces were cut. */
uint64_t rr_checksum(uint64_t seed, const void *buf, size_t len) {
    const uint8_t *p = buf;
    uint64_t h = seed;
    for (; len; p++, len--)
        h = (h ^ *p) * 0x100000001b3ull;
    return h;
}

/* ---------------- little-endian encoding ---------------- */

static void put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t get_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void config_encode(uint8_t *p, const RrConfig *c) {
    memcpy(p, c->build, 16);
    put_u32(p + 16, c->ram_mb);
    put_u32(p + 20, c->icount_shift);
    put_u64(p + 24, (uint64_t)c->rtc_start);
    p[32] = c->vga;
    p[33] = c->boot_menu;
    memcpy(p + 34, c->boot_order, 4);
    put_u64(p + 38, c->append_hash);
    for (int i = 0; i < RR_NFILES; i++) {
        put_u64(p + 46 + 16 * i, c->files[i].size);
        put_u64(p + 54 + 16 * i, c->files[i].hash);
    }
    memcpy(p + RR_CONFIG_CPU, c->cpu_model, 16);
    for (int i = 0; i < 4; i++)
        put_u32(p + RR_CONFIG_CPU + 16 + 4 * i, c->cpu_features[i]);
    memcpy(p + RR_CONFIG_CPU + 32, c->vmm, 16);
}

static void config_decode(const uint8_t *p, RrConfig *c) {
    memset(c, 0, sizeof *c);
    memcpy(c->build, p, 16);
    c->build[15] = 0;
    c->ram_mb = get_u32(p + 16);
    c->icount_shift = get_u32(p + 20);
    c->rtc_start = (int64_t)get_u64(p + 24);
    c->vga = p[32];
    c->boot_menu = p[33];
    memcpy(c->boot_order, p + 34, 4);
    c->boot_order[3] = 0;
    c->append_hash = get_u64(p + 38);
    for (int i = 0; i < RR_NFILES; i++) {
        c->files[i].size = get_u64(p + 46 + 16 * i);
        c->files[i].hash = get_u64(p + 54 + 16 * i);
    }
    memcpy(c->cpu_model, p + RR_CONFIG_CPU, 16);
    c->cpu_model[15] = 0;
    for (int i = 0; i < 4; i++)
        c->cpu_features[i] = get_u32(p + RR_CONFIG_CPU + 16 + 4 * i);
    memcpy(c->vmm, p + RR_CONFIG_CPU + 32, 16);
    c->vmm[15] = 0;
}

/* ---------------- the writer ---------------- */

struct RrWriter {
    FILE *f;
    uint64_t sum; /* rr_checksum of everything written */
    uint64_t last_icount;
    bool failed;
};

static void writer_put(RrWriter *w, const void *buf, size_t len) {
    if (len && fwrite(buf, 1, len, w->f) != len) w->failed = true;
    w->sum = rr_checksum(w->sum, buf, len);
}

RrWriter *rr_writer_new(FILE *f, const RrConfig *cfg) {
    RrWriter *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->f = f;
    w->sum = RR_HASH_SEED;
    uint8_t head[RR_HEADER_SIZE];
    memcpy(head, rr_magic, 8);
    put_u32(head + 8, RR_FORMAT_VERSION);
    config_encode(head + 12, cfg);
    writer_put(w, head, sizeof head);
    return w;
}

static void writer_record(RrWriter *w, uint64_t icount, uint8_t kind, const void *data,
                          size_t len) {
    uint8_t head[RR_EVENT_HEAD];
    head[0] = kind;
    put_u64(head + 1, icount);
    put_u16(head + 9, (uint16_t)len);
    writer_put(w, head, sizeof head);
    writer_put(w, data, len);
    w->last_icount = icount;
}

int rr_writer_event(RrWriter *w, uint64_t icount, RrEventKind kind, const void *data, size_t len) {
    const uint8_t *p = data;
    if (kind == RR_EV_END || icount < w->last_icount) return -1;
    do { /* long inputs as several events of at most RR_MAX_PAYLOAD bytes */
        size_t n = len > RR_MAX_PAYLOAD ? RR_MAX_PAYLOAD : len;
        writer_record(w, icount, (uint8_t)kind, p, n);
        if (n) p += n; /* no payload: data may be NULL (no offset on a null pointer) */
        len -= n;
    } while (len);
    return w->failed ? -1 : 0;
}

int rr_writer_finish(RrWriter *w, uint64_t final_icount) {
    writer_record(w, final_icount, RR_EV_END, NULL, 0);
    uint8_t sum[8];
    put_u64(sum, w->sum);
    writer_put(w, sum, 8);
    bool failed = w->failed || fclose(w->f) != 0;
    free(w);
    return failed ? -1 : 0;
}

/* ---------------- the reader ---------------- */

struct RrLog {
    uint8_t *buf; /* the whole log; events point into it */
    RrConfig cfg;
    RrEvent *events;
    size_t count;
    uint64_t end_icount;
};

void rr_log_free(RrLog *log) {
    if (!log) return;
    free(log->events);
    free(log->buf);
    free(log);
}

/* Walk the records after the header: every one inside the buffer, known
 * kinds and lengths, counts never decreasing, an end record followed by
 * exactly the checksum. Fills log->events when it is non-NULL. */
static int scan_events(RrLog *log, const uint8_t *buf, size_t len, size_t *count, char *err,
                       size_t errlen) {
    size_t pos = RR_HEADER_SIZE, n = 0;
    uint64_t last = 0;
    for (;;) {
        if (len - pos < RR_EVENT_HEAD) {
            set_err(err, errlen,
                    "the log is truncated after %zu events at byte %zu (no end record: did the "
                    "recording finish?)",
                    n, pos);
            return -1;
        }
        uint8_t kind = buf[pos];
        uint64_t icount = get_u64(buf + pos + 1);
        uint16_t plen = get_u16(buf + pos + 9);
        if (icount < last) {
            set_err(err, errlen, "corrupt log: event %zu at instruction %llu goes back in time", n,
                    (unsigned long long)icount);
            return -1;
        }
        last = icount;
        pos += RR_EVENT_HEAD;
        if (kind == RR_EV_END) {
            if (plen != 0 || len - pos != 8) {
                set_err(err, errlen, "corrupt log: bad end record at byte %zu", pos);
                return -1;
            }
            if (log) log->end_icount = icount;
            *count = n;
            return 0;
        }
        bool ok =
            (kind == RR_EV_SERIAL && plen >= 1 && plen <= RR_MAX_PAYLOAD) ||
            ((kind == RR_EV_POWERDOWN || kind == RR_EV_RESET) && plen == 0) ||
            (kind == RR_EV_KEY && (plen == 2 || plen == 3) && pos + plen <= len && buf[pos] <= 1) ||
            (kind == RR_EV_MOUSE && plen == 7 && pos + plen <= len && buf[pos + 6] <= 7) ||
            (kind == RR_EV_PACE && plen == 4 && pos + plen <= len && get_u32(buf + pos) >= 1 &&
             get_u32(buf + pos) <= 1024) ||
            (kind == RR_EV_IDLE && plen == 8 && pos + plen <= len &&
             get_u64(buf + pos) <= PC_AUTO_IDLE_MAX_NS);
        if (!ok || len - pos < plen) {
            set_err(err, errlen,
                    ok ? "the log is truncated in event %zu (instruction %llu)"
                       : "corrupt log: event %zu (instruction %llu) has an unknown kind or length",
                    n, (unsigned long long)icount);
            return -1;
        }
        if (log) log->events[n] = (RrEvent){icount, kind, plen, log->buf + pos};
        pos += plen;
        n++;
    }
}

RrLog *rr_log_parse(const uint8_t *buf, size_t len, char *err, size_t errlen) {
    if (len < 8 || memcmp(buf, rr_magic, 8) != 0) {
        set_err(err, errlen, "not a bt86 record/replay log (bad magic)");
        return NULL;
    }
    if (len < 12) {
        set_err(err, errlen, "the log is truncated in its header");
        return NULL;
    }
    uint32_t version = get_u32(buf + 8);
    if (version != RR_FORMAT_VERSION) {
        set_err(err, errlen, "log format version %u, this bt86 reads version %u", version,
                RR_FORMAT_VERSION);
        return NULL;
    }
    if (len < RR_HEADER_SIZE) {
        set_err(err, errlen, "the log is truncated in its header");
        return NULL;
    }
    size_t count;
    if (scan_events(NULL, buf, len, &count, err, errlen) < 0) return NULL;
    if (rr_checksum(RR_HASH_SEED, buf, len - 8) != get_u64(buf + len - 8)) {
        set_err(err, errlen, "corrupt log: checksum mismatch");
        return NULL;
    }
    RrLog *log = calloc(1, sizeof *log);
    if (!log) goto oom;
    log->buf = malloc(len);
    log->events = calloc(count ? count : 1, sizeof *log->events);
    if (!log->buf || !log->events) goto oom;
    memcpy(log->buf, buf, len);
    config_decode(buf + 12, &log->cfg);
    log->count = count;
    if (scan_events(log, log->buf, len, &count, err, errlen) < 0) goto fail;
    return log;
oom:
    set_err(err, errlen, "out of memory reading the log");
fail:
    rr_log_free(log);
    return NULL;
}

RrLog *rr_log_load(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= RR_MAX_LOG) {
                set_err(err, errlen, "%s: larger than %llu MiB: not a log", path,
                        (unsigned long long)(RR_MAX_LOG >> 20));
                goto fail;
            }
            cap = cap ? cap * 2 : 65536;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                set_err(err, errlen, "out of memory reading %s", path);
                goto fail;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    if (ferror(f)) {
        set_err(err, errlen, "cannot read %s", path);
        goto fail;
    }
    fclose(f);
    RrLog *log = rr_log_parse(buf, len, err, errlen);
    free(buf);
    return log;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

const RrConfig *rr_log_config(const RrLog *log) {
    return &log->cfg;
}
size_t rr_log_count(const RrLog *log) {
    return log->count;
}
const RrEvent *rr_log_event(const RrLog *log, size_t i) {
    return i < log->count ? &log->events[i] : NULL;
}
uint64_t rr_log_end_icount(const RrLog *log) {
    return log->end_icount;
}

/* ---------------- the configuration ---------------- */

static int file_id(const char *path, RrFileId *id, char *err, size_t errlen) {
    *id = (RrFileId){RR_NO_FILE, 0};
    if (!path) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    static uint8_t buf[1 << 16];
    uint64_t h = RR_HASH_SEED, size = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        h = rr_hash(h, buf, n);
        size += n;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        set_err(err, errlen, "cannot read %s", path);
        return -1;
    }
    *id = (RrFileId){size, h};
    return 0;
}

int rr_config_of(RrConfig *out, const PcConfig *pc, unsigned icount_shift, const char *version,
                 const char *vmm, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    snprintf(out->build, sizeof out->build, "%s", version);
    out->ram_mb = pc->ram_mb;
    out->icount_shift = icount_shift;
    out->rtc_start = pc->rtc_start;
    out->vga = pc->vga;
    out->boot_menu = pc->boot_menu;
    if (pc->boot_order) snprintf(out->boot_order, sizeof out->boot_order, "%s", pc->boot_order);
    out->append_hash = pc->append ? rr_hash(RR_HASH_SEED, pc->append, strlen(pc->append)) : 0;
    const CpuModel *m = pc->cpu_model ? pc->cpu_model : cpu_model_default();
    snprintf(out->cpu_model, sizeof out->cpu_model, "%s", m->name);
    CpuFeatures f = cpu_model_features(m);
    out->cpu_features[0] = f.edx1;
    out->cpu_features[1] = f.ecx1;
    out->cpu_features[2] = f.ext_edx;
    out->cpu_features[3] = f.edx7;
    if (vmm) snprintf(out->vmm, sizeof out->vmm, "%s", vmm);
    const char *paths[RR_NFILES] = {pc->bios_path, pc->vga ? pc->vgabios_path : NULL,
                                    pc->hd[0],     pc->hd[1],
                                    pc->hd[2],     pc->hd[3],
                                    pc->cdrom,     pc->kernel,
                                    pc->initrd};
    for (int i = 0; i < RR_NFILES; i++)
        if (file_id(paths[i], &out->files[i], err, errlen) < 0) return -1;
    return 0;
}

static const char *const file_names[RR_NFILES] = {
    "the BIOS (-bios)", "the VGA BIOS", "-hda",   "-hdb", "-hdc", "-hdd",
    "-cdrom",           "-kernel",      "-initrd"};

int rr_config_check(const RrConfig *rec, const RrConfig *now, char *err, size_t errlen) {
    if (strncmp(rec->build, now->build, sizeof rec->build) != 0) {
        set_err(err, errlen, "recorded by bt86 %.15s, this is bt86 %.15s", rec->build, now->build);
        return -1;
    }
    if (rec->ram_mb != now->ram_mb) {
        set_err(err, errlen, "recorded with -m %u, replaying with -m %u", rec->ram_mb, now->ram_mb);
        return -1;
    }
    if (rec->icount_shift != now->icount_shift) {
        set_err(err, errlen, "recorded with -icount shift=%u, replaying with shift=%u",
                rec->icount_shift, now->icount_shift);
        return -1;
    }
    if (rec->vga != now->vga || rec->boot_menu != now->boot_menu ||
        strncmp(rec->boot_order, now->boot_order, 4) != 0 || rec->append_hash != now->append_hash) {
        set_err(err, errlen, "recorded with other machine options (-vga, -boot or -append differ)");
        return -1;
    }
    if (strncmp(rec->cpu_model, now->cpu_model, sizeof rec->cpu_model) != 0) {
        set_err(err, errlen, "recorded with -cpu %.15s, replaying with -cpu %.15s", rec->cpu_model,
                now->cpu_model);
        return -1;
    }
    if (memcmp(rec->cpu_features, now->cpu_features, sizeof rec->cpu_features) != 0) {
        const uint32_t *a = rec->cpu_features, *b = now->cpu_features;
        set_err(err, errlen,
                "-cpu %.15s reported other CPUID features when recorded (leaf 1 EDX %08x ECX "
                "%08x, 0x80000001 EDX %08x, 7 EDX %08x; here %08x %08x %08x %08x): the host's "
                "SSE unit, the x87 backend or the bt86 build differs",
                now->cpu_model, a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
        return -1;
    }
    if (strncmp(rec->vmm, now->vmm, sizeof rec->vmm) != 0) {
        set_err(err, errlen, "recorded with -vmm %.15s, replaying with -vmm %.15s",
                rec->vmm[0] ? rec->vmm : "(none)", now->vmm[0] ? now->vmm : "(none)");
        return -1;
    }
    for (int i = 0; i < RR_NFILES; i++) {
        const RrFileId *a = &rec->files[i], *b = &now->files[i];
        if (a->size == b->size && a->hash == b->hash) continue;
        if (a->size == RR_NO_FILE || b->size == RR_NO_FILE)
            set_err(err, errlen, "%s: %s when recorded, %s now", file_names[i],
                    a->size == RR_NO_FILE ? "absent" : "present",
                    b->size == RR_NO_FILE ? "absent" : "present");
        else
            set_err(err, errlen,
                    "%s differs from the recorded one (%llu bytes, hash %016llx; now %llu bytes, "
                    "hash %016llx)",
                    file_names[i], (unsigned long long)a->size, (unsigned long long)a->hash,
                    (unsigned long long)b->size, (unsigned long long)b->hash);
        return -1;
    }
    return 0;
}

/* ---------------- the session ---------------- */

struct Replay {
    RrMode mode;
    RrWriter *writer; /* record */
    const char *path;
    RrLog *log;  /* replay */
    size_t next; /* replay: the next event to deliver */
    uint64_t events;
};

int replay_parse_icount(const char *spec, RrMode *mode, const char **file, char *err,
                        size_t errlen) {
    for (const char *item = spec; item && *item;) {
        size_t len = strcspn(item, ",");
        if (strncmp(item, "rr=", 3) == 0) {
            const char *v = item + 3;
            size_t vl = len - 3;
            if (vl == 6 && strncmp(v, "record", 6) == 0)
                *mode = RR_RECORD;
            else if (vl == 6 && strncmp(v, "replay", 6) == 0)
                *mode = RR_REPLAY;
            else {
                set_err(err, errlen, "-icount: rr= takes record or replay ('%.*s')", (int)len,
                        item);
                return -1;
            }
        } else if (strncmp(item, "rrfile=", 7) == 0) {
            if (len == 7) {
                set_err(err, errlen, "-icount: rrfile= needs a file name");
                return -1;
            }
            *file = item + 7; /* the rest of the spec: a file name may hold no comma */
            if (item[len]) {
                set_err(err, errlen, "-icount: rrfile= must come last");
                return -1;
            }
        }
        item += len;
        if (*item == ',') item++;
    }
    return 0;
}

Replay *replay_start(RrMode mode, const char *path, PcConfig *cfg, unsigned icount_shift,
                     const char *version, const char *vmm, char *err, size_t errlen) {
    if (mode == RR_OFF) return NULL;
    RrConfig now;
    Replay *rr = calloc(1, sizeof *rr);
    if (!rr) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    rr->mode = mode;
    rr->path = path;
    if (mode == RR_REPLAY) {
        rr->log = rr_log_load(path, err, errlen);
        if (!rr->log) goto fail;
        /* The RTC start comes from the log: -rtc base=utc read the host
         * clock while recording. */
        cfg->rtc_start = rr_log_config(rr->log)->rtc_start;
        if (rr_config_of(&now, cfg, icount_shift, version, vmm, err, errlen) < 0) goto fail;
        if (rr_config_check(rr_log_config(rr->log), &now, err, errlen) < 0) goto fail;
        return rr;
    }
    if (rr_config_of(&now, cfg, icount_shift, version, vmm, err, errlen) < 0) goto fail;
    FILE *f = fopen(path, "wb");
    if (!f) {
        set_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
        goto fail;
    }
    rr->writer = rr_writer_new(f, &now);
    if (!rr->writer) {
        fclose(f);
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    return rr;
fail:
    rr_log_free(rr->log);
    free(rr);
    return NULL;
}

RrMode replay_mode(const Replay *rr) {
    return rr ? rr->mode : RR_OFF;
}

uint64_t replay_insns_until_event(const Replay *rr, uint64_t icount) {
    if (!rr || rr->mode != RR_REPLAY) return UINT64_MAX;
    const RrEvent *e = rr_log_event(rr->log, rr->next);
    uint64_t at = e ? e->icount : rr_log_end_icount(rr->log);
    return at > icount ? at - icount : 0;
}

size_t replay_serial_input(Replay *rr, Pc *pc, uint64_t icount, const uint8_t *buf, size_t len) {
    if (rr && rr->mode == RR_REPLAY) return 0;
    size_t taken = len ? pc_serial_input(pc, buf, len) : 0;
    if (rr && taken) {
        rr_writer_event(rr->writer, icount, RR_EV_SERIAL, buf, taken);
        rr->events++;
    }
    return taken;
}

void replay_power_button(Replay *rr, Pc *pc, uint64_t icount) {
    if (rr && rr->mode == RR_REPLAY) return;
    pc_power_button(pc);
    if (rr) {
        rr_writer_event(rr->writer, icount, RR_EV_POWERDOWN, NULL, 0);
        rr->events++;
    }
}

void replay_key_event(Replay *rr, Pc *pc, uint64_t icount, const uint8_t *code, int len,
                      bool pressed) {
    if (rr && rr->mode == RR_REPLAY) return;
    i8042_key_event(pc_keyboard(pc), code, len, pressed);
    if (rr && len >= 1 && len <= 2) {
        uint8_t payload[3] = {pressed, code[0], len > 1 ? code[1] : 0};
        rr_writer_event(rr->writer, icount, RR_EV_KEY, payload, (size_t)len + 1);
        rr->events++;
    }
}

void replay_reset(Replay *rr, Pc *pc, uint64_t icount) {
    if (rr && rr->mode == RR_REPLAY) return;
    pc_cpu(pc)->reset_request = true;
    if (rr) {
        rr_writer_event(rr->writer, icount, RR_EV_RESET, NULL, 0);
        rr->events++;
    }
}

static int clamp16(int v) {
    return v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v;
}

void replay_mouse_event(Replay *rr, Pc *pc, uint64_t icount, int dx, int dy, int dz,
                        unsigned buttons) {
    if (rr && rr->mode == RR_REPLAY) return;
    dx = clamp16(dx);
    dy = clamp16(dy);
    dz = clamp16(dz);
    buttons &= 7;
    i8042_mouse_event(pc_keyboard(pc), dx, dy, dz, buttons);
    if (rr) {
        uint8_t payload[7] = {(uint8_t)dx,     (uint8_t)((unsigned)dx >> 8),
                              (uint8_t)dy,     (uint8_t)((unsigned)dy >> 8),
                              (uint8_t)dz,     (uint8_t)((unsigned)dz >> 8),
                              (uint8_t)buttons};
        rr_writer_event(rr->writer, icount, RR_EV_MOUSE, payload, sizeof payload);
        rr->events++;
    }
}

void replay_auto_event(void *opaque, uint64_t icount, PcAutoEvent kind, uint64_t value) {
    Replay *rr = opaque;
    if (!rr || rr->mode != RR_RECORD) return;
    uint8_t payload[8];
    if (kind == PC_AUTO_PACE) {
        put_u32(payload, (uint32_t)value);
        rr_writer_event(rr->writer, icount, RR_EV_PACE, payload, 4);
    } else {
        put_u64(payload, value);
        rr_writer_event(rr->writer, icount, RR_EV_IDLE, payload, 8);
    }
    rr->events++;
}

static int s16_at(const uint8_t *p) {
    return (int16_t)(uint16_t)(p[0] | p[1] << 8);
}

int replay_deliver(Replay *rr, Pc *pc, uint64_t icount, char *err, size_t errlen) {
    if (!rr || rr->mode != RR_REPLAY) return 0;
    int delivered = 0;
    for (const RrEvent *e; (e = rr_log_event(rr->log, rr->next)) && e->icount <= icount;
         rr->next++) {
        if (e->icount < icount) {
            set_err(
                err, errlen,
                "replay diverged: input %zu was due at instruction %llu, the machine is at %llu",
                rr->next, (unsigned long long)e->icount, (unsigned long long)icount);
            return -1;
        }
        if (e->kind == RR_EV_POWERDOWN) {
            pc_power_button(pc);
        } else if (e->kind == RR_EV_RESET) {
            pc_cpu(pc)->reset_request = true;
        } else if (e->kind == RR_EV_KEY) {
            i8042_key_event(pc_keyboard(pc), e->data + 1, e->len - 1, e->data[0] != 0);
        } else if (e->kind == RR_EV_PACE) {
            pc_auto_apply(pc, PC_AUTO_PACE, get_u32(e->data));
        } else if (e->kind == RR_EV_IDLE) {
            pc_auto_apply(pc, PC_AUTO_IDLE, get_u64(e->data));
        } else if (e->kind == RR_EV_MOUSE) {
            i8042_mouse_event(pc_keyboard(pc), s16_at(e->data), s16_at(e->data + 2),
                              s16_at(e->data + 4), e->data[6]);
        } else if (pc_serial_input(pc, e->data, e->len) != e->len) {
            set_err(err, errlen,
                    "replay diverged at instruction %llu: COM1 did not take the %u recorded bytes",
                    (unsigned long long)icount, e->len);
            return -1;
        }
        rr->events++;
        delivered++;
    }
    return delivered;
}

void replay_rewind(Replay *rr, uint64_t icount) {
    if (!rr || rr->mode != RR_REPLAY) return;
    size_t lo = 0, hi = rr_log_count(rr->log); /* the first event after icount */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rr_log_event(rr->log, mid)->icount <= icount)
            lo = mid + 1;
        else
            hi = mid;
    }
    rr->next = lo;
    rr->events = lo;
}

int replay_finish(Replay *rr, uint64_t icount, char *msg, size_t msglen) {
    if (!rr) return 0;
    int r = 0;
    if (rr->mode == RR_RECORD) {
        r = rr_writer_finish(rr->writer, icount);
        if (r < 0)
            set_err(msg, msglen, "record: cannot write %s", rr->path);
        else
            set_err(msg, msglen, "record: %llu instructions, %llu input events, written to %s",
                    (unsigned long long)icount, (unsigned long long)rr->events, rr->path);
    } else {
        uint64_t end = rr_log_end_icount(rr->log);
        size_t left = rr_log_count(rr->log) - rr->next;
        if (icount != end || left) {
            set_err(msg, msglen,
                    "replay: the run ended at instruction %llu, the recording at %llu (%zu inputs "
                    "not delivered)",
                    (unsigned long long)icount, (unsigned long long)end, left);
            r = -1;
        } else {
            set_err(msg, msglen, "replay: %llu instructions, %llu input events, as recorded",
                    (unsigned long long)icount, (unsigned long long)rr->events);
        }
        rr_log_free(rr->log);
    }
    free(rr);
    return r;
}
