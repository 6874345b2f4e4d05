#!/usr/bin/env bash
# vmm lab, one Linux boot: the default guest (images/build-default.sh) under
# -vmm bt on bt86's jit reaches its shell and answers correctly, then powers
# off; the report (written at exit) has what the translator counted: kernel
# instructions translated identically and rewritten inline (CLI/STI,
# PUSHF/POPF), call-outs (I/O, CR3 switches, INVLPG, IRET...), user
# instructions run directly, system calls, kernel blocks translated and
# invalidated, the translation cache, and the shadow-paging events.
#   linux-bt.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
map=$(dirname "$img")/System.map
. "$(dirname "$0")/../system/guest.sh"
guest_need vmm-linux-bt "$img"
report=$(mktemp --suffix=.json)
guest_start "$bt86" -m 256 -hda "$img" -snapshot -nographic -no-reboot -max-insns 40000000000 \
  -accel jit -vmm bt -vmm-report "$report"
guest_wait_prompt 900
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
ev = r["events"]
for cls in ("bt.ident", "bt.inline", "bt.direct_branch", "bt.indirect", "bt.callout.io",
            "bt.callout.cr3_switch", "bt.callout.invlpg", "bt.callout.other", "bt.direct_user",
            "bt.syscall", "bt.translate", "bt.irq", "bt.pf_guest", "bt.pf_hidden",
            "bt.pf_tracing"):
    if ev.get(cls, 0) <= 0:
        bad.append("%s is %s" % (cls, ev.get(cls)))
if r["model"] != "bt" or r["kernel_instructions"] < 10**8 or r["user_instructions"] < 10**6:
    bad.append("model %s, %d kernel, %d user instructions" %
               (r["model"], r["kernel_instructions"], r["user_instructions"]))
if r["instructions"] != r["kernel_instructions"] + r["user_instructions"] + r["realmode_instructions"]:
    bad.append("instruction counts do not add up")
if ev.get("bt.direct_user") != r["user_instructions"]:
    bad.append("bt.direct_user is not the user instructions")
tc = r["translation_cache"]
if tc["kernel_blocks"] <= 0 or tc["kernel_host_code_bytes"] <= 0:
    bad.append("translation cache %s" % tc)
print("vmm-linux-bt: %d instructions (%d kernel, %d user); translation cache %s; events: %s" %
      (r["instructions"], r["kernel_instructions"], r["user_instructions"], tc,
       ", ".join("%s %d" % kv for kv in ev.items() if kv[1])))
if bad:
    print("vmm-linux-bt: " + "; ".join(bad)); sys.exit(1)
PY
rm -f "$report"
[ $fail = 0 ] && echo "vmm-linux-bt: ok"
exit $fail
