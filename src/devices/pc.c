/*
 * pc.c - assembling the PC machine (see pc.h).
 */
#include "devices/pc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "devices/acpi.h"
#include "devices/apic.h"
#include "devices/cmos.h"
#include "devices/debugcon.h"
#include "devices/fwcfg.h"
#include "devices/hpet.h"
#include "devices/i440fx.h"
#include "devices/i8042.h"
#include "devices/e1000.h"
#include "devices/ide.h"
#include "devices/ioapic.h"
#include "devices/linuxboot.h"
#include "devices/pci.h"
#include "devices/pic.h"
#include "devices/piix3.h"
#include "devices/pit.h"
#include "devices/uart.h"
#include "devices/vga.h"
#include "devices/virtio_devs.h"
#include "mmu/mmu.h"
#include "snap/snap.h"

/* An MMIO window of a chip the CPU's instructions reach: the clock is
 * brought to the accessing instruction first and the slice ends at a timer
 * the access armed, as for port I/O (pc_io_before, pc_io_after). */
typedef struct PcMmio {
    struct Pc *pc;
    MmioReadFn read;
    MmioWriteFn write;
    void *dev;
} PcMmio;

struct Pc {
    PcConfig cfg;
    PhysMem *pm;
    IoBus *io;
    CPU *cpu;
    VClock clock;
    Pic *pic;
    Pit *pit;
    Cmos *cmos;
    I8042 *kbd;
    Uart *com1, *com2;
    FwCfg *fwcfg;
    Debugcon *debugcon;
    PciBus *pci;
    AcpiPm *acpi;
    bool powered_off; /* the guest switched the machine off (ACPI S5) */
    IdeChannel *ide[2];
    PiixIde *piix_ide; /* the IDE function's bus-master BAR */
    Disk *disks[4];
    Disk *cdrom;
    Vga *vga;
    E1000 *nic; /* the network card at 00:03.0, or NULL */
    /* virtio devices (each NULL when absent) and the I/O paths' counters */
    VirtioNet *vnet;
    VirtioBlk *vblk[2];
    Disk *vdisks[2];
    VirtioConsole *vcon;
    VirtioRng *vrng;
    IoStats io_stats;
    /* Interrupt routing with APICs (see "interrupt wiring" below). */
    Apic *apic;
    IoApic *ioapic;
    Hpet *hpet;
    PciFunction *piix3;
    PcMmio mmio_apic, mmio_ioapic, mmio_hpet;
    uint32_t pic_src[16];          /* per 8259 input: the sources holding it asserted */
    uint32_t pin_src[IOAPIC_PINS]; /* per I/O APIC pin: the same */
    uint16_t isa_level;            /* ISA devices' lines (IRQ n: bit n) */
    uint8_t pirq_level;            /* PCI PIRQA-D (bit n), from the PCI devices' INTx */
    uint32_t intx_level[4];        /* per PIRQ: the PCI slots whose INTx line on it is asserted */
    bool hpet_legacy;              /* the HPET took IRQ 0 and IRQ 8 from the PIT and RTC */
    /* The CPU slice being run: virtual time and instruction count at its
     * start, so that device accesses can see the exact current time. */
    bool in_slice;
    uint64_t slice_ns, slice_icount;
    /* Host-clock mode: the host's monotonic time (ns) at virtual time 0,
     * guest instructions per host microsecond (an estimate, to size CPU
     * slices), and the TSC: tsc_base at virtual time tsc_base_ns, never
     * going back from tsc_last. */
    uint64_t host_base;
    uint64_t insns_per_us;
    uint64_t tsc_base, tsc_base_ns, tsc_last;
    /* Instruction-derived time: the current ns per instruction; with
     * icount_auto, when (host ns) to compare with the host clock next, and
     * when the CPU began to idle (0: it is not idle). */
    uint64_t ns_now;
    uint64_t auto_next, idle_from;
    /* -icount auto under record/replay (pc_auto_set_log/_replayed). */
    PcAutoLog auto_log;
    void *auto_opaque;
    bool auto_replayed;
};

PcConfig pc_default_config(void) {
    PcConfig c = {0};
    c.ram_mb = 128;
    c.bios_path = "/usr/share/seabios/bios.bin";
    c.ns_per_insn = 2;
    c.vga = true;
    c.vgabios_path = "/usr/share/seabios/vgabios-stdvga.bin";
    return c;
}

static uint64_t pc_ns_per_insn(const Pc *pc) {
    return pc->ns_now;
}

static uint64_t host_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Host-clock mode: where virtual time should be now (it never goes back). */
static uint64_t pc_host_vtime(const Pc *pc) {
    uint64_t t = host_now_ns() - pc->host_base, v = vclock_now(&pc->clock);
    return t > v ? t : v;
}

/* Host-clock mode: about how many instructions run in `ns` of host time. */
static uint64_t pc_insns_for(const Pc *pc, uint64_t ns) {
    uint64_t us = ns / 1000;
    if (us > 1000000) us = 1000000;
    return 1 + us * pc->insns_per_us;
}

/* Virtual time at this moment, inside a CPU slice too. */
static uint64_t pc_exact_vtime(const Pc *pc) {
    if (pc->cfg.host_clock) return pc_host_vtime(pc);
    uint64_t v = vclock_now(&pc->clock);
    if (pc->in_slice) {
        uint64_t t = pc->slice_ns + (pc->cpu->icount - pc->slice_icount) * pc_ns_per_insn(pc);
        if (t > v) v = t;
    }
    return v;
}

/* Host-clock and auto modes: the TSC follows virtual time at PC_TSC_HZ,
 * read at the exact moment of the RDTSC, so the guest's calibration
 * against the PIT (also virtual time) agrees whatever the host's speed. */
static uint64_t pc_tsc_read(void *opaque) {
    Pc *pc = opaque;
    uint64_t t = pc_exact_vtime(pc);
    uint64_t tsc = pc->tsc_base + (t - pc->tsc_base_ns) / (1000000000u / PC_TSC_HZ);
    if (tsc < pc->tsc_last) tsc = pc->tsc_last;
    pc->tsc_last = tsc;
    return tsc;
}

static void pc_tsc_write(void *opaque, uint64_t value) {
    Pc *pc = opaque;
    pc->tsc_base = pc->tsc_last = value;
    pc->tsc_base_ns = pc_exact_vtime(pc);
}

/* Before a port access: bring the virtual clock up to the instruction doing
 * it (or, following the host, to the host's time), so a device sees the
 * exact time (a PIT count read in a calibration loop, a UART's transmit
 * timing) rather than the time the slice began. */
static void pc_io_before(void *opaque) {
    Pc *pc = opaque;
    if (!pc->in_slice) return;
    if (pc->cfg.host_clock)
        vclock_advance(&pc->clock, pc_host_vtime(pc));
    else
        vclock_advance(&pc->clock,
                       pc->slice_ns + (pc->cpu->icount - pc->slice_icount) * pc_ns_per_insn(pc));
}

/* After a port access: the device may have armed a timer earlier than the
 * end of the slice (a PIT reprogrammed); end the slice there. */
static void pc_io_after(void *opaque) {
    Pc *pc = opaque;
    if (!pc->in_slice) return;
    uint64_t deadline = vclock_next_deadline(&pc->clock), now = vclock_now(&pc->clock);
    if (deadline == VCLOCK_NEVER) return;
    uint64_t left;
    if (pc->cfg.host_clock)
        left = pc_insns_for(pc, deadline > now ? deadline - now : 0);
    else
        left = 1 + (deadline > now ? (deadline - now) / pc_ns_per_insn(pc) : 0);
    if (pc->cpu->run_left > left) pc->cpu->run_left = left;
}

static uint32_t post_read(void *opaque, uint16_t port, unsigned size) {
    (void)opaque;
    (void)port;
    (void)size;
    return 0xFF;
}
static void post_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    (void)opaque;
    (void)port;
    (void)size;
    (void)val; /* POST codes are not shown */
}

static void pc_isa_irq(void *opaque, int irq, int level);

/* The x87's FERR# drives IRQ 13; a write to port 0xF0 releases it. */
static void pc_ferr(void *opaque, int level) {
    pc_isa_irq(opaque, 13, level);
}

static uint32_t fpu_port_read(void *opaque, uint16_t port, unsigned size) {
    (void)opaque;
    (void)port;
    (void)size;
    return 0xFF;
}

static void fpu_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    (void)port;
    (void)size;
    (void)val;
    pc_ferr(opaque, 0);
}

static void pc_reset_line(void *opaque) {
    Pc *pc = opaque;
    pc->cpu->reset_request = true;
}

static void pc_poweroff(void *opaque) {
    Pc *pc = opaque;
    pc->powered_off = true;
    pc->cpu->exit_request = 1;
    pc->cpu->block_break = true; /* host code checks this one after a call */
}

static void pc_set_a20(void *opaque, bool enabled) {
    Pc *pc = opaque;
    physmem_set_a20(pc->pm, enabled);
}

/* ---------------- interrupt wiring ----------------
 *
 * As on QEMU's PC (and the tables SeaBIOS builds for it): ISA IRQ n goes to
 * 8259 input n and I/O APIC pin n, except IRQ 0 (the PIT, or the HPET's
 * timer 0 in legacy replacement mode) which goes to I/O APIC pin 2 (the
 * MADT's interrupt source override; 8259 input 2 is the cascade). PCI
 * INTx lines meet on PIIX3 PIRQA-D ((slot - 1 + pin) mod 4: slot 3 INTA#
 * is PIRQC, as the firmware's _PRT and $PIR tables say), which drive I/O
 * APIC pins 16-19 and, through the PIIX3's routing registers (0x60-0x63),
 * the ISA IRQ those name. Several sources may hold one input: each input
 * keeps the set of sources asserting it and is asserted while any does. */
enum {
    SRC_ISA = 1u << 0,  /* the ISA device's own line */
    SRC_HPET = 1u << 1, /* the HPET (legacy replacement or its route) */
    SRC_PIRQ0 = 1u << 2 /* PIRQA-D: bits 2-5 */
};

static void pc_input_set(Pc *pc, int pic_irq, int pin, uint32_t src, int level) {
    if (pic_irq >= 0) {
        uint32_t old = pc->pic_src[pic_irq];
        pc->pic_src[pic_irq] = level ? old | src : old & ~src;
        if (!old != !pc->pic_src[pic_irq]) pic_set_irq(pc->pic, pic_irq, pc->pic_src[pic_irq] != 0);
    }
    if (pin >= 0 && pc->ioapic) {
        uint32_t old = pc->pin_src[pin];
        pc->pin_src[pin] = level ? old | src : old & ~src;
        if (!old != !pc->pin_src[pin]) ioapic_set_irq(pc->ioapic, pin, pc->pin_src[pin] != 0);
    }
}

static int isa_pin(int irq) {
    return irq == 0 ? 2 : irq;
}

/* ISA devices' lines: the PIT's IRQ 0 and the RTC's IRQ 8 are cut off
 * while the HPET's legacy replacement route owns them. */
static void pc_isa_irq(void *opaque, int irq, int level) {
    Pc *pc = opaque;
    if (level)
        pc->isa_level |= (uint16_t)(1u << irq);
    else
        pc->isa_level &= (uint16_t) ~(1u << irq);
    if (pc->hpet_legacy && (irq == 0 || irq == 8)) level = 0;
    pc_input_set(pc, irq, isa_pin(irq), SRC_ISA, level);
}

static IrqLine pc_isa_line(Pc *pc, int irq) {
    return (IrqLine){pc_isa_irq, pc, irq};
}

static void pc_hpet_legacy_irq(void *opaque, int n, int level) {
    int irq = n ? 8 : 0;
    pc_input_set(opaque, irq, isa_pin(irq), SRC_HPET, level);
}

static void pc_hpet_gsi(void *opaque, int gsi, int level) {
    pc_input_set(opaque, -1, gsi, SRC_HPET, level);
}

static void pc_hpet_legacy_changed(void *opaque, bool on) {
    Pc *pc = opaque;
    pc->hpet_legacy = on;
    for (int irq = 0; irq <= 8; irq += 8)
        pc_input_set(pc, irq, isa_pin(irq), SRC_ISA, !on && (pc->isa_level >> irq & 1));
}

/* The ISA IRQ PIRQ n is routed to by the PIIX3, or -1. */
static int pirq_route(const Pc *pc, int n) {
    if (!pc->piix3) return -1;
    uint8_t r = pc->piix3->cfg[0x60 + n];
    if (r & 0x80) return -1;
    r &= 0x0F;
    return r >= 3 && r != 8 && r != 13 ? r : -1;
}

/* Re-drive every PIRQ's inputs (after a level or routing change). */
static void pc_pirq_update(Pc *pc) {
    for (int irq = 0; irq < 16; irq++) {
        uint32_t want = 0;
        for (int n = 0; n < 4; n++)
            if ((pc->pirq_level >> n & 1) && pirq_route(pc, n) == irq) want |= SRC_PIRQ0 << n;
        for (int n = 0; n < 4; n++)
            pc_input_set(pc, irq, isa_pin(irq), SRC_PIRQ0 << n, (want >> n & SRC_PIRQ0) != 0);
    }
    for (int n = 0; n < 4; n++)
        pc_input_set(pc, -1, 16 + n, SRC_PIRQ0 << n, pc->pirq_level >> n & 1);
}

static void pc_piix3_written(PciFunction *f, unsigned offset, unsigned size) {
    if (offset <= 0x63 && offset + size > 0x60) pc_pirq_update(f->opaque);
}

static void pc_intx(void *opaque, int n, int level) {
    Pc *pc = opaque;
    int slot = n >> 2, pirq = (slot + 3 + (n & 3)) & 3; /* (slot - 1 + pin) mod 4 */
    if (level)
        pc->intx_level[pirq] |= 1u << slot;
    else
        pc->intx_level[pirq] &= ~(1u << slot);
    uint8_t old = pc->pirq_level;
    pc->pirq_level = (uint8_t)((old & ~(1u << pirq)) | (pc->intx_level[pirq] ? 1u << pirq : 0));
    if (old != pc->pirq_level) pc_pirq_update(pc);
}

IrqLine pc_pci_intx_line(Pc *pc, int slot, int pin) {
    return (IrqLine){pc_intx, pc, (slot & 31) << 2 | (pin & 3)};
}

static void pc_ioapic_deliver(void *opaque, uint8_t dest, bool logical, int mode, uint8_t vector,
                              bool level) {
    Pc *pc = opaque;
    apic_deliver(pc->apic, dest, logical, mode, vector, level);
}

static void pc_apic_nmi(void *opaque) {
    Pc *pc = opaque;
    pc->cpu->nmi_pending = true;
}

static void pc_apic_eoi(void *opaque, uint8_t vector) {
    Pc *pc = opaque;
    ioapic_eoi(pc->ioapic, vector);
}

/* Virtual time at which the TSC reaches `tsc` (TSC-deadline timer). */
static uint64_t pc_tsc_to_ns(void *opaque, uint64_t tsc) {
    Pc *pc = opaque;
    uint64_t now = pc_exact_vtime(pc);
    uint64_t cur = pc->cpu->tsc_read ? pc_tsc_read(pc) : cpu_tsc(pc->cpu);
    if (tsc <= cur) return now;
    uint64_t per_tick = pc->cpu->tsc_read ? 1000000000u / PC_TSC_HZ : pc_ns_per_insn(pc);
    uint64_t ticks = tsc - cur;
    if (ticks > (UINT64_MAX - now) / per_tick) return UINT64_MAX - 1;
    return now + ticks * per_tick;
}

static uint32_t pc_mmio_read(void *opaque, uint32_t offset, unsigned size) {
    PcMmio *m = opaque;
    pc_io_before(m->pc);
    uint32_t v = m->read(m->dev, offset, size);
    pc_io_after(m->pc);
    return v;
}

static void pc_mmio_write(void *opaque, uint32_t offset, unsigned size, uint32_t val) {
    PcMmio *m = opaque;
    pc_io_before(m->pc);
    m->write(m->dev, offset, size, val);
    pc_io_after(m->pc);
}

static int pc_add_mmio(Pc *pc, PcMmio *m, uint32_t base, uint32_t size, MmioReadFn rd,
                       MmioWriteFn wr, void *dev) {
    *m = (PcMmio){pc, rd, wr, dev};
    return physmem_add_mmio(pc->pm, base, size, pc_mmio_read, pc_mmio_write, m);
}

static void pc_apic_base_changed(void *opaque, uint32_t base, bool enabled) {
    Pc *pc = opaque;
    if (!pc->mmio_apic.pc) return; /* not mapped yet (apic_new) */
    physmem_move_mmio(pc->pm, pc_mmio_read, &pc->mmio_apic, base, enabled ? APIC_MMIO_SIZE : 0);
}

static bool pc_apic_msr_write(void *opaque, uint32_t msr, uint64_t val) {
    Pc *pc = opaque;
    pc_io_before(pc);
    bool ok = apic_msr_write(pc->apic, msr, val);
    pc_io_after(pc);
    return ok;
}

static bool pc_apic_msr_read(void *opaque, uint32_t msr, uint64_t *val) {
    Pc *pc = opaque;
    return apic_msr_read(pc->apic, msr, val);
}

/* The local APIC, the I/O APIC and the HPET, wired as described above. */
static int pc_apic_setup(Pc *pc) {
    ApicHooks h = {.ext_pending = pic_intr_pending,
                   .ext_ack = pic_intr_ack,
                   .ext_opaque = pc->pic,
                   .nmi = pc_apic_nmi,
                   .eoi_broadcast = pc_apic_eoi,
                   .tsc_to_ns = pc_tsc_to_ns,
                   .base_changed = pc_apic_base_changed,
                   .opaque = pc};
    pc->apic = apic_new(&pc->clock, 0, &h);
    pc->ioapic = ioapic_new(pc_ioapic_deliver, pc);
    HpetWiring w = {.legacy_changed = pc_hpet_legacy_changed, .opaque = pc};
    for (int i = 0; i < 2; i++)
        w.legacy[i] = (IrqLine){pc_hpet_legacy_irq, pc, i};
    for (int i = 0; i < HPET_GSI_LINES; i++)
        w.gsi[i] = (IrqLine){pc_hpet_gsi, pc, i};
    pc->hpet = hpet_new(&pc->clock, &w);
    if (!pc->apic || !pc->ioapic || !pc->hpet) return -1;
    if (pc_add_mmio(pc, &pc->mmio_apic, APIC_DEFAULT_BASE, APIC_MMIO_SIZE, apic_mmio_read,
                    apic_mmio_write, pc->apic) < 0 ||
        pc_add_mmio(pc, &pc->mmio_ioapic, IOAPIC_BASE, IOAPIC_MMIO_SIZE, ioapic_mmio_read,
                    ioapic_mmio_write, pc->ioapic) < 0 ||
        pc_add_mmio(pc, &pc->mmio_hpet, HPET_BASE, HPET_MMIO_SIZE, hpet_mmio_read, hpet_mmio_write,
                    pc->hpet) < 0)
        return -1;
    pc->piix3->write_hook = pc_piix3_written;
    pc->piix3->opaque = pc;
    CPU *cpu = pc->cpu;
    cpu->irq_pending = apic_intr_pending;
    cpu->irq_ack = apic_intr_ack;
    cpu->irq_opaque = pc->apic;
    cpu->apic_msr_read = pc_apic_msr_read;
    cpu->apic_msr_write = pc_apic_msr_write;
    cpu->apic_opaque = pc;
    cpu->apic_initial_id = 0;
    return 0;
}

static int load_bios(Pc *pc, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open BIOS image %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || st.st_size <= 0 || st.st_size > (16 << 20) ||
        st.st_size % 65536) {
        snprintf(err, errlen,
                 "BIOS image %s: size must be a non-zero multiple of 64 KiB up to 16 MiB", path);
        fclose(f);
        return -1;
    }
    uint32_t size = (uint32_t)st.st_size;
    uint8_t *data = malloc(size);
    if (!data || fread(data, 1, size, f) != size) {
        snprintf(err, errlen, "cannot read BIOS image %s", path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* The whole image ends at 4 GiB; its last 128 KiB (or less) also appears
     * below 1 MiB, where the i440FX's PAM registers can shadow it in RAM. */
    uint32_t isa = size < 0x20000 ? size : 0x20000;
    int rc = physmem_add_rom(pc->pm, (uint32_t)(0x100000000ull - size), size, data);
    if (rc == 0) rc = physmem_set_shadow_rom(pc->pm, 0x100000 - isa, data + size - isa, isa);
    free(data);
    if (rc < 0) snprintf(err, errlen, "cannot map the BIOS image");
    return rc;
}

/* SeaBIOS's device class numbers for a QEMU boot letter: 1 floppy, 2 hard
 * disk, 3 CD-ROM, 4 network (BEV); 0 for a letter it does not know. */
static unsigned boot_class(char c) {
    switch (c) {
    case 'a':
    case 'b': return 1;
    case 'c': return 2;
    case 'd': return 3;
    case 'n':
    case 'o':
    case 'p': return 4;
    default: return 0;
    }
}

bool pc_boot_order_valid(const char *order) {
    size_t n = strlen(order);
    if (n == 0 || n > 3) return false;
    for (size_t i = 0; i < n; i++)
        if (!boot_class(order[i])) return false;
    return true;
}

/* The boot order as SeaBIOS reads it on QEMU machines: the first and
 * second devices in the low and high nibbles of CMOS 0x3D, the third in
 * the high nibble of 0x38 (whose bit 0, left clear, would skip the floppy
 * boot-signature check). */
static void cmos_boot_order(Pc *pc) {
    const char *order = pc->cfg.boot_order ? pc->cfg.boot_order : "cad";
    unsigned v[3] = {0, 0, 0};
    for (size_t i = 0; i < 3 && order[i]; i++)
        v[i] = boot_class(order[i]);
    cmos_set(pc->cmos, 0x3D, (uint8_t)(v[0] | v[1] << 4));
    cmos_set(pc->cmos, 0x38, (uint8_t)(v[2] << 4));
}

/* The BIOS memory-size bytes, as a PC BIOS and SeaBIOS read them: RAM
 * above 1 MiB in KiB (0x17/0x18, 0x30/0x31, at most 0xFFFF), RAM from 16 MiB
 * to the PCI hole in 64 KiB units (0x34/0x35) and RAM above 4 GiB in 64 KiB
 * units (0x5B-0x5D), as QEMU's PC sets them. */
static void cmos_memory_setup(Pc *pc) {
    uint32_t below = pc->pm->ram_below;
    uint32_t ext_kb = below > (1u << 20) ? (below >> 10) - 1024 : 0;
    if (ext_kb > 0xFFFF) ext_kb = 0xFFFF;
    cmos_set(pc->cmos, 0x15, 640 & 0xFF);
    cmos_set(pc->cmos, 0x16, 640 >> 8);
    cmos_set(pc->cmos, 0x17, ext_kb & 0xFF);
    cmos_set(pc->cmos, 0x18, ext_kb >> 8);
    cmos_set(pc->cmos, 0x30, ext_kb & 0xFF);
    cmos_set(pc->cmos, 0x31, ext_kb >> 8);
    uint32_t above16 = below > (16u << 20) ? (below - (16u << 20)) >> 16 : 0;
    if (above16 > 0xFFFF) above16 = 0xFFFF;
    cmos_set(pc->cmos, 0x34, above16 & 0xFF);
    cmos_set(pc->cmos, 0x35, above16 >> 8);
    uint64_t above4g = pc->pm->ram_above >> 16;
    cmos_set(pc->cmos, 0x5B, (uint8_t)above4g);
    cmos_set(pc->cmos, 0x5C, (uint8_t)(above4g >> 8));
    cmos_set(pc->cmos, 0x5D, (uint8_t)(above4g >> 16));
    cmos_set(pc->cmos, 0x14, 0x02); /* equipment: math coprocessor, EGA/VGA display, no floppy */
    cmos_boot_order(pc);
}

/* The VGA BIOS (and the network card's boot ROM) go to the firmware as
 * fw_cfg file "pciVVVV,DDDD.rom": SeaBIOS runs it as the option ROM of that
 * PCI device (with its address, so the BIOS finds BAR0), as QEMU does for
 * a device without a ROM BAR. */
static int load_pci_rom(Pc *pc, const char *path, const char *file, const char *what, char *err,
                        size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || st.st_size < 512 || st.st_size > 0x20000) {
        snprintf(err, errlen, "%s %s: size must be 512 bytes to 128 KiB", what, path);
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size);
    if (!data || fread(data, 1, size, f) != size || data[0] != 0x55 || data[1] != 0xAA) {
        snprintf(err, errlen, "%s %s: not an option ROM image", what, path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    int rc = fwcfg_add_file(pc->fwcfg, file, data, size);
    free(data);
    if (rc < 0) snprintf(err, errlen, "cannot add the %s to fw_cfg", what);
    return rc < 0 ? -1 : 0;
}

static void fwcfg_setup(Pc *pc) {
    fwcfg_add_i64(pc->fwcfg, FW_CFG_RAM_SIZE, physmem_ram_size(pc->pm));
    fwcfg_add_i16(pc->fwcfg, FW_CFG_NB_CPUS, 1);
    fwcfg_add_i16(pc->fwcfg, FW_CFG_MAX_CPUS, 1);
    fwcfg_add_i16(pc->fwcfg, FW_CFG_BOOT_MENU, pc->cfg.boot_menu ? 1 : 0);
    /* ISA IRQ 0 reaches I/O APIC pin 2: SeaBIOS's MADT and MP table say so. */
    fwcfg_add_i32(pc->fwcfg, FW_CFG_IRQ0_OVERRIDE, 1);
    /* etc/e820: {u64 address, u64 length, u32 type}, little endian, packed:
     * the RAM below the PCI hole and the RAM from 4 GiB. */
    uint8_t e820[40] = {0};
    const uint64_t e820_at[2] = {0, PHYS_4G}, e820_len[2] = {pc->pm->ram_below, pc->pm->ram_above};
    size_t n820 = 0;
    for (int k = 0; k < 2; k++) {
        if (!e820_len[k]) continue;
        for (int i = 0; i < 8; i++) {
            e820[20 * n820 + i] = (uint8_t)(e820_at[k] >> (8 * i));
            e820[20 * n820 + 8 + i] = (uint8_t)(e820_len[k] >> (8 * i));
        }
        e820[20 * n820 + 16] = 1; /* RAM */
        n820++;
    }
    fwcfg_add_file(pc->fwcfg, "etc/e820", e820, 20 * n820);
    /* SeaBIOS's console (its menus, INT 10h text of boot loaders) also goes
     * to COM1: with a VGA it mirrors the screen there ("split mode"),
     * without one COM1 is the console, as with QEMU -nographic. */
    static const uint8_t sercon[2] = {0xF8, 0x03};
    fwcfg_add_file(pc->fwcfg, "etc/sercon-port", sercon, sizeof sercon);
    /* Sleep states for the firmware's ACPI tables: S3 and S4 not offered
     * (bit 7 clear), so \_S5 (power off) is the only one. */
    static const uint8_t system_states[6] = {0x80, 0, 0, 0x01, 0x02, 0x80};
    fwcfg_add_file(pc->fwcfg, "etc/system-states", system_states, sizeof system_states);
}

/* The virtio devices of cfg (see PcConfig), at their fixed slots. */
static int pc_virtio_setup(Pc *pc, const PcConfig *cfg, char *err, size_t errlen) {
    for (int i = 0; i < 2; i++) {
        const PcDrive *dr = &cfg->virtio_drive[i];
        if (!dr->file) continue;
        DiskMode mode = dr->read_only                   ? DISK_RO
                        : cfg->snapshot || dr->snapshot ? DISK_SNAPSHOT
                                                        : DISK_RW;
        DiskOptions opts = {dr->format, dr->cache};
        char derr[400];
        pc->vdisks[i] = disk_open_with(dr->file, mode, 512, &opts, derr, sizeof derr);
        if (!pc->vdisks[i]) {
            snprintf(err, errlen, "virtio disk image %s", derr);
            return -1;
        }
        if (mode == DISK_RW && disk_read_only(pc->vdisks[i]))
            fprintf(stderr, "bt86: disk image %s is read-only: opened read-only\n", dr->file);
        int slot = 5 + i;
        pc->vblk[i] = virtio_blk_new(pc->pm, pc->io, pc_pci_intx_line(pc, slot, 0), pc->vdisks[i],
                                     &pc->io_stats);
        if (!pc->vblk[i] ||
            !virtio_pci_init(virtio_blk_dev(pc->vblk[i]), pc->pci, PCI_DEVFN(slot, 0), 0x0100))
            goto internal;
    }
    if (cfg->virtio_net_port) {
        pc->vnet = virtio_net_new(pc->pm, pc->io, pc_pci_intx_line(pc, 4, 0), cfg->virtio_net_mac,
                                  cfg->virtio_net_port, &pc->io_stats);
        if (!pc->vnet ||
            !virtio_pci_init(virtio_net_dev(pc->vnet), pc->pci, PCI_DEVFN(4, 0), 0x0200))
            goto internal;
    }
    if (cfg->virtio_console_tx) {
        pc->vcon =
            virtio_console_new(pc->pm, pc->io, pc_pci_intx_line(pc, 7, 0), cfg->virtio_console_tx,
                               cfg->virtio_console_opaque, &pc->io_stats);
        if (!pc->vcon ||
            !virtio_pci_init(virtio_console_dev(pc->vcon), pc->pci, PCI_DEVFN(7, 0), 0x0780))
            goto internal;
    }
    if (cfg->virtio_rng) {
        pc->vrng = virtio_rng_new(pc->pm, pc->io, pc_pci_intx_line(pc, 8, 0), !cfg->host_clock,
                                  &pc->io_stats);
        if (!pc->vrng ||
            !virtio_pci_init(virtio_rng_dev(pc->vrng), pc->pci, PCI_DEVFN(8, 0), 0x00FF))
            goto internal;
    }
    return 0;
internal:
    snprintf(err, errlen, "internal error: virtio setup");
    return -1;
}

IoStats *pc_io_stats(Pc *pc) {
    return &pc->io_stats;
}

bool pc_parse_mem_size(const char *s, uint32_t *mb, char *err, size_t errlen) {
    const char *p = s;
    if (strncmp(p, "size=", 5) == 0) p += 5;
    /* digits, an optional fraction, an optional unit; MiB by default */
    uint64_t whole = 0, frac = 0, frac_div = 1;
    const char *digits = p;
    bool huge = false;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole < (1ull << 50))
            whole = whole * 10 + (uint64_t)(*p - '0');
        else
            huge = true;
    }
    bool any = p != digits;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            any = true;
            if (frac_div < 1000000ull) { /* six digits: frac << 40 stays in 64 bits */
                frac = frac * 10 + (uint64_t)(*p - '0');
                frac_div *= 10;
            }
            p++;
        }
    }
    unsigned shift = 20;
    switch (*p) {
    case 'b':
    case 'B':
        shift = 0;
        p++;
        break;
    case 'k':
    case 'K':
        shift = 10;
        p++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        p++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        p++;
        break;
    case 't':
    case 'T':
        shift = 40;
        p++;
        break;
    default: break;
    }
    if (!any || *p || (shift == 0 && frac)) {
        snprintf(err, errlen,
                 "-m: bad memory size '%s' (a number of MiB, or with a suffix K, M, G or T)", s);
        return false;
    }
    if (huge || whole >> (63 - shift)) goto too_big;
    {
        uint64_t bytes = (whole << shift) + (frac << shift) / frac_div;
        uint64_t mib = (bytes + (1u << 20) - 1) >> 20; /* whole MiB, rounded up */
        if (mib == 0) {
            snprintf(err, errlen, "-m: memory size '%s' is zero", s);
            return false;
        }
        if (mib > PHYS_RAM_MAX >> 20) goto too_big;
        *mb = (uint32_t)mib;
        return true;
    }
too_big:
    snprintf(err, errlen, "-m: memory size '%s' is more than bt86's %llu GiB", s,
             (unsigned long long)(PHYS_RAM_MAX >> 30));
    return false;
}

int pc_check_ram(uint32_t ram_mb, const CpuModel *model, char *err, size_t errlen) {
    uint64_t bytes = (uint64_t)ram_mb << 20;
    if (ram_mb < 2 || bytes > PHYS_RAM_MAX) {
        snprintf(err, errlen, "memory size %u MiB out of range (2 MiB to %llu GiB)", ram_mb,
                 (unsigned long long)(PHYS_RAM_MAX >> 30));
        return -1;
    }
    /* RAM past the PCI hole ends at 4 GiB + the rest: the CPU must reach it
     * (QEMU refuses the same: "phys-bits too low"). */
    uint64_t below = physmem_below_4g(bytes), end = bytes > below ? PHYS_4G + bytes - below : below;
    unsigned bits = model->phys_bits;
    if (end > (1ull << bits)) {
        uint64_t most = (1ull << bits) > PHYS_4G ? (1ull << bits) - PHYS_4G + below : below;
        snprintf(
            err, errlen,
            "-m %u MiB: RAM above the PCI hole would end at 0x%llx, beyond the %u-bit physical "
            "addresses of -cpu %s (at most %llu MiB)",
            ram_mb, (unsigned long long)end, bits, model->name, (unsigned long long)(most >> 20));
        return -1;
    }
    return 0;
}

Pc *pc_new(const PcConfig *cfg, char *err, size_t errlen) {
    const CpuModel *model = cfg->cpu_model ? cfg->cpu_model : cpu_model_default();
    if (pc_check_ram(cfg->ram_mb, model, err, errlen) < 0) return NULL;
    Pc *pc = calloc(1, sizeof *pc);
    if (!pc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pc->cfg = *cfg;
    pc->pm = physmem_new((uint64_t)cfg->ram_mb << 20);
    pc->io = iobus_new();
    if (!pc->pm || !pc->io) {
        snprintf(err, errlen, "cannot map %u MiB of guest RAM on this host", cfg->ram_mb);
        pc_free(pc);
        return NULL;
    }
    if (load_bios(pc, cfg->bios_path, err, errlen) < 0) {
        pc_free(pc);
        return NULL;
    }
    vclock_init(&pc->clock);
    pc->cpu = cpu_new(pc->pm, pc->io);
    if (pc->cpu) {
        cpu_set_model(pc->cpu, model);
        cpu_reset(pc->cpu);
    }
    pc->ns_now = cfg->ns_per_insn ? cfg->ns_per_insn : 1;
    if (cfg->host_clock || cfg->icount_auto) {
        pc->host_base = host_now_ns();
        pc->insns_per_us = 100;
        pc->cpu->tsc_read = pc_tsc_read;
        pc->cpu->tsc_write = pc_tsc_write;
        pc->cpu->tsc_opaque = pc;
    }
    iobus_set_hooks(pc->io, pc_io_before, pc_io_after, pc);
    pc->pic = pic_new();
    pc->pit = pit_new(&pc->clock, pc_isa_line(pc, 0));
    pc->cmos = cmos_new(&pc->clock, pc_isa_line(pc, 8), cfg->rtc_start);
    I8042Callbacks kcb = {pc_reset_line, pc_set_a20, pc};
    pc->kbd = i8042_new(pc_isa_line(pc, 1), pc_isa_line(pc, 12), &kcb);
    pc->com1 = uart_new(0x3F8, &pc->clock, pc_isa_line(pc, 4), cfg->serial_tx, cfg->serial_opaque);
    pc->com2 = uart_new(0x2F8, &pc->clock, pc_isa_line(pc, 3), NULL, NULL);
    pc->fwcfg = fwcfg_new();
    pc->debugcon = debugcon_new(cfg->debugcon_out);
    pc->ide[0] = ide_new(0x1F0, 0x3F6, pc_isa_line(pc, 14));
    pc->ide[1] = ide_new(0x170, 0x376, pc_isa_line(pc, 15));
    for (int i = 0; i < 2; i++)
        if (pc->ide[i]) ide_attach_dma(pc->ide[i], pc->pm, &pc->clock);
    static const char *const drive_names[4] = {"hda", "hdb", "hdc", "hdd"};
    for (int i = 0; i < 4; i++) {
        const PcDrive *dr = &cfg->drive[i];
        if (dr->file && (cfg->hd[i] || (i == 2 && cfg->cdrom))) {
            snprintf(err, errlen, "-drive index=%d and -%s both want the same IDE slot", i,
                     cfg->hd[i] ? drive_names[i] : "cdrom");
            pc_free(pc);
            return NULL;
        }
        const char *file = dr->file ? dr->file : cfg->hd[i];
        if (!file) continue;
        bool cd = dr->file && dr->cdrom;
        DiskMode mode = cd || dr->read_only             ? DISK_RO
                        : cfg->snapshot || dr->snapshot ? DISK_SNAPSHOT
                                                        : DISK_RW;
        DiskOptions opts = {dr->file ? dr->format : DISK_FORMAT_PROBE,
                            dr->file ? dr->cache : DISK_CACHE_WRITEBACK};
        char derr[400];
        pc->disks[i] = disk_open_with(file, mode, cd ? 2048 : 512, &opts, derr, sizeof derr);
        if (!pc->disks[i]) {
            snprintf(err, errlen, "%s image %s", cd ? "CD-ROM" : "disk", derr);
            pc_free(pc);
            return NULL;
        }
        if (mode == DISK_RW && disk_read_only(pc->disks[i]))
            fprintf(stderr,
                    "bt86: disk image %s is read-only: opened read-only (the guest's writes fail; "
                    "-snapshot keeps them in memory)\n",
                    file);
        if (mode == DISK_RW && disk_probed_raw(pc->disks[i]))
            fprintf(stderr,
                    "bt86: warning: Image format was not specified for '%s' and probing guessed "
                    "raw.\n         Guessing is unsafe for raw images, so the guest may not write "
                    "a qcow2 header into its sector 0.\n         Give the format to lift that "
                    "(-drive file=%s,format=raw).\n",
                    file, file);
        if (cd)
            ide_attach_cdrom(pc->ide[i / 2], i % 2, pc->disks[i]);
        else
            ide_attach_disk(pc->ide[i / 2], i % 2, pc->disks[i]);
    }
    if (cfg->cdrom) {
        char derr[400];
        if (cfg->hd[2]) {
            snprintf(err, errlen, "-cdrom and -hdc both want the secondary master");
            pc_free(pc);
            return NULL;
        }
        pc->cdrom = disk_open(cfg->cdrom, DISK_RO, 2048, derr, sizeof derr);
        if (!pc->cdrom) {
            snprintf(err, errlen, "CD-ROM image %s", derr);
            pc_free(pc);
            return NULL;
        }
        ide_attach_cdrom(pc->ide[1], 0, pc->cdrom);
    } else if (!cfg->hd[2] && !cfg->drive[2].file) {
        ide_attach_cdrom(pc->ide[1], 0, NULL); /* like QEMU's PC: an empty drive */
    }
    if (cfg->boot_order && !pc_boot_order_valid(cfg->boot_order)) {
        snprintf(err, errlen, "bad boot order '%s' (up to 3 of a, c, d, n)", cfg->boot_order);
        pc_free(pc);
        return NULL;
    }
    pc->pci = pci_bus_new();
    if (!pc->pci || !i440fx_init(pc->pci, pc->pm) || !(pc->piix3 = piix3_init(pc->pci)) ||
        !(pc->piix_ide = piix3_ide_init(pc->pci, pc->io, pc->ide[0], pc->ide[1]))) {
        snprintf(err, errlen, "internal error: PCI setup");
        pc_free(pc);
        return NULL;
    }
    if (cfg->vga) {
        pc->vga = vga_new(&pc->clock);
        if (!pc->vga || vga_register(pc->vga, pc->io, pc->pm) < 0 ||
            !vga_pci_init(pc->vga, pc->pci, PCI_DEVFN(2, 0))) {
            snprintf(err, errlen, "internal error: VGA setup");
            pc_free(pc);
            return NULL;
        }
        if (cfg->vgabios_path &&
            load_pci_rom(pc, cfg->vgabios_path, "pci1234,1111.rom", "VGA BIOS", err, errlen) < 0) {
            pc_free(pc);
            return NULL;
        }
    }
    if (cfg->nic_port) {
        /* 00:03.0 INTA# meets PIRQC (see pc_intx). */
        pc->nic =
            e1000_new(pc->pm, pc->io, cfg->nic_mac, pc_pci_intx_line(pc, 3, 0), cfg->nic_port);
        if (!pc->nic || !e1000_pci_init(pc->nic, pc->pci, PCI_DEVFN(3, 0))) {
            snprintf(err, errlen, "internal error: network card setup");
            pc_free(pc);
            return NULL;
        }
        if (cfg->nic_rom_path && load_pci_rom(pc, cfg->nic_rom_path, "pci8086,100e.rom",
                                              "network boot ROM", err, errlen) < 0) {
            pc_free(pc);
            return NULL;
        }
    }
    if (pc_virtio_setup(pc, cfg, err, errlen) < 0) {
        pc_free(pc);
        return NULL;
    }
    for (int i = 0; i < 2; i++)
        if (pc->ide[i]) ide_set_stats(pc->ide[i], &pc->io_stats);
    pc->acpi = acpi_pm_new(pc->pci, pc->io, &pc->clock, pc_isa_line(pc, 9), pc_poweroff, pc);
    if (!pc->acpi || acpi_pm_register(pc->acpi) < 0) {
        snprintf(err, errlen, "internal error: ACPI setup");
        pc_free(pc);
        return NULL;
    }
    if (pic_register(pc->pic, pc->io) < 0 || pit_register(pc->pit, pc->io) < 0 ||
        cmos_register(pc->cmos, pc->io) < 0 || i8042_register(pc->kbd, pc->io) < 0 ||
        uart_register(pc->com1, pc->io) < 0 || uart_register(pc->com2, pc->io) < 0 ||
        fwcfg_register(pc->fwcfg, pc->io) < 0 || debugcon_register(pc->debugcon, pc->io) < 0 ||
        pci_bus_register(pc->pci, pc->io) < 0 || ide_register(pc->ide[0], pc->io) < 0 ||
        ide_register(pc->ide[1], pc->io) < 0 ||
        iobus_register(pc->io, 0x80, 1, post_read, post_write, pc) < 0 ||
        iobus_register(pc->io, 0xF0, 1, fpu_port_read, fpu_port_write, pc) < 0) {
        snprintf(err, errlen, "internal error: I/O port conflict");
        pc_free(pc);
        return NULL;
    }
    if (pc_apic_setup(pc) < 0) {
        snprintf(err, errlen, "internal error: APIC setup");
        pc_free(pc);
        return NULL;
    }
    pc->cpu->ferr = pc_ferr;
    pc->cpu->ferr_opaque = pc;
    pci_bus_set_reset(pc->pci, pc_reset_line, pc);
    cmos_memory_setup(pc);
    fwcfg_setup(pc);
    fwcfg_attach_dma(pc->fwcfg, pc->pm);
    if (cfg->virtio_boot && pc->vblk[0] && !cfg->kernel) {
        /* SeaBIOS matches the slot ("/pci@i0cf8/ *@5"), as QEMU's bootindex. */
        static const char order[] = "/pci@i0cf8/scsi@5/disk@0,0\n";
        if (fwcfg_add_file(pc->fwcfg, "bootorder", order, sizeof order - 1) < 0) {
            snprintf(err, errlen, "internal error: bootorder");
            pc_free(pc);
            return NULL;
        }
    }
    if (cfg->kernel && linuxboot_setup(pc->fwcfg, pc->pm->ram_below, cfg->kernel, cfg->initrd,
                                       cfg->append, err, errlen) < 0) {
        pc_free(pc);
        return NULL;
    }
    pci_bus_save_power_on(pc->pci);
    return pc;
}

void pc_free(Pc *pc) {
    if (!pc) return;
    cpu_free(pc->cpu);
    pit_free(pc->pit);
    cmos_free(pc->cmos);
    uart_free(pc->com1);
    uart_free(pc->com2);
    i8042_free(pc->kbd);
    fwcfg_free(pc->fwcfg);
    debugcon_free(pc->debugcon);
    pic_free(pc->pic);
    apic_free(pc->apic);
    ioapic_free(pc->ioapic);
    hpet_free(pc->hpet);
    acpi_pm_free(pc->acpi);
    e1000_free(pc->nic);
    virtio_net_free(pc->vnet);
    virtio_console_free(pc->vcon);
    virtio_rng_free(pc->vrng);
    for (int i = 0; i < 2; i++) {
        virtio_blk_free(pc->vblk[i]);
        disk_close(pc->vdisks[i]);
    }
    pci_bus_free(pc->pci);
    piix3_ide_free(pc->piix_ide);
    vga_free(pc->vga);
    for (int i = 0; i < 2; i++)
        ide_free(pc->ide[i]);
    for (int i = 0; i < 4; i++)
        disk_close(pc->disks[i]);
    disk_close(pc->cdrom);
    iobus_free(pc->io);
    physmem_free(pc->pm);
    free(pc);
}

CPU *pc_cpu(Pc *pc) {
    return pc->cpu;
}
Vga *pc_vga(Pc *pc) {
    return pc->vga;
}
I8042 *pc_keyboard(Pc *pc) {
    return pc->kbd;
}
PhysMem *pc_physmem(Pc *pc) {
    return pc->pm;
}

IoBus *pc_iobus(Pc *pc) {
    return pc->io;
}

VClock *pc_clock(Pc *pc) {
    return &pc->clock;
}
void pc_power_button(Pc *pc) {
    acpi_pm_power_button(pc->acpi);
}

size_t pc_serial_input(Pc *pc, const uint8_t *buf, size_t len) {
    return uart_receive(pc->com1, buf, len);
}

void pc_reset(Pc *pc) {
    pic_reset(pc->pic);
    pit_reset(pc->pit);
    cmos_reset(pc->cmos);
    i8042_reset(pc->kbd); /* A20 enabled again */
    uart_reset(pc->com1);
    uart_reset(pc->com2);
    fwcfg_reset(pc->fwcfg);
    for (int i = 0; i < 2; i++)
        ide_reset(pc->ide[i]);
    if (pc->vga) vga_reset(pc->vga);
    acpi_pm_reset(pc->acpi);
    if (pc->nic) e1000_reset(pc->nic);
    if (pc->vnet) virtio_reset(virtio_net_dev(pc->vnet));
    if (pc->vcon) virtio_reset(virtio_console_dev(pc->vcon));
    if (pc->vrng) virtio_reset(virtio_rng_dev(pc->vrng));
    for (int i = 0; i < 2; i++)
        if (pc->vblk[i]) virtio_reset(virtio_blk_dev(pc->vblk[i]));
    pci_bus_reset(pc->pci); /* PAM: the BIOS reads from ROM again; BARs and the PM base unmapped */
    pc_isa_irq(pc, 13, 0);  /* FERR# released */
    if (pc->apic) {
        apic_reset(pc->apic);
        ioapic_reset(pc->ioapic);
        hpet_reset(pc->hpet);
    }
    pc->powered_off = false;
    cpu_reset(pc->cpu);
    pc->tsc_base = pc->tsc_last = 0;
    pc->tsc_base_ns = vclock_now(&pc->clock);
}

#define SLICE_MAX 100000

uint64_t pc_idle_ns(Pc *pc) {
    uint64_t deadline = vclock_next_deadline(&pc->clock);
    if (deadline == VCLOCK_NEVER) return UINT64_MAX;
    uint64_t now = pc->cfg.host_clock ? pc_host_vtime(pc) : vclock_now(&pc->clock);
    return deadline > now ? deadline - now : 0;
}

/* Host-clock mode: run slices sized to end near the next timer deadline,
 * catching virtual time up with the host after each; a waiting CPU
 * returns PC_EXIT_IDLE so the caller can sleep. */
static PcExit pc_run_host(Pc *pc, uint64_t max_insns) {
    CPU *cpu = pc->cpu;
    uint64_t start = cpu->icount;
    for (;;) {
        uint64_t done = cpu->icount - start;
        if (done >= max_insns) return PC_EXIT_INSN_LIMIT;
        vclock_advance(&pc->clock, pc_host_vtime(pc));
        uint64_t now = vclock_now(&pc->clock), deadline = vclock_next_deadline(&pc->clock);
        uint64_t slice = deadline == VCLOCK_NEVER
                             ? SLICE_MAX
                             : pc_insns_for(pc, deadline > now ? deadline - now : 0);
        if (slice > SLICE_MAX) slice = SLICE_MAX;
        if (slice > max_insns - done) slice = max_insns - done;
        uint64_t before = cpu->icount, t0 = host_now_ns();
        pc->in_slice = true;
        CpuExit e = cpu_run(cpu, slice);
        pc->in_slice = false;
        uint64_t ran = cpu->icount - before, t1 = host_now_ns();
        /* Re-estimate the speed from slices long enough to measure. */
        if (ran >= 10000 && t1 - t0 >= 20000) {
            uint64_t rate = ran * 1000 / (t1 - t0);
            if (rate < 1) rate = 1;
            pc->insns_per_us = (pc->insns_per_us * 3 + rate) / 4;
            if (pc->insns_per_us < 1) pc->insns_per_us = 1;
        }
        vclock_advance(&pc->clock, pc_host_vtime(pc));
        switch (e) {
        case CPU_EXIT_RESET: return PC_EXIT_RESET;
        case CPU_EXIT_REQUEST: return pc->powered_off ? PC_EXIT_POWEROFF : PC_EXIT_REQUEST;
        case CPU_EXIT_BREAK: return PC_EXIT_DEBUG;
        case CPU_EXIT_HALT:
            if (!(cpu->eflags & FL_IF) && !cpu->nmi_pending) return PC_EXIT_HALTED;
            /* An interrupt that came due meanwhile wakes it at once. */
            if (cpu->nmi_pending || cpu->irq_pending(cpu->irq_opaque)) break;
            return PC_EXIT_IDLE;
        default: break;
        }
    }
}

/* -icount auto: every 100 ms of host time, halve or double the time per
 * instruction when virtual time has run more than 100 ms ahead of or
 * behind the host's. */
static void pc_icount_adjust(Pc *pc) {
    if (pc->auto_replayed) return; /* the log decides (pc_auto_apply) */
    uint64_t host = host_now_ns() - pc->host_base;
    if (host < pc->auto_next) return;
    pc->auto_next = host + 100000000u;
    uint64_t v = vclock_now(&pc->clock);
    uint64_t was = pc->ns_now;
    if (v > host + 100000000u && pc->ns_now > 1)
        pc->ns_now /= 2;
    else if (v + 100000000u < host && pc->ns_now < 1024)
        pc->ns_now *= 2;
    if (pc->ns_now != was && pc->auto_log)
        pc->auto_log(pc->auto_opaque, pc->cpu->icount, PC_AUTO_PACE, pc->ns_now);
}

void pc_auto_set_log(Pc *pc, PcAutoLog fn, void *opaque) {
    pc->auto_log = fn;
    pc->auto_opaque = opaque;
}

void pc_auto_set_replayed(Pc *pc) {
    pc->auto_replayed = true;
}

void pc_auto_apply(Pc *pc, PcAutoEvent kind, uint64_t value) {
    if (kind == PC_AUTO_PACE)
        pc->ns_now = value < 1 ? 1 : value > 1024 ? 1024 : value;
    else
        vclock_advance(&pc->clock, vclock_now(&pc->clock) +
                                       (value > PC_AUTO_IDLE_MAX_NS ? PC_AUTO_IDLE_MAX_NS : value));
}

PcExit pc_run(Pc *pc, uint64_t max_insns) {
    if (pc->cfg.host_clock) return pc_run_host(pc, max_insns);
    CPU *cpu = pc->cpu;
    uint64_t start = cpu->icount;
    if (pc->idle_from) { /* -icount auto: idle time passes as on the host */
        uint64_t slept = host_now_ns() - pc->idle_from;
        if (slept > PC_AUTO_IDLE_MAX_NS) slept = PC_AUTO_IDLE_MAX_NS;
        if (pc->auto_log) pc->auto_log(pc->auto_opaque, cpu->icount, PC_AUTO_IDLE, slept);
        vclock_advance(&pc->clock, vclock_now(&pc->clock) + slept);
        pc->idle_from = 0;
    }
    for (;;) {
        uint64_t done = cpu->icount - start;
        if (done >= max_insns) return PC_EXIT_INSN_LIMIT;
        if (pc->cfg.icount_auto) pc_icount_adjust(pc);
        uint64_t ns = pc_ns_per_insn(pc);
        uint64_t now = vclock_now(&pc->clock), deadline = vclock_next_deadline(&pc->clock);
        uint64_t slice =
            deadline == VCLOCK_NEVER ? SLICE_MAX : (deadline > now ? (deadline - now) / ns : 0);
        if (slice == 0) slice = 1;
        if (slice > SLICE_MAX) slice = SLICE_MAX;
        if (slice > max_insns - done) slice = max_insns - done;
        uint64_t before = cpu->icount;
        pc->in_slice = true;
        pc->slice_ns = now;
        pc->slice_icount = before;
        CpuExit e = cpu_run(cpu, slice);
        pc->in_slice = false;
        vclock_advance(&pc->clock, now + (cpu->icount - before) * ns);
        switch (e) {
        case CPU_EXIT_RESET: return PC_EXIT_RESET;
        case CPU_EXIT_REQUEST: return pc->powered_off ? PC_EXIT_POWEROFF : PC_EXIT_REQUEST;
        case CPU_EXIT_BREAK: return PC_EXIT_DEBUG;
        case CPU_EXIT_HALT:
            if (!(cpu->eflags & FL_IF) && !cpu->nmi_pending) return PC_EXIT_HALTED;
            if (vclock_next_deadline(&pc->clock) == VCLOCK_NEVER) return PC_EXIT_HALTED;
            if (pc->cfg.icount_auto) {
                if (cpu->nmi_pending || cpu->irq_pending(cpu->irq_opaque)) break;
                /* The caller sleeps (see above); replaying, it applies the
                 * logged skip instead. */
                if (!pc->auto_replayed) pc->idle_from = host_now_ns();
                return PC_EXIT_IDLE;
            }
            {
                /* Idle until the next event; the TSC keeps counting meanwhile
                 * (one tick per ns_per_insn of virtual time, as when running). */
                uint64_t from = vclock_now(&pc->clock), to = vclock_next_deadline(&pc->clock);
                cpu->tsc_offset += (to - from) / ns;
                vclock_advance(&pc->clock, to);
                break;
            }
        default: break;
        }
    }
}

/* ---------------- snapshots ---------------- */

/* The machine's own state: power, and the TSC in host-clock mode. */
static void pc_state_save(Pc *pc, SnapWriter *w) {
    snap_put_bool(w, pc->powered_off);
    snap_put_u64(w, pc->tsc_base);
    snap_put_u64(w, pc->tsc_base_ns);
    snap_put_u64(w, pc->tsc_last);
    snap_put_u64(w, pc->ns_now); /* version 2: -icount auto's pace */
}

static bool pc_state_load(Pc *pc, SnapReader *r) {
    if (!snap_version(r, 2)) return false;
    bool off = snap_get_bool(r);
    uint64_t base = snap_get_u64(r), base_ns = snap_get_u64(r), last = snap_get_u64(r);
    uint64_t ns = r->version >= 2 ? snap_get_u64(r) : pc->ns_now;
    if (!snap_finish(r)) return false;
    if (ns < 1 || ns > 1024) {
        snap_fail(r, "time per instruction %llu ns out of range", (unsigned long long)ns);
        return false;
    }
    if (!r->apply) return true;
    /* -icount auto: the pace goes on as saved; a fixed shift=N keeps its own. */
    if (pc->cfg.icount_auto) pc->ns_now = ns;
    pc->powered_off = off;
    pc->tsc_base = base;
    pc->tsc_base_ns = base_ns;
    pc->tsc_last = last;
    /* Host time goes on from the loaded virtual time (wrapping arithmetic). */
    pc->host_base = host_now_ns() - vclock_now(&pc->clock);
    pc->auto_next = pc->idle_from = 0;
    return true;
}

/* The interrupt wiring's memory of who holds which input (the inputs'
 * levels themselves are in the PIC's and I/O APIC's sections). */
static void pc_wiring_save(Pc *pc, SnapWriter *w) {
    for (int i = 0; i < 16; i++)
        snap_put_u32(w, pc->pic_src[i]);
    for (int i = 0; i < IOAPIC_PINS; i++)
        snap_put_u32(w, pc->pin_src[i]);
    snap_put_u16(w, pc->isa_level);
    snap_put_u8(w, pc->pirq_level);
    for (int i = 0; i < 4; i++)
        snap_put_u32(w, pc->intx_level[i]);
    snap_put_bool(w, pc->hpet_legacy);
}

static bool pc_wiring_load(Pc *pc, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    uint32_t pic_src[16], pin_src[IOAPIC_PINS], intx[4];
    for (int i = 0; i < 16; i++)
        pic_src[i] = snap_get_u32(r);
    for (int i = 0; i < IOAPIC_PINS; i++)
        pin_src[i] = snap_get_u32(r);
    uint16_t isa = snap_get_u16(r);
    uint8_t pirq = snap_get_u8(r);
    for (int i = 0; i < 4; i++)
        intx[i] = snap_get_u32(r);
    bool legacy = snap_get_bool(r);
    snap_check(r, pirq < 16, "bad PIRQ levels");
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    memcpy(pc->pic_src, pic_src, sizeof pic_src);
    memcpy(pc->pin_src, pin_src, sizeof pin_src);
    pc->isa_level = isa;
    pc->pirq_level = pirq;
    memcpy(pc->intx_level, intx, sizeof intx);
    pc->hpet_legacy = legacy;
    return true;
}

/* One section: its tag, version, and the part of the machine it holds. */
typedef enum PartKind {
    PART_CLOCK,
    PART_RAM,
    PART_CPU,
    PART_PIC,
    PART_PIT,
    PART_CMOS,
    PART_KBD,
    PART_UART,
    PART_FWCFG,
    PART_DEBUGCON,
    PART_IDE,
    PART_DISK,
    PART_VGA,
    PART_ACPI,
    PART_PCI,
    PART_PC,
    PART_NIC,
    PART_VBLK,
    PART_VNET,
    PART_VCON,
    PART_VRNG,
    PART_APIC,
    PART_IOAPIC,
    PART_HPET,
    PART_IRQWIRE,
} PartKind;

typedef struct PcPart {
    char tag[SNAP_TAG_LEN + 1];
    PartKind kind;
    void *dev;
} PcPart;

#define PC_MAX_PARTS 40

/* The sections this machine has, in the order they are applied: the clock
 * first (it empties the timer queue the devices then fill), PCI late (its
 * write hooks remap what the other devices hold). */
static int pc_parts(Pc *pc, PcPart *p) {
    int n = 0;
#define PART(t, k, d) (snprintf(p[n].tag, sizeof p[n].tag, "%s", t), p[n].kind = k, p[n++].dev = d)
    PART("clock", PART_CLOCK, &pc->clock);
    PART("ram", PART_RAM, pc->pm);
    PART("cpu", PART_CPU, pc->cpu);
    PART("pic", PART_PIC, pc->pic);
    PART("pit", PART_PIT, pc->pit);
    PART("cmos", PART_CMOS, pc->cmos);
    PART("i8042", PART_KBD, pc->kbd);
    PART("com1", PART_UART, pc->com1);
    PART("com2", PART_UART, pc->com2);
    PART("fwcfg", PART_FWCFG, pc->fwcfg);
    PART("debugcon", PART_DEBUGCON, pc->debugcon);
    static const char *const hd[4] = {"hda", "hdb", "hdc", "hdd"};
    for (int i = 0; i < 4; i++) /* before the IDE channels: "another image" comes first */
        if (pc->disks[i]) PART(hd[i], PART_DISK, pc->disks[i]);
    if (pc->cdrom) PART("cdrom", PART_DISK, pc->cdrom);
    PART("ide0", PART_IDE, pc->ide[0]);
    PART("ide1", PART_IDE, pc->ide[1]);
    if (pc->vga) PART("vga", PART_VGA, pc->vga);
    PART("acpi", PART_ACPI, pc->acpi);
    if (pc->nic) PART("e1000", PART_NIC, pc->nic);
    static const char *const vd[2][2] = {{"vda", "vblk0"}, {"vdb", "vblk1"}};
    for (int i = 0; i < 2; i++)
        if (pc->vblk[i]) {
            PART(vd[i][0], PART_DISK, pc->vdisks[i]);
            PART(vd[i][1], PART_VBLK, pc->vblk[i]);
        }
    if (pc->vnet) PART("vnet", PART_VNET, pc->vnet);
    if (pc->vcon) PART("vcon", PART_VCON, pc->vcon);
    if (pc->vrng) PART("vrng", PART_VRNG, pc->vrng);
    /* The interrupt chips and the wiring's state before PCI, whose PIIX3
     * write hook re-drives the PIRQ inputs from the loaded levels. */
    PART("apic", PART_APIC, pc->apic);
    PART("ioapic", PART_IOAPIC, pc->ioapic);
    PART("hpet", PART_HPET, pc->hpet);
    PART("irqwire", PART_IRQWIRE, pc);
    PART("pci", PART_PCI, pc->pci);
    PART("pc", PART_PC, pc);
#undef PART
    return n;
}

static void part_save(Pc *pc, const PcPart *p, SnapWriter *w) {
    switch (p->kind) {
    case PART_CLOCK: vclock_save(p->dev, w); break;
    case PART_RAM: physmem_save(p->dev, w); break;
    case PART_CPU: cpu_save(p->dev, w); break;
    case PART_PIC: pic_save(p->dev, w); break;
    case PART_PIT: pit_save(p->dev, w); break;
    case PART_CMOS: cmos_save(p->dev, w); break;
    case PART_KBD: i8042_save(p->dev, w); break;
    case PART_UART: uart_save(p->dev, w); break;
    case PART_FWCFG: fwcfg_save(p->dev, w); break;
    case PART_DEBUGCON: debugcon_save(p->dev, w); break;
    case PART_IDE: ide_save(p->dev, w); break;
    case PART_DISK: disk_save(p->dev, w); break;
    case PART_VGA: vga_save(p->dev, w); break;
    case PART_ACPI: acpi_pm_save(p->dev, w); break;
    case PART_PCI: pci_bus_save(p->dev, w); break;
    case PART_PC: pc_state_save(pc, w); break;
    case PART_NIC: e1000_save(p->dev, w); break;
    case PART_VBLK: virtio_blk_save(p->dev, w); break;
    case PART_VNET: virtio_net_save(p->dev, w); break;
    case PART_VCON: virtio_console_save(p->dev, w); break;
    case PART_VRNG: virtio_rng_save(p->dev, w); break;
    case PART_APIC: apic_save(p->dev, w); break;
    case PART_IOAPIC: ioapic_save(p->dev, w); break;
    case PART_HPET: hpet_save(p->dev, w); break;
    case PART_IRQWIRE: pc_wiring_save(pc, w); break;
    }
}

static bool part_load(Pc *pc, const PcPart *p, SnapReader *r) {
    switch (p->kind) {
    case PART_CLOCK: return vclock_load(p->dev, r);
    case PART_RAM: return physmem_load(p->dev, r);
    case PART_CPU: return cpu_load(p->dev, r);
    case PART_PIC: return pic_load(p->dev, r);
    case PART_PIT: return pit_load(p->dev, r);
    case PART_CMOS: return cmos_load(p->dev, r);
    case PART_KBD: return i8042_load(p->dev, r);
    case PART_UART: return uart_load(p->dev, r);
    case PART_FWCFG: return fwcfg_load(p->dev, r);
    case PART_DEBUGCON: return debugcon_load(p->dev, r);
    case PART_IDE: return ide_load(p->dev, r);
    case PART_DISK: return disk_load(p->dev, r);
    case PART_VGA: return vga_load(p->dev, r);
    case PART_ACPI: return acpi_pm_load(p->dev, r);
    case PART_PCI: return pci_bus_load(p->dev, r);
    case PART_PC: return pc_state_load(pc, r);
    case PART_NIC: return e1000_load(p->dev, r);
    case PART_VBLK: return virtio_blk_load(p->dev, r);
    case PART_VNET: return virtio_net_load(p->dev, r);
    case PART_VCON: return virtio_console_load(p->dev, r);
    case PART_VRNG: return virtio_rng_load(p->dev, r);
    case PART_APIC: return apic_load(p->dev, r);
    case PART_IOAPIC: return ioapic_load(p->dev, r);
    case PART_HPET: return hpet_load(p->dev, r);
    case PART_IRQWIRE: return pc_wiring_load(pc, r);
    }
    return false;
}

/* Every section's version, as this bt86 writes them. */
static uint32_t part_version(PartKind kind) {
    if (kind == PART_CPU) return CPU_SNAP_VERSION;
    if (kind == PART_PC) return 2;   /* 2: -icount auto's pace */
    if (kind == PART_RAM) return PHYSMEM_SNAP_VERSION;
    return kind == PART_IDE ? 2 : 1; /* IDE 2: bus-master DMA */
}

static uint32_t pc_machine_flags(const Pc *pc) {
    return pc->vga ? SNAP_MACHINE_VGA : 0;
}

int pc_save_snapshot(Pc *pc, uint8_t **data, size_t *len, char *err, size_t errlen) {
    SnapWriter *w = snap_writer_new();
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snap_reserve_header(w);
    PcPart parts[PC_MAX_PARTS];
    int n = pc_parts(pc, parts);
    for (int i = 0; i < n; i++) {
        snap_begin(w, parts[i].tag, part_version(parts[i].kind));
        part_save(pc, &parts[i], w);
        snap_end(w);
    }
    snap_finish_header(w, physmem_ram_size(pc->pm), pc_machine_flags(pc));
    if (w->oom) {
        snprintf(err, errlen, "out of memory while saving");
        snap_writer_free(w);
        return -1;
    }
    *data = w->buf;
    *len = w->len;
    w->buf = NULL;
    snap_writer_free(w);
    return 0;
}

int pc_savevm(Pc *pc, const char *path, char *err, size_t errlen) {
    uint8_t *data;
    size_t len;
    if (pc_save_snapshot(pc, &data, &len, err, errlen) < 0) return -1;
    int rc = snap_write_file(path, data, len, err, errlen);
    free(data);
    return rc;
}

/* Match the file's sections with this machine's parts: each part has
 * exactly one section and no section is left over. */
static bool match_sections(const PcPart *parts, int n, const SnapSection *secs, int nsecs,
                           const SnapSection **found, char *err, size_t errlen) {
    for (int i = 0; i < n; i++) {
        found[i] = NULL;
        for (int j = 0; j < nsecs; j++)
            if (strcmp(secs[j].tag, parts[i].tag) == 0) found[i] = &secs[j];
        if (!found[i]) {
            snprintf(err, errlen,
                     "the snapshot has no '%s' section (saved with another machine "
                     "configuration?)",
                     parts[i].tag);
            return false;
        }
    }
    for (int j = 0; j < nsecs; j++) {
        bool known = false;
        for (int i = 0; i < n; i++)
            known = known || strcmp(secs[j].tag, parts[i].tag) == 0;
        if (!known) {
            snprintf(err, errlen,
                     "the snapshot has a '%s' section this machine has no part for "
                     "(another configuration or a newer bt86)",
                     secs[j].tag);
            return false;
        }
    }
    return true;
}

int pc_load_snapshot(Pc *pc, const uint8_t *data, size_t len, char *err, size_t errlen) {
    SnapHeader h;
    if (!snap_check_file(data, len, &h, err, errlen)) return -1;
    if (h.ram_bytes != physmem_ram_size(pc->pm)) {
        snprintf(
            err, errlen, "the snapshot is of a machine with %llu MiB of RAM, this one has %u MiB",
            (unsigned long long)(h.ram_bytes >> 20), (unsigned)(physmem_ram_size(pc->pm) >> 20));
        return -1;
    }
    if (h.machine_flags != pc_machine_flags(pc)) {
        snprintf(err, errlen, "the snapshot is of a machine %s a VGA, this one %s",
                 (h.machine_flags & SNAP_MACHINE_VGA) ? "with" : "without",
                 pc->vga ? "has one" : "has none");
        return -1;
    }
    SnapSection secs[PC_MAX_PARTS];
    int nsecs = snap_split_sections(data, len, secs, PC_MAX_PARTS, err, errlen);
    if (nsecs < 0) return -1;
    PcPart parts[PC_MAX_PARTS];
    const SnapSection *found[PC_MAX_PARTS];
    int n = pc_parts(pc, parts);
    if (!match_sections(parts, n, secs, nsecs, found, err, errlen)) return -1;
    /* Pass 1 checks everything; pass 2 applies what pass 1 found good. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            SnapReader r;
            snap_reader_init(&r, found[i]->data, found[i]->len, parts[i].tag, found[i]->version,
                             pass == 1);
            if (!part_load(pc, &parts[i], &r)) {
                snprintf(err, errlen, "%s%s", pass ? "internal error while applying: " : "",
                         snap_error(&r));
                return -1;
            }
        }
    }
    pc->in_slice = false;
    if (pc->pm->map_changed) pc->pm->map_changed(pc->pm->map_opaque); /* no stale translation */
    return 0;
}

int pc_loadvm(Pc *pc, const char *path, char *err, size_t errlen) {
    uint8_t *data;
    size_t len;
    if (snap_read_file(path, &data, &len, err, errlen) < 0) return -1;
    int rc = pc_load_snapshot(pc, data, len, err, errlen);
    free(data);
    return rc;
}
