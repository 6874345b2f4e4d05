/*
 * test_sysops.c - system instructions: CPUID, RDMSR/WRMSR, SYSENTER and
 * SYSEXIT, CLI/STI/POPF privilege rules, LAR/LSL/VERR/VERW, SGDT/LGDT
 * formats, CR0/CR3/CR4 writes and the Mmu flags, DR7.GD general detect and
 * DR4/DR5 aliasing, HLT privilege, the IOPL and TSS I/O-bitmap checks with a
 * fake device, real-mode and V86 flag rules, LTR/STR/LLDT/ARPL, LMSW/SMSW,
 * RDTSC/RDPMC privilege.
 */
#include <check.h>
#include <stdlib.h>

#include "cpu/sse.h"
#include "testmachine.h"

static TestMachine *tm;
static CPU *cpu;

static void setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
}
static void teardown(void) {
    tm_free(tm);
}

#define POKE(addr, ...)                                                                            \
    do {                                                                                           \
        static const uint8_t bytes_[] = {__VA_ARGS__};                                             \
        tm_poke(tm, (addr), bytes_, sizeof bytes_);                                                \
    } while (0)

static uint32_t stk(unsigned i) {
    return tm_peek32(tm, cpu->seg[SEG_SS].base + cpu->regs[R_ESP] + 4 * i);
}
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
    ck_assert_uint_eq(cpu->regs[R_EAX] >> 4 & 0xF,
                      5); /* model 5: FXSR needs a Pentium II from model 5 */
    uint32_t edx = cpu->regs[R_EDX];
    ck_assert(edx & 1);         /* FPU (host-x87 backend on x86 hosts) */
    ck_assert(edx & (1 << 23)); /* MMX (with the FPU) */
    ck_assert(edx & (1 << 24)); /* FXSR (with the FPU) */
    /* A bare CPU is a pentium2 (test_pae checks the other models): no SSE */
    ck_assert(!(edx & (1 << 25)));
    ck_assert(!(edx & (1 << 26)));
    ck_assert(!(edx & (1 << 6))); /* no PAE */
    ck_assert(edx & (1 << 8));    /* CX8 */
    ck_assert(edx & (1 << 15));   /* CMOV */
    ck_assert(edx & (1 << 11));   /* SEP */
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
    POKE(TM_CODE, 0x0F, 0x34); /* sysenter */
    POKE(0x30000, 0x0F, 0x35); /* sysexit */
    POKE(0x40000, 0xEB, 0xFE); /* jmp $ */
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
    ck_assert_uint_eq(cpu->regs[R_EAX],
                      0x00CFF300); /* G, D, limit 19:16, P, DPL 3, data RW accessed */
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
    POKE(0x7C00, 0x0F, 0x01, 0x06, 0x00, 0x90, /* sgdt [0x9000] (16-bit operand) */
         0x66, 0x0F, 0x01, 0x06, 0x10, 0x90,   /* o32 sgdt [0x9010] */
         0x0F, 0x01, 0x16, 0x20, 0x90,         /* lgdt [0x9020] */
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
    cpu->dr[7] = 0x2400;             /* GD */
    POKE(TM_CODE, 0x0F, 0x21, 0xC0); /* mov eax, dr0 */
    tm_run(tm, 10);
    assert_in_stub(EXC_DB);
    ck_assert(cpu->dr[6] & 0x2000);     /* BD */
    ck_assert(!(cpu->dr[7] & 0x2000));  /* GD cleared for the handler */
    ck_assert_uint_eq(stk(0), TM_CODE); /* a fault */
}
END_TEST

/* ---------------- I/O permission ---------------- */

/* A fake device on ports 0x100-0x10F: reads return 0xC0DE0000 | port, writes are recorded. */
typedef struct FakeDev {
    uint16_t port;
    unsigned size;
    uint32_t val;
    int writes;
} FakeDev;

static uint32_t fake_read(void *opaque, uint16_t port, unsigned size) {
    (void)opaque;
    (void)size;
    return 0xC0DE0000u | port;
}

static void fake_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    FakeDev *d = opaque;
    d->port = port;
    d->size = size;
    d->val = val;
    d->writes++;
}

/* A TSS I/O bitmap at TSS+0x68 where only ports 0x100-0x107 are allowed,
 * with the TSS limit set to `limit`. */
static void set_io_bitmap(uint32_t limit) {
    uint8_t map[0x22];
    for (size_t i = 0; i < sizeof map; i++)
        map[i] = 0xFF;
    map[0x100 / 8] = 0x00;
    tm_poke(tm, TM_TSS + 0x68, map, sizeof map);
    tm_set_desc(tm, 5, TM_TSS, limit, 0x8B, 0x00);
    desc_to_seg(&cpu->tr, TM_SEL_TSS, tm_peek32(tm, TM_GDT + 40), tm_peek32(tm, TM_GDT + 44));
}

START_TEST(io_bitmap_and_iopl_in_protected_mode) {
    static FakeDev dev;
    dev = (FakeDev){0};
    ck_assert_int_eq(iobus_register(tm->io, 0x100, 16, fake_read, fake_write, &dev), 0);

    /* CPL 3, IOPL 0: the bitmap decides; a word at 0x107 needs the bit of 0x108 too. */
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    set_io_bitmap(0x68 + 0x22);
    POKE(TM_CODE, 0xBA, 0x00, 0x01, 0x00, 0x00, /* mov edx, 0x100 */
         0x66, 0xED,                            /* in ax, dx */
         0xBA, 0x04, 0x01, 0x00, 0x00,          /* mov edx, 0x104 */
         0xEF,                                  /* out dx, eax */
         0xBA, 0x07, 0x01, 0x00, 0x00,          /* mov edx, 0x107 */
         0x66, 0xED);                           /* in ax, dx: port 0x108 denied */
    cpu->regs[R_EAX] = 0x55550000;
    tm_run(tm, 20);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(0), 0);
    ck_assert_uint_eq(stk(1), TM_CODE + 18);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0x55550100); /* only AX replaced */
    ck_assert_int_eq(dev.writes, 1);
    ck_assert_uint_eq(dev.port, 0x104);
    ck_assert_uint_eq(dev.size, 4);
    ck_assert_uint_eq(dev.val, 0x55550100);

    /* The bitmap byte pair must lie within the TSS limit. */
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    set_io_bitmap(0x68 + 0x20);                        /* byte 0x20 is inside, byte 0x21 is not */
    POKE(TM_CODE, 0xBA, 0x00, 0x01, 0x00, 0x00, 0xEC); /* in al, dx at 0x100 */
    tm_run(tm, 20);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(1), TM_CODE + 5);

    /* CPL 3 with IOPL 3, and CPL 0 with IOPL 0: no bitmap check. */
    for (int cpl = 0; cpl <= 3; cpl += 3) {
        tm_pmode_flat(tm, cpl, TM_CODE, cpl ? TM_STACK3 : TM_STACK0);
        if (cpl) cpu->eflags |= FL_IOPL;
        POKE(TM_CODE, 0xBA, 0x08, 0x01, 0x00, 0x00, 0xEC, 0xEB, 0xFE); /* in al, dx at 0x108 */
        tm_run(tm, 3);
        ck_assert_uint_eq(cpu->eip, TM_CODE + 6);
        ck_assert_uint_eq(cpu->regs[R_EAX] & 0xFF, 0x08);
    }
}
END_TEST

START_TEST(io_without_a_bus_reads_all_ones) {
    tm_real(tm, 0, 0x7C00);
    cpu->io = NULL;
    POKE(0x7C00, 0xE5, 0x60, /* in ax, 0x60 */
         0xE6, 0x61,         /* out 0x61, al: ignored */
         0xF4);
    cpu->regs[R_EAX] = 0x12340000;
    tm_run(tm, 10);
    cpu->io = tm->io;
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0x1234FFFF);
}
END_TEST

/* ---------------- flags in real and V86 mode ---------------- */

START_TEST(real_mode_popf_and_sti_shadow) {
    tm_real(tm, 0, 0x7C00);
    cpu->eflags |= FL_AC;
    POKE(0x7C00, 0x68, 0xFF, 0x7E,           /* push 0x7EFF (all but TF and bit 15) */
         0x9D,                               /* popf */
         0x66, 0x68, 0x00, 0x00, 0x24, 0x00, /* push dword AC|ID */
         0x66, 0x9D,                         /* popfd */
         0xFB,                               /* sti: IF 0 -> 1 */
         0xFB,                               /* sti: IF already 1 */
         0xF4);
    tm_run(tm, 2);
    /* Reserved bits 3, 5, 15 stay 0, bit 1 stays 1; IOPL and NT are writable; AC kept. */
    ck_assert_uint_eq(cpu_get_eflags(cpu) & 0xFFFF, 0x7ED7);
    ck_assert(cpu->eflags & FL_AC);
    tm_run(tm, 2);
    ck_assert_uint_eq(cpu_get_eflags(cpu), FL_AC | FL_ID | 2);
    tm_run(tm, 1);
    ck_assert(cpu->eflags & FL_IF);
    ck_assert(cpu->intr_shadow);
    tm_run(tm, 1);
    ck_assert(!cpu->intr_shadow);
}
END_TEST

/* Enter V86 mode at 0500:0000 (SS:SP 2000:1000) with an IRET from CPL 0,
 * the frame written straight onto the ring-0 stack. */
static void enter_v86_with_iret(uint32_t eflags) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0 - 36);
    const uint32_t frame[9] = {0x0000, 0x0500, eflags | FL_VM | 2, 0x1000, 0x2000, 0, 0, 0, 0};
    for (unsigned i = 0; i < 9; i++)
        tm_poke32(tm, TM_STACK0 - 36 + 4 * i, frame[i]);
    POKE(TM_CODE, 0xCF); /* iret */
    tm_run(tm, 1);
    ck_assert(cpu_v86(cpu));
}

START_TEST(v86_iopl_sensitive_instructions) {
    static const uint8_t faulting[][3] = {
        {0xFA},             /* cli */
        {0xFB},             /* sti */
        {0x9C},             /* pushf */
        {0x9D},             /* popf */
        {0x0F, 0x20, 0xC0}, /* mov eax, cr0 */
        {0xF4},             /* hlt */
    };
    for (size_t i = 0; i < sizeof faulting / sizeof faulting[0]; i++) {
        enter_v86_with_iret(0); /* IOPL 0 */
        tm_poke(tm, 0x5000, faulting[i], 3);
        tm_run(tm, 10);
        assert_in_stub(EXC_GP);
    }
    enter_v86_with_iret(FL_IOPL);   /* IOPL 3: the descriptor instructions are still #UD */
    POKE(0x5000, 0x0F, 0x02, 0xC1); /* lar ax, cx */
    tm_run(tm, 10);
    assert_in_stub(EXC_UD);

    enter_v86_with_iret(FL_IOPL);
    POKE(0x5000, 0xFB,     /* sti */
         0x9C,             /* pushf */
         0x6A, 0x00,       /* push 0 */
         0x9D,             /* popf: IF cleared, IOPL unchanged */
         0x66, 0x6A, 0x00, /* push dword 0 */
         0x66, 0x9D,       /* popfd: VM unchanged */
         0xEB, 0xFE);
    tm_run(tm, 6);
    ck_assert(cpu_v86(cpu));
    ck_assert_int_eq(cpu->cpl, 3);
    ck_assert_uint_eq(cpu->eflags & (FL_IOPL | FL_IF), FL_IOPL);
    ck_assert_uint_eq(tm_peek16(tm, 0x20000 + 0x1000 - 2), FL_IOPL | FL_IF | 2); /* pushed image */
    ck_assert_uint_eq(cpu->eip, 10);
}
END_TEST

/* ---------------- control registers ---------------- */

START_TEST(control_register_writes_update_the_mmu) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x22, 0xE0, /* mov cr4, eax */
         0x0F, 0x22, 0xDB,          /* mov cr3, ebx */
         0x0F, 0x22, 0xC1,          /* mov cr0, ecx */
         0x0F, 0x20, 0xC2,          /* mov edx, cr0 */
         0xF4);
    cpu->regs[R_EAX] = CR4_PSE;
    cpu->regs[R_EBX] = 0x12345FFF;
    cpu->regs[R_ECX] = CR0_WP | 0xFC0 | CR0_PE; /* bits 6-11 are not implemented */
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert(cpu->mmu.pse);
    ck_assert_uint_eq(cpu->cr3, 0x12345018); /* PWT and PCD kept */
    ck_assert_uint_eq(cpu->mmu.cr3, 0x12345018);
    ck_assert_uint_eq(cpu->regs[R_EDX], CR0_WP | CR0_ET | CR0_PE); /* ET reads 1 */
    ck_assert(cpu->mmu.wp);
    ck_assert(!cpu->mmu.paging);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x22, 0xC0); /* mov cr0, eax: NW without CD */
    cpu->regs[R_EAX] = CR0_NW | CR0_PE;
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x22, 0xC8); /* mov cr1, eax */
    tm_run(tm, 10);
    assert_in_stub(EXC_UD);
}
END_TEST

START_TEST(lmsw_smsw_clts) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x01, 0xF0, /* lmsw ax: PE cannot be cleared */
         0x0F, 0x01, 0xE1,          /* smsw ecx: the whole CR0 */
         0x66, 0x0F, 0x01, 0xE2,    /* smsw dx: 16 bits */
         0x0F, 0x06,                /* clts */
         0xF4);
    cpu->regs[R_EAX] = 0xFFF8 | CR0_TS; /* only MP, EM, TS may change */
    cpu->regs[R_EDX] = 0xAAAA0000;
    uint32_t cr0 = cpu->cr0;
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    uint32_t expect = (cr0 & ~0xEu) | CR0_TS;
    ck_assert_uint_eq(cpu->regs[R_ECX], expect);
    ck_assert_uint_eq(cpu->regs[R_EDX], 0xAAAA0000 | (expect & 0xFFFF));
    ck_assert_uint_eq(cpu->cr0, expect & ~CR0_TS);
}
END_TEST

/* ---------------- task and LDT registers, ARPL ---------------- */

START_TEST(ltr_str_lldt_arpl) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_set_desc(tm, 7, 0x6000, 0x67, 0x89, 0x00); /* available 32-bit TSS at selector 0x38 */
    POKE(TM_CODE, 0x66, 0xB8, 0x38, 0x00,         /* mov ax, 0x38 */
         0x0F, 0x00, 0xD8,                        /* ltr ax */
         0x0F, 0x00, 0xC9,                        /* str ecx: zero-extended */
         0x66, 0x0F, 0x00, 0xCA,                  /* str dx */
         0x31, 0xC0,                              /* xor eax, eax */
         0x0F, 0x00, 0xD0,                        /* lldt ax: null selector */
         0x66, 0xB8, 0x10, 0x00,                  /* mov ax, 0x10 */
         0x66, 0xBB, 0x03, 0x00,                  /* mov bx, 3 */
         0x63, 0xD8,                              /* arpl ax, bx */
         0x9C,                                    /* pushfd */
         0x63, 0xD8,                              /* arpl ax, bx (RPL already 3) */
         0xF4);
    cpu->regs[R_ECX] = cpu->regs[R_EDX] = 0xFFFFFFFF;
    tm_run(tm, 20);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->tr.sel, 0x38);
    ck_assert_uint_eq(cpu->tr.base, 0x6000);
    ck_assert_uint_eq(tm_peek32(tm, TM_GDT + 7 * 8 + 4) >> 8 & 0xFF, 0x8B); /* marked busy */
    ck_assert_uint_eq(cpu->regs[R_ECX], 0x38);
    ck_assert_uint_eq(cpu->regs[R_EDX], 0xFFFF0038);
    ck_assert_uint_eq(cpu->ldtr.sel, 0);
    ck_assert_uint_eq(cpu->regs[R_EAX] & 0xFFFF, 0x13);
    ck_assert(stk(0) & FL_ZF);                 /* first ARPL adjusted */
    ck_assert(!(cpu_get_eflags(cpu) & FL_ZF)); /* second did not */

    /* LTR of a busy TSS: #GP(selector). */
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x66, 0xB8, TM_SEL_TSS, 0x00, 0x0F, 0x00, 0xD8);
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);
    ck_assert_uint_eq(stk(0), TM_SEL_TSS);
}
END_TEST

/* ---------------- TSC, PMC, CPUID, debug registers ---------------- */

START_TEST(rdtsc_rdpmc_and_tsc_writes) {
    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    cpu_tsc_set(cpu, 0x100000000ull);
    POKE(TM_CODE, 0x0F, 0x31, 0xEB, 0xFE); /* rdtsc at CPL 3 */
    tm_run(tm, 1);
    ck_assert_uint_eq(cpu->regs[R_EDX], 1);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0);

    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    cpu->cr4 |= CR4_TSD; /* time stamp disabled outside CPL 0 */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);

    tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
    POKE(TM_CODE, 0x0F, 0x33); /* rdpmc at CPL 3 without CR4.PCE */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->regs[R_ECX] = 2; /* only counters 0 and 1 exist */
    tm_run(tm, 10);
    assert_in_stub(EXC_GP);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x30, 0xF4); /* wrmsr TSC: P6 writes the low 32 bits and clears the rest */
    cpu->regs[R_ECX] = MSR_TSC;
    cpu->regs[R_EDX] = 7;
    cpu->regs[R_EAX] = 1000;
    tm_run(tm, 1);
    ck_assert_uint_eq(cpu_tsc(cpu) >> 32, 0);
    ck_assert_uint_ge(cpu_tsc(cpu), 1000);
    ck_assert_uint_le(cpu_tsc(cpu), 1001);
}
END_TEST

START_TEST(cpuid_above_the_maximum_leaf) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0xA2, 0x89, 0xC6, 0x89, 0xD7, /* cpuid; mov esi, eax; mov edi, edx */
         0xB8, 0x00, 0x00, 0x00, 0x80,                /* mov eax, 0x80000000 */
         0x0F, 0xA2, 0xF4);
    cpu->regs[R_EAX] = 2;
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_ESI] & 0xFF, 1); /* leaf 2: AL = 1 (one CPUID 2 call) */
    ck_assert_uint_eq(cpu->regs[R_EAX], cpu->regs[R_ESI]);
    ck_assert_uint_eq(cpu->regs[R_EDX], cpu->regs[R_EDI]);
}
END_TEST

START_TEST(debug_register_aliases) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x23, 0xE0, /* mov dr4, eax: DR6 while CR4.DE = 0 */
         0x0F, 0x21, 0xF3,          /* mov ebx, dr6 */
         0x0F, 0x21, 0xF9,          /* mov ecx, dr7 */
         0xF4);
    cpu->regs[R_EAX] = 0x0000000F; /* B0-B3 */
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    ck_assert_uint_eq(cpu->regs[R_EBX], 0xFFFF0FFF);
    ck_assert_uint_eq(cpu->regs[R_ECX] & 0x400, 0x400);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr4 |= CR4_DE;
    POKE(TM_CODE, 0x0F, 0x21, 0xE8); /* mov eax, dr5 */
    tm_run(tm, 10);
    assert_in_stub(EXC_UD);

    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x01, 0xF8); /* invlpg with a register operand */
    tm_run(tm, 10);
    assert_in_stub(EXC_UD);
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
    tcase_add_test(tc, io_bitmap_and_iopl_in_protected_mode);
    tcase_add_test(tc, io_without_a_bus_reads_all_ones);
    tcase_add_test(tc, real_mode_popf_and_sti_shadow);
    tcase_add_test(tc, v86_iopl_sensitive_instructions);
    tcase_add_test(tc, control_register_writes_update_the_mmu);
    tcase_add_test(tc, lmsw_smsw_clts);
    tcase_add_test(tc, ltr_str_lldt_arpl);
    tcase_add_test(tc, rdtsc_rdpmc_and_tsc_writes);
    tcase_add_test(tc, cpuid_above_the_maximum_leaf);
    tcase_add_test(tc, debug_register_aliases);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
