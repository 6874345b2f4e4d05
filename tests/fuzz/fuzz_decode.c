/*
 * fuzz_decode.c - libFuzzer target: arbitrary bytes through the decoder.
 *
 * The first byte chooses the CPU mode the bytes are decoded in (real
 * mode, 16-bit protected mode, 32-bit protected mode); the rest are placed
 * at the instruction pointer and decoded with decode_insn, then again at
 * every offset, as the translator does when it walks a block. Faults
 * (#UD, #GP for the 15-byte limit, #PF) are expected; a host crash,
 * sanitizer report or an Insn whose length is 0 or over 15 is a bug.
 */
#include <setjmp.h>
#include <stdlib.h>

#include "cpu/insn.h"
#include "fuzz_input.h"
#include "fuzz_modes.h"

#define CODE_MAX 64

static TestMachine *machine;

static const unsigned decode_modes[3] = {FUZZ_REAL, FUZZ_PM16, FUZZ_PM0};

/* Decode at eip; false if the decoder raised an exception. */
static bool decode_at(CPU *cpu, uint32_t eip, Insn *insn) {
    cpu->in_run = true;
    if (setjmp(cpu->exc_jmp)) {
        cpu->in_run = false;
        return false;
    }
    decode_insn(cpu, eip, insn);
    cpu->in_run = false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!machine) {
        setenv("BT86_ACCEL", "interp", 0);
        machine = tm_new(1 << 20);
    }
    FuzzInput in = {data, size};
    uint32_t start_lin = fuzz_enter_mode(machine, decode_modes[fuzz_u8(&in) % 3], 0);
    uint8_t code[CODE_MAX + 16];
    memset(code, 0x90, sizeof code);
    size_t n = fuzz_bytes(&in, code, CODE_MAX);
    tm_poke(machine, start_lin, code, sizeof code);
    uint32_t start = machine->cpu->eip;
    for (size_t off = 0; off < (n ? n : 1); off++) {
        Insn insn;
        if (!decode_at(machine->cpu, start + (uint32_t)off, &insn)) continue;
        if (insn.len == 0 || insn.len > 15) abort();
    }
    return 0;
}
