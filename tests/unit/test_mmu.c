/*
 * test_mmu.c - paging and the TLB (mmu/), driven directly with no CPU:
 * translations and #PF error codes, global pages (CR4.PGE with the G bit)
 * that survive CR3 writes as on the P6 while other entries do not, INVLPG
 * and paging-mode changes that drop global entries too, and a TLB fuller
 * than its size (entries evicted and refilled correctly).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/mmu.h"

static PhysMem *pm;
static Mmu mmu;

#define PD 0x10000u /* page directory */
#define PT 0x11000u /* page table for 0x00000000-0x003FFFFF */

static void setup(void) {
    pm = physmem_new(4 << 20);
    ck_assert_ptr_nonnull(pm);
    mmu_init(&mmu, pm);
    phys_write(pm, PD, 4, PT | 7); /* present, writable, user */
}
static void teardown(void) {
    physmem_free(pm);
}

static void map(uint32_t lin, uint32_t pa, uint32_t flags) {
    phys_write(pm, PT + 4 * (lin >> 12), 4, pa | flags);
}

/* The physical address lin reads through the TLB (or a walk), or ~0 on #PF. */
static uint32_t read_pa(uint32_t lin) {
    uint8_t *host = mmu_tlb_read(&mmu, lin, false);
    if (host) return (uint32_t)(host - pm->ram);
    PhysAddr pa;
    uint32_t err;
    if (!mmu_translate(&mmu, lin, MMU_READ, false, &pa, &err)) return ~0u;
    return pa;
}

START_TEST(global_pages_survive_cr3_writes) {
    mmu_set_paging(&mmu, true, true, false, true, PD);
    map(0x5000, 0x100000, 0x103); /* global */
    map(0x6000, 0x101000, 0x003); /* not global */
    ck_assert_uint_eq(read_pa(0x5000), 0x100000);
    ck_assert_uint_eq(read_pa(0x6000), 0x101000);
    /* Change both mappings without INVLPG, then reload CR3. */
    map(0x5000, 0x200000, 0x103);
    map(0x6000, 0x201000, 0x003);
    uint64_t gen = mmu.map_gen;
    mmu_set_paging(&mmu, true, true, false, true, PD);
    ck_assert_uint_gt(mmu.map_gen, gen);
    ck_assert_uint_eq(read_pa(0x5000), 0x100000); /* the global entry stayed */
    ck_assert_uint_eq(read_pa(0x6000), 0x201000); /* the other was walked again */
    /* INVLPG drops a global entry. */
    mmu_flush_page(&mmu, 0x5000);
    ck_assert_uint_eq(read_pa(0x5000), 0x200000);
}
END_TEST

START_TEST(mode_changes_drop_global_pages) {
    mmu_set_paging(&mmu, true, true, false, true, PD);
    map(0x5000, 0x100000, 0x103);
    ck_assert_uint_eq(read_pa(0x5000), 0x100000);
    map(0x5000, 0x200000, 0x103);
    /* Turning PGE off (a CR4 write) flushes everything. */
    mmu_set_paging(&mmu, true, true, false, false, PD);
    ck_assert_uint_eq(read_pa(0x5000), 0x200000);
    /* Without PGE the G bit means nothing: CR3 writes drop the entry. */
    map(0x5000, 0x300000, 0x103);
    mmu_set_paging(&mmu, true, true, false, false, PD);
    ck_assert_uint_eq(read_pa(0x5000), 0x300000);
}
END_TEST

START_TEST(more_pages_than_entries) {
    mmu_set_paging(&mmu, true, true, false, true, PD);
    for (uint32_t p = 0; p < 1024; p++)
        map(p << 12, (p << 12) ^ 0x200000u, (p & 1) ? 0x103 : 0x003);
    for (int round = 0; round < 3; round++) {
        for (uint32_t p = 16; p < 1024; p++)
            ck_assert_uint_eq(read_pa((p << 12) + 4), ((p << 12) ^ 0x200000u) + 4);
        mmu_set_paging(&mmu, true, true, false, true, PD);
    }
    /* A page that is not present faults with the right error code. */
    map(0x7000, 0, 0);
    mmu_flush_page(&mmu, 0x7000);
    PhysAddr pa;
    uint32_t err;
    ck_assert(!mmu_translate(&mmu, 0x7000, MMU_WRITE, true, &pa, &err));
    ck_assert_uint_eq(err, PF_W | PF_U);
}
END_TEST

static Suite *mmu_suite(void) {
    Suite *s = suite_create("mmu");
    TCase *tc = tcase_create("tlb");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, global_pages_survive_cr3_writes);
    tcase_add_test(tc, mode_changes_drop_global_pages);
    tcase_add_test(tc, more_pages_than_entries);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(mmu_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
