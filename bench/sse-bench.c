/*
 * sse-bench.c - the SSE2 row of bench/run.sh: the kinds of loops of
 * tests/guest/sse-check.c (packed single arithmetic, scalar double with
 * square roots, conversions both ways, vectorised 32-, 16- and 8-bit
 * integers), on larger arrays and repeated, so that the row runs long
 * enough to time. bench/run.sh builds it as a static i386 program with
 * `gcc -m32 -static -O2 -msse2 -mfpmath=sse -ftree-vectorize` and puts it
 * into the guest's second initramfs as /bin/sse-bench.
 *   sse-bench [ROUNDS]     (default 200)
 * It prints one line of results (hexadecimal floating point), the same on
 * every run: a wrong answer shows as a different line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 4096

static float fa[N], fb[N], fc[N];
static double da[N], db[N];
static int32_t ia[N], ib[N];
static int16_t sa[N], sb[N];
static uint8_t ua[N], ub[N];

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    if (rounds < 1) rounds = 1;
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
    double fs = 0, h = 0, r = 0, p = 1;
    int64_t cs = 0;
    uint32_t isum = 0, usum = 0;
    int32_t ssum = 0;
    for (int k = 0; k < rounds; k++) {
        float kf = (float)(k & 7);
        /* Packed single: multiply-add, division, min/max. */
        for (int i = 0; i < N; i++)
            fc[i] = fa[i] * fb[i] + fb[i] / (fa[i] == 0 ? 1.0f : fa[i]) + kf;
        float s = 0, mn = fc[0], mx = fc[0];
        for (int i = 0; i < N; i++) {
            s += fc[i];
            mn = fc[i] < mn ? fc[i] : mn;
            mx = fc[i] > mx ? fc[i] : mx;
        }
        fs += (double)s + (double)mn - (double)mx;
        /* Scalar double: sums, square roots, products. */
        for (int i = 0; i < N; i++) {
            h += db[i];
            r += __builtin_sqrt(da[i] < 0 ? -da[i] : da[i]);
            p *= 1.0 + db[i] * db[i] * 1e-3;
        }
        /* Conversions. */
        for (int i = 0; i < N; i++) {
            cs += (int32_t)fc[i];
            cs += (int32_t)(da[i] / 1000.0);
            cs += (int64_t)(float)ia[i];
            cs += (int32_t)(double)(float)db[i];
        }
        /* Vectorised integers. */
        for (int i = 0; i < N; i++)
            isum += (uint32_t)(ia[i] * 3 + (ib[i] ^ ia[i]) - (ia[i] >> 3) + k);
        for (int i = 0; i < N; i++) {
            int32_t x = sa[i] + sb[i];
            ssum += x > 32767 ? 32767 : x < -32768 ? -32768 : x;
        }
        for (int i = 0; i < N; i++)
            usum += (uint32_t)((ua[i] + ub[i] + 1) >> 1) +
                    (ua[i] > ub[i] ? ua[i] - ub[i] : ub[i] - ua[i]);
    }
    printf("sse-bench %d %a %a %a %a %lld %u %d %u\n", rounds, fs, h, r, p, (long long)cs, isum,
           ssum, usum);
    return 0;
}
