/*
 * linuxboot.h - direct Linux kernel boot (-kernel/-initrd/-append) through
 * the x86 boot protocol (Documentation/arch/x86/boot.rst), with the BIOS.
 *
 * The host side checks the bzImage (the "HdrS" setup header, protocol 2.02
 * or later, LOADED_HIGH), fills in the loader fields of its setup header
 * (type_of_loader, CAN_USE_HEAP, heap_end_ptr, cmd_line_ptr, ramdisk
 * address and size) and hands the pieces to the firmware through fw_cfg
 * (QEMU's item numbers: setup 0x16-0x18, kernel 0x07/0x08/0x11, initrd
 * 0x0a/0x0b/0x12, command line 0x13-0x15). It also writes a small option
 * ROM of its own, "genroms/bt86-linuxboot.bin", and a "bootorder" naming it
 * first. SeaBIOS runs the ROM's boot entry (a PnP BEV) when it boots:
 * that code copies four fw_cfg DMA descriptors to low memory, starts them
 * (which loads the real-mode setup at 0x10000, the command line at 0x1E000,
 * the protected-mode kernel at 1 MiB and the initrd high in RAM), sets
 * DS=ES=FS=GS=SS=0x1000, SP=0xE000 and jumps to 0x1020:0000, as the boot
 * protocol asks of a loader. SeaBIOS has initialised the machine by then and
 * the kernel's setup code uses its BIOS services (E820 and so on).
 *
 * Memory layout: setup 0x10000-0x1DDFF (heap end 0xDE00), command line
 * 0x1E000 (up to 2 KiB), DMA descriptors 0x1F800, kernel 0x100000, initrd
 * page-aligned below min(initrd_addr_max, RAM - 1 MiB); the top MiB is left
 * to the firmware's tables.
 *
 * Use:
 *     if (linuxboot_setup(fwcfg, ram_bytes, "bzImage", "initrd.gz", "console=ttyS0",
 *                         err, sizeof err) < 0) { report err }
 *     fwcfg_attach_dma(fwcfg, physmem);
 */
#ifndef BT86_LINUXBOOT_H
#define BT86_LINUXBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "devices/fwcfg.h"

#define LINUXBOOT_SETUP_ADDR   0x10000u
#define LINUXBOOT_HEAP_END     0xE000u /* relative to the setup segment */
#define LINUXBOOT_CMDLINE_ADDR 0x1E000u
#define LINUXBOOT_CMDLINE_MAX  2048u
#define LINUXBOOT_DESC_ADDR    0x1F800u
#define LINUXBOOT_KERNEL_ADDR  0x100000u
#define LINUXBOOT_ROM_NAME     "genroms/bt86-linuxboot.bin"
#define LINUXBOOT_ROM_SIZE     512u

/* What linuxboot_prepare worked out (also for tests). */
typedef struct LinuxBootPlan {
    uint16_t protocol;
    uint32_t setup_size, kernel_size, initrd_addr, initrd_size, cmdline_size;
} LinuxBootPlan;

/* Check and patch an in-memory kernel (its setup header is updated in
 * place) for RAM of `ram_bytes` and an initrd of `initrd_size` bytes.
 * Returns 0, or -1 with a message. */
int linuxboot_prepare(uint8_t *kernel, size_t kernel_len, size_t initrd_size, const char *cmdline,
                      uint32_t ram_bytes, LinuxBootPlan *plan, char *err, size_t errlen);
/* Build the boot option ROM for a plan into rom[LINUXBOOT_ROM_SIZE]. */
void linuxboot_build_rom(const LinuxBootPlan *plan, uint8_t *rom);
/* Read the files, prepare, and publish everything in fw_cfg. initrd and
 * cmdline may be NULL. Returns 0, or -1 with a message. */
int linuxboot_setup(FwCfg *f, uint32_t ram_bytes, const char *kernel_path, const char *initrd_path,
                    const char *cmdline, char *err, size_t errlen);

#endif
