/*
 * lockstep.h - the translator's main debugging tool: run the same guest on
 * two identical machines, one with a translating engine and one with the
 * interpreter, and stop at the first point where their architectural state
 * (registers, flags, segments, control registers, x87 control/status, and
 * periodically all of RAM) differs, printing both states and the guest code.
 *
 * Both machines see the same virtual time (it follows the instruction
 * count), so device interrupts arrive at the same instruction on each side;
 * disks are opened in snapshot mode and only the first machine's serial
 * output is shown. Bytes read from input_fd (if >= 0) go to both machines'
 * COM1 between two comparisons, so a scripted session (commands typed at
 * the guest's shell) is checked too. The comparison runs every `chunk`
 * instructions: 1 finds the exact instruction, larger values run faster.
 *
 * Use: lockstep_run(&cfg, ENGINE_THREADED, max_insns, 10000, 0, stderr)
 * returns 0 (no divergence), 1 (divergence) or -1 (could not start).
 * lockstep_set_symbols(syms) first makes the divergence report show the
 * next instruction's function+offset (-symbols).
 */
#ifndef BT86_LOCKSTEP_H
#define BT86_LOCKSTEP_H

#include <stdint.h>
#include <stdio.h>

#include "dbt/dbt.h"
#include "devices/pc.h"
#include "frontend/symbols.h"

void lockstep_set_symbols(const SymTab *syms);

int lockstep_run(const PcConfig *cfg, DbtEngine engine, uint64_t max_insns, uint64_t chunk,
                 int input_fd, FILE *out);

#endif
