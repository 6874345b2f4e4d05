/*
 * sse.h - how the SSE/SSE2/SSE3/SSSE3 handlers (ops_sse.c) compute: the
 * host backend (sse_host.c) runs the register form of the guest's
 * instruction on the host's own SSE unit, so results, MXCSR flags and
 * EFLAGS are the host's bit for bit.
 *
 * The handler loads the guest operands into an SseHostCtx (destination in
 * XMM0 / MM0 / EAX, source in XMM1 / MM1 / ECX), sets mxcsr_in (the
 * guest's DAZ, FZ and rounding with every exception masked and no flag
 * set) and calls sse_host_run with the instruction's prefix, map, opcode,
 * ModRM (reg 0, rm 1, or /n and rm 0 for the shift-by-immediate groups)
 * and immediate; afterwards the context holds the registers, the flags the
 * instruction raised (mxcsr_out) and RFLAGS. Each distinct encoding gets a
 * small generated host function, cached.
 *
 * Use:
 *     if (!sse_host_available()) cpu_ud(cpu);   // non-x86-64 host: no SSE
 *     SseHostCtx c = {...};
 *     sse_host_run(&c, 0x66, 0x0F, 0x58, 0xC1, -1, false);   // ADDPD xmm0, xmm1
 */
#ifndef BT86_SSE_H
#define BT86_SSE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

typedef struct SseHostCtx {
    XmmReg x0, x1;       /* offsets 0, 16 */
    uint32_t mxcsr_in;   /* 32 */
    uint32_t mxcsr_out;  /* 36 */
    uint32_t eax, ecx;   /* 40, 44 */
    uint64_t mm0, mm1;   /* 48, 56 */
    uint64_t rflags;     /* 64 */
    uint32_t host_mxcsr; /* 72: the host's own, kept across the call */
    uint32_t pad;
} SseHostCtx;

/* Whether the instruction Insn.op (0x100-0x3FF: 0F xx, 0F 38 xx, 0F 3A xx)
 * of the SSE maps has an imm8: all of 0F 3A; 0F 70-73, C2, C4-C6 (the
 * handlers and the jit's inline SSE code, which emit the host's form). */
static inline bool sse_has_imm8(unsigned op) {
    if ((op >> 8) == 3) return true;
    if ((op >> 8) != 1) return false;
    op &= 0xFF;
    return (op >= 0x70 && op <= 0x73) || op == 0xC2 || (op >= 0xC4 && op <= 0xC6);
}

/* Whether the host can run SSE through SSSE3 (x86-64 with those CPUID
 * bits and an executable code buffer). False on other hosts: the guest then
 * has no SSE (CPUID says so and every SSE instruction raises #UD). */
bool sse_host_available(void);

/* Run one register-form instruction: prefix 0 / 0x66 / 0xF3 / 0xF2, map
 * 0x0F, 0x38 or 0x3A (0F 38 xx, 0F 3A xx), opcode, ModRM, imm8 or -1, and
 * mmx when MM0/MM1 take part (the host's x87 state is emptied afterwards). */
void sse_host_run(SseHostCtx *c, uint8_t prefix, uint8_t map, uint8_t op, uint8_t modrm, int imm,
                  bool mmx);

/* The same with mxcsr_in's exception masks as they are: an unmasked
 * exception the host raises (SIGFPE, Linux hosts) sets *faulted, leaves
 * the registers in c as they were before the instruction and gives the
 * MXCSR at the fault in mxcsr_out. Returns false where this cannot be done
 * (then nothing ran). */
bool sse_host_run_trapping(SseHostCtx *c, uint8_t prefix, uint8_t map, uint8_t op, uint8_t modrm,
                           int imm, bool mmx, bool *faulted);

#endif
