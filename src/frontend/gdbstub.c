/*
 * gdbstub.c - the GDB remote stub (see gdbstub.h): the socket, the
 * packets' meaning, the target description, registers and memory.
 *
 * Registers, in the order of the target description (and of g/G):
 *   0-15   eax ecx edx ebx esp ebp esi edi eip eflags cs ss ds es fs gs
 *   16-23  st0-st7 (80 bits each)
 *   24-31  fctrl fstat ftag fiseg fioff foseg fooff fop
 *   32-    bt86's system registers (feature org.bt86.i386.sys, below)
 * The first 32 are GDB's org.gnu.gdb.i386.core feature.
 *
 * Addresses of memory packets and breakpoints are linear (CS base + EIP
 * for code), as QEMU's stub has them; after Qqemu.PhyMemMode:1 memory
 * packets use physical addresses. Debugger reads and writes reach RAM and
 * ROM, and reads the device memory that has a side-effect-free peek
 * (phys_peek: the VGA's window and frame buffer); anything else, or an
 * unmapped page, answers E14.
 *
 * During a replay (gdbstub_set_replay) the debugger may read anything but
 * change nothing: register and memory writes, resuming at another address
 * and monitor commands other than `info`/`help` answer E0d (a change would
 * make the run leave the recording); stepi always enters interrupt
 * handlers (holding an interrupt back would move it); the end of the
 * recording is the stop reply T05replaylog:end;. bs and bc (reverse step
 * and continue, reverse.c) are served only then; the start of the
 * history is T05replaylog:begin;.
 *
 * Every packet is parsed with bounds: a malformed one gets an error
 * reply (E01, E22), an unknown one the empty reply.
 */
#define _GNU_SOURCE 1 /* open_memstream */
#include "frontend/gdbstub.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "frontend/gdb_proto.h"
#include "mmu/mmu.h"

#define REPLY_MAX GDB_PACKET_MAX /* payload bytes of a reply */

struct Gdbstub {
    Pc *pc;
    MonitorHooks hooks;
    int listen_fd;
    int fd;        /* the connection, or -1 */
    bool waiting;  /* the debugger resumed the guest and waits for a stop reply */
    bool phys_mem; /* Qqemu.PhyMemMode:1 */
    bool step_irqs;
    bool replay; /* read-only: the run follows a recording */
    GdbStopReason last_stop;
    GdbRx rx;
    char reply[REPLY_MAX + 1];
    uint8_t frame[2 * REPLY_MAX + 4]; /* the last reply sent, for a '-' */
    size_t frame_len;
    char unix_path[108];
};

/* ---------------- the socket ---------------- */

static int listen_tcp(const char *host, const char *port, char *err, size_t errlen) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve %s:%s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) snprintf(err, errlen, "cannot listen on %s:%s: %s", host, port, strerror(errno));
    return fd;
}

static int listen_unix(Gdbstub *g, const char *path, char *err, size_t errlen) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path); /* a stale socket */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    snprintf(g->unix_path, sizeof g->unix_path, "%s", path);
    return fd;
}

/* tcp::PORT, tcp:HOST:PORT, unix:PATH (also a bare PORT or :PORT). */
static int listen_spec(Gdbstub *g, const char *spec, char *err, size_t errlen) {
    if (strncmp(spec, "unix:", 5) == 0) return listen_unix(g, spec + 5, err, errlen);
    const char *hp = strncmp(spec, "tcp:", 4) == 0 ? spec + 4 : spec;
    const char *colon = strrchr(hp, ':');
    char host[256] = "127.0.0.1";
    const char *port = hp;
    if (colon) {
        if (colon > hp) {
            size_t n = (size_t)(colon - hp);
            if (n >= sizeof host) n = sizeof host - 1;
            memcpy(host, hp, n);
            host[n] = 0;
            if (host[0] == '[' && n > 2 && host[n - 1] == ']') { /* [::1] */
                memmove(host, host + 1, n - 2);
                host[n - 2] = 0;
            }
        }
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535) {
        snprintf(err, errlen, "bad device '%s' (tcp::PORT, tcp:HOST:PORT or unix:PATH)", spec);
        return -1;
    }
    return listen_tcp(host, port, err, errlen);
}

Gdbstub *gdbstub_new(const char *spec, Pc *pc, const MonitorHooks *hooks, char *err,
                     size_t errlen) {
    Gdbstub *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->pc = pc;
    if (hooks) g->hooks = *hooks;
    g->fd = -1;
    g->listen_fd = listen_spec(g, spec, err, errlen);
    if (g->listen_fd < 0) {
        free(g);
        return NULL;
    }
    gdb_rx_init(&g->rx);
    g->last_stop = GDB_STOP_START;
    return g;
}

static void disconnect(Gdbstub *g) {
    if (g->fd >= 0) close(g->fd);
    g->fd = -1;
    g->waiting = false;
    g->phys_mem = false;
    gdb_rx_init(&g->rx);
}

void gdbstub_free(Gdbstub *g) {
    if (!g) return;
    disconnect(g);
    close(g->listen_fd);
    if (g->unix_path[0]) unlink(g->unix_path);
    free(g);
}

void gdbstub_set_replay(Gdbstub *g) {
    g->replay = true;
    g->step_irqs = true;
}

bool gdbstub_connected(const Gdbstub *g) {
    return g->fd >= 0;
}

int gdbstub_fd(const Gdbstub *g) {
    return g->fd >= 0 ? g->fd : g->listen_fd;
}

static void accept_debugger(Gdbstub *g) {
    int fd = accept(g->listen_fd, NULL, NULL);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on unix */
    g->fd = fd;
    gdb_rx_init(&g->rx);
    g->waiting = false;
}

static void send_bytes(Gdbstub *g, const void *buf, size_t n) {
    const uint8_t *p = buf;
    while (n && g->fd >= 0) {
        ssize_t w = send(g->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {.fd = g->fd, .events = POLLOUT};
            poll(&pf, 1, 1000);
            continue;
        }
        if (w <= 0) {
            disconnect(g);
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void send_packet(Gdbstub *g, const char *payload, size_t n) {
    g->frame_len = gdb_frame((const uint8_t *)payload, n, g->frame, sizeof g->frame);
    send_bytes(g, g->frame, g->frame_len);
}

static void send_str(Gdbstub *g, const char *s) {
    send_packet(g, s, strlen(s));
}

/* Console output for the debugger's user: O packets of hex text. */
static void send_console(Gdbstub *g, const char *text, size_t n) {
    char buf[1 + 2 * 512 + 1];
    while (n) {
        size_t k = n < 512 ? n : 512;
        buf[0] = 'O';
        gdb_hex_encode((const uint8_t *)text, k, buf + 1);
        send_packet(g, buf, 1 + 2 * k);
        text += k;
        n -= k;
    }
}

/* ---------------- registers ---------------- */

enum {
    REG_EIP = 8,
    REG_EFLAGS = 9,
    REG_CS = 10, /* cs ss ds es fs gs */
    REG_ST0 = 16,
    REG_FCTRL = 24,
    REG_SYS = 32,
};

/* bt86's system registers, after the core ones. */
static const char *const sys_regs[] = {
    "cs_base",   "cs_limit",   "ss_base",   "ss_limit",   "ds_base",   "ds_limit",   "es_base",
    "es_limit",  "fs_base",    "fs_limit",  "gs_base",    "gs_limit",  "cr0",        "cr2",
    "cr3",       "cr4",        "gdtr_base", "gdtr_limit", "idtr_base", "idtr_limit", "ldtr",
    "ldtr_base", "ldtr_limit", "tr",        "tr_base",    "tr_limit",
};
#define NSYS  (sizeof sys_regs / sizeof sys_regs[0])
#define NREGS (REG_SYS + (int)NSYS)

/* GDB's order of the segment registers, as indices of cpu->seg. */
static const int seg_order[6] = {SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS};

static unsigned reg_size(int n) {
    return n >= REG_ST0 && n < REG_FCTRL ? 10 : 4;
}

static uint32_t *sys_reg_ptr(CPU *c, int k) {
    if (k < 12) {
        SegReg *s = &c->seg[seg_order[k / 2]];
        return k % 2 ? &s->limit : &s->base;
    }
    switch (k) {
    case 12: return &c->cr0;
    case 13: return &c->cr2;
    case 14: return &c->cr3;
    case 15: return &c->cr4;
    case 16: return &c->gdtr.base;
    case 18: return &c->idtr.base;
    case 21: return &c->ldtr.base;
    case 22: return &c->ldtr.limit;
    case 24: return &c->tr.base;
    case 25: return &c->tr.limit;
    default: return NULL; /* 16-bit ones: see below */
    }
}

static uint32_t sys_reg_read(CPU *c, int k) {
    uint32_t *p = sys_reg_ptr(c, k);
    if (p) return *p;
    switch (k) {
    case 17: return c->gdtr.limit;
    case 19: return c->idtr.limit;
    case 20: return c->ldtr.sel;
    default: return c->tr.sel; /* 23 */
    }
}

/* Register n as little-endian bytes; returns its size. */
static unsigned reg_read(CPU *c, int n, uint8_t *out) {
    uint32_t v;
    if (n >= REG_ST0 && n < REG_FCTRL) {
        const F80 *f = &c->fpu.regs[(c->fpu.top + (unsigned)(n - REG_ST0)) & 7];
        for (int i = 0; i < 8; i++)
            out[i] = (uint8_t)(f->mant >> (8 * i));
        out[8] = (uint8_t)f->se;
        out[9] = (uint8_t)(f->se >> 8);
        return 10;
    }
    if (n < 8)
        v = c->regs[n];
    else if (n == REG_EIP)
        v = c->eip;
    else if (n == REG_EFLAGS)
        v = cpu_get_eflags(c);
    else if (n < REG_ST0)
        v = c->seg[seg_order[n - REG_CS]].sel;
    else if (n < REG_SYS) {
        const Fpu *f = &c->fpu;
        const uint32_t fpu_regs[8] = {f->cw,  (uint32_t)(f->sw & ~0x3800u) | (f->top & 7) << 11,
                                      f->tw,  f->fcs,
                                      f->fip, f->fds,
                                      f->fdp, f->fop};
        v = fpu_regs[n - REG_FCTRL];
    } else
        v = sys_reg_read(c, n - REG_SYS);
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return 4;
}

/* The paging controls follow CR0/CR3/CR4; translations are stale. */
static void paging_changed(CPU *c) {
    mmu_set_paging(&c->mmu, c->cr0 & CR0_PG, c->cr0 & CR0_WP, c->cr4 & CR4_PSE, c->cr4 & CR4_PGE,
                   c->cr3);
    if (c->run_hooks.map_changed) c->run_hooks.map_changed(c->run_hooks.opaque);
}

static void sys_reg_write(CPU *c, int k, uint32_t v) {
    uint32_t *p = sys_reg_ptr(c, k);
    if (p)
        *p = v;
    else if (k == 17)
        c->gdtr.limit = (uint16_t)v;
    else if (k == 19)
        c->idtr.limit = (uint16_t)v;
    else if (k == 20)
        c->ldtr.sel = (uint16_t)v;
    else
        c->tr.sel = (uint16_t)v;
    if (k >= 12 && k <= 15) paging_changed(c);
    if (k < 12 && c->run_hooks.map_changed) c->run_hooks.map_changed(c->run_hooks.opaque);
}

static void reg_write(CPU *c, int n, const uint8_t *in) {
    if (n >= REG_ST0 && n < REG_FCTRL) {
        F80 *f = &c->fpu.regs[(c->fpu.top + (unsigned)(n - REG_ST0)) & 7];
        f->mant = 0;
        for (int i = 0; i < 8; i++)
            f->mant |= (uint64_t)in[i] << (8 * i);
        f->se = (uint16_t)(in[8] | in[9] << 8);
        return;
    }
    uint32_t v =
        (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
    if (n < 8) {
        c->regs[n] = v;
    } else if (n == REG_EIP) {
        c->eip = v;
    } else if (n == REG_EFLAGS) {
        cpu_set_eflags(c, v, 0xFFFFFFFFu);
    } else if (n < REG_ST0) {
        /* The selector; in real and V86 mode the base follows it, as a
         * segment load there would do (protected mode: the descriptor
         * cache stays, cs_base etc. can be written separately). */
        int s = seg_order[n - REG_CS];
        if (!cpu_pe(c) || cpu_v86(c))
            cpu_load_seg_real(c, s, (uint16_t)v);
        else
            c->seg[s].sel = (uint16_t)v;
        if (c->run_hooks.map_changed) c->run_hooks.map_changed(c->run_hooks.opaque);
    } else if (n < REG_SYS) {
        Fpu *f = &c->fpu;
        switch (n - REG_FCTRL) {
        case 0: f->cw = (uint16_t)v; break;
        case 1:
            f->sw = (uint16_t)(v & ~0x3800u);
            f->top = (v >> 11) & 7;
            break;
        case 2: f->tw = (uint16_t)v; break;
        case 3: f->fcs = (uint16_t)v; break;
        case 4: f->fip = v; break;
        case 5: f->fds = (uint16_t)v; break;
        case 6: f->fdp = v; break;
        default: f->fop = (uint16_t)(v & 0x7FF); break;
        }
    } else {
        sys_reg_write(c, n - REG_SYS, v);
    }
}

/* ---------------- the target description ---------------- */

static const char *const core_regs[REG_SYS] = {
    "eax", "ecx", "edx",   "ebx",   "esp",  "ebp",   "esi",   "edi",   "eip",   "eflags", "cs",
    "ss",  "ds",  "es",    "fs",    "gs",   "st0",   "st1",   "st2",   "st3",   "st4",    "st5",
    "st6", "st7", "fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
};

/* The flag bits of EFLAGS (SDM Vol. 1, 3.4.3), for GDB to show by name. */
static const struct {
    const char *name;
    int bit;
} eflags_bits[] = {{"CF", 0},  {"PF", 2},   {"AF", 4},   {"ZF", 6},  {"SF", 7},  {"TF", 8},
                   {"IF", 9},  {"DF", 10},  {"OF", 11},  {"NT", 14}, {"RF", 16}, {"VM", 17},
                   {"AC", 18}, {"VIF", 19}, {"VIP", 20}, {"ID", 21}};

static const char *core_type(int n) {
    if (n == R_ESP || n == R_EBP) return "data_ptr";
    if (n == REG_EIP) return "code_ptr";
    if (n == REG_EFLAGS) return "bt86_eflags";
    if (n >= REG_ST0 && n < REG_FCTRL) return "i387_ext";
    return "int32";
}

/* The whole description, built once. It names the architecture i8086,
 * the most general of GDB's i386 family: GDB picks the more specific of
 * the description's and the user's choice, so `set architecture i8086`
 * (real mode) and `set architecture i386` both stay in effect, and a
 * 32-bit ELF file loaded with `file` gives i386. */
static const char *target_xml(void) {
    static char *xml;
    if (xml) return xml;
    size_t len;
    FILE *f = open_memstream(&xml, &len);
    if (!f) return NULL;
    fputs("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
          "<target version=\"1.0\">\n<architecture>i8086</architecture>\n"
          "<feature name=\"org.gnu.gdb.i386.core\">\n<flags id=\"bt86_eflags\" size=\"4\">\n",
          f);
    for (size_t i = 0; i < sizeof eflags_bits / sizeof eflags_bits[0]; i++)
        fprintf(f, "<field name=\"%s\" start=\"%d\" end=\"%d\"/>\n", eflags_bits[i].name,
                eflags_bits[i].bit, eflags_bits[i].bit);
    fputs("</flags>\n", f);
    for (int n = 0; n < REG_SYS; n++)
        fprintf(f, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%d\"%s/>\n", core_regs[n],
                reg_size(n) * 8, core_type(n), n,
                n >= REG_ST0  ? " group=\"float\""
                : n < REG_ST0 ? " group=\"general\""
                              : "");
    fputs("</feature>\n<feature name=\"org.bt86.i386.sys\">\n", f);
    for (size_t k = 0; k < NSYS; k++)
        fprintf(f,
                "<reg name=\"%s\" bitsize=\"32\" type=\"uint32\" regnum=\"%d\" "
                "group=\"general\"/>\n",
                sys_regs[k], REG_SYS + (int)k);
    fputs("</feature>\n</target>\n", f);
    fclose(f);
    return xml;
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH */
static void xfer_features(Gdbstub *g, const char *args) {
    const char *annex = "target.xml:";
    if (strncmp(args, annex, strlen(annex)) != 0) {
        send_str(g, "E00");
        return;
    }
    const char *p = args + strlen(annex);
    uint64_t off, len;
    if (!gdb_parse_hex(&p, 8, &off) || *p++ != ',' || !gdb_parse_hex(&p, 8, &len) || *p) {
        send_str(g, "E01");
        return;
    }
    const char *xml = target_xml();
    if (!xml) {
        send_str(g, "E0c");
        return;
    }
    size_t total = strlen(xml);
    if (len > REPLY_MAX - 1) len = REPLY_MAX - 1;
    if (off >= total) {
        send_str(g, "l");
        return;
    }
    size_t n = total - off < len ? total - off : (size_t)len;
    g->reply[0] = off + n < total ? 'm' : 'l';
    memcpy(g->reply + 1, xml + off, n);
    send_packet(g, g->reply, 1 + n);
}

/* ---------------- memory ---------------- */

/* The physical address of a debugger's address (linear unless PhyMemMode). */
static bool debug_paddr(Gdbstub *g, uint32_t addr, PhysAddr *pa) {
    CPU *c = pc_cpu(g->pc);
    if (g->phys_mem) {
        *pa = addr;
        return true;
    }
    return mmu_debug_translate(&c->mmu, addr, pa);
}

/* Copy n bytes from (write: to) the guest at addr, page by page; returns
 * how many were done before an unmapped page or a non-memory address. */
static size_t mem_access(Gdbstub *g, uint32_t addr, uint8_t *buf, size_t n, bool write) {
    PhysMem *pm = pc_physmem(g->pc);
    size_t done = 0;
    while (done < n) {
        uint32_t a = addr + (uint32_t)done;
        PhysAddr pa;
        size_t chunk = 0x1000 - (a & 0xFFF);
        if (chunk > n - done) chunk = n - done;
        if (!debug_paddr(g, a, &pa)) break;
        int rc =
            write ? phys_copy_to(pm, pa, buf + done, chunk) : phys_peek(pm, pa, buf + done, chunk);
        if (rc < 0) { /* part of it, byte by byte */
            size_t k = 0;
            while (k < chunk && (write ? phys_copy_to(pm, pa + k, buf + done + k, 1)
                                       : phys_peek(pm, pa + k, buf + done + k, 1)) == 0)
                k++;
            return done + k;
        }
        done += chunk;
    }
    return done;
}

/* "ADDR,LEN" followed by `end`; false if malformed. */
static bool parse_addr_len(const char **p, char end, uint32_t *addr, uint32_t *len) {
    uint64_t a, l;
    if (!gdb_parse_hex(p, 8, &a) || **p != ',') return false;
    (*p)++;
    if (!gdb_parse_hex(p, 8, &l) || **p != end) return false;
    if (end) (*p)++;
    *addr = (uint32_t)a;
    *len = (uint32_t)l;
    return true;
}

static void read_memory(Gdbstub *g, const char *args) {
    uint32_t addr, len;
    if (!parse_addr_len(&args, 0, &addr, &len)) {
        send_str(g, "E01");
        return;
    }
    if (len > (REPLY_MAX - 1) / 2) len = (REPLY_MAX - 1) / 2;
    uint8_t buf[(REPLY_MAX - 1) / 2];
    size_t n = mem_access(g, addr, buf, len, false);
    if (n == 0 && len) {
        send_str(g, "E14");
        return;
    }
    gdb_hex_encode(buf, n, g->reply);
    send_packet(g, g->reply, 2 * n);
}

/* M addr,len:hex and X addr,len:binary (the payload's length is rx.len). */
static void write_memory(Gdbstub *g, bool binary) {
    const char *p = (const char *)g->rx.data + 1;
    uint32_t addr, len;
    if (!parse_addr_len(&p, ':', &addr, &len)) {
        send_str(g, "E01");
        return;
    }
    if (g->replay && len) {
        send_str(g, "E0d");
        return;
    }
    size_t off = (size_t)(p - (const char *)g->rx.data);
    size_t avail = g->rx.len - off;
    static uint8_t buf[GDB_PACKET_MAX];
    if (binary) {
        memcpy(buf, g->rx.data + off, avail);
        long n = gdb_unescape(buf, avail);
        if (n < 0 || (uint64_t)n != len) {
            send_str(g, "E01");
            return;
        }
    } else if (avail != 2 * (uint64_t)len || !gdb_hex_decode(p, len, buf)) {
        send_str(g, "E01");
        return;
    }
    send_str(g, mem_access(g, addr, buf, len, true) == len ? "OK" : "E14");
}

/* ---------------- breakpoints and watchpoints ---------------- */

/* Z/z TYPE,ADDR,KIND */
static void break_packet(Gdbstub *g, bool insert) {
    const char *p = (const char *)g->rx.data + 1;
    CPU *c = pc_cpu(g->pc);
    uint64_t type, addr, kind;
    if (!gdb_parse_hex(&p, 1, &type) || *p++ != ',' || !gdb_parse_hex(&p, 8, &addr) ||
        *p++ != ',' || !gdb_parse_hex(&p, 8, &kind) || (*p && *p != ';')) {
        send_str(g, "E01");
        return;
    }
    bool ok;
    if (type <= 1) {
        ok = insert ? cpu_debug_insert_break(c, (uint32_t)addr, type == 1)
                    : cpu_debug_remove_break(c, (uint32_t)addr, type == 1);
    } else if (type <= 4) {
        if (kind != 1 && kind != 2 && kind != 4 && kind != 8) {
            send_str(g, "E22");
            return;
        }
        static const CpuWatchKind kinds[] = {CPU_WATCH_WRITE, CPU_WATCH_READ, CPU_WATCH_ACCESS};
        CpuWatchKind k = kinds[type - 2];
        ok = insert ? cpu_debug_insert_watch(c, (uint32_t)addr, (uint32_t)kind, k)
                    : cpu_debug_remove_watch(c, (uint32_t)addr, (uint32_t)kind, k);
    } else {
        send_str(g, ""); /* not supported */
        return;
    }
    send_str(g, ok ? "OK" : "E0c");
}

/* ---------------- stop replies ---------------- */

static void stop_reply(Gdbstub *g, GdbStopReason why) {
    CPU *c = pc_cpu(g->pc);
    char buf[96];
    const char *what = "";
    switch (why) {
    case GDB_STOP_RESET:
        what = "bt86: the guest reset the machine (triple fault or reset); continuing resets it\n";
        break;
    case GDB_STOP_POWEROFF:
        what = "bt86: the guest switched the machine off; continuing ends bt86\n";
        break;
    case GDB_STOP_HALTED: what = "bt86: the CPU halted with interrupts off\n"; break;
    default: break;
    }
    if (*what && g->waiting) send_console(g, what, strlen(what));
    if (why == GDB_STOP_INTERRUPT) {
        snprintf(buf, sizeof buf, "T02thread:01;");
    } else if (why == GDB_STOP_REPLAY_END || why == GDB_STOP_REPLAY_BEGIN) {
        snprintf(buf, sizeof buf, "T05replaylog:%s;thread:01;",
                 why == GDB_STOP_REPLAY_END ? "end" : "begin");
    } else if (why == GDB_STOP_DEBUG && c->debug.stop == CPU_STOP_WATCH) {
        const CpuWatch *w = &c->debug.hit_watch;
        const char *kind = w->kind == CPU_WATCH_WRITE  ? "watch"
                           : w->kind == CPU_WATCH_READ ? "rwatch"
                                                       : "awatch";
        snprintf(buf, sizeof buf, "T05%s:%x;thread:01;", kind, w->lin);
        /* With -symbols, name the variable and the code (GDB has no
         * symbols for the guest): "bt86: watch 0xc1c49d40 <jiffies+0x0>
         * by tick_do_update_jiffies64+0x9a" (EIP is past the access). */
        char var[128], code[128], line[320];
        if (g->waiting && g->hooks.symbols &&
            symtab_format_data(g->hooks.symbols, w->lin, var, sizeof var)) {
            uint32_t at = c->seg[SEG_CS].base + c->eip;
            if (!symtab_format(g->hooks.symbols, at, code, sizeof code))
                snprintf(code, sizeof code, "0x%x", at);
            int n = snprintf(line, sizeof line, "bt86: %s 0x%x <%s>, next instruction %s\n", kind,
                             w->lin, var, code);
            send_console(g, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        }
    } else if (why == GDB_STOP_DEBUG && c->debug.stop == CPU_STOP_BREAK) {
        snprintf(buf, sizeof buf, "T05%s:;thread:01;",
                 c->debug.hit_break.kinds & 1 ? "swbreak" : "hwbreak");
    } else {
        snprintf(buf, sizeof buf, "T05thread:01;");
    }
    send_str(g, buf);
}

/* ---------------- monitor commands ---------------- */

static bool on_off(const char *arg, bool *out) {
    if (strcmp(arg, "on") == 0)
        *out = true;
    else if (strcmp(arg, "off") == 0)
        *out = false;
    else
        return false;
    return true;
}

/* During a replay only commands that change nothing: info, help. */
static bool replay_allows(const char *cmd) {
    return strncmp(cmd, "info", 4) == 0 || strcmp(cmd, "help") == 0 || strcmp(cmd, "?") == 0 ||
           strcmp(cmd, "gdb-step-irqs") == 0 || strcmp(cmd, "gdb-step-irqs on") == 0;
}

/* qRcmd,HEX: a monitor command; its output goes back as O packets.
 * Returns false when the command was `quit`. */
static bool monitor_packet(Gdbstub *g, const char *hex) {
    size_t n = strlen(hex) / 2;
    char cmd[512];
    if (strlen(hex) % 2 || n >= sizeof cmd || !gdb_hex_decode(hex, n, (uint8_t *)cmd)) {
        send_str(g, "E01");
        return true;
    }
    cmd[n] = 0;
    if (g->replay && !replay_allows(cmd)) {
        send_str(g, "E0d");
        return true;
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) {
        send_str(g, "E0c");
        return true;
    }
    MonitorAction action = MONITOR_CONTINUE;
    if (strncmp(cmd, "gdb-step-irqs", 13) == 0 && (cmd[13] == 0 || cmd[13] == ' ')) {
        const char *arg = cmd + 13;
        while (*arg == ' ')
            arg++;
        if (*arg && !on_off(arg, &g->step_irqs)) fprintf(f, "gdb-step-irqs: on or off\n");
        fprintf(f, "gdb-step-irqs: stepi %s interrupt handlers\n",
                g->step_irqs ? "enters" : "holds back");
    } else {
        Monitor *m = monitor_new(g->pc, f, &g->hooks);
        if (m) {
            action = monitor_command(m, cmd);
            if (strcmp(cmd, "help") == 0 || strcmp(cmd, "?") == 0)
                fputs("gdb-step-irqs on|off  (gdb) whether stepi enters interrupt handlers\n", f);
            monitor_free(m);
        }
    }
    fclose(f);
    send_console(g, out, len);
    free(out);
    send_str(g, "OK");
    return action != MONITOR_QUIT;
}

/* ---------------- packets ---------------- */

static void query_supported(Gdbstub *g) {
    snprintf(g->reply, sizeof g->reply,
             "PacketSize=%x;qXfer:features:read+;vContSupported+;swbreak+;hwbreak+%s",
             GDB_PACKET_MAX, g->replay ? ";ReverseStep+;ReverseContinue+" : "");
    send_str(g, g->reply);
}

static void read_registers(Gdbstub *g) {
    CPU *c = pc_cpu(g->pc);
    size_t o = 0;
    for (int n = 0; n < NREGS; n++) {
        uint8_t b[10];
        unsigned k = reg_read(c, n, b);
        gdb_hex_encode(b, k, g->reply + o);
        o += 2 * k;
    }
    send_packet(g, g->reply, o);
}

static void write_registers(Gdbstub *g, const char *hex) {
    CPU *c = pc_cpu(g->pc);
    if (g->replay) {
        send_str(g, "E0d");
        return;
    }
    size_t avail = strlen(hex);
    for (int n = 0; n < NREGS && avail; n++) {
        unsigned k = reg_size(n);
        uint8_t b[10];
        if (avail < 2 * k || !gdb_hex_decode(hex, k, b)) {
            send_str(g, "E01");
            return;
        }
        reg_write(c, n, b);
        hex += 2 * k;
        avail -= 2 * k;
    }
    send_str(g, "OK");
}

/* p N and P N=VALUE */
static void one_register(Gdbstub *g, const char *args, bool write) {
    CPU *c = pc_cpu(g->pc);
    uint64_t n;
    if (!gdb_parse_hex(&args, 4, &n) || (write ? *args != '=' : *args != 0)) {
        send_str(g, "E01");
        return;
    }
    if (n >= (uint64_t)NREGS) {
        send_str(g, "E00");
        return;
    }
    uint8_t b[10];
    unsigned k = reg_size((int)n);
    if (!write) {
        reg_read(c, (int)n, b);
        gdb_hex_encode(b, k, g->reply);
        send_packet(g, g->reply, 2 * k);
        return;
    }
    args++;
    if (g->replay) {
        send_str(g, "E0d");
        return;
    }
    if (strlen(args) != 2 * k || !gdb_hex_decode(args, k, b)) {
        send_str(g, "E01");
        return;
    }
    reg_write(c, (int)n, b);
    send_str(g, "OK");
}

/* c [ADDR] / s [ADDR]: resume, optionally at ADDR (EIP). */
static bool resume_at(Gdbstub *g, const char *args) {
    if (!*args) return true;
    uint64_t a;
    if (g->replay || !gdb_parse_hex(&args, 8, &a) || *args) return false;
    pc_cpu(g->pc)->eip = (uint32_t)a;
    return true;
}

/* vCont;ACTION[:THREAD]...: one CPU, so any step action steps it. -1: malformed. */
static int vcont_step(const char *p) {
    bool step = false, any = false;
    while (*p == ';') {
        p++;
        char a = *p++;
        if (a == 'C' || a == 'S') { /* a signal number: meaningless for a machine */
            uint64_t sig;
            if (!gdb_parse_hex(&p, 2, &sig)) return -1;
        } else if (a != 'c' && a != 's') {
            return -1;
        }
        if (*p == ':') { /* thread id */
            p++;
            if (*p == '-') p++;
            uint64_t t;
            if (!gdb_parse_hex(&p, 8, &t)) return -1;
        }
        step |= a == 's' || a == 'S';
        any = true;
    }
    return !any || *p ? -1 : step;
}

typedef enum {
    SERVE_ON,
    SERVE_RESUME,
    SERVE_STEP,
    SERVE_REVERSE_STEP,
    SERVE_REVERSE_CONTINUE,
    SERVE_DETACH,
    SERVE_KILL
} ServeResult;

static ServeResult query_packet(Gdbstub *g, const char *pkt) {
    if (strncmp(pkt, "qSupported", 10) == 0) {
        query_supported(g);
    } else if (strncmp(pkt, "qXfer:features:read:", 20) == 0) {
        xfer_features(g, pkt + 20);
    } else if (strcmp(pkt, "qAttached") == 0 || strncmp(pkt, "qAttached:", 10) == 0) {
        send_str(g, "1");
    } else if (strcmp(pkt, "qC") == 0) {
        send_str(g, "QC01");
    } else if (strcmp(pkt, "qfThreadInfo") == 0) {
        send_str(g, "m01");
    } else if (strcmp(pkt, "qsThreadInfo") == 0) {
        send_str(g, "l");
    } else if (strncmp(pkt, "qRcmd,", 6) == 0) {
        if (!monitor_packet(g, pkt + 6)) return SERVE_KILL;
    } else if (strcmp(pkt, "qqemu.PhyMemMode") == 0) {
        send_str(g, g->phys_mem ? "1" : "0");
    } else if (strcmp(pkt, "qSymbol::") == 0) {
        send_str(g, "OK");
    } else {
        send_str(g, "");
    }
    return SERVE_ON;
}

/* One packet while the guest is stopped. */
static ServeResult handle_packet(Gdbstub *g) {
    const char *pkt = (const char *)g->rx.data;
    const char *args = pkt + (g->rx.len ? 1 : 0);
    switch (g->rx.len ? pkt[0] : 0) {
    case '?': stop_reply(g, g->last_stop); break;
    case 'g': read_registers(g); break;
    case 'G': write_registers(g, args); break;
    case 'p': one_register(g, args, false); break;
    case 'P': one_register(g, args, true); break;
    case 'm': read_memory(g, args); break;
    case 'M': write_memory(g, false); break;
    case 'X': write_memory(g, true); break;
    case 'Z': break_packet(g, true); break;
    case 'z': break_packet(g, false); break;
    case 'c':
    case 's':
        if (!resume_at(g, args)) {
            send_str(g, "E01");
            break;
        }
        return pkt[0] == 's' ? SERVE_STEP : SERVE_RESUME;
    case 'v':
        if (strcmp(pkt, "vCont?") == 0) {
            send_str(g, "vCont;c;C;s;S");
        } else if (strncmp(pkt, "vCont;", 6) == 0) {
            int step = vcont_step(pkt + 5);
            if (step < 0) {
                send_str(g, "E01");
                break;
            }
            return step ? SERVE_STEP : SERVE_RESUME;
        } else if (strncmp(pkt, "vKill", 5) == 0) {
            send_str(g, "OK");
            return SERVE_KILL;
        } else {
            send_str(g, "");
        }
        break;
    case 'b': /* bs, bc: reverse execution, during a replay only */
        if (g->replay && (strcmp(pkt, "bs") == 0 || strcmp(pkt, "bc") == 0))
            return pkt[1] == 's' ? SERVE_REVERSE_STEP : SERVE_REVERSE_CONTINUE;
        send_str(g, "");
        break;
    case 'H': send_str(g, "OK"); break; /* one thread: any choice is it */
    case 'T': send_str(g, "OK"); break; /* the thread is alive */
    case 'D': send_str(g, "OK"); return SERVE_DETACH;
    case 'k': return SERVE_KILL;
    case 'q': return query_packet(g, pkt);
    case 'Q':
        if (strcmp(pkt, "Qqemu.PhyMemMode:1") == 0 || strcmp(pkt, "Qqemu.PhyMemMode:0") == 0) {
            g->phys_mem = pkt[17] == '1';
            send_str(g, "OK");
        } else {
            send_str(g, "");
        }
        break;
    default: send_str(g, ""); break;
    }
    return SERVE_ON;
}

/* What one received byte means while stopped (packets) or running
 * (Ctrl-C). Returns the packet's result, SERVE_ON for anything else;
 * *interrupt is set on Ctrl-C. */
static ServeResult take_byte(Gdbstub *g, uint8_t byte, bool *interrupt) {
    switch (gdb_rx_byte(&g->rx, byte)) {
    case GDB_RX_PACKET:
        send_bytes(g, "+", 1);
        if (g->waiting) { /* while running only Ctrl-C means something */
            send_str(g, "E01");
            return SERVE_ON;
        }
        return handle_packet(g);
    case GDB_RX_BAD_CHECKSUM: send_bytes(g, "-", 1); break;
    case GDB_RX_TOO_LONG:
    case GDB_RX_MALFORMED:
        send_bytes(g, "+", 1);
        send_str(g, "E01");
        break;
    case GDB_RX_INTERRUPT: *interrupt = true; break;
    case GDB_RX_NACK: send_bytes(g, g->frame, g->frame_len); break;
    default: break;
    }
    return SERVE_ON;
}

bool gdbstub_poll(Gdbstub *g) {
    if (g->fd < 0) {
        struct pollfd pf = {.fd = g->listen_fd, .events = POLLIN};
        if (poll(&pf, 1, 0) != 1) return false;
        accept_debugger(g);
        return g->fd >= 0; /* a debugger attached: stop for it */
    }
    uint8_t buf[256];
    bool interrupt = false;
    for (;;) {
        ssize_t n = recv(g->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            /* The debugger went away while the guest runs: it runs on. */
            disconnect(g);
            cpu_debug_clear(pc_cpu(g->pc));
            return false;
        }
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++)
            take_byte(g, buf[i], &interrupt);
    }
    return interrupt;
}

static ServeResult serve(Gdbstub *g) {
    uint8_t buf[4096];
    for (;;) {
        if (g->fd < 0) {
            struct pollfd pf = {.fd = g->listen_fd, .events = POLLIN};
            if (poll(&pf, 1, -1) == 1) accept_debugger(g);
            continue;
        }
        ssize_t n = recv(g->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            disconnect(g);
            return SERVE_DETACH;
        }
        bool interrupt = false; /* Ctrl-C while stopped: nothing to do */
        for (ssize_t i = 0; i < n; i++) {
            ServeResult r = take_byte(g, buf[i], &interrupt);
            if (r != SERVE_ON) return r; /* GDB waits for the stop before sending more */
        }
    }
}

/* After D: the debugger acknowledges the OK and closes its end; give it
 * that time (a close before its '+' arrives would break its pipe). */
static void linger_close(Gdbstub *g) {
    uint8_t buf[64];
    for (int i = 0; i < 10 && g->fd >= 0; i++) {
        struct pollfd pf = {.fd = g->fd, .events = POLLIN};
        if (poll(&pf, 1, 100) == 1 && recv(g->fd, buf, sizeof buf, 0) <= 0) break;
    }
    disconnect(g);
}

GdbResume gdbstub_stopped(Gdbstub *g, GdbStopReason why) {
    g->last_stop = why;
    if (g->fd >= 0 && g->waiting) stop_reply(g, why);
    g->waiting = false;
    CPU *c = pc_cpu(g->pc);
    switch (serve(g)) {
    case SERVE_RESUME:
        g->waiting = true;
        cpu_debug_resume(c);
        return GDB_RESUME_CONTINUE;
    case SERVE_STEP: g->waiting = true; return GDB_RESUME_STEP;
    case SERVE_REVERSE_STEP: g->waiting = true; return GDB_RESUME_REVERSE_STEP;
    case SERVE_REVERSE_CONTINUE: g->waiting = true; return GDB_RESUME_REVERSE_CONTINUE;
    case SERVE_KILL: disconnect(g); return GDB_RESUME_KILL;
    default:
        linger_close(g);
        cpu_debug_clear(c);
        return GDB_RESUME_DETACH;
    }
}

PcExit gdbstub_step(Gdbstub *g) {
    CPU *cpu = pc_cpu(g->pc);
    cpu_debug_resume(cpu);
    if (g->step_irqs || g->replay) return pc_run(g->pc, 1);
    /* Hold interrupts back for the one instruction (QEMU's default): the
     * CPU does not see the interrupt controller or a pending NMI. A CPU
     * waiting in HLT would wait forever: nothing runs. */
    if (cpu->halted) return PC_EXIT_INSN_LIMIT;
    bool (*pending)(void *) = cpu->irq_pending;
    bool nmi = cpu->nmi_pending;
    cpu->irq_pending = NULL;
    cpu->nmi_pending = false;
    PcExit e = pc_run(g->pc, 1);
    cpu->irq_pending = pending;
    cpu->nmi_pending = cpu->nmi_pending || nmi;
    return e;
}
