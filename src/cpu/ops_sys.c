/*
 * ops_sys.c - system instructions: I/O with the IOPL and TSS I/O-bitmap
 * checks, HLT, CLI/STI, PUSHF/POPF, descriptor-table and task registers,
 * LAR/LSL/VERR/VERW/ARPL, control and debug registers, MSRs, TSC, CPUID,
 * SYSENTER/SYSEXIT.
 *
 * What exists follows the CPU model (cpu/cpu_model.h, cpu->feat): CR4.PAE,
 * the PDPTE loads of PAE paging, EFER.NXE, PAT and the MTRRs (kept and
 * checked as a real CPU does, with no effect on caching), and
 * IA32_ARCH_CAPABILITIES.
 *
 * Not implemented (CPUID does not report them): VME/PVI (virtual interrupt
 * flags), the local APIC, MCE/MCA, performance counters (RDPMC returns 0).
 */
#include "cpu/seg_internal.h"

#include <string.h>

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

/* Hand CR0/CR3/CR4 and EFER.NXE to the MMU; pdpte: newly loaded PDPTEs
 * (NULL: the MMU keeps those it has). */
static void update_paging(CPU *cpu, const uint64_t *pdpte) {
    mmu_set_pae(&cpu->mmu, cpu->cr4 & CR4_PAE, cpu->efer & EFER_NXE,
                pdpte ? pdpte : cpu->mmu.pdpte);
    mmu_set_paging(&cpu->mmu, cpu->cr0 & CR0_PG, cpu->cr0 & CR0_WP, cpu->cr4 & CR4_PSE,
                   cpu->cr4 & CR4_PGE, cpu->cr3);
}

/* PAE paging loads the PDPTEs from the PDPT at cr3 (SDM Vol. 3, 4.4.1):
 * #GP(0), with nothing changed, when a present one has reserved bits. */
static void load_pdptes(CPU *cpu, uint32_t cr3, uint64_t out[4]) {
    if (!mmu_load_pdptes(&cpu->mmu, cr3, out)) cpu_gp0(cpu);
}

#define CR0_IMPLEMENTED 0xE005003Fu

void cpu_set_cr0(CPU *cpu, uint32_t val) {
    val = (val & CR0_IMPLEMENTED) | CR0_ET;
    if ((val & CR0_PG) && !(val & CR0_PE)) cpu_gp0(cpu);
    if ((val & CR0_NW) && !(val & CR0_CD)) cpu_gp0(cpu);
    uint32_t old = cpu->cr0;
    /* Changing PG, CD or NW into PAE paging loads the PDPTEs. */
    uint64_t pdpte[4];
    bool reload =
        (val & CR0_PG) && (cpu->cr4 & CR4_PAE) && ((old ^ val) & (CR0_PG | CR0_CD | CR0_NW));
    if (reload) load_pdptes(cpu, cpu->cr3, pdpte);
    cpu->cr0 = val;
    if (!(val & CR0_PE)) cpu->cpl = 0;
    if (reload || ((old ^ val) & (CR0_PG | CR0_WP | CR0_PE)))
        update_paging(cpu, reload ? pdpte : NULL);
}

void cpu_set_cr3(CPU *cpu, uint32_t val) {
    /* With PAE the PDPT address takes bits 31:5. */
    val &= (cpu->feat.edx1 & CPUID_PAE) ? 0xFFFFFFF8u : 0xFFFFF018u;
    uint64_t pdpte[4];
    bool reload = (cpu->cr0 & CR0_PG) && (cpu->cr4 & CR4_PAE);
    if (reload) load_pdptes(cpu, val, pdpte);
    cpu->cr3 = val;
    update_paging(cpu, reload ? pdpte : NULL);
}

/* CR4 bits the model has: TSD, DE, PSE, PGE by their CPUID bits, PAE with
 * PAE, OSFXSR with FXSR; MCE and PCE as bt86 always accepted them. */
static uint32_t cr4_allowed(const CPU *cpu) {
    uint32_t d = cpu->feat.edx1, ok = CR4_MCE | CR4_PCE;
    if (d & CPUID_TSC) ok |= CR4_TSD;
    if (d & CPUID_DE) ok |= CR4_DE;
    if (d & CPUID_PSE) ok |= CR4_PSE;
    if (d & CPUID_PGE) ok |= CR4_PGE;
    if (d & CPUID_PAE) ok |= CR4_PAE;
    if (d & CPUID_FXSR) ok |= CR4_OSFXSR;
    if (d & CPUID_SSE) ok |= CR4_OSXMMEXCPT;
    return ok;
}

void cpu_set_cr4(CPU *cpu, uint32_t val) {
    if (val & ~cr4_allowed(cpu)) cpu_gp0(cpu);
    uint32_t old = cpu->cr4;
    /* Changing PAE, PGE or PSE into PAE paging loads the PDPTEs. */
    uint64_t pdpte[4];
    bool reload =
        (cpu->cr0 & CR0_PG) && (val & CR4_PAE) && ((old ^ val) & (CR4_PAE | CR4_PGE | CR4_PSE));
    if (reload) load_pdptes(cpu, cpu->cr3, pdpte);
    cpu->cr4 = val;
    if ((old ^ val) & (CR4_PSE | CR4_PGE | CR4_PAE)) update_paging(cpu, reload ? pdpte : NULL);
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

/* VMCALL and VMMCALL: outside VMX operation (and on a CPU without SVM)
 * #UD at any privilege level (SDM Vol. 3, VMCALL). A hypervisor model
 * (-vmm pv) takes them as hypercalls on the registers. */
void op_vmcall(CPU *cpu, const Insn *in) {
    (void)in;
    if (!cpu->vmm.hypercall || !cpu->vmm.hypercall(cpu->vmm.opaque, cpu)) cpu_ud(cpu);
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

static bool apic_msr(const CPU *cpu, uint32_t msr) {
    return msr == MSR_APIC_BASE || (msr == 0x6E0 && (cpu->feat.ecx1 & CPUID_ECX_TSC_DEADLINE));
}

/* CPUID leaf 1 with an APIC: EDX bit 9 while it is enabled, its initial ID in EBX[31:24]. */
static void cpuid_apic(CPU *cpu, uint32_t *b, uint32_t *d) {
    uint64_t base;
    if (!cpu->apic_msr_read || !cpu->apic_msr_read(cpu->apic_opaque, MSR_APIC_BASE, &base)) return;
    if (base & (1u << 11)) *d |= 1u << 9;
    *b |= (uint32_t)cpu->apic_initial_id << 24;
}

/* ---- end of the local APIC MSRs ---- */

/* Memory types: the MTRRs take UC, WC, WT, WP and WB; PAT also UC-. */
static bool mtrr_type_ok(uint64_t t) {
    return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}
static bool pat_ok(uint64_t v) {
    for (unsigned i = 0; i < 8; i++) {
        uint64_t t = (v >> (8 * i)) & 0xFF;
        if (!mtrr_type_ok(t) && t != 7) return false;
    }
    return true;
}
static bool fixed_mtrr_ok(uint64_t v) {
    for (unsigned i = 0; i < 8; i++)
        if (!mtrr_type_ok((v >> (8 * i)) & 0xFF)) return false;
    return true;
}

/* NX as the CPU has it now: the model's, unless IA32_MISC_ENABLE hides it. */
static bool nx_available(const CPU *cpu) {
    return (cpu->feat.ext_edx & CPUID_EXT_NX) && !(cpu->misc_enable & MISC_ENABLE_XD_DISABLE);
}

/* IA32_MISC_ENABLE: the bits software may change, and those it reads only. */
#define MISC_ENABLE_WRITABLE                                                                       \
    (1ull << 0 | 1ull << 3 | 1ull << 16 | 1ull << 18 | MISC_ENABLE_LIMIT_CPUID | 1ull << 23 |      \
     MISC_ENABLE_XD_DISABLE)
#define MISC_ENABLE_READONLY (1ull << 11 | 1ull << 12)

/* The fixed-range MTRR's slot in cpu->mtrr_fixed, or -1. */
static int mtrr_fixed_index(uint32_t msr) {
    if (msr == MSR_MTRR_FIX64K_00000) return 0;
    if (msr == MSR_MTRR_FIX16K_80000) return 1;
    if (msr == MSR_MTRR_FIX16K_A0000) return 2;
    if (msr >= MSR_MTRR_FIX4K_C0000 && msr <= MSR_MTRR_FIX4K_C0000 + 7)
        return 3 + (int)(msr - MSR_MTRR_FIX4K_C0000);
    return -1;
}

/* The MSRs a model may have (MTRRs, PAT, EFER, IA32_ARCH_CAPABILITIES):
 * false when this model has no such MSR, or (writes) the value sets
 * reserved bits: the caller raises #GP(0). */
static bool model_msr_read(const CPU *cpu, uint32_t msr, uint64_t *v) {
    bool mtrr = cpu->feat.edx1 & CPUID_MTRR;
    int fixed = mtrr_fixed_index(msr);
    if (mtrr && msr == MSR_MTRRCAP)
        *v = MTRRCAP_VALUE;
    else if (mtrr && msr == MSR_MTRR_DEF_TYPE)
        *v = cpu->mtrr_def_type;
    else if (mtrr && fixed >= 0)
        *v = cpu->mtrr_fixed[fixed];
    else if (mtrr && msr - MSR_MTRR_PHYSBASE0 < 2 * MTRR_VAR_COUNT)
        *v = cpu->mtrr_var[msr - MSR_MTRR_PHYSBASE0];
    else if ((cpu->feat.edx1 & CPUID_PAT) && msr == MSR_PAT)
        *v = cpu->pat;
    else if ((cpu->feat.ext_edx & CPUID_EXT_NX) && msr == MSR_EFER)
        *v = cpu->efer;
    else if (cpu->model->misc_enable && msr == MSR_MISC_ENABLE)
        *v = cpu->misc_enable;
    else if (msr == MSR_BIOS_SIGN_ID)
        *v = 0; /* every P6: revision 0 in bits 63:32 */
    else if (msr == MSR_PLATFORM_ID)
        *v = 0; /* every P6: platform 0 in bits 52:50 */
    else if ((cpu->feat.edx7 & CPUID_7_ARCH_CAPABILITIES) && msr == MSR_ARCH_CAPABILITIES)
        *v = cpu->model->arch_caps;
    else
        return false;
    return true;
}

static bool model_msr_write(CPU *cpu, uint32_t msr, uint64_t v) {
    bool mtrr = cpu->feat.edx1 & CPUID_MTRR;
    int fixed = mtrr_fixed_index(msr);
    /* Physical-address bits 12..MAXPHYADDR-1 of a variable range. */
    uint64_t addr = (((uint64_t)1 << cpu->model->phys_bits) - 1) & ~(uint64_t)0xFFF;
    if (mtrr && msr == MSR_MTRR_DEF_TYPE) {
        if ((v & ~(uint64_t)0xCFF) || !mtrr_type_ok(v & 0xFF)) return false;
        cpu->mtrr_def_type = v;
    } else if (mtrr && fixed >= 0) {
        if (!fixed_mtrr_ok(v)) return false;
        cpu->mtrr_fixed[fixed] = v;
    } else if (mtrr && msr - MSR_MTRR_PHYSBASE0 < 2 * MTRR_VAR_COUNT) {
        unsigned n = msr - MSR_MTRR_PHYSBASE0;
        if (n % 2 == 0 && ((v & ~(addr | 0xFF)) || !mtrr_type_ok(v & 0xFF))) return false;
        if (n % 2 == 1 && (v & ~(addr | 0x800))) return false;
        cpu->mtrr_var[n] = v;
    } else if ((cpu->feat.edx1 & CPUID_PAT) && msr == MSR_PAT) {
        if (!pat_ok(v)) return false;
        cpu->pat = v;
    } else if ((cpu->feat.ext_edx & CPUID_EXT_NX) && msr == MSR_EFER) {
        if (v & ~(uint64_t)(nx_available(cpu) ? EFER_NXE : 0)) return false;
        uint64_t old = cpu->efer;
        cpu->efer = v;
        if (old != v) update_paging(cpu, NULL);
    } else if (msr == MSR_BIOS_SIGN_ID) {
        /* Software writes 0 before CPUID to read the revision: nothing kept. */
    } else if (cpu->model->misc_enable && msr == MSR_MISC_ENABLE) {
        if (v & ~(MISC_ENABLE_WRITABLE | MISC_ENABLE_READONLY)) return false;
        cpu->misc_enable = (v & MISC_ENABLE_WRITABLE) | (cpu->misc_enable & MISC_ENABLE_READONLY);
    } else {
        return false; /* absent, or read-only (MTRRcap, IA32_ARCH_CAPABILITIES) */
    }
    return true;
}

void op_rdmsr(CPU *cpu, const Insn *in) {
    (void)in;
    require_cpl0(cpu);
    uint64_t v;
    if (cpu->apic_msr_read && apic_msr(cpu, cpu->regs[R_ECX])) {
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
        if (!model_msr_read(cpu, cpu->regs[R_ECX], &v) &&
            (!cpu->vmm.msr || !cpu->vmm.msr(cpu->vmm.opaque, cpu, false, cpu->regs[R_ECX], &v)))
            cpu_gp0(cpu);
        break;
    }
    cpu->regs[R_EAX] = (uint32_t)v;
    cpu->regs[R_EDX] = (uint32_t)(v >> 32);
}

void op_wrmsr(CPU *cpu, const Insn *in) {
    (void)in;
    require_cpl0(cpu);
    uint64_t v = (uint64_t)cpu->regs[R_EDX] << 32 | cpu->regs[R_EAX];
    if (cpu->apic_msr_write && apic_msr(cpu, cpu->regs[R_ECX])) {
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
        if (!model_msr_write(cpu, cpu->regs[R_ECX], v) &&
            (!cpu->vmm.msr || !cpu->vmm.msr(cpu->vmm.opaque, cpu, true, cpu->regs[R_ECX], &v)))
            cpu_gp0(cpu);
        break;
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

/* Four characters of s from offset i as a register (little endian). */
static uint32_t str_reg(const char *s, size_t len, size_t i) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++)
        v |= (uint32_t)(i + k < len ? (uint8_t)s[i + k] : 0) << (8 * k);
    return v;
}

/* CPUID: the model's identification and cpu->feat (see cpu/cpu_model.h).
 * Above the maximum basic or extended leaf: the highest basic leaf, as
 * Intel processors do. */
void op_cpuid(CPU *cpu, const Insn *in) {
    (void)in;
    const CpuModel *m = cpu->model;
    const CpuFeatures *f = &cpu->feat;
    uint32_t leaf = cpu->regs[R_EAX], asked = leaf, sub = cpu->regs[R_ECX];
    uint32_t a = 0, b = 0, c = 0, d = 0;
    uint32_t max_basic = m->max_basic;
    if ((cpu->misc_enable & MISC_ENABLE_LIMIT_CPUID) && max_basic > 2) max_basic = 2;
    if (leaf >= 0x80000000u ? (m->max_ext == 0 || leaf > m->max_ext) : leaf > max_basic)
        leaf = max_basic;
    switch (leaf) {
    case 0:
        a = max_basic;
        b = str_reg(m->vendor, 12, 0);
        d = str_reg(m->vendor, 12, 4);
        c = str_reg(m->vendor, 12, 8);
        break;
    case 1:
        a = m->signature;
        b = (f->edx1 & CPUID_CLFSH) ? 8u << 8 : 0; /* CLFLUSH line size: 8 * 8 bytes */
        /* The TSC-deadline timer needs a local APIC (no hooks: a bare CPU). */
        c = cpu->apic_msr_read ? f->ecx1 : f->ecx1 & ~CPUID_ECX_TSC_DEADLINE;
        /* The APIC bit follows IA32_APIC_BASE's enable bit (devices/apic.c). */
        d = f->edx1 & ~CPUID_APIC;
        if (f->edx1 & CPUID_APIC) cpuid_apic(cpu, &b, &d);
        break;
    case 2:
        a = m->leaf2[0];
        b = m->leaf2[1];
        c = m->leaf2[2];
        d = m->leaf2[3];
        break;
    case 7:
        if (sub == 0) d = f->edx7; /* EAX = 0: subleaf 0 is the last */
        break;
    case 0x80000000u: a = m->max_ext; break;
    case 0x80000001u: d = f->ext_edx & (nx_available(cpu) ? ~0u : ~CPUID_EXT_NX); break;
    case 0x80000002u:
    case 0x80000003u:
    case 0x80000004u:
        if (m->brand) {
            size_t len = strlen(m->brand), at = (leaf - 0x80000002u) * 16;
            if (len > 47) len = 47; /* NUL-terminated within 48 bytes */
            a = str_reg(m->brand, len, at);
            b = str_reg(m->brand, len, at + 4);
            c = str_reg(m->brand, len, at + 8);
            d = str_reg(m->brand, len, at + 12);
        }
        break;
    case 0x80000006u: c = m->l2_ecx; break;
    case 0x80000008u: a = 32u << 8 | m->phys_bits; break; /* linear, physical address bits */
    default: break; /* leaves this model has but reports nothing in */
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
