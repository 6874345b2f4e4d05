/*
 * trace.c - execution tracing with capstone disassembly (see trace.h).
 *
 * Instruction bytes are read without side effects: linear addresses are
 * translated with the MMU's page walk only when the CPU's own TLB does not
 * already map them, and unreadable bytes are shown as "<unreadable>"; a
 * trace never raises a guest exception.
 *
 * The filter is checked first thing for each instruction and event, so
 * what it drops costs one comparison per range; with symbols, an address
 * is looked up by binary search (symbols.c).
 */
#include "frontend/trace.h"

#include <capstone/capstone.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/core.h"

struct Tracer {
    unsigned mask;
    FILE *out;
    csh cs16, cs32;
    uint64_t count;
    const TraceFilter *filter; /* NULL: trace everything */
    const SymTab *syms;        /* NULL: no symbols */
};

static const struct {
    const char *name;
    unsigned bit;
    const char *help;
} trace_items[] = {
    {"in_asm", TRACE_IN_ASM, "each executed instruction, disassembled"},
    {"exec", TRACE_EXEC, "a numbered line per executed instruction"},
    {"cpu", TRACE_CPU, "the registers before each instruction"},
    {"int", TRACE_INT, "interrupts and exceptions as they are delivered"},
};

void tracer_print_help(FILE *out) {
    fprintf(out, "Log items (comma separated) for -d:\n");
    for (size_t i = 0; i < sizeof trace_items / sizeof trace_items[0]; i++)
        fprintf(out, "  %-8s %s\n", trace_items[i].name, trace_items[i].help);
}

bool tracer_parse_flags(const char *arg, unsigned *mask, const char **bad) {
    static char item[64];
    *mask = 0;
    while (*arg) {
        size_t n = strcspn(arg, ",");
        if (n == 0 || n >= sizeof item) {
            snprintf(item, sizeof item, "%.*s", (int)(n < 63 ? n : 63), arg);
            *bad = item;
            return false;
        }
        memcpy(item, arg, n);
        item[n] = 0;
        bool found = false;
        for (size_t i = 0; i < sizeof trace_items / sizeof trace_items[0]; i++) {
            if (strcmp(item, trace_items[i].name) == 0) {
                *mask |= trace_items[i].bit;
                found = true;
            }
        }
        if (!found) {
            *bad = item;
            return false;
        }
        arg += n;
        if (*arg == ',') arg++;
    }
    return true;
}

Tracer *tracer_new(unsigned mask, FILE *out) {
    Tracer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->mask = mask;
    t->out = out;
    if (cs_open(CS_ARCH_X86, CS_MODE_16, &t->cs16) != CS_ERR_OK ||
        cs_open(CS_ARCH_X86, CS_MODE_32, &t->cs32) != CS_ERR_OK) {
        free(t);
        return NULL;
    }
    return t;
}

void tracer_free(Tracer *t) {
    if (!t) return;
    cs_close(&t->cs16);
    cs_close(&t->cs32);
    free(t);
}

void tracer_set_filter(Tracer *t, const TraceFilter *f) {
    t->filter = f && trace_filter_active(f) ? f : NULL;
}

void tracer_set_symbols(Tracer *t, const SymTab *s) {
    t->syms = s;
}

/* " <name+0xoff>" for a linear address into buf ("" without a symbol). */
static void symbol_suffix(const Tracer *t, uint32_t lin, char *buf, size_t size) {
    char name[160];
    buf[0] = 0;
    if (t->syms && symtab_format(t->syms, lin, name, sizeof name))
        snprintf(buf, size, " <%s>", name);
}

/* The target of a direct jump, call or loop (operand "0x..."), or false. */
static bool branch_target(const cs_insn *insn, uint32_t *target) {
    const char *m = insn->mnemonic;
    if (m[0] != 'j' && strncmp(m, "call", 4) != 0 && strncmp(m, "loop", 4) != 0) return false;
    const char *op = insn->op_str;
    if (op[0] != '0' || op[1] != 'x') return false;
    char *end;
    unsigned long long v = strtoull(op, &end, 16);
    if (*end || v > 0xFFFFFFFFull) return false;
    *target = (uint32_t)v;
    return true;
}

/* Read guest code bytes at a linear address without faulting. */
static int peek_code(CPU *cpu, uint32_t lin, uint8_t *buf, int n) {
    for (int i = 0; i < n; i++) {
        uint32_t a = lin + (uint32_t)i, err;
        PhysAddr pa;
        uint8_t *p = mmu_tlb_read(&cpu->mmu, a, cpu->cpl == 3);
        if (p) {
            buf[i] = *p;
            continue;
        }
        if (!mmu_translate(&cpu->mmu, a, MMU_FETCH, false, &pa, &err)) return i;
        buf[i] = (uint8_t)phys_read(cpu->mmu.pm, pa, 1);
    }
    return n;
}

void tracer_format_insn(Tracer *t, CPU *cpu, char *buf, size_t size) {
    uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
    uint8_t code[16];
    int n = peek_code(cpu, lin, code, 15);
    char where[176];
    symbol_suffix(t, lin, where, sizeof where);
    int used =
        snprintf(buf, size, "%04x:%08x (%08x)%s ", cpu->seg[SEG_CS].sel, cpu->eip, lin, where);
    if (used < 0 || (size_t)used >= size) return;
    if (n == 0) {
        snprintf(buf + used, size - (size_t)used, "<unreadable>");
        return;
    }
    cs_insn *insn;
    size_t count =
        cs_disasm(cpu_code32(cpu) ? t->cs32 : t->cs16, code, (size_t)n, cpu->eip, 1, &insn);
    if (count == 0) {
        snprintf(buf + used, size - (size_t)used, "%02x  (bad)", code[0]);
        return;
    }
    char hex[48] = "";
    for (size_t i = 0; i < insn[0].size && i < 15; i++)
        snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x ", insn[0].bytes[i]);
    uint32_t target;
    char dest[176] = "";
    if (t->syms && branch_target(&insn[0], &target))
        symbol_suffix(t, cpu->seg[SEG_CS].base + target, dest, sizeof dest);
    snprintf(buf + used, size - (size_t)used, "%-30s %s %s%s", hex, insn[0].mnemonic,
             insn[0].op_str, dest);
    cs_free(insn, count);
}

static void dump_cpu(Tracer *t, CPU *cpu) {
    static const char *const names[8] = {"EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI"};
    static const char *const snames[SEG_COUNT] = {"ES", "CS", "SS", "DS", "FS", "GS"};
    FILE *o = t->out;
    for (int i = 0; i < 8; i++)
        fprintf(o, "%s=%08x%s", names[i], cpu->regs[i], i == 3 || i == 7 ? "\n" : " ");
    char where[176];
    symbol_suffix(t, cpu->seg[SEG_CS].base + cpu->eip, where, sizeof where);
    fprintf(o, "EIP=%08x EFL=%08x CPL=%d CR0=%08x CR3=%08x%s\n", cpu->eip, cpu_get_eflags(cpu),
            cpu->cpl, cpu->cr0, cpu->cr3, where);
    for (int s = 0; s < SEG_COUNT; s++)
        fprintf(o, "%s=%04x %08x %08x %04x%s", snames[s], cpu->seg[s].sel, cpu->seg[s].base,
                cpu->seg[s].limit, cpu->seg[s].flags, s % 3 == 2 ? "\n" : "  ");
}

static void trace_step(CPU *cpu, void *opaque) {
    Tracer *t = opaque;
    t->count++;
    if (t->filter &&
        !trace_filter_match(t->filter, cpu->seg[SEG_CS].base + cpu->eip, cpu->cpl, cpu->cr3))
        return;
    if (t->mask & TRACE_CPU) dump_cpu(t, cpu);
    if (t->mask & (TRACE_IN_ASM | TRACE_EXEC)) {
        char line[512];
        tracer_format_insn(t, cpu, line, sizeof line);
        if (t->mask & TRACE_EXEC) fprintf(t->out, "[%llu] ", (unsigned long long)t->count);
        fprintf(t->out, "%s\n", line);
    }
}

static void trace_event(CPU *cpu, int vector, int error_code, int kind, void *opaque) {
    Tracer *t = opaque;
    static const char *const kinds[] = {"exception", "interrupt", "int", "int", "int1"};
    uint32_t lin = cpu->seg[SEG_CS].base + cpu->eip;
    if (t->filter && !trace_filter_match(t->filter, lin, cpu->cpl, cpu->cr3)) return;
    char where[176];
    symbol_suffix(t, lin, where, sizeof where);
    fprintf(t->out, "%s 0x%02x", kinds[kind < 5 ? kind : 0], vector);
    if (error_code >= 0) fprintf(t->out, " error %04x", error_code);
    fprintf(t->out, " at %04x:%08x (CPL %d)%s\n", cpu->seg[SEG_CS].sel, cpu->eip, cpu->cpl, where);
}

void tracer_attach(Tracer *t, CPU *cpu) {
    if (t->mask & (TRACE_IN_ASM | TRACE_EXEC | TRACE_CPU)) {
        cpu->trace_fn = trace_step;
        cpu->trace_opaque = t;
    }
    if (t->mask & TRACE_INT) {
        cpu->event_fn = trace_event;
        cpu->event_opaque = t;
    }
}
