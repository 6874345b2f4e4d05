/*
 * insn.h - the decoder and its output, the decoded-instruction record.
 *
 * decode.c holds ONE table for the one-byte map and the 0F two-byte map
 * (indexed 0x000-0x1FF, laid out like the SDM's opcode maps) plus the group
 * tables selected by ModRM.reg. Each entry names the emulation-core handler
 * (OpFn) that implements the instruction and describes its operand bytes.
 * The decoder turns guest bytes into an Insn: prefixes, sizes, ModRM/SIB,
 * displacement, immediates, and the handler to run. The interpreter runs
 * in->fn(cpu, in); the translators consume the same record.
 *
 * Use:
 *     Insn in;
 *     decode_insn(cpu, cpu->eip, &in);   // may raise #PF/#GP/#UD
 *     in.fn(cpu, &in);
 */
#ifndef BT86_INSN_H
#define BT86_INSN_H

#include <stdint.h>

struct CPU;
typedef struct Insn Insn;
typedef void (*OpFn)(struct CPU *cpu, const Insn *in);

#define REP_NONE 0
#define REP_E    1 /* F3: REP / REPE / REPZ */
#define REP_NE   2 /* F2: REPNE / REPNZ */

#define EA_NOREG 0xFF

struct Insn {
    OpFn fn;           /* emulation-core handler */
    const char *name;  /* mnemonic from the table (for traces and statistics) */
    uint16_t op;       /* 0x000-0x0FF: one-byte opcode; 0x100-0x1FF: 0F xx */
    uint8_t len;       /* total length in bytes, prefixes included (1..15) */
    uint8_t size;      /* operand size in bytes for this instruction: 1, 2 or 4 */
    uint8_t osize;     /* operand-size attribute: 2 or 4 */
    uint8_t asize;     /* address-size attribute: 2 or 4 */
    uint8_t seg;       /* segment of the memory operand (default or override) */
    uint8_t seg_override; /* 1 if a segment-override prefix was present */
    uint8_t rep;       /* REP_NONE / REP_E / REP_NE */
    uint8_t lock;      /* LOCK prefix present (already validated) */
    uint8_t ends_block; /* the table's D_END: a translation block ends after this instruction */
    uint8_t modrm;     /* raw ModRM byte (valid if has_modrm) */
    uint8_t has_modrm;
    uint8_t mod, reg, rm;
    uint8_t is_mem;    /* has_modrm && mod != 3 */
    uint8_t ea_base;   /* base register or EA_NOREG */
    uint8_t ea_index;  /* index register or EA_NOREG */
    uint8_t ea_scale;  /* shift 0..3 */
    uint32_t disp;
    uint32_t imm;      /* first immediate (sign-extended where the table says so) */
    uint32_t imm2;     /* second immediate: selector of a far pointer; ENTER's level */
};

/* Decode the instruction at cs:eip. Raises #GP (15-byte limit, CS limit),
 * #PF (fetch) and #UD (undefined opcode, invalid LOCK) through cpu_raise. */
void decode_insn(struct CPU *cpu, uint32_t eip, Insn *in);

#endif
