/*
 * mem.c - the CPU's view of memory: segmentation checks, linear accesses
 * through the MMU's software TLB, instruction fetch.
 *
 * Every data access an instruction makes goes seg_lin() (limit, type and
 * presence checks; #GP/#SS) then lin_read()/lin_write() (paging, #PF, the
 * TLB fast path). Accesses that straddle a page boundary translate every
 * page they touch before the first byte is written, so a #PF on the second
 * page leaves memory untouched. A debugger's watchpoints are checked on the
 * slow path only: the pages they cover have no fast TLB entries for the
 * watched accesses (mmu.c), so every such access comes through here.
 */
#include <string.h>

#include "cpu/core.h"

/* ---------------- segmentation ---------------- */

static noreturn void seg_fault(CPU *cpu, int sreg) {
    cpu_raise(cpu, sreg == SEG_SS ? EXC_SS : EXC_GP, 0);
}

uint32_t seg_lin(CPU *cpu, int sreg, uint32_t off, unsigned size, int acc) {
    const SegReg *s = &cpu->seg[sreg];
    uint32_t last = off + size - 1;
    if (cpu_pe(cpu) && !cpu_v86(cpu)) {
        uint32_t f = s->flags;
        if (!(f & SF_P)) seg_fault(cpu, sreg); /* null selector or unusable */
        if (f & ST_CODE) {
            if ((acc & ACC_W) || !(f & ST_READABLE)) seg_fault(cpu, sreg);
        } else if ((acc & ACC_W) && !(f & ST_WRITABLE)) {
            seg_fault(cpu, sreg);
        }
        if (!(f & ST_CODE) && (f & ST_EXPDOWN)) {
            uint32_t upper = (f & SF_DB) ? 0xFFFFFFFFu : 0xFFFFu;
            if (off <= s->limit || last > upper || last < off) seg_fault(cpu, sreg);
        } else if (last > s->limit || last < off) {
            seg_fault(cpu, sreg);
        }
    } else if (last > s->limit || last < off) {
        seg_fault(cpu, sreg);
    }
    uint32_t lin = s->base + off;
    if (debug_data_armed(cpu)) debug_check_data(cpu, lin, size, acc & ACC_W);
    return lin;
}

/* ---------------- paging ---------------- */

static inline bool acc_user(const CPU *cpu, int acc) { return cpu->cpl == 3 && !(acc & ACC_SYS); }

static inline uint32_t load_le(const uint8_t *p, unsigned size) {
    if (size == 1) return p[0];
    if (size == 2) return (uint32_t)p[0] | (uint32_t)p[1] << 8;
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void store_le(uint8_t *p, unsigned size, uint32_t v) {
    if (size == 1) p[0] = (uint8_t)v;
    else if (size == 2) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
    else memcpy(p, &v, 4);
}

/* #AC: CR0.AM, EFLAGS.AC, CPL 3, misaligned data access. */
static inline void check_alignment(CPU *cpu, uint32_t lin, unsigned size, int acc) {
    if (size > 1 && (lin & (size - 1)) && cpu->cpl == 3 && !(acc & (ACC_SYS | ACC_X)) &&
        (cpu->cr0 & CR0_AM) && (cpu->eflags & FL_AC))
        cpu_raise(cpu, EXC_AC, 0);
}

/* Translate one page-contained access or raise #PF. */
static PhysAddr translate(CPU *cpu, uint32_t lin, int acc) {
    PhysAddr pa;
    uint32_t err;
    int kind = (acc & ACC_W) ? MMU_WRITE : (acc & ACC_X) ? MMU_FETCH : MMU_READ;
    if (!mmu_translate(&cpu->mmu, lin, kind, acc_user(cpu, acc), &pa, &err)) {
        cpu->cr2 = lin;
        cpu_raise(cpu, EXC_PF, (int)err);
    }
    return pa;
}

uint32_t lin_read(CPU *cpu, uint32_t lin, unsigned size, int acc) {
    check_alignment(cpu, lin, size, acc);
    if ((lin & 0xFFF) + size <= 0x1000) {
        uint8_t *p = mmu_tlb_read(&cpu->mmu, lin, acc_user(cpu, acc));
        if (p) return load_le(p, size);
        PhysAddr pa = translate(cpu, lin, acc & ~ACC_W);
        debug_watch(cpu, lin, size, false);
        return phys_read(cpu->mmu.pm, pa, size);
    }
    /* Straddles two pages: translate both, then gather bytes. */
    uint32_t n1 = 0x1000 - (lin & 0xFFF);
    PhysAddr pa1 = translate(cpu, lin, acc & ~ACC_W);
    PhysAddr pa2 = translate(cpu, lin + n1, acc & ~ACC_W);
    debug_watch(cpu, lin, size, false);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        PhysAddr pa = i < n1 ? pa1 + i : pa2 + (i - n1);
        v |= phys_read(cpu->mmu.pm, pa, 1) << (8 * i);
    }
    return v;
}

void lin_write(CPU *cpu, uint32_t lin, unsigned size, uint32_t val, int acc) {
    acc |= ACC_W;
    check_alignment(cpu, lin, size, acc);
    if ((lin & 0xFFF) + size <= 0x1000) {
        uint8_t *p = mmu_tlb_write(&cpu->mmu, lin, acc_user(cpu, acc));
        if (p) {
            store_le(p, size, val);
            return;
        }
        PhysAddr pa = translate(cpu, lin, acc);
        debug_watch(cpu, lin, size, true);
        phys_write(cpu->mmu.pm, pa, size, val);
        return;
    }
    uint32_t n1 = 0x1000 - (lin & 0xFFF);
    PhysAddr pa1 = translate(cpu, lin, acc);
    PhysAddr pa2 = translate(cpu, lin + n1, acc);
    debug_watch(cpu, lin, size, true);
    for (unsigned i = 0; i < size; i++) {
        PhysAddr pa = i < n1 ? pa1 + i : pa2 + (i - n1);
        phys_write(cpu->mmu.pm, pa, 1, (val >> (8 * i)) & 0xFF);
    }
}

void lin_probe_write(CPU *cpu, uint32_t lin, unsigned size, int acc) {
    acc |= ACC_W;
    if (mmu_tlb_write(&cpu->mmu, lin, acc_user(cpu, acc)) == NULL) translate(cpu, lin, acc);
    uint32_t last = lin + size - 1;
    if ((last & ~0xFFFu) != (lin & ~0xFFFu) &&
        mmu_tlb_write(&cpu->mmu, last, acc_user(cpu, acc)) == NULL)
        translate(cpu, last, acc);
}

uint8_t *lin_rmw_ptr(CPU *cpu, uint32_t lin, unsigned size, int acc) {
    acc |= ACC_W;
    bool user = acc_user(cpu, acc);
    if ((lin & 0xFFF) + size > 0x1000) {
        lin_probe_write(cpu, lin, size, acc);
        check_alignment(cpu, lin, size, acc & ~ACC_W);
        return NULL;
    }
    uint8_t *p = mmu_tlb_write(&cpu->mmu, lin, user);
    if (!p) {
        translate(cpu, lin, acc);
        p = mmu_tlb_write(&cpu->mmu, lin, user);
    }
    check_alignment(cpu, lin, size, acc & ~ACC_W);
    /* Reads must see the same bytes: the TLB entry serves both when it serves writes. */
    return p;
}

bool seg_range_ok(const CPU *cpu, int sreg, uint32_t off, uint32_t len, int acc) {
    const SegReg *s = &cpu->seg[sreg];
    uint32_t last = off + len - 1;
    if (len == 0 || last < off || last > s->limit) return false;
    if (cpu_pe(cpu) && !cpu_v86(cpu)) {
        uint32_t f = s->flags;
        if (!(f & SF_P) || (f & (ST_CODE | ST_EXPDOWN))) return false;
        if ((acc & ACC_W) && !(f & ST_WRITABLE)) return false;
    }
    return true;
}

uint8_t *lin_host_range(CPU *cpu, uint32_t lin, uint32_t len, int acc) {
    if (len == 0 || (lin & 0xFFF) + len > 0x1000) return NULL;
    bool user = acc_user(cpu, acc);
    bool write = acc & ACC_W;
    uint8_t *p = write ? mmu_tlb_write(&cpu->mmu, lin, user) : mmu_tlb_read(&cpu->mmu, lin, user);
    if (!p) {
        translate(cpu, lin, acc);
        p = write ? mmu_tlb_write(&cpu->mmu, lin, user) : mmu_tlb_read(&cpu->mmu, lin, user);
    }
    return p;
}

uint64_t lin_read64(CPU *cpu, uint32_t lin, int acc) {
    /* Translate the high half first so a fault there happens before anything is read. */
    uint32_t hi = lin_read(cpu, lin + 4, 4, acc);
    uint32_t lo = lin_read(cpu, lin, 4, acc);
    return (uint64_t)hi << 32 | lo;
}

void lin_write64(CPU *cpu, uint32_t lin, uint64_t val, int acc) {
    lin_probe_write(cpu, lin, 8, acc);
    lin_write(cpu, lin, 4, (uint32_t)val, acc);
    lin_write(cpu, lin + 4, 4, (uint32_t)(val >> 32), acc);
}

uint32_t mem_read(CPU *cpu, int sreg, uint32_t off, unsigned size) {
    return lin_read(cpu, seg_lin(cpu, sreg, off, size, ACC_R), size, ACC_R);
}

void mem_write(CPU *cpu, int sreg, uint32_t off, unsigned size, uint32_t val) {
    lin_write(cpu, seg_lin(cpu, sreg, off, size, ACC_W), size, val, ACC_W);
}

/* ---------------- instruction fetch ---------------- */

uint8_t fetch_byte(CPU *cpu, uint32_t eip) {
    const SegReg *cs = &cpu->seg[SEG_CS];
    if (eip > cs->limit) cpu_raise(cpu, EXC_GP, 0);
    uint32_t lin = cs->base + eip;
    uint8_t *p = mmu_tlb_fetch(&cpu->mmu, lin, cpu->cpl == 3);
    if (p) return *p;
    return (uint8_t)phys_read(cpu->mmu.pm, translate(cpu, lin, ACC_X), 1);
}
