/*
 * fuzz_linuxboot.c - libFuzzer target: the bzImage setup-header checks and
 * patching of direct kernel boot (devices/linuxboot.h), for any RAM size,
 * initrd size and command line, and the option ROM built from the plan.
 *
 * Input: RAM size (32 bits), initrd size (32 bits), a command-line length
 * byte and its bytes, then the kernel image (the rest). A refused kernel
 * is expected; a host crash, a sanitizer report, or a plan that does not
 * fit in the RAM it was made for is a bug.
 */
#include <stdio.h>
#include <stdlib.h>

#include "devices/linuxboot.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FuzzInput in = {data, size};
    uint32_t ram = fuzz_u32(&in);
    uint32_t initrd_size = fuzz_u32(&in);
    char cmdline[256];
    size_t n = fuzz_bytes(&in, cmdline, fuzz_u8(&in));
    cmdline[n] = 0;
    uint8_t *kernel = malloc(in.size ? in.size : 1);
    if (!kernel) return 0;
    size_t kernel_len = fuzz_bytes(&in, kernel, in.size);
    LinuxBootPlan plan;
    char err[512];
    if (linuxboot_prepare(kernel, kernel_len, initrd_size, cmdline, ram, &plan, err, sizeof err) ==
        0) {
        if (plan.initrd_size && (uint64_t)plan.initrd_addr + plan.initrd_size > ram) abort();
        uint8_t rom[LINUXBOOT_ROM_SIZE];
        linuxboot_build_rom(&plan, rom);
    }
    free(kernel);
    return 0;
}
