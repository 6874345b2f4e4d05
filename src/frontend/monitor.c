/*
 * monitor.c - the human monitor (see monitor.h).
 *
 * With symbols (MonitorHooks.symbols), linear code and data addresses are
 * followed by "<function+0xoff>": EIP in `info registers`, each line of
 * `x` (variables too: "<jiffies+0x0>") and each instruction of `x/i` (not
 * `xp`: physical addresses).
 */
#include "frontend/monitor.h"

#include <capstone/capstone.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dbt/dbt.h"
#include "devices/i8042.h"
#include "devices/vga.h"
#include "frontend/png.h"
#include "mmu/mmu.h"
#include "vmm/vmm.h"

struct Monitor {
    Pc *pc;
    FILE *out;
    MonitorHooks hooks;
    char line[512];
    size_t len;
    bool echo;
};

Monitor *monitor_new(Pc *pc, FILE *out, const MonitorHooks *hooks) {
    Monitor *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->pc = pc;
    m->out = out;
    if (hooks) m->hooks = *hooks;
    return m;
}

void monitor_free(Monitor *m) {
    free(m);
}

void monitor_set_echo(Monitor *m, bool echo) {
    m->echo = echo;
}

void monitor_prompt(Monitor *m) {
    fputs("(bt86) ", m->out);
    fflush(m->out);
}

MonitorAction monitor_input(Monitor *m, const uint8_t *buf, size_t len) {
    for (size_t i = 0; i < len; i++) {
        uint8_t c = buf[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r') fputs("\r\n", m->out);
            m->line[m->len] = 0;
            m->len = 0;
            if (monitor_command(m, m->line) == MONITOR_QUIT) return MONITOR_QUIT;
            monitor_prompt(m);
        } else if (c == 0x7F || c == 0x08) {
            if (m->len) {
                m->len--;
                if (m->echo) fputs("\b \b", m->out);
            }
        } else if (c >= 0x20 && m->len + 1 < sizeof m->line) {
            m->line[m->len++] = (char)c;
            if (m->echo) fputc(c, m->out);
        }
    }
    if (m->echo) fflush(m->out);
    return MONITOR_CONTINUE;
}

/* ---- info jit ---- */

static void info_jit(Monitor *m) {
    CPU *cpu = pc_cpu(m->pc);
    fprintf(m->out, "engine %s, %llu instructions\n", dbt_engine_name(dbt_engine(cpu)),
            (unsigned long long)cpu->icount);
    dbt_print_stats(cpu, m->out);
}

/* " <name+0xoff>" for a linear address, or "" (no symbols, no symbol there):
 * the function for code, the variable (else function) for data. */
static const char *symbol_of(Monitor *m, uint32_t lin, bool data, char *buf, size_t size) {
    char name[160];
    buf[0] = 0;
    if (m->hooks.symbols &&
        (data ? symtab_format_data : symtab_format)(m->hooks.symbols, lin, name, sizeof name))
        snprintf(buf, size, " <%s>", name);
    return buf;
}

static const char *symbol_at(Monitor *m, uint32_t lin, char *buf, size_t size) {
    return symbol_of(m, lin, false, buf, size);
}

/* ---- info registers ---- */

static void print_seg(FILE *o, const char *name, const SegReg *s) {
    fprintf(o, "%-3s=%04x %08x %08x %08x\n", name, s->sel, s->base, s->limit, s->flags);
}

static void info_registers(Monitor *m) {
    CPU *c = pc_cpu(m->pc);
    FILE *o = m->out;
    uint32_t fl = cpu_get_eflags(c);
    fprintf(o, "EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n", c->regs[R_EAX], c->regs[R_EBX],
            c->regs[R_ECX], c->regs[R_EDX]);
    fprintf(o, "ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n", c->regs[R_ESI], c->regs[R_EDI],
            c->regs[R_EBP], c->regs[R_ESP]);
    char where[176];
    fprintf(o, "EIP=%08x EFL=%08x [%c%c%c%c%c%c%c] CPL=%d HLT=%d%s\n", c->eip, fl,
            fl & FL_OF ? 'O' : '-', fl & FL_DF ? 'D' : '-', fl & FL_SF ? 'S' : '-',
            fl & FL_ZF ? 'Z' : '-', fl & FL_AF ? 'A' : '-', fl & FL_PF ? 'P' : '-',
            fl & FL_CF ? 'C' : '-', c->cpl, c->halted,
            symbol_at(m, c->seg[SEG_CS].base + c->eip, where, sizeof where));
    static const char *const names[SEG_COUNT] = {"ES", "CS", "SS", "DS", "FS", "GS"};
    for (int i = 0; i < SEG_COUNT; i++)
        print_seg(o, names[i], &c->seg[i]);
    print_seg(o, "LDT", &c->ldtr);
    print_seg(o, "TR", &c->tr);
    fprintf(o, "GDT=     %08x %08x\nIDT=     %08x %08x\n", c->gdtr.base, c->gdtr.limit,
            c->idtr.base, c->idtr.limit);
    fprintf(o, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", c->cr0, c->cr2, c->cr3, c->cr4);
    fprintf(o, "DR0=%08x DR1=%08x DR2=%08x DR3=%08x\nDR6=%08x DR7=%08x\n", c->dr[0], c->dr[1],
            c->dr[2], c->dr[3], c->dr[6], c->dr[7]);
}

/* ---- memory ---- */

/* Read bytes at a linear address (translated without side effects, as the
 * CPU's MMU walks: two levels or PAE) or a physical one (64-bit: RAM above
 * 4 GiB too); false at an unmapped page. */
static bool read_mem(Monitor *m, bool phys, uint64_t addr, uint8_t *dst, unsigned n) {
    CPU *c = pc_cpu(m->pc);
    for (unsigned i = 0; i < n; i++) {
        PhysAddr pa = addr + i;
        if (!phys && !mmu_debug_translate(&c->mmu, (uint32_t)(addr + i), &pa)) return false;
        dst[i] = (uint8_t)phys_read(c->mmu.pm, pa, 1);
    }
    return true;
}

static void cmd_x(Monitor *m, bool phys, const char *fmt, const char *arg) {
    unsigned count = 1, size = 4;
    char format = 'x';
    if (fmt && *fmt) {
        char *end;
        if (isdigit((unsigned char)*fmt)) {
            count = (unsigned)strtoul(fmt, &end, 10);
            fmt = end;
        }
        for (; *fmt; fmt++) {
            switch (*fmt) {
            case 'x':
            case 'd':
            case 'u':
            case 'o':
            case 'c':
            case 'i': format = *fmt; break;
            case 'b': size = 1; break;
            case 'h': size = 2; break;
            case 'w': size = 4; break;
            case 'g': size = 8; break;
            default: fprintf(m->out, "invalid format '%c'\n", *fmt); return;
            }
        }
    }
    if (format == 'c') size = 1;
    if (!arg || !*arg) {
        fprintf(m->out, "%s: missing address\n", phys ? "xp" : "x");
        return;
    }
    char *end;
    unsigned long long addr = strtoull(arg, &end, 0);
    if (*end || addr > (phys ? 0xFFFFFFFFFFFFFull : 0xFFFFFFFFull)) {
        fprintf(m->out, "bad address '%s'\n", arg);
        return;
    }
    if (count == 0) count = 1;
    if (count > 4096) count = 4096;
    uint64_t a = addr;
    CPU *c = pc_cpu(m->pc);
    if (format == 'i') {
        csh cs;
        bool code32 = c->seg[SEG_CS].flags & SF_DB && (c->cr0 & CR0_PE) && !(c->eflags & FL_VM);
        if (cs_open(CS_ARCH_X86, code32 ? CS_MODE_32 : CS_MODE_16, &cs) != CS_ERR_OK) {
            fprintf(m->out, "disassembler unavailable\n");
            return;
        }
        for (unsigned i = 0; i < count; i++) {
            uint8_t code[16];
            unsigned n = 16;
            while (n && !read_mem(m, phys, a, code, n))
                n--;
            cs_insn *insn;
            size_t got = n ? cs_disasm(cs, code, n, a, 1, &insn) : 0;
            if (!got) {
                fprintf(m->out, "0x%08llx:  (bad)\n", (unsigned long long)a);
                a++;
                continue;
            }
            char where[176];
            fprintf(m->out, "0x%08llx%s:  %s %s\n", (unsigned long long)a,
                    phys ? "" : symbol_at(m, (uint32_t)a, where, sizeof where), insn[0].mnemonic,
                    insn[0].op_str);
            a += insn[0].size;
            cs_free(insn, got);
        }
        cs_close(&cs);
        return;
    }
    unsigned per_line = format == 'c' ? 16 : 16 / size;
    for (unsigned i = 0; i < count; i++) {
        char where[176];
        if (i % per_line == 0)
            fprintf(m->out, "%s%08llx%s:", i ? "\n" : "", (unsigned long long)a,
                    phys ? "" : symbol_of(m, (uint32_t)a, true, where, sizeof where));
        uint8_t b[8];
        if (!read_mem(m, phys, a, b, size)) {
            fprintf(m->out, " Cannot access memory\n");
            return;
        }
        uint64_t v = 0;
        for (unsigned k = 0; k < size; k++)
            v |= (uint64_t)b[k] << (8 * k);
        switch (format) {
        case 'x': fprintf(m->out, " 0x%0*llx", (int)size * 2, (unsigned long long)v); break;
        case 'o': fprintf(m->out, " %#llo", (unsigned long long)v); break;
        case 'u': fprintf(m->out, " %llu", (unsigned long long)v); break;
        case 'd': {
            int64_t s = (int64_t)(v << (64 - 8 * size)) >> (64 - 8 * size);
            fprintf(m->out, " %lld", (long long)s);
            break;
        }
        case 'c':
            if (v >= 0x20 && v < 0x7F)
                fprintf(m->out, " '%c'", (int)v);
            else
                fprintf(m->out, " '\\x%02x'", (unsigned)v);
            break;
        }
        a += size;
    }
    fputc('\n', m->out);
}

/* ---- keys ---- */

static void cmd_sendkey(Monitor *m, const char *keys) {
    if (!keys || !*keys) {
        fprintf(m->out, "sendkey: missing keys (e.g. ctrl-alt-delete)\n");
        return;
    }
    uint8_t codes[8][2];
    int lens[8], n = 0;
    char copy[128];
    snprintf(copy, sizeof copy, "%s", keys);
    for (char *save, *k = strtok_r(copy, "-", &save); k; k = strtok_r(NULL, "-", &save)) {
        if (n == 8) {
            fprintf(m->out, "sendkey: too many keys\n");
            return;
        }
        const char *name = strcmp(k, "del") == 0 ? "delete" : strcmp(k, "enter") == 0 ? "ret" : k;
        lens[n] = i8042_key_code(name, codes[n]);
        if (!lens[n]) {
            fprintf(m->out, "sendkey: unknown key '%s'\n", k);
            return;
        }
        n++;
    }
    I8042 *kbd = pc_keyboard(m->pc);
    for (int i = 0; i < 2 * n; i++) { /* presses in order, releases in reverse */
        int k = i < n ? i : 2 * n - 1 - i;
        if (m->hooks.key_event)
            m->hooks.key_event(m->hooks.opaque, codes[k], lens[k], i < n);
        else
            i8042_key_event(kbd, codes[k], lens[k], i < n);
    }
}

static void cmd_screendump(Monitor *m, const char *file) {
    if (!file || !*file) {
        fprintf(m->out, "screendump: missing file name\n");
        return;
    }
    Vga *v = pc_vga(m->pc);
    if (!v) {
        fprintf(m->out, "screendump: the machine has no display\n");
        return;
    }
    unsigned w, h;
    const uint32_t *fb = vga_render(v, &w, &h);
    char err[300];
    if (png_write_rgb32(file, fb, w, h, err, sizeof err) < 0)
        fprintf(m->out, "screendump: %s\n", err);
}

/* ---- savevm / loadvm ---- */

static void cmd_snapshot(Monitor *m, const char *cmd, const char *file) {
    if (!file) {
        fprintf(m->out, "%s: needs a file name\n", cmd);
        return;
    }
    char err[512];
    int rc = strcmp(cmd, "savevm") == 0 ? pc_savevm(m->pc, file, err, sizeof err)
                                        : pc_loadvm(m->pc, file, err, sizeof err);
    if (rc < 0) fprintf(m->out, "%s: %s\n", cmd, err);
}

static void help(Monitor *m) {
    fputs("help                 this list\n"
          "info registers       CPU registers\n"
          "info jit             the engine and the translator's statistics\n"
          "info vmm             the virtualization model's live counters (-vmm)\n"
          "x /FMT ADDR          memory at a linear address (FMT: [count][x|d|u|o|c|i][b|h|w|g])\n"
          "xp /FMT ADDR         memory at a physical address\n"
          "screendump FILE      save the display as PNG\n"
          "sendkey KEYS         press keys, e.g. ctrl-alt-delete\n"
          "savevm FILE          save the whole machine to FILE\n"
          "loadvm FILE          load the machine from FILE (written by savevm)\n"
          "system_reset         reset the machine\n"
          "system_powerdown     ask the guest to power off\n"
          "quit                 exit bt86\n",
          m->out);
}

MonitorAction monitor_command(Monitor *m, const char *line) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", line);
    char *save, *cmd = strtok_r(buf, " \t", &save);
    if (!cmd) return MONITOR_CONTINUE;
    char *arg = strtok_r(NULL, " \t", &save);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "?") == 0) {
        help(m);
    } else if (strcmp(cmd, "info") == 0) {
        if (arg && strcmp(arg, "registers") == 0)
            info_registers(m);
        else if (arg && strcmp(arg, "jit") == 0)
            info_jit(m);
        else if (arg && strcmp(arg, "vmm") == 0) {
            Vmm *v = vmm_of_cpu(pc_cpu(m->pc));
            if (v)
                vmm_print(v, m->out);
            else
                fprintf(m->out, "info vmm: no model (start bt86 with -vmm MODEL)\n");
        } else
            fprintf(m->out, "info: try 'info registers', 'info jit' or 'info vmm'\n");
    } else if (strncmp(cmd, "x", 1) == 0 && (cmd[1] == 0 || cmd[1] == '/')) {
        if (cmd[1] == '/')
            cmd_x(m, false, cmd + 2, arg);
        else if (arg && arg[0] == '/')
            cmd_x(m, false, arg + 1, strtok_r(NULL, " \t", &save));
        else
            cmd_x(m, false, NULL, arg);
    } else if (strncmp(cmd, "xp", 2) == 0 && (cmd[2] == 0 || cmd[2] == '/')) {
        if (cmd[2] == '/')
            cmd_x(m, true, cmd + 3, arg);
        else if (arg && arg[0] == '/')
            cmd_x(m, true, arg + 1, strtok_r(NULL, " \t", &save));
        else
            cmd_x(m, true, NULL, arg);
    } else if (strcmp(cmd, "screendump") == 0) {
        cmd_screendump(m, arg);
    } else if (strcmp(cmd, "sendkey") == 0) {
        cmd_sendkey(m, arg);
    } else if (strcmp(cmd, "savevm") == 0 || strcmp(cmd, "loadvm") == 0) {
        cmd_snapshot(m, cmd, arg);
    } else if (strcmp(cmd, "system_reset") == 0) {
        if (m->hooks.reset)
            m->hooks.reset(m->hooks.opaque);
        else
            pc_cpu(m->pc)->reset_request = true;
    } else if (strcmp(cmd, "system_powerdown") == 0) {
        if (m->hooks.powerdown)
            m->hooks.powerdown(m->hooks.opaque);
        else
            fprintf(m->out, "system_powerdown: this machine has no power button yet (no ACPI)\n");
    } else if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "q") == 0) {
        return MONITOR_QUIT;
    } else {
        fprintf(m->out, "unknown command: '%s' (try help)\n", cmd);
    }
    fflush(m->out);
    return MONITOR_CONTINUE;
}
