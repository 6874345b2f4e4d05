/*
 * test_mmx.c - MMX and FXSAVE/FXRSTOR seen from guest code: the aliasing of
 * MM0-MM7 onto the x87 registers (TOP = 0, tags valid, exponent bits set
 * to ones, pointers untouched), EMMS, the #UD/#NM/#MF checks, a few
 * saturating/packing results worked out by hand, the FXSAVE layout and a
 * FXSAVE/FXRSTOR round trip, alignment #GP, rows a Pentium II does not
 * have, and CPUID/CR4.OSFXSR. Bit-exactness against real hardware over
 * random operands is the job of the diff-mmx test (tests/diff).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "testmachine.h"

static TestMachine *tm;
static CPU *cpu;

static void setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
}
static void teardown(void) {
    tm_free(tm);
}

#define POKE(addr, ...)                                                                            \
    do {                                                                                           \
        static const uint8_t bytes_[] = {__VA_ARGS__};                                             \
        tm_poke(tm, (addr), bytes_, sizeof bytes_);                                                \
    } while (0)

static void poke64(uint32_t addr, uint64_t v) {
    tm_poke32(tm, addr, (uint32_t)v);
    tm_poke32(tm, addr + 4, (uint32_t)(v >> 32));
}
static uint64_t peek64(uint32_t addr) {
    return (uint64_t)tm_peek32(tm, addr + 4) << 32 | tm_peek32(tm, addr);
}
static uint32_t stk(unsigned i) {
    return tm_peek32(tm, cpu->regs[R_ESP] + 4 * i);
}

START_TEST(mmx_aliases_x87_registers) {
    poke64(0x5000, 0x0123456789ABCDEFull);
    POKE(TM_CODE, 0xDB, 0xE3,                      /* fninit */
         0xD9, 0xE8,                               /* fld1: R7, TOP 7 */
         0x0F, 0x6F, 0x0D, 0x00, 0x50, 0x00, 0x00, /* movq mm1, [0x5000] */
         0xF4);
    tm_run(tm, 20);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->fpu.top, 0);
    ck_assert_uint_eq(cpu->fpu.tw, 0x0000); /* every tag valid */
    ck_assert_uint_eq(cpu->fpu.regs[1].mant, 0x0123456789ABCDEFull);
    ck_assert_uint_eq(cpu->fpu.regs[1].se, 0xFFFF);
    ck_assert_uint_eq(cpu->fpu.regs[7].mant, 0x8000000000000000ull); /* 1.0 still there */
    ck_assert_uint_eq(cpu->fpu.regs[7].se, 0x3FFF);
    ck_assert_uint_eq(cpu->fpu.fip, TM_CODE + 2); /* the FLD1's, not the MOVQ's */
    ck_assert_uint_eq(cpu->fpu.fop, 0x1E8);
}
END_TEST

START_TEST(emms_empties_the_stack) {
    POKE(TM_CODE, 0xDB, 0xE3, /* fninit */
         0xD9, 0xE8,          /* fld1 */
         0x0F, 0xEF, 0xC0,    /* pxor mm0, mm0 */
         0x0F, 0x77,          /* emms */
         0xD9, 0xE8,          /* fld1: no overflow */
         0xF4);
    tm_run(tm, 20);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->fpu.top, 7);
    ck_assert_uint_eq(cpu->fpu.tw, 0x3FFF);
    ck_assert_uint_eq(cpu->fpu.sw & (FSW_IE | FSW_SF), 0);
    ck_assert_uint_eq(cpu->fpu.regs[0].se, 0xFFFF); /* pxor wrote MM0: exponent bits all ones */
    ck_assert_uint_eq(cpu->fpu.regs[0].mant, 0);

    /* Without EMMS the same FLD1 finds R7 valid: stack overflow. */
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0xDB, 0xE3, 0x0F, 0xEF, 0xC0, 0xD9, 0xE8, 0xF4);
    tm_run(tm, 20);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->fpu.sw & (FSW_IE | FSW_SF | FSW_C1), FSW_IE | FSW_SF | FSW_C1);
}
END_TEST

START_TEST(em_ts_and_pending_exceptions) {
    POKE(TM_CODE, 0x0F, 0xFC, 0xC1, 0xF4); /* paddb mm0, mm1 */
    cpu->cr0 |= CR0_EM;
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_UD) + 1);
    ck_assert_uint_eq(stk(0), TM_CODE);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr0 = (cpu->cr0 & ~CR0_EM) | CR0_TS;
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_NM) + 1);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr0 |= CR0_TS;
    POKE(TM_CODE, 0x0F, 0x77, 0xF4); /* emms checks too */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_NM) + 1);

    /* An unmasked zero divide pending: the MMX instruction raises #MF and
     * leaves TOP and the tags alone. */
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr0 |= CR0_NE;
    tm_poke32(tm, 0x5000, 0x037B);
    POKE(TM_CODE, 0xDB, 0xE3, 0xD9, 0x2D, 0x00, 0x50, 0x00, 0x00, /* fninit; fldcw [0x5000] */
         0xD9, 0xE8, 0xD9, 0xEE, 0xDE, 0xF9,                      /* fld1; fldz; fdivp */
         0x0F, 0x6F, 0xC1, 0xF4);                                 /* movq mm0, mm1 */
    tm_run(tm, 20);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_MF) + 1);
    ck_assert_uint_eq(stk(0), TM_CODE + 14);
    ck_assert_uint_eq(cpu->fpu.top, 6);
    ck_assert_uint_ne(cpu->fpu.tw, 0);
}
END_TEST

START_TEST(memory_fault_leaves_fpu_state) {
    tm_paging(tm, 4);
    /* Page 0x400000 is not mapped: movq mm2, [0x3FFFFC] straddles into it. */
    POKE(TM_CODE, 0xDB, 0xE3, 0xD9, 0xE8, 0x0F, 0x6F, 0x15, 0xFC, 0xFF, 0x3F, 0x00, 0xF4);
    tm_run(tm, 20);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_PF) + 1);
    ck_assert_uint_eq(cpu->cr2, 0x400000);
    ck_assert_uint_eq(cpu->fpu.top, 7);
    ck_assert_uint_eq(cpu->fpu.tw, 0x3FFF);
}
END_TEST

/* Results worked out from the SDM's definitions. */
START_TEST(saturation_packing_and_shifts) {
    poke64(0x5000, 0x7FFF8000FFFF0001ull); /* words: 0x0001, 0xFFFF, 0x8000, 0x7FFF */
    poke64(0x5008, 0x0002000300040005ull);
    poke64(0x5010, 0xF0E0D0C0B0A09080ull);
    poke64(0x5018, 0x2020202020202020ull);
    POKE(TM_CODE, 0x0F, 0x6F, 0x05, 0x00, 0x50, 0x00, 0x00, /* movq mm0, [0x5000] */
         0x0F, 0x6F, 0xC8,                                  /* movq mm1, mm0 */
         0x0F, 0x63, 0xC8,                                  /* packsswb mm1, mm0 */
         0x0F, 0x6F, 0xD0,                                  /* movq mm2, mm0 */
         0x0F, 0xF5, 0x15, 0x08, 0x50, 0x00, 0x00,          /* pmaddwd mm2, [0x5008] */
         0x0F, 0x6F, 0x1D, 0x10, 0x50, 0x00, 0x00,          /* movq mm3, [0x5010] */
         0x0F, 0xDC, 0x1D, 0x18, 0x50, 0x00, 0x00,          /* paddusb mm3, [0x5018] */
         0x0F, 0x6F, 0xE0,                                  /* movq mm4, mm0 */
         0x0F, 0x71, 0xE4, 0x14,                            /* psraw mm4, 20 */
         0x0F, 0x6F, 0xE8,                                  /* movq mm5, mm0 */
         0x0F, 0x73, 0xD5, 0x40,                            /* psrlq mm5, 64 */
         0x0F, 0x6F, 0xF0,                                  /* movq mm6, mm0 */
         0x0F, 0x61, 0x35, 0x08, 0x50, 0x00, 0x00,          /* punpcklwd mm6, [0x5008] (m32) */
         0x0F, 0x7F, 0x1D, 0x20, 0x50, 0x00, 0x00,          /* movq [0x5020], mm3 */
         0x0F, 0x7E, 0xD0,                                  /* movd eax, mm2 */
         0xF4);
    tm_run(tm, 40);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->fpu.regs[1].mant, 0x7F80FF017F80FF01ull);
    /* dword 0: 1*5 + (-1)*4 = 1; dword 1: -32768*3 + 32767*2 = -32770 */
    ck_assert_uint_eq(cpu->fpu.regs[2].mant, 0xFFFF7FFE00000001ull);
    ck_assert_uint_eq(cpu->fpu.regs[3].mant, 0xFFFFF0E0D0C0B0A0ull);
    ck_assert_uint_eq(cpu->fpu.regs[4].mant, 0x0000FFFFFFFF0000ull);
    ck_assert_uint_eq(cpu->fpu.regs[5].mant, 0);
    ck_assert_uint_eq(cpu->fpu.regs[6].mant, 0x0004FFFF00050001ull);
    ck_assert_uint_eq(peek64(0x5020), 0xFFFFF0E0D0C0B0A0ull);
    ck_assert_uint_eq(cpu->regs[R_EAX], 1);
}
END_TEST

START_TEST(fxsave_layout_and_round_trip) {
    for (uint32_t a = 0x6000; a < 0x6200; a += 4)
        tm_poke32(tm, a, 0xAAAAAAAAu);
    POKE(TM_CODE, 0xDB, 0xE3,                      /* fninit */
         0xD9, 0xE8,                               /* fld1 */
         0xD9, 0xEB,                               /* fldpi */
         0x0F, 0xAE, 0x05, 0x00, 0x60, 0x00, 0x00, /* fxsave [0x6000] */
         0xD9, 0x35, 0x00, 0x70, 0x00, 0x00,       /* fnstenv [0x7000] */
         0xDB, 0xE3,                               /* fninit */
         0x0F, 0xAE, 0x0D, 0x00, 0x60, 0x00, 0x00, /* fxrstor [0x6000] */
         0xD9, 0x35, 0x00, 0x71, 0x00, 0x00,       /* fnstenv [0x7100] */
         0xDD, 0x35, 0x00, 0x72, 0x00, 0x00,       /* fnsave [0x7200] */
         0xF4);
    tm_run(tm, 40);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(tm_peek16(tm, 0x6000), 0x037F);      /* FCW */
    ck_assert_uint_eq(tm_peek16(tm, 0x6002), 0x3000);      /* FSW: TOP 6 */
    ck_assert_uint_eq(tm_peek16(tm, 0x6004), 0xC0);        /* R6, R7 in use */
    ck_assert_uint_eq(tm_peek16(tm, 0x6006), 0x1EB);       /* FOP of fldpi */
    ck_assert_uint_eq(tm_peek32(tm, 0x6008), TM_CODE + 4); /* FIP */
    ck_assert_uint_eq(tm_peek16(tm, 0x600C), TM_SEL_CS0);  /* FCS */
    ck_assert_uint_eq(tm_peek32(tm, 0x6018), 0x1F80);      /* MXCSR */
    ck_assert_uint_eq(tm_peek32(tm, 0x601C), 0);           /* MXCSR_MASK: a pentium2 has no SSE */
    ck_assert_uint_eq(peek64(0x6020), 0xC90FDAA22168C235ull); /* ST(0) = pi */
    ck_assert_uint_eq(tm_peek16(tm, 0x6028), 0x4000);
    ck_assert_uint_eq(tm_peek16(tm, 0x602A) | tm_peek32(tm, 0x602C), 0); /* reserved: zero */
    ck_assert_uint_eq(peek64(0x6030), 0x8000000000000000ull);            /* ST(1) = 1.0 */
    ck_assert_uint_eq(tm_peek16(tm, 0x6038), 0x3FFF);
    /* No SSE on a pentium2 (a bare CPU): the XMM area untouched */
    ck_assert_uint_eq(tm_peek32(tm, 0x60A0), 0xAAAAAAAAu);
    ck_assert_uint_eq(tm_peek32(tm, 0x61FC), 0xAAAAAAAAu);
    /* FXSAVE kept the state; FXRSTOR brought the same environment back. */
    for (uint32_t k = 0; k < 28; k += 4)
        ck_assert_uint_eq(tm_peek32(tm, 0x7000 + k), tm_peek32(tm, 0x7100 + k));
    ck_assert_uint_eq(tm_peek16(tm, 0x7008), 0x0FFF); /* tags: R6, R7 valid, others empty */
    ck_assert_uint_eq(peek64(0x7200 + 28), 0xC90FDAA22168C235ull);
    ck_assert_uint_eq(peek64(0x7200 + 38), 0x8000000000000000ull);
}
END_TEST

START_TEST(fxrstor_tags_follow_contents) {
    /* An image with R0 zero, R1 a NaN-like MMX value, R2 empty: the full
     * tag word is recomputed (zero, special, empty). */
    for (uint32_t a = 0x6000; a < 0x6200; a += 4)
        tm_poke32(tm, a, 0);
    tm_poke32(tm, 0x6000, 0x037F);
    tm_poke32(tm, 0x6004, 0xFB); /* abridged: all but R2 */
    poke64(0x6030, 0x1234);      /* ST(1) = R1 (TOP 0) */
    tm_poke32(tm, 0x6038, 0xFFFF);
    for (unsigned i = 3; i < 8; i++) { /* R3-R7 = 1.0 */
        poke64(0x6020 + 16 * i, 0x8000000000000000ull);
        tm_poke32(tm, 0x6028 + 16 * i, 0x3FFF);
    }
    POKE(TM_CODE, 0x0F, 0xAE, 0x0D, 0x00, 0x60, 0x00, 0x00, /* fxrstor [0x6000] */
         0xD9, 0x35, 0x00, 0x70, 0x00, 0x00,                /* fnstenv [0x7000] */
         0xF4);
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(tm_peek16(tm, 0x7008), 0x0039); /* R0 01, R1 10, R2 11, R3-R7 00 */
}
END_TEST

START_TEST(fxsave_alignment_and_form) {
    POKE(TM_CODE, 0x0F, 0xAE, 0x0D, 0x08, 0x60, 0x00, 0x00, 0xF4); /* fxrstor [0x6008] */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_GP) + 1);
    ck_assert_uint_eq(stk(0), 0); /* error code */

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0xAE, 0x05, 0x04, 0x60, 0x00, 0x00, 0xF4); /* fxsave [0x6004] */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_GP) + 1);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0xAE, 0xC0, 0xF4); /* register form */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_UD) + 1);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr0 |= CR0_TS;
    POKE(TM_CODE, 0x0F, 0xAE, 0x05, 0x00, 0x60, 0x00, 0x00, 0xF4);
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_NM) + 1);
}
END_TEST

START_TEST(non_pentium2_rows_are_undefined) {
    static const uint8_t rows[][4] = {
        {0x0F, 0xD4, 0xC1, 0xF4}, /* paddq (SSE2) */
        {0x0F, 0xE0, 0xC1, 0xF4}, /* pavgb (SSE) */
        {0x0F, 0x70, 0xC1, 0x00}, /* pshufw (SSE) */
        {0x0F, 0xAE, 0x15, 0x00}, /* ldmxcsr (SSE) */
        {0x0F, 0x71, 0x15, 0x00}, /* psrlw with a memory operand */
        {0x0F, 0x73, 0xF8, 0x01}, /* 0F 73 /7 (SSE2 pslldq) */
    };
    for (unsigned k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
        tm_poke(tm, TM_CODE, rows[k], 4);
        tm_poke(tm, TM_CODE + 4, (const uint8_t[]){0, 0, 0, 0, 0xF4}, 5);
        tm_run(tm, 10);
        ck_assert_msg(cpu->eip == TM_STUB(EXC_UD) + 1, "row %u: 0F %02X", k, rows[k][1]);
    }
}
END_TEST

START_TEST(cpuid_and_osfxsr) {
    POKE(TM_CODE, 0xB8, 0x01, 0x00, 0x00, 0x00, /* mov eax, 1 */
         0x0F, 0xA2,                            /* cpuid */
         0x0F, 0x20, 0xE0,                      /* mov eax, cr4 */
         0x0D, 0x00, 0x02, 0x00, 0x00,          /* or eax, 0x200 (OSFXSR) */
         0x0F, 0x22, 0xE0,                      /* mov cr4, eax */
         0xF4);
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert(cpu->regs[R_EDX] & (1u << 23));    /* MMX */
    ck_assert(cpu->regs[R_EDX] & (1u << 24));    /* FXSR */
    ck_assert(!(cpu->regs[R_EDX] & (1u << 25))); /* a bare CPU is a pentium2: no SSE */
    ck_assert(cpu->cr4 & CR4_OSFXSR);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0xB8, 0x00, 0x04, 0x00, 0x00, 0x0F, 0x22, 0xE0, 0xF4); /* OSXMMEXCPT */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_GP) + 1); /* no SSE: no OSXMMEXCPT */
}
END_TEST

int main(void) {
    Suite *s = suite_create("mmx");
    TCase *tc = tcase_create("mmx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mmx_aliases_x87_registers);
    tcase_add_test(tc, emms_empties_the_stack);
    tcase_add_test(tc, em_ts_and_pending_exceptions);
    tcase_add_test(tc, memory_fault_leaves_fpu_state);
    tcase_add_test(tc, saturation_packing_and_shifts);
    tcase_add_test(tc, fxsave_layout_and_round_trip);
    tcase_add_test(tc, fxrstor_tags_follow_contents);
    tcase_add_test(tc, fxsave_alignment_and_form);
    tcase_add_test(tc, non_pentium2_rows_are_undefined);
    tcase_add_test(tc, cpuid_and_osfxsr);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
