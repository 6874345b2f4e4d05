/*
 * main.c - the bt86 command (placeholder until the front end lands: runs a
 * BIOS image on the bare CPU).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cpu/cpu.h"
#include "devices/bus.h"

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "bt86: front end not built yet\n");
    return 1;
}
