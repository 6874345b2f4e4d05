/*
 * fwcfg.c - QEMU fw_cfg interface, port I/O flavour (see fwcfg.h).
 *
 * Items live in two arrays: generic keys 0x0000-0x3FFF (low 14 bits) and
 * architecture-local keys 0x8000+ (bit 15). Bit 14 of a selector (the write
 * flag of old QEMU) is ignored: bt86's items are read-only.
 */
#include "devices/fwcfg.h"

#include <stdlib.h>
#include <string.h>

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
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
    return fwcfg_add_bytes(f, key, b, sizeof b);
}

int fwcfg_add_i64(FwCfg *f, uint16_t key, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    return fwcfg_add_bytes(f, key, b, sizeof b);
}

static void put_be(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
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
        for (unsigned i = 0; i < KEYS_PER_SPACE; i++) free(f->items[s][i].data);
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

void fwcfg_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    FwCfg *f = opaque;
    (void)size;
    if (port == 0x510) {
        f->selector = (uint16_t)(val & ~0x4000u);
        f->offset = 0;
    }
    /* writes to the data port are ignored: items are read-only */
}

int fwcfg_register(FwCfg *f, IoBus *bus) {
    return iobus_register(bus, 0x510, 2, fwcfg_port_read, fwcfg_port_write, f);
}
