/*
 * vmm.c - the virtualization lab's models, counters, cost model and
 * reports (see vmm.h; the JSON schema and the cost figures are in
 * docs/vmm-report.md).
 */
#include "vmm/vmm.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu/core.h"
#include "cpu/ops.h"
#include "devices/iostats.h"
#include "mmu/mmu.h"

/* ---------------- event classes and their costs ---------------- */

enum {
    M_TRAP = 1u << VMM_TRAP | 1u << VMM_TRAP_DETECT,
    M_BT = 1u << VMM_BT,
    M_HW = 1u << VMM_HW,
    M_EPT = 1u << VMM_HW_EPT | 1u << VMM_PV,
    M_PV = 1u << VMM_PV,
    M_ALL = M_TRAP | M_BT | M_HW | M_EPT,
};

/* Every event class of every model. The report lists the classes of the
 * running model, zeros included. */
typedef enum VmmEvent {
    /* trap and trap-detect: a trap to the VMM, by instruction class */
    T_CLI_STI,
    T_IO,
    T_HLT,
    T_CR_READ,
    T_CR_WRITE,
    T_CR3,
    T_INVLPG,
    T_DR,
    T_MSR,
    T_DESC,
    T_IRET,
    T_OTHER_PRIV,
    T_INT,
    T_EXC,
    T_PF_GUEST,
    T_PF_HIDDEN,
    T_PF_TRACE,
    T_MMIO,
    T_IRQ,
    /* bt */
    B_IDENT,
    B_DIRECT_USER,
    B_DIRECT_BRANCH,
    B_INDIRECT,
    B_INLINE,
    B_IO,
    B_CR_WRITE,
    B_CR3,
    B_INVLPG,
    B_MSR,
    B_DESC,
    B_HLT,
    B_OTHER,
    B_SYSCALL,
    B_EXC,
    B_PF_GUEST,
    B_PF_HIDDEN,
    B_PF_TRACE,
    B_MMIO,
    B_IRQ,
    B_TRANSLATE,
    B_TC_INVALIDATE,
    /* hw, hw-ept, pv: VM exits by the SDM's basic exit reasons */
    X_EXC_PF_GUEST,
    X_EXC_PF_HIDDEN,
    X_EXC_PF_TRACE,
    X_EXTINT,
    X_INTWIN,
    X_CPUID,
    X_HLT,
    X_INVLPG,
    X_VMCALL,
    X_CR,
    X_DR,
    X_IO,
    X_RDMSR,
    X_WRMSR,
    X_MMIO,
    P_KVMCLOCK_MSR,
    P_CPUID_PV,
    /* exit.io split by the I/O path the instruction reached (IoStats) */
    X_IO_IDE,
    X_IO_VIRTIO,
    /* the I/O paths' own counters (devices/iostats.h), every model */
    D_VIRTIO_NOTIFY,
    D_VIRTIO_IRQ,
    D_VIRTIO_PORT,
    D_VIRTIO_BLK_BYTES,
    D_IDE_PORT,
    D_IDE_PIO_BYTES,
    D_IDE_DMA_BYTES,
    EV_COUNT
} VmmEvent;

typedef struct EventInfo {
    const char *name;
    unsigned models;
    double cost;        /* cycles: trap, bt and hw (first generation) */
    double cost_recent; /* cycles under hw-ept and pv (a recent CPU's exit) */
} EventInfo;

/* Default costs: docs/vmm-report.md says where each comes from. A2006 =
 * Adams and Agesen, ASPLOS 2006 (Pentium 4); "assumed" rows are not
 * measurements. */
#define TRAP_COST  2000.0 /* assumed: #GP to ring 0, decode, emulate, IRET */
#define BT_CALLOUT 400.0  /* assumed, close to A2006's ptemod call-out (391) */
#define EXIT_P4    2500.0 /* assumed: a first-generation VT-x round trip */
#define EXIT_NEW   2000.0 /* Nehalem with KVM (SplitX, WIOV 2011) */
static const EventInfo event_info[EV_COUNT] = {
    [T_CLI_STI] = {"trap.cli_sti", M_TRAP, TRAP_COST, 0},
    [T_IO] = {"trap.io", M_TRAP, TRAP_COST, 0},
    [T_HLT] = {"trap.hlt", M_TRAP, TRAP_COST, 0},
    [T_CR_READ] = {"trap.cr_read", M_TRAP, TRAP_COST, 0},
    [T_CR_WRITE] = {"trap.cr_write", M_TRAP, TRAP_COST, 0},
    [T_CR3] = {"trap.cr3_switch", M_TRAP, TRAP_COST, 0},
    [T_INVLPG] = {"trap.invlpg", M_TRAP, TRAP_COST, 0},
    [T_DR] = {"trap.dr", M_TRAP, TRAP_COST, 0},
    [T_MSR] = {"trap.msr", M_TRAP, TRAP_COST, 0},
    [T_DESC] = {"trap.desc_load", M_TRAP, TRAP_COST, 0},
    [T_IRET] = {"trap.iret", M_TRAP, TRAP_COST, 0},
    [T_OTHER_PRIV] = {"trap.other_priv", M_TRAP, TRAP_COST, 0},
    [T_INT] = {"trap.int", M_TRAP, TRAP_COST, 0},
    [T_EXC] = {"trap.exception", M_TRAP, TRAP_COST, 0},
    [T_PF_GUEST] = {"trap.pf_guest", M_TRAP, TRAP_COST, 0},
    [T_PF_HIDDEN] = {"trap.pf_hidden", M_TRAP, TRAP_COST, 0},
    [T_PF_TRACE] = {"trap.pf_tracing", M_TRAP, TRAP_COST, 0},
    [T_MMIO] = {"trap.mmio", M_TRAP, TRAP_COST, 0},
    [T_IRQ] = {"trap.irq", M_TRAP, TRAP_COST, 0},
    [B_IDENT] = {"bt.ident", M_BT, 0, 0},
    [B_DIRECT_USER] = {"bt.direct_user", M_BT, 0, 0},
    [B_DIRECT_BRANCH] = {"bt.direct_branch", M_BT, 0, 0},
    [B_INDIRECT] = {"bt.indirect", M_BT, 40, 0}, /* A2006 call/ret: 51 - 11 */
    [B_INLINE] = {"bt.inline", M_BT, 35, 0},     /* A2006 cr8wr under BT */
    [B_IO] = {"bt.callout.io", M_BT, 214, 0},    /* A2006 in under BT */
    [B_CR_WRITE] = {"bt.callout.cr_write", M_BT, BT_CALLOUT, 0},
    [B_CR3] = {"bt.callout.cr3_switch", M_BT, BT_CALLOUT, 0},
    [B_INVLPG] = {"bt.callout.invlpg", M_BT, BT_CALLOUT, 0},
    [B_MSR] = {"bt.callout.msr", M_BT, BT_CALLOUT, 0},
    [B_DESC] = {"bt.callout.desc_load", M_BT, BT_CALLOUT, 0},
    [B_HLT] = {"bt.callout.hlt", M_BT, BT_CALLOUT, 0},
    [B_OTHER] = {"bt.callout.other", M_BT, BT_CALLOUT, 0},
    [B_SYSCALL] = {"bt.syscall", M_BT, 2000, 0},   /* A2006 syscall: about native + 2000 */
    [B_EXC] = {"bt.exception", M_BT, 2334, 0},     /* A2006 divzero: 3223 - 889 */
    [B_PF_GUEST] = {"bt.pf_guest", M_BT, 2834, 0}, /* A2006 pgfault: 3927 - 1093 */
    [B_PF_HIDDEN] = {"bt.pf_hidden", M_BT, 2834, 0},
    [B_PF_TRACE] = {"bt.pf_tracing", M_BT, 390, 0}, /* A2006 ptemod: 391 - 1 */
    [B_MMIO] = {"bt.mmio", M_BT, 214, 0},
    [B_IRQ] = {"bt.irq", M_BT, 2000, 0},
    [B_TRANSLATE] = {"bt.translate", M_BT, 0, 0},
    [B_TC_INVALIDATE] = {"bt.tc_invalidate", M_BT, 0, 0},
    [X_EXC_PF_GUEST] = {"exit.exception.pf_guest", M_HW, 10149,
                        EXIT_NEW}, /* A2006 pgfault: 11242 - 1093 */
    [X_EXC_PF_HIDDEN] = {"exit.exception.pf_hidden", M_HW, 10149, EXIT_NEW},
    [X_EXC_PF_TRACE] = {"exit.exception.pf_tracing", M_HW, 12732, EXIT_NEW}, /* A2006 ptemod */
    [X_EXTINT] = {"exit.external_interrupt", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_INTWIN] = {"exit.interrupt_window", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_CPUID] = {"exit.cpuid", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_HLT] = {"exit.hlt", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_INVLPG] = {"exit.invlpg", M_HW, EXIT_P4, EXIT_NEW},
    [X_VMCALL] = {"exit.vmcall", M_PV, EXIT_P4, EXIT_NEW},
    [X_CR] = {"exit.cr_access", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_DR] = {"exit.dr_access", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_IO] = {"exit.io", M_HW | M_EPT, 12617, EXIT_NEW}, /* A2006 in: 15826 - 3209 */
    [X_RDMSR] = {"exit.rdmsr", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_WRMSR] = {"exit.wrmsr", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_MMIO] = {"exit.mmio", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    /* pv: what the paravirtual interface was asked (each also an exit
     * above: WRMSR/RDMSR, CPUID) */
    [P_KVMCLOCK_MSR] = {"pv.kvmclock_msr", M_PV, 0, 0},
    [P_CPUID_PV] = {"pv.cpuid_hypervisor_leaf", M_PV, 0, 0},
    /* Breakdowns and device counters: no cost of their own (the exits
     * are costed as exit.io). */
    [X_IO_IDE] = {"exit.io.ide", M_HW | M_EPT, 0, 0},
    [X_IO_VIRTIO] = {"exit.io.virtio", M_HW | M_EPT, 0, 0},
    [D_VIRTIO_NOTIFY] = {"virtio.notify", M_ALL, 0, 0},
    [D_VIRTIO_IRQ] = {"virtio.irq", M_ALL, 0, 0},
    [D_VIRTIO_PORT] = {"virtio.port_access", M_ALL, 0, 0},
    [D_VIRTIO_BLK_BYTES] = {"virtio.blk_bytes", M_ALL, 0, 0},
    [D_IDE_PORT] = {"ide.port_access", M_ALL, 0, 0},
    [D_IDE_PIO_BYTES] = {"ide.pio_bytes", M_ALL, 0, 0},
    [D_IDE_DMA_BYTES] = {"ide.dma_bytes", M_ALL, 0, 0},
};

/* The VMX basic exit reason of each exit class (SDM Vol. 3, Appendix C);
 * MMIO: #PF (0) without EPT, EPT misconfiguration (49) with it. */
static int exit_reason(VmmEvent e, VmmModel m) {
    switch (e) {
    case X_EXC_PF_GUEST:
    case X_EXC_PF_HIDDEN:
    case X_EXC_PF_TRACE: return 0;
    case X_EXTINT: return 1;
    case X_INTWIN: return 7;
    case X_CPUID: return 10;
    case X_HLT: return 12;
    case X_INVLPG: return 14;
    case X_VMCALL: return 18;
    case X_CR: return 28;
    case X_DR: return 29;
    case X_IO: return 30;
    case X_RDMSR: return 31;
    case X_WRMSR: return 32;
    case X_MMIO: return m == VMM_HW ? 0 : 49;
    default: return -1;
    }
}

/* ---------------- state ---------------- */

#define VMM_MAX_VIOLATIONS 4096
#define VMM_MAX_SAMPLES    4096
#define VMM_SAMPLE_INSNS   (1u << 20)
#define SHADOW_BITS        16
#define TC_BITS            18

typedef struct Violation {
    uint32_t eip; /* linear address */
    const char *mnemonic;
    uint64_t count;   /* executions */
    uint64_t differs; /* ... where the guest saw something else than it should have */
    int cpl;
    char saw[48], expected[48]; /* the first execution that differed, else the first one */
} Violation;

typedef struct Sample {
    uint64_t insns;
    double seconds;
    uint64_t events;
} Sample;

struct Vmm {
    VmmModel model;
    CPU *cpu;
    double cost[EV_COUNT];
    uint64_t count[EV_COUNT];
    const IoStats *io; /* the machine's I/O path counters, or NULL */
    IoStats io_base;   /* ... when they were attached */
    uint64_t pre_io_ide, pre_io_virtio;
    bool pre_io;
    uint64_t instructions, kernel_insns, user_insns, realmode_insns;
    Violation *viol;
    unsigned nviol;
    uint64_t viol_dropped;
    /* State saved by `before` for `after`. */
    uint32_t pre_eflags, pre_arg;
    bool pre_kernel; /* protected mode (not V86), CPL 0 */
    bool pre_pm;
    int pre_kind; /* the sensitive instruction being watched (SENS_*), or 0 */
    /* Shadow paging: linear pages the shadow maps (bit 0 read, 1 write,
     * 2 user), in a direct-mapped table; cleared on CR3 switches. */
    uint32_t shadow_tag[1u << SHADOW_BITS];
    uint8_t shadow_bits[1u << SHADOW_BITS];
    uint8_t *traced; /* per RAM page: 1 page table, 2 translated code */
    uint32_t npages;
    uint32_t shadow_cr3;
    uint64_t pv_system_time; /* pv: the kvm-clock system-time MSR */
    /* bt: translated units by linear start address (0 = empty). */
    uint32_t *tc;
    uint64_t tc_units;
    bool block_start; /* the next kernel instruction starts a translation unit */
    unsigned unit_len;
    /* Events over the run. */
    Sample samples[VMM_MAX_SAMPLES];
    unsigned nsamples;
    uint64_t next_sample;
    struct timespec start;
};

static const char *const model_names[VMM_MODEL_COUNT] = {"none", "trap",   "trap-detect", "bt",
                                                         "hw",   "hw-ept", "pv"};

int vmm_model_parse(const char *name, VmmModel *out) {
    for (int i = 0; i < VMM_MODEL_COUNT; i++)
        if (strcmp(name, model_names[i]) == 0) {
            *out = (VmmModel)i;
            return 0;
        }
    return -1;
}

const char *vmm_model_name(VmmModel m) {
    return m < VMM_MODEL_COUNT ? model_names[m] : "?";
}

static bool has_event(const Vmm *v, int e) {
    return event_info[e].models & (1u << v->model);
}

/* A class's count: the device classes from the IoStats since attach. */
static uint64_t evcount(const Vmm *v, int e) {
    const IoStats *io = v->io, *b = &v->io_base;
    if (e < D_VIRTIO_NOTIFY) return v->count[e];
    if (!io) return 0;
    switch (e) {
    case D_VIRTIO_NOTIFY: return io->virtio_notify - b->virtio_notify;
    case D_VIRTIO_IRQ: return io->virtio_irq - b->virtio_irq;
    case D_VIRTIO_PORT: return io->virtio_port_access - b->virtio_port_access;
    case D_VIRTIO_BLK_BYTES: return io->virtio_blk_bytes - b->virtio_blk_bytes;
    case D_IDE_PORT: return io->ide_port_access - b->ide_port_access;
    case D_IDE_PIO_BYTES: return io->ide_pio_bytes - b->ide_pio_bytes;
    case D_IDE_DMA_BYTES: return io->ide_dma_bytes - b->ide_dma_bytes;
    default: return 0;
    }
}

void vmm_set_io_stats(Vmm *v, const IoStats *io) {
    v->io = io;
    if (io) v->io_base = *io;
}

static double now_seconds(const struct timespec *start) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - start->tv_sec) + (double)(t.tv_nsec - start->tv_nsec) * 1e-9;
}

Vmm *vmm_new(VmmModel model) {
    if (model == VMM_NONE || model >= VMM_MODEL_COUNT) return NULL;
    Vmm *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->model = model;
    bool recent = model == VMM_HW_EPT || model == VMM_PV;
    for (int e = 0; e < EV_COUNT; e++)
        v->cost[e] =
            recent && event_info[e].cost_recent ? event_info[e].cost_recent : event_info[e].cost;
    v->viol = calloc(VMM_MAX_VIOLATIONS, sizeof *v->viol);
    v->tc = model == VMM_BT ? calloc(1u << TC_BITS, sizeof *v->tc) : NULL;
    if (!v->viol || (model == VMM_BT && !v->tc)) {
        vmm_free(v);
        return NULL;
    }
    v->block_start = true;
    v->next_sample = VMM_SAMPLE_INSNS;
    clock_gettime(CLOCK_MONOTONIC, &v->start);
    return v;
}

void vmm_free(Vmm *v) {
    if (!v) return;
    if (v->cpu && v->cpu->vmm.opaque == v) {
        v->cpu->vmm = (CpuVmmHooks){0};
        v->cpu->mmu.walk_hook = NULL;
        PhysMem *pm = v->cpu->mmu.pm;
        if (pm->code_opaque == v) {
            pm->code_written = NULL;
            pm->mmio_touched = NULL;
            if (pm->code_pages) memset(pm->code_pages, 0, pm->ram_size / 4096 + 1);
        }
    }
    free(v->traced);
    free(v->tc);
    free(v->viol);
    free(v);
}

VmmModel vmm_model(const Vmm *v) {
    return v->model;
}

static int find_event(const char *name) {
    for (int e = 0; e < EV_COUNT; e++)
        if (strcmp(event_info[e].name, name) == 0) return e;
    return -1;
}

uint64_t vmm_count(const Vmm *v, const char *cls) {
    int e = find_event(cls);
    return e >= 0 && has_event(v, e) ? evcount(v, e) : 0;
}

uint64_t vmm_instructions(const Vmm *v) {
    return v->instructions;
}

double vmm_modeled_cycles(const Vmm *v) {
    double c = 0;
    for (int e = 0; e < EV_COUNT; e++)
        if (has_event(v, e)) c += (double)evcount(v, e) * v->cost[e];
    return c;
}

int vmm_load_costs(Vmm *v, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char line[256];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char name[128], extra[8];
        double cycles;
        int n = sscanf(line, "%127s %lf %7s", name, &cycles, extra);
        if (n <= 0) continue;
        int e = n == 2 ? find_event(name) : -2;
        if (e == -2 || !(cycles >= 0 && cycles < 1e12)) {
            snprintf(err, errlen, "%s:%d: expected 'CLASS CYCLES'", path, lineno);
            fclose(f);
            return -1;
        }
        if (e < 0) {
            snprintf(err, errlen, "%s:%d: unknown event class '%s'", path, lineno, name);
            fclose(f);
            return -1;
        }
        v->cost[e] = cycles;
    }
    fclose(f);
    return 0;
}

/* ---------------- counting ---------------- */

static inline void count(Vmm *v, VmmEvent e) {
    if (has_event(v, e)) v->count[e]++;
}

static void record_violation(Vmm *v, CPU *cpu, const Insn *in, bool differs, const char *saw,
                             const char *expected) {
    uint32_t lin = cpu->seg[SEG_CS].base + v->cpu->eip;
    (void)cpu;
    Violation *x = NULL;
    for (unsigned i = 0; i < v->nviol; i++)
        if (v->viol[i].eip == lin && strcmp(v->viol[i].mnemonic, in->name) == 0) {
            x = &v->viol[i];
            break;
        }
    if (!x) {
        if (v->nviol == VMM_MAX_VIOLATIONS) {
            v->viol_dropped++;
            return;
        }
        x = &v->viol[v->nviol++];
        x->eip = lin;
        x->mnemonic = in->name;
        x->cpl = cpu->cpl;
        snprintf(x->saw, sizeof x->saw, "%s", saw);
        snprintf(x->expected, sizeof x->expected, "%s", expected);
    } else if (differs && !x->differs) {
        snprintf(x->saw, sizeof x->saw, "%s", saw);
        snprintf(x->expected, sizeof x->expected, "%s", expected);
    }
    x->count++;
    if (differs) x->differs++;
}

/* Instruction classes the models tell apart. */
typedef enum InsnClass {
    C_NONE,
    C_CLI_STI,
    C_IO,
    C_HLT,
    C_CR_READ,
    C_CR_WRITE,
    C_CR3_WRITE,
    C_CR3_READ,
    C_INVLPG,
    C_DR,
    C_RDMSR,
    C_WRMSR,
    C_DESC,
    C_IRET,
    C_OTHER_PRIV, /* INVD/WBINVD, SYSEXIT */
    C_CPUID,
    C_INT,      /* INT n, INT3, INTO, INT1, SYSENTER */
    C_SENSITIVE /* Robin and Irvine's list: see sensitive_kind */
} InsnClass;

/* The sensitive, unprivileged instructions, by how ring 1 changes them. */
enum {
    SENS_NONE,
    SENS_PUSHF,
    SENS_POPF,
    SENS_PUSH_SREG,
    SENS_POP_SREG,
    SENS_MOV_FROM_SREG,
    SENS_MOV_TO_SREG,
    SENS_SGDT,
    SENS_SIDT,
    SENS_SLDT,
    SENS_STR,
    SENS_SMSW,
    SENS_LAR,
    SENS_LSL,
    SENS_VERR,
    SENS_VERW,
    SENS_FAR, /* far CALL/JMP/RET */
    SENS_INT, /* INT n */
};

static int sensitive_kind(const Insn *in) {
    OpFn f = in->fn;
    if (f == op_pushf) return SENS_PUSHF;
    if (f == op_popf) return SENS_POPF;
    if (f == op_push_sreg) return SENS_PUSH_SREG;
    if (f == op_pop_sreg) return SENS_POP_SREG;
    if (f == op_mov_rm_sreg) return SENS_MOV_FROM_SREG;
    if (f == op_mov_sreg_rm) return SENS_MOV_TO_SREG;
    if (f == op_sgdt) return SENS_SGDT;
    if (f == op_sidt) return SENS_SIDT;
    if (f == op_sldt) return SENS_SLDT;
    if (f == op_str) return SENS_STR;
    if (f == op_smsw) return SENS_SMSW;
    if (f == op_lar) return SENS_LAR;
    if (f == op_lsl) return SENS_LSL;
    if (f == op_verr) return SENS_VERR;
    if (f == op_verw) return SENS_VERW;
    if (f == op_call_far_imm || f == op_call_far_rm || f == op_jmp_far_imm || f == op_jmp_far_rm ||
        f == op_ret_far)
        return SENS_FAR;
    if (f == op_int) return SENS_INT;
    return SENS_NONE;
}

static InsnClass classify_fn(const Insn *in) {
    OpFn f = in->fn;
    if (f == op_cli || f == op_sti) return C_CLI_STI;
    if (f == op_in || f == op_out || f == op_ins || f == op_outs) return C_IO;
    if (f == op_hlt) return C_HLT;
    if (f == op_mov_r_cr) return in->reg == 3 ? C_CR3_READ : C_CR_READ;
    if (f == op_mov_cr_r) return in->reg == 3 ? C_CR3_WRITE : C_CR_WRITE;
    if (f == op_clts || f == op_lmsw) return C_CR_WRITE;
    if (f == op_invlpg) return C_INVLPG;
    if (f == op_mov_r_dr || f == op_mov_dr_r) return C_DR;
    if (f == op_rdmsr) return C_RDMSR;
    if (f == op_wrmsr) return C_WRMSR;
    if (f == op_lgdt || f == op_lidt || f == op_lldt || f == op_ltr) return C_DESC;
    if (f == op_iret) return C_IRET;
    if (f == op_invd || f == op_sysexit) return C_OTHER_PRIV;
    if (f == op_cpuid) return C_CPUID;
    if (f == op_int || f == op_int3 || f == op_into || f == op_int1 || f == op_sysenter)
        return C_INT;
    if (sensitive_kind(in)) return C_SENSITIVE;
    return C_NONE;
}

/* The class depends on the handler only (and, for MOV CRn, on ModRM.reg):
 * a small cache keyed by the handler spares the comparisons above on
 * nearly every instruction. */
typedef struct ClassCache {
    OpFn fn;
    uint8_t cls, sens;
} ClassCache;
static _Thread_local ClassCache class_cache[512];

static InsnClass classify(const Insn *in, int *sens) {
    if (in->fn == op_mov_r_cr || in->fn == op_mov_cr_r) {
        *sens = 0;
        return classify_fn(in);
    }
    uintptr_t h = ((uintptr_t)in->fn >> 4) & 511;
    ClassCache *c = &class_cache[h];
    if (c->fn != in->fn) {
        c->fn = in->fn;
        c->cls = (uint8_t)classify_fn(in);
        c->sens = (uint8_t)sensitive_kind(in);
    }
    *sens = c->sens;
    return (InsnClass)c->cls;
}

/* The selectors and table bases a ring-compressing VMM would show (its own
 * GDT, IDT, LDT and TSS, in the top 4 MiB of the address space where it
 * lives). Made-up but fixed values: docs/teaching/ uses them. */
#define VMM_GDT_BASE 0xFFC01000u
#define VMM_IDT_BASE 0xFFC00000u
#define VMM_IDT_LIM  0x07FFu
#define VMM_LDT_SEL  0x0FF8u
#define VMM_TSS_SEL  0x0FF0u

static void shadow_flush(Vmm *v) {
    memset(v->shadow_tag, 0xFF, sizeof v->shadow_tag);
}

static void trap_insn(Vmm *v, CPU *cpu, const Insn *in, InsnClass c, bool kernel) {
    switch (c) {
    case C_CLI_STI:
        if (kernel) count(v, T_CLI_STI);
        break;
    case C_IO: count(v, T_IO); break; /* the VMM never hands the guest real ports */
    case C_HLT:
        if (kernel) count(v, T_HLT);
        break;
    case C_CR_READ:
    case C_CR3_READ:
        if (kernel) count(v, T_CR_READ);
        break;
    case C_CR_WRITE:
        if (kernel) count(v, T_CR_WRITE);
        break;
    case C_CR3_WRITE:
        if (kernel) count(v, T_CR3);
        break;
    case C_INVLPG:
        if (kernel) count(v, T_INVLPG);
        break;
    case C_DR:
        if (kernel) count(v, T_DR);
        break;
    case C_RDMSR:
    case C_WRMSR:
        if (kernel) count(v, T_MSR);
        break;
    case C_DESC:
        if (kernel) count(v, T_DESC);
        break;
    case C_OTHER_PRIV:
        if (kernel) count(v, T_OTHER_PRIV);
        break;
    case C_IRET:
        /* An IRET back to ring 0 code would be an IRET to RPL 0 from ring
         * 1: #GP, emulated. One to user mode runs directly. */
        if (kernel && (stack_peek(cpu, in->osize, 2) & 3) == 0) count(v, T_IRET);
        break;
    case C_INT: count(v, T_INT); break;
    default: break;
    }
}

static void bt_insn(Vmm *v, CPU *cpu, const Insn *in, InsnClass c, int sens, bool kernel) {
    if (!kernel) {
        count(v, B_DIRECT_USER);
        if (c == C_INT) count(v, B_SYSCALL);
        if (c == C_IO) count(v, B_IO);
        return;
    }
    /* Translation units: up to 12 instructions from a block start. */
    if (v->block_start || v->unit_len >= 12) {
        uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
        uint32_t h = (lin * 0x9E3779B1u) >> (32 - TC_BITS);
        if (v->tc[h] != lin + 1) {
            v->tc[h] = lin + 1;
            v->tc_units++;
            count(v, B_TRANSLATE);
            uint32_t pa;
            if (v->traced && mmu_debug_translate(&cpu->mmu, lin, &pa) &&
                pa < cpu->mmu.pm->ram_size) {
                PhysMem *pm = cpu->mmu.pm;
                v->traced[pa >> 12] |= 2;
                if (!pm->code_pages[pa >> 12]) {
                    pm->code_pages[pa >> 12] = 1;
                    mmu_drop_write_host_page(&cpu->mmu, pm->ram + (pa & ~0xFFFu));
                }
            }
        }
        v->unit_len = 0;
    }
    v->unit_len++;
    v->block_start = in->facts.branch != BR_NONE;
    switch (c) {
    case C_CLI_STI:
    case C_CR_READ:
    case C_CR3_READ: count(v, B_INLINE); return;
    case C_IO: count(v, B_IO); return;
    case C_HLT: count(v, B_HLT); return;
    case C_CR_WRITE: count(v, B_CR_WRITE); return;
    case C_CR3_WRITE: count(v, B_CR3); return;
    case C_INVLPG: count(v, B_INVLPG); return;
    case C_RDMSR:
    case C_WRMSR: count(v, B_MSR); return;
    case C_DESC: count(v, B_DESC); return;
    case C_DR:
    case C_IRET:
    case C_OTHER_PRIV:
    case C_CPUID:
    case C_INT: count(v, B_OTHER); return;
    case C_SENSITIVE:
        switch (sens) {
        case SENS_PUSHF:
        case SENS_POPF:
        case SENS_PUSH_SREG:
        case SENS_MOV_FROM_SREG:
        case SENS_SGDT:
        case SENS_SIDT:
        case SENS_SLDT:
        case SENS_STR:
        case SENS_SMSW: count(v, B_INLINE); return;
        case SENS_POP_SREG:
        case SENS_MOV_TO_SREG: count(v, B_IDENT); return; /* shadow descriptors make them safe */
        default: count(v, B_OTHER); return;
        }
    default: break;
    }
    switch (in->facts.branch) {
    case BR_RET:
    case BR_JMP_IND:
    case BR_CALL_IND: count(v, B_INDIRECT); return;
    case BR_JCC:
    case BR_LOOP:
    case BR_JMP:
    case BR_CALL: count(v, B_DIRECT_BRANCH); return;
    default: count(v, B_IDENT); return;
    }
}

static void hw_insn(Vmm *v, CPU *cpu, const Insn *in, InsnClass c, bool kernel) {
    bool ept = v->model != VMM_HW;
    (void)kernel;
    switch (c) {
    case C_IO: count(v, X_IO); break;
    case C_HLT: count(v, X_HLT); break;
    case C_CPUID: count(v, X_CPUID); break;
    case C_CR_WRITE: count(v, X_CR); break; /* CR0/CR4 guest/host masks own every bit */
    case C_CR3_READ:
    case C_CR3_WRITE:
        if (!ept) count(v, X_CR);
        break;
    case C_INVLPG:
        if (!ept) count(v, X_INVLPG);
        break;
    case C_DR: count(v, X_DR); break;
    case C_RDMSR:
    case C_WRMSR: {
        uint32_t msr = cpu->regs[R_ECX];
        /* The MSR bitmap passes the SYSENTER MSRs (they are VMCS fields). */
        if (msr < 0x174 || msr > 0x176) count(v, c == C_RDMSR ? X_RDMSR : X_WRMSR);
        break;
    }
    default: break;
    }
    (void)in;
}

static void take_sample(Vmm *v) {
    if (v->nsamples == VMM_MAX_SAMPLES) { /* keep every other one, twice the step */
        for (unsigned i = 0; i < VMM_MAX_SAMPLES / 2; i++)
            v->samples[i] = v->samples[2 * i + 1];
        v->nsamples = VMM_MAX_SAMPLES / 2;
    }
    uint64_t total = 0;
    for (int e = 0; e < EV_COUNT; e++)
        if (has_event(v, e) && e != B_IDENT && e != B_DIRECT_USER && e != B_DIRECT_BRANCH)
            total += v->count[e];
    v->samples[v->nsamples++] = (Sample){v->instructions, now_seconds(&v->start), total};
}

static bool vmm_before(void *opaque, CPU *cpu, const Insn *in) {
    Vmm *v = opaque;
    v->instructions++;
    if (v->instructions >= v->next_sample) {
        take_sample(v);
        v->next_sample += VMM_SAMPLE_INSNS;
    }
    v->pre_kind = 0;
    bool pm = cpu_pe(cpu) && !cpu_v86(cpu);
    v->pre_pm = pm;
    if (!cpu_pe(cpu)) { /* real mode: every VMM of the time emulated it (or used BT) */
        v->realmode_insns++;
        return false;
    }
    bool kernel = pm && cpu->cpl == 0;
    v->pre_kernel = kernel;
    if (kernel)
        v->kernel_insns++;
    else
        v->user_insns++;
    int k;
    InsnClass c = classify(in, &k);
    switch (v->model) {
    case VMM_TRAP:
    case VMM_TRAP_DETECT: trap_insn(v, cpu, in, c, kernel); break;
    case VMM_BT: bt_insn(v, cpu, in, c, k, kernel); break;
    default: hw_insn(v, cpu, in, c, kernel); break;
    }
    if (c == C_IO && v->io && has_event(v, X_IO_IDE)) { /* which path it reaches: see after */
        v->pre_io = true;
        v->pre_io_ide = v->io->ide_port_access;
        v->pre_io_virtio = v->io->virtio_port_access;
    }
    if (c == C_NONE) return false;           /* most instructions */
    if (c == C_CR3_WRITE) v->shadow_cr3 = 1; /* flush the shadow once it happened */
    if (c == C_INVLPG) v->pre_arg = cpu->seg[in->seg].base + insn_ea(cpu, in);
    v->pre_eflags = cpu->eflags;
    if (c == C_CLI_STI || c == C_IRET || in->fn == op_popf) v->pre_kind = -1; /* IF watch */
    if (!k || !pm) return true;
    /* The register-sensitive ones also show the VMM to user mode. */
    bool user_visible =
        k == SENS_SGDT || k == SENS_SIDT || k == SENS_SLDT || k == SENS_STR || k == SENS_SMSW;
    if (!kernel && !user_visible) return true;
    if (v->model != VMM_TRAP && v->model != VMM_TRAP_DETECT) return true;
    v->pre_kind = k;
    if (k == SENS_POPF) v->pre_arg = stack_peek(cpu, 0, in->osize);
    return true;
}

/* Store a 16-bit selector or a register-sized value where the instruction
 * stored its result. */
static void rewrite_result(CPU *cpu, const Insn *in, unsigned size_mem, uint32_t val) {
    if (in->is_mem)
        mem_write(cpu, in->seg, insn_ea(cpu, in), size_mem, val);
    else
        reg_write(cpu, in->rm, in->osize, val);
}

static void fmt_flags(char *buf, size_t len, uint32_t fl) {
    snprintf(buf, len, "IF=%u IOPL=%u", (fl >> 9) & 1, (fl >> 12) & 3);
}

/* A sensitive instruction ran at guest CPL 0 (or a register-sensitive one
 * in user mode): what ring-1 hardware would have shown, against what the
 * guest should have seen; under `trap` the guest gets the former. */
static void sensitive_after(Vmm *v, CPU *cpu, const Insn *in) {
    bool apply = v->model == VMM_TRAP;
    char saw[48] = "", exp[48] = "";
    bool differs = false;
    uint32_t esp_lin = cpu->seg[SEG_SS].base + cpu->regs[R_ESP];
    (void)esp_lin;
    switch (v->pre_kind) {
    case SENS_PUSHF: {
        uint32_t virt = stack_peek(cpu, 0, in->osize);
        uint32_t real = (virt | FL_IF) & ~FL_IOPL; /* the VMM runs the guest with IF=1, IOPL=0 */
        fmt_flags(saw, sizeof saw, real);
        fmt_flags(exp, sizeof exp, virt);
        differs = real != virt;
        if (apply && differs)
            mem_write(cpu, SEG_SS, cpu->regs[R_ESP] & stack_mask(cpu), in->osize, real);
        break;
    }
    case SENS_POPF: {
        uint32_t want = v->pre_arg, keep = v->pre_eflags & (FL_IF | FL_IOPL);
        fmt_flags(saw, sizeof saw, keep);
        fmt_flags(exp, sizeof exp, want);
        differs = (want & (FL_IF | FL_IOPL)) != keep;
        if (apply && differs) cpu->eflags = (cpu->eflags & ~(FL_IF | FL_IOPL)) | keep;
        break;
    }
    case SENS_PUSH_SREG:
    case SENS_MOV_FROM_SREG: {
        int sreg = v->pre_kind == SENS_MOV_FROM_SREG ? in->reg
                   : in->op == 0x0E                  ? SEG_CS
                   : in->op == 0x16                  ? SEG_SS
                                                     : -1;
        uint16_t sel = sreg >= 0 && sreg < SEG_COUNT ? cpu->seg[sreg].sel : 0;
        if (sreg == SEG_CS || sreg == SEG_SS) {
            uint16_t real = (uint16_t)((sel & ~3u) | 1);
            snprintf(saw, sizeof saw, "%s=0x%04x (RPL 1)", sreg == SEG_CS ? "CS" : "SS", real);
            snprintf(exp, sizeof exp, "%s=0x%04x", sreg == SEG_CS ? "CS" : "SS", sel);
            differs = real != sel;
            if (apply && differs) {
                if (v->pre_kind == SENS_PUSH_SREG)
                    mem_write(cpu, SEG_SS, cpu->regs[R_ESP] & stack_mask(cpu), 2, real);
                else
                    rewrite_result(cpu, in, 2, real);
            }
        } else {
            snprintf(saw, sizeof saw, "selector 0x%04x", sel);
            snprintf(exp, sizeof exp, "selector 0x%04x", sel);
        }
        break;
    }
    case SENS_SGDT:
    case SENS_SIDT: {
        bool gdt = v->pre_kind == SENS_SGDT;
        DescTable *t = gdt ? &cpu->gdtr : &cpu->idtr;
        uint32_t base = gdt ? VMM_GDT_BASE : VMM_IDT_BASE;
        uint16_t lim = gdt ? (uint16_t)t->limit : VMM_IDT_LIM;
        snprintf(saw, sizeof saw, "base=0x%08x limit=0x%04x", base, lim);
        snprintf(exp, sizeof exp, "base=0x%08x limit=0x%04x", t->base, (unsigned)t->limit & 0xFFFF);
        differs = base != t->base || lim != (t->limit & 0xFFFF);
        if (apply && differs) {
            uint32_t ea = insn_ea(cpu, in);
            mem_write(cpu, in->seg, ea, 2, lim);
            mem_write(cpu, in->seg, ea + 2, 4, base);
        }
        break;
    }
    case SENS_SLDT:
    case SENS_STR: {
        bool ldt = v->pre_kind == SENS_SLDT;
        uint16_t sel = ldt ? cpu->ldtr.sel : cpu->tr.sel, real = ldt ? VMM_LDT_SEL : VMM_TSS_SEL;
        snprintf(saw, sizeof saw, "0x%04x", real);
        snprintf(exp, sizeof exp, "0x%04x", sel);
        differs = real != sel;
        if (apply && differs) rewrite_result(cpu, in, 2, real);
        break;
    }
    case SENS_SMSW: {
        uint32_t real = cpu->cr0 | 0x80010001u; /* PE, WP, PG: the VMM always pages */
        unsigned size = in->is_mem || in->osize == 2 ? 2 : 4;
        uint32_t m = size == 2 ? 0xFFFF : 0xFFFFFFFFu;
        snprintf(saw, sizeof saw, "0x%0*x", size * 2, real & m);
        snprintf(exp, sizeof exp, "0x%0*x", size * 2, cpu->cr0 & m);
        differs = (real & m) != (cpu->cr0 & m);
        if (apply && differs) rewrite_result(cpu, in, 2, real & m);
        break;
    }
    case SENS_LAR: {
        bool ok = cpu_get_eflags(cpu) & FL_ZF;
        uint32_t r = reg_read(cpu, in->reg, in->osize);
        if (ok && ((r >> 13) & 3) == 0) {
            uint32_t real = r | (1u << 13); /* shadow descriptors: DPL 0 becomes 1 */
            snprintf(saw, sizeof saw, "access 0x%08x (DPL 1)", real);
            snprintf(exp, sizeof exp, "access 0x%08x (DPL 0)", r);
            differs = true;
            if (apply) reg_write(cpu, in->reg, in->osize, real);
        } else {
            snprintf(saw, sizeof saw, ok ? "access 0x%08x" : "ZF=0", r);
            snprintf(exp, sizeof exp, "%s", saw);
        }
        break;
    }
    default:
        /* LSL, VERR, VERW, POP/MOV to Sreg, far transfers, INT n: checked
         * against ring 1 with shadow descriptors (DPL 1); recorded, their
         * result not changed (docs/teaching/lab-trap.md). */
        snprintf(saw, sizeof saw, "checked at CPL 1");
        snprintf(exp, sizeof exp, "checked at CPL 0");
        break;
    }
    record_violation(v, cpu, in, differs, saw, exp);
}

static void vmm_after(void *opaque, CPU *cpu, const Insn *in) {
    Vmm *v = opaque;
    if (v->pre_io) {
        v->pre_io = false;
        if (v->io->ide_port_access != v->pre_io_ide) count(v, X_IO_IDE);
        if (v->io->virtio_port_access != v->pre_io_virtio) count(v, X_IO_VIRTIO);
    }
    if (v->shadow_cr3) { /* a CR3 write: the (non-caching) shadow is rebuilt */
        v->shadow_cr3 = 0;
        shadow_flush(v);
    }
    if (in->fn == op_invlpg) {
        uint32_t page = v->pre_arg >> 12, h = page & ((1u << SHADOW_BITS) - 1);
        if (v->shadow_tag[h] == page) v->shadow_tag[h] = 0xFFFFFFFFu;
    }
    if (v->pre_kind == -1) {
        /* The interrupt window: IF went 0 -> 1 with an interrupt waiting. */
        if (!(v->pre_eflags & FL_IF) && (cpu->eflags & FL_IF) && cpu->irq_pending &&
            cpu->irq_pending(cpu->irq_opaque))
            count(v, X_INTWIN);
        return;
    }
    if (v->pre_kind > 0) {
        /* The instruction committed: eip is past it; violations are
         * recorded at its own address. */
        uint32_t next = cpu->eip;
        cpu->eip = next - in->len;
        sensitive_after(v, cpu, in);
        cpu->eip = next;
    }
}

static void vmm_event(void *opaque, CPU *cpu, int vector, int kind) {
    Vmm *v = opaque;
    (void)cpu;
    bool hw = v->model == VMM_HW, ept = v->model == VMM_HW_EPT || v->model == VMM_PV;
    if (v->model == VMM_BT) v->block_start = true;
    if (kind == INT_HARDWARE) {
        count(v, T_IRQ);
        count(v, B_IRQ);
        if (hw || ept) count(v, X_EXTINT);
        return;
    }
    if (vector == EXC_PF) {
        count(v, T_PF_GUEST);
        count(v, B_PF_GUEST);
        if (hw) count(v, X_EXC_PF_GUEST);
        return;
    }
    /* Other exceptions go through the VMM's IDT under trap and bt; VT-x's
     * exception bitmap lets them reach the guest directly. */
    count(v, T_EXC);
    count(v, B_EXC);
}

/* A page walk that succeeded: the shadow page tables have the page, or
 * building the entry costs a hidden page fault. The page-table pages the
 * walk read are write-protected (traced) from now on. */
static void vmm_walk(void *opaque, uint32_t lin, int access, uint32_t pde_addr, uint32_t pte_addr) {
    Vmm *v = opaque;
    CPU *cpu = v->cpu;
    if (v->model == VMM_HW_EPT || v->model == VMM_PV) return; /* nested paging */
    uint32_t page = lin >> 12, h = page & ((1u << SHADOW_BITS) - 1);
    uint8_t need = access == MMU_WRITE ? 2 : 1;
    if (v->shadow_tag[h] != page) {
        v->shadow_tag[h] = page;
        v->shadow_bits[h] = 0;
    }
    if ((v->shadow_bits[h] & need) != need) {
        v->shadow_bits[h] |= need | 1;
        count(v, T_PF_HIDDEN);
        count(v, B_PF_HIDDEN);
        count(v, X_EXC_PF_HIDDEN);
    }
    PhysMem *pm = cpu->mmu.pm;
    uint32_t frames[2] = {pde_addr >> 12, pte_addr ? pte_addr >> 12 : 0xFFFFFFFFu};
    for (int i = 0; i < 2; i++) {
        uint32_t f = frames[i];
        if (f >= v->npages || (v->traced[f] & 1)) continue;
        v->traced[f] |= 1;
        if (!pm->code_pages[f]) {
            pm->code_pages[f] = 1;
            mmu_drop_write_host_page(&cpu->mmu, pm->ram + ((size_t)f << 12));
        }
    }
}

/* A write to a traced page (PhysMem's code-write tracking). */
static void vmm_page_written(void *opaque, uint32_t paddr, uint32_t len, int by) {
    Vmm *v = opaque;
    if (by != CODE_WRITE_CPU || v->cpu->mmu.ad_update) return;
    (void)len;
    uint32_t f = paddr >> 12;
    if (f >= v->npages) return;
    if (v->traced[f] & 1) {
        count(v, T_PF_TRACE);
        count(v, B_PF_TRACE);
        count(v, X_EXC_PF_TRACE);
    }
    if (v->traced[f] & 2) { /* translated code changed: drop it */
        count(v, B_TC_INVALIDATE);
        v->traced[f] &= (uint8_t)~2;
        if (!v->traced[f]) v->cpu->mmu.pm->code_pages[f] = 0;
    }
}

static void vmm_mmio(void *opaque) {
    Vmm *v = opaque;
    count(v, T_MMIO);
    count(v, B_MMIO);
    count(v, X_MMIO);
}

/* ---------------- pv: KVM's paravirtual interface ---------------- */

#define KVM_CPUID_SIGNATURE                0x40000000u
#define KVM_CPUID_FEATURES                 0x40000001u
#define KVM_FEATURE_CLOCKSOURCE2           (1u << 3)
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT (1u << 24)
#define MSR_KVM_WALL_CLOCK_NEW             0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW            0x4b564d01u
#define PVCLOCK_TSC_STABLE_BIT             1u

/* CPUID: the hypervisor bit (leaf 1, ECX bit 31), "KVMKVMKVM\0\0\0" at
 * 0x40000000 (highest leaf 0x40000001), kvm-clock (new MSRs, stable) at
 * 0x40000001. Nothing else: no PV EOI, steal time or async page faults
 * (they need a local APIC), no PV IPIs or spinlock kicks (one CPU). */
static void pv_cpuid(void *opaque, CPU *cpu, uint32_t leaf) {
    Vmm *v = opaque;
    if (leaf == 1) cpu->regs[R_ECX] |= 1u << 31;
    if (leaf == KVM_CPUID_SIGNATURE) {
        count(v, P_CPUID_PV);
        cpu->regs[R_EAX] = KVM_CPUID_FEATURES;
        cpu->regs[R_EBX] = 0x4B4D564Bu; /* "KVMK" */
        cpu->regs[R_ECX] = 0x564B4D56u; /* "VMKV" */
        cpu->regs[R_EDX] = 0x0000004Du; /* "M\0\0\0" */
    } else if (leaf == KVM_CPUID_FEATURES) {
        count(v, P_CPUID_PV);
        cpu->regs[R_EAX] = KVM_FEATURE_CLOCKSOURCE2 | KVM_FEATURE_CLOCKSOURCE_STABLE_BIT;
        cpu->regs[R_EBX] = cpu->regs[R_ECX] = cpu->regs[R_EDX] = 0;
    }
}

static uint64_t guest_tsc(CPU *cpu) {
    return cpu->tsc_read ? cpu->tsc_read(cpu->tsc_opaque) : cpu_tsc(cpu);
}

/* kvm-clock: the guest gives the physical address of its
 * pvclock_vcpu_time_info (32 bytes) or pvclock_wall_clock (12 bytes); the
 * host fills it. bt86's TSC runs at PC_TSC_HZ = 500 MHz of virtual time
 * (devices/pc.h), so nanoseconds = TSC x 2 for good: one write of the
 * structure holds forever (TSC stable). The address is guest-controlled:
 * phys_copy_to refuses anything that is not RAM (the write is dropped). */
static bool pv_msr(void *opaque, CPU *cpu, bool write, uint32_t index, uint64_t *value) {
    Vmm *v = opaque;
    if (index != MSR_KVM_WALL_CLOCK_NEW && index != MSR_KVM_SYSTEM_TIME_NEW) return false;
    count(v, P_KVMCLOCK_MSR);
    PhysMem *pm = cpu->mmu.pm;
    if (!write) {
        *value = index == MSR_KVM_SYSTEM_TIME_NEW ? v->pv_system_time : 0;
        return true;
    }
    uint64_t tsc = guest_tsc(cpu), ns = tsc * 2;
    if (index == MSR_KVM_SYSTEM_TIME_NEW) {
        v->pv_system_time = *value;
        if (!(*value & 1)) return true; /* disabled */
        uint8_t t[32] = {0};
        uint32_t version = 2, mul = 0x80000000u; /* (tsc << 2) * 2^31 >> 32 = tsc * 2 */
        memcpy(t + 0, &version, 4);
        memcpy(t + 8, &tsc, 8);
        memcpy(t + 16, &ns, 8);
        memcpy(t + 24, &mul, 4);
        t[28] = 2;                      /* tsc_shift */
        t[29] = PVCLOCK_TSC_STABLE_BIT; /* flags */
        uint64_t pa = *value & ~1ull;
        if (pa < 0x100000000ull) phys_copy_to(pm, (uint32_t)pa, t, sizeof t);
        return true;
    }
    /* The wall clock at system time 0: the host's real time now, less the
     * guest's system time now. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t boot_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - (int64_t)ns;
    uint32_t w[3] = {2, (uint32_t)(boot_ns / 1000000000), (uint32_t)(boot_ns % 1000000000)};
    if (*value < 0x100000000ull) phys_copy_to(pm, (uint32_t)*value, w, sizeof w);
    return true;
}

int vmm_attach(Vmm *v, CPU *cpu, char *err, size_t errlen) {
    PhysMem *pm = cpu->mmu.pm;
    if (pm->code_written || cpu->run_hooks.run_blocks) {
        snprintf(err, errlen, "-vmm needs the interpreter (a translator is attached)");
        return -1;
    }
    v->npages = pm->ram_size / 4096;
    v->traced = calloc(v->npages + 1, 1);
    if (!v->traced || physmem_track_code(pm, vmm_page_written, v) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pm->mmio_touched = vmm_mmio;
    v->cpu = cpu;
    shadow_flush(v);
    cpu->vmm =
        (CpuVmmHooks){.before = vmm_before, .after = vmm_after, .event = vmm_event, .opaque = v};
    if (v->model == VMM_PV) {
        cpu->vmm.cpuid = pv_cpuid;
        cpu->vmm.msr = pv_msr;
    }
    cpu->mmu.walk_hook = vmm_walk;
    cpu->mmu.walk_opaque = v;
    return 0;
}

Vmm *vmm_of_cpu(const CPU *cpu) {
    return cpu->vmm.before == vmm_before ? cpu->vmm.opaque : NULL;
}

/* ---------------- reports ---------------- */

void vmm_print(const Vmm *v, FILE *out) {
    fprintf(out, "vmm model %s: %llu instructions (%llu kernel, %llu user, %llu real mode)\n",
            vmm_model_name(v->model), (unsigned long long)v->instructions,
            (unsigned long long)v->kernel_insns, (unsigned long long)v->user_insns,
            (unsigned long long)v->realmode_insns);
    for (int e = 0; e < EV_COUNT; e++) {
        if (!has_event(v, e)) continue;
        int r = exit_reason((VmmEvent)e, v->model);
        fprintf(out, "  %-28s %12llu  x %8.0f cycles", event_info[e].name,
                (unsigned long long)evcount(v, e), v->cost[e]);
        if (r >= 0) fprintf(out, "  (exit reason %d)", r);
        fputc('\n', out);
    }
    if (v->model == VMM_BT)
        fprintf(out, "  translation units          %12llu\n", (unsigned long long)v->tc_units);
    fprintf(out, "  violations: %u places%s\n", v->nviol, v->viol_dropped ? " (list full)" : "");
    fprintf(out, "  modelled cycles: %.0f\n", vmm_modeled_cycles(v));
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static void html_str(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

static void write_json(const Vmm *v, FILE *f, VmmSymbolFn sym, void *so, double host_seconds) {
    fprintf(f, "{\n  \"schema\": \"bt86-vmm-report/1\",\n  \"model\": \"%s\",\n",
            vmm_model_name(v->model));
    fprintf(f,
            "  \"instructions\": %llu,\n  \"kernel_instructions\": %llu,\n"
            "  \"user_instructions\": %llu,\n  \"realmode_instructions\": %llu,\n",
            (unsigned long long)v->instructions, (unsigned long long)v->kernel_insns,
            (unsigned long long)v->user_insns, (unsigned long long)v->realmode_insns);
    fputs("  \"events\": {", f);
    bool first = true;
    for (int e = 0; e < EV_COUNT; e++) {
        if (!has_event(v, e)) continue;
        fprintf(f, "%s\n    \"%s\": %llu", first ? "" : ",", event_info[e].name,
                (unsigned long long)evcount(v, e));
        first = false;
    }
    fputs("\n  },\n  \"costs\": {", f);
    first = true;
    for (int e = 0; e < EV_COUNT; e++) {
        if (!has_event(v, e)) continue;
        fprintf(f, "%s\n    \"%s\": %.1f", first ? "" : ",", event_info[e].name, v->cost[e]);
        first = false;
    }
    fputs("\n  },\n", f);
    if (v->model == VMM_HW || v->model == VMM_HW_EPT || v->model == VMM_PV) {
        fputs("  \"exit_reasons\": {", f);
        first = true;
        for (int e = 0; e < EV_COUNT; e++) {
            if (!has_event(v, e) || exit_reason((VmmEvent)e, v->model) < 0) continue;
            fprintf(f, "%s\n    \"%s\": %d", first ? "" : ",", event_info[e].name,
                    exit_reason((VmmEvent)e, v->model));
            first = false;
        }
        fputs("\n  },\n", f);
    }
    if (v->model == VMM_BT)
        fprintf(f, "  \"translation_units\": %llu,\n", (unsigned long long)v->tc_units);
    fputs("  \"violations\": [", f);
    for (unsigned i = 0; i < v->nviol; i++) {
        const Violation *x = &v->viol[i];
        fprintf(f, "%s\n    {\"mnemonic\": ", i ? "," : "");
        json_str(f, x->mnemonic);
        fprintf(f,
                ", \"eip\": \"0x%08x\", \"cpl\": %d, \"count\": %llu, \"differs\": %llu, \"saw\": ",
                x->eip, x->cpl, (unsigned long long)x->count, (unsigned long long)x->differs);
        json_str(f, x->saw);
        fputs(", \"expected\": ", f);
        json_str(f, x->expected);
        char name[160];
        if (sym && sym(so, x->eip, name, sizeof name)) {
            fputs(", \"symbol\": ", f);
            json_str(f, name);
        }
        fputc('}', f);
    }
    fprintf(f, "%s],\n  \"violations_dropped\": %llu,\n", v->nviol ? "\n  " : "",
            (unsigned long long)v->viol_dropped);
    fprintf(f, "  \"modeled_cycles\": %.0f,\n", vmm_modeled_cycles(v));
    fprintf(f, "  \"host_seconds\": %.3f\n}\n", host_seconds);
}

static void write_html(const Vmm *v, FILE *f, VmmSymbolFn sym, void *so, double host_seconds) {
    fprintf(
        f,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bt86 vmm report: %s</title>\n"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}"
        "td.l,th.l{text-align:left}</style></head><body>\n",
        vmm_model_name(v->model));
    fprintf(f, "<h1>bt86 under <code>-vmm %s</code></h1>\n", vmm_model_name(v->model));
    fprintf(
        f,
        "<p>%llu guest instructions (%llu kernel, %llu user, %llu real mode); modelled VMM cycles "
        "%.0f; bt86 took %.2f s of host time.</p>\n",
        (unsigned long long)v->instructions, (unsigned long long)v->kernel_insns,
        (unsigned long long)v->user_insns, (unsigned long long)v->realmode_insns,
        vmm_modeled_cycles(v), host_seconds);
    /* Events by class: a horizontal bar chart (log scale). */
    int n = 0;
    for (int e = 0; e < EV_COUNT; e++)
        n += has_event(v, e);
    double maxlog = 1;
    for (int e = 0; e < EV_COUNT; e++)
        if (has_event(v, e) && evcount(v, e)) {
            double l = 0;
            for (uint64_t c = evcount(v, e); c; c /= 10)
                l += 1;
            if (l > maxlog) maxlog = l;
        }
    fputs("<h2>Events by class</h2>\n", f);
    fprintf(
        f,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"%d\" font-size=\"12\">\n",
        n * 18 + 10);
    int row = 0;
    for (int e = 0; e < EV_COUNT; e++) {
        if (!has_event(v, e)) continue;
        double l = 0;
        for (uint64_t c = evcount(v, e); c; c /= 10)
            l += 1;
        int w = (int)(l / maxlog * 400);
        fprintf(
            f,
            "<text x=\"0\" y=\"%d\">%s</text><rect x=\"220\" y=\"%d\" width=\"%d\" height=\"13\" "
            "fill=\"#4a7bd0\"/><text x=\"%d\" y=\"%d\">%llu</text>\n",
            row * 18 + 14, event_info[e].name, row * 18 + 3, w, 226 + w, row * 18 + 14,
            (unsigned long long)evcount(v, e));
        row++;
    }
    fputs("</svg>\n", f);
    /* Events per second over the run. */
    fputs("<h2>Events per second over the run</h2>\n", f);
    double maxrate = 1, maxt = 1e-9;
    for (unsigned i = 1; i < v->nsamples; i++) {
        double dt = v->samples[i].seconds - v->samples[i - 1].seconds;
        double r = dt > 0 ? (double)(v->samples[i].events - v->samples[i - 1].events) / dt : 0;
        if (r > maxrate) maxrate = r;
    }
    if (v->nsamples)
        maxt = v->samples[v->nsamples - 1].seconds > 0 ? v->samples[v->nsamples - 1].seconds : 1;
    fputs(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"240\" font-size=\"12\">\n"
        "<line x1=\"50\" y1=\"210\" x2=\"750\" y2=\"210\" stroke=\"black\"/>"
        "<line x1=\"50\" y1=\"10\" x2=\"50\" y2=\"210\" stroke=\"black\"/>\n<polyline "
        "fill=\"none\" "
        "stroke=\"#d04a4a\" points=\"",
        f);
    for (unsigned i = 1; i < v->nsamples; i++) {
        double dt = v->samples[i].seconds - v->samples[i - 1].seconds;
        double r = dt > 0 ? (double)(v->samples[i].events - v->samples[i - 1].events) / dt : 0;
        fprintf(f, "%.1f,%.1f ", 50 + v->samples[i].seconds / maxt * 700, 210 - r / maxrate * 200);
    }
    fprintf(
        f,
        "\"/>\n<text x=\"55\" y=\"20\">%.0f events/s</text><text x=\"700\" y=\"228\">%.1f s</text>"
        "</svg>\n",
        maxrate, maxt);
    fprintf(
        f,
        "<h2>Violations (%u places)</h2>\n<table><tr><th class=\"l\">address</th><th class=\"l\">"
        "symbol</th><th class=\"l\">instruction</th><th>CPL</th><th>count</th><th>differed</th>"
        "<th class=\"l\">guest saw</th><th class=\"l\">should have seen</th></tr>\n",
        v->nviol);
    for (unsigned i = 0; i < v->nviol; i++) {
        const Violation *x = &v->viol[i];
        char name[160] = "";
        if (sym) sym(so, x->eip, name, sizeof name);
        fprintf(f, "<tr><td class=\"l\">0x%08x</td><td class=\"l\">", x->eip);
        html_str(f, name);
        fputs("</td><td class=\"l\">", f);
        html_str(f, x->mnemonic);
        fprintf(f, "</td><td>%d</td><td>%llu</td><td>%llu</td><td class=\"l\">", x->cpl,
                (unsigned long long)x->count, (unsigned long long)x->differs);
        html_str(f, x->saw);
        fputs("</td><td class=\"l\">", f);
        html_str(f, x->expected);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</body></html>\n", f);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int vmm_write_report(const Vmm *v, const char *path, VmmSymbolFn sym, void *sym_opaque,
                     double host_seconds, char *err, size_t errlen) {
    bool json = ends_with(path, ".json"), html = ends_with(path, ".html");
    if (!json && !html) {
        snprintf(err, errlen, "%s: the report file must end in .json or .html", path);
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    if (json)
        write_json(v, f, sym, sym_opaque, host_seconds);
    else
        write_html(v, f, sym, sym_opaque, host_seconds);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}
