/*
 * tb.h - the translation block, shared by the TB cache (dbt.c) and the
 * x86-64 code generator (jit_x86_64.c). Private to src/dbt/.
 */
#ifndef BT86_TB_H
#define BT86_TB_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/core.h"

/* TB.pa and TB.pa2 when the bytes are not in RAM. */
#define NO_PAGE UINT64_MAX

/* Whether this host has the native backend (jit_x86_64.c): x86-64 Linux. */
#if defined(__x86_64__) && defined(__linux__)
#define DBT_HAVE_JIT 1
#else
#define DBT_HAVE_JIT 0
#endif

/* TB flag bits (part of the key). */
#define TBF_CODE32    1u /* CS.D */
#define TBF_CPL_SHIFT 1  /* bits 1-2: CPL */
#define TBF_FLAT      8u /* DS, ES, SS: base 0, limit 4 GiB, present writable data; no #AC possible */
#define TBF_FS        16u /* with TBF_FLAT: FS is a 4 GiB present writable data segment (any base) */
#define TBF_GS        32u /* the same for GS */

typedef struct TB TB;
struct TB {
    /* key */
    uintptr_t host_pc; /* host address of the first guest byte */
    uint32_t eip, cs_base;
    uint32_t flags; /* TBF_* */
    /* extent */
    uint32_t size; /* guest bytes */
    uint64_t pa;   /* physical address of the first byte if in RAM, else NO_PAGE */
    /* A block of one instruction that crosses into the next page: that
     * page's host address (checked at every lookup) and physical address;
     * such blocks are also on the Dbt's list of crossing blocks. */
    uintptr_t host2; /* 0: the block stays on one page */
    uint64_t pa2;
    TB *cross_next;
    TB *hash_next;
    TB *page_next; /* next TB on the same RAM page */
    TB *dead_next; /* graveyard list */
    /* chaining: the TB that followed on exit 0 (fall through) and 1 (other) */
    TB *link[2];
    uint64_t link_gen[2];
    uint32_t n;          /* instructions */
    bool ends_sensitive; /* its last instruction ends blocks and is not a plain branch
                            (I/O, STI, POPF, ...): the dispatcher asks the PIC after it */
    bool at_break;       /* it starts at a debugger's breakpoint: never compiled nor
                            chained into, so cpu_run sees every arrival there */
    /* Host code for the block (jit engine), or NULL: entered through
     * jit_run, chained jumps and the inline lookup. */
    const uint8_t *jit;
    uint32_t execs; /* executions before it was compiled */
    /* Direct chaining of host code (jit): exit k (0: fall through, 1: the
     * other way) of a block that ends with a near branch or in the middle
     * of straight-line code can jump straight into the next block's host
     * code. jmp_site[k] is the patchable code (NULL: no such exit),
     * jmp_dest[k] the block it now jumps to; every block keeps the list of
     * exits that jump to it (jmp_in: tagged TB pointer | k, continued in the
     * source's jmp_in_next[k]) so they can be undone when it dies. */
    uint8_t *jmp_site[2];
    uint8_t jmp_kind[2]; /* JMP_SITE_* (jit_x86_64.c) */
    uint32_t jmp_eip[2]; /* the EIP exit k leads to, when the site does not check it */
    TB *jmp_dest[2];
    uintptr_t jmp_in;
    uintptr_t jmp_in_next[2];
    /* Counting for a model (dbt_vmm_attach; NULL pointers otherwise): the
     * runs (entries) of the block, how many runs left it after exactly k
     * of its instructions (vmm_exits[k], k < n), each instruction's class
     * and the block's mode (DBT_VMM_*). In the same allocation, after
     * insns. */
    uint64_t vmm_runs;
    uint64_t *vmm_exits;
    uint8_t *vmm_cls;
    uint8_t vmm_mode;
    Insn insns[];
};

/* The per-CPU virtual-address cache (dbt.c fills it, the jit's inline
 * lookup reads it): entry jc_index(lin, flags) holds the TB last found for
 * that linear address and those mode bits (a dying TB clears its entry),
 * usable while the TLB maps lin to the TB's first byte. The mode bits are
 * part of the index because the same kernel code runs under two of them
 * (TBF_GS follows the user's GS, which the kernel leaves alone): with one
 * entry per address, switching between processes with and without thread
 * data would evict one version for the other at every system call. The
 * entry repeats what the inline lookup checks, so that it reads one cache
 * line instead of the TB's three. */
#define JC_BITS 16
#define JC_SIZE (1u << JC_BITS)
typedef struct JcEntry {
    uint32_t lin;
    uint32_t flags; /* tb->flags */
    TB *tb;
    uintptr_t host_pc;    /* tb->host_pc */
    const uint8_t *entry; /* tb->jit (NULL: not compiled) */
} JcEntry;
_Static_assert(TBF_GS < 64, "jc_salt: mode bits fit in 6 bits");
static inline uint32_t jc_salt(uint32_t flags) {
    return flags << (JC_BITS - 6);
}
static inline uint32_t jc_index(uint32_t lin, uint32_t flags) {
    return ((lin ^ (lin >> JC_BITS)) & (JC_SIZE - 1)) ^ jc_salt(flags);
}
/* Entries hold TBs with CS base 0 only (flat code: the linear address
 * is the EIP); others are found through the hash table. */
static inline void jc_set(JcEntry *j, uint32_t lin, TB *tb) {
    if (tb->cs_base != 0) return;
    j->lin = lin;
    j->flags = tb->flags;
    j->tb = tb;
    j->host_pc = tb->host_pc;
    j->entry = tb->jit;
}
static inline bool jc_matches(const JcEntry *j, uint32_t cs_base, uint32_t lin, uint32_t flags,
                              const uint8_t *host) {
    return cs_base == 0 && j->tb && j->lin == lin && j->flags == flags &&
           j->host_pc == (uintptr_t)host;
}

/* Readers of the decoder table's facts (insn.h) for the TB builder and the
 * jit. */

/* Near jumps, calls and returns (direct or indirect) end blocks but need
 * none of exec_insn's bookkeeping for interrupt shadows and traps, and
 * change nothing but EIP, ESP and memory: no mode, IF or device state. */
static inline bool insn_plain_branch(const Insn *in) {
    return in->facts.branch != BR_NONE && in->facts.branch < BR_FAR;
}

/* Instructions the decoder table marks as block-ending that a block may
 * run through all the same (BLK_GOES_ON): loads of ES, DS, FS or GS (MOV,
 * POP) change no more than the TB's mode bits (the jit checks them after
 * the handler and leaves the block if they changed; handler-only
 * execution does not depend on them), and CLI changes nothing a later
 * instruction of the block or the dispatcher depends on; nor do SLDT,
 * STR, VERR and VERW (group 6 but LLDT and LTR). POPF asks for the
 * dispatcher (block_break) only when it opens the interrupt window or
 * changes TF or AC (which TBF_FLAT depends on). MOV/POP SS (interrupt
 * shadow) and LDS/LES/LFS/LGS/LSS still end blocks; STI ends its block
 * after one more instruction (tb_translate). */
static inline bool insn_block_goes_on(const Insn *in) {
    return in->facts.block == BLK_GOES_ON;
}
/* The segment loads among them. */
static inline bool insn_loads_data_seg(const Insn *in) {
    return insn_block_goes_on(in) && in->facts.sreg != SL_NONE;
}
/* The segment register (SEG_*) a segment load (facts.sreg) writes. */
_Static_assert(SL_ES == SEG_ES + 1 && SL_CS == SEG_CS + 1 && SL_SS == SEG_SS + 1 &&
                   SL_DS == SEG_DS + 1 && SL_FS == SEG_FS + 1 && SL_GS == SEG_GS + 1,
               "SegLoad: SEG_* + 1");
static inline int insn_loaded_seg(const Insn *in) {
    return in->facts.sreg - 1;
}
/* The mode bits of a TB starting now (dbt.c). */
uint32_t dbt_tb_flags_now(const struct CPU *cpu);
/* For host code leaving block `last` after a handler (a mode change, an
 * exit in the middle of the block, ...): the host entry of the compiled
 * block the dispatcher would run next, if it needs nothing the dispatcher
 * does but a look in the address cache (dbt.c); NULL: return to it. */
const uint8_t *dbt_jit_next(struct CPU *cpu, const TB *last);

typedef struct Jit Jit;
/* The code generator, or NULL if this host cannot run it. */
Jit *jit_new(void);
void jit_free(Jit *j);
/* Forget all generated code (the TBs that used it are gone). */
void jit_reset(Jit *j);
/* Generate host code for tb (sets tb->jit and its chaining sites); false
 * if the code buffer is full. Calls into the core are counted in
 * stats->core_calls. */
struct DbtStats;
bool jit_compile(Jit *j, TB *tb, struct DbtStats *stats);
/* Run tb's host code, possibly followed by blocks chained to it (see
 * jit_x86_64.c), as tb_exec would run its instructions; returns the TB
 * whose code ran last. */
TB *jit_run(Jit *j, CPU *cpu, TB *tb);
/* Make exit k of src jump to dst's host code (false: that exit never
 * leads to dst's EIP, or needs dst on the same page and same_page is
 * false) / back to the dispatcher. */
bool jit_chain(Jit *j, TB *src, int k, const TB *dst, bool same_page);
void jit_unchain(Jit *j, TB *src, int k);
/* Where the inline lookup at block exits finds the virtual-address cache,
 * and the counter of its hits. Without it, exits always return to the
 * dispatcher. */
void jit_set_lookup(Jit *j, const JcEntry *jc, uint64_t *hits);
/* Count for a model (dbt_vmm_attach): blocks compiled from now on count
 * their runs (tb->vmm_runs) and early exits (tb->vmm_exits) and store
 * their TB in *cur before every call into the core (an exception there
 * unwinds from that TB). NULL: the code of no model, as always. */
void jit_set_vmm(Jit *j, TB **cur);
/* Bytes of generated code in use. */
size_t jit_used(const Jit *j);

#endif
