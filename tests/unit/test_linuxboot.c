/*
 * test_linuxboot.c - direct kernel boot without a CPU: checking and patching
 * a (synthetic) bzImage setup header, the memory plan and its errors (not a
 * bzImage, zImage, command line too long, initrd or kernel too large for
 * RAM), the option ROM (checksums, PnP header, boot vector, descriptors) and
 * the fw_cfg DMA transfers the ROM starts, run from guest memory.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fwcfg.h"
#include "devices/linuxboot.h"

#define MiB (1u << 20)

static uint32_t le(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint32_t be(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}
static void put_le(uint8_t *p, uint32_t v, int n) {
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A bzImage-shaped image: 8 setup sectors + 1 boot sector, then `body` bytes. */
static uint8_t *fake_kernel(size_t body, uint16_t version, size_t *len) {
    *len = 9 * 512 + body;
    uint8_t *k = calloc(1, *len);
    k[0x1F1] = 8;
    put_le(k + 0x1FE, 0xAA55, 2);
    memcpy(k + 0x202, "HdrS", 4);
    put_le(k + 0x206, version, 2);
    k[0x211] = 0x01;                  /* LOADED_HIGH */
    put_le(k + 0x22C, 0x7FFFFFFF, 4); /* initrd_addr_max */
    put_le(k + 0x238, 2047, 4);       /* cmdline_size */
    put_le(k + 0x260, 8 * MiB, 4);    /* init_size */
    for (size_t i = 0; i < body; i++)
        k[9 * 512 + i] = (uint8_t)(i * 7);
    return k;
}

START_TEST(prepare_patches_the_setup_header) {
    size_t len;
    uint8_t *k = fake_kernel(100000, 0x020F, &len);
    LinuxBootPlan plan;
    char err[300];
    ck_assert_int_eq(
        linuxboot_prepare(k, len, 3 * MiB + 5, "console=ttyS0", 64 * MiB, &plan, err, sizeof err),
        0);
    ck_assert_uint_eq(plan.setup_size, 9 * 512);
    ck_assert_uint_eq(plan.kernel_size, 100000);
    ck_assert_uint_eq(plan.cmdline_size, 14);
    ck_assert_uint_eq(plan.initrd_size, 3 * MiB + 5);
    /* page-aligned, ending at or below RAM - 1 MiB */
    ck_assert_uint_eq(plan.initrd_addr & 0xFFF, 0);
    ck_assert_uint_le(plan.initrd_addr + plan.initrd_size, 63 * MiB);
    ck_assert_uint_gt(plan.initrd_addr + plan.initrd_size, 63 * MiB - 4096);
    ck_assert_uint_eq(k[0x210], 0xFF);                   /* type_of_loader */
    ck_assert_uint_eq(k[0x211], 0x81);                   /* LOADED_HIGH | CAN_USE_HEAP */
    ck_assert_uint_eq(le(k + 0x224, 2), 0xE000 - 0x200); /* heap_end_ptr */
    ck_assert_uint_eq(le(k + 0x228, 4), LINUXBOOT_CMDLINE_ADDR);
    ck_assert_uint_eq(le(k + 0x218, 4), plan.initrd_addr);
    ck_assert_uint_eq(le(k + 0x21C, 4), 3 * MiB + 5);
    /* initrd_addr_max is obeyed */
    put_le(k + 0x22C, 32 * MiB - 1, 4);
    ck_assert_int_eq(linuxboot_prepare(k, len, 3 * MiB, NULL, 64 * MiB, &plan, err, sizeof err), 0);
    ck_assert_uint_eq(plan.initrd_addr, 29 * MiB);
    ck_assert_uint_eq(plan.cmdline_size, 1);
    free(k);
}
END_TEST

START_TEST(prepare_errors) {
    size_t len;
    LinuxBootPlan plan;
    char err[300];
    uint8_t *k = fake_kernel(100000, 0x020F, &len);
    memcpy(k + 0x202, "XXXX", 4);
    ck_assert_int_eq(linuxboot_prepare(k, len, 0, NULL, 64 * MiB, &plan, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "bzImage"));
    memcpy(k + 0x202, "HdrS", 4);
    k[0x211] = 0; /* zImage */
    ck_assert_int_eq(linuxboot_prepare(k, len, 0, NULL, 64 * MiB, &plan, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a bzImage"));
    k[0x211] = 1;
    ck_assert_int_eq(linuxboot_prepare(k, 300, 0, NULL, 64 * MiB, &plan, err, sizeof err),
                     -1); /* truncated */
    char longline[3000];
    memset(longline, 'a', sizeof longline - 1);
    longline[sizeof longline - 1] = 0;
    ck_assert_int_eq(linuxboot_prepare(k, len, 0, longline, 64 * MiB, &plan, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "command line too long"));
    /* 16 MiB: 1 MiB + 8 MiB init_size + 1 MiB reserve leaves 6 MiB for the initrd */
    ck_assert_int_eq(linuxboot_prepare(k, len, 6 * MiB, NULL, 16 * MiB, &plan, err, sizeof err), 0);
    ck_assert_int_eq(linuxboot_prepare(k, len, 6 * MiB + 1, NULL, 16 * MiB, &plan, err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "initrd too large for RAM"));
    ck_assert_int_eq(linuxboot_prepare(k, len, 0, NULL, 8 * MiB, &plan, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "kernel too large for RAM"));
    free(k);
}
END_TEST

START_TEST(rom_layout_and_checksums) {
    LinuxBootPlan plan = {.protocol = 0x20F,
                          .setup_size = 4608,
                          .kernel_size = 100000,
                          .initrd_addr = 60 * MiB,
                          .initrd_size = 12345,
                          .cmdline_size = 14};
    uint8_t rom[LINUXBOOT_ROM_SIZE];
    linuxboot_build_rom(&plan, rom);
    ck_assert_uint_eq(rom[0], 0x55);
    ck_assert_uint_eq(rom[1], 0xAA);
    ck_assert_uint_eq(rom[2] * 512u, sizeof rom);
    uint8_t sum = 0;
    for (size_t i = 0; i < sizeof rom; i++)
        sum = (uint8_t)(sum + rom[i]);
    ck_assert_uint_eq(sum, 0);
    uint32_t pnp = le(rom + 0x1A, 2);
    ck_assert_int_eq(memcmp(rom + pnp, "$PnP", 4), 0);
    sum = 0;
    for (unsigned i = 0; i < rom[pnp + 5] * 16u; i++)
        sum = (uint8_t)(sum + rom[pnp + i]);
    ck_assert_uint_eq(sum, 0);
    uint32_t bev = le(rom + pnp + 26, 2), name = le(rom + pnp + 16, 2);
    ck_assert_uint_eq(rom[bev], 0xFA); /* cli */
    ck_assert_str_eq((char *)rom + name, "bt86 Linux direct boot");
    /* The code ends with the far jump to the setup's entry 0x1020:0000. */
    const uint8_t jmp[5] = {0xEA, 0x00, 0x00, 0x20, 0x10};
    ck_assert_ptr_nonnull(memmem(rom + bev, 0x100 - bev, jmp, sizeof jmp));
    /* Its descriptors: control (item << 16 | SELECT | READ), length, address. */
    const uint8_t *d = rom + 0x100;
    ck_assert_uint_eq(be(d, 4), (uint32_t)FW_CFG_SETUP_DATA << 16 | 0x0A);
    ck_assert_uint_eq(be(d + 4, 4), 4608);
    ck_assert_uint_eq(be(d + 12, 4), LINUXBOOT_SETUP_ADDR);
    ck_assert_uint_eq(be(d + 16, 4), (uint32_t)FW_CFG_KERNEL_DATA << 16 | 0x0A);
    ck_assert_uint_eq(be(d + 28, 4), LINUXBOOT_KERNEL_ADDR);
    ck_assert_uint_eq(be(d + 48, 4), (uint32_t)FW_CFG_INITRD_DATA << 16 | 0x0A);
    ck_assert_uint_eq(be(d + 52, 4), 12345);
    ck_assert_uint_eq(be(d + 60, 4), 60 * MiB);
    /* out dx, eax of each descriptor address, byte-swapped (big endian) */
    const uint8_t mov_first[6] = {0x66, 0xB8, 0x00, 0x01, 0xF8, 0x00};
    ck_assert_ptr_nonnull(memmem(rom + bev, 0x100 - bev, mov_first, sizeof mov_first));
}
END_TEST

/* The DMA interface, driven as the ROM drives it. */
static void put_desc(PhysMem *pm, uint32_t at, uint32_t control, uint32_t len, uint32_t addr) {
    uint8_t d[16] = {0};
    for (int i = 0; i < 4; i++) {
        d[i] = (uint8_t)(control >> (24 - 8 * i));
        d[4 + i] = (uint8_t)(len >> (24 - 8 * i));
        d[12 + i] = (uint8_t)(addr >> (24 - 8 * i));
    }
    phys_copy_to(pm, at, d, sizeof d);
}
static uint32_t bswap(uint32_t v) {
    return v >> 24 | (v >> 8 & 0xFF00) | (v << 8 & 0xFF0000) | v << 24;
}

START_TEST(fwcfg_dma_transfers) {
    PhysMem *pm = physmem_new(4 * MiB);
    FwCfg *f = fwcfg_new();
    fwcfg_attach_dma(f, pm);
    uint8_t data[10000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 1);
    fwcfg_add_bytes(f, FW_CFG_KERNEL_DATA, data, sizeof data);
    /* select + read 6000 bytes to 2 MiB */
    put_desc(pm, 0x1000, (uint32_t)FW_CFG_KERNEL_DATA << 16 | 0x0A, 6000, 2 * MiB);
    fwcfg_port_write(f, FW_CFG_DMA_ADDR_LOW, 4, bswap(0x1000));
    uint8_t got[10010];
    phys_copy_from(pm, 2 * MiB, got, 6000);
    ck_assert_int_eq(memcmp(got, data, 6000), 0);
    ck_assert_uint_eq(phys_read(pm, 0x1000, 4), 0); /* control cleared: done, no error */
    /* skip 1000, then read on past the end: zeros there */
    put_desc(pm, 0x1000, 0x04, 1000, 0);
    fwcfg_port_write(f, FW_CFG_DMA_ADDR_LOW, 4, bswap(0x1000));
    memset(got, 0xEE, sizeof got);
    phys_copy_to(pm, 3 * MiB, got, sizeof got);
    put_desc(pm, 0x1000, 0x02, 3010, 3 * MiB);
    fwcfg_port_write(f, FW_CFG_DMA_ADDR_LOW, 4, bswap(0x1000));
    phys_copy_from(pm, 3 * MiB, got, 3011);
    ck_assert_int_eq(memcmp(got, data + 7000, 3000), 0);
    for (int i = 3000; i < 3010; i++)
        ck_assert_uint_eq(got[i], 0);
    ck_assert_uint_eq(got[3010], 0xEE);
    /* a destination beyond RAM: ERROR, nothing written out of bounds */
    put_desc(pm, 0x1000, (uint32_t)FW_CFG_KERNEL_DATA << 16 | 0x0A, 10000, 4 * MiB - 100);
    fwcfg_port_write(f, FW_CFG_DMA_ADDR_LOW, 4, bswap(0x1000));
    ck_assert_uint_eq(phys_read(pm, 0x1000, 4), 0x01000000); /* be32 1 */
    put_desc(pm, 0x1000, 0x10, 4, 0x2000);                   /* writes are refused */
    fwcfg_port_write(f, FW_CFG_DMA_ADDR_LOW, 4, bswap(0x1000));
    ck_assert_uint_eq(phys_read(pm, 0x1000, 4), 0x01000000);
    /* a high address half: descriptor beyond 4 GiB is ignored */
    fwcfg_port_write(f, FW_CFG_DMA_ADDR_HIGH, 4, bswap(1));
    fwcfg_port_write(f, FW_CFG_DMA_ADDR_LOW, 4, bswap(0x1000));
    ck_assert_uint_eq(phys_read(pm, 0x1000, 4), 0x01000000);
    fwcfg_free(f);
    physmem_free(pm);
}
END_TEST

int main(void) {
    Suite *s = suite_create("linuxboot");
    TCase *tc = tcase_create("boot");
    tcase_add_test(tc, prepare_patches_the_setup_header);
    tcase_add_test(tc, prepare_errors);
    tcase_add_test(tc, rom_layout_and_checksums);
    tcase_add_test(tc, fwcfg_dma_transfers);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
