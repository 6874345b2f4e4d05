/*
 * fpu_host.c - the host-x87 backend (see fpu.h): each operation runs the
 * same x87 instruction on the host, on operands loaded with FLD m80 (which
 * is exact and never traps), under the guest's precision and rounding
 * control with every exception masked; the host's status word gives the
 * guest's exception flags and condition codes.
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

bool fpu_backend_available(void) { return true; }

/* Guest precision and rounding control, all exceptions masked. */
static uint16_t host_cw(uint16_t cw) { return (uint16_t)((cw & 0x0F00) | 0x007F); }

/* Two operands: ST(0) = a, ST(1) = b; result in ST(0). */
#define BINOP(fn, insn)                                                                            \
    static uint16_t fn(uint16_t cw, const F80 *a, const F80 *b, F80 *r) {                          \
        uint16_t sw;                                                                               \
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\t" insn "\n\t"         \
                         "fnstsw %[sw]\n\tfstpt %[r]\n\tfninit"                                    \
                         : [r] "=m"(*r), [sw] "=m"(sw)                                             \
                         : [a] "m"(*a), [b] "m"(*b), [cw] "m"(cw)                                  \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }

/* One operand in ST(0); result in ST(0). */
#define UNOP(fn, insn)                                                                             \
    static uint16_t fn(uint16_t cw, const F80 *a, F80 *r) {                                        \
        uint16_t sw;                                                                               \
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\t" insn "\n\t"                      \
                         "fnstsw %[sw]\n\tfstpt %[r]\n\tfninit"                                    \
                         : [r] "=m"(*r), [sw] "=m"(sw)                                             \
                         : [a] "m"(*a), [cw] "m"(cw)                                               \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }

/* One operand, two results: ST(0) -> r, ST(1) -> r2 (if the instruction pushed). */
#define UNOP2(fn, insn)                                                                            \
    static uint16_t fn(uint16_t cw, const F80 *a, F80 *r, F80 *r2) {                               \
        uint16_t sw;                                                                               \
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\t" insn "\n\t"                      \
                         "fnstsw %[sw]\n\tfstpt %[r]\n\tfstpt %[r2]\n\tfninit"                     \
                         : [r] "=m"(*r), [r2] "=m"(*r2), [sw] "=m"(sw)                             \
                         : [a] "m"(*a), [cw] "m"(cw)                                               \
                         : X87_CLOBBERS);                                                          \
        return sw;                                                                                 \
    }

/* Condition codes only. */
#define CMPOP(fn, insn)                                                                            \
    static uint16_t fn(uint16_t cw, const F80 *a, const F80 *b) {                                  \
        uint16_t sw;                                                                               \
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\t" insn "\n\t"         \
                         "fnstsw %[sw]\n\tfninit"                                                  \
                         : [sw] "=m"(sw)                                                           \
                         : [a] "m"(*a), [b] "m"(*b), [cw] "m"(cw)                                  \
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

static uint16_t op_comi(uint16_t cw, const F80 *a, const F80 *b, bool unordered_quiet, uint32_t *eflags) {
    uint16_t sw;
    uint8_t z, p, c;
    if (unordered_quiet)
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\tfucomi %%st(1), %%st\n\t"
                         "setz %[z]\n\tsetp %[p]\n\tsetc %[c]\n\tfnstsw %[sw]\n\tfninit"
                         : [sw] "=m"(sw), [z] "=q"(z), [p] "=q"(p), [c] "=q"(c)
                         : [a] "m"(*a), [b] "m"(*b), [cw] "m"(cw)
                         : X87_CLOBBERS, "cc");
    else
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\tfcomi %%st(1), %%st\n\t"
                         "setz %[z]\n\tsetp %[p]\n\tsetc %[c]\n\tfnstsw %[sw]\n\tfninit"
                         : [sw] "=m"(sw), [z] "=q"(z), [p] "=q"(p), [c] "=q"(c)
                         : [a] "m"(*a), [b] "m"(*b), [cw] "m"(cw)
                         : X87_CLOBBERS, "cc");
    *eflags = (z ? 0x40u : 0) | (p ? 0x04u : 0) | (c ? 0x01u : 0);
    return sw;
}

uint16_t fpu_host_op(FpuOp op, uint16_t cw, const F80 *a, const F80 *b, F80 *r, F80 *r2,
                     uint32_t *eflags) {
    uint16_t hcw = host_cw(cw);
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

uint16_t fpu_host_load32(uint16_t cw, uint32_t bits, F80 *r) {
    uint16_t sw, hcw = host_cw(cw);
    __asm__ volatile("fninit\n\tfldcw %[cw]\n\tflds %[m]\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit"
                     : [r] "=m"(*r), [sw] "=m"(sw) : [m] "m"(bits), [cw] "m"(hcw) : X87_CLOBBERS);
    return sw;
}

uint16_t fpu_host_load64(uint16_t cw, uint64_t bits, F80 *r) {
    uint16_t sw, hcw = host_cw(cw);
    __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldl %[m]\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit"
                     : [r] "=m"(*r), [sw] "=m"(sw) : [m] "m"(bits), [cw] "m"(hcw) : X87_CLOBBERS);
    return sw;
}

uint16_t fpu_host_loadint(uint16_t cw, int64_t v, F80 *r) {
    uint16_t sw, hcw = host_cw(cw);
    __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfildll %[m]\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit"
                     : [r] "=m"(*r), [sw] "=m"(sw) : [m] "m"(v), [cw] "m"(hcw) : X87_CLOBBERS);
    return sw;
}

uint16_t fpu_host_store32(uint16_t cw, const F80 *a, uint32_t *bits) {
    uint16_t sw, hcw = host_cw(cw);
    __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfstps %[m]\n\tfnstsw %[sw]\n\tfninit"
                     : [m] "=m"(*bits), [sw] "=m"(sw) : [a] "m"(*a), [cw] "m"(hcw) : X87_CLOBBERS);
    return sw;
}

uint16_t fpu_host_store64(uint16_t cw, const F80 *a, uint64_t *bits) {
    uint16_t sw, hcw = host_cw(cw);
    __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfstpl %[m]\n\tfnstsw %[sw]\n\tfninit"
                     : [m] "=m"(*bits), [sw] "=m"(sw) : [a] "m"(*a), [cw] "m"(hcw) : X87_CLOBBERS);
    return sw;
}

uint16_t fpu_host_storeint(uint16_t cw, const F80 *a, unsigned size, int64_t *v) {
    uint16_t sw, hcw = host_cw(cw);
    if (size == 2) {
        int16_t t;
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfistps %[m]\n\tfnstsw %[sw]\n\tfninit"
                         : [m] "=m"(t), [sw] "=m"(sw) : [a] "m"(*a), [cw] "m"(hcw) : X87_CLOBBERS);
        *v = t;
    } else if (size == 4) {
        int32_t t;
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfistpl %[m]\n\tfnstsw %[sw]\n\tfninit"
                         : [m] "=m"(t), [sw] "=m"(sw) : [a] "m"(*a), [cw] "m"(hcw) : X87_CLOBBERS);
        *v = t;
    } else {
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfistpll %[m]\n\tfnstsw %[sw]\n\tfninit"
                         : [m] "=m"(*v), [sw] "=m"(sw) : [a] "m"(*a), [cw] "m"(hcw) : X87_CLOBBERS);
    }
    return sw;
}

uint16_t fpu_host_const(uint16_t cw, unsigned which, F80 *r) {
    uint16_t sw, hcw = host_cw(cw);
#define CONST_CASE(n, insn)                                                                        \
    case n:                                                                                        \
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\t" insn "\n\tfnstsw %[sw]\n\tfstpt %[r]\n\tfninit" \
                         : [r] "=m"(*r), [sw] "=m"(sw) : [cw] "m"(hcw) : X87_CLOBBERS);            \
        break;
    switch (which) {
        CONST_CASE(0, "fld1")
        CONST_CASE(1, "fldl2t")
        CONST_CASE(2, "fldl2e")
        CONST_CASE(3, "fldpi")
        CONST_CASE(4, "fldlg2")
        CONST_CASE(5, "fldln2")
        default:
        CONST_CASE(6, "fldz")
    }
#undef CONST_CASE
    return sw;
}

#else /* no x87 on this host: no backend yet */

bool fpu_backend_available(void) { return false; }
uint16_t fpu_host_op(FpuOp op, uint16_t cw, const F80 *a, const F80 *b, F80 *r, F80 *r2, uint32_t *eflags) {
    (void)op; (void)cw; (void)a; (void)b; (void)r; (void)r2; (void)eflags;
    return 0;
}
uint16_t fpu_host_load32(uint16_t cw, uint32_t bits, F80 *r) { (void)cw; (void)bits; (void)r; return 0; }
uint16_t fpu_host_load64(uint16_t cw, uint64_t bits, F80 *r) { (void)cw; (void)bits; (void)r; return 0; }
uint16_t fpu_host_loadint(uint16_t cw, int64_t v, F80 *r) { (void)cw; (void)v; (void)r; return 0; }
uint16_t fpu_host_store32(uint16_t cw, const F80 *a, uint32_t *bits) { (void)cw; (void)a; (void)bits; return 0; }
uint16_t fpu_host_store64(uint16_t cw, const F80 *a, uint64_t *bits) { (void)cw; (void)a; (void)bits; return 0; }
uint16_t fpu_host_storeint(uint16_t cw, const F80 *a, unsigned size, int64_t *v) {
    (void)cw; (void)a; (void)size; (void)v;
    return 0;
}
uint16_t fpu_host_const(uint16_t cw, unsigned which, F80 *r) { (void)cw; (void)which; (void)r; return 0; }

#endif
