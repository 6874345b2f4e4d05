#!/usr/bin/env bash
# vmm lab, one Linux boot: the default guest under -vmm pv. Debian's 686
# kernel (CONFIG_KVM_GUEST) finds KVM's paravirtual interface (the CPUID
# hypervisor bit and "KVMKVMKVM" at leaf 0x40000000), chooses kvm-clock as
# its clocksource (it offers the stable bit, so the kernel takes the TSC
# frequency from the pvclock: 500 MHz), reaches its shell, answers
# correctly, its clock advances, and it powers off; the report counts the
# kvm-clock MSR writes and CPUID's hypervisor leaves, and VM exits by
# reason (hw-ept rules).
# -icount shift=1: the boot runs on the interpreter (a model watches every
# instruction), so virtual time follows the instruction count, not the
# host's clock: the boot's length does not grow on a slow or busy host.
#   linux-pv.sh BT86 [IMAGE]
# Skips (77) when the image has not been built, unless BT86_REQUIRE_LINUX=1.
bt86=$1
img=${2:-$(dirname "$0")/../../images/out/disk.img}
. "$(dirname "$0")/../system/guest.sh"
guest_need vmm-linux-pv "$img"
report=$(mktemp --suffix=.json)
guest_start "$bt86" -m 256 -hda "$img" -snapshot -nographic -no-reboot -max-insns 40000000000 -icount shift=1 \
  -vmm pv -vmm-report "$report"
guest_wait_prompt 1800
send 'echo BT86-$((6*7))-OK'
send 'cat /sys/devices/system/clocksource/clocksource0/current_clocksource'
send 'dmesg | grep -iE "hypervisor detected|kvm-clock|tsc: detected" | head -5'
send 'a=$(cut -d" " -f1 /proc/uptime); sleep 1; b=$(cut -d" " -f1 /proc/uptime); echo "UPTIME $a $b"'
guest_poweroff
sed -n '/BT86-/,$p' "$out" | head -20
check '^BT86-42-OK'
check '^kvm-clock'
check 'Hypervisor detected: KVM'
check 'tsc: Detected 500\.0[0-9]* MHz'
if ! tr -d '\r' <"$out" | awk '/^UPTIME/ { exit !($3 > $2) }'; then
  echo "vmm-linux-pv: the guest's uptime did not advance"; fail=1
fi
check_powered_off
check_no "Kernel panic" "Oops" "BUG:" "general protection"
python3 - "$report" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
ev = r["events"]
bad = []
for cls in ("pv.kvmclock_msr", "pv.cpuid_hypervisor_leaf", "exit.io", "exit.wrmsr", "exit.cpuid",
            "exit.external_interrupt", "exit.hlt"):
    if ev.get(cls, 0) <= 0:
        bad.append("%s is %s" % (cls, ev.get(cls)))
for cls in ("exit.exception.pf_guest", "exit.invlpg"):
    if cls in ev:
        bad.append("%s under nested paging" % cls)
print("vmm-linux-pv: %d instructions; events: %s" %
      (r["instructions"], ", ".join("%s %d" % kv for kv in ev.items() if kv[1])))
if bad:
    print("vmm-linux-pv: " + "; ".join(bad)); sys.exit(1)
PY
rm -f "$report"
[ $fail = 0 ] && echo "vmm-linux-pv: ok"
exit $fail
