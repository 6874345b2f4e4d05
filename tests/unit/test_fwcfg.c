/*
 * test_fwcfg.c - fw_cfg through its ports alone: signature and ID, numbered
 * items, reads past the end, the file directory and reading files by
 * selector, bad keys.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "devices/fwcfg.h"

static FwCfg *fw;

static void sel(uint16_t key) { fwcfg_port_write(fw, 0x510, 2, key); }
static uint8_t rd(void) { return (uint8_t)fwcfg_port_read(fw, 0x511, 1); }
static void rd_n(void *buf, size_t n) {
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i++) b[i] = rd();
}

static void setup(void) { fw = fwcfg_new(); }
static void teardown(void) { fwcfg_free(fw); }

START_TEST(signature_and_id) {
    char sig[4];
    sel(FW_CFG_SIGNATURE);
    rd_n(sig, 4);
    ck_assert_int_eq(memcmp(sig, "QEMU", 4), 0);
    sel(FW_CFG_ID);
    ck_assert_uint_eq(rd(), 1); /* no DMA bit */
    sel(FW_CFG_SIGNATURE); /* selecting rewinds */
    ck_assert_uint_eq(rd(), 'Q');
}
END_TEST

START_TEST(numbered_items_and_reads_past_end) {
    fwcfg_add_i16(fw, FW_CFG_MAX_CPUS, 0x0102);
    fwcfg_add_bytes(fw, FW_CFG_IRQ0_OVERRIDE, "\x01", 1);
    sel(FW_CFG_MAX_CPUS);
    ck_assert_uint_eq(rd(), 0x02);
    ck_assert_uint_eq(rd(), 0x01);
    ck_assert_uint_eq(rd(), 0x00);
    sel(FW_CFG_IRQ0_OVERRIDE);
    ck_assert_uint_eq(rd(), 1);
    sel(FW_CFG_NUMA); /* absent: zeros */
    ck_assert_uint_eq(rd(), 0);
    sel(0x3FFF); /* out of range: zeros, no crash */
    ck_assert_uint_eq(rd(), 0);
    ck_assert_int_eq(fwcfg_add_i16(fw, 0x3FFF, 1), -1);
}
END_TEST

START_TEST(file_directory) {
    const uint8_t e820[20] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 1, 0, 0, 0};
    int s1 = fwcfg_add_file(fw, "etc/e820", e820, sizeof e820);
    int s2 = fwcfg_add_file(fw, "bootorder", "/x\n", 3);
    ck_assert_int_eq(s1, FW_CFG_FILE_FIRST);
    ck_assert_int_eq(s2, FW_CFG_FILE_FIRST + 1);
    uint8_t hdr[4], ent[64];
    sel(FW_CFG_FILE_DIR);
    rd_n(hdr, 4);
    ck_assert_uint_eq(hdr[3], 2); /* big-endian count */
    rd_n(ent, 64);
    ck_assert_uint_eq(ent[3], 20);
    ck_assert_uint_eq(ent[4] << 8 | ent[5], (unsigned)s1);
    ck_assert_str_eq((char *)ent + 8, "etc/e820");
    rd_n(ent, 64);
    ck_assert_str_eq((char *)ent + 8, "bootorder");
    uint8_t back[20];
    sel((uint16_t)s1);
    rd_n(back, 20);
    ck_assert_int_eq(memcmp(back, e820, 20), 0);
    ck_assert_uint_eq(rd(), 0); /* the stashed name is not part of the file */
    char longname[80];
    memset(longname, 'a', sizeof longname - 1);
    longname[79] = 0;
    ck_assert_int_eq(fwcfg_add_file(fw, longname, "x", 1), -1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("fwcfg");
    TCase *tc = tcase_create("ports");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, signature_and_id);
    tcase_add_test(tc, numbered_items_and_reads_past_end);
    tcase_add_test(tc, file_directory);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
