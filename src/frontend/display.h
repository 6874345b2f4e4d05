/*
 * display.h - the graphical display: an SDL2 window showing what the VGA
 * renders (vga_render), resized when the mode changes, that turns host key
 * presses into PS/2 scancodes for the 8042 and mouse motion/buttons into
 * PS/2 mouse packets. Polled from the main loop: display_sdl_update()
 * redraws at most 60 times a second of host time and handles input.
 *
 * Built only when SDL2 is found at configure time (BT86_HAVE_SDL);
 * otherwise display_sdl_available() is false and the rest are absent
 * (display_sdl_new fails with a message).
 *
 * Use:
 *     Display *d = display_sdl_new(pc, err, sizeof err);
 *     while (running) { pc_run(...); if (!display_sdl_update(d)) break; }
 *     display_sdl_free(d);
 */
#ifndef BT86_DISPLAY_H
#define BT86_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "devices/pc.h"
#include "frontend/replay.h"

typedef struct Display Display;

#ifdef BT86_HAVE_SDL
static inline bool display_sdl_available(void) {
    return true;
}
Display *display_sdl_new(Pc *pc, char *err, size_t errlen);
/* Redraw if due and process window events; false when the window was closed. */
bool display_sdl_update(Display *d);
void display_sdl_free(Display *d);
/* Keys and mouse go to the guest through rr (recorded with the instruction
 * count; ignored during a replay, which delivers the logged ones). */
void display_sdl_set_replay(Display *d, Replay *rr);
#else
static inline bool display_sdl_available(void) {
    return false;
}
static inline Display *display_sdl_new(Pc *pc, char *err, size_t errlen) {
    (void)pc;
    snprintf(err, errlen, "built without SDL2");
    return NULL;
}
static inline bool display_sdl_update(Display *d) {
    (void)d;
    return true;
}
static inline void display_sdl_free(Display *d) {
    (void)d;
}
static inline void display_sdl_set_replay(Display *d, Replay *rr) {
    (void)d;
    (void)rr;
}
#endif

#endif
