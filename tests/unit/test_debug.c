/*
 * test_debug.c - a debugger's breakpoints and watchpoints (cpu/debug.c)
 * under the engine BT86_ACCEL names (the -threaded and -interp variants
 * run the same tests): a breakpoint in the middle of a block that the jit
 * has already compiled stops exactly there, once per pass (also once the
 * blocks around it are compiled again: none chains past it), and removing it
 * leaves the program's results and instruction count unchanged; real-mode
 * breakpoints are linear (CS base + IP); a write, read or access
 * watchpoint stops right after the accessing instruction (EIP at the next
 * one), also in compiled code and when an interrupt becomes pending at
 * that very moment (it is taken only after the debugger resumes); a
 * breakpoint under an interrupt shadow keeps the shadow.
 */
#include <check.h>
#include <stdlib.h>

#include "dbt/dbt.h"
#include "testmachine.h"

static TestMachine *tm;
static CPU *cpu;

static void setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
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

/* 0: mov ecx,1000; 5: xor eax,eax; 7: inc eax; 8: add edx,eax; a: inc ebx;
 * b: loop 7; d: hlt */
static void poke_loop(void) {
    POKE(TM_CODE, 0xB9, 0xE8, 0x03, 0, 0, 0x31, 0xC0, 0x40, 0x01, 0xC2, 0x43, 0xE2, 0xFA, 0xF4);
}

START_TEST(break_in_hot_block) {
    poke_loop();
    cpu->regs[R_EDX] = 0;
    ck_assert_int_eq(cpu_run(cpu, 402), CPU_EXIT_COUNT); /* 100 passes: hot, compiled */
    ck_assert(cpu_debug_insert_break(cpu, TM_CODE + 0xa, false));
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
    ck_assert_uint_eq(cpu->eip, 0xa + TM_CODE);
    ck_assert_int_eq(cpu->debug.stop, CPU_STOP_BREAK);
    uint32_t ebx = cpu->regs[R_EBX];
    ck_assert_uint_eq(ebx, 100);
    ck_assert_uint_eq(cpu->icount, 402 + 2); /* inc eax; add edx, eax */
    for (int pass = 1; pass <= 40; pass++) { /* resuming runs exactly one pass, also once
                                                the blocks around it are compiled */
        cpu_debug_resume(cpu);
        ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
        ck_assert_uint_eq(cpu->eip, TM_CODE + 0xa);
        ck_assert_uint_eq(cpu->regs[R_EBX], ebx + (uint32_t)pass);
    }
    ck_assert(cpu_debug_remove_break(cpu, TM_CODE + 0xa, false));
    ck_assert_uint_eq(cpu->debug.nbreak, 0);
    tm_run(tm, 100000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EAX], 1000);
    ck_assert_uint_eq(cpu->regs[R_EBX], 1000);
    ck_assert_uint_eq(cpu->regs[R_EDX], 1000 * 1001 / 2);
    ck_assert_uint_eq(cpu->icount, 2 + 4 * 1000 + 1);
}
END_TEST

/* A breakpoint never stops a run that does not reach it, and one that is
 * inserted twice and removed once is still there. */
START_TEST(break_insert_remove_rules) {
    poke_loop();
    ck_assert(cpu_debug_insert_break(cpu, TM_CODE + 0xd, false));
    ck_assert(cpu_debug_insert_break(cpu, TM_CODE + 0xd, true));
    ck_assert(cpu_debug_remove_break(cpu, TM_CODE + 0xd, false));
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK); /* at the hlt */
    ck_assert_uint_eq(cpu->eip, TM_CODE + 0xd);
    ck_assert_uint_eq(cpu->regs[R_EBX], 1000);
    ck_assert_uint_eq(cpu->debug.hit_break.kinds, 2); /* the hardware one */
}
END_TEST

/* Real mode: CS 07C0, code at IP 0 (linear 0x7C00): nop x4; hlt. A
 * breakpoint at linear 0x7C02 stops with IP 2. */
START_TEST(break_real_mode_linear) {
    tm_real(tm, 0x07C0, 0);
    POKE(0x7C00, 0x90, 0x90, 0x90, 0x90, 0xF4);
    ck_assert(cpu_debug_insert_break(cpu, 0x7C02, false));
    ck_assert_int_eq(cpu_run(cpu, 100), CPU_EXIT_BREAK);
    ck_assert_uint_eq(cpu->eip, 2);
    ck_assert_uint_eq(cpu->icount, 2);
    cpu_debug_resume(cpu);
    tm_run(tm, 100);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, 5);
}
END_TEST

/* 0: mov ecx,100; 5: mov [0x50000],ecx; b: mov eax,[0x50004]; 10: inc ebx;
 * 11: loop 5; 13: hlt */
static void poke_store_loop(void) {
    POKE(TM_CODE, 0xB9, 100, 0, 0, 0, 0x89, 0x0D, 0x00, 0x00, 0x05, 0x00, 0xA1, 0x04, 0x00, 0x05,
         0x00, 0x43, 0xE2, 0xF2, 0xF4);
}

START_TEST(watch_write_stops_after_insn) {
    poke_store_loop();
    ck_assert_int_eq(cpu_run(cpu, 1 + 4 * 40), CPU_EXIT_COUNT); /* hot */
    ck_assert(cpu_debug_insert_watch(cpu, 0x50002, 2, CPU_WATCH_WRITE));
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
    ck_assert_int_eq(cpu->debug.stop, CPU_STOP_WATCH);
    ck_assert_uint_eq(cpu->debug.hit_watch.lin, 0x50002);
    ck_assert(cpu->debug.hit_write);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 0xb); /* the store has completed */
    ck_assert_uint_eq(tm_peek32(tm, 0x50000), 60);
    ck_assert_uint_eq(cpu->icount, 1 + 4 * 40 + 1);
    /* The next pass stops again, one store later. */
    cpu_debug_resume(cpu);
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
    ck_assert_uint_eq(tm_peek32(tm, 0x50000), 59);
    /* A write watchpoint ignores the reads of [0x50004]. */
    ck_assert(cpu_debug_remove_watch(cpu, 0x50002, 2, CPU_WATCH_WRITE));
    ck_assert(cpu_debug_insert_watch(cpu, 0x50004, 4, CPU_WATCH_WRITE));
    cpu_debug_resume(cpu);
    tm_run(tm, 100000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EBX], 100);
}
END_TEST

/* Suspended, the breakpoints and watchpoints stop nothing; restored,
 * they stop the CPU as before (reverse.c runs forward this way). */
START_TEST(suspend_and_restore) {
    poke_store_loop();
    ck_assert(cpu_debug_insert_watch(cpu, 0x50002, 2, CPU_WATCH_WRITE));
    ck_assert(cpu_debug_insert_break(cpu, TM_CODE + 0x10, false));
    CpuDebug saved;
    cpu_debug_suspend(cpu, &saved);
    ck_assert_uint_eq(cpu->debug.nbreak + cpu->debug.nwatch, 0);
    ck_assert_int_eq(cpu_run(cpu, 1 + 4 * 40), CPU_EXIT_COUNT);
    ck_assert_uint_eq(cpu->icount, 1 + 4 * 40);
    cpu_debug_restore(cpu, &saved);
    ck_assert_uint_eq(cpu->debug.nbreak, 1);
    ck_assert_uint_eq(cpu->debug.nwatch, 1);
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
    ck_assert_int_eq(cpu->debug.stop, CPU_STOP_WATCH);
    ck_assert_uint_eq(cpu->icount, 1 + 4 * 40 + 1);
    cpu_debug_resume(cpu);
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
    ck_assert_int_eq(cpu->debug.stop, CPU_STOP_BREAK);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 0x10);
    ck_assert_uint_eq(cpu->icount, 1 + 4 * 40 + 2);
}
END_TEST

START_TEST(watch_read_and_access) {
    poke_store_loop();
    ck_assert_int_eq(cpu_run(cpu, 1 + 4 * 40), CPU_EXIT_COUNT);
    ck_assert(cpu_debug_insert_watch(cpu, 0x50004, 1, CPU_WATCH_READ));
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
    ck_assert(!cpu->debug.hit_write);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 0x10); /* after the load */
    ck_assert(cpu_debug_remove_watch(cpu, 0x50004, 1, CPU_WATCH_READ));
    /* An access watchpoint on the stored dword catches the store. */
    ck_assert(cpu_debug_insert_watch(cpu, 0x50000, 8, CPU_WATCH_ACCESS));
    cpu_debug_resume(cpu);
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
    ck_assert(cpu->debug.hit_write);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 0xb);
    ck_assert(!cpu_debug_insert_watch(cpu, 0x50000, 0, CPU_WATCH_WRITE));
    ck_assert(!cpu_debug_insert_watch(cpu, 0x50000, 9, CPU_WATCH_WRITE));
}
END_TEST

/* The watched page is stored to on every pass, the watched dword only on
 * pass 51: by then the loop runs as host code (jit), whose inline TLB
 * misses on that page. 0: mov ecx,100; 5: mov [0x50000+ecx*4],ecx;
 * c: inc ebx; d: loop 5; f: hlt */
START_TEST(watch_in_compiled_code) {
    POKE(TM_CODE, 0xB9, 100, 0, 0, 0, 0x89, 0x0C, 0x8D, 0x00, 0x00, 0x05, 0x00, 0x43, 0xE2, 0xF6,
         0xF4);
    cpu->regs[R_EBX] = 0;
    ck_assert(cpu_debug_insert_watch(cpu, 0x50000 + 50 * 4, 4, CPU_WATCH_WRITE));
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 0xc);
    ck_assert_uint_eq(tm_peek32(tm, 0x50000 + 50 * 4), 50);
    ck_assert_uint_eq(cpu->regs[R_EBX], 50);
    if (dbt_engine(cpu) == ENGINE_JIT) ck_assert_uint_ge(dbt_stats(cpu)->blocks_compiled, 1);
    cpu_debug_resume(cpu);
    tm_run(tm, 100000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EBX], 100);
}
END_TEST

/* The interrupt line rises when the watched store retires. */
static uint64_t irq_at;
static bool irq_from_count(void *opaque) {
    (void)opaque;
    return cpu->icount >= irq_at;
}
static int irq_vector(void *opaque) {
    (void)opaque;
    irq_at = UINT64_MAX;
    return 0x20;
}

START_TEST(watch_before_pending_interrupt) {
    poke_store_loop();
    irq_at = UINT64_MAX;
    cpu->irq_pending = irq_from_count;
    cpu->irq_ack = irq_vector;
    cpu->eflags |= FL_IF;
    ck_assert_int_eq(cpu_run(cpu, 1 + 4 * 40), CPU_EXIT_COUNT);
    ck_assert(cpu_debug_insert_watch(cpu, 0x50000, 4, CPU_WATCH_WRITE));
    irq_at = cpu->icount + 1; /* the store's retirement */
    ck_assert_int_eq(cpu_run(cpu, 100000), CPU_EXIT_BREAK);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 0xb); /* not the handler */
    ck_assert_uint_eq(cpu->regs[R_ESP], TM_STACK0);
    cpu_debug_clear(cpu);
    cpu_debug_resume(cpu);
    tm_run(tm, 100);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_STUB(0x20) + 1); /* now it is taken */
}
END_TEST

/* A breakpoint on the instruction under MOV SS's interrupt shadow: when
 * the debugger resumes, that instruction runs before a pending interrupt.
 * 0: mov eax,ss; 2: mov ss,eax; 4: inc ebx; 5: inc ecx; 6: hlt */
START_TEST(break_under_interrupt_shadow) {
    POKE(TM_CODE, 0x8C, 0xD0, 0x8E, 0xD0, 0x43, 0x41, 0xF4);
    cpu->eflags |= FL_IF;
    cpu->regs[R_EBX] = 0;
    ck_assert(cpu_debug_insert_break(cpu, TM_CODE + 4, false));
    ck_assert_int_eq(cpu_run(cpu, 100), CPU_EXIT_BREAK);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 4);
    tm->irq_line = 1; /* pending while the debugger looks */
    cpu_debug_resume(cpu);
    ck_assert_int_eq(cpu_run(cpu, 1), CPU_EXIT_COUNT);
    ck_assert_uint_eq(cpu->regs[R_EBX], 1); /* the shadowed instruction ran first */
    ck_assert_uint_eq(cpu->eip, TM_CODE + 5);
    tm_run(tm, 100);
    ck_assert_uint_eq(cpu->eip, TM_STUB(0x20) + 1); /* then the interrupt */
}
END_TEST

static Suite *debug_suite(void) {
    Suite *s = suite_create("debug");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, break_in_hot_block);
    tcase_add_test(tc, break_insert_remove_rules);
    tcase_add_test(tc, break_real_mode_linear);
    tcase_add_test(tc, break_under_interrupt_shadow);
    tcase_add_test(tc, watch_write_stops_after_insn);
    tcase_add_test(tc, watch_read_and_access);
    tcase_add_test(tc, watch_in_compiled_code);
    tcase_add_test(tc, watch_before_pending_interrupt);
    tcase_add_test(tc, suspend_and_restore);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(debug_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
