/*
 * debug.c - a debugger's breakpoints and watchpoints (CpuDebug in cpu.h),
 * by linear address, never written into guest memory.
 *
 * Breakpoints: a list the run loop consults (cpu_debug_break_here, only
 * when the list is not empty) before each instruction it hands out, and
 * the translator consults while it builds a block (cpu_debug_is_break:
 * blocks end before a breakpoint, and a block that starts at one is never
 * entered by chaining, so cpu_run sees every arrival there).
 *
 * Watchpoints: the linear pages they cover go to the MMU, which gives
 * those pages no fast TLB entries for the watched kind of access; the
 * memory slow path (mem.c) calls cpu_debug_watch_access, which records
 * the first hit and asks the run loop to stop after the instruction
 * (exit_request, seen by cpu_run before it looks at interrupts).
 *
 * Every change drops all translations and TLB entries, so what was built
 * under the old set leaves no trace.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/core.h"

/* Translations and TLB entries depend on the sets: drop them. */
static void debug_changed(CPU *cpu) {
    mmu_flush_all(&cpu->mmu);
    if (cpu->run_hooks.map_changed) cpu->run_hooks.map_changed(cpu->run_hooks.opaque);
    cpu->block_break = true;
}

static CpuBreak *find_break(const CPU *cpu, uint32_t lin) {
    for (uint32_t i = 0; i < cpu->debug.nbreak; i++)
        if (cpu->debug.breaks[i].lin == lin) return &cpu->debug.breaks[i];
    return NULL;
}

bool cpu_debug_is_break(const CPU *cpu, uint32_t lin) {
    return find_break(cpu, lin) != NULL;
}

bool cpu_debug_insert_break(CPU *cpu, uint32_t lin, bool hardware) {
    CpuDebug *d = &cpu->debug;
    uint8_t kind = hardware ? 2 : 1;
    CpuBreak *b = find_break(cpu, lin);
    if (b) {
        b->kinds |= kind;
        return true;
    }
    if (d->nbreak >= CPU_DEBUG_MAX) return false;
    CpuBreak *grown = realloc(d->breaks, (d->nbreak + 1) * sizeof *grown);
    if (!grown) return false;
    d->breaks = grown;
    d->breaks[d->nbreak++] = (CpuBreak){.lin = lin, .kinds = kind};
    debug_changed(cpu);
    return true;
}

bool cpu_debug_remove_break(CPU *cpu, uint32_t lin, bool hardware) {
    CpuDebug *d = &cpu->debug;
    CpuBreak *b = find_break(cpu, lin);
    if (!b) return true;
    b->kinds &= (uint8_t) ~(hardware ? 2 : 1);
    if (b->kinds) return true;
    *b = d->breaks[--d->nbreak];
    debug_changed(cpu);
    return true;
}

/* Hand the MMU the pages the watchpoints cover (a watchpoint of at most 8
 * bytes covers one or two). */
static bool update_watch_pages(CPU *cpu) {
    CpuDebug *d = &cpu->debug;
    MmuWatchPage *pages = NULL;
    uint32_t n = 0;
    if (d->nwatch) {
        pages = malloc(2 * d->nwatch * sizeof *pages);
        if (!pages) return false;
    }
    for (uint32_t i = 0; i < d->nwatch; i++) {
        const CpuWatch *w = &d->watches[i];
        uint8_t kinds = (w->kind & CPU_WATCH_READ) ? MMU_WATCH_R | MMU_WATCH_W : MMU_WATCH_W;
        uint32_t first = w->lin & ~0xFFFu, last = (w->lin + w->len - 1) & ~0xFFFu;
        pages[n++] = (MmuWatchPage){first, kinds};
        if (last != first) pages[n++] = (MmuWatchPage){last, kinds};
    }
    free(d->watch_pages);
    d->watch_pages = pages;
    cpu->mmu.watch_pages = pages;
    cpu->mmu.nwatch_pages = n;
    debug_changed(cpu);
    return true;
}

static CpuWatch *find_watch(const CPU *cpu, uint32_t lin, uint32_t len, CpuWatchKind kind) {
    for (uint32_t i = 0; i < cpu->debug.nwatch; i++) {
        CpuWatch *w = &cpu->debug.watches[i];
        if (w->lin == lin && w->len == len && w->kind == kind) return w;
    }
    return NULL;
}

bool cpu_debug_insert_watch(CPU *cpu, uint32_t lin, uint32_t len, CpuWatchKind kind) {
    CpuDebug *d = &cpu->debug;
    if (len == 0 || len > 8 || find_watch(cpu, lin, len, kind)) return len && len <= 8;
    if (d->nwatch >= CPU_DEBUG_MAX) return false;
    CpuWatch *grown = realloc(d->watches, (d->nwatch + 1) * sizeof *grown);
    if (!grown) return false;
    d->watches = grown;
    d->watches[d->nwatch++] = (CpuWatch){lin, len, kind};
    if (update_watch_pages(cpu)) return true;
    d->nwatch--;
    return false;
}

bool cpu_debug_remove_watch(CPU *cpu, uint32_t lin, uint32_t len, CpuWatchKind kind) {
    CpuDebug *d = &cpu->debug;
    CpuWatch *w = find_watch(cpu, lin, len, kind);
    if (!w) return true;
    *w = d->watches[--d->nwatch];
    return update_watch_pages(cpu);
}

void cpu_debug_clear(CPU *cpu) {
    CpuDebug *d = &cpu->debug;
    free(d->breaks);
    free(d->watches);
    free(d->watch_pages);
    *d = (CpuDebug){0};
    cpu->mmu.watch_pages = NULL;
    cpu->mmu.nwatch_pages = 0;
    debug_changed(cpu);
}

void cpu_debug_resume(CPU *cpu) {
    cpu->debug.skip_armed = true;
    cpu->debug.skip_lin = cpu->seg[SEG_CS].base + cpu->eip;
    cpu->debug.stop = CPU_STOP_NONE;
}

void cpu_debug_suspend(CPU *cpu, CpuDebug *saved) {
    *saved = cpu->debug;
    cpu->debug = (CpuDebug){0};
    cpu->mmu.watch_pages = NULL;
    cpu->mmu.nwatch_pages = 0;
    debug_changed(cpu);
}

void cpu_debug_restore(CPU *cpu, const CpuDebug *saved) {
    free(cpu->debug.breaks); /* nothing, unless set meanwhile */
    free(cpu->debug.watches);
    free(cpu->debug.watch_pages);
    cpu->debug = *saved;
    cpu->debug.watch_pages = NULL;
    if (!update_watch_pages(cpu)) { /* out of memory: the watchpoints go */
        free(cpu->debug.watches);
        cpu->debug.watches = NULL;
        cpu->debug.nwatch = 0;
    }
    free(saved->watch_pages);
}

bool cpu_debug_break_here(CPU *cpu) {
    CpuDebug *d = &cpu->debug;
    uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
    if (d->skip_armed) {
        d->skip_armed = false;
        if (lin == d->skip_lin) return false;
    }
    const CpuBreak *b = find_break(cpu, lin);
    if (!b) return false;
    d->stop = CPU_STOP_BREAK;
    d->hit_break = *b;
    return true;
}

void cpu_debug_watch_access(CPU *cpu, uint32_t lin, unsigned size, bool write) {
    CpuDebug *d = &cpu->debug;
    if (d->stop == CPU_STOP_WATCH) return; /* the first hit is reported */
    CpuWatchKind need = write ? CPU_WATCH_WRITE : CPU_WATCH_READ;
    for (uint32_t i = 0; i < d->nwatch; i++) {
        const CpuWatch *w = &d->watches[i];
        if (!(w->kind & need)) continue;
        /* Overlap of [lin, lin + size) and [w->lin, w->lin + w->len). */
        if (lin - w->lin < w->len || w->lin - lin < size) {
            d->stop = CPU_STOP_WATCH;
            d->hit_watch = *w;
            d->hit_write = write;
            cpu->exit_request = 1;
            cpu->block_break = true;
            return;
        }
    }
}
