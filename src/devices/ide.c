/*
 * ide.c - IDE/ATA channel with PIO transfers (see ide.h).
 *
 * A transfer moves through `buf` one block at a time (1 sector, or the
 * MULTIPLE block size): reads fill the buffer from the disk and raise DRQ
 * and an interrupt; the guest drains it through the data port; writes fill
 * the buffer from the data port and commit it to the disk when full. The
 * device is never busy from the guest's point of view: each step completes
 * at once.
 */
#include "devices/ide.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512
#define MAX_MULTIPLE 16

/* Status bits. */
#define ST_ERR  0x01
#define ST_DRQ  0x08
#define ST_DSC  0x10
#define ST_DRDY 0x40
#define ST_BSY  0x80
/* Error bits. */
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_UNC  0x40
/* Device control bits. */
#define DC_NIEN 0x02
#define DC_SRST 0x04
#define DC_HOB  0x80

typedef enum Xfer { XFER_NONE, XFER_READ, XFER_WRITE, XFER_IDENTIFY } Xfer;

typedef struct IdeDrive {
    Disk *disk;
    uint64_t sectors;
    uint16_t cyls, heads, spt; /* translation geometry (INITIALIZE DEVICE PARAMETERS) */
    unsigned multiple;         /* sectors per block for READ/WRITE MULTIPLE (0: disabled) */
} IdeDrive;

struct IdeChannel {
    uint16_t base, ctl;
    IrqLine irq;
    bool irq_pending;
    IdeDrive drive[2];
    /* task file (shared by both drives, as on the cable), and the previous bytes (HOB) */
    uint8_t features, count, lba_low, lba_mid, lba_high, dev_head;
    uint8_t hob_count, hob_low, hob_mid, hob_high;
    uint8_t status, error, devctl;
    /* transfer in progress */
    Xfer xfer;
    uint8_t buf[MAX_MULTIPLE * SECTOR];
    unsigned pos, len;        /* bytes in buf: position, size of the current block */
    uint64_t next_lba;        /* next sector to read or write */
    uint32_t remaining;       /* sectors left after the current block */
    unsigned block;           /* sectors per block of this command */
};

static IdeDrive *cur(IdeChannel *ch) { return &ch->drive[(ch->dev_head >> 4) & 1]; }
static bool present(IdeChannel *ch) { return cur(ch)->disk != NULL; }

static void update_irq(IdeChannel *ch) {
    irq_set(&ch->irq, ch->irq_pending && !(ch->devctl & DC_NIEN));
}

static void raise_irq(IdeChannel *ch) {
    ch->irq_pending = true;
    update_irq(ch);
}

static void set_signature(IdeChannel *ch) {
    ch->count = 1;
    ch->lba_low = 1;
    ch->lba_mid = 0;
    ch->lba_high = 0;
    ch->dev_head &= 0x10;
}

static void command_done(IdeChannel *ch) {
    ch->xfer = XFER_NONE;
    ch->status = ST_DRDY | ST_DSC;
    raise_irq(ch);
}

static void command_error(IdeChannel *ch, uint8_t err) {
    ch->xfer = XFER_NONE;
    ch->error = err;
    ch->status = ST_DRDY | ST_DSC | ST_ERR;
    raise_irq(ch);
}

static void put_string(uint16_t *w, int words, const char *s) {
    /* ATA strings: two characters per word, first in the high byte, space padded. */
    for (int i = 0; i < words; i++) {
        char a = *s ? *s++ : ' ';
        char b = *s ? *s++ : ' ';
        w[i] = (uint16_t)((uint8_t)a << 8 | (uint8_t)b);
    }
}

static void build_identify(IdeDrive *d, uint8_t *out) {
    uint16_t w[256];
    memset(w, 0, sizeof w);
    uint64_t lba28 = d->sectors > 0x0FFFFFFF ? 0x0FFFFFFF : d->sectors;
    uint32_t cur_cap = (uint32_t)d->cyls * d->heads * d->spt;
    w[0] = 0x0040; /* fixed disk */
    w[1] = d->cyls;
    w[3] = d->heads;
    w[6] = d->spt;
    put_string(&w[10], 10, "BT86-0001");
    put_string(&w[23], 4, "1.0");
    put_string(&w[27], 20, "BT86 HARDDISK");
    w[47] = 0x8000 | MAX_MULTIPLE;
    w[49] = 0x0200; /* LBA supported (no DMA) */
    w[50] = 0x4000;
    w[51] = 0x0200;
    w[53] = 0x0003; /* words 54-58 and 64-70 valid */
    w[54] = d->cyls;
    w[55] = d->heads;
    w[56] = d->spt;
    w[57] = (uint16_t)cur_cap;
    w[58] = (uint16_t)(cur_cap >> 16);
    w[59] = d->multiple ? (uint16_t)(0x0100 | d->multiple) : 0;
    w[60] = (uint16_t)lba28;
    w[61] = (uint16_t)(lba28 >> 16);
    w[64] = 0x0003; /* PIO modes 3 and 4 */
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x007E; /* ATA-1 to ATA-6 */
    w[82] = 0x4000;
    w[83] = 0x7400; /* 48-bit addressing, FLUSH CACHE, FLUSH CACHE EXT */
    w[84] = 0x4000;
    w[85] = 0x4000;
    w[86] = 0x3400;
    w[87] = 0x4000;
    for (int i = 0; i < 4; i++) w[100 + i] = (uint16_t)(d->sectors >> (16 * i));
    for (int i = 0; i < 256; i++) {
        out[2 * i] = (uint8_t)w[i];
        out[2 * i + 1] = (uint8_t)(w[i] >> 8);
    }
}

/* Starting sector of the command from the task file. */
static uint64_t command_lba(IdeChannel *ch, bool ext) {
    if (ext)
        return (uint64_t)ch->hob_high << 40 | (uint64_t)ch->hob_mid << 32 | (uint64_t)ch->hob_low << 24 |
               (uint64_t)ch->lba_high << 16 | (uint64_t)ch->lba_mid << 8 | ch->lba_low;
    if (ch->dev_head & 0x40)
        return (uint64_t)(ch->dev_head & 0x0F) << 24 | (uint64_t)ch->lba_high << 16 |
               (uint64_t)ch->lba_mid << 8 | ch->lba_low;
    /* CHS: (cylinder * heads + head) * sectors per track + sector - 1 */
    IdeDrive *d = cur(ch);
    uint32_t cyl = (uint32_t)ch->lba_high << 8 | ch->lba_mid, head = ch->dev_head & 0x0F;
    uint32_t sector = ch->lba_low;
    if (sector == 0 || sector > d->spt || head >= d->heads) return UINT64_MAX;
    return ((uint64_t)cyl * d->heads + head) * d->spt + sector - 1;
}

static uint32_t command_count(IdeChannel *ch, bool ext) {
    if (ext) {
        uint32_t n = (uint32_t)ch->hob_count << 8 | ch->count;
        return n ? n : 65536;
    }
    return ch->count ? ch->count : 256;
}

/* Load the next block of a read into buf, or finish. */
static void read_next_block(IdeChannel *ch) {
    if (ch->remaining == 0) {
        ch->xfer = XFER_NONE;
        ch->status = ST_DRDY | ST_DSC;
        return;
    }
    uint32_t n = ch->remaining < ch->block ? ch->remaining : ch->block;
    if (disk_read(cur(ch)->disk, ch->next_lba, n, ch->buf) < 0) {
        command_error(ch, ER_UNC);
        return;
    }
    ch->next_lba += n;
    ch->remaining -= n;
    ch->pos = 0;
    ch->len = n * SECTOR;
    ch->status = ST_DRDY | ST_DSC | ST_DRQ;
    raise_irq(ch);
}

static void start_rw(IdeChannel *ch, bool write, bool ext, bool multiple) {
    IdeDrive *d = cur(ch);
    if (multiple && d->multiple == 0) {
        command_error(ch, ER_ABRT);
        return;
    }
    uint64_t lba = command_lba(ch, ext);
    uint32_t count = command_count(ch, ext);
    if (lba == UINT64_MAX || lba >= d->sectors || count > d->sectors - lba) {
        command_error(ch, ER_IDNF | ER_ABRT);
        return;
    }
    ch->block = multiple ? d->multiple : 1;
    ch->next_lba = lba;
    ch->remaining = count;
    if (!write) {
        ch->xfer = XFER_READ;
        read_next_block(ch);
        return;
    }
    ch->xfer = XFER_WRITE;
    uint32_t n = count < ch->block ? count : ch->block;
    ch->pos = 0;
    ch->len = n * SECTOR;
    ch->status = ST_DRDY | ST_DSC | ST_DRQ; /* first block: no interrupt */
}

/* A write block is complete: commit it to the disk. */
static void write_block_done(IdeChannel *ch) {
    uint32_t n = ch->len / SECTOR;
    if (disk_write(cur(ch)->disk, ch->next_lba, n, ch->buf) < 0) {
        command_error(ch, ER_UNC);
        return;
    }
    ch->next_lba += n;
    ch->remaining -= n;
    if (ch->remaining == 0) {
        command_done(ch);
        return;
    }
    n = ch->remaining < ch->block ? ch->remaining : ch->block;
    ch->pos = 0;
    ch->len = n * SECTOR;
    ch->status = ST_DRDY | ST_DSC | ST_DRQ;
    raise_irq(ch);
}

static void execute(IdeChannel *ch, uint8_t cmd) {
    ch->irq_pending = false;
    update_irq(ch);
    ch->error = 0;
    if (cmd == 0x90) { /* EXECUTE DEVICE DIAGNOSTIC: both positions answer */
        set_signature(ch);
        ch->error = 0x01;
        ch->status = ST_DRDY | ST_DSC;
        raise_irq(ch);
        return;
    }
    if (!present(ch)) return; /* nobody answers for an empty position */
    IdeDrive *d = cur(ch);
    switch (cmd) {
    case 0xEC: /* IDENTIFY DEVICE */
        build_identify(d, ch->buf);
        ch->xfer = XFER_IDENTIFY;
        ch->pos = 0;
        ch->len = SECTOR;
        ch->status = ST_DRDY | ST_DSC | ST_DRQ;
        raise_irq(ch);
        break;
    case 0x20: case 0x21: start_rw(ch, false, false, false); break;
    case 0x24: start_rw(ch, false, true, false); break;
    case 0x29: start_rw(ch, false, true, true); break;
    case 0xC4: start_rw(ch, false, false, true); break;
    case 0x30: case 0x31: start_rw(ch, true, false, false); break;
    case 0x34: start_rw(ch, true, true, false); break;
    case 0x39: start_rw(ch, true, true, true); break;
    case 0xC5: start_rw(ch, true, false, true); break;
    case 0x40: case 0x41: case 0x42: { /* READ VERIFY (EXT) */
        bool ext = cmd == 0x42;
        uint64_t lba = command_lba(ch, ext);
        uint32_t count = command_count(ch, ext);
        if (lba == UINT64_MAX || lba >= d->sectors || count > d->sectors - lba) command_error(ch, ER_IDNF | ER_ABRT);
        else command_done(ch);
        break;
    }
    case 0xC6: /* SET MULTIPLE MODE */
        if (ch->count == 0 || ch->count > MAX_MULTIPLE || (ch->count & (ch->count - 1))) {
            command_error(ch, ER_ABRT);
        } else {
            d->multiple = ch->count;
            command_done(ch);
        }
        break;
    case 0x91: /* INITIALIZE DEVICE PARAMETERS */
        if (ch->count == 0) {
            command_error(ch, ER_ABRT);
            break;
        }
        d->spt = ch->count;
        d->heads = (uint16_t)((ch->dev_head & 0x0F) + 1);
        {
            uint64_t c = d->sectors / ((uint64_t)d->heads * d->spt);
            d->cyls = (uint16_t)(c > 65535 ? 65535 : c);
        }
        command_done(ch);
        break;
    case 0xE7: case 0xEA: /* FLUSH CACHE (EXT) */
        if (disk_flush(d->disk) < 0) command_error(ch, ER_ABRT);
        else command_done(ch);
        break;
    case 0xEF: /* SET FEATURES: transfer modes, write cache, ... accepted */
    case 0xE0: case 0xE1: case 0xE2: case 0xE3: case 0x94: case 0x95: case 0x96: case 0x97:
    case 0xE6: case 0x99:
        command_done(ch);
        break;
    case 0xE5: case 0x98: /* CHECK POWER MODE: active */
        ch->count = 0xFF;
        command_done(ch);
        break;
    default:
        if ((cmd & 0xF0) == 0x10 || (cmd & 0xF0) == 0x70) { /* RECALIBRATE, SEEK */
            command_done(ch);
            break;
        }
        command_error(ch, ER_ABRT); /* PACKET, IDENTIFY PACKET DEVICE, DMA, unknown */
        break;
    }
}

static void soft_reset(IdeChannel *ch) {
    ch->xfer = XFER_NONE;
    ch->irq_pending = false;
    update_irq(ch);
    set_signature(ch);
    ch->dev_head = 0;
    ch->error = 0x01;
    ch->status = ST_DRDY | ST_DSC;
    for (int i = 0; i < 2; i++) ch->drive[i].multiple = 0;
}

static uint32_t data_read(IdeChannel *ch, unsigned size) {
    if (!(ch->status & ST_DRQ) || (ch->xfer != XFER_READ && ch->xfer != XFER_IDENTIFY) || ch->pos >= ch->len)
        return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFF : 0xFF;
    uint32_t v = 0;
    for (unsigned i = 0; i < size && ch->pos < ch->len; i++) v |= (uint32_t)ch->buf[ch->pos++] << (8 * i);
    if (ch->pos >= ch->len) {
        if (ch->xfer == XFER_IDENTIFY) {
            ch->xfer = XFER_NONE;
            ch->status = ST_DRDY | ST_DSC;
        } else {
            read_next_block(ch);
        }
    }
    return v;
}

static void data_write(IdeChannel *ch, unsigned size, uint32_t v) {
    if (!(ch->status & ST_DRQ) || ch->xfer != XFER_WRITE) return;
    for (unsigned i = 0; i < size && ch->pos < ch->len; i++) ch->buf[ch->pos++] = (uint8_t)(v >> (8 * i));
    if (ch->pos >= ch->len) write_block_done(ch);
}

uint32_t ide_port_read(void *opaque, uint16_t port, unsigned size) {
    IdeChannel *ch = opaque;
    if (!ch->drive[0].disk && !ch->drive[1].disk) /* empty channel: floating bus */
        return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFF : 0xFF;
    if (port == ch->ctl) return present(ch) ? ch->status : 0; /* alternate status: no acknowledge */
    unsigned reg = port - ch->base;
    if (reg == 0) return data_read(ch, size);
    bool hob = ch->devctl & DC_HOB;
    switch (reg) {
    case 1: return ch->error;
    case 2: return hob ? ch->hob_count : ch->count;
    case 3: return hob ? ch->hob_low : ch->lba_low;
    case 4: return hob ? ch->hob_mid : ch->lba_mid;
    case 5: return hob ? ch->hob_high : ch->lba_high;
    case 6: return ch->dev_head | 0xA0;
    default: /* status: reading it acknowledges the interrupt */
        ch->irq_pending = false;
        update_irq(ch);
        return present(ch) ? ch->status : 0;
    }
}

void ide_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    IdeChannel *ch = opaque;
    uint8_t v = (uint8_t)val;
    if (port == ch->ctl) {
        if ((v & DC_SRST) && !(ch->devctl & DC_SRST)) soft_reset(ch);
        ch->devctl = v;
        update_irq(ch);
        return;
    }
    unsigned reg = port - ch->base;
    if (reg != 0) ch->devctl &= (uint8_t)~DC_HOB; /* a task-file write clears HOB */
    switch (reg) {
    case 0: data_write(ch, size, val); break;
    case 1: ch->features = v; break;
    case 2: ch->hob_count = ch->count; ch->count = v; break;
    case 3: ch->hob_low = ch->lba_low; ch->lba_low = v; break;
    case 4: ch->hob_mid = ch->lba_mid; ch->lba_mid = v; break;
    case 5: ch->hob_high = ch->lba_high; ch->lba_high = v; break;
    case 6: ch->dev_head = v & 0x5F; break;
    default: execute(ch, v); break;
    }
}

IdeChannel *ide_new(uint16_t base, uint16_t ctl, IrqLine irq) {
    IdeChannel *ch = calloc(1, sizeof *ch);
    if (!ch) return NULL;
    ch->base = base;
    ch->ctl = ctl;
    ch->irq = irq;
    soft_reset(ch);
    return ch;
}

void ide_free(IdeChannel *ch) { free(ch); }

int ide_attach_disk(IdeChannel *ch, int unit, Disk *disk) {
    if (unit < 0 || unit > 1 || ch->drive[unit].disk || disk_sector_size(disk) != SECTOR) return -1;
    IdeDrive *d = &ch->drive[unit];
    d->disk = disk;
    d->sectors = disk_sectors(disk);
    d->heads = 16;
    d->spt = 63;
    uint64_t c = d->sectors / (16 * 63);
    d->cyls = (uint16_t)(c > 16383 ? 16383 : c ? c : 1);
    return 0;
}

int ide_register(IdeChannel *ch, IoBus *bus) {
    if (iobus_register(bus, ch->base, 8, ide_port_read, ide_port_write, ch) < 0) return -1;
    return iobus_register(bus, ch->ctl, 1, ide_port_read, ide_port_write, ch);
}
