/*
 * clock.c - the virtual clock's event queue: a deadline-ordered singly
 * linked list (a PC has a handful of timers; insertion is O(n) with tiny n).
 */
#include "devices/clock.h"

#include <stddef.h>

#include "snap/snap.h"

void vclock_init(VClock *clk) {
    clk->now = 0;
    clk->timers = NULL;
}

uint64_t vclock_next_deadline(const VClock *clk) {
    return clk->timers ? clk->timers->deadline : VCLOCK_NEVER;
}

void timer_init(Timer *t, VClock *clk, TimerFn fn, void *opaque) {
    t->clock = clk;
    t->deadline = 0;
    t->armed = false;
    t->fn = fn;
    t->opaque = opaque;
    t->next = NULL;
}

void timer_del(Timer *t) {
    if (!t->armed) return;
    for (Timer **p = &t->clock->timers; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    t->armed = false;
    t->next = NULL;
}

void timer_mod(Timer *t, uint64_t deadline) {
    timer_del(t);
    t->deadline = deadline;
    t->armed = true;
    Timer **p = &t->clock->timers;
    while (*p && (*p)->deadline <= deadline) p = &(*p)->next;
    t->next = *p;
    *p = t;
}

void vclock_advance(VClock *clk, uint64_t to) {
    while (clk->timers && clk->timers->deadline <= to) {
        Timer *t = clk->timers;
        clk->timers = t->next;
        t->armed = false;
        t->next = NULL;
        if (t->deadline > clk->now) clk->now = t->deadline;
        t->fn(t->opaque);
    }
    if (to > clk->now) clk->now = to;
}

/* ---------------- snapshots ---------------- */

void vclock_save(const VClock *clk, SnapWriter *w) {
    snap_put_u64(w, clk->now);
}

bool vclock_load(VClock *clk, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    uint64_t now = snap_get_u64(r);
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    while (clk->timers) { /* every device puts its own timers back */
        Timer *t = clk->timers;
        clk->timers = t->next;
        t->armed = false;
        t->next = NULL;
    }
    clk->now = now;
    return true;
}

void timer_save(const Timer *t, SnapWriter *w) {
    uint32_t pos = 0;
    if (t->armed)
        for (const Timer *p = t->clock->timers; p && p != t; p = p->next)
            pos++;
    snap_put_bool(w, t->armed);
    snap_put_u64(w, t->armed ? t->deadline : 0);
    snap_put_u32(w, pos);
}

void timer_load(SnapReader *r, TimerSnap *ts) {
    ts->armed = snap_get_bool(r);
    ts->deadline = snap_get_u64(r);
    ts->pos = snap_get_u32(r);
}

void timer_restore(Timer *t, const TimerSnap *ts) {
    timer_del(t);
    if (!ts->armed) return;
    t->deadline = ts->deadline;
    t->snap_pos = ts->pos;
    t->armed = true;
    Timer **p = &t->clock->timers;
    while (*p && ((*p)->deadline < ts->deadline ||
                  ((*p)->deadline == ts->deadline && (*p)->snap_pos < ts->pos)))
        p = &(*p)->next;
    t->next = *p;
    *p = t;
}
