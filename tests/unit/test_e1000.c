/*
 * test_e1000.c - the e1000 through its registers alone, with 1 MiB of guest
 * RAM and a fake back end: the EEPROM (EERD and bit-banged Microwire,
 * checksum, MAC), the PHY behind MDIC, interrupt cause/mask semantics,
 * transmit (legacy, checksum offload, TCP segmentation), receive into a
 * ring with the address filters, and hostile rings: descriptors and
 * buffers outside or across the end of RAM, bogus lengths, heads and tails.
 * Under ASan (BT86_SANITIZE) any access outside the RAM buffer fails.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "devices/e1000.h"
#include "snap/snap.h"

#define RAM (1u << 20)

static PhysMem *pm;
static E1000 *nic;
static NetPort port;
static int irq_level;
static int nframes;
static uint8_t frames[8][2048];
static size_t frame_len[8];
static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

static void irq_set_fn(void *opaque, int n, int level) {
    (void)opaque;
    (void)n;
    irq_level = level;
}

static void fake_transmit(void *backend, const uint8_t *frame, size_t len) {
    (void)backend;
    if (nframes < 8) {
        size_t n = len < sizeof frames[0] ? len : sizeof frames[0];
        memcpy(frames[nframes], frame, n);
        frame_len[nframes] = len;
    }
    nframes++;
}

static uint32_t rd(uint32_t off) {
    return e1000_mmio_read(nic, off, 4);
}
static void wr(uint32_t off, uint32_t v) {
    e1000_mmio_write(nic, off, 4, v);
}

static void setup(void) {
    pm = physmem_new(RAM);
    port = (NetPort){.transmit = fake_transmit};
    irq_level = 0;
    nframes = 0;
    nic = e1000_new(pm, NULL, mac, (IrqLine){irq_set_fn, NULL, 0}, &port);
    ck_assert_ptr_nonnull(nic);
}

static void teardown(void) {
    e1000_free(nic);
    physmem_free(pm);
}

/* ---- EEPROM ---- */

START_TEST(eeprom_eerd_mac_and_checksum) {
    uint16_t sum = 0;
    for (unsigned i = 0; i < 64; i++) {
        wr(0x14, i << 8 | 1); /* EERD: START */
        uint32_t v = rd(0x14);
        ck_assert_uint_ne(v & 0x10, 0); /* DONE */
        ck_assert_uint_eq((v >> 8) & 0xFF, i);
        ck_assert_uint_eq(v >> 16, e1000_eeprom_word(nic, i));
        sum = (uint16_t)(sum + (v >> 16));
    }
    ck_assert_uint_eq(sum, 0xBABA);
    ck_assert_uint_eq(e1000_eeprom_word(nic, 0), 0x5452);
    ck_assert_uint_eq(e1000_eeprom_word(nic, 1), 0x1200);
    ck_assert_uint_eq(e1000_eeprom_word(nic, 2), 0x5634);
    /* The receive address register 0 holds the MAC at reset, valid. */
    ck_assert_uint_eq(rd(0x5400), 0x12005452);
    ck_assert_uint_eq(rd(0x5404), 0x80005634);
}
END_TEST

/* The Microwire read a driver bit-bangs through EECD. */
static void ee_clock(uint32_t eecd) {
    wr(0x10, eecd | 1); /* SK high */
}
static uint16_t microwire_read(unsigned addr) {
    uint32_t eecd = 0x40; /* REQ */
    wr(0x10, eecd);
    ck_assert_uint_ne(rd(0x10) & 0x80, 0);  /* GNT */
    ck_assert_uint_ne(rd(0x10) & 0x100, 0); /* PRES */
    eecd |= 2;                              /* CS */
    wr(0x10, eecd);
    uint32_t cmd = 6u << 6 | addr; /* 1 10 AAAAAA */
    for (int b = 8; b >= 0; b--) {
        uint32_t e = eecd | ((cmd >> b) & 1 ? 4 : 0);
        wr(0x10, e);
        ee_clock(e);
        wr(0x10, e);
    }
    uint16_t v = 0;
    for (int b = 0; b < 16; b++) {
        ee_clock(eecd);
        v = (uint16_t)(v << 1 | ((rd(0x10) >> 3) & 1));
        wr(0x10, eecd);
    }
    wr(0x10, 0x40); /* CS low: done */
    wr(0x10, 0);
    return v;
}

START_TEST(eeprom_bit_banged) {
    for (unsigned i = 0; i < 64; i++)
        ck_assert_uint_eq(microwire_read(i), e1000_eeprom_word(nic, i));
}
END_TEST

/* ---- PHY ---- */

static uint32_t mdic(uint32_t phy, uint32_t reg, bool write, uint16_t data) {
    wr(0x20, (write ? 1u << 26 : 2u << 26) | phy << 21 | reg << 16 | data);
    return rd(0x20);
}

START_TEST(phy_through_mdic) {
    uint32_t v = mdic(1, 2, false, 0);
    ck_assert_uint_ne(v & (1u << 28), 0); /* ready */
    ck_assert_uint_eq(v & (1u << 30), 0);
    ck_assert_uint_eq(v & 0xFFFF, 0x0141);
    ck_assert_uint_eq(mdic(1, 3, false, 0) & 0xFFF0, 0x0C20);
    ck_assert_uint_ne(mdic(1, 1, false, 0) & 0x0004, 0); /* link up */
    ck_assert_uint_ne(mdic(1, 1, false, 0) & 0x0020, 0); /* autonegotiation complete */
    /* A reset through the control register completes at once. */
    mdic(1, 0, true, 0x9140);
    ck_assert_uint_eq(mdic(1, 0, false, 0) & 0x8000, 0);
    /* Writable register keeps the value; another PHY address is an error. */
    mdic(1, 4, true, 0x01E1);
    ck_assert_uint_eq(mdic(1, 4, false, 0) & 0xFFFF, 0x01E1);
    ck_assert_uint_ne(mdic(2, 2, false, 0) & (1u << 30), 0);
    ck_assert_uint_ne(rd(0x08) & 2, 0); /* STATUS.LU */
}
END_TEST

/* ---- interrupts ---- */

START_TEST(icr_semantics) {
    ck_assert_uint_eq(rd(0xC0), 0);
    wr(0xC8, 0x04); /* ICS: LSC, masked */
    ck_assert_int_eq(irq_level, 0);
    wr(0xD0, 0x04); /* IMS */
    ck_assert_int_eq(irq_level, 1);
    ck_assert_uint_eq(rd(0xD0), 0x04);
    ck_assert_uint_eq(rd(0xC0), 0x04); /* read returns and clears */
    ck_assert_int_eq(irq_level, 0);
    ck_assert_uint_eq(rd(0xC0), 0);
    wr(0xC8, 0x84);
    ck_assert_int_eq(irq_level, 1);
    wr(0xD8, 0x04); /* IMC: masked again */
    ck_assert_int_eq(irq_level, 0);
    ck_assert_uint_eq(rd(0xD0), 0);
    wr(0xD0, 0x80);
    ck_assert_int_eq(irq_level, 1);
    wr(0xC0, 0x80); /* writing 1s to ICR clears them */
    ck_assert_int_eq(irq_level, 0);
    ck_assert_uint_eq(rd(0xC0), 0x04);
    wr(0xC4, 1000); /* ITR is accepted */
    ck_assert_uint_eq(rd(0xC4), 1000);
}
END_TEST

/* ---- transmit ---- */

static void put_desc(uint32_t at, uint64_t addr, uint32_t w2, uint32_t w3) {
    uint8_t d[16];
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)(addr >> (8 * i));
    for (int i = 0; i < 4; i++) {
        d[8 + i] = (uint8_t)(w2 >> (8 * i));
        d[12 + i] = (uint8_t)(w3 >> (8 * i));
    }
    ck_assert_int_eq(phys_copy_to(pm, at, d, 16), 0);
}

static uint8_t ram8(uint32_t at) {
    return (uint8_t)phys_read(pm, at, 1);
}

static void tx_ring(uint32_t base, uint32_t len) {
    wr(0x3800, base);
    wr(0x3804, 0);
    wr(0x3808, len);
    wr(0x3810, 0);
    wr(0x3818, 0);
    wr(0x400, 2); /* TCTL.EN */
}

static void make_frame(uint8_t *f, size_t len) {
    for (size_t i = 0; i < len; i++)
        f[i] = (uint8_t)(i * 7 + 3);
    memcpy(f, "\xFF\xFF\xFF\xFF\xFF\xFF", 6);
}

START_TEST(tx_legacy_packet) {
    uint8_t f[100];
    make_frame(f, sizeof f);
    phys_copy_to(pm, 0x2000, f, 60);
    phys_copy_to(pm, 0x2800, f + 60, 40);
    tx_ring(0x1000, 8 * 16);
    wr(0xD0, 0x01); /* TXDW */
    /* Two descriptors: the second ends the packet and asks for status. */
    put_desc(0x1000, 0x2000, 60, 0);
    put_desc(0x1010, 0x2800, 40 | (0x01 | 0x08 | 0x02) << 24, 0); /* EOP, RS, IFCS */
    wr(0x3818, 2);
    ck_assert_int_eq(nframes, 1);
    ck_assert_uint_eq(frame_len[0], 100);
    ck_assert_int_eq(memcmp(frames[0], f, 100), 0);
    ck_assert_uint_eq(rd(0x3810), 2);
    ck_assert_uint_eq(ram8(0x101C) & 1, 1); /* DD */
    ck_assert_int_eq(irq_level, 1);
    ck_assert_uint_eq(rd(0xC0) & 3, 3); /* TXDW, TXQE */
    ck_assert_uint_eq(rd(0x4080), 1);   /* GPTC, cleared by reading */
    ck_assert_uint_eq(rd(0x4080), 0);
    /* Disabled: nothing goes. */
    wr(0x400, 0);
    put_desc(0x1020, 0x2000, 60 | 0x09u << 24, 0);
    wr(0x3818, 3);
    ck_assert_int_eq(nframes, 1);
}
END_TEST

static uint16_t csum(const uint8_t *p, size_t len, uint32_t sum) {
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1) sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)sum;
}

/* An Ethernet + IPv4 + TCP header (54 bytes) with a payload. */
static size_t make_tcp(uint8_t *f, size_t payload) {
    memset(f, 0, 54);
    memcpy(f, "\x52\x55\x0A\x00\x02\x02", 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    f[14] = 0x45;
    f[22] = 64;
    f[23] = 6; /* TCP */
    memcpy(f + 26, "\x0A\x00\x02\x0F\x0A\x00\x02\x02", 8);
    f[34 + 12] = 0x50;        /* data offset 5 */
    f[34 + 13] = 0x18 | 0x01; /* ACK PSH FIN */
    f[38] = 0x01;             /* sequence 0x01000000 */
    for (size_t i = 0; i < payload; i++)
        f[54 + i] = (uint8_t)(i * 13);
    return 54 + payload;
}

static void check_tcp_frame(const uint8_t *f, size_t len) {
    ck_assert_uint_eq(csum(f + 14, 20, 0), 0xFFFF); /* IP header checksum */
    uint32_t pseudo = (uint32_t)(f[26] << 8 | f[27]) + (uint32_t)(f[28] << 8 | f[29]) +
                      (uint32_t)(f[30] << 8 | f[31]) + (uint32_t)(f[32] << 8 | f[33]) + 6 +
                      (uint32_t)(len - 34);
    ck_assert_uint_eq(csum(f + 34, len - 34, pseudo), 0xFFFF);
    ck_assert_uint_eq((size_t)(f[16] << 8 | f[17]), len - 14);
}

START_TEST(tx_tso_and_checksum_offload) {
    static uint8_t f[3000 + 54];
    size_t len = make_tcp(f, 3000);
    /* As a stack does for TSO: the pseudo-header sum without the length
     * in the TCP checksum field (the card adds each segment's length). */
    uint16_t seed = csum(f + 26, 8, 6);
    f[50] = (uint8_t)(seed >> 8);
    f[51] = (uint8_t)seed;
    phys_copy_to(pm, 0x10000, f, len);
    tx_ring(0x1000, 8 * 16);
    /* Context: IP at 14 (checksum at 24), TCP at 34 (checksum at 50),
     * TSE, header 54 bytes, MSS 1000. */
    uint32_t ctx_w2 = 3000u | 0x0u << 20 | (0x01 | 0x02 | 0x04 | 0x20u) << 24;
    put_desc(0x1000, 14 | 24 << 8 | 33u << 16 | (uint64_t)(34 | 50 << 8) << 32, ctx_w2,
             54u << 8 | 1000u << 16);
    /* Data: TSE, EOP, DEXT, POPTS IXSM|TXSM. */
    put_desc(0x1010, 0x10000, (uint32_t)len | 1u << 20 | (0x01 | 0x04 | 0x08 | 0x20u) << 24,
             0x03u << 8);
    wr(0x3818, 2);
    ck_assert_int_eq(nframes, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(frame_len[i], 1054);
        check_tcp_frame(frames[i], frame_len[i]);
        uint32_t seq = (uint32_t)frames[i][38] << 24 | frames[i][39] << 16 | frames[i][40] << 8 |
                       frames[i][41];
        ck_assert_uint_eq(seq, 0x01000000u + 1000u * (unsigned)i);
        ck_assert_int_eq(memcmp(frames[i] + 54, f + 54 + 1000 * i, 1000), 0);
        ck_assert_uint_eq(frames[i][47] & 0x09, i == 2 ? 0x09 : 0); /* PSH, FIN last */
        ck_assert_uint_eq(frames[i][19], i);                        /* IP ID counts up */
    }
    /* Without TSE: one packet, checksums inserted. */
    nframes = 0;
    len = make_tcp(f, 100);
    phys_copy_to(pm, 0x10000, f, len);
    put_desc(0x1020, 14 | 24 << 8 | 33u << 16 | (uint64_t)(34 | 50 << 8) << 32,
             (0x01 | 0x02 | 0x20u) << 24, 0);
    put_desc(0x1030, 0x10000, (uint32_t)len | 1u << 20 | (0x01 | 0x08 | 0x20u) << 24, 0x03u << 8);
    wr(0x3818, 4);
    ck_assert_int_eq(nframes, 1);
    ck_assert_uint_eq(frame_len[0], len);
    /* The stack leaves the pseudo-header sum out here (0): the card's sum
     * then covers the TCP segment alone. */
    ck_assert_uint_eq(csum(frames[0] + 34, len - 34, 0), 0xFFFF);
    ck_assert_uint_eq(csum(frames[0] + 14, 20, 0), 0xFFFF);
}
END_TEST

/* ---- receive ---- */

static void rx_ring(uint32_t base, uint32_t n, uint32_t bufs, uint32_t rctl) {
    for (uint32_t i = 0; i < n; i++)
        put_desc(base + 16 * i, bufs + 2048 * i, 0, 0);
    wr(0x2800, base);
    wr(0x2804, 0);
    wr(0x2808, n * 16);
    wr(0x2810, 0);
    wr(0x2818, n - 1);
    wr(0x100, rctl);
}

#define RCTL_EN_BAM_SECRC (0x2u | 0x8000u | 0x04000000u)

START_TEST(rx_into_ring) {
    uint8_t f[200];
    make_frame(f, sizeof f);
    memcpy(f, mac, 6);
    rx_ring(0x8000, 8, 0x20000, RCTL_EN_BAM_SECRC);
    wr(0xD0, 0x80); /* RXT0 */
    ck_assert(net_port_receive(&port, f, sizeof f));
    uint8_t got[200];
    phys_copy_from(pm, 0x20000, got, sizeof got);
    ck_assert_int_eq(memcmp(got, f, sizeof f), 0);
    ck_assert_uint_eq(phys_read(pm, 0x8008, 2), 200);
    ck_assert_uint_eq(ram8(0x800C) & 3, 3); /* DD, EOP */
    ck_assert_uint_eq(rd(0x2810), 1);
    ck_assert_int_eq(irq_level, 1);
    ck_assert_uint_ne(rd(0xC0) & 0x80, 0);
    /* With the FCS kept, 4 more bytes (and short frames padded to 60). */
    wr(0x100, 0x2 | 0x8000);
    ck_assert(net_port_receive(&port, f, 42));
    ck_assert_uint_eq(phys_read(pm, 0x8018, 2), 64);
    /* A frame for another address is filtered out; promiscuous takes it. */
    f[5] ^= 1;
    ck_assert(!net_port_receive(&port, f, 100));
    ck_assert_uint_eq(rd(0x2810), 2);
    wr(0x100, RCTL_EN_BAM_SECRC | 0x8);
    ck_assert(net_port_receive(&port, f, 100));
    ck_assert_uint_eq(rd(0x2810), 3);
    /* Multicast: through the table (MO 0: bits 47:36). */
    wr(0x100, RCTL_EN_BAM_SECRC);
    memcpy(f, "\x01\x00\x5E\x00\x12\x34", 6);
    ck_assert(!net_port_receive(&port, f, 100));
    unsigned hash = (0x12u >> 4 | 0x34u << 4) & 0xFFF;
    wr(0x5200 + (hash >> 5) * 4, 1u << (hash & 31));
    ck_assert(net_port_receive(&port, f, 100));
    ck_assert_uint_eq(rd(0x2810), 4);
    ck_assert_uint_eq(rd(0x4074), 4); /* GPRC */
    /* Broadcast needs BAM. */
    memset(f, 0xFF, 6);
    wr(0x100, 0x2 | 0x04000000u);
    ck_assert(!net_port_receive(&port, f, 100));
    /* Ring full (RDT reached): dropped, counted, RXO. */
    wr(0x100, RCTL_EN_BAM_SECRC);
    ck_assert(net_port_receive(&port, f, 100));
    ck_assert(net_port_receive(&port, f, 100));
    ck_assert(net_port_receive(&port, f, 100));
    ck_assert_uint_eq(rd(0x2810), 7);
    rd(0xC0);
    ck_assert(!net_port_receive(&port, f, 100));
    ck_assert_uint_eq(rd(0x4010), 1); /* MPC */
    ck_assert_uint_ne(rd(0xC0) & 0x40, 0);
}
END_TEST

/* ---- hostile rings ---- */

START_TEST(hostile_tx) {
    uint8_t f[64];
    make_frame(f, sizeof f);
    phys_copy_to(pm, 0x2000, f, sizeof f);
    /* Descriptor ring outside RAM: nothing is fetched, the head stays. */
    tx_ring(0xFFFFF000u, 8 * 16);
    wr(0x3818, 3);
    ck_assert_int_eq(nframes, 0);
    ck_assert_uint_eq(rd(0x3810), 0);
    /* Ring straddling the end of RAM: the descriptors inside work, the
     * one across the end stops the queue. */
    tx_ring(RAM - 32, 8 * 16);
    put_desc(RAM - 32, 0x2000, 64 | 0x09u << 24, 0);
    put_desc(RAM - 16, 0x2000, 64 | 0x09u << 24, 0);
    wr(0x3818, 5);
    ck_assert_int_eq(nframes, 2);
    ck_assert_uint_eq(rd(0x3810), 2);
    /* Buffers crossing the end of RAM, above 4 GiB, or longer than any
     * packet: the packet is dropped, the descriptors complete. */
    nframes = 0;
    tx_ring(0x1000, 8 * 16);
    put_desc(0x1000, RAM - 10, 64 | 0x09u << 24, 0);
    put_desc(0x1010, 0x100002000ull, 64 | 0x09u << 24, 0);
    put_desc(0x1020, 0x0, 0xFFFFFu | 1u << 20 | (0x01 | 0x08 | 0x20u) << 24, 0);
    put_desc(0x1030, 0x2000, 64 | 0x09u << 24, 0); /* a good one after them */
    wr(0x3818, 4);
    ck_assert_int_eq(nframes, 1);
    ck_assert_int_eq(memcmp(frames[0], f, 64), 0);
    ck_assert_uint_eq(rd(0x3810), 4);
    /* A head outside the ring: no progress; a tail outside the ring: at
     * most one ring's worth of descriptors per write (no endless loop). */
    nframes = 0;
    wr(0x3810, 100);
    wr(0x3818, 2);
    ck_assert_int_eq(nframes, 0);
    for (int i = 0; i < 8; i++)
        put_desc(0x1000 + 16 * (uint32_t)i, 0x2000, 64 | 0x09u << 24, 0);
    wr(0x3810, 0);
    wr(0x3818, 50);
    ck_assert_int_eq(nframes, 8);
    ck_assert_uint_eq(rd(0x3810), 0);
    /* TDLEN 0: nothing. Huge TDLEN with the ring near the end of RAM: the
     * walk stops at the first descriptor outside RAM. */
    nframes = 0;
    tx_ring(0x1000, 0);
    wr(0x3818, 1);
    ck_assert_int_eq(nframes, 0);
    tx_ring(RAM - 16, 0xFFFFFFFFu);
    ck_assert_uint_eq(rd(0x3808), 0xFFF80);
    put_desc(RAM - 16, 0x2000, 64 | 0x09u << 24, 0);
    wr(0x3818, 0xFFFF);
    ck_assert_int_eq(nframes, 1);
    ck_assert_uint_eq(rd(0x3810), 1);
    /* A packet whose second buffer is outside RAM is dropped whole (not
     * sent short). */
    nframes = 0;
    tx_ring(0x1000, 8 * 16);
    put_desc(0x1000, 0x2000, 64, 0);
    put_desc(0x1010, RAM + 0x1000, 64 | 0x09u << 24, 0);
    wr(0x3818, 2);
    ck_assert_int_eq(nframes, 0);
    ck_assert_uint_eq(rd(0x3810), 2);
}
END_TEST

START_TEST(hostile_rx) {
    uint8_t f[1000];
    make_frame(f, sizeof f);
    /* RDLEN 0. */
    rx_ring(0x8000, 8, 0x20000, RCTL_EN_BAM_SECRC);
    wr(0x2808, 0);
    ck_assert(!net_port_receive(&port, f, sizeof f));
    ck_assert_uint_eq(rd(0x4010), 1);
    /* Head or tail beyond the ring. */
    wr(0x2808, 8 * 16); /* RDLEN counts in 128-byte units */
    wr(0x2810, 9);
    ck_assert(!net_port_receive(&port, f, sizeof f));
    wr(0x2810, 0);
    wr(0x2818, 9);
    ck_assert(!net_port_receive(&port, f, sizeof f));
    /* Descriptor ring outside RAM, with a huge RDLEN. */
    wr(0x2800, 0xFFFF0000u);
    wr(0x2808, 0xFFFFFFFFu);
    wr(0x2818, 0xFFF0);
    ck_assert(!net_port_receive(&port, f, sizeof f));
    /* Descriptor base above 4 GiB. */
    wr(0x2800, 0x8000);
    wr(0x2804, 1);
    ck_assert(!net_port_receive(&port, f, sizeof f));
    /* Buffers across the end of RAM and above 4 GiB: nothing written
     * there, the descriptors still complete (the frame is lost). */
    wr(0x2804, 0);
    wr(0x2808, 8 * 16);
    wr(0x2810, 0);
    wr(0x2818, 3);
    put_desc(0x8000, RAM - 100, 0, 0);
    put_desc(0x8010, 0x100000000ull, 0, 0);
    ck_assert(net_port_receive(&port, f, sizeof f));
    ck_assert(net_port_receive(&port, f, sizeof f));
    ck_assert_uint_eq(ram8(RAM - 100), 0);
    ck_assert_uint_eq(ram8(0x800C) & 1, 1);
    ck_assert_uint_eq(rd(0x2810), 2);
    /* A frame longer than a 256-byte buffer takes several descriptors; with
     * too few left it is dropped whole. */
    for (uint32_t i = 0; i < 4; i++)
        put_desc(0x8000 + 16 * i, 0x20000 + 256 * i, 0, 0);
    wr(0x2810, 0);
    wr(0x2818, 3);
    wr(0x100, RCTL_EN_BAM_SECRC | 0x30000);           /* BSIZE 256 */
    ck_assert(!net_port_receive(&port, f, sizeof f)); /* 4 needed, 3 free */
    ck_assert(net_port_receive(&port, f, 600));
    ck_assert_uint_eq(rd(0x2810), 3);
    ck_assert_uint_eq(ram8(0x800C), 0x05); /* DD, no EOP */
    ck_assert_uint_eq(ram8(0x802C), 0x07); /* DD, EOP on the last */
    ck_assert_uint_eq(phys_read(pm, 0x8028, 2), 600 - 512);
    uint8_t got[600];
    phys_copy_from(pm, 0x20000, got, 600);
    ck_assert_int_eq(memcmp(got, f, 600), 0);
    /* Frames too short or too long for the wire. */
    ck_assert(!net_port_receive(&port, f, 10));
    ck_assert(!net_port_receive(&port, f, NET_MAX_FRAME + 1));
}
END_TEST

START_TEST(reset_and_io_window) {
    wr(0xD0, 0xFF);
    wr(0x3818, 5);
    wr(0x0, 0x04000000); /* CTRL.RST */
    ck_assert_uint_eq(rd(0xD0), 0);
    ck_assert_uint_eq(rd(0x3818), 0);
    ck_assert_uint_eq(rd(0x5404), 0x80005634); /* address reloaded from the EEPROM */
    /* Narrow accesses. */
    ck_assert_uint_eq(e1000_mmio_read(nic, 0x5404, 2), 0x5634);
    ck_assert_uint_eq(e1000_mmio_read(nic, 0x5406, 2), 0x8000);
    e1000_mmio_write(nic, 0x5401, 1, 0xAB);
    ck_assert_uint_eq(rd(0x5400), 0x1200AB52);
    /* Offsets past the window read 0, writes vanish. */
    ck_assert_uint_eq(e1000_mmio_read(nic, 0x20000, 4), 0);
    e1000_mmio_write(nic, 0x7FFFFFFC, 4, 1);
}
END_TEST

/* ---- snapshots ---- */

static SnapWriter *save_card(const E1000 *d) {
    SnapWriter *w = snap_writer_new();
    e1000_save(d, w);
    return w;
}

START_TEST(snapshot_round_trip) {
    uint8_t f[100];
    make_frame(f, sizeof f);
    phys_copy_to(pm, 0x2000, f, 100);
    tx_ring(0x1000, 8 * 16);
    wr(0xD0, 0x85);
    wr(0x100, RCTL_EN_BAM_SECRC);
    /* Half a packet gathered, and an EEPROM read half shifted in. */
    put_desc(0x1000, 0x2000, 60, 0);
    wr(0x3818, 1);
    ck_assert_int_eq(nframes, 0);
    wr(0x10, 0x42);
    wr(0x10, 0x46);
    wr(0x10, 0x47);
    SnapWriter *w = save_card(nic);
    NetPort port_b = {.transmit = fake_transmit};
    E1000 *b = e1000_new(pm, NULL, (const uint8_t[6]){2, 0, 0, 0, 0, 1},
                         (IrqLine){irq_set_fn, NULL, 0}, &port_b);
    SnapWriter *fresh = save_card(b);
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "e1000", 1, false);
    ck_assert_msg(e1000_load(b, &r), "%s", snap_error(&r));
    SnapWriter *unchanged = save_card(b);
    ck_assert(unchanged->len == fresh->len && memcmp(unchanged->buf, fresh->buf, fresh->len) == 0);
    snap_reader_init(&r, w->buf, w->len, "e1000", 1, true);
    ck_assert_msg(e1000_load(b, &r), "%s", snap_error(&r));
    SnapWriter *wb = save_card(b);
    ck_assert(wb->len == w->len && memcmp(wb->buf, w->buf, w->len) == 0);
    /* b goes on where a was: the rest of the packet completes it. */
    put_desc(0x1010, 0x2000 + 60, 40 | 0x09u << 24, 0);
    e1000_mmio_write(b, 0x3818, 4, 2);
    ck_assert_int_eq(nframes, 1);
    ck_assert_uint_eq(frame_len[0], 100);
    ck_assert_int_eq(memcmp(frames[0], f, 100), 0);
    ck_assert_uint_eq(e1000_mmio_read(b, 0xD0, 4), 0x85);
    ck_assert_uint_eq(e1000_eeprom_word(b, 0), 0x5452); /* the EEPROM came along */
    /* Every prefix is refused; so is a bad IOADDR. */
    for (size_t n = 0; n < w->len; n += 7) {
        snap_reader_init(&r, w->buf, n, "e1000", 1, false);
        ck_assert_msg(!e1000_load(b, &r), "a %zu-byte prefix was accepted", n);
    }
    snap_writer_free(w);
    e1000_free(b);
    snap_writer_free(fresh);
    snap_writer_free(unchanged);
    snap_writer_free(wb);
}
END_TEST

int main(void) {
    Suite *s = suite_create("e1000");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, eeprom_eerd_mac_and_checksum);
    tcase_add_test(tc, eeprom_bit_banged);
    tcase_add_test(tc, phy_through_mdic);
    tcase_add_test(tc, icr_semantics);
    tcase_add_test(tc, tx_legacy_packet);
    tcase_add_test(tc, tx_tso_and_checksum_offload);
    tcase_add_test(tc, rx_into_ring);
    tcase_add_test(tc, hostile_tx);
    tcase_add_test(tc, hostile_rx);
    tcase_add_test(tc, reset_and_io_window);
    tcase_add_test(tc, snapshot_round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
