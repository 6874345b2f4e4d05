/*
 * cpu_model.h - the CPU models bt86 can present (-cpu MODEL, QEMU's names):
 * what CPUID reports and which optional architecture (PAE, NX, MTRRs, PAT,
 * EFER, IA32_ARCH_CAPABILITIES) the CPU has.
 *
 * A model lists the real processor's identification (vendor, signature,
 * brand string, cache descriptors, maximum leaves, physical-address width)
 * and its real feature bits. What the CPU reports and obeys is that set
 * AND the bits bt86 implements (CPUID_IMPL_* below), computed once by
 * cpu_set_model into cpu->feat: CPUID never reports more than is
 * implemented, and a feature added to bt86 shows up on every model that
 * really has it by adding its bit to the mask. Other code asks
 * cpu_has_*() or reads cpu->feat.
 *
 * Use:
 *     const CpuModel *m = cpu_model_find("coreduo");   // NULL: unknown
 *     cpu_set_model(cpu, m);                            // before cpu_reset
 *     cpu_model_list(stdout);                           // -cpu help
 */
#ifndef BT86_CPU_MODEL_H
#define BT86_CPU_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* CPUID leaf 1 EDX bits. */
#define CPUID_FPU   (1u << 0)
#define CPUID_VME   (1u << 1)
#define CPUID_DE    (1u << 2)
#define CPUID_PSE   (1u << 3)
#define CPUID_TSC   (1u << 4)
#define CPUID_MSR   (1u << 5)
#define CPUID_PAE   (1u << 6)
#define CPUID_MCE   (1u << 7)
#define CPUID_CX8   (1u << 8)
#define CPUID_APIC  (1u << 9)
#define CPUID_SEP   (1u << 11)
#define CPUID_MTRR  (1u << 12)
#define CPUID_PGE   (1u << 13)
#define CPUID_MCA   (1u << 14)
#define CPUID_CMOV  (1u << 15)
#define CPUID_PAT   (1u << 16)
#define CPUID_PSE36 (1u << 17)
#define CPUID_CLFSH (1u << 19)
#define CPUID_DS    (1u << 21)
#define CPUID_ACPI  (1u << 22)
#define CPUID_MMX   (1u << 23)
#define CPUID_FXSR  (1u << 24)
#define CPUID_SSE   (1u << 25)
#define CPUID_SSE2  (1u << 26)
#define CPUID_SS    (1u << 27)
#define CPUID_TM    (1u << 29)
#define CPUID_PBE   (1u << 31)
/* Leaf 1 ECX bits. */
#define CPUID_ECX_SSE3         (1u << 0)
#define CPUID_ECX_MONITOR      (1u << 3)
#define CPUID_ECX_VMX          (1u << 5)
#define CPUID_ECX_EST          (1u << 7)
#define CPUID_ECX_TM2          (1u << 8)
#define CPUID_ECX_SSSE3        (1u << 9)
#define CPUID_ECX_XTPR         (1u << 14)
#define CPUID_ECX_PDCM         (1u << 15)
#define CPUID_ECX_TSC_DEADLINE (1u << 24) /* the local APIC's TSC-deadline timer mode */
/* Leaf 0x80000001 EDX bits. */
#define CPUID_EXT_NX (1u << 20)
/* Leaf 7 (subleaf 0) EDX bits. */
#define CPUID_7_ARCH_CAPABILITIES (1u << 29)

/*
 * What bt86 implements, per register: a model reports (its real bits) AND
 * these. FPU, MMX and FXSR also need the x87 backend (fpu_backend_available),
 * and CLFSH, SSE, SSE2, SSE3 and SSSE3 also the host's SSE unit
 * (sse_host_available, cpu/sse.h): cpu_set_model drops them without it.
 * The APIC bit is reported while IA32_APIC_BASE enables the local APIC
 * (op_cpuid), on the models that have one; TSC_DEADLINE (only max: the
 * real models predate it) when the CPU has a local APIC at all, and
 * IA32_TSC_DEADLINE (MSR 0x6E0) exists only then. Helpers that implement an
 * extension (SSE, the local APIC, ...) add its bit here.
 */
#define CPUID_IMPL_1_EDX                                                                           \
    (CPUID_FPU | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_PAE | CPUID_CX8 |            \
     CPUID_SEP | CPUID_MTRR | CPUID_PGE | CPUID_CMOV | CPUID_PAT | CPUID_MMX | CPUID_FXSR |        \
     CPUID_CLFSH | CPUID_SSE | CPUID_SSE2 | CPUID_APIC)
#define CPUID_IMPL_1_ECX   (CPUID_ECX_SSE3 | CPUID_ECX_SSSE3 | CPUID_ECX_TSC_DEADLINE)
#define CPUID_IMPL_EXT_EDX CPUID_EXT_NX
#define CPUID_IMPL_7_EDX   CPUID_7_ARCH_CAPABILITIES

/* IA32_ARCH_CAPABILITIES bits (MSR 0x10A). */
#define ARCH_CAP_RDCL_NO        (1ull << 0)
#define ARCH_CAP_SSB_NO         (1ull << 4)
#define ARCH_CAP_MDS_NO         (1ull << 5)
#define ARCH_CAP_PSCHANGE_MC_NO (1ull << 6)
#define ARCH_CAP_TAA_NO         (1ull << 8)
#define ARCH_CAP_SBDR_SSDP_NO   (1ull << 13)
#define ARCH_CAP_FBSDP_NO       (1ull << 14)
#define ARCH_CAP_PSDP_NO        (1ull << 15)
#define ARCH_CAP_BHI_NO         (1ull << 20)
#define ARCH_CAP_PBRSB_NO       (1ull << 24)
#define ARCH_CAP_GDS_NO         (1ull << 26)
#define ARCH_CAP_RFDS_NO        (1ull << 27)

typedef struct CpuModel {
    const char *name;        /* -cpu NAME (QEMU's) */
    const char *description; /* for -cpu help */
    char vendor[13];         /* leaf 0: EBX, EDX, ECX */
    uint32_t signature;      /* leaf 1 EAX (and EDX after RESET) */
    uint32_t max_basic;      /* leaf 0 EAX */
    uint32_t max_ext;        /* leaf 0x80000000 EAX; 0: no extended leaves */
    uint32_t edx1, ecx1;     /* the real processor's leaf 1 feature bits */
    uint32_t ext_edx;        /* its leaf 0x80000001 EDX */
    uint32_t edx7;           /* its leaf 7 EDX */
    uint32_t leaf2[4];       /* cache and TLB descriptors (EAX, EBX, ECX, EDX) */
    uint32_t l2_ecx;         /* leaf 0x80000006 ECX (L2 size, associativity, line) */
    const char *brand;       /* leaves 0x80000002-4, or NULL */
    uint8_t phys_bits;       /* MAXPHYADDR (0x80000008 EAX[7:0] when max_ext reaches it) */
    uint64_t arch_caps;      /* IA32_ARCH_CAPABILITIES when edx7 has the bit */
    bool misc_enable;        /* has IA32_MISC_ENABLE (0x1A0): Pentium M, Core and later */
} CpuModel;

/* What the CPU reports and obeys: the model's bits AND what is implemented. */
typedef struct CpuFeatures {
    uint32_t edx1, ecx1, ext_edx, edx7;
} CpuFeatures;

const CpuModel *cpu_model_find(const char *name);
/* The default model of the PC (-cpu max) and of a bare cpu_new (pentium2,
 * the machine bt86 always was, which unit tests assume). */
const CpuModel *cpu_model_default(void);
const CpuModel *cpu_model_pentium2(void);
/* Print "name  description" lines for every model. */
void cpu_model_list(FILE *out);
/* The comma-separated names, for error messages. */
const char *cpu_model_names(void);
/* The model's effective features (implemented mask, x87 backend applied). */
CpuFeatures cpu_model_features(const CpuModel *m);

#endif
