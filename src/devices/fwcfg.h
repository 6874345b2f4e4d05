/*
 * fwcfg.h - QEMU's firmware configuration interface ("fw_cfg"), through which
 * Debian's SeaBIOS (built for QEMU) learns the machine's configuration.
 *
 * Ports: 0x510 selector (16-bit write: selects an item and rewinds it), 0x511
 * data (8-bit reads stream the selected item; past its end, zeros). Items are
 * numbered keys (0x0000 signature "QEMU", 0x0001 interface ID, 0x0019 file
 * directory, 0x8000+ architecture-local) and named files listed in the file
 * directory (big-endian {u32 size, u16 select, u16 reserved, char name[56]},
 * after a big-endian u32 count) at selectors from 0x0020 up.
 * What SeaBIOS reads (src/fw/paravirt.c): signature, ID (bit 1 would announce
 * the DMA interface, which bt86 does not offer, so it uses port I/O), the
 * legacy keys 0x0e boot menu (u16), 0x0f max CPUs (u16), 0x0d NUMA (u64
 * count), 0x8000 ACPI tables (u16 count), 0x8001 SMBIOS entries (u16 count),
 * 0x8002 IRQ0 override (u8), then the file directory, and files such as
 * "etc/e820" (entries {u64 address, u64 length, u32 type}), "bootorder",
 * "etc/table-loader" and "etc/acpi/rsdp" and "etc/acpi/tables", "etc/boot-cpus", option ROMs.
 *
 * DMA (once fwcfg_attach_dma gave it guest memory): a 32-bit write to 0x514
 * sets the high half and one to 0x518 the low half of a descriptor's guest
 * physical address (both big endian); the write to 0x518 runs it at once.
 * A descriptor is {be32 control, be32 length, be64 address}: control bit 3
 * SELECT (item in bits 31:16), bit 1 READ, bit 2 SKIP, bit 4 WRITE (refused:
 * items are read-only); afterwards the device stores control = 0, or 1
 * (ERROR) when a guest address is not RAM. Reads past an item give zeros.
 * FW_CFG_ID does not announce DMA, so SeaBIOS keeps using port I/O; bt86's
 * own kernel-boot option ROM (linuxboot.h) uses DMA to load above 1 MiB.
 *
 * Use:
 *     FwCfg *f = fwcfg_new();
 *     fwcfg_add_i16(f, FW_CFG_MAX_CPUS, 1);
 *     fwcfg_add_file(f, "etc/e820", table, size);
 *     fwcfg_register(f, bus);
 */
#ifndef BT86_FWCFG_H
#define BT86_FWCFG_H

#include <stddef.h>
#include <stdint.h>

#include "devices/bus.h"
#include "mmu/mmu.h"

#define FW_CFG_SIGNATURE      0x0000
#define FW_CFG_ID             0x0001
#define FW_CFG_UUID           0x0002
#define FW_CFG_RAM_SIZE       0x0003
#define FW_CFG_NOGRAPHIC      0x0004
#define FW_CFG_NB_CPUS        0x0005
#define FW_CFG_KERNEL_ADDR    0x0007
#define FW_CFG_KERNEL_SIZE    0x0008
#define FW_CFG_KERNEL_CMDLINE 0x0009
#define FW_CFG_INITRD_ADDR    0x000a
#define FW_CFG_INITRD_SIZE    0x000b
#define FW_CFG_NUMA           0x000d
#define FW_CFG_BOOT_MENU      0x000e
#define FW_CFG_MAX_CPUS       0x000f
#define FW_CFG_KERNEL_DATA    0x0011
#define FW_CFG_INITRD_DATA    0x0012
#define FW_CFG_CMDLINE_ADDR   0x0013
#define FW_CFG_CMDLINE_SIZE   0x0014
#define FW_CFG_CMDLINE_DATA   0x0015
#define FW_CFG_SETUP_ADDR     0x0016
#define FW_CFG_SETUP_SIZE     0x0017
#define FW_CFG_SETUP_DATA     0x0018
#define FW_CFG_FILE_DIR       0x0019
#define FW_CFG_FILE_FIRST     0x0020
#define FW_CFG_ACPI_TABLES    0x8000
#define FW_CFG_SMBIOS_ENTRIES 0x8001
#define FW_CFG_IRQ0_OVERRIDE  0x8002
#define FW_CFG_E820_TABLE     0x8003

#define FW_CFG_DMA_ERROR  0x01
#define FW_CFG_DMA_READ   0x02
#define FW_CFG_DMA_SKIP   0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE  0x10
#define FW_CFG_DMA_ADDR_HIGH 0x514
#define FW_CFG_DMA_ADDR_LOW  0x518

#define FW_CFG_MAX_FILES 64
#define FW_CFG_NAME_LEN  56

typedef struct FwCfg FwCfg;

FwCfg *fwcfg_new(void);
/* RESET: selector and DMA address cleared (the items stay). */
void fwcfg_reset(FwCfg *f);
void fwcfg_free(FwCfg *f);
/* Claim 0x510-0x511 and the DMA ports 0x514-0x51B. Returns 0 or -1. */
int fwcfg_register(FwCfg *f, IoBus *bus);
/* Let DMA descriptors reach guest memory (without it DMA writes are ignored). */
void fwcfg_attach_dma(FwCfg *f, PhysMem *pm);
/* Set a numbered item (copied). Returns 0, or -1 for a key out of range. */
int fwcfg_add_bytes(FwCfg *f, uint16_t key, const void *data, size_t len);
int fwcfg_add_i16(FwCfg *f, uint16_t key, uint16_t v);
int fwcfg_add_i32(FwCfg *f, uint16_t key, uint32_t v);
int fwcfg_add_i64(FwCfg *f, uint16_t key, uint64_t v);
/* Add a named file (copied) and list it in the directory. Returns its
 * selector, or -1 (name too long, directory full). */
int fwcfg_add_file(FwCfg *f, const char *name, const void *data, size_t len);

uint32_t fwcfg_port_read(void *opaque, uint16_t port, unsigned size);
void fwcfg_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val);

/* Snapshot section (snap/snap.h): the selector, the read offset, the DMA
 * address's high half, and a CRC of every item (the items come from the
 * command line: loading refuses a machine whose items differ). fwcfg_load
 * validates, and commits only with r->apply. */
struct SnapWriter;
struct SnapReader;
void fwcfg_save(const FwCfg *f, struct SnapWriter *w);
bool fwcfg_load(FwCfg *f, struct SnapReader *r);

#endif
