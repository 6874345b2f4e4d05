/*
 * fpu_backend.c - which x87 backend computes (see fpu.h): the selection
 * (build default, BT86_FPU environment variable, fpu_select_backend) and the
 * fpu_host_* entry points that forward to it.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/fpu.h"

#if (defined(__x86_64__) || defined(__i386__)) && !defined(BT86_FPU_DEFAULT_SOFT)
#define DEFAULT_BACKEND (&fpu_backend_x87)
#else
#define DEFAULT_BACKEND (&fpu_backend_soft)
#endif

static const FpuBackend *current;

static const FpuBackend *backend_named(const char *name) {
    if (!name) return NULL;
    if (strcmp(name, "soft") == 0) return &fpu_backend_soft;
#if defined(__x86_64__) || defined(__i386__)
    if (strcmp(name, "host") == 0) return &fpu_backend_x87;
#endif
    return NULL;
}

bool fpu_select_backend(const char *name) {
    const FpuBackend *b = backend_named(name);
    if (!b) return false;
    current = b;
    return true;
}

const FpuBackend *fpu_backend(void) {
    if (!current) {
        const FpuBackend *b = backend_named(getenv("BT86_FPU"));
        current = b ? b : DEFAULT_BACKEND;
    }
    return current;
}

const char *fpu_backend_name(void) {
    return fpu_backend()->name;
}

bool fpu_backend_available(void) {
    return true;
}

uint16_t fpu_host_op(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, const F80 *b, F80 *r,
                     F80 *r2, uint32_t *eflags) {
    return fpu_backend()->op(op, cw, sw, a, b, r, r2, eflags);
}
uint16_t fpu_host_op_mem(FpuOp op, uint16_t cw, uint16_t sw, const F80 *a, FpuMemKind kind,
                         uint64_t bits, F80 *r) {
    return fpu_backend()->op_mem(op, cw, sw, a, kind, bits, r);
}
uint16_t fpu_host_load32(uint16_t cw, uint32_t bits, F80 *r) {
    return fpu_backend()->load32(cw, bits, r);
}
/* FLD m64 of a normal number, a zero or an infinity is exact and raises
 * nothing, on any backend: done here, without the backend (the x87 path
 * would reload the host's whole environment for it). NaNs and denormals
 * (IE, DE) go to the backend. */
uint16_t fpu_host_load64(uint16_t cw, uint64_t bits, F80 *r) {
    uint16_t sign = (uint16_t)(bits >> 48) & 0x8000u;
    uint32_t exp = (uint32_t)(bits >> 52) & 0x7FFu;
    uint64_t frac = bits & 0xFFFFFFFFFFFFFull;
    if (exp != 0 && exp != 0x7FF) {
        r->se = (uint16_t)(sign | (exp - 1023 + 16383));
        r->mant = 1ull << 63 | frac << 11;
        return 0;
    }
    if (frac == 0) {
        r->se = (uint16_t)(sign | (exp ? 0x7FFF : 0));
        r->mant = exp ? 1ull << 63 : 0;
        return 0;
    }
    return fpu_backend()->load64(cw, bits, r);
}
uint16_t fpu_host_loadint(uint16_t cw, int64_t v, F80 *r) {
    return fpu_backend()->loadint(cw, v, r);
}
uint16_t fpu_host_store32(uint16_t cw, const F80 *a, uint32_t *bits) {
    return fpu_backend()->store32(cw, a, bits);
}
/* FST m64 of a normal number well inside the double range (or a zero)
 * when rounding to nearest with the precision exception masked: the
 * rounding is done here (PE when inexact, C1 when rounded up), as every
 * backend computes it; anything else goes to the backend. */
uint16_t fpu_host_store64(uint16_t cw, const F80 *a, uint64_t *bits) {
    uint64_t sign = (uint64_t)(a->se & 0x8000u) << 48;
    int32_t exp = (int32_t)(a->se & 0x7FFFu) - 16383;
    if ((a->se & 0x7FFFu) == 0 && a->mant == 0) {
        *bits = sign;
        return 0;
    }
    if ((cw & 0x0C00u) == 0 /* RC nearest */ && (cw & 0x0020u) /* PM */ && (a->mant >> 63) &&
        exp >= -1000 && exp <= 1000) {
        uint64_t m = a->mant >> 11, rest = a->mant & 0x7FFu;
        bool up = rest > 0x400u || (rest == 0x400u && (m & 1));
        m += up;
        if (m >> 53) { /* the rounding carried into a new binade */
            m >>= 1;
            exp++;
        }
        *bits = sign | (uint64_t)(exp + 1023) << 52 | (m & 0xFFFFFFFFFFFFFull);
        return (uint16_t)((rest ? FSW_PE : 0) | (up ? FSW_C1 : 0));
    }
    return fpu_backend()->store64(cw, a, bits);
}
uint16_t fpu_host_storeint(uint16_t cw, const F80 *a, unsigned size, int64_t *v) {
    return fpu_backend()->storeint(cw, a, size, v);
}
uint16_t fpu_host_const(uint16_t cw, unsigned which, F80 *r) {
    return fpu_backend()->constant(cw, which, r);
}
