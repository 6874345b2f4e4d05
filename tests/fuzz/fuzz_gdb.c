/*
 * fuzz_gdb.c - libFuzzer target: the GDB remote protocol (frontend/
 * gdbstub.h, gdb_proto.h) as a debugger speaks it, on a whole PC without
 * firmware (tests/fuzz/fuzz_machine.h): framing, checksums, run-length
 * encoding, acks, Ctrl-C, and every packet (registers, memory, binary
 * writes, breakpoints and watchpoints, qSupported, qXfer, qRcmd, vCont,
 * step, continue, kill, detach) with any arguments.
 *
 * The stub listens on a unix socket in the fuzz temporary directory; the
 * target connects to it, sends the input (up to 64 KiB) and closes its
 * sending side, while a thread reads the replies. The stub serves as
 * main.c's loop has it do: stopped, then resumed (continue runs the
 * machine 2000 instructions, step one) and stopped again, until the
 * debugger's bytes end, it kills, or 64 rounds. A host crash, a sanitizer
 * report or a hang is a bug.
 *
 * qRcmd's screendump, savevm and loadvm would write or read files the
 * input names: the hex of those words is made unknown in the input (as
 * fuzz_monitor does with screendump).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "frontend/gdbstub.h"
#include "fuzz_machine.h"

#define MAX_INPUT (64u << 10)

static void powerdown(void *opaque) {
    pc_power_button(opaque);
}

/* Break every hex spelling (any case) of the words in the input. */
static void hide_words(uint8_t *text, size_t len) {
    static const char *const words[] = {"screendump", "savevm", "loadvm"};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        char hex[32];
        size_t n = strlen(words[w]);
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)words[w][i]);
        for (size_t i = 0; i + 2 * n <= len; i++) {
            size_t j = 0;
            while (j < 2 * n && tolower(text[i + j]) == hex[j])
                j++;
            if (j == 2 * n) text[i] = 'x';
        }
    }
}

static void *drain(void *arg) {
    int fd = *(int *)arg;
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char sock_path[300];
    if (!sock_path[0]) {
        snprintf(sock_path, sizeof sock_path, "%s/gdb.sock", fuzz_tmpdir());
    }
    if (size > MAX_INPUT) size = MAX_INPUT;
    uint8_t *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    hide_words(text, size);

    Pc *pc = fuzz_pc_new();
    MonitorHooks hooks = {.powerdown = powerdown, .opaque = pc};
    char spec[320], err[256];
    snprintf(spec, sizeof spec, "unix:%s", sock_path);
    Gdbstub *g = gdbstub_new(spec, pc, &hooks, err, sizeof err);
    if (!g) {
        fprintf(stderr, "fuzz_gdb: %s\n", err);
        abort();
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) abort();
    if (!gdbstub_poll(g)) abort(); /* the stub accepts the debugger */
    pthread_t reader;
    if (pthread_create(&reader, NULL, drain, &fd) != 0) abort();
    for (size_t at = 0; at < size;) {
        ssize_t n = write(fd, text + at, size - at);
        if (n <= 0) break;
        at += (size_t)n;
    }
    shutdown(fd, SHUT_WR);

    GdbStopReason why = GDB_STOP_START;
    for (int round = 0; round < 64 && gdbstub_connected(g); round++) {
        GdbResume r = gdbstub_stopped(g, why);
        if (r == GDB_RESUME_KILL || r == GDB_RESUME_DETACH) break;
        PcExit e = r == GDB_RESUME_STEP ? gdbstub_step(g) : pc_run(pc, 2000);
        why = r == GDB_RESUME_STEP    ? GDB_STOP_STEP
              : e == PC_EXIT_DEBUG    ? GDB_STOP_DEBUG
              : e == PC_EXIT_RESET    ? GDB_STOP_RESET
              : e == PC_EXIT_POWEROFF ? GDB_STOP_POWEROFF
              : e == PC_EXIT_HALTED   ? GDB_STOP_HALTED
                                      : GDB_STOP_INTERRUPT;
        if (e == PC_EXIT_RESET) pc_reset(pc);
    }
    gdbstub_free(g); /* closes the stub's end: the reader sees the end */
    pthread_join(reader, NULL);
    close(fd);
    pc_free(pc);
    free(text);
    return 0;
}
