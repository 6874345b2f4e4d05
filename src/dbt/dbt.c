/*
 * dbt.c - translation blocks: translation, the TB cache (hash table, the
 * per-CPU virtual-address cache, per-page lists), chaining, invalidation,
 * the threaded-code engine that runs TBs, and the CPU's run hooks
 * (dbt_attach). See dbt.h. A debugger's breakpoints (cpu/debug.c) shape
 * blocks: a block ends before one, and a block that starts at one is
 * neither compiled nor chained into, so cpu_run sees every arrival there.
 */
#include "dbt/dbt.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/core.h"
#include "dbt/tb.h"

#define TB_HASH_BITS    17
#define TB_HASH_SIZE    (1u << TB_HASH_BITS)
#define DBT_CACHE_LIMIT (64u << 20) /* bytes of TBs before a full flush */
#define MAX_CROSS       512         /* crossing blocks kept at once (more: interpreted) */

/* The translator of one CPU (its run hooks' opaque pointer). */
typedef struct Dbt {
    CPU *cpu;
    PhysMem *pm;
    TB *hash[TB_HASH_SIZE];
    TB **page_tbs; /* per RAM page: TBs whose bytes start there */
    TB *cross;     /* blocks whose one instruction crosses into another page */
    uint32_t ncross;
    uint32_t npages;
    JcEntry jc[JC_SIZE];
    uint64_t gen;     /* bumped whenever a TB dies: the dispatcher's links die with it */
    TB *running;      /* TB being executed (never freed while it runs) */
    TB *dead;         /* invalidated TBs, freed at the next dispatch */
    DbtEngine engine; /* ENGINE_THREADED or ENGINE_JIT */
    bool singlestep;  /* one instruction per block (-singlestep) */
    Jit *jit;         /* the x86-64 code generator (jit engine), or NULL */
    bool jit_tried;
    bool jit_full;    /* the code buffer is full: flush before the next translation */
    uint32_t jit_hot; /* runs before the jit compiles a block (DBT_JIT_HOT; tests: 1) */
    DbtStats stats;
    /* Counting for a model (dbt_vmm_attach): its hooks, the totals of
     * freed TBs, and the TB whose run an exception would interrupt (set
     * while a TB runs: by the dispatcher, or by the jit's code before a
     * call into the core; cur_single: the one instruction cpu_run runs
     * alone under an interrupt shadow, counted in advance). */
    bool vmm_on;
    bool vmm_cur_single;
    DbtVmmHooks vmm;
    DbtVmmCounts vmm_acc;
    TB *vmm_cur;
} Dbt;

/* A data segment the jit may address without checks: base 0, 4 GiB limit,
 * present, writable, expand-up, 32-bit. */
/* A present, writable, expand-up data segment with a 4 GiB limit (its D/B
 * bit matters only for stacks and expand-down segments). */
static inline bool seg_4g(const SegReg *s) {
    return s->limit == 0xFFFFFFFFu &&
           (s->flags & (SF_P | ST_CODE | ST_WRITABLE | ST_EXPDOWN)) == (SF_P | ST_WRITABLE);
}
/* The same with base 0 and D/B set (SS: 32-bit stack pointer). */
static inline bool seg_flat(const SegReg *s) {
    return s->base == 0 && (s->flags & SF_DB) && seg_4g(s);
}

static inline uint32_t tb_flags(const CPU *cpu) {
    uint32_t f = (cpu_code32(cpu) ? TBF_CODE32 : 0u) | (uint32_t)cpu->cpl << TBF_CPL_SHIFT;
    if (cpu_pe(cpu) && !cpu_v86(cpu) && seg_flat(&cpu->seg[SEG_DS]) &&
        seg_flat(&cpu->seg[SEG_ES]) && seg_flat(&cpu->seg[SEG_SS]) &&
        !(cpu->cpl == 3 && (cpu->cr0 & CR0_AM) && (cpu->eflags & FL_AC))) {
        f |= TBF_FLAT;
        /* FS/GS (per-CPU data in the kernel, thread data in user space):
         * any base, so generated code adds it. */
        if (seg_4g(&cpu->seg[SEG_FS])) f |= TBF_FS;
        if (seg_4g(&cpu->seg[SEG_GS])) f |= TBF_GS;
    }
    return f;
}

uint32_t dbt_tb_flags_now(const CPU *cpu) {
    return tb_flags(cpu);
}

/* Generation of everything cached by linear address: TB deaths plus MMU
 * flushes (both only grow, so an equal sum means neither changed). */
static inline uint64_t cur_gen(const Dbt *d) {
    return d->gen + d->cpu->mmu.map_gen;
}

static inline uint32_t hash_key(uintptr_t host, uint32_t eip) {
    uint64_t h = ((uint64_t)host ^ (uint64_t)eip << 32) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> (64 - TB_HASH_BITS));
}

static size_t tb_bytes(const TB *tb) {
    return sizeof *tb + tb->n * sizeof(Insn);
}

/* ---------------- invalidation ---------------- */

/* Add a counted TB's runs to c: instruction i ran in every run that did
 * not leave after k <= i instructions. */
static void vmm_fold(const TB *tb, DbtVmmCounts *c) {
    uint64_t *insns = c->insns[tb->vmm_mode], left = tb->vmm_runs;
    for (uint32_t i = 0; i < tb->n; i++) {
        left -= tb->vmm_exits[i];
        insns[tb->vmm_cls[i]] += left;
    }
    c->blocks_run[tb->vmm_mode] += tb->vmm_runs;
}

static void free_dead(Dbt *d) {
    while (d->dead) {
        TB *tb = d->dead;
        d->dead = tb->dead_next;
        if (tb->vmm_cls) vmm_fold(tb, &d->vmm_acc); /* it can no longer run */
        if (d->vmm_cur == tb) d->vmm_cur = NULL;
        free(tb);
    }
}

/* Undo every direct host-code jump into tb and out of it. */
static void tb_unchain_all(Dbt *d, TB *tb) {
    for (uintptr_t e = tb->jmp_in; e;) {
        TB *src = (TB *)(e & ~(uintptr_t)3);
        int k = (int)(e & 3);
        e = src->jmp_in_next[k];
        jit_unchain(d->jit, src, k);
        src->jmp_dest[k] = NULL;
    }
    tb->jmp_in = 0;
    for (int k = 0; k < 2; k++) {
        TB *dst = tb->jmp_dest[k];
        if (!dst) continue;
        uintptr_t me = (uintptr_t)tb | (uintptr_t)k;
        uintptr_t *pp = &dst->jmp_in;
        while (*pp && *pp != me) {
            TB *src = (TB *)(*pp & ~(uintptr_t)3);
            pp = &src->jmp_in_next[*pp & 3];
        }
        if (*pp) *pp = tb->jmp_in_next[k];
        tb->jmp_dest[k] = NULL;
    }
}

/* Unlink tb from the hash table (the caller has taken it off its page list). */
static void tb_kill(Dbt *d, TB *tb) {
    if (tb->jit) tb_unchain_all(d, tb);
    JcEntry *j = &d->jc[jc_index(tb->cs_base + tb->eip, tb->flags)]; /* its only possible entry */
    if (j->tb == tb) j->tb = NULL, j->entry = NULL;
    TB **pp = &d->hash[hash_key(tb->host_pc, tb->eip)];
    while (*pp && *pp != tb)
        pp = &(*pp)->hash_next;
    if (*pp) *pp = tb->hash_next;
    d->stats.code_bytes -= tb_bytes(tb);
    tb->dead_next = d->dead;
    d->dead = tb;
    d->gen++;
}

/* Take tb off the list of crossing blocks (if it is a crossing block). */
static void cross_unlink(Dbt *d, TB *tb) {
    if (!tb->host2) return;
    for (TB **pp = &d->cross; *pp; pp = &(*pp)->cross_next)
        if (*pp == tb) {
            *pp = tb->cross_next;
            d->ncross--;
            return;
        }
}

static bool cross_on_page(const Dbt *d, uint64_t pg) {
    for (const TB *tb = d->cross; tb; tb = tb->cross_next)
        if (tb->pa2 >> 12 == pg) return true;
    return false;
}

static void dbt_code_written(void *opaque, PhysAddr paddr, uint64_t len, int by) {
    Dbt *d = opaque;
    uint64_t before = d->stats.inval_write;
    if (d->vmm.code_written) d->vmm.code_written(d->vmm.opaque, paddr, len, by);
    uint64_t end = paddr + len;
    /* Crossing blocks whose second page's bytes were written. */
    for (TB **cp = &d->cross; *cp;) {
        TB *tb = *cp;
        uint32_t on2 = (tb->cs_base + tb->eip + tb->size) & 0xFFFu; /* bytes on page 2 */
        if (tb->pa2 < end && paddr < (uint64_t)tb->pa2 + on2) {
            *cp = tb->cross_next;
            d->ncross--;
            if (tb->pa != NO_PAGE) {
                TB **pp = &d->page_tbs[tb->pa >> 12];
                while (*pp && *pp != tb)
                    pp = &(*pp)->page_next;
                if (*pp) *pp = tb->page_next;
            }
            tb->host2 = 0; /* off the list already */
            tb_kill(d, tb);
            d->stats.inval_write++;
            if (d->vmm_on) d->vmm_acc.invalidated[tb->vmm_mode]++;
            d->cpu->block_break = true;
        } else {
            cp = &tb->cross_next;
        }
    }
    for (uint64_t pg = paddr >> 12; pg <= (end - 1) >> 12 && pg < d->npages; pg++) {
        TB **pp = &d->page_tbs[pg];
        while (*pp) {
            TB *tb = *pp;
            if (tb->pa < end && paddr < (uint64_t)tb->pa + tb->size) {
                *pp = tb->page_next;
                cross_unlink(d, tb);
                tb_kill(d, tb);
                d->stats.inval_write++;
                if (d->vmm_on) d->vmm_acc.invalidated[tb->vmm_mode]++;
                d->cpu->block_break = true;
            } else {
                pp = &tb->page_next;
            }
        }
        if (!d->page_tbs[pg] && !cross_on_page(d, pg) &&
            !(d->vmm.keeps_page && d->vmm.keeps_page(d->vmm.opaque, pg)))
            physmem_set_code_page(d->pm, (PhysAddr)pg << 12, false);
    }
    if (by == CODE_WRITE_DEVICE) d->stats.inval_device += d->stats.inval_write - before;
}

/* Why every TB goes at once. */
typedef enum FlushCause { FLUSH_CACHE_FULL, FLUSH_MAP_CHANGED } FlushCause;

/* Drop every TB. */
static void dbt_flush(Dbt *d, FlushCause cause) {
    for (uint32_t i = 0; i < TB_HASH_SIZE; i++) {
        TB *tb = d->hash[i];
        while (tb) {
            TB *next = tb->hash_next;
            tb->dead_next = d->dead;
            d->dead = tb;
            tb = next;
        }
        d->hash[i] = NULL;
    }
    memset(d->page_tbs, 0, d->npages * sizeof *d->page_tbs);
    d->cross = NULL;
    d->ncross = 0;
    memset(d->jc, 0, sizeof d->jc);
    if (d->jit) jit_reset(d->jit);
    d->jit_full = false;
    if (d->pm->code_pages) memset(d->pm->code_pages, 0, d->npages);
    d->stats.code_bytes = 0;
    d->gen++;
    if (cause == FLUSH_CACHE_FULL)
        d->stats.flush_full++;
    else
        d->stats.flush_map++;
    if (d->vmm_on) {
        d->vmm_acc.flushes++;
        if (d->vmm.flushed) d->vmm.flushed(d->vmm.opaque);
    }
    d->cpu->block_break = true;
    if (!d->running) free_dead(d);
}

static void dbt_mmio_touched(void *opaque) {
    Dbt *d = opaque;
    d->cpu->block_break = true;
    if (d->vmm.mmio) d->vmm.mmio(d->vmm.opaque);
}

/* Create the translator for cpu and attach its code tracking to the CPU's
 * physical memory. NULL on allocation failure. */
static Dbt *dbt_new(CPU *cpu) {
    Dbt *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->cpu = cpu;
    d->pm = cpu->mmu.pm;
    d->npages = (uint32_t)(d->pm->ram_end / 4096);
    d->page_tbs = calloc(d->npages + 1, sizeof *d->page_tbs);
    if (!d->page_tbs || physmem_track_code(d->pm, dbt_code_written, d) < 0) {
        free(d->page_tbs);
        free(d);
        return NULL;
    }
    d->pm->mmio_touched = dbt_mmio_touched;
    return d;
}

static void dbt_free(Dbt *d) {
    d->running = NULL;
    d->vmm_on = false;
    d->vmm = (DbtVmmHooks){0};
    dbt_flush(d, FLUSH_MAP_CHANGED);
    if (d->pm->code_opaque == d) {
        d->pm->code_written = NULL;
        d->pm->mmio_touched = NULL;
        free(d->pm->code_pages);
        d->pm->code_pages = NULL;
    }
    jit_free(d->jit);
    free(d->page_tbs);
    free(d);
}

/* ---------------- translation ---------------- */

/* Decode the block starting at cs:eip (linear lin, host bytes at host).
 * Decoding stops before an instruction that would fault (that fault belongs
 * to the instruction, which the interpreter will then run), cross into the
 * next page or wrap a 16-bit EIP. NULL if not even one instruction fits. */
static TB *tb_translate(Dbt *d, uint8_t *host, uint32_t lin) {
    CPU *cpu = d->cpu;
    if (d->stats.code_bytes > DBT_CACHE_LIMIT || d->jit_full) dbt_flush(d, FLUSH_CACHE_FULL);
    Insn buf[DBT_MAX_INSNS];
    uint32_t start_eip = cpu->eip;
    uint32_t page_end = (lin & ~0xFFFu) + 0x1000u; /* 0 for the last page: compare offsets */
    uint32_t off = lin & 0xFFFu;
    bool code32 = cpu_code32(cpu);
    volatile uint32_t n = 0, size = 0;
    uint8_t *volatile host2 = NULL;
    volatile bool sti_inside = false;
    (void)page_end;

    /* Decoding may raise (#GP, #PF, #UD): catch it here instead of in cpu_run. */
    jmp_buf saved;
    memcpy(saved, cpu->exc_jmp, sizeof saved);
    uint32_t saved_cr2 = cpu->cr2;
    if (setjmp(cpu->exc_jmp) == 0) {
        for (;;) {
            /* Within 15 bytes of the page end an instruction might cross into
             * the next page (and its fetch touch it): only a block's first
             * instruction may be decoded there. */
            if (n > 0 && off + size + 15 > 0x1000u) break;
            /* A debugger's breakpoint: the block ends before it. */
            if (n > 0 && cpu->debug.nbreak && cpu_debug_is_break(cpu, lin + size)) break;
            uint32_t eip = start_eip + size;
            if (!code32 && eip > 0xFFFFu) break;
            Insn *in = &buf[n];
            decode_insn(cpu, eip, in);
            if (off + size + in->len > 0x1000u) { /* crosses the page */
                /* Alone in its block, if the next page is RAM (see tb_find). */
                if (n == 0 && (code32 || eip + in->len < 0x10000u) && d->ncross < MAX_CROSS) {
                    uint32_t lin2 = (lin & ~0xFFFu) + 0x1000u;
                    uint8_t *h2 = mmu_tlb_fetch(&cpu->mmu, lin2, cpu->cpl == 3);
                    PhysMem *pm = d->pm;
                    if (h2 && h2 >= pm->ram && h2 < pm->ram + pm->ram_end) {
                        host2 = h2;
                        size = in->len;
                        n = 1;
                    }
                }
                break;
            }
            if (!code32 && eip + in->len >= 0x10000u) break; /* IP wraps to 0 */
            size += in->len;
            n++;
            if (n >= 2 && buf[n - 2].facts.block == BLK_STI) {
                /* The instruction under STI's interrupt shadow: nothing
                 * checks interrupts inside a block, so STI may run as a
                 * plain instruction when the shadowed one follows it in the
                 * same block, which then ends (sensitive: the dispatcher
                 * asks the PIC next). */
                buf[n - 2].ends_block = 0;
                sti_inside = true;
                break;
            }
            if (in->ends_block && insn_block_goes_on(in)) in->ends_block = 0;
            if (in->facts.block == BLK_STI && n < DBT_MAX_INSNS && !d->singlestep) continue;
            if (in->ends_block || n == DBT_MAX_INSNS || d->singlestep) break;
        }
    }
    memcpy(cpu->exc_jmp, saved, sizeof saved);
    cpu->cr2 = saved_cr2;
    if (n == 0) return NULL;

    /* Counting for a model: per-instruction exits and classes after insns. */
    size_t extra = d->vmm_on ? n * (sizeof(uint64_t) + 1) : 0;
    TB *tb = malloc(sizeof *tb + n * sizeof(Insn) + extra);
    if (!tb) return NULL;
    memset(tb, 0, sizeof *tb);
    if (d->vmm_on) {
        _Static_assert(sizeof(Insn) % sizeof(uint64_t) == 0, "vmm_exits aligned after insns");
        tb->vmm_exits = (uint64_t *)(void *)&tb->insns[n];
        tb->vmm_cls = (uint8_t *)&tb->vmm_exits[n];
        memset(tb->vmm_exits, 0, n * sizeof(uint64_t));
        for (uint32_t i = 0; i < n; i++) {
            unsigned c = d->vmm.classify(d->vmm.opaque, &buf[i]);
            tb->vmm_cls[i] = (uint8_t)(c < DBT_VMM_CLASSES ? c : 0);
        }
        tb->vmm_mode = !cpu_pe(cpu)                    ? DBT_VMM_REAL
                       : cpu_v86(cpu) || cpu->cpl != 0 ? DBT_VMM_USER
                                                       : DBT_VMM_KERNEL;
        d->vmm_acc.translated[tb->vmm_mode]++;
    }
    tb->host_pc = (uintptr_t)host;
    tb->eip = start_eip;
    tb->cs_base = cpu->seg[SEG_CS].base;
    tb->flags = tb_flags(cpu);
    tb->size = size;
    tb->n = n;
    memcpy(tb->insns, buf, n * sizeof(Insn));
    tb->at_break = cpu->debug.nbreak && cpu_debug_is_break(cpu, lin);
    tb->ends_sensitive = sti_inside || (buf[n - 1].ends_block && !insn_plain_branch(&buf[n - 1]));
    PhysMem *pm = d->pm;
    tb->pa = NO_PAGE;
    if (host >= pm->ram && host < pm->ram + pm->ram_end) tb->pa = (uint64_t)(host - pm->ram);

    uint32_t h = hash_key(tb->host_pc, tb->eip);
    tb->hash_next = d->hash[h];
    d->hash[h] = tb;
    tb->pa2 = NO_PAGE;
    if (host2) {
        tb->host2 = (uintptr_t)host2;
        tb->pa2 = (uint64_t)(host2 - pm->ram);
        tb->cross_next = d->cross;
        d->cross = tb;
        d->ncross++;
        if (!pm->code_pages[tb->pa2 >> 12]) {
            physmem_set_code_page(pm, tb->pa2, true);
            mmu_drop_write_host_page(&cpu->mmu, host2);
        }
    }
    if (tb->pa != NO_PAGE) {
        size_t pg = (size_t)(tb->pa >> 12);
        tb->page_next = d->page_tbs[pg];
        d->page_tbs[pg] = tb;
        if (!pm->code_pages[pg]) {
            physmem_set_code_page(pm, tb->pa, true);
            mmu_drop_write_host_page(&cpu->mmu, pm->ram + ((size_t)pg << 12));
        }
    }
    d->stats.blocks_translated++;
    d->stats.insns_translated += n;
    d->stats.code_bytes += tb_bytes(tb);
    return tb;
}

/* After a chained dispatch (which skips tb_find): make the inline lookup
 * find tb at cs:eip next time too. Its address-cache entry, and the TLB
 * entry of its first page (evicted by data accesses, or never filled
 * while only links led here; the link's generation says the mapping is
 * unchanged, so the translation cannot fault). */
static void jc_refill(Dbt *d, TB *tb) {
    CPU *cpu = d->cpu;
    uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
    JcEntry *j = &d->jc[jc_index(lin, tb->flags)];
    jc_set(j, lin, tb);
    bool user = cpu->cpl == 3;
    if (!mmu_tlb_fetch(&cpu->mmu, lin, user)) {
        PhysAddr pa;
        uint32_t err;
        (void)mmu_translate(&cpu->mmu, lin, MMU_FETCH, user, &pa, &err);
    }
}

/* The TB for cs:eip in the current mode, translating it if needed; NULL if
 * the code cannot be translated (MMIO, CS limit, a fault on its first
 * instruction: the interpreter then runs that instruction). May raise #PF
 * for the fetch of the first byte, as the interpreter would. */
static TB *tb_find(Dbt *d) {
    CPU *cpu = d->cpu;
    uint32_t eip = cpu->eip;
    const SegReg *cs = &cpu->seg[SEG_CS];
    uint32_t lin = cs->base + eip;
    uint32_t flags = tb_flags(cpu);
    JcEntry *j = &d->jc[jc_index(lin, flags)];
    TB *tb;
    /* A cache entry holds while its TB lives (tb_kill clears it) and the
     * TLB still maps lin to the TB's bytes: TLB flushes (CR3 writes,
     * INVLPG) need no generation, and global pages survive context
     * switches. The entry repeats what is compared (CS base 0 only), so a
     * hit reads no TB; after a TLB miss the entry is tried again once the
     * page walk has found the bytes, before the hash table. */
    uint8_t *host = mmu_tlb_fetch(&cpu->mmu, lin, cpu->cpl == 3);
    if (host && jc_matches(j, cs->base, lin, flags, host)) {
        tb = j->tb;
        d->stats.lookup_fast++;
    } else {
        if (eip > cs->limit) return NULL;
        if (!host) {
            (void)fetch_byte(cpu, eip); /* translates (or raises #PF) and fills the TLB */
            host = mmu_tlb_fetch(&cpu->mmu, lin, cpu->cpl == 3);
            if (!host) return NULL; /* not RAM or ROM */
            if (jc_matches(j, cs->base, lin, flags, host)) {
                tb = j->tb;
                d->stats.lookup_fast++;
                goto found;
            }
        }
        TB **head = &d->hash[hash_key((uintptr_t)host, eip)], **pp = head;
        for (tb = *pp; tb; pp = &tb->hash_next, tb = *pp)
            if (tb->host_pc == (uintptr_t)host && tb->eip == eip && tb->cs_base == cs->base &&
                tb->flags == flags)
                break;
        if (tb) {
            if (pp != head) { /* move to the front: the next lookup is shorter */
                *pp = tb->hash_next;
                tb->hash_next = *head;
                *head = tb;
            }
            d->stats.lookup_hash++;
        } else {
            tb = tb_translate(d, host, lin);
            if (!tb) {
                d->stats.untranslatable++;
                return NULL;
            }
            d->stats.lookup_miss++;
        }
        jc_set(j, lin, tb);
    }
found:
    if (eip + tb->size - 1 > cs->limit) return NULL;
    if (tb->host2) {
        /* A crossing block is right only while its second page is mapped
         * where it was: check it (fetching its first byte raises #PF there
         * as the interpreter's fetch would), else interpret. */
        uint32_t lin2 = (lin & ~0xFFFu) + 0x1000u;
        uint8_t *h2 = mmu_tlb_fetch(&cpu->mmu, lin2, cpu->cpl == 3);
        if (!h2) {
            (void)fetch_byte(cpu, eip + (lin2 - lin));
            h2 = mmu_tlb_fetch(&cpu->mmu, lin2, cpu->cpl == 3);
        }
        if ((uintptr_t)h2 != tb->host2) return NULL;
    }
    return tb;
}

/* ---------------- the jit engine ---------------- */

/* Blocks run this many times under the threaded engine before the jit
 * compiles them: most code runs only a few times (firmware, boot), and
 * compiling it would cost more than it saves. */
#define DBT_JIT_HOT 16

/* Compile tb to host code. When the code buffer is full, the whole cache is
 * flushed at the next lookup (tb may be running, or be held by the caller). */
static void jit_block(Dbt *d, TB *tb) {
    if (!d->jit_tried) {
        d->jit = jit_new();
        d->jit_tried = true;
        if (d->jit) jit_set_lookup(d->jit, d->jc, &d->stats.jit_lookups);
        if (d->jit && d->vmm_on) jit_set_vmm(d->jit, &d->vmm_cur);
    }
    if (!d->jit || d->jit_full || tb->at_break) return;
    size_t used = jit_used(d->jit);
    if (jit_compile(d->jit, tb, &d->stats)) {
        d->stats.blocks_compiled++;
        if (d->vmm_on) d->vmm_acc.host_bytes[tb->vmm_mode] += jit_used(d->jit) - used;
        uint32_t lin = tb->cs_base + tb->eip;
        JcEntry *j = &d->jc[jc_index(lin, tb->flags)];
        if (j->tb == tb) jc_set(j, lin, tb); /* now with its host code */
    } else
        d->jit_full = true;
}

/* Chain exit k of src's host code straight to dst's when that is safe
 * forever (until one of them dies): same CS and mode bits, the target
 * inside the CS limit, and either the same page of the same address space
 * (so a page-table change cannot make the jump wrong: code on this page
 * runs only after a lookup through its current mapping) or an exit whose
 * code checks the TLB's mapping of the target first (jit_chain decides). */
static void jit_link(Dbt *d, TB *src, int k, TB *dst) {
    CPU *cpu = d->cpu;
    if (!src->jmp_site[k] || src->jmp_dest[k] || src->flags != dst->flags ||
        src->cs_base != dst->cs_base)
        return;
    uint32_t src_lin = src->cs_base + src->eip, dst_lin = dst->cs_base + dst->eip;
    bool same_page = !((src_lin ^ dst_lin) & ~0xFFFu) &&
                     src->host_pc - (src_lin & 0xFFF) == dst->host_pc - (dst_lin & 0xFFF);
    if (dst->eip + dst->size - 1 > cpu->seg[SEG_CS].limit) return;
    if (!jit_chain(d->jit, src, k, dst, same_page)) return;
    src->jmp_dest[k] = dst;
    src->jmp_in_next[k] = dst->jmp_in;
    dst->jmp_in = (uintptr_t)src | (uintptr_t)k;
    d->stats.jit_links++;
}

/* ---------------- the threaded-code engine ---------------- */

/* Run tb's instructions until it ends, leaves its straight line (a jump,
 * an exception, a REP that is not finished), or something asks for the
 * dispatcher. Exceptions unwind to cpu_run with the faulting instruction's
 * state, as in the interpreter: each handler commits only when it
 * completes. Returns how many of its instructions ran (for a model's
 * counts). */
static uint32_t tb_exec(CPU *cpu, TB *tb) {
    const Insn *in = tb->insns, *end = in + tb->n;
    uint32_t eip = tb->eip;
    /* RF (set by a fault's delivery) makes the first instruction take the
     * interpreter's full path, which clears it. */
    if (cpu->eflags & FL_RF) {
        exec_insn(cpu, in);
        cpu->run_left--;
        eip += in->len;
        if (++in == end || cpu->eip != eip || cpu->block_break || cpu->run_left == 0)
            return (uint32_t)(in - tb->insns);
        if (in[-1].facts.block == BLK_STI) cpu->intr_shadow = false; /* see below */
    }
    for (;;) {
        eip += in->len;
        if (in->ends_block || in->facts.block == BLK_STI) {
            /* Interrupt shadows and traps: the interpreter's bookkeeping.
             * (STI inside a block sets its shadow in case the block stops
             * right after it; when the shadowed instruction follows at
             * once, nothing looks at interrupts in between and the shadow
             * is cleared before it.) */
            exec_insn(cpu, in);
            if (in->facts.block == BLK_STI && in + 1 < end && cpu->eip == eip &&
                !cpu->block_break && cpu->run_left > 1)
                cpu->intr_shadow = false;
        } else {
            /* Inside a block TF, RF, breakpoints and interrupt shadows are
             * all clear (dbt_run checks), so an instruction is its handler
             * plus the retirement counters. The block never wraps EIP. */
            cpu->next_eip = eip;
            in->fn(cpu, in);
            cpu->eip = cpu->next_eip;
            cpu->icount++;
        }
        cpu->run_left--;
        if (++in == end || cpu->eip != eip || cpu->block_break || cpu->run_left == 0) break;
    }
    return (uint32_t)(in - tb->insns);
}

/* Whether the dispatcher must look at the machine before the next block
 * (last: the block that ran last). Devices only change their interrupt
 * line between CPU slices or when an instruction touches them (port I/O,
 * which ends a block; MMIO, which sets block_break), and IF only changes
 * through instructions that end a block (STI, POPF, IRET, ...): after a
 * block that ends in straight-line code or a near branch the answer of the
 * interrupt controller cannot have changed since it was last asked. */
static inline bool must_stop(CPU *cpu, const TB *last) {
    if (cpu->block_break || cpu->run_left == 0 || cpu->halted || cpu->exit_request ||
        cpu->reset_request || cpu->intr_shadow || cpu->nmi_pending || (cpu->eflags & FL_TF) ||
        (cpu->dr[7] & 0xFF) || cpu->trace_fn)
        return true;
    if (!last->ends_sensitive) return false;
    return (cpu->eflags & FL_IF) && cpu->irq_pending && cpu->irq_pending(cpu->irq_opaque);
}

const uint8_t *dbt_jit_next(CPU *cpu, const TB *last) {
    Dbt *d = cpu->run_hooks.opaque;
    /* What dbt_run would check before the next block, and what the inline
     * lookup checks (emit_lookup): same linear address and mode bits,
     * compiled, mapped to the same bytes, any block fits. */
    if (must_stop(cpu, last) || (cpu->eflags & FL_RF) || cpu->seg[SEG_CS].base != 0 ||
        cpu->seg[SEG_CS].limit != 0xFFFFFFFFu || cpu->run_left < DBT_MAX_INSNS)
        return NULL;
    uint32_t lin = cpu->eip, flags = tb_flags(cpu);
    const JcEntry *j = &d->jc[jc_index(lin, flags)];
    if (j->lin != lin || !j->tb || !j->entry || j->flags != flags) return NULL;
    if ((uintptr_t)mmu_tlb_fetch(&cpu->mmu, lin, cpu->cpl == 3) != j->host_pc) return NULL;
    d->stats.jit_next++;
    return j->entry;
}

/* ---------------- the run hooks (CpuRunHooks in cpu/cpu.h) ---------------- */

/* The first_insn hook: the decoded first instruction of the TB at cs:eip
 * (translating it if needed), or NULL if there is none. */
static const Insn *dbt_first_insn(void *opaque) {
    Dbt *d = opaque;
    d->running = NULL;
    d->vmm_cur = NULL;
    free_dead(d);
    TB *tb = tb_find(d);
    if (tb && d->vmm_on) { /* one run that leaves after one instruction */
        tb->vmm_runs++;
        if (tb->n > 1) tb->vmm_exits[1]++;
        d->vmm_cur = tb;
        d->vmm_cur_single = true;
    }
    return tb ? &tb->insns[0] : NULL;
}

/* The run_blocks hook: the dispatcher. Runs TBs from cs:eip, chaining
 * them, until the machine needs a look; false when the code at cs:eip
 * cannot be translated (nothing ran). */
static bool dbt_run(void *opaque) {
    Dbt *d = opaque;
    CPU *cpu = d->cpu;
    d->running = NULL;
    d->vmm_cur = NULL;
    d->vmm_cur_single = false;
    free_dead(d);
    TB *tb = tb_find(d);
    if (!tb) return false;
    cpu->block_break = false;
    for (;;) {
        d->running = tb;
        uint64_t left = cpu->run_left;
        if (!tb->jit && !tb->host2 && d->engine == ENGINE_JIT && ++tb->execs == d->jit_hot)
            jit_block(d, tb);
        if (tb->jit && cpu->run_left >= tb->n && !(cpu->eflags & FL_RF)) {
            tb = jit_run(d->jit, cpu, tb); /* the block that ran last (host code may chain) */
        } else if (d->vmm_on) {
            tb->vmm_runs++;
            d->vmm_cur = tb;
            uint32_t k = tb_exec(cpu, tb);
            if (k < tb->n) tb->vmm_exits[k]++;
        } else {
            tb_exec(cpu, tb);
        }
        d->vmm_cur = NULL;
        d->stats.blocks_run++;
        d->stats.insns_run += left - cpu->run_left;
        d->running = NULL;
        if (must_stop(cpu, tb)) break;
        /* Chain: reuse the TB that followed this exit last time if it is
         * still alive (same generation) and matches the current state. */
        int slot = cpu->eip == tb->eip + tb->size ? 0 : 1;
        TB *next = tb->link[slot];
        if (next && tb->link_gen[slot] == cur_gen(d) && next->eip == cpu->eip &&
            next->cs_base == cpu->seg[SEG_CS].base && next->flags == tb_flags(cpu) &&
            cpu->eip + next->size - 1 <= cpu->seg[SEG_CS].limit) {
            d->stats.chained++;
            if (tb->jit && next->jit && !tb->jmp_dest[slot]) jit_link(d, tb, slot, next);
            jc_refill(d, next);
        } else {
            free_dead(d);
            uint64_t flushes = d->stats.flush_full + d->stats.flush_map;
            next = tb_find(d);
            if (!next) break;
            /* A flush during the lookup may have freed tb. */
            if (flushes == d->stats.flush_full + d->stats.flush_map) {
                tb->link[slot] = next;
                tb->link_gen[slot] = cur_gen(d);
                if (tb->jit && next->jit) jit_link(d, tb, slot, next);
            }
        }
        if (next->at_break) break; /* cpu_run looks at the breakpoint */
        tb = next;
    }
    return true;
}

/* The map_changed hook. */
static void dbt_map_changed(void *opaque) {
    dbt_flush(opaque, FLUSH_MAP_CHANGED);
}

/* The detach hook (cpu_free). */
static void dbt_detach_hook(void *opaque) {
    Dbt *d = opaque;
    dbt_detach(d->cpu);
}

/* ---------------- engines and the CPU ---------------- */

static const char *const engine_names[] = {
    [ENGINE_INTERP] = "interp", [ENGINE_THREADED] = "threaded", [ENGINE_JIT] = "jit"};

int dbt_engine_from_name(const char *name) {
    for (int i = 0; i < (int)(sizeof engine_names / sizeof engine_names[0]); i++)
        if (strcmp(name, engine_names[i]) == 0) return i;
    return -1;
}

const char *dbt_engine_name(DbtEngine engine) {
    return engine_names[engine];
}

DbtEngine dbt_engine_from_env(const char *value) {
    int e = value && *value ? dbt_engine_from_name(value) : -1;
    if (e >= 0) return (DbtEngine)e;
    return DBT_HAVE_JIT ? ENGINE_JIT : ENGINE_THREADED;
}

/* cpu's translator, or NULL if none of ours is attached. */
static Dbt *dbt_of(const CPU *cpu) {
    return cpu->run_hooks.run_blocks == dbt_run ? cpu->run_hooks.opaque : NULL;
}

int dbt_attach(CPU *cpu, DbtEngine engine) {
    if (engine == ENGINE_INTERP) {
        dbt_detach(cpu);
        return 0;
    }
    if (engine == ENGINE_JIT && !DBT_HAVE_JIT) engine = ENGINE_THREADED;
    Dbt *d = dbt_of(cpu);
    if (!d) {
        d = dbt_new(cpu);
        if (!d) return -1;
        cpu->run_hooks = (CpuRunHooks){.run_blocks = dbt_run,
                                       .first_insn = dbt_first_insn,
                                       .map_changed = dbt_map_changed,
                                       .detach = dbt_detach_hook,
                                       .opaque = d};
    }
    d->engine = engine;
    d->jit_hot = DBT_JIT_HOT;
    return 0;
}

void dbt_detach(CPU *cpu) {
    Dbt *d = dbt_of(cpu);
    if (!d) return;
    cpu->run_hooks = (CpuRunHooks){0};
    dbt_free(d);
}

DbtEngine dbt_engine(const CPU *cpu) {
    const Dbt *d = dbt_of(cpu);
    return d ? d->engine : ENGINE_INTERP;
}

void dbt_set_singlestep(CPU *cpu, bool on) {
    Dbt *d = dbt_of(cpu);
    if (d) d->singlestep = on;
}

void dbt_set_jit_hot(CPU *cpu, unsigned runs) {
    Dbt *d = dbt_of(cpu);
    if (d && runs > 0) d->jit_hot = runs;
}

const DbtStats *dbt_stats(const CPU *cpu) {
    const Dbt *d = dbt_of(cpu);
    return d ? &d->stats : NULL;
}

void dbt_print_stats(const CPU *cpu, FILE *f) {
    const Dbt *d = dbt_of(cpu);
    if (!d) return;
    const DbtStats *s = &d->stats;
    uint64_t lookups = s->lookup_fast + s->lookup_hash + s->lookup_miss;
    fprintf(f, "dbt: blocks translated %llu (%llu instructions, %.1f per block)\n",
            (unsigned long long)s->blocks_translated, (unsigned long long)s->insns_translated,
            s->blocks_translated ? (double)s->insns_translated / (double)s->blocks_translated
                                 : 0.0);
    fprintf(f, "dbt: blocks run %llu, instructions in blocks %llu\n",
            (unsigned long long)s->blocks_run, (unsigned long long)s->insns_run);
    fprintf(f,
            "dbt: lookups %llu: fast %llu, hash %llu, translated %llu; chained %llu (%.1f%% of "
            "blocks)\n",
            (unsigned long long)lookups, (unsigned long long)s->lookup_fast,
            (unsigned long long)s->lookup_hash, (unsigned long long)s->lookup_miss,
            (unsigned long long)s->chained,
            s->blocks_run ? 100.0 * (double)s->chained / (double)s->blocks_run : 0.0);
    fprintf(f, "dbt: untranslatable lookups (interpreted) %llu\n",
            (unsigned long long)s->untranslatable);
    fprintf(f,
            "dbt: invalidations: code writes %llu TBs (by the CPU %llu, by devices/DMA/loaders "
            "%llu); full flushes: cache full %llu, map changed %llu\n",
            (unsigned long long)s->inval_write,
            (unsigned long long)(s->inval_write - s->inval_device),
            (unsigned long long)s->inval_device, (unsigned long long)s->flush_full,
            (unsigned long long)s->flush_map);
    fprintf(f,
            "dbt: blocks compiled to host code (jit) %llu, direct host-code links made %llu, "
            "exits resolved by the inline lookup %llu\n",
            (unsigned long long)s->blocks_compiled, (unsigned long long)s->jit_links,
            (unsigned long long)s->jit_lookups);
    fprintf(f, "dbt: exits after a handler that went on in host code %llu\n",
            (unsigned long long)s->jit_next);
    fprintf(f, "dbt: code cache in use %llu bytes of blocks, %llu bytes of host code\n",
            (unsigned long long)s->code_bytes, (unsigned long long)(d->jit ? jit_used(d->jit) : 0));
    /* The ten opcodes whose handlers host code called most. */
    uint64_t total = 0;
    for (int i = 0; i < 0x400; i++)
        total += s->core_calls[i];
    if (total) {
        fprintf(f, "dbt: calls from host code into the emulation core: %llu; most called:\n",
                (unsigned long long)total);
        bool shown[0x400] = {false};
        for (int k = 0; k < 10; k++) {
            int best = -1;
            for (int i = 0; i < 0x400; i++)
                if (!shown[i] && s->core_calls[i] &&
                    (best < 0 || s->core_calls[i] > s->core_calls[best]))
                    best = i;
            if (best < 0) break;
            shown[best] = true;
            fprintf(f, "dbt:   %s%02X %-10s %12llu (%.1f%%)\n",
                    best >= 0x300   ? "0F 3A "
                    : best >= 0x200 ? "0F 38 "
                    : best >= 0x100 ? "0F "
                                    : "",
                    best & 0xFF, s->core_call_name[best] ? s->core_call_name[best] : "?",
                    (unsigned long long)s->core_calls[best],
                    100.0 * (double)s->core_calls[best] / (double)total);
        }
    }
}

/* ---------------- inspection ---------------- */

const TB *dbt_compiled_tb(const CPU *cpu, uint32_t cs_base, uint32_t eip) {
    const Dbt *d = dbt_of(cpu);
    if (!d) return NULL;
    for (uint32_t i = 0; i < TB_HASH_SIZE; i++)
        for (const TB *tb = d->hash[i]; tb; tb = tb->hash_next)
            if (tb->jit && tb->cs_base == cs_base && tb->eip == eip) return tb;
    return NULL;
}

/* ---------------- counting for a virtualization model ---------------- */

int dbt_vmm_attach(CPU *cpu, const DbtVmmHooks *hooks) {
    Dbt *d = dbt_of(cpu);
    if (!d || !hooks->classify) return -1;
    d->running = NULL;
    dbt_flush(d, FLUSH_MAP_CHANGED); /* every TB from now on is counted */
    d->stats.flush_map--;            /* (not the guest's doing) */
    d->vmm = *hooks;
    d->vmm_on = true;
    memset(&d->vmm_acc, 0, sizeof d->vmm_acc);
    d->vmm_cur = NULL;
    if (d->jit) jit_set_vmm(d->jit, &d->vmm_cur);
    return 0;
}

void dbt_vmm_detach(CPU *cpu) {
    Dbt *d = dbt_of(cpu);
    if (!d || !d->vmm_on) return;
    d->vmm_on = false;
    d->vmm = (DbtVmmHooks){0};
    d->running = NULL;
    dbt_flush(d, FLUSH_MAP_CHANGED); /* no more code that counts */
    d->stats.flush_map--;
    if (d->jit) jit_set_vmm(d->jit, NULL);
    d->vmm_cur = NULL;
}

void dbt_vmm_counts(const CPU *cpu, DbtVmmCounts *out) {
    const Dbt *d = dbt_of(cpu);
    memset(out, 0, sizeof *out);
    if (!d || !d->vmm_on) return;
    *out = d->vmm_acc;
    for (uint32_t i = 0; i < TB_HASH_SIZE; i++)
        for (const TB *tb = d->hash[i]; tb; tb = tb->hash_next) {
            if (!tb->vmm_cls) continue;
            vmm_fold(tb, out);
            out->alive[tb->vmm_mode]++;
            out->alive_bytes[tb->vmm_mode] += tb_bytes(tb);
        }
    for (const TB *tb = d->dead; tb; tb = tb->dead_next)
        if (tb->vmm_cls) vmm_fold(tb, out);
}

void dbt_vmm_exception(CPU *cpu) {
    Dbt *d = dbt_of(cpu);
    if (!d || !d->vmm_cur) return;
    TB *tb = d->vmm_cur;
    d->vmm_cur = NULL;
    if (d->vmm_cur_single) { /* the instruction run alone faulted: undo its run */
        d->vmm_cur_single = false;
        if (cpu->eip == tb->eip) {
            tb->vmm_runs--;
            if (tb->n > 1) tb->vmm_exits[1]--;
        }
        return;
    }
    /* The run ended before the faulting instruction (cpu->eip). */
    uint32_t eip = tb->eip;
    for (uint32_t k = 0; k < tb->n; eip += tb->insns[k].len, k++)
        if (eip == cpu->eip) {
            tb->vmm_exits[k]++;
            return;
        }
}
