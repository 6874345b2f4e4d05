/*
 * display_sdl.c - the SDL2 window (see display.h).
 *
 * Keys: SDL scancodes are named as in QEMU's sendkey and turned into set-2
 * codes by i8042_key_code(). Mouse: a click in the window grabs the
 * pointer (relative motion goes to the PS/2 mouse); Ctrl-Alt-G releases it.
 */
#include "frontend/display.h"

#include <SDL.h>
#include <stdint.h>
#include <stdlib.h>

#include "devices/i8042.h"
#include "devices/vga.h"

struct Display {
    Pc *pc;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    unsigned tex_w, tex_h;
    uint32_t last_draw;
    bool grabbed;
    unsigned buttons;
    Replay *rr; /* record/replay: input through it (NULL: straight to the i8042) */
};

void display_sdl_set_replay(Display *d, Replay *rr) {
    d->rr = rr;
}

Display *display_sdl_new(Pc *pc, char *err, size_t errlen) {
    if (!pc_vga(pc)) {
        snprintf(err, errlen, "the machine has no VGA");
        return NULL;
    }
    if (SDL_Init(SDL_INIT_VIDEO) < 0) {
        snprintf(err, errlen, "cannot start SDL: %s", SDL_GetError());
        return NULL;
    }
    Display *d = calloc(1, sizeof *d);
    if (!d) {
        SDL_Quit();
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->pc = pc;
    d->win =
        SDL_CreateWindow("bt86", SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, 720, 400, 0);
    if (d->win) d->ren = SDL_CreateRenderer(d->win, -1, 0);
    if (!d->win || !d->ren) {
        snprintf(err, errlen, "cannot open a window: %s", SDL_GetError());
        display_sdl_free(d);
        return NULL;
    }
    return d;
}

void display_sdl_free(Display *d) {
    if (!d) return;
    if (d->tex) SDL_DestroyTexture(d->tex);
    if (d->ren) SDL_DestroyRenderer(d->ren);
    if (d->win) SDL_DestroyWindow(d->win);
    free(d);
    SDL_Quit();
}

/* QEMU key names of the SDL scancodes the 8042 knows. */
static const char *key_name(SDL_Scancode sc) {
    static char letter[2];
    if (sc >= SDL_SCANCODE_A && sc <= SDL_SCANCODE_Z) {
        letter[0] = (char)('a' + (sc - SDL_SCANCODE_A));
        return letter;
    }
    if (sc >= SDL_SCANCODE_1 && sc <= SDL_SCANCODE_9) {
        letter[0] = (char)('1' + (sc - SDL_SCANCODE_1));
        return letter;
    }
    if (sc >= SDL_SCANCODE_F1 && sc <= SDL_SCANCODE_F12) {
        static char f[4];
        snprintf(f, sizeof f, "f%d", 1 + (int)(sc - SDL_SCANCODE_F1));
        return f;
    }
    switch (sc) {
    case SDL_SCANCODE_0: return "0";
    case SDL_SCANCODE_RETURN: return "ret";
    case SDL_SCANCODE_ESCAPE: return "esc";
    case SDL_SCANCODE_BACKSPACE: return "backspace";
    case SDL_SCANCODE_TAB: return "tab";
    case SDL_SCANCODE_SPACE: return "spc";
    case SDL_SCANCODE_MINUS: return "minus";
    case SDL_SCANCODE_EQUALS: return "equal";
    case SDL_SCANCODE_LEFTBRACKET: return "bracket_left";
    case SDL_SCANCODE_RIGHTBRACKET: return "bracket_right";
    case SDL_SCANCODE_BACKSLASH: return "backslash";
    case SDL_SCANCODE_SEMICOLON: return "semicolon";
    case SDL_SCANCODE_APOSTROPHE: return "apostrophe";
    case SDL_SCANCODE_GRAVE: return "grave_accent";
    case SDL_SCANCODE_COMMA: return "comma";
    case SDL_SCANCODE_PERIOD: return "dot";
    case SDL_SCANCODE_SLASH: return "slash";
    case SDL_SCANCODE_CAPSLOCK: return "caps_lock";
    case SDL_SCANCODE_INSERT: return "insert";
    case SDL_SCANCODE_HOME: return "home";
    case SDL_SCANCODE_PAGEUP: return "pgup";
    case SDL_SCANCODE_DELETE: return "delete";
    case SDL_SCANCODE_END: return "end";
    case SDL_SCANCODE_PAGEDOWN: return "pgdn";
    case SDL_SCANCODE_RIGHT: return "right";
    case SDL_SCANCODE_LEFT: return "left";
    case SDL_SCANCODE_DOWN: return "down";
    case SDL_SCANCODE_UP: return "up";
    case SDL_SCANCODE_LCTRL: return "ctrl";
    case SDL_SCANCODE_LSHIFT: return "shift";
    case SDL_SCANCODE_LALT: return "alt";
    case SDL_SCANCODE_RCTRL: return "ctrl_r";
    case SDL_SCANCODE_RSHIFT: return "shift_r";
    case SDL_SCANCODE_RALT: return "alt_r";
    default: return NULL;
    }
}

static void set_grab(Display *d, bool on) {
    d->grabbed = on;
    SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE);
    SDL_SetWindowTitle(d->win, on ? "bt86 - Ctrl-Alt-G releases the mouse" : "bt86");
}

static unsigned sdl_button_bit(Uint8 b) {
    return b == SDL_BUTTON_LEFT     ? 1u
           : b == SDL_BUTTON_RIGHT  ? 2u
           : b == SDL_BUTTON_MIDDLE ? 4u
                                    : 0u;
}

/* Input reaches the i8042 through replay.c: logged with the instruction
 * count while recording, ignored while replaying (the log has it). */
static void mouse(Display *d, int dx, int dy, int dz) {
    replay_mouse_event(d->rr, d->pc, pc_cpu(d->pc)->icount, dx, dy, dz, d->buttons);
}

static void handle_event(Display *d, const SDL_Event *e) {
    switch (e->type) {
    case SDL_KEYDOWN:
    case SDL_KEYUP: {
        SDL_Keymod mod = SDL_GetModState();
        if (e->type == SDL_KEYDOWN && e->key.keysym.scancode == SDL_SCANCODE_G &&
            (mod & KMOD_CTRL) && (mod & KMOD_ALT)) {
            set_grab(d, !d->grabbed);
            return;
        }
        const char *name = key_name(e->key.keysym.scancode);
        uint8_t code[2];
        int n = name ? i8042_key_code(name, code) : 0;
        if (n) /* repeats resend the make code */
            replay_key_event(d->rr, d->pc, pc_cpu(d->pc)->icount, code, n, e->type == SDL_KEYDOWN);
        break;
    }
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
        if (!d->grabbed) {
            if (e->type == SDL_MOUSEBUTTONDOWN) set_grab(d, true);
            return;
        }
        if (e->type == SDL_MOUSEBUTTONDOWN)
            d->buttons |= sdl_button_bit(e->button.button);
        else
            d->buttons &= ~sdl_button_bit(e->button.button);
        mouse(d, 0, 0, 0);
        break;
    case SDL_MOUSEMOTION:
        if (d->grabbed) mouse(d, e->motion.xrel, -e->motion.yrel, 0);
        break;
    case SDL_MOUSEWHEEL:
        if (d->grabbed) mouse(d, 0, 0, -e->wheel.y);
        break;
    default: break;
    }
}

static void draw(Display *d) {
    unsigned w, h;
    const uint32_t *fb = vga_render(pc_vga(d->pc), &w, &h);
    if (!d->tex || w != d->tex_w || h != d->tex_h) {
        if (d->tex) SDL_DestroyTexture(d->tex);
        d->tex = SDL_CreateTexture(d->ren, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING,
                                   (int)w, (int)h);
        if (!d->tex) return;
        d->tex_w = w;
        d->tex_h = h;
        /* Small modes (320x200) are shown doubled. */
        int scale = w < 400 ? 2 : 1;
        SDL_SetWindowSize(d->win, (int)w * scale, (int)h * scale);
    }
    SDL_UpdateTexture(d->tex, NULL, fb, (int)(w * sizeof *fb));
    SDL_RenderClear(d->ren);
    SDL_RenderCopy(d->ren, d->tex, NULL, NULL);
    SDL_RenderPresent(d->ren);
}

bool display_sdl_update(Display *d) {
    SDL_Event e;
    while (SDL_PollEvent(&e)) {
        if (e.type == SDL_QUIT) return false;
        handle_event(d, &e);
    }
    uint32_t now = SDL_GetTicks();
    if (now - d->last_draw >= 16) {
        d->last_draw = now;
        draw(d);
    }
    return true;
}
