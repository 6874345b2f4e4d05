/*
 * bus.h - the I/O port bus every device registers on.
 *
 * A device claims a range of ports with read/write callbacks and an opaque
 * pointer (its own state). Lookup is a 64 Ki-entry table indexed by port, so
 * an access costs one load, never a scan. Ports nobody claims read as all
 * ones and ignore writes. The CPU's IN/OUT/INS/OUTS reach devices only
 * through iobus_read/iobus_write, after its own IOPL and I/O-bitmap checks.
 *
 * Use:
 *     IoBus *bus = iobus_new();
 *     iobus_register(bus, 0x3F8, 8, uart_read, uart_write, uart);
 *     uint32_t v = iobus_read(bus, 0x3FD, 1);
 *
 * A callback gets the absolute port and the access size (1, 2 or 4 bytes).
 */
#ifndef BT86_BUS_H
#define BT86_BUS_H

#include <stdint.h>

typedef uint32_t (*IoReadFn)(void *opaque, uint16_t port, unsigned size);
typedef void (*IoWriteFn)(void *opaque, uint16_t port, unsigned size, uint32_t val);

typedef struct IoBus IoBus;

IoBus *iobus_new(void);
void iobus_free(IoBus *bus);
/* Claim ports [base, base + count). Returns 0, or -1 if any port is taken or the range wraps. */
int iobus_register(IoBus *bus, uint16_t base, uint32_t count, IoReadFn rd, IoWriteFn wr,
                   void *opaque);
/* Release the ports of [base, base + count) that `opaque`'s ranges hold (for
 * a block a chip moves, e.g. a PCI function's I/O base): they become
 * unclaimed. Registering again with the same callbacks reuses the slot. */
void iobus_unregister(IoBus *bus, uint16_t base, uint32_t count, void *opaque);
/* Called around every access (before: e.g. bring the virtual clock up to the
 * current instruction; after: e.g. notice a timer a write has moved earlier). */
typedef void (*IoHookFn)(void *opaque);
void iobus_set_hooks(IoBus *bus, IoHookFn before, IoHookFn after, void *opaque);
uint32_t iobus_read(IoBus *bus, uint16_t port, unsigned size);
void iobus_write(IoBus *bus, uint16_t port, unsigned size, uint32_t val);

#endif
