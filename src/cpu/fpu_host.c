/*
 * fpu_host.c - the host-x87 backend (see fpu.h): each operation runs the
 * same x87 instruction on the host, on operands loaded with FLD m80 (which
 * is exact and never traps), under the guest's whole control word:
 * precision, rounding and the exception masks. The host's status word gives
 * the guest's exception flags and condition codes, and with an unmasked
 * exception the host x87 itself does what the guest's would: it leaves the
 * destination alone (IE, DE, ZE; OE/UE with a memory destination) or
 * delivers the exponent-adjusted result (OE/UE, register destination).
 * The host never takes the exception: its status word is read with FNSTSW
 * and cleared with FNCLEX before any waiting instruction, and the results
 * are stored under a control word with every exception masked.
 *
 * Only built on x86 hosts; fpu_soft.c is the portable alternative.
 *
 * Each snippet starts with FNINIT (empty host stack) and ends with the
 * stack emptied again, so no x87 state leaks between operations or into the
 * compiler's code. Reading the status word before storing the result keeps
 * C1 (the round-up indicator) of the operation itself.
 */
#include "cpu/fpu.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)

#define X87_CLOBBERS "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

/* Loaded after FNCLEX, before the results are stored: all exceptions masked. */
static const uint16_t masked_cw = 0x037F;

/* The environment each snippet starts from (FLDENV, 32-bit layout): the
 * guest's control word (masks, precision and rounding control), the
 * guest's condition codes (so that codes an instruction leaves unchanged
 * come back unchanged), no exception flags, TOP 0, all registers empty. */
typedef struct HostEnv {
    uint16_t w[14];
} HostEnv;

/* The snippets load their operands first (FNINIT; FLD b; FLD a: TOP 6,
 * registers 6 and 7 in use) and then this environment, so that the FLDs do
 * not disturb the condition codes. nops says how many operands were loaded. */
static HostEnv make_env(uint16_t cw, uint16_t sw, unsigned nops) {
    HostEnv e;
    memset(&e, 0, sizeof e);
    unsigned top = (8 - nops) & 7;
    e.w[0] = (uint16_t)((cw & 0x0F3F) | 0x0040);
    e.w[2] = (uint16_t)((sw & (0x0100 | 0x0200 | 0x0400 | 0x4000)) | top << 11);
    e.w[4] = nops == 2 ? 0x0FFF : nops == 1 ? 0x3FFF : 0xFFFF;
    return e;
}

/* The fast path. FLDENV and FNINIT cost most of a snippet (about 80 of
 * 95 ns on the machine of docs/STATUS.md). When the guest's control word
 * is the one FNINIT sets (all exceptions masked, 64-bit precision, round
 * to nearest) and the host's is too (the x86-64 ABI default, checked each
 * time), a snippet runs the instruction in the host's own state instead:
 * FNCLEX, load, operate, FNSTSW, store and pop everything, leaving the
 * stack empty as it found it. Nothing can trap (all masked) and the result is the same
 * bit for bit; only C0, C2 and C3, which the slow path carries over from
 * the guest (or from 0 for loads and stores) and which arithmetic, loads
 * and stores leave alone, are put back from there (cc_from). */
#define CC_MASK 0x4500u /* C0, C2, C3 */
static bool fast_cw(uint16_t cw) {
    if ((cw & 0x0F3F) != 0x033F) return false;
    uint16_t hcw; /* read each time: cheap, and nothing can have changed it unseen */
    __asm__ volatile("fnstcw %0" : "=m"(hcw));
    return (hcw & 0x0F3F) == 0x033F;
}
static uint16_t cc_from(uint16_t host_sw, uint16_t sw) {
    return (uint16_t)((host_sw & ~CC_MASK) | (sw & CC_MASK));
}
#define FAST_BINOP(fn, insn)                                                                       \
    static uint16_t fn(const F80 *a, const F80 *b, F80 *r) {                                       \
        uint16_t sw;                                                                               \
        __asm__ volatile("fnclex\n\tfldt %[b]\n\tfldt %[a]\n\t" insn "\n\t"                        \
                         "fnstsw %[sw]\n\tfstpt %[r]\n\tfstp %%st(0)"                              \
                         : [r] "=m"(*r), [sw] "=m"(sw)                                             \
                         : [a] "m"(*a), [b] "m"(*b)                                                \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }
#define FAST_CMPOP(fn, insn)                                                                       \
    static uint16_t fn(const F80 *a, const F80 *b) {                                               \
        uint16_t sw;                                                                               \
        __asm__ volatile("fnclex\n\tfldt %[b]\n\tfldt %[a]\n\t" insn "\n\t"                        \
                         "fnstsw %[sw]\n\tfstp %%st(0)\n\tfstp %%st(0)"                            \
                         : [sw] "=m"(sw)                                                           \
                         : [a] "m"(*a), [b] "m"(*b)                                                \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }
FAST_BINOP(fast_add, "fadd %%st(1), %%st")
FAST_BINOP(fast_sub, "fsub %%st(1), %%st")
FAST_BINOP(fast_subr, "fsubr %%st(1), %%st")
FAST_BINOP(fast_mul, "fmul %%st(1), %%st")
FAST_BINOP(fast_div, "fdiv %%st(1), %%st")
FAST_BINOP(fast_divr, "fdivr %%st(1), %%st")
FAST_CMPOP(fast_com, "fcom %%st(1)")
FAST_CMPOP(fast_ucom, "fucom %%st(1)")
FAST_CMPOP(fast_tst, "ftst")
FAST_CMPOP(fast_xam, "fxam")

/* x87_op's fast path: true with *sw_out set if it handled op. */
static bool x87_op_fast(FpuOp op, uint16_t sw, const F80 *a, const F80 *b, F80 *r,
                        uint16_t *sw_out) {
    uint16_t h;
    switch (op) {
    case FOP_ADD: h = cc_from(fast_add(a, b, r), sw); break;
    case FOP_SUB: h = cc_from(fast_sub(a, b, r), sw); break;
    case FOP_SUBR: h = cc_from(fast_subr(a, b, r), sw); break;
    case FOP_MUL: h = cc_from(fast_mul(a, b, r), sw); break;
    case FOP_DIV: h = cc_from(fast_div(a, b, r), sw); break;
    case FOP_DIVR: h = cc_from(fast_divr(a, b, r), sw); break;
    case FOP_SQRT:
        __asm__ volatile("fnclex\n\tfldt %[a]\n\tfsqrt\n\tfnstsw %[sw]\n\tfstpt %[r]"
                         : [r] "=m"(*r), [sw] "=m"(h)
                         : [a] "m"(*a)
                         : X87_CLOBBERS);
        h = cc_from(h, sw);
        break;
    /* These set all four condition codes. */
    case FOP_COM: h = fast_com(a, b); break;
    case FOP_UCOM: h = fast_ucom(a, b); break;
    case FOP_TST: h = fast_tst(a, a); break;
    case FOP_XAM: h = fast_xam(a, a); break;
    default: return false;
    }
    *sw_out = h;
    return true;
}

/* Two operands: ST(0) = a, ST(1) = b; result in ST(0). */
#define BINOP(fn, insn)                                                                            \
    static uint16_t fn(const HostEnv *cw, const F80 *a, const F80 *b, F80 *r) {                    \
        uint16_t sw;                                                                               \
        __asm__ volatile("fninit\n\tfldt %[b]\n\tfldt %[a]\n\tfldenv %[cw]\n\t" insn "\n\t"        \
                         "fnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt %[r]\n\tfninit"          \
                         : [r] "=m"(*r), [sw] "=m"(sw)                                             \
                         : [a] "m"(*a), [b] "m"(*b), [cw] "m"(*cw), [mcw] "m"(masked_cw)           \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }

/* One operand in ST(0); result in ST(0). */
#define UNOP(fn, insn)                                                                             \
    static uint16_t fn(const HostEnv *cw, const F80 *a, F80 *r) {                                  \
        uint16_t sw;                                                                               \
        __asm__ volatile("fninit\n\tfldt %[a]\n\tfldenv %[cw]\n\t" insn "\n\t"                     \
                         "fnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt %[r]\n\tfninit"          \
                         : [r] "=m"(*r), [sw] "=m"(sw)                                             \
                         : [a] "m"(*a), [cw] "m"(*cw), [mcw] "m"(masked_cw)                        \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }

/* One operand, two results: ST(0) -> r, ST(1) -> r2 (if the instruction pushed). */
#define UNOP2(fn, insn)                                                                            \
    static uint16_t fn(const HostEnv *cw, const F80 *a, F80 *r, F80 *r2) {                         \
        uint16_t sw;                                                                               \
        __asm__ volatile(                                                                          \
            "fninit\n\tfldt %[a]\n\tfldenv %[cw]\n\t" insn "\n\t"                                  \
            "fnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt %[r]\n\tfstpt %[r2]\n\tfninit"        \
            : [r] "=m"(*r), [r2] "=m"(*r2), [sw] "=m"(sw)                                          \
            : [a] "m"(*a), [cw] "m"(*cw), [mcw] "m"(masked_cw)                                     \
            : X87_CLOBBERS);                                                                       \
        return sw;                                                                                 \
    }

/* Condition codes only. */
#define CMPOP(fn, insn)                                                                            \
    static uint16_t fn(const HostEnv *cw, const F80 *a, const F80 *b) {                            \
        uint16_t sw;                                                                               \
        __asm__ volatile("fninit\n\tfldt %[b]\n\tfldt %[a]\n\tfldenv %[cw]\n\t" insn "\n\t"        \
                         "fnstsw %[sw]\n\tfninit"                                                  \
                         : [sw] "=m"(sw)                                                           \
                         : [a] "m"(*a), [b] "m"(*b), [cw] "m"(*cw), [mcw] "m"(masked_cw)           \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }

BINOP(op_add, "fadd %%st(1), %%st")
BINOP(op_sub, "fsub %%st(1), %%st")
BINOP(op_subr, "fsubr %%st(1), %%st")
BINOP(op_mul, "fmul %%st(1), %%st")
BINOP(op_div, "fdiv %%st(1), %%st")
BINOP(op_divr, "fdivr %%st(1), %%st")
BINOP(op_prem, "fprem")
BINOP(op_prem1, "fprem1")
BINOP(op_scale, "fscale")
BINOP(op_patan, "fpatan")
BINOP(op_yl2x, "fyl2x")
BINOP(op_yl2xp1, "fyl2xp1")
UNOP(op_sqrt, "fsqrt")
UNOP(op_rndint, "frndint")
UNOP(op_sin, "fsin")
UNOP(op_cos, "fcos")
UNOP(op_f2xm1, "f2xm1")
UNOP2(op_sincos, "fsincos")
UNOP2(op_ptan, "fptan")
UNOP2(op_xtract, "fxtract")
CMPOP(op_com, "fcom %%st(1)")
CMPOP(op_ucom, "fucom %%st(1)")
CMPOP(op_tst, "ftst")
CMPOP(op_xam, "fxam")

static uint16_t op_comi(const HostEnv *cw, const F80 *a, const F80 *b, bool unordered_quiet,
                        uint32_t *eflags) {
    uint16_t sw;
    uint8_t z, p, c;
    if (unordered_quiet)
        __asm__ volatile(
            "fninit\n\tfldt %[b]\n\tfldt %[a]\n\tfldenv %[cw]\n\tfucomi %%st(1), %%st\n\t"
            "setz %[z]\n\tsetp %[p]\n\tsetc %[c]\n\tfnstsw %[sw]\n\tfninit"
            : [sw] "=m"(sw), [z] "=q"(z), [p] "=q"(p), [c] "=q"(c)
            : [a] "m"(*a), [b] "m"(*b), [cw] "m"(*cw)
            : X87_CLOBBERS, "cc");
    else
        __asm__ volatile(
            "fninit\n\tfldt %[b]\n\tfldt %[a]\n\tfldenv %[cw]\n\tfcomi %%st(1), %%st\n\t"
            "setz %[z]\n\tsetp %[p]\n\tsetc %[c]\n\tfnstsw %[sw]\n\tfninit"
            : [sw] "=m"(sw), [z] "=q"(z), [p] "=q"(p), [c] "=q"(c)
            : [a] "m"(*a), [b] "m"(*b), [cw] "m"(*cw)
            : X87_CLOBBERS, "cc");
    *eflags = (z ? 0x40u : 0) | (p ? 0x04u : 0) | (c ? 0x01u : 0);
    return sw;
}

static uint16_t x87_op(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, const F80 *b, F80 *r,
                       F80 *r2, uint32_t *eflags) {
    uint16_t fast_sw;
    if (fast_cw(cw) && x87_op_fast(op, sw, a, b, r, &fast_sw)) return fast_sw;
    bool unary = op == FOP_SQRT || op == FOP_RNDINT || op == FOP_SIN || op == FOP_COS ||
                 op == FOP_F2XM1 || op == FOP_SINCOS || op == FOP_PTAN || op == FOP_XTRACT;
    HostEnv env = make_env(cw, sw, unary ? 1 : 2);
    const HostEnv *hcw = &env;
    F80 scratch;
    if (!r2) r2 = &scratch;
    switch (op) {
    case FOP_ADD: return op_add(hcw, a, b, r);
    case FOP_SUB: return op_sub(hcw, a, b, r);
    case FOP_SUBR: return op_subr(hcw, a, b, r);
    case FOP_MUL: return op_mul(hcw, a, b, r);
    case FOP_DIV: return op_div(hcw, a, b, r);
    case FOP_DIVR: return op_divr(hcw, a, b, r);
    case FOP_PREM: return op_prem(hcw, a, b, r);
    case FOP_PREM1: return op_prem1(hcw, a, b, r);
    case FOP_SCALE: return op_scale(hcw, a, b, r);
    case FOP_PATAN: return op_patan(hcw, a, b, r);
    case FOP_YL2X: return op_yl2x(hcw, a, b, r);
    case FOP_YL2XP1: return op_yl2xp1(hcw, a, b, r);
    case FOP_SQRT: return op_sqrt(hcw, a, r);
    case FOP_RNDINT: return op_rndint(hcw, a, r);
    case FOP_SIN: return op_sin(hcw, a, r);
    case FOP_COS: return op_cos(hcw, a, r);
    case FOP_F2XM1: return op_f2xm1(hcw, a, r);
    case FOP_SINCOS: return op_sincos(hcw, a, r, r2);
    case FOP_PTAN: return op_ptan(hcw, a, r, r2);
    case FOP_XTRACT: return op_xtract(hcw, a, r, r2);
    case FOP_COM: return op_com(hcw, a, b);
    case FOP_UCOM: return op_ucom(hcw, a, b);
    case FOP_TST: return op_tst(hcw, a, a);
    case FOP_XAM: return op_xam(hcw, a, a);
    case FOP_COMI: return op_comi(hcw, a, b, false, eflags);
    case FOP_UCOMI: return op_comi(hcw, a, b, true, eflags);
    }
    return 0;
}

/* Arithmetic rows with a memory operand, run in their own encoding so the
 * operand's format takes part exactly as in hardware (NaN selection,
 * denormal detection): ST(0) = a, the operand in *m. */
#define MEMOP(fn, insn, T)                                                                         \
    static uint16_t fn(const HostEnv *cw, const F80 *a, const T *m, F80 *r) {                      \
        uint16_t sw;                                                                               \
        __asm__ volatile("fninit\n\tfldt %[a]\n\tfldenv %[cw]\n\t" insn " %[m]\n\t"                \
                         "fnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt %[r]\n\tfninit"          \
                         : [r] "=m"(*r), [sw] "=m"(sw)                                             \
                         : [a] "m"(*a), [m] "m"(*m), [cw] "m"(*cw), [mcw] "m"(masked_cw)           \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }
#define FAST_MEMOP(fn, insn, T)                                                                    \
    static uint16_t fn(const F80 *a, const T *m, F80 *r) {                                         \
        uint16_t sw;                                                                               \
        __asm__ volatile("fnclex\n\tfldt %[a]\n\t" insn " %[m]\n\t"                                \
                         "fnstsw %[sw]\n\tfstpt %[r]"                                              \
                         : [r] "=m"(*r), [sw] "=m"(sw)                                             \
                         : [a] "m"(*a), [m] "m"(*m)                                                \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }
#define MEMROW(suffix, T, add, mul, com, sub, subr, div, divr)                                     \
    MEMOP(m_add_##suffix, add, T)                                                                  \
    MEMOP(m_mul_##suffix, mul, T)                                                                  \
    MEMOP(m_com_##suffix, com, T)                                                                  \
    MEMOP(m_sub_##suffix, sub, T)                                                                  \
    MEMOP(m_subr_##suffix, subr, T)                                                                \
    MEMOP(m_div_##suffix, div, T)                                                                  \
    MEMOP(m_divr_##suffix, divr, T)                                                                \
    static uint16_t (*const m_ops_##suffix[7])(const HostEnv *, const F80 *, const T *, F80 *) = { \
        m_add_##suffix,  m_mul_##suffix, m_com_##suffix, m_sub_##suffix,                           \
        m_subr_##suffix, m_div_##suffix, m_divr_##suffix};                                         \
    FAST_MEMOP(fm_add_##suffix, add, T)                                                            \
    FAST_MEMOP(fm_mul_##suffix, mul, T)                                                            \
    FAST_MEMOP(fm_com_##suffix, com, T)                                                            \
    FAST_MEMOP(fm_sub_##suffix, sub, T)                                                            \
    FAST_MEMOP(fm_subr_##suffix, subr, T)                                                          \
    FAST_MEMOP(fm_div_##suffix, div, T)                                                            \
    FAST_MEMOP(fm_divr_##suffix, divr, T)                                                          \
    static uint16_t (*const fm_ops_##suffix[7])(const F80 *, const T *, F80 *) = {                 \
        fm_add_##suffix,  fm_mul_##suffix, fm_com_##suffix, fm_sub_##suffix,                       \
        fm_subr_##suffix, fm_div_##suffix, fm_divr_##suffix};

MEMROW(f32, uint32_t, "fadds", "fmuls", "fcoms", "fsubs", "fsubrs", "fdivs", "fdivrs")
MEMROW(f64, uint64_t, "faddl", "fmull", "fcoml", "fsubl", "fsubrl", "fdivl", "fdivrl")
MEMROW(i16, int16_t, "fiadds", "fimuls", "ficoms", "fisubs", "fisubrs", "fidivs", "fidivrs")
MEMROW(i32, int32_t, "fiaddl", "fimull", "ficoml", "fisubl", "fisubrl", "fidivl", "fidivrl")

static uint16_t x87_op_mem(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, FpuMemKind kind,
                           uint64_t bits, F80 *r) {
    HostEnv env = make_env(cw, sw, 1);
    F80 scratch;
    if (!r) r = &scratch;
    int k;
    switch (op) {
    case FOP_ADD: k = 0; break;
    case FOP_MUL: k = 1; break;
    case FOP_COM: k = 2; break;
    case FOP_SUB: k = 3; break;
    case FOP_SUBR: k = 4; break;
    case FOP_DIV: k = 5; break;
    default: k = 6; break; /* FOP_DIVR */
    }
    if (fast_cw(cw)) {
        uint16_t h;
        switch (kind) {
        case FPU_M32FP: {
            uint32_t m = (uint32_t)bits;
            h = fm_ops_f32[k](a, &m, r);
            break;
        }
        case FPU_M64FP: {
            uint64_t m = bits;
            h = fm_ops_f64[k](a, &m, r);
            break;
        }
        case FPU_M16INT: {
            int16_t m = (int16_t)bits;
            h = fm_ops_i16[k](a, &m, r);
            break;
        }
        default: {
            int32_t m = (int32_t)bits;
            h = fm_ops_i32[k](a, &m, r);
            break;
        }
        }
        return k == 2 ? h : cc_from(h, sw); /* FCOM sets all four codes */
    }
    switch (kind) {
    case FPU_M32FP: {
        uint32_t m = (uint32_t)bits;
        return m_ops_f32[k](&env, a, &m, r);
    }
    case FPU_M64FP: {
        uint64_t m = bits;
        return m_ops_f64[k](&env, a, &m, r);
    }
    case FPU_M16INT: {
        int16_t m = (int16_t)bits;
        return m_ops_i16[k](&env, a, &m, r);
    }
    default: {
        int32_t m = (int32_t)bits;
        return m_ops_i32[k](&env, a, &m, r);
    }
    }
}

/* FLD m32 of a zero or a normal number: exact whatever the control word,
 * no exception (the host's FLD agrees); the rest (denormals: DE,
 * infinities, NaNs: IE for a signalling one) on the host. */
static bool load32_plain(uint32_t bits, F80 *r) {
    unsigned e = bits >> 23 & 0xFF;
    uint32_t f = bits & 0x7FFFFF;
    uint16_t sign = (bits >> 31) ? 0x8000 : 0;
    if (e == 0xFF || (e == 0 && f)) return false;
    r->mant = e ? 1ULL << 63 | (uint64_t)f << 40 : 0;
    r->se = (uint16_t)(sign | (e ? e - 127 + 16383 : 0));
    return true;
}

static uint16_t x87_load32(uint16_t cw, uint32_t bits, F80 *r) {
    uint16_t sw;
    if (load32_plain(bits, r)) return 0;
    if (fast_cw(cw)) {
        __asm__ volatile("fnclex\n\tflds %[m]\n\tfnstsw %[sw]\n\tfstpt %[r]"
                         : [r] "=m"(*r), [sw] "=m"(sw)
                         : [m] "m"(bits)
                         : X87_CLOBBERS);
        return sw & ~CC_MASK;
    }
    HostEnv hcw = make_env(cw, 0, 0);
    __asm__ volatile("fldenv %[cw]\n\tflds %[m]\n\tfnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt "
                     "%[r]\n\tfninit"
                     : [r] "=m"(*r), [sw] "=m"(sw)
                     : [m] "m"(bits), [cw] "m"(hcw), [mcw] "m"(masked_cw)
                     : X87_CLOBBERS);
    return sw;
}

static uint16_t x87_load64(uint16_t cw, uint64_t bits, F80 *r) {
    uint16_t sw;
    if (fast_cw(cw)) {
        __asm__ volatile("fnclex\n\tfldl %[m]\n\tfnstsw %[sw]\n\tfstpt %[r]"
                         : [r] "=m"(*r), [sw] "=m"(sw)
                         : [m] "m"(bits)
                         : X87_CLOBBERS);
        return sw & ~CC_MASK;
    }
    HostEnv hcw = make_env(cw, 0, 0);
    __asm__ volatile("fldenv %[cw]\n\tfldl %[m]\n\tfnstsw %[sw]\n\tfnclex\n\tfldcw %[mcw]\n\tfstpt "
                     "%[r]\n\tfninit"
                     : [r] "=m"(*r), [sw] "=m"(sw)
                     : [m] "m"(bits), [cw] "m"(hcw), [mcw] "m"(masked_cw)
                     : X87_CLOBBERS);
    return sw;
}

static uint16_t x87_loadint(uint16_t cw, int64_t v, F80 *r) {
    uint16_t sw;
    if (fast_cw(cw)) {
        __asm__ volatile("fnclex\n\tfildll %[m]\n\tfnstsw %[sw]\n\tfstpt %[r]"
                         : [r] "=m"(*r), [sw] "=m"(sw)
                         : [m] "m"(v)
                         : X87_CLOBBERS);
        return sw & ~CC_MASK;
    }
    HostEnv hcw = make_env(cw, 0, 0);
    __asm__ volatile("fldenv %[cw]\n\tfildll %[m]\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit"
                     : [r] "=m"(*r), [sw] "=m"(sw)
                     : [m] "m"(v), [cw] "m"(hcw)
                     : X87_CLOBBERS);
    return sw;
}

static uint16_t x87_store32(uint16_t cw, const F80 *a, uint32_t *bits) {
    uint16_t sw;
    if (fast_cw(cw)) {
        __asm__ volatile("fnclex\n\tfldt %[a]\n\tfstps %[m]\n\tfnstsw %[sw]"
                         : [m] "=m"(*bits), [sw] "=m"(sw)
                         : [a] "m"(*a)
                         : X87_CLOBBERS);
        return sw & ~CC_MASK;
    }
    HostEnv hcw = make_env(cw, 0, 1);
    __asm__ volatile("fninit\n\tfldt %[a]\n\tfldenv %[cw]\n\tfstps %[m]\n\tfnstsw %[sw]\n\tfninit"
                     : [m] "=m"(*bits), [sw] "=m"(sw)
                     : [a] "m"(*a), [cw] "m"(hcw)
                     : X87_CLOBBERS);
    return sw;
}

static uint16_t x87_store64(uint16_t cw, const F80 *a, uint64_t *bits) {
    uint16_t sw;
    if (fast_cw(cw)) {
        __asm__ volatile("fnclex\n\tfldt %[a]\n\tfstpl %[m]\n\tfnstsw %[sw]"
                         : [m] "=m"(*bits), [sw] "=m"(sw)
                         : [a] "m"(*a)
                         : X87_CLOBBERS);
        return sw & ~CC_MASK;
    }
    HostEnv hcw = make_env(cw, 0, 1);
    __asm__ volatile("fninit\n\tfldt %[a]\n\tfldenv %[cw]\n\tfstpl %[m]\n\tfnstsw %[sw]\n\tfninit"
                     : [m] "=m"(*bits), [sw] "=m"(sw)
                     : [a] "m"(*a), [cw] "m"(hcw)
                     : X87_CLOBBERS);
    return sw;
}

/* FISTTP (SSE3) on the host: nearly every x86-64 CPU has it. */
static bool host_sse3(void) {
    static int has = -1;
    if (has < 0) has = __builtin_cpu_supports("sse3") ? 1 : 0;
    return has == 1;
}

/* FIST under truncation (C's conversions) with every exception masked, of
 * a zero or a normal number whose integer part fits: integer arithmetic,
 * PE if a fraction was dropped, C1 clear (what the host's FISTTP gives);
 * the rest (unnormals, NaNs, infinities, overflow) on the host. */
static bool storeint_chop_plain(const F80 *a, unsigned size, int64_t *v, uint16_t *sw) {
    unsigned e = a->se & 0x7FFF;
    uint64_t m = a->mant;
    if (e == 0 && m == 0) {
        *v = 0, *sw = 0;
        return true;
    }
    if (e == 0 || e == 0x7FFF || !(m >> 63)) return false;
    int x = (int)e - 16383; /* the value is m * 2^(x - 63) */
    if (x >= 62) return false;
    uint64_t mag = 0;
    bool inexact = true;
    if (x >= 0) {
        unsigned sh = (unsigned)(63 - x); /* 2..63 */
        mag = m >> sh;
        inexact = (m << (64 - sh)) != 0;
    }
    int64_t r = (a->se & 0x8000) ? -(int64_t)mag : (int64_t)mag;
    if ((size == 2 && (r < INT16_MIN || r > INT16_MAX)) ||
        (size == 4 && (r < INT32_MIN || r > INT32_MAX)))
        return false;
    *v = r, *sw = inexact ? 0x0020 : 0; /* PE */
    return true;
}

static uint16_t x87_storeint(uint16_t cw, const F80 *a, unsigned size, int64_t *v) {
    uint16_t sw;
    if ((cw & 0x0C3F) == 0x0C3F && storeint_chop_plain(a, size, v, &sw)) return sw;
    if (fast_cw(cw) && size == 4) {
        int32_t t;
        __asm__ volatile("fnclex\n\tfldt %[a]\n\tfistpl %[m]\n\tfnstsw %[sw]"
                         : [m] "=m"(t), [sw] "=m"(sw)
                         : [a] "m"(*a)
                         : X87_CLOBBERS);
        *v = t;
        return sw & ~CC_MASK;
    }
    uint16_t hcw0;
    __asm__ volatile("fnstcw %0" : "=m"(hcw0));
    if ((cw & 0x3F) == 0x3F && (hcw0 & 0x0F3F) == 0x033F) {
        /* Every exception masked, any rounding (FISTP under a truncating
         * control word: C's (long long)x on i386): the same in the host's
         * state with the guest's rounding loaded by FLDCW, much cheaper
         * than FNINIT and FLDENV (precision control does not apply). */
        uint16_t gcw = (uint16_t)((cw & 0x0C00) | 0x033F);
        bool chop = (cw & 0x0C00) == 0x0C00 && host_sse3(); /* FISTTP: the same, no FLDCW */
#define FIST_FAST(t, fist, fistt)                                                                  \
    if (chop)                                                                                      \
        __asm__ volatile("fnclex\n\tfldt %[a]\n\t" fistt " %[m]\n\tfnstsw %[sw]"                   \
                         : [m] "=m"(t), [sw] "=m"(sw)                                              \
                         : [a] "m"(*a)                                                             \
                         : X87_CLOBBERS);                                                          \
    else                                                                                           \
        __asm__ volatile("fnclex\n\tfldcw %[g]\n\tfldt %[a]\n\t" fist                              \
                         " %[m]\n\tfnstsw %[sw]\n\tfldcw %[h]"                                     \
                         : [m] "=m"(t), [sw] "=m"(sw)                                              \
                         : [a] "m"(*a), [g] "m"(gcw), [h] "m"(hcw0)                                \
                         : X87_CLOBBERS)
        if (size == 2) {
            int16_t t;
            FIST_FAST(t, "fistps", "fisttps");
            *v = t;
        } else if (size == 4) {
            int32_t t;
            FIST_FAST(t, "fistpl", "fisttpl");
            *v = t;
        } else {
            FIST_FAST(*v, "fistpll", "fisttpll");
        }
#undef FIST_FAST
        return sw & ~CC_MASK;
    }
    HostEnv hcw = make_env(cw, 0, 1);
    if (size == 2) {
        int16_t t;
        __asm__ volatile(
            "fninit\n\tfldt %[a]\n\tfldenv %[cw]\n\tfistps %[m]\n\tfnstsw %[sw]\n\tfninit"
            : [m] "=m"(t), [sw] "=m"(sw)
            : [a] "m"(*a), [cw] "m"(hcw)
            : X87_CLOBBERS);
        *v = t;
    } else if (size == 4) {
        int32_t t;
        __asm__ volatile(
            "fninit\n\tfldt %[a]\n\tfldenv %[cw]\n\tfistpl %[m]\n\tfnstsw %[sw]\n\tfninit"
            : [m] "=m"(t), [sw] "=m"(sw)
            : [a] "m"(*a), [cw] "m"(hcw)
            : X87_CLOBBERS);
        *v = t;
    } else {
        __asm__ volatile(
            "fninit\n\tfldt %[a]\n\tfldenv %[cw]\n\tfistpll %[m]\n\tfnstsw %[sw]\n\tfninit"
            : [m] "=m"(*v), [sw] "=m"(sw)
            : [a] "m"(*a), [cw] "m"(hcw)
            : X87_CLOBBERS);
    }
    return sw;
}

static uint16_t x87_const(uint16_t cw, unsigned which, F80 *r) {
    uint16_t sw;
    if (fast_cw(cw) && (which == 0 || which == 6)) { /* FLD1, FLDZ */
        if (which == 0)
            __asm__ volatile("fnclex\n\tfld1\n\tfnstsw %[sw]\n\tfstpt %[r]"
                             : [r] "=m"(*r), [sw] "=m"(sw)
                             :
                             : X87_CLOBBERS);
        else
            __asm__ volatile("fnclex\n\tfldz\n\tfnstsw %[sw]\n\tfstpt %[r]"
                             : [r] "=m"(*r), [sw] "=m"(sw)
                             :
                             : X87_CLOBBERS);
        return sw & ~CC_MASK;
    }
    HostEnv hcw = make_env(cw, 0, 0);
#define CONST_CASE(n, insn)                                                                        \
    case n:                                                                                        \
        __asm__ volatile("fldenv %[cw]\n\t" insn "\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit"        \
                         : [r] "=m"(*r), [sw] "=m"(sw)                                             \
                         : [cw] "m"(hcw)                                                           \
                         : X87_CLOBBERS);                                                          \
        break;
    switch (which) {
        CONST_CASE(0, "fld1")
        CONST_CASE(1, "fldl2t")
        CONST_CASE(2, "fldl2e")
        CONST_CASE(3, "fldpi")
        CONST_CASE(4, "fldlg2")
        CONST_CASE(5, "fldln2")
    default: CONST_CASE(6, "fldz")
    }
#undef CONST_CASE
    return sw;
}

const FpuBackend fpu_backend_x87 = {"host",      x87_op,      x87_op_mem,  x87_load32,   x87_load64,
                                    x87_loadint, x87_store32, x87_store64, x87_storeint, x87_const};

#endif
