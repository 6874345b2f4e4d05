/*
 * ops_sse.c - SSE, SSE2, SSE3 and SSSE3: the XMM registers, MXCSR, and the
 * instructions of decode.c's mandatory-prefix maps (0F, 0F 38, 0F 3A).
 *
 * Computation. Every instruction that computes (arithmetic, compares,
 * conversions, shuffles, packs, integer SIMD, SSSE3, the SSE integer
 * instructions on MMX registers) runs on the host (cpu/sse.h): the handler
 * reads the guest operands (a memory operand is read by the guest's rules
 * and stands in for the register operand of the same instruction), runs
 * the register form with the guest's DAZ, FZ and rounding control and all
 * exceptions masked, and takes the result, the exception flags raised and
 * (COMISS & co.) EFLAGS from the host. Results are therefore the host's
 * bit for bit; on a host without SSE the guest has none (sse.h).
 *
 * SIMD floating-point exceptions: the flags the masked run raised are
 * compared with the guest's masks (MXCSR bits 7-12); with underflow
 * unmasked, a second masked run with FZ finds exact tiny results too
 * (unmasked, those raise UE). Nothing unmasked: the flags are ORed into
 * MXCSR and the result committed. Otherwise the instruction runs once more
 * on the host with the guest's own masks under a SIGFPE trap
 * (sse_host_run_trapping): the host's MXCSR at its #XM gives the guest's
 * flags exactly (which flags an unmasked exception leaves set - only the
 * pre-computation ones, PE under an unmasked underflow - is the host's
 * business, not a model here); nothing but MXCSR is written, and the guest
 * gets #XM with CR4.OSXMMEXCPT set, #UD without. Where no trap is
 * possible (non-Linux x86-64 hosts) the SDM's rules (Vol. 1, 11.5.2) are
 * applied to the masked run's flags.
 *
 * Moves whose memory form differs from the register form (MOVSS/MOVSD
 * loads, MOVLPS/MOVHPS, stores to r/m, MOVNT*, MASKMOV*) and MXCSR
 * access are plain C here.
 *
 * Checks, in the SDM's order: an instruction touching XMM state raises #UD
 * if CR0.EM = 1 or CR4.OSFXSR = 0 (or the host has no SSE), then #NM if
 * CR0.TS = 1; one touching MMX registers makes the MMX checks (ops_mmx.c:
 * #UD for EM, #NM for TS, #MF for a pending x87 exception) and enters the
 * MMX state. Legacy-SSE 16-byte memory operands must be 16-byte aligned
 * (#GP(0)) except for MOVUPS/MOVUPD/MOVDQU/LDDQU; memory is read (or its
 * writability probed) before any state changes.
 */
#include <string.h>

#include "cpu/ops.h"
#include "cpu/sse.h"

#define X(i) (cpu->xmm[(i)&7])

enum { K_X, K_M, K_G }; /* operand kinds: XMM, MMX, general register */

/* MXCSR exception flags. */
#define MXCSR_IE 0x01u
#define MXCSR_DE 0x02u
#define MXCSR_ZE 0x04u
#define MXCSR_OE 0x08u
#define MXCSR_UE 0x10u
#define MXCSR_PE 0x20u

/* ---------------- checks ---------------- */

/* Whether the model has each instruction's extension (SSE, SSE2, SSE3,
 * SSSE3; never without the host's SSE unit, cpu/cpu_model.c) is the
 * decoder's business: its "needs" column raises #UD before a handler here
 * runs (decode.c). */
static void sse_enter(CPU *cpu) {
    if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR)) cpu_ud(cpu);
    if (cpu->cr0 & CR0_TS) cpu_raise(cpu, EXC_NM, -1);
}

static void sse_mmx_enter(CPU *cpu) {
    mmx_enter(cpu);
}

/* ---------------- memory ---------------- */

static uint32_t mem_lin(CPU *cpu, const Insn *in, unsigned size, bool align16, int acc) {
    uint32_t lin = seg_lin(cpu, in->seg, insn_ea(cpu, in), size, acc);
    if (align16 && (lin & 15)) cpu_gp0(cpu);
    return lin;
}

static void mem_load(CPU *cpu, const Insn *in, unsigned size, bool align16, uint8_t *out) {
    uint32_t lin = mem_lin(cpu, in, size, align16, ACC_R);
    if (size == 8) {
        uint64_t v = lin_read64(cpu, lin, ACC_R);
        for (unsigned i = 0; i < 8; i++)
            out[i] = (uint8_t)(v >> (8 * i));
        return;
    }
    for (unsigned k = 0; k < size; k += 4) {
        unsigned n = size - k < 4 ? size - k : 4;
        uint32_t v = lin_read(cpu, lin + k, n, ACC_R);
        for (unsigned i = 0; i < n; i++)
            out[k + i] = (uint8_t)(v >> (8 * i));
    }
}

static void mem_store(CPU *cpu, const Insn *in, unsigned size, bool align16, const uint8_t *v) {
    uint32_t lin = mem_lin(cpu, in, size, align16, ACC_W);
    if (size > 4) lin_probe_write(cpu, lin, size, ACC_W);
    for (unsigned k = 0; k < size; k += 4) {
        unsigned n = size - k < 4 ? size - k : 4;
        uint32_t x = 0;
        for (unsigned i = 0; i < n; i++)
            x |= (uint32_t)v[k + i] << (8 * i);
        lin_write(cpu, lin + k, n, x, ACC_W);
    }
}

/* ---------------- running on the host ---------------- */

static const uint8_t prefix_byte[4] = {0, 0xF3, 0xF2, 0x66}; /* by PFX_* */

/* Run in on the host with the context c (operands loaded); modrm is the
 * host ModRM. Applies the exception rules above; returns only when the
 * result in c may be committed. */
static void run_host(CPU *cpu, const Insn *in, SseHostCtx *c, uint8_t modrm, bool mmx) {
    static const uint8_t maps[4] = {0, 0x0F, 0x38, 0x3A};
    uint8_t pfx = prefix_byte[in->rep & 3], map = maps[in->op >> 8 & 3], op = (uint8_t)in->op;
    int imm = sse_has_imm8(in->op) ? (int)(in->imm & 0xFF) : -1;
    c->mxcsr_in = (cpu->mxcsr | 0x1F80u) & ~0x3Fu;
    const SseHostCtx saved = *c;
    sse_host_run(c, pfx, map, op, modrm, imm, mmx);
    uint32_t raised = c->mxcsr_out & 0x3F;
    uint32_t enabled = ~(cpu->mxcsr >> 7) & 0x3F;
    bool suspect = (raised & enabled) != 0;
    if (!suspect && (enabled & MXCSR_UE)) {
        /* Unmasked, underflow means a tiny result even if exact; masked it
         * also needs inexactness. Flush-to-zero reports every tiny result:
         * run again with FZ to find one. */
        SseHostCtx again = saved;
        again.mxcsr_in |= 0x8000u;
        sse_host_run(&again, pfx, map, op, modrm, imm, mmx);
        suspect = (again.mxcsr_out & MXCSR_UE) != 0;
    }
    if (!suspect) {
        cpu->mxcsr |= raised;
        return;
    }
    /* An unmasked exception (or maybe one): run with the guest's masks and
     * let the host decide, flags included. */
    SseHostCtx exact = saved;
    exact.mxcsr_in = cpu->mxcsr & ~0x3Fu;
    bool faulted;
    if (sse_host_run_trapping(&exact, pfx, map, op, modrm, imm, mmx, &faulted)) {
        cpu->mxcsr |= exact.mxcsr_out & 0x3F;
        if (!faulted) {
            *c = exact;
            return;
        }
    } else {
        /* No trapping run on this host: the SDM's rules on the masked run's
         * flags (PE under an unmasked underflow may differ). */
        uint32_t unmasked = raised & enabled;
        if (!unmasked) {
            cpu->mxcsr |= raised;
            return;
        }
        uint32_t pre = raised & (MXCSR_IE | MXCSR_DE | MXCSR_ZE);
        cpu->mxcsr |= (pre & unmasked) ? pre : raised;
    }
    if (cpu->cr4 & CR4_OSXMMEXCPT) cpu_raise(cpu, EXC_XM, -1);
    cpu_ud(cpu);
}

/* The generic handler: dst kind dk (ModRM.reg), src kind sk (ModRM.rm or
 * memory of msize bytes, 0: register form only). */
static void host_op(CPU *cpu, const Insn *in, int dk, int sk, unsigned msize, bool align16) {
    bool xmm = dk == K_X || sk == K_X, mmx = dk == K_M || sk == K_M;
    if (xmm) {
        sse_enter(cpu);
        if (mmx) fpu_check_pending(cpu);
    } else {
        sse_mmx_enter(cpu);
    }
    SseHostCtx c = {0};
    if (dk == K_X)
        c.x0 = X(in->reg);
    else if (dk == K_M)
        c.mm0 = mm_get(cpu, in->reg);
    if (in->is_mem) {
        if (!msize) cpu_ud(cpu);
        uint8_t b[16] = {0};
        mem_load(cpu, in, msize, align16, b);
        if (sk == K_X)
            memcpy(c.x1.b, b, 16);
        else if (sk == K_M)
            memcpy(&c.mm1, b, 8);
        else
            memcpy(&c.ecx, b, 4);
    } else if (sk == K_X) {
        c.x1 = X(in->rm);
    } else if (sk == K_M) {
        c.mm1 = mm_get(cpu, in->rm);
    } else {
        c.ecx = cpu->regs[in->rm];
    }
    /* The x87-to-MMX transition (TOP 0, tags valid) comes with an MMX
     * register operand - not for CVTPI2PS/PD from memory - and before any
     * #XM of the instruction. */
    if (dk == K_M || (sk == K_M && !in->is_mem)) mmx_touch(cpu);
    run_host(cpu, in, &c, 0xC1, mmx);
    if (dk == K_X)
        X(in->reg) = c.x0;
    else if (dk == K_M)
        mm_set(cpu, in->reg, c.mm0);
    else
        cpu->regs[in->reg] = c.eax;
    if ((in->facts.flags & AFX_WRITES) == AFX_ALL) /* COMISS, UCOMISS, COMISD, UCOMISD */
        flags_set_arith(cpu, (uint32_t)c.rflags & (FL_ZF | FL_PF | FL_CF), FL_ARITH);
}

#define HOST_OP(name_, dk_, sk_, msize_, align_)                                                   \
    void name_(CPU *cpu, const Insn *in) {                                                         \
        host_op(cpu, in, dk_, sk_, msize_, align_);                                                \
    }
HOST_OP(op_sse_xx128a, K_X, K_X, 16, true)
HOST_OP(op_sse_xx128u, K_X, K_X, 16, false)
HOST_OP(op_sse_xx64, K_X, K_X, 8, false)
HOST_OP(op_sse_xx32, K_X, K_X, 4, false)
HOST_OP(op_sse_xg32, K_X, K_G, 4, false)
HOST_OP(op_sse_xg16, K_X, K_G, 2, false)
HOST_OP(op_sse_gx32, K_G, K_X, 4, false)
HOST_OP(op_sse_gx64, K_G, K_X, 8, false)
HOST_OP(op_sse_gxreg, K_G, K_X, 0, false)
HOST_OP(op_sse_xm64, K_X, K_M, 8, false)
HOST_OP(op_sse_xmreg, K_X, K_M, 0, false)
HOST_OP(op_sse_mx64, K_M, K_X, 8, false)
HOST_OP(op_sse_mx128a, K_M, K_X, 16, true)
HOST_OP(op_sse_mxreg, K_M, K_X, 0, false)
HOST_OP(op_sse_mm64, K_M, K_M, 8, false)
HOST_OP(op_sse_mg16, K_M, K_G, 2, false)
HOST_OP(op_sse_gmreg, K_G, K_M, 0, false)

/* F2 0F F0: LDDQU xmm, m128 (a plain unaligned load: it has no register form to run). */
void op_sse_lddqu(CPU *cpu, const Insn *in) {
    sse_enter(cpu);
    if (!in->is_mem) cpu_ud(cpu);
    uint8_t b[16];
    mem_load(cpu, in, 16, false, b);
    memcpy(X(in->reg).b, b, 16);
}

/* 66 0F 71 / 72 / 73 /n ib: the XMM register in ModRM.rm shifted by imm8
 * (PSRLW/D/Q /2, PSRAW/D /4, PSLLW/D/Q /6, PSRLDQ /3, PSLLDQ /7). */
void op_sse_shift_imm(CPU *cpu, const Insn *in) {
    sse_enter(cpu);
    if (in->is_mem) cpu_ud(cpu);
    SseHostCtx c = {0};
    c.x0 = X(in->rm);
    run_host(cpu, in, &c, (uint8_t)(0xC0 | in->reg << 3), false);
    X(in->rm) = c.x0;
}

/* ---------------- moves ---------------- */

/* F3 0F 10 MOVSS, F2 0F 10 MOVSD: from memory the rest of the register is
 * zeroed; between registers only the low element is copied. */
void op_sse_movs_load(CPU *cpu, const Insn *in) {
    unsigned size = in->rep == PFX_F3 ? 4 : 8;
    if (!in->is_mem) {
        host_op(cpu, in, K_X, K_X, size, false);
        return;
    }
    sse_enter(cpu);
    uint8_t b[16] = {0};
    mem_load(cpu, in, size, false, b);
    memcpy(X(in->reg).b, b, 16);
}

/* 0F 12 / 0F 16 (and 66): MOVLPS/MOVLPD, MOVHPS/MOVHPD load 64 bits into the
 * low / high half; the register forms without 66 are MOVHLPS / MOVLHPS. */
void op_sse_movlh_load(CPU *cpu, const Insn *in) {
    if (!in->is_mem) {
        if (in->rep == PFX_66) cpu_ud(cpu);
        host_op(cpu, in, K_X, K_X, 0, false);
        return;
    }
    sse_enter(cpu);
    uint8_t b[8];
    mem_load(cpu, in, 8, false, b);
    memcpy(X(in->reg).b + ((in->op & 0xFF) == 0x16 ? 8 : 0), b, 8);
}

/* Stores of ModRM.reg's XMM register to r/m: 0F 11 (MOVUPS/UPD/SS/SD),
 * 0F 13 and 17 (MOVLPS/LPD, MOVHPS/HPD), 0F 29 (MOVAPS/APD), 0F 2B
 * (MOVNTPS/PD), 66 0F 7E (MOVD r/m32), 66/F3 0F 7F (MOVDQA/DQU), 66 0F D6
 * (MOVQ), 66 0F E7 (MOVNTDQ). */
void op_sse_store(CPU *cpu, const Insn *in) {
    unsigned op = in->op & 0xFF, pfx = in->rep;
    unsigned size = 16, from = 0;
    bool align = true, mem_only = false, zero_rest = false;
    switch (op) {
    case 0x11:
        align = false;
        size = pfx == PFX_F3 ? 4 : pfx == PFX_F2 ? 8 : 16;
        break;
    case 0x13: size = 8, mem_only = true, align = false; break;
    case 0x17: size = 8, from = 8, mem_only = true, align = false; break;
    case 0x2B:
    case 0xE7: mem_only = true; break;
    case 0x7E: size = 4, align = false; break;
    case 0x7F: align = pfx == PFX_66; break;
    case 0xD6: size = 8, align = false, zero_rest = true; break;
    default: break; /* 0x29 */
    }
    sse_enter(cpu);
    const XmmReg v = X(in->reg);
    if (in->is_mem) {
        mem_store(cpu, in, size, align && size == 16, v.b + from);
        return;
    }
    if (mem_only) cpu_ud(cpu);
    if (op == 0x7E) {
        cpu->regs[in->rm] = v.d[0];
        return;
    }
    if (zero_rest) memset(X(in->rm).b, 0, 16);
    memcpy(X(in->rm).b, v.b, size);
}

/* 0F E7: MOVNTQ m64, mm. */
void op_movntq(CPU *cpu, const Insn *in) {
    if (!in->is_mem) cpu_ud(cpu);
    sse_mmx_enter(cpu);
    uint64_t v = mm_get(cpu, in->reg);
    uint8_t b[8];
    for (unsigned i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    mem_store(cpu, in, 8, false, b);
    mmx_touch(cpu);
}

/* 0F F7 MASKMOVQ mm1, mm2 / 66 0F F7 MASKMOVDQU xmm1, xmm2: the bytes of
 * the first operand whose mask byte (second operand) has bit 7 set are
 * stored at DS:(E)DI (segment override allowed). */
void op_maskmov(CPU *cpu, const Insn *in) {
    if (in->is_mem) cpu_ud(cpu);
    uint8_t data[16], mask[16];
    unsigned n;
    if (in->rep == PFX_66) {
        sse_enter(cpu);
        memcpy(data, X(in->reg).b, 16);
        memcpy(mask, X(in->rm).b, 16);
        n = 16;
    } else {
        sse_mmx_enter(cpu);
        uint64_t d = mm_get(cpu, in->reg), m = mm_get(cpu, in->rm);
        for (unsigned i = 0; i < 8; i++) {
            data[i] = (uint8_t)(d >> (8 * i));
            mask[i] = (uint8_t)(m >> (8 * i));
        }
        n = 8;
        mmx_touch(cpu);
    }
    uint32_t base = cpu->regs[R_EDI] & (in->asize == 2 ? 0xFFFFu : 0xFFFFFFFFu);
    for (unsigned i = 0; i < n; i++) {
        if (!(mask[i] & 0x80)) continue;
        uint32_t off = base + i;
        if (in->asize == 2) off &= 0xFFFF;
        mem_write(cpu, in->seg, off, 1, data[i]);
    }
}

/* 0F C3: MOVNTI m32, r32. */
void op_movnti(CPU *cpu, const Insn *in) {
    if (!in->is_mem) cpu_ud(cpu);
    mem_write(cpu, in->seg, insn_ea(cpu, in), 4, cpu->regs[in->reg]);
}

/* ---------------- MXCSR, fences, cache lines ---------------- */

/* 0F AE /2: LDMXCSR m32; reserved bits set raise #GP(0). */
void op_ldmxcsr(CPU *cpu, const Insn *in) {
    if (!in->is_mem) cpu_ud(cpu);
    sse_enter(cpu);
    uint32_t v = mem_read(cpu, in->seg, insn_ea(cpu, in), 4);
    if (v & ~MXCSR_MASK) cpu_gp0(cpu);
    cpu->mxcsr = v;
}

/* 0F AE /3: STMXCSR m32. */
void op_stmxcsr(CPU *cpu, const Insn *in) {
    if (!in->is_mem) cpu_ud(cpu);
    sse_enter(cpu);
    mem_write(cpu, in->seg, insn_ea(cpu, in), 4, cpu->mxcsr);
}

/* 0F AE /5 /6 /7 with a register operand: LFENCE, MFENCE, SFENCE (one
 * CPU, memory accesses in order: nothing to wait for). /7 with memory:
 * CLFLUSH, which checks the byte's address like a read (segment, paging)
 * and has no cache to flush. (/4-/6 with memory, XSAVE, XRSTOR, XSAVEOPT,
 * are not implemented: the decoder's table has no entry, #UD.) */
void op_fence(CPU *cpu, const Insn *in) {
    if (!in->is_mem) return;
    lin_read(cpu, seg_lin(cpu, in->seg, insn_ea(cpu, in), 1, ACC_R), 1, ACC_R);
}
