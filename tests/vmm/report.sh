#!/usr/bin/env bash
# vmm lab: the report and the options. On the nanobenchmark ROM (in x 1001):
#  - -vmm-costs overrides a class's cost; modeled_cycles is the sum of
#    count x cost over the classes (checked from the report's own numbers);
#  - the HTML report is one page with its SVG charts and the violation list;
#  - the monitor's `info vmm` shows the live counters;
#  - clear errors: unknown model, unknown cost class, a report name that is
#    neither .json nor .html, -vmm-report without -vmm.
bt86=$1
dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
rom=$dir/nanobench-in-1001.rom
run() { "$bt86" -bios "$rom" -display none -serial none -max-insns 20000000 "$@"; }

printf '# cost file\ntrap.io 7\n\ntrap.cli_sti 0.5  # half a cycle\n' >"$tmp/costs"
run -vmm trap -vmm-costs "$tmp/costs" -vmm-report "$tmp/r.json" >"$tmp/out" 2>&1
python3 - "$tmp/r.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
if r["model"] != "trap": bad.append("model %s" % r["model"])
if r["events"]["trap.io"] != 1001: bad.append("trap.io %d, expected 1001" % r["events"]["trap.io"])
if r["costs"]["trap.io"] != 7 or r["costs"]["trap.cli_sti"] != 0.5: bad.append("costs not overridden")
if r["costs"]["trap.hlt"] != 2000: bad.append("default cost of trap.hlt")
total = sum(n * r["costs"][c] for c, n in r["events"].items())
if abs(total - r["modeled_cycles"]) > 0.5: bad.append("modeled_cycles %s, sum %s" % (r["modeled_cycles"], total))
if r["instructions"] != r["kernel_instructions"] + r["user_instructions"] + r["realmode_instructions"]:
    bad.append("instruction counts do not add up")
if bad:
    print("report: " + "; ".join(bad)); sys.exit(1)
PY

run -vmm hw -vmm-report "$tmp/r.html" >"$tmp/out" 2>&1
for s in '<svg' 'exit.io' '1001' 'Violations' '</html>'; do
  if ! grep -qF -- "$s" "$tmp/r.html"; then echo "report: the HTML report lacks '$s'"; fail=1; fi
done

# info vmm: a guest that runs on (LOOP with ECX = 0), stopped by -max-insns.
printf 'info vmm\n' | "$bt86" -bios "$dir/nanobench-in-0.rom" -display none -serial none -monitor stdio \
  -max-insns 1000000 -vmm hw-ept >"$tmp/mon" 2>&1
if ! grep -q "vmm model hw-ept" "$tmp/mon" || ! grep -qE "exit.io +[1-9][0-9]* .*exit reason 30" "$tmp/mon"; then
  echo "report: info vmm:"; cat "$tmp/mon"; fail=1
fi
# bt on the jit: info vmm while the guest runs, then the report's
# translation cache.
printf 'info vmm\n' | "$bt86" -bios "$dir/nanobench-in-0.rom" -display none -serial none -monitor stdio \
  -max-insns 1000000 -vmm bt -accel jit -vmm-report "$tmp/bt.json" >"$tmp/mon" 2>&1
if ! grep -q "vmm model bt" "$tmp/mon" || ! grep -qE "bt.callout.io +[1-9]" "$tmp/mon" ||
   ! grep -q "translation cache: [1-9][0-9]* kernel blocks" "$tmp/mon"; then
  echo "report: info vmm under bt:"; cat "$tmp/mon"; fail=1
fi
python3 - "$tmp/bt.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
tc = r["translation_cache"]
if r["translation_units"] < 1 or tc["kernel_blocks"] < 1 or tc["kernel_host_code_bytes"] < 1:
    print("report: bt translation cache %s" % tc); sys.exit(1)
if r["instructions"] != r["kernel_instructions"] + r["user_instructions"] + r["realmode_instructions"]:
    print("report: bt instruction counts do not add up"); sys.exit(1)
PY
printf 'info vmm\n' | "$bt86" -bios "$dir/nanobench-in-0.rom" -display none -serial none -monitor stdio \
  -max-insns 1000000 >"$tmp/mon" 2>&1
if ! grep -q "no model" "$tmp/mon"; then echo "report: info vmm without a model:"; cat "$tmp/mon"; fail=1; fi

expect_error() {
  local what=$1 msg=$2
  shift 2
  "$bt86" -bios "$rom" -display none -serial none -max-insns 100000 "$@" >"$tmp/err" 2>&1
  if [ $? -ne 1 ] || ! grep -qF -- "$msg" "$tmp/err"; then
    echo "report: $what: expected exit 1 and '$msg':"; cat "$tmp/err"; fail=1
  fi
}
expect_error "unknown model" "unknown model 'vt-x'" -vmm vt-x
printf 'trap.bogus 5\n' >"$tmp/bad"
expect_error "unknown cost class" "unknown event class 'trap.bogus'" -vmm trap -vmm-costs "$tmp/bad"
printf 'trap.io many\n' >"$tmp/bad2"
expect_error "bad cost line" "expected 'CLASS CYCLES'" -vmm trap -vmm-costs "$tmp/bad2"
expect_error "report name" "must end in .json or .html" -vmm trap -vmm-report "$tmp/r.txt"
expect_error "report without a model" "need -vmm MODEL" -vmm-report "$tmp/r.json"
expect_error "with -lockstep" "cannot be combined" -vmm hw -lockstep 1000
expect_error "bt on the interpreter" "runs on bt86's translator" -vmm bt -accel interp
[ $fail -eq 0 ] && echo "report: ok"
exit $fail
