/*
 * diff_host.c - the host-CPU oracle (x86-64 hosts only): each instruction
 * runs natively inside a snippet assembled at run time:
 *     push rbx; push rbp; push r15; mov r15, rdi
 *     load eax..edi (not esp) from the state; push the flags; popfq
 *     <the instruction>
 *     pushfq; pop the flags into the state; store eax..edi
 *     pop r15; pop rbp; pop rbx; ret
 * The instruction cannot reach r15 (no REX prefixes are generated) or
 * RSP (ESP is never an operand).
 */
#include "diff.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <sys/mman.h>

typedef struct HostState {
    uint32_t regs[8];
    uint64_t rflags;
} HostState;

typedef void (*SnippetFn)(HostState *st);

static uint8_t *snippet;

static int build_snippet(const uint8_t *insn, int len) {
    static const uint8_t prologue[] = {
        0x53, 0x55, 0x41, 0x57, 0x49, 0x89, 0xFF,             /* push rbx; push rbp; push r15; mov r15,rdi */
        0x41, 0x8B, 0x07, 0x41, 0x8B, 0x4F, 0x04,             /* mov eax,[r15]; mov ecx,[r15+4] */
        0x41, 0x8B, 0x57, 0x08, 0x41, 0x8B, 0x5F, 0x0C,       /* edx, ebx */
        0x41, 0x8B, 0x6F, 0x14, 0x41, 0x8B, 0x77, 0x18,       /* ebp, esi */
        0x41, 0x8B, 0x7F, 0x1C,                               /* edi */
        0x41, 0xFF, 0x77, 0x20, 0x9D,                         /* push qword [r15+32]; popfq */
    };
    static const uint8_t epilogue[] = {
        0x9C, 0x41, 0x8F, 0x47, 0x20,                         /* pushfq; pop qword [r15+32] */
        0x41, 0x89, 0x07, 0x41, 0x89, 0x4F, 0x04,
        0x41, 0x89, 0x57, 0x08, 0x41, 0x89, 0x5F, 0x0C,
        0x41, 0x89, 0x6F, 0x14, 0x41, 0x89, 0x77, 0x18,
        0x41, 0x89, 0x7F, 0x1C,
        0x41, 0x5F, 0x5D, 0x5B, 0xC3,                         /* pop r15; pop rbp; pop rbx; ret */
    };
    int n = 0;
    memcpy(snippet, prologue, sizeof prologue);
    n += (int)sizeof prologue;
    memcpy(snippet + n, insn, (size_t)len);
    n += len;
    memcpy(snippet + n, epilogue, sizeof epilogue);
    return n + (int)sizeof epilogue;
}

int run_host_oracle(unsigned long long count, unsigned long long seed, bool verbose, DiffResult *res) {
    snippet = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (snippet == MAP_FAILED) {
        printf("diff-host: skipped: cannot map executable memory\n");
        return DIFF_SKIP;
    }
    bt86_side_init();
    Rng rng = {seed * 0x9E3779B97F4A7C15ULL + 1};
    for (unsigned long long t = 0; t < count; t++) {
        DiffState init;
        for (int i = 0; i < 8; i++) init.regs[i] = rng_value(&rng);
        init.regs[4] = BT86_STACK_TOP;
        init.eflags = (rng_range(&rng, 0x1000) & FLAG_ALL) | 0x2;
        uint8_t insn[16];
        int flag_class;
        int len = gen_host_insn(&rng, &init, insn, &flag_class);

        build_snippet(insn, len);
        HostState hs;
        memcpy(hs.regs, init.regs, sizeof hs.regs);
        hs.rflags = init.eflags | 0x202;
        ((SnippetFn)(void *)snippet)(&hs);
        DiffState want = init;
        memcpy(want.regs, hs.regs, sizeof want.regs);
        want.regs[4] = init.regs[4];
        want.eflags = (uint32_t)hs.rflags;

        DiffState got = init;
        bool ran = bt86_side_run(insn, len, &got, 8);
        res->instructions++;
        uint32_t mask = flag_masks[flag_class].mask;
        bool regs_ok = memcmp(want.regs, got.regs, sizeof want.regs) == 0;
        uint32_t fw = want.eflags & FLAG_ALL, fg = got.eflags & FLAG_ALL;
        bool flags_ok = ((fw ^ fg) & ~mask) == 0;
        if (ran && regs_ok && flags_ok) {
            res->passed++;
            if (fw != fg) res->masked[flag_class]++;
            continue;
        }
        res->failed++;
        if (res->failed <= 20 || verbose) {
            printf("DIVERGENCE seed %llu test %llu%s\n", seed, t,
                   ran ? "" : " (bt86 raised an exception)");
            print_code(insn, len);
            print_state("initial", &init);
            print_state("host", &want);
            print_state("bt86", &got);
            printf("  flags compared under mask %03x (%s)\n", FLAG_ALL & ~mask, flag_masks[flag_class].reason);
        }
    }
    munmap(snippet, 4096);
    return DIFF_OK;
}

#else
int run_host_oracle(unsigned long long count, unsigned long long seed, bool verbose, DiffResult *res) {
    (void)count;
    (void)seed;
    (void)verbose;
    (void)res;
    printf("diff-host: skipped: the host oracle needs an x86-64 host\n");
    return DIFF_SKIP;
}
#endif
