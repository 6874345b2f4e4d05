/*
 * trace.h - execution tracing (QEMU's -d/-D): each executed instruction
 * with its address and capstone disassembly (in_asm), a numbered line per
 * instruction (exec), the registers before each instruction (cpu), and
 * interrupts/exceptions as they are delivered (int).
 *
 * Use:
 *     Tracer *t = tracer_new(TRACE_IN_ASM | TRACE_CPU, stderr);
 *     tracer_attach(t, cpu);          // installs cpu->trace_fn
 *     ... run ...
 *     tracer_free(t);
 * tracer_parse_flags("in_asm,cpu", &mask) turns a -d argument into a mask.
 *
 * A filter (trace_filter.h: -dfilter ranges, CPL, CR3) limits which
 * instructions and events are traced; a symbol table (symbols.h) adds
 * "<function+0xoff>" after addresses and branch targets. Both are the
 * caller's and must outlive the tracer.
 */
#ifndef BT86_TRACE_H
#define BT86_TRACE_H

#include <stdbool.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "frontend/symbols.h"
#include "frontend/trace_filter.h"

enum {
    TRACE_IN_ASM = 1 << 0,
    TRACE_EXEC = 1 << 1,
    TRACE_CPU = 1 << 2,
    TRACE_INT = 1 << 3,
};

typedef struct Tracer Tracer;

/* Parse a comma-separated -d list; returns false (and names the bad item in
 * *bad) for an unknown item. "help" lists the items. */
bool tracer_parse_flags(const char *arg, unsigned *mask, const char **bad);
void tracer_print_help(FILE *out);
Tracer *tracer_new(unsigned mask, FILE *out);
void tracer_attach(Tracer *t, CPU *cpu);
void tracer_free(Tracer *t);
void tracer_set_filter(Tracer *t, const TraceFilter *f);
void tracer_set_symbols(Tracer *t, const SymTab *s);
/* Format one instruction at the CPU's CS:EIP: "cs:eip (linear) bytes  mnemonic operands". */
void tracer_format_insn(Tracer *t, CPU *cpu, char *buf, size_t size);

#endif
