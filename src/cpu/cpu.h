/*
 * cpu.h - architectural state of the emulated P6-class x86 CPU and its public API.
 *
 * The CPU module holds the register file (general, segment, control, debug,
 * model-specific), lazily evaluated arithmetic flags, the decoder and the
 * emulation core (the semantics of every instruction, exception and
 * interrupt delivery), and the run loop (cpu_run) with its interrupt and
 * exception handling. A fresh CPU interprets one instruction at a time; a
 * translator (src/dbt/: dbt_attach) runs blocks through the hooks in
 * CpuRunHooks below, which are all the CPU knows of it. The CPU itself
 * depends only on the MMU (mmu/mmu.h) and the I/O bus (devices/bus.h).
 *
 * Use:
 *     PhysMem *pm = physmem_new(16 << 20);     // see mmu/mmu.h
 *     CPU *cpu = cpu_new(pm, io_bus);           // io_bus may be NULL
 *     cpu_reset(cpu);                           // F000:FFF0, real mode
 *     dbt_attach(cpu, ENGINE_JIT);              // optional: translate (dbt/dbt.h)
 *     cpu_run(cpu, 1000000);                    // run up to N instructions
 *     cpu_free(cpu);
 *
 * Exceptions raised while executing an instruction unwind (longjmp) to the
 * run loop, which delivers them with the instruction's start state intact;
 * see cpu_raise() in cpu/core.h.
 */
#ifndef BT86_CPU_H
#define BT86_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu_model.h"
#include "cpu/fpu.h"
#include "mmu/mmu.h"

struct IoBus;

/* General registers, in encoding order. */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };

/* Segment registers, in encoding order (the sreg field of ModRM). */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };
#define SEG_NONE 7

/* EFLAGS bits. */
#define FL_CF    0x00000001u
#define FL_PF    0x00000004u
#define FL_AF    0x00000010u
#define FL_ZF    0x00000040u
#define FL_SF    0x00000080u
#define FL_TF    0x00000100u
#define FL_IF    0x00000200u
#define FL_DF    0x00000400u
#define FL_OF    0x00000800u
#define FL_IOPL  0x00003000u
#define FL_NT    0x00004000u
#define FL_RF    0x00010000u
#define FL_VM    0x00020000u
#define FL_AC    0x00040000u
#define FL_VIF   0x00080000u
#define FL_VIP   0x00100000u
#define FL_ID    0x00200000u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* CR0 / CR4 bits. */
#define CR0_PE         0x00000001u
#define CR0_MP         0x00000002u
#define CR0_EM         0x00000004u
#define CR0_TS         0x00000008u
#define CR0_ET         0x00000010u
#define CR0_NE         0x00000020u
#define CR0_WP         0x00010000u
#define CR0_AM         0x00040000u
#define CR0_NW         0x20000000u
#define CR0_CD         0x40000000u
#define CR0_PG         0x80000000u
#define CR4_VME        0x0001u
#define CR4_PVI        0x0002u
#define CR4_TSD        0x0004u
#define CR4_DE         0x0008u
#define CR4_PSE        0x0010u
#define CR4_PAE        0x0020u
#define CR4_MCE        0x0040u
#define CR4_PGE        0x0080u
#define CR4_PCE        0x0100u
#define CR4_OSFXSR     0x0200u
#define CR4_OSXMMEXCPT 0x0400u

/* Exception vectors. */
enum {
    EXC_DE = 0,
    EXC_DB = 1,
    EXC_NMI = 2,
    EXC_BP = 3,
    EXC_OF = 4,
    EXC_BR = 5,
    EXC_UD = 6,
    EXC_NM = 7,
    EXC_DF = 8,
    EXC_TS = 10,
    EXC_NP = 11,
    EXC_SS = 12,
    EXC_GP = 13,
    EXC_PF = 14,
    EXC_MF = 16,
    EXC_AC = 17,
    EXC_MC = 18,
    EXC_XM = 19
};

/* An XMM register: 16 bytes, little-endian lanes. */
typedef union XmmReg {
    uint8_t b[16];
    uint16_t w[8];
    uint32_t d[4];
    uint64_t q[2];
} XmmReg;

/* MXCSR: exception flags (bits 0-5), DAZ (6), masks (7-12), rounding (13-14), FZ (15). */
#define MXCSR_RESET 0x1F80u
#define MXCSR_MASK  0xFFFFu /* the bits LDMXCSR/FXRSTOR accept (DAZ included) */

/*
 * A segment register with its hidden descriptor cache. `flags` holds bits
 * 8..23 of the descriptor's high dword, i.e. (hi >> 8) & 0xF0FF:
 * type in bits 0-3, S bit 4, DPL bits 5-6, P bit 7, AVL bit 12, D/B bit 14, G bit 15.
 * `limit` is the effective byte limit (already scaled by G).
 */
typedef struct SegReg {
    uint16_t sel;
    uint32_t base;
    uint32_t limit;
    uint32_t flags;
} SegReg;

#define SF_TYPE(f) ((f)&0xFu)
#define SF_S       0x0010u
#define SF_DPL(f)  (((f) >> 5) & 3u)
#define SF_P       0x0080u
#define SF_AVL     0x1000u
#define SF_DB      0x4000u
#define SF_G       0x8000u
/* Type bits of code/data segments (S=1). */
#define ST_ACCESSED 0x1u
#define ST_WRITABLE 0x2u /* data */
#define ST_READABLE 0x2u /* code */
#define ST_EXPDOWN  0x4u /* data */
#define ST_CONFORM  0x4u /* code */
#define ST_CODE     0x8u

typedef struct DescTable {
    uint32_t base;
    uint16_t limit;
} DescTable;

/* Lazy flags: which operation last set the arithmetic flags. */
typedef enum CcOp {
    CC_EFLAGS, /* the flags are exactly the FL_ARITH bits of cpu->eflags */
    CC_ADD,    /* res = a + b */
    CC_ADC,    /* res = a + b + 1 (ADC with carry-in; ADC without is CC_ADD) */
    CC_SUB,    /* res = a - b (also CMP, NEG with a = 0) */
    CC_SBB,    /* res = a - b - 1 (SBB with borrow-in; SBB without is CC_SUB) */
    CC_LOGIC,  /* res = a op b, CF = OF = 0 */
    CC_INC,    /* res = a + 1, CF kept in cpu->eflags */
    CC_DEC,    /* res = a - 1, CF kept in cpu->eflags */
    CC_SHL,    /* res = a << b (b = masked count, nonzero) */
    CC_SHR,    /* res = a >> b */
    CC_SAR,    /* res = a >>> b */
} CcOp;

typedef struct LazyFlags {
    uint8_t op;   /* CcOp (one byte: generated code writes op and size with one store) */
    uint8_t size; /* operand size in bytes: 1, 2 or 4 */
    uint32_t res, a, b;
} LazyFlags;

/* Model-specific registers we implement. */
#define MSR_TSC          0x10
#define MSR_APIC_BASE    0x1B
#define MSR_SYSENTER_CS  0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
/* With the model's features (cpu/cpu_model.h): MTRRs, PAT, EFER,
 * IA32_ARCH_CAPABILITIES. */
#define MSR_PLATFORM_ID         0x17 /* read-only: platform 0 */
#define MSR_BIOS_SIGN_ID        0x8B /* microcode revision: always 0 (no update loaded) */
#define MSR_MTRRCAP             0xFE
#define MSR_ARCH_CAPABILITIES   0x10A
#define MSR_MTRR_PHYSBASE0      0x200 /* PhysBase n = 0x200 + 2n, PhysMask n = 0x201 + 2n */
#define MSR_MTRR_FIX64K_00000   0x250
#define MSR_MTRR_FIX16K_80000   0x258
#define MSR_MTRR_FIX16K_A0000   0x259
#define MSR_MTRR_FIX4K_C0000    0x268 /* ... 0x26F: FIX4K_F8000 */
#define MSR_PAT                 0x277
#define MSR_MTRR_DEF_TYPE       0x2FF
#define MSR_MISC_ENABLE         0x1A0
#define MISC_ENABLE_RESET       0x1801ull    /* fast strings; BTS, PEBS unavailable */
#define MISC_ENABLE_LIMIT_CPUID (1ull << 22) /* CPUID reports at most leaf 2 */
#define MISC_ENABLE_XD_DISABLE  (1ull << 34) /* hides NX: CPUID and EFER.NXE */
#define MSR_EFER                0xC0000080u
#define EFER_NXE                0x800u
#define MTRR_VAR_COUNT          8 /* variable ranges (MTRRcap.VCNT) */
#define MTRRCAP_VALUE           (MTRR_VAR_COUNT | 0x100 | 0x400) /* VCNT, FIX, WC */
#define PAT_RESET_VALUE         0x0007040600070406ull

/* Why the run loop stopped. */
typedef enum CpuExit {
    CPU_EXIT_COUNT,   /* ran the requested number of instructions */
    CPU_EXIT_HALT,    /* HLT with no interrupt to wake it */
    CPU_EXIT_REQUEST, /* cpu->exit_request was set (device, front end) */
    CPU_EXIT_RESET,   /* triple fault or reset request: machine must reset */
    CPU_EXIT_BREAK,   /* a front-end breakpoint (debugger) */
} CpuExit;

/*
 * A debugger's breakpoints and watchpoints (the GDB stub, src/frontend/),
 * by linear address (CS base + EIP for code), never written into guest
 * memory; cpu/debug.c keeps them. With none set the run loop tests one
 * count. Breakpoints: cpu_run stops before an instruction at one of them
 * (CPU_EXIT_BREAK) and the translator ends blocks before them.
 * Watchpoints: the pages they cover lose their fast TLB entries, the
 * memory slow path (cpu/mem.c) records a hit, and cpu_run stops once the
 * accessing instruction has completed, before any interrupt is taken.
 */
typedef enum CpuWatchKind {
    CPU_WATCH_WRITE = 1,
    CPU_WATCH_READ = 2,
    CPU_WATCH_ACCESS = 3, /* read or write */
} CpuWatchKind;

typedef struct CpuBreak {
    uint32_t lin;
    uint8_t kinds; /* bit 0: set as a software breakpoint (Z0), bit 1: hardware (Z1) */
} CpuBreak;

typedef struct CpuWatch {
    uint32_t lin, len;
    CpuWatchKind kind;
} CpuWatch;

typedef enum CpuDebugStop { CPU_STOP_NONE, CPU_STOP_BREAK, CPU_STOP_WATCH } CpuDebugStop;

typedef struct CpuDebug {
    uint32_t nbreak; /* cpu_run and the translator look at breaks only when non-zero */
    CpuBreak *breaks;
    uint32_t nwatch;
    CpuWatch *watches;
    MmuWatchPage *watch_pages; /* the pages they cover, handed to the MMU */
    /* Resuming at a breakpoint: the first check after the resume lets the
     * instruction at skip_lin run. */
    bool skip_armed;
    uint32_t skip_lin;
    /* Why the last CPU_EXIT_BREAK: a breakpoint, or a watchpoint hit (which
     * one, and whether the access was a write). */
    CpuDebugStop stop;
    CpuBreak hit_break;
    CpuWatch hit_watch;
    bool hit_write;
} CpuDebug;

typedef struct CPU CPU;
typedef void (*CpuTraceFn)(CPU *cpu, void *opaque);
struct Insn;

/*
 * How cpu_run reaches a translator. A translator fills all four hooks and
 * its opaque pointer at once (dbt_attach in src/dbt/) and clears them when
 * it goes (all NULL: cpu_run interprets every instruction). Each hook gets
 * the opaque pointer:
 *   run_blocks   called at an instruction boundary with no interrupt shadow,
 *                TF, instruction breakpoint or tracer active: run translated
 *                code from CS:EIP until the machine needs a look (interrupt,
 *                I/O, invalidation, block_break, run_left exhausted). False
 *                when nothing ran (code it cannot translate): cpu_run then
 *                interprets one instruction.
 *   first_insn   under an interrupt shadow: the decoded instruction at
 *                CS:EIP (from its translation), or NULL (cpu_run decodes it);
 *                cpu_run executes it alone. May raise #PF for the fetch.
 *   map_changed  the physical address map changed (PAM, A20, shadow ROM):
 *                every translation is stale. The CPU has flushed its TLB.
 *   detach       cpu_free: the translator lets go of the CPU and frees itself.
 * Exceptions raised inside run_blocks or first_insn unwind to cpu_run as
 * from any handler (cpu_raise).
 */
typedef struct CpuRunHooks {
    bool (*run_blocks)(void *opaque);
    const struct Insn *(*first_insn)(void *opaque);
    void (*map_changed)(void *opaque);
    void (*detach)(void *opaque);
    void *opaque;
} CpuRunHooks;

/*
 * How a virtualization model (src/vmm/) watches the guest. When `before`
 * is set, cpu_run interprets every instruction (no translated blocks) and
 * calls `before` after decoding and, if it returned true, `after` once the
 * instruction has committed (not when it faults); `event` for every exception and hardware
 * interrupt the run loop delivers (kind: an IntKind from core.h; software
 * interrupts are instructions). `before` gets the interpreter's own decoded
 * copy and may replace its handler (the `trap` model runs some instructions
 * as ring 1 would). All NULL (the default): nothing is called
 * and the run loop tests one pointer per block.
 */
typedef struct CpuVmmHooks {
    bool (*before)(void *opaque, CPU *cpu, const struct Insn *in); /* true: call after */
    void (*after)(void *opaque, CPU *cpu, const struct Insn *in);
    void (*event)(void *opaque, CPU *cpu, int vector, int kind);
    /* A paravirtual interface (-vmm pv): `cpuid` may rewrite the answer to
     * CPUID leaf `leaf` (EAX as the guest asked) in EAX..EDX after the core
     * has computed it; `msr` handles an MSR the core does not know
     * (returns false: #GP as before). NULL: not called. */
    void (*cpuid)(void *opaque, CPU *cpu, uint32_t leaf);
    bool (*msr)(void *opaque, CPU *cpu, bool write, uint32_t index, uint64_t *value);
    /* VMCALL/VMMCALL (-vmm pv): the hypervisor's hypercall, on the
     * registers; false or NULL: #UD, as outside VMX operation. */
    bool (*hypercall)(void *opaque, CPU *cpu);
    void *opaque;
} CpuVmmHooks;

struct CPU {
    /* --- architectural state --- */
    uint32_t regs[8];
    uint32_t eip;
    uint32_t eflags; /* non-arithmetic bits always; arithmetic bits when lf.op == CC_EFLAGS */
    LazyFlags lf;

    /* --- execution state that generated code touches all the time: kept
     * within 128 bytes of the start so host code reaches it with 8-bit
     * displacements (dbt/jit_x86_64.c) --- */
    uint32_t next_eip;         /* set by the run loop to eip + len before executing */
    volatile int exit_request; /* leave cpu_run (front end, devices) */
    uint64_t run_left;         /* instructions left in this cpu_run call */
    uint64_t icount;           /* instructions retired */
    /* block_break asks the translated-code loop to return to the
     * dispatcher after the current instruction (set by code invalidation,
     * MMIO accesses, FERR#, address-map changes). */
    bool block_break;

    SegReg seg[SEG_COUNT];
    SegReg ldtr, tr;
    DescTable gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    uint64_t tsc_offset; /* the TSC is icount + tsc_offset (see cpu_tsc) */
    uint64_t apic_base;
    Fpu fpu; /* x87 state (cpu/fpu.h) */
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    int cpl;
    /* The CPU model (cpu_set_model) and what CPUID reports and the CPU
     * obeys: the model's features AND what bt86 implements. */
    const CpuModel *model;
    CpuFeatures feat;
    uint64_t efer;                         /* IA32_EFER: NXE (models with NX) */
    uint64_t misc_enable;                  /* IA32_MISC_ENABLE (models that have it) */
    uint64_t pat;                          /* IA32_PAT (models with PAT) */
    uint64_t mtrr_def_type;                /* the MTRRs (models with MTRR): no effect */
    uint64_t mtrr_fixed[11];               /* 0x250, 0x258, 0x259, 0x268-0x26F */
    uint64_t mtrr_var[2 * MTRR_VAR_COUNT]; /* PhysBase0, PhysMask0, PhysBase1, ... */

    /* --- execution state --- */
    bool halted;
    bool intr_shadow; /* interrupts (and #DB) inhibited for one instruction (STI, MOV/POP SS) */
    bool shadow_set;  /* set by the current instruction: shadow starts at the next */
    bool nmi_pending;
    bool nmi_blocked; /* inside an NMI handler until IRET */
    bool reset_request;
    uint32_t pending_db; /* DR6 bits of debug traps to deliver after this instruction */

    /* Exception unwinding (see cpu_raise in core.h). */
    jmp_buf exc_jmp;
    int exc_vector;
    int exc_error;       /* -1: no error code */
    int exc_nest;        /* 0 normally; 1 while delivering an event */
    int exc_first_class; /* class of the event being delivered (benign, contributory, #PF, #DF) */
    bool in_run;         /* inside cpu_run: cpu_raise may unwind */

    /* Interrupt controller hook: irq_pending() says whether INTR is raised;
     * irq_ack() returns the vector (the INTA cycle). */
    bool (*irq_pending)(void *opaque);
    int (*irq_ack)(void *opaque);
    void *irq_opaque;

    /* FERR# output of the x87 (IRQ 13 on a PC) for unmasked exceptions with
     * CR0.NE = 0; level 1 asserts, 0 (FNINIT/FNCLEX) releases. */
    void (*ferr)(void *opaque, int level);
    void *ferr_opaque;

    /* Time-stamp counter: when tsc_read is set, RDTSC and RDMSR take the
     * TSC from it and WRMSR hands the new value to tsc_write (the machine
     * derives the TSC from its virtual clock); otherwise it counts one
     * tick per retired instruction: icount + tsc_offset. */
    uint64_t (*tsc_read)(void *opaque);
    void (*tsc_write)(void *opaque, uint64_t value);
    void *tsc_opaque;

    /* Local APIC (devices/apic.h), when the machine has one: RDMSR/WRMSR
     * of IA32_APIC_BASE (0x1B) and IA32_TSC_DEADLINE (0x6E0) go to these
     * (false: #GP), and CPUID leaf 1 reports the APIC (EDX bit 9, while
     * IA32_APIC_BASE enables it) and apic_initial_id (EBX bits 31:24).
     * Without one, IA32_APIC_BASE is a plain register (apic_base). */
    bool (*apic_msr_read)(void *opaque, uint32_t msr, uint64_t *val);
    bool (*apic_msr_write)(void *opaque, uint32_t msr, uint64_t val);
    void *apic_opaque;
    uint8_t apic_initial_id;

    /* Memory and I/O. */
    Mmu mmu;
    struct IoBus *io;

    /* The translator, if one is attached (see CpuRunHooks and block_break above). */
    CpuRunHooks run_hooks;
    /* A virtualization model, if one watches (see CpuVmmHooks). */
    CpuVmmHooks vmm;

    /* A debugger's breakpoints and watchpoints (see CpuDebug). */
    CpuDebug debug;

    /* Statistics and tracing. */
    CpuTraceFn trace_fn; /* if set, called before each instruction */
    void *trace_opaque;
    /* if set, called for each interrupt/exception about to be delivered
     * (kind is an IntKind from core.h) */
    void (*event_fn)(CPU *cpu, int vector, int error_code, int kind, void *opaque);
    void *event_opaque;

    /* SSE state (ops_sse.c), architectural like the x87's; last, so that the
     * offsets translated code uses stay short: XMM0-XMM7 (byte 0 is bit 0)
     * and MXCSR. */
    XmmReg xmm[8];
    uint32_t mxcsr;
};

/* A new CPU is a pentium2 (cpu_model_pentium2); cpu_set_model changes the
 * model (then cpu_reset). */
CPU *cpu_new(PhysMem *pm, struct IoBus *io);
void cpu_set_model(CPU *cpu, const CpuModel *model);
void cpu_free(CPU *cpu);
/* Power-on / RESET state: real mode, CS=F000 base FFFF0000, EIP=FFF0. */
void cpu_reset(CPU *cpu);
/* Run up to max_insns instructions: translated through run_hooks if a
 * translator is attached, else interpreted. */
CpuExit cpu_run(CPU *cpu, uint64_t max_insns);
/* Execute exactly one instruction (or deliver one pending event). */
CpuExit cpu_step(CPU *cpu);

/* A debugger's breakpoints and watchpoints (cpu/debug.c): insert and
 * remove them by linear address (inserting one already there, or removing
 * one that is not, changes nothing); each change drops every translation
 * and TLB entry, so removing one leaves no trace. False when out of memory
 * or over the limit (CPU_DEBUG_MAX of each). */
#define CPU_DEBUG_MAX 4096
bool cpu_debug_insert_break(CPU *cpu, uint32_t lin, bool hardware);
bool cpu_debug_remove_break(CPU *cpu, uint32_t lin, bool hardware);
bool cpu_debug_insert_watch(CPU *cpu, uint32_t lin, uint32_t len, CpuWatchKind kind);
bool cpu_debug_remove_watch(CPU *cpu, uint32_t lin, uint32_t len, CpuWatchKind kind);
void cpu_debug_clear(CPU *cpu);
/* Whether lin holds a breakpoint (the translator asks while it builds a block). */
bool cpu_debug_is_break(const CPU *cpu, uint32_t lin);
/* Before resuming: let the instruction at CS:EIP run even if it holds a
 * breakpoint (the debugger stopped there). Clears the last stop. */
void cpu_debug_resume(CPU *cpu);
/* Set the breakpoints and watchpoints aside into *saved (nothing stops
 * the CPU) and put them back; between the two the set is empty. */
void cpu_debug_suspend(CPU *cpu, CpuDebug *saved);
void cpu_debug_restore(CPU *cpu, const CpuDebug *saved);

/* Full EFLAGS with the lazily computed arithmetic bits folded in. */
uint32_t cpu_get_eflags(CPU *cpu);
/* Replace the bits selected by mask (arithmetic bits included) with val. */
void cpu_set_eflags(CPU *cpu, uint32_t val, uint32_t mask);

/* Load a segment register in real/V86 style (base = sel << 4), no checks. */
void cpu_load_seg_real(CPU *cpu, int sreg, uint16_t sel);

/* Mode queries. */
static inline bool cpu_pe(const CPU *cpu) {
    return cpu->cr0 & CR0_PE;
}
static inline bool cpu_v86(const CPU *cpu) {
    return cpu->eflags & FL_VM;
}
static inline bool cpu_code32(const CPU *cpu) {
    return cpu->seg[SEG_CS].flags & SF_DB;
}
static inline bool cpu_stack32(const CPU *cpu) {
    return cpu->seg[SEG_SS].flags & SF_DB;
}

/* The instruction-counting TSC (without tsc_read): one tick per retired
 * instruction plus what was written to it or skipped while idle. */
static inline uint64_t cpu_tsc(const CPU *cpu) {
    return cpu->icount + cpu->tsc_offset;
}
static inline void cpu_tsc_set(CPU *cpu, uint64_t value) {
    cpu->tsc_offset = value - cpu->icount;
}

/* Snapshots (snap/snap.h, cpu_snap.c): every architectural register
 * with the segment caches, x87/MMX, MSRs, pending interrupt and shadow
 * state, and the instruction count. cpu_load validates, and with
 * r->apply commits and flushes the TLB (the caller flushes translations). */
struct SnapWriter;
struct SnapReader;
/* The version of the "cpu" section cpu_save writes: 2 added XMM0-7 and
 * MXCSR, the CPU model's name, EFER, MISC_ENABLE, PAT, the MTRRs and the
 * PDPTEs (version 1 loads with them reset, into a pentium2 only). */
#define CPU_SNAP_VERSION 2
void cpu_save(const CPU *cpu, struct SnapWriter *w);
bool cpu_load(CPU *cpu, struct SnapReader *r);

#endif
