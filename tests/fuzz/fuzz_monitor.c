/*
 * fuzz_monitor.c - libFuzzer target: monitor command lines
 * (frontend/monitor.h) typed at a whole PC without firmware
 * (tests/fuzz/fuzz_machine.h): info, x and xp with any format and address,
 * sendkey, system_reset, system_powerdown, quit, and garbage.
 *
 * The input is what is typed, fed in pieces (a line may come in several
 * reads). screendump is left out (it writes the file the line names; the
 * PNG writer has its own unit test): the word is made unknown in the
 * input. A host crash or sanitizer report is a bug.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/monitor.h"
#include "fuzz_machine.h"

static void powerdown(void *opaque) {
    pc_power_button(opaque);
}

/* Make every "screendump" in the typed text unknown to the monitor. */
static void hide_screendump(uint8_t *text, size_t len) {
    static const char word[] = "screendump";
    const size_t wlen = sizeof word - 1;
    for (size_t i = 0; i + wlen <= len; i++)
        if (memcmp(text + i, word, wlen) == 0) text[i] = 'S';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static FILE *sink;
    if (!sink) sink = fopen("/dev/null", "w");
    if (!sink) abort();
    uint8_t *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    hide_screendump(text, size);
    Pc *pc = fuzz_pc_new();
    MonitorHooks hooks = {.powerdown = powerdown, .opaque = pc};
    Monitor *m = monitor_new(pc, sink, &hooks);
    for (size_t at = 0; at < size;) {
        size_t piece = 1 + text[at] % 64;
        if (piece > size - at) piece = size - at;
        if (monitor_input(m, text + at, piece) == MONITOR_QUIT) break;
        at += piece;
    }
    monitor_free(m);
    pc_free(pc);
    free(text);
    return 0;
}
