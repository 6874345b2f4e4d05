/*
 * qcow2.h - the qcow2 image format (versions 2 and 3) as a disk back end
 * behind disk.h: reads and writes by guest byte offset, with cluster
 * allocation and refcounts kept consistent (qemu-img check finds no
 * errors or leaks), backing files to any depth (raw or qcow2, the name
 * resolved relative to the overlay's directory), and zlib-compressed
 * clusters (read; a write to one allocates a new cluster).
 *
 * Refused with a one-line message: encryption, external data files,
 * extended L2 entries, zstd compression, unknown incompatible feature
 * bits, writing an image that has internal snapshots or is marked dirty or
 * corrupt, and any header field or table entry that points outside the
 * file, overlaps the header or another table, or asks for a huge
 * allocation. A bad table entry met during a read or write fails that
 * request (the drive reports an I/O error) and prints the reason once.
 *
 * Write order (crash safety against kill -9; with barriers also against a
 * host crash): the refcount of a new cluster is raised first (a new
 * refcount block is written whole before the refcount-table entry that
 * points to it), then the data cluster is written, then the L2 entry (or
 * a new L2 table, then its L1 entry); a cluster that loses its last
 * reference has its refcount lowered only after the L2 entry no longer
 * points to it. Interrupted at any point, the image can only hold leaked
 * clusters (refcount 1, no reference), never a reference to a cluster
 * whose refcount is 0.
 *
 * Use (normally through disk_open, which probes the format and locks):
 *     Qcow2 *q = qcow2_open(path, fd, read_only, barriers, err, errlen);
 *     qcow2_read(q, offset, len, buf); qcow2_write(q, offset, len, buf);
 *     qcow2_flush(q); qcow2_close(q);
 */
#ifndef BT86_QCOW2_H
#define BT86_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

typedef struct Qcow2 Qcow2;

/* Takes ownership of fd (open O_RDWR unless read_only, already locked by
 * the caller). barriers: fdatasync between the steps of an allocation
 * (off for cache=unsafe). NULL with a message in err on a bad image. */
Qcow2 *qcow2_open(const char *path, int fd, bool read_only, bool barriers, char *err,
                  size_t errlen);
void qcow2_close(Qcow2 *q);
uint64_t qcow2_size(const Qcow2 *q); /* virtual size in bytes */
/* 0 on success, -1 on an I/O error, a corrupt table or a range outside
 * the virtual size. */
int qcow2_read(Qcow2 *q, uint64_t offset, size_t len, void *buf);
int qcow2_write(Qcow2 *q, uint64_t offset, size_t len, const void *buf);
int qcow2_flush(Qcow2 *q);
/* The first error met during reads or writes ("" if none). */
const char *qcow2_error(const Qcow2 *q);

#endif
