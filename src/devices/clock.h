/*
 * clock.h - the virtual clock and its event queue.
 *
 * Devices never read the host clock: they read vclock_now() (nanoseconds of
 * virtual time) and arm Timers that fire when virtual time reaches their
 * deadline. Whoever drives the machine advances the clock: following the
 * host clock (interactive use), derived from the instruction count
 * (deterministic runs), or by hand (device unit tests use a fake clock this
 * way, no CPU needed). The CPU runs until vclock_next_deadline().
 *
 * Use:
 *     VClock clk; vclock_init(&clk);
 *     Timer t; timer_init(&t, &clk, pit_expired, pit);
 *     timer_mod(&t, vclock_now(&clk) + 838);   // fire in 838 ns
 *     vclock_advance(&clk, 1000);              // runs pit_expired(pit)
 * Timer callbacks may re-arm their own or other timers.
 */
#ifndef BT86_CLOCK_H
#define BT86_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define VCLOCK_NEVER UINT64_MAX

typedef struct VClock VClock;
typedef void (*TimerFn)(void *opaque);

typedef struct Timer {
    VClock *clock;
    uint64_t deadline; /* virtual ns; meaningful when armed */
    bool armed;
    TimerFn fn;
    void *opaque;
    struct Timer *next; /* in the clock's deadline-ordered list */
    uint32_t snap_pos;  /* while a snapshot loads: its place among equal deadlines */
} Timer;

struct VClock {
    uint64_t now;  /* virtual ns */
    Timer *timers; /* armed timers, earliest first */
};

void vclock_init(VClock *clk);
static inline uint64_t vclock_now(const VClock *clk) { return clk->now; }
/* Earliest armed deadline, or VCLOCK_NEVER. */
uint64_t vclock_next_deadline(const VClock *clk);
/* Move time forward to `to` (never backwards), firing due timers in deadline order;
 * while a timer runs, vclock_now() is its deadline. */
void vclock_advance(VClock *clk, uint64_t to);

void timer_init(Timer *t, VClock *clk, TimerFn fn, void *opaque);
/* Arm (or re-arm) the timer for absolute virtual time `deadline`. */
void timer_mod(Timer *t, uint64_t deadline);
void timer_del(Timer *t);

/* Snapshots (snap/snap.h). The clock's section holds the time; each timer
 * is saved by its device as (armed, deadline, place in the queue), so
 * timers due at the same moment fire in the same order after a load.
 * Loading: vclock_load (applied first) empties the queue, then each
 * device's loader parses its timers with timer_load into a TimerSnap and,
 * when applying, puts them back with timer_restore. */
struct SnapWriter;
struct SnapReader;
typedef struct TimerSnap {
    bool armed;
    uint64_t deadline;
    uint32_t pos;
} TimerSnap;
void vclock_save(const VClock *clk, struct SnapWriter *w);
bool vclock_load(VClock *clk, struct SnapReader *r);
void timer_save(const Timer *t, struct SnapWriter *w);
void timer_load(struct SnapReader *r, TimerSnap *ts);
void timer_restore(Timer *t, const TimerSnap *ts);

#endif
