#!/usr/bin/env bash
# vmm lab, one Linux boot: the default guest (images/build-default.sh) under
# -vmm trap-detect reaches its shell and answers correctly (trap-detect
# counts like a trap-and-emulate VMM but runs the sensitive instructions
# correctly), then powers off; the report (written at exit) names POPF and
# PUSHF among the places where a trap-and-emulate VMM would have broken the
# kernel, with their kernel symbols (System.map), and counts the traps a
# ring-compressing VMM takes: CLI/STI, I/O, CR3 switches, IRQs, page-table
# writes (tracing) and hidden page faults; `info vmm` answers on the monitor.
# -icount shift=1: the boot runs on the interpreter (a model watches every
# instruction), so virtual time follows the instruction count, not the
# host's clock: the boot's length does not grow on a slow or busy host.
#   linux-trap-detect.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
map=$(dirname "$img")/System.map
. "$(dirname "$0")/../system/guest.sh"
guest_need vmm-linux-trap-detect "$img" "$map"
report=$(mktemp --suffix=.json)
trap2() { rm -f "$report"; }
guest_start "$bt86" -m 256 -hda "$img" -snapshot -nographic -no-reboot -max-insns 40000000000 -icount shift=1 \
  -vmm trap-detect -vmm-report "$report" -symbols "$map"
guest_wait_prompt 1800
send 'echo BT86-$((6*7))-OK'
send 'uname -sm'
guest_poweroff
sed -n '/BT86-/,$p' "$out" | head -20
check '^BT86-42-OK'
check '^Linux i686'
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection"
python3 - "$report" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
names = {v["mnemonic"] for v in r["violations"]}
for m in ("popf", "pushf"):
    if m not in names:
        bad.append("no %s among the violations" % m)
pf = [v for v in r["violations"] if v["mnemonic"] == "pushf" and v.get("symbol")]
if not pf:
    bad.append("no kernel symbol for a PUSHF violation")
ev = r["events"]
for cls in ("trap.cli_sti", "trap.io", "trap.cr3_switch", "trap.irq", "trap.pf_tracing",
            "trap.pf_hidden", "trap.pf_guest", "trap.int", "trap.iret"):
    if ev.get(cls, 0) <= 0:
        bad.append("%s is %s" % (cls, ev.get(cls)))
if r["model"] != "trap-detect" or r["instructions"] < 10**9:
    bad.append("model %s, %d instructions" % (r["model"], r["instructions"]))
print("vmm-linux-trap-detect: %d instructions, %d violation places; events: %s" %
      (r["instructions"], len(r["violations"]), ", ".join("%s %d" % kv for kv in ev.items() if kv[1])))
for v in sorted(r["violations"], key=lambda v: -v["count"])[:8]:
    print("  %-6s %s %-40s x%d" % (v["mnemonic"], v["eip"], v.get("symbol", ""), v["count"]))
if bad:
    print("vmm-linux-trap-detect: " + "; ".join(bad)); sys.exit(1)
PY
rm -f "$report"
[ $fail = 0 ] && echo "vmm-linux-trap-detect: ok"
exit $fail
