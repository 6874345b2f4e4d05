/*
 * test_dataops.c - data-movement, stack and string handlers (ops_data.c):
 * ENTER with nesting levels and its fault restartability, PUSH Sreg with a
 * 32-bit operand, POP r/m addressed through ESP, POP ESP, PUSHA faults,
 * REP string batching, restart after a fault mid-REP, REPE CMPS, INS with a
 * zero count, LSS versus MOV SS interrupt shadow, BOUND, MOV r32,Sreg, XLAT.
 *
 * Run: built by CMake as a Check test (ctest -R dataops), or directly.
 */
#include <check.h>
#include <stdlib.h>

#include "testmachine.h"

static TestMachine *tm;
static CPU *cpu;

static void setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
}
static void teardown(void) { tm_free(tm); }

#define CODE(...)                                                                                  \
    do {                                                                                           \
        static const uint8_t code_[] = {__VA_ARGS__};                                              \
        tm_poke(tm, TM_CODE, code_, sizeof code_);                                                 \
    } while (0)

/* A user stack page below which the page at USER_HOLE is not present. */
#define USER_STACK 0x50010u
#define USER_HOLE  0x4F000u

/* CPL 3, paging on, the page USER_HOLE unmapped: faults on the user stack
 * are delivered on the ring-0 stack, so the user state can be inspected. */
static void user_mode_with_hole(void) {
    tm_pmode_flat(tm, 3, TM_CODE, USER_STACK);
    tm_paging(tm, 4);
    tm_poke32(tm, TM_PD + 0x1000 + 4 * (USER_HOLE >> 12), 0);
    mmu_flush_all(&cpu->mmu);
}

static void assert_in_stub(unsigned vector) {
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_STUB(vector) + 1);
}

/* The user state saved by a fault delivered from CPL 3 (with error code). */
static uint32_t ring0_frame(unsigned i) { return tm_peek32(tm, TM_STACK0 - 24 + 4 * i); }

START_TEST(enter_level3_copies_outer_frame_pointers) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    uint32_t sp = 0x60000, bp = 0x61000;
    cpu->regs[R_ESP] = sp;
    cpu->regs[R_EBP] = bp;
    tm_poke32(tm, bp - 4, 0x11111111);
    tm_poke32(tm, bp - 8, 0x22222222);
    CODE(0xC8, 0x10, 0x00, 0x03, 0xF4); /* enter 0x10, 3 */
    tm_run(tm, 10);
    ck_assert_uint_eq(tm_peek32(tm, sp - 4), bp);
    ck_assert_uint_eq(tm_peek32(tm, sp - 8), 0x11111111);
    ck_assert_uint_eq(tm_peek32(tm, sp - 12), 0x22222222);
    ck_assert_uint_eq(tm_peek32(tm, sp - 16), sp - 4);
    ck_assert_uint_eq(cpu->regs[R_EBP], sp - 4);
    ck_assert_uint_eq(cpu->regs[R_ESP], sp - 16 - 0x10);
}
END_TEST

START_TEST(enter_16bit_real_mode_level2) {
    tm_real(tm, 0, TM_CODE & 0xFFFF);
    cpu_load_seg_real(cpu, SEG_CS, TM_CODE >> 4);
    cpu->eip = 0;
    cpu->regs[R_ESP] = 0x12346000; /* upper half must survive */
    cpu->regs[R_EBP] = 0xABCD6800;
    tm_poke(tm, 0x67FE, (uint8_t[]){0x34, 0x12}, 2);
    CODE(0xC8, 0x04, 0x00, 0x02, 0xF4); /* enter 4, 2 */
    tm_run(tm, 10);
    ck_assert_uint_eq(tm_peek16(tm, 0x5FFE), 0x6800);
    ck_assert_uint_eq(tm_peek16(tm, 0x5FFC), 0x1234);
    ck_assert_uint_eq(tm_peek16(tm, 0x5FFA), 0x5FFE);
    ck_assert_uint_eq(cpu->regs[R_EBP], 0xABCD5FFE);
    ck_assert_uint_eq(cpu->regs[R_ESP], 0x12345FF6);
}
END_TEST

START_TEST(enter_fault_in_frame_copy_changes_nothing) {
    user_mode_with_hole();
    cpu->regs[R_EBP] = 0x52000;
    tm_poke32(tm, USER_STACK - 4, 0xCAFEF00D);
    CODE(0xC8, 0x00, 0x00, 0x08, 0xF4); /* enter 0, 8: the slots run into the hole */
    tm_run(tm, 10);
    assert_in_stub(EXC_PF);
    ck_assert_uint_eq(ring0_frame(1), TM_CODE); /* EIP of the ENTER */
    ck_assert_uint_eq(ring0_frame(4), USER_STACK);
    ck_assert_uint_eq(cpu->regs[R_EBP], 0x52000);
    ck_assert_uint_eq(tm_peek32(tm, USER_STACK - 4), 0xCAFEF00D);
}
END_TEST

START_TEST(enter_checks_the_final_stack_pointer) {
    user_mode_with_hole();
    cpu->regs[R_EBP] = 0x52000;
    tm_poke32(tm, USER_STACK - 4, 0xCAFEF00D);
    CODE(0xC8, 0x00, 0x01, 0x00, 0xF4); /* enter 0x100, 0: new ESP lands in the hole */
    tm_run(tm, 10);
    assert_in_stub(EXC_PF);
    ck_assert_uint_eq(cpu->cr2, USER_STACK - 4 - 0x100);
    ck_assert_uint_eq(ring0_frame(4), USER_STACK);
    ck_assert_uint_eq(tm_peek32(tm, USER_STACK - 4), 0xCAFEF00D);
}
END_TEST

START_TEST(pusha_fault_changes_nothing) {
    user_mode_with_hole();
    tm_poke32(tm, USER_STACK - 4, 0xCAFEF00D);
    CODE(0x60, 0xF4); /* pusha: 32 bytes, only 16 above the hole */
    tm_run(tm, 10);
    assert_in_stub(EXC_PF);
    ck_assert_uint_eq(ring0_frame(4), USER_STACK);
    ck_assert_uint_eq(tm_peek32(tm, USER_STACK - 4), 0xCAFEF00D);
}
END_TEST

START_TEST(pusha_popa_round_trip) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    for (int r = 0; r < 8; r++)
        if (r != R_ESP) cpu->regs[r] = 0x1000u * (uint32_t)r + 7;
    CODE(0x60, 0x31, 0xC0, 0x31, 0xF6, 0x61, 0xF4); /* pusha; xor eax,eax; xor esi,esi; popa */
    tm_run(tm, 10);
    ck_assert_uint_eq(tm_peek32(tm, TM_STACK0 - 20), TM_STACK0); /* the original ESP slot */
    ck_assert_uint_eq(cpu->regs[R_EAX], 7);
    ck_assert_uint_eq(cpu->regs[R_ESI], 0x6007);
    ck_assert_uint_eq(cpu->regs[R_ESP], TM_STACK0);
}
END_TEST

START_TEST(push_sreg_32_writes_16_bits) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_poke32(tm, TM_STACK0 - 4, 0xAAAAAAAA);
    CODE(0x1E, 0xF4); /* push ds */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_ESP], TM_STACK0 - 4);
    ck_assert_uint_eq(tm_peek32(tm, TM_STACK0 - 4), 0xAAAA0000u | TM_SEL_DS0);
}
END_TEST

START_TEST(pop_mem_esp_base_uses_incremented_esp) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    uint32_t sp = 0x60000;
    cpu->regs[R_ESP] = sp;
    tm_poke32(tm, sp, 0x12345678);
    tm_poke32(tm, sp + 4, 0);
    tm_poke32(tm, sp + 8, 0);
    CODE(0x8F, 0x44, 0x24, 0x04, 0xF4); /* pop dword [esp+4] */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_ESP], sp + 4);
    ck_assert_uint_eq(tm_peek32(tm, sp + 8), 0x12345678);
    ck_assert_uint_eq(tm_peek32(tm, sp + 4), 0);
}
END_TEST

START_TEST(pop_esp_loads_popped_value) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->regs[R_ESP] = 0x60000;
    tm_poke32(tm, 0x60000, 0x61234);
    CODE(0x5C, 0xF4); /* pop esp */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_ESP], 0x61234);
}
END_TEST

START_TEST(rep_stos_long_count_runs_in_batches) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->regs[R_ECX] = 10000;
    cpu->regs[R_EDI] = 0x100000;
    cpu->regs[R_EAX] = 0x5A;
    CODE(0xF3, 0xAA, 0xF4); /* rep stosb */
    tm_run(tm, 100);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 3);
    ck_assert_uint_eq(cpu->regs[R_ECX], 0);
    ck_assert_uint_eq(cpu->regs[R_EDI], 0x100000 + 10000);
    ck_assert_uint_eq(tm_peek32(tm, 0x100000 + 9996), 0x5A5A5A5A);
    ck_assert_uint_eq(tm_peek32(tm, 0x100000 + 10000), 0);
}
END_TEST

START_TEST(rep_stos_fault_midway_is_restartable) {
    user_mode_with_hole();
    cpu->eflags |= FL_DF;
    cpu->regs[R_ECX] = 0x20;
    cpu->regs[R_EDI] = USER_HOLE + 0x100F; /* 16 bytes down to the hole */
    cpu->regs[R_EAX] = 0x77;
    CODE(0xF3, 0xAA, 0xF4); /* std is set: rep stosb backwards */
    tm_run(tm, 100);
    assert_in_stub(EXC_PF);
    ck_assert_uint_eq(ring0_frame(1), TM_CODE);
    ck_assert_uint_eq(cpu->regs[R_ECX], 0x10);
    ck_assert_uint_eq(cpu->regs[R_EDI], USER_HOLE + 0xFFF);
    ck_assert_uint_eq(tm_peek32(tm, USER_HOLE + 0x1000), 0x77777777);
}
END_TEST

START_TEST(repe_cmps_stops_at_difference) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_poke(tm, 0x60000, "abcdef", 6);
    tm_poke(tm, 0x61000, "abcxef", 6);
    cpu->regs[R_ESI] = 0x60000;
    cpu->regs[R_EDI] = 0x61000;
    cpu->regs[R_ECX] = 6;
    CODE(0xF3, 0xA6, 0xF4); /* repe cmpsb */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_ECX], 2);
    ck_assert_uint_eq(cpu->regs[R_ESI], 0x60004);
    ck_assert_uint_eq(cpu->regs[R_EDI], 0x61004);
    ck_assert(!cpu_cond(cpu, 4)); /* ZF = 0 */
    ck_assert(cpu_cond(cpu, 2));  /* 'd' < 'x': CF = 1 */
}
END_TEST

START_TEST(rep_ins_zero_count_skips_io_check) {
    for (uint32_t count = 0; count < 2; count++) {
        tm_pmode_flat(tm, 3, TM_CODE, 0x60000); /* IOPL 0, no I/O bitmap */
        cpu->regs[R_ECX] = count;
        cpu->regs[R_EDI] = 0x61000;
        CODE(0xF3, 0x6C, 0x0F, 0x0B); /* rep insb; ud2 (HLT would #GP at CPL 3) */
        tm_run(tm, 10);
        assert_in_stub(count ? EXC_GP : EXC_UD);
        ck_assert_uint_eq(tm_peek32(tm, TM_STACK0 - 20), TM_CODE + (count ? 0 : 2));
    }
}
END_TEST

START_TEST(lss_does_not_set_interrupt_shadow) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_poke32(tm, 0x60000, 0x70000);
    tm_poke(tm, 0x60004, (uint8_t[]){TM_SEL_DS0, 0}, 2);
    CODE(0x0F, 0xB2, 0x25, 0x00, 0x00, 0x06, 0x00, /* lss esp, [0x60000] */
         0x8E, 0xD0, 0xF4);                        /* mov ss, ax */
    cpu->regs[R_EAX] = TM_SEL_DS0;
    cpu_step(cpu);
    ck_assert_uint_eq(cpu->regs[R_ESP], 0x70000);
    ck_assert(!cpu->intr_shadow);
    cpu_step(cpu);
    ck_assert(cpu->intr_shadow);
}
END_TEST

START_TEST(bound_out_of_range_raises_br) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_poke32(tm, 0x60000, (uint32_t)-5);
    tm_poke32(tm, 0x60004, 10);
    cpu->regs[R_EAX] = 10;
    CODE(0x62, 0x05, 0x00, 0x00, 0x06, 0x00,       /* bound eax, [0x60000]: in range */
         0x40, 0x62, 0x05, 0x00, 0x00, 0x06, 0x00); /* inc eax (11); bound: out of range */
    tm_run(tm, 10);
    assert_in_stub(EXC_BR);
    ck_assert_uint_eq(tm_peek32(tm, TM_STACK0 - 12), TM_CODE + 7);
}
END_TEST

START_TEST(mov_r32_sreg_zero_extends) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->regs[R_EAX] = 0xFFFFFFFF;
    cpu->regs[R_EBX] = 0xFFFFFFFF;
    CODE(0x8C, 0xD8, 0x66, 0x8C, 0xDB, 0xF4); /* mov eax, ds; mov bx, ds */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_EAX], TM_SEL_DS0);
    ck_assert_uint_eq(cpu->regs[R_EBX], 0xFFFF0000u | TM_SEL_DS0);
}
END_TEST

START_TEST(xlat_16bit_wraps) {
    tm_real(tm, 0, TM_CODE & 0xFFFF);
    cpu_load_seg_real(cpu, SEG_CS, TM_CODE >> 4);
    cpu_load_seg_real(cpu, SEG_DS, 0x1000);
    cpu->eip = 0;
    cpu->regs[R_EBX] = 0xFFF0;
    cpu->regs[R_EAX] = 0x20;
    tm_poke(tm, 0x10010, (uint8_t[]){0x99}, 1);
    CODE(0xD7, 0xF4); /* xlat: (0xFFF0 + 0x20) & 0xFFFF = 0x10 */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0x99);
}
END_TEST

static Suite *dataops_suite(void) {
    Suite *s = suite_create("dataops");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, enter_level3_copies_outer_frame_pointers);
    tcase_add_test(tc, enter_16bit_real_mode_level2);
    tcase_add_test(tc, enter_fault_in_frame_copy_changes_nothing);
    tcase_add_test(tc, enter_checks_the_final_stack_pointer);
    tcase_add_test(tc, pusha_fault_changes_nothing);
    tcase_add_test(tc, pusha_popa_round_trip);
    tcase_add_test(tc, push_sreg_32_writes_16_bits);
    tcase_add_test(tc, pop_mem_esp_base_uses_incremented_esp);
    tcase_add_test(tc, pop_esp_loads_popped_value);
    tcase_add_test(tc, rep_stos_long_count_runs_in_batches);
    tcase_add_test(tc, rep_stos_fault_midway_is_restartable);
    tcase_add_test(tc, repe_cmps_stops_at_difference);
    tcase_add_test(tc, rep_ins_zero_count_skips_io_check);
    tcase_add_test(tc, lss_does_not_set_interrupt_shadow);
    tcase_add_test(tc, bound_out_of_range_raises_br);
    tcase_add_test(tc, mov_r32_sreg_zero_extends);
    tcase_add_test(tc, xlat_16bit_wraps);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(dataops_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
