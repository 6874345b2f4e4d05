/*
 * mmu.c - physical address map and paging (see mmu.h).
 *
 * Contract on A20: mmu_translate() applies the A20 mask to the physical
 * addresses it returns and to the page-table addresses it walks; phys_*()
 * take addresses as given (DMA and loaders never see A20).
 */
#include "mmu/mmu.h"

#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "snap/snap.h"

/* ---------------- physical map ---------------- */

PhysMem *physmem_new(uint64_t ram_size) {
    PhysMem *pm = calloc(1, sizeof *pm);
    if (!pm) return NULL;
    uint64_t size = (ram_size + 0xFFF) & ~(uint64_t)0xFFF;
    if (size > PHYS_RAM_MAX) size = PHYS_RAM_MAX;
    pm->ram_below = physmem_below_4g(size);
    pm->ram_above = size - pm->ram_below;
    pm->ram_end = pm->ram_above ? PHYS_4G + pm->ram_above : pm->ram_below;
    if (pm->ram_end > SIZE_MAX) {
        free(pm);
        return NULL;
    }
    /* Anonymous memory reads as zeros and costs the host nothing until the
     * guest writes a page; MAP_NORESERVE: no commit charge for the whole. */
    pm->map_size = pm->ram_end ? (size_t)pm->ram_end : 4096;
    void *p = mmap(NULL, pm->map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        free(pm);
        return NULL;
    }
    pm->ram = p;
    /* The hole below 4 GiB is not RAM: nothing may reach it. */
    if (pm->ram_above) mprotect(pm->ram + pm->ram_below, PHYS_4G - pm->ram_below, PROT_NONE);
    pm->a20_mask = 0xFFFFFFFFu;
    return pm;
}

void physmem_free(PhysMem *pm) {
    if (!pm) return;
    for (int i = 0; i < pm->nregions; i++)
        free(pm->regions[i].data);
    free(pm->shadow_rom);
    free(pm->code_pages);
    if (pm->ram) munmap(pm->ram, pm->map_size);
    free(pm);
}

static bool range_ok(uint32_t start, uint32_t size) {
    return size && (uint64_t)start + size <= 0x100000000ull;
}

int physmem_add_rom(PhysMem *pm, uint32_t start, uint32_t size, const void *data) {
    if (!range_ok(start, size) || pm->nregions >= PHYS_MAX_REGIONS) return -1;
    uint8_t *copy = malloc(size);
    if (!copy) return -1;
    memcpy(copy, data, size);
    pm->regions[pm->nregions++] =
        (PhysRegion){.start = start, .size = size, .kind = PHYS_ROM, .data = copy};
    return 0;
}

int physmem_add_mmio(PhysMem *pm, uint32_t start, uint32_t size, MmioReadFn rd, MmioWriteFn wr,
                     void *opaque) {
    if (!range_ok(start, size) || pm->nregions >= PHYS_MAX_REGIONS) return -1;
    pm->regions[pm->nregions++] = (PhysRegion){
        .start = start, .size = size, .kind = PHYS_MMIO, .read = rd, .write = wr, .opaque = opaque};
    return 0;
}

int physmem_set_mmio_peek(PhysMem *pm, MmioReadFn rd, void *opaque, MmioPeekFn peek) {
    for (int i = 0; i < pm->nregions; i++) {
        const PhysRegion *r = &pm->regions[i];
        if (r->kind != PHYS_MMIO || r->read != rd || r->opaque != opaque) continue;
        pm->peek[i] = peek;
        return 0;
    }
    return -1;
}

int physmem_move_mmio(PhysMem *pm, MmioReadFn rd, void *opaque, uint32_t start, uint32_t size) {
    if (size && !range_ok(start, size)) return -1;
    for (int i = 0; i < pm->nregions; i++) {
        PhysRegion *r = &pm->regions[i];
        if (r->kind != PHYS_MMIO || r->read != rd || r->opaque != opaque) continue;
        if (r->start == start && r->size == size) return 0;
        /* A region of size 0 matches no address and overlaps nothing. */
        r->start = start;
        r->size = size;
        if (pm->map_changed) pm->map_changed(pm->map_opaque);
        return 0;
    }
    return -1;
}

void physmem_set_a20(PhysMem *pm, bool enabled) {
    uint32_t mask = enabled ? 0xFFFFFFFFu : 0xFFEFFFFFu;
    if (mask == pm->a20_mask) return;
    pm->a20_mask = mask;
    if (pm->map_changed) pm->map_changed(pm->map_opaque);
}

int physmem_set_shadow_rom(PhysMem *pm, uint32_t at, const void *data, uint32_t len) {
    if (at < SHADOW_BASE || len > SHADOW_SIZE || at - SHADOW_BASE > SHADOW_SIZE - len) return -1;
    if (!pm->shadow_rom) {
        pm->shadow_rom = malloc(SHADOW_SIZE);
        if (!pm->shadow_rom) return -1;
        memset(pm->shadow_rom, 0xFF, SHADOW_SIZE);
    }
    memcpy(pm->shadow_rom + (at - SHADOW_BASE), data, len);
    memset(pm->shadow, 0, sizeof pm->shadow);
    if (pm->map_changed) pm->map_changed(pm->map_opaque);
    return 0;
}

void physmem_set_shadow(PhysMem *pm, unsigned seg, unsigned mode) {
    if (seg >= SHADOW_SEGS || pm->shadow[seg] == (mode & 3)) return;
    pm->shadow[seg] = (uint8_t)(mode & 3);
    if (pm->map_changed) pm->map_changed(pm->map_opaque);
}

static inline bool in_shadow(const PhysMem *pm, uint32_t a) {
    return pm->shadow_rom && a - SHADOW_BASE < SHADOW_SIZE;
}

static inline unsigned shadow_mode(const PhysMem *pm, uint32_t a) {
    return pm->shadow[(a - SHADOW_BASE) / SHADOW_SEG_SIZE];
}

/* Host byte for a read/write of one shadow address (NULL: write dropped). */
static uint8_t *shadow_byte(PhysMem *pm, uint32_t a, bool write) {
    unsigned mode = shadow_mode(pm, a);
    bool ram = write ? (mode & SHADOW_WRITE_RAM) : (mode & SHADOW_READ_RAM);
    if (ram) return a < pm->ram_below ? pm->ram + a : NULL;
    return write ? NULL : pm->shadow_rom + (a - SHADOW_BASE);
}

/* The most recently added region containing a (later regions win), or NULL. */
static PhysRegion *find_region(PhysMem *pm, uint32_t a) {
    for (int i = pm->nregions - 1; i >= 0; i--) {
        PhysRegion *r = &pm->regions[i];
        if (a - r->start < r->size) return r;
    }
    return NULL;
}

static inline bool in_ram(const PhysMem *pm, uint32_t a, unsigned size) {
    return a < pm->ram_below && size <= pm->ram_below - a;
}

static uint32_t read_le(const uint8_t *p, unsigned size) {
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

/* Tell the translator before RAM bytes [a, a + len) that may hold code change. */
static inline void note_ram_write(PhysMem *pm, PhysAddr a, uint64_t len, int by) {
    if (!pm->code_pages || !len || a >= pm->ram_end) return;
    uint64_t end = a + len;
    if (end > pm->ram_end) end = pm->ram_end;
    for (uint64_t pg = a >> 12; pg <= (end - 1) >> 12; pg++) {
        if (pm->code_pages[pg]) {
            pm->code_written(pm->code_opaque, a, end - a, by);
            return;
        }
    }
}

int physmem_track_code(PhysMem *pm, void (*code_written)(void *, PhysAddr, uint64_t, int),
                       void *opaque) {
    if (!pm->code_pages) {
        pm->code_pages = calloc(pm->ram_end / 4096 + 1, 1);
        if (!pm->code_pages) return -1;
    }
    pm->code_written = code_written;
    pm->code_opaque = opaque;
    return 0;
}

static void write_le(uint8_t *p, unsigned size, uint32_t v) {
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* True when all `size` bytes at a belong to the same target (region r, or plain RAM if r is NULL).
 */
static bool same_target(PhysMem *pm, PhysRegion *r, uint32_t a, unsigned size) {
    if (size == 1) return true;
    uint32_t last = a + size - 1;
    if (last < a) return false; /* wraps at 4 GiB */
    if (r) return last - r->start < r->size && find_region(pm, last) == r;
    return in_ram(pm, a, size) && find_region(pm, last) == NULL;
}

static uint32_t phys_read32(PhysMem *pm, uint32_t paddr, unsigned size) {
    if (in_shadow(pm, paddr) || in_shadow(pm, paddr + size - 1)) {
        uint32_t v = 0;
        for (unsigned i = 0; i < size; i++) {
            uint32_t a = paddr + i;
            uint8_t b = 0xFF;
            if (in_shadow(pm, a)) {
                uint8_t *p = shadow_byte(pm, a, false);
                if (p) b = *p;
            } else {
                b = (uint8_t)phys_read32(pm, a, 1);
            }
            v |= (uint32_t)b << (8 * i);
        }
        return v;
    }
    PhysRegion *r = find_region(pm, paddr);
    if (!same_target(pm, r, paddr, size)) {
        uint32_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= phys_read32(pm, paddr + i, 1) << (8 * i);
        return v;
    }
    if (r) {
        if (r->kind == PHYS_ROM) return read_le(r->data + (paddr - r->start), size);
        if (pm->mmio_touched) pm->mmio_touched(pm->code_opaque);
        return r->read ? r->read(r->opaque, paddr - r->start, size)
                       : (uint32_t)(((uint64_t)1 << (8 * size)) - 1);
    }
    if (in_ram(pm, paddr, size)) return read_le(pm->ram + paddr, size);
    return (uint32_t)(((uint64_t)1 << (8 * size)) - 1); /* unmapped: all ones */
}

static void phys_write32(PhysMem *pm, uint32_t paddr, unsigned size, uint32_t val) {
    if (in_shadow(pm, paddr) || in_shadow(pm, paddr + size - 1)) {
        for (unsigned i = 0; i < size; i++) {
            uint32_t a = paddr + i;
            if (in_shadow(pm, a)) {
                uint8_t *p = shadow_byte(pm, a, true);
                if (p) {
                    note_ram_write(pm, a, 1, CODE_WRITE_CPU);
                    *p = (uint8_t)(val >> (8 * i));
                }
            } else {
                phys_write32(pm, a, 1, (val >> (8 * i)) & 0xFF);
            }
        }
        return;
    }
    PhysRegion *r = find_region(pm, paddr);
    if (!same_target(pm, r, paddr, size)) {
        for (unsigned i = 0; i < size; i++)
            phys_write32(pm, paddr + i, 1, (val >> (8 * i)) & 0xFF);
        return;
    }
    if (r) {
        if (r->kind == PHYS_MMIO) {
            if (pm->mmio_touched) pm->mmio_touched(pm->code_opaque);
            if (r->write) r->write(r->opaque, paddr - r->start, size, val);
        }
        return; /* ROM: writes ignored */
    }
    if (in_ram(pm, paddr, size)) {
        note_ram_write(pm, paddr, size, CODE_WRITE_CPU);
        write_le(pm->ram + paddr, size, val);
    }
}

/* At and above 4 GiB there is only RAM (ram_above bytes): elsewhere reads
 * give all ones and writes vanish, byte by byte where an access straddles
 * its end. An access whose bytes start below 4 GiB wraps as the 32-bit bus
 * does. */
uint32_t phys_read(PhysMem *pm, PhysAddr paddr, unsigned size) {
    if (!(paddr >> 32)) return phys_read32(pm, (uint32_t)paddr, size);
    if (physmem_is_ram(pm, paddr, size)) return read_le(pm->ram + paddr, size);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (physmem_is_ram(pm, paddr + i, 1) ? pm->ram[paddr + i] : 0xFFu) << (8 * i);
    return v;
}

void phys_write(PhysMem *pm, PhysAddr paddr, unsigned size, uint32_t val) {
    if (!(paddr >> 32)) {
        phys_write32(pm, (uint32_t)paddr, size, val);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        if (!physmem_is_ram(pm, paddr + i, 1)) continue;
        note_ram_write(pm, paddr + i, 1, CODE_WRITE_CPU);
        pm->ram[paddr + i] = (uint8_t)(val >> (8 * i));
    }
}

/* Bulk copies touch plain RAM only (and ROM for reads); anything else fails. */
static bool bulk_ok(PhysMem *pm, PhysAddr paddr, size_t len) {
    if (len == 0) return true;
    if (!physmem_is_ram(pm, paddr, len)) return false;
    if (paddr >= PHYS_4G) return true; /* no regions up there */
    if (pm->shadow_rom && paddr < SHADOW_BASE + SHADOW_SIZE && paddr + len > SHADOW_BASE)
        return false;
    for (int i = 0; i < pm->nregions; i++) {
        const PhysRegion *r = &pm->regions[i];
        uint64_t a0 = paddr, a1 = (uint64_t)paddr + len, r0 = r->start,
                 r1 = (uint64_t)r->start + r->size;
        if (a0 < r1 && r0 < a1) return false;
    }
    return true;
}

/* Where a device's write of byte a lands: RAM, or the shadowed BIOS area's
 * RAM while PAM lets writes through; NULL for anything else. */
static uint8_t *dma_write_byte(PhysMem *pm, uint32_t a) {
    PhysRegion *r = find_region(pm, a);
    if (!r && in_shadow(pm, a)) return shadow_byte(pm, a, true);
    return !r && a < pm->ram_below ? pm->ram + a : NULL;
}

int phys_copy_to(PhysMem *pm, PhysAddr paddr, const void *src, size_t len) {
    if (!bulk_ok(pm, paddr, len)) {
        /* Slow path (e.g. a firmware stack in the shadowed BIOS area, below
         * 4 GiB): all bytes must land, or none is written. */
        if (paddr >= PHYS_4G || len > PHYS_4G - paddr) return -1;
        for (size_t i = 0; i < len; i++)
            if (!dma_write_byte(pm, (uint32_t)(paddr + i))) return -1;
        for (size_t i = 0; i < len; i++) {
            uint32_t a = (uint32_t)(paddr + i);
            note_ram_write(pm, a, 1, CODE_WRITE_DEVICE);
            *dma_write_byte(pm, a) = ((const uint8_t *)src)[i];
        }
        return 0;
    }
    if (len) {
        note_ram_write(pm, paddr, len, CODE_WRITE_DEVICE);
        memcpy(pm->ram + paddr, src, len);
    }
    return 0;
}

int phys_copy_from(PhysMem *pm, PhysAddr paddr, void *dst, size_t len) {
    if (bulk_ok(pm, paddr, len)) {
        if (len) memcpy(dst, pm->ram + paddr, len);
        return 0;
    }
    /* Slow path that also reads ROM; fails on MMIO and unmapped bytes. */
    uint8_t *d = dst;
    for (size_t i = 0; i < len; i++) {
        if (paddr + i > 0xFFFFFFFFull) return -1; /* above 4 GiB: RAM only, not all of it */
        uint32_t a = (uint32_t)(paddr + i);
        PhysRegion *r = find_region(pm, a);
        if (!r && in_shadow(pm, a)) {
            uint8_t *p = shadow_byte(pm, a, false);
            if (!p) return -1;
            d[i] = *p;
        } else if (r && r->kind == PHYS_ROM)
            d[i] = r->data[a - r->start];
        else if (!r && a < pm->ram_below)
            d[i] = pm->ram[a];
        else
            return -1;
    }
    return 0;
}

int phys_peek(PhysMem *pm, PhysAddr paddr, void *dst, size_t len) {
    if (phys_copy_from(pm, paddr, dst, len) == 0) return 0;
    uint8_t *d = dst;
    for (size_t i = 0; i < len; i++) {
        if (paddr + i > 0xFFFFFFFFull) return -1; /* above 4 GiB: RAM only, copied above */
        uint32_t a = (uint32_t)(paddr + i);
        PhysRegion *r = find_region(pm, a);
        if (r && r->kind == PHYS_MMIO) {
            MmioPeekFn peek = pm->peek[r - pm->regions];
            if (!peek) return -1;
            d[i] = peek(r->opaque, a - r->start);
        } else if (phys_copy_from(pm, a, d + i, 1) < 0) {
            return -1;
        }
    }
    return 0;
}

uint8_t *phys_page_host(PhysMem *pm, PhysAddr paddr, bool write) {
    if (paddr >> 32) {
        PhysAddr page = paddr & ~(PhysAddr)0xFFF;
        return physmem_is_ram(pm, page, 0x1000) ? pm->ram + page : NULL;
    }
    uint32_t page = (uint32_t)paddr & ~0xFFFu;
    if (in_shadow(pm, page)) return shadow_byte(pm, page, write); /* segments are page-aligned */
    for (int i = pm->nregions - 1; i >= 0; i--) {
        PhysRegion *r = &pm->regions[i];
        uint64_t p0 = page, p1 = (uint64_t)page + 0x1000, r0 = r->start,
                 r1 = (uint64_t)r->start + r->size;
        if (p0 < r1 && r0 < p1) {
            if (!write && r->kind == PHYS_ROM && r0 <= p0 && p1 <= r1) {
                /* Covered entirely by this ROM; make sure no later region overlaps it. */
                for (int j = i + 1; j < pm->nregions; j++) {
                    const PhysRegion *q = &pm->regions[j];
                    if (p0 < (uint64_t)q->start + q->size && q->start < p1) return NULL;
                }
                return r->data + (page - r->start);
            }
            return NULL;
        }
    }
    if (in_ram(pm, page, 0x1000)) return pm->ram + page;
    return NULL;
}

/* ---------------- snapshots ---------------- */

/* Version 2 of the section: RAM below and above 4 GiB, then each range in
 * chunks of SNAP_CHUNK bytes, each a bool (false: all zeros) and, when
 * true, its zlib blob. */
#define SNAP_CHUNK (1u << 20)

static bool all_zero(const uint8_t *p, size_t len) {
    const uint64_t *q = (const uint64_t *)(const void *)p; /* page-aligned */
    for (size_t i = 0; i < len / 8; i++)
        if (q[i]) return false;
    return true;
}

/* True when no page of [p, p + len) was ever touched: /proc/self/pagemap
 * says each is neither present nor swapped out, so it reads as zeros
 * (anonymous memory). Reading such pages to find out would map the zero
 * page into each, a fault per 4 KiB: seconds for an idle 6 GiB guest.
 * False when it cannot tell (then the caller looks at the bytes). */
static bool untouched(int pagemap, const uint8_t *p, size_t len) {
    enum { PAGE = 4096, BATCH = 256 };
    if (pagemap < 0 || ((uintptr_t)p | len) % PAGE) return false;
    uint64_t e[BATCH];
    for (size_t done = 0; done < len / PAGE;) {
        size_t n = len / PAGE - done < BATCH ? len / PAGE - done : BATCH;
        off_t at = (off_t)(((uintptr_t)p / PAGE + done) * sizeof e[0]);
        if (pread(pagemap, e, n * sizeof e[0], at) != (ssize_t)(n * sizeof e[0])) return false;
        for (size_t i = 0; i < n; i++)
            if (e[i] >> 62) return false; /* bit 63 present, bit 62 swapped */
        done += n;
    }
    return true;
}

void physmem_save(const PhysMem *pm, SnapWriter *w) {
    int pagemap = sysconf(_SC_PAGESIZE) == 4096 ? open("/proc/self/pagemap", O_RDONLY) : -1;
    snap_put_u32(w, pm->ram_below);
    snap_put_u64(w, pm->ram_above);
    snap_put_bool(w, pm->a20_mask == 0xFFFFFFFFu);
    const uint64_t base[2] = {0, PHYS_4G}, len[2] = {pm->ram_below, pm->ram_above};
    for (int k = 0; k < 2; k++)
        for (uint64_t off = 0; off < len[k]; off += SNAP_CHUNK) {
            const uint8_t *p = pm->ram + base[k] + off;
            size_t n = len[k] - off < SNAP_CHUNK ? (size_t)(len[k] - off) : SNAP_CHUNK;
            bool data = !untouched(pagemap, p, n) && !all_zero(p, n);
            snap_put_bool(w, data);
            if (data) snap_put_zblob(w, p, n);
        }
    if (pagemap >= 0) close(pagemap);
}

bool physmem_load(PhysMem *pm, SnapReader *r) {
    if (!snap_version(r, PHYSMEM_SNAP_VERSION)) return false;
    uint32_t below = snap_get_u32(r);
    uint64_t above = r->version >= 2 ? snap_get_u64(r) : 0;
    bool a20 = snap_get_bool(r);
    if (snap_ok(r) && (below != pm->ram_below || above != pm->ram_above)) {
        snap_fail(r,
                  "RAM of %u MiB below 4 GiB and %llu MiB above saved, this machine has %u and "
                  "%llu MiB",
                  below >> 20, (unsigned long long)(above >> 20), pm->ram_below >> 20,
                  (unsigned long long)(pm->ram_above >> 20));
        return false;
    }
    if (!snap_ok(r)) return false;
    /* Checking inflates into a scratch buffer; applying, straight into RAM
     * (the same bytes, already found good). */
    if (r->version == 1) {
        if (!snap_get_zblob(r, r->apply ? pm->ram : NULL, pm->ram_below)) return false;
    } else {
        const uint64_t base[2] = {0, PHYS_4G}, len[2] = {pm->ram_below, pm->ram_above};
        for (int k = 0; k < 2; k++)
            for (uint64_t off = 0; off < len[k]; off += SNAP_CHUNK) {
                uint8_t *p = pm->ram + base[k] + off;
                size_t n = len[k] - off < SNAP_CHUNK ? (size_t)(len[k] - off) : SNAP_CHUNK;
                if (snap_get_bool(r)) {
                    if (!snap_get_zblob(r, r->apply ? p : NULL, n)) return false;
                } else if (r->apply) {
                    /* Zeros: give the pages back to the host rather than
                     * writing them (private anonymous memory reads as
                     * zeros again); nothing to do for untouched ones. */
                    if (madvise(p, n, MADV_DONTNEED) != 0) memset(p, 0, n);
                }
                if (!snap_ok(r)) return false;
            }
    }
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    pm->a20_mask = a20 ? 0xFFFFFFFFu : 0xFFEFFFFFu;
    if (pm->map_changed) pm->map_changed(pm->map_opaque);
    return true;
}

/* ---------------- paging and TLB ---------------- */

#define TLB_IN_USE 1u
#define TLB_GLOBAL 2u

static inline void tlb_clear(Mmu *mmu, unsigned u, unsigned i) {
    mmu->tlb[u][i] = (TlbEntry){TLB_INVALID, TLB_INVALID, 0};
    mmu->tag_exec[u][i] = TLB_INVALID;
}

/* Drop the TLB entries in use (all of them, or all but the global ones). */
static void tlb_flush(Mmu *mmu, bool keep_global) {
    uint32_t kept = 0;
    for (uint32_t k = 0; k < mmu->tlb_nused; k++) {
        unsigned u = mmu->tlb_used[k] >> TLB_BITS, i = mmu->tlb_used[k] & (TLB_SIZE - 1);
        if (keep_global && (mmu->tlb_state[u][i] & TLB_GLOBAL)) {
            mmu->tlb_used[kept++] = mmu->tlb_used[k];
            continue;
        }
        tlb_clear(mmu, u, i);
        mmu->tlb_state[u][i] = 0;
    }
    mmu->tlb_nused = kept;
    mmu->tlb_flushes++;
    mmu->map_gen++;
}

void mmu_flush_all(Mmu *mmu) {
    tlb_flush(mmu, false);
}

void mmu_flush_nonglobal(Mmu *mmu) {
    tlb_flush(mmu, true);
}

void mmu_init(Mmu *mmu, PhysMem *pm) {
    memset(mmu, 0, sizeof *mmu);
    mmu->pm = pm;
    mmu->phys_bits = 36;
    for (unsigned u = 0; u < 2; u++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            tlb_clear(mmu, u, i);
    mmu->map_gen++;
}

void mmu_set_paging(Mmu *mmu, bool pg, bool wp, bool pse, bool pge, uint32_t cr3) {
    /* Only CR3 changed (with paging and PGE on): global pages stay. Any
     * change of PG, WP, PSE or PGE flushes everything. */
    bool cr3_only =
        pg && pge && mmu->paging == pg && mmu->wp == wp && mmu->pse == pse && mmu->pge == pge;
    mmu->paging = pg;
    mmu->wp = wp;
    mmu->pse = pse;
    mmu->pge = pge;
    mmu->cr3 = cr3;
    tlb_flush(mmu, cr3_only);
}

void mmu_set_pae(Mmu *mmu, bool pae, bool nxe, const uint64_t pdpte[4]) {
    bool changed = mmu->pae != pae || mmu->nxe != nxe;
    mmu->pae = pae;
    mmu->nxe = nxe;
    if (pdpte)
        memcpy(mmu->pdpte, pdpte, sizeof mmu->pdpte);
    else
        memset(mmu->pdpte, 0, sizeof mmu->pdpte);
    if (changed) tlb_flush(mmu, false);
}

/* A physical address with the A20 mask applied to its low 32 bits. */
static inline PhysAddr a20_apply(const PhysMem *pm, PhysAddr pa) {
    return pa & (~(PhysAddr)0xFFFFFFFFu | pm->a20_mask);
}

static inline uint64_t read_entry64(PhysMem *pm, PhysAddr a) {
    return phys_read(pm, a, 4) | (uint64_t)phys_read(pm, a + 4, 4) << 32;
}

/* Bits 63:MAXPHYADDR of a PAE entry (a PDPTE: all reserved). */
static inline uint64_t above_maxphy(const Mmu *mmu) {
    return ~(uint64_t)0 << mmu->phys_bits;
}

/* PDPTE bits 1, 2, 5-8 are reserved, as are the address bits above MAXPHYADDR. */
#define PDPTE_RSVD 0x1E6u

bool mmu_load_pdptes(const Mmu *mmu, uint32_t cr3, uint64_t out[4]) {
    PhysMem *pm = mmu->pm;
    uint64_t rsvd = PDPTE_RSVD | above_maxphy(mmu);
    for (unsigned i = 0; i < 4; i++) {
        uint64_t e = read_entry64(pm, a20_apply(pm, (cr3 & 0xFFFFFFE0u) + 8 * i));
        if ((e & 1) && (e & rsvd)) return false;
        out[i] = e;
    }
    return true;
}

void mmu_flush_page(Mmu *mmu, uint32_t lin) {
    /* A large page is cached as 4 KiB entries: drop every entry in the same
     * 4 MiB region (a harmless superset for 2 MiB and 4 KiB pages), global
     * or not. */
    uint32_t region = lin & ~0x3FFFFFu;
    mmu->map_gen++;
    for (uint32_t k = 0; k < mmu->tlb_nused; k++) {
        unsigned u = mmu->tlb_used[k] >> TLB_BITS, i = mmu->tlb_used[k] & (TLB_SIZE - 1);
        TlbEntry *e = &mmu->tlb[u][i];
        uint32_t tag = e->tag_read != TLB_INVALID ? e->tag_read : e->tag_write;
        if (tag != TLB_INVALID && (tag & ~0x3FFFFFu) == region) {
            tlb_clear(mmu, u, i);
            mmu->tlb_state[u][i] &= (uint8_t)~TLB_GLOBAL; /* still listed as in use */
        }
    }
}

void mmu_drop_write_host_page(Mmu *mmu, const uint8_t *host_page) {
    for (uint32_t k = 0; k < mmu->tlb_nused; k++) {
        unsigned u = mmu->tlb_used[k] >> TLB_BITS, i = mmu->tlb_used[k] & (TLB_SIZE - 1);
        TlbEntry *e = &mmu->tlb[u][i];
        if (e->tag_write != TLB_INVALID &&
            (uintptr_t)e->tag_write + e->addend == (uintptr_t)host_page)
            e->tag_write = TLB_INVALID;
    }
}

/* How a debugger watches the linear page vpage (MMU_WATCH_* bits). */
static unsigned watched_kinds(const Mmu *mmu, uint32_t vpage) {
    unsigned kinds = 0;
    for (uint32_t i = 0; i < mmu->nwatch_pages; i++)
        if (mmu->watch_pages[i].page == vpage) kinds |= mmu->watch_pages[i].kinds;
    return kinds;
}

static void tlb_fill(Mmu *mmu, uint32_t lin, bool user, PhysAddr pa, bool writable, bool global,
                     bool exec) {
    unsigned idx = (lin >> 12) & (TLB_SIZE - 1);
    TlbEntry *e = &mmu->tlb[user][idx];
    uint8_t *state = &mmu->tlb_state[user][idx];
    if (!(*state & TLB_IN_USE))
        mmu->tlb_used[mmu->tlb_nused++] = (uint16_t)((unsigned)user << TLB_BITS | idx);
    *state = (uint8_t)(TLB_IN_USE | (global ? TLB_GLOBAL : 0));
    uint32_t vpage = lin & ~0xFFFu;
    uint8_t *host_r = phys_page_host(mmu->pm, pa, false);
    uint8_t *host_w = writable ? phys_page_host(mmu->pm, pa, true) : NULL;
    if (host_w != host_r) host_w = NULL; /* one addend per entry: e.g. ROM reads, RAM writes */
    /* Pages holding translated code: writes take the slow path (invalidation). */
    if (host_w && mmu->pm->code_pages && mmu->pm->code_pages[(host_w - mmu->pm->ram) >> 12])
        host_w = NULL;
    /* Watched pages: the accesses a debugger watches take the slow path
     * (the jit's inline TLB reads the same tags). A read watch also
     * withholds the write tag, whose pointer serves reads too. */
    unsigned watched = mmu->nwatch_pages ? watched_kinds(mmu, vpage) : 0;
    if (watched) host_w = NULL;
    e->tag_read = host_r && !(watched & MMU_WATCH_R) ? vpage : TLB_INVALID;
    e->tag_write = host_w ? vpage : TLB_INVALID;
    e->addend = host_r ? (uintptr_t)host_r - vpage : 0;
    mmu->tag_exec[user][idx] = exec ? e->tag_read : TLB_INVALID;
}

/* The walk for lin with paging on, reading the entries only (no
 * accessed/dirty bits, no permission checks): false when an entry is not
 * present or (rsvd set) a present one has reserved bits. Two levels of
 * 32-bit entries, or with PAE the PDPTE the CPU loaded and two levels of
 * 64-bit entries. Shared by mmu_translate and mmu_debug_translate. */
typedef struct PageWalk {
    uint64_t pde, pte; /* pte: 0 for a large page */
    PhysAddr pde_addr, pte_addr;
    bool large; /* a 4 MiB page (PDE.PS with CR4.PSE) or a 2 MiB one (PAE) */
    bool rsvd;  /* stopped at a present entry with reserved bits */
} PageWalk;

static inline bool page_walk(const Mmu *mmu, uint32_t lin, PageWalk *w) {
    PhysMem *pm = mmu->pm;
    w->pte = w->pte_addr = 0;
    w->large = w->rsvd = false;
    if (mmu->pae) {
        /* Entry bits 62:MAXPHYADDR are reserved, and bit 63 without NXE. */
        uint64_t rsvd = above_maxphy(mmu) & (mmu->nxe ? ~(1ull << 63) : ~0ull);
        uint64_t pdpte = mmu->pdpte[lin >> 30];
        w->pde_addr = 0;
        w->pde = 0;
        if (!(pdpte & 1)) return false;
        w->pde_addr = a20_apply(pm, (pdpte & 0x000FFFFFFFFFF000ull) | ((lin >> 18) & 0xFF8));
        w->pde = read_entry64(pm, w->pde_addr);
        if (!(w->pde & 1)) return false;
        w->large = w->pde & 0x80;
        if ((w->pde & rsvd) || (w->large && (w->pde & 0x1FE000u))) {
            w->rsvd = true;
            return false;
        }
        if (w->large) return true;
        w->pte_addr = a20_apply(pm, (w->pde & 0x000FFFFFFFFFF000ull) | ((lin >> 9) & 0xFF8));
        w->pte = read_entry64(pm, w->pte_addr);
        if (!(w->pte & 1)) return false;
        if (w->pte & rsvd) {
            w->rsvd = true;
            return false;
        }
        return true;
    }
    uint32_t a20 = pm->a20_mask;
    w->pde_addr = ((mmu->cr3 & ~0xFFFu) | ((lin >> 20) & 0xFFC)) & a20;
    w->pde = phys_read(pm, w->pde_addr, 4);
    if (!(w->pde & 1)) return false;
    w->large = (w->pde & 0x80) && mmu->pse;
    if (w->large) {
        if (w->pde & 0x003FE000u) { /* reserved bits of a 4 MiB PDE (no PSE-36) */
            w->rsvd = true;
            return false;
        }
        return true;
    }
    w->pte_addr = ((uint32_t)(w->pde & ~0xFFFu) | ((lin >> 10) & 0xFFC)) & a20;
    w->pte = phys_read(pm, w->pte_addr, 4);
    return w->pte & 1;
}

/* The physical address the walk found for lin (A20 applied). */
static inline PhysAddr walk_address(const Mmu *mmu, const PageWalk *w, uint32_t lin) {
    PhysAddr pa;
    if (!w->large)
        pa = (w->pte & 0x000FFFFFFFFFF000ull) | (lin & 0xFFF);
    else if (mmu->pae)
        pa = (w->pde & 0x000FFFFFFFE00000ull) | (lin & 0x1FFFFF);
    else
        pa = (w->pde & 0xFFC00000u) | (lin & 0x3FFFFF);
    return a20_apply(mmu->pm, pa);
}

bool mmu_translate(Mmu *mmu, uint32_t lin, int access, bool user, PhysAddr *paddr,
                   uint32_t *pf_error) {
    PhysMem *pm = mmu->pm;
    bool write = access == MMU_WRITE;
    if (!mmu->paging) {
        *paddr = lin & pm->a20_mask;
        tlb_fill(mmu, lin, user, *paddr, true, false, true);
        return true;
    }
    bool nx_on = mmu->pae && mmu->nxe;
    uint32_t err =
        (write ? PF_W : 0) | (user ? PF_U : 0) | (access == MMU_FETCH && nx_on ? PF_I : 0);
    PageWalk w;
    if (!page_walk(mmu, lin, &w)) {
        *pf_error = err | (w.rsvd ? PF_P | PF_RSVD : 0);
        return false;
    }
    uint64_t pde = w.pde, pte = w.pte;
    bool large = w.large;
    uint64_t leaf = large ? pde : pte;
    bool u_ok = (pde & 4) && (leaf & 4);
    bool w_ok = (pde & 2) && (leaf & 2);
    bool exec = !nx_on || !((pde | leaf) >> 63);
    if ((user && !u_ok) || (write && (user ? !w_ok : (mmu->wp && !w_ok))) ||
        (access == MMU_FETCH && !exec)) {
        *pf_error = err | PF_P;
        return false;
    }
    if (mmu->walk_hook)
        mmu->walk_hook(mmu->walk_opaque, lin, access, w.pde_addr, large ? 0 : w.pte_addr);
    /* Accessed bits, and dirty for writes: the low word of each entry
     * (where A and D are), one store each. */
    mmu->ad_update = true;
    if (!(pde & 0x20) || (large && write && !(pde & 0x40))) {
        pde |= 0x20;
        if (large && write) pde |= 0x40;
        phys_write(pm, w.pde_addr, 4, (uint32_t)pde);
    }
    if (!large && (!(pte & 0x20) || (write && !(pte & 0x40)))) {
        pte |= 0x20;
        if (write) pte |= 0x40;
        phys_write(pm, w.pte_addr, 4, (uint32_t)pte);
    }
    mmu->ad_update = false;
    w.pde = pde;
    w.pte = pte;
    leaf = large ? pde : pte;
    PhysAddr pa = walk_address(mmu, &w, lin);
    *paddr = pa;
    bool can_write = user ? w_ok : (!mmu->wp || w_ok);
    tlb_fill(mmu, lin, user, pa, can_write && (leaf & 0x40), mmu->pge && (leaf & 0x100), exec);
    return true;
}

bool mmu_debug_translate(const Mmu *mmu, uint32_t lin, PhysAddr *paddr) {
    if (!mmu->paging) {
        *paddr = lin & mmu->pm->a20_mask;
        return true;
    }
    PageWalk w;
    if (!page_walk(mmu, lin, &w)) return false;
    *paddr = walk_address(mmu, &w, lin);
    return true;
}
