/*
 * test_clock.c - the virtual clock's event queue: ordering, re-arming,
 * deletion, timers that re-arm themselves, and time never going backwards.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/clock.h"

typedef struct Probe {
    VClock *clk;
    int fired;
    uint64_t at[8];
    uint64_t period; /* re-arm by this much when nonzero */
    int *order;
    int *norder;
    int id;
} Probe;

static void probe_fire(void *opaque) {
    Probe *p = opaque;
    if (p->fired < 8) p->at[p->fired] = vclock_now(p->clk);
    p->fired++;
    if (p->order) p->order[(*p->norder)++] = p->id;
}

START_TEST(fires_in_deadline_order) {
    VClock clk;
    vclock_init(&clk);
    int order[4], n = 0;
    Probe a = {.clk = &clk, .order = order, .norder = &n, .id = 1};
    Probe b = {.clk = &clk, .order = order, .norder = &n, .id = 2};
    Probe c = {.clk = &clk, .order = order, .norder = &n, .id = 3};
    Timer ta, tb, tc;
    timer_init(&ta, &clk, probe_fire, &a);
    timer_init(&tb, &clk, probe_fire, &b);
    timer_init(&tc, &clk, probe_fire, &c);
    timer_mod(&ta, 300);
    timer_mod(&tb, 100);
    timer_mod(&tc, 200);
    ck_assert_uint_eq(vclock_next_deadline(&clk), 100);
    vclock_advance(&clk, 250);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(order[0], 2);
    ck_assert_int_eq(order[1], 3);
    ck_assert_uint_eq(b.at[0], 100); /* now == deadline inside the callback */
    ck_assert_uint_eq(vclock_now(&clk), 250);
    vclock_advance(&clk, 400);
    ck_assert_int_eq(order[2], 1);
    ck_assert_uint_eq(vclock_next_deadline(&clk), VCLOCK_NEVER);
}
END_TEST

START_TEST(rearm_and_delete) {
    VClock clk;
    vclock_init(&clk);
    Probe a = {.clk = &clk};
    Timer t;
    timer_init(&t, &clk, probe_fire, &a);
    timer_mod(&t, 100);
    timer_mod(&t, 500); /* re-arm moves it */
    vclock_advance(&clk, 200);
    ck_assert_int_eq(a.fired, 0);
    timer_del(&t);
    vclock_advance(&clk, 1000);
    ck_assert_int_eq(a.fired, 0);
    vclock_advance(&clk, 10); /* never backwards */
    ck_assert_uint_eq(vclock_now(&clk), 1000);
}
END_TEST

static void periodic_fire(void *opaque);
typedef struct Periodic {
    Probe p;
    Timer t;
} Periodic;
static void periodic_fire(void *opaque) {
    Periodic *pp = opaque;
    probe_fire(&pp->p);
    timer_mod(&pp->t, pp->t.deadline + pp->p.period);
}

START_TEST(periodic_timer_fires_every_period) {
    VClock clk;
    vclock_init(&clk);
    Periodic pp = {.p = {.clk = &clk, .period = 10}};
    timer_init(&pp.t, &clk, periodic_fire, &pp);
    timer_mod(&pp.t, 10);
    vclock_advance(&clk, 55);
    ck_assert_int_eq(pp.p.fired, 5);
    for (int i = 0; i < 5; i++) ck_assert_uint_eq(pp.p.at[i], 10u * (i + 1));
    ck_assert_uint_eq(vclock_next_deadline(&clk), 60);
}
END_TEST

int main(void) {
    Suite *s = suite_create("clock");
    TCase *tc = tcase_create("queue");
    tcase_add_test(tc, fires_in_deadline_order);
    tcase_add_test(tc, rearm_and_delete);
    tcase_add_test(tc, periodic_timer_fires_every_period);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
