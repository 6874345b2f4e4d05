/*
 * test_pit.c - the 8254 driven through its ports with a fake virtual clock
 * (no CPU): counts in each mode, OUT/IRQ 0 edges, latch and read-back,
 * BCD, access modes, channel 2 gate through port 0x61.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/pit.h"

static VClock clk;
static Pit *pit;
static int irq_level, irq_rises;

static void irq_capture(void *opaque, int n, int level) {
    (void)opaque;
    (void)n;
    if (level && !irq_level) irq_rises++;
    irq_level = level;
}

static void out(uint16_t port, uint8_t v) { pit_port_write(pit, port, 1, v); }
static uint8_t in(uint16_t port) { return (uint8_t)pit_port_read(pit, port, 1); }
static uint64_t ns_for_ticks(uint64_t ticks) { return (ticks * 1000000000ull + PIT_HZ - 1) / PIT_HZ; }
static void advance_ticks(uint64_t ticks) { vclock_advance(&clk, vclock_now(&clk) + ns_for_ticks(ticks)); }
static uint16_t read16(int ch) {
    uint8_t lo = in((uint16_t)(0x40 + ch));
    return (uint16_t)(lo | in((uint16_t)(0x40 + ch)) << 8);
}

static void setup(void) {
    vclock_init(&clk);
    irq_level = irq_rises = 0;
    pit = pit_new(&clk, (IrqLine){irq_capture, NULL, 0});
}
static void teardown(void) { pit_free(pit); }

START_TEST(mode2_rate_generator_interrupts_every_period) {
    out(0x43, 0x34); /* ch0, lsb/msb, mode 2 */
    out(0x40, 0xE8); out(0x40, 0x03); /* 1000 ticks */
    irq_rises = 0; /* programming the mode raised OUT: count from here */
    vclock_advance(&clk, ns_for_ticks(10500) + 1);
    ck_assert_int_eq(irq_rises, 10);
    ck_assert(irq_level);
}
END_TEST

START_TEST(mode0_one_shot) {
    out(0x43, 0x30); /* ch0, mode 0 */
    out(0x40, 100); out(0x40, 0);
    ck_assert(!pit_out(pit, 0));
    advance_ticks(50);
    ck_assert(!pit_out(pit, 0));
    out(0x43, 0x00); /* latch */
    uint16_t v = read16(0);
    ck_assert_int_le(v, 51);
    ck_assert_int_ge(v, 49);
    advance_ticks(60);
    ck_assert(pit_out(pit, 0));
    ck_assert_int_eq(irq_rises, 1);
    advance_ticks(100000);
    ck_assert_int_eq(irq_rises, 1); /* only once */
}
END_TEST

START_TEST(mode3_square_wave_levels) {
    out(0x43, 0x36); /* ch0, mode 3 */
    out(0x40, 100); out(0x40, 0);
    irq_rises = 0;
    advance_ticks(10);
    ck_assert(pit_out(pit, 0));
    advance_ticks(50); /* tick 60: low half */
    ck_assert(!pit_out(pit, 0));
    advance_ticks(50); /* tick 110: high again */
    ck_assert(pit_out(pit, 0));
    ck_assert_int_eq(irq_rises, 1);
}
END_TEST

START_TEST(latch_holds_value_until_read) {
    out(0x43, 0x34);
    out(0x40, 0x00); out(0x40, 0x00); /* 65536 */
    advance_ticks(1000);
    out(0x43, 0x00);
    advance_ticks(5000);
    uint16_t v = read16(0);
    ck_assert_int_le(v, 64536);
    ck_assert_int_ge(v, 64534);
    uint16_t live = read16(0);
    ck_assert_int_lt(live, 60000); /* unlatched: the live count */
}
END_TEST

START_TEST(readback_status_and_count) {
    out(0x43, 0xB2); /* ch2, lsb/msb, mode 1, binary */
    out(0x43, 0xE8); /* read-back: latch status of ch2 only (count bit5=1 means don't) */
    uint8_t status = in(0x42);
    ck_assert_uint_eq(status & 0x3F, 0x32); /* rw=3, mode 1 */
    ck_assert(status & 0x40);               /* null count: no count written */
}
END_TEST

START_TEST(bcd_counting) {
    out(0x43, 0x35); /* ch0 mode 2 BCD */
    out(0x40, 0x00); out(0x40, 0x10); /* 1000 in BCD */
    advance_ticks(1);
    out(0x43, 0x00);
    uint16_t v = read16(0);
    ck_assert_uint_eq(v, 0x0999);
}
END_TEST

START_TEST(lsb_only_access) {
    out(0x43, 0x54); /* ch1, lsb only, mode 2 */
    out(0x41, 18);
    advance_ticks(3);
    ck_assert_uint_eq(in(0x41), 15);
}
END_TEST

START_TEST(channel2_gate_via_port61) {
    out(0x43, 0xB0); /* ch2, mode 0 */
    out(0x42, 100); out(0x42, 0);
    advance_ticks(500);
    ck_assert(!(in(0x61) & 0x20)); /* gate low: not counting */
    out(0x61, 0x01);               /* gate high */
    advance_ticks(50);
    ck_assert(!(in(0x61) & 0x20));
    advance_ticks(60);
    ck_assert(in(0x61) & 0x20);    /* OUT2 high after terminal count */
    ck_assert_uint_eq(in(0x61) & 0x0F, 0x01);
}
END_TEST

START_TEST(refresh_bit_toggles) {
    uint8_t a = in(0x61) & 0x10;
    vclock_advance(&clk, vclock_now(&clk) + 15085);
    ck_assert_uint_ne(in(0x61) & 0x10, a);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pit");
    TCase *tc = tcase_create("8254");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mode2_rate_generator_interrupts_every_period);
    tcase_add_test(tc, mode0_one_shot);
    tcase_add_test(tc, mode3_square_wave_levels);
    tcase_add_test(tc, latch_holds_value_until_read);
    tcase_add_test(tc, readback_status_and_count);
    tcase_add_test(tc, bcd_counting);
    tcase_add_test(tc, lsb_only_access);
    tcase_add_test(tc, channel2_gate_via_port61);
    tcase_add_test(tc, refresh_bit_toggles);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
