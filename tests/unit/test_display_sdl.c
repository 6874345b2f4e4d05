/*
 * test_display_sdl.c - the SDL window's keyboard and mouse under
 * record/replay, without a display (SDL_VIDEODRIVER=dummy): synthetic SDL
 * events (SDL_PushEvent) go through display_sdl_update as a user's would;
 * while recording they reach the i8042 and the log, and a replay delivers
 * the same bytes at the same instruction counts while the window's own
 * events (pushed again, different) are ignored. A machine with Debian's
 * SeaBIOS whose CPU never runs. Without SDL2 the test does nothing.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef BT86_HAVE_SDL
#include <SDL.h>

#include "devices/i8042.h"
#include "devices/pc.h"
#include "frontend/display.h"
#include "frontend/replay.h"

typedef struct Byte {
    uint64_t icount;
    uint8_t value;
    bool aux;
} Byte;

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

static Pc *machine(PcConfig *cfg) {
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
    drain(pc, 0, junk, 0, 8);
    return pc;
}

static void push_key(SDL_Scancode sc, bool down) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = down ? SDL_KEYDOWN : SDL_KEYUP;
    e.key.state = down ? SDL_PRESSED : SDL_RELEASED;
    e.key.keysym.scancode = sc;
    ck_assert_int_eq(SDL_PushEvent(&e), 1);
}

static void push_button(Uint8 button, bool down) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = down ? SDL_MOUSEBUTTONDOWN : SDL_MOUSEBUTTONUP;
    e.button.button = button;
    e.button.state = down ? SDL_PRESSED : SDL_RELEASED;
    ck_assert_int_eq(SDL_PushEvent(&e), 1);
}

static void push_motion(int dx, int dy) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_MOUSEMOTION;
    e.motion.xrel = dx;
    e.motion.yrel = dy;
    ck_assert_int_eq(SDL_PushEvent(&e), 1);
}

static void push_wheel(int y) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_MOUSEWHEEL;
    e.wheel.y = y;
    ck_assert_int_eq(SDL_PushEvent(&e), 1);
}

/* What a user does in the window, one step per instruction count; the
 * replay pushes other events (variant 1), which must not arrive. */
static void user(int step, int variant) {
    switch (step) {
    case 0: push_key(variant ? SDL_SCANCODE_B : SDL_SCANCODE_A, true); break;
    case 1: push_key(variant ? SDL_SCANCODE_B : SDL_SCANCODE_A, false); break;
    case 2: push_button(SDL_BUTTON_LEFT, true); break; /* grabs the mouse: not sent */
    case 3: push_motion(variant ? 1 : 7, variant ? 1 : 4); break;
    case 4: push_button(SDL_BUTTON_LEFT, true); break; /* grabbed: a click */
    case 5:
        push_button(SDL_BUTTON_LEFT, false);
        push_wheel(variant ? 3 : -1);
        break;
    case 6: push_key(SDL_SCANCODE_DELETE, true); break;
    default: break;
    }
}

START_TEST(window_input_recorded_and_replayed) {
    setenv("SDL_VIDEODRIVER", "dummy", 1);
    char path[] = "/tmp/bt86-test-sdl-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    static const uint64_t at[] = {1000, 1500, 2000, 2001, 3000, 3000, 5000};
    enum { STEPS = sizeof at / sizeof at[0], END = 6000 };
    char err[256];
    PcConfig cfg;
    Byte rec[128], rep[128];
    size_t nrec = 0, nrep = 0;

    Pc *pc = machine(&cfg);
    Display *d = display_sdl_new(pc, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    Replay *rr = replay_start(RR_RECORD, path, &cfg, 1, "test", NULL, err, sizeof err);
    ck_assert_msg(rr != NULL, "%s", err);
    display_sdl_set_replay(d, rr);
    for (int s = 0; s < STEPS; s++) {
        pc_cpu(pc)->icount = at[s];
        user(s, 0);
        ck_assert(display_sdl_update(d));
        nrec = drain(pc, at[s], rec, nrec, 128);
    }
    ck_assert_int_eq(replay_finish(rr, END, err, sizeof err), 0);
    display_sdl_free(d);
    pc_free(pc);
    /* a: 1 + 1, motion, click, release, wheel: 4 packets of 3, delete: 2
     * (scan code set 1: the controller translates). */
    ck_assert_uint_eq(nrec, 1 + 1 + 4 * 3 + 2);
    ck_assert_uint_eq(rec[0].value, 0x1E);
    ck_assert(rec[2].aux);

    pc = machine(&cfg);
    d = display_sdl_new(pc, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    rr = replay_start(RR_REPLAY, path, &cfg, 1, "test", NULL, err, sizeof err);
    ck_assert_msg(rr != NULL, "%s", err);
    display_sdl_set_replay(d, rr);
    uint64_t icount = 0;
    for (int s = 0; icount < END; s++) {
        icount += replay_insns_until_event(rr, icount);
        pc_cpu(pc)->icount = icount;
        user(s, 1); /* the window's own input: ignored */
        ck_assert(display_sdl_update(d));
        ck_assert_int_ge(replay_deliver(rr, pc, icount, err, sizeof err), 0);
        nrep = drain(pc, icount, rep, nrep, 128);
    }
    ck_assert_uint_eq(icount, END);
    ck_assert_int_eq(replay_finish(rr, END, err, sizeof err), 0);
    display_sdl_free(d);
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
#endif

int main(void) {
#ifdef BT86_HAVE_SDL
    Suite *s = suite_create("display_sdl");
    TCase *tc = tcase_create("input");
    tcase_add_test(tc, window_input_recorded_and_replayed);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
#else
    return 0; /* built without SDL2: no window */
#endif
}
