/*
 * test_bounds.c - one guest access takes bounded host time and memory
 * (docs/bounds.md): the bounds no other unit test pins down.
 *   - REP INS/OUTS with ECX = 0xFFFFFFFF return to the run loop after a
 *     bounded batch (EIP still at the instruction, the count partly done);
 *   - a fw_cfg DMA read whose length runs past the end of RAM, or past
 *     4 GiB, ends with the ERROR bit and never writes outside RAM; a
 *     descriptor outside RAM is ignored;
 *   - no DISPI mode is bigger than video memory (resolutions past the
 *     maximum are refused; the largest fits), no virtual width narrower
 *     than the mode, no virtual height past its end, and offsets past it
 *     render black;
 *   - the VGA's BAR moved over RAM hides the RAM while it is there and
 *     gives it back unchanged when it moves away.
 *
 * Run: built by CMake as a Check test (ctest -R unit-test_bounds).
 */
#include <check.h>
#include <stdlib.h>

#include "devices/bus.h"
#include "devices/fwcfg.h"
#include "devices/pci.h"
#include "devices/vga.h"
#include "mmu/mmu.h"
#include "testmachine.h"

/* ---------------- REP string I/O ---------------- */

static unsigned port_reads, port_writes;

static uint32_t count_read(void *opaque, uint16_t port, unsigned size) {
    (void)opaque, (void)port, (void)size;
    port_reads++;
    return 0x5A5A5A5A;
}
static void count_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    (void)opaque, (void)port, (void)size, (void)val;
    port_writes++;
}

/* One run of at most one instruction: a REP with a 4-billion count must
 * come back with EIP at the instruction and at most a batch done. */
static void check_rep_batch(const uint8_t *code, size_t len, bool in) {
    TestMachine *tm = tm_new(16 << 20);
    ck_assert_int_eq(iobus_register(tm->io, 0x300, 4, count_read, count_write, NULL), 0);
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_poke(tm, TM_CODE, code, len);
    tm->cpu->regs[R_ECX] = 0xFFFFFFFFu;
    tm->cpu->regs[R_EDX] = 0x300;
    tm->cpu->regs[R_EDI] = 0x100000;
    tm->cpu->regs[R_ESI] = 0x100000;
    port_reads = port_writes = 0;
    tm_run(tm, 1);
    uint32_t done = 0xFFFFFFFFu - tm->cpu->regs[R_ECX];
    ck_assert_uint_eq(tm->cpu->eip, TM_CODE); /* restarts itself */
    ck_assert_uint_gt(done, 0);
    ck_assert_uint_le(done, 65536); /* docs/bounds.md: 4096 per execution */
    ck_assert_uint_eq(in ? port_reads : port_writes, done);
    tm_free(tm);
}

START_TEST(rep_insw_huge_count_returns_in_batches) {
    check_rep_batch((const uint8_t[]){0x66, 0xF3, 0x6D}, 3, true); /* rep insw */
}
END_TEST

START_TEST(rep_outsd_huge_count_returns_in_batches) {
    check_rep_batch((const uint8_t[]){0xF3, 0x6F}, 2, false); /* rep outsd */
}
END_TEST

START_TEST(rep_insb_huge_count_keeps_running_to_the_end_of_ram) {
    /* Many runs: each batch comes back, EDI keeps going, nothing is
     * written past RAM (the write faults nothing: it is dropped). */
    TestMachine *tm = tm_new(2 << 20);
    ck_assert_int_eq(iobus_register(tm->io, 0x300, 4, count_read, count_write, NULL), 0);
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    tm_poke(tm, TM_CODE, (const uint8_t[]){0xF3, 0x6C}, 2); /* rep insb */
    tm->cpu->regs[R_ECX] = 0xFFFFFFFFu;
    tm->cpu->regs[R_EDX] = 0x300;
    tm->cpu->regs[R_EDI] = (2u << 20) - 8192;
    for (int i = 0; i < 8; i++)
        tm_run(tm, 1);
    ck_assert_uint_eq(tm->cpu->eip, TM_CODE);
    ck_assert_uint_gt(tm->cpu->regs[R_EDI], 2u << 20); /* went on past the end of RAM */
    ck_assert_uint_eq(tm_peek32(tm, (2u << 20) - 4), 0x5A5A5A5A);
    tm_free(tm);
}
END_TEST

/* ---------------- fw_cfg DMA ---------------- */

#define RAM (2u << 20)

static PhysMem *pm;
static IoBus *io;
static FwCfg *fw;

static void fw_setup(void) {
    pm = physmem_new(RAM);
    io = iobus_new();
    fw = fwcfg_new();
    ck_assert_int_eq(fwcfg_register(fw, io), 0);
    fwcfg_attach_dma(fw, pm);
}
static void fw_teardown(void) {
    fwcfg_free(fw);
    iobus_free(io);
    physmem_free(pm);
}

static uint32_t be32(uint32_t v) {
    return v >> 24 | (v >> 8 & 0xFF00) | (v << 8 & 0xFF0000) | v << 24;
}

/* A READ of the signature item of len bytes to dst, descriptor at desc;
 * returns the control word the device stored back. */
static uint32_t dma(uint32_t desc, uint32_t len, uint32_t dst) {
    if (desc + 16 <= RAM) {
        phys_write(pm, desc, 4,
                   be32((uint32_t)FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ));
        phys_write(pm, desc + 4, 4, be32(len));
        phys_write(pm, desc + 8, 4, 0);
        phys_write(pm, desc + 12, 4, be32(dst));
    }
    iobus_write(io, FW_CFG_DMA_ADDR_HIGH, 4, 0);
    iobus_write(io, FW_CFG_DMA_ADDR_LOW, 4, be32(desc));
    return desc + 16 <= RAM ? be32(phys_read(pm, desc, 4)) : 0;
}

START_TEST(fwcfg_dma_within_ram) {
    ck_assert_uint_eq(dma(0x1000, RAM - 0x100000, 0x100000), 0); /* exactly to the end */
    ck_assert_uint_eq(phys_read(pm, 0x100000, 4), 0x554D4551);   /* "QEMU" */
}
END_TEST

START_TEST(fwcfg_dma_past_the_end_of_ram) {
    phys_write(pm, 0x100000, 4, 0x11111111);
    ck_assert_uint_eq(dma(0x1000, RAM - 0x100000 + 1, 0x100000), FW_CFG_DMA_ERROR);
    /* A length reaching past 4 GiB is refused before any write. */
    phys_write(pm, 0x100000, 4, 0x22222222);
    ck_assert_uint_eq(dma(0x1000, 0xFFFFFFFFu, 0x100000), FW_CFG_DMA_ERROR);
    ck_assert_uint_eq(phys_read(pm, 0x100000, 4), 0x22222222);
    /* A destination that is not RAM at all. */
    ck_assert_uint_eq(dma(0x1000, 16, 0xF0000000u), FW_CFG_DMA_ERROR);
    /* A descriptor outside RAM: nothing happens (and nothing is stored). */
    dma(0xFFFFFFF0u, 0, 0);
    dma(RAM - 8, 0, 0);
}
END_TEST

/* ---------------- VGA ---------------- */

static PciBus *pci;
static Vga *vga;

static void vga_setup(void) {
    pm = physmem_new(32u << 20);
    io = iobus_new();
    pci = pci_bus_new();
    vga = vga_new(NULL);
    ck_assert_int_eq(vga_register(vga, io, pm), 0);
    ck_assert_int_eq(pci_bus_register(pci, io), 0);
    ck_assert_ptr_nonnull(vga_pci_init(vga, pci, PCI_DEVFN(2, 0)));
}
static void vga_teardown(void) {
    vga_free(vga);
    pci_bus_free(pci);
    physmem_free(pm);
    iobus_free(io);
}

static void dispi(uint16_t i, uint16_t v) {
    iobus_write(io, 0x1CE, 2, i);
    iobus_write(io, 0x1CF, 2, v);
}
static uint16_t dispi_get(uint16_t i) {
    iobus_write(io, 0x1CE, 2, i);
    return (uint16_t)iobus_read(io, 0x1CF, 2);
}
static void vga_cfg_write(unsigned reg, uint32_t v) {
    iobus_write(io, 0xCF8, 4, 0x80000000u | PCI_DEVFN(2, 0) << 8 | reg);
    iobus_write(io, 0xCFC, 4, v);
}

START_TEST(dispi_mode_bigger_than_vram_is_refused) {
    /* Resolutions past the maximum are refused, so no mode is larger than
     * video memory: the largest, 2560 x 1600 x 32 bpp, is 16000 KiB. */
    dispi(VBE_DISPI_INDEX_XRES, 2560);
    dispi(VBE_DISPI_INDEX_YRES, 1600);
    dispi(VBE_DISPI_INDEX_XRES, VGA_MAX_WIDTH + 1);
    dispi(VBE_DISPI_INDEX_YRES, 0xFFFF);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_XRES), 2560);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_YRES), 1600);
    dispi(VBE_DISPI_INDEX_BPP, 32);
    ck_assert_uint_le(2560u * 1600u * 4u, VGA_VRAM_SIZE);
    dispi(VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    ck_assert_uint_ne(dispi_get(VBE_DISPI_INDEX_ENABLE) & VBE_DISPI_ENABLED, 0);
    /* The virtual height stops at the end of video memory. */
    ck_assert_uint_le((uint32_t)dispi_get(VBE_DISPI_INDEX_VIRT_HEIGHT) * 2560u * 4u, VGA_VRAM_SIZE);
    /* The widest virtual screen: its height shrinks to what fits. */
    dispi(VBE_DISPI_INDEX_VIRT_WIDTH, 100); /* narrower than the mode: refused */
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_VIRT_WIDTH), 2560);
    dispi(VBE_DISPI_INDEX_VIRT_WIDTH, 0xFFFF);
    ck_assert_uint_eq(dispi_get(VBE_DISPI_INDEX_VIRT_WIDTH), 0xFFFF);
    ck_assert_uint_le((uint32_t)dispi_get(VBE_DISPI_INDEX_VIRT_HEIGHT) * 0xFFFFu * 4u,
                      VGA_VRAM_SIZE);
    /* Offsets past the end of video memory render black, read nothing outside. */
    dispi(VBE_DISPI_INDEX_Y_OFFSET, 0xFFFF);
    dispi(VBE_DISPI_INDEX_X_OFFSET, 0xFFFF);
    unsigned w, h;
    const uint32_t *fb = vga_render(vga, &w, &h);
    ck_assert_uint_eq(w, 2560);
    ck_assert_uint_eq(h, 1600);
    ck_assert_uint_eq(fb[w * h - 1], 0);
}
END_TEST

START_TEST(lfb_bar_over_ram_hides_it_and_gives_it_back) {
    phys_write(pm, 0x1000000, 4, 0x11223344);
    vga_cfg_write(0x04, 0x0003);    /* memory decoding on */
    vga_cfg_write(0x10, 0x1000000); /* BAR0 over RAM at 16 MiB */
    phys_write(pm, 0x1000000, 4, 0xCAFEF00D);
    ck_assert_uint_eq(vga_vram(vga)[0], 0x0D); /* the write went to video memory */
    vga_cfg_write(0x10, 0xE0000000u);          /* moved away */
    ck_assert_uint_eq(phys_read(pm, 0x1000000, 4), 0x11223344);
    ck_assert_uint_eq(phys_read(pm, 0xE0000000u, 4), 0xCAFEF00D);
}
END_TEST

int main(void) {
    Suite *s = suite_create("bounds");
    TCase *rep = tcase_create("rep");
    tcase_add_test(rep, rep_insw_huge_count_returns_in_batches);
    tcase_add_test(rep, rep_outsd_huge_count_returns_in_batches);
    tcase_add_test(rep, rep_insb_huge_count_keeps_running_to_the_end_of_ram);
    suite_add_tcase(s, rep);
    TCase *fwc = tcase_create("fwcfg");
    tcase_add_checked_fixture(fwc, fw_setup, fw_teardown);
    tcase_add_test(fwc, fwcfg_dma_within_ram);
    tcase_add_test(fwc, fwcfg_dma_past_the_end_of_ram);
    suite_add_tcase(s, fwc);
    TCase *v = tcase_create("vga");
    tcase_add_checked_fixture(v, vga_setup, vga_teardown);
    tcase_add_test(v, dispi_mode_bigger_than_vram_is_refused);
    tcase_add_test(v, lfb_bar_over_ram_hides_it_and_gives_it_back);
    suite_add_tcase(s, v);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
