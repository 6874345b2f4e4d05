/*
 * symbols.c - guest symbol tables from System.map and 32-bit ELF files (see
 * symbols.h).
 *
 * Both parsers work on the whole file in memory and check every offset and
 * length against it before reading; names are copied into one string pool.
 * After each file the array is sorted by address (then by preference: code
 * before data, global before local, fewer leading underscores, then by
 * name) and each symbol's end is computed, so a lookup is one binary
 * search: in an index of the functions for code addresses, in the whole
 * array for data addresses.
 */
#include "frontend/symbols.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest name accepted (the kernel's KSYM_NAME_LEN is 512). */
#define MAX_NAME 1024
/* Files larger than this are refused (the biggest System.map is a few MiB,
 * a vmlinux with debug information some hundred). */
#define MAX_FILE ((size_t)1 << 30)

typedef struct Symbol {
    uint32_t addr;
    uint64_t end;  /* one past the last covered address */
    uint32_t size; /* from the file; 0: unknown */
    uint32_t name; /* offset in the pool */
    uint8_t rank;  /* higher: preferred among symbols at one address */
    bool code;     /* a function (System.map T/t/W/w, ELF STT_FUNC), else data */
} Symbol;

struct SymTab {
    Symbol *syms;
    size_t n, cap;
    char *pool;
    size_t pool_len, pool_cap;
    size_t *code; /* indices of the code symbols in syms, in its order */
    size_t ncode;
};

SymTab *symtab_new(void) {
    return calloc(1, sizeof(SymTab));
}

void symtab_free(SymTab *s) {
    if (!s) return;
    free(s->syms);
    free(s->pool);
    free(s->code);
    free(s);
}

size_t symtab_count(const SymTab *s) {
    return s ? s->n : 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static bool add_symbol(SymTab *s, uint32_t addr, uint32_t size, uint8_t rank, bool code,
                       const char *name, size_t len) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        Symbol *p = realloc(s->syms, cap * sizeof *p);
        if (!p) return false;
        s->syms = p;
        s->cap = cap;
    }
    if (s->pool_len + len + 1 > UINT32_MAX) return false; /* names are 32-bit offsets */
    if (s->pool_len + len + 1 > s->pool_cap) {
        size_t cap = s->pool_cap ? s->pool_cap * 2 : 65536;
        while (cap < s->pool_len + len + 1)
            cap *= 2;
        if (cap > UINT32_MAX) return false;
        char *p = realloc(s->pool, cap);
        if (!p) return false;
        s->pool = p;
        s->pool_cap = cap;
    }
    memcpy(s->pool + s->pool_len, name, len);
    s->pool[s->pool_len + len] = 0;
    s->syms[s->n++] = (Symbol){
        .addr = addr, .size = size, .rank = rank, .code = code, .name = (uint32_t)s->pool_len};
    s->pool_len += len + 1;
    return true;
}

static const SymTab *sort_table; /* qsort has no context argument in C11 */

static size_t leading_underscores(const char *name) {
    return strspn(name, "_");
}

/* By address; at one address the preferred name first: higher rank, then
 * fewer leading underscores (startup_32 before _text), then by name. */
static int compare_symbols(const void *pa, const void *pb) {
    const Symbol *a = pa, *b = pb;
    if (a->addr != b->addr) return a->addr < b->addr ? -1 : 1;
    if (a->rank != b->rank) return a->rank > b->rank ? -1 : 1;
    const char *na = sort_table->pool + a->name, *nb = sort_table->pool + b->name;
    size_t ua = leading_underscores(na), ub = leading_underscores(nb);
    if (ua != ub) return ua < ub ? -1 : 1;
    return strcmp(na, nb);
}

/* Sort, then give each symbol its end: its own size, else the next higher
 * address of a symbol that may end it (the last unsized symbol covers only
 * its address). A function without a size reaches up to the next function
 * (variables do not cut it: code lookups see what a map of functions alone
 * gives), the last function up to the next variable; a variable up to the
 * next symbol of either kind. Then the index of the code symbols. False
 * when out of memory. */
static bool finish(SymTab *s) {
    sort_table = s;
    qsort(s->syms, s->n, sizeof *s->syms, compare_symbols);
    sort_table = NULL;
    size_t next_any = s->n, next_code = s->n; /* first symbol (function) at a higher address */
    size_t group_code = s->n;                 /* first function at this symbol's address */
    for (size_t i = s->n; i-- > 0;) {
        if (i + 1 < s->n && s->syms[i + 1].addr != s->syms[i].addr) {
            next_any = i + 1;
            if (group_code < s->n) next_code = group_code;
            group_code = s->n;
        }
        Symbol *y = &s->syms[i];
        if (y->code) group_code = i;
        size_t next = y->code && next_code < s->n ? next_code : next_any;
        if (y->size)
            y->end = (uint64_t)y->addr + y->size;
        else
            y->end = next < s->n ? s->syms[next].addr : (uint64_t)y->addr + 1;
    }
    free(s->code);
    s->code = NULL;
    s->ncode = 0;
    for (size_t i = 0; i < s->n; i++)
        s->ncode += s->syms[i].code;
    if (s->ncode && !(s->code = malloc(s->ncode * sizeof *s->code))) {
        s->ncode = 0;
        return false;
    }
    for (size_t i = 0, k = 0; i < s->n; i++)
        if (s->syms[i].code) s->code[k++] = i;
    return true;
}

/* Index (into idx, or syms itself when idx is NULL) of the first of the
 * symbols at the highest address <= addr, or (size_t)-1. */
static size_t find_group(const SymTab *s, const size_t *idx, size_t n, uint32_t addr) {
#define AT(i) s->syms[idx ? idx[i] : (i)].addr
    if (n == 0 || addr < AT(0)) return (size_t)-1;
    size_t lo = 0, hi = n; /* the last entry with AT(i) <= addr is in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (AT(mid) <= addr)
            lo = mid;
        else
            hi = mid;
    }
    /* The preferred symbol at that address comes first. */
    while (lo > 0 && AT(lo - 1) == AT(lo))
        lo--;
    return lo;
#undef AT
}

/* The first symbol of the group at idx[first] that covers addr. */
static const char *cover(const SymTab *s, const size_t *idx, size_t n, size_t first, uint32_t addr,
                         uint32_t *offset) {
    if (first == (size_t)-1) return NULL;
    uint32_t at = s->syms[idx ? idx[first] : first].addr;
    for (size_t i = first; i < n; i++) {
        const Symbol *y = &s->syms[idx ? idx[i] : i];
        if (y->addr != at) break;
        if (addr < y->end) {
            if (offset) *offset = addr - y->addr;
            return s->pool + y->name;
        }
    }
    return NULL;
}

const char *symtab_lookup(const SymTab *s, uint32_t addr, uint32_t *offset) {
    if (!s) return NULL;
    return cover(s, s->code, s->ncode, find_group(s, s->code, s->ncode, addr), addr, offset);
}

const char *symtab_lookup_data(const SymTab *s, uint32_t addr, uint32_t *offset) {
    if (!s) return NULL;
    const char *name = cover(s, NULL, s->n, find_group(s, NULL, s->n, addr), addr, offset);
    return name ? name : symtab_lookup(s, addr, offset);
}

static bool format(const char *name, uint32_t off, char *buf, size_t size) {
    if (size) buf[0] = 0;
    if (!name) return false;
    snprintf(buf, size, "%s+0x%x", name, off);
    return true;
}

bool symtab_format(const SymTab *s, uint32_t addr, char *buf, size_t size) {
    uint32_t off = 0;
    const char *name = symtab_lookup(s, addr, &off);
    return format(name, off, buf, size);
}

bool symtab_format_data(const SymTab *s, uint32_t addr, char *buf, size_t size) {
    uint32_t off = 0;
    const char *name = symtab_lookup_data(s, addr, &off);
    return format(name, off, buf, size);
}

/* ---------------- System.map ---------------- */

static bool is_space(char c) {
    return c == ' ' || c == '\t';
}

/* Rank of an nm type letter; -1: not an address in memory (undefined,
 * absolute, debugging). */
static int map_type_rank(char t) {
    switch (t) {
    case 'T': return 3;
    case 't': return 2;
    case 'W':
    case 'D':
    case 'B':
    case 'R':
    case 'V':
    case 'G':
    case 'S': return 1;
    case 'w':
    case 'd':
    case 'b':
    case 'r':
    case 'v':
    case 'g':
    case 's': return 0;
    default: return -1;
    }
}

/* One line "ADDRESS TYPE NAME [\[MODULE\]]" (the module column is what
 * /proc/kallsyms adds). Returns 1 when a symbol was added, 0 when the line
 * was skipped, -1 on error. */
static int parse_map_line(SymTab *s, const char *name, size_t lineno, const char *p,
                          const char *end, uint32_t *nonzero, char *err, size_t errlen) {
    while (p < end && is_space(*p))
        p++;
    if (p == end) return 0; /* empty line */
    uint64_t addr = 0;
    int digits = 0;
    for (; p < end && !is_space(*p); p++, digits++) {
        int v = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                         : -1;
        if (v < 0 || digits >= 16) goto bad;
        addr = addr << 4 | (uint64_t)v;
    }
    if (digits == 0 || p == end) goto bad;
    while (p < end && is_space(*p))
        p++;
    if (p == end || p + 1 >= end || !is_space(p[1])) goto bad;
    char type = *p;
    p += 2;
    while (p < end && is_space(*p))
        p++;
    const char *sym = p;
    while (p < end && !is_space(*p))
        p++;
    size_t len = (size_t)(p - sym);
    if (len == 0) goto bad;
    while (p < end && is_space(*p))
        p++;
    if (addr > UINT32_MAX) {
        set_err(err, errlen,
                "%s:%zu: address %llx does not fit in 32 bits (a 64-bit kernel's map, or "
                "Debian's placeholder System.map: the real one is in the -dbg package)",
                name, lineno, (unsigned long long)addr);
        return -1;
    }
    if (p < end && (*p != '[' || end[-1] != ']')) goto bad; /* only a [module] may follow */
    if (len > MAX_NAME) {
        set_err(err, errlen, "%s:%zu: symbol name longer than %d characters", name, lineno,
                MAX_NAME);
        return -1;
    }
    int rank = map_type_rank(type);
    if (rank < 0) return 0;
    if (addr) (*nonzero)++;
    bool code = type == 'T' || type == 't' || type == 'W' || type == 'w';
    if (!add_symbol(s, (uint32_t)addr, 0, (uint8_t)rank, code, sym, len)) {
        set_err(err, errlen, "%s: out of memory", name);
        return -1;
    }
    return 1;
bad:
    set_err(err, errlen, "%s:%zu: expected 'ADDRESS TYPE NAME' (a System.map line)", name, lineno);
    return -1;
}

static long load_map(SymTab *s, const char *name, const char *text, size_t len, char *err,
                     size_t errlen) {
    if (len && memchr(text, 0, len)) {
        set_err(err, errlen, "%s: neither a System.map (it holds binary data) nor an ELF file",
                name);
        return -1;
    }
    long added = 0;
    uint32_t nonzero = 0;
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        const char *end = nl ? nl : text + len;
        pos = (size_t)(end - text) + 1;
        lineno++;
        if (end > line && end[-1] == '\r') end--;
        int r = parse_map_line(s, name, lineno, line, end, &nonzero, err, errlen);
        if (r < 0) return -1;
        added += r;
    }
    if (added == 0) {
        set_err(err, errlen, "%s: no symbols", name);
        return -1;
    }
    if (nonzero == 0) {
        set_err(err, errlen,
                "%s: every address is 0 (/proc/kallsyms read without root shows no addresses)",
                name);
        return -1;
    }
    return added;
}

/* ---------------- ELF (32-bit, little-endian) ---------------- */

enum {
    ELF_HDR_SIZE = 52,
    ELF_SHDR_SIZE = 40,
    ELF_SYM_SIZE = 16,
    SHT_SYMTAB = 2,
    SHT_STRTAB = 3,
    SHT_DYNSYM = 11,
    STT_OBJECT = 1,
    STT_FUNC = 2,
    STB_LOCAL = 0,
    SHN_UNDEF = 0,
};

static uint32_t le16(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whether [off, off + size) lies inside a file of len bytes. */
static bool in_file(uint64_t off, uint64_t size, size_t len) {
    return off <= len && size <= len - off;
}

typedef struct Elf {
    const char *name;
    const uint8_t *data;
    size_t len;
    uint32_t shoff, shnum;
} Elf;

static const uint8_t *section(const Elf *e, uint32_t i) {
    return e->data + e->shoff + (size_t)i * ELF_SHDR_SIZE;
}

/* Add the function and object symbols of one SYMTAB/DYNSYM section. */
static long load_elf_symbols(SymTab *s, const Elf *e, uint32_t idx, char *err, size_t errlen) {
    const uint8_t *sh = section(e, idx);
    uint32_t off = le32(sh + 16), size = le32(sh + 20), link = le32(sh + 24),
             entsize = le32(sh + 36);
    if (entsize != ELF_SYM_SIZE || !in_file(off, size, e->len) || link >= e->shnum) {
        set_err(err, errlen, "%s: section %u: malformed symbol table header", e->name, idx);
        return -1;
    }
    const uint8_t *str = section(e, link);
    uint32_t str_off = le32(str + 16), str_size = le32(str + 20);
    if (le32(str + 4) != SHT_STRTAB || !in_file(str_off, str_size, e->len)) {
        set_err(err, errlen, "%s: section %u: its string table (section %u) is malformed", e->name,
                idx, link);
        return -1;
    }
    const char *strtab = (const char *)e->data + str_off;
    long added = 0;
    for (uint32_t i = 0; i < size / ELF_SYM_SIZE; i++) {
        const uint8_t *sym = e->data + off + (size_t)i * ELF_SYM_SIZE;
        uint32_t name = le32(sym), value = le32(sym + 4), sz = le32(sym + 8);
        unsigned info = sym[12], type = info & 0xF, bind = info >> 4;
        if ((type != STT_FUNC && type != STT_OBJECT) || le16(sym + 14) == SHN_UNDEF) continue;
        if (name >= str_size) {
            set_err(err, errlen, "%s: section %u: symbol %u's name lies outside its string table",
                    e->name, idx, i);
            return -1;
        }
        const char *nul = memchr(strtab + name, 0, str_size - name);
        if (!nul) {
            set_err(err, errlen, "%s: section %u: symbol %u's name is not terminated", e->name, idx,
                    i);
            return -1;
        }
        size_t len = (size_t)(nul - (strtab + name));
        if (len == 0) continue;
        if (len > MAX_NAME) len = MAX_NAME;
        unsigned rank = (type == STT_FUNC ? 2u : 0u) + (bind != STB_LOCAL ? 1u : 0u);
        if (!add_symbol(s, value, sz, (uint8_t)rank, type == STT_FUNC, strtab + name, len)) {
            set_err(err, errlen, "%s: out of memory", e->name);
            return -1;
        }
        added++;
    }
    return added;
}

static long load_elf(SymTab *s, const char *name, const uint8_t *data, size_t len, char *err,
                     size_t errlen) {
    if (len < ELF_HDR_SIZE) {
        set_err(err, errlen, "%s: truncated ELF header", name);
        return -1;
    }
    if (data[4] != 1) {
        set_err(err, errlen, "%s: not a 32-bit ELF file (bt86's guests are 32-bit)", name);
        return -1;
    }
    if (data[5] != 1) {
        set_err(err, errlen, "%s: not a little-endian ELF file", name);
        return -1;
    }
    Elf e = {
        .name = name, .data = data, .len = len, .shoff = le32(data + 32), .shnum = le16(data + 48)};
    if (e.shnum == 0) {
        set_err(err, errlen, "%s: no section headers", name);
        return -1;
    }
    if (le16(data + 46) != ELF_SHDR_SIZE ||
        !in_file(e.shoff, (uint64_t)e.shnum * ELF_SHDR_SIZE, len)) {
        set_err(err, errlen, "%s: section headers are malformed or lie outside the file", name);
        return -1;
    }
    long added = 0;
    bool tables = false;
    for (uint32_t i = 0; i < e.shnum; i++) {
        uint32_t type = le32(section(&e, i) + 4);
        if (type != SHT_SYMTAB && type != SHT_DYNSYM) continue;
        tables = true;
        long r = load_elf_symbols(s, &e, i, err, errlen);
        if (r < 0) return -1;
        added += r;
    }
    if (!tables) {
        set_err(err, errlen, "%s: no symbol table (a stripped file?)", name);
        return -1;
    }
    if (added == 0) {
        set_err(err, errlen, "%s: no function or object symbols", name);
        return -1;
    }
    return added;
}

/* ---------------- files ---------------- */

long symtab_load_buffer(SymTab *s, const char *name, const uint8_t *data, size_t len, char *err,
                        size_t errlen) {
    size_t before = s->n, before_pool = s->pool_len;
    long r;
    if (len >= 4 && memcmp(data, "\177ELF", 4) == 0)
        r = load_elf(s, name, data, len, err, errlen);
    else
        r = load_map(s, name, (const char *)data, len, err, errlen);
    if (r < 0) { /* leave the table as it was */
        s->n = before;
        s->pool_len = before_pool;
        return -1;
    }
    if (!finish(s)) {
        set_err(err, errlen, "%s: out of memory", name);
        return -1;
    }
    return r;
}

long symtab_load_file(SymTab *s, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_FILE) {
                set_err(err, errlen, "%s: larger than %zu MiB", path, MAX_FILE >> 20);
                free(data);
                fclose(f);
                return -1;
            }
            cap = cap ? cap * 2 : 1 << 20;
            uint8_t *p = realloc(data, cap);
            if (!p) {
                set_err(err, errlen, "%s: out of memory", path);
                free(data);
                fclose(f);
                return -1;
            }
            data = p;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        set_err(err, errlen, "%s: read error", path);
        free(data);
        return -1;
    }
    long r = symtab_load_buffer(s, path, data, len, err, errlen);
    free(data);
    return r;
}
