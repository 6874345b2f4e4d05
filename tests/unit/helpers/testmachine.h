/*
 * testmachine.h - a bare machine for CPU unit tests: RAM, an I/O bus, a CPU,
 * and helpers to build descriptor tables, gates and page tables in guest
 * memory and to enter real or flat protected mode directly.
 *
 * Layout (physical addresses):
 *   TM_GDT   0x1000  GDT (selectors below)
 *   TM_IDT   0x2000  IDT, 256 gates
 *   TM_STUBS 0x3000  per-vector handler stubs: "hlt; jmp $-1" at TM_STUB(v)
 *   TM_TSS   0x4000  32-bit TSS (ring-0 stack TM_STACK0)
 *   TM_PD    0x10000 page directory (tm_paging), page tables follow
 *   TM_CODE  0x20000 default code address
 *
 * Use:
 *     TestMachine *tm = tm_new(16 << 20);
 *     tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
 *     tm_poke(tm, TM_CODE, (uint8_t[]){0x0F, 0x0B}, 2);   // ud2
 *     tm_run(tm, 100);
 *     ck_assert_uint_eq(tm->cpu->eip, TM_STUB(6));
 */
#ifndef BT86_TESTMACHINE_H
#define BT86_TESTMACHINE_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/core.h"
#include "devices/bus.h"
#include "mmu/mmu.h"

#define TM_GDT     0x1000u
#define TM_IDT     0x2000u
#define TM_STUBS   0x3000u
#define TM_STUB(v) (TM_STUBS + 4u * (v))
#define TM_TSS     0x4000u
#define TM_PD      0x10000u
#define TM_CODE    0x20000u
#define TM_STACK3  0x8F000u
#define TM_STACK0  0x9F000u

/* GDT selectors built by tm_pmode_flat. */
#define TM_SEL_CS0  0x08 /* 32-bit code, DPL 0, flat */
#define TM_SEL_DS0  0x10 /* 32-bit data, DPL 0, flat */
#define TM_SEL_CS3  0x1B /* 32-bit code, DPL 3, flat (RPL 3) */
#define TM_SEL_DS3  0x23 /* 32-bit data, DPL 3, flat (RPL 3) */
#define TM_SEL_TSS  0x28 /* 32-bit available TSS at TM_TSS */
#define TM_SEL_CS16 0x30 /* 16-bit code, DPL 0, base 0, limit 0xFFFF */
#define TM_SEL_DS16 0x38 /* 16-bit data, DPL 0, base 0, limit 0xFFFF */

typedef struct TestMachine {
    PhysMem *pm;
    IoBus *io;
    CPU *cpu;
    /* The interrupt controller of tm_fake_pic: a line the test raises,
     * lowered when the CPU acknowledges it, which answers irq_vector. */
    int irq_line, irq_vector;
} TestMachine;

/* The CPU runs the engine BT86_ACCEL names, else the host's default
 * (dbt_engine_from_env): every CPU suite runs under each engine. */
TestMachine *tm_new(uint64_t ram_bytes);
void tm_free(TestMachine *tm);
/* Connect the CPU's interrupt input to tm->irq_line (vector 0x20 unless
 * the test sets tm->irq_vector). */
void tm_fake_pic(TestMachine *tm);
void tm_poke(TestMachine *tm, uint32_t paddr, const void *bytes, size_t n);
void tm_poke32(TestMachine *tm, uint32_t paddr, uint32_t v);
uint32_t tm_peek32(TestMachine *tm, uint32_t paddr);
uint16_t tm_peek16(TestMachine *tm, uint32_t paddr);

/* Real mode at cs:ip with SS:SP = 0:0x7000 and the IVT pointing every vector
 * at a stub "hlt; jmp $-1" at 0x0:TM_STUB(v). */
void tm_real(TestMachine *tm, uint16_t cs, uint16_t ip);
/* Write GDT descriptor `index`. access = type | S | DPL | P byte; gran = high nibble (G, D/B). */
void tm_set_desc(TestMachine *tm, unsigned index, uint32_t base, uint32_t limit, uint8_t access,
                 uint8_t gran);
/* IDT gate: type 0x5 task, 0x6/0xE interrupt, 0x7/0xF trap; present bit set unless present=0. */
void tm_set_gate(TestMachine *tm, unsigned vector, uint16_t sel, uint32_t off, uint8_t type,
                 unsigned dpl, int present);
/* Flat protected mode at the given CPL with the GDT, IDT (all vectors ->
 * TM_STUB(v) through 32-bit interrupt gates, DPL 3), and TR loaded. */
void tm_pmode_flat(TestMachine *tm, int cpl, uint32_t eip, uint32_t esp);
/* Identity-map the first `mbytes` MiB with 4 KiB pages (user, writable) and enable paging. */
void tm_paging(TestMachine *tm, unsigned mbytes);
/* Run until the CPU halts, resets or max instructions pass. */
CpuExit tm_run(TestMachine *tm, uint64_t max);

#endif
