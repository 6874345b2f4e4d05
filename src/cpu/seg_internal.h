/*
 * seg_internal.h - helpers shared by seg.c (segment loads, far transfers)
 * and except.c (interrupt delivery, task switches). Not for handlers: they
 * use seg_load() and the cpu_*_far() entry points in core.h.
 */
#ifndef BT86_SEG_INTERNAL_H
#define BT86_SEG_INTERNAL_H

#include "cpu/core.h"

/* Raise `vector` with a selector error code (RPL bits cleared, EXT bit if ext). */
noreturn void raise_sel(CPU *cpu, int vector, uint16_t sel, int ext);
/* Effective byte limit of a raw descriptor. */
uint32_t desc_limit(uint32_t lo, uint32_t hi);
/* Set the accessed bit of the descriptor for sel in memory (and in *hi). */
void desc_set_accessed(CPU *cpu, uint16_t sel, uint32_t *hi);
/* Real-mode/V86 segment load (base = sel << 4). */
void seg_load_real(CPU *cpu, int sreg, uint16_t sel);
/* Protected-mode data segment load with the given fault vectors (#GP/#NP, or #TS/#NP in task switches). */
void seg_load_data_pm(CPU *cpu, int sreg, uint16_t sel, int vec_gp, int vec_np);
/* Check an SS selector for privilege level pl (faults: vec_gp with the selector, #SS if not present). */
void check_ss(CPU *cpu, uint16_t sel, int pl, uint32_t *lo, uint32_t *hi, int vec_gp, int ext);
/* Load CS from a checked descriptor with RPL = cpl, and set the CPL. */
void load_cs(CPU *cpu, uint16_t sel, uint32_t lo, uint32_t hi, int cpl);
/* SS:ESP for privilege level pl from the current TSS (#TS if outside it). */
void tss_stack(CPU *cpu, int pl, uint16_t *ss, uint32_t *esp, int ext);
/* Push n values (vals[0] first, so it ends up highest) on the stack `ss`
 * at *esp after checking every slot (#SS(err) on a limit violation, #PF);
 * updates *esp only when all writes are done. */
void frame_push(CPU *cpu, const SegReg *ss, uint32_t *esp, const uint32_t *vals, int n,
                unsigned size, int acc, int err);

#endif
