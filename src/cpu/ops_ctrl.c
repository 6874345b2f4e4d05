/*
 * ops_ctrl.c - control transfers: Jcc, JMP, CALL, RET, LOOP, JCXZ (near,
 * within the current code segment), the far forms (which hand over to
 * seg.c), software interrupts (which hand over to except.c), and the
 * undefined-opcode handler.
 *
 * A near branch checks the target against the CS limit (#GP(0)) before any
 * state changes, truncates it to 16 bits for a 16-bit operand size, and
 * writes cpu->next_eip.
 */
#include "cpu/ops.h"

static void near_branch(CPU *cpu, uint32_t target, unsigned osize) {
    if (osize == 2) target &= 0xFFFF;
    if (target > cpu->seg[SEG_CS].limit) cpu_gp0(cpu);
    cpu->next_eip = target;
}

static uint32_t rel_target(const CPU *cpu, const Insn *in) { return cpu->next_eip + in->imm; }

void op_jcc(CPU *cpu, const Insn *in) {
    if (cpu_cond(cpu, in->op & 0xF)) near_branch(cpu, rel_target(cpu, in), in->osize);
}

void op_jmp_rel(CPU *cpu, const Insn *in) { near_branch(cpu, rel_target(cpu, in), in->osize); }

void op_call_rel(CPU *cpu, const Insn *in) {
    uint32_t ret = cpu->next_eip;
    near_branch(cpu, rel_target(cpu, in), in->osize);
    push(cpu, in->osize, ret);
}

void op_jmp_rm(CPU *cpu, const Insn *in) { near_branch(cpu, rm_read(cpu, in, in->osize), in->osize); }

void op_call_rm(CPU *cpu, const Insn *in) {
    uint32_t ret = cpu->next_eip;
    near_branch(cpu, rm_read(cpu, in, in->osize), in->osize);
    push(cpu, in->osize, ret);
}

void op_ret_near(CPU *cpu, const Insn *in) {
    uint32_t target = stack_peek(cpu, 0, in->osize);
    near_branch(cpu, target, in->osize);
    sp_add(cpu, in->osize + (in->op == 0xC2 ? (in->imm & 0xFFFF) : 0));
}

/* The count register of LOOP/JCXZ: CX or ECX by address size. */
static uint32_t count_read(const CPU *cpu, const Insn *in) {
    return in->asize == 2 ? cpu->regs[R_ECX] & 0xFFFF : cpu->regs[R_ECX];
}

void op_loop(CPU *cpu, const Insn *in) {
    uint32_t count = (count_read(cpu, in) - 1) & (in->asize == 2 ? 0xFFFF : 0xFFFFFFFFu);
    bool take = count != 0;
    if (in->op == 0xE0) take = take && !cpu_cond(cpu, 4); /* LOOPNE: ZF = 0 */
    if (in->op == 0xE1) take = take && cpu_cond(cpu, 4);  /* LOOPE: ZF = 1 */
    if (take) near_branch(cpu, rel_target(cpu, in), in->osize);
    reg_write(cpu, R_ECX, in->asize, count);
}

void op_jcxz(CPU *cpu, const Insn *in) {
    if (count_read(cpu, in) == 0) near_branch(cpu, rel_target(cpu, in), in->osize);
}

void op_jmp_far_imm(CPU *cpu, const Insn *in) { cpu_jmp_far(cpu, (uint16_t)in->imm2, in->imm); }

void op_call_far_imm(CPU *cpu, const Insn *in) {
    cpu_call_far(cpu, (uint16_t)in->imm2, in->imm, in->osize);
}

/* The m16:16 / m16:32 far pointer operand of FF /3 and FF /5. */
static void read_far_ptr(CPU *cpu, const Insn *in, uint16_t *sel, uint32_t *off) {
    if (!in->is_mem) cpu_ud(cpu);
    uint32_t ea = insn_ea(cpu, in);
    *off = mem_read(cpu, in->seg, ea, in->osize);
    *sel = (uint16_t)mem_read(cpu, in->seg, (ea + in->osize) & (in->asize == 2 ? 0xFFFF : ~0u), 2);
}

void op_jmp_far_rm(CPU *cpu, const Insn *in) {
    uint16_t sel;
    uint32_t off;
    read_far_ptr(cpu, in, &sel, &off);
    cpu_jmp_far(cpu, sel, off);
}

void op_call_far_rm(CPU *cpu, const Insn *in) {
    uint16_t sel;
    uint32_t off;
    read_far_ptr(cpu, in, &sel, &off);
    cpu_call_far(cpu, sel, off, in->osize);
}

void op_ret_far(CPU *cpu, const Insn *in) {
    cpu_ret_far(cpu, in->osize, in->op == 0xCA ? (uint16_t)in->imm : 0);
}

void op_iret(CPU *cpu, const Insn *in) {
    cpu_iret(cpu, in->osize);
    cpu->nmi_blocked = false; /* IRET ends the NMI handler's blocking */
}

void op_int(CPU *cpu, const Insn *in) { cpu_deliver(cpu, in->imm & 0xFF, -1, INT_SOFTWARE); }

void op_int3(CPU *cpu, const Insn *in) {
    (void)in;
    cpu_deliver(cpu, EXC_BP, -1, INT_SOFT_EXC);
}

void op_into(CPU *cpu, const Insn *in) {
    (void)in;
    if (cpu_cond(cpu, 0)) cpu_deliver(cpu, EXC_OF, -1, INT_SOFT_EXC);
}

void op_int1(CPU *cpu, const Insn *in) {
    (void)in;
    cpu_deliver(cpu, EXC_DB, -1, INT_ICEBP);
}

void op_ud(CPU *cpu, const Insn *in) {
    (void)in;
    cpu_ud(cpu);
}
