/*
 * gdb_proto.h - the GDB remote serial protocol's byte level, without a CPU:
 * receiving packets ($payload#cs: checksum, acknowledgement, run-length
 * encoding, the Ctrl-C interrupt byte), framing replies (escaping the
 * protocol's special characters), binary data (X packets: '}' escapes) and
 * hex helpers. Every size is bounded: a packet longer than GDB_PACKET_MAX
 * (also after run-length expansion) is reported as such and dropped, never
 * stored. The stub (gdbstub.c) gives meaning to the payloads.
 *
 * Use:
 *     GdbRx rx;
 *     gdb_rx_init(&rx);
 *     for each byte b read from the socket:
 *         switch (gdb_rx_byte(&rx, b)) {
 *         case GDB_RX_PACKET: handle(rx.data, rx.len); break;  // NUL-terminated
 *         case GDB_RX_BAD_CHECKSUM: send "-"; break;
 *         ...
 *         }
 *     n = gdb_frame(payload, len, out, sizeof out);            // "$...#cs"
 */
#ifndef BT86_GDB_PROTO_H
#define BT86_GDB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest payload accepted (what qSupported advertises as PacketSize). */
#define GDB_PACKET_MAX 16384

typedef enum GdbRxEvent {
    GDB_RX_NONE,         /* the byte was taken; nothing complete yet */
    GDB_RX_PACKET,       /* a packet with a good checksum: rx.data, rx.len */
    GDB_RX_BAD_CHECKSUM, /* a packet arrived damaged: ask for it again ("-") */
    GDB_RX_TOO_LONG,     /* a packet longer than GDB_PACKET_MAX: dropped */
    GDB_RX_MALFORMED,    /* a good checksum but bad run-length encoding */
    GDB_RX_INTERRUPT,    /* Ctrl-C (0x03) outside a packet */
    GDB_RX_ACK,          /* '+' */
    GDB_RX_NACK,         /* '-': resend the last reply */
} GdbRxEvent;

typedef struct GdbRx {
    int state;                   /* outside a packet, in its data, in its checksum */
    uint8_t raw[GDB_PACKET_MAX]; /* the bytes between '$' and '#' */
    size_t nraw;
    bool overflow; /* more than GDB_PACKET_MAX bytes: counted, not stored */
    uint8_t sum;   /* of the bytes between '$' and '#', modulo 256 */
    int csum_hi;   /* the first checksum digit's value */
    /* The payload of the last GDB_RX_PACKET (runs expanded), NUL-terminated. */
    uint8_t data[GDB_PACKET_MAX + 1];
    size_t len;
} GdbRx;

void gdb_rx_init(GdbRx *rx);
/* Feed one received byte; returns what it completed. */
GdbRxEvent gdb_rx_byte(GdbRx *rx, uint8_t byte);

/* The protocol's checksum: the sum of the bytes modulo 256. */
uint8_t gdb_checksum(const uint8_t *p, size_t n);

/* Frame a reply: '$', the payload with '$', '#', '}' and '*' escaped, '#'
 * and two hex digits of the checksum. Returns the length written to out,
 * or 0 if it does not fit in cap bytes (2 * n + 4 always fits). */
size_t gdb_frame(const uint8_t *payload, size_t n, uint8_t *out, size_t cap);

/* Expand run-length encoding ("c*N": N - 29 more copies of c) from in into
 * out (at most cap bytes). Returns the length, or -1 if the encoding is
 * malformed or the result does not fit. */
long gdb_rle_expand(const uint8_t *in, size_t n, uint8_t *out, size_t cap);

/* Undo binary escapes ("}x" is x ^ 0x20) in place. Returns the new length,
 * or -1 when the data ends in the middle of an escape. */
long gdb_unescape(uint8_t *p, size_t n);

/* The value of a hex digit, or -1. */
int gdb_hex_digit(int c);
/* Parse 1 to max_digits hex digits at *s into *out and advance *s past
 * them; false (nothing consumed) if there is none or there are more. */
bool gdb_parse_hex(const char **s, unsigned max_digits, uint64_t *out);
/* bytes -> 2 * n lowercase hex digits (NUL-terminated: out holds 2n + 1). */
void gdb_hex_encode(const uint8_t *in, size_t n, char *out);
/* 2 * n hex digits -> n bytes; false on a bad digit. */
bool gdb_hex_decode(const char *hex, size_t n, uint8_t *out);

#endif
