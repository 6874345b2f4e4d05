/*
 * clock.c - the virtual clock's event queue: a deadline-ordered singly
 * linked list (a PC has a handful of timers; insertion is O(n) with tiny n).
 */
#include "devices/clock.h"

#include <stddef.h>

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
