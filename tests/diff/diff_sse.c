/*
 * diff_sse.c - the SSE oracle (x86-64 hosts): random sequences of SSE,
 * SSE2, SSE3 and SSSE3 instructions (every form bt86 implements: XMM and
 * MMX registers, general registers, memory operands, immediates, stores,
 * MASKMOV*, LDMXCSR/STMXCSR, FXSAVE/FXRSTOR round trips, fences, SSE3's
 * FISTTP after an FLD of a random double) run
 * natively and in bt86 from the same random state: XMM0-7 (random lanes,
 * often NaNs, denormals, infinities, zeros, integer-valued floats), MM0-7,
 * EAX/ECX/EDX/ESI, the memory operands, and MXCSR (random rounding, FZ,
 * DAZ; in half the sequences some exceptions unmasked).
 *
 * Compared bit for bit at the end: the FXSAVE image (x87 control/status/
 * tags, MM0-7, MXCSR, XMM0-7; not the instruction pointers, which differ
 * between the runs, nor MXCSR_MASK, which is the host's), EAX/ECX/EDX/
 * ESI, the arithmetic flags, and the memory operands. An unmasked SIMD
 * exception is SIGFPE on the host (#XM: Linux sets CR4.OSXMMEXCPT) and
 * vector 19 in bt86 (CR4.OSXMMEXCPT set there too): both must fault, and
 * the state at the fault (the signal frame's FXSAVE image and registers;
 * bt86's FXSAVE taken right after) must agree - unchanged destination,
 * MXCSR flags. A host SIGSEGV/SIGILL (a generator slip) must match #GP/#UD.
 *
 * Memory operands are [EDI + disp8/disp32] (RDI on the host: same bytes);
 * general registers only EAX, ECX, EDX, ESI. A failure prints the seed,
 * the test number and the shortest failing prefix of the sequence.
 */
#include "diff.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#define OPERANDS  0x000 /* memory operands, 0x100 bytes */
#define XMM_IN    0x100 /* XMM0-7 loaded first (128 bytes) */
#define MM_IN     0x180 /* MM0-7 (64 bytes) */
#define GPR_IN    0x1C0 /* EAX, ECX, EDX, ESI */
#define MXCSR_IN  0x1D0
#define MXCSR_TMP 0x1D4 /* STMXCSR/LDMXCSR slot (only valid values) */
#define HOST_CSR  0x1D8 /* 0x1F80, loaded at the end */
#define GPR_OUT   0x1E0 /* EAX, ECX, EDX, ESI, EFLAGS */
#define FX_OUT    0x200 /* FXSAVE image at the end (512 bytes) */
#define FX_TMP    0x400 /* FXSAVE/FXRSTOR round trips */
#define AREA      0x600

enum { XX, XG, GX, XM, MX, MM, MG, GM, SX, SG, SM, SGI, SH, MASK, LH };
enum { A = 1, IMM = 2, MEMONLY = 4, REGONLY = 8 };

typedef struct Form {
    uint8_t pfx, map, op, shape, msize, flags;
} Form;

/* map: 0 = 0F, 0x38, 0x3A. SH forms: the ModRM.reg in msize. */
/* clang-format off */
static const Form forms[] = {
    /* packed, 16-byte aligned memory */
#define P(pfx, op) {pfx, 0, op, XX, 16, A}
#define PI(pfx, op) {pfx, 0, op, XX, 16, A | IMM}
    P(0, 0x14), P(0, 0x15), P(0, 0x28), P(0, 0x51), P(0, 0x52), P(0, 0x53), P(0, 0x54), P(0, 0x55),
    P(0, 0x56), P(0, 0x57), P(0, 0x58), P(0, 0x59), P(0, 0x5B), P(0, 0x5C), P(0, 0x5D), P(0, 0x5E),
    P(0, 0x5F), PI(0, 0xC2), PI(0, 0xC6),
    P(0x66, 0x14), P(0x66, 0x15), P(0x66, 0x28), P(0x66, 0x51), P(0x66, 0x54), P(0x66, 0x55),
    P(0x66, 0x56), P(0x66, 0x57), P(0x66, 0x58), P(0x66, 0x59), P(0x66, 0x5A), P(0x66, 0x5B),
    P(0x66, 0x5C), P(0x66, 0x5D), P(0x66, 0x5E), P(0x66, 0x5F), P(0x66, 0x60), P(0x66, 0x61),
    P(0x66, 0x62), P(0x66, 0x63), P(0x66, 0x64), P(0x66, 0x65), P(0x66, 0x66), P(0x66, 0x67),
    P(0x66, 0x68), P(0x66, 0x69), P(0x66, 0x6A), P(0x66, 0x6B), P(0x66, 0x6C), P(0x66, 0x6D),
    P(0x66, 0x6F), PI(0x66, 0x70), P(0x66, 0x74), P(0x66, 0x75), P(0x66, 0x76), P(0x66, 0x7C),
    P(0x66, 0x7D), PI(0x66, 0xC2), PI(0x66, 0xC6), P(0x66, 0xD0), P(0x66, 0xD1), P(0x66, 0xD2),
    P(0x66, 0xD3), P(0x66, 0xD4), P(0x66, 0xD5), P(0x66, 0xD8), P(0x66, 0xD9), P(0x66, 0xDA),
    P(0x66, 0xDB), P(0x66, 0xDC), P(0x66, 0xDD), P(0x66, 0xDE), P(0x66, 0xDF), P(0x66, 0xE0),
    P(0x66, 0xE1), P(0x66, 0xE2), P(0x66, 0xE3), P(0x66, 0xE4), P(0x66, 0xE5), P(0x66, 0xE6),
    P(0x66, 0xE8), P(0x66, 0xE9), P(0x66, 0xEA), P(0x66, 0xEB), P(0x66, 0xEC), P(0x66, 0xED),
    P(0x66, 0xEE), P(0x66, 0xEF), P(0x66, 0xF1), P(0x66, 0xF2), P(0x66, 0xF3), P(0x66, 0xF4),
    P(0x66, 0xF5), P(0x66, 0xF6), P(0x66, 0xF8), P(0x66, 0xF9), P(0x66, 0xFA), P(0x66, 0xFB),
    P(0x66, 0xFC), P(0x66, 0xFD), P(0x66, 0xFE),
    P(0xF3, 0x12), P(0xF3, 0x16), P(0xF3, 0x5B), PI(0xF3, 0x70), PI(0xF2, 0x70), P(0xF2, 0x7C),
    P(0xF2, 0x7D), P(0xF2, 0xD0), P(0xF2, 0xE6),
#define S3(op) {0x66, 0x38, op, XX, 16, A}, {0, 0x38, op, MM, 8, 0}
    S3(0x00), S3(0x01), S3(0x02), S3(0x03), S3(0x04), S3(0x05), S3(0x06), S3(0x07), S3(0x08),
    S3(0x09), S3(0x0A), S3(0x0B), S3(0x1C), S3(0x1D), S3(0x1E),
    {0x66, 0x3A, 0x0F, XX, 16, A | IMM}, {0, 0x3A, 0x0F, MM, 8, IMM},
    /* unaligned 16-byte loads */
    {0, 0, 0x10, XX, 16, 0}, {0x66, 0, 0x10, XX, 16, 0}, {0xF3, 0, 0x6F, XX, 16, 0},
    {0xF2, 0, 0xF0, XX, 16, MEMONLY},
    /* 8-byte operands */
    {0, 0, 0x5A, XX, 8, 0}, {0x66, 0, 0x2E, XX, 8, 0}, {0x66, 0, 0x2F, XX, 8, 0},
    {0xF3, 0, 0x7E, XX, 8, 0}, {0xF3, 0, 0xE6, XX, 8, 0}, {0xF2, 0, 0x10, XX, 8, 0},
    {0xF2, 0, 0x12, XX, 8, 0}, {0xF2, 0, 0x51, XX, 8, 0}, {0xF2, 0, 0x58, XX, 8, 0},
    {0xF2, 0, 0x59, XX, 8, 0}, {0xF2, 0, 0x5A, XX, 8, 0}, {0xF2, 0, 0x5C, XX, 8, 0},
    {0xF2, 0, 0x5D, XX, 8, 0}, {0xF2, 0, 0x5E, XX, 8, 0}, {0xF2, 0, 0x5F, XX, 8, 0},
    {0xF2, 0, 0xC2, XX, 8, IMM},
    /* 4-byte operands */
    {0, 0, 0x2E, XX, 4, 0}, {0, 0, 0x2F, XX, 4, 0}, {0xF3, 0, 0x10, XX, 4, 0},
    {0xF3, 0, 0x51, XX, 4, 0}, {0xF3, 0, 0x52, XX, 4, 0}, {0xF3, 0, 0x53, XX, 4, 0},
    {0xF3, 0, 0x58, XX, 4, 0}, {0xF3, 0, 0x59, XX, 4, 0}, {0xF3, 0, 0x5A, XX, 4, 0},
    {0xF3, 0, 0x5C, XX, 4, 0}, {0xF3, 0, 0x5D, XX, 4, 0}, {0xF3, 0, 0x5E, XX, 4, 0},
    {0xF3, 0, 0x5F, XX, 4, 0}, {0xF3, 0, 0xC2, XX, 4, IMM},
    /* MOVLPS/MOVHLPS, MOVHPS/MOVLHPS, MOVLPD, MOVHPD */
    {0, 0, 0x12, LH, 8, 0}, {0, 0, 0x16, LH, 8, 0}, {0x66, 0, 0x12, LH, 8, MEMONLY},
    {0x66, 0, 0x16, LH, 8, MEMONLY},
    /* general registers */
    {0x66, 0, 0x6E, XG, 4, 0}, {0xF3, 0, 0x2A, XG, 4, 0}, {0xF2, 0, 0x2A, XG, 4, 0},
    {0x66, 0, 0xC4, XG, 2, IMM}, {0xF3, 0, 0x2C, GX, 4, 0}, {0xF3, 0, 0x2D, GX, 4, 0},
    {0xF2, 0, 0x2C, GX, 8, 0}, {0xF2, 0, 0x2D, GX, 8, 0}, {0, 0, 0x50, GX, 0, REGONLY},
    {0x66, 0, 0x50, GX, 0, REGONLY}, {0x66, 0, 0xD7, GX, 0, REGONLY},
    {0x66, 0, 0xC5, GX, 0, REGONLY | IMM},
    /* MMX <-> XMM */
    {0, 0, 0x2A, XM, 8, 0}, {0x66, 0, 0x2A, XM, 8, 0}, {0xF3, 0, 0xD6, XM, 0, REGONLY},
    {0, 0, 0x2C, MX, 8, 0}, {0, 0, 0x2D, MX, 8, 0}, {0x66, 0, 0x2C, MX, 16, A},
    {0x66, 0, 0x2D, MX, 16, A}, {0xF2, 0, 0xD6, MX, 0, REGONLY},
    /* SSE/SSE2 integer on MMX registers */
    {0, 0, 0x70, MM, 8, IMM}, {0, 0, 0xD4, MM, 8, 0}, {0, 0, 0xDA, MM, 8, 0},
    {0, 0, 0xDE, MM, 8, 0}, {0, 0, 0xE0, MM, 8, 0}, {0, 0, 0xE3, MM, 8, 0},
    {0, 0, 0xE4, MM, 8, 0}, {0, 0, 0xEA, MM, 8, 0}, {0, 0, 0xEE, MM, 8, 0},
    {0, 0, 0xF4, MM, 8, 0}, {0, 0, 0xF6, MM, 8, 0}, {0, 0, 0xFB, MM, 8, 0},
    {0, 0, 0xC4, MG, 2, IMM}, {0, 0, 0xC5, GM, 0, REGONLY | IMM}, {0, 0, 0xD7, GM, 0, REGONLY},
    /* stores */
    {0, 0, 0x11, SX, 16, 0}, {0, 0, 0x13, SX, 8, MEMONLY}, {0, 0, 0x17, SX, 8, MEMONLY},
    {0, 0, 0x29, SX, 16, A}, {0, 0, 0x2B, SX, 16, A | MEMONLY}, {0x66, 0, 0x11, SX, 16, 0},
    {0x66, 0, 0x13, SX, 8, MEMONLY}, {0x66, 0, 0x17, SX, 8, MEMONLY}, {0x66, 0, 0x29, SX, 16, A},
    {0x66, 0, 0x2B, SX, 16, A | MEMONLY}, {0x66, 0, 0x7F, SX, 16, A}, {0x66, 0, 0xD6, SX, 8, 0},
    {0x66, 0, 0xE7, SX, 16, A | MEMONLY}, {0xF3, 0, 0x11, SX, 4, 0}, {0xF3, 0, 0x7F, SX, 16, 0},
    {0xF2, 0, 0x11, SX, 8, 0}, {0x66, 0, 0x7E, SG, 4, 0}, {0, 0, 0xE7, SM, 8, MEMONLY},
    {0, 0, 0xC3, SGI, 4, MEMONLY},
    /* shifts by immediate (msize: ModRM.reg) */
    {0x66, 0, 0x71, SH, 2, IMM}, {0x66, 0, 0x71, SH, 4, IMM}, {0x66, 0, 0x71, SH, 6, IMM},
    {0x66, 0, 0x72, SH, 2, IMM}, {0x66, 0, 0x72, SH, 4, IMM}, {0x66, 0, 0x72, SH, 6, IMM},
    {0x66, 0, 0x73, SH, 2, IMM}, {0x66, 0, 0x73, SH, 3, IMM}, {0x66, 0, 0x73, SH, 6, IMM},
    {0x66, 0, 0x73, SH, 7, IMM},
    /* MASKMOVQ, MASKMOVDQU */
    {0, 0, 0xF7, MASK, 0, REGONLY}, {0x66, 0, 0xF7, MASK, 0, REGONLY},
};
/* clang-format on */
#define NFORMS (sizeof forms / sizeof forms[0])

static const uint8_t gprs[4] = {0, 1, 2, 6}; /* EAX ECX EDX ESI */

/* A 32-bit float: special values often. */
static uint32_t rand_f32(Rng *r) {
    uint32_t s = (uint32_t)rng_range(r, 2) << 31;
    switch (rng_range(r, 12)) {
    case 0: return s | 0x7F800000u;                              /* infinity */
    case 1: return s | 0x7FC00000u | (rng_value(r) & 0x3FFFFF);  /* QNaN */
    case 2: return s | 0x7F800001u | (rng_value(r) & 0x1FFFFF);  /* SNaN */
    case 3: return s | (rng_value(r) & 0x7FFFFF);                /* denormal / zero */
    case 4: return s;                                            /* zero */
    case 5: return s | (0x3F800000u + (rng_range(r, 64) << 23)); /* 1, 2, 4, ... */
    case 6: return s | ((rng_range(r, 4) + 1) << 23) | (rng_value(r) & 0x7FFFFF);    /* tiny */
    case 7: return s | ((0xFC + rng_range(r, 3)) << 23) | (rng_value(r) & 0x7FFFFF); /* huge */
    case 8: { /* an integer value */
        float f = (float)(int32_t)(rng_value(r) >> rng_range(r, 32));
        uint32_t u;
        memcpy(&u, &f, 4);
        return u;
    }
    default: return s | ((0x60 + rng_range(r, 0x40)) << 23) | (rng_value(r) & 0x7FFFFF);
    }
}

static uint64_t rand_f64(Rng *r) {
    uint64_t s = (uint64_t)rng_range(r, 2) << 63;
    uint64_t m = rng_next(r) & 0xFFFFFFFFFFFFFull;
    switch (rng_range(r, 12)) {
    case 0: return s | 0x7FF0000000000000ull;
    case 1: return s | 0x7FF8000000000000ull | (m >> 1);
    case 2: return s | 0x7FF0000000000001ull | (m >> 2);
    case 3: return s | m;
    case 4: return s;
    case 5: return s | (0x3FF0000000000000ull + ((uint64_t)rng_range(r, 64) << 52));
    case 6: return s | ((uint64_t)(rng_range(r, 4) + 1) << 52) | m;
    case 7: return s | ((uint64_t)(0x7FC + rng_range(r, 3)) << 52) | m;
    case 8: { /* an integer value */
        double d = (double)(int64_t)(rng_next(r) >> rng_range(r, 64));
        uint64_t u;
        memcpy(&u, &d, 8);
        return u;
    }
    case 9: /* a float value widened, or a value near the int32 range */
        return s | ((uint64_t)(0x41D + rng_range(r, 3)) << 52) | m;
    default: return s | ((uint64_t)(0x300 + rng_range(r, 0x200)) << 52) | m;
    }
}

/* 16 random bytes: float lanes, double lanes, integers, or extreme bytes. */
static void rand_x(Rng *r, uint8_t *b) {
    uint32_t d[4];
    uint64_t q[2];
    switch (rng_range(r, 5)) {
    case 0:
    case 1:
        for (int i = 0; i < 4; i++)
            d[i] = rand_f32(r);
        memcpy(b, d, 16);
        break;
    case 2:
    case 3:
        q[0] = rand_f64(r);
        q[1] = rand_f64(r);
        memcpy(b, q, 16);
        break;
    default:
        for (int i = 0; i < 16; i += 8) {
            uint64_t v = rng_next(r);
            if (rng_range(r, 3) == 0)
                v &= 0x8080808080808080ull;
            else if (rng_range(r, 3) == 0)
                v = rng_range(r, 140); /* shift counts */
            memcpy(b + i, &v, 8);
        }
        break;
    }
}

/* ModRM for register rm or [edi + disp] of a size-byte operand (16-byte
 * aligned when align). Returns its length. */
static int modrm(Rng *r, uint8_t *b, unsigned reg, bool mem, unsigned rm, unsigned size,
                 bool align) {
    if (!mem) {
        b[0] = (uint8_t)(0xC0 | reg << 3 | rm);
        return 1;
    }
    unsigned span = 0x100 - (size ? size : 1);
    uint32_t d = align ? 16 * rng_range(r, span / 16 + 1) : rng_range(r, span + 1);
    if (d < 0x80 && rng_range(r, 4)) {
        b[0] = (uint8_t)(0x47 | reg << 3);
        b[1] = (uint8_t)d;
        return 2;
    }
    b[0] = (uint8_t)(0x87 | reg << 3);
    for (int i = 0; i < 4; i++)
        b[1 + i] = (uint8_t)(d >> (8 * i));
    return 5;
}

static int emit_disp32(uint8_t *b, int n, unsigned reg, uint32_t disp) {
    b[n++] = (uint8_t)(0x87 | reg << 3);
    for (int i = 0; i < 4; i++)
        b[n++] = (uint8_t)(disp >> (8 * i));
    return n;
}

/* One random instruction (or a short group); returns its length. */
static int gen_sse(Rng *r, uint8_t *b, int *ninsns) {
    int n = 0;
    *ninsns = 1;
    unsigned pick = rng_range(r, 100);
    if (pick == 0) { /* STMXCSR then LDMXCSR of the same slot */
        static const uint8_t s[] = {0x0F, 0xAE, 0x9F, MXCSR_TMP & 0xFF, MXCSR_TMP >> 8, 0, 0,
                                    0x0F, 0xAE, 0x97, MXCSR_TMP & 0xFF, MXCSR_TMP >> 8, 0, 0};
        memcpy(b, s, sizeof s);
        *ninsns = 2;
        return (int)sizeof s;
    }
    if (pick == 1) { /* LDMXCSR of the slot (a value STMXCSR or the start stored) */
        static const uint8_t s[] = {0x0F, 0xAE, 0x97, MXCSR_TMP & 0xFF, MXCSR_TMP >> 8, 0, 0};
        memcpy(b, s, sizeof s);
        return (int)sizeof s;
    }
    if (pick == 2) { /* fxsave [edi+FX_TMP]; fxrstor [edi+FX_TMP] */
        n = emit_disp32(b, 2, 0, FX_TMP);
        b[0] = 0x0F, b[1] = 0xAE;
        b[n++] = 0x0F, b[n++] = 0xAE;
        n = emit_disp32(b, n, 1, FX_TMP);
        *ninsns = 2;
        return n;
    }
    if (pick == 3) { /* fences, PAUSE, PREFETCHh, CLFLUSH */
        switch (rng_range(r, 6)) {
        case 0: b[0] = 0x0F, b[1] = 0xAE, b[2] = 0xE8; return 3;
        case 1: b[0] = 0x0F, b[1] = 0xAE, b[2] = 0xF0; return 3;
        case 2: b[0] = 0x0F, b[1] = 0xAE, b[2] = 0xF8; return 3;
        case 3: b[0] = 0xF3, b[1] = 0x90; return 2;
        case 4:
            b[0] = 0x0F, b[1] = 0x18;
            return 2 + modrm(r, b + 2, rng_range(r, 4), true, 0, 1, false);
        default: b[0] = 0x0F, b[1] = 0xAE; return 2 + modrm(r, b + 2, 7, true, 0, 1, false);
        }
    }
    if (pick == 4) { /* fld m64; fisttp m16/m32/m64 (SSE3) */
        static const uint8_t esc[3] = {0xDF, 0xDB, 0xDD};
        unsigned k = rng_range(r, 3);
        b[n++] = 0xDD;
        n += modrm(r, b + n, 0, true, 0, 8, false);
        b[n++] = esc[k];
        n += modrm(r, b + n, 1, true, 0, 2u << k, false);
        *ninsns = 2;
        return n;
    }
    const Form *f = &forms[rng_range(r, NFORMS)];
    bool mem = (f->flags & MEMONLY) || (!(f->flags & REGONLY) && rng_range(r, 2));
    unsigned reg = rng_range(r, 8), rm = rng_range(r, 8);
    switch (f->shape) {
    case XG: rm = gprs[rng_range(r, 4)]; break;
    case GX:
    case GM: reg = gprs[rng_range(r, 4)]; break;
    case MG: rm = gprs[rng_range(r, 4)]; break;
    case SG: rm = gprs[rng_range(r, 4)]; break;
    case SGI: reg = gprs[rng_range(r, 4)]; break;
    case SH:
        reg = f->msize;
        mem = false;
        break;
    case MASK: mem = false; break;
    default: break;
    }
    if (f->pfx) b[n++] = f->pfx;
    b[n++] = 0x0F;
    if (f->map) b[n++] = f->map;
    b[n++] = f->op;
    n += modrm(r, b + n, reg, mem, rm, f->shape == SH ? 16 : f->msize, f->flags & A);
    if (f->flags & IMM) b[n++] = (uint8_t)(rng_range(r, 3) ? rng_range(r, 256) : rng_range(r, 20));
    return n;
}

/* The bytes of the area compared (not instruction pointers, MXCSR_MASK,
 * the FXSAVE reserved area, the scratch slots). */
static bool compared(int k) {
    if (k < XMM_IN) return true;
    if (k >= GPR_OUT && k < GPR_OUT + 20) return true;
    if (k >= FX_OUT && k < FX_OUT + 288) {
        int o = k - FX_OUT;
        return o < 6 || (o >= 24 && o < 28) || o >= 32;
    }
    return false;
}

typedef void (*Snippet)(uint8_t *area);

static uint8_t *exec_page;
static uint8_t init_area[AREA] __attribute__((aligned(16)));
static uint8_t host_area[AREA] __attribute__((aligned(16)));
static uint8_t bt_area[AREA];
static sigjmp_buf host_jmp;
static volatile int host_signal;

static void on_signal(int sig, siginfo_t *si, void *ctx) {
    (void)si;
    ucontext_t *uc = ctx;
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (rip < (uintptr_t)exec_page || rip >= (uintptr_t)exec_page + 8192) {
        signal(sig, SIG_DFL); /* not the snippet: a real crash */
        return;
    }
    host_signal = sig;
    memcpy(host_area + FX_OUT, uc->uc_mcontext.fpregs, 512);
    static const int g[4] = {REG_RAX, REG_RCX, REG_RDX, REG_RSI};
    for (int i = 0; i < 4; i++) {
        uint32_t v = (uint32_t)uc->uc_mcontext.gregs[g[i]];
        memcpy(host_area + GPR_OUT + 4 * i, &v, 4);
    }
    siglongjmp(host_jmp, 1);
}

static int emit_rm32(uint8_t *code, int n, uint8_t pfx, uint8_t op0, uint8_t op1, unsigned reg,
                     uint32_t disp) {
    if (pfx) code[n++] = pfx;
    if (op0) code[n++] = op0;
    code[n++] = op1;
    return emit_disp32(code, n, reg, disp);
}

/* The code after the body: registers, EFLAGS and FXSAVE into the area. */
static int epilogue(uint8_t *code, int n, bool flags) {
    for (int g = 0; g < 4; g++)
        n = emit_rm32(code, n, 0, 0, 0x89, gprs[g], GPR_OUT + 4 * g);
    if (flags) {
        code[n++] = 0x9C; /* pushf; pop eax (pushfq/pop rax on the host) */
        code[n++] = 0x58;
        n = emit_rm32(code, n, 0, 0, 0x89, 0, GPR_OUT + 16);
    }
    n = emit_rm32(code, n, 0, 0x0F, 0xAE, 0, FX_OUT); /* fxsave */
    code[n++] = 0x0F;                                 /* emms */
    code[n++] = 0x77;
    n = emit_rm32(code, n, 0, 0x0F, 0xAE, 2, HOST_CSR); /* ldmxcsr */
    return n;
}

/* Run body natively and in bt86 from init_area; returns the first differing
 * byte, -1 if none, -2 if one side faulted and the other did not (or
 * with another exception), -3 if bt86 did not finish. */
static int run_pair(const uint8_t *body, int len, int *host_vec, int *bt_vec) {
    uint8_t code[1024];
    int n = 0;
    code[n++] = 0xDB; /* fninit */
    code[n++] = 0xE3;
    for (int i = 0; i < 8; i++)
        n = emit_rm32(code, n, 0xF3, 0x0F, 0x6F, (unsigned)i, XMM_IN + 16 * (unsigned)i);
    for (int i = 0; i < 8; i++)
        n = emit_rm32(code, n, 0, 0x0F, 0x6F, (unsigned)i, MM_IN + 8 * (unsigned)i);
    code[n++] = 0x31; /* xor eax, eax: known arithmetic flags */
    code[n++] = 0xC0;
    for (int g = 0; g < 4; g++)
        n = emit_rm32(code, n, 0, 0, 0x8B, gprs[g], GPR_IN + 4 * g);
    n = emit_rm32(code, n, 0, 0x0F, 0xAE, 2, MXCSR_IN); /* ldmxcsr */
    int body_at = n;
    memcpy(code + n, body, (size_t)len);
    n += len;
    n = epilogue(code, n, true);
    memcpy(exec_page, code, (size_t)n);
    exec_page[n] = 0xC3; /* ret */

    memcpy(host_area, init_area, AREA);
    host_signal = 0;
    if (sigsetjmp(host_jmp, 1) == 0) ((Snippet)(void *)exec_page)(host_area);
    __asm__ volatile("emms");
    static const uint32_t csr = 0x1F80;
    __asm__ volatile("ldmxcsr %0" ::"m"(csr));
    *host_vec = host_signal == SIGFPE ? 19 : host_signal == SIGSEGV ? 13 : host_signal ? 6 : -1;
    if (host_signal) memset(host_area + GPR_OUT + 16, 0, 4);

    bt86_side_poke(BT86_DATA, init_area, AREA);
    DiffState st = {{0}, 0x2};
    st.regs[7] = BT86_DATA;
    st.regs[4] = BT86_STACK_TOP;
    bool ran = bt86_side_run(code, n, &st, 200);
    *bt_vec = ran ? -1 : bt86_side_last_exception();
    if (!ran && *bt_vec >= 0) {
        /* The state at the fault: registers and FXSAVE, as the host's signal frame has. */
        uint8_t epi[128];
        int m = epilogue(epi, 0, false);
        bt86_side_run(epi, m, &st, 20);
        uint8_t zero[4] = {0};
        bt86_side_poke(BT86_DATA + GPR_OUT + 16, zero, 4);
    }
    (void)body_at;
    bt86_side_peek(BT86_DATA, bt_area, AREA);
    if (*host_vec != *bt_vec) return -2;
    if (!ran && *bt_vec < 0) return -3;
    for (int k = 0; k < AREA; k++) {
        if (!compared(k)) continue;
        if (k == GPR_OUT + 16 || k == GPR_OUT + 17) { /* EFLAGS: the arithmetic flags */
            uint16_t h = (uint16_t)((host_area[k] | host_area[k + (k & 1 ? -1 : 1)] << 8) & 0x8D5);
            uint16_t t = (uint16_t)((bt_area[k] | bt_area[k + (k & 1 ? -1 : 1)] << 8) & 0x8D5);
            if ((k & 1) == 0 && h != t) return k;
            continue;
        }
        if (k >= GPR_OUT + 18 && k < GPR_OUT + 20) continue;
        if (host_area[k] != bt_area[k]) return k;
    }
    return -1;
}

static const char *where(int k) {
    if (k < XMM_IN) return "memory operand";
    if (k >= GPR_OUT && k < GPR_OUT + 16) return "general register";
    if (k >= GPR_OUT + 16 && k < GPR_OUT + 20) return "EFLAGS";
    if (k >= FX_OUT + 160 && k < FX_OUT + 288) return "XMM register";
    if (k >= FX_OUT + 24 && k < FX_OUT + 28) return "MXCSR";
    if (k >= FX_OUT && k < FX_OUT + 160) return "x87/MMX state";
    return "area";
}

static void dump_x(const char *label, const uint8_t *xmm, uint32_t csr) {
    printf("  %-8s mxcsr %08x\n", label, csr);
    for (int i = 0; i < 8; i++) {
        const uint8_t *x = xmm + 16 * i;
        printf("    xmm%d ", i);
        for (int j = 15; j >= 0; j--)
            printf("%02x%s", x[j], j == 8 ? ":" : "");
        printf("\n");
    }
}

int run_sse_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                   DiffResult *res) {
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    if (!(c & 1) || !(c >> 9 & 1)) {
        printf("diff-sse: skipped: the host has no SSE3/SSSE3\n");
        return DIFF_SKIP;
    }
    exec_page =
        mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (exec_page == MAP_FAILED) {
        printf("diff-sse: skipped: cannot map executable memory\n");
        return DIFF_SKIP;
    }
    struct sigaction sa, old_fpe, old_segv, old_ill;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGFPE, &sa, &old_fpe);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGILL, &sa, &old_ill);
    bt86_side_init();
    bt86_side_enable_sse();
    Rng rng = {seed * 0x9E3779B97F4A7C15ULL + 41};
    memset(init_area, 0, AREA);
    for (unsigned long long t = 0, done = 0; done < count; t++) {
        uint8_t body[512];
        int bounds[16], len = 0, nitems = 1 + (int)rng_range(&rng, 8), ninsns = 0;
        for (int k = 0; k < nitems; k++) {
            int cnt;
            bounds[k] = len;
            len += gen_sse(&rng, body + len, &cnt);
            ninsns += cnt;
        }
        for (int k = 0; k < 0x100; k += 16)
            rand_x(&rng, init_area + OPERANDS + k);
        for (int k = 0; k < 8; k++)
            rand_x(&rng, init_area + XMM_IN + 16 * k);
        for (int k = 0; k < 8; k++) {
            uint64_t v = rng_next(&rng);
            if (rng_range(&rng, 3) == 0) v = rng_range(&rng, 70);
            memcpy(init_area + MM_IN + 8 * k, &v, 8);
        }
        for (int g = 0; g < 4; g++) {
            uint32_t v = rng_range(&rng, 2) ? rand_f32(&rng) : rng_value(&rng);
            memcpy(init_area + GPR_IN + 4 * g, &v, 4);
        }
        /* MXCSR: random rounding, FZ, DAZ; half the sequences unmask some exceptions. */
        uint32_t csr =
            0x1F80u | rng_range(&rng, 4) << 13 | rng_range(&rng, 2) << 15 | rng_range(&rng, 2) << 6;
        if (t & 1) csr &= ~((rng_value(&rng) & 0x3Fu) << 7);
        if (rng_range(&rng, 4) == 0) csr |= rng_range(&rng, 64); /* flags already set */
        memcpy(init_area + MXCSR_IN, &csr, 4);
        memcpy(init_area + MXCSR_TMP, &csr, 4);
        uint32_t host_csr = 0x1F80;
        memcpy(init_area + HOST_CSR, &host_csr, 4);
        memset(init_area + GPR_OUT, 0, AREA - GPR_OUT);
        int hv, bv;
        int bad = run_pair(body, len, &hv, &bv);
        done += (unsigned long long)ninsns;
        res->instructions += (unsigned long long)ninsns;
        if (bad == -1) {
            res->passed++;
            continue;
        }
        res->failed++;
        if (res->failed <= 10 || verbose) {
            int k = 1;
            for (; k < nitems; k++)
                if (run_pair(body, bounds[k], &hv, &bv) != -1) break;
            int plen = k < nitems ? bounds[k] : len;
            bad = run_pair(body, plen, &hv, &bv);
            printf("DIVERGENCE seed %llu test %llu, at item %d of %d: host exception %d, bt86 %d\n",
                   seed, t, k, nitems, hv, bv);
            print_code(body, plen);
            uint32_t hc, bc;
            memcpy(&hc, host_area + FX_OUT + 24, 4);
            memcpy(&bc, bt_area + FX_OUT + 24, 4);
            dump_x("initial", init_area + XMM_IN, csr);
            dump_x("host", host_area + FX_OUT + 160, hc);
            dump_x("bt86", bt_area + FX_OUT + 160, bc);
            if (bad >= 0)
                printf("  first difference: %s byte 0x%03x: host %02x bt86 %02x\n", where(bad), bad,
                       host_area[bad], bt_area[bad]);
        }
    }
    sigaction(SIGFPE, &old_fpe, NULL);
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGILL, &old_ill, NULL);
    munmap(exec_page, 8192);
    return DIFF_OK;
}

#else
int run_sse_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                   DiffResult *res) {
    (void)count;
    (void)seed;
    (void)verbose;
    (void)res;
    printf("diff-sse: skipped: needs an x86-64 host\n");
    return DIFF_SKIP;
}
#endif
