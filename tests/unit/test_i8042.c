/*
 * test_i8042.c - the 8042 driven through ports 0x60/0x64/0x92 and its input
 * API alone: self tests, command byte, A20 and reset lines, keyboard reset
 * and identify, typing with and without set-1 translation, IRQ 1/12,
 * mouse reset, packets, IntelliMouse wheel detection, queue limits.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/i8042.h"

static I8042 *kbd;
static int irq1, irq12, resets, a20;

static int irq1_edges;

static void irq_capture(void *opaque, int n, int level) {
    (void)opaque;
    if (n == 1) {
        if (level && !irq1) irq1_edges++;
        irq1 = level;
    } else {
        irq12 = level;
    }
}
static void on_reset(void *opaque) {
    (void)opaque;
    resets++;
}
static void on_a20(void *opaque, bool enabled) {
    (void)opaque;
    a20 = enabled;
}

static void cmd(uint8_t c) { i8042_port_write(kbd, 0x64, 1, c); }
static void data(uint8_t d) { i8042_port_write(kbd, 0x60, 1, d); }
static uint8_t status(void) { return (uint8_t)i8042_port_read(kbd, 0x64, 1); }
static uint8_t rd(void) {
    ck_assert(status() & 0x01);
    return (uint8_t)i8042_port_read(kbd, 0x60, 1);
}

static void setup(void) {
    irq1 = irq12 = resets = 0;
    a20 = -1;
    I8042Callbacks cb = {on_reset, on_a20, NULL};
    kbd = i8042_new((IrqLine){irq_capture, NULL, 1}, (IrqLine){irq_capture, NULL, 12}, &cb);
}
static void teardown(void) { i8042_free(kbd); }

START_TEST(self_test_and_command_byte) {
    cmd(0xAA);
    ck_assert_uint_eq(rd(), 0x55);
    ck_assert(status() & 0x04); /* SYS */
    cmd(0x60);
    data(0x47);
    cmd(0x20);
    ck_assert_uint_eq(rd(), 0x47);
    cmd(0xAB);
    ck_assert_uint_eq(rd(), 0x00);
    ck_assert(!(status() & 0x01));
}
END_TEST

START_TEST(a20_and_reset_lines) {
    cmd(0xD1);
    data(0xDD); /* A20 off (bit 1 = 0), reset line high */
    ck_assert_int_eq(a20, 0);
    cmd(0xD0);
    ck_assert_uint_eq(rd() & 0x02, 0);
    cmd(0xDF);
    ck_assert_int_eq(a20, 1);
    i8042_port_write(kbd, 0x92, 1, 0x00);
    ck_assert_int_eq(a20, 1); /* still on through the output port */
    cmd(0xDD);
    ck_assert_int_eq(a20, 0);
    i8042_port_write(kbd, 0x92, 1, 0x02);
    ck_assert_int_eq(a20, 1);
    ck_assert_uint_eq(i8042_port_read(kbd, 0x92, 1), 0x02);
    ck_assert_int_eq(resets, 0);
    cmd(0xFE);
    ck_assert_int_eq(resets, 1);
    i8042_port_write(kbd, 0x92, 1, 0x03);
    ck_assert_int_eq(resets, 2);
}
END_TEST

START_TEST(keyboard_reset_and_identify) {
    data(0xFF);
    ck_assert_uint_eq(rd(), 0xFA);
    ck_assert_uint_eq(rd(), 0xAA);
    cmd(0x60);
    data(0x01); /* no translation */
    data(0xF2);
    ck_assert_uint_eq(rd(), 0xFA);
    ck_assert_uint_eq(rd(), 0xAB);
    ck_assert_uint_eq(rd(), 0x83);
    data(0xF0);
    ck_assert_uint_eq(rd(), 0xFA);
    data(0x00);
    ck_assert_uint_eq(rd(), 0xFA);
    ck_assert_uint_eq(rd(), 0x02);
    data(0xEE);
    ck_assert_uint_eq(rd(), 0xEE);
}
END_TEST

START_TEST(typing_translated_and_raw) {
    uint8_t code[2];
    int n = i8042_key_code("a", code);
    ck_assert_int_eq(n, 1);
    i8042_key_event(kbd, code, n, true);
    ck_assert(irq1);
    ck_assert_uint_eq(rd(), 0x1E); /* set 1 make */
    ck_assert(!irq1);
    i8042_key_event(kbd, code, n, false);
    ck_assert_uint_eq(rd(), 0x9E); /* set 1 break */
    n = i8042_key_code("up", code);
    i8042_key_event(kbd, code, n, false);
    ck_assert_uint_eq(rd(), 0xE0);
    ck_assert_uint_eq(rd(), 0xC8);

    cmd(0x60);
    data(0x01); /* translation off */
    n = i8042_key_code("a", code);
    i8042_key_event(kbd, code, n, false);
    ck_assert_uint_eq(rd(), 0xF0);
    ck_assert_uint_eq(rd(), 0x1C);
    ck_assert_int_eq(i8042_key_code("nosuchkey", code), 0);
}
END_TEST

START_TEST(each_byte_is_a_new_irq_edge) {
    irq1_edges = 0;
    data(0xF2); /* identify: three bytes queued (FA AB 41 translated) */
    ck_assert_int_eq(irq1_edges, 1);
    rd();
    ck_assert_int_eq(irq1_edges, 2); /* the line dropped and rose again */
    rd();
    ck_assert_int_eq(irq1_edges, 3);
    rd();
    ck_assert(!irq1);
}
END_TEST

START_TEST(keyboard_interrupt_disabled_and_interface_off) {
    cmd(0x60);
    data(0x40); /* translate, no interrupts */
    uint8_t code[2];
    int n = i8042_key_code("b", code);
    i8042_key_event(kbd, code, n, true);
    ck_assert(!irq1);
    ck_assert(status() & 0x01);
    rd();
    cmd(0xAD); /* keyboard interface off: bytes wait */
    i8042_key_event(kbd, code, n, true);
    ck_assert(!(status() & 0x01));
    cmd(0xAE);
    ck_assert_uint_eq(rd(), 0x30);
}
END_TEST

START_TEST(mouse_reset_packet_and_irq12) {
    cmd(0x60);
    data(0x43); /* both interrupts, translate */
    cmd(0xA8);
    cmd(0xD4);
    data(0xFF);
    ck_assert(irq12);
    ck_assert(status() & 0x20);
    ck_assert_uint_eq(rd(), 0xFA);
    ck_assert_uint_eq(rd(), 0xAA);
    ck_assert_uint_eq(rd(), 0x00);
    i8042_mouse_event(kbd, 5, -3, 0, 1); /* reporting still off */
    ck_assert(!(status() & 0x01));
    cmd(0xD4);
    data(0xF4);
    ck_assert_uint_eq(rd(), 0xFA);
    i8042_mouse_event(kbd, 5, -3, 0, 1);
    ck_assert_uint_eq(rd(), 0x08 | 0x01 | 0x20);
    ck_assert_uint_eq(rd(), 5);
    ck_assert_uint_eq(rd(), 0xFD);
    ck_assert(!irq12);
}
END_TEST

START_TEST(intellimouse_wheel_detection) {
    static const uint8_t rates[] = {200, 100, 80};
    for (int i = 0; i < 3; i++) {
        cmd(0xD4);
        data(0xF3);
        ck_assert_uint_eq(rd(), 0xFA);
        cmd(0xD4);
        data(rates[i]);
        ck_assert_uint_eq(rd(), 0xFA);
    }
    cmd(0xD4);
    data(0xF2);
    ck_assert_uint_eq(rd(), 0xFA);
    ck_assert_uint_eq(rd(), 0x03);
    cmd(0xD4);
    data(0xF4);
    rd();
    i8042_mouse_event(kbd, 0, 0, -1, 0);
    rd();
    rd();
    rd();
    ck_assert_uint_eq(rd(), 0x0F);
}
END_TEST

START_TEST(full_queue_drops_input_not_commands) {
    uint8_t code[2];
    int n = i8042_key_code("c", code);
    for (int i = 0; i < 200; i++) i8042_key_event(kbd, code, n, true);
    int count = 0;
    while (status() & 0x01) {
        rd();
        count++;
    }
    ck_assert_int_ge(count, 60);
    ck_assert_int_le(count, 65);
    data(0xEE); /* the keyboard still answers */
    ck_assert_uint_eq(rd(), 0xEE);
}
END_TEST

int main(void) {
    Suite *s = suite_create("i8042");
    TCase *tc = tcase_create("kbc");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, self_test_and_command_byte);
    tcase_add_test(tc, a20_and_reset_lines);
    tcase_add_test(tc, keyboard_reset_and_identify);
    tcase_add_test(tc, typing_translated_and_raw);
    tcase_add_test(tc, each_byte_is_a_new_irq_edge);
    tcase_add_test(tc, keyboard_interrupt_disabled_and_interface_off);
    tcase_add_test(tc, mouse_reset_packet_and_irq12);
    tcase_add_test(tc, intellimouse_wheel_detection);
    tcase_add_test(tc, full_queue_drops_input_not_commands);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
