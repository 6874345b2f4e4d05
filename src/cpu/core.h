/*
 * core.h - the emulation core's internal API, shared by every instruction
 * handler (ops_*.c), the system code (seg.c, except.c) and the translators.
 *
 * Conventions:
 *  - Handlers run with cpu->eip = start of the instruction and
 *    cpu->next_eip = start + length. A control transfer writes next_eip;
 *    the run loop commits eip = next_eip after the handler returns.
 *  - Faults: cpu_raise(cpu, vector, error_code) never returns; it unwinds to
 *    the run loop, which delivers the exception with eip still at the start
 *    of the faulting instruction. Handlers therefore do every check that can
 *    fault BEFORE changing architectural state (or restore it), so a faulting
 *    instruction leaves registers as they were (string instructions commit
 *    per iteration, as hardware does).
 *  - Sizes are in bytes: 1, 2 or 4.
 *  - Arithmetic flags are lazy (cpu->lf); set them with lf_set() and read
 *    them with flags_arith()/cpu_cond()/cpu_cf().
 */
#ifndef BT86_CORE_H
#define BT86_CORE_H

#include <stdnoreturn.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

/* ---------------- exceptions (except.c) ---------------- */

/* Raise exception `vector` with `error_code` (-1 for none). Never returns. */
noreturn void cpu_raise(CPU *cpu, int vector, int error_code);
static inline noreturn void cpu_ud(CPU *cpu) {
    cpu_raise(cpu, EXC_UD, -1);
}
static inline noreturn void cpu_gp0(CPU *cpu) {
    cpu_raise(cpu, EXC_GP, 0);
}

/* Kinds of event for cpu_deliver. */
typedef enum IntKind {
    INT_EXCEPTION, /* fault/trap raised by the CPU (error code as given) */
    INT_HARDWARE,  /* external interrupt (INTR) or NMI */
    INT_SOFTWARE,  /* INT n: gate DPL checked, V86 IOPL/VME rules */
    INT_SOFT_EXC,  /* INT3 / INTO: gate DPL checked, no V86 IOPL redirection */
    INT_ICEBP,     /* INT1 (F1): like a hardware #DB, no DPL check */
} IntKind;

/* Deliver an interrupt/exception through the IVT (real mode) or IDT
 * (protected/V86: interrupt, trap and task gates, privilege and stack
 * switches, V86 exits). The return address pushed is cpu->eip for
 * INT_EXCEPTION and INT_HARDWARE (the run loop has already set eip to the
 * faulting instruction, or to the next one for traps and interrupts) and
 * cpu->next_eip for INT_SOFTWARE, INT_SOFT_EXC and INT_ICEBP. On return the
 * handler's address is in both cpu->eip and cpu->next_eip. error_code -1
 * means none is pushed (never pushed in real mode). A fault during delivery
 * is raised with cpu_raise; the run loop turns nested faults into #DF or a
 * triple fault. */
void cpu_deliver(CPU *cpu, int vector, int error_code, IntKind kind);

/* Task switch to the TSS named by sel (reason: TS_JMP, TS_CALL, TS_IRET, TS_INT). */
enum { TS_JMP, TS_CALL, TS_IRET, TS_INT };
void cpu_task_switch(CPU *cpu, uint16_t sel, int reason, int error_code);

/* ---------------- segments and far transfers (seg.c) ---------------- */

/* Read the 8-byte descriptor for selector sel from the GDT/LDT. Returns false
 * if sel is outside the table limit (caller raises the right exception). */
bool desc_read(CPU *cpu, uint16_t sel, uint32_t *lo, uint32_t *hi);
/* Fill a SegReg's cache from a raw descriptor. */
void desc_to_seg(SegReg *s, uint16_t sel, uint32_t lo, uint32_t hi);
/* Load sreg with sel as MOV/POP/LxS do in the current mode (real/V86:
 * base = sel<<4; protected: all checks, #GP/#SS/#NP with selector error codes,
 * sets the accessed bit). Loading SS sets the interrupt shadow. */
void seg_load(CPU *cpu, int sreg, uint16_t sel);
/* Far JMP / CALL / RET / IRET in every mode (call gates, task gates, TSS,
 * privilege changes with stack switch). osize is the operand size (2 or 4).
 * They are called from handlers: the new EIP goes to cpu->next_eip (which
 * the run loop commits); CS, SS, ESP, EFLAGS and CPL change directly, and
 * only after every check that can fault has passed. */
void cpu_jmp_far(CPU *cpu, uint16_t sel, uint32_t off);
void cpu_call_far(CPU *cpu, uint16_t sel, uint32_t off, unsigned osize);
void cpu_ret_far(CPU *cpu, unsigned osize, uint16_t pop_bytes);
void cpu_iret(CPU *cpu, unsigned osize);

/* ---------------- control registers and I/O (ops_sys.c) ---------------- */

/* Set CR0/CR3/CR4 with all side effects (mode changes, TLB flushes). */
void cpu_set_cr0(CPU *cpu, uint32_t val);
void cpu_set_cr3(CPU *cpu, uint32_t val);
void cpu_set_cr4(CPU *cpu, uint32_t val);
/* Check IOPL and the TSS I/O permission bitmap for `size` ports at `port`;
 * raises #GP(0) if the access is not allowed. */
void io_check(CPU *cpu, uint16_t port, unsigned size);
uint32_t io_in(CPU *cpu, uint16_t port, unsigned size);
void io_out(CPU *cpu, uint16_t port, unsigned size, uint32_t val);

/* ---------------- memory (mem.c) ---------------- */

/* Access kinds for the memory helpers. ACC_SYS marks an implicit supervisor
 * access (descriptor tables, TSS, IDT) that ignores CPL for paging. */
#define ACC_R   0
#define ACC_W   1
#define ACC_X   2
#define ACC_SYS 4

/* Segment check (limit, type, presence) and translation to a linear address.
 * Raises #GP(0) or #SS(0) (for SS) on violation. */
uint32_t seg_lin(CPU *cpu, int sreg, uint32_t off, unsigned size, int acc);
/* Linear-address accesses through paging and the TLB; raise #PF. Accesses
 * that cross a page are checked on both pages before any byte is written. */
uint32_t lin_read(CPU *cpu, uint32_t lin, unsigned size, int acc);
void lin_write(CPU *cpu, uint32_t lin, unsigned size, uint32_t val, int acc);
/* Probe that lin..lin+size-1 is writable (raises #PF if not), without writing. */
void lin_probe_write(CPU *cpu, uint32_t lin, unsigned size, int acc);
/* lin_probe_write, then the alignment check a read of the same bytes makes
 * (#AC); returns a host pointer to the bytes when they are plain RAM inside
 * one page that may be written directly (not MMIO, not translated code),
 * else NULL (use lin_read/lin_write). */
uint8_t *lin_rmw_ptr(CPU *cpu, uint32_t lin, unsigned size, int acc);
/* For bulk accesses (REP MOVS/STOS): whether [off, off + len) of segment
 * sreg is certainly accessible (never raises: false means "take the
 * element-by-element path, which raises what is due"), and a host pointer
 * to len bytes at lin within one page of plain RAM, readable (or writable
 * with ACC_W), translating on a TLB miss (#PF as for the first byte); NULL
 * when not directly accessible. */
bool seg_range_ok(const CPU *cpu, int sreg, uint32_t off, uint32_t len, int acc);
uint8_t *lin_host_range(CPU *cpu, uint32_t lin, uint32_t len, int acc);
uint64_t lin_read64(CPU *cpu, uint32_t lin, int acc);
void lin_write64(CPU *cpu, uint32_t lin, uint64_t val, int acc);
/* Segmented data accesses: seg_lin + lin_read/lin_write. */
uint32_t mem_read(CPU *cpu, int sreg, uint32_t off, unsigned size);
void mem_write(CPU *cpu, int sreg, uint32_t off, unsigned size, uint32_t val);
/* Instruction fetch of one byte at cs:eip (decoder). */
uint8_t fetch_byte(CPU *cpu, uint32_t eip);

/* ---------------- registers ---------------- */

static inline uint32_t size_mask(unsigned size) {
    return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
}
static inline uint32_t size_sign(unsigned size) {
    return 1u << (size * 8 - 1);
}
static inline uint32_t sext(uint32_t v, unsigned size) {
    return size == 1 ? (uint32_t)(int32_t)(int8_t)v : size == 2 ? (uint32_t)(int32_t)(int16_t)v : v;
}

/* Register r of the given size. For size 1, r 4..7 are AH, CH, DH, BH. */
static inline uint32_t reg_read(const CPU *cpu, int r, unsigned size) {
    if (size == 4) return cpu->regs[r];
    if (size == 2) return cpu->regs[r] & 0xFFFF;
    return r < 4 ? cpu->regs[r] & 0xFF : (cpu->regs[r - 4] >> 8) & 0xFF;
}
static inline void reg_write(CPU *cpu, int r, unsigned size, uint32_t v) {
    if (size == 4)
        cpu->regs[r] = v;
    else if (size == 2)
        cpu->regs[r] = (cpu->regs[r] & 0xFFFF0000u) | (v & 0xFFFF);
    else if (r < 4)
        cpu->regs[r] = (cpu->regs[r] & 0xFFFFFF00u) | (v & 0xFF);
    else
        cpu->regs[r - 4] = (cpu->regs[r - 4] & 0xFFFF00FFu) | ((v & 0xFF) << 8);
}

/* ---------------- operands of a decoded instruction (operand.c) ---------------- */

/* Effective offset of the memory operand (masked to the address size). */
uint32_t insn_ea(const CPU *cpu, const Insn *in);
/* Read/write the ModRM r/m operand (register or memory) of `size` bytes. */
uint32_t rm_read(CPU *cpu, const Insn *in, unsigned size);
void rm_write(CPU *cpu, const Insn *in, unsigned size, uint32_t val);

/* Read-modify-write access to the r/m operand: rm_ref checks the segment and
 * page for writing first (so a fault leaves memory and registers untouched),
 * ref_read/ref_write then cannot fault on the segment. */
typedef struct RmRef {
    bool mem;
    int reg;       /* register number if !mem */
    uint32_t lin;  /* linear address if mem */
    uint8_t *host; /* if mem and directly accessible: the bytes (lin_rmw_ptr) */
} RmRef;
RmRef rm_ref(CPU *cpu, const Insn *in, unsigned size);
uint32_t ref_read(CPU *cpu, const RmRef *r, unsigned size);
void ref_write(CPU *cpu, const RmRef *r, unsigned size, uint32_t val);

/* ---------------- stack (operand.c) ---------------- */

/* SP or ESP according to SS.B. */
static inline uint32_t stack_mask(const CPU *cpu) {
    return cpu_stack32(cpu) ? 0xFFFFFFFFu : 0xFFFFu;
}
void push(CPU *cpu, unsigned size, uint32_t val);
uint32_t pop(CPU *cpu, unsigned size);
/* Read the stack at ESP + offset (no ESP change), for multi-pop instructions
 * that must check everything before committing. */
uint32_t stack_peek(CPU *cpu, uint32_t offset, unsigned size);
/* ESP after adding delta to (E)SP with the stack size (SS.B) in force now:
 * a 16-bit stack wraps SP and leaves ESP's upper half alone. */
static inline uint32_t sp_plus(const CPU *cpu, uint32_t delta) {
    uint32_t m = stack_mask(cpu);
    return (cpu->regs[R_ESP] & ~m) | ((cpu->regs[R_ESP] + delta) & m);
}
/* Add delta to (E)SP respecting the stack size. */
static inline void sp_add(CPU *cpu, uint32_t delta) {
    cpu->regs[R_ESP] = sp_plus(cpu, delta);
}

/* ---------------- lazy flags (flags.c) ---------------- */

static inline void lf_set(CPU *cpu, CcOp op, unsigned size, uint32_t res, uint32_t a, uint32_t b) {
    cpu->lf.op = op;
    cpu->lf.size = (uint8_t)size;
    cpu->lf.res = res & size_mask(size);
    cpu->lf.a = a;
    cpu->lf.b = b;
}
/* The six arithmetic flags (FL_ARITH bits) of the last flag-setting operation. */
uint32_t flags_arith(CPU *cpu);
/* Make the arithmetic flags concrete in cpu->eflags (lf.op becomes CC_EFLAGS). */
void flags_materialize(CPU *cpu);
/* Replace the arithmetic flags selected by mask with those in val. */
void flags_set_arith(CPU *cpu, uint32_t val, uint32_t mask);
bool cpu_cf(CPU *cpu);
/* Condition code cc (0..15, the low nibble of Jcc/SETcc/CMOVcc). */
bool cpu_cond(CPU *cpu, int cc);
extern const uint8_t parity_table[256]; /* FL_PF for a byte value */

/* ---------------- x87 (ops_fpu.c) ---------------- */

/* FNINIT state. */
void fpu_reset(CPU *cpu);
/* The status word with TOP folded in. */
uint16_t fpu_status_word(const CPU *cpu);
/* What a waiting x87 (or MMX) instruction does first: with an unmasked
 * exception pending (ES set), #MF when CR0.NE = 1, else assert FERR#. */
void fpu_check_pending(CPU *cpu);
/* FLD/FST/FSTP m32fp/m64fp on operand bytes already found (dbt/jit): see ops_fpu.c. */
bool fpu_mem_fast(CPU *cpu, const Insn *in, uint32_t ea, uint8_t *host);

/* ---------------- run loop (exec.c) ---------------- */

/* Execute one decoded instruction with the run loop's bookkeeping. */
void exec_insn(CPU *cpu, const Insn *in);
/* Debug-register breakpoint check for data accesses (called by mem.c when DR7 is armed). */
void debug_check_data(CPU *cpu, uint32_t lin, unsigned size, bool write);
/* True when any DR7 data breakpoint is enabled (fast check for mem.c). */
static inline bool debug_data_armed(const CPU *cpu) {
    return (cpu->dr[7] & 0xFF) != 0;
}

/* ---------------- a debugger's breakpoints and watchpoints (debug.c) ---------------- */

/* Whether the instruction at CS:EIP must not run because a breakpoint is
 * there (records the stop); cpu_run asks when cpu->debug.nbreak. */
bool cpu_debug_break_here(CPU *cpu);
/* A data access on the memory slow path while watchpoints are set: record
 * a hit and ask the run loop to stop after this instruction. */
void cpu_debug_watch_access(CPU *cpu, uint32_t lin, unsigned size, bool write);
static inline void debug_watch(CPU *cpu, uint32_t lin, unsigned size, bool write) {
    if (cpu->debug.nwatch) cpu_debug_watch_access(cpu, lin, size, write);
}

#endif
