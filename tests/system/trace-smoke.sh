#!/usr/bin/env bash
# The instruction trace (-d in_asm,exec,cpu -D FILE): the reset vector's far
# jump, disassembled by capstone, numbered, with a register dump.
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "trace-smoke: skipped: $bios not found"
  exit 77
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$bt86" -bios "$bios" -d in_asm,exec,cpu -D "$log" -max-insns 3 || { echo "trace-smoke: bt86 failed"; exit 1; }
fail=0
grep -q '^\[1\] f000:0000fff0 (fffffff0) ea 5b e0 00 f0 .* ljmp 0xf000:0xe05b$' "$log" || { echo "missing reset-vector line"; fail=1; }
grep -q '^EIP=0000fff0 EFL=00000002 CPL=0 CR0=60000010' "$log" || { echo "missing register dump"; fail=1; }
[ "$(grep -c '^\[' "$log")" -eq 3 ] || { echo "expected 3 instructions"; fail=1; }
cat "$log" | head -8
[ $fail -eq 0 ] && echo "trace-smoke: 1 passed, 0 failed" || echo "trace-smoke: 0 passed, 1 failed"
exit $fail
