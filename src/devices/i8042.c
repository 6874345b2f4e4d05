/*
 * i8042.c - 8042 keyboard controller, PS/2 keyboard and mouse, port 0x92
 * (see i8042.h).
 *
 * Bytes flow from three queues into the controller's single output buffer:
 * controller replies first, then keyboard bytes (translated from set 2 to
 * set 1 when the command byte says so), then mouse bytes. A byte sits in
 * the output buffer until the guest reads port 0x60; the IRQ line of its
 * source is high while it sits there and its interrupt is enabled.
 */
#include "devices/i8042.h"

#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

#define QUEUE_SIZE 64

typedef struct ByteQueue {
    uint8_t data[QUEUE_SIZE];
    unsigned head, count;
} ByteQueue;

/* Status register bits. */
#define ST_OBF  0x01
#define ST_SYS  0x04
#define ST_CMD  0x08
#define ST_INH  0x10 /* 1 = keyboard not inhibited */
#define ST_AUXB 0x20

/* Command byte bits. */
#define CB_KBD_INT   0x01
#define CB_AUX_INT   0x02
#define CB_SYS       0x04
#define CB_KBD_OFF   0x10
#define CB_AUX_OFF   0x20
#define CB_TRANSLATE 0x40

/* Output port bits. */
#define OP_RESET 0x01 /* 0 asserts the CPU reset line */
#define OP_A20   0x02

struct I8042 {
    uint8_t cmd_byte;
    uint8_t outport;
    uint8_t port92;
    uint8_t out_byte;
    bool obf, out_is_aux;
    bool last_was_cmd;
    uint8_t ctrl_pending; /* controller command waiting for its data byte, or 0 */
    ByteQueue ctrl_q, kbd_q, aux_q;
    bool ctrl_q_is_aux;   /* 0xD3 output goes to the aux side */
    bool xlat_break;      /* translation saw F0 */
    /* keyboard device */
    uint8_t kbd_pending;  /* ED, F0, F3 waiting for a parameter */
    bool kbd_scanning;
    uint8_t kbd_set;
    uint8_t kbd_leds;
    /* mouse device */
    uint8_t aux_pending;  /* F3, E8 waiting for a parameter */
    bool aux_reporting, aux_remote, aux_scaling21;
    uint8_t aux_rate, aux_resolution, aux_id, aux_buttons;
    uint8_t rate_history[3];
    IrqLine kbd_irq, aux_irq;
    I8042Callbacks cb;
};

static void q_clear(ByteQueue *q) { q->head = q->count = 0; }
static bool q_push(ByteQueue *q, uint8_t b) {
    if (q->count >= QUEUE_SIZE) return false;
    q->data[(q->head + q->count++) % QUEUE_SIZE] = b;
    return true;
}
static uint8_t q_pop(ByteQueue *q) {
    uint8_t b = q->data[q->head];
    q->head = (q->head + 1) % QUEUE_SIZE;
    q->count--;
    return b;
}
static unsigned q_space(const ByteQueue *q) { return QUEUE_SIZE - q->count; }

/* Set 2 -> set 1 translation for make codes 0x00-0x7F (the 8042's fixed
 * table for keys that exist on a PC/AT keyboard); other values pass through,
 * except 0x83 (F7, the one set-2 code above 0x7F) -> 0x41. */
static const uint8_t set2_to_set1[128] = {
    [0x01] = 0x43, [0x03] = 0x3F, [0x04] = 0x3D, [0x05] = 0x3B, [0x06] = 0x3C, [0x07] = 0x58,
    [0x09] = 0x44, [0x0A] = 0x42, [0x0B] = 0x40, [0x0C] = 0x3E, [0x0D] = 0x0F, [0x0E] = 0x29,
    [0x11] = 0x38, [0x12] = 0x2A, [0x14] = 0x1D, [0x15] = 0x10, [0x16] = 0x02, [0x1A] = 0x2C,
    [0x1B] = 0x1F, [0x1C] = 0x1E, [0x1D] = 0x11, [0x1E] = 0x03, [0x21] = 0x2E, [0x22] = 0x2D,
    [0x23] = 0x20, [0x24] = 0x12, [0x25] = 0x05, [0x26] = 0x04, [0x29] = 0x39, [0x2A] = 0x2F,
    [0x2B] = 0x21, [0x2C] = 0x14, [0x2D] = 0x13, [0x2E] = 0x06, [0x31] = 0x31, [0x32] = 0x30,
    [0x33] = 0x23, [0x34] = 0x22, [0x35] = 0x15, [0x36] = 0x07, [0x3A] = 0x32, [0x3B] = 0x24,
    [0x3C] = 0x16, [0x3D] = 0x08, [0x3E] = 0x09, [0x41] = 0x33, [0x42] = 0x25, [0x43] = 0x17,
    [0x44] = 0x18, [0x45] = 0x0B, [0x46] = 0x0A, [0x49] = 0x34, [0x4A] = 0x35, [0x4B] = 0x26,
    [0x4C] = 0x27, [0x4D] = 0x19, [0x4E] = 0x0C, [0x52] = 0x28, [0x54] = 0x1A, [0x55] = 0x0D,
    [0x58] = 0x3A, [0x59] = 0x36, [0x5A] = 0x1C, [0x5B] = 0x1B, [0x5D] = 0x2B, [0x66] = 0x0E,
    [0x69] = 0x4F, [0x6B] = 0x4B, [0x6C] = 0x47, [0x70] = 0x52, [0x71] = 0x53, [0x72] = 0x50,
    [0x73] = 0x4C, [0x74] = 0x4D, [0x75] = 0x48, [0x76] = 0x01, [0x77] = 0x45, [0x78] = 0x57,
    [0x79] = 0x4E, [0x7A] = 0x51, [0x7B] = 0x4A, [0x7C] = 0x37, [0x7D] = 0x49, [0x7E] = 0x46,
};

static uint8_t translate(uint8_t b) {
    if (b == 0x83) return 0x41;
    if (b < 0x80 && set2_to_set1[b]) return set2_to_set1[b];
    return b;
}

static void update_irqs(I8042 *k) {
    irq_set(&k->kbd_irq, k->obf && !k->out_is_aux && (k->cmd_byte & CB_KBD_INT));
    irq_set(&k->aux_irq, k->obf && k->out_is_aux && (k->cmd_byte & CB_AUX_INT));
}

/* Move the next byte into the output buffer if it is empty. */
static void refill(I8042 *k) {
    while (!k->obf) {
        if (k->ctrl_q.count) {
            k->out_byte = q_pop(&k->ctrl_q);
            k->out_is_aux = k->ctrl_q_is_aux;
            k->obf = true;
        } else if (k->kbd_q.count && !(k->cmd_byte & CB_KBD_OFF)) {
            uint8_t b = q_pop(&k->kbd_q);
            if (k->cmd_byte & CB_TRANSLATE) {
                if (b == 0xF0) {
                    k->xlat_break = true;
                    continue;
                }
                b = (uint8_t)(translate(b) | (k->xlat_break ? 0x80 : 0));
                k->xlat_break = false;
            }
            k->out_byte = b;
            k->out_is_aux = false;
            k->obf = true;
        } else if (k->aux_q.count && !(k->cmd_byte & CB_AUX_OFF)) {
            k->out_byte = q_pop(&k->aux_q);
            k->out_is_aux = true;
            k->obf = true;
        } else {
            break;
        }
    }
    update_irqs(k);
}

static void ctrl_reply(I8042 *k, uint8_t b, bool aux) {
    k->ctrl_q_is_aux = aux;
    q_push(&k->ctrl_q, b);
}

static void update_a20(I8042 *k) {
    if (k->cb.set_a20) k->cb.set_a20(k->cb.opaque, (k->outport & OP_A20) || (k->port92 & 0x02));
}

static void pulse_reset(I8042 *k) {
    if (k->cb.reset) k->cb.reset(k->cb.opaque);
}

/* ---- keyboard device ---- */

static void kbd_defaults(I8042 *k) {
    k->kbd_set = 2;
    k->kbd_scanning = true;
}

static void kbd_command(I8042 *k, uint8_t b) {
    ByteQueue *q = &k->kbd_q;
    if (k->kbd_pending) {
        uint8_t cmd = k->kbd_pending;
        k->kbd_pending = 0;
        q_push(q, 0xFA);
        if (cmd == 0xED) k->kbd_leds = b & 7;
        if (cmd == 0xF0) {
            if (b == 0) q_push(q, k->kbd_set);
            else if (b <= 3) k->kbd_set = 2; /* only set 2 is produced; see i8042.h */
        }
        return;
    }
    switch (b) {
    case 0xFF:
        q_clear(q);
        kbd_defaults(k);
        q_push(q, 0xFA);
        q_push(q, 0xAA);
        break;
    case 0xF2: q_push(q, 0xFA); q_push(q, 0xAB); q_push(q, 0x83); break;
    case 0xED:
    case 0xF0:
    case 0xF3: k->kbd_pending = b; q_push(q, 0xFA); break;
    case 0xF4: k->kbd_scanning = true; q_push(q, 0xFA); break;
    case 0xF5: kbd_defaults(k); k->kbd_scanning = false; q_push(q, 0xFA); break;
    case 0xF6: kbd_defaults(k); q_push(q, 0xFA); break;
    case 0xEE: q_push(q, 0xEE); break;
    case 0xFE: q_push(q, 0xFA); break;
    default: q_push(q, 0xFE); break; /* unknown: resend */
    }
}

void i8042_key_event(I8042 *k, const uint8_t *code, int len, bool pressed) {
    if (!k->kbd_scanning || len <= 0) return;
    if (q_space(&k->kbd_q) < (unsigned)len + 1) return; /* queue full: drop the event */
    for (int i = 0; i < len - 1; i++) q_push(&k->kbd_q, code[i]);
    if (!pressed) q_push(&k->kbd_q, 0xF0);
    q_push(&k->kbd_q, code[len - 1]);
    refill(k);
}

typedef struct KeyName {
    const char *name;
    uint8_t code[2];
    uint8_t len;
} KeyName;

static const KeyName key_names[] = {
    {"a", {0x1C}, 1}, {"b", {0x32}, 1}, {"c", {0x21}, 1}, {"d", {0x23}, 1}, {"e", {0x24}, 1},
    {"f", {0x2B}, 1}, {"g", {0x34}, 1}, {"h", {0x33}, 1}, {"i", {0x43}, 1}, {"j", {0x3B}, 1},
    {"k", {0x42}, 1}, {"l", {0x4B}, 1}, {"m", {0x3A}, 1}, {"n", {0x31}, 1}, {"o", {0x44}, 1},
    {"p", {0x4D}, 1}, {"q", {0x15}, 1}, {"r", {0x2D}, 1}, {"s", {0x1B}, 1}, {"t", {0x2C}, 1},
    {"u", {0x3C}, 1}, {"v", {0x2A}, 1}, {"w", {0x1D}, 1}, {"x", {0x22}, 1}, {"y", {0x35}, 1},
    {"z", {0x1A}, 1}, {"1", {0x16}, 1}, {"2", {0x1E}, 1}, {"3", {0x26}, 1}, {"4", {0x25}, 1},
    {"5", {0x2E}, 1}, {"6", {0x36}, 1}, {"7", {0x3D}, 1}, {"8", {0x3E}, 1}, {"9", {0x46}, 1},
    {"0", {0x45}, 1}, {"ret", {0x5A}, 1}, {"spc", {0x29}, 1}, {"esc", {0x76}, 1},
    {"tab", {0x0D}, 1}, {"backspace", {0x66}, 1}, {"shift", {0x12}, 1}, {"shift_r", {0x59}, 1},
    {"ctrl", {0x14}, 1}, {"ctrl_r", {0xE0, 0x14}, 2}, {"alt", {0x11}, 1},
    {"alt_r", {0xE0, 0x11}, 2}, {"minus", {0x4E}, 1}, {"equal", {0x55}, 1}, {"dot", {0x49}, 1},
    {"comma", {0x41}, 1}, {"slash", {0x4A}, 1}, {"semicolon", {0x4C}, 1},
    {"apostrophe", {0x52}, 1}, {"grave_accent", {0x0E}, 1}, {"backslash", {0x5D}, 1},
    {"bracket_left", {0x54}, 1}, {"bracket_right", {0x5B}, 1}, {"caps_lock", {0x58}, 1},
    {"f1", {0x05}, 1}, {"f2", {0x06}, 1}, {"f3", {0x04}, 1}, {"f4", {0x0C}, 1},
    {"f5", {0x03}, 1}, {"f6", {0x0B}, 1}, {"f7", {0x83}, 1}, {"f8", {0x0A}, 1},
    {"f9", {0x01}, 1}, {"f10", {0x09}, 1}, {"f11", {0x78}, 1}, {"f12", {0x07}, 1},
    {"up", {0xE0, 0x75}, 2}, {"down", {0xE0, 0x72}, 2}, {"left", {0xE0, 0x6B}, 2},
    {"right", {0xE0, 0x74}, 2}, {"home", {0xE0, 0x6C}, 2}, {"end", {0xE0, 0x69}, 2},
    {"pgup", {0xE0, 0x7D}, 2}, {"pgdn", {0xE0, 0x7A}, 2}, {"insert", {0xE0, 0x70}, 2},
    {"delete", {0xE0, 0x71}, 2},
};

int i8042_key_code(const char *name, uint8_t code[2]) {
    for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++) {
        if (strcmp(key_names[i].name, name) == 0) {
            memcpy(code, key_names[i].code, key_names[i].len);
            return key_names[i].len;
        }
    }
    return 0;
}

/* ---- mouse device ---- */

static void aux_defaults(I8042 *k) {
    k->aux_reporting = false;
    k->aux_remote = false;
    k->aux_scaling21 = false;
    k->aux_rate = 100;
    k->aux_resolution = 2;
}

static bool aux_packet(I8042 *k, int dx, int dy, int dz, bool force) {
    unsigned len = k->aux_id == 3 ? 4 : 3;
    if (q_space(&k->aux_q) < len + (force ? 1 : 0)) return false;
    uint8_t b0 = 0x08 | (k->aux_buttons & 7);
    if (dx < -256 || dx > 255) { b0 |= 0x40; dx = dx < 0 ? -256 : 255; }
    if (dy < -256 || dy > 255) { b0 |= 0x80; dy = dy < 0 ? -256 : 255; }
    if (dx < 0) b0 |= 0x10;
    if (dy < 0) b0 |= 0x20;
    if (force) q_push(&k->aux_q, 0xFA);
    q_push(&k->aux_q, b0);
    q_push(&k->aux_q, (uint8_t)dx);
    q_push(&k->aux_q, (uint8_t)dy);
    if (len == 4) {
        if (dz < -8) dz = -8;
        if (dz > 7) dz = 7;
        q_push(&k->aux_q, (uint8_t)(dz & 0x0F));
    }
    return true;
}

static void aux_command(I8042 *k, uint8_t b) {
    ByteQueue *q = &k->aux_q;
    if (k->aux_pending) {
        uint8_t cmd = k->aux_pending;
        k->aux_pending = 0;
        if (cmd == 0xF3) {
            k->aux_rate = b;
            k->rate_history[0] = k->rate_history[1];
            k->rate_history[1] = k->rate_history[2];
            k->rate_history[2] = b;
            if (k->rate_history[0] == 200 && k->rate_history[1] == 100 && k->rate_history[2] == 80)
                k->aux_id = 3; /* IntelliMouse: wheel packets */
        } else {
            k->aux_resolution = b & 3;
        }
        q_push(q, 0xFA);
        return;
    }
    switch (b) {
    case 0xFF:
        q_clear(q);
        aux_defaults(k);
        k->aux_id = 0;
        q_push(q, 0xFA);
        q_push(q, 0xAA);
        q_push(q, 0x00);
        break;
    case 0xF2: q_push(q, 0xFA); q_push(q, k->aux_id); break;
    case 0xF3:
    case 0xE8: k->aux_pending = b; q_push(q, 0xFA); break;
    case 0xF4: k->aux_reporting = true; q_push(q, 0xFA); break;
    case 0xF5: k->aux_reporting = false; q_push(q, 0xFA); break;
    case 0xF6: aux_defaults(k); q_push(q, 0xFA); break;
    case 0xE6: k->aux_scaling21 = false; q_push(q, 0xFA); break;
    case 0xE7: k->aux_scaling21 = true; q_push(q, 0xFA); break;
    case 0xEA: k->aux_remote = false; q_push(q, 0xFA); break;
    case 0xF0: k->aux_remote = true; q_push(q, 0xFA); break;
    case 0xE9: {
        /* Status: bit 6 remote, 5 enabled, 4 scaling 2:1, 2 left, 1 middle, 0 right. */
        uint8_t btn = k->aux_buttons;
        uint8_t st = (uint8_t)((k->aux_remote ? 0x40 : 0) | (k->aux_reporting ? 0x20 : 0) |
                               (k->aux_scaling21 ? 0x10 : 0) | ((btn & 1) ? 0x04 : 0) |
                               ((btn & 4) ? 0x02 : 0) | ((btn & 2) ? 0x01 : 0));
        q_push(q, 0xFA);
        q_push(q, st);
        q_push(q, k->aux_resolution);
        q_push(q, k->aux_rate);
        break;
    }
    case 0xEB: aux_packet(k, 0, 0, 0, true); break;
    default: q_push(q, 0xFE); break;
    }
}

void i8042_mouse_event(I8042 *k, int dx, int dy, int dz, unsigned buttons) {
    k->aux_buttons = buttons & 7;
    if (!k->aux_reporting || k->aux_remote) return;
    if (aux_packet(k, dx, dy, dz, false)) refill(k);
}

/* ---- ports ---- */

static void controller_command(I8042 *k, uint8_t c) {
    if (c >= 0x20 && c <= 0x3F) {
        ctrl_reply(k, c == 0x20 ? k->cmd_byte : 0, false); /* read controller RAM */
        return;
    }
    if ((c >= 0x60 && c <= 0x7F) || c == 0xD1 || c == 0xD2 || c == 0xD3 || c == 0xD4) {
        k->ctrl_pending = c;
        return;
    }
    switch (c) {
    case 0xA7: k->cmd_byte |= CB_AUX_OFF; break;
    case 0xA8: k->cmd_byte &= (uint8_t)~CB_AUX_OFF; break;
    case 0xA9: ctrl_reply(k, 0x00, false); break;
    case 0xAA: k->cmd_byte |= CB_SYS; ctrl_reply(k, 0x55, false); break;
    case 0xAB: ctrl_reply(k, 0x00, false); break;
    case 0xAD: k->cmd_byte |= CB_KBD_OFF; break;
    case 0xAE: k->cmd_byte &= (uint8_t)~CB_KBD_OFF; break;
    case 0xC0: ctrl_reply(k, 0xBF, false); break; /* input port: keyboard not inhibited */
    case 0xD0: ctrl_reply(k, k->outport, false); break;
    case 0xDD: k->outport &= (uint8_t)~OP_A20; update_a20(k); break;
    case 0xDF: k->outport |= OP_A20; update_a20(k); break;
    case 0xE0: ctrl_reply(k, 0x00, false); break;
    default:
        if (c >= 0xF0 && !(c & 1)) pulse_reset(k); /* pulse output line 0: reset */
        break;
    }
}

static void data_write(I8042 *k, uint8_t v) {
    uint8_t pending = k->ctrl_pending;
    k->ctrl_pending = 0;
    switch (pending) {
    case 0: kbd_command(k, v); break;
    case 0xD1: {
        bool reset = !(v & OP_RESET);
        k->outport = v | OP_RESET;
        update_a20(k);
        if (reset) pulse_reset(k);
        break;
    }
    case 0xD2: ctrl_reply(k, v, false); break;
    case 0xD3: ctrl_reply(k, v, true); break;
    case 0xD4: aux_command(k, v); break;
    default:
        if (pending == 0x60) k->cmd_byte = v;
        break; /* other controller RAM bytes are not kept */
    }
}

uint32_t i8042_port_read(void *opaque, uint16_t port, unsigned size) {
    I8042 *k = opaque;
    (void)size;
    if (port == 0x92) return k->port92 & 0x02;
    if (port == 0x64) {
        return (k->obf ? ST_OBF : 0) | ((k->cmd_byte & CB_SYS) ? ST_SYS : 0) |
               (k->last_was_cmd ? ST_CMD : 0) | ST_INH | ((k->obf && k->out_is_aux) ? ST_AUXB : 0);
    }
    uint8_t v = k->out_byte; /* reading with OBF clear returns the last byte again */
    k->obf = false;
    update_irqs(k); /* the line drops, so the next byte makes a new edge */
    refill(k);
    return v;
}

void i8042_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    I8042 *k = opaque;
    (void)size;
    uint8_t v = (uint8_t)val;
    if (port == 0x92) {
        k->port92 = v & 0x02;
        update_a20(k);
        if (v & 0x01) pulse_reset(k);
        return;
    }
    if (port == 0x64) {
        k->last_was_cmd = true;
        controller_command(k, v);
    } else {
        k->last_was_cmd = false;
        data_write(k, v);
    }
    refill(k);
}

/* Everything but the wiring to its power-on state. */
static void power_on_state(I8042 *k) {
    IrqLine kbd_irq = k->kbd_irq, aux_irq = k->aux_irq;
    I8042Callbacks cb = k->cb;
    memset(k, 0, sizeof *k);
    k->kbd_irq = kbd_irq;
    k->aux_irq = aux_irq;
    k->cb = cb;
    k->cmd_byte = CB_KBD_INT | CB_TRANSLATE;
    k->outport = OP_RESET | OP_A20;
    kbd_defaults(k);
    aux_defaults(k);
}

I8042 *i8042_new(IrqLine kbd_irq, IrqLine aux_irq, const I8042Callbacks *cb) {
    I8042 *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    k->kbd_irq = kbd_irq;
    k->aux_irq = aux_irq;
    if (cb) k->cb = *cb;
    power_on_state(k);
    return k;
}

void i8042_reset(I8042 *k) {
    power_on_state(k);
    update_irqs(k);
    update_a20(k);
}

void i8042_free(I8042 *k) {
    free(k);
}

int i8042_register(I8042 *k, IoBus *bus) {
    if (iobus_register(bus, 0x60, 1, i8042_port_read, i8042_port_write, k) < 0) return -1;
    if (iobus_register(bus, 0x64, 1, i8042_port_read, i8042_port_write, k) < 0) return -1;
    return iobus_register(bus, 0x92, 1, i8042_port_read, i8042_port_write, k);
}

/* ---------------- snapshots ---------------- */

static void queue_save(const ByteQueue *q, SnapWriter *w) {
    snap_put_bytes(w, q->data, sizeof q->data);
    snap_put_u8(w, (uint8_t)q->head);
    snap_put_u8(w, (uint8_t)q->count);
}

static void queue_parse(SnapReader *r, ByteQueue *q) {
    snap_get_bytes(r, q->data, sizeof q->data);
    q->head = snap_get_u8(r);
    q->count = snap_get_u8(r);
    snap_check(r, q->head < QUEUE_SIZE && q->count <= QUEUE_SIZE, "queue out of range");
}

void i8042_save(const I8042 *k, SnapWriter *w) {
    const uint8_t bytes[] = {
        k->cmd_byte,     k->outport,         k->port92,          k->out_byte,
        k->ctrl_pending, k->kbd_pending,     k->kbd_set,         k->kbd_leds,
        k->aux_pending,  k->aux_rate,        k->aux_resolution,  k->aux_id,
        k->aux_buttons,  k->rate_history[0], k->rate_history[1], k->rate_history[2]};
    snap_put_bytes(w, bytes, sizeof bytes);
    const bool flags[] = {k->obf,           k->out_is_aux, k->last_was_cmd,
                          k->ctrl_q_is_aux, k->xlat_break, k->kbd_scanning,
                          k->aux_reporting, k->aux_remote, k->aux_scaling21};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        snap_put_bool(w, flags[i]);
    queue_save(&k->ctrl_q, w);
    queue_save(&k->kbd_q, w);
    queue_save(&k->aux_q, w);
}

bool i8042_load(I8042 *k, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    I8042 t = *k; /* keeps the wiring (IRQ lines, callbacks) */
    t.cmd_byte = snap_get_u8(r);
    t.outport = snap_get_u8(r);
    t.port92 = snap_get_u8(r);
    t.out_byte = snap_get_u8(r);
    t.ctrl_pending = snap_get_u8(r);
    t.kbd_pending = snap_get_u8(r);
    t.kbd_set = snap_get_u8(r);
    t.kbd_leds = snap_get_u8(r);
    t.aux_pending = snap_get_u8(r);
    t.aux_rate = snap_get_u8(r);
    t.aux_resolution = snap_get_u8(r);
    t.aux_id = snap_get_u8(r);
    t.aux_buttons = snap_get_u8(r);
    for (int i = 0; i < 3; i++)
        t.rate_history[i] = snap_get_u8(r);
    t.obf = snap_get_bool(r);
    t.out_is_aux = snap_get_bool(r);
    t.last_was_cmd = snap_get_bool(r);
    t.ctrl_q_is_aux = snap_get_bool(r);
    t.xlat_break = snap_get_bool(r);
    t.kbd_scanning = snap_get_bool(r);
    t.aux_reporting = snap_get_bool(r);
    t.aux_remote = snap_get_bool(r);
    t.aux_scaling21 = snap_get_bool(r);
    queue_parse(r, &t.ctrl_q);
    queue_parse(r, &t.kbd_q);
    queue_parse(r, &t.aux_q);
    if (!snap_finish(r)) return false;
    if (r->apply) *k = t;
    return true;
}
