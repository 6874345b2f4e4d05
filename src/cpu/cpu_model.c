/*
 * cpu_model.c - the table of CPU models (see cpu_model.h and
 * docs/cpu-models.md for why each model says what it says).
 */
#include "cpu/cpu_model.h"

#include <string.h>

#include "cpu/fpu.h"
#include "cpu/sse.h"

/* Core 2 / Core Duo class descriptors: TLBs, 32 KiB L1 caches, 2 MiB L2,
 * 64-byte prefetch. */
#define CORE_LEAF2                                                                                 \
    { 0x02B3B001u, 0x000000F0u, 0, 0x2C04307Du }

static const CpuModel models[] = {
    {
        /* The machine bt86 always was: a Pentium II (Deschutes) as CPUID
         * described it before there were models. The real part also had
         * VME, PAE, MCE, APIC, MTRR, MCA and PSE-36; this model keeps
         * reporting exactly what it did (no PAE, no MTRRs), so guests and
         * recordings made with it see the same machine. */
        .name = "pentium2",
        .description = "Intel Pentium II (Deschutes), as bt86 always was: no PAE, no NX",
        .vendor = "GenuineIntel",
        .signature = 0x0652,
        .max_basic = 2,
        .max_ext = 0,
        .edx1 = CPUID_FPU | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_CX8 | CPUID_SEP |
                CPUID_PGE | CPUID_CMOV | CPUID_MMX | CPUID_FXSR,
        .leaf2 = {0x03020101u, 0, 0, 0x0C040843u},
        .phys_bits = 32,
    },
    {
        .name = "pentium3",
        .description = "Intel Pentium III (Katmai): PAE, MTRRs, PAT; no NX",
        .vendor = "GenuineIntel",
        .signature = 0x0673,
        .max_basic = 2,
        .max_ext = 0,
        .edx1 = CPUID_FPU | CPUID_VME | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_PAE |
                CPUID_MCE | CPUID_CX8 | CPUID_APIC | CPUID_SEP | CPUID_MTRR | CPUID_PGE |
                CPUID_MCA | CPUID_CMOV | CPUID_PAT | CPUID_PSE36 | CPUID_MMX | CPUID_FXSR |
                CPUID_SSE,
        .leaf2 = {0x03020101u, 0, 0, 0x0C040843u},
        .phys_bits = 36,
    },
    {
        .name = "coreduo",
        .description = "Intel Core Duo T2600 (Yonah): PAE, NX, MTRRs, PAT",
        .vendor = "GenuineIntel",
        .signature = 0x06E8,
        .max_basic = 10,
        .max_ext = 0x80000008u,
        .edx1 = CPUID_FPU | CPUID_VME | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_PAE |
                CPUID_MCE | CPUID_CX8 | CPUID_APIC | CPUID_SEP | CPUID_MTRR | CPUID_PGE |
                CPUID_MCA | CPUID_CMOV | CPUID_PAT | CPUID_CLFSH | CPUID_DS | CPUID_ACPI |
                CPUID_MMX | CPUID_FXSR | CPUID_SSE | CPUID_SSE2 | CPUID_SS | CPUID_TM | CPUID_PBE,
        .ecx1 = CPUID_ECX_SSE3 | CPUID_ECX_MONITOR | CPUID_ECX_VMX | CPUID_ECX_EST | CPUID_ECX_TM2 |
                CPUID_ECX_XTPR | CPUID_ECX_PDCM,
        .ext_edx = CPUID_EXT_NX,
        .leaf2 = CORE_LEAF2,
        .l2_ecx = 0x08006040u, /* 2 MiB, 8-way, 64-byte lines */
        .brand = "Genuine Intel(R) CPU T2600 @ 2.16GHz",
        .phys_bits = 32,
        .misc_enable = true,
    },
    {
        /* Everything bt86 implements, on a Core 2 class signature (family
         * 6, model 15). It reports IA32_ARCH_CAPABILITIES with the "not
         * affected" bits, which are true of an emulator that never
         * speculates: the kernel then needs no page-table isolation
         * (see docs/cpu-models.md). */
        .name = "max",
        .description = "everything bt86 implements (default): PAE, NX, MTRRs, PAT, "
                       "IA32_ARCH_CAPABILITIES",
        .vendor = "GenuineIntel",
        .signature = 0x06FB,
        .max_basic = 7,
        .max_ext = 0x80000008u,
        .edx1 = 0xFFFFFFFFu,
        .ecx1 = 0xFFFFFFFFu,
        .ext_edx = 0xFFFFFFFFu,
        .edx7 = 0xFFFFFFFFu,
        .leaf2 = CORE_LEAF2,
        .l2_ecx = 0x08006040u,
        .brand = "bt86 max CPU (Intel P6 family compatible)",
        .phys_bits = 36,
        .misc_enable = true,
        .arch_caps = ARCH_CAP_RDCL_NO | ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO |
                     ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TAA_NO | ARCH_CAP_SBDR_SSDP_NO |
                     ARCH_CAP_FBSDP_NO | ARCH_CAP_PSDP_NO | ARCH_CAP_BHI_NO | ARCH_CAP_PBRSB_NO |
                     ARCH_CAP_GDS_NO | ARCH_CAP_RFDS_NO,
    },
};

#define NMODELS (sizeof models / sizeof models[0])

const CpuModel *cpu_model_find(const char *name) {
    for (size_t i = 0; i < NMODELS; i++)
        if (strcmp(models[i].name, name) == 0) return &models[i];
    return NULL;
}

const CpuModel *cpu_model_default(void) {
    return &models[NMODELS - 1];
}

const CpuModel *cpu_model_pentium2(void) {
    return &models[0];
}

void cpu_model_list(FILE *out) {
    for (size_t i = 0; i < NMODELS; i++)
        fprintf(out, "  %-10s %s\n", models[i].name, models[i].description);
}

const char *cpu_model_names(void) {
    return "pentium2, pentium3, coreduo, max";
}

CpuFeatures cpu_model_features(const CpuModel *m) {
    uint32_t impl_edx = CPUID_IMPL_1_EDX;
    uint32_t impl_ecx = CPUID_IMPL_1_ECX;
    if (!fpu_backend_available()) impl_edx &= ~(CPUID_FPU | CPUID_MMX | CPUID_FXSR);
    if (!fpu_backend_available() || !sse_host_available()) {
        impl_edx &= ~(CPUID_CLFSH | CPUID_SSE | CPUID_SSE2);
        impl_ecx &= ~(CPUID_ECX_SSE3 | CPUID_ECX_SSSE3);
    }
    CpuFeatures f = {
        .edx1 = m->edx1 & impl_edx,
        .ecx1 = m->ecx1 & impl_ecx,
        .ext_edx = m->max_ext >= 0x80000001u ? m->ext_edx & CPUID_IMPL_EXT_EDX : 0,
        .edx7 = m->max_basic >= 7 ? m->edx7 & CPUID_IMPL_7_EDX : 0,
    };
    return f;
}
