/*
 * operand.c - operands of a decoded instruction and the stack.
 *
 * insn_ea() turns the decoder's base/index/scale/displacement into an
 * effective offset; rm_*() read and write the ModRM r/m operand whether it
 * is a register or memory; rm_ref() prepares a read-modify-write operand by
 * checking write access first; push/pop/stack_peek implement the stack with
 * SS's B bit choosing SP or ESP.
 */
#include "cpu/core.h"

uint32_t insn_ea(const CPU *cpu, const Insn *in) {
    uint32_t ea = in->disp;
    if (in->ea_base != EA_NOREG) ea += cpu->regs[in->ea_base];
    if (in->ea_index != EA_NOREG) ea += cpu->regs[in->ea_index] << in->ea_scale;
    return in->asize == 2 ? (ea & 0xFFFF) : ea;
}

uint32_t rm_read(CPU *cpu, const Insn *in, unsigned size) {
    if (!in->is_mem) return reg_read(cpu, in->rm, size);
    return mem_read(cpu, in->seg, insn_ea(cpu, in), size);
}

void rm_write(CPU *cpu, const Insn *in, unsigned size, uint32_t val) {
    if (!in->is_mem) reg_write(cpu, in->rm, size, val);
    else mem_write(cpu, in->seg, insn_ea(cpu, in), size, val);
}

RmRef rm_ref(CPU *cpu, const Insn *in, unsigned size) {
    RmRef r = {.mem = in->is_mem, .reg = in->rm, .lin = 0, .host = NULL};
    if (r.mem) {
        r.lin = seg_lin(cpu, in->seg, insn_ea(cpu, in), size, ACC_W);
        r.host = lin_rmw_ptr(cpu, r.lin, size, ACC_W);
    }
    return r;
}

uint32_t ref_read(CPU *cpu, const RmRef *r, unsigned size) {
    if (!r->mem) return reg_read(cpu, r->reg, size);
    if (r->host) {
        const uint8_t *p = r->host;
        if (size == 1) return p[0];
        if (size == 2) return (uint32_t)p[0] | (uint32_t)p[1] << 8;
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    return lin_read(cpu, r->lin, size, ACC_R);
}

void ref_write(CPU *cpu, const RmRef *r, unsigned size, uint32_t val) {
    if (!r->mem) {
        reg_write(cpu, r->reg, size, val);
    } else if (r->host) {
        uint8_t *p = r->host;
        p[0] = (uint8_t)val;
        if (size >= 2) p[1] = (uint8_t)(val >> 8);
        if (size == 4) {
            p[2] = (uint8_t)(val >> 16);
            p[3] = (uint8_t)(val >> 24);
        }
    } else {
        lin_write(cpu, r->lin, size, val, ACC_W);
    }
}

void push(CPU *cpu, unsigned size, uint32_t val) {
    uint32_t m = stack_mask(cpu);
    uint32_t sp = (cpu->regs[R_ESP] - size) & m;
    lin_write(cpu, seg_lin(cpu, SEG_SS, sp, size, ACC_W), size, val, ACC_W);
    cpu->regs[R_ESP] = (cpu->regs[R_ESP] & ~m) | sp;
}

uint32_t stack_peek(CPU *cpu, uint32_t offset, unsigned size) {
    uint32_t sp = (cpu->regs[R_ESP] + offset) & stack_mask(cpu);
    return lin_read(cpu, seg_lin(cpu, SEG_SS, sp, size, ACC_R), size, ACC_R);
}

uint32_t pop(CPU *cpu, unsigned size) {
    uint32_t v = stack_peek(cpu, 0, size);
    sp_add(cpu, size);
    return v;
}
