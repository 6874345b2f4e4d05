/*
 * ops_fpu.c - the x87 instructions (escape opcodes D8-DF) and FWAIT.
 *
 * The register stack, tags, control/status words, instruction and operand
 * pointers live in cpu->fpu (fpu.h); arithmetic is done by the backend
 * (fpu.h: host x87 or soft), one operation on 80-bit values at a time. This file decodes
 * the escape opcodes, reads and writes the memory formats (16/32/64-bit
 * integers, 32/64/80-bit reals, 18-digit packed BCD, the 14/28-byte
 * environment and the 94/108-byte state in real and protected layouts),
 * detects stack overflow and underflow, and signals exceptions:
 *  - masked exceptions produce the default result (the backend computes it);
 *  - an unmasked exception sets ES and B; the next waiting FPU instruction
 *    (or FWAIT) then raises #MF when CR0.NE = 1, or asserts FERR# (IRQ 13
 *    through cpu->ferr) when CR0.NE = 0;
 *  - with an unmasked invalid, denormal or zero-divide exception the
 *    destination and the stack are left unchanged, as the SDM specifies;
 *  - with an unmasked overflow or underflow, a register destination gets
 *    the result rounded with an unbounded exponent and then divided (#O) or
 *    multiplied (#U) by 2^24576, which the backend computes (the backend
 *    sees the guest's masks); FST/FSTP m32/m64 leave memory and the stack
 *    unchanged, set only OE or UE (no PE) and clear C1.
 * CR0.EM or CR0.TS make every escape raise #NM (FWAIT: when MP and TS).
 * FXSAVE/FXRSTOR (0F AE /0 /1) save and restore the same state in the
 * 512-byte FXSAVE layout.
 *
 * Faults on memory operands happen before the FPU state changes.
 */
#include <string.h>

#include "cpu/fpu.h"
#include "cpu/ops.h"
#include "cpu/sse.h"

#define FPU (cpu->fpu)

static const F80 f80_indefinite = {0xC000000000000000ull, 0xFFFF};

/* ---------------- stack and tags ---------------- */

static unsigned phys(const CPU *cpu, unsigned i) {
    return (FPU.top + i) & 7;
}
static unsigned tag_get(const CPU *cpu, unsigned p) {
    return (FPU.tw >> (2 * p)) & 3;
}
static void tag_set(CPU *cpu, unsigned p, unsigned t) {
    FPU.tw = (uint16_t)((FPU.tw & ~(3u << (2 * p))) | (t & 3) << (2 * p));
}

/* Tag for a value: 0 valid, 1 zero, 2 special (NaN, infinity, denormal, unsupported). */
static unsigned tag_of(const F80 *v) {
    unsigned exp = v->se & 0x7FFF;
    if (exp == 0x7FFF) return 2;
    if (exp == 0) return v->mant == 0 ? 1 : 2;
    return (v->mant >> 63) ? 0 : 2; /* unnormal */
}

static bool st_empty(const CPU *cpu, unsigned i) {
    return tag_get(cpu, phys(cpu, i)) == 3;
}
static F80 *st(CPU *cpu, unsigned i) {
    return &FPU.regs[phys(cpu, i)];
}

static void st_set(CPU *cpu, unsigned i, const F80 *v) {
    unsigned p = phys(cpu, i);
    FPU.regs[p] = *v;
    tag_set(cpu, p, tag_of(v));
}

static void fpu_pop(CPU *cpu) {
    tag_set(cpu, FPU.top, 3);
    FPU.top = (FPU.top + 1) & 7;
}

static void fpu_push(CPU *cpu, const F80 *v) {
    FPU.top = (FPU.top - 1) & 7;
    st_set(cpu, 0, v);
}

uint16_t fpu_status_word(const CPU *cpu) {
    return (uint16_t)((FPU.sw & ~0x3800) | (FPU.top & 7) << 11);
}

void fpu_reset(CPU *cpu) { /* FNINIT */
    FPU.cw = 0x037F;
    FPU.sw = 0;
    FPU.tw = 0xFFFF;
    FPU.top = 0;
    FPU.fop = 0;
    FPU.fip = FPU.fdp = 0;
    FPU.fcs = FPU.fds = 0;
}

/* ---------------- exceptions ---------------- */

/* Merge exception flags; returns true when an unmasked IE/DE/ZE forbids
 * writing the destination. */
static bool fpu_signal(CPU *cpu, uint16_t flags) {
    flags &= FSW_EXC | FSW_SF;
    FPU.sw |= flags;
    uint16_t unmasked = flags & ~FPU.cw & FSW_EXC;
    if (unmasked) FPU.sw |= FSW_ES | FSW_B;
    return (unmasked & (FSW_IE | FSW_DE | FSW_ZE)) != 0;
}

/* Stack overflow (push onto a full register) or underflow (read of an
 * empty one): IE + SF, C1 says which. Returns true when unmasked. */
static bool stack_fault(CPU *cpu, bool overflow) {
    if (overflow)
        FPU.sw |= FSW_C1;
    else
        FPU.sw &= ~FSW_C1;
    return fpu_signal(cpu, FSW_IE | FSW_SF);
}

/* Condition codes from the backend's status word. */
static void set_cc(CPU *cpu, uint16_t host_sw, uint16_t which) {
    FPU.sw = (uint16_t)((FPU.sw & ~which) | (host_sw & which));
}

void fpu_check_pending(CPU *cpu) {
    if (!(FPU.sw & FSW_ES)) return;
    if (cpu->cr0 & CR0_NE) cpu_raise(cpu, EXC_MF, -1);
    if (cpu->ferr) cpu->ferr(cpu->ferr_opaque, 1); /* FERR#: IRQ 13 on a PC */
    cpu->block_break = true;                       /* an interrupt may now be pending */
}

/* ---------------- memory operands ---------------- */

static uint32_t ea_at(const Insn *in, uint32_t ea, uint32_t off) {
    return (ea + off) & (in->asize == 2 ? 0xFFFFu : 0xFFFFFFFFu);
}

/* Host pointer to the n operand bytes at offset off when they lie in one
 * RAM page and inside the segment (no wrap, no data breakpoint): the
 * common case, one check instead of one per byte. NULL otherwise (then the
 * byte-wise path below raises what is due). May raise #PF as the first
 * byte's access would. */
static uint8_t *mem_host_bytes(CPU *cpu, const Insn *in, uint32_t off, unsigned n, int acc) {
    uint32_t first = ea_at(in, insn_ea(cpu, in), off);
    if (in->asize == 2 && first + n - 1 > 0xFFFFu) return NULL;
    if (debug_data_armed(cpu) || !seg_range_ok(cpu, in->seg, first, n, acc)) return NULL;
    return lin_host_range(cpu, cpu->seg[in->seg].base + first, n, acc);
}

/* memcpy with the operand sizes spelled out: a variable length compiles
 * to REP MOVS, whose start-up cost dominated every x87 memory operand. */
static void copy_operand(uint8_t *dst, const uint8_t *src, unsigned n) {
    switch (n) {
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    case 10: memcpy(dst, src, 10); break;
    default: memcpy(dst, src, n); break;
    }
}

static void mem_read_bytes(CPU *cpu, const Insn *in, uint32_t off, uint8_t *buf, unsigned n) {
    const uint8_t *host = mem_host_bytes(cpu, in, off, n, ACC_R);
    if (host) {
        copy_operand(buf, host, n);
        return;
    }
    uint32_t ea = insn_ea(cpu, in);
    for (unsigned i = 0; i < n; i++)
        buf[i] = (uint8_t)mem_read(cpu, in->seg, ea_at(in, ea, off + i), 1);
}

/* Check the whole destination first so that a fault leaves memory untouched. */
static void mem_write_bytes(CPU *cpu, const Insn *in, uint32_t off, const uint8_t *buf,
                            unsigned n) {
    uint8_t *host = mem_host_bytes(cpu, in, off, n, ACC_W);
    if (host) {
        copy_operand(host, buf, n);
        return;
    }
    uint32_t ea = insn_ea(cpu, in);
    for (unsigned i = 0; i < n; i++) {
        uint32_t lin = seg_lin(cpu, in->seg, ea_at(in, ea, off + i), 1, ACC_W);
        lin_probe_write(cpu, lin, 1, ACC_W);
    }
    for (unsigned i = 0; i < n; i++)
        mem_write(cpu, in->seg, ea_at(in, ea, off + i), 1, buf[i]);
}

static uint64_t le_get(const uint8_t *b, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}
static void le_put(uint8_t *b, unsigned n, uint64_t v) {
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static F80 f80_from_bytes(const uint8_t *b) {
    return (F80){le_get(b, 8), (uint16_t)le_get(b + 8, 2)};
}
static void f80_to_bytes(const F80 *v, uint8_t *b) {
    le_put(b, 8, v->mant);
    le_put(b + 8, 2, v->se);
}

/* Operand of the arithmetic rows: D8 m32fp, DA m32int, DC m64fp, DE m16int. */
static FpuMemKind mem_operand(CPU *cpu, const Insn *in, uint64_t *bits) {
    uint8_t b[8];
    switch (in->op) {
    case 0xD8:
        mem_read_bytes(cpu, in, 0, b, 4);
        *bits = le_get(b, 4);
        return FPU_M32FP;
    case 0xDC:
        mem_read_bytes(cpu, in, 0, b, 8);
        *bits = le_get(b, 8);
        return FPU_M64FP;
    case 0xDA:
        mem_read_bytes(cpu, in, 0, b, 4);
        *bits = le_get(b, 4);
        return FPU_M32INT;
    default:
        mem_read_bytes(cpu, in, 0, b, 2);
        *bits = le_get(b, 2);
        return FPU_M16INT;
    }
}

/* ---------------- the operations ---------------- */

/* The pointers an FPU instruction leaves behind (not for control instructions). */
static void record_pointers_ea(CPU *cpu, const Insn *in, uint32_t ea) {
    FPU.fip = cpu->eip;
    FPU.fcs = cpu->seg[SEG_CS].sel;
    FPU.fop = (uint16_t)(((in->op & 7) << 8) | in->modrm);
    if (in->is_mem) {
        FPU.fdp = ea;
        FPU.fds = cpu->seg[in->seg].sel;
    }
}
static void record_pointers(CPU *cpu, const Insn *in) {
    record_pointers_ea(cpu, in, in->is_mem ? insn_ea(cpu, in) : 0);
}

/* ST(dst) = ST(0) op src (arith rows 0,1,4,5,6,7 via the reg field). */
static FpuOp arith_op(unsigned reg) {
    static const FpuOp ops[8] = {FOP_ADD, FOP_MUL,  FOP_COM, FOP_COM,
                                 FOP_SUB, FOP_SUBR, FOP_DIV, FOP_DIVR};
    return ops[reg];
}

/* dst := a op b, writing ST(dst_index), then pop if asked. */
static void arith(CPU *cpu, FpuOp op, const F80 *a, const F80 *b, unsigned dst, bool pop) {
    F80 r;
    uint16_t hsw = fpu_host_op(op, FPU.cw, FPU.sw, a, b, &r, NULL, NULL);
    set_cc(cpu, hsw, FSW_CC); /* also when an unmasked exception aborts */
    if (fpu_signal(cpu, hsw)) return;
    st_set(cpu, dst, &r);
    if (pop) fpu_pop(cpu);
}

/* FCOM family: compare ST(0) with b; pops = 0, 1 or 2. */
static void compare(CPU *cpu, FpuOp op, const F80 *b, unsigned pops) {
    uint16_t hsw = fpu_host_op(op, FPU.cw, FPU.sw, st(cpu, 0), b, NULL, NULL, NULL);
    set_cc(cpu, hsw, FSW_CC); /* also when an unmasked exception aborts */
    if (fpu_signal(cpu, hsw)) return;
    while (pops--)
        fpu_pop(cpu);
}

/* A compare with an empty operand: stack fault; the condition codes (or
 * EFLAGS) say "unordered" even when the fault is unmasked. Returns true when
 * the fault is unmasked (no pop). */
static bool compare_unordered_stack_fault(CPU *cpu, bool eflags_form) {
    bool unmasked = stack_fault(cpu, false);
    if (eflags_form)
        flags_set_arith(cpu, FL_ZF | FL_PF | FL_CF, FL_ARITH);
    else
        FPU.sw |= FSW_C0 | FSW_C2 | FSW_C3;
    return unmasked;
}

static void fcomi(CPU *cpu, unsigned i, bool quiet, bool pop) {
    if (st_empty(cpu, 0) || st_empty(cpu, i)) {
        if (!compare_unordered_stack_fault(cpu, true) && pop) fpu_pop(cpu);
        return;
    }
    uint32_t fl = 0;
    uint16_t hsw = fpu_host_op(quiet ? FOP_UCOMI : FOP_COMI, FPU.cw, FPU.sw, st(cpu, 0), st(cpu, i),
                               NULL, NULL, &fl);
    set_cc(cpu, hsw, FSW_CC);
    flags_set_arith(cpu, fl,
                    FL_ARITH); /* ZF, PF, CF as compared (even when unmasked); OF, SF, AF cleared */
    if (fpu_signal(cpu, hsw)) return;
    if (pop) fpu_pop(cpu);
}

/* Store ST(0) to memory in the given real/integer format; pop if asked. */
static void store_st0(CPU *cpu, const Insn *in, unsigned kind, unsigned size, bool pop) {
    uint8_t b[10];
    uint16_t hsw = 0;
    if (st_empty(cpu, 0)) {
        if (stack_fault(cpu, false)) return;
        /* masked: store the indefinite of the format */
        if (kind == 'f') {
            if (size == 4)
                le_put(b, 4, 0xFFC00000u);
            else if (size == 8)
                le_put(b, 8, 0xFFF8000000000000ull);
            else
                f80_to_bytes(&f80_indefinite, b);
        } else {
            le_put(b, size, (uint64_t)1 << (8 * size - 1));
        }
        mem_write_bytes(cpu, in, 0, b, size);
        if (pop) fpu_pop(cpu);
        return;
    }
    const F80 *v = st(cpu, 0);
    if (kind == 'f') {
        if (size == 4) {
            uint32_t bits;
            hsw = fpu_host_store32(FPU.cw, v, &bits);
            le_put(b, 4, bits);
        } else if (size == 8) {
            uint64_t bits;
            hsw = fpu_host_store64(FPU.cw, v, &bits);
            le_put(b, 8, bits);
        } else {
            f80_to_bytes(v, b); /* exact, no exceptions */
        }
    } else { /* 'i', or 't': FISTTP truncates whatever the rounding control says */
        int64_t iv;
        hsw = fpu_host_storeint(kind == 't' ? FPU.cw | 0x0C00 : FPU.cw, v, size, &iv);
        le_put(b, size, (uint64_t)iv);
    }
    /* Unmasked IE, DE, ZE, and for a memory destination OE and UE too: no
     * store, no pop, C1 cleared. */
    uint16_t unmasked = hsw & ~FPU.cw & (FSW_IE | FSW_DE | FSW_ZE | FSW_OE | FSW_UE);
    if (!unmasked) mem_write_bytes(cpu, in, 0, b, size); /* may fault: state untouched so far */
    fpu_signal(cpu, hsw);
    if (unmasked) {
        FPU.sw &= ~FSW_C1;
        return;
    }
    set_cc(cpu, hsw, FSW_C1);
    if (pop) fpu_pop(cpu);
}

/* DF /1, DB /1, DD /1: FISTTP m16/m32/m64 (SSE3): FISTP with truncation.
 * Only on models with SSE3: the decoder's "needs" column raises #UD on the
 * others (decode.c). */
static void fisttp(CPU *cpu, const Insn *in, unsigned size) {
    store_st0(cpu, in, 't', size, true);
}

static void load_push(CPU *cpu, const F80 *v, uint16_t flags) {
    if (!st_empty(cpu, 7)) { /* the register below TOP is in use: overflow */
        if (stack_fault(cpu, true)) return;
        fpu_push(cpu, &f80_indefinite);
        return;
    }
    fpu_signal(cpu, flags);
    if (flags & ~FPU.cw & FSW_IE) return; /* an unmasked DE still loads (as the x87 does) */
    FPU.sw &= ~FSW_C1;
    fpu_push(cpu, v);
}

/* ---- packed BCD ---- */

/* Packed BCD to integer. Digits above 9 are undefined by the SDM; the x87
 * weighs each nibble by its power of ten anyway, and so does this. */
static int64_t bcd_to_int(const uint8_t *b) {
    int64_t x = 0;
    for (int i = 8; i >= 0; i--)
        x = x * 100 + (b[i] >> 4) * 10 + (b[i] & 0xF);
    return (b[9] & 0x80) ? -x : x;
}

static void int_to_bcd(int64_t v, uint8_t *b) {
    uint64_t m = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    for (int i = 0; i < 9; i++) {
        unsigned lo = (unsigned)(m % 10);
        m /= 10;
        unsigned hi = (unsigned)(m % 10);
        m /= 10;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    b[9] = v < 0 ? 0x80 : 0;
}

static void fbld(CPU *cpu, const Insn *in) {
    uint8_t b[10];
    mem_read_bytes(cpu, in, 0, b, 10);
    int64_t v = bcd_to_int(b);
    F80 r;
    uint16_t hsw = fpu_host_loadint(FPU.cw, v, &r);
    if (v == 0 && (b[9] & 0x80)) r.se |= 0x8000; /* -0 */
    load_push(cpu, &r, hsw);
}

static void fbstp(CPU *cpu, const Insn *in) {
    uint8_t b[10];
    if (st_empty(cpu, 0)) {
        if (stack_fault(cpu, false)) return;
        static const uint8_t indefinite[10] = {0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF};
        mem_write_bytes(cpu, in, 0, indefinite, 10);
        fpu_pop(cpu);
        return;
    }
    /* The value: rounded to an integer per RC. The flags: those of storing it
     * as an integer (FBSTP reports PE, IE, but not a denormal operand). */
    F80 rounded;
    uint16_t mcw = FPU.cw | FSW_EXC; /* the helpers run masked; the flags are merged below */
    uint16_t rsw = fpu_host_op(FOP_RNDINT, mcw, FPU.sw, st(cpu, 0), NULL, &rounded, NULL, NULL);
    int64_t v, ignored;
    uint16_t isw = fpu_host_storeint(mcw, &rounded, 8, &v);
    uint16_t hsw =
        (uint16_t)((fpu_host_storeint(mcw, st(cpu, 0), 8, &ignored) & (FSW_PE | FSW_IE)) |
                   (isw & FSW_IE) | (rsw & FSW_C1));
    if ((rounded.se & 0x7FFF) == 0x7FFF || v > 999999999999999999LL || v < -999999999999999999LL) {
        hsw = (uint16_t)(hsw | FSW_IE);
        static const uint8_t indefinite[10] = {0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF};
        memcpy(b, indefinite, 10);
    } else {
        int_to_bcd(v, b);
        if (v == 0 && (st(cpu, 0)->se & 0x8000)) b[9] = 0x80;
    }
    if (!(hsw & ~FPU.cw & FSW_IE)) mem_write_bytes(cpu, in, 0, b, 10);
    if (fpu_signal(cpu, hsw)) { /* unmasked IE: no store, no pop, C1 cleared */
        FPU.sw &= ~FSW_C1;
        return;
    }
    set_cc(cpu, hsw, FSW_C1); /* round-up indicator of the rounding to an integer */
    fpu_pop(cpu);
}

/* ---- environment and state ---- */

static bool env_pm(const CPU *cpu) {
    return cpu_pe(cpu) && !cpu_v86(cpu);
}

/* Tag word as FSTENV stores it: recomputed from the registers' contents. */
static uint16_t tag_word(CPU *cpu) {
    uint16_t tw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned t = tag_get(cpu, p) == 3 ? 3 : tag_of(&FPU.regs[p]);
        tw |= (uint16_t)(t << (2 * p));
    }
    return tw;
}

static unsigned env_size(const Insn *in) {
    return in->osize == 4 ? 28 : 14;
}

static void store_env(CPU *cpu, const Insn *in) {
    uint8_t b[28];
    memset(b, 0, sizeof b);
    uint16_t cw = FPU.cw | 0x40, sw = fpu_status_word(cpu), tw = tag_word(cpu);
    if (in->osize == 4) {
        le_put(b + 0, 2, cw);
        le_put(b + 2, 2, 0xFFFF);
        le_put(b + 4, 2, sw);
        le_put(b + 6, 2, 0xFFFF);
        le_put(b + 8, 2, tw);
        le_put(b + 10, 2, 0xFFFF);
        if (env_pm(cpu)) {
            le_put(b + 12, 4, FPU.fip);
            le_put(b + 16, 4, FPU.fcs | (uint32_t)(FPU.fop & 0x7FF) << 16);
            le_put(b + 20, 4, FPU.fdp);
            le_put(b + 24, 4, FPU.fds | 0xFFFF0000u);
        } else {
            uint32_t ip = FPU.fip + ((uint32_t)FPU.fcs << 4),
                     dp = FPU.fdp + ((uint32_t)FPU.fds << 4);
            le_put(b + 12, 4, (ip & 0xFFFF) | 0xFFFF0000u);
            le_put(b + 16, 4, (FPU.fop & 0x7FFu) | (ip & 0xFFFF0000u) >> 4);
            le_put(b + 20, 4, (dp & 0xFFFF) | 0xFFFF0000u);
            le_put(b + 24, 4, (dp & 0xFFFF0000u) >> 4);
        }
    } else {
        le_put(b + 0, 2, cw);
        le_put(b + 2, 2, sw);
        le_put(b + 4, 2, tw);
        if (env_pm(cpu)) {
            le_put(b + 6, 2, FPU.fip);
            le_put(b + 8, 2, FPU.fcs);
            le_put(b + 10, 2, FPU.fdp);
            le_put(b + 12, 2, FPU.fds);
        } else {
            uint32_t ip = FPU.fip + ((uint32_t)FPU.fcs << 4),
                     dp = FPU.fdp + ((uint32_t)FPU.fds << 4);
            le_put(b + 6, 2, ip);
            le_put(b + 8, 2, (FPU.fop & 0x7FFu) | (ip >> 4 & 0xF000));
            le_put(b + 10, 2, dp);
            le_put(b + 12, 2, dp >> 4 & 0xF000);
        }
    }
    mem_write_bytes(cpu, in, 0, b, env_size(in));
}

static void load_env_bytes(CPU *cpu, const Insn *in, const uint8_t *b) {
    bool o32 = in->osize == 4;
    FPU.cw = (uint16_t)le_get(b, 2);
    uint16_t sw = (uint16_t)le_get(b + (o32 ? 4 : 2), 2);
    uint16_t tw = (uint16_t)le_get(b + (o32 ? 8 : 4), 2);
    FPU.top = (sw >> 11) & 7;
    FPU.sw = sw & ~0x3800;
    for (unsigned p = 0; p < 8; p++) /* empty stays empty; other tags are recomputed */
        tag_set(cpu, p, ((tw >> (2 * p)) & 3) == 3 ? 3 : tag_of(&FPU.regs[p]));
    if (o32 && env_pm(cpu)) {
        FPU.fip = (uint32_t)le_get(b + 12, 4);
        FPU.fcs = (uint16_t)le_get(b + 16, 2);
        FPU.fop = (uint16_t)(le_get(b + 18, 2) & 0x7FF);
        FPU.fdp = (uint32_t)le_get(b + 20, 4);
        FPU.fds = (uint16_t)le_get(b + 24, 2);
    } else if (!o32 && env_pm(cpu)) {
        FPU.fip = (uint32_t)le_get(b + 6, 2);
        FPU.fcs = (uint16_t)le_get(b + 8, 2);
        FPU.fdp = (uint32_t)le_get(b + 10, 2);
        FPU.fds = (uint16_t)le_get(b + 12, 2);
    } else if (o32) {
        FPU.fip = (uint32_t)(le_get(b + 12, 2) | (le_get(b + 16, 4) & 0x0FFFF000u) << 4);
        FPU.fop = (uint16_t)(le_get(b + 16, 2) & 0x7FF);
        FPU.fdp = (uint32_t)(le_get(b + 20, 2) | (le_get(b + 24, 4) & 0x0FFFF000u) << 4);
        FPU.fcs = FPU.fds = 0;
    } else {
        FPU.fip = (uint32_t)(le_get(b + 6, 2) | (le_get(b + 8, 2) & 0xF000) << 4);
        FPU.fop = (uint16_t)(le_get(b + 8, 2) & 0x7FF);
        FPU.fdp = (uint32_t)(le_get(b + 10, 2) | (le_get(b + 12, 2) & 0xF000) << 4);
        FPU.fcs = FPU.fds = 0;
    }
    /* A loaded status word with an unmasked exception pending keeps ES. */
    if (FPU.sw & ~FPU.cw & FSW_EXC)
        FPU.sw |= FSW_ES | FSW_B;
    else
        FPU.sw &= ~(FSW_ES | FSW_B);
}

static void fldenv(CPU *cpu, const Insn *in) {
    uint8_t b[28];
    mem_read_bytes(cpu, in, 0, b, env_size(in));
    load_env_bytes(cpu, in, b);
}

static void fsave(CPU *cpu, const Insn *in) {
    unsigned n = env_size(in);
    uint8_t regs[80];
    for (unsigned i = 0; i < 8; i++)
        f80_to_bytes(st(cpu, i), regs + 10 * i);
    mem_write_bytes(cpu, in, n, regs, 80); /* check the register area first */
    store_env(cpu, in);
    fpu_reset(cpu);
}

static void frstor(CPU *cpu, const Insn *in) {
    uint8_t b[28 + 80];
    unsigned n = env_size(in);
    mem_read_bytes(cpu, in, 0, b, n + 80);
    FPU.top = (le_get(b + (in->osize == 4 ? 4 : 2), 2) >> 11) & 7;
    for (unsigned i = 0; i < 8; i++)
        FPU.regs[(FPU.top + i) & 7] = f80_from_bytes(b + n + 10 * i);
    load_env_bytes(cpu, in, b);
}

/* ---- FXSAVE / FXRSTOR (0F AE /0 /1) ----
 * The 512-byte image (the SDM's 32-bit layout): FCW at 0, FSW at 2, the
 * abridged tag byte at 4 (bit i set: physical register i not empty), FOP
 * at 6, FIP at 8, FCS at 12, FDP at 16, FDS at 20, MXCSR at 24 and
 * MXCSR_MASK at 28, ST(0)-ST(7) at 32 + 16 * i (10 bytes, 6 reserved
 * zero bytes), XMM0-XMM7 at 160 + 16 * i. On a model with SSE (cpu->feat,
 * never without the host's SSE unit)
 * FXSAVE stores MXCSR, MXCSR_MASK (MXCSR_MASK: DAZ supported) and the XMM
 * registers, whatever CR4.OSFXSR says, and FXRSTOR loads them, raising
 * #GP(0) for an MXCSR with reserved bits set (before any state changes).
 * Without SSE, FXSAVE stores MXCSR as its reset value 0x1F80 and a mask
 * of 0 and leaves the XMM area untouched, and FXRSTOR ignores them. Bytes
 * 288-511 (reserved and software-available) are neither written nor read.
 * The operand must be 16-byte aligned (#GP(0)); FXSAVE leaves the FPU
 * state as it is. */
#define FXSAVE_SIZE 512
#define FXSAVE_X87  160 /* the x87 bytes FXSAVE writes and FXRSTOR reads */
#define FXSAVE_SSE  288 /* with the XMM registers */

static uint32_t fxsave_area(CPU *cpu, const Insn *in, int acc) {
    if (cpu->cr0 & (CR0_EM | CR0_TS)) cpu_raise(cpu, EXC_NM, -1);
    if (!fpu_backend_available() || !in->is_mem) cpu_ud(cpu);
    uint32_t lin = seg_lin(cpu, in->seg, insn_ea(cpu, in), FXSAVE_SIZE, acc);
    if (lin & 15) cpu_gp0(cpu);
    return lin;
}

void op_fxsave(CPU *cpu, const Insn *in) {
    uint32_t lin = fxsave_area(cpu, in, ACC_W);
    lin_probe_write(cpu, lin, FXSAVE_SIZE, ACC_W);
    uint8_t b[FXSAVE_SSE];
    bool sse = (cpu->feat.edx1 & CPUID_SSE) != 0;
    unsigned n = sse ? FXSAVE_SSE : FXSAVE_X87;
    memset(b, 0, sizeof b);
    uint8_t abridged = 0;
    for (unsigned p = 0; p < 8; p++)
        if (tag_get(cpu, p) != 3) abridged |= (uint8_t)(1u << p);
    le_put(b + 0, 2, FPU.cw);
    le_put(b + 2, 2, fpu_status_word(cpu));
    b[4] = abridged;
    le_put(b + 6, 2, FPU.fop & 0x7FF);
    le_put(b + 8, 4, FPU.fip);
    le_put(b + 12, 2, FPU.fcs);
    le_put(b + 16, 4, FPU.fdp);
    le_put(b + 20, 2, FPU.fds);
    le_put(b + 24, 4, sse ? cpu->mxcsr : MXCSR_RESET);
    le_put(b + 28, 4, sse ? MXCSR_MASK : 0);
    for (unsigned i = 0; i < 8; i++)
        f80_to_bytes(st(cpu, i), b + 32 + 16 * i);
    for (unsigned i = 0; i < 8 && sse; i++)
        memcpy(b + FXSAVE_X87 + 16 * i, cpu->xmm[i].b, 16);
    for (unsigned k = 0; k < n; k += 4)
        lin_write(cpu, lin + k, 4, (uint32_t)le_get(b + k, 4), ACC_W);
}

void op_fxrstor(CPU *cpu, const Insn *in) {
    uint32_t lin = fxsave_area(cpu, in, ACC_R);
    uint8_t b[FXSAVE_SSE];
    bool sse = (cpu->feat.edx1 & CPUID_SSE) != 0;
    unsigned n = sse ? FXSAVE_SSE : FXSAVE_X87;
    lin_read(cpu, lin + FXSAVE_SIZE - 4, 4, ACC_R); /* the whole operand is checked first */
    for (unsigned k = 0; k < n; k += 4)
        le_put(b + k, 4, lin_read(cpu, lin + k, 4, ACC_R));
    if (sse) {
        uint32_t mxcsr = (uint32_t)le_get(b + 24, 4);
        if (mxcsr & ~MXCSR_MASK) cpu_gp0(cpu);
        cpu->mxcsr = mxcsr;
        for (unsigned i = 0; i < 8; i++)
            memcpy(cpu->xmm[i].b, b + FXSAVE_X87 + 16 * i, 16);
    }
    uint16_t sw = (uint16_t)le_get(b + 2, 2);
    FPU.cw = (uint16_t)le_get(b, 2);
    FPU.top = (sw >> 11) & 7;
    FPU.sw = sw & ~0x3800;
    FPU.fop = (uint16_t)(le_get(b + 6, 2) & 0x7FF);
    FPU.fip = (uint32_t)le_get(b + 8, 4);
    FPU.fcs = (uint16_t)le_get(b + 12, 2);
    FPU.fdp = (uint32_t)le_get(b + 16, 4);
    FPU.fds = (uint16_t)le_get(b + 20, 2);
    for (unsigned i = 0; i < 8; i++)
        FPU.regs[(FPU.top + i) & 7] = f80_from_bytes(b + 32 + 16 * i);
    for (unsigned p = 0; p < 8; p++)
        tag_set(cpu, p, (b[4] >> p & 1) ? tag_of(&FPU.regs[p]) : 3);
    /* A restored status word with an unmasked exception flag keeps ES. */
    if (FPU.sw & ~FPU.cw & FSW_EXC)
        FPU.sw |= FSW_ES | FSW_B;
    else
        FPU.sw &= ~(FSW_ES | FSW_B);
}

/* ---------------- dispatch ---------------- */

/* Instructions that do not check for pending exceptions (the FN forms). */
static bool no_wait(const Insn *in) {
    if (in->is_mem) {
        if (in->op == 0xD9 && (in->reg == 6 || in->reg == 7)) return true; /* FNSTENV, FNSTCW */
        if (in->op == 0xDD && (in->reg == 6 || in->reg == 7)) return true; /* FNSAVE, FNSTSW */
        return false;
    }
    if (in->op == 0xDB && (in->modrm == 0xE2 || in->modrm == 0xE3))
        return true;                            /* FNCLEX, FNINIT */
    return in->op == 0xDF && in->modrm == 0xE0; /* FNSTSW AX */
}

/* Control instructions do not update FIP/FDP/FOP. */
static bool is_control(const Insn *in) {
    if (in->is_mem)
        return (in->op == 0xD9 && in->reg >= 4) ||
               (in->op == 0xDD && (in->reg == 4 || in->reg >= 6));
    return (in->op == 0xDB && in->modrm >= 0xE0 && in->modrm <= 0xE4) ||
           (in->op == 0xDF && in->modrm == 0xE0);
}

static void fpu_mem(CPU *cpu, const Insn *in) {
    unsigned reg = in->reg;
    F80 v;
    uint8_t b[10];
    switch (in->op) {
    case 0xD8:
    case 0xDA:
    case 0xDC:
    case 0xDE: { /* arithmetic with a memory operand */
        uint64_t bits;
        FpuMemKind kind = mem_operand(cpu, in, &bits);
        if (st_empty(cpu, 0)) {
            if (reg == 2 || reg == 3) {
                if (!compare_unordered_stack_fault(cpu, false) && reg == 3) fpu_pop(cpu);
            } else if (!stack_fault(cpu, false)) {
                st_set(cpu, 0, &f80_indefinite);
            }
            return;
        }
        F80 r;
        FpuOp op = arith_op(reg);
        uint16_t hsw = fpu_host_op_mem(op, FPU.cw, FPU.sw, st(cpu, 0), kind, bits, &r);
        set_cc(cpu, hsw, FSW_CC); /* also when an unmasked exception aborts */
        if (fpu_signal(cpu, hsw)) return;
        if (reg == 2 || reg == 3) {
            if (reg == 3) fpu_pop(cpu);
        } else {
            st_set(cpu, 0, &r);
        }
        return;
    }
    case 0xD9:
        switch (reg) {
        case 0:
            mem_read_bytes(cpu, in, 0, b, 4);
            {
                uint16_t s = fpu_host_load32(FPU.cw, (uint32_t)le_get(b, 4), &v);
                load_push(cpu, &v, s);
            }
            return;
        case 2: store_st0(cpu, in, 'f', 4, false); return;
        case 3: store_st0(cpu, in, 'f', 4, true); return;
        case 4: fldenv(cpu, in); return;
        case 5:
            mem_read_bytes(cpu, in, 0, b, 2);
            FPU.cw = (uint16_t)(le_get(b, 2) | 0x40);
            if (FPU.sw & ~FPU.cw & FSW_EXC)
                FPU.sw |= FSW_ES | FSW_B;
            else
                FPU.sw &= ~(FSW_ES | FSW_B);
            return;
        case 6:
            store_env(cpu, in);
            FPU.cw |= 0x3F;
            return; /* FNSTENV masks all exceptions */
        case 7:
            le_put(b, 2, FPU.cw | 0x40);
            mem_write_bytes(cpu, in, 0, b, 2);
            return;
        default: cpu_ud(cpu);
        }
    case 0xDB:
        switch (reg) {
        case 0:
            mem_read_bytes(cpu, in, 0, b, 4);
            {
                uint16_t s = fpu_host_loadint(FPU.cw, (int32_t)le_get(b, 4), &v);
                load_push(cpu, &v, s);
            }
            return;
        case 1: fisttp(cpu, in, 4); return;
        case 2: store_st0(cpu, in, 'i', 4, false); return;
        case 3: store_st0(cpu, in, 'i', 4, true); return;
        case 5:
            mem_read_bytes(cpu, in, 0, b, 10);
            v = f80_from_bytes(b);
            load_push(cpu, &v, 0);
            return;
        case 7: store_st0(cpu, in, 'f', 10, true); return;
        default: cpu_ud(cpu);
        }
    case 0xDD:
        switch (reg) {
        case 0:
            mem_read_bytes(cpu, in, 0, b, 8);
            {
                uint16_t s = fpu_host_load64(FPU.cw, le_get(b, 8), &v);
                load_push(cpu, &v, s);
            }
            return;
        case 1: fisttp(cpu, in, 8); return;
        case 2: store_st0(cpu, in, 'f', 8, false); return;
        case 3: store_st0(cpu, in, 'f', 8, true); return;
        case 4: frstor(cpu, in); return;
        case 6: fsave(cpu, in); return;
        case 7:
            le_put(b, 2, fpu_status_word(cpu));
            mem_write_bytes(cpu, in, 0, b, 2);
            return;
        default: cpu_ud(cpu);
        }
    default: /* DF */
        switch (reg) {
        case 0:
            mem_read_bytes(cpu, in, 0, b, 2);
            {
                uint16_t s = fpu_host_loadint(FPU.cw, (int16_t)le_get(b, 2), &v);
                load_push(cpu, &v, s);
            }
            return;
        case 1: fisttp(cpu, in, 2); return;
        case 2: store_st0(cpu, in, 'i', 2, false); return;
        case 3: store_st0(cpu, in, 'i', 2, true); return;
        case 4: fbld(cpu, in); return;
        case 5:
            mem_read_bytes(cpu, in, 0, b, 8);
            {
                uint16_t s = fpu_host_loadint(FPU.cw, (int64_t)le_get(b, 8), &v);
                load_push(cpu, &v, s);
            }
            return;
        case 6: fbstp(cpu, in); return;
        case 7: store_st0(cpu, in, 'i', 8, true); return;
        default: cpu_ud(cpu);
        }
    }
}

/* Register-form arithmetic rows D8, DC, DE. */
static void fpu_reg_arith(CPU *cpu, const Insn *in) {
    unsigned reg = in->reg, i = in->rm;
    bool pop = in->op == 0xDE;
    if (reg == 2 || reg == 3) { /* FCOM/FCOMP ST(i) (and the DC/DE aliases) */
        if (in->op == 0xDE && reg == 3 && i != 1) cpu_ud(cpu);
        unsigned pops = in->op == 0xDE && reg == 3                   ? 2
                        : (reg == 3 || (in->op == 0xDE && reg == 2)) ? 1
                                                                     : 0;
        if (st_empty(cpu, 0) || st_empty(cpu, i)) {
            if (!compare_unordered_stack_fault(cpu, false))
                while (pops--)
                    fpu_pop(cpu);
            return;
        }
        compare(cpu, FOP_COM, st(cpu, i), pops);
        return;
    }
    if (st_empty(cpu, 0) || st_empty(cpu, i)) {
        if (stack_fault(cpu, false)) return;
        st_set(cpu, in->op == 0xD8 ? 0 : i, &f80_indefinite);
        if (pop) fpu_pop(cpu);
        return;
    }
    if (in->op == 0xD8) {
        arith(cpu, arith_op(reg), st(cpu, 0), st(cpu, i), 0, false);
        return;
    }
    /* DC/DE: destination ST(i). E0 FSUBR: ST(0)-ST(i); E8 FSUB: ST(i)-ST(0);
     * F0 FDIVR: ST(0)/ST(i); F8 FDIV: ST(i)/ST(0). */
    static const FpuOp dc_ops[8] = {FOP_ADD, FOP_MUL,  FOP_COM, FOP_COM,
                                    FOP_SUB, FOP_SUBR, FOP_DIV, FOP_DIVR};
    arith(cpu, dc_ops[reg], st(cpu, 0), st(cpu, i), i, pop);
}

/* Two-operand backend op on ST(0), ST(1): the result replaces ST(1) and pops (FPATAN, FYL2X...)
 * or replaces ST(0) (FPREM, FSCALE). */
static void st01_op(CPU *cpu, FpuOp op, bool result_in_st1) {
    if (st_empty(cpu, 0) || st_empty(cpu, 1)) {
        if (op == FOP_PREM || op == FOP_PREM1) FPU.sw &= ~FSW_C2; /* "complete" */
        if (stack_fault(cpu, false)) return;
        if (result_in_st1) {
            st_set(cpu, 1, &f80_indefinite);
            fpu_pop(cpu);
        } else {
            st_set(cpu, 0, &f80_indefinite);
        }
        return;
    }
    F80 r;
    uint16_t hsw = fpu_host_op(op, FPU.cw, FPU.sw, st(cpu, 0), st(cpu, 1), &r, NULL, NULL);
    set_cc(cpu, hsw, FSW_CC); /* also when an unmasked exception aborts */
    if (fpu_signal(cpu, hsw)) return;
    if (result_in_st1) {
        st_set(cpu, 1, &r);
        fpu_pop(cpu);
    } else {
        st_set(cpu, 0, &r);
    }
}

static void st0_op(CPU *cpu, FpuOp op) {
    if (st_empty(cpu, 0)) {
        if (op == FOP_SIN || op == FOP_COS) FPU.sw &= ~FSW_C2; /* not "out of range" */
        if (!stack_fault(cpu, false)) st_set(cpu, 0, &f80_indefinite);
        return;
    }
    F80 r;
    uint16_t hsw = fpu_host_op(op, FPU.cw, FPU.sw, st(cpu, 0), NULL, &r, NULL, NULL);
    set_cc(cpu, hsw, FSW_CC); /* also when an unmasked exception aborts */
    if (fpu_signal(cpu, hsw)) return;
    if ((op == FOP_SIN || op == FOP_COS) && (hsw & FSW_C2)) return; /* out of range: unchanged */
    st_set(cpu, 0, &r);
}

/* FSINCOS, FPTAN, FXTRACT: ST(0) is replaced and one more value pushed. */
static void st0_op_push(CPU *cpu, FpuOp op) {
    if (op != FOP_XTRACT && (st_empty(cpu, 0) || !st_empty(cpu, 7)))
        FPU.sw &= ~FSW_C2; /* a stack fault is not "out of range" */
    if (st_empty(cpu, 0)) {
        if (stack_fault(cpu, false)) return;
        st_set(cpu, 0, &f80_indefinite);
        fpu_push(cpu, &f80_indefinite);
        return;
    }
    if (!st_empty(cpu, 7)) {
        if (stack_fault(cpu, true)) return;
        st_set(cpu, 0, &f80_indefinite);
        fpu_push(cpu, &f80_indefinite);
        return;
    }
    F80 top, below;
    uint16_t hsw = fpu_host_op(op, FPU.cw, FPU.sw, st(cpu, 0), NULL, &top, &below, NULL);
    set_cc(cpu, hsw, FSW_CC); /* also when an unmasked exception aborts */
    if (fpu_signal(cpu, hsw)) return;
    if (op != FOP_XTRACT && (hsw & FSW_C2)) return; /* out of range: unchanged */
    st_set(cpu, 0, &below);
    fpu_push(cpu, &top);
}

static void fxam(CPU *cpu) {
    if (st_empty(cpu, 0)) {
        FPU.sw = (uint16_t)((FPU.sw & ~FSW_CC) | FSW_C3 | FSW_C0 |
                            ((st(cpu, 0)->se & 0x8000) ? FSW_C1 : 0));
        return;
    }
    uint16_t hsw = fpu_host_op(FOP_XAM, FPU.cw, FPU.sw, st(cpu, 0), NULL, NULL, NULL, NULL);
    set_cc(cpu, hsw, FSW_CC);
}

static void fpu_reg(CPU *cpu, const Insn *in) {
    unsigned reg = in->reg, i = in->rm;
    switch (in->op) {
    case 0xD8:
    case 0xDC:
    case 0xDE: fpu_reg_arith(cpu, in); return;
    case 0xD9:
        switch (reg) {
        case 0: /* FLD ST(i) */
            if (st_empty(cpu, i)) {
                if (!stack_fault(cpu, false)) fpu_push(cpu, &f80_indefinite);
                return;
            }
            {
                F80 v = *st(cpu, i);
                load_push(cpu, &v, 0);
            }
            return;
        case 1: { /* FXCH */
            if (st_empty(cpu, 0) || st_empty(cpu, i)) {
                if (stack_fault(cpu, false)) return;
                if (st_empty(cpu, 0)) st_set(cpu, 0, &f80_indefinite);
                if (st_empty(cpu, i)) st_set(cpu, i, &f80_indefinite);
            }
            F80 a = *st(cpu, 0), b = *st(cpu, i);
            st_set(cpu, 0, &b);
            st_set(cpu, i, &a);
            FPU.sw &= ~FSW_C1;
            return;
        }
        case 2:
            if (i != 0) cpu_ud(cpu);
            return;            /* FNOP */
        case 3: goto fstp_reg; /* FSTP1 (undocumented alias) */
        case 4:
            switch (i) {
            case 0:
                if (!st_empty(cpu, 0)) {
                    F80 v = *st(cpu, 0);
                    v.se ^= 0x8000;
                    st_set(cpu, 0, &v);
                    FPU.sw &= ~FSW_C1;
                } else if (!stack_fault(cpu, false))
                    st_set(cpu, 0, &f80_indefinite);
                return;
            case 1:
                if (!st_empty(cpu, 0)) {
                    F80 v = *st(cpu, 0);
                    v.se &= 0x7FFF;
                    st_set(cpu, 0, &v);
                    FPU.sw &= ~FSW_C1;
                } else if (!stack_fault(cpu, false))
                    st_set(cpu, 0, &f80_indefinite);
                return;
            case 4: /* FTST */
                if (st_empty(cpu, 0))
                    compare_unordered_stack_fault(cpu, false);
                else {
                    uint16_t hsw =
                        fpu_host_op(FOP_TST, FPU.cw, FPU.sw, st(cpu, 0), NULL, NULL, NULL, NULL);
                    set_cc(cpu, hsw, FSW_CC);
                    fpu_signal(cpu, hsw);
                }
                return;
            case 5: fxam(cpu); return;
            default: cpu_ud(cpu);
            }
        case 5: { /* constants */
            if (i == 7) cpu_ud(cpu);
            F80 v;
            uint16_t hsw = fpu_host_const(FPU.cw, i, &v);
            load_push(cpu, &v, hsw & FSW_EXC);
            return;
        }
        case 6:
            switch (i) {
            case 0: st0_op(cpu, FOP_F2XM1); return;
            case 1: st01_op(cpu, FOP_YL2X, true); return;
            case 2: st0_op_push(cpu, FOP_PTAN); return;
            case 3: st01_op(cpu, FOP_PATAN, true); return;
            case 4: st0_op_push(cpu, FOP_XTRACT); return;
            case 5: st01_op(cpu, FOP_PREM1, false); return;
            case 6:
                FPU.top = (FPU.top - 1) & 7;
                FPU.sw &= ~FSW_C1;
                return; /* FDECSTP */
            default:
                FPU.top = (FPU.top + 1) & 7;
                FPU.sw &= ~FSW_C1;
                return; /* FINCSTP */
            }
        default:
            switch (i) {
            case 0: st01_op(cpu, FOP_PREM, false); return;
            case 1: st01_op(cpu, FOP_YL2XP1, true); return;
            case 2: st0_op(cpu, FOP_SQRT); return;
            case 3: st0_op_push(cpu, FOP_SINCOS); return;
            case 4: st0_op(cpu, FOP_RNDINT); return;
            case 5: st01_op(cpu, FOP_SCALE, false); return;
            case 6: st0_op(cpu, FOP_SIN); return;
            default: st0_op(cpu, FOP_COS); return;
            }
        }
    case 0xDA:
    case 0xDB:
        if (in->op == 0xDA && reg == 5 && i == 1) { /* FUCOMPP */
            if (st_empty(cpu, 0) || st_empty(cpu, 1)) {
                if (!compare_unordered_stack_fault(cpu, false)) {
                    fpu_pop(cpu);
                    fpu_pop(cpu);
                }
                return;
            }
            compare(cpu, FOP_UCOM, st(cpu, 1), 2);
            return;
        }
        if (reg <= 3) { /* FCMOVcc: B E BE U (DA), NB NE NBE NU (DB) */
            static const int conds[4] = {2, 4, 6, 0xA}; /* CF, ZF, CF|ZF, PF */
            bool take = cpu_cond(cpu, conds[reg]);
            if (in->op == 0xDB) take = !take;
            if (st_empty(cpu, 0) || st_empty(cpu, i)) {
                if (!stack_fault(cpu, false)) st_set(cpu, 0, &f80_indefinite);
                return;
            }
            if (take) {
                F80 v = *st(cpu, i);
                st_set(cpu, 0, &v);
            } /* C1 unchanged */
            return;
        }
        if (in->op == 0xDB && reg == 4) {
            switch (i) {
            case 0:
            case 1:
            case 4: return; /* FENI, FDISI, FSETPM: no-ops on the P6 */
            case 2:
                FPU.sw &= ~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
                if (cpu->ferr) cpu->ferr(cpu->ferr_opaque, 0);
                return;
            case 3:
                fpu_reset(cpu);
                if (cpu->ferr) cpu->ferr(cpu->ferr_opaque, 0);
                return;
            default: cpu_ud(cpu);
            }
        }
        if (in->op == 0xDB && (reg == 5 || reg == 6)) {
            fcomi(cpu, i, reg == 5, false);
            return;
        }
        cpu_ud(cpu);
    case 0xDD:
        switch (reg) {
        case 0:
            tag_set(cpu, phys(cpu, i), 3);
            FPU.sw &= ~FSW_C1;
            return; /* FFREE */
        case 1: {
            Insn x = *in;
            x.op = 0xD9;
            x.reg = 1;
            fpu_reg(cpu, &x);
            return;
        }       /* FXCH4 */
        case 2: /* FST ST(i) */
            if (st_empty(cpu, 0)) {
                if (!stack_fault(cpu, false)) st_set(cpu, i, &f80_indefinite);
                return;
            }
            {
                F80 v = *st(cpu, 0);
                st_set(cpu, i, &v);
                FPU.sw &= ~FSW_C1;
            }
            return;
        case 3:
        fstp_reg: /* FSTP ST(i) */
            if (st_empty(cpu, 0)) {
                if (stack_fault(cpu, false)) return;
                st_set(cpu, i, &f80_indefinite);
                fpu_pop(cpu);
                return;
            }
            {
                F80 v = *st(cpu, 0);
                st_set(cpu, i, &v);
                FPU.sw &= ~FSW_C1;
                fpu_pop(cpu);
            }
            return;
        case 4:
        case 5: /* FUCOM, FUCOMP */
            if (st_empty(cpu, 0) || st_empty(cpu, i)) {
                if (!compare_unordered_stack_fault(cpu, false) && reg == 5) fpu_pop(cpu);
                return;
            }
            compare(cpu, FOP_UCOM, st(cpu, i), reg == 5);
            return;
        default: cpu_ud(cpu);
        }
    default: /* DF */
        switch (reg) {
        case 0:
            tag_set(cpu, phys(cpu, i), 3);
            fpu_pop(cpu);
            FPU.sw &= ~FSW_C1;
            return; /* FFREEP */
        case 1: {
            Insn x = *in;
            x.op = 0xD9;
            x.reg = 1;
            fpu_reg(cpu, &x);
            return;
        } /* FXCH7 */
        case 2:
        case 3: goto fstp_reg; /* FSTP8, FSTP9 */
        case 4:
            if (i != 0) cpu_ud(cpu);
            reg_write(cpu, R_EAX, 2, fpu_status_word(cpu));
            return; /* FNSTSW AX */
        case 5:
        case 6: fcomi(cpu, i, reg == 5, true); return; /* FUCOMIP, FCOMIP */
        default: cpu_ud(cpu);
        }
    }
}

/* FLD, FST and FSTP with an m32fp or m64fp operand whose bytes the caller
 * (the jit) has already found: host points at them, ea is the offset.
 * Does the whole instruction, as op_fpu_escape would, and returns true
 * when nothing unusual happens (no #NM, no pending or new unmasked
 * exception, no stack fault, no exception flag on a load); otherwise
 * changes nothing and returns false, and the caller runs the handler. */
bool fpu_mem_fast(CPU *cpu, const Insn *in, uint32_t ea, uint8_t *host) {
    if ((cpu->cr0 & (CR0_EM | CR0_TS)) || !fpu_backend_available() || (FPU.sw & FSW_ES))
        return false;
    unsigned size = in->op == 0xDD ? 8 : 4;
    F80 v;
    if (in->reg == 0) { /* FLD */
        if (!st_empty(cpu, 7)) return false;
        uint64_t bits = 0;
        memcpy(&bits, host, size); /* little-endian host (x86-64: the jit) */
        uint16_t flags = size == 8 ? fpu_host_load64(FPU.cw, bits, &v)
                                   : fpu_host_load32(FPU.cw, (uint32_t)bits, &v);
        if (flags & (FSW_EXC | FSW_SF)) return false;
        record_pointers_ea(cpu, in, ea);
        load_push(cpu, &v, flags);
        return true;
    }
    if (st_empty(cpu, 0)) return false; /* FST, FSTP */
    uint64_t bits;
    uint16_t hsw;
    if (size == 8) {
        hsw = fpu_host_store64(FPU.cw, st(cpu, 0), &bits);
    } else {
        uint32_t b32;
        hsw = fpu_host_store32(FPU.cw, st(cpu, 0), &b32);
        bits = b32;
    }
    if (hsw & ~FPU.cw & FSW_EXC) return false;
    record_pointers_ea(cpu, in, ea);
    memcpy(host, &bits, size);
    fpu_signal(cpu, hsw);
    set_cc(cpu, hsw, FSW_C1);
    if (in->reg == 3) fpu_pop(cpu);
    return true;
}

void op_fpu_escape(CPU *cpu, const Insn *in) {
    if (cpu->cr0 & (CR0_EM | CR0_TS)) cpu_raise(cpu, EXC_NM, -1);
    if (!fpu_backend_available()) cpu_ud(cpu); /* a host without an x87 backend: no FPU */
    if (!no_wait(in)) fpu_check_pending(cpu);
    if (!is_control(in)) record_pointers(cpu, in);
    if (in->is_mem)
        fpu_mem(cpu, in);
    else
        fpu_reg(cpu, in);
}

void op_fwait(CPU *cpu, const Insn *in) {
    (void)in;
    if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) cpu_raise(cpu, EXC_NM, -1);
    if (fpu_backend_available()) fpu_check_pending(cpu);
}
