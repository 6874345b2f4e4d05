/*
 * fuzz_exec.c - libFuzzer target: decode and execute a few instructions on
 * a small machine in real mode, protected mode at CPL 0, at CPL 3 with
 * paging on, and in virtual-8086 mode (IOPL 3 or 0).
 *
 * Input: one byte for the mode (bits 0-1) and V86's IOPL (bit 2), 32 bytes
 * of initial general registers (ESP stays the mode's), then up to 64 bytes
 * of code at CS:EIP. The CPU runs up to 16 instructions with the engine
 * BT86_ACCEL names (the interpreter if unset); exceptions go to the test
 * machine's handler stubs (HLT). Guest faults, resets and halts are
 * expected; a host crash or sanitizer report is a bug.
 */
#include <stdlib.h>

#include "fuzz_input.h"
#include "fuzz_modes.h"

#define CODE_MAX  64
#define MAX_INSNS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const unsigned modes[4] = {FUZZ_REAL, FUZZ_PM0, FUZZ_PM3, FUZZ_V86};
    setenv("BT86_ACCEL", "interp", 0);
    FuzzInput in = {data, size};
    unsigned sel = fuzz_u8(&in);
    TestMachine *tm = tm_new(2 << 20);
    uint32_t code_at = fuzz_enter_mode(tm, modes[sel & 3], sel & 4 ? FL_IOPL : 0);
    for (int r = 0; r < 8; r++) {
        uint32_t v = fuzz_u32(&in);
        if (r != R_ESP) tm->cpu->regs[r] = v;
    }
    uint8_t code[CODE_MAX];
    fuzz_bytes(&in, code, sizeof code);
    tm_poke(tm, code_at, code, sizeof code);
    tm_run(tm, MAX_INSNS);
    tm_free(tm);
    return 0;
}
