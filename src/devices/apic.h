/*
 * apic.h - the CPU's local APIC (xAPIC, memory-mapped at IA32_APIC_BASE,
 * 0xFEE00000 after reset), one per CPU, identified by its APIC ID.
 *
 * It is the CPU's interrupt controller: the CPU asks apic_intr_pending() at
 * instruction boundaries and apic_intr_ack() for the vector. Interrupts
 * reach it as messages (apic_deliver: from the I/O APIC, or its own ICR),
 * from its local sources (timer, error, LINT0/LINT1 pins) and, in virtual
 * wire mode (LINT0 programmed ExtINT), from the 8259 through the ext_*
 * hooks. While the APIC is disabled (IA32_APIC_BASE bit 11 clear) or
 * software-disabled (SVR bit 8 clear) the 8259 reaches the CPU directly
 * ("through" mode, as QEMU's PC does): firmware and OSes without APIC
 * support run unchanged.
 *
 * Use:
 *     ApicHooks h = {.ext_pending = pic_intr_pending, .ext_ack = pic_intr_ack,
 *                    .ext_opaque = pic, .nmi = ..., .opaque = pc};
 *     Apic *a = apic_new(&clock, 0, &h);
 *     cpu->irq_pending = apic_intr_pending; cpu->irq_ack = apic_intr_ack;
 *     cpu->irq_opaque = a;
 *     physmem_add_mmio(pm, 0xFEE00000, APIC_MMIO_SIZE, apic_mmio_read, apic_mmio_write, a);
 *
 * Model: version register 0x00050014 (an integrated xAPIC, version 0x14,
 * 6 LVT entries: timer, thermal, performance counter, LINT0, LINT1, error;
 * the thermal and performance entries are registers whose sources never
 * fire). Registers: ID, version, TPR, APR, PPR, EOI, LDR, DFR (flat and
 * cluster), SVR (enable, spurious vector, focus bit kept), ISR/TMR/IRR,
 * ESR (errors latch on an ESR write), ICR (fixed, lowest priority, NMI,
 * INIT, SIPI, SMI; destination by physical or logical ID or shorthand:
 * this CPU alone is reachable, other destinations get nobody), the timer
 * (one-shot, periodic, TSC-deadline through MSR 0x6E0, divide
 * configuration) counting at APIC_BUS_HZ of virtual time. Only aligned
 * 32-bit accesses at the start of a 16-byte slot reach a register; other
 * reads return the register's bytes, other writes are dropped.
 * INIT and SIPI to this CPU (the bootstrap processor) are accepted and
 * ignored: a BSP does not wait for SIPI, and INIT of a running BSP is not
 * modelled. SMI is ignored (no SMM).
 */
#ifndef BT86_APIC_H
#define BT86_APIC_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/clock.h"

#define APIC_DEFAULT_BASE 0xFEE00000u
#define APIC_MMIO_SIZE    0x1000u
#define APIC_VERSION      0x00050014u
/* The timer's input clock: 1 GHz (one tick per ns of virtual time, before the divider). */
#define APIC_BUS_HZ 1000000000u

#define MSR_IA32_APIC_BASE    0x1B
#define MSR_IA32_TSC_DEADLINE 0x6E0
#define APIC_BASE_BSP         (1u << 8)
#define APIC_BASE_ENABLE      (1u << 11)

/* Delivery modes (ICR, LVT and I/O APIC redirection entries, bits 8-10). */
enum {
    APIC_DM_FIXED = 0,
    APIC_DM_LOWEST = 1,
    APIC_DM_SMI = 2,
    APIC_DM_NMI = 4,
    APIC_DM_INIT = 5,
    APIC_DM_SIPI = 6,
    APIC_DM_EXTINT = 7,
};

typedef struct Apic Apic;

typedef struct ApicHooks {
    /* The 8259's INTR output and its INTA cycle. */
    bool (*ext_pending)(void *ext_opaque);
    int (*ext_ack)(void *ext_opaque);
    void *ext_opaque;
    /* Raise the CPU's NMI. */
    void (*nmi)(void *opaque);
    /* EOI of a level-triggered vector: tell the I/O APIC(s). */
    void (*eoi_broadcast)(void *opaque, uint8_t vector);
    /* Virtual time (ns) at which the TSC reaches `tsc` (TSC-deadline mode);
     * NULL: TSC-deadline timers never fire. */
    uint64_t (*tsc_to_ns)(void *opaque, uint64_t tsc);
    /* IA32_APIC_BASE changed the register window: move the MMIO region
     * (enabled false: unmap it). */
    void (*base_changed)(void *opaque, uint32_t base, bool enabled);
    void *opaque;
} ApicHooks;

Apic *apic_new(VClock *clk, uint8_t id, const ApicHooks *hooks);
void apic_free(Apic *a);
/* RESET/INIT: power-on register values, enabled at APIC_DEFAULT_BASE. */
void apic_reset(Apic *a);

uint32_t apic_mmio_read(void *opaque, uint32_t offset, unsigned size);
void apic_mmio_write(void *opaque, uint32_t offset, unsigned size, uint32_t val);
/* IA32_APIC_BASE and IA32_TSC_DEADLINE; false for another MSR or a value
 * the CPU must refuse with #GP (reserved bits). */
bool apic_msr_read(void *opaque, uint32_t msr, uint64_t *val);
bool apic_msr_write(void *opaque, uint32_t msr, uint64_t val);

/* The CPU side (opaque is the Apic). */
bool apic_intr_pending(void *opaque);
int apic_intr_ack(void *opaque);

/* An interrupt message on the APIC bus. Returns whether this APIC is a
 * destination (and took it). */
bool apic_deliver(Apic *a, uint8_t dest, bool logical, int mode, uint8_t vector, bool level);
/* LINT0/LINT1 input pins (pin 0 or 1), as their LVT entries program them. */
void apic_set_lint(Apic *a, int pin, int level);

uint8_t apic_id(const Apic *a);
uint32_t apic_base_address(const Apic *a);
/* Hardware enabled (IA32_APIC_BASE bit 11). */
bool apic_hw_enabled(const Apic *a);

/* Snapshot section: every register, the timer and the MSRs. */
struct SnapWriter;
struct SnapReader;
void apic_save(const Apic *a, struct SnapWriter *w);
bool apic_load(Apic *a, struct SnapReader *r);

#endif
