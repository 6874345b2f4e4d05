/*
 * test_fpu.c - x87 behaviour seen from guest code: arithmetic results,
 * #NM with CR0.TS (lazy FPU switching) and CR0.EM, unmasked exceptions
 * delivered as #MF on the next waiting instruction (CR0.NE = 1) or through
 * FERR# (CR0.NE = 0), stack overflow, the FSAVE layout in real mode and the
 * instruction/operand pointers FSTENV stores in protected mode.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testmachine.h"

static TestMachine *tm;
static CPU *cpu;
static int ferr_level, ferr_calls;

static void ferr_capture(void *opaque, int level) {
    (void)opaque;
    ferr_level = level;
    ferr_calls++;
}

static void setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
    ferr_level = ferr_calls = 0;
    cpu->ferr = ferr_capture;
}
static void teardown(void) { tm_free(tm); }

#define POKE(addr, ...)                                                                            \
    do {                                                                                           \
        static const uint8_t bytes_[] = {__VA_ARGS__};                                             \
        tm_poke(tm, (addr), bytes_, sizeof bytes_);                                                \
    } while (0)

static uint32_t stk(unsigned i) { return tm_peek32(tm, cpu->regs[R_ESP] + 4 * i); }

START_TEST(one_third_as_double) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_poke32(tm, 0x5000, 3);
    POKE(TM_CODE, 0xDB, 0xE3,                         /* fninit */
         0xD9, 0xE8,                                  /* fld1 */
         0xDA, 0x35, 0x00, 0x50, 0x00, 0x00,          /* fidiv dword [0x5000] */
         0xDD, 0x1D, 0x08, 0x50, 0x00, 0x00,          /* fstp qword [0x5008] */
         0xF4);
    tm_run(tm, 20);
    ck_assert(cpu->halted);
    uint64_t bits = (uint64_t)tm_peek32(tm, 0x500C) << 32 | tm_peek32(tm, 0x5008);
    ck_assert_uint_eq(bits, 0x3FD5555555555555ull); /* 1/3 rounded to double */
    ck_assert_uint_eq(cpu->fpu.tw, 0xFFFF);          /* stack empty again */
}
END_TEST

START_TEST(ts_gives_nm_until_clts) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr0 |= CR0_TS | CR0_MP;
    POKE(TM_CODE, 0xD9, 0xE8, 0xF4); /* fld1 */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_NM) + 1);
    ck_assert_uint_eq(stk(0), TM_CODE); /* a fault: restartable */

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr0 |= CR0_TS | CR0_MP;
    POKE(TM_CODE, 0x9B, 0xF4); /* fwait with MP and TS */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_NM) + 1);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr0 |= CR0_TS;
    POKE(TM_CODE, 0x0F, 0x06, 0xD9, 0xE8, 0xF4); /* clts; fld1 */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 5);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr0 |= CR0_EM;
    POKE(TM_CODE, 0xD9, 0xE8);
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_NM) + 1);
}
END_TEST

START_TEST(unmasked_zero_divide_is_mf_on_next_instruction) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr0 |= CR0_NE;
    tm_poke32(tm, 0x5000, 0x037B); /* ZE unmasked */
    POKE(TM_CODE, 0xDB, 0xE3,                  /* fninit */
         0xD9, 0x2D, 0x00, 0x50, 0x00, 0x00,   /* fldcw [0x5000] */
         0xD9, 0xE8, 0xD9, 0xEE,               /* fld1; fldz */
         0xDE, 0xF9,                           /* fdivp: 1/0 -> ZE, pending */
         0x90,                                 /* nop: not an FPU instruction */
         0xD9, 0xD0,                           /* fnop: waits -> #MF */
         0xF4);
    tm_run(tm, 100);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_MF) + 1);
    ck_assert_uint_eq(stk(0), TM_CODE + 15); /* the FNOP */
    ck_assert(cpu->fpu.sw & FSW_ZE);
    ck_assert(cpu->fpu.sw & FSW_ES);
    /* Unmasked ZE: destination and stack unchanged (1.0 and 0.0 still there). */
    ck_assert_uint_eq(cpu->fpu.top, 6);
}
END_TEST

START_TEST(ferr_with_ne_clear) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_poke32(tm, 0x5000, 0x037B);
    POKE(TM_CODE, 0xDB, 0xE3, 0xD9, 0x2D, 0x00, 0x50, 0x00, 0x00, 0xD9, 0xE8, 0xD9, 0xEE,
         0xDE, 0xF9, 0x9B, /* fwait: FERR# instead of #MF */
         0xDB, 0xE2,       /* fnclex releases it */
         0xF4);
    tm_run(tm, 100);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 18);
    ck_assert_int_ge(ferr_calls, 2);
    ck_assert_int_eq(ferr_level, 0);
}
END_TEST

START_TEST(stack_overflow_sets_c1_and_indefinite) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    uint8_t code[32];
    int n = 0;
    code[n++] = 0xDB; code[n++] = 0xE3;
    for (int i = 0; i < 9; i++) { code[n++] = 0xD9; code[n++] = 0xE8; } /* 9 x fld1 */
    code[n++] = 0xF4;
    tm_poke(tm, TM_CODE, code, (size_t)n);
    tm_run(tm, 100);
    ck_assert(cpu->fpu.sw & FSW_SF);
    ck_assert(cpu->fpu.sw & FSW_IE);
    ck_assert(cpu->fpu.sw & FSW_C1);
    const F80 *st0 = &cpu->fpu.regs[cpu->fpu.top];
    ck_assert_uint_eq(st0->se, 0xFFFF);
    ck_assert_uint_eq(st0->mant, 0xC000000000000000ull);
}
END_TEST

START_TEST(fsave_real_mode_layout) {
    tm_real(tm, 0, 0x7C00);
    POKE(0x7C00, 0xDB, 0xE3,          /* fninit */
         0xD9, 0xE8,                  /* fld1 */
         0xDD, 0x36, 0x00, 0x60,      /* fsave [0x6000] (94 bytes) */
         0xF4);
    tm_run(tm, 20);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(tm_peek16(tm, 0x6000), 0x037F);       /* CW */
    ck_assert_uint_eq(tm_peek16(tm, 0x6002) >> 11 & 7, 7);  /* TOP */
    ck_assert_uint_eq(tm_peek16(tm, 0x6004), 0x3FFF);       /* only physical 7 in use (valid) */
    ck_assert_uint_eq(tm_peek32(tm, 0x600E + 4), 0x80000000u); /* ST(0) = 1.0: mantissa high */
    ck_assert_uint_eq(tm_peek16(tm, 0x600E + 8), 0x3FFF);      /* exponent */
    ck_assert_uint_eq(cpu->fpu.tw, 0xFFFF);                    /* FSAVE reinitialises */
}
END_TEST

START_TEST(fstenv_pointers_in_protected_mode) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0xDB, 0xE3,                      /* fninit */
         0xD9, 0x05, 0x00, 0x50, 0x00, 0x00,       /* fld dword [0x5000] */
         0xD9, 0x35, 0x00, 0x61, 0x00, 0x00,       /* fnstenv [0x6100] */
         0xF4);
    tm_run(tm, 20);
    ck_assert_uint_eq(tm_peek32(tm, 0x6100 + 12), TM_CODE + 2);                 /* FIP */
    ck_assert_uint_eq(tm_peek16(tm, 0x6100 + 16), TM_SEL_CS0);                  /* FCS */
    ck_assert_uint_eq(tm_peek16(tm, 0x6100 + 18), 0x105);                       /* FOP: D9 /0, modrm 05 */
    ck_assert_uint_eq(tm_peek32(tm, 0x6100 + 20), 0x5000);                      /* FDP */
    ck_assert_uint_eq(tm_peek16(tm, 0x6100 + 24), TM_SEL_DS0);                  /* FDS */
    ck_assert_uint_eq(cpu->fpu.cw & 0x3F, 0x3F); /* FNSTENV masks all exceptions */
}
END_TEST

int main(void) {
    Suite *s = suite_create("fpu");
    TCase *tc = tcase_create("x87");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, one_third_as_double);
    tcase_add_test(tc, ts_gives_nm_until_clts);
    tcase_add_test(tc, unmasked_zero_divide_is_mf_on_next_instruction);
    tcase_add_test(tc, ferr_with_ne_clear);
    tcase_add_test(tc, stack_overflow_sets_c1_and_indefinite);
    tcase_add_test(tc, fsave_real_mode_layout);
    tcase_add_test(tc, fstenv_pointers_in_protected_mode);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
