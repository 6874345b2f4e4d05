/*
 * test_decode.c - the facts the decoder table states about instructions
 * (InsnFacts, src/cpu/insn.h): representative instructions and their
 * facts; tb.h's readers, exec.c's and the jit's tests agree with the
 * opcode lists they replaced, for every opcode and ModRM.reg; block facts
 * only where the table ends blocks; and the flag facts agree with what the
 * handlers do (an instruction that does not read the arithmetic flags
 * computes the same from any of them, AFX_ALL leaves no trace of them,
 * AFX_NONE leaves them alone).
 *
 * Run: built by CMake as a Check test (ctest -R test_decode), or directly.
 */
#include <check.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/ops.h"
#include "dbt/tb.h"
#include "testmachine.h"

static TestMachine *tm;
static CPU *cpu;

static void setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
}
static void teardown(void) {
    tm_free(tm);
}

/* Decode the n bytes at TM_CODE (32-bit flat code); false if decoding
 * raised an exception (#UD: undefined opcode). */
static bool decode_bytes(const uint8_t *bytes, size_t n, Insn *in) {
    tm_poke(tm, TM_CODE, bytes, n);
    cpu->in_run = true;
    if (setjmp(cpu->exc_jmp)) {
        cpu->in_run = false;
        return false;
    }
    decode_insn(cpu, TM_CODE, in);
    cpu->in_run = false;
    return true;
}

/* The bytes of opcode op (0x000-0x1FF) with ModRM mod/reg (r/m 0) and
 * immediate bytes 5 (shift counts are not 0); returns their number. */
static size_t opcode_bytes(unsigned op, unsigned mod, unsigned reg, uint8_t *b) {
    size_t n = 0;
    if (op >= 0x100) b[n++] = 0x0F;
    b[n++] = (uint8_t)op;
    b[n++] = (uint8_t)(mod << 6 | reg << 3);
    for (int i = 0; i < 6; i++)
        b[n++] = 5;
    return n;
}

/* Prefixes and the 0F escape: not opcodes of the one-byte map. */
static bool is_prefix(unsigned op) {
    static const uint8_t prefixes[] = {0x0F, 0x26, 0x2E, 0x36, 0x3E, 0x64,
                                       0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3};
    for (size_t i = 0; i < sizeof prefixes; i++)
        if (op == prefixes[i]) return true;
    return false;
}

/* ---- representative instructions ---- */

typedef struct Example {
    const char *what;
    uint8_t bytes[8];
    uint8_t n;
    uint8_t branch, alu, sreg, flags, block, ends_block;
} Example;

#define X(what_, branch_, alu_, sreg_, flags_, block_, ends_, ...)                                 \
    {                                                                                              \
        what_, {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__}), branch_, alu_, sreg_, flags_,      \
            block_, ends_                                                                          \
    }

static const Example examples[] = {
    X("jz rel8", BR_JCC, ALU_NONE, SL_NONE, AFX_READS, BLK_NONE, 1, 0x74, 0x00),
    X("jz rel32", BR_JCC, ALU_NONE, SL_NONE, AFX_READS, BLK_NONE, 1, 0x0F, 0x84, 0, 0, 0, 0),
    X("loop", BR_LOOP, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xE2, 0x00),
    X("loope", BR_LOOP, ALU_NONE, SL_NONE, AFX_READS, BLK_NONE, 1, 0xE1, 0x00),
    X("jecxz", BR_LOOP, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xE3, 0x00),
    X("jmp rel8", BR_JMP, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xEB, 0x00),
    X("jmp rel32", BR_JMP, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xE9, 0, 0, 0, 0),
    X("call rel32", BR_CALL, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xE8, 0, 0, 0, 0),
    X("ret", BR_RET, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xC3),
    X("ret imm16", BR_RET, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xC2, 8, 0),
    X("call eax", BR_CALL_IND, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xFF, 0xD0),
    X("jmp [eax]", BR_JMP_IND, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xFF, 0x20),
    X("callf [eax]", BR_FAR, ALU_NONE, SL_NONE, AFX_READS | AFX_SOME, BLK_NONE, 1, 0xFF, 0x18),
    X("push eax (FF /6)", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 0, 0xFF, 0xF0),
    X("jmpf ptr", BR_FAR, ALU_NONE, SL_NONE, AFX_READS | AFX_SOME, BLK_NONE, 1, 0xEA, 0, 0, 0, 0, 8,
      0),
    X("retf", BR_FAR, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xCB),
    X("iret", BR_FAR, ALU_NONE, SL_NONE, AFX_READS | AFX_ALL, BLK_NONE, 1, 0xCF),
    X("sysenter", BR_FAR, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0x0F, 0x34),
    X("int3", BR_INT, ALU_NONE, SL_NONE, AFX_READS | AFX_SOME, BLK_NONE, 1, 0xCC),
    X("int 0x80", BR_INT, ALU_NONE, SL_NONE, AFX_READS | AFX_SOME, BLK_NONE, 1, 0xCD, 0x80),
    X("into", BR_INT, ALU_NONE, SL_NONE, AFX_READS | AFX_SOME, BLK_NONE, 1, 0xCE),
    X("int1", BR_INT, ALU_NONE, SL_NONE, AFX_READS | AFX_SOME, BLK_NONE, 1, 0xF1),
    X("mov es, ax", BR_NONE, ALU_NONE, SL_ES, AFX_NONE, BLK_GOES_ON, 1, 0x8E, 0xC0),
    X("mov ss, ax", BR_NONE, ALU_NONE, SL_SS, AFX_NONE, BLK_NONE, 1, 0x8E, 0xD0),
    X("mov ds, ax", BR_NONE, ALU_NONE, SL_DS, AFX_NONE, BLK_GOES_ON, 1, 0x8E, 0xD8),
    X("mov gs, [eax]", BR_NONE, ALU_NONE, SL_GS, AFX_NONE, BLK_GOES_ON, 1, 0x8E, 0x28),
    X("pop ds", BR_NONE, ALU_NONE, SL_DS, AFX_NONE, BLK_GOES_ON, 1, 0x1F),
    X("pop ss", BR_NONE, ALU_NONE, SL_SS, AFX_NONE, BLK_NONE, 1, 0x17),
    X("pop fs", BR_NONE, ALU_NONE, SL_FS, AFX_NONE, BLK_GOES_ON, 1, 0x0F, 0xA1),
    X("push ds", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 0, 0x1E),
    X("lds eax, [eax]", BR_NONE, ALU_NONE, SL_DS, AFX_NONE, BLK_NONE, 1, 0xC5, 0x00),
    X("lss eax, [eax]", BR_NONE, ALU_NONE, SL_SS, AFX_NONE, BLK_NONE, 1, 0x0F, 0xB2, 0x00),
    X("sti", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_STI, 1, 0xFB),
    X("cli", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_GOES_ON, 1, 0xFA),
    X("popf", BR_NONE, ALU_NONE, SL_NONE, AFX_ALL, BLK_GOES_ON, 1, 0x9D),
    X("pushf", BR_NONE, ALU_NONE, SL_NONE, AFX_READS, BLK_NONE, 0, 0x9C),
    X("sldt ax", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_GOES_ON, 1, 0x0F, 0x00, 0xC0),
    X("lldt ax", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0x0F, 0x00, 0xD0),
    X("verw ax", BR_NONE, ALU_NONE, SL_NONE, AFX_SOME, BLK_GOES_ON, 1, 0x0F, 0x00, 0xE8),
    X("out dx, al", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 1, 0xEE),
    X("add eax, imm32", BR_NONE, ALU_ADD, SL_NONE, AFX_ALL, BLK_NONE, 0, 0x05, 1, 0, 0, 0),
    X("adc al, imm8", BR_NONE, ALU_ADC, SL_NONE, AFX_READS | AFX_ALL, BLK_NONE, 0, 0x14, 1),
    X("sbb [eax], ecx", BR_NONE, ALU_SBB, SL_NONE, AFX_READS | AFX_ALL, BLK_NONE, 0, 0x19, 0x08),
    X("cmp al, imm8", BR_NONE, ALU_CMP, SL_NONE, AFX_ALL, BLK_NONE, 0, 0x3C, 1),
    X("xor ecx, eax", BR_NONE, ALU_XOR, SL_NONE, AFX_ALL, BLK_NONE, 0, 0x33, 0xC8),
    X("sub eax, imm32 (81 /5)", BR_NONE, ALU_SUB, SL_NONE, AFX_ALL, BLK_NONE, 0, 0x81, 0xE8, 1, 0,
      0, 0),
    X("cmp eax, imm8 (83 /7)", BR_NONE, ALU_CMP, SL_NONE, AFX_ALL, BLK_NONE, 0, 0x83, 0xF8, 1),
    X("or byte [eax], imm8", BR_NONE, ALU_OR, SL_NONE, AFX_ALL, BLK_NONE, 0, 0x80, 0x08, 1),
    X("test eax, eax", BR_NONE, ALU_TEST, SL_NONE, AFX_ALL, BLK_NONE, 0, 0x85, 0xC0),
    X("test al, imm8", BR_NONE, ALU_TEST, SL_NONE, AFX_ALL, BLK_NONE, 0, 0xA8, 1),
    X("test eax, imm32 (F7 /0)", BR_NONE, ALU_TEST, SL_NONE, AFX_ALL, BLK_NONE, 0, 0xF7, 0xC0, 1, 0,
      0, 0),
    X("test eax, imm32 (F7 /1)", BR_NONE, ALU_TEST, SL_NONE, AFX_ALL, BLK_NONE, 0, 0xF7, 0xC8, 1, 0,
      0, 0),
    X("mov eax, eax", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 0, 0x89, 0xC0),
    X("lea eax, [eax]", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 0, 0x8D, 0x00),
    X("inc eax", BR_NONE, ALU_NONE, SL_NONE, AFX_SOME, BLK_NONE, 0, 0x40),
    X("dec dword [eax]", BR_NONE, ALU_NONE, SL_NONE, AFX_SOME, BLK_NONE, 0, 0xFF, 0x08),
    X("shl eax, 1", BR_NONE, ALU_NONE, SL_NONE, AFX_ALL, BLK_NONE, 0, 0xD1, 0xE0),
    X("sar eax, 5", BR_NONE, ALU_NONE, SL_NONE, AFX_COUNT, BLK_NONE, 0, 0xC1, 0xF8, 5),
    X("shr eax, cl", BR_NONE, ALU_NONE, SL_NONE, AFX_COUNT, BLK_NONE, 0, 0xD3, 0xE8),
    X("rol eax, 1", BR_NONE, ALU_NONE, SL_NONE, AFX_SOME, BLK_NONE, 0, 0xD1, 0xC0),
    X("rcr eax, 5", BR_NONE, ALU_NONE, SL_NONE, AFX_READS | AFX_SOME, BLK_NONE, 0, 0xC1, 0xD8, 5),
    X("shld eax, ecx, 5", BR_NONE, ALU_NONE, SL_NONE, AFX_COUNT, BLK_NONE, 0, 0x0F, 0xA4, 0xC8, 5),
    X("not eax", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 0, 0xF7, 0xD0),
    X("neg eax", BR_NONE, ALU_NONE, SL_NONE, AFX_ALL, BLK_NONE, 0, 0xF7, 0xD8),
    X("mul ecx", BR_NONE, ALU_NONE, SL_NONE, AFX_ALL, BLK_NONE, 0, 0xF7, 0xE1),
    X("div ecx", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 0, 0xF7, 0xF1),
    X("imul eax, ecx", BR_NONE, ALU_NONE, SL_NONE, AFX_ALL, BLK_NONE, 0, 0x0F, 0xAF, 0xC1),
    X("bsf eax, ecx", BR_NONE, ALU_NONE, SL_NONE, AFX_SOME, BLK_NONE, 0, 0x0F, 0xBC, 0xC1),
    X("bt eax, 5", BR_NONE, ALU_NONE, SL_NONE, AFX_SOME, BLK_NONE, 0, 0x0F, 0xBA, 0xE0, 5),
    X("xadd [eax], ecx", BR_NONE, ALU_NONE, SL_NONE, AFX_ALL, BLK_NONE, 0, 0x0F, 0xC1, 0x08),
    X("sete al", BR_NONE, ALU_NONE, SL_NONE, AFX_READS, BLK_NONE, 0, 0x0F, 0x94, 0xC0),
    X("cmove eax, ecx", BR_NONE, ALU_NONE, SL_NONE, AFX_READS, BLK_NONE, 0, 0x0F, 0x44, 0xC1),
    X("lahf", BR_NONE, ALU_NONE, SL_NONE, AFX_READS, BLK_NONE, 0, 0x9F),
    X("sahf", BR_NONE, ALU_NONE, SL_NONE, AFX_SOME, BLK_NONE, 0, 0x9E),
    X("cmc", BR_NONE, ALU_NONE, SL_NONE, AFX_READS | AFX_SOME, BLK_NONE, 0, 0xF5),
    X("daa", BR_NONE, ALU_NONE, SL_NONE, AFX_READS | AFX_ALL, BLK_NONE, 0, 0x27),
    X("scasb", BR_NONE, ALU_NONE, SL_NONE, AFX_ALL, BLK_NONE, 0, 0xAE),
    X("cld", BR_NONE, ALU_NONE, SL_NONE, AFX_NONE, BLK_NONE, 0, 0xFC),
};

START_TEST(representative_instructions_have_their_facts) {
    const Example *x = &examples[_i];
    Insn in;
    ck_assert_msg(decode_bytes(x->bytes, x->n, &in), "%s: decodes", x->what);
    ck_assert_msg(in.facts.branch == x->branch, "%s: branch %u", x->what,
                  (unsigned)in.facts.branch);
    ck_assert_msg(in.facts.alu == x->alu, "%s: alu %u", x->what, (unsigned)in.facts.alu);
    ck_assert_msg(in.facts.sreg == x->sreg, "%s: sreg %u", x->what, (unsigned)in.facts.sreg);
    ck_assert_msg(in.facts.flags == x->flags, "%s: flags %u", x->what, (unsigned)in.facts.flags);
    ck_assert_msg(in.facts.block == x->block, "%s: block %u", x->what, (unsigned)in.facts.block);
    ck_assert_msg(in.ends_block == x->ends_block, "%s: ends_block %u", x->what, in.ends_block);
}
END_TEST

/* ---- the opcode lists the facts replaced (as they were before) ---- */

static bool old_plain_branch(const Insn *in) {
    unsigned op = in->op;
    return (op >= 0x70 && op <= 0x7F) || (op >= 0x180 && op <= 0x18F) || op == 0xE8 || op == 0xE9 ||
           op == 0xEB || op == 0xC2 || op == 0xC3 || (op >= 0xE0 && op <= 0xE3) ||
           (op == 0xFF && (in->reg == 2 || in->reg == 4));
}
static bool old_loads_data_seg(const Insn *in) {
    unsigned op = in->op;
    return (op == 0x8E && in->reg != SEG_SS && in->reg != SEG_CS) || op == 0x07 || op == 0x1F ||
           op == 0x1A1 || op == 0x1A9;
}
static bool old_block_goes_on(const Insn *in) {
    return old_loads_data_seg(in) || in->op == 0xFA || in->op == 0x9D ||
           (in->op == 0x100 && in->reg != 2 && in->reg != 3);
}
static bool old_software_interrupt(const Insn *in) { /* exec.c */
    return in->op == 0xCC || in->op == 0xCD || in->op == 0xCE || in->op == 0xF1;
}
/* The ALU kind as ops_alu.c and the jit (alu_row) derive it from the
 * opcode. */
static int old_alu_kind(const Insn *in) {
    unsigned op = in->op;
    if (op < 0x40 && (op & 7) <= 5) return (int)(op >> 3);
    if (op >= 0x80 && op <= 0x83) return in->reg;
    if (op == 0x84 || op == 0x85 || op == 0xA8 || op == 0xA9) return ALU_TEST;
    if ((op == 0xF6 || op == 0xF7) && in->reg == 0) return ALU_TEST;
    return ALU_NONE;
}
/* F6/F7 /1, TEST's undocumented alias, was not among them (the jit calls
 * its handler); the table says what it is. */
static bool test_alias(const Insn *in) {
    return (in->op == 0xF6 || in->op == 0xF7) && in->reg == 1;
}

/* The branch kinds the jit told from the opcode (exits.c.inc's
 * emit_branch_inline and exit_leaves_page). */
static unsigned old_jit_branch(const Insn *in) {
    unsigned op = in->op;
    if ((op >= 0x70 && op <= 0x7F) || (op >= 0x180 && op <= 0x18F)) return BR_JCC;
    if (op >= 0xE0 && op <= 0xE3) return BR_LOOP;
    if (op == 0xE9 || op == 0xEB) return BR_JMP;
    if (op == 0xE8) return BR_CALL;
    if (op == 0xC2 || op == 0xC3) return BR_RET;
    if (op == 0xFF && in->reg == 2) return BR_CALL_IND;
    if (op == 0xFF && in->reg == 4) return BR_JMP_IND;
    return BR_NONE;
}
/* The segment register of a data segment load as the jit's
 * emit_mode_check told it from the opcode. */
static int old_jit_loaded_seg(const Insn *in) {
    unsigned op = in->op;
    return op == 0x8E    ? in->reg
           : op == 0x07  ? SEG_ES
           : op == 0x1F  ? SEG_DS
           : op == 0x1A1 ? SEG_FS
                         : SEG_GS;
}

/* MOV CS and MOV to segment registers 6 and 7 always raise #UD (in the
 * handler); the old list counted 6 and 7 as data segment loads. */
static bool mov_sreg_ud(const Insn *in) {
    return in->op == 0x8E && (in->reg == SEG_CS || in->reg >= SEG_COUNT);
}

START_TEST(readers_agree_with_the_old_opcode_lists) {
    unsigned decoded = 0;
    for (unsigned op = 0; op < 0x200; op++) {
        if (op < 0x100 && is_prefix(op)) continue;
        if (op == 0x138 || op == 0x13A) continue; /* escapes to the three-byte maps */
        for (unsigned mod = 0; mod <= 3; mod += 3) {
            for (unsigned reg = 0; reg < 8; reg++) {
                uint8_t b[16];
                Insn in;
                if (!decode_bytes(b, opcode_bytes(op, mod, reg, b), &in)) continue;
                decoded++;
                ck_assert_uint_eq(in.op, op);
                ck_assert_msg(insn_plain_branch(&in) == old_plain_branch(&in), "%03x /%u", op, reg);
                ck_assert_msg((in.facts.branch == BR_INT) == old_software_interrupt(&in),
                              "%03x /%u", op, reg);
                ck_assert_msg((in.facts.block == BLK_STI) == (op == 0xFB), "%03x /%u", op, reg);
                ck_assert_msg(in.facts.alu == (test_alias(&in) ? ALU_TEST : old_alu_kind(&in)),
                              "%03x /%u", op, reg);
                unsigned near = in.facts.branch < BR_FAR ? in.facts.branch : BR_NONE;
                ck_assert_msg(near == old_jit_branch(&in), "%03x /%u", op, reg);
                if (mov_sreg_ud(&in)) continue;
                ck_assert_msg(insn_loads_data_seg(&in) == old_loads_data_seg(&in), "%03x /%u", op,
                              reg);
                if (insn_loads_data_seg(&in))
                    ck_assert_msg(insn_loaded_seg(&in) == old_jit_loaded_seg(&in), "%03x /%u", op,
                                  reg);
                ck_assert_msg(insn_block_goes_on(&in) == old_block_goes_on(&in), "%03x /%u", op,
                              reg);
            }
        }
    }
    ck_assert_uint_gt(decoded, 2000); /* the loop saw the whole map */
}
END_TEST

/* The SysKind column (what a VMM must do about an instruction: the vmm
 * lab's bt model classifies from it) names exactly the handlers of the
 * privileged and sensitive instructions. */
static unsigned sys_of_handler(const Insn *in) {
    OpFn f = in->fn;
    if (f == op_cli || f == op_sti) return SYS_CLI_STI;
    if (f == op_pushf || f == op_popf) return SYS_FLAGS;
    if (f == op_mov_r_cr) return SYS_CR_READ;
    if (f == op_mov_cr_r || f == op_clts || f == op_lmsw) return SYS_CR_WRITE;
    if (f == op_push_sreg || f == op_mov_rm_sreg) return SYS_SREG_READ;
    if (f == op_pop_sreg || f == op_mov_sreg_rm) return SYS_SREG_LOAD;
    if (f == op_sgdt || f == op_sidt || f == op_sldt || f == op_str || f == op_smsw)
        return SYS_TABLE_READ;
    if (f == op_lgdt || f == op_lidt || f == op_lldt || f == op_ltr) return SYS_DESC_LOAD;
    if (f == op_lar || f == op_lsl || f == op_verr || f == op_verw) return SYS_SEG_CHECK;
    if (f == op_in || f == op_out || f == op_ins || f == op_outs) return SYS_IO;
    if (f == op_hlt) return SYS_HLT;
    if (f == op_invlpg) return SYS_INVLPG;
    if (f == op_mov_r_dr || f == op_mov_dr_r) return SYS_DR;
    if (f == op_rdmsr || f == op_wrmsr) return SYS_MSR;
    if (f == op_cpuid) return SYS_CPUID;
    if (f == op_invd) return SYS_CACHE;
    if (f == op_iret) return SYS_IRET;
    if (f == op_call_far_imm || f == op_call_far_rm || f == op_jmp_far_imm || f == op_jmp_far_rm ||
        f == op_ret_far)
        return SYS_FAR;
    if (f == op_int || f == op_int3 || f == op_into || f == op_int1 || f == op_sysenter)
        return SYS_INT;
    if (f == op_sysexit) return SYS_SYSEXIT;
    if (f == op_vmcall) return SYS_VMCALL;
    return SYS_NONE;
}

START_TEST(sys_facts_name_the_privileged_and_sensitive_handlers) {
    unsigned marked = 0;
    for (unsigned op = 0; op < 0x200; op++) {
        if (op < 0x100 && is_prefix(op)) continue;
        if (op == 0x138 || op == 0x13A) continue;
        for (unsigned mod = 0; mod <= 3; mod += 3)
            for (unsigned reg = 0; reg < 8; reg++) {
                uint8_t b[16];
                Insn in;
                if (!decode_bytes(b, opcode_bytes(op, mod, reg, b), &in)) continue;
                ck_assert_msg(in.facts.sys == sys_of_handler(&in), "%03x mod %u /%u: sys %u", op,
                              mod, reg, (unsigned)in.facts.sys);
                marked += in.facts.sys != SYS_NONE;
            }
    }
    ck_assert_uint_gt(marked, 60);
}
END_TEST

/* Control transfers, segment loads and the instructions a block may run
 * through all the same are among those the table marks D_END. */
START_TEST(block_facts_only_where_the_table_ends_blocks) {
    for (unsigned op = 0; op < 0x200; op++) {
        if (op < 0x100 && is_prefix(op)) continue;
        for (unsigned reg = 0; reg < 8; reg++) {
            uint8_t b[16];
            Insn in;
            if (!decode_bytes(b, opcode_bytes(op, 0, reg, b), &in)) continue;
            if (in.facts.branch != BR_NONE || in.facts.sreg != SL_NONE ||
                in.facts.block != BLK_NONE)
                ck_assert_msg(in.ends_block, "%03x /%u", op, reg);
            ck_assert_uint_le(in.facts.branch, BR_INT);
            ck_assert_uint_le(in.facts.alu, ALU_NONE);
            ck_assert_uint_le(in.facts.sreg, SL_GS);
            ck_assert_uint_le(in.facts.flags, AFX_READS | AFX_WRITES);
            ck_assert_uint_le(in.facts.block, BLK_STI);
        }
    }
}
END_TEST

/* ---- flag facts against the handlers ---- */

typedef struct Outcome {
    bool raised;
    uint32_t regs[8];
    uint32_t arith; /* the arithmetic flags afterwards */
} Outcome;

/* Run in's handler from a fixed state with the arithmetic flags `arith`. */
static Outcome run_handler(const Insn *in, uint32_t arith) {
    static const uint32_t regs[8] = {0x12345687,       3,      1,     0x5000, TM_STACK0 - 0x800,
                                     TM_STACK0 - 0x10, 0x6000, 0x7000};
    Outcome o = {0};
    memcpy(cpu->regs, regs, sizeof regs);
    cpu->eip = TM_CODE;
    cpu->next_eip = TM_CODE + in->len;
    cpu->eflags = (cpu->eflags & ~(FL_ARITH | FL_DF)) | arith;
    cpu->lf.op = CC_EFLAGS;
    cpu->in_run = true;
    if (setjmp(cpu->exc_jmp)) {
        o.raised = true;
    } else {
        in->fn(cpu, in);
        memcpy(o.regs, cpu->regs, sizeof o.regs);
        o.arith = flags_arith(cpu);
    }
    cpu->in_run = false;
    return o;
}

/* Instructions whose result depends on something else that changes
 * between two runs: RDTSC and RDPMC read clocks. */
static bool reads_a_clock(unsigned op) {
    return op == 0x131 || op == 0x133;
}

START_TEST(flag_facts_agree_with_the_handlers) {
    unsigned checked = 0;
    for (unsigned op = 0; op < 0x200; op++) {
        if ((op < 0x100 && is_prefix(op)) || reads_a_clock(op)) continue;
        for (unsigned reg = 0; reg < 8; reg++) {
            uint8_t b[16];
            Insn in;
            /* Register forms of instructions inside blocks (no control
             * transfers, I/O or system state); not the x87 */
            if (!decode_bytes(b, opcode_bytes(op, 3, reg, b), &in)) continue;
            if (in.ends_block || (op >= 0xD8 && op <= 0xDF)) continue;
            Outcome clear = run_handler(&in, 0), set = run_handler(&in, FL_ARITH);
            if (clear.raised || set.raised) continue;
            checked++;
            unsigned fx = in.facts.flags, writes = fx & AFX_WRITES;
            if (!(fx & AFX_READS)) {
                ck_assert_msg(!memcmp(clear.regs, set.regs, sizeof clear.regs),
                              "%03x /%u (%s) reads the flags", op, reg, in.name);
                if (writes == AFX_ALL || writes == AFX_COUNT) /* the counts are not 0 */
                    ck_assert_msg(clear.arith == set.arith, "%03x /%u (%s) keeps a flag", op, reg,
                                  in.name);
            }
            if (writes == AFX_NONE)
                ck_assert_msg(clear.arith == 0 && set.arith == FL_ARITH,
                              "%03x /%u (%s) writes a flag", op, reg, in.name);
        }
    }
    ck_assert_uint_gt(checked, 500);
}
END_TEST

static Suite *decode_suite(void) {
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("facts");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, representative_instructions_have_their_facts, 0,
                        sizeof examples / sizeof examples[0]);
    tcase_add_test(tc, readers_agree_with_the_old_opcode_lists);
    tcase_add_test(tc, block_facts_only_where_the_table_ends_blocks);
    tcase_add_test(tc, sys_facts_name_the_privileged_and_sensitive_handlers);
    tcase_add_test(tc, flag_facts_agree_with_the_handlers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(decode_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
