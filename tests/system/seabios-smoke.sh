#!/usr/bin/env bash
# System smoke test: Debian's SeaBIOS runs on the bare CPU and the chips
# bt86 has so far, and prints its banner and fw_cfg discovery on the debug
# console. Skips (77) when the seabios package is not installed.
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "seabios-smoke: skipped: $bios not found (apt-get install seabios)"
  exit 77
fi
out=$(timeout 120 "$bt86" -bios "$bios" -debugcon stdio -no-reboot -max-insns 20000000 2>&1)
rc=$?
echo "$out" | head -20
fail=0
for want in "SeaBIOS (version" "Found QEMU fw_cfg" "qemu/e820: addr 0x0000000000000000 len 0x0000000008000000 \[RAM\]"; do
  if ! grep -q "$want" <<<"$out"; then echo "seabios-smoke: missing: $want"; fail=1; fi
done
if [ $rc -ne 0 ]; then echo "seabios-smoke: bt86 exited with $rc"; fail=1; fi
[ $fail -eq 0 ] && echo "seabios-smoke: 1 passed, 0 failed" || echo "seabios-smoke: 0 passed, 1 failed"
exit $fail
