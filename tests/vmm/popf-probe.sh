#!/usr/bin/env bash
# vmm lab: the POPF probe (tests/vmm/nanobench.s, BENCH=8). A kernel's
# PUSHF; CLI; POPF must give interrupts back, then HLT waits for the timer.
#  - under -vmm trap the POPF runs in ring 1 and keeps IF = 0, as real
#    ring-1 hardware would: the guest never wakes (bt86 reports the CPU
#    halted with nothing to wake it) and never prints its line;
#  - under -vmm trap-detect the guest runs correctly, prints its line, and
#    the report names the POPF at its address (popf_insn in the ELF), with
#    what the guest would have seen (IF=0) against what it should (IF=1).
bt86=$1
dir=$2
rom=$dir/nanobench-popfprobe-1.rom
elf=$dir/nanobench-popfprobe-1.elf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
addr=$(printf '0x%08x' 0x$(nm "$elf" | awk '$3 == "popf_insn" {print $1}'))
for m in trap trap-detect; do
  "$bt86" -bios "$rom" -symbols "$elf" -vmm $m -vmm-report "$tmp/$m.json" -debugcon "file:$tmp/$m.dbg" \
    -display none -serial none -max-insns 20000000 >"$tmp/$m.out" 2>&1
  echo "exit $?" >>"$tmp/$m.out"
done
# trap: hangs at the HLT after the POPF.
if ! grep -q "the CPU halted with nothing left to wake it" "$tmp/trap.out" || grep -q popf-probe "$tmp/trap.dbg"; then
  echo "popf-probe: under trap the guest should hang after its POPF:"; cat "$tmp/trap.out" "$tmp/trap.dbg"; fail=1
fi
# trap-detect: runs to its end.
if ! grep -qx "popf-probe: the timer woke the CPU" "$tmp/trap-detect.dbg"; then
  echo "popf-probe: under trap-detect the guest should run correctly:"; cat "$tmp/trap-detect.out" "$tmp/trap-detect.dbg"; fail=1
fi
python3 - "$tmp" "$addr" <<'PY' || fail=1
import json, sys
tmp, addr = sys.argv[1], sys.argv[2]
bad = False
for m in ("trap", "trap-detect"):
    r = json.load(open("%s/%s.json" % (tmp, m)))
    for key in ("model", "instructions", "events", "violations", "modeled_cycles"):
        if key not in r:
            print("popf-probe: %s report lacks %s" % (m, key)); bad = True
    v = [x for x in r["violations"] if x["mnemonic"] == "popf"]
    if len(v) != 1 or v[0]["eip"] != addr or v[0]["count"] != 1 or v[0]["differs"] != 1 \
            or v[0].get("symbol") != "popf_insn+0x0" or v[0]["saw"] != "IF=0 IOPL=0" \
            or v[0]["expected"] != "IF=1 IOPL=0":
        print("popf-probe: %s: expected one POPF violation at %s (popf_insn), IF=0 against IF=1: %s"
              % (m, addr, v)); bad = True
    # The STI and CLI around it trapped (ring 1, IOPL 0).
    if r["events"]["trap.cli_sti"] < 2:
        print("popf-probe: %s: STI/CLI traps: %s" % (m, r["events"]["trap.cli_sti"])); bad = True
# trap-detect's guest was woken by its timer (IRQ 0, through the VMM).
rd = json.load(open("%s/trap-detect.json" % tmp))
if rd["events"]["trap.irq"] < 1:
    print("popf-probe: no timer interrupt under trap-detect"); bad = True
sys.exit(1 if bad else 0)
PY
[ $fail -eq 0 ] && echo "popf-probe: ok"
exit $fail
