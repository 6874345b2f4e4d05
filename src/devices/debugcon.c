/*
 * debugcon.c - firmware debug console on ports 0x402 and 0xE9 (see debugcon.h).
 */
#include "devices/debugcon.h"

#include <stdlib.h>

#include "snap/snap.h"

struct Debugcon {
    FILE *out;
};

static uint32_t debugcon_read(void *opaque, uint16_t port, unsigned size) {
    (void)opaque;
    (void)port;
    (void)size;
    return 0xE9;
}

static void debugcon_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    Debugcon *d = opaque;
    (void)port;
    (void)size;
    if (d->out) {
        fputc((int)(val & 0xFF), d->out);
        if ((val & 0xFF) == '\n') fflush(d->out);
    }
}

Debugcon *debugcon_new(FILE *out) {
    Debugcon *d = calloc(1, sizeof *d);
    if (d) d->out = out;
    return d;
}

void debugcon_free(Debugcon *d) { free(d); }

int debugcon_register(Debugcon *d, IoBus *bus) {
    if (iobus_register(bus, 0x402, 1, debugcon_read, debugcon_write, d) < 0) return -1;
    return iobus_register(bus, 0xE9, 1, debugcon_read, debugcon_write, d);
}

/* ---------------- snapshots ---------------- */

void debugcon_save(const Debugcon *d, SnapWriter *w) {
    (void)d;
    (void)w;
}

bool debugcon_load(Debugcon *d, SnapReader *r) {
    (void)d;
    return snap_version(r, 1) && snap_finish(r);
}
