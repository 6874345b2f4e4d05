/*
 * decode.c - the x86 instruction decoder: one opcode table, laid out like
 * the SDM's opcode maps (Vol. 2, Appendix A), for the one-byte map
 * (0x000-0x0FF) and the two-byte 0F map (0x100-0x1FF), plus the group
 * tables that ModRM.reg selects, and the mandatory-prefix maps of SSE to
 * SSSE3 (sse_map: 0F, 0F 38 and 0F 3A by prefix). decode_insn() reads prefixes, the opcode,
 * ModRM/SIB, displacement and immediates and produces an Insn (insn.h).
 *
 * Table entry notation: D_M has a ModRM byte, D_B byte-sized operands,
 * D_L LOCK allowed (with a memory destination), D_G group (sub-table by
 * ModRM.reg), D_CR ModRM is always a register form (MOV CRn/DRn), D_END
 * ends a translation block (control transfers, I/O, and instructions that
 * change the mode, IF/TF, the interrupt shadow, DS/ES/SS or the descriptor tables: the
 * dispatcher must look at the machine again after them). The
 * immediate kinds are below. A NULL handler is an undefined opcode (#UD).
 * x87 escapes (D8-DF) decode their ModRM and go to op_fpu_escape.
 *
 * Fact columns (InsnFacts, insn.h), the last argument(s) of E and the
 * kind of EA, copied whole into the Insn: .branch (BranchKind: Jcc, LOOP/
 * JCXZ, JMP/CALL rel, JMP/CALL r/m, RET near, far transfer, software
 * interrupt), the ALU kind (AluKind: EA rows), .sreg (the segment register
 * a MOV/POP Sreg or LxS loads), .flags (AFX_*: reads the arithmetic flags,
 * writes some, all, or all if a shift count is not 0; F_* below) and
 * .block (BLK_GOES_ON: a D_END instruction a block may run through; BLK_STI)
 * and .sys (SysKind: what a virtual machine monitor must do about it).
 * An entry without facts is none of these: no branch, no flags. A group
 * opcode's facts are its group row's, never the map entry's.
 */
#include <string.h>

#include "cpu/ops.h"

enum { D_M = 1, D_B = 2, D_L = 4, D_G = 8, D_CR = 16, D_END = 32 };

enum ImmKind {
    I_NONE,
    I_B,     /* imm8, zero-extended */
    I_BS,    /* imm8, sign-extended */
    I_W,     /* imm16 */
    I_Z,     /* imm16 or imm32 by operand size */
    I_PTR,   /* far pointer: offset (operand size) then selector (imm2) */
    I_MOFFS, /* memory offset of address size, in disp */
    I_ENTER, /* imm16 then imm8 (imm2) */
};

typedef struct OpEntry {
    OpFn fn;
    const char *name;
    uint8_t flags;
    uint8_t imm;
    const struct OpEntry *group;
    InsnFacts facts; /* a group opcode's are in its group table */
} OpEntry;

/* The tables are laid out by hand, like the SDM's maps. */
/* clang-format off */
/* E(handler, name, D_* flags, immediate[, facts]): the facts are
 * designated initializers of InsnFacts (.branch, .sreg, .flags, .block),
 * mostly through the short names below; EA gives the ALU kind instead. */
#define E(fn_, name_, fl_, imm_, ...) {fn_, name_, fl_, imm_, NULL, {.alu = ALU_NONE, __VA_ARGS__}}
#define EA(fn_, name_, fl_, imm_, kind_) \
    {fn_, name_, fl_, imm_, NULL, {.alu = kind_, .flags = ALU_FLAGS(kind_)}}
#define G(tbl_, name_, fl_, imm_) {NULL, name_, (fl_) | D_M | D_G, imm_, tbl_, {.alu = ALU_NONE}}
#define NONE {NULL, "(bad)", 0, I_NONE, NULL, {.alu = ALU_NONE}}

/* ADC and SBB read CF; every ALU operation writes all six flags. */
#define ALU_FLAGS(kind_) ((kind_) == ALU_ADC || (kind_) == ALU_SBB ? AFX_READS | AFX_ALL : AFX_ALL)

/* The eight ALU rows 00-3F share handlers; CMP (38-3D) cannot be locked. */
#define ALU_ROW(name_, kind_, lk_) \
    EA(op_alu_rm_r, name_, D_M | D_B | (lk_), I_NONE, kind_), \
    EA(op_alu_rm_r, name_, D_M | (lk_), I_NONE, kind_), \
    EA(op_alu_r_rm, name_, D_M | D_B, I_NONE, kind_), \
    EA(op_alu_r_rm, name_, D_M, I_NONE, kind_), \
    EA(op_alu_acc_imm, name_, D_B, I_B, kind_), \
    EA(op_alu_acc_imm, name_, 0, I_Z, kind_)

/* Short names for the facts. */
#define F_ALL    .flags = AFX_ALL
#define F_SOME   .flags = AFX_SOME
#define F_COUNT  .flags = AFX_COUNT
#define F_READS  .flags = AFX_READS
#define F_RW     .flags = AFX_READS | AFX_SOME /* reads them, may write some */
#define F_RW_ALL .flags = AFX_READS | AFX_ALL
#define GOES_ON  .block = BLK_GOES_ON
/* Far transfers through gates may switch tasks, saving and loading EFLAGS. */
#define FAR      .branch = BR_FAR, F_RW

/* ---- group tables (indexed by ModRM.reg) ---- */

static const OpEntry grp1[8] = {
    EA(op_alu_rm_imm, "add", D_L, I_NONE, ALU_ADD), EA(op_alu_rm_imm, "or", D_L, I_NONE, ALU_OR),
    EA(op_alu_rm_imm, "adc", D_L, I_NONE, ALU_ADC), EA(op_alu_rm_imm, "sbb", D_L, I_NONE, ALU_SBB),
    EA(op_alu_rm_imm, "and", D_L, I_NONE, ALU_AND), EA(op_alu_rm_imm, "sub", D_L, I_NONE, ALU_SUB),
    EA(op_alu_rm_imm, "xor", D_L, I_NONE, ALU_XOR), EA(op_alu_rm_imm, "cmp", 0, I_NONE, ALU_CMP),
};
static const OpEntry grp1a[8] = {E(op_pop_rm, "pop", 0, I_NONE), NONE, NONE, NONE,
                                 NONE, NONE, NONE, NONE};
/* Group 2 by a count (C0, C1: imm8; D2, D3: CL) and by 1 (D0, D1): they
 * differ in the flags (rotates change only CF and OF). */
static const OpEntry grp2[8] = {
    E(op_shift_rm, "rol", 0, I_NONE, F_SOME),  E(op_shift_rm, "ror", 0, I_NONE, F_SOME),
    E(op_shift_rm, "rcl", 0, I_NONE, F_RW),    E(op_shift_rm, "rcr", 0, I_NONE, F_RW),
    E(op_shift_rm, "shl", 0, I_NONE, F_COUNT), E(op_shift_rm, "shr", 0, I_NONE, F_COUNT),
    E(op_shift_rm, "sal", 0, I_NONE, F_COUNT), E(op_shift_rm, "sar", 0, I_NONE, F_COUNT),
};
static const OpEntry grp2_1[8] = {
    E(op_shift_rm, "rol", 0, I_NONE, F_SOME),  E(op_shift_rm, "ror", 0, I_NONE, F_SOME),
    E(op_shift_rm, "rcl", 0, I_NONE, F_RW),    E(op_shift_rm, "rcr", 0, I_NONE, F_RW),
    E(op_shift_rm, "shl", 0, I_NONE, F_ALL),   E(op_shift_rm, "shr", 0, I_NONE, F_ALL),
    E(op_shift_rm, "sal", 0, I_NONE, F_ALL),   E(op_shift_rm, "sar", 0, I_NONE, F_ALL),
};
static const OpEntry grp3b[8] = {
    EA(op_test_rm_imm, "test", 0, I_B, ALU_TEST), EA(op_test_rm_imm, "test", 0, I_B, ALU_TEST),
    E(op_not_rm, "not", D_L, I_NONE),             E(op_neg_rm, "neg", D_L, I_NONE, F_ALL),
    E(op_mul_rm, "mul", 0, I_NONE, F_ALL),        E(op_imul_rm, "imul", 0, I_NONE, F_ALL),
    E(op_div_rm, "div", 0, I_NONE),               E(op_idiv_rm, "idiv", 0, I_NONE),
};
static const OpEntry grp3v[8] = {
    EA(op_test_rm_imm, "test", 0, I_Z, ALU_TEST), EA(op_test_rm_imm, "test", 0, I_Z, ALU_TEST),
    E(op_not_rm, "not", D_L, I_NONE),             E(op_neg_rm, "neg", D_L, I_NONE, F_ALL),
    E(op_mul_rm, "mul", 0, I_NONE, F_ALL),        E(op_imul_rm, "imul", 0, I_NONE, F_ALL),
    E(op_div_rm, "div", 0, I_NONE),               E(op_idiv_rm, "idiv", 0, I_NONE),
};
static const OpEntry grp4[8] = {
    E(op_inc_rm, "inc", D_L, I_NONE, F_SOME), E(op_dec_rm, "dec", D_L, I_NONE, F_SOME),
    NONE, NONE, NONE, NONE, NONE, NONE,
};
static const OpEntry grp5[8] = {
    E(op_inc_rm, "inc", D_L, I_NONE, F_SOME),
    E(op_dec_rm, "dec", D_L, I_NONE, F_SOME),
    E(op_call_rm, "call", D_END, I_NONE, .branch = BR_CALL_IND),
    E(op_call_far_rm, "callf", D_END, I_NONE, FAR, .sys = SYS_FAR),
    E(op_jmp_rm, "jmp", D_END, I_NONE, .branch = BR_JMP_IND),
    E(op_jmp_far_rm, "jmpf", D_END, I_NONE, FAR, .sys = SYS_FAR),
    E(op_push_rm, "push", 0, I_NONE),
    NONE,
};
/* 8E: MOV Sreg, r/m16 by ModRM.reg (CS, 6 and 7 raise #UD in the handler).
 * MOV SS ends the block: interrupt shadow. */
static const OpEntry grp_mov_sreg[8] = {
    E(op_mov_sreg_rm, "mov", D_END, I_NONE, .sreg = SL_ES, GOES_ON, .sys = SYS_SREG_LOAD),
    E(op_mov_sreg_rm, "mov", D_END, I_NONE, .sys = SYS_SREG_LOAD),
    E(op_mov_sreg_rm, "mov", D_END, I_NONE, .sreg = SL_SS, .sys = SYS_SREG_LOAD),
    E(op_mov_sreg_rm, "mov", D_END, I_NONE, .sreg = SL_DS, GOES_ON, .sys = SYS_SREG_LOAD),
    E(op_mov_sreg_rm, "mov", D_END, I_NONE, .sreg = SL_FS, GOES_ON, .sys = SYS_SREG_LOAD),
    E(op_mov_sreg_rm, "mov", D_END, I_NONE, .sreg = SL_GS, GOES_ON, .sys = SYS_SREG_LOAD),
    E(op_mov_sreg_rm, "mov", D_END, I_NONE, .sys = SYS_SREG_LOAD),
    E(op_mov_sreg_rm, "mov", D_END, I_NONE, .sys = SYS_SREG_LOAD),
};
static const OpEntry grp11[8] = {E(op_mov_rm_imm, "mov", 0, I_NONE), NONE, NONE, NONE,
                                 NONE, NONE, NONE, NONE};
/* 0F 00 (the map entry ends blocks): SLDT, STR, VERR and VERW need not. */
static const OpEntry grp6[8] = {
    E(op_sldt, "sldt", 0, I_NONE, GOES_ON, .sys = SYS_TABLE_READ),
    E(op_str, "str", 0, I_NONE, GOES_ON, .sys = SYS_TABLE_READ),
    E(op_lldt, "lldt", 0, I_NONE, .sys = SYS_DESC_LOAD),
    E(op_ltr, "ltr", 0, I_NONE, .sys = SYS_DESC_LOAD),
    E(op_verr, "verr", 0, I_NONE, F_SOME, GOES_ON, .sys = SYS_SEG_CHECK),
    E(op_verw, "verw", 0, I_NONE, F_SOME, GOES_ON, .sys = SYS_SEG_CHECK),
    NONE,
    NONE,
};
static const OpEntry grp7[8] = {
    E(op_sgdt, "sgdt", 0, I_NONE, .sys = SYS_TABLE_READ), E(op_sidt, "sidt", 0, I_NONE, .sys = SYS_TABLE_READ), E(op_lgdt, "lgdt", 0, I_NONE, .sys = SYS_DESC_LOAD),
    E(op_lidt, "lidt", 0, I_NONE, .sys = SYS_DESC_LOAD), E(op_smsw, "smsw", 0, I_NONE, .sys = SYS_TABLE_READ), NONE,
    E(op_lmsw, "lmsw", 0, I_NONE, .sys = SYS_CR_WRITE), E(op_invlpg, "invlpg", 0, I_NONE, .sys = SYS_INVLPG),
};
static const OpEntry grp8[8] = {
    NONE, NONE, NONE, NONE,
    E(op_bt_rm_imm, "bt", 0, I_NONE, F_SOME),    E(op_bt_rm_imm, "bts", D_L, I_NONE, F_SOME),
    E(op_bt_rm_imm, "btr", D_L, I_NONE, F_SOME), E(op_bt_rm_imm, "btc", D_L, I_NONE, F_SOME),
};
static const OpEntry grp9[8] = {NONE, E(op_cmpxchg8b, "cmpxchg8b", D_L, I_NONE, F_SOME),
                                NONE, NONE, NONE, NONE, NONE, NONE};
/* MMX shifts by imm8 (0F 71, 72, 73): register forms; the handler rejects memory. */
static const OpEntry grp12[8] = {
    NONE, NONE, E(op_mmx_shift_imm, "psrlw", 0, I_NONE), NONE,
    E(op_mmx_shift_imm, "psraw", 0, I_NONE), NONE, E(op_mmx_shift_imm, "psllw", 0, I_NONE), NONE,
};
static const OpEntry grp13[8] = {
    NONE, NONE, E(op_mmx_shift_imm, "psrld", 0, I_NONE), NONE,
    E(op_mmx_shift_imm, "psrad", 0, I_NONE), NONE, E(op_mmx_shift_imm, "pslld", 0, I_NONE), NONE,
};
static const OpEntry grp14[8] = {
    NONE, NONE, E(op_mmx_shift_imm, "psrlq", 0, I_NONE), NONE,
    NONE, NONE, E(op_mmx_shift_imm, "psllq", 0, I_NONE), NONE,
};
/* 0F AE: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR; /5 /6 /7 with a register
 * operand are LFENCE, MFENCE, SFENCE, /7 with memory CLFLUSH (op_fence). */
static const OpEntry grp15[8] = {
    E(op_fxsave, "fxsave", 0, I_NONE), E(op_fxrstor, "fxrstor", 0, I_NONE),
    E(op_ldmxcsr, "ldmxcsr", 0, I_NONE), E(op_stmxcsr, "stmxcsr", 0, I_NONE),
    NONE, E(op_fence, "lfence", 0, I_NONE),
    E(op_fence, "mfence", 0, I_NONE), E(op_fence, "sfence", 0, I_NONE),
};
/* 66 0F 71 / 72 / 73: the XMM shifts by imm8. */
static const OpEntry grp12x[8] = {
    NONE, NONE, E(op_sse_shift_imm, "psrlw", 0, I_NONE), NONE,
    E(op_sse_shift_imm, "psraw", 0, I_NONE), NONE, E(op_sse_shift_imm, "psllw", 0, I_NONE), NONE,
};
static const OpEntry grp13x[8] = {
    NONE, NONE, E(op_sse_shift_imm, "psrld", 0, I_NONE), NONE,
    E(op_sse_shift_imm, "psrad", 0, I_NONE), NONE, E(op_sse_shift_imm, "pslld", 0, I_NONE), NONE,
};
static const OpEntry grp14x[8] = {
    NONE, NONE, E(op_sse_shift_imm, "psrlq", 0, I_NONE), E(op_sse_shift_imm, "psrldq", 0, I_NONE),
    NONE, NONE, E(op_sse_shift_imm, "psllq", 0, I_NONE), E(op_sse_shift_imm, "pslldq", 0, I_NONE),
};

/* ---- the opcode map ---- */

static const OpEntry op_table[512] = {
    /* 00-3F: ALU rows, segment push/pop, prefixes, BCD adjust */
    [0x00] = ALU_ROW("add", ALU_ADD, D_L),
    [0x06] = E(op_push_sreg, "push es", 0, I_NONE, .sys = SYS_SREG_READ),
    [0x07] = E(op_pop_sreg, "pop es", D_END, I_NONE, .sreg = SL_ES, GOES_ON, .sys = SYS_SREG_LOAD),
    [0x08] = ALU_ROW("or", ALU_OR, D_L),
    [0x0E] = E(op_push_sreg, "push cs", 0, I_NONE, .sys = SYS_SREG_READ),
    [0x10] = ALU_ROW("adc", ALU_ADC, D_L),
    [0x16] = E(op_push_sreg, "push ss", 0, I_NONE, .sys = SYS_SREG_READ),
    [0x17] = E(op_pop_sreg, "pop ss", D_END, I_NONE, .sreg = SL_SS, .sys = SYS_SREG_LOAD),
    [0x18] = ALU_ROW("sbb", ALU_SBB, D_L),
    [0x1E] = E(op_push_sreg, "push ds", 0, I_NONE, .sys = SYS_SREG_READ),
    [0x1F] = E(op_pop_sreg, "pop ds", D_END, I_NONE, .sreg = SL_DS, GOES_ON, .sys = SYS_SREG_LOAD),
    [0x20] = ALU_ROW("and", ALU_AND, D_L),
    [0x27] = E(op_daa, "daa", 0, I_NONE, F_RW_ALL),
    [0x28] = ALU_ROW("sub", ALU_SUB, D_L),
    [0x2F] = E(op_das, "das", 0, I_NONE, F_RW_ALL),
    [0x30] = ALU_ROW("xor", ALU_XOR, D_L),
    [0x37] = E(op_aaa, "aaa", 0, I_NONE, F_RW_ALL),
    [0x38] = ALU_ROW("cmp", ALU_CMP, 0),
    [0x3F] = E(op_aas, "aas", 0, I_NONE, F_RW_ALL),

    /* 40-5F: INC/DEC/PUSH/POP register */
    [0x40 ... 0x47] = E(op_inc_r, "inc", 0, I_NONE, F_SOME),
    [0x48 ... 0x4F] = E(op_dec_r, "dec", 0, I_NONE, F_SOME),
    [0x50 ... 0x57] = E(op_push_r, "push", 0, I_NONE),
    [0x58 ... 0x5F] = E(op_pop_r, "pop", 0, I_NONE),

    /* 60-6F */
    [0x60] = E(op_pusha, "pusha", 0, I_NONE),
    [0x61] = E(op_popa, "popa", 0, I_NONE),
    [0x62] = E(op_bound, "bound", D_M, I_NONE),
    [0x63] = E(op_arpl, "arpl", D_M, I_NONE, F_SOME),
    [0x68] = E(op_push_imm, "push", 0, I_Z),
    [0x69] = E(op_imul_r_rm_imm, "imul", D_M, I_Z, F_ALL),
    [0x6A] = E(op_push_imm, "push", 0, I_BS),
    [0x6B] = E(op_imul_r_rm_imm, "imul", D_M, I_BS, F_ALL),
    [0x6C] = E(op_ins, "insb", D_B | D_END, I_NONE, .sys = SYS_IO),
    [0x6D] = E(op_ins, "ins", D_END, I_NONE, .sys = SYS_IO),
    [0x6E] = E(op_outs, "outsb", D_B | D_END, I_NONE, .sys = SYS_IO),
    [0x6F] = E(op_outs, "outs", D_END, I_NONE, .sys = SYS_IO),

    /* 70-7F: Jcc rel8 */
    [0x70 ... 0x7F] = E(op_jcc, "jcc", D_END, I_BS, .branch = BR_JCC, F_READS),

    /* 80-8F */
    [0x80] = G(grp1, "grp1", D_B, I_B),
    [0x81] = G(grp1, "grp1", 0, I_Z),
    [0x82] = G(grp1, "grp1", D_B, I_B),
    [0x83] = G(grp1, "grp1", 0, I_BS),
    [0x84] = EA(op_test_rm_r, "test", D_M | D_B, I_NONE, ALU_TEST),
    [0x85] = EA(op_test_rm_r, "test", D_M, I_NONE, ALU_TEST),
    [0x86] = E(op_xchg_rm_r, "xchg", D_M | D_B | D_L, I_NONE),
    [0x87] = E(op_xchg_rm_r, "xchg", D_M | D_L, I_NONE),
    [0x88] = E(op_mov_rm_r, "mov", D_M | D_B, I_NONE),
    [0x89] = E(op_mov_rm_r, "mov", D_M, I_NONE),
    [0x8A] = E(op_mov_r_rm, "mov", D_M | D_B, I_NONE),
    [0x8B] = E(op_mov_r_rm, "mov", D_M, I_NONE),
    [0x8C] = E(op_mov_rm_sreg, "mov", D_M, I_NONE, .sys = SYS_SREG_READ),
    [0x8D] = E(op_lea, "lea", D_M, I_NONE),
    [0x8E] = G(grp_mov_sreg, "mov", 0, I_NONE),
    [0x8F] = G(grp1a, "grp1a", 0, I_NONE),

    /* 90-9F */
    [0x90] = E(op_nop, "nop", 0, I_NONE),
    [0x91 ... 0x97] = E(op_xchg_r_acc, "xchg", 0, I_NONE),
    [0x98] = E(op_cbw, "cbw", 0, I_NONE),
    [0x99] = E(op_cwd, "cwd", 0, I_NONE),
    [0x9A] = E(op_call_far_imm, "callf", D_END, I_PTR, FAR, .sys = SYS_FAR),
    [0x9B] = E(op_fwait, "fwait", 0, I_NONE),
    [0x9C] = E(op_pushf, "pushf", 0, I_NONE, F_READS, .sys = SYS_FLAGS),
    [0x9D] = E(op_popf, "popf", D_END, I_NONE, F_ALL, GOES_ON, .sys = SYS_FLAGS),
    [0x9E] = E(op_sahf, "sahf", 0, I_NONE, F_SOME),
    [0x9F] = E(op_lahf, "lahf", 0, I_NONE, F_READS),

    /* A0-AF: moffs moves, string instructions, TEST accumulator */
    [0xA0] = E(op_mov_acc_moffs, "mov", D_B, I_MOFFS),
    [0xA1] = E(op_mov_acc_moffs, "mov", 0, I_MOFFS),
    [0xA2] = E(op_mov_moffs_acc, "mov", D_B, I_MOFFS),
    [0xA3] = E(op_mov_moffs_acc, "mov", 0, I_MOFFS),
    [0xA4] = E(op_movs, "movsb", D_B, I_NONE),
    [0xA5] = E(op_movs, "movs", 0, I_NONE),
    [0xA6] = E(op_cmps, "cmpsb", D_B, I_NONE, F_ALL),
    [0xA7] = E(op_cmps, "cmps", 0, I_NONE, F_ALL),
    [0xA8] = EA(op_test_acc_imm, "test", D_B, I_B, ALU_TEST),
    [0xA9] = EA(op_test_acc_imm, "test", 0, I_Z, ALU_TEST),
    [0xAA] = E(op_stos, "stosb", D_B, I_NONE),
    [0xAB] = E(op_stos, "stos", 0, I_NONE),
    [0xAC] = E(op_lods, "lodsb", D_B, I_NONE),
    [0xAD] = E(op_lods, "lods", 0, I_NONE),
    [0xAE] = E(op_scas, "scasb", D_B, I_NONE, F_ALL),
    [0xAF] = E(op_scas, "scas", 0, I_NONE, F_ALL),

    /* B0-BF: MOV register, immediate */
    [0xB0 ... 0xB7] = E(op_mov_r_imm, "mov", D_B, I_B),
    [0xB8 ... 0xBF] = E(op_mov_r_imm, "mov", 0, I_Z),

    /* C0-CF */
    [0xC0] = G(grp2, "grp2", D_B, I_B),
    [0xC1] = G(grp2, "grp2", 0, I_B),
    [0xC2] = E(op_ret_near, "ret", D_END, I_W, .branch = BR_RET),
    [0xC3] = E(op_ret_near, "ret", D_END, I_NONE, .branch = BR_RET),
    [0xC4] = E(op_load_far_ptr, "les", D_M | D_END, I_NONE, .sreg = SL_ES),
    [0xC5] = E(op_load_far_ptr, "lds", D_M | D_END, I_NONE, .sreg = SL_DS),
    [0xC6] = G(grp11, "grp11", D_B, I_B),
    [0xC7] = G(grp11, "grp11", 0, I_Z),
    [0xC8] = E(op_enter, "enter", 0, I_ENTER),
    [0xC9] = E(op_leave, "leave", 0, I_NONE),
    [0xCA] = E(op_ret_far, "retf", D_END, I_W, .branch = BR_FAR, .sys = SYS_FAR),
    [0xCB] = E(op_ret_far, "retf", D_END, I_NONE, .branch = BR_FAR, .sys = SYS_FAR),
    [0xCC] = E(op_int3, "int3", D_END, I_NONE, .branch = BR_INT, F_RW, .sys = SYS_INT),
    [0xCD] = E(op_int, "int", D_END, I_B, .branch = BR_INT, F_RW, .sys = SYS_INT),
    [0xCE] = E(op_into, "into", D_END, I_NONE, .branch = BR_INT, F_RW, .sys = SYS_INT),
    [0xCF] = E(op_iret, "iret", D_END, I_NONE, .branch = BR_FAR, F_RW_ALL, .sys = SYS_IRET),

    /* D0-DF: shifts by 1 / CL, AAM/AAD, SALC, XLAT, x87 escapes */
    [0xD0] = G(grp2_1, "grp2", D_B, I_NONE),
    [0xD1] = G(grp2_1, "grp2", 0, I_NONE),
    [0xD2] = G(grp2, "grp2", D_B, I_NONE),
    [0xD3] = G(grp2, "grp2", 0, I_NONE),
    [0xD4] = E(op_aam, "aam", 0, I_B, F_ALL),
    [0xD5] = E(op_aad, "aad", 0, I_B, F_ALL),
    [0xD6] = E(op_salc, "salc", 0, I_NONE, F_READS),
    [0xD7] = E(op_xlat, "xlat", 0, I_NONE),
    [0xD8 ... 0xDF] = E(op_fpu_escape, "esc", D_M, I_NONE, F_RW) /* FCMOVcc, FCOMI */,

    /* E0-EF: loops, I/O, near/far jumps and calls */
    [0xE0] = E(op_loop, "loopne", D_END, I_BS, .branch = BR_LOOP, F_READS),
    [0xE1] = E(op_loop, "loope", D_END, I_BS, .branch = BR_LOOP, F_READS),
    [0xE2] = E(op_loop, "loop", D_END, I_BS, .branch = BR_LOOP),
    [0xE3] = E(op_jcxz, "jcxz", D_END, I_BS, .branch = BR_LOOP),
    [0xE4] = E(op_in, "in", D_B | D_END, I_B, .sys = SYS_IO),
    [0xE5] = E(op_in, "in", D_END, I_B, .sys = SYS_IO),
    [0xE6] = E(op_out, "out", D_B | D_END, I_B, .sys = SYS_IO),
    [0xE7] = E(op_out, "out", D_END, I_B, .sys = SYS_IO),
    [0xE8] = E(op_call_rel, "call", D_END, I_Z, .branch = BR_CALL),
    [0xE9] = E(op_jmp_rel, "jmp", D_END, I_Z, .branch = BR_JMP),
    [0xEA] = E(op_jmp_far_imm, "jmpf", D_END, I_PTR, FAR, .sys = SYS_FAR),
    [0xEB] = E(op_jmp_rel, "jmp", D_END, I_BS, .branch = BR_JMP),
    [0xEC] = E(op_in, "in", D_B | D_END, I_NONE, .sys = SYS_IO),
    [0xED] = E(op_in, "in", D_END, I_NONE, .sys = SYS_IO),
    [0xEE] = E(op_out, "out", D_B | D_END, I_NONE, .sys = SYS_IO),
    [0xEF] = E(op_out, "out", D_END, I_NONE, .sys = SYS_IO),

    /* F0-FF */
    [0xF1] = E(op_int1, "int1", D_END, I_NONE, .branch = BR_INT, F_RW, .sys = SYS_INT),
    [0xF4] = E(op_hlt, "hlt", D_END, I_NONE, .sys = SYS_HLT),
    [0xF5] = E(op_flag_op, "cmc", 0, I_NONE, F_RW),
    [0xF6] = G(grp3b, "grp3", D_B, I_NONE),
    [0xF7] = G(grp3v, "grp3", 0, I_NONE),
    [0xF8] = E(op_flag_op, "clc", 0, I_NONE, F_SOME),
    [0xF9] = E(op_flag_op, "stc", 0, I_NONE, F_SOME),
    [0xFA] = E(op_cli, "cli", D_END, I_NONE, GOES_ON, .sys = SYS_CLI_STI),
    [0xFB] = E(op_sti, "sti", D_END, I_NONE, .block = BLK_STI, .sys = SYS_CLI_STI),
    [0xFC] = E(op_flag_op, "cld", 0, I_NONE),
    [0xFD] = E(op_flag_op, "std", 0, I_NONE),
    [0xFE] = G(grp4, "grp4", D_B, I_NONE),
    [0xFF] = G(grp5, "grp5", 0, I_NONE),

    /* ---- two-byte map, 0F xx ---- */
    [0x100] = G(grp6, "grp6", D_END, I_NONE),
    [0x101] = G(grp7, "grp7", D_END, I_NONE),
    [0x102] = E(op_lar, "lar", D_M, I_NONE, F_SOME, .sys = SYS_SEG_CHECK),
    [0x103] = E(op_lsl, "lsl", D_M, I_NONE, F_SOME, .sys = SYS_SEG_CHECK),
    [0x106] = E(op_clts, "clts", D_END, I_NONE, .sys = SYS_CR_WRITE),
    [0x108] = E(op_invd, "invd", D_END, I_NONE, .sys = SYS_CACHE),
    [0x109] = E(op_invd, "wbinvd", D_END, I_NONE, .sys = SYS_CACHE),
    [0x10B] = E(op_ud, "ud2", D_END, I_NONE),
    [0x118] = E(op_nop, "prefetch", D_M, I_NONE), /* PREFETCHh: hints, no cache here */
    [0x119 ... 0x11F] = E(op_nop, "nop", D_M, I_NONE),
    [0x120] = E(op_mov_r_cr, "mov", D_M | D_CR | D_END, I_NONE, .sys = SYS_CR_READ),
    [0x121] = E(op_mov_r_dr, "mov", D_M | D_CR | D_END, I_NONE, .sys = SYS_DR),
    [0x122] = E(op_mov_cr_r, "mov", D_M | D_CR | D_END, I_NONE, .sys = SYS_CR_WRITE),
    [0x123] = E(op_mov_dr_r, "mov", D_M | D_CR | D_END, I_NONE, .sys = SYS_DR),
    [0x130] = E(op_wrmsr, "wrmsr", D_END, I_NONE, .sys = SYS_MSR),
    [0x131] = E(op_rdtsc, "rdtsc", 0, I_NONE),
    [0x132] = E(op_rdmsr, "rdmsr", 0, I_NONE, .sys = SYS_MSR),
    [0x133] = E(op_rdpmc, "rdpmc", 0, I_NONE),
    [0x134] = E(op_sysenter, "sysenter", D_END, I_NONE, .branch = BR_FAR, .sys = SYS_INT),
    [0x135] = E(op_sysexit, "sysexit", D_END, I_NONE, .branch = BR_FAR, .sys = SYS_SYSEXIT),
    [0x140 ... 0x14F] = E(op_cmovcc, "cmovcc", D_M, I_NONE, F_READS),
    /* 0F 60-7F: MMX (0F 6C, 6D, 70, 78-7D are not Pentium II instructions) */
    [0x160] = E(op_mmx_arith, "punpcklbw", D_M, I_NONE),
    [0x161] = E(op_mmx_arith, "punpcklwd", D_M, I_NONE),
    [0x162] = E(op_mmx_arith, "punpckldq", D_M, I_NONE),
    [0x163] = E(op_mmx_arith, "packsswb", D_M, I_NONE),
    [0x164] = E(op_mmx_arith, "pcmpgtb", D_M, I_NONE),
    [0x165] = E(op_mmx_arith, "pcmpgtw", D_M, I_NONE),
    [0x166] = E(op_mmx_arith, "pcmpgtd", D_M, I_NONE),
    [0x167] = E(op_mmx_arith, "packuswb", D_M, I_NONE),
    [0x168] = E(op_mmx_arith, "punpckhbw", D_M, I_NONE),
    [0x169] = E(op_mmx_arith, "punpckhwd", D_M, I_NONE),
    [0x16A] = E(op_mmx_arith, "punpckhdq", D_M, I_NONE),
    [0x16B] = E(op_mmx_arith, "packssdw", D_M, I_NONE),
    [0x16E] = E(op_movd_mm_rm, "movd", D_M, I_NONE),
    [0x16F] = E(op_movq_mm_mmm, "movq", D_M, I_NONE),
    [0x171] = G(grp12, "grp12", 0, I_B),
    [0x172] = G(grp13, "grp13", 0, I_B),
    [0x173] = G(grp14, "grp14", 0, I_B),
    [0x174] = E(op_mmx_arith, "pcmpeqb", D_M, I_NONE),
    [0x175] = E(op_mmx_arith, "pcmpeqw", D_M, I_NONE),
    [0x176] = E(op_mmx_arith, "pcmpeqd", D_M, I_NONE),
    [0x177] = E(op_emms, "emms", 0, I_NONE),
    [0x17E] = E(op_movd_rm_mm, "movd", D_M, I_NONE),
    [0x17F] = E(op_movq_mmm_mm, "movq", D_M, I_NONE),
    [0x180 ... 0x18F] = E(op_jcc, "jcc", D_END, I_Z, .branch = BR_JCC, F_READS),
    [0x190 ... 0x19F] = E(op_setcc, "setcc", D_M | D_B, I_NONE, F_READS),
    [0x1A0] = E(op_push_sreg, "push fs", 0, I_NONE, .sys = SYS_SREG_READ),
    [0x1A1] = E(op_pop_sreg, "pop fs", D_END, I_NONE, .sreg = SL_FS, GOES_ON, .sys = SYS_SREG_LOAD),
    [0x1A2] = E(op_cpuid, "cpuid", 0, I_NONE, .sys = SYS_CPUID),
    [0x1A3] = E(op_bt_rm_r, "bt", D_M, I_NONE, F_SOME),
    [0x1A4] = E(op_shld, "shld", D_M, I_B, F_COUNT),
    [0x1A5] = E(op_shld, "shld", D_M, I_NONE, F_COUNT),
    [0x1A8] = E(op_push_sreg, "push gs", 0, I_NONE, .sys = SYS_SREG_READ),
    [0x1A9] = E(op_pop_sreg, "pop gs", D_END, I_NONE, .sreg = SL_GS, GOES_ON, .sys = SYS_SREG_LOAD),
    [0x1AB] = E(op_bt_rm_r, "bts", D_M | D_L, I_NONE, F_SOME),
    [0x1AC] = E(op_shrd, "shrd", D_M, I_B, F_COUNT),
    [0x1AD] = E(op_shrd, "shrd", D_M, I_NONE, F_COUNT),
    [0x1AE] = G(grp15, "grp15", 0, I_NONE),
    [0x1AF] = E(op_imul_r_rm, "imul", D_M, I_NONE, F_ALL),
    [0x1B0] = E(op_cmpxchg, "cmpxchg", D_M | D_B | D_L, I_NONE, F_ALL),
    [0x1B1] = E(op_cmpxchg, "cmpxchg", D_M | D_L, I_NONE, F_ALL),
    [0x1B2] = E(op_load_far_ptr, "lss", D_M | D_END, I_NONE, .sreg = SL_SS),
    [0x1B3] = E(op_bt_rm_r, "btr", D_M | D_L, I_NONE, F_SOME),
    [0x1B4] = E(op_load_far_ptr, "lfs", D_M | D_END, I_NONE, .sreg = SL_FS),
    [0x1B5] = E(op_load_far_ptr, "lgs", D_M | D_END, I_NONE, .sreg = SL_GS),
    [0x1B6] = E(op_movzx, "movzx", D_M, I_NONE),
    [0x1B7] = E(op_movzx, "movzx", D_M, I_NONE),
    [0x1B9] = E(op_ud, "ud1", 0, I_NONE),
    [0x1BA] = G(grp8, "grp8", 0, I_B),
    [0x1BB] = E(op_bt_rm_r, "btc", D_M | D_L, I_NONE, F_SOME),
    [0x1BC] = E(op_bsf, "bsf", D_M, I_NONE, F_SOME),
    [0x1BD] = E(op_bsr, "bsr", D_M, I_NONE, F_SOME),
    [0x1BE] = E(op_movsx, "movsx", D_M, I_NONE),
    [0x1BF] = E(op_movsx, "movsx", D_M, I_NONE),
    [0x1C0] = E(op_xadd, "xadd", D_M | D_B | D_L, I_NONE, F_ALL),
    [0x1C1] = E(op_xadd, "xadd", D_M | D_L, I_NONE, F_ALL),
    [0x1C7] = G(grp9, "grp9", 0, I_NONE),
    [0x1C8 ... 0x1CF] = E(op_bswap, "bswap", 0, I_NONE),

    /* 0F D0-FF: MMX (the SSE/SSE2 rows here are not Pentium II instructions) */
    [0x1D1] = E(op_mmx_arith, "psrlw", D_M, I_NONE),
    [0x1D2] = E(op_mmx_arith, "psrld", D_M, I_NONE),
    [0x1D3] = E(op_mmx_arith, "psrlq", D_M, I_NONE),
    [0x1D5] = E(op_mmx_arith, "pmullw", D_M, I_NONE),
    [0x1D8] = E(op_mmx_arith, "psubusb", D_M, I_NONE),
    [0x1D9] = E(op_mmx_arith, "psubusw", D_M, I_NONE),
    [0x1DB] = E(op_mmx_arith, "pand", D_M, I_NONE),
    [0x1DC] = E(op_mmx_arith, "paddusb", D_M, I_NONE),
    [0x1DD] = E(op_mmx_arith, "paddusw", D_M, I_NONE),
    [0x1DF] = E(op_mmx_arith, "pandn", D_M, I_NONE),
    [0x1E1] = E(op_mmx_arith, "psraw", D_M, I_NONE),
    [0x1E2] = E(op_mmx_arith, "psrad", D_M, I_NONE),
    [0x1E5] = E(op_mmx_arith, "pmulhw", D_M, I_NONE),
    [0x1E8] = E(op_mmx_arith, "psubsb", D_M, I_NONE),
    [0x1E9] = E(op_mmx_arith, "psubsw", D_M, I_NONE),
    [0x1EB] = E(op_mmx_arith, "por", D_M, I_NONE),
    [0x1EC] = E(op_mmx_arith, "paddsb", D_M, I_NONE),
    [0x1ED] = E(op_mmx_arith, "paddsw", D_M, I_NONE),
    [0x1EF] = E(op_mmx_arith, "pxor", D_M, I_NONE),
    [0x1F1] = E(op_mmx_arith, "psllw", D_M, I_NONE),
    [0x1F2] = E(op_mmx_arith, "pslld", D_M, I_NONE),
    [0x1F3] = E(op_mmx_arith, "psllq", D_M, I_NONE),
    [0x1F5] = E(op_mmx_arith, "pmaddwd", D_M, I_NONE),
    [0x1F8] = E(op_mmx_arith, "psubb", D_M, I_NONE),
    [0x1F9] = E(op_mmx_arith, "psubw", D_M, I_NONE),
    [0x1FA] = E(op_mmx_arith, "psubd", D_M, I_NONE),
    [0x1FC] = E(op_mmx_arith, "paddb", D_M, I_NONE),
    [0x1FD] = E(op_mmx_arith, "paddw", D_M, I_NONE),
    [0x1FE] = E(op_mmx_arith, "paddd", D_M, I_NONE),
};


/* ---- the mandatory-prefix maps: SSE, SSE2, SSE3, SSSE3 ----
 * sse_map[class][index - 0x100] for index 0x100-0x3FF: the 0F map, then
 * the three-byte maps 0F 38 (0x200-0x2FF) and 0F 3A (0x300-0x3FF). The
 * class is the mandatory prefix (PFX_*, insn.h): the last F2/F3 if any,
 * else 66, else none. The decoder takes the row of the instruction's class,
 * else the row without prefix, else op_table's (the Pentium II rows, MMX
 * included, ignore these prefixes). The handlers' names say the operand
 * shapes (ops.h); each computes by running the instruction on the host
 * (cpu/sse.h) except the moves named for what they do. */
#define S(pfx_, idx_) [PFX_##pfx_][(idx_) - 0x100]
#define SX(fn_, name_)  E(fn_, name_, D_M, I_NONE)
#define SXI(fn_, name_) E(fn_, name_, D_M, I_B)
#define SCMP(fn_, name_) E(fn_, name_, D_M, I_NONE, F_ALL) /* COMISS & co. write ZF PF CF, clear OF SF AF */
static const OpEntry sse_map[4][0x300] = {
    /* ---- no prefix: SSE on packed single, SSE/SSE2 integer on MMX registers ---- */
    S(NONE, 0x110) = SX(op_sse_xx128u, "movups"),
    S(NONE, 0x111) = SX(op_sse_store, "movups"),
    S(NONE, 0x112) = SX(op_sse_movlh_load, "movlps"), /* register form: MOVHLPS */
    S(NONE, 0x113) = SX(op_sse_store, "movlps"),
    S(NONE, 0x114) = SX(op_sse_xx128a, "unpcklps"),
    S(NONE, 0x115) = SX(op_sse_xx128a, "unpckhps"),
    S(NONE, 0x116) = SX(op_sse_movlh_load, "movhps"), /* register form: MOVLHPS */
    S(NONE, 0x117) = SX(op_sse_store, "movhps"),
    S(NONE, 0x128) = SX(op_sse_xx128a, "movaps"),
    S(NONE, 0x129) = SX(op_sse_store, "movaps"),
    S(NONE, 0x12A) = SX(op_sse_xm64, "cvtpi2ps"),
    S(NONE, 0x12B) = SX(op_sse_store, "movntps"),
    S(NONE, 0x12C) = SX(op_sse_mx64, "cvttps2pi"),
    S(NONE, 0x12D) = SX(op_sse_mx64, "cvtps2pi"),
    S(NONE, 0x12E) = SCMP(op_sse_xx32, "ucomiss"),
    S(NONE, 0x12F) = SCMP(op_sse_xx32, "comiss"),
    S(NONE, 0x150) = SX(op_sse_gxreg, "movmskps"),
    S(NONE, 0x151) = SX(op_sse_xx128a, "sqrtps"),
    S(NONE, 0x152) = SX(op_sse_xx128a, "rsqrtps"),
    S(NONE, 0x153) = SX(op_sse_xx128a, "rcpps"),
    S(NONE, 0x154) = SX(op_sse_xx128a, "andps"),
    S(NONE, 0x155) = SX(op_sse_xx128a, "andnps"),
    S(NONE, 0x156) = SX(op_sse_xx128a, "orps"),
    S(NONE, 0x157) = SX(op_sse_xx128a, "xorps"),
    S(NONE, 0x158) = SX(op_sse_xx128a, "addps"),
    S(NONE, 0x159) = SX(op_sse_xx128a, "mulps"),
    S(NONE, 0x15A) = SX(op_sse_xx64, "cvtps2pd"),
    S(NONE, 0x15B) = SX(op_sse_xx128a, "cvtdq2ps"),
    S(NONE, 0x15C) = SX(op_sse_xx128a, "subps"),
    S(NONE, 0x15D) = SX(op_sse_xx128a, "minps"),
    S(NONE, 0x15E) = SX(op_sse_xx128a, "divps"),
    S(NONE, 0x15F) = SX(op_sse_xx128a, "maxps"),
    S(NONE, 0x170) = SXI(op_sse_mm64, "pshufw"),
    S(NONE, 0x1C2) = SXI(op_sse_xx128a, "cmpps"),
    S(NONE, 0x1C3) = SX(op_movnti, "movnti"),
    S(NONE, 0x1C4) = SXI(op_sse_mg16, "pinsrw"),
    S(NONE, 0x1C5) = SXI(op_sse_gmreg, "pextrw"),
    S(NONE, 0x1C6) = SXI(op_sse_xx128a, "shufps"),
    S(NONE, 0x1D4) = SX(op_sse_mm64, "paddq"),
    S(NONE, 0x1D7) = SX(op_sse_gmreg, "pmovmskb"),
    S(NONE, 0x1DA) = SX(op_sse_mm64, "pminub"),
    S(NONE, 0x1DE) = SX(op_sse_mm64, "pmaxub"),
    S(NONE, 0x1E0) = SX(op_sse_mm64, "pavgb"),
    S(NONE, 0x1E3) = SX(op_sse_mm64, "pavgw"),
    S(NONE, 0x1E4) = SX(op_sse_mm64, "pmulhuw"),
    S(NONE, 0x1E7) = SX(op_movntq, "movntq"),
    S(NONE, 0x1EA) = SX(op_sse_mm64, "pminsw"),
    S(NONE, 0x1EE) = SX(op_sse_mm64, "pmaxsw"),
    S(NONE, 0x1F4) = SX(op_sse_mm64, "pmuludq"),
    S(NONE, 0x1F6) = SX(op_sse_mm64, "psadbw"),
    S(NONE, 0x1F7) = SX(op_maskmov, "maskmovq"),
    S(NONE, 0x1FB) = SX(op_sse_mm64, "psubq"),
    /* SSSE3 on MMX registers: 0F 38 00-0B, 1C-1E; 0F 3A 0F */
    S(NONE, 0x200) = SX(op_sse_mm64, "pshufb"),
    S(NONE, 0x201) = SX(op_sse_mm64, "phaddw"),
    S(NONE, 0x202) = SX(op_sse_mm64, "phaddd"),
    S(NONE, 0x203) = SX(op_sse_mm64, "phaddsw"),
    S(NONE, 0x204) = SX(op_sse_mm64, "pmaddubsw"),
    S(NONE, 0x205) = SX(op_sse_mm64, "phsubw"),
    S(NONE, 0x206) = SX(op_sse_mm64, "phsubd"),
    S(NONE, 0x207) = SX(op_sse_mm64, "phsubsw"),
    S(NONE, 0x208) = SX(op_sse_mm64, "psignb"),
    S(NONE, 0x209) = SX(op_sse_mm64, "psignw"),
    S(NONE, 0x20A) = SX(op_sse_mm64, "psignd"),
    S(NONE, 0x20B) = SX(op_sse_mm64, "pmulhrsw"),
    S(NONE, 0x21C) = SX(op_sse_mm64, "pabsb"),
    S(NONE, 0x21D) = SX(op_sse_mm64, "pabsw"),
    S(NONE, 0x21E) = SX(op_sse_mm64, "pabsd"),
    S(NONE, 0x30F) = SXI(op_sse_mm64, "palignr"),

    /* ---- 66: SSE2 on packed double and on XMM integers ---- */
    S(66, 0x110) = SX(op_sse_xx128u, "movupd"),
    S(66, 0x111) = SX(op_sse_store, "movupd"),
    S(66, 0x112) = SX(op_sse_movlh_load, "movlpd"),
    S(66, 0x113) = SX(op_sse_store, "movlpd"),
    S(66, 0x114) = SX(op_sse_xx128a, "unpcklpd"),
    S(66, 0x115) = SX(op_sse_xx128a, "unpckhpd"),
    S(66, 0x116) = SX(op_sse_movlh_load, "movhpd"),
    S(66, 0x117) = SX(op_sse_store, "movhpd"),
    S(66, 0x128) = SX(op_sse_xx128a, "movapd"),
    S(66, 0x129) = SX(op_sse_store, "movapd"),
    S(66, 0x12A) = SX(op_sse_xm64, "cvtpi2pd"),
    S(66, 0x12B) = SX(op_sse_store, "movntpd"),
    S(66, 0x12C) = SX(op_sse_mx128a, "cvttpd2pi"),
    S(66, 0x12D) = SX(op_sse_mx128a, "cvtpd2pi"),
    S(66, 0x12E) = SCMP(op_sse_xx64, "ucomisd"),
    S(66, 0x12F) = SCMP(op_sse_xx64, "comisd"),
    S(66, 0x150) = SX(op_sse_gxreg, "movmskpd"),
    S(66, 0x151) = SX(op_sse_xx128a, "sqrtpd"),
    S(66, 0x154) = SX(op_sse_xx128a, "andpd"),
    S(66, 0x155) = SX(op_sse_xx128a, "andnpd"),
    S(66, 0x156) = SX(op_sse_xx128a, "orpd"),
    S(66, 0x157) = SX(op_sse_xx128a, "xorpd"),
    S(66, 0x158) = SX(op_sse_xx128a, "addpd"),
    S(66, 0x159) = SX(op_sse_xx128a, "mulpd"),
    S(66, 0x15A) = SX(op_sse_xx128a, "cvtpd2ps"),
    S(66, 0x15B) = SX(op_sse_xx128a, "cvtps2dq"),
    S(66, 0x15C) = SX(op_sse_xx128a, "subpd"),
    S(66, 0x15D) = SX(op_sse_xx128a, "minpd"),
    S(66, 0x15E) = SX(op_sse_xx128a, "divpd"),
    S(66, 0x15F) = SX(op_sse_xx128a, "maxpd"),
    S(66, 0x160) = SX(op_sse_xx128a, "punpcklbw"),
    S(66, 0x161) = SX(op_sse_xx128a, "punpcklwd"),
    S(66, 0x162) = SX(op_sse_xx128a, "punpckldq"),
    S(66, 0x163) = SX(op_sse_xx128a, "packsswb"),
    S(66, 0x164) = SX(op_sse_xx128a, "pcmpgtb"),
    S(66, 0x165) = SX(op_sse_xx128a, "pcmpgtw"),
    S(66, 0x166) = SX(op_sse_xx128a, "pcmpgtd"),
    S(66, 0x167) = SX(op_sse_xx128a, "packuswb"),
    S(66, 0x168) = SX(op_sse_xx128a, "punpckhbw"),
    S(66, 0x169) = SX(op_sse_xx128a, "punpckhwd"),
    S(66, 0x16A) = SX(op_sse_xx128a, "punpckhdq"),
    S(66, 0x16B) = SX(op_sse_xx128a, "packssdw"),
    S(66, 0x16C) = SX(op_sse_xx128a, "punpcklqdq"),
    S(66, 0x16D) = SX(op_sse_xx128a, "punpckhqdq"),
    S(66, 0x16E) = SX(op_sse_xg32, "movd"),
    S(66, 0x16F) = SX(op_sse_xx128a, "movdqa"),
    S(66, 0x170) = SXI(op_sse_xx128a, "pshufd"),
    S(66, 0x171) = G(grp12x, "grp12", 0, I_B),
    S(66, 0x172) = G(grp13x, "grp13", 0, I_B),
    S(66, 0x173) = G(grp14x, "grp14", 0, I_B),
    S(66, 0x174) = SX(op_sse_xx128a, "pcmpeqb"),
    S(66, 0x175) = SX(op_sse_xx128a, "pcmpeqw"),
    S(66, 0x176) = SX(op_sse_xx128a, "pcmpeqd"),
    S(66, 0x17C) = SX(op_sse_xx128a, "haddpd"),
    S(66, 0x17D) = SX(op_sse_xx128a, "hsubpd"),
    S(66, 0x17E) = SX(op_sse_store, "movd"),
    S(66, 0x17F) = SX(op_sse_store, "movdqa"),
    S(66, 0x1C2) = SXI(op_sse_xx128a, "cmppd"),
    S(66, 0x1C4) = SXI(op_sse_xg16, "pinsrw"),
    S(66, 0x1C5) = SXI(op_sse_gxreg, "pextrw"),
    S(66, 0x1C6) = SXI(op_sse_xx128a, "shufpd"),
    S(66, 0x1D0) = SX(op_sse_xx128a, "addsubpd"),
    S(66, 0x1D1) = SX(op_sse_xx128a, "psrlw"),
    S(66, 0x1D2) = SX(op_sse_xx128a, "psrld"),
    S(66, 0x1D3) = SX(op_sse_xx128a, "psrlq"),
    S(66, 0x1D4) = SX(op_sse_xx128a, "paddq"),
    S(66, 0x1D5) = SX(op_sse_xx128a, "pmullw"),
    S(66, 0x1D6) = SX(op_sse_store, "movq"),
    S(66, 0x1D7) = SX(op_sse_gxreg, "pmovmskb"),
    S(66, 0x1D8) = SX(op_sse_xx128a, "psubusb"),
    S(66, 0x1D9) = SX(op_sse_xx128a, "psubusw"),
    S(66, 0x1DA) = SX(op_sse_xx128a, "pminub"),
    S(66, 0x1DB) = SX(op_sse_xx128a, "pand"),
    S(66, 0x1DC) = SX(op_sse_xx128a, "paddusb"),
    S(66, 0x1DD) = SX(op_sse_xx128a, "paddusw"),
    S(66, 0x1DE) = SX(op_sse_xx128a, "pmaxub"),
    S(66, 0x1DF) = SX(op_sse_xx128a, "pandn"),
    S(66, 0x1E0) = SX(op_sse_xx128a, "pavgb"),
    S(66, 0x1E1) = SX(op_sse_xx128a, "psraw"),
    S(66, 0x1E2) = SX(op_sse_xx128a, "psrad"),
    S(66, 0x1E3) = SX(op_sse_xx128a, "pavgw"),
    S(66, 0x1E4) = SX(op_sse_xx128a, "pmulhuw"),
    S(66, 0x1E5) = SX(op_sse_xx128a, "pmulhw"),
    S(66, 0x1E6) = SX(op_sse_xx128a, "cvttpd2dq"),
    S(66, 0x1E7) = SX(op_sse_store, "movntdq"),
    S(66, 0x1E8) = SX(op_sse_xx128a, "psubsb"),
    S(66, 0x1E9) = SX(op_sse_xx128a, "psubsw"),
    S(66, 0x1EA) = SX(op_sse_xx128a, "pminsw"),
    S(66, 0x1EB) = SX(op_sse_xx128a, "por"),
    S(66, 0x1EC) = SX(op_sse_xx128a, "paddsb"),
    S(66, 0x1ED) = SX(op_sse_xx128a, "paddsw"),
    S(66, 0x1EE) = SX(op_sse_xx128a, "pmaxsw"),
    S(66, 0x1EF) = SX(op_sse_xx128a, "pxor"),
    S(66, 0x1F1) = SX(op_sse_xx128a, "psllw"),
    S(66, 0x1F2) = SX(op_sse_xx128a, "pslld"),
    S(66, 0x1F3) = SX(op_sse_xx128a, "psllq"),
    S(66, 0x1F4) = SX(op_sse_xx128a, "pmuludq"),
    S(66, 0x1F5) = SX(op_sse_xx128a, "pmaddwd"),
    S(66, 0x1F6) = SX(op_sse_xx128a, "psadbw"),
    S(66, 0x1F7) = SX(op_maskmov, "maskmovdqu"),
    S(66, 0x1F8) = SX(op_sse_xx128a, "psubb"),
    S(66, 0x1F9) = SX(op_sse_xx128a, "psubw"),
    S(66, 0x1FA) = SX(op_sse_xx128a, "psubd"),
    S(66, 0x1FB) = SX(op_sse_xx128a, "psubq"),
    S(66, 0x1FC) = SX(op_sse_xx128a, "paddb"),
    S(66, 0x1FD) = SX(op_sse_xx128a, "paddw"),
    S(66, 0x1FE) = SX(op_sse_xx128a, "paddd"),
    /* SSSE3 on XMM registers */
    S(66, 0x200) = SX(op_sse_xx128a, "pshufb"),
    S(66, 0x201) = SX(op_sse_xx128a, "phaddw"),
    S(66, 0x202) = SX(op_sse_xx128a, "phaddd"),
    S(66, 0x203) = SX(op_sse_xx128a, "phaddsw"),
    S(66, 0x204) = SX(op_sse_xx128a, "pmaddubsw"),
    S(66, 0x205) = SX(op_sse_xx128a, "phsubw"),
    S(66, 0x206) = SX(op_sse_xx128a, "phsubd"),
    S(66, 0x207) = SX(op_sse_xx128a, "phsubsw"),
    S(66, 0x208) = SX(op_sse_xx128a, "psignb"),
    S(66, 0x209) = SX(op_sse_xx128a, "psignw"),
    S(66, 0x20A) = SX(op_sse_xx128a, "psignd"),
    S(66, 0x20B) = SX(op_sse_xx128a, "pmulhrsw"),
    S(66, 0x21C) = SX(op_sse_xx128a, "pabsb"),
    S(66, 0x21D) = SX(op_sse_xx128a, "pabsw"),
    S(66, 0x21E) = SX(op_sse_xx128a, "pabsd"),
    S(66, 0x30F) = SXI(op_sse_xx128a, "palignr"),

    /* ---- F3: scalar single, and SSE2/SSE3 moves and conversions ---- */
    S(F3, 0x110) = SX(op_sse_movs_load, "movss"),
    S(F3, 0x111) = SX(op_sse_store, "movss"),
    S(F3, 0x112) = SX(op_sse_xx128a, "movsldup"),
    S(F3, 0x116) = SX(op_sse_xx128a, "movshdup"),
    S(F3, 0x12A) = SX(op_sse_xg32, "cvtsi2ss"),
    S(F3, 0x12C) = SX(op_sse_gx32, "cvttss2si"),
    S(F3, 0x12D) = SX(op_sse_gx32, "cvtss2si"),
    S(F3, 0x151) = SX(op_sse_xx32, "sqrtss"),
    S(F3, 0x152) = SX(op_sse_xx32, "rsqrtss"),
    S(F3, 0x153) = SX(op_sse_xx32, "rcpss"),
    S(F3, 0x158) = SX(op_sse_xx32, "addss"),
    S(F3, 0x159) = SX(op_sse_xx32, "mulss"),
    S(F3, 0x15A) = SX(op_sse_xx32, "cvtss2sd"),
    S(F3, 0x15B) = SX(op_sse_xx128a, "cvttps2dq"),
    S(F3, 0x15C) = SX(op_sse_xx32, "subss"),
    S(F3, 0x15D) = SX(op_sse_xx32, "minss"),
    S(F3, 0x15E) = SX(op_sse_xx32, "divss"),
    S(F3, 0x15F) = SX(op_sse_xx32, "maxss"),
    S(F3, 0x16F) = SX(op_sse_xx128u, "movdqu"),
    S(F3, 0x170) = SXI(op_sse_xx128a, "pshufhw"),
    S(F3, 0x17E) = SX(op_sse_xx64, "movq"),
    S(F3, 0x17F) = SX(op_sse_store, "movdqu"),
    S(F3, 0x1C2) = SXI(op_sse_xx32, "cmpss"),
    S(F3, 0x1D6) = SX(op_sse_xmreg, "movq2dq"),
    S(F3, 0x1E6) = SX(op_sse_xx64, "cvtdq2pd"),

    /* ---- F2: scalar double, SSE3 ---- */
    S(F2, 0x110) = SX(op_sse_movs_load, "movsd"),
    S(F2, 0x111) = SX(op_sse_store, "movsd"),
    S(F2, 0x112) = SX(op_sse_xx64, "movddup"),
    S(F2, 0x12A) = SX(op_sse_xg32, "cvtsi2sd"),
    S(F2, 0x12C) = SX(op_sse_gx64, "cvttsd2si"),
    S(F2, 0x12D) = SX(op_sse_gx64, "cvtsd2si"),
    S(F2, 0x151) = SX(op_sse_xx64, "sqrtsd"),
    S(F2, 0x158) = SX(op_sse_xx64, "addsd"),
    S(F2, 0x159) = SX(op_sse_xx64, "mulsd"),
    S(F2, 0x15A) = SX(op_sse_xx64, "cvtsd2ss"),
    S(F2, 0x15C) = SX(op_sse_xx64, "subsd"),
    S(F2, 0x15D) = SX(op_sse_xx64, "minsd"),
    S(F2, 0x15E) = SX(op_sse_xx64, "divsd"),
    S(F2, 0x15F) = SX(op_sse_xx64, "maxsd"),
    S(F2, 0x170) = SXI(op_sse_xx128a, "pshuflw"),
    S(F2, 0x17C) = SX(op_sse_xx128a, "haddps"),
    S(F2, 0x17D) = SX(op_sse_xx128a, "hsubps"),
    S(F2, 0x1C2) = SXI(op_sse_xx64, "cmpsd"),
    S(F2, 0x1D0) = SX(op_sse_xx128a, "addsubps"),
    S(F2, 0x1D6) = SX(op_sse_mxreg, "movdq2q"),
    S(F2, 0x1E6) = SX(op_sse_xx128a, "cvtpd2dq"),
    S(F2, 0x1F0) = SX(op_sse_lddqu, "lddqu"),
};
#undef S

/* clang-format on */

/* ---- decoder ---- */

typedef struct Fetcher {
    CPU *cpu;
    uint32_t eip;
    unsigned n;
} Fetcher;

static uint8_t next_byte(Fetcher *f) {
    if (f->n >= 15) cpu_raise(f->cpu, EXC_GP, 0); /* longer than 15 bytes */
    return fetch_byte(f->cpu, f->eip + f->n++);
}

static uint32_t next_imm(Fetcher *f, unsigned size) {
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) v |= (uint32_t)next_byte(f) << (8 * i);
    return v;
}

/* 16-bit addressing: base/index pairs for r/m 0-7 (BX=3, BP=5, SI=6, DI=7). */
static const uint8_t ea16_base[8] = {R_EBX, R_EBX, R_EBP, R_EBP, EA_NOREG, EA_NOREG, R_EBP, R_EBX};
static const uint8_t ea16_index[8] = {R_ESI, R_EDI, R_ESI, R_EDI, R_ESI, R_EDI, EA_NOREG, EA_NOREG};

static void decode_modrm_mem(Fetcher *f, Insn *in, int *default_seg) {
    in->ea_scale = 0;
    if (in->asize == 2) {
        if (in->mod == 0 && in->rm == 6) {
            in->ea_base = in->ea_index = EA_NOREG;
            in->disp = next_imm(f, 2);
        } else {
            in->ea_base = ea16_base[in->rm];
            in->ea_index = ea16_index[in->rm];
            if (in->ea_base == R_EBP) *default_seg = SEG_SS;
            if (in->mod == 1) in->disp = sext(next_byte(f), 1);
            else if (in->mod == 2) in->disp = sext(next_imm(f, 2), 2);
        }
        return;
    }
    int base = in->rm;
    if (base == 4) { /* SIB */
        uint8_t sib = next_byte(f);
        in->ea_scale = sib >> 6;
        in->ea_index = ((sib >> 3) & 7) == 4 ? EA_NOREG : (sib >> 3) & 7;
        base = sib & 7;
        if (base == 5 && in->mod == 0) {
            in->ea_base = EA_NOREG;
            in->disp = next_imm(f, 4);
            return;
        }
    } else if (base == 5 && in->mod == 0) {
        in->ea_base = in->ea_index = EA_NOREG;
        in->disp = next_imm(f, 4);
        return;
    } else {
        in->ea_index = EA_NOREG;
    }
    in->ea_base = (uint8_t)base;
    if (base == R_ESP || base == R_EBP) *default_seg = SEG_SS;
    if (in->mod == 1) in->disp = sext(next_byte(f), 1);
    else if (in->mod == 2) in->disp = next_imm(f, 4);
}

void decode_insn(CPU *cpu, uint32_t eip, Insn *in) {
    Fetcher f = {cpu, eip, 0};
    bool code32 = cpu_code32(cpu);
    memset(in, 0, sizeof *in);
    in->osize = in->asize = code32 ? 4 : 2;
    in->ea_base = in->ea_index = EA_NOREG;
    int seg_override = -1;
    bool p66 = false;
    uint8_t b;
    for (;;) {
        b = next_byte(&f);
        switch (b) {
        case 0x26: seg_override = SEG_ES; continue;
        case 0x2E: seg_override = SEG_CS; continue;
        case 0x36: seg_override = SEG_SS; continue;
        case 0x3E: seg_override = SEG_DS; continue;
        case 0x64: seg_override = SEG_FS; continue;
        case 0x65: seg_override = SEG_GS; continue;
        case 0x66:
            in->osize = code32 ? 2 : 4;
            p66 = true;
            continue;
        case 0x67: in->asize = code32 ? 2 : 4; continue;
        case 0xF0: in->lock = 1; continue;
        case 0xF2: in->rep = REP_NE; continue;
        case 0xF3: in->rep = REP_E; continue;
        default: break;
        }
        break;
    }
    unsigned index = b;
    if (b == 0x0F) {
        index = 0x100 | next_byte(&f);
        if (index == 0x138) index = 0x200 | next_byte(&f);
        else if (index == 0x13A) index = 0x300 | next_byte(&f);
    }
    in->op = (uint16_t)index;

    static const OpEntry undefined = NONE;
    const OpEntry *e = index < 0x200 ? &op_table[index] : &undefined;
    if (index >= 0x100) { /* a mandatory-prefix row, if there is one (sse_map) */
        unsigned cls = in->rep == REP_E    ? PFX_F3
                       : in->rep == REP_NE ? PFX_F2
                       : p66               ? PFX_66
                                           : PFX_NONE;
        const OpEntry *s = &sse_map[cls][index - 0x100];
        if (!s->name) s = &sse_map[cls = PFX_NONE][index - 0x100];
        if (s->name) {
            e = s;
            in->rep = (uint8_t)cls;
        }
    }
    unsigned flags = e->flags;
    unsigned imm = e->imm;
    int default_seg = SEG_DS;
    if (flags & D_M) {
        in->modrm = next_byte(&f);
        in->mod = in->modrm >> 6;
        in->reg = (in->modrm >> 3) & 7;
        in->rm = in->modrm & 7;
        if (flags & D_CR) in->mod = 3;
        in->is_mem = in->mod != 3;
        if (in->is_mem) decode_modrm_mem(&f, in, &default_seg);
    }
    if (flags & D_G) {
        const OpEntry *sub = &e->group[in->reg];
        in->fn = sub->fn;
        in->name = sub->name;
        in->facts = sub->facts;
        flags |= sub->flags;
        if (imm == I_NONE) imm = sub->imm;
    } else {
        in->fn = e->fn;
        in->name = e->name;
        in->facts = e->facts;
    }
    if (!in->fn) cpu_ud(cpu);
    if (in->lock && (!(flags & D_L) || !in->is_mem)) cpu_ud(cpu);
    in->size = (flags & D_B) ? 1 : in->osize;
    in->ends_block = (flags & D_END) != 0;

    switch (imm) {
    case I_NONE: break;
    case I_B: in->imm = next_byte(&f); break;
    case I_BS: in->imm = sext(next_byte(&f), 1); break;
    case I_W: in->imm = next_imm(&f, 2); break;
    case I_Z: in->imm = next_imm(&f, in->osize); break;
    case I_PTR:
        in->imm = next_imm(&f, in->osize);
        in->imm2 = next_imm(&f, 2);
        break;
    case I_MOFFS:
        in->disp = next_imm(&f, in->asize);
        in->is_mem = 1;
        break;
    case I_ENTER:
        in->imm = next_imm(&f, 2);
        in->imm2 = next_byte(&f);
        break;
    }
    in->seg = (uint8_t)(seg_override >= 0 ? seg_override : default_seg);
    in->len = (uint8_t)f.n;
}
