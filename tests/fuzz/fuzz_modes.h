/*
 * fuzz_modes.h - the CPU modes the CPU fuzz targets run guest code in, on
 * the unit tests' bare machine (tests/unit/helpers/testmachine.h).
 *
 *   FUZZ_REAL   real mode, CS = TM_CODE >> 4, IP = 0
 *   FUZZ_PM0    flat 32-bit protected mode, CPL 0, no paging
 *   FUZZ_PM3    flat 32-bit protected mode, CPL 3, paging on (all RAM
 *               identity-mapped, user and writable)
 *   FUZZ_V86    virtual-8086 mode (entered by IRET from CPL 0), CS:IP =
 *               0500:0000, IOPL 3 or 0 as asked
 *   FUZZ_PM16   16-bit protected mode (CPL 0), for the decoder
 *
 * Use:
 *     uint32_t code = fuzz_enter_mode(tm, FUZZ_PM3, 0);  // linear address of CS:EIP
 *     tm_poke(tm, code, bytes, n);
 */
#ifndef BT86_FUZZ_MODES_H
#define BT86_FUZZ_MODES_H

#include <stdint.h>

#include "testmachine.h"

enum { FUZZ_REAL, FUZZ_PM0, FUZZ_PM3, FUZZ_V86, FUZZ_PM16, FUZZ_MODES };

#define FUZZ_V86_CODE 0x5000u

/* Put the machine's CPU in `mode` (flags: FL_IOPL bits for V86); returns
 * the linear address where the code to run goes. */
uint32_t fuzz_enter_mode(TestMachine *tm, unsigned mode, uint32_t flags);

#endif
