/*
 * test_pci.c - PCI configuration mechanism #1 through its ports alone, the
 * i440FX IDs and PAM shadow routing of the BIOS area, the PIIX3 PIRQ
 * registers, reset (configuration back to power-on, the BIOS area back to
 * ROM) and the reset control register at 0xCF9.
 */
#include <check.h>
#include <stdlib.h>

#include "devices/i440fx.h"
#include "devices/pci.h"
#include "devices/piix3.h"

static PciBus *bus;
static PhysMem *pm;

static void setup(void) {
    bus = pci_bus_new();
    pm = physmem_new(2 << 20);
    i440fx_init(bus, pm);
    piix3_init(bus);
    static uint8_t rom[0x20000];
    for (size_t i = 0; i < sizeof rom; i++) rom[i] = (uint8_t)(i ^ 0x5A);
    physmem_set_shadow_rom(pm, 0xE0000, rom, sizeof rom);
}
static void teardown(void) {
    pci_bus_free(bus);
    physmem_free(pm);
}

static uint32_t cfg_read(unsigned devfn, unsigned reg, unsigned size) {
    pci_port_write(bus, 0xCF8, 4, 0x80000000u | devfn << 8 | (reg & 0xFC));
    return pci_port_read(bus, (uint16_t)(0xCFC + (reg & 3)), size);
}
static void cfg_write(unsigned devfn, unsigned reg, unsigned size, uint32_t v) {
    pci_port_write(bus, 0xCF8, 4, 0x80000000u | devfn << 8 | (reg & 0xFC));
    pci_port_write(bus, (uint16_t)(0xCFC + (reg & 3)), size, v);
}

START_TEST(ids_and_absent_functions) {
    ck_assert_uint_eq(cfg_read(0x00, 0, 4), 0x12378086);
    ck_assert_uint_eq(cfg_read(0x00, 0x2C, 4), 0x11001AF4); /* QEMU subsystem IDs */
    ck_assert_uint_eq(cfg_read(0x08, 0, 4), 0x70008086);
    ck_assert_uint_eq(cfg_read(0x08, 0x0A, 2), 0x0601);
    ck_assert_uint_eq(cfg_read(0x08, 0x0E, 1) & 0x80, 0x80); /* multi-function */
    ck_assert_uint_eq(cfg_read(0x18, 0, 4), 0xFFFFFFFF);     /* 03.0 absent */
    ck_assert_uint_eq(cfg_read(0x00, 2, 2), 0x1237);         /* word at offset 2 */
    ck_assert_uint_eq(cfg_read(0x00, 1, 1), 0x80);           /* byte at offset 1 */
    pci_port_write(bus, 0xCF8, 4, 0x00000000);               /* enable bit clear */
    ck_assert_uint_eq(pci_port_read(bus, 0xCFC, 4), 0xFFFFFFFF);
    pci_port_write(bus, 0xCF8, 4, 0x80010000);               /* bus 1 */
    ck_assert_uint_eq(pci_port_read(bus, 0xCFC, 4), 0xFFFFFFFF);
}
END_TEST

START_TEST(read_only_bits_stay) {
    cfg_write(0x00, 0, 4, 0xFFFFFFFF); /* vendor/device are read-only */
    ck_assert_uint_eq(cfg_read(0x00, 0, 4), 0x12378086);
    cfg_write(0x08, 0x60, 1, 0x0B); /* PIRQA -> IRQ 11 */
    ck_assert_uint_eq(cfg_read(0x08, 0x60, 1), 0x0B);
    cfg_write(0x08, 0x61, 1, 0xFF);
    ck_assert_uint_eq(cfg_read(0x08, 0x61, 1), 0x8F);
}
END_TEST

START_TEST(pam_routes_bios_area) {
    uint32_t a = 0xF0010;
    uint32_t rom_val = phys_read(pm, a, 4);
    ck_assert_uint_eq(rom_val & 0xFF, (0x10010 ^ 0x5A) & 0xFF); /* ROM at power-on */
    phys_write(pm, a, 4, 0xDEADBEEF);
    ck_assert_uint_eq(phys_read(pm, a, 4), rom_val); /* writes dropped */
    cfg_write(0x00, 0x59, 1, 0x30);                  /* F segment: read and write RAM */
    phys_write(pm, a, 4, 0xDEADBEEF);
    ck_assert_uint_eq(phys_read(pm, a, 4), 0xDEADBEEF);
    cfg_write(0x00, 0x59, 1, 0x10);                  /* read RAM only: write-protected */
    phys_write(pm, a, 4, 0x12345678);
    ck_assert_uint_eq(phys_read(pm, a, 4), 0xDEADBEEF);
    ck_assert_ptr_eq(phys_page_host(pm, a, true), NULL);
    ck_assert_ptr_nonnull(phys_page_host(pm, a, false));
    cfg_write(0x00, 0x59, 1, 0x00);                  /* back to ROM */
    ck_assert_uint_eq(phys_read(pm, a, 4), rom_val);
    /* PAM5 high nibble: 0xE4000-0xE7FFF. */
    cfg_write(0x00, 0x5E, 1, 0x30);
    phys_write(pm, 0xE4000, 1, 0xAB);
    ck_assert_uint_eq(phys_read(pm, 0xE4000, 1), 0xAB);
    phys_write(pm, 0xE0000, 1, 0xAB); /* the low nibble's segment is still ROM */
    ck_assert_uint_ne(phys_read(pm, 0xE0000, 1), 0xAB);
}
END_TEST

static int resets;
static void count_reset(void *opaque) {
    (void)opaque;
    resets++;
}

START_TEST(reset_restores_power_on_config) {
    pci_bus_save_power_on(bus);
    uint32_t a = 0xF0010, rom_val = phys_read(pm, a, 4);
    cfg_write(0x00, 0x59, 1, 0x30); /* BIOS area in RAM */
    phys_write(pm, a, 4, 0xDEADBEEF);
    cfg_write(0x08, 0x60, 1, 0x0B);
    cfg_write(0x08, 0x0C, 1, 0x10);
    pci_bus_reset(bus);
    ck_assert_uint_eq(pci_port_read(bus, 0xCF8, 4), 0); /* address register cleared */
    ck_assert_uint_eq(cfg_read(0x00, 0x59, 1), 0x00);
    ck_assert_uint_eq(phys_read(pm, a, 4), rom_val); /* the hook re-applied PAM: ROM again */
    ck_assert_uint_eq(cfg_read(0x08, 0x60, 1), 0x80);
    ck_assert_uint_eq(cfg_read(0x08, 0x0C, 1), 0x00);
    ck_assert_uint_eq(cfg_read(0x00, 0, 4), 0x12378086);
}
END_TEST

START_TEST(reset_control_register) {
    resets = 0;
    pci_bus_set_reset(bus, count_reset, NULL);
    pci_port_write(bus, 0xCF9, 1, 0x02); /* SYS_RST alone: kept, no reset */
    ck_assert_int_eq(resets, 0);
    ck_assert_uint_eq(pci_port_read(bus, 0xCF9, 1), 0x02);
    pci_port_write(bus, 0xCF9, 1, 0x06); /* RST_CPU: reset */
    ck_assert_int_eq(resets, 1);
    pci_port_write(bus, 0xCF8, 4, 0x80000000u); /* dword accesses stay the address register */
    ck_assert_int_eq(resets, 1);
    ck_assert_uint_eq(pci_port_read(bus, 0xCF8, 4), 0x80000000u);
}
END_TEST

int main(void) {
    Suite *s = suite_create("pci");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ids_and_absent_functions);
    tcase_add_test(tc, read_only_bits_stay);
    tcase_add_test(tc, pam_routes_bios_area);
    tcase_add_test(tc, reset_restores_power_on_config);
    tcase_add_test(tc, reset_control_register);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
