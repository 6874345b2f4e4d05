/*
 * lockstep.c - run a translating engine against the interpreter (see lockstep.h).
 */
#include "frontend/lockstep.h"

#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "frontend/trace.h"

/* Compare every this many chunks all of guest RAM too. */
#define RAM_EVERY 256

/* -symbols, for the report (one lockstep run per process). */
static const SymTab *report_symbols;

void lockstep_set_symbols(const SymTab *syms) {
    report_symbols = syms;
}

static const char *const seg_names[SEG_COUNT] = {"ES", "CS", "SS", "DS", "FS", "GS"};
static const char *const reg_names[8] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};

/* Describe the first difference between the two CPUs in buf; false if none. */
static bool cpu_differs(CPU *a, CPU *b, char *buf, size_t size) {
    if (a->icount != b->icount) {
        snprintf(buf, size, "instruction count %llu vs %llu", (unsigned long long)a->icount,
                 (unsigned long long)b->icount);
        return true;
    }
    for (int i = 0; i < 8; i++)
        if (a->regs[i] != b->regs[i]) {
            snprintf(buf, size, "%s %08x vs %08x", reg_names[i], a->regs[i], b->regs[i]);
            return true;
        }
    if (a->eip != b->eip) {
        snprintf(buf, size, "EIP %08x vs %08x", a->eip, b->eip);
        return true;
    }
    uint32_t fa = cpu_get_eflags(a), fb = cpu_get_eflags(b);
    if (fa != fb) {
        snprintf(buf, size, "EFLAGS %08x vs %08x", fa, fb);
        return true;
    }
    for (int i = 0; i < SEG_COUNT; i++) {
        const SegReg *x = &a->seg[i], *y = &b->seg[i];
        if (x->sel != y->sel || x->base != y->base || x->limit != y->limit ||
            x->flags != y->flags) {
            snprintf(buf, size, "%s %04x/%08x/%08x/%x vs %04x/%08x/%08x/%x", seg_names[i], x->sel,
                     x->base, x->limit, x->flags, y->sel, y->base, y->limit, y->flags);
            return true;
        }
    }
    const uint32_t cra[4] = {a->cr0, a->cr2, a->cr3, a->cr4},
                   crb[4] = {b->cr0, b->cr2, b->cr3, b->cr4};
    for (int i = 0; i < 4; i++)
        if (cra[i] != crb[i]) {
            snprintf(buf, size, "CR%d %08x vs %08x", i == 0 ? 0 : i + 1, cra[i], crb[i]);
            return true;
        }
    if (a->cpl != b->cpl || a->halted != b->halted) {
        snprintf(buf, size, "CPL %d halted %d vs CPL %d halted %d", a->cpl, a->halted, b->cpl,
                 b->halted);
        return true;
    }
    if (a->fpu.cw != b->fpu.cw || a->fpu.sw != b->fpu.sw || a->fpu.tw != b->fpu.tw) {
        snprintf(buf, size, "x87 CW/SW/TW %04x/%04x/%04x vs %04x/%04x/%04x", a->fpu.cw, a->fpu.sw,
                 a->fpu.tw, b->fpu.cw, b->fpu.sw, b->fpu.tw);
        return true;
    }
    if (a->mxcsr != b->mxcsr) {
        snprintf(buf, size, "MXCSR %08x vs %08x", a->mxcsr, b->mxcsr);
        return true;
    }
    for (int i = 0; i < 8; i++)
        if (memcmp(&a->xmm[i], &b->xmm[i], sizeof a->xmm[i]) != 0) {
            snprintf(buf, size, "XMM%d %016llx%016llx vs %016llx%016llx", i,
                     (unsigned long long)a->xmm[i].q[1], (unsigned long long)a->xmm[i].q[0],
                     (unsigned long long)b->xmm[i].q[1], (unsigned long long)b->xmm[i].q[0]);
            return true;
        }
    return false;
}

static bool ram_differs(PhysMem *a, PhysMem *b, char *buf, size_t size) {
    for (uint64_t off = 0; off < a->ram_end; off += 4096) {
        if (off == a->ram_below) off = PHYS_4G; /* the hole (both machines alike) */
        if (off >= a->ram_end) break;
        if (memcmp(a->ram + off, b->ram + off, 4096) != 0) {
            uint64_t i = off;
            while (a->ram[i] == b->ram[i])
                i++;
            snprintf(buf, size, "RAM at %08llx: %02x vs %02x", (unsigned long long)i, a->ram[i],
                     b->ram[i]);
            return true;
        }
    }
    return false;
}

static void print_state(FILE *out, const char *name, CPU *cpu, Tracer *t) {
    fprintf(out, "  %s: EIP %08x EFLAGS %08x CPL %d icount %llu\n", name, cpu->eip,
            cpu_get_eflags(cpu), cpu->cpl, (unsigned long long)cpu->icount);
    fprintf(out, "    ");
    for (int i = 0; i < 8; i++)
        fprintf(out, "%s=%08x%s", reg_names[i], cpu->regs[i], i == 3 ? "\n    " : " ");
    fprintf(out, "\n    ");
    for (int i = 0; i < SEG_COUNT; i++)
        fprintf(out, "%s=%04x(%08x) ", seg_names[i], cpu->seg[i].sel, cpu->seg[i].base);
    fprintf(out, "\n    CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", cpu->cr0, cpu->cr2, cpu->cr3,
            cpu->cr4);
    if (t) {
        char line[256];
        tracer_format_insn(t, cpu, line, sizeof line);
        fprintf(out, "    next: %s\n", line);
    }
}

/* Serial input for both machines: what input_fd has ready, kept until both
 * UARTs took it (they take the same amount: their state is compared). */
typedef struct Input {
    int fd; /* -1: none or at its end */
    uint8_t buf[256];
    size_t len;
} Input;

static bool feed_input(Input *in, Pc *a, Pc *b, char *what, size_t size) {
    if (in->fd >= 0 && in->len < sizeof in->buf) {
        struct pollfd p = {.fd = in->fd, .events = POLLIN};
        if (poll(&p, 1, 0) > 0) {
            ssize_t n = read(in->fd, in->buf + in->len, sizeof in->buf - in->len);
            if (n > 0)
                in->len += (size_t)n;
            else
                in->fd = -1;
        }
    }
    if (!in->len) return false;
    size_t ta = pc_serial_input(a, in->buf, in->len), tb = pc_serial_input(b, in->buf, in->len);
    if (ta != tb) {
        snprintf(what, size, "COM1 took %zu vs %zu input bytes", ta, tb);
        return true;
    }
    memmove(in->buf, in->buf + ta, in->len - ta);
    in->len -= ta;
    return false;
}

int lockstep_run(const PcConfig *cfg, DbtEngine engine, uint64_t max_insns, uint64_t chunk,
                 int input_fd, FILE *out) {
    PcConfig ca = *cfg, cb = *cfg;
    ca.snapshot = cb.snapshot = true;
    /* Both machines must see the same time: derive it from the instruction count. */
    ca.host_clock = cb.host_clock = false;
    ca.icount_auto = cb.icount_auto = false;
    cb.serial_tx = NULL;
    cb.debugcon_out = NULL;
    char err[512];
    Pc *a = pc_new(&ca, err, sizeof err);
    if (!a) {
        fprintf(out, "bt86: lockstep: %s\n", err);
        return -1;
    }
    Pc *b = pc_new(&cb, err, sizeof err);
    if (!b) {
        fprintf(out, "bt86: lockstep: %s\n", err);
        pc_free(a);
        return -1;
    }
    CPU *x = pc_cpu(a), *y = pc_cpu(b);
    if (dbt_attach(x, engine) < 0 || dbt_attach(y, ENGINE_INTERP) < 0) {
        fprintf(out, "bt86: lockstep: cannot start the engines\n");
        pc_free(a);
        pc_free(b);
        return -1;
    }
    Tracer *t = tracer_new(0, out);
    if (t) tracer_set_symbols(t, report_symbols);
    if (chunk == 0) chunk = 1;
    int result = 0;
    char what[256];
    uint64_t n = 0;
    Input input = {.fd = input_fd};
    while (x->icount < max_insns) {
        uint64_t step = max_insns - x->icount < chunk ? max_insns - x->icount : chunk;
        uint64_t start = x->icount;
        PcExit ea = pc_run(a, step), eb = pc_run(b, step);
        bool diff = cpu_differs(x, y, what, sizeof what);
        if (!diff && ea != eb) {
            snprintf(what, sizeof what, "machine exit %d vs %d", ea, eb);
            diff = true;
        }
        if (!diff && (++n % RAM_EVERY == 0 || ea != PC_EXIT_INSN_LIMIT))
            diff = ram_differs(pc_physmem(a), pc_physmem(b), what, sizeof what);
        if (!diff) diff = feed_input(&input, a, b, what, sizeof what);
        if (diff) {
            fprintf(out,
                    "lockstep: %s engine and interpreter differ after instruction %llu"
                    " (compared every %llu; the chunk began at %llu): %s\n",
                    dbt_engine_name(engine), (unsigned long long)y->icount,
                    (unsigned long long)chunk, (unsigned long long)start, what);
            print_state(out, dbt_engine_name(engine), x, t);
            print_state(out, "interp", y, t);
            result = 1;
            break;
        }
        if (ea == PC_EXIT_RESET) {
            pc_reset(a);
            pc_reset(b);
        } else if (ea != PC_EXIT_INSN_LIMIT) {
            break;
        }
    }
    if (result == 0)
        fprintf(out, "lockstep: no divergence in %llu instructions (%s against the interpreter)\n",
                (unsigned long long)x->icount, dbt_engine_name(engine));
    if (t) tracer_free(t);
    pc_free(a);
    pc_free(b);
    return result;
}
