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

#define FW_CFG_SIGNATURE      0x0000
#define FW_CFG_ID             0x0001
#define FW_CFG_UUID           0x0002
#define FW_CFG_RAM_SIZE       0x0003
#define FW_CFG_NOGRAPHIC      0x0004
#define FW_CFG_NB_CPUS        0x0005
#define FW_CFG_NUMA           0x000d
#define FW_CFG_BOOT_MENU      0x000e
#define FW_CFG_MAX_CPUS       0x000f
#define FW_CFG_FILE_DIR       0x0019
#define FW_CFG_FILE_FIRST     0x0020
#define FW_CFG_ACPI_TABLES    0x8000
#define FW_CFG_SMBIOS_ENTRIES 0x8001
#define FW_CFG_IRQ0_OVERRIDE  0x8002
#define FW_CFG_E820_TABLE     0x8003

#define FW_CFG_MAX_FILES 64
#define FW_CFG_NAME_LEN  56

typedef struct FwCfg FwCfg;

FwCfg *fwcfg_new(void);
void fwcfg_free(FwCfg *f);
int fwcfg_register(FwCfg *f, IoBus *bus);
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

#endif
