/*
 * acpi.c - PIIX4-style ACPI power management (see acpi.h).
 *
 * The PM I/O block is kept as 64 bytes indexed by offset; every access goes
 * byte by byte, so byte, word and dword accesses at any offset behave alike.
 * PM1_STS and TMR_STS are brought up to date at each access (TMR_STS is
 * worked out from the virtual time), and a timer is armed for the next
 * change of the counter's bit 23 only while a timer SCI could be raised.
 */
#include "devices/acpi.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "snap/snap.h"

/* Offsets in the PM I/O block. */
enum {
    PM1_STS = 0x00,
    PM1_EN = 0x02,
    PM1_CNT = 0x04,
    PM_TMR = 0x08,
    GPSTS = 0x0C,
    P_LVL2 = 0x14,
    P_LVL3 = 0x15,
    GLBSTS = 0x18,
    DEVSTS = 0x1C,
    GPIREG = 0x30,
};

#define PM1_EN_MASK  0x0521u /* TMR_EN, GBL_EN, PWRBTN_EN, RTC_EN */
#define PM1_CNT_MASK 0x1C07u /* SCI_EN, BM_RLD, GBL_RLS, SLP_TYP (SLP_EN reads 0) */
#define SLP_TYP(cnt) (((cnt) >> 10) & 7)

/* PCI configuration registers. */
enum {
    CFG_PMBASE = 0x40,
    CFG_DEVACTB = 0x58,
    CFG_DEVRESD = 0x67,
    CFG_PMREGMISC = 0x80,
    CFG_SMBBASE = 0x90,
    CFG_SMBHSTCFG = 0xD2,
};

struct AcpiPm {
    PciFunction *fn;
    IoBus *io;
    VClock *clk;
    IrqLine sci;
    AcpiPowerOffFn poweroff;
    void *opaque;
    uint8_t regs[ACPI_PM_IO_SIZE];
    uint16_t gpe_sts, gpe_en;
    uint8_t apm_cnt, apm_sts;
    uint64_t last_tick; /* counter value (64-bit, unwrapped) at the last look */
    bool mapped;
    uint16_t mapped_base;
    Timer tmr_timer;
};

static uint16_t get16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}
static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* PM timer ticks since power-on, from virtual nanoseconds (no overflow). */
static uint64_t ticks_at(uint64_t ns) {
    return ns / 1000000000u * ACPI_PM_TIMER_HZ + ns % 1000000000u * ACPI_PM_TIMER_HZ / 1000000000u;
}

/* The first virtual nanosecond at which the counter has reached `tick`. */
static uint64_t ns_of_tick(uint64_t tick) {
    uint64_t whole = tick / ACPI_PM_TIMER_HZ, part = tick % ACPI_PM_TIMER_HZ;
    return whole * 1000000000u + (part * 1000000000u + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
}

static void update_timer_status(AcpiPm *pm) {
    uint64_t now = ticks_at(vclock_now(pm->clk));
    if ((now >> 23) != (pm->last_tick >> 23))
        put16(pm->regs + PM1_STS, get16(pm->regs + PM1_STS) | ACPI_PM1_TMR_STS);
    pm->last_tick = now;
}

static void update_sci(AcpiPm *pm) {
    uint16_t cnt = get16(pm->regs + PM1_CNT);
    bool pm1 = get16(pm->regs + PM1_STS) & get16(pm->regs + PM1_EN) & PM1_EN_MASK;
    bool gpe = pm->gpe_sts & pm->gpe_en;
    irq_set(&pm->sci, (cnt & ACPI_PM1_CNT_SCI_EN) && (pm1 || gpe));
    /* A timer SCI needs a wake-up at the next change of bit 23. */
    if ((cnt & ACPI_PM1_CNT_SCI_EN) && (get16(pm->regs + PM1_EN) & ACPI_PM1_TMR_STS)) {
        uint64_t next = ((pm->last_tick >> 23) + 1) << 23;
        timer_mod(&pm->tmr_timer, ns_of_tick(next));
    } else {
        timer_del(&pm->tmr_timer);
    }
}

static void tmr_expired(void *opaque) {
    AcpiPm *pm = opaque;
    update_timer_status(pm);
    update_sci(pm);
}

static uint8_t read_byte(AcpiPm *pm, unsigned off) {
    if (off >= PM_TMR && off < PM_TMR + 4) {
        uint32_t t = (uint32_t)(pm->last_tick & 0xFFFFFF);
        return (uint8_t)(t >> (8 * (off - PM_TMR)));
    }
    if (off == P_LVL2 || off == P_LVL3) return 0; /* no C2/C3: reading them does nothing */
    return pm->regs[off];
}

static bool write_one_to_clear(unsigned off) {
    return off < PM1_STS + 2 || (off >= GPSTS && off < GPSTS + 2) ||
           (off >= GLBSTS && off < DEVSTS + 4);
}

static void write_byte(AcpiPm *pm, unsigned off, uint8_t b) {
    if (write_one_to_clear(off)) {
        pm->regs[off] &= (uint8_t)~b;
    } else if (off == PM1_EN || off == PM1_EN + 1) {
        pm->regs[off] = b & (uint8_t)(PM1_EN_MASK >> (8 * (off - PM1_EN)));
    } else if (off == PM1_CNT || off == PM1_CNT + 1) {
        pm->regs[off] = b;
    } else if ((off >= PM_TMR && off < PM_TMR + 4) || (off >= GPIREG && off < GPIREG + 4)) {
        /* read-only */
    } else {
        pm->regs[off] = b;
    }
}

/* After a write to PM1_CNT: SLP_EN starts the sleep the type asks for. */
static void pm1_cnt_written(AcpiPm *pm) {
    uint16_t cnt = get16(pm->regs + PM1_CNT);
    bool sleep = cnt & ACPI_PM1_CNT_SLP_EN;
    put16(pm->regs + PM1_CNT, cnt & PM1_CNT_MASK);
    if (!sleep) return;
    unsigned typ = SLP_TYP(cnt);
    if (typ == 0 || typ == 2) {
        /* S5 (soft off) or S4 (nothing is saved: the same as off). */
        if (pm->poweroff) pm->poweroff(pm->opaque);
    } else {
        /* Other sleep states are not offered (etc/system-states): wake at once. */
        put16(pm->regs + PM1_STS, get16(pm->regs + PM1_STS) | ACPI_PM1_WAK_STS);
    }
}

static uint32_t pm_io_read(void *opaque, uint16_t port, unsigned size) {
    AcpiPm *pm = opaque;
    update_timer_status(pm);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = (unsigned)(port - pm->mapped_base) + i;
        uint8_t b = off < ACPI_PM_IO_SIZE ? read_byte(pm, off) : 0xFF;
        v |= (uint32_t)b << (8 * i);
    }
    update_sci(pm);
    return v;
}

static void pm_io_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    AcpiPm *pm = opaque;
    update_timer_status(pm);
    bool cnt = false;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = (unsigned)(port - pm->mapped_base) + i;
        if (off >= ACPI_PM_IO_SIZE) break;
        write_byte(pm, off, (uint8_t)(val >> (8 * i)));
        if (off == PM1_CNT || off == PM1_CNT + 1) cnt = true;
    }
    if (cnt) pm1_cnt_written(pm);
    update_sci(pm);
}

/* GPE0 block: status (write 1 to clear) then enable, 16 bits each. */
static uint32_t gpe_read(void *opaque, uint16_t port, unsigned size) {
    AcpiPm *pm = opaque;
    uint8_t r[4] = {(uint8_t)pm->gpe_sts, (uint8_t)(pm->gpe_sts >> 8), (uint8_t)pm->gpe_en,
                    (uint8_t)(pm->gpe_en >> 8)};
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = (unsigned)(port - ACPI_GPE0_BASE) + i;
        v |= (uint32_t)(off < 4 ? r[off] : 0xFF) << (8 * i);
    }
    return v;
}

static void gpe_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    AcpiPm *pm = opaque;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = (unsigned)(port - ACPI_GPE0_BASE) + i;
        uint16_t b = (uint8_t)(val >> (8 * i));
        if (off < 2)
            pm->gpe_sts &= (uint16_t) ~(b << (8 * off));
        else if (off < 4)
            pm->gpe_en =
                (uint16_t)((pm->gpe_en & ~(0xFF << (8 * (off - 2)))) | b << (8 * (off - 2)));
    }
    update_sci(pm);
}

static uint32_t apm_read(void *opaque, uint16_t port, unsigned size) {
    AcpiPm *pm = opaque;
    uint32_t v = port == ACPI_APM_CNT ? pm->apm_cnt : pm->apm_sts;
    if (size > 1 && port == ACPI_APM_CNT) v |= (uint32_t)pm->apm_sts << 8;
    return v;
}

static void apm_write(void *opaque, uint16_t port, unsigned size, uint32_t val) {
    AcpiPm *pm = opaque;
    if (port == ACPI_APM_STS) {
        pm->apm_sts = (uint8_t)val;
        return;
    }
    pm->apm_cnt = (uint8_t)val;
    if (size > 1) pm->apm_sts = (uint8_t)(val >> 8);
    /* On a PIIX4 this write raises an SMI whose handler switches ACPI mode;
     * bt86 has no SMM, so the switch happens here. */
    uint16_t cnt = get16(pm->regs + PM1_CNT);
    if (pm->apm_cnt == ACPI_ENABLE_CMD) put16(pm->regs + PM1_CNT, cnt | ACPI_PM1_CNT_SCI_EN);
    if (pm->apm_cnt == ACPI_DISABLE_CMD) put16(pm->regs + PM1_CNT, cnt & ~ACPI_PM1_CNT_SCI_EN);
    update_timer_status(pm);
    update_sci(pm);
}

/* Map the PM block where PMBASE and PMREGMISC say, or unmap it. */
static void remap(AcpiPm *pm) {
    const uint8_t *c = pm->fn->cfg;
    uint16_t base = (uint16_t)(get16(c + CFG_PMBASE) & 0xFFC0);
    bool on = (c[CFG_PMREGMISC] & 1) && base != 0;
    if (pm->mapped && (!on || base != pm->mapped_base)) {
        iobus_unregister(pm->io, pm->mapped_base, ACPI_PM_IO_SIZE, pm);
        pm->mapped = false;
    }
    if (on && !pm->mapped) {
        /* A base clashing with another device stays unmapped. */
        if (iobus_register(pm->io, base, ACPI_PM_IO_SIZE, pm_io_read, pm_io_write, pm) == 0) {
            pm->mapped = true;
            pm->mapped_base = base;
        }
    }
}

static void config_written(PciFunction *f, unsigned offset, unsigned size) {
    AcpiPm *pm = f->opaque;
    bool pmbase = offset < CFG_PMBASE + 4 && offset + size > CFG_PMBASE;
    bool misc = offset <= CFG_PMREGMISC && offset + size > CFG_PMREGMISC;
    if (pmbase || misc) remap(pm);
}

AcpiPm *acpi_pm_new(PciBus *pci, IoBus *io, VClock *clk, IrqLine sci, AcpiPowerOffFn poweroff,
                    void *opaque) {
    AcpiPm *pm = calloc(1, sizeof *pm);
    if (!pm) return NULL;
    PciFunction *f = pci_add_function(pci, PCI_DEVFN(1, 3), 0x8086, 0x7113, 0x0680);
    if (!f) {
        free(pm);
        return NULL;
    }
    pm->fn = f;
    pm->io = io;
    pm->clk = clk;
    pm->sci = sci;
    pm->poweroff = poweroff;
    pm->opaque = opaque;
    timer_init(&pm->tmr_timer, clk, tmr_expired, pm);
    f->cfg[0x08] = 0x03;       /* revision 3: a PM timer without the early-PIIX4 read bug */
    f->cfg[0x3D] = 0x01;       /* interrupt pin A */
    f->cfg[CFG_PMBASE] = 0x01; /* I/O space indicator */
    f->wmask[CFG_PMBASE] = 0xC0;
    f->wmask[CFG_PMBASE + 1] = 0xFF;
    for (unsigned r = CFG_DEVACTB; r <= CFG_DEVRESD; r++)
        f->wmask[r] = 0xFF;
    f->cfg[CFG_DEVACTB + 3] = 0x02; /* APMC_EN: no SMM to set up */
    f->cfg[CFG_DEVRESD] = 0x88;     /* COM1 and COM2 decode enabled */
    f->wmask[CFG_PMREGMISC] = 0x01;
    f->cfg[CFG_SMBBASE] = 0x01;
    f->wmask[CFG_SMBBASE] = 0xF0;
    f->wmask[CFG_SMBBASE + 1] = 0xFF;
    f->wmask[CFG_SMBHSTCFG] = 0x0F;
    f->write_hook = config_written;
    f->opaque = pm;
    return pm;
}

void acpi_pm_reset(AcpiPm *pm) {
    memset(pm->regs, 0, sizeof pm->regs);
    pm->gpe_sts = pm->gpe_en = 0;
    pm->apm_cnt = pm->apm_sts = 0;
    pm->last_tick = ticks_at(vclock_now(pm->clk));
    update_sci(pm); /* SCI low, timer wake-up off */
}

void acpi_pm_free(AcpiPm *pm) {
    if (!pm) return;
    timer_del(&pm->tmr_timer);
    free(pm);
}

int acpi_pm_register(AcpiPm *pm) {
    if (iobus_register(pm->io, ACPI_GPE0_BASE, 4, gpe_read, gpe_write, pm) < 0) return -1;
    return iobus_register(pm->io, ACPI_APM_CNT, 2, apm_read, apm_write, pm);
}

void acpi_pm_power_button(AcpiPm *pm) {
    update_timer_status(pm);
    put16(pm->regs + PM1_STS, get16(pm->regs + PM1_STS) | ACPI_PM1_PWRBTN_STS);
    update_sci(pm);
}

/* ---------------- snapshots ---------------- */

void acpi_pm_save(const AcpiPm *pm, SnapWriter *w) {
    snap_put_bytes(w, pm->regs, sizeof pm->regs);
    snap_put_u16(w, pm->gpe_sts);
    snap_put_u16(w, pm->gpe_en);
    snap_put_u8(w, pm->apm_cnt);
    snap_put_u8(w, pm->apm_sts);
    snap_put_u64(w, pm->last_tick);
    timer_save(&pm->tmr_timer, w);
}

bool acpi_pm_load(AcpiPm *pm, SnapReader *r) {
    if (!snap_version(r, 1)) return false;
    uint8_t regs[ACPI_PM_IO_SIZE];
    snap_get_bytes(r, regs, sizeof regs);
    uint16_t gpe_sts = snap_get_u16(r), gpe_en = snap_get_u16(r);
    uint8_t apm_cnt = snap_get_u8(r), apm_sts = snap_get_u8(r);
    uint64_t last_tick = snap_get_u64(r);
    TimerSnap tmr;
    timer_load(r, &tmr);
    if (!snap_finish(r)) return false;
    if (!r->apply) return true;
    memcpy(pm->regs, regs, sizeof regs);
    pm->gpe_sts = gpe_sts;
    pm->gpe_en = gpe_en;
    pm->apm_cnt = apm_cnt;
    pm->apm_sts = apm_sts;
    pm->last_tick = last_tick;
    timer_restore(&pm->tmr_timer, &tmr);
    return true;
}
