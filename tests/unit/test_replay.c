/*
 * test_replay.c - the record/replay log (frontend/replay.c) without a
 * machine: a written log reads back the same (configuration, events, end
 * count); every truncation, every flipped byte and another format version
 * are refused with a message; the configuration check names what differs;
 * -icount's rr= and rrfile= items parse.
 */
#define _GNU_SOURCE 1 /* open_memstream */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/replay.h"

static RrConfig sample_config(void) {
    RrConfig c;
    memset(&c, 0, sizeof c);
    snprintf(c.build, sizeof c.build, "0.1");
    c.ram_mb = 128;
    c.icount_shift = 1;
    c.rtc_start = 1764547200;
    c.vga = 1;
    for (int i = 0; i < RR_NFILES; i++)
        c.files[i] = (RrFileId){RR_NO_FILE, 0};
    c.files[RR_FILE_BIOS] = (RrFileId){131072, 0x1234};
    c.files[RR_FILE_HDA] = (RrFileId){67108864, 0xabcdef};
    snprintf(c.cpu_model, sizeof c.cpu_model, "coreduo");
    c.cpu_features[0] = 0x0781fbff;
    c.cpu_features[1] = 0x1;
    c.cpu_features[2] = 0x100000;
    snprintf(c.vmm, sizeof c.vmm, "trap");
    return c;
}

/* A log with three events (one longer than an event's payload limit, so
 * it is split) written through a memory stream; *len its size. */
static uint8_t *sample_log(size_t *len) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    RrConfig c = sample_config();
    RrWriter *w = rr_writer_new(f, &c);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(rr_writer_event(w, 1000, RR_EV_SERIAL, "ls\n", 3), 0);
    ck_assert_int_eq(rr_writer_event(w, 1000, RR_EV_POWERDOWN, NULL, 0), 0);
    static uint8_t big[5000];
    memset(big, 'a', sizeof big);
    ck_assert_int_eq(rr_writer_event(w, 2000, RR_EV_SERIAL, big, sizeof big), 0);
    ck_assert_int_eq(rr_writer_event(w, 1999, RR_EV_SERIAL, "x", 1), -1);        /* back in time */
    ck_assert_int_eq(rr_writer_event(w, 3000, RR_EV_KEY, "\001\340\161", 3), 0); /* delete down */
    ck_assert_int_eq(rr_writer_event(w, 3000, RR_EV_RESET, NULL, 0), 0);
    ck_assert_int_eq(rr_writer_finish(w, 123456789012ull), 0);
    *len = size;
    return (uint8_t *)buf;
}

START_TEST(round_trip) {
    size_t len;
    uint8_t *buf = sample_log(&len);
    char err[256] = "";
    RrLog *log = rr_log_parse(buf, len, err, sizeof err);
    ck_assert_msg(log != NULL, "%s", err);
    RrConfig want = sample_config();
    ck_assert_int_eq(rr_config_check(rr_log_config(log), &want, err, sizeof err), 0);
    ck_assert_int_eq(rr_log_config(log)->rtc_start, 1764547200);
    ck_assert_uint_eq(rr_log_count(log), 6); /* 5000 bytes: 4096 + 904 */
    const RrEvent *e = rr_log_event(log, 0);
    ck_assert_uint_eq(e->icount, 1000);
    ck_assert_uint_eq(e->kind, RR_EV_SERIAL);
    ck_assert_uint_eq(e->len, 3);
    ck_assert_int_eq(memcmp(e->data, "ls\n", 3), 0);
    e = rr_log_event(log, 1);
    ck_assert_uint_eq(e->kind, RR_EV_POWERDOWN);
    ck_assert_uint_eq(e->len, 0);
    ck_assert_uint_eq(rr_log_event(log, 2)->len, 4096);
    ck_assert_uint_eq(rr_log_event(log, 3)->len, 904);
    ck_assert_uint_eq(rr_log_event(log, 3)->icount, 2000);
    e = rr_log_event(log, 4);
    ck_assert_uint_eq(e->kind, RR_EV_KEY);
    ck_assert_uint_eq(e->len, 3);
    ck_assert_int_eq(memcmp(e->data, "\001\340\161", 3), 0);
    ck_assert_uint_eq(rr_log_event(log, 5)->kind, RR_EV_RESET);
    ck_assert_ptr_null(rr_log_event(log, 6));
    ck_assert_uint_eq(rr_log_end_icount(log), 123456789012ull);
    rr_log_free(log);
    free(buf);
}
END_TEST

START_TEST(truncated_at_every_length) {
    size_t len;
    uint8_t *buf = sample_log(&len);
    for (size_t n = 0; n < len; n++) {
        char err[256] = "";
        uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
        memcpy(copy, buf, n);
        RrLog *log = rr_log_parse(copy, n, err, sizeof err);
        ck_assert_msg(log == NULL, "a log cut to %zu of %zu bytes was accepted", n, len);
        ck_assert_msg(err[0] != 0, "no message for a log cut to %zu bytes", n);
        free(copy);
    }
    free(buf);
}
END_TEST

START_TEST(every_flipped_byte) {
    size_t len;
    uint8_t *buf = sample_log(&len);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit += 7) {
            char err[256] = "";
            buf[i] ^= (uint8_t)(1u << bit);
            RrLog *log = rr_log_parse(buf, len, err, sizeof err);
            ck_assert_msg(log == NULL, "byte %zu bit %u flipped was accepted", i, bit);
            ck_assert(err[0] != 0);
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    char err[256];
    RrLog *log = rr_log_parse(buf, len, err, sizeof err); /* restored: accepted again */
    ck_assert_ptr_nonnull(log);
    rr_log_free(log);
    free(buf);
}
END_TEST

START_TEST(other_version_and_not_a_log) {
    size_t len;
    uint8_t *buf = sample_log(&len);
    char err[256] = "";
    buf[8] = RR_FORMAT_VERSION + 1;
    ck_assert_ptr_null(rr_log_parse(buf, len, err, sizeof err));
    char want[64];
    snprintf(want, sizeof want, "version %u, this bt86 reads version %u", RR_FORMAT_VERSION + 1,
             RR_FORMAT_VERSION);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    buf[8] = 1; /* a version 1 log (before the CPU model was recorded) */
    ck_assert_ptr_null(rr_log_parse(buf, len, err, sizeof err));
    ck_assert_msg(strstr(err, "log format version 1") != NULL, "%s", err);
    buf[0] = 'X';
    ck_assert_ptr_null(rr_log_parse(buf, len, err, sizeof err));
    ck_assert_msg(strstr(err, "bad magic") != NULL, "%s", err);
    free(buf);
    ck_assert_ptr_null(rr_log_load("/nonexistent-dir/log", err, sizeof err));
    ck_assert(strstr(err, "/nonexistent-dir/log") != NULL);
}
END_TEST

START_TEST(config_mismatch_named) {
    RrConfig rec = sample_config(), now = sample_config();
    char err[256] = "";
    now.ram_mb = 256;
    ck_assert_int_eq(rr_config_check(&rec, &now, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "-m 128") && strstr(err, "-m 256"), "%s", err);
    now = sample_config();
    now.files[RR_FILE_HDA].hash ^= 1;
    ck_assert_int_eq(rr_config_check(&rec, &now, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "-hda differs") != NULL, "%s", err);
    now = sample_config();
    now.files[RR_FILE_CDROM] = (RrFileId){100, 1};
    ck_assert_int_eq(rr_config_check(&rec, &now, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "-cdrom: absent when recorded") != NULL, "%s", err);
    now = sample_config();
    now.icount_shift = 3;
    ck_assert_int_eq(rr_config_check(&rec, &now, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "shift=3") != NULL, "%s", err);
    now = sample_config();
    snprintf(now.build, sizeof now.build, "0.2");
    ck_assert_int_eq(rr_config_check(&rec, &now, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bt86 0.1") != NULL, "%s", err);
    now = sample_config();
    snprintf(now.cpu_model, sizeof now.cpu_model, "max");
    ck_assert_int_eq(rr_config_check(&rec, &now, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "recorded with -cpu coreduo, replaying with -cpu max") != NULL, "%s",
                  err);
    now = sample_config();
    now.cpu_features[0] &= ~(1u << 25); /* a host without SSE */
    ck_assert_int_eq(rr_config_check(&rec, &now, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "other CPUID features") && strstr(err, "SSE unit"), "%s", err);
    now = sample_config();
    now.vmm[0] = 0;
    ck_assert_int_eq(rr_config_check(&rec, &now, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "recorded with -vmm trap, replaying with -vmm (none)") != NULL, "%s",
                  err);
}
END_TEST

/* rr_config_of takes the -cpu model (max without one) and its features. */
START_TEST(config_of_records_the_cpu) {
    PcConfig pc;
    memset(&pc, 0, sizeof pc);
    pc.ram_mb = 64;
    pc.cpu_model = cpu_model_find("pentium3");
    RrConfig a, b;
    char err[256] = "";
    ck_assert_int_eq(rr_config_of(&a, &pc, 2, "0.1", NULL, err, sizeof err), 0);
    ck_assert_str_eq(a.cpu_model, "pentium3");
    CpuFeatures f = cpu_model_features(pc.cpu_model);
    ck_assert_uint_eq(a.cpu_features[0], f.edx1);
    ck_assert_uint_eq(a.cpu_features[1], f.ecx1);
    ck_assert_str_eq(a.vmm, "");
    pc.cpu_model = NULL;
    ck_assert_int_eq(rr_config_of(&b, &pc, 2, "0.1", "pv", err, sizeof err), 0);
    ck_assert_str_eq(b.cpu_model, "max");
    ck_assert_str_eq(b.vmm, "pv");
    ck_assert_int_eq(rr_config_check(&a, &b, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "-cpu pentium3, replaying with -cpu max") != NULL, "%s", err);
}
END_TEST

START_TEST(parse_icount_items) {
    RrMode mode = RR_OFF;
    const char *file = NULL;
    char err[256];
    ck_assert_int_eq(
        replay_parse_icount("shift=1,rr=record,rrfile=a.log", &mode, &file, err, sizeof err), 0);
    ck_assert_int_eq(mode, RR_RECORD);
    ck_assert_str_eq(file, "a.log");
    ck_assert_int_eq(replay_parse_icount("rr=replay", &mode, &file, err, sizeof err), 0);
    ck_assert_int_eq(mode, RR_REPLAY);
    ck_assert_int_eq(replay_parse_icount("shift=1,rr=play", &mode, &file, err, sizeof err), -1);
    ck_assert(strstr(err, "record or replay") != NULL);
    ck_assert_int_eq(replay_parse_icount("shift=1,rrfile=", &mode, &file, err, sizeof err), -1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("replay");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, truncated_at_every_length);
    tcase_add_test(tc, every_flipped_byte);
    tcase_add_test(tc, other_version_and_not_a_log);
    tcase_add_test(tc, config_of_records_the_cpu);
    tcase_add_test(tc, config_mismatch_named);
    tcase_add_test(tc, parse_icount_items);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
