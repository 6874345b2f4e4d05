/*
 * jit_x86_64.c - the native backend: x86-64 host code for translation
 * blocks (engine "jit").
 *
 * A block becomes a piece of host code without prologue or epilogue: a
 * small runtime at the start of the code buffer (emit_runtime) sets up one
 * frame when the dispatcher enters host code (jit_run), and blocks jump to
 * each other and back into the runtime to leave or to call a handler, so
 * a block's own code is mostly its instructions. Inside generated code RBX
 * holds cpu and the eight guest general registers live in host r8-r15:
 * loaded at entry, written back to cpu->regs around every call into the
 * core and at the exit. Each guest instruction is either
 *   - inline host code: 32-bit MOV, ALU (ADD/SUB/AND/OR/XOR/CMP/TEST), LEA,
 *     PUSH/POP and NOP on registers, immediates and memory. Memory accesses
 *     use the software TLB inline when DS/ES/SS are flat (TBF_FLAT); the
 *     arithmetic flags are recorded lazily in cpu->lf exactly as the
 *     emulation core's handlers record them; or
 *   - a call of the emulation core's handler for that instruction (the same
 *     one the interpreter runs), with cpu->eip and the retirement counters
 *     brought up to date first, so a fault inside it is precise.
 * An inline memory access whose TLB check fails (miss, MMIO, a page holding
 * translated code, a page-crossing access) jumps to an out-of-line slow
 * path that runs the whole instruction through its handler instead.
 *
 * Instruction counts: inline instructions are counted in bulk in RBP
 * (run_left; icount follows from it, see jit_sync_out) at the next call or
 * at the block's end; dbt_run only enters a block when run_left covers all
 * of it, so it never has to stop in the middle. After each handler call the block ends early when
 * the instruction left the straight line (EIP differs) or asked for the dispatcher
 * (cpu->block_break: invalidation, MMIO, ...).
 *
 * Block exits after straight-line code and near branches go on without
 * the dispatcher: to a patched direct jump into the next block (on the
 * same page, or on another one behind a check of the TLB's mapping of the
 * target: see emit_site, jit_link) or, for returns and indirect branches,
 * through an inline lookup in the dispatcher's virtual-address cache
 * (emit_lookup).
 *
 * Code memory is W^X: one memfd mapped twice, writable for the generator
 * and executable for the CPU, never both on one mapping. On a host that is
 * not x86-64 (or cannot map it) jit_new returns NULL and the threaded
 * engine runs instead.
 */
#define _GNU_SOURCE 1 /* memfd_create */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbt/dbt.h"
#include "dbt/tb.h"

#if defined(__x86_64__) && defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>

#define JIT_CODE_SIZE (64u << 20)
#define JIT_MAX_BLOCK (64u << 10) /* generous bound for one block's code */

/* ---------------- the x86-64 encoder ---------------- */

/* The only place that knows how x86-64 instructions are encoded: prefixes,
 * opcodes (named), ModRM, SIB, displacements and immediates. Everything
 * after it says which instruction it wants, as an assembler would. */

typedef struct Emit {
    uint8_t *buf, *p, *end;
    bool full;
} Emit;

static void e8(Emit *e, uint8_t b) {
    if (e->p < e->end)
        *e->p++ = b;
    else
        e->full = true;
}
static void e32(Emit *e, uint32_t v) {
    for (int i = 0; i < 4; i++)
        e8(e, (uint8_t)(v >> (8 * i)));
}
static void e64(Emit *e, uint64_t v) {
    e32(e, (uint32_t)v);
    e32(e, (uint32_t)(v >> 32));
}

/* Host registers, numbered as the encoding numbers them. In byte
 * operations H_RAX..H_RBX mean AL..BL; H_SIL is the byte register 6 with
 * a REX prefix, H_DH the same number without one. */
enum {
    H_NONE = -1,
    H_RAX,
    H_RCX,
    H_RDX,
    H_RBX,
    H_RSP,
    H_RBP,
    H_RSI,
    H_RDI,
    H_R8,
    H_R9,
    H_R10,
    H_R11,
    H_R12,
    H_R13,
    H_R14,
    H_R15,
    H_BYTE_HIGH = 0x10, /* AH..BH: no REX prefix possible */
    H_BYTE_REX = 0x20,  /* SPL..DIL: a REX prefix needed */
    H_DH = H_BYTE_HIGH | H_RSI,
    H_SIL = H_BYTE_REX | H_RSI,
};

/* Operand sizes (the operand's bytes), and REX_ALWAYS: a REX prefix even
 * when nothing needs one (GAS's {rex}). */
enum { W8 = 1, W16 = 2, W32 = 4, W64 = 8, REX_ALWAYS = 0x10 };
#define WIDTH(w) ((w)&0xF)

/* Opcodes: the one-byte map, and the two-byte map as 0x0Fxx. Operand
 * forms as in the SDM's opcode map (E: ModRM.rm, G: ModRM.reg, I:
 * immediate, J: relative, r: register in the opcode's low bits). */
enum {
    OPC_ADD_EvGv = 0x01,
    OPC_ADD_GvEv = 0x03,
    OPC_ADD_EAX_Iz = 0x05,
    OPC_PUSH_r = 0x50,
    OPC_POP_r = 0x58,
    OPC_IMUL_GvEvIz = 0x69,
    OPC_ALU_EbIb = 0x80,
    OPC_ALU_EvIz = 0x81,
    OPC_ALU_EvIb = 0x83,
    OPC_TEST_EvGv = 0x85,
    OPC_MOV_EvGv = 0x89,
    OPC_MOV_GvEv = 0x8B,
    OPC_LEA_GvM = 0x8D,
    OPC_CWDE = 0x98,
    OPC_CDQ = 0x99,
    OPC_TEST_EAX_Iz = 0xA9,
    OPC_MOV_r_Iv = 0xB8,
    OPC_SHIFT_EvIb = 0xC1,
    OPC_RET = 0xC3,
    OPC_MOV_EvIz = 0xC7,
    OPC_SHIFT_EvCL = 0xD3,
    OPC_CALL_Jz = 0xE8,
    OPC_JMP_Jz = 0xE9,
    OPC_GRP3_Ev = 0xF7,
    OPC_GRP5_Ev = 0xFF,
    OPC_JCC_Jz = 0x0F80,
    OPC_SETCC_Eb = 0x0F90,
    OPC_IMUL_GvEv = 0x0FAF,
    OPC_MOVZX_GvEb = 0x0FB6,
    OPC_MOVZX_GvEw = 0x0FB7,
    OPC_BT_EvIb = 0x0FBA,
    OPC_MOVSX_GvEb = 0x0FBE,
    OPC_MOVSX_GvEw = 0x0FBF,
    OPC_BSWAP_r = 0x0FC8,
};
/* Opcode extensions (ModRM.reg) of the group opcodes, and the ALU rows
 * (opcode bits 3-5). */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };
enum { SHIFT_ROL = 0, SHIFT_ROR = 1, SHIFT_SHL = 4, SHIFT_SHR = 5, SHIFT_SAR = 7 };
enum { BIT_BT = 4, BIT_BTS, BIT_BTR, BIT_BTC };
enum { GRP3_NOT = 2, GRP3_NEG = 3 };
enum { GRP5_INC = 0, GRP5_CALL = 2, GRP5_JMP = 4 };
/* Condition codes (the low nibble of Jcc, SETcc and CMOVcc). */
enum {
    JCC_O,
    JCC_NO,
    JCC_B,
    JCC_AE,
    JCC_E,
    JCC_NE,
    JCC_BE,
    JCC_A,
    JCC_S,
    JCC_NS,
    JCC_P,
    JCC_NP,
    JCC_L,
    JCC_GE,
    JCC_LE,
    JCC_G,
};

/* The byte form of an Ev/Gv opcode is the one before it (opcode bit 0). */
static unsigned sized(unsigned w, unsigned opc) {
    return WIDTH(w) == W8 ? opc - 1 : opc;
}
static unsigned opc_alu_EvGv(int alu) {
    return (unsigned)alu << 3 | OPC_ADD_EvGv;
}
static unsigned opc_alu_GvEv(int alu) {
    return (unsigned)alu << 3 | OPC_ADD_GvEv;
}
static bool fits8(int32_t v) {
    return v >= -128 && v <= 127;
}

/* A memory operand [base + index << scale + disp]; disp_size is how many
 * bytes the displacement takes (0, 1 or 4); sib asks for a SIB byte even
 * where none is needed. */
typedef struct Mem {
    int8_t base, index; /* H_*, or H_NONE */
    uint8_t scale, disp_size;
    bool sib;
    int32_t disp;
} Mem;
/* [base + disp], with an 8-bit displacement when it fits (also for 0) */
static Mem mem_at(int base, int32_t disp) {
    return (Mem){(int8_t)base, H_NONE, 0, fits8(disp) ? 1 : 4, false, disp};
}
/* [base + disp32]: for code patched at fixed offsets */
static Mem mem_at32(int base, int32_t disp) {
    return (Mem){(int8_t)base, H_NONE, 0, 4, false, disp};
}
/* [base + index << scale] */
static Mem mem_sum(int base, int index, int scale) {
    return (Mem){(int8_t)base, (int8_t)index, (uint8_t)scale, 0, false, 0};
}
/* [base + index + disp32] */
static Mem mem_sum32(int base, int index, int32_t disp) {
    return (Mem){(int8_t)base, (int8_t)index, 0, 4, false, disp};
}

static void emit_rex(Emit *e, unsigned w, int reg, int index, int base) {
    unsigned rex = (WIDTH(w) == W64 ? 8u : 0u) | (reg >= 0 && (reg & 8) ? 4u : 0u) |
                   (index >= 0 && (index & 8) ? 2u : 0u) | (base >= 0 && (base & 8) ? 1u : 0u);
    bool byte_rex = (reg >= 0 && (reg & H_BYTE_REX)) || (base >= 0 && (base & H_BYTE_REX));
    if (rex || byte_rex || (w & REX_ALWAYS)) e8(e, (uint8_t)(0x40 | rex));
}
/* Prefixes and opcode; reg, index and base say which REX bits it needs. */
static void emit_opcode(Emit *e, unsigned w, unsigned opc, int reg, int index, int base) {
    if (WIDTH(w) == W16) e8(e, 0x66);
    emit_rex(e, w, reg, index, base);
    if (opc > 0xFF) e8(e, 0x0F);
    e8(e, (uint8_t)opc);
}
static void emit_modrm(Emit *e, int mod, int reg, int rm) {
    e8(e, (uint8_t)(mod << 6 | (reg & 7) << 3 | (rm & 7)));
}
static void emit_imm(Emit *e, unsigned w, uint32_t imm) {
    if (WIDTH(w) == W8)
        e8(e, (uint8_t)imm);
    else if (WIDTH(w) == W16)
        e8(e, (uint8_t)imm), e8(e, (uint8_t)(imm >> 8));
    else
        e32(e, imm);
}
/* opc with a register operand: ModRM.reg = reg (a register or an opcode
 * extension), ModRM.rm = the register rm. */
static void op_r(Emit *e, unsigned w, unsigned opc, int reg, int rm) {
    emit_opcode(e, w, opc, reg, H_NONE, rm);
    emit_modrm(e, 3, reg, rm);
}
/* opc with a memory operand m. */
static void op_m(Emit *e, unsigned w, unsigned opc, int reg, Mem m) {
    emit_opcode(e, w, opc, reg, m.index, m.base);
    bool no_base = m.base == H_NONE;
    bool sib = m.sib || m.index != H_NONE || no_base || (m.base & 7) == H_RSP;
    int mod = no_base ? 0 : m.disp_size == 1 ? 1 : m.disp_size == 4 ? 2 : 0;
    emit_modrm(e, mod, reg, sib ? H_RSP : m.base);
    if (sib)
        e8(e, (uint8_t)(m.scale << 6 | (m.index == H_NONE ? H_RSP : m.index & 7) << 3 |
                        (no_base ? H_RBP : m.base & 7)));
    if (mod == 1)
        e8(e, (uint8_t)m.disp);
    else if (mod == 2 || no_base)
        e32(e, (uint32_t)m.disp);
}
/* An instruction of one opcode byte (and a register in its low bits). */
static void op_plain(Emit *e, unsigned opc) {
    e8(e, (uint8_t)opc);
}
static void op_plus_r(Emit *e, unsigned w, unsigned opc, int r) {
    emit_opcode(e, w, opc + (unsigned)(r & 7), H_NONE, H_NONE, r);
}

/* The instructions, in Intel operand order (destination first). */
static void mov_rr(Emit *e, unsigned w, int dst, int src) {
    op_r(e, w, sized(w, OPC_MOV_EvGv), src, dst);
}
static void mov_rm(Emit *e, unsigned w, int dst, Mem m) {
    op_m(e, w, sized(w, OPC_MOV_GvEv), dst, m);
}
static void mov_mr(Emit *e, unsigned w, Mem m, int src) {
    op_m(e, w, sized(w, OPC_MOV_EvGv), src, m);
}
static void mov_mi(Emit *e, unsigned w, Mem m, uint32_t imm) {
    op_m(e, w, sized(w, OPC_MOV_EvIz), 0, m);
    emit_imm(e, w, imm);
}
static void mov_ri(Emit *e, int dst, uint32_t imm) {
    op_plus_r(e, W32, OPC_MOV_r_Iv, dst);
    e32(e, imm);
}
static void mov_ri64(Emit *e, int dst, uint64_t imm) {
    op_plus_r(e, W64, OPC_MOV_r_Iv, dst);
    e64(e, imm);
}
static void movx_rr(Emit *e, unsigned opc, int dst, int src) { /* movzx/movsx */
    op_r(e, W32, opc, dst, src);
}
static void movx_rm(Emit *e, unsigned opc, int dst, Mem m) {
    op_m(e, W32, opc, dst, m);
}
static void lea(Emit *e, unsigned w, int dst, Mem m) {
    op_m(e, w, OPC_LEA_GvM, dst, m);
}
/* alu: ALU_ADD..ALU_CMP */
static void alu_rr(Emit *e, unsigned w, int alu, int dst, int src) {
    op_r(e, w, sized(w, opc_alu_EvGv(alu)), src, dst);
}
static void alu_rm(Emit *e, unsigned w, int alu, int dst, Mem m) {
    op_m(e, w, sized(w, opc_alu_GvEv(alu)), dst, m);
}
static void alu_mr(Emit *e, unsigned w, int alu, Mem m, int src) {
    op_m(e, w, sized(w, opc_alu_EvGv(alu)), src, m);
}
static void alu_ri8(Emit *e, unsigned w, int alu, int dst, int8_t imm) {
    op_r(e, w, OPC_ALU_EvIb, alu, dst);
    e8(e, (uint8_t)imm);
}
static void alu_ri32(Emit *e, unsigned w, int alu, int dst, uint32_t imm) {
    op_r(e, w, OPC_ALU_EvIz, alu, dst);
    e32(e, imm);
}
/* the shorter of the two */
static void alu_ri(Emit *e, unsigned w, int alu, int dst, uint32_t imm) {
    if (fits8((int32_t)imm))
        alu_ri8(e, w, alu, dst, (int8_t)imm);
    else
        alu_ri32(e, w, alu, dst, imm);
}
static void alu_eax_i32(Emit *e, int alu, uint32_t imm) {
    op_plain(e, (unsigned)alu << 3 | OPC_ADD_EAX_Iz);
    e32(e, imm);
}
static void alu_mi8(Emit *e, unsigned w, int alu, Mem m, uint8_t imm) {
    op_m(e, w, WIDTH(w) == W8 ? OPC_ALU_EbIb : OPC_ALU_EvIb, alu, m);
    e8(e, imm);
}
static void alu_mi32(Emit *e, unsigned w, int alu, Mem m, uint32_t imm) {
    op_m(e, w, OPC_ALU_EvIz, alu, m);
    e32(e, imm);
}
static void test_rr(Emit *e, unsigned w, int a, int b) {
    op_r(e, w, sized(w, OPC_TEST_EvGv), b, a);
}
static void test_eax_i32(Emit *e, uint32_t imm) {
    op_plain(e, OPC_TEST_EAX_Iz);
    e32(e, imm);
}
/* shift: SHIFT_ROL..SHIFT_SAR */
static void shift_ri(Emit *e, unsigned w, int shift, int r, uint8_t count) {
    op_r(e, w, OPC_SHIFT_EvIb, shift, r);
    e8(e, count);
}
static void shift_r_cl(Emit *e, int shift, int r) {
    op_r(e, W32, OPC_SHIFT_EvCL, shift, r);
}
static void bt_ri(Emit *e, int bit_op, int r, uint8_t bit) { /* BIT_BT..BIT_BTC */
    op_r(e, W32, OPC_BT_EvIb, bit_op, r);
    e8(e, bit);
}
static void neg_r(Emit *e, int r) {
    op_r(e, W32, OPC_GRP3_Ev, GRP3_NEG, r);
}
static void not_r(Emit *e, int r) {
    op_r(e, W32, OPC_GRP3_Ev, GRP3_NOT, r);
}
static void imul_rr(Emit *e, int dst, int src) {
    op_r(e, W32, OPC_IMUL_GvEv, dst, src);
}
static void imul_rri(Emit *e, int dst, int src, uint32_t imm) {
    op_r(e, W32, OPC_IMUL_GvEvIz, dst, src);
    e32(e, imm);
}
static void bswap_r(Emit *e, int r) {
    op_plus_r(e, W32, OPC_BSWAP_r, r);
}
static void setcc_r(Emit *e, int cc, int r8) {
    op_r(e, W32, OPC_SETCC_Eb + (unsigned)cc, 0, r8);
}
static void inc_m64(Emit *e, Mem m) {
    op_m(e, W64, OPC_GRP5_Ev, GRP5_INC, m);
}
static void push_r(Emit *e, int r) {
    op_plus_r(e, W32, OPC_PUSH_r, r);
}
static void pop_r(Emit *e, int r) {
    op_plus_r(e, W32, OPC_POP_r, r);
}
static void call_r(Emit *e, int r) {
    op_r(e, W32, OPC_GRP5_Ev, GRP5_CALL, r);
}
static void call_m(Emit *e, Mem m) {
    op_m(e, W32, OPC_GRP5_Ev, GRP5_CALL, m);
}
static void jmp_r(Emit *e, int r) {
    op_r(e, W32, OPC_GRP5_Ev, GRP5_JMP, r);
}
static void ret(Emit *e) {
    op_plain(e, OPC_RET);
}
/* jcc/jmp/call rel32 (opc: OPC_JCC_Jz + cc, OPC_JMP_Jz, OPC_CALL_Jz) */
static void op_rel32(Emit *e, unsigned opc, int32_t rel) {
    emit_opcode(e, W32, opc, H_NONE, H_NONE, H_NONE);
    e32(e, (uint32_t)rel);
}

/* Forward jumps (jcc rel32 / jmp rel32) with the displacement patched
 * later: they return where they end. */
static uint8_t *jcc_fwd(Emit *e, int cc) {
    op_rel32(e, OPC_JCC_Jz + (unsigned)cc, 0);
    return e->p;
}
static uint8_t *jmp_fwd(Emit *e) {
    op_rel32(e, OPC_JMP_Jz, 0);
    return e->p;
}
/* Point the jump that ends at `after` (as returned above) to `target`. */
static void patch(Emit *e, uint8_t *after, uint8_t *target) {
    if (e->full || !after) return;
    int32_t rel = (int32_t)(target - after);
    memcpy(after - 4, &rel, 4);
}

#define OFF(field) ((int32_t)offsetof(CPU, field))
#define REG_OFF(r) ((int32_t)(offsetof(CPU, regs) + 4 * (size_t)(r)))

/* A CPU field: [rbx + off] (RBX holds cpu in generated code), with an
 * 8-bit displacement when off fits (the hot CPU fields are at the start
 * of the structure), or always 4 bytes of it (code patched at fixed
 * offsets). */
static Mem cpu_mem(int32_t off) {
    return mem_at(H_RBX, off);
}
static Mem cpu_mem32(int32_t off) {
    return mem_at32(H_RBX, off);
}
static void mov_r_m(Emit *e, int r, int32_t off) {
    mov_rm(e, W32, r, cpu_mem(off));
}
static void mov_m_r(Emit *e, int32_t off, int r) {
    mov_mr(e, W32, cpu_mem(off), r);
}
/* Guest registers in host registers: inside generated code guest register
 * r (R_EAX..R_EDI) lives in host r8+r (guest(r)); cpu->regs is brought up
 * to date before anything that may read it (a call into the core, a block
 * exit) and reloaded after a call that may change it. Host RAX, RCX, RDX,
 * RSI and RDI are scratch; RBX holds cpu. Helpers below take the guest
 * register number and a scratch register (H_RAX..H_RDI, not H_RBX). */
static int guest(int r) {
    return H_R8 + r;
}

/* mov t32, guest r */
static void g_get(Emit *e, int t, int r) {
    mov_rr(e, W32, t, guest(r));
}
/* mov guest r, t32 */
static void g_set(Emit *e, int r, int t) {
    mov_rr(e, W32, guest(r), t);
}
/* mov guest r, imm32 */
static void g_set_imm(Emit *e, int r, uint32_t imm) {
    mov_ri(e, guest(r), imm);
}
/* movzx or movsx (opc) t32, the low byte/word of guest r */
static void g_get_ext(Emit *e, unsigned opc, int t, int r) {
    movx_rr(e, opc, t, guest(r));
}
/* t32 = byte register r8 (AL..BL, AH..BH) zero- or sign-extended (t is
 * H_RAX when sign). */
static void g_get8(Emit *e, int t, int r8, bool sign) {
    if (r8 < 4) {
        g_get_ext(e, sign ? OPC_MOVSX_GvEb : OPC_MOVZX_GvEb, t, r8);
        return;
    }
    g_get_ext(e, OPC_MOVZX_GvEw, t, r8 - 4);
    shift_ri(e, W32, SHIFT_SHR, t, 8);
    if (sign) movx_rr(e, OPC_MOVSX_GvEb, t, t);
}
/* Byte register r8 = the low byte of t (t is H_RAX, H_RCX or H_RDX).
 * Clobbers the host flags (nothing reads them across a guest register
 * write). */
static void g_set8(Emit *e, int r8, int t) {
    int r = guest(r8 & 3);
    if (r8 >= 4) shift_ri(e, W32, SHIFT_ROR, r, 8);
    mov_rr(e, W8, r, t);
    if (r8 >= 4) shift_ri(e, W32, SHIFT_ROL, r, 8);
}
/* Word register r = the low word of t. */
static void g_set16(Emit *e, int r, int t) {
    mov_rr(e, W16, guest(r), t);
}
/* Write guest registers first..first+n-1 back to cpu->regs / reload them. */
static void g_spill(Emit *e, int first, int n) {
    for (int r = first; r < first + n; r++)
        mov_mr(e, W32, cpu_mem(REG_OFF(r)), guest(r));
}
static void g_reload(Emit *e, int first, int n) {
    for (int r = first; r < first + n; r++)
        mov_rm(e, W32, guest(r), cpu_mem(REG_OFF(r)));
}

static void mov_m_imm(Emit *e, int32_t off, uint32_t imm) {
    mov_mi(e, W32, cpu_mem(off), imm);
}
/* 64-bit add/sub of a sign-extended imm32 to a CPU field. */
static void add_m64_imm(Emit *e, int32_t off, int32_t imm) {
    if (imm == 0) return;
    int32_t mag = imm > 0 ? imm : -imm;
    int alu = imm > 0 ? ALU_ADD : ALU_SUB;
    if (mag <= 127)
        alu_mi8(e, W64, alu, cpu_mem(off), (uint8_t)mag);
    else
        alu_mi32(e, W64, alu, cpu_mem(off), (uint32_t)mag);
}
static void cmp_m_imm(Emit *e, int32_t off, uint32_t imm) {
    alu_mi32(e, W32, ALU_CMP, cpu_mem(off), imm);
}
static void cmp_m8_imm(Emit *e, int32_t off, uint8_t imm) {
    alu_mi8(e, W8, ALU_CMP, cpu_mem(off), imm);
}
static void add_r_imm(Emit *e, int r, uint32_t imm) {
    if (imm) alu_ri(e, W32, ALU_ADD, r, imm);
}
static void mov_rdi_rbx(Emit *e) {
    mov_rr(e, W64, H_RDI, H_RBX);
}
static void call_abs(Emit *e, const void *fn) {
    mov_ri64(e, H_RAX, (uint64_t)(uintptr_t)fn);
    call_r(e, H_RAX);
}
/* Call fn(cpu[, esi]), a core function that reads no guest register and
 * writes none: only the caller-saved host registers that hold guest
 * registers (r8-r11) are kept, on the stack (four pushes keep it aligned). */
static void call_pure(Emit *e, const void *fn) {
    for (int r = 0; r < 4; r++)
        push_r(e, guest(r));
    mov_rdi_rbx(e);
    call_abs(e, fn);
    for (int r = 3; r >= 0; r--)
        pop_r(e, guest(r));
}

/* ---------------- code generation ---------------- */

/* The retirement counters inside generated code: host RBP holds
 * cpu->run_left, and the frame's slot FRAME_BASE holds icount + run_left,
 * which retiring instructions does not change, so icount is that minus
 * RBP. Both are written back (jit_sync_out) before anything that may read
 * them (a call into the core, a block exit) and taken up again
 * (jit_sync_in) after a call that may change them. `sp` says where the
 * frame's slots are from RSP (more inside the runtime's subroutines).
 *
 * The frame (rt_enter): rbx, rbp, r12-r15 pushed, then FRAME_SIZE bytes
 * of slots, which keeps RSP 16-aligned in block code. */
#define FRAME_BASE 0 /* icount + run_left */
#define FRAME_TB   8 /* rt_leave_next: the TB that is leaving */
#define FRAME_SIZE 24
static Mem frame_slot(int off) {
    return mem_at(H_RSP, off);
}
static void jit_sync_out(Emit *e, int sp) {
    mov_mr(e, W64, cpu_mem(OFF(run_left)), H_RBP);
    mov_rm(e, W64, H_RAX, frame_slot(sp + FRAME_BASE));
    alu_rr(e, W64, ALU_SUB, H_RAX, H_RBP);
    mov_mr(e, W64, cpu_mem(OFF(icount)), H_RAX);
}
static void jit_sync_in(Emit *e, int sp) {
    mov_rm(e, W64, H_RBP, cpu_mem(OFF(run_left)));
    mov_rm(e, W64, H_RAX, cpu_mem(OFF(icount)));
    alu_rr(e, W64, ALU_ADD, H_RAX, H_RBP);
    mov_mr(e, W64, frame_slot(sp + FRAME_BASE), H_RAX);
}

/* Count n retired instructions (n may be negative: undo): lea rbp,
 * [rbp - n], which leaves the host flags alone. */
static void count(Emit *e, int n) {
    if (n != 0) lea(e, W64, H_RBP, mem_at(H_RBP, -n));
}

/* Fixups to the block's common exit. */
#define MAX_EXITS (DBT_MAX_INSNS * 4)

/* An out-of-line slow path: the whole instruction through its handler. */
typedef struct Slow {
    uint8_t *jump[6]; /* jumps (ends) from the fast path to the slow path */
    int njump;
    uint8_t *resume; /* where the fast path continues after the instruction */
    const Insn *in;
    uint32_t eip, next; /* the instruction's EIP and the next one's */
    int pending;        /* inline instructions not yet counted before this one */
    int host_flags;     /* K_* whose host flags the fast path leaves behind, or -1 */
} Slow;

typedef struct Gen {
    Emit e;
    const Jit *jit;
    const uint8_t *rx_base; /* where e.buf runs */
    uint8_t *exits[MAX_EXITS];
    int nexits;
    Slow slow[DBT_MAX_INSNS];
    int nslow;
    bool flat;
    bool fs_ok, gs_ok; /* TBF_FS, TBF_GS */
    bool user;
    uint32_t tb_flags;
    int flags_kind;      /* K_* of the inline ALU instruction that set the lazy flags last, or -1 */
    unsigned flags_size; /* and its operand size (1, 2 or 4) */
    /* The current instruction's flags are overwritten before anyone can
     * see them. */
    bool flags_dead;
    /* How the block's final branch leaves (emit_branch_inline): jumps to
     * exit k (0: fall through, 1: the target) whose EIP is known here, not
     * yet stored in cpu->eip; and jumps to the exits whose EIP is only in
     * cpu->eip (returns, indirect branches). */
    uint8_t *known[2];
    uint8_t *var;
    /* Host flags: an inline 32-bit ALU instruction sets the host's flags as
     * the guest's (set_flags_kind: host_flags_now); where its code ends
     * (host_flags_end), the next instruction may use them as they are if
     * nothing was generated in between (its slow path makes them again). */
    bool host_flags_now;
    uint8_t *host_flags_end;
    DbtStats *stats;
} Gen;

struct Jit {
    uint8_t *rw, *rx;
    size_t size, used;
    FILE *perf_map; /* BT86_PERF_MAP set: /tmp/perf-PID.map for `perf report` */
    /* the inline lookup (jit_set_lookup) */
    const JcEntry *jc;
    uint64_t *hits;
    /* The runtime: code all blocks share, at the start of the buffer
     * (emit_runtime; rx addresses, NULL until generated). */
    const uint8_t *rt_enter, *rt_leave, *rt_leave_next, *rt_call_fn, *rt_call_exec;
    size_t rt_size;
    Gen gen; /* the block being generated (one at a time) */
};

static void exit_if(Gen *g, int cc) {
    uint8_t *j = jcc_fwd(&g->e, cc);
    if (g->nexits < MAX_EXITS) g->exits[g->nexits++] = j;
}
static void exit_always(Gen *g) {
    uint8_t *j = jmp_fwd(&g->e);
    if (g->nexits < MAX_EXITS) g->exits[g->nexits++] = j;
}

/* Call in's handler as exec_insn would (outside TF/RF/shadows) and count it. */
/* call rel32 / jmp rel32 (OPC_CALL_Jz, OPC_JMP_Jz) to a runtime routine
 * (rx address) */
static void rel_to_rt(Gen *g, unsigned opc, const uint8_t *rt) {
    Emit *e = &g->e;
    op_rel32(e, opc, (int32_t)(rt - (g->rx_base + (e->p + 5 - e->buf))));
}

/* Call in's handler as exec_insn would (outside TF/RF/shadows) and count
 * it: through the runtime (rt_call_fn, rt_call_exec), which counts the
 * call in the statistics, writes the guest registers and counters back,
 * calls and takes them up again. */
static void emit_handler_call(Gen *g, const Insn *in, uint32_t eip, uint32_t next) {
    Emit *e = &g->e;
    /* Group opcodes (FF, C1, ...) hold several instructions: say so. */
    const char **name = &g->stats->core_call_name[in->op & 0x1FF];
    if (!*name)
        *name = in->name;
    else if (strcmp(*name, in->name) != 0)
        *name = "(group)";
    mov_m_imm(e, OFF(eip), eip);
    /* Plain branches need none of exec_insn's bookkeeping for interrupt
     * shadows and traps, which are all clear in a block (dbt_run checks TF,
     * RF, DR7 and shadows before entering one). */
    bool exec = in->ends_block && !insn_plain_branch(in);
    if (!exec) mov_m_imm(e, OFF(next_eip), next);
    mov_ri64(e, H_RSI, (uint64_t)(uintptr_t)in);
    rel_to_rt(g, OPC_CALL_Jz, exec ? g->jit->rt_call_exec : g->jit->rt_call_fn);
    if (!exec) count(e, 1);
}

/* lf.op and lf.size with one store: mov dword [lf.op], op | size << 8
 * (the two bytes after them are padding; a 32-bit store avoids the 16-bit
 * immediate's length-changing prefix, which stalls Intel decoders). */
_Static_assert(offsetof(LazyFlags, size) == offsetof(LazyFlags, op) + 1 &&
                   offsetof(LazyFlags, res) >= offsetof(LazyFlags, op) + 4,
               "lf.op, lf.size adjacent, then padding");
static void set_lf_kind(Emit *e, CcOp op, unsigned size) {
    mov_m_imm(e, OFF(lf.op), (uint32_t)op | size << 8);
}

/* Lazy flags of a 32-bit logic result in H_RAX (CC_LOGIC: CF = OF = AF = 0,
 * SF/ZF/PF from the result). Its operands are not recorded: nothing reads
 * them for CC_LOGIC (flags.c), so the two stores are saved. */
static void emit_lf_logic(Gen *g) {
    Emit *e = &g->e;
    set_lf_kind(e, CC_LOGIC, 4);
    mov_m_r(e, OFF(lf.res), H_RAX);
}

/* The jit's ALU kinds (K_*): the guest ALU operations it generates inline,
 * numbered as in ModRM.reg and opcode bits 3-5, so that each kind but
 * K_TEST (an AND that keeps no result) is also the host's ALU_*
 * operation. (src/cpu/ops_alu.c has its own list.) */
typedef enum JitAluKind {
    K_ADD,
    K_OR,
    K_ADC,
    K_SBB,
    K_AND,
    K_SUB,
    K_XOR,
    K_CMP,
    K_TEST
} JitAluKind;
_Static_assert((int)K_ADD == ALU_ADD && (int)K_OR == ALU_OR && (int)K_ADC == ALU_ADC &&
                   (int)K_SBB == ALU_SBB && (int)K_AND == ALU_AND && (int)K_SUB == ALU_SUB &&
                   (int)K_XOR == ALU_XOR && (int)K_CMP == ALU_CMP,
               "a jit ALU kind is also the host's ALU operation");

/* H_RAX = H_RAX op H_RCX with the core's lazy flags, for operands of `size`
 * bytes (zero-extended in H_RAX and H_RCX; the result is masked to the size).
 * Returns false for ADC/SBB. */
static bool emit_alu_sized(Gen *g, int kind, unsigned size) {
    Emit *e = &g->e;
    CcOp cc = CC_LOGIC;
    switch (kind) {
    case K_ADD:
    case K_SUB:
    case K_CMP:
        mov_m_r(e, OFF(lf.a), H_RAX);
        mov_m_r(e, OFF(lf.b), H_RCX);
        alu_rr(e, W32, kind == K_ADD ? ALU_ADD : ALU_SUB, H_RAX, H_RCX);
        cc = kind == K_ADD ? CC_ADD : CC_SUB;
        break;
    case K_OR: alu_rr(e, W32, ALU_OR, H_RAX, H_RCX); break;
    case K_AND:
    case K_TEST: alu_rr(e, W32, ALU_AND, H_RAX, H_RCX); break;
    case K_XOR: alu_rr(e, W32, ALU_XOR, H_RAX, H_RCX); break;
    default: return false;
    }
    if (size < 4) alu_eax_i32(e, ALU_AND, size == 1 ? 0xFFu : 0xFFFFu);
    set_lf_kind(e, cc, size);
    mov_m_r(e, OFF(lf.res), H_RAX);
    return true;
}

/* Remember which inline operation recorded the lazy flags (emit_alu_sized's
 * callers, after the host instruction that set the host flags the same
 * way; nothing after it in the instruction's code may change them). */
static void set_flags_kind(Gen *g, int kind) {
    g->flags_kind = kind;
    g->flags_size = 4;
    g->host_flags_now = true;
}

/* H_RCX = the linear address of in's memory operand (its effective address
 * for LEA, s NULL): flat segments add nothing; FS and GS (TBF_FS/TBF_GS:
 * 4 GiB data segments) add their base, after sending offsets within 16
 * bytes of the 4 GiB end, which might wrap, to the slow path s. */
static void emit_ea(Gen *g, const Insn *in, Slow *s) {
    Emit *e = &g->e;
    bool hb = in->ea_base != EA_NOREG, hi = in->ea_index != EA_NOREG;
    if (!hb && !hi) {
        mov_ri(e, H_RCX, in->disp);
    } else {
        /* lea ecx, [base + index * scale + disp] on the guest registers
         * (r8-r15: REX.B, REX.X), always through a SIB byte; the low 32
         * bits of the sum are the guest's wrapping address. */
        int32_t d = (int32_t)in->disp;
        Mem m = {.base = (int8_t)(hb ? guest(in->ea_base) : H_NONE),
                 .index = (int8_t)(hi ? guest(in->ea_index) : H_NONE),
                 .scale = in->ea_scale,
                 .disp_size = hb && fits8(d) ? 1 : 4,
                 .sib = true,
                 .disp = d};
        lea(e, W32, H_RCX, m);
    }
    if (s && (in->seg == SEG_FS || in->seg == SEG_GS)) {
        alu_ri32(e, W32, ALU_CMP, H_RCX, 0xFFFFFFF0u);
        s->jump[s->njump++] = jcc_fwd(e, JCC_A);
        int32_t base = (int32_t)(offsetof(CPU, seg) + (size_t)in->seg * sizeof(SegReg) +
                                 offsetof(SegReg, base));
        alu_rm(e, W32, ALU_ADD, H_RCX, cpu_mem(base));
    }
}

/* TLB fast path for a 4-byte access at H_RCX: RDX = host address of the page
 * base + H_RCX's page offset... precisely: afterwards [RDX + RCX] is the
 * guest dword. Jumps to the slow path s on a miss or a page-crossing access. */
static void emit_tlb_n(Gen *g, Slow *s, bool write, unsigned size) {
    Emit *e = &g->e;
    _Static_assert(sizeof(TlbEntry) == 16, "TLB entry layout");
    int32_t tlb = (int32_t)(offsetof(CPU, mmu) + offsetof(Mmu, tlb) +
                            (g->user ? sizeof(TlbEntry) * TLB_SIZE : 0));
    int32_t tag =
        tlb + (int32_t)(write ? offsetof(TlbEntry, tag_write) : offsetof(TlbEntry, tag_read));
    int32_t add = tlb + (int32_t)offsetof(TlbEntry, addend);
    /* The entry is indexed by the first byte's page; its tag is compared
     * with the last byte's page, so a page-crossing access (or one wrapping
     * at 4 GiB) misses as well. */
    lea(e, W32, H_RDX, mem_at(H_RCX, (int32_t)size - 1));
    mov_rr(e, W32, H_RAX, H_RCX);
    shift_ri(e, W32, SHIFT_SHR, H_RAX, 12 - 4);
    alu_eax_i32(e, ALU_AND, (TLB_SIZE - 1) << 4); /* the index * 16 */
    alu_ri32(e, W32, ALU_AND, H_RDX, 0xFFFFF000u);
    alu_rm(e, W32, ALU_CMP, H_RDX, mem_sum32(H_RBX, H_RAX, tag));
    s->jump[s->njump++] = jcc_fwd(e, JCC_NE);
    mov_rm(e, W64, H_RDX, mem_sum32(H_RBX, H_RAX, add));
}
/* The same for the usual 4-byte access (also used, conservatively, for
 * 1- and 2-byte ones). */
static void emit_tlb(Gen *g, Slow *s, bool write) {
    emit_tlb_n(g, s, write, 4);
}
/* The guest operand the inline TLB found: [rdx + rcx]. */
static Mem host_mem(void) {
    return mem_sum(H_RDX, H_RCX, 0);
}
static void load_host(Emit *e, int r) { /* mov r, [rdx+rcx] */
    mov_rm(e, W32, r, host_mem());
}
static void store_host(Emit *e, int r) { /* mov [rdx+rcx], r */
    mov_mr(e, W32, host_mem(), r);
}

static Slow *new_slow(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending) {
    Slow *s = &g->slow[g->nslow++];
    memset(s, 0, sizeof *s);
    s->in = in;
    s->eip = eip;
    s->next = next;
    s->pending = pending;
    s->host_flags = -1;
    return s;
}

static bool mem_ok(const Gen *g, const Insn *in) {
    return g->flat && in->asize == 4 &&
           (in->seg == SEG_DS || in->seg == SEG_ES || in->seg == SEG_SS ||
            (in->seg == SEG_FS && g->fs_ok) || (in->seg == SEG_GS && g->gs_ok));
}

/* Where an ALU row's operands are: r/m op= reg, reg op= r/m, AL/EAX op= imm,
 * r/m op= imm. */
enum { FORM_RM_REG, FORM_REG_RM, FORM_ACC_IMM, FORM_RM_IMM };

/* The ALU row of in, for the byte and the word/dword rows alike (they
 * differ in opcode bit 0): its kind (K_*, TEST included) and operand form.
 * False for anything else. */
static bool alu_row(const Insn *in, int *kind, int *form) {
    unsigned op = in->op;
    if (op < 0x40 && (op & 7) <= 5) {
        *kind = (int)(op >> 3);
        *form = (int)((op & 7) >> 1); /* 0/1 FORM_RM_REG, 2/3 FORM_REG_RM, 4/5 FORM_ACC_IMM */
    } else if (op >= 0x80 && op <= 0x83) {
        *kind = in->reg;
        *form = FORM_RM_IMM;
    } else if (op == 0x84 || op == 0x85) {
        *kind = K_TEST;
        *form = FORM_RM_REG;
    } else if (op == 0xA8 || op == 0xA9) {
        *kind = K_TEST;
        *form = FORM_ACC_IMM;
    } else if ((op == 0xF6 || op == 0xF7) && in->reg == 0) {
        *kind = K_TEST;
        *form = FORM_RM_IMM;
    } else {
        return false;
    }
    return true;
}

/* How a register-only instruction that the generator always inlines (it
 * cannot fault) treats the arithmetic flags: FX_NONE leaves them alone,
 * FX_ALL overwrites all six; FX_OTHER is anything else (reads them, keeps
 * some, may fault or is not inlined). */
enum { FX_NONE, FX_ALL, FX_OTHER };
static int reg_flag_effect(const Insn *in) {
    unsigned op = in->op;
    if (op == 0x90) return FX_NONE;
    if (op == 0x8D && in->asize == 4 && in->size == 4) return FX_NONE; /* LEA */
    if ((op == 0x88 || op == 0x8A || op == 0x89 || op == 0x8B) && !in->is_mem && !in->lock &&
        in->size <= 2)
        return FX_NONE; /* byte and word register moves */
    if (in->size != 4 || in->lock || in->rep || in->is_mem) return FX_OTHER;
    if ((op >= 0xB8 && op <= 0xBF) || op == 0x89 || op == 0x8B || op == 0xC7) return FX_NONE;
    if (op == 0x1B6 || op == 0x1B7 || op == 0x1BE || op == 0x1BF) return FX_NONE;
    int kind, form;
    if (alu_row(in, &kind, &form)) return kind == K_ADC || kind == K_SBB ? FX_OTHER : FX_ALL;
    if ((op == 0xC1 || op == 0xD1) && in->reg >= 4)
        return (op == 0xD1 || (in->imm & 0x1F)) ? FX_ALL : FX_NONE;
    /* ROL/ROR by a constant, INC/DEC and NOT keep some flags (or all): if a
     * later instruction overwrites all of them, theirs are dead as well
     * (and they are then inlined without flags), so the scan may pass them. */
    if ((op == 0xC1 || op == 0xD1) && in->reg <= 1) return FX_NONE;
    if (op >= 0x40 && op <= 0x4F) return FX_NONE;
    if (op == 0xF7 && in->reg == 2) return FX_NONE;
    if (op == 0xF7 && in->reg == 3) return FX_ALL;              /* NEG */
    if (op == 0x1AF || op == 0x69 || op == 0x6B) return FX_ALL; /* IMUL: all six flags */
    return FX_OTHER;
}

/* Whether the flags instruction i of tb sets are overwritten by a later
 * instruction of the block before anything (a handler, a memory access that
 * could fault, the end of the block) can observe them. */
static bool flags_dead_after(const TB *tb, uint32_t i) {
    for (uint32_t j = i + 1; j < tb->n; j++) {
        int fx = reg_flag_effect(&tb->insns[j]);
        if (fx == FX_ALL) return true;
        if (fx == FX_OTHER) return false;
    }
    return false;
}

/* 8-bit MOV r/m8 <-> r8 and CMP AL, imm8 (the most frequent byte
 * instructions in the Linux guest). */
/* 8- and 16-bit ADD/OR/AND/SUB/XOR/CMP/TEST on registers, immediates and
 * flat memory: computed in 32 bits on zero-extended operands, then the
 * lazy flags of size 1 or 2 exactly as alu_compute records them. */
static void get_small(Emit *e, int t, int r, unsigned size) {
    if (size == 1)
        g_get8(e, t, r, false);
    else
        g_get_ext(e, OPC_MOVZX_GvEw, t, r);
}
static void set_small(Emit *e, int r, int t, unsigned size) {
    if (size == 1)
        g_set8(e, r, t);
    else
        g_set16(e, r, t);
}
/* r = the 1-, 2- or 4-byte operand at [rdx+rcx], zero- or sign-extended. */
static void load_host_sized(Emit *e, int r, unsigned size, bool sign) {
    if (size == 4)
        load_host(e, r);
    else if (size == 1)
        movx_rm(e, sign ? OPC_MOVSX_GvEb : OPC_MOVZX_GvEb, r, host_mem());
    else
        movx_rm(e, sign ? OPC_MOVSX_GvEw : OPC_MOVZX_GvEw, r, host_mem());
}
/* [rdx+rcx] = the low 1, 2 or 4 bytes of r (a REX prefix for bytes, so
 * that H_RSI and H_RDI mean SIL and DIL). */
static void store_host_sized(Emit *e, int r, unsigned size) {
    mov_mr(e, size == 1 ? W8 | REX_ALWAYS : size, host_mem(), r);
}
/* 8- and 16-bit MOV r/m <-> r and MOV m, imm on registers and flat memory;
 * false if in is none of them or its memory operand is not reachable. */
static bool emit_mov_small(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending) {
    Emit *e = &g->e;
    unsigned op = in->op, size = in->size;
    bool load = op == 0x8A || op == 0x8B, imm = op == 0xC6 || op == 0xC7;
    if (!load && !imm && op != 0x88 && op != 0x89) return false;
    if (!in->is_mem) {
        if (imm) return false; /* MOV r8, imm: the caller's */
        get_small(e, H_RAX, load ? in->rm : in->reg, size);
        set_small(e, load ? in->reg : in->rm, H_RAX, size);
        return true;
    }
    if (!mem_ok(g, in)) return false;
    Slow *s = new_slow(g, in, eip, next, pending);
    if (!load && !imm) get_small(e, H_RSI, in->reg, size); /* H_RSI survives emit_ea and emit_tlb */
    emit_ea(g, in, s);
    emit_tlb(g, s, !load);
    if (load) {
        load_host_sized(e, H_RAX, size, false);
        set_small(e, in->reg, H_RAX, size);
    } else if (imm) {
        mov_mi(e, size, host_mem(), in->imm);
    } else {
        store_host_sized(e, H_RSI, size);
    }
    s->resume = e->p;
    return true;
}
static bool emit_alu_small(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending) {
    Emit *e = &g->e;
    unsigned size = in->size;
    uint32_t mask = size == 1 ? 0xFFu : 0xFFFFu;
    bool reg_form = !in->is_mem;
    int kind, form;
    if (!alu_row(in, &kind, &form)) return false;
    if (kind == K_ADC || kind == K_SBB) return false;
    bool writes = kind != K_CMP && kind != K_TEST;
    bool mem = !reg_form && form != FORM_ACC_IMM;
    if (mem && !mem_ok(g, in)) return false;
    Slow *s = mem ? new_slow(g, in, eip, next, pending) : NULL;
    int dst8 = form == FORM_ACC_IMM ? R_EAX : form == FORM_REG_RM ? in->reg : in->rm;
    if (form == FORM_REG_RM) {
        if (mem) {
            emit_ea(g, in, s);
            emit_tlb(g, s, false);
            load_host_sized(e, H_RCX, size, false);
        } else {
            get_small(e, H_RCX, in->rm, size);
        }
        get_small(e, H_RAX, dst8, size);
    } else {
        /* The source (register or immediate) in H_RSI, then the destination in H_RAX. */
        if (form == FORM_RM_REG)
            get_small(e, H_RSI, in->reg, size);
        else
            mov_ri(e, H_RSI, in->imm & mask);
        if (mem) {
            emit_ea(g, in, s);
            emit_tlb(g, s, writes);
            load_host_sized(e, H_RAX, size, false);
            mov_rr(e, W32, H_RDI, H_RCX); /* the address */
        } else {
            get_small(e, H_RAX, dst8, size);
        }
        mov_rr(e, W32, H_RCX, H_RSI);
    }
    emit_alu_sized(g, kind, size);
    g->flags_kind = kind;
    g->flags_size = size;
    if (writes) {
        if (mem && form != FORM_REG_RM) { /* the destination is the memory operand */
            mov_rr(e, W32, H_RCX, H_RDI);
            mov_mr(e, size, host_mem(), H_RAX);
        } else {
            set_small(e, dst8, H_RAX, size);
        }
    }
    if (s) s->resume = e->p;
    return true;
}

static bool emit_inline_byte(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending) {
    Emit *e = &g->e;
    unsigned op = in->op;
    bool reg_form = !in->is_mem;
    if ((op >= 0xB0 && op <= 0xB7) || (op == 0xC6 && reg_form)) { /* MOV r8, imm8 */
        mov_ri(e, H_RAX, in->imm & 0xFF);
        g_set8(e, op == 0xC6 ? in->rm : (int)(op & 7), H_RAX);
        return true;
    }
    if (emit_mov_small(g, in, eip, next, pending)) return true;
    if (op == 0x88 || op == 0x8A || op == 0xC6) return false;
    return emit_alu_small(g, in, eip, next, pending);
}

/* 16-bit MOV (the kernel's decompressor is full of them) and ALU. */
static bool emit_inline_word(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending) {
    if (emit_mov_small(g, in, eip, next, pending)) return true;
    unsigned op = in->op;
    if (op == 0x89 || op == 0x8B || op == 0xC7) return false;
    return emit_alu_small(g, in, eip, next, pending);
}

/* alu eax/ax/al, [rbx+off] for the recorded operand size */
static void alu_acc_m(Gen *g, int alu, int32_t off) {
    alu_rm(&g->e, g->flags_size, alu, H_RAX, cpu_mem(off));
}
/* test eax/ax/al, itself */
static void test_acc(Gen *g) {
    test_rr(&g->e, g->flags_size, H_RAX, H_RAX);
}
/* When the lazy flags come from an inline ALU instruction of this block
 * (g->flags_kind, of g->flags_size bytes), set the host's flags to the
 * guest's by repeating that operation on the recorded operands at that
 * size (a logic operation: TEST of its result, which gives CF = OF = 0
 * and SF, ZF, PF of the result) and return true; else return false and
 * emit nothing. */
static bool emit_host_flags(Gen *g) {
    Emit *e = &g->e;
    if (g->flags_kind >= 0 && g->flags_size == 4 && e->p == g->host_flags_end)
        return true; /* still there */
    switch (g->flags_kind) {
    case K_ADD:
        mov_r_m(e, H_RAX, OFF(lf.a));
        alu_acc_m(g, ALU_ADD, OFF(lf.b));
        return true;
    case K_SUB:
    case K_CMP:
        mov_r_m(e, H_RAX, OFF(lf.a));
        alu_acc_m(g, ALU_CMP, OFF(lf.b));
        return true;
    case K_OR:
    case K_AND:
    case K_XOR:
    case K_TEST:
        mov_r_m(e, H_RAX, OFF(lf.res));
        test_acc(g);
        return true;
    default: return false;
    }
}

/* H_RAX = 1 if condition cc (the low nibble of Jcc/SETcc/CMOVcc) holds, else
 * 0. Flags from an earlier block or a handler: the lazy record is looked at
 * when the code runs; a 32-bit ADD, SUB/CMP or logic operation is repeated
 * on the host as above, anything else asks cpu_cond. */
static void emit_cond(Gen *g, unsigned cc) {
    Emit *e = &g->e;
    if (emit_host_flags(g)) {
        setcc_r(e, (int)cc, H_RAX);
    } else {
        uint8_t *slow[4], *done[3];
        /* The flags are in EFLAGS itself (after SAHF, POPF, BT, ...): test
         * the bits of the condition there. */
        cmp_m8_imm(e, OFF(lf.op), CC_EFLAGS);
        uint8_t *not_eflags = jcc_fwd(e, JCC_NE);
        mov_r_m(e, H_RAX, OFF(eflags));
        static const uint32_t bits[6] = {FL_OF, FL_CF, FL_ZF, FL_CF | FL_ZF, FL_SF, FL_PF};
        if ((cc >> 1) < 6) {
            test_eax_i32(e, bits[cc >> 1]);
        } else {
            mov_rr(e, W32, H_RCX, H_RAX);
            shift_ri(e, W32, SHIFT_SHR, H_RCX, 4); /* OF to bit 7 */
            alu_rr(e, W32, ALU_XOR, H_RCX, H_RAX); /* bit 7 = SF ^ OF */
            alu_ri32(e, W32, ALU_AND, H_RCX, FL_SF);
            if ((cc >> 1) == 7) {
                alu_eax_i32(e, ALU_AND, FL_ZF);
                alu_rr(e, W32, ALU_OR, H_RAX, H_RCX);
            } else {
                mov_rr(e, W32, H_RAX, H_RCX);
            }
            test_rr(e, W32, H_RAX, H_RAX);
        }
        setcc_r(e, (cc & 1) ? JCC_E : JCC_NE, H_RAX);
        uint8_t *eflags_done = jmp_fwd(e);
        patch(e, not_eflags, e->p);
        cmp_m8_imm(e, OFF(lf.size), 4);
        slow[0] = jcc_fwd(e, JCC_NE);
        movx_rm(e, OPC_MOVZX_GvEb, H_RAX, cpu_mem(OFF(lf.op)));
        static const struct {
            CcOp op;
            int alu; /* add/cmp eax, [lf.b], or -1: test of the result */
        } kinds[3] = {{CC_SUB, ALU_CMP}, {CC_ADD, ALU_ADD}, {CC_LOGIC, -1}};
        for (int k = 0; k < 3; k++) {
            alu_eax_i32(e, ALU_CMP, (uint32_t)kinds[k].op);
            slow[k + 1] = jcc_fwd(e, JCC_NE);
            if (kinds[k].alu >= 0) {
                mov_r_m(e, H_RAX, OFF(lf.a));
                alu_rm(e, W32, kinds[k].alu, H_RAX, cpu_mem(OFF(lf.b)));
            } else {
                mov_r_m(e, H_RAX, OFF(lf.res));
                test_rr(e, W32, H_RAX, H_RAX);
            }
            setcc_r(e, (int)cc, H_RAX);
            done[k] = jmp_fwd(e);
            if (k < 2) {
                patch(e, slow[k + 1], e->p);
                slow[k + 1] = NULL;
            }
        }
        patch(e, slow[0], e->p);
        patch(e, slow[3], e->p);
        mov_ri(e, H_RSI, cc);
        call_pure(e, (const void *)cpu_cond);
        for (int k = 0; k < 3; k++)
            patch(e, done[k], e->p);
        patch(e, eflags_done, e->p);
    }
    movx_rr(e, OPC_MOVZX_GvEb, H_RAX, H_RAX);
}

/* EAX = the guest's CF (0 or 1): recomputed on the host from the inline
 * ALU operation that set the lazy flags last in this block, else from the
 * core (cpu_cf). */
static void emit_carry(Gen *g) {
    Emit *e = &g->e;
    switch (g->flags_kind) {
    case K_ADD:
        mov_r_m(e, H_RAX, OFF(lf.a));
        alu_acc_m(g, ALU_ADD, OFF(lf.b));
        break;
    case K_SUB:
    case K_CMP:
        mov_r_m(e, H_RAX, OFF(lf.a));
        alu_acc_m(g, ALU_CMP, OFF(lf.b));
        break;
    case K_OR:
    case K_AND:
    case K_XOR:
    case K_TEST:
        alu_rr(e, W32, ALU_XOR, H_RAX, H_RAX); /* CF = 0 */
        return;
    default: {
        /* Flags from a handler or an earlier block: CF is in EFLAGS (after
         * INC, DEC or a handler that materialized it), 0 (logic), or from a
         * 32-bit ADD/SUB repeated on the host; anything else: cpu_cf. */
        uint8_t *call[2], *done[3], *in_eflags[3];
        movx_rm(e, OPC_MOVZX_GvEb, H_RAX, cpu_mem(OFF(lf.op)));
        static const CcOp kept[3] = {CC_EFLAGS, CC_INC, CC_DEC};
        for (int k = 0; k < 3; k++) {
            alu_eax_i32(e, ALU_CMP, (uint32_t)kept[k]);
            in_eflags[k] = jcc_fwd(e, JCC_E);
        }
        alu_eax_i32(e, ALU_CMP, (uint32_t)CC_LOGIC);
        uint8_t *not_logic = jcc_fwd(e, JCC_NE);
        alu_rr(e, W32, ALU_XOR, H_RAX, H_RAX);
        done[0] = jmp_fwd(e);
        patch(e, not_logic, e->p);
        cmp_m8_imm(e, OFF(lf.size), 4);
        call[0] = jcc_fwd(e, JCC_NE);
        alu_eax_i32(e, ALU_CMP, (uint32_t)CC_SUB);
        uint8_t *not_sub = jcc_fwd(e, JCC_NE);
        mov_r_m(e, H_RAX, OFF(lf.a));
        alu_rm(e, W32, ALU_CMP, H_RAX, cpu_mem(OFF(lf.b)));
        uint8_t *setc = jmp_fwd(e);
        patch(e, not_sub, e->p);
        alu_eax_i32(e, ALU_CMP, (uint32_t)CC_ADD);
        call[1] = jcc_fwd(e, JCC_NE);
        mov_r_m(e, H_RAX, OFF(lf.a));
        alu_rm(e, W32, ALU_ADD, H_RAX, cpu_mem(OFF(lf.b)));
        patch(e, setc, e->p);
        setcc_r(e, JCC_B, H_RAX);
        movx_rr(e, OPC_MOVZX_GvEb, H_RAX, H_RAX);
        done[1] = jmp_fwd(e);
        for (int k = 0; k < 3; k++)
            patch(e, in_eflags[k], e->p);
        mov_r_m(e, H_RAX, OFF(eflags));
        alu_ri(e, W32, ALU_AND, H_RAX, FL_CF);
        done[2] = jmp_fwd(e);
        for (int k = 0; k < 2; k++)
            patch(e, call[k], e->p);
        call_pure(e, (const void *)cpu_cf);
        movx_rr(e, OPC_MOVZX_GvEb, H_RAX, H_RAX);
        for (int k = 0; k < 3; k++)
            patch(e, done[k], e->p);
        return;
    }
    }
    setcc_r(e, JCC_B, H_RAX);
    movx_rr(e, OPC_MOVZX_GvEb, H_RAX, H_RAX);
}

/* 32-bit ADC/SBB with a register destination (source: register,
 * immediate or flat memory), as alu_compute does: the lazy flags are
 * CC_ADC/CC_SBB with a carry in, CC_ADD/CC_SUB without. */
static bool emit_adc_sbb(Gen *g, const Insn *in, int kind, int form, uint32_t eip, uint32_t next,
                         int pending) {
    Emit *e = &g->e;
    bool mem = in->is_mem && form != FORM_ACC_IMM;
    if (mem && !mem_ok(g, in)) return false;
    bool mem_dst = mem && form != FORM_REG_RM;
    emit_carry(g);
    mov_rr(e, W32, H_RSI, H_RAX); /* the carry in */
    Slow *s = mem ? new_slow(g, in, eip, next, pending) : NULL;
    int dst = form == FORM_REG_RM ? in->reg : form == FORM_ACC_IMM ? R_EAX : in->rm;
    /* H_RAX = the destination's value, H_RDI = the source's (H_RCX: the address) */
    if (form == FORM_REG_RM) {
        if (mem) {
            emit_ea(g, in, s);
            emit_tlb(g, s, false);
            load_host(e, H_RDI);
        } else {
            g_get(e, H_RDI, in->rm);
        }
        g_get(e, H_RAX, dst);
    } else {
        if (form == FORM_RM_REG)
            g_get(e, H_RDI, in->reg);
        else
            mov_ri(e, H_RDI, in->imm);
        if (mem_dst) {
            emit_ea(g, in, s);
            emit_tlb(g, s, true);
            load_host(e, H_RAX);
        } else {
            g_get(e, H_RAX, dst);
        }
    }
    if (!g->flags_dead) {
        mov_m_r(e, OFF(lf.a), H_RAX);
        mov_m_r(e, OFF(lf.b), H_RDI);
    }
    bt_ri(e, BIT_BT, H_RSI, 0); /* CF = carry in */
    alu_rr(e, W32, kind == K_ADC ? ALU_ADC : ALU_SBB, H_RAX, H_RDI);
    if (mem_dst)
        store_host(e, H_RAX);
    else
        g_set(e, dst, H_RAX);
    if (!g->flags_dead) {
        mov_m_r(e, OFF(lf.res), H_RAX);
        /* op + 1 with a carry in, and size 4: one store */
        add_r_imm(e, H_RSI, (kind == K_ADC ? CC_ADD : CC_SUB) | 4u << 8);
        mov_m_r(e, OFF(lf.op), H_RSI); /* with the padding after lf.size */
    }
    g->flags_kind = -1;
    if (s) s->resume = e->p;
    return true;
}

/* The host's shift for guest SHL, SHR, SAL and SAR (ModRM.reg 4-7). */
static const int host_shift[4] = {SHIFT_SHL, SHIFT_SHR, SHIFT_SHL, SHIFT_SAR};

/* Read-modify-write of a flat memory operand of 1, 2 or 4 bytes: INC/DEC
 * (FE/FF /0 /1; CF of the previous operation goes to EFLAGS first, as
 * incdec() does) and SHL/SHR/SAL/SAR by 1 or an immediate (C0/C1/D0/D1
 * /4-/7, lazy flags as shift_compute records them). Returns true when it
 * recognized in, with *done saying whether it generated it. */
static bool emit_rmw_mem(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending,
                         bool *done) {
    Emit *e = &g->e;
    unsigned op = in->op, size = in->size;
    uint32_t mask = size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
    *done = false;
    bool incdec = (op == 0xFE || op == 0xFF) && in->reg <= 1;
    bool shift = (op == 0xC0 || op == 0xC1 || op == 0xD0 || op == 0xD1) && in->reg >= 4;
    if (!in->is_mem || (!incdec && !shift)) return false;
    if (!mem_ok(g, in)) return true;
    unsigned c = (op == 0xD0 || op == 0xD1) ? 1 : in->imm & 0x1F;
    if (shift && c == 0) return true; /* reads the operand, changes nothing: the handler */
    if (incdec && !g->flags_dead) {
        emit_carry(g); /* eax = CF */
        alu_mi32(e, W32, ALU_AND, cpu_mem(OFF(eflags)), ~FL_CF);
        alu_mr(e, W32, ALU_OR, cpu_mem(OFF(eflags)), H_RAX);
    }
    Slow *s = new_slow(g, in, eip, next, pending);
    emit_ea(g, in, s);
    emit_tlb(g, s, true);
    bool sar = shift && in->reg == 7;
    load_host_sized(e, H_RAX, size, sar);
    mov_rr(e, W32, H_RSI, H_RAX); /* the operand */
    if (sar && size < 4) alu_ri32(e, W32, ALU_AND, H_RSI, mask);
    CcOp cc;
    if (incdec) {
        bool dec = in->reg == 1;
        add_r_imm(e, H_RAX, dec ? (uint32_t)-1 : 1u);
        cc = dec ? CC_DEC : CC_INC;
        c = 1;
    } else {
        static const CcOp kinds[4] = {CC_SHL, CC_SHR, CC_SHL, CC_SAR};
        shift_ri(e, W32, host_shift[in->reg - 4], H_RAX, (uint8_t)c);
        cc = kinds[in->reg - 4];
    }
    if (size < 4) alu_eax_i32(e, ALU_AND, mask);
    store_host_sized(e, H_RAX, size);
    if (!g->flags_dead) {
        mov_m_r(e, OFF(lf.a), H_RSI);
        mov_m_r(e, OFF(lf.res), H_RAX);
        mov_m_imm(e, OFF(lf.b), c);
        set_lf_kind(e, cc, size);
    }
    g->flags_kind = -1;
    s->resume = e->p;
    *done = true;
    return true;
}

/* H_RAX = the r/m32 operand of in: a guest register, or flat memory through
 * the inline TLB (checked for writing when the instruction stores it
 * back), *s then being its slow path (else NULL). False, with nothing
 * emitted, when the operand is memory the inline TLB cannot reach. */
static bool emit_load_rm32(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending,
                           bool write, Slow **s) {
    *s = NULL;
    if (!in->is_mem) {
        g_get(&g->e, H_RAX, in->rm);
        return true;
    }
    if (!mem_ok(g, in)) return false;
    *s = new_slow(g, in, eip, next, pending);
    emit_ea(g, in, *s);
    emit_tlb(g, *s, write);
    load_host(&g->e, H_RAX);
    return true;
}

/* 32-bit instructions the Linux kernel runs on every system call, fork and
 * page fault: PUSH imm, LEAVE, CDQ/CWDE, BSWAP, XADD and CMPXCHG on memory,
 * BT/BTS/BTR/BTC with an immediate. Returns true when it recognized in, with
 * *done saying whether it generated it inline. */
static bool emit_inline_more(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending,
                             bool *done) {
    Emit *e = &g->e;
    unsigned op = in->op;
    bool reg_form = !in->is_mem;
    *done = false;
    if (op == 0x68 || op == 0x6A || op == 0xC9) {
        /* PUSH imm32/imm8 and LEAVE on a flat 32-bit stack. */
        if (!g->flat || in->osize != 4) return true;
        Slow *s = new_slow(g, in, eip, next, pending);
        if (op == 0xC9) { /* ESP = EBP; EBP = pop */
            g_get(e, H_RCX, R_EBP);
            emit_tlb(g, s, false);
            load_host(e, H_RAX);
            add_r_imm(e, H_RCX, 4);
            g_set(e, R_ESP, H_RCX);
            g_set(e, R_EBP, H_RAX);
        } else {
            g_get(e, H_RCX, R_ESP);
            add_r_imm(e, H_RCX, (uint32_t)-4);
            emit_tlb(g, s, true);
            mov_mi(e, W32, host_mem(), in->imm);
            g_set(e, R_ESP, H_RCX);
        }
        s->resume = e->p;
        *done = true;
        return true;
    }
    if (op == 0x06 || op == 0x0E || op == 0x16 || op == 0x1E || op == 0x1A0 || op == 0x1A8 ||
        op == 0x9C) {
        /* PUSH sreg (the P6 writes the selector's 16 bits into the 4-byte
         * slot) and PUSHF (outside virtual-8086 mode, which TBF_FLAT
         * excludes) on a flat 32-bit stack. */
        if (!g->flat || in->osize != 4) return true;
        Slow *s = new_slow(g, in, eip, next, pending);
        if (op == 0x9C) {
            call_pure(e, (const void *)cpu_get_eflags);
            alu_eax_i32(e, ALU_AND, ~(uint32_t)(FL_VM | FL_RF));
            mov_rr(e, W32, H_RSI, H_RAX);
        } else {
            int sreg = op == 0x1A0 ? SEG_FS : op == 0x1A8 ? SEG_GS : (int)((op >> 3) & 3);
            int32_t sel = (int32_t)(offsetof(CPU, seg) + (size_t)sreg * sizeof(SegReg) +
                                    offsetof(SegReg, sel));
            movx_rm(e, OPC_MOVZX_GvEw, H_RSI, cpu_mem(sel));
        }
        g_get(e, H_RCX, R_ESP);
        add_r_imm(e, H_RCX, (uint32_t)-4);
        emit_tlb(g, s, true);
        if (op == 0x9C)
            store_host(e, H_RSI);
        else
            mov_mr(e, W16, host_mem(), H_RSI);
        g_set(e, R_ESP, H_RCX);
        s->resume = e->p;
        *done = true;
        return true;
    }
    if (op == 0xFA || op == 0xFB) {
        /* CLI, and STI inside a block (tb_translate: the block ends after
         * the instruction under its shadow), at CPL 0: never fault */
        if (((g->tb_flags >> TBF_CPL_SHIFT) & 3) != 0) return true;
        if (op == 0xFA)
            alu_mi32(e, W32, ALU_AND, cpu_mem(OFF(eflags)), ~(uint32_t)FL_IF);
        else
            alu_mi32(e, W32, ALU_OR, cpu_mem(OFF(eflags)), FL_IF);
        *done = true;
        return true;
    }
    if (op == 0x98 || op == 0x99) { /* CWDE, CDQ */
        g_get(e, H_RAX, R_EAX);
        if (op == 0x98) {
            op_plain(e, OPC_CWDE);
            g_set(e, R_EAX, H_RAX);
        } else {
            op_plain(e, OPC_CDQ);
            g_set(e, R_EDX, H_RDX);
        }
        *done = true;
        return true;
    }
    if (op >= 0x1C8 && op <= 0x1CF) { /* BSWAP r32 */
        bswap_r(e, guest((int)(op & 7)));
        *done = true;
        return true;
    }
    if ((op == 0x1C1 || op == 0x1B1) && !reg_form) {
        /* XADD m32, r32: flags of the ADD. CMPXCHG m32, r32: flags of
         * CMP H_RAX, m32; the operand is written either way (the old value
         * back when it differs), as the processor does. */
        if (!mem_ok(g, in)) return true;
        Slow *s = new_slow(g, in, eip, next, pending);
        emit_ea(g, in, s);
        emit_tlb(g, s, true);
        load_host(e, H_RAX);          /* eax = m32 */
        mov_rr(e, W32, H_RDI, H_RCX); /* the address */
        if (op == 0x1C1) {
            g_get(e, H_RCX, in->reg);
            g_set(e, in->reg, H_RAX);
            if (!g->flags_dead) mov_m_r(e, OFF(lf.a), H_RAX), mov_m_r(e, OFF(lf.b), H_RCX);
            alu_rr(e, W32, ALU_ADD, H_RAX, H_RCX);
            mov_rr(e, W32, H_RCX, H_RDI);
            store_host(e, H_RAX);
            if (!g->flags_dead) {
                mov_m_r(e, OFF(lf.res), H_RAX);
                set_lf_kind(e, CC_ADD, 4);
            }
            set_flags_kind(g, g->flags_dead ? -1 : K_ADD);
        } else {
            g_get(e, H_RSI, R_EAX);
            if (!g->flags_dead) {
                mov_m_r(e, OFF(lf.a), H_RSI);
                mov_m_r(e, OFF(lf.b), H_RAX);
                mov_rr(e, W32, H_RCX, H_RSI);
                alu_rr(e, W32, ALU_SUB, H_RCX, H_RAX);
                mov_m_r(e, OFF(lf.res), H_RCX);
                set_lf_kind(e, CC_SUB, 4);
            }
            mov_rr(e, W32, H_RCX, H_RDI);
            alu_rr(e, W32, ALU_CMP, H_RSI, H_RAX);
            g_set(e, R_EAX, H_RAX); /* guest EAX = m32 (unchanged when they are equal) */
            uint8_t *ne = jcc_fwd(e, JCC_NE);
            g_get(e, H_RAX, in->reg); /* equal: store r32, else m32 back */
            patch(e, ne, e->p);
            store_host(e, H_RAX);
            set_flags_kind(g, g->flags_dead ? -1 : K_SUB);
        }
        s->resume = e->p;
        *done = true;
        return true;
    }
    if (op == 0x1BA && in->reg >= 4) {
        /* BT/BTS/BTR/BTC r/m32, imm8: CF = the (old) bit, the other flags
         * as the core leaves them (flags_set_arith materializes them). */
        bool writes = in->reg != 4;
        Slow *s;
        if (!emit_load_rm32(g, in, eip, next, pending, writes, &s)) return true;
        bt_ri(e, in->reg, H_RAX, (uint8_t)(in->imm & 31)); /* BIT_BT..BIT_BTC as in ModRM.reg */
        setcc_r(e, JCC_B, H_SIL);
        if (writes) {
            if (s)
                store_host(e, H_RAX);
            else
                g_set(e, in->rm, H_RAX);
        }
        movx_rr(e, OPC_MOVZX_GvEb, H_RSI, H_SIL);
        mov_ri(e, H_RDX, FL_CF);
        call_pure(e, (const void *)flags_set_arith); /* (cpu, CF or 0, FL_CF) */
        g->flags_kind = -1;
        if (s) s->resume = e->p;
        *done = true;
        return true;
    }
    return false;
}

/* 32-bit ADD/OR/AND/SUB/XOR of a guest register with a guest register
 * (src >= 0), an immediate (SRC_IMM) or host H_RCX (SRC_RCX: a memory
 * operand), straight on the host register that holds the destination,
 * recording the lazy flags as emit_alu_sized does unless they are dead. */
enum { SRC_IMM = -1, SRC_RCX = -2 };
static bool emit_alu_guest(Gen *g, int kind, int dst, int src, uint32_t imm) {
    Emit *e = &g->e;
    if (kind == K_ADC || kind == K_SBB || kind > K_XOR) return false;
    bool arith = kind == K_ADD || kind == K_SUB, live = !g->flags_dead;
    if (live && arith) {
        mov_m_r(e, OFF(lf.a), guest(dst));
        if (src >= 0)
            mov_m_r(e, OFF(lf.b), guest(src));
        else if (src == SRC_RCX)
            mov_m_r(e, OFF(lf.b), H_RCX);
        else
            mov_m_imm(e, OFF(lf.b), imm);
    }
    if (src >= 0)
        alu_rr(e, W32, kind, guest(dst), guest(src));
    else if (src == SRC_RCX)
        alu_rr(e, W32, kind, guest(dst), H_RCX);
    else
        alu_ri(e, W32, kind, guest(dst), imm);
    if (!live) {
        g->flags_kind = -1;
        return true;
    }
    set_lf_kind(e, arith ? (kind == K_ADD ? CC_ADD : CC_SUB) : CC_LOGIC, 4);
    mov_m_r(e, OFF(lf.res), guest(dst));
    set_flags_kind(g, kind);
    return true;
}

/* Try to generate in inline; false if it needs its handler. */
static bool emit_inline(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending) {
    Emit *e = &g->e;
    unsigned op = in->op;
    if (op == 0x90) return true; /* NOP, and F3 90 (PAUSE): nothing to do */
    /* LOCK changes nothing for the one CPU (device models run between
     * instructions, never during one): the locked read-modify-write forms
     * are generated like the plain ones. */
    if (in->rep && op != 0x90) return false;
    bool reg_form = !in->is_mem;
    /* SETcc r/m8 */
    if (op >= 0x190 && op <= 0x19F) {
        if (reg_form) {
            emit_cond(g, op & 0xF);
            g_set8(e, in->rm, H_RAX);
            return true;
        }
        if (!mem_ok(g, in)) return false;
        emit_cond(g, op & 0xF);
        mov_rr(e, W32, H_RSI, H_RAX);
        Slow *s = new_slow(g, in, eip, next, pending);
        emit_ea(g, in, s);
        emit_tlb(g, s, true);
        mov_mr(e, W8, host_mem(), H_SIL);
        s->resume = e->p;
        return true;
    }
    /* CMOVcc r32, r/m32: the source is read (and may fault) either way */
    if (op >= 0x140 && op <= 0x14F && in->size == 4) {
        Slow *s = NULL;
        if (!reg_form && !mem_ok(g, in)) return false;
        emit_cond(g, op & 0xF);
        mov_rr(e, W32, H_RSI, H_RAX);
        if (reg_form) {
            g_get(e, H_RCX, in->rm);
        } else {
            s = new_slow(g, in, eip, next, pending);
            emit_ea(g, in, s);
            emit_tlb(g, s, false);
            load_host(e, H_RCX);
        }
        test_rr(e, W32, H_RSI, H_RSI);
        uint8_t *skip = jcc_fwd(e, JCC_E);
        g_set(e, in->reg, H_RCX);
        patch(e, skip, e->p);
        if (s) s->resume = e->p;
        return true;
    }
    /* MOV AL/EAX <-> moffs */
    if (op >= 0xA0 && op <= 0xA3 && in->size != 2) {
        if (!mem_ok(g, in)) return false;
        Slow *s = new_slow(g, in, eip, next, pending);
        emit_ea(g, in, s);
        if (op <= 0xA1) {
            emit_tlb(g, s, false);
            if (in->size == 4) {
                load_host(e, H_RAX);
                g_set(e, R_EAX, H_RAX);
            } else {
                movx_rm(e, OPC_MOVZX_GvEb, H_RAX, host_mem());
                g_set8(e, R_EAX, H_RAX);
            }
        } else {
            g_get(e, H_RSI, R_EAX);
            emit_tlb(g, s, true);
            if (in->size == 4)
                store_host(e, H_RSI);
            else
                mov_mr(e, W8, host_mem(), H_SIL);
        }
        s->resume = e->p;
        return true;
    }
    /* CLD/STD: DF lives in cpu->eflags */
    if (op == 0xFC || op == 0xFD) {
        if (op == 0xFC)
            alu_mi32(e, W32, ALU_AND, cpu_mem(OFF(eflags)), ~(uint32_t)FL_DF);
        else
            alu_mi32(e, W32, ALU_OR, cpu_mem(OFF(eflags)), FL_DF);
        return true;
    }
    /* FLD/FST/FSTP m32fp/m64fp: the operand's bytes found here, the rest
     * in the core (fpu_mem_fast); anything unusual takes the handler. */
    if ((op == 0xD9 || op == 0xDD) && in->is_mem &&
        (in->reg == 0 || in->reg == 2 || in->reg == 3) && mem_ok(g, in) && in->seg != SEG_FS &&
        in->seg != SEG_GS) {
        Slow *s = new_slow(g, in, eip, next, pending);
        emit_ea(g, in, s); /* H_RCX: the offset, and the linear address (flat) */
        emit_tlb_n(g, s, in->reg != 0, op == 0xDD ? 8 : 4);
        lea(e, W64, H_RAX, host_mem());
        mov_rr(e, W32, H_RDX, H_RCX);
        mov_rr(e, W64, H_RCX, H_RAX);
        mov_ri64(e, H_RSI, (uint64_t)(uintptr_t)in);
        mov_m_imm(e, OFF(eip), eip); /* the x87's last-instruction pointer */
        call_pure(e, (const void *)fpu_mem_fast);
        test_rr(e, W8, H_RAX, H_RAX);
        s->jump[s->njump++] = jcc_fwd(e, JCC_E);
        s->resume = e->p;
        return true;
    }
    bool rmw_done;
    if (emit_rmw_mem(g, in, eip, next, pending, &rmw_done)) return rmw_done;
    if (in->size == 1) return emit_inline_byte(g, in, eip, next, pending);
    if (in->size == 2) return emit_inline_word(g, in, eip, next, pending);
    if (in->size != 4) return false;

    /* MOV */
    if (op >= 0xB8 && op <= 0xBF) {
        g_set_imm(e, op & 7, in->imm);
        return true;
    }
    if (op == 0x89 || op == 0x8B) {
        bool load = op == 0x8B;
        if (reg_form) {
            int dst = load ? in->reg : in->rm, src = load ? in->rm : in->reg;
            if (dst != src) mov_rr(e, W32, guest(dst), guest(src));
            return true;
        }
        if (!mem_ok(g, in)) return false;
        Slow *s = new_slow(g, in, eip, next, pending);
        emit_ea(g, in, s);
        if (load) {
            emit_tlb(g, s, false);
            load_host(e, guest(in->reg));
        } else {
            emit_tlb(g, s, true);
            store_host(e, guest(in->reg));
        }
        s->resume = e->p;
        return true;
    }
    if (op == 0xC7 && !reg_form) {
        if (!mem_ok(g, in)) return false;
        Slow *s = new_slow(g, in, eip, next, pending);
        emit_ea(g, in, s);
        emit_tlb(g, s, true);
        mov_mi(e, W32, host_mem(), in->imm);
        s->resume = e->p;
        return true;
    }
    if (op == 0xC7) {
        g_set_imm(e, in->rm, in->imm);
        return true;
    }
    if (op == 0x8D) {
        if (in->asize != 4) return false;
        emit_ea(g, in, NULL);
        g_set(e, in->reg, H_RCX);
        return true;
    }

    /* MOVZX / MOVSX r32, r/m8 or r/m16 */
    if (op == 0x1B6 || op == 0x1B7 || op == 0x1BE || op == 0x1BF) {
        unsigned opc = op == 0x1B6   ? OPC_MOVZX_GvEb
                       : op == 0x1B7 ? OPC_MOVZX_GvEw
                       : op == 0x1BE ? OPC_MOVSX_GvEb
                                     : OPC_MOVSX_GvEw; /* the host's instruction too */
        if (reg_form) {
            if (op & 1)
                g_get_ext(e, opc, H_RAX, in->rm); /* movzx/movsx eax, guest r16 */
            else
                g_get8(e, H_RAX, in->rm, opc == OPC_MOVSX_GvEb);
            g_set(e, in->reg, H_RAX);
            return true;
        }
        if (!mem_ok(g, in)) return false;
        Slow *s = new_slow(g, in, eip, next, pending);
        emit_ea(g, in, s);
        emit_tlb(g, s, false);
        movx_rm(e, opc, H_RAX, host_mem());
        g_set(e, in->reg, H_RAX);
        s->resume = e->p;
        return true;
    }
    /* ROL/ROR r32 by a constant. Live flags as shift_compute leaves them:
     * CF and OF from the result (ROL: CF = bit 0, OF = bit 31 ^ CF; ROR:
     * CF = bit 31, OF = bit 31 ^ bit 30) merged by flags_set_arith. */
    if ((op == 0xC1 || op == 0xD1) && reg_form && in->reg <= 1) {
        unsigned c = op == 0xD1 ? 1 : in->imm & 0x1F;
        if (c == 0) return true;
        shift_ri(e, W32, in->reg, guest(in->rm), (uint8_t)c); /* SHIFT_ROL/ROR as in ModRM.reg */
        if (!g->flags_dead) {
            g_get(e, H_RAX, in->rm);
            mov_rr(e, W32, H_RSI, H_RAX);
            mov_rr(e, W32, H_RDX, H_RAX);
            if (in->reg == 0) { /* ROL: esi = bit 0, edx = bit 31 */
                alu_ri(e, W32, ALU_AND, H_RSI, 1);
                shift_ri(e, W32, SHIFT_SHR, H_RDX, 31);
            } else { /* ROR: esi = bit 31, edx = bit 30 */
                shift_ri(e, W32, SHIFT_SHR, H_RSI, 31);
                shift_ri(e, W32, SHIFT_SHR, H_RDX, 30);
                alu_ri(e, W32, ALU_AND, H_RDX, 1);
            }
            alu_rr(e, W32, ALU_XOR, H_RDX, H_RSI);  /* OF */
            shift_ri(e, W32, SHIFT_SHL, H_RDX, 11); /* to FL_OF */
            alu_rr(e, W32, ALU_OR, H_RSI, H_RDX);   /* CF is bit 0 */
            mov_ri(e, H_RDX, FL_CF | FL_OF);
            call_pure(e, (const void *)flags_set_arith);
        }
        g->flags_kind = -1;
        return true;
    }
    /* IMUL r32, r/m32 [, imm]. Live flags as mul_flags leaves them: the
     * lazy flags of a logic result, then CF = OF = overflow and AF = 0
     * through flags_set_arith. */
    if (op == 0x1AF || op == 0x69 || op == 0x6B) {
        Slow *s;
        if (!emit_load_rm32(g, in, eip, next, pending, false, &s)) return false;
        if (op == 0x1AF) {
            imul_rr(e, H_RAX, guest(in->reg));
        } else {
            imul_rri(e, H_RAX, H_RAX, in->imm);
        }
        if (!g->flags_dead) setcc_r(e, JCC_B, H_DH); /* the overflow */
        g_set(e, in->reg, H_RAX);
        if (!g->flags_dead) {
            emit_lf_logic(g);
            movx_rr(e, OPC_MOVZX_GvEb, H_RSI, H_DH);
            neg_r(e, H_RSI);
            alu_ri32(e, W32, ALU_AND, H_RSI, FL_CF | FL_OF);
            mov_ri(e, H_RDX, FL_CF | FL_OF | FL_AF);
            call_pure(e, (const void *)flags_set_arith);
        }
        if (s) s->resume = e->p;
        g->flags_kind = -1;
        return true;
    }
    /* NEG r32: SUB from 0, as op_neg_rm records it */
    if (op == 0xF7 && in->reg == 3 && reg_form) {
        g_get(e, H_RAX, in->rm);
        if (!g->flags_dead) {
            mov_m_imm(e, OFF(lf.a), 0);
            mov_m_r(e, OFF(lf.b), H_RAX);
        }
        neg_r(e, H_RAX);
        g_set(e, in->rm, H_RAX);
        if (g->flags_dead) {
            g->flags_kind = -1;
        } else {
            mov_m_r(e, OFF(lf.res), H_RAX);
            set_lf_kind(e, CC_SUB, 4);
            set_flags_kind(g, K_SUB);
        }
        return true;
    }
    /* PUSH r/m32 from flat memory: the operand is read (with ESP before
     * the push) and the stack written, both through the inline TLB. */
    if (op == 0xFF && in->reg == 6 && !reg_form) {
        if (!mem_ok(g, in) || in->osize != 4) return false;
        Slow *s = new_slow(g, in, eip, next, pending);
        emit_ea(g, in, s);
        emit_tlb(g, s, false);
        load_host(e, H_RDI);
        g_get(e, H_RCX, R_ESP);
        add_r_imm(e, H_RCX, (uint32_t)-4);
        emit_tlb(g, s, true);
        store_host(e, H_RDI);
        g_set(e, R_ESP, H_RCX);
        s->resume = e->p;
        return true;
    }
    /* NOT r32 */
    if (op == 0xF7 && in->reg == 2 && reg_form) {
        not_r(e, guest(in->rm));
        return true;
    }
    /* INC/DEC r32: with dead flags just the arithmetic; else as incdec()
     * does: CF of the previous operation goes to EFLAGS (cpu_cf), then the
     * lazy flags of the increment. */
    if (op >= 0x40 && op <= 0x4F) {
        int r = op & 7;
        if (g->flags_dead) {
            alu_ri8(e, W32, op < 0x48 ? ALU_ADD : ALU_SUB, guest(r), 1);
            g->flags_kind = -1;
            return true;
        }
        emit_carry(g); /* eax = CF */
        alu_mi32(e, W32, ALU_AND, cpu_mem(OFF(eflags)), ~FL_CF);
        alu_mr(e, W32, ALU_OR, cpu_mem(OFF(eflags)), H_RAX);
        g_get(e, H_RAX, r);
        mov_m_r(e, OFF(lf.a), H_RAX);
        add_r_imm(e, H_RAX, op < 0x48 ? 1u : (uint32_t)-1);
        g_set(e, r, H_RAX);
        mov_m_r(e, OFF(lf.res), H_RAX);
        mov_m_imm(e, OFF(lf.b), 1);
        set_lf_kind(e, op < 0x48 ? CC_INC : CC_DEC, 4);
        g->flags_kind = -1;
        return true;
    }
    /* SHL/SAL/SHR/SAR r32 by an immediate or by 1 */
    if ((op == 0xC1 || op == 0xD1) && reg_form && in->reg >= 4) {
        unsigned c = op == 0xD1 ? 1 : in->imm & 0x1F;
        if (c == 0) return true; /* no change, flags untouched */
        static const CcOp cc[4] = {CC_SHL, CC_SHR, CC_SHL, CC_SAR};
        g_get(e, H_RAX, in->rm);
        if (g->flags_dead) {
            shift_ri(e, W32, host_shift[in->reg - 4], H_RAX, (uint8_t)c);
            g_set(e, in->rm, H_RAX);
            g->flags_kind = -1;
            return true;
        }
        mov_m_r(e, OFF(lf.a), H_RAX);
        shift_ri(e, W32, host_shift[in->reg - 4], H_RAX, (uint8_t)c);
        g_set(e, in->rm, H_RAX);
        set_lf_kind(e, cc[in->reg - 4], 4);
        mov_m_r(e, OFF(lf.res), H_RAX);
        mov_m_imm(e, OFF(lf.b), c);
        g->flags_kind = -1; /* the inline Jcc does not rebuild shift flags */
        return true;
    }

    /* SHL/SAL/SHR/SAR r32 by CL: a zero count changes nothing (not even
     * the flags), else as by an immediate, with the count in lf.b. */
    if (op == 0xD3 && reg_form && in->reg >= 4) {
        static const CcOp cc[4] = {CC_SHL, CC_SHR, CC_SHL, CC_SAR};
        g_get(e, H_RCX, R_ECX);
        alu_ri8(e, W32, ALU_AND, H_RCX, 0x1F);
        uint8_t *zero = jcc_fwd(e, JCC_E);
        g_get(e, H_RAX, in->rm);
        if (!g->flags_dead) {
            mov_m_r(e, OFF(lf.a), H_RAX);
            mov_m_r(e, OFF(lf.b), H_RCX);
        }
        shift_r_cl(e, host_shift[in->reg - 4], H_RAX);
        g_set(e, in->rm, H_RAX);
        if (!g->flags_dead) {
            mov_m_r(e, OFF(lf.res), H_RAX);
            set_lf_kind(e, cc[in->reg - 4], 4);
        }
        patch(e, zero, e->p);
        g->flags_kind = -1;
        return true;
    }

    bool done;
    if (op >= 0x50 && op <= 0x5F) {
        /* PUSH/POP r32 on a flat 32-bit stack. */
        if (!g->flat || in->osize != 4) return false;
        bool push = op < 0x58;
        int r = op & 7;
        Slow *s = new_slow(g, in, eip, next, pending);
        g_get(e, H_RCX, R_ESP);
        if (push) {
            add_r_imm(e, H_RCX, (uint32_t)-4);
            emit_tlb(g, s, true);
            store_host(e, guest(r)); /* PUSH ESP: the value before the push */
            g_set(e, R_ESP, H_RCX);
        } else if (r != R_ESP) {
            emit_tlb(g, s, false);
            load_host(e, guest(r));
            add_r_imm(e, H_RCX, 4);
            g_set(e, R_ESP, H_RCX);
        } else { /* POP ESP: the popped value wins */
            emit_tlb(g, s, false);
            load_host(e, H_RAX);
            g_set(e, R_ESP, H_RAX);
        }
        s->resume = e->p;
        return true;
    }

    if (emit_inline_more(g, in, eip, next, pending, &done)) return done;

    /* ALU: which kind, and where the operands are. */
    int kind, form;
    if (!alu_row(in, &kind, &form)) return false;
    if (kind == K_ADC || kind == K_SBB) return emit_adc_sbb(g, in, kind, form, eip, next, pending);
    bool writes = kind != K_CMP && kind != K_TEST;

    if (form == FORM_ACC_IMM || (form != FORM_REG_RM && reg_form)) {
        /* Register destination r/m (or EAX), source register or immediate. */
        int dst = form == FORM_ACC_IMM ? R_EAX : in->rm;
        if (writes && in->size == 4 &&
            emit_alu_guest(g, kind, dst, form == FORM_RM_REG ? in->reg : SRC_IMM, in->imm))
            return true;
        g_get(e, H_RAX, dst);
        if (form == FORM_RM_REG)
            g_get(e, H_RCX, in->reg);
        else
            mov_ri(e, H_RCX, in->imm);
        if (g->flags_dead) {
            /* Dead flags: only the result matters (a CMP or TEST does nothing). */
            if (!writes) return true;
            alu_rr(e, W32, kind, H_RAX, H_RCX);
            g->flags_kind = -1;
        } else {
            emit_alu_sized(g, kind, 4);
            set_flags_kind(g, kind);
        }
        if (writes) g_set(e, dst, H_RAX);
        return true;
    }
    if (form == FORM_REG_RM) {
        /* reg = reg op r/m */
        if (reg_form && writes && in->size == 4 && emit_alu_guest(g, kind, in->reg, in->rm, 0))
            return true;
        Slow *s = NULL;
        if (reg_form) {
            g_get(e, H_RCX, in->rm);
        } else {
            if (!mem_ok(g, in)) return false;
            s = new_slow(g, in, eip, next, pending);
            emit_ea(g, in, s);
            emit_tlb(g, s, false);
            load_host(e, H_RCX);
        }
        if (!(writes && in->size == 4 && emit_alu_guest(g, kind, in->reg, SRC_RCX, 0))) {
            g_get(e, H_RAX, in->reg);
            emit_alu_sized(g, kind, 4);
            set_flags_kind(g, kind);
            if (writes) g_set(e, in->reg, H_RAX);
        }
        if (s) s->resume = e->p;
        return true;
    }
    /* Memory destination: read (and for writing kinds, modify-write). */
    if (!mem_ok(g, in)) return false;
    Slow *s = new_slow(g, in, eip, next, pending);
    emit_ea(g, in, s);
    emit_tlb(g, s, writes);
    load_host(e, H_RAX);
    /* Keep the host address: RDX+RCX; the operand goes to H_RSI first. */
    if (form == FORM_RM_REG)
        g_get(e, H_RSI, in->reg);
    else
        mov_ri(e, H_RSI, in->imm);
    /* emit_alu_sized uses H_RCX as the source: save H_RCX (the address) in H_RDI. */
    mov_rr(e, W32, H_RDI, H_RCX);
    mov_rr(e, W32, H_RCX, H_RSI);
    emit_alu_sized(g, kind, 4);
    set_flags_kind(g, kind);
    mov_rr(e, W32, H_RCX, H_RDI);
    if (writes) store_host(e, H_RAX);
    s->resume = e->p;
    return true;
}

/* The slow path of an inline instruction: its handler, counted, then back
 * to the fast path with the bulk count undone (the fast path counts it). */
static void emit_slow(Gen *g, const Slow *s) {
    Emit *e = &g->e;
    uint8_t *here = e->p;
    for (int i = 0; i < s->njump; i++)
        patch(e, s->jump[i], here);
    count(e, s->pending);
    emit_handler_call(g, s->in, s->eip, s->next);
    cmp_m8_imm(e, OFF(block_break), 0);
    exit_if(g, JCC_NE);
    count(e, -(s->pending + 1));
    if (s->host_flags >= 0) { /* the fast path leaves them in the host flags */
        int kind = g->flags_kind;
        unsigned size = g->flags_size;
        g->flags_kind = s->host_flags, g->flags_size = 4;
        g->host_flags_end = NULL;
        emit_host_flags(g);
        g->flags_kind = kind, g->flags_size = size;
    }
    uint8_t *j = jmp_fwd(e);
    patch(e, j, s->resume);
}

/* A final near JMP rel, Jcc, CALL rel or RET in 32-bit code, without a
 * call: a Jcc whose flags come from an inline ALU instruction of this
 * block recomputes them on the host (the same operation on the recorded
 * operands gives the same flags) and branches on the host's condition,
 * any other Jcc asks cpu_cond;
 * CALL and RET (flat stack) push and pop through the inline TLB. Anything
 * unusual (a target beyond the CS limit, a TLB miss) runs the handler
 * instead, which raises what is due, and leaves for the dispatcher. Counts
 * pending + 1 instructions; direct branches leave through g->known[k]
 * (cpu->eip not yet set), the others through g->var (cpu->eip set).
 * False if the branch is not of that kind. */
static bool emit_branch_inline(Gen *g, const Insn *in, uint32_t eip, uint32_t next, int pending) {
    Emit *e = &g->e;
    unsigned op = in->op;
    bool jcc = (op >= 0x70 && op <= 0x7F) || (op >= 0x180 && op <= 0x18F);
    bool jmp = op == 0xE9 || op == 0xEB, call = op == 0xE8, ret = op == 0xC3 || op == 0xC2;
    bool icall = op == 0xFF && in->reg == 2, ijmp = op == 0xFF && in->reg == 4;
    if ((!jcc && !jmp && !call && !ret && !icall && !ijmp) || in->osize != 4) return false;
    if ((call || ret || icall) && !g->flat) return false;
    if ((icall || ijmp) && in->is_mem && !mem_ok(g, in)) return false;
    uint32_t target = next + in->imm;
    int32_t cs_limit =
        (int32_t)(offsetof(CPU, seg) + SEG_CS * sizeof(SegReg) + offsetof(SegReg, limit));
    uint8_t *to_handler[2] = {NULL, NULL};
    Slow tlb = {0}, push_tlb = {0};
    if (icall || ijmp) {
        /* The target (register or memory), checked against the CS limit,
         * then for CALL the push of the return address: everything that
         * can fault comes before the first change of guest state. */
        if (in->is_mem) {
            emit_ea(g, in, &tlb);
            emit_tlb(g, &tlb, false);
            load_host(e, H_RAX);
        } else {
            g_get(e, H_RAX, in->rm);
        }
        alu_mr(e, W32, ALU_CMP, cpu_mem(cs_limit), H_RAX);
        to_handler[0] = jcc_fwd(e, JCC_B); /* limit < target */
        mov_rr(e, W32, H_RDI, H_RAX);
        if (icall) {
            g_get(e, H_RCX, R_ESP);
            add_r_imm(e, H_RCX, (uint32_t)-4);
            mov_ri(e, H_RSI, next); /* the return address */
            emit_tlb(g, &push_tlb, true);
            store_host(e, H_RSI);
            g_set(e, R_ESP, H_RCX);
        }
        mov_m_r(e, OFF(eip), H_RDI);
        count(e, pending + 1);
        g->var = jmp_fwd(e);
    } else if (ret) {
        g_get(e, H_RCX, R_ESP);
        emit_tlb(g, &tlb, false);
        load_host(e, H_RAX); /* the return address */
        alu_mr(e, W32, ALU_CMP, cpu_mem(cs_limit), H_RAX);
        to_handler[0] = jcc_fwd(e, JCC_B); /* limit < target */
        mov_m_r(e, OFF(eip), H_RAX);
        add_r_imm(e, H_RCX, 4 + (op == 0xC2 ? (in->imm & 0xFFFF) : 0));
        g_set(e, R_ESP, H_RCX);
        count(e, pending + 1);
        g->var = jmp_fwd(e);
    } else {
        uint8_t *not_taken = NULL;
        if (jcc && g->flags_kind < 0) {
            /* Flags from a handler or an earlier block (no fault possible,
             * so nothing needs to be brought up to date). */
            emit_cond(g, op & 0xF);
            test_rr(e, W32, H_RAX, H_RAX);
            not_taken = jcc_fwd(e, JCC_E);
        } else if (jcc) {
            emit_host_flags(g);
            not_taken = jcc_fwd(e, (uint8_t)((op & 0xF) ^ 1));
        }
        cmp_m_imm(e, cs_limit, target);
        to_handler[0] = jcc_fwd(e, JCC_B); /* limit < target */
        if (call) {
            g_get(e, H_RCX, R_ESP);
            add_r_imm(e, H_RCX, (uint32_t)-4);
            mov_ri(e, H_RSI, next); /* the return address */
            emit_tlb(g, &tlb, true);
            store_host(e, H_RSI);
            g_set(e, R_ESP, H_RCX);
        }
        count(e, pending + 1);
        g->known[1] = jmp_fwd(e);
        if (not_taken) {
            patch(e, not_taken, e->p);
            count(e, pending + 1);
            g->known[0] = jmp_fwd(e);
        }
    }
    for (int i = 0; i < 2; i++)
        patch(e, to_handler[i], e->p);
    for (int i = 0; i < tlb.njump; i++)
        patch(e, tlb.jump[i], e->p);
    for (int i = 0; i < push_tlb.njump; i++)
        patch(e, push_tlb.jump[i], e->p);
    count(e, pending);
    emit_handler_call(g, in, eip, next); /* raises, or does the unusual case */
    exit_always(g);                      /* to the dispatcher */
    return true;
}

/* A chaining site (JMP_SITE_PLAIN): cmp rbp, imm32 (run_left against the
 * target's length); jb; jmp rel32 (to the target's code once chained; both
 * jumps first lead to the same place: fix[0] and fix[1], to be patched).
 * It is reached with EIP known, and only on the block's page.
 * JMP_SITE_EIP: preceded by cmp dword [rbx+eip], imm32 (the target's
 * EIP); jne: for exits whose EIP is known only when the code runs
 * (returns, indirect branches, branches through a handler).
 * JMP_SITE_FAR: a direct branch to another page, preceded by a check of
 * the TLB entry of the target's page: cmp dword [rbx+tag], imm32 (the
 * page; TLB_TAG_NONE while unchained); jne; mov rax, imm64 (the addend
 * that maps the page to the target's bytes); cmp rax, [rbx+addend]; jne.
 * Both jne lead out; so a page-table change cannot make the jump wrong. */
enum { JMP_SITE_PLAIN, JMP_SITE_EIP, JMP_SITE_FAR };
#define SITE_IMM     3  /* offset of the length imm32 */
#define SITE_JB      7  /* offset of the jb */
#define SITE_JMP     13 /* offset of the jmp */
#define SITE_LEN     18
#define GUARD_EIP    6  /* offset of the EIP imm32 in the EIP guard */
#define GUARD_LEN    16 /* the EIP guard's length */
#define FAR_TAG      6  /* offset of the page imm32 in the TLB guard */
#define FAR_ADDEND   18 /* offset of the addend imm64 */
#define FAR_LEN      39 /* the TLB guard's length */
#define TLB_TAG_NONE 1u /* never a TLB tag (page-aligned or TLB_INVALID) */

static uint8_t *emit_site(Gen *g, uint8_t *fix[2]) {
    Emit *e = &g->e;
    uint8_t *site = e->p;
    alu_ri32(e, W64, ALU_CMP, H_RBP, 0);
    fix[0] = jcc_fwd(e, JCC_B);
    fix[1] = jmp_fwd(e);
    return site;
}
static uint8_t *emit_guarded_site(Gen *g, uint8_t **jne, uint8_t *fix[2]) {
    Emit *e = &g->e;
    uint8_t *site = e->p;
    alu_mi32(e, W32, ALU_CMP, cpu_mem32(OFF(eip)), 0);
    *jne = jcc_fwd(e, JCC_NE);
    emit_site(g, fix);
    return site;
}
/* The TLB entry (g's CPL) of the page of linear address lin. */
static int32_t tlb_entry_off(const Gen *g, uint32_t lin) {
    return (int32_t)(offsetof(CPU, mmu) + offsetof(Mmu, tlb) +
                     ((g->user ? TLB_SIZE : 0) + ((lin >> 12) & (TLB_SIZE - 1))) *
                         sizeof(TlbEntry));
}
static uint8_t *emit_far_site(Gen *g, uint32_t target, uint8_t *fix[4]) {
    Emit *e = &g->e;
    uint8_t *site = e->p;
    int32_t ent = tlb_entry_off(g, target);
    alu_mi32(e, W32, ALU_CMP, cpu_mem32(ent + (int32_t)offsetof(TlbEntry, tag_read)),
             TLB_TAG_NONE); /* the page */
    fix[2] = jcc_fwd(e, JCC_NE);
    mov_ri64(e, H_RAX, 0);
    alu_rm(e, W64, ALU_CMP, H_RAX, cpu_mem32(ent + (int32_t)offsetof(TlbEntry, addend)));
    fix[3] = jcc_fwd(e, JCC_NE);
    emit_site(g, fix);
    return site;
}

/* The inline lookup: find the block for cpu->eip in the virtual-address
 * cache as tb_find's fast path does and, if it is compiled and may run
 * (CS base 0 and the same mode bits as tb, the TLB mapping the address to
 * its bytes, a 4 GiB CS limit and run_left covering any block), jump into
 * its host code with the guest registers still in host registers. All it
 * reads is one cache entry and one TLB entry. Anything else jumps to
 * `miss` (the dispatcher). Only after exits that change nothing but EIP
 * and ESP (the callers' chaining sites), so the mode bits stay tb's. */
_Static_assert(DBT_MAX_INSNS <= 127, "emit_lookup compares run_left with an imm8");
static void emit_lookup(Gen *g, const Jit *j, const TB *tb, uint8_t **miss, int *nmiss) {
    Emit *e = &g->e;
    int32_t cs_limit =
        (int32_t)(offsetof(CPU, seg) + SEG_CS * sizeof(SegReg) + offsetof(SegReg, limit));
    _Static_assert(sizeof(JcEntry) == 32, "JcEntry layout");
    mov_r_m(e, H_RAX, OFF(eip)); /* the linear address too: CS base 0 */
    /* rsi = &jc[jc_index(lin, tb->flags)]: the mode bits stay tb's */
    mov_rr(e, W32, H_RDX, H_RAX);
    shift_ri(e, W32, SHIFT_SHR, H_RDX, JC_BITS);
    alu_rr(e, W32, ALU_XOR, H_RDX, H_RAX);
    alu_ri32(e, W32, ALU_AND, H_RDX, JC_SIZE - 1);
    alu_ri32(e, W32, ALU_XOR, H_RDX, jc_salt(tb->flags));
    shift_ri(e, W64, SHIFT_SHL, H_RDX, 5);
    mov_ri64(e, H_RSI, (uint64_t)(uintptr_t)j->jc);
    alu_rr(e, W64, ALU_ADD, H_RSI, H_RDX);
    alu_mr(e, W32, ALU_CMP, mem_at(H_RSI, offsetof(JcEntry, lin)), H_RAX);
    miss[(*nmiss)++] = jcc_fwd(e, JCC_NE);
    alu_mi32(e, W32, ALU_CMP, mem_at(H_RSI, offsetof(JcEntry, flags)), tb->flags);
    miss[(*nmiss)++] = jcc_fwd(e, JCC_NE);
    mov_rm(e, W64, H_RDI, mem_at(H_RSI, offsetof(JcEntry, entry)));
    test_rr(e, W64, H_RDI, H_RDI); /* dead or not compiled */
    miss[(*nmiss)++] = jcc_fwd(e, JCC_E);
    /* The TLB still maps lin (H_RAX) to the TB's first byte. */
    int32_t tlb =
        (int32_t)(offsetof(CPU, mmu) + offsetof(Mmu, tlb) +
                  ((((tb->flags >> TBF_CPL_SHIFT) & 3) == 3) ? sizeof(TlbEntry) * TLB_SIZE : 0));
    mov_rr(e, W32, H_RDX, H_RAX);
    shift_ri(e, W32, SHIFT_SHR, H_RDX, 12 - 4);
    alu_ri32(e, W32, ALU_AND, H_RDX, (TLB_SIZE - 1) << 4); /* the index * 16 */
    lea(e, W64, H_RCX, mem_sum32(H_RBX, H_RDX, tlb));
    mov_rr(e, W32, H_RDX, H_RAX);
    alu_ri32(e, W32, ALU_AND, H_RDX, 0xFFFFF000u);
    alu_mr(e, W32, ALU_CMP, mem_at(H_RCX, offsetof(TlbEntry, tag_read)), H_RDX);
    miss[(*nmiss)++] = jcc_fwd(e, JCC_NE);
    mov_rr(e, W32, H_RDX, H_RAX);
    alu_rm(e, W64, ALU_ADD, H_RDX, mem_at(H_RCX, offsetof(TlbEntry, addend)));
    alu_rm(e, W64, ALU_CMP, H_RDX, mem_at(H_RSI, offsetof(JcEntry, host_pc)));
    miss[(*nmiss)++] = jcc_fwd(e, JCC_NE);
    /* Any block fits: run_left >= DBT_MAX_INSNS and a 4 GiB CS limit (a
     * compiled block never wraps: blocks end at page boundaries). */
    alu_ri8(e, W64, ALU_CMP, H_RBP, DBT_MAX_INSNS);
    miss[(*nmiss)++] = jcc_fwd(e, JCC_B);
    alu_mi8(e, W32, ALU_CMP, cpu_mem(cs_limit), 0xFF); /* -1 */
    miss[(*nmiss)++] = jcc_fwd(e, JCC_NE);
    mov_ri64(e, H_RAX, (uint64_t)(uintptr_t)j->hits);
    inc_m64(e, mem_sum(H_RAX, H_NONE, 0));
    jmp_r(e, H_RDI);
}

/* Whether exit k of tb (0: falls through, 1: the branch) leaves its page
 * or has a target that varies (returns, indirect branches): those use the
 * inline lookup, or for a direct branch a site with a TLB check
 * (JMP_SITE_FAR); same-page targets get plain sites. */
static bool exit_leaves_page(const TB *tb, int k) {
    const Insn *last = &tb->insns[tb->n - 1];
    uint32_t page = (tb->cs_base + tb->eip) & ~0xFFFu;
    uint32_t end = tb->eip + tb->size, target;
    if (k == 0) {
        target = end;
    } else {
        unsigned op = last->op;
        bool direct = (op >= 0x70 && op <= 0x7F) || (op >= 0x180 && op <= 0x18F) || op == 0xE8 ||
                      op == 0xE9 || op == 0xEB || (op >= 0xE0 && op <= 0xE3);
        if (!direct || last->osize != 4) return true;
        target = end + last->imm;
    }
    return ((tb->cs_base + target) & ~0xFFFu) != page;
}

/* After a load of ES, DS, FS or GS inside a block: leave it when the mode
 * bits changed (the rest of the block, its links and its inline lookup
 * were generated for tb's). In a TBF_FLAT block only the loaded segment
 * can have changed them, so only its part of tb_flags (dbt.c) is checked,
 * inline: DS and ES must still be flat, FS and GS still 4 GiB data
 * segments or still not. */
static void emit_mode_check(Gen *g, const Insn *in) {
    Emit *e = &g->e;
    if (!(g->tb_flags & TBF_FLAT)) {
        call_pure(e, (const void *)dbt_tb_flags_now);
        alu_eax_i32(e, ALU_CMP, g->tb_flags);
        exit_if(g, JCC_NE);
        return;
    }
    unsigned op = in->op;
    int sreg = op == 0x8E    ? in->reg
               : op == 0x07  ? SEG_ES
               : op == 0x1F  ? SEG_DS
               : op == 0x1A1 ? SEG_FS
                             : SEG_GS;
    int32_t seg = (int32_t)(offsetof(CPU, seg) + (size_t)sreg * sizeof(SegReg));
    int32_t base = seg + (int32_t)offsetof(SegReg, base),
            limit = seg + (int32_t)offsetof(SegReg, limit),
            flags = seg + (int32_t)offsetof(SegReg, flags);
    const uint32_t kind = SF_P | ST_CODE | ST_WRITABLE | ST_EXPDOWN, data4g = SF_P | ST_WRITABLE;
    if (sreg == SEG_DS || sreg == SEG_ES) { /* seg_flat */
        cmp_m_imm(e, base, 0);
        exit_if(g, JCC_NE);
        cmp_m_imm(e, limit, 0xFFFFFFFFu);
        exit_if(g, JCC_NE);
        mov_r_m(e, H_RAX, flags);
        alu_eax_i32(e, ALU_AND, kind | SF_DB);
        alu_eax_i32(e, ALU_CMP, data4g | SF_DB);
        exit_if(g, JCC_NE);
        return;
    }
    bool want = (g->tb_flags & (sreg == SEG_FS ? TBF_FS : TBF_GS)) != 0; /* seg_4g */
    cmp_m_imm(e, limit, 0xFFFFFFFFu);
    uint8_t *not4g = NULL;
    if (want)
        exit_if(g, JCC_NE);
    else
        not4g = jcc_fwd(e, JCC_NE);
    mov_r_m(e, H_RAX, flags);
    alu_eax_i32(e, ALU_AND, kind);
    alu_eax_i32(e, ALU_CMP, data4g);
    exit_if(g, want ? JCC_NE : JCC_E);
    patch(e, not4g, e->p);
}

/* The runtime (see struct Jit), generated at the start of the buffer:
 *   rt_enter(cpu, entry): sets up the frame (callee-saved registers, then
 *     FRAME_SIZE bytes of slots), RBX = cpu, RBP and FRAME_BASE from the
 *     counters, the guest registers into r8-r15, and jumps to entry;
 *   rt_leave (RDX: the TB leaving): writes registers and counters back and
 *     returns RDX from rt_enter;
 *   rt_leave_next (RDX): the same, but first asks dbt_jit_next for a block
 *     to go on to, and jumps there if there is one;
 *   rt_call_fn (RSI: the Insn; cpu->eip and next_eip set): counts the call
 *     in the statistics, writes registers and counters back, calls the
 *     instruction's handler, sets EIP to next_eip and takes registers and
 *     counters up again;
 *   rt_call_exec (RSI; cpu->eip set): the same through exec_insn (which
 *     counts the instruction itself), then retires it from run_left. */
_Static_assert(offsetof(Insn, op) < 128 && offsetof(Insn, fn) < 128,
               "the runtime reaches Insn fields with 8-bit displacements");
static void emit_runtime(Jit *j, DbtStats *stats) {
    Emit em = {.buf = j->rw, .p = j->rw, .end = j->rw + j->size}, *e = &em;
    const uint8_t *rx = j->rx;
#define RX_HERE (rx + (e->p - e->buf))
    j->rt_enter = RX_HERE;
    push_r(e, H_RBX);
    push_r(e, H_RBP);
    for (int r = H_R12; r <= H_R15; r++)
        push_r(e, r);
    alu_ri8(e, W64, ALU_SUB, H_RSP, FRAME_SIZE);
    mov_rr(e, W64, H_RBX, H_RDI);
    jit_sync_in(e, 0);
    g_reload(e, 0, 8);
    jmp_r(e, H_RSI);

    j->rt_leave = RX_HERE;
    g_spill(e, 0, 8);
    jit_sync_out(e, 0);
    uint8_t *leave_spilled = e->p;
    mov_rr(e, W64, H_RAX, H_RDX);
    alu_ri8(e, W64, ALU_ADD, H_RSP, FRAME_SIZE);
    for (int r = H_R15; r >= H_R12; r--)
        pop_r(e, r);
    pop_r(e, H_RBP);
    pop_r(e, H_RBX);
    ret(e);

    j->rt_leave_next = RX_HERE;
    mov_mr(e, W64, frame_slot(FRAME_TB), H_RDX);
    g_spill(e, 0, 8);
    jit_sync_out(e, 0);
    mov_rdi_rbx(e);
    mov_rr(e, W64, H_RSI, H_RDX);
    call_abs(e, (const void *)dbt_jit_next);
    test_rr(e, W64, H_RAX, H_RAX);
    uint8_t *none = jcc_fwd(e, JCC_E);
    mov_rr(e, W64, H_RDI, H_RAX);
    jit_sync_in(e, 0);
    g_reload(e, 0, 8);
    jmp_r(e, H_RDI);
    patch(e, none, e->p);
    mov_rm(e, W64, H_RDX, frame_slot(FRAME_TB));
    patch(e, jmp_fwd(e), leave_spilled);

    for (int exec = 0; exec < 2; exec++) {
        if (exec)
            j->rt_call_exec = RX_HERE;
        else
            j->rt_call_fn = RX_HERE;
        /* inc qword [core_calls + op * 8] */
        movx_rm(e, OPC_MOVZX_GvEw, H_RAX, mem_at(H_RSI, offsetof(Insn, op)));
        mov_ri64(e, H_RCX, (uint64_t)(uintptr_t)stats->core_calls);
        inc_m64(e, mem_sum(H_RCX, H_RAX, 3));
        /* Inside: the return address and 8 bytes of alignment above the frame. */
        alu_ri8(e, W64, ALU_SUB, H_RSP, 8);
        g_spill(e, 0, 8);
        jit_sync_out(e, 16);
        mov_rdi_rbx(e);
        if (exec) {
            call_abs(e, (const void *)exec_insn);
            g_reload(e, 0, 8);
            add_m64_imm(e, OFF(run_left), -1);
        } else {
            call_m(e, mem_at(H_RSI, offsetof(Insn, fn)));
            g_reload(e, 0, 8);
            mov_r_m(e, H_RAX, OFF(next_eip));
            mov_m_r(e, OFF(eip), H_RAX);
        }
        jit_sync_in(e, 16);
        alu_ri8(e, W64, ALU_ADD, H_RSP, 8);
        ret(e);
    }
#undef RX_HERE
    j->used = j->rt_size = ((size_t)(e->p - e->buf) + 63) & ~(size_t)63;
    if (j->perf_map)
        fprintf(j->perf_map, "%lx %zx bt86-jit-runtime\n", (unsigned long)(uintptr_t)rx,
                (size_t)(e->p - e->buf));
}

void jit_set_lookup(Jit *j, const JcEntry *jc, uint64_t *hits) {
    j->jc = jc;
    j->hits = hits;
}

Jit *jit_new(void) {
    Jit *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    int fd = memfd_create("bt86-jit", 0);
    if (fd < 0) goto fail;
    if (ftruncate(fd, JIT_CODE_SIZE) < 0) goto fail_fd;
    j->rw = mmap(NULL, JIT_CODE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (j->rw == MAP_FAILED) goto fail_fd;
    j->rx = mmap(NULL, JIT_CODE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (j->rx == MAP_FAILED) {
        munmap(j->rw, JIT_CODE_SIZE);
        goto fail_fd;
    }
    close(fd);
    j->size = JIT_CODE_SIZE;
    if (getenv("BT86_PERF_MAP")) {
        /* perf's convention for JIT code: "start size name" per line. */
        char path[64];
        snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
        j->perf_map = fopen(path, "w");
        if (j->perf_map) setvbuf(j->perf_map, NULL, _IOLBF, 0);
    }
    return j;
fail_fd:
    close(fd);
fail:
    free(j);
    return NULL;
}

void jit_free(Jit *j) {
    if (!j) return;
    if (j->perf_map) fclose(j->perf_map);
    munmap(j->rw, j->size);
    munmap(j->rx, j->size);
    free(j);
}

void jit_reset(Jit *j) {
    j->used = j->rt_size; /* the runtime stays */
}
size_t jit_used(const Jit *j) {
    return j->used;
}

TB *jit_run(Jit *j, CPU *cpu, TB *tb) {
    TB *(*enter)(CPU *, const uint8_t *) = (TB * (*)(CPU *, const uint8_t *))(void *)j->rt_enter;
    return enter(cpu, tb->jit);
}

bool jit_compile(Jit *j, TB *tb, DbtStats *stats) {
    if (!j->rt_enter) emit_runtime(j, stats);
    if (j->size - j->used < JIT_MAX_BLOCK) return false;
    Gen *g = &j->gen;
    memset(g, 0, sizeof *g);
    g->stats = stats;
    g->jit = j;
    g->e.buf = g->e.p = j->rw + j->used;
    g->e.end = j->rw + j->size;
    g->rx_base = j->rx + j->used;
    g->flat = (tb->flags & TBF_FLAT) != 0;
    g->fs_ok = (tb->flags & TBF_FS) != 0;
    g->gs_ok = (tb->flags & TBF_GS) != 0;
    g->user = ((tb->flags >> TBF_CPL_SHIFT) & 3) == 3;
    g->tb_flags = tb->flags;
    g->flags_kind = -1;
    Emit *e = &g->e;

    /* Blocks are entered (rt_enter, chained jumps, lookups) with the
     * guest registers in host ones and the frame set up. */
    uint8_t *entry = e->p;

    uint32_t eip = tb->eip;
    int pending = 0;
    for (uint32_t i = 0; i < tb->n; i++) {
        const Insn *in = &tb->insns[i];
        uint32_t next = eip + in->len;
        g->flags_dead = flags_dead_after(tb, i);
        g->host_flags_now = false;
        int nslow = g->nslow;
        if (!in->ends_block && emit_inline(g, in, eip, next, pending)) {
            pending++;
            for (int k = nslow; k < g->nslow; k++)
                g->slow[k].host_flags = g->host_flags_now ? g->flags_kind : -1;
            if (g->host_flags_now) g->host_flags_end = e->p;
        } else if (i + 1 == tb->n && (tb->flags & TBF_CODE32) &&
                   emit_branch_inline(g, in, eip, next, pending)) {
            pending = 0; /* counted; exits in g->known and g->var */
        } else {
            count(e, pending);
            pending = 0;
            g->flags_kind = -1; /* a handler may set the flags */
            emit_handler_call(g, in, eip, next);
            if (i + 1 < tb->n) {
                cmp_m_imm(e, OFF(eip), next);
                exit_if(g, JCC_NE);
                cmp_m8_imm(e, OFF(block_break), 0);
                exit_if(g, JCC_NE);
            } else if (!in->ends_block || insn_plain_branch(in)) {
                /* The exits below may go on to other blocks' code: not
                 * when the handler asked for the dispatcher. Inline code
                 * never does (its slow paths check after the handler). */
                cmp_m8_imm(e, OFF(block_break), 0);
                exit_if(g, JCC_NE);
                g->var = jmp_fwd(e);
            }
            if (insn_loads_data_seg(in)) emit_mode_check(g, in);
        }
        eip = next;
    }
    /* The exits. Those after a near branch or straight-line code (nothing
     * that can change the mode, IF, TF, the address space or a device's
     * interrupt line) may go straight on to the next block's code: through
     * a chaining site (the same page, or another one behind a check of its
     * TLB entry: direct branches) or the inline lookup (other exits). */
    const Insn *last = &tb->insns[tb->n - 1];
    /* (A block with STI inside ends sensitive, its last instruction a
     * plain one: the dispatcher must ask the PIC.) */
    bool chain_ok = !tb->ends_sensitive;
    bool lookup_ok = chain_ok && j->jc && tb->cs_base == 0;
    uint8_t *site[2] = {NULL, NULL};
    uint8_t kind[2] = {JMP_SITE_PLAIN, JMP_SITE_PLAIN};
    uint8_t *to_lookup[4], *to_ret[8];
    int nto_lookup = 0, nto_ret = 0;
    if (pending) { /* straight-line code: exit 0 */
        count(e, pending);
        g->known[0] = jmp_fwd(e);
    }
    uint32_t known_eip[2] = {eip, eip + last->imm};
    for (int k = 0; k < 2; k++) {
        if (!g->known[k]) continue;
        patch(e, g->known[k], e->p);
        if (!chain_ok) {
            mov_m_imm(e, OFF(eip), known_eip[k]);
            exit_always(g);
        } else if (exit_leaves_page(tb, k) && !lookup_ok) {
            mov_m_imm(e, OFF(eip), known_eip[k]);
            to_ret[nto_ret++] = jmp_fwd(e);
        } else {
            /* The dispatcher links the site when it sees this exit. */
            uint8_t *fix[4] = {NULL, NULL, NULL, NULL};
            if (exit_leaves_page(tb, k)) {
                site[k] = emit_far_site(g, known_eip[k], fix);
                kind[k] = JMP_SITE_FAR;
            } else {
                site[k] = emit_site(g, fix);
            }
            for (int i = 0; i < 4; i++)
                patch(e, fix[i], e->p);
            mov_m_imm(e, OFF(eip), known_eip[k]);
            to_ret[nto_ret++] = jmp_fwd(e);
        }
    }
    if (g->var && !chain_ok) {
        patch(e, g->var, e->p);
        exit_always(g);
    } else if (g->var) {
        /* EIP is in cpu->eip: guarded sites, the one for exit 1 (or 0)
         * patched for the target seen first. */
        patch(e, g->var, e->p);
        cmp_m_imm(e, OFF(eip), eip);
        uint8_t *to1 = jcc_fwd(e, JCC_NE);
        for (int k = 0; k < 2; k++) {
            uint8_t *fix[2], *jne;
            site[k] = emit_guarded_site(g, &jne, fix);
            kind[k] = JMP_SITE_EIP;
            for (int i = 0; i < 2; i++)
                to_ret[nto_ret++] = fix[i];
            if (lookup_ok && exit_leaves_page(tb, k))
                to_lookup[nto_lookup++] = jne;
            else
                to_ret[nto_ret++] = jne;
            if (k == 0) patch(e, to1, e->p);
        }
    }
    /* Back to the dispatcher: from exits it may link or whose address
     * cache entry it may fill (ret_label), and from the rest (exit_label)
     * only when dbt_jit_next finds no compiled block to go on to. RDX says
     * which block is leaving. */
    uint8_t *ret_label = e->p;
    mov_ri64(e, H_RDX, (uint64_t)(uintptr_t)tb);
    rel_to_rt(g, OPC_JMP_Jz, j->rt_leave);
    uint8_t *exit_label = e->p;
    mov_ri64(e, H_RDX, (uint64_t)(uintptr_t)tb);
    rel_to_rt(g, OPC_JMP_Jz, j->rt_leave_next);
    for (int i = 0; i < nto_ret; i++)
        patch(e, to_ret[i], ret_label);
    if (nto_lookup) {
        uint8_t *miss[12];
        int nmiss = 0;
        uint8_t *lookup = e->p;
        emit_lookup(g, j, tb, miss, &nmiss);
        for (int i = 0; i < nmiss; i++)
            patch(e, miss[i], ret_label);
        for (int i = 0; i < nto_lookup; i++)
            patch(e, to_lookup[i], lookup);
    }
    for (int i = 0; i < g->nslow; i++)
        emit_slow(g, &g->slow[i]);
    for (int i = 0; i < g->nexits; i++)
        patch(e, g->exits[i], exit_label);
    if (e->full) return false;
    size_t len = (size_t)(e->p - e->buf);
    uint8_t *rx = j->rx + j->used;
    tb->jit = rx + (entry - e->buf);
    for (int k = 0; k < 2; k++) {
        tb->jmp_site[k] = site[k];
        tb->jmp_eip[k] = known_eip[k];
        tb->jmp_kind[k] = kind[k];
        tb->jmp_dest[k] = NULL;
        tb->jmp_in_next[k] = 0;
    }
    tb->jmp_in = 0;
    j->used += (len + 15) & ~(size_t)15;
    if (j->perf_map)
        fprintf(j->perf_map, "%lx %zx guest:%08x+%u\n", (unsigned long)(uintptr_t)rx, len,
                tb->cs_base + tb->eip, tb->size);
    return true;
}

static uint8_t *rx_of(Jit *j, uint8_t *rw) {
    return j->rx + (rw - j->rw);
}

bool jit_chain(Jit *j, TB *src, int k, const TB *dst, bool same_page) {
    uint8_t *site = src->jmp_site[k];
    /* (The dispatcher calls the exit k whenever EIP is not the fall-through
     * one, also after a handler in the middle of the block changed it.) */
    switch (src->jmp_kind[k]) {
    case JMP_SITE_EIP:
        if (!same_page) return false;
        memcpy(site + GUARD_EIP, &dst->eip, 4);
        site += GUARD_LEN;
        break;
    case JMP_SITE_FAR: {
        if (src->jmp_eip[k] != dst->eip || dst->cs_base != 0) return false;
        uint32_t page = dst->eip & ~0xFFFu;
        uint64_t addend = (uint64_t)dst->host_pc - dst->eip;
        memcpy(site + FAR_TAG, &page, 4);
        memcpy(site + FAR_ADDEND, &addend, 8);
        site += FAR_LEN;
        break;
    }
    default:
        if (!same_page || src->jmp_eip[k] != dst->eip) return false;
        break;
    }
    uint32_t n = dst->n;
    memcpy(site + SITE_IMM, &n, 4);
    int32_t rel = (int32_t)(dst->jit - (rx_of(j, site) + SITE_LEN));
    memcpy(site + SITE_JMP + 1, &rel, 4);
    return true;
}

void jit_unchain(Jit *j, TB *src, int k) {
    (void)j;
    uint8_t *site = src->jmp_site[k];
    if (src->jmp_kind[k] == JMP_SITE_EIP)
        site += GUARD_LEN; /* the EIP may stay: the jump leads out */
    if (src->jmp_kind[k] == JMP_SITE_FAR) {
        uint32_t none = TLB_TAG_NONE;
        memcpy(site + FAR_TAG, &none, 4);
        site += FAR_LEN;
    }
    int32_t rel_jb;
    memcpy(&rel_jb, site + SITE_JB + 2, 4);
    /* The jb (ending at SITE_JMP) already points at the block's exit. */
    int32_t rel = rel_jb - (SITE_LEN - SITE_JMP);
    memcpy(site + SITE_JMP + 1, &rel, 4);
}

#else /* not an x86-64 Linux host: no native backend */

Jit *jit_new(void) {
    return NULL;
}
void jit_free(Jit *j) {
    (void)j;
}
void jit_reset(Jit *j) {
    (void)j;
}
size_t jit_used(const Jit *j) {
    (void)j;
    return 0;
}
bool jit_compile(Jit *j, TB *tb, DbtStats *stats) {
    (void)j;
    (void)tb;
    (void)stats;
    return false;
}
bool jit_chain(Jit *j, TB *src, int k, const TB *dst, bool same_page) {
    (void)j, (void)src, (void)k, (void)dst, (void)same_page;
    return false;
}
void jit_unchain(Jit *j, TB *src, int k) {
    (void)j, (void)src, (void)k;
}
TB *jit_run(Jit *j, CPU *cpu, TB *tb) {
    (void)j, (void)cpu;
    return tb;
}
void jit_set_lookup(Jit *j, const JcEntry *jc, uint64_t *hits) {
    (void)j, (void)jc, (void)hits;
}

#endif
