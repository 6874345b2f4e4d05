/*
 * diff_mmx.c - the MMX oracle (x86-64 hosts): random sequences of the
 * Pentium II's MMX instructions (register and memory forms, MOVD to and
 * from general registers, the immediate shifts, EMMS), mixed with a few x87
 * instructions that meet the MMX side effects on TOP and the tags, and
 * FXSAVE/FNINIT/FXRSTOR round trips. Each sequence runs natively and in
 * bt86 between FRSTOR of the same random state and FXSAVE + FNSAVE; the
 * FNSAVE image (MM0-MM7 are the register significands, so all of them and
 * the exponent bits an MMX write sets are in it), the x87 part of the
 * FXSAVE image (control/status words, abridged tags, the eight registers,
 * reserved bytes), EAX/ECX/EDX/ESI and the memory operands are compared bit
 * for bit. Not compared: the instruction/operand pointers and opcode
 * (addresses differ between the two runs), MXCSR and its mask (the host
 * has SSE, a Pentium II has not) and the FXSAVE XMM area.
 *
 * Memory operands are [EDI + disp8] or [EDI + disp32]: the same bytes mean
 * [RDI + disp] in 64-bit mode, so both runs use identical code. MOVD with
 * a register operand uses only EAX, ECX, EDX and ESI (free in a called
 * function on the host).
 */
#include "diff.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <sys/mman.h>

#define OPERANDS  0x000 /* operand bytes, 0x100 of them */
#define STATE_IN  0x100 /* FSAVE image loaded first */
#define GPR_IN    0x180 /* EAX, ECX, EDX, ESI loaded first */
#define GPR_OUT   0x190 /* and stored at the end */
#define STATE_OUT 0x200 /* FNSAVE image at the end */
#define FX_OUT    0x300 /* FXSAVE image at the end (512 bytes) */
#define FX_TMP    0x500 /* FXSAVE/FXRSTOR round trips in the sequence (512 bytes) */
#define AREA      0x700

typedef void (*MmxSnippet)(uint8_t *area);

/* The Pentium II's mm, mm/m64 rows (0F xx). */
static const uint8_t arith_rows[] = {
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x74, 0x75, 0x76,
    0xD1, 0xD2, 0xD3, 0xD5, 0xD8, 0xD9, 0xDB, 0xDC, 0xDD, 0xDF, 0xE1, 0xE2, 0xE5, 0xE8, 0xE9,
    0xEB, 0xEC, 0xED, 0xEF, 0xF1, 0xF2, 0xF3, 0xF5, 0xF8, 0xF9, 0xFA, 0xFC, 0xFD, 0xFE,
};
static const uint8_t gprs[4] = {0, 1, 2, 6}; /* EAX ECX EDX ESI */

/* A 64-bit value that is often a small shift count or has extreme lanes. */
static uint64_t rand_q(Rng *r) {
    switch (rng_range(r, 6)) {
    case 0: return rng_range(r, 72);
    case 1: return rng_next(r) & 0x8080808080808080ull;
    case 2: return rng_next(r) | 0x7F7F7F7F7F7F7F7Full;
    case 3: return (rng_next(r) & 0x0001000100010001ull) * 0x7FFF;
    default: return rng_next(r);
    }
}

static void put_q(uint8_t *b, uint64_t v) {
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* A random FSAVE image (32-bit protected-mode layout), exceptions masked. */
static void rand_state(Rng *r, uint8_t *s) {
    memset(s, 0, 108);
    uint16_t cw = (uint16_t)(0x7F | rng_range(r, 4) << 8 | rng_range(r, 4) << 10);
    uint16_t sw = (uint16_t)(rng_range(r, 0x40) | rng_range(r, 8) << 8 | rng_range(r, 8) << 11);
    uint16_t tw = 0;
    for (int p = 0; p < 8; p++)
        tw |= (uint16_t)((rng_range(r, 3) == 0 ? 3 : 0) << (2 * p));
    s[0] = (uint8_t)cw;
    s[1] = (uint8_t)(cw >> 8);
    s[4] = (uint8_t)sw;
    s[5] = (uint8_t)(sw >> 8);
    s[8] = (uint8_t)tw;
    s[9] = (uint8_t)(tw >> 8);
    for (int i = 0; i < 8; i++) {
        uint8_t *reg = s + 28 + 10 * i;
        put_q(reg, rand_q(r));
        unsigned se;
        switch (rng_range(r, 4)) {
        case 0: se = 0xFFFF; break;
        case 1: se = 0x3FFF + rng_range(r, 64); break;
        default: se = rng_range(r, 0x10000); break;
        }
        reg[8] = (uint8_t)se;
        reg[9] = (uint8_t)(se >> 8);
    }
}

/* ModRM for an MMX operand: register rm or memory [edi + disp]. */
static int modrm(Rng *r, uint8_t *b, unsigned reg, bool mem, unsigned rm) {
    int n = 0;
    if (!mem) {
        b[n++] = (uint8_t)(0xC0 | reg << 3 | rm);
    } else if (rng_range(r, 5)) {
        b[n++] = (uint8_t)(0x47 | reg << 3);
        b[n++] = (uint8_t)rng_range(r, 0x79); /* disp8 0..0x78: 8 bytes fit */
    } else {
        uint32_t d = rng_range(r, 0xF9);
        b[n++] = (uint8_t)(0x87 | reg << 3);
        for (int i = 0; i < 4; i++)
            b[n++] = (uint8_t)(d >> (8 * i));
    }
    return n;
}

/* One random instruction (or FXSAVE round trip); returns its length. */
static int gen_mmx(Rng *r, uint8_t *b, int *ninsns) {
    int n = 0;
    unsigned reg = rng_range(r, 8), rm = rng_range(r, 8);
    bool mem = rng_range(r, 2);
    *ninsns = 1;
    switch (rng_range(r, 24)) {
    default: /* the packed arithmetic rows */
        b[n++] = 0x0F;
        b[n++] = arith_rows[rng_range(r, sizeof arith_rows)];
        n += modrm(r, b + n, reg, mem, rm);
        break;
    case 0: /* MOVD mm, r/m32 */
    case 1: /* MOVD r/m32, mm */
        b[n++] = 0x0F;
        b[n++] = rng_range(r, 2) ? 0x6E : 0x7E;
        n += modrm(r, b + n, reg, mem, gprs[rng_range(r, 4)]);
        break;
    case 2: /* MOVQ mm, mm/m64 */
    case 3: /* MOVQ mm/m64, mm */
        b[n++] = 0x0F;
        b[n++] = rng_range(r, 2) ? 0x6F : 0x7F;
        n += modrm(r, b + n, reg, mem, rm);
        break;
    case 4:
    case 5: { /* PSRLx/PSRAx/PSLLx mm, imm8 */
        static const uint8_t forms[][2] = {{0x71, 2}, {0x71, 4}, {0x71, 6}, {0x72, 2},
                                           {0x72, 4}, {0x72, 6}, {0x73, 2}, {0x73, 6}};
        unsigned k = rng_range(r, 8);
        b[n++] = 0x0F;
        b[n++] = forms[k][0];
        b[n++] = (uint8_t)(0xC0 | forms[k][1] << 3 | rm);
        b[n++] = (uint8_t)(rng_range(r, 4) ? rng_range(r, 66) : rng_range(r, 256));
        break;
    }
    case 6: /* EMMS */
        b[n++] = 0x0F;
        b[n++] = 0x77;
        break;
    case 7: { /* x87 meeting MMX state: loads, arithmetic, FXCH, stack moves, FFREE, FSTP */
        static const uint8_t x87[][2] = {{0xD9, 0xE8}, {0xD9, 0xEE}, {0xD8, 0xC0}, {0xD9, 0xC8},
                                         {0xD9, 0xF7}, {0xD9, 0xF6}, {0xDD, 0xC0}, {0xDD, 0xD8}};
        unsigned k = rng_range(r, 8);
        b[n++] = x87[k][0];
        b[n++] = (uint8_t)(x87[k][1] | (k >= 2 && k != 4 && k != 5 ? rm : 0));
        break;
    }
    case 8: { /* fxsave [edi+FX_TMP]; fninit; fxrstor [edi+FX_TMP] */
        static const uint8_t trip[] = {
            0x0F, 0xAE, 0x87, FX_TMP & 0xFF, FX_TMP >> 8,   0,           0, 0xDB,
            0xE3, 0x0F, 0xAE, 0x8F,          FX_TMP & 0xFF, FX_TMP >> 8, 0, 0};
        memcpy(b, trip, sizeof trip);
        n = (int)sizeof trip;
        *ninsns = 3;
        break;
    }
    }
    return n;
}

/* Bytes of the images that hold pointers/opcode (and, for FXSAVE, MXCSR). */
static bool ignored(int k) {
    if (k >= STATE_OUT && k < STATE_OUT + 108) return k - STATE_OUT >= 12 && k - STATE_OUT < 28;
    if (k >= FX_OUT && k < FX_OUT + 512)
        return (k - FX_OUT >= 6 && k - FX_OUT < 32) || k - FX_OUT >= 160;
    return k >= FX_TMP; /* the scratch area of the round trips */
}

static uint8_t *exec_page;
static uint8_t init_area[AREA] __attribute__((aligned(16)));
static uint8_t host_area[AREA] __attribute__((aligned(16)));
static uint8_t bt_area[AREA];

static int emit(uint8_t *code, int n, const uint8_t *bytes, int len) {
    memcpy(code + n, bytes, (size_t)len);
    return n + len;
}

/* [edi + disp32] form of a ModRM with register field reg. */
static int emit_rm32(uint8_t *code, int n, uint8_t op0, uint8_t op1, unsigned reg, uint32_t disp) {
    if (op0) code[n++] = op0;
    code[n++] = op1;
    code[n++] = (uint8_t)(0x87 | reg << 3);
    for (int i = 0; i < 4; i++)
        code[n++] = (uint8_t)(disp >> (8 * i));
    return n;
}

/* Run body natively and in bt86 from init_area; returns the first differing
 * byte, -1 if none, -2 if bt86 did not finish. */
static int run_pair(const uint8_t *body, int len) {
    uint8_t code[512];
    int n = 0;
    n = emit_rm32(code, n, 0, 0xDD, 4, STATE_IN); /* frstor */
    for (int g = 0; g < 4; g++)
        n = emit_rm32(code, n, 0, 0x8B, gprs[g], GPR_IN + 4 * g);
    n = emit(code, n, body, len);
    for (int g = 0; g < 4; g++)
        n = emit_rm32(code, n, 0, 0x89, gprs[g], GPR_OUT + 4 * g);
    n = emit_rm32(code, n, 0x0F, 0xAE, 0, FX_OUT); /* fxsave */
    n = emit_rm32(code, n, 0, 0xDD, 6, STATE_OUT); /* fnsave */
    memcpy(exec_page, code, (size_t)n);
    exec_page[n] = 0xC3; /* ret */
    memcpy(host_area, init_area, AREA);
    ((MmxSnippet)(void *)exec_page)(host_area);
    bt86_side_poke(BT86_DATA, init_area, AREA);
    DiffState st = {{0}, 0x2};
    st.regs[7] = BT86_DATA;
    st.regs[4] = BT86_STACK_TOP;
    bool ran = bt86_side_run(code, n, &st, 64);
    bt86_side_peek(BT86_DATA, bt_area, AREA);
    if (!ran) return -2;
    for (int k = 0; k < AREA; k++) {
        if (ignored(k)) continue;
        if (host_area[k] != bt_area[k]) return k;
    }
    return -1;
}

static void dump_state(const char *label, const uint8_t *s) {
    printf("  %-8s cw %04x sw %04x tw %04x\n          ", label, s[0] | s[1] << 8, s[4] | s[5] << 8,
           s[8] | s[9] << 8);
    for (int i = 0; i < 8; i++) {
        const uint8_t *r = s + 28 + 10 * i;
        printf(" %02x%02x:%02x%02x%02x%02x%02x%02x%02x%02x", r[9], r[8], r[7], r[6], r[5], r[4],
               r[3], r[2], r[1], r[0]);
        if (i == 3) printf("\n          ");
    }
    printf("\n");
}

static const char *where(int k) {
    if (k < STATE_IN) return "memory operand";
    if (k >= GPR_OUT && k < GPR_OUT + 16) return "general register";
    if (k >= STATE_OUT && k < STATE_OUT + 108) return "FNSAVE image";
    if (k >= FX_OUT && k < FX_OUT + 512) return "FXSAVE image";
    return "area";
}

int run_mmx_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                   DiffResult *res) {
    exec_page =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (exec_page == MAP_FAILED) {
        printf("diff-mmx: skipped: cannot map executable memory\n");
        return DIFF_SKIP;
    }
    bt86_side_init();
    Rng rng = {seed * 0x9E3779B97F4A7C15ULL + 23};
    memset(init_area, 0, AREA);
    for (unsigned long long t = 0, done = 0; done < count; t++) {
        uint8_t body[384];
        int bounds[16], len = 0, nitems = 1 + (int)rng_range(&rng, 10), ninsns = 0;
        for (int k = 0; k < nitems; k++) {
            int c;
            bounds[k] = len;
            len += gen_mmx(&rng, body + len, &c);
            ninsns += c;
        }
        for (int k = 0; k < 0x100; k += 8)
            put_q(init_area + OPERANDS + k, rand_q(&rng));
        rand_state(&rng, init_area + STATE_IN);
        for (int g = 0; g < 4; g++) {
            uint32_t v = rng_range(&rng, 2) ? rng_range(&rng, 72) : rng_value(&rng);
            for (int i = 0; i < 4; i++)
                init_area[GPR_IN + 4 * g + i] = (uint8_t)(v >> (8 * i));
        }
        memset(init_area + GPR_OUT, 0, 16);
        memset(init_area + STATE_OUT, 0, AREA - STATE_OUT);
        int bad = run_pair(body, len);
        done += (unsigned long long)ninsns;
        res->instructions += (unsigned long long)ninsns;
        if (bad == -1) {
            res->passed++;
            continue;
        }
        res->failed++;
        if (res->failed <= 10 || verbose) {
            /* Bisect: the first item after which the two differ. */
            int k = 1;
            for (; k < nitems; k++)
                if (run_pair(body, bounds[k]) != -1) break;
            int plen = k < nitems ? bounds[k] : len;
            bad = run_pair(body, plen);
            printf("DIVERGENCE seed %llu test %llu, at item %d of %d%s\n", seed, t, k, nitems,
                   bad == -2 ? " (bt86 raised an exception)" : "");
            print_code(body, plen);
            if (bad == -2) printf("  bt86 exception vector %d\n", bt86_side_last_exception());
            dump_state("initial", init_area + STATE_IN);
            dump_state("host", host_area + STATE_OUT);
            dump_state("bt86", bt_area + STATE_OUT);
            if (bad >= 0)
                printf("  first difference: %s byte 0x%03x: host %02x bt86 %02x\n", where(bad), bad,
                       host_area[bad], bt_area[bad]);
        }
    }
    munmap(exec_page, 4096);
    return DIFF_OK;
}

#else
int run_mmx_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                   DiffResult *res) {
    (void)count;
    (void)seed;
    (void)verbose;
    (void)res;
    printf("diff-mmx: skipped: needs an x86-64 host\n");
    return DIFF_SKIP;
}
#endif
