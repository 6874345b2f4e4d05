/*
 * monitor.h - a QEMU-style human monitor: line commands that inspect and
 * control the running PC. Runs in the main loop between CPU slices (no
 * threads): the front end feeds it the bytes it reads (from stdin with
 * -monitor stdio, or after Ctrl-A c on -nographic) and acts on the result.
 *
 * Commands: help, info registers, x/FMT ADDR (linear, through the guest's
 * page tables), xp/FMT ADDR (physical), with FMT = [count][x|d|u|o|c|i][b|h|w|g]
 * as in QEMU; screendump FILE (PNG of what the display shows), sendkey
 * KEYS (e.g. ctrl-alt-delete, a, ret), system_reset, system_powerdown
 * (through a hook the machine supplies), savevm FILE and loadvm FILE (the
 * whole machine, devices/pc.h), quit.
 *
 * Use:
 *     Monitor *m = monitor_new(pc, stdout, &hooks);
 *     monitor_prompt(m);
 *     MonitorAction a = monitor_input(m, buf, n);   // bytes typed
 *     if (a == MONITOR_QUIT) ...
 */
#ifndef BT86_MONITOR_H
#define BT86_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/pc.h"
#include "frontend/symbols.h"

typedef enum MonitorAction { MONITOR_CONTINUE, MONITOR_QUIT } MonitorAction;

typedef struct MonitorHooks {
    /* system_powerdown: ask the guest to power off (ACPI power button).
     * NULL: the command reports that the machine cannot do it. */
    void (*powerdown)(void *opaque);
    /* sendkey's key presses and releases, and system_reset: when set, they
     * go through these (record/replay logs them) instead of straight to
     * the keyboard controller and the CPU. */
    void (*key_event)(void *opaque, const uint8_t *code, int len, bool pressed);
    void (*reset)(void *opaque);
    void *opaque;
    /* Not a hook: guest symbols (-symbols) that `info registers` and `x`
     * show next to code and data addresses; NULL: none. */
    const SymTab *symbols;
} MonitorHooks;

typedef struct Monitor Monitor;

Monitor *monitor_new(Pc *pc, FILE *out, const MonitorHooks *hooks);
void monitor_free(Monitor *m);
void monitor_prompt(Monitor *m);
/* Echo typed characters (for a terminal in raw mode, where nothing else does). */
void monitor_set_echo(Monitor *m, bool echo);
/* Feed typed bytes; complete lines run as commands (each followed by a new prompt). */
MonitorAction monitor_input(Monitor *m, const uint8_t *buf, size_t len);
/* Run one command line. */
MonitorAction monitor_command(Monitor *m, const char *line);

#endif
