/*
 * sse-check.c - a guest program for the SSE system test: floating point and
 * integer loops that gcc compiles to SSE/SSE2 code with `-m32 -msse2
 * -mfpmath=sse -O2 -ftree-vectorize` (scalar and packed arithmetic,
 * square roots, conversions both ways, min/max, vectorised integer
 * loops), printing every result exactly (hexadecimal floating point).
 * images/build-default.sh puts the i386 build into the guest's initramfs as
 * /bin/sse-check; tests/system/linux-boot.sh runs it in the guest and
 * compares its output with the same source built for the host. Only
 * correctly rounded operations are used (+ - * / sqrt, conversions), so the
 * two builds must agree bit for bit.
 */
#include <stdint.h>
#include <stdio.h>

#define N 256

static float fa[N], fb[N], fc[N];
static double da[N], db[N];
static int32_t ia[N], ib[N];
static int16_t sa[N], sb[N];
static uint8_t ua[N], ub[N];

int main(void) {
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        fa[i] = (float)(int32_t)seed / 65536.0f;
        fb[i] = (float)(i + 1) / 7.0f;
        da[i] = (double)seed / 3.0 - 1e9;
        db[i] = 1.0 / (double)(i + 3);
        ia[i] = (int32_t)seed;
        ib[i] = (int32_t)(seed >> 7) - 1000;
        sa[i] = (int16_t)seed;
        sb[i] = (int16_t)(seed >> 16);
        ua[i] = (uint8_t)seed;
        ub[i] = (uint8_t)(seed >> 8);
    }
    /* Packed single: vectorised multiply-add, division, min/max. */
    for (int i = 0; i < N; i++)
        fc[i] = fa[i] * fb[i] + fb[i] / (fa[i] == 0 ? 1.0f : fa[i]);
    float fs = 0, fmin = fc[0], fmax = fc[0];
    for (int i = 0; i < N; i++) {
        fs += fc[i];
        fmin = fc[i] < fmin ? fc[i] : fmin;
        fmax = fc[i] > fmax ? fc[i] : fmax;
    }
    printf("ps %a %a %a\n", (double)fs, (double)fmin, (double)fmax);
    /* Scalar double: harmonic-like sums, square roots, products. */
    double h = 0, r = 0, p = 1;
    for (int i = 0; i < N; i++) {
        h += db[i];
        r += __builtin_sqrt(da[i] < 0 ? -da[i] : da[i]);
        p *= 1.0 + db[i] * db[i];
    }
    printf("sd %a %a %a\n", h, r, p);
    /* Conversions: float <-> double <-> int, truncating and rounding. */
    int64_t cs = 0;
    for (int i = 0; i < N; i++) {
        cs += (int32_t)fc[i];
        cs += (int32_t)(da[i] / 1000.0);
        cs += (int64_t)(float)ia[i];
        cs += (int32_t)(double)(float)db[i];
    }
    printf("cvt %lld\n", (long long)cs);
    /* Vectorised integers: 32-bit multiply-add, 16-bit saturating-ish
     * arithmetic, byte averages and sums. */
    uint32_t isum = 0;
    for (int i = 0; i < N; i++)
        isum += (uint32_t)(ia[i] * 3 + (ib[i] ^ ia[i]) - (ia[i] >> 3));
    int32_t ssum = 0;
    for (int i = 0; i < N; i++) {
        int32_t x = sa[i] + sb[i];
        ssum += x > 32767 ? 32767 : x < -32768 ? -32768 : x;
    }
    uint32_t usum = 0;
    for (int i = 0; i < N; i++)
        usum += (uint32_t)((ua[i] + ub[i] + 1) >> 1) + (ua[i] > ub[i] ? ua[i] - ub[i] : ub[i] - ua[i]);
    printf("int %u %d %u\n", isum, ssum, usum);
    return 0;
}
