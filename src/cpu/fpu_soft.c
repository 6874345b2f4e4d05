/*
 * fpu_soft.c - the portable x87 backend (see fpu.h): every backend
 * operation in plain C on the 80-bit format itself (a 64-bit significand
 * with explicit integer bit, a 15-bit exponent and a sign).
 *
 * What it reproduces, as the P6 x87 does it (the flags raised and the
 * results, under the control word's masks; ops_fpu.c decides what to store):
 *  - one rounding per operation, to 24, 53 or 64 bits as the precision
 *    control says (only FADD/FSUB/FMUL/FDIV/FSQRT; everything else rounds
 *    to 64 bits), in the rounding mode of the control word, with the full
 *    15-bit exponent range; C1 = 1 when the magnitude was rounded up;
 *  - denormal operands (DE), denormal results (UE when tiny and inexact),
 *    overflow (OE, infinity or the largest finite value by rounding mode);
 *  - operand classes: pseudo-denormals are accepted (DE), unnormals,
 *    pseudo-infinities and pseudo-NaNs are invalid operands (IE, the
 *    default indefinite QNaN); signalling NaNs raise IE and are quieted;
 *    of two NaNs the larger significand wins (a QNaN over an SNaN);
 *  - unmasked exceptions: IE, DE, ZE stop the operation (no OE, UE, PE;
 *    condition codes as precomputation_abort says); unmasked OE/UE give
 *    the bias-adjusted register result, or for FST m32/m64 just the flag
 *    (see round_generic);
 *  - compares, integer and float conversions, FRNDINT, FSCALE, FXTRACT,
 *    FPREM/FPREM1 with quotient bits in C0/C3/C1 and C2 = incomplete;
 *  - the transcendentals, computed with a 128-bit significand internally
 *    and rounded once, after an argument reduction with the 66-bit pi the
 *    x87 itself uses; these may differ from hardware in the last bit (the
 *    diff-x87-soft test counts such differences: about 1-2% of random
 *    in-domain arguments; hardware is not correctly rounded either).
 *
 * Hardware details found by comparing with a real x87 (diff-x87-soft):
 * IE and ZE suppress DE; FST m32/m64 and FIST raise no DE; FIST out of
 * range raises IE without PE; FCOMI leaves C0-C3 alone; FPREM/FPREM1 with
 * an exponent difference of 64 or more reduce by 32 + (difference mod 32)
 * bits and clear C0, C1, C3; FSIN/FCOS/FSINCOS/FPTAN out of range clear
 * C1; below 2^-32 sin x and tan x are x and cos x is 1, inexact but never
 * rounded up, in every rounding mode; FSINCOS's C1 is that of the cosine;
 * equal NaN significands pick the positive NaN. With exceptions unmasked:
 * UE is raised for every tiny result, exact or not; FLD m32/m64 with an
 * unmasked DE still loads; FSCALE by zero returns a denormal unchanged
 * without UE; a tiny FSIN/FPTAN argument comes back bias-adjusted.
 *
 * Internal form: an unpacked finite value is (sign, exp, mant) with the
 * integer bit at bit 63 of mant and value mant * 2^(exp - 16383 - 63);
 * exp may go below 1 for normalised denormals. Wider intermediate
 * significands are U128 (hi:lo) with the binary point after bit 127.
 */
#include <math.h>
#include <string.h>

#include "cpu/fpu.h"

/* ---------------- 128-bit helpers ---------------- */

typedef struct U128 {
    uint64_t hi, lo;
} U128;

static int clz64(uint64_t x) {
#if defined(__GNUC__)
    return x ? __builtin_clzll(x) : 64;
#else
    int n = 0;
    if (!x) return 64;
    while (!(x & (1ull << 63))) {
        x <<= 1;
        n++;
    }
    return n;
#endif
}

static U128 u128(uint64_t hi, uint64_t lo) {
    return (U128){hi, lo};
}
static bool u128_zero(U128 a) {
    return !a.hi && !a.lo;
}
static int u128_cmp(U128 a, U128 b) {
    if (a.hi != b.hi) return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo) return a.lo < b.lo ? -1 : 1;
    return 0;
}
static U128 u128_add(U128 a, U128 b) {
    U128 r = {a.hi + b.hi, a.lo + b.lo};
    if (r.lo < a.lo) r.hi++;
    return r;
}
static U128 u128_sub(U128 a, U128 b) {
    U128 r = {a.hi - b.hi, a.lo - b.lo};
    if (a.lo < b.lo) r.hi--;
    return r;
}
static U128 u128_shl(U128 a, int n) {
    if (n <= 0) return a;
    if (n >= 128) return u128(0, 0);
    if (n >= 64) return u128(a.lo << (n - 64), 0);
    return u128(a.hi << n | a.lo >> (64 - n), a.lo << n);
}
static U128 u128_shr(U128 a, int n) {
    if (n <= 0) return a;
    if (n >= 128) return u128(0, 0);
    if (n >= 64) return u128(0, a.hi >> (n - 64));
    return u128(a.hi >> n, a.lo >> n | a.hi << (64 - n));
}
/* Shift right, OR-ing every bit shifted out into bit 0 (sticky). */
static U128 u128_shr_sticky(U128 a, int n) {
    if (n <= 0) return a;
    U128 r = u128_shr(a, n);
    if (u128_cmp(u128_shl(r, n), a) != 0 || (n >= 128 && !u128_zero(a))) r.lo |= 1;
    return r;
}
static int u128_clz(U128 a) {
    return a.hi ? clz64(a.hi) : 64 + clz64(a.lo);
}
static U128 mul64(uint64_t a, uint64_t b) {
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    return u128(hh + (lh >> 32) + (hl >> 32) + (mid >> 32), (mid << 32) | (uint32_t)ll);
}
/* The top 128 bits of a 128 x 128 product (truncated; error < 2 units). */
static U128 mul128_hi(U128 a, U128 b) {
    U128 hh = mul64(a.hi, b.hi), hl = mul64(a.hi, b.lo), lh = mul64(a.lo, b.hi);
    U128 ll = mul64(a.lo, b.lo);
    U128 mid = u128_add(u128(0, hl.lo), u128(0, lh.lo));
    mid = u128_add(mid, u128(0, ll.hi));
    U128 r = u128_add(hh, u128(0, hl.hi));
    r = u128_add(r, u128(0, lh.hi));
    return u128_add(r, u128(0, mid.hi));
}

/* ---------------- operand classes ---------------- */

enum { K_ZERO, K_DENORM, K_NORMAL, K_INF, K_QNAN, K_SNAN, K_UNSUPPORTED };

#define INT_BIT   (1ull << 63)
#define QUIET_BIT (1ull << 62)

static int classify(const F80 *v) {
    unsigned e = v->se & 0x7FFF;
    bool j = (v->mant & INT_BIT) != 0;
    if (e == 0) return v->mant == 0 ? K_ZERO : K_DENORM; /* pseudo-denormals included */
    if (!j) return K_UNSUPPORTED;                        /* unnormal, pseudo-inf/NaN */
    if (e == 0x7FFF) {
        if (!(v->mant << 1)) return K_INF;
        return (v->mant & QUIET_BIT) ? K_QNAN : K_SNAN;
    }
    return K_NORMAL;
}
static bool is_nan(int k) {
    return k == K_QNAN || k == K_SNAN;
}
static bool sign_of(const F80 *v) {
    return (v->se & 0x8000) != 0;
}

static const F80 indefinite = {0xC000000000000000ull, 0xFFFF};
static F80 mk(bool sign, unsigned exp, uint64_t mant) {
    return (F80){mant, (uint16_t)((sign ? 0x8000 : 0) | exp)};
}
static F80 zero_of(bool sign) {
    return mk(sign, 0, 0);
}
static F80 inf_of(bool sign) {
    return mk(sign, 0x7FFF, INT_BIT);
}

typedef struct Unp {
    bool sign;
    int32_t exp;
    uint64_t mant;
} Unp;

/* A finite non-zero value, normalised. */
static Unp unpack(const F80 *v) {
    Unp u = {sign_of(v), v->se & 0x7FFF, v->mant};
    if (u.exp == 0) u.exp = 1;
    int s = clz64(u.mant);
    u.mant <<= s;
    u.exp -= s;
    return u;
}

/* ---------------- rounding ---------------- */

/* State of one operation: the control word, the flags raised, C1, and
 * whether the result goes to memory (FST m32/m64) rather than a register. */
typedef struct Ctx {
    uint16_t cw;
    uint16_t flags;
    bool c1;
    bool mem;
} Ctx;

/* Unmasked overflow divides a register result by 2^24576, unmasked
 * underflow multiplies it by 2^24576 (SDM vol. 1, 8.5.4 and 8.5.5). */
#define BIAS_ADJUST 24576

static int rc_of(const Ctx *c) {
    return (c->cw >> 10) & 3;
}
static int pc_bits(const Ctx *c) {
    switch ((c->cw >> 8) & 3) {
    case 0: return 24;
    case 2: return 53;
    default: return 64;
    }
}

/* Round (mant:extra) * 2^(exp - bias - 63), mant normalised or the whole
 * value zero, to prec bits in a format with exponents 1..emax-1 (emax = all
 * ones: infinity). Results: *e_out is the encoded exponent (0 for
 * denormals and zero), the return value the significand with integer bit.
 *
 * With OE or UE unmasked in the control word (what the x87 does, found by
 * comparing with one): a tiny value (below the smallest normal before
 * rounding, exact or not) raises UE; an overflow (after rounding) OE. For a
 * memory destination only that flag is raised, no PE, C1 = 0 (the caller
 * stores nothing). For a register the value is rounded to prec bits with
 * an unbounded exponent and then bias-adjusted by 24576; PE and C1 as that
 * rounding says. If the adjusted exponent is still out of range (only
 * FSCALE gets there), the result is infinity with OE, PE and C1 = 1 in
 * every rounding mode, or zero with UE, PE and C1 = 0. */
static uint64_t round_generic(Ctx *c, bool sign, int32_t exp, uint64_t mant, uint64_t extra,
                              int prec, int32_t emax, int32_t *e_out) {
    c->c1 = false;
    if (!mant && !extra) {
        *e_out = 0;
        return 0;
    }
    int rc = rc_of(c);
    bool tiny = false;
    bool oe_unmasked = !(c->cw & FSW_OE), ue_unmasked = !(c->cw & FSW_UE);
    if (exp < 1) {
        tiny = true;
        if (ue_unmasked && c->mem) {
            c->flags |= FSW_UE;
            *e_out = 0;
            return 0;
        }
        if (!ue_unmasked) { /* denormalise; unmasked: keep the unbounded exponent */
            U128 s = u128_shr_sticky(u128(mant, extra), 1 - exp);
            mant = s.hi;
            extra = s.lo;
            exp = 1;
        }
    }
    int k = 64 - prec;
    uint64_t low = k ? (1ull << k) - 1 : 0;
    bool round_bit, sticky;
    if (k == 0) {
        round_bit = extra >> 63;
        sticky = (extra << 1) != 0;
    } else {
        round_bit = (mant >> (k - 1)) & 1;
        sticky = (mant & (low >> 1)) || extra;
    }
    bool inexact = round_bit || sticky;
    bool lsb = (mant >> k) & 1;
    bool inc = rc == 0   ? round_bit && (sticky || lsb)
               : rc == 1 ? inexact && sign
               : rc == 2 ? inexact && !sign
                         : false;
    mant &= ~low;
    if (inc) {
        uint64_t m2 = mant + (1ull << k);
        if (m2 < mant) { /* carry out of bit 63 */
            m2 = INT_BIT;
            exp++;
        }
        mant = m2;
    }
    if (exp >= emax && (mant & INT_BIT) && oe_unmasked) { /* unmasked overflow */
        c->flags |= FSW_OE;
        if (c->mem) {
            *e_out = 0;
            return 0;
        }
        exp -= BIAS_ADJUST;
        if (exp >= emax) {
            c->flags |= FSW_PE;
            c->c1 = true;
            *e_out = emax;
            return INT_BIT;
        }
        if (inexact) c->flags |= FSW_PE;
        c->c1 = inc;
        *e_out = exp;
        return mant;
    }
    if (tiny && ue_unmasked) { /* unmasked underflow, register destination */
        c->flags |= FSW_UE;
        exp += BIAS_ADJUST;
        if (exp < 1) {
            c->flags |= FSW_PE;
            *e_out = 0;
            return 0;
        }
        if (inexact) c->flags |= FSW_PE;
        c->c1 = inc;
        *e_out = exp;
        return mant;
    }
    if (exp >= emax && (mant & INT_BIT)) { /* overflow */
        c->flags |= FSW_OE | FSW_PE;
        bool to_inf = rc == 0 || (rc == 1 && sign) || (rc == 2 && !sign);
        c->c1 = to_inf;
        *e_out = to_inf ? emax : emax - 1;
        return to_inf ? INT_BIT : ~low;
    }
    if (inexact) {
        c->flags |= FSW_PE;
        if (tiny) c->flags |= FSW_UE;
    }
    c->c1 = inc;
    *e_out = (mant & INT_BIT) ? exp : 0;
    return mant;
}

static F80 round_f80(Ctx *c, bool sign, int32_t exp, uint64_t mant, uint64_t extra, int prec) {
    int32_t e;
    uint64_t m = round_generic(c, sign, exp, mant, extra, prec, 0x7FFF, &e);
    if (e == 0x7FFF) return inf_of(sign);
    return mk(sign, (unsigned)e, m);
}

/* Round sig * 2^(exp - 16383) with the binary point after bit 127 of sig
 * (normalised here). */
static F80 round128(Ctx *c, bool sign, int32_t exp, U128 sig, int prec) {
    if (u128_zero(sig)) return zero_of(sign);
    int s = u128_clz(sig);
    sig = u128_shl(sig, s);
    return round_f80(c, sign, exp - s, sig.hi, sig.lo, prec);
}

/* A finite non-zero value re-encoded (pseudo-denormals become normal). */
static F80 canonical(const F80 *a) {
    Ctx c = {0x037F, 0, false, false};
    Unp u = unpack(a);
    return round_f80(&c, u.sign, u.exp, u.mant, 0, 64);
}

/* ---------------- NaNs and invalid operands ---------------- */

static F80 quiet(const F80 *v) {
    return (F80){v->mant | QUIET_BIT, v->se};
}

/* If a or b (b may be NULL) is a NaN or an invalid encoding, produce the
 * result and flags and return true. */
static bool nan_result(Ctx *c, const F80 *a, const F80 *b, F80 *r) {
    int ka = classify(a), kb = b ? classify(b) : K_NORMAL;
    if (ka == K_UNSUPPORTED || kb == K_UNSUPPORTED) {
        c->flags |= FSW_IE;
        *r = indefinite;
        return true;
    }
    if (!is_nan(ka) && !is_nan(kb)) return false;
    if (ka == K_SNAN || kb == K_SNAN) c->flags |= FSW_IE;
    if (is_nan(ka) && is_nan(kb)) {
        if (ka == K_QNAN && kb == K_SNAN)
            *r = quiet(a);
        else if (ka == K_SNAN && kb == K_QNAN)
            *r = quiet(b);
        else if (a->mant != b->mant)
            *r = quiet(a->mant > b->mant ? a : b);
        else
            *r = quiet(sign_of(a) ? b : a);
    } else {
        *r = quiet(is_nan(ka) ? a : b);
    }
    return true;
}

static F80 invalid(Ctx *c) {
    c->flags |= FSW_IE;
    return indefinite;
}

/* ---------------- add, multiply, divide, square root ---------------- */

static F80 add_values(Ctx *c, const F80 *a, bool sb_flip, const F80 *b, int prec) {
    int ka = classify(a), kb = classify(b);
    bool sa = sign_of(a), sb = sign_of(b) ^ sb_flip;
    if (ka == K_INF || kb == K_INF) {
        if (ka == K_INF && kb == K_INF && sa != sb) return invalid(c);
        return inf_of(ka == K_INF ? sa : sb);
    }
    if (ka == K_ZERO && kb == K_ZERO) return zero_of(sa == sb ? sa : rc_of(c) == 1);
    if (kb == K_ZERO || ka == K_ZERO) {
        Unp u = unpack(ka == K_ZERO ? b : a);
        return round_f80(c, ka == K_ZERO ? sb : sa, u.exp, u.mant, 0, prec);
    }
    Unp x = unpack(a), y = unpack(b);
    x.sign = sa;
    y.sign = sb;
    if (y.exp > x.exp || (y.exp == x.exp && y.mant > x.mant)) {
        Unp t = x;
        x = y;
        y = t;
    }
    U128 sx = u128_shr(u128(x.mant, 0), 1);
    U128 sy = u128_shr_sticky(u128(y.mant, 0), 1 + (x.exp - y.exp));
    if (x.sign == y.sign) return round128(c, x.sign, x.exp + 1, u128_add(sx, sy), prec);
    U128 d = u128_sub(sx, sy);
    if (u128_zero(d)) return zero_of(rc_of(c) == 1);
    return round128(c, x.sign, x.exp + 1, d, prec);
}

static F80 mul_values(Ctx *c, const F80 *a, const F80 *b, int prec) {
    int ka = classify(a), kb = classify(b);
    bool s = sign_of(a) ^ sign_of(b);
    if (ka == K_INF || kb == K_INF) {
        if (ka == K_ZERO || kb == K_ZERO) return invalid(c);
        return inf_of(s);
    }
    if (ka == K_ZERO || kb == K_ZERO) return zero_of(s);
    Unp x = unpack(a), y = unpack(b);
    return round128(c, s, x.exp + y.exp - 16383 + 1, mul64(x.mant, y.mant), prec);
}

static F80 div_values(Ctx *c, const F80 *a, const F80 *b, int prec) {
    int ka = classify(a), kb = classify(b);
    bool s = sign_of(a) ^ sign_of(b);
    if (ka == K_INF) return kb == K_INF ? invalid(c) : inf_of(s);
    if (kb == K_INF) return zero_of(s);
    if (kb == K_ZERO) {
        if (ka == K_ZERO) return invalid(c);
        c->flags |= FSW_ZE;
        return inf_of(s);
    }
    if (ka == K_ZERO) return zero_of(s);
    Unp x = unpack(a), y = unpack(b);
    /* q = floor(x.mant * 2^127 / y.mant), bit by bit; r < y.mant throughout. */
    uint64_t r = x.mant;
    U128 q = {0, 0};
    for (int i = 0; i < 128; i++) {
        bool bit;
        if (i == 0) {
            bit = r >= y.mant;
        } else {
            bool carry = r >> 63;
            r <<= 1;
            bit = carry || r >= y.mant;
        }
        if (bit) r -= y.mant;
        q = u128_shl(q, 1);
        q.lo |= bit;
    }
    if (r) q.lo |= 1;
    return round128(c, s, x.exp - y.exp + 16383, q, prec);
}

static F80 sqrt_value(Ctx *c, const F80 *a, int prec) {
    int k = classify(a);
    if (k == K_ZERO) return *a;
    if (sign_of(a)) return invalid(c);
    if (k == K_INF) return *a;
    Unp x = unpack(a);
    int32_t e = x.exp - 16383;
    bool odd = e & 1;
    int shift = odd ? 68 : 67; /* integer bit at radicand bit 131 or 130 */
    U128 rem = {0, 0}, root = {0, 0};
    for (int i = 130; i >= 0; i -= 2) {
        unsigned pair = 0;
        for (int j = 1; j >= 0; j--) {
            int pos = i + j - shift;
            pair = pair << 1 | (pos >= 0 && pos < 64 ? (unsigned)(x.mant >> pos) & 1 : 0);
        }
        rem = u128_add(u128_shl(rem, 2), u128(0, pair));
        U128 trial = u128_add(u128_shl(root, 2), u128(0, 1));
        root = u128_shl(root, 1);
        if (u128_cmp(rem, trial) >= 0) {
            rem = u128_sub(rem, trial);
            root.lo |= 1;
        }
    }
    /* root has 66 bits, its top one at bit 65 */
    U128 sig = u128_shl(root, 62);
    if (!u128_zero(rem)) sig.lo |= 1;
    int32_t re = (odd ? (e - 1) / 2 : e / 2) + 16383;
    return round128(c, false, re, sig, prec);
}

/* ---------------- compares ---------------- */

/* -1, 0, 1 for ordered values, 2 for unordered. */
static int compare_values(const F80 *a, const F80 *b) {
    int ka = classify(a), kb = classify(b);
    if (is_nan(ka) || is_nan(kb) || ka == K_UNSUPPORTED || kb == K_UNSUPPORTED) return 2;
    if (ka == K_ZERO && kb == K_ZERO) return 0;
    bool sa = sign_of(a), sb = sign_of(b);
    if (ka == K_ZERO) return sb ? 1 : -1;
    if (kb == K_ZERO) return sa ? -1 : 1;
    if (sa != sb) return sa ? -1 : 1;
    int mag;
    if (ka == K_INF || kb == K_INF) {
        mag = (ka == K_INF) - (kb == K_INF);
    } else {
        Unp x = unpack(a), y = unpack(b);
        mag = x.exp != y.exp     ? (x.exp > y.exp ? 1 : -1)
              : x.mant != y.mant ? (x.mant > y.mant ? 1 : -1)
                                 : 0;
    }
    return sa ? -mag : mag;
}

static uint16_t compare_cc(int rel) {
    switch (rel) {
    case -1: return FSW_C0;
    case 0: return FSW_C3;
    case 1: return 0;
    default: return FSW_C0 | FSW_C2 | FSW_C3;
    }
}

/* FCOM (quiet = false: any NaN is invalid) or FUCOM (only SNaNs). */
static int compare_op(Ctx *c, const F80 *a, const F80 *b, bool quiet_nans) {
    int ka = classify(a), kb = classify(b);
    if (ka == K_UNSUPPORTED || kb == K_UNSUPPORTED || ka == K_SNAN || kb == K_SNAN ||
        (!quiet_nans && (is_nan(ka) || is_nan(kb))))
        c->flags |= FSW_IE;
    else if (!is_nan(ka) && !is_nan(kb) && (ka == K_DENORM || kb == K_DENORM))
        c->flags |= FSW_DE;
    return compare_values(a, b);
}

static uint16_t xam_cc(const F80 *a) {
    uint16_t cc = sign_of(a) ? FSW_C1 : 0;
    switch (classify(a)) {
    case K_UNSUPPORTED: return cc;
    case K_QNAN:
    case K_SNAN: return cc | FSW_C0;
    case K_NORMAL: return cc | FSW_C2;
    case K_INF: return cc | FSW_C2 | FSW_C0;
    case K_ZERO: return cc | FSW_C3;
    default: return cc | FSW_C3 | FSW_C2; /* denormal */
    }
}

/* ---------------- integers ---------------- */

/* Round a finite value to an integer per RC: the magnitude (saturated to
 * 2^64-1 with *big set when it does not fit in 64 bits). */
static uint64_t round_to_int(Ctx *c, const F80 *a, bool *big) {
    *big = false;
    c->c1 = false;
    if (classify(a) == K_ZERO) return 0;
    Unp u = unpack(a);
    int32_t e = u.exp - 16383;
    if (e >= 64) {
        *big = true;
        return ~0ull;
    }
    if (e >= 63) return u.mant;
    U128 s = u128_shr_sticky(u128(u.mant, 0), 63 - e);
    uint64_t m = s.hi;
    bool round_bit = s.lo >> 63, sticky = (s.lo << 1) != 0, inexact = round_bit || sticky;
    int rc = rc_of(c);
    bool inc = rc == 0   ? round_bit && (sticky || (m & 1))
               : rc == 1 ? inexact && u.sign
               : rc == 2 ? inexact && !u.sign
                         : false;
    if (inexact) c->flags |= FSW_PE;
    c->c1 = inc;
    return m + inc;
}

static F80 from_magnitude(bool sign, uint64_t m) {
    if (!m) return zero_of(sign);
    int s = clz64(m);
    return mk(sign, (unsigned)(16383 + 63 - s), m << s);
}

static F80 rndint_value(Ctx *c, const F80 *a) {
    int k = classify(a);
    if (k == K_ZERO || k == K_INF) return *a;
    if (k == K_DENORM) c->flags |= FSW_DE;
    Unp u = unpack(a);
    if (u.exp - 16383 >= 63) return *a;
    bool big;
    uint64_t m = round_to_int(c, a, &big);
    return from_magnitude(u.sign, m);
}

/* ---------------- FSCALE, FXTRACT, FPREM ---------------- */

static F80 scale_value(Ctx *c, const F80 *a, const F80 *b) {
    int ka = classify(a), kb = classify(b);
    bool sa = sign_of(a), sb = sign_of(b);
    if (kb == K_INF) {
        if (ka == K_ZERO) return sb ? *a : invalid(c);
        if (ka == K_INF) return sb ? invalid(c) : *a;
        if (ka == K_DENORM) c->flags |= FSW_DE;
        return sb ? zero_of(sa) : inf_of(sa);
    }
    if (ka == K_DENORM || kb == K_DENORM) c->flags |= FSW_DE;
    if (ka == K_ZERO || ka == K_INF) return *a;
    /* Scaling a denormal by zero returns it as it is, without the UE an
     * unmasked underflow would otherwise raise. */
    if (kb == K_ZERO && !(c->cw & FSW_UE) && (a->se & 0x7FFF) == 0 && !(a->mant & INT_BIT))
        return *a;
    int32_t n = 0;
    if (kb != K_ZERO) {
        Unp s = unpack(b);
        int32_t e = s.exp - 16383;
        if (e > 30)
            n = 1 << 30;
        else if (e >= 0)
            n = (int32_t)(s.mant >> (63 - e));
        if (s.sign) n = -n;
    }
    Unp u = unpack(a);
    int32_t e = u.exp + n;
    if (e > 0x20000) e = 0x20000;
    if (e < -0x20000) e = -0x20000;
    return round_f80(c, sa, e, u.mant, 0, 64);
}

static void xtract_value(Ctx *c, const F80 *a, F80 *sig, F80 *expo) {
    int k = classify(a);
    if (k == K_ZERO) {
        c->flags |= FSW_ZE;
        *sig = *a;
        *expo = inf_of(true);
        return;
    }
    if (k == K_INF) {
        *sig = *a;
        *expo = inf_of(false);
        return;
    }
    if (k == K_DENORM) c->flags |= FSW_DE;
    Unp u = unpack(a);
    *sig = mk(u.sign, 16383, u.mant);
    int32_t e = u.exp - 16383;
    *expo = from_magnitude(e < 0, (uint64_t)(e < 0 ? -(int64_t)e : e));
}

/* FPREM (round_nearest = false) and FPREM1. The condition codes go to *cc. */
static F80 prem_value(Ctx *c, const F80 *a, const F80 *b, bool nearest, uint16_t *cc) {
    int ka = classify(a), kb = classify(b);
    *cc = 0;
    if (ka == K_INF || kb == K_ZERO) return invalid(c);
    if (ka == K_DENORM || kb == K_DENORM) c->flags |= FSW_DE;
    if (ka == K_ZERO) return *a;
    if (kb == K_INF) return canonical(a);
    Unp x = unpack(a), y = unpack(b);
    int32_t d = x.exp - y.exp;
    bool sign = x.sign;
    uint64_t q = 0;
    uint64_t r;
    int32_t rexp;
    if (d < 0) {
        r = x.mant;
        rexp = x.exp;
        if (nearest && d == -1 && x.mant > y.mant) { /* |a| > |b|/2: q = 1 */
            /* |b| - |a| with a at half the scale: exact in 65 bits */
            U128 diff = u128_sub(u128(y.mant, 0), u128_shr(u128(x.mant, 0), 1));
            sign = !sign;
            F80 res = round128(c, sign, y.exp, diff, 64);
            *cc = FSW_C1;
            return res;
        }
    } else {
        bool partial = d >= 64;
        int32_t steps = partial ? 32 + (d & 31) : d;
        r = x.mant;
        if (r >= y.mant) {
            r -= y.mant;
            q = 1;
        }
        for (int32_t i = 0; i < steps; i++) {
            bool carry = r >> 63;
            r <<= 1;
            q <<= 1;
            if (carry || r >= y.mant) {
                r -= y.mant;
                q |= 1;
            }
        }
        rexp = y.exp + (d - steps);
        if (partial) {
            *cc = FSW_C2;
            return round128(c, sign, rexp, u128(r, 0), 64);
        }
        if (nearest) {
            bool over_half = (r >> 63) || (r << 1) > y.mant;
            bool half = !(r >> 63) && (r << 1) == y.mant;
            if (over_half || (half && (q & 1))) {
                r = y.mant - r;
                q++;
                sign = !sign;
            }
        }
    }
    *cc = (uint16_t)(((q & 4) ? FSW_C0 : 0) | ((q & 2) ? FSW_C3 : 0) | ((q & 1) ? FSW_C1 : 0));
    if (!r) return zero_of(x.sign);
    return round128(c, sign, rexp, u128(r, 0), 64);
}

/* ---------------- the transcendentals ---------------- */

/* A wide value: sign, exponent (value = m * 2^(e - 127)), 128-bit m,
 * normalised (bit 127 set) unless zero. Truncating arithmetic. */
typedef struct XF {
    bool s;
    int32_t e;
    U128 m;
} XF;

static XF xf_norm(XF x) {
    if (u128_zero(x.m)) return (XF){false, -100000, {0, 0}};
    int n = u128_clz(x.m);
    x.m = u128_shl(x.m, n);
    x.e -= n;
    return x;
}
static bool xf_is_zero(XF x) {
    return u128_zero(x.m);
}
static XF xf_from_unp(Unp u) {
    return (XF){u.sign, u.exp - 16383, u128(u.mant, 0)};
}
static XF xf_from_int(int64_t v) {
    uint64_t m = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    return xf_norm((XF){v < 0, 127, u128(0, m)});
}
static XF xf_neg(XF x) {
    x.s = !x.s;
    return x;
}

static XF xf_add(XF a, XF b) {
    if (xf_is_zero(a)) return b;
    if (xf_is_zero(b)) return a;
    if (b.e > a.e || (b.e == a.e && u128_cmp(b.m, a.m) > 0)) {
        XF t = a;
        a = b;
        b = t;
    }
    U128 am = u128_shr(a.m, 1), bm = u128_shr_sticky(u128_shr(b.m, 0), 1 + (a.e - b.e));
    XF r = {a.s, a.e + 1, a.s == b.s ? u128_add(am, bm) : u128_sub(am, bm)};
    return xf_norm(r);
}
static XF xf_sub(XF a, XF b) {
    return xf_add(a, xf_neg(b));
}
static XF xf_mul(XF a, XF b) {
    if (xf_is_zero(a) || xf_is_zero(b)) return (XF){false, -100000, {0, 0}};
    return xf_norm((XF){a.s != b.s, a.e + b.e + 1, mul128_hi(a.m, b.m)});
}
static XF xf_div(XF a, XF b) {
    if (xf_is_zero(a)) return a;
    /* bitwise: q = a.m * 2^127 / b.m, with the remainder kept in 129 bits */
    U128 r = a.m, q = {0, 0};
    bool top = false;
    for (int i = 0; i < 128; i++) {
        bool bit;
        if (i == 0) {
            bit = u128_cmp(r, b.m) >= 0;
        } else {
            top = r.hi >> 63;
            r = u128_shl(r, 1);
            bit = top || u128_cmp(r, b.m) >= 0;
        }
        if (bit) r = u128_sub(r, b.m);
        q = u128_shl(q, 1);
        q.lo |= bit;
    }
    if (!u128_zero(r)) q.lo |= 1;
    return xf_norm((XF){a.s != b.s, a.e - b.e, q});
}
/* Division by a small integer, limb by limb (32 bits at a time). */
static XF xf_div_u32(XF a, uint32_t d) {
    if (xf_is_zero(a)) return a;
    uint32_t in[5] = {(uint32_t)(a.m.hi >> 32), (uint32_t)a.m.hi, (uint32_t)(a.m.lo >> 32),
                      (uint32_t)a.m.lo, 0};
    uint32_t q[5];
    uint64_t rem = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t cur = rem << 32 | in[i];
        q[i] = (uint32_t)(cur / d);
        rem = cur % d;
    }
    /* q[0..4] = a.m * 2^32 / d: keep the top 128 significant bits */
    U128 top = u128((uint64_t)q[0] << 32 | q[1], (uint64_t)q[2] << 32 | q[3]);
    int s = u128_clz(top); /* at most 32 since d < 2^32 */
    uint64_t low = q[4];
    top = u128_shl(top, s);
    if (s) top.lo |= low >> (32 - s);
    if (((low << s) & 0xFFFFFFFFu) || rem) top.lo |= 1;
    return (XF){a.s, a.e - s, top};
}

static XF xf_ldexp(XF a, int32_t n) {
    if (!xf_is_zero(a)) a.e += n;
    return a;
}
static XF xf_const(uint64_t hi, uint64_t lo, int32_t e) {
    return (XF){false, e, {hi, lo}};
}

static XF xf_pi(void) {
    return xf_const(0xC90FDAA22168C234ull, 0xC4C6628B80DC1CD1ull, 1);
}
static XF xf_ln2(void) {
    return xf_const(0xB17217F7D1CF79ABull, 0xC9E3B39803F2F6AFull, -1);
}
static XF xf_log2e(void) {
    return xf_const(0xB8AA3B295C17F0BBull, 0xBE87FED0691D3E88ull, 0);
}

/* Round a wide value to the 80-bit format (64 bits, the control word's rounding). */
static F80 xf_round(Ctx *c, XF x) {
    if (xf_is_zero(x)) return zero_of(x.s);
    return round_f80(c, x.s, x.e + 16383, x.m.hi, x.m.lo, 64);
}

/* Series stop once a term is this many bits below the sum (its sticky bit
 * still counts): far beyond the 66 bits the final rounding looks at. */
#define SERIES_BITS 100

/* sin and cos of |r| <= pi/4 by Taylor series. */
static XF xf_sin_series(XF r) {
    XF r2 = xf_mul(r, r), term = r, sum = r;
    for (int n = 2; n < 60; n += 2) {
        term = xf_div_u32(xf_mul(term, r2), (uint32_t)(n * (n + 1)));
        term = xf_neg(term);
        sum = xf_add(sum, term); /* a tiny term still leaves its sticky bit */
        if (xf_is_zero(term) || term.e < sum.e - SERIES_BITS) break;
    }
    return sum;
}
static XF xf_cos_series(XF r) {
    XF r2 = xf_mul(r, r), one = xf_from_int(1), term = one, sum = one;
    for (int n = 1; n < 60; n += 2) {
        term = xf_div_u32(xf_mul(term, r2), (uint32_t)(n * (n + 1)));
        term = xf_neg(term);
        sum = xf_add(sum, term); /* a tiny term still leaves its sticky bit */
        if (xf_is_zero(term) || term.e < sum.e - SERIES_BITS) break;
    }
    return sum;
}

/* The x87's own pi for argument reduction: 66 bits. */
static const uint64_t PI66_HI = 0xC90FDAA22168C234ull, PI66_LO = 0xC000000000000000ull;

/* Reduce x (finite, |x| < 2^63) modulo pi/2 with the 66-bit pi; returns the
 * reduced value (|r| <= pi/4) and the quadrant. */
static XF reduce_pio2(const F80 *a, int *quadrant) {
    Unp u = unpack(a);
    XF x = xf_from_unp(u);
    x.s = false;
    XF pio2 = xf_const(PI66_HI, PI66_LO, 0); /* pi/2 */
    XF pio4 = xf_ldexp(pio2, -1);
    uint64_t q = 0;
    if (x.e > pio4.e || (x.e == pio4.e && u128_cmp(x.m, pio4.m) > 0)) {
        /* q = x / (pi/2) rounded to the nearest integer (t.e < 64) */
        XF t = xf_mul(x, xf_const(0xA2F9836E4E441529ull, 0xFC2757D1F534DDC0ull, -1)); /* x * 2/pi */
        U128 ti = u128_shr(t.m, 127 - t.e);
        U128 frac = u128_shl(t.m, t.e + 1);
        q = ti.lo;
        if (frac.hi >> 63) q++;
        /* r = x - q * pi66/2 exactly, in units of 2^-65 on three 64-bit
         * words: pi66/2 = P * 2^-65 with P the 66-bit integer, q * P below
         * 2^130; x = X * 2^(x.e - 63) = X * 2^pos units, pos = x.e + 2 in
         * 1..64 here (pi/4 < x < 2^63). */
        U128 P = u128(PI66_HI >> 62, PI66_HI << 2 | PI66_LO >> 62);
        U128 lo = mul64(q, P.lo), hi = mul64(q, P.hi);
        uint64_t w0 = lo.lo, w1 = lo.hi + hi.lo, w2 = hi.hi + (w1 < lo.hi);
        uint64_t X = x.m.hi; /* x.m.lo is zero: 64 significant bits */
        int pos = x.e + 2;
        uint64_t x0 = 0, x1 = 0, x2 = 0;
        if (pos < 64) {
            x0 = X << pos;
            x1 = X >> (64 - pos);
        } else {
            x1 = X << (pos - 64);
            x2 = pos > 64 ? X >> (128 - pos) : 0;
        }
        /* r = x - qP (signed, 192-bit) */
        uint64_t r0 = x0 - w0, b0 = x0 < w0;
        uint64_t r1 = x1 - w1 - b0, b1 = x1 < w1 || (x1 == w1 && b0);
        uint64_t r2 = x2 - w2 - b1;
        bool neg = (int64_t)r2 < 0;
        if (neg) {
            r0 = ~r0;
            r1 = ~r1;
            r2 = ~r2;
            if (++r0 == 0 && ++r1 == 0) r2++;
        }
        /* the remainder is below 2^66 in these units: r1:r0 plus r2 bits */
        XF r = xf_norm((XF){neg, 127 - 65, u128(r1, r0)});
        if (r2) r = xf_norm((XF){neg, 127 - 65 + 64, u128(r2, r1)});
        *quadrant = (int)(q & 3);
        /* The x87 reduces with its 66-bit pi but its final polynomial uses
         * the reduced value as it stands: so do we. */
        return r;
    }
    *quadrant = 0;
    return x;
}

/* Below this exponent sin x and tan x are x itself to the x87. */
#define TINY_EXP (16383 - 32)

static void sincos_values(Ctx *c, const F80 *a, F80 *s_out, F80 *c_out, bool want_sin,
                          bool want_cos) {
    int q;
    bool neg = sign_of(a);
    XF r = reduce_pio2(a, &q);
    /* only the series the quadrant needs */
    bool odd = q & 1, need_sin = (want_sin && !odd) || (want_cos && odd);
    bool need_cos = (want_sin && odd) || (want_cos && !odd);
    XF zero = xf_from_int(0);
    XF sr = need_sin ? xf_sin_series(r) : zero, cr = need_cos ? xf_cos_series(r) : zero;
    XF s, co;
    switch (q) {
    case 0:
        s = sr;
        co = cr;
        break;
    case 1:
        s = cr;
        co = xf_neg(sr);
        break;
    case 2:
        s = xf_neg(sr);
        co = xf_neg(cr);
        break;
    default:
        s = xf_neg(cr);
        co = sr;
        break;
    }
    if (neg) s = xf_neg(s);
    Ctx c1 = *c, c2 = *c;
    if (want_sin) *s_out = xf_round(&c1, s);
    if (want_cos) *c_out = xf_round(&c2, co);
    c->flags |= (want_sin ? c1.flags : 0) | (want_cos ? c2.flags : 0);
    c->c1 = want_cos ? c2.c1 : c1.c1; /* FSINCOS: C1 of the cosine, the value on top */
}

/* atan of t in [0, 1] (wide). */
static XF xf_atan_unit(XF t) {
    /* two argument halvings, atan t = 2 atan(t / (1 + sqrt(1 + t^2))),
     * leave t <= tan(pi/16) for the series */
    int halvings = 0;
    XF one = xf_from_int(1);
    while (!xf_is_zero(t) && t.e > -3 && halvings < 2) {
        XF s = xf_add(one, xf_mul(t, t)); /* in [1, 2] */
        /* sqrt s by Newton from a 52-bit estimate: three steps give 128 bits */
        int ex;
        double f = frexp(sqrt(ldexp((double)(s.m.hi >> 11), s.e - 52)), &ex);
        XF y = xf_norm((XF){false, ex - 1, u128((uint64_t)ldexp(f, 64), 0)});
        for (int i = 0; i < 3; i++)
            y = xf_ldexp(xf_add(y, xf_div(s, y)), -1);
        t = xf_div(t, xf_add(one, y));
        halvings++;
    }
    XF t2 = xf_mul(t, t), pw = t, sum = t;
    for (int n = 3; n < 200; n += 2) {
        pw = xf_neg(xf_mul(pw, t2));
        XF term = xf_div_u32(pw, (uint32_t)n);
        sum = xf_add(sum, term); /* a tiny term still leaves its sticky bit */
        if (xf_is_zero(term) || term.e < sum.e - SERIES_BITS) break;
    }
    return xf_ldexp(sum, halvings);
}

/* ln of a positive wide value. */
static XF xf_ln(XF x) {
    /* x = m * 2^k with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh((m-1)/(m+1)) */
    int32_t k = x.e;
    XF m = x;
    m.e = 0;
    if (u128_cmp(m.m, u128(0xB504F333F9DE6484ull, 0)) > 0) { /* m > sqrt 2: halve */
        m.e = -1;
        k++;
    }
    XF one = xf_from_int(1);
    XF s = xf_div(xf_sub(m, one), xf_add(m, one));
    XF s2 = xf_mul(s, s), pw = s, sum = s;
    for (int n = 3; n < 400 && !xf_is_zero(s); n += 2) {
        pw = xf_mul(pw, s2);
        XF term = xf_div_u32(pw, (uint32_t)n);
        sum = xf_add(sum, term); /* a tiny term still leaves its sticky bit */
        if (xf_is_zero(term) || term.e < sum.e - SERIES_BITS) break;
    }
    sum = xf_ldexp(sum, 1);
    return xf_add(sum, xf_mul(xf_from_int(k), xf_ln2()));
}

/* ln(1 + x) for small x, without forming 1 + x. */
static XF xf_ln1p(XF x) {
    XF two = xf_from_int(2);
    XF s = xf_div(x, xf_add(two, x));
    XF s2 = xf_mul(s, s), pw = s, sum = s;
    for (int n = 3; n < 400; n += 2) {
        pw = xf_mul(pw, s2);
        XF term = xf_div_u32(pw, (uint32_t)n);
        sum = xf_add(sum, term); /* a tiny term still leaves its sticky bit */
        if (xf_is_zero(term) || term.e < sum.e - SERIES_BITS) break;
    }
    return xf_ldexp(sum, 1);
}

/* e^y - 1 for |y| < 1. */
static XF xf_expm1(XF y) {
    XF term = y, sum = y;
    for (int n = 2; n < 80; n++) {
        term = xf_div_u32(xf_mul(term, y), (uint32_t)n);
        sum = xf_add(sum, term); /* a tiny term still leaves its sticky bit */
        if (xf_is_zero(term) || term.e < sum.e - SERIES_BITS) break;
    }
    return sum;
}

static F80 f2xm1_value(Ctx *c, const F80 *a) {
    int k = classify(a);
    if (k == K_ZERO) return *a;
    if (k == K_INF) return sign_of(a) ? mk(true, 16383, INT_BIT) : *a;
    if (k == K_DENORM) c->flags |= FSW_DE;
    XF x = xf_from_unp(unpack(a));
    if (x.e >= 0) {
        /* Outside the domain (|x| > 1; hardware results are undefined):
         * 2^x - 1 = 2^k (2^f - 1) + 2^k - 1 with k = trunc x, |f| < 1,
         * k clamped where the result over- or underflows anyway. */
        if (x.e > 20) /* 2^x overflows, or 2^x - 1 is -1 plus a tiny part */
            return x.s ? xf_round(c, xf_sub(xf_ldexp(xf_from_int(1), -(1 << 20)), xf_from_int(1)))
                       : round_f80(c, false, 0x7FFF + 1, INT_BIT, 0, 64);
        int32_t k = (int32_t)(x.m.hi >> (63 - x.e));
        XF f = xf_sub(x, xf_from_int(x.s ? -(int64_t)k : k));
        if (x.s) k = -k;
        XF p = xf_add(xf_expm1(xf_mul(f, xf_ln2())), xf_from_int(1));
        return xf_round(c, xf_sub(xf_ldexp(p, k), xf_from_int(1)));
    }
    XF y = xf_mul(x, xf_ln2());
    return xf_round(c, xf_expm1(y));
}

static F80 patan_value(Ctx *c, const F80 *x0, const F80 *y0) {
    /* atan2(y, x): a = ST(0) = x, b = ST(1) = y */
    int kx = classify(x0), ky = classify(y0);
    bool sx = sign_of(x0), sy = sign_of(y0);
    if (kx == K_DENORM || ky == K_DENORM) c->flags |= FSW_DE;
    XF pi = xf_pi(), res;
    if (ky == K_ZERO || (kx == K_INF && ky != K_INF)) {
        if (!sx) return zero_of(sy);
        res = pi;
    } else if (ky == K_INF || kx == K_ZERO) {
        res = xf_ldexp(pi, -1);
        if (ky == K_INF && kx == K_INF)
            res = sx ? xf_ldexp(xf_mul(pi, xf_from_int(3)), -2) : xf_ldexp(pi, -2);
    } else {
        XF x = xf_from_unp(unpack(x0)), y = xf_from_unp(unpack(y0));
        x.s = y.s = false;
        bool swap = y.e > x.e || (y.e == x.e && u128_cmp(y.m, x.m) > 0);
        XF t = swap ? xf_div(x, y) : xf_div(y, x);
        res = xf_atan_unit(t);
        if (swap) res = xf_sub(xf_ldexp(pi, -1), res);
        if (sx) res = xf_sub(pi, res);
    }
    res.s = sy;
    return xf_round(c, res);
}

static F80 yl2x_value(Ctx *c, const F80 *x0, const F80 *y0, bool plus1) {
    /* a = ST(0) = x, b = ST(1) = y: y * log2(x) or y * log2(x + 1) */
    int kx = classify(x0), ky = classify(y0);
    bool sx = sign_of(x0), sy = sign_of(y0);
    if (plus1) {
        if (kx == K_INF) { /* outside the domain, but defined */
            if (sx || ky == K_ZERO) return invalid(c);
            if (ky == K_DENORM) c->flags |= FSW_DE;
            return inf_of(sy);
        }
        if (kx == K_ZERO) {
            if (ky == K_INF) return invalid(c);
            if (ky == K_DENORM) c->flags |= FSW_DE;
            return zero_of(sx != sy);
        }
        if (ky == K_ZERO) {
            if (kx == K_DENORM) c->flags |= FSW_DE;
            if (kx == K_INF) return invalid(c);
            return zero_of(sx != sy);
        }
        if (kx == K_DENORM || ky == K_DENORM) c->flags |= FSW_DE;
        if (ky == K_INF) return inf_of(sy != sx);
        XF x = xf_from_unp(unpack(x0)), y = xf_from_unp(unpack(y0));
        XF l = xf_mul(xf_ln1p(x), xf_log2e());
        return xf_round(c, xf_mul(y, l));
    }
    if (kx != K_ZERO && sx) return invalid(c); /* log of a negative number */
    if (kx == K_ZERO) {
        if (ky == K_ZERO) return invalid(c);
        if (ky == K_DENORM) c->flags |= FSW_DE;
        if (ky != K_INF) c->flags |= FSW_ZE;
        return inf_of(!sy);
    }
    if (kx == K_DENORM || ky == K_DENORM) c->flags |= FSW_DE;
    if (kx == K_INF) {
        if (ky == K_ZERO) return invalid(c);
        return inf_of(sy);
    }
    bool x_is_one = x0->mant == INT_BIT && (x0->se & 0x7FFF) == 16383;
    if (ky == K_INF) {
        if (x_is_one) return invalid(c);
        Unp u = unpack(x0);
        bool below_one = u.exp < 16383;
        return inf_of(sy != below_one);
    }
    if (x_is_one) return zero_of(sy); /* y * log2(1) */
    if (ky == K_ZERO) {
        Unp u = unpack(x0);
        return zero_of(sy != (u.exp < 16383));
    }
    XF x = xf_from_unp(unpack(x0)), y = xf_from_unp(unpack(y0));
    XF l = xf_mul(xf_ln(x), xf_log2e());
    return xf_round(c, xf_mul(y, l));
}

/* ---------------- the backend entry points ---------------- */

static bool unary_op(FpuOp op) {
    return op == FOP_SQRT || op == FOP_RNDINT || op == FOP_SIN || op == FOP_COS ||
           op == FOP_F2XM1 || op == FOP_SINCOS || op == FOP_PTAN || op == FOP_XTRACT ||
           op == FOP_TST || op == FOP_XAM;
}

/* An unmasked IE, DE or ZE stops an operation before it computes (the
 * caller leaves the destination alone): no OE, UE or PE. The condition
 * codes (as a real x87 leaves them): with IE, and for the compares, as if
 * masked; otherwise those before the operation (sw) with C1 cleared, and
 * C2 too for FPREM/FPREM1 and the trigonometric instructions. */
static uint16_t precomputation_abort(FpuOp op, uint16_t cw, uint16_t sw, uint16_t f) {
    uint16_t unmasked = f & ~cw & (FSW_IE | FSW_DE | FSW_ZE);
    if (!unmasked) return f;
    f &= (uint16_t) ~(FSW_OE | FSW_UE | FSW_PE);
    if (unmasked & FSW_IE) return f;
    switch (op) {
    case FOP_COM:
    case FOP_UCOM:
    case FOP_TST:
    case FOP_COMI:
    case FOP_UCOMI: return f;
    case FOP_PREM:
    case FOP_PREM1:
    case FOP_SIN:
    case FOP_COS:
    case FOP_SINCOS:
    case FOP_PTAN: return (uint16_t)((f & ~FSW_CC) | (sw & (FSW_C0 | FSW_C3)));
    default: return (uint16_t)((f & ~FSW_CC) | (sw & (FSW_C0 | FSW_C2 | FSW_C3)));
    }
}

static uint16_t soft_op_compute(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, const F80 *b,
                                F80 *r, F80 *r2, uint32_t *eflags) {
    Ctx c = {cw, 0, false, false};
    uint16_t cc = sw & FSW_CC;
    F80 scratch, scratch2;
    if (!r) r = &scratch;
    if (!r2) r2 = &scratch2;
    int prec = pc_bits(&c);
    static const F80 zero = {0, 0};
    switch (op) {
    case FOP_COM:
    case FOP_UCOM:
    case FOP_TST: {
        const F80 *other = op == FOP_TST ? &zero : b;
        int rel = compare_op(&c, a, other, op == FOP_UCOM);
        return (uint16_t)(c.flags | compare_cc(rel));
    }
    case FOP_COMI:
    case FOP_UCOMI: {
        int rel = compare_op(&c, a, b, op == FOP_UCOMI);
        *eflags = rel == 2 ? 0x45u : rel == 0 ? 0x40u : rel < 0 ? 0x01u : 0;
        return (uint16_t)(c.flags | cc);
    }
    case FOP_XAM: return xam_cc(a);
    default: break;
    }
    bool unary = unary_op(op);
    if (op == FOP_PTAN || op == FOP_SIN || op == FOP_COS || op == FOP_SINCOS) cc &= ~FSW_C2;
    if (op == FOP_PREM || op == FOP_PREM1) cc &= ~FSW_C2;
    if (nan_result(&c, a, unary ? NULL : b, r)) {
        *r2 = *r;
        return (uint16_t)(c.flags | (cc & ~FSW_C1));
    }
    int ka = classify(a), kb = unary ? K_NORMAL : classify(b);
    bool arith = op <= FOP_DIVR || op == FOP_SQRT;
    if (arith && (ka == K_DENORM || kb == K_DENORM)) c.flags |= FSW_DE;
    switch (op) {
    case FOP_ADD: *r = add_values(&c, a, false, b, prec); break;
    case FOP_SUB: *r = add_values(&c, a, true, b, prec); break;
    case FOP_SUBR: *r = add_values(&c, b, true, a, prec); break;
    case FOP_MUL: *r = mul_values(&c, a, b, prec); break;
    case FOP_DIV: *r = div_values(&c, a, b, prec); break;
    case FOP_DIVR: *r = div_values(&c, b, a, prec); break;
    case FOP_SQRT: *r = sqrt_value(&c, a, prec); break;
    case FOP_RNDINT: *r = rndint_value(&c, a); break;
    case FOP_SCALE: *r = scale_value(&c, a, b); break;
    case FOP_XTRACT:
        xtract_value(&c, a, r, r2);
        c.c1 = false;
        break;
    case FOP_PREM:
    case FOP_PREM1: {
        uint16_t q;
        *r = prem_value(&c, a, b, op == FOP_PREM1, &q);
        if (c.flags & FSW_IE) return (uint16_t)(c.flags | (cc & ~FSW_C1));
        return (uint16_t)(c.flags | q);
    }
    case FOP_SIN:
    case FOP_COS:
    case FOP_SINCOS:
    case FOP_PTAN: {
        if (ka == K_INF) {
            *r = *r2 = invalid(&c);
            break;
        }
        if (ka != K_ZERO && (a->se & 0x7FFF) >= 16383 + 63)
            return (uint16_t)((cc & ~FSW_C1) | FSW_C2); /* out of range */
        if (ka == K_DENORM) c.flags |= FSW_DE;
        if (ka == K_ZERO) {
            if (op == FOP_COS)
                *r = mk(false, 16383, INT_BIT);
            else if (op == FOP_SINCOS) {
                *r = mk(false, 16383, INT_BIT);
                *r2 = *a;
            } else if (op == FOP_PTAN) {
                *r = mk(false, 16383, INT_BIT);
                *r2 = *a;
            } else
                *r = *a;
            break;
        }
        if ((a->se & 0x7FFF) < TINY_EXP && op == FOP_COS) { /* cos x = 1, inexact, not rounded up */
            c.flags |= FSW_PE;
            *r = mk(false, 16383, INT_BIT);
            break;
        }
        if ((a->se & 0x7FFF) < TINY_EXP) {
            /* The x87 returns a tiny argument itself as sine and tangent,
             * inexact, never rounded up, whatever the rounding mode. */
            F80 x = canonical(a);
            if (classify(&x) == K_DENORM) {
                c.flags |= FSW_UE;
                if (!(cw & FSW_UE)) { /* unmasked: bias-adjusted, as a rounded result would be */
                    Unp u = unpack(a);
                    x = mk(u.sign, (unsigned)(u.exp + BIAS_ADJUST), u.mant);
                }
            }
            c.flags |= FSW_PE;
            if (op == FOP_SIN) {
                *r = x;
            } else if (op == FOP_SINCOS) {
                *r2 = x;
                *r = mk(false, 16383, INT_BIT);
            } else {
                *r2 = x;
                *r = mk(false, 16383, INT_BIT);
            }
            c.c1 = false;
            break;
        }
        if (op == FOP_SIN)
            sincos_values(&c, a, r, NULL, true, false);
        else if (op == FOP_COS)
            sincos_values(&c, a, NULL, r, false, true);
        else if (op == FOP_SINCOS)
            sincos_values(&c, a, r2, r, true, true);
        else {
            int q;
            bool neg = sign_of(a);
            XF rr = reduce_pio2(a, &q);
            XF s = xf_sin_series(rr), co = xf_cos_series(rr);
            XF t = (q & 1) ? xf_neg(xf_div(co, s)) : xf_div(s, co);
            if (neg) t = xf_neg(t);
            *r2 = xf_round(&c, t);
            *r = mk(false, 16383, INT_BIT);
        }
        break;
    }
    case FOP_F2XM1: *r = f2xm1_value(&c, a); break;
    case FOP_PATAN: *r = patan_value(&c, a, b); break;
    case FOP_YL2X: *r = yl2x_value(&c, a, b, false); break;
    case FOP_YL2XP1: *r = yl2x_value(&c, a, b, true); break;
    default: break;
    }
    if (c.flags & FSW_IE) c.c1 = false;
    if (c.flags & (FSW_IE | FSW_ZE)) c.flags &= (uint16_t)~FSW_DE; /* those take priority */
    return (uint16_t)(c.flags | (cc & ~FSW_C1) | (c.c1 ? FSW_C1 : 0));
}

static uint16_t soft_op(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, const F80 *b, F80 *r,
                        F80 *r2, uint32_t *eflags) {
    return precomputation_abort(op, cw, sw, soft_op_compute(op, cw, sw, a, b, r, r2, eflags));
}

/* ---------------- loads and stores ---------------- */

/* A binary32/binary64 value as 80 bits (exact); *den when it was a
 * denormal of its own format, *snan when a signalling NaN. */
static F80 widen(uint64_t bits, int fbits, int ebits, bool *den) {
    int bias = (1 << (ebits - 1)) - 1;
    bool sign = (bits >> (fbits + ebits)) & 1;
    uint32_t e = (uint32_t)(bits >> fbits) & ((1u << ebits) - 1);
    uint64_t f = bits & ((1ull << fbits) - 1);
    *den = false;
    if (e == (1u << ebits) - 1) return mk(sign, 0x7FFF, INT_BIT | f << (63 - fbits));
    if (e == 0) {
        if (!f) return zero_of(sign);
        *den = true;
        int s = clz64(f);
        return mk(sign, (unsigned)(16383 - bias + 1 - (s - (63 - fbits))), f << s);
    }
    return mk(sign, e - bias + 16383, INT_BIT | f << (63 - fbits));
}

static uint16_t soft_load_fp(uint64_t bits, int fbits, int ebits, F80 *r) {
    bool den;
    *r = widen(bits, fbits, ebits, &den);
    uint16_t flags = den ? FSW_DE : 0;
    if (classify(r) == K_SNAN) {
        flags |= FSW_IE;
        *r = quiet(r);
    }
    return flags;
}
static uint16_t soft_load32(uint16_t cw, uint32_t bits, F80 *r) {
    (void)cw;
    return soft_load_fp(bits, 23, 8, r);
}
static uint16_t soft_load64(uint16_t cw, uint64_t bits, F80 *r) {
    (void)cw;
    return soft_load_fp(bits, 52, 11, r);
}
static uint16_t soft_loadint(uint16_t cw, int64_t v, F80 *r) {
    (void)cw;
    *r =
        v ? from_magnitude(v < 0, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v) : zero_of(false);
    return 0;
}

static uint16_t soft_store_fp(uint16_t cw, const F80 *a, int fbits, int ebits, uint64_t *bits) {
    Ctx c = {cw, 0, false, false};
    int bias = (1 << (ebits - 1)) - 1, emax = (1 << ebits) - 1;
    bool sign = sign_of(a);
    uint64_t s = (uint64_t)sign << (fbits + ebits);
    uint64_t fmask = (1ull << fbits) - 1;
    switch (classify(a)) {
    case K_UNSUPPORTED:
        *bits = (1ull << (fbits + ebits)) | (uint64_t)emax << fbits | 1ull << (fbits - 1);
        return FSW_IE;
    case K_SNAN: c.flags |= FSW_IE; /* fall through */
    case K_QNAN:
        *bits =
            s | (uint64_t)emax << fbits | ((a->mant << 1) >> (64 - fbits)) | 1ull << (fbits - 1);
        return c.flags;
    case K_INF: *bits = s | (uint64_t)emax << fbits; return 0;
    case K_ZERO: *bits = s; return 0;
    default: break; /* a denormal operand raises no DE here */
    }
    Unp u = unpack(a);
    int32_t e;
    c.mem = true;
    uint64_t m = round_generic(&c, sign, u.exp - 16383 + bias, u.mant, 0, fbits + 1, emax, &e);
    *bits = s | (uint64_t)e << fbits | ((m >> (63 - fbits)) & fmask);
    return (uint16_t)(c.flags | (c.c1 ? FSW_C1 : 0));
}
static uint16_t soft_store32(uint16_t cw, const F80 *a, uint32_t *bits) {
    uint64_t b;
    uint16_t f = soft_store_fp(cw, a, 23, 8, &b);
    *bits = (uint32_t)b;
    return f;
}
static uint16_t soft_store64(uint16_t cw, const F80 *a, uint64_t *bits) {
    return soft_store_fp(cw, a, 52, 11, bits);
}

static uint16_t soft_storeint(uint16_t cw, const F80 *a, unsigned size, int64_t *v) {
    Ctx c = {cw, 0, false, false};
    int64_t indefinite_int = size == 2 ? INT16_MIN : size == 4 ? INT32_MIN : INT64_MIN;
    int k = classify(a);
    if (k == K_UNSUPPORTED || k == K_INF || is_nan(k)) {
        *v = indefinite_int;
        return FSW_IE;
    }
    bool big;
    uint64_t m = round_to_int(&c, a, &big);
    uint64_t limit = (uint64_t)1 << (8 * size - 1); /* magnitude of the most negative */
    bool neg = sign_of(a);
    if (big || m > limit || (m == limit && !neg)) {
        *v = indefinite_int;
        return FSW_IE; /* without PE */
    }
    *v = neg ? (int64_t)(0 - m) : (int64_t)m;
    return (uint16_t)(c.flags | (c.c1 ? FSW_C1 : 0));
}

static uint16_t soft_const(uint16_t cw, unsigned which, F80 *r) {
    static const struct {
        uint64_t hi, lo;
        int32_t e;
    } k[7] = {
        {INT_BIT, 0, 0},
        {0xD49A784BCD1B8AFEull, 0x492BF6FF4DAFDB4Cull, 1},  /* log2 10 */
        {0xB8AA3B295C17F0BBull, 0xBE87FED0691D3E88ull, 0},  /* log2 e */
        {0xC90FDAA22168C234ull, 0xC4C6628B80DC1CD1ull, 1},  /* pi */
        {0x9A209A84FBCFF798ull, 0x8F8959AC0B7C9178ull, -2}, /* log10 2 */
        {0xB17217F7D1CF79ABull, 0xC9E3B39803F2F6AFull, -1}, /* ln 2 */
        {0, 0, 0},
    };
    if (which > 6) which = 6;
    if (which == 6) {
        *r = zero_of(false);
        return 0;
    }
    Ctx c = {cw, 0, false, false};
    *r = round_f80(&c, false, k[which].e + 16383, k[which].hi, k[which].lo, 64);
    return 0; /* the constants raise no flags */
}

static uint16_t soft_op_mem(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, FpuMemKind kind,
                            uint64_t bits, F80 *r) {
    F80 b;
    bool den = false;
    switch (kind) {
    case FPU_M32FP: b = widen(bits & 0xFFFFFFFFu, 23, 8, &den); break;
    case FPU_M64FP: b = widen(bits, 52, 11, &den); break;
    case FPU_M16INT: soft_loadint(cw, (int16_t)bits, &b); break;
    default: soft_loadint(cw, (int32_t)bits, &b); break;
    }
    F80 scratch;
    if (!r) r = &scratch;
    uint16_t f = soft_op(op, cw, sw, a, &b, r, NULL, NULL);
    int ka = classify(a);
    if (den && !(f & (FSW_IE | FSW_ZE)) && !is_nan(ka) && ka != K_UNSUPPORTED) f |= FSW_DE;
    return precomputation_abort(op, cw, sw, f);
}

const FpuBackend fpu_backend_soft = {"soft",        soft_op,      soft_op_mem,  soft_load32,
                                     soft_load64,   soft_loadint, soft_store32, soft_store64,
                                     soft_storeint, soft_const};
