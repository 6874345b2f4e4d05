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
#include "dbt/dbt.h"
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
    T_RING1_GP,
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
    B_TC_FLUSH,
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
    P_STEAL_TIME_MSR,
    /* pv: KVM hypercalls (VMCALL/VMMCALL) by number */
    P_HC_VAPIC_POLL_IRQ,
    P_HC_KICK_CPU,
    P_HC_CLOCK_PAIRING,
    P_HC_SEND_IPI,
    P_HC_SCHED_YIELD,
    P_HC_UNKNOWN,
    P_HC_DENIED,
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
    [T_RING1_GP] = {"trap.ring1_gp", M_TRAP, TRAP_COST, 0},
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
    [B_TC_FLUSH] = {"bt.tc_flush", M_BT, 0, 0},
    [X_EXC_PF_GUEST] = {"exit.exception.pf_guest", M_HW, 10149,
                        EXIT_NEW}, /* A2006 pgfault: 11242 - 1093 */
    [X_EXC_PF_HIDDEN] = {"exit.exception.pf_hidden", M_HW, 10149, EXIT_NEW},
    [X_EXC_PF_TRACE] = {"exit.exception.pf_tracing", M_HW, 12732, EXIT_NEW}, /* A2006 ptemod */
    [X_EXTINT] = {"exit.external_interrupt", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_INTWIN] = {"exit.interrupt_window", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_CPUID] = {"exit.cpuid", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_HLT] = {"exit.hlt", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
    [X_INVLPG] = {"exit.invlpg", M_HW, EXIT_P4, EXIT_NEW},
    [X_VMCALL] = {"exit.vmcall", M_HW | M_EPT, EXIT_P4, EXIT_NEW},
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
    [P_STEAL_TIME_MSR] = {"pv.steal_time_msr", M_PV, 0, 0},
    /* Hypercalls by number (each also an exit.vmcall, which carries the
     * cost; the handlers' own work is assumed free) */
    [P_HC_VAPIC_POLL_IRQ] = {"pv.hypercall.vapic_poll_irq", M_PV, 0, 0},
    [P_HC_KICK_CPU] = {"pv.hypercall.kick_cpu", M_PV, 0, 0},
    [P_HC_CLOCK_PAIRING] = {"pv.hypercall.clock_pairing", M_PV, 0, 0},
    [P_HC_SEND_IPI] = {"pv.hypercall.send_ipi", M_PV, 0, 0},
    [P_HC_SCHED_YIELD] = {"pv.hypercall.sched_yield", M_PV, 0, 0},
    [P_HC_UNKNOWN] = {"pv.hypercall.unknown", M_PV, 0, 0},
    [P_HC_DENIED] = {"pv.hypercall.denied_cpl", M_PV, 0, 0},
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
    /* trap: LAR/LSL/VERR/VERW as ring 1 answers them (computed by `before`) */
    bool r1_ok;
    uint32_t r1_val;
    /* Shadow paging: linear pages the shadow maps (bit 0 read, 1 write,
     * 2 user), in a direct-mapped table; cleared on CR3 switches. */
    uint32_t shadow_tag[1u << SHADOW_BITS];
    uint8_t shadow_bits[1u << SHADOW_BITS];
    uint8_t *traced; /* per RAM page: 1 page table (traced) */
    uint32_t npages;
    uint32_t shadow_cr3;
    uint64_t pv_system_time; /* pv: the kvm-clock system-time MSR */
    uint64_t pv_steal_time;  /* pv: the steal-time MSR */
    /* bt: kernel blocks translated (translation units). */
    uint64_t tc_units;
    /* bt on bt86's translator (bt_attach): its translation cache now,
     * the CR3 the last page walk saw. */
    bool on_dbt;
    uint64_t tc_blocks, tc_block_bytes, tc_host_bytes;
    uint32_t walk_cr3;
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
    if (!v->viol) {
        vmm_free(v);
        return NULL;
    }
    v->next_sample = VMM_SAMPLE_INSNS;
    clock_gettime(CLOCK_MONOTONIC, &v->start);
    return v;
}

void vmm_free(Vmm *v) {
    if (!v) return;
    if (v->on_dbt) dbt_vmm_detach(v->cpu);
    if (v->cpu && v->cpu->vmm.opaque == v) {
        v->cpu->vmm = (CpuVmmHooks){0};
        v->cpu->mmu.walk_hook = NULL;
        PhysMem *pm = v->cpu->mmu.pm;
        if (pm->code_opaque == v) {
            pm->code_written = NULL;
            pm->mmio_touched = NULL;
            if (pm->code_pages) memset(pm->code_pages, 0, pm->ram_end / 4096 + 1);
        }
    }
    free(v->traced);
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

static void bt_refresh(const Vmm *v);

uint64_t vmm_count(const Vmm *v, const char *cls) {
    bt_refresh(v);
    int e = find_event(cls);
    return e >= 0 && has_event(v, e) ? evcount(v, e) : 0;
}

uint64_t vmm_instructions(const Vmm *v) {
    bt_refresh(v);
    return v->instructions;
}

double vmm_modeled_cycles(const Vmm *v) {
    bt_refresh(v);
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
    default:
        /* VMCALL always exits; a hypervisor without hypercalls injects
         * #UD (pv counts its hypercalls where it answers them). */
        if (in->fn == op_vmcall && v->model != VMM_PV) count(v, X_VMCALL);
        break;
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

/* ---------------- trap: ring 1 with the VMM's shadow descriptors ----------------
 *
 * The guest kernel runs in ring 1 on the VMM's shadow GDT and LDT, which
 * copy the guest's code and data descriptors with DPL 0 raised to 1 (the
 * kernel could not run or load SS in ring 1 otherwise: CS and SS need
 * DPL = CPL); system descriptors (LDT, TSS, call and task gates) are the
 * VMM's business and stay DPL 0, and every IDT gate leads to the VMM. So,
 * against the same instructions at CPL 0 on the guest's tables:
 *  - LAR shows DPL 1; LAR/LSL/VERR/VERW at CPL 1 see a selector with
 *    RPL 1 on a DPL-0 code or data descriptor (native: ZF=0; ring 1:
 *    ZF=1), and no longer see DPL-0 system descriptors (ZF=0);
 *  - a segment load of a DPL-0 segment with RPL 1 (a selector read from
 *    CS or SS, which show RPL 1) succeeds where CPL 0 would #GP, and the
 *    data segment register then holds RPL 1; SS with RPL 0 is #GP in ring
 *    1 (RPL must be the CPL): a trap, emulated;
 *  - far CALL pushes CS with RPL 1; far JMP/CALL to a selector with RPL 1
 *    works (same level); far RET (and IRET) to RPL 1 is a same-level
 *    return, to RPL 0 a #GP (trap, emulated); far transfers through
 *    DPL-0 call gates or TSSes #GP (trap, emulated);
 *  - INT n through a DPL-0 gate is #GP at CPL 1, through the others it
 *    enters the VMM: a trap either way, which the VMM reflects correctly.
 * bt86 itself runs the kernel at CPL 0, so under `trap` the selectors
 * with RPL 1 the guest holds are given to the core with RPL 0 (the ring-1
 * outcome), and results are rewritten as ring 1 would give them. */

/* Linear reads that never fault (RAM only), for looking ahead. */
static bool peek_lin(CPU *cpu, uint32_t lin, unsigned size, uint32_t *out) {
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        PhysAddr pa;
        uint8_t b;
        if (!mmu_debug_translate(&cpu->mmu, lin + i, &pa) ||
            phys_copy_from(cpu->mmu.pm, pa, &b, 1) < 0)
            return false;
        v |= (uint32_t)b << (8 * i);
    }
    *out = v;
    return true;
}

static bool peek_desc(CPU *cpu, uint16_t sel, uint32_t *lo, uint32_t *hi) {
    const DescTable *t = &cpu->gdtr;
    uint32_t base = t->base, limit = t->limit;
    if (sel & 4) {
        if ((cpu->ldtr.sel & 0xFFFC) == 0) return false;
        base = cpu->ldtr.base;
        limit = cpu->ldtr.limit;
    }
    uint32_t off = sel & ~7u;
    return (sel & 0xFFFC) && off + 7 <= limit && peek_lin(cpu, base + off, 4, lo) &&
           peek_lin(cpu, base + off + 4, 4, hi);
}

static bool desc_is_seg(uint32_t hi) {
    return hi & 0x1000; /* S: code or data */
}

/* The DPL in the VMM's shadow table. */
static int shadow_dpl(uint32_t hi) {
    int dpl = (hi >> 13) & 3;
    return desc_is_seg(hi) && dpl == 0 ? 1 : dpl;
}

/* A selector with RPL 1 naming a DPL-0 code or data descriptor: fine in
 * ring 1 (shadow DPL 1), #GP at CPL 0. */
static bool rpl1_on_dpl0(CPU *cpu, uint16_t sel) {
    uint32_t lo, hi;
    return (sel & 3) == 1 && peek_desc(cpu, sel, &lo, &hi) && desc_is_seg(hi) &&
           ((hi >> 13) & 3) == 0;
}

/* LAR, LSL, VERR, VERW at CPL 1 on the shadow table (the SDM's checks). */
static bool ring1_verify(CPU *cpu, int kind, uint16_t sel, unsigned osize, uint32_t *val) {
    uint32_t lo, hi;
    if (!peek_desc(cpu, sel, &lo, &hi)) return false;
    unsigned type = (hi >> 8) & 0xF;
    int dpl = shadow_dpl(hi);
    bool seg = desc_is_seg(hi), code = seg && (type & 8);
    if (!(code && (type & 4)) && (dpl < 1 || dpl < (sel & 3))) return false;
    switch (kind) {
    case SENS_VERR: return seg && (!code || (type & 2));
    case SENS_VERW: return seg && !code && (type & 2);
    default: break;
    }
    bool lsl = kind == SENS_LSL;
    if (!seg) {
        bool valid = type == 1 || type == 2 || type == 3 || type == 9 || type == 11 ||
                     (!lsl && (type == 4 || type == 5 || type == 12));
        if (!valid) return false;
    }
    if (lsl) {
        uint32_t limit = (lo & 0xFFFF) | (hi & 0xF0000);
        *val = hi & 0x800000 ? limit << 12 | 0xFFF : limit;
    } else {
        *val = ((hi & ~0x6000u) | (uint32_t)dpl << 13) & (osize == 4 ? 0x00FFFF00u : 0xFF00u);
    }
    return true;
}

static int pop_sreg_of(uint16_t op) {
    return op == 0x1A1 ? SEG_FS : op == 0x1A9 ? SEG_GS : (op >> 3) & 3;
}

/* The selector a segment load or far transfer takes, without faulting
 * (false: unreadable; the instruction will fault by itself). */
static bool peek_selector(CPU *cpu, const Insn *in, int kind, uint16_t *sel) {
    uint32_t v;
    uint32_t sp = cpu->seg[SEG_SS].base;
    OpFn f = in->fn;
    if (kind == SENS_POP_SREG) {
        if (!peek_lin(cpu, sp + (cpu->regs[R_ESP] & stack_mask(cpu)), 2, &v)) return false;
    } else if (f == op_ret_far || f == op_iret) {
        if (!peek_lin(cpu, sp + ((cpu->regs[R_ESP] + in->osize) & stack_mask(cpu)), 2, &v))
            return false;
    } else if (f == op_jmp_far_imm || f == op_call_far_imm) {
        v = in->imm2;
    } else if (!in->is_mem) {
        if (f == op_jmp_far_rm || f == op_call_far_rm) return false; /* #UD */
        v = reg_read(cpu, in->rm, 2);
    } else {
        uint32_t ea = insn_ea(cpu, in);
        if (f == op_jmp_far_rm || f == op_call_far_rm) ea += in->osize;
        if (!peek_lin(cpu, cpu->seg[in->seg].base + ea, 2, &v)) return false;
    }
    *sel = (uint16_t)v;
    return true;
}

/* Handlers `before` puts in place of the guest instruction's under
 * `trap` when ring 1 takes a selector with RPL 1 that CPL 0 would refuse:
 * the same instruction with that selector's RPL 0 (the ring-1 outcome),
 * and a data segment register then holds RPL 1 as in ring 1. */
static void ring1_load_sreg(CPU *cpu, const Insn *in) {
    int sreg;
    uint16_t sel;
    uint32_t esp = cpu->regs[R_ESP];
    if (in->fn == op_pop_sreg) {
        sreg = pop_sreg_of(in->op);
        sel = (uint16_t)stack_peek(cpu, 0, in->osize);
        esp = (esp & ~stack_mask(cpu)) | ((esp + in->osize) & stack_mask(cpu));
    } else {
        sreg = in->reg;
        sel = (uint16_t)rm_read(cpu, in, 2);
    }
    seg_load(cpu, sreg, sel & ~3u);
    if (sreg != SEG_SS) cpu->seg[sreg].sel |= sel & 3;
    cpu->regs[R_ESP] = esp;
}

static void ring1_far(CPU *cpu, const Insn *in) {
    OpFn f = in->fn;
    if (f == op_jmp_far_imm || f == op_call_far_imm) {
        Insn c = *in;
        c.imm2 &= ~3u;
        f(cpu, &c);
        return;
    }
    if (f == op_jmp_far_rm || f == op_call_far_rm) {
        uint32_t ea = insn_ea(cpu, in);
        uint32_t off = mem_read(cpu, in->seg, ea, in->osize);
        uint16_t sel =
            (uint16_t)mem_read(cpu, in->seg, (ea + in->osize) & (in->asize == 2 ? 0xFFFF : ~0u), 2);
        if (f == op_jmp_far_rm)
            cpu_jmp_far(cpu, sel & ~3u, off);
        else
            cpu_call_far(cpu, sel & ~3u, off, in->osize);
        return;
    }
    /* RET far, IRET: the CS slot above the return address */
    uint32_t slot = (cpu->regs[R_ESP] + in->osize) & stack_mask(cpu);
    mem_write(cpu, SEG_SS, slot, 2, stack_peek(cpu, in->osize, 2) & ~3u);
    f(cpu, in);
}

/* The substitutes, one per handler they stand for (the Insn's fn is the
 * original's until the substitute runs, so they dispatch on a copy). */
#define RING1_SUBST(name, orig, impl)                                                              \
    static void name(CPU *cpu, const Insn *in) {                                                   \
        Insn c = *in;                                                                              \
        c.fn = orig;                                                                               \
        impl(cpu, &c);                                                                             \
    }
RING1_SUBST(r1_mov_sreg, op_mov_sreg_rm, ring1_load_sreg)
RING1_SUBST(r1_pop_sreg, op_pop_sreg, ring1_load_sreg)
RING1_SUBST(r1_jmp_far_imm, op_jmp_far_imm, ring1_far)
RING1_SUBST(r1_call_far_imm, op_call_far_imm, ring1_far)
RING1_SUBST(r1_jmp_far_rm, op_jmp_far_rm, ring1_far)
RING1_SUBST(r1_call_far_rm, op_call_far_rm, ring1_far)
RING1_SUBST(r1_ret_far, op_ret_far, ring1_far)
RING1_SUBST(r1_iret, op_iret, ring1_far)

static OpFn ring1_subst(OpFn f) {
    return f == op_mov_sreg_rm    ? r1_mov_sreg
           : f == op_pop_sreg     ? r1_pop_sreg
           : f == op_jmp_far_imm  ? r1_jmp_far_imm
           : f == op_call_far_imm ? r1_call_far_imm
           : f == op_jmp_far_rm   ? r1_jmp_far_rm
           : f == op_call_far_rm  ? r1_call_far_rm
           : f == op_ret_far      ? r1_ret_far
           : f == op_iret         ? r1_iret
                                  : NULL;
}

static void sel_text(char *buf, size_t len, const char *what, uint16_t sel) {
    snprintf(buf, len, "%s 0x%04x", what, sel);
}

/* Segment loads, far transfers and INT n at guest CPL 0 (protected mode),
 * before they run: count the ones ring 1 refuses (a trap, emulated
 * correctly), record each as a violation, and under `trap` hand the core
 * the ring-1 outcome where ring 1 accepts what CPL 0 would refuse.
 * Returns true when the instruction is left to `after` (far CALL: the CS
 * it pushes). */
static bool ring1_before(Vmm *v, CPU *cpu, const Insn *in, int kind) {
    bool apply = v->model == VMM_TRAP;
    char saw[48], exp[48];
    bool differs = false;
    uint16_t sel = 0;
    OpFn f = in->fn;
    if (kind == SENS_INT) {
        uint32_t vec = in->imm & 0xFF, lo, hi = 0;
        bool ok = vec * 8 + 7 <= cpu->idtr.limit &&
                  peek_lin(cpu, cpu->idtr.base + vec * 8, 4, &lo) &&
                  peek_lin(cpu, cpu->idtr.base + vec * 8 + 4, 4, &hi);
        int dpl = (hi >> 13) & 3;
        if (ok && dpl < 1)
            snprintf(saw, sizeof saw, "#GP(0x%x): gate DPL 0 < CPL 1; reflected", vec * 8 + 2);
        else
            snprintf(saw, sizeof saw, "the VMM's gate; reflected");
        snprintf(exp, sizeof exp, "INT 0x%02x through gate DPL %d", vec, dpl);
        record_violation(v, cpu, in, false, saw, exp);
        return false;
    }
    if (!peek_selector(cpu, in, kind, &sel)) return false;
    bool is_load = kind == SENS_POP_SREG || kind == SENS_MOV_TO_SREG;
    int sreg = kind == SENS_POP_SREG ? pop_sreg_of(in->op) : in->reg;
    bool fix = false, trapped = false, task = false;
    if (is_load && sreg == SEG_SS && (sel & 0xFFFC) && (sel & 3) == 0) {
        count(v, T_RING1_GP); /* RPL 0 != CPL 1 */
        sel_text(saw, sizeof saw, "#GP in ring 1, emulated: SS", sel);
        sel_text(exp, sizeof exp, "SS", sel);
    } else if (is_load && sreg < SEG_COUNT && sreg != SEG_CS && rpl1_on_dpl0(cpu, sel)) {
        fix = true;
        differs = true;
        static const char sreg_names[SEG_COUNT][3] = {"ES", "CS", "SS", "DS", "FS", "GS"};
        snprintf(saw, sizeof saw, "%s=0x%04x loaded (DPL 1)", sreg_names[sreg], sel);
        snprintf(exp, sizeof exp, "#GP(0x%04x)", sel & ~3u);
    } else if (is_load) {
        sel_text(saw, sizeof saw, "loaded", sel);
        sel_text(exp, sizeof exp, "loaded", sel);
    } else { /* far JMP, CALL, RET, IRET */
        uint32_t lo, hi = 0;
        bool desc = peek_desc(cpu, sel, &lo, &hi);
        bool ret = f == op_ret_far || f == op_iret;
        unsigned type = (hi >> 8) & 0x1F;
        task = desc && (type == 1 || type == 3 || type == 5 || type == 9 || type == 11);
        if (desc && !desc_is_seg(hi) && ((hi >> 13) & 3) == 0 && !ret) {
            count(v, T_RING1_GP); /* a DPL-0 gate or TSS */
            trapped = true;
            sel_text(saw, sizeof saw, "#GP in ring 1, emulated: gate", sel);
            sel_text(exp, sizeof exp, "through gate", sel);
        } else if (ret && (sel & 3) == 0) {
            if (f == op_ret_far) count(v, T_RING1_GP); /* IRET: trap.iret */
            sel_text(saw, sizeof saw, "#GP in ring 1, emulated: CS", sel);
            sel_text(exp, sizeof exp, "return to CS", sel);
        } else if (rpl1_on_dpl0(cpu, sel)) {
            fix = true;
            differs = true;
            sel_text(saw, sizeof saw, "same level: CS", sel);
            snprintf(exp, sizeof exp, ret ? "an outer return: CS 0x%04x" : "#GP(0x%04x)",
                     ret ? sel : sel & ~3u);
        } else {
            sel_text(saw, sizeof saw, "CS", sel);
            sel_text(exp, sizeof exp, "CS", sel);
        }
    }
    bool call = (f == op_call_far_imm || f == op_call_far_rm) && !trapped && !task;
    if (f != op_iret && !call) record_violation(v, cpu, in, differs, saw, exp);
    if (fix && apply) ((Insn *)in)->fn = ring1_subst(f); /* the interpreter's own copy */
    return call;                                         /* `after` records the CS it pushed */
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
    case VMM_BT: break; /* on the translator: never here (bt_attach) */
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
    if (in->fn == op_iret && kernel && !(cpu->eflags & FL_NT) &&
        (v->model == VMM_TRAP || v->model == VMM_TRAP_DETECT)) {
        /* Not an IRET to virtual-8086 mode (its CS is a paragraph). */
        uint32_t fl = 0, at = cpu->seg[SEG_SS].base + ((cpu->regs[R_ESP] + 8) & stack_mask(cpu));
        if (in->osize == 2 || (peek_lin(cpu, at, 4, &fl) && !(fl & FL_VM)))
            ring1_before(v, cpu, in, SENS_FAR);
    }
    if (!k || !pm) return true;
    /* The register-sensitive ones also show the VMM to user mode. */
    bool user_visible =
        k == SENS_SGDT || k == SENS_SIDT || k == SENS_SLDT || k == SENS_STR || k == SENS_SMSW;
    if (!kernel && !user_visible) return true;
    if (v->model != VMM_TRAP && v->model != VMM_TRAP_DETECT) return true;
    v->pre_kind = k;
    if (k == SENS_POPF) v->pre_arg = stack_peek(cpu, 0, in->osize);
    if (!kernel) return true;
    uint16_t sel;
    switch (k) {
    case SENS_POP_SREG:
    case SENS_MOV_TO_SREG:
    case SENS_FAR:
    case SENS_INT:
        if (ring1_before(v, cpu, in, k)) return true;
        v->pre_kind = 0;
        return false;
    case SENS_LAR:
    case SENS_LSL:
    case SENS_VERR:
    case SENS_VERW:
        if (!peek_selector(cpu, in, k, &sel)) { /* it faults by itself */
            v->pre_kind = 0;
            return false;
        }
        v->r1_ok = ring1_verify(cpu, k, sel, in->osize, &v->r1_val);
        return true;
    default: return true;
    }
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
    case SENS_LAR:
    case SENS_LSL:
    case SENS_VERR:
    case SENS_VERW: {
        bool ok = cpu_get_eflags(cpu) & FL_ZF;
        bool val = v->pre_kind == SENS_LAR || v->pre_kind == SENS_LSL;
        const char *what = v->pre_kind == SENS_LAR ? "access" : "limit";
        uint32_t r = val && ok ? reg_read(cpu, in->reg, in->osize) : 0;
        if (val && v->r1_ok)
            snprintf(saw, sizeof saw, "ZF=1 %s 0x%08x", what, v->r1_val);
        else
            snprintf(saw, sizeof saw, "ZF=%d", v->r1_ok);
        if (val && ok)
            snprintf(exp, sizeof exp, "ZF=1 %s 0x%08x", what, r);
        else
            snprintf(exp, sizeof exp, "ZF=%d", ok);
        differs = ok != v->r1_ok || (ok && val && r != v->r1_val);
        if (apply && differs) {
            flags_set_arith(cpu, v->r1_ok ? FL_ZF : 0, FL_ZF);
            if (val && v->r1_ok) reg_write(cpu, in->reg, in->osize, v->r1_val);
        }
        break;
    }
    case SENS_FAR: { /* far CALL: the CS it pushed */
        uint32_t slot = (cpu->regs[R_ESP] + in->osize) & stack_mask(cpu);
        uint16_t pushed = (uint16_t)stack_peek(cpu, in->osize, 2);
        uint16_t real = (uint16_t)((pushed & ~3u) | 1);
        snprintf(saw, sizeof saw, "pushed CS 0x%04x (RPL 1)", real);
        snprintf(exp, sizeof exp, "pushed CS 0x%04x", pushed);
        differs = real != pushed;
        if (apply && differs) mem_write(cpu, SEG_SS, slot, 2, real);
        break;
    }
    default: return;
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
    if (v->on_dbt && kind == INT_EXCEPTION) dbt_vmm_exception(cpu); /* before the delivery */
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
static void vmm_walk(void *opaque, uint32_t lin, int access, PhysAddr pde_addr, PhysAddr pte_addr) {
    Vmm *v = opaque;
    CPU *cpu = v->cpu;
    if (v->model == VMM_HW_EPT || v->model == VMM_PV) return; /* nested paging */
    if (v->on_dbt && cpu->cr3 != v->walk_cr3) { /* no per-instruction hook: a CR3 switch */
        v->walk_cr3 = cpu->cr3;
        shadow_flush(v);
    }
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
    uint64_t frames[2] = {pde_addr >> 12, pte_addr ? pte_addr >> 12 : UINT64_MAX};
    for (int i = 0; i < 2; i++) {
        uint64_t f = frames[i];
        if (f >= v->npages || (v->traced[f] & 1)) continue;
        v->traced[f] |= 1;
        if (!pm->code_pages[f]) {
            pm->code_pages[f] = 1;
            mmu_drop_write_host_page(&cpu->mmu, pm->ram + ((size_t)f << 12));
        }
    }
}

/* A write to a traced page (PhysMem's code-write tracking). */
static void vmm_page_written(void *opaque, PhysAddr paddr, uint64_t len, int by) {
    Vmm *v = opaque;
    if (by != CODE_WRITE_CPU || v->cpu->mmu.ad_update) return;
    (void)len;
    uint64_t f = paddr >> 12;
    if (f >= v->npages) return;
    if (v->traced[f] & 1) {
        count(v, T_PF_TRACE);
        count(v, B_PF_TRACE);
        count(v, X_EXC_PF_TRACE);
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
#define KVM_FEATURE_STEAL_TIME             (1u << 5)
#define KVM_FEATURE_CLOCKSOURCE_STABLE_BIT (1u << 24)
#define MSR_KVM_WALL_CLOCK_NEW             0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW            0x4b564d01u
#define MSR_KVM_STEAL_TIME                 0x4b564d03u
#define KVM_STEAL_RESERVED                 0x3Eull /* bits 1-5: the area is 64-byte aligned */
#define PVCLOCK_TSC_STABLE_BIT             1u

/* CPUID: the hypervisor bit (leaf 1, ECX bit 31), "KVMKVMKVM\0\0\0" at
 * 0x40000000 (highest leaf 0x40000001), kvm-clock (new MSRs, stable) and
 * steal time at 0x40000001. Nothing else: no PV EOI or async page faults,
 * no PV IPIs or spinlock kicks (one CPU). */
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
        cpu->regs[R_EAX] =
            KVM_FEATURE_CLOCKSOURCE2 | KVM_FEATURE_STEAL_TIME | KVM_FEATURE_CLOCKSOURCE_STABLE_BIT;
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
/* Steal time: the guest gives the physical address (64-byte aligned, bit 0
 * enable) of its kvm_steal_time (64 bytes: u64 steal, u32 version, u32
 * flags, u8 preempted, padding). bt86's one virtual CPU is never taken
 * off its host thread in favour of another guest, so the time stolen
 * stays 0: the structure is written once, at enable, with an even
 * version (a reader retries while it is odd), steal 0, not preempted. A
 * write with reserved bits set is not taken (the CPU's own MSR path then
 * raises #GP, as KVM does); an address that is not RAM is dropped. */
static bool pv_steal_time_msr(Vmm *v, CPU *cpu, bool write, uint64_t *value) {
    if (!write) {
        *value = v->pv_steal_time;
        return true;
    }
    if (*value & KVM_STEAL_RESERVED) return false;
    v->pv_steal_time = *value;
    if (!(*value & 1)) return true; /* disabled */
    uint8_t st[64] = {0};
    uint32_t version = 2;
    memcpy(st + 8, &version, 4);
    phys_copy_to(cpu->mmu.pm, *value & ~0x3Full, st, sizeof st);
    return true;
}

static bool pv_msr(void *opaque, CPU *cpu, bool write, uint32_t index, uint64_t *value) {
    Vmm *v = opaque;
    if (index == MSR_KVM_STEAL_TIME) {
        count(v, P_STEAL_TIME_MSR);
        return pv_steal_time_msr(v, cpu, write, value);
    }
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
        phys_copy_to(pm, pa, t, sizeof t);
        return true;
    }
    /* The wall clock at system time 0: the host's real time now, less the
     * guest's system time now. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t boot_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - (int64_t)ns;
    uint32_t w[3] = {2, (uint32_t)(boot_ns / 1000000000), (uint32_t)(boot_ns % 1000000000)};
    phys_copy_to(pm, *value, w, sizeof w);
    return true;
}

/* KVM's hypercalls (Documentation/virt/kvm/x86/hypercalls.rst and
 * include/uapi/linux/kvm_para.h): the number in EAX, arguments in EBX,
 * ECX, EDX, ESI, the result in EAX (32 bits here); nothing else changes.
 * From CPL > 0 (user or virtual-8086 mode) -KVM_EPERM, whatever the
 * number. On this one-CPU machine with no local APIC, CPUID offers none
 * of PV_UNHALT, PV_SEND_IPI and PV_SCHED_YIELD, so KICK_CPU, SEND_IPI and
 * SCHED_YIELD answer -KVM_ENOSYS, as KVM does when it enforces the PV
 * CPUID bits; CLOCK_PAIRING answers -KVM_EOPNOTSUPP, as KVM does when the
 * host clock is not TSC-based (ptp_kvm then gives up); unknown numbers
 * -KVM_ENOSYS. Every one is a VMCALL exit (reason 18). */
#define KVM_ENOSYS            1000
#define KVM_EPERM             1
#define KVM_EOPNOTSUPP        95
#define KVM_HC_VAPIC_POLL_IRQ 1
#define KVM_HC_KICK_CPU       5
#define KVM_HC_CLOCK_PAIRING  9
#define KVM_HC_SEND_IPI       10
#define KVM_HC_SCHED_YIELD    11
static bool pv_hypercall(void *opaque, CPU *cpu) {
    Vmm *v = opaque;
    uint32_t nr = cpu->regs[R_EAX];
    int32_t ret;
    count(v, X_VMCALL);
    switch (nr) {
    case KVM_HC_VAPIC_POLL_IRQ:
        count(v, P_HC_VAPIC_POLL_IRQ);
        ret = 0;
        break;
    case KVM_HC_KICK_CPU:
        count(v, P_HC_KICK_CPU);
        ret = -KVM_ENOSYS;
        break;
    case KVM_HC_CLOCK_PAIRING:
        count(v, P_HC_CLOCK_PAIRING);
        ret = -KVM_EOPNOTSUPP;
        break;
    case KVM_HC_SEND_IPI:
        count(v, P_HC_SEND_IPI);
        ret = -KVM_ENOSYS;
        break;
    case KVM_HC_SCHED_YIELD:
        count(v, P_HC_SCHED_YIELD);
        ret = -KVM_ENOSYS;
        break;
    default:
        count(v, P_HC_UNKNOWN);
        ret = -KVM_ENOSYS;
        break;
    }
    if (cpu->cpl != 0) {
        count(v, P_HC_DENIED);
        ret = -KVM_EPERM;
    }
    cpu->regs[R_EAX] = (uint32_t)ret;
    return true;
}

/* ---------------- bt on bt86's translator ---------------- */

/* What the translator does with a guest instruction, as a VMware-style
 * translator would (the class of each instruction of a TB, dbt.h), from
 * the decoder table's facts: copied unchanged (IDENT), a direct or an
 * indirect branch, rewritten inline against the virtual CPU, or a call
 * out to the emulation core by class. INT n and SYSENTER are call-outs in
 * the kernel and system calls in user mode. */
enum {
    BC_IDENT,
    BC_DIRECT_BRANCH,
    BC_INDIRECT,
    BC_INLINE,
    BC_IO,
    BC_CR_WRITE,
    BC_CR3,
    BC_INVLPG,
    BC_MSR,
    BC_DESC,
    BC_HLT,
    BC_OTHER,
    BC_INT,
    BC_COUNT
};
_Static_assert(BC_COUNT <= DBT_VMM_CLASSES, "bt classes fit the translator's counters");

static unsigned bt_classify(void *opaque, const Insn *in) {
    (void)opaque;
    switch ((SysKind)in->facts.sys) {
    case SYS_CLI_STI:
    case SYS_FLAGS:
    case SYS_CR_READ:
    case SYS_SREG_READ:
    case SYS_TABLE_READ: return BC_INLINE;
    case SYS_CR_WRITE: return in->op == 0x122 && in->reg == 3 ? BC_CR3 : BC_CR_WRITE;
    case SYS_SREG_LOAD: return BC_IDENT; /* shadow descriptors make them safe */
    case SYS_DESC_LOAD: return BC_DESC;
    case SYS_IO: return BC_IO;
    case SYS_HLT: return BC_HLT;
    case SYS_INVLPG: return BC_INVLPG;
    case SYS_MSR: return BC_MSR;
    case SYS_INT: return BC_INT;
    case SYS_SEG_CHECK:
    case SYS_DR:
    case SYS_CPUID:
    case SYS_CACHE:
    case SYS_IRET:
    case SYS_FAR:
    case SYS_SYSEXIT:
    case SYS_VMCALL: return BC_OTHER;
    case SYS_NONE: break;
    }
    switch ((BranchKind)in->facts.branch) {
    case BR_RET:
    case BR_JMP_IND:
    case BR_CALL_IND: return BC_INDIRECT;
    case BR_JCC:
    case BR_LOOP:
    case BR_JMP:
    case BR_CALL: return BC_DIRECT_BRANCH;
    default: return BC_IDENT;
    }
}

/* The counters that come from the translator, brought up to date (it
 * keeps running totals: set, not added). */
static void bt_refresh(const Vmm *cv) {
    if (!cv->on_dbt) return;
    Vmm *v = (Vmm *)cv; /* (the counters are a cache of the translator's) */
    DbtVmmCounts c;
    dbt_vmm_counts(v->cpu, &c);
    const uint64_t *k = c.insns[DBT_VMM_KERNEL], *u = c.insns[DBT_VMM_USER];
    static const struct {
        int cls;
        VmmEvent ev;
    } kernel[] = {{BC_IDENT, B_IDENT},       {BC_DIRECT_BRANCH, B_DIRECT_BRANCH},
                  {BC_INDIRECT, B_INDIRECT}, {BC_INLINE, B_INLINE},
                  {BC_CR_WRITE, B_CR_WRITE}, {BC_CR3, B_CR3},
                  {BC_INVLPG, B_INVLPG},     {BC_MSR, B_MSR},
                  {BC_DESC, B_DESC},         {BC_HLT, B_HLT}};
    for (size_t i = 0; i < sizeof kernel / sizeof kernel[0]; i++)
        v->count[kernel[i].ev] = k[kernel[i].cls];
    v->count[B_OTHER] = k[BC_OTHER] + k[BC_INT];
    v->count[B_IO] = k[BC_IO] + u[BC_IO]; /* the VMM never hands out real ports */
    v->count[B_SYSCALL] = u[BC_INT];
    uint64_t mode[DBT_VMM_MODES] = {0};
    for (int m = 0; m < DBT_VMM_MODES; m++)
        for (int i = 0; i < DBT_VMM_CLASSES; i++)
            mode[m] += c.insns[m][i];
    v->count[B_DIRECT_USER] = mode[DBT_VMM_USER];
    v->kernel_insns = mode[DBT_VMM_KERNEL];
    v->user_insns = mode[DBT_VMM_USER];
    v->realmode_insns = mode[DBT_VMM_REAL];
    v->instructions = v->kernel_insns + v->user_insns + v->realmode_insns;
    v->count[B_TRANSLATE] = v->tc_units = c.translated[DBT_VMM_KERNEL];
    v->count[B_TC_INVALIDATE] = c.invalidated[DBT_VMM_KERNEL];
    v->count[B_TC_FLUSH] = c.flushes;
    v->tc_blocks = c.alive[DBT_VMM_KERNEL];
    v->tc_block_bytes = c.alive_bytes[DBT_VMM_KERNEL];
    v->tc_host_bytes = c.host_bytes[DBT_VMM_KERNEL];
}

/* Guest page-table pages (traced) stay write-tracked when the translator
 * has no code there, and are marked again after a whole-cache flush. */
static bool bt_keeps_page(void *opaque, uint64_t pg) {
    Vmm *v = opaque;
    return pg < v->npages && (v->traced[pg] & 1);
}

static void bt_retrace(void *opaque) {
    Vmm *v = opaque;
    PhysMem *pm = v->cpu->mmu.pm;
    for (uint32_t f = 0; f < v->npages; f++)
        if ((v->traced[f] & 1) && !pm->code_pages[f]) {
            pm->code_pages[f] = 1;
            mmu_drop_write_host_page(&v->cpu->mmu, pm->ram + ((size_t)f << 12));
        }
}

/* bt runs on bt86's translator, which counts (dbt.h); the model keeps the
 * events the translator does not see: exceptions, interrupts, MMIO and
 * shadow paging (page walks, writes to traced page tables, which reach
 * it through the translator's code-write tracking). */
static int bt_attach(Vmm *v, CPU *cpu, char *err, size_t errlen) {
    if (dbt_engine(cpu) == ENGINE_INTERP) {
        snprintf(err, errlen,
                 "the bt model runs on bt86's translator: -accel jit or threaded, not interp");
        return -1;
    }
    v->npages = (uint32_t)(cpu->mmu.pm->ram_end / 4096);
    v->traced = calloc(v->npages + 1, 1);
    DbtVmmHooks h = {.classify = bt_classify,
                     .code_written = vmm_page_written,
                     .keeps_page = bt_keeps_page,
                     .flushed = bt_retrace,
                     .mmio = vmm_mmio,
                     .opaque = v};
    v->cpu = cpu;
    if (!v->traced || dbt_vmm_attach(cpu, &h) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    v->on_dbt = true;
    v->walk_cr3 = cpu->cr3;
    shadow_flush(v);
    cpu->vmm = (CpuVmmHooks){.event = vmm_event, .opaque = v};
    cpu->mmu.walk_hook = vmm_walk;
    cpu->mmu.walk_opaque = v;
    return 0;
}

int vmm_attach(Vmm *v, CPU *cpu, char *err, size_t errlen) {
    PhysMem *pm = cpu->mmu.pm;
    if (v->model == VMM_BT) return bt_attach(v, cpu, err, errlen);
    if (pm->code_written || cpu->run_hooks.run_blocks) {
        snprintf(err, errlen, "-vmm needs the interpreter (a translator is attached)");
        return -1;
    }
    v->npages = (uint32_t)(pm->ram_end / 4096);
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
        cpu->vmm.hypercall = pv_hypercall;
    }
    cpu->mmu.walk_hook = vmm_walk;
    cpu->mmu.walk_opaque = v;
    return 0;
}

Vmm *vmm_of_cpu(const CPU *cpu) {
    return cpu->vmm.event == vmm_event ? cpu->vmm.opaque : NULL;
}

/* ---------------- reports ---------------- */

void vmm_print(const Vmm *v, FILE *out) {
    bt_refresh(v);
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
    if (v->on_dbt)
        fprintf(out,
                "  translation cache: %llu kernel blocks (%llu bytes), %llu bytes of host code "
                "made for kernel blocks\n",
                (unsigned long long)v->tc_blocks, (unsigned long long)v->tc_block_bytes,
                (unsigned long long)v->tc_host_bytes);
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
    bt_refresh(v);
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
    if (v->on_dbt)
        fprintf(f,
                "  \"translation_cache\": {\"kernel_blocks\": %llu, \"kernel_block_bytes\": %llu, "
                "\"kernel_host_code_bytes\": %llu},\n",
                (unsigned long long)v->tc_blocks, (unsigned long long)v->tc_block_bytes,
                (unsigned long long)v->tc_host_bytes);
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
    bt_refresh(v);
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
