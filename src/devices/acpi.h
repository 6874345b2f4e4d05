/*
 * acpi.h - the PIIX4-style ACPI power-management function (PCI 00:01.3,
 * 8086:7113, revision 3) of the PC: what lets the OS power the machine off.
 *
 * Configuration space: PMBASE (0x40, a 64-byte I/O block, bit 0 reads 1),
 * PMREGMISC (0x80, bit 0 enables the block), DEVACTB (0x58; APMC_EN, bit 25,
 * reads set because bt86 has no SMM: firmware then skips SMM set-up),
 * DEVRESD (0x67; the COM1/COM2 enable bits the firmware's DSDT reads), SMBus
 * base/config (0x90, 0xD2; stored only), interrupt pin A.
 *
 * The I/O block at PMBASE:
 *   +0  PM1_STS  (16-bit, write 1 to clear): TMR_STS 0, GBL_STS 5,
 *                PWRBTN_STS 8, RTC_STS 10, WAK_STS 15
 *   +2  PM1_EN   TMR_EN 0, GBL_EN 5, PWRBTN_EN 8, RTC_EN 10
 *   +4  PM1_CNT  SCI_EN 0, SLP_TYP 10-12, SLP_EN 13 (write-only). Writing
 *                SLP_EN with SLP_TYP 0 (S5, the type the firmware's \_S5
 *                package names) or 2 (S4) powers the machine off.
 *   +8  PM_TMR   24-bit counter at 3.579545 MHz of virtual time; TMR_STS
 *                is set whenever its bit 23 changes
 *   +0xC..0x3F   the other PIIX4 registers, stored (status ones write-1-to-clear)
 * Fixed ports: GPE0 block 0xAFE0 (2 bytes status, write 1 to clear, then 2
 * bytes enable), APM control 0xB2 (0xF1 sets SCI_EN, 0xF0 clears it: the
 * FADT's ACPI_ENABLE/ACPI_DISABLE commands) and APM status 0xB3.
 * The SCI is a level on IRQ 9: SCI_EN and any enabled PM1 or GPE0 status.
 *
 * With this function present and no "etc/table-loader" in fw_cfg, SeaBIOS
 * builds its own ACPI tables (RSDP, RSDT, FADT pointing at this block, FACS,
 * its built-in DSDT, an SSDT with the \_S5 package, MADT).
 *
 * Use:
 *     AcpiPm *pm = acpi_pm_new(pci, io, &clock, pic_irq_line(pic, 9), on_poweroff, pc);
 *     acpi_pm_register(pm);            // the fixed ports; PMBASE follows the config space
 */
#ifndef BT86_ACPI_H
#define BT86_ACPI_H

#include <stdint.h>

#include "devices/bus.h"
#include "devices/clock.h"
#include "devices/irq.h"
#include "devices/pci.h"

#define ACPI_PM_TIMER_HZ 3579545u
#define ACPI_PM_IO_SIZE  64
#define ACPI_GPE0_BASE   0xAFE0
#define ACPI_APM_CNT     0xB2
#define ACPI_APM_STS     0xB3
#define ACPI_ENABLE_CMD  0xF1
#define ACPI_DISABLE_CMD 0xF0

#define ACPI_PM1_TMR_STS    0x0001
#define ACPI_PM1_GBL_STS    0x0020
#define ACPI_PM1_PWRBTN_STS 0x0100
#define ACPI_PM1_RTC_STS    0x0400
#define ACPI_PM1_WAK_STS    0x8000
#define ACPI_PM1_CNT_SCI_EN 0x0001
#define ACPI_PM1_CNT_SLP_EN 0x2000

typedef struct AcpiPm AcpiPm;
typedef void (*AcpiPowerOffFn)(void *opaque);

AcpiPm *acpi_pm_new(PciBus *pci, IoBus *io, VClock *clk, IrqLine sci, AcpiPowerOffFn poweroff,
                    void *opaque);
/* RESET: PM1, GPE0 and APM registers cleared (the PM I/O base is PCI
 * configuration, reset with the bus). */
void acpi_pm_reset(AcpiPm *pm);
void acpi_pm_free(AcpiPm *pm);
/* Claim the fixed ports (GPE0, APM). Returns 0 or -1. */
int acpi_pm_register(AcpiPm *pm);
/* The power button: sets PWRBTN_STS (an SCI if PWRBTN_EN and SCI_EN). */
void acpi_pm_power_button(AcpiPm *pm);

/* Snapshot section (snap/snap.h): the PM, GPE0 and APM registers, the PM
 * timer's last look and its timer. Where the PM block is mapped follows
 * the PCI configuration space (pci_bus_load). acpi_pm_load validates, and
 * commits only with r->apply. */
struct SnapWriter;
struct SnapReader;
void acpi_pm_save(const AcpiPm *pm, struct SnapWriter *w);
bool acpi_pm_load(AcpiPm *pm, struct SnapReader *r);

#endif
