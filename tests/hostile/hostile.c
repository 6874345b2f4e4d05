/*
 * hostile.c - the hostile guest (tests/hostile/README.md): from a seed,
 * pseudo-random accesses to every device of bt86's PC, in flat 32-bit
 * protected mode with interrupts off, for a number of iterations; then a
 * completion line on the debug console and a power-off through ACPI once
 * the power button is pressed (the test presses it with the monitor's
 * system_powerdown, so the monitor is seen to work after the hammering).
 *
 * entry.S calls hostile_main(params) with the ROM's parameter block:
 *     char magic[16] "BT86HOSTILE-PARM"; u32 seed; u32 iterations; u32 flags;
 * flags bit 0 (HOSTILE_RESETS): also write values that reset the machine
 * (0xCF9, port 0x92 bit 0, the 8042's reset line); without it those bits
 * are kept harmless, so a run normally reaches its end. flags bit 1
 * (HOSTILE_SELF): "anywhere" really means anywhere, the guest's own code
 * and stack included; without it, it means anywhere from 1 MiB up.
 *
 * Memory map the guest keeps to (it runs from RAM below 1 MiB, so A20
 * games cannot move its code): payload 0x10000-0x40000, stack below
 * 0x9F000, RAM targets for string I/O and DMA from 2 MiB up (above what
 * A20 off aliases onto the guest); one access in 32 aims anywhere in the
 * 4 GiB (with HOSTILE_SELF that may hit the guest itself: a crash of the
 * guest is a triple fault, which bt86 reports and -no-reboot ends).
 * Memory BARs go from 16 MiB up for the same reason (the LFB BAR is 16 MiB
 * aligned: anything lower would put video memory over the guest's code).
 *
 * Progress: "hostile: seed S iteration N" every 4096 iterations, the
 * completion line "hostile: done seed S iterations N", all on port 0xE9.
 */
#include <stdbool.h>
#include <stdint.h>

#define HOSTILE_RESETS 1u
#define HOSTILE_SELF   2u

typedef struct Params {
    char magic[16];
    uint32_t seed, iterations, flags, reserved;
} Params;

static uint32_t rng_state;
static uint32_t flags;
static uint32_t ram_top; /* from CMOS: the end of RAM */

/* ---------------- primitives ---------------- */

static inline void outb(uint16_t port, uint8_t v) {
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v) {
    __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v) {
    __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint16_t inw(uint16_t port) {
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint32_t inl(uint16_t port) {
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* REP INS/OUTS of `count` elements of `size` bytes at `addr`. */
static void rep_ins(uint16_t port, unsigned size, uint32_t addr, uint32_t count) {
    if (size == 1)
        __asm__ volatile("rep insb" : "+D"(addr), "+c"(count) : "d"(port) : "memory");
    else if (size == 2)
        __asm__ volatile("rep insw" : "+D"(addr), "+c"(count) : "d"(port) : "memory");
    else
        __asm__ volatile("rep insl" : "+D"(addr), "+c"(count) : "d"(port) : "memory");
}
static void rep_outs(uint16_t port, unsigned size, uint32_t addr, uint32_t count) {
    if (size == 1)
        __asm__ volatile("rep outsb" : "+S"(addr), "+c"(count) : "d"(port) : "memory");
    else if (size == 2)
        __asm__ volatile("rep outsw" : "+S"(addr), "+c"(count) : "d"(port) : "memory");
    else
        __asm__ volatile("rep outsl" : "+S"(addr), "+c"(count) : "d"(port) : "memory");
}

static void poke8(uint32_t addr, uint8_t v) {
    *(volatile uint8_t *)addr = v;
}
static void poke32(uint32_t addr, uint32_t v) {
    *(volatile uint32_t *)addr = v;
}
static uint32_t peek32(uint32_t addr) {
    return *(volatile uint32_t *)addr;
}

/* xorshift32 */
static uint32_t rnd(void) {
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}
static uint32_t below(uint32_t n) {
    return n ? rnd() % n : 0;
}
/* A length of up to 2^bits, small ones more often. */
static uint32_t length(unsigned bits) {
    return rnd() & ((1u << below(bits + 1)) - 1);
}

/* A guest-physical address for DMA and string I/O: from 1 MiB to the end
 * of RAM with `room` bytes to spare, or (1 in 32) anywhere. */
static uint32_t ram_target(uint32_t room) {
    if (below(32) == 0) {
        uint32_t a = rnd();
        if (flags & HOSTILE_SELF) return a;
        if (a < 0x200000u) a += 0x200000u;
        if (a > 0xFFFFFFFFu - room) a -= room + 1; /* no wrap to address 0 */
        return a;
    }
    uint32_t span = ram_top - 0x200000u;
    if (room >= span) return 0x200000u;
    return 0x200000u + below(span - room);
}

/* A value for a BAR: RAM, another device's BAR, or anything (from 16 MiB
 * up unless HOSTILE_SELF). */
static uint32_t bar_value(uint32_t other) {
    uint32_t v = below(4) == 0 ? rnd() : below(2) ? ram_target(0) : other;
    if (!(flags & HOSTILE_SELF) && !(v & 1) && v < 0x1000000u) v |= 0x1000000u;
    return v;
}

static void debug_puts(const char *s) {
    while (*s)
        outb(0xE9, (uint8_t)*s++);
}
static void debug_put_u32(uint32_t v) {
    char buf[11];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        outb(0xE9, (uint8_t)buf[--n]);
}

/* ---------------- PCI configuration ---------------- */

static uint32_t pci_addr(unsigned devfn, unsigned reg) {
    return 0x80000000u | devfn << 8 | (reg & 0xFC);
}
static void pci_write32(unsigned devfn, unsigned reg, uint32_t v) {
    outl(0xCF8, pci_addr(devfn, reg));
    outl(0xCFC, v);
}
static uint32_t pci_read32(unsigned devfn, unsigned reg) {
    outl(0xCF8, pci_addr(devfn, reg));
    return inl(0xCFC);
}
static void pci_write8(unsigned devfn, unsigned reg, uint8_t v) {
    outl(0xCF8, pci_addr(devfn, reg));
    outb((uint16_t)(0xCFC + (reg & 3)), v);
}

#define DEVFN(d, f) ((d) << 3 | (f))

/* A port computed from a BAR or at random, made harmless when it would
 * touch what ends the run: the reset lines (0x60/0x64 after 0xD1, 0x64's
 * pulse commands, 0x92, 0xCF9; allowed with HOSTILE_RESETS), PCI
 * configuration (hammer_pci does it with its own guards), or the ACPI PM
 * block's PM1_CNT (SLP_EN: a power-off is the end of a run, not part of
 * it). Devices may sit on any port a BAR says: these checks are by port. */
static uint16_t safe_port_pm(uint16_t port, unsigned size, bool pm1_cnt_ok) {
    uint32_t lo = port, hi = port + size - 1u;
    uint16_t pm = (uint16_t)(pci_read32(DEVFN(1, 3), 0x40) & 0xFFC0);
#define HITS(a, b) (lo <= (uint32_t)(b) && hi >= (uint32_t)(a))
    if (!(flags & HOSTILE_RESETS) && (HITS(0x60, 0x60) || HITS(0x64, 0x64) || HITS(0x92, 0x92)))
        return 0x80;
    if (HITS(0xCF8, 0xCFF)) return 0x80;
    if (pm && !pm1_cnt_ok && HITS(pm + 4, pm + 5)) return 0x80;
#undef HITS
    return port;
}
static uint16_t safe_port(uint16_t port, unsigned size) {
    return safe_port_pm(port, size, false);
}
static const uint8_t pci_functions[] = {DEVFN(0, 0), DEVFN(1, 0), DEVFN(1, 1), DEVFN(1, 3),
                                        DEVFN(2, 0)};

static void hammer_pci(void) {
    unsigned devfn = below(8) == 0 ? below(256) : pci_functions[below(sizeof pci_functions)];
    switch (below(6)) {
    case 0: /* a BAR over RAM (from 1 MiB), over another BAR, or anywhere */
    {
        unsigned bar = 0x10 + 4 * below(6);
        pci_write32(devfn, bar,
                    bar_value(pci_read32(pci_functions[below(5)], 0x10 + 4 * below(6))));
        pci_write32(devfn, 0x04, 0x0003 | (rnd() & 0x0404)); /* I/O and memory decoding on */
        break;
    }
    case 1: /* BAR sizing */
        pci_write32(devfn, 0x10 + 4 * below(7), 0xFFFFFFFF);
        (void)pci_read32(devfn, 0x10 + 4 * below(7));
        break;
    case 2: /* any register, any width (memory BARs from 16 MiB up) */
        outl(0xCF8, rnd() | (below(4) ? 0x80000000u : 0));
        if (!(flags & HOSTILE_SELF) && (inl(0xCF8) & 0xFC) >= 0x10 && (inl(0xCF8) & 0xFC) < 0x28) {
            outl(0xCFC, bar_value(rnd()));
            break;
        }
        switch (below(3)) {
        case 0: outb((uint16_t)(0xCFC + below(4)), (uint8_t)rnd()); break;
        case 1: outw((uint16_t)(0xCFC + 2 * below(2)), (uint16_t)rnd()); break;
        default: outl(0xCFC, rnd()); break;
        }
        break;
    case 3: /* the PAM registers: shadow RAM and ROM below 1 MiB */
        pci_write8(DEVFN(0, 0), 0x59 + below(7), (uint8_t)rnd());
        break;
    case 4: /* ACPI: PMBASE and its enable, anywhere */
        pci_write32(DEVFN(1, 3), 0x40, rnd() & 0xFFC1);
        pci_write8(DEVFN(1, 3), 0x80, (uint8_t)rnd());
        break;
    default: /* reads */
        (void)pci_read32(devfn, below(256));
        (void)inb((uint16_t)(0xCFC + below(4)));
        break;
    }
}

/* ---------------- IDE and ATAPI ---------------- */

static const uint16_t ide_cmd_base[2] = {0x1F0, 0x170};
static const uint16_t ide_ctl_base[2] = {0x3F6, 0x376};
static const uint8_t ide_commands[] = {
    0xEC, 0xA1, 0x20, 0x21, 0x24, 0x29, 0x30, 0x31, 0x34, 0x39, 0xC4, 0xC5, 0xC6, 0xC8, 0xCA, 0x25,
    0x35, 0xA0, 0x08, 0x90, 0x91, 0xEF, 0xE7, 0xEA, 0x40, 0x41, 0x42, 0x70, 0xE0, 0xE1, 0xE5, 0xF8};
static const uint8_t atapi_opcodes[] = {0x00, 0x03, 0x12, 0x1A, 0x1B, 0x1E, 0x25, 0x28,
                                        0xA8, 0x43, 0x46, 0x4A, 0x51, 0x5A, 0xBD, 0xBE,
                                        0x2B, 0x35, 0x42, 0x44, 0x45, 0xAD, 0x23, 0xA0};

static void hammer_ide(void) {
    unsigned ch = below(2);
    uint16_t base = ide_cmd_base[ch];
    switch (below(6)) {
    case 0: /* a command with random LBA and count */
        outb((uint16_t)(base + 6), (uint8_t)(0xA0 | (rnd() & 0x5F)));
        for (unsigned r = 1; r <= 5; r++)
            outb((uint16_t)(base + r), (uint8_t)rnd());
        outb((uint16_t)(base + 7),
             below(4) ? ide_commands[below(sizeof ide_commands)] : (uint8_t)rnd());
        break;
    case 1: /* string I/O on the data port, random lengths */
    {
        unsigned size = below(4) ? 2 : below(2) ? 1 : 4;
        uint32_t count = length(18);
        uint32_t addr = ram_target(count * size);
        if (below(2))
            rep_ins(base, size, addr, count);
        else
            rep_outs(base, size, addr, count);
        break;
    }
    case 2: /* an ATAPI packet */
    {
        outb((uint16_t)(base + 6), (uint8_t)(0xA0 | (rnd() & 0x10)));
        outb((uint16_t)(base + 1), (uint8_t)(rnd() & 1));
        outb((uint16_t)(base + 4), (uint8_t)rnd());
        outb((uint16_t)(base + 5), (uint8_t)rnd());
        outb((uint16_t)(base + 7), 0xA0);
        uint8_t pkt[12];
        for (unsigned i = 0; i < 12; i++)
            pkt[i] = (uint8_t)rnd();
        pkt[0] = below(8) ? atapi_opcodes[below(sizeof atapi_opcodes)] : pkt[0];
        for (unsigned i = 0; i < 12; i += 2)
            outw(base, (uint16_t)(pkt[i] | pkt[i + 1] << 8));
        uint32_t count = length(16);
        rep_ins(base, 2, ram_target(count * 2), count);
        break;
    }
    case 3: /* device control: reset, nIEN */
        outb(ide_ctl_base[ch], (uint8_t)(rnd() & 0x06));
        break;
    case 4: /* register reads */
        (void)inb((uint16_t)(base + below(8)));
        (void)inb(ide_ctl_base[ch]);
        (void)inw(base);
        (void)inl(base);
        break;
    default: /* the bus-master block wherever BAR4 says */
    {
        uint16_t bm = (uint16_t)(pci_read32(DEVFN(1, 1), 0x20) & 0xFFFC);
        if (bm) {
            outl(safe_port((uint16_t)(bm + 4 + 8 * ch), 4), ram_target(64));
            outb(safe_port((uint16_t)(bm + 8 * ch), 1), (uint8_t)rnd());
            outb(safe_port((uint16_t)(bm + 2 + 8 * ch), 1), (uint8_t)rnd());
            (void)inb((uint16_t)(bm + below(16)));
        }
        break;
    }
    }
}

/* ---------------- VGA ---------------- */

static void hammer_vga(void) {
    switch (below(7)) {
    case 0: /* sequencer, CRTC, graphics controller: index and data */
    {
        static const uint16_t pairs[] = {0x3C4, 0x3D4, 0x3CE, 0x3B4};
        uint16_t p = pairs[below(4)];
        outb(p, (uint8_t)below(below(4) ? 0x20 : 256));
        outb((uint16_t)(p + 1), (uint8_t)rnd());
        break;
    }
    case 1: /* attribute controller (flip-flop), DAC, misc */
        (void)inb(0x3DA);
        outb(0x3C0, (uint8_t)rnd());
        outb(0x3C0, (uint8_t)rnd());
        outb((uint16_t)(0x3C7 + below(3)), (uint8_t)rnd());
        outb(0x3C2, (uint8_t)rnd());
        (void)inb((uint16_t)(0x3C0 + below(32)));
        break;
    case 2: /* DISPI: a mode of any size, bank, offsets */
    {
        static const uint16_t bpps[] = {4, 8, 15, 16, 24, 32, 0, 1, 64};
        outw(0x1CE, 4);
        outw(0x1CF, 0);
        outw(0x1CE, 1);
        outw(0x1CF, (uint16_t)(below(2) ? rnd() : below(2600)));
        outw(0x1CE, 2);
        outw(0x1CF, (uint16_t)(below(2) ? rnd() : below(1700)));
        outw(0x1CE, 3);
        outw(0x1CF, bpps[below(sizeof bpps / sizeof bpps[0])]);
        outw(0x1CE, 4);
        outw(0x1CF, (uint16_t)(rnd() & 0xE3));
        for (unsigned i = below(4); i; i--) {
            outw(0x1CE, (uint16_t)below(16));
            outw(below(2) ? 0x1CF : 0x1D0, (uint16_t)rnd());
        }
        break;
    }
    case 3: /* the legacy window */
        for (unsigned i = length(10); i; i--)
            poke8(0xA0000 + below(0x20000), (uint8_t)rnd());
        (void)*(volatile uint8_t *)(0xA0000 + below(0x20000));
        break;
    case 4: /* the linear frame buffer, wherever BAR0 is */
    {
        uint32_t lfb = pci_read32(DEVFN(2, 0), 0x10) & 0xFFFFFFF0u;
        if (lfb && lfb >= 0x100000) {
            for (unsigned i = length(10); i; i--)
                poke32(lfb + (below(16u << 20) & ~3u), rnd());
            (void)peek32(lfb + (below(16u << 20) & ~3u));
        }
        break;
    }
    case 5: /* string I/O at the VGA ports */
    {
        uint32_t count = length(14);
        uint16_t port = (uint16_t)(0x3C0 + below(32));
        if (below(2))
            rep_outs(port, 1, ram_target(count), count);
        else
            rep_ins(port, 1, ram_target(count), count);
        break;
    }
    default: /* reads of the DISPI registers */
        outw(0x1CE, (uint16_t)below(16));
        (void)inw(0x1CF);
        break;
    }
}

/* ---------------- fw_cfg ---------------- */

static uint32_t bswap32(uint32_t v) {
    return v >> 24 | (v >> 8 & 0xFF00) | (v << 8 & 0xFF0000) | v << 24;
}

static void hammer_fwcfg(void) {
    switch (below(4)) {
    case 0:
        outw(0x510, (uint16_t)(below(2) ? below(0x40) : rnd()));
        for (unsigned i = length(8); i; i--)
            (void)inb(0x511);
        break;
    case 1: /* string reads of the data port */
    {
        uint32_t count = length(16);
        rep_ins(0x511, 1, ram_target(count), count);
        break;
    }
    default: /* a DMA descriptor in RAM (or anywhere), pointing anywhere */
    {
        uint32_t len = below(4) ? length(20) : rnd();
        uint32_t dst = ram_target(len < 0x100000 ? len : 0);
        uint32_t desc = ram_target(16);
        uint32_t control = (rnd() & 0x1F) | (below(2) ? below(0x40) : rnd()) << 16;
        poke32(desc, bswap32(control));
        poke32(desc + 4, bswap32(len));
        poke32(desc + 8, below(8) ? 0 : bswap32(rnd()));
        poke32(desc + 12, bswap32(dst));
        if (below(16) == 0) desc = rnd(); /* the descriptor itself anywhere */
        outl(0x514, below(8) ? 0 : bswap32(rnd()));
        outl(0x518, bswap32(desc));
        break;
    }
    }
}

/* ---------------- UARTs, 8042, PIT, PIC, CMOS, ACPI ---------------- */

static void hammer_uart(void) {
    uint16_t base = below(2) ? 0x3F8 : 0x2F8;
    if (below(3)) {
        outb((uint16_t)(base + below(8)), (uint8_t)rnd());
        (void)inb((uint16_t)(base + below(8)));
    } else {
        uint32_t count = length(12);
        rep_outs(base, 1, ram_target(count), count);
    }
}

static void hammer_8042(void) {
    switch (below(5)) {
    case 0: /* controller commands, including the output port */
    {
        uint8_t cmd = (uint8_t)(below(2) ? 0xA0 + below(0x60) : rnd());
        if (!(flags & HOSTILE_RESETS) && (cmd & 0xF0) == 0xF0) cmd = 0xFF; /* no reset pulse */
        outb(0x64, cmd);
        /* After 0xD1 the next data byte is the output port, whatever
         * commands come between: always give it here, harmless unless
         * HOSTILE_RESETS. */
        if (below(2) || cmd == 0xD1) {
            uint8_t v = (uint8_t)rnd();
            if (cmd == 0xD1 && !(flags & HOSTILE_RESETS)) v |= 0x01; /* reset line inactive */
            outb(0x60, v);
        }
        break;
    }
    case 1: /* keyboard and mouse commands */
        if (below(2)) outb(0x64, 0xD4);
        outb(0x60, (uint8_t)(below(2) ? 0xE0 + below(0x20) : rnd()));
        outb(0x60, (uint8_t)rnd());
        break;
    case 2: /* port 0x92: A20 and (with HOSTILE_RESETS) the fast reset */
    {
        uint8_t v = (uint8_t)rnd();
        if (!(flags & HOSTILE_RESETS)) v &= 0xFE;
        outb(0x92, v);
        outb(0x92, (uint8_t)(inb(0x92) | 0x02) & 0xFE); /* A20 back on */
        break;
    }
    default:
        for (unsigned i = length(6); i; i--)
            (void)inb(below(2) ? 0x60 : 0x64);
        break;
    }
    /* Keep A20 on through the 8042 as well (its output port bit 1). */
    if (below(4) == 0) {
        outb(0x64, 0xD1);
        outb(0x60, 0xDF);
    }
}

static void hammer_timers_pic(void) {
    switch (below(5)) {
    case 0: /* PIT: mode, counts, read-back, latch */
        outb(0x43, (uint8_t)rnd());
        outb((uint16_t)(0x40 + below(3)), (uint8_t)rnd());
        outb((uint16_t)(0x40 + below(3)), (uint8_t)rnd());
        (void)inb((uint16_t)(0x40 + below(4)));
        break;
    case 1: /* port 0x61 */
        outb(0x61, (uint8_t)rnd());
        (void)inb(0x61);
        break;
    case 2: /* PIC: ICW sequences and OCWs, ELCR */
    {
        uint16_t base = below(2) ? 0x20 : 0xA0;
        outb(base, (uint8_t)(below(2) ? 0x11 : rnd()));
        for (unsigned i = below(4); i; i--)
            outb((uint16_t)(base + 1), (uint8_t)rnd());
        outb(base, (uint8_t)rnd());
        (void)inb(base);
        outb((uint16_t)(0x4D0 + below(2)), (uint8_t)rnd());
        break;
    }
    case 3: /* CMOS: any index, the status registers, NMI bit */
    {
        uint8_t index = (uint8_t)(below(2) ? below(0x10) : rnd());
        outb(0x70, index);
        if (below(2))
            outb(0x71, (uint8_t)rnd());
        else
            (void)inb(0x71);
        break;
    }
    default: /* ACPI: PM1 block wherever it is, GPE0, APM */
    {
        uint16_t pm = (uint16_t)(pci_read32(DEVFN(1, 3), 0x40) & 0xFFC0);
        if (pm) {
            uint16_t off = (uint16_t)(below(64) & ~1u);
            uint16_t v = (uint16_t)rnd();
            if (off == 4) v &= (uint16_t)~0x2000; /* PM1_CNT without SLP_EN */
            outw(safe_port_pm((uint16_t)(pm + off), 2, off == 4), v);
            (void)inl((uint16_t)(pm + 8));
            (void)inb((uint16_t)(pm + below(64)));
        }
        outb((uint16_t)(0xAFE0 + below(4)), (uint8_t)rnd());
        outb((uint16_t)(0xB2 + below(2)), (uint8_t)rnd());
        break;
    }
    }
}

/* A random port with a random width and value, or a string access there. */
static void hammer_any_port(void) {
    uint16_t port = safe_port((uint16_t)rnd(), 4);
    switch (below(7)) {
    case 0: outb(port, (uint8_t)rnd()); break;
    case 1: outw(port, (uint16_t)rnd()); break;
    case 2: outl(port, rnd()); break;
    case 3: (void)inb(port); break;
    case 4: (void)inw(port); break;
    case 5: (void)inl(port); break;
    default: {
        uint32_t count = length(12);
        unsigned size = 1u << below(3);
        if (below(2))
            rep_outs(port, size, ram_target(count * size), count);
        else
            rep_ins(port, size, ram_target(count * size), count);
        break;
    }
    }
}

/* RAM that DMA reads later: random bytes, or runs of plausible
 * descriptors (fw_cfg's, bus-master PRDs) in the areas DMA aims at. */
static void scribble_ram(void) {
    uint32_t n = length(10);
    uint32_t at = ram_target(n * 4);
    for (uint32_t i = 0; i < n; i++)
        poke32(at + 4 * i, below(4) ? rnd() : (ram_target(0) & ~1u) | (below(2) ? 0x80000000u : 0));
}

static void reset_lines(void) {
    if (!(flags & HOSTILE_RESETS)) return;
    switch (below(3)) {
    case 0: outb(0xCF9, (uint8_t)rnd()); break;
    case 1: outb(0x92, (uint8_t)rnd()); break;
    default: outb(0x64, 0xF0 | (uint8_t)below(16)); break;
    }
}

/* ---------------- the end ---------------- */

static const uint16_t pm_candidates[] = {0xB000, 0x600, 0xE000, 0x4000, 0x8000};

/* Put the ACPI PM block somewhere it maps (PM1_EN reads back what was
 * written), wait for the power button, then power off. */
static void power_off(void) {
    uint16_t pm = 0;
    pci_write8(DEVFN(1, 3), 0x04, 0x01);
    for (unsigned i = 0; i < sizeof pm_candidates / sizeof pm_candidates[0] && !pm; i++) {
        pci_write32(DEVFN(1, 3), 0x40, pm_candidates[i] | 1u);
        pci_write8(DEVFN(1, 3), 0x80, 0x01);
        outw((uint16_t)(pm_candidates[i] + 2), 0x0100);
        if (inw((uint16_t)(pm_candidates[i] + 2)) == 0x0100) pm = pm_candidates[i];
    }
    if (!pm) {
        debug_puts("hostile: no place for the ACPI PM block\n");
        return;
    }
    outw((uint16_t)(pm + 2), 0);
    debug_puts("hostile: waiting for the power button\n");
    while (!(inw(pm) & 0x0100))
        ;
    outw(pm, 0x0100);
    outw((uint16_t)(pm + 4), 0x2000); /* SLP_TYP 0 (S5), SLP_EN */
    debug_puts("hostile: still running after SLP_EN\n");
}

typedef void (*Hammer)(void);
static const Hammer hammers[] = {
    hammer_pci,      hammer_ide,      hammer_ide,  hammer_vga,        hammer_vga,
    hammer_fwcfg,    hammer_uart,     hammer_8042, hammer_timers_pic, hammer_timers_pic,
    hammer_any_port, hammer_any_port, scribble_ram};

__attribute__((section(".text.entry"))) void hostile_main(const Params *p) {
    uint32_t seed = p->seed, iterations = p->iterations;
    flags = p->flags;
    rng_state = seed * 2654435761u + 1;
    if (!rng_state) rng_state = 1;
    /* The end of RAM, from CMOS 0x34/0x35 (64 KiB above 16 MiB) or 0x30/0x31. */
    outb(0x70, 0x35);
    uint32_t above16 = inb(0x71) << 8;
    outb(0x70, 0x34);
    above16 |= inb(0x71);
    outb(0x70, 0x31);
    uint32_t ext = inb(0x71) << 8;
    outb(0x70, 0x30);
    ext |= inb(0x71);
    ram_top = above16 ? 0x1000000u + (above16 << 16) : 0x100000u + (ext << 10);
    if (ram_top < 0x200000u) ram_top = 0x200000u;
    debug_puts("hostile: start seed ");
    debug_put_u32(seed);
    debug_puts(" iterations ");
    debug_put_u32(iterations);
    debug_puts("\n");

    uint32_t done = 0;
    for (; done < iterations; done++) {
        if ((done & 4095) == 0 && done) {
            debug_puts("hostile: seed ");
            debug_put_u32(seed);
            debug_puts(" iteration ");
            debug_put_u32(done);
            debug_puts("\n");
        }
        hammers[below(sizeof hammers / sizeof hammers[0])]();
        if (below(4096) == 0) reset_lines();
    }
    debug_puts("hostile: done seed ");
    debug_put_u32(seed);
    debug_puts(" iterations ");
    debug_put_u32(done);
    debug_puts("\n");
    power_off();
}
