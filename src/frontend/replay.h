/*
 * replay.h - deterministic record/replay (QEMU's -icount ...,rr=record|
 * replay,rrfile=FILE).
 *
 * With -icount shift=N everything the guest sees follows from the
 * instruction count, except the inputs that come from the host: bytes
 * typed into COM1 (stdin or the pty), the monitor's sendkey,
 * system_reset and system_powerdown, the SDL window's keyboard and mouse,
 * with shift=auto the pace and idle decisions the host clock made, and the
 * host
 * time -rtc base=utc|localtime reads once at start. Recording logs each
 * input with the instruction count (icount) at which the main loop
 * delivered it; replaying reads nothing from the host and delivers the
 * same inputs at the same counts (the main loop stops the CPU exactly
 * there: replay_insns_until_event), so the run repeats instruction for
 * instruction, whatever the engine.
 *
 * The log (all integers little-endian):
 *     header  "BT86RR\r\n", u32 format version, the configuration
 *             (RrConfig: bt86 build, RAM, shift, RTC start, VGA, boot
 *             order and menu, a hash of -append, size and hash of every
 *             file the machine loads: BIOS, VGA BIOS, disks, CD, kernel,
 *             initrd; the -cpu model and the CPUID feature words it gives
 *             on the recording host; the -vmm model)
 *     events  u8 kind, u64 icount (never decreasing), u16 length, payload
 *     end     u8 RR_EV_END, u64 final icount, u16 0, then a u64 checksum
 *             of every byte before it
 * A log is read whole and checked (magic, version, bounds of every
 * record, the checksum, the end record) before the machine starts: a
 * truncated, corrupt or other-version log is refused with a message.
 *
 * Use (main.c):
 *     Replay *rr = replay_start(RR_RECORD, path, &pc_config, shift, build, vmm, err, n);
 *     pc_run(pc, min(chunk, replay_insns_until_event(rr, icount)));
 *     replay_serial_input(rr, pc, bytes, n);    // record: delivered and logged
 *     replay_deliver(rr, pc, icount, err, n);    // replay: inputs due now
 *     replay_finish(rr, icount, err, n);         // trailer / end check
 */
#ifndef BT86_REPLAY_H
#define BT86_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "devices/pc.h"

/* 2: the CPU model, its feature words and the -vmm model in the header. */
#define RR_FORMAT_VERSION 2u

typedef enum RrMode { RR_OFF, RR_RECORD, RR_REPLAY } RrMode;

typedef enum RrEventKind {
    RR_EV_SERIAL = 1,    /* bytes COM1 took (payload: the bytes) */
    RR_EV_POWERDOWN = 2, /* the ACPI power button (no payload) */
    RR_EV_KEY = 3,       /* a key (payload: 1 pressed / 0 released, its 1-2 byte set-2 code) */
    RR_EV_RESET = 4,     /* the monitor's system_reset (no payload) */
    RR_EV_MOUSE = 5,     /* PS/2 mouse motion (payload: s16 dx, dy, dz, u8 buttons 0-7) */
    RR_EV_PACE = 6,      /* -icount auto: new ns per instruction (payload: u32, 1-1024) */
    RR_EV_IDLE = 7,      /* -icount auto: ns the idle CPU skipped (payload: u64, at most
                            PC_AUTO_IDLE_MAX_NS) */
    RR_EV_END = 0xFF,    /* the end of the run (icount: the final count) */
} RrEventKind;

/* The files whose contents the guest sees, in RrConfig.files. */
enum {
    RR_FILE_BIOS,
    RR_FILE_VGABIOS,
    RR_FILE_HDA,
    RR_FILE_HDB,
    RR_FILE_HDC,
    RR_FILE_HDD,
    RR_FILE_CDROM,
    RR_FILE_KERNEL,
    RR_FILE_INITRD,
    RR_NFILES
};

#define RR_NO_FILE UINT64_MAX /* RrFileId.size of a file the machine does not have */

typedef struct RrFileId {
    uint64_t size, hash;
} RrFileId;

/* What must match between a recording and its replay. */
typedef struct RrConfig {
    char build[16]; /* bt86 version and x87 backend ("0.1 fpu=host"), NUL-padded */
    uint32_t ram_mb;
    uint32_t icount_shift;
    int64_t rtc_start; /* the RTC at power-on: the host time, for base=utc */
    uint8_t vga, boot_menu;
    char boot_order[4]; /* NUL-padded; "" for the default */
    uint64_t append_hash;
    RrFileId files[RR_NFILES];
    char cpu_model[16]; /* -cpu, NUL-padded */
    /* CPUID leaf 1 EDX and ECX, 0x80000001 EDX, leaf 7 EDX as the model
     * reports them on this host (which drops SSE without the host's SSE
     * unit, FPU/MMX/FXSR without an x87 backend: cpu_model_features) */
    uint32_t cpu_features[4];
    char vmm[16]; /* -vmm (vmm_model_name), "" without */
} RrConfig;

typedef struct RrEvent {
    uint64_t icount;
    uint8_t kind;
    uint16_t len;
    const uint8_t *data; /* len bytes inside the log */
} RrEvent;

/* ---- the log format (no machine involved; tests/unit/test_replay.c) ---- */

/* A fast 64-bit hash of a piece of a file (the result depends on how the
 * file is cut into pieces); continue with the previous result as seed. */
uint64_t rr_hash(uint64_t seed, const void *buf, size_t len);
/* The log's checksum (FNV-1a: the same however the bytes are cut). */
uint64_t rr_checksum(uint64_t seed, const void *buf, size_t len);
#define RR_HASH_SEED 0xcbf29ce484222325ull

typedef struct RrWriter RrWriter;
/* Write the header to f (which the writer then owns and closes). */
RrWriter *rr_writer_new(FILE *f, const RrConfig *cfg);
int rr_writer_event(RrWriter *w, uint64_t icount, RrEventKind kind, const void *data, size_t len);
/* Write the end record and checksum, close the file, free the writer;
 * -1 if any write failed. */
int rr_writer_finish(RrWriter *w, uint64_t final_icount);

typedef struct RrLog RrLog;
/* Check and take a copy of a whole log; NULL and a message when it is not
 * a complete, intact log of this format version. */
RrLog *rr_log_parse(const uint8_t *buf, size_t len, char *err, size_t errlen);
RrLog *rr_log_load(const char *path, char *err, size_t errlen);
void rr_log_free(RrLog *log);
const RrConfig *rr_log_config(const RrLog *log);
size_t rr_log_count(const RrLog *log); /* events, without the end record */
const RrEvent *rr_log_event(const RrLog *log, size_t i);
uint64_t rr_log_end_icount(const RrLog *log);

/* The configuration of this run (hashes the files); -1 and a message when
 * a file cannot be read. */
int rr_config_of(RrConfig *out, const PcConfig *pc, unsigned icount_shift, const char *version,
                 const char *vmm, char *err, size_t errlen);
/* 0 when a replay may run this log; else -1 and what differs. */
int rr_config_check(const RrConfig *recorded, const RrConfig *now, char *err, size_t errlen);

/* ---- a record or replay session (main.c) ---- */

typedef struct Replay Replay;

/* Parse ",rr=record|replay,rrfile=FILE" items of -icount (items it does
 * not know are left alone); -1 and a message for bad values. */
int replay_parse_icount(const char *spec, RrMode *mode, const char **file, char *err,
                        size_t errlen);
/* Start recording into or replaying from path (version: rr_config_of's
 * build string; vmm: the -vmm model's name or NULL). For a replay, the log's
 * RTC start replaces cfg->rtc_start (base=utc read the host clock while
 * recording). NULL and a message on error (mode RR_OFF: NULL, no error). */
Replay *replay_start(RrMode mode, const char *path, PcConfig *cfg, unsigned icount_shift,
                     const char *version, const char *vmm, char *err, size_t errlen);
RrMode replay_mode(const Replay *rr); /* RR_OFF for NULL */
/* Instructions that may run before the next input is due (replay), or
 * UINT64_MAX. */
uint64_t replay_insns_until_event(const Replay *rr, uint64_t icount);
/* Serial input from the host: delivered to COM1 (and logged when
 * recording); returns the bytes taken. Not for replay mode. */
size_t replay_serial_input(Replay *rr, Pc *pc, uint64_t icount, const uint8_t *buf, size_t len);
/* The power button, a key, the reset line from the host (monitor):
 * delivered and logged. Not for replay mode. */
void replay_power_button(Replay *rr, Pc *pc, uint64_t icount);
void replay_key_event(Replay *rr, Pc *pc, uint64_t icount, const uint8_t *code, int len,
                      bool pressed);
void replay_reset(Replay *rr, Pc *pc, uint64_t icount);
/* Mouse motion and buttons (the SDL window): delivered to the i8042 and
 * logged; dx, dy, dz are clamped to 16 bits first (the same values live
 * and in the replay). Keys and mouse from the window go through
 * replay_key_event and this; during a replay both ignore the window. */
void replay_mouse_event(Replay *rr, Pc *pc, uint64_t icount, int dx, int dy, int dz,
                        unsigned buttons);
/* -icount auto: a PcAutoLog for pc_auto_set_log (opaque: the Replay,
 * recording): logs the decision. A replay applies them (pc_auto_apply). */
void replay_auto_event(void *rr, uint64_t icount, PcAutoEvent kind, uint64_t value);
/* Replay: deliver the inputs logged for this icount: how many; -1 and a
 * message when the machine no longer matches the log. */
int replay_deliver(Replay *rr, Pc *pc, uint64_t icount, char *err, size_t errlen);
/* Replay: the machine went back to a snapshot taken at icount (after the
 * inputs due then were delivered): the next input delivered is the first
 * logged after icount. */
void replay_rewind(Replay *rr, uint64_t icount);
/* End the session: write the end record (record), or check that the run
 * ended where the recording did (replay). -1 and a message on error.
 * Frees rr. */
int replay_finish(Replay *rr, uint64_t icount, char *msg, size_t msglen);

#endif
