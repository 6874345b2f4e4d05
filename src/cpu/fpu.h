/*
 * fpu.h - the x87 floating-point unit: architectural state and the backend
 * that computes.
 *
 * The emulation core (ops_fpu.c) keeps the register stack (eight 80-bit
 * registers, TOP, the tag word), the control and status words and the
 * last-instruction pointers, decodes D8-DF, and handles memory formats,
 * stack faults and exception signalling. Arithmetic goes through this
 * backend interface, one operation at a time, on 80-bit values.
 *
 * Backends (selected at build time with the CMake option BT86_FPU=host|soft,
 * and at run time with the environment variable BT86_FPU=host|soft or
 * fpu_select_backend()):
 *  - "host" (fpu_host.c, x86 hosts only): the host's own x87 unit executes
 *    the very instruction under the guest's control word (precision,
 *    rounding and exception masks; the host never takes the exception) and
 *    reports the exception flags and condition codes it raised, so results
 *    are bit-exact with hardware, also the bias-adjusted results of
 *    unmasked overflow and underflow;
 *  - "soft" (fpu_soft.c, every host): the same operations in portable C on
 *    a 64-bit significand and a 16-bit sign/exponent, with the x87's
 *    rounding, precision control, NaN and operand-class rules; bit-exact
 *    with the host x87 except for the last bit of some transcendental
 *    results (see fpu_soft.c).
 * The entry points below keep their historical fpu_host_ names: they
 * dispatch to the selected backend (fpu_backend.c), so ops_fpu.c does not
 * care which one computes. A backend is a table of these functions
 * (FpuBackend); the only interface additions are that table,
 * fpu_select_backend() and fpu_backend_name().
 *
 * Use (from ops_fpu.c):
 *     F80 r; uint16_t sw = fpu_host_op(FOP_ADD, cw, sw, &a, &b, &r, NULL, NULL);
 */
#ifndef BT86_FPU_H
#define BT86_FPU_H

#include <stdbool.h>
#include <stdint.h>

/* An 80-bit extended-precision value in memory layout: 64-bit significand
 * (little endian) then sign and 15-bit exponent. */
typedef struct F80 {
    uint64_t mant;
    uint16_t se;
} F80;

typedef struct Fpu {
    F80 regs[8];   /* physical registers; ST(i) is regs[(top + i) & 7] */
    uint16_t cw;   /* control word */
    uint16_t sw;   /* status word without TOP (bits 11-13 come from top) */
    uint16_t tw;   /* full tag word: 2 bits per physical register, 3 = empty */
    unsigned top;
    uint16_t fop;  /* last opcode (11 bits) */
    uint32_t fip, fdp;
    uint16_t fcs, fds;
} Fpu;

/* Status word bits. */
#define FSW_IE 0x0001
#define FSW_DE 0x0002
#define FSW_ZE 0x0004
#define FSW_OE 0x0008
#define FSW_UE 0x0010
#define FSW_PE 0x0020
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_C0 0x0100
#define FSW_C1 0x0200
#define FSW_C2 0x0400
#define FSW_C3 0x4000
#define FSW_B  0x8000
#define FSW_EXC 0x003F
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* Operations the backend executes. Binary ones take a = ST(0), b = the
 * other operand; two-result ones (FSINCOS, FPTAN, FXTRACT) return ST(0) in
 * r and the value below it in r2. */
typedef enum FpuOp {
    FOP_ADD, FOP_SUB, FOP_SUBR, FOP_MUL, FOP_DIV, FOP_DIVR,
    FOP_PREM, FOP_PREM1, FOP_SCALE, FOP_PATAN, FOP_YL2X, FOP_YL2XP1,
    FOP_SQRT, FOP_RNDINT, FOP_SIN, FOP_COS, FOP_F2XM1,
    FOP_SINCOS, FOP_PTAN, FOP_XTRACT,
    FOP_COM, FOP_UCOM, FOP_TST, FOP_XAM, /* condition codes only */
    FOP_COMI, FOP_UCOMI,                 /* EFLAGS ZF/PF/CF in *eflags */
} FpuOp;

/* True when some backend can compute (always, since the soft backend is
 * portable; kept so callers need not change). */
bool fpu_backend_available(void);
/* Run op under control word cw, starting from the condition codes in sw;
 * returns the status word the host produced (exception flags, and C0-C3 as
 * the instruction set or left them, also when an unmasked exception stopped
 * it). For FOP_COMI/FOP_UCOMI, *eflags receives ZF, PF, CF. With OE or UE
 * unmasked in cw, *r is the bias-adjusted result (a register destination);
 * with IE, DE or ZE unmasked and raised, *r is meaningless. */
uint16_t fpu_host_op(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, const F80 *b, F80 *r, F80 *r2,
                     uint32_t *eflags);

/* Arithmetic rows with a memory operand (FADD m32fp, FIMUL m16int, ...),
 * executed with the operand in its own format: op is one of FOP_ADD, MUL,
 * COM, SUB, SUBR, DIV, DIVR; bits holds the operand (sign-extended ints). */
typedef enum FpuMemKind { FPU_M32FP, FPU_M64FP, FPU_M16INT, FPU_M32INT } FpuMemKind;
uint16_t fpu_host_op_mem(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, FpuMemKind kind,
                         uint64_t bits, F80 *r);

/* Conversions through the host x87 (exact where the format allows; rounding
 * per cw otherwise). Each returns the status word raised. */
uint16_t fpu_host_load32(uint16_t cw, uint32_t bits, F80 *r);      /* FLD m32fp */
uint16_t fpu_host_load64(uint16_t cw, uint64_t bits, F80 *r);      /* FLD m64fp */
uint16_t fpu_host_loadint(uint16_t cw, int64_t v, F80 *r);         /* FILD */
uint16_t fpu_host_store32(uint16_t cw, const F80 *a, uint32_t *bits);  /* FST m32fp */
uint16_t fpu_host_store64(uint16_t cw, const F80 *a, uint64_t *bits);  /* FST m64fp */
/* FIST with size 2, 4 or 8 bytes (truncate: FISTTP semantics not needed on P6). */
uint16_t fpu_host_storeint(uint16_t cw, const F80 *a, unsigned size, int64_t *v);
/* The constants FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (index 0-6 of D9 E8-EE). */
uint16_t fpu_host_const(uint16_t cw, unsigned which, F80 *r);

/* A backend: one function per entry point above, same meaning. */
typedef struct FpuBackend {
    const char *name; /* "host" or "soft" */
    uint16_t (*op)(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, const F80 *b, F80 *r, F80 *r2,
                   uint32_t *eflags);
    uint16_t (*op_mem)(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, FpuMemKind kind, uint64_t bits,
                       F80 *r);
    uint16_t (*load32)(uint16_t cw, uint32_t bits, F80 *r);
    uint16_t (*load64)(uint16_t cw, uint64_t bits, F80 *r);
    uint16_t (*loadint)(uint16_t cw, int64_t v, F80 *r);
    uint16_t (*store32)(uint16_t cw, const F80 *a, uint32_t *bits);
    uint16_t (*store64)(uint16_t cw, const F80 *a, uint64_t *bits);
    uint16_t (*storeint)(uint16_t cw, const F80 *a, unsigned size, int64_t *v);
    uint16_t (*constant)(uint16_t cw, unsigned which, F80 *r);
} FpuBackend;

extern const FpuBackend fpu_backend_soft;
#if defined(__x86_64__) || defined(__i386__)
extern const FpuBackend fpu_backend_x87; /* the host x87 */
#endif

/* Select the backend by name ("host" or "soft"); false (and no change) if
 * this build or host has no such backend. Without a call, the first FPU
 * operation picks the one named by the environment variable BT86_FPU, else
 * the build default. */
bool fpu_select_backend(const char *name);
const FpuBackend *fpu_backend(void);
const char *fpu_backend_name(void);

#endif
