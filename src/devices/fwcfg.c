/*
 * fwcfg.c - QEMU fw_cfg interface, port I/O flavour (see fwcfg.h).
 *
 * Items live in two arrays: generic keys 0x0000-0x3FFF (low 14 bits) and
 * architecture-local keys 0x8000+ (bit 15). Bit 14 of a selector (the write
 * flag of old QEMU) is ignored: bt86's items are read-only.
 */
#include "devices/fwcfg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

#define KEYS_PER_SPACE (FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES)

typedef struct FwItem {
    uint8_t *data;
    size_t len;
} FwItem;

struct FwCfg {
    FwItem items[2][KEYS_PER_SPACE]; /* [0] generic, [1] arch-local */
    unsigned nfiles;
    uint16_t selector;
    size_t offset;
    PhysMem *pm;       /* for DMA, or NULL */
    uint32_t dma_high; /* high half of the next descriptor address */
};

static FwItem *item_for(FwCfg *f, uint16_t key) {
    unsigned space = (key & 0x8000) ? 1 : 0, index = key & 0x3FFF;
    if (index >= KEYS_PER_SPACE) return NULL;
    return &f->items[space][index];
}

int fwcfg_add_bytes(FwCfg *f, uint16_t key, const void *data, size_t len) {
    FwItem *it = item_for(f, key);
    if (!it) return -1;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return -1;
    if (len) memcpy(copy, data, len);
    free(it->data);
    it->data = copy;
    it->len = len;
    return 0;
}

int fwcfg_add_i16(FwCfg *f, uint16_t key, uint16_t v) {
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return fwcfg_add_bytes(f, key, b, sizeof b);
}

int fwcfg_add_i32(FwCfg *f, uint16_t key, uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fwcfg_add_bytes(f, key, b, sizeof b);
}

int fwcfg_add_i64(FwCfg *f, uint16_t key, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return fwcfg_add_bytes(f, key, b, sizeof b);
}

static void put_be(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

/* Rebuild the directory item from the files added so far. */
static int rebuild_directory(FwCfg *f) {
    size_t len = 4 + (size_t)f->nfiles * 64;
    uint8_t *dir = calloc(1, len);
    if (!dir) return -1;
    put_be(dir, f->nfiles, 4);
    for (unsigned i = 0; i < f->nfiles; i++) {
        FwItem *it = &f->items[0][FW_CFG_FILE_FIRST + i];
        uint8_t *e = dir + 4 + 64 * i;
        put_be(e, it->len, 4);
        put_be(e + 4, FW_CFG_FILE_FIRST + i, 2);
        /* the name was stashed after the data; see fwcfg_add_file */
        memcpy(e + 8, it->data + it->len, FW_CFG_NAME_LEN);
    }
    FwItem *d = &f->items[0][FW_CFG_FILE_DIR];
    free(d->data);
    d->data = dir;
    d->len = len;
    return 0;
}

int fwcfg_add_file(FwCfg *f, const char *name, const void *data, size_t len) {
    size_t nlen = strlen(name);
    if (nlen >= FW_CFG_NAME_LEN || f->nfiles >= FW_CFG_MAX_FILES) return -1;
    /* Keep the NUL-padded name right after the contents (not part of the item). */
    uint8_t *copy = calloc(1, len + FW_CFG_NAME_LEN);
    if (!copy) return -1;
    if (len) memcpy(copy, data, len);
    memcpy(copy + len, name, nlen);
    uint16_t sel = (uint16_t)(FW_CFG_FILE_FIRST + f->nfiles);
    FwItem *it = &f->items[0][sel];
    it->data = copy;
    it->len = len;
    f->nfiles++;
    if (rebuild_directory(f) < 0) return -1;
    return sel;
}

void fwcfg_reset(FwCfg *f) {
    f->selector = 0;
    f->offset = 0;
    f->dma_high = 0;
}

FwCfg *fwcfg_new(void) {
    FwCfg *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    fwcfg_add_bytes(f, FW_CFG_SIGNATURE, "QEMU", 4);
    fwcfg_add_i32(f, FW_CFG_ID, 1); /* traditional interface only, no DMA */
    rebuild_directory(f);
    return f;
}

void fwcfg_free(FwCfg *f) {
    if (!f) return;
    for (int s = 0; s < 2; s++)
        for (unsigned i = 0; i < KEYS_PER_SPACE; i++)
            free(f->items[s][i].data);
    free(f);
}

uint32_t fwcfg_port_read(void *opaque, uint16_t port, unsigned size) {
    FwCfg *f = opaque;
    if (port != 0x511) return size == 1 ? 0xFF : size == 2 ? 0xFFFF : 0xFFFFFFFFu;
    uint32_t v = 0;
    FwItem *it = item_for(f, f->selector);
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = 0;
        if (it && it->data && f->offset < it->len) b = it->data[f->offset];
        if (it && f->offset < it->len) f->offset++;
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

void fwcfg_attach_dma(FwCfg *f, PhysMem *pm) {
    f->pm = pm;
}

static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t bswap32(uint32_t v) {
    return v >> 24 | (v >> 8 & 0xFF00) | (v << 8 & 0xFF0000) | v << 24;
}

/* Copy `len` bytes of the selected item (zeros past its end) to guest
 * address `dst`. Returns 0, or -1 if some destination byte is not RAM. */
static int dma_read(FwCfg *f, uint64_t dst, uint32_t len) {
    static const uint8_t zeros[4096];
    /* 64-bit addresses (RAM above 4 GiB is reachable); a range that wraps
     * or crosses 4 GiB (never all RAM: the PCI hole is below) is refused
     * before anything is written. */
    if (dst + len < dst || (dst < PHYS_4G && dst + len > PHYS_4G)) return -1;
    FwItem *it = item_for(f, f->selector);
    while (len) {
        const uint8_t *src = zeros;
        uint32_t n = len < sizeof zeros ? len : (uint32_t)sizeof zeros;
        if (it && it->data && f->offset < it->len) {
            src = it->data + f->offset;
            if (n > it->len - f->offset) n = (uint32_t)(it->len - f->offset);
        }
        if (phys_copy_to(f->pm, dst, src, n) < 0) return -1;
        if (it && f->offset < it->len)
            f->offset += n < it->len - f->offset ? n : it->len - f->offset;
        dst += n;
        len -= n;
    }
    return 0;
}

/* Run the DMA descriptor at guest address `addr` and store its outcome. */
static void dma_run(FwCfg *f, uint64_t addr) {
    uint8_t d[16];
    if (!f->pm || phys_copy_from(f->pm, addr, d, sizeof d) < 0) return;
    uint32_t control = get_be32(d), len = get_be32(d + 4);
    uint64_t dst = (uint64_t)get_be32(d + 8) << 32 | get_be32(d + 12);
    bool error = false;
    if (control & FW_CFG_DMA_SELECT) {
        f->selector = (uint16_t)((control >> 16) & ~0x4000u);
        f->offset = 0;
    }
    if (control & FW_CFG_DMA_READ) {
        error = dma_read(f, dst, len) < 0;
    } else if (control & FW_CFG_DMA_SKIP) {
        FwItem *it = item_for(f, f->selector);
        size_t end = it ? it->len : 0;
        if (f->offset < end) f->offset += len < end - f->offset ? len : end - f->offset;
    } else if (control & FW_CFG_DMA_WRITE) {
        error = true; /* items are read-only */
    }
    uint8_t result[4] = {0, 0, 0, error ? FW_CFG_DMA_ERROR : 0};
    phys_copy_to(f->pm, addr, result, sizeof result);
}

void fwcfg_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    FwCfg *f = opaque;
    if (port == FW_CFG_DMA_ADDR_HIGH && size == 4) {
        f->dma_high = bswap32(val);
        return;
    }
    if (port == FW_CFG_DMA_ADDR_LOW && size == 4) {
        uint64_t addr = (uint64_t)f->dma_high << 32 | bswap32(val);
        f->dma_high = 0;
        dma_run(f, addr);
        return;
    }
    if (port == 0x510) {
        f->selector = (uint16_t)(val & ~0x4000u);
        f->offset = 0;
    }
    /* writes to the data port are ignored: items are read-only */
}

int fwcfg_register(FwCfg *f, IoBus *bus) {
    return iobus_register(bus, 0x510, 12, fwcfg_port_read, fwcfg_port_write, f);
}

/* ---------------- snapshots ---------------- */

/* A CRC over every item's key, length and contents. */
static uint32_t items_crc(const FwCfg *f) {
    uint32_t crc = 0;
    for (unsigned s = 0; s < 2; s++) {
        for (unsigned i = 0; i < KEYS_PER_SPACE; i++) {
            const FwItem *it = &f->items[s][i];
            if (!it->data) continue;
            uint8_t head[12] = {(uint8_t)s, (uint8_t)i, (uint8_t)(i >> 8)};
            for (int b = 0; b < 8; b++)
                head[4 + b] = (uint8_t)((uint64_t)it->len >> (8 * b));
            crc = snap_crc32(crc, head, sizeof head);
            crc = snap_crc32(crc, it->data, it->len);
        }
    }
    return crc;
}

void fwcfg_save(const FwCfg *f, SnapWriter *w) {
    snap_put_u32(w, items_crc(f));
    snap_put_u16(w, f->selector);
    snap_put_u64(w, f->offset);
    snap_put_u32(w, f->dma_high);
}

bool fwcfg_load(FwCfg *f, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    uint32_t crc = snap_get_u32(r);
    uint16_t selector = snap_get_u16(r);
    uint64_t offset = snap_get_u64(r);
    uint32_t dma_high = snap_get_u32(r);
    if (snap_ok(r) && crc != items_crc(f))
        snap_fail(r, "the firmware configuration differs (another VGA BIOS, -kernel, -initrd, "
                     "-append, -m or -boot?)");
    FwItem *it = item_for(f, selector);
    snap_check(r, offset <= (it ? it->len : 0), "read offset past the item");
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    f->selector = selector;
    f->offset = (size_t)offset;
    f->dma_high = dma_high;
    return true;
}
