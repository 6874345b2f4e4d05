/*
 * gdbstub.h - the GDB remote stub: GDB (or any client of its remote
 * protocol) connects over TCP or a Unix socket and controls the machine:
 * registers (the i386 core and x87 registers plus bt86's system registers:
 * segment bases and limits, CR0-CR4, GDTR, IDTR, LDTR, TR), memory by
 * linear address (or physical with QEMU's Qqemu.PhyMemMode:1), continue,
 * single-step, Ctrl-C, breakpoints and watchpoints (cpu/debug.c: never
 * written into guest memory), monitor commands (monitor.c) through GDB's
 * `monitor`, detach and kill. The byte level is gdb_proto.c.
 *
 * The machine stays single-threaded: the front end runs the CPU in slices
 * and calls gdbstub_poll between them (a debugger connecting, Ctrl-C);
 * when the guest stops for the debugger it calls gdbstub_stopped, which
 * serves packets until the debugger resumes the guest.
 *
 * Use (main.c):
 *     Gdbstub *g = gdbstub_new("tcp::1234", pc, &hooks, err, sizeof err);
 *     for (;;) {
 *         if (stop) switch (gdbstub_stopped(g, why)) { ... }   // blocks
 *         PcExit e = step ? gdbstub_step(g) : pc_run(pc, n);
 *         if (gdbstub_poll(g)) stop = GDB_STOP_INTERRUPT;      // Ctrl-C, attach
 *         ...
 *     }
 */
#ifndef BT86_GDBSTUB_H
#define BT86_GDBSTUB_H

#include <stdbool.h>
#include <stddef.h>

#include "devices/pc.h"
#include "frontend/monitor.h"

/* Why the guest stopped. */
typedef enum GdbStopReason {
    GDB_STOP_START,        /* -S: not started yet; or a debugger attached to a running guest */
    GDB_STOP_INTERRUPT,    /* Ctrl-C */
    GDB_STOP_STEP,         /* a single step completed */
    GDB_STOP_DEBUG,        /* a breakpoint or watchpoint (cpu->debug says which) */
    GDB_STOP_RESET,        /* a triple fault or a reset: happens when the debugger resumes */
    GDB_STOP_POWEROFF,     /* the guest switched the machine off: bt86 ends when resumed */
    GDB_STOP_HALTED,       /* HLT with interrupts off: nothing can wake the CPU */
    GDB_STOP_REPLAY_END,   /* a replay reached the end of its recording */
    GDB_STOP_REPLAY_BEGIN, /* reverse execution reached the start of the history */
} GdbStopReason;

/* What the debugger wants next. */
typedef enum GdbResume {
    GDB_RESUME_CONTINUE,         /* run */
    GDB_RESUME_STEP,             /* run one instruction (gdbstub_step), then stop again */
    GDB_RESUME_DETACH,           /* the debugger left: run on */
    GDB_RESUME_KILL,             /* end bt86 */
    GDB_RESUME_REVERSE_STEP,     /* replay: go back one instruction (bs) */
    GDB_RESUME_REVERSE_CONTINUE, /* replay: back to the last breakpoint/watchpoint hit (bc) */
} GdbResume;

typedef struct Gdbstub Gdbstub;

/* Listen on spec: tcp::PORT (127.0.0.1), tcp:HOST:PORT or unix:PATH.
 * NULL and a message in err on failure. hooks serve monitor commands. */
Gdbstub *gdbstub_new(const char *spec, Pc *pc, const MonitorHooks *hooks, char *err, size_t errlen);
void gdbstub_free(Gdbstub *g);
/* The run replays a recording: the debugger may look but not change
 * anything (writes answer E0d), stepi enters interrupt handlers, and
 * reverse execution is offered (ReverseStep+, ReverseContinue+). */
void gdbstub_set_replay(Gdbstub *g);
/* Whether a debugger is connected. */
bool gdbstub_connected(const Gdbstub *g);
/* The descriptor to wait on while the guest idles (the connection, or the
 * listening socket when none). */
int gdbstub_fd(const Gdbstub *g);
/* Between CPU slices: accept a debugger, read what it sent. True when the
 * guest must stop (a debugger attached, Ctrl-C). */
bool gdbstub_poll(Gdbstub *g);
/* The guest stopped: report why to a debugger waiting for it, then serve
 * packets until it resumes the guest (waiting for a connection first if
 * there is none). */
GdbResume gdbstub_stopped(Gdbstub *g, GdbStopReason why);
/* Run exactly one instruction; interrupts and NMIs are held back unless
 * the monitor command `gdb-step-irqs on` asked for them. */
PcExit gdbstub_step(Gdbstub *g);

#endif
