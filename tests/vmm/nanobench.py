#!/usr/bin/env python3
"""nanobench.py - run the lab's nanobenchmark guest under each -vmm model.

For every benchmark and model, bt86 runs the ROM twice (1 and 1 + K
iterations, built by CMake as nanobench-NAME-ITERS.rom) and the difference
of the two reports, divided by K, is the events and modelled cycles of one
iteration. Prints that table; with --check compares every event class with
the counts docs/teaching/lab-nanobench.md derives from the models' rules
(any class not listed must stay at 0) and exits 1 on a difference.

A model may name bt86's engine after a colon: bt runs on bt86's own
translator and takes its counts from it, so it is checked under the jit
(bt:jit) and the threaded engine (bt:threaded); the same counts are due
under both. Every run has -icount (deterministic).

    nanobench.py BT86 ROMDIR [--check] [--models trap,bt:jit,...] [--k 1000]
                 [--benches in,smc,...]

The bench "smc" (not one of the paper's: self-modifying code) is only
run when asked for, under bt.
"""
import json
import os
import subprocess
import sys
import tempfile

BENCHES = ["syscall", "in", "cr8wr", "callret", "pgfault", "divzero", "ptemod", "vmcall"]
MODELS = ["trap", "trap-detect", "bt:jit", "bt:threaded", "hw", "hw-ept", "pv"]
# Benchmarks of one model only: VMCALL is #UD without a hypervisor that
# takes hypercalls (-vmm pv).
ONLY = {"vmcall": "pv"}

# Events per iteration, by model (trap-detect counts as trap, pv as hw-ept).
TRAP = {
    "syscall": {"trap.int": 1},
    "in": {"trap.io": 1},
    "cr8wr": {"trap.cr_write": 1},
    "callret": {},
    "pgfault": {"trap.pf_guest": 1, "trap.iret": 1},
    "divzero": {"trap.exception": 1, "trap.iret": 1},
    "ptemod": {"trap.pf_tracing": 1},
}
# bt: an instruction that faults is not counted (its exception is): the
# MOV of pgfault and the DIV of divzero.
BT = {
    "syscall": {"bt.syscall": 1, "bt.direct_user": 2, "bt.callout.other": 1},
    "in": {"bt.callout.io": 1, "bt.direct_branch": 1},
    "cr8wr": {"bt.callout.cr_write": 1, "bt.direct_branch": 1},
    "callret": {"bt.direct_branch": 2, "bt.indirect": 1},
    "pgfault": {"bt.pf_guest": 1, "bt.callout.other": 1, "bt.ident": 2, "bt.direct_branch": 1},
    "divzero": {"bt.exception": 1, "bt.callout.other": 1, "bt.ident": 3, "bt.direct_branch": 1},
    "ptemod": {"bt.pf_tracing": 1, "bt.ident": 1, "bt.direct_branch": 1},
    # the store invalidates the routine's block (translated again at the
    # call) and leaves its own block early (the MOVs after it count once);
    # MOV r,SS is inline, MOV SS,r ident, and the CALL under its interrupt
    # shadow runs alone (counted once too)
    "smc": {"bt.tc_invalidate": 1, "bt.translate": 1, "bt.ident": 3, "bt.inline": 1,
            "bt.direct_branch": 2, "bt.indirect": 1},
}
HW = {
    "syscall": {},
    "in": {"exit.io": 1},
    "cr8wr": {"exit.cr_access": 1},
    "callret": {},
    "pgfault": {"exit.exception.pf_guest": 1},
    "divzero": {},
    "ptemod": {"exit.exception.pf_tracing": 1},
}
EPT = {
    "syscall": {},
    "in": {"exit.io": 1},
    "cr8wr": {"exit.cr_access": 1},
    "callret": {},
    "pgfault": {},
    "divzero": {},
    "ptemod": {},
}
PV = dict(EPT, vmcall={"exit.vmcall": 1, "pv.hypercall.vapic_poll_irq": 1})
# Classes that may differ by a few events between the two runs (the longer
# loop translates its loop head once more).
ONE_OFF = {"bt.translate"}
EXPECTED = {"trap": TRAP, "trap-detect": TRAP, "bt": BT, "hw": HW, "hw-ept": EPT, "pv": PV}


def run(bt86, rom, model, tmp):
    report = os.path.join(tmp, "r.json")
    if os.path.exists(report):
        os.unlink(report)
    model, _, engine = model.partition(":")
    accel = ["-accel", engine] if engine else []
    p = subprocess.run([bt86, "-bios", rom, "-vmm", model, "-vmm-report", report] + accel +
                       ["-icount", "shift=1", "-display", "none", "-serial", "none",
                        "-max-insns", "50000000"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0 or "the CPU halted" not in out or not os.path.exists(report):
        sys.exit("nanobench: %s under %s did not run to its end (rc %d):\n%s" %
                 (rom, model, p.returncode, out))
    with open(report) as f:
        return json.load(f)


def main():
    args = sys.argv[1:]
    check = "--check" in args
    k = 1000
    models = MODELS
    benches = BENCHES
    pos = []
    i = 0
    while i < len(args):
        if args[i] == "--models":
            models = args[i + 1].split(",")
            i += 1
        elif args[i] == "--benches":
            benches = args[i + 1].split(",")
            i += 1
        elif args[i] == "--k":
            k = int(args[i + 1])
            i += 1
        elif args[i] != "--check":
            pos.append(args[i])
        i += 1
    bt86, romdir = pos
    fail = False
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            print("== -vmm %s: events and modelled cycles per iteration" % model)
            for b in benches:
                if ONLY.get(b, model) != model:
                    continue
                r1 = run(bt86, os.path.join(romdir, "nanobench-%s-1.rom" % b), model, tmp)
                rk = run(bt86, os.path.join(romdir, "nanobench-%s-%d.rom" % (b, 1 + k)), model, tmp)
                per, once = {}, {}
                for cls, n in rk["events"].items():
                    d = n - r1["events"][cls]
                    if cls in ONE_OFF and abs(d) >= k // 2 and 0 < abs(d % k) < 10:
                        once[cls] = d % k  # per iteration, and a few more once
                        d -= d % k
                    if d and abs(d) < k // 2:
                        once[cls] = d  # not per iteration: e.g. one more translation
                    elif d % k:
                        per[cls] = d / k
                    elif d:
                        per[cls] = d // k
                cycles = (rk["modeled_cycles"] - r1["modeled_cycles"]) / k
                desc = ", ".join("%s %s" % (c, n) for c, n in sorted(per.items())) or "no events"
                if once:
                    desc += " (once: %s)" % ", ".join("%s %+d" % (c, n) for c, n in sorted(once.items()))
                print("  %-8s %9.0f cycles  %s" % (b, cycles, desc))
                if check:
                    want = EXPECTED[model.partition(":")[0]][b]
                    if per != want or any(c not in ONE_OFF for c in once):
                        print("  FAIL: %s under %s: expected %s" % (b, model, want))
                        fail = True
    if check:
        print("nanobench: %s" % ("FAILED" if fail else "ok"))
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
