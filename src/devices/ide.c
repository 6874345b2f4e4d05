/*
 * ide.c - IDE/ATA channel with PIO transfers, and ATAPI CD-ROM drives
 * (see ide.h).
 *
 * A transfer moves through `buf` one block at a time (1 sector, or the
 * MULTIPLE block size): reads fill the buffer from the disk and raise DRQ
 * and an interrupt; the guest drains it through the data port; writes fill
 * the buffer from the data port and commit it to the disk when full. The
 * device is never busy from the guest's point of view: each step completes
 * at once.
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

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

typedef enum Xfer { XFER_NONE, XFER_READ, XFER_WRITE, XFER_IDENTIFY, XFER_CDB, XFER_ATAPI_IN } Xfer;
typedef enum DriveKind { DRIVE_NONE, DRIVE_HD, DRIVE_CD } DriveKind;

typedef struct IdeDrive {
    DriveKind kind;
    Disk *disk; /* hard disk, or the disc in a CD drive (NULL: no disc) */
    uint64_t sectors;
    uint16_t cyls, heads, spt; /* translation geometry (INITIALIZE DEVICE PARAMETERS) */
    unsigned multiple;         /* sectors per block for READ/WRITE MULTIPLE (0: disabled) */
    /* CD drive */
    bool tray_open, locked;
    bool unit_attention;  /* medium changed: the next command reports it */
    bool new_media_event; /* for GET EVENT STATUS NOTIFICATION */
    uint8_t sense_key, asc, ascq;
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
};

static IdeDrive *cur(IdeChannel *ch) {
    return &ch->drive[(ch->dev_head >> 4) & 1];
}
static bool present(IdeChannel *ch) {
    return cur(ch)->kind != DRIVE_NONE;
}

static void update_irq(IdeChannel *ch) {
    irq_set(&ch->irq, ch->irq_pending && !(ch->devctl & DC_NIEN));
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
    for (int i = 0; i < 4; i++)
        w[100 + i] = (uint16_t)(d->sectors >> (16 * i));
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

static void build_identify_packet(uint8_t *out) {
    uint16_t w[256];
    memset(w, 0, sizeof w);
    /* ATAPI (10b), CD-ROM (type 5), removable, DRQ within 50 us of PACKET
     * (no interrupt before the packet), 12-byte packets. */
    w[0] = 0x8000 | 5 << 8 | 0x80 | 0x40;
    put_string(&w[10], 10, "BT86-CD01");
    put_string(&w[23], 4, "1.0");
    put_string(&w[27], 20, "BT86 CD-ROM");
    w[49] = 0x0200; /* LBA; no DMA */
    w[53] = 0x0002; /* words 64-70 valid */
    w[64] = 0x0003; /* PIO modes 3 and 4 */
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x007E; /* ATA/ATAPI-1 to 6 */
    w[82] = 0x0010; /* PACKET feature set */
    w[83] = 0x4000;
    w[84] = 0x4000;
    w[85] = 0x0010;
    w[87] = 0x4000;
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

/* Start the next data-in phase: at most byte_limit bytes, DRQ, interrupt. */
static void atapi_next_phase(IdeChannel *ch) {
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

/* ATA commands on a CD drive: the ATAPI subset. */
static void execute_atapi(IdeChannel *ch, uint8_t cmd) {
    switch (cmd) {
    case 0xA1: /* IDENTIFY PACKET DEVICE */
        build_identify_packet(ch->buf);
        ch->xfer = XFER_IDENTIFY;
        ch->pos = 0;
        ch->len = SECTOR;
        ch->status = ST_DRDY | ST_DSC | ST_DRQ;
        raise_irq(ch);
        break;
    case 0xA0: {                   /* PACKET */
        if (ch->features & 0x01) { /* DMA: not offered */
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
    case 0xEF:
    case 0xE0:
    case 0xE1:
    case 0xE6:
    case 0xE7: /* SET FEATURES, power, FLUSH */ command_done(ch); break;
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
        build_identify(d, ch->buf);
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
    case 0xEF: /* SET FEATURES: transfer modes, write cache, ... accepted */
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
        command_error(ch, ER_ABRT); /* PACKET, IDENTIFY PACKET DEVICE, DMA, unknown */
        break;
    }
}

static void soft_reset(IdeChannel *ch) {
    ch->xfer = XFER_NONE;
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
    for (unsigned i = 0; i < size && ch->pos < ch->len; i++)
        ch->buf[ch->pos++] = (uint8_t)(v >> (8 * i));
    if (ch->pos >= ch->len) write_block_done(ch);
}

uint32_t ide_port_read(void *opaque, uint16_t port, unsigned size) {
    IdeChannel *ch = opaque;
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
    }
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
}

static void drive_parse(SnapReader *r, IdeDrive *d, int unit) {
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
    if (snap_ok(r) && (kind != d->kind || sectors != d->sectors))
        snap_fail(r,
                  "drive %d: another drive or medium (kind %u, %llu sectors saved; here kind "
                  "%u, %llu)",
                  unit, kind, (unsigned long long)sectors, d->kind, (unsigned long long)d->sectors);
    snap_check(r, d->multiple <= MAX_MULTIPLE, "MULTIPLE block size out of range");
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
    snap_check(r, t->xfer <= XFER_ATAPI_IN, "transfer kind out of range");
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
    if (!snap_version(r, 1)) return false;
    static IdeChannel t; /* 8 KiB of buffer: not on the stack */
    t = *ch;             /* keeps the wiring (ports, IRQ, disks) */
    t.irq_pending = snap_get_bool(r);
    drive_parse(r, &t.drive[0], 0);
    drive_parse(r, &t.drive[1], 1);
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
    if (snap_ok(r)) check_transfer(r, &t);
    if (!snap_finish(r)) return false;
    if (r->apply) *ch = t;
    return true;
}
