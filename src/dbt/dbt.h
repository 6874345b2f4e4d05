/*
 * dbt.h - the binary translator: translation blocks (TBs), the TB cache,
 * and the engines that run them.
 *
 * A TB is a run of guest instructions that starts at one (CS base, EIP)
 * and ends after a control transfer or any other instruction the decode
 * table marks D_END (I/O, mode or IF/TF changes, descriptor-table loads),
 * at the end of a 4 KiB page, or after DBT_MAX_INSNS instructions. It is
 * keyed by the host address of its first byte (which names the RAM or ROM
 * byte behind the guest address, so aliases share it), EIP, CS base and the
 * mode bits that change decoding (code size, CPL).
 *
 * Lookup goes through a small cache indexed by the linear address (valid
 * only within one MMU/TB generation: any TLB flush or invalidation starts a
 * new one) and then a hash table. Blocks are chained: each TB remembers the
 * TB that followed it on each of its two exits, so a loop runs without
 * lookups until an interrupt, an I/O access or an invalidation asks the
 * dispatcher to look at the machine again (cpu->block_break).
 *
 * Self-modifying code: pages holding TBs are marked in PhysMem.code_pages,
 * lose their TLB write entries, and every write to them reaches
 * dbt_code_written, which invalidates exactly the TBs whose bytes overlap
 * the write; if the running TB is among them it stops after the current
 * instruction.
 *
 * Engines (CpuEngine in cpu/cpu.h): ENGINE_INTERP decodes every
 * instruction; ENGINE_THREADED runs pre-decoded TBs (threaded code: an
 * array of decoded records whose handlers are the emulation core's, so
 * semantics and exceptions are exactly the interpreter's). Tracing, TF
 * single-step, instruction breakpoints and interrupt shadows always take the
 * interpreter's path for the instruction concerned.
 *
 * Use: cpu_set_engine(cpu, ENGINE_THREADED) creates the translator; cpu_run
 * calls dbt_run. dbt_print_stats prints the counters.
 */
#ifndef BT86_DBT_H
#define BT86_DBT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct CPU;

#define DBT_MAX_INSNS 64

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
    uint64_t core_calls[512];
    const char *core_call_name[512];
} DbtStats;

typedef struct Dbt Dbt;

/* Create the translator for cpu and attach its code tracking to the CPU's
 * physical memory. NULL on allocation failure. */
Dbt *dbt_new(struct CPU *cpu);
void dbt_free(Dbt *d);
/* Drop every TB (cause: 0 cache full, 1 address map changed). */
void dbt_flush(Dbt *d, int cause);
/* Run translated code from cs:eip until a block boundary needs the
 * dispatcher (interrupt, I/O, invalidation, run_left exhausted). Returns
 * false without running anything when the code cannot be translated (then
 * the caller interprets one instruction). Called from cpu_run only. */
bool dbt_run(struct CPU *cpu);
/* The decoded first instruction of the TB at cs:eip (translating it if
 * needed), or NULL if there is none: what the run loop executes alone
 * under an interrupt shadow, without decoding it again each time. May
 * raise #PF for the fetch, as decoding would. */
const struct Insn *dbt_first_insn(struct CPU *cpu);
const DbtStats *dbt_stats(const Dbt *d);
void dbt_print_stats(const Dbt *d, FILE *f);

/* For tests and tools that look at generated code (tests/golden): the
 * live TB at cs_base:eip (any mode bits) that the jit compiled, or NULL.
 * Its fields are in dbt/tb.h. Scans the whole TB cache: not for hot paths. */
struct TB;
const struct TB *dbt_compiled_tb(const Dbt *d, uint32_t cs_base, uint32_t eip);

#endif
