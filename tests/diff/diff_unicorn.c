/*
 * diff_unicorn.c - the unicorn oracle: random sequences of user-level
 * instructions with memory operands, run in bt86 and in Debian's libunicorn
 * (32-bit mode, flat), comparing registers, flags and memory.
 *
 * Memory layout (both sides): code at BT86_CODE; a 32-bit data area at
 * BT86_DATA; a 16-bit data window at 0x8000-0x9FFF for 16-bit addressing
 * (BX = 0x80xx, BP = 0x88xx, SI = 0x01xx, DI = 0x02xx, upper halves
 * random, so [bx+si] etc. land in the window); a stack below
 * BT86_STACK_TOP. An instruction that leaves flags undefined is followed
 * by "cmp eax, eax", so no undefined flag can leak into later results.
 *
 * Known oracle quirks (unicorn differs from the SDM; bt86 follows the SDM):
 *  - CMPXCHG8B: unicorn changes CF/PF/AF/SF/OF, which the SDM says are
 *    unaffected; its flags other than ZF are not compared (and are reset
 *    by the following "cmp eax, eax").
 */
#include "diff.h"

#include <stdio.h>
#include <string.h>

#ifdef BT86_HAVE_UNICORN
#include <dlfcn.h>
#include <unicorn/unicorn.h>

/* libunicorn exports QEMU-internal names that bt86 also defines (cpu_reset,
 * mmu_translate, parity_table). Loading it with RTLD_DEEPBIND makes it bind
 * to its own definitions; its entry points are looked up here. */
static struct {
    uc_err (*open)(uc_arch, uc_mode, uc_engine **);
    uc_err (*close)(uc_engine *);
    uc_err (*mem_map)(uc_engine *, uint64_t, size_t, uint32_t);
    uc_err (*mem_write)(uc_engine *, uint64_t, const void *, size_t);
    uc_err (*mem_read)(uc_engine *, uint64_t, void *, size_t);
    uc_err (*reg_write)(uc_engine *, int, const void *);
    uc_err (*reg_read)(uc_engine *, int, void *);
    uc_err (*emu_start)(uc_engine *, uint64_t, uint64_t, uint64_t, size_t);
    const char *(*strerror)(uc_err);
} uc_api;

#if defined(__SANITIZE_ADDRESS__)
#define BT86_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BT86_ASAN 1
#endif
#endif

static bool load_unicorn(void) {
    void *h = dlopen("libunicorn.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!h) return false;
#define LOAD(field, name) *(void **)&uc_api.field = dlsym(h, name)
    LOAD(open, "uc_open");
    LOAD(close, "uc_close");
    LOAD(mem_map, "uc_mem_map");
    LOAD(mem_write, "uc_mem_write");
    LOAD(mem_read, "uc_mem_read");
    LOAD(reg_write, "uc_reg_write");
    LOAD(reg_read, "uc_reg_read");
    LOAD(emu_start, "uc_emu_start");
    LOAD(strerror, "uc_strerror");
#undef LOAD
    return uc_api.open && uc_api.close && uc_api.mem_map && uc_api.mem_write && uc_api.mem_read &&
           uc_api.reg_write && uc_api.reg_read && uc_api.emu_start && uc_api.strerror;
}
#define uc_open uc_api.open
#define uc_close uc_api.close
#define uc_mem_map uc_api.mem_map
#define uc_mem_write uc_api.mem_write
#define uc_mem_read uc_api.mem_read
#define uc_reg_write uc_api.reg_write
#define uc_reg_read uc_api.reg_read
#define uc_emu_start uc_api.emu_start
#define uc_strerror uc_api.strerror

#define WIN16 0x8000u
#define WIN16_SIZE 0x2000u
#define STACK_BASE (BT86_STACK_TOP - 0x2000u)

typedef struct Gen {
    Rng *r;
    uint8_t *b;
    int n;
    bool addr16;
    uint32_t undefined; /* flags the last instruction left undefined */
} Gen;

static void put(Gen *g, uint8_t x) { g->b[g->n++] = x; }
static void put_imm(Gen *g, uint32_t v, unsigned size) {
    for (unsigned i = 0; i < size; i++) put(g, (uint8_t)(v >> (8 * i)));
}

/* A memory operand ModRM (+ displacement) with register field `reg`. */
static void put_mem(Gen *g, unsigned reg) {
    if (g->addr16) {
        static const uint8_t rms[6] = {0, 1, 2, 3, 6, 7}; /* bx+si bx+di bp+si bp+di bp+d bx+d */
        uint8_t rm = rms[rng_range(g->r, 6)];
        unsigned mod = (rm == 6) ? 1 + rng_range(g->r, 2) : rng_range(g->r, 3);
        put(g, (uint8_t)(mod << 6 | reg << 3 | rm));
        if (mod == 1) put(g, (uint8_t)rng_range(g->r, 0x80));
        if (mod == 2) put_imm(g, rng_range(g->r, 0x100), 2);
        return;
    }
    /* [ebx+disp8], [ebp+disp8], and SIB with base EBX, no index, disp32. */
    switch (rng_range(g->r, 3)) {
    case 0: put(g, (uint8_t)(0x40 | reg << 3 | 3)); put(g, (uint8_t)(rng_range(g->r, 0x100) - 0x80)); break;
    case 1: put(g, (uint8_t)(0x40 | reg << 3 | 5)); put(g, (uint8_t)(rng_range(g->r, 0x100) - 0x80)); break;
    default:
        put(g, (uint8_t)(0x80 | reg << 3 | 4));
        put(g, (uint8_t)(rng_range(g->r, 4) << 6 | 4 << 3 | 3));
        put_imm(g, rng_range(g->r, 0x100) - 0x80, 4);
        break;
    }
}

static void set_undefined(Gen *g, int fc) { g->undefined = flag_masks[fc].mask; }

/* One instruction; most have a memory operand. */
static void gen_one(Gen *g) {
    Rng *r = g->r;
    unsigned size = 1u << rng_range(r, 3); /* 1, 2, 4 */
    bool w = size != 1;
    /* Register operands stay away from ESP and from the address bases
     * EBX/EBP/ESI/EDI (BH is part of EBX): AL CL DL AH CH DH, or EAX ECX EDX. */
    static const uint8_t regs8[6] = {0, 1, 2, 4, 5, 6};
    unsigned reg = w ? rng_range(r, 3) : regs8[rng_range(r, 6)];
    if (size == 2) put(g, 0x66);
    if (g->addr16) put(g, 0x67);
    g->undefined = 0;
    switch (rng_range(r, 20)) {
    case 0: case 1: { /* ALU mem, reg / reg, mem */
        unsigned kind = rng_range(r, 8);
        put(g, (uint8_t)(kind << 3 | rng_range(r, 2) << 1 | w));
        put_mem(g, reg);
        if (kind == 1 || kind == 4 || kind == 6) set_undefined(g, FC_LOGIC);
        break;
    }
    case 2: { /* group 1 on memory */
        unsigned kind = rng_range(r, 8), form = size == 1 ? 0 : rng_range(r, 2) ? 1 : 3;
        put(g, (uint8_t)(0x80 | form));
        put_mem(g, kind);
        put_imm(g, rng_value(r), form == 1 ? size : 1);
        if (kind == 1 || kind == 4 || kind == 6) set_undefined(g, FC_LOGIC);
        break;
    }
    case 3: /* INC/DEC/NOT/NEG memory */
        if (rng_range(r, 2)) { put(g, (uint8_t)(0xFE | w)); put_mem(g, rng_range(r, 2)); }
        else { put(g, (uint8_t)(0xF6 | w)); put_mem(g, 2 + rng_range(r, 2)); }
        break;
    case 4: { /* shifts/rotates on memory */
        unsigned kind = rng_range(r, 8), count = rng_range(r, 10);
        if (rng_range(r, 2)) { put(g, (uint8_t)(0xC0 | w)); put_mem(g, kind); put(g, (uint8_t)count); }
        else { put(g, (uint8_t)(0xD0 | w)); put_mem(g, kind); count = 1; }
        if (count) set_undefined(g, kind < 4 ? (count == 1 ? FC_NONE : FC_ROTN) : (count == 1 ? FC_SHIFT1 : FC_SHIFTN));
        break;
    }
    case 5: /* MUL/IMUL memory */
        put(g, (uint8_t)(0xF6 | w));
        put_mem(g, 4 + rng_range(r, 2));
        set_undefined(g, FC_MUL);
        break;
    case 6: /* MOV reg<->mem, MOV mem, imm */
        if (rng_range(r, 2)) { put(g, (uint8_t)(0x88 | rng_range(r, 2) << 1 | w)); put_mem(g, reg); }
        else { put(g, (uint8_t)(0xC6 | w)); put_mem(g, 0); put_imm(g, rng_value(r), size); }
        break;
    case 7: /* MOVZX/MOVSX from memory, LEA */
        if (rng_range(r, 3)) { put(g, 0x0F); put(g, (uint8_t)((rng_range(r, 2) ? 0xBE : 0xB6) | rng_range(r, 2))); put_mem(g, reg & 3); }
        else { put(g, 0x8D); put_mem(g, reg & 3); }
        break;
    case 8: /* XCHG/XADD/CMPXCHG with memory */
        switch (rng_range(r, 3)) {
        case 0: put(g, (uint8_t)(0x86 | w)); break;
        case 1: put(g, 0x0F); put(g, (uint8_t)(0xC0 | w)); break;
        default: put(g, 0x0F); put(g, (uint8_t)(0xB0 | w)); break;
        }
        put_mem(g, reg);
        break;
    case 9: /* BT* with memory and an immediate or small register offset (EDX) */
        if (size == 1) { size = 4; w = true; }
        put(g, 0x0F);
        if (rng_range(r, 2)) { put(g, (uint8_t)(0xA3 | rng_range(r, 4) << 3)); put_mem(g, 2); }
        else { put(g, 0xBA); put_mem(g, 4 + rng_range(r, 4)); put(g, (uint8_t)rng_next(r)); }
        set_undefined(g, FC_BT);
        break;
    case 10: /* SETcc memory, CMOVcc from memory */
        if (rng_range(r, 2)) { put(g, 0x0F); put(g, (uint8_t)(0x90 | rng_range(r, 16))); put_mem(g, 0); }
        else { put(g, 0x0F); put(g, (uint8_t)(0x40 | rng_range(r, 16))); put_mem(g, reg & 3); }
        break;
    case 11: /* stack: push/pop register, immediate, memory */
        g->n = 0;
        if (size == 2) put(g, 0x66);
        switch (rng_range(r, 4)) {
        case 0: put(g, (uint8_t)(0x50 | rng_range(r, 8) % 4)); break;
        case 1: put(g, (uint8_t)(0x58 | (reg & 3) % 3)); break;
        case 2: put(g, 0x6A); put(g, (uint8_t)rng_next(r)); break;
        default: if (g->addr16) put(g, 0x67); put(g, 0xFF); put_mem(g, 6); break;
        }
        break;
    case 12: { /* BCD and ASCII adjusts */
        g->n = 0;
        static const uint8_t ops[4] = {0x27, 0x2F, 0x37, 0x3F};
        unsigned k = rng_range(r, 6);
        if (k < 4) { put(g, ops[k]); set_undefined(g, k < 2 ? FC_BCD_ADJ : FC_ASCII); }
        else { put(g, k == 4 ? 0xD4 : 0xD5); put(g, (uint8_t)(1 + rng_range(r, 255))); set_undefined(g, FC_AAM); }
        break;
    }
    case 13: /* string instructions, optionally REP (ECX small), either direction */
        g->n = 0;
        if (rng_range(r, 2)) put(g, (uint8_t)(0xFC | rng_range(r, 2))); /* cld / std */
        put(g, 0xB9); put_imm(g, rng_range(r, 6), 4); /* mov ecx, small count */
        {
            static const uint8_t ops[5] = {0xA4, 0xA6, 0xAA, 0xAC, 0xAE};
            unsigned k = rng_range(r, 5);
            if (rng_range(r, 2)) put(g, (k == 1 || k == 4) && rng_range(r, 2) ? 0xF2 : 0xF3);
            if (size == 2) put(g, 0x66);
            put(g, (uint8_t)(ops[k] | w));
        }
        put(g, 0xFC); /* cld again so later code sees DF = 0 */
        break;
    case 14: /* XLAT, CBW/CWD, LAHF/SAHF */
        g->n = 0;
        { static const uint8_t ops[5] = {0xD7, 0x98, 0x99, 0x9E, 0x9F}; put(g, ops[rng_range(r, 5)]); }
        if (g->b[0] == 0x9E) g->undefined = 0; /* SAHF defines the low flags; OF untouched */
        break;
    case 15: /* conditional jump over a 2-byte instruction */
        g->n = 0;
        put(g, (uint8_t)(0x70 | rng_range(r, 16)));
        put(g, 2);
        put(g, 0x01); put(g, (uint8_t)(0xC0 | rng_range(r, 4) << 3)); /* add eax/ecx/edx/ebx to eax */
        break;
    case 16: /* call forward and return: call +1; ret... as push/ret pair */
        g->n = 0;
        put(g, 0xE8); put_imm(g, 1, 4); /* call over the next byte */
        put(g, 0x90);                   /* (skipped) */
        put(g, 0x58 | 1);               /* pop ecx: the return address */
        break;
    case 17: /* ENTER/LEAVE (32-bit sequences: EBP is a full pointer there) */
        g->n = 0;
        if (g->addr16) { put(g, 0x90); break; }
        put(g, 0xC8); put_imm(g, rng_range(r, 32) * 4, 2); put(g, (uint8_t)rng_range(r, 3));
        put(g, 0xC9);
        break;
    case 18: /* CMPXCHG8B */
        g->n = 0;
        if (g->addr16) put(g, 0x67);
        put(g, 0x0F); put(g, 0xC7); put_mem(g, 1);
        g->undefined = FLAG_ALL & ~FLAG_ZF; /* oracle quirk: see the header */
        break;
    default: /* register-only instruction from the host generator's families */
        g->n = 0;
        {
            DiffState dummy = {{0}, 0};
            int fc;
            g->n = gen_host_insn(r, &dummy, g->b, &fc);
            /* Divisions would need operand fix-ups: replace them with a multiply. */
            if (fc == FC_DIV) { g->n = 0; put(g, 0xF7); put(g, 0xE1); fc = FC_MUL; }
            /* Counts in CL are only known at run time: assume the worst. */
            int op = g->b[0] == 0x66 ? 1 : 0;
            if (g->b[op] == 0xD2 || g->b[op] == 0xD3) fc = FC_SHIFTN;
            if (g->b[op] == 0x0F && (g->b[op + 1] == 0xA5 || g->b[op + 1] == 0xAD)) fc = FC_DSHIFTN;
            /* Keep the address bases: a destination of EBX/EBP/ESI/EDI (or BH) becomes a NOP. */
            if (fc != FC_SHIFTN && g->n >= 2) {
                uint8_t last = g->b[g->n - 1];
                bool modrm_last = (last & 0xC0) == 0xC0;
                if (modrm_last && ((last & 7) >= 3 || ((last >> 3) & 7) >= 3)) { g->n = 0; put(g, 0x90); fc = FC_NONE; }
            }
            set_undefined(g, fc);
        }
        break;
    }
}

typedef struct Layout {
    uint32_t base, size;
} Layout;
static const Layout regions[] = {{WIN16, WIN16_SIZE}, {BT86_DATA, BT86_DATA_SIZE}, {STACK_BASE, 0x2000}};
#define NREGIONS (int)(sizeof regions / sizeof regions[0])

static int uc_regs[8];

/* Run code[0..len) on both sides from the same initial state and memory. */
/* A fresh engine for every run: unicorn's translated-block cache otherwise
 * survives uc_mem_write of new code at the same address and runs stale code. */
static uc_engine *new_engine(void) {
    uc_engine *uc;
    if (uc_open(UC_ARCH_X86, UC_MODE_32, &uc) != UC_ERR_OK) return NULL;
    uc_mem_map(uc, BT86_CODE, 0x1000, UC_PROT_ALL);
    for (int i = 0; i < NREGIONS; i++) uc_mem_map(uc, regions[i].base, regions[i].size, UC_PROT_ALL);
    return uc;
}

static bool run_both(const uint8_t *code, int len, const DiffState *init,
                     uint8_t mem_init[][0x2000], uint32_t undefined, DiffState *want, DiffState *got,
                     bool *ran, int *bad_region, uint32_t *bad_off, uint8_t *uc_byte, uint8_t *bt_byte,
                     uc_err *err) {
    static uint8_t mem_uc[0x2000], mem_bt[0x2000];
    uc_engine *uc = new_engine();
    if (!uc) {
        *err = UC_ERR_NOMEM;
        return false;
    }
    for (int i = 0; i < NREGIONS; i++) {
        uc_mem_write(uc, regions[i].base, mem_init[i], regions[i].size);
        bt86_side_poke(regions[i].base, mem_init[i], regions[i].size);
    }
    uc_mem_write(uc, BT86_CODE, code, (size_t)len);
    for (int i = 0; i < 8; i++) uc_reg_write(uc, uc_regs[i], &init->regs[i]);
    uc_reg_write(uc, UC_X86_REG_EFLAGS, &init->eflags);
    *err = uc_emu_start(uc, BT86_CODE, BT86_CODE + (uint64_t)len, 0, 0);
    if (*err != UC_ERR_OK) {
        uc_close(uc);
        return false;
    }
    *want = *init;
    for (int i = 0; i < 8; i++) uc_reg_read(uc, uc_regs[i], &want->regs[i]);
    uc_reg_read(uc, UC_X86_REG_EFLAGS, &want->eflags);
    *got = *init;
    *ran = bt86_side_run(code, len, got, 4096);
    bool ok = *ran && memcmp(want->regs, got->regs, sizeof want->regs) == 0 &&
              (((want->eflags ^ got->eflags) & FLAG_ALL & ~undefined) == 0);
    *bad_region = -1;
    for (int i = 0; ok && i < NREGIONS; i++) {
        uc_mem_read(uc, regions[i].base, mem_uc, regions[i].size);
        bt86_side_peek(regions[i].base, mem_bt, regions[i].size);
        if (memcmp(mem_uc, mem_bt, regions[i].size) != 0) {
            ok = false;
            *bad_region = i;
            for (*bad_off = 0; mem_uc[*bad_off] == mem_bt[*bad_off]; (*bad_off)++) {}
            *uc_byte = mem_uc[*bad_off];
            *bt_byte = mem_bt[*bad_off];
        }
    }
    uc_close(uc);
    return ok;
}

static int uc_regs[8] = {UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
                         UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI};

int run_unicorn_oracle(unsigned long long count, unsigned long long seed, bool verbose, DiffResult *res) {
#ifdef BT86_ASAN
    /* AddressSanitizer cannot run a library loaded with RTLD_DEEPBIND; the
     * normal build runs this oracle. */
    (void)count; (void)seed; (void)verbose; (void)res;
    printf("diff-unicorn: skipped: not available under AddressSanitizer (RTLD_DEEPBIND); the normal build runs it\n");
    return DIFF_SKIP;
#endif
    if (!load_unicorn()) {
        printf("diff-unicorn: skipped: libunicorn.so.2 could not be loaded\n");
        return DIFF_SKIP;
    }
    uc_engine *probe = new_engine();
    if (!probe) {
        printf("diff-unicorn: skipped: unicorn failed to open\n");
        return DIFF_SKIP;
    }
    uc_close(probe);
    bt86_side_init();
    Rng rng = {seed * 0x9E3779B97F4A7C15ULL + 7};
    static uint8_t mem_init[NREGIONS][0x2000];
    unsigned long long oracle_errors = 0;
    for (unsigned long long done = 0, t = 0; done < count; t++) {
        /* A sequence of 4-16 instructions. */
        uint8_t code[1024];
        int bounds[64], nb = 0; /* start offsets of generated pieces, for bisection */
        int len = 0, ninsns = 4 + (int)rng_range(&rng, 13);
        Gen g = {&rng, NULL, 0, rng_range(&rng, 3) == 0, 0};
        uint32_t last_undefined = 0;
        for (int i = 0; i < ninsns; i++) {
            g.b = code + len;
            g.n = 0;
            bounds[nb++] = len;
            gen_one(&g);
            len += g.n;
            last_undefined = g.undefined;
            if (g.undefined && i + 1 < ninsns) {
                code[len++] = 0x39; /* cmp eax, eax: flags defined again */
                code[len++] = 0xC0;
                last_undefined = 0;
            }
        }
        DiffState init;
        for (int i = 0; i < 8; i++) init.regs[i] = rng_value(&rng);
        init.regs[4] = BT86_STACK_TOP - 0x800;
        init.regs[1] &= 0xFFFF00FF; /* ECX: CL set by string sequences anyway */
        if (g.addr16) { /* EBP keeps random upper bits: 16-bit addressing must ignore them */
            init.regs[3] = WIN16 + rng_range(&rng, 0x80);
            init.regs[5] = (init.regs[5] & 0xFFFF0000u) | (WIN16 + 0x800 + rng_range(&rng, 0x80));
            init.regs[6] = 0x100 + rng_range(&rng, 0x80);
            init.regs[7] = 0x200 + rng_range(&rng, 0x80);
        } else {
            init.regs[3] = BT86_DATA + 0x400 + rng_range(&rng, 0x80);
            init.regs[5] = BT86_DATA + 0x800 + rng_range(&rng, 0x80);
        }
        /* String instructions use (E)SI/(E)DI; keep them in a data area in both modes. */
        bool has_string = false;
        for (int i = 0; i < len; i++)
            if (code[i] >= 0xA4 && code[i] <= 0xAF && code[i] != 0xA8 && code[i] != 0xA9) has_string = true;
        if (has_string || !g.addr16) { /* (in 16-bit forms SI/DI then index the window) */
            init.regs[6] = BT86_DATA + 0x1000 + rng_range(&rng, 0x100);
            init.regs[7] = BT86_DATA + 0x1400 + rng_range(&rng, 0x100);
        }
        init.regs[2] = rng_range(&rng, 0x100) - 0x80; /* small signed EDX: BT bit offsets */
        init.eflags = (rng_range(&rng, 0x1000) & FLAG_ALL) | 0x2;

        for (int i = 0; i < NREGIONS; i++)
            for (uint32_t k = 0; k < regions[i].size; k++) mem_init[i][k] = (uint8_t)rng_next(&rng);
        DiffState want, got;
        bool ran;
        int bad_region;
        uint32_t bad_off = 0;
        uint8_t uc_byte = 0, bt_byte = 0;
        uc_err err;
        bool ok = run_both(code, len, &init, mem_init, last_undefined, &want, &got, &ran, &bad_region,
                           &bad_off, &uc_byte, &bt_byte, &err);
        if (err != UC_ERR_OK) { /* the generator produced something unicorn rejects */
            oracle_errors++;
            if (verbose) {
                printf("oracle error seed %llu test %llu: %s\n", seed, t, uc_strerror(err));
                print_code(code, len);
            }
            continue;
        }
        done += (unsigned long long)ninsns;
        res->instructions += (unsigned long long)ninsns;
        if (ok) {
            res->passed++;
            continue;
        }
        res->failed++;
        if (res->failed <= 10 || verbose) {
            /* Bisect: the shortest prefix of pieces that already diverges. */
            int first_bad = nb;
            for (int k = 1; k <= nb; k++) {
                int plen = k < nb ? bounds[k] : len;
                DiffState w2, g2;
                bool r2;
                int br2;
                uint32_t bo2;
                uint8_t ub2, bb2;
                uc_err e2;
                if (!run_both(code, plen, &init, mem_init, FLAG_ALL, &w2, &g2, &r2, &br2, &bo2, &ub2, &bb2, &e2) &&
                    e2 == UC_ERR_OK) {
                    first_bad = k;
                    if (verbose) {
                        print_state("unicorn@", &w2);
                        print_state("bt86@", &g2);
                        if (br2 >= 0) printf("  memory@ %08x: unicorn %02x bt86 %02x\n", regions[br2].base + bo2, ub2, bb2);
                    }
                    break;
                }
            }
            printf("DIVERGENCE seed %llu test %llu%s; first diverging piece: %d (offset %d)\n", seed, t,
                   ran ? "" : " (bt86 raised an exception)", first_bad, bounds[first_bad - 1]);
            {
                int p0 = bounds[first_bad - 1], p1 = first_bad < nb ? bounds[first_bad] : len;
                printf("  diverging piece:\n");
                print_code(code + p0, p1 - p0);
            }
            if (!ran) printf("  bt86 exception vector %d\n", bt86_side_last_exception());
            print_code(code, len);
            print_state("initial", &init);
            print_state("unicorn", &want);
            print_state("bt86", &got);
            if (bad_region >= 0)
                printf("  memory differs first at %08x: unicorn %02x bt86 %02x\n", regions[bad_region].base + bad_off,
                       uc_byte, bt_byte);
        }
    }
    if (oracle_errors) printf("diff-unicorn: %llu sequences rejected by unicorn (not counted)\n", oracle_errors);
    return DIFF_OK;
}

#else
int run_unicorn_oracle(unsigned long long count, unsigned long long seed, bool verbose, DiffResult *res) {
    (void)count;
    (void)seed;
    (void)verbose;
    (void)res;
    printf("diff-unicorn: skipped: built without libunicorn\n");
    return DIFF_SKIP;
}
#endif
