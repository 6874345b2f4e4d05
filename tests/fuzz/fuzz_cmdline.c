/*
 * fuzz_cmdline.c - libFuzzer target: bt86's command line (the option
 * parser of src/frontend/main.c, compiled into this file with its main()
 * renamed): parse_args with any arguments, then what main() parses next
 * (-rtc, -d). Bad options must give a message and an error, never a host
 * crash or sanitizer report.
 *
 * Input: the arguments, separated by NUL bytes (at most 64). The value
 * after -symbols is not taken as a path (a fuzzer could name /dev/stdin):
 * it becomes the contents of a file in the fuzz temporary directory, whose
 * name the parser gets, so the symbol-file reader is fuzzed as well.
 * Nothing is started: no machine, no files opened but that one.
 */
#define main bt86_main
#include "frontend/main.c"
#undef main

#include "fuzz_machine.h"

#define MAX_ARGS 64

static char symbols_path[320];

static void write_symbols(const char *text) {
    FILE *f = fopen(symbols_path, "wb");
    if (!f) abort();
    fputs(text, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!symbols_path[0]) {
        snprintf(symbols_path, sizeof symbols_path, "%s/symbols.map", fuzz_tmpdir());
        if (!freopen("/dev/null", "w", stdout)) abort(); /* -help prints the usage */
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "bt86";
    for (size_t at = 0; at < size && argc <= MAX_ARGS;) {
        argv[argc++] = text + at;
        at += strlen(text + at) + 1;
    }
    argv[argc] = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        const char *a = argv[i][0] == '-' && argv[i][1] == '-' ? argv[i] + 1 : argv[i];
        if (strcmp(a, "-symbols") == 0) {
            write_symbols(argv[i + 1]);
            argv[++i] = symbols_path;
        }
    }
    Options o = {.ram_mb = 128,
                 .bios = "/usr/share/seabios/bios.bin",
                 .engine = -1,
                 .icount_shift = ICOUNT_OFF,
                 .dfilter = {.cpl = -1}};
    if (parse_args(argc, argv, &o) == 0) {
        int64_t start;
        (void)rtc_start(o.rtc, &start);
        unsigned mask;
        const char *bad;
        if (o.trace && strcmp(o.trace, "help") != 0) (void)tracer_parse_flags(o.trace, &mask, &bad);
    }
    symtab_free(o.symbols);
    trace_filter_free(&o.dfilter);
    free(o.chardev_path);
    free(text);
    return 0;
}
