/*
 * e1000.c - Intel 82540EM Ethernet controller (see e1000.h).
 *
 * Registers live in a 128 KiB array indexed by offset / 4; the ones with
 * side effects (interrupt cause/mask, EEPROM, MDIC, statistics, ring tails,
 * device reset) are handled by name, the rest read back what was written.
 */
#include "devices/e1000.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "snap/snap.h"

/* ---- register offsets ---- */
enum {
    R_CTRL = 0x0000,
    R_STATUS = 0x0008,
    R_EECD = 0x0010,
    R_EERD = 0x0014,
    R_MDIC = 0x0020,
    R_ICR = 0x00C0,
    R_ITR = 0x00C4,
    R_ICS = 0x00C8,
    R_IMS = 0x00D0,
    R_IMC = 0x00D8,
    R_RCTL = 0x0100,
    R_TCTL = 0x0400,
    R_LEDCTL = 0x0E00,
    R_PBA = 0x1000,
    R_RDBAL = 0x2800,
    R_RDBAH = 0x2804,
    R_RDLEN = 0x2808,
    R_RDH = 0x2810,
    R_RDT = 0x2818,
    R_TDBAL = 0x3800,
    R_TDBAH = 0x3804,
    R_TDLEN = 0x3808,
    R_TDH = 0x3810,
    R_TDT = 0x3818,
    R_STATS = 0x4000, /* .. 0x40FF: statistics, cleared when read */
    R_STATS_END = 0x4100,
    R_MTA = 0x5200, /* 128 dwords */
    R_RA = 0x5400,  /* 16 pairs RAL/RAH */
};

/* Statistics registers this model counts. */
enum {
    S_MPC = 0x4010,   /* missed packets (no room) */
    S_GPRC = 0x4074,  /* good packets received */
    S_BPRC = 0x4078,  /* broadcast packets received */
    S_MPRC = 0x407C,  /* multicast packets received */
    S_GPTC = 0x4080,  /* good packets transmitted */
    S_GORCL = 0x4088, /* good octets received (64-bit) */
    S_GOTCL = 0x4090, /* good octets transmitted */
    S_TORL = 0x40C0,  /* total octets received */
    S_TOTL = 0x40C8,  /* total octets transmitted */
    S_TPR = 0x40D0,   /* total packets received */
    S_TPT = 0x40D4,   /* total packets transmitted */
};

#define CTRL_RST     0x04000000u
#define CTRL_PHY_RST 0x80000000u

#define EECD_SK   0x001u
#define EECD_CS   0x002u
#define EECD_DI   0x004u
#define EECD_DO   0x008u
#define EECD_FWE  0x030u
#define EECD_REQ  0x040u
#define EECD_GNT  0x080u
#define EECD_PRES 0x100u

#define EERD_START 0x01u
#define EERD_DONE  0x10u

#define MDIC_OP_WRITE 0x04000000u
#define MDIC_OP_READ  0x08000000u
#define MDIC_READY    0x10000000u
#define MDIC_INT_EN   0x20000000u
#define MDIC_ERROR    0x40000000u

#define ICR_TXDW   0x0001u
#define ICR_TXQE   0x0002u
#define ICR_LSC    0x0004u
#define ICR_RXDMT0 0x0010u
#define ICR_RXO    0x0040u
#define ICR_RXT0   0x0080u
#define ICR_MDAC   0x0200u

#define RCTL_EN    0x00000002u
#define RCTL_UPE   0x00000008u
#define RCTL_MPE   0x00000010u
#define RCTL_LPE   0x00000020u
#define RCTL_RDMTS 0x00000300u
#define RCTL_MO    0x00003000u
#define RCTL_BAM   0x00008000u
#define RCTL_BSIZE 0x00030000u
#define RCTL_BSEX  0x02000000u
#define RCTL_SECRC 0x04000000u

#define TCTL_EN 0x00000002u

#define RAH_AV 0x80000000u

/* Transmit descriptor command bits (legacy CMD and extended DCMD/TUCMD). */
#define TXD_EOP  0x01u
#define TXD_IC   0x04u /* legacy: insert checksum */
#define TXD_TSE  0x04u /* extended: TCP segmentation */
#define TXD_RS   0x08u
#define TXD_DEXT 0x20u
#define TXD_DD   0x01u /* status: descriptor done */

#define TUCMD_TCP 0x01u
#define TUCMD_IP  0x02u /* IPv4 (else IPv6) */

#define POPTS_IXSM 0x01u
#define POPTS_TXSM 0x02u

#define RXD_DD   0x01u
#define RXD_EOP  0x02u
#define RXD_IXSM 0x04u

/* PHY (Marvell 88E1011) registers. */
enum {
    PHY_CTRL = 0,
    PHY_STATUS = 1,
    PHY_ID1 = 2,
    PHY_ID2 = 3,
    PHY_AUTONEG_ADV = 4,
    PHY_LP_ABILITY = 5,
    PHY_AUTONEG_EXP = 6,
    PHY_1000T_CTRL = 9,
    PHY_1000T_STATUS = 10,
    PHY_EXT_STATUS = 15,
    PHY_M88_SPEC_CTRL = 16,
    PHY_M88_SPEC_STATUS = 17,
    PHY_M88_EXT_SPEC_CTRL = 20,
};
#define PHY_ADDR 1

#define EEPROM_WORDS    64
#define EEPROM_CHECKSUM 0xBABA
/* Microwire: start bit + 2 opcode bits + 6 address bits. */
#define MW_CMD_BITS 9
#define MW_READ     6 /* 1 10 */

/* The largest transmit packet gathered from descriptors: a TSO packet's
 * 64 KiB payload and its headers. */
#define TX_BUF_MAX (65536 + 256)

#define NREGS (E1000_MMIO_SIZE / 4)

typedef struct TxContext {
    uint8_t ipcss, ipcso, tucss, tucso;
    uint16_t ipcse, tucse;
    uint32_t paylen;
    uint8_t tucmd, hdrlen;
    uint16_t mss;
} TxContext;

struct E1000 {
    uint32_t regs[NREGS];
    uint16_t eeprom[EEPROM_WORDS];
    uint16_t phy[32];
    /* Microwire shift state (EECD bit-banging). */
    uint16_t mw_cmd;
    uint8_t mw_bits;    /* command bits shifted in so far */
    bool mw_reading;    /* the command was READ: data bits go out */
    uint8_t mw_addr;    /* word being read */
    uint8_t mw_readbit; /* data bits already shifted out of it */
    bool mw_do;         /* DO pin */
    uint32_t io_addr;   /* IOADDR of the I/O window */
    /* Transmit: the context and the packet gathered so far. */
    TxContext ctx;
    uint8_t tx_popts; /* first data descriptor's POPTS */
    bool tx_tse;      /* the packet is a TSO packet */
    bool tx_legacy;   /* the packet came from legacy descriptors */
    uint8_t tx_cso, tx_css, tx_cmd;
    bool tx_bad; /* a buffer was outside RAM or the packet too long: dropped at EOP */
    uint32_t tx_len;
    uint8_t tx_buf[TX_BUF_MAX];
    uint8_t tx_seg[NET_MAX_FRAME + 4];
    uint8_t rx_buf[NET_MAX_FRAME + 64];
    bool irq_level;
    uint8_t mac[6];
    PhysMem *pm;
    IoBus *io;
    IrqLine irq;
    NetPort *port;
    PciFunction *pci;
    uint32_t mmio_base; /* where BAR0 maps the registers, 0 = unmapped */
    uint16_t io_base;   /* where BAR1 maps the I/O window, 0 = unmapped */
};

#define REG(d, off) ((d)->regs[(off) >> 2])

static uint16_t get16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) {
    return get32(p) | (uint64_t)get32(p + 4) << 32;
}
static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static uint16_t be16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}
static void put_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put_be32(uint8_t *p, uint32_t v) {
    put_be16(p, (uint16_t)(v >> 16));
    put_be16(p + 2, (uint16_t)v);
}

/* ---- interrupts ---- */

static void update_irq(E1000 *d) {
    bool level = (REG(d, R_ICR) & REG(d, R_IMS)) != 0;
    if (level != d->irq_level) {
        d->irq_level = level;
        irq_set(&d->irq, level);
    }
}

static void raise_cause(E1000 *d, uint32_t bits) {
    REG(d, R_ICR) |= bits;
    update_irq(d);
}

static void count64(E1000 *d, uint32_t off, uint64_t n) {
    uint64_t v = REG(d, off) | (uint64_t)REG(d, off + 4) << 32;
    v += n;
    REG(d, off) = (uint32_t)v;
    REG(d, off + 4) = (uint32_t)(v >> 32);
}

static void count(E1000 *d, uint32_t off) {
    if (REG(d, off) != 0xFFFFFFFFu) REG(d, off)++; /* the counters stick at their maximum */
}

/* ---- EEPROM ---- */

static void eeprom_init(E1000 *d) {
    memset(d->eeprom, 0, sizeof d->eeprom);
    for (int i = 0; i < 3; i++)
        d->eeprom[i] = (uint16_t)(d->mac[2 * i] | d->mac[2 * i + 1] << 8);
    d->eeprom[0x0A] = 0x4408; /* initialization control 1: load subsystem IDs */
    d->eeprom[0x0B] = 0x1100; /* subsystem */
    d->eeprom[0x0C] = 0x1AF4; /* subsystem vendor */
    d->eeprom[0x0D] = 0x100E; /* device */
    d->eeprom[0x0E] = 0x8086; /* vendor */
    d->eeprom[0x0F] = 0x0000; /* initialization control 2: no flow control */
    uint16_t sum = 0;
    for (int i = 0; i < EEPROM_WORDS - 1; i++)
        sum = (uint16_t)(sum + d->eeprom[i]);
    d->eeprom[EEPROM_WORDS - 1] = (uint16_t)(EEPROM_CHECKSUM - sum);
}

uint16_t e1000_eeprom_word(const E1000 *d, unsigned index) {
    return index < EEPROM_WORDS ? d->eeprom[index] : 0xFFFF;
}

static void mw_reset(E1000 *d) {
    d->mw_cmd = 0;
    d->mw_bits = 0;
    d->mw_reading = false;
    d->mw_readbit = 0;
    d->mw_do = false;
}

static void eecd_write(E1000 *d, uint32_t val) {
    uint32_t old = REG(d, R_EECD);
    REG(d, R_EECD) = val & (EECD_SK | EECD_CS | EECD_DI | EECD_FWE | EECD_REQ);
    if (!(val & EECD_CS)) {
        mw_reset(d);
        return;
    }
    if ((old & EECD_SK) || !(val & EECD_SK)) return; /* act on the rising edge of SK */
    if (d->mw_reading) {
        d->mw_do = (d->eeprom[d->mw_addr] >> (15 - d->mw_readbit)) & 1;
        if (++d->mw_readbit == 16) { /* sequential read: on to the next word */
            d->mw_readbit = 0;
            d->mw_addr = (uint8_t)((d->mw_addr + 1) % EEPROM_WORDS);
        }
        return;
    }
    bool di = val & EECD_DI;
    if (d->mw_bits == 0 && !di) return;    /* zeros before the start bit */
    if (d->mw_bits >= MW_CMD_BITS) return; /* a command the EEPROM ignores (write, erase) */
    d->mw_cmd = (uint16_t)(d->mw_cmd << 1 | di);
    if (++d->mw_bits == MW_CMD_BITS && (d->mw_cmd >> 6) == MW_READ) {
        d->mw_reading = true;
        d->mw_addr = d->mw_cmd & 0x3F;
        d->mw_readbit = 0;
        d->mw_do = false; /* the dummy zero before the data */
    }
}

static uint32_t eecd_read(const E1000 *d) {
    uint32_t v = REG(d, R_EECD) | EECD_PRES;
    if (v & EECD_REQ) v |= EECD_GNT;
    if (d->mw_do) v |= EECD_DO;
    return v;
}

static void eerd_write(E1000 *d, uint32_t val) {
    if (!(val & EERD_START)) {
        REG(d, R_EERD) = val & ~EERD_DONE;
        return;
    }
    unsigned addr = (val >> 8) & 0xFF;
    uint16_t data = addr < EEPROM_WORDS ? d->eeprom[addr] : 0;
    REG(d, R_EERD) = (uint32_t)data << 16 | addr << 8 | EERD_DONE;
}

/* ---- PHY ---- */

static void phy_reset(E1000 *d) {
    memset(d->phy, 0, sizeof d->phy);
    d->phy[PHY_CTRL] = 0x1140;   /* autonegotiation, full duplex, 1000 Mb/s */
    d->phy[PHY_STATUS] = 0x796D; /* link up, autonegotiation complete, abilities */
    d->phy[PHY_ID1] = 0x0141;    /* Marvell 88E1011 */
    d->phy[PHY_ID2] = 0x0C20;
    d->phy[PHY_AUTONEG_ADV] = 0x0DE1;
    d->phy[PHY_LP_ABILITY] = 0x45E1;
    d->phy[PHY_AUTONEG_EXP] = 0x0001;
    d->phy[PHY_1000T_CTRL] = 0x0E00;
    d->phy[PHY_1000T_STATUS] = 0x3C00;
    d->phy[PHY_EXT_STATUS] = 0x3000;
    d->phy[PHY_M88_SPEC_CTRL] = 0x0068;
    d->phy[PHY_M88_SPEC_STATUS] = 0xAC00; /* 1000 Mb/s, full duplex, resolved, link */
    d->phy[PHY_M88_EXT_SPEC_CTRL] = 0x0D60;
}

static void mdic_write(E1000 *d, uint32_t val) {
    unsigned reg = (val >> 16) & 0x1F, phyaddr = (val >> 21) & 0x1F;
    uint32_t result = val & 0x0FFFFFFFu;
    if (phyaddr != PHY_ADDR) {
        result |= MDIC_ERROR;
    } else if (val & MDIC_OP_READ) {
        result = (result & ~0xFFFFu) | d->phy[reg];
    } else if (val & MDIC_OP_WRITE) {
        uint16_t v = (uint16_t)val;
        switch (reg) {
        case PHY_STATUS:
        case PHY_ID1:
        case PHY_ID2:
        case PHY_LP_ABILITY:
        case PHY_AUTONEG_EXP:
        case PHY_1000T_STATUS:
        case PHY_EXT_STATUS:
        case PHY_M88_SPEC_STATUS: break; /* read-only */
        case PHY_CTRL:
            /* Reset and autonegotiation restart complete at once: the link
             * stays up. */
            d->phy[PHY_CTRL] = v & (uint16_t) ~(0x8000 | 0x0200);
            break;
        default: d->phy[reg] = v;
        }
    }
    REG(d, R_MDIC) = result | MDIC_READY;
    if (val & MDIC_INT_EN) raise_cause(d, ICR_MDAC);
}

/* ---- reset ---- */

static void load_receive_address(E1000 *d) {
    REG(d, R_RA) = (uint32_t)d->eeprom[0] | (uint32_t)d->eeprom[1] << 16;
    REG(d, R_RA + 4) = d->eeprom[2] | RAH_AV;
}

/* The registers' power-on values (CTRL.RST too). */
static void regs_reset(E1000 *d) {
    memset(d->regs, 0, sizeof d->regs);
    REG(d, R_CTRL) = 0x00000240; /* set link up, auto speed detection */
    REG(d, R_EECD) = 0x00000010; /* FWE: writes disabled */
    REG(d, R_LEDCTL) = 0x07068302;
    REG(d, R_PBA) = 0x00100030; /* 48 KiB receive, 16 KiB transmit packet buffer */
    REG(d, R_MDIC) = MDIC_READY;
    load_receive_address(d);
    mw_reset(d);
    memset(&d->ctx, 0, sizeof d->ctx);
    d->tx_len = 0;
    d->tx_bad = false;
    d->io_addr = 0;
    update_irq(d);
}

void e1000_reset(E1000 *d) {
    eeprom_init(d);
    phy_reset(d);
    regs_reset(d);
}

/* ---- checksums ---- */

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum) {
    size_t i;
    for (i = 0; i + 1 < len; i += 2)
        sum += be16(p + i);
    if (i < len) sum += (uint32_t)p[i] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum) {
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)sum;
}

/* Put the complemented ones'-complement sum of [css, cse] (cse 0: to the
 * end; inclusive), plus `extra`, at cso. Offsets outside the frame: nothing. */
static void insert_checksum(uint8_t *p, size_t len, unsigned css, unsigned cso, unsigned cse,
                            uint32_t extra, bool udp) {
    if (css >= len || cso + 2 > len) return;
    size_t end = cse && cse < len ? (size_t)cse + 1 : len;
    if (end <= css) return;
    uint16_t c = (uint16_t)~fold(sum16(p + css, end - css, extra));
    if (udp && c == 0) c = 0xFFFF;
    put_be16(p + cso, c);
}

/* ---- transmit ---- */

static void tx_count(E1000 *d, size_t len) {
    count(d, S_GPTC);
    count(d, S_TPT);
    count64(d, S_GOTCL, len + 4);
    count64(d, S_TOTL, len + 4);
}

static void tx_send(E1000 *d, const uint8_t *frame, size_t len) {
    if (len < 14 || len > NET_MAX_FRAME) return;
    tx_count(d, len);
    net_port_transmit(d->port, frame, len);
}

/* Checksums of one frame (a whole packet or one TSO segment) per the
 * context and the packet's POPTS; tcp_len: the pseudo-header length a TSO
 * segment adds (0 otherwise). */
static void tx_offload(E1000 *d, uint8_t *p, size_t len, uint32_t tcp_len) {
    const TxContext *c = &d->ctx;
    if ((d->tx_popts & POPTS_IXSM) && (c->tucmd & TUCMD_IP) && (size_t)c->ipcso + 2 <= len) {
        p[c->ipcso] = p[c->ipcso + 1] = 0;
        insert_checksum(p, len, c->ipcss, c->ipcso, c->ipcse, 0, false);
    }
    if (d->tx_popts & POPTS_TXSM)
        insert_checksum(p, len, c->tucss, c->tucso, c->tucse, tcp_len, !(c->tucmd & TUCMD_TCP));
}

/* Cut a TSO packet (headers + payload in tx_buf) into frames of at most
 * mss payload bytes, fixing lengths, IP ID, TCP sequence and flags. */
static void tx_segment(E1000 *d) {
    const TxContext *c = &d->ctx;
    size_t hdr = c->hdrlen, mss = c->mss, total = d->tx_len;
    bool tcp = c->tucmd & TUCMD_TCP, ipv4 = c->tucmd & TUCMD_IP;
    if (hdr == 0 || hdr > total || mss == 0 || hdr + mss > NET_MAX_FRAME) return;
    if ((size_t)c->ipcss + (ipv4 ? 20 : 40) > hdr || (size_t)c->tucss + (tcp ? 20 : 8) > hdr ||
        c->tucss < c->ipcss)
        return;
    size_t payload = total - hdr;
    uint32_t seq = tcp ? be32(d->tx_buf + c->tucss + 4) : 0;
    uint16_t ipid = ipv4 ? be16(d->tx_buf + c->ipcss + 4) : 0;
    unsigned nseg = 0;
    size_t off = 0;
    do {
        size_t chunk = payload - off < mss ? payload - off : mss;
        bool last = off + chunk >= payload;
        uint8_t *s = d->tx_seg;
        memcpy(s, d->tx_buf, hdr);
        memcpy(s + hdr, d->tx_buf + hdr + off, chunk);
        size_t len = hdr + chunk;
        if (ipv4) {
            put_be16(s + c->ipcss + 2, (uint16_t)(len - c->ipcss));
            put_be16(s + c->ipcss + 4, (uint16_t)(ipid + nseg));
        } else {
            put_be16(s + c->ipcss + 4, (uint16_t)(len - c->ipcss - 40));
        }
        uint32_t l4len = (uint32_t)(len - c->tucss);
        if (tcp) {
            put_be32(s + c->tucss + 4, seq + (uint32_t)off);
            if (!last) s[c->tucss + 13] &= (uint8_t) ~(0x01 | 0x08); /* FIN, PSH on the last */
        } else {
            put_be16(s + c->tucss + 4, (uint16_t)l4len);
        }
        tx_offload(d, s, len, l4len);
        tx_send(d, s, len);
        off += chunk;
        nseg++;
    } while (off < payload);
}

static void tx_packet_done(E1000 *d) {
    if (!d->tx_bad) {
        if (d->tx_legacy) {
            if (d->tx_cmd & TXD_IC)
                insert_checksum(d->tx_buf, d->tx_len, d->tx_css, d->tx_cso, 0, 0, false);
            tx_send(d, d->tx_buf, d->tx_len);
        } else if (d->tx_tse) {
            tx_segment(d);
        } else {
            tx_offload(d, d->tx_buf, d->tx_len, 0);
            tx_send(d, d->tx_buf, d->tx_len);
        }
    }
    d->tx_len = 0;
    d->tx_bad = false;
}

/* Gather len bytes of guest memory at addr into the packet. */
static void tx_gather(E1000 *d, uint64_t addr, uint32_t len) {
    if (d->tx_bad || len == 0) return;
    if (len > TX_BUF_MAX - d->tx_len ||
        phys_copy_from(d->pm, addr, d->tx_buf + d->tx_len, len) < 0) {
        d->tx_bad = true;
        return;
    }
    d->tx_len += len;
}

static void tx_context(E1000 *d, const uint8_t *t) {
    TxContext *c = &d->ctx;
    c->ipcss = t[0];
    c->ipcso = t[1];
    c->ipcse = get16(t + 2);
    c->tucss = t[4];
    c->tucso = t[5];
    c->tucse = get16(t + 6);
    c->paylen = get32(t + 8) & 0xFFFFF;
    c->tucmd = t[11];
    c->hdrlen = t[13];
    c->mss = get16(t + 14);
}

/* Process descriptors from TDH to TDT: at most one ring's worth. */
static void tx_process(E1000 *d) {
    if (!(REG(d, R_TCTL) & TCTL_EN)) return;
    uint32_t n = REG(d, R_TDLEN) / 16;
    uint64_t base = (uint64_t)REG(d, R_TDBAH) << 32 | REG(d, R_TDBAL);
    bool done = false;
    for (uint32_t budget = n; budget > 0 && REG(d, R_TDH) != REG(d, R_TDT); budget--) {
        uint32_t head = REG(d, R_TDH);
        if (head >= n) break; /* a head outside the ring: the queue is stuck */
        uint64_t at = base + (uint64_t)head * 16;
        uint8_t t[16];
        if (phys_copy_from(d->pm, at, t, 16) < 0)
            break; /* the descriptor is not in RAM: nothing more to fetch */
        uint8_t cmd = t[11];
        if (!(cmd & TXD_DEXT)) { /* legacy */
            if (d->tx_len == 0 && !d->tx_bad) {
                d->tx_legacy = true;
                d->tx_cso = t[10];
                d->tx_css = t[13];
                d->tx_cmd = cmd;
            }
            tx_gather(d, get64(t), get16(t + 8));
            if (cmd & TXD_EOP) tx_packet_done(d);
        } else {
            unsigned dtyp = (get32(t + 8) >> 20) & 0xF;
            if (dtyp == 0) {
                tx_context(d, t);
            } else if (dtyp == 1) {
                if (d->tx_len == 0 && !d->tx_bad) {
                    d->tx_legacy = false;
                    d->tx_popts = t[13];
                    d->tx_tse = cmd & TXD_TSE;
                }
                tx_gather(d, get64(t), get32(t + 8) & 0xFFFFF);
                if (cmd & TXD_EOP) tx_packet_done(d);
            }
        }
        if (cmd & TXD_RS) {
            uint8_t status = t[12] | TXD_DD;
            phys_copy_to(d->pm, at + 12, &status, 1);
        }
        REG(d, R_TDH) = (head + 1) % n;
        done = true;
    }
    if (done) {
        uint32_t cause = ICR_TXDW;
        if (REG(d, R_TDH) == REG(d, R_TDT)) cause |= ICR_TXQE;
        raise_cause(d, cause);
    }
}

/* ---- receive ---- */

static bool rx_filter(const E1000 *d, const uint8_t *f) {
    uint32_t rctl = REG(d, R_RCTL);
    if (f[0] & 1) {
        static const uint8_t bcast[6] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
        if (memcmp(f, bcast, 6) == 0) return (rctl & (RCTL_BAM | RCTL_MPE)) != 0;
        if (rctl & RCTL_MPE) return true;
        unsigned shift = 4 - ((rctl & RCTL_MO) >> 12); /* MO 0..3: address bits 47:36..44:33 */
        unsigned hash = ((unsigned)f[4] >> shift | (unsigned)f[5] << (8 - shift)) & 0xFFF;
        return (REG(d, R_MTA + (hash >> 5) * 4) >> (hash & 31)) & 1;
    }
    if (rctl & RCTL_UPE) return true;
    for (unsigned i = 0; i < 16; i++) {
        uint32_t ral = REG(d, R_RA + 8 * i), rah = REG(d, R_RA + 8 * i + 4);
        if (!(rah & RAH_AV)) continue;
        uint8_t a[6] = {(uint8_t)ral,         (uint8_t)(ral >> 8), (uint8_t)(ral >> 16),
                        (uint8_t)(ral >> 24), (uint8_t)rah,        (uint8_t)(rah >> 8)};
        if (memcmp(a, f, 6) == 0) return true;
    }
    return false;
}

static uint32_t rx_buffer_size(uint32_t rctl) {
    static const uint32_t sizes[4] = {2048, 1024, 512, 256};
    uint32_t s = sizes[(rctl & RCTL_BSIZE) >> 16];
    if ((rctl & RCTL_BSEX) && s != 2048) s *= 16; /* 16384, 8192, 4096 */
    return s;
}

static void rx_missed(E1000 *d) {
    count(d, S_MPC);
    raise_cause(d, ICR_RXO);
}

static bool rx_frame(void *opaque, const uint8_t *frame, size_t len) {
    E1000 *d = opaque;
    uint32_t rctl = REG(d, R_RCTL);
    if (!(rctl & RCTL_EN) || len < 14 || len > NET_MAX_FRAME) return false;
    if (!(rctl & RCTL_LPE) && len > 1522) return false;
    if (!rx_filter(d, frame)) return false;
    /* Short frames are padded to the 60-byte minimum; the FCS follows
     * unless the driver asked for it to be stripped. */
    size_t total = len < 60 ? 60 : len;
    memcpy(d->rx_buf, frame, len);
    memset(d->rx_buf + len, 0, total - len);
    if (!(rctl & RCTL_SECRC)) {
        uint32_t crc = (uint32_t)crc32(0L, d->rx_buf, (uInt)total);
        for (int i = 0; i < 4; i++)
            d->rx_buf[total++] = (uint8_t)(crc >> (8 * i));
    }
    uint32_t n = REG(d, R_RDLEN) / 16, head = REG(d, R_RDH), tail = REG(d, R_RDT);
    if (n == 0 || head >= n || tail >= n) {
        rx_missed(d);
        return false;
    }
    uint32_t avail = (tail + n - head) % n, bufsize = rx_buffer_size(rctl);
    uint32_t need = (uint32_t)((total + bufsize - 1) / bufsize);
    if (need > avail) {
        rx_missed(d);
        return false;
    }
    uint64_t base = (uint64_t)REG(d, R_RDBAH) << 32 | REG(d, R_RDBAL);
    size_t done = 0;
    while (done < total) {
        uint64_t at = base + (uint64_t)head * 16;
        uint8_t desc[16];
        if (phys_copy_from(d->pm, at, desc, 16) < 0) {
            rx_missed(d); /* the ring is not in RAM */
            return false;
        }
        uint64_t buf = get64(desc);
        size_t chunk = total - done < bufsize ? total - done : bufsize;
        /* A buffer outside RAM takes nothing (the bytes go nowhere). */
        phys_copy_to(d->pm, buf, d->rx_buf + done, chunk);
        done += chunk;
        put16(desc + 8, (uint16_t)chunk);
        put16(desc + 10, 0);                                          /* checksum */
        desc[12] = RXD_DD | RXD_IXSM | (done == total ? RXD_EOP : 0); /* status */
        desc[13] = 0;                                                 /* errors */
        put16(desc + 14, 0);                                          /* special */
        phys_copy_to(d->pm, at + 8, desc + 8, 8);
        head = (head + 1) % n;
        REG(d, R_RDH) = head;
    }
    count(d, S_GPRC);
    count(d, S_TPR);
    count64(d, S_GORCL, total);
    count64(d, S_TORL, total);
    if (frame[0] & 1) count(d, memcmp(frame, "\xFF\xFF\xFF\xFF\xFF\xFF", 6) ? S_MPRC : S_BPRC);
    uint32_t cause = ICR_RXT0;
    uint32_t left = (tail + n - head) % n;
    if (left <= n >> (((rctl & RCTL_RDMTS) >> 8) + 1)) cause |= ICR_RXDMT0;
    raise_cause(d, cause);
    return true;
}

/* ---- register access ---- */

static uint32_t reg_read(E1000 *d, uint32_t off) {
    off &= ~3u;
    if (off >= E1000_MMIO_SIZE) return 0;
    switch (off) {
    case R_STATUS: return 0x00000283; /* full duplex, link up, 1000 Mb/s */
    case R_EECD: return eecd_read(d);
    case R_ICR: {
        uint32_t v = REG(d, R_ICR);
        REG(d, R_ICR) = 0;
        update_irq(d);
        return v;
    }
    case R_ICS:
    case R_IMC: return 0; /* write-only */
    default: break;
    }
    if (off >= R_STATS && off < R_STATS_END) {
        uint32_t v = REG(d, off);
        REG(d, off) = 0; /* statistics clear when read */
        return v;
    }
    return REG(d, off);
}

static void reg_write(E1000 *d, uint32_t off, uint32_t val) {
    off &= ~3u;
    if (off >= E1000_MMIO_SIZE) return;
    switch (off) {
    case R_CTRL:
        if (val & CTRL_RST) {
            regs_reset(d); /* the EEPROM and PHY keep their contents */
            return;
        }
        if (val & CTRL_PHY_RST) phy_reset(d);
        REG(d, off) = val & ~(CTRL_RST | CTRL_PHY_RST);
        return;
    case R_STATUS: return;
    case R_EECD: eecd_write(d, val); return;
    case R_EERD: eerd_write(d, val); return;
    case R_MDIC: mdic_write(d, val); return;
    case R_ICR: /* writing 1s clears them */
        REG(d, R_ICR) &= ~val;
        update_irq(d);
        return;
    case R_ICS: raise_cause(d, val); return;
    case R_IMS:
        REG(d, R_IMS) |= val;
        update_irq(d);
        return;
    case R_IMC:
        REG(d, R_IMS) &= ~val;
        update_irq(d);
        return;
    case R_RDLEN:
    case R_TDLEN: REG(d, off) = val & 0x000FFF80u; return;
    case R_RDBAL:
    case R_TDBAL: REG(d, off) = val & ~0xFu; return;
    case R_RDH:
    case R_RDT: REG(d, off) = val & 0xFFFF; return;
    case R_TDH: REG(d, off) = val & 0xFFFF; return;
    case R_TDT:
        REG(d, off) = val & 0xFFFF;
        tx_process(d);
        return;
    case R_TCTL:
        REG(d, off) = val;
        tx_process(d);
        return;
    default: break;
    }
    if (off >= R_STATS && off < R_STATS_END) return; /* read-only counters */
    REG(d, off) = val;
}

uint32_t e1000_mmio_read(void *opaque, uint32_t offset, unsigned size) {
    E1000 *d = opaque;
    uint32_t v = reg_read(d, offset);
    unsigned shift = (offset & 3) * 8;
    v >>= shift;
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

void e1000_mmio_write(void *opaque, uint32_t offset, unsigned size, uint32_t val) {
    E1000 *d = opaque;
    if (size < 4 || (offset & 3)) {
        /* A narrow write merges into the stored register (no read side effects). */
        uint32_t off = offset & ~3u, shift = (offset & 3) * 8;
        if (off >= E1000_MMIO_SIZE) return;
        uint32_t mask = size >= 4 ? 0xFFFFFFFFu : ((1u << (8 * size)) - 1);
        mask <<= shift;
        val = (REG(d, off) & ~mask) | ((val << shift) & mask);
        offset = off;
    }
    reg_write(d, offset, val);
}

static uint32_t io_read(void *opaque, uint16_t port, unsigned size) {
    E1000 *d = opaque;
    unsigned off = (port - d->io_base) & (E1000_IO_SIZE - 1);
    uint32_t v = 0xFFFFFFFFu;
    if (off == 0)
        v = d->io_addr;
    else if (off == 4)
        v = reg_read(d, d->io_addr & (E1000_MMIO_SIZE - 1));
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void io_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    E1000 *d = opaque;
    unsigned off = (port - d->io_base) & (E1000_IO_SIZE - 1);
    if (size != 4) return; /* the window takes dword accesses */
    if (off == 0)
        d->io_addr = val & (E1000_MMIO_SIZE - 4);
    else if (off == 4)
        reg_write(d, d->io_addr, val);
}

/* ---- PCI ---- */

static void pci_update(E1000 *d) {
    const uint8_t *c = d->pci->cfg;
    uint32_t bar0 = get32(c + 0x10) & ~0xFu, bar1 = get32(c + 0x14) & ~0x3u;
    uint32_t mem = bar0 && (c[0x04] & 0x02) && bar0 <= 0xFFFFFFFFu - E1000_MMIO_SIZE + 1 ? bar0 : 0;
    if (mem != d->mmio_base) {
        physmem_move_mmio(d->pm, e1000_mmio_read, d, mem, mem ? E1000_MMIO_SIZE : 0);
        d->mmio_base = mem;
    }
    uint16_t io = (c[0x04] & 0x01) && bar1 && bar1 <= 0x10000 - E1000_IO_SIZE ? (uint16_t)bar1 : 0;
    if (d->io && io != d->io_base) {
        if (d->io_base) iobus_unregister(d->io, d->io_base, E1000_IO_SIZE, d);
        d->io_base = 0;
        if (io && iobus_register(d->io, io, E1000_IO_SIZE, io_read, io_write, d) == 0)
            d->io_base = io;
    }
}

static void pci_written(PciFunction *f, unsigned offset, unsigned size) {
    if ((offset < 0x06 && offset + size > 0x04) || (offset < 0x18 && offset + size > 0x10))
        pci_update(f->opaque);
}

PciFunction *e1000_pci_init(E1000 *d, PciBus *bus, uint8_t devfn) {
    PciFunction *f = pci_add_function(bus, devfn, 0x8086, 0x100E, 0x0200);
    if (!f) return NULL;
    f->cfg[0x08] = 0x03; /* revision */
    f->cfg[0x2C] = 0xF4;
    f->cfg[0x2D] = 0x1A; /* subsystem vendor 1af4 */
    f->cfg[0x2E] = 0x00;
    f->cfg[0x2F] = 0x11; /* subsystem 1100 */
    f->cfg[0x10] = 0x00; /* BAR0: 32-bit memory, 128 KiB */
    f->wmask[0x12] = 0xFE;
    f->wmask[0x13] = 0xFF;
    f->cfg[0x14] = 0x01; /* BAR1: I/O, 64 bytes */
    f->wmask[0x14] = 0xC0;
    f->wmask[0x15] = 0xFF;
    f->wmask[0x16] = 0xFF; /* all 32 bits writable: firmware sizes BARs with 32-bit masks */
    f->wmask[0x17] = 0xFF;
    f->cfg[0x3D] = 0x01; /* INTA# */
    f->opaque = d;
    f->write_hook = pci_written;
    d->pci = f;
    return f;
}

E1000 *e1000_new(PhysMem *pm, IoBus *io, const uint8_t mac[6], IrqLine irq, NetPort *port) {
    E1000 *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->pm = pm;
    d->io = io;
    d->irq = irq;
    d->port = port;
    memcpy(d->mac, mac, 6);
    /* The register window exists from the start, unmapped until BAR0 is set. */
    if (physmem_add_mmio(pm, 0xFFFE0000u, E1000_MMIO_SIZE, e1000_mmio_read, e1000_mmio_write, d) <
            0 ||
        physmem_move_mmio(pm, e1000_mmio_read, d, 0, 0) < 0) {
        free(d);
        return NULL;
    }
    if (port) {
        port->receive = rx_frame;
        port->nic = d;
    }
    e1000_reset(d);
    return d;
}

void e1000_free(E1000 *d) {
    free(d);
}

/* ---- snapshots ---- */

void e1000_save(const E1000 *d, SnapWriter *w) {
    snap_put_zblob(w, d->regs, sizeof d->regs);
    for (int i = 0; i < EEPROM_WORDS; i++)
        snap_put_u16(w, d->eeprom[i]);
    for (int i = 0; i < 32; i++)
        snap_put_u16(w, d->phy[i]);
    snap_put_u16(w, d->mw_cmd);
    snap_put_u8(w, d->mw_bits);
    snap_put_bool(w, d->mw_reading);
    snap_put_u8(w, d->mw_addr);
    snap_put_u8(w, d->mw_readbit);
    snap_put_bool(w, d->mw_do);
    snap_put_u32(w, d->io_addr);
    snap_put_u8(w, d->ctx.ipcss);
    snap_put_u8(w, d->ctx.ipcso);
    snap_put_u16(w, d->ctx.ipcse);
    snap_put_u8(w, d->ctx.tucss);
    snap_put_u8(w, d->ctx.tucso);
    snap_put_u16(w, d->ctx.tucse);
    snap_put_u32(w, d->ctx.paylen);
    snap_put_u8(w, d->ctx.tucmd);
    snap_put_u8(w, d->ctx.hdrlen);
    snap_put_u16(w, d->ctx.mss);
    snap_put_u8(w, d->tx_popts);
    snap_put_bool(w, d->tx_tse);
    snap_put_bool(w, d->tx_legacy);
    snap_put_u8(w, d->tx_cso);
    snap_put_u8(w, d->tx_css);
    snap_put_u8(w, d->tx_cmd);
    snap_put_bool(w, d->tx_bad);
    snap_put_zblob(w, d->tx_buf, d->tx_len);
}

bool e1000_load(E1000 *d, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    /* Parsed into a scratch card; the live one changes only when applying. */
    E1000 *tp = calloc(1, sizeof *tp);
    if (!tp) {
        snap_fail(r, "out of memory");
        return false;
    }
#define t (*tp)
    snap_get_zblob(r, t.regs, sizeof t.regs);
    for (int i = 0; i < EEPROM_WORDS; i++)
        t.eeprom[i] = snap_get_u16(r);
    for (int i = 0; i < 32; i++)
        t.phy[i] = snap_get_u16(r);
    t.mw_cmd = snap_get_u16(r);
    t.mw_bits = snap_get_u8(r);
    t.mw_reading = snap_get_bool(r);
    t.mw_addr = snap_get_u8(r);
    t.mw_readbit = snap_get_u8(r);
    t.mw_do = snap_get_bool(r);
    t.io_addr = snap_get_u32(r);
    t.ctx.ipcss = snap_get_u8(r);
    t.ctx.ipcso = snap_get_u8(r);
    t.ctx.ipcse = snap_get_u16(r);
    t.ctx.tucss = snap_get_u8(r);
    t.ctx.tucso = snap_get_u8(r);
    t.ctx.tucse = snap_get_u16(r);
    t.ctx.paylen = snap_get_u32(r);
    t.ctx.tucmd = snap_get_u8(r);
    t.ctx.hdrlen = snap_get_u8(r);
    t.ctx.mss = snap_get_u16(r);
    t.tx_popts = snap_get_u8(r);
    t.tx_tse = snap_get_bool(r);
    t.tx_legacy = snap_get_bool(r);
    t.tx_cso = snap_get_u8(r);
    t.tx_css = snap_get_u8(r);
    t.tx_cmd = snap_get_u8(r);
    t.tx_bad = snap_get_bool(r);
    size_t txlen = 0;
    uint8_t *tx = snap_get_zblob_alloc(r, TX_BUF_MAX, &txlen);
    if (tx) memcpy(t.tx_buf, tx, txlen);
    free(tx);
    snap_check(r, t.mw_addr < EEPROM_WORDS && t.mw_readbit < 16 && t.mw_bits <= MW_CMD_BITS,
               "EEPROM shift state");
    snap_check(r, (t.io_addr & 3) == 0 && t.io_addr < E1000_MMIO_SIZE, "IOADDR");
    if (!snap_finish(r) || !r->apply) {
        free(tp);
        return snap_ok(r) && !r->apply;
    }
    memcpy(d->regs, t.regs, sizeof t.regs);
    memcpy(d->eeprom, t.eeprom, sizeof t.eeprom);
    memcpy(d->phy, t.phy, sizeof t.phy);
    d->mw_cmd = t.mw_cmd;
    d->mw_bits = t.mw_bits;
    d->mw_reading = t.mw_reading;
    d->mw_addr = t.mw_addr;
    d->mw_readbit = t.mw_readbit;
    d->mw_do = t.mw_do;
    d->io_addr = t.io_addr;
    d->ctx = t.ctx;
    d->tx_popts = t.tx_popts;
    d->tx_tse = t.tx_tse;
    d->tx_legacy = t.tx_legacy;
    d->tx_cso = t.tx_cso;
    d->tx_css = t.tx_css;
    d->tx_cmd = t.tx_cmd;
    d->tx_bad = t.tx_bad;
    memcpy(d->tx_buf, t.tx_buf, txlen);
    d->tx_len = (uint32_t)txlen;
    /* The interrupt controller's own section holds the line's level. */
    d->irq_level = (REG(d, R_ICR) & REG(d, R_IMS)) != 0;
#undef t
    free(tp);
    return true;
}
