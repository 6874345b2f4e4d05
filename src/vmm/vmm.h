/*
 * vmm.h - the virtualization lab: counts what a classic VMM would have to
 * do to run the guest bt86 is running, under one of five techniques, and
 * turns the counts into modelled cycles.
 *
 * bt86 sees every guest instruction, so a model watches the instruction
 * stream (through CpuVmmHooks in cpu/cpu.h), the events the CPU delivers
 * (exceptions, interrupts), the page walks and page-table writes (through
 * the MMU's walk hook and the code-write tracking of PhysMem) and MMIO
 * accesses, and counts events by class:
 *   trap         trap-and-emulate with ring compression (guest CPL 0 in
 *                ring 1) on a pre-VT x86: privileged instructions trap;
 *                the sensitive unprivileged ones (Robin and Irvine) run as
 *                ring-1 hardware would, so the guest sees what it would
 *                really have seen, and each is recorded as a violation;
 *   trap-detect  the same counting, but the sensitive instructions run
 *                correctly: every violation is reported, none is felt;
 *   bt           binary translation of guest kernel code (VMware style):
 *                identical, inline-rewritten, call-outs by class, user
 *                code executed directly;
 *   hw           first-generation VT-x without EPT: VM exits by reason;
 *   hw-ept       VT-x with nested paging;
 *   pv           hw-ept plus KVM's paravirtual interface (hypercalls).
 * Shadow paging (trap, bt, hw) is modelled without changing what the guest
 * sees: hidden page faults, tracing faults on guest page-table writes, CR3
 * switches.
 *
 * A model runs the guest one instruction at a time (the interpreter): it
 * needs the machine to run without a translator (dbt_attach(cpu,
 * ENGINE_INTERP)), since it owns PhysMem's code-write tracking. bt is the
 * exception: it needs bt86's translator (jit or threaded) and takes its
 * instruction counts from it (dbt_vmm_attach in dbt/dbt.h). With no
 * model attached nothing here runs and the CPU's hooks are NULL.
 *
 * Use:
 *     VmmModel m; vmm_model_parse("trap", &m);
 *     Vmm *v = vmm_new(m);
 *     vmm_load_costs(v, "costs.txt", err, sizeof err);   // optional
 *     vmm_attach(v, cpu, err, sizeof err);
 *     ... run ...
 *     vmm_print(v, stdout);                               // monitor: info vmm
 *     vmm_write_report(v, "report.json", NULL, NULL, err, sizeof err);
 *     vmm_free(v);
 */
#ifndef BT86_VMM_H
#define BT86_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"

typedef enum VmmModel {
    VMM_NONE,
    VMM_TRAP,
    VMM_TRAP_DETECT,
    VMM_BT,
    VMM_HW,
    VMM_HW_EPT,
    VMM_PV,
    VMM_MODEL_COUNT
} VmmModel;

typedef struct Vmm Vmm;

/* "none", "trap", "trap-detect", "bt", "hw", "hw-ept", "pv": 0, or -1. */
int vmm_model_parse(const char *name, VmmModel *out);
const char *vmm_model_name(VmmModel m);

Vmm *vmm_new(VmmModel model);
void vmm_free(Vmm *v);
VmmModel vmm_model(const Vmm *v);
/* Override costs from a file of "CLASS CYCLES" lines ('#' comments).
 * 0, or -1 with a message (unknown class, bad number, unreadable file). */
int vmm_load_costs(Vmm *v, const char *path, char *err, size_t errlen);
/* Install the hooks on cpu (and its MMU and physical memory). -1 when a
 * translator owns the code-write tracking (bt: when there is none). */
int vmm_attach(Vmm *v, CPU *cpu, char *err, size_t errlen);
/* Report the machine's I/O path counters (devices/iostats.h) from now
 * on: the virtio.* and ide.* classes, and exit.io split into exit.io.ide
 * and exit.io.virtio by the path an I/O instruction reached. */
struct IoStats;
void vmm_set_io_stats(Vmm *v, const struct IoStats *io);
/* The Vmm attached to cpu, or NULL. */
Vmm *vmm_of_cpu(const CPU *cpu);

/* Counters, by the class names of the report (e.g. "trap.io"): the count,
 * or 0 for a class the model does not have. */
uint64_t vmm_count(const Vmm *v, const char *cls);
uint64_t vmm_instructions(const Vmm *v);
double vmm_modeled_cycles(const Vmm *v);

/* Symbol lookup for the report's violations: writes "function+0xoff" for
 * a linear address and returns true, or false when unknown. */
typedef bool (*VmmSymbolFn)(void *opaque, uint32_t lin, char *buf, size_t len);

/* The live counters as text (the monitor's `info vmm`). */
void vmm_print(const Vmm *v, FILE *out);
/* The report: JSON when path ends in .json, an HTML page with SVG charts
 * when it ends in .html (docs/vmm-report.md). 0 or -1. */
int vmm_write_report(const Vmm *v, const char *path, VmmSymbolFn sym, void *sym_opaque,
                     double host_seconds, char *err, size_t errlen);

#endif
