/*
 * test_sse.c - SSE/SSE2/SSE3/SSSE3 seen from guest code: the checks before
 * any SSE instruction (#UD with CR4.OSFXSR clear or CR0.EM set, #NM with
 * CR0.TS), SIMD floating-point exceptions (masked: flags only; unmasked:
 * #XM with CR4.OSXMMEXCPT, #UD without, destination unchanged), #GP(0) for
 * misaligned 16-byte operands of aligned forms, LDMXCSR/FXRSTOR refusing
 * reserved MXCSR bits, the FXSAVE/FXRSTOR round trip of XMM0-7 and MXCSR,
 * and a few results worked out by hand where the mandatory prefix or the
 * three-byte maps select the instruction, or the memory form differs from
 * the register form. Bit-exactness over random operands is diff-sse's job.
 * On a host without SSE (sse_host_available false) every SSE instruction
 * must raise #UD.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/sse.h"
#include "dbt/dbt.h"
#include "testmachine.h"

static TestMachine *tm;
static CPU *cpu;

/* Flat protected mode (a CPU reset: XMM0-7 zero, MXCSR 1F80h) with SSE
 * and #XM enabled, as an OS that uses SSE sets them. */
static void reset(void) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    cpu->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    cpu->cr0 &= ~(CR0_EM | CR0_TS);
}

static void setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
    cpu_set_model(cpu, cpu_model_find("max")); /* a bare CPU is a pentium2: no SSE */
    /* Under the jit, every block here runs as host code from its first
     * run: the inline SSE code (its run checks, slow paths) is what these
     * tests see there. */
    dbt_set_jit_hot(cpu, 1);
    reset();
}
static void teardown(void) {
    tm_free(tm);
}

#define POKE(addr, ...)                                                                            \
    do {                                                                                           \
        static const uint8_t bytes_[] = {__VA_ARGS__};                                             \
        tm_poke(tm, (addr), bytes_, sizeof bytes_);                                                \
    } while (0)

static void set_ps(unsigned x, float a, float b, float c, float d) {
    float f[4] = {a, b, c, d};
    memcpy(cpu->xmm[x].b, f, 16);
}
static float ps(unsigned x, unsigned lane) {
    float f;
    memcpy(&f, cpu->xmm[x].b + 4 * lane, 4);
    return f;
}

/* Runs until HLT or an exception stub: the vector, or -1 at the HLT. */
static int run(void) {
    tm_run(tm, 50);
    if (cpu->eip >= TM_STUBS && cpu->eip < TM_STUBS + 4 * 256)
        return (int)(cpu->eip - TM_STUBS) / 4;
    ck_assert(cpu->halted);
    return -1;
}

START_TEST(gating_osfxsr_em_ts) {
    static const uint8_t addps[] = {0x0F, 0x58, 0xC1, 0xF4}; /* addps xmm0, xmm1 */
    tm_poke(tm, TM_CODE, addps, sizeof addps);
    if (!sse_host_available()) {
        ck_assert_int_eq(run(), EXC_UD);
        return;
    }
    ck_assert_int_eq(run(), -1);

    reset();
    cpu->cr4 &= ~CR4_OSFXSR;
    ck_assert_int_eq(run(), EXC_UD);

    reset();
    cpu->cr4 |= CR4_OSFXSR;
    cpu->cr0 |= CR0_EM | CR0_TS; /* #UD before #NM */
    ck_assert_int_eq(run(), EXC_UD);

    reset();
    cpu->cr0 = (cpu->cr0 & ~CR0_EM) | CR0_TS;
    ck_assert_int_eq(run(), EXC_NM);

    /* The SSE integer instructions on MMX registers make the MMX checks:
     * no OSFXSR needed, #NM with TS. */
    reset();
    cpu->cr4 &= ~CR4_OSFXSR;
    cpu->cr0 &= ~(CR0_EM | CR0_TS);
    POKE(TM_CODE, 0x0F, 0xE0, 0xC1, 0xF4); /* pavgb mm0, mm1 */
    ck_assert_int_eq(run(), -1);
    reset();
    cpu->cr0 |= CR0_TS;
    ck_assert_int_eq(run(), EXC_NM);
}
END_TEST

START_TEST(simd_exceptions_xm_ud_and_flags) {
    if (!sse_host_available()) return;
    POKE(TM_CODE, 0x0F, 0x5E, 0xC1, 0xF4); /* divps xmm0, xmm1 */
    /* Masked (reset MXCSR): 1/0 = +inf, ZE set, no exception. */
    set_ps(0, 1, 2, 3, 4);
    set_ps(1, 0, 1, 1, 1);
    ck_assert_int_eq(run(), -1);
    ck_assert_uint_eq(cpu->xmm[0].d[0], 0x7F800000); /* +inf */
    ck_assert_float_eq(ps(0, 1), 2);
    ck_assert_uint_eq(cpu->mxcsr, 0x1F80 | 0x04);

    /* Unmasked ZE with OSXMMEXCPT: #XM, destination unchanged, ZE set. */
    reset();
    cpu->mxcsr = 0x1F80 & ~0x200u;
    set_ps(0, 1, 2, 3, 4);
    set_ps(1, 0, 1, 1, 1);
    ck_assert_int_eq(run(), EXC_XM);
    ck_assert_float_eq(ps(0, 0), 1);
    ck_assert_float_eq(ps(0, 1), 2);
    ck_assert_uint_eq(cpu->mxcsr, (0x1F80 & ~0x200u) | 0x04);

    /* The same without OSXMMEXCPT: #UD. */
    reset();
    cpu->cr4 &= ~CR4_OSXMMEXCPT;
    cpu->mxcsr = 0x1F80 & ~0x200u;
    set_ps(0, 1, 2, 3, 4);
    set_ps(1, 0, 1, 1, 1);
    ck_assert_int_eq(run(), EXC_UD);
    ck_assert_float_eq(ps(0, 0), 1);

    /* Unmasked precision on an exact division: nothing raised. */
    reset();
    cpu->mxcsr = 0x1F80 & ~0x1000u;
    set_ps(0, 4, 4, 4, 4);
    set_ps(1, 2, 2, 2, 2);
    ck_assert_int_eq(run(), -1);
    ck_assert_float_eq(ps(0, 3), 2);
    ck_assert_uint_eq(cpu->mxcsr, 0x1F80 & ~0x1000u);
}
END_TEST

START_TEST(alignment_gp) {
    if (!sse_host_available()) return;
    for (uint32_t a = 0x5000; a < 0x5040; a += 4)
        tm_poke32(tm, a, a);
    POKE(TM_CODE, 0x0F, 0x28, 0x05, 0x08, 0x50, 0x00, 0x00, 0xF4); /* movaps xmm0, [0x5008] */
    ck_assert_int_eq(run(), EXC_GP);
    reset();
    POKE(TM_CODE, 0x0F, 0x10, 0x05, 0x08, 0x50, 0x00, 0x00, 0xF4); /* movups xmm0, [0x5008] */
    ck_assert_int_eq(run(), -1);
    ck_assert_uint_eq(cpu->xmm[0].d[0], 0x5008);
    ck_assert_uint_eq(cpu->xmm[0].d[3], 0x5014);
    reset();
    POKE(TM_CODE, 0x66, 0x0F, 0xFE, 0x05, 0x04, 0x50, 0x00, 0x00, 0xF4); /* paddd xmm0, [0x5004] */
    ck_assert_int_eq(run(), EXC_GP);
    reset();
    POKE(TM_CODE, 0x66, 0x0F, 0x7F, 0x05, 0x04, 0x50, 0x00, 0x00, 0xF4); /* movdqa [0x5004], xmm0 */
    ck_assert_int_eq(run(), EXC_GP);
    ck_assert_uint_eq(tm_peek32(tm, 0x5004), 0x5004); /* not written */
    reset();
    POKE(TM_CODE, 0xF3, 0x0F, 0x58, 0x05, 0x04, 0x50, 0x00, 0x00,
         0xF4); /* addss: m32, any alignment */
    ck_assert_int_eq(run(), -1);
}
END_TEST

/* One block of SSE instructions (under the jit: one run of inline SSE
 * code, compiled at its first run): a fault in the middle sees the
 * results and MXCSR flags of the instructions before it and nothing of its
 * own; the checks made when the run begins (CR0.TS, the MXCSR masks) are
 * made each time the block runs, not when it was compiled. */
START_TEST(block_state_at_faults) {
    if (!sse_host_available()) return;
    POKE(TM_CODE, 0x0F, 0x28, 0x06, /*      movaps xmm0, [esi] */
         0x0F, 0x58, 0xC1,          /* +3:  addps xmm0, xmm1 */
         0x0F, 0x5E, 0xD3,          /* +6:  divps xmm2, xmm3 */
         0x0F, 0x28, 0x24, 0x3E,    /* +9:  movaps xmm4, [esi+edi] */
         0xF4);                     /* +13: hlt */
    for (int round = 0; round < 2; round++) {
        reset();
        for (uint32_t a = 0x5000; a < 0x5020; a += 4)
            tm_poke32(tm, a, 0x3F800000); /* 1.0f */
        cpu->regs[R_ESI] = 0x5000;
        cpu->regs[R_EDI] = 8;
        set_ps(1, 1, 2, 3, 4);
        set_ps(2, 1, 1, 1, 1);
        set_ps(3, 0, 1, 1, 1);
        set_ps(4, 9, 9, 9, 9);
        /* [esi+edi] misaligned: #GP at the last MOVAPS, the rest done. */
        ck_assert_int_eq(run(), EXC_GP);
        ck_assert_uint_eq(tm_peek32(tm, cpu->regs[R_ESP] + 4),
                          TM_CODE + 9); /* after the error code */
        ck_assert_float_eq(ps(0, 0), 2);
        ck_assert_float_eq(ps(0, 3), 5);
        ck_assert_uint_eq(cpu->xmm[2].d[0], 0x7F800000); /* 1/0 = +inf */
        ck_assert_float_eq(ps(2, 1), 1);
        ck_assert_uint_eq(cpu->mxcsr, 0x1F80 | 0x04); /* ZE */
        ck_assert_float_eq(ps(4, 0), 9);
    }
    const DbtStats *st = dbt_stats(cpu);
    if (dbt_engine(cpu) == ENGINE_JIT) ck_assert_uint_ge(st->blocks_compiled, 1);

    /* Aligned: the whole block. */
    reset();
    cpu->regs[R_ESI] = 0x5000;
    cpu->regs[R_EDI] = 16;
    set_ps(3, 1, 1, 1, 1);
    ck_assert_int_eq(run(), -1);
    ck_assert_float_eq(ps(4, 2), 1);

    /* CR0.TS: #NM at the first instruction, nothing changed. */
    reset();
    cpu->cr0 |= CR0_TS;
    cpu->regs[R_ESI] = 0x5000;
    set_ps(0, 7, 7, 7, 7);
    ck_assert_int_eq(run(), EXC_NM);
    ck_assert_uint_eq(tm_peek32(tm, cpu->regs[R_ESP]), TM_CODE); /* the faulting EIP */
    ck_assert_float_eq(ps(0, 0), 7);

    /* ZE unmasked: #XM at the DIVPS, after the first two. */
    reset();
    cpu->mxcsr = 0x1F80 & ~0x200u;
    cpu->regs[R_ESI] = 0x5000;
    set_ps(1, 1, 2, 3, 4);
    set_ps(2, 1, 1, 1, 1);
    set_ps(3, 0, 1, 1, 1);
    ck_assert_int_eq(run(), EXC_XM);
    ck_assert_uint_eq(tm_peek32(tm, cpu->regs[R_ESP]), TM_CODE + 6);
    ck_assert_float_eq(ps(0, 1), 3);
    ck_assert_float_eq(ps(2, 0), 1);
    ck_assert_uint_eq(cpu->mxcsr, (0x1F80 & ~0x200u) | 0x04);
}
END_TEST

/* Under the jit a run of inline SSE code stays open across the block's
 * inline integer instructions: their slow paths (a TLB miss, here at the
 * first run) leave it and take it up again, and a fault in one of them
 * (#PF) sees the results and MXCSR flags of the SSE instructions before it. */
START_TEST(run_across_integer_instructions) {
    if (!sse_host_available()) return;
    POKE(TM_CODE, 0x0F, 0x28, 0x06, /*      movaps xmm0, [esi] */
         0x0F, 0x5E, 0xD3,          /* +3:  divps xmm2, xmm3 */
         0x8B, 0x1C, 0x3E,          /* +6:  mov ebx, [esi+edi] */
         0x0F, 0x58, 0xC1,          /* +9:  addps xmm0, xmm1 */
         0x89, 0x5E, 0x40,          /* +12: mov [esi+0x40], ebx */
         0x01, 0xD8,                /* +15: add eax, ebx */
         0x8B, 0x0C, 0x2E,          /* +17: mov ecx, [esi+ebp] */
         0x0F, 0x58, 0xC1,          /* +20: addps xmm0, xmm1 */
         0xF4);                     /* +23: hlt */
    for (int round = 0; round < 3; round++) {
        reset();
        tm_paging(tm, 8);
        for (uint32_t a = 0x5000; a < 0x5020; a += 4)
            tm_poke32(tm, a, 0x3F800000); /* 1.0f */
        tm_poke32(tm, 0x5040, 0);
        cpu->regs[R_ESI] = 0x5000;
        cpu->regs[R_EDI] = 0x10;
        cpu->regs[R_EAX] = 5;
        cpu->regs[R_EBP] = round == 2 ? 0x900000 : 0; /* not mapped: #PF */
        set_ps(1, 1, 2, 3, 4);
        set_ps(2, 1, 1, 1, 1);
        set_ps(3, 0, 1, 1, 1);
        if (round < 2) {
            ck_assert_int_eq(run(), -1);
            ck_assert_float_eq(ps(0, 0), 3);
            ck_assert_float_eq(ps(0, 3), 9);
            ck_assert_uint_eq(cpu->regs[R_ECX], 0x3F800000);
        } else {
            ck_assert_int_eq(run(), EXC_PF);
            ck_assert_uint_eq(cpu->cr2, 0x905000);
            ck_assert_uint_eq(tm_peek32(tm, cpu->regs[R_ESP] + 4), TM_CODE + 17);
            ck_assert_float_eq(ps(0, 0), 2);
            ck_assert_float_eq(ps(0, 3), 5);
        }
        ck_assert_uint_eq(cpu->xmm[2].d[0], 0x7F800000); /* 1/0 = +inf */
        ck_assert_uint_eq(cpu->mxcsr, 0x1F80 | 0x04);    /* ZE */
        ck_assert_uint_eq(cpu->regs[R_EBX], 0x3F800000);
        ck_assert_uint_eq(tm_peek32(tm, 0x5040), 0x3F800000);
        ck_assert_uint_eq(cpu->regs[R_EAX], 5 + 0x3F800000);
    }
}
END_TEST

START_TEST(ldmxcsr_stmxcsr_reserved_bits) {
    if (!sse_host_available()) return;
    tm_poke32(tm, 0x5000, 0x9FC0); /* FZ, DAZ, masks */
    tm_poke32(tm, 0x5004, 0x10000);
    POKE(TM_CODE, 0x0F, 0xAE, 0x15, 0x00, 0x50, 0x00, 0x00, /* ldmxcsr [0x5000] */
         0x0F, 0xAE, 0x1D, 0x08, 0x50, 0x00, 0x00,          /* stmxcsr [0x5008] */
         0x0F, 0xAE, 0x15, 0x04, 0x50, 0x00, 0x00,          /* ldmxcsr [0x5004]: #GP */
         0xF4);
    ck_assert_int_eq(run(), EXC_GP);
    ck_assert_uint_eq(cpu->mxcsr, 0x9FC0);
    ck_assert_uint_eq(tm_peek32(tm, 0x5008), 0x9FC0);
}
END_TEST

START_TEST(fxsave_fxrstor_xmm_round_trip) {
    if (!sse_host_available()) return;
    for (unsigned i = 0; i < 8; i++)
        for (unsigned k = 0; k < 4; k++)
            cpu->xmm[i].d[k] = 0x11111111u * (i + 1) + k;
    cpu->mxcsr = 0x7F80 | 0x21;
    POKE(TM_CODE, 0x0F, 0xAE, 0x05, 0x00, 0x60, 0x00, 0x00, /* fxsave [0x6000] */
         0xF4);
    ck_assert_int_eq(run(), -1);
    ck_assert_uint_eq(tm_peek32(tm, 0x6018), 0x7FA1);
    ck_assert_uint_eq(tm_peek32(tm, 0x601C), MXCSR_MASK);
    ck_assert_uint_eq(tm_peek32(tm, 0x60A0), 0x11111111u);
    ck_assert_uint_eq(tm_peek32(tm, 0x60A0 + 16 * 7 + 12), 0x88888888u + 3);
    reset();                                                /* XMM0-7 zero, MXCSR 1F80h */
    POKE(TM_CODE, 0x0F, 0xAE, 0x0D, 0x00, 0x60, 0x00, 0x00, /* fxrstor [0x6000] */
         0xF4);
    ck_assert_int_eq(run(), -1);
    ck_assert_uint_eq(cpu->mxcsr, 0x7FA1);
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(cpu->xmm[i].d[2], 0x11111111u * (i + 1) + 2);
    /* A reserved MXCSR bit in the image: #GP(0), nothing restored. */
    tm_poke32(tm, 0x6018, 0x20000);
    reset();
    ck_assert_int_eq(run(), EXC_GP);
    ck_assert_uint_eq(cpu->xmm[3].d[0], 0); /* still the reset value */
    ck_assert_uint_eq(cpu->mxcsr, 0x1F80);
}
END_TEST

START_TEST(prefixes_maps_and_memory_forms) {
    if (!sse_host_available()) return;
    for (unsigned k = 0; k < 16; k++) {
        cpu->xmm[0].b[k] = (uint8_t)(0xA0 + k);
        cpu->xmm[1].b[k] = (uint8_t)(15 - k); /* reverse */
    }
    tm_poke32(tm, 0x5000, 0x3F800000); /* 1.0f */
    tm_poke32(tm, 0x5004, 0xDEADBEEF);
    POKE(TM_CODE, 0x66, 0x0F, 0x38, 0x00, 0xC1,          /* pshufb xmm0, xmm1: bytes reversed */
         0x0F, 0x12, 0xD0,                               /* movhlps xmm2, xmm0 */
         0xF3, 0x0F, 0x10, 0x1D, 0x00, 0x50, 0x00, 0x00, /* movss xmm3, [0x5000]: rest zeroed */
         0xF3, 0x0F, 0x10, 0xE3,                         /* movss xmm4, xmm3: low only */
         0x0F, 0x2F, 0xDB,                               /* comiss xmm3, xmm3: ZF */
         0xF4);
    cpu->xmm[4].d[3] = 0x12345678;
    cpu->xmm[3].d[2] = 0xFFFFFFFF;
    ck_assert_int_eq(run(), -1);
    ck_assert_uint_eq(cpu->xmm[0].b[0], 0xAF);
    ck_assert_uint_eq(cpu->xmm[0].b[15], 0xA0);
    ck_assert_uint_eq(cpu->xmm[2].q[0], cpu->xmm[0].q[1]);
    ck_assert_uint_eq(cpu->xmm[3].d[0], 0x3F800000);
    ck_assert_uint_eq(cpu->xmm[3].d[1] | cpu->xmm[3].d[2] | cpu->xmm[3].d[3], 0);
    ck_assert_uint_eq(cpu->xmm[4].d[0], 0x3F800000);
    ck_assert_uint_eq(cpu->xmm[4].d[3], 0x12345678);
    ck_assert(cpu_get_eflags(cpu) & FL_ZF);

    /* MASKMOVDQU stores the selected bytes at DS:EDI. */
    reset();
    for (unsigned k = 0; k < 16; k++) {
        cpu->xmm[5].b[k] = (uint8_t)k;
        cpu->xmm[6].b[k] = k == 3 || k == 9 ? 0x80 : 0x7F;
    }
    tm_poke32(tm, 0x7000, 0);
    tm_poke32(tm, 0x7008, 0);
    cpu->regs[R_EDI] = 0x7000;
    POKE(TM_CODE, 0x66, 0x0F, 0xF7, 0xEE, 0xF4); /* maskmovdqu xmm5, xmm6 */
    ck_assert_int_eq(run(), -1);
    ck_assert_uint_eq(tm_peek32(tm, 0x7000), 0x03000000);
    ck_assert_uint_eq(tm_peek32(tm, 0x7008), 0x00000900);
}
END_TEST

/* Each instruction needs its own extension (the decoder's "needs" column):
 * #UD on a model that lacks it, whatever the others. The expectations are
 * the real processors' (pentium3: SSE; coreduo, a Yonah: SSE, SSE2, SSE3
 * and CLFLUSH but not SSSE3; max: all), written here, not read from the
 * model table. A fresh machine per model: translations are made under one
 * model (fixed for a run). */
enum { X_ALL, X_SSE, X_SSE2, X_SSE3, X_SSSE3, X_CLFSH };
START_TEST(per_model_feature_gating) {
    static const struct {
        uint8_t bytes[10];
        uint8_t len, ext;
        const char *what;
    } insns[] = {
        {{0x0F, 0x58, 0xC1}, 3, X_SSE, "addps"},
        {{0x0F, 0xE0, 0xC1}, 3, X_SSE, "pavgb mm"},
        {{0x0F, 0xAE, 0x1D, 0x00, 0x60, 0x00, 0x00}, 7, X_SSE, "stmxcsr"},
        {{0x0F, 0xAE, 0xF8}, 3, X_SSE, "sfence"},
        {{0xF3, 0x0F, 0x58, 0xC1}, 4, X_SSE, "addss"},
        {{0x66, 0x0F, 0x58, 0xC1}, 4, X_SSE2, "addpd"},
        {{0x0F, 0xD4, 0xC1}, 3, X_SSE2, "paddq mm"},
        {{0x0F, 0x5A, 0xC1}, 3, X_SSE2, "cvtps2pd"},
        {{0x0F, 0xAE, 0xE8}, 3, X_SSE2, "lfence"},
        {{0x0F, 0xAE, 0xF0}, 3, X_SSE2, "mfence"},
        {{0x0F, 0xC3, 0x05, 0x00, 0x60, 0x00, 0x00}, 7, X_SSE2, "movnti"},
        {{0x66, 0x0F, 0x73, 0xF8, 0x01}, 5, X_SSE2, "pslldq"},
        {{0xF3, 0x0F, 0xE6, 0xC1}, 4, X_SSE2, "cvtdq2pd"},
        {{0x66, 0x0F, 0xFC, 0xC1}, 4, X_SSE2, "paddb xmm"},
        {{0xF2, 0x0F, 0x7C, 0xC1}, 4, X_SSE3, "haddps"},
        {{0xF3, 0x0F, 0x16, 0xC1}, 4, X_SSE3, "movshdup"},
        {{0xF2, 0x0F, 0xF0, 0x05, 0x00, 0x60, 0x00, 0x00}, 8, X_SSE3, "lddqu"},
        {{0xDB, 0xE3, 0xDB, 0x0D, 0x00, 0x60, 0x00, 0x00}, 8, X_SSE3, "fninit; fisttp"},
        {{0x66, 0x0F, 0x38, 0x00, 0xC1}, 5, X_SSSE3, "pshufb xmm"},
        {{0x0F, 0x38, 0x00, 0xC1}, 4, X_SSSE3, "pshufb mm"},
        {{0x66, 0x0F, 0x3A, 0x0F, 0xC1, 0x04}, 6, X_SSSE3, "palignr"},
        {{0x0F, 0xAE, 0x3D, 0x00, 0x60, 0x00, 0x00}, 7, X_CLFSH, "clflush"},
        {{0xF3, 0x90}, 2, X_ALL, "pause"},
        {{0x0F, 0x18, 0x05, 0x00, 0x60, 0x00, 0x00}, 7, X_ALL, "prefetchnta"},
        {{0x0F, 0x1F, 0x00}, 3, X_ALL, "nop r/m"},
        {{0x0F, 0xAE, 0x05, 0x00, 0x60, 0x00, 0x00}, 7, X_ALL, "fxsave"},
        {{0xDB, 0xE3, 0xDB, 0x1D, 0x00, 0x60, 0x00, 0x00}, 8, X_ALL, "fninit; fistp"},
        {{0x0F, 0xFC, 0xC1}, 3, X_ALL, "paddb mm"},
        {{0x0F, 0x44, 0xC1}, 3, X_ALL, "cmovz"},
    };
    static const struct {
        const char *model;
        unsigned has; /* bit X_*: the real processor has it */
    } models[] = {
        {"pentium2", 1u << X_ALL},
        {"pentium3", 1u << X_ALL | 1u << X_SSE},
        {"coreduo", 1u << X_ALL | 1u << X_SSE | 1u << X_SSE2 | 1u << X_SSE3 | 1u << X_CLFSH},
        {"max", 0x3F},
    };
    for (unsigned m = 0; m < sizeof models / sizeof models[0]; m++) {
        tm_free(tm);
        tm = tm_new(16 << 20);
        cpu = tm->cpu;
        cpu_set_model(cpu, cpu_model_find(models[m].model));
        for (unsigned k = 0; k < sizeof insns / sizeof insns[0]; k++) {
            reset();
            tm_poke(tm, TM_CODE, insns[k].bytes, insns[k].len);
            tm_poke(tm, TM_CODE + insns[k].len, (const uint8_t[]){0xF4}, 1);
            bool ok = (models[m].has >> insns[k].ext) & 1;
            if (insns[k].ext != X_ALL && !sse_host_available()) ok = false;
            int v = run();
            ck_assert_msg(v == (ok ? -1 : EXC_UD), "%s on %s: vector %d", insns[k].what,
                          models[m].model, v);
        }
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("sse");
    TCase *tc = tcase_create("sse");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, gating_osfxsr_em_ts);
    tcase_add_test(tc, simd_exceptions_xm_ud_and_flags);
    tcase_add_test(tc, alignment_gp);
    tcase_add_test(tc, block_state_at_faults);
    tcase_add_test(tc, run_across_integer_instructions);
    tcase_add_test(tc, ldmxcsr_stmxcsr_reserved_bits);
    tcase_add_test(tc, fxsave_fxrstor_xmm_round_trip);
    tcase_add_test(tc, prefixes_maps_and_memory_forms);
    tcase_add_test(tc, per_model_feature_gating);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
