/*
 * diff.h - shared pieces of bt86-diff (see diff.c): random numbers, the
 * compared state, the undefined-flag mask table, the two oracles and the
 * bt86 side that runs the same code.
 */
#ifndef BT86_DIFF_H
#define BT86_DIFF_H

#include <stdbool.h>
#include <stdint.h>

typedef struct Rng {
    uint64_t s;
} Rng;
uint64_t rng_next(Rng *r);
uint32_t rng_range(Rng *r, uint32_t n);
uint32_t rng_value(Rng *r);

typedef struct DiffState {
    uint32_t regs[8]; /* eax ecx edx ebx esp ebp esi edi */
    uint32_t eflags;
} DiffState;

#define FLAG_CF  0x001u
#define FLAG_PF  0x004u
#define FLAG_AF  0x010u
#define FLAG_ZF  0x040u
#define FLAG_SF  0x080u
#define FLAG_DF  0x400u
#define FLAG_OF  0x800u
#define FLAG_ALL (FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF)

/* Flag classes: which arithmetic flags the SDM leaves undefined. */
enum {
    FC_NONE,
    FC_LOGIC,
    FC_MUL,
    FC_DIV,
    FC_SHIFT1,
    FC_SHIFTN,
    FC_ROTN,
    FC_DSHIFT1,
    FC_DSHIFTN,
    FC_BT,
    FC_BSF,
    FC_BCD_ADJ,
    FC_ASCII,
    FC_AAM,
    FC_COUNT
};
typedef struct FlagMaskRow {
    uint32_t mask;
    const char *reason;
} FlagMaskRow;
extern const FlagMaskRow flag_masks[FC_COUNT];

typedef struct DiffResult {
    unsigned long long passed, failed, instructions;
    unsigned long long masked[FC_COUNT]; /* tests where a mask hid a real difference */
} DiffResult;

#define DIFF_OK   0
#define DIFF_SKIP 77

/* Generate one register-form instruction valid in 32- and 64-bit mode;
 * may adjust *s (e.g. so a division does not fault). Returns its length. */
int gen_host_insn(Rng *r, DiffState *s, uint8_t *bytes, int *flag_class);

int run_host_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                    DiffResult *res);
int run_unicorn_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                       DiffResult *res);
int run_x87_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                   DiffResult *res);
int run_mmx_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                   DiffResult *res);
int run_sse_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                   DiffResult *res);
/* When set (by the x87-soft oracle), each x87 divergence is bisected to its
 * first instruction and passed here with the FNSAVE images before it and
 * after it on both sides; true means an allowed (counted) difference. */
/* Whether run_x87_oracle runs half its sequences with exceptions unmasked
 * (default true). */
extern bool x87_unmasked_sequences;
extern bool (*x87_divergence_allowed)(const uint8_t *insn, int len, const uint8_t *before,
                                      const uint8_t *host, const uint8_t *bt86);
int run_x87_soft_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                        DiffResult *res);

/* The bt86 side: flat 32-bit protected mode at CPL 0; code at BT86_CODE,
 * a data area at BT86_DATA (BT86_DATA_SIZE bytes), a stack below BT86_STACK_TOP. */
#define BT86_CODE      0x20000u
#define BT86_DATA      0x40000u
#define BT86_DATA_SIZE 0x2000u
#define BT86_STACK_TOP 0x60000u
void bt86_side_init(void);
/* Set CR4.OSFXSR and CR4.OSXMMEXCPT (SSE enabled, #XM for SIMD exceptions). */
void bt86_side_enable_sse(void);
/* Run code (followed by HLT) from state *s; on return *s holds the final
 * state. Returns false if it did not end at the HLT after the code (fault). */
bool bt86_side_run(const uint8_t *code, int len, DiffState *s, int max_steps);
void bt86_side_poke(uint32_t addr, const uint8_t *data, uint32_t len);
void bt86_side_peek(uint32_t addr, uint8_t *data, uint32_t len);
/* Vector of the last exception bt86 delivered in bt86_side_run, or -1. */
int bt86_side_last_exception(void);

void print_code(const uint8_t *code, int len);
void print_state(const char *label, const DiffState *s);

#endif
