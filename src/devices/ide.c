/*
 * ide.c - IDE/ATA channel with PIO transfers, and ATAPI CD-ROM drives
 * (see ide.h).
 *
 * A transfer moves through `buf` one block at a time (1 sector, or the
 * MULTIPLE block size): reads fill the buffer from the disk and raise DRQ
 * and an interrupt; the guest drains it through the data port; writes fill
 * the buffer from the data port and commit it to the disk when full. The
 * device is never busy from the guest's point of view: each step completes
 * at once. DMA transfers are the exception: they run on a virtual-time
 * timer (see "bus-master DMA" below).
 *
 * ATAPI: the PACKET command takes a 12-byte command packet (CDB) through
 * the data port, then the drive answers in data-in phases of at most the
 * byte-count limit the guest gave (LBA mid/high at PACKET time), each one
 * announced by DRQ, the byte count in LBA mid/high, the interrupt reason
 * (sector count register: bit 0 CoD, bit 1 IO) and an interrupt, and ends
 * with a status phase (CoD and IO set, DRQ clear). The data come from a
 * response built in `buf` or, for READ(10)/READ(12), from the disc one
 * 2048-byte sector at a time, so phases may cut across sectors. A failed
 * command ends with ERR, the sense key in the error register's high
 * nibble, and sense data (key, ASC, ASCQ) for REQUEST SENSE.
 */
#include "devices/ide.h"

#include "devices/iostats.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/clock.h"
#include "mmu/mmu.h"
#include "snap/snap.h"

#define SECTOR       512
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

#define CD_SECTOR 2048
/* Interrupt reason (sector count register) bits during PACKET commands. */
#define IR_COD 0x01
#define IR_IO  0x02

/* Bus-master registers (per channel, at BAR4 + 0 primary, + 8 secondary). */
#define BM_CMD_START     0x01
#define BM_CMD_TO_MEMORY 0x08 /* read/write control: the controller writes memory */
#define BM_ST_ACTIVE     0x01
#define BM_ST_ERROR      0x02
#define BM_ST_INTR       0x04
#define BM_ST_CAPABLE    0x60 /* drive 0/1 DMA capable: software's own bits */
/* Physical Region Descriptors: {u32 base (bit 0 ignored), u16 byte count
 * (bit 0 ignored, 0 = 64 KiB), u16 flags (bit 15: end of table)}. */
#define PRD_EOT         0x8000u
#define PRD_MAX_ENTRIES 8192u /* a table fills at most its 64 KiB page */
/* Timing: the first bytes move DMA_LATENCY_NS after the command and the
 * START bit are both there, then DMA_CHUNK bytes per DMA_CHUNK_NS (1 GB/s,
 * an SSD rather than a 1990s disk; PIO has no delay at all). In host-clock
 * mode virtual time is host time, so this rate bounds what a guest reads:
 * at the 100 MB/s of before, the 64 MiB bench row (diskread) could not
 * take less than 0.67 s however fast the guest ran (it took 0.76 s, QEMU,
 * whose DMA ends when the host's read does, 0.60 s). */
#define DMA_LATENCY_NS 10000u
#define DMA_CHUNK      65536u
#define DMA_CHUNK_NS   65536u

/* XFER_DMA_IN: the drive sends (READ DMA, PACKET with DMA), XFER_DMA_OUT:
 * it receives (WRITE DMA); both wait for the bus master. */
typedef enum Xfer {
    XFER_NONE,
    XFER_READ,
    XFER_WRITE,
    XFER_IDENTIFY,
    XFER_CDB,
    XFER_ATAPI_IN,
    XFER_DMA_IN,
    XFER_DMA_OUT
} Xfer;
typedef enum DriveKind { DRIVE_NONE, DRIVE_HD, DRIVE_CD } DriveKind;

typedef struct IdeDrive {
    DriveKind kind;
    Disk *disk; /* hard disk, or the disc in a CD drive (NULL: no disc) */
    uint64_t sectors;
    uint16_t cyls, heads, spt; /* translation geometry (INITIALIZE DEVICE PARAMETERS) */
    unsigned multiple;         /* sectors per block for READ/WRITE MULTIPLE (0: disabled) */
    uint8_t xfer_mode; /* SET FEATURES 03h: 0 PIO default, 08h+n PIO, 20h+n MWDMA, 40h+n UDMA */
    /* CD drive */
    bool tray_open, locked;
    bool unit_attention;  /* medium changed: the next command reports it */
    bool new_media_event; /* for GET EVENT STATUS NOTIFICATION */
    uint8_t sense_key, asc, ascq;
} IdeDrive;

struct IdeChannel {
    uint16_t base, ctl;
    IoStats *stats; /* NULL: not counted */
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
    unsigned pos, len;  /* bytes in buf: position, size of the current block */
    uint64_t next_lba;  /* next sector to read or write */
    uint32_t remaining; /* sectors left after the current block */
    unsigned block;     /* sectors per block of this command */
    /* PACKET command in progress */
    uint8_t cdb[12];
    uint32_t byte_limit;  /* byte-count limit of the data phases */
    uint64_t atapi_left;  /* bytes of the whole transfer still to go */
    uint32_t phase_left;  /* bytes of the current data phase still to go */
    bool from_disc;       /* data from the disc (buf holds sector next_lba - 1) */
    bool signature_shown; /* the task file holds a reset signature (see select_drive) */
    bool atapi_dma;       /* the PACKET command's data go by DMA */
    bool irq_line;        /* INTRQ as the host sees it (nIEN applied) */
    /* bus-master DMA engine (ide_attach_dma) */
    PhysMem *pm;
    Timer dma_timer;
    bool bus_master; /* the PCI function's Bus Master Enable */
    uint8_t bm_cmd, bm_status;
    uint32_t bm_prd;      /* PRD table pointer register (dword aligned) */
    uint32_t prd_next;    /* address of the next entry (wraps inside the table's 64 KiB) */
    uint32_t prd_fetched; /* entries read since START (at most PRD_MAX_ENTRIES) */
    uint32_t region_addr; /* the current entry's memory region: next address, */
    uint32_t region_left; /* bytes left, */
    bool region_last;     /* and whether it is the table's last */
};

static IdeDrive *cur(IdeChannel *ch) {
    return &ch->drive[(ch->dev_head >> 4) & 1];
}
static bool present(IdeChannel *ch) {
    return cur(ch)->kind != DRIVE_NONE;
}

static void update_irq(IdeChannel *ch) {
    bool level = ch->irq_pending && !(ch->devctl & DC_NIEN);
    /* The bus-master status's interrupt bit latches the rising edge of
     * the channel's interrupt line (whatever the transfer mode). */
    if (level && !ch->irq_line) ch->bm_status |= BM_ST_INTR;
    ch->irq_line = level;
    irq_set(&ch->irq, level);
}

static void raise_irq(IdeChannel *ch) {
    ch->irq_pending = true;
    update_irq(ch);
}

/* The reset signature of the selected drive: ATA 0x00/0x00 in LBA mid/high,
 * ATAPI 0x14/0xEB. */
static void set_signature(IdeChannel *ch) {
    bool atapi = cur(ch)->kind == DRIVE_CD;
    ch->count = 1;
    ch->lba_low = 1;
    ch->lba_mid = atapi ? 0x14 : 0;
    ch->lba_high = atapi ? 0xEB : 0;
    ch->dev_head &= 0x10;
    ch->signature_shown = true;
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

/* Words 63 and 88 of IDENTIFY (PACKET) DEVICE: multiword DMA modes 0-2 and
 * Ultra DMA modes 0-2 (UDMA/33) supported, with the selected one. */
static void identify_dma_words(const IdeDrive *d, uint16_t *w) {
    w[49] |= 0x0100; /* DMA supported */
    w[53] |= 0x0004; /* word 88 valid */
    w[63] = 0x0007;
    w[88] = 0x0007;
    if ((d->xfer_mode & 0xF8) == 0x20) w[63] |= (uint16_t)(0x0100 << (d->xfer_mode & 7));
    if ((d->xfer_mode & 0xF8) == 0x40) w[88] |= (uint16_t)(0x0100 << (d->xfer_mode & 7));
}

/* SET FEATURES 03h: the transfer modes IDENTIFY reports. */
static bool transfer_mode_valid(uint8_t mode, bool dma) {
    if (mode <= 0x01 || (mode >= 0x08 && mode <= 0x0C)) return true; /* PIO default, PIO 0-4 */
    return dma && ((mode >= 0x20 && mode <= 0x22) || (mode >= 0x40 && mode <= 0x42));
}

static void build_identify(IdeDrive *d, uint8_t *out, bool dma) {
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
    w[49] = 0x0200; /* LBA supported (DMA: identify_dma_words) */
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
    for (int i = 0; i < 4; i++)
        w[100 + i] = (uint16_t)(d->sectors >> (16 * i));
    if (dma) identify_dma_words(d, w);
    for (int i = 0; i < 256; i++) {
        out[2 * i] = (uint8_t)w[i];
        out[2 * i + 1] = (uint8_t)(w[i] >> 8);
    }
}

/* Starting sector of the command from the task file. */
static uint64_t command_lba(IdeChannel *ch, bool ext) {
    if (ext)
        return (uint64_t)ch->hob_high << 40 | (uint64_t)ch->hob_mid << 32 |
               (uint64_t)ch->hob_low << 24 | (uint64_t)ch->lba_high << 16 |
               (uint64_t)ch->lba_mid << 8 | ch->lba_low;
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

/* ---- ATAPI CD-ROM ---- */

/* Sense keys and additional sense codes (ASC << 8 | ASCQ). */
#define SK_NO_SENSE             0x0
#define SK_NOT_READY            0x2
#define SK_MEDIUM_ERROR         0x3
#define SK_ILLEGAL_REQUEST      0x5
#define SK_UNIT_ATTENTION       0x6
#define ASC_INVALID_OPCODE      0x2000
#define ASC_LBA_OUT_OF_RANGE    0x2100
#define ASC_INVALID_FIELD       0x2400
#define ASC_MEDIUM_CHANGED      0x2800
#define ASC_PARAMS_NOT_SAVABLE  0x3900
#define ASC_NO_MEDIUM           0x3A01
#define ASC_NO_MEDIUM_TRAY_OPEN 0x3A02
#define ASC_UNRECOVERED_READ    0x1100
#define ASC_REMOVAL_PREVENTED   0x5302

static void build_identify_packet(const IdeDrive *d, uint8_t *out, bool dma) {
    uint16_t w[256];
    memset(w, 0, sizeof w);
    /* ATAPI (10b), CD-ROM (type 5), removable, DRQ within 50 us of PACKET
     * (no interrupt before the packet), 12-byte packets. */
    w[0] = 0x8000 | 5 << 8 | 0x80 | 0x40;
    put_string(&w[10], 10, "BT86-CD01");
    put_string(&w[23], 4, "1.0");
    put_string(&w[27], 20, "BT86 CD-ROM");
    w[49] = 0x0200; /* LBA (DMA: identify_dma_words) */
    w[53] = 0x0002; /* words 64-70 valid */
    w[64] = 0x0003; /* PIO modes 3 and 4 */
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x007E; /* ATA/ATAPI-1 to 6 */
    w[82] = 0x0010; /* PACKET feature set */
    w[83] = 0x4000;
    w[84] = 0x4000;
    w[85] = 0x0010;
    w[87] = 0x4000;
    if (dma) identify_dma_words(d, w);
    for (int i = 0; i < 256; i++) {
        out[2 * i] = (uint8_t)w[i];
        out[2 * i + 1] = (uint8_t)(w[i] >> 8);
    }
}

static bool medium_present(const IdeDrive *d) {
    return d->disk != NULL && !d->tray_open;
}

static uint32_t be16_at(const uint8_t *p) {
    return (uint32_t)p[0] << 8 | p[1];
}
static uint32_t be32_at(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put_be16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put_be32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* End the PACKET command: status phase. */
static void atapi_done(IdeChannel *ch) {
    ch->xfer = XFER_NONE;
    ch->count = IR_COD | IR_IO;
    ch->status = ST_DRDY | ST_DSC;
    raise_irq(ch);
}

/* End the PACKET command with CHECK CONDITION and the given sense. */
static void atapi_fail(IdeChannel *ch, uint8_t key, uint16_t asc_ascq) {
    IdeDrive *d = cur(ch);
    d->sense_key = key;
    d->asc = (uint8_t)(asc_ascq >> 8);
    d->ascq = (uint8_t)asc_ascq;
    ch->xfer = XFER_NONE;
    ch->error = (uint8_t)(key << 4) | (key == SK_ILLEGAL_REQUEST ? ER_ABRT : 0);
    ch->count = IR_COD | IR_IO;
    ch->status = ST_DRDY | ST_DSC | ST_ERR;
    raise_irq(ch);
}

static void dma_kick(IdeChannel *ch);

/* Start the next data-in phase: at most byte_limit bytes, DRQ, interrupt.
 * By DMA there is one phase, which waits for the bus master. */
static void atapi_next_phase(IdeChannel *ch) {
    if (ch->atapi_dma) {
        ch->count = IR_IO;
        ch->xfer = XFER_DMA_IN;
        ch->status = ST_DRDY | ST_DSC | ST_DRQ;
        dma_kick(ch);
        return;
    }
    uint32_t n = ch->atapi_left < ch->byte_limit ? (uint32_t)ch->atapi_left : ch->byte_limit;
    ch->phase_left = n;
    ch->lba_mid = (uint8_t)n;
    ch->lba_high = (uint8_t)(n >> 8);
    ch->count = IR_IO;
    ch->xfer = XFER_ATAPI_IN;
    ch->status = ST_DRDY | ST_DSC | ST_DRQ;
    raise_irq(ch);
}

/* Send `len` bytes of buf, cut to the allocation length the guest gave. */
static void atapi_reply(IdeChannel *ch, uint32_t len, uint32_t alloc) {
    if (len > alloc) len = alloc;
    if (len == 0) {
        atapi_done(ch);
        return;
    }
    ch->from_disc = false;
    ch->pos = 0;
    ch->len = len;
    ch->atapi_left = len;
    atapi_next_phase(ch);
}

/* Load the next disc sector into buf; false after a read error (the command
 * has then failed). */
static bool atapi_load_sector(IdeChannel *ch) {
    if (disk_read(cur(ch)->disk, ch->next_lba, 1, ch->buf) < 0) {
        atapi_fail(ch, SK_MEDIUM_ERROR, ASC_UNRECOVERED_READ);
        return false;
    }
    ch->next_lba++;
    ch->pos = 0;
    ch->len = CD_SECTOR;
    return true;
}

static void atapi_read(IdeChannel *ch, uint32_t lba, uint32_t count) {
    IdeDrive *d = cur(ch);
    if (lba >= d->sectors || count > d->sectors - lba) {
        atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        return;
    }
    if (count == 0) {
        atapi_done(ch);
        return;
    }
    ch->next_lba = lba;
    if (!atapi_load_sector(ch)) return;
    ch->from_disc = true;
    ch->atapi_left = (uint64_t)count * CD_SECTOR;
    atapi_next_phase(ch);
}

/* An LBA in the MSF form of READ TOC: minutes, seconds, frames (75 a
 * second), counted from the 2-second lead-in. */
static void put_address(uint8_t *p, uint32_t lba, bool msf) {
    if (!msf) {
        put_be32(p, lba);
        return;
    }
    uint32_t f = lba + 150;
    p[0] = 0;
    p[1] = (uint8_t)(f / (75 * 60));
    p[2] = (uint8_t)(f / 75 % 60);
    p[3] = (uint8_t)(f % 75);
}

/* READ TOC/PMA/ATIP: one data track (1) and the lead-out (0xAA). */
static void atapi_read_toc(IdeChannel *ch, const uint8_t *cdb) {
    IdeDrive *d = cur(ch);
    bool msf = cdb[1] & 0x02;
    unsigned format = cdb[2] & 0x0F;
    if (format == 0) format = cdb[9] >> 6; /* the older place of the format field */
    uint32_t alloc = be16_at(cdb + 7), len = 4;
    uint8_t *b = ch->buf;
    memset(b, 0, 32);
    b[2] = 1;
    b[3] = 1;
    if (format == 0) {
        unsigned start = cdb[6];
        if (start > 1 && start != 0xAA) {
            atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
            return;
        }
        if (start <= 1) { /* track 1 at LBA 0, a data track (ADR 1, control 4) */
            b[len + 1] = 0x14;
            b[len + 2] = 1;
            put_address(b + len + 4, 0, msf);
            len += 8;
        }
        b[len + 1] = 0x14;
        b[len + 2] = 0xAA;
        put_address(b + len + 4, (uint32_t)d->sectors, msf);
        len += 8;
    } else if (format == 1) { /* session information: one session, track 1 at 0 */
        b[len + 1] = 0x14;
        b[len + 2] = 1;
        put_address(b + len + 4, 0, msf);
        len += 8;
    } else {
        atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        return;
    }
    put_be16(b, len - 2);
    atapi_reply(ch, len, alloc);
}

/* MODE SENSE(10): pages 0x01 (read error recovery), 0x2A (capabilities),
 * 0x3F (all of them); current values only. */
static void atapi_mode_sense(IdeChannel *ch, const uint8_t *cdb) {
    IdeDrive *d = cur(ch);
    unsigned control = cdb[2] >> 6, page = cdb[2] & 0x3F;
    uint32_t alloc = be16_at(cdb + 7), len = 8;
    if (control == 3) {
        atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_PARAMS_NOT_SAVABLE);
        return;
    }
    if (control != 0 || (page != 0x01 && page != 0x2A && page != 0x3F)) {
        atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        return;
    }
    uint8_t *b = ch->buf;
    memset(b, 0, 64);
    if (page == 0x01 || page == 0x3F) {
        b[len] = 0x01;
        b[len + 1] = 6;
        b[len + 3] = 5; /* read retry count */
        len += 8;
    }
    if (page == 0x2A || page == 0x3F) {
        uint8_t *p = b + len;
        p[0] = 0x2A;
        p[1] = 20;
        p[2] = 0x00; /* reads CD-ROM only (no CD-R/RW, DVD) */
        p[3] = 0x00; /* writes nothing */
        p[4] = 0x71; /* audio play, mode 2 form 1 and 2, multi-session */
        p[5] = 0x00;
        p[6] = 0x01 | 0x08 | 1 << 5; /* lock, eject, tray loading mechanism */
        if (d->locked) p[6] |= 0x02;
        put_be16(p + 8, 706);  /* maximum speed, kB/s (4x) */
        put_be16(p + 10, 2);   /* volume levels */
        put_be16(p + 12, 512); /* buffer, KiB */
        put_be16(p + 14, 706); /* current speed */
        len += 22;
    }
    put_be16(b, len - 2);
    atapi_reply(ch, len, alloc);
}

/* GET CONFIGURATION: the profile list feature (0000h) with the CD-ROM
 * profile (0008h), current when a disc is in. */
static void atapi_get_configuration(IdeChannel *ch, const uint8_t *cdb) {
    IdeDrive *d = cur(ch);
    unsigned rt = cdb[1] & 0x03;
    uint32_t start = be16_at(cdb + 2), alloc = be16_at(cdb + 7), len = 8;
    if (rt == 3) {
        atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        return;
    }
    uint8_t *b = ch->buf;
    memset(b, 0, 32);
    bool cd = medium_present(d);
    if (cd) put_be16(b + 6, 0x0008);
    if (start == 0) {
        b[len + 2] = 0x03; /* persistent, current */
        b[len + 3] = 4;
        put_be16(b + len + 4, 0x0008);
        b[len + 6] = cd ? 0x01 : 0x00;
        len += 8;
    }
    put_be32(b, len - 4);
    atapi_reply(ch, len, alloc);
}

/* GET EVENT STATUS NOTIFICATION, polled: the media class only. */
static void atapi_event_status(IdeChannel *ch, const uint8_t *cdb) {
    IdeDrive *d = cur(ch);
    uint32_t alloc = be16_at(cdb + 7), len = 4;
    if (!(cdb[1] & 0x01)) { /* asynchronous notification: not offered */
        atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        return;
    }
    uint8_t *b = ch->buf;
    memset(b, 0, 8);
    b[3] = 0x10; /* supported classes: media */
    if (cdb[4] & 0x10) {
        b[2] = 4; /* media class */
        if (d->new_media_event && medium_present(d)) {
            b[4] = 2; /* new media */
            d->new_media_event = false;
        }
        b[5] = (uint8_t)(d->tray_open ? 0x01 : medium_present(d) ? 0x02 : 0x00);
        len = 8;
    } else {
        b[2] = 0x80; /* no event available */
    }
    put_be16(b, len - 2);
    atapi_reply(ch, len, alloc);
}

static void atapi_request_sense(IdeChannel *ch, const uint8_t *cdb) {
    IdeDrive *d = cur(ch);
    uint8_t *b = ch->buf;
    if (d->sense_key == SK_NO_SENSE && d->unit_attention) {
        d->unit_attention = false;
        d->sense_key = SK_UNIT_ATTENTION;
        d->asc = (uint8_t)(ASC_MEDIUM_CHANGED >> 8);
        d->ascq = 0;
    }
    memset(b, 0, 18);
    b[0] = 0x70; /* current error, fixed format */
    b[2] = d->sense_key;
    b[7] = 10;
    b[12] = d->asc;
    b[13] = d->ascq;
    d->sense_key = SK_NO_SENSE; /* reported: cleared */
    d->asc = d->ascq = 0;
    atapi_reply(ch, 18, cdb[4]);
}

static void atapi_inquiry(IdeChannel *ch, const uint8_t *cdb) {
    if (cdb[1] & 0x01) { /* no vital product data pages */
        atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        return;
    }
    uint8_t *b = ch->buf;
    memset(b, 0, 36);
    b[0] = 0x05; /* CD/DVD device */
    b[1] = 0x80; /* removable */
    b[3] = 0x21; /* ATAPI, response data format 1 */
    b[4] = 31;
    memcpy(b + 8, "BT86    ", 8);
    memcpy(b + 16, "CD-ROM          ", 16);
    memcpy(b + 32, "1.0 ", 4);
    atapi_reply(ch, 36, be16_at(cdb + 3));
}

static void atapi_start_stop(IdeChannel *ch, const uint8_t *cdb) {
    IdeDrive *d = cur(ch);
    bool start = cdb[4] & 0x01, load_eject = cdb[4] & 0x02;
    if (load_eject && (cdb[4] & 0xF0) == 0) {
        if (!start && d->locked) {
            atapi_fail(ch, medium_present(d) ? SK_NOT_READY : SK_ILLEGAL_REQUEST,
                       ASC_REMOVAL_PREVENTED);
            return;
        }
        if (start && d->tray_open && d->disk) { /* the tray closes on the disc */
            d->unit_attention = true;
            d->new_media_event = true;
        }
        d->tray_open = !start;
    }
    atapi_done(ch);
}

static void atapi_read_disc_info(IdeChannel *ch, const uint8_t *cdb) {
    if (cdb[1] & 0x07) { /* only the standard disc information */
        atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        return;
    }
    uint8_t *b = ch->buf;
    memset(b, 0, 34);
    put_be16(b, 32);
    b[2] = 0x0E; /* complete session, finalized disc */
    b[3] = 1;    /* first track */
    b[4] = 1;    /* sessions */
    b[5] = 1;    /* first and last track of the last session */
    b[6] = 1;
    b[7] = 0x20; /* unrestricted use */
    b[8] = 0x00; /* CD-ROM disc */
    atapi_reply(ch, 34, be16_at(cdb + 7));
}

/* Commands that run under a unit attention (MMC: they do not report it),
 * and commands that need a disc. */
static bool allowed_under_ua(uint8_t op) {
    return op == 0x12 || op == 0x03 || op == 0x46 || op == 0x4A;
}
static bool needs_medium(uint8_t op) {
    return op == 0x00 || op == 0x25 || op == 0x28 || op == 0xA8 || op == 0x43 || op == 0x51 ||
           op == 0x2B;
}

/* The command packet is in: run it. */
static void atapi_command(IdeChannel *ch) {
    IdeDrive *d = cur(ch);
    const uint8_t *cdb = ch->cdb;
    uint8_t op = cdb[0];
    if (op != 0x03) { /* the sense data describe the last command */
        d->sense_key = SK_NO_SENSE;
        d->asc = d->ascq = 0;
    }
    if (d->unit_attention && !allowed_under_ua(op)) {
        d->unit_attention = false;
        atapi_fail(ch, SK_UNIT_ATTENTION, ASC_MEDIUM_CHANGED);
        return;
    }
    if (needs_medium(op) && !medium_present(d)) {
        atapi_fail(ch, SK_NOT_READY, d->tray_open ? ASC_NO_MEDIUM_TRAY_OPEN : ASC_NO_MEDIUM);
        return;
    }
    switch (op) {
    case 0x00: atapi_done(ch); break; /* TEST UNIT READY */
    case 0x03: atapi_request_sense(ch, cdb); break;
    case 0x12: atapi_inquiry(ch, cdb); break;
    case 0x1B: atapi_start_stop(ch, cdb); break;
    case 0x1E: /* PREVENT ALLOW MEDIUM REMOVAL */
        d->locked = cdb[4] & 0x01;
        atapi_done(ch);
        break;
    case 0x25: { /* READ CAPACITY: last LBA, block size */
        put_be32(ch->buf, (uint32_t)(d->sectors - 1));
        put_be32(ch->buf + 4, CD_SECTOR);
        atapi_reply(ch, 8, 8);
        break;
    }
    case 0x28: atapi_read(ch, be32_at(cdb + 2), be16_at(cdb + 7)); break; /* READ(10) */
    case 0xA8: atapi_read(ch, be32_at(cdb + 2), be32_at(cdb + 6)); break; /* READ(12) */
    case 0x2B:                                                            /* SEEK(10) */
        if (be32_at(cdb + 2) >= d->sectors)
            atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        else
            atapi_done(ch);
        break;
    case 0x43: atapi_read_toc(ch, cdb); break;
    case 0x46: atapi_get_configuration(ch, cdb); break;
    case 0x4A: atapi_event_status(ch, cdb); break;
    case 0x51: atapi_read_disc_info(ch, cdb); break;
    case 0x5A: atapi_mode_sense(ch, cdb); break;
    case 0xBB: atapi_done(ch); break; /* SET CD SPEED: accepted */
    default: atapi_fail(ch, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE); break;
    }
}

/* One byte of the current data-in phase; ends the phase, and then the
 * transfer, when drained. */
static uint8_t atapi_data_byte(IdeChannel *ch) {
    uint8_t v = ch->buf[ch->pos++];
    ch->phase_left--;
    ch->atapi_left--;
    if (ch->atapi_left == 0) {
        atapi_done(ch);
        return v;
    }
    if (ch->from_disc && ch->pos >= CD_SECTOR && !atapi_load_sector(ch)) return v;
    if (ch->phase_left == 0) atapi_next_phase(ch);
    return v;
}

/* ---- bus-master DMA ----
 *
 * A DMA command leaves the drive in XFER_DMA_IN or XFER_DMA_OUT with DRQ
 * set and no interrupt. The engine runs while the command is there, the
 * START bit is set, the table is not used up (ACTIVE) and the PCI
 * function may master the bus: dma_kick arms dma_timer, and each firing
 * (dma_step) moves at most DMA_CHUNK bytes between the guest's memory
 * regions and `buf` (the drive's side: disk sectors, a disc sector, or an
 * ATAPI reply), then re-arms itself. Every guest address goes through
 * phys_copy_to/phys_copy_from, which refuse anything that is not RAM.
 * Endings, as SFF-8038i's status table has them:
 *  - the drive's transfer is done: it ends its command (status, INTRQ, so
 *    the INTR bit); ACTIVE clears if the table ended too, else it stays
 *    set (a table longer than the transfer);
 *  - the table ends first (a short table): ACTIVE clears, INTR and ERROR
 *    stay clear, the drive keeps waiting with DRQ (a new START with a new
 *    table goes on with the rest);
 *  - an entry or the table is not in RAM, or the walk passes
 *    PRD_MAX_ENTRIES without an end-of-table bit: ERROR set, ACTIVE
 *    cleared, and (bt86's choice: on a PIIX the drive would wait for a
 *    reset) the drive ends the command with ABRT and an interrupt.
 * The table pointer advances inside the table's 64 KiB page (the
 * datasheet forbids crossing it; a table that tries wraps to the page's
 * start). A memory region is used linearly even when it crosses a 64 KiB
 * boundary. The read/write control bit is stored, but the direction is
 * the drive's command's. */

static bool dma_running(const IdeChannel *ch) {
    return (ch->xfer == XFER_DMA_IN || ch->xfer == XFER_DMA_OUT) && (ch->bm_cmd & BM_CMD_START) &&
           (ch->bm_status & BM_ST_ACTIVE) && ch->bus_master && ch->pm;
}

static void dma_kick(IdeChannel *ch) {
    if (dma_running(ch) && !ch->dma_timer.armed)
        timer_mod(&ch->dma_timer, vclock_now(ch->dma_timer.clock) + DMA_LATENCY_NS);
}

/* The controller could not reach memory: it stops with ERROR, and the
 * drive ends its command. */
static void dma_fail(IdeChannel *ch) {
    ch->bm_status = (uint8_t)((ch->bm_status | BM_ST_ERROR) & ~BM_ST_ACTIVE);
    if (cur(ch)->kind == DRIVE_CD)
        atapi_fail(ch, 0x0B, 0x0000); /* ABORTED COMMAND */
    else
        command_error(ch, ER_ABRT);
}

/* Bytes the drive still has to move in this command. */
static uint64_t dma_drive_left(const IdeChannel *ch) {
    if (ch->drive[(ch->dev_head >> 4) & 1].kind == DRIVE_CD) return ch->atapi_left;
    if (ch->xfer == XFER_DMA_IN) return (uint64_t)ch->remaining * SECTOR + (ch->len - ch->pos);
    return (uint64_t)ch->remaining * SECTOR - ch->pos;
}

/* The drive's transfer is complete. */
static void dma_drive_done(IdeChannel *ch) {
    if (ch->region_left == 0 && ch->region_last) ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
    if (cur(ch)->kind == DRIVE_CD)
        atapi_done(ch);
    else
        command_done(ch);
}

/* Make the next bytes of a DMA-in transfer ready in buf; false when the
 * drive failed (its command has ended). */
static bool dma_refill(IdeChannel *ch) {
    if (ch->pos < ch->len) return true;
    if (cur(ch)->kind == DRIVE_CD) return atapi_load_sector(ch); /* replies never run dry */
    uint32_t n = ch->remaining < MAX_MULTIPLE ? ch->remaining : MAX_MULTIPLE;
    if (disk_read(cur(ch)->disk, ch->next_lba, n, ch->buf) < 0) {
        command_error(ch, ER_UNC);
        return false;
    }
    ch->next_lba += n;
    ch->remaining -= n;
    ch->pos = 0;
    ch->len = n * SECTOR;
    return true;
}

/* A DMA-out block is full: write it; false when the write failed. */
static bool dma_commit(IdeChannel *ch) {
    uint32_t n = ch->len / SECTOR;
    if (disk_write(cur(ch)->disk, ch->next_lba, n, ch->buf) < 0) {
        command_error(ch, ER_UNC);
        return false;
    }
    ch->next_lba += n;
    ch->remaining -= n;
    n = ch->remaining < MAX_MULTIPLE ? ch->remaining : MAX_MULTIPLE;
    ch->pos = 0;
    ch->len = n * SECTOR;
    return true;
}

/* Read the next PRD entry; false when the controller stopped. */
static bool dma_next_region(IdeChannel *ch) {
    if (ch->region_last) { /* short table: the drive keeps waiting */
        ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
        return false;
    }
    uint8_t e[8];
    if (ch->prd_fetched >= PRD_MAX_ENTRIES || phys_copy_from(ch->pm, ch->prd_next, e, 8) < 0) {
        dma_fail(ch);
        return false;
    }
    ch->prd_fetched++;
    ch->prd_next = (ch->prd_next & 0xFFFF0000u) | ((ch->prd_next + 8) & 0xFFFFu);
    ch->region_addr =
        ((uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 | (uint32_t)e[3] << 24) & ~1u;
    uint32_t count = ((uint32_t)e[4] | (uint32_t)e[5] << 8) & 0xFFFEu;
    ch->region_left = count ? count : 0x10000u;
    ch->region_last = ((uint32_t)e[6] | (uint32_t)e[7] << 8) & PRD_EOT;
    return true;
}

/* One step of the engine: at most DMA_CHUNK bytes (and at most as many
 * PRD entries read as bytes moved plus one per 2 bytes: each entry holds
 * at least 2 bytes). */
static void dma_step(void *opaque) {
    IdeChannel *ch = opaque;
    if (!dma_running(ch)) return;
    bool in = ch->xfer == XFER_DMA_IN, cd = cur(ch)->kind == DRIVE_CD;
    uint32_t budget = DMA_CHUNK;
    while (budget > 0) {
        if (dma_drive_left(ch) == 0) {
            dma_drive_done(ch);
            return;
        }
        if (ch->region_left == 0 && !dma_next_region(ch)) return;
        if (in && !dma_refill(ch)) return;
        uint32_t n = ch->len - ch->pos;
        if (n > ch->region_left) n = ch->region_left;
        if (n > budget) n = budget;
        if (cd && n > ch->atapi_left) n = (uint32_t)ch->atapi_left;
        int r = in ? phys_copy_to(ch->pm, ch->region_addr, ch->buf + ch->pos, n)
                   : phys_copy_from(ch->pm, ch->region_addr, ch->buf + ch->pos, n);
        if (r < 0) {
            dma_fail(ch);
            return;
        }
        if (ch->stats) ch->stats->ide_dma_bytes += n;
        ch->region_addr += n;
        ch->region_left -= n;
        ch->pos += n;
        budget -= n;
        if (cd) ch->atapi_left -= n;
        if (!in && ch->pos == ch->len && !dma_commit(ch)) return;
    }
    if (dma_drive_left(ch) == 0) {
        dma_drive_done(ch);
        return;
    }
    timer_mod(&ch->dma_timer, vclock_now(ch->dma_timer.clock) + DMA_CHUNK_NS);
}

/* READ/WRITE DMA (EXT): check the range, then wait for the bus master. */
static void start_dma(IdeChannel *ch, bool write, bool ext) {
    IdeDrive *d = cur(ch);
    if (!ch->pm) {
        command_error(ch, ER_ABRT);
        return;
    }
    uint64_t lba = command_lba(ch, ext);
    uint32_t count = command_count(ch, ext);
    if (lba == UINT64_MAX || lba >= d->sectors || count > d->sectors - lba) {
        command_error(ch, ER_IDNF | ER_ABRT);
        return;
    }
    ch->block = MAX_MULTIPLE;
    ch->next_lba = lba;
    ch->remaining = count;
    ch->pos = 0;
    ch->len = write ? (count < MAX_MULTIPLE ? count : MAX_MULTIPLE) * SECTOR : 0;
    ch->xfer = write ? XFER_DMA_OUT : XFER_DMA_IN;
    ch->status = ST_DRDY | ST_DSC | ST_DRQ;
    dma_kick(ch);
}

/* SET FEATURES: the transfer mode (03h) is checked and kept; write cache,
 * look-ahead and the other subcommands are accepted. */
static void set_features(IdeChannel *ch) {
    if (ch->features == 0x03) {
        if (!transfer_mode_valid(ch->count, ch->pm != NULL)) {
            command_error(ch, ER_ABRT);
            return;
        }
        cur(ch)->xfer_mode = ch->count;
    }
    command_done(ch);
}

/* ATA commands on a CD drive: the ATAPI subset. */
static void execute_atapi(IdeChannel *ch, uint8_t cmd) {
    switch (cmd) {
    case 0xA1: /* IDENTIFY PACKET DEVICE */
        build_identify_packet(cur(ch), ch->buf, ch->pm != NULL);
        ch->xfer = XFER_IDENTIFY;
        ch->pos = 0;
        ch->len = SECTOR;
        ch->status = ST_DRDY | ST_DSC | ST_DRQ;
        raise_irq(ch);
        break;
    case 0xA0: { /* PACKET */
        ch->atapi_dma = ch->features & 0x01;
        if (ch->atapi_dma && !ch->pm) { /* DMA without a bus master */
            command_error(ch, ER_ABRT);
            break;
        }
        /* Byte-count limit: 0 means the largest; an odd limit is used
         * rounded down to even (a phase may only end odd at the end). */
        uint32_t limit = (uint32_t)ch->lba_high << 8 | ch->lba_mid;
        if (limit == 0 || limit == 0xFFFF) limit = 0xFFFE;
        limit &= ~1u;
        ch->byte_limit = limit;
        ch->xfer = XFER_CDB;
        ch->pos = 0;
        ch->len = sizeof ch->cdb;
        ch->count = IR_COD;
        ch->status = ST_DRDY | ST_DSC | ST_DRQ; /* no interrupt: DRQ comes at once */
        break;
    }
    case 0x08: /* DEVICE RESET */
        ch->xfer = XFER_NONE;
        set_signature(ch);
        ch->error = 0x01;
        ch->status = ST_DRDY | ST_DSC;
        break;
    case 0xEF: set_features(ch); break;
    case 0xE0:
    case 0xE1:
    case 0xE6:
    case 0xE7: /* power, FLUSH */ command_done(ch); break;
    case 0xE5:
    case 0x98: /* CHECK POWER MODE: active */
        ch->count = 0xFF;
        command_done(ch);
        break;
    default: /* IDENTIFY DEVICE, READ SECTORS...: abort, showing the ATAPI signature */
        set_signature(ch);
        ch->signature_shown = false;
        command_error(ch, ER_ABRT);
        break;
    }
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
    ch->signature_shown = false;
    if (!present(ch)) return; /* nobody answers for an empty position */
    IdeDrive *d = cur(ch);
    if (d->kind == DRIVE_CD) {
        execute_atapi(ch, cmd);
        return;
    }
    switch (cmd) {
    case 0xEC: /* IDENTIFY DEVICE */
        build_identify(d, ch->buf, ch->pm != NULL);
        ch->xfer = XFER_IDENTIFY;
        ch->pos = 0;
        ch->len = SECTOR;
        ch->status = ST_DRDY | ST_DSC | ST_DRQ;
        raise_irq(ch);
        break;
    case 0x20:
    case 0x21: start_rw(ch, false, false, false); break;
    case 0x24: start_rw(ch, false, true, false); break;
    case 0x29: start_rw(ch, false, true, true); break;
    case 0xC4: start_rw(ch, false, false, true); break;
    case 0x30:
    case 0x31: start_rw(ch, true, false, false); break;
    case 0x34: start_rw(ch, true, true, false); break;
    case 0x39: start_rw(ch, true, true, true); break;
    case 0xC5: start_rw(ch, true, false, true); break;
    case 0x40:
    case 0x41:
    case 0x42: { /* READ VERIFY (EXT) */
        bool ext = cmd == 0x42;
        uint64_t lba = command_lba(ch, ext);
        uint32_t count = command_count(ch, ext);
        if (lba == UINT64_MAX || lba >= d->sectors || count > d->sectors - lba)
            command_error(ch, ER_IDNF | ER_ABRT);
        else
            command_done(ch);
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
    case 0xE7:
    case 0xEA: /* FLUSH CACHE (EXT) */
        if (disk_flush(d->disk) < 0)
            command_error(ch, ER_ABRT);
        else
            command_done(ch);
        break;
    case 0xC8:
    case 0xC9: start_dma(ch, false, false); break; /* READ DMA */
    case 0x25: start_dma(ch, false, true); break;  /* READ DMA EXT */
    case 0xCA:
    case 0xCB: start_dma(ch, true, false); break; /* WRITE DMA */
    case 0x35: start_dma(ch, true, true); break;  /* WRITE DMA EXT */
    case 0xEF: set_features(ch); break;
    case 0xE0:
    case 0xE1:
    case 0xE2:
    case 0xE3:
    case 0x94:
    case 0x95:
    case 0x96:
    case 0x97:
    case 0xE6:
    case 0x99: command_done(ch); break;
    case 0xE5:
    case 0x98: /* CHECK POWER MODE: active */
        ch->count = 0xFF;
        command_done(ch);
        break;
    default:
        if ((cmd & 0xF0) == 0x10 || (cmd & 0xF0) == 0x70) { /* RECALIBRATE, SEEK */
            command_done(ch);
            break;
        }
        command_error(ch, ER_ABRT); /* PACKET, IDENTIFY PACKET DEVICE, unknown */
        break;
    }
}

static void soft_reset(IdeChannel *ch) {
    ch->xfer = XFER_NONE;
    timer_del(&ch->dma_timer);
    ch->irq_pending = false;
    update_irq(ch);
    ch->dev_head = 0;
    set_signature(ch);
    ch->error = 0x01;
    ch->status = ST_DRDY | ST_DSC;
    for (int i = 0; i < 2; i++)
        ch->drive[i].multiple = 0;
}

static uint32_t data_read(IdeChannel *ch, unsigned size) {
    if (ch->xfer == XFER_ATAPI_IN && (ch->status & ST_DRQ)) {
        /* A read past the end of the phase gets padding. */
        uint32_t v = 0;
        for (unsigned i = 0; i < size && ch->xfer == XFER_ATAPI_IN && ch->phase_left > 0; i++)
            v |= (uint32_t)atapi_data_byte(ch) << (8 * i);
        return v;
    }
    if (!(ch->status & ST_DRQ) || (ch->xfer != XFER_READ && ch->xfer != XFER_IDENTIFY) ||
        ch->pos >= ch->len)
        return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFF : 0xFF;
    uint32_t v = 0;
    if (ch->stats && ch->xfer == XFER_READ) ch->stats->ide_pio_bytes += size;
    for (unsigned i = 0; i < size && ch->pos < ch->len; i++)
        v |= (uint32_t)ch->buf[ch->pos++] << (8 * i);
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
    if ((ch->status & ST_DRQ) && ch->xfer == XFER_CDB) {
        for (unsigned i = 0; i < size && ch->pos < sizeof ch->cdb; i++)
            ch->cdb[ch->pos++] = (uint8_t)(v >> (8 * i));
        if (ch->pos >= sizeof ch->cdb) atapi_command(ch);
        return;
    }
    if (!(ch->status & ST_DRQ) || ch->xfer != XFER_WRITE) return;
    if (ch->stats) ch->stats->ide_pio_bytes += size;
    for (unsigned i = 0; i < size && ch->pos < ch->len; i++)
        ch->buf[ch->pos++] = (uint8_t)(v >> (8 * i));
    if (ch->pos >= ch->len) write_block_done(ch);
}

void ide_set_stats(IdeChannel *ch, IoStats *stats) {
    ch->stats = stats;
}

uint32_t ide_port_read(void *opaque, uint16_t port, unsigned size) {
    IdeChannel *ch = opaque;
    if (ch->stats) ch->stats->ide_port_access++;
    if (ch->drive[0].kind == DRIVE_NONE &&
        ch->drive[1].kind == DRIVE_NONE) /* empty channel: floating bus */
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

/* The task file is shared here, while on a real cable each drive has its
 * own: right after a reset, selecting the other drive shows that drive's
 * signature (what a host reads to tell ATA from ATAPI drives). */
static void select_drive(IdeChannel *ch, uint8_t v) {
    /* The host may write the Device register only while BSY and DRQ are
     * clear (ATA/ATAPI-6, 9.x "Device register"): during a transfer the
     * drive running it stays selected, so its data never goes to the other
     * drive (which may have no medium at all). */
    if (ch->xfer != XFER_NONE) v = (uint8_t)((v & ~0x10) | (ch->dev_head & 0x10));
    bool other = ((ch->dev_head ^ v) & 0x10) != 0;
    ch->dev_head = v & 0x5F;
    if (other && ch->signature_shown && ch->xfer == XFER_NONE) {
        set_signature(ch);
        ch->dev_head = v & 0x5F;
    }
}

void ide_port_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    IdeChannel *ch = opaque;
    if (ch->stats) ch->stats->ide_port_access++;
    uint8_t v = (uint8_t)val;
    if (port == ch->ctl) {
        if ((v & DC_SRST) && !(ch->devctl & DC_SRST)) soft_reset(ch);
        ch->devctl = v;
        update_irq(ch);
        return;
    }
    unsigned reg = port - ch->base;
    if (reg != 0) ch->devctl &= (uint8_t)~DC_HOB; /* a task-file write clears HOB */
    if (reg >= 1 && reg <= 5) ch->signature_shown = false;
    switch (reg) {
    case 0: data_write(ch, size, val); break;
    case 1: ch->features = v; break;
    case 2:
        ch->hob_count = ch->count;
        ch->count = v;
        break;
    case 3:
        ch->hob_low = ch->lba_low;
        ch->lba_low = v;
        break;
    case 4:
        ch->hob_mid = ch->lba_mid;
        ch->lba_mid = v;
        break;
    case 5:
        ch->hob_high = ch->lba_high;
        ch->lba_high = v;
        break;
    case 6: select_drive(ch, v); break;
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

void ide_reset(IdeChannel *ch) {
    ch->features = ch->count = ch->lba_low = ch->lba_mid = ch->lba_high = ch->dev_head = 0;
    ch->hob_count = ch->hob_low = ch->hob_mid = ch->hob_high = 0;
    ch->devctl = 0;
    for (int i = 0; i < 2; i++) {
        IdeDrive *d = &ch->drive[i];
        if (d->kind == DRIVE_HD) { /* the default translation again */
            d->heads = 16;
            d->spt = 63;
            uint64_t c = d->sectors / (16 * 63);
            d->cyls = (uint16_t)(c > 16383 ? 16383 : c ? c : 1);
        }
        d->tray_open = d->locked = false;
        d->sense_key = d->asc = d->ascq = 0;
        d->xfer_mode = 0;
    }
    ch->bm_cmd = ch->bm_status = 0;
    ch->bm_prd = ch->prd_next = ch->prd_fetched = 0;
    ch->region_addr = ch->region_left = 0;
    ch->region_last = false;
    soft_reset(ch);
}

void ide_free(IdeChannel *ch) {
    free(ch);
}

int ide_attach_disk(IdeChannel *ch, int unit, Disk *disk) {
    if (unit < 0 || unit > 1 || ch->drive[unit].kind != DRIVE_NONE ||
        disk_sector_size(disk) != SECTOR)
        return -1;
    IdeDrive *d = &ch->drive[unit];
    d->kind = DRIVE_HD;
    d->disk = disk;
    d->sectors = disk_sectors(disk);
    d->heads = 16;
    d->spt = 63;
    uint64_t c = d->sectors / (16 * 63);
    d->cyls = (uint16_t)(c > 16383 ? 16383 : c ? c : 1);
    return 0;
}

int ide_attach_cdrom(IdeChannel *ch, int unit, Disk *disc) {
    if (unit < 0 || unit > 1 || ch->drive[unit].kind != DRIVE_NONE ||
        (disc && disk_sector_size(disc) != CD_SECTOR))
        return -1;
    IdeDrive *d = &ch->drive[unit];
    d->kind = DRIVE_CD;
    d->disk = disc;
    d->sectors = disc ? disk_sectors(disc) : 0;
    /* A disc that was just put in: the first commands report the change. */
    d->unit_attention = disc != NULL;
    d->new_media_event = disc != NULL;
    if ((ch->dev_head & 0x10) == (unit << 4)) set_signature(ch);
    return 0;
}

void ide_attach_dma(IdeChannel *ch, PhysMem *pm, VClock *clk) {
    timer_init(&ch->dma_timer, clk, dma_step, ch);
    ch->pm = pm;
}

void ide_bm_set_bus_master(IdeChannel *ch, bool enabled) {
    ch->bus_master = enabled;
    dma_kick(ch);
}

static uint8_t bm_read_byte(IdeChannel *ch, unsigned reg) {
    switch (reg) {
    case 0: return ch->bm_cmd;
    case 2: return ch->bm_status;
    case 4:
    case 5:
    case 6:
    case 7: return (uint8_t)(ch->bm_prd >> (8 * (reg - 4)));
    default: return 0;
    }
}

static void bm_write_byte(IdeChannel *ch, unsigned reg, uint8_t v) {
    switch (reg) {
    case 0: {
        bool was = ch->bm_cmd & BM_CMD_START;
        ch->bm_cmd = v & (BM_CMD_START | BM_CMD_TO_MEMORY);
        if (!was && (v & BM_CMD_START)) { /* start: from the table's first entry */
            ch->bm_status |= BM_ST_ACTIVE;
            ch->prd_next = ch->bm_prd;
            ch->prd_fetched = 0;
            ch->region_addr = ch->region_left = 0;
            ch->region_last = false;
            dma_kick(ch);
        } else if (was && !(v & BM_CMD_START)) { /* stop: what has not moved is dropped */
            ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
            timer_del(&ch->dma_timer);
        }
        break;
    }
    case 2:
        ch->bm_status =
            (uint8_t)((ch->bm_status & ~(BM_ST_CAPABLE | (v & (BM_ST_ERROR | BM_ST_INTR)))) |
                      (v & BM_ST_CAPABLE));
        break;
    case 4:
    case 5:
    case 6:
    case 7: {
        unsigned sh = 8 * (reg - 4);
        ch->bm_prd = ((ch->bm_prd & ~(0xFFu << sh)) | (uint32_t)v << sh) & ~3u;
        break;
    }
    default: break;
    }
}

uint32_t ide_bm_read(IdeChannel *ch, unsigned offset, unsigned size) {
    uint32_t v = 0;
    if (ch->stats) ch->stats->ide_port_access++;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)bm_read_byte(ch, (offset + i) & 7) << (8 * i);
    return v;
}

void ide_bm_write(IdeChannel *ch, unsigned offset, unsigned size, uint32_t val) {
    if (ch->stats) ch->stats->ide_port_access++;
    for (unsigned i = 0; i < size; i++)
        bm_write_byte(ch, (offset + i) & 7, (uint8_t)(val >> (8 * i)));
}

int ide_register(IdeChannel *ch, IoBus *bus) {
    if (iobus_register(bus, ch->base, 8, ide_port_read, ide_port_write, ch) < 0) return -1;
    return iobus_register(bus, ch->ctl, 1, ide_port_read, ide_port_write, ch);
}

/* ---------------- snapshots ---------------- */

static void drive_save(const IdeDrive *d, SnapWriter *w) {
    snap_put_u8(w, (uint8_t)d->kind);
    snap_put_u64(w, d->sectors);
    snap_put_u16(w, d->cyls);
    snap_put_u16(w, d->heads);
    snap_put_u16(w, d->spt);
    snap_put_u8(w, (uint8_t)d->multiple);
    snap_put_bool(w, d->tray_open);
    snap_put_bool(w, d->locked);
    snap_put_bool(w, d->unit_attention);
    snap_put_bool(w, d->new_media_event);
    snap_put_u8(w, d->sense_key);
    snap_put_u8(w, d->asc);
    snap_put_u8(w, d->ascq);
    snap_put_u8(w, d->xfer_mode);
}

static void drive_parse(SnapReader *r, IdeDrive *d, int unit, uint32_t version) {
    uint8_t kind = snap_get_u8(r);
    uint64_t sectors = snap_get_u64(r);
    d->cyls = snap_get_u16(r);
    d->heads = snap_get_u16(r);
    d->spt = snap_get_u16(r);
    d->multiple = snap_get_u8(r);
    d->tray_open = snap_get_bool(r);
    d->locked = snap_get_bool(r);
    d->unit_attention = snap_get_bool(r);
    d->new_media_event = snap_get_bool(r);
    d->sense_key = snap_get_u8(r);
    d->asc = snap_get_u8(r);
    d->ascq = snap_get_u8(r);
    d->xfer_mode = version >= 2 ? snap_get_u8(r) : 0;
    if (snap_ok(r) && (kind != d->kind || sectors != d->sectors))
        snap_fail(r,
                  "drive %d: another drive or medium (kind %u, %llu sectors saved; here kind "
                  "%u, %llu)",
                  unit, kind, (unsigned long long)sectors, d->kind, (unsigned long long)d->sectors);
    snap_check(r, d->multiple <= MAX_MULTIPLE, "MULTIPLE block size out of range");
    snap_check(r, transfer_mode_valid(d->xfer_mode, true), "transfer mode out of range");
    snap_check(
        r, d->kind != DRIVE_HD || (d->heads >= 1 && d->heads <= 16 && d->spt >= 1 && d->spt <= 255),
        "drive geometry out of range");
}

void ide_save(const IdeChannel *ch, SnapWriter *w) {
    snap_put_bool(w, ch->irq_pending);
    drive_save(&ch->drive[0], w);
    drive_save(&ch->drive[1], w);
    const uint8_t tf[] = {ch->features, ch->count,     ch->lba_low, ch->lba_mid, ch->lba_high,
                          ch->dev_head, ch->hob_count, ch->hob_low, ch->hob_mid, ch->hob_high,
                          ch->status,   ch->error,     ch->devctl};
    snap_put_bytes(w, tf, sizeof tf);
    snap_put_u8(w, (uint8_t)ch->xfer);
    snap_put_bytes(w, ch->buf, sizeof ch->buf);
    snap_put_u32(w, ch->pos);
    snap_put_u32(w, ch->len);
    snap_put_u64(w, ch->next_lba);
    snap_put_u32(w, ch->remaining);
    snap_put_u32(w, ch->block);
    snap_put_bytes(w, ch->cdb, sizeof ch->cdb);
    snap_put_u32(w, ch->byte_limit);
    snap_put_u64(w, ch->atapi_left);
    snap_put_u32(w, ch->phase_left);
    snap_put_bool(w, ch->from_disc);
    snap_put_bool(w, ch->signature_shown);
    /* version 2: bus-master DMA */
    snap_put_bool(w, ch->atapi_dma);
    snap_put_u8(w, ch->bm_cmd);
    snap_put_u8(w, ch->bm_status);
    snap_put_u32(w, ch->bm_prd);
    snap_put_u32(w, ch->prd_next);
    snap_put_u32(w, ch->prd_fetched);
    snap_put_u32(w, ch->region_addr);
    snap_put_u32(w, ch->region_left);
    snap_put_bool(w, ch->region_last);
    timer_save(&ch->dma_timer, w);
}

/* The transfer state may only point inside the buffer (see data_read,
 * data_write and atapi_data_byte, which trust it). */
static void check_transfer(SnapReader *r, const IdeChannel *t) {
    const IdeDrive *d = &t->drive[(t->dev_head >> 4) & 1];
    if (t->xfer == XFER_READ || t->xfer == XFER_WRITE)
        snap_check(r, d->kind == DRIVE_HD, "disk transfer on a drive that is not a hard disk");
    if (t->xfer == XFER_CDB || t->xfer == XFER_ATAPI_IN)
        snap_check(r, d->kind == DRIVE_CD, "packet command on a drive that is not a CD-ROM");
    if (t->xfer == XFER_ATAPI_IN && t->from_disc)
        snap_check(r, d->disk != NULL, "disc transfer from an empty drive");
    if (t->xfer == XFER_DMA_IN || t->xfer == XFER_DMA_OUT)
        snap_check(r, t->pm != NULL, "DMA transfer on a channel without a bus master");
    if (t->xfer == XFER_DMA_OUT) snap_check(r, d->kind == DRIVE_HD, "DMA write to a CD-ROM");
    if (t->xfer == XFER_DMA_IN && d->kind == DRIVE_CD) {
        snap_check(r, t->atapi_dma, "ATAPI DMA transfer without the DMA bit");
        if (t->from_disc)
            snap_check(r, d->disk != NULL && t->len == CD_SECTOR && t->pos <= t->len,
                       "ATAPI DMA sector position out of range");
        else
            snap_check(r, t->atapi_left <= t->len - t->pos,
                       "ATAPI DMA reply position out of range");
    } else if (t->xfer == XFER_DMA_IN || t->xfer == XFER_DMA_OUT) {
        snap_check(r, d->kind == DRIVE_HD, "DMA transfer on a drive that is not a hard disk");
        snap_check(r, t->len <= MAX_MULTIPLE * SECTOR && t->len % SECTOR == 0,
                   "DMA block out of range");
        if (t->xfer == XFER_DMA_OUT)
            snap_check(r,
                       t->len == (t->remaining < MAX_MULTIPLE ? t->remaining : MAX_MULTIPLE) *
                                     SECTOR &&
                           t->pos < t->len,
                       "DMA write block out of range");
    }
    snap_check(r, t->xfer <= XFER_DMA_OUT, "transfer kind out of range");
    snap_check(r,
               (t->bm_cmd & ~(BM_CMD_START | BM_CMD_TO_MEMORY)) == 0 &&
                   (t->bm_status & 0x98) == 0 && (t->bm_prd & 3) == 0,
               "bus-master register out of range");
    snap_check(r, t->prd_fetched <= PRD_MAX_ENTRIES && t->region_left <= 0x10000u,
               "PRD walk out of range");
    snap_check(r, t->len <= sizeof t->buf && t->pos <= t->len, "transfer position out of range");
    snap_check(r, t->block <= MAX_MULTIPLE, "transfer block size out of range");
    if (t->xfer == XFER_READ || t->xfer == XFER_WRITE)
        snap_check(r, t->len <= t->block * SECTOR, "transfer block larger than the command's");
    if (t->xfer == XFER_CDB) snap_check(r, t->pos <= sizeof t->cdb, "packet position out of range");
    if (t->xfer == XFER_ATAPI_IN) {
        snap_check(r, t->phase_left <= t->atapi_left && t->byte_limit > 0,
                   "ATAPI phase out of range");
        if (t->from_disc)
            snap_check(r, t->len == CD_SECTOR && t->pos < CD_SECTOR,
                       "ATAPI sector position out of range");
        else
            snap_check(r, t->atapi_left <= t->len - t->pos, "ATAPI reply position out of range");
    }
}

bool ide_load(IdeChannel *ch, SnapReader *r) {
    if (!snap_version(r, 2)) return false;
    static IdeChannel t; /* 8 KiB of buffer: not on the stack */
    t = *ch;             /* keeps the wiring (ports, IRQ, disks) */
    t.irq_pending = snap_get_bool(r);
    drive_parse(r, &t.drive[0], 0, r->version);
    drive_parse(r, &t.drive[1], 1, r->version);
    uint8_t *tf[] = {&t.features, &t.count,     &t.lba_low, &t.lba_mid, &t.lba_high,
                     &t.dev_head, &t.hob_count, &t.hob_low, &t.hob_mid, &t.hob_high,
                     &t.status,   &t.error,     &t.devctl};
    for (size_t i = 0; i < sizeof tf / sizeof tf[0]; i++)
        *tf[i] = snap_get_u8(r);
    t.xfer = (Xfer)snap_get_u8(r);
    snap_get_bytes(r, t.buf, sizeof t.buf);
    t.pos = snap_get_u32(r);
    t.len = snap_get_u32(r);
    t.next_lba = snap_get_u64(r);
    t.remaining = snap_get_u32(r);
    t.block = snap_get_u32(r);
    snap_get_bytes(r, t.cdb, sizeof t.cdb);
    t.byte_limit = snap_get_u32(r);
    t.atapi_left = snap_get_u64(r);
    t.phase_left = snap_get_u32(r);
    t.from_disc = snap_get_bool(r);
    t.signature_shown = snap_get_bool(r);
    TimerSnap dma = {0};
    if (r->version >= 2) {
        t.atapi_dma = snap_get_bool(r);
        t.bm_cmd = snap_get_u8(r);
        t.bm_status = snap_get_u8(r);
        t.bm_prd = snap_get_u32(r);
        t.prd_next = snap_get_u32(r);
        t.prd_fetched = snap_get_u32(r);
        t.region_addr = snap_get_u32(r);
        t.region_left = snap_get_u32(r);
        t.region_last = snap_get_bool(r);
        timer_load(r, &dma);
    } else {
        t.atapi_dma = t.region_last = false;
        t.bm_cmd = t.bm_status = 0;
        t.bm_prd = t.prd_next = t.prd_fetched = t.region_addr = t.region_left = 0;
    }
    t.irq_line = t.irq_pending && !(t.devctl & DC_NIEN);
    if (snap_ok(r)) check_transfer(r, &t);
    snap_check(r, !dma.armed || t.pm != NULL, "DMA timer on a channel without a bus master");
    if (!snap_finish(r)) return false;
    if (r->apply) {
        Timer keep = ch->dma_timer; /* linked into the clock's queue by address */
        *ch = t;
        ch->dma_timer = keep;
        timer_restore(&ch->dma_timer, &dma);
    }
    return true;
}
