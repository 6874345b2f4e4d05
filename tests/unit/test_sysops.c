/*
 * test_sysops.c - system instructions: CPUID, RDMSR/WRMSR, SYSENTER and
 * SYSEXIT, CLI/STI/POPF privilege rules, LAR/LSL/VERR/VERW, SGDT/LGDT
 * formats, CR0/CR4 write checks, DR7.GD general detect, HLT privilege.
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

#define POKE(addr, ...)                                                                            \
    do {                                                                                           \
        static const uint8_t bytes_[] = {__VA_ARGS__};                                             \
        tm_poke(tm, (addr), bytes_, sizeof bytes_);                                                \
    } while (0)

static uint32_t stk(unsigned i) { return tm_peek32(tm, cpu->seg[SEG_SS].base + cpu->regs[R_ESP] + 4 * i); }
static void assert_in_stub(unsigned v) {
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_STUB(v) + 1);
}

START_TEST(cpuid_reports_only_implemented_features) {
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3); /* CPUID works at any CPL */
    POKE(TM_CODE, 0x0F, 0xA2, 0xEB, 0xFE);
    cpu->regs[R_EAX] = 0;
    tm_run(tm, 1);
    ck_assert_uint_eq(cpu->regs[R_EAX], 2);
    ck_assert_uint_eq(cpu->regs[R_EBX], 0x756E6547); /* Genu */
    ck_assert_uint_eq(cpu->regs[R_EDX], 0x49656E69); /* ineI */
    ck_assert_uint_eq(cpu->regs[R_ECX], 0x6C65746E); /* ntel */
    cpu->eip = TM_CODE;
    cpu->regs[R_EAX] = 1;
    tm_run(tm, 1);
    ck_assert_uint_eq(cpu->regs[R_EAX] >> 8 & 0xF, 6); /* family 6 */
    uint32_t edx = cpu->regs[R_EDX];
    ck_assert(edx & 1);            /* FPU (host-x87 backend on x86 hosts) */
    ck_assert(!(edx & (1 << 23))); /* no MMX */
    ck_assert(!(edx & (1 << 6)));  /* no PAE */
    ck_assert(edx & (1 << 8));     /* CX8 */
    ck_assert(edx & (1 << 15));    /* CMOV */
    ck_assert(edx & (1 << 11));    /* SEP */
}
END_TEST

START_TEST(msrs_and_unknown_msr_gp) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x30, /* wrmsr */
         0x0F, 0x32,          /* rdmsr */
         0xF4);
    cpu->regs[R_ECX] = MSR_SYSENTER_EIP;
    cpu->regs[R_EAX] = 0xC0001000;
    cpu->regs[R_EDX] = 0;
    tm_run(tm, 1);
    ck_assert_uint_eq(cpu->sysenter_eip, 0xC0001000);
    cpu->regs[R_EAX] = 0;
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0xC0001000);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->regs[R_ECX] = 0x12345; /* no such MSR */
    POKE(TM_CODE, 0x0F, 0x32);
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);

    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3); /* RDMSR at CPL 3 */
    cpu->regs[R_ECX] = MSR_TSC;
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
}
END_TEST

START_TEST(sysenter_and_sysexit) {
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    cpu->sysenter_cs = TM_SEL_CS0;
    cpu->sysenter_esp = 0x90000;
    cpu->sysenter_eip = 0x30000;
    POKE(TM_CODE, 0x0F, 0x34);                         /* sysenter */
    POKE(0x30000, 0x0F, 0x35);                         /* sysexit */
    POKE(0x40000, 0xEB, 0xFE);                         /* jmp $ */
    cpu->eflags |= FL_IF;
    tm_run(tm, 1);
    ck_assert_int_eq(cpu->cpl, 0);
    ck_assert_uint_eq(cpu->eip, 0x30000);
    ck_assert_uint_eq(cpu->regs[R_ESP], 0x90000);
    ck_assert_uint_eq(cpu->seg[SEG_CS].sel, TM_SEL_CS0);
    ck_assert_uint_eq(cpu->seg[SEG_SS].sel, TM_SEL_CS0 + 8);
    ck_assert(!(cpu->eflags & FL_IF));
    cpu->regs[R_EDX] = 0x40000; /* return EIP */
    cpu->regs[R_ECX] = 0x8F000; /* return ESP */
    tm_run(tm, 1);
    ck_assert_int_eq(cpu->cpl, 3);
    ck_assert_uint_eq(cpu->eip, 0x40000);
    ck_assert_uint_eq(cpu->regs[R_ESP], 0x8F000);
    ck_assert_uint_eq(cpu->seg[SEG_CS].sel, (TM_SEL_CS0 + 16) | 3);
    ck_assert_uint_eq(cpu->seg[SEG_SS].sel, (TM_SEL_CS0 + 24) | 3);

    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    cpu->sysenter_cs = 0; /* not set up: #GP */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
}
END_TEST

START_TEST(cli_sti_popf_privilege) {
    /* CPL 3 with IOPL 0: CLI faults, POPF silently keeps IF and IOPL. */
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    POKE(TM_CODE, 0xFA);
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);

    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    cpu->eflags |= FL_IF;
    POKE(TM_CODE, 0x68, 0x00, 0x30, 0x00, 0x00, /* push 0x3000 (IOPL 3, IF 0) */
         0x9D,                                  /* popf */
         0xEB, 0xFE);
    tm_run(tm, 3);
    ck_assert(cpu->eflags & FL_IF);
    ck_assert_uint_eq(cpu->eflags & FL_IOPL, 0);

    /* CPL 3 with IOPL 3: CLI works. */
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    cpu->eflags |= FL_IF | FL_IOPL;
    POKE(TM_CODE, 0xFA, 0xEB, 0xFE);
    tm_run(tm, 2);
    ck_assert(!(cpu->eflags & FL_IF));

    /* CPL 0: POPF changes IOPL; AC and ID are writable (486/CPUID detection). */
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x68, 0x00, 0x30, 0x24, 0x00, 0x9D, 0xF4); /* push IOPL3|AC|ID; popf */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eflags & (FL_IOPL | FL_AC | FL_ID), FL_IOPL | FL_AC | FL_ID);
}
END_TEST

START_TEST(hlt_at_cpl3_is_gp) {
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    POKE(TM_CODE, 0xF4);
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(1), TM_CODE);
}
END_TEST

START_TEST(lar_lsl_verr_verw) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x66, 0xB9, TM_SEL_DS3, 0x00, /* mov cx, DS3 */
         0x0F, 0x02, 0xC1,                      /* lar eax, ecx */
         0x0F, 0x03, 0xD9,                      /* lsl ebx, ecx */
         0x0F, 0x00, 0xE1,                      /* verr cx */
         0xF4);
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0x00CFF300); /* G, D, limit 19:16, P, DPL 3, data RW accessed */
    ck_assert_uint_eq(cpu->regs[R_EBX], 0xFFFFFFFF);
    ck_assert(cpu->eflags & FL_ZF || (cpu_get_eflags(cpu) & FL_ZF));

    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3); /* a DPL 0 segment is invisible at CPL 3 */
    POKE(TM_CODE, 0x66, 0xB9, TM_SEL_DS0, 0x00, 0x0F, 0x00, 0xE9, 0xEB, 0xFE); /* verw cx */
    tm_run(tm, 2);
    ck_assert(!(cpu_get_eflags(cpu) & FL_ZF));

    tm_real(tm, 0, 0x7C00); /* not in real mode */
    POKE(0x7C00, 0x0F, 0x02, 0xC1);
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->seg[SEG_CS].base + cpu->eip, TM_STUB(EXC_UD) + 1);
}
END_TEST

START_TEST(sgdt_formats_and_lgdt) {
    tm_real(tm, 0, 0x7C00);
    cpu->gdtr.base = 0x12345678;
    cpu->gdtr.limit = 0x0FFF;
    POKE(0x7C00, 0x0F, 0x01, 0x06, 0x00, 0x90,       /* sgdt [0x9000] (16-bit operand) */
         0x66, 0x0F, 0x01, 0x06, 0x10, 0x90,        /* o32 sgdt [0x9010] */
         0x0F, 0x01, 0x16, 0x20, 0x90,              /* lgdt [0x9020] */
         0xF4);
    tm_poke32(tm, 0x9020, 0xBEEF0017);
    tm_poke32(tm, 0x9024, 0x00DDCCBB);
    tm_run(tm, 10);
    ck_assert_uint_eq(tm_peek16(tm, 0x9000), 0x0FFF);
    ck_assert_uint_eq(tm_peek32(tm, 0x9002), 0x00345678); /* 24-bit base, high byte 0 */
    ck_assert_uint_eq(tm_peek32(tm, 0x9012), 0x12345678);
    ck_assert_uint_eq(cpu->gdtr.limit, 0x0017);
    ck_assert_uint_eq(cpu->gdtr.base, 0x00BBBEEF); /* 16-bit operand: 24 bits loaded */
}
END_TEST

START_TEST(control_register_checks) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x22, 0xC0); /* mov cr0, eax */
    cpu->regs[R_EAX] = CR0_PG;       /* PG without PE */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x22, 0xE0); /* mov cr4, eax */
    cpu->regs[R_EAX] = CR4_PAE;      /* not implemented: reserved */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);

    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    POKE(TM_CODE, 0x0F, 0x20, 0xC0); /* mov eax, cr0 at CPL 3 */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
}
END_TEST

START_TEST(dr7_general_detect) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->dr[7] = 0x2400; /* GD */
    POKE(TM_CODE, 0x0F, 0x21, 0xC0); /* mov eax, dr0 */
    tm_run(tm, 10);
    assert_in_stub(EXC_DB);
    ck_assert(cpu->dr[6] & 0x2000);    /* BD */
    ck_assert(!(cpu->dr[7] & 0x2000)); /* GD cleared for the handler */
    ck_assert_uint_eq(stk(0), TM_CODE); /* a fault */
}
END_TEST

int main(void) {
    Suite *s = suite_create("sysops");
    TCase *tc = tcase_create("system");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cpuid_reports_only_implemented_features);
    tcase_add_test(tc, msrs_and_unknown_msr_gp);
    tcase_add_test(tc, sysenter_and_sysexit);
    tcase_add_test(tc, cli_sti_popf_privilege);
    tcase_add_test(tc, hlt_at_cpl3_is_gp);
    tcase_add_test(tc, lar_lsl_verr_verw);
    tcase_add_test(tc, sgdt_formats_and_lgdt);
    tcase_add_test(tc, control_register_checks);
    tcase_add_test(tc, dr7_general_detect);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
