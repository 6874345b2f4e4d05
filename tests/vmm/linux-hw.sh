#!/usr/bin/env bash
# vmm lab, one Linux boot per hardware-assist model: the default guest
# (images/build-default.sh) under -vmm hw (first-generation VT-x, shadow
# paging) or -vmm hw-ept (nested paging) reaches its shell, answers
# correctly and powers off; the report (written at exit) counts the VM
# exits a typical VMCS configuration takes by their SDM exit reasons: I/O,
# CPUID, HLT, control-register accesses, external interrupts, MSRs, and
# under hw the #PF exits of shadow paging (hidden and tracing faults) and
# INVLPG, which hw-ept must not have.
# -icount shift=1: a counting model runs the boot on the interpreter, so
# virtual time follows the instruction count (the boot's length does not
# depend on the host's speed).
#   linux-hw.sh BT86 hw|hw-ept [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
model=$2
img=${3:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/../system/guest.sh"
guest_need "vmm-linux-$model" "$img"
report=$(mktemp --suffix=.json)
guest_start "$bt86" -m 256 -hda "$img" -snapshot -nographic -no-reboot -max-insns 40000000000 -icount shift=1 \
  -vmm "$model" -vmm-report "$report"
guest_wait_prompt 1800
send 'echo BT86-$((6*7))-OK'
send 'uname -sm'
guest_poweroff
sed -n '/BT86-/,$p' "$out" | head -20
check '^BT86-42-OK'
check '^Linux i686'
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection"
python3 - "$report" "$model" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
model = sys.argv[2]
ev = r["events"]
bad = []
need = ["exit.io", "exit.cpuid", "exit.hlt", "exit.cr_access", "exit.external_interrupt",
        "exit.rdmsr", "exit.wrmsr"]
shadow = ["exit.exception.pf_hidden", "exit.exception.pf_tracing", "exit.invlpg"]
if model == "hw":
    need += shadow
else:
    for cls in shadow:
        if ev.get(cls, 0):
            bad.append("%s is %d under nested paging" % (cls, ev[cls]))
for cls in need:
    if ev.get(cls, 0) <= 0:
        bad.append("%s is %s" % (cls, ev.get(cls)))
if r["model"] != model or r["instructions"] < 10**9 or r["modeled_cycles"] <= 0:
    bad.append("model %s, %d instructions, %s cycles" %
               (r["model"], r["instructions"], r["modeled_cycles"]))
print("vmm-linux-%s: %d instructions; events: %s" %
      (model, r["instructions"], ", ".join("%s %d" % kv for kv in ev.items() if kv[1])))
if bad:
    print("vmm-linux-%s: %s" % (model, "; ".join(bad))); sys.exit(1)
PY
rm -f "$report"
[ $fail = 0 ] && echo "vmm-linux-$model: ok"
exit $fail
