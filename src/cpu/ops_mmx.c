/*
 * ops_mmx.c - the MMX instructions of the Pentium II (0F 60-7F, 0F D1-FE).
 *
 * MM0-MM7 are the low 64 bits (the significands) of the physical x87
 * registers R0-R7 in cpu->fpu.regs, independent of TOP. As the SDM
 * specifies:
 *  - every MMX instruction except EMMS sets TOP to 0 and all eight tags to
 *    valid (00); EMMS sets TOP to 0 and all tags to empty (11);
 *  - an MMX write to MMn also sets bits 64-79 (sign and exponent) of Rn to
 *    all ones;
 *  - the x87 control word, the rest of the status word and the
 *    instruction/operand pointers and opcode are left alone.
 * Like the x87 escapes: CR0.EM = 1 raises #UD, CR0.TS = 1 #NM, and a
 * pending unmasked x87 exception #MF (or FERR# when CR0.NE = 0), all
 * before the operand is fetched. A memory operand is read or probed before
 * any state changes, so a #GP/#SS/#PF/#AC leaves the FPU as it was.
 *
 * The SSE additions to this opcode space (PAVGB, PMINUB, PSHUFW, ...),
 * SSE2's PADDQ/PSUBQ/PMULUDQ and SSSE3's MMX forms are in ops_sse.c, which
 * uses the state helpers below (declared in ops.h).
 */
#include "cpu/ops.h"

#define FPU (cpu->fpu)

/* ---------------- state ---------------- */

/* The checks every MMX instruction makes first (EMMS included). */
void mmx_enter(CPU *cpu) {
    if (cpu->cr0 & CR0_EM) cpu_ud(cpu);
    if (cpu->cr0 & CR0_TS) cpu_raise(cpu, EXC_NM, -1);
    if (!fpu_backend_available()) cpu_ud(cpu); /* no x87 on this host: no MMX either */
    fpu_check_pending(cpu);
}

/* The x87 side effects of an MMX instruction (other than EMMS). */
void mmx_touch(CPU *cpu) {
    FPU.top = 0;
    FPU.tw = 0;
}

uint64_t mm_get(const CPU *cpu, unsigned i) {
    return FPU.regs[i & 7].mant;
}
void mm_set(CPU *cpu, unsigned i, uint64_t v) {
    FPU.regs[i & 7].mant = v;
    FPU.regs[i & 7].se = 0xFFFF;
}

/* ---------------- memory operands ---------------- */

/* #AC for a misaligned 8-byte operand (the 4-byte halves check the rest). */
static void check_align8(CPU *cpu, uint32_t lin) {
    if ((lin & 7) && cpu->cpl == 3 && (cpu->cr0 & CR0_AM) && (cpu->eflags & FL_AC))
        cpu_raise(cpu, EXC_AC, 0);
}

static uint64_t mem_read64(CPU *cpu, const Insn *in) {
    uint32_t lin = seg_lin(cpu, in->seg, insn_ea(cpu, in), 8, ACC_R);
    check_align8(cpu, lin);
    return lin_read64(cpu, lin, ACC_R);
}

static void mem_write64(CPU *cpu, const Insn *in, uint64_t v) {
    uint32_t lin = seg_lin(cpu, in->seg, insn_ea(cpu, in), 8, ACC_W);
    check_align8(cpu, lin);
    lin_write64(cpu, lin, v, ACC_W);
}

/* The mm/m64 source operand. */
static uint64_t src64(CPU *cpu, const Insn *in) {
    return in->is_mem ? mem_read64(cpu, in) : mm_get(cpu, in->rm);
}

/* ---------------- lanes ---------------- */

/* Lane k (of `bits` bits) of v, zero- or sign-extended. */
static uint64_t lane(uint64_t v, unsigned bits, unsigned k) {
    return bits == 64 ? v : (v >> (k * bits)) & ((1ull << bits) - 1);
}
static int64_t slane(uint64_t v, unsigned bits, unsigned k) {
    uint64_t u = lane(v, bits, k);
    return bits == 64 ? (int64_t)u : (int64_t)(u << (64 - bits)) >> (64 - bits);
}
static uint64_t put_lane(uint64_t r, unsigned bits, unsigned k, uint64_t x) {
    if (bits == 64) return x;
    uint64_t m = (1ull << bits) - 1;
    return (r & ~(m << (k * bits))) | (x & m) << (k * bits);
}

static int64_t sat_signed(int64_t x, unsigned bits) {
    int64_t hi = (1ll << (bits - 1)) - 1, lo = -hi - 1;
    return x > hi ? hi : x < lo ? lo : x;
}
static int64_t sat_unsigned(int64_t x, unsigned bits) {
    int64_t hi = (1ll << bits) - 1;
    return x > hi ? hi : x < 0 ? 0 : x;
}

/* Element-wise operations of the packed arithmetic rows. */
typedef enum LaneOp {
    L_ADD,
    L_ADDS,
    L_ADDUS,
    L_SUB,
    L_SUBS,
    L_SUBUS,
    L_CMPEQ,
    L_CMPGT,
    L_MULL,
    L_MULH
} LaneOp;

static uint64_t lanewise(LaneOp op, unsigned bits, uint64_t a, uint64_t b) {
    uint64_t r = 0;
    for (unsigned k = 0; k < 64 / bits; k++) {
        uint64_t ua = lane(a, bits, k), ub = lane(b, bits, k);
        int64_t sa = slane(a, bits, k), sb = slane(b, bits, k);
        uint64_t x;
        switch (op) {
        case L_ADD: x = ua + ub; break;
        case L_ADDS: x = (uint64_t)sat_signed(sa + sb, bits); break;
        case L_ADDUS: x = (uint64_t)sat_unsigned((int64_t)(ua + ub), bits); break;
        case L_SUB: x = ua - ub; break;
        case L_SUBS: x = (uint64_t)sat_signed(sa - sb, bits); break;
        case L_SUBUS: x = (uint64_t)sat_unsigned((int64_t)ua - (int64_t)ub, bits); break;
        case L_CMPEQ: x = ua == ub ? ~0ull : 0; break;
        case L_CMPGT: x = sa > sb ? ~0ull : 0; break;
        case L_MULL: x = (uint64_t)(sa * sb); break;
        default: x = (uint64_t)(sa * sb) >> bits; break; /* L_MULH */
        }
        r = put_lane(r, bits, k, x);
    }
    return r;
}

/* PACKSSWB / PACKSSDW / PACKUSWB: the lanes of a, then those of b, narrowed. */
static uint64_t pack(uint64_t a, uint64_t b, unsigned bits, bool unsigned_sat) {
    unsigned n = 64 / bits, half = bits / 2;
    uint64_t r = 0;
    for (unsigned k = 0; k < 2 * n; k++) {
        int64_t x = slane(k < n ? a : b, bits, k % n);
        x = unsigned_sat ? sat_unsigned(x, half) : sat_signed(x, half);
        r = put_lane(r, half, k, (uint64_t)x);
    }
    return r;
}

/* PUNPCKL* / PUNPCKH*: interleave the low (or high) halves' lanes of a and b. */
static uint64_t unpack(uint64_t a, uint64_t b, unsigned bits, bool high) {
    unsigned n = 32 / bits, base = high ? n : 0;
    uint64_t r = 0;
    for (unsigned k = 0; k < n; k++) {
        r = put_lane(r, bits, 2 * k, lane(a, bits, base + k));
        r = put_lane(r, bits, 2 * k + 1, lane(b, bits, base + k));
    }
    return r;
}

/* PMADDWD: pairs of signed word products summed into dwords (wrapping). */
static uint64_t pmaddwd(uint64_t a, uint64_t b) {
    uint64_t r = 0;
    for (unsigned k = 0; k < 2; k++) {
        int64_t s = slane(a, 16, 2 * k) * slane(b, 16, 2 * k) +
                    slane(a, 16, 2 * k + 1) * slane(b, 16, 2 * k + 1);
        r = put_lane(r, 32, k, (uint64_t)s);
    }
    return r;
}

/* Shifts by a 64-bit count. kind: 0 logical right, 1 arithmetic right, 2 left. */
static uint64_t shift(uint64_t v, unsigned bits, unsigned kind, uint64_t count) {
    uint64_t r = 0;
    for (unsigned k = 0; k < 64 / bits; k++) {
        uint64_t x;
        if (kind == 1) {
            unsigned c = count > bits - 1 ? bits - 1 : (unsigned)count;
            x = (uint64_t)(slane(v, bits, k) >> c);
        } else if (count >= bits) {
            x = 0;
        } else {
            x = kind == 0 ? lane(v, bits, k) >> count : lane(v, bits, k) << count;
        }
        r = put_lane(r, bits, k, x);
    }
    return r;
}

/* ---------------- handlers ---------------- */

/* mm := mm op mm/m64 (m32 for the low unpacks): 0F 60-6B, 74-76, D1-FE. */
void op_mmx_arith(CPU *cpu, const Insn *in) {
    mmx_enter(cpu);
    uint8_t op = in->op & 0xFF;
    uint64_t b;
    if (op <= 0x62 && in->is_mem) /* PUNPCKLBW/WD/DQ read only 32 bits */
        b = mem_read(cpu, in->seg, insn_ea(cpu, in), 4);
    else
        b = src64(cpu, in);
    uint64_t a = mm_get(cpu, in->reg), r;
    switch (op) {
    case 0x60: r = unpack(a, b, 8, false); break;
    case 0x61: r = unpack(a, b, 16, false); break;
    case 0x62: r = unpack(a, b, 32, false); break;
    case 0x63: r = pack(a, b, 16, false); break;
    case 0x64: r = lanewise(L_CMPGT, 8, a, b); break;
    case 0x65: r = lanewise(L_CMPGT, 16, a, b); break;
    case 0x66: r = lanewise(L_CMPGT, 32, a, b); break;
    case 0x67: r = pack(a, b, 16, true); break;
    case 0x68: r = unpack(a, b, 8, true); break;
    case 0x69: r = unpack(a, b, 16, true); break;
    case 0x6A: r = unpack(a, b, 32, true); break;
    case 0x6B: r = pack(a, b, 32, false); break;
    case 0x74: r = lanewise(L_CMPEQ, 8, a, b); break;
    case 0x75: r = lanewise(L_CMPEQ, 16, a, b); break;
    case 0x76: r = lanewise(L_CMPEQ, 32, a, b); break;
    case 0xD1: r = shift(a, 16, 0, b); break;
    case 0xD2: r = shift(a, 32, 0, b); break;
    case 0xD3: r = shift(a, 64, 0, b); break;
    case 0xD5: r = lanewise(L_MULL, 16, a, b); break;
    case 0xD8: r = lanewise(L_SUBUS, 8, a, b); break;
    case 0xD9: r = lanewise(L_SUBUS, 16, a, b); break;
    case 0xDB: r = a & b; break;
    case 0xDC: r = lanewise(L_ADDUS, 8, a, b); break;
    case 0xDD: r = lanewise(L_ADDUS, 16, a, b); break;
    case 0xDF: r = ~a & b; break;
    case 0xE1: r = shift(a, 16, 1, b); break;
    case 0xE2: r = shift(a, 32, 1, b); break;
    case 0xE5: r = lanewise(L_MULH, 16, a, b); break;
    case 0xE8: r = lanewise(L_SUBS, 8, a, b); break;
    case 0xE9: r = lanewise(L_SUBS, 16, a, b); break;
    case 0xEB: r = a | b; break;
    case 0xEC: r = lanewise(L_ADDS, 8, a, b); break;
    case 0xED: r = lanewise(L_ADDS, 16, a, b); break;
    case 0xEF: r = a ^ b; break;
    case 0xF1: r = shift(a, 16, 2, b); break;
    case 0xF2: r = shift(a, 32, 2, b); break;
    case 0xF3: r = shift(a, 64, 2, b); break;
    case 0xF5: r = pmaddwd(a, b); break;
    case 0xF8: r = lanewise(L_SUB, 8, a, b); break;
    case 0xF9: r = lanewise(L_SUB, 16, a, b); break;
    case 0xFA: r = lanewise(L_SUB, 32, a, b); break;
    case 0xFC: r = lanewise(L_ADD, 8, a, b); break;
    case 0xFD: r = lanewise(L_ADD, 16, a, b); break;
    case 0xFE: r = lanewise(L_ADD, 32, a, b); break;
    default: cpu_ud(cpu); /* not reached: the decode table names only the rows above */
    }
    mmx_touch(cpu);
    mm_set(cpu, in->reg, r);
}

/* 0F 71 / 72 / 73 with ModRM.reg 2 (logical right), 4 (arithmetic right),
 * 6 (left): shift mm by imm8. Register forms only. */
void op_mmx_shift_imm(CPU *cpu, const Insn *in) {
    if (in->is_mem) cpu_ud(cpu);
    mmx_enter(cpu);
    unsigned bits = (in->op & 0xFF) == 0x71 ? 16 : (in->op & 0xFF) == 0x72 ? 32 : 64;
    unsigned kind = in->reg == 2 ? 0 : in->reg == 4 ? 1 : 2;
    uint64_t r = shift(mm_get(cpu, in->rm), bits, kind, in->imm & 0xFF);
    mmx_touch(cpu);
    mm_set(cpu, in->rm, r);
}

/* 0F 6E: MOVD mm, r/m32 (zero-extended). */
void op_movd_mm_rm(CPU *cpu, const Insn *in) {
    mmx_enter(cpu);
    uint32_t v = rm_read(cpu, in, 4);
    mmx_touch(cpu);
    mm_set(cpu, in->reg, v);
}

/* 0F 7E: MOVD r/m32, mm (the low dword). */
void op_movd_rm_mm(CPU *cpu, const Insn *in) {
    mmx_enter(cpu);
    rm_write(cpu, in, 4, (uint32_t)mm_get(cpu, in->reg));
    mmx_touch(cpu);
}

/* 0F 6F: MOVQ mm, mm/m64. */
void op_movq_mm_mmm(CPU *cpu, const Insn *in) {
    mmx_enter(cpu);
    uint64_t v = src64(cpu, in);
    mmx_touch(cpu);
    mm_set(cpu, in->reg, v);
}

/* 0F 7F: MOVQ mm/m64, mm. */
void op_movq_mmm_mm(CPU *cpu, const Insn *in) {
    mmx_enter(cpu);
    uint64_t v = mm_get(cpu, in->reg);
    if (in->is_mem) mem_write64(cpu, in, v);
    mmx_touch(cpu);
    if (!in->is_mem) mm_set(cpu, in->rm, v);
}

/* 0F 77: EMMS. */
void op_emms(CPU *cpu, const Insn *in) {
    (void)in;
    mmx_enter(cpu);
    FPU.top = 0;
    FPU.tw = 0xFFFF;
}
