/*
 * ops_data.c - data movement: MOV in all forms, MOVZX/MOVSX, LEA, XCHG,
 * XLAT, the stack (PUSH/POP of registers, memory, immediates and segment
 * registers, PUSHA/POPA, ENTER/LEAVE), BOUND, far-pointer loads, and the
 * string instructions with their REP prefixes.
 *
 * Multi-step stack instructions check every slot (or read every value)
 * before changing ESP, so a fault leaves the stack pointer untouched.
 * ENTER with a nesting level is the exception: a fault part-way through
 * its frame copy leaves ESP/EBP partly updated (documented in STATUS.md).
 */
#include "cpu/ops.h"

void op_mov_rm_r(CPU *cpu, const Insn *in) {
    rm_write(cpu, in, in->size, reg_read(cpu, in->reg, in->size));
}

void op_mov_r_rm(CPU *cpu, const Insn *in) {
    reg_write(cpu, in->reg, in->size, rm_read(cpu, in, in->size));
}

void op_mov_rm_imm(CPU *cpu, const Insn *in) { rm_write(cpu, in, in->size, in->imm); }

void op_mov_r_imm(CPU *cpu, const Insn *in) { reg_write(cpu, in->op & 7, in->size, in->imm); }

void op_mov_acc_moffs(CPU *cpu, const Insn *in) {
    reg_write(cpu, R_EAX, in->size, mem_read(cpu, in->seg, insn_ea(cpu, in), in->size));
}

void op_mov_moffs_acc(CPU *cpu, const Insn *in) {
    mem_write(cpu, in->seg, insn_ea(cpu, in), in->size, reg_read(cpu, R_EAX, in->size));
}

void op_mov_rm_sreg(CPU *cpu, const Insn *in) {
    if (in->reg >= SEG_COUNT) cpu_ud(cpu);
    uint16_t sel = cpu->seg[in->reg].sel;
    if (in->is_mem) rm_write(cpu, in, 2, sel);
    else reg_write(cpu, in->rm, in->osize, sel); /* 32-bit: upper half zeroed on P6 */
}

void op_mov_sreg_rm(CPU *cpu, const Insn *in) {
    if (in->reg == SEG_CS || in->reg >= SEG_COUNT) cpu_ud(cpu);
    seg_load(cpu, in->reg, (uint16_t)rm_read(cpu, in, 2));
}

void op_lea(CPU *cpu, const Insn *in) {
    if (!in->is_mem) cpu_ud(cpu);
    reg_write(cpu, in->reg, in->osize, insn_ea(cpu, in));
}

void op_movzx(CPU *cpu, const Insn *in) {
    unsigned src = (in->op & 1) ? 2 : 1;
    reg_write(cpu, in->reg, in->osize, rm_read(cpu, in, src));
}

void op_movsx(CPU *cpu, const Insn *in) {
    unsigned src = (in->op & 1) ? 2 : 1;
    reg_write(cpu, in->reg, in->osize, sext(rm_read(cpu, in, src), src));
}

void op_xchg_rm_r(CPU *cpu, const Insn *in) {
    RmRef r = rm_ref(cpu, in, in->size);
    uint32_t a = ref_read(cpu, &r, in->size), b = reg_read(cpu, in->reg, in->size);
    ref_write(cpu, &r, in->size, b);
    reg_write(cpu, in->reg, in->size, a);
}

void op_xchg_r_acc(CPU *cpu, const Insn *in) {
    int r = in->op & 7;
    uint32_t a = reg_read(cpu, R_EAX, in->osize), b = reg_read(cpu, r, in->osize);
    reg_write(cpu, R_EAX, in->osize, b);
    reg_write(cpu, r, in->osize, a);
}

void op_nop(CPU *cpu, const Insn *in) {
    (void)cpu;
    (void)in;
}

static uint32_t addr_mask(const Insn *in) { return in->asize == 2 ? 0xFFFFu : 0xFFFFFFFFu; }

void op_xlat(CPU *cpu, const Insn *in) {
    uint32_t ea = (cpu->regs[R_EBX] + (cpu->regs[R_EAX] & 0xFF)) & addr_mask(in);
    reg_write(cpu, R_EAX, 1, mem_read(cpu, in->seg, ea, 1));
}

/* ---------------- stack ---------------- */

void op_push_r(CPU *cpu, const Insn *in) { push(cpu, in->osize, reg_read(cpu, in->op & 7, in->osize)); }

void op_pop_r(CPU *cpu, const Insn *in) {
    uint32_t v = pop(cpu, in->osize);
    reg_write(cpu, in->op & 7, in->osize, v);
}

void op_push_imm(CPU *cpu, const Insn *in) { push(cpu, in->osize, in->imm); }

void op_push_rm(CPU *cpu, const Insn *in) { push(cpu, in->osize, rm_read(cpu, in, in->osize)); }

void op_pop_rm(CPU *cpu, const Insn *in) {
    unsigned size = in->osize;
    uint32_t v = stack_peek(cpu, 0, size);
    if (!in->is_mem) {
        sp_add(cpu, size);
        reg_write(cpu, in->rm, size, v);
        return;
    }
    /* The address is computed with ESP already incremented (SDM POP). */
    uint32_t saved = cpu->regs[R_ESP];
    sp_add(cpu, size);
    uint32_t ea = insn_ea(cpu, in);
    cpu->regs[R_ESP] = saved;
    mem_write(cpu, in->seg, ea, size, v);
    sp_add(cpu, size);
}

static int sreg_of_push_pop(uint16_t op) {
    switch (op) {
    case 0x1A0: case 0x1A1: return SEG_FS;
    case 0x1A8: case 0x1A9: return SEG_GS;
    default: return (op >> 3) & 3; /* 06/07 ES, 0E CS, 16/17 SS, 1E/1F DS */
    }
}

void op_push_sreg(CPU *cpu, const Insn *in) {
    uint16_t sel = cpu->seg[sreg_of_push_pop(in->op)].sel;
    if (in->osize == 2) {
        push(cpu, 2, sel);
        return;
    }
    /* 32-bit: the slot is 4 bytes, but P6 writes only the low 16 bits. */
    uint32_t m = stack_mask(cpu);
    uint32_t sp = (cpu->regs[R_ESP] - 4) & m;
    uint32_t lin = seg_lin(cpu, SEG_SS, sp, 4, ACC_W);
    lin_write(cpu, lin, 2, sel, ACC_W);
    cpu->regs[R_ESP] = (cpu->regs[R_ESP] & ~m) | sp;
}

void op_pop_sreg(CPU *cpu, const Insn *in) {
    uint32_t v = stack_peek(cpu, 0, in->osize);
    seg_load(cpu, sreg_of_push_pop(in->op), (uint16_t)v);
    sp_add(cpu, in->osize);
}

void op_pusha(CPU *cpu, const Insn *in) {
    unsigned size = in->osize;
    uint32_t m = stack_mask(cpu), esp = cpu->regs[R_ESP];
    uint32_t lins[8];
    for (int i = 0; i < 8; i++) {
        uint32_t sp = (esp - (uint32_t)(i + 1) * size) & m;
        lins[i] = seg_lin(cpu, SEG_SS, sp, size, ACC_W);
        lin_probe_write(cpu, lins[i], size, ACC_W);
    }
    for (int r = 0; r < 8; r++) lin_write(cpu, lins[r], size, reg_read(cpu, r, size), ACC_W);
    cpu->regs[R_ESP] = (esp & ~m) | ((esp - 8 * size) & m);
}

void op_popa(CPU *cpu, const Insn *in) {
    unsigned size = in->osize;
    uint32_t v[8];
    for (int i = 0; i < 8; i++) v[i] = stack_peek(cpu, (uint32_t)i * size, size);
    for (int i = 0; i < 8; i++) {
        int r = R_EDI - i;
        if (r != R_ESP) reg_write(cpu, r, size, v[i]);
    }
    sp_add(cpu, 8 * size);
}

void op_enter(CPU *cpu, const Insn *in) {
    unsigned size = in->osize, level = in->imm2 & 0x1F;
    uint32_t m = stack_mask(cpu);
    unsigned bp_size = cpu_stack32(cpu) ? 4 : 2;
    push(cpu, size, reg_read(cpu, R_EBP, size));
    uint32_t frame = cpu->regs[R_ESP] & m;
    if (level > 0) {
        for (unsigned i = 1; i < level; i++) {
            uint32_t bp = (reg_read(cpu, R_EBP, bp_size) - size) & m;
            reg_write(cpu, R_EBP, bp_size, bp);
            push(cpu, size, mem_read(cpu, SEG_SS, bp, size));
        }
        push(cpu, size, frame);
    }
    reg_write(cpu, R_EBP, size, frame);
    sp_add(cpu, (uint32_t)-(in->imm & 0xFFFF));
}

void op_leave(CPU *cpu, const Insn *in) {
    uint32_t m = stack_mask(cpu);
    uint32_t bp = cpu->regs[R_EBP] & m;
    uint32_t v = mem_read(cpu, SEG_SS, bp, in->osize);
    cpu->regs[R_ESP] = (cpu->regs[R_ESP] & ~m) | ((bp + in->osize) & m);
    reg_write(cpu, R_EBP, in->osize, v);
}

void op_bound(CPU *cpu, const Insn *in) {
    if (!in->is_mem) cpu_ud(cpu);
    unsigned size = in->osize;
    uint32_t ea = insn_ea(cpu, in);
    int32_t idx = (int32_t)sext(reg_read(cpu, in->reg, size), size);
    int32_t lo = (int32_t)sext(mem_read(cpu, in->seg, ea, size), size);
    int32_t hi = (int32_t)sext(mem_read(cpu, in->seg, (ea + size) & addr_mask(in), size), size);
    if (idx < lo || idx > hi) cpu_raise(cpu, EXC_BR, -1);
}

void op_load_far_ptr(CPU *cpu, const Insn *in) {
    if (!in->is_mem) cpu_ud(cpu);
    int sreg;
    switch (in->op) {
    case 0xC4: sreg = SEG_ES; break;
    case 0xC5: sreg = SEG_DS; break;
    case 0x1B2: sreg = SEG_SS; break;
    case 0x1B4: sreg = SEG_FS; break;
    default: sreg = SEG_GS; break;
    }
    uint32_t ea = insn_ea(cpu, in);
    uint32_t off = mem_read(cpu, in->seg, ea, in->osize);
    uint16_t sel = (uint16_t)mem_read(cpu, in->seg, (ea + in->osize) & addr_mask(in), 2);
    seg_load(cpu, sreg, sel);
    reg_write(cpu, in->reg, in->osize, off);
}

/* ---------------- string instructions ---------------- */

/* Index registers (E)SI/(E)DI and the count (E)CX by address size. */
static uint32_t idx(const CPU *cpu, const Insn *in, int r) { return cpu->regs[r] & addr_mask(in); }

static void idx_step(CPU *cpu, const Insn *in, int r) {
    uint32_t m = addr_mask(in);
    uint32_t delta = (cpu->eflags & FL_DF) ? (uint32_t)-in->size : in->size;
    cpu->regs[r] = (cpu->regs[r] & ~m) | ((cpu->regs[r] + delta) & m);
}

typedef void (*StringStep)(CPU *cpu, const Insn *in);

static void step_movs(CPU *cpu, const Insn *in) {
    uint32_t v = mem_read(cpu, in->seg, idx(cpu, in, R_ESI), in->size);
    mem_write(cpu, SEG_ES, idx(cpu, in, R_EDI), in->size, v);
    idx_step(cpu, in, R_ESI);
    idx_step(cpu, in, R_EDI);
}

static void step_cmps(CPU *cpu, const Insn *in) {
    uint32_t a = mem_read(cpu, in->seg, idx(cpu, in, R_ESI), in->size);
    uint32_t b = mem_read(cpu, SEG_ES, idx(cpu, in, R_EDI), in->size);
    lf_set(cpu, CC_SUB, in->size, a - b, a, b);
    idx_step(cpu, in, R_ESI);
    idx_step(cpu, in, R_EDI);
}

static void step_stos(CPU *cpu, const Insn *in) {
    mem_write(cpu, SEG_ES, idx(cpu, in, R_EDI), in->size, reg_read(cpu, R_EAX, in->size));
    idx_step(cpu, in, R_EDI);
}

static void step_lods(CPU *cpu, const Insn *in) {
    reg_write(cpu, R_EAX, in->size, mem_read(cpu, in->seg, idx(cpu, in, R_ESI), in->size));
    idx_step(cpu, in, R_ESI);
}

static void step_scas(CPU *cpu, const Insn *in) {
    uint32_t a = reg_read(cpu, R_EAX, in->size);
    uint32_t b = mem_read(cpu, SEG_ES, idx(cpu, in, R_EDI), in->size);
    lf_set(cpu, CC_SUB, in->size, a - b, a, b);
    idx_step(cpu, in, R_EDI);
}

static void step_ins(CPU *cpu, const Insn *in) {
    uint16_t port = (uint16_t)cpu->regs[R_EDX];
    io_check(cpu, port, in->size);
    uint32_t lin = seg_lin(cpu, SEG_ES, idx(cpu, in, R_EDI), in->size, ACC_W);
    lin_probe_write(cpu, lin, in->size, ACC_W); /* fault before the port is read */
    lin_write(cpu, lin, in->size, io_in(cpu, port, in->size), ACC_W);
    idx_step(cpu, in, R_EDI);
}

static void step_outs(CPU *cpu, const Insn *in) {
    uint16_t port = (uint16_t)cpu->regs[R_EDX];
    io_check(cpu, port, in->size);
    uint32_t v = mem_read(cpu, in->seg, idx(cpu, in, R_ESI), in->size);
    io_out(cpu, port, in->size, v);
    idx_step(cpu, in, R_ESI);
}

/* Iterations per execution of a REP instruction before it lets the run
 * loop take interrupts (it then restarts itself at the same EIP). */
#define REP_BATCH 4096

/* The REP skeleton shared by all string instructions. For CMPS/SCAS
 * (`conditional`), REPE stops when ZF = 0 and REPNE when ZF = 1. */
static void string_op(CPU *cpu, const Insn *in, StringStep step, bool conditional) {
    if (in->rep == REP_NONE) {
        step(cpu, in);
        return;
    }
    uint32_t m = addr_mask(in);
    for (int n = 0; n < REP_BATCH; n++) {
        uint32_t count = cpu->regs[R_ECX] & m;
        if (count == 0) return;
        step(cpu, in);
        cpu->regs[R_ECX] = (cpu->regs[R_ECX] & ~m) | ((count - 1) & m);
        if (conditional) {
            bool zf = cpu_cond(cpu, 4);
            if ((in->rep == REP_E && !zf) || (in->rep == REP_NE && zf)) return;
        }
    }
    if (cpu->regs[R_ECX] & m) cpu->next_eip = cpu->eip; /* more to do: restart */
}

void op_movs(CPU *cpu, const Insn *in) { string_op(cpu, in, step_movs, false); }
void op_cmps(CPU *cpu, const Insn *in) { string_op(cpu, in, step_cmps, true); }
void op_stos(CPU *cpu, const Insn *in) { string_op(cpu, in, step_stos, false); }
void op_lods(CPU *cpu, const Insn *in) { string_op(cpu, in, step_lods, false); }
void op_scas(CPU *cpu, const Insn *in) { string_op(cpu, in, step_scas, true); }
void op_ins(CPU *cpu, const Insn *in) { string_op(cpu, in, step_ins, false); }
void op_outs(CPU *cpu, const Insn *in) { string_op(cpu, in, step_outs, false); }
