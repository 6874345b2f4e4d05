/*
 * test_pae.c - PAE paging, NX, the model-specific MSRs and CPUID per CPU
 * model.
 *
 * The "mmu" cases drive the MMU directly: three-level walks with 4 KiB and
 * 2 MiB pages, the reserved-bit #PF (RSVD) at each level and above
 * MAXPHYADDR, execute-disable fetch faults with the I/D bit under
 * EFER.NXE (and bit 63 reserved without it), PDPTEs taken at load time,
 * reserved PDPTE bits refused, global pages across CR3 writes. The
 * "ram4g" cases give PhysMem RAM above 4 GiB (lazily mapped): the split at
 * the PCI hole, unbacked addresses (the hole, past the end, straddling it)
 * reading all ones and dropping writes, bulk copies and code tracking with
 * 64-bit addresses, the RAM snapshot section (chunks, version 1), and -m
 * parsing and its limits per CPU model.
 *
 * The "cpu" cases run guest code on a test machine (under each engine:
 * BT86_ACCEL): CPUID per model, CR4.PAE refused on pentium2, MOV CR3
 * loading the PDPTEs (a PDPT changed in memory has no effect until the
 * next load; #GP for reserved bits), an NX page whose code was already
 * translated faulting on the next fetch, EFER/PAT/MTRR MSRs read, written
 * and refused, and the new state through a snapshot; and guest code
 * reaching RAM above 4 GiB through a page table that lies there too (4 KiB
 * and 2 MiB pages), under every engine's fast paths.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/sse.h"
#include "devices/pc.h"
#include "mmu/mmu.h"
#include "snap/snap.h"
#include "testmachine.h"

/* ======================= the MMU alone ======================= */

static PhysMem *pm;
static Mmu mmu;

#define PDPT 0x10000u /* page-directory-pointer table (32-byte aligned) */
#define PDIR 0x11000u /* page directory of PDPTE 0: 0x00000000-0x3FFFFFFF */
#define PTAB 0x12000u /* page table of PDE 0: 0x00000000-0x001FFFFF */
#define NX   (1ull << 63)

static void wr64(uint32_t pa, uint64_t v) {
    phys_write(pm, pa, 4, (uint32_t)v);
    phys_write(pm, pa + 4, 4, (uint32_t)(v >> 32));
}
static uint64_t rd64(uint32_t pa) {
    return phys_read(pm, pa, 4) | (uint64_t)phys_read(pm, pa + 4, 4) << 32;
}

/* PAE paging on with CR3 = PDPT: loads the PDPTEs as a CPU would. */
static void pae_on(bool nxe, bool pge) {
    uint64_t pdpte[4];
    ck_assert(mmu_load_pdptes(&mmu, PDPT, pdpte));
    mmu_set_pae(&mmu, true, nxe, pdpte);
    mmu_set_paging(&mmu, true, true, false, pge, PDPT);
}

static void mmu_setup(void) {
    pm = physmem_new(8 << 20);
    ck_assert_ptr_nonnull(pm);
    mmu_init(&mmu, pm);
    mmu.phys_bits = 36;
    wr64(PDPT, PDIR | 1);
    wr64(PDIR, PTAB | 7);
}
static void mmu_teardown(void) {
    physmem_free(pm);
}

static void map4k(uint32_t lin, uint64_t entry) {
    wr64(PTAB + 8 * ((lin >> 12) & 511), entry);
}

/* Translate; returns true or stores the #PF error code. */
static bool xlate(uint32_t lin, int access, bool user, PhysAddr *pa, uint32_t *err) {
    *err = 0xDEAD;
    return mmu_translate(&mmu, lin, access, user, pa, err);
}

START_TEST(pae_walk_4k_and_2m) {
    map4k(0x5000, 0x300000 | 7);
    wr64(PDIR + 8 * 2, 0x600000 | 0x80 | 7); /* 0x400000-0x5FFFFF -> 2 MiB page at 0x600000 */
    pae_on(false, false);
    PhysAddr pa;
    uint32_t err;
    ck_assert(xlate(0x5123, MMU_READ, false, &pa, &err));
    ck_assert_uint_eq(pa, 0x300123);
    ck_assert(xlate(0x4ABCDE, MMU_WRITE, true, &pa, &err));
    ck_assert_uint_eq(pa, 0x6ABCDE);
    /* Accessed in the PTE, accessed and dirty in the 2 MiB PDE; the high
     * words untouched. */
    ck_assert_uint_eq(rd64(PTAB + 8 * 5), 0x300000 | 7 | 0x20);
    ck_assert_uint_eq(rd64(PDIR + 16), 0x600000 | 0x80 | 7 | 0x60);
    /* A write through the 4 KiB page sets D in its PTE. */
    ck_assert(xlate(0x5000, MMU_WRITE, false, &pa, &err));
    ck_assert_uint_eq(rd64(PTAB + 8 * 5), 0x300000 | 7 | 0x60);
    /* PDPTE 1 is not present: #PF, P clear. */
    ck_assert(!xlate(0x40000000, MMU_READ, false, &pa, &err));
    ck_assert_uint_eq(err, 0);
    /* An entry whose address is above 4 GiB (below MAXPHYADDR): nothing
     * there, reads give all ones. */
    map4k(0x6000, 0x812345000ull | 3);
    ck_assert(xlate(0x6010, MMU_READ, false, &pa, &err));
    ck_assert_uint_eq(pa, 0x812345010ull);
    ck_assert_uint_eq(phys_read(pm, pa, 4), 0xFFFFFFFFu);
}
END_TEST

START_TEST(reserved_bits_fault_with_rsvd) {
    PhysAddr pa;
    uint32_t err;
    map4k(0x1000, 0x1000 | 7 | (1ull << 40)); /* above MAXPHYADDR 36 */
    map4k(0x2000, 0x2000 | 7);
    wr64(PDIR + 8 * 1, 0x200000 | 0x80 | 7 | 0x2000); /* 2 MiB PDE with bit 13 */
    pae_on(false, false);
    ck_assert(!xlate(0x1000, MMU_WRITE, true, &pa, &err));
    ck_assert_uint_eq(err, PF_P | PF_W | PF_U | PF_RSVD);
    ck_assert(xlate(0x2000, MMU_READ, false, &pa, &err));
    ck_assert(!xlate(0x200000, MMU_READ, false, &pa, &err));
    ck_assert_uint_eq(err, PF_P | PF_RSVD);
    /* MAXPHYADDR 40: bit 40 is reserved still, bit 36 is an address bit. */
    mmu.phys_bits = 40;
    map4k(0x1000, 0x1000 | 7 | (1ull << 36));
    mmu_flush_all(&mmu);
    ck_assert(xlate(0x1000, MMU_READ, false, &pa, &err));
    ck_assert_uint_eq(pa, 0x1000000000ull | 0x1000);
    /* A reserved bit in a PDE stops the walk there, before its table. */
    wr64(PDIR, PTAB | 7 | (1ull << 50));
    mmu_flush_all(&mmu);
    ck_assert(!xlate(0x2000, MMU_READ, false, &pa, &err));
    ck_assert_uint_eq(err, PF_P | PF_RSVD);
}
END_TEST

START_TEST(nx_fetch_faults_with_id_bit) {
    PhysAddr pa;
    uint32_t err;
    map4k(0x3000, 0x3000 | 7 | NX);
    map4k(0x4000, 0x4000 | 7);
    pae_on(true, false);
    /* Reads and writes of an NX page are fine, fetches fault with I. */
    ck_assert(xlate(0x3000, MMU_READ, true, &pa, &err));
    ck_assert(mmu_tlb_read(&mmu, 0x3000, true) != NULL);
    ck_assert(mmu_tlb_fetch(&mmu, 0x3000, true) == NULL); /* the TLB gives no fetch either */
    ck_assert(!xlate(0x3000, MMU_FETCH, true, &pa, &err));
    ck_assert_uint_eq(err, PF_P | PF_U | PF_I);
    /* NX in the PDE covers the pages under it. */
    ck_assert(xlate(0x4000, MMU_FETCH, false, &pa, &err));
    ck_assert(mmu_tlb_fetch(&mmu, 0x4000, false) != NULL);
    wr64(PDIR, PTAB | 7 | NX);
    mmu_flush_page(&mmu, 0x4000);
    ck_assert(!xlate(0x4000, MMU_FETCH, false, &pa, &err));
    ck_assert_uint_eq(err, PF_P | PF_I);
    /* A fetch from a page that is not present: I set, P clear. */
    ck_assert(!xlate(0x40000000, MMU_FETCH, false, &pa, &err));
    ck_assert_uint_eq(err, PF_I);
}
END_TEST

START_TEST(nx_off_without_nxe) {
    PhysAddr pa;
    uint32_t err;
    map4k(0x3000, 0x3000 | 7 | NX);
    map4k(0x4000, 0x4000 | 7);
    pae_on(false, false);
    /* Without EFER.NXE bit 63 is reserved, and fetches are not flagged. */
    ck_assert(!xlate(0x3000, MMU_READ, false, &pa, &err));
    ck_assert_uint_eq(err, PF_P | PF_RSVD);
    ck_assert(xlate(0x4000, MMU_FETCH, false, &pa, &err));
    ck_assert(mmu_tlb_fetch(&mmu, 0x4000, false) != NULL);
    ck_assert(!xlate(0x40000000, MMU_FETCH, false, &pa, &err));
    ck_assert_uint_eq(err, 0);
    /* Turning NXE on flushes: the fetch entry made without it goes. */
    mmu_set_pae(&mmu, true, true, mmu.pdpte);
    ck_assert(mmu_tlb_fetch(&mmu, 0x4000, false) == NULL);
}
END_TEST

START_TEST(pdptes_are_loaded_not_walked) {
    PhysAddr pa;
    uint32_t err;
    map4k(0x1000, 0x7000 | 7);
    pae_on(false, false);
    ck_assert(xlate(0x1000, MMU_READ, false, &pa, &err));
    ck_assert_uint_eq(pa, 0x7000);
    /* PDPTE 0 now points elsewhere in memory: the MMU still has the old one. */
    wr64(PDPT, 0x20000 | 1); /* an empty directory */
    mmu_flush_all(&mmu);
    ck_assert(xlate(0x1000, MMU_READ, false, &pa, &err));
    ck_assert_uint_eq(pa, 0x7000);
    /* Reloaded (a CR3 write): the new one counts. */
    pae_on(false, false);
    ck_assert(!xlate(0x1000, MMU_READ, false, &pa, &err));
}
END_TEST

START_TEST(reserved_pdpte_bits_refused) {
    uint64_t pdpte[4];
    static const uint64_t bad[] = {1u << 1, 1u << 2, 1u << 5,    1u << 6,
                                   1u << 7, 1u << 8, 1ull << 36, NX};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wr64(PDPT + 8, 0x30000 | 1 | bad[i]);
        ck_assert_msg(!mmu_load_pdptes(&mmu, PDPT, pdpte), "bit %u", i);
    }
    /* Not present: its other bits are not looked at. PWT, PCD, 9-11 are fine. */
    wr64(PDPT + 8, 0x30000 | bad[0] | bad[7]);
    ck_assert(mmu_load_pdptes(&mmu, PDPT, pdpte));
    wr64(PDPT + 8, 0x30000 | 1 | 0x18 | 0xE00);
    ck_assert(mmu_load_pdptes(&mmu, PDPT, pdpte));
    ck_assert_uint_eq(pdpte[1], 0x30000 | 1 | 0x18 | 0xE00);
}
END_TEST

START_TEST(global_pages_survive_cr3_writes_with_pae) {
    map4k(0x1000, 0x5000 | 7 | 0x100); /* global */
    map4k(0x2000, 0x6000 | 7);
    pae_on(false, true);
    PhysAddr pa;
    uint32_t err;
    ck_assert(xlate(0x1000, MMU_READ, false, &pa, &err));
    ck_assert(xlate(0x2000, MMU_READ, false, &pa, &err));
    pae_on(false, true); /* a CR3 write */
    ck_assert(mmu_tlb_read(&mmu, 0x1000, false) != NULL);
    ck_assert(mmu_tlb_read(&mmu, 0x2000, false) == NULL);
    /* Toggling PGE drops them, as does INVLPG. */
    ck_assert(xlate(0x1000, MMU_READ, false, &pa, &err));
    mmu_set_paging(&mmu, true, true, false, false, PDPT);
    ck_assert(mmu_tlb_read(&mmu, 0x1000, false) == NULL);
    pae_on(false, true);
    ck_assert(xlate(0x1000, MMU_READ, false, &pa, &err));
    mmu_flush_page(&mmu, 0x1000);
    ck_assert(mmu_tlb_read(&mmu, 0x1000, false) == NULL);
}
END_TEST

/* ======================= the CPU ======================= */

static TestMachine *tm;
static CPU *cpu;

static void cpu_setup(void) {
    tm = tm_new(16 << 20);
    cpu = tm->cpu;
}
static void cpu_teardown(void) {
    tm_free(tm);
}

#define POKE(addr, ...)                                                                            \
    do {                                                                                           \
        static const uint8_t bytes_[] = {__VA_ARGS__};                                             \
        tm_poke(tm, (addr), bytes_, sizeof bytes_);                                                \
    } while (0)

static void use_model(const char *name) {
    const CpuModel *m = cpu_model_find(name);
    ck_assert_ptr_nonnull(m);
    cpu_set_model(cpu, m);
    cpu_reset(cpu);
}

/* CPUID leaf (subleaf 0) through the guest: a[0..3] = EAX, EBX, ECX, EDX. */
static void guest_cpuid(uint32_t leaf, uint32_t out[4]) {
    POKE(TM_CODE, 0x0F, 0xA2, 0xF4); /* cpuid; hlt */
    cpu->eip = TM_CODE;
    cpu->halted = false;
    cpu->regs[R_EAX] = leaf;
    cpu->regs[R_ECX] = 0;
    tm_run(tm, 10);
    ck_assert(cpu->halted);
    out[0] = cpu->regs[R_EAX];
    out[1] = cpu->regs[R_EBX];
    out[2] = cpu->regs[R_ECX];
    out[3] = cpu->regs[R_EDX];
}

static void brand_of(char brand[49]) {
    uint32_t r[4];
    for (unsigned i = 0; i < 3; i++) {
        guest_cpuid(0x80000002u + i, r);
        memcpy(brand + 16 * i, r, 16);
    }
    brand[48] = 0;
}

START_TEST(cpuid_per_model) {
    uint32_t r[4];
    char brand[49];
    /* pentium2: exactly the machine bt86 was. */
    use_model("pentium2");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    guest_cpuid(0, r);
    ck_assert_uint_eq(r[0], 2);
    ck_assert_uint_eq(r[1], 0x756E6547); /* Genu ineI ntel */
    ck_assert_uint_eq(r[3], 0x49656E69);
    ck_assert_uint_eq(r[2], 0x6C65746E);
    guest_cpuid(1, r);
    ck_assert_uint_eq(r[0], 0x0652);
    ck_assert_uint_eq(r[3] & ~(CPUID_FPU | CPUID_MMX | CPUID_FXSR), 0x0000A93C);
    ck_assert_uint_eq(r[2], 0);
    guest_cpuid(2, r);
    ck_assert_uint_eq(r[0], 0x03020101);
    ck_assert_uint_eq(r[3], 0x0C040843);
    guest_cpuid(0x80000000u, r); /* no extended leaves: leaf 2 */
    ck_assert_uint_eq(r[0], 0x03020101);

    /* pentium3: PAE, MTRR, PAT; no NX, no extended leaves. */
    use_model("pentium3");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    guest_cpuid(1, r);
    ck_assert_uint_eq(r[0], 0x0673);
    ck_assert(r[3] & CPUID_PAE);
    ck_assert(r[3] & CPUID_MTRR);
    ck_assert(r[3] & CPUID_PAT);
    ck_assert_uint_eq(r[3] & ~CPUID_IMPL_1_EDX, 0); /* never more than implemented */
    guest_cpuid(0x80000001u, r);
    ck_assert_uint_eq(r[0], 0x03020101); /* leaf 2 again */

    /* coreduo: NX in 0x80000001, brand string, 32 physical address bits. */
    use_model("coreduo");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    guest_cpuid(0, r);
    ck_assert_uint_eq(r[0], 10);
    guest_cpuid(1, r);
    ck_assert_uint_eq(r[0], 0x06E8);
    ck_assert(r[3] & CPUID_PAE);
    ck_assert_uint_eq(r[2] & ~CPUID_IMPL_1_ECX, 0);
    guest_cpuid(0x80000000u, r);
    ck_assert_uint_eq(r[0], 0x80000008u);
    guest_cpuid(0x80000001u, r);
    ck_assert_uint_eq(r[3], CPUID_EXT_NX);
    guest_cpuid(0x80000008u, r);
    ck_assert_uint_eq(r[0], 0x2020);
    guest_cpuid(7, r);
    ck_assert_uint_eq(r[3], 0); /* no IA32_ARCH_CAPABILITIES */
    brand_of(brand);
    ck_assert_str_eq(brand, "Genuine Intel(R) CPU T2600 @ 2.16GHz");
    guest_cpuid(0x80000009u, r); /* above the maximum: the highest basic leaf (10) */
    ck_assert_uint_eq(r[0], 0);

    /* max: everything implemented, IA32_ARCH_CAPABILITIES, 36 bits. */
    use_model("max");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    guest_cpuid(0, r);
    ck_assert_uint_eq(r[0], 7);
    guest_cpuid(1, r);
    ck_assert_uint_eq(r[0], 0x06FB);
    uint32_t impl = CPUID_IMPL_1_EDX;
    if (!fpu_backend_available()) impl &= ~(CPUID_FPU | CPUID_MMX | CPUID_FXSR);
    if (!fpu_backend_available() || !sse_host_available())
        impl &= ~(CPUID_CLFSH | CPUID_SSE | CPUID_SSE2);
    impl &= ~CPUID_APIC; /* reported while a local APIC is enabled: the test machine has none */
    ck_assert_uint_eq(r[3], impl);
    guest_cpuid(7, r);
    ck_assert_uint_eq(r[3], CPUID_7_ARCH_CAPABILITIES);
    guest_cpuid(0x80000008u, r);
    ck_assert_uint_eq(r[0], 0x2024);
    brand_of(brand);
    ck_assert_str_eq(brand, "bt86 max CPU (Intel P6 family compatible)");
}
END_TEST

/* Run code at TM_CODE (CPL 0, flat) until HLT; true unless it faulted
 * into a stub. */
static void run_code(void) {
    cpu->eip = TM_CODE;
    cpu->halted = false;
    tm_run(tm, 100000);
    ck_assert(cpu->halted);
}

/* mov cr4, eax with EAX = v: in a stub on #GP. */
START_TEST(cr4_pae_follows_the_model) {
    use_model("pentium2");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x22, 0xE0, 0xF4); /* mov cr4, eax; hlt */
    cpu->regs[R_EAX] = CR4_PAE;
    run_code();
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_GP) + 1);
    ck_assert_uint_eq(cpu->cr4, 0);
    use_model("pentium3");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    POKE(TM_CODE, 0x0F, 0x22, 0xE0, 0xF4);
    cpu->regs[R_EAX] = CR4_PAE;
    run_code();
    ck_assert_uint_eq(cpu->eip, TM_CODE + 4);
    ck_assert_uint_eq(cpu->cr4, CR4_PAE);
}
END_TEST

/* Guest PAE tables: PDPT at G_PDPT, PD at G_PD, a page table for the first
 * 2 MiB identity-mapped (user, writable), then paging on. */
#define G_PDPT 0x30000u
#define G_PD   0x31000u
#define G_PT   0x32000u
#define G_PD2  0x33000u
#define G_PT2  0x34000u
static void guest_pae_tables(uint32_t pd, uint32_t pt, uint32_t offset) {
    tm_poke32(tm, pd, pt | 7);
    tm_poke32(tm, pd + 4, 0);
    for (uint32_t i = 0; i < 512; i++) {
        tm_poke32(tm, pt + 8 * i, (i * 0x1000 + offset) | 7);
        tm_poke32(tm, pt + 8 * i + 4, 0);
    }
}
static void guest_pae_on(void) {
    guest_pae_tables(G_PD, G_PT, 0);
    tm_poke32(tm, G_PDPT, G_PD | 1);
    cpu->in_run = true; /* no fault is expected from these */
    cpu_set_cr4(cpu, CR4_PAE);
    cpu_set_cr3(cpu, G_PDPT);
    cpu_set_cr0(cpu, cpu->cr0 | CR0_PG);
    cpu->in_run = false;
}

START_TEST(mov_cr3_loads_the_pdptes) {
    use_model("max");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    guest_pae_on();
    /* A second directory maps every page of the first 2 MiB 0x100000 higher. */
    guest_pae_tables(G_PD2, G_PT2, 0x100000);
    tm_poke32(tm, 0x5000, 0x11111111);
    tm_poke32(tm, 0x105000, 0x22222222);
    /* Point PDPTE 0 at the second directory in memory, flush the TLB
     * entry (INVLPG), read: still the old mapping. Then MOV CR3 and read
     * again: the new one. Code and stack pages are the same in both
     * (0x20000 and 0x9F000 hold copies). */
    POKE(TM_CODE, 0xC7, 0x05, 0x00, 0x00, 0x03, 0x00, 0x01, 0x30, 0x03,
         0x00,                                     /* mov [G_PDPT], G_PD2|1 */
         0x0F, 0x01, 0x3D, 0x00, 0x50, 0x00, 0x00, /* invlpg [0x5000] */
         0x8B, 0x1D, 0x00, 0x50, 0x00, 0x00,       /* mov ebx, [0x5000] */
         0x0F, 0x20, 0xD8,                         /* mov eax, cr3 */
         0x0F, 0x22, 0xD8,                         /* mov cr3, eax */
         0x8B, 0x0D, 0x00, 0x50, 0x00, 0x00,       /* mov ecx, [0x5000] */
         0xF4);
    /* The second mapping's code page 0x20000 is 0x120000: copy the code. */
    uint8_t code[64];
    phys_copy_from(tm->pm, TM_CODE, code, sizeof code);
    phys_copy_to(tm->pm, TM_CODE + 0x100000, code, sizeof code);
    run_code();
    ck_assert_uint_eq(cpu->eip, TM_CODE + 36);
    ck_assert_uint_eq(cpu->regs[R_EBX], 0x11111111);
    ck_assert_uint_eq(cpu->regs[R_ECX], 0x22222222);
    /* MOV CR4 changing PGE reloads them too (SDM 4.4.1); changing TSD does not. */
    tm_poke32(tm, G_PDPT, G_PD | 1);
    cpu->in_run = true;
    cpu_set_cr4(cpu, cpu->cr4 | CR4_TSD);
    ck_assert_uint_eq(cpu->mmu.pdpte[0], G_PD2 | 1);
    cpu_set_cr4(cpu, cpu->cr4 | CR4_PGE);
    cpu->in_run = false;
    ck_assert_uint_eq(cpu->mmu.pdpte[0], G_PD | 1);
}
END_TEST

START_TEST(mov_cr3_gp_on_reserved_pdpte_bits) {
    use_model("max");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    guest_pae_on();
    tm_poke32(tm, 0x40000 + 8, 0x35000 | 1 | 0x20); /* PDPTE 1: bit 5 reserved */
    tm_poke32(tm, 0x40000, G_PD | 1);
    POKE(TM_CODE, 0x0F, 0x22, 0xD8, 0xF4); /* mov cr3, eax; hlt */
    cpu->regs[R_EAX] = 0x40000;
    run_code();
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_GP) + 1);
    ck_assert_uint_eq(cpu->cr3, G_PDPT); /* unchanged */
    /* Without the reserved bit the load goes through. */
    tm_poke32(tm, 0x40000 + 8, 0x35000 | 1);
    run_code();
    ck_assert_uint_eq(cpu->eip, TM_CODE + 4);
    ck_assert_uint_eq(cpu->cr3, 0x40000);
    ck_assert_uint_eq(cpu->mmu.pdpte[1], 0x35000 | 1);
}
END_TEST

/* Code at 0x40000 is called many times (the translators compile it and
 * chain the call site to it); on the last round its PTE gets NX and a data
 * read refills its TLB entry (readable, not executable): that call must
 * fault, not run the block. Through a direct call (a chained exit) and
 * through CALL ESI (the jit's inline lookup). */
static void nx_after_translation(bool indirect) {
    use_model("max");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    guest_pae_on();
    POKE(0x40000, 0x43, 0xC3);                  /* inc ebx; ret */
    POKE(TM_CODE, 0xB9, 0x80, 0x00, 0x00, 0xC0, /* mov ecx, 0xC0000080 (EFER) */
         0x0F, 0x32,                            /* rdmsr */
         0x0D, 0x00, 0x08, 0x00, 0x00,          /* or eax, NXE */
         0x0F, 0x30,                            /* wrmsr */
         0xB9, 0xC8, 0x00, 0x00, 0x00,          /* mov ecx, 200 */
         0x83, 0xF9, 0x01,                      /* L: cmp ecx, 1 */
         0x75, 0x13,                            /* jne S */
         /* PTE of 0x40000 (G_PT + 8 * 0x40): high word = NX */
         0xC7, 0x05, 0x04, 0x22, 0x03, 0x00, 0x00, 0x00, 0x00, 0x80, /* mov [G_PT+0x204], NX */
         0x0F, 0x01, 0x3D, 0x00, 0x00, 0x04, 0x00,                   /* invlpg [0x40000] */
         0xEB, 0x00,                    /* jmp S: into the block run before */
         0xA0, 0x00, 0x00, 0x04, 0x00); /* S: mov al, [0x40000] */
    if (indirect)
        POKE(TM_CODE + 48, 0xFF, 0xD6, /* call esi */
             0xE2, 0xDF,               /* loop L */
             0xF4);
    else
        POKE(TM_CODE + 48, 0xE8, 0xCB, 0xFF, 0x01, 0x00, /* call 0x40000 */
             0xE2, 0xDC,                                 /* loop L */
             0xF4);
    cpu->regs[R_EBX] = 0;
    cpu->regs[R_ESI] = 0x40000;
    run_code();
    ck_assert_uint_eq(cpu->regs[R_EBX], 199);
    ck_assert_uint_eq(cpu->efer, EFER_NXE);
    ck_assert_uint_eq(cpu->eip, TM_STUB(EXC_PF) + 1);
    ck_assert_uint_eq(cpu->cr2, 0x40000);
    uint32_t sp = cpu->regs[R_ESP];
    ck_assert_uint_eq(tm_peek32(tm, sp), PF_P | PF_I); /* error code */
    ck_assert_uint_eq(tm_peek32(tm, sp + 4), 0x40000); /* faulting EIP */
}

START_TEST(nx_page_stops_translated_code) {
    nx_after_translation(false);
}
END_TEST

START_TEST(nx_page_stops_translated_code_indirect) {
    nx_after_translation(true);
}
END_TEST

/* WRMSR/RDMSR of ECX with EDX:EAX; returns true unless it raised #GP. */
static bool guest_wrmsr(uint32_t msr, uint64_t v) {
    POKE(TM_CODE, 0x0F, 0x30, 0xF4); /* wrmsr; hlt */
    cpu->regs[R_ECX] = msr;
    cpu->regs[R_EAX] = (uint32_t)v;
    cpu->regs[R_EDX] = (uint32_t)(v >> 32);
    cpu->regs[R_ESP] = TM_STACK0;
    run_code();
    return cpu->eip == TM_CODE + 3;
}
static bool guest_rdmsr(uint32_t msr, uint64_t *v) {
    POKE(TM_CODE, 0x0F, 0x32, 0xF4); /* rdmsr; hlt */
    cpu->regs[R_ECX] = msr;
    cpu->regs[R_ESP] = TM_STACK0;
    run_code();
    *v = (uint64_t)cpu->regs[R_EDX] << 32 | cpu->regs[R_EAX];
    return cpu->eip == TM_CODE + 3;
}

START_TEST(pat_mtrr_efer_msrs) {
    uint64_t v;
    use_model("pentium2"); /* none of them */
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    ck_assert(!guest_rdmsr(MSR_PAT, &v));
    ck_assert(!guest_rdmsr(MSR_MTRRCAP, &v));
    ck_assert(!guest_rdmsr(MSR_EFER, &v));
    ck_assert(!guest_rdmsr(MSR_ARCH_CAPABILITIES, &v));
    use_model("pentium3"); /* PAT and MTRRs, no EFER */
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    ck_assert(guest_rdmsr(MSR_PAT, &v));
    ck_assert_uint_eq(v, 0x0007040600070406ull);
    ck_assert(!guest_rdmsr(MSR_EFER, &v));
    use_model("max");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    /* PAT: each byte a valid type (2 and 3 are not; bits 3-7 reserved). */
    ck_assert(guest_wrmsr(MSR_PAT, 0x0001050400070406ull));
    ck_assert(guest_rdmsr(MSR_PAT, &v));
    ck_assert_uint_eq(v, 0x0001050400070406ull);
    ck_assert(!guest_wrmsr(MSR_PAT, 0x0000000000000002ull));
    ck_assert(!guest_wrmsr(MSR_PAT, 0x0800000000000000ull));
    ck_assert(guest_rdmsr(MSR_PAT, &v));
    ck_assert_uint_eq(v, 0x0001050400070406ull);
    /* MTRRcap: 8 variable ranges, fixed ranges, WC; read-only. */
    ck_assert(guest_rdmsr(MSR_MTRRCAP, &v));
    ck_assert_uint_eq(v, 0x508);
    ck_assert(!guest_wrmsr(MSR_MTRRCAP, 0x508));
    /* MTRRdefType: E, FE, type. */
    ck_assert(guest_wrmsr(MSR_MTRR_DEF_TYPE, 0xC06));
    ck_assert(guest_rdmsr(MSR_MTRR_DEF_TYPE, &v));
    ck_assert_uint_eq(v, 0xC06);
    ck_assert(!guest_wrmsr(MSR_MTRR_DEF_TYPE, 0x1006)); /* bit 12 */
    ck_assert(!guest_wrmsr(MSR_MTRR_DEF_TYPE, 0xC07));  /* type 7 is PAT's only */
    /* Fixed ranges: every byte a type. */
    ck_assert(guest_wrmsr(0x26F, 0x0505050506060606ull));
    ck_assert(guest_rdmsr(0x26F, &v));
    ck_assert_uint_eq(v, 0x0505050506060606ull);
    ck_assert(!guest_wrmsr(0x259, 0x0000000000000300ull));
    ck_assert(!guest_rdmsr(0x260, &v)); /* between the fixed ranges: none */
    /* Variable ranges 0-7 (0x200-0x20F), addresses below MAXPHYADDR 36. */
    ck_assert(guest_wrmsr(0x20E, 0xFC0000000ull | 0));     /* PhysBase7: UC */
    ck_assert(guest_wrmsr(0x20F, 0xFC0000000ull | 0x800)); /* PhysMask7: valid */
    ck_assert(guest_rdmsr(0x20F, &v));
    ck_assert_uint_eq(v, 0xFC0000800ull);
    ck_assert(!guest_wrmsr(0x20E, 0x1000000000ull)); /* bit 36 */
    ck_assert(!guest_wrmsr(0x20E, 0x100));           /* bit 8 */
    ck_assert(!guest_wrmsr(0x20F, 0x400));           /* bit 10 */
    ck_assert(!guest_rdmsr(0x210, &v));              /* no ninth range */
    /* EFER: NXE only. */
    ck_assert(guest_wrmsr(MSR_EFER, EFER_NXE));
    ck_assert(cpu->mmu.nxe); /* in force once PAE paging is on */
    ck_assert(guest_rdmsr(MSR_EFER, &v));
    ck_assert_uint_eq(v, EFER_NXE);
    ck_assert(!guest_wrmsr(MSR_EFER, 1));     /* SCE: no SYSCALL on a 32-bit Intel part */
    ck_assert(!guest_wrmsr(MSR_EFER, 0x100)); /* LME */
    /* IA32_ARCH_CAPABILITIES: RDCL_NO and friends, read-only. */
    ck_assert(guest_rdmsr(MSR_ARCH_CAPABILITIES, &v));
    ck_assert(v & ARCH_CAP_RDCL_NO);
    ck_assert(v & ARCH_CAP_MDS_NO);
    ck_assert(!guest_wrmsr(MSR_ARCH_CAPABILITIES, v));
    /* IA32_MISC_ENABLE.XD_DISABLE hides NX from CPUID and EFER. */
    ck_assert(guest_rdmsr(MSR_MISC_ENABLE, &v));
    ck_assert(guest_wrmsr(MSR_EFER, 0));
    ck_assert(guest_wrmsr(MSR_MISC_ENABLE, v | MISC_ENABLE_XD_DISABLE));
    ck_assert(!guest_wrmsr(MSR_EFER, EFER_NXE));
    uint32_t r[4];
    guest_cpuid(0x80000001u, r);
    ck_assert_uint_eq(r[3] & CPUID_EXT_NX, 0);
}
END_TEST

START_TEST(new_state_survives_a_snapshot) {
    use_model("max");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    guest_pae_on();
    ck_assert(guest_wrmsr(MSR_EFER, EFER_NXE));
    ck_assert(guest_wrmsr(MSR_PAT, 0x0606060606060606ull));
    ck_assert(guest_wrmsr(0x203, 0xFFF000800ull));
    ck_assert(guest_wrmsr(0x250, 0x0606060606060606ull));
    ck_assert(guest_wrmsr(MSR_MTRR_DEF_TYPE, 0xC00));
    SnapWriter *w = snap_writer_new();
    cpu_save(cpu, w);
    /* Another machine of the same model, another PDPT in memory. */
    TestMachine *tm2 = tm_new(16 << 20);
    cpu_set_model(tm2->cpu, cpu_model_find("max"));
    cpu_reset(tm2->cpu);
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "cpu", CPU_SNAP_VERSION, true);
    ck_assert_msg(cpu_load(tm2->cpu, &r), "%s", snap_error(&r));
    CPU *c2 = tm2->cpu;
    ck_assert_uint_eq(c2->efer, EFER_NXE);
    ck_assert_uint_eq(c2->pat, 0x0606060606060606ull);
    ck_assert_uint_eq(c2->mtrr_var[3], 0xFFF000800ull);
    ck_assert_uint_eq(c2->mtrr_fixed[0], 0x0606060606060606ull);
    ck_assert_uint_eq(c2->mtrr_def_type, 0xC00);
    ck_assert_uint_eq(c2->mmu.pdpte[0], G_PD | 1); /* loaded, not re-read: tm2's RAM is empty */
    ck_assert(c2->mmu.pae && c2->mmu.nxe);
    /* A machine of another model refuses it. */
    cpu_set_model(tm2->cpu, cpu_model_find("coreduo"));
    snap_reader_init(&r, w->buf, w->len, "cpu", CPU_SNAP_VERSION, false);
    ck_assert(!cpu_load(tm2->cpu, &r));
    tm_free(tm2);
    snap_writer_free(w);
}
END_TEST

/* ======================= RAM above 4 GiB ======================= */

#define HI_RAM (64u << 20) /* RAM above 4 GiB in these machines */

START_TEST(ram_splits_at_the_pci_hole) {
    ck_assert_uint_eq(physmem_below_4g(3584ull << 20), 0xE0000000u);
    ck_assert_uint_eq(physmem_below_4g(6ull << 30), 0xE0000000u);
    ck_assert_uint_eq(physmem_below_4g(128u << 20), 128u << 20);
    PhysMem *big = physmem_new((uint64_t)PHYS_BELOW_4G_MAX + HI_RAM);
    ck_assert_ptr_nonnull(big);
    ck_assert_uint_eq(big->ram_below, 0xE0000000u);
    ck_assert_uint_eq(big->ram_above, HI_RAM);
    ck_assert_uint_eq(big->ram_end, PHYS_4G + HI_RAM);
    ck_assert_uint_eq(physmem_ram_size(big), 0xE0000000ull + HI_RAM);
    /* RAM on both sides; the hole and what lies past the end are not. */
    phys_write(big, 0xDFFFFFFCu, 4, 0x11223344);
    phys_write(big, PHYS_4G, 4, 0x55667788);
    phys_write(big, PHYS_4G + HI_RAM - 4, 4, 0x99AABBCC);
    ck_assert_uint_eq(phys_read(big, 0xDFFFFFFCu, 4), 0x11223344);
    ck_assert_uint_eq(phys_read(big, PHYS_4G, 4), 0x55667788);
    ck_assert_uint_eq(phys_read(big, PHYS_4G + HI_RAM - 4, 4), 0x99AABBCC);
    ck_assert_uint_eq(*(uint32_t *)(void *)(big->ram + PHYS_4G), 0x55667788);
    phys_write(big, 0xE0000000u, 4, 0);
    ck_assert_uint_eq(phys_read(big, 0xE0000000u, 4), 0xFFFFFFFFu);
    phys_write(big, 0xFFFFF000u, 4, 0);
    ck_assert_uint_eq(phys_read(big, 0xFFFFF000u, 4), 0xFFFFFFFFu);
    phys_write(big, PHYS_4G + HI_RAM, 4, 0);
    ck_assert_uint_eq(phys_read(big, PHYS_4G + HI_RAM, 4), 0xFFFFFFFFu);
    ck_assert_uint_eq(phys_read(big, 0xFFFFFFFFF000ull, 2), 0xFFFFu);
    /* An access straddling the end: the RAM bytes and all ones. */
    phys_write(big, PHYS_4G + HI_RAM - 2, 4, 0x01020304);
    ck_assert_uint_eq(phys_read(big, PHYS_4G + HI_RAM - 2, 4), 0xFFFF0304u);
    ck_assert_uint_eq(phys_read(big, PHYS_4G + HI_RAM - 4, 4), 0x0304BBCCu);
    /* Host pages: RAM above 4 GiB has one, the hole and the end none. */
    ck_assert_ptr_eq(phys_page_host(big, PHYS_4G + 0x5123, true), big->ram + PHYS_4G + 0x5000);
    ck_assert_ptr_null(phys_page_host(big, PHYS_4G + HI_RAM, false));
    ck_assert_ptr_null(phys_page_host(big, 0xE0000000u, false));
    /* Bulk copies: above 4 GiB yes, across its end or into the hole no. */
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8] = {0};
    ck_assert_int_eq(phys_copy_to(big, PHYS_4G + 0x10000, buf, 8), 0);
    ck_assert_int_eq(phys_copy_from(big, PHYS_4G + 0x10000, back, 8), 0);
    ck_assert_mem_eq(back, buf, 8);
    ck_assert_int_eq(phys_copy_to(big, PHYS_4G + HI_RAM - 4, buf, 8), -1);
    ck_assert_int_eq(phys_copy_from(big, PHYS_4G + HI_RAM - 4, back, 8), -1);
    ck_assert_int_eq(phys_copy_to(big, 0xDFFFFFFCu, buf, 8), -1);
    ck_assert_int_eq(phys_copy_to(big, 0xFFFFFFFCu, buf, 8), -1);
    ck_assert_int_eq(phys_copy_from(big, UINT64_MAX - 3, back, 8), -1);
    physmem_free(big);
}
END_TEST

static PhysAddr written_at;
static uint64_t written_len;
static void note_code_write(void *opaque, PhysAddr pa, uint64_t len, int by) {
    (void)opaque;
    (void)by;
    written_at = pa;
    written_len = len;
}

START_TEST(code_tracking_above_4g) {
    PhysMem *big = physmem_new((uint64_t)PHYS_BELOW_4G_MAX + HI_RAM);
    ck_assert_int_eq(physmem_track_code(big, note_code_write, NULL), 0);
    PhysAddr page = PHYS_4G + 0x3000000;
    physmem_set_code_page(big, page, true);
    uint8_t b[2] = {0x90, 0x90};
    written_at = 0;
    ck_assert_int_eq(phys_copy_to(big, page + 0x10, b, 2), 0);
    ck_assert_uint_eq(written_at, page + 0x10);
    ck_assert_uint_eq(written_len, 2);
    written_at = 0;
    phys_write(big, page + 0x20, 1, 0xCC);
    ck_assert_uint_eq(written_at, page + 0x20);
    /* Its twin 4 GiB lower is another page. */
    written_at = 0;
    phys_write(big, (uint32_t)page + 0x20, 1, 0xCC);
    ck_assert_uint_eq(written_at, 0);
    physmem_free(big);
}
END_TEST

/* Save a PhysMem's section and load it into another (check, then apply). */
static bool ram_round_trip(PhysMem *from, PhysMem *to, char *err, size_t errlen) {
    SnapWriter *w = snap_writer_new();
    snap_begin(w, "ram", PHYSMEM_SNAP_VERSION);
    physmem_save(from, w);
    snap_end(w);
    size_t hdr = SNAP_TAG_LEN + 4 + 8; /* tag, version, length */
    SnapReader r;
    snap_reader_init(&r, w->buf + hdr, w->len - hdr, "ram", PHYSMEM_SNAP_VERSION, false);
    bool ok = physmem_load(to, &r);
    if (ok) {
        snap_reader_init(&r, w->buf + hdr, w->len - hdr, "ram", PHYSMEM_SNAP_VERSION, true);
        ok = physmem_load(to, &r);
    }
    snprintf(err, errlen, "%s", snap_error(&r));
    snap_writer_free(w);
    return ok;
}

START_TEST(ram_snapshot_above_4g) {
    uint64_t size = (uint64_t)PHYS_BELOW_4G_MAX + HI_RAM;
    PhysMem *a = physmem_new(size), *b = physmem_new(size);
    phys_write(a, 0x1000, 4, 0xA1A2A3A4);
    phys_write(a, 0xDFFFFFF0u, 4, 0xB1B2B3B4);
    phys_write(a, PHYS_4G + 0x123456, 4, 0xC1C2C3C4);
    phys_write(a, PHYS_4G + HI_RAM - 4, 4, 0xD1D2D3D4);
    /* b has bytes where a has zeros: loading must clear them. */
    phys_write(b, 0x5000000, 4, 0xEEEEEEEE);
    phys_write(b, PHYS_4G + 0x2000000, 4, 0xEEEEEEEE);
    char err[200];
    ck_assert_msg(ram_round_trip(a, b, err, sizeof err), "%s", err);
    ck_assert_uint_eq(phys_read(b, 0x1000, 4), 0xA1A2A3A4);
    ck_assert_uint_eq(phys_read(b, 0xDFFFFFF0u, 4), 0xB1B2B3B4);
    ck_assert_uint_eq(phys_read(b, PHYS_4G + 0x123456, 4), 0xC1C2C3C4);
    ck_assert_uint_eq(phys_read(b, PHYS_4G + HI_RAM - 4, 4), 0xD1D2D3D4);
    ck_assert_uint_eq(phys_read(b, 0x5000000, 4), 0);
    ck_assert_uint_eq(phys_read(b, PHYS_4G + 0x2000000, 4), 0);
    /* Another layout is refused with both sizes named. */
    PhysMem *c = physmem_new(size + (1u << 20));
    ck_assert(!ram_round_trip(a, c, err, sizeof err));
    ck_assert_msg(strstr(err, "64 MiB above saved, this machine has 3584 and 65 MiB"), "%s", err);
    physmem_free(a);
    physmem_free(b);
    physmem_free(c);
}
END_TEST

START_TEST(ram_snapshot_version_1_loads) {
    /* Version 1: u32 size, bool A20, one zlib blob of all RAM. */
    PhysMem *a = physmem_new(1 << 20);
    SnapWriter *w = snap_writer_new();
    uint8_t *img = calloc(1, 1 << 20);
    img[0x777] = 0x5A;
    snap_put_u32(w, 1 << 20);
    snap_put_bool(w, true);
    snap_put_zblob(w, img, 1 << 20);
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "ram", 1, true);
    ck_assert_msg(physmem_load(a, &r), "%s", snap_error(&r));
    ck_assert_uint_eq(phys_read(a, 0x777, 1), 0x5A);
    free(img);
    snap_writer_free(w);
    physmem_free(a);
}
END_TEST

START_TEST(m_option_sizes_and_limits) {
    uint32_t mb = 0;
    char err[200];
    ck_assert(pc_parse_mem_size("6G", &mb, err, sizeof err) && mb == 6144);
    ck_assert(pc_parse_mem_size("512", &mb, err, sizeof err) && mb == 512);
    ck_assert(pc_parse_mem_size("size=1.5g", &mb, err, sizeof err) && mb == 1536);
    ck_assert(pc_parse_mem_size("3.5G", &mb, err, sizeof err) && mb == 3584);
    ck_assert(pc_parse_mem_size("262144k", &mb, err, sizeof err) && mb == 256);
    ck_assert(pc_parse_mem_size("1048577K", &mb, err, sizeof err) && mb == 1025); /* rounded up */
    ck_assert(pc_parse_mem_size("64G", &mb, err, sizeof err) && mb == 65536);
    ck_assert(!pc_parse_mem_size("65G", &mb, err, sizeof err));
    ck_assert_msg(strstr(err, "more than bt86's 64 GiB"), "%s", err);
    ck_assert(!pc_parse_mem_size("1T", &mb, err, sizeof err));
    ck_assert(!pc_parse_mem_size("99999999999999999999", &mb, err, sizeof err));
    ck_assert(!pc_parse_mem_size("17179869185G", &mb, err, sizeof err)); /* 2^64 + 1 GiB */
    ck_assert_msg(strstr(err, "more than bt86's 64 GiB"), "%s", err);
    ck_assert(!pc_parse_mem_size("0", &mb, err, sizeof err));
    ck_assert(!pc_parse_mem_size("", &mb, err, sizeof err));
    ck_assert(!pc_parse_mem_size("6X", &mb, err, sizeof err));
    ck_assert(!pc_parse_mem_size("1.5B", &mb, err, sizeof err));
    ck_assert_msg(strstr(err, "bad memory size"), "%s", err);
    /* What each model's physical address bits reach: 36 bits, RAM may end
     * at 64 GiB (63.5 GiB of it); 32 bits, none above 4 GiB. */
    const CpuModel *max = cpu_model_find("max"), *core = cpu_model_find("coreduo");
    ck_assert_int_eq(pc_check_ram(65024, max, err, sizeof err), 0);
    ck_assert_int_eq(pc_check_ram(65025, max, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "36-bit physical addresses of -cpu max (at most 65024 MiB)"), "%s",
                  err);
    ck_assert_int_eq(pc_check_ram(3584, core, err, sizeof err), 0);
    ck_assert_int_eq(pc_check_ram(3585, core, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "(at most 3584 MiB)"), "%s", err);
    ck_assert_int_eq(pc_check_ram(1, max, err, sizeof err), -1);
    ck_assert_int_eq(pc_check_ram(65537, max, err, sizeof err), -1);
}
END_TEST

/* Guest code through RAM above 4 GiB: PDE 2 (0x400000) points at a page
 * table at 4 GiB + 64 KiB whose entry 0 maps a page at 4 GiB + 0x123000 and
 * entry 1 the first page past the end of RAM; PDE 3 (0x600000) is a 2 MiB
 * page at 4 GiB + 2 MiB. The loop runs often enough for the jit to compile
 * it (its inline TLB lookups then use the host pointers). */
START_TEST(guest_reaches_ram_above_4g) {
    tm_free(tm);
    tm = tm_new((uint64_t)PHYS_BELOW_4G_MAX + HI_RAM);
    cpu = tm->cpu;
    PhysMem *m = tm->pm;
    use_model("max");
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    guest_pae_tables(G_PD, G_PT, 0);
    tm_poke32(tm, G_PDPT, G_PD | 1);
    PhysAddr hpt = PHYS_4G + 0x10000;
    tm_poke32(tm, G_PD + 16, (uint32_t)hpt | 7);
    tm_poke32(tm, G_PD + 20, (uint32_t)(hpt >> 32));
    tm_poke32(tm, G_PD + 24, 0x200000 | 0x80 | 7);
    tm_poke32(tm, G_PD + 28, 1);
    phys_write(m, hpt, 4, 0x123000 | 7);
    phys_write(m, hpt + 4, 4, 1);
    phys_write(m, hpt + 8, 4, (uint32_t)(PHYS_4G + HI_RAM) | 7);
    phys_write(m, hpt + 12, 4, (uint32_t)((PHYS_4G + HI_RAM) >> 32));
    POKE(
        TM_CODE, 0xBE, 0xC8, 0x00, 0x00, 0x00,                      /* mov esi, 200 */
        0xC7, 0x05, 0x10, 0x00, 0x40, 0x00, 0xBE, 0xBA, 0xFE, 0xCA, /* mov [0x400010], 0xCAFEBABE */
        0xA1, 0x10, 0x00, 0x40, 0x00,                               /* mov eax, [0x400010] */
        0xC7, 0x05, 0x20, 0x00, 0x60, 0x00, 0x78, 0x56, 0x34, 0x12, /* mov [0x600020], 0x12345678 */
        0x8B, 0x1D, 0x20, 0x00, 0x60, 0x00,                         /* mov ebx, [0x600020] */
        0x8B, 0x0D, 0x00, 0x10, 0x40, 0x00,                         /* mov ecx, [0x401000] */
        0xC7, 0x05, 0x00, 0x10, 0x40, 0x00, 0, 0, 0, 0,             /* mov [0x401000], 0 */
        0x8B, 0x15, 0x00, 0x10, 0x40, 0x00,                         /* mov edx, [0x401000] */
        0x4E,                                                       /* dec esi */
        0x75, 0xC8,                                                 /* jnz 5 */
        0xF4);                                                      /* hlt */
    cpu->in_run = true;
    cpu_set_cr4(cpu, CR4_PAE);
    cpu_set_cr3(cpu, G_PDPT);
    cpu_set_cr0(cpu, cpu->cr0 | CR0_PG);
    cpu->in_run = false;
    run_code();
    ck_assert_uint_eq(cpu->eip, TM_CODE + 62);
    ck_assert_uint_eq(cpu->regs[R_EAX], 0xCAFEBABE);
    ck_assert_uint_eq(cpu->regs[R_EBX], 0x12345678);
    ck_assert_uint_eq(cpu->regs[R_ECX], 0xFFFFFFFF);
    ck_assert_uint_eq(cpu->regs[R_EDX], 0xFFFFFFFF);
    /* The bytes are in the host's RAM at those physical addresses, and
     * nowhere 4 GiB lower. */
    ck_assert_uint_eq(*(uint32_t *)(void *)(m->ram + PHYS_4G + 0x123010), 0xCAFEBABE);
    ck_assert_uint_eq(*(uint32_t *)(void *)(m->ram + PHYS_4G + 0x200020), 0x12345678);
    ck_assert_uint_eq(phys_read(m, 0x123010, 4), 0);
    ck_assert_uint_eq(phys_read(m, 0x200020, 4), 0);
    /* Accessed and dirty bits went to the page table above 4 GiB. */
    ck_assert_uint_eq(phys_read(m, hpt, 4), 0x123000 | 7 | 0x60);
    /* The TLB keeps host pointers for both pages. */
    ck_assert_ptr_eq(mmu_tlb_write(&cpu->mmu, 0x400010, false), m->ram + PHYS_4G + 0x123010);
    ck_assert_ptr_eq(mmu_tlb_read(&cpu->mmu, 0x600020, false), m->ram + PHYS_4G + 0x200020);
    ck_assert_ptr_null(mmu_tlb_read(&cpu->mmu, 0x401000, false));
}
END_TEST

static Suite *pae_suite(void) {
    Suite *s = suite_create("pae");
    TCase *tc = tcase_create("mmu");
    tcase_add_checked_fixture(tc, mmu_setup, mmu_teardown);
    tcase_add_test(tc, pae_walk_4k_and_2m);
    tcase_add_test(tc, reserved_bits_fault_with_rsvd);
    tcase_add_test(tc, nx_fetch_faults_with_id_bit);
    tcase_add_test(tc, nx_off_without_nxe);
    tcase_add_test(tc, pdptes_are_loaded_not_walked);
    tcase_add_test(tc, reserved_pdpte_bits_refused);
    tcase_add_test(tc, global_pages_survive_cr3_writes_with_pae);
    suite_add_tcase(s, tc);
    tc = tcase_create("cpu");
    tcase_add_checked_fixture(tc, cpu_setup, cpu_teardown);
    tcase_add_test(tc, cpuid_per_model);
    tcase_add_test(tc, cr4_pae_follows_the_model);
    tcase_add_test(tc, mov_cr3_loads_the_pdptes);
    tcase_add_test(tc, mov_cr3_gp_on_reserved_pdpte_bits);
    tcase_add_test(tc, nx_page_stops_translated_code);
    tcase_add_test(tc, nx_page_stops_translated_code_indirect);
    tcase_add_test(tc, pat_mtrr_efer_msrs);
    tcase_add_test(tc, new_state_survives_a_snapshot);
    tcase_add_test(tc, guest_reaches_ram_above_4g);
    suite_add_tcase(s, tc);
    tc = tcase_create("ram4g");
    tcase_add_test(tc, ram_splits_at_the_pci_hole);
    tcase_add_test(tc, code_tracking_above_4g);
    tcase_add_test(tc, ram_snapshot_above_4g);
    tcase_add_test(tc, ram_snapshot_version_1_loads);
    tcase_add_test(tc, m_option_sizes_and_limits);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(pae_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
