/*
 * test_exec.c - the run loop's mechanics: precise exceptions and their
 * escalation (#DF, triple fault), instruction restart after #PF, decoder
 * limits (15 bytes, LOCK), the interrupt shadow of STI and MOV SS, HLT
 * woken by an interrupt, NMI blocking, and debug traps (TF single-step,
 * DR0-DR3 execute and data breakpoints, RF).
 */
#include <check.h>
#include <stdlib.h>

#include "testmachine.h"

static TestMachine *tm;
static CPU *cpu;
static void setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
    tm_fake_pic(tm);
}
static void teardown(void) {
    tm_free(tm);
}

#define CODE(...)                                                                                  \
    do {                                                                                           \
        static const uint8_t code_[] = {__VA_ARGS__};                                              \
        tm_poke(tm, TM_CODE, code_, sizeof code_);                                                 \
    } while (0)

static uint32_t stack_top(unsigned i) {
    return tm_peek32(tm, cpu->regs[R_ESP] + 4 * i);
}

/* Ran into the stub of `vector` and halted there. */
static void assert_in_stub(unsigned vector) {
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_STUB(vector) + 1);
}

START_TEST(real_mode_div_zero_pushes_faulting_ip) {
    tm_real(tm, 0, TM_CODE & 0xFFFF);
    cpu_load_seg_real(cpu, SEG_CS, TM_CODE >> 4);
    cpu->eip = 0;
    CODE(0xB1, 0x00, 0xF6, 0xF1, 0xF4); /* mov cl,0; div cl; hlt */
    tm_run(tm, 100);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->seg[SEG_CS].base + cpu->eip, TM_STUB(0) + 1);
    ck_assert_uint_eq(cpu->regs[R_ESP] & 0xFFFF, 0x7000 - 6);
    ck_assert_uint_eq(tm_peek16(tm, 0x7000 - 6), 2);            /* IP of the div */
    ck_assert_uint_eq(tm_peek16(tm, 0x7000 - 4), TM_CODE >> 4); /* CS */
}
END_TEST

START_TEST(ud2_faults_at_its_own_address) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    CODE(0x90, 0x0F, 0x0B);
    tm_run(tm, 100);
    assert_in_stub(EXC_UD);
    ck_assert_uint_eq(stack_top(0), TM_CODE + 1);
    ck_assert_uint_eq(stack_top(1), TM_SEL_CS0);
}
END_TEST

START_TEST(fifteen_byte_limit) {
    uint8_t code[32];
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    for (int i = 0; i < 14; i++)
        code[i] = 0x3E; /* 14 prefixes + nop = 15 bytes: fine */
    code[14] = 0x90;
    code[15] = 0xF4;
    tm_poke(tm, TM_CODE, code, 16);
    tm_run(tm, 100);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 16);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    for (int i = 0; i < 15; i++)
        code[i] = 0x3E; /* 16 bytes: #GP(0) */
    code[15] = 0x90;
    tm_poke(tm, TM_CODE, code, 16);
    tm_run(tm, 100);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stack_top(0), 0);
    ck_assert_uint_eq(stack_top(1), TM_CODE);
}
END_TEST

START_TEST(lock_prefix_rules) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    CODE(0xF0, 0x90); /* lock nop */
    tm_run(tm, 100);
    assert_in_stub(EXC_UD);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    CODE(0xF0, 0x01, 0xC0); /* lock add eax, eax: register destination */
    tm_run(tm, 100);
    assert_in_stub(EXC_UD);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->regs[R_EAX] = 5;
    tm_poke32(tm, 0x50000, 10);
    CODE(0xF0, 0x01, 0x05, 0x00, 0x00, 0x05, 0x00, 0xF4); /* lock add [0x50000], eax */
    tm_run(tm, 100);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 8);
    ck_assert_uint_eq(tm_peek32(tm, 0x50000), 15);
}
END_TEST

START_TEST(gp_with_missing_handler_is_double_fault) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_set_gate(tm, EXC_GP, TM_SEL_CS0, TM_STUB(EXC_GP), 0xE, 0, 0); /* not present -> #NP */
    cpu->regs[R_EAX] = 0x50000;
    CODE(0x2E, 0x89, 0x00); /* mov cs:[eax], eax: write to a code segment -> #GP(0) */
    tm_run(tm, 100);
    assert_in_stub(EXC_DF);
    ck_assert_uint_eq(stack_top(0), 0); /* #DF error code */
    ck_assert_uint_eq(stack_top(1), TM_CODE);
}
END_TEST

START_TEST(fault_during_double_fault_is_triple_fault) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_set_gate(tm, EXC_GP, TM_SEL_CS0, TM_STUB(EXC_GP), 0xE, 0, 0);
    tm_set_gate(tm, EXC_DF, TM_SEL_CS0, TM_STUB(EXC_DF), 0xE, 0, 0);
    cpu->regs[R_EAX] = 0x50000;
    CODE(0x2E, 0x89, 0x00);
    ck_assert_int_eq(tm_run(tm, 100), CPU_EXIT_RESET);
}
END_TEST

START_TEST(page_fault_handler_maps_page_and_instruction_restarts) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_paging(tm, 8);
    uint32_t pte = TM_PD + 0x2000; /* PTE of linear 0x400000 */
    tm_poke32(tm, pte, 0);
    static const uint8_t handler[] = {
        0x8B, 0x04, 0x24,             /* mov eax, [esp] (error code) */
        0xA3, 0x00, 0x10, 0x05, 0x00, /* mov [0x51000], eax */
        0xC7, 0x05, 0,    0,    0,    0,    0x07, 0x00, 0x40, 0x00, /* mov dword [pte], 0x400007 */
        0x0F, 0x01, 0x3D, 0x00, 0x00, 0x40, 0x00,                   /* invlpg [0x400000] */
        0x83, 0xC4, 0x04,                                           /* add esp, 4 */
        0xCF,                                                       /* iret */
    };
    tm_poke(tm, 0x30000, handler, sizeof handler);
    tm_poke32(tm, 0x30000 + 10, pte);
    tm_set_gate(tm, EXC_PF, TM_SEL_CS0, 0x30000, 0xE, 0, 1);
    CODE(0xC7, 0x05, 0x00, 0x00, 0x40, 0x00, 0x78, 0x56, 0x34, 0x12, 0xF4);
    tm_run(tm, 1000);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 11);
    ck_assert_uint_eq(cpu->cr2, 0x400000);
    ck_assert_uint_eq(tm_peek32(tm, 0x51000), PF_W); /* not present, write, supervisor */
    ck_assert_uint_eq(tm_peek32(tm, 0x400000), 0x12345678);
    ck_assert_uint_eq(cpu->regs[R_ESP], TM_STACK0);
}
END_TEST

START_TEST(sti_shadow_delays_interrupt_by_one_instruction) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm->irq_line = 1;
    CODE(0xFB, 0x90, 0xF4); /* sti; nop; hlt */
    tm_run(tm, 100);
    assert_in_stub(0x20);
    ck_assert_uint_eq(stack_top(0), TM_CODE + 2); /* taken after the nop */
}
END_TEST

START_TEST(mov_ss_shadow_delays_interrupt) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->eflags |= FL_IF;
    cpu->regs[R_EAX] = TM_SEL_DS0;
    CODE(0x8E, 0xD0, 0x90, 0xF4); /* mov ss, ax; nop; hlt */
    tm_run(tm, 1);
    tm->irq_line = 1;
    tm_run(tm, 1); /* shadow: the nop runs first */
    ck_assert_uint_eq(cpu->eip, TM_CODE + 3);
    tm_run(tm, 100);
    assert_in_stub(0x20);
    ck_assert_uint_eq(stack_top(0), TM_CODE + 3);
}
END_TEST

START_TEST(hlt_is_woken_by_interrupt) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    CODE(0xFB, 0xF4, 0x90, 0xF4); /* sti; hlt; nop; hlt */
    ck_assert_int_eq(tm_run(tm, 100), CPU_EXIT_HALT);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 2);
    ck_assert_int_eq(tm_run(tm, 100), CPU_EXIT_HALT); /* nothing pending: stays halted */
    tm->irq_line = 1;
    tm_run(tm, 100);
    assert_in_stub(0x20);
    ck_assert_uint_eq(stack_top(0), TM_CODE + 2); /* returns after the hlt */
}
END_TEST

START_TEST(nmi_ignores_if_and_blocks_until_iret) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    static const uint8_t nmi_handler[] = {0x90, 0xF4, 0xCF}; /* nop; hlt; iret */
    tm_poke(tm, 0x30000, nmi_handler, sizeof nmi_handler);
    tm_set_gate(tm, EXC_NMI, TM_SEL_CS0, 0x30000, 0xE, 0, 1);
    CODE(0x90, 0x90, 0x90, 0xF4);
    cpu->nmi_pending = true;
    tm_run(tm, 100);
    ck_assert_uint_eq(cpu->eip, 0x30002); /* halted inside the NMI handler */
    cpu->nmi_pending = true;              /* a second NMI is held while blocked */
    cpu->halted = false;
    tm_run(tm, 1); /* iret */
    ck_assert(!cpu->nmi_blocked);
    tm_run(tm, 1); /* the held NMI is taken now */
    ck_assert_uint_eq(cpu->eip, 0x30001);
}
END_TEST

START_TEST(single_step_traps_after_each_instruction) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->eflags |= FL_TF;
    CODE(0x90, 0x90);
    tm_run(tm, 100);
    assert_in_stub(EXC_DB);
    ck_assert_uint_eq(stack_top(0), TM_CODE + 1);
    ck_assert(cpu->dr[6] & 0x4000);
    ck_assert(stack_top(2) & FL_TF);   /* TF in the pushed EFLAGS */
    ck_assert(!(cpu->eflags & FL_TF)); /* cleared for the handler */
}
END_TEST

START_TEST(execute_breakpoint_faults_and_rf_suppresses_it) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->dr[0] = TM_CODE + 1;
    cpu->dr[7] = 0x401; /* L0, execute, 1 byte */
    CODE(0x90, 0x90, 0xF4);
    tm_run(tm, 100);
    assert_in_stub(EXC_DB);
    ck_assert_uint_eq(stack_top(0), TM_CODE + 1); /* fault: before the instruction */
    ck_assert_uint_eq(cpu->dr[6] & 0xF, 1);

    tm_pmode_flat(tm, 0, TM_CODE + 1, TM_STACK0);
    cpu->dr[0] = TM_CODE + 1;
    cpu->dr[7] = 0x401;
    cpu->eflags |= FL_RF;
    tm_run(tm, 100);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 3); /* ran through to the hlt */
    ck_assert(!(cpu->eflags & FL_RF));
}
END_TEST

START_TEST(data_write_breakpoint_traps_after_the_write) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->dr[1] = 0x50000;
    cpu->dr[7] = 0x400 | (1u << 2) | (1u << 20) | (3u << 22);        /* L1, write, 4 bytes */
    CODE(0xC7, 0x05, 0x02, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, /* mov dword [0x50002], 1 */
         0x90, 0xF4);
    tm_run(tm, 100);
    assert_in_stub(EXC_DB);
    ck_assert_uint_eq(stack_top(0), TM_CODE + 10); /* trap: after the write */
    ck_assert_uint_eq(cpu->dr[6] & 0xF, 2);
    ck_assert_uint_eq(tm_peek32(tm, 0x50002), 1);
}
END_TEST

static Suite *exec_suite(void) {
    Suite *s = suite_create("exec");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, real_mode_div_zero_pushes_faulting_ip);
    tcase_add_test(tc, ud2_faults_at_its_own_address);
    tcase_add_test(tc, fifteen_byte_limit);
    tcase_add_test(tc, lock_prefix_rules);
    tcase_add_test(tc, gp_with_missing_handler_is_double_fault);
    tcase_add_test(tc, fault_during_double_fault_is_triple_fault);
    tcase_add_test(tc, page_fault_handler_maps_page_and_instruction_restarts);
    tcase_add_test(tc, sti_shadow_delays_interrupt_by_one_instruction);
    tcase_add_test(tc, mov_ss_shadow_delays_interrupt);
    tcase_add_test(tc, hlt_is_woken_by_interrupt);
    tcase_add_test(tc, nmi_ignores_if_and_blocks_until_iret);
    tcase_add_test(tc, single_step_traps_after_each_instruction);
    tcase_add_test(tc, execute_breakpoint_faults_and_rf_suppresses_it);
    tcase_add_test(tc, data_write_breakpoint_traps_after_the_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(exec_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
