/*
 * test_replay.c - the record/replay log (frontend/replay.c) without a
 * machine: a written log reads back the same (configuration, events, end
 * count); every truncation, every flipped byte and another format version
 * are refused with a message; the configuration check names what differs;
 * -icount's rr= and rrfile= items parse. With a machine (Debian's SeaBIOS;
 * the CPU never runs): keys and mouse motion fed through the entry points
 * the SDL window uses (replay_key_event, replay_mouse_event) while
 * recording reach the i8042, and the replay delivers the same bytes at the
 * same instruction counts while ignoring the window's own input.
 */
#define _GNU_SOURCE 1 /* open_memstream */
#include <check.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "devices/pc.h"
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
    ck_assert_int_eq(rr_writer_event(w, 3001, RR_EV_MOUSE, "\005\000\375\377\000\000\001", 7), 0);
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
    ck_assert_uint_eq(rr_log_count(log), 7); /* 5000 bytes: 4096 + 904 */
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
    e = rr_log_event(log, 6);
    ck_assert_uint_eq(e->kind, RR_EV_MOUSE);
    ck_assert_uint_eq(e->icount, 3001);
    ck_assert_int_eq(memcmp(e->data, "\005\000\375\377\000\000\001", 7), 0);
    ck_assert_ptr_null(rr_log_event(log, 7));
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

/* A log with one event of this kind and payload: accepted or not. */
static bool one_event_parses(RrEventKind kind, const void *payload, size_t len) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    ck_assert_ptr_nonnull(f);
    RrConfig c = sample_config();
    RrWriter *w = rr_writer_new(f, &c);
    ck_assert_int_eq(rr_writer_event(w, 10, kind, payload, len), 0);
    ck_assert_int_eq(rr_writer_finish(w, 20), 0);
    char err[256] = "";
    RrLog *log = rr_log_parse((const uint8_t *)buf, size, err, sizeof err);
    bool ok = log != NULL;
    ck_assert(ok || strstr(err, "unknown kind or length") != NULL);
    rr_log_free(log);
    free(buf);
    return ok;
}

/* shift=auto's decisions and the mouse: values out of range are refused
 * (the checksum is right: only the payload check stands in the way). */
START_TEST(auto_and_mouse_payloads_checked) {
    ck_assert(one_event_parses(RR_EV_PACE, "\001\000\000\000", 4));
    ck_assert(one_event_parses(RR_EV_PACE, "\000\004\000\000", 4)); /* 1024 */
    ck_assert(!one_event_parses(RR_EV_PACE, "\000\000\000\000", 4));
    ck_assert(!one_event_parses(RR_EV_PACE, "\001\004\000\000", 4)); /* 1025 */
    ck_assert(!one_event_parses(RR_EV_PACE, "\001\000", 2));
    ck_assert(one_event_parses(RR_EV_IDLE, "\000\000\000\000\000\004\000\000", 8)); /* 2^42 */
    ck_assert(!one_event_parses(RR_EV_IDLE, "\001\000\000\000\000\004\000\000", 8));
    ck_assert(!one_event_parses(RR_EV_IDLE, "\001\000\000\000", 4));
    ck_assert(one_event_parses(RR_EV_MOUSE, "\001\000\002\000\003\000\007", 7));
    ck_assert(!one_event_parses(RR_EV_MOUSE, "\001\000\002\000\003\000\010", 7));
    ck_assert(!one_event_parses(RR_EV_MOUSE, "\001\000\002\000\003\000", 6));
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

/* ---- the window's input through a machine ---- */

typedef struct Byte {
    uint64_t icount;
    uint8_t value;
    bool aux; /* from the mouse */
} Byte;

/* Read what the i8042 has for the guest now (the CPU's reads of port 0x60). */
static size_t drain(Pc *pc, uint64_t icount, Byte *out, size_t n, size_t max) {
    struct I8042 *k = pc_keyboard(pc);
    for (int i = 0; i < 64; i++) {
        uint32_t st = i8042_port_read(k, 0x64, 1);
        if (!(st & 1)) break;
        uint8_t v = (uint8_t)i8042_port_read(k, 0x60, 1);
        if (n < max) out[n++] = (Byte){icount, v, (st & 0x20) != 0};
    }
    return n;
}

static Pc *input_machine(PcConfig *cfg) {
    *cfg = pc_default_config();
    cfg->rtc_start = 1767225600;
    char err[256];
    Pc *pc = pc_new(cfg, err, sizeof err);
    ck_assert_msg(pc != NULL, "%s", err);
    struct I8042 *k = pc_keyboard(pc);
    i8042_port_write(k, 0x64, 1, 0xA8); /* enable the mouse port */
    i8042_port_write(k, 0x64, 1, 0xD4); /* to the mouse: */
    i8042_port_write(k, 0x60, 1, 0xF4); /* enable reporting */
    Byte junk[8];
    drain(pc, 0, junk, 0, 8); /* its acknowledgement */
    return pc;
}

START_TEST(window_input_replayed) {
    char path[] = "/tmp/bt86-test-replay-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char err[256];
    PcConfig cfg;
    Byte rec[256], rep[256];
    size_t nrec = 0, nrep = 0;
    /* Recording: what the window sends, at these counts. */
    Pc *pc = input_machine(&cfg);
    Replay *rr = replay_start(RR_RECORD, path, &cfg, 1, "test", NULL, err, sizeof err);
    ck_assert_msg(rr != NULL, "%s", err);
    static const uint8_t a[] = {0x1C}, del[] = {0xE0, 0x71};
    struct {
        uint64_t icount;
        int what; /* 0 key down, 1 key up, 2 mouse */
        const uint8_t *code;
        int len, dx, dy, dz;
        unsigned buttons;
    } script[] = {
        {100, 0, a, 1, 0, 0, 0, 0},
        {150, 1, a, 1, 0, 0, 0, 0},
        {150, 2, NULL, 0, 5, -3, 0, 1},
        {400, 2, NULL, 0, 0, 0, 0, 0},
        {401, 0, del, 2, 0, 0, 0, 0},
        {402, 1, del, 2, 0, 0, 0, 0},
        {900, 2, NULL, 0, 70000, -70000, 2, 4}, /* clamped to 16 bits, then to the packet */
        {901, 2, NULL, 0, -200, 100, -1, 9},    /* buttons beyond 3 bits dropped */
    };
    size_t nscript = sizeof script / sizeof script[0];
    for (size_t i = 0; i < nscript; i++) {
        pc_cpu(pc)->icount = script[i].icount;
        if (script[i].what < 2)
            replay_key_event(rr, pc, script[i].icount, script[i].code, script[i].len,
                             script[i].what == 0);
        else
            replay_mouse_event(rr, pc, script[i].icount, script[i].dx, script[i].dy, script[i].dz,
                               script[i].buttons);
        nrec = drain(pc, script[i].icount, rec, nrec, 256);
    }
    ck_assert_int_eq(replay_finish(rr, 1000, err, sizeof err), 0);
    pc_free(pc);
    /* Set 1 (the controller translates): a 1 + 1, delete 2 + 2 bytes; the
     * mouse four 3-byte packets. */
    ck_assert_uint_eq(nrec, 1 + 1 + 2 + 2 + 4 * 3);
    bool aux = false;
    for (size_t i = 0; i < nrec; i++)
        aux |= rec[i].aux;
    ck_assert(aux); /* the mouse's packets came through */

    /* Replay: the same bytes at the same counts; the window's own input
     * (the same entry points) is ignored. */
    pc = input_machine(&cfg);
    rr = replay_start(RR_REPLAY, path, &cfg, 1, "test", NULL, err, sizeof err);
    ck_assert_msg(rr != NULL, "%s", err);
    uint64_t icount = 0;
    for (;;) {
        uint64_t n = replay_insns_until_event(rr, icount);
        if (n == 0 && icount == 1000) break;
        icount += n;
        pc_cpu(pc)->icount = icount;
        replay_key_event(rr, pc, icount, a, 1, true); /* ignored */
        replay_mouse_event(rr, pc, icount, 1, 1, 0, 1);
        ck_assert_int_ge(replay_deliver(rr, pc, icount, err, sizeof err), 0);
        nrep = drain(pc, icount, rep, nrep, 256);
        if (icount == 1000) break;
    }
    ck_assert_int_eq(replay_finish(rr, 1000, err, sizeof err), 0);
    pc_free(pc);
    unlink(path);
    ck_assert_uint_eq(nrep, nrec);
    for (size_t i = 0; i < nrec; i++) {
        ck_assert_uint_eq(rep[i].icount, rec[i].icount);
        ck_assert_uint_eq(rep[i].value, rec[i].value);
        ck_assert_uint_eq(rep[i].aux, rec[i].aux);
    }
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
    tcase_add_test(tc, window_input_replayed);
    tcase_add_test(tc, auto_and_mouse_payloads_checked);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
