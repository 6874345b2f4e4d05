/*
 * diff_bt86.c - the bt86 side of the differential tests: one machine set
 * up once in flat 32-bit protected mode (the unit tests' TestMachine), with
 * every IDT vector pointing at a "hlt" stub so that a fault is visible.
 */
#include <string.h>

#include "dbt/dbt.h"
#include "diff.h"
#include "testmachine.h"

static TestMachine *tm;
static int last_exception;

void bt86_side_init(void) {
    tm = tm_new(8 << 20);
    tm_pmode_flat(tm, 0, BT86_CODE, BT86_STACK_TOP);
}

void bt86_side_enable_sse(void) {
    cpu_set_model(tm->cpu, cpu_model_find("max")); /* a bare CPU is a pentium2: no SSE */
    tm->cpu->cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    /* Each sequence runs once: under the jit it runs as host code (the
     * inline SSE code among it) only if compiled at its first run. */
    dbt_set_jit_hot(tm->cpu, 1);
}

void bt86_side_poke(uint32_t addr, const uint8_t *data, uint32_t len) {
    tm_poke(tm, addr, data, len);
}

void bt86_side_peek(uint32_t addr, uint8_t *data, uint32_t len) {
    phys_copy_from(tm->pm, addr, data, len);
}

int bt86_side_last_exception(void) {
    return last_exception;
}

bool bt86_side_run(const uint8_t *code, int len, DiffState *s, int max_steps) {
    CPU *cpu = tm->cpu;
    uint8_t buf[2048];
    if (len < 0 || len > (int)sizeof buf - 1) return false;
    memcpy(buf, code, (size_t)len);
    buf[len] = 0xF4;
    tm_poke(tm, BT86_CODE, buf, (size_t)len + 1);
    memcpy(cpu->regs, s->regs, sizeof cpu->regs);
    cpu->eip = BT86_CODE;
    cpu->halted = false;
    cpu_set_eflags(cpu, (s->eflags & (FLAG_ALL | FLAG_DF)) | 2, 0x00000ED7u | 0x200u);
    cpu->eflags &= ~FL_IF;
    last_exception = -1;
    if (max_steps > 0) cpu_run(cpu, (uint64_t)max_steps); // stops at the HLT that ends the code
    memcpy(s->regs, cpu->regs, sizeof cpu->regs);
    s->eflags = cpu_get_eflags(cpu);
    bool ok = cpu->halted && cpu->eip == BT86_CODE + (uint32_t)len + 1;
    if (!ok && cpu->eip >= TM_STUBS && cpu->eip < TM_STUBS + 4 * 256)
        last_exception = (int)((cpu->eip - TM_STUBS) / 4);
    return ok;
}
