/*
 * tb.h - the translation block, shared by the TB cache (dbt.c) and the
 * x86-64 code generator (jit_x86_64.c). Private to src/dbt/.
 */
#ifndef BT86_TB_H
#define BT86_TB_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/core.h"

#define NO_PAGE 0xFFFFFFFFu

/* TB flag bits (part of the key). */
#define TBF_CODE32    1u /* CS.D */
#define TBF_CPL_SHIFT 1  /* bits 1-2: CPL */
#define TBF_FLAT      8u /* DS, ES, SS: base 0, limit 4 GiB, present writable data; no #AC possible */

/* Host code of a block: runs its instructions as tb_exec does (see jit_x86_64.c). */
typedef void (*JitFn)(CPU *cpu);

typedef struct TB TB;
struct TB {
    /* key */
    uintptr_t host_pc; /* host address of the first guest byte */
    uint32_t eip, cs_base;
    uint32_t flags; /* TBF_* */
    /* extent */
    uint32_t size; /* guest bytes */
    uint32_t pa;   /* physical address of the first byte if in RAM, else NO_PAGE */
    TB *hash_next;
    TB *page_next; /* next TB on the same RAM page */
    TB *dead_next; /* graveyard list */
    /* chaining: the TB that followed on exit 0 (fall through) and 1 (other) */
    TB *link[2];
    uint64_t link_gen[2];
    uint32_t n;     /* instructions */
    JitFn jit;      /* host code for the block (jit engine), or NULL */
    uint32_t execs; /* executions before it was compiled */
    Insn insns[];
};

typedef struct Jit Jit;
/* The code generator, or NULL if this host cannot run it. */
Jit *jit_new(void);
void jit_free(Jit *j);
/* Forget all generated code (the TBs that used it are gone). */
void jit_reset(Jit *j);
/* Generate host code for tb; NULL if the code buffer is full. */
JitFn jit_compile(Jit *j, const TB *tb);
/* Bytes of generated code in use. */
size_t jit_used(const Jit *j);

#endif
