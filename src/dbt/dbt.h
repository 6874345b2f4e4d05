/*
 * dbt.h - the binary translator: translation blocks (TBs), the TB cache,
 * the engines that run them, and how a CPU gets one (dbt_attach).
 *
 * A TB is a run of guest instructions that starts at one (CS base, EIP)
 * and ends after a control transfer or any other instruction the decode
 * table marks D_END (I/O, mode or IF/TF changes, descriptor-table loads),
 * at the end of a 4 KiB page, or after DBT_MAX_INSNS instructions. It is
 * keyed by the host address of its first byte (which names the RAM or ROM
 * byte behind the guest address, so aliases share it), EIP, CS base and the
 * mode bits that change decoding or what generated code assumes (TBF_* in
 * tb.h: code size, CPL, flat DS/ES/SS, FS and GS usable as 4 GiB segments).
 *
 * Lookup goes first through the address cache: 64K entries indexed by the
 * linear address and the mode bits together (blocks with CS base 0 only),
 * each keeping its whole key (linear address, mode bits, host address of
 * the first byte) beside the TB and its host code. An entry holds while
 * its TB lives (a dying TB clears it) and the TLB still maps the linear
 * address to the TB's first byte, so TLB flushes need not touch it; a
 * whole-cache flush clears it. Then comes a hash table. Blocks are
 * chained: each TB remembers the TB that followed it on each of its two
 * exits (valid while no TB died and the MMU was not flushed since), and
 * the jit patches exits to jump straight into the next block's host code,
 * so a loop runs without lookups until an interrupt, an I/O access or an
 * invalidation asks the dispatcher to look at the machine again
 * (cpu->block_break).
 *
 * Self-modifying code: pages holding TBs are marked in PhysMem.code_pages,
 * lose their TLB write entries, and every write to them reaches
 * dbt_code_written, which invalidates exactly the TBs whose bytes overlap
 * the write; if the running TB is among them it stops after the current
 * instruction. A change of the physical address map drops every TB.
 *
 * Engines (DbtEngine): ENGINE_INTERP is no translator at all (cpu_run
 * decodes every instruction); ENGINE_THREADED runs pre-decoded TBs
 * (threaded code: an array of decoded records whose handlers are the
 * emulation core's, so semantics and exceptions are exactly the
 * interpreter's); ENGINE_JIT runs them threaded too until a block is hot
 * (DBT_JIT_HOT runs, dbt.c), then as x86-64 host code (jit_x86_64.c). The
 * jit exists on x86-64 Linux hosts only: elsewhere ENGINE_JIT runs the
 * threaded engine, which is also the default there. Tracing, TF single-step, instruction
 * breakpoints and interrupt shadows always take the interpreter's path for
 * the instruction concerned.
 *
 * The CPU reaches the translator only through its run hooks (CpuRunHooks
 * in cpu/cpu.h), which dbt_attach fills; the translator depends on the
 * CPU and the MMU, never the other way.
 *
 * Use:
 *     DbtEngine e = dbt_engine_from_env(getenv("BT86_ACCEL")); // front ends, tests
 *     if (dbt_attach(cpu, e) < 0) ...;    // out of memory
 *     cpu_run(cpu, n);                    // runs blocks through the hooks
 *     dbt_print_stats(cpu, stderr);       // the counters
 *     cpu_free(cpu);                      // frees the translator too
 */
#ifndef BT86_DBT_H
#define BT86_DBT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct CPU;

#define DBT_MAX_INSNS 64

/* How a CPU runs instructions. */
typedef enum DbtEngine {
    ENGINE_INTERP,   /* no translator: decode and execute one instruction at a time */
    ENGINE_THREADED, /* pre-decoded translation blocks, chained */
    ENGINE_JIT,      /* hot translation blocks as x86-64 host code (threaded elsewhere) */
} DbtEngine;

/* Engine names as the -accel option and BT86_ACCEL spell them ("interp",
 * "threaded", "jit"); -1 if unknown. */
int dbt_engine_from_name(const char *name);
const char *dbt_engine_name(DbtEngine engine);
/* The engine a front end or test runs when not told otherwise: the one
 * `value` names (the environment variable BT86_ACCEL, read by the caller;
 * NULL, empty or unknown: none), else ENGINE_JIT on hosts with the native
 * backend (x86-64 Linux) and ENGINE_THREADED elsewhere. */
DbtEngine dbt_engine_from_env(const char *value);

/* Make cpu run with the engine: ENGINE_INTERP detaches any translator;
 * the others create one if the CPU has none (it attaches its code
 * tracking to the CPU's physical memory) and fill cpu->run_hooks.
 * ENGINE_JIT becomes ENGINE_THREADED on hosts without the native backend.
 * Returns 0, or -1 on allocation failure (the CPU then interprets). */
int dbt_attach(struct CPU *cpu, DbtEngine engine);
/* Free cpu's translator, if any, and clear its run hooks (cpu_free does
 * this through the detach hook). */
void dbt_detach(struct CPU *cpu);
/* The engine cpu runs with (ENGINE_INTERP when no translator is attached). */
DbtEngine dbt_engine(const struct CPU *cpu);
/* -singlestep: translate one instruction per block from now on (no effect
 * without a translator). */
void dbt_set_singlestep(struct CPU *cpu, bool on);
/* Tests: the jit compiles a block at its runs-th run (default 16; 1: at
 * the first, so that code run once, as the differential tests' sequences
 * are, runs as host code). No effect without the jit. */
void dbt_set_jit_hot(struct CPU *cpu, unsigned runs);

typedef struct DbtStats {
    uint64_t blocks_translated;
    uint64_t insns_translated;
    uint64_t blocks_compiled; /* jit: blocks turned into host code (hot ones) */
    uint64_t jit_links;       /* jit: exits patched to jump straight to the next block */
    uint64_t blocks_run;      /* TB executions (chained or looked up) */
    uint64_t insns_run;       /* instructions executed inside TBs */
    uint64_t lookup_fast;     /* found in the per-CPU virtual-address cache */
    uint64_t lookup_hash;     /* found in the hash table */
    uint64_t lookup_miss;     /* translated */
    uint64_t chained;         /* block-to-block transfers through a link */
    uint64_t jit_lookups; /* jit: exits that found their next block inline in the address cache */
    uint64_t jit_next;    /* jit: exits after a handler that went on through dbt_jit_next */
    uint64_t untranslatable; /* lookups that fell back to one interpreted step */
    uint64_t inval_write;    /* TBs invalidated by a write to their bytes */
    uint64_t inval_device;   /* ... of which by a device, DMA or a loader (not the CPU) */
    uint64_t flush_full;     /* whole-cache flushes: cache full */
    uint64_t flush_map;      /* whole-cache flushes: address map changed */
    uint64_t code_bytes;     /* bytes of TBs alive */
    /* jit: calls from host code into the emulation core, by opcode
     * (0x000-0x0FF one-byte map, 0x100-0x1FF 0F map), with a mnemonic. */
    uint64_t core_calls[0x400]; /* by Insn.op (0F 38 / 0F 3A maps at 0x200 / 0x300) */
    const char *core_call_name[0x400];
} DbtStats;

/* cpu's translator's counters; NULL (dbt_stats) or nothing printed
 * (dbt_print_stats) when no translator is attached. */
const DbtStats *dbt_stats(const struct CPU *cpu);
void dbt_print_stats(const struct CPU *cpu, FILE *f);

/* Counting for a virtualization model (-vmm bt, src/vmm/): the translator
 * counts what its translated code really runs. When a model attaches
 * (dbt_vmm_attach, which drops every TB), each TB made from then on holds
 * the class of each of its instructions (the model's classify hook, from
 * the decoder's facts) and its mode (real, kernel: protected mode CPL 0,
 * user: CPL 1-3 or virtual-8086), and counts its runs: the jit emits an
 * increment of the TB's counter at the block's entry, the threaded engine
 * counts in the dispatcher. A run that leaves the block early (after a
 * handler that asked for the dispatcher or left the straight line, a mode
 * change, an exception) counts how many of its instructions ran, so every
 * count is exact: an instruction counts each time translated code runs it
 * to its end (or, for a REP string instruction, to a point where it
 * leaves the block to be resumed); one that faults does not count (its
 * exception is the model's event). Instructions bt86 runs outside TBs
 * (code that is not in RAM or ROM, a debugger's steps) are not counted.
 * The counts of a dying TB are folded into the totals when it is freed.
 * Without a model nothing of this runs and the jit emits what it always
 * did. */
enum { DBT_VMM_REAL, DBT_VMM_KERNEL, DBT_VMM_USER, DBT_VMM_MODES };
#define DBT_VMM_CLASSES 16
struct Insn;
typedef struct DbtVmmHooks {
    /* The class (< DBT_VMM_CLASSES) of an instruction being translated. */
    unsigned (*classify)(void *opaque, const struct Insn *in);
    /* Every write to a page the translator tracks (PhysMem's code-write
     * tracking is the translator's: the model may track pages too, e.g.
     * guest page tables, by marking them in PhysMem.code_pages). */
    void (*code_written)(void *opaque, uint64_t paddr, uint64_t len, int by);
    /* Whether the model still wants writes to RAM page pg (when the
     * translator has no more TBs there); after a whole-cache flush
     * `flushed` must mark its pages again. */
    bool (*keeps_page)(void *opaque, uint64_t pg);
    void (*flushed)(void *opaque);
    void (*mmio)(void *opaque); /* an MMIO access (PhysMem.mmio_touched) */
    void *opaque;
} DbtVmmHooks;
typedef struct DbtVmmCounts {
    uint64_t insns[DBT_VMM_MODES][DBT_VMM_CLASSES]; /* instructions run, by mode and class */
    uint64_t blocks_run[DBT_VMM_MODES];             /* TB runs (entries) */
    uint64_t translated[DBT_VMM_MODES];             /* TBs made */
    uint64_t invalidated[DBT_VMM_MODES];            /* TBs invalidated by writes to their bytes */
    uint64_t flushes;                    /* whole-cache flushes (cache full, map changed) */
    uint64_t host_bytes[DBT_VMM_MODES];  /* host code generated by the jit */
    uint64_t alive[DBT_VMM_MODES];       /* TBs alive now */
    uint64_t alive_bytes[DBT_VMM_MODES]; /* ... their size in the TB cache (bytes) */
} DbtVmmCounts;
/* Start counting (drops every TB). -1 when cpu has no translator. */
int dbt_vmm_attach(struct CPU *cpu, const DbtVmmHooks *hooks);
/* Stop counting (drops every TB; the counts are gone). */
void dbt_vmm_detach(struct CPU *cpu);
/* The counts so far (the totals of dead TBs plus the live ones'). */
void dbt_vmm_counts(const struct CPU *cpu, DbtVmmCounts *out);
/* An exception is being delivered (the model's event hook): if it
 * unwound from a TB, that run ended before the faulting instruction. */
void dbt_vmm_exception(struct CPU *cpu);

/* For tests and tools that look at generated code (tests/golden): the
 * live TB at cs_base:eip (any mode bits) that cpu's jit compiled, or NULL
 * (also when no translator is attached).
 * Its fields are in dbt/tb.h. Scans the whole TB cache: not for hot paths. */
struct TB;
const struct TB *dbt_compiled_tb(const struct CPU *cpu, uint32_t cs_base, uint32_t eip);

#endif
