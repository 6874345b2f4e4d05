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
 * Each entry also states facts about its instruction (InsnFacts, below),
 * which the decoder copies into the Insn: what kind of control transfer it
 * is, which ALU operation, which segment register it loads, how it treats
 * the arithmetic flags, and how it bounds a translation block. The
 * interpreter loop, the TB builder and the translators read these instead
 * of testing opcode numbers, so each fact has one home: the table. A group
 * opcode's facts come from its group-table row (they differ by ModRM.reg).
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

/* For an instruction of the mandatory-prefix maps (SSE, decode.c), rep
 * holds the prefix that selected it: PFX_NONE, PFX_F3 (= REP_E), PFX_F2
 * (= REP_NE) or PFX_66. */
#define PFX_NONE 0
#define PFX_F3   1
#define PFX_F2   2
#define PFX_66   3

#define EA_NOREG 0xFF

/* The eight ALU operations in the order of ModRM.reg in group 1 and of
 * opcode bits 3-5 in rows 00-3F, then TEST (84, 85, A8, A9, F6/F7 /0),
 * which is AND without a result. */
typedef enum AluKind {
    ALU_ADD,
    ALU_OR,
    ALU_ADC,
    ALU_SBB,
    ALU_AND,
    ALU_SUB,
    ALU_XOR,
    ALU_CMP,
    ALU_TEST,
    ALU_NONE, /* not one of these */
} AluKind;

/* The control transfer an instruction makes. BR_JCC up to BR_RET are the
 * near ones: they change only EIP, ESP and memory (tb.h's plain branches). */
typedef enum BranchKind {
    BR_NONE,
    BR_JCC,      /* Jcc rel8/rel32 (70-7F, 0F 80-8F) */
    BR_LOOP,     /* LOOPNE, LOOPE, LOOP, JCXZ (E0-E3) */
    BR_JMP,      /* JMP rel (E9, EB) */
    BR_CALL,     /* CALL rel (E8) */
    BR_JMP_IND,  /* JMP r/m (FF /4) */
    BR_CALL_IND, /* CALL r/m (FF /2) */
    BR_RET,      /* RET near (C2, C3) */
    BR_FAR,      /* JMP/CALL far, RET far, IRET, SYSENTER, SYSEXIT: CS changes */
    BR_INT,      /* software interrupts: INT3, INT n, INTO, INT1 (CC, CD, CE, F1) */
} BranchKind;

/* The segment register an explicit segment load writes (MOV Sreg, POP
 * Sreg, LDS/LES/LFS/LGS/LSS): SL_NONE, or the register's SEG_* + 1. Far
 * transfers (BR_FAR, BR_INT) load CS and more, and are not marked here. */
typedef enum SegLoad { SL_NONE, SL_ES, SL_CS, SL_SS, SL_DS, SL_FS, SL_GS } SegLoad;

/* How an instruction treats the six arithmetic flags (CF PF AF ZF SF OF)
 * when it completes (an exception it raises sees them all): a write kind
 * (AFX_WRITES) and the AFX_READS bit. For a string instruction the effect is
 * one iteration's (under REP it may run none); an entry for a family
 * (the x87 escapes) states what any of its members may do. */
enum {
    AFX_NONE = 0,   /* writes none of them */
    AFX_SOME = 1,   /* may write some (or, by operands, all): earlier values may survive */
    AFX_ALL = 2,    /* writes all six (the SDM's "undefined" ones too): earlier values are dead */
    AFX_COUNT = 3,  /* shifts by imm8 or CL: all six if the masked count is not 0, else none */
    AFX_WRITES = 3, /* mask of the write kind */
    AFX_READS = 4,  /* reads some of them (Jcc, ADC, PUSHF, ...) */
};

/* How an instruction the table marks as ending a translation block (the
 * Insn's ends_block) bounds it after all. */
typedef enum BlockFact {
    BLK_NONE,    /* ends_block alone says whether the block ends after it */
    BLK_GOES_ON, /* ends_block, but a block may run through it (tb.h) */
    BLK_STI,     /* STI: the block ends after the next instruction, which its
                    interrupt shadow covers; that shadow holds back interrupts only */
} BlockFact;

/* What a virtual machine monitor has to do about an instruction (the
 * privileged and the sensitive ones: Popek and Goldberg, Robin and
 * Irvine): what the virtualization lab's models read (src/vmm/). MOV
 * to/from CRn is one fact for all n (ModRM.reg says which). */
typedef enum SysKind {
    SYS_NONE,
    SYS_CLI_STI,    /* CLI, STI */
    SYS_FLAGS,      /* PUSHF, POPF: IF and IOPL */
    SYS_CR_READ,    /* MOV r32, CRn */
    SYS_CR_WRITE,   /* MOV CRn, r32; CLTS; LMSW */
    SYS_SREG_READ,  /* PUSH Sreg, MOV r/m, Sreg: shows RPL */
    SYS_SREG_LOAD,  /* POP Sreg, MOV Sreg, r/m */
    SYS_TABLE_READ, /* SGDT, SIDT, SLDT, STR, SMSW */
    SYS_DESC_LOAD,  /* LGDT, LIDT, LLDT, LTR */
    SYS_SEG_CHECK,  /* LAR, LSL, VERR, VERW */
    SYS_IO,         /* IN, OUT, INS, OUTS */
    SYS_HLT,
    SYS_INVLPG,
    SYS_DR,  /* MOV to/from DRn */
    SYS_MSR, /* RDMSR, WRMSR */
    SYS_CPUID,
    SYS_CACHE, /* INVD, WBINVD */
    SYS_IRET,
    SYS_FAR, /* far CALL/JMP/RET */
    SYS_INT, /* INT n, INT3, INTO, INT1, SYSENTER */
    SYS_SYSEXIT,
    SYS_VMCALL, /* VMCALL, VMMCALL: hypercalls (-vmm pv), else #UD */
} SysKind;

/* The facts one table entry states (decode.c), copied whole into the
 * Insn: 32 bits, one copy. */
typedef struct InsnFacts {
    uint16_t branch : 4; /* BranchKind */
    uint16_t alu : 4;    /* AluKind */
    uint16_t sreg : 3;   /* SegLoad */
    uint16_t flags : 3;  /* AFX_* */
    uint16_t block : 2;  /* BlockFact */
    uint16_t sys : 5;    /* SysKind */
} InsnFacts;
_Static_assert(sizeof(InsnFacts) == 4, "InsnFacts: one 32-bit copy");

struct Insn {
    OpFn fn;                /* emulation-core handler */
    const char *name;       /* mnemonic from the table (for traces and statistics) */
    uint16_t op;            /* 0x000-0x0FF: one-byte opcode; 0x100-0x1FF: 0F xx;
                               0x200-0x2FF: 0F 38 xx; 0x300-0x3FF: 0F 3A xx */
    InsnFacts facts;        /* the table entry's facts */
    uint8_t len;            /* total length in bytes, prefixes included (1..15) */
    uint8_t size;           /* operand size in bytes for this instruction: 1, 2 or 4 */
    uint8_t osize;          /* operand-size attribute: 2 or 4 */
    uint8_t asize;          /* address-size attribute: 2 or 4 */
    uint8_t seg;            /* segment of the memory operand (default or override) */
    uint8_t rep;            /* REP_NONE / REP_E / REP_NE; PFX_* for the SSE maps */
    uint8_t lock : 1;       /* LOCK prefix present (already validated) */
    uint8_t ends_block : 1; /* the table's D_END: a translation block ends after this instruction */
    uint8_t is_mem : 1;     /* has a ModRM byte with mod != 3, or a memory offset (A0-A3) */
    uint8_t modrm;          /* raw ModRM byte (0 without one) */
    uint8_t mod, reg, rm;
    uint8_t ea_base;  /* base register or EA_NOREG */
    uint8_t ea_index; /* index register or EA_NOREG */
    uint8_t ea_scale; /* shift 0..3 */
    uint32_t disp;
    uint32_t imm;  /* first immediate (sign-extended where the table says so) */
    uint32_t imm2; /* second immediate: selector of a far pointer; ENTER's level */
};

/* TBs hold arrays of decoded instructions: keep them within 48 bytes. */
_Static_assert(sizeof(Insn) <= 48, "Insn grew");

/* Decode the instruction at cs:eip. Raises #GP (15-byte limit, CS limit),
 * #PF (fetch) and #UD (undefined opcode, invalid LOCK) through cpu_raise. */
void decode_insn(struct CPU *cpu, uint32_t eip, Insn *in);

#endif
