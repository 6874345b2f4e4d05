/*
 * testmachine.c - the bare test machine (see testmachine.h).
 */
#include "testmachine.h"

#include <stdio.h>
#include <stdlib.h>

#include "dbt/dbt.h"

TestMachine *tm_new(uint64_t ram_bytes) {
    TestMachine *tm = calloc(1, sizeof *tm);
    tm->pm = physmem_new(ram_bytes);
    tm->io = iobus_new();
    tm->cpu = cpu_new(tm->pm, tm->io);
    if (dbt_attach(tm->cpu, dbt_engine_from_env(getenv("BT86_ACCEL"))) < 0) {
        fprintf(stderr, "tm_new: cannot start the engine (out of memory)\n");
        abort();
    }
    /* Handler stubs: hlt; jmp back to the hlt. */
    for (unsigned v = 0; v < 256; v++) {
        static const uint8_t stub[4] = {0xF4, 0xEB, 0xFD, 0x90};
        tm_poke(tm, TM_STUB(v), stub, sizeof stub);
    }
    return tm;
}

static bool fake_pic_pending(void *opaque) {
    const TestMachine *tm = opaque;
    return tm->irq_line != 0;
}
static int fake_pic_ack(void *opaque) {
    TestMachine *tm = opaque;
    tm->irq_line = 0;
    return tm->irq_vector;
}
void tm_fake_pic(TestMachine *tm) {
    tm->irq_line = 0;
    tm->irq_vector = 0x20;
    tm->cpu->irq_pending = fake_pic_pending;
    tm->cpu->irq_ack = fake_pic_ack;
    tm->cpu->irq_opaque = tm;
}

void tm_free(TestMachine *tm) {
    cpu_free(tm->cpu);
    iobus_free(tm->io);
    physmem_free(tm->pm);
    free(tm);
}

void tm_poke(TestMachine *tm, uint32_t paddr, const void *bytes, size_t n) {
    const uint8_t *b = bytes;
    for (size_t i = 0; i < n; i++)
        phys_write(tm->pm, paddr + (uint32_t)i, 1, b[i]);
}

void tm_poke32(TestMachine *tm, uint32_t paddr, uint32_t v) {
    phys_write(tm->pm, paddr, 4, v);
}
uint32_t tm_peek32(TestMachine *tm, uint32_t paddr) {
    return phys_read(tm->pm, paddr, 4);
}
uint16_t tm_peek16(TestMachine *tm, uint32_t paddr) {
    return (uint16_t)phys_read(tm->pm, paddr, 2);
}

void tm_real(TestMachine *tm, uint16_t cs, uint16_t ip) {
    CPU *cpu = tm->cpu;
    cpu_reset(cpu);
    for (int s = 0; s < SEG_COUNT; s++)
        cpu_load_seg_real(cpu, s, 0);
    cpu_load_seg_real(cpu, SEG_CS, cs);
    cpu->eip = ip;
    cpu->regs[R_ESP] = 0x7000;
    for (unsigned v = 0; v < 256; v++)
        tm_poke32(tm, v * 4, TM_STUB(v)); /* 0000:stub */
}

void tm_set_desc(TestMachine *tm, unsigned index, uint32_t base, uint32_t limit, uint8_t access,
                 uint8_t gran) {
    uint32_t lo = (limit & 0xFFFF) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xFF) | ((uint32_t)access << 8) | (limit & 0xF0000) |
                  ((uint32_t)(gran & 0xF0) << 16) | (base & 0xFF000000u);
    tm_poke32(tm, TM_GDT + index * 8, lo);
    tm_poke32(tm, TM_GDT + index * 8 + 4, hi);
}

void tm_set_gate(TestMachine *tm, unsigned vector, uint16_t sel, uint32_t off, uint8_t type,
                 unsigned dpl, int present) {
    uint32_t lo = (off & 0xFFFF) | ((uint32_t)sel << 16);
    uint32_t hi = (off & 0xFFFF0000u) | ((uint32_t)(present ? 0x80 : 0) << 8) |
                  ((uint32_t)(dpl & 3) << 13) | ((uint32_t)type << 8);
    tm_poke32(tm, TM_IDT + vector * 8, lo);
    tm_poke32(tm, TM_IDT + vector * 8 + 4, hi);
}

static void load_cached(TestMachine *tm, SegReg *s, uint16_t sel) {
    uint32_t lo = tm_peek32(tm, TM_GDT + (sel & ~7u));
    uint32_t hi = tm_peek32(tm, TM_GDT + (sel & ~7u) + 4);
    desc_to_seg(s, sel, lo, hi);
}

void tm_pmode_flat(TestMachine *tm, int cpl, uint32_t eip, uint32_t esp) {
    CPU *cpu = tm->cpu;
    cpu_reset(cpu);
    tm_set_desc(tm, 0, 0, 0, 0, 0);
    tm_set_desc(tm, 1, 0, 0xFFFFF, 0x9B, 0xC0);
    tm_set_desc(tm, 2, 0, 0xFFFFF, 0x93, 0xC0);
    tm_set_desc(tm, 3, 0, 0xFFFFF, 0xFB, 0xC0);
    tm_set_desc(tm, 4, 0, 0xFFFFF, 0xF3, 0xC0);
    tm_set_desc(tm, 5, TM_TSS, 0x67, 0x89, 0x00);
    tm_set_desc(tm, 6, 0, 0xFFFF, 0x9B, 0x00);
    tm_set_desc(tm, 7, 0, 0xFFFF, 0x93, 0x00);
    for (unsigned v = 0; v < 256; v++)
        tm_set_gate(tm, v, TM_SEL_CS0, TM_STUB(v), 0xE, 3, 1);
    /* TSS: ESP0/SS0 for ring transitions; no I/O bitmap (offset past the limit). */
    for (unsigned i = 0; i < 0x68; i += 4)
        tm_poke32(tm, TM_TSS + i, 0);
    tm_poke32(tm, TM_TSS + 4, TM_STACK0);
    tm_poke32(tm, TM_TSS + 8, TM_SEL_DS0);
    tm_poke32(tm, TM_TSS + 0x64, 0x0068u << 16);
    cpu->gdtr.base = TM_GDT;
    cpu->gdtr.limit = 8 * 8 - 1;
    cpu->idtr.base = TM_IDT;
    cpu->idtr.limit = 256 * 8 - 1;
    cpu->cr0 |= CR0_PE;
    tm_set_desc(tm, 5, TM_TSS, 0x67, 0x8B, 0x00); /* busy, as after LTR */
    load_cached(tm, &cpu->tr, TM_SEL_TSS);
    uint16_t cs = cpl == 3 ? TM_SEL_CS3 : TM_SEL_CS0;
    uint16_t ds = cpl == 3 ? TM_SEL_DS3 : TM_SEL_DS0;
    load_cached(tm, &cpu->seg[SEG_CS], cs);
    for (int s = 0; s < SEG_COUNT; s++)
        if (s != SEG_CS) load_cached(tm, &cpu->seg[s], ds);
    cpu->cpl = cpl;
    cpu->eip = eip;
    cpu->regs[R_ESP] = esp;
}

void tm_paging(TestMachine *tm, unsigned mbytes) {
    CPU *cpu = tm->cpu;
    unsigned tables = (mbytes + 3) / 4;
    for (unsigned i = 0; i < 1024; i++)
        tm_poke32(tm, TM_PD + 4 * i, 0);
    for (unsigned t = 0; t < tables; t++) {
        uint32_t pt = TM_PD + 0x1000 * (t + 1);
        tm_poke32(tm, TM_PD + 4 * t, pt | 7);
        for (unsigned i = 0; i < 1024; i++) {
            uint32_t page = (t * 1024 + i) << 12;
            tm_poke32(tm, pt + 4 * i, page < (mbytes << 20) ? page | 7 : 0);
        }
    }
    cpu_set_cr3(cpu, TM_PD);
    cpu_set_cr0(cpu, cpu->cr0 | CR0_PG);
}

CpuExit tm_run(TestMachine *tm, uint64_t max) {
    CpuExit e = cpu_run(tm->cpu, max);
    return e;
}
