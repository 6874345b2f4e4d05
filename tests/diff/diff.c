/*
 * diff.c - bt86-diff: differential tests of the CPU core against
 * independent oracles, on random instructions with random state.
 *
 *     bt86-diff --oracle host|unicorn|x87|x87-soft|mmx|sse [--count N] [--seed S] [--verbose]
 *
 * host:    the x86-64 host CPU itself. Register-form user instructions whose
 *          encodings mean the same in 32- and 64-bit mode (no REX bytes, no
 *          instructions that 64-bit mode removed) are assembled into a small
 *          native snippet that loads the random state, runs the instruction
 *          and stores the result; bt86 runs the same bytes in flat 32-bit
 *          protected mode.
 * unicorn: Debian's libunicorn (an independent emulator) in 32-bit mode, on
 *          sequences of instructions with memory operands, 16- and 32-bit
 *          addressing, stack and string instructions (diff_unicorn.c).
 * x87:     the host's x87 unit on random x87 instruction sequences, comparing
 *          FNSAVE images and memory operands (diff_x87.c).
 * mmx:     the host's MMX unit on random MMX instruction sequences (with
 *          EMMS, some x87 and FXSAVE/FXRSTOR), comparing FNSAVE and FXSAVE
 *          images, general registers and memory operands (diff_mmx.c).
 * sse:     the host's SSE unit on random SSE/SSE2/SSE3/SSSE3 sequences with
 *          random MXCSR (exceptions unmasked in half of them): XMM, MMX,
 *          MXCSR, flags, registers, memory and #XM faults (diff_sse.c).
 *
 * Registers and EFLAGS are compared; flags the SDM leaves undefined for an
 * instruction are masked (one table: flag_masks below, with the reasons).
 * A seed reproduces a run; every divergence prints the seed, the test
 * index, the bytes with their disassembly and both states. The last line is
 * "diff-ORACLE: N passed, M failed"; exit status 1 on any failure.
 */
#include "diff.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- random numbers (xorshift64*) ---------------- */

uint64_t rng_next(Rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

uint32_t rng_range(Rng *r, uint32_t n) { return (uint32_t)(rng_next(r) % n); }

/* Random 32-bit value biased toward edge cases. */
uint32_t rng_value(Rng *r) {
    static const uint32_t edges[] = {0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF,
                                     0x10000, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFFEu};
    switch (rng_range(r, 4)) {
    case 0: return edges[rng_range(r, sizeof edges / sizeof edges[0])];
    case 1: return (uint32_t)rng_next(r) & 0xFF;
    default: return (uint32_t)rng_next(r);
    }
}

/* ---------------- undefined-flag masks (SDM Vol. 2 instruction pages) ---------------- */

const FlagMaskRow flag_masks[] = {
    [FC_NONE] = {0, "all flags defined"},
    [FC_LOGIC] = {FLAG_AF, "AND/OR/XOR/TEST: AF undefined"},
    [FC_MUL] = {FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_PF, "MUL/IMUL: SF, ZF, AF, PF undefined"},
    [FC_DIV] = {FLAG_ALL, "DIV/IDIV: all arithmetic flags undefined"},
    [FC_SHIFT1] = {FLAG_AF, "SHL/SHR/SAR by 1: AF undefined"},
    [FC_SHIFTN] = {FLAG_AF | FLAG_OF, "SHL/SHR/SAR by other counts: AF and OF undefined"},
    [FC_ROTN] = {FLAG_OF, "ROL/ROR/RCL/RCR by a count other than 1: OF undefined"},
    [FC_DSHIFT1] = {FLAG_AF, "SHLD/SHRD by 1: AF undefined"},
    [FC_DSHIFTN] = {FLAG_AF | FLAG_OF, "SHLD/SHRD by more than 1: AF, OF undefined"},
    [FC_BT] = {FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF, "BT/BTS/BTR/BTC: OF, SF, AF, PF undefined"},
    [FC_BSF] = {FLAG_CF | FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF, "BSF/BSR: all but ZF undefined"},
    [FC_BCD_ADJ] = {FLAG_OF, "DAA/DAS: OF undefined"},
    [FC_ASCII] = {FLAG_OF | FLAG_SF | FLAG_ZF | FLAG_PF, "AAA/AAS: OF, SF, ZF, PF undefined"},
    [FC_AAM] = {FLAG_OF | FLAG_AF | FLAG_CF, "AAM/AAD: OF, AF, CF undefined"},
};

/* ---------------- the instruction generator ---------------- */

static const uint8_t gpr_no_esp[7] = {0, 1, 2, 3, 5, 6, 7};

static uint8_t pick_reg(Rng *r, unsigned size) {
    return size == 1 ? (uint8_t)rng_range(r, 8) : gpr_no_esp[rng_range(r, 7)];
}

static uint8_t modrm_rr(uint8_t reg, uint8_t rm) { return (uint8_t)(0xC0 | reg << 3 | rm); }

typedef struct Emit {
    uint8_t *b;
    int n;
} Emit;

static void put(Emit *e, uint8_t x) { e->b[e->n++] = x; }
static void put_imm(Emit *e, uint32_t v, unsigned size) {
    for (unsigned i = 0; i < size; i++) put(e, (uint8_t)(v >> (8 * i)));
}

/* Shift-count flag class. */
static int shift_class(unsigned count, unsigned size, bool rotate, bool through_carry) {
    unsigned c = count & 0x1F;
    if (c == 0) return FC_NONE;
    if (rotate) {
        (void)size;
        (void)through_carry;
        return c == 1 ? FC_NONE : FC_ROTN;
    }
    return c == 1 ? FC_SHIFT1 : FC_SHIFTN;
}

/* Would DIV/IDIV of the current state fault? */
static bool div_faults(const DiffState *s, unsigned size, uint32_t divisor, bool is_signed) {
    uint32_t m = size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFF : 0xFF;
    divisor &= m;
    if (divisor == 0) return true;
    if (!is_signed) {
        uint64_t n = size == 1 ? (s->regs[0] & 0xFFFF)
                               : ((uint64_t)(s->regs[2] & m) << (8 * size)) | (s->regs[0] & m);
        return n / divisor > m;
    }
    int64_t n, d = size == 1 ? (int8_t)divisor : size == 2 ? (int16_t)divisor : (int32_t)divisor;
    if (size == 1) n = (int16_t)(s->regs[0] & 0xFFFF);
    else if (size == 2) n = (int32_t)((s->regs[2] & 0xFFFF) << 16 | (s->regs[0] & 0xFFFF));
    else n = (int64_t)((uint64_t)s->regs[2] << 32 | s->regs[0]);
    if (n == INT64_MIN && d == -1) return true;
    int64_t q = n / d, lim = (int64_t)1 << (8 * size - 1);
    return q >= lim || q < -lim;
}

static uint32_t reg_value(const DiffState *s, uint8_t r, unsigned size) {
    if (size == 4) return s->regs[r];
    if (size == 2) return s->regs[r] & 0xFFFF;
    return r < 4 ? s->regs[r] & 0xFF : (s->regs[r - 4] >> 8) & 0xFF;
}

int gen_host_insn(Rng *r, DiffState *s, uint8_t *bytes, int *flag_class) {
    Emit e = {bytes, 0};
    unsigned sizes[3] = {1, 2, 4};
    unsigned size = sizes[rng_range(r, 3)];
    int fc = FC_NONE;
    unsigned family = rng_range(r, 22);
    /* Families without byte forms use 16/32-bit. */
    if (family >= 8 && family != 11 && family != 16 && size == 1) size = 4;
    if (size == 2) put(&e, 0x66);
    bool w = size != 1;
    uint8_t reg = pick_reg(r, size), rm = pick_reg(r, size);
    switch (family) {
    case 0: { /* ALU r/m, reg and reg, r/m */
        unsigned kind = rng_range(r, 8);
        put(&e, (uint8_t)(kind << 3 | (rng_range(r, 2) << 1) | w));
        put(&e, modrm_rr(reg, rm));
        fc = (kind == 1 || kind == 4 || kind == 6) ? FC_LOGIC : FC_NONE;
        break;
    }
    case 1: { /* ALU accumulator, immediate */
        unsigned kind = rng_range(r, 8);
        put(&e, (uint8_t)(kind << 3 | 4 | w));
        put_imm(&e, rng_value(r), size);
        fc = (kind == 1 || kind == 4 || kind == 6) ? FC_LOGIC : FC_NONE;
        break;
    }
    case 2: { /* group 1 with immediates */
        unsigned kind = rng_range(r, 8);
        unsigned form = size == 1 ? 0 : rng_range(r, 2) ? 1 : 3;
        put(&e, (uint8_t)(0x80 | form));
        put(&e, modrm_rr((uint8_t)kind, rm));
        put_imm(&e, rng_value(r), form == 1 ? size : 1);
        fc = (kind == 1 || kind == 4 || kind == 6) ? FC_LOGIC : FC_NONE;
        break;
    }
    case 3: /* TEST */
        if (rng_range(r, 2)) {
            put(&e, (uint8_t)(0x84 | w));
            put(&e, modrm_rr(reg, rm));
        } else {
            put(&e, (uint8_t)(0xF6 | w));
            put(&e, modrm_rr(0, rm));
            put_imm(&e, rng_value(r), size);
        }
        fc = FC_LOGIC;
        break;
    case 4: /* INC/DEC r/m */
        put(&e, (uint8_t)(0xFE | w));
        put(&e, modrm_rr((uint8_t)rng_range(r, 2), rm));
        break;
    case 5: /* NOT/NEG */
        put(&e, (uint8_t)(0xF6 | w));
        put(&e, modrm_rr((uint8_t)(2 + rng_range(r, 2)), rm));
        break;
    case 6: /* MUL/IMUL one operand */
        put(&e, (uint8_t)(0xF6 | w));
        put(&e, modrm_rr((uint8_t)(4 + rng_range(r, 2)), rm));
        fc = FC_MUL;
        break;
    case 7: { /* DIV/IDIV: pick a divisor register that is not part of the dividend,
               * then redraw values until the division does not fault. */
        static const uint8_t div8[6] = {1, 2, 3, 5, 6, 7}, div_wide[5] = {1, 3, 5, 6, 7};
        bool sgn = rng_range(r, 2);
        rm = size == 1 ? div8[rng_range(r, 6)] : div_wide[rng_range(r, 5)];
        int slot = size == 1 && rm >= 4 ? rm - 4 : rm;
        for (int tries = 0; div_faults(s, size, reg_value(s, rm, size), sgn); tries++) {
            s->regs[slot] = rng_value(r) | (tries > 8 ? 0x01010101u : 0);
            if (tries > 4) s->regs[2] = rng_range(r, 2) ? 0 : 0xFFFFFFFFu;
            if (tries > 8) s->regs[0] &= 0x7F;
        }
        put(&e, (uint8_t)(0xF6 | w));
        put(&e, modrm_rr((uint8_t)(6 + sgn), rm));
        fc = FC_DIV;
        break;
    }
    case 8: /* IMUL r, r/m */
        put(&e, 0x0F);
        put(&e, 0xAF);
        put(&e, modrm_rr(reg, rm));
        fc = FC_MUL;
        break;
    case 9: /* IMUL r, r/m, imm */
        if (rng_range(r, 2)) {
            put(&e, 0x69);
            put(&e, modrm_rr(reg, rm));
            put_imm(&e, rng_value(r), size);
        } else {
            put(&e, 0x6B);
            put(&e, modrm_rr(reg, rm));
            put(&e, (uint8_t)rng_value(r));
        }
        fc = FC_MUL;
        break;
    case 10: { /* shifts and rotates, any size */
        if (size == 2 && rng_range(r, 3) == 0) { /* byte forms too */
            e.n = 0;
            size = 1;
            w = false;
            rm = pick_reg(r, 1);
        }
        unsigned kind = rng_range(r, 8), form = rng_range(r, 3), count;
        if (form == 0) {
            put(&e, (uint8_t)(0xC0 | w));
            put(&e, modrm_rr((uint8_t)kind, rm));
            count = rng_range(r, 4) ? rng_range(r, 34) : (uint32_t)rng_next(r) & 0xFF;
            put(&e, (uint8_t)count);
        } else if (form == 1) {
            put(&e, (uint8_t)(0xD0 | w));
            put(&e, modrm_rr((uint8_t)kind, rm));
            count = 1;
        } else {
            put(&e, (uint8_t)(0xD2 | w));
            put(&e, modrm_rr((uint8_t)kind, rm));
            s->regs[1] = (s->regs[1] & ~0xFFu) | (rng_range(r, 4) ? rng_range(r, 34) : rng_range(r, 256));
            count = s->regs[1] & 0xFF;
        }
        fc = shift_class(count, size, kind < 4, kind == 2 || kind == 3);
        break;
    }
    case 11: { /* SETcc */
        e.n = 0;
        put(&e, 0x0F);
        put(&e, (uint8_t)(0x90 | rng_range(r, 16)));
        put(&e, modrm_rr(0, (uint8_t)rng_range(r, 8)));
        break;
    }
    case 12: /* CMOVcc */
        put(&e, 0x0F);
        put(&e, (uint8_t)(0x40 | rng_range(r, 16)));
        put(&e, modrm_rr(reg, rm));
        break;
    case 13: { /* SHLD/SHRD */
        bool right = rng_range(r, 2), cl = rng_range(r, 2);
        unsigned count = rng_range(r, size == 2 ? 17 : 32);
        put(&e, 0x0F);
        put(&e, (uint8_t)((right ? 0xAC : 0xA4) | cl));
        put(&e, modrm_rr(reg, rm));
        if (cl) s->regs[1] = (s->regs[1] & ~0xFFu) | count | (rng_range(r, 2) ? 0x20 : 0);
        else put(&e, (uint8_t)(count | (rng_range(r, 2) ? 0x20 : 0)));
        if (cl && rm == 1) { /* the count register is also the destination: keep the count */
            rm = 3;
            e.b[e.n - 1] = modrm_rr(reg, rm);
        }
        fc = count == 0 ? FC_NONE : count == 1 ? FC_DSHIFT1 : FC_DSHIFTN;
        break;
    }
    case 14: /* BT/BTS/BTR/BTC r/m, r and with imm8 */
        put(&e, 0x0F);
        if (rng_range(r, 2)) {
            put(&e, (uint8_t)(0xA3 | rng_range(r, 4) << 3));
            put(&e, modrm_rr(reg, rm));
        } else {
            put(&e, 0xBA);
            put(&e, modrm_rr((uint8_t)(4 + rng_range(r, 4)), rm));
            put(&e, (uint8_t)rng_next(r));
        }
        fc = FC_BT;
        break;
    case 15: /* BSF/BSR */
        put(&e, 0x0F);
        put(&e, (uint8_t)(0xBC | rng_range(r, 2)));
        put(&e, modrm_rr(reg, rm));
        if (rng_range(r, 4) == 0) s->regs[rm] = 0;
        fc = FC_BSF;
        break;
    case 16: /* XADD / CMPXCHG */
        put(&e, 0x0F);
        put(&e, (uint8_t)((rng_range(r, 2) ? 0xC0 : 0xB0) | w));
        put(&e, modrm_rr(reg, rm));
        break;
    case 17: /* MOVZX / MOVSX */
        put(&e, 0x0F);
        {
            unsigned src = rng_range(r, 2); /* 0: byte, 1: word */
            put(&e, (uint8_t)((rng_range(r, 2) ? 0xBE : 0xB6) | src));
            put(&e, modrm_rr(reg, pick_reg(r, src ? 2 : 1)));
        }
        break;
    case 18: /* BSWAP r32 */
        e.n = 0;
        put(&e, 0x0F);
        put(&e, (uint8_t)(0xC8 | gpr_no_esp[rng_range(r, 7)]));
        break;
    case 19: /* CBW/CWDE, CWD/CDQ */
        put(&e, (uint8_t)(0x98 | rng_range(r, 2)));
        break;
    case 20: { /* LAHF, SAHF, CMC, CLC, STC */
        static const uint8_t ops[5] = {0x9E, 0x9F, 0xF5, 0xF8, 0xF9};
        e.n = 0;
        put(&e, ops[rng_range(r, 5)]);
        break;
    }
    default: /* XCHG */
        if (rng_range(r, 2)) {
            put(&e, (uint8_t)(0x86 | w));
            put(&e, modrm_rr(reg, rm));
        } else if (size != 1) {
            put(&e, (uint8_t)(0x90 | gpr_no_esp[1 + rng_range(r, 6)]));
        } else {
            put(&e, 0x86);
            put(&e, modrm_rr(reg, rm));
        }
        break;
    }
    *flag_class = fc;
    return e.n;
}

/* ---------------- reporting ---------------- */

static csh capstone;

void print_code(const uint8_t *code, int len) {
    cs_insn *insn;
    size_t n = cs_disasm(capstone, code, (size_t)len, 0x1000, 0, &insn);
    printf("  bytes:");
    for (int i = 0; i < len; i++) printf(" %02x", code[i]);
    printf("\n");
    for (size_t i = 0; i < n; i++) printf("    %08lx  %s %s\n", (unsigned long)insn[i].address, insn[i].mnemonic, insn[i].op_str);
    if (n) cs_free(insn, n);
}

void print_state(const char *label, const DiffState *s) {
    static const char *const names[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
    printf("  %-8s", label);
    for (int i = 0; i < 8; i++) printf(" %s=%08x", names[i], s->regs[i]);
    printf(" eflags=%08x\n", s->eflags);
}

int main(int argc, char **argv) {
    const char *oracle = "host";
    uint64_t count = 1000000, seed = 1;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--oracle") == 0 && i + 1 < argc) oracle = argv[++i];
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) count = strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) seed = strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--verbose") == 0) verbose = true;
        else {
            fprintf(stderr, "usage: bt86-diff --oracle host|unicorn|x87|x87-soft|mmx|sse [--count N] [--seed S] [--verbose]\n");
            return 2;
        }
    }
    const char *scale = getenv("BT86_DIFF_SCALE");
    if (scale && atoi(scale) > 1) count /= (uint64_t)atoi(scale);
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &capstone) != CS_ERR_OK) {
        fprintf(stderr, "bt86-diff: capstone failed to open\n");
        return 2;
    }
    DiffResult res = {0};
    int rc;
    if (strcmp(oracle, "host") == 0) rc = run_host_oracle(count, seed, verbose, &res);
    else if (strcmp(oracle, "unicorn") == 0) rc = run_unicorn_oracle(count, seed, verbose, &res);
    else if (strcmp(oracle, "x87") == 0) rc = run_x87_oracle(count, seed, verbose, &res);
    else if (strcmp(oracle, "mmx") == 0) rc = run_mmx_oracle(count, seed, verbose, &res);
    else if (strcmp(oracle, "sse") == 0) rc = run_sse_oracle(count, seed, verbose, &res);
    else if (strcmp(oracle, "x87-soft") == 0) rc = run_x87_soft_oracle(count, seed, verbose, &res);
    else {
        fprintf(stderr, "bt86-diff: unknown oracle '%s'\n", oracle);
        return 2;
    }
    cs_close(&capstone);
    if (rc == DIFF_SKIP) return 77;
    printf("seed %llu: %llu instructions compared; masked differences by class:\n",
           (unsigned long long)seed, (unsigned long long)res.instructions);
    for (int c = 0; c < FC_COUNT; c++)
        if (res.masked[c]) printf("  %-50s %llu\n", flag_masks[c].reason, (unsigned long long)res.masked[c]);
    printf("diff-%s: %llu passed, %llu failed\n", oracle, (unsigned long long)res.passed,
           (unsigned long long)res.failed);
    return res.failed ? 1 : 0;
}
