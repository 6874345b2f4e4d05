/*
 * reverse.c - reverse execution during a replay: the history of
 * snapshots, going back to an exact instruction count, finding the last
 * breakpoint or watchpoint hit (see reverse.h).
 */
#include "frontend/reverse.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct Snapshot {
    uint64_t icount;
    uint8_t *data;
    size_t len;
} Snapshot;

struct History {
    Pc *pc;
    Replay *rr;
    uint64_t interval;
    Snapshot *snaps; /* by increasing icount */
    size_t n, max;
    size_t bytes;
    bool (*interrupted)(void *opaque);
    void *opaque;
};

/* A breakpoint or watchpoint hit seen while running forward. */
typedef struct Hit {
    bool found;
    uint64_t icount;
    CpuDebugStop stop;
    CpuBreak brk;
    CpuWatch watch;
    bool write;
} Hit;

void history_set_interrupt(History *h, bool (*interrupted)(void *opaque), void *opaque) {
    h->interrupted = interrupted;
    h->opaque = opaque;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

History *history_new(Pc *pc, Replay *rr, uint64_t interval, size_t max_snapshots) {
    size_t max = max_snapshots < 2 ? 2 : max_snapshots;
    History *h = calloc(1, sizeof *h);
    Snapshot *snaps = calloc(max, sizeof *snaps);
    if (!h || !snaps) {
        free(h);
        free(snaps);
        return NULL;
    }
    *h = (History){
        .pc = pc, .rr = rr, .interval = interval ? interval : 1, .snaps = snaps, .max = max};
    return h;
}

void history_free(History *h) {
    if (!h) return;
    for (size_t i = 0; i < h->n; i++)
        free(h->snaps[i].data);
    free(h->snaps);
    free(h);
}

size_t history_count(const History *h) {
    return h->n;
}

size_t history_bytes(const History *h) {
    return h->bytes;
}

uint64_t history_interval(const History *h) {
    return h->interval;
}

uint64_t history_insns_until_snapshot(const History *h) {
    if (h->n == 0) return 0;
    uint64_t due = h->snaps[h->n - 1].icount + h->interval;
    uint64_t now = pc_cpu(h->pc)->icount;
    return due > now ? due - now : 0;
}

/* The array is full: keep every second snapshot (the first stays) and
 * take them half as often from now on. */
static void thin_out(History *h) {
    size_t kept = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (i % 2 == 0) {
            h->snaps[kept++] = h->snaps[i];
        } else {
            h->bytes -= h->snaps[i].len;
            free(h->snaps[i].data);
        }
    }
    h->n = kept;
    h->interval *= 2;
}

int history_checkpoint(History *h, char *err, size_t errlen) {
    if (history_insns_until_snapshot(h) > 0) return 0;
    if (h->n == h->max) thin_out(h);
    Snapshot s = {.icount = pc_cpu(h->pc)->icount};
    if (pc_save_snapshot(h->pc, &s.data, &s.len, err, errlen) < 0) return -1;
    h->snaps[h->n++] = s;
    h->bytes += s.len;
    return 0;
}

/* The latest snapshot taken at or before icount (the first one is where
 * the history starts, so there is always one for a count inside it). */
static size_t snapshot_at_or_before(const History *h, uint64_t icount) {
    size_t i = h->n - 1;
    while (i > 0 && h->snaps[i].icount > icount)
        i--;
    return i;
}

/* Put the machine and the replay back where snapshot i was taken. */
static int load(History *h, size_t i, char *err, size_t errlen) {
    if (pc_load_snapshot(h->pc, h->snaps[i].data, h->snaps[i].len, err, errlen) < 0) return -1;
    replay_rewind(h->rr, h->snaps[i].icount);
    pc_cpu(h->pc)->debug.skip_armed = false;
    pc_cpu(h->pc)->debug.stop = CPU_STOP_NONE;
    return 0;
}

/* Note the hit cpu->debug describes if it lies before the count
 * `before`: a breakpoint at an instruction before it, or a watchpoint
 * hit by an instruction up to it (going back from just after an access
 * undoes it: that is a hit too). */
static void note_hit(const CPU *c, Hit *hits, uint64_t before) {
    const CpuDebug *d = &c->debug;
    bool watch = d->stop == CPU_STOP_WATCH;
    if (d->stop == CPU_STOP_NONE || (watch ? c->icount > before : c->icount >= before)) return;
    *hits = (Hit){.found = true,
                  .icount = c->icount,
                  .stop = d->stop,
                  .brk = d->hit_break,
                  .watch = d->hit_watch,
                  .write = d->hit_write};
}

/* Run forward to instruction count end, delivering the logged inputs as
 * the main loop does. With hits NULL nothing stops the CPU; else every
 * breakpoint or watchpoint hit before the count `before` (note_hit) is
 * noted in *hits (the last one stays) and the run goes on, polling the
 * interrupt callback between slices: 1 when it said stop. */
static int run_forward(History *h, uint64_t end, Hit *hits, uint64_t before, char *err,
                       size_t errlen) {
    CPU *c = pc_cpu(h->pc);
    CpuDebug saved;
    if (!hits) cpu_debug_suspend(c, &saved);
    int rc = 0;
    while (c->icount < end) {
        uint64_t n = end - c->icount;
        uint64_t until_input = replay_insns_until_event(h->rr, c->icount);
        if (until_input == 0) break; /* the end of the recording */
        if (n > until_input) n = until_input;
        if (hits && h->interrupted && n > HISTORY_POLL_INSNS) n = HISTORY_POLL_INSNS;
        PcExit e = pc_run(h->pc, n);
        if (replay_deliver(h->rr, h->pc, c->icount, err, errlen) < 0) {
            rc = -1;
            break;
        }
        /* A watchpoint hit by the last instruction of a slice may come
         * with the slice's end rather than PC_EXIT_DEBUG. */
        if (hits && (e == PC_EXIT_DEBUG || c->debug.stop == CPU_STOP_WATCH)) {
            note_hit(c, hits, before);
            cpu_debug_resume(c);
        } else if (e == PC_EXIT_RESET) {
            pc_reset(h->pc);
        } else if (e == PC_EXIT_POWEROFF || e == PC_EXIT_HALTED) {
            break;
        }
        if (hits && h->interrupted && h->interrupted(h->opaque)) {
            rc = 1;
            break;
        }
    }
    if (!hits) cpu_debug_restore(c, &saved);
    if (rc == 0 && c->icount != end && !hits) {
        set_err(err, errlen, "reverse: the replay stopped at instruction %llu, not %llu",
                (unsigned long long)c->icount, (unsigned long long)end);
        rc = -1;
    }
    return rc;
}

/* Put the machine at instruction count target (inside the history). */
static int go_to(History *h, uint64_t target, char *err, size_t errlen) {
    if (load(h, snapshot_at_or_before(h, target), err, errlen) < 0) return -1;
    return run_forward(h, target, NULL, 0, err, errlen);
}

static bool at_start(const History *h) {
    return h->n == 0 || pc_cpu(h->pc)->icount <= h->snaps[0].icount;
}

ReverseResult history_step_back(History *h, char *err, size_t errlen) {
    if (at_start(h)) return REVERSE_BEGIN;
    if (go_to(h, pc_cpu(h->pc)->icount - 1, err, errlen) < 0) return REVERSE_ERROR;
    return REVERSE_STEPPED;
}

ReverseResult history_continue_back(History *h, char *err, size_t errlen) {
    if (at_start(h)) return REVERSE_BEGIN;
    uint64_t now = pc_cpu(h->pc)->icount;
    Hit hit = {0};
    size_t scanned = h->n; /* the earliest snapshot scanned from in full */
    for (size_t i = snapshot_at_or_before(h, now - 1) + 1; i-- > 0 && !hit.found;) {
        uint64_t end = i + 1 < h->n && h->snaps[i + 1].icount < now ? h->snaps[i + 1].icount : now;
        int r = load(h, i, err, errlen) < 0 ? -1 : run_forward(h, end, &hit, now, err, errlen);
        if (r < 0) return REVERSE_ERROR;
        if (r > 0) { /* interrupted: back to a point the scan has finished with */
            if (scanned < h->n ? load(h, scanned, err, errlen) < 0 : go_to(h, now, err, errlen) < 0)
                return REVERSE_ERROR;
            return REVERSE_INTERRUPTED;
        }
        scanned = i;
    }
    if (!hit.found) {
        if (load(h, 0, err, errlen) < 0) return REVERSE_ERROR;
        return REVERSE_BEGIN;
    }
    /* A watchpoint stops before the access, as GDB expects going back: it
     * compares the value there with the one it saw, and a stop after the
     * access would show no change. */
    uint64_t at = hit.stop == CPU_STOP_WATCH ? hit.icount - 1 : hit.icount;
    if (go_to(h, at, err, errlen) < 0) return REVERSE_ERROR;
    CpuDebug *d = &pc_cpu(h->pc)->debug;
    d->stop = hit.stop;
    d->hit_break = hit.brk;
    d->hit_watch = hit.watch;
    d->hit_write = hit.write;
    return REVERSE_HIT;
}
