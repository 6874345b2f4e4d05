/*
 * flags.c - lazy evaluation of the arithmetic flags (see LazyFlags in cpu.h).
 *
 * The last flag-setting operation leaves (op, size, res, a, b); each flag is
 * computed from them only when read. INC and DEC keep CF in cpu->eflags
 * (the handler folds the old CF in before recording the operation) and
 * otherwise behave as ADD/SUB with b = 1. Choices for flags the SDM leaves
 * undefined: AF = 0 after shifts; OF after SHL/SHR by more than one is
 * computed with the one-bit formula.
 */
#include "cpu/core.h"

const uint8_t parity_table[256] = {
#define P2(n) n, n ^ 4, n ^ 4, n
#define P4(n) P2(n), P2(n ^ 4), P2(n ^ 4), P2(n)
#define P6(n) P4(n), P4(n ^ 4), P4(n ^ 4), P4(n)
    P6(4), P6(0), P6(0), P6(4),
#undef P2
#undef P4
#undef P6
};

static inline unsigned size_bits(unsigned size) { return size * 8; }

static bool lazy_cf(const CPU *cpu) {
    const LazyFlags *lf = &cpu->lf;
    uint32_t m = size_mask(lf->size);
    uint32_t a = lf->a & m, b = lf->b & m, res = lf->res;
    switch (lf->op) {
    case CC_EFLAGS:
    case CC_INC:
    case CC_DEC: return cpu->eflags & FL_CF;
    case CC_ADD: return res < a;
    case CC_ADC: return res <= a;
    case CC_SUB: return a < b;
    case CC_SBB: return a <= b;
    case CC_LOGIC: return false;
    case CC_SHL: return ((uint64_t)a << lf->b >> size_bits(lf->size)) & 1;
    case CC_SHR: return (a >> (lf->b - 1)) & 1;
    case CC_SAR: return ((int32_t)sext(a, lf->size) >> (lf->b - 1)) & 1;
    }
    return false;
}

uint32_t flags_arith(CPU *cpu) {
    const LazyFlags *lf = &cpu->lf;
    if (lf->op == CC_EFLAGS) return cpu->eflags & FL_ARITH;
    uint32_t m = size_mask(lf->size), sign = size_sign(lf->size);
    uint32_t a = lf->a & m, b = lf->b & m, res = lf->res;
    uint32_t f = 0;
    if (lazy_cf(cpu)) f |= FL_CF;
    f |= parity_table[res & 0xFF];
    if (res == 0) f |= FL_ZF;
    if (res & sign) f |= FL_SF;
    switch (lf->op) {
    case CC_ADD:
    case CC_ADC:
    case CC_INC:
        if ((a ^ res) & (b ^ res) & sign) f |= FL_OF;
        f |= (a ^ b ^ res) & FL_AF;
        break;
    case CC_SUB:
    case CC_SBB:
    case CC_DEC:
        if ((a ^ b) & (a ^ res) & sign) f |= FL_OF;
        f |= (a ^ b ^ res) & FL_AF;
        break;
    case CC_SHL:
        if (((res & sign) != 0) != ((f & FL_CF) != 0)) f |= FL_OF;
        break;
    case CC_SHR:
        if (a & sign) f |= FL_OF;
        break;
    default: break; /* LOGIC, SAR: OF = AF = 0 */
    }
    return f;
}

void flags_materialize(CPU *cpu) {
    if (cpu->lf.op == CC_EFLAGS) return;
    cpu->eflags = (cpu->eflags & ~FL_ARITH) | flags_arith(cpu);
    cpu->lf.op = CC_EFLAGS;
}

void flags_set_arith(CPU *cpu, uint32_t val, uint32_t mask) {
    mask &= FL_ARITH;
    flags_materialize(cpu);
    cpu->eflags = (cpu->eflags & ~mask) | (val & mask);
}

bool cpu_cf(CPU *cpu) { return lazy_cf(cpu); }

static bool lazy_zf(const CPU *cpu) {
    return cpu->lf.op == CC_EFLAGS ? (cpu->eflags & FL_ZF) != 0 : cpu->lf.res == 0;
}

bool cpu_cond(CPU *cpu, int cc) {
    bool r;
    switch (cc >> 1) {
    case 1: r = lazy_cf(cpu); break;                  /* B */
    case 2: r = lazy_zf(cpu); break;                  /* E */
    case 3: r = lazy_cf(cpu) || lazy_zf(cpu); break;  /* BE */
    default: {
        uint32_t f = flags_arith(cpu);
        bool sf = f & FL_SF, of = f & FL_OF;
        switch (cc >> 1) {
        case 0: r = of; break;                              /* O */
        case 4: r = sf; break;                              /* S */
        case 5: r = f & FL_PF; break;                       /* P */
        case 6: r = sf != of; break;                        /* L */
        default: r = (f & FL_ZF) || sf != of; break;        /* LE */
        }
    }
    }
    return (cc & 1) ? !r : r;
}

uint32_t cpu_get_eflags(CPU *cpu) { return (cpu->eflags & ~FL_ARITH) | flags_arith(cpu) | 2u; }

/* Bits that exist on a P6 (others read as 0; bit 1 reads as 1). */
#define FL_IMPLEMENTED 0x003F7FD7u

void cpu_set_eflags(CPU *cpu, uint32_t val, uint32_t mask) {
    if (mask & FL_ARITH) flags_set_arith(cpu, val, mask & FL_ARITH);
    uint32_t other = mask & ~FL_ARITH & FL_IMPLEMENTED;
    cpu->eflags = ((cpu->eflags & ~other) | (val & other)) | 2u;
}
