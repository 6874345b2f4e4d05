/*
 * test_cmos.c - the MC146818 driven through ports 0x70/0x71 with a fake
 * virtual clock: time that follows the clock, BCD/binary and 12/24-hour
 * formats, setting the time, UIP, periodic/update/alarm interrupts on IRQ 8
 * cleared by reading register C, CMOS RAM and the NMI mask bit; every date
 * a guest can write (years 0000-9999 through the century byte, both
 * formats, 12/24 hours, bytes with invalid BCD digits) reads back as written
 * and goes on counting.
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

/* Let ns of virtual time pass (vclock_advance takes an absolute time). */
static void wait_ns(uint64_t ns) {
    vclock_advance(&clk, vclock_now(&clk) + ns);
}

/* A date as the guest writes it: register bytes in the current format. */
typedef struct {
    uint8_t century, year, month, mday, wday, hour, min, sec;
} RtcBytes;

static void set_time(uint8_t reg_b, RtcBytes t) {
    wr(0x0B, (uint8_t)(reg_b | 0x80)); /* SET */
    wr(0x32, t.century);
    wr(0x09, t.year);
    wr(0x08, t.month);
    wr(0x07, t.mday);
    wr(0x06, t.wday);
    wr(0x04, t.hour);
    wr(0x02, t.min);
    wr(0x00, t.sec);
    wr(0x0B, reg_b);
}

static void assert_time(RtcBytes t) {
    ck_assert_uint_eq(rd(0x32), t.century);
    ck_assert_uint_eq(rd(0x09), t.year);
    ck_assert_uint_eq(rd(0x08), t.month);
    ck_assert_uint_eq(rd(0x07), t.mday);
    ck_assert_uint_eq(rd(0x06), t.wday);
    ck_assert_uint_eq(rd(0x04), t.hour);
    ck_assert_uint_eq(rd(0x02), t.min);
    ck_assert_uint_eq(rd(0x00), t.sec);
}

static uint8_t bcd(int v) {
    return (uint8_t)(v / 10 << 4 | v % 10);
}

/* The case: a century byte that puts the date before 1900 (the old
 * conversion shifted a negative value, which UBSan stops on). */
START_TEST(date_before_1900_reads_back) {
    set_time(0x02, (RtcBytes){0x18, 0x50, 0x06, 0x15, 0x07, 0x12, 0x34, 0x56});
    assert_time((RtcBytes){0x18, 0x50, 0x06, 0x15, 0x07, 0x12, 0x34, 0x56});
    wait_ns(4 * 1000000000ull);
    assert_time((RtcBytes){0x18, 0x50, 0x06, 0x15, 0x07, 0x12, 0x35, 0x00});
}
END_TEST

/* Every century 00-99 and year 00-99, BCD and binary: 31 December
 * 23:59:59 reads back, and one second later it is 1 January of the next
 * year (the century carries after year 99; 9999 wraps to 0000). */
START_TEST(every_year_of_every_century_reads_back_and_counts) {
    for (int binary = 0; binary <= 1; binary++) {
        uint8_t reg_b = binary ? 0x06 : 0x02;
        uint8_t (*enc)(int) = binary ? NULL : bcd;
        for (int century = 0; century < 100; century++) {
            for (int year = 0; year < 100; year++) {
#define E(v) (enc ? enc(v) : (uint8_t)(v))
                set_time(reg_b,
                         (RtcBytes){E(century), E(year), E(12), E(31), E(3), E(23), E(59), E(59)});
                assert_time(
                    (RtcBytes){E(century), E(year), E(12), E(31), E(3), E(23), E(59), E(59)});
                wait_ns(1000000000ull);
                int next_century = year == 99 ? (century + 1) % 100 : century;
                assert_time((RtcBytes){E(next_century), E((year + 1) % 100), E(1), E(1), E(4), E(0),
                                       E(0), E(0)});
#undef E
            }
        }
    }
}
END_TEST

/* 12-hour mode on 29 February of year 0000 (a leap year): every hour
 * reads back, with bit 7 for PM, and midnight goes to 1 March. */
START_TEST(twelve_hour_mode_in_year_zero) {
    for (int binary = 0; binary <= 1; binary++) {
        uint8_t reg_b = binary ? 0x04 : 0x00;
        for (int hour = 0; hour < 24; hour++) {
            int h12 = hour % 12 ? hour % 12 : 12;
            uint8_t h = (uint8_t)((binary ? h12 : bcd(h12)) | (hour >= 12 ? 0x80 : 0));
            set_time(reg_b, (RtcBytes){0x00, 0x00, 0x02, binary ? 29 : 0x29, 0x02, h, 0x00, 0x00});
            assert_time((RtcBytes){0x00, 0x00, 0x02, binary ? 29 : 0x29, 0x02, h, 0x00, 0x00});
        }
        wait_ns(3600 * 1000000000ull); /* 11 PM -> 12 AM */
        assert_time((RtcBytes){0x00, 0x00, 0x03, 0x01, 0x03, binary ? 12 : 0x12, 0x00, 0x00});
    }
}
END_TEST

/* Bytes with invalid BCD digits: the century byte reads as written until
 * the clock carries into the next century (0x1A counts as 20); the
 * weekday byte as written until midnight. Nothing else breaks. */
START_TEST(invalid_bcd_century_and_weekday_are_held) {
    set_time(0x02, (RtcBytes){0x1A, 0x99, 0x12, 0x31, 0x0F, 0x23, 0x59, 0x58});
    assert_time((RtcBytes){0x1A, 0x99, 0x12, 0x31, 0x0F, 0x23, 0x59, 0x58});
    wait_ns(2 * 1000000000ull);
    ck_assert_uint_eq(rd(0x32), 0x21);
    ck_assert_uint_eq(rd(0x09), 0x00);
    ck_assert_uint_eq(rd(0x08), 0x01);
    ck_assert_uint_eq(rd(0x07), 0x01);
    uint8_t wday = rd(0x06);
    ck_assert(wday >= 1 && wday <= 7);
    /* Every byte value in the century register, either format, is held. */
    for (int v = 0; v < 256; v++) {
        set_time(v & 1 ? 0x06 : 0x02, (RtcBytes){(uint8_t)v, 0x00, 0x06, 0x15, 0x02, 0x12, 0, 0});
        ck_assert_uint_eq(rd(0x32), v);
        ck_assert_uint_eq(rd(0x09), 0x00);
    }
}
END_TEST

/* The weekday is the guest's, not computed from the date: 1 January 2000
 * was a Saturday (7) but the guest says Monday (2); Tuesday at midnight. */
START_TEST(weekday_written_counts_on) {
    set_time(0x02, (RtcBytes){0x20, 0x00, 0x01, 0x01, 0x02, 0x23, 0x59, 0x59});
    ck_assert_uint_eq(rd(0x06), 0x02);
    wait_ns(1000000000ull);
    ck_assert_uint_eq(rd(0x06), 0x03);
    ck_assert_uint_eq(rd(0x07), 0x02);
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
    tcase_add_test(tc, date_before_1900_reads_back);
    tcase_add_test(tc, every_year_of_every_century_reads_back_and_counts);
    tcase_add_test(tc, twelve_hour_mode_in_year_zero);
    tcase_add_test(tc, invalid_bcd_century_and_weekday_are_held);
    tcase_add_test(tc, weekday_written_counts_on);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
