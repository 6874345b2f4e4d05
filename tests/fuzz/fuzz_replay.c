/*
 * fuzz_replay.c - libFuzzer target: record/replay logs (frontend/replay.h),
 * what -icount ...,rr=replay,rrfile=FILE reads. A hostile log must be
 * refused with a message, or replayed on a whole PC without firmware
 * (tests/fuzz/fuzz_machine.h) until its end or a divergence the session
 * reports: never a host crash or sanitizer report.
 *
 * Input: a mode byte, then
 *   mode & 1 == 0  the rest is the log, as is (rr_log_parse, and
 *                  replay_start on it: the checksum stops most inputs)
 *   mode & 1 == 1  the header of a genuine log of the fuzz PC (made once
 *                  per process: it passes the configuration check), then
 *                  the rest as event records (u8 kind, u64 icount, u16
 *                  length, payload); with mode & 2 an end record at the
 *                  last event's count is added; the checksum is fixed up.
 *                  The session then replays it: the machine runs to each
 *                  event's count (at most 200000 instructions in all),
 *                  replay_deliver delivers, replay_finish checks the end.
 */
#define _GNU_SOURCE 1 /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/replay.h"
#include "fuzz_input.h"
#include "fuzz_machine.h"

#define ICOUNT_SHIFT  3u
#define BUILD_VERSION "fuzz"
#define END_RECORD    (1u + 8u + 2u)
#define CHECKSUM_LEN  8u

static uint8_t *header;
static size_t header_len;
static char log_path[320];

static void remove_log(void) {
    unlink(log_path);
}

/* A genuine log with no events: its header is the fuzz PC's. */
static void make_header(void) {
    PcConfig cfg = fuzz_pc_config();
    RrConfig rc;
    char err[256];
    if (rr_config_of(&rc, &cfg, ICOUNT_SHIFT, BUILD_VERSION, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_replay: %s\n", err);
        abort();
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    RrWriter *w = f ? rr_writer_new(f, &rc) : NULL;
    if (!w || rr_writer_finish(w, 0) < 0 || len < END_RECORD + CHECKSUM_LEN) abort();
    header_len = len - END_RECORD - CHECKSUM_LEN;
    header = malloc(header_len);
    if (!header) abort();
    memcpy(header, buf, header_len);
    free(buf);
    snprintf(log_path, sizeof log_path, "%s/replay.log", fuzz_tmpdir());
    atexit(remove_log);
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Replay the log in file through a session, as main.c's loop does. */
static void replay(const uint8_t *file, size_t len) {
    FILE *f = fopen(log_path, "wb");
    if (!f || fwrite(file, 1, len, f) != len || fclose(f) != 0) abort();
    PcConfig cfg = fuzz_pc_config();
    char err[512] = "";
    Replay *rr =
        replay_start(RR_REPLAY, log_path, &cfg, ICOUNT_SHIFT, BUILD_VERSION, NULL, err, sizeof err);
    if (!rr) {
        if (!err[0]) abort(); /* refused without a message */
        return;
    }
    cfg.ns_per_insn = 1u << ICOUNT_SHIFT;
    Pc *pc = pc_new(&cfg, err, sizeof err);
    if (!pc) abort();
    uint64_t budget = 200000;
    for (int rounds = 0; rounds < 1000 && budget > 0; rounds++) {
        uint64_t until = replay_insns_until_event(rr, pc_cpu(pc)->icount);
        if (until == 0) break; /* the recording ended here */
        uint64_t chunk = until < budget ? until : budget;
        uint64_t before = pc_cpu(pc)->icount;
        PcExit e = pc_run(pc, chunk);
        uint64_t ran = pc_cpu(pc)->icount - before;
        budget = ran >= budget ? 0 : budget - ran;
        if (replay_deliver(rr, pc, pc_cpu(pc)->icount, err, sizeof err) < 0) break;
        if (e == PC_EXIT_RESET) pc_reset(pc);
        if (e == PC_EXIT_POWEROFF || e == PC_EXIT_HALTED) break;
    }
    replay_finish(rr, pc_cpu(pc)->icount, err, sizeof err);
    pc_free(pc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!header) make_header();
    FuzzInput in = {data, size};
    unsigned mode = fuzz_u8(&in);
    if (!(mode & 1)) {
        char err[256] = "";
        RrLog *log = rr_log_parse(in.data, in.size, err, sizeof err);
        if (log) {
            for (size_t i = 0; i < rr_log_count(log); i++)
                (void)rr_log_event(log, i)->icount;
            rr_log_free(log);
        } else if (!err[0]) {
            abort();
        }
        replay(in.data, in.size);
        return 0;
    }
    /* The genuine header, the events, an end record, the checksum. */
    size_t len = header_len + in.size + END_RECORD + CHECKSUM_LEN;
    uint8_t *file = malloc(len);
    if (!file) return 0;
    memcpy(file, header, header_len);
    memcpy(file + header_len, in.data, in.size);
    size_t at = header_len + in.size;
    if (mode & 2) {
        /* The end at the last whole event's count (walking the records). */
        uint64_t last = 0;
        for (size_t p = header_len; p + END_RECORD <= at;) {
            uint64_t icount = 0;
            for (int i = 0; i < 8; i++)
                icount |= (uint64_t)file[p + 1 + i] << (8 * i);
            unsigned elen = file[p + 9] | file[p + 10] << 8;
            if (p + END_RECORD + elen > at) break;
            last = icount;
            p += END_RECORD + elen;
        }
        file[at] = RR_EV_END;
        put_u64(file + at + 1, last);
        file[at + 9] = file[at + 10] = 0;
        at += END_RECORD;
    }
    put_u64(file + at, rr_checksum(RR_HASH_SEED, file, at));
    at += CHECKSUM_LEN;
    replay(file, at);
    free(file);
    return 0;
}
