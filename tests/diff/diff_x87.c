/*
 * diff_x87.c - the x87 oracle (x86-64 hosts): random sequences of x87
 * instructions run natively on the host and in bt86, each between FRSTOR
 * of the same random state and FNSAVE, comparing the saved 108-byte state
 * (control, status and tag words, all eight registers) and the memory
 * operands. Only the instruction/operand pointers (FIP, FCS, FOP, FDP, FDS)
 * are not compared: they are addresses, which differ between the two runs.
 *
 * Operands are weighted toward special values (zeros, denormals,
 * pseudo-denormals, unnormals, infinities, quiet and signalling NaNs, values
 * near the overflow and underflow thresholds of all three formats);
 * precision and rounding control are random. Half the sequences run with
 * every exception masked; the other half with random masks cleared (mostly
 * OE and UE, for the bias-adjusted results of unmasked overflow and
 * underflow). There each instruction is followed by FNSTSW to the operand
 * area (compared like the operands) and FNCLEX, both non-waiting, so that
 * the host never takes #MF (SIGFPE) and bt86 never raises #MF; the initial
 * status word holds only masked flags, so nothing is pending after FRSTOR.
 *
 * The memory operands are addressed as [EDI + disp8]: the same bytes mean
 * [RDI + disp8] in 64-bit mode, so both runs use identical code.
 */
#include "diff.h"

#include "cpu/fpu.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <sys/mman.h>

#define OPERANDS  0x000 /* operand bytes at EDI + 0x00 .. 0x7F */
#define STATE_IN  0x100
#define STATE_OUT 0x200
#define AREA      0x300

typedef void (*X87Snippet)(uint8_t *area);

static void rand_f80(Rng *r, uint8_t *b) {
    uint64_t mant = rng_next(r);
    unsigned exp, sign = rng_range(r, 2);
    switch (rng_range(r, 13)) {
    case 0:
        exp = 0;
        mant = 0;
        break; /* zero */
    case 1:
        exp = 0;
        mant >>= 1 + rng_range(r, 40);
        break; /* denormal */
    case 2:
        exp = 0;
        mant |= 1ull << 63;
        break; /* pseudo-denormal */
    case 3:
        exp = 0x7FFF;
        mant = 1ull << 63;
        break; /* infinity */
    case 4:
        exp = 0x7FFF;
        mant |= 3ull << 62;
        break; /* quiet NaN */
    case 5:
        exp = 0x7FFF;
        mant = (mant & ~(3ull << 62)) | 1ull << 63 | 1;
        break; /* signalling NaN */
    case 6:
        exp = 1 + rng_range(r, 0x7FFE);
        mant &= ~(1ull << 63);
        break; /* unnormal */
    case 7:
        exp = 0x7FFE - rng_range(r, 3);
        mant |= 1ull << 63;
        break; /* near overflow */
    case 8:
        exp = 1 + rng_range(r, 3);
        mant |= 1ull << 63;
        break; /* near underflow */
    case 9:    /* near the single and double underflow thresholds, few bits: exact tiny stores */
        exp =
            (rng_range(r, 2) ? 0x3FFF - 126 - rng_range(r, 26) : 0x3FFF - 1022 - rng_range(r, 55));
        mant = (mant | 1ull << 63) & ~((1ull << rng_range(r, 64)) - 1);
        break;
    default:
        exp = 0x3FFF - 20 + rng_range(r, 40);
        mant |= 1ull << 63;
        break; /* ordinary */
    }
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(mant >> (8 * i));
    b[8] = (uint8_t)exp;
    b[9] = (uint8_t)(exp >> 8 | sign << 7);
}

/* This sequence runs with some exceptions unmasked (see the top). */
static bool unmasked_mode;
bool x87_unmasked_sequences = true;

/* The exception masks of an unmasked-mode sequence: OE and UE clear most of
 * the time, the others at random. */
static uint16_t rand_masks(Rng *r) {
    uint16_t m = (uint16_t)(rng_range(r, 0x40) & 0x3F);
    if (rng_range(r, 4)) m &= (uint16_t) ~(FSW_OE | FSW_UE);
    return m;
}

/* A random FSAVE image (32-bit protected-mode layout). */
static void rand_state(Rng *r, uint8_t *s) {
    memset(s, 0, 108);
    static const uint16_t pcs[3] = {0x000, 0x200, 0x300};
    uint16_t masks = unmasked_mode ? rand_masks(r) : 0x3F;
    uint16_t cw = (uint16_t)(0x40 | masks | pcs[rng_range(r, 3)] | rng_range(r, 4) << 10);
    unsigned top = rng_range(r, 8);
    uint16_t sw =
        (uint16_t)((rng_range(r, 0x40) & masks) | (rng_range(r, 16) & 0x7) << 8 | top << 11);
    uint16_t tw = 0;
    for (int p = 0; p < 8; p++)
        tw |= (uint16_t)((rng_range(r, 5) == 0 ? 3 : 0) << (2 * p));
    s[0] = (uint8_t)cw;
    s[1] = (uint8_t)(cw >> 8);
    s[4] = (uint8_t)sw;
    s[5] = (uint8_t)(sw >> 8);
    s[8] = (uint8_t)tw;
    s[9] = (uint8_t)(tw >> 8);
    for (int i = 0; i < 8; i++)
        rand_f80(r, s + 28 + 10 * i);
}

/* The status word after instruction k of an unmasked-mode sequence. */
#define SW_SLOTS 0x70 /* [edi + 0x70 + 2k], k < 8 */

/* One random x87 instruction (number k of its sequence); memory operands
 * at [edi + 0x00..0x6F]. In unmasked mode FNSTSW [edi + 0x70 + 2k] and
 * FNCLEX follow. */
static int gen_x87(Rng *r, uint8_t *b, int k) {
    int n = 0;
    unsigned i = rng_range(r, 8);
    uint8_t disp = (uint8_t)(16 * rng_range(r, 7)); /* 16-byte slots, room for m80 */
#define MEM(op, reg)                                                                               \
    do {                                                                                           \
        b[n++] = (op);                                                                             \
        b[n++] = (uint8_t)(0x47 | (reg) << 3);                                                     \
        b[n++] = disp;                                                                             \
    } while (0)
    switch (rng_range(r, 16)) {
    case 0:
        b[n++] = 0xD8;
        b[n++] = (uint8_t)(0xC0 | rng_range(r, 8) << 3 | i);
        break; /* D8 arith/compare ST(i) */
    case 1:
        b[n++] = 0xDC;
        b[n++] = (uint8_t)(0xC0 | rng_range(r, 8) << 3 | i);
        break; /* DC: to ST(i) */
    case 2: {
        unsigned reg = rng_range(r, 8);
        if (reg == 3) i = 1;
        b[n++] = 0xDE;
        b[n++] = (uint8_t)(0xC0 | reg << 3 | i);
        break;
    } /* DE: and pop */
    case 3: {
        static const uint8_t ops[] = {0xE0, 0xE1, 0xE4, 0xE5, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC,
                                      0xED, 0xEE, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6,
                                      0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF};
        b[n++] = 0xD9;
        b[n++] = ops[rng_range(r, sizeof ops)];
        break;
    } /* D9 specials */
    case 4:
        b[n++] = 0xD9;
        b[n++] = (uint8_t)(0xC0 | rng_range(r, 2) << 3 | i);
        break; /* FLD ST(i), FXCH */
    case 5:
        b[n++] = 0xDD;
        b[n++] = (uint8_t)(0xC0 | rng_range(r, 6) << 3 | i);
        break; /* FFREE FXCH4 FST FSTP FUCOM FUCOMP */
    case 6:
        b[n++] = 0xDB;
        b[n++] = (uint8_t)(0xC0 | rng_range(r, 4) << 3 | i); /* FCMOVNcc after FCOMI */
        break;
    case 7:
        b[n++] = 0xDA;
        b[n++] = rng_range(r, 5) == 0 ? 0xE9 : (uint8_t)(0xC0 | rng_range(r, 4) << 3 | i);
        break; /* FCMOVcc, FUCOMPP */
    case 8:
        b[n++] = 0xDB;
        b[n++] = (uint8_t)(0xE8 | rng_range(r, 2) << 3 | i);
        break; /* FUCOMI, FCOMI */
    case 9:
        b[n++] = 0xDF;
        b[n++] = (uint8_t)(0xE8 | rng_range(r, 2) << 3 | i);
        break; /* FUCOMIP, FCOMIP */
    case 10:
        MEM((uint8_t)(0xD8 | rng_range(r, 4) << 1), rng_range(r, 8));
        break; /* arith m32fp/m32int/m64fp/m16int */
    case 11: {
        static const uint8_t loads[][2] = {{0xD9, 0}, {0xDD, 0}, {0xDB, 5}, {0xDB, 0},
                                           {0xDF, 0}, {0xDF, 5}, {0xDF, 4}};
        unsigned k = rng_range(r, 7);
        MEM(loads[k][0], loads[k][1]);
        break;
    } /* FLD/FILD/FBLD */
    case 12: {
        static const uint8_t stores[][2] = {{0xD9, 2}, {0xD9, 3}, {0xDD, 2}, {0xDD, 3},
                                            {0xDB, 7}, {0xDB, 2}, {0xDB, 3}, {0xDF, 2},
                                            {0xDF, 3}, {0xDF, 7}, {0xDF, 6}};
        unsigned k = rng_range(r, 11);
        MEM(stores[k][0], stores[k][1]);
        break;
    } /* FST/FIST/FBSTP */
    case 13:
        b[n++] = 0xD9;
        b[n++] = rng_range(r, 2) ? 0xF6 : 0xF7;
        break; /* FDECSTP/FINCSTP */
    case 14:
        b[n++] = 0xDB;
        b[n++] = 0xE2;
        break; /* FNCLEX */
    default:
        b[n++] = 0xDF;
        b[n++] = (uint8_t)(0xC0 | i);
        break; /* FFREEP */
    }
#undef MEM
    if (unmasked_mode) {
        b[n++] = 0xDD; /* fnstsw [edi + SW_SLOTS + 2k] */
        b[n++] = 0x7F;
        b[n++] = (uint8_t)(SW_SLOTS + 2 * k);
        b[n++] = 0xDB; /* fnclex */
        b[n++] = 0xE2;
    }
    return n;
}

/* Bytes of the FSAVE image that hold instruction/operand pointers. */
static bool pointer_byte(int k) {
    return k >= 12 && k < 28;
}

bool (*x87_divergence_allowed)(const uint8_t *insn, int len, const uint8_t *before,
                               const uint8_t *host, const uint8_t *bt86);

static uint8_t *exec_page;
static uint8_t init_area[AREA], host_area[AREA], bt_area[AREA];
static uint8_t init_flags; /* AH for SAHF: CF, PF, ZF (and SF, AF) for FCMOVcc */

/* Run body natively and in bt86 from init_area; returns the first differing
 * byte, -1 if none, -2 if bt86 did not finish. */
static int run_pair(const uint8_t *body, int len) {
    uint8_t code[320];
    int n = 0;
    code[n++] = 0xB4; /* mov ah, init_flags; sahf: the same EFLAGS in both runs */
    code[n++] = init_flags;
    code[n++] = 0x9E;
    static const uint8_t pre[] = {0xDD, 0xA7, 0x00, 0x01, 0x00, 0x00};  /* frstor [rdi+0x100] */
    static const uint8_t post[] = {0xDD, 0xB7, 0x00, 0x02, 0x00, 0x00}; /* fnsave [rdi+0x200] */
    memcpy(code + n, pre, sizeof pre);
    n += (int)sizeof pre;
    memcpy(code + n, body, (size_t)len);
    n += len;
    memcpy(code + n, post, sizeof post);
    n += (int)sizeof post;
    memcpy(exec_page, code, (size_t)n);
    exec_page[n] = 0xC3; /* ret */
    memcpy(host_area, init_area, AREA);
    ((X87Snippet)(void *)exec_page)(host_area);
    bt86_side_poke(BT86_DATA, init_area, AREA);
    DiffState st = {{0}, 0x2};
    st.regs[7] = BT86_DATA;
    st.regs[4] = BT86_STACK_TOP;
    bool ran = bt86_side_run(code, n, &st, 64);
    bt86_side_peek(BT86_DATA, bt_area, AREA);
    if (!ran) return -2;
    for (int k = 0; k < AREA; k++) {
        if (k >= STATE_OUT && k < STATE_OUT + 108 && pointer_byte(k - STATE_OUT)) continue;
        if (host_area[k] != bt_area[k]) return k;
    }
    return -1;
}

static void dump_state(const char *label, const uint8_t *s) {
    printf("  %-8s cw %04x sw %04x tw %04x |", label, s[0] | s[1] << 8, s[4] | s[5] << 8,
           s[8] | s[9] << 8);
    for (int i = 0; i < 8; i++) {
        const uint8_t *r = s + 28 + 10 * i;
        printf(" %02x%02x:%02x%02x%02x%02x%02x%02x%02x%02x", r[9], r[8], r[7], r[6], r[5], r[4],
               r[3], r[2], r[1], r[0]);
    }
    printf("\n");
}

int run_x87_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                   DiffResult *res) {
    exec_page =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (exec_page == MAP_FAILED) {
        printf("diff-x87: skipped: cannot map executable memory\n");
        return DIFF_SKIP;
    }
    bt86_side_init();
    if (!x87_divergence_allowed)
        fpu_select_backend("host"); /* this oracle checks the host backend */
    Rng rng = {seed * 0x9E3779B97F4A7C15ULL + 11};
    unsigned long long unmasked_seqs = 0, unmasked_failed = 0;
    for (unsigned long long t = 0, done = 0; done < count; t++) {
        uint8_t body[256];
        int bounds[16], len = 0, ninsns = 1 + (int)rng_range(&rng, 8);
        unmasked_mode = rng_range(&rng, 2) && x87_unmasked_sequences;
        unmasked_seqs += unmasked_mode;
        for (int k = 0; k < ninsns; k++) {
            bounds[k] = len;
            len += gen_x87(&rng, body + len, k);
        }
        for (int k = 0; k < 0x80; k++)
            init_area[OPERANDS + k] = (uint8_t)rng_next(&rng);
        for (int s = 0; s < 7; s++)
            if (rng_range(&rng, 2)) rand_f80(&rng, init_area + 16 * s);
        rand_state(&rng, init_area + STATE_IN);
        memset(init_area + STATE_OUT, 0, 108);
        init_flags = (uint8_t)rng_next(&rng);
        int bad = run_pair(body, len);
        done += (unsigned long long)ninsns;
        res->instructions += (unsigned long long)ninsns;
        if (bad == -1) {
            res->passed++;
            continue;
        }
        if (x87_divergence_allowed) { /* classify by the first diverging instruction */
            int k = 1;
            for (; k < ninsns; k++)
                if (run_pair(body, bounds[k]) != -1) break;
            int start = bounds[k - 1], end = k < ninsns ? bounds[k] : len;
            uint8_t pre[108];
            run_pair(body, start);
            memcpy(pre, host_area + STATE_OUT, 108);
            int at = run_pair(body, end);
            uint8_t himg[108], bimg[108];
            memcpy(himg, host_area + STATE_OUT, 108);
            memcpy(bimg, bt_area + STATE_OUT, 108);
            if (unmasked_mode) { /* the status word before FNCLEX: from the instruction's slot */
                int slot = SW_SLOTS + 2 * (k - 1);
                memcpy(himg + 4, host_area + slot, 2);
                memcpy(bimg + 4, bt_area + slot, 2);
            }
            bool in_state = at >= STATE_OUT || (unmasked_mode && at == SW_SLOTS + 2 * (k - 1)) ||
                            (unmasked_mode && at == SW_SLOTS + 2 * (k - 1) + 1);
            if (in_state && x87_divergence_allowed(body + start, end - start, pre, himg, bimg)) {
                res->passed++;
                continue;
            }
        }
        res->failed++;
        unmasked_failed += unmasked_mode;
        if (res->failed <= 10 || verbose) {
            /* Bisect: the first instruction after which the two differ. */
            int k = 1;
            for (; k < ninsns; k++)
                if (run_pair(body, bounds[k]) != -1) break;
            int plen = k < ninsns ? bounds[k] : len;
            bad = run_pair(body, plen);
            printf("DIVERGENCE seed %llu test %llu, at instruction %d of %d%s%s\n", seed, t, k,
                   ninsns, unmasked_mode ? " (unmasked exceptions)" : "",
                   bad == -2 ? " (bt86 raised an exception)" : "");
            print_code(body, plen);
            if (bad == -2) printf("  bt86 exception vector %d\n", bt86_side_last_exception());
            dump_state("initial", init_area + STATE_IN);
            dump_state("host", host_area + STATE_OUT);
            dump_state("bt86", bt_area + STATE_OUT);
            if (bad >= 0 && bad < STATE_OUT)
                printf("  operand byte %d: host %02x bt86 %02x\n", bad, host_area[bad],
                       bt_area[bad]);
            if (unmasked_mode) {
                printf("  status words after each instruction: host");
                for (int j = 0; j < k; j++)
                    printf(" %04x",
                           host_area[SW_SLOTS + 2 * j] | host_area[SW_SLOTS + 2 * j + 1] << 8);
                printf(" / bt86");
                for (int j = 0; j < k; j++)
                    printf(" %04x", bt_area[SW_SLOTS + 2 * j] | bt_area[SW_SLOTS + 2 * j + 1] << 8);
                printf("\n");
            }
        }
    }
    printf("diff-x87: %llu sequences with unmasked exceptions, %llu of them diverged\n",
           unmasked_seqs, unmasked_failed);
    munmap(exec_page, 4096);
    return DIFF_OK;
}

#else
int run_x87_oracle(unsigned long long count, unsigned long long seed, bool verbose,
                   DiffResult *res) {
    (void)count;
    (void)seed;
    (void)verbose;
    (void)res;
    printf("diff-x87: skipped: needs an x86-64 host\n");
    return DIFF_SKIP;
}
#endif
