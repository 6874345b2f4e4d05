/*
 * ops.h - every instruction handler of the emulation core, by file.
 *
 * A handler implements one row (or one family of rows that differ only in
 * operand size or in a field the decoder hands over, e.g. the ALU kind of
 * ModRM.reg or opcode bits 3-5 in in->facts.alu) of the opcode map.
 * Handlers take the CPU and the decoded record and follow the conventions
 * in core.h. decode.c's table is the only place that maps opcodes to
 * handlers.
 */
#ifndef BT86_OPS_H
#define BT86_OPS_H

#include "cpu/core.h"

#define OP(name) void name(CPU *cpu, const Insn *in)

/* ops_alu.c: arithmetic, logic, shifts, multiply/divide, BCD, bit operations, flags. */
OP(op_alu_rm_r);      /* 00,01,08,09,...,38,39: kind = in->facts.alu (op >> 3) */
OP(op_alu_r_rm);      /* 02,03,...,3A,3B */
OP(op_alu_acc_imm);   /* 04,05,...,3C,3D */
OP(op_alu_rm_imm);    /* 80,81,82,83: kind = in->facts.alu (reg) */
OP(op_test_rm_r);     /* 84,85 */
OP(op_test_acc_imm);  /* A8,A9 */
OP(op_test_rm_imm);   /* F6/F7 /0 /1 */
OP(op_inc_r);         /* 40-47 */
OP(op_dec_r);         /* 48-4F */
OP(op_inc_rm);        /* FE/FF /0 */
OP(op_dec_rm);        /* FE/FF /1 */
OP(op_not_rm);        /* F6/F7 /2 */
OP(op_neg_rm);        /* F6/F7 /3 */
OP(op_mul_rm);        /* F6/F7 /4 */
OP(op_imul_rm);       /* F6/F7 /5 */
OP(op_div_rm);        /* F6/F7 /6 */
OP(op_idiv_rm);       /* F6/F7 /7 */
OP(op_imul_r_rm);     /* 0F AF */
OP(op_imul_r_rm_imm); /* 69, 6B */
OP(op_shift_rm);      /* C0,C1 (count imm8), D0,D1 (1), D2,D3 (CL); kind = reg */
OP(op_shld);          /* 0F A4 (imm8), 0F A5 (CL) */
OP(op_shrd);          /* 0F AC (imm8), 0F AD (CL) */
OP(op_daa);
OP(op_das);
OP(op_aaa);
OP(op_aas);
OP(op_aam);           /* D4 ib */
OP(op_aad);           /* D5 ib */
OP(op_salc);          /* D6 (undocumented SALC/SETALC) */
OP(op_bt_rm_r);       /* 0F A3 bt, AB bts, B3 btr, BB btc */
OP(op_bt_rm_imm);     /* 0F BA /4../7 */
OP(op_bsf);           /* 0F BC */
OP(op_bsr);           /* 0F BD */
OP(op_setcc);         /* 0F 90-9F */
OP(op_cmovcc);        /* 0F 40-4F */
OP(op_bswap);         /* 0F C8-CF */
OP(op_flag_op);       /* F5 cmc, F8 clc, F9 stc, FC cld, FD std */
OP(op_cbw);           /* 98: CBW / CWDE */
OP(op_cwd);           /* 99: CWD / CDQ */
OP(op_lahf);          /* 9F */
OP(op_sahf);          /* 9E */
OP(op_xadd);          /* 0F C0, C1 */
OP(op_cmpxchg);       /* 0F B0, B1 */
OP(op_cmpxchg8b);     /* 0F C7 /1 */

/* ops_data.c: moves, exchanges, stack, string instructions. */
OP(op_mov_rm_r);      /* 88,89 */
OP(op_mov_r_rm);      /* 8A,8B */
OP(op_mov_rm_imm);    /* C6,C7 /0 */
OP(op_mov_r_imm);     /* B0-BF */
OP(op_mov_acc_moffs); /* A0,A1 */
OP(op_mov_moffs_acc); /* A2,A3 */
OP(op_mov_rm_sreg);   /* 8C */
OP(op_mov_sreg_rm);   /* 8E */
OP(op_lea);           /* 8D */
OP(op_movzx);         /* 0F B6, B7 */
OP(op_movsx);         /* 0F BE, BF */
OP(op_xchg_rm_r);     /* 86,87 */
OP(op_xchg_r_acc);    /* 91-97 */
OP(op_nop);           /* 90, 0F 19-1F (hint NOPs) */
OP(op_xlat);          /* D7 */
OP(op_push_r);        /* 50-57 */
OP(op_pop_r);         /* 58-5F */
OP(op_push_imm);      /* 68, 6A */
OP(op_push_rm);       /* FF /6 */
OP(op_pop_rm);        /* 8F /0 */
OP(op_push_sreg);     /* 06,0E,16,1E, 0F A0, 0F A8 */
OP(op_pop_sreg);      /* 07,17,1F, 0F A1, 0F A9 */
OP(op_pusha);         /* 60 */
OP(op_popa);          /* 61 */
OP(op_enter);         /* C8 */
OP(op_leave);         /* C9 */
OP(op_bound);         /* 62 */
OP(op_load_far_ptr);  /* C4 les, C5 lds, 0F B2 lss, 0F B4 lfs, 0F B5 lgs */
OP(op_movs);          /* A4,A5 */
OP(op_cmps);          /* A6,A7 */
OP(op_stos);          /* AA,AB */
OP(op_lods);          /* AC,AD */
OP(op_scas);          /* AE,AF */
OP(op_ins);           /* 6C,6D */
OP(op_outs);          /* 6E,6F */

/* ops_ctrl.c: control transfers and software interrupts. */
OP(op_jcc);           /* 70-7F, 0F 80-8F */
OP(op_jmp_rel);       /* E9, EB */
OP(op_call_rel);      /* E8 */
OP(op_jmp_rm);        /* FF /4 */
OP(op_call_rm);       /* FF /2 */
OP(op_ret_near);      /* C2, C3 */
OP(op_loop);          /* E0 loopne, E1 loope, E2 loop */
OP(op_jcxz);          /* E3 */
OP(op_jmp_far_imm);   /* EA */
OP(op_call_far_imm);  /* 9A */
OP(op_jmp_far_rm);    /* FF /5 */
OP(op_call_far_rm);   /* FF /3 */
OP(op_ret_far);       /* CA, CB */
OP(op_iret);          /* CF */
OP(op_int);           /* CD */
OP(op_int3);          /* CC */
OP(op_into);          /* CE */
OP(op_int1);          /* F1 */
OP(op_ud);            /* undefined opcodes, UD2 (0F 0B), UD1 (0F B9) */

/* ops_fpu.c: the x87. */
OP(op_fpu_escape);    /* D8-DF */
OP(op_fwait);         /* 9B */
OP(op_fxsave);        /* 0F AE /0 */
OP(op_fxrstor);       /* 0F AE /1 */

/* ops_mmx.c: MMX (the Pentium II set). */
OP(op_mmx_arith);     /* 0F 60-6B, 74-76, D1-FE: mm := mm op mm/m64 */
OP(op_mmx_shift_imm); /* 0F 71, 72, 73 /2 /4 /6 ib */
OP(op_movd_mm_rm);    /* 0F 6E */
OP(op_movq_mm_mmm);   /* 0F 6F */
OP(op_emms);          /* 0F 77 */
OP(op_movd_rm_mm);    /* 0F 7E */
OP(op_movq_mmm_mm);   /* 0F 7F */
/* The MMX state as the SSE handlers on MMX registers see it. */
void mmx_enter(CPU *cpu);   /* #UD (CR0.EM), #NM (CR0.TS), pending x87 exception */
void mmx_touch(CPU *cpu);   /* TOP 0, all tags valid */
uint64_t mm_get(const CPU *cpu, unsigned i);
void mm_set(CPU *cpu, unsigned i, uint64_t v); /* also sets the exponent bits to ones */

/* ops_sse.c: SSE, SSE2, SSE3, SSSE3 (the mandatory-prefix maps of decode.c).
 * The op_sse_<dst><src><memory size> handlers run the instruction on the host
 * (cpu/sse.h): x = XMM, m = MMX, g = general register; a = 16-byte aligned
 * memory (#GP(0) otherwise), u = unaligned, reg = register form only. */
OP(op_sse_xx128a);    /* xmm, xmm/m128 */
OP(op_sse_xx128u);    /* MOVUPS/MOVUPD/MOVDQU loads */
OP(op_sse_xx64);      /* xmm, xmm/m64 (scalar double, CVTPS2PD, MOVQ, MOVDDUP) */
OP(op_sse_xx32);      /* xmm, xmm/m32 (scalar single) */
OP(op_sse_xg32);      /* xmm, r/m32 (CVTSI2SS/SD, MOVD) */
OP(op_sse_xg16);      /* xmm, r32/m16, imm8 (PINSRW) */
OP(op_sse_gx32);      /* r32, xmm/m32 (CVT(T)SS2SI) */
OP(op_sse_gx64);      /* r32, xmm/m64 (CVT(T)SD2SI) */
OP(op_sse_gxreg);     /* r32, xmm (MOVMSKPS/PD, PMOVMSKB, PEXTRW) */
OP(op_sse_xm64);      /* xmm, mm/m64 (CVTPI2PS/PD) */
OP(op_sse_xmreg);     /* xmm, mm (MOVQ2DQ) */
OP(op_sse_mx64);      /* mm, xmm/m64 (CVT(T)PS2PI) */
OP(op_sse_mx128a);    /* mm, xmm/m128 (CVT(T)PD2PI) */
OP(op_sse_mxreg);     /* mm, xmm (MOVDQ2Q) */
OP(op_sse_mm64);      /* mm, mm/m64 (SSE integer on MMX, PADDQ, SSSE3) */
OP(op_sse_mg16);      /* mm, r32/m16, imm8 (PINSRW) */
OP(op_sse_gmreg);     /* r32, mm (PEXTRW, PMOVMSKB) */
OP(op_sse_lddqu);     /* F2 0F F0: xmm, m128 (memory only, unaligned) */
OP(op_sse_shift_imm); /* 66 0F 71-73 /n ib: xmm by imm8 */
OP(op_sse_movs_load); /* F3/F2 0F 10: MOVSS, MOVSD xmm, xmm/m */
OP(op_sse_movlh_load); /* 0F 12, 0F 16 (MOVLPS/MOVHLPS, MOVHPS/MOVLHPS), 66 0F 12, 16 */
OP(op_sse_store);     /* xmm/m, xmm: 0F 11, 13, 17, 29, 2B, 7E, 7F, D6, E7 */
OP(op_movntq);        /* 0F E7: m64, mm */
OP(op_maskmov);       /* 0F F7 MASKMOVQ, 66 0F F7 MASKMOVDQU */
OP(op_movnti);        /* 0F C3 */
OP(op_ldmxcsr);       /* 0F AE /2 */
OP(op_stmxcsr);       /* 0F AE /3 */
OP(op_fence);         /* 0F AE /5 /6 /7: LFENCE, MFENCE, SFENCE; /7 memory: CLFLUSH */

/* ops_sys.c: system and I/O instructions. */
OP(op_in);            /* E4,E5 (imm8 port), EC,ED (DX) */
OP(op_out);           /* E6,E7, EE,EF */
OP(op_hlt);           /* F4 */
OP(op_cli);           /* FA */
OP(op_sti);           /* FB */
OP(op_pushf);         /* 9C */
OP(op_popf);          /* 9D */
OP(op_sldt);          /* 0F 00 /0 */
OP(op_str);           /* 0F 00 /1 */
OP(op_lldt);          /* 0F 00 /2 */
OP(op_ltr);           /* 0F 00 /3 */
OP(op_verr);          /* 0F 00 /4 */
OP(op_verw);          /* 0F 00 /5 */
OP(op_sgdt);          /* 0F 01 /0 */
OP(op_sidt);          /* 0F 01 /1 */
OP(op_lgdt);          /* 0F 01 /2 */
OP(op_lidt);          /* 0F 01 /3 */
OP(op_smsw);          /* 0F 01 /4 */
OP(op_lmsw);          /* 0F 01 /6 */
OP(op_invlpg);        /* 0F 01 /7 */
OP(op_vmcall);        /* 0F 01 C1 VMCALL, 0F 01 D9 VMMCALL */
OP(op_lar);           /* 0F 02 */
OP(op_lsl);           /* 0F 03 */
OP(op_clts);          /* 0F 06 */
OP(op_invd);          /* 0F 08 invd, 0F 09 wbinvd */
OP(op_mov_r_cr);      /* 0F 20 */
OP(op_mov_r_dr);      /* 0F 21 */
OP(op_mov_cr_r);      /* 0F 22 */
OP(op_mov_dr_r);      /* 0F 23 */
OP(op_wrmsr);         /* 0F 30 */
OP(op_rdtsc);         /* 0F 31 */
OP(op_rdmsr);         /* 0F 32 */
OP(op_rdpmc);         /* 0F 33 */
OP(op_sysenter);      /* 0F 34 */
OP(op_sysexit);       /* 0F 35 */
OP(op_cpuid);         /* 0F A2 */
OP(op_arpl);          /* 63 */

#undef OP
#endif
