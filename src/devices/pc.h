/*
 * pc.h - the PC machine: RAM, the BIOS image, the CPU and the chips on the
 * I/O bus (8259 PICs, 8254 PIT, CMOS/RTC, 8042, two 16550A UARTs, fw_cfg,
 * ACPI power management (PIIX4 PM function, so the guest can power off),
 * the firmware debug console, the POST port), the memory-mapped local APIC
 * (the CPU's interrupt controller, with the 8259s behind it), I/O APIC and
 * HPET (devices/apic.h, ioapic.h, hpet.h; pc.c's "interrupt wiring" says
 * which line reaches which input), wired to one virtual clock.
 *
 * Time has two modes. With cfg.host_clock the virtual clock follows the
 * host's monotonic clock: the CPU runs in slices and virtual time catches
 * up with the host's elapsed time after each one and at each port access;
 * when the guest idles (HLT with interrupts enabled) pc_run returns
 * PC_EXIT_IDLE and the caller sleeps on the host for pc_idle_ns(). The TSC
 * then runs at PC_TSC_HZ of virtual time. Without it (the default, and
 * -icount) time is deterministic: every executed instruction advances the
 * virtual clock by ns_per_insn, the TSC counts instructions, and a halted
 * CPU skips ahead to the next timer, so two runs with the same inputs
 * behave identically.
 *
 * Use:
 *     PcConfig cfg = pc_default_config();
 *     cfg.bios_path = "/usr/share/seabios/bios.bin";
 *     char err[256];
 *     Pc *pc = pc_new(&cfg, err, sizeof err);       // NULL + message on error
 *     dbt_attach(pc_cpu(pc), engine);              // else the CPU interprets (dbt/dbt.h)
 *     PcExit why = pc_run(pc, max_insns);
 *     pc_free(pc);
 *
 * With cfg.vga the machine has a VGA (devices/vga.h) at PCI 00:02.0; its
 * BIOS (cfg.vgabios_path) reaches the firmware as fw_cfg file
 * "pci1234,1111.rom", which SeaBIOS runs as the VGA's option ROM.
 *
 * With cfg.nic_port the machine has an Intel e1000 at PCI 00:03.0 whose
 * INTA# goes through the PIIX3's PIRQC route register to the PIC.

 */
#ifndef BT86_PC_H
#define BT86_PC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "devices/bus.h"
#include "devices/clock.h"
#include "devices/disk.h"
#include "devices/irq.h"

/* One IDE drive given with -drive (if=ide, index 0-3). */
typedef struct PcDrive {
    const char *file; /* NULL: none at this index */
    bool cdrom;       /* media=cdrom: read-only, 2048-byte sectors */
    bool snapshot;    /* snapshot=on: writes go to memory */
    bool read_only;   /* readonly=on: writes fail */
    DiskFormat format;
    DiskCache cache;
} PcDrive;

typedef struct PcConfig {
    uint32_t ram_mb;
    const char *bios_path;
    FILE *debugcon_out;                            /* firmware debug console, or NULL */
    void (*serial_tx)(void *opaque, uint8_t byte); /* COM1 output, or NULL */
    void *serial_opaque;
    bool host_clock;          /* virtual time follows the host clock (else the instruction count) */
    uint64_t ns_per_insn;     /* virtual time per instruction without host_clock */
    bool icount_auto;         /* without host_clock: adapt ns_per_insn (1..1024, powers of 2)
                                 to keep virtual time near the host's, and sleep while idle
                                 (QEMU's -icount shift=auto; reproducible only by logging
                                 its decisions: pc_auto_set_log, pc_auto_apply) */
    int64_t rtc_start;        /* RTC time at power-on (seconds since the epoch) */
    const char *hd[4];        /* disk images: primary master/slave, secondary master/slave */
    bool snapshot;            /* never write the images: writes go to memory */
    const char *cdrom;        /* ISO 9660 image in the CD drive (secondary master), or NULL:
                                 an empty drive unless hd[2] takes its place */
    PcDrive drive[4];         /* -drive if=ide,index=N: hd[N] and (N=2) cdrom must be NULL */
    const char *boot_order;   /* QEMU letters, up to 3: a floppy, c disk, d CD-ROM, n network
                                 (NULL: "cad"); SeaBIOS reads it from CMOS 0x3D/0x38 */
    bool boot_menu;           /* SeaBIOS's boot menu (F12) */
    bool vga;                 /* add the VGA (default true) */
    const char *vgabios_path; /* its option ROM; NULL: none */
    const char *kernel;       /* direct Linux boot: bzImage, or NULL (devices/linuxboot.h) */
    const char *initrd;       /* its initial RAM disk, or NULL */
    const char *append;       /* its command line, or NULL */
    struct NetPort *nic_port; /* an e1000 (devices/e1000.h) at PCI 00:03.0 on this cable
                                 (devices/net.h), or NULL: no network card */
    uint8_t nic_mac[6];       /* its MAC address */
    const char *nic_rom_path; /* its boot ROM (e.g. iPXE's pxe-e1000.rom), run by the
                                 firmware for -boot n; NULL: none */
    const CpuModel *cpu_model; /* -cpu (cpu/cpu_model.h); NULL: max */
    /* virtio (devices/virtio_devs.h, legacy PCI interface), fixed slots:
     * net 00:04.0, blk 00:05.0 and 00:06.0, console 00:07.0, rng 00:08.0. */
    PcDrive virtio_drive[2];          /* -drive if=virtio: virtio-blk (file NULL: none) */
    bool virtio_boot;                 /* the firmware boots virtio_drive[0] first ("bootorder") */
    struct NetPort *virtio_net_port;  /* a virtio-net on this cable, or NULL */
    uint8_t virtio_net_mac[6];
    bool virtio_rng;                  /* a virtio-rng (deterministic unless host_clock) */
    void (*virtio_console_tx)(void *opaque, const uint8_t *buf, size_t len); /* a virtio
                                         console writing here, or NULL: none */
    void *virtio_console_opaque;
} PcConfig;

typedef enum PcExit {
    PC_EXIT_INSN_LIMIT, /* ran the requested number of instructions */
    PC_EXIT_HALTED,     /* HLT with interrupts disabled: nothing can wake the CPU */
    PC_EXIT_RESET,      /* triple fault or reset request */
    PC_EXIT_REQUEST,    /* the front end asked the CPU to stop */
    PC_EXIT_POWEROFF,   /* the guest switched the machine off (ACPI S5) */
    PC_EXIT_IDLE,       /* host_clock, icount_auto: the CPU waits for an interrupt (pc_idle_ns) */
    PC_EXIT_DEBUG,      /* a debugger's breakpoint or watchpoint (cpu->debug says which) */
} PcExit;

/* The TSC's rate in host-clock mode (one tick per 2 ns of virtual time,
 * the same as the default instruction-derived rate). */
#define PC_TSC_HZ 500000000u

typedef struct Pc Pc;

PcConfig pc_default_config(void);
/* Check a boot order (QEMU letters); false for a bad letter or more than 3. */
bool pc_boot_order_valid(const char *order);
/* Parse -m's SIZE as QEMU does ("[size=]N[.F][B|K|M|G|T]", MiB without a
 * unit) into whole MiB (rounded up), at most PHYS_RAM_MAX: false with a
 * message otherwise. */
bool pc_parse_mem_size(const char *s, uint32_t *mb, char *err, size_t errlen);
/* Check -m (MiB) against bt86's maximum (PHYS_RAM_MAX) and against what
 * the CPU model's MAXPHYADDR reaches once the RAM past the PCI hole moves
 * above 4 GiB: 0, or -1 with a message. pc_new checks it too. */
int pc_check_ram(uint32_t ram_mb, const CpuModel *model, char *err, size_t errlen);
Pc *pc_new(const PcConfig *cfg, char *err, size_t errlen);
void pc_free(Pc *pc);
PcExit pc_run(Pc *pc, uint64_t max_insns);

/* -icount auto under record/replay. The host clock decides two things:
 * the pace (ns per instruction, changed at most every 100 ms of host time)
 * and how much virtual time passes while the CPU idles (the host slept).
 * Recording: fn is called with each decision at the instruction count it
 * takes effect (PC_AUTO_PACE: the new ns per instruction; PC_AUTO_IDLE:
 * the ns skipped, at the count where the CPU halted). Replaying
 * (pc_auto_set_replayed): the host clock is never read, a halted CPU
 * returns PC_EXIT_IDLE until the caller applies the logged skip with
 * pc_auto_apply at that same count, and the pace changes only there. */
typedef enum PcAutoEvent { PC_AUTO_PACE, PC_AUTO_IDLE } PcAutoEvent;
/* The longest idle skip (about 73 minutes): a longer host sleep (a
 * suspended laptop) lets only this much virtual time pass, recorded or
 * not, and a replay log asking for more is refused (a skip fires every
 * periodic timer it passes, one by one). */
#define PC_AUTO_IDLE_MAX_NS ((uint64_t)1 << 42)
typedef void (*PcAutoLog)(void *opaque, uint64_t icount, PcAutoEvent kind, uint64_t value);
void pc_auto_set_log(Pc *pc, PcAutoLog fn, void *opaque);
void pc_auto_set_replayed(Pc *pc);
/* PACE: value 1..1024 (else clamped); IDLE: the virtual clock moves on. */
void pc_auto_apply(Pc *pc, PcAutoEvent kind, uint64_t value);
/* After PC_EXIT_IDLE: host nanoseconds until the next timer is due (0 if
 * one already is), or UINT64_MAX when no timer is armed. */
uint64_t pc_idle_ns(Pc *pc);
/* Pull the machine's reset line: the CPU and every device return to their
 * power-on state (guest RAM and the CMOS's non-volatile bytes and clock
 * stay), as after a triple fault, port 0x92/0xCF9 or an 8042 reset pulse. */
void pc_reset(Pc *pc);
CPU *pc_cpu(Pc *pc);
PhysMem *pc_physmem(Pc *pc);
/* The I/O paths' counters (devices/iostats.h: IDE and virtio). */
struct IoStats *pc_io_stats(Pc *pc);
IoBus *pc_iobus(Pc *pc);
/* The virtual clock the chips' timers run on (tests and fuzzers advance it). */
VClock *pc_clock(Pc *pc);
/* Press the ACPI power button (the guest's OS decides to shut down). */
void pc_power_button(Pc *pc);
/* Feed bytes typed on the serial console to COM1; returns how many were taken. */
size_t pc_serial_input(Pc *pc, const uint8_t *buf, size_t len);
/* The parts front ends talk to (the VGA is NULL without cfg.vga). */
struct Vga *pc_vga(Pc *pc);
struct I8042 *pc_keyboard(Pc *pc);

/* The interrupt line of PCI slot `slot`'s INTx pin (0-3: INTA-INTD) for a
 * PCI device: it reaches PIIX3 PIRQ (slot + pin) mod 4, I/O APIC pins
 * 16-19 and the ISA IRQ the PIIX3's routing register names. */
IrqLine pc_pci_intx_line(Pc *pc, int slot, int pin);

/* Snapshots (savevm/loadvm): the whole machine in one file (format in
 * snap/snap.h): CPU, RAM, every device, pending timers and the virtual
 * clock, and the disk overlays under cfg.snapshot (a read-write image is
 * not in the file, only its identity). Call between pc_run calls. Loading
 * checks the whole file first (checksum, version, RAM size, the same
 * devices and images, every section's contents) and changes nothing when
 * anything is wrong; translations are dropped. 0, or -1 with a message. */
int pc_savevm(Pc *pc, const char *path, char *err, size_t errlen);
int pc_loadvm(Pc *pc, const char *path, char *err, size_t errlen);
/* The same in memory (tests): *data is malloc'd. */
int pc_save_snapshot(Pc *pc, uint8_t **data, size_t *len, char *err, size_t errlen);
int pc_load_snapshot(Pc *pc, const uint8_t *data, size_t len, char *err, size_t errlen);

#endif
