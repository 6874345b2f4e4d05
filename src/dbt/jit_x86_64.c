/*
 * jit_x86_64.c - the native backend: x86-64 host code for translation
 * blocks (engine "jit").
 *
 * A block becomes a piece of host code without prologue or epilogue: a
 * small runtime at the start of the code buffer (emit_runtime) sets up one
 * frame when the dispatcher enters host code (jit_run), and blocks jump to
 * each other and back into the runtime to leave or to call a handler, so
 * a block's own code is mostly its instructions. Inside generated code RBX
 * holds cpu and the eight guest general registers live in host r8-r15:
 * loaded at entry, written back to cpu->regs around every call into the
 * core and at the exit. Each guest instruction is either
 *   - inline host code (jit_x86_64/insn.c.inc has the table): MOV of
 *     bytes, words and dwords (also with an immediate or a memory offset),
 *     MOVZX/MOVSX, LEA, CMOVcc, SETcc; ADD/OR/AND/SUB/XOR/CMP/TEST at 8,
 *     16 and 32 bits, ADC/SBB, NEG, NOT, IMUL, INC/DEC, SHL/SHR/SAR by a
 *     constant or CL, ROL/ROR by a constant, BT/BTS/BTR/BTC with an
 *     immediate, XADD and CMPXCHG on memory, BSWAP, CWDE, CDQ (32-bit,
 *     INC/DEC and shifts of memory at any size); PUSH/POP r32, PUSH
 *     imm/m32/sreg, PUSHFD and LEAVE on a flat stack; CLD/STD, CLI/STI at
 *     CPL 0, NOP; the operand of FLD/FST/FSTP m32fp/m64fp (the rest in
 *     fpu_mem_fast); and the block's final near JMP, Jcc, CALL or RET,
 *     direct or indirect (emit_branch_inline). Memory operands use the
 *     software TLB inline when DS/ES/SS are flat (TBF_FLAT), also FS- and
 *     GS-relative ones when those are 4 GiB data segments; the arithmetic
 *     flags are recorded lazily in cpu->lf exactly as the emulation core's
 *     handlers record them, or not at all when a later instruction of the
 *     block overwrites them first; or
 *   - a call of the emulation core's handler for that instruction (the same
 *     one the interpreter runs), with cpu->eip and the retirement counters
 *     brought up to date first, so a fault inside it is precise.
 * An inline memory access whose TLB check fails (miss, MMIO, a page holding
 * translated code, a page-crossing access) jumps to an out-of-line slow
 * path that runs the whole instruction through its handler instead.
 *
 * Instruction counts: inline instructions are counted in bulk in RBP
 * (run_left; icount follows from it, see jit_sync_out) at the next call or
 * at the block's end; dbt_run only enters a block when run_left covers all
 * of it, so it never has to stop in the middle. After each handler call
 * the block ends early when the instruction left the straight line (EIP
 * differs) or asked for the dispatcher (cpu->block_break: invalidation,
 * MMIO, ...).
 *
 * Block exits after straight-line code and near branches go on without
 * the dispatcher: to a patched direct jump into the next block (on the
 * same page, or on another one behind a check of the TLB's mapping of the
 * target: see emit_site, jit_chain) or, for returns and indirect branches,
 * through an inline lookup in the dispatcher's virtual-address cache
 * (emit_lookup).
 *
 * Code memory is W^X: one memfd mapped twice, writable for the generator
 * and executable for the CPU, never both on one mapping. On a host that is
 * not x86-64 (or cannot map it) jit_new returns NULL and the threaded
 * engine runs instead.
 *
 * The generator is written in layers, each in a part of this one
 * translation unit (the .c.inc files in jit_x86_64/, included below,
 * never compiled alone; everything stays static): encode (the x86-64
 * encoder, the only place that knows encoding bytes), guest (the guest's
 * state in host code), flags (lazy and host flags, conditions), mem
 * (memory operands and the inline TLB), insn (the inline instructions, a
 * table of emitters) and exits (handler calls, block exits, chaining
 * sites, the inline lookup, the runtime). What kind of instruction an Insn
 * is (ALU operation, branch, segment load, flag effects) the generator
 * reads from the decoder table's facts (Insn.facts, cpu/insn.h), as the
 * interpreter and the TB builder do.
 */
#define _GNU_SOURCE 1 /* memfd_create */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/ops.h"
#include "cpu/sse.h"
#include "dbt/dbt.h"
#include "dbt/tb.h"

#if defined(__x86_64__) && defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>

#define JIT_CODE_SIZE (64u << 20)
#define JIT_MAX_BLOCK (64u << 10) /* generous bound for one block's code */

/* The parts (see above), the generator's state between the encoder and
 * the rest; the entry points (jit_new ... jit_unchain) follow them. */
#include "jit_x86_64/encode.c.inc"

/* ---------------- the generator's state ---------------- */

/* Fixups to the block's common exit. */
#define MAX_EXITS (DBT_MAX_INSNS * 4)

/* An out-of-line slow path: the whole instruction through its handler. */
typedef struct Slow {
    uint8_t *jump[6]; /* jumps (ends) from the fast path to the slow path */
    int njump;
    uint8_t *resume; /* where the fast path continues after the instruction */
    const Insn *in;
    uint32_t eip, next; /* the instruction's EIP and the next one's */
    int pending;        /* inline instructions not yet counted before this one */
    AluKind host_flags; /* whose host flags the fast path leaves behind, or ALU_NONE */
    /* An instruction of a run of inline SSE code (sse.c.inc): jump[] come
     * from inside the run (sse_dirty to be written back; the guest's MXCSR
     * in the host's if sse_mx), jump_mask[] from the test of the guest's
     * masks (sse_dirty to be written back), jump_dead[] from the checks
     * before the run began; sse_cached: the guest XMM registers to load
     * again after the handler, and sse_mx_after: the guest's MXCSR too. */
    bool sse, sse_mx, sse_mx_after;
    uint8_t sse_dirty, sse_cached;
    uint8_t *jump_dead[3], *jump_mask[1];
    int njump_dead, njump_mask;
} Slow;

typedef struct Gen {
    Emit e;
    const Jit *jit;
    const uint8_t *rx_base; /* where e.buf runs */
    uint8_t *exits[MAX_EXITS];
    uint8_t exit_k[MAX_EXITS]; /* counting for a model: instructions run when exit i is taken */
    int nexits;
    const TB *tb;
    uint32_t vmm_k; /* instructions run once the current one completes (exit_if) */
    Slow slow[DBT_MAX_INSNS];
    int nslow;
    bool flat;
    bool fs_ok, gs_ok; /* TBF_FS, TBF_GS */
    bool user;
    uint32_t tb_flags;
    AluKind
        flags_kind; /* of the inline ALU instruction that set the lazy flags last, or ALU_NONE */
    unsigned flags_size; /* and its operand size (1, 2 or 4) */
    /* The current instruction's flags are overwritten before anyone can
     * see them. */
    bool flags_dead;
    /* How the block's final branch leaves (emit_branch_inline): jumps to
     * exit k (0: fall through, 1: the target) whose EIP is known here, not
     * yet stored in cpu->eip; and jumps to the exits whose EIP is only in
     * cpu->eip (returns, indirect branches). */
    uint8_t *known[2];
    uint8_t *var;
    /* Host flags: an inline 32-bit ALU instruction sets the host's flags as
     * the guest's (set_flags_kind: host_flags_now); where its code ends
     * (host_flags_end), the next instruction may use them as they are if
     * nothing was generated in between (its slow path makes them again). */
    bool host_flags_now;
    uint8_t *host_flags_end;
    /* Inline SSE (sse.c.inc): inside a run host xmm8-15 hold the guest
     * XMM registers in xmm_cached (those in xmm_dirty changed since they
     * were loaded), and from its first floating-point instruction on
     * (mxcsr_live) the guest's MXCSR is the host's. */
    bool sse_live, mxcsr_live;
    uint8_t xmm_cached, xmm_dirty;
    DbtStats *stats;
} Gen;

struct Jit {
    uint8_t *rw, *rx;
    size_t size, used;
    FILE *perf_map; /* BT86_PERF_MAP set: /tmp/perf-PID.map for `perf report` */
    /* the inline lookup (jit_set_lookup) */
    const JcEntry *jc;
    uint64_t *hits;
    TB **vmm_cur; /* counting for a model (jit_set_vmm), or NULL */
    /* The runtime: code all blocks share, at the start of the buffer
     * (emit_runtime; rx addresses, NULL until generated). */
    const uint8_t *rt_enter, *rt_leave, *rt_leave_next, *rt_call_fn, *rt_call_exec;
    size_t rt_size;
    Gen gen; /* the block being generated (one at a time) */
};

#include "jit_x86_64/guest.c.inc"
#include "jit_x86_64/flags.c.inc"
#include "jit_x86_64/mem.c.inc"
#include "jit_x86_64/sse.c.inc"
#include "jit_x86_64/insn.c.inc"
#include "jit_x86_64/exits.c.inc"

void jit_set_lookup(Jit *j, const JcEntry *jc, uint64_t *hits) {
    j->jc = jc;
    j->hits = hits;
}

void jit_set_vmm(Jit *j, TB **cur) {
    j->vmm_cur = cur;
}

Jit *jit_new(void) {
    Jit *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    int fd = memfd_create("bt86-jit", 0);
    if (fd < 0) goto fail;
    if (ftruncate(fd, JIT_CODE_SIZE) < 0) goto fail_fd;
    j->rw = mmap(NULL, JIT_CODE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (j->rw == MAP_FAILED) goto fail_fd;
    j->rx = mmap(NULL, JIT_CODE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (j->rx == MAP_FAILED) {
        munmap(j->rw, JIT_CODE_SIZE);
        goto fail_fd;
    }
    close(fd);
    j->size = JIT_CODE_SIZE;
    if (getenv("BT86_PERF_MAP")) {
        /* perf's convention for JIT code: "start size name" per line. */
        char path[64];
        snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
        j->perf_map = fopen(path, "w");
        if (j->perf_map) setvbuf(j->perf_map, NULL, _IOLBF, 0);
    }
    return j;
fail_fd:
    close(fd);
fail:
    free(j);
    return NULL;
}

void jit_free(Jit *j) {
    if (!j) return;
    if (j->perf_map) fclose(j->perf_map);
    munmap(j->rw, j->size);
    munmap(j->rx, j->size);
    free(j);
}

void jit_reset(Jit *j) {
    j->used = j->rt_size; /* the runtime stays */
}
size_t jit_used(const Jit *j) {
    return j->used;
}

TB *jit_run(Jit *j, CPU *cpu, TB *tb) {
    TB *(*enter)(CPU *, const uint8_t *) = (TB * (*)(CPU *, const uint8_t *))(void *)j->rt_enter;
    return enter(cpu, tb->jit);
}

bool jit_compile(Jit *j, TB *tb, DbtStats *stats) {
    if (!j->rt_enter) emit_runtime(j, stats);
    if (j->size - j->used < JIT_MAX_BLOCK) return false;
    Gen *g = &j->gen;
    memset(g, 0, sizeof *g);
    g->stats = stats;
    g->jit = j;
    g->e.buf = g->e.p = j->rw + j->used;
    g->e.end = j->rw + j->size;
    g->rx_base = j->rx + j->used;
    g->flat = (tb->flags & TBF_FLAT) != 0;
    g->fs_ok = (tb->flags & TBF_FS) != 0;
    g->gs_ok = (tb->flags & TBF_GS) != 0;
    g->user = ((tb->flags >> TBF_CPL_SHIFT) & 3) == 3;
    g->tb_flags = tb->flags;
    g->flags_kind = ALU_NONE;
    g->tb = tb;
    Emit *e = &g->e;

    /* Blocks are entered (rt_enter, chained jumps, lookups) with the
     * guest registers in host ones and the frame set up. */
    uint8_t *entry = e->p;
    if (j->vmm_cur) { /* counting for a model: one more run */
        mov_ri64(e, H_RAX, (uint64_t)(uintptr_t)&tb->vmm_runs);
        inc_m64(e, mem_sum(H_RAX, H_NONE, 0));
    }

    uint32_t eip = tb->eip;
    int pending = 0;
    for (uint32_t i = 0; i < tb->n; i++) {
        const Insn *in = &tb->insns[i];
        uint32_t next = eip + in->len;
        g->flags_dead = flags_dead_after(tb, i);
        g->host_flags_now = false;
        g->vmm_k = i + 1;
        int nslow = g->nslow;
        /* A run of inline SSE code stays open across the other inline
         * instructions of the block (their slow paths leave it and take it
         * up again: new_slow); it ends before a handler call (below) and
         * before the block's last instruction (sse.c.inc). */
        if (!sse_insn(in) && (in->ends_block || i + 1 == tb->n)) sse_close(g);
        if (!in->ends_block && emit_inline(g, in, eip, next, pending)) {
            pending++;
            for (int k = nslow; k < g->nslow; k++)
                g->slow[k].host_flags = g->host_flags_now ? g->flags_kind : ALU_NONE;
            if (g->host_flags_now) g->host_flags_end = e->p;
        } else if (i + 1 == tb->n && (tb->flags & TBF_CODE32) &&
                   emit_branch_inline(g, in, eip, next, pending)) {
            pending = 0; /* counted; exits in g->known and g->var */
        } else {
            sse_close(g); /* (an SSE instruction that needs its handler) */
            count(e, pending);
            pending = 0;
            g->flags_kind = ALU_NONE; /* a handler may set the flags */
            emit_handler_call(g, in, eip, next);
            if (i + 1 < tb->n) {
                cmp_m_imm(e, OFF(eip), next);
                exit_if(g, JCC_NE);
                cmp_m8_imm(e, OFF(block_break), 0);
                exit_if(g, JCC_NE);
            } else if (!in->ends_block || insn_plain_branch(in)) {
                /* The exits below may go on to other blocks' code: not
                 * when the handler asked for the dispatcher. Inline code
                 * never does (its slow paths check after the handler). */
                cmp_m8_imm(e, OFF(block_break), 0);
                exit_if(g, JCC_NE);
                g->var = jmp_fwd(e);
            }
            if (insn_loads_data_seg(in)) emit_mode_check(g, in);
        }
        eip = next;
    }
    /* The exits. Those after a near branch or straight-line code (nothing
     * that can change the mode, IF, TF, the address space or a device's
     * interrupt line) may go straight on to the next block's code: through
     * a chaining site (the same page, or another one behind a check of its
     * TLB entry: direct branches) or the inline lookup (other exits). */
    const Insn *last = &tb->insns[tb->n - 1];
    /* (A block with STI inside ends sensitive, its last instruction a
     * plain one: the dispatcher must ask the PIC.) */
    bool chain_ok = !tb->ends_sensitive;
    bool lookup_ok = chain_ok && j->jc && tb->cs_base == 0;
    uint8_t *site[2] = {NULL, NULL};
    uint8_t kind[2] = {JMP_SITE_PLAIN, JMP_SITE_PLAIN};
    uint8_t *to_lookup[4], *to_ret[8];
    int nto_lookup = 0, nto_ret = 0;
    sse_close(g);
    if (pending) { /* straight-line code: exit 0 */
        count(e, pending);
        g->known[0] = jmp_fwd(e);
    }
    uint32_t known_eip[2] = {eip, eip + last->imm};
    for (int k = 0; k < 2; k++) {
        if (!g->known[k]) continue;
        patch(e, g->known[k], e->p);
        if (!chain_ok) {
            mov_m_imm(e, OFF(eip), known_eip[k]);
            exit_always(g);
        } else if (exit_leaves_page(tb, k) && !lookup_ok) {
            mov_m_imm(e, OFF(eip), known_eip[k]);
            to_ret[nto_ret++] = jmp_fwd(e);
        } else {
            /* The dispatcher links the site when it sees this exit. */
            uint8_t *fix[4] = {NULL, NULL, NULL, NULL};
            if (exit_leaves_page(tb, k)) {
                site[k] = emit_far_site(g, known_eip[k], fix);
                kind[k] = JMP_SITE_FAR;
            } else {
                site[k] = emit_site(g, fix);
            }
            for (int i = 0; i < 4; i++)
                patch(e, fix[i], e->p);
            mov_m_imm(e, OFF(eip), known_eip[k]);
            to_ret[nto_ret++] = jmp_fwd(e);
        }
    }
    if (g->var && !chain_ok) {
        patch(e, g->var, e->p);
        exit_always(g);
    } else if (g->var) {
        /* EIP is in cpu->eip: guarded sites, the one for exit 1 (or 0)
         * patched for the target seen first. */
        patch(e, g->var, e->p);
        cmp_m_imm(e, OFF(eip), eip);
        uint8_t *to1 = jcc_fwd(e, JCC_NE);
        for (int k = 0; k < 2; k++) {
            uint8_t *fix[2], *jne;
            site[k] = emit_guarded_site(g, &jne, fix);
            kind[k] = JMP_SITE_EIP;
            for (int i = 0; i < 2; i++)
                to_ret[nto_ret++] = fix[i];
            if (lookup_ok && exit_leaves_page(tb, k))
                to_lookup[nto_lookup++] = jne;
            else
                to_ret[nto_ret++] = jne;
            if (k == 0) patch(e, to1, e->p);
        }
    }
    /* Back to the dispatcher: from exits it may link or whose address
     * cache entry it may fill (ret_label), and from the rest (exit_label)
     * only when dbt_jit_next finds no compiled block to go on to. RDX says
     * which block is leaving. */
    uint8_t *ret_label = e->p;
    mov_ri64(e, H_RDX, (uint64_t)(uintptr_t)tb);
    rel_to_rt(g, OPC_JMP_Jz, j->rt_leave);
    uint8_t *exit_label = e->p;
    mov_ri64(e, H_RDX, (uint64_t)(uintptr_t)tb);
    rel_to_rt(g, OPC_JMP_Jz, j->rt_leave_next);
    for (int i = 0; i < nto_ret; i++)
        patch(e, to_ret[i], ret_label);
    if (nto_lookup) {
        uint8_t *miss[12];
        int nmiss = 0;
        uint8_t *lookup = e->p;
        emit_lookup(g, j, tb, miss, &nmiss);
        for (int i = 0; i < nmiss; i++)
            patch(e, miss[i], ret_label);
        for (int i = 0; i < nto_lookup; i++)
            patch(e, to_lookup[i], lookup);
    }
    for (int i = 0; i < g->nslow; i++) {
        g->vmm_k = (uint32_t)(g->slow[i].in - tb->insns) + 1;
        emit_slow(g, &g->slow[i]);
    }
    for (int i = 0; i < g->nexits; i++) {
        uint32_t k = g->exit_k[i];
        if (k == 0xFF) continue; /* patched with an earlier exit of the same k */
        if (!j->vmm_cur || k >= tb->n) {
            patch(e, g->exits[i], exit_label);
            continue;
        }
        /* Counting for a model: the run left after k instructions. One
         * piece of code per k, for all the exits with that k. */
        patch(e, g->exits[i], e->p);
        for (int m = i + 1; m < g->nexits; m++)
            if (g->exit_k[m] == k) {
                patch(e, g->exits[m], e->p);
                g->exit_k[m] = 0xFF;
            }
        mov_ri64(e, H_RAX, (uint64_t)(uintptr_t)&tb->vmm_exits[k]);
        inc_m64(e, mem_sum(H_RAX, H_NONE, 0));
        patch(e, jmp_fwd(e), exit_label);
    }
    if (e->full) return false;
    size_t len = (size_t)(e->p - e->buf);
    uint8_t *rx = j->rx + j->used;
    tb->jit = rx + (entry - e->buf);
    for (int k = 0; k < 2; k++) {
        tb->jmp_site[k] = site[k];
        tb->jmp_eip[k] = known_eip[k];
        tb->jmp_kind[k] = kind[k];
        tb->jmp_dest[k] = NULL;
        tb->jmp_in_next[k] = 0;
    }
    tb->jmp_in = 0;
    j->used += (len + 15) & ~(size_t)15;
    if (j->perf_map)
        fprintf(j->perf_map, "%lx %zx guest:%08x+%u\n", (unsigned long)(uintptr_t)rx, len,
                tb->cs_base + tb->eip, tb->size);
    return true;
}

static uint8_t *rx_of(Jit *j, uint8_t *rw) {
    return j->rx + (rw - j->rw);
}

bool jit_chain(Jit *j, TB *src, int k, const TB *dst, bool same_page) {
    uint8_t *site = src->jmp_site[k];
    /* (The dispatcher calls the exit k whenever EIP is not the fall-through
     * one, also after a handler in the middle of the block changed it.) */
    switch (src->jmp_kind[k]) {
    case JMP_SITE_EIP:
        if (!same_page) return false;
        memcpy(site + GUARD_EIP, &dst->eip, 4);
        site += GUARD_LEN;
        break;
    case JMP_SITE_FAR: {
        if (src->jmp_eip[k] != dst->eip || dst->cs_base != 0) return false;
        uint32_t page = dst->eip & ~0xFFFu;
        uint64_t addend = (uint64_t)dst->host_pc - dst->eip;
        memcpy(site + FAR_TAG, &page, 4);
        memcpy(site + FAR_ADDEND, &addend, 8);
        site += FAR_LEN;
        break;
    }
    default:
        if (!same_page || src->jmp_eip[k] != dst->eip) return false;
        break;
    }
    uint32_t n = dst->n;
    memcpy(site + SITE_IMM, &n, 4);
    int32_t rel = (int32_t)(dst->jit - (rx_of(j, site) + SITE_LEN));
    memcpy(site + SITE_JMP + 1, &rel, 4);
    return true;
}

void jit_unchain(Jit *j, TB *src, int k) {
    (void)j;
    uint8_t *site = src->jmp_site[k];
    if (src->jmp_kind[k] == JMP_SITE_EIP)
        site += GUARD_LEN; /* the EIP may stay: the jump leads out */
    if (src->jmp_kind[k] == JMP_SITE_FAR) {
        uint32_t none = TLB_TAG_NONE;
        memcpy(site + FAR_TAG, &none, 4);
        site += FAR_LEN;
    }
    int32_t rel_jb;
    memcpy(&rel_jb, site + SITE_JB + 2, 4);
    /* The jb (ending at SITE_JMP) already points at the block's exit. */
    int32_t rel = rel_jb - (SITE_LEN - SITE_JMP);
    memcpy(site + SITE_JMP + 1, &rel, 4);
}

#else /* not an x86-64 Linux host: no native backend */

Jit *jit_new(void) {
    return NULL;
}
void jit_free(Jit *j) {
    (void)j;
}
void jit_reset(Jit *j) {
    (void)j;
}
size_t jit_used(const Jit *j) {
    (void)j;
    return 0;
}
bool jit_compile(Jit *j, TB *tb, DbtStats *stats) {
    (void)j;
    (void)tb;
    (void)stats;
    return false;
}
bool jit_chain(Jit *j, TB *src, int k, const TB *dst, bool same_page) {
    (void)j, (void)src, (void)k, (void)dst, (void)same_page;
    return false;
}
void jit_unchain(Jit *j, TB *src, int k) {
    (void)j, (void)src, (void)k;
}
TB *jit_run(Jit *j, CPU *cpu, TB *tb) {
    (void)j, (void)cpu;
    return tb;
}
void jit_set_lookup(Jit *j, const JcEntry *jc, uint64_t *hits) {
    (void)j, (void)jc, (void)hits;
}

#endif
