#!/usr/bin/env bash
# vmm lab: the ring-1 probe (tests/vmm/nanobench.s, BENCH=10). At CPL 0
# it runs LSL (the TSS), VERR (RPL 1 on a DPL-0 data segment), LAR, VERW,
# a load of FS with RPL 1, SS reloaded from SS, a far CALL and RETs, INT n
# through a DPL-0 gate, then KVM hypercalls (VMCALL/VMMCALL, also from
# user mode), one line each on port 0xE9.
#  - no -vmm, under each engine: correct results; VMCALL is #UD (the
#    probe's #UD handler gives EAX = 0x0BAD0BAD);
#  - -vmm trap: the results ring 1 gives on the VMM's shadow descriptors
#    (docs/teaching/lab-trap.md);
#  - -vmm trap-detect: correct results, and the report has each place
#    with what ring 1 would have shown;
#  - -vmm pv: the hypercalls' results and counts; -vmm hw: each VMCALL is
#    an exit, answered with #UD.
bt86=$1
dir=$2
rom=$dir/nanobench-ring1probe-1.rom
elf=$dir/nanobench-ring1probe-1.elf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
run() { # name, args...
  local n=$1
  shift
  "$bt86" -bios "$rom" -symbols "$elf" -debugcon "file:$tmp/$n.dbg" -display none -serial none \
    -max-insns 20000000 "$@" >"$tmp/$n.out" 2>&1
  echo "exit $?" >>"$tmp/$n.out"
}
for e in jit threaded interp; do run "none-$e" -accel $e; done
for m in trap trap-detect pv hw; do run $m -vmm $m -vmm-report "$tmp/$m.json"; done

native='lsl-tss zf=1 ebx=00000067
verr-kdata-rpl1 zf=0
lar-kdata zf=1 ebx=00cf9200
verw-kdata zf=1
fs-load-rpl1 gp=1 fs=0010
ss=0010
lcall pushed cs=0008
lret to pushed cs: ok
int82 handler ran=1'
ring1='lsl-tss zf=0 ebx=00000067
verr-kdata-rpl1 zf=1
lar-kdata zf=1 ebx=00cfb200
verw-kdata zf=1
fs-load-rpl1 gp=0 fs=0011
ss=0011
lcall pushed cs=0009
lret to pushed cs: ok
int82 handler ran=1'
ud='vmcall nr=1 eax=0bad0bad
vmcall nr=999 eax=0bad0bad
vmmcall nr=5 eax=0bad0bad
vmcall nr=1 user eax=0bad0bad
ring1-probe: done'
kvm='vmcall nr=1 eax=00000000
vmcall nr=999 eax=fffffc18
vmmcall nr=5 eax=fffffc18
vmcall nr=1 user eax=ffffffff
ring1-probe: done'
check() { # name, expected output
  if [ "$(cat "$tmp/$1.dbg" 2>/dev/null)" != "$2" ]; then
    echo "ring1-probe: $1: expected"
    echo "$2"
    echo "-- got"
    cat "$tmp/$1.dbg" "$tmp/$1.out"
    fail=1
  fi
}
for e in jit threaded interp; do check "none-$e" "$native
$ud"; done
check trap "$ring1
$ud"
check trap-detect "$native
$ud"
check pv "$native
$kvm"
check hw "$native
$ud"

python3 - "$tmp" <<'PY' || fail=1
import json, sys
tmp = sys.argv[1]
bad = False
def viol(r, mnemonic, **want):
    v = [x for x in r["violations"] if x["mnemonic"] == mnemonic and
         all(x.get(k) == w for k, w in want.items())]
    return v
for m in ("trap", "trap-detect"):
    r = json.load(open("%s/%s.json" % (tmp, m)))
    want = [("lsl", dict(saw="ZF=0", expected="ZF=1 limit 0x00000067", differs=1)),
            ("verr", dict(saw="ZF=1", expected="ZF=0", differs=1)),
            ("lar", dict(saw="ZF=1 access 0x00cfb200", expected="ZF=1 access 0x00cf9200", differs=1)),
            ("verw", dict(saw="ZF=1", expected="ZF=1", differs=0)),
            ("mov", dict(symbol="fs_load_insn+0x0", saw="FS=0x0011 loaded (DPL 1)",
                         expected="#GP(0x0010)", differs=1)),
            ("callf", dict(saw="pushed CS 0x0009 (RPL 1)", expected="pushed CS 0x0008", differs=1)),
            ("int", dict(expected="INT 0x82 through gate DPL 0"))]
    for mn, w in want:
        if len(viol(r, mn, **w)) != 1:
            print("ring1-probe: %s: no %s violation %s in %s" % (m, mn, w, r["violations"])); bad = True
    # ring 1 refuses (trap, emulated): the SS loads with RPL 0 (the ROM's
    # and the probe's), under trap-detect also the SS reload from SS (RPL
    # 0 there) and the two far RETs to RPL 0.
    n = r["events"]["trap.ring1_gp"]
    if n != (2 if m == "trap" else 5):
        print("ring1-probe: %s: trap.ring1_gp %d" % (m, n)); bad = True
r = json.load(open("%s/pv.json" % tmp))
want = {"exit.vmcall": 4, "pv.hypercall.vapic_poll_irq": 2, "pv.hypercall.kick_cpu": 1,
        "pv.hypercall.unknown": 1, "pv.hypercall.denied_cpl": 1, "pv.hypercall.send_ipi": 0}
for k, n in want.items():
    if r["events"].get(k) != n:
        print("ring1-probe: pv: %s = %s, expected %d" % (k, r["events"].get(k), n)); bad = True
if r["violations"]:
    print("ring1-probe: pv reports violations"); bad = True
# hw: every VMCALL exits (reason 18); the hypervisor injects #UD.
r = json.load(open("%s/hw.json" % tmp))
if r["events"].get("exit.vmcall") != 4 or r["exit_reasons"].get("exit.vmcall") != 18:
    print("ring1-probe: hw: exit.vmcall %s" % r["events"].get("exit.vmcall")); bad = True
sys.exit(1 if bad else 0)
PY
[ $fail -eq 0 ] && echo "ring1-probe: ok"
exit $fail
