/*
 * mmu.h - physical address map, A20 gate, 2-level paging and the software TLB.
 *
 * PhysMem is the machine's physical address space: guest RAM (one host
 * allocation), ROM ranges (copied in, writes ignored) and MMIO ranges (read
 * and write callbacks with an opaque pointer). Addresses outside all of them
 * read as all ones and ignore writes. The A20 gate masks bit 20 of every
 * physical address when disabled. Every guest-controlled physical address is
 * bounds-checked here: nothing reaches host memory outside the RAM/ROM buffers.
 *
 * Mmu is the per-CPU translation unit: it walks the guest's page tables
 * (4 KiB pages and, with CR4.PSE, 4 MiB pages; with PAE the three-level
 * walk of 64-bit entries through the four PDPTEs the CPU loaded at its
 * CR3 write, 2 MiB pages, reserved-bit checks against MAXPHYADDR and the
 * execute-disable bit under EFER.NXE), sets accessed/dirty bits,
 * computes #PF error codes, and caches translations in a direct-mapped
 * software TLB with separate supervisor and user halves. A TLB entry maps a
 * linear page to a host pointer (addend) with separate tags for reads
 * (which include instruction fetches) and writes; a tag that does not match
 * sends the access to the slow path (first touch, MMIO, ROM write, dirty-bit
 * update, a permission fault, or a page a debugger watches). Instruction
 * fetches use a third tag (Mmu.tag_exec), withheld for execute-disabled
 * pages.
 *
 * Physical addresses are PhysAddr (64 bits: PAE entries reach 2^MAXPHYADDR).
 * Guest RAM lies in at most two ranges, as on QEMU's i440FX PC: from 0 up to
 * the PCI hole (ram_below, at most PHYS_BELOW_4G_MAX) and, for larger
 * machines, the rest from 4 GiB up. One lazily committed host mapping
 * (anonymous, MAP_NORESERVE) backs both: physical address a is host address
 * ram + a, so every structure indexed by RAM page (code pages, the
 * translator's page lists, the shadow-paging model) uses the physical page
 * number; the hole between them is mapped PROT_NONE and never reached.
 * Addresses that are neither RAM, ROM nor MMIO read as all ones and drop
 * writes, above 4 GiB too.
 *
 * Use (from the CPU's memory helpers in cpu/mem.c):
 *     uint8_t *p = mmu_tlb_read(&cpu->mmu, lin, user);
 *     if (!p) { ok = mmu_translate(&cpu->mmu, lin, MMU_READ, user, &pa, &err); ... }
 */
#ifndef BT86_MMU_H
#define BT86_MMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A physical address (PAE entries give up to MAXPHYADDR bits). */
typedef uint64_t PhysAddr;

typedef uint32_t (*MmioReadFn)(void *opaque, uint32_t offset, unsigned size);
typedef void (*MmioWriteFn)(void *opaque, uint32_t offset, unsigned size, uint32_t val);
/* The byte a read at offset would return, without the read's side effects
 * (for debuggers: phys_peek). */
typedef uint8_t (*MmioPeekFn)(void *opaque, uint32_t offset);

typedef enum PhysKind { PHYS_ROM, PHYS_MMIO } PhysKind;

typedef struct PhysRegion {
    uint32_t start, size; /* [start, start + size - 1], may end at 0xFFFFFFFF */
    PhysKind kind;
    uint8_t *data; /* ROM contents (owned) */
    MmioReadFn read;
    MmioWriteFn write;
    void *opaque;
} PhysRegion;

#define PHYS_MAX_REGIONS 32

#define SHADOW_BASE      0xC0000u
#define SHADOW_SIZE      0x40000u
#define SHADOW_SEG_SIZE  0x4000u
#define SHADOW_SEGS      (SHADOW_SIZE / SHADOW_SEG_SIZE)
#define SHADOW_READ_RAM  1 /* reads of the segment come from RAM (else from the ROM image) */
#define SHADOW_WRITE_RAM 2 /* writes go to RAM (else they are dropped) */

/* The most RAM below 4 GiB (QEMU's i440FX default max-ram-below-4g): a
 * larger machine has this much below and the rest from 4 GiB. */
#define PHYS_BELOW_4G_MAX 0xE0000000u
#define PHYS_4G           0x100000000ull
/* The most RAM a PhysMem takes (the -m limit; the CPU model's MAXPHYADDR
 * may allow less, see pc_new). */
#define PHYS_RAM_MAX (64ull << 30)

typedef struct PhysMem {
    uint8_t *ram;       /* host address of physical address 0 (see above) */
    uint32_t ram_below; /* RAM at [0, ram_below): bytes, multiple of 4096 */
    uint64_t ram_above; /* RAM at [4 GiB, 4 GiB + ram_above) */
    uint64_t ram_end;   /* end of the RAM's physical (and host) span */
    size_t map_size;    /* bytes mapped at ram (ram_end, at least one page) */
    PhysRegion regions[PHYS_MAX_REGIONS];
    int nregions;
    uint32_t a20_mask; /* 0xFFFFFFFF when A20 is enabled, 0xFFEFFFFF when disabled */
    /* Called when address routing changes (A20, shadow RAM), so CPUs can
     * flush their TLBs. */
    void (*map_changed)(void *opaque);
    void *map_opaque;
    /* The legacy BIOS area 0xC0000-0xFFFFF in 16 KiB segments, routed as the
     * chipset's PAM registers say: reads from RAM or from the ROM image,
     * writes to RAM or nowhere. Active once physmem_set_shadow_rom() ran. */
    uint8_t *shadow_rom; /* SHADOW_SIZE bytes (0xFF where there is no ROM) */
    uint8_t shadow[SHADOW_SEGS];
    /* Code tracking for the translator (dbt/): code_pages[n] is non-zero when
     * RAM page n holds translated code. Such pages never get a TLB write
     * entry, so every write to them (CPU, DMA, loaders) reaches phys_write or
     * phys_copy_to, which call code_written first, saying who wrote:
     * phys_write is the CPU's store path (CODE_WRITE_CPU), phys_copy_to that
     * of devices, DMA and loaders (CODE_WRITE_DEVICE). NULL until a
     * translator attaches (physmem_track_code). */
    uint8_t *code_pages; /* ram_end / 4096 entries */
    void (*code_written)(void *opaque, PhysAddr paddr, uint64_t len, int by);
    void *code_opaque;
    /* Called on every MMIO access (a device may raise an interrupt or remap
     * memory): the translator ends the running block. */
    void (*mmio_touched)(void *opaque);
    /* peek[i]: region i's side-effect-free read (physmem_set_mmio_peek), or
     * NULL (at the end: the translator's offsets above stay). */
    MmioPeekFn peek[PHYS_MAX_REGIONS];
} PhysMem;

/* Create RAM of ram_size bytes (rounded up to 4 KiB, at most PHYS_RAM_MAX),
 * zeroed, split around the PCI hole as physmem_below_4g() says. NULL if the
 * host cannot map it. A20 starts enabled. */
PhysMem *physmem_new(uint64_t ram_size);
/* The RAM below 4 GiB of a machine with ram_size bytes (all of it up to
 * PHYS_BELOW_4G_MAX, else PHYS_BELOW_4G_MAX); the rest lies from 4 GiB. */
static inline uint32_t physmem_below_4g(uint64_t ram_size) {
    return ram_size <= PHYS_BELOW_4G_MAX ? (uint32_t)ram_size : PHYS_BELOW_4G_MAX;
}
/* Total guest RAM in bytes. */
static inline uint64_t physmem_ram_size(const PhysMem *pm) {
    return pm->ram_below + pm->ram_above;
}
/* True when [a, a + size) is all RAM (one of the two ranges). */
static inline bool physmem_is_ram(const PhysMem *pm, PhysAddr a, uint64_t size) {
    if (a < pm->ram_below) return size <= pm->ram_below - a;
    if (a < PHYS_4G) return false;
    a -= PHYS_4G;
    return a < pm->ram_above && size <= pm->ram_above - a;
}
void physmem_free(PhysMem *pm);
/* Map a ROM copy of data at [start, start+size). Regions override RAM. Returns 0 or -1. */
int physmem_add_rom(PhysMem *pm, uint32_t start, uint32_t size, const void *data);
/* Map MMIO callbacks at [start, start+size). Returns 0 or -1. */
int physmem_add_mmio(PhysMem *pm, uint32_t start, uint32_t size, MmioReadFn rd, MmioWriteFn wr,
                     void *opaque);
/* Move the MMIO region registered with (rd, opaque) to [start, start+size),
 * or unmap it with size 0 (a PCI BAR being reprogrammed or disabled).
 * Returns 0, or -1 if there is no such region or the range wraps. */
int physmem_move_mmio(PhysMem *pm, MmioReadFn rd, void *opaque, uint32_t start, uint32_t size);
/* Give the MMIO region registered with (rd, opaque) a peek function, so a
 * debugger can read it (phys_peek). Returns 0, or -1 if there is none. */
int physmem_set_mmio_peek(PhysMem *pm, MmioReadFn rd, void *opaque, MmioPeekFn peek);
void physmem_set_a20(PhysMem *pm, bool enabled);
/* Install len bytes of ROM image at physical address `at` in the BIOS area
 * (0xC0000 <= at, at + len <= 0x100000) and start shadow routing there (all
 * segments read the ROM and drop writes, as at power-on). Returns 0 or -1. */
int physmem_set_shadow_rom(PhysMem *pm, uint32_t at, const void *data, uint32_t len);
/* Route segment seg (0..15, 16 KiB each from 0xC0000) per SHADOW_* bits. */
void physmem_set_shadow(PhysMem *pm, unsigned seg, unsigned mode);
/* Slow-path physical access of 1, 2 or 4 bytes (little endian, any alignment). */
uint32_t phys_read(PhysMem *pm, PhysAddr paddr, unsigned size);
void phys_write(PhysMem *pm, PhysAddr paddr, unsigned size, uint32_t val);
/* Bulk copies for loaders and DMA: bounds-checked, return 0 or -1 if any
 * byte is not RAM (or ROM, for reads). 64-bit addresses: a 32-bit device
 * passes its own (below 4 GiB); RAM above 4 GiB is reachable. */
int phys_copy_to(PhysMem *pm, PhysAddr paddr, const void *src, size_t len);
int phys_copy_from(PhysMem *pm, PhysAddr paddr, void *dst, size_t len);
/* phys_copy_from for a debugger: MMIO regions with a peek function answer
 * too (what the CPU would read, with no side effect); -1 if any byte is
 * not RAM, ROM or peekable MMIO. */
int phys_peek(PhysMem *pm, PhysAddr paddr, void *dst, size_t len);
/* Attach a translator's code tracking (see PhysMem.code_pages). Returns 0 or -1. */
enum { CODE_WRITE_CPU, CODE_WRITE_DEVICE };
int physmem_track_code(PhysMem *pm, void (*code_written)(void *, PhysAddr, uint64_t, int),
                       void *opaque);
/* Mark or unmark RAM page paddr >> 12 as holding translated code. */
static inline void physmem_set_code_page(PhysMem *pm, PhysAddr paddr, bool on) {
    if (pm->code_pages && paddr < pm->ram_end) pm->code_pages[paddr >> 12] = on;
}
/* Host pointer to the 4 KiB page holding paddr (A20 already applied by the caller)
 * if it is plain RAM (or ROM when !write); NULL otherwise. */
uint8_t *phys_page_host(PhysMem *pm, PhysAddr paddr, bool write);

/* Snapshots (snap/snap.h): guest RAM (zlib-compressed, in 1 MiB chunks of
 * which the all-zero ones are left out, so a large idle machine saves and
 * loads without the host committing its memory) and the A20 gate. ROM,
 * MMIO and shadow routing are the machine's wiring and the chipset's
 * registers, restored by their owners. Loading checks that the RAM layout
 * matches; applying rewrites RAM and calls map_changed (the CPU's TLB and
 * every translation go). Version 1 (one blob below 4 GiB) still loads. */
#define PHYSMEM_SNAP_VERSION 2
struct SnapWriter;
struct SnapReader;
void physmem_save(const PhysMem *pm, struct SnapWriter *w);
bool physmem_load(PhysMem *pm, struct SnapReader *r);

/* ---- paging and TLB ---- */

#define TLB_BITS    12
#define TLB_SIZE    (1u << TLB_BITS)
#define TLB_INVALID 0xFFFFFFFFu /* never equal to a page-aligned address */

typedef struct TlbEntry {
    uint32_t tag_read;  /* linear page address if reads may use addend, else TLB_INVALID */
    uint32_t tag_write; /* linear page address if writes may use addend, else TLB_INVALID */
    uintptr_t addend;   /* host address = linear address + addend */
} TlbEntry;

/* Access kinds for mmu_translate. */
#define MMU_READ  0
#define MMU_WRITE 1
#define MMU_FETCH 2

/* #PF error code bits. */
#define PF_P    0x1u
#define PF_W    0x2u
#define PF_U    0x4u
#define PF_RSVD 0x8u
#define PF_I    0x10u /* instruction fetch (PAE with EFER.NXE) */

/* A linear page a debugger watches (cpu/debug.c keeps the list): its TLB
 * entries never allow fast writes (MMU_WATCH_W), or no fast access at all
 * (MMU_WATCH_R), so every watched access reaches the CPU's slow path. */
#define MMU_WATCH_W 1u
#define MMU_WATCH_R 2u
typedef struct MmuWatchPage {
    uint32_t page; /* linear address, 4 KiB aligned */
    uint8_t kinds; /* MMU_WATCH_* */
} MmuWatchPage;

typedef struct Mmu {
    PhysMem *pm;
    bool paging;       /* CR0.PG */
    bool wp;           /* CR0.WP */
    bool pse;          /* CR4.PSE */
    bool pge;          /* CR4.PGE: global pages survive CR3 writes */
    bool pae;          /* CR4.PAE: the 3-level walk from pdpte[] */
    bool nxe;          /* EFER.NXE (with PAE): bit 63 of an entry forbids fetches */
    uint8_t phys_bits; /* MAXPHYADDR: entry address bits above it are reserved */
    uint32_t cr3;
    /* The PDPTEs the CPU loaded (mmu_load_pdptes) at its last CR3 write or
     * paging-mode change: the walk uses these, not memory. */
    uint64_t pdpte[4];
    TlbEntry tlb[2][TLB_SIZE]; /* [0] supervisor, [1] user */
    /* Instruction fetches: the linear page if fetches may use the entry's
     * addend (tag_read matches and the page is executable), else
     * TLB_INVALID. */
    uint32_t tag_exec[2][TLB_SIZE];
    /* Entries filled since the last full flush (so flushes touch only
     * those), and which of them map global pages (CR4.PGE and the G bit:
     * they survive CR3 writes, as on the P6). */
    uint16_t tlb_used[2 * TLB_SIZE]; /* user << TLB_BITS | index */
    uint32_t tlb_nused;
    uint8_t tlb_state[2][TLB_SIZE]; /* TLB_IN_USE | TLB_GLOBAL */
    uint64_t tlb_flushes;
    /* Bumped on every TLB flush (full, INVLPG, paging changes) and when a
     * page stops being writable through the TLB: the translator's
     * virtual-address caches are valid only within one generation. */
    uint64_t map_gen;
    /* Watched linear pages (see MmuWatchPage); tlb_fill looks only when
     * there are some. Changing them requires mmu_flush_all. */
    const MmuWatchPage *watch_pages;
    uint32_t nwatch_pages;
    /* A shadow-paging model (src/vmm/): called after each successful page
     * walk of mmu_translate with the physical addresses of the PDE and PTE
     * it read (pte_addr 0 for a 4 MiB page); NULL: not called. ad_update
     * is true while the walk writes accessed/dirty bits. */
    void (*walk_hook)(void *opaque, uint32_t lin, int access, PhysAddr pde_addr, PhysAddr pte_addr);
    void *walk_opaque;
    bool ad_update;
} Mmu;

void mmu_init(Mmu *mmu, PhysMem *pm);
/* Set the paging controls (from CR0/CR3/CR4 writes); flushes the TLB as the
 * architecture requires (everything on mode changes; non-global on CR3 writes). */
void mmu_set_paging(Mmu *mmu, bool pg, bool wp, bool pse, bool pge, uint32_t cr3);
/* PAE and EFER.NXE, with the PDPTEs (NULL: zeros) for the walk; a change of
 * pae or nxe flushes the whole TLB. Call before mmu_set_paging. */
void mmu_set_pae(Mmu *mmu, bool pae, bool nxe, const uint64_t pdpte[4]);
/* Read the four PDPTEs of the PDPT at cr3 (bits 31:5) into out: false if
 * a present one has reserved bits (the CPU raises #GP(0)). */
bool mmu_load_pdptes(const Mmu *mmu, uint32_t cr3, uint64_t out[4]);
void mmu_flush_all(Mmu *mmu);
/* What a CR3 write does: drop every entry but the global ones. */
void mmu_flush_nonglobal(Mmu *mmu);
void mmu_flush_page(Mmu *mmu, uint32_t lin); /* INVLPG */
/* Drop the write permission of every TLB entry that maps the RAM page at
 * host address host_page (it now holds translated code). */
void mmu_drop_write_host_page(Mmu *mmu, const uint8_t *host_page);

/*
 * Translate a linear address. `user` is true for CPL 3 accesses (false for
 * supervisor and implicit system accesses such as descriptor-table reads).
 * On success stores the physical address (A20 applied) in *paddr, sets the
 * accessed (and for writes dirty) bits, fills the TLB entry and returns true.
 * On failure stores the #PF error code in *pf_error and returns false; the
 * caller raises #PF with CR2 = lin.
 */
bool mmu_translate(Mmu *mmu, uint32_t lin, int access, bool user, PhysAddr *paddr,
                   uint32_t *pf_error);

/* Translate lin for a debugger: no accessed or dirty bits, no TLB fill,
 * no fault (false when the page is not mapped). */
bool mmu_debug_translate(const Mmu *mmu, uint32_t lin, PhysAddr *paddr);

/* Fast paths: host pointer for lin, or NULL (then use mmu_translate + phys_*). */
static inline uint8_t *mmu_tlb_read(Mmu *mmu, uint32_t lin, bool user) {
    const TlbEntry *e = &mmu->tlb[user][(lin >> 12) & (TLB_SIZE - 1)];
    if (e->tag_read == (lin & ~0xFFFu)) return (uint8_t *)(uintptr_t)(lin + e->addend);
    return NULL;
}
/* The same for instruction fetches (execute-disabled pages miss). */
static inline uint8_t *mmu_tlb_fetch(Mmu *mmu, uint32_t lin, bool user) {
    unsigned i = (lin >> 12) & (TLB_SIZE - 1);
    if (mmu->tag_exec[user][i] == (lin & ~0xFFFu))
        return (uint8_t *)(uintptr_t)(lin + mmu->tlb[user][i].addend);
    return NULL;
}
static inline uint8_t *mmu_tlb_write(Mmu *mmu, uint32_t lin, bool user) {
    const TlbEntry *e = &mmu->tlb[user][(lin >> 12) & (TLB_SIZE - 1)];
    if (e->tag_write == (lin & ~0xFFFu)) return (uint8_t *)(uintptr_t)(lin + e->addend);
    return NULL;
}

#endif
