/*
 * test_acpi.c - the PIIX4-style power-management function through the PCI
 * and I/O ports alone: its IDs and configuration, the PM block following
 * PMBASE/PMREGMISC, the PM timer against the virtual clock, TMR_STS, the
 * SCI on its line (ACPI enable through the APM port, power button, timer),
 * write-1-to-clear status, GPE0 and S5 power-off through SLP_TYP/SLP_EN.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/acpi.h"

static PciBus *pci;
static IoBus *io;
static VClock clk;
static AcpiPm *pm;
static int sci_level, poweroffs;

static void sci_set(void *opaque, int n, int level) {
    (void)opaque;
    ck_assert_int_eq(n, 9);
    sci_level = level;
}
static void on_poweroff(void *opaque) {
    ck_assert_ptr_eq(opaque, &poweroffs);
    poweroffs++;
}

static uint32_t cfg_read(unsigned reg, unsigned size) {
    iobus_write(io, 0xCF8, 4, 0x80000000u | PCI_DEVFN(1, 3) << 8 | (reg & 0xFC));
    return iobus_read(io, (uint16_t)(0xCFC + (reg & 3)), size);
}
static void cfg_write(unsigned reg, unsigned size, uint32_t v) {
    iobus_write(io, 0xCF8, 4, 0x80000000u | PCI_DEVFN(1, 3) << 8 | (reg & 0xFC));
    iobus_write(io, (uint16_t)(0xCFC + (reg & 3)), size, v);
}

#define BASE 0xB000

static void setup(void) {
    pci = pci_bus_new();
    io = iobus_new();
    vclock_init(&clk);
    pci_bus_register(pci, io);
    sci_level = -1;
    poweroffs = 0;
    pm = acpi_pm_new(pci, io, &clk, (IrqLine){sci_set, NULL, 9}, on_poweroff, &poweroffs);
    ck_assert_ptr_nonnull(pm);
    ck_assert_int_eq(acpi_pm_register(pm), 0);
}
static void teardown(void) {
    acpi_pm_free(pm);
    pci_bus_free(pci);
    iobus_free(io);
}

/* What firmware does: PMBASE, then the enable bit. */
static void enable_block(void) {
    cfg_write(0x40, 4, BASE | 1);
    cfg_write(0x80, 1, 0x01);
}

START_TEST(ids_and_config) {
    ck_assert_uint_eq(cfg_read(0x00, 4), 0x71138086);
    ck_assert_uint_eq(cfg_read(0x08, 1), 0x03);   /* revision */
    ck_assert_uint_eq(cfg_read(0x0A, 2), 0x0680); /* bridge, other */
    ck_assert_uint_eq(cfg_read(0x3D, 1), 0x01);   /* pin A */
    ck_assert_uint_eq(cfg_read(0x40, 4), 0x00000001);
    cfg_write(0x40, 4, 0xFFFFFFFF); /* only bits 15:6 move */
    ck_assert_uint_eq(cfg_read(0x40, 4), 0x0000FFC1);
    ck_assert_uint_eq(cfg_read(0x58, 4) & (1u << 25), 1u << 25); /* APMC_EN: SMM "done" */
    ck_assert_uint_eq(cfg_read(0x67, 1) & 0x88, 0x88);           /* COM1, COM2 */
    cfg_write(0x80, 1, 0xFF);
    ck_assert_uint_eq(cfg_read(0x80, 1), 0x01);
}
END_TEST

START_TEST(block_follows_pmbase) {
    cfg_write(0x40, 4, BASE | 1);
    ck_assert_uint_eq(iobus_read(io, BASE + 2, 2), 0xFFFF); /* not enabled yet */
    cfg_write(0x80, 1, 0x01);
    ck_assert_uint_eq(iobus_read(io, BASE + 2, 2), 0x0000); /* PM1_EN */
    iobus_write(io, BASE + 2, 2, 0xFFFF);
    ck_assert_uint_eq(iobus_read(io, BASE + 2, 2), 0x0521); /* only the defined enables */
    cfg_write(0x40, 4, 0x0600 | 1);                         /* move it */
    ck_assert_uint_eq(iobus_read(io, BASE + 2, 2), 0xFFFF);
    ck_assert_uint_eq(iobus_read(io, 0x0602, 2), 0x0521);
    cfg_write(0x80, 1, 0x00); /* disable */
    ck_assert_uint_eq(iobus_read(io, 0x0602, 2), 0xFFFF);
    for (int i = 0; i < 1000; i++)
        cfg_write(0x80, 1, i & 1); /* no slot leak */
    cfg_write(0x80, 1, 0x01);
    ck_assert_uint_eq(iobus_read(io, 0x0602, 1), 0x21);
}
END_TEST

START_TEST(pm_timer_counts_at_3_58_mhz) {
    enable_block();
    ck_assert_uint_eq(iobus_read(io, BASE + 8, 4), 0);
    vclock_advance(&clk, 1000000000ull); /* one second */
    ck_assert_uint_eq(iobus_read(io, BASE + 8, 4), ACPI_PM_TIMER_HZ);
    vclock_advance(&clk, 1000000000ull + 1000); /* 1 us later: 3 or 4 more ticks */
    uint32_t t = iobus_read(io, BASE + 8, 4);
    ck_assert(t - ACPI_PM_TIMER_HZ == 3 || t - ACPI_PM_TIMER_HZ == 4);
    ck_assert_uint_eq(iobus_read(io, BASE + 8, 2), t & 0xFFFF);
    ck_assert_uint_eq(iobus_read(io, BASE + 10, 1), (t >> 16) & 0xFF);
    /* 24 bits: wraps after 2^24 ticks (about 4.69 s); no overflow after hours */
    vclock_advance(&clk, 3600ull * 1000000000ull);
    uint64_t ticks = 3600ull * ACPI_PM_TIMER_HZ;
    ck_assert_uint_eq(iobus_read(io, BASE + 8, 4), ticks & 0xFFFFFF);
    iobus_write(io, BASE + 8, 4, 0); /* read-only */
    ck_assert_uint_eq(iobus_read(io, BASE + 8, 4), ticks & 0xFFFFFF);
}
END_TEST

START_TEST(tmr_sts_when_bit23_changes) {
    enable_block();
    ck_assert_uint_eq(iobus_read(io, BASE, 2) & ACPI_PM1_TMR_STS, 0);
    uint64_t half = (1ull << 23) * 1000000000ull / ACPI_PM_TIMER_HZ; /* ~2.34 s */
    vclock_advance(&clk, half - 1000);
    ck_assert_uint_eq(iobus_read(io, BASE, 2) & ACPI_PM1_TMR_STS, 0);
    vclock_advance(&clk, half + 1000);
    ck_assert_uint_eq(iobus_read(io, BASE, 2) & ACPI_PM1_TMR_STS, ACPI_PM1_TMR_STS);
    iobus_write(io, BASE, 2, 0x0000); /* writing 0 keeps it */
    ck_assert_uint_eq(iobus_read(io, BASE, 2) & ACPI_PM1_TMR_STS, ACPI_PM1_TMR_STS);
    iobus_write(io, BASE, 2, ACPI_PM1_TMR_STS); /* write 1 to clear */
    ck_assert_uint_eq(iobus_read(io, BASE, 2) & ACPI_PM1_TMR_STS, 0);
}
END_TEST

START_TEST(acpi_enable_and_power_button_sci) {
    enable_block();
    iobus_write(io, BASE + 2, 2, 0x0100); /* PWRBTN_EN */
    acpi_pm_power_button(pm);
    ck_assert_int_eq(sci_level, 0); /* SCI_EN clear: no SCI (legacy mode) */
    ck_assert_uint_eq(iobus_read(io, BASE, 2) & ACPI_PM1_PWRBTN_STS, ACPI_PM1_PWRBTN_STS);
    iobus_write(io, ACPI_APM_CNT, 1, ACPI_ENABLE_CMD);
    ck_assert_uint_eq(iobus_read(io, BASE + 4, 2) & ACPI_PM1_CNT_SCI_EN, ACPI_PM1_CNT_SCI_EN);
    ck_assert_int_eq(sci_level, 1);
    ck_assert_uint_eq(iobus_read(io, ACPI_APM_CNT, 1), ACPI_ENABLE_CMD);
    iobus_write(io, BASE + 1, 1, 0x01); /* clear PWRBTN_STS with a byte write */
    ck_assert_int_eq(sci_level, 0);
    acpi_pm_power_button(pm);
    ck_assert_int_eq(sci_level, 1);
    iobus_write(io, BASE + 2, 2, 0x0000); /* disabled: line drops, status stays */
    ck_assert_int_eq(sci_level, 0);
    ck_assert_uint_eq(iobus_read(io, BASE, 2) & ACPI_PM1_PWRBTN_STS, ACPI_PM1_PWRBTN_STS);
    iobus_write(io, ACPI_APM_CNT, 1, ACPI_DISABLE_CMD);
    ck_assert_uint_eq(iobus_read(io, BASE + 4, 2) & ACPI_PM1_CNT_SCI_EN, 0);
    iobus_write(io, ACPI_APM_STS, 1, 0x5A);
    ck_assert_uint_eq(iobus_read(io, ACPI_APM_STS, 1), 0x5A);
}
END_TEST

START_TEST(timer_sci_fires_from_the_clock) {
    enable_block();
    iobus_write(io, ACPI_APM_CNT, 1, ACPI_ENABLE_CMD);
    iobus_write(io, BASE + 2, 2, 0x0001); /* TMR_EN */
    ck_assert_int_eq(sci_level, 0);
    uint64_t deadline = vclock_next_deadline(&clk);
    uint64_t half = (1ull << 23) * 1000000000ull / ACPI_PM_TIMER_HZ;
    ck_assert(deadline >= half && deadline <= half + 1);
    vclock_advance(&clk, deadline); /* no port access: the timer raises it */
    ck_assert_int_eq(sci_level, 1);
    iobus_write(io, BASE, 2, ACPI_PM1_TMR_STS);
    ck_assert_int_eq(sci_level, 0);
    iobus_write(io, BASE + 2, 2, 0x0000);
    ck_assert_uint_eq(vclock_next_deadline(&clk), VCLOCK_NEVER);
}
END_TEST

START_TEST(gpe0_block) {
    ck_assert_uint_eq(iobus_read(io, ACPI_GPE0_BASE, 4), 0);
    iobus_write(io, ACPI_GPE0_BASE + 2, 2, 0x1234);
    ck_assert_uint_eq(iobus_read(io, ACPI_GPE0_BASE, 4), 0x12340000);
    iobus_write(io, ACPI_GPE0_BASE, 2, 0xFFFF); /* status is write-1-to-clear: stays 0 */
    ck_assert_uint_eq(iobus_read(io, ACPI_GPE0_BASE + 3, 1), 0x12);
    ck_assert_uint_eq(iobus_read(io, ACPI_GPE0_BASE, 2), 0);
}
END_TEST

START_TEST(slp_en_with_s5_powers_off) {
    enable_block();
    /* Linux writes SLP_TYP first, then SLP_TYP | SLP_EN. */
    iobus_write(io, BASE + 4, 2, ACPI_PM1_CNT_SCI_EN | 1 << 10); /* type 1 (S3), no SLP_EN */
    ck_assert_int_eq(poweroffs, 0);
    ck_assert_uint_eq(iobus_read(io, BASE + 4, 2), ACPI_PM1_CNT_SCI_EN | 1 << 10);
    iobus_write(io, BASE + 4, 2, ACPI_PM1_CNT_SCI_EN | 1 << 10 | ACPI_PM1_CNT_SLP_EN);
    ck_assert_int_eq(poweroffs, 0); /* S3 is not offered: wakes at once */
    ck_assert_uint_eq(iobus_read(io, BASE, 2) & ACPI_PM1_WAK_STS, ACPI_PM1_WAK_STS);
    ck_assert_uint_eq(iobus_read(io, BASE + 4, 2) & ACPI_PM1_CNT_SLP_EN, 0); /* write-only */
    iobus_write(io, BASE + 4, 2, ACPI_PM1_CNT_SCI_EN);                       /* type 0 = \_S5 */
    ck_assert_int_eq(poweroffs, 0);
    iobus_write(io, BASE + 5, 1, ACPI_PM1_CNT_SLP_EN >> 8); /* byte write of SLP_EN */
    ck_assert_int_eq(poweroffs, 1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("acpi");
    TCase *tc = tcase_create("pm");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ids_and_config);
    tcase_add_test(tc, block_follows_pmbase);
    tcase_add_test(tc, pm_timer_counts_at_3_58_mhz);
    tcase_add_test(tc, tmr_sts_when_bit23_changes);
    tcase_add_test(tc, acpi_enable_and_power_button_sci);
    tcase_add_test(tc, timer_sci_fires_from_the_clock);
    tcase_add_test(tc, gpe0_block);
    tcase_add_test(tc, slp_en_with_s5_powers_off);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
