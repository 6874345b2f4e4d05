/*
 * fuzz_input.h - reading a fuzzer's input as a stream of small numbers.
 *
 * Every fuzz target decodes its input the same way: bytes are taken from
 * the front; once the input is used up every read returns 0 (and
 * fuzz_done() says so), so any input, even an empty one, is a valid
 * program for the target.
 *
 * Use:
 *     FuzzInput in = {data, size};
 *     unsigned op = fuzz_u8(&in);
 *     uint32_t addr = fuzz_u32(&in);
 *     while (!fuzz_done(&in)) { ... }
 */
#ifndef BT86_FUZZ_INPUT_H
#define BT86_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct FuzzInput {
    const uint8_t *data;
    size_t size;
} FuzzInput;

static inline bool fuzz_done(const FuzzInput *in) {
    return in->size == 0;
}

static inline uint8_t fuzz_u8(FuzzInput *in) {
    if (!in->size) return 0;
    in->size--;
    return *in->data++;
}

static inline uint16_t fuzz_u16(FuzzInput *in) {
    uint16_t lo = fuzz_u8(in);
    return (uint16_t)(lo | fuzz_u8(in) << 8);
}

static inline uint32_t fuzz_u32(FuzzInput *in) {
    uint32_t lo = fuzz_u16(in);
    return lo | (uint32_t)fuzz_u16(in) << 16;
}

/* Up to n bytes into buf (the rest zero); returns how many came from the input. */
static inline size_t fuzz_bytes(FuzzInput *in, void *buf, size_t n) {
    size_t got = n < in->size ? n : in->size;
    memcpy(buf, in->data, got);
    memset((uint8_t *)buf + got, 0, n - got);
    in->data += got;
    in->size -= got;
    return got;
}

#endif
