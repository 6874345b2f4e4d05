/*
 * iostats.h - counters of the I/O paths, for the virtualization lab's
 * comparison of disk I/O on IDE and on virtio-blk (src/vmm, -vmm-report).
 *
 * The machine owns one IoStats (pc_io_stats); the IDE channels and the
 * virtio devices add to it when they are given a pointer (NULL: nothing is
 * counted). The vmm reads it (vmm_set_io_stats) and reports the counts as
 * event classes (virtio.notify, ide.pio_bytes, ...) and splits exit.io by
 * the path an I/O instruction went to.
 */
#ifndef BT86_IOSTATS_H
#define BT86_IOSTATS_H

#include <stdint.h>

typedef struct IoStats {
    uint64_t ide_port_access;    /* accesses to the IDE command/control ports (each element of a REP
                                    INS/OUTS) */
    uint64_t ide_pio_bytes;      /* data moved through the data port */
    uint64_t ide_dma_bytes;      /* data moved by bus-master DMA */
    uint64_t virtio_port_access; /* accesses to a virtio device's I/O BAR */
    uint64_t virtio_notify;      /* queue notifications (kicks) */
    uint64_t virtio_irq;         /* interrupts raised (ISR 0 -> non-zero) */
    uint64_t virtio_blk_bytes;   /* data moved by virtio-blk reads and writes */
} IoStats;

#endif
