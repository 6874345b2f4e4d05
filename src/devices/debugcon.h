/*
 * debugcon.h - the firmware debug console: bytes written to I/O port 0x402
 * (QEMU's debugcon, where Debian's SeaBIOS prints its log) or 0xE9 (Bochs'
 * port) go to a FILE*; reads return 0xE9, which is how firmware detects it.
 *
 * Use:
 *     Debugcon *d = debugcon_new(stderr);
 *     debugcon_register(d, bus);
 */
#ifndef BT86_DEBUGCON_H
#define BT86_DEBUGCON_H

#include <stdbool.h>
#include <stdio.h>

#include "devices/bus.h"

typedef struct Debugcon Debugcon;

Debugcon *debugcon_new(FILE *out);
void debugcon_free(Debugcon *d);
int debugcon_register(Debugcon *d, IoBus *bus);

/* Snapshot section (snap/snap.h): the debug console has no state; its
 * section is empty, kept so that state can be added under a new version. */
struct SnapWriter;
struct SnapReader;
void debugcon_save(const Debugcon *d, struct SnapWriter *w);
bool debugcon_load(Debugcon *d, struct SnapReader *r);

#endif
