/*
 * test_cmos.c - the MC146818 driven through ports 0x70/0x71 with a fake
 * virtual clock: time that follows the clock, BCD/binary and 12/24-hour
 * formats, setting the time, UIP, periodic/update/alarm interrupts on IRQ 8
 * cleared by reading register C, CMOS RAM and the NMI mask bit.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/cmos.h"

static VClock clk;
static Cmos *cmos;
static int irq_level, irq_rises;

static void irq_capture(void *opaque, int n, int level) {
    (void)opaque;
    (void)n;
    if (level && !irq_level) irq_rises++;
    irq_level = level;
}

static uint8_t rd(uint8_t index) {
    cmos_port_write(cmos, 0x70, 1, index);
    return (uint8_t)cmos_port_read(cmos, 0x71, 1);
}
static void wr(uint8_t index, uint8_t v) {
    cmos_port_write(cmos, 0x70, 1, index);
    cmos_port_write(cmos, 0x71, 1, v);
}

/* 2026-11-22 09:30:58 UTC, a Sunday */
#define START 1795339858LL

static void setup(void) {
    vclock_init(&clk);
    irq_level = irq_rises = 0;
    cmos = cmos_new(&clk, (IrqLine){irq_capture, NULL, 8}, START);
}
static void teardown(void) { cmos_free(cmos); }

START_TEST(reads_start_time_in_bcd) {
    ck_assert_uint_eq(rd(0x00), 0x58);
    ck_assert_uint_eq(rd(0x02), 0x30);
    ck_assert_uint_eq(rd(0x04), 0x09);
    ck_assert_uint_eq(rd(0x06), 0x01); /* Sunday */
    ck_assert_uint_eq(rd(0x07), 0x22);
    ck_assert_uint_eq(rd(0x08), 0x11);
    ck_assert_uint_eq(rd(0x09), 0x26);
    ck_assert_uint_eq(rd(0x32), 0x20);
    ck_assert_uint_eq(rd(0x0D), 0x80);
}
END_TEST

START_TEST(time_follows_virtual_clock) {
    vclock_advance(&clk, 5 * 1000000000ull);
    ck_assert_uint_eq(rd(0x00), 0x03);
    ck_assert_uint_eq(rd(0x02), 0x31);
}
END_TEST

START_TEST(binary_and_12_hour_formats) {
    wr(0x0B, 0x04); /* binary, 12-hour */
    ck_assert_uint_eq(rd(0x00), 58);
    ck_assert_uint_eq(rd(0x04), 9); /* 9 AM */
    vclock_advance(&clk, 4 * 3600 * 1000000000ull);
    ck_assert_uint_eq(rd(0x04), 0x80 | 1); /* 1 PM */
}
END_TEST

START_TEST(guest_sets_time) {
    wr(0x0B, 0x82); /* SET, 24h, BCD */
    wr(0x04, 0x23);
    wr(0x02, 0x59);
    wr(0x00, 0x50);
    wr(0x0B, 0x02);
    vclock_advance(&clk, 15 * 1000000000ull);
    ck_assert_uint_eq(rd(0x00), 0x05);
    ck_assert_uint_eq(rd(0x02), 0x00);
    ck_assert_uint_eq(rd(0x04), 0x00);
    ck_assert_uint_eq(rd(0x07), 0x23); /* the next day */
}
END_TEST

START_TEST(uip_before_each_second) {
    vclock_advance(&clk, 1000000000ull - 100000);
    ck_assert(rd(0x0A) & 0x80);
    vclock_advance(&clk, 1000000000ull + 1000);
    ck_assert(!(rd(0x0A) & 0x80));
}
END_TEST

START_TEST(periodic_interrupt_at_rate) {
    wr(0x0A, 0x26); /* 1024 Hz */
    wr(0x0B, 0x42); /* PIE */
    vclock_advance(&clk, 1000000); /* 1 ms: one period (976.5 us) */
    ck_assert_int_eq(irq_rises, 1);
    ck_assert(irq_level);
    uint8_t c = rd(0x0C);
    ck_assert_uint_eq(c & 0xC0, 0xC0); /* IRQF | PF */
    ck_assert(!irq_level);             /* reading C lowers IRQ 8 */
    ck_assert_uint_eq(rd(0x0C), 0);
    vclock_advance(&clk, 10 * 1000000ull);
    ck_assert_int_ge(irq_rises, 2);
}
END_TEST

START_TEST(update_and_alarm_interrupts) {
    wr(0x01, 0x01); /* alarm at hh:mm:01, hour and minute don't care */
    wr(0x03, 0xC0);
    wr(0x05, 0xC0);
    wr(0x0B, 0x12); /* UIE */
    vclock_advance(&clk, 1000000000ull);
    ck_assert(irq_level);
    uint8_t c = rd(0x0C);
    ck_assert_uint_eq(c & 0x90, 0x90); /* IRQF | UF */
    ck_assert(!(c & 0x20));            /* second 59: no alarm */
    wr(0x0B, 0x22);                    /* AIE only */
    vclock_advance(&clk, 3 * 1000000000ull + 1); /* updates at 09:31:00 and 09:31:01 */
    c = rd(0x0C);
    ck_assert_uint_eq(c & 0xA0, 0xA0); /* IRQF | AF */
}
END_TEST

START_TEST(ram_and_nmi_mask) {
    cmos_set(cmos, 0x15, 0x80);
    ck_assert_uint_eq(rd(0x15), 0x80);
    wr(0x40, 0x5A);
    ck_assert_uint_eq(cmos_get(cmos, 0x40), 0x5A);
    cmos_port_write(cmos, 0x70, 1, 0x80 | 0x40);
    ck_assert(cmos_nmi_masked(cmos));
    ck_assert_uint_eq(cmos_port_read(cmos, 0x71, 1), 0x5A);
    cmos_port_write(cmos, 0x70, 1, 0x10);
    ck_assert(!cmos_nmi_masked(cmos));
}
END_TEST

int main(void) {
    Suite *s = suite_create("cmos");
    TCase *tc = tcase_create("mc146818");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, reads_start_time_in_bcd);
    tcase_add_test(tc, time_follows_virtual_clock);
    tcase_add_test(tc, binary_and_12_hour_formats);
    tcase_add_test(tc, guest_sets_time);
    tcase_add_test(tc, uip_before_each_second);
    tcase_add_test(tc, periodic_interrupt_at_rate);
    tcase_add_test(tc, update_and_alarm_interrupts);
    tcase_add_test(tc, ram_and_nmi_mask);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
