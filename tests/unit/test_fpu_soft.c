/*
 * test_fpu_soft.c - tricky x87 cases with known answers, run on the soft
 * backend (fpu_soft.c) and, on x86 hosts, on the host x87 backend too, so
 * that each expectation is also checked against hardware: rounding under
 * precision and rounding control (halfway cases, C1), denormal results and
 * underflow, overflow, NaN selection, invalid encodings, compares, integer
 * and float conversions, FPREM/FPREM1 quotient bits, FXTRACT, FSCALE,
 * FRNDINT, the constants, a few transcendentals and the backend selection.
 */
#include <check.h>
#include <stdlib.h>

#include "cpu/fpu.h"

static const FpuBackend *backends[2];
static int nbackends;

static void find_backends(void) {
    nbackends = 0;
    backends[nbackends++] = &fpu_backend_soft;
#if defined(__x86_64__) || defined(__i386__)
    backends[nbackends++] = &fpu_backend_x87;
#endif
}

#define PC24       0x000
#define PC53       0x200
#define PC64       0x300
#define RN         0x000
#define RD         0x400
#define RU         0x800
#define RZ         0xC00
#define CW(pc, rc) ((uint16_t)(0x7F | (pc) | (rc)))

static F80 f(uint16_t se, uint64_t mant) {
    return (F80){mant, se};
}
static const F80 ONE = {0x8000000000000000ull, 0x3FFF};

/* Run a binary op; check result, exception flags and C1. */
static void check_op(const FpuBackend *be, FpuOp op, uint16_t cw, F80 a, F80 b, uint16_t se,
                     uint64_t mant, uint16_t flags, bool c1) {
    F80 r = {0, 0}, r2;
    uint32_t fl;
    uint16_t sw = be->op(op, cw, 0, &a, &b, &r, &r2, &fl);
    ck_assert_msg(r.se == se && r.mant == mant, "%s op %d: got %04x:%016llx want %04x:%016llx",
                  be->name, op, r.se, (unsigned long long)r.mant, se, (unsigned long long)mant);
    ck_assert_msg((sw & FSW_EXC) == flags, "%s op %d: flags %02x want %02x", be->name, op,
                  sw & FSW_EXC, flags);
    ck_assert_msg(((sw & FSW_C1) != 0) == c1, "%s op %d: C1 %d want %d", be->name, op,
                  (sw & FSW_C1) != 0, c1);
}

START_TEST(precision_control_one_third) {
    const FpuBackend *be = backends[_i];
    F80 three = f(0x4000, 0xC000000000000000ull);
    check_op(be, FOP_DIV, CW(PC24, RN), ONE, three, 0x3FFD, 0xAAAAAB0000000000ull, FSW_PE, true);
    check_op(be, FOP_DIV, CW(PC53, RN), ONE, three, 0x3FFD, 0xAAAAAAAAAAAAA800ull, FSW_PE, false);
    check_op(be, FOP_DIV, CW(PC64, RN), ONE, three, 0x3FFD, 0xAAAAAAAAAAAAAAABull, FSW_PE, true);
    check_op(be, FOP_DIV, CW(PC64, RZ), ONE, three, 0x3FFD, 0xAAAAAAAAAAAAAAAAull, FSW_PE, false);
    check_op(be, FOP_DIVR, CW(PC24, RU), three, ONE, 0x3FFD, 0xAAAAAB0000000000ull, FSW_PE, true);
}
END_TEST

START_TEST(halfway_cases_round_to_even) {
    const FpuBackend *be = backends[_i];
    F80 half_ulp = f(0x3FFF - 64, 1ull << 63);       /* 2^-64 */
    F80 one_plus = f(0x3FFF, 0x8000000000000001ull); /* 1 + 2^-63 */
    check_op(be, FOP_ADD, CW(PC64, RN), ONE, half_ulp, 0x3FFF, 1ull << 63, FSW_PE, false);
    check_op(be, FOP_ADD, CW(PC64, RN), one_plus, half_ulp, 0x3FFF, 0x8000000000000002ull, FSW_PE,
             true);
    check_op(be, FOP_ADD, CW(PC64, RU), ONE, half_ulp, 0x3FFF, 0x8000000000000001ull, FSW_PE, true);
    F80 quarter_ulp = f(0x3FFF - 66, 1ull << 63); /* 1 - 2^-66 is not representable */
    check_op(be, FOP_SUB, CW(PC64, RD), ONE, quarter_ulp, 0x3FFE, 0xFFFFFFFFFFFFFFFFull, FSW_PE,
             false);
    check_op(be, FOP_SUB, CW(PC64, RN), ONE, quarter_ulp, 0x3FFF, 1ull << 63, FSW_PE, true);
    /* x - x is +0, but -0 when rounding down */
    check_op(be, FOP_SUB, CW(PC64, RN), ONE, ONE, 0x0000, 0, 0, false);
    check_op(be, FOP_SUB, CW(PC64, RD), ONE, ONE, 0x8000, 0, 0, false);
    /* precision control also rounds an exact 64-bit operand plus zero */
    F80 zero = f(0, 0);
    check_op(be, FOP_ADD, CW(PC24, RN), f(0x3FFF, 0x8000008000000000ull), zero, 0x3FFF, 1ull << 63,
             FSW_PE, false);
    check_op(be, FOP_ADD, CW(PC24, RN), f(0x3FFF, 0x8000018000000000ull), zero, 0x3FFF,
             0x8000020000000000ull, FSW_PE, true);
}
END_TEST

START_TEST(denormals_and_underflow) {
    const FpuBackend *be = backends[_i];
    F80 two = f(0x4000, 1ull << 63);
    /* exact denormal result: no underflow flag when masked */
    check_op(be, FOP_DIV, CW(PC64, RN), f(0x0001, 1ull << 63), two, 0x0000, 1ull << 62, 0, false);
    /* tiny and inexact: UE and PE, halfway to even */
    check_op(be, FOP_DIV, CW(PC64, RN), f(0x0001, 0x8000000000000001ull), two, 0x0000, 1ull << 62,
             FSW_UE | FSW_PE, false);
    check_op(be, FOP_DIV, CW(PC64, RU), f(0x0001, 0x8000000000000001ull), two, 0x0000,
             (1ull << 62) + 1, FSW_UE | FSW_PE, true);
    /* denormal operand: DE; a pseudo-denormal comes out normalised */
    check_op(be, FOP_ADD, CW(PC64, RN), f(0x0000, 1ull << 63), f(0, 0), 0x0001, 1ull << 63, FSW_DE,
             false);
    check_op(be, FOP_MUL, CW(PC64, RN), f(0x0000, 1), two, 0x0000, 2, FSW_DE, false);
    /* a denormal divided by zero: ZE takes precedence over DE */
    check_op(be, FOP_DIV, CW(PC64, RN), f(0x0000, 1), f(0, 0), 0x7FFF, 1ull << 63, FSW_ZE, false);
}
END_TEST

START_TEST(overflow_by_rounding_mode) {
    const FpuBackend *be = backends[_i];
    F80 max = f(0x7FFE, ~0ull), two = f(0x4000, 1ull << 63);
    check_op(be, FOP_MUL, CW(PC64, RN), max, two, 0x7FFF, 1ull << 63, FSW_OE | FSW_PE, true);
    check_op(be, FOP_MUL, CW(PC64, RZ), max, two, 0x7FFE, ~0ull, FSW_OE | FSW_PE, false);
    check_op(be, FOP_MUL, CW(PC24, RZ), max, two, 0x7FFE, 0xFFFFFF0000000000ull, FSW_OE | FSW_PE,
             false);
    check_op(be, FOP_MUL, CW(PC64, RD), max, two, 0x7FFE, ~0ull, FSW_OE | FSW_PE, false);
    check_op(be, FOP_MUL, CW(PC64, RD), f(0xFFFE, ~0ull), two, 0xFFFF, 1ull << 63, FSW_OE | FSW_PE,
             true);
}
END_TEST

/* Unmasked overflow and underflow (SDM vol. 1, 8.5.4/8.5.5): a register
 * result is rounded with an unbounded exponent and its exponent adjusted by
 * 24576 (0x6000); PE only when that rounding was inexact. FSCALE results
 * still out of range after the adjustment become infinity (OE, PE, C1) or
 * zero (UE, PE). A memory destination gets nothing: only OE or UE, no PE. */
#define UNMASK(cw, bits) ((uint16_t)((cw) & ~(bits)))
START_TEST(unmasked_overflow_underflow_bias_adjusted) {
    const FpuBackend *be = backends[_i];
    F80 max = f(0x7FFE, ~0ull), two = f(0x4000, 1ull << 63), half = f(0x3FFE, 1ull << 63);
    uint16_t oe = UNMASK(CW(PC64, RN), FSW_OE), ue = UNMASK(CW(PC64, RN), FSW_UE);
    /* exact: 2 * max = 1.11..1 x 2^16384, exponent 0x7FFF - 0x6000 */
    check_op(be, FOP_MUL, oe, max, two, 0x1FFF, ~0ull, FSW_OE, false);
    check_op(be, FOP_MUL, UNMASK(CW(PC64, RZ), FSW_OE), max, two, 0x1FFF, ~0ull, FSW_OE, false);
    /* 24-bit precision rounds up to 2^16385: exponent 0x8000 - 0x6000 */
    check_op(be, FOP_MUL, UNMASK(CW(PC24, RN), FSW_OE), max, two, 0x2000, 1ull << 63,
             FSW_OE | FSW_PE, true);
    /* tiny, exact: UE all the same; exponent 0 + 0x6000, not denormalised */
    check_op(be, FOP_MUL, ue, f(0x0001, 0xC000000000000001ull), half, 0x6000, 0xC000000000000001ull,
             FSW_UE, false);
    /* masked, the same product is a denormal, inexact */
    check_op(be, FOP_MUL, CW(PC64, RN), f(0x0001, 0xC000000000000001ull), half, 0x0000,
             0x6000000000000000ull, FSW_UE | FSW_PE, false);
    /* FSCALE: 2^40959 fits after the adjustment, 2^40960 does not */
    check_op(be, FOP_SCALE, oe, ONE, f(0x400E, 0x9FFF000000000000ull), 0x7FFE, 1ull << 63, FSW_OE,
             false);
    check_op(be, FOP_SCALE, oe, ONE, f(0x400E, 0xA000000000000000ull), 0x7FFF, 1ull << 63,
             FSW_OE | FSW_PE, true);
    check_op(be, FOP_SCALE, UNMASK(CW(PC64, RZ), FSW_OE), ONE, f(0x400E, 0xA000000000000000ull),
             0x7FFF, 1ull << 63, FSW_OE | FSW_PE, true);
    check_op(be, FOP_SCALE, ue, ONE, f(0xC00E, 0x9FFD000000000000ull), 0x0002, 1ull << 63, FSW_UE,
             false);
    check_op(be, FOP_SCALE, ue, ONE, f(0xC00E, 0x9FFF000000000000ull), 0x0000, 0, FSW_UE | FSW_PE,
             false);
    /* FST m32/m64: only the flag */
    uint32_t b32 = 0;
    uint64_t b64 = 0;
    uint16_t sw = be->store32(oe, &(F80){1ull << 63, 0x3FFF + 200}, &b32);
    ck_assert_msg((sw & (FSW_EXC | FSW_C1)) == FSW_OE, "%s fst m32 overflow: %04x", be->name, sw);
    sw = be->store32(ue, &(F80){1ull << 63, 0x3FFF - 140}, &b32); /* exact as a denormal */
    ck_assert_msg((sw & (FSW_EXC | FSW_C1)) == FSW_UE, "%s fst m32 underflow: %04x", be->name, sw);
    sw = be->store64(ue, &(F80){(1ull << 63) | 1, 0x3FFF - 1030}, &b64);
    ck_assert_msg((sw & (FSW_EXC | FSW_C1)) == FSW_UE, "%s fst m64 underflow: %04x", be->name, sw);
    sw = be->store64(CW(PC64, RN), &(F80){(1ull << 63) | 1, 0x3FFF - 1030}, &b64); /* masked */
    ck_assert_msg((sw & FSW_EXC) == (FSW_UE | FSW_PE) && b64 == 1ull << 44, "%s: %04x %016llx",
                  be->name, sw, (unsigned long long)b64);
}
END_TEST

START_TEST(nans_and_invalid_encodings) {
    const FpuBackend *be = backends[_i];
    F80 q1 = f(0x7FFF, 0xC000000000000001ull), q2 = f(0xFFFF, 0xC000000000000002ull);
    F80 s5 = f(0x7FFF, 0x8000000000000005ull), s9 = f(0x7FFF, 0x8000000000000009ull);
    check_op(be, FOP_ADD, CW(PC64, RN), q1, q2, 0xFFFF, 0xC000000000000002ull, 0,
             false); /* larger significand */
    check_op(be, FOP_MUL, CW(PC64, RN), q2, q1, 0xFFFF, 0xC000000000000002ull, 0, false);
    check_op(be, FOP_ADD, CW(PC64, RN), s9, q1, 0x7FFF, 0xC000000000000001ull, FSW_IE,
             false); /* QNaN wins */
    check_op(be, FOP_ADD, CW(PC64, RN), s5, s9, 0x7FFF, 0xC000000000000009ull, FSW_IE, false);
    check_op(be, FOP_SUB, CW(PC64, RN), ONE, s5, 0x7FFF, 0xC000000000000005ull, FSW_IE,
             false); /* quieted */
    /* unnormal, pseudo-infinity, pseudo-NaN: invalid, the default indefinite */
    check_op(be, FOP_ADD, CW(PC64, RN), f(0x4000, 1ull << 62), ONE, 0xFFFF, 0xC000000000000000ull,
             FSW_IE, false);
    check_op(be, FOP_MUL, CW(PC64, RN), ONE, f(0x7FFF, 0), 0xFFFF, 0xC000000000000000ull, FSW_IE,
             false);
    check_op(be, FOP_DIV, CW(PC64, RN), f(0x7FFF, 1), ONE, 0xFFFF, 0xC000000000000000ull, FSW_IE,
             false);
    /* invalid operations */
    check_op(be, FOP_MUL, CW(PC64, RN), f(0, 0), f(0x7FFF, 1ull << 63), 0xFFFF,
             0xC000000000000000ull, FSW_IE, false);
    check_op(be, FOP_SUB, CW(PC64, RN), f(0x7FFF, 1ull << 63), f(0x7FFF, 1ull << 63), 0xFFFF,
             0xC000000000000000ull, FSW_IE, false);
    F80 r;
    F80 minus_one = f(0xBFFF, 1ull << 63), minus_zero = f(0x8000, 0);
    ck_assert_uint_eq(be->op(FOP_SQRT, CW(PC64, RN), 0, &minus_one, NULL, &r, NULL, NULL) & FSW_EXC,
                      FSW_IE);
    ck_assert_uint_eq(r.se, 0xFFFF);
    ck_assert_uint_eq(
        be->op(FOP_SQRT, CW(PC64, RN), 0, &minus_zero, NULL, &r, NULL, NULL) & FSW_EXC, 0);
    ck_assert_uint_eq(r.se, 0x8000);
}
END_TEST

START_TEST(square_root) {
    const FpuBackend *be = backends[_i];
    F80 two = f(0x4000, 1ull << 63), r;
    uint16_t sw = be->op(FOP_SQRT, CW(PC64, RN), 0, &two, NULL, &r, NULL, NULL);
    ck_assert_uint_eq(r.se, 0x3FFF);
    ck_assert_uint_eq(r.mant, 0xB504F333F9DE6484ull);
    ck_assert_uint_eq(sw & (FSW_EXC | FSW_C1), FSW_PE);
    F80 nine = f(0x4002, 0x9000000000000000ull);
    sw = be->op(FOP_SQRT, CW(PC24, RN), 0, &nine, NULL, &r, NULL, NULL);
    ck_assert_uint_eq(r.se, 0x4000);
    ck_assert_uint_eq(r.mant, 0xC000000000000000ull);
    ck_assert_uint_eq(sw & FSW_EXC, 0);
}
END_TEST

static uint16_t cc_of(const FpuBackend *be, FpuOp op, F80 a, F80 b, uint16_t *flags) {
    uint16_t sw = be->op(op, CW(PC64, RN), 0, &a, &b, NULL, NULL, NULL);
    *flags = sw & FSW_EXC;
    return sw & (FSW_C0 | FSW_C2 | FSW_C3);
}

START_TEST(compares) {
    const FpuBackend *be = backends[_i];
    uint16_t fl;
    F80 qnan = f(0x7FFF, 0xC000000000000000ull), snan = f(0x7FFF, 0x8000000000000001ull);
    F80 two = f(0x4000, 1ull << 63);
    ck_assert_uint_eq(cc_of(be, FOP_COM, ONE, two, &fl), FSW_C0);
    ck_assert_uint_eq(cc_of(be, FOP_COM, two, ONE, &fl), 0);
    ck_assert_uint_eq(cc_of(be, FOP_COM, f(0, 0), f(0x8000, 0), &fl), FSW_C3); /* +0 == -0 */
    ck_assert_uint_eq(cc_of(be, FOP_COM, ONE, qnan, &fl), FSW_C0 | FSW_C2 | FSW_C3);
    ck_assert_uint_eq(fl, FSW_IE);
    ck_assert_uint_eq(cc_of(be, FOP_UCOM, ONE, qnan, &fl), FSW_C0 | FSW_C2 | FSW_C3);
    ck_assert_uint_eq(fl, 0);
    ck_assert_uint_eq(cc_of(be, FOP_UCOM, ONE, snan, &fl), FSW_C0 | FSW_C2 | FSW_C3);
    ck_assert_uint_eq(fl, FSW_IE);
    ck_assert_uint_eq(cc_of(be, FOP_COM, f(0, 1), f(0, 0), &fl), 0); /* a denormal: DE */
    ck_assert_uint_eq(fl, FSW_DE);
    uint32_t efl = 0;
    be->op(FOP_UCOMI, CW(PC64, RN), 0, &ONE, &qnan, NULL, NULL, &efl);
    ck_assert_uint_eq(efl, 0x45); /* ZF PF CF */
    be->op(FOP_COMI, CW(PC64, RN), 0, &ONE, &two, NULL, NULL, &efl);
    ck_assert_uint_eq(efl, 0x01);
    /* FXAM: C3 C2 C0 class, C1 sign */
    static const struct {
        F80 v;
        uint16_t cc;
    } xam[] = {
        {{0x8000000000000000ull, 0x3FFF}, FSW_C2},
        {{0, 0x8000}, FSW_C3 | FSW_C1},
        {{1, 0}, FSW_C3 | FSW_C2},
        {{0x8000000000000000ull, 0x7FFF}, FSW_C2 | FSW_C0},
        {{0xC000000000000000ull, 0xFFFF}, FSW_C0 | FSW_C1},
        {{0x4000000000000000ull, 0x4000}, 0},
    };
    for (unsigned k = 0; k < sizeof xam / sizeof xam[0]; k++) {
        uint16_t sw = be->op(FOP_XAM, CW(PC64, RN), 0, &xam[k].v, NULL, NULL, NULL, NULL);
        ck_assert_msg((sw & FSW_CC) == xam[k].cc, "%s fxam %u: %04x", be->name, k, sw & FSW_CC);
    }
}
END_TEST

START_TEST(integer_conversions) {
    const FpuBackend *be = backends[_i];
    int64_t v;
    F80 x25 = f(0x4000, 0xA000000000000000ull), x35 = f(0x4000, 0xE000000000000000ull);
    ck_assert_uint_eq(be->storeint(CW(PC64, RN), &x25, 4, &v) & (FSW_EXC | FSW_C1), FSW_PE);
    ck_assert_int_eq(v, 2);
    ck_assert_uint_eq(be->storeint(CW(PC64, RN), &x35, 4, &v) & (FSW_EXC | FSW_C1),
                      FSW_PE | FSW_C1);
    ck_assert_int_eq(v, 4);
    F80 m25 = x25;
    m25.se |= 0x8000;
    be->storeint(CW(PC64, RD), &m25, 2, &v);
    ck_assert_int_eq(v, -3);
    be->storeint(CW(PC64, RZ), &m25, 8, &v);
    ck_assert_int_eq(v, -2);
    F80 big = f(0x400E, 0x8000000000000000ull); /* 32768 */
    ck_assert_uint_eq(be->storeint(CW(PC64, RN), &big, 2, &v) & FSW_EXC, FSW_IE);
    ck_assert_int_eq(v, INT16_MIN);
    big.se |= 0x8000; /* -32768 fits */
    ck_assert_uint_eq(be->storeint(CW(PC64, RN), &big, 2, &v) & FSW_EXC, 0);
    ck_assert_int_eq(v, -32768);
    F80 two63 = f(0x403E, 1ull << 63);
    ck_assert_uint_eq(be->storeint(CW(PC64, RN), &two63, 8, &v) & FSW_EXC, FSW_IE);
    ck_assert_int_eq(v, INT64_MIN);
    F80 r;
    be->loadint(CW(PC24, RN), INT64_MIN + 1, &r); /* FILD is exact whatever the precision control */
    ck_assert_uint_eq(r.se, 0xC03D);
    ck_assert_uint_eq(r.mant, 0xFFFFFFFFFFFFFFFEull);
    be->loadint(CW(PC64, RN), 0, &r);
    ck_assert_uint_eq(r.se, 0);
}
END_TEST

START_TEST(float_conversions) {
    const FpuBackend *be = backends[_i];
    uint32_t s;
    uint64_t d;
    F80 halfway = f(0x3FFF, 0x8000008000000000ull); /* 1 + 2^-24 */
    ck_assert_uint_eq(be->store32(CW(PC64, RN), &halfway, &s) & (FSW_EXC | FSW_C1), FSW_PE);
    ck_assert_uint_eq(s, 0x3F800000);
    F80 above = f(0x3FFF, 0x8000008000000001ull);
    ck_assert_uint_eq(be->store32(CW(PC64, RN), &above, &s) & (FSW_EXC | FSW_C1), FSW_PE | FSW_C1);
    ck_assert_uint_eq(s, 0x3F800001);
    F80 tiny = f(0x3FFF - 149, 0xC000000000000000ull); /* 1.5 * 2^-149 */
    ck_assert_uint_eq(be->store32(CW(PC64, RN), &tiny, &s) & FSW_EXC, FSW_UE | FSW_PE);
    ck_assert_uint_eq(s, 2);
    F80 huge = f(0x3FFF + 128, 1ull << 63);
    ck_assert_uint_eq(be->store32(CW(PC64, RN), &huge, &s) & FSW_EXC, FSW_OE | FSW_PE);
    ck_assert_uint_eq(s, 0x7F800000);
    ck_assert_uint_eq(be->store32(CW(PC64, RZ), &huge, &s) & FSW_EXC, FSW_OE | FSW_PE);
    ck_assert_uint_eq(s, 0x7F7FFFFF);
    F80 snan = f(0xFFFF, 0x8000000000000001ull), unnormal = f(0x4000, 1);
    ck_assert_uint_eq(be->store64(CW(PC64, RN), &snan, &d) & FSW_EXC, FSW_IE);
    ck_assert_uint_eq(d, 0xFFF8000000000000ull); /* quieted, payload truncated */
    ck_assert_uint_eq(be->store64(CW(PC64, RN), &unnormal, &d) & FSW_EXC, FSW_IE);
    ck_assert_uint_eq(d, 0xFFF8000000000000ull);
    F80 r;
    ck_assert_uint_eq(be->load32(CW(PC64, RN), 0x00000001, &r) & FSW_EXC,
                      FSW_DE); /* denormal single */
    ck_assert_uint_eq(r.se, 0x3FFF - 149);
    ck_assert_uint_eq(r.mant, 1ull << 63);
    ck_assert_uint_eq(be->load64(CW(PC64, RN), 0x7FF0000000000001ull, &r) & FSW_EXC, FSW_IE);
    ck_assert_uint_eq(r.mant, 0xC000000000000800ull);
}
END_TEST

START_TEST(partial_remainders) {
    const FpuBackend *be = backends[_i];
    F80 ten = f(0x4002, 0xA000000000000000ull), eleven = f(0x4002, 0xB000000000000000ull);
    F80 three = f(0x4000, 0xC000000000000000ull), r;
    uint16_t sw = be->op(FOP_PREM, CW(PC64, RN), FSW_C2, &ten, &three, &r, NULL, NULL);
    ck_assert_uint_eq(sw & FSW_CC, FSW_C3 | FSW_C1); /* q = 3 */
    ck_assert_uint_eq(r.se, 0x3FFF);
    ck_assert_uint_eq(r.mant, 1ull << 63);
    sw = be->op(FOP_PREM1, CW(PC64, RN), 0, &eleven, &three, &r, NULL, NULL);
    ck_assert_uint_eq(sw & FSW_CC, FSW_C0); /* q = 4, remainder -1 */
    ck_assert_uint_eq(r.se, 0xBFFF);
    ck_assert_uint_eq(r.mant, 1ull << 63);
    F80 huge = f(0x3FFF + 100, 0xF123456789ABCDEFull);
    sw = be->op(FOP_PREM, CW(PC64, RN), 0, &huge, &three, &r, NULL, NULL);
    ck_assert_uint_eq(sw & FSW_C2, FSW_C2); /* incomplete */
    ck_assert_int_lt(r.se, huge.se);
    ck_assert_int_gt(r.se, 0x3FFF + 100 - 64);
    sw = be->op(FOP_PREM, CW(PC64, RN), 0, &ten, &(F80){0, 0}, &r, NULL, NULL);
    ck_assert_uint_eq(sw & FSW_EXC, FSW_IE);
}
END_TEST

START_TEST(scale_extract_rndint) {
    const FpuBackend *be = backends[_i];
    F80 sig, expo, r;
    F80 ten = f(0x4002, 0xA000000000000000ull);
    be->op(FOP_XTRACT, CW(PC64, RN), 0, &ten, NULL, &sig, &expo, NULL);
    ck_assert_uint_eq(sig.se, 0x3FFF);
    ck_assert_uint_eq(sig.mant, 0xA000000000000000ull);
    ck_assert_uint_eq(expo.se, 0x4000);
    ck_assert_uint_eq(expo.mant, 0xC000000000000000ull);
    F80 zero = f(0x8000, 0);
    ck_assert_uint_eq(be->op(FOP_XTRACT, CW(PC64, RN), 0, &zero, NULL, &sig, &expo, NULL) & FSW_EXC,
                      FSW_ZE);
    ck_assert_uint_eq(expo.se, 0xFFFF);
    F80 s37 = f(0x4000, 0xECCCCCCCCCCCCCCDull); /* 3.7 */
    be->op(FOP_SCALE, CW(PC64, RN), 0, &ONE, &s37, &r, NULL, NULL);
    ck_assert_uint_eq(r.se, 0x4002);
    ck_assert_uint_eq(r.mant, 1ull << 63);
    F80 minf = f(0xFFFF, 1ull << 63);
    be->op(FOP_SCALE, CW(PC64, RN), 0, &ONE, &minf, &r, NULL, NULL);
    ck_assert_uint_eq(r.se, 0);
    ck_assert_uint_eq(r.mant, 0);
    F80 x25 = f(0x4000, 0xA000000000000000ull);
    uint16_t sw = be->op(FOP_RNDINT, CW(PC64, RN), 0, &x25, NULL, &r, NULL, NULL);
    ck_assert_uint_eq(r.mant, 1ull << 63); /* 2 */
    ck_assert_uint_eq(sw & (FSW_EXC | FSW_C1), FSW_PE);
    sw = be->op(FOP_RNDINT, CW(PC24, RU), 0, &x25, NULL, &r, NULL, NULL);
    ck_assert_uint_eq(r.mant, 0xC000000000000000ull); /* 3: precision control does not apply */
    ck_assert_uint_eq(sw & (FSW_EXC | FSW_C1), FSW_PE | FSW_C1);
}
END_TEST

START_TEST(constants) {
    const FpuBackend *be = backends[_i];
    F80 r;
    be->constant(CW(PC64, RN), 3, &r);
    ck_assert_uint_eq(r.mant, 0xC90FDAA22168C235ull);
    be->constant(CW(PC24, RZ), 3, &r); /* rounded per RC, not PC */
    ck_assert_uint_eq(r.mant, 0xC90FDAA22168C234ull);
    be->constant(CW(PC64, RN), 2, &r);
    ck_assert_uint_eq(r.mant, 0xB8AA3B295C17F0BCull);
    be->constant(CW(PC64, RN), 5, &r);
    ck_assert_uint_eq(r.se, 0x3FFE);
    ck_assert_uint_eq(r.mant, 0xB17217F7D1CF79ACull);
    be->constant(CW(PC64, RN), 6, &r);
    ck_assert_uint_eq(r.se, 0);
    ck_assert_uint_eq(r.mant, 0);
}
END_TEST

START_TEST(transcendentals) {
    const FpuBackend *be = backends[_i];
    F80 r, r2, half = f(0x3FFE, 1ull << 63);
    be->op(FOP_SIN, CW(PC64, RN), 0, &ONE, NULL, &r, NULL, NULL);
    ck_assert_uint_eq(r.se, 0x3FFE);
    ck_assert_uint_eq(r.mant, 0xD76AA47848677021ull);
    be->op(FOP_PATAN, CW(PC64, RN), 0, &ONE, &ONE, &r, NULL, NULL); /* atan2(1, 1) = pi/4 */
    ck_assert_uint_eq(r.se, 0x3FFE);
    ck_assert_uint_eq(r.mant, 0xC90FDAA22168C235ull);
    be->op(FOP_F2XM1, CW(PC64, RN), 0, &half, NULL, &r, NULL, NULL); /* sqrt 2 - 1 */
    ck_assert_uint_eq(r.se, 0x3FFD);
    ck_assert_uint_eq(r.mant, 0xD413CCCFE7799211ull);
    F80 eight = f(0x4002, 1ull << 63);
    be->op(FOP_YL2X, CW(PC64, RN), 0, &eight, &ONE, &r, NULL, NULL);
    ck_assert_uint_eq(r.se, 0x4000);
    ck_assert_uint_eq(r.mant, 0xC000000000000000ull);
    F80 zero = f(0, 0);
    be->op(FOP_SINCOS, CW(PC64, RN), 0, &zero, NULL, &r, &r2, NULL);
    ck_assert_uint_eq(r.mant, 1ull << 63); /* cos 0 on top */
    ck_assert_uint_eq(r2.mant, 0);
    F80 two63 = f(0x403E, 1ull << 63);
    uint16_t sw = be->op(FOP_SIN, CW(PC64, RN), FSW_C1, &two63, NULL, &r, NULL, NULL);
    ck_assert_uint_eq(sw & (FSW_C2 | FSW_C1 | FSW_EXC), FSW_C2); /* out of range */
    F80 inf = f(0x7FFF, 1ull << 63);
    sw = be->op(FOP_PTAN, CW(PC64, RN), 0, &inf, NULL, &r, &r2, NULL);
    ck_assert_uint_eq(sw & FSW_EXC, FSW_IE);
}
END_TEST

START_TEST(backend_selection) {
    ck_assert(fpu_select_backend("soft"));
    ck_assert_str_eq(fpu_backend_name(), "soft");
    F80 r, a = ONE, b = f(0x4000, 0xC000000000000000ull);
    fpu_host_op(FOP_DIV, CW(PC24, RN), 0, &a, &b, &r, NULL, NULL);
    ck_assert_uint_eq(r.mant, 0xAAAAAB0000000000ull);
    ck_assert(!fpu_select_backend("no-such-backend"));
    ck_assert_str_eq(fpu_backend_name(), "soft");
#if defined(__x86_64__) || defined(__i386__)
    ck_assert(fpu_select_backend("host"));
    ck_assert_str_eq(fpu_backend_name(), "host");
#else
    ck_assert(!fpu_select_backend("host"));
#endif
}
END_TEST

int main(void) {
    find_backends();
    Suite *s = suite_create("fpu_soft");
    TCase *tc = tcase_create("cases");
    tcase_add_loop_test(tc, precision_control_one_third, 0, nbackends);
    tcase_add_loop_test(tc, halfway_cases_round_to_even, 0, nbackends);
    tcase_add_loop_test(tc, denormals_and_underflow, 0, nbackends);
    tcase_add_loop_test(tc, overflow_by_rounding_mode, 0, nbackends);
    tcase_add_loop_test(tc, unmasked_overflow_underflow_bias_adjusted, 0, nbackends);
    tcase_add_loop_test(tc, nans_and_invalid_encodings, 0, nbackends);
    tcase_add_loop_test(tc, square_root, 0, nbackends);
    tcase_add_loop_test(tc, compares, 0, nbackends);
    tcase_add_loop_test(tc, integer_conversions, 0, nbackends);
    tcase_add_loop_test(tc, float_conversions, 0, nbackends);
    tcase_add_loop_test(tc, partial_remainders, 0, nbackends);
    tcase_add_loop_test(tc, scale_extract_rndint, 0, nbackends);
    tcase_add_loop_test(tc, constants, 0, nbackends);
    tcase_add_loop_test(tc, transcendentals, 0, nbackends);
    tcase_add_test(tc, backend_selection);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
