/*
 * except.c - delivery of interrupts and exceptions (real-mode IVT;
 * protected-mode IDT with interrupt, trap and task gates, stack switches
 * from the TSS, entry from and exit of virtual-8086 mode) and TSS-based
 * task switches (16- and 32-bit TSS, busy bits, back link and NT, CR3 and
 * LDT reload, segment checks in the new task's context).
 *
 * The run loop (exec.c) decides what to deliver and handles nesting (#DF,
 * triple fault); this file only performs one delivery, checking everything
 * before it changes state.
 */
#include "cpu/seg_internal.h"

static bool is_software(IntKind kind) {
    return kind == INT_SOFTWARE || kind == INT_SOFT_EXC || kind == INT_ICEBP;
}

static void deliver_real(CPU *cpu, int vector, uint32_t ret) {
    uint32_t off = (uint32_t)vector * 4;
    if (off + 3 > cpu->idtr.limit) cpu_raise(cpu, EXC_GP, vector * 8 + 2);
    uint32_t entry = lin_read(cpu, cpu->idtr.base + off, 4, ACC_R | ACC_SYS);
    uint32_t vals[3] = {cpu_get_eflags(cpu) & 0xFFFF, cpu->seg[SEG_CS].sel, ret & 0xFFFF};
    frame_push(cpu, &cpu->seg[SEG_SS], &cpu->regs[R_ESP], vals, 3, 2, ACC_W, 0);
    cpu->eflags &= ~(FL_IF | FL_TF | FL_AC | FL_RF);
    seg_load_real(cpu, SEG_CS, (uint16_t)(entry >> 16));
    cpu->eip = cpu->next_eip = entry & 0xFFFF;
}

void cpu_deliver(CPU *cpu, int vector, int error_code, IntKind kind) {
    uint32_t ret = is_software(kind) ? cpu->next_eip : cpu->eip;
    if (cpu->event_fn) cpu->event_fn(cpu, vector, error_code, (int)kind, cpu->event_opaque);
    if (!cpu_pe(cpu)) {
        deliver_real(cpu, vector, ret);
        return;
    }
    int ext = kind == INT_EXCEPTION || kind == INT_HARDWARE || kind == INT_ICEBP;
    bool v86 = cpu_v86(cpu);
    if (v86 && kind == INT_SOFTWARE && ((cpu->eflags >> 12) & 3) < 3) cpu_gp0(cpu);
    uint16_t idt_err = (uint16_t)(vector * 8 + 2);
    if ((uint32_t)vector * 8 + 7 > cpu->idtr.limit) cpu_raise(cpu, EXC_GP, idt_err | ext);
    uint32_t lo = lin_read(cpu, cpu->idtr.base + (uint32_t)vector * 8, 4, ACC_R | ACC_SYS);
    uint32_t hi = lin_read(cpu, cpu->idtr.base + (uint32_t)vector * 8 + 4, 4, ACC_R | ACC_SYS);
    unsigned type = (hi >> 8) & 0x1F; /* S bit included: gates have S = 0 */
    if (type != 5 && type != 6 && type != 7 && type != 14 && type != 15)
        cpu_raise(cpu, EXC_GP, idt_err | ext);
    int gdpl = (hi >> 13) & 3;
    if ((kind == INT_SOFTWARE || kind == INT_SOFT_EXC) && gdpl < cpu->cpl)
        cpu_raise(cpu, EXC_GP, idt_err);
    if (!(hi & 0x8000)) cpu_raise(cpu, EXC_NP, idt_err | ext);
    if (type == 5) {
        cpu->next_eip = ret;
        cpu_task_switch(cpu, (uint16_t)(lo >> 16), TS_INT, error_code);
        return;
    }
    bool gate32 = type & 8, trap = type & 1;
    unsigned gsize = gate32 ? 4 : 2;
    uint16_t tsel = (uint16_t)(lo >> 16);
    uint32_t target = (lo & 0xFFFF) | (gate32 ? (hi & 0xFFFF0000u) : 0);
    uint32_t tlo, thi;
    if ((tsel & 0xFFFC) == 0) cpu_raise(cpu, EXC_GP, ext);
    if (!desc_read(cpu, tsel, &tlo, &thi)) raise_sel(cpu, EXC_GP, tsel, ext);
    if ((((thi >> 8) & 0x18) != 0x18)) raise_sel(cpu, EXC_GP, tsel, ext);
    int tdpl = (thi >> 13) & 3;
    if (tdpl > cpu->cpl) raise_sel(cpu, EXC_GP, tsel, ext);
    if (!(thi & 0x8000)) raise_sel(cpu, EXC_NP, tsel, ext);
    bool conforming = (thi >> 8) & ST_CONFORM;
    if (target > desc_limit(tlo, thi)) cpu_raise(cpu, EXC_GP, ext);
    uint32_t flags = cpu_get_eflags(cpu);
    uint32_t vals[10];
    int n = 0;
    if (!conforming && tdpl < cpu->cpl) {
        /* Inner privilege level: new stack from the TSS. */
        if (v86 && tdpl != 0) raise_sel(cpu, EXC_GP, tsel, ext);
        uint16_t nss;
        uint32_t nesp, slo, shi;
        tss_stack(cpu, tdpl, &nss, &nesp, ext);
        check_ss(cpu, nss, tdpl, &slo, &shi, EXC_TS, ext);
        SegReg new_ss;
        desc_to_seg(&new_ss, nss, slo, shi);
        if (v86) {
            vals[n++] = cpu->seg[SEG_GS].sel;
            vals[n++] = cpu->seg[SEG_FS].sel;
            vals[n++] = cpu->seg[SEG_DS].sel;
            vals[n++] = cpu->seg[SEG_ES].sel;
        }
        vals[n++] = cpu->seg[SEG_SS].sel;
        vals[n++] = cpu->regs[R_ESP];
        vals[n++] = flags;
        vals[n++] = cpu->seg[SEG_CS].sel;
        vals[n++] = ret;
        if (error_code >= 0) vals[n++] = (uint32_t)error_code;
        frame_push(cpu, &new_ss, &nesp, vals, n, gsize, ACC_W | ACC_SYS, (nss & 0xFFFC) | ext);
        desc_set_accessed(cpu, nss, &shi);
        desc_to_seg(&cpu->seg[SEG_SS], nss, slo, shi);
        cpu->regs[R_ESP] = nesp;
        if (v86) {
            static const int data[4] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
            for (int i = 0; i < 4; i++) {
                SegReg *s = &cpu->seg[data[i]];
                s->sel = 0;
                s->base = 0;
                s->limit = 0;
                s->flags = 0;
            }
        }
        load_cs(cpu, tsel, tlo, thi, tdpl);
    } else {
        if (v86 || (!conforming && tdpl != cpu->cpl)) raise_sel(cpu, EXC_GP, tsel, ext);
        vals[n++] = flags;
        vals[n++] = cpu->seg[SEG_CS].sel;
        vals[n++] = ret;
        if (error_code >= 0) vals[n++] = (uint32_t)error_code;
        frame_push(cpu, &cpu->seg[SEG_SS], &cpu->regs[R_ESP], vals, n, gsize, ACC_W, 0);
        load_cs(cpu, tsel, tlo, thi, cpu->cpl);
    }
    cpu->eflags &= ~(FL_TF | FL_NT | FL_RF | FL_VM);
    if (!trap) cpu->eflags &= ~FL_IF;
    cpu->eip = cpu->next_eip = target;
}

/* ---------------- task switch ---------------- */

/* TSS field offsets: 32-bit and 16-bit layouts. */
typedef struct TssLayout {
    uint32_t eip, eflags, regs, segs, ldt, min_limit;
    unsigned reg_size, nsegs;
} TssLayout;
static const TssLayout tss32 = {0x20, 0x24, 0x28, 0x48, 0x60, 0x67, 4, 6};
static const TssLayout tss16 = {0x0E, 0x10, 0x12, 0x22, 0x2A, 0x2B, 2, 4};

static void tss_write(CPU *cpu, uint32_t base, uint32_t off, unsigned size, uint32_t v) {
    lin_write(cpu, base + off, size, v, ACC_W | ACC_SYS);
}
static uint32_t tss_read(CPU *cpu, uint32_t base, uint32_t off, unsigned size) {
    return lin_read(cpu, base + off, size, ACC_R | ACC_SYS);
}

static void set_busy(CPU *cpu, uint16_t sel, bool busy) {
    uint32_t addr = cpu->gdtr.base + (sel & ~7u) + 4;
    uint32_t hi = lin_read(cpu, addr, 4, ACC_R | ACC_SYS);
    hi = busy ? (hi | 0x200) : (hi & ~0x200u);
    lin_write(cpu, addr, 4, hi, ACC_W | ACC_SYS);
}

/* Load CS/SS/data segments of the new task; faults are #TS/#NP/#SS in its context. */
static void load_task_segments(CPU *cpu, const uint16_t *sel, unsigned nsegs) {
    if (cpu->eflags & FL_VM) {
        for (unsigned i = 0; i < nsegs; i++) seg_load_real(cpu, (int)i, sel[i]);
        cpu->cpl = 3;
        return;
    }
    for (unsigned i = 0; i < SEG_COUNT; i++) cpu->seg[i].sel = i < nsegs ? sel[i] : 0;
    uint16_t cs = sel[SEG_CS];
    cpu->cpl = cs & 3;
    uint32_t lo, hi;
    if ((cs & 0xFFFC) == 0 || !desc_read(cpu, cs, &lo, &hi)) raise_sel(cpu, EXC_TS, cs, 0);
    int dpl = (hi >> 13) & 3;
    if (((hi >> 8) & 0x18) != 0x18) raise_sel(cpu, EXC_TS, cs, 0);
    if (((hi >> 8) & ST_CONFORM) ? dpl > (cs & 3) : dpl != (cs & 3)) raise_sel(cpu, EXC_TS, cs, 0);
    if (!(hi & 0x8000)) raise_sel(cpu, EXC_NP, cs, 0);
    load_cs(cpu, cs, lo, hi, cs & 3);
    uint16_t ss = sel[SEG_SS];
    check_ss(cpu, ss, cpu->cpl, &lo, &hi, EXC_TS, 0);
    desc_set_accessed(cpu, ss, &hi);
    desc_to_seg(&cpu->seg[SEG_SS], ss, lo, hi);
    static const int data[4] = {SEG_ES, SEG_DS, SEG_FS, SEG_GS};
    for (int i = 0; i < 4; i++)
        seg_load_data_pm(cpu, data[i], (unsigned)data[i] < nsegs ? sel[data[i]] : 0, EXC_TS, EXC_NP);
}

void cpu_task_switch(CPU *cpu, uint16_t sel, int reason, int error_code) {
    int bad = reason == TS_IRET ? EXC_TS : EXC_GP;
    uint32_t lo, hi;
    if ((sel & 4) || (sel & 0xFFFC) == 0 || !desc_read(cpu, sel, &lo, &hi)) raise_sel(cpu, bad, sel, 0);
    unsigned type = (hi >> 8) & 0x1F;
    bool busy = type == 3 || type == 11;
    if (type != 1 && type != 3 && type != 9 && type != 11) raise_sel(cpu, bad, sel, 0);
    if (reason == TS_IRET ? !busy : busy) raise_sel(cpu, bad, sel, 0);
    if (!(hi & 0x8000)) raise_sel(cpu, EXC_NP, sel, 0);
    const TssLayout *nl = (type & 8) ? &tss32 : &tss16;
    uint32_t nlimit = desc_limit(lo, hi);
    if (nlimit < nl->min_limit) raise_sel(cpu, EXC_TS, sel, 0);
    SegReg ntr;
    desc_to_seg(&ntr, sel, lo, hi);

    /* Read the whole new state before touching anything. */
    uint32_t nb = ntr.base;
    uint32_t ncr3 = nl == &tss32 ? tss_read(cpu, nb, 0x1C, 4) : cpu->cr3;
    uint32_t neip = tss_read(cpu, nb, nl->eip, nl->reg_size);
    uint32_t nflags = tss_read(cpu, nb, nl->eflags, nl->reg_size);
    uint32_t nregs[8];
    for (int i = 0; i < 8; i++) nregs[i] = tss_read(cpu, nb, nl->regs + (uint32_t)i * nl->reg_size, nl->reg_size);
    uint16_t nsegs[SEG_COUNT] = {0};
    for (unsigned i = 0; i < nl->nsegs; i++)
        nsegs[i] = (uint16_t)tss_read(cpu, nb, nl->segs + i * nl->reg_size, 2);
    uint16_t nldt = (uint16_t)tss_read(cpu, nb, nl->ldt, 2);

    /* Save the current state into the old TSS. */
    const TssLayout *ol = ((cpu->tr.flags & 0xF) == 9 || (cpu->tr.flags & 0xF) == 11) ? &tss32 : &tss16;
    uint32_t ob = cpu->tr.base;
    uint32_t oflags = cpu_get_eflags(cpu);
    if (reason == TS_IRET) oflags &= ~FL_NT;
    if (cpu->tr.limit < ol->min_limit) raise_sel(cpu, EXC_TS, cpu->tr.sel, 0);
    tss_write(cpu, ob, ol->eip, ol->reg_size, cpu->next_eip);
    tss_write(cpu, ob, ol->eflags, ol->reg_size, oflags);
    for (int i = 0; i < 8; i++) tss_write(cpu, ob, ol->regs + (uint32_t)i * ol->reg_size, ol->reg_size, cpu->regs[i]);
    for (unsigned i = 0; i < ol->nsegs; i++) tss_write(cpu, ob, ol->segs + i * ol->reg_size, 2, cpu->seg[i].sel);
    if (reason == TS_JMP || reason == TS_IRET) set_busy(cpu, cpu->tr.sel, false);
    if (reason == TS_CALL || reason == TS_INT) tss_write(cpu, nb, 0, 2, cpu->tr.sel); /* back link */
    if (reason != TS_IRET) {
        set_busy(cpu, sel, true);
        ntr.flags |= 0x2; /* busy */
    }

    /* The switch point: from here on, faults belong to the new task. */
    cpu->tr = ntr;
    cpu->cr0 |= CR0_TS;
    if (nl == &tss32 && ncr3 != cpu->cr3) cpu_set_cr3(cpu, ncr3);
    if (reason == TS_CALL || reason == TS_INT) nflags |= FL_NT;
    if (nl == &tss16) nflags = (cpu->eflags & 0xFFFF0000u) | (nflags & 0xFFFF);
    cpu->eflags = (nflags & ~FL_ARITH) | 2u;
    cpu->lf.op = CC_EFLAGS;
    flags_set_arith(cpu, nflags, FL_ARITH);
    for (int i = 0; i < 8; i++) reg_write(cpu, i, nl->reg_size, nregs[i]);
    cpu->eip = cpu->next_eip = neip;

    /* LDT of the new task. */
    cpu->ldtr.sel = nldt;
    if ((nldt & 0xFFFC) == 0) {
        cpu->ldtr.flags = 0;
        cpu->ldtr.base = 0;
        cpu->ldtr.limit = 0;
    } else {
        uint32_t llo, lhi;
        cpu->ldtr.flags = 0; /* desc_read must not look through the old LDT */
        if ((nldt & 4) || !desc_read(cpu, nldt, &llo, &lhi) || ((lhi >> 8) & 0x1F) != 2)
            raise_sel(cpu, EXC_TS, nldt, 0);
        if (!(lhi & 0x8000)) raise_sel(cpu, EXC_TS, nldt, 0);
        desc_to_seg(&cpu->ldtr, nldt, llo, lhi);
    }
    load_task_segments(cpu, nsegs, nl->nsegs);
    if (neip > cpu->seg[SEG_CS].limit) cpu_gp0(cpu);
    if (error_code >= 0) {
        uint32_t v = (uint32_t)error_code;
        frame_push(cpu, &cpu->seg[SEG_SS], &cpu->regs[R_ESP], &v, 1, nl->reg_size, ACC_W, 0);
    }
}
