/*
 * fuzz_modes.c - entering the CPU modes of the CPU fuzz targets (see fuzz_modes.h).
 */
#include "fuzz_modes.h"

#include <stdio.h>
#include <stdlib.h>

/* From CPL 0, IRET to V86 code at 0500:0000 with SS:SP = 2000:1000. */
static void enter_v86(TestMachine *tm, uint32_t iopl) {
    tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
    uint8_t code[64];
    int n = 0;
    for (int i = 0; i < 4; i++) { /* gs fs ds es = 0 */
        code[n++] = 0x6A;
        code[n++] = 0x00;
    }
    const uint32_t frame[5] = {0x2000, 0x1000, FL_VM | (iopl & FL_IOPL) | 2, FUZZ_V86_CODE >> 4, 0};
    for (int i = 0; i < 5; i++) {
        code[n++] = 0x68; /* push imm32 */
        for (int b = 0; b < 4; b++)
            code[n++] = (uint8_t)(frame[i] >> (8 * b));
    }
    code[n++] = 0xCF; /* iret */
    tm_poke(tm, TM_CODE, code, (size_t)n);
    tm_run(tm, 10);
    if (!cpu_v86(tm->cpu)) {
        fprintf(stderr, "fuzz_enter_mode: IRET did not enter V86 mode\n");
        abort();
    }
}

uint32_t fuzz_enter_mode(TestMachine *tm, unsigned mode, uint32_t flags) {
    switch (mode) {
    case FUZZ_REAL: tm_real(tm, TM_CODE >> 4, 0); return TM_CODE;
    case FUZZ_PM3:
        tm_pmode_flat(tm, 3, TM_CODE, TM_STACK3);
        tm_paging(tm, tm->pm->ram_below >> 20);
        return TM_CODE;
    case FUZZ_V86: enter_v86(tm, flags); return FUZZ_V86_CODE;
    case FUZZ_PM16:
        tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0);
        tm->cpu->seg[SEG_CS].flags &= ~SF_DB;
        return TM_CODE;
    default: tm_pmode_flat(tm, 0, TM_CODE, TM_STACK0); return TM_CODE;
    }
}
