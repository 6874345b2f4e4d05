/*
 * diff_x87_soft.c - the soft x87 backend (fpu_soft.c) against the host x87
 * (fpu_host.c), x86-64 hosts only, in two ways:
 *  1. operation by operation: each backend entry point called with the same
 *     random control word, condition codes and operands (weighted to special
 *     values and to halfway cases), comparing the 80-bit results, the
 *     status word (exception flags, C0-C3) and for FCOMI the EFLAGS;
 *  2. whole instructions: the x87 oracle (diff_x87.c) run with the soft
 *     backend selected in bt86.
 * Differences are counted by operation and class. Allowed (reported, not
 * failures): the last bit of a transcendental result (FSIN, FCOS, FSINCOS,
 * FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1), with C1/PE following that bit, and
 * results of F2XM1/FYL2XP1 outside the domain the SDM defines. Any other
 * difference fails the test.
 */
#include "diff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/fpu.h"

#if defined(__x86_64__)
#include <cpuid.h>

static F80 rand_value(Rng *r) {
    uint64_t mant = rng_next(r);
    unsigned exp, sign = rng_range(r, 2);
    switch (rng_range(r, 16)) {
    case 0:
        exp = 0;
        mant = 0;
        break; /* zero */
    case 1:
        exp = 0;
        mant >>= 1 + rng_range(r, 63);
        break; /* denormal */
    case 2:
        exp = 0;
        mant |= 1ull << 63;
        break; /* pseudo-denormal */
    case 3:
        exp = 0x7FFF;
        mant = 1ull << 63;
        break; /* infinity */
    case 4:
        exp = 0x7FFF;
        mant |= 3ull << 62;
        break; /* quiet NaN */
    case 5:
        exp = 0x7FFF;
        mant = (mant & ~(3ull << 62)) | 1ull << 63 | 1;
        break; /* signalling NaN */
    case 6:
        exp = rng_range(r, 0x8000);
        mant &= ~(1ull << 63);
        break; /* unnormal, pseudo-NaN */
    case 7:
        exp = 0x7FFE - rng_range(r, 70);
        mant |= 1ull << 63;
        break; /* near overflow */
    case 8:
        exp = 1 + rng_range(r, 70);
        mant |= 1ull << 63;
        break; /* near underflow */
    case 9:
        exp = 0x3FFF - 10 + rng_range(r, 20); /* few significant bits: halfway and exact cases */
        mant = (mant | 1ull << 63) & ~((1ull << rng_range(r, 64)) - 1);
        mant |= rng_range(r, 2) ? 1ull << rng_range(r, 64) : 0;
        mant |= 1ull << 63;
        break;
    case 10:
        exp = 0x3FFF - 16450 / 2 + rng_range(r, 16450);
        mant |= 1ull << 63;
        break; /* any */
    case 11:
        exp = 0x3FFF + rng_range(r, 64);
        mant |= 1ull << 63;
        break; /* integers */
    default:
        exp = 0x3FFF - 20 + rng_range(r, 40);
        mant |= 1ull << 63;
        break; /* ordinary */
    }
    return (F80){mant, (uint16_t)(exp | sign << 15)};
}

typedef enum {
    K_OP,
    K_MEM,
    K_LOAD32,
    K_LOAD64,
    K_LOADINT,
    K_STORE32,
    K_STORE64,
    K_STOREINT,
    K_CONST,
    K_KINDS
} Kind;

static const char *const op_names[] = {
    "fadd",   "fsub",    "fsubr",   "fmul",  "fdiv",    "fdivr", "fprem", "fprem1", "fscale",
    "fpatan", "fyl2x",   "fyl2xp1", "fsqrt", "frndint", "fsin",  "fcos",  "f2xm1",  "fsincos",
    "fptan",  "fxtract", "fcom",    "fucom", "ftst",    "fxam",  "fcomi", "fucomi"};
#define NOPS ((int)(sizeof op_names / sizeof op_names[0]))
static const char *const kind_names[] = {"",        "mem",     "fld m32", "fld m64", "fild",
                                         "fst m32", "fst m64", "fist",    "fldconst"};
static const char *const mem_names[] = {"m32fp", "m64fp", "m16int", "m32int"};

static bool transcendental(int op) {
    return op == FOP_SIN || op == FOP_COS || op == FOP_SINCOS || op == FOP_PTAN ||
           op == FOP_PATAN || op == FOP_F2XM1 || op == FOP_YL2X || op == FOP_YL2XP1;
}

/* Per operation: [0] disallowed differences, [1] last-bit, [2] outside the
 * SDM's domain, [3] all cases tried. */
#define NCLASS 64
#define CLASS_NAME_LEN 48 /* room for any name count_class is given */
static struct {
    char name[CLASS_NAME_LEN];
    unsigned long long count[4];
} classes[NCLASS];
static int nclasses;

static void count_class(const char *name, int cls) {
    int i = 0;
    for (; i < nclasses; i++)
        if (strcmp(classes[i].name, name) == 0) break;
    if (i == nclasses) {
        if (nclasses == NCLASS)
            i = NCLASS - 1;
        else
            snprintf(classes[nclasses++].name, sizeof classes[0].name, "%s", name);
    }
    classes[i].count[cls]++;
}

static bool f80_eq(const F80 *x, const F80 *y) {
    return x->mant == y->mant && x->se == y->se;
}

static bool one_ulp(const F80 *x, const F80 *y) {
    if (x->se != y->se) {
        /* a carry into the exponent: 1.111..1 x 2^e vs 1.000..0 x 2^(e+1) */
        const F80 *lo = (x->se & 0x7FFF) < (y->se & 0x7FFF) ? x : y, *hi = lo == x ? y : x;
        return (lo->se & 0x8000) == (hi->se & 0x8000) &&
               (hi->se & 0x7FFF) == (lo->se & 0x7FFF) + 1 && lo->mant == ~0ull &&
               hi->mant == 1ull << 63;
    }
    uint64_t d = x->mant > y->mant ? x->mant - y->mant : y->mant - x->mant;
    return d == 1;
}

/* Outside the SDM's domain: F2XM1 for |x| > 1, FYL2XP1 for |x| >= 1 - sqrt(2)/2. */
static bool outside_domain(int op, const F80 *a) {
    unsigned e = a->se & 0x7FFF;
    if (e == 0x7FFF || e == 0) return false;
    if (op == FOP_F2XM1) return e > 0x3FFF || (e == 0x3FFF && a->mant != 1ull << 63);
    if (op == FOP_YL2XP1) return e >= 0x3FFD && !(e == 0x3FFD && a->mant < 0x95F619980C4336F7ull);
    return false;
}

static void show(const char *label, uint16_t sw, const F80 *r, const F80 *r2) {
    printf("    %-5s sw %04x r %04x:%016llx", label, sw, r->se, (unsigned long long)r->mant);
    if (r2) printf(" r2 %04x:%016llx", r2->se, (unsigned long long)r2->mant);
    printf("\n");
}

static unsigned long long backend_failures, unmasked_ops, unmasked_failures;

/* The soft backend follows the Intel P6 where the SDM leaves the details of
 * unmasked exceptions open (measured on an Intel host); another vendor's
 * x87 is no oracle for those, so they are compared on Intel hosts only. */
static bool compare_unmasked = true;

static bool host_is_intel(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return false;
    return b == 0x756E6547u && d == 0x49656E69u && c == 0x6C65746Eu; /* "GenuineIntel" */
}

static void compare_one(Rng *rng, bool verbose) {
    static const uint16_t pcs[3] = {0x000, 0x200, 0x300};
    /* Half the operations with some exceptions unmasked, mostly OE and UE. */
    uint16_t masks = 0x3F;
    if (rng_range(rng, 2) && compare_unmasked) {
        masks = (uint16_t)(rng_range(rng, 0x40) & 0x3F);
        if (rng_range(rng, 4)) masks &= (uint16_t) ~(FSW_OE | FSW_UE);
    }
    uint16_t cw = (uint16_t)(0x40 | masks | pcs[rng_range(rng, 3)] | rng_range(rng, 4) << 10);
    uint16_t sw = (uint16_t)(rng_range(rng, 16) & 7) << 8 | (rng_range(rng, 2) ? FSW_C3 : 0);
    F80 a = rand_value(rng), b = rand_value(rng);
    if (rng_range(rng, 8) == 0) { /* b close to a: cancellation, ties, equal operands */
        b = a;
        if (rng_range(rng, 2)) b.mant ^= rng_next(rng) >> rng_range(rng, 64);
        if (rng_range(rng, 2)) b.se = (uint16_t)(b.se + rng_range(rng, 3) - 1);
        if (rng_range(rng, 2)) b.se ^= 0x8000;
    }
    F80 rh = {0, 0}, rs = {0, 0}, r2h = {0, 0}, r2s = {0, 0};
    uint16_t swh = 0, sws = 0;
    uint32_t flh = 0, fls = 0;
    uint64_t bh = 0, bs = 0;
    int64_t ih = 0, is = 0;
    char name[CLASS_NAME_LEN];
    int op = -1;
    bool two = false;
    Kind kind = (Kind)rng_range(rng, 100);
    kind = kind < 60 ? K_OP : kind < 72 ? K_MEM : (Kind)(2 + (kind - 72) % 7);
    const FpuBackend *H = &fpu_backend_x87, *S = &fpu_backend_soft;
    switch (kind) {
    case K_OP:
        op = (int)rng_range(rng, NOPS);
        swh = H->op((FpuOp)op, cw, sw, &a, &b, &rh, &r2h, &flh);
        sws = S->op((FpuOp)op, cw, sw, &a, &b, &rs, &r2s, &fls);
        snprintf(name, sizeof name, "%s", op_names[op]);
        two = op == FOP_SINCOS || op == FOP_PTAN || op == FOP_XTRACT;
        if (op >= FOP_COM) rh = rs = r2h = r2s = (F80){0, 0};
        if (!two) r2h = r2s = (F80){0, 0};
        if ((op == FOP_SIN || op == FOP_COS || op == FOP_SINCOS || op == FOP_PTAN) &&
            (swh & FSW_C2))
            rh = rs = r2h = r2s = (F80){0, 0}; /* out of range: nothing stored */
        break;
    case K_MEM: {
        static const FpuOp mops[7] = {FOP_ADD,  FOP_MUL, FOP_COM, FOP_SUB,
                                      FOP_SUBR, FOP_DIV, FOP_DIVR};
        op = mops[rng_range(rng, 7)];
        FpuMemKind mk = (FpuMemKind)rng_range(rng, 4);
        uint64_t bits = rng_next(rng);
        if (mk == FPU_M32FP && rng_range(rng, 2)) { /* special float32 encodings */
            static const uint32_t sp[] = {0,          0x7F800000, 0x7FC00001, 0x7F800001,
                                          0x00000001, 0x007FFFFF, 0x3F800000};
            bits = sp[rng_range(rng, 7)] | (uint32_t)rng_range(rng, 2) << 31;
        } else if (mk == FPU_M64FP && rng_range(rng, 2)) {
            static const uint64_t sp[] = {
                0, 0x7FF0000000000000ull, 0x7FF8000000000001ull, 0x7FF0000000000001ull,
                1, 0x000FFFFFFFFFFFFFull, 0x3FF0000000000000ull};
            bits = sp[rng_range(rng, 7)] | (uint64_t)rng_range(rng, 2) << 63;
        }
        if (mk == FPU_M16INT) bits = (uint64_t)(int64_t)(int16_t)bits;
        if (mk == FPU_M32INT) bits = (uint64_t)(int64_t)(int32_t)bits;
        swh = H->op_mem((FpuOp)op, cw, sw, &a, mk, bits, &rh);
        sws = S->op_mem((FpuOp)op, cw, sw, &a, mk, bits, &rs);
        if (op == FOP_COM) rh = rs = (F80){0, 0};
        snprintf(name, sizeof name, "%s %s", op_names[op], mem_names[mk]);
        b = (F80){bits, 0xEEEE}; /* shown as the operand in reports */
        break;
    }
    case K_LOAD32: {
        uint32_t v = (uint32_t)rng_next(rng);
        if (rng_range(rng, 2)) v = (v & 0x807FFFFF) | (rng_range(rng, 2) ? 0x7F800000 : 0);
        swh = H->load32(cw, v, &rh);
        sws = S->load32(cw, v, &rs);
        snprintf(name, sizeof name, "%s", kind_names[kind]);
        break;
    }
    case K_LOAD64: {
        uint64_t v = rng_next(rng);
        if (rng_range(rng, 2))
            v = (v & 0x800FFFFFFFFFFFFFull) | (rng_range(rng, 2) ? 0x7FF0000000000000ull : 0);
        swh = H->load64(cw, v, &rh);
        sws = S->load64(cw, v, &rs);
        snprintf(name, sizeof name, "%s", kind_names[kind]);
        break;
    }
    case K_LOADINT: {
        int64_t v = (int64_t)rng_next(rng) >> rng_range(rng, 64);
        swh = H->loadint(cw, v, &rh);
        sws = S->loadint(cw, v, &rs);
        snprintf(name, sizeof name, "%s", kind_names[kind]);
        break;
    }
    case K_STORE32: {
        uint32_t x = 0, y = 0;
        swh = H->store32(cw, &a, &x);
        sws = S->store32(cw, &a, &y);
        bh = x;
        bs = y;
        snprintf(name, sizeof name, "%s", kind_names[kind]);
        break;
    }
    case K_STORE64:
        swh = H->store64(cw, &a, &bh);
        sws = S->store64(cw, &a, &bs);
        snprintf(name, sizeof name, "%s", kind_names[kind]);
        break;
    case K_STOREINT: {
        unsigned size = 2u << rng_range(rng, 3);
        swh = H->storeint(cw, &a, size, &ih);
        sws = S->storeint(cw, &a, size, &is);
        snprintf(name, sizeof name, "fist m%uint", size * 8);
        break;
    }
    default: {
        unsigned w = rng_range(rng, 7);
        swh = H->constant(cw, w, &rh);
        sws = S->constant(cw, w, &rs);
        snprintf(name, sizeof name, "fldconst %u", w);
        break;
    }
    }
    /* What the x87 leaves alone when an exception is unmasked is not
     * compared: the result after an unmasked IE, DE or ZE (except FLD m32/m64
     * with DE: it still loads), the memory of FST/FIST after an unmasked
     * IE, OE or UE. EFLAGS of FCOMI are set even then. */
    uint16_t unmasked = swh & ~cw & FSW_EXC;
    if (kind == K_OP || kind == K_MEM) {
        if (unmasked & (FSW_IE | FSW_DE | FSW_ZE)) rh = rs = r2h = r2s = (F80){0, 0};
    } else if (kind == K_LOAD32 || kind == K_LOAD64) {
        if (unmasked & FSW_IE) rh = rs = (F80){0, 0};
    } else if (kind == K_STORE32 || kind == K_STORE64 || kind == K_STOREINT) {
        if (unmasked & (FSW_IE | FSW_OE | FSW_UE)) bh = bs = 0, ih = is = 0;
    }
    uint16_t mask = FSW_EXC | FSW_CC;
    count_class(name, 3);
    if (masks != 0x3F) unmasked_ops++;
    bool same = (swh & mask) == (sws & mask) && f80_eq(&rh, &rs) && f80_eq(&r2h, &r2s) &&
                flh == fls && bh == bs && ih == is;
    if (same) return;
    int cls = 0;
    if (kind == K_OP && transcendental(op)) {
        if (outside_domain(op, &a)) {
            cls = 2;
        } else {
            bool r_ok = f80_eq(&rh, &rs) || one_ulp(&rh, &rs);
            bool r2_ok = f80_eq(&r2h, &r2s) || one_ulp(&r2h, &r2s);
            bool sw_ok = ((swh ^ sws) & mask & ~(FSW_C1 | FSW_PE | FSW_UE)) == 0;
            if (r_ok && r2_ok && sw_ok) cls = 1;
        }
    }
    count_class(name, cls);
    if (cls == 0) backend_failures++;
    if (cls == 0 && masks != 0x3F) unmasked_failures++;
    if (cls == 0 || (verbose && cls == 1 && getenv("BT86_DIFF_SHOW_LASTBIT"))) {
        if (backend_failures <= 20 || verbose) {
            printf("BACKEND DIFFERENCE %s: cw %04x sw %04x a %04x:%016llx b %04x:%016llx\n", name,
                   cw, sw, a.se, (unsigned long long)a.mant, b.se, (unsigned long long)b.mant);
            show("host", swh, &rh, two ? &r2h : NULL);
            show("soft", sws, &rs, two ? &r2s : NULL);
            if (bh != bs || ih != is || flh != fls)
                printf("    host bits %016llx int %lld eflags %x / soft bits %016llx int %lld "
                       "eflags %x\n",
                       (unsigned long long)bh, (long long)ih, flh, (unsigned long long)bs,
                       (long long)is, fls);
        }
    }
}

/* ---- part 2: classifying divergences of whole instructions ---- */

static const struct {
    uint8_t modrm;
    int op;
} transcendental_insns[] = {{0xF0, FOP_F2XM1}, {0xF1, FOP_YL2X},   {0xF2, FOP_PTAN},
                            {0xF3, FOP_PATAN}, {0xF9, FOP_YL2XP1}, {0xFB, FOP_SINCOS},
                            {0xFE, FOP_SIN},   {0xFF, FOP_COS}};

static F80 image_reg(const uint8_t *img, int i) {
    const uint8_t *p = img + 28 + 10 * i;
    F80 v = {0, (uint16_t)(p[8] | p[9] << 8)};
    for (int k = 7; k >= 0; k--)
        v.mant = v.mant << 8 | p[k];
    return v;
}

static unsigned long long insn_failures;

static bool divergence_allowed(const uint8_t *insn, int len, const uint8_t *before,
                               const uint8_t *host, const uint8_t *bt86) {
    int op = -1;
    if ((len == 2 || (len == 7 && insn[2] == 0xDD)) &&
        insn[0] == 0xD9) /* with FNSTSW, FNCLEX in unmasked mode */
        for (size_t i = 0; i < sizeof transcendental_insns / sizeof transcendental_insns[0]; i++)
            if (transcendental_insns[i].modrm == insn[1]) op = transcendental_insns[i].op;
    char name[CLASS_NAME_LEN];
    snprintf(name, sizeof name, "insn %s", op >= 0 ? op_names[op] : "other");
    if (op < 0) {
        count_class(name, 0);
        return false;
    }
    F80 st0 = image_reg(before, 0);
    if (outside_domain(op, &st0)) {
        count_class(name, 2);
        return true;
    }
    uint16_t swh = (uint16_t)(host[4] | host[5] << 8), swb = (uint16_t)(bt86[4] | bt86[5] << 8);
    uint16_t cw = (uint16_t)(host[0] | host[1] << 8);
    uint16_t loose = FSW_C1 | FSW_PE | FSW_UE;
    if ((swh ^ swb) & ~cw & (FSW_PE | FSW_UE))
        loose |= FSW_ES | FSW_B; /* an unmasked PE or UE more */
    bool ok = ((swh ^ swb) & ~loose) == 0 && memcmp(host, bt86, 4) == 0 &&
              memcmp(host + 8, bt86 + 8, 2) == 0;
    for (int i = 0; i < 8 && ok; i++) {
        F80 h = image_reg(host, i), b = image_reg(bt86, i);
        ok = f80_eq(&h, &b) || one_ulp(&h, &b);
    }
    count_class(name, ok ? 1 : 0);
    if (!ok) insn_failures++;
    return ok;
}

int run_x87_soft_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                        DiffResult *res) {
    Rng rng = {seed * 0x9E3779B97F4A7C15ULL + 87};
    compare_unmasked = host_is_intel();
    if (!compare_unmasked)
        printf("diff-x87-soft: the host x87 is not Intel's: cases with unmasked exceptions are "
               "not compared (vendor-specific details)\n");
    printf("diff-x87-soft: part 1, %llu backend operations, soft vs host x87\n", count);
    for (unsigned long long i = 0; i < count; i++)
        compare_one(&rng, verbose);
    printf("differences by operation (cases: disallowed / last-bit / outside the SDM domain):\n");
    for (int i = 0; i < nclasses; i++)
        if (classes[i].count[0] || classes[i].count[1] || classes[i].count[2])
            printf("  %-20s %7llu: %llu / %llu / %llu\n", classes[i].name, classes[i].count[3],
                   classes[i].count[0], classes[i].count[1], classes[i].count[2]);
    printf("part 1: %llu operations, %llu disallowed differences; %llu operations with unmasked "
           "exceptions, %llu of them differed\n",
           count, backend_failures, unmasked_ops, unmasked_failures);
    res->failed += backend_failures;
    res->passed += count - backend_failures;
    if (!fpu_select_backend("soft")) return DIFF_SKIP;
    printf("diff-x87-soft: part 2, x87 instruction sequences in bt86 with the soft backend\n");
    nclasses = 0;
    memset(classes, 0, sizeof classes);
    x87_divergence_allowed = divergence_allowed;
    x87_unmasked_sequences = compare_unmasked;
    int rc = run_x87_oracle(count, seed, verbose, res);
    x87_unmasked_sequences = true;
    x87_divergence_allowed = NULL;
    fpu_select_backend("host");
    printf(
        "part 2: divergences by first diverging instruction (disallowed / last-bit / outside the "
        "SDM domain):\n");
    for (int i = 0; i < nclasses; i++)
        printf("  %-20s %llu / %llu / %llu\n", classes[i].name, classes[i].count[0],
               classes[i].count[1], classes[i].count[2]);
    return rc;
}

#else
int run_x87_soft_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                        DiffResult *res) {
    (void)count;
    (void)seed;
    (void)verbose;
    (void)res;
    printf("diff-x87-soft: skipped: needs an x86-64 host\n");
    return DIFF_SKIP;
}
#endif
