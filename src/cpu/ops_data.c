/*
 * ops_data.c - data movement: MOV in all forms, MOVZX/MOVSX, LEA, XCHG,
 * XLAT, the stack (PUSH/POP of registers, memory, immediates and segment
 * registers, PUSHA/POPA, ENTER/LEAVE), BOUND, far-pointer loads, and the
 * string instructions with their REP prefixes.
 *
 * Multi-step stack instructions (PUSHA/POPA, ENTER, POP r/m, POP Sreg)
 * check every slot (or read every value) before changing ESP or EBP, so a
 * fault leaves the registers untouched and the instruction restartable.
 * String instructions commit per iteration and run REP in bounded batches.
 *
 * Use: decode.c maps opcodes to these handlers (declared in cpu/ops.h).
 */
#include <string.h>

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

/* The increment belongs to the pop: it uses the stack size before the load,
 * which POP SS may change, and is committed only once the load succeeded. */
void op_pop_sreg(CPU *cpu, const Insn *in) {
    uint32_t v = stack_peek(cpu, 0, in->osize);
    uint32_t esp = sp_plus(cpu, in->osize);
    seg_load(cpu, sreg_of_push_pop(in->op), (uint16_t)v);
    cpu->regs[R_ESP] = esp;
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

/* Most slots ENTER writes: (E)BP, up to 31 outer frame pointers, FrameTemp. */
#define ENTER_MAX_SLOTS 33

/* ENTER per the SDM: push (E)BP, copy level-1 outer frame pointers from
 * the old frame, push FrameTemp, then allocate. A first pass checks every
 * read, every slot written and (as the P6 does) the final (E)SP for
 * writing; the second pass performs the copy in the architectural order.
 * So a fault leaves ESP, EBP and memory unchanged. */
void op_enter(CPU *cpu, const Insn *in) {
    unsigned size = in->osize, level = in->imm2 & 0x1F;
    unsigned slots = level > 0 ? level + 1 : 1;
    uint32_t m = stack_mask(cpu);
    uint32_t sp = cpu->regs[R_ESP] & m;
    /* FrameTemp is (E)SP after the first push, taken by operand size (SDM). */
    uint32_t frame = ((cpu->regs[R_ESP] & ~m) | ((sp - size) & m)) & size_mask(size);
    uint32_t src[ENTER_MAX_SLOTS], dst[ENTER_MAX_SLOTS];
    uint32_t bp = cpu->regs[R_EBP] & m; /* a copy: EBP itself changes only at the end */
    for (unsigned i = 1; i < level; i++) {
        bp = (bp - size) & m;
        src[i] = seg_lin(cpu, SEG_SS, bp, size, ACC_R);
        lin_read(cpu, src[i], size, ACC_R);
    }
    for (unsigned i = 0; i < slots; i++) {
        dst[i] = seg_lin(cpu, SEG_SS, (sp - (i + 1) * size) & m, size, ACC_W);
        lin_probe_write(cpu, dst[i], size, ACC_W);
    }
    uint32_t final_sp = (sp - slots * size - (in->imm & 0xFFFF)) & m;
    lin_probe_write(cpu, seg_lin(cpu, SEG_SS, final_sp, size, ACC_W), size, ACC_W);

    lin_write(cpu, dst[0], size, reg_read(cpu, R_EBP, size), ACC_W);
    for (unsigned i = 1; i < level; i++)
        lin_write(cpu, dst[i], size, lin_read(cpu, src[i], size, ACC_R), ACC_W);
    if (level > 0) lin_write(cpu, dst[level], size, frame, ACC_W);
    reg_write(cpu, R_EBP, size, frame);
    cpu->regs[R_ESP] = (cpu->regs[R_ESP] & ~m) | final_sp;
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
    cpu->shadow_set = false; /* only MOV SS and POP SS inhibit interrupts, not LSS */
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

/* INS/OUTS: the port permission (io_check) is checked once per call, by string_op. */
static void step_ins(CPU *cpu, const Insn *in) {
    uint16_t port = (uint16_t)cpu->regs[R_EDX];
    uint32_t lin = seg_lin(cpu, SEG_ES, idx(cpu, in, R_EDI), in->size, ACC_W);
    lin_probe_write(cpu, lin, in->size, ACC_W); /* fault before the port is read */
    lin_write(cpu, lin, in->size, io_in(cpu, port, in->size), ACC_W);
    idx_step(cpu, in, R_EDI);
}

static void step_outs(CPU *cpu, const Insn *in) {
    uint16_t port = (uint16_t)cpu->regs[R_EDX];
    uint32_t v = mem_read(cpu, in->seg, idx(cpu, in, R_ESI), in->size);
    io_out(cpu, port, in->size, v);
    idx_step(cpu, in, R_ESI);
}

/* What distinguishes one string instruction from another for the shared
 * REP skeleton: the per-iteration operation, whether REPE/REPNE test ZF
 * (CMPS, SCAS), and whether it accesses an I/O port (INS, OUTS). */
typedef struct StringKind {
    StringStep step;
    bool conditional;
    bool io;
} StringKind;

/* Iterations per execution of a REP instruction before it lets the run
 * loop take interrupts (it then restarts itself at the same EIP). With TF
 * set, every iteration is its own step, so single-step traps come after
 * each iteration as on hardware. */
#define REP_BATCH 4096

/* REP MOVS/STOS fast path: up to `left` elements that stay inside one page
 * of plain RAM on each side, copied or filled through host pointers, in
 * the order the element loop would (forward, so overlapping MOVS repeats
 * its pattern as on hardware). Only in the simple case: 32-bit addresses,
 * DF = 0, no data breakpoints, no alignment checking, segments certainly
 * valid for the whole run. Returns the elements done (0: use the loop). */
static uint32_t string_bulk(CPU *cpu, const Insn *in, bool movs, uint32_t left) {
    unsigned size = in->size;
    if (in->asize != 4 || (cpu->eflags & FL_DF) || debug_data_armed(cpu) ||
        (cpu->cpl == 3 && (cpu->cr0 & CR0_AM) && (cpu->eflags & FL_AC)))
        return 0;
    uint32_t n = cpu->regs[R_ECX];
    if (n > left) n = left;
    uint32_t di = cpu->regs[R_EDI], dlin = cpu->seg[SEG_ES].base + di;
    uint32_t room = (0x1000 - (dlin & 0xFFF)) / size;
    if (n > room) n = room;
    uint32_t si = cpu->regs[R_ESI], slin = cpu->seg[in->seg].base + si;
    if (movs) {
        room = (0x1000 - (slin & 0xFFF)) / size;
        if (n > room) n = room;
    }
    if (n == 0 || !seg_range_ok(cpu, SEG_ES, di, n * size, ACC_W) ||
        (movs && !seg_range_ok(cpu, in->seg, si, n * size, ACC_R)))
        return 0;
    const uint8_t *src = NULL;
    if (movs && !(src = lin_host_range(cpu, slin, n * size, ACC_R))) return 0;
    uint8_t *dst = lin_host_range(cpu, dlin, n * size, ACC_W);
    if (!dst) return 0;
    if (movs) {
        for (uint32_t i = 0; i < n * size; i += size) memmove(dst + i, src + i, size);
        cpu->regs[R_ESI] = si + n * size;
    } else {
        uint8_t v[4];
        for (unsigned b = 0; b < 4; b++) v[b] = (uint8_t)(cpu->regs[R_EAX] >> (8 * b)); /* little endian */
        for (uint32_t i = 0; i < n * size; i += size) memcpy(dst + i, v, size);
    }
    cpu->regs[R_EDI] = di + n * size;
    cpu->regs[R_ECX] -= n;
    return n;
}

/* The REP skeleton shared by all string instructions. Each iteration
 * commits its index registers and then the count, so a fault leaves a
 * consistent state with EIP at the instruction. For conditional kinds,
 * REPE stops when ZF = 0 and REPNE when ZF = 1. */
static void string_op(CPU *cpu, const Insn *in, const StringKind *k) {
    uint32_t m = addr_mask(in);
    bool rep = in->rep != REP_NONE;
    if (rep && (cpu->regs[R_ECX] & m) == 0) return;
    if (k->io) io_check(cpu, (uint16_t)cpu->regs[R_EDX], in->size);
    if (!rep) {
        k->step(cpu, in);
        return;
    }
    bool bulk = k->step == step_movs || k->step == step_stos;
    uint32_t left = (cpu->eflags & FL_TF) ? 1 : REP_BATCH;
    while (left > 0) {
        if (bulk && left > 1) {
            uint32_t n = string_bulk(cpu, in, k->step == step_movs, left);
            if (n) {
                left -= n;
                if ((cpu->regs[R_ECX] & m) == 0) return;
                continue;
            }
        }
        uint32_t count = cpu->regs[R_ECX] & m;
        k->step(cpu, in);
        cpu->regs[R_ECX] = (cpu->regs[R_ECX] & ~m) | ((count - 1) & m);
        if (count == 1) return;
        if (k->conditional) {
            bool zf = cpu_cond(cpu, 4);
            if ((in->rep == REP_E && !zf) || (in->rep == REP_NE && zf)) return;
        }
        left--;
    }
    cpu->next_eip = cpu->eip; /* more to do: the run loop executes it again */
}

#define STRING_OP(name, stepfn, cond, is_io)                          \
    void name(CPU *cpu, const Insn *in) {                             \
        static const StringKind kind = {stepfn, cond, is_io};         \
        string_op(cpu, in, &kind);                                    \
    }

STRING_OP(op_movs, step_movs, false, false)
STRING_OP(op_cmps, step_cmps, true, false)
STRING_OP(op_stos, step_stos, false, false)
STRING_OP(op_lods, step_lods, false, false)
STRING_OP(op_scas, step_scas, true, false)
STRING_OP(op_ins, step_ins, false, true)
STRING_OP(op_outs, step_outs, false, true)
