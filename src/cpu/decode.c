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
 * ModRM.reg; D_GM: by mod too), D_CR ModRM is always a register form
 * (MOV CRn/DRn), D_END
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

enum { D_M = 1, D_B = 2, D_L = 4, D_G = 8, D_CR = 16, D_END = 32, D_GM = 64 };

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
    uint8_t need;    /* N_*: the CPUID feature the instruction needs, or 0 */
} OpEntry;

/* The "needs" column: the CPUID leaf 1 feature bit without which an
 * instruction is #UD (decode_insn, for every engine: the translators decode
 * with it too). EDX bit n is N_EDX(n), ECX bit n N_ECX(n). The model is
 * fixed for a run (cpu_set_model before the first instruction), so a block
 * translated under one model never runs under another. */
#define N_EDX(bit_) (0x40 | (bit_))
#define N_ECX(bit_) (0x60 | (bit_))
#define N_NONE      0
#define N_TSC       N_EDX(4)
#define N_MSR       N_EDX(5)
#define N_CX8       N_EDX(8)
#define N_SEP       N_EDX(11)
#define N_CMOV      N_EDX(15)
#define N_CLFSH     N_EDX(19)
#define N_MMX       N_EDX(23)
#define N_FXSR      N_EDX(24)
#define N_SSE       N_EDX(25)
#define N_SSE2      N_EDX(26)
#define N_SSE3      N_ECX(0)
#define N_MONITOR   N_ECX(3)
#define N_SSSE3     N_ECX(9)

/* The tables are laid out by hand, like the SDM's maps. */
/* clang-format off */
/* E(handler, name, D_* flags, immediate[, facts]): the facts are
 * designated initializers of InsnFacts (.branch, .sreg, .flags, .block),
 * mostly through the short names below; EA gives the ALU kind instead. */
#define E(fn_, name_, fl_, imm_, ...) {fn_, name_, fl_, imm_, NULL, {.alu = ALU_NONE, __VA_ARGS__}, 0}
/* EN(need, ...): E with the feature it needs (N_* without the N_). */
#define EN(need_, fn_, name_, fl_, imm_, ...) \
    {fn_, name_, fl_, imm_, NULL, {.alu = ALU_NONE, __VA_ARGS__}, N_##need_}
#define EA(fn_, name_, fl_, imm_, kind_) \
    {fn_, name_, fl_, imm_, NULL, {.alu = kind_, .flags = ALU_FLAGS(kind_)}, 0}
#define G(tbl_, name_, fl_, imm_) {NULL, name_, (fl_) | D_M | D_G, imm_, tbl_, {.alu = ALU_NONE}, 0}
/* A group whose table has 16 rows: ModRM.reg's memory forms, then its
 * register forms (mod = 3), as the SDM's map of groups splits them. */
#define GM(tbl_, name_, fl_, imm_) \
    {NULL, name_, (fl_) | D_M | D_G | D_GM, imm_, tbl_, {.alu = ALU_NONE}, 0}
#define NONE {NULL, "(bad)", 0, I_NONE, NULL, {.alu = ALU_NONE}, 0}

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
/* Group 7 with a register operand (mod = 3), by ModRM.reg and .rm (the
 * SDM's Table A-6): SMSW and LMSW take registers; VMCALL (/0 rm 1) and
 * AMD's VMMCALL (/3 rm 1) reach op_vmcall, which is #UD unless a
 * hypervisor model takes them (-vmm pv). The rest are undefined. */
static const OpEntry grp7_reg[64] = {
    [0 * 8 + 1] = E(op_vmcall, "vmcall", 0, I_NONE, .sys = SYS_VMCALL),
    [3 * 8 + 1] = E(op_vmcall, "vmmcall", 0, I_NONE, .sys = SYS_VMCALL),
    [4 * 8 + 0] = E(op_smsw, "smsw", 0, I_NONE, .sys = SYS_TABLE_READ), [4 * 8 + 1] = E(op_smsw, "smsw", 0, I_NONE, .sys = SYS_TABLE_READ),
    [4 * 8 + 2] = E(op_smsw, "smsw", 0, I_NONE, .sys = SYS_TABLE_READ), [4 * 8 + 3] = E(op_smsw, "smsw", 0, I_NONE, .sys = SYS_TABLE_READ),
    [4 * 8 + 4] = E(op_smsw, "smsw", 0, I_NONE, .sys = SYS_TABLE_READ), [4 * 8 + 5] = E(op_smsw, "smsw", 0, I_NONE, .sys = SYS_TABLE_READ),
    [4 * 8 + 6] = E(op_smsw, "smsw", 0, I_NONE, .sys = SYS_TABLE_READ), [4 * 8 + 7] = E(op_smsw, "smsw", 0, I_NONE, .sys = SYS_TABLE_READ),
    [6 * 8 + 0] = E(op_lmsw, "lmsw", 0, I_NONE, .sys = SYS_CR_WRITE), [6 * 8 + 1] = E(op_lmsw, "lmsw", 0, I_NONE, .sys = SYS_CR_WRITE),
    [6 * 8 + 2] = E(op_lmsw, "lmsw", 0, I_NONE, .sys = SYS_CR_WRITE), [6 * 8 + 3] = E(op_lmsw, "lmsw", 0, I_NONE, .sys = SYS_CR_WRITE),
    [6 * 8 + 4] = E(op_lmsw, "lmsw", 0, I_NONE, .sys = SYS_CR_WRITE), [6 * 8 + 5] = E(op_lmsw, "lmsw", 0, I_NONE, .sys = SYS_CR_WRITE),
    [6 * 8 + 6] = E(op_lmsw, "lmsw", 0, I_NONE, .sys = SYS_CR_WRITE), [6 * 8 + 7] = E(op_lmsw, "lmsw", 0, I_NONE, .sys = SYS_CR_WRITE),
};
static const OpEntry grp8[8] = {
    NONE, NONE, NONE, NONE,
    E(op_bt_rm_imm, "bt", 0, I_NONE, F_SOME),    E(op_bt_rm_imm, "bts", D_L, I_NONE, F_SOME),
    E(op_bt_rm_imm, "btr", D_L, I_NONE, F_SOME), E(op_bt_rm_imm, "btc", D_L, I_NONE, F_SOME),
};
static const OpEntry grp9[8] = {NONE, EN(CX8, op_cmpxchg8b, "cmpxchg8b", D_L, I_NONE, F_SOME),
                                NONE, NONE, NONE, NONE, NONE, NONE};
/* MMX shifts by imm8 (0F 71, 72, 73): register forms; the handler rejects memory. */
static const OpEntry grp12[8] = {
    NONE, NONE, EN(MMX, op_mmx_shift_imm, "psrlw", 0, I_NONE), NONE,
    EN(MMX, op_mmx_shift_imm, "psraw", 0, I_NONE), NONE, EN(MMX, op_mmx_shift_imm, "psllw", 0, I_NONE), NONE,
};
static const OpEntry grp13[8] = {
    NONE, NONE, EN(MMX, op_mmx_shift_imm, "psrld", 0, I_NONE), NONE,
    EN(MMX, op_mmx_shift_imm, "psrad", 0, I_NONE), NONE, EN(MMX, op_mmx_shift_imm, "pslld", 0, I_NONE), NONE,
};
static const OpEntry grp14[8] = {
    NONE, NONE, EN(MMX, op_mmx_shift_imm, "psrlq", 0, I_NONE), NONE,
    NONE, NONE, EN(MMX, op_mmx_shift_imm, "psllq", 0, I_NONE), NONE,
};
/* 0F AE (GM: memory forms, then register forms): FXSAVE, FXRSTOR,
 * LDMXCSR, STMXCSR, CLFLUSH (/7 memory; XSAVE, XRSTOR, XSAVEOPT are not
 * implemented); LFENCE, MFENCE (SSE2) and SFENCE (SSE) with a register. */
static const OpEntry grp15[16] = {
    EN(FXSR, op_fxsave, "fxsave", 0, I_NONE), EN(FXSR, op_fxrstor, "fxrstor", 0, I_NONE),
    EN(SSE, op_ldmxcsr, "ldmxcsr", 0, I_NONE), EN(SSE, op_stmxcsr, "stmxcsr", 0, I_NONE),
    NONE, NONE, NONE, EN(CLFSH, op_fence, "clflush", 0, I_NONE),
    NONE, NONE, NONE, NONE,
    NONE, EN(SSE2, op_fence, "lfence", 0, I_NONE),
    EN(SSE2, op_fence, "mfence", 0, I_NONE), EN(SSE, op_fence, "sfence", 0, I_NONE),
};
/* DB, DD, DF (GM): the x87 escape, but /1 with memory is FISTTP (SSE3). */
#define X87_ESC E(op_fpu_escape, "esc", 0, I_NONE, F_RW)
static const OpEntry grp_x87_fisttp[16] = {
    X87_ESC, EN(SSE3, op_fpu_escape, "fisttp", 0, I_NONE, F_RW), X87_ESC, X87_ESC,
    X87_ESC, X87_ESC, X87_ESC, X87_ESC,
    X87_ESC, X87_ESC, X87_ESC, X87_ESC, X87_ESC, X87_ESC, X87_ESC, X87_ESC,
};
/* 66 0F 71 / 72 / 73: the XMM shifts by imm8. */
static const OpEntry grp12x[8] = {
    NONE, NONE, EN(SSE2, op_sse_shift_imm, "psrlw", 0, I_NONE), NONE,
    EN(SSE2, op_sse_shift_imm, "psraw", 0, I_NONE), NONE, EN(SSE2, op_sse_shift_imm, "psllw", 0, I_NONE), NONE,
};
static const OpEntry grp13x[8] = {
    NONE, NONE, EN(SSE2, op_sse_shift_imm, "psrld", 0, I_NONE), NONE,
    EN(SSE2, op_sse_shift_imm, "psrad", 0, I_NONE), NONE, EN(SSE2, op_sse_shift_imm, "pslld", 0, I_NONE), NONE,
};
static const OpEntry grp14x[8] = {
    NONE, NONE, EN(SSE2, op_sse_shift_imm, "psrlq", 0, I_NONE), EN(SSE2, op_sse_shift_imm, "psrldq", 0, I_NONE),
    NONE, NONE, EN(SSE2, op_sse_shift_imm, "psllq", 0, I_NONE), EN(SSE2, op_sse_shift_imm, "pslldq", 0, I_NONE),
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
    [0xD8 ... 0xDA] = E(op_fpu_escape, "esc", D_M, I_NONE, F_RW) /* FCMOVcc, FCOMI */,
    [0xDB] = GM(grp_x87_fisttp, "esc", 0, I_NONE),
    [0xDC] = E(op_fpu_escape, "esc", D_M, I_NONE, F_RW),
    [0xDD] = GM(grp_x87_fisttp, "esc", 0, I_NONE),
    [0xDE] = E(op_fpu_escape, "esc", D_M, I_NONE, F_RW),
    [0xDF] = GM(grp_x87_fisttp, "esc", 0, I_NONE),

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
    [0x130] = EN(MSR, op_wrmsr, "wrmsr", D_END, I_NONE, .sys = SYS_MSR),
    [0x131] = EN(TSC, op_rdtsc, "rdtsc", 0, I_NONE),
    [0x132] = EN(MSR, op_rdmsr, "rdmsr", 0, I_NONE, .sys = SYS_MSR),
    [0x133] = E(op_rdpmc, "rdpmc", 0, I_NONE),
    [0x134] = EN(SEP, op_sysenter, "sysenter", D_END, I_NONE, .branch = BR_FAR, .sys = SYS_INT),
    [0x135] = EN(SEP, op_sysexit, "sysexit", D_END, I_NONE, .branch = BR_FAR, .sys = SYS_SYSEXIT),
    [0x140 ... 0x14F] = EN(CMOV, op_cmovcc, "cmovcc", D_M, I_NONE, F_READS),
    /* 0F 60-7F: MMX (0F 6C, 6D, 70, 78-7D are not Pentium II instructions) */
    [0x160] = EN(MMX, op_mmx_arith, "punpcklbw", D_M, I_NONE),
    [0x161] = EN(MMX, op_mmx_arith, "punpcklwd", D_M, I_NONE),
    [0x162] = EN(MMX, op_mmx_arith, "punpckldq", D_M, I_NONE),
    [0x163] = EN(MMX, op_mmx_arith, "packsswb", D_M, I_NONE),
    [0x164] = EN(MMX, op_mmx_arith, "pcmpgtb", D_M, I_NONE),
    [0x165] = EN(MMX, op_mmx_arith, "pcmpgtw", D_M, I_NONE),
    [0x166] = EN(MMX, op_mmx_arith, "pcmpgtd", D_M, I_NONE),
    [0x167] = EN(MMX, op_mmx_arith, "packuswb", D_M, I_NONE),
    [0x168] = EN(MMX, op_mmx_arith, "punpckhbw", D_M, I_NONE),
    [0x169] = EN(MMX, op_mmx_arith, "punpckhwd", D_M, I_NONE),
    [0x16A] = EN(MMX, op_mmx_arith, "punpckhdq", D_M, I_NONE),
    [0x16B] = EN(MMX, op_mmx_arith, "packssdw", D_M, I_NONE),
    [0x16E] = EN(MMX, op_movd_mm_rm, "movd", D_M, I_NONE),
    [0x16F] = EN(MMX, op_movq_mm_mmm, "movq", D_M, I_NONE),
    [0x171] = G(grp12, "grp12", 0, I_B),
    [0x172] = G(grp13, "grp13", 0, I_B),
    [0x173] = G(grp14, "grp14", 0, I_B),
    [0x174] = EN(MMX, op_mmx_arith, "pcmpeqb", D_M, I_NONE),
    [0x175] = EN(MMX, op_mmx_arith, "pcmpeqw", D_M, I_NONE),
    [0x176] = EN(MMX, op_mmx_arith, "pcmpeqd", D_M, I_NONE),
    [0x177] = EN(MMX, op_emms, "emms", 0, I_NONE),
    [0x17E] = EN(MMX, op_movd_rm_mm, "movd", D_M, I_NONE),
    [0x17F] = EN(MMX, op_movq_mmm_mm, "movq", D_M, I_NONE),
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
    [0x1AE] = GM(grp15, "grp15", 0, I_NONE),
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
    [0x1D1] = EN(MMX, op_mmx_arith, "psrlw", D_M, I_NONE),
    [0x1D2] = EN(MMX, op_mmx_arith, "psrld", D_M, I_NONE),
    [0x1D3] = EN(MMX, op_mmx_arith, "psrlq", D_M, I_NONE),
    [0x1D5] = EN(MMX, op_mmx_arith, "pmullw", D_M, I_NONE),
    [0x1D8] = EN(MMX, op_mmx_arith, "psubusb", D_M, I_NONE),
    [0x1D9] = EN(MMX, op_mmx_arith, "psubusw", D_M, I_NONE),
    [0x1DB] = EN(MMX, op_mmx_arith, "pand", D_M, I_NONE),
    [0x1DC] = EN(MMX, op_mmx_arith, "paddusb", D_M, I_NONE),
    [0x1DD] = EN(MMX, op_mmx_arith, "paddusw", D_M, I_NONE),
    [0x1DF] = EN(MMX, op_mmx_arith, "pandn", D_M, I_NONE),
    [0x1E1] = EN(MMX, op_mmx_arith, "psraw", D_M, I_NONE),
    [0x1E2] = EN(MMX, op_mmx_arith, "psrad", D_M, I_NONE),
    [0x1E5] = EN(MMX, op_mmx_arith, "pmulhw", D_M, I_NONE),
    [0x1E8] = EN(MMX, op_mmx_arith, "psubsb", D_M, I_NONE),
    [0x1E9] = EN(MMX, op_mmx_arith, "psubsw", D_M, I_NONE),
    [0x1EB] = EN(MMX, op_mmx_arith, "por", D_M, I_NONE),
    [0x1EC] = EN(MMX, op_mmx_arith, "paddsb", D_M, I_NONE),
    [0x1ED] = EN(MMX, op_mmx_arith, "paddsw", D_M, I_NONE),
    [0x1EF] = EN(MMX, op_mmx_arith, "pxor", D_M, I_NONE),
    [0x1F1] = EN(MMX, op_mmx_arith, "psllw", D_M, I_NONE),
    [0x1F2] = EN(MMX, op_mmx_arith, "pslld", D_M, I_NONE),
    [0x1F3] = EN(MMX, op_mmx_arith, "psllq", D_M, I_NONE),
    [0x1F5] = EN(MMX, op_mmx_arith, "pmaddwd", D_M, I_NONE),
    [0x1F8] = EN(MMX, op_mmx_arith, "psubb", D_M, I_NONE),
    [0x1F9] = EN(MMX, op_mmx_arith, "psubw", D_M, I_NONE),
    [0x1FA] = EN(MMX, op_mmx_arith, "psubd", D_M, I_NONE),
    [0x1FC] = EN(MMX, op_mmx_arith, "paddb", D_M, I_NONE),
    [0x1FD] = EN(MMX, op_mmx_arith, "paddw", D_M, I_NONE),
    [0x1FE] = EN(MMX, op_mmx_arith, "paddd", D_M, I_NONE),
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
#define SX(fn_, name_, need_)  EN(need_, fn_, name_, D_M, I_NONE)
#define SXI(fn_, name_, need_) EN(need_, fn_, name_, D_M, I_B)
#define SCMP(fn_, name_, need_) EN(need_, fn_, name_, D_M, I_NONE, F_ALL) /* COMISS & co. write ZF PF CF, clear OF SF AF */
static const OpEntry sse_map[4][0x300] = {
    /* ---- no prefix: SSE on packed single, SSE/SSE2 integer on MMX registers ---- */
    S(NONE, 0x110) = SX(op_sse_xx128u, "movups", SSE),
    S(NONE, 0x111) = SX(op_sse_store, "movups", SSE),
    S(NONE, 0x112) = SX(op_sse_movlh_load, "movlps", SSE), /* register form: MOVHLPS */
    S(NONE, 0x113) = SX(op_sse_store, "movlps", SSE),
    S(NONE, 0x114) = SX(op_sse_xx128a, "unpcklps", SSE),
    S(NONE, 0x115) = SX(op_sse_xx128a, "unpckhps", SSE),
    S(NONE, 0x116) = SX(op_sse_movlh_load, "movhps", SSE), /* register form: MOVLHPS */
    S(NONE, 0x117) = SX(op_sse_store, "movhps", SSE),
    S(NONE, 0x128) = SX(op_sse_xx128a, "movaps", SSE),
    S(NONE, 0x129) = SX(op_sse_store, "movaps", SSE),
    S(NONE, 0x12A) = SX(op_sse_xm64, "cvtpi2ps", SSE),
    S(NONE, 0x12B) = SX(op_sse_store, "movntps", SSE),
    S(NONE, 0x12C) = SX(op_sse_mx64, "cvttps2pi", SSE),
    S(NONE, 0x12D) = SX(op_sse_mx64, "cvtps2pi", SSE),
    S(NONE, 0x12E) = SCMP(op_sse_xx32, "ucomiss", SSE),
    S(NONE, 0x12F) = SCMP(op_sse_xx32, "comiss", SSE),
    S(NONE, 0x150) = SX(op_sse_gxreg, "movmskps", SSE),
    S(NONE, 0x151) = SX(op_sse_xx128a, "sqrtps", SSE),
    S(NONE, 0x152) = SX(op_sse_xx128a, "rsqrtps", SSE),
    S(NONE, 0x153) = SX(op_sse_xx128a, "rcpps", SSE),
    S(NONE, 0x154) = SX(op_sse_xx128a, "andps", SSE),
    S(NONE, 0x155) = SX(op_sse_xx128a, "andnps", SSE),
    S(NONE, 0x156) = SX(op_sse_xx128a, "orps", SSE),
    S(NONE, 0x157) = SX(op_sse_xx128a, "xorps", SSE),
    S(NONE, 0x158) = SX(op_sse_xx128a, "addps", SSE),
    S(NONE, 0x159) = SX(op_sse_xx128a, "mulps", SSE),
    S(NONE, 0x15A) = SX(op_sse_xx64, "cvtps2pd", SSE2),
    S(NONE, 0x15B) = SX(op_sse_xx128a, "cvtdq2ps", SSE2),
    S(NONE, 0x15C) = SX(op_sse_xx128a, "subps", SSE),
    S(NONE, 0x15D) = SX(op_sse_xx128a, "minps", SSE),
    S(NONE, 0x15E) = SX(op_sse_xx128a, "divps", SSE),
    S(NONE, 0x15F) = SX(op_sse_xx128a, "maxps", SSE),
    S(NONE, 0x170) = SXI(op_sse_mm64, "pshufw", SSE),
    S(NONE, 0x1C2) = SXI(op_sse_xx128a, "cmpps", SSE),
    S(NONE, 0x1C3) = SX(op_movnti, "movnti", SSE2),
    S(NONE, 0x1C4) = SXI(op_sse_mg16, "pinsrw", SSE),
    S(NONE, 0x1C5) = SXI(op_sse_gmreg, "pextrw", SSE),
    S(NONE, 0x1C6) = SXI(op_sse_xx128a, "shufps", SSE),
    S(NONE, 0x1D4) = SX(op_sse_mm64, "paddq", SSE2),
    S(NONE, 0x1D7) = SX(op_sse_gmreg, "pmovmskb", SSE),
    S(NONE, 0x1DA) = SX(op_sse_mm64, "pminub", SSE),
    S(NONE, 0x1DE) = SX(op_sse_mm64, "pmaxub", SSE),
    S(NONE, 0x1E0) = SX(op_sse_mm64, "pavgb", SSE),
    S(NONE, 0x1E3) = SX(op_sse_mm64, "pavgw", SSE),
    S(NONE, 0x1E4) = SX(op_sse_mm64, "pmulhuw", SSE),
    S(NONE, 0x1E7) = SX(op_movntq, "movntq", SSE),
    S(NONE, 0x1EA) = SX(op_sse_mm64, "pminsw", SSE),
    S(NONE, 0x1EE) = SX(op_sse_mm64, "pmaxsw", SSE),
    S(NONE, 0x1F4) = SX(op_sse_mm64, "pmuludq", SSE2),
    S(NONE, 0x1F6) = SX(op_sse_mm64, "psadbw", SSE),
    S(NONE, 0x1F7) = SX(op_maskmov, "maskmovq", SSE),
    S(NONE, 0x1FB) = SX(op_sse_mm64, "psubq", SSE2),
    /* SSSE3 on MMX registers: 0F 38 00-0B, 1C-1E; 0F 3A 0F */
    S(NONE, 0x200) = SX(op_sse_mm64, "pshufb", SSSE3),
    S(NONE, 0x201) = SX(op_sse_mm64, "phaddw", SSSE3),
    S(NONE, 0x202) = SX(op_sse_mm64, "phaddd", SSSE3),
    S(NONE, 0x203) = SX(op_sse_mm64, "phaddsw", SSSE3),
    S(NONE, 0x204) = SX(op_sse_mm64, "pmaddubsw", SSSE3),
    S(NONE, 0x205) = SX(op_sse_mm64, "phsubw", SSSE3),
    S(NONE, 0x206) = SX(op_sse_mm64, "phsubd", SSSE3),
    S(NONE, 0x207) = SX(op_sse_mm64, "phsubsw", SSSE3),
    S(NONE, 0x208) = SX(op_sse_mm64, "psignb", SSSE3),
    S(NONE, 0x209) = SX(op_sse_mm64, "psignw", SSSE3),
    S(NONE, 0x20A) = SX(op_sse_mm64, "psignd", SSSE3),
    S(NONE, 0x20B) = SX(op_sse_mm64, "pmulhrsw", SSSE3),
    S(NONE, 0x21C) = SX(op_sse_mm64, "pabsb", SSSE3),
    S(NONE, 0x21D) = SX(op_sse_mm64, "pabsw", SSSE3),
    S(NONE, 0x21E) = SX(op_sse_mm64, "pabsd", SSSE3),
    S(NONE, 0x30F) = SXI(op_sse_mm64, "palignr", SSSE3),

    /* ---- 66: SSE2 on packed double and on XMM integers ---- */
    S(66, 0x110) = SX(op_sse_xx128u, "movupd", SSE2),
    S(66, 0x111) = SX(op_sse_store, "movupd", SSE2),
    S(66, 0x112) = SX(op_sse_movlh_load, "movlpd", SSE2),
    S(66, 0x113) = SX(op_sse_store, "movlpd", SSE2),
    S(66, 0x114) = SX(op_sse_xx128a, "unpcklpd", SSE2),
    S(66, 0x115) = SX(op_sse_xx128a, "unpckhpd", SSE2),
    S(66, 0x116) = SX(op_sse_movlh_load, "movhpd", SSE2),
    S(66, 0x117) = SX(op_sse_store, "movhpd", SSE2),
    S(66, 0x128) = SX(op_sse_xx128a, "movapd", SSE2),
    S(66, 0x129) = SX(op_sse_store, "movapd", SSE2),
    S(66, 0x12A) = SX(op_sse_xm64, "cvtpi2pd", SSE2),
    S(66, 0x12B) = SX(op_sse_store, "movntpd", SSE2),
    S(66, 0x12C) = SX(op_sse_mx128a, "cvttpd2pi", SSE2),
    S(66, 0x12D) = SX(op_sse_mx128a, "cvtpd2pi", SSE2),
    S(66, 0x12E) = SCMP(op_sse_xx64, "ucomisd", SSE2),
    S(66, 0x12F) = SCMP(op_sse_xx64, "comisd", SSE2),
    S(66, 0x150) = SX(op_sse_gxreg, "movmskpd", SSE2),
    S(66, 0x151) = SX(op_sse_xx128a, "sqrtpd", SSE2),
    S(66, 0x154) = SX(op_sse_xx128a, "andpd", SSE2),
    S(66, 0x155) = SX(op_sse_xx128a, "andnpd", SSE2),
    S(66, 0x156) = SX(op_sse_xx128a, "orpd", SSE2),
    S(66, 0x157) = SX(op_sse_xx128a, "xorpd", SSE2),
    S(66, 0x158) = SX(op_sse_xx128a, "addpd", SSE2),
    S(66, 0x159) = SX(op_sse_xx128a, "mulpd", SSE2),
    S(66, 0x15A) = SX(op_sse_xx128a, "cvtpd2ps", SSE2),
    S(66, 0x15B) = SX(op_sse_xx128a, "cvtps2dq", SSE2),
    S(66, 0x15C) = SX(op_sse_xx128a, "subpd", SSE2),
    S(66, 0x15D) = SX(op_sse_xx128a, "minpd", SSE2),
    S(66, 0x15E) = SX(op_sse_xx128a, "divpd", SSE2),
    S(66, 0x15F) = SX(op_sse_xx128a, "maxpd", SSE2),
    S(66, 0x160) = SX(op_sse_xx128a, "punpcklbw", SSE2),
    S(66, 0x161) = SX(op_sse_xx128a, "punpcklwd", SSE2),
    S(66, 0x162) = SX(op_sse_xx128a, "punpckldq", SSE2),
    S(66, 0x163) = SX(op_sse_xx128a, "packsswb", SSE2),
    S(66, 0x164) = SX(op_sse_xx128a, "pcmpgtb", SSE2),
    S(66, 0x165) = SX(op_sse_xx128a, "pcmpgtw", SSE2),
    S(66, 0x166) = SX(op_sse_xx128a, "pcmpgtd", SSE2),
    S(66, 0x167) = SX(op_sse_xx128a, "packuswb", SSE2),
    S(66, 0x168) = SX(op_sse_xx128a, "punpckhbw", SSE2),
    S(66, 0x169) = SX(op_sse_xx128a, "punpckhwd", SSE2),
    S(66, 0x16A) = SX(op_sse_xx128a, "punpckhdq", SSE2),
    S(66, 0x16B) = SX(op_sse_xx128a, "packssdw", SSE2),
    S(66, 0x16C) = SX(op_sse_xx128a, "punpcklqdq", SSE2),
    S(66, 0x16D) = SX(op_sse_xx128a, "punpckhqdq", SSE2),
    S(66, 0x16E) = SX(op_sse_xg32, "movd", SSE2),
    S(66, 0x16F) = SX(op_sse_xx128a, "movdqa", SSE2),
    S(66, 0x170) = SXI(op_sse_xx128a, "pshufd", SSE2),
    S(66, 0x171) = G(grp12x, "grp12", 0, I_B),
    S(66, 0x172) = G(grp13x, "grp13", 0, I_B),
    S(66, 0x173) = G(grp14x, "grp14", 0, I_B),
    S(66, 0x174) = SX(op_sse_xx128a, "pcmpeqb", SSE2),
    S(66, 0x175) = SX(op_sse_xx128a, "pcmpeqw", SSE2),
    S(66, 0x176) = SX(op_sse_xx128a, "pcmpeqd", SSE2),
    S(66, 0x17C) = SX(op_sse_xx128a, "haddpd", SSE3),
    S(66, 0x17D) = SX(op_sse_xx128a, "hsubpd", SSE3),
    S(66, 0x17E) = SX(op_sse_store, "movd", SSE2),
    S(66, 0x17F) = SX(op_sse_store, "movdqa", SSE2),
    S(66, 0x1C2) = SXI(op_sse_xx128a, "cmppd", SSE2),
    S(66, 0x1C4) = SXI(op_sse_xg16, "pinsrw", SSE2),
    S(66, 0x1C5) = SXI(op_sse_gxreg, "pextrw", SSE2),
    S(66, 0x1C6) = SXI(op_sse_xx128a, "shufpd", SSE2),
    S(66, 0x1D0) = SX(op_sse_xx128a, "addsubpd", SSE3),
    S(66, 0x1D1) = SX(op_sse_xx128a, "psrlw", SSE2),
    S(66, 0x1D2) = SX(op_sse_xx128a, "psrld", SSE2),
    S(66, 0x1D3) = SX(op_sse_xx128a, "psrlq", SSE2),
    S(66, 0x1D4) = SX(op_sse_xx128a, "paddq", SSE2),
    S(66, 0x1D5) = SX(op_sse_xx128a, "pmullw", SSE2),
    S(66, 0x1D6) = SX(op_sse_store, "movq", SSE2),
    S(66, 0x1D7) = SX(op_sse_gxreg, "pmovmskb", SSE2),
    S(66, 0x1D8) = SX(op_sse_xx128a, "psubusb", SSE2),
    S(66, 0x1D9) = SX(op_sse_xx128a, "psubusw", SSE2),
    S(66, 0x1DA) = SX(op_sse_xx128a, "pminub", SSE2),
    S(66, 0x1DB) = SX(op_sse_xx128a, "pand", SSE2),
    S(66, 0x1DC) = SX(op_sse_xx128a, "paddusb", SSE2),
    S(66, 0x1DD) = SX(op_sse_xx128a, "paddusw", SSE2),
    S(66, 0x1DE) = SX(op_sse_xx128a, "pmaxub", SSE2),
    S(66, 0x1DF) = SX(op_sse_xx128a, "pandn", SSE2),
    S(66, 0x1E0) = SX(op_sse_xx128a, "pavgb", SSE2),
    S(66, 0x1E1) = SX(op_sse_xx128a, "psraw", SSE2),
    S(66, 0x1E2) = SX(op_sse_xx128a, "psrad", SSE2),
    S(66, 0x1E3) = SX(op_sse_xx128a, "pavgw", SSE2),
    S(66, 0x1E4) = SX(op_sse_xx128a, "pmulhuw", SSE2),
    S(66, 0x1E5) = SX(op_sse_xx128a, "pmulhw", SSE2),
    S(66, 0x1E6) = SX(op_sse_xx128a, "cvttpd2dq", SSE2),
    S(66, 0x1E7) = SX(op_sse_store, "movntdq", SSE2),
    S(66, 0x1E8) = SX(op_sse_xx128a, "psubsb", SSE2),
    S(66, 0x1E9) = SX(op_sse_xx128a, "psubsw", SSE2),
    S(66, 0x1EA) = SX(op_sse_xx128a, "pminsw", SSE2),
    S(66, 0x1EB) = SX(op_sse_xx128a, "por", SSE2),
    S(66, 0x1EC) = SX(op_sse_xx128a, "paddsb", SSE2),
    S(66, 0x1ED) = SX(op_sse_xx128a, "paddsw", SSE2),
    S(66, 0x1EE) = SX(op_sse_xx128a, "pmaxsw", SSE2),
    S(66, 0x1EF) = SX(op_sse_xx128a, "pxor", SSE2),
    S(66, 0x1F1) = SX(op_sse_xx128a, "psllw", SSE2),
    S(66, 0x1F2) = SX(op_sse_xx128a, "pslld", SSE2),
    S(66, 0x1F3) = SX(op_sse_xx128a, "psllq", SSE2),
    S(66, 0x1F4) = SX(op_sse_xx128a, "pmuludq", SSE2),
    S(66, 0x1F5) = SX(op_sse_xx128a, "pmaddwd", SSE2),
    S(66, 0x1F6) = SX(op_sse_xx128a, "psadbw", SSE2),
    S(66, 0x1F7) = SX(op_maskmov, "maskmovdqu", SSE2),
    S(66, 0x1F8) = SX(op_sse_xx128a, "psubb", SSE2),
    S(66, 0x1F9) = SX(op_sse_xx128a, "psubw", SSE2),
    S(66, 0x1FA) = SX(op_sse_xx128a, "psubd", SSE2),
    S(66, 0x1FB) = SX(op_sse_xx128a, "psubq", SSE2),
    S(66, 0x1FC) = SX(op_sse_xx128a, "paddb", SSE2),
    S(66, 0x1FD) = SX(op_sse_xx128a, "paddw", SSE2),
    S(66, 0x1FE) = SX(op_sse_xx128a, "paddd", SSE2),
    /* SSSE3 on XMM registers */
    S(66, 0x200) = SX(op_sse_xx128a, "pshufb", SSSE3),
    S(66, 0x201) = SX(op_sse_xx128a, "phaddw", SSSE3),
    S(66, 0x202) = SX(op_sse_xx128a, "phaddd", SSSE3),
    S(66, 0x203) = SX(op_sse_xx128a, "phaddsw", SSSE3),
    S(66, 0x204) = SX(op_sse_xx128a, "pmaddubsw", SSSE3),
    S(66, 0x205) = SX(op_sse_xx128a, "phsubw", SSSE3),
    S(66, 0x206) = SX(op_sse_xx128a, "phsubd", SSSE3),
    S(66, 0x207) = SX(op_sse_xx128a, "phsubsw", SSSE3),
    S(66, 0x208) = SX(op_sse_xx128a, "psignb", SSSE3),
    S(66, 0x209) = SX(op_sse_xx128a, "psignw", SSSE3),
    S(66, 0x20A) = SX(op_sse_xx128a, "psignd", SSSE3),
    S(66, 0x20B) = SX(op_sse_xx128a, "pmulhrsw", SSSE3),
    S(66, 0x21C) = SX(op_sse_xx128a, "pabsb", SSSE3),
    S(66, 0x21D) = SX(op_sse_xx128a, "pabsw", SSSE3),
    S(66, 0x21E) = SX(op_sse_xx128a, "pabsd", SSSE3),
    S(66, 0x30F) = SXI(op_sse_xx128a, "palignr", SSSE3),

    /* ---- F3: scalar single, and SSE2/SSE3 moves and conversions ---- */
    S(F3, 0x110) = SX(op_sse_movs_load, "movss", SSE),
    S(F3, 0x111) = SX(op_sse_store, "movss", SSE),
    S(F3, 0x112) = SX(op_sse_xx128a, "movsldup", SSE3),
    S(F3, 0x116) = SX(op_sse_xx128a, "movshdup", SSE3),
    S(F3, 0x12A) = SX(op_sse_xg32, "cvtsi2ss", SSE),
    S(F3, 0x12C) = SX(op_sse_gx32, "cvttss2si", SSE),
    S(F3, 0x12D) = SX(op_sse_gx32, "cvtss2si", SSE),
    S(F3, 0x151) = SX(op_sse_xx32, "sqrtss", SSE),
    S(F3, 0x152) = SX(op_sse_xx32, "rsqrtss", SSE),
    S(F3, 0x153) = SX(op_sse_xx32, "rcpss", SSE),
    S(F3, 0x158) = SX(op_sse_xx32, "addss", SSE),
    S(F3, 0x159) = SX(op_sse_xx32, "mulss", SSE),
    S(F3, 0x15A) = SX(op_sse_xx32, "cvtss2sd", SSE2),
    S(F3, 0x15B) = SX(op_sse_xx128a, "cvttps2dq", SSE2),
    S(F3, 0x15C) = SX(op_sse_xx32, "subss", SSE),
    S(F3, 0x15D) = SX(op_sse_xx32, "minss", SSE),
    S(F3, 0x15E) = SX(op_sse_xx32, "divss", SSE),
    S(F3, 0x15F) = SX(op_sse_xx32, "maxss", SSE),
    S(F3, 0x16F) = SX(op_sse_xx128u, "movdqu", SSE2),
    S(F3, 0x170) = SXI(op_sse_xx128a, "pshufhw", SSE2),
    S(F3, 0x17E) = SX(op_sse_xx64, "movq", SSE2),
    S(F3, 0x17F) = SX(op_sse_store, "movdqu", SSE2),
    S(F3, 0x1C2) = SXI(op_sse_xx32, "cmpss", SSE),
    S(F3, 0x1D6) = SX(op_sse_xmreg, "movq2dq", SSE2),
    S(F3, 0x1E6) = SX(op_sse_xx64, "cvtdq2pd", SSE2),

    /* ---- F2: scalar double, SSE3 ---- */
    S(F2, 0x110) = SX(op_sse_movs_load, "movsd", SSE2),
    S(F2, 0x111) = SX(op_sse_store, "movsd", SSE2),
    S(F2, 0x112) = SX(op_sse_xx64, "movddup", SSE3),
    S(F2, 0x12A) = SX(op_sse_xg32, "cvtsi2sd", SSE2),
    S(F2, 0x12C) = SX(op_sse_gx64, "cvttsd2si", SSE2),
    S(F2, 0x12D) = SX(op_sse_gx64, "cvtsd2si", SSE2),
    S(F2, 0x151) = SX(op_sse_xx64, "sqrtsd", SSE2),
    S(F2, 0x158) = SX(op_sse_xx64, "addsd", SSE2),
    S(F2, 0x159) = SX(op_sse_xx64, "mulsd", SSE2),
    S(F2, 0x15A) = SX(op_sse_xx64, "cvtsd2ss", SSE2),
    S(F2, 0x15C) = SX(op_sse_xx64, "subsd", SSE2),
    S(F2, 0x15D) = SX(op_sse_xx64, "minsd", SSE2),
    S(F2, 0x15E) = SX(op_sse_xx64, "divsd", SSE2),
    S(F2, 0x15F) = SX(op_sse_xx64, "maxsd", SSE2),
    S(F2, 0x170) = SXI(op_sse_xx128a, "pshuflw", SSE2),
    S(F2, 0x17C) = SX(op_sse_xx128a, "haddps", SSE3),
    S(F2, 0x17D) = SX(op_sse_xx128a, "hsubps", SSE3),
    S(F2, 0x1C2) = SXI(op_sse_xx64, "cmpsd", SSE2),
    S(F2, 0x1D0) = SX(op_sse_xx128a, "addsubps", SSE3),
    S(F2, 0x1D6) = SX(op_sse_mxreg, "movdq2q", SSE2),
    S(F2, 0x1E6) = SX(op_sse_xx128a, "cvtpd2dq", SSE2),
    S(F2, 0x1F0) = SX(op_sse_lddqu, "lddqu", SSE3),
};
#undef S

/* clang-format on */

/* ---- decoder ---- */

/* Whether the CPU model has the feature of a "needs" column (N_*). */
static bool cpu_has_need(const CPU *cpu, unsigned need) {
    if (!need) return true;
    uint32_t reg = (need & 0x20) ? cpu->feat.ecx1 : cpu->feat.edx1;
    return (reg >> (need & 31)) & 1;
}

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
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)next_byte(f) << (8 * i);
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
            if (in->mod == 1)
                in->disp = sext(next_byte(f), 1);
            else if (in->mod == 2)
                in->disp = sext(next_imm(f, 2), 2);
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
    if (in->mod == 1)
        in->disp = sext(next_byte(f), 1);
    else if (in->mod == 2)
        in->disp = next_imm(f, 4);
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
        if (index == 0x138)
            index = 0x200 | next_byte(&f);
        else if (index == 0x13A)
            index = 0x300 | next_byte(&f);
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
    unsigned need = e->need;
    if (flags & D_G) {
        const OpEntry *sub = e->group == grp7 && in->mod == 3
                                 ? &grp7_reg[in->modrm & 0x3F]
                                 : &e->group[in->reg + ((flags & D_GM) && !in->is_mem ? 8 : 0)];
        in->fn = sub->fn;
        in->name = sub->name;
        in->facts = sub->facts;
        flags |= sub->flags;
        if (imm == I_NONE) imm = sub->imm;
        if (sub->need) need = sub->need;
    } else {
        in->fn = e->fn;
        in->name = e->name;
        in->facts = e->facts;
    }
    if (!in->fn || !cpu_has_need(cpu, need)) cpu_ud(cpu);
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
