/*
 * trace_filter.h - which instructions -d traces: -dfilter address ranges
 * (QEMU's syntax), -dfilter-cpl (one privilege level) and -dfilter-cr3 (one
 * guest address space). Addresses are linear (CS base + EIP). An
 * instruction is traced when every filter that is set lets it through;
 * with no filter set, everything is traced.
 *
 * Range forms (numbers in C syntax: 0x.. hex, 0.. octal, else decimal):
 *     START+SIZE    START .. START + SIZE - 1
 *     END-SIZE      END - SIZE + 1 .. END (the range ends at END)
 *     START..END    START .. END, END included
 * separated by commas; ranges may overlap. A zero size, an END below
 * START or a range beyond 0xffffffff is an error.
 *
 * Use:
 *     TraceFilter f = {0};
 *     trace_filter_init(&f);
 *     if (!trace_filter_add_ranges(&f, "0x7c00+0x200", err, sizeof err)) ...
 *     if (trace_filter_match(&f, lin, cpl, cr3)) ... trace it
 *     trace_filter_free(&f);
 */
#ifndef BT86_TRACE_FILTER_H
#define BT86_TRACE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct TraceRange {
    uint32_t first, last; /* both included */
} TraceRange;

typedef struct TraceFilter {
    TraceRange *ranges; /* none: any address */
    size_t nranges;
    int cpl;      /* -1: any */
    bool by_cr3;  /* only the address space whose page directory is cr3 */
    uint32_t cr3; /* its page-directory base (bits 31-12) */
} TraceFilter;

void trace_filter_init(TraceFilter *f);
void trace_filter_free(TraceFilter *f);
/* Whether any filter is set. */
bool trace_filter_active(const TraceFilter *f);
/* Add comma-separated ranges; false with a message in err (f unchanged). */
bool trace_filter_add_ranges(TraceFilter *f, const char *spec, char *err, size_t errlen);
/* "0".."3". */
bool trace_filter_set_cpl(TraceFilter *f, const char *spec, char *err, size_t errlen);
/* A CR3 value (its low 12 bits, flags, are ignored). */
bool trace_filter_set_cr3(TraceFilter *f, const char *spec, char *err, size_t errlen);
bool trace_filter_match(const TraceFilter *f, uint32_t lin, int cpl, uint32_t cr3);

#endif
