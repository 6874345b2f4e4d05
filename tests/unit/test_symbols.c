/*
 * test_symbols.c - the -symbols parsers and lookup (src/frontend/symbols.c):
 * System.map text and 32-bit ELF files built here, lookups at symbol
 * starts, inside, past sized symbols, below the first and above the last,
 * and malformed files (empty, binary, truncated, out-of-bounds offsets,
 * addresses beyond 32 bits, 64-bit ELF), which must give an error message
 * and leave the table as it was; every truncation and many corruptions of
 * a valid ELF file are loaded without a crash (meant for the ASan build).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/symbols.h"

static long load_text(SymTab *s, const char *text, char *err, size_t errlen) {
    return symtab_load_buffer(s, "map", (const uint8_t *)text, strlen(text), err, errlen);
}

static void expect_lookup(const SymTab *s, uint32_t addr, const char *want, bool data) {
    char buf[128];
    bool found = (data ? symtab_format_data : symtab_format)(s, addr, buf, sizeof buf);
    if (!want) {
        ck_assert_msg(!found, "0x%x: expected no symbol, got %s", addr, buf);
        ck_assert_str_eq(buf, "");
    } else {
        ck_assert_msg(found, "0x%x: expected %s, got none", addr, want);
        ck_assert_str_eq(buf, want);
    }
}

/* A code address (functions only). */
static void expect_at(const SymTab *s, uint32_t addr, const char *want) {
    expect_lookup(s, addr, want, false);
}

/* A data address (variables, else functions). */
static void expect_data(const SymTab *s, uint32_t addr, const char *want) {
    expect_lookup(s, addr, want, true);
}

START_TEST(map_lookup) {
    SymTab *s = symtab_new();
    char err[256];
    ck_assert_int_eq(load_text(s,
                               "c1000000 T _text\n"
                               "c1000000 T startup_32\n"
                               "c1000000 T _stext\n"
                               "c1000100 t helper\r\n"
                               "\n"
                               "c1000180 D some_data\n"
                               "00000000 A an_absolute\n"
                               "c2000000 B _end\n",
                               err, sizeof err),
                     6);
    ck_assert_uint_eq(symtab_count(s), 6);
    expect_at(s, 0xbfffffff, NULL);             /* below the first */
    expect_at(s, 0xc1000000, "startup_32+0x0"); /* three at one address: no underscore first */
    expect_at(s, 0xc10000ff, "startup_32+0xff");
    expect_at(s, 0xc1000100, "helper+0x0");
    expect_at(s, 0xc100017f, "helper+0x7f");
    expect_at(s, 0xc1000180, NULL); /* the last function ends at the next variable */
    expect_data(s, 0xc1000180, "some_data+0x0");
    expect_data(s, 0xc1ffffff, "some_data+0xfffe7f"); /* up to the next symbol */
    expect_data(s, 0xc2000000, "_end+0x0");           /* the last covers only itself */
    expect_data(s, 0xc2000001, NULL);
    expect_data(s, 0xffffffff, NULL);
    expect_at(s, 0xffffffff, NULL);
    expect_data(s, 0xc1000101, "helper+0x1"); /* no variable there: the function */
    symtab_free(s);
}
END_TEST

/* Variables between functions (a System.map with data symbols, as
 * images/kernel-map.sh writes) do not change what code addresses show;
 * data addresses show the variable. */
START_TEST(map_functions_and_variables) {
    SymTab *s = symtab_new();
    char err[256];
    ck_assert_int_eq(load_text(s,
                               "c1000000 T first\n"
                               "c1000040 d local_table\n" /* data inside text */
                               "c1000100 T second\n"
                               "c1c49d40 D jiffies_64\n"
                               "c1c49d40 D jiffies\n"
                               "c1c49d48 B after\n"
                               "c1d92000 T init_func\n"
                               "c1e00000 R last_ro\n",
                               err, sizeof err),
                     8);
    expect_at(s, 0xc1000050, "first+0x50"); /* not cut by local_table */
    expect_data(s, 0xc1000050, "local_table+0x10");
    expect_at(s, 0xc1000100, "second+0x0");
    expect_at(s, 0xc1c49d40, "second+0xc49c40"); /* up to the next function */
    expect_data(s, 0xc1c49d40, "jiffies+0x0");   /* same underscores: by name */
    expect_data(s, 0xc1c49d44, "jiffies+0x4");
    expect_data(s, 0xc1c49d48, "after+0x0");
    expect_data(s, 0xc1d91fff, "after+0x1482b7");
    expect_data(s, 0xc1d92000, "init_func+0x0");
    expect_at(s, 0xc1d92010, "init_func+0x10");
    expect_at(s, 0xc1e00000, NULL); /* the last function ends at the next variable */
    expect_data(s, 0xc1e00000, "last_ro+0x0");
    uint32_t off = 99;
    ck_assert_str_eq(symtab_lookup_data(s, 0xc1c49d42, &off), "jiffies");
    ck_assert_uint_eq(off, 2);
    ck_assert_ptr_null(symtab_lookup_data(s, 0xbfffffff, &off));
    ck_assert_ptr_null(symtab_lookup_data(NULL, 0xc1000000, &off));
    symtab_free(s);
}
END_TEST

START_TEST(map_kallsyms_and_several_files) {
    SymTab *s = symtab_new();
    char err[256];
    ck_assert_int_eq(load_text(s,
                               "f8a00000 t ext4_fill_super\t[ext4]\n"
                               "f8a00100 t ext4_other [ext4]\n",
                               err, sizeof err),
                     2);
    ck_assert_int_eq(load_text(s, "c1000000 T _text\nc1000010 T next\n", err, sizeof err), 2);
    expect_at(s, 0xf8a00004, "ext4_fill_super+0x4");
    expect_at(s, 0xc1000004, "_text+0x4");
    /* The later file's symbols now bound the earlier ones. */
    expect_at(s, 0xc1000010, "next+0x0");
    ck_assert_ptr_null(symtab_lookup(NULL, 0, NULL));
    symtab_free(s);
}
END_TEST

START_TEST(map_malformed) {
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"", "no symbols"},
        {"\n\n", "no symbols"},
        {"00000000 A only_absolute\n", "no symbols"},
        {"c1000000 T\n", "expected"},
        {"c1000000\n", "expected"},
        {"xyz T name\n", "expected"},
        {"c1000000 TT name\n", "expected"},
        {"c1000000 T name trailing words\n", "expected"},
        {"-1000 T name\n", "expected"},
        {"100000000 T too_high\n", "32 bits"},
        {"ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n",
         "placeholder"},
        {"12345678901234567 T seventeen_digits\n", "expected"},
        {"00000000 T zero\n00000000 t zero2\n", "every address is 0"},
        {"c1000000 T ok\nc1000004 T\n", "map:2:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SymTab *s = symtab_new();
        char err[256] = "";
        ck_assert_int_eq(load_text(s, "c0000000 T before\n", err, sizeof err), 1);
        ck_assert_msg(load_text(s, bad[i].text, err, sizeof err) == -1, "accepted: %s",
                      bad[i].text);
        ck_assert_msg(strstr(err, bad[i].msg), "'%s': message '%s' lacks '%s'", bad[i].text, err,
                      bad[i].msg);
        ck_assert_uint_eq(symtab_count(s), 1); /* unchanged */
        expect_at(s, 0xc0000000, "before+0x0");
        symtab_free(s);
    }
    /* Binary data and over-long names. */
    SymTab *s = symtab_new();
    char err[256];
    const uint8_t bin[] = {'c', '1', 0, ' ', 'T', ' ', 'x', '\n'};
    ck_assert_int_eq(symtab_load_buffer(s, "bin", bin, sizeof bin, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "binary"));
    char *line = malloc(3000);
    strcpy(line, "c1000000 T ");
    memset(line + 11, 'a', 2000);
    strcpy(line + 2011, "\n");
    ck_assert_int_eq(load_text(s, line, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "longer than"));
    free(line);
    ck_assert_int_eq(symtab_load_file(s, "/nonexistent/System.map", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/System.map"));
    symtab_free(s);
}
END_TEST

START_TEST(map_many_symbols) {
    /* 100,000 symbols in shuffled order: every lookup lands on the right one. */
    enum { N = 100000 };
    char *text = malloc((size_t)N * 32);
    size_t len = 0;
    for (uint32_t i = 0; i < N; i++) {
        uint32_t k = (i * 7919u) % N; /* a permutation (7919 is prime, N is not a multiple) */
        len += (size_t)sprintf(text + len, "%08x t f%u\n", 0x10000000u + k * 16, k);
    }
    SymTab *s = symtab_new();
    char err[256];
    ck_assert_int_eq(symtab_load_buffer(s, "big", (uint8_t *)text, len, err, sizeof err), N);
    for (uint32_t k = 0; k < N; k += 97) {
        char want[32];
        snprintf(want, sizeof want, "f%u+0x%x", k, k % 16);
        expect_at(s, 0x10000000u + k * 16 + k % 16, want);
    }
    free(text);
    symtab_free(s);
}
END_TEST

/* ---- ELF ---- */

typedef struct ElfSym {
    const char *name;
    uint32_t value, size;
    uint8_t info; /* bind << 4 | type */
    uint16_t shndx;
} ElfSym;

static void put16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A minimal ELF32 file: header, symbols, strings, section headers
 * (null, .symtab, .strtab). Returns its length; offsets in *symoff, *stroff,
 * *shoff. */
static size_t build_elf(uint8_t *buf, size_t cap, const ElfSym *syms, size_t n, size_t *symoff,
                        size_t *stroff, size_t *shoff) {
    memset(buf, 0, cap);
    memcpy(buf, "\177ELF", 4);
    buf[4] = 1; /* 32-bit */
    buf[5] = 1; /* little-endian */
    buf[6] = 1;
    put16(buf + 16, 2); /* ET_EXEC */
    put16(buf + 18, 3); /* EM_386 */
    size_t pos = 52;
    *symoff = pos;
    pos += 16 * (n + 1); /* symbol 0 is the null symbol */
    *stroff = pos;
    size_t str = 1;
    for (size_t i = 0; i < n; i++) {
        uint8_t *y = buf + *symoff + 16 * (i + 1);
        put32(y, (uint32_t)str);
        put32(y + 4, syms[i].value);
        put32(y + 8, syms[i].size);
        y[12] = syms[i].info;
        put16(y + 14, syms[i].shndx);
        strcpy((char *)buf + *stroff + str, syms[i].name);
        str += strlen(syms[i].name) + 1;
    }
    pos = *stroff + str;
    pos = (pos + 3) & ~(size_t)3;
    *shoff = pos;
    uint8_t *sh = buf + pos;
    /* [1] .symtab */
    put32(sh + 40 + 4, 2);
    put32(sh + 40 + 16, (uint32_t)*symoff);
    put32(sh + 40 + 20, (uint32_t)(16 * (n + 1)));
    put32(sh + 40 + 24, 2);
    put32(sh + 40 + 36, 16);
    /* [2] .strtab */
    put32(sh + 80 + 4, 3);
    put32(sh + 80 + 16, (uint32_t)*stroff);
    put32(sh + 80 + 20, (uint32_t)str);
    put32(buf + 32, (uint32_t)pos);
    put16(buf + 46, 40);
    put16(buf + 48, 3);
    put16(buf + 50, 2);
    ck_assert(pos + 120 <= cap);
    return pos + 120;
}

static const ElfSym elf_syms[] = {
    {"main", 0x08049000, 0x40, 0x12, 1},                 /* global function */
    {"helper", 0x08049040, 0x20, 0x02, 1},               /* local function */
    {"alias_of_main", 0x08049000, 0x40, 0x01 | 0x10, 2}, /* global object at main's address */
    {"counter", 0x0804c000, 4, 0x11, 3},                 /* global object */
    {"undefined_fn", 0, 0, 0x12, 0},                     /* undefined: skipped */
    {"a_section", 0x08049000, 0, 0x03, 1},               /* STT_SECTION: skipped */
    {"top", 0xfffffff0, 0x100, 0x12, 1},                 /* runs past 4 GiB */
};

START_TEST(elf_lookup) {
    uint8_t buf[1024];
    size_t so, st, sh;
    size_t len = build_elf(buf, sizeof buf, elf_syms, 7, &so, &st, &sh);
    SymTab *s = symtab_new();
    char err[256];
    ck_assert_int_eq(symtab_load_buffer(s, "elf", buf, len, err, sizeof err), 5);
    expect_at(s, 0x08048fff, NULL);
    expect_at(s, 0x08049000, "main+0x0"); /* a function before an object */
    expect_at(s, 0x0804903f, "main+0x3f");
    expect_at(s, 0x08049040, "helper+0x0");
    expect_at(s, 0x0804905f, "helper+0x1f");
    expect_at(s, 0x08049060, NULL); /* past helper's size */
    expect_data(s, 0x0804c003, "counter+0x3");
    expect_at(s, 0x0804c003, NULL); /* an object: not for code addresses */
    expect_data(s, 0x0804c004, NULL);
    expect_at(s, 0xffffffff, "top+0xf");
    symtab_free(s);
}
END_TEST

START_TEST(elf_malformed) {
    uint8_t good[1024], buf[1024];
    size_t so, st, sh;
    size_t len = build_elf(good, sizeof good, elf_syms, 7, &so, &st, &sh);
    static const struct {
        size_t off;
        int width; /* 1, 2 or 4 bytes */
        uint32_t value;
        const char *msg;
    } bad[] = {
        {4, 1, 2, "32-bit"},                    /* ELFCLASS64 */
        {5, 1, 2, "little-endian"},             /* big-endian */
        {48, 2, 0, "no section headers"},       /* e_shnum 0 */
        {46, 2, 64, "section headers"},         /* e_shentsize */
        {32, 4, 0xfffffff0, "section headers"}, /* e_shoff beyond the file */
        {48, 2, 0xffff, "section headers"},     /* e_shnum beyond the file */
    };
    SymTab *s = symtab_new();
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(buf, good, len);
        if (bad[i].width == 1)
            buf[bad[i].off] = (uint8_t)bad[i].value;
        else if (bad[i].width == 2)
            put16(buf + bad[i].off, bad[i].value);
        else
            put32(buf + bad[i].off, bad[i].value);
        ck_assert_int_eq(symtab_load_buffer(s, "elf", buf, len, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i].msg), "case %zu: '%s' lacks '%s'", i, err, bad[i].msg);
    }
    /* Section-relative corruptions. */
    const struct {
        size_t off;
        uint32_t value;
        const char *msg;
    } sec[] = {
        {sh + 40 + 16, 0xfffffff0, "symbol table header"}, /* .symtab offset */
        {sh + 40 + 20, 0x10000000, "symbol table header"}, /* .symtab size */
        {sh + 40 + 36, 24, "symbol table header"},         /* entsize */
        {sh + 40 + 24, 7, "symbol table header"},          /* link past shnum */
        {sh + 40 + 24, 0, "string table"},                 /* link to the null section */
        {sh + 80 + 20, 0x7fffffff, "string table"},        /* .strtab size */
        {so + 16, 0x10000, "outside its string table"},    /* a name offset */
        {sh + 80 + 20, 3, "not terminated"},               /* strings cut short */
        {sh + 40 + 4, 1, "no symbol table"},               /* .symtab becomes PROGBITS */
    };
    for (size_t i = 0; i < sizeof sec / sizeof sec[0]; i++) {
        memcpy(buf, good, len);
        put32(buf + sec[i].off, sec[i].value);
        ck_assert_int_eq(symtab_load_buffer(s, "elf", buf, len, err, sizeof err), -1);
        ck_assert_msg(strstr(err, sec[i].msg), "case %zu: '%s' lacks '%s'", i, err, sec[i].msg);
    }
    ck_assert_uint_eq(symtab_count(s), 0); /* nothing was ever added */
    /* Truncations at every length and single-byte corruptions: an error or
     * a table, never a crash (the ASan build checks the reads). */
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, good, n);
        long r = symtab_load_buffer(s, "elf", copy, n, err, sizeof err);
        ck_assert_msg(r == -1, "truncated to %zu bytes: accepted", n);
        free(copy);
    }
    for (size_t off = 0; off < len; off++) {
        for (int v = 0; v < 256; v += 51) {
            memcpy(buf, good, len);
            buf[off] ^= (uint8_t)(v | 1);
            symtab_load_buffer(s, "elf", buf, len, err, sizeof err);
        }
    }
    symtab_free(s);
}
END_TEST

START_TEST(elf_unterminated_name) {
    /* A string table whose last name runs to its end without a NUL. */
    const ElfSym one[] = {{"abcdef", 0x1000, 4, 0x12, 1}};
    uint8_t buf[512];
    size_t so, st, sh;
    size_t len = build_elf(buf, sizeof buf, one, 1, &so, &st, &sh);
    put32(buf + sh + 80 + 20, 1 + 3); /* "\0abc" */
    SymTab *s = symtab_new();
    char err[256];
    ck_assert_int_eq(symtab_load_buffer(s, "elf", buf, len, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not terminated"));
    symtab_free(s);
}
END_TEST

START_TEST(elf_real_64bit_file) {
    /* This test program itself is a 64-bit ELF on 64-bit hosts. */
    SymTab *s = symtab_new();
    char err[256];
    long r = symtab_load_file(s, "/proc/self/exe", err, sizeof err);
    if (sizeof(void *) == 8) {
        ck_assert_int_eq(r, -1);
        ck_assert_ptr_nonnull(strstr(err, "32-bit"));
    }
    symtab_free(s);
}
END_TEST

static Suite *symbols_suite(void) {
    Suite *s = suite_create("symbols");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, map_lookup);
    tcase_add_test(t, map_functions_and_variables);
    tcase_add_test(t, map_kallsyms_and_several_files);
    tcase_add_test(t, map_malformed);
    tcase_add_test(t, map_many_symbols);
    tcase_add_test(t, elf_lookup);
    tcase_add_test(t, elf_malformed);
    tcase_add_test(t, elf_unterminated_name);
    tcase_add_test(t, elf_real_64bit_file);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(symbols_suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? 1 : 0;
}
