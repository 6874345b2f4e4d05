/*
 * test_gdb_proto.c - the GDB remote protocol's byte level without a CPU
 * (frontend/gdb_proto.c): packet framing and checksums, acknowledgements
 * and Ctrl-C, escapes, run-length encoding, hex helpers, and hostile input:
 * bad checksums, over-long packets (also after expansion), malformed runs
 * and escapes get an error event, never a crash or an overrun.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/gdb_proto.h"

static GdbRx rx;

/* Feed a string; returns the last event that was not GDB_RX_NONE. */
static GdbRxEvent feed(const char *s, size_t n) {
    GdbRxEvent last = GDB_RX_NONE;
    for (size_t i = 0; i < n; i++) {
        GdbRxEvent e = gdb_rx_byte(&rx, (uint8_t)s[i]);
        if (e != GDB_RX_NONE) last = e;
    }
    return last;
}
#define FEED(s) feed(s, strlen(s))

START_TEST(test_packet_with_checksum) {
    gdb_rx_init(&rx);
    /* 'g' = 0x67 */
    ck_assert_int_eq(FEED("$g#67"), GDB_RX_PACKET);
    ck_assert_uint_eq(rx.len, 1);
    ck_assert_str_eq((const char *)rx.data, "g");
    ck_assert_int_eq(FEED("$m7c00,2#c5"), GDB_RX_PACKET);
    ck_assert_str_eq((const char *)rx.data, "m7c00,2");
    /* Upper-case checksum digits are accepted too. */
    ck_assert_int_eq(FEED("$m7c00,2#C5"), GDB_RX_PACKET);
    ck_assert_int_eq(FEED("$#00"), GDB_RX_PACKET); /* empty */
    ck_assert_uint_eq(rx.len, 0);
}
END_TEST

START_TEST(test_bad_checksum) {
    gdb_rx_init(&rx);
    ck_assert_int_eq(FEED("$g#68"), GDB_RX_BAD_CHECKSUM);
    ck_assert_int_eq(FEED("$g#zz"), GDB_RX_BAD_CHECKSUM);
    ck_assert_int_eq(FEED("$g#6"), GDB_RX_NONE); /* incomplete */
    ck_assert_int_eq(FEED("7"), GDB_RX_PACKET);
}
END_TEST

START_TEST(test_acks_and_interrupt) {
    gdb_rx_init(&rx);
    ck_assert_int_eq(gdb_rx_byte(&rx, '+'), GDB_RX_ACK);
    ck_assert_int_eq(gdb_rx_byte(&rx, '-'), GDB_RX_NACK);
    ck_assert_int_eq(gdb_rx_byte(&rx, 0x03), GDB_RX_INTERRUPT);
    ck_assert_int_eq(gdb_rx_byte(&rx, 'x'), GDB_RX_NONE); /* noise */
    /* Inside a packet 0x03 is data, and a '$' restarts the packet. */
    ck_assert_int_eq(FEED("$ab\x03"), GDB_RX_NONE);
    ck_assert_int_eq(FEED("$g#67"), GDB_RX_PACKET);
    ck_assert_str_eq((const char *)rx.data, "g");
}
END_TEST

START_TEST(test_frame_escapes) {
    uint8_t out[64];
    size_t n = gdb_frame((const uint8_t *)"OK", 2, out, sizeof out);
    ck_assert_uint_eq(n, 6);
    ck_assert(memcmp(out, "$OK#9a", 6) == 0);
    /* Special characters are escaped and the checksum covers the escapes. */
    const uint8_t special[] = {'$', '#', '}', '*', 'a'};
    n = gdb_frame(special, sizeof special, out, sizeof out);
    const char *want = "$}\x04}\x03}]}\na";
    ck_assert_uint_eq(n, strlen(want) + 3);
    ck_assert(memcmp(out, want, strlen(want)) == 0);
    ck_assert_uint_eq(out[n - 3], '#');
    uint8_t sum = gdb_checksum(out + 1, n - 4);
    ck_assert_int_eq(gdb_hex_digit(out[n - 2]) << 4 | gdb_hex_digit(out[n - 1]), sum);
    /* The receiver gets the escaped bytes; unescaping gives the data back. */
    gdb_rx_init(&rx);
    ck_assert_int_eq(feed((const char *)out, n), GDB_RX_PACKET);
    long m = gdb_unescape(rx.data, rx.len);
    ck_assert_int_eq(m, (long)sizeof special);
    ck_assert(memcmp(rx.data, special, sizeof special) == 0);
    /* Too small an output buffer: nothing, not an overrun. */
    ck_assert_uint_eq(gdb_frame(special, sizeof special, out, 8), 0);
    ck_assert_uint_eq(gdb_frame(special, 0, out, 3), 0);
}
END_TEST

START_TEST(test_unescape_malformed) {
    uint8_t buf[4] = {'a', '}'};
    ck_assert_int_eq(gdb_unescape(buf, 2), -1); /* ends inside an escape */
    uint8_t ok[3] = {'}', ']', 'x'};
    ck_assert_int_eq(gdb_unescape(ok, 3), 2);
    ck_assert_int_eq(ok[0], '}');
    ck_assert_int_eq(ok[1], 'x');
}
END_TEST

START_TEST(test_run_length) {
    uint8_t out[32];
    /* "0* " is '0' plus ' ' - 29 = 3 more. */
    ck_assert_int_eq(gdb_rle_expand((const uint8_t *)"0* 1", 4, out, sizeof out), 5);
    ck_assert(memcmp(out, "00001", 5) == 0);
    ck_assert_int_eq(gdb_rle_expand((const uint8_t *)"*!", 2, out, sizeof out), -1); /* no byte */
    ck_assert_int_eq(gdb_rle_expand((const uint8_t *)"a*", 2, out, sizeof out), -1); /* no count */
    ck_assert_int_eq(gdb_rle_expand((const uint8_t *)"a*\x10", 3, out, sizeof out), -1);
    ck_assert_int_eq(gdb_rle_expand((const uint8_t *)"a*~", 3, out, 20), -1); /* 98 > 20 */
    /* Through the receiver: "$0* #cs". */
    uint8_t pkt[16] = "$0* #";
    uint8_t sum = gdb_checksum(pkt + 1, 3);
    static const char hex[] = "0123456789abcdef";
    pkt[5] = (uint8_t)hex[sum >> 4];
    pkt[6] = (uint8_t)hex[sum & 15];
    gdb_rx_init(&rx);
    ck_assert_int_eq(feed((const char *)pkt, 7), GDB_RX_PACKET);
    ck_assert_str_eq((const char *)rx.data, "0000");
    /* A malformed run with a good checksum. */
    uint8_t bad[8] = "$*!#";
    sum = gdb_checksum(bad + 1, 2);
    bad[4] = (uint8_t)hex[sum >> 4];
    bad[5] = (uint8_t)hex[sum & 15];
    ck_assert_int_eq(feed((const char *)bad, 6), GDB_RX_MALFORMED);
}
END_TEST

/* A packet of n bytes of 'a' with its checksum. */
static char *long_packet(size_t n, const char *tail) {
    size_t t = strlen(tail);
    char *s = malloc(n + t + 5);
    s[0] = '$';
    memset(s + 1, 'a', n);
    memcpy(s + 1 + n, tail, t);
    uint8_t sum = gdb_checksum((const uint8_t *)s + 1, n + t);
    static const char hex[] = "0123456789abcdef";
    s[1 + n + t] = '#';
    s[2 + n + t] = hex[sum >> 4];
    s[3 + n + t] = hex[sum & 15];
    s[4 + n + t] = 0;
    return s;
}

START_TEST(test_oversized) {
    gdb_rx_init(&rx);
    char *ok = long_packet(GDB_PACKET_MAX, "");
    ck_assert_int_eq(FEED(ok), GDB_RX_PACKET);
    ck_assert_uint_eq(rx.len, GDB_PACKET_MAX);
    free(ok);
    char *big = long_packet(GDB_PACKET_MAX + 1, "");
    ck_assert_int_eq(FEED(big), GDB_RX_TOO_LONG);
    free(big);
    char *huge = long_packet(10 * GDB_PACKET_MAX, "");
    ck_assert_int_eq(FEED(huge), GDB_RX_TOO_LONG);
    free(huge);
    /* Short on the wire, too long once expanded. */
    char *runs = long_packet(GDB_PACKET_MAX - 4, "*~");
    ck_assert_int_eq(FEED(runs), GDB_RX_TOO_LONG);
    free(runs);
    /* The receiver is usable afterwards. */
    ck_assert_int_eq(FEED("$g#67"), GDB_RX_PACKET);
}
END_TEST

START_TEST(test_hex) {
    const char *s = "7c00,2";
    uint64_t v;
    ck_assert(gdb_parse_hex(&s, 8, &v));
    ck_assert_uint_eq(v, 0x7c00);
    ck_assert_str_eq(s, ",2");
    s = "123456789";
    ck_assert(!gdb_parse_hex(&s, 8, &v)); /* too many digits: no overflow */
    ck_assert_str_eq(s, "123456789");
    s = ",2";
    ck_assert(!gdb_parse_hex(&s, 8, &v));
    s = "FFffFFff";
    ck_assert(gdb_parse_hex(&s, 8, &v));
    ck_assert_uint_eq(v, 0xFFFFFFFFu);
    char out[9];
    const uint8_t b[4] = {0x55, 0xAA, 0x00, 0xF1};
    gdb_hex_encode(b, 4, out);
    ck_assert_str_eq(out, "55aa00f1");
    uint8_t back[4];
    ck_assert(gdb_hex_decode("55AA00f1", 4, back));
    ck_assert(memcmp(back, b, 4) == 0);
    ck_assert(!gdb_hex_decode("5g", 1, back));
    ck_assert(!gdb_hex_decode("5", 1, back + 3)); /* odd: the NUL is not a digit */
}
END_TEST

/* Random bytes never crash the receiver and every packet it reports is
 * NUL-terminated within bounds. */
START_TEST(test_noise) {
    gdb_rx_init(&rx);
    srand(1);
    int events = 0;
    for (int i = 0; i < 2000000; i++) {
        uint8_t c = (uint8_t)(rand() % 8 == 0 ? "$#*}+-\x03"[rand() % 7] : rand());
        GdbRxEvent e = gdb_rx_byte(&rx, c);
        if (e == GDB_RX_PACKET) {
            ck_assert_uint_le(rx.len, GDB_PACKET_MAX);
            ck_assert_int_eq(rx.data[rx.len], 0);
        }
        events += e == GDB_RX_BAD_CHECKSUM;
    }
    ck_assert_int_gt(events, 1000); /* packets were framed and judged */
}
END_TEST

static Suite *gdb_proto_suite(void) {
    Suite *s = suite_create("gdb_proto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_packet_with_checksum);
    tcase_add_test(tc, test_bad_checksum);
    tcase_add_test(tc, test_acks_and_interrupt);
    tcase_add_test(tc, test_frame_escapes);
    tcase_add_test(tc, test_unescape_malformed);
    tcase_add_test(tc, test_run_length);
    tcase_add_test(tc, test_oversized);
    tcase_add_test(tc, test_hex);
    tcase_add_test(tc, test_noise);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(gdb_proto_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
