/*
 * test_pmode.c - protected-mode system mechanics, each with hand-assembled
 * guest code on the bare test machine: interrupt vs trap gates, privilege
 * changes with a TSS stack switch, far calls through call gates with
 * parameters and RETF to the outer level, IRET to an outer level (data
 * segments nulled) and to virtual-8086 mode, INT and I/O in V86 mode (IOPL
 * and the TSS I/O bitmap), task switches by JMP/CALL and back by IRET, the
 * page-fault error codes, segment limit faults (#GP vs #SS), selector
 * error codes, and the stack size (SS.B) of POP SS's increment when the
 * popped SS has another one.
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

static void assert_in_stub(unsigned vector) {
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, TM_STUB(vector) + 1);
}

/* Extra GDT entries beyond what tm_pmode_flat builds (indexes 8..15). */
static void gdt_grow(void) { cpu->gdtr.limit = 16 * 8 - 1; }

static void gdt_call_gate(unsigned index, uint16_t sel, uint32_t off, unsigned dpl, unsigned params) {
    uint32_t lo = (off & 0xFFFF) | (uint32_t)sel << 16;
    uint32_t hi = (off & 0xFFFF0000u) | 0x8000 | dpl << 13 | 0xC00 | (params & 0x1F);
    tm_poke32(tm, TM_GDT + index * 8, lo);
    tm_poke32(tm, TM_GDT + index * 8 + 4, hi);
}

/* ---------------- gates and privilege ---------------- */

START_TEST(trap_gate_keeps_if_interrupt_gate_clears_it) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_set_gate(tm, 0x30, TM_SEL_CS0, TM_STUB(0x30), 0xF, 0, 1); /* trap gate */
    cpu->eflags |= FL_IF;
    POKE(TM_CODE, 0xCD, 0x30);
    tm_run(tm, 10);
    assert_in_stub(0x30);
    ck_assert(cpu->eflags & FL_IF);
    ck_assert_uint_eq(stk(0), TM_CODE + 2);
    ck_assert_uint_eq(stk(1), TM_SEL_CS0);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0); /* default gates are interrupt gates */
    cpu->eflags |= FL_IF;
    tm_run(tm, 10);
    assert_in_stub(0x30);
    ck_assert(!(cpu->eflags & FL_IF));
    ck_assert(stk(2) & FL_IF); /* the pushed EFLAGS still has it */
}
END_TEST

START_TEST(int_from_ring3_switches_to_tss_stack) {
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    POKE(TM_CODE, 0xCD, 0x80);
    tm_run(tm, 10);
    assert_in_stub(0x80);
    ck_assert_int_eq(cpu->cpl, 0);
    ck_assert_uint_eq(cpu->regs[R_ESP], TM_STACK0 - 20);
    ck_assert_uint_eq(cpu->seg[SEG_SS].sel, TM_SEL_DS0);
    ck_assert_uint_eq(stk(0), TM_CODE + 2);
    ck_assert_uint_eq(stk(1), TM_SEL_CS3);
    ck_assert_uint_eq(stk(3), TM_STACK3);
    ck_assert_uint_eq(stk(4), TM_SEL_DS3);
}
END_TEST

START_TEST(int_through_dpl0_gate_from_ring3_is_gp) {
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    tm_set_gate(tm, 0x81, TM_SEL_CS0, TM_STUB(0x81), 0xE, 0, 1);
    POKE(TM_CODE, 0xCD, 0x81);
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(0), 0x81 * 8 + 2); /* IDT error code, EXT = 0 */
    ck_assert_uint_eq(stk(1), TM_CODE);      /* fault: points at the INT */
}
END_TEST

START_TEST(iret_to_outer_level_nulls_inner_data_segments) {
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    tm_set_gate(tm, 0x80, TM_SEL_CS0, 0x30000, 0xE, 3, 1);
    POKE(0x30000, 0x66, 0xB8, 0x10, 0x00, /* mov ax, DS0 */
         0x8E, 0xD8,                      /* mov ds, ax */
         0xCF);                           /* iret */
    POKE(TM_CODE, 0xCD, 0x80, 0xEB, 0xFE); /* int 0x80; jmp $ */
    tm_run(tm, 8);
    ck_assert_int_eq(cpu->cpl, 3);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 2);
    ck_assert_uint_eq(cpu->regs[R_ESP], TM_STACK3);
    ck_assert_uint_eq(cpu->seg[SEG_SS].sel, TM_SEL_DS3);
    ck_assert_uint_eq(cpu->seg[SEG_CS].sel, TM_SEL_CS3);
    ck_assert_uint_eq(cpu->seg[SEG_DS].sel, 0); /* DPL 0 data segment: nulled */
    ck_assert_uint_eq(cpu->seg[SEG_ES].sel, TM_SEL_DS3);
}
END_TEST

START_TEST(call_gate_copies_parameters_and_retf_returns) {
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    gdt_grow();
    gdt_call_gate(8, TM_SEL_CS0, 0x30000, 3, 2);
    POKE(0x30000, 0xF4, 0xCA, 0x08, 0x00); /* hlt; retf 8 */
    POKE(TM_CODE, 0x68, 0x11, 0x11, 0x11, 0x11, /* push 0x11111111 */
         0x68, 0x22, 0x22, 0x22, 0x22,          /* push 0x22222222 */
         0x9A, 0x00, 0x00, 0x00, 0x00, 0x43, 0x00, /* call 0x43:0 */
         0xEB, 0xFE);                           /* jmp $ */
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->eip, 0x30001);
    ck_assert_int_eq(cpu->cpl, 0);
    ck_assert_uint_eq(cpu->regs[R_ESP], TM_STACK0 - 24);
    ck_assert_uint_eq(stk(0), TM_CODE + 17);
    ck_assert_uint_eq(stk(1), TM_SEL_CS3);
    ck_assert_uint_eq(stk(2), 0x22222222);
    ck_assert_uint_eq(stk(3), 0x11111111);
    ck_assert_uint_eq(stk(4), TM_STACK3 - 8);
    ck_assert_uint_eq(stk(5), TM_SEL_DS3);
    cpu->halted = false;
    tm_run(tm, 3); /* retf 8; jmp $ */
    ck_assert_int_eq(cpu->cpl, 3);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 17);
    ck_assert_uint_eq(cpu->regs[R_ESP], TM_STACK3); /* parameters released on both stacks */
    ck_assert_uint_eq(cpu->seg[SEG_SS].sel, TM_SEL_DS3);
}
END_TEST

/* ---------------- virtual-8086 mode ---------------- */

/* From CPL 0, IRET into V86 code at 0500:0000 with SS:SP = 2000:1000. */
static void enter_v86(uint32_t eflags) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    uint8_t code[64];
    int n = 0;
    for (int i = 0; i < 4; i++) { code[n++] = 0x6A; code[n++] = 0x00; } /* gs fs ds es = 0 */
    uint32_t vals[5] = {0x2000, 0x1000, eflags, 0x0500, 0x0000};
    for (int i = 0; i < 5; i++) {
        code[n++] = 0x68;
        for (int b = 0; b < 4; b++) code[n++] = (uint8_t)(vals[i] >> (8 * b));
    }
    code[n++] = 0xCF; /* iret */
    tm_poke(tm, TM_CODE, code, (size_t)n);
}

START_TEST(iret_to_v86_and_int_back_to_protected_mode) {
    enter_v86(FL_VM | FL_IOPL | 2);
    POKE(0x5000, 0xCD, 0x21);
    tm_run(tm, 10);
    ck_assert(cpu_v86(cpu));
    ck_assert_int_eq(cpu->cpl, 3);
    ck_assert_uint_eq(cpu->seg[SEG_CS].base, 0x5000);
    ck_assert_uint_eq(cpu->seg[SEG_SS].base, 0x20000);
    ck_assert_uint_eq(cpu->regs[R_ESP], 0x1000);
    ck_assert_uint_eq(cpu->eip, 0);
    tm_run(tm, 10);
    assert_in_stub(0x21);
    ck_assert(!cpu_v86(cpu));
    ck_assert_int_eq(cpu->cpl, 0);
    ck_assert_uint_eq(cpu->regs[R_ESP], TM_STACK0 - 36);
    ck_assert_uint_eq(stk(0), 2);      /* IP after INT 21 */
    ck_assert_uint_eq(stk(1), 0x0500); /* CS */
    ck_assert(stk(2) & FL_VM);         /* EFLAGS */
    ck_assert_uint_eq(stk(3), 0x1000); /* ESP */
    ck_assert_uint_eq(stk(4), 0x2000); /* SS */
    for (int i = 5; i < 9; i++) ck_assert_uint_eq(stk(i), 0); /* ES DS FS GS */
    ck_assert_uint_eq(cpu->seg[SEG_DS].sel, 0);
}
END_TEST

START_TEST(v86_int_with_iopl_below_3_is_gp) {
    enter_v86(FL_VM | 2);
    POKE(0x5000, 0xCD, 0x21);
    tm_run(tm, 20);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(0), 0);      /* error code */
    ck_assert_uint_eq(stk(1), 0);      /* IP of the INT: a fault */
    ck_assert_uint_eq(stk(2), 0x0500);
}
END_TEST

START_TEST(v86_io_follows_the_tss_bitmap) {
    enter_v86(FL_VM | 2);
    POKE(0x5000, 0xE4, 0x60); /* in al, 0x60 */
    tm_run(tm, 20);
    assert_in_stub(EXC_GP); /* no bitmap inside the TSS limit */

    enter_v86(FL_VM | 2);
    /* A bitmap allowing only port 0x60, and a TSS limit that covers it. */
    uint8_t ones[0x2000 + 1];
    for (size_t i = 0; i < sizeof ones; i++) ones[i] = 0xFF;
    ones[0x60 / 8] &= (uint8_t)~(1u << (0x60 % 8));
    tm_poke(tm, TM_TSS + 0x68, ones, sizeof ones);
    tm_set_desc(tm, 5, TM_TSS, 0x68 + 0x2000, 0x8B, 0x00);
    desc_to_seg(&cpu->tr, TM_SEL_TSS, tm_peek32(tm, TM_GDT + 40), tm_peek32(tm, TM_GDT + 44));
    POKE(0x5000, 0xE4, 0x60, 0xE4, 0x61); /* in al, 0x60 (allowed); in al, 0x61 (denied) */
    tm_run(tm, 20);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(1), 2); /* the second IN faulted */
    ck_assert_uint_eq(cpu->regs[R_EAX] & 0xFF, 0xFF);
}
END_TEST

/* ---------------- task switches ---------------- */

#define TSS2 0x7000u
#define SEL_TSS2 0x48

static void setup_task2(uint32_t eip) {
    gdt_grow();
    tm_set_desc(tm, 9, TSS2, 0x67, 0x89, 0x00);
    for (uint32_t i = 0; i < 0x68; i += 4) tm_poke32(tm, TSS2 + i, 0);
    tm_poke32(tm, TSS2 + 0x20, eip);
    tm_poke32(tm, TSS2 + 0x24, 2);
    tm_poke32(tm, TSS2 + 0x28, 0x1234);           /* EAX */
    tm_poke32(tm, TSS2 + 0x38, TM_STACK0 - 0x1000); /* ESP */
    for (int s = 0; s < 6; s++) tm_poke32(tm, TSS2 + 0x48 + 4 * s, s == SEG_CS ? TM_SEL_CS0 : TM_SEL_DS0);
    tm_poke32(tm, TSS2 + 0x64, 0x68u << 16);
}

static bool tss_busy(unsigned index) { return tm_peek32(tm, TM_GDT + index * 8 + 4) & 0x200; }

START_TEST(call_to_tss_and_iret_back) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    setup_task2(0x31000);
    POKE(0x31000, 0xCF);                                         /* task 2: iret */
    POKE(TM_CODE, 0x9A, 0x00, 0x00, 0x00, 0x00, SEL_TSS2, 0x00, 0xF4); /* call TSS2; hlt */
    cpu->regs[R_EAX] = 0xAAAA;
    tm_run(tm, 1);
    ck_assert_uint_eq(cpu->tr.sel, SEL_TSS2);
    ck_assert_uint_eq(cpu->eip, 0x31000);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0x1234);
    ck_assert(cpu->eflags & FL_NT);
    ck_assert(cpu->cr0 & CR0_TS);
    ck_assert_uint_eq(tm_peek16(tm, TSS2), TM_SEL_TSS); /* back link */
    ck_assert(tss_busy(5) && tss_busy(9));
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->tr.sel, TM_SEL_TSS);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 8);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0xAAAA);
    ck_assert(!(cpu->eflags & FL_NT));
    ck_assert(tss_busy(5) && !tss_busy(9));
}
END_TEST

START_TEST(jmp_to_tss_clears_old_busy_bit) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    setup_task2(0x31000);
    POKE(0x31000, 0xF4);
    POKE(TM_CODE, 0xEA, 0x00, 0x00, 0x00, 0x00, SEL_TSS2, 0x00);
    tm_run(tm, 5);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->tr.sel, SEL_TSS2);
    ck_assert(!(cpu->eflags & FL_NT));
    ck_assert(!tss_busy(5) && tss_busy(9));
    ck_assert_uint_eq(tm_peek32(tm, TM_TSS + 0x20), TM_CODE + 7); /* old EIP saved */
}
END_TEST

/* ---------------- paging ---------------- */

static uint32_t pte_of(uint32_t lin) { return TM_PD + 0x1000 * (1 + (lin >> 22)) + 4 * ((lin >> 12) & 0x3FF); }

static void expect_pf(uint32_t err, uint32_t cr2) {
    assert_in_stub(EXC_PF);
    ck_assert_uint_eq(stk(0), err);
    ck_assert_uint_eq(cpu->cr2, cr2);
}

START_TEST(page_fault_error_codes) {
    /* Supervisor read of a not-present page: error 0. */
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_paging(tm, 8);
    tm_poke32(tm, pte_of(0x400000), 0);
    POKE(TM_CODE, 0xA1, 0x00, 0x00, 0x40, 0x00); /* mov eax, [0x400000] */
    tm_run(tm, 10);
    expect_pf(0, 0x400000);

    /* Supervisor write to a read-only page: allowed with WP=0, error 3 with WP=1. */
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_paging(tm, 8);
    tm_poke32(tm, pte_of(0x401000), 0x401000 | 5);
    POKE(TM_CODE, 0xA3, 0x00, 0x10, 0x40, 0x00, 0xF4); /* mov [0x401000], eax; hlt */
    tm_run(tm, 10);
    ck_assert_uint_eq(cpu->eip, TM_CODE + 6);
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_paging(tm, 8);
    tm_poke32(tm, pte_of(0x401000), 0x401000 | 5);
    cpu_set_cr0(cpu, cpu->cr0 | CR0_WP);
    tm_run(tm, 10);
    expect_pf(PF_P | PF_W, 0x401000);

    /* User write to a read-only user page: 7; user read of a supervisor page: 5. */
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    tm_paging(tm, 8);
    tm_poke32(tm, pte_of(0x401000), 0x401000 | 5);
    tm_run(tm, 10);
    expect_pf(PF_P | PF_W | PF_U, 0x401000);
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    tm_paging(tm, 8);
    tm_poke32(tm, pte_of(0x400000), 0x400000 | 3);
    POKE(TM_CODE, 0xA1, 0x00, 0x00, 0x40, 0x00);
    tm_run(tm, 10);
    expect_pf(PF_P | PF_U, 0x400000);
    ck_assert(!(tm_peek32(tm, pte_of(0x400000)) & 0x20)); /* no accessed bit on a fault */
}
END_TEST

START_TEST(page_fault_on_fetch_and_accessed_dirty_bits) {
    tm_pmode_flat(tm, 0, 0x402000, TM_STACK0);
    tm_paging(tm, 8);
    tm_poke32(tm, pte_of(0x402000), 0);
    tm_run(tm, 10);
    expect_pf(0, 0x402000);
    ck_assert_uint_eq(stk(1), 0x402000);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_paging(tm, 8);
    uint32_t pte = pte_of(0x403000);
    POKE(TM_CODE, 0xA1, 0x00, 0x30, 0x40, 0x00, 0xF4); /* read only */
    tm_run(tm, 10);
    ck_assert_uint_eq(tm_peek32(tm, pte) & 0x60, 0x20); /* accessed, not dirty */
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_paging(tm, 8);
    POKE(TM_CODE, 0xA3, 0x00, 0x30, 0x40, 0x00, 0xF4);
    tm_run(tm, 10);
    ck_assert_uint_eq(tm_peek32(tm, pte) & 0x60, 0x60); /* accessed and dirty */
}
END_TEST

/* ---------------- segment limits and selectors ---------------- */

START_TEST(data_limit_is_gp_stack_limit_is_ss) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    gdt_grow();
    tm_set_desc(tm, 10, 0, 0xFFF, 0x93, 0x40); /* 4 KiB data segment, sel 0x50 */
    POKE(TM_CODE, 0x66, 0xB8, 0x50, 0x00, 0x8E, 0xD8, /* mov ds, 0x50 */
         0xA1, 0xFE, 0x0F, 0x00, 0x00);              /* mov eax, [0xFFE]: crosses the limit */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(0), 0);
    ck_assert_uint_eq(stk(1), TM_CODE + 6);

    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    gdt_grow();
    tm_set_desc(tm, 11, 0, 0xFFF, 0xF3, 0x40); /* DPL 3, 4 KiB, sel 0x5B */
    POKE(TM_CODE, 0x66, 0xB8, 0x5B, 0x00, 0x8E, 0xD0, /* mov ss, 0x5B */
         0xBC, 0x02, 0x00, 0x00, 0x00,               /* mov esp, 2 */
         0x50);                                      /* push eax */
    tm_run(tm, 10);
    assert_in_stub(EXC_SS);
    ck_assert_uint_eq(stk(0), 0);
    ck_assert_uint_eq(stk(1), TM_CODE + 11);
    ck_assert_int_eq(cpu->cpl, 0);
}
END_TEST

START_TEST(selector_error_codes) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x66, 0xB8, 0x37, 0x12, 0x8E, 0xD8); /* mov ds, 0x1237: beyond the GDT */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(0), 0x1234);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    gdt_grow();
    tm_set_desc(tm, 12, 0, 0xFFFF, 0x13, 0x00); /* not present, sel 0x60 */
    POKE(TM_CODE, 0x66, 0xB8, 0x60, 0x00, 0x8E, 0xD8);
    tm_run(tm, 10);
    assert_in_stub(EXC_NP);
    ck_assert_uint_eq(stk(0), 0x60);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x66, 0xB8, 0x23, 0x00, 0x8E, 0xD0); /* mov ss, DS3 at CPL 0 */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(0), 0x20);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x66, 0xB8, 0x00, 0x00, 0x8E, 0xD8, /* mov ds, 0: allowed */
         0xA1, 0x00, 0x00, 0x00, 0x00);              /* but using it is #GP(0) */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(0), 0);
    ck_assert_uint_eq(stk(1), TM_CODE + 6);
}
END_TEST

/* ---------------- stack size when SS changes ---------------- */

/* Load SS straight from its GDT descriptor (no instruction). */
static void load_ss(uint16_t sel) {
    desc_to_seg(&cpu->seg[SEG_SS], sel, tm_peek32(tm, TM_GDT + (sel & ~7u)),
                tm_peek32(tm, TM_GDT + (sel & ~7u) + 4));
}

/* POP SS with the given operand size (2 or 4) from a stack `from` at ESP
 * `esp`, loading `to`; returns ESP afterwards. */
static uint32_t pop_ss(uint16_t from, uint16_t to, unsigned osize, uint32_t esp) {
    tm_pmode_flat(tm, 0, TM_CODE, esp);
    load_ss(from);
    uint32_t sp = cpu_stack32(cpu) ? esp : esp & 0xFFFF;
    tm_poke32(tm, sp, to);
    if (osize == 2)
        POKE(TM_CODE, 0x66, 0x17, 0xF4); /* pop ss (16-bit); hlt */
    else
        POKE(TM_CODE, 0x17, 0xF4); /* pop ss; hlt */
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->seg[SEG_SS].sel, to);
    return cpu->regs[R_ESP];
}

START_TEST(pop_ss_to_a_32bit_stack_wraps_sp_within_the_old_16bit_stack) {
    /* The increment is the pop's, on the 16-bit stack it pops from: SP
     * wraps to 0 and ESP's upper half stays, whatever the new SS.B says. */
    ck_assert_uint_eq(pop_ss(TM_SEL_DS16, TM_SEL_DS0, 2, 0x0001FFFE), 0x00010000);
    ck_assert(cpu_stack32(cpu));
    ck_assert_uint_eq(pop_ss(TM_SEL_DS16, TM_SEL_DS0, 4, 0x0001FFFC), 0x00010000);
}
END_TEST

START_TEST(pop_ss_to_a_16bit_stack_adds_to_all_of_the_old_32bit_esp) {
    ck_assert_uint_eq(pop_ss(TM_SEL_DS0, TM_SEL_DS16, 2, 0x0001FFFE), 0x00020000);
    ck_assert(!cpu_stack32(cpu));
    ck_assert_uint_eq(pop_ss(TM_SEL_DS0, TM_SEL_DS16, 4, 0x0001FFFC), 0x00020000);
}
END_TEST

static Suite *pmode_suite(void) {
    Suite *s = suite_create("pmode");
    TCase *tc = tcase_create("mechanics");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, trap_gate_keeps_if_interrupt_gate_clears_it);
    tcase_add_test(tc, int_from_ring3_switches_to_tss_stack);
    tcase_add_test(tc, int_through_dpl0_gate_from_ring3_is_gp);
    tcase_add_test(tc, iret_to_outer_level_nulls_inner_data_segments);
    tcase_add_test(tc, call_gate_copies_parameters_and_retf_returns);
    tcase_add_test(tc, iret_to_v86_and_int_back_to_protected_mode);
    tcase_add_test(tc, v86_int_with_iopl_below_3_is_gp);
    tcase_add_test(tc, v86_io_follows_the_tss_bitmap);
    tcase_add_test(tc, call_to_tss_and_iret_back);
    tcase_add_test(tc, jmp_to_tss_clears_old_busy_bit);
    tcase_add_test(tc, page_fault_error_codes);
    tcase_add_test(tc, page_fault_on_fetch_and_accessed_dirty_bits);
    tcase_add_test(tc, data_limit_is_gp_stack_limit_is_ss);
    tcase_add_test(tc, selector_error_codes);
    tcase_add_test(tc, pop_ss_to_a_32bit_stack_wraps_sp_within_the_old_16bit_stack);
    tcase_add_test(tc, pop_ss_to_a_16bit_stack_adds_to_all_of_the_old_32bit_esp);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(pmode_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
