/*
 * golden.c - bt86-golden: listings of the host code the x86-64 jit
 * generates for a handful of representative guest loops, compared with
 * the checked-in listings in tests/golden/expect by check.sh (see
 * tests/golden/README.md). A change in generated code shows in review as
 * a diff of a text file.
 *
 * Usage: bt86-golden [--offsets] OUTDIR
 *   writes OUTDIR/<program>.txt for every program below and
 *   OUTDIR/runtime.txt (the code all blocks share); --offsets prefixes
 *   every host instruction with its offset from the block's start (for
 *   reading; the checked-in listings have none, so that one new
 *   instruction changes one line of the diff, not all that follow).
 *   Exits 77 on hosts without the jit.
 *
 * Each program runs on a fresh test machine (flat protected mode, CPL 0)
 * under the jit until its final HLT; its loop runs often enough to be
 * compiled (the jit compiles blocks after DBT_JIT_HOT runs) and chained.
 * Every block the jit compiled is listed, in the order it was compiled:
 * the guest instructions (capstone, 32-bit), then the host code (capstone,
 * x86-64) as it is at the end of the run, with its chaining sites patched.
 *
 * Listings must not change between builds (gcc, clang, ASan) and runs, so
 * nothing that holds a host address is printed as a number: 64-bit
 * immediates and call/jump targets are named (<fn cpu_cond>, <this tb>,
 * <insn 2: add>, <stats.jit_lookups>, <jc> for the address cache, <ram>
 * for TLB addends, <rt_call_fn> for the runtime's routines,
 * <block 00021800> for another block's code), branches inside the block go
 * to labels (entry, .L1, .L2, ... in address order), and accesses to the
 * CPU structure (host RBX) get the field's name as a comment.
 *
 * Where each block's host code starts and ends: the jit's perf map (the
 * BT86_PERF_MAP feature of jit_x86_64.c: one line "address size name" per
 * block and one for the runtime), which this program turns on; the TB
 * itself comes from dbt_compiled_tb (dbt.h), whose fields (dbt/tb.h) name
 * the immediates.
 */
#include <capstone/capstone.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbt/dbt.h"
#include "dbt/tb.h"
#include "testmachine.h"

/* ---------------- the programs ---------------- */

#define DATA       0x30000u /* ESI at the start: data the programs read and write */
#define LOOPS      100u     /* ECX at the start: loop iterations */
#define FS_BASE    0x1000u  /* seg-fs: FS base */
#define SEL_FS     0x40u    /* seg-fs: GDT entry 8 */
#define MAX_CHUNKS 2

typedef struct Chunk {
    uint32_t addr;
    const uint8_t *bytes;
    size_t len;
} Chunk;

typedef struct Program {
    const char *name; /* the listing: expect/<name>.txt */
    const char *what; /* its first line */
    uint32_t entry;   /* first instruction */
    uint32_t halt;    /* the final HLT: the run must stop there */
    Chunk chunk[MAX_CHUNKS];
    void (*setup)(TestMachine *tm); /* beyond the common state, or NULL */
} Program;

/* The guest code (at TM_CODE unless said otherwise), each loop ending
 * in DEC ECX / JNZ and a HLT. */
static const uint8_t prog_alu32_reg[] = {
    0x01, 0xD8,    /* L: add eax, ebx */
    0x29, 0xC2,    /*    sub edx, eax */
    0x31, 0xD6,    /*    xor esi, edx */
    0x21, 0xF7,    /*    and edi, esi */
    0x83, 0xC8, 7, /*    or eax, 7 */
    0x49,          /*    dec ecx */
    0x75, 0xF2,    /*    jnz L */
    0xF4,          /*    hlt */
};
static const uint8_t prog_alu32_mem[] = {
    0x03, 0x06,       /* L: add eax, [esi] */
    0x89, 0x46, 0x04, /*    mov [esi+4], eax */
    0x29, 0x5E, 0x08, /*    sub [esi+8], ebx */
    0x49,             /*    dec ecx */
    0x75, 0xF5,       /*    jnz L */
    0xF4,             /*    hlt */
};
static const uint8_t prog_cmp_jcc[] = {
    0x01, 0xC3,        /* L: add ebx, eax */
    0x40,              /*    inc eax */
    0x83, 0xF8, LOOPS, /*    cmp eax, 100 */
    0x72, 0xF8,        /*    jb L */
    0xF4,              /*    hlt */
};
static const uint8_t prog_alu8_16[] = {
    0x00, 0xD8,       /* L: add al, bl */
    0x28, 0xCC,       /*    sub ah, cl */
    0x66, 0x01, 0xF2, /*    add dx, si */
    0x66, 0x31, 0x06, /*    xor [esi], ax */
    0x88, 0x56, 0x01, /*    mov [esi+1], dl */
    0x49,             /*    dec ecx */
    0x75, 0xF0,       /*    jnz L */
    0xF4,             /*    hlt */
};
static const uint8_t prog_stack_call_ret[] = {
    0x50,                         /* L: push eax */
    0x53,                         /*    push ebx */
    0xE8, 0x06, 0x00, 0x00, 0x00, /*    call F */
    0x5B,                         /*    pop ebx */
    0x58,                         /*    pop eax */
    0x49,                         /*    dec ecx */
    0x75, 0xF4,                   /*    jnz L */
    0xF4,                         /*    hlt */
    0x8B, 0x44, 0x24, 0x04,       /* F: mov eax, [esp+4] */
    0xC3,                         /*    ret */
};
static const uint8_t prog_seg_fs[] = {
    0x64, 0x8B, 0x06,       /* L: mov eax, fs:[esi] */
    0x01, 0xD8,             /*    add eax, ebx */
    0x64, 0x89, 0x46, 0x04, /*    mov fs:[esi+4], eax */
    0x49,                   /*    dec ecx */
    0x75, 0xF4,             /*    jnz L */
    0xF4,                   /*    hlt */
};
static const uint8_t prog_seg_load[] = {
    0x8E, 0xC2,       /* L: mov es, dx     (dx: the flat data selector) */
    0x26, 0x8B, 0x06, /*    mov eax, es:[esi] */
    0x49,             /*    dec ecx */
    0x75, 0xF8,       /*    jnz L */
    0xF4,             /*    hlt */
};
static const uint8_t prog_x87_fld_fstp[] = {
    0xDB, 0xE3,       /*    fninit */
    0xDD, 0x06,       /* L: fld qword [esi]     ([esi]: 1.5) */
    0xDD, 0x5E, 0x08, /*    fstp qword [esi+8] */
    0x49,             /*    dec ecx */
    0x75, 0xF8,       /*    jnz L */
    0xF4,             /*    hlt */
};
static const uint8_t prog_sensitive[] = {
    0xFA,       /* L: cli */
    0x9C,       /*    pushfd */
    0x9D,       /*    popfd */
    0x40,       /*    inc eax */
    0xE6, 0x80, /*    out 0x80, al */
    0x49,       /*    dec ecx */
    0x75, 0xF7, /*    jnz L */
    0xF4,       /*    hlt */
};
static const uint8_t prog_inc_adc[] = {
    0x01, 0xD8,       /* L: add eax, ebx */
    0x83, 0xD2, 0x00, /*    adc edx, 0 */
    0x46,             /*    inc esi */
    0x11, 0xF7,       /*    adc edi, esi */
    0x4B,             /*    dec ebx */
    0x83, 0xD8, 0x01, /*    sbb eax, 1 */
    0x49,             /*    dec ecx */
    0x75, 0xF1,       /*    jnz L */
    0xF4,             /*    hlt */
};
static const uint8_t prog_chain[] = {
    0x83, 0xC0, 0x03, /* L: add eax, 3 */
    0xEB, 0x01,       /*    jmp M       (a jump to the next instruction is never linked) */
    0xF4,             /*    hlt         (never runs) */
    0x49,             /* M: dec ecx */
    0x75, 0xF7,       /*    jnz L */
    0xF4,             /*    hlt */
};
static const uint8_t prog_cross_page_l[] = {
    /* at TM_CODE + 0xF00 */
    0x83, 0xC0, 0x01,             /* L: add eax, 1 */
    0xE9, 0xF8, 0x08, 0x00, 0x00, /*    jmp M */
};
static const uint8_t prog_cross_page_m[] = {
    /* at TM_CODE + 0x1800, the next page */
    0x49,                               /* M: dec ecx */
    0x0F, 0x85, 0xF9, 0xF6, 0xFF, 0xFF, /*    jnz L */
    0xF4,                               /*    hlt */
};

static const uint8_t prog_sse[] = {
    0x0F, 0x28, 0x06,             /* L: movaps xmm0, [esi] */
    0x0F, 0x28, 0x4E, 0x10,       /*    movaps xmm1, [esi+16] */
    0x0F, 0x58, 0xC1,             /*    addps xmm0, xmm1 */
    0x0F, 0x59, 0xC1,             /*    mulps xmm0, xmm1 */
    0x66, 0x0F, 0xFE, 0xD0,       /*    paddd xmm2, xmm0 */
    0xF2, 0x0F, 0x58, 0x5E, 0x08, /*    addsd xmm3, [esi+8] */
    0x0F, 0x29, 0x46, 0x20,       /*    movaps [esi+32], xmm0 */
    0x49,                         /*    dec ecx */
    0x75, 0xE3,                   /*    jnz L */
    0xF4,                         /*    hlt */
};

static void setup_fs(TestMachine *tm);
static void setup_sse(TestMachine *tm);

#define AT(addr, code)                                                                             \
    { (addr), (code), sizeof(code) }
#define C TM_CODE
static const Program programs[] = {
    {.name = "alu32-reg",
     .what = "32-bit ALU, register and immediate operands, on the host registers",
     .entry = C,
     .halt = C + 14,
     .chunk = {AT(C, prog_alu32_reg)}},
    {.name = "alu32-mem",
     .what = "32-bit ALU and MOV with memory operands: the inline TLB and its slow paths",
     .entry = C,
     .halt = C + 11,
     .chunk = {AT(C, prog_alu32_mem)}},
    {.name = "cmp-jcc",
     .what = "a Jcc right after CMP: branches on the host's flags",
     .entry = C,
     .halt = C + 8,
     .chunk = {AT(C, prog_cmp_jcc)}},
    {.name = "alu8-16",
     .what = "8- and 16-bit ALU operations and MOV (high byte registers, memory)",
     .entry = C,
     .halt = C + 16,
     .chunk = {AT(C, prog_alu8_16)}},
    {.name = "stack-call-ret",
     .what = "PUSH, POP, CALL and RET: the stack through the inline TLB, the inline lookup",
     .entry = C,
     .halt = C + 12,
     .chunk = {AT(C, prog_stack_call_ret)}},
    {.name = "seg-fs",
     .what = "loads and stores through FS (a 4 GiB data segment with a base)",
     .entry = C,
     .halt = C + 12,
     .chunk = {AT(C, prog_seg_fs)},
     .setup = setup_fs},
    {.name = "seg-load",
     .what = "a data segment load inside a block (the mode check), then an ES access",
     .entry = C,
     .halt = C + 8,
     .chunk = {AT(C, prog_seg_load)}},
    {.name = "x87-fld-fstp",
     .what = "x87 FLD and FSTP m64fp: the operand found inline, fpu_mem_fast",
     .entry = C,
     .halt = C + 10,
     .chunk = {AT(C, prog_x87_fld_fstp)}},
    {.name = "sensitive",
     .what = "CLI and PUSHFD inline at CPL 0, POPF and OUT through their handlers",
     .entry = C,
     .halt = C + 9,
     .chunk = {AT(C, prog_sensitive)}},
    {.name = "inc-adc",
     .what = "INC/DEC and ADC/SBB: the carry from the block's last ALU operation",
     .entry = C,
     .halt = C + 15,
     .chunk = {AT(C, prog_inc_adc)}},
    {.name = "chain",
     .what = "a loop of two blocks on one page, chained to each other",
     .entry = C,
     .halt = C + 9,
     .chunk = {AT(C, prog_chain)}},
    {.name = "cross-page",
     .what = "a loop of two blocks on two pages: chaining behind a TLB check",
     .entry = C + 0xF00,
     .halt = C + 0x1807,
     .chunk = {AT(C + 0xF00, prog_cross_page_l), AT(C + 0x1800, prog_cross_page_m)}},
    {.name = "sse",
     .what = "SSE and SSE2 on XMM registers as host SSE code: a run with the guest's MXCSR",
     .entry = C,
     .halt = C + 29,
     .chunk = {AT(C, prog_sse)},
     .setup = setup_sse},
};
#undef C
#undef AT
#define NPROGRAMS (sizeof programs / sizeof programs[0])

/* FS: base FS_BASE, 4 GiB, writable (TBF_FS: the jit adds the base inline). */
static void setup_fs(TestMachine *tm) {
    CPU *cpu = tm->cpu;
    tm_set_desc(tm, SEL_FS >> 3, FS_BASE, 0xFFFFF, 0x93, 0xC0);
    cpu->gdtr.limit = (uint16_t)(SEL_FS + 7);
    cpu->seg[SEG_FS] = cpu->seg[SEG_DS];
    cpu->seg[SEG_FS].sel = SEL_FS;
    cpu->seg[SEG_FS].base = FS_BASE;
}

/* SSE: a model with it (a bare CPU is a Pentium II), CR4.OSFXSR set. */
static void setup_sse(TestMachine *tm) {
    cpu_set_model(tm->cpu, cpu_model_find("max"));
    tm->cpu->cr4 |= CR4_OSFXSR;
}

/* A fresh machine running p under the jit until its HLT; NULL (and a
 * message) if it stopped anywhere else. */
static TestMachine *run_program(const Program *p) {
    TestMachine *tm = tm_new(16 << 20);
    CPU *cpu = tm->cpu;
    if (dbt_attach(cpu, ENGINE_JIT) < 0 || dbt_engine(cpu) != ENGINE_JIT) {
        fprintf(stderr, "bt86-golden: %s: no translator\n", p->name);
        tm_free(tm);
        return NULL;
    }
    tm_pmode_flat(tm, 0, p->entry, TM_STACK0);
    for (int i = 0; i < MAX_CHUNKS && p->chunk[i].bytes; i++)
        tm_poke(tm, p->chunk[i].addr, p->chunk[i].bytes, p->chunk[i].len);
    static const uint32_t regs[8] = {1, LOOPS, TM_SEL_DS0, 0x11, TM_STACK0, 0, DATA, 0x1234};
    memcpy(cpu->regs, regs, sizeof regs);
    tm_poke32(tm, DATA, 0x00000000);      /* 1.5 as a double: low half */
    tm_poke32(tm, DATA + 4, 0x3FF80000u); /* high half */
    if (p->setup) p->setup(tm);
    tm_run(tm, 100000);
    if (!cpu->halted || cpu->eip != p->halt + 1) {
        fprintf(stderr, "bt86-golden: %s: stopped at %08x (halted %d), not after the HLT at %08x\n",
                p->name, cpu->eip, cpu->halted, p->halt);
        tm_free(tm);
        return NULL;
    }
    return tm;
}

/* ---------------- where the host code is: the perf map ---------------- */

#define MAX_BLOCKS 16

typedef struct HostCode {
    uintptr_t addr;
    size_t len;
    uint32_t lin; /* the block's guest linear address (blocks only) */
} HostCode;

typedef struct PerfMap {
    HostCode runtime;
    HostCode block[MAX_BLOCKS]; /* in the order they were compiled */
    int nblocks;
} PerfMap;

/* The file jit_x86_64.c writes when BT86_PERF_MAP is set (perf's
 * convention for code generated at run time). */
static void perf_map_path(char *path, size_t size) {
    snprintf(path, size, "/tmp/perf-%d.map", (int)getpid());
}

static bool read_perf_map(PerfMap *m) {
    char path[64], line[256];
    perf_map_path(path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bt86-golden: cannot read the jit's perf map %s\n", path);
        return false;
    }
    memset(m, 0, sizeof *m);
    while (fgets(line, sizeof line, f)) {
        unsigned long addr;
        size_t len;
        unsigned lin, size;
        char name[64];
        if (sscanf(line, "%lx %zx guest:%x+%u", &addr, &len, &lin, &size) == 4) {
            if (m->nblocks == MAX_BLOCKS) {
                fprintf(stderr, "bt86-golden: more than %d compiled blocks\n", MAX_BLOCKS);
                fclose(f);
                return false;
            }
            m->block[m->nblocks++] = (HostCode){addr, len, lin};
        } else if (sscanf(line, "%lx %zx %63s", &addr, &len, name) == 3 &&
                   strcmp(name, "bt86-jit-runtime") == 0) {
            m->runtime = (HostCode){addr, len, 0};
        }
    }
    fclose(f);
    if (!m->runtime.addr) fprintf(stderr, "bt86-golden: no runtime in the perf map %s\n", path);
    return m->runtime.addr != 0;
}

/* ---------------- naming what holds a host address ---------------- */

/* The runtime's routines, in the order emit_runtime (jit_x86_64.c)
 * generates them. */
static const char *const rt_names[] = {"rt_enter", "rt_leave", "rt_leave_next", "rt_call_fn",
                                       "rt_call_exec"};
#define NRT (sizeof rt_names / sizeof rt_names[0])

/* Core functions generated code calls (call_abs, call_pure). */
static const struct {
    const char *name;
    uintptr_t addr;
} core_fns[] = {
#define FN(f)                                                                                      \
    { #f, (uintptr_t)f }
    FN(cpu_cond),     FN(cpu_cf),           FN(cpu_get_eflags), FN(flags_set_arith),
    FN(fpu_mem_fast), FN(dbt_tb_flags_now), FN(dbt_jit_next),   FN(exec_insn),
#undef FN
};

typedef struct Names {
    const CPU *cpu;
    const PerfMap *map;
    uintptr_t rt_entry[NRT];
    const TB *tb;      /* the block being listed (NULL: the runtime) */
    const HostCode *c; /* its code */
} Names;

static bool in_code(const HostCode *c, uint64_t a) {
    return a >= c->addr && a < c->addr + c->len;
}

/* Names of what generated code points at, each false if v is not theirs. */

/* A core function, the listed block's TB or one of its decoded instructions. */
static bool name_code_object(const Names *n, uint64_t v, char *out, size_t size) {
    for (size_t i = 0; i < sizeof core_fns / sizeof core_fns[0]; i++)
        if (v == core_fns[i].addr) return snprintf(out, size, "<fn %s>", core_fns[i].name), true;
    const TB *tb = n->tb;
    if (!tb) return false;
    if (v == (uintptr_t)tb) return snprintf(out, size, "<this tb>"), true;
    uintptr_t insns = (uintptr_t)tb->insns;
    if (v < insns || v >= insns + tb->n * sizeof(Insn) || (v - insns) % sizeof(Insn)) return false;
    unsigned i = (unsigned)((v - insns) / sizeof(Insn));
    snprintf(out, size, "<insn %u: %s>", i, tb->insns[i].name);
    return true;
}

/* The address cache (jc in dbt.c, private): the table whose entry for the
 * listed block holds it. Dbt (the run hooks' opaque pointer) keeps it
 * before its statistics, so every entry looked at is inside the Dbt. */
static bool is_address_cache(const Names *n, uint64_t v) {
    uintptr_t dbt = (uintptr_t)n->cpu->run_hooks.opaque, stats = (uintptr_t)dbt_stats(n->cpu);
    const TB *tb = n->tb;
    if (!tb || v < dbt || v >= stats) return false;
    uint64_t entry = v + (uint64_t)jc_index(tb->cs_base + tb->eip, tb->flags) * sizeof(JcEntry);
    return entry + sizeof(JcEntry) <= stats && ((const JcEntry *)(uintptr_t)entry)->tb == tb;
}

/* The translator's statistics and private tables. */
static bool name_dbt_object(const Names *n, uint64_t v, char *out, size_t size) {
    const DbtStats *st = dbt_stats(n->cpu);
    uintptr_t stats = (uintptr_t)st, dbt = (uintptr_t)n->cpu->run_hooks.opaque;
    if (v == (uintptr_t)&st->jit_lookups) return snprintf(out, size, "<stats.jit_lookups>"), true;
    if (v == (uintptr_t)st->core_calls) return snprintf(out, size, "<stats.core_calls>"), true;
    if (v >= stats && v < stats + sizeof *st)
        return snprintf(out, size, "<stats+0x%llx>", (unsigned long long)(v - stats)), true;
    if (is_address_cache(n, v)) return snprintf(out, size, "<jc>"), true;
    if (v >= dbt && v < stats)
        return snprintf(out, size, "<dbt+0x%llx>", (unsigned long long)(v - dbt)), true;
    return false;
}

/* A TLB addend (host address = linear + addend, into RAM). */
static bool name_ram_addend(const Names *n, uint64_t v, char *out, size_t size) {
    const PhysMem *pm = n->cpu->mmu.pm;
    int64_t d = (int64_t)(v - (uintptr_t)pm->ram);
    if (d <= -(int64_t)0x100000000 || d >= (int64_t)pm->ram_end) return false;
    if (d == 0) return snprintf(out, size, "<ram>"), true;
    snprintf(out, size, "<ram%s0x%llx>", d < 0 ? "-" : "+", (unsigned long long)(d < 0 ? -d : d));
    return true;
}

/* A 64-bit immediate (movabs): a name, or the number when it is small
 * enough not to be an address. */
static void name_imm64(const Names *n, uint64_t v, char *out, size_t size) {
    if (v < 0x10000)
        snprintf(out, size, "0x%llx", (unsigned long long)v);
    else if (!name_code_object(n, v, out, size) && !name_dbt_object(n, v, out, size) &&
             !name_ram_addend(n, v, out, size))
        snprintf(out, size, "<unknown address>");
}

/* ---------------- the CPU structure's fields (RBX-relative) ---------------- */

static const char *const reg_names[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
static const char *const seg_names[SEG_COUNT] = {"es", "cs", "ss", "ds", "fs", "gs"};

typedef struct Field {
    const char *name;
    size_t off, size;
} Field;

#define CPU_FIELD(name, f)                                                                         \
    { name, offsetof(CPU, f), sizeof(((CPU *)0)->f) }
static const Field cpu_fields[] = {
    CPU_FIELD("eip", eip),
    CPU_FIELD("eflags", eflags),
    CPU_FIELD("lf.op", lf.op),
    CPU_FIELD("lf.size", lf.size),
    CPU_FIELD("lf.res", lf.res),
    CPU_FIELD("lf.a", lf.a),
    CPU_FIELD("lf.b", lf.b),
    CPU_FIELD("next_eip", next_eip),
    CPU_FIELD("exit_request", exit_request),
    CPU_FIELD("run_left", run_left),
    CPU_FIELD("icount", icount),
    CPU_FIELD("block_break", block_break),
    CPU_FIELD("cr0", cr0),
    CPU_FIELD("cr4", cr4),
    CPU_FIELD("feat.edx1", feat.edx1),
    CPU_FIELD("xmm0", xmm[0]),
    CPU_FIELD("xmm1", xmm[1]),
    CPU_FIELD("xmm2", xmm[2]),
    CPU_FIELD("xmm3", xmm[3]),
    CPU_FIELD("xmm4", xmm[4]),
    CPU_FIELD("xmm5", xmm[5]),
    CPU_FIELD("xmm6", xmm[6]),
    CPU_FIELD("xmm7", xmm[7]),
    CPU_FIELD("mxcsr", mxcsr),
    CPU_FIELD("fpu", fpu),
    CPU_FIELD("cpl", cpl),
};
#undef CPU_FIELD

/* The name of the CPU field at byte offset off (with +N inside it), or
 * false; indexed: the operand adds an index register (a TLB entry chosen
 * at run time); lea: the operand is an address, not a field read. */
static bool name_cpu_offset(int64_t off, bool indexed, bool lea, char *out, size_t size) {
    if (off < 0) return false;
    size_t o = (size_t)off;
    if (o < sizeof(((CPU *)0)->regs)) {
        snprintf(out, size, "%s%s", reg_names[o / 4], o % 4 ? "+?" : "");
        return true;
    }
    for (size_t i = 0; i < sizeof cpu_fields / sizeof cpu_fields[0]; i++) {
        const Field *f = &cpu_fields[i];
        if (o < f->off || o >= f->off + f->size) continue;
        if (o == f->off)
            snprintf(out, size, "%s", f->name);
        else
            snprintf(out, size, "%s+0x%zx", f->name, o - f->off);
        return true;
    }
    size_t seg = offsetof(CPU, seg);
    if (o >= seg && o < seg + sizeof(SegReg) * SEG_COUNT) {
        size_t s = (o - seg) / sizeof(SegReg), in = (o - seg) % sizeof(SegReg);
        const char *part = in == offsetof(SegReg, sel)     ? "sel"
                           : in == offsetof(SegReg, base)  ? "base"
                           : in == offsetof(SegReg, limit) ? "limit"
                           : in == offsetof(SegReg, flags) ? "flags"
                                                           : "?";
        snprintf(out, size, "%s.%s", seg_names[s], part);
        return true;
    }
    size_t tlb = offsetof(CPU, mmu) + offsetof(Mmu, tlb);
    if (o >= tlb && o < tlb + sizeof(((Mmu *)0)->tlb)) {
        size_t e = (o - tlb) / sizeof(TlbEntry), in = (o - tlb) % sizeof(TlbEntry);
        const char *part = in == offsetof(TlbEntry, tag_read)    ? ".tag_read"
                           : in == offsetof(TlbEntry, tag_write) ? ".tag_write"
                           : in == offsetof(TlbEntry, addend)    ? ".addend"
                                                                 : ".?";
        if (lea && in == 0) part = ""; /* the entry's address */
        if (indexed && e % TLB_SIZE == 0)
            snprintf(out, size, "mmu.tlb[%zu][i]%s", e / TLB_SIZE, part);
        else
            snprintf(out, size, "mmu.tlb[%zu][0x%zx]%s", e / TLB_SIZE, e % TLB_SIZE, part);
        return true;
    }
    size_t exec = offsetof(CPU, mmu) + offsetof(Mmu, tag_exec);
    if (o >= exec && o < exec + sizeof(((Mmu *)0)->tag_exec)) {
        size_t e = (o - exec) / sizeof(uint32_t);
        if (indexed && e % TLB_SIZE == 0)
            snprintf(out, size, "mmu.tag_exec[%zu][i]", e / TLB_SIZE);
        else
            snprintf(out, size, "mmu.tag_exec[%zu][0x%zx]", e / TLB_SIZE, e % TLB_SIZE);
        return true;
    }
    return false;
}

/* ---------------- disassembly ---------------- */

#define MAX_LABELS 256

typedef struct Listing {
    FILE *out;
    bool offsets;
    csh cs;
} Listing;

/* Branch targets inside the code being listed, in address order, with
 * their names: "entry" (a block's start), the runtime's routines, else
 * .L1, .L2, ... */
typedef struct Labels {
    uint64_t at[MAX_LABELS];
    char name[MAX_LABELS][24];
    int n;
} Labels;

static bool is_branch(const cs_insn *in) {
    const cs_detail *d = in->detail;
    for (int i = 0; i < d->groups_count; i++)
        if (d->groups[i] == CS_GRP_JUMP || d->groups[i] == CS_GRP_CALL) return true;
    return false;
}

/* The direct target of a branch, if it has one. */
static bool branch_target(const cs_insn *in, uint64_t *target) {
    if (!is_branch(in)) return false;
    const cs_x86 *x = &in->detail->x86;
    if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM) return false;
    *target = (uint64_t)x->operands[0].imm;
    return true;
}

static void add_label(Labels *l, uint64_t a) {
    int i = 0;
    while (i < l->n && l->at[i] < a)
        i++;
    if ((i < l->n && l->at[i] == a) || l->n == MAX_LABELS) return;
    memmove(&l->at[i + 1], &l->at[i], (size_t)(l->n - i) * sizeof l->at[0]);
    l->at[i] = a;
    l->n++;
}

static const char *label_of(const Labels *l, uint64_t a) {
    for (int i = 0; i < l->n; i++)
        if (l->at[i] == a) return l->name[i];
    return NULL;
}

static void name_labels(const Names *n, Labels *l) {
    int next = 1;
    for (int i = 0; i < l->n; i++) {
        const char *special = NULL;
        if (n->tb && l->at[i] == n->c->addr) special = "entry";
        for (size_t r = 0; !n->tb && r < NRT; r++)
            if (l->at[i] == n->rt_entry[r]) special = rt_names[r];
        if (special)
            snprintf(l->name[i], sizeof l->name[i], "%s", special);
        else
            snprintf(l->name[i], sizeof l->name[i], ".L%d", next++);
    }
}

/* Where a branch leaving the code goes. */
static void name_target(const Names *n, uint64_t t, char *out, size_t size) {
    const HostCode *rt = &n->map->runtime;
    for (size_t i = 0; i < NRT; i++)
        if (t == n->rt_entry[i]) {
            snprintf(out, size, "<%s>", rt_names[i]);
            return;
        }
    if (in_code(rt, t)) {
        snprintf(out, size, "<runtime+0x%llx>", (unsigned long long)(t - rt->addr));
        return;
    }
    for (int i = 0; i < n->map->nblocks; i++) {
        const HostCode *b = &n->map->block[i];
        if (t == b->addr) {
            snprintf(out, size, "<block %08x>", b->lin);
            return;
        }
    }
    snprintf(out, size, "<unknown address>");
}

/* The operands of one instruction, with host addresses named. */
static void operands(const Listing *ls, const Names *n, const Labels *l, const cs_insn *in,
                     char *out, size_t size) {
    const cs_x86 *x = &in->detail->x86;
    uint64_t t;
    char name[96];
    if (branch_target(in, &t)) {
        if (in_code(n->c, t))
            snprintf(out, size, "%s", label_of(l, t));
        else
            name_target(n, t, out, size);
        return;
    }
    if (in->id == X86_INS_MOVABS && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
        x->operands[1].type == X86_OP_IMM) {
        name_imm64(n, (uint64_t)x->operands[1].imm, name, sizeof name);
        snprintf(out, size, "%s, %s", cs_reg_name(ls->cs, x->operands[0].reg), name);
        return;
    }
    snprintf(out, size, "%s", in->op_str);
}

/* "; field" for an operand [rbx + disp] (RBX holds the CPU in generated code). */
static void cpu_comment(const cs_insn *in, char *out, size_t size) {
    const cs_x86 *x = &in->detail->x86;
    out[0] = 0;
    for (int i = 0; i < x->op_count; i++) {
        const cs_x86_op *op = &x->operands[i];
        char field[64];
        if (op->type == X86_OP_MEM && op->mem.base == X86_REG_RBX &&
            name_cpu_offset(op->mem.disp, op->mem.index != X86_REG_INVALID, in->id == X86_INS_LEA,
                            field, sizeof field)) {
            snprintf(out, size, "  ; %s", field);
            return;
        }
    }
}

/* Pass 1 of a listing: the labels of n->c. */
static void find_labels(const Listing *ls, const Names *n, cs_insn *in, Labels *l) {
    const HostCode *c = n->c;
    const uint8_t *p = (const uint8_t *)c->addr;
    size_t left = c->len;
    uint64_t a = c->addr;
    l->n = 0;
    if (n->tb)
        add_label(l, c->addr);
    else
        for (size_t r = 0; r < NRT; r++)
            add_label(l, n->rt_entry[r]);
    while (left && cs_disasm_iter(ls->cs, &p, &left, &a, in)) {
        uint64_t t;
        if (branch_target(in, &t) && in_code(c, t)) add_label(l, t);
    }
    name_labels(n, l);
}

/* Disassemble n->c (a block, or the runtime when n->tb is NULL). */
static void list_code(const Listing *ls, const Names *n) {
    const HostCode *c = n->c;
    cs_insn *in = cs_malloc(ls->cs);
    static Labels labels;
    find_labels(ls, n, in, &labels);
    const uint8_t *p = (const uint8_t *)c->addr;
    size_t left = c->len;
    uint64_t a = c->addr;
    while (left) {
        uint64_t at = a;
        char ops[160], comment[96];
        const char *label = label_of(&labels, at);
        if (label) fprintf(ls->out, "%s%s:\n", n->tb ? "" : "\n", label);
        if (!cs_disasm_iter(ls->cs, &p, &left, &a, in)) {
            fprintf(ls->out, "    .byte 0x%02x  ; not an instruction\n", *p);
            p++, left--, a++;
            continue;
        }
        if (ls->offsets) fprintf(ls->out, "%04llx", (unsigned long long)(at - c->addr));
        operands(ls, n, &labels, in, ops, sizeof ops);
        cpu_comment(in, comment, sizeof comment);
        if (ops[0])
            fprintf(ls->out, "    %-8s %s%s\n", in->mnemonic, ops, comment);
        else
            fprintf(ls->out, "    %s%s\n", in->mnemonic, comment);
    }
    cs_free(in, 1);
}

/* The runtime's routines: its start, and every instruction after a jump
 * or return that no jump inside the runtime leads to (a routine's own
 * out-of-line parts are reached by jumps). */
static bool find_runtime_entries(const Listing *ls, Names *n) {
    const HostCode *rt = &n->map->runtime;
    cs_insn *in = cs_malloc(ls->cs);
    static Labels targets, after;
    targets.n = after.n = 0;
    const uint8_t *p = (const uint8_t *)rt->addr;
    size_t left = rt->len;
    uint64_t a = rt->addr;
    while (left && cs_disasm_iter(ls->cs, &p, &left, &a, in)) {
        uint64_t t;
        if (branch_target(in, &t) && in_code(rt, t)) add_label(&targets, t);
        bool ends = in->id == X86_INS_RET || in->id == X86_INS_JMP;
        if (ends && in_code(rt, a)) add_label(&after, a);
    }
    cs_free(in, 1);
    size_t k = 0;
    n->rt_entry[k++] = rt->addr;
    for (int i = 0; i < after.n && k <= NRT; i++) {
        bool target = false;
        for (int j = 0; j < targets.n; j++)
            target |= targets.at[j] == after.at[i];
        if (target) continue;
        if (k < NRT) n->rt_entry[k] = after.at[i];
        k++;
    }
    if (k != NRT) {
        fprintf(stderr,
                "bt86-golden: the runtime has %s routines than rt_names[] (%zu) in "
                "tests/golden/golden.c names: bring the table up to date with emit_runtime\n",
                k < NRT ? "fewer" : "more", NRT);
        return false;
    }
    return true;
}

static void list_runtime(const Listing *ls, const Names *n) {
    fprintf(ls->out,
            "# runtime: the code at the start of the jit's buffer that all blocks share\n");
    fprintf(ls->out, "# (emit_runtime in jit_x86_64.c); %zu bytes\n", n->map->runtime.len);
    fprintf(ls->out, "# (generated by bt86-golden, tests/golden/README.md: do not edit)\n");
    Names rn = *n;
    rn.tb = NULL;
    rn.c = &n->map->runtime;
    list_code(ls, &rn);
}

/* The guest instructions of tb (capstone, 32- or 16-bit). */
static void list_guest(const Listing *ls, const TB *tb) {
    csh g;
    cs_mode mode = (tb->flags & TBF_CODE32) ? CS_MODE_32 : CS_MODE_16;
    if (cs_open(CS_ARCH_X86, mode, &g) != CS_ERR_OK) return;
    cs_insn *ins;
    size_t count = cs_disasm(g, (const uint8_t *)tb->host_pc, tb->size, tb->eip, 0, &ins);
    for (size_t i = 0; i < count; i++) {
        char bytes[3 * 16 + 1] = "";
        for (size_t b = 0; b < ins[i].size; b++)
            snprintf(bytes + 3 * b, 4, "%02x ", ins[i].bytes[b]);
        fprintf(ls->out, "#   %08llx  %-21s %s%s%s\n", (unsigned long long)ins[i].address, bytes,
                ins[i].mnemonic, ins[i].op_str[0] ? " " : "", ins[i].op_str);
    }
    if (count) cs_free(ins, count);
    cs_close(&g);
}

/* The links the dispatcher made from tb's exits. */
static void list_links(const Listing *ls, const TB *tb) {
    for (int k = 0; k < 2; k++) {
        if (!tb->jmp_site[k]) continue;
        if (tb->jmp_dest[k])
            fprintf(ls->out, "# exit %d (%s): chained to block %08x\n", k,
                    k ? "branch" : "fall through", tb->jmp_dest[k]->cs_base + tb->jmp_dest[k]->eip);
        else
            fprintf(ls->out, "# exit %d (%s): not chained\n", k, k ? "branch" : "fall through");
    }
}

static bool list_block(const Listing *ls, Names *n, const HostCode *c) {
    const TB *tb = dbt_compiled_tb(n->cpu, 0, c->lin);
    if (!tb || (uintptr_t)tb->jit != c->addr) {
        fprintf(stderr, "bt86-golden: no compiled block at %08x with the perf map's code\n",
                c->lin);
        return false;
    }
    n->tb = tb;
    n->c = c;
    fprintf(ls->out, "\n# block %08x: %u instructions, %u bytes%s; host code %zu bytes\n", c->lin,
            tb->n, tb->size, tb->ends_sensitive ? ", ends sensitive" : "", c->len);
    list_guest(ls, tb);
    list_links(ls, tb);
    list_code(ls, n);
    return true;
}

/* ---------------- main ---------------- */

static FILE *open_listing(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.txt", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) perror(path);
    return f;
}

/* Run p and write its listing (and, for the first program, the runtime's). */
static bool golden_program(Listing *ls, const Program *p, const char *dir, bool runtime) {
    TestMachine *tm = run_program(p);
    if (!tm) return false;
    PerfMap map;
    Names n = {.cpu = tm->cpu, .map = &map};
    bool ok = read_perf_map(&map) && find_runtime_entries(ls, &n);
    if (ok && map.nblocks == 0) {
        fprintf(stderr, "bt86-golden: %s: the jit compiled no block\n", p->name);
        ok = false;
    }
    if (ok && runtime) {
        ls->out = open_listing(dir, "runtime");
        ok = ls->out != NULL;
        if (ok) list_runtime(ls, &n), fclose(ls->out);
    }
    if (ok) {
        ls->out = open_listing(dir, p->name);
        ok = ls->out != NULL;
    }
    if (ok) {
        fprintf(ls->out, "# %s: %s\n", p->name, p->what);
        fprintf(ls->out, "# (generated by bt86-golden, tests/golden/README.md: do not edit)\n");
        for (int i = 0; ok && i < map.nblocks; i++)
            ok = list_block(ls, &n, &map.block[i]);
        fclose(ls->out);
    }
    tm_free(tm);
    return ok;
}

static bool host_has_jit(void) {
#if defined(__x86_64__) && defined(__linux__)
    return true;
#else
    return false;
#endif
}

int main(int argc, char **argv) {
    Listing ls = {.offsets = false};
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--offsets") == 0)
            ls.offsets = true;
        else
            dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: bt86-golden [--offsets] OUTDIR\n");
        return 2;
    }
    if (!host_has_jit()) {
        printf("bt86-golden: skipped: this host has no x86-64 jit\n");
        return 77;
    }
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &ls.cs) != CS_ERR_OK) {
        fprintf(stderr, "bt86-golden: capstone cannot disassemble x86-64\n");
        return 1;
    }
    cs_option(ls.cs, CS_OPT_DETAIL, CS_OPT_ON);
    setenv("BT86_PERF_MAP", "1", 1); /* each jit writes where its code is */
    bool ok = true;
    for (size_t i = 0; i < NPROGRAMS; i++)
        ok = golden_program(&ls, &programs[i], dir, i == 0) && ok;
    char path[64];
    perf_map_path(path, sizeof path);
    unlink(path);
    cs_close(&ls.cs);
    return ok ? 0 : 1;
}
