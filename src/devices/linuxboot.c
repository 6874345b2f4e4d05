/*
 * linuxboot.c - direct Linux kernel boot (see linuxboot.h).
 */
#include "devices/linuxboot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Setup header fields (offsets in the kernel image). */
enum {
    HDR_SETUP_SECTS = 0x1F1,
    HDR_BOOT_FLAG = 0x1FE,
    HDR_MAGIC = 0x202,
    HDR_VERSION = 0x206,
    HDR_TYPE_OF_LOADER = 0x210,
    HDR_LOADFLAGS = 0x211,
    HDR_RAMDISK_IMAGE = 0x218,
    HDR_RAMDISK_SIZE = 0x21C,
    HDR_HEAP_END_PTR = 0x224,
    HDR_CMD_LINE_PTR = 0x228,
    HDR_INITRD_ADDR_MAX = 0x22C,
    HDR_CMDLINE_SIZE = 0x238,
    HDR_INIT_SIZE = 0x260,
};
#define LOADED_HIGH      0x01
#define CAN_USE_HEAP     0x80
#define FIRMWARE_RESERVE (1u << 20) /* top of RAM left to the BIOS's tables */

static uint32_t le(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(uint8_t *p, uint32_t v, int n) {
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_be(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

int linuxboot_prepare(uint8_t *k, size_t klen, size_t initrd_size, const char *cmdline,
                      uint32_t ram_bytes, LinuxBootPlan *plan, char *err, size_t errlen) {
    memset(plan, 0, sizeof *plan);
    if (klen < 0x400 || memcmp(k + HDR_MAGIC, "HdrS", 4) != 0 ||
        le(k + HDR_BOOT_FLAG, 2) != 0xAA55) {
        snprintf(err, errlen,
                 "not a Linux x86 kernel image (no \"HdrS\" setup header): only bzImage kernels "
                 "can be booted");
        return -1;
    }
    uint16_t version = (uint16_t)le(k + HDR_VERSION, 2);
    if (version < 0x0202 || !(k[HDR_LOADFLAGS] & LOADED_HIGH)) {
        snprintf(err, errlen,
                 "not a bzImage (boot protocol %u.%02u%s): only bzImage kernels with protocol 2.02 "
                 "or later can be booted",
                 version >> 8, version & 0xFF,
                 (k[HDR_LOADFLAGS] & LOADED_HIGH) ? "" : ", zImage loaded low");
        return -1;
    }
    unsigned sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
    uint32_t setup_size = (sects + 1) * 512;
    if (setup_size >= klen || setup_size > LINUXBOOT_HEAP_END - 0x200) {
        snprintf(err, errlen, "kernel image truncated or with a bad setup size (%u sectors)",
                 sects);
        return -1;
    }
    uint32_t kernel_size = (uint32_t)(klen - setup_size);
    uint32_t cmdline_max = version >= 0x0206 ? le(k + HDR_CMDLINE_SIZE, 4) : 255;
    if (cmdline_max >= LINUXBOOT_CMDLINE_MAX) cmdline_max = LINUXBOOT_CMDLINE_MAX - 1;
    size_t clen = cmdline ? strlen(cmdline) : 0;
    if (clen > cmdline_max) {
        snprintf(err, errlen, "kernel command line too long (%zu bytes, this kernel takes %u)",
                 clen, cmdline_max);
        return -1;
    }
    /* The kernel decompresses in place above 1 MiB: it needs init_size there. */
    uint32_t need = version >= 0x020A ? le(k + HDR_INIT_SIZE, 4) : 0;
    if (need < kernel_size) need = kernel_size;
    uint32_t usable = ram_bytes > FIRMWARE_RESERVE ? ram_bytes - FIRMWARE_RESERVE : 0;
    if ((uint64_t)LINUXBOOT_KERNEL_ADDR + need > usable) {
        snprintf(err, errlen, "kernel too large for RAM (needs %u KiB above 1 MiB, %u MiB of RAM)",
                 need >> 10, ram_bytes >> 20);
        return -1;
    }
    uint32_t initrd_addr = 0;
    if (initrd_size) {
        uint32_t max = version >= 0x0203 ? le(k + HDR_INITRD_ADDR_MAX, 4) : 0x37FFFFFF;
        uint64_t end = (uint64_t)max + 1 < usable ? (uint64_t)max + 1 : usable;
        uint64_t lowest = (uint64_t)LINUXBOOT_KERNEL_ADDR + need;
        if (initrd_size > end || ((end - initrd_size) & ~0xFFFull) < lowest) {
            snprintf(err, errlen,
                     "initrd too large for RAM (%zu KiB; %u MiB of RAM leaves %llu KiB above the "
                     "kernel)",
                     initrd_size >> 10, ram_bytes >> 20,
                     (unsigned long long)(end > lowest ? (end - lowest) >> 10 : 0));
            return -1;
        }
        initrd_addr = (uint32_t)((end - initrd_size) & ~0xFFFull);
    }
    /* The loader's part of the setup header. */
    k[HDR_TYPE_OF_LOADER] = 0xFF; /* no assigned loader ID */
    k[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    put_le(k + HDR_HEAP_END_PTR, LINUXBOOT_HEAP_END - 0x200, 2);
    put_le(k + HDR_CMD_LINE_PTR, LINUXBOOT_CMDLINE_ADDR, 4);
    put_le(k + HDR_RAMDISK_IMAGE, initrd_addr, 4);
    put_le(k + HDR_RAMDISK_SIZE, (uint32_t)initrd_size, 4);
    plan->protocol = version;
    plan->setup_size = setup_size;
    plan->kernel_size = kernel_size;
    plan->initrd_addr = initrd_addr;
    plan->initrd_size = (uint32_t)initrd_size;
    plan->cmdline_size = (uint32_t)clen + 1;
    return 0;
}

/* ROM layout: header, PnP header at 0x20, product name at 0x40, boot code
 * at 0x60, DMA descriptors at 0x100, checksum in the last byte. */
#define ROM_PNP   0x20
#define ROM_NAME  0x40
#define ROM_CODE  0x60
#define ROM_DESCS 0x100

static uint8_t *emit(uint8_t *p, const uint8_t *bytes, size_t n) {
    memcpy(p, bytes, n);
    return p + n;
}

void linuxboot_build_rom(const LinuxBootPlan *plan, uint8_t *rom) {
    memset(rom, 0, LINUXBOOT_ROM_SIZE);
    rom[0] = 0x55;
    rom[1] = 0xAA;
    rom[2] = LINUXBOOT_ROM_SIZE / 512;
    rom[3] = 0xCB; /* init entry: retf (nothing to set up) */
    put_le(rom + 0x1A, ROM_PNP, 2);

    uint8_t *pnp = rom + ROM_PNP;
    memcpy(pnp, "$PnP", 4);
    pnp[4] = 1;                    /* revision */
    pnp[5] = 2;                    /* length in 16-byte units */
    put_le(pnp + 16, ROM_NAME, 2); /* product name */
    put_le(pnp + 26, ROM_CODE, 2); /* bootstrap entry vector */
    uint8_t sum = 0;
    for (int i = 0; i < 32; i++)
        sum = (uint8_t)(sum + pnp[i]);
    pnp[9] = (uint8_t)-sum;
    strcpy((char *)rom + ROM_NAME, "bt86 Linux direct boot");

    /* The DMA descriptors: {control, length, address}, big endian. */
    struct {
        uint16_t key;
        uint32_t len, addr;
    } items[4] = {
        {FW_CFG_SETUP_DATA, plan->setup_size, LINUXBOOT_SETUP_ADDR},
        {FW_CFG_KERNEL_DATA, plan->kernel_size, LINUXBOOT_KERNEL_ADDR},
        {FW_CFG_CMDLINE_DATA, plan->cmdline_size, LINUXBOOT_CMDLINE_ADDR},
        {FW_CFG_INITRD_DATA, plan->initrd_size, plan->initrd_addr},
    };
    unsigned ndesc = plan->initrd_size ? 4 : 3;
    for (unsigned i = 0; i < ndesc; i++) {
        uint8_t *d = rom + ROM_DESCS + 16 * i;
        put_be(d, (uint32_t)items[i].key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4);
        put_be(d + 4, items[i].len, 4);
        put_be(d + 8, items[i].addr, 8);
    }

    /* Boot code, 16-bit real mode, CS = the ROM's segment. */
    uint16_t seg = LINUXBOOT_SETUP_ADDR >> 4, desc_off = LINUXBOOT_DESC_ADDR - LINUXBOOT_SETUP_ADDR;
    uint8_t *p = rom + ROM_CODE;
    const uint8_t start[] = {
        0xFA, /* cli */
        0xFC, /* cld */
        0x0E,
        0x1F, /* push cs; pop ds */
        0xB8,
        (uint8_t)seg,
        (uint8_t)(seg >> 8), /* mov ax, seg */
        0x8E,
        0xC0, /* mov es, ax */
        0xBE,
        ROM_DESCS & 0xFF,
        ROM_DESCS >> 8, /* mov si, descriptors */
        0xBF,
        (uint8_t)desc_off,
        (uint8_t)(desc_off >> 8), /* mov di, their place in RAM */
        0xB9,
        (uint8_t)(16 * ndesc),
        0x00, /* mov cx, 16 * n */
        0xF3,
        0xA4, /* rep movsb */
        0xBA,
        FW_CFG_DMA_ADDR_LOW & 0xFF,
        FW_CFG_DMA_ADDR_LOW >> 8, /* mov dx, 0x518 */
    };
    p = emit(p, start, sizeof start);
    for (unsigned i = 0; i < ndesc; i++) {
        uint32_t a = LINUXBOOT_DESC_ADDR + 16 * i;
        const uint8_t go[] = {
            0x66,       0xB8, (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8),
            (uint8_t)a,       /* mov eax, be(a) */
            0x66,       0xEF, /* out dx, eax */
        };
        p = emit(p, go, sizeof go);
    }
    uint16_t sp = LINUXBOOT_HEAP_END, entry = seg + 0x20;
    const uint8_t jump[] = {
        0xB8,
        (uint8_t)seg,
        (uint8_t)(seg >> 8), /* mov ax, seg */
        0x8E,
        0xD8,
        0x8E,
        0xC0,
        0x8E,
        0xE0, /* mov ds, ax; mov es, ax; mov fs, ax */
        0x8E,
        0xE8,
        0x8E,
        0xD0, /* mov gs, ax; mov ss, ax */
        0xBC,
        (uint8_t)sp,
        (uint8_t)(sp >> 8), /* mov sp, heap end */
        0xEA,
        0x00,
        0x00,
        (uint8_t)entry,
        (uint8_t)(entry >> 8), /* jmp seg+0x20:0 */
    };
    p = emit(p, jump, sizeof jump);

    sum = 0;
    for (unsigned i = 0; i < LINUXBOOT_ROM_SIZE - 1; i++)
        sum = (uint8_t)(sum + rom[i]);
    rom[LINUXBOOT_ROM_SIZE - 1] = (uint8_t)-sum;
}

/* Read a whole file (up to `max` bytes). */
static uint8_t *read_file(const char *what, const char *path, size_t max, size_t *len, char *err,
                          size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s is not a regular file", what, path);
        fclose(f);
        return NULL;
    }
    if ((unsigned long long)st.st_size > max) {
        snprintf(err, errlen, "%s too large for RAM: %s has %lld bytes, RAM %zu MiB", what, path,
                 (long long)st.st_size, max >> 20);
        fclose(f);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *data = malloc(n ? n : 1);
    if (!data || fread(data, 1, n, f) != n) {
        snprintf(err, errlen, "cannot read %s %s", what, path);
        free(data);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return data;
}

int linuxboot_setup(FwCfg *f, uint32_t ram_bytes, const char *kernel_path, const char *initrd_path,
                    const char *cmdline, char *err, size_t errlen) {
    size_t klen = 0, ilen = 0;
    uint8_t *kernel = read_file("kernel", kernel_path, ram_bytes, &klen, err, errlen);
    if (!kernel) return -1;
    uint8_t *initrd = NULL;
    if (initrd_path) {
        initrd = read_file("initrd", initrd_path, ram_bytes, &ilen, err, errlen);
        if (!initrd) {
            free(kernel);
            return -1;
        }
    }
    LinuxBootPlan plan;
    char why[300];
    if (linuxboot_prepare(kernel, klen, ilen, cmdline, ram_bytes, &plan, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", ilen && strstr(why, "initrd") ? initrd_path : kernel_path,
                 why);
        free(kernel);
        free(initrd);
        return -1;
    }
    const char *cl = cmdline ? cmdline : "";
    uint8_t rom[LINUXBOOT_ROM_SIZE];
    linuxboot_build_rom(&plan, rom);
    static const char bootorder[] = "/rom@" LINUXBOOT_ROM_NAME "\n";
    int rc = 0;
    rc |= fwcfg_add_i32(f, FW_CFG_SETUP_ADDR, LINUXBOOT_SETUP_ADDR);
    rc |= fwcfg_add_i32(f, FW_CFG_SETUP_SIZE, plan.setup_size);
    rc |= fwcfg_add_bytes(f, FW_CFG_SETUP_DATA, kernel, plan.setup_size);
    rc |= fwcfg_add_i32(f, FW_CFG_KERNEL_ADDR, LINUXBOOT_KERNEL_ADDR);
    rc |= fwcfg_add_i32(f, FW_CFG_KERNEL_SIZE, plan.kernel_size);
    rc |= fwcfg_add_bytes(f, FW_CFG_KERNEL_DATA, kernel + plan.setup_size, plan.kernel_size);
    rc |= fwcfg_add_i32(f, FW_CFG_CMDLINE_ADDR, LINUXBOOT_CMDLINE_ADDR);
    rc |= fwcfg_add_i32(f, FW_CFG_CMDLINE_SIZE, plan.cmdline_size);
    rc |= fwcfg_add_bytes(f, FW_CFG_CMDLINE_DATA, cl, plan.cmdline_size);
    rc |= fwcfg_add_i32(f, FW_CFG_INITRD_ADDR, plan.initrd_addr);
    rc |= fwcfg_add_i32(f, FW_CFG_INITRD_SIZE, plan.initrd_size);
    if (ilen) rc |= fwcfg_add_bytes(f, FW_CFG_INITRD_DATA, initrd, ilen);
    free(kernel);
    free(initrd);
    if (rc < 0 || fwcfg_add_file(f, LINUXBOOT_ROM_NAME, rom, sizeof rom) < 0 ||
        fwcfg_add_file(f, "bootorder", bootorder, sizeof bootorder - 1) < 0) {
        snprintf(err, errlen, "internal error: fw_cfg is full");
        return -1;
    }
    return 0;
}
