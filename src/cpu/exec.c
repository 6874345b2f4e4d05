/*
 * exec.c - the interpreter's run loop: reset state, fetch-decode-execute,
 * exception unwinding and escalation (#DF, triple fault), external
 * interrupts and NMI at instruction boundaries, the interrupt shadow, and
 * debug traps (EFLAGS.TF single-step, DR0-DR3 breakpoints, RF).
 *
 * cpu_raise() longjmps back here; the faulting instruction has not
 * committed (eip still points at it), so the exception is delivered with
 * the instruction's start state. A fault while delivering a fault becomes
 * #DF per the SDM's benign/contributory/page-fault table (Vol. 3, 6.15,
 * Table 6-5); a fault while delivering #DF is a triple fault, which stops
 * the run loop with CPU_EXIT_RESET.
 *
 * A debugger's breakpoints stop the loop before an instruction at one of
 * them, its watchpoint hits after the accessing instruction, both before
 * any interrupt is taken (CPU_EXIT_BREAK; see debug.c).
 *
 * A translator (src/dbt/) is reached only through cpu->run_hooks (see
 * CpuRunHooks in cpu.h): the loop hands it every instruction boundary that
 * nothing watches one by one, and interprets when none is attached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/core.h"
#include "cpu/ops.h"

/* The physical address map changed: translations of linear addresses
 * (the TLB) and of code (an attached translator) are stale. */
static void cpu_map_changed(void *opaque) {
    CPU *cpu = opaque;
    mmu_flush_all(&cpu->mmu);
    if (cpu->run_hooks.map_changed) cpu->run_hooks.map_changed(cpu->run_hooks.opaque);
    cpu->block_break = true;
}

CPU *cpu_new(PhysMem *pm, struct IoBus *io) {
    CPU *cpu = calloc(1, sizeof *cpu);
    if (!cpu) return NULL;
    mmu_init(&cpu->mmu, pm);
    cpu->io = io;
    pm->map_changed = cpu_map_changed;
    pm->map_opaque = cpu;
    cpu_set_model(cpu, cpu_model_pentium2());
    cpu_reset(cpu);
    return cpu;
}

void cpu_set_model(CPU *cpu, const CpuModel *model) {
    cpu->model = model;
    cpu->feat = cpu_model_features(model);
    cpu->mmu.phys_bits = model->phys_bits;
}

void cpu_free(CPU *cpu) {
    if (!cpu) return;
    if (cpu->run_hooks.detach) cpu->run_hooks.detach(cpu->run_hooks.opaque);
    free(cpu->debug.breaks);
    free(cpu->debug.watches);
    free(cpu->debug.watch_pages);
    free(cpu);
}

static void seg_set(SegReg *s, uint16_t sel, uint32_t base, uint32_t limit, uint32_t flags) {
    s->sel = sel;
    s->base = base;
    s->limit = limit;
    s->flags = flags;
}

void cpu_reset(CPU *cpu) {
    memset(cpu->regs, 0, sizeof cpu->regs);
    cpu->regs[R_EDX] = cpu->model->signature; /* as CPUID leaf 1 EAX */
    cpu->eip = 0xFFF0;
    cpu->next_eip = 0xFFF0;
    cpu->eflags = 0x2;
    cpu->lf.op = CC_EFLAGS;
    for (int i = 0; i < SEG_COUNT; i++)
        seg_set(&cpu->seg[i], 0, 0, 0xFFFF, 0x93);
    seg_set(&cpu->seg[SEG_CS], 0xF000, 0xFFFF0000u, 0xFFFF, 0x9B);
    seg_set(&cpu->ldtr, 0, 0, 0xFFFF, 0x82);
    seg_set(&cpu->tr, 0, 0, 0xFFFF, 0x8B);
    cpu->gdtr.base = cpu->idtr.base = 0;
    cpu->gdtr.limit = cpu->idtr.limit = 0xFFFF;
    cpu->cr0 = 0x60000010u;
    cpu->cr2 = cpu->cr3 = cpu->cr4 = 0;
    memset(cpu->dr, 0, sizeof cpu->dr);
    cpu->dr[6] = 0xFFFF0FF0u;
    cpu->dr[7] = 0x400;
    cpu_tsc_set(cpu, 0);
    cpu->apic_base = 0xFEE00900u;
    cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
    cpu->efer = 0;
    cpu->misc_enable = MISC_ENABLE_RESET;
    cpu->pat = PAT_RESET_VALUE;
    cpu->mtrr_def_type = 0;
    memset(cpu->mtrr_fixed, 0, sizeof cpu->mtrr_fixed);
    memset(cpu->mtrr_var, 0, sizeof cpu->mtrr_var);
    cpu->cpl = 0;
    cpu->halted = false;
    cpu->intr_shadow = cpu->shadow_set = false;
    cpu->nmi_pending = cpu->nmi_blocked = false;
    cpu->reset_request = false;
    cpu->pending_db = 0;
    cpu->exc_nest = 0;
    /* x87 at RESET (SDM Vol. 3, Table 9-1): FCW 0040h, FSW 0, FTW 5555h, registers +0.0. */
    fpu_reset(cpu);
    cpu->fpu.cw = 0x0040;
    cpu->fpu.tw = 0x5555;
    memset(cpu->fpu.regs, 0, sizeof cpu->fpu.regs);
    memset(cpu->xmm, 0, sizeof cpu->xmm); /* SSE at RESET: XMM0-7 +0.0, MXCSR 1F80h */
    cpu->mxcsr = MXCSR_RESET;
    mmu_set_pae(&cpu->mmu, false, false, NULL);
    mmu_set_paging(&cpu->mmu, false, false, false, false, 0);
}

void cpu_load_seg_real(CPU *cpu, int sreg, uint16_t sel) {
    cpu->seg[sreg].sel = sel;
    cpu->seg[sreg].base = (uint32_t)sel << 4;
}

/* ---------------- exceptions ---------------- */

noreturn void cpu_raise(CPU *cpu, int vector, int error_code) {
    if (!cpu->in_run) {
        fprintf(stderr, "bt86: exception %d raised outside the run loop\n", vector);
        abort();
    }
    cpu->exc_vector = vector;
    cpu->exc_error = error_code;
    longjmp(cpu->exc_jmp, 1);
}

/* SDM Vol. 3 Table 6-4: exception classes for double-fault detection. */
enum { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGEFAULT, EXC_DOUBLE };
static int exception_class(int vector) {
    switch (vector) {
    case EXC_DE:
    case EXC_TS:
    case EXC_NP:
    case EXC_SS:
    case EXC_GP: return EXC_CONTRIBUTORY;
    case EXC_PF: return EXC_PAGEFAULT;
    case EXC_DF: return EXC_DOUBLE;
    default: return EXC_BENIGN;
    }
}

/*
 * The landing pad of cpu_raise: decide whether the raised exception is
 * delivered as is, becomes #DF, or shuts the CPU down. exc_nest tracks
 * whether we were already delivering an event (exc_first_class says which
 * kind) when the exception was raised.
 */
static void handle_raised_exception(CPU *cpu) {
    int vector = cpu->exc_vector;
    int error = cpu->exc_error;
    if (cpu->exc_nest > 0) {
        int first = cpu->exc_first_class, second = exception_class(vector);
        if (first == EXC_DOUBLE) {
            cpu->reset_request = true; /* triple fault: shutdown */
            cpu->exc_nest = 0;
            return;
        }
        if ((first == EXC_CONTRIBUTORY && second == EXC_CONTRIBUTORY) ||
            (first == EXC_PAGEFAULT && (second == EXC_CONTRIBUTORY || second == EXC_PAGEFAULT))) {
            vector = EXC_DF;
            error = 0;
        }
    }
    /* A fault cancels the interrupt shadow and pending debug traps of the
     * instruction that raised it. */
    cpu->intr_shadow = cpu->shadow_set = false;
    cpu->pending_db = 0;
    cpu->halted = false;
    cpu->exc_nest = 1;
    cpu->exc_first_class = exception_class(vector);
    if (cpu->vmm.event) cpu->vmm.event(cpu->vmm.opaque, cpu, vector, INT_EXCEPTION);
    /* Faults save the address of the faulting instruction (cpu->eip) and, on
     * P6, an EFLAGS image with RF set so that IRET does not re-trigger an
     * instruction breakpoint (SDM Vol. 3, 17.3.1.1); #DB is the exception. */
    if (vector != EXC_DB) cpu->eflags |= FL_RF;
    cpu_deliver(cpu, vector, error, INT_EXCEPTION);
    cpu->eip = cpu->next_eip;
    cpu->exc_nest = 0;
}

/* Deliver an event raised at an instruction boundary (interrupt, trap). */
static void deliver_event(CPU *cpu, int vector, int error, IntKind kind) {
    cpu->exc_nest = 1;
    cpu->exc_first_class = kind == INT_EXCEPTION ? exception_class(vector) : EXC_BENIGN;
    cpu->next_eip = cpu->eip;
    if (cpu->vmm.event) cpu->vmm.event(cpu->vmm.opaque, cpu, vector, kind);
    cpu_deliver(cpu, vector, error, kind);
    cpu->eip = cpu->next_eip;
    cpu->exc_nest = 0;
}

/* ---------------- debug registers ---------------- */

/* Bits of DR7 for breakpoint n: enabled (L or G), type (R/W), length. */
static inline bool dr_enabled(const CPU *cpu, int n) {
    return (cpu->dr[7] >> (2 * n)) & 3;
}
static inline unsigned dr_type(const CPU *cpu, int n) {
    return (cpu->dr[7] >> (16 + 4 * n)) & 3;
}
static inline uint32_t dr_len_mask(const CPU *cpu, int n) {
    static const uint32_t mask[4] = {0, 1, 7, 3}; /* 1, 2, 8 (undefined on P6), 4 bytes */
    return mask[(cpu->dr[7] >> (18 + 4 * n)) & 3];
}

void debug_check_data(CPU *cpu, uint32_t lin, unsigned size, bool write) {
    for (int n = 0; n < 4; n++) {
        if (!dr_enabled(cpu, n)) continue;
        unsigned type = dr_type(cpu, n);
        if (type == 0 || type == 2) continue; /* execute / I/O (CR4.DE) */
        if (type == 1 && !write) continue;
        uint32_t m = dr_len_mask(cpu, n);
        uint32_t bp = cpu->dr[n] & ~m;
        /* Overlap of [lin, lin+size) with [bp, bp+m]. */
        if (lin <= bp + m && bp <= lin + size - 1) cpu->pending_db |= 1u << n;
    }
}

/* Instruction breakpoints: a fault before the instruction executes, unless RF. */
static void check_exec_breakpoints(CPU *cpu) {
    if (!(cpu->dr[7] & 0xFF) || (cpu->eflags & FL_RF)) return;
    uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
    uint32_t hit = 0;
    for (int n = 0; n < 4; n++)
        if (dr_enabled(cpu, n) && dr_type(cpu, n) == 0 && cpu->dr[n] == lin) hit |= 1u << n;
    if (hit) {
        cpu->dr[6] = (cpu->dr[6] & ~0xFu) | hit;
        cpu_raise(cpu, EXC_DB, -1);
    }
}

/* ---------------- the loop ---------------- */

void exec_insn(CPU *cpu, const Insn *in) {
    uint32_t mask = cpu_code32(cpu) ? 0xFFFFFFFFu : 0xFFFFu;
    bool tf = cpu->eflags & FL_TF;
    bool rf = cpu->eflags & FL_RF;
    cpu->next_eip = (cpu->eip + in->len) & mask;
    cpu->shadow_set = false;
    cpu->pending_db = 0;
    in->fn(cpu, in);
    cpu->eip = cpu->next_eip;
    cpu->icount++;
    if (rf) cpu->eflags &= ~FL_RF;
    bool shadow = cpu->shadow_set;
    cpu->intr_shadow = shadow;
    /* Debug traps after the instruction. A MOV SS/POP SS delays them by one
     * instruction (as it does interrupts); software interrupts clear TF on
     * entry to the handler and do not single-step trap. */
    bool sw_int = in->facts.branch == BR_INT;
    bool sti = in->facts.block == BLK_STI; /* its shadow holds back interrupts only */
    uint32_t db = cpu->pending_db;
    if (tf && !sw_int) db |= 0x4000; /* BS */
    if (db && (!shadow || sti)) {
        cpu->pending_db = 0;
        cpu->dr[6] |= db;
        deliver_event(cpu, EXC_DB, -1, INT_EXCEPTION);
    }
}

static void step_instruction(CPU *cpu) {
    Insn in;
    check_exec_breakpoints(cpu);
    if (cpu->trace_fn) cpu->trace_fn(cpu, cpu->trace_opaque);
    decode_insn(cpu, cpu->eip, &in);
    if (cpu->vmm.before) {
        bool after = cpu->vmm.before(cpu->vmm.opaque, cpu, &in);
        exec_insn(cpu, &in);
        if (after) cpu->vmm.after(cpu->vmm.opaque, cpu, &in);
        return;
    }
    exec_insn(cpu, &in);
}

/* The same with the translator's decoded copy of the instruction (when
 * nothing watches instructions one by one): under an interrupt shadow,
 * the instruction after STI or MOV SS (SYSEXIT, on every Linux system
 * call) runs alone without being decoded again. */
static void step_instruction_cached(CPU *cpu) {
    const Insn *in = cpu->run_hooks.first_insn(cpu->run_hooks.opaque);
    if (in)
        exec_insn(cpu, in);
    else
        step_instruction(cpu);
}

/* Take an NMI or a maskable interrupt if one is pending and allowed. */
static bool check_interrupts(CPU *cpu) {
    if (cpu->intr_shadow) {
        cpu->intr_shadow = false;
        return false;
    }
    if (cpu->nmi_pending && !cpu->nmi_blocked) {
        cpu->nmi_pending = false;
        cpu->nmi_blocked = true;
        cpu->halted = false;
        deliver_event(cpu, EXC_NMI, -1, INT_HARDWARE);
        return true;
    }
    if ((cpu->eflags & FL_IF) && cpu->irq_pending && cpu->irq_pending(cpu->irq_opaque)) {
        int vector = cpu->irq_ack(cpu->irq_opaque);
        cpu->halted = false;
        if (vector >= 0) deliver_event(cpu, vector & 0xFF, -1, INT_HARDWARE);
        return true;
    }
    return false;
}

CpuExit cpu_run(CPU *cpu, uint64_t max_insns) {
    cpu->run_left = max_insns;
    cpu->in_run = true;
    if (setjmp(cpu->exc_jmp)) {
        if (cpu->run_left) cpu->run_left--;
        handle_raised_exception(cpu);
    }
    CpuExit why;
    for (;;) {
        if (cpu->reset_request) {
            why = CPU_EXIT_RESET;
            break;
        }
        if (cpu->exit_request) {
            cpu->exit_request = 0;
            /* A watchpoint hit asks for the stop this way: the accessing
             * instruction has completed, no interrupt has been taken. */
            why = cpu->debug.stop == CPU_STOP_WATCH ? CPU_EXIT_BREAK : CPU_EXIT_REQUEST;
            break;
        }
        if (cpu->run_left == 0) {
            why = CPU_EXIT_COUNT;
            break;
        }
        /* An interrupt shadow covers exactly the next instruction, which
         * the interpreter runs alone so interrupts are checked right after. */
        bool shadow = cpu->intr_shadow;
        /* (Delivering an interrupt may hit a watchpoint: stop there.) */
        if (check_interrupts(cpu) && cpu->exit_request) continue;
        if (cpu->halted) {
            why = CPU_EXIT_HALT;
            break;
        }
        /* A debugger's breakpoint (also at an interrupt handler's entry).
         * An interrupt shadow over that instruction still holds when the
         * debugger resumes. */
        if (cpu->debug.nbreak && cpu_debug_break_here(cpu)) {
            cpu->intr_shadow = shadow;
            why = CPU_EXIT_BREAK;
            break;
        }
        bool watched =
            cpu->trace_fn || (cpu->eflags & FL_TF) || (cpu->dr[7] & 0xFF) || cpu->vmm.before;
        bool translate = cpu->run_hooks.run_blocks && !watched;
        if (translate && !shadow && cpu->run_hooks.run_blocks(cpu->run_hooks.opaque)) continue;
        if (translate && shadow)
            step_instruction_cached(cpu);
        else
            step_instruction(cpu);
        cpu->run_left--;
    }
    cpu->in_run = false;
    return why;
}

CpuExit cpu_step(CPU *cpu) {
    return cpu_run(cpu, 1);
}
