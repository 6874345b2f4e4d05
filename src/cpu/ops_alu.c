/*
 * ops_alu.c - arithmetic, logic, shifts and rotates, multiply/divide, BCD
 * adjusts, bit tests and scans, SETcc/CMOVcc, flag instructions.
 *
 * Flags the SDM leaves undefined are set as follows (the test oracles mask
 * them): MUL/IMUL: SF, ZF, PF from the low half of the result, AF = 0.
 * DIV/IDIV: unchanged. Rotates and BT*: only CF (and OF for rotates)
 * change. BSF/BSR: only ZF changes. SHLD/SHRD: AF = 0; a 16-bit SHLD/SHRD
 * by more than 16 shifts through the 48-bit pattern dest:src:dest.
 * AAM/AAD: flags of the final AL as for a logic / add operation.
 * DAA/DAS: OF as for the adjusting add/subtract. AAA/AAS: SF, ZF, PF, OF
 * from the adjusted AL as a logic operation.
 */
#include "cpu/ops.h"

/* One home for the eight ALU operations (AluKind, insn.h; the decoder
 * records an ALU row's kind in in->facts.alu): compute, record lazy flags. */
static uint32_t alu_compute(CPU *cpu, AluKind kind, unsigned size, uint32_t a, uint32_t b) {
    uint32_t m = size_mask(size);
    a &= m;
    b &= m;
    uint32_t res;
    switch (kind) {
    case ALU_ADD: res = a + b; lf_set(cpu, CC_ADD, size, res, a, b); break;
    case ALU_ADC: {
        bool c = cpu_cf(cpu);
        res = a + b + c;
        lf_set(cpu, c ? CC_ADC : CC_ADD, size, res, a, b);
        break;
    }
    case ALU_SBB: {
        bool c = cpu_cf(cpu);
        res = a - b - c;
        lf_set(cpu, c ? CC_SBB : CC_SUB, size, res, a, b);
        break;
    }
    case ALU_SUB:
    case ALU_CMP: res = a - b; lf_set(cpu, CC_SUB, size, res, a, b); break;
    case ALU_OR: res = a | b; lf_set(cpu, CC_LOGIC, size, res, 0, 0); break;
    case ALU_AND: res = a & b; lf_set(cpu, CC_LOGIC, size, res, 0, 0); break;
    default: res = a ^ b; lf_set(cpu, CC_LOGIC, size, res, 0, 0); break;
    }
    return res & m;
}

/* dest(r/m) = dest op src, with CMP not writing. */
static void alu_rm(CPU *cpu, const Insn *in, AluKind kind, uint32_t src) {
    if (kind == ALU_CMP) {
        alu_compute(cpu, kind, in->size, rm_read(cpu, in, in->size), src);
        return;
    }
    RmRef r = rm_ref(cpu, in, in->size);
    uint32_t res = alu_compute(cpu, kind, in->size, ref_read(cpu, &r, in->size), src);
    ref_write(cpu, &r, in->size, res);
}

void op_alu_rm_r(CPU *cpu, const Insn *in) {
    alu_rm(cpu, in, in->facts.alu, reg_read(cpu, in->reg, in->size));
}

void op_alu_r_rm(CPU *cpu, const Insn *in) {
    AluKind kind = in->facts.alu;
    uint32_t res = alu_compute(cpu, kind, in->size, reg_read(cpu, in->reg, in->size),
                               rm_read(cpu, in, in->size));
    if (kind != ALU_CMP) reg_write(cpu, in->reg, in->size, res);
}

void op_alu_acc_imm(CPU *cpu, const Insn *in) {
    AluKind kind = in->facts.alu;
    uint32_t res = alu_compute(cpu, kind, in->size, reg_read(cpu, R_EAX, in->size), in->imm);
    if (kind != ALU_CMP) reg_write(cpu, R_EAX, in->size, res);
}

void op_alu_rm_imm(CPU *cpu, const Insn *in) { alu_rm(cpu, in, in->facts.alu, in->imm); }

static void test_values(CPU *cpu, unsigned size, uint32_t a, uint32_t b) {
    lf_set(cpu, CC_LOGIC, size, a & b, 0, 0);
}

void op_test_rm_r(CPU *cpu, const Insn *in) {
    test_values(cpu, in->size, rm_read(cpu, in, in->size), reg_read(cpu, in->reg, in->size));
}
void op_test_acc_imm(CPU *cpu, const Insn *in) {
    test_values(cpu, in->size, reg_read(cpu, R_EAX, in->size), in->imm);
}
void op_test_rm_imm(CPU *cpu, const Insn *in) {
    test_values(cpu, in->size, rm_read(cpu, in, in->size), in->imm);
}

/* INC/DEC: CF survives, so fold the current CF into eflags first. */
static uint32_t incdec(CPU *cpu, unsigned size, uint32_t a, bool dec) {
    bool cf = cpu_cf(cpu);
    cpu->eflags = (cpu->eflags & ~FL_CF) | (cf ? FL_CF : 0);
    uint32_t res = (dec ? a - 1 : a + 1) & size_mask(size);
    lf_set(cpu, dec ? CC_DEC : CC_INC, size, res, a & size_mask(size), 1);
    return res;
}

void op_inc_r(CPU *cpu, const Insn *in) {
    int r = in->op & 7;
    reg_write(cpu, r, in->size, incdec(cpu, in->size, reg_read(cpu, r, in->size), false));
}
void op_dec_r(CPU *cpu, const Insn *in) {
    int r = in->op & 7;
    reg_write(cpu, r, in->size, incdec(cpu, in->size, reg_read(cpu, r, in->size), true));
}
static void incdec_rm(CPU *cpu, const Insn *in, bool dec) {
    RmRef r = rm_ref(cpu, in, in->size);
    ref_write(cpu, &r, in->size, incdec(cpu, in->size, ref_read(cpu, &r, in->size), dec));
}
void op_inc_rm(CPU *cpu, const Insn *in) { incdec_rm(cpu, in, false); }
void op_dec_rm(CPU *cpu, const Insn *in) { incdec_rm(cpu, in, true); }

void op_not_rm(CPU *cpu, const Insn *in) {
    RmRef r = rm_ref(cpu, in, in->size);
    ref_write(cpu, &r, in->size, ~ref_read(cpu, &r, in->size));
}

void op_neg_rm(CPU *cpu, const Insn *in) {
    RmRef r = rm_ref(cpu, in, in->size);
    uint32_t a = ref_read(cpu, &r, in->size);
    ref_write(cpu, &r, in->size, alu_compute(cpu, ALU_SUB, in->size, 0, a));
}

/* ---------------- multiply / divide ---------------- */

/* Flags after a multiply: CF = OF = overflow; SF/ZF/PF from the low half. */
static void mul_flags(CPU *cpu, unsigned size, uint32_t low, bool overflow) {
    lf_set(cpu, CC_LOGIC, size, low, 0, 0);
    flags_set_arith(cpu, overflow ? (FL_CF | FL_OF) : 0, FL_CF | FL_OF | FL_AF);
}

/* Store a double-width product: AX, DX:AX or EDX:EAX. */
static void store_product(CPU *cpu, unsigned size, uint64_t p) {
    if (size == 1) {
        reg_write(cpu, R_EAX, 2, (uint32_t)p);
    } else {
        reg_write(cpu, R_EAX, size, (uint32_t)p);
        reg_write(cpu, R_EDX, size, (uint32_t)(p >> (8 * size)));
    }
}

void op_mul_rm(CPU *cpu, const Insn *in) {
    unsigned size = in->size;
    uint64_t p = (uint64_t)reg_read(cpu, R_EAX, size) * rm_read(cpu, in, size);
    store_product(cpu, size, p);
    mul_flags(cpu, size, (uint32_t)p & size_mask(size), (p >> (8 * size)) != 0);
}

void op_imul_rm(CPU *cpu, const Insn *in) {
    unsigned size = in->size;
    int64_t p = (int64_t)(int32_t)sext(reg_read(cpu, R_EAX, size), size) *
                (int32_t)sext(rm_read(cpu, in, size), size);
    store_product(cpu, size, (uint64_t)p);
    uint32_t low = (uint32_t)p & size_mask(size);
    mul_flags(cpu, size, low, (int64_t)(int32_t)sext(low, size) != p);
}

/* Two- and three-operand IMUL: the product truncated to the operand size. */
static void imul_to_reg(CPU *cpu, const Insn *in, uint32_t a, uint32_t b) {
    unsigned size = in->size;
    int64_t p = (int64_t)(int32_t)sext(a, size) * (int32_t)sext(b, size);
    uint32_t low = (uint32_t)p & size_mask(size);
    reg_write(cpu, in->reg, size, low);
    mul_flags(cpu, size, low, (int64_t)(int32_t)sext(low, size) != p);
}

void op_imul_r_rm(CPU *cpu, const Insn *in) {
    imul_to_reg(cpu, in, reg_read(cpu, in->reg, in->size), rm_read(cpu, in, in->size));
}

void op_imul_r_rm_imm(CPU *cpu, const Insn *in) {
    imul_to_reg(cpu, in, rm_read(cpu, in, in->size), in->imm);
}

static uint64_t dividend(const CPU *cpu, unsigned size) {
    if (size == 1) return reg_read(cpu, R_EAX, 2);
    return (uint64_t)reg_read(cpu, R_EDX, size) << (8 * size) | reg_read(cpu, R_EAX, size);
}

static void store_quotient(CPU *cpu, unsigned size, uint32_t q, uint32_t r) {
    if (size == 1) {
        reg_write(cpu, R_EAX, 2, (q & 0xFF) | (r & 0xFF) << 8);
    } else {
        reg_write(cpu, R_EAX, size, q);
        reg_write(cpu, R_EDX, size, r);
    }
}

void op_div_rm(CPU *cpu, const Insn *in) {
    unsigned size = in->size;
    uint64_t d = rm_read(cpu, in, size);
    if (d == 0) cpu_raise(cpu, EXC_DE, -1);
    uint64_t n = dividend(cpu, size), q = n / d;
    if (q > size_mask(size)) cpu_raise(cpu, EXC_DE, -1);
    store_quotient(cpu, size, (uint32_t)q, (uint32_t)(n % d));
}

void op_idiv_rm(CPU *cpu, const Insn *in) {
    unsigned size = in->size;
    int64_t d = (int32_t)sext(rm_read(cpu, in, size), size);
    if (d == 0) cpu_raise(cpu, EXC_DE, -1);
    uint64_t raw = dividend(cpu, size);
    unsigned bits = 16 * size; /* width of the dividend */
    int64_t n = bits == 64 ? (int64_t)raw : (int64_t)(raw << (64 - bits)) >> (64 - bits);
    if (n == INT64_MIN && d == -1) cpu_raise(cpu, EXC_DE, -1);
    int64_t q = n / d, r = n % d;
    int64_t lim = (int64_t)1 << (8 * size - 1);
    if (q >= lim || q < -lim) cpu_raise(cpu, EXC_DE, -1);
    store_quotient(cpu, size, (uint32_t)q, (uint32_t)r);
}

/* ---------------- shifts and rotates ---------------- */

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

static unsigned shift_count(CPU *cpu, const Insn *in) {
    if (in->op == 0xC0 || in->op == 0xC1) return in->imm & 0x1F;
    if (in->op == 0xD0 || in->op == 0xD1) return 1;
    return cpu->regs[R_ECX] & 0x1F;
}

/* Rotates change only CF and OF. */
static void set_cf_of(CPU *cpu, bool cf, bool of) {
    flags_set_arith(cpu, (cf ? FL_CF : 0) | (of ? FL_OF : 0), FL_CF | FL_OF);
}

static uint32_t shift_compute(CPU *cpu, int kind, unsigned size, uint32_t a, unsigned count) {
    unsigned bits = size * 8;
    uint32_t m = size_mask(size), sign = size_sign(size);
    a &= m;
    switch (kind) {
    case SH_ROL: {
        unsigned c = count % bits;
        uint32_t res = c ? ((a << c) | (a >> (bits - c))) & m : a;
        bool cf = res & 1;
        set_cf_of(cpu, cf, ((res & sign) != 0) != cf);
        return res;
    }
    case SH_ROR: {
        unsigned c = count % bits;
        uint32_t res = c ? ((a >> c) | (a << (bits - c))) & m : a;
        bool msb = res & sign, next = res & (sign >> 1);
        set_cf_of(cpu, msb, msb != next);
        return res;
    }
    case SH_RCL:
    case SH_RCR: {
        unsigned c = count % (bits + 1);
        uint64_t wide = (uint64_t)a | (uint64_t)cpu_cf(cpu) << bits; /* bits+1 wide */
        uint64_t wm = ((uint64_t)1 << (bits + 1)) - 1;
        if (c) {
            if (kind == SH_RCL) wide = ((wide << c) | (wide >> (bits + 1 - c))) & wm;
            else wide = ((wide >> c) | (wide << (bits + 1 - c))) & wm;
        }
        uint32_t res = (uint32_t)wide & m;
        bool cf = (wide >> bits) & 1;
        bool msb = res & sign;
        bool of = kind == SH_RCL ? msb != cf : msb != ((res & (sign >> 1)) != 0);
        set_cf_of(cpu, cf, of);
        return res;
    }
    case SH_SHL:
    case SH_SAL: {
        uint32_t res = (uint32_t)((uint64_t)a << count) & m;
        lf_set(cpu, CC_SHL, size, res, a, count);
        return res;
    }
    case SH_SHR: {
        uint32_t res = a >> count;
        lf_set(cpu, CC_SHR, size, res, a, count);
        return res;
    }
    default: {
        uint32_t res = (uint32_t)((int32_t)sext(a, size) >> count) & m;
        lf_set(cpu, CC_SAR, size, res, a, count);
        return res;
    }
    }
}

void op_shift_rm(CPU *cpu, const Insn *in) {
    unsigned count = shift_count(cpu, in);
    RmRef r = rm_ref(cpu, in, in->size);
    uint32_t a = ref_read(cpu, &r, in->size);
    if (count == 0) return; /* no flags, no change */
    ref_write(cpu, &r, in->size, shift_compute(cpu, in->reg, in->size, a, count));
}

/* Flags of a double shift: SF/ZF/PF of the result, CF as given, OF when the
 * sign changed, AF = 0. */
static void double_shift_flags(CPU *cpu, unsigned size, uint32_t a, uint32_t res, bool cf) {
    lf_set(cpu, CC_LOGIC, size, res, 0, 0);
    bool of = ((a ^ res) & size_sign(size)) != 0;
    flags_set_arith(cpu, (cf ? FL_CF : 0) | (of ? FL_OF : 0), FL_CF | FL_OF | FL_AF);
}

static void double_shift(CPU *cpu, const Insn *in, bool left) {
    unsigned count = ((in->op & 1) ? cpu->regs[R_ECX] : in->imm) & 0x1F;
    unsigned size = in->size;
    RmRef r = rm_ref(cpu, in, size);
    uint32_t a = ref_read(cpu, &r, size);
    uint32_t b = reg_read(cpu, in->reg, size);
    if (count == 0) return;
    uint32_t res;
    bool cf;
    if (size == 4) {
        uint64_t v = left ? ((uint64_t)a << 32 | b) << count : ((uint64_t)b << 32 | a) >> count;
        res = left ? (uint32_t)(v >> 32) : (uint32_t)v;
        cf = left ? (a >> (32 - count)) & 1 : (a >> (count - 1)) & 1;
    } else {
        /* Counts above 16 shift through the 48-bit pattern dest:src:dest. */
        if (left) {
            uint64_t v = (uint64_t)a << 32 | (uint64_t)b << 16 | a;
            res = (uint32_t)((v << count) >> 32) & 0xFFFF;
            cf = (v >> (48 - count)) & 1;
        } else {
            uint64_t v = (uint64_t)a | (uint64_t)b << 16 | (uint64_t)a << 32;
            res = (uint32_t)(v >> count) & 0xFFFF;
            cf = (v >> (count - 1)) & 1;
        }
    }
    ref_write(cpu, &r, size, res);
    double_shift_flags(cpu, size, a, res, cf);
}

void op_shld(CPU *cpu, const Insn *in) { double_shift(cpu, in, true); }
void op_shrd(CPU *cpu, const Insn *in) { double_shift(cpu, in, false); }

/* ---------------- BCD ---------------- */

static uint32_t al(const CPU *cpu) { return cpu->regs[R_EAX] & 0xFF; }

void op_daa(CPU *cpu, const Insn *in) {
    (void)in;
    uint32_t old = al(cpu), v = old;
    bool old_cf = cpu_cf(cpu), af = flags_arith(cpu) & FL_AF, cf = false;
    if ((v & 0xF) > 9 || af) {
        cf = old_cf || v > 0xF9;
        v = (v + 6) & 0xFF;
        af = true;
    } else {
        af = false;
    }
    if (old > 0x99 || old_cf) {
        v = (v + 0x60) & 0xFF;
        cf = true;
    } else {
        cf = false;
    }
    reg_write(cpu, R_EAX, 1, v);
    lf_set(cpu, CC_ADD, 1, v, old, (v - old) & 0xFF);
    flags_set_arith(cpu, (cf ? FL_CF : 0) | (af ? FL_AF : 0), FL_CF | FL_AF);
}

void op_das(CPU *cpu, const Insn *in) {
    (void)in;
    uint32_t old = al(cpu), v = old;
    bool old_cf = cpu_cf(cpu), af = flags_arith(cpu) & FL_AF, cf = false;
    if ((v & 0xF) > 9 || af) {
        cf = old_cf || v < 6;
        v = (v - 6) & 0xFF;
        af = true;
    } else {
        af = false;
    }
    if (old > 0x99 || old_cf) {
        v = (v - 0x60) & 0xFF;
        cf = true;
    }
    reg_write(cpu, R_EAX, 1, v);
    lf_set(cpu, CC_SUB, 1, v, old, (old - v) & 0xFF);
    flags_set_arith(cpu, (cf ? FL_CF : 0) | (af ? FL_AF : 0), FL_CF | FL_AF);
}

static void ascii_adjust(CPU *cpu, bool sub) {
    bool adjust = (al(cpu) & 0xF) > 9 || (flags_arith(cpu) & FL_AF);
    uint32_t ax = cpu->regs[R_EAX] & 0xFFFF;
    /* AX +/- 6 lets a carry/borrow from AL reach AH, then AH +/- 1 (SDM AAA, AAS). */
    if (adjust) ax = sub ? (ax - 6 - 0x100) & 0xFFFF : (ax + 0x106) & 0xFFFF;
    ax = (ax & 0xFF0F);
    reg_write(cpu, R_EAX, 2, ax);
    lf_set(cpu, CC_LOGIC, 1, ax & 0xFF, 0, 0);
    flags_set_arith(cpu, adjust ? (FL_CF | FL_AF) : 0, FL_CF | FL_AF);
}

void op_aaa(CPU *cpu, const Insn *in) {
    (void)in;
    ascii_adjust(cpu, false);
}
void op_aas(CPU *cpu, const Insn *in) {
    (void)in;
    ascii_adjust(cpu, true);
}

void op_aam(CPU *cpu, const Insn *in) {
    uint32_t base = in->imm & 0xFF;
    if (base == 0) cpu_raise(cpu, EXC_DE, -1);
    uint32_t a = al(cpu);
    reg_write(cpu, R_EAX, 2, (a / base) << 8 | (a % base));
    lf_set(cpu, CC_LOGIC, 1, a % base, 0, 0);
}

void op_aad(CPU *cpu, const Insn *in) {
    uint32_t base = in->imm & 0xFF;
    uint32_t a = al(cpu), prod = (((cpu->regs[R_EAX] >> 8) & 0xFF) * base) & 0xFF;
    uint32_t res = (a + prod) & 0xFF;
    reg_write(cpu, R_EAX, 2, res);
    lf_set(cpu, CC_ADD, 1, res, a, prod);
}

void op_salc(CPU *cpu, const Insn *in) {
    (void)in;
    reg_write(cpu, R_EAX, 1, cpu_cf(cpu) ? 0xFF : 0);
}

/* ---------------- bit operations ---------------- */

enum { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static uint32_t bit_apply(int kind, uint32_t v, uint32_t mask) {
    switch (kind) {
    case BT_SET: return v | mask;
    case BT_RESET: return v & ~mask;
    case BT_COMPLEMENT: return v ^ mask;
    default: return v;
    }
}

/* offset: the bit offset; reg_offset: it came from a register, so on a
 * memory operand it may address beyond the operand (signed). */
static void bit_op(CPU *cpu, const Insn *in, int kind, uint32_t offset, bool reg_offset) {
    unsigned size = in->size, bits = size * 8;
    uint32_t bit = offset & (bits - 1), mask = 1u << bit, v;
    if (!in->is_mem) {
        v = reg_read(cpu, in->rm, size);
        if (kind != BT_TEST) reg_write(cpu, in->rm, size, bit_apply(kind, v, mask));
    } else {
        uint32_t ea = insn_ea(cpu, in);
        if (reg_offset) {
            int32_t soff = (int32_t)sext(offset, size);
            ea += (uint32_t)((soff >> (size == 2 ? 4 : 5)) * (int32_t)size);
            if (in->asize == 2) ea &= 0xFFFF;
        }
        int acc = kind == BT_TEST ? ACC_R : ACC_W;
        uint32_t lin = seg_lin(cpu, in->seg, ea, size, acc);
        if (kind != BT_TEST) lin_probe_write(cpu, lin, size, ACC_W);
        v = lin_read(cpu, lin, size, ACC_R);
        if (kind != BT_TEST) lin_write(cpu, lin, size, bit_apply(kind, v, mask), ACC_W);
    }
    flags_set_arith(cpu, (v & mask) ? FL_CF : 0, FL_CF);
}

void op_bt_rm_r(CPU *cpu, const Insn *in) {
    int kind = in->op == 0x1A3 ? BT_TEST : in->op == 0x1AB ? BT_SET : in->op == 0x1B3 ? BT_RESET : BT_COMPLEMENT;
    bit_op(cpu, in, kind, reg_read(cpu, in->reg, in->size), true);
}

void op_bt_rm_imm(CPU *cpu, const Insn *in) { bit_op(cpu, in, in->reg - 4, in->imm & 0xFF, false); }

static void bit_scan(CPU *cpu, const Insn *in, bool reverse) {
    uint32_t v = rm_read(cpu, in, in->size);
    if (v == 0) {
        flags_set_arith(cpu, FL_ZF, FL_ZF);
        return;
    }
    unsigned index = reverse ? 31 - (unsigned)__builtin_clz(v) : (unsigned)__builtin_ctz(v);
    reg_write(cpu, in->reg, in->size, index);
    flags_set_arith(cpu, 0, FL_ZF);
}

void op_bsf(CPU *cpu, const Insn *in) { bit_scan(cpu, in, false); }
void op_bsr(CPU *cpu, const Insn *in) { bit_scan(cpu, in, true); }

void op_setcc(CPU *cpu, const Insn *in) { rm_write(cpu, in, 1, cpu_cond(cpu, in->op & 0xF)); }

void op_cmovcc(CPU *cpu, const Insn *in) {
    uint32_t v = rm_read(cpu, in, in->size); /* read (and fault) even if not taken */
    if (cpu_cond(cpu, in->op & 0xF)) reg_write(cpu, in->reg, in->size, v);
}

void op_bswap(CPU *cpu, const Insn *in) {
    int r = in->op & 7;
    if (in->size == 2) reg_write(cpu, r, 2, 0); /* undefined; P6 clears the low word */
    else cpu->regs[r] = __builtin_bswap32(cpu->regs[r]);
}

void op_flag_op(CPU *cpu, const Insn *in) {
    switch (in->op) {
    case 0xF5: flags_set_arith(cpu, cpu_cf(cpu) ? 0 : FL_CF, FL_CF); break;
    case 0xF8: flags_set_arith(cpu, 0, FL_CF); break;
    case 0xF9: flags_set_arith(cpu, FL_CF, FL_CF); break;
    case 0xFC: cpu->eflags &= ~FL_DF; break;
    default: cpu->eflags |= FL_DF; break;
    }
}

void op_cbw(CPU *cpu, const Insn *in) {
    unsigned half = in->osize / 2;
    reg_write(cpu, R_EAX, in->osize, sext(reg_read(cpu, R_EAX, half), half));
}

void op_cwd(CPU *cpu, const Insn *in) {
    uint32_t sign = reg_read(cpu, R_EAX, in->osize) & size_sign(in->osize);
    reg_write(cpu, R_EDX, in->osize, sign ? 0xFFFFFFFFu : 0);
}

#define LAHF_MASK (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)

void op_lahf(CPU *cpu, const Insn *in) {
    (void)in;
    reg_write(cpu, R_ESP, 1, (flags_arith(cpu) & LAHF_MASK) | 2); /* AH is register 4 in byte size */
}

void op_sahf(CPU *cpu, const Insn *in) {
    (void)in;
    flags_set_arith(cpu, reg_read(cpu, R_ESP, 1), LAHF_MASK);
}

/* ---------------- exchange-and-operate ---------------- */

void op_xadd(CPU *cpu, const Insn *in) {
    unsigned size = in->size;
    RmRef r = rm_ref(cpu, in, size);
    uint32_t d = ref_read(cpu, &r, size), s = reg_read(cpu, in->reg, size);
    uint32_t sum = alu_compute(cpu, ALU_ADD, size, d, s);
    reg_write(cpu, in->reg, size, d);
    ref_write(cpu, &r, size, sum);
}

void op_cmpxchg(CPU *cpu, const Insn *in) {
    unsigned size = in->size;
    RmRef r = rm_ref(cpu, in, size);
    uint32_t d = ref_read(cpu, &r, size), acc = reg_read(cpu, R_EAX, size);
    alu_compute(cpu, ALU_CMP, size, acc, d);
    if (acc == d) {
        ref_write(cpu, &r, size, reg_read(cpu, in->reg, size));
    } else {
        if (r.mem) ref_write(cpu, &r, size, d); /* P6 always writes the destination */
        reg_write(cpu, R_EAX, size, d);
    }
}

void op_cmpxchg8b(CPU *cpu, const Insn *in) {
    if (!in->is_mem) cpu_ud(cpu);
    uint32_t lin = seg_lin(cpu, in->seg, insn_ea(cpu, in), 8, ACC_W);
    lin_probe_write(cpu, lin, 8, ACC_W);
    uint64_t m = lin_read64(cpu, lin, ACC_R);
    uint64_t edx_eax = (uint64_t)cpu->regs[R_EDX] << 32 | cpu->regs[R_EAX];
    if (m == edx_eax) {
        lin_write64(cpu, lin, (uint64_t)cpu->regs[R_ECX] << 32 | cpu->regs[R_EBX], ACC_W);
        flags_set_arith(cpu, FL_ZF, FL_ZF);
    } else {
        lin_write64(cpu, lin, m, ACC_W);
        cpu->regs[R_EAX] = (uint32_t)m;
        cpu->regs[R_EDX] = (uint32_t)(m >> 32);
        flags_set_arith(cpu, 0, FL_ZF);
    }
}
