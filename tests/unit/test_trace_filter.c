/*
 * test_trace_filter.c - -dfilter range parsing (QEMU's START+SIZE,
 * END-SIZE and START..END forms), the CPL and CR3 filters, and matching:
 * edges of each form, overlapping ranges, the top of the address space,
 * and malformed specifications (which leave the filter unchanged).
 */
#include <check.h>
#include <string.h>

#include "frontend/trace_filter.h"

static TraceFilter parsed(const char *spec) {
    TraceFilter f;
    trace_filter_init(&f);
    char err[256];
    ck_assert_msg(trace_filter_add_ranges(&f, spec, err, sizeof err), "%s: %s", spec, err);
    return f;
}

static void expect_range(const char *spec, uint32_t first, uint32_t last) {
    TraceFilter f = parsed(spec);
    ck_assert_uint_eq(f.nranges, 1);
    ck_assert_uint_eq(f.ranges[0].first, first);
    ck_assert_uint_eq(f.ranges[0].last, last);
    ck_assert(trace_filter_match(&f, first, 0, 0));
    ck_assert(trace_filter_match(&f, last, 0, 0));
    if (first > 0) ck_assert(!trace_filter_match(&f, first - 1, 0, 0));
    if (last < UINT32_MAX) ck_assert(!trace_filter_match(&f, last + 1, 0, 0));
    trace_filter_free(&f);
}

START_TEST(range_forms) {
    expect_range("0x7c00+0x200", 0x7c00, 0x7dff);
    expect_range("0x1000-0x100", 0xf01, 0x1000);
    expect_range("0x1000..0x1100", 0x1000, 0x1100);
    expect_range("4096+1", 4096, 4096);
    expect_range("0x1000-0x1001", 0, 0x1000);
    expect_range("0xffffff00+0x100", 0xffffff00, 0xffffffff);
    expect_range("0..0xffffffff", 0, 0xffffffff);
    expect_range("0xffffffff-0x100000000", 0, 0xffffffff);
    expect_range("0x10..0x10", 0x10, 0x10);
}
END_TEST

START_TEST(several_and_overlapping) {
    TraceFilter f = parsed("0x1000+0x100,0x1080..0x2000,0x10000-0x10");
    ck_assert_uint_eq(f.nranges, 3);
    ck_assert(trace_filter_match(&f, 0x1000, 0, 0));
    ck_assert(trace_filter_match(&f, 0x10ff, 0, 0)); /* in both */
    ck_assert(trace_filter_match(&f, 0x2000, 0, 0));
    ck_assert(!trace_filter_match(&f, 0x2001, 0, 0));
    ck_assert(!trace_filter_match(&f, 0xfff0, 0, 0));
    ck_assert(trace_filter_match(&f, 0xfff1, 0, 0));
    ck_assert(trace_filter_match(&f, 0x10000, 0, 0));
    ck_assert(!trace_filter_match(&f, 0x10001, 0, 0));
    /* A second -dfilter adds to the first. */
    char err[128];
    ck_assert(trace_filter_add_ranges(&f, "0x50000+1", err, sizeof err));
    ck_assert_uint_eq(f.nranges, 4);
    ck_assert(trace_filter_match(&f, 0x50000, 0, 0));
    ck_assert(trace_filter_match(&f, 0x1000, 0, 0));
    trace_filter_free(&f);
    ck_assert(!trace_filter_active(&f));
}
END_TEST

START_TEST(malformed_ranges) {
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"", "not a range"},
        {"0x1000", "not a range"},
        {"0x1000+", "not a range"},
        {"+0x100", "not a range"},
        {"-0x100", "not a range"},
        {"0x1000*4", "not a range"},
        {"0x1000.0x2000", "not a range"},
        {"0x1000...0x2000", "not a range"},
        {"0x1000+0x10x", "not a range"},
        {"0x1000+ 0x10", "not a range"},
        {"0x1000++0x10", "not a range"},
        {"0x1000+-1", "not a range"},
        {"0x1000+0x10,", "not a range"},
        {",0x1000+0x10", "not a range"},
        {"0x1000+0x10,,0x2000+1", "not a range"},
        {"0x1000+0", "size is 0"},
        {"0x1000-0", "size is 0"},
        {"0x2000..0x1000", "below the start"},
        {"0x100-0x102", "below 0"},
        {"0xffffffff+2", "beyond 0xffffffff"},
        {"0x100000000+1", "beyond 0xffffffff"},
        {"0..0x100000000", "beyond 0xffffffff"},
        {"0xffffffffffffffff+0xffffffffffffffff", "beyond 0xffffffff"},
        {"0x1ffffffffffffffffff+1", "not a range"},
        {"0x1000+0x10,0x5000..0x4000", "below the start"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        TraceFilter f;
        trace_filter_init(&f);
        char err[256] = "";
        ck_assert(trace_filter_add_ranges(&f, "0x10+1", err, sizeof err));
        ck_assert_msg(!trace_filter_add_ranges(&f, bad[i].spec, err, sizeof err), "accepted '%s'",
                      bad[i].spec);
        ck_assert_msg(strstr(err, bad[i].msg), "'%s': '%s' lacks '%s'", bad[i].spec, err,
                      bad[i].msg);
        ck_assert_uint_eq(f.nranges, 1); /* unchanged */
        trace_filter_free(&f);
    }
}
END_TEST

START_TEST(cpl_and_cr3) {
    TraceFilter f;
    trace_filter_init(&f);
    char err[256];
    ck_assert(!trace_filter_active(&f));
    ck_assert(trace_filter_match(&f, 0x1234, 3, 0x5000)); /* no filter: everything */
    ck_assert(!trace_filter_set_cpl(&f, "4", err, sizeof err));
    ck_assert(!trace_filter_set_cpl(&f, "", err, sizeof err));
    ck_assert(!trace_filter_set_cpl(&f, "33", err, sizeof err));
    ck_assert(!trace_filter_set_cpl(&f, "-1", err, sizeof err));
    ck_assert(!trace_filter_active(&f));
    ck_assert(trace_filter_set_cpl(&f, "3", err, sizeof err));
    ck_assert(trace_filter_active(&f));
    ck_assert(trace_filter_match(&f, 0x1234, 3, 0x5000));
    ck_assert(!trace_filter_match(&f, 0x1234, 0, 0x5000));
    ck_assert(!trace_filter_set_cr3(&f, "0x100000000", err, sizeof err));
    ck_assert(!trace_filter_set_cr3(&f, "cr3", err, sizeof err));
    ck_assert(!trace_filter_set_cr3(&f, "0x1000z", err, sizeof err));
    ck_assert(trace_filter_set_cr3(&f, "0x1ce5000", err, sizeof err));
    ck_assert(trace_filter_match(&f, 0x1234, 3, 0x1ce5000));
    ck_assert(trace_filter_match(&f, 0x1234, 3, 0x1ce5018)); /* PCD/PWT bits ignored */
    ck_assert(!trace_filter_match(&f, 0x1234, 3, 0x1ce6000));
    ck_assert(trace_filter_add_ranges(&f, "0x1000+0x1000", err, sizeof err));
    ck_assert(trace_filter_match(&f, 0x1234, 3, 0x1ce5000));
    ck_assert(!trace_filter_match(&f, 0x2234, 3, 0x1ce5000)); /* all filters must agree */
    ck_assert(!trace_filter_match(&f, 0x1234, 2, 0x1ce5000));
    trace_filter_free(&f);
}
END_TEST

static Suite *filter_suite(void) {
    Suite *s = suite_create("trace_filter");
    TCase *t = tcase_create("core");
    tcase_add_test(t, range_forms);
    tcase_add_test(t, several_and_overlapping);
    tcase_add_test(t, malformed_ranges);
    tcase_add_test(t, cpl_and_cr3);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(filter_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
