/*
 * test_snapshot.c - snapshots (snap/snap.h, pc_savevm/pc_loadvm):
 *  - the serializer: integers, compressed blobs, sections, and a reader
 *    that refuses short, over-long and malformed data;
 *  - each device's section without a CPU: a device driven into a
 *    non-default state, saved, loaded into a fresh one, saves the same
 *    bytes again and answers its ports alike; a check-only load changes
 *    nothing; a bad value is refused;
 *  - the whole machine (SeaBIOS's POST on the CPU): save, run on, load,
 *    run on again: the same machine state, also in a fresh machine;
 *  - the file: every prefix of a snapshot, a flipped byte, another magic,
 *    format version, section version or RAM size, and hostile sections
 *    with a valid checksum are refused with a clear message and leave the
 *    machine untouched.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "devices/acpi.h"
#include "devices/clock.h"
#include "devices/bus.h"
#include "devices/cmos.h"
#include "devices/disk.h"
#include "devices/fwcfg.h"
#include "devices/i8042.h"
#include "devices/ide.h"
#include "devices/pc.h"
#include "devices/pci.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/uart.h"
#include "devices/vga.h"
#include "snap/snap.h"

#define BIOS "/usr/share/seabios/bios.bin"

/* ---------------- helpers ---------------- */

typedef void (*SaveFn)(const void *dev, SnapWriter *w);
typedef bool (*LoadFn)(void *dev, SnapReader *r);

/* The bytes one device's save function writes. */
static SnapWriter *save_dev(SaveFn save, const void *dev) {
    SnapWriter *w = snap_writer_new();
    save(dev, w);
    ck_assert(!w->oom);
    return w;
}

static bool same_bytes(const SnapWriter *a, const SnapWriter *b) {
    return a->len == b->len && memcmp(a->buf, b->buf, a->len) == 0;
}

/* The section version the device under test writes (IDE: 2). */
static uint32_t test_version = 1;

/* Load a's bytes into b: a check-only pass (b must not change), then the
 * applying pass; then b must save exactly a's bytes. */
static void roundtrip(SaveFn save, LoadFn load, const void *a, void *b) {
    SnapWriter *wa = save_dev(save, a), *before = save_dev(save, b);
    ck_assert_msg(!same_bytes(wa, before), "the test device is still in its power-on state");
    SnapReader r;
    snap_reader_init(&r, wa->buf, wa->len, "test", test_version, false);
    ck_assert_msg(load(b, &r), "check pass: %s", snap_error(&r));
    SnapWriter *after_check = save_dev(save, b);
    ck_assert_msg(same_bytes(after_check, before), "a check-only load changed the device");
    snap_reader_init(&r, wa->buf, wa->len, "test", test_version, true);
    ck_assert_msg(load(b, &r), "apply pass: %s", snap_error(&r));
    SnapWriter *wb = save_dev(save, b);
    ck_assert_msg(same_bytes(wa, wb), "the loaded device saves other bytes");
    snap_writer_free(wa);
    snap_writer_free(before);
    snap_writer_free(after_check);
    snap_writer_free(wb);
}

/* Every strict prefix of a device's section is refused, and so is one
 * extra byte. */
static void refuses_short_and_long(SaveFn save, LoadFn load, const void *a, void *b) {
    SnapWriter *w = save_dev(save, a);
    for (size_t n = 0; n < w->len; n++) {
        SnapReader r;
        snap_reader_init(&r, w->buf, n, "test", test_version, false);
        ck_assert_msg(!load(b, &r), "a %zu-byte prefix of %zu was accepted", n, w->len);
        ck_assert(strlen(snap_error(&r)) > 0);
    }
    snap_put_u8(w, 0);
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "test", test_version, false);
    ck_assert(!load(b, &r));
    ck_assert(strstr(snap_error(&r), "left over"));
    snap_reader_init(&r, w->buf, w->len - 1, "test", test_version + 1, false);
    ck_assert(!load(b, &r));
    char version[32];
    snprintf(version, sizeof version, "version %u", test_version + 1);
    ck_assert(strstr(snap_error(&r), version));
    snap_writer_free(w);
}

/* ---------------- the serializer ---------------- */

START_TEST(serializer_round_trip) {
    SnapWriter *w = snap_writer_new();
    snap_begin(w, "abc", 3);
    snap_put_u8(w, 0x12);
    snap_put_u16(w, 0x3456);
    snap_put_u32(w, 0x789ABCDEu);
    snap_put_u64(w, 0x0123456789ABCDEFull);
    snap_put_bool(w, true);
    static uint8_t big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i % 251 < 7 ? i : 0);
    snap_put_zblob(w, big, sizeof big);
    snap_end(w);
    ck_assert(!w->oom);
    ck_assert_uint_lt(w->len, 20000); /* compressed */
    ck_assert_mem_eq(w->buf, "abc\0\0\0\0\0", 8);
    SnapReader r;
    snap_reader_init(&r, w->buf + SNAP_SECTION_HEAD, w->len - SNAP_SECTION_HEAD, "abc", 3, true);
    ck_assert_uint_eq(snap_get_u8(&r), 0x12);
    ck_assert_uint_eq(snap_get_u16(&r), 0x3456);
    ck_assert_uint_eq(snap_get_u32(&r), 0x789ABCDEu);
    ck_assert(snap_get_u64(&r) == 0x0123456789ABCDEFull);
    ck_assert(snap_get_bool(&r));
    static uint8_t back[100000];
    ck_assert(snap_get_zblob(&r, back, sizeof back));
    ck_assert_mem_eq(back, big, sizeof big);
    ck_assert(snap_finish(&r));
    snap_writer_free(w);
}
END_TEST

START_TEST(reader_refuses_bad_data) {
    uint8_t two[2] = {1, 2};
    SnapReader r;
    snap_reader_init(&r, two, 2, "x", 1, false);
    snap_get_u32(&r);
    ck_assert(!snap_ok(&r));
    ck_assert(strstr(snap_error(&r), "section 'x': truncated"));
    ck_assert_uint_eq(snap_get_u8(&r), 0); /* sticky */
    uint8_t flag = 2;
    snap_reader_init(&r, &flag, 1, "x", 1, false);
    snap_get_bool(&r);
    ck_assert(!snap_ok(&r));
    /* A blob whose raw length is not the one expected, or whose bytes are
     * not zlib, or that claims more than deflate can give. */
    SnapWriter *w = snap_writer_new();
    uint8_t data[64] = {1, 2, 3};
    snap_put_zblob(w, data, sizeof data);
    uint8_t out[65];
    snap_reader_init(&r, w->buf, w->len, "x", 1, false);
    ck_assert(!snap_get_zblob(&r, out, 65));
    w->buf[20] ^= 0xFF;
    snap_reader_init(&r, w->buf, w->len, "x", 1, false);
    ck_assert(!snap_get_zblob(&r, out, 64));
    ck_assert(strstr(snap_error(&r), "corrupt"));
    uint8_t huge[16] = {0, 0, 0, 0, 0, 0, 0, 0x10, 4, 0, 0, 0, 0, 0, 0, 0};
    snap_reader_init(&r, huge, sizeof huge, "x", 1, false);
    size_t len;
    ck_assert(snap_get_zblob_alloc(&r, SIZE_MAX, &len) == NULL);
    snap_writer_free(w);
}
END_TEST

/* ---------------- devices without a CPU ---------------- */

static void save_pic(const void *d, SnapWriter *w) {
    pic_save(d, w);
}
static bool load_pic(void *d, SnapReader *r) {
    return pic_load(d, r);
}

/* The CPU section keeps XMM0-7 and MXCSR (version 2), refuses reserved
 * MXCSR bits, and a version 1 section (no SSE state) loads with them reset. */
START_TEST(cpu_keeps_sse_state) {
    PhysMem *pm = physmem_new(1 << 20);
    CPU *a = cpu_new(pm, NULL), *b = cpu_new(pm, NULL);
    cpu_reset(a);
    cpu_reset(b);
    for (unsigned i = 0; i < 8; i++) {
        a->xmm[i].q[0] = 0x0123456789ABCDEFull * (i + 1);
        a->xmm[i].q[1] = ~a->xmm[i].q[0] ^ i;
    }
    a->mxcsr = 0x9FC5;
    SnapWriter *w = snap_writer_new();
    cpu_save(a, w);
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "cpu", CPU_SNAP_VERSION, true);
    ck_assert_msg(cpu_load(b, &r), "%s", snap_error(&r));
    ck_assert(memcmp(a->xmm, b->xmm, sizeof a->xmm) == 0);
    ck_assert_uint_eq(b->mxcsr, 0x9FC5);
    /* Version 1: the same bytes without what version 2 added at the end:
     * the SSE state, then the model's name, EFER, MISC_ENABLE, PAT, the
     * MTRRs and the PDPTEs. */
    size_t v2_extra =
        8 * 16 + 4 + 1 + strlen(a->model->name) + 8 * (4 + 11 + 2 * MTRR_VAR_COUNT + 4);
    snap_reader_init(&r, w->buf, w->len - v2_extra, "cpu", 1, true);
    ck_assert_msg(cpu_load(b, &r), "%s", snap_error(&r));
    ck_assert_uint_eq(b->mxcsr, MXCSR_RESET);
    ck_assert_uint_eq(b->xmm[5].q[1], 0);
    snap_writer_free(w);
    a->mxcsr = 0x10000;
    w = snap_writer_new();
    cpu_save(a, w);
    snap_reader_init(&r, w->buf, w->len, "cpu", CPU_SNAP_VERSION, false);
    ck_assert(!cpu_load(b, &r));
    snap_writer_free(w);
    cpu_free(a);
    cpu_free(b);
    physmem_free(pm);
}
END_TEST

START_TEST(pic_round_trip) {
    Pic *a = pic_new(), *b = pic_new();
    uint8_t init[] = {0x11, 0x20, 0x04, 0x01};
    for (int i = 0; i < 4; i++)
        pic_port_write(a, i ? 0x21 : 0x20, 1, init[i]);
    pic_port_write(a, 0x21, 1, 0xB8); /* mask */
    pic_port_write(a, 0x4D0, 1, 0x20);
    pic_set_irq(a, 1, 1);
    pic_set_irq(a, 0, 1);
    ck_assert_int_eq(pic_intr_ack(a), 0x20); /* IRQ 0 in service, IRQ 1 waits */
    roundtrip(save_pic, load_pic, a, b);
    ck_assert(pic_intr_pending(b) == pic_intr_pending(a));
    pic_port_write(a, 0x20, 1, 0x20);
    pic_port_write(b, 0x20, 1, 0x20);
    ck_assert_int_eq(pic_intr_ack(b), pic_intr_ack(a));
    refuses_short_and_long(save_pic, load_pic, a, b);
    /* A priority out of range is refused. */
    SnapWriter *w = save_dev(save_pic, a);
    w->buf[6] = 9; /* chip 0's lowest-priority IR */
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "pic", 1, true);
    ck_assert(!pic_load(b, &r));
    ck_assert(strstr(snap_error(&r), "priority"));
    snap_writer_free(w);
    pic_free(a);
    pic_free(b);
}
END_TEST

static void save_pit(const void *d, SnapWriter *w) {
    pit_save(d, w);
}
static bool load_pit(void *d, SnapReader *r) {
    return pit_load(d, r);
}

START_TEST(pit_round_trip_with_timer) {
    VClock ca, cb;
    vclock_init(&ca);
    vclock_init(&cb);
    Pit *a = pit_new(&ca, (IrqLine){0}), *b = pit_new(&cb, (IrqLine){0});
    vclock_advance(&ca, 12345);
    pit_port_write(a, 0x43, 1, 0x34); /* channel 0, mode 2 */
    pit_port_write(a, 0x40, 1, 0x9C);
    pit_port_write(a, 0x40, 1, 0x2E);
    pit_port_write(a, 0x43, 1, 0xB6); /* channel 2, mode 3 */
    pit_port_write(a, 0x42, 1, 0x10);
    pit_port_write(a, 0x61, 1, 0x01);
    vclock_advance(&ca, 2000000);
    /* The clock's section first (it empties the queue), then the PIT's. */
    SnapWriter *wc = snap_writer_new();
    vclock_save(&ca, wc);
    SnapReader r;
    snap_reader_init(&r, wc->buf, wc->len, "clock", 1, true);
    ck_assert(vclock_load(&cb, &r));
    roundtrip(save_pit, load_pit, a, b);
    ck_assert(vclock_next_deadline(&cb) == vclock_next_deadline(&ca));
    for (int i = 0; i < 3; i++) {
        vclock_advance(&ca, vclock_now(&ca) + 777777);
        vclock_advance(&cb, vclock_now(&cb) + 777777);
        ck_assert_uint_eq(pit_port_read(b, 0x40, 1), pit_port_read(a, 0x40, 1));
        ck_assert_uint_eq(pit_port_read(b, 0x61, 1), pit_port_read(a, 0x61, 1));
    }
    refuses_short_and_long(save_pit, load_pit, a, b);
    snap_writer_free(wc);
    pit_free(a);
    pit_free(b);
}
END_TEST

static void tick(void *opaque) {
    ++*(int *)opaque;
}

START_TEST(timers_keep_their_order) {
    /* Three timers due at the same moment fire in the order they were
     * armed, also after a load that restores them in another order. */
    VClock ca, cb;
    vclock_init(&ca);
    vclock_init(&cb);
    int n = 0;
    Timer ta[3], tb[3];
    for (int i = 0; i < 3; i++) {
        timer_init(&ta[i], &ca, tick, &n);
        timer_init(&tb[i], &cb, tick, &n);
    }
    /* Queue order 1, 2, 0 at one deadline: restoring in index order, both
     * "after equals" and "before equals" would get it wrong. */
    timer_mod(&ta[1], 500);
    timer_mod(&ta[2], 500);
    timer_mod(&ta[0], 500);
    SnapWriter *w = snap_writer_new();
    vclock_save(&ca, w);
    for (int i = 0; i < 3; i++)
        timer_save(&ta[i], w);
    SnapReader r;
    snap_reader_init(&r, w->buf, 8, "clock", 1, true);
    ck_assert(vclock_load(&cb, &r));
    snap_reader_init(&r, w->buf + 8, w->len - 8, "timers", 1, true);
    TimerSnap ts[3];
    for (int i = 0; i < 3; i++)
        timer_load(&r, &ts[i]);
    ck_assert(snap_finish(&r));
    for (int i = 0; i < 3; i++) /* restored in index order, not queue order */
        timer_restore(&tb[i], &ts[i]);
    const Timer *qa = ca.timers, *qb = cb.timers;
    for (int i = 0; i < 3; i++, qa = qa->next, qb = qb->next)
        ck_assert_int_eq((int)(qb - tb), (int)(qa - ta));
    ck_assert_ptr_null(qb);
    snap_writer_free(w);
}
END_TEST

static void save_cmos(const void *d, SnapWriter *w) {
    cmos_save(d, w);
}
static bool load_cmos(void *d, SnapReader *r) {
    return cmos_load(d, r);
}

START_TEST(cmos_round_trip) {
    VClock ca, cb;
    vclock_init(&ca);
    vclock_init(&cb);
    Cmos *a = cmos_new(&ca, (IrqLine){0}, 1767225600), *b = cmos_new(&cb, (IrqLine){0}, 0);
    cmos_port_write(a, 0x70, 1, 0x0B);
    cmos_port_write(a, 0x71, 1, 0x42); /* periodic interrupt on, 24 h */
    cmos_port_write(a, 0x70, 1, 0x30);
    cmos_port_write(a, 0x71, 1, 0x99);
    vclock_advance(&ca, 3000000000ull);
    SnapWriter *wc = snap_writer_new();
    vclock_save(&ca, wc);
    SnapReader r;
    snap_reader_init(&r, wc->buf, wc->len, "clock", 1, true);
    ck_assert(vclock_load(&cb, &r));
    roundtrip(save_cmos, load_cmos, a, b);
    for (uint8_t i = 0; i < 10; i++) { /* the time registers */
        cmos_port_write(a, 0x70, 1, i);
        cmos_port_write(b, 0x70, 1, i);
        ck_assert_uint_eq(cmos_port_read(b, 0x71, 1), cmos_port_read(a, 0x71, 1));
    }
    refuses_short_and_long(save_cmos, load_cmos, a, b);
    snap_writer_free(wc);
    cmos_free(a);
    cmos_free(b);
}
END_TEST

static void save_kbd(const void *d, SnapWriter *w) {
    i8042_save(d, w);
}
static bool load_kbd(void *d, SnapReader *r) {
    return i8042_load(d, r);
}

START_TEST(i8042_round_trip) {
    I8042 *a = i8042_new((IrqLine){0}, (IrqLine){0}, NULL);
    I8042 *b = i8042_new((IrqLine){0}, (IrqLine){0}, NULL);
    uint8_t code[2];
    int len = i8042_key_code("a", code);
    i8042_key_event(a, code, len, true);
    i8042_key_event(a, code, len, false);
    i8042_port_write(a, 0x64, 1, 0xD4); /* to the mouse: enable reporting */
    i8042_port_write(a, 0x60, 1, 0xF4);
    i8042_port_write(a, 0x92, 1, 0x02);
    roundtrip(save_kbd, load_kbd, a, b);
    for (int i = 0; i < 6; i++) {
        ck_assert_uint_eq(i8042_port_read(b, 0x64, 1), i8042_port_read(a, 0x64, 1));
        ck_assert_uint_eq(i8042_port_read(b, 0x60, 1), i8042_port_read(a, 0x60, 1));
    }
    refuses_short_and_long(save_kbd, load_kbd, a, b);
    i8042_free(a);
    i8042_free(b);
}
END_TEST

static void save_uart(const void *d, SnapWriter *w) {
    uart_save(d, w);
}
static bool load_uart(void *d, SnapReader *r) {
    return uart_load(d, r);
}

START_TEST(uart_round_trip) {
    VClock ca, cb;
    vclock_init(&ca);
    vclock_init(&cb);
    Uart *a = uart_new(0x3F8, &ca, (IrqLine){0}, NULL, NULL);
    Uart *b = uart_new(0x3F8, &cb, (IrqLine){0}, NULL, NULL);
    uart_port_write(a, 0x3FA, 1, 0xC7); /* FIFO on, trigger 14 */
    uart_port_write(a, 0x3F9, 1, 0x01);
    uart_port_write(a, 0x3FF, 1, 0x5A);
    uart_receive(a, (const uint8_t *)"hello", 5);
    (void)uart_port_read(a, 0x3F8, 1);
    roundtrip(save_uart, load_uart, a, b);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(uart_port_read(b, 0x3FD, 1), uart_port_read(a, 0x3FD, 1));
        ck_assert_uint_eq(uart_port_read(b, 0x3F8, 1), uart_port_read(a, 0x3F8, 1));
    }
    refuses_short_and_long(save_uart, load_uart, a, b);
    uart_free(a);
    uart_free(b);
}
END_TEST

static void save_fwcfg(const void *d, SnapWriter *w) {
    fwcfg_save(d, w);
}
static bool load_fwcfg(void *d, SnapReader *r) {
    return fwcfg_load(d, r);
}

START_TEST(fwcfg_round_trip_and_other_items) {
    FwCfg *a = fwcfg_new(), *b = fwcfg_new(), *c = fwcfg_new();
    fwcfg_add_file(a, "etc/x", "xyz", 3);
    fwcfg_add_file(b, "etc/x", "xyz", 3);
    fwcfg_add_file(c, "etc/x", "xyw", 3);
    fwcfg_port_write(a, 0x510, 2, 0x0000);
    (void)fwcfg_port_read(a, 0x511, 1);
    roundtrip(save_fwcfg, load_fwcfg, a, b);
    ck_assert_uint_eq(fwcfg_port_read(b, 0x511, 1), fwcfg_port_read(a, 0x511, 1));
    SnapWriter *w = save_dev(save_fwcfg, a);
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "fwcfg", 1, false);
    ck_assert(!fwcfg_load(c, &r));
    ck_assert(strstr(snap_error(&r), "firmware configuration differs"));
    refuses_short_and_long(save_fwcfg, load_fwcfg, a, b);
    snap_writer_free(w);
    fwcfg_free(a);
    fwcfg_free(b);
    fwcfg_free(c);
}
END_TEST

static void save_vga(const void *d, SnapWriter *w) {
    vga_save(d, w);
}
static bool load_vga(void *d, SnapReader *r) {
    return vga_load(d, r);
}

START_TEST(vga_round_trip) {
    Vga *a = vga_new(NULL), *b = vga_new(NULL);
    vga_port_write(a, 0x3C8, 1, 5);
    vga_port_write(a, 0x3C9, 1, 0x11);
    vga_port_write(a, 0x3C9, 1, 0x22);
    vga_port_write(a, 0x3D4, 1, 0x0C);
    vga_port_write(a, 0x3D5, 1, 0x12);
    vga_vram(a)[123456] = 0xAB;
    vga_port_write(a, 0x1CE, 2, 1); /* DISPI XRES */
    vga_port_write(a, 0x1CF, 2, 800);
    roundtrip(save_vga, load_vga, a, b);
    ck_assert_uint_eq(vga_vram(b)[123456], 0xAB);
    vga_port_write(a, 0x3C7, 1, 5);
    vga_port_write(b, 0x3C7, 1, 5);
    ck_assert_uint_eq(vga_port_read(b, 0x3C9, 1), vga_port_read(a, 0x3C9, 1));
    ck_assert_uint_eq(vga_port_read(b, 0x3C9, 1), vga_port_read(a, 0x3C9, 1));
    vga_free(a);
    vga_free(b);
}
END_TEST

/* The ACPI PM function and the PCI bus it sits on: loading the PCI
 * section maps the PM block where the saved PMBASE says. */
typedef struct PmMachine {
    PciBus *pci;
    IoBus *io;
    VClock clk;
    AcpiPm *pm;
} PmMachine;

static void pm_machine(PmMachine *m) {
    m->pci = pci_bus_new();
    m->io = iobus_new();
    vclock_init(&m->clk);
    pci_bus_register(m->pci, m->io);
    m->pm = acpi_pm_new(m->pci, m->io, &m->clk, (IrqLine){0}, NULL, NULL);
    ck_assert_int_eq(acpi_pm_register(m->pm), 0);
}

static void pm_cfg_write(PmMachine *m, unsigned reg, unsigned size, uint32_t v) {
    iobus_write(m->io, 0xCF8, 4, 0x80000000u | PCI_DEVFN(1, 3) << 8 | (reg & 0xFC));
    iobus_write(m->io, (uint16_t)(0xCFC + (reg & 3)), size, v);
}

static void save_pci(const void *d, SnapWriter *w) {
    pci_bus_save(d, w);
}
static bool load_pci(void *d, SnapReader *r) {
    return pci_bus_load(d, r);
}
static void save_acpi(const void *d, SnapWriter *w) {
    acpi_pm_save(d, w);
}
static bool load_acpi(void *d, SnapReader *r) {
    return acpi_pm_load(d, r);
}

START_TEST(acpi_and_pci_round_trip) {
    PmMachine a, b;
    pm_machine(&a);
    pm_machine(&b);
    pm_cfg_write(&a, 0x40, 4, 0xB000 | 1); /* PMBASE, then the enable bit */
    pm_cfg_write(&a, 0x80, 1, 0x01);
    iobus_write(a.io, 0xB002, 2, 0x0100); /* PM1_EN: power button */
    iobus_write(a.io, 0xB004, 2, 0x0001); /* SCI_EN */
    vclock_advance(&a.clk, 5000000);
    acpi_pm_power_button(a.pm);
    ck_assert_uint_eq(iobus_read(b.io, 0xB000, 2), 0xFFFF); /* b: not mapped yet */
    SnapWriter *wc = snap_writer_new();
    vclock_save(&a.clk, wc);
    SnapReader r;
    snap_reader_init(&r, wc->buf, wc->len, "clock", 1, true);
    ck_assert(vclock_load(&b.clk, &r));
    roundtrip(save_acpi, load_acpi, a.pm, b.pm);
    roundtrip(save_pci, load_pci, a.pci, b.pci);
    for (uint16_t port = 0xB000; port < 0xB010; port += 2)
        ck_assert_uint_eq(iobus_read(b.io, port, 2), iobus_read(a.io, port, 2));
    refuses_short_and_long(save_pci, load_pci, a.pci, b.pci);
    refuses_short_and_long(save_acpi, load_acpi, a.pm, b.pm);
    snap_writer_free(wc);
    for (PmMachine *m = &a; m; m = m == &a ? &b : NULL) {
        acpi_pm_free(m->pm);
        pci_bus_free(m->pci);
        iobus_free(m->io);
    }
}
END_TEST

/* Hostile VGA registers: whatever vga_load accepts, the renderer and the
 * ports must cope with (run under ASan in the sanitizer build). Starts
 * from text mode and from a DISPI mode. */
START_TEST(vga_accepts_only_what_renders) {
    Vga *a = vga_new(NULL), *b = vga_new(NULL);
    srand(2);
    for (int state = 0; state < 2; state++) {
        if (state == 1) { /* 320x200x32 DISPI mode */
            uint16_t regs[][2] = {{1, 320}, {2, 200}, {3, 32}, {4, 0x41}};
            for (int i = 0; i < 4; i++) {
                vga_port_write(a, 0x1CE, 2, regs[i][0]);
                vga_port_write(a, 0x1CF, 2, regs[i][1]);
            }
        }
        SnapWriter *w = save_dev(save_vga, a);
        size_t regs_len = w->len - 16; /* up to the video memory's blob */
        while (regs_len > 0 && !(w->buf[regs_len] == 0 && w->buf[regs_len + 1] == 0 &&
                                 w->buf[regs_len + 2] == 0 && w->buf[regs_len + 3] == 1))
            regs_len--;
        ck_assert_uint_eq(regs_len, 932); /* the registers, before the blob */
        uint8_t *buf = malloc(w->len);
        int accepted = 0;
        for (int i = 0; i < 200; i++) {
            memcpy(buf, w->buf, w->len);
            for (int k = 0, nk = 1 + rand() % 4; k < nk; k++)
                buf[(size_t)rand() % regs_len] = (uint8_t)rand();
            SnapReader r;
            snap_reader_init(&r, buf, w->len, "vga", 1, false);
            if (!vga_load(b, &r)) continue;
            snap_reader_init(&r, buf, w->len, "vga", 1, true);
            ck_assert(vga_load(b, &r));
            accepted++;
            unsigned width, height;
            ck_assert_ptr_nonnull(vga_render(b, &width, &height));
            char text[4096];
            vga_text_dump(b, text, sizeof text);
            for (uint16_t port = 0x3C0; port < 0x3E0; port++)
                (void)vga_port_read(b, port, 1);
            (void)vga_window_read(b, 0x1234, 4);
            vga_window_write(b, 0x4321, 1, 0x5A);
        }
        ck_assert_int_gt(accepted, 20);
        free(buf);
        snap_writer_free(w);
    }
    vga_free(a);
    vga_free(b);
}
END_TEST

/* An IDE channel in the middle of a PIO read, and the disk overlay. */
static void save_ide(const void *d, SnapWriter *w) {
    ide_save(d, w);
}
static bool load_ide(void *d, SnapReader *r) {
    return ide_load(d, r);
}
static void save_disk(const void *d, SnapWriter *w) {
    disk_save((Disk *)d, w);
}
static bool load_disk(void *d, SnapReader *r) {
    return disk_load(d, r);
}

START_TEST(ide_and_disk_round_trip) {
    char path[] = "/tmp/bt86-snap-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    static uint8_t img[512 * 64];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 7 + i / 512);
    ck_assert_int_eq(write(fd, img, sizeof img), (int)sizeof img);
    close(fd);
    char err[256];
    Disk *da = disk_open(path, DISK_SNAPSHOT, 512, err, sizeof err);
    Disk *db = disk_open(path, DISK_SNAPSHOT, 512, err, sizeof err);
    ck_assert(da && db);
    IdeChannel *a = ide_new(0x1F0, 0x3F6, (IrqLine){0}), *b = ide_new(0x1F0, 0x3F6, (IrqLine){0});
    ide_attach_disk(a, 0, da);
    ide_attach_disk(b, 0, db);
    /* Write sector 3 (to the overlay), then start reading sectors 2-4. */
    ide_port_write(a, 0x1F2, 1, 1);
    ide_port_write(a, 0x1F3, 1, 3);
    ide_port_write(a, 0x1F4, 1, 0);
    ide_port_write(a, 0x1F5, 1, 0);
    ide_port_write(a, 0x1F6, 1, 0xE0);
    ide_port_write(a, 0x1F7, 1, 0x30);
    for (int i = 0; i < 256; i++)
        ide_port_write(a, 0x1F0, 2, 0xBEEF);
    ide_port_write(a, 0x1F2, 1, 3);
    ide_port_write(a, 0x1F3, 1, 2);
    ide_port_write(a, 0x1F7, 1, 0x20);
    for (int i = 0; i < 100; i++)
        (void)ide_port_read(a, 0x1F0, 2);
    roundtrip(save_disk, load_disk, da, db);
    test_version = 2;
    roundtrip(save_ide, load_ide, a, b);
    for (int i = 0; i < 3 * 256 - 100; i++)
        ck_assert_uint_eq(ide_port_read(b, 0x1F0, 2), ide_port_read(a, 0x1F0, 2));
    ck_assert_uint_eq(ide_port_read(b, 0x1F7, 1), ide_port_read(a, 0x1F7, 1));
    refuses_short_and_long(save_ide, load_ide, a, b);
    test_version = 1;
    /* Another image of the same size is refused. */
    SnapWriter *w = save_dev(save_disk, da);
    img[0] ^= 1;
    FILE *f = fopen(path, "r+b");
    fwrite(img, 1, 1, f);
    fclose(f);
    Disk *dc = disk_open(path, DISK_SNAPSHOT, 512, err, sizeof err);
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "hda", 1, false);
    ck_assert(!disk_load(dc, &r));
    ck_assert(strstr(snap_error(&r), "another image"));
    snap_writer_free(w);
    ide_free(a);
    ide_free(b);
    disk_close(da);
    disk_close(db);
    disk_close(dc);
    unlink(path);
}
END_TEST

/* A read-write image is not in the file: the same file (device and
 * inode) loads, a copy of it does not, nor does a snapshot-mode image. */
static void temp_image(char *path, uint8_t fill) {
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    uint8_t sector[512];
    memset(sector, fill, sizeof sector);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(write(fd, sector, sizeof sector), 512);
    close(fd);
}

START_TEST(read_write_disk_identity) {
    char p1[] = "/tmp/bt86-snap-XXXXXX", p2[] = "/tmp/bt86-snap-XXXXXX", err[256];
    temp_image(p1, 0x11);
    temp_image(p2, 0x11); /* same size and contents, another file */
    /* One at a time: an image open for writing is locked against others. */
    Disk *a = disk_open(p1, DISK_RW, 512, err, sizeof err);
    ck_assert_msg(a, "%s", err);
    SnapWriter *w = save_dev(save_disk, a);
    disk_close(a);
    Disk *same_file = disk_open(p1, DISK_RW, 512, err, sizeof err);
    ck_assert_msg(same_file, "%s", err);
    SnapReader r;
    snap_reader_init(&r, w->buf, w->len, "hda", 1, false);
    ck_assert_msg(disk_load(same_file, &r), "%s", snap_error(&r));
    disk_close(same_file);
    Disk *copy = disk_open(p2, DISK_RW, 512, err, sizeof err);
    Disk *snap_mode = disk_open(p1, DISK_SNAPSHOT, 512, err, sizeof err);
    ck_assert(copy && snap_mode);
    snap_reader_init(&r, w->buf, w->len, "hda", 1, false);
    ck_assert(!disk_load(copy, &r));
    ck_assert(strstr(snap_error(&r), "another image (same size, other file)"));
    snap_reader_init(&r, w->buf, w->len, "hda", 1, false);
    ck_assert(!disk_load(snap_mode, &r));
    ck_assert(strstr(snap_error(&r), "read-write"));
    snap_writer_free(w);
    disk_close(copy);
    disk_close(snap_mode);
    unlink(p1);
    unlink(p2);
}
END_TEST

/* ---------------- the whole machine ---------------- */

static Pc *new_pc(uint32_t ram_mb, bool vga) {
    PcConfig cfg = pc_default_config();
    cfg.ram_mb = ram_mb;
    cfg.vga = vga;
    cfg.vgabios_path = vga ? cfg.vgabios_path : NULL;
    cfg.rtc_start = 1767225600;
    char err[256];
    Pc *pc = pc_new(&cfg, err, sizeof err);
    ck_assert_msg(pc != NULL, "%s", err);
    return pc;
}

static uint8_t *save_pc(Pc *pc, size_t *len) {
    uint8_t *data;
    char err[256];
    ck_assert_msg(pc_save_snapshot(pc, &data, len, err, sizeof err) == 0, "%s", err);
    return data;
}

static bool same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    return alen == blen && memcmp(a, b, alen) == 0;
}

START_TEST(machine_goes_on_as_after_the_save) {
    if (access(BIOS, R_OK) != 0) return;
    Pc *pc = new_pc(16, true);
    pc_run(pc, 3000000); /* SeaBIOS's POST, devices being set up */
    size_t slen, len1, len2, len3;
    uint8_t *snap = save_pc(pc, &slen);
    pc_run(pc, 2000000);
    uint8_t *after1 = save_pc(pc, &len1);
    ck_assert(!same(snap, slen, after1, len1));
    char err[256];
    ck_assert_msg(pc_load_snapshot(pc, snap, slen, err, sizeof err) == 0, "%s", err);
    size_t lback;
    uint8_t *back = save_pc(pc, &lback);
    ck_assert_msg(same(snap, slen, back, lback), "a loaded machine saves other bytes");
    pc_run(pc, 2000000);
    uint8_t *after2 = save_pc(pc, &len2);
    ck_assert_msg(same(after1, len1, after2, len2), "the run after loadvm differs");
    /* A fresh machine from the same bytes goes on alike. */
    Pc *other = new_pc(16, true);
    ck_assert_msg(pc_load_snapshot(other, snap, slen, err, sizeof err) == 0, "%s", err);
    pc_run(other, 2000000);
    uint8_t *after3 = save_pc(other, &len3);
    ck_assert_msg(same(after1, len1, after3, len3), "a fresh machine goes on differently");
    free(snap);
    free(after1);
    free(back);
    free(after2);
    free(after3);
    pc_free(pc);
    pc_free(other);
}
END_TEST

/* A machine saved at power-on (before its first instruction: the lazy
 * flags have no operand size yet) loads and goes on alike. */
START_TEST(machine_saved_at_power_on_loads) {
    if (access(BIOS, R_OK) != 0) return;
    Pc *pc = new_pc(16, true);
    size_t slen, len1, len2;
    uint8_t *snap = save_pc(pc, &slen);
    pc_run(pc, 1000000);
    uint8_t *after1 = save_pc(pc, &len1);
    char err[256];
    ck_assert_msg(pc_load_snapshot(pc, snap, slen, err, sizeof err) == 0, "%s", err);
    pc_run(pc, 1000000);
    uint8_t *after2 = save_pc(pc, &len2);
    ck_assert_msg(same(after1, len1, after2, len2), "the run after the load differs");
    free(snap);
    free(after1);
    free(after2);
    pc_free(pc);
}
END_TEST

/* CMOS through ports 0x70/0x71, fw_cfg through 0x510/0x511 (as firmware). */
static uint8_t cmos_byte(Pc *pc, uint8_t index) {
    iobus_write(pc_iobus(pc), 0x70, 1, index);
    return (uint8_t)iobus_read(pc_iobus(pc), 0x71, 1);
}
static void fwcfg_read(Pc *pc, uint16_t key, uint8_t *buf, size_t len) {
    iobus_write(pc_iobus(pc), 0x510, 2, key);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)iobus_read(pc_iobus(pc), 0x511, 1);
}
/* The fw_cfg file `name`: its size (0: absent) and up to len bytes. */
static uint32_t fwcfg_file(Pc *pc, const char *name, uint8_t *buf, size_t len) {
    uint8_t n[4];
    fwcfg_read(pc, 0x19, n, 4);
    uint32_t count = (uint32_t)n[0] << 24 | n[1] << 16 | n[2] << 8 | n[3];
    for (uint32_t i = 0; i < count; i++) {
        uint8_t e[64];
        for (size_t k = 0; k < sizeof e; k++)
            e[k] = (uint8_t)iobus_read(pc_iobus(pc), 0x511, 1);
        if (strcmp((const char *)e + 8, name) != 0) continue;
        uint32_t size = (uint32_t)e[0] << 24 | e[1] << 16 | e[2] << 8 | e[3];
        fwcfg_read(pc, (uint16_t)(e[4] << 8 | e[5]), buf, size < len ? size : len);
        return size;
    }
    return 0;
}
static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* What the firmware learns of the RAM: CMOS 0x30/0x31 (KiB above 1 MiB),
 * 0x34/0x35 (64 KiB units from 16 MiB to the PCI hole), 0x5B-0x5D (64 KiB
 * units above 4 GiB), fw_cfg's RAM size and etc/e820, for several sizes. */
START_TEST(memory_layout_reaches_the_firmware) {
    if (access(BIOS, R_OK) != 0) return;
    static const uint32_t sizes[] = {16, 128, 3584, 3585, 4096, 6144, 65024};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        Pc *pc = new_pc(sizes[k], false);
        uint64_t total = (uint64_t)sizes[k] << 20;
        uint64_t below = total < 0xE0000000u ? total : 0xE0000000u, above = total - below;
        uint64_t ext = below / 1024 - 1024;
        ck_assert_uint_eq(cmos_byte(pc, 0x30) | cmos_byte(pc, 0x31) << 8,
                          ext > 0xFFFF ? 0xFFFF : ext);
        ck_assert_uint_eq(cmos_byte(pc, 0x34) | cmos_byte(pc, 0x35) << 8,
                          below > (16u << 20) ? (below - (16u << 20)) >> 16 : 0);
        ck_assert_uint_eq(cmos_byte(pc, 0x5B) | cmos_byte(pc, 0x5C) << 8 |
                              cmos_byte(pc, 0x5D) << 16,
                          above >> 16);
        uint8_t b[64] = {0};
        fwcfg_read(pc, 0x03, b, 8);
        ck_assert_uint_eq(le(b, 8), total);
        uint32_t n = fwcfg_file(pc, "etc/e820", b, sizeof b);
        ck_assert_uint_eq(n, above ? 40 : 20);
        ck_assert_uint_eq(le(b, 8), 0);
        ck_assert_uint_eq(le(b + 8, 8), below);
        ck_assert_uint_eq(le(b + 16, 4), 1);
        if (above) {
            ck_assert_uint_eq(le(b + 20, 8), 0x100000000ull);
            ck_assert_uint_eq(le(b + 28, 8), above);
            ck_assert_uint_eq(le(b + 36, 4), 1);
        }
        pc_free(pc);
    }
}
END_TEST

/* A 6 GiB machine saves and loads its RAM above 4 GiB (and the zero pages
 * it left untouched are zero again). */
START_TEST(machine_with_ram_above_4g_round_trip) {
    if (access(BIOS, R_OK) != 0) return;
    Pc *pc = new_pc(6144, false);
    PhysMem *m = pc_physmem(pc);
    phys_write(m, 0x100000000ull + 0x1234560, 4, 0xFEEDF00D);
    phys_write(m, 0x19FFFFFFCull, 4, 0x0BADCAFE);
    size_t len;
    uint8_t *snap = save_pc(pc, &len);
    ck_assert_uint_lt(len, 16u << 20);
    phys_write(m, 0x100000000ull + 0x1234560, 4, 0);
    phys_write(m, 0x180000000ull, 4, 0x77777777);
    char err[256];
    ck_assert_msg(pc_load_snapshot(pc, snap, len, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(phys_read(m, 0x100000000ull + 0x1234560, 4), 0xFEEDF00D);
    ck_assert_uint_eq(phys_read(m, 0x19FFFFFFCull, 4), 0x0BADCAFE);
    ck_assert_uint_eq(phys_read(m, 0x180000000ull, 4), 0);
    /* Into a machine of another size: refused. */
    Pc *other = new_pc(5120, false);
    ck_assert(pc_load_snapshot(other, snap, len, err, sizeof err) < 0);
    ck_assert_msg(strstr(err, "6144 MiB"), "%s", err);
    pc_free(other);
    free(snap);
    pc_free(pc);
}
END_TEST

/* Put a valid checksum on a changed file. */
static void fix_crc(uint8_t *data, size_t len) {
    uint32_t crc = snap_crc32(0, data + 20, len - 20);
    for (int i = 0; i < 4; i++)
        data[16 + i] = (uint8_t)(crc >> (8 * i));
}

static void expect_refused(Pc *pc, const uint8_t *data, size_t len, const char *what,
                           const uint8_t *ref, size_t reflen) {
    char err[256] = "";
    ck_assert_msg(pc_load_snapshot(pc, data, len, err, sizeof err) < 0, "accepted: %s", what);
    ck_assert_msg(strstr(err, what), "'%s' not in '%s'", what, err);
    if (ref) {
        size_t n;
        uint8_t *now = save_pc(pc, &n);
        ck_assert_msg(same(ref, reflen, now, n), "a refused load changed the machine (%s)", what);
        free(now);
    }
}

START_TEST(file_refusals) {
    if (access(BIOS, R_OK) != 0) return;
    Pc *pc = new_pc(2, false);
    pc_run(pc, 500000);
    size_t len, reflen;
    uint8_t *snap = save_pc(pc, &len);
    pc_run(pc, 100000); /* the machine is now elsewhere */
    uint8_t *ref = save_pc(pc, &reflen);
    uint8_t *buf = malloc(len);
    /* Every prefix. */
    for (size_t n = 0; n < len; n++) {
        char err[256] = "";
        ck_assert(pc_load_snapshot(pc, snap, n, err, sizeof err) < 0);
        ck_assert_msg(strstr(err, n < 8 ? "not a bt86 snapshot" : "truncated"), "%zu: %s", n, err);
    }
    expect_refused(pc, snap, len - 1, "truncated", ref, reflen);
    /* A flipped byte anywhere past the checksum field. */
    for (size_t at = 20; at < len; at += len / 97 + 1) {
        memcpy(buf, snap, len);
        buf[at] ^= 0x40;
        expect_refused(pc, buf, len, at < 28 ? "truncated" : "checksum", NULL, 0);
    }
    { /* none of the prefixes and flips above touched the machine */
        size_t n;
        uint8_t *now = save_pc(pc, &n);
        ck_assert_msg(same(ref, reflen, now, n), "a refused load changed the machine");
        free(now);
    }
    memcpy(buf, snap, len);
    buf[0] = 'X';
    expect_refused(pc, buf, len, "not a bt86 snapshot", NULL, 0);
    memcpy(buf, snap, len);
    buf[8] = 2;
    fix_crc(buf, len);
    expect_refused(pc, buf, len, "format version 2", NULL, 0);
    /* Another RAM size. */
    Pc *big = new_pc(4, false);
    expect_refused(big, snap, len, "2 MiB of RAM", NULL, 0);
    pc_free(big);
    /* A section of another version (the first one, "clock"). */
    memcpy(buf, snap, len);
    buf[SNAP_HEADER_SIZE + SNAP_TAG_LEN] = 9;
    fix_crc(buf, len);
    expect_refused(pc, buf, len, "section 'clock': version 9", ref, reflen);
    /* An unknown section's tag. */
    memcpy(buf, snap, len);
    memcpy(buf + SNAP_HEADER_SIZE, "clocq", 5);
    fix_crc(buf, len);
    expect_refused(pc, buf, len, "no 'clock' section", ref, reflen);
    /* Hostile contents with a valid checksum: random bytes changed in the
     * sections: refused (the machine untouched) or, where any value is
     * legal, loaded; never a crash (run under ASan in the sanitizer build). */
    SnapSection secs[32];
    char serr[256];
    int nsecs = snap_split_sections(snap, len, secs, 32, serr, sizeof serr);
    ck_assert_int_gt(nsecs, 15);
    srand(1);
    int refused = 0,
        rounds = getenv("BT86_SNAP_MUTATIONS") ? atoi(getenv("BT86_SNAP_MUTATIONS")) : 600;
    for (int i = 0; i < rounds; i++) {
        memcpy(buf, snap, len);
        /* A section chosen evenly (most bytes are RAM), 1-3 bytes in it:
         * its header (tag, version, length) or its contents. */
        const SnapSection *sec = &secs[rand() % nsecs];
        size_t start = (size_t)(sec->data - snap) - SNAP_SECTION_HEAD;
        size_t span = sec->len + SNAP_SECTION_HEAD;
        for (int k = 0, nk = 1 + rand() % 3; k < nk; k++)
            buf[start + (size_t)rand() % span] = (uint8_t)rand();
        fix_crc(buf, len);
        char err[256];
        if (pc_load_snapshot(pc, buf, len, err, sizeof err) < 0) {
            refused++;
            size_t n;
            uint8_t *now = save_pc(pc, &n);
            ck_assert_msg(same(ref, reflen, now, n), "refused (%s) but changed", err);
            free(now);
        } else {
            ck_assert(pc_load_snapshot(pc, ref, reflen, err, sizeof err) == 0);
        }
    }
    ck_assert_int_gt(refused, rounds / 4);
    /* And the untouched file still loads. */
    char err[256];
    ck_assert_msg(pc_load_snapshot(pc, snap, len, err, sizeof err) == 0, "%s", err);
    free(buf);
    free(snap);
    free(ref);
    pc_free(pc);
}
END_TEST

/* Every section cut short (lengths and checksum made consistent again). */
START_TEST(every_section_cut_short) {
    if (access(BIOS, R_OK) != 0) return;
    Pc *pc = new_pc(2, false);
    pc_run(pc, 500000);
    size_t len, reflen;
    uint8_t *snap = save_pc(pc, &len);
    uint8_t *ref = save_pc(pc, &reflen);
    SnapSection secs[32];
    char err[256];
    int n = snap_split_sections(snap, len, secs, 32, err, sizeof err);
    ck_assert_int_gt(n, 15);
    uint8_t *buf = malloc(len);
    int tried = 0;
    for (int s = 0; s < n; s++) {
        size_t off = (size_t)(secs[s].data - snap), slen = secs[s].len;
        for (size_t cut = 1; cut <= slen && cut <= 40; cut += cut < 8 ? 1 : 7) {
            /* Remove `cut` bytes at the end of section s. */
            size_t nlen = len - cut;
            memcpy(buf, snap, off + slen - cut);
            memcpy(buf + off + slen - cut, snap + off + slen, len - off - slen);
            uint64_t l = slen - cut;
            for (int b = 0; b < 8; b++)
                buf[off - 8 + b] = (uint8_t)(l >> (8 * b));
            for (int b = 0; b < 8; b++)
                buf[20 + b] = (uint8_t)((uint64_t)nlen >> (8 * b));
            fix_crc(buf, nlen);
            char want[64];
            snprintf(want, sizeof want, "section '%.8s'", secs[s].tag);
            expect_refused(pc, buf, nlen, want, cut == 1 ? ref : NULL, reflen);
            tried++;
        }
    }
    ck_assert_int_gt(tried, 100);
    free(buf);
    free(snap);
    free(ref);
    pc_free(pc);
}
END_TEST

Suite *snapshot_suite(void) {
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, serializer_round_trip);
    tcase_add_test(tc, reader_refuses_bad_data);
    tcase_add_test(tc, cpu_keeps_sse_state);
    tcase_add_test(tc, pic_round_trip);
    tcase_add_test(tc, pit_round_trip_with_timer);
    tcase_add_test(tc, timers_keep_their_order);
    tcase_add_test(tc, cmos_round_trip);
    tcase_add_test(tc, i8042_round_trip);
    tcase_add_test(tc, uart_round_trip);
    tcase_add_test(tc, fwcfg_round_trip_and_other_items);
    tcase_add_test(tc, vga_round_trip);
    tcase_add_test(tc, vga_accepts_only_what_renders);
    tcase_add_test(tc, ide_and_disk_round_trip);
    tcase_add_test(tc, acpi_and_pci_round_trip);
    tcase_add_test(tc, machine_saved_at_power_on_loads);
    tcase_add_test(tc, memory_layout_reaches_the_firmware);
    tcase_add_test(tc, machine_with_ram_above_4g_round_trip);
    tcase_add_test(tc, read_write_disk_identity);
    tcase_add_test(tc, machine_goes_on_as_after_the_save);
    tcase_add_test(tc, file_refusals);
    tcase_add_test(tc, every_section_cut_short);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(snapshot_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
