/*
 * main.c - the bt86 command: QEMU-style options, the PC machine, the serial
 * console on the terminal, and tracing.
 *
 *     bt86 [-m 128] [-cpu MODEL|help] [-bios FILE] [-hda FILE] [-cdrom FILE]
 *          [-drive file=FILE,...] [-boot d|order=dc]
 *          [-snapshot] [-nographic] [-serial stdio|pty|none|file:PATH]
 *          [-debugcon stdio|none|file:PATH] [-d in_asm,exec,cpu,int] [-D FILE]
 *          [-dfilter RANGES] [-dfilter-cpl N] [-dfilter-cr3 CR3] [-symbols FILE]...
 *          [-no-reboot] [-max-insns N] [-display sdl|none] [-vga std|none] [-monitor stdio|none]
 *          [-kernel BZIMAGE [-initrd FILE] [-append CMDLINE]]
 *          [-rtc base=utc|localtime|DATE] [-icount shift=N|auto[,rr=record|replay,rrfile=F]]
 *          [-accel jit|threaded|interp] [-lockstep N] [-dbt-stats]
 *          [-s] [-S] [-gdb tcp::PORT|tcp:HOST:PORT|unix:PATH]
 *          [-nic user[,...]|none] [-netdev user,id=ID,... -device e1000,netdev=ID]
 *          [-object filter-dump,id=ID,netdev=ID,file=FILE]
 *
 * The display (an SDL window, display_sdl.c) shows the VGA; the monitor
 * (monitor.c) runs on stdin with -monitor stdio, or behind Ctrl-A c when
 * the serial console is on the terminal. Both are polled between CPU
 * slices, so the machine stays single-threaded.
 *
 * Virtual time follows the host clock unless -icount asks for time derived
 * from the instruction count; when the guest idles the loop sleeps in
 * ppoll() on its input descriptors until the next timer is due.
 *
 * With -icount shift=N|auto,rr=record|replay,rrfile=FILE (replay.c) every
 * input from the host goes through the record/replay session: recorded
 * with the instruction count at which this loop delivers it, or, when
 * replaying, read from the log instead of the host and delivered at the
 * same count (the loop limits each slice to the next input's count).
 *
 * With -gdb (or -s) a GDB stub (gdbstub.c) listens; between slices the
 * loop lets it accept a debugger and read Ctrl-C, and whenever the guest
 * stops for the debugger (-S at the start, a debugger attaching, Ctrl-C,
 * a breakpoint or watchpoint, a single step, and, while one is attached,
 * a reset, a power-off or a CPU halted for good) the stub serves it until
 * it resumes the guest. During a replay the stub is read-only (register
 * and memory writes are refused: they would leave the recording) and the
 * end of the recording is a stop the debugger sees (replaylog:end).
 *
 * The network card's back end (net_slirp.c, libslirp) is serviced between
 * slices and wakes the idle sleep; it runs on host time, so with
 * deterministic time the default is no card (see net_config_finish).
 */
#define _GNU_SOURCE 1 /* ppoll, posix_openpt */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cpu/fpu.h"
#include "dbt/dbt.h"
#include "devices/pc.h"
#include "frontend/display.h"
#include "frontend/gdbstub.h"
#include "frontend/reverse.h"
#include "frontend/lockstep.h"
#include "frontend/monitor.h"
#include "frontend/net_slirp.h"
#include "frontend/replay.h"
#include "frontend/trace.h"
#include "vmm/vmm.h"

#define BT86_VERSION "0.1"

typedef struct DriveArg {
    PcDrive d;
    int index; /* -1: the first free one */
    bool if_none;
    bool if_virtio; /* if=virtio, or if=none named by -device virtio-blk-pci,drive=ID */
    char id[32];    /* id= */
    char *file;     /* the unescaped file= (owned) */
} DriveArg;

typedef struct Options {
    uint32_t ram_mb;
    const CpuModel *cpu_model; /* -cpu; NULL: the PC's default (max) */
    const char *bios;
    const char *serial;   /* stdio, none, file:PATH */
    const char *debugcon; /* stdio, none, file:PATH */
    const char *trace;    /* -d */
    const char *logfile;  /* -D */
    TraceFilter dfilter;  /* -dfilter, -dfilter-cpl, -dfilter-cr3 */
    SymTab *symbols;      /* -symbols FILE (several): NULL without */
    bool no_reboot;
    bool snapshot;
    const char *loadvm; /* -loadvm FILE */
    const char *hd[4];
    const char *cdrom;
    /* -drive in order; the if=ide ones placed at their index; what holds
     * each IDE index ("-hda", "-cdrom", ...), for errors. */
    DriveArg drives[8];
    int ndrives;
    PcDrive drive[4];
    const char *shorthand[4];
    char boot_order[4]; /* "" for the default */
    bool boot_menu;
    const char *kernel, *initrd, *append;
    uint64_t max_insns;
    int engine; /* -accel (a DbtEngine); -1: BT86_ACCEL or the host's default */
    bool singlestep;
    bool stats;        /* -dbt-stats */
    uint64_t lockstep; /* -lockstep N: compare with the interpreter every N instructions */
    const char *rtc;   /* -rtc base=... */
    int icount_shift;  /* -icount shift=N; ICOUNT_AUTO; ICOUNT_OFF: follow the host clock */
    bool nographic;
    const char *display;    /* sdl, none; NULL: default */
    const char *vga;        /* std, none */
    const char *monitor;    /* stdio, none */
    const char *gdb;        /* -gdb DEV, -s: tcp::1234 */
    bool gdb_wait;          /* -S: do not start the CPU until the debugger continues */
    RrMode rr_mode;         /* -icount ...,rr=record|replay */
    const char *rr_file;    /* -icount ...,rrfile=FILE */
    uint64_t rr_interval;   /* -icount ...,rrsnapshot-interval=N (reverse execution) */
    VmmModel vmm;           /* -vmm MODEL (default none) */
    const char *vmm_report; /* -vmm-report FILE */
    const char *vmm_costs;  /* -vmm-costs FILE */
    NetConfig net;          /* -nic, -netdev, -device, -object */
    /* virtio devices: -device virtio-blk-pci,drive=ID (the ids), -device
     * virtio-rng-pci, -device virtio-serial-pci + virtconsole,chardev=ID
     * with -chardev file,id=ID,path=FILE (or stdio) */
    char vblk_ids[2][32];
    int nvblk_ids;
    PcDrive vdrive[2];
    bool virtio_rng, virtio_serial, virtconsole;
    bool virtio_boot; /* bootindex= on the first virtio-blk-pci */
    char virtconsole_chardev[32];
    char chardev_id[32];
    char *chardev_path; /* NULL: stdio */
    bool chardev;
} Options;

#define ICOUNT_OFF  (-2)
#define ICOUNT_AUTO (-1)

static void usage(FILE *out) {
    fprintf(
        out,
        "usage: bt86 [options]\n"
        "  -m SIZE              guest RAM in MiB (suffix K, M, G or T allowed, 1.5G too;\n"
        "                       default 128; at most 64 GiB and what -cpu's physical\n"
        "                       address bits reach: above 3.5 GiB the rest lies above 4 GiB)\n"
        "  -cpu MODEL           CPU model: pentium2, pentium3, coreduo or max (default);\n"
        "                       -cpu help lists them\n"
        "  -bios FILE           firmware image (default /usr/share/seabios/bios.bin)\n"
        "  -hda/-hdb/-hdc/-hdd FILE  hard-disk image (raw or qcow2, probed) on IDE primary/\n"
        "                       secondary master/slave (-drive file=FILE,index=0..3)\n"
        "  -cdrom FILE          ISO 9660 image in an ATAPI CD-ROM drive (secondary master)\n"
        "  -drive file=FILE[,format=raw|qcow2][,if=ide|virtio|none][,index=0..3][,id=ID]\n"
        "         [,media=disk|cdrom][,snapshot=on][,readonly=on]\n"
        "         [,cache=writeback|writethrough|none|unsafe]\n"
        "                       a drive (',,' for a comma in FILE); if=ide index 0-3: primary\n"
        "                       master/slave, secondary master/slave (default: the first free);\n"
        "                       if=none: opened (and locked) but on no bus; if=virtio: a\n"
        "                       virtio-blk (legacy virtio-pci, at most 2: 00:05.0, 00:06.0)\n"
        "  -boot [order=]DRIVES boot order, up to 3 of: c disk, d CD-ROM, a floppy, n net\n"
        "                       (default cad); also once=DRIVES, menu=on|off\n"
        "  -snapshot            never write the disk images (writes are kept in memory)\n"
        "  -loadvm FILE         start from a snapshot written by the monitor's savevm (same\n"
        "                       options: -m, disks, -snapshot, -kernel ...)\n"
        "  -kernel BZIMAGE      boot this Linux kernel directly (x86 boot protocol)\n"
        "  -initrd FILE         ... with this initial RAM disk\n"
        "  -append CMDLINE      ... and this kernel command line\n"
        "  -nographic           no display; COM1 on the terminal (Ctrl-A x quits)\n"
        "  -serial DEV          COM1: stdio, pty, none or file:PATH\n"
        "  -debugcon DEV        firmware debug console (ports 0x402/0xE9): stdio, none, file:PATH\n"
        "  -d ITEMS             trace: in_asm,exec,cpu,int (-d help lists them)\n"
        "  -D FILE              write the trace to FILE instead of stderr\n"
        "  -dfilter RANGE[,...] trace only these linear addresses: START+SIZE, END-SIZE\n"
        "                       or START..END (e.g. 0x7c00+0x200)\n"
        "  -dfilter-cpl N       trace only at privilege level N (0-3; bt86 extension)\n"
        "  -dfilter-cr3 CR3     trace only the address space of this CR3 (bt86 extension)\n"
        "  -symbols FILE        a System.map or 32-bit ELF file: traces and the monitor show\n"
        "                       function+0xoff (several allowed; bt86 extension)\n"
        "  -no-reboot           exit instead of rebooting on reset or triple fault\n"
        "  -max-insns N         stop after N guest instructions (bt86 extension)\n"
        "  -accel ENGINE        jit (default on x86-64), threaded or interp (tcg: the default);\n"
        "                       --engine is the same\n"
        "  -singlestep          translate one instruction per block\n"
        "  -vmm MODEL           count what a VMM would do: none (default), trap, trap-detect,\n"
        "                       bt, hw, hw-ept or pv (bt on the translator, the others on the\n"
        "                       interpreter; bt86 extension)\n"
        "  -vmm-report FILE     write the counts at exit: FILE.json or FILE.html\n"
        "  -vmm-costs FILE      cycles per event class (lines 'CLASS CYCLES')\n"
        "  -dbt-stats           print translator statistics at exit (bt86 extension)\n"
        "  -lockstep N          run the engine against the interpreter, comparing every N\n"
        "                       instructions; report the first divergence (bt86 extension)\n"
        "  -display sdl|none    window for the VGA (default: sdl when a desktop is there)\n"
        "  -vga std|none        the VGA adapter (default std)\n"
        "  -monitor stdio|none  the monitor on the terminal (with -nographic: Ctrl-A c)\n"
        "  -h, -help            this help;  -version  the version\n"
        "  -rtc base=utc|localtime|YYYY-MM-DD[THH:MM:SS]  RTC start (default utc)\n"
        "  -icount shift=N|auto deterministic time: each instruction takes 2^N ns of virtual\n"
        "                       time, an idle CPU skips to the next timer; with a fixed -rtc\n"
        "                       date two runs with the same input print the same bytes.\n"
        "                       auto: N adapts to keep near the host clock, an idle CPU\n"
        "                       sleeps (reproducible only with rr=). Default: time follows\n"
        "                       the host clock\n"
        "  -icount shift=N|auto,rr=record|replay,rrfile=FILE  record every input from the\n"
        "                       host with its instruction count (auto: also the pace and\n"
        "                       idle decisions), or replay them from FILE\n"
        "                       (needs -snapshot with disks; -gdb\n"
        "                       only with rr=replay: the debugger looks, changes nothing,\n"
        "                       and may run backwards: reverse-stepi, reverse-continue)\n"
        "  -icount ...,rrsnapshot-interval=N,rrfile=FILE  with -gdb during a replay: a\n"
        "                       snapshot in memory every N instructions (default 200000000;\n"
        "                       at most 32 kept: then every second goes, N doubles)\n"
        "  -gdb DEV             GDB stub: tcp::PORT (on 127.0.0.1), tcp:HOST:PORT or\n"
        "                       unix:PATH (docs/debugging.md)\n"
        "  -s                   the same as -gdb tcp::1234\n"
        "  -S                   do not start the CPU until the debugger continues\n"
        "  -nic user[,OPTS]     an e1000 on user-mode networking (libslirp), OPTS: model=e1000,\n"
        "                       mac=52:54:00:..., net=ADDR/BITS, host=ADDR, dhcpstart=ADDR,\n"
        "                       hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT,\n"
        "                       tftp=DIR, bootfile=FILE, restrict=on|off (on: the guest reaches\n"
        "                       only DHCP/TFTP and the host as 10.0.2.2; no DNS)\n"
        "  -nic none            no network card. Default: -nic user when time follows the host\n"
        "                       clock; no card with -icount or -lockstep (networking is refused\n"
        "                       with rr= and -lockstep: its input follows the host's clock)\n"
        "  -netdev user,id=ID[,OPTS]  -device e1000,netdev=ID[,mac=...][,romfile=FILE]  the same,\n"
        "                       spelled out. -boot n: the card boots with Debian's iPXE ROM\n"
        "                       (ipxe-qemu's pxe-e1000.rom) unless romfile= names another\n"
        "  -object filter-dump,id=ID,netdev=ID,file=FILE  write every frame to a pcap file\n"
        "  -device virtio-net-pci,netdev=ID[,mac=...]  a virtio-net instead of the e1000\n"
        "  -device virtio-blk-pci,drive=ID[,bootindex=N]  the -drive if=none,id=ID on virtio\n"
        "                       (bootindex: the firmware boots it first)\n"
        "  -device virtio-rng-pci  entropy (getrandom; a seeded generator with -icount)\n"
        "  -device virtio-serial-pci -device virtconsole[,chardev=ID]\n"
        "         [-chardev file,id=ID,path=FILE|stdio,id=ID]  a virtio console (hvc0) whose\n"
        "                       output goes to FILE (default stdout)\n");
}

/* -boot: "DRIVES" or "order=DRIVES,once=DRIVES,menu=on|off" (QEMU's forms;
 * once= is taken as the order, as bt86 does not reboot into another one). */
static int parse_boot(const char *spec, Options *o) {
    if (!strchr(spec, '=')) {
        if (!pc_boot_order_valid(spec)) goto bad_order;
        snprintf(o->boot_order, sizeof o->boot_order, "%s", spec);
        return 0;
    }
    char copy[256];
    snprintf(copy, sizeof copy, "%s", spec);
    for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            fprintf(stderr, "bt86: -boot: '%s' is not KEY=VALUE\n", item);
            return -1;
        }
        *eq = 0;
        const char *val = eq + 1;
        if (strcmp(item, "order") == 0 || strcmp(item, "once") == 0) {
            if (!pc_boot_order_valid(val)) {
                spec = val;
                goto bad_order;
            }
            snprintf(o->boot_order, sizeof o->boot_order, "%s", val);
        } else if (strcmp(item, "menu") == 0 &&
                   (strcmp(val, "on") == 0 || strcmp(val, "off") == 0)) {
            o->boot_menu = strcmp(val, "on") == 0;
        } else {
            fprintf(stderr,
                    "bt86: -boot: unsupported setting '%s=%s' (order=, once=, menu=on|off)\n", item,
                    val);
            return -1;
        }
    }
    return 0;
bad_order:
    fprintf(stderr,
            "bt86: -boot: bad boot order '%s' (up to 3 of: c hard disk, d CD-ROM, a floppy, n "
            "network)\n",
            spec);
    return -1;
}

/* The record/replay session (NULL without rr=): host inputs go through it. */
static Replay *rr_session;
/* SIGINT or SIGTERM while recording: end the run so the log gets its end record. */
static volatile sig_atomic_t rr_signalled;

static void rr_on_signal(int sig) {
    (void)sig;
    rr_signalled = 1;
}

/* While recording, SIGINT and SIGTERM end the main loop instead of the
 * process (a log without its end record cannot be replayed). */
static void rr_catch_signals(void) {
    struct sigaction sa = {.sa_handler = rr_on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void power_button(void *opaque) {
    replay_power_button(rr_session, opaque, pc_cpu(opaque)->icount);
}

/* The monitor's sendkey and system_reset while recording. */
static void rr_monitor_key(void *opaque, const uint8_t *code, int len, bool pressed) {
    replay_key_event(rr_session, opaque, pc_cpu(opaque)->icount, code, len, pressed);
}
static void rr_monitor_reset(void *opaque) {
    replay_reset(rr_session, opaque, pc_cpu(opaque)->icount);
}

/* -rtc base=utc|localtime|DATE: the RTC's time at power-on, in seconds
 * since the epoch as the CMOS shows it (localtime: the host's wall clock
 * shifted so the CMOS shows local time). A fixed date makes two runs of
 * the same guest with the same input identical (virtual time follows the
 * instruction count). */
static int rtc_start(const char *spec, int64_t *out) {
    time_t now = time(NULL);
    *out = (int64_t)now;
    if (!spec) return 0;
    /* base=..., clock=host|rt|vm, driftfix=none|slew; the RTC always runs
     * on the virtual clock, whose pace -icount chooses, so clock= and
     * driftfix= change nothing here. */
    char base[64] = "utc";
    for (const char *item = spec; *item;) {
        size_t len = strcspn(item, ",");
        char kv[64];
        snprintf(kv, sizeof kv, "%.*s", (int)len, item);
        if (strncmp(kv, "base=", 5) == 0)
            snprintf(base, sizeof base, "%s", kv + 5);
        else if (!strchr(kv, '=') && item == spec)
            snprintf(base, sizeof base, "%s", kv);
        else if (strcmp(kv, "clock=host") != 0 && strcmp(kv, "clock=rt") != 0 &&
                 strcmp(kv, "clock=vm") != 0 && strcmp(kv, "driftfix=none") != 0 &&
                 strcmp(kv, "driftfix=slew") != 0) {
            fprintf(stderr, "bt86: -rtc: unknown setting '%s' (base=, clock=, driftfix=)\n", kv);
            return -1;
        }
        item += len;
        if (*item == ',') item++;
    }
    if (strcmp(base, "utc") == 0) return 0;
    if (strcmp(base, "localtime") == 0) {
        struct tm lt;
        localtime_r(&now, &lt);
        *out = (int64_t)now + lt.tm_gmtoff;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int n = sscanf(base, "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec);
    if ((n != 3 && n != 6) || y < 1970 || y > 2099 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) {
        fprintf(
            stderr,
            "bt86: -rtc: expected base=utc, base=localtime or base=YYYY-MM-DD[THH:MM:SS] ('%s')\n",
            spec);
        return -1;
    }
    /* Days from the civil date (proleptic Gregorian), no time zone involved. */
    int yy = y - (mo <= 2);
    int era = yy / 400, yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    *out = days * 86400 + h * 3600 + mi * 60 + sec;
    return 0;
}

/* Record/replay needs time derived from the instruction count and only
 * inputs it knows how to log. With -icount auto the pace follows the host
 * clock and the guest sleeps on the host while idle: each pace change and
 * idle skip is logged (pc_auto_set_log) and a replay applies them. */
static int rr_check_options(const Options *o) {
    if (o->rr_interval && o->rr_mode != RR_REPLAY) {
        fprintf(stderr, "bt86: -icount: rrsnapshot-interval= is for rr=replay (with -gdb)\n");
        return -1;
    }
    if (o->rr_mode == RR_OFF) {
        if (o->rr_file) fprintf(stderr, "bt86: -icount: rrfile= without rr=record|replay\n");
        return o->rr_file ? -1 : 0;
    }
    const char *why = NULL;
    if (!o->rr_file)
        why = "needs rrfile=FILE";
    else if (o->lockstep)
        why = "does not go with -lockstep";
    else if (o->rr_mode == RR_RECORD && o->gdb)
        why = "does not go with -gdb or -s (a debugger may only look at a replay)";
    else if (o->rr_mode == RR_REPLAY && o->monitor && strcmp(o->monitor, "stdio") == 0)
        why = "takes no input from the host: no -monitor stdio";
    else if (!o->snapshot && (o->hd[0] || o->hd[1] || o->hd[2] || o->hd[3]))
        why = "needs -snapshot: the run must not change the disk images it starts from";
    for (int i = 0; i < 4 && !why; i++)
        if (o->drive[i].file && !o->snapshot && !o->drive[i].snapshot && !o->drive[i].cdrom &&
            !o->drive[i].read_only)
            why = "needs -snapshot (or snapshot=on): the run must not change the disk images it "
                  "starts from";
    if (why)
        fprintf(stderr, "bt86: -icount rr=%s %s\n", o->rr_mode == RR_RECORD ? "record" : "replay",
                why);
    return why ? -1 : 0;
}

/* -icount ...,rrsnapshot-interval=N (before rrfile=, which comes last). */
static int parse_rr_interval(const char *spec, uint64_t *interval) {
    static const char key[] = "rrsnapshot-interval=";
    for (const char *item = spec; *item && strncmp(item, "rrfile=", 7) != 0;) {
        size_t len = strcspn(item, ",");
        if (strncmp(item, key, sizeof key - 1) == 0) {
            char *end;
            unsigned long long n = strtoull(item + sizeof key - 1, &end, 10);
            if (end != item + len || n == 0 || item[sizeof key - 1] == '-') {
                fprintf(stderr, "bt86: -icount: rrsnapshot-interval= takes a count > 0 ('%.*s')\n",
                        (int)len, item);
                return -1;
            }
            *interval = n;
        }
        item += len;
        if (*item == ',') item++;
    }
    return 0;
}

/* -drive key=value,...: ',,' is a comma inside a value. */
static int parse_drive(const char *spec, Options *o) {
    if (o->ndrives == (int)(sizeof o->drives / sizeof o->drives[0])) {
        fprintf(stderr, "bt86: -drive: at most %d drives\n", o->ndrives);
        return -1;
    }
    DriveArg *dr = &o->drives[o->ndrives];
    memset(dr, 0, sizeof *dr);
    dr->index = -1;
    size_t n = strlen(spec);
    char *buf = malloc(n + 1);
    if (!buf) return -1;
    for (size_t i = 0; i <= n;) {
        /* one key=value, unescaping ",," */
        size_t len = 0;
        while (i < n && !(spec[i] == ',' && spec[i + 1] != ',')) {
            buf[len++] = spec[i];
            i += spec[i] == ',' ? 2 : 1;
        }
        buf[len] = 0;
        i++;
        char *eq = strchr(buf, '=');
        if (!eq) {
            fprintf(stderr, "bt86: -drive: expected key=value, got '%s'\n", buf);
            goto bad;
        }
        *eq = 0;
        const char *k = buf, *v = eq + 1;
        bool on = strcmp(v, "on") == 0, off = strcmp(v, "off") == 0;
        if (strcmp(k, "file") == 0) {
            free(dr->file);
            dr->file = strdup(v);
        } else if (strcmp(k, "format") == 0) {
            if (strcmp(v, "raw") == 0)
                dr->d.format = DISK_FORMAT_RAW;
            else if (strcmp(v, "qcow2") == 0)
                dr->d.format = DISK_FORMAT_QCOW2;
            else {
                fprintf(stderr, "bt86: -drive: unknown format '%s' (raw, qcow2)\n", v);
                goto bad;
            }
        } else if (strcmp(k, "if") == 0) {
            if (strcmp(v, "ide") != 0 && strcmp(v, "none") != 0 && strcmp(v, "virtio") != 0) {
                fprintf(stderr, "bt86: -drive: interface '%s' not supported (ide, virtio, none)\n",
                        v);
                goto bad;
            }
            dr->if_none = strcmp(v, "none") == 0;
            dr->if_virtio = strcmp(v, "virtio") == 0;
        } else if (strcmp(k, "id") == 0) {
            snprintf(dr->id, sizeof dr->id, "%s", v);
        } else if (strcmp(k, "index") == 0) {
            char *end;
            long idx = strtol(v, &end, 10);
            if (!*v || *end || idx < 0 || idx > 3) {
                fprintf(stderr, "bt86: -drive: index '%s' out of range (0..3 on IDE)\n", v);
                goto bad;
            }
            dr->index = (int)idx;
        } else if (strcmp(k, "media") == 0) {
            if (strcmp(v, "disk") != 0 && strcmp(v, "cdrom") != 0) {
                fprintf(stderr, "bt86: -drive: media '%s' (disk, cdrom)\n", v);
                goto bad;
            }
            dr->d.cdrom = strcmp(v, "cdrom") == 0;
        } else if (strcmp(k, "snapshot") == 0 || strcmp(k, "readonly") == 0) {
            if (!on && !off) {
                fprintf(stderr, "bt86: -drive: %s=%s (on, off)\n", k, v);
                goto bad;
            }
            if (k[0] == 's')
                dr->d.snapshot = on;
            else
                dr->d.read_only = on;
        } else if (strcmp(k, "cache") == 0) {
            static const char *const modes[] = {"writeback", "writethrough", "none", "unsafe"};
            int m = -1;
            for (int j = 0; j < 4; j++)
                if (strcmp(v, modes[j]) == 0) m = j;
            if (m < 0) {
                fprintf(stderr,
                        "bt86: -drive: cache '%s' (writeback, writethrough, none, unsafe)\n", v);
                goto bad;
            }
            dr->d.cache = (DiskCache)m;
        } else {
            fprintf(stderr, "bt86: -drive: unknown parameter '%s'\n", k);
            goto bad;
        }
    }
    free(buf);
    if (!dr->file || !dr->file[0]) {
        fprintf(stderr, "bt86: -drive: needs file=FILE\n");
        free(dr->file);
        return -1;
    }
    if ((dr->if_none || dr->if_virtio) && dr->index >= 0) {
        fprintf(stderr, "bt86: -drive: index= is for if=ide\n");
        free(dr->file);
        return -1;
    }
    o->ndrives++;
    return 0;
bad:
    free(buf);
    free(dr->file);
    return -1;
}

/* What the guest writes on its virtio console. */
static void virtconsole_write(void *opaque, const uint8_t *buf, size_t len) {
    fwrite(buf, 1, len, opaque);
    fflush(opaque);
}

/* -drive if=none named by -device virtio-blk-pci,drive=ID become virtio
 * drives; with -drive if=virtio, at most 2 (PCI 00:05.0, 00:06.0). */
static int place_virtio(Options *o) {
    for (int j = 0; j < o->nvblk_ids; j++) {
        int found = -1;
        for (int k = 0; k < o->ndrives && found < 0; k++)
            if (o->drives[k].if_none && strcmp(o->drives[k].id, o->vblk_ids[j]) == 0) found = k;
        if (found < 0) {
            fprintf(stderr, "bt86: -device virtio-blk-pci: no -drive if=none,id=%s\n",
                    o->vblk_ids[j]);
            return -1;
        }
        o->drives[found].if_none = false;
        o->drives[found].if_virtio = true;
    }
    int n = 0;
    for (int k = 0; k < o->ndrives; k++) {
        DriveArg *dr = &o->drives[k];
        if (!dr->if_virtio) continue;
        if (n == 2 || dr->d.cdrom) {
            fprintf(stderr, "bt86: -drive file=%s: %s\n", dr->file,
                    dr->d.cdrom ? "virtio drives are disks (media=disk)"
                                : "at most 2 virtio drives");
            return -1;
        }
        o->vdrive[n] = dr->d;
        o->vdrive[n++].file = dr->file;
    }
    if (o->virtconsole) {
        if (!o->virtio_serial) {
            fprintf(stderr, "bt86: -device virtconsole needs -device virtio-serial-pci\n");
            return -1;
        }
        if (o->virtconsole_chardev[0] &&
            (!o->chardev || strcmp(o->chardev_id, o->virtconsole_chardev) != 0)) {
            fprintf(stderr, "bt86: -device virtconsole: no -chardev with id=%s\n",
                    o->virtconsole_chardev);
            return -1;
        }
    }
    return 0;
}

/* -device for the virtio devices other than virtio-net-pci: 1 taken, 0 not
 * one of them, -1 error. */
static int virtio_device_option(Options *o, const char *val) {
    size_t kl = strcspn(val, ",");
    const char *rest = val[kl] == ',' ? val + kl + 1 : val + kl;
    bool blk = kl == 14 && strncmp(val, "virtio-blk-pci", kl) == 0;
    bool rng = kl == 14 && strncmp(val, "virtio-rng-pci", kl) == 0;
    bool ser = kl == 17 && strncmp(val, "virtio-serial-pci", kl) == 0;
    bool con = kl == 11 && strncmp(val, "virtconsole", kl) == 0;
    if (!blk && !rng && !ser && !con) return 0;
    bool have_drive = false, bootidx = false;
    while (*rest) {
        size_t n = strcspn(rest, ",");
        char item[160];
        snprintf(item, sizeof item, "%.*s", (int)n, rest);
        rest += rest[n] == ',' ? n + 1 : n;
        char *eq = strchr(item, '=');
        if (eq) *eq++ = 0;
        if (eq && strcmp(item, "id") == 0) continue;
        if (blk && eq && strcmp(item, "bootindex") == 0) {
            char *end;
            long bi = strtol(eq, &end, 10);
            if (!*eq || *end || bi < 0) {
                fprintf(stderr, "bt86: -device virtio-blk-pci: bootindex=%s\n", eq);
                return -1;
            }
            bootidx = true;
            continue;
        }
        if (blk && eq && strcmp(item, "drive") == 0 && o->nvblk_ids < 2) {
            snprintf(o->vblk_ids[o->nvblk_ids++], sizeof o->vblk_ids[0], "%s", eq);
            have_drive = true;
        } else if (con && eq && strcmp(item, "chardev") == 0) {
            snprintf(o->virtconsole_chardev, sizeof o->virtconsole_chardev, "%s", eq);
        } else {
            fprintf(stderr, "bt86: -device %.*s: unknown or repeated option '%s'\n", (int)kl, val,
                    item);
            return -1;
        }
    }
    if (blk && bootidx && o->nvblk_ids == 1) o->virtio_boot = true; /* 00:05.0 boots first */
    if (blk && !have_drive) {
        fprintf(stderr, "bt86: -device virtio-blk-pci: needs drive=ID (-drive if=none,id=ID)\n");
        return -1;
    }
    if (rng) o->virtio_rng = true;
    if (ser) o->virtio_serial = true;
    if (con) o->virtconsole = true;
    return 1;
}

/* -chardev file,id=ID,path=FILE or -chardev stdio,id=ID (one). */
static int chardev_option(Options *o, const char *val) {
    bool file = strncmp(val, "file,", 5) == 0, sio = strncmp(val, "stdio,", 6) == 0;
    if ((!file && !sio) || o->chardev) {
        fprintf(stderr, "bt86: -chardev: one file,id=ID,path=FILE or stdio,id=ID\n");
        return -1;
    }
    const char *rest = val + (file ? 5 : 6);
    while (*rest) {
        size_t n = strcspn(rest, ",");
        char item[512];
        snprintf(item, sizeof item, "%.*s", (int)n, rest);
        rest += rest[n] == ',' ? n + 1 : n;
        char *eq = strchr(item, '=');
        if (!eq) goto bad;
        *eq++ = 0;
        if (strcmp(item, "id") == 0)
            snprintf(o->chardev_id, sizeof o->chardev_id, "%s", eq);
        else if (file && strcmp(item, "path") == 0) {
            free(o->chardev_path);
            o->chardev_path = strdup(eq);
        } else
            goto bad;
    }
    if (!o->chardev_id[0] || (file && !o->chardev_path)) goto bad;
    o->chardev = true;
    return 0;
bad:
    fprintf(stderr, "bt86: -chardev: %s (file,id=ID,path=FILE or stdio,id=ID)\n", val);
    return -1;
}

/* Every IDE drive at its index: the shorthands and -drive index=N first,
 * then the -drive without index in order, each at the first free one. */
static int place_drives(Options *o) {
    static const char *const names[4] = {"-hda", "-hdb", "-hdc", "-hdd"};
    for (int i = 0; i < 4; i++)
        if (o->hd[i]) o->shorthand[i] = names[i];
    if (o->cdrom) {
        if (o->hd[2]) {
            fprintf(stderr, "bt86: -cdrom and -hdc both want IDE index 2 (secondary master)\n");
            return -1;
        }
        o->shorthand[2] = "-cdrom";
    }
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < o->ndrives; k++) {
            DriveArg *dr = &o->drives[k];
            if (dr->if_none || dr->if_virtio || (pass == 0) != (dr->index >= 0)) continue;
            int idx = dr->index;
            if (idx < 0)
                for (int i = 0; i < 4 && idx < 0; i++)
                    if (!o->shorthand[i]) idx = i;
            if (idx < 0) {
                fprintf(stderr, "bt86: -drive file=%s: no free IDE index (4 drives at most)\n",
                        dr->file);
                return -1;
            }
            if (o->shorthand[idx]) {
                fprintf(stderr, "bt86: -drive file=%s: IDE index %d is already taken by %s\n",
                        dr->file, idx, o->shorthand[idx]);
                return -1;
            }
            o->shorthand[idx] = "another -drive";
            o->drive[idx] = dr->d;
            o->drive[idx].file = dr->file;
        }
    return 0;
}

/* Ctrl-C from the debugger (History's interrupt callback). */
static bool gdb_interrupted(void *opaque) {
    return gdbstub_poll(opaque);
}

/* Symbols for the -vmm report's violations. */
static bool vmm_symbol(void *opaque, uint32_t lin, char *buf, size_t len) {
    return opaque && symtab_format(opaque, lin, buf, len);
}

/* The options into o: 0, or -1 after a message on stderr, or 1 when an
 * option (-help, -version) did all there is to do. Never exits (the
 * fuzz_cmdline target calls it: tests/fuzz/fuzz_cmdline.c). */
static int parse_args(int argc, char **argv, Options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        /* QEMU accepts both -opt and --opt. */
        if (a[0] == '-' && a[1] == '-') a++;
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int vr;
#define NEED_ARG()                                                                                 \
    do {                                                                                           \
        if (!val) {                                                                                \
            fprintf(stderr, "bt86: %s needs an argument\n", a);                                    \
            return -1;                                                                             \
        }                                                                                          \
        i++;                                                                                       \
    } while (0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "-version") == 0) {
            printf("bt86 %s\n", BT86_VERSION);
            return 1;
        } else if (strcmp(a, "-m") == 0) {
            NEED_ARG();
            char merr[160];
            if (!pc_parse_mem_size(val, &o->ram_mb, merr, sizeof merr)) {
                fprintf(stderr, "bt86: %s\n", merr);
                return -1;
            }
        } else if (strcmp(a, "-cpu") == 0) {
            NEED_ARG();
            if (strcmp(val, "help") == 0 || strcmp(val, "?") == 0) {
                printf("Available CPU models:\n");
                cpu_model_list(stdout);
                exit(0);
            }
            o->cpu_model = cpu_model_find(val);
            if (!o->cpu_model) {
                fprintf(stderr, "bt86: -cpu: unknown CPU model '%s' (models: %s)\n", val,
                        cpu_model_names());
                return -1;
            }
        } else if (strcmp(a, "-bios") == 0) {
            NEED_ARG();
            o->bios = val;
        } else if (strcmp(a, "-nographic") == 0) {
            if (!o->serial) o->serial = "stdio";
            o->nographic = true;
        } else if (strcmp(a, "-display") == 0) {
            NEED_ARG();
            if (strcmp(val, "sdl") != 0 && strcmp(val, "none") != 0) {
                fprintf(stderr, "bt86: -display: unknown display '%s' (sdl, none)\n", val);
                return -1;
            }
            o->display = val;
        } else if (strcmp(a, "-vga") == 0) {
            NEED_ARG();
            if (strcmp(val, "std") != 0 && strcmp(val, "none") != 0) {
                fprintf(stderr, "bt86: -vga: unknown adapter '%s' (std, none)\n", val);
                return -1;
            }
            o->vga = val;
        } else if (strcmp(a, "-monitor") == 0) {
            NEED_ARG();
            if (strcmp(val, "stdio") != 0 && strcmp(val, "none") != 0) {
                fprintf(stderr, "bt86: -monitor: unknown device '%s' (stdio, none)\n", val);
                return -1;
            }
            o->monitor = val;
        } else if (strcmp(a, "-serial") == 0) {
            NEED_ARG();
            o->serial = val;
        } else if (strcmp(a, "-debugcon") == 0) {
            NEED_ARG();
            o->debugcon = val;
        } else if (strcmp(a, "-d") == 0) {
            NEED_ARG();
            o->trace = val;
        } else if (strcmp(a, "-D") == 0) {
            NEED_ARG();
            o->logfile = val;
        } else if (strcmp(a, "-dfilter") == 0 || strcmp(a, "-dfilter-cpl") == 0 ||
                   strcmp(a, "-dfilter-cr3") == 0) {
            NEED_ARG();
            char err[256];
            bool ok = a[8] == 0 ? trace_filter_add_ranges(&o->dfilter, val, err, sizeof err)
                      : strcmp(a + 8, "-cpl") == 0
                          ? trace_filter_set_cpl(&o->dfilter, val, err, sizeof err)
                          : trace_filter_set_cr3(&o->dfilter, val, err, sizeof err);
            if (!ok) {
                fprintf(stderr, "bt86: %s\n", err);
                return -1;
            }
        } else if (strcmp(a, "-symbols") == 0) {
            NEED_ARG();
            char err[512];
            if (!o->symbols) o->symbols = symtab_new();
            if (!o->symbols || symtab_load_file(o->symbols, val, err, sizeof err) < 0) {
                fprintf(stderr, "bt86: -symbols: %s\n", o->symbols ? err : "out of memory");
                return -1;
            }
        } else if (strcmp(a, "-hda") == 0 || strcmp(a, "-hdb") == 0 || strcmp(a, "-hdc") == 0 ||
                   strcmp(a, "-hdd") == 0) {
            NEED_ARG();
            o->hd[a[3] - 'a'] = val;
        } else if (strcmp(a, "-cdrom") == 0) {
            NEED_ARG();
            o->cdrom = val;
        } else if (strcmp(a, "-drive") == 0) {
            NEED_ARG();
            if (parse_drive(val, o) < 0) return -1;
        } else if (strcmp(a, "-boot") == 0) {
            NEED_ARG();
            if (parse_boot(val, o) < 0) return -1;
        } else if (strcmp(a, "-kernel") == 0) {
            NEED_ARG();
            o->kernel = val;
        } else if (strcmp(a, "-initrd") == 0) {
            NEED_ARG();
            o->initrd = val;
        } else if (strcmp(a, "-append") == 0) {
            NEED_ARG();
            o->append = val;
        } else if (strcmp(a, "-snapshot") == 0) {
            o->snapshot = true;
        } else if (strcmp(a, "-loadvm") == 0) {
            NEED_ARG();
            o->loadvm = val;
        } else if (strcmp(a, "-no-reboot") == 0) {
            o->no_reboot = true;
        } else if (strcmp(a, "-max-insns") == 0) {
            NEED_ARG();
            char *end;
            o->max_insns = strtoull(val, &end, 0);
            if (*end || o->max_insns == 0) {
                fprintf(stderr, "bt86: -max-insns: bad count '%s'\n", val);
                return -1;
            }
        } else if (strcmp(a, "-accel") == 0 || strcmp(a, "-engine") == 0) {
            NEED_ARG();
            /* QEMU spells options after a comma (-accel tcg,thread=single): ignore them. */
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(val, ","), val);
            bool tcg = strcmp(name, "tcg") == 0; /* QEMU's name: the default engine */
            o->engine = tcg ? -1 : dbt_engine_from_name(name);
            if (!tcg && o->engine < 0) {
                fprintf(stderr, "bt86: -accel: unknown engine '%s' (jit, threaded, interp, tcg)\n",
                        name);
                return -1;
            }
        } else if (strcmp(a, "-singlestep") == 0) {
            o->singlestep = true;
        } else if (strcmp(a, "-lockstep") == 0) {
            NEED_ARG();
            char *end;
            o->lockstep = strtoull(val, &end, 0);
            if (*end || o->lockstep == 0) {
                fprintf(stderr, "bt86: -lockstep: bad count '%s'\n", val);
                return -1;
            }
        } else if (strcmp(a, "-rtc") == 0) {
            NEED_ARG();
            o->rtc = val;
        } else if (strcmp(a, "-icount") == 0) {
            NEED_ARG();
            const char *v = strncmp(val, "shift=", 6) == 0 ? val + 6 : val;
            char *end;
            long n = strtol(v, &end, 10);
            if (strncmp(v, "auto", 4) == 0 && (v[4] == 0 || v[4] == ',')) {
                o->icount_shift = ICOUNT_AUTO;
            } else if (end == v || (*end && *end != ',') || n < 0 || n > 10) {
                fprintf(stderr, "bt86: -icount: expected shift=N with N in 0..10, or auto ('%s')\n",
                        val);
                return -1;
            } else {
                o->icount_shift = (int)n;
            }
            if (parse_rr_interval(val, &o->rr_interval) < 0) return -1;
            char rerr[256];
            if (replay_parse_icount(val, &o->rr_mode, &o->rr_file, rerr, sizeof rerr) < 0) {
                fprintf(stderr, "bt86: %s\n", rerr);
                return -1;
            }
        } else if (strcmp(a, "-vmm") == 0) {
            NEED_ARG();
            if (vmm_model_parse(val, &o->vmm) < 0) {
                fprintf(stderr,
                        "bt86: -vmm: unknown model '%s' (none, trap, trap-detect, bt, hw, hw-ept, "
                        "pv)\n",
                        val);
                return -1;
            }
        } else if (strcmp(a, "-vmm-report") == 0) {
            NEED_ARG();
            o->vmm_report = val;
        } else if (strcmp(a, "-vmm-costs") == 0) {
            NEED_ARG();
            o->vmm_costs = val;
        } else if (strcmp(a, "-dbt-stats") == 0) {
            o->stats = true;
        } else if (strcmp(a, "-s") == 0) {
            o->gdb = "tcp::1234";
        } else if (strcmp(a, "-S") == 0) {
            o->gdb_wait = true;
        } else if (strcmp(a, "-gdb") == 0) {
            NEED_ARG();
            o->gdb = val;
        } else if (strcmp(a, "-chardev") == 0) {
            NEED_ARG();
            if (chardev_option(o, val) < 0) return -1;
        } else if (strcmp(a, "-device") == 0 && val && (vr = virtio_device_option(o, val)) != 0) {
            i++;
            if (vr < 0) return -1;
        } else if (strcmp(a, "-nic") == 0 || strcmp(a, "-netdev") == 0 ||
                   strcmp(a, "-device") == 0 || strcmp(a, "-object") == 0) {
            NEED_ARG();
            char err[512];
            if (net_config_option(&o->net, a, val, err, sizeof err) < 0) {
                fprintf(stderr, "bt86: %s\n", err);
                return -1;
            }
        } else {
            fprintf(stderr, "bt86: unknown option '%s' (try -help)\n", argv[i]);
            return -1;
        }
#undef NEED_ARG
    }
    if (o->gdb_wait && !o->gdb) {
        fprintf(stderr, "bt86: -S needs a debugger to start the CPU: add -s or -gdb DEV\n");
        return -1;
    }
    if (o->gdb && o->lockstep) {
        fprintf(stderr, "bt86: -gdb and -lockstep do not go together\n");
        return -1;
    }
    if (place_virtio(o) < 0 || place_drives(o) < 0) return -1;
    if (rr_check_options(o) < 0) return -1;
    {
        /* slirp's input follows the host clock and sockets: with
         * deterministic time there is no card unless asked for, and none
         * where a run must repeat exactly. */
        const char *refuse = o->rr_mode != RR_OFF
                                 ? "does not go with -icount rr=record|replay (the network's "
                                   "input follows the host's clock and is not recorded)"
                             : o->lockstep ? "does not go with -lockstep"
                                           : NULL;
        char err[512];
        if (net_config_finish(&o->net, o->icount_shift != ICOUNT_OFF || o->lockstep, refuse, err,
                              sizeof err) < 0) {
            fprintf(stderr, "bt86: %s\n", err);
            return -1;
        }
    }
    if (!o->kernel && (o->initrd || o->append)) {
        fprintf(stderr, "bt86: %s only allowed with -kernel\n", o->initrd ? "-initrd" : "-append");
        return -1;
    }
    return 0;
}

/* Open a character device spec: stdio, none, file:PATH. */
static int open_chardev(const char *what, const char *spec, FILE **out) {
    if (!spec || strcmp(spec, "none") == 0 || strcmp(spec, "null") == 0) {
        *out = NULL;
    } else if (strcmp(spec, "stdio") == 0) {
        *out = stdout;
    } else if (strncmp(spec, "file:", 5) == 0) {
        *out = fopen(spec + 5, "w");
        if (!*out) {
            fprintf(stderr, "bt86: %s: cannot open %s: %s\n", what, spec + 5, strerror(errno));
            return -1;
        }
    } else {
        fprintf(stderr, "bt86: %s: unknown device '%s' (stdio, none, file:PATH)\n", what, spec);
        return -1;
    }
    return 0;
}

/* ---- the serial console on the terminal ---- */

static struct termios saved_tty;
static bool tty_raw;

static void tty_restore(void) {
    if (tty_raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    tty_raw = false;
}

static void tty_make_raw(void) {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty) < 0) return;
    struct termios t = saved_tty;
    cfmakeraw(&t);
    t.c_oflag |= OPOST | ONLCR;
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
    tty_raw = true;
    atexit(tty_restore);
}

/* ---- -serial pty: COM1 on a pseudo-terminal ---- */

typedef struct Pty {
    int fd;               /* the master side, non-blocking; -1: no pty */
    uint8_t pending[256]; /* read, not yet taken by the UART */
    size_t npending;
} Pty;

/* Open a pseudo-terminal in raw mode and say where it is, as QEMU does. */
static int pty_open(Pty *p) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY);
    const char *name = NULL;
    if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 || !(name = ptsname(fd))) {
        fprintf(stderr, "bt86: -serial pty: cannot open a pseudo-terminal: %s\n", strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fprintf(stderr, "char device redirected to %s (label serial0)\n", name);
    p->fd = fd;
    p->npending = 0;
    return 0;
}

/* COM1 output: bytes nobody reads (no one has the pty open, or its buffer
 * is full) are dropped, as on a serial line with nothing attached. */
static void pty_out(void *opaque, uint8_t byte) {
    Pty *p = opaque;
    if (write(p->fd, &byte, 1) < 0) { /* EAGAIN, EIO: dropped */
    }
}

/* Whether the other side has the pty open (with nobody there, the master
 * reports a hang-up). */
static bool pty_connected(const Pty *p) {
    struct pollfd f = {.fd = p->fd, .events = POLLIN};
    return !(poll(&f, 1, 0) == 1 && (f.revents & POLLHUP) && !(f.revents & POLLIN));
}

static void pty_poll(Pty *p, Pc *pc) {
    if (p->fd < 0) return;
    if (p->npending < sizeof p->pending) {
        ssize_t n = read(p->fd, p->pending + p->npending, sizeof p->pending - p->npending);
        if (n > 0) p->npending += (size_t)n;
    }
    size_t taken = replay_serial_input(rr_session, pc, pc_cpu(pc)->icount, p->pending, p->npending);
    memmove(p->pending, p->pending + taken, p->npending - taken);
    p->npending -= taken;
}

static void serial_out(void *opaque, uint8_t byte) {
    FILE *f = opaque;
    fputc(byte, f);
    if (byte == '\n' || f == stdout) fflush(f);
}

typedef struct Console {
    bool enabled;    /* stdin is read: for COM1 and/or the monitor */
    bool serial;     /* COM1 is on stdio (Ctrl-A escapes apply) */
    Monitor *mon;    /* the monitor, or NULL */
    bool mon_active; /* typed bytes go to the monitor */
    bool eof;        /* stdin was a pipe or file and has ended */
    uint8_t pending[256];
    size_t npending;
    bool escape; /* saw Ctrl-A */
    bool quit;
} Console;

/* Read what the user typed, or what a pipe holds (without blocking), and
 * feed COM1 as fast as the guest's UART takes it. */
static void console_poll(Console *c, Pc *pc) {
    uint8_t buf[64];
    ssize_t n = 0;
    if (!c->eof && c->npending + sizeof buf <= sizeof c->pending) {
        n = read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0 && !isatty(STDIN_FILENO)) c->eof = true;
    }
    for (ssize_t i = 0; i < n; i++) {
        uint8_t ch = buf[i];
        if (c->serial && c->escape) {
            c->escape = false;
            if (ch == 'x') {
                c->quit = true;
                return;
            }
            if (ch == 'h') {
                fprintf(stderr, "\r\nC-a x  exit\r\nC-a c  switch between console and monitor\r\n"
                                "C-a h  this help\r\nC-a C-a  send C-a\r\n");
                continue;
            }
            if (ch == 'c' && c->mon) {
                c->mon_active = !c->mon_active;
                if (c->mon_active) {
                    fputs("\r\n", stdout);
                    monitor_prompt(c->mon);
                }
                continue;
            }
            if (ch != 1) continue;
        } else if (c->serial && ch == 1) {
            c->escape = true;
            continue;
        }
        if (c->mon_active) {
            if (monitor_input(c->mon, &ch, 1) == MONITOR_QUIT) {
                c->quit = true;
                return;
            }
            continue;
        }
        if (c->serial && c->npending < sizeof c->pending) c->pending[c->npending++] = ch;
    }
    size_t taken = replay_serial_input(rr_session, pc, pc_cpu(pc)->icount, c->pending, c->npending);
    memmove(c->pending, c->pending + taken, c->npending - taken);
    c->npending -= taken;
}

/* The guest idles (host-clock mode): sleep until its next timer is due or
 * input arrives on the console or the pty. False when nothing could ever
 * wake it. */
static bool idle_wait(Pc *pc, const Console *con, const Pty *pty, bool display, int gdb_fd,
                      NetBackend *net) {
    uint64_t ns = pc_idle_ns(pc);
    struct pollfd fds[3 + 64];
    nfds_t n = 0;
    if (gdb_fd >= 0) fds[n++] = (struct pollfd){.fd = gdb_fd, .events = POLLIN}; /* Ctrl-C */
    if (con->enabled && !con->eof && con->npending == 0)
        fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
    if (pty->fd >= 0 && pty->npending == 0) {
        if (pty_connected(pty))
            fds[n++] = (struct pollfd){.fd = pty->fd, .events = POLLIN};
        else if (ns > 100000000)
            ns = 100000000; /* look again for someone opening it */
    }
    if (display && ns > 10000000) ns = 10000000; /* keep the window responsive */
    n += (nfds_t)net_add_pollfds(net, fds + n, 64, &ns);
    if (ns == UINT64_MAX && n == 0) return false;
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    ppoll(n ? fds : NULL, n, ns == UINT64_MAX ? NULL : &ts, NULL);
    return true;
}

/* -loadvm: the machine as the snapshot left it. What stdin already holds
 * is typed at once, at the very instruction the snapshot was taken at, as
 * when savevm and the next typed line arrive together in the monitor, so
 * a run from the file repeats the saved session's continuation exactly. */
static int start_from_snapshot(Pc *pc, const char *path, Console *con) {
    char err[512];
    if (pc_loadvm(pc, path, err, sizeof err) < 0) {
        fprintf(stderr, "bt86: -loadvm %s: %s\n", path, err);
        return -1;
    }
    if (con->enabled) {
        fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
        console_poll(con, pc);
    }
    return 0;
}

int main(int argc, char **argv) {
    Options o = {.ram_mb = 128,
                 .bios = "/usr/share/seabios/bios.bin",
                 .engine = -1,
                 .icount_shift = ICOUNT_OFF,
                 .dfilter = {.cpl = -1}};
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0) {
        symtab_free(o.symbols);
        trace_filter_free(&o.dfilter);
        return parsed < 0 ? 1 : 0;
    }

    unsigned trace_mask = 0;
    if (o.trace) {
        const char *bad = NULL;
        if (strcmp(o.trace, "help") == 0) {
            tracer_print_help(stdout);
            return 0;
        }
        if (!tracer_parse_flags(o.trace, &trace_mask, &bad)) {
            fprintf(stderr, "bt86: -d: unknown log item '%s' (try -d help)\n", bad);
            return 1;
        }
    }
    FILE *log = stderr;
    if (o.logfile) {
        log = fopen(o.logfile, "w");
        if (!log) {
            fprintf(stderr, "bt86: -D: cannot open %s: %s\n", o.logfile, strerror(errno));
            return 1;
        }
    }
    FILE *serial = NULL, *debugcon = NULL;
    Pty pty = {.fd = -1};
    if (o.serial && strcmp(o.serial, "pty") == 0) {
        if (pty_open(&pty) < 0) return 1;
    } else if (open_chardev("-serial", o.serial, &serial) < 0) {
        return 1;
    }
    if (open_chardev("-debugcon", o.debugcon, &debugcon) < 0) return 1;

    PcConfig cfg = pc_default_config();
    cfg.ram_mb = o.ram_mb;
    cfg.cpu_model = o.cpu_model;
    cfg.bios_path = o.bios;
    cfg.debugcon_out = debugcon;
    cfg.serial_tx = serial ? serial_out : pty.fd >= 0 ? pty_out : NULL;
    cfg.serial_opaque = serial ? (void *)serial : (void *)&pty;
    if (rtc_start(o.rtc, &cfg.rtc_start) < 0) return 1;
    cfg.host_clock = o.icount_shift == ICOUNT_OFF;
    cfg.icount_auto = o.icount_shift == ICOUNT_AUTO;
    if (o.icount_shift >= 0) cfg.ns_per_insn = (uint64_t)1 << o.icount_shift;
    for (int i = 0; i < 4; i++) {
        cfg.hd[i] = o.hd[i];
        cfg.drive[i] = o.drive[i];
    }
    cfg.virtio_drive[0] = o.vdrive[0];
    cfg.virtio_drive[1] = o.vdrive[1];
    cfg.virtio_rng = o.virtio_rng;
    cfg.virtio_boot = o.virtio_boot;
    FILE *vcon_out = NULL;
    if (o.virtconsole) {
        vcon_out = o.chardev_path ? fopen(o.chardev_path, "wb") : stdout;
        if (!vcon_out) {
            fprintf(stderr, "bt86: -chardev path=%s: %s\n", o.chardev_path, strerror(errno));
            return 1;
        }
        cfg.virtio_console_tx = virtconsole_write;
        cfg.virtio_console_opaque = vcon_out;
    }
    cfg.snapshot = o.snapshot;
    cfg.vga = !(o.vga && strcmp(o.vga, "none") == 0);
    /* Which display: -display, else none with -nographic, else a window
     * when there is a desktop to show it on and SDL is built in. */
    bool want_sdl;
    if (o.display)
        want_sdl = strcmp(o.display, "sdl") == 0;
    else
        want_sdl = !o.nographic && display_sdl_available() &&
                   (getenv("DISPLAY") || getenv("WAYLAND_DISPLAY"));
    if (want_sdl && !display_sdl_available()) {
        fprintf(stderr, "bt86: -display sdl: this bt86 was built without SDL2 (install libsdl2-dev "
                        "and rebuild)\n");
        return 1;
    }
    if (want_sdl && !cfg.vga) {
        fprintf(stderr, "bt86: -display sdl needs the VGA (drop -vga none)\n");
        return 1;
    }
    cfg.cdrom = o.cdrom;
    cfg.boot_order = o.boot_order[0] ? o.boot_order : NULL;
    cfg.boot_menu = o.boot_menu;
    cfg.kernel = o.kernel;
    cfg.initrd = o.initrd;
    cfg.append = o.append;
    char err_net[512];
    DbtEngine engine =
        o.engine >= 0 ? (DbtEngine)o.engine : dbt_engine_from_env(getenv("BT86_ACCEL"));
    NetBackend *net = NULL;
    if (o.net.nic) {
        net = net_start(&o.net, err_net, sizeof err_net);
        if (!net) {
            fprintf(stderr, "bt86: %s\n", err_net);
            return 1;
        }
        if (o.net.virtio) {
            cfg.virtio_net_port = net_port(net);
            memcpy(cfg.virtio_net_mac, o.net.mac, 6);
        } else {
            cfg.nic_port = net_port(net);
            memcpy(cfg.nic_mac, o.net.mac, 6);
        }
        /* The card's boot ROM: romfile=, or with network boot in the boot
         * order Debian's iPXE for QEMU's e1000 (ipxe-qemu), as QEMU has. */
        cfg.nic_rom_path = o.net.romfile;
        if (!cfg.nic_rom_path && strchr(o.boot_order, 'n')) {
            cfg.nic_rom_path = "/usr/lib/ipxe/qemu/pxe-e1000.rom";
            if (access(cfg.nic_rom_path, R_OK) != 0) {
                fprintf(stderr,
                        "bt86: -boot n: no boot ROM for the e1000 (%s: apt-get install "
                        "ipxe-qemu, or -device e1000,romfile=FILE)\n",
                        cfg.nic_rom_path);
                return 1;
            }
        }
    }
    if (o.lockstep && o.vmm != VMM_NONE) {
        fprintf(stderr, "bt86: -vmm and -lockstep cannot be combined\n");
        return 1;
    }
    if (o.lockstep && o.loadvm) {
        fprintf(stderr, "bt86: -loadvm and -lockstep cannot be combined\n");
        return 1;
    }
    if (o.lockstep) {
        if (engine == ENGINE_INTERP) engine = ENGINE_JIT;
        lockstep_set_symbols(o.symbols);
        int r = lockstep_run(&cfg, engine, o.max_insns ? o.max_insns : UINT64_MAX, o.lockstep,
                             STDIN_FILENO, stderr);
        fflush(stdout);
        return r == 0 ? 0 : r == 1 ? 3 : 1;
    }
    char err[512];
    /* The build a log must come from: the version and the x87 backend
     * (the soft one may differ from the host's in a transcendental's last bit). */
    char rr_build[16];
    snprintf(rr_build, sizeof rr_build, "%s fpu=%s", BT86_VERSION, fpu_backend_name());
    rr_session = replay_start(o.rr_mode, o.rr_file, &cfg, (unsigned)o.icount_shift, rr_build,
                              o.vmm != VMM_NONE ? vmm_model_name(o.vmm) : NULL, err, sizeof err);
    if (o.rr_mode != RR_OFF && !rr_session) {
        fprintf(stderr, "bt86: %s: %s\n", o.rr_mode == RR_RECORD ? "record" : "replay", err);
        return 1;
    }
    if (o.rr_mode == RR_RECORD) rr_catch_signals();
    Pc *pc = pc_new(&cfg, err, sizeof err);
    if (!pc) {
        fprintf(stderr, "bt86: %s\n", err);
        return 1;
    }
    if (cfg.icount_auto && o.rr_mode == RR_RECORD)
        pc_auto_set_log(pc, replay_auto_event, rr_session);
    if (cfg.icount_auto && o.rr_mode == RR_REPLAY) pc_auto_set_replayed(pc);
    /* -drive if=none: opened and locked like QEMU's, attached to nothing. */
    Disk *unattached[8] = {0};
    for (int k = 0; k < o.ndrives; k++) {
        const DriveArg *dr = &o.drives[k];
        if (!dr->if_none) continue;
        DiskOptions dopts = {dr->d.format, dr->d.cache};
        DiskMode mode = dr->d.read_only || dr->d.cdrom ? DISK_RO
                        : o.snapshot || dr->d.snapshot ? DISK_SNAPSHOT
                                                       : DISK_RW;
        unattached[k] =
            disk_open_with(dr->file, mode, dr->d.cdrom ? 2048 : 512, &dopts, err, sizeof err);
        if (!unattached[k]) {
            fprintf(stderr, "bt86: -drive if=none: %s\n", err);
            pc_free(pc);
            return 1;
        }
    }
    CPU *cpu = pc_cpu(pc);
    /* A model watches every instruction on the interpreter; bt counts
     * what the translator (jit or threaded) does. */
    if (o.vmm != VMM_NONE && o.vmm != VMM_BT) engine = ENGINE_INTERP;
    if (dbt_attach(cpu, engine) < 0) {
        fprintf(stderr, "bt86: cannot start the %s engine (out of memory)\n",
                dbt_engine_name(engine));
        return 1;
    }
    dbt_set_singlestep(cpu, o.singlestep);
    Vmm *vmm = NULL;
    struct timespec vmm_start;
    clock_gettime(CLOCK_MONOTONIC, &vmm_start);
    if (o.vmm != VMM_NONE) {
        vmm = vmm_new(o.vmm);
        if (!vmm || (o.vmm_costs && vmm_load_costs(vmm, o.vmm_costs, err, sizeof err) < 0) ||
            vmm_attach(vmm, cpu, err, sizeof err) < 0) {
            fprintf(stderr, "bt86: -vmm: %s\n", vmm ? err : "out of memory");
            return 1;
        }
        vmm_set_io_stats(vmm, pc_io_stats(pc));
    } else if (o.vmm_report || o.vmm_costs) {
        fprintf(stderr, "bt86: -vmm-report and -vmm-costs need -vmm MODEL\n");
        return 1;
    }
    Tracer *tracer = NULL;
    if (trace_mask) {
        tracer = tracer_new(trace_mask, log);
        if (!tracer) {
            fprintf(stderr, "bt86: cannot start the tracer (capstone)\n");
            return 1;
        }
        tracer_set_filter(tracer, &o.dfilter);
        tracer_set_symbols(tracer, o.symbols);
        tracer_attach(tracer, pc_cpu(pc));
    }
    /* With the serial port on stdio, stdin feeds COM1: keystrokes from a
     * terminal (put in raw mode) or the bytes of a pipe or file. */
    Console con = {.enabled = serial == stdout, .serial = serial == stdout};
    bool mon_stdio = o.monitor && strcmp(o.monitor, "stdio") == 0;
    /* The monitor: on stdin with -monitor stdio; behind Ctrl-A c whenever
     * the serial console is on the terminal (as with QEMU -nographic). */
    MonitorHooks power_hooks = {.powerdown = power_button, .opaque = pc, .symbols = o.symbols};
    if (o.rr_mode == RR_REPLAY) con.enabled = con.serial = false; /* the log is the input */
    if (o.rr_mode == RR_RECORD) {
        power_hooks.key_event = rr_monitor_key;
        power_hooks.reset = rr_monitor_reset;
    }
    if (o.rr_mode != RR_REPLAY &&
        (mon_stdio || (con.serial && !(o.monitor && strcmp(o.monitor, "none") == 0)))) {
        con.mon = monitor_new(pc, stdout, &power_hooks);
        if (!con.mon) {
            fprintf(stderr, "bt86: out of memory\n");
            return 1;
        }
        con.enabled = true;
        if (mon_stdio && !con.serial) {
            con.mon_active = true;
            monitor_prompt(con.mon);
        }
    }
    Display *display = NULL;
    if (want_sdl) {
        char derr[256];
        display = display_sdl_new(pc, derr, sizeof derr);
        if (!display) {
            fprintf(stderr, "bt86: -display sdl: %s\n", derr);
            return 1;
        }
        display_sdl_set_replay(display, rr_session);
    }
    if (o.loadvm && start_from_snapshot(pc, o.loadvm, &con) < 0) return 1;
    if (con.enabled) {
        if (isatty(STDIN_FILENO) && con.serial) tty_make_raw();
        if (con.mon) monitor_set_echo(con.mon, tty_raw);
        fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
    }

    Gdbstub *gdb = NULL;
    if (o.gdb) {
        gdb = gdbstub_new(o.gdb, pc, &power_hooks, err, sizeof err);
        if (!gdb) {
            fprintf(stderr, "bt86: -gdb: %s\n", err);
            return 1;
        }
        if (o.rr_mode == RR_REPLAY) gdbstub_set_replay(gdb);
    }
    /* Reverse execution: a debugger during a replay. */
    History *history = NULL;
    if (gdb && o.rr_mode == RR_REPLAY) {
        history =
            history_new(pc, rr_session, o.rr_interval ? o.rr_interval : HISTORY_DEFAULT_INTERVAL,
                        HISTORY_DEFAULT_MAX);
        if (!history || history_checkpoint(history, err, sizeof err) < 0) {
            fprintf(stderr, "bt86: reverse execution: %s\n", history ? err : "out of memory");
            return 1;
        }
        history_set_interrupt(history, gdb_interrupted, gdb); /* Ctrl-C in a reverse-continue */
    }

    int status = 0;
    uint64_t left = o.max_insns ? o.max_insns : UINT64_MAX;
    /* The debugger: whether the guest is stopped for it and why, whether
     * it asked for one step, and an event it sees before it happens
     * (reset, power-off: PC_EXIT_INSN_LIMIT for none). */
    bool gdb_stop = gdb && o.gdb_wait;
    GdbStopReason why = GDB_STOP_START;
    bool step = false;
    PcExit due = PC_EXIT_INSN_LIMIT;
    while (left > 0 && !con.quit && !rr_signalled) {
        if (gdb_stop) {
            gdb_stop = false;
            GdbResume r = gdbstub_stopped(gdb, why);
            if (r == GDB_RESUME_REVERSE_STEP || r == GDB_RESUME_REVERSE_CONTINUE) {
                ReverseResult rv = r == GDB_RESUME_REVERSE_STEP
                                       ? history_step_back(history, err, sizeof err)
                                       : history_continue_back(history, err, sizeof err);
                if (rv == REVERSE_ERROR) {
                    fprintf(stderr, "bt86: %s\n", err);
                    status = 1;
                    break;
                }
                gdb_stop = true;
                why = rv == REVERSE_BEGIN         ? GDB_STOP_REPLAY_BEGIN
                      : rv == REVERSE_STEPPED     ? GDB_STOP_STEP
                      : rv == REVERSE_INTERRUPTED ? GDB_STOP_INTERRUPT
                                                  : GDB_STOP_DEBUG;
                due = PC_EXIT_INSN_LIMIT; /* an event seen later has not happened yet */
                continue;
            }
            if (r == GDB_RESUME_KILL || due == PC_EXIT_POWEROFF) break;
            step = r == GDB_RESUME_STEP;
            if (due == PC_EXIT_RESET) {
                due = PC_EXIT_INSN_LIMIT;
                if (o.no_reboot) {
                    fprintf(stderr, "bt86: the guest reset the machine (-no-reboot: exiting)\n");
                    break;
                }
                pc_reset(pc);
            }
        }
        uint64_t chunk = left < 200000 ? left : 200000;
        uint64_t until_input = replay_insns_until_event(rr_session, pc_cpu(pc)->icount);
        if (until_input == 0) { /* replay: the recording ended here */
            if (!gdb || !gdbstub_connected(gdb)) break;
            gdb_stop = true; /* the debugger sees the end (and stays there) */
            why = GDB_STOP_REPLAY_END;
            step = false;
            continue;
        }
        if (chunk > until_input) chunk = until_input;
        if (history && chunk > history_insns_until_snapshot(history))
            chunk = history_insns_until_snapshot(history);
        uint64_t before = pc_cpu(pc)->icount;
        PcExit e = step ? gdbstub_step(gdb) : pc_run(pc, chunk);
        uint64_t ran = pc_cpu(pc)->icount - before;
        left = ran >= left ? 0 : left - ran;
        if (con.enabled) console_poll(&con, pc);
        if (o.rr_mode != RR_REPLAY) pty_poll(&pty, pc);
        net_poll(net);
        int delivered = replay_deliver(rr_session, pc, pc_cpu(pc)->icount, err, sizeof err);
        if (delivered < 0) {
            fprintf(stderr, "bt86: %s\n", err);
            status = 1;
            break;
        }
        if (history && e != PC_EXIT_RESET && e != PC_EXIT_POWEROFF && e != PC_EXIT_HALTED &&
            history_checkpoint(history, err, sizeof err) < 0) {
            fprintf(stderr, "bt86: reverse execution: %s\n", err);
            status = 1;
            break;
        }
        if (display && !display_sdl_update(display)) break; /* window closed */
        if (step) {
            step = false;
            gdb_stop = true;
            why = GDB_STOP_STEP;
        }
        if (gdb && gdbstub_poll(gdb) && !gdb_stop) { /* Ctrl-C or a debugger attaching */
            gdb_stop = true;
            why = gdbstub_connected(gdb) ? GDB_STOP_INTERRUPT : GDB_STOP_START;
        }
        bool debugging = gdb && gdbstub_connected(gdb);
        if (e == PC_EXIT_DEBUG) {
            gdb_stop = true;
            why = GDB_STOP_DEBUG;
        } else if (debugging &&
                   (e == PC_EXIT_RESET || e == PC_EXIT_POWEROFF || e == PC_EXIT_HALTED)) {
            /* The debugger looks first; resuming lets it happen. */
            gdb_stop = true;
            why = e == PC_EXIT_RESET      ? GDB_STOP_RESET
                  : e == PC_EXIT_POWEROFF ? GDB_STOP_POWEROFF
                                          : GDB_STOP_HALTED;
            due = e;
        } else if (e == PC_EXIT_RESET) {
            if (o.no_reboot) {
                fprintf(stderr, "bt86: the guest reset the machine (-no-reboot: exiting)\n");
                break;
            }
            pc_reset(pc);
        } else if (e == PC_EXIT_POWEROFF) {
            break; /* the guest powered the machine off: exit status 0 */
        } else if (e == PC_EXIT_IDLE && o.rr_mode == RR_REPLAY) {
            /* -icount auto: the recording's idle skip at this count has
             * just been applied (replay_deliver); no sleeping on the host.
             * Idling with nothing logged here (and the recording going on)
             * would wait forever. */
            if (delivered == 0 && replay_insns_until_event(rr_session, pc_cpu(pc)->icount) > 0) {
                fprintf(stderr,
                        "bt86: replay diverged: the CPU idles at instruction %llu, where the "
                        "recording ran on\n",
                        (unsigned long long)pc_cpu(pc)->icount);
                status = 1;
                break;
            }
        } else if (e == PC_EXIT_HALTED ||
                   (e == PC_EXIT_IDLE && !gdb_stop &&
                    !idle_wait(pc, &con, &pty, display != NULL, gdb ? gdbstub_fd(gdb) : -1, net))) {
            char where[200] = "";
            CPU *c = pc_cpu(pc);
            uint32_t lin = c->seg[SEG_CS].base + c->eip;
            if (symtab_format(o.symbols, lin, where + 2, sizeof where - 3)) {
                where[0] = ' ';
                where[1] = '<';
                strcat(where, ">");
            }
            fprintf(stderr, "bt86: the CPU halted with nothing left to wake it (at %04x:%08x%s)\n",
                    c->seg[SEG_CS].sel, c->eip, where);
            break;
        }
    }
    tty_restore();
    if (rr_session) {
        if (replay_finish(rr_session, cpu->icount, err, sizeof err) < 0) status = 1;
        rr_session = NULL;
        fprintf(stderr, "bt86: %s\n", err);
    }
    if (o.stats) {
        fprintf(stderr, "bt86: engine %s, %llu instructions\n", dbt_engine_name(dbt_engine(cpu)),
                (unsigned long long)cpu->icount);
        dbt_print_stats(cpu, stderr);
    }
    if (vmm && o.vmm_report) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double secs =
            (double)(t.tv_sec - vmm_start.tv_sec) + (double)(t.tv_nsec - vmm_start.tv_nsec) * 1e-9;
        if (vmm_write_report(vmm, o.vmm_report, vmm_symbol, o.symbols, secs, err, sizeof err) < 0) {
            fprintf(stderr, "bt86: -vmm-report: %s\n", err);
            status = 1;
        }
    }
    vmm_free(vmm);
    display_sdl_free(display);
    gdbstub_free(gdb);
    history_free(history);
    monitor_free(con.mon);
    if (tracer) tracer_free(tracer);
    trace_filter_free(&o.dfilter);
    symtab_free(o.symbols);
    if (log != stderr) fclose(log);
    if (serial && serial != stdout) fclose(serial);
    if (pty.fd >= 0) close(pty.fd);
    if (debugcon && debugcon != stdout) fclose(debugcon);
    fflush(stdout);
    pc_free(pc);
    for (int k = 0; k < o.ndrives; k++) {
        disk_close(unattached[k]);
        free(o.drives[k].file);
    }
    net_stop(net);
    net_config_free(&o.net);
    if (vcon_out && vcon_out != stdout) fclose(vcon_out);
    free(o.chardev_path);
    return status;
}
