/*
 * ops_sys.c - system instructions: I/O with the IOPL and TSS I/O-bitmap
 * checks, HLT, CLI/STI, PUSHF/POPF, descriptor-table and task registers,
 * LAR/LSL/VERR/VERW/ARPL, control and debug registers, MSRs, TSC, CPUID,
 * SYSENTER/SYSEXIT.
 *
 * Not implemented (CPUID does not report them): VME/PVI (virtual interrupt
 * flags), PAE, MTRRs, the local APIC, performance counters (RDPMC returns 0).
 */
#include "cpu/seg_internal.h"

#include "cpu/ops.h"
#include "cpu/sse.h"
#include "devices/bus.h"

static int iopl(const CPU *cpu) {
    return (cpu->eflags >> 12) & 3;
}
static bool real_or_v86(const CPU *cpu) {
    return !cpu_pe(cpu) || cpu_v86(cpu);
}

/* Privileged instructions: CPL 0 in protected mode (V86 runs at CPL 3). */
static void require_cpl0(CPU *cpu) {
    if (cpu_pe(cpu) && cpu->cpl != 0) cpu_gp0(cpu);
}

/* Instructions that do not exist outside protected mode. */
static void require_pm(CPU *cpu) {
    if (real_or_v86(cpu)) cpu_ud(cpu);
}

/* ---------------- control registers ---------------- */

static void update_paging(CPU *cpu) {
    mmu_set_paging(&cpu->mmu, cpu->cr0 & CR0_PG, cpu->cr0 & CR0_WP, cpu->cr4 & CR4_PSE,
                   cpu->cr4 & CR4_PGE, cpu->cr3);
}

#define CR0_IMPLEMENTED 0xE005003Fu

void cpu_set_cr0(CPU *cpu, uint32_t val) {
    val = (val & CR0_IMPLEMENTED) | CR0_ET;
    if ((val & CR0_PG) && !(val & CR0_PE)) cpu_gp0(cpu);
    if ((val & CR0_NW) && !(val & CR0_CD)) cpu_gp0(cpu);
    uint32_t old = cpu->cr0;
    cpu->cr0 = val;
    if (!(val & CR0_PE)) cpu->cpl = 0;
    if ((old ^ val) & (CR0_PG | CR0_WP | CR0_PE)) update_paging(cpu);
}

void cpu_set_cr3(CPU *cpu, uint32_t val) {
    cpu->cr3 = val & 0xFFFFF018u;
    update_paging(cpu);
}

#define CR4_IMPLEMENTED (CR4_TSD | CR4_DE | CR4_PSE | CR4_MCE | CR4_PGE | CR4_PCE)

void cpu_set_cr4(CPU *cpu, uint32_t val) {
    /* OSFXSR exists with FXSR, which CPUID reports when there is an x87. */
    uint32_t implemented = CR4_IMPLEMENTED | (fpu_backend_available() ? CR4_OSFXSR : 0) |
                           (sse_host_available() ? CR4_OSXMMEXCPT : 0);
    if (val & ~implemented) cpu_gp0(cpu);
    uint32_t old = cpu->cr4;
    cpu->cr4 = val;
    if ((old ^ val) & (CR4_PSE | CR4_PGE)) update_paging(cpu);
}

/* ---------------- I/O ---------------- */

void io_check(CPU *cpu, uint16_t port, unsigned size) {
    if (!cpu_pe(cpu)) return;
    if (!cpu_v86(cpu) && cpu->cpl <= iopl(cpu)) return;
    unsigned type = cpu->tr.flags & 0xF;
    if ((type != 9 && type != 11) || cpu->tr.limit < 0x67) cpu_gp0(cpu);
    uint32_t map = lin_read(cpu, cpu->tr.base + 0x66, 2, ACC_R | ACC_SYS);
    uint32_t off = map + port / 8;
    if (off + 1 > cpu->tr.limit) cpu_gp0(cpu);
    uint32_t bits = lin_read(cpu, cpu->tr.base + off, 2, ACC_R | ACC_SYS);
    if (bits & (((1u << size) - 1) << (port & 7))) cpu_gp0(cpu);
}

uint32_t io_in(CPU *cpu, uint16_t port, unsigned size) {
    if (!cpu->io) return size_mask(size);
    return iobus_read(cpu->io, port, size) & size_mask(size);
}

void io_out(CPU *cpu, uint16_t port, unsigned size, uint32_t val) {
    if (cpu->io) iobus_write(cpu->io, port, size, val & size_mask(size));
}

static uint16_t io_port(const CPU *cpu, const Insn *in) {
    return (in->op & 8) ? (uint16_t)cpu->regs[R_EDX] : (uint16_t)(in->imm & 0xFF);
}

void op_in(CPU *cpu, const Insn *in) {
    uint16_t port = io_port(cpu, in);
    io_check(cpu, port, in->size);
    reg_write(cpu, R_EAX, in->size, io_in(cpu, port, in->size));
}

void op_out(CPU *cpu, const Insn *in) {
    uint16_t port = io_port(cpu, in);
    io_check(cpu, port, in->size);
    io_out(cpu, port, in->size, reg_read(cpu, R_EAX, in->size));
}

/* ---------------- flags and halting ---------------- */

void op_hlt(CPU *cpu, const Insn *in) {
    (void)in;
    require_cpl0(cpu);
    cpu->halted = true;
}

/* May this code change IF (CLI/STI/POPF)? */
static bool if_writable(const CPU *cpu) {
    if (!cpu_pe(cpu)) return true;
    if (cpu_v86(cpu)) return iopl(cpu) == 3;
    return cpu->cpl <= iopl(cpu);
}

void op_cli(CPU *cpu, const Insn *in) {
    (void)in;
    if (!if_writable(cpu)) cpu_gp0(cpu);
    cpu->eflags &= ~FL_IF;
}

void op_sti(CPU *cpu, const Insn *in) {
    (void)in;
    if (!if_writable(cpu)) cpu_gp0(cpu);
    if (!(cpu->eflags & FL_IF)) cpu->shadow_set = true;
    cpu->eflags |= FL_IF;
}

void op_pushf(CPU *cpu, const Insn *in) {
    if (cpu_v86(cpu) && iopl(cpu) < 3) cpu_gp0(cpu);
    push(cpu, in->osize, cpu_get_eflags(cpu) & ~(FL_VM | FL_RF));
}

void op_popf(CPU *cpu, const Insn *in) {
    if (cpu_v86(cpu) && iopl(cpu) < 3) cpu_gp0(cpu);
    uint32_t v = pop(cpu, in->osize);
    uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID;
    if (!cpu_pe(cpu) || (!cpu_v86(cpu) && cpu->cpl == 0)) mask |= FL_IOPL;
    if (if_writable(cpu)) mask |= FL_IF;
    if (in->osize == 2) mask &= 0xFFFF;
    uint32_t old = cpu->eflags;
    cpu_set_eflags(cpu, v, mask);
    /* Translated code runs on after POPF unless it opened the interrupt
     * window or changed TF or AC (part of a block's mode bits): then the
     * dispatcher must look first. */
    if ((~old & cpu->eflags & FL_IF) || ((old ^ cpu->eflags) & (FL_TF | FL_AC)))
        cpu->block_break = true;
}

/* ---------------- descriptor tables and task register ---------------- */

static void store_selector(CPU *cpu, const Insn *in, uint16_t sel) {
    if (in->is_mem)
        rm_write(cpu, in, 2, sel);
    else
        reg_write(cpu, in->rm, in->osize, sel); /* 32-bit: zero-extended */
}

void op_sldt(CPU *cpu, const Insn *in) {
    require_pm(cpu);
    store_selector(cpu, in, cpu->ldtr.sel);
}

void op_str(CPU *cpu, const Insn *in) {
    require_pm(cpu);
    store_selector(cpu, in, cpu->tr.sel);
}

void op_lldt(CPU *cpu, const Insn *in) {
    require_pm(cpu);
    require_cpl0(cpu);
    uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
    if ((sel & 0xFFFC) == 0) {
        cpu->ldtr = (SegReg){.sel = sel};
        return;
    }
    uint32_t lo, hi;
    if ((sel & 4) || !desc_read(cpu, sel, &lo, &hi)) raise_sel(cpu, EXC_GP, sel, 0);
    if (((hi >> 8) & 0x1F) != 2) raise_sel(cpu, EXC_GP, sel, 0);
    if (!(hi & 0x8000)) raise_sel(cpu, EXC_NP, sel, 0);
    desc_to_seg(&cpu->ldtr, sel, lo, hi);
}

void op_ltr(CPU *cpu, const Insn *in) {
    require_pm(cpu);
    require_cpl0(cpu);
    uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
    if ((sel & 0xFFFC) == 0) cpu_gp0(cpu);
    uint32_t lo, hi;
    if ((sel & 4) || !desc_read(cpu, sel, &lo, &hi)) raise_sel(cpu, EXC_GP, sel, 0);
    unsigned type = (hi >> 8) & 0x1F;
    if (type != 1 && type != 9) raise_sel(cpu, EXC_GP, sel, 0);
    if (!(hi & 0x8000)) raise_sel(cpu, EXC_NP, sel, 0);
    hi |= 0x200; /* busy */
    lin_write(cpu, cpu->gdtr.base + (sel & ~7u) + 4, 4, hi, ACC_W | ACC_SYS);
    desc_to_seg(&cpu->tr, sel, lo, hi);
}

/* Can the current CPL/RPL see this descriptor (LAR/LSL/VERR/VERW)? */
static bool desc_visible(const CPU *cpu, uint16_t sel, uint32_t hi) {
    int dpl = (hi >> 13) & 3;
    bool conforming_code = (hi & 0x1000) && ((hi >> 8) & ST_CODE) && ((hi >> 8) & ST_CONFORM);
    return conforming_code || (dpl >= cpu->cpl && dpl >= (sel & 3));
}

static void set_zf(CPU *cpu, bool z) {
    flags_set_arith(cpu, z ? FL_ZF : 0, FL_ZF);
}

static void verify(CPU *cpu, const Insn *in, bool write) {
    require_pm(cpu);
    uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
    uint32_t lo, hi;
    bool ok = (sel & 0xFFFC) && desc_read(cpu, sel, &lo, &hi) && (hi & 0x1000) &&
              desc_visible(cpu, sel, hi);
    if (ok) {
        unsigned type = (hi >> 8) & 0xF;
        ok = write ? !(type & ST_CODE) && (type & ST_WRITABLE)
                   : !(type & ST_CODE) || (type & ST_READABLE);
    }
    set_zf(cpu, ok);
}

void op_verr(CPU *cpu, const Insn *in) {
    verify(cpu, in, false);
}
void op_verw(CPU *cpu, const Insn *in) {
    verify(cpu, in, true);
}

/* LAR/LSL: valid system types (LSL takes no gates). */
static bool lar_lsl_valid(uint32_t hi, bool lsl) {
    if (hi & 0x1000) return true;
    switch ((hi >> 8) & 0xF) {
    case 1:
    case 2:
    case 3:
    case 9:
    case 11: return true;
    case 4:
    case 5:
    case 12: return !lsl;
    default: return false;
    }
}

static void lar_lsl(CPU *cpu, const Insn *in, bool lsl) {
    require_pm(cpu);
    uint16_t sel = (uint16_t)rm_read(cpu, in, 2);
    uint32_t lo, hi;
    if (!(sel & 0xFFFC) || !desc_read(cpu, sel, &lo, &hi) || !lar_lsl_valid(hi, lsl) ||
        !desc_visible(cpu, sel, hi)) {
        set_zf(cpu, false);
        return;
    }
    /* LAR: the SDM masks with 00FxFF00h, bits 19:16 undefined; Intel
     * processors return the descriptor's bits there (limit 19:16), as here. */
    uint32_t v = lsl ? desc_limit(lo, hi) : hi & (in->osize == 4 ? 0x00FFFF00u : 0xFF00u);
    reg_write(cpu, in->reg, in->osize, v);
    set_zf(cpu, true);
}

void op_lar(CPU *cpu, const Insn *in) {
    lar_lsl(cpu, in, false);
}
void op_lsl(CPU *cpu, const Insn *in) {
    lar_lsl(cpu, in, true);
}

void op_arpl(CPU *cpu, const Insn *in) {
    require_pm(cpu);
    RmRef r = rm_ref(cpu, in, 2);
    uint32_t dest = ref_read(cpu, &r, 2), src = reg_read(cpu, in->reg, 2);
    if ((dest & 3) < (src & 3)) {
        ref_write(cpu, &r, 2, (dest & ~3u) | (src & 3));
        set_zf(cpu, true);
    } else {
        set_zf(cpu, false);
    }
}

static void store_table(CPU *cpu, const Insn *in, const DescTable *t) {
    if (!in->is_mem) cpu_ud(cpu);
    uint32_t ea = insn_ea(cpu, in);
    uint32_t base = in->osize == 2 ? t->base & 0x00FFFFFF : t->base;
    mem_write(cpu, in->seg, ea, 2, t->limit);
    mem_write(cpu, in->seg, (ea + 2) & (in->asize == 2 ? 0xFFFF : ~0u), 4, base);
}

static void load_table(CPU *cpu, const Insn *in, DescTable *t) {
    if (!in->is_mem) cpu_ud(cpu);
    require_cpl0(cpu);
    uint32_t ea = insn_ea(cpu, in);
    uint32_t limit = mem_read(cpu, in->seg, ea, 2);
    uint32_t base = mem_read(cpu, in->seg, (ea + 2) & (in->asize == 2 ? 0xFFFF : ~0u), 4);
    t->limit = (uint16_t)limit;
    t->base = in->osize == 2 ? base & 0x00FFFFFF : base;
}

void op_sgdt(CPU *cpu, const Insn *in) {
    store_table(cpu, in, &cpu->gdtr);
}
void op_sidt(CPU *cpu, const Insn *in) {
    store_table(cpu, in, &cpu->idtr);
}
void op_lgdt(CPU *cpu, const Insn *in) {
    load_table(cpu, in, &cpu->gdtr);
}
void op_lidt(CPU *cpu, const Insn *in) {
    load_table(cpu, in, &cpu->idtr);
}

void op_smsw(CPU *cpu, const Insn *in) {
    if (in->is_mem)
        rm_write(cpu, in, 2, cpu->cr0 & 0xFFFF);
    else
        reg_write(cpu, in->rm, in->osize, cpu->cr0);
}

void op_lmsw(CPU *cpu, const Insn *in) {
    require_cpl0(cpu);
    uint32_t v = rm_read(cpu, in, 2);
    /* Only PE, MP, EM, TS; PE can be set but not cleared. */
    uint32_t cr0 = (cpu->cr0 & ~0xEu) | (v & 0xF) | (cpu->cr0 & CR0_PE);
    cpu_set_cr0(cpu, cr0);
}

void op_invlpg(CPU *cpu, const Insn *in) {
    if (!in->is_mem) cpu_ud(cpu);
    require_cpl0(cpu);
    mmu_flush_page(&cpu->mmu, cpu->seg[in->seg].base + insn_ea(cpu, in));
}

void op_clts(CPU *cpu, const Insn *in) {
    (void)in;
    require_cpl0(cpu);
    cpu->cr0 &= ~CR0_TS;
}

void op_invd(CPU *cpu, const Insn *in) {
    (void)in;
    require_cpl0(cpu); /* no caches are modelled */
}

/* ---------------- control and debug registers ---------------- */

void op_mov_r_cr(CPU *cpu, const Insn *in) {
    require_cpl0(cpu);
    uint32_t v;
    switch (in->reg) {
    case 0: v = cpu->cr0; break;
    case 2: v = cpu->cr2; break;
    case 3: v = cpu->cr3; break;
    case 4: v = cpu->cr4; break;
    default: cpu_ud(cpu);
    }
    cpu->regs[in->rm] = v;
}

void op_mov_cr_r(CPU *cpu, const Insn *in) {
    require_cpl0(cpu);
    uint32_t v = cpu->regs[in->rm];
    switch (in->reg) {
    case 0: cpu_set_cr0(cpu, v); break;
    case 2: cpu->cr2 = v; break;
    case 3: cpu_set_cr3(cpu, v); break;
    case 4: cpu_set_cr4(cpu, v); break;
    default: cpu_ud(cpu);
    }
}

/* Debug register index after the DR4/DR5 aliasing rules; #DB for DR7.GD. */
static int debug_reg(CPU *cpu, int n) {
    require_cpl0(cpu);
    if (n == 4 || n == 5) {
        if (cpu->cr4 & CR4_DE) cpu_ud(cpu);
        n += 2;
    }
    if (cpu->dr[7] & 0x2000) { /* general detect */
        cpu->dr[6] |= 0x2000;
        cpu->dr[7] &= ~0x2000u;
        cpu_raise(cpu, EXC_DB, -1);
    }
    return n;
}

void op_mov_r_dr(CPU *cpu, const Insn *in) {
    int n = debug_reg(cpu, in->reg);
    uint32_t v = cpu->dr[n];
    if (n == 6) v |= 0xFFFF0FF0u;
    if (n == 7) v |= 0x400;
    cpu->regs[in->rm] = v;
}

void op_mov_dr_r(CPU *cpu, const Insn *in) {
    int n = debug_reg(cpu, in->reg);
    uint32_t v = cpu->regs[in->rm];
    if (n == 6)
        v = (v & 0xE00F) | 0xFFFF0FF0u;
    else if (n == 7)
        v = (v & 0xFFFF2BFFu) | 0x400;
    cpu->dr[n] = v;
}

/* ---------------- MSRs, TSC, CPUID ---------------- */

/* ---- local APIC MSRs (IA32_APIC_BASE, IA32_TSC_DEADLINE: devices/apic.h) ---- */

static bool apic_msr(uint32_t msr) {
    return msr == MSR_APIC_BASE || msr == 0x6E0;
}

/* CPUID leaf 1 with an APIC: EDX bit 9 while it is enabled, its initial ID in EBX[31:24]. */
static void cpuid_apic(CPU *cpu, uint32_t *b, uint32_t *d) {
    uint64_t base;
    if (!cpu->apic_msr_read || !cpu->apic_msr_read(cpu->apic_opaque, MSR_APIC_BASE, &base)) return;
    if (base & (1u << 11)) *d |= 1u << 9;
    *b |= (uint32_t)cpu->apic_initial_id << 24;
}

/* ---- end of the local APIC MSRs ---- */

void op_rdmsr(CPU *cpu, const Insn *in) {
    (void)in;
    require_cpl0(cpu);
    uint64_t v;
    if (cpu->apic_msr_read && apic_msr(cpu->regs[R_ECX])) {
        if (!cpu->apic_msr_read(cpu->apic_opaque, cpu->regs[R_ECX], &v)) cpu_gp0(cpu);
        cpu->regs[R_EAX] = (uint32_t)v;
        cpu->regs[R_EDX] = (uint32_t)(v >> 32);
        return;
    }
    switch (cpu->regs[R_ECX]) {
    case MSR_TSC: v = cpu->tsc_read ? cpu->tsc_read(cpu->tsc_opaque) : cpu_tsc(cpu); break;
    case MSR_APIC_BASE: v = cpu->apic_base; break;
    case MSR_SYSENTER_CS: v = cpu->sysenter_cs; break;
    case MSR_SYSENTER_ESP: v = cpu->sysenter_esp; break;
    case MSR_SYSENTER_EIP: v = cpu->sysenter_eip; break;
    default:
        if (!cpu->vmm.msr || !cpu->vmm.msr(cpu->vmm.opaque, cpu, false, cpu->regs[R_ECX], &v))
            cpu_gp0(cpu);
    }
    cpu->regs[R_EAX] = (uint32_t)v;
    cpu->regs[R_EDX] = (uint32_t)(v >> 32);
}

void op_wrmsr(CPU *cpu, const Insn *in) {
    (void)in;
    require_cpl0(cpu);
    uint64_t v = (uint64_t)cpu->regs[R_EDX] << 32 | cpu->regs[R_EAX];
    if (cpu->apic_msr_write && apic_msr(cpu->regs[R_ECX])) {
        if (!cpu->apic_msr_write(cpu->apic_opaque, cpu->regs[R_ECX], v)) cpu_gp0(cpu);
        cpu->block_break = true; /* the APIC's window or timer may have changed */
        return;
    }
    switch (cpu->regs[R_ECX]) {
    case MSR_TSC: /* P6: low 32 bits written, high cleared */
        cpu_tsc_set(cpu, (uint32_t)v);
        if (cpu->tsc_write) cpu->tsc_write(cpu->tsc_opaque, (uint32_t)v);
        break;
    case MSR_APIC_BASE: cpu->apic_base = v & 0xFFFFF900u; break;
    case MSR_SYSENTER_CS: cpu->sysenter_cs = (uint32_t)v & 0xFFFF; break;
    case MSR_SYSENTER_ESP: cpu->sysenter_esp = (uint32_t)v; break;
    case MSR_SYSENTER_EIP: cpu->sysenter_eip = (uint32_t)v; break;
    default:
        if (!cpu->vmm.msr || !cpu->vmm.msr(cpu->vmm.opaque, cpu, true, cpu->regs[R_ECX], &v))
            cpu_gp0(cpu);
    }
}

void op_rdtsc(CPU *cpu, const Insn *in) {
    (void)in;
    if ((cpu->cr4 & CR4_TSD) && cpu_pe(cpu) && cpu->cpl != 0) cpu_gp0(cpu);
    uint64_t tsc = cpu->tsc_read ? cpu->tsc_read(cpu->tsc_opaque) : cpu_tsc(cpu);
    cpu->regs[R_EAX] = (uint32_t)tsc;
    cpu->regs[R_EDX] = (uint32_t)(tsc >> 32);
}

void op_rdpmc(CPU *cpu, const Insn *in) {
    (void)in;
    if (cpu->regs[R_ECX] > 1) cpu_gp0(cpu);
    if (!(cpu->cr4 & CR4_PCE) && cpu_pe(cpu) && cpu->cpl != 0) cpu_gp0(cpu);
    cpu->regs[R_EAX] = cpu->regs[R_EDX] = 0; /* counters are not modelled */
}

/* CPUID leaf 1 EDX: only what the core implements. */
#define CPUID_FPU  (1u << 0)
#define CPUID_DE   (1u << 2)
#define CPUID_PSE  (1u << 3)
#define CPUID_TSC  (1u << 4)
#define CPUID_MSR  (1u << 5)
#define CPUID_CX8  (1u << 8)
#define CPUID_SEP  (1u << 11)
#define CPUID_PGE  (1u << 13)
#define CPUID_CMOV (1u << 15)
#define CPUID_MMX  (1u << 23)
#define CPUID_FXSR (1u << 24)
/* The SSE features ops_sse.c implements: CLFSH (19), SSE (25), SSE2 (26) in
 * EDX; SSE3 (0) and SSSE3 (9) in ECX. Not MONITOR/MWAIT (ECX 3). */
#define CPUID_SSE_EDX ((1u << 19) | (1u << 25) | (1u << 26))
#define CPUID_SSE_ECX ((1u << 0) | (1u << 9))
#define CPUID_FEATURES                                                                             \
    (CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_CX8 | CPUID_SEP | CPUID_PGE | CPUID_CMOV)

void op_cpuid(CPU *cpu, const Insn *in) {
    (void)in;
    uint32_t leaf = cpu->regs[R_EAX], asked = leaf;
    uint32_t a, b, c, d;
    if (leaf > 2) leaf = 2; /* above the maximum: the highest basic leaf, as Intel does */
    switch (leaf) {
    case 0:
        a = 2;
        b = 0x756E6547; /* "Genu" */
        d = 0x49656E69; /* "ineI" */
        c = 0x6C65746E; /* "ntel" */
        break;
    case 1:
        a = 0x0652; /* family 6, model 5, stepping 2: Pentium II (Deschutes), the first with FXSR */
        b = c = 0;
        d = CPUID_FEATURES | (fpu_backend_available() ? CPUID_FPU | CPUID_MMX | CPUID_FXSR : 0);
        if (fpu_backend_available() && sse_host_available()) { /* ops_sse.c */
            d |= CPUID_SSE_EDX;
            c |= CPUID_SSE_ECX;
            b = 8 << 8; /* CLFLUSH line size: 8 * 8 = 64 bytes */
        }
        cpuid_apic(cpu, &b, &d);
        break;
    default: /* cache and TLB descriptors of a Pentium II */
        a = 0x03020101;
        b = c = 0;
        d = 0x0C040843;
        break;
    }
    cpu->regs[R_EAX] = a;
    cpu->regs[R_EBX] = b;
    cpu->regs[R_ECX] = c;
    cpu->regs[R_EDX] = d;
    /* A paravirtual interface (-vmm pv) adds its leaves. */
    if (cpu->vmm.cpuid) cpu->vmm.cpuid(cpu->vmm.opaque, cpu, asked);
}

/* ---------------- fast system calls ---------------- */

static void flat_segment(SegReg *s, uint16_t sel, uint32_t flags) {
    s->sel = sel;
    s->base = 0;
    s->limit = 0xFFFFFFFFu;
    s->flags = flags;
}

void op_sysenter(CPU *cpu, const Insn *in) {
    (void)in;
    if (!cpu_pe(cpu) || (cpu->sysenter_cs & 0xFFFC) == 0) cpu_gp0(cpu);
    uint16_t cs = cpu->sysenter_cs & 0xFFFC;
    cpu->eflags &= ~(FL_VM | FL_IF | FL_RF);
    flat_segment(&cpu->seg[SEG_CS], cs, 0xC09B);
    flat_segment(&cpu->seg[SEG_SS], (uint16_t)(cs + 8), 0xC093);
    cpu->cpl = 0;
    cpu->regs[R_ESP] = cpu->sysenter_esp;
    cpu->next_eip = cpu->sysenter_eip;
}

void op_sysexit(CPU *cpu, const Insn *in) {
    (void)in;
    if (!cpu_pe(cpu) || cpu_v86(cpu) || cpu->cpl != 0 || (cpu->sysenter_cs & 0xFFFC) == 0)
        cpu_gp0(cpu);
    uint16_t cs = cpu->sysenter_cs & 0xFFFC;
    flat_segment(&cpu->seg[SEG_CS], (uint16_t)((cs + 16) | 3), 0xC0FB);
    flat_segment(&cpu->seg[SEG_SS], (uint16_t)((cs + 24) | 3), 0xC0F3);
    cpu->cpl = 3;
    cpu->regs[R_ESP] = cpu->regs[R_ECX];
    cpu->next_eip = cpu->regs[R_EDX];
}
