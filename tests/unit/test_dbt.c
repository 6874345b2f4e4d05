/*
 * test_dbt.c - the translator (dbt/): self-modifying code (the running
 * block, the next instruction, another page, a DMA-style bulk write),
 * invalidation that touches only overlapping blocks, faults in the middle
 * of a block (precise state), page-crossing instructions, interrupts that
 * arrive during a long chained loop, exact instruction counts, and the
 * same results as the interpreter on a mixed program.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbt/dbt.h"
#include "testmachine.h"

static TestMachine *tm;
static CPU *cpu;

/* The engine under test: BT86_ACCEL (jit by default); never the interpreter. */
static DbtEngine engine_under_test(void) {
    DbtEngine engine = dbt_engine_from_env(getenv("BT86_ACCEL"));
    return engine == ENGINE_INTERP ? ENGINE_THREADED : engine;
}

static void setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
    ck_assert_int_eq(dbt_attach(cpu, engine_under_test()), 0);
    tm_fake_pic(tm);
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
}
static void teardown(void) {
    tm_free(tm);
}

#define POKE(addr, ...)                                                                            \
    do {                                                                                           \
        const uint8_t code_[] = {__VA_ARGS__};                                                     \
        tm_poke(tm, (addr), code_, sizeof code_);                                                  \
    } while (0)

static const DbtStats *stats(void) {
    return dbt_stats(cpu);
}

/* Run prog at TM_CODE on a fresh machine with the given engine; out: the
 * registers, EIP and a checksum of 0x50000-0x6FFFF. */
static void run_prog(DbtEngine engine, const uint8_t *prog, size_t len, uint32_t out[10]);
static void expect_same_as_interpreter(const uint8_t *prog, size_t len, uint32_t interp[10],
                                       const unsigned *inlined, size_t ninlined);

/* The instruction right after a store is the one the store rewrites:
 * mov byte [next+1], 0x42; mov al, 0x11 (becomes mov al, 0x42); hlt. */
START_TEST(smc_rewrites_next_instruction) {
    uint32_t next = TM_CODE + 8; /* the immediate of mov al, 0x11 */
    POKE(TM_CODE, 0xC6, 0x05, next & 0xFF, (next >> 8) & 0xFF, (next >> 16) & 0xFF, next >> 24,
         0x42, 0xB0, 0x11, 0xF4);
    tm_run(tm, 100);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EAX] & 0xFF, 0x42);
    ck_assert_uint_ge(stats()->inval_write, 1);
    ck_assert_uint_eq(stats()->inval_device, 0); /* the CPU wrote */
}
END_TEST

/* A loop whose body patches its own immediate on every pass:
 * ecx = 3; loop: add eax, imm32 (imm patched to 1, 2, 3...). */
START_TEST(smc_loop_patches_itself) {
    /* 0: mov ecx,3                B9 03 00 00 00
     * 5: xor eax,eax              31 C0
     * 7: mov edx,1                BA 01 00 00 00
     * c: add eax, imm32           05 00 00 00 00     (imm at +0xd)
     * 11: inc edx                 42
     * 12: mov [imm], edx          89 15 <abs32>
     * 18: loop 0xc                E2 F2
     * 1a: hlt                     F4 */
    uint32_t imm = TM_CODE + 0xd;
    POKE(TM_CODE, 0xB9, 3, 0, 0, 0, 0x31, 0xC0, 0xBA, 1, 0, 0, 0, 0x05, 0, 0, 0, 0, 0x42, 0x89,
         0x15, imm & 0xFF, (imm >> 8) & 0xFF, (imm >> 16) & 0xFF, imm >> 24, 0xE2, 0xF2, 0xF4);
    tm_poke32(tm, imm, 1);
    tm_run(tm, 1000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EAX], 1 + 2 + 3);
}
END_TEST

/* Code on another page, run once, rewritten by a store, run again. */
START_TEST(smc_other_page) {
    uint32_t fn = TM_CODE + 0x3000;
    POKE(fn, 0xB8, 0x01, 0, 0, 0, 0xC3); /* mov eax,1; ret */
    /* call fn; mov ebx,eax; mov byte [fn+1], 7; call fn; hlt */
    int32_t rel1 = (int32_t)(fn - (TM_CODE + 5));
    int32_t rel2 = (int32_t)(fn - (TM_CODE + 19));
    uint32_t p = fn + 1;
    uint8_t code[] = {0xE8,
                      (uint8_t)rel1,
                      (uint8_t)(rel1 >> 8),
                      (uint8_t)(rel1 >> 16),
                      (uint8_t)(rel1 >> 24),
                      0x89,
                      0xC3,
                      0xC6,
                      0x05,
                      (uint8_t)p,
                      (uint8_t)(p >> 8),
                      (uint8_t)(p >> 16),
                      (uint8_t)(p >> 24),
                      7,
                      0xE8,
                      (uint8_t)rel2,
                      (uint8_t)(rel2 >> 8),
                      (uint8_t)(rel2 >> 16),
                      (uint8_t)(rel2 >> 24),
                      0xF4};
    tm_poke(tm, TM_CODE, code, sizeof code);
    tm_run(tm, 100);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EBX], 1);
    ck_assert_uint_eq(cpu->regs[R_EAX], 7);
}
END_TEST

/* A bulk copy (DMA, loaders) over translated code invalidates it. */
START_TEST(dma_write_invalidates) {
    POKE(TM_CODE, 0xB8, 0x01, 0, 0, 0, 0xF4); /* mov eax,1; hlt */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_EAX], 1);
    static const uint8_t patch[] = {0x02};
    ck_assert_int_eq(phys_copy_to(tm->pm, TM_CODE + 1, patch, 1), 0);
    if (dbt_engine(cpu) != ENGINE_INTERP) {
        ck_assert_uint_eq(stats()->inval_write, 1);
        ck_assert_uint_eq(stats()->inval_device, 1); /* counted as not the CPU's */
    }
    cpu->eip = TM_CODE;
    cpu->halted = false;
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_EAX], 2);
}
END_TEST

/* A data write on a code page that misses every block leaves them alone. */
START_TEST(invalidation_is_exact) {
    uint32_t data = TM_CODE + 0x800;
    /* mov [data], eax; hlt */
    POKE(TM_CODE, 0xA3, data & 0xFF, (data >> 8) & 0xFF, (data >> 16) & 0xFF, data >> 24, 0xF4);
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(stats()->inval_write, 0);
    uint64_t translated = stats()->blocks_translated;
    cpu->eip = TM_CODE;
    cpu->halted = false;
    tm_run(tm, 10);
    ck_assert_uint_eq(stats()->blocks_translated, translated); /* reused, not retranslated */
}
END_TEST

/* #PF on the third instruction of a block: the first two have committed,
 * the rest have not, and the handler sees the faulting EIP. */
START_TEST(fault_mid_block_is_precise) {
    tm_paging(tm, 4);
    tm_poke32(tm, TM_PD + 0x1000 + 4 * 0x300, 0); /* unmap page 0x300000 */
    /* inc eax; inc ebx; mov [0x300000], ecx; inc edx; hlt */
    POKE(TM_CODE, 0x40, 0x43, 0x89, 0x0D, 0x00, 0x00, 0x30, 0x00, 0x42, 0xF4);
    cpu->regs[R_EAX] = cpu->regs[R_EBX] = cpu->regs[R_EDX] = 0;
    tm_run(tm, 100);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_STUB(14) + 1);
    ck_assert_uint_eq(cpu->regs[R_EAX], 1);
    ck_assert_uint_eq(cpu->regs[R_EBX], 1);
    ck_assert_uint_eq(cpu->regs[R_EDX], 0);
    ck_assert_uint_eq(cpu->cr2, 0x300000);
    uint32_t esp = cpu->regs[R_ESP];
    ck_assert_uint_eq(tm_peek32(tm, esp + 4), TM_CODE + 2); /* EIP below the error code */
}
END_TEST

/* An instruction that straddles two pages, then code on the second page. */
START_TEST(page_crossing_instruction) {
    uint32_t at = TM_CODE + 0x1000 - 3;
    POKE(at, 0xB8, 0x78, 0x56, 0x34, 0x12, 0x40,
         0xF4); /* mov eax,0x12345678 (crosses); inc eax; hlt */
    cpu->eip = at;
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0x12345679);
    /* Rewrite the bytes on the second page: the next run sees them. */
    tm_poke(tm, TM_CODE + 0x1000, (uint8_t[]){0x00, 0x00}, 2);
    cpu->eip = at;
    cpu->halted = false;
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0x00005679);
}
END_TEST

/* A hot loop through an instruction that crosses a page boundary: it gets
 * a block of its own (no trip through the interpreter), and when the loop
 * rewrites the instruction's bytes on the second page, the next pass runs
 * the new instruction. */
START_TEST(hot_page_crossing_instruction_rewritten) {
    static uint8_t prog[0x1018];
    /* mov ecx, 100; xor edx, edx; jmp x */
    memcpy(prog, (uint8_t[]){0xB9, 0x64, 0, 0, 0, 0x31, 0xD2, 0xE9, 0xF1, 0x0F, 0, 0}, 12);
    static const uint8_t loop[] = {
        0xB8, 0x78, 0x56, 0x34, 0x12,             /* x: mov eax, 0x12345678 (crosses) */
        0x01, 0xC2,                               /* add edx, eax */
        0x83, 0xF9, 0x32,                         /* cmp ecx, 50 */
        0x75, 0x07,                               /* jne skip */
        0xC6, 0x05, 0x01, 0x10, 0x02, 0x00, 0x99, /* mov byte [x+4], 0x99 */
        0x49,                                     /* skip: dec ecx */
        0x0F, 0x85, 0xE6, 0xFF, 0xFF, 0xFF,       /* jnz x */
        0xF4,                                     /* hlt */
    };
    memcpy(prog + 0xFFD, loop, sizeof loop);
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, NULL, 0);
    ck_assert_uint_eq(a[R_EDX], 51u * 0x12345678u + 49u * 0x99345678u);
    ck_assert(cpu->halted);
    ck_assert_uint_lt(stats()->untranslatable, 5);
}
END_TEST

/* An interrupt raised while a chained loop spins is taken within a block. */
START_TEST(interrupt_during_chained_loop) {
    POKE(TM_CODE, 0x40, 0xEB, 0xFD); /* l: inc eax; jmp l */
    cpu->eflags |= FL_IF;
    cpu->regs[R_EAX] = 0;
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_COUNT);
    ck_assert_uint_eq(cpu->regs[R_EAX], 50000);
    ck_assert_uint_gt(stats()->chained + stats()->jit_links, 0);
    ck_assert_uint_lt(stats()->lookup_fast + stats()->lookup_hash + stats()->lookup_miss, 100);
    tm->irq_line = 1;
    cpu_run(cpu, 3);
    /* The interrupt gate's first instruction is the stub's hlt. */
    ck_assert_uint_ge(cpu->eip, TM_STUB(0x20));
    ck_assert_uint_le(cpu->eip, TM_STUB(0x20) + 1);
}
END_TEST

/* STI inside a hot block: its interrupt shadow covers exactly the next
 * instruction (the block runs on through it), and a pending interrupt is
 * taken right after that one, not at STI and not later. Stopping right
 * after STI leaves the shadow set. */
START_TEST(sti_shadow_inside_hot_block) {
    /* l: sti; inc eax; inc ebx; cli; dec ecx; jnz l; hlt */
    POKE(TM_CODE, 0xFB, 0x40, 0x43, 0xFA, 0x49, 0x75, 0xF9, 0xF4);
    cpu->regs[R_EAX] = cpu->regs[R_EBX] = 0;
    cpu->regs[R_ECX] = 1000;
    ck_assert_int_eq(cpu_run(cpu, 3000), CPU_EXIT_COUNT); /* 500 passes */
    ck_assert_uint_eq(cpu->eip, TM_CODE);
    if (dbt_engine(cpu) == ENGINE_JIT) ck_assert_uint_gt(stats()->blocks_compiled, 0);
    cpu_run(cpu, 1); /* sti */
    ck_assert(cpu->intr_shadow);
    ck_assert_uint_eq(cpu->regs[R_EAX], 500);
    cpu_run(cpu, 5); /* inc eax; inc ebx; cli; dec ecx; jnz */
    ck_assert(!cpu->intr_shadow);
    ck_assert_uint_eq(cpu->eip, TM_CODE);
    /* The block with STI ends sensitive: host code went on in place after
     * asking for interrupts (dbt_jit_next) instead of returning. */
    if (dbt_engine(cpu) == ENGINE_JIT) {
        ck_assert_uint_gt(stats()->jit_next, 400);
        ck_assert_uint_lt(stats()->core_calls[0xFB], 40); /* STI inline at CPL 0 */
    }
    tm->irq_line = 1;
    cpu_run(cpu, 100); /* sti; inc eax; then the interrupt, whose stub halts */
    ck_assert_uint_eq(cpu->regs[R_EAX], 502);
    ck_assert_uint_eq(cpu->regs[R_EBX], 501);
    ck_assert_uint_ge(cpu->eip, TM_STUB(0x20));
    ck_assert_uint_le(cpu->eip, TM_STUB(0x20) + 1);
}
END_TEST

/* POPF inside a hot block (it does not end blocks): while IF stays 0 the
 * block runs on; when POPF sets IF with an interrupt pending, the
 * interrupt is taken right after it, before the next instruction. */
START_TEST(popf_opening_interrupt_window_inside_block) {
    /* l: push ebx; popfd; inc eax; dec ecx; jnz l; hlt */
    POKE(TM_CODE, 0x53, 0x9D, 0x40, 0x49, 0x75, 0xFA, 0xF4);
    cpu->regs[R_EAX] = 0;
    cpu->regs[R_EBX] = 0x2; /* IF = 0 */
    cpu->regs[R_ECX] = 1000;
    ck_assert_int_eq(cpu_run(cpu, 2500), CPU_EXIT_COUNT); /* 500 passes */
    ck_assert_uint_eq(cpu->eip, TM_CODE);
    ck_assert_uint_eq(cpu->regs[R_EAX], 500);
    if (dbt_engine(cpu) == ENGINE_JIT) {
        ck_assert_uint_gt(stats()->blocks_compiled, 0);
        ck_assert_uint_lt(stats()->lookup_fast + stats()->lookup_hash + stats()->lookup_miss, 100);
    }
    cpu->regs[R_EBX] = 0x202; /* IF = 1 */
    tm->irq_line = 1;
    cpu_run(cpu, 3); /* push ebx; popfd; then the interrupt, whose stub halts */
    ck_assert_uint_eq(cpu->regs[R_EAX], 500);
    ck_assert_uint_ge(cpu->eip, TM_STUB(0x20));
    ck_assert_uint_le(cpu->eip, TM_STUB(0x20) + 1);
}
END_TEST

/* cpu_run stops after exactly the requested count, inside a block. */
START_TEST(exact_instruction_count) {
    POKE(TM_CODE, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0xF4);
    cpu->regs[R_EAX] = 0;
    uint64_t before = cpu->icount;
    ck_assert_int_eq(cpu_run(cpu, 5), CPU_EXIT_COUNT);
    ck_assert_uint_eq(cpu->icount - before, 5);
    ck_assert_uint_eq(cpu->regs[R_EAX], 5);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 5);
}
END_TEST

/* 16-bit code whose instruction ends exactly at IP 0x10000: IP wraps to
 * 0 (the block must not go on at 0x10000, past the CS limit: #GP). Found
 * by tests/fuzz (fuzz_cpu_diff). */
START_TEST(ip_wraps_after_instruction_ending_at_64k) {
    tm_real(tm, 0x2000, 0xFFFE);
    POKE(0x2FFFE, 0x40, 0x40); /* inc ax; inc ax */
    POKE(0x20000, 0xF4);       /* hlt */
    cpu->regs[R_EAX] = 0;
    for (int run = 0; run < 40; run++) { /* hot enough for the jit */
        tm_real(tm, 0x2000, 0xFFFE);
        cpu->regs[R_EAX] = 0;
        tm_run(tm, 3);
        ck_assert_uint_eq(cpu->regs[R_EAX], 2);
        ck_assert_uint_eq(cpu->eip, 1);
    }
}
END_TEST

/* A mixed program (ALU, memory, string, loops, calls, a #DE handled by a
 * gate that resumes) gives the interpreter's state under the threaded engine. */
/* Run prog at TM_CODE on a fresh machine with the given engine; out gets
 * the registers, EIP and a checksum of 0x50000-0x6FFFF. */
/* Extra set-up for run_prog (the test clears it again), or NULL. */
static void (*prog_setup)(void);

static void run_prog(DbtEngine engine, const uint8_t *prog, size_t len, uint32_t out[10]) {
    tm_free(tm);
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
    ck_assert_int_eq(dbt_attach(cpu, engine), 0);
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_poke(tm, TM_CODE, prog, len);
    if (prog_setup) prog_setup();
    tm_run(tm, 100000);
    for (int i = 0; i < 8; i++)
        out[i] = cpu->regs[i];
    out[8] = cpu->eip;
    uint32_t sum = 0;
    for (uint32_t a = 0x50000; a < 0x70000; a += 4)
        sum = sum * 31 + tm_peek32(tm, a);
    out[9] = sum;
}

/* Run prog with the interpreter (its results in interp) and then with the
 * engine under test (never the interpreter): registers, EIP and memory must
 * agree. Under the jit, each opcode of inlined[] (0x1xx: 0F xx) must call
 * its handler at most the few times its block runs before it is compiled. */
static void expect_same_as_interpreter(const uint8_t *prog, size_t len, uint32_t interp[10],
                                       const unsigned *inlined, size_t ninlined) {
    uint32_t b[10];
    run_prog(ENGINE_INTERP, prog, len, interp);
    run_prog(engine_under_test(), prog, len, b);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(interp[i], b[i]);
    if (dbt_engine(cpu) != ENGINE_JIT) return;
    for (size_t i = 0; i < ninlined; i++)
        ck_assert_msg(stats()->core_calls[inlined[i]] < 40, "opcode %03X: %llu handler calls",
                      inlined[i], (unsigned long long)stats()->core_calls[inlined[i]]);
}

static const uint8_t mixed_prog[] = {
    0xB9, 0x40, 0x00, 0x00, 0x00, /* mov ecx, 64 */
    0xBE, 0x00, 0x00, 0x05, 0x00, /* mov esi, 0x50000 */
    0xBF, 0x00, 0x00, 0x06, 0x00, /* mov edi, 0x60000 */
    0x31, 0xC0,                   /* xor eax, eax */
    0x8D, 0x04, 0x48,             /* l: lea eax, [eax+ecx*2] */
    0x89, 0x06,                   /* mov [esi], eax */
    0x83, 0xC6, 0x04,             /* add esi, 4 */
    0xC1, 0xC0, 0x03,             /* rol eax, 3 */
    0xE2, 0xF4,                   /* loop l */
    0xBE, 0x00, 0x00, 0x05, 0x00, /* mov esi, 0x50000 */
    0xB9, 0x40, 0x00, 0x00, 0x00, /* mov ecx, 64 */
    0xFC, 0xF3, 0xA5,             /* cld; rep movsd */
    0xE8, 0x02, 0x00, 0x00, 0x00, /* call f */
    0xEB, 0x05,                   /* jmp done */
    0x0F, 0xAF, 0xC0,             /* f: imul eax, eax */
    0x48,                         /* dec eax */
    0xC3,                         /* ret */
    0x9C, 0x5A,                   /* done: pushfd; pop edx */
    0xF4,
};

START_TEST(same_state_as_interpreter) {
    uint32_t a[10], b[10];
    run_prog(ENGINE_INTERP, mixed_prog, sizeof mixed_prog, a);
    run_prog(engine_under_test(), mixed_prog, sizeof mixed_prog, b);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(a[i], b[i]);
    ck_assert_uint_ne(tm_peek32(tm, 0x60000 + 4 * 17), 0); /* the copy happened */
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof mixed_prog);
}
END_TEST

/* A hot loop (compiled by the jit after a few runs) with loads, stores,
 * read-modify-write, PUSH/POP and LEA; then the same block faults on its
 * load in the middle of a later pass: the state is the one before the
 * faulting instruction, and the instruction count is exact. */
START_TEST(hot_loop_then_fault_in_compiled_code) {
    tm_paging(tm, 4);
    tm_poke32(tm, TM_PD + 0x1000 + 4 * 0x301, 0); /* unmap page 0x301000 */
    /* 0: mov esi, 0x300000 - 8     BE <imm32>
     * 5: xor ebx, ebx               31 DB
     * 7: l: mov eax, [esi]          8B 06
     * 9: add [esi], eax             01 06
     * b: push eax                   50
     * c: pop edx                    5A
     * d: lea ebx, [ebx + edx*2 + 1] 8D 5C 53 01
     * 11: add esi, 4                83 C6 04
     * 14: jmp l                     EB F1 */
    POKE(TM_CODE, 0xBE, 0xF8, 0xFF, 0x2F, 0x00, 0x31, 0xDB, 0x8B, 0x06, 0x01, 0x06, 0x50, 0x5A,
         0x8D, 0x5C, 0x53, 0x01, 0x83, 0xC6, 0x04, 0xEB, 0xF1);
    /* Data: dword i at 0x300000 + 4 i holds i (the loop doubles each one). */
    for (uint32_t i = 0; i < 0x400; i++)
        tm_poke32(tm, 0x300000 + 4 * i, i);
    tm_poke32(tm, 0x2FFFF8, 7);
    tm_poke32(tm, 0x2FFFFC, 9);
    uint64_t before = cpu->icount;
    tm_run(tm, 1000000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_STUB(14) + 1);
    ck_assert_uint_eq(cpu->cr2, 0x301000);
    ck_assert_uint_eq(cpu->regs[R_ESI], 0x301000);
    /* Passes completed: 2 + 0x400, 7 instructions each, 3 before the loop,
     * the faulting load not counted, then the stub's HLT. */
    uint32_t passes = 2 + 0x400;
    ck_assert_uint_eq(cpu->icount - before, 2 + 7 * (uint64_t)passes + 1);
    /* ebx = sum over passes of (2 * value + 1) computed step by step. */
    uint32_t ebx = 0, vals[2] = {7, 9};
    for (uint32_t k = 0; k < passes; k++) {
        uint32_t v = k < 2 ? vals[k] : k - 2;
        ebx = ebx + v * 2 + 1;
    }
    ck_assert_uint_eq(cpu->regs[R_EBX], ebx);
    ck_assert_uint_eq(tm_peek32(tm, 0x300000 + 4 * 0x3FF), 2 * 0x3FF);
    ck_assert_uint_eq(tm_peek32(tm, 0x2FFFF8), 14);
    if (dbt_engine(cpu) == ENGINE_JIT) ck_assert_uint_gt(stats()->blocks_compiled, 0);
}
END_TEST

/* A loop chained to itself in host code, rewritten from outside (as DMA or
 * another CPU would), then run again: the chain into the dead block is
 * undone and the new code runs. */
START_TEST(rewritten_chained_loop) {
    /* l: add eax, 1; dec ecx; jnz l; hlt */
    POKE(TM_CODE, 0x83, 0xC0, 0x01, 0x49, 0x75, 0xFA, 0xF4);
    cpu->regs[R_EAX] = 0;
    cpu->regs[R_ECX] = 1000;
    tm_run(tm, 100000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EAX], 1000);
    tm_poke(tm, TM_CODE + 2, (uint8_t[]){0x02}, 1); /* add eax, 2 */
    cpu->eip = TM_CODE;
    cpu->halted = false;
    cpu->regs[R_EAX] = 0;
    cpu->regs[R_ECX] = 1000;
    tm_run(tm, 100000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EAX], 2000);
    if (dbt_engine(cpu) == ENGINE_JIT) ck_assert_uint_ge(stats()->jit_links, 2);
}
END_TEST

/* A compare-and-branch loop (the jit branches on host flags recomputed
 * from the inline CMP): the result and the exact instruction count. */
START_TEST(compare_branch_loop_counts) {
    /* l: add eax, 1; cmp eax, 1000; jb l; test eax, eax; jz bad; jmp ok; bad: hlt; ok: hlt */
    POKE(TM_CODE, 0x83, 0xC0, 0x01, 0x3D, 0xE8, 0x03, 0x00, 0x00, 0x72, 0xF6, 0x85, 0xC0, 0x74,
         0x02, 0xEB, 0x01, 0xF4, 0xF4);
    cpu->regs[R_EAX] = 0;
    uint64_t before = cpu->icount;
    tm_run(tm, 100000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EAX], 1000);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 18);
    ck_assert_uint_eq(cpu->icount - before, 3 * 1000 + 4);
}
END_TEST

/* A hot loop mixing everything the jit inlines (MOV, ALU with memory and
 * immediates, shifts and rotates and INC whose flags are dead, MOVZX/MOVSX of low and high byte
 * registers and of memory, LEA, PUSH/POP, TEST and Jcc) ends in exactly the interpreter's state:
 * registers, flags and memory. */
static const uint8_t mix_prog[] = {
    0xB9, 0x00, 0x02, 0x00, 0x00,       /* mov ecx, 512 */
    0xBE, 0x00, 0x00, 0x05, 0x00,       /* mov esi, 0x50000 */
    0xB8, 0x35, 0x12, 0x00, 0x00,       /* mov eax, 0x1235 */
    0x89, 0xC2,                         /* l: mov edx, eax */
    0xC1, 0xE2, 0x05,                   /* shl edx, 5 */
    0xC1, 0xE8, 0x03,                   /* shr eax, 3 */
    0xC1, 0xC8, 0x07,                   /* ror eax, 7 */
    0xC1, 0xC2, 0x03,                   /* rol edx, 3 */
    0x31, 0xD0,                         /* xor eax, edx */
    0xD1, 0xF8,                         /* sar eax, 1 */
    0x0F, 0xB6, 0xDC,                   /* movzx ebx, ah */
    0x0F, 0xBE, 0xF8,                   /* movsx edi, al */
    0x47,                               /* inc edi */
    0x01, 0xFB,                         /* add ebx, edi */
    0x89, 0x1E,                         /* mov [esi], ebx */
    0x0F, 0xB7, 0x7E, 0x01,             /* movzx edi, word [esi+1] */
    0x01, 0x3E,                         /* add [esi], edi */
    0x53,                               /* push ebx */
    0x5D,                               /* pop ebp */
    0x8D, 0x74, 0x0E, 0x04,             /* lea esi, [esi+ecx+4] */
    0x81, 0xE6, 0xFC, 0xFF, 0x05, 0x00, /* and esi, 0x5FFFC */
    0x85, 0xED,                         /* test ebp, ebp */
    0x78, 0x02,                         /* js skip */
    0x01, 0xE8,                         /* add eax, ebp */
    0x83, 0xE9, 0x01,                   /* skip: sub ecx, 1 */
    0x75, 0xC6,                         /* jnz l */
    0x9C, 0x5A,                         /* pushfd; pop edx */
    0xF4,
};

/* The byte- and word-sized and multiply instructions the jit inlines. */
static const uint8_t mix2_prog[] = {
    0xB9, 0x2C, 0x01, 0x00, 0x00, /* mov ecx, 300 */
    0xBE, 0x00, 0x00, 0x05, 0x00, /* mov esi, 0x50000 */
    0xB8, 0x07, 0x00, 0x00, 0x00, /* mov eax, 7 */
    0x6B, 0xC0, 0x0D,             /* l: imul eax, eax, 13 */
    0x01, 0xC8,                   /* add eax, ecx */
    0x0F, 0xAF, 0x16,             /* imul edx, [esi] */
    0x31, 0xC2,                   /* xor edx, eax */
    0x88, 0x16,                   /* mov [esi], dl */
    0x8A, 0x3E,                   /* mov bh, [esi] */
    0x88, 0xFC,                   /* mov ah, bh */
    0x66, 0x89, 0x56, 0x01,       /* mov [esi+1], dx */
    0x66, 0x8B, 0x1E,             /* mov bx, [esi] */
    0xFF, 0x06,                   /* inc dword [esi] */
    0xFF, 0x4E, 0x02,             /* dec dword [esi+2] */
    0x32, 0x16,                   /* xor dl, [esi] */
    0x00, 0x5E, 0x03,             /* add [esi+3], bl */
    0x84, 0xFF,                   /* test bh, bh */
    0x2C, 0x05,                   /* sub al, 5 */
    0x80, 0x3E, 0x07,             /* cmp byte [esi], 7 */
    0x83, 0xC6, 0x01,             /* add esi, 1 */
    0x3C, 0x40,                   /* cmp al, 0x40 */
    0x72, 0x02,                   /* jb skip */
    0x31, 0xD8,                   /* xor eax, ebx */
    0x49,                         /* skip: dec ecx */
    0x75, 0xCC,                   /* jnz l */
    0x9C, 0x5F,                   /* pushfd; pop edi */
    0xF4,
};

static void run_mix(DbtEngine engine, uint32_t out[10]) {
    run_prog(engine, mix_prog, sizeof mix_prog, out);
}

START_TEST(hot_bytes_and_imul_same_as_interpreter) {
    uint32_t a[10], b[10];
    run_prog(ENGINE_INTERP, mix2_prog, sizeof mix2_prog, a);
    run_prog(engine_under_test(), mix2_prog, sizeof mix2_prog, b);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(a[i], b[i]);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_ECX], 0);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof mix2_prog);
}
END_TEST

START_TEST(hot_mix_same_as_interpreter) {
    uint32_t a[10], b[10];
    run_mix(ENGINE_INTERP, a);
    run_mix(engine_under_test(), b);
    if (dbt_engine(cpu) == ENGINE_JIT) ck_assert_uint_gt(stats()->blocks_compiled, 0);
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(a[i], b[i]);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_ECX], 0);    /* all 512 passes ran */
    ck_assert_uint_eq(cpu->eip, TM_CODE + 76); /* and stopped after the final HLT */
}
END_TEST

/* REP MOVSB with overlapping ranges (destination one byte ahead) repeats
 * the first byte, as the element-by-element definition says; REP STOSD
 * into a page that is not mapped stops with #PF exactly at the page
 * boundary, with ECX and EDI counting what was stored. */
START_TEST(rep_string_bulk_semantics) {
    tm_paging(tm, 4);
    tm_poke32(tm, TM_PD + 0x1000 + 4 * 0x302, 0); /* unmap page 0x302000 */
    tm_poke(tm, 0x300000, (uint8_t[]){0xAB, 1, 2, 3, 4, 5, 6, 7}, 8);
    /* mov esi,0x300000; mov edi,0x300001; mov ecx,0x1800; cld; rep movsb;
     * mov edi,0x301F00; mov ecx,0x100; mov eax,0x11223344; rep stosd; hlt */
    POKE(TM_CODE, 0xBE, 0x00, 0x00, 0x30, 0x00, 0xBF, 0x01, 0x00, 0x30, 0x00, 0xB9, 0x00, 0x18,
         0x00, 0x00, 0xFC, 0xF3, 0xA4, 0xBF, 0x00, 0x1F, 0x30, 0x00, 0xB9, 0x00, 0x01, 0x00, 0x00,
         0xB8, 0x44, 0x33, 0x22, 0x11, 0xF3, 0xAB, 0xF4);
    tm_run(tm, 100000);
    for (uint32_t a = 0x300000; a < 0x301801; a += 0x2FF)
        ck_assert_uint_eq(tm_peek32(tm, a) & 0xFF, 0xAB);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_STUB(14) + 1);
    ck_assert_uint_eq(cpu->cr2, 0x302000);
    ck_assert_uint_eq(cpu->regs[R_EDI], 0x302000);
    ck_assert_uint_eq(cpu->regs[R_ECX], 0x100 - 0x40);
    ck_assert_uint_eq(tm_peek32(tm, 0x301FFC), 0x11223344);
}
END_TEST

/* CALL and RET in a hot ring-3 loop whose stack creeps down into an
 * unmapped page: the compiled CALL's push faults exactly there, with the
 * state before the CALL (1023 calls done, ESP at the page boundary). */
START_TEST(hot_call_ret_then_stack_fault) {
    tm_pmode_flat(tm, 3, TM_CODE, 0x304000);
    tm_paging(tm, 4);
    tm_poke32(tm, TM_PD + 0x1000 + 4 * 0x302, 0); /* unmap page 0x302000 */
    /* l: sub esp, 4; call f; jmp l; f: inc eax; ret */
    POKE(TM_CODE, 0x83, 0xEC, 0x04, 0xE8, 0x02, 0x00, 0x00, 0x00, 0xEB, 0xF6, 0x40, 0xC3);
    cpu->regs[R_EAX] = 0;
    tm_run(tm, 100000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_STUB(14) + 1);
    ck_assert_uint_eq(cpu->cr2, 0x302FFC);
    ck_assert_uint_eq(cpu->regs[R_EAX], 1023);
    uint32_t frame = TM_STACK0 - 24; /* error code, EIP, CS, EFLAGS, ESP, SS */
    ck_assert_uint_eq(cpu->regs[R_ESP], frame);
    ck_assert_uint_eq(tm_peek32(tm, frame + 4), TM_CODE + 3);
    ck_assert_uint_eq(tm_peek32(tm, frame + 16), 0x303000);
}
END_TEST

/* Returns, indirect calls and calls to another page: the jit resolves
 * their targets inline through the address cache (no trip through the
 * dispatcher). The callee on the other page is rewritten half-way through
 * the hot loop: the inline lookup must not find its dead block. */
START_TEST(hot_indirect_and_cross_page_branches) {
    static uint8_t prog[0x1013];
    static const uint8_t main_code[] = {
        0xB9, 0xD0, 0x07, 0x00, 0x00,             /* mov ecx, 2000 */
        0xBB, 0x10, 0x10, 0x02, 0x00,             /* mov ebx, g (0x21010) */
        0xE8, 0xF1, 0x0F, 0x00, 0x00,             /* l: call f (0x21000) */
        0xFF, 0xD3,                               /* call ebx */
        0x81, 0xF9, 0xE8, 0x03, 0x00, 0x00,       /* cmp ecx, 1000 */
        0x75, 0x07,                               /* jne skip */
        0xC6, 0x05, 0x02, 0x10, 0x02, 0x00, 0x02, /* mov byte [f+2], 2 */
        0x49,                                     /* skip: dec ecx */
        0x75, 0xE7,                               /* jnz l */
        0xF4,                                     /* hlt */
    };
    memcpy(prog, main_code, sizeof main_code);
    memcpy(prog + 0x1000, (uint8_t[]){0x83, 0xC0, 0x01, 0xC3}, 4); /* f: add eax, 1; ret */
    memcpy(prog + 0x1010, (uint8_t[]){0x01, 0xC2, 0xC3}, 3);       /* g: add edx, eax; ret */
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, NULL, 0);
    ck_assert_uint_eq(a[R_EAX], 1001 + 999 * 2);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof main_code);
    if (dbt_engine(cpu) == ENGINE_JIT) ck_assert_uint_gt(stats()->jit_lookups, 1000);
}
END_TEST

/* GS-relative loads and stores (GS base 0x50000, D/B clear, as thread
 * data in user space or the kernel's per-CPU segment), MOV with a memory offset (A0-A3), and
 * indirect calls and jumps through a register and through GS-relative memory, in a hot loop: the
 * same state as the interpreter, and under the jit none of them goes
 * through its handler. */
static void gs_setup(void) {
    cpu->seg[SEG_GS].base = 0x50000;
    cpu->seg[SEG_GS].flags &= ~SF_DB;     /* as Linux's per-CPU segment: D/B clear */
    tm_poke32(tm, 0x50800, TM_CODE + 73); /* the function pointer at gs:0x800 */
}
START_TEST(hot_segment_base_and_indirect_branches) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00,                   /* mov ecx, 300 */
        0x65, 0x8B, 0x04, 0x8D, 0x00, 0x00, 0x00, 0x00, /* l: mov eax, gs:[ecx*4] */
        0x01, 0xC8,                                     /* add eax, ecx */
        0x65, 0x89, 0x04, 0x8D, 0x04, 0x00, 0x00, 0x00, /* mov gs:[ecx*4+4], eax */
        0xA1, 0x10, 0x00, 0x05, 0x00,                   /* mov eax, [0x50010] */
        0x83, 0xC0, 0x03,                               /* add eax, 3 */
        0xA3, 0x10, 0x00, 0x05, 0x00,                   /* mov [0x50010], eax */
        0xA0, 0x20, 0x00, 0x05, 0x00,                   /* mov al, [0x50020] */
        0x00, 0xC8,                                     /* add al, cl */
        0xA2, 0x20, 0x00, 0x05, 0x00,                   /* mov [0x50020], al */
        0x65, 0xFF, 0x15, 0x00, 0x08, 0x00, 0x00,       /* call gs:[0x800] (f) */
        0xBA, 0x49, 0x00, 0x02, 0x00,                   /* mov edx, f */
        0xFF, 0xD2,                                     /* call edx */
        0xBB, 0x45, 0x00, 0x02, 0x00,                   /* mov ebx, l2 */
        0xFF, 0xE3,                                     /* jmp ebx */
        0x49,                                           /* l2: dec ecx */
        0x75, 0xBD,                                     /* jnz l */
        0xF4,                                           /* hlt */
        0x46, 0xC3,                                     /* f: inc esi; ret */
    };
    static const unsigned inlined[] = {0x8B, 0x89, 0xA0, 0xA1, 0xA2, 0xA3, 0xFF};
    uint32_t a[10];
    prog_setup = gs_setup; /* for both runs */
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    prog_setup = NULL;
    ck_assert_uint_eq(a[R_ESI], 600);
}
END_TEST

/* ADC and SBB with carries from inline ADD/SUB/CMP, from a shift (the
 * core's lazy flags) and from registers, immediates and memory: the same
 * state as the interpreter, and under the jit without their handlers. */
START_TEST(hot_adc_sbb_same_as_interpreter) {
    static const uint8_t prog[] = {
        0xB9, 0x90, 0x01, 0x00, 0x00, /* mov ecx, 400 */
        0xBE, 0x00, 0x00, 0x05, 0x00, /* mov esi, 0x50000 */
        0x31, 0xC0,                   /* xor eax, eax */
        0x31, 0xD2,                   /* xor edx, edx */
        0x05, 0xB9, 0x79, 0x37, 0x9E, /* l: add eax, 0x9E3779B9 */
        0x83, 0xD2, 0x00,             /* adc edx, 0 */
        0x03, 0x06,                   /* add eax, [esi] */
        0x13, 0x56, 0x04,             /* adc edx, [esi+4] */
        0x29, 0xC3,                   /* sub ebx, eax */
        0x19, 0xD7,                   /* sbb edi, edx */
        0xD1, 0xE3,                   /* shl ebx, 1 */
        0x11, 0xDD,                   /* adc ebp, ebx */
        0x83, 0xD8, 0x07,             /* sbb eax, 7 */
        0x89, 0x46, 0x08,             /* mov [esi+8], eax */
        0x89, 0x16,                   /* mov [esi], edx */
        0x39, 0xD0,                   /* cmp eax, edx */
        0x19, 0xED,                   /* sbb ebp, ebp */
        0x83, 0xC6, 0x04,             /* add esi, 4 */
        0x49,                         /* dec ecx */
        0x75, 0xD9,                   /* jnz l */
        0x9C, 0x5A,                   /* pushfd; pop edx */
        0xF4,                         /* hlt */
    };
    static const unsigned inlined[] = {0x11, 0x13, 0x19, 0x83};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* NEG, BT with an immediate (register and memory, flags read by JAE and
 * ADC) and PUSH from memory: the interpreter's state, without handlers. */
START_TEST(hot_neg_bt_push_same_as_interpreter) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00, /* mov ecx, 300 */
        0xBE, 0x00, 0x00, 0x05, 0x00, /* mov esi, 0x50000 */
        0x89, 0xC8,                   /* l: mov eax, ecx */
        0xF7, 0xD8,                   /* neg eax */
        0x89, 0x06,                   /* mov [esi], eax */
        0x0F, 0xBA, 0x26, 0x03,       /* bt dword [esi], 3 */
        0x73, 0x01,                   /* jae skip */
        0x43,                         /* inc ebx */
        0x0F, 0xBA, 0xE1, 0x01,       /* skip: bt ecx, 1 */
        0x83, 0xD7, 0x00,             /* adc edi, 0 */
        0xFF, 0x36,                   /* push dword [esi] */
        0x5A,                         /* pop edx */
        0x01, 0xD5,                   /* add ebp, edx */
        0xF7, 0xDA,                   /* neg edx */
        0x83, 0xDD, 0x00,             /* sbb ebp, 0 */
        0x83, 0xC6, 0x04,             /* add esi, 4 */
        0x49,                         /* dec ecx */
        0x75, 0xDC,                   /* jnz l */
        0x9C, 0x58,                   /* pushfd; pop eax */
        0xF4,                         /* hlt */
    };
    static const unsigned inlined[] = {0xF7, 0x1BA, 0xFF};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* The instructions of the kernel's system-call and fork paths: PUSH imm,
 * LEAVE, CDQ, CWDE, BSWAP, XADD and (LOCK) CMPXCHG on memory (equal and
 * not), BTS/BTR/BTC with an immediate (flags read by ADC/SBB), STD/CLD:
 * the interpreter's state, without their handlers under the jit. */
START_TEST(hot_kernel_forms_same_as_interpreter) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00, /* mov ecx, 300 */
        0xBE, 0x00, 0x00, 0x05, 0x00, /* mov esi, 0x50000 */
        0x55,                         /* l: push ebp */
        0x89, 0xE5,                   /* mov ebp, esp */
        0x68, 0x78, 0x56, 0x34, 0x12, /* push 0x12345678 */
        0x6A, 0xFD,                   /* push -3 */
        0x58,                         /* pop eax */
        0x5A,                         /* pop edx */
        0x01, 0xC7,                   /* add edi, eax */
        0x01, 0xD3,                   /* add ebx, edx */
        0x89, 0xC8,                   /* mov eax, ecx */
        0xC1, 0xE0, 0x17,             /* shl eax, 23 */
        0x99,                         /* cdq */
        0x01, 0xD7,                   /* add edi, edx */
        0x98,                         /* cwde */
        0x01, 0xC3,                   /* add ebx, eax */
        0x0F, 0xC8,                   /* bswap eax */
        0x01, 0xC3,                   /* add ebx, eax */
        0x89, 0x0E,                   /* mov [esi], ecx */
        0x0F, 0xC1, 0x1E,             /* xadd [esi], ebx */
        0x83, 0xD7, 0x00,             /* adc edi, 0 */
        0xF0, 0x0F, 0xB1, 0x16,       /* lock cmpxchg [esi], edx */
        0x83, 0xDF, 0x00,             /* sbb edi, 0 */
        0x8B, 0x06,                   /* mov eax, [esi] */
        0x0F, 0xB1, 0x1E,             /* cmpxchg [esi], ebx */
        0x83, 0xD7, 0x00,             /* adc edi, 0 */
        0x0F, 0xBA, 0x2E, 0x05,       /* bts dword [esi], 5 */
        0x83, 0xD7, 0x00,             /* adc edi, 0 */
        0x0F, 0xBA, 0xF0, 0x03,       /* btr eax, 3 */
        0x83, 0xD7, 0x00,             /* adc edi, 0 */
        0x01, 0xC3,                   /* add ebx, eax */
        0x0F, 0xBA, 0x3E, 0x1F,       /* btc dword [esi], 31 */
        0x83, 0xD7, 0x00,             /* adc edi, 0 */
        0xFD,                         /* std */
        0x9C,                         /* pushfd */
        0x58,                         /* pop eax */
        0x01, 0xC3,                   /* add ebx, eax */
        0xFC,                         /* cld */
        0xC9,                         /* leave */
        0x83, 0xC6, 0x04,             /* add esi, 4 */
        0x49,                         /* dec ecx */
        0x75, 0xA6,                   /* jnz l */
        0x9C, 0x58,                   /* pushfd; pop eax */
        0xF4,                         /* hlt */
    };
    static const unsigned inlined[] = {0x68,  0x6A,  0xC9,  0x99, 0x98, 0x1C8,
                                       0x1C1, 0x1B1, 0x1BA, 0xFC, 0xFD};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
    ck_assert_uint_ne(a[R_EDI], 0);
}
END_TEST

/* MOV DS in the middle of hot blocks, alternating between a flat data
 * segment and one with base 0x10000, and CLI: blocks go on past them,
 * and the jit leaves a block whose mode bits (TBF_FLAT) the load changed,
 * so DS-relative accesses after it see the base (the interpreter's
 * state; a block that went on with the flat fast path would write
 * elsewhere). */
static void ds_base_setup(void) {
    tm_set_desc(tm, 7, 0x10000, 0xFFFFF, 0x93, 0xC0); /* 0x38: 32-bit data, base 0x10000 */
}
START_TEST(hot_data_segment_loads_inside_blocks) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00,       /* mov ecx, 300 */
        0xBE, 0x00, 0x00, 0x04, 0x00,       /* mov esi, 0x40000 */
        0xB8, 0x38, 0x00, 0x00, 0x00,       /* l: mov eax, 0x38 (32-bit data, base 0x10000) */
        0x8E, 0xD8,                         /* mov ds, eax */
        0x89, 0x0E,                         /* mov [esi], ecx */
        0x01, 0x4E, 0x04,                   /* add [esi+4], ecx */
        0xBA, 0x10, 0x00, 0x00, 0x00,       /* mov edx, 0x10 (flat data) */
        0x8E, 0xDA,                         /* mov ds, edx */
        0x89, 0x16,                         /* mov [esi], edx (flat: the TLB maps esi) */
        0x01, 0x8E, 0x08, 0x00, 0x01, 0x00, /* add [esi+0x10008], ecx */
        0xFA,                               /* cli */
        0x83, 0xC6, 0x04,                   /* add esi, 4 */
        0x49,                               /* dec ecx */
        0x75, 0xDE,                         /* jnz l */
        0xF4,                               /* hlt */
    };
    uint32_t a[10];
    prog_setup = ds_base_setup;
    expect_same_as_interpreter(prog, sizeof prog, a, NULL, 0);
    prog_setup = NULL;
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
    /* slot 300: the flat add of the pass with ecx = 2, then the based add of ecx = 1 */
    ck_assert_uint_eq(tm_peek32(tm, 0x50000 + 4 * 300), 2 + 1);
}
END_TEST

/* FS switching inside a hot block between a 4 GiB data segment (base
 * 0x10000) and one with a limit (base 0x20000) that the 150th pass
 * exceeds: the block must leave after each load (the mode bits changed),
 * so that the access after the second one is limit-checked and raises
 * #GP as in the interpreter. */
static void fs_limit_setup(void) {
    ds_base_setup();
    tm_set_desc(tm, 8, 0x20000, 0x40257, 0x93, 0x40); /* 0x40: byte-granular limit */
    cpu->gdtr.limit = 9 * 8 - 1;
}
START_TEST(hot_fs_loads_inside_blocks) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00, /* mov ecx, 300 */
        0xBE, 0x00, 0x00, 0x04, 0x00, /* mov esi, 0x40000 */
        0xB8, 0x38, 0x00, 0x00, 0x00, /* l: mov eax, 0x38 */
        0x8E, 0xE0,                   /* mov fs, eax */
        0x64, 0x89, 0x0E,             /* mov fs:[esi], ecx */
        0xBA, 0x40, 0x00, 0x00, 0x00, /* mov edx, 0x40 */
        0x8E, 0xE2,                   /* mov fs, edx */
        0x64, 0x01, 0x0E,             /* add fs:[esi], ecx (#GP when ecx = 150) */
        0x83, 0xC6, 0x04,             /* add esi, 4 */
        0x49,                         /* dec ecx */
        0x75, 0xE6,                   /* jnz l */
        0xF4,                         /* hlt */
    };
    uint32_t a[10];
    prog_setup = fs_limit_setup;
    expect_same_as_interpreter(prog, sizeof prog, a, NULL, 0);
    prog_setup = NULL;
    ck_assert_uint_eq(cpu->regs[R_ECX], 150);
    ck_assert_uint_ge(cpu->eip, TM_STUB(13));
    ck_assert_uint_le(cpu->eip, TM_STUB(13) + 1);
    /* pass k (ECX = 300 - k): the store at 0x50000 + 4k, the add at 0x60000 + 4k */
    ck_assert_uint_eq(tm_peek32(tm, 0x50000 + 4 * 150), 150);
    ck_assert_uint_eq(tm_peek32(tm, 0x60000 + 4 * 150), 0); /* faulted */
    ck_assert_uint_eq(tm_peek32(tm, 0x60000 + 4 * 149), 151);
}
END_TEST

/* A hot CALL to another page, chained to the callee's code, and then the
 * callee's page remapped to other bytes (PTE write, INVLPG): the chained
 * jump checks the TLB's mapping of the target first and so runs the new
 * callee, as the interpreter does. */
static void remap_setup(void) {
    tm_paging(tm, 4);
    tm_poke(tm, 0x30000, (uint8_t[]){0x83, 0xC0, 0x64, 0xC3}, 4); /* f2: add eax, 100; ret */
}
START_TEST(hot_call_to_other_page_then_remapped) {
    static uint8_t prog[0x1004];
    static const uint8_t main_code[] = {
        0xB9, 0xD0, 0x07, 0x00, 0x00,             /* mov ecx, 2000 */
        0xE8, 0xF6, 0x0F, 0x00, 0x00,             /* l: call f (0x21000) */
        0x81, 0xF9, 0xE8, 0x03, 0x00, 0x00,       /* cmp ecx, 1000 */
        0x75, 0x11,                               /* jne skip */
        0xC7, 0x05, 0x84, 0x10, 0x01, 0x00,       /* mov dword [PTE of 0x21000], */
        0x03, 0x00, 0x03, 0x00,                   /*   0x30000 | present | writable */
        0x0F, 0x01, 0x3D, 0x00, 0x10, 0x02, 0x00, /* invlpg [0x21000] */
        0x49,                                     /* skip: dec ecx */
        0x75, 0xDF,                               /* jnz l */
        0xF4,                                     /* hlt */
    };
    memcpy(prog, main_code, sizeof main_code);
    memcpy(prog + 0x1000, (uint8_t[]){0x83, 0xC0, 0x01, 0xC3}, 4); /* f: add eax, 1; ret */
    uint32_t a[10];
    prog_setup = remap_setup;
    expect_same_as_interpreter(prog, sizeof prog, a, NULL, 0);
    prog_setup = NULL;
    ck_assert_uint_eq(a[R_EAX], 1001 + 999 * 100);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof main_code);
    if (dbt_engine(cpu) == ENGINE_JIT) ck_assert_uint_gt(stats()->jit_links, 0);
}
END_TEST

/* 32-bit ADD/SUB/AND/OR/XOR of a register with memory, their flags read
 * by the next instruction (ADC, SETcc) or dead: the interpreter's state,
 * without their handlers under the jit. */
START_TEST(hot_alu_register_memory_same_as_interpreter) {
    static const uint8_t prog[] = {
        0xB9, 0xC8, 0x00, 0x00, 0x00,       /* mov ecx, 200 */
        0xBE, 0x00, 0x00, 0x05, 0x00,       /* mov esi, 0x50000 */
        0xBA, 0xFF, 0xFF, 0xFF, 0xFF,       /* mov edx, -1 */
        0x89, 0x0E,                         /* l: mov [esi], ecx */
        0x69, 0xC1, 0xB1, 0x79, 0x37, 0x9E, /* imul eax, ecx, 0x9E3779B1 */
        0x89, 0x46, 0x04,                   /* mov [esi+4], eax */
        0x03, 0x1E,                         /* add ebx, [esi] */
        0x83, 0xD7, 0x00,                   /* adc edi, 0 */
        0x2B, 0x7E, 0x04,                   /* sub edi, [esi+4] */
        0x83, 0xD3, 0x00,                   /* adc ebx, 0 */
        0x23, 0x56, 0x04,                   /* and edx, [esi+4] */
        0x0F, 0x94, 0xC0,                   /* setz al */
        0x0B, 0x16,                         /* or edx, [esi] */
        0x33, 0x6E, 0x04,                   /* xor ebp, [esi+4] */
        0x0F, 0x98, 0xC4,                   /* sets ah */
        0x01, 0xC5,                         /* add ebp, eax */
        0x83, 0xC6, 0x08,                   /* add esi, 8 */
        0x49,                               /* dec ecx */
        0x75, 0xD3,                         /* jnz l */
        0xF4,                               /* hlt */
    };
    static const unsigned inlined[] = {0x03, 0x2B, 0x23, 0x0B, 0x33};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* A Jcc right after a CMP whose memory operand crosses a page (so it
 * always takes the slow path through its handler): the branch must see
 * the CMP's flags, also when the fast path would have left them in the
 * host's flags. */
START_TEST(hot_compare_slow_path_then_branch) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00,       /* mov ecx, 300 */
        0xBE, 0xFE, 0x0F, 0x05, 0x00,       /* mov esi, 0x50FFE */
        0xC7, 0x06, 0x96, 0x00, 0x00, 0x00, /* mov dword [esi], 150 */
        0x3B, 0x0E,                         /* l: cmp ecx, [esi] */
        0x72, 0x01,                         /* jb +1 */
        0x43,                               /* inc ebx */
        0x49,                               /* dec ecx */
        0x75, 0xF8,                         /* jnz l */
        0xF4,                               /* hlt */
    };
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, NULL, 0);
    ck_assert_uint_eq(a[R_EBX], 151);
}
END_TEST

/* 16-bit ALU instructions on registers, immediates and memory, and 8- and
 * 16-bit flags read by Jcc, SETcc and ADC in the same block and in the
 * next: the interpreter's state, without the ALU handlers under the jit. */
START_TEST(hot_word_byte_alu_same_as_interpreter) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00,       /* mov ecx, 300 */
        0xBE, 0x00, 0x00, 0x05, 0x00,       /* mov esi, 0x50000 */
        0x89, 0xC8,                         /* l: mov eax, ecx */
        0x66, 0x05, 0x34, 0x12,             /* add ax, 0x1234 */
        0x66, 0x83, 0xF8, 0x40,             /* cmp ax, 0x40 */
        0x72, 0x01,                         /* jb s1 */
        0x43,                               /* inc ebx */
        0x66, 0x85, 0xC9,                   /* s1: test cx, cx */
        0x0F, 0x94, 0xC3,                   /* setz bl */
        0x69, 0xD1, 0x01, 0x01, 0x01, 0x01, /* imul edx, ecx, 0x01010101 */
        0x89, 0x16,                         /* mov [esi], edx */
        0x66, 0x01, 0x06,                   /* add [esi], ax */
        0x66, 0x83, 0x3E, 0x07,             /* cmp word [esi], 7 */
        0x83, 0xD7, 0x00,                   /* adc edi, 0 */
        0x66, 0x25, 0xF0, 0x0F,             /* and ax, 0x0FF0 */
        0x66, 0x3D, 0x00, 0x08,             /* cmp ax, 0x800 */
        0x0F, 0x97, 0xC0,                   /* seta al */
        0x01, 0xC5,                         /* add ebp, eax */
        0x66, 0x29, 0x46, 0x02,             /* sub [esi+2], ax */
        0x66, 0x31, 0xC3,                   /* xor bx, ax */
        0x78, 0x01,                         /* js s2 */
        0x47,                               /* inc edi */
        0x84, 0xE4,                         /* s2: test ah, ah */
        0x75, 0x01,                         /* jnz s3 */
        0x45,                               /* inc ebp */
        0x80, 0xFC, 0x30,                   /* s3: cmp ah, 0x30 */
        0x83, 0xD5, 0x00,                   /* adc ebp, 0 */
        0x00, 0xE0,                         /* add al, ah */
        0x0F, 0x92, 0xC0,                   /* setc al */
        0x01, 0xC7,                         /* add edi, eax */
        0x89, 0xC8,                         /* mov eax, ecx */
        0x3C, 0x90,                         /* cmp al, 0x90 */
        0x0F, 0x9C, 0xC0,                   /* setl al */
        0x01, 0xC3,                         /* add ebx, eax */
        0x89, 0xC8,                         /* mov eax, ecx */
        0xC1, 0xE0, 0x08,                   /* shl eax, 8 */
        0x66, 0x3D, 0x00, 0x70,             /* cmp ax, 0x7000 */
        0x0F, 0x9F, 0xC0,                   /* setg al */
        0x01, 0xC5,                         /* add ebp, eax */
        0x83, 0xC6, 0x04,                   /* add esi, 4 */
        0x49,                               /* dec ecx */
        0x75, 0x95,                         /* jnz l */
        0x9C, 0x58,                         /* pushfd; pop eax */
        0xF4,                               /* hlt */
    };
    static const unsigned inlined[] = {0x00, 0x01, 0x05, 0x25, 0x29, 0x31,
                                       0x3C, 0x3D, 0x80, 0x83, 0x84, 0x85};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* PUSH DS/FS (16 bits written into a 4-byte slot), PUSHFD, CLI at CPL 0
 * (after STI, so PUSHFD sees it) and ADC/SBB with a memory destination: the interpreter's state,
 * without their handlers under the jit. */
START_TEST(hot_push_sreg_pushf_cli_adc_mem) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00,       /* mov ecx, 300 */
        0xBE, 0x00, 0x00, 0x05, 0x00,       /* mov esi, 0x50000 */
        0xFB,                               /* l: sti */
        0x68, 0x78, 0x56, 0x34, 0x12,       /* push 0x12345678 */
        0x58,                               /* pop eax (the slot now holds 0x12345678) */
        0x1E,                               /* push ds */
        0x58,                               /* pop eax (upper half: the slot's old contents) */
        0x01, 0xC3,                         /* add ebx, eax */
        0x0F, 0xA0,                         /* push fs */
        0x5A,                               /* pop edx */
        0x01, 0xD3,                         /* add ebx, edx */
        0x81, 0xF9, 0x96, 0x00, 0x00, 0x00, /* cmp ecx, 150 */
        0xFA,                               /* cli */
        0x9C,                               /* pushfd */
        0x58,                               /* pop eax */
        0x01, 0xC7,                         /* add edi, eax */
        0x89, 0x0E,                         /* mov [esi], ecx */
        0x01, 0x1E,                         /* add [esi], ebx */
        0x11, 0x7E, 0x04,                   /* adc [esi+4], edi */
        0x83, 0x5E, 0x08, 0x05,             /* sbb dword [esi+8], 5 */
        0x81, 0x16, 0x45, 0x23, 0x01, 0x00, /* adc dword [esi], 0x12345 */
        0x83, 0xC6, 0x04,                   /* add esi, 4 */
        0x49,                               /* dec ecx */
        0x75, 0xCE,                         /* jnz l */
        0x9C, 0x58,                         /* pushfd; pop eax */
        0xF4,                               /* hlt */
    };
    static const unsigned inlined[] = {0x11, 0x1E, 0x81, 0x83, 0x9C, 0xFA, 0x1A0};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* INC/DEC and SHL/SHR/SAR by a constant on byte, word and dword memory
 * operands, their flags read by ADC/SBB and JS, and MOV m16, imm16: the
 * interpreter's state, without their handlers under the jit. */
START_TEST(hot_memory_incdec_shift_same_as_interpreter) {
    static const uint8_t prog[] = {
        0xBF, 0x00, 0x00, 0x05, 0x00,       /* mov edi, 0x50000 */
        0xB9, 0x00, 0x10, 0x00, 0x00,       /* mov ecx, 4096 */
        0xB8, 0x80, 0xC0, 0xE0, 0xF0,       /* mov eax, 0xF0E0C080 */
        0xF3, 0xAB,                         /* rep stosd (a pattern with high bits) */
        0xB9, 0x2C, 0x01, 0x00, 0x00,       /* mov ecx, 300 */
        0xBE, 0x00, 0x00, 0x05, 0x00,       /* mov esi, 0x50000 */
        0x31, 0xFF,                         /* xor edi, edi */
        0x69, 0xC1, 0xB1, 0x79, 0x37, 0x9E, /* l: imul eax, ecx, 0x9E3779B1 */
        0x89, 0x46, 0x0C,                   /* mov [esi+12], eax */
        0x01, 0xC0,                         /* add eax, eax (CF for INC to keep) */
        0x66, 0xFF, 0x06,                   /* inc word [esi] */
        0x83, 0xD7, 0x00,                   /* adc edi, 0 */
        0xFE, 0x4E, 0x02,                   /* dec byte [esi+2] */
        0x83, 0xDB, 0x00,                   /* sbb ebx, 0 */
        0xD0, 0x66, 0x03,                   /* shl byte [esi+3], 1 */
        0x83, 0xD5, 0x00,                   /* adc ebp, 0 */
        0x66, 0xC1, 0x6E, 0x04, 0x03,       /* shr word [esi+4], 3 */
        0x83, 0xDF, 0x00,                   /* sbb edi, 0 */
        0xC0, 0x7E, 0x07, 0x02,             /* sar byte [esi+7], 2 */
        0x78, 0x01,                         /* js s */
        0x43,                               /* inc ebx */
        0xC1, 0x7E, 0x08, 0x05,             /* s: sar dword [esi+8], 5 */
        0x83, 0xD3, 0x00,                   /* adc ebx, 0 */
        0xD1, 0x66, 0x0C,                   /* shl dword [esi+12], 1 */
        0x83, 0xDD, 0x00,                   /* sbb ebp, 0 */
        0x66, 0xC7, 0x46, 0x10, 0x34, 0x12, /* mov word [esi+16], 0x1234 */
        0x83, 0xC6, 0x14,                   /* add esi, 20 */
        0x49,                               /* dec ecx */
        0x75, 0xBB,                         /* jnz l */
        0x9C, 0x58,                         /* pushfd; pop eax */
        0xF4,                               /* hlt */
    };
    static const unsigned inlined[] = {0xC0, 0xC1, 0xC7, 0xD0, 0xD1, 0xFE, 0xFF};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* All sixteen conditions (SETcc, and JL) on flags that live in EFLAGS
 * (after POPFD, as after SAHF or BT): the interpreter's state, and under
 * the jit SETcc without its handler. */
START_TEST(hot_conditions_on_eflags_same_as_interpreter) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00,       /* mov ecx, 300 */
        0x31, 0xFF,                         /* xor edi, edi */
        0x69, 0xC1, 0xB1, 0x79, 0x37, 0x9E, /* l: imul eax, ecx, 0x9E3779B1 */
        0x25, 0xD5, 0x08, 0x00, 0x00,       /* and eax, 0x8D5 (OF SF ZF AF PF CF) */
        0x50,                               /* push eax */
        0x9D,                               /* popfd (the flags now live in EFLAGS) */
        0xBA, 0x00, 0x00, 0x00, 0x00,       /* mov edx, 0 */
        0x0F, 0x90, 0xC2,                   /* seto dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x91, 0xC2,                   /* setno dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x92, 0xC2,                   /* setb dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x93, 0xC2,                   /* setae dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x94, 0xC2,                   /* sete dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x95, 0xC2,                   /* setne dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x96, 0xC2,                   /* setbe dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x97, 0xC2,                   /* seta dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x98, 0xC2,                   /* sets dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x99, 0xC2,                   /* setns dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x9A, 0xC2,                   /* setp dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x9B, 0xC2,                   /* setnp dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x9C, 0xC2,                   /* setl dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x9D, 0xC2,                   /* setge dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x9E, 0xC2,                   /* setle dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x0F, 0x9F, 0xC2,                   /* setg dl */
        0x8D, 0x3C, 0x7A,                   /* lea edi, [edx+edi*2] */
        0x7C, 0x01,                         /* jl s */
        0x43,                               /* inc ebx */
        0x49,                               /* s: dec ecx */
        0x75, 0x88,                         /* jnz l */
        0xF4,                               /* hlt */
    };
    static const unsigned inlined[] = {0x190, 0x191, 0x192, 0x193, 0x194, 0x195, 0x196, 0x197,
                                       0x198, 0x199, 0x19A, 0x19B, 0x19C, 0x19D, 0x19E, 0x19F};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* FLD, FST and FSTP with m32fp and m64fp operands (and a denormal load,
 * which takes the handler), then FNSTENV each pass: the same registers,
 * memory and x87 environments (status, tags, last instruction and operand
 * pointers) as the interpreter, and under the jit no DD handler calls. */
START_TEST(hot_x87_loads_stores_same_as_interpreter) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00,             /* mov ecx, 300 */
        0xBE, 0x00, 0x00, 0x05, 0x00,             /* mov esi, 0x50000 */
        0xDB, 0xE3,                               /* fninit */
        0x89, 0x0E,                               /* l: mov [esi], ecx */
        0xC7, 0x46, 0x04, 0x01, 0x00, 0x00, 0x00, /* mov dword [esi+4], 1 */
        0xD9, 0x46, 0x04,                         /* fld dword [esi+4] (a denormal: the handler) */
        0xDB, 0x5E, 0x04,                         /* fistp dword [esi+4] */
        0xDB, 0x06,                               /* fild dword [esi] */
        0xDD, 0x5E, 0x08,                         /* fstp qword [esi+8] */
        0xDD, 0x46, 0x08,                         /* fld qword [esi+8] */
        0xDC, 0x46, 0x08,                         /* fadd qword [esi+8] */
        0xDD, 0x56, 0x10,                         /* fst qword [esi+16] */
        0xD9, 0x5E, 0x18,                         /* fstp dword [esi+24] */
        0xD9, 0x46, 0x18,                         /* fld dword [esi+24] */
        0xD8, 0xC8,                               /* fmul st0, st0 */
        0xD9, 0xEB,                               /* fldpi */
        0xDE, 0xC9,                               /* fmulp st1, st0: inexact (C1 of the store) */
        0xDD, 0x5E, 0x20,                         /* fstp qword [esi+32] */
        0xD9, 0x76, 0x28,                         /* fnstenv [esi+40] (pointers of the FSTP) */
        0x83, 0xC6, 0x44,                         /* add esi, 68 */
        0x49,                                     /* dec ecx */
        0x75, 0xCB,                               /* jnz l */
        0xF4,                                     /* hlt */
    };
    static const unsigned inlined[] = {0xDD};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* INC/DEC at the start of a block keep CF from flags recorded elsewhere
 * (a 32-bit CMP, TEST, ADD, a byte CMP, STC, INC), read back by ADC: the
 * interpreter's state, without INC/DEC or ADC handlers under the jit. */
START_TEST(hot_incdec_keep_carry_across_blocks) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00,       /* mov ecx, 300 */
        0x81, 0xF9, 0x96, 0x00, 0x00, 0x00, /* l: cmp ecx, 150 */
        0x75, 0x00,                         /* jnz $+2 (ends the block) */
        0x43,                               /* inc ebx (CF of the CMP kept) */
        0x83, 0xD7, 0x00,                   /* adc edi, 0 */
        0xF7, 0xC1, 0x03, 0x00, 0x00, 0x00, /* test ecx, 3 */
        0x74, 0x00,                         /* jz $+2 */
        0x43,                               /* inc ebx (CF 0) */
        0x83, 0xD7, 0x00,                   /* adc edi, 0 */
        0x01, 0xC8,                         /* add eax, ecx */
        0x75, 0x00,                         /* jnz $+2 */
        0x4B,                               /* dec ebx (CF of the ADD) */
        0x83, 0xD7, 0x00,                   /* adc edi, 0 */
        0x80, 0xF9, 0x07,                   /* cmp cl, 7 */
        0x75, 0x00,                         /* jnz $+2 */
        0x43,                               /* inc ebx (CF of a byte CMP: the core) */
        0x83, 0xD7, 0x00,                   /* adc edi, 0 */
        0xF9,                               /* stc (CF in EFLAGS) */
        0xEB, 0x00,                         /* jmp $+2 */
        0x43,                               /* inc ebx */
        0x83, 0xD7, 0x00,                   /* adc edi, 0 */
        0x43,                               /* inc ebx */
        0x75, 0x00,                         /* jnz $+2 */
        0x43,                               /* inc ebx (after INC: CF in EFLAGS) */
        0x83, 0xD7, 0x00,                   /* adc edi, 0 */
        0x49,                               /* dec ecx */
        0x75, 0xC6,                         /* jnz l */
        0xF4,                               /* hlt */
    };
    static const unsigned inlined[] = {0x43, 0x4B, 0x83};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* A block that leaves in its middle (an unfinished REP STOSB: EIP stays on
 * it) for 51 passes and then runs to its final JNZ: the dispatcher must not
 * link that JNZ's exit to the block at the REP, where EIP was when the
 * block left through its middle. */
START_TEST(hot_mid_block_exit_not_linked_as_branch) {
    static const uint8_t prog[] = {
        0xBB, 0x64, 0x00, 0x00, 0x00,       /* mov ebx, 100 */
        0x31, 0xF6,                         /* xor esi, esi */
        0x31, 0xC0,                         /* xor eax, eax */
        0xBF, 0x00, 0x00, 0x05, 0x00,       /* l: mov edi, 0x50000 */
        0x83, 0xFB, 0x32,                   /* cmp ebx, 50 */
        0x19, 0xC9,                         /* sbb ecx, ecx */
        0x81, 0xE1, 0x01, 0xE0, 0xFF, 0xFF, /* and ecx, 1 - 0x2000 */
        0x81, 0xC1, 0x00, 0x20, 0x00, 0x00, /* add ecx, 0x2000: two batches of REP, or 1 */
        0x01, 0xCE,                         /* add esi, ecx */
        0xF3, 0xAA,                         /* rep stosb */
        0x4B,                               /* dec ebx */
        0x75, 0xE3,                         /* jnz l */
        0xF4,                               /* hlt */
    };
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, NULL, 0);
    ck_assert_uint_eq(cpu->regs[R_ESI], 51 * 0x2000 + 49);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* SETcc and CMOVcc (register and memory operands) on flags from an inline
 * CMP, from a shift by CL (a count of 0 every 32 passes: flags kept) and
 * from IMUL (overflow) and ROL/ROR (through the core's cpu_cond), and
 * byte moves of immediates: the interpreter's state, without handlers. */
START_TEST(hot_setcc_cmovcc_same_as_interpreter) {
    static const uint8_t prog[] = {
        0xB9, 0x2C, 0x01, 0x00, 0x00,             /* mov ecx, 300 */
        0xBE, 0x00, 0x00, 0x05, 0x00,             /* mov esi, 0x50000 */
        0x89, 0xC8,                               /* l: mov eax, ecx */
        0x83, 0xE0, 0x07,                         /* and eax, 7 */
        0x83, 0xF8, 0x03,                         /* cmp eax, 3 */
        0x0F, 0x92, 0xC3,                         /* setb bl */
        0x0F, 0x9F, 0x06,                         /* setg [esi] */
        0x0F, 0x4C, 0xD1,                         /* cmovl edx, ecx */
        0x0F, 0x44, 0x3E,                         /* cmovz edi, [esi] */
        0xD3, 0xE0,                               /* shl eax, cl */
        0x0F, 0x95, 0xC7,                         /* setnz bh */
        0x0F, 0xAF, 0xC1,                         /* imul eax, ecx */
        0x0F, 0x90, 0x86, 0x00, 0x10, 0x00, 0x00, /* seto [esi+0x1000] */
        0x0F, 0x48, 0xE8,                         /* cmovs ebp, eax */
        0xC1, 0xC2, 0x05,                         /* rol edx, 5 */
        0x0F, 0x90, 0x86, 0x00, 0x20, 0x00, 0x00, /* seto [esi+0x2000] */
        0xC1, 0xCF, 0x03,                         /* ror edi, 3 */
        0x0F, 0x92, 0x86, 0x00, 0x28, 0x00, 0x00, /* setc [esi+0x2800] */
        0xB4, 0x5A,                               /* mov ah, 0x5A */
        0xC6, 0x86, 0x00, 0x30, 0x00, 0x00, 0x77, /* mov byte [esi+0x3000], 0x77 */
        0x01, 0x5E, 0x04,                         /* add [esi+4], ebx */
        0x83, 0xC6, 0x01,                         /* add esi, 1 */
        0xEB, 0x00,                               /* jmp $+2: flags from the last block */
        0x0F, 0x92, 0x86, 0x00, 0x38, 0x00, 0x00, /* setc [esi+0x3800] */
        0x39, 0xC3,                               /* cmp ebx, eax */
        0xEB, 0x00,                               /* jmp $+2 */
        0x0F, 0x9C, 0x86, 0x00, 0x40, 0x00, 0x00, /* setl [esi+0x4000] */
        0x21, 0xD8,                               /* and eax, ebx */
        0xEB, 0x00,                               /* jmp $+2 */
        0x0F, 0x98, 0x86, 0x00, 0x48, 0x00, 0x00, /* sets [esi+0x4800] */
        0x49,                                     /* dec ecx */
        0x75, 0x95,                               /* jnz l */
        0x9C, 0x58,                               /* pushfd; pop eax */
        0xF4,                                     /* hlt */
    };
    static const unsigned inlined[] = {0x192, 0x19F, 0x195, 0x14C, 0x144, 0x148,
                                       0xD3,  0x1AF, 0x190, 0xC1,  0xB4,  0xC6};
    uint32_t a[10];
    expect_same_as_interpreter(prog, sizeof prog, a, inlined, sizeof inlined / sizeof *inlined);
    ck_assert_uint_eq(cpu->eip, TM_CODE + sizeof prog);
}
END_TEST

/* -singlestep: every block holds one instruction, and the results agree. */
START_TEST(singlestep_one_instruction_per_block) {
    dbt_set_singlestep(cpu, true);
    POKE(TM_CODE, 0xB9, 0x05, 0, 0, 0, 0x40, 0xE2, 0xFD,
         0xF4); /* mov ecx,5; l: inc eax; loop l; hlt */
    cpu->regs[R_EAX] = 0;
    tm_run(tm, 100);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EAX], 5);
    ck_assert_uint_eq(stats()->blocks_translated, stats()->insns_translated);
}
END_TEST

static Suite *dbt_suite(void) {
    Suite *s = suite_create("dbt");
    TCase *tc = tcase_create("threaded");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, smc_rewrites_next_instruction);
    tcase_add_test(tc, smc_loop_patches_itself);
    tcase_add_test(tc, smc_other_page);
    tcase_add_test(tc, dma_write_invalidates);
    tcase_add_test(tc, invalidation_is_exact);
    tcase_add_test(tc, fault_mid_block_is_precise);
    tcase_add_test(tc, page_crossing_instruction);
    tcase_add_test(tc, hot_page_crossing_instruction_rewritten);
    tcase_add_test(tc, interrupt_during_chained_loop);
    tcase_add_test(tc, exact_instruction_count);
    tcase_add_test(tc, ip_wraps_after_instruction_ending_at_64k);
    tcase_add_test(tc, same_state_as_interpreter);
    tcase_add_test(tc, hot_loop_then_fault_in_compiled_code);
    tcase_add_test(tc, rewritten_chained_loop);
    tcase_add_test(tc, singlestep_one_instruction_per_block);
    tcase_add_test(tc, compare_branch_loop_counts);
    tcase_add_test(tc, hot_mix_same_as_interpreter);
    tcase_add_test(tc, hot_bytes_and_imul_same_as_interpreter);
    tcase_add_test(tc, rep_string_bulk_semantics);
    tcase_add_test(tc, hot_call_ret_then_stack_fault);
    tcase_add_test(tc, hot_indirect_and_cross_page_branches);
    tcase_add_test(tc, hot_segment_base_and_indirect_branches);
    tcase_add_test(tc, hot_adc_sbb_same_as_interpreter);
    tcase_add_test(tc, hot_neg_bt_push_same_as_interpreter);
    tcase_add_test(tc, hot_kernel_forms_same_as_interpreter);
    tcase_add_test(tc, hot_data_segment_loads_inside_blocks);
    tcase_add_test(tc, hot_word_byte_alu_same_as_interpreter);
    tcase_add_test(tc, hot_push_sreg_pushf_cli_adc_mem);
    tcase_add_test(tc, hot_memory_incdec_shift_same_as_interpreter);
    tcase_add_test(tc, hot_conditions_on_eflags_same_as_interpreter);
    tcase_add_test(tc, hot_x87_loads_stores_same_as_interpreter);
    tcase_add_test(tc, hot_incdec_keep_carry_across_blocks);
    tcase_add_test(tc, hot_setcc_cmovcc_same_as_interpreter);
    tcase_add_test(tc, hot_mid_block_exit_not_linked_as_branch);
    tcase_add_test(tc, sti_shadow_inside_hot_block);
    tcase_add_test(tc, popf_opening_interrupt_window_inside_block);
    tcase_add_test(tc, hot_fs_loads_inside_blocks);
    tcase_add_test(tc, hot_call_to_other_page_then_remapped);
    tcase_add_test(tc, hot_alu_register_memory_same_as_interpreter);
    tcase_add_test(tc, hot_compare_slow_path_then_branch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(dbt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
