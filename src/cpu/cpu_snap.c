/*
 * cpu_snap.c - the CPU's snapshot section (see cpu_save in cpu.h).
 *
 * Saved: general registers, EIP, EFLAGS and the lazy-flag record as it
 * stands (so the flags come back exactly, without being folded), the
 * segment registers with their hidden descriptor caches, LDTR, TR, GDTR,
 * IDTR, CR0-CR4, DR0-DR7, the TSC offset, the APIC base and SYSENTER MSRs,
 * CPL, the x87/MMX state (eight 80-bit registers, control, status and tag
 * words, TOP, last-instruction pointers), XMM0-XMM7 and MXCSR, HLT, the interrupt shadow, NMI
 * pending/blocked, a pending reset, pending debug traps and the
 * instruction count. Version 2 adds the CPU model's name (a snapshot loads
 * only into a machine of the same -cpu; version 1 snapshots are of a
 * pentium2), EFER, IA32_MISC_ENABLE, PAT, the MTRRs and the PDPTEs PAE paging loaded. Not saved:
 * what exists only inside cpu_run (the exception unwinding state, run_left, block_break) and the
 * hooks.
 */
#include "cpu/cpu.h"

#include <string.h>

#include "snap/snap.h"

static void put_seg(SnapWriter *w, const SegReg *s) {
    snap_put_u16(w, s->sel);
    snap_put_u32(w, s->base);
    snap_put_u32(w, s->limit);
    snap_put_u32(w, s->flags);
}

static void get_seg(SnapReader *r, SegReg *s) {
    s->sel = snap_get_u16(r);
    s->base = snap_get_u32(r);
    s->limit = snap_get_u32(r);
    s->flags = snap_get_u32(r);
    snap_check(r, (s->flags & ~0xF0FFu) == 0, "segment attribute bits out of range");
}

static void put_fpu(SnapWriter *w, const Fpu *f) {
    for (int i = 0; i < 8; i++) {
        snap_put_u64(w, f->regs[i].mant);
        snap_put_u16(w, f->regs[i].se);
    }
    snap_put_u16(w, f->cw);
    snap_put_u16(w, f->sw);
    snap_put_u16(w, f->tw);
    snap_put_u8(w, (uint8_t)f->top);
    snap_put_u16(w, f->fop);
    snap_put_u32(w, f->fip);
    snap_put_u32(w, f->fdp);
    snap_put_u16(w, f->fcs);
    snap_put_u16(w, f->fds);
}

static void get_fpu(SnapReader *r, Fpu *f) {
    for (int i = 0; i < 8; i++) {
        f->regs[i].mant = snap_get_u64(r);
        f->regs[i].se = snap_get_u16(r);
    }
    f->cw = snap_get_u16(r);
    f->sw = snap_get_u16(r);
    f->tw = snap_get_u16(r);
    f->top = snap_get_u8(r);
    f->fop = snap_get_u16(r);
    f->fip = snap_get_u32(r);
    f->fdp = snap_get_u32(r);
    f->fcs = snap_get_u16(r);
    f->fds = snap_get_u16(r);
    snap_check(r, f->top < 8, "x87 TOP out of range");
}

void cpu_save(const CPU *cpu, SnapWriter *w) {
    for (int i = 0; i < 8; i++)
        snap_put_u32(w, cpu->regs[i]);
    snap_put_u32(w, cpu->eip);
    snap_put_u32(w, cpu->eflags);
    snap_put_u8(w, cpu->lf.op);
    snap_put_u8(w, cpu->lf.size);
    snap_put_u32(w, cpu->lf.res);
    snap_put_u32(w, cpu->lf.a);
    snap_put_u32(w, cpu->lf.b);
    snap_put_u64(w, cpu->icount);
    for (int i = 0; i < SEG_COUNT; i++)
        put_seg(w, &cpu->seg[i]);
    put_seg(w, &cpu->ldtr);
    put_seg(w, &cpu->tr);
    snap_put_u32(w, cpu->gdtr.base);
    snap_put_u16(w, cpu->gdtr.limit);
    snap_put_u32(w, cpu->idtr.base);
    snap_put_u16(w, cpu->idtr.limit);
    snap_put_u32(w, cpu->cr0);
    snap_put_u32(w, cpu->cr2);
    snap_put_u32(w, cpu->cr3);
    snap_put_u32(w, cpu->cr4);
    for (int i = 0; i < 8; i++)
        snap_put_u32(w, cpu->dr[i]);
    snap_put_u64(w, cpu->tsc_offset);
    snap_put_u64(w, cpu->apic_base);
    put_fpu(w, &cpu->fpu);
    snap_put_u32(w, cpu->sysenter_cs);
    snap_put_u32(w, cpu->sysenter_esp);
    snap_put_u32(w, cpu->sysenter_eip);
    snap_put_u8(w, (uint8_t)cpu->cpl);
    snap_put_bool(w, cpu->halted);
    snap_put_bool(w, cpu->intr_shadow);
    snap_put_bool(w, cpu->shadow_set);
    snap_put_bool(w, cpu->nmi_pending);
    snap_put_bool(w, cpu->nmi_blocked);
    snap_put_bool(w, cpu->reset_request);
    snap_put_u32(w, cpu->pending_db);
    /* Version 2: the SSE state. */
    for (int i = 0; i < 8; i++) {
        snap_put_u64(w, cpu->xmm[i].q[0]);
        snap_put_u64(w, cpu->xmm[i].q[1]);
    }
    snap_put_u32(w, cpu->mxcsr);
    size_t len = strlen(cpu->model->name);
    snap_put_u8(w, (uint8_t)len);
    snap_put_bytes(w, cpu->model->name, len);
    snap_put_u64(w, cpu->efer);
    snap_put_u64(w, cpu->misc_enable);
    snap_put_u64(w, cpu->pat);
    snap_put_u64(w, cpu->mtrr_def_type);
    for (int i = 0; i < 11; i++)
        snap_put_u64(w, cpu->mtrr_fixed[i]);
    for (int i = 0; i < 2 * MTRR_VAR_COUNT; i++)
        snap_put_u64(w, cpu->mtrr_var[i]);
    for (int i = 0; i < 4; i++)
        snap_put_u64(w, cpu->mmu.pdpte[i]);
}

/* The fields of the section, parsed into a staging copy. */
typedef struct CpuSnap {
    uint32_t regs[8], eip, eflags;
    LazyFlags lf;
    uint64_t icount;
    SegReg seg[SEG_COUNT], ldtr, tr;
    DescTable gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4, dr[8];
    uint64_t tsc_offset, apic_base;
    Fpu fpu;
    XmmReg xmm[8];
    uint32_t mxcsr;
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    int cpl;
    bool halted, intr_shadow, shadow_set, nmi_pending, nmi_blocked, reset_request;
    uint32_t pending_db;
    uint64_t efer, misc_enable, pat, mtrr_def_type, mtrr_fixed[11], mtrr_var[2 * MTRR_VAR_COUNT],
        pdpte[4];
} CpuSnap;

static void parse(SnapReader *r, CpuSnap *s, const CPU *cpu) {
    for (int i = 0; i < 8; i++)
        s->regs[i] = snap_get_u32(r);
    s->eip = snap_get_u32(r);
    s->eflags = snap_get_u32(r);
    s->lf.op = snap_get_u8(r);
    s->lf.size = snap_get_u8(r);
    s->lf.res = snap_get_u32(r);
    s->lf.a = snap_get_u32(r);
    s->lf.b = snap_get_u32(r);
    snap_check(r, s->lf.op <= CC_SAR, "lazy flags: unknown operation");
    /* With CC_EFLAGS the size means nothing (0 after a reset). */
    snap_check(r, s->lf.op == CC_EFLAGS || s->lf.size == 1 || s->lf.size == 2 || s->lf.size == 4,
               "lazy flags: bad operand size");
    s->icount = snap_get_u64(r);
    for (int i = 0; i < SEG_COUNT; i++)
        get_seg(r, &s->seg[i]);
    get_seg(r, &s->ldtr);
    get_seg(r, &s->tr);
    s->gdtr.base = snap_get_u32(r);
    s->gdtr.limit = snap_get_u16(r);
    s->idtr.base = snap_get_u32(r);
    s->idtr.limit = snap_get_u16(r);
    s->cr0 = snap_get_u32(r);
    s->cr2 = snap_get_u32(r);
    s->cr3 = snap_get_u32(r);
    s->cr4 = snap_get_u32(r);
    for (int i = 0; i < 8; i++)
        s->dr[i] = snap_get_u32(r);
    s->tsc_offset = snap_get_u64(r);
    s->apic_base = snap_get_u64(r);
    get_fpu(r, &s->fpu);
    s->sysenter_cs = snap_get_u32(r);
    s->sysenter_esp = snap_get_u32(r);
    s->sysenter_eip = snap_get_u32(r);
    s->cpl = snap_get_u8(r);
    snap_check(r, s->cpl <= 3, "CPL out of range");
    s->halted = snap_get_bool(r);
    s->intr_shadow = snap_get_bool(r);
    s->shadow_set = snap_get_bool(r);
    s->nmi_pending = snap_get_bool(r);
    s->nmi_blocked = snap_get_bool(r);
    s->reset_request = snap_get_bool(r);
    s->pending_db = snap_get_u32(r);
    s->mxcsr = MXCSR_RESET; /* version 1 had no SSE state: XMM0-7 zero */
    if (r->version >= 2) {
        for (int i = 0; i < 8; i++) {
            s->xmm[i].q[0] = snap_get_u64(r);
            s->xmm[i].q[1] = snap_get_u64(r);
        }
        s->mxcsr = snap_get_u32(r);
        snap_check(r, (s->mxcsr & ~MXCSR_MASK) == 0, "MXCSR reserved bits set");
    }
    s->pat = PAT_RESET_VALUE;
    s->misc_enable = MISC_ENABLE_RESET;
    if (r->version < 2) {
        if (strcmp(cpu->model->name, "pentium2") != 0)
            snap_fail(r, "snapshot of a pentium2 CPU, this machine has -cpu %s", cpu->model->name);
        return;
    }
    char name[256];
    uint8_t len = snap_get_u8(r);
    if (snap_get_bytes(r, name, len)) {
        name[len] = 0;
        if (strcmp(name, cpu->model->name) != 0)
            snap_fail(r, "snapshot of a %s CPU, this machine has -cpu %s", name, cpu->model->name);
    }
    s->efer = snap_get_u64(r);
    snap_check(r, (s->efer & ~(uint64_t)EFER_NXE) == 0, "EFER: reserved bits set");
    s->misc_enable = snap_get_u64(r);
    s->pat = snap_get_u64(r);
    s->mtrr_def_type = snap_get_u64(r);
    for (int i = 0; i < 11; i++)
        s->mtrr_fixed[i] = snap_get_u64(r);
    for (int i = 0; i < 2 * MTRR_VAR_COUNT; i++)
        s->mtrr_var[i] = snap_get_u64(r);
    for (int i = 0; i < 4; i++)
        s->pdpte[i] = snap_get_u64(r);
}

static void commit(CPU *cpu, const CpuSnap *s) {
    memcpy(cpu->regs, s->regs, sizeof cpu->regs);
    cpu->eip = cpu->next_eip = s->eip;
    cpu->eflags = s->eflags;
    cpu->lf = s->lf;
    cpu->icount = s->icount;
    memcpy(cpu->seg, s->seg, sizeof cpu->seg);
    cpu->ldtr = s->ldtr;
    cpu->tr = s->tr;
    cpu->gdtr = s->gdtr;
    cpu->idtr = s->idtr;
    cpu->cr0 = s->cr0;
    cpu->cr2 = s->cr2;
    cpu->cr3 = s->cr3;
    cpu->cr4 = s->cr4;
    memcpy(cpu->dr, s->dr, sizeof cpu->dr);
    cpu->tsc_offset = s->tsc_offset;
    cpu->apic_base = s->apic_base;
    cpu->fpu = s->fpu;
    memcpy(cpu->xmm, s->xmm, sizeof cpu->xmm);
    cpu->mxcsr = s->mxcsr;
    cpu->sysenter_cs = s->sysenter_cs;
    cpu->sysenter_esp = s->sysenter_esp;
    cpu->sysenter_eip = s->sysenter_eip;
    cpu->cpl = s->cpl;
    cpu->halted = s->halted;
    cpu->intr_shadow = s->intr_shadow;
    cpu->shadow_set = s->shadow_set;
    cpu->nmi_pending = s->nmi_pending;
    cpu->nmi_blocked = s->nmi_blocked;
    cpu->reset_request = s->reset_request;
    cpu->pending_db = s->pending_db;
    cpu->efer = s->efer;
    cpu->misc_enable = s->misc_enable;
    cpu->pat = s->pat;
    cpu->mtrr_def_type = s->mtrr_def_type;
    memcpy(cpu->mtrr_fixed, s->mtrr_fixed, sizeof cpu->mtrr_fixed);
    memcpy(cpu->mtrr_var, s->mtrr_var, sizeof cpu->mtrr_var);
    cpu->exc_nest = 0;
    cpu->exit_request = 0;
    cpu->block_break = true;
    mmu_set_pae(&cpu->mmu, s->cr4 & CR4_PAE, s->efer & EFER_NXE, s->pdpte);
    mmu_set_paging(&cpu->mmu, s->cr0 & CR0_PG, s->cr0 & CR0_WP, s->cr4 & CR4_PSE, s->cr4 & CR4_PGE,
                   s->cr3);
    mmu_flush_all(&cpu->mmu);
}

bool cpu_load(CPU *cpu, SnapReader *r) {
    if (!snap_version(r, CPU_SNAP_VERSION)) return false;
    CpuSnap s;
    memset(&s, 0, sizeof s);
    parse(r, &s, cpu);
    if (!snap_finish(r)) return false;
    if (r->apply) commit(cpu, &s);
    return true;
}
