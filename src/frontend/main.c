/*
 * main.c - the bt86 command: QEMU-style options, the PC machine, the serial
 * console on the terminal, and tracing.
 *
 *     bt86 [-m 128] [-bios FILE] [-hda FILE] [-snapshot] [-nographic] [-serial stdio|none|file:PATH]
 *          [-debugcon stdio|none|file:PATH] [-d in_asm,exec,cpu,int] [-D FILE]
 *          [-no-reboot] [-max-insns N] [-kernel BZIMAGE [-initrd FILE] [-append CMDLINE]]
 *
 * Options that belong to parts of the machine not built yet (CD-ROM,
 * display, monitor, GDB stub) are recognised and refused with a clear
 * message rather than silently ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "devices/pc.h"
#include "frontend/trace.h"

#define BT86_VERSION "0.1"

typedef struct Options {
    uint32_t ram_mb;
    const char *bios;
    const char *serial;   /* stdio, none, file:PATH */
    const char *debugcon; /* stdio, none, file:PATH */
    const char *trace;    /* -d */
    const char *logfile;  /* -D */
    bool no_reboot;
    bool snapshot;
    const char *hd[4];
    const char *kernel, *initrd, *append;
    uint64_t max_insns;
} Options;

static void usage(FILE *out) {
    fprintf(out,
            "usage: bt86 [options]\n"
            "  -m SIZE              guest RAM in MiB (suffix M or G allowed; default 128)\n"
            "  -bios FILE           firmware image (default /usr/share/seabios/bios.bin)\n"
            "  -hda/-hdb/-hdc/-hdd FILE  raw hard-disk image on IDE primary/secondary master/slave\n"
            "  -snapshot            never write the disk images (writes are kept in memory)\n"
            "  -kernel BZIMAGE      boot this Linux kernel directly (x86 boot protocol)\n"
            "  -initrd FILE         ... with this initial RAM disk\n"
            "  -append CMDLINE      ... and this kernel command line\n"
            "  -nographic           no display; COM1 on the terminal (Ctrl-A x quits)\n"
            "  -serial DEV          COM1: stdio, none or file:PATH\n"
            "  -debugcon DEV        firmware debug console (ports 0x402/0xE9): stdio, none, file:PATH\n"
            "  -d ITEMS             trace: in_asm,exec,cpu,int (-d help lists them)\n"
            "  -D FILE              write the trace to FILE instead of stderr\n"
            "  -no-reboot           exit instead of rebooting on reset or triple fault\n"
            "  -max-insns N         stop after N guest instructions (bt86 extension)\n"
            "  -h, -help            this help;  -version  the version\n"
            "Not available yet (see docs/STATUS.md): -cdrom -boot\n"
            "  -display -monitor -s -S -gdb -icount -accel -rtc\n");
}

static const char *const not_yet[] = {"-cdrom", "-boot", "-display", "-monitor", "-s", "-S", "-gdb",
                                      "-icount", "-accel", "-rtc", "-singlestep", NULL};
/* Those of them that take an argument. */
static const char *const not_yet_with_arg[] = {"-cdrom", "-boot", "-display", "-monitor", "-gdb", "-icount",
                                               "-accel", "-rtc", NULL};

static bool in_list(const char *const *list, const char *s) {
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0) return true;
    return false;
}

static bool parse_size_mb(const char *s, uint32_t *mb) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return false;
    if (*end == 'G' || *end == 'g') {
        v *= 1024;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        end++;
    }
    if (*end || v == 0 || v > 65536) return false;
    *mb = (uint32_t)v;
    return true;
}

static int parse_args(int argc, char **argv, Options *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        /* QEMU accepts both -opt and --opt. */
        if (a[0] == '-' && a[1] == '-') a++;
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
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
            exit(0);
        } else if (strcmp(a, "-version") == 0) {
            printf("bt86 %s\n", BT86_VERSION);
            exit(0);
        } else if (strcmp(a, "-m") == 0) {
            NEED_ARG();
            if (!parse_size_mb(val, &o->ram_mb)) {
                fprintf(stderr, "bt86: -m: bad memory size '%s'\n", val);
                return -1;
            }
        } else if (strcmp(a, "-bios") == 0) {
            NEED_ARG();
            o->bios = val;
        } else if (strcmp(a, "-nographic") == 0) {
            if (!o->serial) o->serial = "stdio";
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
        } else if (strcmp(a, "-hda") == 0 || strcmp(a, "-hdb") == 0 || strcmp(a, "-hdc") == 0 ||
                   strcmp(a, "-hdd") == 0) {
            NEED_ARG();
            o->hd[a[3] - 'a'] = val;
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
        } else if (in_list(not_yet, a)) {
            fprintf(stderr, "bt86: %s: not supported yet (see docs/STATUS.md)\n", a);
            if (in_list(not_yet_with_arg, a) && val) i++;
            return -1;
        } else {
            fprintf(stderr, "bt86: unknown option '%s' (try -help)\n", argv[i]);
            return -1;
        }
#undef NEED_ARG
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

static void serial_out(void *opaque, uint8_t byte) {
    FILE *f = opaque;
    fputc(byte, f);
    if (byte == '\n' || f == stdout) fflush(f);
}

typedef struct Console {
    bool enabled; /* COM1 input comes from stdin */
    bool eof;     /* stdin was a pipe or file and has ended */
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
        if (c->escape) {
            c->escape = false;
            if (ch == 'x') {
                c->quit = true;
                return;
            }
            if (ch == 'h') {
                fprintf(stderr, "\r\nC-a x  exit\r\nC-a h  this help\r\nC-a C-a  send C-a\r\n");
                continue;
            }
            if (ch != 1) continue;
        } else if (ch == 1) {
            c->escape = true;
            continue;
        }
        if (c->npending < sizeof c->pending) c->pending[c->npending++] = ch;
    }
    size_t taken = pc_serial_input(pc, c->pending, c->npending);
    memmove(c->pending, c->pending + taken, c->npending - taken);
    c->npending -= taken;
}

int main(int argc, char **argv) {
    Options o = {.ram_mb = 128, .bios = "/usr/share/seabios/bios.bin"};
    if (parse_args(argc, argv, &o) < 0) return 1;

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
    if (open_chardev("-serial", o.serial, &serial) < 0) return 1;
    if (open_chardev("-debugcon", o.debugcon, &debugcon) < 0) return 1;

    PcConfig cfg = pc_default_config();
    cfg.ram_mb = o.ram_mb;
    cfg.bios_path = o.bios;
    cfg.debugcon_out = debugcon;
    cfg.serial_tx = serial ? serial_out : NULL;
    cfg.serial_opaque = serial;
    cfg.rtc_start = (int64_t)time(NULL);
    for (int i = 0; i < 4; i++) cfg.hd[i] = o.hd[i];
    cfg.snapshot = o.snapshot;
    cfg.kernel = o.kernel;
    cfg.initrd = o.initrd;
    cfg.append = o.append;
    char err[512];
    Pc *pc = pc_new(&cfg, err, sizeof err);
    if (!pc) {
        fprintf(stderr, "bt86: %s\n", err);
        return 1;
    }
    Tracer *tracer = NULL;
    if (trace_mask) {
        tracer = tracer_new(trace_mask, log);
        if (!tracer) {
            fprintf(stderr, "bt86: cannot start the tracer (capstone)\n");
            return 1;
        }
        tracer_attach(tracer, pc_cpu(pc));
    }
    /* With the serial port on stdio, stdin feeds COM1: keystrokes from a
     * terminal (put in raw mode) or the bytes of a pipe or file. */
    Console con = {.enabled = serial == stdout};
    if (con.enabled) {
        if (isatty(STDIN_FILENO)) tty_make_raw();
        fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
    }

    int status = 0;
    uint64_t left = o.max_insns ? o.max_insns : UINT64_MAX;
    while (left > 0 && !con.quit) {
        uint64_t chunk = left < 200000 ? left : 200000;
        uint64_t before = pc_cpu(pc)->icount;
        PcExit e = pc_run(pc, chunk);
        uint64_t ran = pc_cpu(pc)->icount - before;
        left = ran >= left ? 0 : left - ran;
        if (con.enabled) console_poll(&con, pc);
        if (e == PC_EXIT_RESET) {
            if (o.no_reboot) {
                fprintf(stderr, "bt86: the guest reset the machine (-no-reboot: exiting)\n");
                break;
            }
            cpu_reset(pc_cpu(pc));
        } else if (e == PC_EXIT_POWEROFF) {
            break; /* the guest powered the machine off: exit status 0 */
        } else if (e == PC_EXIT_HALTED) {
            fprintf(stderr, "bt86: the CPU halted with nothing left to wake it\n");
            break;
        }
    }
    tty_restore();
    if (tracer) tracer_free(tracer);
    if (log != stderr) fclose(log);
    if (serial && serial != stdout) fclose(serial);
    if (debugcon && debugcon != stdout) fclose(debugcon);
    fflush(stdout);
    pc_free(pc);
    return status;
}
