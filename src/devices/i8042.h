/*
 * i8042.h - the 8042 keyboard controller (ports 0x60 data, 0x64
 * status/command) with a PS/2 keyboard (IRQ 1) and a PS/2 mouse (IRQ 12),
 * plus system control port A (0x92: A20 gate and fast reset).
 *
 * Implemented: status register, command byte (interrupt enables, system
 * flag, disable bits, set 2 -> set 1 translation), the controller commands
 * BIOSes and Linux use (self tests, enable/disable interfaces, read/write
 * output port with the A20 and reset lines, write to the keyboard/aux
 * output buffers, send to aux, A20 on/off, pulse reset), keyboard commands
 * (reset, identify, scancode set, LEDs, typematic, enable/disable,
 * defaults, echo) and mouse commands (reset, identify with the IntelliMouse
 * wheel extension, sample rate, resolution, scaling, status, stream/remote
 * modes, data reporting). Keyboard and mouse each have a bounded queue;
 * when one is full, new input events are dropped (never guest writes).
 * Not implemented: scancode sets 1 and 3 on the keyboard side (it always
 * produces set 2; the controller translates to set 1), typematic repeat.
 *
 * Use:
 *     I8042 *k = i8042_new(pic_irq_line(pic, 1), pic_irq_line(pic, 12), &cb);
 *     i8042_register(k, bus);
 *     uint8_t code[4]; int n = i8042_key_code("a", code);   // set-2 make code
 *     i8042_key_event(k, code, n, true);                    // press
 *     i8042_mouse_event(k, 5, -3, 0, 1);                    // move, left button
 */
#ifndef BT86_I8042_H
#define BT86_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/irq.h"

typedef struct I8042 I8042;

typedef struct I8042Callbacks {
    void (*reset)(void *opaque);               /* CPU reset line pulsed */
    void (*set_a20)(void *opaque, bool enabled); /* A20 gate changed */
    void *opaque;
} I8042Callbacks;

I8042 *i8042_new(IrqLine kbd_irq, IrqLine aux_irq, const I8042Callbacks *cb);
/* RESET: controller, keyboard and mouse as at power-on (A20 enabled,
 * queued bytes dropped). */
void i8042_reset(I8042 *k);
void i8042_free(I8042 *k);
/* Claim ports 0x60, 0x64 and 0x92. */
int i8042_register(I8042 *k, IoBus *bus);

/* Keyboard input: a set-2 make code sequence (optionally E0-prefixed);
 * press sends it, release sends the break code (F0 before the last byte). */
void i8042_key_event(I8042 *k, const uint8_t *code, int len, bool pressed);
/* Set-2 make code for a QEMU-style key name ("a", "1", "ret", "spc", "esc",
 * "tab", "backspace", "shift", "ctrl", "alt", "f1".."f12", "up", "delete",
 * ...). Returns its length (1 or 2), or 0 if the name is unknown. */
int i8042_key_code(const char *name, uint8_t code[2]);
/* Mouse input: relative motion (dy positive = up), wheel, buttons bit 0 left, 1 right, 2 middle. */
void i8042_mouse_event(I8042 *k, int dx, int dy, int dz, unsigned buttons);

uint32_t i8042_port_read(void *opaque, uint16_t port, unsigned size);
void i8042_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);

/* Snapshot section (snap/snap.h): controller, keyboard and mouse state with
 * their queues, and port 0x92. i8042_load validates, and commits only with
 * r->apply (the A20 gate itself is in the RAM section). */
struct SnapWriter;
struct SnapReader;
void i8042_save(const I8042 *k, struct SnapWriter *w);
bool i8042_load(I8042 *k, struct SnapReader *r);

#endif
