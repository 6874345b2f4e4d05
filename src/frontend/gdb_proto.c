/*
 * gdb_proto.c - the GDB remote protocol's byte level (see gdb_proto.h):
 * a receiver state machine, framing, run-length expansion, binary escapes
 * and hex. Written from the protocol's documentation (GDB manual, appendix
 * "GDB Remote Serial Protocol", sections Overview and Binary Data).
 */
#include "frontend/gdb_proto.h"

#include <string.h>

enum { RX_IDLE, RX_DATA, RX_CSUM1, RX_CSUM2 };

void gdb_rx_init(GdbRx *rx) {
    rx->state = RX_IDLE;
    rx->nraw = 0;
    rx->overflow = false;
    rx->sum = 0;
    rx->len = 0;
    rx->data[0] = 0;
}

int gdb_hex_digit(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

uint8_t gdb_checksum(const uint8_t *p, size_t n) {
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += p[i];
    return (uint8_t)sum;
}

static void start_packet(GdbRx *rx) {
    rx->state = RX_DATA;
    rx->nraw = 0;
    rx->overflow = false;
    rx->sum = 0;
}

/* The checksum's second digit arrived: check it, then expand the payload. */
static GdbRxEvent finish_packet(GdbRx *rx, int lo) {
    rx->state = RX_IDLE;
    if (rx->csum_hi < 0 || lo < 0 || (uint8_t)(rx->csum_hi << 4 | lo) != rx->sum)
        return GDB_RX_BAD_CHECKSUM;
    if (rx->overflow) return GDB_RX_TOO_LONG;
    long n = gdb_rle_expand(rx->raw, rx->nraw, rx->data, GDB_PACKET_MAX);
    if (n < 0) {
        rx->len = 0;
        rx->data[0] = 0;
        /* Tell an over-long expansion from a bad encoding. */
        return gdb_rle_expand(rx->raw, rx->nraw, NULL, SIZE_MAX) < 0 ? GDB_RX_MALFORMED
                                                                     : GDB_RX_TOO_LONG;
    }
    rx->len = (size_t)n;
    rx->data[rx->len] = 0;
    return GDB_RX_PACKET;
}

GdbRxEvent gdb_rx_byte(GdbRx *rx, uint8_t byte) {
    switch (rx->state) {
    case RX_IDLE:
        if (byte == '$')
            start_packet(rx);
        else if (byte == 0x03)
            return GDB_RX_INTERRUPT;
        else if (byte == '+')
            return GDB_RX_ACK;
        else if (byte == '-')
            return GDB_RX_NACK;
        return GDB_RX_NONE; /* noise between packets is ignored */
    case RX_DATA:
        if (byte == '$') { /* a new packet starts: the old one was cut short */
            start_packet(rx);
        } else if (byte == '#') {
            rx->state = RX_CSUM1;
        } else {
            rx->sum = (uint8_t)(rx->sum + byte);
            if (rx->nraw < sizeof rx->raw)
                rx->raw[rx->nraw++] = byte;
            else
                rx->overflow = true;
        }
        return GDB_RX_NONE;
    case RX_CSUM1:
        rx->csum_hi = gdb_hex_digit(byte);
        rx->state = RX_CSUM2;
        return GDB_RX_NONE;
    default: return finish_packet(rx, gdb_hex_digit(byte));
    }
}

long gdb_rle_expand(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    size_t len = 0;
    int last = -1; /* the byte a run repeats */
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '*') {
            if (len >= cap) return -1;
            if (out) out[len] = in[i];
            len++;
            last = in[i];
            continue;
        }
        /* '*' repeats the previous byte count - 29 more times; the count
         * is a printable character other than '#' and '$'. */
        if (last < 0 || i + 1 >= n) return -1;
        uint8_t count = in[++i];
        if (count < 29 + 3 || count > 126 || count == '#' || count == '$') return -1;
        size_t repeat = (size_t)count - 29;
        if (repeat > cap - len) return -1;
        if (out) memset(out + len, last, repeat);
        len += repeat;
    }
    return (long)len;
}

long gdb_unescape(uint8_t *p, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '}') {
            if (++i >= n) return -1;
            p[o++] = p[i] ^ 0x20;
        } else {
            p[o++] = p[i];
        }
    }
    return (long)o;
}

static bool must_escape(uint8_t c) {
    return c == '$' || c == '#' || c == '}' || c == '*';
}

size_t gdb_frame(const uint8_t *payload, size_t n, uint8_t *out, size_t cap) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (cap < 4) return 0;
    out[o++] = '$';
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = payload[i];
        if (o + 2 + 3 > cap) return 0;
        if (must_escape(c)) {
            out[o++] = '}';
            sum += '}';
            c ^= 0x20;
        }
        out[o++] = c;
        sum += c;
    }
    if (o + 3 > cap) return 0;
    out[o++] = '#';
    out[o++] = (uint8_t)hex[(sum >> 4) & 0xF];
    out[o++] = (uint8_t)hex[sum & 0xF];
    return o;
}

bool gdb_parse_hex(const char **s, unsigned max_digits, uint64_t *out) {
    const char *p = *s;
    uint64_t v = 0;
    unsigned n = 0;
    for (int d; (d = gdb_hex_digit((unsigned char)*p)) >= 0; p++, n++) {
        if (n == max_digits) return false;
        v = v << 4 | (uint64_t)d;
    }
    if (n == 0) return false;
    *out = v;
    *s = p;
    return true;
}

void gdb_hex_encode(const uint8_t *in, size_t n, char *out) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0xF];
    }
    out[2 * n] = 0;
}

bool gdb_hex_decode(const char *hex, size_t n, uint8_t *out) {
    for (size_t i = 0; i < n; i++) {
        int hi = gdb_hex_digit((unsigned char)hex[2 * i]);
        int lo = hi < 0 ? -1 : gdb_hex_digit((unsigned char)hex[2 * i + 1]);
        if (lo < 0) return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}
