/*
 * fuzz_machine.c - the fuzz targets' PC and its image files (see fuzz_machine.h).
 */
#include "fuzz_machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DISK_BYTES (1u << 20)
#define ISO_BYTES  (20u * 2048)

#include "devices/net.h"

bool fuzz_pc_nic;
bool fuzz_pc_virtio;

static uint8_t loop_frame[NET_MAX_FRAME];

/* The loopback cable: a sent frame comes straight back (copied first: the
 * card reuses its transmit buffer). */
static void loopback_transmit(void *backend, const uint8_t *frame, size_t len) {
    NetPort *port = backend;
    if (len > sizeof loop_frame) return;
    memcpy(loop_frame, frame, len);
    net_port_receive(port, loop_frame, len);
}

static NetPort loop_port;

static void discard_console(void *opaque, const uint8_t *buf, size_t len) {
    (void)opaque;
    (void)buf;
    (void)len;
}

static char tmpdir[256];
static char bios_path[300], disk_path[300], iso_path[300];

static void remove_images(void) {
    unlink(bios_path);
    unlink(disk_path);
    unlink(iso_path);
    rmdir(tmpdir);
}

static void write_file(const char *path, const uint8_t *bytes, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "fuzz_machine: cannot write %s\n", path);
        abort();
    }
}

/* The BIOS (HLT everywhere), a disk whose sectors hold their own number,
 * and an ISO 9660 image (the "CD001" descriptor at sector 16). */
static void make_images(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/bt86-fuzz-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("fuzz_machine: mkdtemp");
        abort();
    }
    snprintf(bios_path, sizeof bios_path, "%s/bios.bin", tmpdir);
    snprintf(disk_path, sizeof disk_path, "%s/disk.img", tmpdir);
    snprintf(iso_path, sizeof iso_path, "%s/cd.iso", tmpdir);
    atexit(remove_images);
    uint8_t *buf = malloc(DISK_BYTES);
    if (!buf) abort();
    memset(buf, 0xF4, 65536);
    write_file(bios_path, buf, 65536);
    for (uint32_t i = 0; i < DISK_BYTES; i++)
        buf[i] = (uint8_t)(i % 512 < 4 ? (i / 512) >> (8 * (i % 4)) : i);
    write_file(disk_path, buf, DISK_BYTES);
    memset(buf, 0, ISO_BYTES);
    memcpy(buf + 16 * 2048, "\001CD001\001", 7);
    buf[17 * 2048] = 0xFF; /* volume descriptor set terminator */
    memcpy(buf + 17 * 2048 + 1, "CD001\001", 6);
    write_file(iso_path, buf, ISO_BYTES);
    free(buf);
}

const char *fuzz_tmpdir(void) {
    if (!tmpdir[0]) make_images();
    return tmpdir;
}

PcConfig fuzz_pc_config(void) {
    if (!tmpdir[0]) make_images();
    PcConfig cfg = pc_default_config();
    cfg.ram_mb = FUZZ_PC_RAM_MB;
    cfg.bios_path = bios_path;
    cfg.vgabios_path = NULL;
    cfg.hd[0] = disk_path;
    cfg.snapshot = true;
    cfg.cdrom = iso_path;
    cfg.host_clock = false;
    cfg.icount_auto = false;
    cfg.rtc_start = 1795339858; /* 2026-11-22 09:30:58 UTC */
    if (fuzz_pc_virtio) {       /* every virtio device; the net one on the loopback cable */
        loop_port = (NetPort){.transmit = loopback_transmit, .backend = &loop_port};
        cfg.virtio_net_port = &loop_port;
        memcpy(cfg.virtio_net_mac, "\x52\x54\x00\x12\x34\x57", 6);
        cfg.virtio_drive[0] = (PcDrive){.file = disk_path, .snapshot = true};
        cfg.virtio_rng = true;
        cfg.virtio_console_tx = discard_console;
    }
    if (fuzz_pc_nic) {
        loop_port = (NetPort){.transmit = loopback_transmit, .backend = &loop_port};
        cfg.nic_port = &loop_port;
        memcpy(cfg.nic_mac, "\x52\x54\x00\x12\x34\x56", 6);
    }
    return cfg;
}

Pc *fuzz_pc_new(void) {
    PcConfig cfg = fuzz_pc_config();
    char err[512];
    Pc *pc = pc_new(&cfg, err, sizeof err);
    if (!pc) {
        fprintf(stderr, "fuzz_machine: %s\n", err);
        abort();
    }
    return pc;
}
