/*
 * fuzz_cpu_diff.c - libFuzzer target: a short random code block run under
 * the interpreter and under a translating engine (the jit, or the threaded
 * engine) on two identical small machines, which must end in the same
 * architectural state.
 *
 * Input: one byte for the mode (bits 0-1: flat CPL 0, CPL 3 with paging,
 * real mode) and the engine (bit 2: threaded instead of jit), 32 bytes of
 * initial general registers (ESP stays the mode's), then up to 48 bytes of
 * code. The block is followed by a jump back to its start, so it runs
 * again and again: the jit compiles it after DBT_JIT_HOT runs and the
 * later runs are host code. (400 instructions: a REP string instruction
 * counts once per batch of up to 4096 elements, which bounds the time.) Both machines run the same
 * number of instructions; then instruction count, registers, EIP, EFLAGS, segment registers with
 * their caches, CR0-CR4, CPL, halt state, the x87 control, status and tag words and all of RAM are
 * compared, as the lockstep checker (src/frontend/lockstep.c) does. A difference is reported and
 * aborts (a crash for libFuzzer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbt/dbt.h"
#include "fuzz_input.h"
#include "fuzz_modes.h"

#define CODE_MAX  48
#define MAX_INSNS 400
#define RAM_BYTES (2u << 20)

typedef struct Setup {
    unsigned mode;
    uint32_t regs[8];
    uint8_t code[CODE_MAX + 8];
    size_t code_len;
} Setup;

static void decode_setup(FuzzInput *in, Setup *s, DbtEngine *engine) {
    static const unsigned modes[4] = {FUZZ_PM0, FUZZ_PM3, FUZZ_REAL, FUZZ_PM0};
    unsigned sel = fuzz_u8(in);
    s->mode = modes[sel & 3];
    *engine = sel & 4 ? ENGINE_THREADED : ENGINE_JIT;
    for (int r = 0; r < 8; r++)
        s->regs[r] = fuzz_u32(in);
    size_t n = fuzz_bytes(in, s->code, CODE_MAX);
    /* jmp back to the start: E9 rel32 (rel16 in real mode) */
    uint8_t *j = s->code + n;
    j[0] = 0xE9;
    if (s->mode == FUZZ_REAL) {
        uint16_t rel = (uint16_t)(-(int)(n + 3));
        j[1] = (uint8_t)rel;
        j[2] = (uint8_t)(rel >> 8);
        s->code_len = n + 3;
    } else {
        uint32_t rel = (uint32_t)(-(int64_t)(n + 5));
        for (int b = 0; b < 4; b++)
            j[1 + b] = (uint8_t)(rel >> (8 * b));
        s->code_len = n + 5;
    }
}

static TestMachine *run_on(DbtEngine engine, const Setup *s) {
    TestMachine *tm = tm_new(RAM_BYTES);
    if (dbt_attach(tm->cpu, engine) < 0) abort();
    uint32_t code_at = fuzz_enter_mode(tm, s->mode, 0);
    for (int r = 0; r < 8; r++)
        if (r != R_ESP) tm->cpu->regs[r] = s->regs[r];
    tm_poke(tm, code_at, s->code, s->code_len);
    tm_run(tm, MAX_INSNS);
    return tm;
}

/* Print the first difference between the two machines; false if none. */
static bool machines_differ(TestMachine *ta, TestMachine *tb) {
    CPU *a = ta->cpu, *b = tb->cpu;
    char what[160] = "";
    if (a->icount != b->icount) snprintf(what, sizeof what, "instruction count");
    for (int i = 0; i < 8 && !what[0]; i++)
        if (a->regs[i] != b->regs[i])
            snprintf(what, sizeof what, "reg %d %08x vs %08x", i, a->regs[i], b->regs[i]);
    if (!what[0] && a->eip != b->eip)
        snprintf(what, sizeof what, "EIP %08x vs %08x", a->eip, b->eip);
    if (!what[0] && cpu_get_eflags(a) != cpu_get_eflags(b))
        snprintf(what, sizeof what, "EFLAGS %08x vs %08x", cpu_get_eflags(a), cpu_get_eflags(b));
    for (int i = 0; i < SEG_COUNT && !what[0]; i++)
        if (memcmp(&a->seg[i], &b->seg[i], sizeof a->seg[i]) != 0)
            snprintf(what, sizeof what, "segment register %d", i);
    if (!what[0] && (a->cr0 != b->cr0 || a->cr2 != b->cr2 || a->cr3 != b->cr3 || a->cr4 != b->cr4))
        snprintf(what, sizeof what, "control registers");
    if (!what[0] && (a->cpl != b->cpl || a->halted != b->halted))
        snprintf(what, sizeof what, "CPL %d/%d halted %d/%d", a->cpl, b->cpl, a->halted, b->halted);
    if (!what[0] && (a->fpu.cw != b->fpu.cw || a->fpu.sw != b->fpu.sw || a->fpu.tw != b->fpu.tw))
        snprintf(what, sizeof what, "x87 control/status/tag words");
    if (!what[0] && memcmp(ta->pm->ram, tb->pm->ram, RAM_BYTES) != 0) {
        uint32_t i = 0;
        while (ta->pm->ram[i] == tb->pm->ram[i])
            i++;
        snprintf(what, sizeof what, "RAM at %08x: %02x vs %02x", i, ta->pm->ram[i], tb->pm->ram[i]);
    }
    if (!what[0]) return false;
    fprintf(stderr, "fuzz_cpu_diff: interpreter and %s differ after %llu instructions: %s\n",
            dbt_engine_name(dbt_engine(b)), (unsigned long long)a->icount, what);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setenv("BT86_ACCEL", "interp", 1); /* tm_new attaches nothing: run_on does */
    FuzzInput in = {data, size};
    Setup s;
    DbtEngine engine;
    decode_setup(&in, &s, &engine);
    TestMachine *interp = run_on(ENGINE_INTERP, &s);
    TestMachine *translated = run_on(engine, &s);
    if (machines_differ(interp, translated)) abort();
    tm_free(interp);
    tm_free(translated);
    return 0;
}
