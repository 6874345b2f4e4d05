/*
 * bus.c - the I/O port bus (see bus.h): a 64 Ki-entry table maps each port
 * to the index of the range that claimed it (0 = nobody), so dispatch is
 * one table load.
 */
#include "devices/bus.h"

#include <stdlib.h>

#define IOBUS_MAX_RANGES 255

typedef struct IoRange {
    IoReadFn read;
    IoWriteFn write;
    void *opaque;
} IoRange;

struct IoBus {
    uint8_t owner[65536]; /* 0: unclaimed; n: ranges[n - 1] */
    IoRange ranges[IOBUS_MAX_RANGES];
    unsigned nranges;
    IoHookFn before, after;
    void *hook_opaque;
};

IoBus *iobus_new(void) { return calloc(1, sizeof(IoBus)); }

void iobus_free(IoBus *bus) { free(bus); }

int iobus_register(IoBus *bus, uint16_t base, uint32_t count, IoReadFn rd, IoWriteFn wr,
                   void *opaque) {
    if (count == 0 || (uint32_t)base + count > 65536) return -1;
    for (uint32_t p = base; p < (uint32_t)base + count; p++)
        if (bus->owner[p]) return -1;
    unsigned slot = 0; /* 1-based index of a range with the same callbacks, to reuse */
    for (unsigned i = 0; i < bus->nranges && !slot; i++)
        if (bus->ranges[i].read == rd && bus->ranges[i].write == wr && bus->ranges[i].opaque == opaque)
            slot = i + 1;
    if (!slot) {
        if (bus->nranges >= IOBUS_MAX_RANGES) return -1;
        bus->ranges[bus->nranges] = (IoRange){rd, wr, opaque};
        slot = ++bus->nranges;
    }
    for (uint32_t p = base; p < (uint32_t)base + count; p++) bus->owner[p] = (uint8_t)slot;
    return 0;
}

void iobus_unregister(IoBus *bus, uint16_t base, uint32_t count, void *opaque) {
    for (uint32_t p = base; p < (uint32_t)base + count && p < 65536; p++) {
        uint8_t o = bus->owner[p];
        if (o && bus->ranges[o - 1].opaque == opaque) bus->owner[p] = 0;
    }
}

void iobus_set_hooks(IoBus *bus, IoHookFn before, IoHookFn after, void *opaque) {
    bus->before = before;
    bus->after = after;
    bus->hook_opaque = opaque;
}

uint32_t iobus_read(IoBus *bus, uint16_t port, unsigned size) {
    uint8_t o = bus->owner[port];
    uint32_t v = size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
    if (!o || !bus->ranges[o - 1].read) return v;
    if (bus->before) bus->before(bus->hook_opaque);
    v = bus->ranges[o - 1].read(bus->ranges[o - 1].opaque, port, size);
    if (bus->after) bus->after(bus->hook_opaque);
    return v;
}

void iobus_write(IoBus *bus, uint16_t port, unsigned size, uint32_t val) {
    uint8_t o = bus->owner[port];
    if (!o || !bus->ranges[o - 1].write) return;
    if (bus->before) bus->before(bus->hook_opaque);
    bus->ranges[o - 1].write(bus->ranges[o - 1].opaque, port, size, val);
    if (bus->after) bus->after(bus->hook_opaque);
}
