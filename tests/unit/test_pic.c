/*
 * test_pic.c - the 8259A pair driven through its ports alone (no CPU):
 * initialisation, masking, priorities and EOI, cascade, level vs edge,
 * AEOI, rotation, special mask, poll, spurious interrupts.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/pic.h"

static Pic *pic;

static void out(uint16_t port, uint8_t v) { pic_port_write(pic, port, 1, v); }
static uint8_t in(uint16_t port) { return (uint8_t)pic_port_read(pic, port, 1); }

/* The BIOS/Linux initialisation: master at 0x08 (or 0x20), slave at 0x70 (or 0x28). */
static void init_pair(uint8_t mbase, uint8_t sbase, uint8_t icw4) {
    out(0x20, 0x11); out(0x21, mbase); out(0x21, 0x04); out(0x21, icw4);
    out(0xA0, 0x11); out(0xA1, sbase); out(0xA1, 0x02); out(0xA1, icw4);
    out(0x21, 0x00); out(0xA1, 0x00);
}

static void setup(void) {
    pic = pic_new();
    init_pair(0x20, 0x28, 0x01);
}
static void teardown(void) { pic_free(pic); }

START_TEST(nothing_pending_after_init) {
    ck_assert(!pic_intr_pending(pic));
    ck_assert_uint_eq(in(0x21), 0);
}
END_TEST

START_TEST(edge_request_ack_eoi) {
    pic_set_irq(pic, 1, 1);
    ck_assert(pic_intr_pending(pic));
    ck_assert_int_eq(pic_intr_ack(pic), 0x21);
    ck_assert(!pic_intr_pending(pic));
    out(0x20, 0x0B); /* read ISR */
    ck_assert_uint_eq(in(0x20), 0x02);
    out(0x20, 0x20); /* non-specific EOI */
    ck_assert_uint_eq(in(0x20), 0x00);
    /* Edge: the line is still high, no new request until it drops and rises. */
    ck_assert(!pic_intr_pending(pic));
    pic_set_irq(pic, 1, 0);
    pic_set_irq(pic, 1, 1);
    ck_assert(pic_intr_pending(pic));
}
END_TEST

START_TEST(mask_blocks_request) {
    out(0x21, 0x01);
    pic_set_irq(pic, 0, 1);
    ck_assert(!pic_intr_pending(pic));
    out(0x20, 0x0A); /* read IRR */
    ck_assert_uint_eq(in(0x20), 0x01);
    out(0x21, 0x00);
    ck_assert(pic_intr_pending(pic));
}
END_TEST

START_TEST(priority_and_nesting) {
    pic_set_irq(pic, 3, 1);
    pic_set_irq(pic, 1, 1);
    ck_assert_int_eq(pic_intr_ack(pic), 0x21); /* IRQ1 beats IRQ3 */
    ck_assert(!pic_intr_pending(pic));          /* IRQ3 is lower than in-service IRQ1 */
    pic_set_irq(pic, 0, 1);
    ck_assert_int_eq(pic_intr_ack(pic), 0x20); /* IRQ0 nests above IRQ1 */
    out(0x20, 0x20);                            /* EOI IRQ0 */
    ck_assert(!pic_intr_pending(pic));
    out(0x20, 0x61); /* specific EOI, level 1 */
    ck_assert_int_eq(pic_intr_ack(pic), 0x23);
}
END_TEST

START_TEST(cascade_from_slave) {
    pic_set_irq(pic, 12, 1);
    ck_assert(pic_intr_pending(pic));
    ck_assert_int_eq(pic_intr_ack(pic), 0x2C);
    out(0xA0, 0x0B);
    ck_assert_uint_eq(in(0xA0), 0x10);
    out(0x20, 0x0B);
    ck_assert_uint_eq(in(0x20), 0x04); /* IR2 in service on the master */
    out(0xA0, 0x20);
    out(0x20, 0x20);
    ck_assert_uint_eq(in(0x20), 0x00);
}
END_TEST

START_TEST(level_triggered_via_elcr) {
    out(0x4D1, 0x02 | 0x01); /* IRQ9 level; bit 0 (IRQ8) is not settable */
    ck_assert_uint_eq(in(0x4D1), 0x02);
    pic_set_irq(pic, 9, 1);
    ck_assert_int_eq(pic_intr_ack(pic), 0x29);
    out(0xA0, 0x20);
    out(0x20, 0x20);
    ck_assert(pic_intr_pending(pic)); /* still high: requests again */
    pic_set_irq(pic, 9, 0);
    ck_assert(!pic_intr_pending(pic));
}
END_TEST

START_TEST(spurious_when_request_vanishes) {
    out(0x4D0, 0x08); /* IRQ3 level */
    pic_set_irq(pic, 3, 1);
    ck_assert(pic_intr_pending(pic));
    pic_set_irq(pic, 3, 0);
    ck_assert_int_eq(pic_intr_ack(pic), 0x27); /* IRQ7 vector, ISR untouched */
    out(0x20, 0x0B);
    ck_assert_uint_eq(in(0x20), 0x00);
}
END_TEST

START_TEST(auto_eoi_and_rotation) {
    init_pair(0x20, 0x28, 0x03); /* AEOI */
    pic_set_irq(pic, 4, 1);
    ck_assert_int_eq(pic_intr_ack(pic), 0x24);
    out(0x20, 0x0B);
    ck_assert_uint_eq(in(0x20), 0x00); /* nothing in service */

    init_pair(0x20, 0x28, 0x01);
    out(0x20, 0xC4); /* set priority: IR4 lowest, IR5 highest */
    pic_set_irq(pic, 0, 1);
    pic_set_irq(pic, 6, 1);
    ck_assert_int_eq(pic_intr_ack(pic), 0x26);
    out(0x20, 0xA0); /* rotate on non-specific EOI: IR6 becomes lowest */
    ck_assert_int_eq(pic_intr_ack(pic), 0x20);
}
END_TEST

START_TEST(special_mask_mode_lets_lower_levels_in) {
    pic_set_irq(pic, 1, 1);
    ck_assert_int_eq(pic_intr_ack(pic), 0x21);
    pic_set_irq(pic, 5, 1);
    ck_assert(!pic_intr_pending(pic));
    out(0x21, 0x02); /* mask the in-service IRQ1 */
    out(0x20, 0x68); /* set special mask mode */
    ck_assert(pic_intr_pending(pic));
    ck_assert_int_eq(pic_intr_ack(pic), 0x25);
}
END_TEST

START_TEST(poll_command) {
    pic_set_irq(pic, 6, 1);
    out(0x20, 0x0C); /* poll */
    ck_assert_uint_eq(in(0x20), 0x86);
    out(0x20, 0x0B);
    ck_assert_uint_eq(in(0x20), 0x40); /* poll acknowledged it */
    out(0x20, 0x0C);
    ck_assert_uint_eq(in(0x20), 0x00);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pic");
    TCase *tc = tcase_create("8259");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, nothing_pending_after_init);
    tcase_add_test(tc, edge_request_ack_eoi);
    tcase_add_test(tc, mask_blocks_request);
    tcase_add_test(tc, priority_and_nesting);
    tcase_add_test(tc, cascade_from_slave);
    tcase_add_test(tc, level_triggered_via_elcr);
    tcase_add_test(tc, spurious_when_request_vanishes);
    tcase_add_test(tc, auto_eoi_and_rotation);
    tcase_add_test(tc, special_mask_mode_lets_lower_levels_in);
    tcase_add_test(tc, poll_command);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
