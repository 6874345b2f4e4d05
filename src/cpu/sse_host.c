/*
 * sse_host.c - the SSE host backend (see sse.h): small host functions,
 * generated on first use and cached by encoding, that load an SseHostCtx
 * into XMM0/XMM1 (MM0/MM1, EAX/ECX) and MXCSR, run the guest instruction's
 * register form, and store everything back with the flags it raised.
 *
 * Generated code (System V, RDI = the context):
 *     stmxcsr [rdi+72]; ldmxcsr [rdi+32]
 *     movdqu xmm0,[rdi]; movdqu xmm1,[rdi+16]; mov eax,[rdi+40]; mov ecx,[rdi+44]
 *     (mmx: movq mm0,[rdi+48]; movq mm1,[rdi+56])
 *     <prefix> 0F [38|3A] op modrm [imm8]
 *     (mmx: movq [rdi+48],mm0; movq [rdi+56],mm1; emms)
 *     movdqu [rdi],xmm0; movdqu [rdi+16],xmm1; mov [rdi+40],eax; mov [rdi+44],ecx
 *     stmxcsr [rdi+36]; pushfq; pop rdx; mov [rdi+64],rdx; ldmxcsr [rdi+72]; ret
 * The code buffer is writable only while a function is added (mprotect).
 */
#include "cpu/sse.h"

#include <stddef.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#if defined(__linux__)
#include <ucontext.h>
#endif

_Static_assert(offsetof(SseHostCtx, mxcsr_in) == 32 && offsetof(SseHostCtx, eax) == 40 &&
                   offsetof(SseHostCtx, mm0) == 48 && offsetof(SseHostCtx, rflags) == 64 &&
                   offsetof(SseHostCtx, host_mxcsr) == 72,
               "the generated code's offsets");

#define SLOTS     4096
#define SLOT_SIZE 96

typedef void (*StubFn)(SseHostCtx *c);

static uint8_t *code;        /* SLOTS * SLOT_SIZE bytes */
static uint32_t keys[SLOTS]; /* encoding key + 1 of each slot, 0: empty */
static int state;            /* 0 not probed, 1 available, -1 not */

bool sse_host_available(void) {
    if (state == 0) {
        unsigned a, b, c, d;
        state = -1;
        /* SSE (EDX 25), SSE2 (EDX 26), SSE3 (ECX 0), SSSE3 (ECX 9) */
        if (__get_cpuid(1, &a, &b, &c, &d) && (d >> 25 & 3) == 3 && (c & 1) && (c >> 9 & 1)) {
            void *p = mmap(NULL, SLOTS * SLOT_SIZE, PROT_READ | PROT_EXEC,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p != MAP_FAILED) {
                code = p;
                state = 1;
            }
        }
    }
    return state > 0;
}

static size_t put(uint8_t *p, size_t n, const uint8_t *bytes, size_t len) {
    memcpy(p + n, bytes, len);
    return n + len;
}

static void generate(uint8_t *p, uint8_t prefix, uint8_t map, uint8_t op, uint8_t modrm, int imm,
                     bool mmx) {
    static const uint8_t head[] = {
        0x0F, 0xAE, 0x5F, 72,       /* stmxcsr [rdi+72] */
        0x0F, 0xAE, 0x57, 32,       /* ldmxcsr [rdi+32] */
        0xF3, 0x0F, 0x6F, 0x07,     /* movdqu xmm0,[rdi] */
        0xF3, 0x0F, 0x6F, 0x4F, 16, /* movdqu xmm1,[rdi+16] */
        0x8B, 0x47, 40,             /* mov eax,[rdi+40] */
        0x8B, 0x4F, 44,             /* mov ecx,[rdi+44] */
    };
    static const uint8_t mmx_in[] = {0x0F, 0x6F, 0x47, 48, 0x0F, 0x6F, 0x4F, 56};
    static const uint8_t mmx_out[] = {0x0F, 0x7F, 0x47, 48, 0x0F, 0x7F, 0x4F, 56, 0x0F, 0x77};
    static const uint8_t tail[] = {
        0xF3, 0x0F, 0x7F, 0x07,     /* movdqu [rdi],xmm0 */
        0xF3, 0x0F, 0x7F, 0x4F, 16, /* movdqu [rdi+16],xmm1 */
        0x89, 0x47, 40,             /* mov [rdi+40],eax */
        0x89, 0x4F, 44,             /* mov [rdi+44],ecx */
        0x0F, 0xAE, 0x5F, 36,       /* stmxcsr [rdi+36] */
        0x9C, 0x5A,                 /* pushfq; pop rdx */
        0x48, 0x89, 0x57, 64,       /* mov [rdi+64],rdx */
        0x0F, 0xAE, 0x57, 72,       /* ldmxcsr [rdi+72] */
        0xC3,                       /* ret */
    };
    size_t n = put(p, 0, head, sizeof head);
    if (mmx) n = put(p, n, mmx_in, sizeof mmx_in);
    if (prefix) p[n++] = prefix;
    p[n++] = 0x0F;
    if (map != 0x0F) p[n++] = map;
    p[n++] = op;
    p[n++] = modrm;
    if (imm >= 0) p[n++] = (uint8_t)imm;
    if (mmx) n = put(p, n, mmx_out, sizeof mmx_out);
    n = put(p, n, tail, sizeof tail);
    _Static_assert(sizeof head + sizeof mmx_in + 6 + sizeof mmx_out + sizeof tail <= SLOT_SIZE,
                   "a generated function fits its slot");
}

void sse_host_run(SseHostCtx *c, uint8_t prefix, uint8_t map, uint8_t op, uint8_t modrm, int imm,
                  bool mmx) {
    uint32_t pfx = prefix == 0x66 ? 1 : prefix == 0xF3 ? 2 : prefix == 0xF2 ? 3 : 0;
    uint32_t m = map == 0x38 ? 1 : map == 0x3A ? 2 : 0;
    uint32_t key = pfx | m << 2 | (uint32_t)op << 4 | (uint32_t)modrm << 12 |
                   (uint32_t)(imm < 0 ? 0x100 : imm) << 20 | (uint32_t)mmx << 29;
    uint32_t slot = ((key * 0x9E3779B1u) >> 20) & (SLOTS - 1);
    uint8_t *p = code + (size_t)slot * SLOT_SIZE;
    if (keys[slot] != key + 1) {
        size_t page = (size_t)slot * SLOT_SIZE & ~(size_t)4095;
        size_t len = ((size_t)slot * SLOT_SIZE + SLOT_SIZE + 4095 - page) & ~(size_t)4095;
        mprotect(code + page, len, PROT_READ | PROT_WRITE);
        generate(p, prefix, map, op, modrm, imm, mmx);
        mprotect(code + page, len, PROT_READ | PROT_EXEC);
        keys[slot] = key + 1;
    }
    StubFn fn;
    memcpy(&fn, &p, sizeof fn);
    fn(c);
}

#if defined(__linux__)
/* Trapping runs: the host's own #XM (SIGFPE) inside a generated function
 * returns to sse_host_run_trapping with the MXCSR of the fault; a SIGFPE
 * anywhere else goes to the handler installed before. */
static sigjmp_buf *trap_jmp;
static uint32_t trap_mxcsr;
static struct sigaction old_fpe;

static void on_fpe(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    if (trap_jmp && rip >= (uintptr_t)code && rip < (uintptr_t)code + SLOTS * SLOT_SIZE) {
        trap_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
        siglongjmp(*trap_jmp, 1);
    }
    if (old_fpe.sa_flags & SA_SIGINFO) {
        old_fpe.sa_sigaction(sig, si, ctx);
    } else if (old_fpe.sa_handler != SIG_DFL && old_fpe.sa_handler != SIG_IGN) {
        old_fpe.sa_handler(sig);
    } else {
        signal(sig, SIG_DFL); /* the faulting instruction runs again and ends the process */
    }
}

bool sse_host_run_trapping(SseHostCtx *c, uint8_t prefix, uint8_t map, uint8_t op, uint8_t modrm,
                           int imm, bool mmx, bool *faulted) {
    static bool installed;
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fpe;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGFPE, &sa, &old_fpe) != 0) return false;
        installed = true;
    }
    sigjmp_buf jb;
    trap_jmp = &jb;
    if (sigsetjmp(jb, 1)) {
        trap_jmp = NULL;
        uint32_t host = c->host_mxcsr;
        __asm__ volatile("ldmxcsr %0" ::"m"(host));
        if (mmx) __asm__ volatile("emms");
        c->mxcsr_out = trap_mxcsr;
        *faulted = true;
        return true;
    }
    sse_host_run(c, prefix, map, op, modrm, imm, mmx);
    trap_jmp = NULL;
    *faulted = false;
    return true;
}
#else
bool sse_host_run_trapping(SseHostCtx *c, uint8_t prefix, uint8_t map, uint8_t op, uint8_t modrm,
                           int imm, bool mmx, bool *faulted) {
    (void)c, (void)prefix, (void)map, (void)op, (void)modrm, (void)imm, (void)mmx, (void)faulted;
    return false;
}
#endif

#else
bool sse_host_run_trapping(SseHostCtx *c, uint8_t prefix, uint8_t map, uint8_t op, uint8_t modrm,
                           int imm, bool mmx, bool *faulted) {
    (void)c, (void)prefix, (void)map, (void)op, (void)modrm, (void)imm, (void)mmx, (void)faulted;
    return false;
}

bool sse_host_available(void) {
    return false;
}

void sse_host_run(SseHostCtx *c, uint8_t prefix, uint8_t map, uint8_t op, uint8_t modrm, int imm,
                  bool mmx) {
    (void)c;
    (void)prefix;
    (void)map;
    (void)op;
    (void)modrm;
    (void)imm;
    (void)mmx;
}
#endif
