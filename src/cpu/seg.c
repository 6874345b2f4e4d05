/*
 * seg.c - segmentation: descriptor reads, segment-register loads with the
 * protected-mode checks, and the far control transfers (JMP, CALL, RET,
 * IRET) in real, protected and virtual-8086 mode, including call gates,
 * task gates and TSS targets, privilege changes with stack switches, and
 * IRET to an outer level or to V86 mode.
 *
 * Every transfer reads and checks everything it needs (descriptors, stack
 * slots) before it changes any state, so a fault leaves the CPU as it was.
 * Error codes follow the SDM: a selector error code is the selector with
 * its RPL bits cleared (plus EXT where the event was external).
 */
#include "cpu/seg_internal.h"

#include "cpu/ops.h"

/* ---------------- descriptors ---------------- */

bool desc_read(CPU *cpu, uint16_t sel, uint32_t *lo, uint32_t *hi) {
    uint32_t base, limit;
    if (sel & 4) {
        if ((cpu->ldtr.sel & 0xFFFC) == 0 || !(cpu->ldtr.flags & SF_P)) return false;
        base = cpu->ldtr.base;
        limit = cpu->ldtr.limit;
    } else {
        base = cpu->gdtr.base;
        limit = cpu->gdtr.limit;
    }
    uint32_t off = sel & ~7u;
    if (off + 7 > limit) return false;
    *lo = lin_read(cpu, base + off, 4, ACC_R | ACC_SYS);
    *hi = lin_read(cpu, base + off + 4, 4, ACC_R | ACC_SYS);
    return true;
}

void desc_to_seg(SegReg *s, uint16_t sel, uint32_t lo, uint32_t hi) {
    s->sel = sel;
    s->base = (lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000u);
    uint32_t limit = (lo & 0xFFFF) | (hi & 0xF0000u);
    if (hi & 0x00800000u) limit = (limit << 12) | 0xFFF;
    s->limit = limit;
    s->flags = (hi >> 8) & 0xF0FF;
}

uint32_t desc_limit(uint32_t lo, uint32_t hi) {
    uint32_t limit = (lo & 0xFFFF) | (hi & 0xF0000u);
    return (hi & 0x00800000u) ? (limit << 12) | 0xFFF : limit;
}

void desc_set_accessed(CPU *cpu, uint16_t sel, uint32_t *hi) {
    if (*hi & 0x100) return;
    *hi |= 0x100;
    uint32_t base = (sel & 4) ? cpu->ldtr.base : cpu->gdtr.base;
    lin_write(cpu, base + (sel & ~7u) + 4, 4, *hi, ACC_W | ACC_SYS);
}

noreturn void raise_sel(CPU *cpu, int vector, uint16_t sel, int ext) {
    cpu_raise(cpu, vector, (sel & 0xFFFC) | (ext ? 1 : 0));
}

/* Real-mode / V86 load: base = sel << 4. V86 forces a 64 KiB, DPL 3 segment. */
void seg_load_real(CPU *cpu, int sreg, uint16_t sel) {
    SegReg *s = &cpu->seg[sreg];
    s->sel = sel;
    s->base = (uint32_t)sel << 4;
    if (cpu_v86(cpu)) {
        s->limit = 0xFFFF;
        s->flags = sreg == SEG_CS ? 0xFB : 0xF3;
    }
}

/* Check and load a data segment register (DS/ES/FS/GS) in protected mode.
 * vec_gp/vec_np let task switches raise #TS instead of #GP. */
void seg_load_data_pm(CPU *cpu, int sreg, uint16_t sel, int vec_gp, int vec_np) {
    SegReg *s = &cpu->seg[sreg];
    if ((sel & 0xFFFC) == 0) { /* null: loads, but any use faults */
        s->sel = sel;
        s->base = 0;
        s->limit = 0;
        s->flags = 0;
        return;
    }
    uint32_t lo, hi;
    if (!desc_read(cpu, sel, &lo, &hi)) raise_sel(cpu, vec_gp, sel, 0);
    uint32_t type = (hi >> 8) & 0x1F; /* S bit + type */
    int dpl = (hi >> 13) & 3, rpl = sel & 3;
    if (!(type & 0x10)) raise_sel(cpu, vec_gp, sel, 0);                  /* system */
    if ((type & ST_CODE) && !(type & ST_READABLE)) raise_sel(cpu, vec_gp, sel, 0); /* exec-only */
    bool conforming_code = (type & ST_CODE) && (type & ST_CONFORM);
    if (!conforming_code && (rpl > dpl || cpu->cpl > dpl)) raise_sel(cpu, vec_gp, sel, 0);
    if (!(hi & 0x8000)) raise_sel(cpu, vec_np, sel, 0);
    desc_set_accessed(cpu, sel, &hi);
    desc_to_seg(s, sel, lo, hi);
}

/* Check an SS selector for privilege level `pl`; returns the descriptor. */
void check_ss(CPU *cpu, uint16_t sel, int pl, uint32_t *lo, uint32_t *hi, int vec_gp, int ext) {
    if ((sel & 0xFFFC) == 0) cpu_raise(cpu, vec_gp, ext ? 1 : 0);
    if (!desc_read(cpu, sel, lo, hi)) raise_sel(cpu, vec_gp, sel, ext);
    uint32_t type = (*hi >> 8) & 0x1F;
    int dpl = (*hi >> 13) & 3;
    if ((sel & 3) != pl || dpl != pl || (type & 0x1A) != 0x12) /* writable data, S=1 */
        raise_sel(cpu, vec_gp, sel, ext);
    if (!(*hi & 0x8000)) raise_sel(cpu, EXC_SS, sel, ext);
}

void seg_load(CPU *cpu, int sreg, uint16_t sel) {
    if (!cpu_pe(cpu) || cpu_v86(cpu)) {
        seg_load_real(cpu, sreg, sel);
    } else if (sreg == SEG_SS) {
        uint32_t lo, hi;
        check_ss(cpu, sel, cpu->cpl, &lo, &hi, EXC_GP, 0);
        desc_set_accessed(cpu, sel, &hi);
        desc_to_seg(&cpu->seg[SEG_SS], sel, lo, hi);
    } else {
        seg_load_data_pm(cpu, sreg, sel, EXC_GP, EXC_NP);
    }
    if (sreg == SEG_SS) cpu->shadow_set = true;
}

/* ---------------- stack frames ---------------- */

/* Linear address of a stack slot in segment `ss` (not necessarily loaded),
 * with the limit checks of a stack access; raises #SS(err). */
static uint32_t stack_slot(CPU *cpu, const SegReg *ss, uint32_t off, unsigned size, int err) {
    uint32_t last = off + size - 1;
    bool bad;
    if (ss->flags & ST_EXPDOWN) {
        uint32_t upper = (ss->flags & SF_DB) ? 0xFFFFFFFFu : 0xFFFFu;
        bad = off <= ss->limit || last > upper || last < off;
    } else {
        bad = last > ss->limit || last < off;
    }
    if (cpu_pe(cpu) && !cpu_v86(cpu) && bad) cpu_raise(cpu, EXC_SS, err);
    if ((!cpu_pe(cpu) || cpu_v86(cpu)) && (last > ss->limit || last < off)) cpu_raise(cpu, EXC_SS, 0);
    return ss->base + off;
}

void frame_push(CPU *cpu, const SegReg *ss, uint32_t *esp, const uint32_t *vals, int n,
                unsigned size, int acc, int err) {
    uint32_t m = (ss->flags & SF_DB) ? 0xFFFFFFFFu : 0xFFFFu;
    uint32_t lins[40];
    uint32_t sp = *esp;
    for (int i = 0; i < n; i++) {
        sp = (sp - size) & m;
        lins[i] = stack_slot(cpu, ss, sp, size, err);
        lin_probe_write(cpu, lins[i], size, acc);
    }
    for (int i = 0; i < n; i++) lin_write(cpu, lins[i], size, vals[i], acc);
    *esp = (*esp & ~m) | sp;
}

/* Read `n` stack values of `size` bytes starting at ESP + offset. */
static void frame_peek(CPU *cpu, uint32_t offset, uint32_t *vals, int n, unsigned size) {
    for (int i = 0; i < n; i++) vals[i] = stack_peek(cpu, offset + (uint32_t)i * size, size);
}

/* ---------------- far JMP / CALL ---------------- */

static void check_eip_limit(CPU *cpu, uint32_t eip, uint32_t limit) {
    if (eip > limit) cpu_gp0(cpu);
}

/* Checks of a code-segment target for JMP/CALL (not through a gate). */
static void check_direct_code(CPU *cpu, uint16_t sel, uint32_t hi) {
    int dpl = (hi >> 13) & 3, rpl = sel & 3;
    if ((hi >> 8) & ST_CONFORM) {
        if (dpl > cpu->cpl) raise_sel(cpu, EXC_GP, sel, 0);
    } else if (rpl > cpu->cpl || dpl != cpu->cpl) {
        raise_sel(cpu, EXC_GP, sel, 0);
    }
    if (!(hi & 0x8000)) raise_sel(cpu, EXC_NP, sel, 0);
}

/* Checks of the code segment a gate points at (not yet privilege). */
static void check_gate_target(CPU *cpu, uint16_t tsel, uint32_t *lo, uint32_t *hi, int ext) {
    if ((tsel & 0xFFFC) == 0) cpu_raise(cpu, EXC_GP, ext ? 1 : 0);
    if (!desc_read(cpu, tsel, lo, hi)) raise_sel(cpu, EXC_GP, tsel, ext);
    uint32_t type = (*hi >> 8) & 0x1F;
    if ((type & 0x18) != 0x18) raise_sel(cpu, EXC_GP, tsel, ext); /* must be code */
    if ((int)((*hi >> 13) & 3) > cpu->cpl) raise_sel(cpu, EXC_GP, tsel, ext);
    if (!(*hi & 0x8000)) raise_sel(cpu, EXC_NP, tsel, ext);
}

void load_cs(CPU *cpu, uint16_t sel, uint32_t lo, uint32_t hi, int cpl) {
    desc_set_accessed(cpu, sel, &hi);
    desc_to_seg(&cpu->seg[SEG_CS], (uint16_t)((sel & ~3u) | (unsigned)cpl), lo, hi);
    cpu->cpl = cpl;
}

/* System-descriptor target of JMP/CALL: task gate or TSS. Returns true if handled. */
static bool far_to_task(CPU *cpu, uint16_t sel, uint32_t lo, uint32_t hi, int reason) {
    unsigned type = (hi >> 8) & 0xF;
    int dpl = (hi >> 13) & 3;
    if (type != 5 && type != 1 && type != 9) return false;
    if (dpl < cpu->cpl || dpl < (sel & 3)) raise_sel(cpu, EXC_GP, sel, 0);
    if (!(hi & 0x8000)) raise_sel(cpu, EXC_NP, sel, 0);
    cpu_task_switch(cpu, type == 5 ? (uint16_t)(lo >> 16) : sel, reason, -1);
    return true;
}

void cpu_jmp_far(CPU *cpu, uint16_t sel, uint32_t off) {
    if (!cpu_pe(cpu) || cpu_v86(cpu)) {
        check_eip_limit(cpu, off, cpu->seg[SEG_CS].limit);
        seg_load_real(cpu, SEG_CS, sel);
        cpu->next_eip = off;
        return;
    }
    uint32_t lo, hi;
    if ((sel & 0xFFFC) == 0) cpu_gp0(cpu);
    if (!desc_read(cpu, sel, &lo, &hi)) raise_sel(cpu, EXC_GP, sel, 0);
    if (hi & 0x1000) { /* code or data */
        if (!((hi >> 8) & ST_CODE)) raise_sel(cpu, EXC_GP, sel, 0);
        check_direct_code(cpu, sel, hi);
        check_eip_limit(cpu, off, desc_limit(lo, hi));
        load_cs(cpu, sel, lo, hi, cpu->cpl);
        cpu->next_eip = off;
        return;
    }
    if (far_to_task(cpu, sel, lo, hi, TS_JMP)) return;
    unsigned type = (hi >> 8) & 0xF;
    if (type != 4 && type != 12) raise_sel(cpu, EXC_GP, sel, 0);
    int gdpl = (hi >> 13) & 3;
    if (gdpl < cpu->cpl || gdpl < (sel & 3)) raise_sel(cpu, EXC_GP, sel, 0);
    if (!(hi & 0x8000)) raise_sel(cpu, EXC_NP, sel, 0);
    uint16_t tsel = (uint16_t)(lo >> 16);
    uint32_t target = (lo & 0xFFFF) | (type == 12 ? (hi & 0xFFFF0000u) : 0);
    uint32_t tlo, thi;
    check_gate_target(cpu, tsel, &tlo, &thi, 0);
    int tdpl = (thi >> 13) & 3;
    if (!((thi >> 8) & ST_CONFORM) && tdpl != cpu->cpl) raise_sel(cpu, EXC_GP, tsel, 0);
    check_eip_limit(cpu, target, desc_limit(tlo, thi));
    load_cs(cpu, tsel, tlo, thi, cpu->cpl);
    cpu->next_eip = target;
}

/* Stack pointer and SS for privilege level `pl` from the current TSS. */
void tss_stack(CPU *cpu, int pl, uint16_t *ss, uint32_t *esp, int ext) {
    unsigned type = cpu->tr.flags & 0xF;
    bool tss32 = type == 9 || type == 11;
    uint32_t off = tss32 ? 4 + 8u * (unsigned)pl : 2 + 4u * (unsigned)pl;
    unsigned span = tss32 ? 6 : 4;
    if (off + span - 1 > cpu->tr.limit) raise_sel(cpu, EXC_TS, cpu->tr.sel, ext);
    if (tss32) {
        *esp = lin_read(cpu, cpu->tr.base + off, 4, ACC_R | ACC_SYS);
        *ss = (uint16_t)lin_read(cpu, cpu->tr.base + off + 4, 2, ACC_R | ACC_SYS);
    } else {
        *esp = lin_read(cpu, cpu->tr.base + off, 2, ACC_R | ACC_SYS);
        *ss = (uint16_t)lin_read(cpu, cpu->tr.base + off + 2, 2, ACC_R | ACC_SYS);
    }
}

void cpu_call_far(CPU *cpu, uint16_t sel, uint32_t off, unsigned osize) {
    uint32_t ret_cs = cpu->seg[SEG_CS].sel, ret_eip = cpu->next_eip;
    if (!cpu_pe(cpu) || cpu_v86(cpu)) {
        check_eip_limit(cpu, off, cpu->seg[SEG_CS].limit);
        uint32_t vals[2] = {ret_cs, ret_eip};
        frame_push(cpu, &cpu->seg[SEG_SS], &cpu->regs[R_ESP], vals, 2, osize, ACC_W, 0);
        seg_load_real(cpu, SEG_CS, sel);
        cpu->next_eip = off;
        return;
    }
    uint32_t lo, hi;
    if ((sel & 0xFFFC) == 0) cpu_gp0(cpu);
    if (!desc_read(cpu, sel, &lo, &hi)) raise_sel(cpu, EXC_GP, sel, 0);
    if (hi & 0x1000) {
        if (!((hi >> 8) & ST_CODE)) raise_sel(cpu, EXC_GP, sel, 0);
        check_direct_code(cpu, sel, hi);
        check_eip_limit(cpu, off, desc_limit(lo, hi));
        uint32_t vals[2] = {ret_cs, ret_eip};
        frame_push(cpu, &cpu->seg[SEG_SS], &cpu->regs[R_ESP], vals, 2, osize, ACC_W, 0);
        load_cs(cpu, sel, lo, hi, cpu->cpl);
        cpu->next_eip = off;
        return;
    }
    if (far_to_task(cpu, sel, lo, hi, TS_CALL)) return;
    unsigned type = (hi >> 8) & 0xF;
    if (type != 4 && type != 12) raise_sel(cpu, EXC_GP, sel, 0);
    int gdpl = (hi >> 13) & 3;
    if (gdpl < cpu->cpl || gdpl < (sel & 3)) raise_sel(cpu, EXC_GP, sel, 0);
    if (!(hi & 0x8000)) raise_sel(cpu, EXC_NP, sel, 0);
    unsigned gsize = type == 12 ? 4 : 2;
    uint16_t tsel = (uint16_t)(lo >> 16);
    uint32_t target = (lo & 0xFFFF) | (type == 12 ? (hi & 0xFFFF0000u) : 0);
    uint32_t tlo, thi;
    check_gate_target(cpu, tsel, &tlo, &thi, 0);
    int tdpl = (thi >> 13) & 3;
    check_eip_limit(cpu, target, desc_limit(tlo, thi));
    if (!((thi >> 8) & ST_CONFORM) && tdpl < cpu->cpl) {
        /* Inner privilege: switch to the TSS stack of level tdpl, copy parameters. */
        uint16_t nss;
        uint32_t nesp, slo, shi;
        tss_stack(cpu, tdpl, &nss, &nesp, 0);
        check_ss(cpu, nss, tdpl, &slo, &shi, EXC_TS, 0);
        SegReg new_ss;
        desc_to_seg(&new_ss, nss, slo, shi);
        unsigned nparams = hi & 0x1F;
        uint32_t vals[4 + 31];
        int n = 0;
        vals[n++] = cpu->seg[SEG_SS].sel;
        vals[n++] = cpu->regs[R_ESP];
        uint32_t params[31];
        frame_peek(cpu, 0, params, (int)nparams, gsize);
        for (int i = (int)nparams - 1; i >= 0; i--) vals[n++] = params[i];
        vals[n++] = ret_cs;
        vals[n++] = ret_eip;
        frame_push(cpu, &new_ss, &nesp, vals, n, gsize, ACC_W | ACC_SYS, nss & 0xFFFC);
        desc_set_accessed(cpu, nss, &shi);
        desc_to_seg(&cpu->seg[SEG_SS], nss, slo, shi);
        cpu->regs[R_ESP] = nesp;
        load_cs(cpu, tsel, tlo, thi, tdpl);
    } else {
        if (!((thi >> 8) & ST_CONFORM) && tdpl != cpu->cpl) raise_sel(cpu, EXC_GP, tsel, 0);
        uint32_t vals[2] = {ret_cs, ret_eip};
        frame_push(cpu, &cpu->seg[SEG_SS], &cpu->regs[R_ESP], vals, 2, gsize, ACC_W, 0);
        load_cs(cpu, tsel, tlo, thi, cpu->cpl);
    }
    cpu->next_eip = target;
}

/* ---------------- far RET / IRET ---------------- */

/* Checks of the CS a RET/IRET returns to (rpl >= cpl). */
static void check_return_cs(CPU *cpu, uint16_t cs, uint32_t *lo, uint32_t *hi) {
    if ((cs & 0xFFFC) == 0) cpu_gp0(cpu);
    if (!desc_read(cpu, cs, lo, hi)) raise_sel(cpu, EXC_GP, cs, 0);
    uint32_t type = (*hi >> 8) & 0x1F;
    int dpl = (*hi >> 13) & 3, rpl = cs & 3;
    if ((type & 0x18) != 0x18 || rpl < cpu->cpl) raise_sel(cpu, EXC_GP, cs, 0);
    if ((type & ST_CONFORM) ? dpl > rpl : dpl != rpl) raise_sel(cpu, EXC_GP, cs, 0);
    if (!(*hi & 0x8000)) raise_sel(cpu, EXC_NP, cs, 0);
}

/* After a return to an outer level, data segment registers the new level
 * may not use become null. */
static void invalidate_data_segments(CPU *cpu) {
    static const int regs[4] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
    for (int i = 0; i < 4; i++) {
        SegReg *s = &cpu->seg[regs[i]];
        bool conforming_code = (s->flags & ST_CODE) && (s->flags & ST_CONFORM);
        if ((s->flags & SF_S) && !conforming_code && (int)SF_DPL(s->flags) < cpu->cpl) {
            s->sel = 0;
            s->flags = 0;
            s->base = 0;
            s->limit = 0;
        }
    }
}

/* Return to an outer level: SS:ESP popped at `offset`. */
static void return_outer(CPU *cpu, uint16_t cs, uint32_t clo, uint32_t chi, uint32_t eip,
                         uint32_t offset, unsigned osize, uint32_t pop_bytes) {
    int rpl = cs & 3;
    uint32_t nesp = stack_peek(cpu, offset, osize);
    uint16_t nss = (uint16_t)stack_peek(cpu, offset + osize, osize);
    uint32_t slo, shi;
    check_ss(cpu, nss, rpl, &slo, &shi, EXC_GP, 0);
    check_eip_limit(cpu, eip, desc_limit(clo, chi));
    load_cs(cpu, cs, clo, chi, rpl);
    desc_set_accessed(cpu, nss, &shi);
    desc_to_seg(&cpu->seg[SEG_SS], nss, slo, shi);
    uint32_t m = cpu_stack32(cpu) ? 0xFFFFFFFFu : 0xFFFFu;
    cpu->regs[R_ESP] = (cpu->regs[R_ESP] & ~m) | ((nesp + pop_bytes) & m);
    invalidate_data_segments(cpu);
    cpu->next_eip = eip;
}

void cpu_ret_far(CPU *cpu, unsigned osize, uint16_t pop_bytes) {
    uint32_t eip = stack_peek(cpu, 0, osize);
    uint16_t cs = (uint16_t)stack_peek(cpu, osize, osize);
    if (osize == 2) eip &= 0xFFFF;
    if (!cpu_pe(cpu) || cpu_v86(cpu)) {
        check_eip_limit(cpu, eip, cpu->seg[SEG_CS].limit);
        seg_load_real(cpu, SEG_CS, cs);
        sp_add(cpu, 2 * osize + pop_bytes);
        cpu->next_eip = eip;
        return;
    }
    uint32_t lo, hi;
    check_return_cs(cpu, cs, &lo, &hi);
    if ((cs & 3) == cpu->cpl) {
        check_eip_limit(cpu, eip, desc_limit(lo, hi));
        load_cs(cpu, cs, lo, hi, cpu->cpl);
        sp_add(cpu, 2 * osize + pop_bytes);
        cpu->next_eip = eip;
        return;
    }
    return_outer(cpu, cs, lo, hi, eip, 2 * osize + pop_bytes, osize, pop_bytes);
}

/* EFLAGS as IRET loads it, by privilege (SDM IRET: IOPL only at CPL 0, IF
 * only when CPL <= IOPL; VM/VIF/VIP only from CPL 0 in 32-bit form). */
static void iret_set_flags(CPU *cpu, uint32_t flags, unsigned osize, int old_cpl) {
    uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT;
    if (osize == 4) mask |= FL_RF | FL_AC | FL_ID;
    int iopl = (cpu->eflags >> 12) & 3;
    if (!cpu_pe(cpu) || old_cpl == 0) mask |= FL_IOPL | FL_IF;
    else if (old_cpl <= iopl) mask |= FL_IF;
    if (osize == 4 && cpu_pe(cpu) && old_cpl == 0 && !cpu_v86(cpu)) mask |= FL_VIF | FL_VIP;
    if (osize == 2) mask &= 0xFFFF;
    cpu_set_eflags(cpu, flags, mask);
}

void cpu_iret(CPU *cpu, unsigned osize) {
    if (!cpu_pe(cpu) || cpu_v86(cpu)) {
        if (cpu_v86(cpu) && ((cpu->eflags >> 12) & 3) < 3) cpu_gp0(cpu); /* no VME support */
        uint32_t v[3];
        frame_peek(cpu, 0, v, 3, osize);
        uint32_t eip = osize == 2 ? v[0] & 0xFFFF : v[0];
        check_eip_limit(cpu, eip, cpu->seg[SEG_CS].limit);
        seg_load_real(cpu, SEG_CS, (uint16_t)v[1]);
        sp_add(cpu, 3 * osize);
        uint32_t mask = osize == 4 ? 0x257FD5u : 0xFFFFu;
        if (cpu_v86(cpu)) mask &= ~FL_IOPL;
        cpu_set_eflags(cpu, v[2], mask & ~(FL_VM | FL_VIF | FL_VIP));
        cpu->next_eip = eip;
        return;
    }
    if (cpu->eflags & FL_NT) { /* return from a nested task through the back link */
        uint16_t link = (uint16_t)lin_read(cpu, cpu->tr.base, 2, ACC_R | ACC_SYS);
        cpu_task_switch(cpu, link, TS_IRET, -1);
        return;
    }
    uint32_t v[3];
    frame_peek(cpu, 0, v, 3, osize);
    uint32_t eip = osize == 2 ? v[0] & 0xFFFF : v[0];
    uint16_t cs = (uint16_t)v[1];
    uint32_t flags = v[2];
    int old_cpl = cpu->cpl;
    if (osize == 4 && (flags & FL_VM) && old_cpl == 0) {
        /* Return to virtual-8086 mode: EIP CS EFLAGS ESP SS ES DS FS GS. */
        uint32_t w[6];
        frame_peek(cpu, 12, w, 6, 4);
        check_eip_limit(cpu, eip & 0xFFFF, 0xFFFF);
        cpu_set_eflags(cpu, flags, 0x003F7FD7u);
        cpu->eflags |= FL_VM;
        static const int order[4] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
        for (int i = 0; i < 4; i++) seg_load_real(cpu, order[i], (uint16_t)w[2 + i]);
        seg_load_real(cpu, SEG_CS, cs);
        seg_load_real(cpu, SEG_SS, (uint16_t)w[1]);
        cpu->regs[R_ESP] = w[0];
        cpu->cpl = 3;
        cpu->next_eip = eip & 0xFFFF;
        return;
    }
    uint32_t lo, hi;
    check_return_cs(cpu, cs, &lo, &hi);
    if ((cs & 3) == old_cpl) {
        check_eip_limit(cpu, eip, desc_limit(lo, hi));
        load_cs(cpu, cs, lo, hi, old_cpl);
        sp_add(cpu, 3 * osize);
        iret_set_flags(cpu, flags, osize, old_cpl);
        cpu->next_eip = eip;
        return;
    }
    return_outer(cpu, cs, lo, hi, eip, 3 * osize, osize, 0);
    iret_set_flags(cpu, flags, osize, old_cpl);
}
