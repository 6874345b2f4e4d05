/*
 * test_uart.c - the 16550A driven through its ports with a fake clock:
 * transmit to the back end, receive with flow control (no byte dropped),
 * FIFO trigger levels and character timeout, interrupt priorities and
 * acknowledgement, OUT2 gating, divisor latch, loopback, scratch register,
 * reset.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "devices/uart.h"

#define BASE 0x3F8
static VClock clk;
static Uart *uart;
static int irq_level;
static uint8_t sent[64];
static int nsent;

static void irq_capture(void *opaque, int n, int level) {
    (void)opaque;
    (void)n;
    irq_level = level;
}
static void tx_capture(void *opaque, uint8_t b) {
    (void)opaque;
    if (nsent < 64) sent[nsent++] = b;
}
static void out(int reg, uint8_t v) { uart_port_write(uart, (uint16_t)(BASE + reg), 1, v); }
static uint8_t in(int reg) { return (uint8_t)uart_port_read(uart, (uint16_t)(BASE + reg), 1); }

static void setup(void) {
    vclock_init(&clk);
    irq_level = 0;
    nsent = 0;
    uart = uart_new(BASE, &clk, (IrqLine){irq_capture, NULL, 4}, tx_capture, NULL);
}
static void teardown(void) { uart_free(uart); }

START_TEST(transmit_reaches_backend) {
    out(0, 'h');
    out(0, 'i');
    ck_assert_int_eq(nsent, 2);
    ck_assert_int_eq(memcmp(sent, "hi", 2), 0);
    ck_assert_uint_eq(in(5) & 0x60, 0x60); /* THRE | TEMT */
}
END_TEST

START_TEST(receive_without_fifo_holds_one_byte) {
    const uint8_t data[] = "abc";
    ck_assert_uint_eq(uart_receive(uart, data, 3), 1); /* the rest stays with the back end */
    ck_assert(in(5) & 0x01);
    ck_assert_uint_eq(in(0), 'a');
    ck_assert(!(in(5) & 0x01));
    ck_assert_uint_eq(uart_receive(uart, data + 1, 2), 1);
    ck_assert_uint_eq(in(0), 'b');
}
END_TEST

START_TEST(fifo_trigger_level_and_timeout) {
    out(2, 0x81); /* FIFO on, trigger 8 */
    out(1, 0x01); /* RDA interrupts */
    out(4, 0x08); /* OUT2: IRQ enabled */
    const uint8_t data[20] = "0123456789ABCDEFGHIJ";
    ck_assert_uint_eq(uart_receive(uart, data, 20), 16);
    ck_assert(irq_level);
    ck_assert_uint_eq(in(2), 0xC4); /* FIFO bits, RDA */
    for (int i = 0; i < 12; i++) ck_assert_uint_eq(in(0), data[i]);
    ck_assert(!irq_level); /* 4 left: below the trigger */
    vclock_advance(&clk, vclock_now(&clk) + 50 * 1000000ull);
    ck_assert(irq_level);
    ck_assert_uint_eq(in(2), 0xCC); /* character timeout */
    for (int i = 12; i < 16; i++) ck_assert_uint_eq(in(0), data[i]);
    ck_assert(!irq_level);
}
END_TEST

START_TEST(thre_interrupt_acknowledged_by_iir_read) {
    out(4, 0x08);
    out(1, 0x02); /* enable THRE with THR empty: interrupt at once */
    ck_assert(irq_level);
    ck_assert_uint_eq(in(2), 0x02);
    ck_assert(!irq_level);
    ck_assert_uint_eq(in(2), 0x01);
    out(0, 'x');
    ck_assert(irq_level);
}
END_TEST

START_TEST(out2_gates_irq) {
    out(1, 0x02);
    ck_assert(!irq_level);
    out(4, 0x08);
    ck_assert(irq_level);
}
END_TEST

START_TEST(priority_line_status_first) {
    out(4, 0x18); /* loopback + OUT2 */
    out(1, 0x07);
    out(0, 'a'); /* no FIFO: second byte overruns */
    out(0, 'b');
    ck_assert_uint_eq(in(2), 0x06); /* line status beats data and THRE */
    ck_assert(in(5) & 0x02);        /* OE, cleared by the read */
    ck_assert_uint_eq(in(2), 0x04);
    ck_assert_uint_eq(in(0), 'a');
}
END_TEST

START_TEST(loopback_and_modem_status) {
    out(4, 0x10 | 0x03); /* loop, RTS, DTR */
    ck_assert_uint_eq(in(6) & 0xF0, 0x30);
    ck_assert_int_eq(nsent, 0);
    ck_assert_uint_eq(uart_can_receive(uart), 0);
    out(0, 'z');
    ck_assert_int_eq(nsent, 0);
    ck_assert_uint_eq(in(0), 'z');
}
END_TEST

START_TEST(divisor_latch_and_scratch) {
    out(3, 0x83);
    out(0, 0x01);
    out(1, 0x00);
    ck_assert_uint_eq(in(0), 0x01);
    ck_assert_uint_eq(in(1), 0x00);
    out(3, 0x03);
    out(7, 0x5A);
    ck_assert_uint_eq(in(7), 0x5A);
    ck_assert_int_eq(nsent, 0); /* divisor writes never transmit */
}
END_TEST

START_TEST(reset_returns_to_power_on) {
    out(2, 0x01); /* FIFO on */
    out(4, 0x08); /* OUT2 */
    out(1, 0x01); /* received-data interrupt */
    out(7, 0x5A);
    out(3, 0x83);
    out(0, 0x01); /* divisor 1 */
    out(3, 0x1B);
    const uint8_t b[2] = {'p', 'q'};
    ck_assert_uint_eq(uart_receive(uart, b, 2), 2);
    vclock_advance(&clk, 10000000); /* character timeout: interrupt */
    ck_assert(irq_level);
    uart_reset(uart);
    ck_assert(!irq_level);
    ck_assert_uint_eq(in(7), 0x00);
    ck_assert_uint_eq(in(1), 0x00);
    ck_assert_uint_eq(in(4), 0x00);
    ck_assert_uint_eq(in(3), 0x03);
    ck_assert_uint_eq(in(2), 0x01); /* no interrupt, FIFOs off */
    ck_assert_uint_eq(in(5), 0x60); /* transmitter empty, nothing received */
    out(3, 0x83);
    ck_assert_uint_eq(in(0), 12); /* 9600 baud again */
    ck_assert_uint_eq(uart_can_receive(uart), 1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("uart");
    TCase *tc = tcase_create("16550a");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, transmit_reaches_backend);
    tcase_add_test(tc, receive_without_fifo_holds_one_byte);
    tcase_add_test(tc, fifo_trigger_level_and_timeout);
    tcase_add_test(tc, thre_interrupt_acknowledged_by_iir_read);
    tcase_add_test(tc, out2_gates_irq);
    tcase_add_test(tc, priority_line_status_first);
    tcase_add_test(tc, loopback_and_modem_status);
    tcase_add_test(tc, divisor_latch_and_scratch);
    tcase_add_test(tc, reset_returns_to_power_on);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
