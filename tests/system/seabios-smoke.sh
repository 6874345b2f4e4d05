#!/usr/bin/env bash
# System test: Debian's SeaBIOS runs its whole POST on bt86 (relocation,
# PCI enumeration through the i440FX/PIIX3/PIIX4 PM, PIT-driven timeouts, its
# ACPI tables built on the PM function and the PM timer it then uses, keyboard
# and serial detection), finds no boot disk, waits 60 s of virtual time and
# reboots through the reset line (-no-reboot makes bt86 exit then). -icount:
# the idle minute is skipped rather than waited for on the host.
# Skips (77) when the seabios package is not installed.
bt86=$1
bios=/usr/share/seabios/bios.bin
if [ ! -r "$bios" ]; then
  echo "seabios-smoke: skipped: $bios not found (apt-get install seabios)"
  exit 77
fi
out=$(timeout 300 "$bt86" -bios "$bios" -debugcon stdio -no-reboot -icount shift=1 -max-insns 200000000 2>&1)
rc=$?
echo "$out" | head -20
fail=0
for want in "SeaBIOS (version" "Running on QEMU (i440fx)" "Found QEMU fw_cfg" \
            "qemu/e820: addr 0x0000000000000000 len 0x0000000008000000 \[RAM\]" \
            "Found 5 PCI devices" "Using pmtimer, ioport 0xb008" "ACPI DSDT=" \
            "PS2 keyboard initialized" "Found 2 serial ports" \
            "No bootable device" "Attempting a hard reboot" "the guest reset the machine"; do
  if ! grep -q "$want" <<<"$out"; then echo "seabios-smoke: missing: $want"; fail=1; fi
done
if [ $rc -ne 0 ]; then echo "seabios-smoke: bt86 exited with $rc"; fail=1; fi
[ $fail -eq 0 ] && echo "seabios-smoke: 1 passed, 0 failed" || echo "seabios-smoke: 0 passed, 1 failed"
exit $fail
