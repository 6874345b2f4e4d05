/*
 * trace_filter.c - -dfilter ranges, CPL and CR3 filters (see trace_filter.h).
 */
#include "frontend/trace_filter.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void trace_filter_init(TraceFilter *f) {
    *f = (TraceFilter){.cpl = -1};
}

void trace_filter_free(TraceFilter *f) {
    free(f->ranges);
    trace_filter_init(f);
}

bool trace_filter_active(const TraceFilter *f) {
    return f->nranges || f->cpl >= 0 || f->by_cr3;
}

/* An unsigned number in C syntax at *p (no sign, no spaces); advances *p. */
static bool parse_number(const char **p, uint64_t *out) {
    if (!isdigit((unsigned char)**p)) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(*p, &end, 0);
    if (errno) return false;
    *out = v;
    *p = end;
    return true;
}

/* One range "START+SIZE", "END-SIZE" or "START..END" (item: n chars). */
static bool parse_range(const char *item, size_t n, TraceRange *r, char *err, size_t errlen) {
    char buf[80];
    if (n == 0 || n >= sizeof buf) goto bad;
    memcpy(buf, item, n);
    buf[n] = 0;
    const char *p = buf;
    uint64_t a, b;
    if (!parse_number(&p, &a)) goto bad;
    char op = *p;
    if (op == '.' && p[1] == '.')
        p += 2;
    else if (op == '+' || op == '-')
        p++;
    else
        goto bad;
    if (!parse_number(&p, &b) || *p) goto bad;
    uint64_t first, last;
    if (op == '.') {
        first = a;
        last = b;
        if (last < first) {
            set_err(err, errlen, "-dfilter: '%s': the end lies below the start", buf);
            return false;
        }
    } else if (b == 0) {
        set_err(err, errlen, "-dfilter: '%s': the size is 0", buf);
        return false;
    } else if (op == '+') {
        first = a;
        last = a + (b - 1);
        if (last < a) last = UINT64_MAX; /* wrapped: caught below */
    } else {
        last = a;
        if (b - 1 > a) {
            set_err(err, errlen, "-dfilter: '%s': the range would start below 0", buf);
            return false;
        }
        first = a - (b - 1);
    }
    if (last > UINT32_MAX) {
        set_err(err, errlen, "-dfilter: '%s': the range goes beyond 0xffffffff", buf);
        return false;
    }
    r->first = (uint32_t)first;
    r->last = (uint32_t)last;
    return true;
bad:
    set_err(err, errlen,
            "-dfilter: '%.*s' is not a range (START+SIZE, END-SIZE or START..END, e.g. "
            "0x7c00+0x200)",
            (int)(n < 60 ? n : 60), item);
    return false;
}

bool trace_filter_add_ranges(TraceFilter *f, const char *spec, char *err, size_t errlen) {
    size_t count = 1;
    for (const char *p = spec; *p; p++)
        count += *p == ',';
    TraceRange *all = realloc(f->ranges, (f->nranges + count) * sizeof *all);
    if (!all) {
        set_err(err, errlen, "-dfilter: out of memory");
        return false;
    }
    f->ranges = all;
    size_t n = f->nranges;
    for (const char *p = spec;; p++) {
        size_t len = strcspn(p, ",");
        if (!parse_range(p, len, &all[n], err, errlen)) return false;
        n++;
        p += len;
        if (!*p) break;
    }
    f->nranges = n;
    return true;
}

bool trace_filter_set_cpl(TraceFilter *f, const char *spec, char *err, size_t errlen) {
    if (!(spec[0] >= '0' && spec[0] <= '3' && spec[1] == 0)) {
        set_err(err, errlen, "-dfilter-cpl: expected 0, 1, 2 or 3 ('%s')", spec);
        return false;
    }
    f->cpl = spec[0] - '0';
    return true;
}

bool trace_filter_set_cr3(TraceFilter *f, const char *spec, char *err, size_t errlen) {
    const char *p = spec;
    uint64_t v;
    if (!parse_number(&p, &v) || *p || v > UINT32_MAX) {
        set_err(err, errlen, "-dfilter-cr3: expected a 32-bit CR3 value, e.g. 0x1ce5000 ('%s')",
                spec);
        return false;
    }
    f->by_cr3 = true;
    f->cr3 = (uint32_t)v & ~0xFFFu;
    return true;
}

bool trace_filter_match(const TraceFilter *f, uint32_t lin, int cpl, uint32_t cr3) {
    if (f->cpl >= 0 && cpl != f->cpl) return false;
    if (f->by_cr3 && (cr3 & ~0xFFFu) != f->cr3) return false;
    if (!f->nranges) return true;
    for (size_t i = 0; i < f->nranges; i++)
        if (lin >= f->ranges[i].first && lin <= f->ranges[i].last) return true;
    return false;
}
