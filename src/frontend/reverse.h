/*
 * reverse.h - reverse execution during a replay (GDB's reverse-stepi,
 * reverse-nexti, reverse-continue: the bs and bc packets).
 *
 * A replay repeats the recorded run instruction for instruction, so any
 * earlier point can be reached again by going back to a state before it
 * and running forward. The history keeps in-memory snapshots of the
 * whole machine (pc_save_snapshot: RAM compressed) taken every
 * `interval` instructions while the replay runs, in a bounded array:
 * when it holds max_snapshots, every second snapshot is dropped and the
 * interval doubles, so the memory stays below max_snapshots snapshots
 * and the history always reaches back to where the replay started.
 *
 * Going back to instruction count T: load the latest snapshot taken at or
 * before T, put the replay log's cursor after the inputs delivered by
 * then (replay_rewind), and run forward exactly to T with the debugger's
 * breakpoints and watchpoints set aside (cpu_run stops at exact counts
 * under every engine). Reverse-continue scans backwards one interval at a
 * time: from each snapshot it runs to the end of that interval with the
 * breakpoints and watchpoints in place, noting every hit without
 * stopping, and goes to the last hit before the current count (for a
 * watchpoint the point after the access, as when running forward); with
 * no hit anywhere it stops at the start of the history.
 *
 * Use (main.c):
 *     History *h = history_new(pc, rr, interval, max_snapshots);
 *     history_checkpoint(h, err, n);            // between slices
 *     pc_run(pc, min(chunk, history_insns_until_snapshot(h)));
 *     history_step_back(h, err, n);             // bs
 *     history_continue_back(h, err, n);         // bc
 */
#ifndef BT86_REVERSE_H
#define BT86_REVERSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/pc.h"
#include "frontend/replay.h"

#define HISTORY_DEFAULT_INTERVAL 200000000u /* instructions between snapshots */
#define HISTORY_DEFAULT_MAX      32u        /* snapshots kept */

typedef enum ReverseResult {
    REVERSE_STEPPED,     /* one instruction back */
    REVERSE_HIT,         /* at a breakpoint or watchpoint hit (cpu->debug says which) */
    REVERSE_BEGIN,       /* at the start of the history: nothing earlier */
    REVERSE_INTERRUPTED, /* the interrupt callback said stop (Ctrl-C): at the
                            earliest point scanned so far, or where it began */
    REVERSE_ERROR,       /* out of memory, or the replay diverged: the message says */
} ReverseResult;

typedef struct History History;

/* NULL when out of memory. interval >= 1, max_snapshots >= 2. */
History *history_new(Pc *pc, Replay *rr, uint64_t interval, size_t max_snapshots);
void history_free(History *h);
/* Instructions before the next snapshot is due (0: now). */
uint64_t history_insns_until_snapshot(const History *h);
/* Between slices, after the inputs due now were delivered: take a
 * snapshot if one is due. -1 and a message when it cannot. */
int history_checkpoint(History *h, char *err, size_t errlen);
/* The snapshots held, their bytes, and the current interval (monitor,
 * tests). */
size_t history_count(const History *h);
size_t history_bytes(const History *h);
uint64_t history_interval(const History *h);
/* A reverse-continue calls interrupted(opaque) between slices of at most
 * HISTORY_POLL_INSNS instructions; true ends it with REVERSE_INTERRUPTED
 * (the stub's Ctrl-C). NULL: never. */
#define HISTORY_POLL_INSNS 100000u
void history_set_interrupt(History *h, bool (*interrupted)(void *opaque), void *opaque);
/* Go back one instruction. */
ReverseResult history_step_back(History *h, char *err, size_t errlen);
/* Go back to the last breakpoint or watchpoint hit before the current
 * instruction count (cpu->debug.stop and hit_* describe it). When
 * interrupted the machine is left at the start of the last interval
 * scanned in full (no hit between there and where the scan began: the
 * point a backward run had reached), or where the scan began when none
 * was: always a state the replay passed through. */
ReverseResult history_continue_back(History *h, char *err, size_t errlen);

#endif
