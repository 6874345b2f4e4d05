/*
 * fuzz_machine.h - a whole PC (devices/pc.h) for the device and monitor
 * fuzz targets, without firmware: a 64 KiB BIOS image of HLT bytes, 4 MiB
 * of RAM, the VGA, a 1 MiB hard disk on the primary master (snapshot mode:
 * the file is never written) and a small ISO 9660 image in the CD drive.
 * The image files are made once per process in a temporary directory
 * ($TMPDIR or /tmp), removed at exit.
 *
 * Use:
 *     Pc *pc = fuzz_pc_new();      // aborts if the machine cannot be built
 *     ... iobus_write(pc_iobus(pc), 0x70, 1, 0x0A); ...
 *     pc_free(pc);
 */
#ifndef BT86_FUZZ_MACHINE_H
#define BT86_FUZZ_MACHINE_H

#include "devices/pc.h"

#define FUZZ_PC_RAM_MB 4u

#include <stdbool.h>

/* Set before fuzz_pc_new: the machine gets an e1000 (PCI 00:03.0) whose
 * cable loops every frame it sends back to its own receive side. */
extern bool fuzz_pc_nic;
/* Set before the first machine: add the virtio devices (blk on the disk, net
 * on a loopback cable, rng, console). */
extern bool fuzz_pc_virtio;

Pc *fuzz_pc_new(void);
/* The configuration fuzz_pc_new builds its machine from (images made). */
PcConfig fuzz_pc_config(void);
/* The temporary directory holding the images (for targets that need a file name). */
const char *fuzz_tmpdir(void);

#endif
