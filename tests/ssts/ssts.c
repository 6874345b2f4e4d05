/*
 * ssts.c - bt86-ssts: runs the hardware-captured 80286 real-mode vectors
 * (tests/data/ssts-286, format in its README) through the CPU
 * core and compares registers and memory with what the real chip did.
 *
 *     bt86-ssts [--masks FILE] [--filter PREFIX]... [--verbose N]
 *               [--min-pass PERCENT] [--list-masks] DIR|FILE...
 *
 * Legitimate differences between the 286 and the P6 we model live only in
 * the masks file (tests/ssts/masks.txt), one rule per line with its reason:
 *     flags   NAME... mask=0xHHHH reason="..."   ignore these FLAGS bits
 *     exclude NAME... reason="..."               do not run these tests
 *     alias-ss NAME... reason="..."              point IVT entry 12 (#SS) at the
 *                                                handler of 13 before running
 *     strip-lock NAME... reason="..."            run the instruction without its
 *                                                LOCK prefix (placed one byte later)
 * NAME is an opcode file name without .txt.gz ("F6.4", "0F01.2"), or a
 * prefix ending in '*'. Optional conditions narrow a rule to some tests:
 *     when=lock-ud   the instruction has a LOCK prefix that a P6 rejects with
 *                    #UD (not a lockable instruction with a memory destination)
 *     when=lock-ud-exc  as lock-ud, and the 286 raised an exception
 *     when=exc13     the 286 raised exception 13 (real-mode segment overrun)
 *     when=long      the instruction is longer than 10 bytes (the 286's limit)
 *     match="text"   the test's disassembly (N line) contains text
 * and a flags rule may also carry ignore=REG,REG: registers not compared. A flags mask applies to the final FLAGS and to a
 * FLAGS image an exception pushed (the X line's address). For each rule the
 * runner reports how many tests it matched and how many it turned from
 * fail to pass. The last line is always "ssts: N passed, M failed[, K skipped]".
 * Exit status: 0 when there were no file errors and the pass rate is at
 * least --min-pass (default 99.5), else 1.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cpu/cpu.h"
#include "dbt/dbt.h"
#include "devices/bus.h"
#include "mmu/mmu.h"

#ifndef BT86_SSTS_MASKS
#define BT86_SSTS_MASKS "tests/ssts/masks.txt"
#endif

#define RAM_SIZE (16u << 20)
#define STEP_CAP 100000
#define MAX_MEM 512
#define MAX_RULES 128
#define MAX_NAMES 64

/* ---------------- vectors ---------------- */

enum { R_AX, R_BX, R_CX, R_DX, R_CS, R_SS, R_DS, R_ES, R_SP, R_BP, R_SI, R_DI, R_IP, R_FLAGS, NREG };
static const char *const reg_names[NREG] = {"ax", "bx", "cx", "dx", "cs", "ss", "ds",
                                            "es", "sp", "bp", "si", "di", "ip", "flags"};

typedef struct MemByte {
    uint32_t addr;
    uint8_t val;
} MemByte;

typedef struct Vector {
    long index;
    char name[128];
    char bytes[64];
    uint32_t init[NREG], final[NREG];
    MemByte mem[MAX_MEM], wmem[MAX_MEM];
    int nmem, nwmem;
    bool has_exc;
    int exc_vector;
    uint32_t exc_flags_addr;
} Vector;

/* ---------------- masks ---------------- */

enum { WHEN_ANY, WHEN_LOCK_UD, WHEN_LOCK_UD_EXC, WHEN_EXC13, WHEN_LONG };

typedef struct Rule {
    bool exclude;
    bool alias_ss;   /* deliver #SS through the #GP (13) vector, see below */
    bool strip_lock; /* run the instruction without its LOCK prefix */
    uint32_t flag_mask;
    int when;        /* WHEN_*: only tests with this property */
    char match[32];  /* only tests whose disassembly contains this, if set */
    uint32_t ignore; /* registers (bit per R_*) not compared */
    char names[MAX_NAMES][16];
    int nnames;
    char reason[256];
    long matched, rescued;
    int line;
} Rule;

static Rule rules[MAX_RULES];
static int nrules;

static bool name_matches(const char *pattern, const char *name) {
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*') return strncmp(pattern, name, n - 1) == 0;
    return strcmp(pattern, name) == 0;
}

/* Does a LOCK prefix make this instruction #UD on a P6? Lockable
 * instructions (SDM, LOCK) with a memory destination are fine. */
static bool lock_is_ud(const char *disasm) {
    static const char *const lockable[] = {"add", "adc", "and", "btc", "btr", "bts", "cmpxchg",
                                           "dec", "inc", "neg", "not", "or", "sbb", "sub",
                                           "xor", "xadd", "xchg"};
    const char *p = strstr(disasm, "lock ");
    if (!p) return false;
    p += 5;
    char mnem[16];
    int n = 0;
    if (sscanf(p, "%15s%n", mnem, &n) != 1) return true;
    bool ok = false;
    for (size_t i = 0; i < sizeof lockable / sizeof lockable[0]; i++)
        if (strcmp(mnem, lockable[i]) == 0) ok = true;
    if (!ok) return true;
    while (p[n] == ' ') n++;
    /* Destination operand: memory if it starts with '[' or a size keyword. */
    return !(p[n] == '[' || strncmp(p + n, "byte", 4) == 0 || strncmp(p + n, "word", 4) == 0);
}

static bool rule_applies(const Rule *r, const char *name, const Vector *v) {
    if (r->when == WHEN_LOCK_UD && !lock_is_ud(v->name)) return false;
    if (r->when == WHEN_LOCK_UD_EXC && !(lock_is_ud(v->name) && v->has_exc)) return false;
    if (r->when == WHEN_EXC13 && !(v->has_exc && v->exc_vector == 13)) return false;
    if (r->when == WHEN_LONG && strlen(v->bytes) / 2 - 1 <= 10) return false;
    if (r->match[0] && !strstr(v->name, r->match)) return false;
    for (int i = 0; i < r->nnames; i++)
        if (name_matches(r->names[i], name)) return true;
    return false;
}

static int load_masks(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "ssts: cannot open masks file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || *p == 0) continue;
        if (nrules >= MAX_RULES) {
            fprintf(stderr, "ssts: %s:%d: too many rules\n", path, lineno);
            fclose(f);
            return -1;
        }
        Rule *r = &rules[nrules];
        memset(r, 0, sizeof *r);
        r->line = lineno;
        char *reason = strstr(p, "reason=\"");
        if (!reason || !strchr(reason + 8, '"')) {
            fprintf(stderr, "ssts: %s:%d: every rule needs reason=\"...\"\n", path, lineno);
            fclose(f);
            return -1;
        }
        *strchr(reason + 8, '"') = 0;
        snprintf(r->reason, sizeof r->reason, "%s", reason + 8);
        *reason = 0;
        char *match = strstr(p, "match=\"");
        if (match) {
            char *end = strchr(match + 7, '"');
            if (!end || end - (match + 7) >= (long)sizeof r->match) {
                fprintf(stderr, "ssts: %s:%d: bad match=\"...\"\n", path, lineno);
                fclose(f);
                return -1;
            }
            *end = 0;
            snprintf(r->match, sizeof r->match, "%s", match + 7);
            memset(match, ' ', (size_t)(end - match) + 1);
        }
        char *save = NULL;
        char *tok = strtok_r(p, " \t\n", &save);
        if (strcmp(tok, "exclude") == 0) r->exclude = true;
        else if (strcmp(tok, "alias-ss") == 0) r->alias_ss = true;
        else if (strcmp(tok, "strip-lock") == 0) r->strip_lock = true;
        else if (strcmp(tok, "flags") != 0) {
            fprintf(stderr, "ssts: %s:%d: unknown rule '%s'\n", path, lineno, tok);
            fclose(f);
            return -1;
        }
        while ((tok = strtok_r(NULL, " \t\n", &save))) {
            if (strncmp(tok, "mask=", 5) == 0) {
                char *end;
                r->flag_mask = (uint32_t)strtoul(tok + 5, &end, 16);
                if (*end) {
                    fprintf(stderr, "ssts: %s:%d: bad mask '%s'\n", path, lineno, tok);
                    fclose(f);
                    return -1;
                }
            } else if (strcmp(tok, "when=lock-ud") == 0) {
                r->when = WHEN_LOCK_UD;
            } else if (strcmp(tok, "when=lock-ud-exc") == 0) {
                r->when = WHEN_LOCK_UD_EXC;
            } else if (strcmp(tok, "when=exc13") == 0) {
                r->when = WHEN_EXC13;
            } else if (strcmp(tok, "when=long") == 0) {
                r->when = WHEN_LONG;
            } else if (strncmp(tok, "ignore=", 7) == 0) {
                char *save2 = NULL;
                for (char *rn = strtok_r(tok + 7, ",", &save2); rn; rn = strtok_r(NULL, ",", &save2)) {
                    int found = -1;
                    for (int k = 0; k < NREG; k++)
                        if (strcmp(reg_names[k], rn) == 0) found = k;
                    if (found < 0) {
                        fprintf(stderr, "ssts: %s:%d: unknown register '%s'\n", path, lineno, rn);
                        fclose(f);
                        return -1;
                    }
                    r->ignore |= 1u << found;
                }
            } else if (strchr(tok, '=')) {
                fprintf(stderr, "ssts: %s:%d: unknown key '%s'\n", path, lineno, tok);
                fclose(f);
                return -1;
            } else if (r->nnames < MAX_NAMES && strlen(tok) < 16) {
                strcpy(r->names[r->nnames++], tok);
            } else {
                fprintf(stderr, "ssts: %s:%d: bad name '%s'\n", path, lineno, tok);
                fclose(f);
                return -1;
            }
        }
        if (r->nnames == 0 ||
            (!r->exclude && !r->alias_ss && !r->strip_lock && r->flag_mask == 0 && r->ignore == 0)) {
            fprintf(stderr, "ssts: %s:%d: rule needs names%s\n", path, lineno,
                    r->exclude || r->alias_ss || r->strip_lock ? "" : " and mask=");
            fclose(f);
            return -1;
        }
        nrules++;
    }
    fclose(f);
    return 0;
}

/* ---------------- parsing ---------------- */

typedef struct Reader {
    gzFile gz;
    const char *path;
    long line;
} Reader;

static int parse_error(Reader *rd, const char *what) {
    fprintf(stderr, "ssts: %s:%ld: malformed vector: %s\n", rd->path, rd->line, what);
    return -1;
}

static int parse_mem(Reader *rd, const char *s, MemByte *out, int *n) {
    *n = 0;
    while (*s) {
        while (*s == ' ') s++;
        if (!*s || *s == '\n') break;
        unsigned addr, val;
        int used;
        if (sscanf(s, "%x:%x%n", &addr, &val, &used) != 2 || val > 0xFF || addr >= RAM_SIZE)
            return parse_error(rd, "memory byte");
        if (*n >= MAX_MEM) return parse_error(rd, "too many memory bytes");
        out[*n].addr = addr;
        out[*n].val = (uint8_t)val;
        (*n)++;
        s += used;
    }
    return 0;
}

/* Read the next record; returns 1 if one was read, 0 at end of file, -1 on error. */
static int read_vector(Reader *rd, Vector *v) {
    char line[8192];
    memset(v, 0, sizeof *v);
    bool have_t = false, have_i = false;
    while (gzgets(rd->gz, line, sizeof line)) {
        rd->line++;
        size_t len = strlen(line);
        if (len && line[len - 1] != '\n' && !gzeof(rd->gz)) return parse_error(rd, "line too long");
        if (line[0] == '.') {
            if (!have_t || !have_i) return parse_error(rd, "record without T or I line");
            return 1;
        }
        const char *rest = line + 2;
        switch (line[0]) {
        case 'T':
            if (sscanf(rest, "%ld", &v->index) != 1) return parse_error(rd, "T line");
            have_t = true;
            break;
        case 'N':
            snprintf(v->name, sizeof v->name, "%.*s", (int)strcspn(rest, "\n"), rest);
            break;
        case 'B':
            snprintf(v->bytes, sizeof v->bytes, "%.*s", (int)strcspn(rest, "\n"), rest);
            break;
        case 'I': {
            unsigned r[NREG];
            if (sscanf(rest, "%x %x %x %x %x %x %x %x %x %x %x %x %x %x", &r[0], &r[1], &r[2], &r[3],
                       &r[4], &r[5], &r[6], &r[7], &r[8], &r[9], &r[10], &r[11], &r[12], &r[13]) != NREG)
                return parse_error(rd, "I line");
            for (int i = 0; i < NREG; i++) {
                if (r[i] > 0xFFFF) return parse_error(rd, "I register value");
                v->init[i] = v->final[i] = r[i];
            }
            have_i = true;
            break;
        }
        case 'M':
            if (parse_mem(rd, rest, v->mem, &v->nmem) < 0) return -1;
            break;
        case 'W':
            if (parse_mem(rd, line[1] ? rest : "", v->wmem, &v->nwmem) < 0) return -1;
            break;
        case 'F': {
            const char *s = rest;
            while (*s && *s != '\n') {
                while (*s == ' ') s++;
                if (!*s || *s == '\n') break;
                char name[8];
                unsigned val;
                int used;
                if (sscanf(s, "%7[a-z]=%x%n", name, &val, &used) != 2 || val > 0xFFFF)
                    return parse_error(rd, "F line");
                int r = -1;
                for (int i = 0; i < NREG; i++)
                    if (strcmp(reg_names[i], name) == 0) r = i;
                if (r < 0) return parse_error(rd, "F register name");
                v->final[r] = val;
                s += used;
            }
            break;
        }
        case 'X': {
            unsigned vec, addr;
            if (sscanf(rest, "%u %x", &vec, &addr) != 2 || addr >= RAM_SIZE) return parse_error(rd, "X line");
            v->has_exc = true;
            v->exc_vector = (int)vec;
            v->exc_flags_addr = addr;
            break;
        }
        default: return parse_error(rd, "unknown line kind");
        }
    }
    if (!gzeof(rd->gz)) {
        int err;
        const char *msg = gzerror(rd->gz, &err);
        fprintf(stderr, "ssts: %s: read error: %s\n", rd->path, msg);
        return -1;
    }
    if (have_t || have_i) return parse_error(rd, "truncated record at end of file");
    return 0;
}

/* ---------------- running ---------------- */

typedef struct Machine {
    PhysMem *pm;
    IoBus *io;
    CPU *cpu;
} Machine;

static void load_state(Machine *m, const Vector *v) {
    CPU *cpu = m->cpu;
    cpu_reset(cpu);
    static const int gpr[8][2] = {{R_AX, 0}, {R_CX, 1}, {R_DX, 2}, {R_BX, 3},
                                  {R_SP, 4}, {R_BP, 5}, {R_SI, 6}, {R_DI, 7}};
    for (int i = 0; i < 8; i++) cpu->regs[gpr[i][1]] = v->init[gpr[i][0]];
    cpu_load_seg_real(cpu, SEG_ES, (uint16_t)v->init[R_ES]);
    cpu_load_seg_real(cpu, SEG_CS, (uint16_t)v->init[R_CS]);
    cpu_load_seg_real(cpu, SEG_SS, (uint16_t)v->init[R_SS]);
    cpu_load_seg_real(cpu, SEG_DS, (uint16_t)v->init[R_DS]);
    cpu_load_seg_real(cpu, SEG_FS, 0);
    cpu_load_seg_real(cpu, SEG_GS, 0);
    cpu->eip = v->init[R_IP];
    /* Bits 12-15 cannot be set in real mode on a 286 (vector README). */
    cpu_set_eflags(cpu, v->init[R_FLAGS] & 0x0FFF, 0xFFFFFFFFu);
    for (int i = 0; i < v->nmem; i++) phys_write(m->pm, v->mem[i].addr, 1, v->mem[i].val);
}

static void read_state(Machine *m, uint32_t out[NREG]) {
    CPU *cpu = m->cpu;
    out[R_AX] = cpu->regs[0];
    out[R_CX] = cpu->regs[1];
    out[R_DX] = cpu->regs[2];
    out[R_BX] = cpu->regs[3];
    out[R_SP] = cpu->regs[4];
    out[R_BP] = cpu->regs[5];
    out[R_SI] = cpu->regs[6];
    out[R_DI] = cpu->regs[7];
    out[R_CS] = cpu->seg[SEG_CS].sel;
    out[R_SS] = cpu->seg[SEG_SS].sel;
    out[R_DS] = cpu->seg[SEG_DS].sel;
    out[R_ES] = cpu->seg[SEG_ES].sel;
    out[R_IP] = cpu->eip;
    out[R_FLAGS] = cpu_get_eflags(cpu);
}

typedef struct Outcome {
    bool ran_to_halt;
    uint32_t regs[NREG];
    uint8_t wvals[MAX_MEM];
} Outcome;

/* Move the prefixes before the LOCK byte one byte up, over it, and start one
 * byte later: the same instruction without LOCK, ending at the same address. */
static void strip_lock_prefix(Machine *m, const Vector *v) {
    int n = (int)strlen(v->bytes) / 2, k = -1;
    uint8_t b[32];
    for (int i = 0; i < n && i < 32; i++) {
        unsigned x;
        sscanf(v->bytes + 2 * i, "%2x", &x);
        b[i] = (uint8_t)x;
        if (b[i] == 0xF0 && k < 0) k = i;
    }
    if (k < 0) return;
    uint32_t cs = m->cpu->seg[SEG_CS].base, ip = m->cpu->eip;
    for (int i = k - 1; i >= 0; i--) phys_write(m->pm, cs + ((ip + (uint32_t)i + 1) & 0xFFFF), 1, b[i]);
    m->cpu->eip = (ip + 1) & 0xFFFF;
}

static void run_vector(Machine *m, const Vector *v, Outcome *o, bool alias_ss, bool strip_lock) {
    load_state(m, v);
    if (strip_lock) strip_lock_prefix(m, v);
    if (alias_ss) phys_write(m->pm, 12 * 4, 4, phys_read(m->pm, 13 * 4, 4));
    o->ran_to_halt = false;
    for (int steps = 0; steps < STEP_CAP; steps++) {
        CpuExit e = cpu_step(m->cpu);
        if (m->cpu->halted) {
            o->ran_to_halt = true;
            break;
        }
        if (e == CPU_EXIT_RESET) break;
    }
    read_state(m, o->regs);
    for (int i = 0; i < v->nwmem; i++) o->wvals[i] = (uint8_t)phys_read(m->pm, v->wmem[i].addr, 1);
    for (int i = 0; i < v->nmem; i++) phys_write(m->pm, v->mem[i].addr, 1, 0);
    for (int i = 0; i < v->nwmem; i++) phys_write(m->pm, v->wmem[i].addr, 1, 0);
    if (alias_ss) phys_write(m->pm, 12 * 4, 4, 0);
}

/* Where the exception pushed FLAGS: SS:(SP-2) of the initial state. (The
 * X line's address is rounded down to even, which is wrong for odd SP.) */
static uint32_t exc_flags_addr(const Vector *v) {
    return (v->init[R_SS] << 4) + ((v->init[R_SP] - 2) & 0xFFFF);
}

/* Compare with the FLAGS mask `fmask`; returns true when everything matches. */
static bool compare(const Vector *v, const Outcome *o, uint32_t fmask, uint32_t ignore) {
    if (!o->ran_to_halt) return false;
    for (int r = 0; r < NREG; r++) {
        if (ignore & (1u << r)) continue;
        uint32_t want = v->final[r], got = o->regs[r];
        if (r == R_FLAGS) {
            got &= 0xFFFF;
            want &= ~fmask;
            got &= ~fmask;
        }
        if (want != got) return false;
    }
    for (int i = 0; i < v->nwmem; i++) {
        uint8_t want = v->wmem[i].val, got = o->wvals[i];
        if (v->has_exc) {
            uint32_t a = v->wmem[i].addr, fa = exc_flags_addr(v);
            if (a == fa || a == fa + 1) {
                uint8_t m8 = (uint8_t)(fmask >> (a == fa ? 0 : 8));
                want &= (uint8_t)~m8;
                got &= (uint8_t)~m8;
            }
        }
        if (want != got) return false;
    }
    return true;
}

static void print_failure(const char *file, const Vector *v, const Outcome *o, uint32_t fmask) {
    printf("FAIL %s #%ld: %s  [%s]%s\n", file, v->index, v->name, v->bytes,
           o->ran_to_halt ? "" : "  (did not reach HLT)");
    printf("  reg    init   want    got\n");
    for (int r = 0; r < NREG; r++) {
        uint32_t got = r == R_FLAGS ? o->regs[r] & 0xFFFF : o->regs[r];
        bool bad = r == R_FLAGS ? ((got ^ v->final[r]) & ~fmask) != 0 : got != v->final[r];
        printf("  %-5s  %04x   %04x   %04x%s\n", reg_names[r], v->init[r], v->final[r], got,
               bad ? "  <--" : "");
    }
    for (int i = 0; i < v->nwmem; i++) {
        if (v->wmem[i].val != o->wvals[i])
            printf("  mem %06x: want %02x got %02x\n", v->wmem[i].addr, v->wmem[i].val, o->wvals[i]);
    }
    if (v->has_exc) printf("  286 exception %d, FLAGS pushed at %06x\n", v->exc_vector, v->exc_flags_addr);
}

typedef struct Totals {
    long passed, failed, skipped;
    int file_errors;
    int verbose_left;
} Totals;

static void run_file(Machine *m, const char *path, const char *name, Totals *t) {
    Reader rd = {gzopen(path, "rb"), path, 0};
    if (!rd.gz) {
        fprintf(stderr, "ssts: cannot open %s: %s\n", path, strerror(errno));
        t->file_errors++;
        return;
    }
    static Vector v;
    static Outcome o;
    long fp = 0, ff = 0;
    int rc;
    while ((rc = read_vector(&rd, &v)) == 1) {
        uint32_t fmask = 0, ignore = 0;
        bool excluded = false, alias_ss = false, strip_lock = false;
        for (int i = 0; i < nrules; i++) {
            if (!rule_applies(&rules[i], name, &v)) continue;
            rules[i].matched++;
            if (rules[i].exclude) excluded = true;
            else if (rules[i].alias_ss) alias_ss = true;
            else if (rules[i].strip_lock) strip_lock = true;
            else {
                fmask |= rules[i].flag_mask;
                ignore |= rules[i].ignore;
            }
        }
        if (excluded) {
            t->skipped++;
            continue;
        }
        run_vector(m, &v, &o, alias_ss, strip_lock);
        if (compare(&v, &o, fmask, ignore)) {
            fp++;
            if (alias_ss) { /* did the alias matter? run again without it */
                static Outcome plain;
                run_vector(m, &v, &plain, false, strip_lock);
                if (!compare(&v, &plain, fmask, ignore))
                    for (int i = 0; i < nrules; i++)
                        if (rules[i].alias_ss && rule_applies(&rules[i], name, &v)) rules[i].rescued++;
            }
            if ((fmask || ignore) && !compare(&v, &o, 0, 0)) {
                for (int i = 0; i < nrules; i++) {
                    /* Credit each applicable flags rule whose own mask is enough. */
                    if (!rules[i].exclude && rule_applies(&rules[i], name, &v) &&
                        compare(&v, &o, rules[i].flag_mask, rules[i].ignore))
                        rules[i].rescued++;
                }
            }
        } else {
            ff++;
            if (t->verbose_left > 0) {
                t->verbose_left--;
                print_failure(name, &v, &o, fmask);
            }
        }
    }
    if (rc < 0) t->file_errors++;
    gzclose(rd.gz);
    t->passed += fp;
    t->failed += ff;
    if (ff && t->verbose_left >= 0) printf("file %s: %ld passed, %ld failed\n", name, fp, ff);
}

/* ---------------- files ---------------- */

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool filtered(char **filters, int nfilters, const char *name) {
    if (nfilters == 0) return true;
    for (int i = 0; i < nfilters; i++)
        if (strncmp(filters[i], name, strlen(filters[i])) == 0) return true;
    return false;
}

/* "F6.4.txt.gz" -> "F6.4" */
static void vector_name(const char *path, char *out, size_t n) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, n, "%s", base);
    char *dot = strstr(out, ".txt.gz");
    if (dot) *dot = 0;
}

static void run_path(Machine *m, const char *path, char **filters, int nfilters, Totals *t) {
    DIR *d = opendir(path);
    char name[64];
    if (!d) {
        if (errno != ENOTDIR) {
            fprintf(stderr, "ssts: cannot open %s: %s\n", path, strerror(errno));
            t->file_errors++;
            return;
        }
        vector_name(path, name, sizeof name);
        if (filtered(filters, nfilters, name)) run_file(m, path, name, t);
        return;
    }
    char **files = NULL;
    size_t nfiles = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 8 || strcmp(e->d_name + len - 7, ".txt.gz") != 0) continue;
        files = realloc(files, (nfiles + 1) * sizeof *files);
        files[nfiles++] = strdup(e->d_name);
    }
    closedir(d);
    if (nfiles == 0) {
        fprintf(stderr, "ssts: no *.txt.gz vector files in %s\n", path);
        t->file_errors++;
    }
    qsort(files, nfiles, sizeof *files, cmp_str);
    for (size_t i = 0; i < nfiles; i++) {
        vector_name(files[i], name, sizeof name);
        if (filtered(filters, nfilters, name)) {
            char full[4096];
            snprintf(full, sizeof full, "%s/%s", path, files[i]);
            run_file(m, full, name, t);
        }
        free(files[i]);
    }
    free(files);
}

static void usage(void) {
    fprintf(stderr, "usage: bt86-ssts [--masks FILE] [--filter PREFIX]... [--verbose N]\n"
                    "                 [--min-pass PERCENT] [--list-masks] DIR|FILE...\n");
}

int main(int argc, char **argv) {
    const char *masks = BT86_SSTS_MASKS;
    char *filters[64];
    int nfilters = 0;
    double min_pass = 99.5;
    bool list_masks = false;
    Totals t = {0, 0, 0, 0, -1};
    char *paths[64];
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_arg = i + 1 < argc;
        if (strcmp(a, "--masks") == 0 && has_arg) masks = argv[++i];
        else if (strcmp(a, "--filter") == 0 && has_arg && nfilters < 64) filters[nfilters++] = argv[++i];
        else if (strcmp(a, "--verbose") == 0 && has_arg) t.verbose_left = atoi(argv[++i]);
        else if (strcmp(a, "--min-pass") == 0 && has_arg) min_pass = atof(argv[++i]);
        else if (strcmp(a, "--list-masks") == 0) list_masks = true;
        else if (a[0] == '-') {
            usage();
            return 2;
        } else if (npaths < 64) paths[npaths++] = argv[i];
    }
    if (npaths == 0) {
        usage();
        return 2;
    }
    if (load_masks(masks) < 0) return 1;
    if (list_masks) {
        for (int i = 0; i < nrules; i++) {
            printf("%s", rules[i].exclude ? "exclude" : "flags");
            for (int j = 0; j < rules[i].nnames; j++) printf(" %s", rules[i].names[j]);
            if (!rules[i].exclude) printf(" mask=0x%04x", rules[i].flag_mask);
            printf("  (%s)\n", rules[i].reason);
        }
    }
    Machine m;
    m.pm = physmem_new(RAM_SIZE);
    m.io = iobus_new();
    m.cpu = cpu_new(m.pm, m.io);
    /* The engine under test: BT86_ACCEL, else the host's default. */
    if (dbt_attach(m.cpu, dbt_engine_from_env(getenv("BT86_ACCEL"))) < 0) {
        fprintf(stderr, "bt86-ssts: cannot start the engine (out of memory)\n");
        return 1;
    }
    for (int i = 0; i < npaths; i++) run_path(&m, paths[i], filters, nfilters, &t);
    printf("mask report (rule: tests matched, tests the mask turned from fail to pass):\n");
    for (int i = 0; i < nrules; i++) {
        printf("  masks.txt:%d %s %s%s: matched %ld, rescued %ld  -- %s\n", rules[i].line,
               rules[i].exclude      ? "exclude"
               : rules[i].alias_ss   ? "alias-ss"
               : rules[i].strip_lock ? "strip-lock"
                                     : "flags",
               rules[i].names[0],
               rules[i].nnames > 1 ? " ..." : "", rules[i].matched, rules[i].rescued, rules[i].reason);
    }
    long total = t.passed + t.failed;
    double rate = total ? 100.0 * (double)t.passed / (double)total : 0.0;
    if (t.file_errors) printf("ssts: %d file error(s)\n", t.file_errors);
    printf("pass rate %.3f%% (minimum %.1f%%)\n", rate, min_pass);
    if (t.skipped) printf("ssts: %ld passed, %ld failed, %ld skipped\n", t.passed, t.failed, t.skipped);
    else printf("ssts: %ld passed, %ld failed\n", t.passed, t.failed);
    cpu_free(m.cpu);
    iobus_free(m.io);
    physmem_free(m.pm);
    return (t.file_errors || total == 0 || rate < min_pass) ? 1 : 0;
}
