/*
 * fuzz_device.c - libFuzzer targets for the PC's chips through the bus
 * API: one source, built once per device (FUZZ_DEVICE names it: pic, pit,
 * cmos, i8042, uart, ide, vga, pci, fwcfg, acpi, e1000, virtio, and the
 * memory-mapped apic, ioapic, hpet), so each device has its own target,
 * corpus and figures. For the e1000 the machine has
 * the network card on a loopback cable (every frame it sends comes back
 * to its receive ring), and its ports are the I/O window at 0xC000 once
 * the input has programmed BAR1 there (the seeds do, and BAR0 at
 * 0xFEBC0000 for the registers reached with operations 4 and 5).
 *
 * Each input is a program for a fresh whole PC (tests/fuzz/fuzz_machine.h)
 * whose CPU never runs: a sequence of operations, each an opcode byte
 * (low 3 bits the kind) and its operands:
 *   0 read a port of the device (index byte into its ports; bits 3-4 the
 *     size 1/2/4, bits 5-7 repeat 1-128 times, as REP INS does)
 *   1 write a port of the device (index, 32-bit value, same bits)
 *   2 read any port (16-bit port, bits 3-4 the size)
 *   3 write any port (16-bit port, 32-bit value)
 *   4 read physical memory or MMIO (32-bit address; bit 3: in the
 *     device's MMIO window instead (the VGA window 0xA0000-0xBFFFF for
 *     devices without one); bits 4-5 the size)
 *   5 write physical memory or MMIO (same, and a 32-bit value)
 *   6 let virtual time pass (16-bit count shifted left by bits 3-7), timers fire;
 *     opcode 0xFE instead pulls the machine's reset line
 *   opcode 0xFD: the CPU's interrupt acknowledge (INTA) if an interrupt is pending
 *   7 copy up to 255 bytes of the input into RAM (32-bit address modulo the
 *     RAM size, length byte): what DMA descriptors and transfers read
 * The ports of the device come first in its list; the devices configured
 * through PCI (IDE, VGA, ACPI) also list 0xCF8-0xCFF. For IDE the 16
 * bus-master ports follow (indexes 26-41): the target maps BAR4 at
 * FUZZ_IDE_BM with I/O and bus mastering on before the input runs (the
 * input may move or unmap it through 0xCF8-0xCFF), so PRD tables written
 * by operation 7 and time passing with operation 6 drive the DMA engine.
 * The memory-mapped ones list the ports of the chips they work with
 * (8259, PIIX3 routing through PCI, PIT and RTC).
 * A host crash, a sanitizer report or a timeout is a bug.
 */
#include <stdlib.h>
#include <string.h>

#include "devices/clock.h"
#include "fuzz_input.h"
#include "fuzz_machine.h"
#include "mmu/mmu.h"

#ifndef FUZZ_DEVICE
#error "FUZZ_DEVICE must name the device (pic, pit, cmos, ...)"
#endif

typedef struct PortRange {
    uint16_t base, count;
} PortRange;

typedef struct DeviceSpec {
    const char *name;
    PortRange ports[6];
} DeviceSpec;

#define PCI_CONFIG                                                                                 \
    { 0xCF8, 8 }

#define FUZZ_IDE_BM 0xC000

/* The virtio devices' I/O BARs, where the target maps them: blk 00:05.0
 * at +0 (64 ports), net 00:04.0 at +64, console 00:07.0 at +96, rng
 * 00:08.0 at +128 (32 each). */
#define FUZZ_VIRTIO_IO 0xC100

static void virtio_setup(Pc *pc) {
    static const struct {
        int slot;
        uint16_t at;
    } bars[] = {{5, 0}, {4, 64}, {7, 96}, {8, 128}};
    IoBus *io = pc_iobus(pc);
    for (size_t i = 0; i < sizeof bars / sizeof bars[0]; i++) {
        uint32_t dev = 0x80000000u | (uint32_t)bars[i].slot << 11;
        iobus_write(io, 0xCF8, 4, dev | 0x10);
        iobus_write(io, 0xCFC, 4, FUZZ_VIRTIO_IO + bars[i].at);
        iobus_write(io, 0xCF8, 4, dev | 0x04);
        iobus_write(io, 0xCFC, 2, 0x0001); /* I/O space */
    }
}

/* The IDE function's bus-master block where the BIOS would put it. */
static void ide_setup(Pc *pc) {
    IoBus *io = pc_iobus(pc);
    iobus_write(io, 0xCF8, 4, 0x80000000u | 0x09u << 8 | 0x20); /* 00:01.1 BAR4 */
    iobus_write(io, 0xCFC, 4, FUZZ_IDE_BM);
    iobus_write(io, 0xCF8, 4, 0x80000000u | 0x09u << 8 | 0x04);
    iobus_write(io, 0xCFC, 2, 0x0005); /* I/O space, bus master */
}

static const DeviceSpec devices[] = {
    {"pic", {{0x20, 2}, {0xA0, 2}, {0x4D0, 2}}},
    {"pit", {{0x40, 4}, {0x61, 1}}},
    {"cmos", {{0x70, 2}}},
    {"i8042", {{0x60, 1}, {0x64, 1}, {0x92, 1}}},
    {"uart", {{0x3F8, 8}, {0x2F8, 8}}},
    {"ide", {{0x1F0, 8}, {0x3F6, 1}, {0x170, 8}, {0x376, 1}, PCI_CONFIG, {FUZZ_IDE_BM, 16}}},
    {"vga", {{0x3C0, 32}, {0x3B4, 2}, {0x3BA, 1}, {0x1CE, 3}, PCI_CONFIG}},
    {"pci", {PCI_CONFIG, {0xCF9, 1}}},
    {"fwcfg", {{0x510, 12}}},
    {"acpi", {PCI_CONFIG, {0xAFE0, 4}, {0xB2, 2}, {0x600, 64}}},
    {"e1000", {PCI_CONFIG, {0xC000, 64}}},
    {"virtio", {{FUZZ_VIRTIO_IO, 160}, PCI_CONFIG}},
    {"apic", {{0x20, 2}, {0xA0, 2}}},
    {"ioapic", {PCI_CONFIG, {0x20, 2}}},
    {"hpet", {{0x40, 4}, {0x70, 2}}},
};

/* The memory-mapped devices' register windows. */
typedef struct MmioWindow {
    const char *name;
    uint32_t base, size;
} MmioWindow;

static const MmioWindow windows[] = {
    {"apic", 0xFEE00000u, 0x1000},
    {"ioapic", 0xFEC00000u, 0x20},
    {"hpet", 0xFED00000u, 0x400},
};
static const MmioWindow *window;

static const DeviceSpec *device;
static unsigned nports;

static void find_device(void) {
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++)
        if (strcmp(devices[i].name, FUZZ_DEVICE) == 0) device = &devices[i];
    if (!device) abort();
    for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++)
        if (strcmp(windows[i].name, FUZZ_DEVICE) == 0) window = &windows[i];
    for (int r = 0; r < 6; r++)
        nports += device->ports[r].count;
}

static uint16_t device_port(unsigned index) {
    index %= nports;
    for (int r = 0;; r++) {
        if (index < device->ports[r].count) return (uint16_t)(device->ports[r].base + index);
        index -= device->ports[r].count;
    }
}

static unsigned access_size(unsigned bits) {
    return (unsigned[]){1, 2, 4, 1}[bits & 3];
}

static uint32_t mem_address(FuzzInput *in, unsigned op) {
    uint32_t a = fuzz_u32(in);
    if (!(op & 8)) return a;
    if (window) return window->base + a % window->size;
    return 0xA0000u + a % 0x20000u;
}

static void run_op(Pc *pc, FuzzInput *in) {
    IoBus *io = pc_iobus(pc);
    PhysMem *pm = pc_physmem(pc);
    unsigned op = fuzz_u8(in);
    if (op == 0xFE) {
        pc_reset(pc);
        return;
    }
    if (op == 0xFD) {
        CPU *cpu = pc_cpu(pc);
        if (cpu->irq_pending(cpu->irq_opaque)) cpu->irq_ack(cpu->irq_opaque);
        return;
    }
    unsigned repeat = 1u << (op >> 5);
    switch (op & 7) {
    case 0: {
        uint16_t port = device_port(fuzz_u8(in));
        for (unsigned i = 0; i < repeat; i++)
            iobus_read(io, port, access_size(op >> 3));
        break;
    }
    case 1: {
        uint16_t port = device_port(fuzz_u8(in));
        uint32_t v = fuzz_u32(in);
        for (unsigned i = 0; i < repeat; i++)
            iobus_write(io, port, access_size(op >> 3), v);
        break;
    }
    case 2: iobus_read(io, fuzz_u16(in), access_size(op >> 3)); break;
    case 3: {
        uint16_t port = fuzz_u16(in);
        iobus_write(io, port, access_size(op >> 3), fuzz_u32(in));
        break;
    }
    case 4: phys_read(pm, mem_address(in, op), access_size(op >> 4)); break;
    case 5: {
        uint32_t a = mem_address(in, op);
        phys_write(pm, a, access_size(op >> 4), fuzz_u32(in));
        break;
    }
    case 6: {
        VClock *clk = pc_clock(pc);
        /* At most about 2 s of virtual time per step: a guest's clock
         * moves by instructions, and a periodic timer (the RTC's fires
         * every 30.5 us at its fastest) runs once per period. */
        uint64_t ns = (uint64_t)fuzz_u16(in) << ((op >> 3) & 15);
        vclock_advance(clk, vclock_now(clk) + ns);
        break;
    }
    default: {
        uint32_t a = fuzz_u32(in) % (FUZZ_PC_RAM_MB << 20);
        uint8_t buf[255];
        size_t n = fuzz_bytes(in, buf, fuzz_u8(in));
        phys_copy_to(pm, a, buf, n);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!device) {
        find_device();
        fuzz_pc_nic = strcmp(device->name, "e1000") == 0;
        fuzz_pc_virtio = strcmp(device->name, "virtio") == 0;
    }
    Pc *pc = fuzz_pc_new();
    if (strcmp(device->name, "ide") == 0) ide_setup(pc);
    if (fuzz_pc_virtio) virtio_setup(pc);
    FuzzInput in = {data, size};
    while (!fuzz_done(&in))
        run_op(pc, &in);
    pc_free(pc);
    return 0;
}
